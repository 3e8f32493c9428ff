# 006_rank_dump_restore.pl - a database with trained models ranks
# identically after a superuser's pg_dump -Fc / pg_restore into another
# cluster on the same machine (DESIGN section 7): the same items, scores
# (every digit) and versions, for integer and text keys, with and without
# item-scoped features, for a DRR target pinned to a source version that is
# no longer served (stale), for a user inserted after training (ranked by
# the stored cold-start module from their rows, its co-occurrence prior
# byte for byte) and an anonymous history,
# and evaluate gives the same metrics; the few-shot meta-learner stored with
# a source version (option fewshot) survives byte for byte and adapts a
# market exactly as before.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $db = 'xd_rank';
my $src = xd_node('src');
my $dst = xd_node('dst');
$src->start;
$dst->start;
my $dir = PostgreSQL::Test::Utils::tempdir;

xd_trained_model($src, $db, 'food',
	'{"seed": 21, "domains": 2, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 30, "items": 20, "interactions": 300}}}',
	'{"d": 16, "epochs": 2}');
$src->safe_psql($db, <<'SQL');
SELECT xdrec.adapt('food', 'd1', 'drr');
SELECT xdrec.train('food', 'd0');
CREATE TABLE orders_text AS SELECT domain, 'u' || user_key AS u, 'i' || item_key AS i, hour, weekday FROM orders;
SELECT xdrec.create_model('food_text', 'orders_text', 'u', 'i', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric", "options": {"bins": 5}},
	              {"name": "weekday", "column": "weekday", "kind": "interactional", "type": "categorical"}]',
	options => '{"d": 8, "epochs": 2, "fewshot": true, "fewshot_episodes": 4}');
SELECT xdrec.train('food_text', 'd0');
INSERT INTO orders SELECT domain, 990001, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM orders WHERE domain = 'd0' AND user_key = (SELECT min(user_key) FROM orders WHERE domain = 'd0')
ORDER BY item_key, hour LIMIT 5;
SQL

my $ranks = <<'SQL';
SELECT 'food', u::text, c, r.rank, r.item_key::text, r.score::text, r.version
FROM (SELECT DISTINCT user_key AS u FROM orders WHERE domain = 'd0' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon", "rain": true}', '{"hour": 21, "weekday": "sat"}']::jsonb[]) AS c,
     xdrec.rank('food', u, c, 10) r
UNION ALL
SELECT 'food_text', u, c, r.rank, r.item_key, r.score::text, r.version
FROM (SELECT DISTINCT u FROM orders_text WHERE domain = 'd0' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon"}', '{"hour": 21}']::jsonb[]) AS c,
     xdrec.rank('food_text', u, c, 10) r
UNION ALL
SELECT 'target', u::text, c, r.rank, r.item_key::text, r.score::text, r.version
FROM (SELECT DISTINCT user_key AS u FROM orders WHERE domain = 'd1' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon", "rain": true}', '{"hour": 21, "weekday": "sat"}']::jsonb[]) AS c,
     xdrec.rank('food', u, c, 10, domain => 'd1') r
UNION ALL
SELECT 'cold', '990001', c, r.rank, r.item_key::text, r.score::text, r.version
FROM unnest(ARRAY['{"hour": 8, "weekday": "mon", "rain": true}']::jsonb[]) AS c,
     xdrec.rank('food', 990001::bigint, c, 10) r
UNION ALL
SELECT 'history', '-', c, r.rank, r.item_key, r.score::text, r.version
FROM unnest(ARRAY['{"hour": 21, "weekday": "sat"}']::jsonb[]) AS c,
     xdrec.rank('food', NULL, c, 10,
		history => (SELECT jsonb_agg(item_key ORDER BY item_key) FROM orders WHERE user_key = 990001)) r
ORDER BY 1, 2, 3, 4;
SELECT domain, role, method, stale FROM xdrec.domains WHERE model = 'food' ORDER BY domain;
SELECT metric, value::text, n FROM xdrec.evaluate('food') ORDER BY metric;
SELECT 'fs', count(DISTINCT tensor), md5(string_agg(md5(data), '' ORDER BY tensor, chunk))
FROM xdrec.weight WHERE tensor LIKE 'fs.%';
SELECT 'cooc', count(DISTINCT tensor), count(DISTINCT version_id),
	md5(string_agg(md5(data), '' ORDER BY version_id, tensor, chunk))
FROM xdrec.weight WHERE tensor LIKE 'cold.cooc.%';
SQL
my $before = $src->safe_psql($db, $ranks);
$src->command_ok([ 'pg_dump', '-Fc', '-d', $db, '-f', "$dir/src.dump" ], 'pg_dump -Fc');
$dst->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE template0");
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $db, "$dir/src.dump" ],
	'pg_restore into the other cluster');
is($dst->safe_psql($db, $ranks), $before, 'the restored database ranks and evaluates identically');
my $fewshot = <<'SQL';
SELECT j->>'method', j->'fewshot'->>'steps', j->'test'->>'mrr'
FROM xdrec.adapt('food_text', 'd1', 'fewshot', deploy => 'never') j;
SQL
my $fs_before = $src->safe_psql($db, $fewshot);
like($fs_before, qr/^fewshot\|\d+\|/, 'a market adapts with the stored meta-learner');
is($dst->safe_psql($db, $fewshot), $fs_before, '... and the restored one adapts it identically');

my @lines = split /\n/, $before;
is(scalar(grep { /^food/ } @lines), 120, '120 ranked rows of the source models');
is(scalar(grep { /^target/ } @lines), 60, '60 ranked rows of the target');
is(scalar(grep { /^cold\|/ } @lines), 10, '10 ranked rows of the user inserted after training');
is(scalar(grep { /^history\|/ } @lines), 10, '10 ranked rows of the anonymous history');
ok(grep({ $_ eq 'd1|target|drr|t' } @lines), 'the target is a stale DRR target');
ok(grep({ /^fs\|71\|/ } @lines), 'the 71 tensors of the few-shot meta-learner are compared');
ok(grep({ /^cooc\|3\|[1-9]\d*\|/ } @lines),
	'the cold-start module\'s co-occurrence prior (neighbours, shares, lambda) is compared');
note(scalar(@lines) . ' lines compared');

done_testing();
