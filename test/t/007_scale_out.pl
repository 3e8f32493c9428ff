# 007_scale_out.pl - scale-out over three nodes (docs/scale.md, issue 22):
# n1 trains the source and publishes the shared modules (with the nodes and
# the placement); n2 and n3 subscribe, hold and adapt their target domains
# and publish their user directories to n1, which routes calls through
# PL/Proxy. Checks: ids drawn in each node's range; shared modules
# replicate; routed rankings equal the holding node's bit for bit (domain
# named, or found in the directory; rank, rank_many and evaluate); a retrained source
# makes targets stale on every node and invalidates a subscriber session's
# cache; adapt_all re-adapts them; the holding node checks the calling
# role's privileges; a stopped node fails only its domains, with an error
# naming it; a moved domain serves from its new node (refreshes in either
# order); a restored router routes again after enable_routing.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $db = 'xd';
my @nodes = map { xd_node("n$_") } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
for my $n (@nodes)
{
	$n->append_conf('postgresql.conf', "wal_level = logical\nmax_replication_slots = 8\nmax_wal_senders = 8");
	$n->start;
	$n->safe_psql('postgres', "CREATE DATABASE $db");
	$n->safe_psql('postgres', 'CREATE ROLE xd_owner LOGIN; CREATE ROLE xd_user LOGIN; CREATE ROLE xd_stranger LOGIN');
	# every node the same generated rows; each keeps the domains it holds
	$n->safe_psql($db, <<'SQL');
CREATE EXTENSION xdrec;
CREATE EXTENSION plproxy;
SELECT xdrec.generate('gen', '{"seed": 7, "domains": 4, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 40, "items": 30, "interactions": 600}}}');
CREATE TABLE orders AS SELECT * FROM gen WHERE false;
GRANT SELECT ON orders TO xd_owner, xd_user;  -- evaluate reads it as the caller
SQL
}
my %held = (n1 => "'d0'", n2 => "'d0', 'd1', 'd3'", n3 => "'d0', 'd2'");
$_->safe_psql($db, "INSERT INTO orders SELECT * FROM gen WHERE domain IN ($held{$_->name})") for @nodes;
my $conn = sub { my $n = shift; my $c = $n->connstr($db); $c =~ s/'//g; $c };

# n1: the nodes, the model, the source, the placement, the publication
$n1->safe_psql($db, "SELECT xdrec.add_node('n$_', '" . $conn->($nodes[$_ - 1]) . "')") for 1 .. 3;
is($n1->safe_psql($db, "SELECT string_agg(name || '=' || number, ',' ORDER BY number) FROM xdrec.node"),
	'n1=1,n2=2,n3=3', 'nodes are numbered in order');
$n1->safe_psql($db, <<'SQL');
SELECT xdrec.set_local_node('n1');
SET ROLE xd_owner;
SELECT xdrec.create_model('m', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2}');
SELECT xdrec.grant('m', 'xd_user', 'use');
SELECT xdrec.train('m', 'd0');
RESET ROLE;
SELECT xdrec.place('m', 'd1', 'n2'), xdrec.place('m', 'd3', 'n2'), xdrec.place('m', 'd2', 'n3');
SELECT xdrec.enable_routing();
CREATE PUBLICATION xdrec_shared FOR TABLE xdrec.model, xdrec.model_grant, xdrec.feature,
	xdrec.version, xdrec.weight, xdrec.key_map, xdrec.seen, xdrec.node, xdrec.placement,
	xdrec.domain WHERE (role = 'source');
SQL
is($n1->safe_psql($db, "SELECT id >= 2^48 AND id < 2 * 2^48 FROM xdrec.model"), 't',
	'the model id is in node 1\'s range');

# a subscriber's replay position in pg_stat_replication is what it received,
# not yet what it applied: wait for the rows themselves
sub wait_rows
{
	my ($node, $sql) = @_;
	$node->poll_query_until($db, $sql) or die "timed out waiting on " . $node->name . " for: $sql";
	return;
}
my $synced = "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')";
for my $i (2, 3)
{
	my $n = $nodes[$i - 1];
	$n->safe_psql($db, "CREATE SUBSCRIPTION shared_n$i CONNECTION '" . $conn->($n1)
		  . "' PUBLICATION xdrec_shared");
	$n->poll_query_until($db, $synced) or die "n$i did not sync";
	xd_catchup($n1, "shared_n$i");
	$n->safe_psql($db, "SELECT xdrec.set_local_node('n$i'); SELECT xdrec.enable_routing();");
	$n->safe_psql($db, 'CREATE PUBLICATION xdrec_directory FOR TABLE xdrec.user_domain');
}
my $shared = q{SELECT count(*) || ':' || md5(string_agg(version_id || tensor || chunk || md5(data), ',' ORDER BY version_id, tensor, chunk))
	FROM xdrec.weight};
is($_->safe_psql($db, $shared), $n1->safe_psql($db, $shared), 'the shared modules replicated to ' . $_->name . ', byte for byte')
	for $n2, $n3;
is($n3->safe_psql($db, "SELECT served_version FROM xdrec.domain WHERE domain = 'd0'"),
	$n1->safe_psql($db, "SELECT served_version FROM xdrec.domain WHERE domain = 'd0'"),
	'n3 knows the served source version');

# each node adapts its domains and lists their users
my $adapt = q{SET ROLE xd_owner; SELECT string_agg(domain || ':' || outcome, ',' ORDER BY domain) FROM xdrec.adapt_all('m'); RESET ROLE; SELECT xdrec.refresh_directory('m') > 0};
is($n2->safe_psql($db, $adapt), "d1:adapted,d3:adapted\nt", 'n2 adapts d1 and d3');
is($n3->safe_psql($db, $adapt), "d2:adapted\nt", 'n3 adapts d2');
is($n2->safe_psql($db, "SELECT bool_and(id >= 2 * 2^48 AND id < 3 * 2^48) FROM xdrec.version WHERE kind = 'target'"),
	't', 'n2\'s versions are in its range');
for my $i (2, 3)
{
	$n1->safe_psql($db, "CREATE SUBSCRIPTION directory_n$i CONNECTION '" . $conn->($nodes[$i - 1])
		  . "' PUBLICATION xdrec_directory");
	$n1->poll_query_until($db, $synced) or die "directory of n$i did not sync";
	xd_catchup($nodes[$i - 1], "directory_n$i");
}

# routed rankings are the holding node's, bit for bit
my $user = $n2->safe_psql($db, q{SELECT min(user_key) FROM xdrec.user_domain WHERE domain = 'd1'});
my $rank = sub {
	my ($domain) = @_;
	my $d = defined $domain ? ", domain => '$domain'" : '';
	return qq{SET ROLE xd_user; SELECT string_agg(item_key || ':' || score || ':' || version, ',' ORDER BY rank)
		FROM xdrec.rank('m', '$user'::text, '{"hour": 20}', 5$d)};
};
my $local = $n2->safe_psql($db, $rank->('d1'));
note("n2 ranks user $user in d1: $local");
ok($local ne '', 'the holding node ranks');
is($n1->safe_psql($db, $rank->('d1')), $local, 'the router ranks as the holding node, domain named');
is($n1->safe_psql($db, $rank->(undef)), $local, 'the router finds the user in the directory');
is($n3->safe_psql($db, $rank->('d1')), $local, 'another holding node routes too');
my $short = qq{SET ROLE xd_user; SET xdrec.default_model = 'm'; SELECT string_agg(item_key || ':' || score || ':' || version, ',' ORDER BY rank)
	FROM xdrec_rank('$user'::bigint, '{"hour": 20}', 5)};
is($n1->safe_psql($db, $short), $n2->safe_psql($db, $short), 'xdrec_rank (short form, integer keys) routes through the directory');
my $many = q{SET ROLE xd_user; SELECT string_agg(user_key || ':' || item_key || ':' || score, ',' ORDER BY user_key, rank)
	FROM xdrec.rank_many('m', ARRAY(SELECT user_key FROM xdrec.user_domain WHERE domain = 'd2' ORDER BY 1 LIMIT 3), '{}', 3, domain => 'd2')};
is($n1->safe_psql($db, $many), $n3->safe_psql($db, $many), 'rank_many routes as well');
# every column of every row, floats in full (extra_float_digits 1: exact)
my $eval = sub {
	my ($domain, $protocol) = @_;
	return qq{SET ROLE xd_user; SELECT string_agg(concat_ws(':', domain, method, metric, value, std_error, n, excluded), ',' ORDER BY method, metric)
		FROM xdrec.evaluate('m', '$domain', '$protocol')};
};
my $evaluated = $n2->safe_psql($db, $eval->('d1', 'full'));
like($evaluated, qr/^d1:[^,]+:hit\@1:/, 'the holding node evaluates d1');
is($n1->safe_psql($db, $eval->('d1', 'full')), $evaluated,
	'evaluate routes (protocol full): the router returns the holding node\'s rows exactly');
# support => travels with the call: a few-shot evaluation on 24 support rows,
# and not another number of them, is the holding node's to the last digit (the protocol
# fits, so the owner asks)
my $fewshot = sub {
	return ($eval->('d1', 'fewshot') =~ s/'fewshot'\)/'fewshot'$_[0])/r =~ s/xd_user/xd_owner/r)
	  . q{ WHERE metric <> 'seconds'};	# a time, not a result
};
my $fs24 = $n2->safe_psql($db, $fewshot->(', support => 24'));
like($fs24, qr/^d1:[^,]+:hit\@10:/, 'the holding node evaluates d1 on a few-shot support');
isnt($fs24, $n2->safe_psql($db, $fewshot->(', support => 40')), 'on n2, 24 support rows give other numbers than 40');
is($n1->safe_psql($db, $fewshot->(', support => 24')), $fs24, 'evaluate routes protocol fewshot with its support');
# test => goes by name: the holding node reads its own relation of that name
$n1->safe_psql($db, 'CREATE TABLE held AS SELECT * FROM gen WHERE false; GRANT SELECT ON held TO xd_user');
$n2->safe_psql($db, "CREATE TABLE held AS SELECT * FROM gen WHERE domain = 'd1'; GRANT SELECT ON held TO xd_user");
my $held = $n2->safe_psql($db, $eval->('d1', 'sampled') =~ s/'sampled'\)/'sampled', test => 'public.held')/r);
isnt($held, $n2->safe_psql($db, $eval->('d1', 'sampled')), 'on n2, evaluate on held-out rows differs from the test split');
is($n1->safe_psql($db, $eval->('d1', 'sampled') =~ s/'sampled'\)/'sampled', test => 'public.held')/r), $held,
	'routed with test => held, n2 evaluates its own held');

# privileges: the holding node checks the calling role
my ($ret, $out, $err) = $n1->psql($db, 'SET ROLE xd_stranger; ' . $rank->('d1') =~ s/SET ROLE xd_user; //r);
# (row-level security hides the model from it: refused here, as anywhere)
like($err, qr/ERROR:  model "m" does not exist/, 'a role without use cannot rank through the router');
($ret, $out, $err) = $n1->psql($db, 'SET ROLE xd_stranger; ' . $eval->('d1', 'sampled') =~ s/SET ROLE xd_user; //r);
like($err, qr/ERROR:  model "m" does not exist/, 'nor evaluate');
$n2->safe_psql($db, q{DELETE FROM xdrec.model_grant WHERE grantee = 'xd_user'});
($ret, $out, $err) = $n1->psql($db, $rank->('d1'), extra_params => [ '-v', 'VERBOSITY=verbose' ]);
note("xd_user routed to n2 without a grant there: " . (split /\n/, $err)[0]);
like($err, qr/ERROR:  42704: .*REMOTE ERROR: model "m" does not exist/,
	'the router connects as the caller: n2 refuses a role it has no grant for, and its error comes back as it is');
$n1->safe_psql($db, q{SET ROLE xd_owner; SELECT xdrec.revoke('m', 'xd_user'); SELECT xdrec.grant('m', 'xd_user', 'use')});
wait_rows($n2, q{SELECT count(*) = 1 FROM xdrec.model_grant WHERE grantee = 'xd_user'});
is($n1->safe_psql($db, $rank->('d1')), $local, 'a grant replicated back lets the caller rank again');

# a retrained source: targets stale on every node, subscriber caches invalidated
my $session = $n2->background_psql($db);
my $v1 = $session->query_safe(q{SELECT DISTINCT version FROM xdrec.rank('m', '1'::text, '{}', 3, domain => 'd0')});
my $v2 = $n1->safe_psql($db, q{SET ROLE xd_owner; SELECT xdrec.train('m', deploy => 'always')->>'version'});
wait_rows($_, "SELECT served_version = $v2 FROM xdrec.domains WHERE domain = 'd0'") for $n2, $n3;
my $seen = $session->query_safe(q{SELECT DISTINCT version FROM xdrec.rank('m', '1'::text, '{}', 3, domain => 'd0')});
$session->quit;
note("n2 session: source version $v1, n1 trained $v2, the same session now serves $seen");
ok($seen eq $v2 && $v1 ne $v2, 'a subscriber session serves the replicated source version');
for my $n ($n2, $n3)
{
	is($n->safe_psql($db, "SELECT bool_and(stale) FROM xdrec.domains WHERE role = 'target'"), 't',
		$n->name . '\'s targets are stale');
	$n->safe_psql($db, q{SET ROLE xd_owner; SELECT count(*) FROM xdrec.adapt_all('m', only_stale => true)});
	is($n->safe_psql($db, "SELECT bool_or(stale) FROM xdrec.domains WHERE role = 'target'"), 'f',
		$n->name . ' re-adapts them');
}

# a restored router: pg_dump carries the catalog (the node, placement,
# directory and node-number rows are configuration tables) but not the proxy
# functions enable_routing made, nor the cap set_local_node puts on the id
# sequences; both are run again after a restore (docs/scale.md)
my $dir = PostgreSQL::Test::Utils::tempdir;
$n1->command_ok([ 'pg_dump', '-Fc', '--no-subscriptions', '--no-publications', '-d', $conn->($n1), '-f', "$dir/n1.dump" ],
	'pg_dump of the router');
$n1->safe_psql('postgres', 'CREATE DATABASE xd_restored TEMPLATE template0');
$n1->command_ok([ 'pg_restore', '--exit-on-error', '-d', $n1->connstr('xd_restored') =~ s/'//gr, "$dir/n1.dump" ],
	'pg_restore into a new database');
($ret, $out, $err) = $n1->psql('xd_restored', $rank->('d1'), extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/0A000: domain "d1" of model "m" is held by node "n2", and routing is not enabled here/,
	'the restored router knows where d1 is held, and that routing needs enabling');
is($n1->safe_psql('xd_restored', q{SELECT xdrec.set_local_node('n1'); SELECT xdrec.enable_routing();
	SELECT seqmax = 2 * 2^48 - 1 FROM pg_sequence WHERE seqrelid = 'xdrec.version_id_seq'::regclass}),
	"1\n\nt", 'set_local_node and enable_routing again: the same node number, ids capped to its range');
is($n1->safe_psql('xd_restored', $rank->(undef)), $n2->safe_psql($db, $rank->('d1')), 'the restored router routes as before');
$n1->safe_psql('postgres', 'DROP DATABASE xd_restored');

# a stopped node fails only its domains, naming it
$n3->stop;
($ret, $out, $err) = $n1->psql($db, $rank->('d2'), extra_params => [ '-v', 'VERBOSITY=verbose' ]);
note("d2 with n3 down: " . (split /\n/, $err)[0]);
like($err, qr/ERROR:  08006: node "n3", which holds domain "d2" of model "m", cannot be reached/,
	'a stopped node gives a clear error naming it');
($ret, $out, $err) = $n1->psql($db, $eval->('d2', 'sampled'), extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  08006: node "n3", which holds domain "d2" of model "m", cannot be reached/,
	'a routed evaluate gives the same error');
($ret, $out, $err) = $n1->psql($db, q{SET ROLE xd_user; SELECT * FROM xdrec.rank('m', (SELECT min(user_key) FROM xdrec.user_domain WHERE domain = 'd2'), '{}', 3)},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/08006: node "n3", which holds domain "d2" of model "m", cannot be reached/,
	'a user found in the directory: the same error');
is($n1->safe_psql($db, $rank->('d1')), $n2->safe_psql($db, $rank->('d1')), 'domains elsewhere keep serving');
$n3->start;

# a moved domain serves from its new node; the old and the new holder may
# refresh the directory in either order (each replaces only its own rows):
# here the new one first, while the old one's rows still list the domain
# (n3 down above counted its apply errors: count those from here on)
my $apply_errors = q{SELECT sum(apply_error_count) FROM pg_stat_subscription_stats};
my $apply_errors_before = $n1->safe_psql($db, $apply_errors);
$n3->safe_psql($db, "INSERT INTO orders SELECT * FROM gen WHERE domain = 'd3'");
$n1->safe_psql($db, "SELECT xdrec.place('m', 'd3', 'n3')");
wait_rows($_, q{SELECT node = 'n3' FROM xdrec.placement WHERE domain = 'd3'}) for $n2, $n3;
$n3->safe_psql($db, q{SET ROLE xd_owner; SELECT xdrec.adapt('m', 'd3'); RESET ROLE; SELECT xdrec.refresh_directory('m')});
wait_rows($n1, q{SELECT count(*) > 0 FROM xdrec.user_domain WHERE domain = 'd3' AND node = 'n3'});
is($n1->safe_psql($db, q{SELECT string_agg(DISTINCT node, ',' ORDER BY node) FROM xdrec.user_domain WHERE domain = 'd3'}),
	'n2,n3', 'both holders list d3 on the router, without a conflict');
my $moved = q{SET ROLE xd_user; SELECT string_agg(item_key || ':' || score || ':' || version, ',' ORDER BY rank)
	FROM xdrec.rank('m', (SELECT min(user_key) FROM xdrec.user_domain WHERE domain = 'd3'), '{}', 3)};
my $at_n3 = $n3->safe_psql($db, $moved);
is($n3->safe_psql($db, $moved =~ s/string_agg.*ORDER BY rank\)/bool_and(version >= 3 * 2^48 AND version < 4 * 2^48)/sr), 't',
	'n3 serves d3 with a version of its own');
is($n1->safe_psql($db, $moved), $at_n3, 'the router sends the moved domain\'s users to n3');
is($n2->safe_psql($db, $moved), $at_n3, 'the old holder routes it to n3 as well');
$n2->safe_psql($db, q{SELECT xdrec.refresh_directory('m')});
wait_rows($n1, q{SELECT count(*) = 0 FROM xdrec.user_domain WHERE domain = 'd3' AND node = 'n2'});
is($n1->safe_psql($db, $moved), $at_n3, 'once the old holder refreshed, the same');
is($n1->safe_psql($db, $apply_errors), $apply_errors_before, 'no subscription of the router hit an error meanwhile');

# the proxy functions enable_routing made are the extension's: DROP takes them
my $proxies = q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'xdrec_internal'::regnamespace AND proname LIKE 'proxy\_%'};
is($n3->safe_psql($db, $proxies), '3', 'enable_routing made three proxy functions');
$n3->safe_psql($db, 'DROP SUBSCRIPTION shared_n3; DROP EXTENSION xdrec');
is($n3->safe_psql($db, q{SELECT count(*) FROM pg_proc WHERE proname LIKE 'proxy\_%'}), '0',
	'DROP EXTENSION xdrec drops the proxy functions');

$_->stop for @nodes;
done_testing();
