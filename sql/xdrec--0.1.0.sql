/* xdrec--0.1.0.sql - install script (catalog 0.1.0, DESIGN sections 6, 7, 9) */

\echo Use "CREATE EXTENSION xdrec" to load this file. \quit

-- Everything lives in the fixed schema xdrec; only the short form xdrec_rank
-- (a later release) goes to @extschema@, the schema CREATE EXTENSION chose.
CREATE SCHEMA xdrec;
GRANT USAGE ON SCHEMA xdrec TO PUBLIC;
COMMENT ON SCHEMA xdrec IS 'xdrec: catalog, functions and views of the recommender';

-- ---------------------------------------------------------------------------
-- Catalog. Table names are singular; the plural names (xdrec.models, ...) are
-- the views users read. Relations are regclass, roles are names: no raw OIDs,
-- so pg_dump/pg_restore carries everything (DESIGN section 7).

CREATE SEQUENCE xdrec.model_id_seq;
CREATE SEQUENCE xdrec.version_id_seq;
CREATE SEQUENCE xdrec.job_id_seq;

CREATE TABLE xdrec.model (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.model_id_seq'),
	name text NOT NULL UNIQUE
		CHECK (name <> '' AND pg_catalog.length(name) <= 63),
	relation regclass NOT NULL,
	user_col name NOT NULL,
	item_col name NOT NULL,
	domain_col name NOT NULL,
	rating_col name,
	user_type text NOT NULL,		-- key types, by SQL type name
	item_type text NOT NULL,
	domain_type text NOT NULL,
	options jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
	owner name NOT NULL DEFAULT CURRENT_USER,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	source_domain text				-- the default source domain, set by training
);

CREATE TABLE xdrec.feature (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	position int NOT NULL CHECK (position >= 1),
	name text NOT NULL CHECK (name <> ''),
	column_name name,
	expression text,
	kind text NOT NULL CHECK (kind IN ('interactional', 'historical', 'attributional')),
	type text NOT NULL CHECK (type IN ('numeric', 'categorical', 'boolean')),
	scope text NOT NULL DEFAULT 'interaction' CHECK (scope IN ('interaction', 'user', 'item')),
	options jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
	PRIMARY KEY (model_id, position),
	UNIQUE (model_id, name),
	CHECK ((column_name IS NULL) <> (expression IS NULL))
);

CREATE TABLE xdrec.domain (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	role text NOT NULL CHECK (role IN ('source', 'target')),
	stats jsonb,					-- normalisation statistics and vocabularies
	served_version bigint,			-- the version ranking uses; NULL before training
	PRIMARY KEY (model_id, domain)
);

CREATE TABLE xdrec.version (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.version_id_seq'),
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('source', 'target')),
	method text NOT NULL CHECK (method IN ('train', 'drr', 'anneal', 'direct', 'target_only')),
	-- deferred: pg_restore loads this table in heap order, not id order
	pins_shared_version bigint REFERENCES xdrec.version (id) DEFERRABLE INITIALLY DEFERRED,
	state text NOT NULL DEFAULT 'building'
		CHECK (state IN ('building', 'ready', 'failed', 'retired')),
	metrics jsonb NOT NULL DEFAULT '{}',
	-- config, feature layout and frozen vocabularies (src/pg/catalog.c)
	encoder jsonb,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (model_id, id)
);

ALTER TABLE xdrec.domain ADD FOREIGN KEY (model_id, served_version)
	REFERENCES xdrec.version (model_id, id);

-- Generic versioned weight store: blobs of src/core/blob.c, chunked below the
-- 1 GB datum limit.
CREATE TABLE xdrec.weight (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	tensor text NOT NULL,
	chunk int NOT NULL CHECK (chunk >= 0),
	data bytea NOT NULL,
	PRIMARY KEY (version_id, tensor, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);
ALTER TABLE xdrec.weight ALTER COLUMN data SET STORAGE EXTERNAL;	-- float noise does not compress

-- A version's key maps: dense id = position in the sorted keys ("C"
-- collation for text keys, numeric order for integers), in text form,
-- chunked (src/pg/catalog.c).
CREATE TABLE xdrec.key_map (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('user', 'item')),
	chunk int NOT NULL CHECK (chunk >= 0),
	keys text[] NOT NULL,
	PRIMARY KEY (version_id, kind, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);

-- A version's training items per user (exclude_seen): users in id order,
-- 65,536 per chunk; counts[i] items of user chunk * 65536 + i, then items.
CREATE TABLE xdrec.seen (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	chunk int NOT NULL CHECK (chunk >= 0),
	counts int[] NOT NULL,
	items int[] NOT NULL,
	PRIMARY KEY (version_id, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);

CREATE TABLE xdrec.model_grant (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	grantee name NOT NULL,
	privilege text NOT NULL CHECK (privilege IN ('use', 'train')),
	owner name NOT NULL,			-- the model's owner when granted; see the policies
	granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, grantee)
);

CREATE TABLE xdrec.job (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.job_id_seq'),
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text,
	kind text NOT NULL CHECK (kind IN ('train', 'adapt')),	-- adapt_all submits adapt jobs
	state text NOT NULL DEFAULT 'scheduled'
		CHECK (state IN ('scheduled', 'running', 'finished', 'cancelling', 'cancelled', 'failed')),
	submitted_by name NOT NULL DEFAULT CURRENT_USER,
	login_role name NOT NULL DEFAULT SESSION_USER,
	submitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	error text,
	options jsonb NOT NULL DEFAULT '{}',
	result jsonb,
	pid integer,					-- the worker's, while it runs (src/pg/worker.c)
	sqlstate text					-- of the error a failed or cancelled job ended with
);

CREATE TABLE xdrec.job_progress (
	job_id bigint NOT NULL REFERENCES xdrec.job (id) ON DELETE CASCADE,
	epoch int NOT NULL,
	loss double precision,
	metric double precision,
	rows_per_sec double precision,
	eta interval,
	at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (job_id, epoch)
);

-- pg_dump keeps the catalog's rows (DESIGN section 7).
SELECT pg_catalog.pg_extension_config_dump('xdrec.model', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.feature', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.domain', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.version', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.weight', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.key_map', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.seen', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.model_grant', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.job', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.job_progress', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.job_id_seq', '');

-- ---------------------------------------------------------------------------
-- Access control (DESIGN section 9, docs/security.md). The tables are granted
-- to PUBLIC and row-level security decides which rows a role sees and changes,
-- so every function stays SECURITY INVOKER.

-- Whether the current role is (a member of) role r; false for a dropped role.
CREATE FUNCTION xdrec._is_member(r name)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT pg_catalog.pg_has_role(a.oid, 'MEMBER')
					 FROM pg_catalog.pg_roles a WHERE a.rolname = r), false)
$$;

/*
 * Whether the current role holds privilege want on model id m: 'own' (the owner),
 * 'train' (owner or a train grant) or 'use' (owner or any grant). The model
 * row is read under its own policy, so an invisible model gives false.
 * plpgsql, not inlined: its queries get their own row-level security, which
 * keeps the policies below free of recursion.
 */
CREATE FUNCTION xdrec._model_access(m bigint, want text)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o name;
BEGIN
	SELECT x.owner INTO o FROM xdrec.model x WHERE x.id = m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF xdrec._is_member(o) THEN
		RETURN true;
	END IF;
	IF want = 'own' THEN
		RETURN false;
	END IF;
	RETURN EXISTS (SELECT 1 FROM xdrec.model_grant g
				   WHERE g.model_id = m AND g.owner = o
					 AND xdrec._is_member(g.grantee)
					 AND (want = 'use' OR g.privilege = 'train'));
END
$$;

-- The owner of model id m as the current role sees it (NULL if invisible).
CREATE FUNCTION xdrec._model_owner(m bigint)
RETURNS name
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT x.owner FROM xdrec.model x WHERE x.id = m);
END
$$;

ALTER TABLE xdrec.model ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.feature ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.domain ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.version ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.weight ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.key_map ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.seen ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.model_grant ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.job ENABLE ROW LEVEL SECURITY;
ALTER TABLE xdrec.job_progress ENABLE ROW LEVEL SECURITY;

-- Only a model's owner writes its grants, and a grant counts only while its
-- recorded owner is still the model's owner (belt and braces: a forged row
-- cannot name another role's model).
CREATE POLICY model_select ON xdrec.model FOR SELECT
	USING (xdrec._is_member(owner)
		   OR EXISTS (SELECT 1 FROM xdrec.model_grant g
					  WHERE g.model_id = id AND g.owner = model.owner
						AND xdrec._is_member(g.grantee)));
CREATE POLICY model_insert ON xdrec.model FOR INSERT
	WITH CHECK (owner = CURRENT_USER);
CREATE POLICY model_update ON xdrec.model FOR UPDATE
	USING (xdrec._model_access(id, 'train'))
	WITH CHECK (xdrec._model_access(id, 'train'));
CREATE POLICY model_delete ON xdrec.model FOR DELETE
	USING (xdrec._is_member(owner));

CREATE POLICY model_grant_select ON xdrec.model_grant FOR SELECT
	USING (xdrec._is_member(grantee) OR xdrec._is_member(owner));
CREATE POLICY model_grant_insert ON xdrec.model_grant FOR INSERT
	WITH CHECK (xdrec._is_member(owner) AND owner = xdrec._model_owner(model_id));
CREATE POLICY model_grant_update ON xdrec.model_grant FOR UPDATE
	USING (xdrec._is_member(owner))
	WITH CHECK (xdrec._is_member(owner) AND owner = xdrec._model_owner(model_id));
CREATE POLICY model_grant_delete ON xdrec.model_grant FOR DELETE
	USING (xdrec._is_member(owner));

-- Features are written once, by the owner, when the model is created.
CREATE POLICY feature_select ON xdrec.feature FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY feature_write ON xdrec.feature FOR ALL
	USING (xdrec._model_access(model_id, 'own'))
	WITH CHECK (xdrec._model_access(model_id, 'own'));

-- Training state: read with 'use', written with 'train'.
CREATE POLICY domain_select ON xdrec.domain FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY domain_write ON xdrec.domain FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train'));
CREATE POLICY version_select ON xdrec.version FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY version_write ON xdrec.version FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train'));
CREATE POLICY weight_select ON xdrec.weight FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY weight_write ON xdrec.weight FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train'));
CREATE POLICY key_map_select ON xdrec.key_map FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY key_map_write ON xdrec.key_map FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train'));
CREATE POLICY seen_select ON xdrec.seen FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
CREATE POLICY seen_write ON xdrec.seen FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train'));
CREATE POLICY job_select ON xdrec.job FOR SELECT
	USING (xdrec._model_access(model_id, 'use'));
-- a job's worker connects as its login_role: a row may name only the
-- writer's own session (docs/jobs.md)
CREATE POLICY job_write ON xdrec.job FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train') AND submitted_by = CURRENT_USER
				AND login_role = SESSION_USER);
CREATE POLICY job_progress_select ON xdrec.job_progress FOR SELECT
	USING (EXISTS (SELECT 1 FROM xdrec.job j WHERE j.id = job_id));
CREATE POLICY job_progress_write ON xdrec.job_progress FOR ALL
	USING (EXISTS (SELECT 1 FROM xdrec.job j
				   WHERE j.id = job_id AND xdrec._model_access(j.model_id, 'train')))
	WITH CHECK (EXISTS (SELECT 1 FROM xdrec.job j
						WHERE j.id = job_id AND xdrec._model_access(j.model_id, 'train')));

GRANT SELECT, INSERT, DELETE ON xdrec.model TO PUBLIC;
GRANT UPDATE (source_domain) ON xdrec.model TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON xdrec.feature TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON xdrec.domain, xdrec.version, xdrec.weight,
	xdrec.job, xdrec.job_progress TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON xdrec.key_map, xdrec.seen TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON xdrec.model_grant TO PUBLIC;
GRANT UPDATE (privilege, granted_at) ON xdrec.model_grant TO PUBLIC;
GRANT USAGE ON SEQUENCE xdrec.model_id_seq, xdrec.version_id_seq, xdrec.job_id_seq TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Helpers for create_model's validation.

-- The type of column col of relation rel, domains resolved to their base
-- type; NULL when there is no such column.
CREATE FUNCTION xdrec._column_type(rel regclass, col text)
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
CREATE FUNCTION xdrec._check_column(rel regclass, col text, what text, allowed regtype[])
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
	t := xdrec._column_type(rel, col);
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
CREATE FUNCTION xdrec._int_option(what text, v jsonb, lo bigint, hi bigint)
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

-- A jsonb value as a number in [lo, hi] (or [lo, hi) when hi_open).
CREATE FUNCTION xdrec._num_option(what text, v jsonb, lo numeric, hi numeric, lo_open boolean, hi_open boolean)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	x numeric;
BEGIN
	IF jsonb_typeof(v) = 'number' THEN
		x := (v #>> '{}')::numeric;
	END IF;
	IF x IS NULL OR x < lo OR x > hi OR (lo_open AND x = lo) OR (hi_open AND x = hi) THEN
		RAISE EXCEPTION '% must be a number in %, not %', what,
			CASE WHEN lo_open THEN '(' ELSE '[' END || lo || ', ' || hi
			|| CASE WHEN hi_open THEN ')' ELSE ']' END, v
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN x;
END
$$;

-- A jsonb value as one of the strings allowed.
CREATE FUNCTION xdrec._enum_option(what text, v jsonb, allowed text[])
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

-- Model options (DESIGN sections 3 and 4): known keys only, in range.
CREATE FUNCTION xdrec._check_options(options jsonb, has_rating boolean)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text;
	v jsonb;
	known text[] := ARRAY['d', 'context_layers', 'tower_layers', 'variant', 'mm_residual',
						  'feedback', 'dropout', 'beta', 'lr', 'batch_size', 'epochs',
						  'patience', 'seed', 'vocab_cap', 'lambda_kl', 'pretrain_epochs',
						  'val_sample', 'dedup', 'auto_margin'];
BEGIN
	IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a json object, not %', coalesce(options::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(options) LOOP
		CASE k
			WHEN 'd' THEN PERFORM xdrec._int_option('option "d"', v, 1, 1024);
			WHEN 'context_layers' THEN PERFORM xdrec._int_option('option "context_layers"', v, 0, 16);
			WHEN 'tower_layers' THEN PERFORM xdrec._int_option('option "tower_layers"', v, 0, 16);
			WHEN 'variant' THEN PERFORM xdrec._enum_option('option "variant"', v, ARRAY['mmt', 'fmt']);
			WHEN 'feedback' THEN
				IF xdrec._enum_option('option "feedback"', v, ARRAY['implicit', 'explicit']) = 'explicit'
				   AND NOT has_rating THEN
					RAISE EXCEPTION 'option "feedback" is "explicit" but no rating column was given'
						USING ERRCODE = 'invalid_parameter_value',
							  HINT = 'Pass rating_col => the column holding the ratings.';
				END IF;
			WHEN 'dropout' THEN PERFORM xdrec._num_option('option "dropout"', v, 0, 1, false, true);
			WHEN 'beta' THEN PERFORM xdrec._num_option('option "beta"', v, 0, 100, false, false);
			WHEN 'lr' THEN PERFORM xdrec._num_option('option "lr"', v, 0, 1, true, false);
			WHEN 'batch_size' THEN PERFORM xdrec._int_option('option "batch_size"', v, 1, 1048576);
			WHEN 'epochs' THEN PERFORM xdrec._int_option('option "epochs"', v, 1, 100000);
			WHEN 'patience' THEN PERFORM xdrec._int_option('option "patience"', v, 0, 100000);
			WHEN 'seed' THEN PERFORM xdrec._int_option('option "seed"', v, 0, 9223372036854775807);
			WHEN 'vocab_cap' THEN PERFORM xdrec._int_option('option "vocab_cap"', v, 1, 1000000);
			WHEN 'lambda_kl' THEN
				IF v IS DISTINCT FROM '"search"'::jsonb THEN
					PERFORM xdrec._num_option('option "lambda_kl"', v, 0, 1000, false, false);
				END IF;
			WHEN 'pretrain_epochs' THEN PERFORM xdrec._int_option('option "pretrain_epochs"', v, 0, 1000);
			WHEN 'auto_margin' THEN PERFORM xdrec._num_option('option "auto_margin"', v, 0, 100, false, false);
			WHEN 'val_sample' THEN PERFORM xdrec._int_option('option "val_sample"', v, 1, 100000000);
			WHEN 'mm_residual', 'dedup' THEN
				IF jsonb_typeof(v) <> 'boolean' THEN
					RAISE EXCEPTION 'option "%" must be true or false, not %', k, v
						USING ERRCODE = 'invalid_parameter_value';
				END IF;
			ELSE
				RAISE EXCEPTION 'unknown option "%"', k
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Known options: ' || array_to_string(known, ', ') || '.';
		END CASE;
	END LOOP;
	RETURN options;
END
$$;

/*
 * Check a feature expression and return its type. It must be one scalar
 * expression over the relation's columns: no statement separator, no
 * comment, parentheses balanced outside quotes (so it cannot close the
 * wrapping query), and it must be valid in a WHERE clause (no aggregate,
 * window or set-returning function). It is planned with the caller's
 * privileges and never evaluated (LIMIT 0 under an outer join).
 */
CREATE FUNCTION xdrec._check_expression(rel regclass, feature text, expr text)
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
CREATE FUNCTION xdrec._feature_type_ok(ftype text, t regtype)
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

-- ---------------------------------------------------------------------------
-- Models.

CREATE FUNCTION xdrec.create_model(
	name text,
	relation regclass,
	user_col text,
	item_col text,
	domain_col text,
	rating_col text DEFAULT NULL,
	features jsonb DEFAULT '[]',
	options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	m_name text := create_model.name;
	rel regclass := create_model.relation;
	key_types regtype[] := ARRAY['bigint', 'integer', 'smallint', 'text', 'character varying',
								 'character', 'uuid']::regtype[];
	rating_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'real', 'double precision',
									'numeric']::regtype[];
	relkind "char";
	ut text;
	it text;
	dt text;
	f jsonb;
	fk text;
	fname text;
	fkind text;
	ftype text;
	fscope text;
	fopts jsonb;
	fcol text;
	fexpr text;
	t regtype;
	seen text[] := '{}';
	pos int := 0;
	new_id bigint;
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

	ut := xdrec._check_column(rel, user_col, 'user', key_types);
	it := xdrec._check_column(rel, item_col, 'item', key_types);
	dt := xdrec._check_column(rel, domain_col, 'domain', key_types);
	IF user_col = item_col OR user_col = domain_col OR item_col = domain_col THEN
		RAISE EXCEPTION 'the user, item and domain columns must be distinct, not "%", "%", "%"',
			user_col, item_col, domain_col
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rating_col IS NOT NULL THEN
		PERFORM xdrec._check_column(rel, rating_col, 'rating', rating_types);
		IF rating_col IN (user_col, item_col, domain_col) THEN
			RAISE EXCEPTION 'the rating column "%" must differ from the user, item and domain columns', rating_col
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;

	PERFORM xdrec._check_options(options, rating_col IS NOT NULL);

	IF features IS NULL OR jsonb_typeof(features) <> 'array' THEN
		RAISE EXCEPTION 'features must be a json array of objects, not %', coalesce(features::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- validate every feature before writing anything
	FOR f IN SELECT e FROM jsonb_array_elements(features) AS e LOOP
		pos := pos + 1;
		IF jsonb_typeof(f) <> 'object' THEN
			RAISE EXCEPTION 'feature % must be a json object, not %', pos, f
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		FOR fk IN SELECT jsonb_object_keys(f) LOOP
			IF fk NOT IN ('name', 'column', 'expression', 'kind', 'type', 'scope', 'options') THEN
				RAISE EXCEPTION 'feature % has an unknown key "%"', pos, fk
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Known keys: name, column, expression, kind, type, scope, options.';
			END IF;
		END LOOP;
		IF jsonb_typeof(f -> 'name') IS DISTINCT FROM 'string' OR f ->> 'name' = '' THEN
			RAISE EXCEPTION 'feature % needs a "name" string', pos
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		fname := f ->> 'name';
		IF length(fname) > 63 THEN
			RAISE EXCEPTION 'feature name "%" is longer than 63 characters', fname
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF fname = ANY (seen) THEN
			RAISE EXCEPTION 'feature "%" is declared twice', fname
				USING ERRCODE = 'duplicate_object';
		END IF;
		seen := seen || fname;
		fkind := xdrec._enum_option(format('kind of feature "%s"', fname), f -> 'kind',
									ARRAY['interactional', 'historical', 'attributional']);
		ftype := xdrec._enum_option(format('type of feature "%s"', fname), f -> 'type',
									ARRAY['numeric', 'categorical', 'boolean']);
		fscope := xdrec._enum_option(format('scope of feature "%s"', fname),
									 coalesce(f -> 'scope', '"interaction"'),
									 ARRAY['interaction', 'user', 'item']);
		IF (f ? 'column') = (f ? 'expression') THEN
			RAISE EXCEPTION 'feature "%" needs exactly one of "column" and "expression"', fname
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF f ? 'column' THEN
			IF jsonb_typeof(f -> 'column') <> 'string' THEN
				RAISE EXCEPTION 'column of feature "%" must be a string, not %', fname, f -> 'column'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			fcol := f ->> 'column';
			t := xdrec._check_column(rel, fcol, format('feature "%s"', fname), NULL)::regtype;
		ELSE
			IF jsonb_typeof(f -> 'expression') <> 'string' THEN
				RAISE EXCEPTION 'expression of feature "%" must be a string, not %', fname, f -> 'expression'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			t := xdrec._check_expression(rel, fname, f ->> 'expression');
		END IF;
		IF NOT xdrec._feature_type_ok(ftype, t) THEN
			RAISE EXCEPTION 'feature "%" is declared %, but its values have type %', fname, ftype, t
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'numeric features need a number type, boolean features a boolean; cast in an expression.';
		END IF;
		fopts := coalesce(f -> 'options', '{}');
		IF jsonb_typeof(fopts) <> 'object' THEN
			RAISE EXCEPTION 'options of feature "%" must be a json object, not %', fname, fopts
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		FOR fk IN SELECT jsonb_object_keys(fopts) LOOP
			IF fk = 'bins' AND ftype = 'numeric' THEN
				PERFORM xdrec._int_option(format('option "bins" of feature "%s"', fname), fopts -> fk, 2, 1000);
			ELSIF fk = 'vocab_cap' AND ftype = 'categorical' THEN
				PERFORM xdrec._int_option(format('option "vocab_cap" of feature "%s"', fname), fopts -> fk, 1, 1000000);
			ELSE
				RAISE EXCEPTION 'unknown option "%" for % feature "%"', fk, ftype, fname
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'numeric features take "bins", categorical features "vocab_cap".';
			END IF;
		END LOOP;
	END LOOP;

	BEGIN
		INSERT INTO xdrec.model (name, relation, user_col, item_col, domain_col, rating_col,
								 user_type, item_type, domain_type, options)
		VALUES (m_name, rel, user_col, item_col, domain_col, rating_col, ut, it, dt, options)
		RETURNING id INTO new_id;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" already exists', m_name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Model names are unique per database, whoever owns them.';
	END;

	pos := 0;
	FOR f IN SELECT e FROM jsonb_array_elements(features) AS e LOOP
		pos := pos + 1;
		INSERT INTO xdrec.feature (model_id, position, name, column_name, expression, kind, type, scope, options)
		VALUES (new_id, pos, f ->> 'name', f ->> 'column', f ->> 'expression', f ->> 'kind',
				f ->> 'type', coalesce(f ->> 'scope', 'interaction'), coalesce(f -> 'options', '{}'));
	END LOOP;
	RETURN new_id;
END
$$;

COMMENT ON FUNCTION xdrec.create_model(text, regclass, text, text, text, text, jsonb, jsonb) IS
	'declare a recommender over an interaction relation; returns the model id';

-- The visible model named m_name, locked, with the caller's check: 'own'
-- raises 42501 unless the caller owns it. Unknown or invisible: 42704.
CREATE FUNCTION xdrec._model_for(m_name text, privilege text)
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
	IF NOT xdrec._model_access(r.id, privilege) THEN
		RAISE EXCEPTION 'must be owner of model "%"', m_name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Model "%s" is owned by role "%s".', m_name, r.owner);
	END IF;
	RETURN r;
END
$$;

CREATE FUNCTION xdrec.drop_model(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r xdrec.model;
BEGIN
	r := xdrec._model_for(drop_model.name, 'own');
	-- its jobs are cancelled (docs/jobs.md): a worker deploys nothing to a dropped model
	PERFORM xdrec.cancel(j.id) FROM xdrec.job j
	WHERE j.model_id = r.id AND j.state IN ('scheduled', 'running');
	DELETE FROM xdrec.model x WHERE x.id = r.id;
END
$$;

CREATE FUNCTION xdrec.grant(name text, role text, privilege text DEFAULT 'use')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	g text := $2;
	p text := $3;
BEGIN
	-- positional: GRANT is a reserved word, so grant.role would not parse
	r := xdrec._model_for($1, 'own');
	IF g IS NULL THEN
		RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname = g) THEN
		RAISE EXCEPTION 'role "%" does not exist', g USING ERRCODE = 'undefined_object';
	END IF;
	IF p IS NULL OR p NOT IN ('use', 'train') THEN
		RAISE EXCEPTION 'privilege must be "use" or "train", not %', coalesce(quote_literal(p), 'null')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"use" lets a role see, rank and evaluate; "train" also lets it train and adapt.';
	END IF;
	IF g = r.owner THEN
		RAISE EXCEPTION 'role "%" owns model "%" already', g, r.name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO xdrec.model_grant AS x (model_id, grantee, privilege, owner)
	VALUES (r.id, g, p, r.owner)
	ON CONFLICT (model_id, grantee)
	DO UPDATE SET privilege = excluded.privilege, granted_at = pg_catalog.now();
END
$$;

CREATE FUNCTION xdrec.revoke(name text, role text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	g text := $2;
BEGIN
	r := xdrec._model_for($1, 'own');
	IF g IS NULL THEN
		RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname = g) THEN
		RAISE EXCEPTION 'role "%" does not exist', g USING ERRCODE = 'undefined_object';
	END IF;
	DELETE FROM xdrec.model_grant x WHERE x.model_id = r.id AND x.grantee = g;
	IF NOT FOUND THEN
		RAISE NOTICE 'role "%" has no grant on model "%"', g, r.name;
	END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Views. security_invoker, so the caller's row-level security applies.

CREATE VIEW xdrec.models WITH (security_invoker = true) AS
SELECT m.name,
	   m.relation,
	   m.user_col,
	   m.item_col,
	   m.domain_col,
	   m.rating_col,
	   coalesce(m.options ->> 'feedback', 'implicit') AS feedback,
	   coalesce(m.options ->> 'variant', 'mmt') AS variant,
	   (SELECT count(*) FROM xdrec.feature f WHERE f.model_id = m.id) AS features,
	   m.source_domain,
	   m.owner,
	   CASE WHEN xdrec._is_member(m.owner) THEN 'own'
			WHEN xdrec._model_access(m.id, 'train') THEN 'train'
			ELSE 'use' END AS access,
	   m.created_at,
	   m.options,
	   m.id
FROM xdrec.model m;

GRANT SELECT ON xdrec.models TO PUBLIC;

-- ---------------------------------------------------------------------------
-- C functions (src/pg/).

CREATE FUNCTION xdrec.blas_selfcheck()
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'xdrec_blas_selfcheck';

COMMENT ON FUNCTION xdrec.blas_selfcheck() IS
	'run an sgemm and report the backend''s threads, openblas_get_parallel() and the OpenBLAS build';

-- ---------------------------------------------------------------------------
-- Training and serving (src/pg/train_fn.c, rank_fn.c, evaluate_fn.c,
-- generate_fn.c; DESIGN sections 2, 5, 6, 7).

-- Any write to the tables ranking reads through its per-backend cache sends
-- a relcache invalidation of xdrec.domain, which every backend's cache
-- listens to (also on a hot standby: invalidations are WAL-logged).
CREATE FUNCTION xdrec._invalidate_cache()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'xdrec_invalidate_cache';

CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.model
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec._invalidate_cache();
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.model_grant
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec._invalidate_cache();
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.domain
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec._invalidate_cache();

CREATE FUNCTION xdrec.train(name text, source_domain text, background boolean DEFAULT false)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_train';

COMMENT ON FUNCTION xdrec.train(text, text, boolean) IS
	'train the model on its source domain, write a new version and serve it; returns the training summary';

-- Ranking: a bigint form (models whose user and item keys are integers) and a
-- text form (every model; untyped driver parameters resolve to it). The
-- context goes by name in ctx; an encoded vector goes in ctx_vector.
CREATE FUNCTION xdrec.rank(name text, user_key bigint, ctx jsonb, k integer,
						   domain text DEFAULT NULL, exclude_seen boolean DEFAULT true,
						   candidates bigint[] DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS TABLE(item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_int8';

CREATE FUNCTION xdrec.rank(name text, user_key text, ctx jsonb, k integer,
						   domain text DEFAULT NULL, exclude_seen boolean DEFAULT true,
						   candidates text[] DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS TABLE(item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_text';

COMMENT ON FUNCTION xdrec.rank(text, bigint, jsonb, integer, text, boolean, bigint[], real[]) IS
	'the top k items for a user in a context (integer keys)';
COMMENT ON FUNCTION xdrec.rank(text, text, jsonb, integer, text, boolean, text[], real[]) IS
	'the top k items for a user in a context (keys as text)';

-- The short form, in the schema CREATE EXTENSION was given, on the model
-- named by the setting xdrec.default_model.
CREATE FUNCTION @extschema@.xdrec_rank(user_key bigint, ctx jsonb, k integer)
RETURNS TABLE(item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_short_int8';

CREATE FUNCTION @extschema@.xdrec_rank(user_key text, ctx jsonb, k integer)
RETURNS TABLE(item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'xdrec_rank_short_text';

CREATE FUNCTION xdrec.predict(name text, user_key bigint, item_key bigint, ctx jsonb,
							  domain text DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS real
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_predict_int8';

CREATE FUNCTION xdrec.predict(name text, user_key text, item_key text, ctx jsonb,
							  domain text DEFAULT NULL, ctx_vector real[] DEFAULT NULL)
RETURNS real
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_predict_text';

COMMENT ON FUNCTION xdrec.predict(text, bigint, bigint, jsonb, text, real[]) IS
	'the predicted rating of an item by a user in a context (explicit-feedback models)';
COMMENT ON FUNCTION xdrec.predict(text, text, text, jsonb, text, real[]) IS
	'the predicted rating of an item by a user in a context (explicit-feedback models)';

-- ---------------------------------------------------------------------------
-- Synthetic data (src/core/generate.c, docs/generator.md).

-- The generator's options, validated, with their defaults.
CREATE FUNCTION xdrec._generate_options(options jsonb)
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
				seed := xdrec._int_option('option "seed"', options -> k, 0, 9223372036854775807);
			WHEN 'domains' THEN
				domains := xdrec._int_option('option "domains"', options -> k, 1, 100);
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
						src_users := coalesce(xdrec._int_option('sizes.source.users', sz -> 'users', 1, 10000000), src_users);
						src_items := coalesce(xdrec._int_option('sizes.source.items', sz -> 'items', 2, 10000000), src_items);
						src_rows := coalesce(xdrec._int_option('sizes.source.interactions', sz -> 'interactions', 1, 1000000000), src_rows);
					ELSE
						tgt_users := coalesce(xdrec._int_option('sizes.target.users', sz -> 'users', 1, 10000000), tgt_users);
						tgt_items := coalesce(xdrec._int_option('sizes.target.items', sz -> 'items', 2, 10000000), tgt_items);
						tgt_rows := coalesce(xdrec._int_option('sizes.target.interactions', sz -> 'interactions', 1, 1000000000), tgt_rows);
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

CREATE FUNCTION xdrec._generate_rows(seed bigint, domains int, src_users int, src_items int,
									 src_rows bigint, tgt_users int, tgt_items int, tgt_rows bigint,
									 explicit boolean, control boolean)
RETURNS TABLE(domain text, user_key bigint, item_key bigint, rating real, hour real,
			  weekday text, rain boolean, spend real, price real, cuisine text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'xdrec_generate_rows';

CREATE FUNCTION xdrec.generate(table_name text, options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_generate';

COMMENT ON FUNCTION xdrec.generate(text, jsonb) IS
	'create a table of synthetic cross-domain interactions (docs/generator.md); returns the rows written';

-- The features argument of create_model for a table made by xdrec.generate.
CREATE FUNCTION xdrec.generated_features()
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

-- ---------------------------------------------------------------------------
-- Evaluation and the domains view.

CREATE FUNCTION xdrec.evaluate(name text, domain text DEFAULT NULL, protocol text DEFAULT 'sampled',
							   seed integer DEFAULT 42)
RETURNS TABLE(domain text, method text, metric text, value double precision, n bigint)
LANGUAGE c VOLATILE SECURITY INVOKER ROWS 6
AS 'MODULE_PATHNAME', 'xdrec_evaluate';

COMMENT ON FUNCTION xdrec.evaluate(text, text, text, integer) IS
	'measure served versions on their test split (DESIGN section 5)';

-- A target is stale when the shared (source) version it pins is no longer the
-- one the source serves: it keeps serving on its pinned modules until it is
-- adapted again (DESIGN section 1).
CREATE VIEW xdrec.domains WITH (security_invoker = true) AS
SELECT m.name AS model,
	   d.domain,
	   d.role,
	   v.method,
	   d.served_version,
	   v.pins_shared_version,
	   (d.role = 'target' AND v.pins_shared_version IS DISTINCT FROM s.served_version) AS stale,
	   (v.metrics ->> 'rows')::bigint AS rows,
	   (v.metrics ->> 'users')::bigint AS users,
	   (v.metrics ->> 'items')::bigint AS items,
	   v.metrics -> 'test' AS metrics,
	   v.created_at AS trained_at
FROM xdrec.domain d
JOIN xdrec.model m ON m.id = d.model_id
LEFT JOIN xdrec.version v ON v.id = d.served_version
LEFT JOIN xdrec.domain s ON s.model_id = d.model_id AND s.domain = m.source_domain;

GRANT SELECT ON xdrec.domains TO PUBLIC;

-- ---------------------------------------------------------------------------
-- One-to-many transfer (DESIGN section 4): adapt a target domain to the
-- source's served version, every target at once, and roll a domain back.

CREATE FUNCTION xdrec.adapt(name text, domain text, method text DEFAULT 'drr',
							background boolean DEFAULT false)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_adapt';

COMMENT ON FUNCTION xdrec.adapt(text, text, text, boolean) IS
	'adapt a target domain to the served source version, write a new version pinning it and serve it; returns the adaptation summary';

-- Every target domain of the relation (as the caller reads it), stale ones
-- first, then the others in "C" order; one transaction, so one failing domain
-- leaves every domain as it was. In the background, one job per domain
-- (summary {"job": id, "state": "scheduled"}, version NULL), each failing alone.
CREATE FUNCTION xdrec.adapt_all(name text, method text DEFAULT 'drr', background boolean DEFAULT false)
RETURNS TABLE(domain text, was_stale boolean, version bigint, summary jsonb)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r xdrec.model;
	d text;
	st boolean;
	j jsonb;
BEGIN
	IF method IS NULL THEN
		RAISE EXCEPTION 'method must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF method NOT IN ('drr', 'anneal', 'direct', 'auto', 'target_only') THEN
		RAISE EXCEPTION 'unknown adaptation method "%"', method
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''drr'', ''anneal'', ''direct'', ''auto'' or ''target_only''.';
	END IF;
	r := xdrec._model_for(adapt_all.name, 'train');
	IF r.source_domain IS NULL THEN
		RAISE EXCEPTION 'model "%" has no trained source domain', r.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Train it first: SELECT xdrec.train(%L, source_domain).', r.name);
	END IF;
	FOR d, st IN EXECUTE format(
		'SELECT t.dom, coalesce(x.stale, false) '
		'FROM (SELECT DISTINCT %1$I::text AS dom FROM %2$s WHERE %1$I IS NOT NULL) t '
		'LEFT JOIN xdrec.domains x ON x.model = $1 AND x.domain = t.dom '
		'WHERE t.dom <> $2 '
		'ORDER BY coalesce(x.stale, false) DESC, t.dom COLLATE "C"',
		r.domain_col, r.relation) USING r.name, r.source_domain
	LOOP
		-- in the background: one job per domain, run in parallel up to xdrec.max_workers()
		j := xdrec.adapt(r.name, d, adapt_all.method, adapt_all.background);
		domain := d;
		was_stale := st;
		version := (j ->> 'version')::bigint;
		summary := j;
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION xdrec.adapt_all(text, text, boolean) IS
	'adapt every target domain, stale ones first; one row per domain';

-- Serves a domain's previous ready version (the source's when domain is
-- NULL) and retires the one it served; an error when there is none.
CREATE FUNCTION xdrec.rollback(name text, domain text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r xdrec.model;
	dom text;
	cur bigint;
	cur_role text;
	prev bigint;
BEGIN
	r := xdrec._model_for(rollback.name, 'train');
	dom := coalesce(rollback.domain, r.source_domain);
	IF dom IS NULL THEN
		RAISE EXCEPTION 'model "%" has not been trained yet', r.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT x.served_version, x.role INTO cur, cur_role
	FROM xdrec.domain x WHERE x.model_id = r.id AND x.domain = dom FOR UPDATE;
	IF cur IS NULL THEN
		RAISE EXCEPTION 'model "%" serves no domain %', r.name, dom
			USING ERRCODE = 'undefined_object',
				  HINT = format('SELECT domain FROM xdrec.domains WHERE model = %L lists its trained domains.', r.name);
	END IF;
	SELECT v.id INTO prev FROM xdrec.version v
	WHERE v.model_id = r.id AND v.domain = dom AND v.kind = cur_role AND v.state = 'ready'
	  AND v.id < cur
	ORDER BY v.id DESC LIMIT 1;
	IF prev IS NULL THEN
		RAISE EXCEPTION 'domain % of model "%" has no version before %', dom, r.name, cur
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE xdrec.version v SET state = 'retired' WHERE v.id = cur;
	-- the statement trigger on xdrec.domain invalidates every ranking cache
	UPDATE xdrec.domain x SET served_version = prev WHERE x.model_id = r.id AND x.domain = dom;
	RETURN prev;
END
$$;

COMMENT ON FUNCTION xdrec.rollback(text, text) IS
	'serve the previous version of a domain (the source when domain is NULL); returns it';

-- ---------------------------------------------------------------------------
-- Forgetting a user (src/pg/forget_fn.c; docs/security.md, "Forgetting a
-- user"): their embedding and profile leave every stored version of the
-- domain, and later training and adaptation leave their rows out.

-- How many users were forgotten from a version since it was written; the
-- ranking cache re-reads a version whose count moved (src/pg/cache.c).
ALTER TABLE xdrec.version ADD COLUMN forgotten_users int NOT NULL DEFAULT 0
	CHECK (forgotten_users >= 0);

-- The users forgotten from a domain, by key in the key maps' text form.
-- load.c filters the relation's rows on it; the interactions themselves stay
-- in the owner's relation.
CREATE TABLE xdrec.forgotten (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	user_key text NOT NULL,
	forgotten_by name NOT NULL DEFAULT CURRENT_USER,
	forgotten_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, domain, user_key)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.forgotten', '');

-- Read and written with 'train' only: the keys of forgotten users are shown
-- to no role that does not train on the domain; a row names who wrote it.
ALTER TABLE xdrec.forgotten ENABLE ROW LEVEL SECURITY;
CREATE POLICY forgotten_select ON xdrec.forgotten FOR SELECT
	USING (xdrec._model_access(model_id, 'train'));
CREATE POLICY forgotten_write ON xdrec.forgotten FOR ALL
	USING (xdrec._model_access(model_id, 'train'))
	WITH CHECK (xdrec._model_access(model_id, 'train') AND forgotten_by = CURRENT_USER);
GRANT SELECT, INSERT, DELETE ON xdrec.forgotten TO PUBLIC;

CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.forgotten
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec._invalidate_cache();

-- Both forms return how many stored versions held the user (0 when none
-- did, e.g. when the user was forgotten already: a notice says so).
CREATE FUNCTION xdrec.forget_user(name text, domain text, user_key text)
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_forget_user_text';

CREATE FUNCTION xdrec.forget_user(name text, domain text, user_key bigint)
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_forget_user_int8';

COMMENT ON FUNCTION xdrec.forget_user(text, text, text) IS
	'remove a user''s embedding and profile from every stored version of a domain and leave their rows out of later training; returns the versions changed';
COMMENT ON FUNCTION xdrec.forget_user(text, text, bigint) IS
	'remove a user''s embedding and profile from every stored version of a domain and leave their rows out of later training; returns the versions changed';

-- ---------------------------------------------------------------------------
-- Background jobs (src/pg/jobs.c, src/pg/worker.c; DESIGN section 8;
-- docs/jobs.md). background => true on train, adapt and adapt_all inserts a
-- row of xdrec.job; a dynamic background worker runs it as the submitting
-- role. The queue lives in xdrec.job and the cap in xdrec.setting: without
-- shared_preload_libraries there is no shared memory.

-- Settings of the job queue; a missing row means the default. Only the
-- extension's owner writes them (xdrec.set_max_workers).
CREATE TABLE xdrec.setting (
	name text PRIMARY KEY CHECK (name IN ('max_workers')),
	value integer NOT NULL CHECK (value >= 1)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.setting', '');
ALTER TABLE xdrec.setting ENABLE ROW LEVEL SECURITY;
CREATE POLICY setting_select ON xdrec.setting FOR SELECT USING (true);
GRANT SELECT ON xdrec.setting TO PUBLIC;

-- How many jobs run at once in this database (default 2).
CREATE FUNCTION xdrec.max_workers()
RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT s.value FROM xdrec.setting s WHERE s.name = 'max_workers'), 2)
$$;

COMMENT ON FUNCTION xdrec.max_workers() IS
	'how many background jobs run at once in this database (xdrec.set_max_workers sets it)';

CREATE FUNCTION xdrec.run_pending()
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_run_pending';

COMMENT ON FUNCTION xdrec.run_pending() IS
	'record jobs whose worker vanished as failed and start scheduled jobs up to the cap; returns the workers started';

CREATE FUNCTION xdrec.set_max_workers(n integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT has_table_privilege('xdrec.setting', 'INSERT, UPDATE') THEN
		RAISE EXCEPTION 'permission denied to set xdrec.max_workers'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec sets it.';
	END IF;
	IF n IS NULL OR n < 1 OR n > current_setting('max_worker_processes')::int THEN
		RAISE EXCEPTION 'xdrec.max_workers must be between 1 and max_worker_processes (%), not %',
			current_setting('max_worker_processes'), coalesce(n::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO xdrec.setting AS s (name, value) VALUES ('max_workers', n)
	ON CONFLICT (name) DO UPDATE SET value = excluded.value;
	-- a raised cap starts waiting jobs now
	PERFORM xdrec.run_pending();
	RETURN n;
END
$$;

COMMENT ON FUNCTION xdrec.set_max_workers(integer) IS
	'set how many background jobs run at once in this database';

-- The state xdrec.jobs shows: running or cancelling with the worker's lock
-- free reads failed (the worker vanished).
CREATE FUNCTION xdrec._job_state(job bigint, state text)
RETURNS text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'xdrec_job_state';

CREATE FUNCTION xdrec.cancel(job bigint)
RETURNS text
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_cancel';

COMMENT ON FUNCTION xdrec.cancel(bigint) IS
	'cancel a job: scheduled ones at once, running ones through their worker; returns the state after the call';

-- Every job the caller may see, with its latest progress row.
CREATE VIEW xdrec.jobs WITH (security_invoker = true) AS
SELECT j.id AS job,
	   m.name AS model,
	   j.kind,
	   j.domain,
	   j.options ->> 'method' AS method,
	   s.state,
	   p.epoch,
	   p.loss,
	   p.metric,
	   p.rows_per_sec,
	   p.eta,
	   CASE WHEN s.state = 'failed' AND j.state IN ('running', 'cancelling')
			THEN 'the job''s worker ended without recording an outcome (server crash, restart or terminated backend)'
			ELSE j.error END AS error,
	   j.sqlstate,
	   j.submitted_by,
	   j.login_role,
	   j.submitted_at,
	   j.started_at,
	   j.finished_at,
	   j.pid,
	   j.result
FROM xdrec.job j
JOIN xdrec.model m ON m.id = j.model_id
CROSS JOIN LATERAL (SELECT xdrec._job_state(j.id, j.state) AS state) s
LEFT JOIN LATERAL (SELECT x.epoch, x.loss, x.metric, x.rows_per_sec, x.eta
				   FROM xdrec.job_progress x WHERE x.job_id = j.id
				   ORDER BY x.epoch DESC LIMIT 1) p ON true;

GRANT SELECT ON xdrec.jobs TO PUBLIC;

-- Waits until the job ends and returns its final state, or, after timeout
-- (NULL: no limit), the state it is in. Polls with fresh snapshots, so it
-- needs read committed.
CREATE FUNCTION xdrec.wait(job bigint, timeout interval DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	st text;
	deadline timestamptz := clock_timestamp() + timeout;
	next_dispatch timestamptz := clock_timestamp();
BEGIN
	IF job IS NULL THEN
		RAISE EXCEPTION 'job must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'xdrec.wait needs the read committed isolation level'
			USING ERRCODE = 'invalid_transaction_state',
				  HINT = 'Under repeatable read or serializable a job''s state never changes within the transaction.';
	END IF;
	LOOP
		-- a job that waits for a slot is started from here too (after a restart, say)
		IF st IS DISTINCT FROM 'running' AND clock_timestamp() >= next_dispatch THEN
			PERFORM xdrec.run_pending();
			next_dispatch := clock_timestamp() + interval '2 seconds';
		END IF;
		SELECT x.state INTO st FROM xdrec.jobs x WHERE x.job = wait.job;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'job % does not exist', wait.job USING ERRCODE = 'undefined_object';
		END IF;
		EXIT WHEN st IN ('finished', 'cancelled', 'failed')
			   OR (deadline IS NOT NULL AND clock_timestamp() >= deadline);
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN st;
END
$$;

COMMENT ON FUNCTION xdrec.wait(bigint, interval) IS
	'wait for a job to end; returns its final state (or its state when timeout passes)';

-- ---------------------------------------------------------------------------
-- Serving at speed (src/pg/rank_fn.c, serve_cache.c; docs/serving.md).

-- rank for many users in one context: users sharing a full encoded context
-- (the same domain and, with user-scoped features, the same profile values)
-- are scored as one matrix product.
CREATE FUNCTION xdrec.rank_many(name text, user_keys bigint[], ctx jsonb, k integer,
								domain text DEFAULT NULL, exclude_seen boolean DEFAULT true)
RETURNS TABLE(user_key bigint, item_key bigint, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 1000
AS 'MODULE_PATHNAME', 'xdrec_rank_many_int8';

CREATE FUNCTION xdrec.rank_many(name text, user_keys text[], ctx jsonb, k integer,
								domain text DEFAULT NULL, exclude_seen boolean DEFAULT true)
RETURNS TABLE(user_key text, item_key text, score real, rank integer, version bigint)
LANGUAGE c STABLE PARALLEL SAFE ROWS 1000
AS 'MODULE_PATHNAME', 'xdrec_rank_many_text';

COMMENT ON FUNCTION xdrec.rank_many(text, bigint[], jsonb, integer, text, boolean) IS
	'the top k items for each of many users in one context (integer keys)';
COMMENT ON FUNCTION xdrec.rank_many(text, text[], jsonb, integer, text, boolean) IS
	'the top k items for each of many users in one context (keys as text)';

-- This backend's ranking cache: per cached version, its weights' bytes and
-- the item-tower outputs cached per context, with their hits and misses.
CREATE FUNCTION xdrec._cache_stats()
RETURNS TABLE(model_id bigint, domain text, version bigint, version_bytes bigint,
			  contexts integer, context_bytes bigint, hits bigint, misses bigint)
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'xdrec_cache_stats';

CREATE FUNCTION xdrec.cache_stats()
RETURNS TABLE(model text, domain text, version bigint, version_bytes bigint,
			  contexts integer, context_bytes bigint, hits bigint, misses bigint)
LANGUAGE sql VOLATILE PARALLEL RESTRICTED SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.name, s.domain, s.version, s.version_bytes, s.contexts, s.context_bytes,
		   s.hits, s.misses
	FROM xdrec._cache_stats() s JOIN xdrec.model m ON m.id = s.model_id
	ORDER BY m.name, s.domain COLLATE "C", s.version
$$;

COMMENT ON FUNCTION xdrec.cache_stats() IS
	'this backend''s ranking cache per model, domain and version: bytes, cached contexts, hits, misses';

CREATE VIEW xdrec.cache_stats WITH (security_invoker = true) AS
	SELECT * FROM xdrec.cache_stats();
GRANT SELECT ON xdrec.cache_stats TO PUBLIC;

COMMENT ON VIEW xdrec.cache_stats IS
	'this backend''s ranking cache (xdrec.cache_stats()): per model, domain and version';
