#!/usr/bin/env bash
# jobs_times.sh - a background job's telemetry (docs/jobs.md): its times
# advance (submitted <= started < finished, one progress row per epoch at
# its own time: the worker sets each transaction's start, which now() reads),
# xdrec.jobs says epoch k of at most N and a percentage (N counts every rate
# of the learning-rate search and the 3 x 5 epochs of DRR's encoders, which
# the fit phase trains after the model), the version keeps its per-epoch curve
# (xdrec.training_info: every fit of the search, each with its own rate)
# like a foreground run's, and the
# call's deploy policy travels with the job (deploy => 'never' stores the
# version without serving it).
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_jobs_times
it_databases "$DB"

it_trained_model "$DB" m \
	'{"seed": 6, "domains": 2, "sizes": {"source": {"users": 300, "items": 150, "interactions": 8000}, "target": {"users": 40, "items": 30, "interactions": 400}}}' \
	'{"d": 8, "epochs": 6, "patience": 6, "lr_search": 2}'
served=$(q -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'")

# the foreground run kept its curve: one row per epoch of each of the two
# rates searched (6 each: patience 6 never stops early), numbered on, the
# second fit at three times the first's rate, the best one marked
read -r fg_epochs fg_last fg_rates fg_ratio fg_best < <(q -F ' ' -c "
	SELECT count(*), max(epoch), count(DISTINCT lr), round((max(lr) / min(lr))::numeric, 3),
		   count(*) FILTER (WHERE best)
	FROM xdrec.training_info('m')")
echo "foreground training: $fg_epochs epochs in its curve (last $fg_last) at $fg_rates rates (ratio $fg_ratio), $fg_best best"
[ "$fg_epochs" = 12 ] && [ "$fg_last" = 12 ] || fail "the foreground curve has $fg_epochs epochs up to $fg_last, not 12"
[ "$fg_rates" = 2 ] && [ "$fg_ratio" = 3.000 ] || fail "the foreground curve shows $fg_rates rates (ratio $fg_ratio), not the search's 2 (x3)"
[ "$fg_best" -ge 1 ] || fail "no best epoch marked in the foreground curve"

j=$(q -c "SELECT xdrec.train('m', background => true, deploy => 'never') ->> 'job'")
[ "$(q -c "SELECT xdrec.wait($j, '120 s')")" = finished ] || fail "job $j did not finish: $(q -c "SELECT error FROM xdrec.jobs WHERE job = $j")"

IFS='|' read -r ordered took rows distinct_at epochs_max percent progress < <(q -c "
	SELECT j.submitted_at <= j.started_at AND j.started_at < j.finished_at,
		   round(extract(epoch FROM j.finished_at - j.started_at) * 1000),
		   (SELECT count(*) FROM xdrec.job_progress p WHERE p.job_id = j.job),
		   (SELECT count(DISTINCT p.at) FROM xdrec.job_progress p WHERE p.job_id = j.job),
		   j.epochs_max, j.percent, coalesce(j.progress, '')
	FROM xdrec.jobs j WHERE j.job = $j")
echo "job $j: started before it finished: $ordered (${took} ms); $rows progress rows at $distinct_at distinct times; epochs_max $epochs_max, $percent%"
[ "$ordered" = t ] || fail "job $j's times are not submitted <= started < finished"
# 2 rates x 6 epochs of the model, then 3 encoders x 5 epochs
[ "$rows" = 27 ] || fail "job $j wrote $rows progress rows, not 12 + 15 = 27"
[ "$distinct_at" = "$rows" ] || fail "job $j's progress rows share their times ($distinct_at distinct of $rows)"
[ "$epochs_max" = 27 ] && [ "$percent" = 100 ] || fail "xdrec.jobs shows epochs_max $epochs_max, percent $percent"
[ -z "$progress" ] || fail "a finished job still shows progress '$progress'"

# the job's version has its curve, and the call's 'never' left it unserved
v=$(q -c "SELECT result ->> 'version' FROM xdrec.jobs WHERE job = $j")
read -r deployed now_served bg_epochs < <(q -F ' ' -c "
	SELECT (SELECT result -> 'deployed' FROM xdrec.jobs WHERE job = $j),
		   (SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'),
		   (SELECT count(*) FROM xdrec.training_info('m', version => $v))")
echo "job $j wrote version $v: deployed $deployed, d0 serves $now_served, $bg_epochs epochs in its curve"
[ "$deployed" = false ] && [ "$now_served" = "$served" ] || fail "deploy => 'never' did not travel with job $j"
[ "$bg_epochs" = 12 ] || fail "the background curve has $bg_epochs epochs, not 12"

# while a job runs, xdrec.jobs says how far it is
q -c "SELECT xdrec.alter_model('m', options => '{\"epochs\": 200, \"patience\": 200, \"lr_search\": 1}')" >/dev/null
j2=$(q -c "SELECT xdrec.train('m', background => true) ->> 'job'")
seen=
for _ in $(seq 1 300); do
	seen=$(q -c "SELECT progress || ' ' || percent || '%' FROM xdrec.jobs WHERE job = $j2 AND progress IS NOT NULL")
	[ -n "$seen" ] && break
	sleep 0.05
done
q -c "SELECT xdrec.cancel($j2)" >/dev/null
echo "while running: $seen"
[[ "$seen" =~ ^epoch\ [0-9]+\ of\ at\ most\ 215\ [0-9]+%$ ]] || fail "no 'epoch k of at most 215 p%' (200 + the encoders' 15) seen while job $j2 ran: '$seen'"
echo "ok: job times advance, progress reads epoch k of N, curves are kept, the deploy policy travels"
