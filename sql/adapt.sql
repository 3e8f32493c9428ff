-- One-to-many transfer in SQL (DESIGN sections 1, 4, 7): xdrec.adapt with
-- every method, the pinned shared version and staleness, adapt_all, rollback,
-- ranking and evaluation through a target's deployed adaptation, and bad
-- input. The core's tests check the numbers (zero residuals reproduce Direct
-- exactly, frozen modules stay bit-identical); this checks the SQL layer. No
-- raw floats: BLAS kernels differ by CPU.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

CREATE FUNCTION pg_temp.catalog() RETURNS text LANGUAGE sql AS $$
	SELECT format('versions %s, weights %s, keys %s, seen %s, domains %s, served %s, states %s',
		(SELECT count(*) FROM xdrec.version), (SELECT count(*) FROM xdrec.weight),
		(SELECT count(*) FROM xdrec.key_map), (SELECT count(*) FROM xdrec.seen),
		(SELECT count(*) FROM xdrec.domain),
		(SELECT string_agg(domain || ':' || served_version, ',' ORDER BY domain) FROM xdrec.domain),
		(SELECT string_agg(state, ',' ORDER BY id) FROM xdrec.version))
$$;

-- a version's tensors by group
CREATE FUNCTION pg_temp.tensors(v bigint) RETURNS text LANGUAGE sql AS $$
	SELECT format('modules %s, embeddings %s, residuals %s, encoders %s',
		count(*) FILTER (WHERE tensor ~ '^(ctx|clu|rank)\.'),
		count(*) FILTER (WHERE tensor ~ '^(emb|bias)\.'),
		count(*) FILTER (WHERE tensor ~ '^res\.'),
		count(*) FILTER (WHERE tensor ~ '^enc\.[CUV]\.'))
	FROM xdrec.weight WHERE version_id = v
$$;

-- a digest of a version's blobs, to show they never change
CREATE FUNCTION pg_temp.digest(v bigint) RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(md5(data), '' ORDER BY tensor, chunk)) FROM xdrec.weight WHERE version_id = v
$$;

SELECT xdrec.generate('gen', '{"seed": 3, "domains": 3, "sizes": {"source": {"users": 150, "items": 80, "interactions": 4000}, "target": {"users": 40, "items": 20, "interactions": 300}}}') AS rows;
SELECT xdrec.create_model('g', 'gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 16, "epochs": 3, "seed": 1}') AS model_id;

-- nothing to adapt against before the source is trained
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd1')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g')$$);
SELECT pg_temp.try($$SELECT xdrec.rollback('g')$$);
SELECT pg_temp.catalog();

-- the source: the model, then its encoders E_C, E_U, E_V, stored with it
SELECT (xdrec.train('g', 'd0')->>'version')::bigint AS src1 \gset
SELECT pg_temp.tensors(:src1);
SELECT pg_temp.digest(:src1) AS src1_digest \gset

-- every method; each writes a target version pinning the source and serves it
CREATE TEMP TABLE runs (method text, j jsonb);
INSERT INTO runs SELECT m, xdrec.adapt('g', 'd1', m)
FROM unnest(ARRAY['drr', 'direct', 'anneal', 'target_only', 'auto']) m;
SELECT r.method AS requested, r.j->>'method' AS deployed,
       (r.j->>'pins_shared_version')::bigint = :src1 AS pins_source,
       (r.j->'test'->>'mrr')::float8 BETWEEN 0 AND 1 AS mrr_ok,
       (r.j->'test'->>'n')::int > 0 AS test_n_ok,
       (r.j->>'pretrain_epochs')::int AS pretrain,
       v.kind, v.method, v.pins_shared_version = :src1 AS version_pins,
       pg_temp.tensors(v.id)
FROM runs r JOIN xdrec.version v ON v.id = (r.j->>'version')::bigint
WHERE r.method <> 'auto'
ORDER BY v.id;
-- auto deploys one of its candidates (which one depends on the numbers)
SELECT j->'candidates' ?& ARRAY['target_only', 'anneal', 'drr'] AS auto_candidates,
       j->>'method' IN ('target_only', 'anneal', 'drr') AS auto_deployed_one,
       v.method = j->>'method' AS stored_as_winner, v.metrics->>'requested' AS requested
FROM runs r JOIN xdrec.version v ON v.id = (r.j->>'version')::bigint WHERE r.method = 'auto';
-- ... target-only unless a candidate's validation gain exceeds the margin: 2
-- standard errors, none on a target below auto_small_rows (1,000) training
-- rows, as this one (about 240)
SELECT (j->>'auto_margin')::float8 AS margin, (j->>'method' = 'target_only') =
       NOT bool_or((g.value->>'gain')::float8 > (j->>'auto_margin')::float8 * (g.value->>'se')::float8) AS auto_rule_holds,
       count(*) AS candidates_weighed
FROM runs, jsonb_each(j->'gain_over_target_only') g
WHERE method = 'auto' GROUP BY j;
SELECT (j->>'lambda_kl')::float8 = 0.1 AS drr_lambda_default FROM runs WHERE method = 'drr';
-- every fitted method searched its learning rate (3 rates by default) and kept one it tried
SELECT method, jsonb_array_length(j->'lr_search'->'tried') AS rates_tried,
       (j->'lr_search'->>'chosen')::float8 IN
           (SELECT (t->>'lr')::float8 FROM jsonb_array_elements(j->'lr_search'->'tried') t) AS kept_one_tried
FROM runs WHERE method IN ('drr', 'anneal', 'target_only') ORDER BY method;
-- adapting never writes the source's blobs
SELECT pg_temp.digest(:src1) = :'src1_digest' AS source_unchanged;

-- the default method is auto (docs/transfer.md says why)
SELECT j->>'requested' AS default_method, j ? 'candidates' AS weighed_candidates
FROM (SELECT xdrec.adapt('g', 'd1') AS j) x;
-- DRR deployed: rank and evaluate use the target's version
SELECT (xdrec.adapt('g', 'd1', 'drr')->>'version')::bigint AS t1 \gset
SELECT domain, role, method, served_version = :t1 AS served, pins_shared_version = :src1 AS pinned, stale
FROM xdrec.domains ORDER BY domain;
SELECT min(user_key) AS u1 FROM gen WHERE domain = 'd1' \gset
CREATE TEMP TABLE before AS SELECT * FROM xdrec.rank('g', :u1, '{"hour": 12, "weekday": "fri"}', 5);
SELECT count(*) AS n, bool_and(version = :t1) AS target_version,
       bool_and(item_key IN (SELECT item_key FROM gen WHERE domain = 'd1')) AS target_items
FROM before;
SELECT metric, method, n > 0 AS has_n, value BETWEEN 0 AND 1 AS in_range
FROM xdrec.evaluate('g', 'd1') WHERE metric IN ('mrr', 'hit@10') AND method = 'drr' ORDER BY metric;
-- evaluate agrees with the adaptation's own test metrics (same split and seed)
SELECT abs(e.value - (v.metrics->'test'->>'mrr')::float8) < 1e-5 AS matches_summary
FROM xdrec.evaluate('g', 'd1') e, xdrec.version v WHERE e.metric = 'mrr' AND e.method = 'drr' AND v.id = :t1;
SELECT count(*) AS both_domains FROM xdrec.evaluate('g') WHERE metric = 'mrr' AND method = 'popularity';

-- a retrained source: the target keeps serving on its pinned modules, stale
SELECT (xdrec.train('g', 'd0')->>'version')::bigint AS src2 \gset
SELECT domain, role, served_version = :src2 AS new_source, served_version = :t1 AS same_target,
       pins_shared_version = :src1 AS still_pinned, stale
FROM xdrec.domains ORDER BY domain;
SELECT (SELECT array_agg(item_key ORDER BY rank) FROM before) =
       (SELECT array_agg(item_key ORDER BY rank) FROM xdrec.rank('g', :u1, '{"hour": 12, "weekday": "fri"}', 5))
       AND (SELECT array_agg(score ORDER BY rank) FROM before) =
       (SELECT array_agg(score ORDER BY rank) FROM xdrec.rank('g', :u1, '{"hour": 12, "weekday": "fri"}', 5))
       AS same_ranking;

-- adapt_all: every target of the relation, stale ones first
SELECT domain, was_stale, version > :t1 AS new_version, summary->>'method' AS method,
       (summary->>'pins_shared_version')::bigint = :src2 AS pins_new_source
FROM xdrec.adapt_all('g', 'drr');
SELECT domain, role, method, pins_shared_version = :src2 AS pinned_new, stale
FROM xdrec.domains ORDER BY domain;
SELECT bool_and(version > :t1) AS serves_new FROM xdrec.rank('g', :u1, '{}', 3);

-- rollback: a target back to its previous version (pinned to the old source)
SELECT xdrec.rollback('g', 'd1') = :t1 AS back_to_t1;
SELECT domain, served_version = :t1 AS serves_t1, stale FROM xdrec.domains WHERE domain = 'd1';
SELECT bool_and(version = :t1) AS ranks_t1 FROM xdrec.rank('g', :u1, '{}', 3);
SELECT count(*) AS retired FROM xdrec.version WHERE state = 'retired';
-- the source back to its previous version: the targets pinned to it are current again
SELECT xdrec.rollback('g') = :src1 AS back_to_src1;
SELECT domain, role, stale FROM xdrec.domains ORDER BY domain;
SELECT pg_temp.try($$SELECT xdrec.rollback('g')$$);

-- options: lambda_kl 'search', pretrain_epochs 0, auto_margin 0, lr_search 1 (one fit at lr)
SELECT xdrec.create_model('g2', 'gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 16, "epochs": 2, "seed": 1, "lambda_kl": "search", "pretrain_epochs": 0,
	             "auto_margin": 0, "lr_search": 1}') AS model_id;
SELECT (j->>'epochs')::int AS epochs, jsonb_array_length(j->'lr_search'->'tried') AS rates_tried,
       (j->'lr_search'->>'chosen')::float8 = 0.001 AS at_lr
FROM (SELECT xdrec.train('g2', 'd0') AS j) x;
SELECT j->>'method' AS method, (j->>'lambda_kl')::float8 IN (0.01, 0.1, 1) AS lambda_searched,
       (j->>'pretrain_epochs')::int AS pretrain, jsonb_array_length(j->'lr_search'->'tried') AS rates_tried
FROM (SELECT xdrec.adapt('g2', 'd2', 'drr') AS j) x;
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"lambda_kl": "searching"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"lambda_kl": -1}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"pretrain_epochs": -1}')$$);
-- auto_margin 0: auto deploys the best candidate on validation
SELECT (j->>'auto_margin')::float8 AS margin,
       j->>'method' = (SELECT key FROM jsonb_each_text(j->'candidates')
                       ORDER BY value::float8 DESC LIMIT 1) AS best_on_validation
FROM (SELECT xdrec.adapt('g2', 'd2', 'auto') AS j) x;
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"auto_margin": -0.5}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"auto_margin": "wide"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"auto_small_rows": -1}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"lr_search": 0}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"lr_search": 6}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('g3', 'gen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"lr_search": "wide"}')$$);

-- bad input: every error with its SQLSTATE, and the catalog unchanged
SELECT pg_temp.catalog() AS before_errors \gset
SELECT pg_temp.try($$SELECT xdrec.adapt('nope', 'd1')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt(NULL, 'd1')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', NULL)$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd1', NULL)$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd1', 'fancy')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'nowhere')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd0')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('nope', 'd1', background => true)$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd0', background => true)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('nope')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g', 'fancy')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('nope', background => true)$$);
SELECT pg_temp.try($$SELECT xdrec.rollback('nope')$$);
SELECT pg_temp.try($$SELECT xdrec.rollback('g', 'nowhere')$$);
INSERT INTO gen (domain, user_key, item_key) SELECT 'tiny', 90000000 + i, i % 3 FROM generate_series(1, 10) i;
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'tiny', 'direct')$$);
-- on_error => 'fail': one failing domain fails adapt_all as a whole
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g', 'direct', on_error => 'fail')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g', on_error => 'ignore')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g', on_error => NULL)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.adapt_all('g', min_rows => -1)$$);
DELETE FROM gen WHERE domain = 'tiny';
-- another role: adapting needs the train privilege
SET client_min_messages = warning;
DROP ROLE IF EXISTS xd_adapt_user;
RESET client_min_messages;
CREATE ROLE xd_adapt_user;
GRANT SELECT ON gen TO xd_adapt_user;
SELECT xdrec.grant('g', 'xd_adapt_user', 'use');
SET ROLE xd_adapt_user;
SELECT pg_temp.try($$SELECT xdrec.adapt('g', 'd1')$$);
SELECT pg_temp.try($$SELECT xdrec.rollback('g', 'd1')$$);
SELECT count(*) AS can_rank FROM xdrec.rank('g', :u1, '{}', 3);
RESET ROLE;
-- a cancelled adaptation leaves nothing behind
\set VERBOSITY terse
SET statement_timeout = '5ms';
SELECT xdrec.adapt('g', 'd1', 'auto') IS NOT NULL AS adapted;
RESET statement_timeout;
\set VERBOSITY default
SELECT pg_temp.catalog() = :'before_errors' AS catalog_unchanged;

-- with the train privilege, another role adapts and rolls back, as itself
SELECT xdrec.grant('g', 'xd_adapt_user', 'train');
SET ROLE xd_adapt_user;
SELECT j->>'method' AS method, (j->>'version')::bigint > 0 AS adapted
FROM (SELECT xdrec.adapt('g', 'd1', 'direct') AS j) x;
SELECT domain, method FROM xdrec.domains WHERE domain = 'd1';
SELECT xdrec.rollback('g', 'd1') > 0 AS rolled_back;
SELECT domain, method FROM xdrec.domains WHERE domain = 'd1';
RESET ROLE;

INSERT INTO gen (domain, user_key, item_key) SELECT 'tiny', 90000000 + i, i % 3 FROM generate_series(1, 10) i;
-- a tiny domain no longer blocks the others: its failure is its row's outcome,
-- the other targets get new versions (each domain in a subtransaction);
-- auto serves it by popularity (this source has no few-shot meta-learner)
SELECT xdrec.adapt('g', 'tiny')->'popularity'->>'reason' AS reason;
-- ... which evaluate measures as the popularity heuristic (no model to score)
SELECT string_agg(DISTINCT method, ', ') AS evaluated FROM xdrec.evaluate('g', 'tiny');
SELECT count(*) AS versions_before FROM xdrec.version \gset
SELECT domain, outcome, reason, summary->>'sqlstate' AS sqlstate, (summary->>'rows')::int AS rows,
       summary->>'method' AS method, version IS NOT NULL AS has_version
FROM xdrec.adapt_all('g', 'direct', deploy => 'always') ORDER BY domain;
SELECT count(*) - :versions_before AS new_versions FROM xdrec.version;
SELECT domain, served_version > :t1 AS new_served FROM xdrec.domains WHERE model = 'g' AND role = 'target' ORDER BY domain;
-- min_rows: below it a domain is not even tried
SELECT domain, outcome, reason FROM xdrec.adapt_all('g', 'direct', min_rows => 11) ORDER BY domain;
DELETE FROM gen WHERE domain = 'tiny';

SELECT xdrec.drop_model('g2');
SELECT xdrec.drop_model('g');
DROP OWNED BY xd_adapt_user;
DROP ROLE xd_adapt_user;
DROP TABLE gen;
DROP EXTENSION xdrec;
