# 001_rank_standby.pl - ranking works on a hot standby (DESIGN section 6), and
# a version trained on the primary reaches a standby session's cache before
# its next call (the relcache invalidation is WAL-logged; DESIGN section 7).
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $db = 'xd_standby';
my $primary = xd_node('primary', allows_streaming => 1);
$primary->start;
xd_trained_model($primary, $db, 'food',
	'{"seed": 5, "domains": 1, "sizes": {"source": {"users": 100, "items": 50, "interactions": 2500}}}',
	'{"d": 8, "epochs": 2}');

$primary->backup('base');
my $standby = xd_node_from_backup('standby', $primary, 'base');
# pg_cron's launcher has nothing to do on a standby
$standby->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$standby->start;
is($standby->safe_psql($db, 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
xd_catchup($primary, $standby);
pass('the standby caught up');

my $q = q{SELECT string_agg(item_key::text || ':' || version, ',' ORDER BY rank)
	FROM xdrec.rank('food', 3, '{"hour": 20, "weekday": "fri"}', 5)};
is($standby->safe_psql($db, $q), $primary->safe_psql($db, $q),
	'the standby ranks as the primary does');

# one standby session ranks, the primary trains, the same session ranks again
my $session = $standby->background_psql($db);
my $v1 = $session->query_safe(q{SELECT DISTINCT version FROM xdrec.rank('food', 3, '{}', 5)});
my $v2 = $primary->safe_psql($db, q{SELECT xdrec.train('food', 'd0', deploy => 'always')->>'version'});
xd_catchup($primary, $standby);
pass('the standby caught up with the new version');
my $seen = $session->query_safe(q{SELECT DISTINCT version FROM xdrec.rank('food', 3, '{}', 5)});
$session->quit;
note("standby session: version $v1, primary trained $v2, the same session now serves $seen");
ok($seen eq $v2 && $v1 ne $v2, 'the standby session serves the version trained on the primary');
is($standby->safe_psql($db, $q), $primary->safe_psql($db, $q),
	'the standby ranks as the primary does after the new version');

# what writes is refused up front, saying why, in C and in plpgsql alike
for my $call ("SELECT xdrec.train('food')", "SELECT xdrec.train('food', background => true)",
	"SELECT xdrec.adapt('food', 'd1', background => true)", "SELECT xdrec.forget_user('food', 'd0', 3)",
	"SELECT xdrec.create_model('x', 'orders', 'user_key', 'item_key', 'domain')",
	"SELECT xdrec.deploy('food', 'd0', $v1)", "SELECT xdrec.alter_model('food', '{\"epochs\": 3}')")
{
	my ($ret, $out, $err) = $standby->psql($db, $call, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	note("$call on the standby: " . (split /\n/, $err)[0]);
	like($err, qr/ERROR:  25006: .*writes xdrec's catalog, and this server is a hot standby/,
		"$call is refused on the standby with the reason");
	unlike($err, qr/read-only transaction|CONTEXT/, "$call shows no internals on the standby");
}

done_testing();
