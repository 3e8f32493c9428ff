#!/usr/bin/env bash
# jobs_forgery.sh - jobs belong to the queue alone (DESIGN sections 8, 9;
# docs/jobs.md):
#   1. forged pids: with running jobs' pid column set (by a superuser: no
#      other role writes it) to a client backend, to another job's worker,
#      to pg_cron's launcher and to no process, xdrec.cancel signals none of
#      them and still stops each job through the worker holding its lock;
#   2. takeovers: a train grantee, a use grantee and a stranger can neither
#      rewrite nor cancel the owner's job, and the job runs on untouched;
#   3. worker slots: 20 submissions in one open transaction hold no worker
#      slot while it is open, and its commit starts at most
#      xdrec.max_workers() workers;
#   4. a model dropped while a training runs ends the training with 42704,
#      not a raw foreign key violation (23503).
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_forgery
ROLES=(xdjf_owner xdjf_trainer xdjf_user xdjf_stranger)
dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
it_databases "$DB"
it_roles "${ROLES[@]}"
it_workdir jobs-forgery
PIDS=()
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	# the sleeper's backend and any job still running go with the database
	dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
	it_cleanup
}
trap cleanup EXIT
crashes_before=$(it_crashes)
cases=0
state() { q -c "SELECT state FROM xdrec.jobs WHERE job = $1"; }
is_running() { [ "$(state "$1")" = running ] && [ -n "$(q -c "SELECT epoch FROM xdrec.jobs WHERE job = $1")" ]; }

createdb "$DB"
q >/dev/null <<'SQL'
CREATE ROLE xdjf_owner LOGIN;
CREATE ROLE xdjf_trainer LOGIN;
CREATE ROLE xdjf_user LOGIN;
CREATE ROLE xdjf_stranger LOGIN;
CREATE EXTENSION xdrec;
SELECT xdrec.generate('g', '{"seed": 4, "domains": 6, "sizes": {"source": {"users": 200, "items": 100, "interactions": 4000}, "target": {"users": 80, "items": 50, "interactions": 3000}}}');
GRANT SELECT ON g TO PUBLIC;
-- five models whose trainings run until cancelled (a superuser's write of
-- the options: no role writes the catalog)
SET ROLE xdjf_owner;
SELECT xdrec.create_model('f' || i, 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 16, "epochs": 100000, "patience": 100000, "seed": 1}')
FROM generate_series(1, 5) i;
SELECT xdrec.grant('f5', 'xdjf_trainer', 'train');
SELECT xdrec.grant('f5', 'xdjf_user', 'use');
RESET ROLE;
SELECT xdrec.set_max_workers(4);
SQL

# ---- 1. forged pids
# a client backend of the database, asleep
psql -X -q -d "$DB" -c "SELECT pg_sleep(120)" >"$WORK/sleeper.out" 2>&1 &
PIDS+=($!)
sleeper_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%' AND state = 'active' AND pid <> pg_backend_pid()"; }
sleeping() { [ -n "$(sleeper_pid)" ]; }
until_ok 30 "the sleeper did not start" sleeping
sleeper=$(sleeper_pid)
launcher=$(q -c "SELECT coalesce((SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'), 0)")
mapfile -t jobs < <(for m in f1 f2 f3 f4; do q -U xdjf_owner -c "SELECT xdrec.train('$m', 'd0', background => true) ->> 'job'"; done)
for j in "${jobs[@]}"; do until_ok 60 "job $j did not run" is_running "$j"; done
worker_of() { q -c "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 30820 AND objid = $1 AND granted"; }
real=()
for j in "${jobs[@]}"; do real+=("$(worker_of "$j")"); done
victims=("$sleeper" "${real[3]}" "$launcher" 4194000)
names=("a client backend" "another job's worker" "pg_cron's launcher" "no process")
for i in 0 1 2 3; do
	[ "${victims[i]}" = 0 ] && continue		# no pg_cron here
	q -c "UPDATE xdrec.job SET pid = ${victims[i]} WHERE id = ${jobs[i]}"
	out=$(q -U xdjf_owner -c "SELECT xdrec.cancel(${jobs[i]})" 2>&1)
	[ "$out" = cancelling ] || fail "cancel of job ${jobs[i]} (pid forged to ${names[i]}): $out"
	[ "$(q -c "SELECT xdrec.wait(${jobs[i]}, '30 s')")" = cancelled ] \
		|| fail "job ${jobs[i]}, its pid forged to ${names[i]}, was not cancelled: $(state "${jobs[i]}")"
	cases=$((cases + 1))
	echo "pid forged to ${names[i]} (${victims[i]}): job ${jobs[i]} cancelled through its worker ${real[i]}"
	if [ "$i" = 1 ]; then
		[ "$(state "${jobs[3]}")" = running ] || fail "the worker of job ${jobs[3]}, named by job ${jobs[1]}'s forged pid, was signalled"
	fi
done
[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $sleeper AND state = 'active'")" = 1 ] \
	|| fail "the client backend was signalled: $(cat "$WORK/sleeper.out")"
if [ "$launcher" != 0 ]; then
	[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $launcher")" = 1 ] || fail "pg_cron's launcher was signalled"
fi
echo "the client backend and pg_cron's launcher were not signalled"

# ---- 2. takeovers of the owner's running job
j=$(q -U xdjf_owner -c "SELECT xdrec.train('f5', 'd0', background => true) ->> 'job'")
until_ok 60 "job $j did not run" is_running "$j"
for r in xdjf_trainer xdjf_user xdjf_stranger; do
	for stmt in "UPDATE xdrec.job SET state = 'finished' WHERE id = $j" \
		"UPDATE xdrec.job SET submitted_by = '$r' WHERE id = $j" \
		"UPDATE xdrec.job SET login_role = '$r' WHERE id = $j" \
		"UPDATE xdrec.job SET error = 'taken', sqlstate = 'XX000' WHERE id = $j" \
		"UPDATE xdrec.job SET result = '{}' WHERE id = $j" \
		"UPDATE xdrec.job SET pid = pg_backend_pid() WHERE id = $j" \
		"DELETE FROM xdrec.job WHERE id = $j" \
		"DELETE FROM xdrec.job_progress WHERE job_id = $j" \
		"INSERT INTO xdrec.job_progress (job_id, epoch) VALUES ($j, 100000)"; do
		out=$(q -U "$r" -c "$stmt" 2>&1 || true)
		case "$out" in *"permission denied"*) ;; *) fail "$r: $stmt: $out" ;; esac
		cases=$((cases + 1))
	done
	out=$(q -U "$r" -c "\\set VERBOSITY verbose" -c "SELECT xdrec.cancel($j)" 2>&1 || true)
	case "$r:$out" in
		xdjf_stranger:*"ERROR:  42704"*|*"ERROR:  42501"*) ;;
		*) fail "$r cancelled job $j: $out" ;;
	esac
	cases=$((cases + 1))
done
[ "$(state "$j")" = running ] || fail "job $j is $(state "$j") after the takeover attempts"
IFS='|' read -r by login < <(q -c "SELECT submitted_by, login_role FROM xdrec.job WHERE id = $j")
[ "$by|$login" = "xdjf_owner|xdjf_owner" ] || fail "job $j now reads $by|$login"
[ "$(q -U xdjf_owner -c "SELECT xdrec.cancel($j)")" = cancelling ] || fail "the owner could not cancel job $j"
[ "$(q -c "SELECT xdrec.wait($j, '30 s')")" = cancelled ] || fail "job $j was not cancelled"
echo "takeovers of job $j by a train grantee, a use grantee and a stranger: refused; the owner cancelled it"

# ---- 3. worker slots: 20 submissions in one open transaction
cap=$(q -c "SELECT xdrec.set_max_workers(2)")
workers() { q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'xdrec job' AND datname = current_database()"; }
no_workers() { [ "$(workers)" = 0 ]; }
until_ok 30 "workers are still running" no_workers
mkfifo "$WORK/open"
psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" -U xdjf_owner <"$WORK/open" >"$WORK/open.out" 2>&1 &
PIDS+=($!)
exec 3>"$WORK/open"
echo "BEGIN; SELECT count(xdrec.train('f' || (1 + i % 5), 'd0', background => true)) FROM generate_series(1, 20) i; \\echo submitted" >&3
until_ok 60 "the 20 jobs were not submitted" grep -q submitted "$WORK/open.out"
sleep 1
open_workers=$(workers)
echo "COMMIT;" >&3
exec 3>&-
most=0
for _ in $(seq 1 20); do
	n=$(workers)
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.05
done
echo "20 submissions in an open transaction: $open_workers xdrec workers while open, at most $most after its commit (cap $cap)"
[ "$open_workers" = 0 ] || fail "the open transaction holds $open_workers worker slots"
[ "$most" -le "$cap" ] || fail "$most workers after the commit, above the cap of $cap"
[ "$most" -gt 0 ] || fail "the commit started no worker"
cases=$((cases + 1))
q -c "SELECT count(xdrec.cancel(id)) FROM xdrec.job WHERE state IN ('scheduled', 'running')" >/dev/null
q -c "SELECT count(xdrec.wait(id, '60 s')) FROM xdrec.job" >/dev/null

# ---- 4. drop_model while a training runs
q -c "UPDATE xdrec.model SET options = options || '{\"epochs\": 200, \"patience\": 200}' WHERE name = 'f1'"
psql -X -q -At -d "$DB" -U xdjf_owner -c "\\set VERBOSITY verbose" -c "SELECT xdrec.train('f1', 'd0') ? 'version'" >"$WORK/train.out" 2>&1 &
trainer=$!
PIDS+=($trainer)
training() { [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%xdrec.train(''f1''%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ]; }
until_ok 30 "the training did not start" training
sleep 1
q -U xdjf_owner -c "SELECT xdrec.drop_model('f1')" >/dev/null
wait "$trainer" || true
grep -q 'ERROR:  42704: model "f1" was dropped' "$WORK/train.out" || fail "the training of a dropped model ended: $(cat "$WORK/train.out")"
cases=$((cases + 1))
echo "a model dropped while it trained: $(grep ERROR "$WORK/train.out")"

crashes_after=$(it_crashes)
[ "$crashes_after" = "$crashes_before" ] || fail "the server crashed $((crashes_after - crashes_before)) time(s)"
echo "ok: $cases forgery, takeover, slot and drop cases refused or bounded; crashes: 0"
