-- Serving at speed (docs/serving.md): the item-tower output cache, rank_many,
-- exclude_seen from the cached version, cache statistics. Three models on one
-- generated table: "si" with user- and item-scoped features (explicit, so
-- xdrec.predict gives the reference path's scores), "su" with a user-scoped
-- feature (explicit) and "sp" with interaction-scoped features only
-- (implicit). Batches of 64 positives: the core works on 192 rows at a time,
-- so the few hundred items take several batches.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

SELECT xdrec.generate('sgen', '{"seed": 5, "domains": 2, "explicit": true, "sizes": {"source": {"users": 40, "items": 900, "interactions": 2500}, "target": {"users": 15, "items": 30, "interactions": 150}}}') AS rows;
SELECT xdrec.create_model('si', 'sgen', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 1, "seed": 1, "batch_size": 64, "feedback": "explicit"}') > 0 AS si;
SELECT xdrec.create_model('su', 'sgen', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => (SELECT jsonb_agg(f) FROM jsonb_array_elements(xdrec.generated_features()) f
				 WHERE f->>'scope' IS DISTINCT FROM 'item'),
	options => '{"d": 8, "epochs": 1, "seed": 1, "batch_size": 64, "feedback": "explicit"}') > 0 AS su;
SELECT xdrec.create_model('sp', 'sgen', 'user_key', 'item_key', 'domain',
	features => (SELECT jsonb_agg(f) FROM jsonb_array_elements(xdrec.generated_features()) f
				 WHERE f->>'scope' IS NULL),
	options => '{"d": 8, "epochs": 1, "seed": 1, "batch_size": 64}') > 0 AS sp;
SELECT m, (xdrec.train(m, 'd0')->>'version') IS NOT NULL AS trained
FROM unnest(ARRAY['si', 'su', 'sp']) m;

-- contexts and users to rank
CREATE TEMP TABLE ctxs AS
SELECT i, jsonb_build_object('hour', 3 * i, 'weekday', (ARRAY['mon','fri','sun'])[1 + i % 3], 'rain', i % 2 = 0) AS ctx
FROM generate_series(1, 4) i;
CREATE TEMP TABLE usrs AS SELECT DISTINCT user_key FROM sgen WHERE domain = 'd0' ORDER BY 1 LIMIT 12;

-- rank of every (model, context, user), each score and item in rank order
CREATE FUNCTION pg_temp.ranks(model text) RETURNS TABLE(i int, user_key bigint, items bigint[], scores real[])
LANGUAGE sql AS $$
	SELECT c.i, u.user_key, array_agg(r.item_key ORDER BY r.rank), array_agg(r.score ORDER BY r.rank)
	FROM ctxs c, usrs u, LATERAL xdrec.rank(model, u.user_key, c.ctx, 20) r
	GROUP BY 1, 2
$$;

-- 1. uncached (the cache off), then a miss, then a hit: the same bits, as the
-- three compute the same item outputs with the same products
SET xdrec.item_cache_memory = 0;
CREATE TEMP TABLE uncached AS SELECT m, r.* FROM unnest(ARRAY['si', 'su', 'sp']) m, pg_temp.ranks(m) r;
RESET xdrec.item_cache_memory;
CREATE TEMP TABLE stats0 AS SELECT * FROM xdrec.cache_stats;
CREATE TEMP TABLE miss AS SELECT m, r.* FROM unnest(ARRAY['si', 'su', 'sp']) m, pg_temp.ranks(m) r;
CREATE TEMP TABLE stats1 AS SELECT * FROM xdrec.cache_stats;
CREATE TEMP TABLE hit AS SELECT m, r.* FROM unnest(ARRAY['si', 'su', 'sp']) m, pg_temp.ranks(m) r;
SELECT m, count(*) AS lists,
       bool_and(u.items = x.items AND u.scores = x.scores) AS miss_identical,
       bool_and(u.items = h.items AND u.scores = h.scores) AS hit_identical,
       bool_and(cardinality(u.items) = 20) AS full_lists
FROM uncached u JOIN miss x USING (m, i, user_key) JOIN hit h USING (m, i, user_key)
GROUP BY m ORDER BY m;
-- with the cache off every call missed and kept nothing; then "sp" missed
-- once per context (4) and hit for the other users, while "si" and "su"
-- have a user-scoped feature, so each user profile is its own context; the
-- second round only hit
SELECT s0.model, s0.misses AS uncached_misses, s0.contexts AS kept,
       s1.misses - s0.misses AS misses, s1.hits - s0.hits AS hits,
       s1.contexts = s1.misses - s0.misses AS one_entry_per_miss, s1.context_bytes > 0 AS has_bytes,
       s2.misses = s1.misses AS no_new_misses, s2.hits - s1.hits AS second_round_hits
FROM stats0 s0 JOIN stats1 s1 USING (model, version) JOIN xdrec.cache_stats s2 USING (model, version)
ORDER BY 1;

-- the same lists and scores, bit for bit, with the activations 4 lanes wide
-- (xdrec.simd_lanes; the default is the widest this CPU runs)
SET xdrec.item_cache_memory = 0;
SET xdrec.simd_lanes = 4;
CREATE TEMP TABLE narrow AS SELECT m, r.* FROM unnest(ARRAY['si', 'su', 'sp']) m, pg_temp.ranks(m) r;
RESET xdrec.simd_lanes;
RESET xdrec.item_cache_memory;
SELECT count(*) AS lists, bool_and(u.items = n.items AND u.scores = n.scores) AS lanes_identical
FROM uncached u JOIN narrow n USING (m, i, user_key);

-- 2. the reference path: xdrec.predict scores one row with the core's full
-- forward pass (item-scoped features) or one context per item; the cached
-- path sums in another order (a batch sgemm), so within 1e-5 relative
SELECT h.m, count(*) AS pairs,
       bool_and(abs(s.score - xdrec.predict(h.m, h.user_key, s.item, c.ctx)) <= 1e-5 * greatest(1, abs(s.score))) AS equals_reference
FROM hit h JOIN ctxs c USING (i), unnest(h.items, h.scores) s(item, score)
WHERE h.m IN ('si', 'su') GROUP BY h.m ORDER BY h.m;

-- 3. rank_many equals rank for each user (a repeated user too), in both key
-- forms: the same items, scores within 1e-5 (a group is one sgemm, a single
-- user one sgemv, and the two sum in another order)
CREATE FUNCTION pg_temp.many_vs_rank(model text, c jsonb) RETURNS TABLE(rows bigint, same bool, ordered bool)
LANGUAGE sql AS $$
	WITH many AS (
		SELECT row_number() OVER () AS n, * FROM xdrec.rank_many(model,
			(SELECT array_agg(user_key ORDER BY user_key DESC) || ARRAY[(SELECT max(user_key) FROM usrs)] FROM usrs), c, 7)),
	one AS (
		SELECT u.user_key, r.* FROM usrs u, xdrec.rank(model, u.user_key, c, 7) r)
	SELECT count(*),
		   bool_and(o.item_key = m.item_key AND abs(o.score - m.score) <= 1e-5 * greatest(1, abs(o.score))
					AND o.version = m.version),
		   bool_and(m.n = 1 OR m.user_key <> lag_user OR m.rank = lag_rank + 1)
	FROM (SELECT *, lag(user_key) OVER (ORDER BY n) AS lag_user, lag(rank) OVER (ORDER BY n) AS lag_rank FROM many) m
	JOIN one o USING (user_key, rank)
$$;
SELECT m, c.i, r.* FROM unnest(ARRAY['si', 'su', 'sp']) m, ctxs c, pg_temp.many_vs_rank(m, c.ctx) r
WHERE c.i IN (1, 4) ORDER BY 1, 2;
SELECT (SELECT array_agg(item_key::bigint ORDER BY rank) FROM xdrec.rank_many('sp', ARRAY['3'], '{"hour": 5}', 5)) =
       (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('sp', 3, '{"hour": 5}', 5)) AS text_form_agrees;
SELECT count(*) AS rows FROM xdrec.rank_many('sp', '{}'::bigint[], '{}', 5);
-- one user group for "sp" (one context): one miss, whatever the number of users
SELECT misses AS before FROM xdrec.cache_stats WHERE model = 'sp' \gset
SELECT count(*) AS rows FROM xdrec.rank_many('sp', (SELECT array_agg(user_key) FROM usrs), '{"hour": 23}', 3);
SELECT misses - :before AS new_misses FROM xdrec.cache_stats WHERE model = 'sp';

-- 4. stats: a new context is a miss, its repeat a hit
SELECT hits AS h0, misses AS m0 FROM xdrec.cache_stats WHERE model = 'sp' \gset
SELECT count(*) FROM xdrec.rank('sp', 3, '{"hour": 17, "rain": true}', 5);
SELECT hits - :h0 AS hits, misses - :m0 AS misses FROM xdrec.cache_stats WHERE model = 'sp';
SELECT count(*) FROM xdrec.rank('sp', 3, '{"hour": 17, "rain": true}', 5);
SELECT hits - :h0 AS hits, misses - :m0 AS misses FROM xdrec.cache_stats WHERE model = 'sp';

-- 5. a tiny cache evicts (at most one entry of "sp" fits in 40kB) and stays
-- correct; the uncached results are the reference
SET xdrec.item_cache_memory = '40kB';
CREATE TEMP TABLE tiny AS SELECT 'sp'::text AS m, r.* FROM pg_temp.ranks('sp') r;
INSERT INTO tiny SELECT 'sp', r.* FROM pg_temp.ranks('sp') r;
SELECT count(*) AS lists, bool_and(u.items = t.items AND u.scores = t.scores) AS identical
FROM tiny t JOIN uncached u USING (m, i, user_key);
SELECT sum(contexts) AS contexts, sum(context_bytes) <= 40 * 1024 AS within_budget
FROM xdrec.cache_stats;
-- "si" entries are larger than the budget: computed per call, never kept
SELECT count(*) FROM xdrec.rank('si', 3, '{"hour": 2}', 5);
SELECT contexts FROM xdrec.cache_stats WHERE model = 'si';
RESET xdrec.item_cache_memory;

-- 6. exclude_seen and candidates come from the cached version: with the
-- interactions gone, ranking is unchanged
CREATE TEMP TABLE before AS
SELECT u.user_key, array_agg(r.item_key ORDER BY r.rank) AS items
FROM usrs u, xdrec.rank('sp', u.user_key, '{"hour": 8}', 900) r GROUP BY 1;
-- exclude_seen => false adds back items the user interacted with, only those
SELECT count(*) > 0 AS added, bool_and(EXISTS (SELECT 1 FROM sgen g WHERE g.domain = 'd0'
                                                AND g.user_key = x.user_key AND g.item_key = x.item_key)) AS all_seen
FROM (SELECT u.user_key, r.item_key FROM usrs u, xdrec.rank('sp', u.user_key, '{"hour": 8}', 900, exclude_seen => false) r
      EXCEPT SELECT b.user_key, unnest(b.items) FROM before b) x;
BEGIN;
DELETE FROM sgen;
SELECT bool_and(b.items = (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('sp', b.user_key, '{"hour": 8}', 900)))
       AS unchanged
FROM before b;
ROLLBACK;
CREATE TEMP TABLE cands AS
SELECT array_agg(item_key) || 99999::bigint AS items
FROM (SELECT DISTINCT item_key FROM sgen WHERE domain = 'd0' ORDER BY 1 LIMIT 3) x;
SELECT count(*) AS n, bool_and(item_key = ANY (c.items)) AS only_candidates
FROM cands c, xdrec.rank('sp', 3, '{"hour": 8}', 10, exclude_seen => false, candidates => c.items);

-- a weights cache that holds one version but not two, in a new session (an
-- empty cache): finding a user walks every domain's version, and loading a
-- later domain's evicts the one the user was found in; the answer must still
-- be the roomy cache's
SELECT (xdrec.adapt('sp', 'd1', 'direct')->>'version') IS NOT NULL AS adapted;
CREATE TABLE roomy AS
SELECT u.domain, u.user_key, r.*
FROM (SELECT domain, min(user_key) AS user_key FROM sgen GROUP BY domain) u,
	 LATERAL xdrec.rank('sp', u.user_key, '{"hour": 8}', 5) r;
SELECT max(s.version_bytes) + min(s.version_bytes) / 2 AS one_not_two, min(s.version_bytes) AS smallest
FROM xdrec.cache_stats s JOIN xdrec.domains d ON d.model = s.model AND d.served_version = s.version
WHERE s.model = 'sp' \gset
\c
SELECT set_config('xdrec.cache_memory', (:one_not_two / 1024) || 'kB', false) IS NOT NULL AS one_fits;
SELECT o.domain, count(*) AS n, bool_and(r.item_key = o.item_key AND r.score = o.score) AS same
FROM (SELECT DISTINCT domain, user_key FROM roomy) u
CROSS JOIN LATERAL xdrec.rank('sp', u.user_key, '{"hour": 8}', 5) r
JOIN roomy o ON o.domain = u.domain AND o.rank = r.rank
GROUP BY o.domain ORDER BY o.domain;
SELECT count(*) AS cached FROM xdrec.cache_stats WHERE model = 'sp';
-- a version larger than the whole cache is refused before it is read
\c
\i sql/include/try.sql
SELECT set_config('xdrec.cache_memory', (:smallest / 2048) || 'kB', false) IS NOT NULL AS none_fits;
SELECT regexp_replace(regexp_replace(pg_temp.try($$SELECT * FROM xdrec.rank('sp', 3, '{}', 5)$$),
	'version \d+', 'version N'), '\(\d+kB\)', '(budget)') AS too_big;
RESET xdrec.cache_memory;
DROP TABLE roomy;


-- errors
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3, NULL], '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', NULL::bigint[], '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3], '{}', 0)$$);
-- a user with neither an embedding nor rows is left out by default
-- (on_unknown => 'cold'), and fails the call with on_unknown => 'error'
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3, 424242], '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3, 424242], '{}', 5, on_unknown => 'error')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3], '{"minute": 1}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('nope', ARRAY[3], '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sp', ARRAY[3], '{}', 5, domain => 'd9')$$);
SET xdrec.item_cache_memory = -1;

SELECT count(xdrec.drop_model(m)) AS dropped FROM unnest(ARRAY['si', 'su', 'sp']) m;
-- a dropped model's versions stay cached until evicted, but the view shows
-- only models the caller can see
SELECT count(*) AS visible FROM xdrec.cache_stats;
DROP TABLE sgen;
DROP EXTENSION xdrec;
