-- ---------------------------------------------------------------------------
-- A model's lifecycle (DESIGN sections 1, 6, "lifecycle 0.2.0";
-- docs/sql-reference.md): features validated once for create_model and
-- alter_model, the source changed on purpose, any stored version served,
-- the training curve read back.
--
-- Roles write none of the catalog: alter_model, set_source and deploy are C
-- (src/pg/fn/lifecycle_fn.c) that check the caller here, as the caller, then
-- write as the catalog's owner (docs/security.md).

-- "Did you mean ...?" for a word against the names it should have been
-- (src/pg/data/suggest.c); NULL when none is near.
CREATE OR REPLACE FUNCTION xdrec_internal.did_you_mean(word text, candidates text[])
RETURNS text
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'xdrec_did_you_mean';

-- Raises an error a user-facing function caught, as its own, without the
-- internal frames it came through as CONTEXT lines (src/pg/fn/help_fn.c).
CREATE OR REPLACE FUNCTION xdrec_internal.reraise(sqlstate text, message text, detail text, hint text)
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'xdrec_raise';

-- The hint for a domain of model r that has no rows: the nearest domain of
-- its relation (read as the caller), or where the domains come from.
CREATE OR REPLACE FUNCTION xdrec_internal.domain_hint(r xdrec.model, dom text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	doms text[];
BEGIN
	EXECUTE format('SELECT array_agg(DISTINCT %1$I::text) FROM %2$s', r.domain_col, r.relation)
		INTO doms;
	RETURN coalesce(xdrec_internal.did_you_mean(dom, doms),
					format('The domains are the values of column %I of %s.', r.domain_col, r.relation));
END
$$;

-- The option "time_col": a column of rel that orders the interactions in
-- time (the internal split is then by time: the last 10% test).
CREATE OR REPLACE FUNCTION xdrec_internal.check_time_col(rel regclass, options jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF options ? 'time_col' THEN
		PERFORM xdrec_internal.check_column(rel, options ->> 'time_col', 'time',
			ARRAY['timestamp with time zone', 'timestamp without time zone', 'date', 'smallint',
				  'integer', 'bigint', 'real', 'double precision', 'numeric']::regtype[]);
	END IF;
END
$$;

/*
 * Validates a features argument over relation rel (create_model,
 * alter_model) and returns it normalised: every feature with its column
 * (its own name when it gives neither "column" nor "expression"), scope and
 * options. Raises on the first bad feature; writes nothing.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_features(rel regclass, features jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	keys text[] := ARRAY['name', 'column', 'expression', 'kind', 'type', 'scope', 'options'];
	f jsonb;
	fk text;
	fname text;
	ftype text;
	fopts jsonb;
	t regtype;
	seen text[] := '{}';
	pos int := 0;
	out jsonb := '[]';
BEGIN
	IF features IS NULL OR jsonb_typeof(features) <> 'array' THEN
		RAISE EXCEPTION 'features must be a json array of objects, not %', coalesce(features::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- training reads every feature as a column of one query (at most 1664)
	IF jsonb_array_length(features) > 1000 THEN
		RAISE EXCEPTION 'a model declares at most 1000 features, not %', jsonb_array_length(features)
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	FOR f IN SELECT e FROM jsonb_array_elements(features) AS e LOOP
		pos := pos + 1;
		IF jsonb_typeof(f) <> 'object' THEN
			RAISE EXCEPTION 'feature % must be a json object, not %', pos, f
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		FOR fk IN SELECT jsonb_object_keys(f) LOOP
			IF NOT (fk = ANY (keys)) THEN
				RAISE EXCEPTION 'feature % has an unknown key "%"', pos, fk
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = coalesce(xdrec_internal.did_you_mean(fk, keys) || ' ', '')
								 || 'Known keys: ' || array_to_string(keys, ', ') || '.';
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
		PERFORM xdrec_internal.enum_option(format('kind of feature "%s"', fname), f -> 'kind',
								   ARRAY['interactional', 'historical', 'attributional']);
		ftype := xdrec_internal.enum_option(format('type of feature "%s"', fname), f -> 'type',
									ARRAY['numeric', 'categorical', 'boolean']);
		f := f || jsonb_build_object('scope', xdrec_internal.enum_option(format('scope of feature "%s"', fname),
									 coalesce(f -> 'scope', '"interaction"'),
									 ARRAY['interaction', 'user', 'item']));
		IF f ? 'column' AND f ? 'expression' THEN
			RAISE EXCEPTION 'feature "%" needs exactly one of "column" and "expression"', fname
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Without either, the column is the feature''s name.';
		END IF;
		IF NOT f ? 'expression' THEN
			-- a feature whose column has its name needs no "column"
			f := f || jsonb_build_object('column', coalesce(f -> 'column', to_jsonb(fname)));
			IF jsonb_typeof(f -> 'column') <> 'string' THEN
				RAISE EXCEPTION 'column of feature "%" must be a string, not %', fname, f -> 'column'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			t := xdrec_internal.check_column(rel, f ->> 'column', format('feature "%s"', fname), NULL)::regtype;
		ELSE
			IF jsonb_typeof(f -> 'expression') <> 'string' THEN
				RAISE EXCEPTION 'expression of feature "%" must be a string, not %', fname, f -> 'expression'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			t := xdrec_internal.check_expression(rel, fname, f ->> 'expression');
		END IF;
		IF NOT xdrec_internal.feature_type_ok(ftype, t) THEN
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
				PERFORM xdrec_internal.int_option(format('option "bins" of feature "%s"', fname), fopts -> fk, 2, 1000);
			ELSIF fk = 'vocab_cap' AND ftype = 'categorical' THEN
				PERFORM xdrec_internal.int_option(format('option "vocab_cap" of feature "%s"', fname), fopts -> fk, 1, 1000000);
			ELSE
				RAISE EXCEPTION 'unknown option "%" for % feature "%"', fk, ftype, fname
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'numeric features take "bins", categorical features "vocab_cap".';
			END IF;
		END LOOP;
		out := out || jsonb_build_array(f || jsonb_build_object('options', fopts));
	END LOOP;
	RETURN out;
END
$$;

/*
 * alter_model's checks, as the caller (src/pg/fn/lifecycle_fn.c writes once
 * they pass): the model it may change ('own' for features, 'train' for
 * options), its options merged (a JSON null resets one) and validated as
 * create_model validates them, its features normalised. NULL for what the
 * call does not change.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_alter(name text, options jsonb, features jsonb,
	OUT model_id bigint, OUT options_after jsonb, OUT features_after jsonb, OUT trained boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
BEGIN
	IF options IS NULL AND features IS NULL THEN
		RAISE EXCEPTION 'alter_model needs options or features'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'SELECT xdrec.alter_model(''m'', options => ''{"epochs": 50}'').';
	END IF;
	r := xdrec_internal.model_for(check_alter.name, CASE WHEN features IS NULL THEN 'train' ELSE 'own' END);
	model_id := r.id;
	IF options IS NOT NULL THEN
		IF jsonb_typeof(options) <> 'object' THEN
			RAISE EXCEPTION 'options must be a json object, not %', options
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		options_after := jsonb_strip_nulls(r.options || options);
		PERFORM xdrec_internal.check_options(options_after, r.rating_col IS NOT NULL);
		PERFORM xdrec_internal.check_time_col(r.relation, options_after);
	END IF;
	IF features IS NOT NULL THEN
		features_after := xdrec_internal.check_features(r.relation, features);
	END IF;
	trained := EXISTS (SELECT 1 FROM xdrec.domain d WHERE d.model_id = r.id);
END
$$;

/*
 * set_source's checks, as the caller: the model it may train, the domain
 * (which must have rows in the relation; the hint names the nearest), the
 * source it replaces, and whether the domain serves a source version already
 * (set_source back to an old source).
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_source(name text, domain text,
	OUT model_id bigint, OUT old_source text, OUT trained boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	found_rows boolean;
BEGIN
	r := xdrec_internal.model_for(check_source.name, 'train');
	IF domain IS NULL THEN
		RAISE EXCEPTION 'domain must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	model_id := r.id;
	old_source := r.source_domain;
	IF domain IS DISTINCT FROM r.source_domain THEN
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I::text = $1)', r.relation, r.domain_col)
			INTO found_rows USING domain;
		IF NOT found_rows THEN
			RAISE EXCEPTION 'domain % of model "%" has no rows', domain, r.name
				USING ERRCODE = 'undefined_object', HINT = xdrec_internal.domain_hint(r, domain);
		END IF;
	END IF;
	trained := EXISTS (SELECT 1 FROM xdrec.version v JOIN xdrec.domain d ON d.served_version = v.id
					   WHERE d.model_id = r.id AND d.domain = check_source.domain AND v.kind = 'source');
END
$$;

/*
 * deploy's checks, as the caller: the model it may train, the version (of
 * that domain, ready or retired, a source version for the source domain and
 * a target version for a target), the version served now, and what the
 * domain's row needs if it has none yet.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_deploy(name text, domain text, version bigint,
	OUT model_id bigint, OUT kind text, OUT previous bigint, OUT has_row boolean,
	OUT sets_source boolean, OUT stats jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	v xdrec.version;
BEGIN
	r := xdrec_internal.model_for(check_deploy.name, 'train');
	IF domain IS NULL OR version IS NULL THEN
		RAISE EXCEPTION 'domain and version must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO v FROM xdrec.version x WHERE x.id = version AND x.model_id = r.id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" has no version %', r.name, version
			USING ERRCODE = 'undefined_object',
				  HINT = format('SELECT version, domain, served FROM xdrec.versions WHERE model = %L lists them.', r.name);
	END IF;
	IF v.domain <> domain THEN
		RAISE EXCEPTION 'version % of model "%" belongs to domain %, not %', version, r.name, v.domain, domain
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF v.state NOT IN ('ready', 'retired') THEN
		RAISE EXCEPTION 'version % of model "%" is %, not ready', version, r.name, v.state
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF v.kind = 'source' AND domain IS DISTINCT FROM coalesce(r.source_domain, domain) THEN
		RAISE EXCEPTION 'version % is a source version, but the source of model "%" is %', version, r.name, r.source_domain
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('SELECT xdrec.set_source(%L, %L) first.', r.name, domain);
	END IF;
	IF v.kind = 'target' AND domain = r.source_domain THEN
		RAISE EXCEPTION 'version % is a target version, but domain % is the source of model "%"', version, domain, r.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	model_id := r.id;
	kind := v.kind;
	SELECT d.served_version INTO previous FROM xdrec.domain d
	WHERE d.model_id = r.id AND d.domain = check_deploy.domain;
	has_row := FOUND;
	sets_source := v.kind = 'source' AND r.source_domain IS NULL;
	stats := jsonb_build_object('rows', v.metrics -> 'rows', 'users', v.metrics -> 'users',
								'items', v.metrics -> 'items', 'm', v.encoder -> 'config' -> 'm');
END
$$;

-- Changes a model's options (merged; a JSON null resets one) and/or
-- replaces its features, with create_model's validation; returns the
-- options. Served versions keep what they were trained with.
CREATE OR REPLACE FUNCTION xdrec.alter_model(name text, options jsonb DEFAULT NULL, features jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_alter_model';

-- Makes domain the model's source: the next xdrec.train(name) trains it.
-- The old source becomes a target that keeps serving its version (stale
-- until adapted); set_source back to it undoes the change.
CREATE OR REPLACE FUNCTION xdrec.set_source(name text, domain text)
RETURNS text
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_set_source';

-- Serves a stored version of a domain; returns the version served before
-- (NULL when none was).
CREATE OR REPLACE FUNCTION xdrec.deploy(name text, domain text, version bigint)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_deploy';

-- A text sparkline of a series, one block per value from its minimum (▁)
-- to its maximum (█); a NULL value is a space.
CREATE OR REPLACE FUNCTION xdrec.sparkline(vals double precision[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT string_agg(CASE WHEN x IS NULL THEN ' '
						   WHEN hi = lo THEN '▄'
						   ELSE substr('▁▂▃▄▅▆▇█', 1 + floor(7.999 * (x - lo) / (hi - lo))::int, 1) END,
					  '' ORDER BY i)
	FROM unnest(vals) WITH ORDINALITY AS u(x, i),
		 (SELECT min(y) AS lo, max(y) AS hi FROM unnest(vals) y) r
$$;

/*
 * The per-epoch curve of a version (by default the one served; domain NULL:
 * the source), as BigQuery ML's ML.TRAINING_INFO shows it: the training
 * loss, the validation metric (MRR, or RMSE for explicit feedback; NULL
 * while pretraining), the fit's base learning rate, throughput and time.
 * The epochs run on across every fit of the learning-rate search (lr tells
 * the fits apart) and, for adaptations, across pretraining and, for auto,
 * every candidate. best marks the epoch of the best validation.
 */
CREATE OR REPLACE FUNCTION xdrec.training_info(name text, domain text DEFAULT NULL, version bigint DEFAULT NULL)
RETURNS TABLE(epoch integer, loss double precision, valid double precision,
			  lr double precision, rows_per_sec double precision, seconds double precision, best boolean)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	dom text;
	vid bigint := training_info.version;
	curve jsonb;
	explicit boolean;
BEGIN
	SELECT * INTO r FROM xdrec.model x WHERE x.name = training_info.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', training_info.name USING ERRCODE = 'undefined_object';
	END IF;
	dom := coalesce(domain, r.source_domain);
	IF vid IS NULL THEN
		SELECT d.served_version INTO vid FROM xdrec.domain d WHERE d.model_id = r.id AND d.domain = dom;
		IF vid IS NULL THEN
			RAISE EXCEPTION 'model "%" serves no domain %', r.name, coalesce(dom, 'yet')
				USING ERRCODE = 'undefined_object', HINT = xdrec_internal.domain_hint(r, dom);
		END IF;
	END IF;
	SELECT v.metrics -> 'curve', v.metrics -> 'valid' ? 'rmse' INTO curve, explicit
	FROM xdrec.version v WHERE v.id = vid AND v.model_id = r.id AND (domain IS NULL OR v.domain = dom);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" has no version % of domain %', r.name, vid, dom
			USING ERRCODE = 'undefined_object';
	END IF;
	IF curve IS NULL THEN
		RAISE NOTICE 'version % was trained before curves were recorded (xdrec 0.1.0)', vid;
		RETURN;
	END IF;
	RETURN QUERY
	SELECT (e ->> 'epoch')::int, (e ->> 'loss')::float8, (e ->> 'valid')::float8,
		   (e ->> 'lr')::float8, (e ->> 'rows_per_sec')::float8, (e ->> 'seconds')::float8,
		   (e ->> 'valid')::float8 = (CASE WHEN explicit
										  THEN min((e ->> 'valid')::float8) OVER ()
										  ELSE max((e ->> 'valid')::float8) OVER () END)
	FROM jsonb_array_elements(curve) AS e
	ORDER BY 1;
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	DECLARE
		e_state text; e_msg text; e_detail text; e_hint text;
	BEGIN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM xdrec_internal.reraise(e_state, e_msg, e_detail, e_hint);
	END;
END
$$;

-- The rows of each domain in model m's relation now, read as the caller
-- (none when the caller may not read it, or it is gone): xdrec.overview
-- sets them beside the rows the served versions were trained on.
CREATE OR REPLACE FUNCTION xdrec_internal.domain_rows(m xdrec.model)
RETURNS TABLE(domain text, n bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT coalesce(pg_catalog.has_column_privilege(m.relation, m.domain_col, 'SELECT'), false) THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format('SELECT %1$I::text, pg_catalog.count(*) FROM %2$s WHERE %1$I IS NOT NULL GROUP BY 1',
								m.domain_col, m.relation);
END
$$;
