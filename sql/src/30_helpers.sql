-- ---------------------------------------------------------------------------
-- Internal helpers of the functions below, in xdrec_internal: create_model's
-- validation, the model a call names, the generator's options and rows, a
-- job's shown state, the cache's statistics. Each runs as its caller and is
-- safe to call directly: it checks what the function it serves would check.

-- The type of column col of relation rel, domains resolved to their base
-- type; NULL when there is no such column.
CREATE OR REPLACE FUNCTION xdrec_internal.column_type(rel regclass, col text)
RETURNS regtype
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END::regtype
	FROM pg_catalog.pg_attribute a
	JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
	WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- Check that col exists in rel, the caller may read it, and its type is one
-- of allowed; returns the type's name. what names the column's role.
CREATE OR REPLACE FUNCTION xdrec_internal.check_column(rel regclass, col text, what text, allowed regtype[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t regtype;
BEGIN
	IF col IS NULL OR col = '' THEN
		RAISE EXCEPTION 'the % column must not be null or empty', what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	t := xdrec_internal.column_type(rel, col);
	IF t IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
			USING ERRCODE = 'undefined_column',
				  HINT = format('The %s column is given by name, as in the relation.', what);
	END IF;
	IF NOT pg_catalog.has_column_privilege(rel, col::name, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for column "%" of relation %', col, rel
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF allowed IS NOT NULL AND NOT (t = ANY (allowed)) THEN
		RAISE EXCEPTION 'column "%" of relation % has type %, which cannot be the % column', col, rel, t, what
			USING ERRCODE = 'datatype_mismatch',
				  HINT = format('The %s column must have one of the types %s.', what,
								array_to_string(allowed::text[], ', '));
	END IF;
	RETURN t::text;
END
$$;

-- A jsonb value as an integer in [lo, hi], or an error naming the option.
CREATE OR REPLACE FUNCTION xdrec_internal.int_option(what text, v jsonb, lo bigint, hi bigint)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(v) <> 'number' OR (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric)
	   OR (v #>> '{}')::numeric NOT BETWEEN lo AND hi THEN
		RAISE EXCEPTION '% must be an integer between % and %, not %', what, lo, hi, v
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN (v #>> '{}')::bigint;
END
$$;

-- A jsonb value as one of the strings allowed.
CREATE OR REPLACE FUNCTION xdrec_internal.enum_option(what text, v jsonb, allowed text[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(v) IS DISTINCT FROM 'string' OR NOT ((v #>> '{}') = ANY (allowed)) THEN
		RAISE EXCEPTION '% must be one of %, not %', what,
			array_to_string(allowed, ', '), coalesce(v::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN v #>> '{}';
END
$$;

-- Model options (DESIGN sections 3 and 4): known keys only, each of its type
-- and in its range, by the table of options (src/pg/data/options.c).
CREATE OR REPLACE FUNCTION xdrec_internal.check_options(options jsonb, has_rating boolean)
RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_check_options';

-- Every option of a model whose stored options are these, with the defaults
-- (the core's) resolved: the views read defaults here, never from a copy. A
-- stored value that breaks its option's rule (a row changed outside xdrec)
-- is null here, and options_fault says which: a listing shows every model.
CREATE OR REPLACE FUNCTION xdrec_internal.resolved_options(options jsonb)
RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_resolved_options';

-- NULL, or the stored options that break their rules, as the error a
-- function loading the model raises words them (xdrec.models.options_fault).
CREATE OR REPLACE FUNCTION xdrec_internal.options_fault(options jsonb)
RETURNS text
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_options_fault';

-- The table of options (src/pg/data/options.c): what each takes, its default
-- ("the core's" ones resolved), whether a version records it, a line of help.
CREATE OR REPLACE FUNCTION xdrec_internal.options(
	OUT name text, OUT "values" text, OUT "default" text, OUT recorded boolean, OUT help text)
RETURNS SETOF record
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_options';

/*
 * Check a feature expression and return its type. It must be one scalar
 * expression over the relation's columns: no statement separator, no
 * comment, parentheses balanced outside quotes (so it cannot close the
 * wrapping query), and it must be valid in a WHERE clause (no aggregate,
 * window or set-returning function). It is planned with the caller's
 * privileges and never evaluated (LIMIT 0 under an outer join).
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_expression(rel regclass, feature text, expr text)
RETURNS regtype
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	depth int := 0;
	quote text := NULL;
	ch text;
	t regtype;
	alias name;
BEGIN
	IF expr IS NULL OR btrim(expr) = '' THEN
		RAISE EXCEPTION 'expression of feature "%" is empty', feature
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF strpos(expr, ';') > 0 OR strpos(expr, '--') > 0 OR strpos(expr, '/*') > 0 THEN
		RAISE EXCEPTION 'expression of feature "%" must be a single expression without ";" or comments: %', feature, expr
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 1 .. length(expr) LOOP
		ch := substr(expr, i, 1);
		IF quote IS NOT NULL THEN
			IF ch = quote THEN
				quote := NULL;		-- a doubled quote reopens on the next character
			END IF;
		ELSIF ch IN ('''', '"') THEN
			quote := ch;
		ELSIF ch = '$' THEN
			RAISE EXCEPTION 'expression of feature "%" must not use dollar quoting or parameters: %', feature, expr
				USING ERRCODE = 'invalid_parameter_value';
		ELSIF ch = '(' THEN
			depth := depth + 1;
		ELSIF ch = ')' THEN
			depth := depth - 1;
			EXIT WHEN depth < 0;
		END IF;
	END LOOP;
	IF depth <> 0 OR quote IS NOT NULL THEN
		RAISE EXCEPTION 'expression of feature "%" has unbalanced parentheses or quotes: %', feature, expr
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c.relname INTO alias FROM pg_catalog.pg_class c WHERE c.oid = rel;
	BEGIN
		EXECUTE format('SELECT pg_catalog.pg_typeof(s.v)::regtype FROM (VALUES (1)) AS one(x) '
					   'LEFT JOIN (SELECT (%s) AS v FROM %s AS %I WHERE (%s) IS NULL LIMIT 0) AS s ON true',
					   expr, rel, alias, expr)
			INTO t;
	EXCEPTION
		WHEN syntax_error OR undefined_column OR undefined_function OR undefined_table
			 OR grouping_error OR feature_not_supported OR datatype_mismatch
			 OR wrong_object_type OR ambiguous_column OR ambiguous_function
			 OR invalid_text_representation OR undefined_object OR windowing_error THEN
			RAISE EXCEPTION 'expression of feature "%" is not a valid expression over %: %', feature, rel, SQLERRM
				USING ERRCODE = SQLSTATE;
		WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'expression of feature "%" reads what the current role may not: %', feature, SQLERRM
				USING ERRCODE = SQLSTATE;
	END;
	RETURN t;
END
$$;

-- The type names a feature of each type accepts.
CREATE OR REPLACE FUNCTION xdrec_internal.feature_type_ok(ftype text, t regtype)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE ftype
		WHEN 'numeric' THEN t IN ('smallint'::regtype, 'integer', 'bigint', 'real',
								  'double precision', 'numeric')
		WHEN 'boolean' THEN t = 'boolean'::regtype
		ELSE t NOT IN ('bytea'::regtype, 'json', 'jsonb')
	END
$$;

/*
 * create_model's validation, as the caller (the caller's privileges on the
 * relation and its columns decide, and feature expressions are planned with
 * them): the relation, the key, rating and feature columns, the feature
 * declarations and the options. Returns the key columns' types. Writes
 * nothing; xdrec.create_model (src/pg/fn/model_fn.c) writes the model once
 * this passed.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_model(
	name text,
	relation regclass,
	user_col text,
	item_col text,
	domain_col text,
	rating_col text,
	features jsonb,
	options jsonb,
	OUT user_type text,
	OUT item_type text,
	OUT domain_type text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	m_name text := check_model.name;
	rel regclass := check_model.relation;
	key_types regtype[] := ARRAY['bigint', 'integer', 'smallint', 'text', 'character varying',
								 'character', 'uuid']::regtype[];
	rating_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'real', 'double precision',
									'numeric']::regtype[];
	relkind "char";
BEGIN
	IF m_name IS NULL OR m_name = '' OR length(m_name) > 63 THEN
		RAISE EXCEPTION 'model name must be between 1 and 63 characters, not %', coalesce(quote_literal(m_name), 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c.relkind INTO relkind FROM pg_catalog.pg_class c WHERE c.oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with oid % does not exist', rel::oid USING ERRCODE = 'undefined_table';
	END IF;
	IF relkind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
		RAISE EXCEPTION '% is not a table, view, materialized view or foreign table', rel
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF NOT pg_catalog.has_any_column_privilege(rel, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for relation %', rel
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'A model reads its relation with the privileges of the role that creates and trains it.';
	END IF;

	user_type := xdrec_internal.check_column(rel, user_col, 'user', key_types);
	item_type := xdrec_internal.check_column(rel, item_col, 'item', key_types);
	domain_type := xdrec_internal.check_column(rel, domain_col, 'domain', key_types);
	IF user_col = item_col OR user_col = domain_col OR item_col = domain_col THEN
		RAISE EXCEPTION 'the user, item and domain columns must be distinct, not "%", "%", "%"',
			user_col, item_col, domain_col
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rating_col IS NOT NULL THEN
		PERFORM xdrec_internal.check_column(rel, rating_col, 'rating', rating_types);
		IF rating_col IN (user_col, item_col, domain_col) THEN
			RAISE EXCEPTION 'the rating column "%" must differ from the user, item and domain columns', rating_col
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;

	PERFORM xdrec_internal.check_options(options, rating_col IS NOT NULL);

	PERFORM xdrec_internal.check_time_col(rel, options);
	-- every feature (xdrec_internal.check_features, which alter_model uses too)
	PERFORM xdrec_internal.check_features(rel, features);
END
$$;

-- The visible model named m_name, locked, with the caller's check: 'own'
-- raises 42501 unless the caller owns it. Unknown or invisible: 42704.
CREATE OR REPLACE FUNCTION xdrec_internal.model_for(m_name text, privilege text)
RETURNS xdrec.model
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r xdrec.model;
BEGIN
	IF m_name IS NULL THEN
		RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO r FROM xdrec.model x WHERE x.name = m_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', m_name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT xdrec_internal.model_access(r.id, privilege) THEN
		RAISE EXCEPTION 'must be owner of model "%"', m_name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Model "%s" is owned by role "%s".', m_name, r.owner);
	END IF;
	RETURN r;
END
$$;

-- Synthetic data (src/core/generate.c, docs/generator.md).

-- The generator's options, validated, with their defaults.
CREATE OR REPLACE FUNCTION xdrec_internal.generate_options(options jsonb)
RETURNS TABLE(seed bigint, domains int, src_users int, src_items int, src_rows bigint,
			  tgt_users int, tgt_items int, tgt_rows bigint, explicit boolean, control boolean)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text;
	part text;
	sz jsonb;
BEGIN
	seed := 42; domains := 4;
	src_users := 2000; src_items := 1000; src_rows := 100000;
	tgt_users := 300; tgt_items := 200; tgt_rows := 3000;
	explicit := false; control := false;
	IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'generator options must be a json object, not %', coalesce(options::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(options) LOOP
		CASE k
			WHEN 'seed' THEN
				seed := xdrec_internal.int_option('option "seed"', options -> k, 0, 9223372036854775807);
			WHEN 'domains' THEN
				domains := xdrec_internal.int_option('option "domains"', options -> k, 1, 100);
			WHEN 'explicit', 'control' THEN
				IF jsonb_typeof(options -> k) <> 'boolean' THEN
					RAISE EXCEPTION 'option "%" must be true or false, not %', k, options -> k
						USING ERRCODE = 'invalid_parameter_value';
				END IF;
				IF k = 'explicit' THEN explicit := (options ->> k)::boolean;
				ELSE control := (options ->> k)::boolean; END IF;
			WHEN 'sizes' THEN
				IF jsonb_typeof(options -> k) <> 'object' THEN
					RAISE EXCEPTION 'option "sizes" must be an object like {"source": {"users": 2000, "items": 1000, "interactions": 100000}, "target": {...}}'
						USING ERRCODE = 'invalid_parameter_value';
				END IF;
				FOR part IN SELECT jsonb_object_keys(options -> k) LOOP
					sz := options -> k -> part;
					IF part NOT IN ('source', 'target') OR jsonb_typeof(sz) <> 'object'
					   OR EXISTS (SELECT 1 FROM jsonb_object_keys(sz) x WHERE x NOT IN ('users', 'items', 'interactions')) THEN
						RAISE EXCEPTION 'option "sizes" takes "source" and "target", each an object of "users", "items", "interactions", not %', options -> k
							USING ERRCODE = 'invalid_parameter_value';
					END IF;
					IF part = 'source' THEN
						src_users := coalesce(xdrec_internal.int_option('sizes.source.users', sz -> 'users', 1, 10000000), src_users);
						src_items := coalesce(xdrec_internal.int_option('sizes.source.items', sz -> 'items', 2, 10000000), src_items);
						src_rows := coalesce(xdrec_internal.int_option('sizes.source.interactions', sz -> 'interactions', 1, 1000000000), src_rows);
					ELSE
						tgt_users := coalesce(xdrec_internal.int_option('sizes.target.users', sz -> 'users', 1, 10000000), tgt_users);
						tgt_items := coalesce(xdrec_internal.int_option('sizes.target.items', sz -> 'items', 2, 10000000), tgt_items);
						tgt_rows := coalesce(xdrec_internal.int_option('sizes.target.interactions', sz -> 'interactions', 1, 1000000000), tgt_rows);
					END IF;
				END LOOP;
			ELSE
				RAISE EXCEPTION 'unknown generator option "%"', k
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Known options: seed, domains, sizes, explicit, control.';
		END CASE;
	END LOOP;
	RETURN NEXT;
END
$$;

-- The generator's rows for options, validated here too (generate_options),
-- so that a direct call is held to xdrec.generate's limits.
CREATE OR REPLACE FUNCTION xdrec_internal.generate_rows(options jsonb)
RETURNS TABLE(domain text, user_key bigint, item_key bigint, rating real, hour real,
			  weekday text, rain boolean, spend real, price real, cuisine text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'xdrec_generate_rows';

-- free reads failed (the worker vanished).
CREATE OR REPLACE FUNCTION xdrec_internal.job_state(job bigint, state text)
RETURNS text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'xdrec_job_state';

-- This backend's ranking cache: per cached version, its weights' bytes and
-- the item-tower outputs cached per context, with their hits and misses, and
-- how the users it ranked were served.
CREATE OR REPLACE FUNCTION xdrec_internal.cache_stats()
RETURNS TABLE(model_id bigint, domain text, version bigint, version_bytes bigint,
			  contexts integer, context_bytes bigint, hits bigint, misses bigint,
			  served_warm bigint, served_cold bigint, served_history bigint,
			  served_popular bigint)
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'xdrec_cache_stats';
