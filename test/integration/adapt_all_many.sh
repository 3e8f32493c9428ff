#!/usr/bin/env bash
# adapt_all_many.sh - many small markets (issue 20): a model with 100
# generated domains (99 targets of 8 to 2,000 rows). adapt_all finishes, every
# domain gets a row with its outcome, every domain with enough data is
# adapted and served, the too-small ones say why (22023) and keep serving
# nothing, and the 8-row domain, tried first ("C" order), blocks no one.
# on_error => 'fail' still fails as a whole and changes nothing.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_adapt_all_many
it_databases "$DB"

it_trained_model "$DB" m \
	'{"seed": 20, "domains": 100, "sizes": {"source": {"users": 300, "items": 150, "interactions": 8000}, "target": {"users": 150, "items": 60, "interactions": 2000}}}' \
	'{"d": 8, "epochs": 2, "lr_search": 1}'

# domain dk keeps 8 * 250^((k-1)/98) of its rows: d1 8 rows, d99 2,000,
# geometric between
q -c "
	DELETE FROM orders o USING (
		SELECT ctid, domain, row_number() OVER (PARTITION BY domain ORDER BY user_key, item_key) AS rn
		FROM orders WHERE domain <> 'd0') r
	WHERE o.ctid = r.ctid
	  AND r.rn > round(8 * power(250, (substr(r.domain, 2)::int - 1) / 98.0))" >/dev/null
read -r n_dom smallest largest < <(q -F ' ' -c "
	SELECT count(*), min(n), max(n) FROM (SELECT count(*) AS n FROM orders WHERE domain <> 'd0' GROUP BY domain) x")
echo "targets: $n_dom domains of $smallest to $largest rows"
[ "$n_dom" = 99 ] && [ "$smallest" = 8 ] && [ "$largest" = 2000 ] || fail "the generated targets are not 99 of 8 to 2,000 rows"

# a failing all-or-nothing run first: nothing changes
before=$(q -c "SELECT count(*) FROM xdrec.version")
err=$(q -c "SELECT count(*) FROM xdrec.adapt_all('m', 'direct', on_error => 'fail')" 2>&1 || true)
echo "on_error => 'fail': $err"
case $err in *"too little data"*) ;; *) fail "on_error => 'fail' did not fail on the 8-row domain: $err" ;; esac
[ "$(q -c "SELECT count(*) FROM xdrec.version")" = "$before" ] || fail "a failed adapt_all left versions behind"

start=$SECONDS
q -c "CREATE TABLE outcome AS SELECT * FROM xdrec.adapt_all('m')"
took=$((SECONDS - start))
read -r rows adapted failed other first_dom first_outcome < <(q -F ' ' -c "
	SELECT count(*), count(*) FILTER (WHERE outcome = 'adapted' AND version IS NOT NULL),
		   count(*) FILTER (WHERE outcome = 'failed' AND summary->>'sqlstate' = '22023' AND reason LIKE '%too little data%'),
		   count(*) FILTER (WHERE outcome NOT IN ('adapted', 'failed')),
		   (SELECT domain FROM outcome WHERE domain = 'd1'), (SELECT outcome FROM outcome WHERE domain = 'd1')
	FROM outcome")
echo "adapt_all in ${took} s: $rows rows, $adapted adapted, $failed too small, $other other; d1: $first_outcome"
[ "$rows" = 99 ] || fail "adapt_all returned $rows rows, not one per target (99)"
[ "$first_dom" = d1 ] && [ "$first_outcome" = failed ] || fail "the 8-row domain d1 was not reported as failed"
[ "$other" = 0 ] && [ $((adapted + failed)) = 99 ] || fail "some domains are neither adapted nor reported too small"
# the adapt's threshold (20 training rows, 80% of the rows): about 25 rows
[ "$adapted" -ge 70 ] && [ "$failed" -ge 10 ] || fail "$adapted adapted and $failed too small: not the expected split"

# the failed ones are the smallest, the adapted ones are served
read -r max_failed min_adapted served < <(q -F ' ' -c "
	WITH n AS (SELECT domain, count(*) AS n FROM orders GROUP BY domain)
	SELECT (SELECT max(n.n) FROM outcome o JOIN n USING (domain) WHERE o.outcome = 'failed'),
		   (SELECT min(n.n) FROM outcome o JOIN n USING (domain) WHERE o.outcome = 'adapted'),
		   (SELECT count(*) FROM outcome o JOIN xdrec.domains d ON d.model = 'm' AND d.domain = o.domain
			WHERE o.outcome = 'adapted' AND d.served_version = o.version)")
echo "failed up to $max_failed rows, adapted from $min_adapted rows; $served adapted domains serve their new version"
[ "$max_failed" -lt "$min_adapted" ] || fail "a domain of $max_failed rows failed while one of $min_adapted was adapted"
[ "$served" = "$adapted" ] || fail "$served of $adapted adapted domains serve their new version"

# min_rows: the small ones are skipped without being tried; nothing fails
read -r skipped failed2 < <(q -F ' ' -c "
	SELECT count(*) FILTER (WHERE outcome = 'skipped'), count(*) FILTER (WHERE outcome = 'failed')
	FROM xdrec.adapt_all('m', 'direct', only_stale => true, min_rows => 30)")
echo "only_stale, min_rows => 30: $skipped skipped, $failed2 failed"
[ "$skipped" = "$failed" ] && [ "$failed2" = 0 ] || fail "min_rows 30 skipped $skipped (not $failed) and $failed2 failed"
echo "ok"
