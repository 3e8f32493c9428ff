-- ---------------------------------------------------------------------------
-- Tools: synthetic data (src/core/data/generate.c, docs/generator.md) and the
-- BLAS self-check.

CREATE OR REPLACE FUNCTION xdrec.generate(table_name text, options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_generate';

-- The features argument of create_model for a table made by xdrec.generate.
CREATE OR REPLACE FUNCTION xdrec.generated_features()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"},
	         {"name": "weekday", "column": "weekday", "kind": "interactional", "type": "categorical"},
	         {"name": "rain", "column": "rain", "kind": "interactional", "type": "boolean"},
	         {"name": "spend", "column": "spend", "kind": "historical", "type": "numeric", "scope": "user"},
	         {"name": "price", "column": "price", "kind": "attributional", "type": "numeric", "scope": "item"},
	         {"name": "cuisine", "column": "cuisine", "kind": "attributional", "type": "categorical", "scope": "item"}]'::jsonb
$$;

CREATE OR REPLACE FUNCTION xdrec.blas_selfcheck()
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'xdrec_blas_selfcheck';

