-- Popularity in context among the user's own lifted items
-- (docs/serving.md#repeats): with repeat "lift", train chooses on validation
-- a weight w (0 = the lift alone) and serving adds w log(1 + the item's
-- training rows in the context) to the user's own items, read from the cold
-- module's context prior; the version records it as its encoder's
-- "repeat_pop" (absent: no term, as every version before it). Item 1 is
-- chosen in context x, item 2 in y, by every user, beside each user's own
-- items: with a large weight the user's own items follow the context's
-- popularity. A recorded weight that is not one is refused with XX001.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;
\i sql/include/try.sql

CREATE TABLE rp AS
SELECT u AS user_key, r.i AS item_key, 'd0'::text AS domain, r.c AS ctx
FROM generate_series(1, 80) u,
LATERAL (VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, 'y'), (2, 'y'), (2, 'y'),
				(3 + u % 10, 'x'), (3 + u % 10, 'y'), (13 + (u * 7) % 10, 'y'), (13 + (u * 7) % 10, 'x')) r(i, c);
SELECT xdrec.create_model('rp', 'rp', 'user_key', 'item_key', 'domain',
	features => '[{"name": "ctx", "column": "ctx", "kind": "interactional", "type": "categorical"}]',
	options => '{"d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "repeat": "lift", "exclude_seen": "never"}') > 0 AS created;
SELECT xdrec.train('rp', 'd0') AS run \gset
SELECT (:'run'::jsonb->>'version')::bigint AS v \gset
-- the summary records each weight's validation MRR, its MRR among the
-- item's other contexts, the sampled protocol's MRR expected from the two
-- with the s.e. of its paired difference from weight 0's, and the one
-- kept: the best MRR among the weights whose expected sampled MRR is not
-- below weight 0's by more than that s.e.; the version records a kept
-- weight above 0, nothing otherwise
SELECT :'run'::jsonb->'repeat_pop' AS rp \gset
SELECT (:'rp'::jsonb->>'n')::int > 0 AS calibrated,
       (SELECT count(*) FROM jsonb_object_keys(:'rp'::jsonb->'valid_mrr')) AS weights_tried,
       (SELECT count(*) FROM jsonb_object_keys(:'rp'::jsonb->'valid_ctx_mrr')) AS contexts_ranked,
       (SELECT count(*) FROM jsonb_object_keys(:'rp'::jsonb->'valid_sampled_mrr')) AS sampled_expected,
       (:'rp'::jsonb->>'weight')::float8 IN (0, 0.25, 0.5, 1, 2, 4, 8, 1000) AS weight_from_the_ladder,
       (:'rp'::jsonb->'valid_mrr'->>(:'rp'::jsonb->>'weight'))::float8 >=
       (SELECT max((:'rp'::jsonb->'valid_mrr'->>w)::float8) FROM jsonb_object_keys(:'rp'::jsonb->'valid_mrr') w
        WHERE w = '0' OR (:'rp'::jsonb->'valid_sampled_mrr'->>w)::float8 - (:'rp'::jsonb->'valid_sampled_mrr'->>'0')::float8
              >= -(:'rp'::jsonb->'valid_sampled_se'->>w)::float8 + 1e-5) AS kept_the_best,
       coalesce((encoder->>'repeat_pop')::float8, 0) = (:'rp'::jsonb->>'weight')::float8 AS recorded
FROM xdrec.version WHERE id = :v;

CREATE TABLE saved AS SELECT encoder FROM xdrec.version WHERE id = :v;
CREATE FUNCTION tamper(e jsonb) RETURNS text LANGUAGE sql AS $$
	UPDATE xdrec.version SET encoder = e
	WHERE id = (SELECT served_version FROM xdrec.domain WHERE domain = 'd0'
				AND model_id = (SELECT id FROM xdrec.model WHERE name = 'rp'));
	SELECT 'tampered'
$$;
CREATE FUNCTION probe() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM xdrec.rank('rp', 1, '{"ctx": "x"}', 5);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g');
END $$;
-- user 1's own items 1, 2, 4 and 20, ranked in context x and y (each in a
-- new session: the version read again): without the weight
SELECT tamper(encoder - 'repeat_pop') FROM saved;
\c
CREATE TABLE r0 AS
SELECT c, item_key, rank, score FROM (VALUES ('x'), ('y')) v(c),
	LATERAL xdrec.rank('rp', 1, jsonb_build_object('ctx', c), 4);
SELECT c, bool_and(item_key IN (1, 2, 4, 20)) AS own_first FROM r0 GROUP BY c ORDER BY c;
-- with a weight of 1000, popularity in the context decides among them: item
-- 1 first in x, item 2 in y, in rank and rank_many alike
SELECT tamper(encoder || '{"repeat_pop": 1000}') FROM saved;
\c
SELECT c, array_agg(item_key ORDER BY rank) FILTER (WHERE rank = 1) AS first,
       bool_and(item_key IN (1, 2, 4, 20)) AS own_first
FROM (VALUES ('x'), ('y')) v(c), LATERAL xdrec.rank('rp', 1, jsonb_build_object('ctx', c), 4)
GROUP BY c ORDER BY c;
SELECT c, (SELECT item_key FROM xdrec.rank_many('rp', ARRAY[1, 2]::bigint[], jsonb_build_object('ctx', c), 4)
		   WHERE user_key = 1 AND rank = 1) AS many_first
FROM (VALUES ('x'), ('y')) v(c) ORDER BY c;
-- the weight absent again: ranked as before it, score for score
SELECT tamper(encoder - 'repeat_pop') FROM saved;
\c
SELECT count(*) AS same_as_before
FROM r0 JOIN LATERAL xdrec.rank('rp', 1, jsonb_build_object('ctx', r0.c), 4) r
	ON r.rank = r0.rank AND r.item_key = r0.item_key AND r.score = r0.score;
-- recorded weights that are not one: negative, beyond a float, not a number
SELECT tamper(encoder || '{"repeat_pop": -1}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder || '{"repeat_pop": 1e39}') FROM saved;
\c
SELECT probe(), 1 AS alive;
-- ... a float above the ladder's top (1000), which made the term infinite
-- (3e38 times log(1 + a count): every own item of user 1 scored Infinity)
SELECT tamper(encoder || '{"repeat_pop": 3e38}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder || '{"repeat_pop": "heavy"}') FROM saved;
\c
SELECT probe(), 1 AS alive;
-- ... or a weight on a model whose term is learned, not a lift
SELECT tamper(jsonb_set(encoder, '{config,repeat}', 'true') || '{"repeat_pop": 1}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder) FROM saved;
\c
SELECT probe(), 1 AS alive;


-- Popularity in context on EVERY item (option context_popularity, default
-- 1; docs/serving.md): serving adds w log(1 + the item's training rows in
-- the context) to every item's score, the user's own or not, after every
-- choice made on validation; the version records it as "context_popularity"
-- and the summary says so. User 1 in context x, every item, with and without
-- it: item 1 (chosen in x by everyone) gains more than 4 (log(1 + about 190
-- training rows)), item 2 (never in x) nothing, and items user 1 never had
-- gain too; rank_many adds the same. (User 1 has 4 items, fewer than
-- cold_min: the version records the cold path for such users, which reads
-- the prior through the cold module instead; without "cold_min" user 1 is
-- ranked warm.)
SELECT (:'run'::jsonb->'context_popularity'->>'weight')::float8 AS summary_weight,
       (encoder->>'context_popularity')::float8 AS recorded
FROM xdrec.version WHERE id = :v;
SELECT tamper(encoder - 'cold_min') FROM saved;
\c
CREATE TABLE p1 AS SELECT item_key, score FROM xdrec.rank('rp', 1, '{"ctx": "x"}', 30);
SELECT current_setting('xdrec.served_as') AS served_as;
CREATE TABLE pm AS SELECT item_key, score FROM xdrec.rank_many('rp', ARRAY[1]::bigint[], '{"ctx": "x"}', 30);
SELECT tamper(encoder - 'cold_min' - 'context_popularity') FROM saved;
\c
CREATE TABLE p0 AS SELECT item_key, score FROM xdrec.rank('rp', 1, '{"ctx": "x"}', 30);
SELECT count(*) AS items, bool_and(p1.score - p0.score >= -1e-4) AS none_lower,
       bool_or(p1.item_key = 1 AND p1.score - p0.score > 4) AS popular_item_gains,
       bool_or(p1.item_key = 2 AND abs(p1.score - p0.score) < 1e-4) AS item_never_in_x_does_not,
       bool_or(p1.item_key NOT IN (1, 2, 4, 20) AND p1.score - p0.score > 0.5) AS other_items_gain,
       bool_and(abs(pm.score - p1.score) < 1e-4) AS rank_many_same
FROM p1 JOIN p0 USING (item_key) JOIN pm USING (item_key);
-- recorded weights that are not one: negative, above 1000, not a number
SELECT tamper(encoder || '{"context_popularity": -1}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder || '{"context_popularity": 1001}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder || '{"context_popularity": "lots"}') FROM saved;
\c
SELECT probe(), 1 AS alive;
SELECT tamper(encoder) FROM saved;
\c
-- option 0 turns it off: the summary says why, the version records nothing
SELECT xdrec.alter_model('rp', options => '{"d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "repeat": "lift", "exclude_seen": "never", "context_popularity": 0}') IS NOT NULL AS altered;
SELECT xdrec.train('rp', 'd0') AS off_run \gset
SELECT :'off_run'::jsonb->'context_popularity' AS off, encoder ? 'context_popularity' AS recorded
FROM xdrec.version WHERE id = (:'off_run'::jsonb->>'version')::bigint;
\i sql/include/try.sql
SELECT pg_temp.try($$SELECT xdrec.alter_model('rp', options => '{"context_popularity": -1}')$$);

SET client_min_messages = warning;
DROP TABLE rp, saved, r0, p0, p1, pm;
DROP FUNCTION tamper(jsonb), probe();
DROP EXTENSION xdrec CASCADE;
