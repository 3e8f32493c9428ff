-- Training, ranking, prediction and evaluation (DESIGN sections 2, 5, 6, 7)
-- on a small generated table. No raw floats: scores and metrics are checked
-- by inequalities, since BLAS kernels differ by CPU.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

-- what the catalog holds, to show failing calls change nothing
CREATE FUNCTION pg_temp.catalog_exact() RETURNS text LANGUAGE sql AS $$
	SELECT format('versions %s, weights %s, keys %s, seen %s, domains %s, served %s',
		(SELECT count(*) FROM xdrec.version), (SELECT count(*) FROM xdrec.weight),
		(SELECT count(*) FROM xdrec.key_map), (SELECT count(*) FROM xdrec.seen),
		(SELECT count(*) FROM xdrec.domain),
		(SELECT string_agg(domain || ':' || served_version, ',' ORDER BY domain) FROM xdrec.domain))
$$;
-- the same for display: whether every version has its model tensors rather
-- than how many tensors the core has today
CREATE FUNCTION pg_temp.catalog() RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(pg_temp.catalog_exact(), 'weights \d+',
		CASE WHEN (SELECT bool_and(EXISTS (SELECT 1 FROM xdrec.weight w
										   WHERE w.version_id = v.id AND w.tensor = 'emb.user')
								 AND EXISTS (SELECT 1 FROM xdrec.weight w
											 WHERE w.version_id = v.id AND w.tensor = 'ctx.W1'))
				   FROM xdrec.version v)
			 THEN 'weights of every version' ELSE 'weights missing' END)
$$;

SELECT xdrec.generate('gen', '{"seed": 3, "domains": 2, "sizes": {"source": {"users": 150, "items": 80, "interactions": 4000}, "target": {"users": 40, "items": 20, "interactions": 300}}}') AS rows;
SELECT domain, count(*) AS rows, min(user_key) AS first_user, count(DISTINCT item_key) AS items
FROM gen GROUP BY 1 ORDER BY 1;
SELECT xdrec.create_model('g', 'gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 16, "epochs": 3, "seed": 1}') AS model_id;

-- the training summary
CREATE TEMP TABLE s AS SELECT xdrec.train('g', 'd0') AS j;
SELECT j->>'rows_read' AS rows_read, j->>'rows_used' AS rows_used, j->'rows_skipped' AS skipped,
       j->>'users' AS users, j->>'items' AS items, j->>'m' AS m, j->'split' AS split,
       j->>'epochs' AS epochs, (j->>'best_epoch')::int BETWEEN 1 AND 3 AS best_epoch_ok,
       (j->'test'->>'mrr')::float8 BETWEEN 0.02 AND 1 AS test_mrr_ok,
       (j->'test'->>'n')::int > 300 AS test_n_ok,
       (j->>'interactions_per_sec')::float8 > 0 AS speed_ok,
       j->>'item_negative_weight' AS item_negative_weight
FROM s;
SELECT pg_temp.catalog();
SELECT model, domain, role, served_version, rows, users, items, metrics ? 'mrr' AS has_mrr
FROM xdrec.domains;
-- the version's layout: m = 1 + 8 + 1 + 1 + 1 + 13
SELECT encoder->'schema'->>'m' AS m,
       jsonb_path_query_array(encoder, '$.schema.features[*].name') AS features,
       encoder->'schema'->'features'->1->'vocab' AS weekday_vocab
FROM xdrec.version;

-- evaluate reproduces the training summary's test metrics (same split, seed
-- 42), under the same names, with a standard error and the excluded count
SELECT e.metric, e.n, e.excluded = (s.j->'test'->>'excluded')::int AS excluded_matches,
       abs(e.value - (s.j->'test'->>e.metric)::float8) < 1e-5 AS matches_summary,
       e.std_error BETWEEN 0 AND 0.1 AS has_se
FROM xdrec.evaluate('g') e, s WHERE e.method = 'train' ORDER BY e.metric;
-- the baselines beside it: random and popularity in context, the same positives
SELECT method, count(*) AS metrics, min(n) = max(n) AS same_n
FROM xdrec.evaluate('g') GROUP BY method ORDER BY method;
SELECT method, metric, n > 0 AS has_n, value BETWEEN 0 AND 1 AS in_range
FROM xdrec.evaluate('g', 'd0', 'full') ORDER BY method, metric;
-- random ranking's expected MRR under the sampled protocol is about 0.05
SELECT abs(value - 0.052) < 3 * std_error AS random_near_chance
FROM xdrec.evaluate('g') WHERE method = 'random' AND metric = 'mrr';
-- rows the caller held out: all of them are the test split
CREATE TEMP TABLE held AS SELECT * FROM gen WHERE domain = 'd0' AND hour >= 20;
SELECT (SELECT count(*) FROM held) AS held, n + excluded AS evaluated
FROM xdrec.evaluate('g', 'd0', test => 'held') WHERE method = 'train' AND metric = 'mrr';
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('g', 'd0', test => 'pg_class')$$);
SELECT count(*) AS rows FROM xdrec.evaluate('g', seed => 7);

-- rank: both forms, k rows, ranks 1..k, scores not increasing, the served version
CREATE TEMP TABLE r8 AS
SELECT * FROM xdrec.rank('g', 0, '{"hour": 12, "weekday": "fri", "rain": true}', 10);
SELECT count(*) AS n, min(rank) AS first, max(rank) AS last,
       bool_and(version = (SELECT served_version FROM xdrec.domain)) AS served
FROM r8;
SELECT bool_and(score >= next) AS sorted
FROM (SELECT score, lead(score) OVER (ORDER BY rank) AS next FROM r8) x WHERE next IS NOT NULL;
SELECT (SELECT array_agg(item_key::text ORDER BY rank) FROM r8) =
       (SELECT array_agg(item_key ORDER BY rank)
        FROM xdrec.rank('g', '0', '{"hour": 12, "weekday": "fri", "rain": true}', 10)) AS text_form_agrees;
SELECT pg_typeof(item_key) FROM xdrec.rank('g', '0', '{}', 1);
-- the context matters
SELECT (SELECT array_agg(item_key ORDER BY rank) FROM r8) <>
       (SELECT array_agg(item_key ORDER BY rank)
        FROM xdrec.rank('g', 0, '{"hour": 22, "weekday": "sun", "rain": false}', 10)) AS context_changes_ranking;
-- missing keys and JSON null are missing values (zeros): these agree
SELECT (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('g', 0, '{}', 10)) =
       (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('g', 0, '{"hour": null, "weekday": null}', 10))
       AS null_is_missing;
-- k beyond the candidates: every unseen item
SELECT count(*) = (SELECT count(DISTINCT item_key) FROM gen WHERE domain = 'd0') -
       (SELECT cardinality(items[1:counts[1]]) FROM xdrec.seen) AS all_unseen
FROM xdrec.rank('g', 0, '{}', 10000, exclude_seen => true);
-- exclude_seen => false adds back exactly items the user interacted with
SELECT count(*) AS added, bool_and(item_key IN (SELECT item_key FROM gen WHERE user_key = 0)) AS all_seen
FROM (SELECT item_key FROM xdrec.rank('g', 0, '{}', 10000, exclude_seen => false)
      EXCEPT SELECT item_key FROM xdrec.rank('g', 0, '{}', 10000, exclude_seen => true)) x
HAVING count(*) > 0;
-- option exclude_seen 'auto' (the default): the version records the share
-- of its training rows that repeat a (user, item) pair, and rank's default
-- (exclude_seen NULL) leaves seen items out below a quarter, keeps them above
SELECT v.id AS gv, (v.encoder->>'repeat_share')::float8 AS share,
       v.encoder->'config'->>'exclude_seen' AS mode, v.encoder->'config'->>'repeat' AS repeat_term
FROM xdrec.version v WHERE v.id = (SELECT max(version) FROM xdrec.rank('g', 0, '{}', 1)) \gset
SELECT :share BETWEEN 0 AND 1 AS share_ok, :'mode' AS mode, :'repeat_term' AS repeat_term;
SELECT (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('g', 0, '{}', 60)) =
       (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('g', 0, '{}', 60,
			exclude_seen => :share < 0.25)) AS default_follows_share;
-- candidates: only those, unknown ones ignored
SELECT count(*) AS n, bool_and(item_key = ANY ('{1,2,3,4,5,999999}')) AS subset
FROM xdrec.rank('g', 0, '{}', 10, exclude_seen => false, candidates => '{1,2,3,4,5,999999}');
SELECT count(*) AS n FROM xdrec.rank('g', '0', '{}', 10, exclude_seen => false, candidates => '{1,2,3,x}');
-- an encoded context of width m
SELECT count(*) AS n FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0.5::real, ARRAY[25]));
SELECT count(*) AS n FROM xdrec.rank('g', 0, '{}', 5, ctx_vector => array_fill(0::real, ARRAY[25]));
-- the short form on xdrec.default_model, in the extension's schema
SELECT pg_temp.try($$SELECT * FROM xdrec_rank(0, '{}', 5)$$);
SET xdrec.default_model = 'g';
SELECT (SELECT array_agg(item_key ORDER BY rank) FROM xdrec_rank(0, '{"hour": 12, "weekday": "fri", "rain": true}', 10)) =
       (SELECT array_agg(item_key ORDER BY rank) FROM r8) AS short_form_agrees;
SELECT count(*) AS n FROM xdrec_rank('0', '{}', 3);
-- untyped parameters, as drivers send them, resolve to the text form
PREPARE q AS SELECT count(*) AS n, pg_typeof(min(item_key)) FROM xdrec.rank('g', $1, $2, $3);
EXECUTE q('0', '{"hour": 9}', '4');
RESET xdrec.default_model;

-- a new version invalidates the cache: the next call serves it
SELECT (xdrec.train('g', 'd0')->>'version')::bigint AS v2 \gset
SELECT bool_and(version = :v2) AS new_version FROM xdrec.rank('g', 0, '{}', 3);
SELECT pg_temp.catalog();

-- bad input: every error with its SQLSTATE, and the catalog unchanged
SELECT pg_temp.catalog_exact() AS before \gset
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('nope', 0, '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank(NULL, 0, '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', NULL::bigint, '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', 0)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', -3)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', 10001)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 424242, '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 'zz', '{}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', 5, domain => 'd9')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"hour": 12, "minute": 3}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"hour": "noon"}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"rain": 1}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"weekday": ["fri"]}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"price": 3}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"hour": 1e39}', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '[1, 2]', 5)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => '{0, 0, 0}')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill('NaN'::real, ARRAY[25]))$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill('Infinity'::real, ARRAY[25]))$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(NULL::real, ARRAY[25]))$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{"hour": 3}', 5, ctx_vector => array_fill(0::real, ARRAY[25]))$$);
SELECT pg_temp.try($$SELECT xdrec.predict('g', 0, 1, '{}')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('g', protocol => 'exact')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('g', 'd9')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('nope')$$);
SELECT pg_temp.try($$SELECT xdrec.train('nope', 'd0', background => true)$$);
SELECT pg_temp.try($$SELECT xdrec.train('g', 'nowhere')$$);
SELECT pg_temp.try($$SELECT xdrec.train('g', deploy => 'maybe')$$);
SELECT pg_temp.try($$SELECT xdrec.train('nope', 'd0')$$);
SELECT xdrec.create_model('nf', 'gen', 'user_key', 'item_key', 'domain') AS no_features;
SELECT pg_temp.try($$SELECT xdrec.train('nf', 'd0')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('nf', 0, '{}', 5)$$);
-- a model not trained yet, whose source may be any domain
SELECT xdrec.create_model('fresh', 'gen', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1}') AS fresh;
INSERT INTO gen (domain, user_key, item_key) SELECT 'tiny', i, i % 3 FROM generate_series(1, 10) i;
SELECT pg_temp.try($$SELECT xdrec.train('fresh', 'tiny')$$);
SELECT pg_temp.try($$SELECT xdrec.train('fresh', 'nowhere')$$);
INSERT INTO gen (domain, user_key, item_key, hour) SELECT 'big', i % 5000, i % 777, i % 24 FROM generate_series(1, 60000) i;
SET xdrec.train_memory = '1MB';
SELECT pg_temp.try($$SELECT xdrec.train('fresh', 'big')$$);
RESET xdrec.train_memory;
SELECT pg_temp.try($$SELECT xdrec.generate('gen')$$);
SELECT pg_temp.try($$SELECT xdrec.generate('gen2', '{"rows": 5}')$$);
SELECT pg_temp.try($$SELECT xdrec.generate('gen2', '{"domains": 0}')$$);
SELECT pg_temp.try($$SELECT xdrec.generate('gen2', '{"explicit": "yes"}')$$);
SELECT pg_temp.try($$SELECT xdrec.generate('gen2', '{"sizes": {"source": {"users": -1}}}')$$);
SELECT pg_temp.try($$SELECT xdrec.generate(NULL)$$);
-- a cancelled training (here by statement_timeout) leaves nothing behind
-- (where it stops varies, so no error context)
\set SHOW_CONTEXT never
SET statement_timeout = '30ms';
SELECT xdrec.train('fresh', 'big');
RESET statement_timeout;
\set SHOW_CONTEXT errors
SELECT pg_temp.catalog_exact() = :'before' AS catalog_unchanged;
SELECT count(*) AS gen2 FROM pg_class WHERE relname = 'gen2';

-- rows with NULL keys or non-finite values are skipped and counted
ALTER TABLE gen ALTER domain DROP NOT NULL, ALTER user_key DROP NOT NULL, ALTER item_key DROP NOT NULL;
INSERT INTO gen (domain, user_key, item_key, hour) VALUES
	('d0', NULL, 1, 1), ('d0', 1, NULL, 1), ('d0', 1, 1, 'NaN'), ('d0', 1, 2, 'Infinity'), (NULL, 1, 1, 1);
SELECT xdrec.train('g', 'd0')->'rows_skipped' AS skipped;

-- text keys: the bigint form refuses, naming the text form
CREATE TABLE gen_text AS SELECT domain, 'u' || user_key AS u, 'i' || item_key AS i, hour FROM gen WHERE domain = 'd0';
SELECT xdrec.create_model('gt', 'gen_text', 'u', 'i', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric", "options": {"bins": 4}}]',
	options => '{"d": 8, "epochs": 1}') AS model_id;
SELECT j->>'users' AS users, j->>'m' AS m FROM (SELECT xdrec.train('gt', 'd0') AS j) x;
SELECT count(*) AS n, bool_and(item_key LIKE 'i%') AS text_keys FROM xdrec.rank('gt', 'u0', '{"hour": 13.5}', 5);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('gt', 0, '{}', 5)$$);

-- explicit feedback: predict and the rating metrics
SELECT xdrec.generate('gen_ex', '{"seed": 5, "domains": 1, "explicit": true, "sizes": {"source": {"users": 100, "items": 60, "interactions": 3000}}}') AS rows;
SELECT xdrec.create_model('ex', 'gen_ex', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(), options => '{"feedback": "explicit", "d": 8, "epochs": 3}') AS model_id;
SELECT (j->'test'->>'rmse')::float8 BETWEEN 0 AND 3 AS rmse_ok FROM (SELECT xdrec.train('ex', 'd0') AS j) x;
SELECT xdrec.predict('ex', 0, (SELECT min(item_key) FROM gen_ex), '{"hour": 12}') BETWEEN -1 AND 7 AS predicted;
SELECT xdrec.predict('ex', '0', (SELECT min(item_key) FROM gen_ex)::text, '{"hour": 12}') =
       xdrec.predict('ex', 0, (SELECT min(item_key) FROM gen_ex), '{"hour": 12}') AS forms_agree;
SELECT pg_temp.try($$SELECT xdrec.predict('ex', 0, 987654, '{}')$$);
SELECT method, metric, value BETWEEN 0 AND 3 AS in_range, std_error >= 0 AS has_se
FROM xdrec.evaluate('ex') ORDER BY method, metric;

-- a user key in two served domains needs domain =>
INSERT INTO gen (domain, user_key, item_key, hour)
SELECT 'd1', 0, item_key, hour FROM gen WHERE domain = 'd1' ORDER BY item_key, hour LIMIT 40;
SELECT (xdrec.adapt('g', 'd1', 'target_only')->>'users')::int > 30 AS d1_trained;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', 5)$$);
SELECT count(*) AS n, bool_and(item_key >= 10000000) AS from_d1 FROM xdrec.rank('g', 0, '{}', 5, domain => 'd1');
SELECT domain, role, served_version IS NOT NULL AS served FROM xdrec.domains WHERE model = 'g' ORDER BY domain;

-- another role: no access without a grant; with 'use' it ranks; training needs SELECT
SET client_min_messages = warning;
DROP ROLE IF EXISTS xd_train_user;
RESET client_min_messages;
CREATE ROLE xd_train_user;
SET ROLE xd_train_user;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 0, '{}', 5)$$);
RESET ROLE;
SELECT xdrec.grant('g', 'xd_train_user', 'train');
SET ROLE xd_train_user;
SELECT count(*) AS n FROM xdrec.rank('g', 0, '{}', 5, domain => 'd0');
SELECT pg_temp.try($$SELECT xdrec.train('g', 'd0')$$);
RESET ROLE;

-- the repeat term (option repeat): its tensors are stored with the version
-- and read back; repeats allowed, the user's own items are ranked with it
SELECT xdrec.create_model('rep', 'gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 2, "seed": 1, "repeat": true, "exclude_seen": "never"}') AS rep_model;
SELECT (xdrec.train('rep', 'd0')->>'version')::bigint AS rv \gset
SELECT string_agg(DISTINCT tensor, ',' ORDER BY tensor) AS rep_tensors
FROM xdrec.weight WHERE version_id = :rv AND tensor LIKE 'rep.%';
-- ... and the cold path's own repeat weight (cold.rep.*) beside it, with
-- own items first (cold.rep.floor, docs/cold-start.md): a history is ranked
-- by the module read back, its own items kept
SELECT string_agg(DISTINCT tensor, ',' ORDER BY tensor) AS cold_rep_tensors
FROM xdrec.weight WHERE version_id = :rv AND tensor LIKE 'cold.rep.%';
SELECT count(*) AS history_ranked,
       count(*) FILTER (WHERE item_key::bigint IN (SELECT item_key FROM gen WHERE user_key = 0 AND domain = 'd0')) > 0 AS history_items_kept
FROM xdrec.rank('rep', NULL, '{}', 80,
	history => (SELECT jsonb_agg(item_key) FROM gen WHERE user_key = 0 AND domain = 'd0'));
SELECT count(*) AS ranked, count(*) FILTER (WHERE item_key IN (SELECT item_key FROM gen WHERE user_key = 0 AND domain = 'd0')) > 0 AS has_own
FROM xdrec.rank('rep', 0, '{}', 80);
SELECT (SELECT count(*) FROM xdrec.rank('rep', 0, '{}', 80)) -
       (SELECT count(*) FROM xdrec.rank('rep', 0, '{}', 80, exclude_seen => true)) =
       (SELECT counts[1] FROM xdrec.seen WHERE version_id = :rv AND chunk = 0) AS seen_kept_with_never;
SELECT pg_temp.try($$SELECT xdrec.create_model('rep2', 'gen', 'user_key', 'item_key', 'domain', options => '{"exclude_seen": "sometimes"}')$$);
-- repeat "lift" (docs/serving.md#repeats): the term as a lift only; the
-- version records "lift", rep.w stays zero, the summary says what the
-- calibration kept; a value other than a boolean or "lift" is refused
SELECT pg_temp.try($$SELECT xdrec.create_model('rep2', 'gen', 'user_key', 'item_key', 'domain', options => '{"repeat": "yes"}')$$);
SELECT xdrec.alter_model('rep', options => '{"repeat": "lift"}')->>'repeat' AS altered;
SELECT xdrec.train('rep', 'd0') AS lift_run \gset
SELECT (:'lift_run'::jsonb->>'version')::bigint AS lv \gset
SELECT v.encoder->'config'->>'repeat' AS recorded, :'lift_run'::jsonb->'repeat'->>'kept' IN ('lift', 'off') AS kept_lift_or_off,
       (:'lift_run'::jsonb->'repeat'->>'n')::int > 0 AS calibrated
FROM xdrec.version v WHERE v.id = :lv;
-- the stored rep.w is zero and rep.b the kept lift (floats after a 48-byte header)
SELECT (SELECT ltrim(encode(substring(data FROM 49), 'hex'), '0') = '' FROM xdrec.weight
        WHERE version_id = :lv AND tensor = 'rep.w' AND chunk = 0) AS rep_w_zero,
       (SELECT encode(substring(data FROM 49), 'hex') FROM xdrec.weight
        WHERE version_id = :lv AND tensor = 'rep.b' AND chunk = 0) =
       CASE (:'lift_run'::jsonb->'repeat'->>'lift')::float8
            WHEN 0 THEN '00000000' WHEN 0.5 THEN '0000003f' WHEN 1 THEN '0000803f'
            WHEN 2 THEN '00000040' WHEN 4 THEN '00008040' WHEN 8 THEN '00000041'
            WHEN 1000 THEN '00007a44' END AS rep_b_is_the_lift;
SELECT count(*) AS ranked FROM xdrec.rank('rep', 0, '{}', 80);
SELECT xdrec.alter_model('rep', options => '{"repeat": false}')->>'repeat' AS altered_back;
SELECT xdrec.drop_model('rep') IS NOT NULL AS rep_dropped;

-- repeat "auto" (the default, docs/serving.md#repeats): each domain decides
-- from its own training rows, the lift from a quarter of repeated (user,
-- item) pairs up, no term below; the version records what was applied and
-- the summary why. gen repeats; gen_once keeps one row per pair (share 0).
-- A mixed model puts a non-repeating source beside a repeating target
-- (rep_up) and the other way round (rep_down): the target's term (and its
-- cold module's rho) is its own, not the source's.
CREATE TABLE gen_once AS SELECT DISTINCT ON (domain, user_key, item_key) * FROM gen;
CREATE TABLE gen_up AS SELECT * FROM gen_once WHERE domain = 'd0' UNION ALL SELECT * FROM gen WHERE domain = 'd1';
CREATE TABLE gen_down AS SELECT * FROM gen WHERE domain = 'd0' UNION ALL SELECT * FROM gen_once WHERE domain = 'd1';
SELECT xdrec.create_model('rep_up', 'gen_up', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1}') > 0 AS up,
       xdrec.create_model('rep_down', 'gen_down', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1}') > 0 AS down;
SELECT (xdrec_internal.resolved_options(options))->>'repeat' AS default_repeat FROM xdrec.model WHERE name = 'rep_up';
CREATE TEMP TABLE rep_auto AS
SELECT m, d, xdrec.train(m, 'd0') AS j FROM (VALUES ('rep_up', 'd0'), ('rep_down', 'd0')) x(m, d);
INSERT INTO rep_auto SELECT m, 'd1', xdrec.adapt(m, 'd1', 'drr') FROM (VALUES ('rep_up'), ('rep_down')) x(m);
SELECT r.m AS model, r.d AS domain,
       r.j->'repeat_auto'->>'applied' AS applied,
       (r.j->'repeat_auto'->>'repeat_share')::float8 >= 0.25 AS share_from_a_quarter,
       (r.j->'repeat_auto'->>'at_least')::float8 AS at_least,
       v.encoder->'config'->>'repeat' AS recorded,
       (v.encoder->>'repeat_auto')::boolean AS recorded_auto,
       abs((v.encoder->>'repeat_share')::float8 - (r.j->'repeat_auto'->>'repeat_share')::float8) < 1e-4 AS same_share,
       r.j->'repeat'->>'kept' AS kept,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('rep.w', 'rep.b') AND w.chunk = 0) AS rep_tensors,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('cold.rep.W', 'cold.rep.b') AND w.chunk = 0) AS cold_rho_tensors
FROM rep_auto r JOIN xdrec.version v ON v.id = (r.j->>'version')::bigint
ORDER BY 1, 2;
-- below the share train fits the lift all the same and validation decides
-- it: kept only when the lift with its best popularity weight beats no term
-- by more than one paired s.e. rep_up's source repeats no pair, so no
-- validation positive is the user's own item and the lift cannot pay: no
-- term kept, and the version above is what such a domain always stored (no
-- rep or cold rho tensors). The lift's own calibration ran, so its record
-- ("kept": "off" above) is in the summary. At or above the share: no decision.
SELECT r.m AS model, r.d AS domain,
       (r.j->'repeat_auto'->>'decided')::boolean AS decided,
       (r.j->'repeat_auto'->>'term_kept')::boolean AS term_kept,
       (r.j->'repeat_auto'->>'valid_mrr_lift')::float8 <= (r.j->'repeat_auto'->>'valid_mrr_off')::float8 AS lift_not_better,
       (r.j->'repeat_auto'->>'valid_mrr_off')::float8 > 0 AS off_ranked,
       (r.j->'repeat_auto'->>'se')::float8 >= 0 AS se_read,
       (r.j->'repeat_auto'->>'n')::int > 0 AS positives,
       r.j->'repeat_pop' IS NULL AS no_repeat_pop,
       v.encoder->'repeat_pop' IS NULL AS no_pop_recorded,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor LIKE '%rep.%' AND w.chunk = 0) AS any_rep_tensors
FROM rep_auto r JOIN xdrec.version v ON v.id = (r.j->>'version')::bigint
WHERE r.d = 'd0'
ORDER BY 1;

-- both targets serve (their versions read back), seen items kept where the
-- domain repeats, with the lift first
SELECT m AS model, count(*) AS ranked,
       bool_and(item_key IN (SELECT item_key FROM gen WHERE user_key = u AND domain = 'd1')) AS own_first
FROM (SELECT m, (SELECT min(user_key) FROM gen WHERE domain = 'd1') AS u FROM (VALUES ('rep_up'), ('rep_down')) x(m)) q,
     LATERAL xdrec.rank(m, u, '{}', 1, domain => 'd1')
GROUP BY m ORDER BY m;
-- an explicit value is kept as before: false means no term on a repeating domain
SELECT xdrec.alter_model('rep_up', options => '{"repeat": false}')->>'repeat' AS altered;
SELECT j->'repeat_auto' IS NULL AS no_auto_record, j->'repeat' IS NULL AS no_calibration
FROM (SELECT xdrec.adapt('rep_up', 'd1', 'drr', deploy => 'never') AS j) x;
-- the decided source that kept no term is the fit without one: trained
-- again with repeat false (no lift fitted, nothing decided), every stored
-- tensor is the same bytes and the validation and test metrics are equal
SET client_min_messages = warning;
CREATE TEMP TABLE rep_false AS SELECT xdrec.train('rep_up', 'd0', deploy => 'never') AS j;
RESET client_min_messages;
SELECT f.j->'repeat_auto' IS NULL AS no_auto_record,
       f.j->'best_valid' = a.j->'best_valid' AS same_validation, f.j->'test' = a.j->'test' AS same_test,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = (f.j->>'version')::bigint) AS tensor_chunks,
       (SELECT count(*) FROM xdrec.weight w JOIN xdrec.weight x ON x.tensor = w.tensor AND x.chunk = w.chunk AND x.data = w.data
        WHERE w.version_id = (f.j->>'version')::bigint AND x.version_id = (a.j->>'version')::bigint) AS same_bytes
FROM rep_false f, rep_auto a WHERE a.m = 'rep_up' AND a.d = 'd0';
-- a domain below the share where the lift pays: the source's rows once
-- each plus about a tenth of its repeated rows (a 13% share); its users
-- come back to their items on validation, so the lift with its weight beats
-- no term by more than one s.e., and the version carries the lift (rep
-- tensors, the cold module's rho and floor, repeat_pop) as "lift" does
CREATE TABLE gen_few AS
SELECT g.* FROM gen g
JOIN (SELECT ctid AS c, row_number() OVER (PARTITION BY user_key, item_key ORDER BY ctid) AS k
      FROM gen WHERE domain = 'd0') n ON g.ctid = n.c
WHERE n.k = 1 OR abs(hashint8(g.user_key::bigint * 1000 + g.item_key::bigint * 7 + n.k)) % 1000 < 100;
SELECT xdrec.create_model('rep_few', 'gen_few', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1}') > 0 AS created;
CREATE TEMP TABLE rep_few AS SELECT xdrec.train('rep_few', 'd0') AS j;
SELECT (j->'repeat_auto'->>'repeat_share')::float8 < 0.25 AS below_share,
       j->'repeat_auto'->>'applied' AS applied,
       (j->'repeat_auto'->>'decided')::boolean AS decided,
       (j->'repeat_auto'->>'term_kept')::boolean AS term_kept,
       (j->'repeat_auto'->>'valid_mrr_lift')::float8 - (j->'repeat_auto'->>'valid_mrr_off')::float8
         > (j->'repeat_auto'->>'se')::float8 AS beyond_one_se,
       v.encoder->'config'->>'repeat' AS recorded,
       j->'repeat_pop' IS NOT NULL AS pop_chosen,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('rep.w', 'rep.b') AND w.chunk = 0) AS rep_tensors,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('cold.rep.W', 'cold.rep.b') AND w.chunk = 0) AS cold_rho_tensors
FROM rep_few x JOIN xdrec.version v ON v.id = (x.j->>'version')::bigint;
SELECT xdrec.drop_model('rep_few') IS NOT NULL AS few_dropped;
DROP TABLE gen_few;

-- adapt decides below the share too (xd_transfer_repeat_decide), on the
-- fit the method kept: auto chooses without the term, then the lift is
-- added, calibrated and decided before the target's cold module is
-- trained. rep_none repeats in neither domain: the lift cannot pay, and the
-- target's version is the one a repeat false adapt stores (the same method
-- and metrics, every tensor chunk's bytes, no rep or cold rho tensors, no
-- repeat_pop)
SELECT xdrec.create_model('rep_none', 'gen_once', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1}') > 0 AS created;
SET client_min_messages = warning;
SELECT xdrec.train('rep_none', 'd0') IS NOT NULL AS trained;
CREATE TEMP TABLE rep_none_auto AS SELECT xdrec.adapt('rep_none', 'd1', 'auto', deploy => 'never') AS j;
SELECT xdrec.alter_model('rep_none', options => '{"repeat": false}')->>'repeat' AS altered;
CREATE TEMP TABLE rep_none_false AS SELECT xdrec.adapt('rep_none', 'd1', 'auto', deploy => 'never') AS j;
RESET client_min_messages;
SELECT a.j->'repeat_auto'->>'applied' AS applied,
       (a.j->'repeat_auto'->>'decided')::boolean AS decided,
       (a.j->'repeat_auto'->>'term_kept')::boolean AS term_kept,
       (a.j->'repeat_auto'->>'valid_mrr_lift')::float8 <= (a.j->'repeat_auto'->>'valid_mrr_off')::float8 AS lift_not_better,
       (a.j->'repeat_auto'->>'n')::int > 0 AS positives,
       f.j->'repeat_auto' IS NULL AS false_no_record,
       a.j->'method' = f.j->'method' AS same_method, a.j->'candidates' = f.j->'candidates' AS same_candidates,
       a.j->'best_valid' = f.j->'best_valid' AS same_validation, a.j->'test' = f.j->'test' AS same_test,
       a.j->'repeat' IS NULL AND a.j->'repeat_pop' IS NULL AS no_repeat_records,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = (f.j->>'version')::bigint) AS tensor_chunks,
       (SELECT count(*) FROM xdrec.weight w JOIN xdrec.weight x ON x.tensor = w.tensor AND x.chunk = w.chunk AND x.data = w.data
        WHERE w.version_id = (f.j->>'version')::bigint AND x.version_id = (a.j->>'version')::bigint) AS same_bytes,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = (a.j->>'version')::bigint) AS auto_chunks,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = (a.j->>'version')::bigint AND w.tensor LIKE '%rep.%') AS any_rep_tensors
FROM rep_none_auto a, rep_none_false f;
-- a target below the share where the lift pays: d1's rows once each plus
-- about a fifth of its repeats (a 19% share); the target keeps the lift,
-- with the cold module's rho and repeat_pop, as "lift" stores them
CREATE TABLE gen_few1 AS
SELECT g.* FROM gen_once g WHERE domain = 'd0'
UNION ALL
SELECT g.* FROM gen g
JOIN (SELECT ctid AS c, row_number() OVER (PARTITION BY user_key, item_key ORDER BY ctid) AS k
      FROM gen WHERE domain = 'd1') n ON g.ctid = n.c
WHERE n.k = 1 OR abs(hashint8(g.user_key::bigint * 1000 + g.item_key::bigint * 7 + n.k)) % 1000 < 200;
SELECT xdrec.create_model('rep_few1', 'gen_few1', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1}') > 0 AS created;
SET client_min_messages = warning;
SELECT xdrec.train('rep_few1', 'd0') IS NOT NULL AS trained;
CREATE TEMP TABLE rep_few1 AS SELECT xdrec.adapt('rep_few1', 'd1', 'auto') AS j;
RESET client_min_messages;
SELECT (j->'repeat_auto'->>'repeat_share')::float8 < 0.25 AS below_share,
       j->'repeat_auto'->>'applied' AS applied,
       (j->'repeat_auto'->>'decided')::boolean AS decided,
       (j->'repeat_auto'->>'term_kept')::boolean AS term_kept,
       (j->'repeat_auto'->>'valid_mrr_lift')::float8 - (j->'repeat_auto'->>'valid_mrr_off')::float8
         > (j->'repeat_auto'->>'se')::float8 AS beyond_one_se,
       v.encoder->'config'->>'repeat' AS recorded,
       j->'repeat'->>'kept' IS NOT NULL AS calibrated,
       j->'repeat_pop' IS NOT NULL AS pop_chosen,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('rep.w', 'rep.b') AND w.chunk = 0) AS rep_tensors,
       (SELECT count(*) FROM xdrec.weight w WHERE w.version_id = v.id AND w.tensor IN ('cold.rep.W', 'cold.rep.b') AND w.chunk = 0) AS cold_rho_tensors
FROM rep_few1 x JOIN xdrec.version v ON v.id = (x.j->>'version')::bigint;
SELECT count(*) > 0 AS ranked FROM xdrec.rank('rep_few1', (SELECT min(user_key) FROM gen_few1 WHERE domain = 'd1'), '{}', 10, domain => 'd1');
SELECT xdrec.drop_model('rep_none') IS NOT NULL AS none_dropped, xdrec.drop_model('rep_few1') IS NOT NULL AS few1_dropped;
DROP TABLE gen_few1;

SELECT xdrec.drop_model('rep_up') IS NOT NULL AS up_dropped, xdrec.drop_model('rep_down') IS NOT NULL AS down_dropped;
DROP TABLE gen_once, gen_up, gen_down;
-- a catalogue of 1,024 items or more: each item negative weighs the item
-- count over 256 (docs/training.md, "Item negatives on a large catalogue")
SELECT xdrec.generate('gen_wide', '{"seed": 3, "domains": 1, "sizes": {"source": {"users": 100, "items": 3000, "interactions": 10000}}}') AS rows;
SELECT xdrec.create_model('g_wide', 'gen_wide', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1, "cold": false}') AS model_id;
SELECT (j->>'items')::int >= 1024 AS wide,
       abs((j->>'item_negative_weight')::float8 - (j->>'items')::float8 / 256) < 1e-4 AS weight_is_items_over_256
FROM (SELECT xdrec.train('g_wide', 'd0') AS j) x;
SELECT xdrec.drop_model('g_wide');
DROP TABLE gen_wide;
SELECT xdrec.drop_model('g');
SELECT xdrec.drop_model('gt');
SELECT xdrec.drop_model('ex');
SELECT xdrec.drop_model('nf');
SELECT pg_temp.catalog_exact();
DROP ROLE xd_train_user;
DROP TABLE gen, gen_text, gen_ex;
DROP EXTENSION xdrec;
