-- ---------------------------------------------------------------------------
-- Background jobs (src/pg/jobs/; DESIGN section 8; docs/jobs.md).
-- background => true on train, adapt and adapt_all inserts a row of
-- xdrec.job; a dynamic background worker runs it as the submitting role. The
-- queue lives in xdrec.job and the cap in xdrec.setting: without
-- shared_preload_libraries there is no shared memory.

-- How many jobs run at once in this database (default 2).
CREATE OR REPLACE FUNCTION xdrec.max_workers()
RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT s.value FROM xdrec.setting s WHERE s.name = 'max_workers'), 2)
$$;

CREATE OR REPLACE FUNCTION xdrec.run_pending()
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_run_pending';

CREATE OR REPLACE FUNCTION xdrec.set_max_workers(n integer)
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

CREATE OR REPLACE FUNCTION xdrec.cancel(job bigint)
RETURNS text
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_cancel';

-- Waits until the job ends and returns its final state, or, after timeout
-- (NULL: no limit), the state it is in. Polls with fresh snapshots, so it
-- needs read committed.
CREATE OR REPLACE FUNCTION xdrec.wait(job bigint, timeout interval DEFAULT NULL)
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

