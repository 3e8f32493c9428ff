#!/usr/bin/env bash
# jobs_drop_extension.sh - DROP EXTENSION xdrec while job workers run and
# finish (docs/jobs.md): each round creates the extension, submits six small
# training jobs under a cap of four, so that workers claim, commit progress
# rows, record outcomes and read the queue, and drops the extension after 0
# to 0.45 s. Neither DROP EXTENSION nor a worker may end in a deadlock (the
# database's deadlock count stays as it was), every worker must exit, and
# the server must not restart. Before the workers took the extension's lock
# first, both runs tried deadlocked, in rounds 5 and 1.
# XD_DROP_ROUNDS sets the number of rounds (default 16).
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_drop_extension
it_databases "$DB"
it_workdir jobs_drop_extension
createdb "$DB"

rounds=${XD_DROP_ROUNDS:-16}
booted=$(q -c "SELECT pg_postmaster_start_time()")
# a session's deadlocks reach pg_stat_database by the time it has exited
deadlocks() { q -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
workers() { q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'xdrec job' AND datname = current_database()"; }
before=$(deadlocks)
for round in $(seq 1 "$rounds"); do
	# submitting calls each start workers for the jobs not yet claimed:
	# some find no free slot and say so, harmlessly
	q >/dev/null 2>"$WORK/setup.err" <<SQL || fail "round $round: $(cat "$WORK/setup.err")"
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": $round, "domains": 6, "sizes": {"source": {"users": 60, "items": 30, "interactions": 400}, "target": {"users": 30, "items": 20, "interactions": 200}}}');
SELECT count(xdrec.create_model('m' || i, 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 3}')) FROM generate_series(0, 5) i;
SELECT xdrec.set_max_workers(4);
SELECT count(xdrec.train('m' || i, 'd' || i, background => true)) FROM generate_series(0, 5) i;
SQL
	sleep "0.$((RANDOM % 10 / 2))5"
	if ! q -c "DROP EXTENSION xdrec" 2>"$WORK/drop.err"; then
		fail "round $round: DROP EXTENSION failed: $(cat "$WORK/drop.err")"
	fi
	q -c "DROP TABLE orders"
	deadline=$((SECONDS + 30))
	until [ "$(workers)" = 0 ]; do
		[ $SECONDS -lt $deadline ] || fail "round $round: a job's worker did not exit after DROP EXTENSION"
		sleep 0.05
	done
	[ "$(q -c "SELECT pg_postmaster_start_time()")" = "$booted" ] || fail "round $round: the server restarted"
	after=$(deadlocks)
	[ "$after" = "$before" ] || fail "round $round: $((after - before)) deadlock(s) between DROP EXTENSION and the workers"
done
echo "$rounds rounds of DROP EXTENSION while jobs ran: no deadlock, every worker exited"
echo "ok: DROP EXTENSION and the job workers never deadlock"
