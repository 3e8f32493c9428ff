#!/usr/bin/env bash
# test/demo.sh - the main job: on a throwaway cluster, install xdrec, generate
# a cross-domain dataset with a known contextual rule (docs/generator.md),
# declare a model, train it on the dense source domain, print the training
# summary, an evaluation table and one user's top 10 in two contexts.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xd_install_deps
xd_build_install
xd_start_cluster

xd_psql -e <<'SQL'
CREATE EXTENSION xdrec;

-- Orders in one dense city (d0) and three sparse ones: keys are integers,
-- the context is the hour, weekday and rain, the customer's spend and each
-- restaurant's price and cuisine.
SELECT xdrec.generate('orders', '{"seed": 42, "domains": 4,
	"sizes": {"source": {"users": 1000, "items": 500, "interactions": 40000},
	          "target": {"users": 200, "items": 100, "interactions": 2000}}}') AS rows_written;
SELECT domain, count(*) AS orders, count(DISTINCT user_key) AS customers,
       count(DISTINCT item_key) AS restaurants
FROM orders GROUP BY domain ORDER BY domain;

SELECT xdrec.create_model('food', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 32, "epochs": 30, "patience": 5, "seed": 42}') AS model_id;

-- train MMT-Net on the source domain: the training summary
SELECT jsonb_pretty(xdrec.train('food', 'd0')) AS training_summary;

-- the test split, paper protocol (50 item + 50 context negatives) and full ranking
SELECT 'sampled' AS protocol, domain, method, metric, round(value::numeric, 4) AS value, n
FROM xdrec.evaluate('food')
UNION ALL
SELECT 'full', domain, method, metric, round(value::numeric, 4), n
FROM xdrec.evaluate('food', protocol => 'full')
ORDER BY 1 DESC, 2, 3, 4;

SELECT model, domain, role, served_version, rows, users, items FROM xdrec.domains;

-- one customer's top 10 at Monday lunch in the rain, and on a dry Saturday night
SET xdrec.default_model = 'food';
WITH lunch AS (
	SELECT * FROM xdrec_rank(7, '{"hour": 12, "weekday": "mon", "rain": true}', 10)),
night AS (
	SELECT * FROM xdrec_rank(7, '{"hour": 21, "weekday": "sat", "rain": false}', 10)),
info AS (
	SELECT item_key, min(cuisine) AS cuisine
	FROM orders WHERE domain = 'd0' GROUP BY item_key)
SELECT l.rank, l.item_key AS lunch_item, li.cuisine AS lunch_cuisine, round(l.score::numeric, 3) AS lunch_score,
       n.item_key AS night_item, ni.cuisine AS night_cuisine, round(n.score::numeric, 3) AS night_score
FROM lunch l JOIN night n USING (rank)
JOIN info li ON li.item_key = l.item_key JOIN info ni ON ni.item_key = n.item_key
ORDER BY rank;
SQL
xd_log "demo done"
