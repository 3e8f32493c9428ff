#!/usr/bin/env bash
# jobs_cron.sh - a recurring re-adaptation scheduled with pg_cron (DESIGN
# section 8, docs/jobs.md): cron.schedule_in_database runs
# xdrec.adapt_all(..., background => true) every minute in another database;
# within 75 s a job it submitted finishes and the target serves its version.
# pg_cron connects to cron.host with libpq: the throwaway cluster listens on
# a socket directory only, so the test points cron.host at it and restarts.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster that
# preloads pg_cron with cron.database_name = 'postgres', and XD_PGBIN.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

PGBIN=${XD_PGBIN:-/usr/lib/postgresql/15/bin}
DB=xd_jobs_cron
it_databases "$DB"
p() { psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }
cleanup()
{
	p -c "SELECT cron.unschedule('xdrec_readapt') FROM cron.job WHERE jobname = 'xdrec_readapt'" >/dev/null 2>&1 || true
	p -c "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1 || true
	p -c "ALTER SYSTEM RESET cron.host" >/dev/null 2>&1 || true
	it_cleanup
}
trap cleanup EXIT

data=$(p -c "SHOW data_directory")
p -c "ALTER SYSTEM SET cron.host = '$PGHOST'"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -m fast -w restart -l "$data/../server.log" >/dev/null
for _ in $(seq 1 300); do p -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
p -c "CREATE EXTENSION IF NOT EXISTS pg_cron"

it_trained_model "$DB" m \
	'{"seed": 9, "domains": 2, "sizes": {"source": {"users": 200, "items": 100, "interactions": 4000}, "target": {"users": 40, "items": 30, "interactions": 600}}}' \
	'{"d": 8, "epochs": 2}'
q -c "SELECT xdrec.adapt('m', 'd1', 'direct')" >/dev/null
v1=$(q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd1'")

start=$(date +%s)
p -c "SELECT cron.schedule_in_database('xdrec_readapt', '* * * * *',
	\$\$SELECT count(*) FROM xdrec.adapt_all('m', 'direct', background => true)\$\$, '$DB')" >/dev/null
job=
while [ $(($(date +%s) - start)) -lt 75 ]; do
	job=$(q -c "SELECT min(job) FROM xdrec.jobs WHERE state = 'finished' AND kind = 'adapt'")
	[ -n "$job" ] && break
	sleep 1
done
[ -n "$job" ] || fail "no job from pg_cron finished within 75 s: jobs $(q -c "SELECT job, state, error FROM xdrec.jobs") runs $(p -c "SELECT status, return_message FROM cron.job_run_details")"
p -c "SELECT cron.unschedule('xdrec_readapt')" >/dev/null
ver=$(q -c "SELECT result ->> 'version' FROM xdrec.jobs WHERE job = $job")
[ "$ver" -gt "$v1" ] || fail "the scheduled job wrote version $ver"
[ "$(q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd1'")" -ge "$ver" ] \
	|| fail "d1 does not serve the scheduled job's version"
[ "$(p -c "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'")" -ge 1 ] || fail "pg_cron recorded no successful run"
echo "ok: pg_cron's re-adaptation ran as job $job ($(($(date +%s) - start)) s after scheduling)"
