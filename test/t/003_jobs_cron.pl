# 003_jobs_cron.pl - a recurring re-adaptation scheduled with pg_cron (DESIGN
# section 8, docs/jobs.md): cron.schedule_in_database runs
# xdrec.adapt_all(..., background => true) every minute in another database;
# within 75 s a job it submitted finishes and the target serves its version.
# pg_cron connects to cron.host with libpq: the node listens on a socket
# directory only, so cron.host points at it.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $db = 'xd_jobs_cron';
my $node = xd_node('main');
$node->append_conf('postgresql.conf', "cron.host = '" . $node->host . "'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');

sub sql { return $node->safe_psql($db, shift); }
sub served { return sql("SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd1'"); }

xd_trained_model($node, $db, 'm',
	'{"seed": 9, "domains": 2, "sizes": {"source": {"users": 200, "items": 100, "interactions": 4000}, "target": {"users": 40, "items": 30, "interactions": 600}}}',
	'{"d": 8, "epochs": 2}');
sql("SELECT xdrec.adapt('m', 'd1', 'direct')");
my $v1 = served();

my $start = time;
$node->safe_psql('postgres', "SELECT cron.schedule_in_database('xdrec_readapt', '* * * * *',
	\$\$SELECT count(*) FROM xdrec.adapt_all('m', 'direct', background => true)\$\$, '$db')");
my $job = '';
while (time - $start < 75)
{
	$job = sql("SELECT min(job) FROM xdrec.jobs WHERE state = 'finished' AND kind = 'adapt'");
	last if $job ne '';
	sleep 1;
}
isnt($job, '', 'a job pg_cron submitted finished within 75 s')
  or diag('jobs: ', sql('SELECT job, state, error FROM xdrec.jobs'), ' runs: ',
	$node->safe_psql('postgres', 'SELECT status, return_message FROM cron.job_run_details'));
$node->safe_psql('postgres', "SELECT cron.unschedule('xdrec_readapt')");
my $ver = $job eq '' ? 0 : sql("SELECT result ->> 'version' FROM xdrec.jobs WHERE job = $job");
cmp_ok($ver, '>', $v1, "the scheduled job wrote a new version ($ver)");
cmp_ok(served(), '>=', $ver, "d1 serves the scheduled job's version");
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'"),
	'>=', 1, 'pg_cron recorded a successful run');
note('pg_cron re-adapted in job ' . $job . ', ' . (time - $start) . ' s after scheduling');

done_testing();
