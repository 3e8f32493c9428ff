-- ---------------------------------------------------------------------------
-- Help inside psql, as MADlib gives it from SQL: xdrec.help() lists the
-- functions and views, xdrec.help('rank') shows one function's signatures,
-- what its arguments mean and an example, xdrec.help('versions') a view's
-- columns. The words are the comments of sql/src/60_comments.sql, so \df+
-- and help() never disagree.

CREATE OR REPLACE FUNCTION xdrec.help(topic text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $help$
DECLARE
	t text := regexp_replace(lower(btrim(topic)), '^xdrec\.', '');
	out text := '';
	r record;
	example text;
	topics text[];
BEGIN
	IF topic IS NULL THEN
		out := E'xdrec: a context-aware, cross-domain recommender inside PostgreSQL.\n'
			|| E'Train on a dense domain, adapt to the sparse ones, rank from SQL.\n\nFunctions:\n';
		FOR r IN SELECT DISTINCT ON (p.proname) p.proname,
					   split_part(obj_description(p.oid, 'pg_proc'), E'\n', 1) AS what
				 FROM pg_proc p
				 WHERE p.pronamespace = 'xdrec'::regnamespace AND p.proname NOT LIKE '\_%'
				 ORDER BY p.proname LOOP
			out := out || format(E'  %-16s %s\n', r.proname, r.what);
		END LOOP;
		out := out || E'\nViews:\n';
		FOR r IN SELECT c.relname, obj_description(c.oid, 'pg_class') AS what
				 FROM pg_class c WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v'
				 ORDER BY c.relname LOOP
			out := out || format(E'  %-16s %s\n', 'xdrec.' || r.relname, r.what);
		END LOOP;
		RETURN out || E'\nSettings: xdrec.default_model, xdrec.train_memory, xdrec.cache_memory, xdrec.unknown_category (SHOW xdrec.unknown_category).\n'
			|| E'SELECT xdrec.help(''rank'') for a function''s arguments and an example; xdrec.help(''options'') for the model options.';
	END IF;

	IF t = 'options' THEN
		-- the table of options (src/pg/data/options.c), so help cannot disagree with it
		out := 'Model options (create_model(options => ...), alter_model(options => ...)), with their defaults:';
		FOR r IN SELECT * FROM xdrec_internal.options() LOOP
			out := out || format(E'\n  %-16s %s (%s; default %s)', r.name, r.help, r."values", r."default");
		END LOOP;
		RETURN out;
	END IF;

	-- a function: every form, its words, an example
	FOR r IN SELECT p.oid, n.nspname, p.proname, pg_get_function_arguments(p.oid) AS args,
				   pg_get_function_result(p.oid) AS result, obj_description(p.oid, 'pg_proc') AS what
			 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			 JOIN pg_depend dep ON dep.classid = 'pg_proc'::regclass AND dep.objid = p.oid AND dep.deptype = 'e'
			 JOIN pg_extension e ON e.oid = dep.refobjid AND e.extname = 'xdrec'
			 WHERE p.proname = t AND p.proname NOT LIKE '\_%'
			 ORDER BY p.oid LOOP
		IF out = '' THEN
			out := coalesce(r.what, '') || E'\n';
		END IF;
		out := out || format(E'\n  %s.%s(%s)\n    RETURNS %s\n', r.nspname, r.proname, r.args, r.result);
	END LOOP;
	IF out <> '' THEN
		example := CASE t
			WHEN 'create_model' THEN $x$SELECT xdrec.create_model('food', 'orders', 'customer', 'restaurant', 'city',
    features => '[{"name": "hour", "kind": "interactional", "type": "numeric"},
                  {"name": "weekday", "kind": "interactional", "type": "categorical"}]');$x$
			WHEN 'alter_model' THEN $x$SELECT xdrec.alter_model('food', options => '{"epochs": 50, "deploy": "always"}');$x$
			WHEN 'train' THEN $x$SELECT xdrec.train('food', 'berlin');   -- the first time names the source
SELECT xdrec.train('food');             -- then: retrain the source$x$
			WHEN 'adapt' THEN $x$SELECT xdrec.adapt('food', 'graz') ->> 'method';$x$
			WHEN 'adapt_all' THEN $x$SELECT cron.schedule('nightly', '0 3 * * *',
    $$SELECT xdrec.adapt_all('food', only_stale => true, background => true)$$);$x$
			WHEN 'set_source' THEN $x$SELECT xdrec.set_source('food', 'vienna'); SELECT xdrec.train('food');$x$
			WHEN 'deploy' THEN $x$SELECT version, served, valid FROM xdrec.versions WHERE model = 'food' AND domain = 'graz';
SELECT xdrec.deploy('food', 'graz', 12);$x$
			WHEN 'rollback' THEN $x$SELECT xdrec.rollback('food', 'graz');$x$
			WHEN 'training_info' THEN $x$SELECT epoch, round(loss::numeric, 4), round(valid::numeric, 4), best FROM xdrec.training_info('food');$x$
			WHEN 'rank' THEN $x$SELECT * FROM xdrec.rank('food', 42, '{"hour": 19, "weekday": "fri"}');
SELECT * FROM xdrec.rank('food', 42, '{"hour": 8}', 5, exclude_seen => false);  -- users who order again$x$
			WHEN 'xdrec_rank' THEN $x$SET xdrec.default_model = 'food';
SELECT item_key FROM xdrec_rank(42, '{"hour": 19}');$x$
			WHEN 'rank_many' THEN $x$SELECT * FROM xdrec.rank_many('food', ARRAY[1, 2, 3], '{"hour": 12}', 5);$x$
			WHEN 'evaluate' THEN $x$SELECT method, metric, round(value::numeric, 3) AS value, round(std_error::numeric, 3) AS se, n
FROM xdrec.evaluate('food', 'graz') WHERE metric IN ('mrr', 'hit@10');$x$
			WHEN 'wait' THEN $x$SELECT xdrec.wait((xdrec.train('food', background => true) ->> 'job')::bigint);$x$
			WHEN 'forget_user' THEN $x$SELECT xdrec.forget_user('food', 'graz', 42);$x$
			WHEN 'grant' THEN $x$SELECT xdrec.grant('food', 'app_reader');  -- may rank$x$
			WHEN 'generate' THEN $x$SELECT xdrec.generate('orders', '{"seed": 42, "domains": 4}');$x$
		END;
		IF example IS NOT NULL THEN
			out := out || E'\nExample:\n' || example;
		END IF;
		RETURN out;
	END IF;

	-- a view: its columns
	FOR r IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,
				   col_description(c.oid, a.attnum) AS what, obj_description(c.oid, 'pg_class') AS view
			 FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
			 WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v' AND c.relname = t
			 ORDER BY a.attnum LOOP
		IF out = '' THEN
			out := format(E'xdrec.%s: %s\n', t, r.view);
		END IF;
		out := out || format(E'  %-20s %-18s %s\n', r.attname, r.type, coalesce(r.what, ''));
	END LOOP;
	IF out <> '' THEN
		RETURN out;
	END IF;

	topics := ARRAY(SELECT DISTINCT p.proname::text FROM pg_proc p
					WHERE p.pronamespace = 'xdrec'::regnamespace AND p.proname NOT LIKE '\_%'
					UNION SELECT c.relname::text FROM pg_class c
					WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v'
					UNION SELECT 'options' UNION SELECT 'xdrec_rank');
	RAISE EXCEPTION 'xdrec has no function or view "%"', topic
		USING ERRCODE = 'undefined_object',
			  HINT = coalesce(xdrec_internal.did_you_mean(t, topics) || ' ', '') || 'SELECT xdrec.help() lists them.';
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
$help$;
