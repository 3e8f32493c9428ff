#!/usr/bin/env bash
# rank_during_adapt.sh - pgbench ranks one target-domain user from several
# clients while another session adapts that domain again and again (new rows
# arrive before each run, so every version ranks differently), deploying a
# new version each time. Every answer is logged with the version(s) it came
# from; right after each deploy the adapting session records the answer its
# version gives. Passes when pgbench saw no error, every answer came from a
# single version, that version is one that was served, its items and scores
# are exactly that version's, and the answers span several versions.
# cold_min 0: a user the version serves cold is ranked from the relation's
# rows at call time, which the inserts below change between deploys, so their
# answer is not a function of the version alone.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
# XD_DEPLOYS (8) adaptations, XD_CLIENTS (3) pgbench clients.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_rank_adapt
DEPLOYS=${XD_DEPLOYS:-8}
CLIENTS=${XD_CLIENTS:-3}
it_databases "$DB"
it_workdir rank-adapt
# pgbench first: its sessions would keep the database from being dropped
cleanup()
{
	[ -n "${BENCH_PID:-}" ] && kill "$BENCH_PID" 2>/dev/null
	it_cleanup
}
trap cleanup EXIT

it_trained_model "$DB" food \
	'{"seed": 21, "domains": 2, "sizes": {"source": {"users": 150, "items": 60, "interactions": 3000}, "target": {"users": 40, "items": 25, "interactions": 500}}}' \
	'{"d": 8, "epochs": 3, "cold_min": 0}'
q >/dev/null <<'SQL'
CREATE TABLE expected (version bigint PRIMARY KEY, answer text NOT NULL);
CREATE TABLE answers (lo bigint, hi bigint, answer text);
SQL
USER_KEY=$(q -c "SELECT min(user_key) FROM orders WHERE domain = 'd1'")
CTX='{"hour": 19, "weekday": "fri", "rain": true}'
RANK="xdrec.rank('food', $USER_KEY, '$CTX', 10, domain => 'd1')"
# adapt once, then record what the served version answers
deploy()
{
	q >/dev/null <<SQL
INSERT INTO orders SELECT * FROM orders WHERE domain = 'd1' ORDER BY random() LIMIT 25;
SELECT xdrec.adapt('food', 'd1', 'direct', deploy => 'always');
INSERT INTO expected SELECT min(version), string_agg(item_key || ':' || score, ',' ORDER BY rank) FROM $RANK;
SQL
}
t0=$(date +%s%N)
deploy
# pgbench runs for about as long as the remaining deploys take under its load
deploy_ms=$((($(date +%s%N) - t0) / 1000000))
duration=$((deploy_ms * (DEPLOYS - 1) * 3 / 2000 + 2))
[ "$duration" -le 60 ] || duration=60

cat >"$WORK/rank.sql" <<SQL
INSERT INTO answers SELECT min(version), max(version), string_agg(item_key || ':' || score, ',' ORDER BY rank) FROM $RANK;
SQL
pgbench -n -c "$CLIENTS" -j 2 -T "$duration" -f "$WORK/rank.sql" "$DB" >"$WORK/pgbench.log" 2>&1 &
BENCH_PID=$!
for ((i = 1; i < DEPLOYS; i++)); do
	deploy
done
bench_rc=0
wait "$BENCH_PID" || bench_rc=$?
BENCH_PID=

tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.log")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.log")
if [ "$bench_rc" -ne 0 ] || [ -z "$tx" ] || [ "${failed:-0}" -ne 0 ] || grep -q "ERROR" "$WORK/pgbench.log"; then
	echo "FAIL: pgbench reported errors (exit $bench_rc)"
	cat "$WORK/pgbench.log"
	exit 1
fi
read -r answers versions mixed unknown wrong < <(q -F ' ' -c "
	SELECT count(*), count(DISTINCT a.lo),
		   count(*) FILTER (WHERE a.lo IS DISTINCT FROM a.hi),
		   count(*) FILTER (WHERE e.version IS NULL),
		   count(*) FILTER (WHERE e.answer IS DISTINCT FROM a.answer)
	FROM answers a LEFT JOIN expected e ON e.version = a.lo")
deployed=$(q -c "SELECT count(*) FROM expected")
echo "pgbench: $tx rankings by $CLIENTS clients in ${duration}s during $deployed deploys; answers from $versions versions," \
	"$mixed mixed, $unknown from an unknown version, $wrong not matching their version"
[ "$answers" -eq "$tx" ] || { echo "FAIL: $answers answers logged for $tx transactions"; exit 1; }
[ "$mixed" -eq 0 ] && [ "$unknown" -eq 0 ] && [ "$wrong" -eq 0 ] || { echo "FAIL: an answer not from one served version"; exit 1; }
[ "$versions" -ge 3 ] || { echo "FAIL: answers came from only $versions versions; the deploys did not overlap the ranking"; exit 1; }
distinct=$(q -c "SELECT count(DISTINCT answer) FROM expected")
[ "$distinct" -ge 2 ] || { echo "FAIL: every version ranks alike, so scores cannot tell versions apart"; exit 1; }
echo "ok: every answer is its version's"
