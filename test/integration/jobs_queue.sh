#!/usr/bin/env bash
# jobs_queue.sh - xdrec.adapt_all(..., background => true) (DESIGN section 8,
# docs/jobs.md): one job per target domain, two domains adapting at once
# under the default cap of two, never more, the others scheduled meanwhile;
# a queue three times the cap drains completely, each domain serving the
# version its job wrote.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_queue
it_databases "$DB"

it_trained_model "$DB" m \
	'{"seed": 7, "domains": 7, "sizes": {"source": {"users": 300, "items": 150, "interactions": 6000}, "target": {"users": 80, "items": 50, "interactions": 3000}}}' \
	'{"d": 16, "epochs": 2}'
q -c "UPDATE xdrec.model SET options = options || '{\"epochs\": 12, \"patience\": 12}' WHERE name = 'm'"
[ "$(q -c "SELECT xdrec.max_workers()")" = 2 ] || fail "the default cap is not 2"

mapfile -t jobs < <(q -c "SELECT summary ->> 'job' FROM xdrec.adapt_all('m', background => true) ORDER BY domain")
[ "${#jobs[@]}" = 6 ] || fail "adapt_all submitted ${#jobs[@]} jobs, not 6"
list=$(IFS=,; echo "${jobs[*]}")

max_running=0
both_with_queue=0
started=$(date +%s)
while :; do
	IFS='|' read -r running scheduled done < <(q -c "SELECT count(*) FILTER (WHERE state = 'running'),
		count(*) FILTER (WHERE state = 'scheduled'), count(*) FILTER (WHERE state IN ('finished', 'failed', 'cancelled'))
		FROM xdrec.jobs WHERE job IN ($list)")
	[ "$running" -gt "$max_running" ] && max_running=$running
	[ "$running" = 2 ] && [ "$scheduled" -gt 0 ] && both_with_queue=1
	[ "$done" = 6 ] && break
	[ $(($(date +%s) - started)) -lt 120 ] || fail "the queue did not drain in 120 s: $(q -c "SELECT job, state FROM xdrec.jobs WHERE job IN ($list)")"
	sleep 0.05
done
echo "most jobs running at once: $max_running; queue drained in $(($(date +%s) - started)) s"
[ "$max_running" = 2 ] || fail "$max_running jobs ran at once under a cap of 2"
[ "$both_with_queue" = 1 ] || fail "never saw two domains adapting while others waited"
[ "$(q -c "SELECT count(*) FROM xdrec.jobs WHERE job IN ($list) AND state = 'finished'")" = 6 ] \
	|| fail "not every job finished: $(q -c "SELECT job, state, error FROM xdrec.jobs WHERE job IN ($list)")"
[ "$(q -c "SELECT count(*) FROM xdrec.jobs j JOIN xdrec.domains d ON d.model = j.model AND d.domain = j.domain
	WHERE j.job IN ($list) AND d.served_version = (j.result ->> 'version')::bigint AND d.method = j.result ->> 'method'")" = 6 ] \
	|| fail "a domain does not serve the version its job wrote"
echo "ok: adapt_all in the background ran two domains at once and drained a queue of 6"
