# 005_pg_dump_restore.pl - a superuser's pg_dump -Fc / pg_restore carries the
# whole xdrec catalog (DESIGN section 7) to another cluster: every catalog
# table's rows and every sequence match between the original and the
# restored database, the row-level security still applies after the
# restore, and new ids continue the sequences. The roles go first, with
# pg_dumpall --roles-only, as in a move to a new server; owners and grantees
# are stored as names, so another cluster's role OIDs do not matter.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $db = 'xd_dump';
my $src = xd_node('src');
my $dst = xd_node('dst');
$src->start;
$dst->start;
my $dir = PostgreSQL::Test::Utils::tempdir;

$src->safe_psql('postgres', "CREATE DATABASE $db");
$src->safe_psql('postgres', 'CREATE ROLE xd_it_owner; CREATE ROLE xd_it_grantee; CREATE ROLE xd_it_stranger');
$src->safe_psql($db, <<'SQL');
CREATE EXTENSION xdrec;
CREATE SCHEMA shop;
CREATE TABLE shop.orders (customer text, dish bigint, city text, at timestamptz, spend real, stars int);
INSERT INTO shop.orders
SELECT 'c' || (i % 9), i % 13, (ARRAY['a', 'b', 'c'])[1 + i % 3],
       timestamptz '2024-01-01' + i * interval '5 hours', i % 17, 1 + i % 5
FROM generate_series(1, 200) AS i;
GRANT USAGE ON SCHEMA shop TO xd_it_owner;
GRANT SELECT ON shop.orders TO xd_it_owner;

SET ROLE xd_it_owner;
SELECT xdrec.create_model('dishes', 'shop.orders', 'customer', 'dish', 'city',
	rating_col => 'stars',
	features => '[{"name": "hour", "expression": "extract(hour from at)", "kind": "interactional", "type": "numeric", "options": {"bins": 6}},
	              {"name": "spend", "column": "spend", "kind": "historical", "type": "numeric", "scope": "user"}]',
	options => '{"feedback": "explicit", "d": 16}');
SELECT xdrec.create_model('plain', 'shop.orders', 'customer', 'dish', 'city');
SELECT xdrec.grant('dishes', 'xd_it_grantee', 'train');
SELECT xdrec.drop_model('plain');	-- leaves a gap in the id sequence
RESET ROLE;

-- training state as later releases will write it, weights included
INSERT INTO xdrec.domain (model_id, domain, role, stats)
SELECT id, 'a', 'source', '{"spend": {"min": 0, "max": 16}}' FROM xdrec.model WHERE name = 'dishes';
INSERT INTO xdrec.version (model_id, domain, kind, method, state, metrics, trained_by)
SELECT id, 'a', 'source', 'train', 'ready', '{"rmse": "0.9"}', owner FROM xdrec.model WHERE name = 'dishes';
INSERT INTO xdrec.version (model_id, domain, kind, method, state, pins_shared_version, trained_by, deployed_at)
SELECT m.id, 'b', 'target', 'drr', 'ready', v.id, m.owner, now()
FROM xdrec.model m JOIN xdrec.version v ON v.model_id = m.id WHERE m.name = 'dishes';
UPDATE xdrec.domain SET served_version = (SELECT min(id) FROM xdrec.version);
-- move the source version after its pinning target in the heap: the dump then
-- lists the target first, which the deferred pin check must accept
UPDATE xdrec.version SET state = 'ready' WHERE kind = 'source';
INSERT INTO xdrec.weight (model_id, version_id, tensor, chunk, data)
SELECT v.model_id, v.id, t, c, decode(md5(t || c), 'hex') || '\x00ff'::bytea
FROM xdrec.version v, unnest(ARRAY['m1.w', 'm3u.w']) AS t, generate_series(0, 2) AS c;
INSERT INTO xdrec.job (model_id, domain, kind, state, options, submitted_by, login_role)
SELECT id, 'a', 'train', 'finished', '{"epochs": 2}', owner, owner FROM xdrec.model WHERE name = 'dishes';
INSERT INTO xdrec.job_progress (job_id, epoch, loss, metric, rows_per_sec, eta)
SELECT j.id, e, 1.0 / e, 0.1 * e, 1000, interval '1 second' * (2 - e)
FROM xdrec.job j, generate_series(1, 2) AS e;
SQL

# pg_dump says nothing to alarm a DBA (no circular foreign keys); the pin
# check, deferred to commit, accepts the rows whatever their order.
{
	local %ENV = (%ENV, PGHOST => $src->host, PGPORT => $src->port);
	my ($out, $err) = run_command([ 'pg_dump', '-Fc', '-d', $db, '-f', "$dir/src.dump" ]);
	ok(-s "$dir/src.dump", 'pg_dump -Fc');
	is($err, '', 'pg_dump warns of nothing');
}
$src->command_ok([ 'pg_dumpall', '--roles-only', '-f', "$dir/roles.sql" ], 'pg_dumpall --roles-only');
$dst->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-d', 'postgres', '-f', "$dir/roles.sql" ],
	'the roles restored on the other cluster');
$dst->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE template0");
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $db, "$dir/src.dump" ],
	'pg_restore into the other cluster');

# One fingerprint per catalog table (ordered by its primary key) and sequence.
my $fingerprint = <<'SQL';
SELECT 'model', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM xdrec.model t
UNION ALL SELECT 'feature', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY model_id, position), '')) FROM xdrec.feature t
UNION ALL SELECT 'domain', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY model_id, domain), '')) FROM xdrec.domain t
UNION ALL SELECT 'version', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM xdrec.version t
UNION ALL SELECT 'weight', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY version_id, tensor, chunk), '')) FROM xdrec.weight t
UNION ALL SELECT 'model_grant', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY model_id, grantee), '')) FROM xdrec.model_grant t
UNION ALL SELECT 'job', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM xdrec.job t
UNION ALL SELECT 'job_progress', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY job_id, epoch), '')) FROM xdrec.job_progress t
UNION ALL SELECT 'model_id_seq', last_value, is_called::text FROM xdrec.model_id_seq
UNION ALL SELECT 'version_id_seq', last_value, is_called::text FROM xdrec.version_id_seq
UNION ALL SELECT 'job_id_seq', last_value, is_called::text FROM xdrec.job_id_seq;
SQL
my $before = $src->safe_psql($db, $fingerprint);
note($before);
is($dst->safe_psql($db, $fingerprint), $before, 'the restored catalog is the original one');
ok(!grep({ (split /\|/)[1] eq '0' } split /\n/, $before), 'every catalog table had rows to compare');

# Row-level security survives: the grantee sees the model, the stranger not.
is($dst->safe_psql($db, 'SET ROLE xd_it_grantee; SELECT string_agg(name || \':\' || access, \',\') FROM xdrec.models'),
	'dishes:train', 'after the restore the grantee sees the model it was granted');
is($dst->safe_psql($db, 'SET ROLE xd_it_stranger; SELECT count(*) FROM xdrec.model'),
	'0', 'after the restore a stranger sees no model');
# and the restored database keeps working: new ids continue the sequence
is($dst->safe_psql($db, "SELECT xdrec.create_model('after', 'shop.orders', 'customer', 'dish', 'city') > (SELECT max(id) FROM xdrec.model WHERE name <> 'after')"),
	't', 'a new model id continues the restored sequence');

done_testing();
