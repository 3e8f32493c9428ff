-- Cold-start users in adapted targets (docs/cold-start.md, Adapted
-- targets): adapt meta-trains the target's own module from the source's in
-- its fit phase and stores it with the target version; a target too small
-- to cut episodes from gets the source's module as is; rank, rank_many,
-- history and evaluate(protocol => 'cold') serve a target's cold users; a
-- target adapted with option cold off has no module (55000). No raw
-- floats: scores are compared bit for bit with themselves.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('tgen', '{"seed": 5, "domains": 3, "sizes": {"source": {"users": 80, "items": 60, "interactions": 2400}, "target": {"users": 60, "items": 30, "interactions": 1500}}}') AS rows;
-- d2 cut to 8 users: too small to cut episodes from
DELETE FROM tgen WHERE domain = 'd2' AND user_key >= (SELECT min(user_key) + 8 FROM tgen WHERE domain = 'd2');
SELECT xdrec.create_model('t', 'tgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 2, "pretrain_epochs": 1, "seed": 1, "lr_search": 1, "cold_holdout": 0.25}') > 0 AS t;
SELECT xdrec.train('t', 'd0')->'cold'->>'trained' AS source_trained;

-- 1. adapt meta-trains the target's module from the source's and says so:
-- the candidates ranked on the target's validation episodes, the one kept
CREATE TEMP TABLE a1 AS SELECT xdrec.adapt('t', 'd1', 'drr') AS j;
SELECT j->'cold'->>'trained' AS trained, j->'cold'->>'start' IN ('source_as_is', 'from_source') AS start,
	   (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(j->'cold'->'candidates') k) AS candidates,
	   (j->'cold'->'candidates'->'source_as_is'->>'epochs')::int = 0 AS as_is_no_epoch,
	   (j->'cold'->'candidates'->'from_source'->>'epochs')::int > 0 AS trained_epochs,
	   (j->'cold'->>'users_with_two_rows')::int >= 20 AS enough_users,
	   (j->'cold'->>'seconds')::float8 > 0 AS costed
FROM a1;
-- option cold_min's default (10) compared the target's warm and cold paths
-- of its users with few rows; the version records the bound only when cold won
SELECT (j->'cold'->'cold_min'->>'rows')::int AS cold_min_default,
	   (j->'cold'->'cold_min'->>'path' = 'cold') = ((j->'cold'->'cold_min'->>'cold_hit10')::float8
		- (j->'cold'->'cold_min'->>'warm_hit10')::float8 > (j->'cold'->'cold_min'->>'hit10_se')::float8
		AND (j->'cold'->'cold_min'->>'ranked')::int >= 20) AS path_is_the_better,
	   (v.encoder->>'cold_min') IS NOT DISTINCT FROM
	   CASE WHEN j->'cold'->'cold_min'->>'path' = 'cold' THEN '10' END AS recorded
FROM a1 JOIN xdrec.version v ON v.id = (a1.j->>'version')::bigint;
-- stored with the target version, validated as the source's are
SELECT count(*) FILTER (WHERE tensor LIKE 'cold.%') > 0 AS cold_tensors,
	   count(*) FILTER (WHERE tensor = 'cold.prior.N') AS prior_table
FROM xdrec.weight WHERE chunk = 0 AND version_id = (SELECT (j->>'version')::bigint FROM a1);
-- ... its own: the prior's table counts the target's items, not the source's
SELECT (SELECT (encoder->>'n_items')::int FROM xdrec.version WHERE id = (SELECT (j->>'version')::bigint FROM a1)) AS target_items;

-- 2. a user inserted into the target after adapt is ranked from their rows
INSERT INTO tgen SELECT domain, 910001, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM tgen WHERE domain = 'd1' AND user_key = (SELECT min(user_key) FROM tgen WHERE domain = 'd1')
ORDER BY item_key, hour LIMIT 6;
CREATE TEMP TABLE cold AS
SELECT array_agg(item_key ORDER BY rank) AS items, array_agg(score ORDER BY rank) AS scores,
	   min(version) = (SELECT (j->>'version')::bigint FROM a1) AS target_version,
	   current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank('t', 910001, '{"hour": 12, "weekday": "fri"}', 5, domain => 'd1');
SELECT cardinality(items) AS ranked, target_version, served_as FROM cold;
-- the same rows as an anonymous history in the target rank identically
SELECT (SELECT array_agg(score ORDER BY rank) FROM xdrec.rank('t', NULL, '{"hour": 12, "weekday": "fri"}', 5,
		domain => 'd1', history => (SELECT jsonb_agg(jsonb_build_object('item', item_key, 'ctx',
			jsonb_build_object('hour', hour, 'weekday', weekday, 'rain', rain, 'spend', spend)))
			FROM tgen WHERE user_key = 910001))) = scores AS history_identical,
	   current_setting('xdrec.served_as') AS served_as
FROM cold;
-- rank_many with a trained target user (not held out; the most distinct
-- items, so warm whatever option cold_min decided) and the cold one
SELECT user_key AS warm_user FROM tgen WHERE domain = 'd1' AND user_key NOT BETWEEN 910000 AND 919999
	AND ((hashtextextended(user_key::text, 1) % 10000) + 10000) % 10000 >= 2500
GROUP BY user_key ORDER BY count(DISTINCT item_key) DESC, user_key LIMIT 1 \gset
SELECT array_agg(DISTINCT user_key ORDER BY user_key) = ARRAY[910001, :warm_user]::bigint[] AS both_users,
	   current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank_many('t', ARRAY[:warm_user, 910001], '{"hour": 12}', 3, domain => 'd1');

-- 3. evaluate(protocol => 'cold') on the target: its held-out users,
-- ranked with the target's module beside the heuristics
CREATE TEMP TABLE ev AS SELECT * FROM xdrec.evaluate('t', 'd1', protocol => 'cold', seed => 1);
SELECT method, bool_and(value BETWEEN 0 AND 1) AS in_range, min(n) > 0 AS queries
FROM ev WHERE metric = 'hit@10 k=5' GROUP BY method ORDER BY method;

-- 4. a target too small to cut episodes from: the source's module as is
CREATE TEMP TABLE a2 AS SELECT xdrec.adapt('t', 'd2', 'drr') AS j;
SELECT j->'cold'->>'trained' AS trained, j->'cold'->>'start' AS start,
	   j->'cold'->>'reason' LIKE 'the target is too small%' AS reason, j->'cold' ? 'candidates' AS candidates
FROM a2;
INSERT INTO tgen SELECT 'd2', 910002, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM tgen WHERE domain = 'd2' AND user_key = (SELECT min(user_key) FROM tgen WHERE domain = 'd2') LIMIT 4;
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank('t', 910002, '{"hour": 12}', 3, domain => 'd2');

-- 5. target-only: its own towers, where a fresh start is a candidate too
SELECT (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(j->'cold'->'candidates') k) AS candidates
FROM (SELECT xdrec.adapt('t', 'd1', 'target_only') AS j) x;
-- 910001 is trained now; another user inserted after it is cold
INSERT INTO tgen SELECT domain, 910003, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM tgen WHERE user_key = 910001;
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank('t', 910003, '{"hour": 12}', 3, domain => 'd1');

-- 6. option cold off: adapt trains no module, and a cold user of that
-- target is an error saying so (55000), as a history is (served whatever
-- its validation: without the module's prior table the repeating domain
-- has no popularity in context among its lifted items, docs/serving.md)
SELECT xdrec.alter_model('t', options => '{"cold": false}');
SELECT xdrec.adapt('t', 'd1', 'drr', deploy => 'always')->'cold' AS cold;
INSERT INTO tgen SELECT domain, 910004, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM tgen WHERE user_key = 910001;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('t', 910004, '{"hour": 12}', 3, domain => 'd1')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('t', NULL, '{"hour": 12}', 3, domain => 'd1', history => '[1]')$$);
-- the target served before keeps its module
SELECT count(*) AS ranked FROM xdrec.rank('t', 910002, '{"hour": 12}', 3, domain => 'd2');

-- 7. a source trained without a module gives its targets none, and says why
SELECT xdrec.train('t', 'd0', deploy => 'always')->'cold'->>'trained' AS source_trained;
SELECT xdrec.alter_model('t', options => '{"cold": true}');
SELECT xdrec.adapt('t', 'd2', 'drr')->'cold' AS cold;

DROP TABLE tgen;
DROP EXTENSION xdrec CASCADE;
