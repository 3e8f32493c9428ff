#!/usr/bin/env bash
# jobs_crash_restart.sh - a job whose worker vanishes (DESIGN section 8,
# docs/jobs.md): kill -9 of a worker mid-training, then after the server's
# crash recovery the job reads failed (with the reason) and ranking answers
# from the previous version; a server restart mid-job, then the job reads
# failed, a job queued behind the cap is still scheduled (a ranking call does
# not start it) and the next job call (xdrec.wait) resumes the queue; with
# every worker slot taken, a submitted job stays scheduled (with a NOTICE)
# until a later job call finds a slot.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster, and
# XD_PGBIN; restarts that cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

PGBIN=${XD_PGBIN:-/usr/lib/postgresql/15/bin}
DB=xd_jobs_crash
it_databases "$DB"

# the server accepts queries again (after a crash or a restart)
wait_server()
{
	for _ in $(seq 1 300); do
		psql -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "the server did not come back"
}

# job $1 runs and has finished an epoch
wait_epoch()
{
	for _ in $(seq 1 300); do
		[ "$(q -c "SELECT coalesce(epoch, 0) FROM xdrec.jobs WHERE job = $1 AND state = 'running'")" -ge 1 ] 2>/dev/null && return 0
		sleep 0.1
	done
	fail "job $1 did not start: $(q -c "SELECT state, error FROM xdrec.jobs WHERE job = $1")"
}

served() { q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = '$1'"; }

it_trained_model "$DB" m \
	'{"seed": 6, "domains": 2, "sizes": {"source": {"users": 500, "items": 300, "interactions": 20000}, "target": {"users": 60, "items": 40, "interactions": 800}}}' \
	'{"d": 16, "epochs": 2}'
q -c "UPDATE xdrec.model SET options = options || '{\"epochs\": 100, \"patience\": 100}' WHERE name = 'm'"
v1=$(served d0)
user=$(q -c "SELECT min(user_key) FROM orders WHERE domain = 'd0'")

# kill -9 of the worker: the postmaster restarts every backend (crash recovery)
j1=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
wait_epoch "$j1"
pid=$(q -c "SELECT pid FROM xdrec.jobs WHERE job = $j1")
kill -9 "$pid"
sleep 1
wait_server
read -r st err < <(q -F ' ' -c "SELECT state, error FROM xdrec.jobs WHERE job = $j1")
[ "$st" = failed ] || fail "job $j1 reads $st after its worker was killed"
case "$err" in *"worker ended without recording an outcome"*) ;; *) fail "job $j1 has no reason: $err" ;; esac
[ "$(q -c "SELECT state FROM xdrec.job WHERE id = $j1")" = running ] || fail "a read recorded the job"
[ "$(served d0)" = "$v1" ] || fail "the killed job changed the served version"
[ "$(q -c "SELECT DISTINCT version FROM xdrec.rank('m', $user, '{\"hour\": 9}', 5)")" = "$v1" ] \
	|| fail "ranking does not answer from version $v1"
q -c "SELECT xdrec.run_pending()" >/dev/null
[ "$(q -c "SELECT state FROM xdrec.job WHERE id = $j1")" = failed ] || fail "the next job call did not record job $j1 failed"
echo "ok: killed worker -> job $j1 failed, version $v1 still served"

# a restart mid-job, with a second job queued behind the cap of one
q -c "SELECT xdrec.set_max_workers(1)" >/dev/null
j2=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
wait_epoch "$j2"
j3=$(q -c "SELECT xdrec.adapt('m', 'd1', 'direct', background => true) ->> 'job'")
sleep 0.5
[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j3")" = scheduled ] || fail "job $j3 runs beyond the cap"
data=$(q -c "SHOW data_directory")
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -m fast -w restart -l "$data/../server.log" >/dev/null
wait_server
[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j2")" = failed ] || fail "job $j2 does not read failed after the restart"
q -c "SELECT count(*) FROM xdrec.rank('m', $user, '{\"hour\": 9}', 5)" >/dev/null
sleep 1
[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j3")" = scheduled ] || fail "something but a job call started job $j3"
[ "$(served d0)" = "$v1" ] || fail "the interrupted job changed the served version"
[ "$(q -c "SELECT xdrec.wait($j3, '60 s')")" = finished ] \
	|| fail "the queue did not resume: $(q -c "SELECT state, error FROM xdrec.jobs WHERE job = $j3")"
[ "$(q -c "SELECT state FROM xdrec.job WHERE id = $j2")" = failed ] || fail "job $j2 was not recorded failed"
[ -n "$(served d1)" ] || fail "job $j3 served nothing"
echo "ok: restart -> job $j2 failed, job $j3 resumed by xdrec.wait and finished"

# no free worker slot: pg_cron's launcher and the logical replication
# launcher take two of three
restart() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -m fast -w restart -l "$data/../server.log" >/dev/null; wait_server; }
trap 'q -c "ALTER SYSTEM RESET max_worker_processes" >/dev/null 2>&1; restart; it_cleanup' EXIT
q -c "ALTER SYSTEM SET max_worker_processes = 3"
restart
q -c "SELECT xdrec.set_max_workers(2)" >/dev/null
j4=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
wait_epoch "$j4"
notice=$(q -c "SELECT xdrec.adapt('m', 'd1', 'direct', background => true) ->> 'job'" 2>&1 >/dev/null)
j5=$(q -c "SELECT max(job) FROM xdrec.jobs")
echo "with no free slot: $notice"
case "$notice" in *"no background worker slot is free: job $j5 stays scheduled"*) ;; *) fail "no notice for job $j5: $notice" ;; esac
sleep 1
[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j5")" = scheduled ] || fail "job $j5 is not scheduled"
[ "$(q -c "SELECT xdrec.cancel($j4)")" = cancelling ] || fail "job $j4 is not running"
[ "$(q -c "SELECT xdrec.wait($j4, '30 s')")" = cancelled ] || fail "job $j4 was not cancelled"
[ "$(q -c "SELECT xdrec.wait($j5, '60 s')")" = finished ] \
	|| fail "job $j5 did not run once a slot was free: $(q -c "SELECT state, error FROM xdrec.jobs WHERE job = $j5")"
echo "ok: no free slot -> job $j5 stayed scheduled, then ran"
