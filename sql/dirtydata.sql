-- Dirty interaction data (DESIGN section 2, docs/training.md): rows with a
-- NULL key, a NULL or non-finite rating, or a NaN or infinite numeric value
-- are skipped and counted in the training summary; a key whose every row is
-- skipped is unknown to the model; NULL context values are missing values;
-- duplicate rows are kept as repeated interactions unless "dedup" is on.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

SELECT xdrec.generate('clean', '{"seed": 9, "domains": 1, "sizes": {"source": {"users": 60, "items": 30, "interactions": 1500}}}') AS rows;
-- hour as double precision, so values beyond float4 can be stored
CREATE TABLE dirty AS
SELECT domain, user_key, item_key, hour::float8 AS hour, weekday, rain, spend, price, cuisine FROM clean;
INSERT INTO dirty (domain, user_key, item_key, hour) VALUES
	('d0', NULL, 1, 1), ('d0', NULL, 2, 2),
	('d0', 3, NULL, 1), ('d0', 4, NULL, 2),
	(NULL, 1, 1, 1), (NULL, 2, 2, 2), (NULL, 3, 3, 3);
-- user 999999's only rows are non-finite: it must not become a user
INSERT INTO dirty (domain, user_key, item_key, hour, spend) VALUES
	('d0', 999999, 1, 'NaN', 1), ('d0', 999999, 2, 'Infinity', 1), ('d0', 999999, 3, '-Infinity', 1),
	('d0', 999999, 4, 1e39, 1), ('d0', 999999, 5, 1, 'NaN');
-- NULL context values are missing values: used
INSERT INTO dirty (domain, user_key, item_key) SELECT 'd0', user_key, item_key FROM clean ORDER BY user_key, item_key LIMIT 5;
-- a categorical 'NaN' is just a value: used
INSERT INTO dirty (domain, user_key, item_key, hour, weekday) VALUES ('d0', 0, 1, 3, 'NaN');
-- 40 copies of one interaction
INSERT INTO dirty SELECT d.* FROM (SELECT * FROM dirty WHERE user_key = 7 ORDER BY item_key, hour LIMIT 1) d, generate_series(1, 40);

SELECT xdrec.create_model('dirty', 'dirty', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 1}') > 0 AS created;
CREATE TEMP TABLE s AS SELECT xdrec.train('dirty', 'd0') AS j;
SELECT j->'rows_read' AS rows_read, j->'rows_used' AS rows_used, j->'rows_skipped' AS skipped,
	   j->'users' AS users, j->'items' AS items FROM s;
-- every row read is used or skipped for a reason (rows without a domain are not read)
SELECT (j->>'rows_read')::int = (j->>'rows_used')::int + (j->'rows_skipped'->>'null_user')::int
	   + (j->'rows_skipped'->>'null_item')::int + (j->'rows_skipped'->>'non_finite')::int AS accounted,
	   (j->>'rows_read')::int = (SELECT count(*) FROM dirty WHERE domain = 'd0') AS read_all,
	   (j->>'rows_used')::int = 1500 + 5 + 1 + 40 AS used_clean_missing_nan_and_copies,
	   (j->>'users')::int = (SELECT count(DISTINCT user_key) FROM clean) AS no_extra_user
FROM s;
-- the user whose every row was skipped is unknown; the others rank
SELECT count(*) AS ranked FROM xdrec.rank('dirty', 7, '{}', 5);
\set VERBOSITY terse
SELECT * FROM xdrec.rank('dirty', 999999, '{}', 5);
\set VERBOSITY default

-- "dedup": the copies collapse to one (a duplicate of a clean row too)
SELECT xdrec.create_model('dedup', 'dirty', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 1, "dedup": true}') > 0 AS created;
SELECT (t.j->>'rows_used')::int = (SELECT count(*) FROM (SELECT DISTINCT * FROM dirty) d
								 WHERE domain = 'd0' AND user_key IS NOT NULL AND item_key IS NOT NULL
								   AND user_key <> 999999) AS distinct_rows_used,
	   (t.j->>'rows_used')::int < (s.j->>'rows_used')::int - 39 AS copies_dropped
FROM (SELECT xdrec.train('dedup', 'd0') AS j) t, s;

-- explicit feedback: NULL ratings and non-finite ratings are skipped and counted
SELECT xdrec.generate('clean_ex', '{"seed": 5, "domains": 1, "explicit": true, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}}}') AS rows;
INSERT INTO clean_ex (domain, user_key, item_key, rating, hour) VALUES
	('d0', 1, 1, NULL, 1), ('d0', 2, 2, NULL, 2),
	('d0', 3, 3, 'NaN', 1), ('d0', 4, 4, 'Infinity', 1), ('d0', 5, 5, '-Infinity', 1);
SELECT xdrec.create_model('dirty_ex', 'clean_ex', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(), options => '{"feedback": "explicit", "d": 8, "epochs": 1}') > 0 AS created;
SELECT j->'rows_read' AS rows_read, j->'rows_used' AS rows_used, j->'rows_skipped' AS skipped
FROM (SELECT xdrec.train('dirty_ex', 'd0') AS j) t;

SELECT xdrec.drop_model(name) FROM xdrec.models ORDER BY name;
DROP TABLE clean, dirty, clean_ex;
DROP EXTENSION xdrec;
