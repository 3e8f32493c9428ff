#!/usr/bin/env bash
# test/demo.sh - the main job, for now: on a throwaway cluster, install xdrec,
# declare a recommender over a small table of interactions and show what it
# recorded. (Training and ranking come with later releases.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xd_install_deps
xd_build_install
xd_start_cluster

xd_psql -e <<'SQL'
CREATE EXTENSION xdrec;

-- Orders in one dense city and two sparse ones.
CREATE TABLE orders (
	customer bigint NOT NULL,
	restaurant bigint NOT NULL,
	city text NOT NULL,
	ordered_at timestamptz NOT NULL,
	spend numeric NOT NULL,
	cuisine text NOT NULL
);
INSERT INTO orders
SELECT (i * 7919) % CASE c WHEN 'berlin' THEN 500 ELSE 40 END,
       (i * 104729) % CASE c WHEN 'berlin' THEN 300 ELSE 25 END,
       c,
       timestamptz '2024-03-01' + (i % 2000) * interval '37 minutes',
       5 + (i % 23),
       (ARRAY['thai', 'pizza', 'sushi', 'burger'])[1 + i % 4]
FROM generate_series(1, 6000) AS i,
     LATERAL (SELECT CASE WHEN i % 10 < 8 THEN 'berlin'
                          WHEN i % 10 = 8 THEN 'jena' ELSE 'goslar' END AS c) AS cc;

SELECT city, count(*) AS orders, count(DISTINCT customer) AS customers,
       count(DISTINCT restaurant) AS restaurants
FROM orders GROUP BY city ORDER BY orders DESC;

SELECT xdrec.create_model('food', 'orders', 'customer', 'restaurant', 'city',
	features => '[
		{"name": "hour", "expression": "extract(hour from ordered_at)", "kind": "interactional", "type": "numeric"},
		{"name": "weekday", "expression": "to_char(ordered_at, ''dy'')", "kind": "interactional", "type": "categorical"},
		{"name": "avg_spend", "column": "spend", "kind": "historical", "type": "numeric", "scope": "user"},
		{"name": "cuisine", "column": "cuisine", "kind": "attributional", "type": "categorical", "scope": "item"}
	]',
	options => '{"d": 32, "epochs": 50, "seed": 42}') AS model_id;

\x on
SELECT * FROM xdrec.models;
\x off
SELECT f.position, f.name, coalesce(f.column_name::text, f.expression) AS source, f.kind, f.type, f.scope
FROM xdrec.feature f JOIN xdrec.models m ON m.id = f.model_id
WHERE m.name = 'food' ORDER BY f.position;

SELECT (s ->> 'threads')::int AS backend_threads, (s ->> 'parallel')::int AS blas_parallel,
       (s ->> 'sgemm_ok')::boolean AS sgemm_ok
FROM xdrec.blas_selfcheck() AS s;
SQL
xd_log "demo done"
