#!/usr/bin/env bash
# jobs_chain.sh - a finishing worker runs the next job of its login role
# itself (DESIGN section 8, docs/jobs.md): with every max_worker_processes
# slot taken, so that no job call could start a worker, a queue of four jobs
# drains to finished with no job call from any session (this script only
# reads xdrec.job), all four in the one worker; a job another login role
# submitted meanwhile is left scheduled, not run by that worker, and runs
# later in a worker of its own login role. Each job in that worker starts
# from a fresh session, as after DISCARD ALL: the setting, advisory lock,
# prepared statement, currval and cursor WITH HOLD that one job's SQL left
# are gone for the next.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_chain
FILL=xd_jobs_chain_fill
TMP=$(mktemp -d /tmp/xd_jobs_chain.XXXXXX)
HOLDERS=()
drop_all()
{
	dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
	dropdb --if-exists --force "$FILL" >/dev/null 2>&1 || true
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS xdjc_other" >/dev/null 2>&1 || true
}
cleanup()
{
	local p
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${HOLDERS[@]}"; do wait "$p" 2>/dev/null || true; done
	drop_all
	rm -rf "$TMP"
	it_cleanup
}
trap cleanup EXIT

# hold <name> <database>: a psql session fed through fd 3 (T) or 4 (FILL)
# that keeps its transaction open until told to end it
hold()
{
	mkfifo "$TMP/$1"
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$2" <"$TMP/$1" >"$TMP/$1.out" 2>&1 &
	HOLDERS+=($!)
}

drop_all
createdb "$DB"
createdb "$FILL"
q >/dev/null <<'SQL'
CREATE ROLE xdjc_other LOGIN;
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": 9, "domains": 6, "sizes": {"source": {"users": 200, "items": 100, "interactions": 4000}, "target": {"users": 40, "items": 30, "interactions": 600}}}');
-- Model leak's job leaves session state behind, once per session, from its
-- feature expression: a setting, a session advisory lock, a prepared
-- statement, a sequence's currval and a cursor WITH HOLD (PostgreSQL
-- refuses LISTEN in a background worker). m's jobs
-- fail, naming what they found, if their session holds any of it (checked
-- once per job: the flag it sets is itself a setting a fresh session lacks).
CREATE SEQUENCE xdjc_seq;
CREATE FUNCTION xdjc_leave() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	IF current_setting('xdjc.leak', true) IS DISTINCT FROM 'on' THEN
		PERFORM set_config('xdjc.leak', 'on', false);
		PERFORM pg_advisory_lock(7007);
		EXECUTE 'PREPARE xdjc_stmt AS SELECT 1';
		PERFORM nextval('public.xdjc_seq');
		EXECUTE 'DECLARE xdjc_cursor CURSOR WITH HOLD FOR SELECT 1';
	END IF;
	RETURN true;
END $f$;
CREATE FUNCTION xdjc_clean() RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
	found text[] := '{}';
BEGIN
	IF current_setting('xdjc.checked', true) = 'on' THEN
		RETURN true;
	END IF;
	PERFORM set_config('xdjc.checked', 'on', false);
	IF current_setting('xdjc.leak', true) = 'on' THEN
		found := found || 'a setting'::text;
	END IF;
	IF EXISTS (SELECT FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
			AND objsubid IN (1, 2)) THEN
		found := found || 'an advisory lock'::text;
	END IF;
	IF EXISTS (SELECT FROM pg_prepared_statements) THEN
		found := found || 'a prepared statement'::text;
	END IF;
	IF EXISTS (SELECT FROM pg_cursors WHERE is_holdable) THEN
		found := found || 'a cursor with hold'::text;
	END IF;
	BEGIN
		PERFORM currval('public.xdjc_seq');
		found := found || 'a currval'::text;
	EXCEPTION WHEN object_not_in_prerequisite_state THEN
		NULL;
	END;
	IF found <> '{}' THEN
		RAISE EXCEPTION 'this session holds what an earlier job left: %', array_to_string(found, ', ');
	END IF;
	RETURN true;
END $f$;
SELECT xdrec.create_model('m', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features() || '[{"name": "clean", "kind": "interactional", "type": "boolean",
		"expression": "public.xdjc_clean()"}]',
	options => '{"d": 8, "epochs": 2}');
SELECT xdrec.create_model('leak', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features() || '[{"name": "leak", "kind": "interactional", "type": "boolean",
		"expression": "public.xdjc_leave()"}]',
	options => '{"d": 8, "epochs": 1}');
SELECT xdrec.train('m', 'd0');
SELECT xdrec.grant('m', 'xdjc_other', 'train');
GRANT SELECT ON orders TO xdjc_other;
GRANT USAGE ON SEQUENCE xdjc_seq TO xdjc_other;
-- xdjc_other reads the rows only in a session it logged in to itself: run by
-- another login role's worker, its job would read nothing and fail
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_session ON orders USING (session_user = 'xdjc_other');
SQL
# the filler: a target domain per worker slot, and a cap that lets them all run
psql -X -q -v ON_ERROR_STOP=1 -d "$FILL" >/dev/null <<'SQL'
CREATE EXTENSION xdrec;
SELECT xdrec.generate('f', format('{"seed": 1, "domains": %s, "sizes": {"source": {"users": 20, "items": 10, "interactions": 100}, "target": {"users": 10, "items": 5, "interactions": 50}}}',
	current_setting('max_worker_processes')::int + 1)::jsonb);
SELECT xdrec.create_model('fm', 'f', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(),
	options => '{"d": 4, "epochs": 1}');
SELECT xdrec.train('fm', 'd0');
SELECT xdrec.set_max_workers(current_setting('max_worker_processes')::int);
SQL

# 1. the first job's worker takes a slot: it runs the job, and waits for the
# lock this open transaction holds on the job's relation
hold first "$DB"
exec 3>"$TMP/first"
echo "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; \\echo locked" >&3
until_ok 30 "orders was not locked" grep -q locked "$TMP/first.out"
first=$(q -c "SELECT xdrec.adapt('m', 'd1', background => true) ->> 'job'")
first_running() { [ "$(q -c "SELECT state FROM xdrec.job WHERE id = $first")" = running ]; }
until_ok 30 "the first job did not start" first_running

# 2. every other worker slot taken: the filler's jobs, one per target domain
# of another database, committed at once, each blocked the same way (the
# commit registers as many workers as the cap allows, until none is free)
hold fill "$FILL"
exec 4>"$TMP/fill"
echo "BEGIN; LOCK TABLE f IN ACCESS EXCLUSIVE MODE; \\echo locked" >&4
until_ok 30 "f was not locked" grep -q locked "$TMP/fill.out"
psql -X -q -v ON_ERROR_STOP=1 -At -d "$FILL" -c "SELECT count(xdrec.adapt('fm', 'd' || i, 'direct', background => true)) FROM generate_series(1, current_setting('max_worker_processes')::int) i" >"$TMP/filled" 2>&1
grep -q "no background worker slot is free" "$TMP/filled" || fail "the filler found a free slot every time: $(cat "$TMP/filled")"

# 3. the rest of the queue: no worker can be registered for it; a job of
# another login role in the middle. The job of model leak leaves a setting
# in its session that would fail m's next jobs if they inherited it.
queue=()
for call in "train('leak', 'd0'" "adapt('m', 'd3'"; do
	queue+=("$(q -c "SELECT xdrec.$call, background => true) ->> 'job'" 2>"$TMP/notice")")
	grep -q "no background worker slot is free" "$TMP/notice" || fail "a worker was registered for $call)"
done
other=$(q -U xdjc_other -c "SELECT xdrec.adapt('m', 'd4', background => true) ->> 'job'" 2>"$TMP/notice")
grep -q "no background worker slot is free" "$TMP/notice" || fail "a worker was registered for xdjc_other's job"
queue+=("$(q -c "SELECT xdrec.adapt('m', 'd5', background => true) ->> 'job'" 2>"$TMP/notice")")
grep -q "no background worker slot is free" "$TMP/notice" || fail "a worker was registered for the job on d5"

# 4. the first job's relation unlocked; from here on no session calls a job function
started=$EPOCHREALTIME
echo "ROLLBACK;" >&3
exec 3>&-
list="$first,$(IFS=,; echo "${queue[*]}")"
drained() { [ "$(q -c "SELECT count(*) FROM xdrec.job WHERE id IN ($list) AND state IN ('finished', 'failed', 'cancelled')")" = 4 ]; }
until_ok 60 "the queue did not drain: $(q -c "SELECT id, state, error FROM xdrec.job ORDER BY id")" drained
elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
IFS='|' read -r finished workers < <(q -c "SELECT count(*) FILTER (WHERE state = 'finished'), count(DISTINCT pid) FROM xdrec.job WHERE id IN ($list)")
echo "queue of 4 drained in $elapsed s by $workers worker(s), no slot free, no job call"
[ "$finished" = 4 ] || fail "not every job finished: $(q -c "SELECT id, state, error FROM xdrec.job WHERE id IN ($list)")"
[ "$workers" = 1 ] || fail "$workers workers ran the queue, not the first job's alone"

# 5. that worker exits, leaving xdjc_other's job scheduled: it cannot act for it
worker_gone() { [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'xdrec job' AND datname = current_database()")" = 0 ]; }
until_ok 30 "the worker did not exit" worker_gone
IFS='|' read -r st started_at < <(q -c "SELECT state, started_at IS NULL FROM xdrec.job WHERE id = $other")
[ "$st|$started_at" = "scheduled|t" ] || fail "xdjc_other's job $other is $st (never started: $started_at)"

# 6. slots free again (the filler's jobs unlocked end): a job call starts
# xdjc_other's job in its own worker
echo "ROLLBACK;" >&4
exec 4>&-
st=$(q -U xdjc_other -c "SELECT xdrec.wait($other, '60 s')")
IFS='|' read -r login used < <(q -c "SELECT login_role, result ->> 'rows_used' FROM xdrec.job WHERE id = $other")
echo "job $other of xdjc_other: $st, connected as $login, read $used rows"
[ "$st" = finished ] && [ "$login" = xdjc_other ] && [ "${used:-0}" -gt 0 ] \
	|| fail "job $other: $st, $(q -c "SELECT error FROM xdrec.job WHERE id = $other")"
echo "ok: a finishing worker drained the queue with no slot free; another login role's job waited for its own worker"
