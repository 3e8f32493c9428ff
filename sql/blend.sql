-- auto's blend (docs/transfer.md, "The blend of target-only and a transfer";
-- docs/architecture.md, "Blend versions"): on a target of auto_small_rows
-- training rows or more where auto keeps target-only, adapt stores the pair
-- (a version of method 'blend' holding target-only's fit, naming the DRR
-- version it blends with) and serves s = 0.5 s_target_only + 0.5 s_drr.
-- Here auto_margin 100 makes auto keep target-only and auto_small_rows 100
-- makes the target large, so the test is cheap; a tampered pair is refused
-- with XX001 and the backend serves on. No raw floats: BLAS kernels differ.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('bgen', '{"seed": 5, "domains": 2, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 50, "items": 30, "interactions": 600}}}') AS rows;
SELECT xdrec.create_model('b', 'bgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "auto_margin": 100, "auto_small_rows": 100, "cold_min": 0}') AS model_id;
SELECT (xdrec.train('b', 'd0')->>'version')::bigint AS src \gset

-- auto keeps target-only on a large target: the blend, and why
SELECT xdrec.adapt('b', 'd1', 'auto') AS j \gset
SELECT (:'j'::jsonb)->>'method' AS method, (:'j'::jsonb)->>'requested' AS requested,
       (:'j'::jsonb)->'blend'->>'first' AS first, (:'j'::jsonb)->'blend'->>'second' AS second,
       (:'j'::jsonb)->'blend'->>'a' AS a,
       (:'j'::jsonb)->'blend'->>'reason' ~ '^auto: blend of target_only and drr, a = 0.5, because auto kept target_only' AS reason_ok,
       ((:'j'::jsonb)->'test'->>'mrr')::float8 BETWEEN 0 AND 1 AS mrr_ok;
-- an implicit target: auto fitted all three candidates
SELECT (:'j'::jsonb)->'auto_fitted' AS fitted,
       (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys((:'j'::jsonb)->'candidates') k) AS candidates;
SELECT ((:'j'::jsonb)->>'version')::bigint AS blend, ((:'j'::jsonb)->'blend'->>'second_version')::bigint AS drr \gset
-- two versions: the blend (served, target-only's whole model) and its DRR
-- version (never served by itself, the source's modules)
SELECT v.id = :blend AS is_blend, v.method, v.pins_shared_version = :src AS pins_source,
       d.served_version = v.id AS served,
       count(w.*) FILTER (WHERE w.tensor ~ '^(ctx|clu|rank)\.') > 0 AS own_modules,
       count(w.*) FILTER (WHERE w.tensor ~ '^res\.') > 0 AS residuals,
       (v.encoder->'blend'->>'second')::bigint = :drr AS names_drr
FROM xdrec.version v JOIN xdrec.domain d ON d.model_id = v.model_id AND d.domain = v.domain
LEFT JOIN xdrec.weight w ON w.version_id = v.id
WHERE v.id IN (:blend, :drr) GROUP BY v.id, v.method, v.pins_shared_version, d.served_version, v.encoder
ORDER BY v.id;
-- the version keeps how it is served and why
SELECT metrics->'blend'->>'reason' = (:'j'::jsonb)->'blend'->>'reason' AS kept_reason,
       (metrics->'valid'->>'mrr')::float8 = ((:'j'::jsonb)->'blend'->>'valid')::float8 AS valid_is_blends
FROM xdrec.version WHERE id = :blend;
SELECT u AS usr FROM (SELECT min(user_key) AS u FROM bgen WHERE domain = 'd1') x \gset

-- the blend's scores are 0.5 target-only's + 0.5 DRR's: the DRR version
-- served alone, and target-only fitted again (same seed, same fit)
CREATE TEMP TABLE s_blend AS SELECT item_key, score FROM xdrec.rank('b', :usr, '{}', 30, exclude_seen => false);
CREATE TEMP TABLE s_many AS SELECT item_key, score FROM xdrec.rank_many('b', ARRAY[:usr]::bigint[], '{}', 30, exclude_seen => false);
CREATE TEMP TABLE s_eval AS SELECT method, metric, value FROM xdrec.evaluate('b', 'd1');
-- rank_many scores the blend in batches (both fits' matrix products, mixed):
-- every user of the target, seen items left out and kept, rank's scores
CREATE TEMP TABLE d1_users AS SELECT DISTINCT user_key FROM bgen WHERE domain = 'd1';
WITH x(exclude_seen) AS (VALUES (true), (false)),
many AS (SELECT x.exclude_seen, m.* FROM x,
         LATERAL xdrec.rank_many('b', (SELECT array_agg(user_key) FROM d1_users), '{}', 30,
                                 exclude_seen => x.exclude_seen) m),
one AS (SELECT x.exclude_seen, u.user_key, r.item_key, r.score FROM x CROSS JOIN d1_users u,
        LATERAL xdrec.rank('b', u.user_key, '{}', 30, exclude_seen => x.exclude_seen) r)
SELECT o.exclude_seen, count(*) AS pairs, count(m.score) = count(*) AS all_in_rank_many,
       (SELECT count(*) FROM many WHERE many.exclude_seen = o.exclude_seen) = count(*) AS no_more,
       max(abs(m.score - o.score)) < 1e-5 AS rank_many_is_rank,
       bool_and(m.version = :blend) AS served_blend
FROM one o LEFT JOIN many m USING (exclude_seen, user_key, item_key)
GROUP BY o.exclude_seen ORDER BY o.exclude_seen;
SELECT xdrec.deploy('b', 'd1', :drr) = :blend AS was_blend;
CREATE TEMP TABLE s_drr AS SELECT item_key, score FROM xdrec.rank('b', :usr, '{}', 30, exclude_seen => false);
SELECT (xdrec.adapt('b', 'd1', 'target_only', deploy => 'always')->>'version')::bigint AS tonly \gset
CREATE TEMP TABLE s_to AS SELECT item_key, score FROM xdrec.rank('b', :usr, '{}', 30, exclude_seen => false);
SELECT count(*) AS items, bool_and(abs(b.score - (0.5 * t.score + 0.5 * d.score)) < 1e-5) AS blended,
       bool_or(abs(t.score - d.score) > 1e-3) AS fits_differ,
       bool_and(abs(m.score - b.score) < 1e-6) AS rank_many_same
FROM s_blend b JOIN s_drr d USING (item_key) JOIN s_to t USING (item_key) JOIN s_many m USING (item_key);
-- evaluate measures what is served, the blend
SELECT method, value BETWEEN 0 AND 1 AS mrr_ok FROM s_eval WHERE metric = 'mrr' ORDER BY method;
SELECT xdrec.deploy('b', 'd1', :blend) = :tonly AS was_target_only;
SELECT count(*) AS again FROM xdrec.rank('b', :usr, '{}', 5);
SELECT bool_or(s.version = :blend) AS cached_blend, bool_and(s.version_bytes > 0) AS bytes
FROM xdrec.cache_stats s WHERE s.model = 'b';

-- keep_versions never prunes a kept blend's DRR version, and prunes a
-- pruned blend's with it
SELECT xdrec.alter_model('b', options => '{"keep_versions": 1}') IS NOT NULL AS altered;
SELECT (xdrec.adapt('b', 'd1', 'auto', deploy => 'always')->>'version')::bigint AS blend2 \gset
SELECT method, count(*) FROM xdrec.version WHERE model_id = (SELECT id FROM xdrec.model WHERE name = 'b') AND domain = 'd1'
GROUP BY method ORDER BY method;
SELECT xdrec.alter_model('b', options => '{"keep_versions": null}') IS NOT NULL AS altered;

-- adapt_all says why
SELECT domain, outcome, reason ~ '^auto: blend of target_only and drr' AS reason_ok
FROM xdrec.adapt_all('b', deploy => 'never');

-- option auto_blend false: auto keeps target-only alone
SELECT xdrec.alter_model('b', options => '{"auto_blend": false}') IS NOT NULL AS altered;
SELECT j->>'method' AS method, j ? 'blend' AS has_blend
FROM (SELECT xdrec.adapt('b', 'd1', 'auto', deploy => 'never') AS j) x;
SELECT xdrec.alter_model('b', options => '{"auto_blend": true}') IS NOT NULL AS altered;

-- a tampered pair is refused with XX001 (each in a new session: an empty
-- cache), and the backend serves on
SELECT (encoder->'blend'->>'second')::bigint AS drr2 FROM xdrec.version WHERE id = :blend2 \gset
CREATE TABLE saved AS SELECT encoder FROM xdrec.version WHERE id = :blend2;
CREATE FUNCTION tamper(e jsonb) RETURNS text LANGUAGE sql AS $$
	UPDATE xdrec.version SET encoder = e
	WHERE id = (SELECT served_version FROM xdrec.domain WHERE domain = 'd1'
				AND model_id = (SELECT id FROM xdrec.model WHERE name = 'b'));
	SELECT 'tampered'
$$;
CREATE FUNCTION probe(usr bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM xdrec.rank('b', usr, '{}', 5);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g');
END $$;
-- blends with itself, with the source version, with a target-only version
SELECT tamper(jsonb_set(encoder, '{blend,second}', to_jsonb(:blend2))) FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
SELECT tamper(jsonb_set(encoder, '{blend,second}', to_jsonb(:src))) FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
SELECT tamper(jsonb_set(encoder, '{blend,second}', to_jsonb(:tonly))) FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
-- a outside [0, 1]; no link at all; a link of the wrong type
SELECT tamper(jsonb_set(encoder, '{blend,a}', '1.5')) FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
SELECT tamper(encoder - 'blend') FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
SELECT tamper(jsonb_set(encoder, '{blend,second}', '"x"')) FROM saved;
\c
SELECT probe(:usr), 1 AS alive;
-- the DRR version partial (a residual tensor gone), or of other users
SELECT tamper(encoder) FROM saved;
CREATE TABLE kept AS SELECT * FROM xdrec.weight WHERE version_id = :drr2 AND tensor = 'res.U.R';
DELETE FROM xdrec.weight WHERE version_id = :drr2 AND tensor = 'res.U.R';
\c
SELECT probe(:usr), 1 AS alive;
INSERT INTO xdrec.weight SELECT * FROM kept;
CREATE TABLE kept_keys AS SELECT * FROM xdrec.key_map WHERE version_id = :drr2 AND kind = 'user';
UPDATE xdrec.key_map SET keys = keys[1:cardinality(keys) - 1] || '99999999'::text
WHERE version_id = :drr2 AND kind = 'user' AND chunk = 0;
\c
SELECT probe(:usr), 1 AS alive;
UPDATE xdrec.key_map k SET keys = o.keys FROM kept_keys o
WHERE k.version_id = o.version_id AND k.kind = o.kind AND k.chunk = o.chunk;
-- restored, it serves again
\c
SELECT probe(:usr) AS restored;
-- the pair must fit xdrec.cache_memory together, not each half alone: at
-- 60% of the cached pair's bytes (more than either half) it is refused
SELECT s.version_bytes AS pair_bytes FROM xdrec.cache_stats s WHERE s.model = 'b' AND s.version = :blend2 \gset
\c
SELECT set_config('xdrec.cache_memory', (:pair_bytes * 6 / 10 / 1024) || 'kB', false) IS NOT NULL AS most_of_it;
SELECT regexp_replace(probe(:usr), '\(N[kMG]B\)', '(budget)') AS pair_too_big;
RESET xdrec.cache_memory;
SELECT probe(:usr) AS fits_again;
-- forgetting a user clears both fits of the pair
SELECT xdrec.forget_user('b', 'd1', :usr::text) AS versions_holding;
SELECT count(*) AS pair_without_user FROM xdrec.key_map
WHERE version_id IN (:blend2, :drr2) AND kind = 'user' AND array_position(keys, :usr::text) IS NULL;
SELECT probe(:usr) AS after_forget;

SELECT xdrec.drop_model('b') AS dropped;

-- on an explicit target the small-target exception is off by default
-- (auto_small_rows_explicit 0): a target of a few hundred ratings keeps the
-- margin and, where auto keeps target-only, is served the blend; with the
-- option above its size, margin 0 and no blend (the rule before)
SELECT xdrec.generate('egen', '{"seed": 5, "domains": 2, "explicit": true, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 50, "items": 30, "interactions": 600}}}') AS rows;
SELECT xdrec.create_model('e', 'egen', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(),
	options => '{"feedback": "explicit", "d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "auto_margin": 100, "cold_min": 0}') AS model_id;
SELECT xdrec.train('e', 'd0') ? 'version' AS trained;
SELECT count(*) < 1000 AS small_target FROM egen WHERE domain = 'd1';
SELECT j->>'method' AS method, (j->>'auto_margin')::float8 AS margin,
       (j->>'auto_small_rows')::int AS small_rows,
       j->'blend'->>'reason' ~ 'auto_small_rows_explicit 0 or more' AS reason_names_option,
       (j->'test'->>'rmse')::float8 > 0 AS rmse_ok,
       -- an explicit target: auto fits target-only and DRR, not Anneal
       j->'auto_fitted' AS fitted,
       (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(j->'candidates') k) AS candidates,
       (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(j->'gain_over_target_only') k) AS gains
FROM (SELECT xdrec.adapt('e', 'd1', 'auto') AS j) x;
SELECT xdrec.alter_model('e', options => '{"auto_small_rows_explicit": 100000}') IS NOT NULL AS altered;
SELECT j->>'method' <> 'blend' AS not_blended, (j->>'auto_margin')::float8 AS margin,
       (j->>'auto_small_rows')::int AS small_rows, j ? 'blend' AS has_blend
FROM (SELECT xdrec.adapt('e', 'd1', 'auto') AS j) x;
\i sql/include/try.sql
SELECT pg_temp.try($$SELECT xdrec.alter_model('e', options => '{"auto_small_rows_explicit": -1}')$$);
SELECT xdrec.drop_model('e') AS dropped;
DROP TABLE bgen, egen, saved, kept, kept_keys;
DROP FUNCTION tamper(jsonb);
DROP FUNCTION probe(bigint);
DROP EXTENSION xdrec;
