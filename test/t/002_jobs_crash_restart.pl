# 002_jobs_crash_restart.pl - a job whose worker vanishes (DESIGN section 8,
# docs/jobs.md): kill -9 of a worker mid-training, then after the server's
# crash recovery the job reads failed (with the reason) and ranking answers
# from the previous version; a server restart mid-job, then the job reads
# failed, a job queued behind the cap is still scheduled (a ranking call does
# not start it) and the next job call (xdrec.wait) resumes the queue; with
# every worker slot taken, a submitted job stays scheduled (with a NOTICE)
# until a later job call finds a slot.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use XdrecTest;

my $db = 'xd_jobs_crash';
my $node = xd_node('main');
# the kill -9 below is a crash: the postmaster must reinitialise, not stop;
# and a crash loses the last asynchronous commits (the job's own row, say),
# so commits here are synchronous
$node->append_conf('postgresql.conf', "restart_after_crash = on\nsynchronous_commit = on");
$node->start;

sub sql { return $node->safe_psql($db, shift); }

# the server accepts queries again (after a crash or a restart)
sub server_back
{
	ok($node->poll_query_until('postgres', 'SELECT true'), "the server is back: $_[0]");
}

# job $j runs and has finished an epoch
sub job_started
{
	my $j = shift;
	ok( $node->poll_query_until($db,
			"SELECT coalesce(epoch, 0) >= 1 FROM xdrec.jobs WHERE job = $j AND state = 'running'"),
		"job $j runs and finished an epoch")
	  or diag(sql("SELECT state, error FROM xdrec.jobs WHERE job = $j"));
}

sub served
{
	return sql("SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = '$_[0]'");
}

xd_trained_model($node, $db, 'm',
	'{"seed": 6, "domains": 2, "sizes": {"source": {"users": 500, "items": 300, "interactions": 20000}, "target": {"users": 60, "items": 40, "interactions": 800}}}',
	'{"d": 16, "epochs": 2}');
sql(q{UPDATE xdrec.model SET options = options || '{"epochs": 100, "patience": 100}' WHERE name = 'm'});
my $v1 = served('d0');
my $user = sql("SELECT min(user_key) FROM orders WHERE domain = 'd0'");

# kill -9 of the worker: the postmaster restarts every backend (crash recovery)
my $j1 = sql("SELECT xdrec.train('m', 'd0', background => true) ->> 'job'");
job_started($j1);
my $pid = sql("SELECT pid FROM xdrec.jobs WHERE job = $j1");
kill 'KILL', $pid;
sleep 1;
server_back('after the worker was killed');
my ($st, $err) = split /\|/, sql("SELECT state, error FROM xdrec.jobs WHERE job = $j1"), 2;
is($st, 'failed', "job $j1 reads failed after its worker was killed");
like($err, qr/worker ended without recording an outcome/, "job $j1 gives the reason");
is(sql("SELECT state FROM xdrec.job WHERE id = $j1"), 'running', 'reading the view recorded nothing');
is(served('d0'), $v1, 'the killed job changed nothing served');
is(sql("SELECT DISTINCT version FROM xdrec.rank('m', $user, '{\"hour\": 9}', 5)"), $v1,
	"ranking answers from version $v1");
sql('SELECT xdrec.run_pending()');
is(sql("SELECT state FROM xdrec.job WHERE id = $j1"), 'failed', "the next job call recorded job $j1 failed");

# a restart mid-job, with a second job queued behind the cap of one
sql('SELECT xdrec.set_max_workers(1)');
my $j2 = sql("SELECT xdrec.train('m', 'd0', background => true) ->> 'job'");
job_started($j2);
my $j3 = sql("SELECT xdrec.adapt('m', 'd1', 'direct', background => true) ->> 'job'");
sleep 0.5;
is(sql("SELECT state FROM xdrec.jobs WHERE job = $j3"), 'scheduled', "job $j3 waits behind the cap");
$node->restart;
server_back('after the restart');
is(sql("SELECT state FROM xdrec.jobs WHERE job = $j2"), 'failed', "job $j2 reads failed after the restart");
sql("SELECT count(*) FROM xdrec.rank('m', $user, '{\"hour\": 9}', 5)");
sleep 1;
is(sql("SELECT state FROM xdrec.jobs WHERE job = $j3"), 'scheduled', "nothing but a job call started job $j3");
is(served('d0'), $v1, 'the interrupted job changed nothing served');
is(sql("SELECT xdrec.wait($j3, '60 s')"), 'finished', "xdrec.wait resumed the queue: job $j3 finished")
  or diag(sql("SELECT state, error FROM xdrec.jobs WHERE job = $j3"));
is(sql("SELECT state FROM xdrec.job WHERE id = $j2"), 'failed', "job $j2 was recorded failed");
isnt(served('d1'), '', "job $j3 deployed its version");

# no free worker slot: pg_cron's launcher and the logical replication
# launcher take two of three
$node->append_conf('postgresql.conf', 'max_worker_processes = 3');
$node->restart;
server_back('with three worker slots');
sql('SELECT xdrec.set_max_workers(2)');
my $j4 = sql("SELECT xdrec.train('m', 'd0', background => true) ->> 'job'");
job_started($j4);
my ($stdout, $notice);
$node->psql($db, "SELECT xdrec.adapt('m', 'd1', 'direct', background => true) ->> 'job'",
	stdout => \$stdout, stderr => \$notice, on_error_die => 1);
my $j5 = sql('SELECT max(job) FROM xdrec.jobs');
note("with no free slot: $notice");
like($notice, qr/no background worker slot is free: job $j5 stays scheduled/,
	"a NOTICE says job $j5 stays scheduled");
sleep 1;
is(sql("SELECT state FROM xdrec.jobs WHERE job = $j5"), 'scheduled', "job $j5 is scheduled");
is(sql("SELECT xdrec.cancel($j4)"), 'cancelling', "job $j4 was running");
is(sql("SELECT xdrec.wait($j4, '30 s')"), 'cancelled', "job $j4 was cancelled");
is(sql("SELECT xdrec.wait($j5, '60 s')"), 'finished', "job $j5 ran once a slot was free")
  or diag(sql("SELECT state, error FROM xdrec.jobs WHERE job = $j5"));

done_testing();
