#!/usr/bin/env bash
# jobs_progress_cancel.sh - background training (DESIGN section 8,
# docs/jobs.md): progress rows advance while the job runs and the served
# version stays the old one until the job finishes; a second job on the same
# (model, domain) stays scheduled until the first ends, then a finishing
# worker starts it; xdrec.cancel stops a running job with nothing deployed
# (the time from cancel to cancelled is printed, and fails the test past
# 10 s), and cancels a scheduled one at once.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_progress
it_databases "$DB"

it_trained_model "$DB" m \
	'{"seed": 5, "domains": 2, "sizes": {"source": {"users": 500, "items": 300, "interactions": 20000}, "target": {"users": 60, "items": 40, "interactions": 800}}}' \
	'{"d": 16, "epochs": 2}'
q -c "UPDATE xdrec.model SET options = options || '{\"epochs\": 8, \"patience\": 8}' WHERE name = 'm'"
v1=$(q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'")

# J1: 8 epochs in the background at each of the learning-rate search's 3 rates
# (patience 8: every rate runs its 8 epochs), numbered on, then 5 epochs of
# each of DRR's 3 encoders: 24 + 15 = 39 progress rows
j1=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")

# once J1 has read its options (it runs), J2 asks for many epochs; it waits for J1
for _ in $(seq 1 150); do
	[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j1")" = running ] && break
	sleep 0.1
done
q -c "UPDATE xdrec.model SET options = options || '{\"epochs\": 100, \"patience\": 100}' WHERE name = 'm'"
j2=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")

# watched from one session every 10 ms (a psql per poll is too slow on a
# loaded machine to see an 8-epoch job's epochs go by): the epochs seen while
# J1 runs, what d0 served then, and any state of J2 other than scheduled
IFS='|' read -r seen served_while_running bad < <(q <<SQL
CREATE FUNCTION pg_temp.watch(j1 bigint, j2 bigint) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	st text; ep int; st2 text; sv bigint;
	seen int[] := '{}'; served bigint; bad text := '';
BEGIN
	FOR i IN 1..6000 LOOP
		SELECT a.state, coalesce(a.epoch, 0), b.state,
			(SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0')
		INTO st, ep, st2, sv FROM xdrec.jobs a, xdrec.jobs b WHERE a.job = j1 AND b.job = j2;
		EXIT WHEN st <> 'running';
		IF st2 <> 'scheduled' THEN bad := st2; END IF;
		IF ep > 0 AND NOT ep = ANY (seen) THEN seen := seen || ep; served := sv; END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN array_to_string(seen, ' ') || '|' || coalesce(served::text, '') || '|' || bad;
END \$\$;
SELECT pg_temp.watch($j1, $j2);
SQL
)
[ -z "$bad" ] || fail "job $j2 is $bad while job $j1 on the same (model, domain) runs"
[ "$(q -c "SELECT xdrec.wait($j1, '60 s')")" = finished ] || fail "job $j1 did not finish: $(q -c "SELECT state, error FROM xdrec.jobs WHERE job = $j1")"
distinct=$(printf '%s\n' $seen | wc -l)
echo "progress seen while job $j1 ran: epochs $seen"
[ "$distinct" -ge 2 ] || fail "progress did not advance while the job ran (epochs seen: ${seen:-none})"
[ "$served_while_running" = "$v1" ] || fail "while job $j1 ran, d0 served $served_while_running, not $v1"
read -r rows last ver served < <(q -F ' ' -c "SELECT count(*), max(p.epoch), (j.result ->> 'version'),
	(SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0')
	FROM xdrec.job_progress p JOIN xdrec.job j ON j.id = p.job_id WHERE p.job_id = $j1 GROUP BY j.result")
[ "$rows" = 39 ] && [ "$last" = 39 ] || fail "job $j1 wrote $rows progress rows up to epoch $last, not 3 rates x 8 + 3 encoders x 5 = 39"
[ "$ver" = "$served" ] && [ "$ver" -gt "$v1" ] || fail "job $j1 deployed version $ver but d0 serves $served"

# J1's worker started J2; J3 waits behind it and is cancelled at once
for _ in $(seq 1 150); do
	[ "$(q -c "SELECT coalesce(epoch, 0) FROM xdrec.jobs WHERE job = $j2 AND state = 'running'")" -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j2")" = running ] || fail "the finishing worker did not start job $j2"
j3=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
[ "$(q -c "SELECT xdrec.cancel($j3)")" = cancelled ] || fail "a scheduled job is not cancelled at once"
versions_before=$(q -c "SELECT count(*) FROM xdrec.version")
latency=$(q <<SQL
SELECT clock_timestamp() AS t0 \gset
SELECT xdrec.cancel($j2) \g /dev/null
SELECT xdrec.wait($j2, '30 s') \g /dev/null
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 3);
SQL
)
echo "cancel -> cancelled: $latency s"
read -r st code < <(q -F ' ' -c "SELECT state, sqlstate FROM xdrec.jobs WHERE job = $j2")
[ "$st" = cancelled ] || fail "job $j2 is $st after cancel"
[ "$code" = 57014 ] || fail "job $j2 ended with SQLSTATE $code, not 57014"
awk -v l="$latency" 'BEGIN { exit !(l < 10) }' || fail "cancel took $latency s"
[ "$(q -c "SELECT count(*) FROM xdrec.version")" = "$versions_before" ] || fail "the cancelled job wrote a version"
[ "$(q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'")" = "$ver" ] \
	|| fail "the cancelled job changed the served version"
[ "$(q -c "SELECT count(*) FROM xdrec.rank('m', (SELECT min(user_key) FROM orders WHERE domain = 'd0'), '{\"hour\": 9}', 5) WHERE version = $ver")" = 5 ] \
	|| fail "ranking does not answer from version $ver"
[ "$(q -c "SELECT xdrec.cancel($j2)")" = cancelled ] || fail "cancelling a cancelled job changed it"

# drop_model cancels the model's running job; its worker goes without deploying anything
j4=$(q -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
for _ in $(seq 1 150); do
	[ "$(q -c "SELECT state FROM xdrec.jobs WHERE job = $j4")" = running ] && break
	sleep 0.1
done
q -c "SELECT xdrec.drop_model('m')" >/dev/null
for _ in $(seq 1 100); do
	[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'xdrec job'")" = 0 ] && break
	sleep 0.1
done
[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'xdrec job'")" = 0 ] || fail "drop_model left a worker running"
[ "$(q -c "SELECT count(*) FROM xdrec.job") $(q -c "SELECT count(*) FROM xdrec.version")" = "0 0" ] || fail "drop_model left jobs or versions"
echo "ok: progress advanced, one job per (model, domain), cancel in $latency s with nothing deployed, drop_model cancels"
