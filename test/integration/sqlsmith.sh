#!/usr/bin/env bash
# sqlsmith.sh - random SQL (Debian sqlsmith) against a database holding a
# trained and adapted xdrec model, twice: as a non-superuser granted 'train'
# on it, and as a non-superuser who owns a trained model of its own, each
# with a statement_timeout, bounded by --max-queries and a wall-clock
# timeout, both at once. Passes when the server never crashed (pg_postmaster_start_time()
# unchanged, no "terminated by signal" in the server log) and sqlsmith
# reached xdrec as each role. Prints how many queries ran, touched xdrec and
# called one of its functions.
#
# sqlsmith 1.4 has no option to restrict schemas, and reads its function
# list with an unqualified "FROM pg_proc": the role's search_path puts a
# schema first whose view pg_proc shows xdrec's functions, a few builtins to
# build arguments with, and non-set-returning JSON wrappers of the ranking
# and evaluation functions (sqlsmith never calls set-returning functions).
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
# XD_SQLSMITH_QUERIES (5000), XD_SQLSMITH_SECONDS (50, per role), XD_SQLSMITH_SEED.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_sqlsmith
ROLE=xd_smith
OWNER=xd_smith_owner
QUERIES=${XD_SQLSMITH_QUERIES:-5000}
SECONDS_MAX=${XD_SQLSMITH_SECONDS:-50}
SEED=${XD_SQLSMITH_SEED:-$((RANDOM * 32768 + RANDOM))}
SERVER_LOG=$PGHOST/server.log
it_databases "$DB"
it_workdir sqlsmith
# the role after the database, which holds its grants
cleanup()
{
	it_cleanup
	psql -X -q -c "DROP ROLE IF EXISTS $ROLE, $OWNER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

[ -f "$SERVER_LOG" ] || { echo "FAIL: no server log at $SERVER_LOG"; exit 1; }
psql -X -q -c "DROP ROLE IF EXISTS $ROLE, $OWNER" 2>/dev/null
it_trained_model "$DB" food \
	'{"seed": 11, "domains": 2, "sizes": {"source": {"users": 100, "items": 50, "interactions": 2000}, "target": {"users": 40, "items": 20, "interactions": 400}}}' \
	'{"d": 8, "epochs": 2}'
q >/dev/null <<SQL
SELECT xdrec.adapt('food', 'd1', 'direct');
SELECT xdrec.generate('ratings', '{"seed": 12, "domains": 1, "explicit": true, "sizes": {"source": {"users": 40, "items": 20, "interactions": 600}}}');
SELECT xdrec.create_model('stars', 'ratings', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "feedback": "explicit"}');
SELECT xdrec.train('stars', 'd0');

CREATE ROLE $ROLE LOGIN;
SELECT xdrec.grant('food', '$ROLE', 'train');
SELECT xdrec.grant('stars', '$ROLE', 'use');
GRANT SELECT ON orders, ratings TO $ROLE;
-- the owner: a model of its own, trained and adapted, and a use grant
CREATE ROLE $OWNER LOGIN;
GRANT SELECT ON orders, ratings TO $OWNER;
SELECT xdrec.grant('stars', '$OWNER', 'use');
SET ROLE $OWNER;
SELECT xdrec.create_model('mine', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2}');
SELECT xdrec.train('mine', 'd0');
SELECT xdrec.adapt('mine', 'd1', 'direct');
RESET ROLE;

-- the set-returning functions as scalars sqlsmith can call
CREATE FUNCTION public.xdrec_rank_json(name text, user_key bigint, ctx jsonb, k integer, domain text,
									   exclude_seen boolean, candidates bigint[], ctx_vector real[])
RETURNS jsonb LANGUAGE sql AS
\$\$ SELECT jsonb_agg(r) FROM xdrec.rank(name, user_key, ctx, k, domain, exclude_seen, candidates, ctx_vector) r \$\$;
CREATE FUNCTION public.xdrec_rank_text_json(name text, user_key text, ctx jsonb, k integer, domain text,
											exclude_seen boolean, candidates text[], ctx_vector real[])
RETURNS jsonb LANGUAGE sql AS
\$\$ SELECT jsonb_agg(r) FROM xdrec.rank(name, user_key, ctx, k, domain, exclude_seen, candidates, ctx_vector) r \$\$;
CREATE FUNCTION public.xdrec_rank_short_json(user_key bigint, ctx jsonb, k integer)
RETURNS jsonb LANGUAGE sql AS \$\$ SELECT jsonb_agg(r) FROM public.xdrec_rank(user_key, ctx, k) r \$\$;
CREATE FUNCTION public.xdrec_evaluate_json(name text, domain text, protocol text, seed integer)
RETURNS jsonb LANGUAGE sql AS \$\$ SELECT jsonb_agg(e) FROM xdrec.evaluate(name, domain, protocol, seed) e \$\$;
CREATE FUNCTION public.xdrec_adapt_all_json(name text, method text)
RETURNS jsonb LANGUAGE sql AS \$\$ SELECT jsonb_agg(a) FROM xdrec.adapt_all(name, method) a \$\$;

CREATE SCHEMA smith_catalog;
CREATE VIEW smith_catalog.pg_proc AS
	SELECT * FROM pg_catalog.pg_proc
	WHERE pronamespace IN ('xdrec'::regnamespace, 'xdrec_internal'::regnamespace)
	   OR (pronamespace = 'public'::regnamespace AND proname LIKE 'xdrec%')
	   OR (pronamespace = 'pg_catalog'::regnamespace AND proname IN
		   ('count', 'sum', 'min', 'max', 'avg', 'array_agg', 'string_agg', 'jsonb_agg', 'jsonb_object_agg',
			'jsonb_build_object', 'to_jsonb', 'jsonb_set', 'array_fill', 'array_append', 'array_cat',
			'float4', 'int4', 'int8', 'text', 'abs', 'length', 'lower', 'upper', 'concat', 'repeat', 'random'));
GRANT USAGE ON SCHEMA smith_catalog TO $ROLE, $OWNER;
GRANT SELECT ON smith_catalog.pg_proc TO $ROLE, $OWNER;
ALTER ROLE $ROLE IN DATABASE $DB SET search_path = smith_catalog, pg_catalog, public;
ALTER ROLE $ROLE IN DATABASE $DB SET statement_timeout = '1s';
ALTER ROLE $ROLE IN DATABASE $DB SET xdrec.default_model = 'food';
ALTER ROLE $OWNER IN DATABASE $DB SET search_path = smith_catalog, pg_catalog, public;
ALTER ROLE $OWNER IN DATABASE $DB SET statement_timeout = '1s';
ALTER ROLE $OWNER IN DATABASE $DB SET xdrec.default_model = 'mine';
SQL

# smith ROLE WHAT SEED: sqlsmith as ROLE; fails on a crash or if xdrec was not reached
smith()
{
	local started signals_before t0 rc elapsed ran touched called error_rate now signals_after
	local SEED=$3
	started=$(q -c "SELECT pg_postmaster_start_time()")
	signals_before=$(grep -c "terminated by signal" "$SERVER_LOG" || true)
	t0=$(date +%s)
	rc=0
	timeout "$SECONDS_MAX" sqlsmith --target="host=$PGHOST port=$PGPORT dbname=$DB user=$1" \
		--exclude-catalog --max-queries="$QUERIES" --seed="$SEED" --dump-all-queries --verbose \
		>"$WORK/queries.$1.sql" 2>"$WORK/sqlsmith.$1.log" || rc=$?
	elapsed=$(($(date +%s) - t0))
	# 0: --max-queries reached; 124: the wall-clock bound stopped it
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
		echo "FAIL: sqlsmith exited with $rc (seed $SEED)"
		tail -20 "$WORK/sqlsmith.$1.log"
		return 1
	fi

	# queries as dumped: each ends with ";" at the end of a line
	read -r ran touched called < <(awk 'BEGIN { RS = ";\n" }
		/[^[:space:]]/ { n++ }
		/xdrec/ { t++ }
		/xdrec[._a-z]*\(/ { c++ }
		END { print n + 0, t + 0, c + 0 }' "$WORK/queries.$1.sql")
	error_rate=$(sed -n 's/^error rate: //p' "$WORK/sqlsmith.$1.log" | tail -1)
	echo "sqlsmith as $2: $ran queries in ${elapsed}s (seed $SEED), $touched touched xdrec, $called called an xdrec function, error rate ${error_rate:-?}"

	now=$(q -c "SELECT pg_postmaster_start_time()") || { echo "FAIL: the server is gone"; return 1; }
	signals_after=$(grep -c "terminated by signal" "$SERVER_LOG" || true)
	if [ "$now" != "$started" ] || [ "$signals_after" != "$signals_before" ]; then
		echo "FAIL: the server restarted (seed $SEED): start time $started -> $now"
		grep -B2 -A5 "terminated by signal" "$SERVER_LOG" | tail -40
		return 1
	fi
	[ "$ran" -ge 100 ] || { echo "FAIL: only $ran queries ran"; return 1; }
	[ "$called" -gt 0 ] || { echo "FAIL: sqlsmith never called an xdrec function"; return 1; }
	echo "ok: no server crash as $2"
}

# a seed each: the same seed would replay the same queries as the other role.
# The two run at once, each with its own backend, within one wall-clock bound
# (the test suite's time budget); each output is shown whole.
smith "$ROLE" "a train grantee" "$SEED" >"$WORK/smith.grantee.out" 2>&1 &
grantee=$!
smith "$OWNER" "a model's owner" "$((SEED + 1))" >"$WORK/smith.owner.out" 2>&1 &
owner=$!
rc=0
wait "$grantee" || rc=1
wait "$owner" || rc=1
cat "$WORK/smith.grantee.out" "$WORK/smith.owner.out"
exit "$rc"
