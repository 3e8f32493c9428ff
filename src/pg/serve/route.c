/*
 * route.c - scale-out routing (docs/scale.md): whether another node holds
 * the domain a ranking call is for, and that node's answer. The placement
 * and the user directory are read by route_sql below, the remote call
 * made by xdpg_route_rows through the PL/Proxy functions of
 * xdrec.enable_routing (sql/src/48_scale.sql), all as the calling role: the
 * holding node checks its privileges as it would for a local call.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/value.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"

#include "serve/serve.h"

/*
 * Where a call goes: the (node, domain) pairs other than this node that hold
 * the domain ($2), or the domains of the users $3 (text[]) in the directory
 * when it is NULL. No row: this node answers (no scale-out, a domain held
 * here or placed nowhere, a user the directory does not know). Read under
 * the caller's policies: a model the caller may not use routes nowhere, and
 * fails here as it would anywhere. Every rank call runs it, as the caller:
 * every name and operator is qualified (DESIGN section 9).
 */
static const char *route_sql =
"WITH here AS ("
"  SELECT s.value FROM xdrec.setting s WHERE s.name OPERATOR(pg_catalog.=) 'node'"
"), m AS ("
"  SELECT x.id FROM xdrec.model x WHERE x.name OPERATOR(pg_catalog.=) $1"
"), doms AS ("
"  SELECT $2 AS d WHERE $2 IS NOT NULL"
"  UNION"
"  SELECT u.domain FROM xdrec.user_domain u, m"
"  WHERE $2 IS NULL AND u.model_id OPERATOR(pg_catalog.=) m.id"
"    AND u.user_key OPERATOR(pg_catalog.=) ANY ($3)"
") "
"SELECT n.name, p.domain "
"FROM here, m, doms "
"JOIN xdrec.placement p ON p.domain OPERATOR(pg_catalog.=) doms.d "
"JOIN xdrec.node n ON n.name OPERATOR(pg_catalog.=) p.node "
"WHERE p.model_id OPERATOR(pg_catalog.=) m.id "
"  AND n.number OPERATOR(pg_catalog.<>) here.value "
"ORDER BY 1, 2";

/* route_sql, planned once per backend */
static SPIPlanPtr route_plan = NULL;

/*
 * Whether this database is a node (xdrec.setting has 'node'): -1 not known.
 * A server that is none skips route_sql; a write to xdrec.setting sends the
 * relcache invalidation of xdrec.domain (its statement trigger), which
 * makes it unknown again.
 */
static int	is_node = -1;
static Oid	is_node_relid = InvalidOid;
static bool callback_registered = false;

static void
relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == is_node_relid)
		is_node = -1;
}

/*
 * The node other than this one that answers a call on model for domain (or,
 * domain NULL, for the users in user_keys, a text[]), or NULL when this node
 * answers. *to_domain: the domain the call goes to, NULL when the users are
 * in several domains of that node (the node finds each, as here).
 */
char *
xdpg_route(const char *model, const char *domain, Datum user_keys, char **to_domain)
{
	Datum		vals[3];
	char		nulls[3] = {' ', domain ? ' ' : 'n', domain ? 'n' : ' '};
	char	   *node = NULL;
	char	   *dom = NULL;
	MemoryContext caller = CurrentMemoryContext;

	*to_domain = NULL;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
		callback_registered = true;
	}
	if (xdpg_domain_relid() != is_node_relid)
	{
		is_node_relid = xdpg_domain_relid();	/* the extension recreated */
		is_node = -1;
	}
	if (is_node == 0)
		return NULL;
	vals[0] = CStringGetTextDatum(model);
	vals[1] = domain ? CStringGetTextDatum(domain) : (Datum) 0;
	vals[2] = domain ? (Datum) 0 : user_keys;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (is_node < 0)
	{
		if (SPI_execute("SELECT EXISTS (SELECT 1 FROM xdrec.setting s "
						"WHERE s.name OPERATOR(pg_catalog.=) 'node')", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the node setting failed");
		is_node = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0;
		if (!is_node)
		{
			SPI_finish();
			return NULL;
		}
	}
	if (route_plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTARRAYOID};
		SPIPlanPtr	plan = SPI_prepare(route_sql, 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "xdrec: preparing the routing query failed: %s",
				 SPI_result_code_string(SPI_result));
		route_plan = plan;
	}
	if (SPI_execute_plan(route_plan, vals, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: the routing query failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *n = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *d = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (node && strcmp(node, n) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the users of this call to model \"%s\" are held by nodes \"%s\" and \"%s\"",
							model, node, n),
					 errhint("Rank the users of each domain in a call of their own, naming it with domain => ...")));
		dom = node ? NULL : d;	/* two domains of one node: it finds each */
		node = n;
	}
	if (node)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		node = pstrdup(node);
		*to_domain = dom ? pstrdup(dom) : NULL;
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return node;
}

/* xdpg_route_rows' query, as xdpg_subxact_try runs it */
typedef struct RoutedRead
{
	ReturnSetInfo *rsinfo;
	const char *sql;
	int			nargs;
	Oid		   *types;
	Datum	   *vals;
	const char *nulls;
} RoutedRead;

/* the routed query's rows into the caller's tuplestore */
static void
routed_read(void *arg)
{
	RoutedRead *r = arg;
	int			natts = r->rsinfo->setDesc->natts;
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *isnull = palloc(sizeof(bool) * natts);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (SPI_execute_with_args(r->sql, r->nargs, r->types, r->vals, r->nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: the routed call failed");
	if (SPI_tuptable->tupdesc->natts != natts)
		elog(ERROR, "xdrec: the routed call returned %d columns, not %d",
			 SPI_tuptable->tupdesc->natts, natts);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		for (int c = 0; c < natts; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1,
									  &isnull[c]);
		tuplestore_putvalues(r->rsinfo->setResult, r->rsinfo->setDesc, values, isnull);
	}
	SPI_finish();
}

/*
 * Answer the calling set-returning function with the rows of sql, a query
 * over the PL/Proxy function xdrec_internal.<proxy> (made by
 * xdrec.enable_routing) whose columns are the caller's, run as the calling
 * role. The one place a routed call fails: not enabled here (0A000), or node
 * not reached (08006, naming it and what it holds: PL/Proxy reports a failed
 * connection as an internal error); errors the holding node raised keep
 * their own SQLSTATE (PL/Proxy marks them REMOTE ERROR). domain NULL: the
 * call's users, found in the directory, are in several domains of node.
 */
void
xdpg_route_rows(FunctionCallInfo fcinfo, const char *node, const char *model,
				const char *domain, const char *proxy, const char *sql, int nargs,
				Oid *types, Datum *vals, const char *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *what = domain ? psprintf("domain \"%s\"", domain) : "the users of this call";
	RoutedRead	r;
	ErrorData  *e;

	if (FuncnameGetCandidates(list_make2(makeString("xdrec_internal"), makeString(pstrdup(proxy))),
							  -1, NIL, false, false, false, true) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s of model \"%s\" is held by node \"%s\", and routing is not enabled here",
						what, model, node),
				 errhint("The owner of extension xdrec enables it: CREATE EXTENSION plproxy; SELECT xdrec.enable_routing();")));
	InitMaterializedSRF(fcinfo, 0);
	/* a subtransaction, as a PL/pgSQL exception block, to read the error */
	r.rsinfo = rsinfo;
	r.sql = sql;
	r.nargs = nargs;
	r.types = types;
	r.vals = vals;
	r.nulls = nulls;
	e = xdpg_subxact_try(routed_read, &r);
	if (e == NULL)
		return;
	if ((e->sqlerrcode == ERRCODE_INTERNAL_ERROR ||
		 ERRCODE_TO_CATEGORY(e->sqlerrcode) == ERRCODE_CONNECTION_EXCEPTION) &&
		(e->message == NULL || strstr(e->message, "REMOTE ERROR") == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("node \"%s\", which holds %s of model \"%s\", cannot be reached",
						node, what, model),
				 e->message ? errdetail_internal("%s", e->message) : 0));
	ReThrowError(e);
}
