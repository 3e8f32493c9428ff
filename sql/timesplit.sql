-- The option time_col (docs/sql-reference.md, create_model): the internal
-- split follows time, the last 10% of a domain's interactions test and the
-- 10% before them validate, and xdrec.evaluate repeats the split the
-- version was trained with.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('tgen', '{"seed": 11, "domains": 2, "sizes": {"source": {"users": 80, "items": 40, "interactions": 2000}, "target": {"users": 30, "items": 20, "interactions": 300}}}') AS rows;
-- a time for each interaction, distinct, in an order unrelated to the keys
ALTER TABLE tgen ADD COLUMN ordered_at timestamptz, ADD COLUMN label text;
UPDATE tgen SET ordered_at = '2026-01-01'::timestamptz + x.k * interval '1 minute'
FROM (SELECT ctid AS c, row_number() OVER (ORDER BY md5(user_key || ':' || item_key || ':' || hour)) AS k FROM tgen) x
WHERE tgen.ctid = x.c;

-- the column must exist and hold times or numbers
SELECT pg_temp.try($$SELECT xdrec.create_model('t', 'tgen', 'user_key', 'item_key', 'domain', options => '{"time_col": "nope"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('t', 'tgen', 'user_key', 'item_key', 'domain', options => '{"time_col": "label"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('t', 'tgen', 'user_key', 'item_key', 'domain', options => '{"time_col": 3}')$$);
SELECT xdrec.create_model('t', 'tgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 2, "time_col": "ordered_at"}') > 0 AS created;

-- the split: the first 80% train, the last 10% test
SELECT count(*) AS d0_rows FROM tgen WHERE domain = 'd0' \gset
SELECT (j -> 'split' ->> 'train')::int = :d0_rows * 8 / 10 AS train_is_first_80,
       (j -> 'split' ->> 'test')::int = :d0_rows - :d0_rows * 9 / 10 AS test_is_last_10
FROM xdrec.train('t', 'd0') j;
SELECT encoder ->> 'time_col' AS time_col FROM xdrec.version;

-- evaluate measures the last 10%: the positives it counts are those rows
SELECT n + excluded = :d0_rows - :d0_rows * 9 / 10 AS last_10_evaluated
FROM xdrec.evaluate('t') WHERE method = 'train' AND metric = 'mrr';
-- ... the latest rows: held out explicitly, they rank the same (full ranking
-- has no sampled negatives, so the same positives give the same metric)
CREATE TEMP TABLE last_10 AS
SELECT * FROM tgen WHERE domain = 'd0' ORDER BY ordered_at DESC LIMIT :d0_rows - :d0_rows * 9 / 10;
SELECT abs(i.value - h.value) < 1e-9 AS same_rows, i.n = h.n AS same_n
FROM xdrec.evaluate('t', protocol => 'full') i, xdrec.evaluate('t', protocol => 'full', test => 'last_10') h
WHERE i.method = 'train' AND h.method = 'train' AND i.metric = 'mrr' AND h.metric = 'mrr';
-- and keeps the version's split when the model's option changes
SELECT xdrec.alter_model('t', options => '{"time_col": null}') ? 'time_col' AS still_set;
SELECT n + excluded = :d0_rows - :d0_rows * 9 / 10 AS same_split
FROM xdrec.evaluate('t') WHERE method = 'train' AND metric = 'mrr';
-- retrained without it, the split is the hash's again
SELECT (j -> 'split' ->> 'train')::int <> :d0_rows * 8 / 10 AS hashed
FROM xdrec.train('t', deploy => 'always') j;

SELECT xdrec.drop_model('t');
DROP TABLE tgen;
DROP EXTENSION xdrec;
