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
-- stale or were never adapted. Each domain is adapted in a subtransaction of
-- its own: with on_error => 'skip' (the default) a domain that fails (too
-- little data, a bad row) is reported in its row and leaves the others'
-- versions; 'fail' raises its error and no domain changes. A domain with
-- fewer than min_rows rows is not tried and says so. With method 'auto', one
-- too small for any method (fewshot's 2 training rows and 2 items, or 20
-- without a few-shot meta-learner) is served by the popularity of its items
-- (outcome 'popular', the reason its summary gives). In the background, one
-- job per domain (summary {"job": id, "state": "scheduled"}, version NULL),
-- each failing alone. A cancel is never skipped: it stops the whole call.
CREATE OR REPLACE FUNCTION xdrec.adapt_all(name text, method text DEFAULT 'auto', background boolean DEFAULT false,
								deploy text DEFAULT NULL, only_stale boolean DEFAULT false,
								min_rows integer DEFAULT NULL, on_error text DEFAULT 'skip')
RETURNS TABLE(domain text, was_stale boolean, version bigint, summary jsonb, outcome text, reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r xdrec.model;
	d text;
	st boolean;
	n bigint;
	served bigint;
	j jsonb;
	e_state text; e_msg text; e_detail text; e_hint text;
BEGIN
	IF method IS NULL THEN
		RAISE EXCEPTION 'method must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF method NOT IN ('drr', 'anneal', 'direct', 'auto', 'target_only', 'fewshot') THEN
		RAISE EXCEPTION 'unknown adaptation method "%"', method
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''drr'', ''anneal'', ''direct'', ''auto'', ''target_only'' or ''fewshot''.';
	END IF;
	IF on_error IS NULL OR on_error NOT IN ('skip', 'fail') THEN
		RAISE EXCEPTION 'on_error must be ''skip'' or ''fail'', not %', coalesce(quote_literal(on_error), 'null')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF min_rows < 0 THEN
		RAISE EXCEPTION 'min_rows must not be negative, not %', min_rows
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := xdrec_internal.model_for(adapt_all.name, 'train');
	IF r.source_domain IS NULL THEN
		RAISE EXCEPTION 'model "%" has no trained source domain', r.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Train it first: SELECT xdrec.train(%L, source_domain).', r.name);
	END IF;
	FOR d, st, n, served IN EXECUTE format(
		'SELECT t.dom, coalesce(x.stale, false), t.n, x.served_version '
		'FROM (SELECT %1$I::text AS dom, count(*) AS n FROM %2$s WHERE %1$I IS NOT NULL GROUP BY 1) t '
		'LEFT JOIN xdrec.domains x ON x.model = $1 AND x.domain = t.dom '
		'WHERE t.dom <> $2 AND (NOT $3 OR x.served_version IS NULL OR x.stale) '
		'ORDER BY coalesce(x.stale, false) DESC, t.dom COLLATE "C"',
		r.domain_col, r.relation) USING r.name, r.source_domain, coalesce(adapt_all.only_stale, false)
	LOOP
		domain := d;
		was_stale := st;
		version := NULL;
		IF n < coalesce(adapt_all.min_rows, 0) THEN
			outcome := 'skipped';
			reason := format('%s rows, fewer than min_rows %s', n, adapt_all.min_rows);
			summary := jsonb_build_object('outcome', outcome, 'reason', reason, 'rows', n,
										  'served_version', served);
			RETURN NEXT;
			CONTINUE;
		END IF;
		IF adapt_all.on_error = 'fail' THEN
			j := xdrec.adapt(r.name, d, adapt_all.method, adapt_all.background, adapt_all.deploy);
		ELSE
			-- a subtransaction per domain: its failure undoes its own writes only
			BEGIN
				j := xdrec.adapt(r.name, d, adapt_all.method, adapt_all.background, adapt_all.deploy);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
					e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
				outcome := 'failed';
				reason := e_msg;
				summary := jsonb_strip_nulls(jsonb_build_object('outcome', outcome, 'sqlstate', e_state,
					'reason', e_msg, 'detail', nullif(e_detail, ''), 'hint', nullif(e_hint, ''), 'rows', n))
					|| jsonb_build_object('served_version', served);
				RETURN NEXT;
				CONTINUE;
			END;
		END IF;
		version := (j ->> 'version')::bigint;
		summary := j;
		-- too small for any method: served by popularity, and why
		outcome := CASE WHEN adapt_all.background THEN 'scheduled'
						WHEN j ->> 'method' = 'popularity' THEN 'popular' ELSE 'adapted' END;
		reason := coalesce(j -> 'popularity' ->> 'reason', j -> 'blend' ->> 'reason');
		RETURN NEXT;
	END LOOP;
EXCEPTION WHEN OTHERS THEN
	-- the error as the caller's own: xdrec's internal frames are no CONTEXT
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM xdrec_internal.reraise(e_state, e_msg, e_detail, e_hint);
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

