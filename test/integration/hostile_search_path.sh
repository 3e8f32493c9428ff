#!/usr/bin/env bash
# hostile_search_path.sh - no role turns xdrec's own SQL against the database
# through its search_path (DESIGN section 9, docs/security.md): a role puts
# operators for the common types (=, <>, <, >, <=, >=, ||, ->>, +, ...) and
# functions named like pg_catalog's (now, length, set_config, unnest, sum,
# count, ...) in a schema ahead of pg_catalog; each records the role it runs
# as and, run as any other role, tries to make the caller superuser. Then,
# with that search_path (as the login roles' default too, so background
# workers start with it), every function of the extension, listed from
# pg_proc and pg_depend (a function added later is called without editing
# this script), is called as a role with no grant, as the model's owner and
# as a train grantee, in the foreground and, where a boolean argument says
# so, in the background; a feature expression also sets search_path, or the
# role, in the middle of a training. None of the hostile code may run as
# another role, no role may gain an attribute or a membership, and the
# server must not crash. A control query shows the hostile operators work.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_hostile
ATTACKERS=(xdhs_stranger xdhs_grantee xdhs_owner)
it_databases "$DB"
it_roles "${ATTACKERS[@]}"
it_workdir hostile
crashes_before=$(it_crashes)

createdb "$DB"
q >/dev/null <<'SQL'
CREATE ROLE xdhs_stranger LOGIN;
CREATE ROLE xdhs_grantee LOGIN;
CREATE ROLE xdhs_owner LOGIN;
-- the owner may become the stranger: a feature expression that changes the
-- role would succeed if nothing locked it
GRANT xdhs_stranger TO xdhs_owner;
CREATE EXTENSION xdrec;
SELECT xdrec.generate('g', '{"seed": 3, "domains": 3, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}, "target": {"users": 20, "items": 10, "interactions": 300}}}');
GRANT SELECT ON g TO PUBLIC;
GRANT CREATE ON SCHEMA public TO PUBLIC;
CREATE SCHEMA hostile AUTHORIZATION xdhs_stranger;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
SQL

# The hostile schema, made by the stranger (a role with CREATE on a schema
# and nothing else). Its objects pin their own search_path, so they do not
# call each other.
q -U xdhs_stranger >/dev/null <<'SQL'
CREATE TABLE hostile.log (at_role name, session_role name, what text);
GRANT INSERT, SELECT ON hostile.log TO PUBLIC;
CREATE TABLE hostile.outcome (n int, at_role name, sqlstate text);
GRANT INSERT, SELECT ON hostile.outcome TO PUBLIC;

-- what every hostile object does first: note who runs it, and, run as
-- anyone but an attacker, make the session's role superuser
CREATE FUNCTION hostile.note(what text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
	INSERT INTO hostile.log VALUES (current_user, session_user, what);
	IF current_user <> ALL ('{xdhs_stranger,xdhs_grantee,xdhs_owner}'::name[]) THEN
		EXECUTE format('ALTER ROLE %I SUPERUSER', session_user);
	END IF;
EXCEPTION WHEN OTHERS THEN
	NULL;
END $f$;
GRANT EXECUTE ON FUNCTION hostile.note(text) TO PUBLIC;

DO $d$
DECLARE
	t text;
	op text;
	i int := 0;
	sig text[];
BEGIN
	-- comparisons for the common types
	FOREACH t IN ARRAY ARRAY['text', 'name', 'bigint', 'integer', 'smallint', 'boolean', 'jsonb',
							 'oid', 'regclass', 'regtype', 'numeric', 'double precision', 'real',
							 'timestamp with time zone', 'interval', '"char"', 'bytea',
							 'text[]', 'name[]', 'bigint[]', 'integer[]'] LOOP
		FOREACH op IN ARRAY ARRAY['=', '<>', '<', '>', '<=', '>='] LOOP
			i := i + 1;
			EXECUTE format('CREATE FUNCTION hostile.op%s(a %s, b %s) RETURNS boolean LANGUAGE plpgsql '
						   'SET search_path = pg_catalog, pg_temp AS $b$ BEGIN PERFORM hostile.note(%L); '
						   'RETURN a OPERATOR(pg_catalog.%s) b; END $b$', i, t, t, t || ' ' || op, op);
			EXECUTE format('CREATE OPERATOR hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = hostile.op%s)',
						   op, t, t, i);
		END LOOP;
	END LOOP;
	-- mixed and other operators: left, right, result, operator
	FOREACH sig SLICE 1 IN ARRAY ARRAY[
		['name', 'text', 'boolean', '='], ['text', 'name', 'boolean', '='],
		['name', 'text', 'boolean', '<>'], ['text', 'name', 'boolean', '<>'],
		['text', 'text', 'text', '||'], ['integer[]', 'integer[]', 'integer[]', '||'],
		['text[]', 'text[]', 'text[]', '||'], ['text', 'text', 'boolean', '~~'],
		['jsonb', 'text', 'text', '->>'], ['jsonb', 'text', 'jsonb', '->'],
		['jsonb', 'text', 'boolean', '?'], ['jsonb', 'jsonb', 'boolean', '@>'],
		['jsonb', 'jsonb', 'jsonb', '||'], ['jsonb', 'text', 'jsonb', '-'],
		['bigint', 'bigint', 'bigint', '+'], ['bigint', 'bigint', 'bigint', '-'],
		['integer', 'integer', 'integer', '+'], ['integer', 'integer', 'integer', '-'],
		['bigint', 'integer', 'bigint', '+'], ['integer', 'integer', 'integer', '*'],
		['bigint', 'bigint', 'bigint', '*'], ['double precision', 'double precision', 'double precision', '*'],
		['double precision', 'double precision', 'double precision', '/']] LOOP
		i := i + 1;
		EXECUTE format('CREATE FUNCTION hostile.op%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql '
					   'SET search_path = pg_catalog, pg_temp AS $b$ BEGIN PERFORM hostile.note(%L); '
					   'RETURN a OPERATOR(pg_catalog.%s) b; END $b$',
					   i, sig[1], sig[2], sig[3], sig[1] || ' ' || sig[4] || ' ' || sig[2], sig[4]);
		EXECUTE format('CREATE OPERATOR hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = hostile.op%s)',
					   sig[4], sig[1], sig[2], i);
	END LOOP;
	-- functions named like pg_catalog's, with their exact argument types:
	-- name, arguments, result, call
	FOREACH sig SLICE 1 IN ARRAY ARRAY[
		['now', '', 'timestamp with time zone', 'pg_catalog.now()'],
		['length', 'a text', 'integer', 'pg_catalog.length(a)'],
		['lower', 'a text', 'text', 'pg_catalog.lower(a)'],
		['upper', 'a text', 'text', 'pg_catalog.upper(a)'],
		['btrim', 'a text', 'text', 'pg_catalog.btrim(a)'],
		['quote_ident', 'a text', 'text', 'pg_catalog.quote_ident(a)'],
		['format', 'a text', 'text', 'pg_catalog.format(a)'],
		['jsonb_typeof', 'a jsonb', 'text', 'pg_catalog.jsonb_typeof(a)'],
		['jsonb_array_length', 'a jsonb', 'integer', 'pg_catalog.jsonb_array_length(a)'],
		['array_position', 'a text[], b text', 'integer', 'pg_catalog.array_position(a, b)'],
		['cardinality', 'a integer[]', 'integer', 'pg_catalog.cardinality(a)'],
		['pg_advisory_xact_lock', 'a bigint', 'void', 'pg_catalog.pg_advisory_xact_lock(a)'],
		['hashtextextended', 'a text, b bigint', 'bigint', 'pg_catalog.hashtextextended(a, b)'],
		['set_config', 'a text, b text, c boolean', 'text', 'pg_catalog.set_config(a, b, c)'],
		['current_setting', 'a text', 'text', 'pg_catalog.current_setting(a)'],
		['current_setting', 'a text, b boolean', 'text', 'pg_catalog.current_setting(a, b)'],
		['has_table_privilege', 'a text, b text', 'boolean', 'pg_catalog.has_table_privilege(a, b)'],
		['pg_has_role', 'a oid, b text', 'boolean', 'pg_catalog.pg_has_role(a, b)'],
		['make_interval', 'secs double precision', 'interval', 'pg_catalog.make_interval(secs => secs)'],
		['max_workers', '', 'integer', '2'],
		['pg_backend_pid', '', 'integer', 'pg_catalog.pg_backend_pid()']] LOOP
		EXECUTE format('CREATE FUNCTION hostile.%I(%s) RETURNS %s LANGUAGE plpgsql '
					   'SET search_path = pg_catalog, pg_temp AS $b$ BEGIN PERFORM hostile.note(%L); '
					   '%s; END $b$',
					   sig[1], sig[2], sig[3], sig[1] || '(' || sig[2] || ')',
					   CASE WHEN sig[3] = 'void' THEN 'PERFORM ' || sig[4] ELSE 'RETURN ' || sig[4] END);
	END LOOP;
END $d$;

-- set-returning functions and aggregates named like pg_catalog's
CREATE FUNCTION hostile.unnest(a integer[]) RETURNS SETOF integer LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('unnest(integer[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $f$;
CREATE FUNCTION hostile.unnest(a text[]) RETURNS SETOF text LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('unnest(text[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $f$;
CREATE FUNCTION hostile.jsonb_array_elements(a jsonb) RETURNS SETOF jsonb LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('jsonb_array_elements'); RETURN QUERY SELECT pg_catalog.jsonb_array_elements(a); END $f$;
CREATE FUNCTION hostile.jsonb_object_keys(a jsonb) RETURNS SETOF text LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('jsonb_object_keys'); RETURN QUERY SELECT pg_catalog.jsonb_object_keys(a); END $f$;
CREATE FUNCTION hostile.jsonb_each(a jsonb, OUT key text, OUT value jsonb) RETURNS SETOF record LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('jsonb_each'); RETURN QUERY SELECT * FROM pg_catalog.jsonb_each(a); END $f$;
CREATE FUNCTION hostile.sum_step(s bigint, x integer) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('sum(integer)'); RETURN coalesce(s, 0) OPERATOR(pg_catalog.+) coalesce(x, 0); END $f$;
CREATE AGGREGATE hostile.sum(integer) (SFUNC = hostile.sum_step, STYPE = bigint);
CREATE FUNCTION hostile.count_step(s bigint) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN PERFORM hostile.note('count(*)'); RETURN s OPERATOR(pg_catalog.+) 1; END $f$;
CREATE AGGREGATE hostile.count(*) (SFUNC = hostile.count_step, STYPE = bigint, INITCOND = '0');

-- runs one call as the current role, under the session's search_path (no SET
-- clause here), and records its outcome
CREATE FUNCTION hostile.try(n int, call text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE call;
	INSERT INTO hostile.outcome VALUES (n, current_user, 'ok');
EXCEPTION WHEN OTHERS THEN
	INSERT INTO hostile.outcome VALUES (n, current_user, SQLSTATE);
END $f$;
SQL
n_objects=$(q -c "SELECT (SELECT count(*) FROM pg_operator WHERE oprnamespace = 'hostile'::regnamespace) || ' operators, '
	|| (SELECT count(*) FROM pg_proc WHERE pronamespace = 'hostile'::regnamespace AND proname !~ '^(op[0-9]+|note|try|sum_step|count_step)$') || ' functions'")

# Every attacker logs in with the hostile schema first, background workers
# included; the owner has a model, the grantee 'train' on it.
q >/dev/null <<'SQL'
ALTER ROLE xdhs_stranger SET search_path = hostile, pg_catalog, public;
ALTER ROLE xdhs_grantee SET search_path = hostile, pg_catalog, public;
ALTER ROLE xdhs_owner SET search_path = hostile, pg_catalog, public;
SET ROLE xdhs_owner;
SELECT xdrec.create_model('hm', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 1, "seed": 1}');
SELECT xdrec.train('hm', 'd0');
SELECT xdrec.adapt('hm', 'd1', 'direct');
SELECT xdrec.grant('hm', 'xdhs_grantee', 'train');
RESET ROLE;
SELECT xdrec.set_max_workers(4);
-- a scale-out node holding d1, with d2 placed on another node: every rank
-- call reads the placement and the directory (src/pg/serve/route.c)
SELECT xdrec.add_node('hs1', 'dbname=xd_hostile'), xdrec.add_node('hs2', 'host=/nonexistent dbname=x');
SELECT xdrec.set_local_node('hs1');
SELECT xdrec.place('hm', 'd1', 'hs1'), xdrec.place('hm', 'd2', 'hs2');
SELECT xdrec.refresh_directory('hm');
SQL
attributes="SELECT string_agg(format('%s %s%s%s%s%s%s', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
	rolcanlogin, rolreplication, rolbypassrls), ',' ORDER BY rolname) || ' / ' ||
	(SELECT string_agg(roleid::regrole || '>' || member::regrole, ',' ORDER BY roleid, member) FROM pg_auth_members)
	FROM pg_roles"
roles_before=$(q -c "$attributes")
model_id=$(q -c "SELECT id FROM xdrec.model WHERE name = 'hm'")

# The calls, one per function and role (two where a boolean argument can
# send the work to the background), with arguments chosen by name and type.
q >/dev/null <<SQL
CREATE TABLE calls (n serial, role name, fn regprocedure, call text);
CREATE FUNCTION arg_value(fn name, arg text, typ regtype, who name, variant int) RETURNS text
LANGUAGE sql AS \$f\$
	SELECT CASE
		WHEN arg = 'name' AND fn IN ('create_model', 'drop_model') THEN quote_literal('hs_new_' || who)
		WHEN arg IN ('name', 'm_name') THEN '''hm'''
		WHEN arg IN ('relation', 'rel') THEN '''g'''
		WHEN arg = 'user_col' THEN '''user_key'''
		WHEN arg = 'item_col' THEN '''item_key'''
		WHEN arg = 'domain_col' THEN '''domain'''
		WHEN arg = 'col' THEN '''hour'''
		WHEN arg = 'features' THEN 'xdrec.generated_features()'
		WHEN arg = 'options' AND fn LIKE '%generate%' THEN
			'''{"seed": 5, "domains": 2, "sizes": {"source": {"users": 10, "items": 5, "interactions": 50}, "target": {"users": 5, "items": 3, "interactions": 20}}}'''
		WHEN arg = 'options' THEN '''{"d": 4, "epochs": 1}'''
		WHEN arg = 'source_domain' THEN '''d0'''
		WHEN arg = 'domain' THEN '''d1'''
		WHEN arg = 'method' THEN '''direct'''
		WHEN arg = 'protocol' THEN '''sampled'''
		WHEN arg IN ('user_key', 'item_key') THEN '''' || CASE arg WHEN 'user_key' THEN 10000003 ELSE 10000001 END || ''''
		WHEN arg = 'user_keys' THEN '''{10000003,10000004}'''
		WHEN arg = 'ctx' THEN '''{}'''
		WHEN arg = 'k' THEN '3'
		WHEN arg = 'job' THEN '(SELECT max(x.job) FROM xdrec.jobs x)'
		WHEN arg = 'timeout' THEN '''1 second'''
		WHEN arg = 'n' THEN '2'
		WHEN arg = 'table_name' THEN quote_literal('hs_gen_' || who || '_' || variant)
		WHEN arg = 'role' THEN '''xdhs_stranger'''
		WHEN arg = 'r' THEN '''xdhs_owner'''
		WHEN arg = 'privilege' THEN '''use'''
		WHEN arg = 'm' THEN '$model_id'
		WHEN arg = 'want' THEN '''use'''
		WHEN arg = 'v' THEN '''5'''
		WHEN arg = 'lo' THEN '0'
		WHEN arg = 'hi' THEN '10'
		WHEN arg = 'feature' THEN '''f'''
		WHEN arg = 'expr' THEN '''hour'''
		WHEN arg = 'ftype' THEN '''numeric'''
		WHEN arg = 't' THEN '''real'''
		WHEN arg = 'state' THEN '''running'''
		WHEN typ = 'boolean'::regtype THEN CASE WHEN variant = 1 THEN 'true' ELSE 'false' END
		WHEN typ IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype, 'numeric'::regtype,
					 'real'::regtype, 'double precision'::regtype) THEN '1'
		WHEN typ IN ('text'::regtype, 'name'::regtype) THEN '''x'''
		WHEN typ = 'jsonb'::regtype THEN '''{}'''
		WHEN typ = 'interval'::regtype THEN '''1 second'''
		ELSE 'NULL'
	END || '::' || format_type(typ, NULL)
\$f\$;
INSERT INTO calls (role, fn, call)
SELECT who, p.oid::regprocedure,
	   format('SELECT * FROM %I.%I(%s)', p.pronamespace::regnamespace, p.proname,
			  (SELECT coalesce(string_agg(CASE WHEN a.name IS NULL OR a.name = '' THEN '' ELSE quote_ident(a.name) || ' => ' END
										  || arg_value(p.proname, a.name, a.typ, who, v), ', ' ORDER BY a.i), '')
			   FROM unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) WITH ORDINALITY AS a(name, typ, i)))
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'xdrec')
CROSS JOIN unnest('{xdhs_stranger,xdhs_grantee,xdhs_owner}'::name[]) WITH ORDINALITY AS r(who, ri)
CROSS JOIN generate_series(0, 1) AS v
WHERE v = 0 OR 'boolean'::regtype::oid = ANY (p.proargtypes::oid[])
ORDER BY r.ri, p.proname, p.oid, v;
GRANT SELECT ON calls TO PUBLIC;
SQL
functions=$(q -c "SELECT count(DISTINCT fn) FROM calls")

# Each attacker makes its calls, each in its own transaction (jobs start at
# commit), after a control query that must reach the hostile operator.
for who in "${ATTACKERS[@]}"; do
	path=$(q -U "$who" -c "SHOW search_path")
	[[ "$path" == hostile,* ]] || fail "$who starts with search_path $path"
	q -U "$who" -c "SELECT hostile.try(0, 'SELECT ''a''::text = ''b''::text')" >/dev/null
	q -U "$who" -c "SELECT format('SELECT hostile.try(%s, %L);', n, call) FROM calls WHERE role = current_user ORDER BY n" >"$WORK/$who.sql"
	q -U "$who" -f "$WORK/$who.sql" >"$WORK/$who.out" 2>&1 || fail "$who's calls stopped: $(tail -3 "$WORK/$who.out")"
done

# A feature expression sets the search_path, or the role, in the middle of a
# training, in the foreground and in a job.
q -U xdhs_owner >"$WORK/expr.out" 2>&1 <<'SQL'
SELECT xdrec.create_model('hs_path', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features() || '[{"name": "p", "kind": "interactional", "type": "numeric",
		"expression": "CASE WHEN pg_catalog.set_config(''search_path'', ''hostile, pg_catalog'', false) IS NULL THEN NULL ELSE hour END"}]',
	options => '{"d": 4, "epochs": 1}');
SELECT xdrec.create_model('hs_role', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features() || '[{"name": "r", "kind": "interactional", "type": "numeric",
		"expression": "CASE WHEN pg_catalog.set_config(''role'', ''xdhs_stranger'', false) IS NULL THEN NULL ELSE hour END"}]',
	options => '{"d": 4, "epochs": 1}');
SET search_path = pg_catalog;
SELECT hostile.try(1001, $$SELECT xdrec.train('hs_path', 'd0')$$);
SELECT hostile.try(1002, $$SELECT xdrec.train('hs_role', 'd0')$$);
SELECT xdrec.train('hs_path', 'd0', background => true);
SELECT xdrec.train('hs_role', 'd0', background => true);
SQL
[ "$(q -c "SELECT sqlstate FROM hostile.outcome WHERE n = 1001")" = ok ] \
	|| fail "training with an expression that sets search_path failed: $(cat "$WORK/expr.out")"
[ "$(q -c "SELECT sqlstate FROM hostile.outcome WHERE n = 1002")" = 42501 ] \
	|| fail "an expression that changes the role did not fail with 42501: $(q -c "SELECT sqlstate FROM hostile.outcome WHERE n = 1002")"

# Method fewshot (issue 20): a source trained with the meta-learner and a
# market adapted from it, under the owner's hostile search_path, in the
# foreground and in a job, and evaluate's protocol 'fewshot' on it.
q -U xdhs_owner >"$WORK/fewshot.out" 2>&1 <<'SQL'
SELECT xdrec.create_model('hs_few', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 1, "fewshot": true, "fewshot_episodes": 2}');
SELECT hostile.try(1003, $$SELECT xdrec.train('hs_few', 'd0')$$);
SELECT hostile.try(1004, $$SELECT xdrec.adapt('hs_few', 'd1', 'fewshot')$$);
SELECT hostile.try(1005, $$SELECT * FROM xdrec.evaluate('hs_few', 'd1', protocol => 'fewshot', support => 16)$$);
SELECT xdrec.adapt('hs_few', 'd2', 'fewshot', background => true);
SQL
[ "$(q -c "SELECT string_agg(sqlstate, ',' ORDER BY n) FROM hostile.outcome WHERE n IN (1003, 1004, 1005)")" = ok,ok,ok ] \
	|| fail "training with fewshot, adapting with it or evaluate's protocol 'fewshot' failed: $(cat "$WORK/fewshot.out")"
# Source weighting (issue 21): train of the source reads the targets' rows
# as the caller and runs BIAO; source_weights reads what the version kept.
q -U xdhs_owner >"$WORK/biao.out" 2>&1 <<'SQL'
SELECT xdrec.create_model('hs_biao', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 4, "epochs": 1, "lr_search": 1, "source_weighting": "biao", "biao_interval": 2, "biao_warmup": 0}');
SELECT hostile.try(1007, $$SELECT xdrec.train('hs_biao', 'd0')$$);
SELECT hostile.try(1008, $$SELECT * FROM xdrec.source_weights('hs_biao', 3)$$);
SELECT xdrec.train('hs_biao', 'd0', background => true);
SQL
[ "$(q -c "SELECT string_agg(sqlstate, ',' ORDER BY n) FROM hostile.outcome WHERE n IN (1007, 1008)")" = ok,ok ] \
	|| fail "training with source weighting or reading its weights failed: $(cat "$WORK/biao.out")"
# The cold paths under the hostile search_path (the owner's default): a
# model holding users out of training, evaluate's protocol 'cold' reading
# them, rank's popularity fallback for a user with nothing to rank from, and
# a new item (rows added after training) among the candidates of trained
# users, ranked from its item-scoped features read from the relation.
q -U xdhs_owner >"$WORK/cold.out" 2>&1 <<'SQL'
SELECT xdrec.create_model('hs_cold', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 1, "cold_holdout": 0.3}');
SELECT hostile.try(1013, $$SELECT xdrec.train('hs_cold', 'd0')$$);
SELECT hostile.try(1014, $$SELECT * FROM xdrec.evaluate('hs_cold', 'd0', protocol => 'cold')$$);
SELECT hostile.try(1015, $$SELECT * FROM xdrec.rank('hs_cold', 10000003, '{}', 3, on_unknown => 'popular')$$);
SQL
q >/dev/null <<'SQL'
INSERT INTO g SELECT domain, user_key, 990001, rating, hour, weekday, rain, spend, price, cuisine
FROM g WHERE domain = 'd0' ORDER BY user_key, item_key LIMIT 3;
SQL
q -U xdhs_owner >>"$WORK/cold.out" 2>&1 <<'SQL'
SELECT hostile.try(1016, $$SELECT count(*) FROM (SELECT DISTINCT user_key FROM g WHERE domain = 'd0') u,
	LATERAL xdrec.rank('hs_cold', u.user_key, '{}', 3, candidates => ARRAY[990001::bigint], on_unknown => 'skip') r$$);
SQL
[ "$(q -c "SELECT string_agg(sqlstate, ',' ORDER BY n) FROM hostile.outcome WHERE n BETWEEN 1013 AND 1016")" = ok,ok,ok,ok ] \
	|| fail "the cold paths failed under the hostile search_path: $(cat "$WORK/cold.out")"

# every job to its end, waited for with a clean search_path
q -c "SELECT count(xdrec.wait(id, '120 s')) FROM xdrec.job" >/dev/null
IFS='|' read -r jobs finished role_job < <(q -c "SELECT count(*), count(*) FILTER (WHERE j.state = 'finished'),
	(SELECT state || ' ' || coalesce(sqlstate, '') FROM xdrec.job x JOIN xdrec.model m ON m.id = x.model_id WHERE m.name = 'hs_role')
	FROM xdrec.job j")
[ "$finished" -gt 0 ] || fail "no background job finished: $(q -c "SELECT state, error FROM xdrec.job")"
[ "$role_job" = "failed 42501" ] || fail "the job whose expression changes the role ended $role_job"
biao_job=$(q -c "SELECT x.state FROM xdrec.job x JOIN xdrec.model m ON m.id = x.model_id WHERE m.name = 'hs_biao'")
[ "$biao_job" = finished ] || fail "the source weighting training job ended $biao_job: $(q -c "SELECT error FROM xdrec.job x JOIN xdrec.model m ON m.id = x.model_id WHERE m.name = 'hs_biao'")"
fewshot_job=$(q -c "SELECT x.state FROM xdrec.job x JOIN xdrec.model m ON m.id = x.model_id WHERE m.name = 'hs_few'")
[ "$fewshot_job" = finished ] || fail "the fewshot adaptation job ended $fewshot_job: $(q -c "SELECT error FROM xdrec.job x JOIN xdrec.model m ON m.id = x.model_id WHERE m.name = 'hs_few'")"

# the verdict
calls=$(q -c "SELECT count(*) FROM calls")
IFS='|' read -r ran as_others control < <(q -c "SELECT count(*), count(*) FILTER (WHERE at_role <> ALL ('{xdhs_stranger,xdhs_grantee,xdhs_owner}'::name[])),
	count(*) FILTER (WHERE what = 'text =') FROM hostile.log")
escalated=$(q -c "SELECT string_agg(DISTINCT at_role || ' ran ' || what, '; ') FROM hostile.log WHERE at_role <> ALL ('{xdhs_stranger,xdhs_grantee,xdhs_owner}'::name[])")
roles_after=$(q -c "$attributes")
crashes_after=$(it_crashes)
echo "hostile objects: $n_objects; $functions functions of xdrec called as 3 roles: $calls calls, 2 feature expressions, $jobs background jobs ($finished finished)"
echo "hostile code ran $ran times, $as_others of them as another role; roles changed: $([ "$roles_before" = "$roles_after" ] && echo no || echo yes); crashes: $((crashes_after - crashes_before))"
[ "$control" -ge 3 ] || fail "the control query did not reach the hostile operator ($control times)"
[ "$as_others" = 0 ] || fail "hostile code ran as another role: $escalated"
[ "$roles_before" = "$roles_after" ] || fail "roles changed: before $roles_before, after $roles_after"
[ "$crashes_after" = "$crashes_before" ] || fail "the server crashed $((crashes_after - crashes_before)) time(s)"
echo "ok: $((calls + 2)) hostile calls and $jobs jobs ran no hostile code as another role"
