#!/usr/bin/env bash
# adapt_all_many.sh - many small markets (issue 20): a model with 100
# generated domains (99 targets of 8 to 2,000 rows), its source trained with
# the few-shot meta-learner (option fewshot). adapt_all finishes, every
# domain gets a row with its outcome and is adapted and served: auto adapts
# the domains below fewshot_rows (20) training rows with fewshot, the 8-row
# domain, tried first ("C" order), included. on_error => 'fail' with a
# method that needs 20 training rows still fails as a whole and changes
# nothing; min_rows skips the small ones without trying them.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_adapt_all_many
it_databases "$DB"

it_trained_model "$DB" m \
	'{"seed": 20, "domains": 100, "sizes": {"source": {"users": 300, "items": 150, "interactions": 8000}, "target": {"users": 150, "items": 60, "interactions": 2000}}}' \
	'{"d": 8, "epochs": 2, "lr_search": 1, "fewshot": true, "fewshot_episodes": 16}'

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
read -r rows adapted fewshot other d1_outcome d1_method < <(q -F ' ' -c "
	SELECT count(*), count(*) FILTER (WHERE outcome = 'adapted' AND version IS NOT NULL),
		   count(*) FILTER (WHERE summary->>'method' = 'fewshot' AND summary->'fewshot'->>'reason' LIKE 'auto: %'),
		   count(*) FILTER (WHERE outcome <> 'adapted'),
		   (SELECT outcome FROM outcome WHERE domain = 'd1'), (SELECT summary->>'method' FROM outcome WHERE domain = 'd1')
	FROM outcome")
echo "adapt_all in ${took} s: $rows rows, $adapted adapted ($fewshot by fewshot), $other not; d1: $d1_outcome by $d1_method"
[ "$rows" = 99 ] || fail "adapt_all returned $rows rows, not one per target (99)"
[ "$d1_outcome" = adapted ] && [ "$d1_method" = fewshot ] || fail "the 8-row domain d1 was not adapted with fewshot: $d1_outcome $d1_method"
[ "$other" = 0 ] && [ "$adapted" = 99 ] || fail "$other domains were not adapted: $(q -c "SELECT string_agg(domain || ' ' || reason, '; ') FROM outcome WHERE outcome <> 'adapted'")"
# fewshot below 20 training rows (80% of the rows): about 25 rows
[ "$fewshot" -ge 10 ] && [ "$fewshot" -le 30 ] || fail "$fewshot domains adapted with fewshot: not the expected split"

# the fewshot ones are the smallest; every domain serves its new version
read -r max_fewshot min_other served < <(q -F ' ' -c "
	WITH n AS (SELECT domain, count(*) AS n FROM orders GROUP BY domain)
	SELECT (SELECT max(n.n) FROM outcome o JOIN n USING (domain) WHERE o.summary->>'method' = 'fewshot'),
		   (SELECT min(n.n) FROM outcome o JOIN n USING (domain) WHERE o.summary->>'method' <> 'fewshot'),
		   (SELECT count(*) FROM outcome o JOIN xdrec.domains d ON d.model = 'm' AND d.domain = o.domain
			WHERE d.served_version = o.version)")
echo "fewshot up to $max_fewshot rows, the others from $min_other rows; $served domains serve their new version"
[ "$max_fewshot" -lt "$min_other" ] || fail "a domain of $max_fewshot rows was adapted with fewshot while one of $min_other was not"
[ "$served" = 99 ] || fail "$served of 99 adapted domains serve their new version"

# min_rows: the small ones are skipped without being tried; nothing fails
read -r skipped failed2 < <(q -F ' ' -c "
	SELECT count(*) FILTER (WHERE outcome = 'skipped'), count(*) FILTER (WHERE outcome = 'failed')
	FROM xdrec.adapt_all('m', 'direct', min_rows => 30)")
small=$(q -c "SELECT count(*) FROM (SELECT domain FROM orders WHERE domain <> 'd0' GROUP BY domain HAVING count(*) < 30) x")
echo "min_rows => 30: $skipped skipped, $failed2 failed"
[ "$skipped" = "$small" ] && [ "$failed2" = 0 ] || fail "min_rows 30 skipped $skipped (not $small) and $failed2 failed"
echo "ok"
