-- A model's lifecycle (docs/sql-reference.md, "Lifecycle"): training the
-- source by the model's name, a typo that must not move the source,
-- xdrec.set_source, the deploy policy ('if_better' by default, 'always',
-- 'never'), xdrec.deploy, xdrec.versions, rollback over versions never
-- served, pruning by keep_versions, xdrec.alter_model with create_model's
-- validation, and adapt_all's only_stale. No raw floats: BLAS kernels differ
-- by CPU, so metrics are compared, not printed.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

-- an error with its hint
CREATE FUNCTION pg_temp.err_hint(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	h text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM || ' (hint: ' || h || ')';
END $$;

-- what every test below looks at: versions (served ones starred) and roles
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT format('versions %s; sources %s; served %s',
		(SELECT string_agg(domain || ':' || version || CASE WHEN served THEN '*' ELSE '' END, ' ' ORDER BY version)
		 FROM xdrec.versions WHERE model = 'lc'),
		(SELECT string_agg(domain, ',' ORDER BY domain) FROM xdrec.domains WHERE model = 'lc' AND role = 'source'),
		(SELECT string_agg(domain || '=' || served_version, ',' ORDER BY domain) FROM xdrec.domains WHERE model = 'lc'))
$$;

SELECT xdrec.generate('lgen', '{"seed": 3, "domains": 3, "sizes": {"source": {"users": 150, "items": 80, "interactions": 4000}, "target": {"users": 40, "items": 20, "interactions": 300}}}') AS rows;
-- repeat false: the policies on the model's own validation (the generated
-- rows repeat: the default "auto" would lift the user's items)
SELECT xdrec.create_model('lc', 'lgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 16, "epochs": 8, "seed": 1, "lr_search": 1, "repeat": false}') > 0 AS created;

-- train(name) needs the source named the first time
SELECT pg_temp.try($$SELECT xdrec.train('lc')$$);
SELECT j->'deployed' AS deployed, j->'deploy'->>'reason' AS reason, (j->>'version')::bigint AS v1
FROM xdrec.train('lc', 'd0') j \gset
SELECT :'deployed' AS deployed, :'reason' AS reason;
SELECT pg_temp.state();

-- a typo does not move the source: another domain is refused, nothing changes
SELECT pg_temp.err_hint($$SELECT xdrec.train('lc', 'd2')$$);
SELECT pg_temp.try($$SELECT xdrec.train('lc', 'd2', background => true)$$);
SELECT pg_temp.state();

-- train(name) trains the source; the same seed validates the same, so it is
-- not worse beyond noise and is served
SELECT j->'deployed' AS deployed, j->'deploy'->>'policy' AS policy,
       (j->'best_valid'->>'se')::float8 > 0 AS has_se, (j->>'version')::bigint AS v2
FROM xdrec.train('lc') j \gset
SELECT :'deployed' AS deployed, :'policy' AS policy, :'has_se' AS has_se;
SELECT pg_temp.state();

-- alter_model validates as create_model does, and changes nothing when it refuses
SELECT pg_temp.try($$SELECT xdrec.alter_model('lc', options => '{"lr": 7}')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('lc', options => '{"deploy": "sometimes"}')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('lc')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('nope', options => '{}')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('lc', features => '[{"name": "nope", "kind": "interactional", "type": "numeric"}]')$$);
SELECT options FROM xdrec.models WHERE name = 'lc';

-- a version that validates far worse is stored but not served (its notice
-- gives the two metrics and the margin, raw floats not printed here): an
-- untrained model without popularity in context on every item (with it, on
-- this world, popularity alone validates as well as the trained model)
SELECT xdrec.alter_model('lc', options => '{"epochs": 1, "lr": 1e-6, "context_popularity": 0}');
SET client_min_messages = warning;
SELECT j->'deployed' AS deployed, j->'deploy'->>'reason' ~ '^validation mrr [0-9.]+ against [0-9.]+ of the served version \d+ \(noise margin [0-9.]+: 2 standard errors\)$' AS reason_says_why,
       (j->>'version')::bigint AS bad
FROM xdrec.train('lc') j \gset
RESET client_min_messages;
SELECT :'deployed' AS deployed, :'reason_says_why' AS reason_says_why;
SELECT pg_temp.state();
SELECT version = :bad AS is_bad, served, state, trained_by = current_user AS trained_by_me,
       deployed_at IS NULL AS never_deployed, rows > 0 AS rows_ok,
       (valid->>'mrr')::float8 < (SELECT (valid->>'mrr')::float8 FROM xdrec.versions
                                  WHERE model = 'lc' AND version = :v1) AS worse,
       options->>'epochs' AS epochs, length(valid_curve) AS curve_points
FROM xdrec.versions WHERE model = 'lc' AND version = :bad;

-- the per-call policy: 'always' serves it, 'never' keeps it stored
SELECT j->'deployed' AS deployed, (j->>'version')::bigint AS v4 FROM xdrec.train('lc', deploy => 'always') j \gset
SELECT :'deployed' AS deployed;
SELECT j->'deployed' AS deployed FROM xdrec.train('lc', deploy => 'never') j;
SELECT pg_temp.try($$SELECT xdrec.train('lc', deploy => 'sometimes')$$);
SELECT pg_temp.state();

-- xdrec.deploy serves any stored version, and says what it replaced
SELECT xdrec.deploy('lc', 'd0', :v1) > :v1 AS replaced_a_later_one;
SELECT pg_temp.state();
SELECT pg_temp.try($$SELECT xdrec.deploy('lc', 'd1', 1)$$);
SELECT pg_temp.try($$SELECT xdrec.deploy('lc', 'd0', 1000)$$);
SELECT pg_temp.try($$SELECT xdrec.deploy('lc', 'd0', NULL)$$);

-- a target: kept unserved under 'never', then deployed by hand
SELECT xdrec.alter_model('lc', options => '{"lr": null, "epochs": 3, "context_popularity": null}');
SELECT j->'deployed' AS deployed, (j->>'version')::bigint AS t1
FROM xdrec.adapt('lc', 'd1', 'drr', deploy => 'never') j \gset
SELECT :'deployed' AS deployed;
SELECT count(*) AS d1_rows FROM xdrec.domains WHERE model = 'lc' AND domain = 'd1';
SELECT xdrec.deploy('lc', 'd1', :t1) IS NULL AS nothing_served_before;
SELECT domain, role, served_version = :t1 AS served, stale FROM xdrec.domains WHERE model = 'lc' AND domain = 'd1';
SELECT pg_temp.try($$SELECT xdrec.deploy('lc', 'd0', $$ || :t1 || $$)$$);

-- rollback steps back over versions that were never served
SELECT xdrec.deploy('lc', 'd0', :v4) = :v1 AS replaced_v1;
SELECT xdrec.rollback('lc') = :v2 AS rolled_back_to_v2;
SELECT pg_temp.state();

-- set_source on purpose: the next train(name) trains the new source, the old
-- one keeps serving as a target, targets adapted against it are stale
SELECT pg_temp.err_hint($$SELECT xdrec.set_source('lc', 'D2')$$);
SELECT pg_temp.err_hint($$SELECT xdrec.set_source('lc', 'd9')$$);
SELECT pg_temp.err_hint($$SELECT xdrec.set_source('lc', 'nope')$$);
SELECT xdrec.set_source('lc', 'd2');
SELECT pg_temp.try($$SELECT xdrec.adapt('lc', 'd1', 'drr')$$);
SELECT j->'deployed' AS deployed, j->>'domain' AS domain FROM xdrec.train('lc') j;
SELECT domain, role, stale FROM xdrec.domains WHERE model = 'lc' ORDER BY domain;
-- ... and back: the old source's version serves again, as the source
SELECT xdrec.set_source('lc', 'd0');
SELECT domain, role, stale FROM xdrec.domains WHERE model = 'lc' ORDER BY domain;
SELECT source_domain FROM xdrec.models WHERE name = 'lc';

-- adapt_all(only_stale): only what is stale or never adapted
SELECT xdrec.train('lc', deploy => 'always') ? 'version' AS trained;
SELECT domain, was_stale FROM xdrec.adapt_all('lc', 'direct', only_stale => true);
SELECT domain, was_stale FROM xdrec.adapt_all('lc', 'direct', only_stale => true);
SELECT count(*) AS all_targets FROM xdrec.adapt_all('lc', 'direct');

-- pruning: the newest keep_versions of a domain stay, and never a served
-- or pinned one
SELECT xdrec.alter_model('lc', options => '{"keep_versions": 1}') ->> 'keep_versions' AS keep;
SELECT xdrec.train('lc', deploy => 'never') -> 'deploy' ->> 'pruned' AS pruned;
SELECT count(*) AS d0_versions,
       count(*) FILTER (WHERE served) AS served,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM xdrec.version p
                                      WHERE p.pins_shared_version = v.version)) AS pinned
FROM xdrec.versions v WHERE model = 'lc' AND domain = 'd0';

-- a pinned version cannot be deleted; a pin must name a version of the model
SELECT regexp_replace(pg_temp.try($$DELETE FROM xdrec.version WHERE id = (SELECT min(pins_shared_version) FROM xdrec.version)$$), 'version \d+', 'version N', 'g') AS delete_pinned;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT regexp_replace(pg_temp.try($$UPDATE xdrec.version SET pins_shared_version = 424242 WHERE kind = 'target'$$), 'version \d+ pins', 'version N pins') AS bad_pin;
ROLLBACK;

-- the per-epoch curve of a version, served by default (BigQuery ML's
-- ML.TRAINING_INFO), and a sparkline of a series
SELECT count(*) AS epochs, count(*) FILTER (WHERE best) >= 1 AS has_best,
       bool_and(loss > 0 AND valid > 0 AND lr > 0 AND rows_per_sec > 0 AND seconds > 0) AS all_positive,
       array_agg(epoch ORDER BY epoch) AS numbered
FROM xdrec.training_info('lc');
SELECT count(*) AS epochs FROM xdrec.training_info('lc', 'd1');
SELECT count(*) AS epochs FROM xdrec.training_info('lc', version => :v1);
SELECT pg_temp.try($$SELECT * FROM xdrec.training_info('nope')$$);
SELECT pg_temp.err_hint($$SELECT * FROM xdrec.training_info('lc', 'D1')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.training_info('lc', 'd1', version => $$ || :v1 || $$)$$);
SELECT xdrec.sparkline('{1, 2, 3, NULL, 8, 4}'), xdrec.sparkline('{5, 5}'), xdrec.sparkline('{}') IS NULL AS empty;

-- features replaced by alter_model: what was trained before is out of date
-- (not corrupt) until the source is trained again
SELECT xdrec.alter_model('lc', features => (SELECT jsonb_agg(f) FROM jsonb_array_elements(xdrec.generated_features()) f
                                            WHERE f ->> 'name' <> 'cuisine')) ? 'd' AS altered;
SELECT pg_temp.try($$SELECT xdrec.adapt('lc', 'd1', 'direct')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('lc', 'd0')$$);
SELECT xdrec.train('lc', deploy => 'always') ->> 'm' AS narrower_context;
SELECT xdrec.adapt('lc', 'd1', 'direct') ? 'version' AS adapted_again;
SELECT count(*) > 0 AS evaluates FROM xdrec.evaluate('lc', 'd0');

SELECT xdrec.drop_model('lc');
DROP TABLE lgen;
DROP EXTENSION xdrec;
