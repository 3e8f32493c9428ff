-- ---------------------------------------------------------------------------
-- Training and one-to-many transfer (src/pg/run/; DESIGN sections 3, 4):
-- train the source, adapt a target domain to the source's served version,
-- every target at once, and roll a domain back. The default method is auto:
-- on real data DRR alone lost to a target-only tuned as well, and auto never
-- did (docs/transfer.md, docs/real-report.md).

-- source_domain NULL: the model's source. Another domain than the source is
-- refused (xdrec.set_source changes it). deploy NULL: the model's option
-- "deploy" (default 'if_better'; src/pg/run/deploy.c).
CREATE OR REPLACE FUNCTION xdrec.train(name text, source_domain text DEFAULT NULL,
							background boolean DEFAULT false, deploy text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_train';

CREATE OR REPLACE FUNCTION xdrec.adapt(name text, domain text, method text DEFAULT 'auto',
							background boolean DEFAULT false, deploy text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_adapt';

-- Every target domain of the relation (as the caller reads it), stale ones
-- first, then the others in "C" order; with only_stale, only those that are
-- stale or were never adapted. One transaction, so one failing domain
-- leaves every domain as it was. In the background, one job per domain
-- (summary {"job": id, "state": "scheduled"}, version NULL), each failing alone.
CREATE OR REPLACE FUNCTION xdrec.adapt_all(name text, method text DEFAULT 'auto', background boolean DEFAULT false,
								deploy text DEFAULT NULL, only_stale boolean DEFAULT false)
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
	r := xdrec_internal.model_for(adapt_all.name, 'train');
	IF r.source_domain IS NULL THEN
		RAISE EXCEPTION 'model "%" has no trained source domain', r.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Train it first: SELECT xdrec.train(%L, source_domain).', r.name);
	END IF;
	FOR d, st IN EXECUTE format(
		'SELECT t.dom, coalesce(x.stale, false) '
		'FROM (SELECT DISTINCT %1$I::text AS dom FROM %2$s WHERE %1$I IS NOT NULL) t '
		'LEFT JOIN xdrec.domains x ON x.model = $1 AND x.domain = t.dom '
		'WHERE t.dom <> $2 AND (NOT $3 OR x.served_version IS NULL OR x.stale) '
		'ORDER BY coalesce(x.stale, false) DESC, t.dom COLLATE "C"',
		r.domain_col, r.relation) USING r.name, r.source_domain, coalesce(adapt_all.only_stale, false)
	LOOP
		-- in the background: one job per domain, run in parallel up to xdrec.max_workers()
		j := xdrec.adapt(r.name, d, adapt_all.method, adapt_all.background, adapt_all.deploy);
		domain := d;
		was_stale := st;
		version := (j ->> 'version')::bigint;
		summary := j;
		RETURN NEXT;
	END LOOP;
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

-- Serves the version a domain served before the current one (the source's
-- when domain is NULL) and retires the current one; an error when there is
-- none. Versions the deploy policy stored without serving are skipped
-- (src/pg/fn/model_fn.c).
CREATE OR REPLACE FUNCTION xdrec.rollback(name text, domain text DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_rollback';

