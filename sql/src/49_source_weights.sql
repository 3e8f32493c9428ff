-- ---------------------------------------------------------------------------
-- Source weighting (option source_weighting 'biao', docs/training.md): the
-- source interactions BIAO's perceptron weighted most and least, as the
-- source version stored them at training (option biao_keep of each end).

-- The top and bottom k weighted training interactions of the served source
-- version, each with its user, item, interaction features and weight
-- (n_pos w: 1 is plain training's), the highest and the lowest first.
CREATE OR REPLACE FUNCTION xdrec.source_weights(name text, k integer DEFAULT 10)
RETURNS TABLE(side text, rank integer, user_key text, item_key text, context jsonb,
			  weight double precision)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r xdrec.model;
	vid bigint;
	sw jsonb;
BEGIN
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be a positive integer, not %', coalesce(k::text, 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO r FROM xdrec.model x WHERE x.name = source_weights.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', source_weights.name USING ERRCODE = 'undefined_object';
	END IF;
	SELECT d.served_version INTO vid FROM xdrec.domain d
	WHERE d.model_id = r.id AND d.domain = r.source_domain;
	IF vid IS NULL THEN
		RAISE EXCEPTION 'model "%" serves no source version yet', r.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Train it: SELECT xdrec.train(%L, source_domain).', r.name);
	END IF;
	SELECT v.metrics -> 'source_weights' INTO sw FROM xdrec.version v
	WHERE v.id = vid AND v.model_id = r.id;
	IF sw IS NULL THEN
		RAISE EXCEPTION 'source version % of model "%" was trained without source weighting', vid, r.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('SELECT xdrec.alter_model(%L, options => ''{"source_weighting": "biao"}''); SELECT xdrec.train(%L).',
								r.name, r.name);
	END IF;
	-- catalog contents are input: the shape the training wrote, or an error
	IF jsonb_typeof(sw) IS DISTINCT FROM 'object'
	   OR jsonb_typeof(sw -> 'top') IS DISTINCT FROM 'array'
	   OR jsonb_typeof(sw -> 'bottom') IS DISTINCT FROM 'array'
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements((sw -> 'top') || (sw -> 'bottom')) AS e
				  WHERE jsonb_typeof(e) IS DISTINCT FROM 'object'
					 OR jsonb_typeof(e -> 'weight') IS DISTINCT FROM 'number'
					 OR jsonb_typeof(e -> 'context') IS DISTINCT FROM 'object'
					 OR jsonb_typeof(e -> 'user') IS DISTINCT FROM 'string'
					 OR jsonb_typeof(e -> 'item') IS DISTINCT FROM 'string') THEN
		RAISE EXCEPTION 'version % of model "%" is corrupt: its source_weights are malformed', vid, r.name
			USING ERRCODE = 'data_corrupted';
	END IF;
	RETURN QUERY
	SELECT s.side_, s.i::integer, s.e ->> 'user', s.e ->> 'item', s.e -> 'context', (s.e ->> 'weight')::float8
	FROM (SELECT 'top' AS side_, 0 AS o, t.e, t.i FROM jsonb_array_elements(sw -> 'top') WITH ORDINALITY AS t(e, i)
		  UNION ALL
		  SELECT 'bottom', 1, b.e, b.i FROM jsonb_array_elements(sw -> 'bottom') WITH ORDINALITY AS b(e, i)) s
	WHERE s.i <= k
	ORDER BY s.o, s.i;
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
