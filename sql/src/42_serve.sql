-- ---------------------------------------------------------------------------
-- Serving and evaluation (src/pg/fn/, src/pg/serve/; DESIGN sections 5, 6;
-- docs/serving.md).

-- Ranking: a bigint form (models whose user and item keys are integers) and a
-- text form (every model; untyped driver parameters resolve to it). The
-- context goes by name in ctx; an encoded vector goes in ctx_vector. A user
-- without a trained embedding is ranked from their rows in the relation, and
-- an anonymous session (user_key NULL) from history (docs/cold-start.md);
-- on_unknown says what else ('popular', 'skip', 'error'), and the setting
-- xdrec.served_as how the call served its user.
CREATE OR REPLACE FUNCTION xdrec.rank(name text, user_key bigint, ctx jsonb, k integer DEFAULT 10,
						   domain text DEFAULT NULL, exclude_seen boolean DEFAULT NULL,
						   candidates bigint[] DEFAULT NULL, ctx_vector real[] DEFAULT NULL,
						   history jsonb DEFAULT NULL, on_unknown text DEFAULT 'cold')
RETURNS TABLE(item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_int8';

CREATE OR REPLACE FUNCTION xdrec.rank(name text, user_key text, ctx jsonb, k integer DEFAULT 10,
						   domain text DEFAULT NULL, exclude_seen boolean DEFAULT NULL,
						   candidates text[] DEFAULT NULL, ctx_vector real[] DEFAULT NULL,
						   history jsonb DEFAULT NULL, on_unknown text DEFAULT 'cold')
RETURNS TABLE(item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_text';

-- The short form, in the schema CREATE EXTENSION was given, on the model
-- named by the setting xdrec.default_model.
CREATE OR REPLACE FUNCTION @extschema@.xdrec_rank(user_key bigint, ctx jsonb, k integer DEFAULT 10)
RETURNS TABLE(item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_short_int8';

CREATE OR REPLACE FUNCTION @extschema@.xdrec_rank(user_key text, ctx jsonb, k integer DEFAULT 10)
RETURNS TABLE(item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_short_text';

CREATE OR REPLACE FUNCTION xdrec.predict(name text, user_key bigint, item_key bigint, ctx jsonb,
							  domain text DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS real
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_predict_int8';

CREATE OR REPLACE FUNCTION xdrec.predict(name text, user_key text, item_key text, ctx jsonb,
							  domain text DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS real
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_predict_text';

-- ---------------------------------------------------------------------------
-- Serving at speed (src/pg/fn/rank_fn.c, src/pg/serve/item_cache.c; docs/serving.md).

-- rank for many users in one context: users sharing a full encoded context
-- (the same domain and, with user-scoped features, the same profile values)
-- are scored as one matrix product. on_unknown: what a user without a trained
-- embedding gets: 'cold' (default) ranks them from their rows, 'popular'
-- too and by popularity when that fails, 'skip' leaves them out, 'error'
-- fails the call.
CREATE OR REPLACE FUNCTION xdrec.rank_many(name text, user_keys bigint[], ctx jsonb, k integer DEFAULT 10,
								domain text DEFAULT NULL, exclude_seen boolean DEFAULT NULL,
								on_unknown text DEFAULT 'cold')
RETURNS TABLE(user_key bigint, item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 1000
AS 'MODULE_PATHNAME', 'xdrec_rank_many_int8';

CREATE OR REPLACE FUNCTION xdrec.rank_many(name text, user_keys text[], ctx jsonb, k integer DEFAULT 10,
								domain text DEFAULT NULL, exclude_seen boolean DEFAULT NULL,
								on_unknown text DEFAULT 'cold')
RETURNS TABLE(user_key text, item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 1000
AS 'MODULE_PATHNAME', 'xdrec_rank_many_text';

CREATE OR REPLACE FUNCTION xdrec.cache_stats()
RETURNS TABLE(model text, domain text, version bigint, version_bytes bigint,
			  contexts integer, context_bytes bigint, hits bigint, misses bigint,
			  served_warm bigint, served_cold bigint, served_history bigint,
			  served_popular bigint)
LANGUAGE sql VOLATILE PARALLEL RESTRICTED SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.name, s.domain, s.version, s.version_bytes, s.contexts, s.context_bytes,
		   s.hits, s.misses, s.served_warm, s.served_cold, s.served_history, s.served_popular
	FROM xdrec_internal.cache_stats() s JOIN xdrec.model m ON m.id = s.model_id
	ORDER BY m.name, s.domain COLLATE "C", s.version
$$;

-- The served version of each domain (or of one) and, beside it, the random
-- and popularity-in-context baselines (the mean rating for explicit
-- feedback), on the test split or on the rows of test, held out by the caller;
-- protocol 'cold' the users option cold_holdout left out of training;
-- protocol 'fewshot' each target adapted from support => N of its rows.
CREATE OR REPLACE FUNCTION xdrec.evaluate(name text, domain text DEFAULT NULL, protocol text DEFAULT 'sampled',
							   seed integer DEFAULT 42, test regclass DEFAULT NULL,
							   support integer DEFAULT NULL)
RETURNS TABLE(domain text, method text, metric text, value double precision,
			  std_error double precision, n bigint, excluded bigint)
LANGUAGE c VOLATILE SECURITY INVOKER ROWS 15
AS 'MODULE_PATHNAME', 'xdrec_evaluate';
