-- ---------------------------------------------------------------------------
-- Training and one-to-many transfer (src/pg/run/; DESIGN sections 3, 4):
-- train the source, adapt a target domain to the source's served version,
-- every target at once, and roll a domain back. The default method is auto:
-- on real data DRR alone lost to a target-only tuned as well, and auto never
-- did (docs/transfer.md, docs/real-report.md).

CREATE OR REPLACE FUNCTION xdrec.train(name text, source_domain text, background boolean DEFAULT false)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_train';

COMMENT ON FUNCTION xdrec.train(text, text, boolean) IS
	'train the model on its source domain, write a new version and serve it; returns the training summary';

CREATE OR REPLACE FUNCTION xdrec.adapt(name text, domain text, method text DEFAULT 'auto',
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
CREATE OR REPLACE FUNCTION xdrec.adapt_all(name text, method text DEFAULT 'auto', background boolean DEFAULT false)
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
-- NULL) and retires the one it served; an error when there is none
-- (src/pg/fn/model_fn.c).
CREATE OR REPLACE FUNCTION xdrec.rollback(name text, domain text DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_rollback';

COMMENT ON FUNCTION xdrec.rollback(text, text) IS
	'serve the previous version of a domain (the source when domain is NULL); returns it';
