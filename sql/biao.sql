-- Source weighting in SQL (issue 21): option source_weighting 'biao' makes
-- xdrec.train of the source read the other domains as targets, train the
-- shared modules on BIAO-weighted source interactions and store the
-- perceptron with the version ("biao.phi", validated on load); the summary
-- reports the weights' distribution, the developing loss per upper step and
-- the cost. The core's tests check the numbers (the hypergradient against
-- finite differences, the weights' normalisation, determinism); this checks
-- the SQL layer. No raw floats.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('bgen', '{"seed": 3, "domains": 3, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 40, "items": 20, "interactions": 300}}}') AS rows;
SELECT xdrec.create_model('b', 'bgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 3, "lr_search": 1, "cold": false, "seed": 1}') AS model_id;

-- off by default: plain training, no perceptron stored
SELECT xdrec.train('b', 'd0') AS j \gset
SELECT :'j'::jsonb->'source_weighting' AS weighting_off;
SELECT pg_temp.try($$SELECT * FROM xdrec.source_weights('b')$$);
SELECT count(*) AS phi_tensors FROM xdrec.weight
WHERE version_id = (:'j'::jsonb->>'version')::bigint AND tensor = 'biao.phi';

-- bad values are refused, the options unchanged
SELECT pg_temp.try($$SELECT xdrec.alter_model('b', options => '{"source_weighting": "bilevel"}')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('b', options => '{"biao_interval": 0}')$$);
SELECT pg_temp.try($$SELECT xdrec.alter_model('b', options => '{"biao_upper": "zeroth"}')$$);
SELECT options ? 'source_weighting' AS changed FROM xdrec.model WHERE name = 'b';

-- on: the other domains are the targets, the perceptron moves every 5 steps
SELECT xdrec.alter_model('b', options => '{"source_weighting": "biao", "biao_interval": 5, "biao_warmup": 0}') ? 'source_weighting' AS altered;
SELECT xdrec.train('b') AS j \gset
SELECT :'j'::jsonb->'source_weighting'->>'method' AS method,
       :'j'::jsonb->'source_weighting'->'targets' AS targets,
       (:'j'::jsonb->'source_weighting'->>'targets_skipped')::int AS skipped;
SELECT w->>'n' = :'j'::jsonb->'split'->>'train' AS every_training_row_weighed,
       (w->>'min')::float8 <= (w->>'q10')::float8 AND (w->>'q10')::float8 <= (w->>'median')::float8
       AND (w->>'median')::float8 <= (w->>'q90')::float8 AND (w->>'q90')::float8 <= (w->>'max')::float8 AS ordered,
       (w->>'min')::float8 > 0 AS positive,
       (w->>'max')::float8 > (w->>'min')::float8 AS not_uniform,
       (w->>'share_below_1')::float8 BETWEEN 0 AND 1 AS share_ok
FROM (SELECT :'j'::jsonb->'source_weighting'->'weights' AS w) s;
SELECT (s->>'upper_steps')::int > 0 AS stepped,
       jsonb_array_length(s->'dev_loss') = ceil((s->>'upper_steps')::int / (s->>'dev_every')::float8) AS one_loss_per_shown_step,
       (SELECT bool_and(x::float8 > 0) FROM jsonb_array_elements_text(s->'dev_loss') x) AS losses_positive,
       (s->>'upper_seconds')::float8 > 0 AS upper_timed,
       (s->>'cost_vs_plain')::float8 >= 1 AS costs_more
FROM (SELECT :'j'::jsonb->'source_weighting' AS s) t;
SELECT (:'j'::jsonb->>'version')::bigint AS src \gset
SELECT count(*) AS phi_tensors FROM xdrec.weight WHERE version_id = :src AND tensor = 'biao.phi';
-- pg_dump keeps them: the perceptron and the kept weights live in tables the extension dumps
SELECT bool_and(t::regclass = ANY (e.extconfig)) AS dumped
FROM pg_extension e, unnest('{xdrec.weight,xdrec.version}'::text[]) t WHERE e.extname = 'xdrec';
-- the source ranks (its load validates the perceptron), a target adapts unchanged on it
SELECT count(*) AS source_ranks FROM xdrec.rank('b', (SELECT min(user_key) FROM bgen WHERE domain = 'd0'), '{}', 5, domain => 'd0');
SELECT (xdrec.adapt('b', 'd1', 'drr')->>'pins_shared_version')::bigint = :src AS target_pins_weighted_source;

-- the interactions weighted most and least, with their context (biao_keep 20 per end)
SELECT side, count(*) AS n, bool_and(user_key IS NOT NULL AND item_key IS NOT NULL) AS keyed,
       bool_and(context ?& array['hour', 'weekday']) AS has_context
FROM xdrec.source_weights('b', 5) GROUP BY side ORDER BY side DESC;
SELECT min(weight) FILTER (WHERE side = 'top') >= max(weight) FILTER (WHERE side = 'bottom') AS top_above_bottom,
       bool_and(weight > 0) AS positive
FROM xdrec.source_weights('b', 100);
SELECT count(*) AS kept FROM xdrec.source_weights('b', 100);
-- ranked by weight within each side
SELECT bool_and(ok) AS ordered FROM (
	SELECT CASE side WHEN 'top' THEN weight <= lag(weight) OVER w ELSE weight >= lag(weight) OVER w END IS NOT FALSE AS ok
	FROM xdrec.source_weights('b', 20) WINDOW w AS (PARTITION BY side ORDER BY rank)) s;
SELECT pg_temp.try($$SELECT * FROM xdrec.source_weights('b', 0)$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.source_weights('nope', 3)$$);
-- corrupt: the kept weights not of the shape training writes
BEGIN;
UPDATE xdrec.version SET metrics = jsonb_set(metrics, '{source_weights,top,0,weight}', '"heavy"') WHERE id = :src;
SELECT pg_temp.try($$SELECT * FROM xdrec.source_weights('b', 3)$$);
ROLLBACK;

-- corrupt: the perceptron of another shape, or not finite, is refused on load
BEGIN;
UPDATE xdrec.weight w SET data = (SELECT data FROM xdrec.weight WHERE version_id = :src AND tensor = 'rank.w_C' AND chunk = 0)
WHERE w.version_id = :src AND w.tensor = 'biao.phi';
SELECT pg_temp.try($$SELECT xdrec.adapt('b', 'd2', 'drr')$$);
ROLLBACK;

-- no target big enough: an error naming the way out, the catalog unchanged
SELECT count(*) AS versions_before FROM xdrec.version \gset
BEGIN;
DELETE FROM bgen WHERE domain <> 'd0';
SELECT pg_temp.try($$SELECT xdrec.train('b')$$);
ROLLBACK;
-- the novelty curriculum is no per-row term BIAO can weigh
SELECT xdrec.alter_model('b', options => '{"beta": 0.5}') ? 'beta' AS altered;
SELECT pg_temp.try($$SELECT xdrec.train('b')$$);
SELECT count(*) = :versions_before AS catalog_unchanged FROM xdrec.version;

-- biao_upper zeroth_order: one step per epoch from the warm-up (4 at most),
-- each two 5-epoch copies compared on the targets' adapted loss
SELECT xdrec.alter_model('b', options => '{"beta": 0, "biao_upper": "zeroth_order"}') ? 'biao_upper' AS altered;
SELECT xdrec.train('b') AS jz \gset
SELECT s->>'upper' AS upper, (s->>'upper_steps')::int AS upper_steps,
       jsonb_array_length(s->'dev_loss') AS losses,
       (SELECT bool_and(x::float8 > 0) FROM jsonb_array_elements_text(s->'dev_loss') x) AS losses_positive,
       (s->'weights'->>'max')::float8 > (s->'weights'->>'min')::float8 AS not_uniform,
       (:'jz'::jsonb->>'epochs')::int AS epochs
FROM (SELECT :'jz'::jsonb->'source_weighting' AS s) t;
SELECT :'j'::jsonb->'source_weighting'->>'upper' AS implicit_upper;
SELECT xdrec.alter_model('b', options => '{"biao_upper": "implicit"}') ? 'biao_upper' AS altered;

-- forgetting a source user removes their kept interactions too, and only theirs
SELECT user_key AS fu, (SELECT count(*) FROM xdrec.source_weights('b', 1000)) AS kept_before
FROM xdrec.source_weights('b', 1000) WHERE side = 'top' AND rank = 1 \gset
SELECT count(*) AS kept_of_user FROM xdrec.source_weights('b', 1000) WHERE user_key = :'fu' \gset
SELECT :kept_of_user >= 1 AS user_kept, xdrec.forget_user('b', 'd0', :'fu') >= 1 AS forgotten;
SELECT count(*) FILTER (WHERE user_key = :'fu') AS kept_of_forgotten,
       count(*) = :kept_before - :kept_of_user AS others_kept
FROM xdrec.source_weights('b', 1000);

SELECT xdrec.drop_model('b');
DROP TABLE bgen;
DROP EXTENSION xdrec;
