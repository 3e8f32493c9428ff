# cluster.pl - `make bench-cluster` (docs/scale.md, issue 22): three local
# nodes set up as test/t/007_scale_out.pl sets them up; prints a table of
# routing overhead (p50/p99 of xdrec.rank at 10k items, on the holding node
# and through a router), the replication
# lag and volume of a new source version, and adapt_all of 30 domains on one
# node against three nodes (at once on this machine's cores, and each alone:
# what one core per node would give). Not a test: numbers go to stderr.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use XdrecTest;

my $db = 'xd';
my @nodes = map { xd_node("b$_") } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
my $conn = sub { my $c = shift->connstr($db); $c =~ s/'//g; $c };
my @targets = map { "d$_" } 1 .. 30;
my @thirds = ([ @targets[0 .. 9] ], [ @targets[10 .. 19] ], [ @targets[20 .. 29] ]);
my $list = sub { join(', ', map { "'$_'" } @_) };
for my $n (@nodes)
{
	$n->append_conf('postgresql.conf', "wal_level = logical\nmax_replication_slots = 8\nmax_wal_senders = 8");
	$n->start;
	$n->safe_psql('postgres', "CREATE DATABASE $db");
	$n->safe_psql($db, <<'SQL');
CREATE EXTENSION xdrec;
CREATE EXTENSION plproxy;
SELECT xdrec.generate('orders', '{"seed": 3, "domains": 31, "sizes": {"source": {"users": 300, "items": 100, "interactions": 6000}, "target": {"users": 40, "items": 30, "interactions": 500}}}');
SELECT xdrec.generate('big', '{"seed": 4, "domains": 1, "sizes": {"source": {"users": 400, "items": 10000, "interactions": 20000}}}');
SQL
}
$n1->safe_psql($db, "SELECT xdrec.add_node('b$_', '" . $conn->($nodes[$_ - 1]) . "')") for 1 .. 3;
$n1->safe_psql($db, <<'SQL');
SELECT xdrec.set_local_node('b1');
SELECT xdrec.create_model('m', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2}');
SELECT xdrec.train('m', 'd0');
SELECT xdrec.create_model('big', 'big', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 16, "epochs": 1}');
SELECT xdrec.train('big', 'd0');
SELECT xdrec.place('big', 'd0', 'b2');
SELECT xdrec.enable_routing();
CREATE PUBLICATION xdrec_shared FOR TABLE xdrec.model, xdrec.model_grant, xdrec.feature,
	xdrec.version, xdrec.weight, xdrec.key_map, xdrec.seen, xdrec.node, xdrec.placement,
	xdrec.domain WHERE (role = 'source');
SQL
my $synced = "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')";
for my $i (2, 3)
{
	my $n = $nodes[$i - 1];
	$n->safe_psql($db, "CREATE SUBSCRIPTION shared_b$i CONNECTION '" . $conn->($n1) . "' PUBLICATION xdrec_shared");
	$n->poll_query_until($db, $synced) or die "b$i did not sync";
	$n1->wait_for_catchup("shared_b$i");
	$n->safe_psql($db, "SELECT xdrec.set_local_node('b$i'); SELECT xdrec.enable_routing();");
}

my @rows;
# routing overhead: the same calls on the holding node and through the router
my $lat = sub {
	my ($n, $sql) = @_;
	return $n->safe_psql($db, <<SQL);
CREATE TEMP TABLE lat (ms float8);
DO \$\$
DECLARE
	t0 timestamptz;
	users text[] := ARRAY(SELECT DISTINCT user_key::text FROM big ORDER BY 1 LIMIT 100);
BEGIN
	FOR i IN 1 .. 320 LOOP
		t0 := clock_timestamp();
		PERFORM * FROM ($sql) x;
		IF i > 20 THEN
			INSERT INTO lat VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
		END IF;
	END LOOP;
END
\$\$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) || ' / ' ||
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM lat;
SQL
};
my $rank = q{SELECT * FROM xdrec.rank('big', users[1 + i % 100], '{}', 10, domain => 'd0')};
push @rows, [ 'rank at 10k items, on the holding node (p50 / p99 ms)', $lat->($n2, $rank) ];
push @rows, [ 'rank at 10k items, through the router (p50 / p99 ms)', $lat->($n1, $rank) ];

# a new source version: how long until the subscribers serve it, and its size
my $t0 = time;
my $v = $n1->safe_psql($db, q{SELECT xdrec.train('m', deploy => 'always')->>'version'});
my $t1 = time;
my %lag;
while (keys %lag < 2 && time - $t1 < 60)
{
	for my $n ($n2, $n3)
	{
		next if $lag{ $n->name };
		$lag{ $n->name } = time - $t1
		  if $n->safe_psql($db, "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'") eq $v;
	}
	sleep 0.01;
}
push @rows, [ 'source retrain on b1 (s)', sprintf('%.2f', $t1 - $t0) ];
push @rows, [ "replication lag of the new source version to b2 / b3 (ms, polled every 10 ms)",
	sprintf('%.0f / %.0f', 1000 * ($lag{b2} // -1), 1000 * ($lag{b3} // -1)) ];
push @rows, [ 'replicated bytes of one source version (weights + key maps + seen)', $n1->safe_psql($db, <<SQL) ];
SELECT (SELECT coalesce(sum(pg_column_size(data)), 0) FROM xdrec.weight WHERE version_id = $v)
	 + (SELECT coalesce(sum(pg_column_size(keys)), 0) FROM xdrec.key_map WHERE version_id = $v)
	 + (SELECT coalesce(sum(pg_column_size(counts)) + sum(pg_column_size(items)), 0) FROM xdrec.seen WHERE version_id = $v)
SQL

# adapt_all of 30 domains: one node holds them all, then three hold ten each
my $adapt = q{SELECT count(*) FILTER (WHERE outcome = 'adapted') FROM xdrec.adapt_all('m')};
$n2->safe_psql($db, 'CREATE TABLE orders_all AS SELECT * FROM orders');
$t0 = time;
my $n_one = $n2->safe_psql($db, $adapt);
my $one = time - $t0;
push @rows, [ "adapt_all of 30 domains on one node (s; $n_one adapted)", sprintf('%.1f', $one) ];
for my $i (0 .. 2)
{
	my $n = $nodes[$i];
	$n->safe_psql($db, 'CREATE TABLE IF NOT EXISTS orders_all AS SELECT * FROM orders');
	$n->safe_psql($db, 'DELETE FROM orders WHERE domain NOT IN (' . $list->('d0', @{ $thirds[$i] }) . ')');
}
$t0 = time;
my @h = map {
	my $out = '';
	[ IPC::Run::start([ 'psql', '-XAtq', '-d', $conn->($_), '-c', $adapt ], '>', \$out), \$out ]
} @nodes;
$_->[0]->finish for @h;
my $three = time - $t0;
push @rows, [ 'adapt_all of 10 domains on each of three nodes at once (s; '
	  . join('+', map { ${ $_->[1] } =~ s/\s+//gr } @h) . ' adapted)', sprintf('%.1f', $three) ];
my @alone;
for my $n (@nodes)
{
	$t0 = time;
	$n->safe_psql($db, $adapt);
	push @alone, time - $t0;
}
push @rows, [ 'the same, each node alone: slowest node = one core per node (s)',
	sprintf('%.1f (%s)', (sort { $b <=> $a } @alone)[0], join(', ', map { sprintf '%.1f', $_ } @alone)) ];
push @rows, [ 'stored bytes of one adapted target version, mean over b2\'s (weights + key maps + seen)',
	$n2->safe_psql($db, <<'SQL') ];
SELECT round(avg(b)) FROM (
	SELECT v.id, (SELECT coalesce(sum(pg_column_size(data)), 0) FROM xdrec.weight w WHERE w.version_id = v.id)
		 + (SELECT coalesce(sum(pg_column_size(keys)), 0) FROM xdrec.key_map k WHERE k.version_id = v.id)
		 + (SELECT coalesce(sum(pg_column_size(counts)) + sum(pg_column_size(items)), 0) FROM xdrec.seen s WHERE s.version_id = v.id) AS b
	FROM xdrec.version v WHERE v.kind = 'target' AND v.state = 'ready') x
SQL
push @rows, [ 'methods the adapted targets chose on b2', $n2->safe_psql($db,
	q{SELECT string_agg(method || ' ' || n, ', ') FROM (SELECT method, count(*) n FROM xdrec.version WHERE kind = 'target' GROUP BY 1) x}) ];
push @rows, [ 'cores on this machine', `nproc` =~ s/\s+//gr ];

diag(sprintf('%-92s %s', 'measure', 'value'));
diag(sprintf('%-92s %s', @$_)) for @rows;
ok(1, 'bench-cluster ran');
$_->stop for @nodes;
done_testing();
