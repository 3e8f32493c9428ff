-- ---------------------------------------------------------------------------
-- Models: declare, drop, grant and revoke (DESIGN sections 1, 6, 9).

CREATE OR REPLACE FUNCTION xdrec.create_model(
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
	feats jsonb;
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
	PERFORM xdrec._check_time_col(rel, options);

	-- validate every feature before writing anything
	feats := xdrec._check_features(rel, features);

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

	PERFORM xdrec._write_features(new_id, feats);
	RETURN new_id;
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	DECLARE
		e_state text; e_msg text; e_detail text; e_hint text;
	BEGIN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM xdrec._raise(e_state, e_msg, e_detail, e_hint);
	END;
END
$$;

CREATE OR REPLACE FUNCTION xdrec.drop_model(name text)
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
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	DECLARE
		e_state text; e_msg text; e_detail text; e_hint text;
	BEGIN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM xdrec._raise(e_state, e_msg, e_detail, e_hint);
	END;
END
$$;

CREATE OR REPLACE FUNCTION xdrec.grant(name text, role text, privilege text DEFAULT 'use')
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
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	DECLARE
		e_state text; e_msg text; e_detail text; e_hint text;
	BEGIN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM xdrec._raise(e_state, e_msg, e_detail, e_hint);
	END;
END
$$;

CREATE OR REPLACE FUNCTION xdrec.revoke(name text, role text)
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
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	DECLARE
		e_state text; e_msg text; e_detail text; e_hint text;
	BEGIN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM xdrec._raise(e_state, e_msg, e_detail, e_hint);
	END;
END
$$;
