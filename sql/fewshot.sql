-- Few-shot markets in SQL (issue 20): option fewshot meta-trains the s2Meta
-- meta-learner with the source and stores it with the version ("fs.*"
-- tensors, all or none), xdrec.adapt(..., method => 'fewshot') adapts a new
-- market from its first rows under the source's frozen modules, a source
-- without it is refused with a hint, a tiny market too small for the other
-- methods is adapted, and a version missing one of its tensors is refused
-- on load. The core's tests check the numbers (FD gradients, deterministic
-- stopping); this checks the SQL layer. No raw floats.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

CREATE FUNCTION pg_temp.tensors(v bigint) RETURNS text LANGUAGE sql AS $$
	SELECT format('modules %s, embeddings %s, residuals %s, fewshot %s',
		count(*) FILTER (WHERE tensor ~ '^(ctx|clu|rank)\.'),
		count(DISTINCT tensor) FILTER (WHERE tensor ~ '^(emb|bias)\.'),
		count(*) FILTER (WHERE tensor ~ '^res\.'),
		count(DISTINCT tensor) FILTER (WHERE tensor ~ '^fs\.'))
	FROM xdrec.weight WHERE version_id = v
$$;

SELECT xdrec.generate('fsgen', '{"seed": 5, "domains": 3, "sizes": {"source": {"users": 150, "items": 80, "interactions": 4000}, "target": {"users": 40, "items": 20, "interactions": 300}}}') AS rows;
-- a market with its first 12 orders
DELETE FROM fsgen WHERE domain = 'd2' AND ctid NOT IN
	(SELECT ctid FROM fsgen WHERE domain = 'd2' ORDER BY user_key, item_key LIMIT 12);
-- repeat false: a source without the repeat term (the generated rows repeat:
-- the default "auto" gives it the lift); the term is turned on below
SELECT xdrec.create_model('f', 'fsgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 16, "epochs": 3, "seed": 1, "repeat": false}') AS model_id;

-- off by default: the summary says so, and method fewshot is refused
SELECT (xdrec.train('f', 'd0')->'fewshot') AS fewshot_off;
SELECT count(*) AS versions_before FROM xdrec.version \gset
SELECT xdrec.adapt('f', 'd1', 'fewshot');
SELECT count(*) = :versions_before AS catalog_unchanged FROM xdrec.version;

-- on: meta-trained in train's fit phase, stored with the source version
SELECT xdrec.alter_model('f', options => '{"fewshot": true, "fewshot_episodes": 24}') ? 'fewshot' AS altered;
SELECT xdrec.train('f') AS j \gset
SELECT (:'j'::jsonb->'fewshot'->>'trained')::boolean AS trained,
       (:'j'::jsonb->'fewshot'->>'episodes')::int AS episodes,
       (:'j'::jsonb->'fewshot'->>'seconds')::float8 > 0 AS costed,
       (:'j'::jsonb->'fewshot'->>'last_query_loss')::float8 > 0 AS has_loss;
SELECT (:'j'::jsonb->>'version')::bigint AS src \gset
-- implicit feedback, context layers: 8 slots of (init + 7 LSTM tensors), the stop LSTM's 7
SELECT pg_temp.tensors(:src);
-- the source still ranks (serving never reads the meta-learner)
SELECT count(*) AS source_ranks FROM xdrec.rank('f', (SELECT min(user_key) FROM fsgen WHERE domain = 'd0'), '{}', 5, domain => 'd0');

-- a market adapted with it: the source's modules pinned, residuals and tables its own
SELECT xdrec.adapt('f', 'd1', 'fewshot') AS a \gset
SELECT :'a'::jsonb->>'method' AS method, :'a'::jsonb->>'requested' AS requested,
       (:'a'::jsonb->>'pins_shared_version')::bigint = :src AS pins_source,
       (:'a'::jsonb->'fewshot'->>'steps')::int BETWEEN 4 AND 20 AS steps_in_range,
       (:'a'::jsonb->'fewshot'->>'support_rows')::int > 0 AS has_support,
       :'a'::jsonb->'fewshot'->>'reason' AS reason,
       (:'a'::jsonb->'fewshot'->>'lift')::float8 BETWEEN 0 AND 1000 AS lift_ok,
       (:'a'::jsonb->'test'->>'mrr')::float8 BETWEEN 0 AND 1 AS mrr_ok;
SELECT pg_temp.tensors((:'a'::jsonb->>'version')::bigint);
SELECT method FROM xdrec.version WHERE id = (:'a'::jsonb->>'version')::bigint;
SELECT count(*) AS target_ranks FROM xdrec.rank('f', (SELECT min(user_key) FROM fsgen WHERE domain = 'd1'), '{}', 5, domain => 'd1');
-- the same adaptation again gives the same steps (deterministic stopping)
SELECT (xdrec.adapt('f', 'd1', 'fewshot', deploy => 'never')->'fewshot'->>'steps') = :'a'::jsonb->'fewshot'->>'steps' AS same_steps;
-- 12 orders: too few for DRR, enough for fewshot
SELECT pg_temp.try($$SELECT xdrec.adapt('f', 'd2', 'drr')$$);
SELECT xdrec.adapt('f', 'd2', 'fewshot') AS t \gset
SELECT :'t'::jsonb->>'method' AS tiny_method,
       (:'t'::jsonb->'fewshot'->>'support_rows')::int AS support_rows;
SELECT count(*) AS tiny_ranks FROM xdrec.rank('f', (SELECT min(user_key) FROM fsgen WHERE domain = 'd2'), '{}', 5, domain => 'd2', exclude_seen => true);
-- auto: fewshot below fewshot_rows training rows (default 20, the others' minimum) ...
SELECT xdrec.adapt('f', 'd2', deploy => 'never') AS t \gset
SELECT :'t'::jsonb->>'method' AS auto_tiny, :'t'::jsonb->>'requested' AS requested,
       :'t'::jsonb->'fewshot'->>'reason' AS reason;
-- ... the usual candidates above it
SELECT xdrec.adapt('f', 'd1', deploy => 'never') AS t \gset
SELECT :'t'::jsonb->>'method' <> 'fewshot' AS auto_large_not_fewshot, :'t'::jsonb ? 'candidates' AS has_candidates;
-- ... and fewshot again when the option says so
SELECT xdrec.alter_model('f', options => '{"fewshot_rows": 1000}') ? 'fewshot_rows' AS altered;
SELECT xdrec.adapt('f', 'd1', deploy => 'never')->'fewshot'->>'reason' AS reason;
SELECT pg_temp.try($$SELECT xdrec.alter_model('f', options => '{"fewshot_rows": 19}')$$);

-- evaluate's protocol 'fewshot': d1 adapted from a seeded 48 of its rows by
-- each method, the rest ranked against every item
CREATE TEMP TABLE fse AS SELECT * FROM xdrec.evaluate('f', 'd1', protocol => 'fewshot', support => 48);
SELECT method, string_agg(metric, ', ' ORDER BY metric) AS metrics,
       bool_and(value >= 0 AND (metric = 'seconds' OR value <= 1)) AS in_range,
       bool_and(n = 48) FILTER (WHERE metric = 'seconds') AS support_rows
FROM fse GROUP BY method ORDER BY method;
-- the same query positives for every method, HitRate@20 at least @10
SELECT count(DISTINCT n) AS query_sizes, count(DISTINCT excluded) AS excluded_counts
FROM fse WHERE metric <> 'seconds';
SELECT bool_and(h20.value >= h10.value) AS hit20_ge_hit10
FROM fse h10 JOIN fse h20 USING (method) WHERE h10.metric = 'hit@10' AND h20.metric = 'hit@20';
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('f', 'd1', protocol => 'fewshot')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('f', 'd1', support => 48)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('f', 'd1', protocol => 'fewshot', support => 1)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('f', 'd2', protocol => 'fewshot', support => 48)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('f', 'd0', protocol => 'fewshot', support => 48)$$);
-- every served target: the 12-order d2 left out with a notice
SELECT DISTINCT domain FROM xdrec.evaluate('f', protocol => 'fewshot', support => 48) ORDER BY 1;

-- two orders of one item: not even fewshot
INSERT INTO fsgen (domain, user_key, item_key) VALUES ('d9', 1, 1), ('d9', 2, 1);
SELECT pg_temp.try($$SELECT xdrec.adapt('f', 'd9', 'fewshot')$$);
-- ... auto serves it by popularity instead, and says how and why
SELECT xdrec.adapt('f', 'd9') AS t \gset
SELECT :'t'::jsonb->>'method' AS method, :'t'::jsonb->>'requested' AS requested,
       :'t'::jsonb->'popularity'->>'reason' AS reason, :'t'::jsonb->'test' AS test,
       (:'t'::jsonb->>'pins_shared_version')::bigint = :src AS pins_source;
SELECT method FROM xdrec.domains WHERE model = 'f' AND domain = 'd9';
-- its only item is what its users chose: exclude_seen drops it as for a warm user
SELECT item_key, rank FROM xdrec.rank('f', 2, '{}', 5, domain => 'd9', exclude_seen => false);
SELECT current_setting('xdrec.served_as') AS served_as;
SELECT count(*) AS unseen FROM xdrec.rank('f', 2, '{}', 5, domain => 'd9');
SELECT count(*) AS ranked_many FROM xdrec.rank_many('f', ARRAY[1, 2], '{}', 5, domain => 'd9', exclude_seen => false);
SELECT current_setting('xdrec.served_as') AS served_as;
SELECT count(*) AS unseen_many FROM xdrec.rank_many('f', ARRAY[1, 2], '{}', 5, domain => 'd9');
DELETE FROM fsgen WHERE domain = 'd9';

-- many small markets: an 8-row and a 1-row market block neither the others
-- nor themselves; each row says how its domain is served
INSERT INTO fsgen (domain, user_key, item_key) SELECT 'e8', 800 + i, i % 5 FROM generate_series(1, 8) i;
INSERT INTO fsgen (domain, user_key, item_key) VALUES ('e1', 900, 3);
SELECT domain, outcome, summary->>'method' AS method, reason, version IS NOT NULL AS has_version
FROM xdrec.adapt_all('f', deploy => 'always') ORDER BY domain;
SELECT domain, method FROM xdrec.domains WHERE model = 'f' ORDER BY domain;
SELECT item_key, rank FROM xdrec.rank('f', 900, '{}', 5, domain => 'e1', exclude_seen => false);
SELECT current_setting('xdrec.served_as') AS served_as;
SELECT count(*) AS e8_ranks FROM xdrec.rank('f', 801, '{}', 5, domain => 'e8');
SELECT current_setting('xdrec.served_as') AS served_as;
DELETE FROM fsgen WHERE domain IN ('e1', 'e8');

-- a method the function does not know names fewshot in its hint
SELECT xdrec.adapt('f', 'd1', 'fewshots');
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('f', 'fewshots')$$);

-- corrupt: one of the meta-learner's tensors gone is refused on load
BEGIN;
DELETE FROM xdrec.weight WHERE version_id = :src AND tensor = 'fs.stop.Wo';
SELECT pg_temp.try($$SELECT xdrec.adapt('f', 'd1', 'fewshot')$$);
ROLLBACK;
-- ... or of the wrong shape (another version's init row of res.U.R: 1 x d, not d x d)
BEGIN;
UPDATE xdrec.weight w SET data = (SELECT data FROM xdrec.weight WHERE version_id = :src AND tensor = 'fs.init.emb.user' AND chunk = 0)
WHERE w.version_id = :src AND w.tensor = 'fs.init.res.U.R' AND w.chunk = 0;
SELECT pg_temp.try($$SELECT xdrec.adapt('f', 'd1', 'fewshot')$$);
ROLLBACK;
SELECT (xdrec.adapt('f', 'd1', 'fewshot', deploy => 'never')->>'method') AS intact_again;

-- the repeat lift is reported only without the repeat term (above); a source
-- trained with it (option repeat) serves it as the domain's b_R (a float after
-- a 48-byte header); the option alone, over the old source, does not
SELECT :'a'::jsonb->'fewshot'->>'lift_served' AS lift_served_without_term;
SELECT xdrec.alter_model('f', options => '{"repeat": true}') ? 'repeat' AS altered;
SELECT xdrec.adapt('f', 'd1', 'fewshot', deploy => 'never')->'fewshot'->>'lift_served' AS lift_served_old_source;
SELECT (xdrec.train('f')->'fewshot'->>'trained')::boolean AS retrained;
SELECT xdrec.adapt('f', 'd1', 'fewshot', deploy => 'never') AS r \gset
SELECT (:'r'::jsonb->'fewshot'->>'lift_served')::boolean AS lift_served,
       (SELECT encode(substring(data FROM 49), 'hex') FROM xdrec.weight
        WHERE version_id = (:'r'::jsonb->>'version')::bigint AND tensor = 'rep.b' AND chunk = 0) =
       CASE (:'r'::jsonb->'fewshot'->>'lift')::float8
            WHEN 0 THEN '00000000' WHEN 0.25 THEN '0000803e' WHEN 0.5 THEN '0000003f'
            WHEN 1 THEN '0000803f' WHEN 2 THEN '00000040' WHEN 4 THEN '00008040'
            WHEN 8 THEN '00000041' WHEN 1000 THEN '00007a44' END AS rep_b_is_the_lift;

-- fewshot's popularity term (a weight of the ladder, chosen by ranking
-- support rows cross-fitted, two folds of up to 16 rows each, none of the
-- last update's pairs) is served as its item bias "bias.item", stored with
-- the version
SELECT (:'a'::jsonb->'fewshot'->>'popularity_weight')::float8 IN (0, 0.125, 0.25, 0.5, 1, 2, 4, 100) AS weight_on_ladder,
       (:'a'::jsonb->'fewshot'->>'popularity_held_out')::int > 0 AS chosen_on_ranked_rows,
       (:'a'::jsonb->'fewshot'->>'popularity_held_out')::int <= least(32, (:'a'::jsonb->'fewshot'->>'support_rows')::int) AS at_most_two_folds_of_16,
       (:'a'::jsonb->'fewshot'->>'popularity_pairs')::int = 0 AS not_on_pairs,
       (SELECT count(*) FROM xdrec.weight WHERE version_id = (:'a'::jsonb->>'version')::bigint AND tensor = 'bias.item') > 0 AS stores_item_bias;
-- a market adapted before the term (no item bias) still loads and ranks;
-- an item bias of another shape is refused on load
BEGIN;
SELECT xdrec.adapt('f', 'd1', 'fewshot', deploy => 'always')->>'version' AS v \gset
DELETE FROM xdrec.weight WHERE version_id = :v AND tensor = 'bias.item';
SELECT count(*) AS ranks_without_item_bias FROM xdrec.rank('f', (SELECT min(user_key) FROM fsgen WHERE domain = 'd1'), '{}', 5, domain => 'd1');
ROLLBACK;
BEGIN;
SELECT xdrec.adapt('f', 'd1', 'fewshot', deploy => 'always')->>'version' AS v \gset
UPDATE xdrec.weight SET data = (SELECT data FROM xdrec.weight WHERE version_id = :v AND tensor = 'res.U.r' AND chunk = 0)
WHERE version_id = :v AND tensor = 'bias.item';
SELECT pg_temp.try($$SELECT count(*) FROM xdrec.rank('f', (SELECT min(user_key) FROM fsgen WHERE domain = 'd1'), '{}', 5, domain => 'd1')$$);
ROLLBACK;

SELECT xdrec.drop_model('f');
DROP TABLE fsgen;
DROP EXTENSION xdrec;
