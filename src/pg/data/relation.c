/*
 * relation.c - the model's relation as training reads it: the check that it
 * still holds the key columns the model was made with, and the SQL of its
 * usable rows of one domain (which rows, and each feature's column or
 * expression cast to what the loader reads). load.c runs it.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "data/data.h"

/* the walk of xdpg_refuse_foreign_sql */
typedef struct ForeignWalk
{
	Oid			me;				/* the reading role */
	Oid			found;			/* the first function it may not run */
	Oid			owner;			/* ... and its owner */
	List	   *relids;			/* the relations it names, views' and policies' too */
} ForeignWalk;

/*
 * Whether the reading role may have function func run as itself by a read
 * another role wrote: one that is not volatile, of the reader's own roles
 * (membership without superuser) or of a superuser (a built-in that only
 * computes). A volatile one never: it may act (built-ins write files,
 * settings, sequences; an extension's open connections), and whoever wrote
 * the read chose its arguments, even when the reader owns the function.
 */
static bool
foreign_function(Oid func, void *arg)
{
	ForeignWalk *w = arg;
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(func));
	bool		foreign = true;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

		foreign = proc->provolatile == PROVOLATILE_VOLATILE ||
			!(is_member_of_role_nosuper(w->me, proc->proowner) || superuser_arg(proc->proowner));
		w->owner = proc->proowner;
		ReleaseSysCache(tup);
	}
	if (foreign)
		w->found = func;
	return foreign;
}

static bool
foreign_walker(Node *node, void *arg)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, foreign_function, arg))
		return true;
	if (IsA(node, Query))
	{
		ForeignWalk *w = arg;
		ListCell   *lc;

		foreach(lc, ((Query *) node)->rtable)
			if (lfirst_node(RangeTblEntry, lc)->rtekind == RTE_RELATION)
				w->relids = list_append_unique_oid(w->relids, lfirst_node(RangeTblEntry, lc)->relid);
		return query_tree_walker((Query *) node, foreign_walker, arg, 0);
	}
	return expression_tree_walker(node, foreign_walker, arg);
}

/*
 * The reads xdpg_refuse_foreign_sql allowed, kept per backend so that a
 * read made on every call (a cold user's rows) is not parsed and rewritten
 * again each time. A verdict holds for its SQL, argument types, reading
 * role, the model's owner, the relation, row_security and search_path,
 * and only while no invalidation that could change the rewritten read or
 * the verdict has arrived since it was reached: any relation's (a view's
 * definition, a policy, row-level security switched, an owner changed),
 * any function's (its owner, volatility, body), type's, cast's,
 * operator's or schema's, any role's (superuser, bypassrls) or role
 * membership's. Any of them forgets every
 * verdict (verdict_epoch). Before a verdict is used, the relations the read
 * named are locked as its parse locked them (so that none of them can
 * change until the transaction ends) and pending invalidations are taken
 * in. A refusal is never kept. A few are kept, least recently used out.
 */
#define XDPG_VERDICTS 8

typedef struct ReadVerdict
{
	char	   *sql;			/* NULL: an empty slot */
	int			nargs;
	Oid			types[FUNC_MAX_ARGS];
	Oid			role;
	Oid			model_owner;
	Oid			relid;
	bool		row_security;
	char	   *search_path;	/* as set (xdrec's user span pins it) */
	Oid		   *relids;			/* the relations the read named */
	int			n_relids;
	uint64		epoch;			/* verdict_epoch when it was reached */
	uint64		used;
} ReadVerdict;

static ReadVerdict verdicts[XDPG_VERDICTS];
static uint64 verdict_epoch = 1;
static uint64 verdicts_clock = 0;
static bool verdict_callbacks = false;

static void
verdicts_forget_sys(Datum arg, int cacheid, uint32 hashvalue)
{
	verdict_epoch++;
}

static void
verdicts_forget_rel(Datum arg, Oid relid)
{
	verdict_epoch++;
}

/* the callbacks that forget every verdict, once per backend */
static void
verdicts_watch(void)
{
	static const int caches[] = {PROCOID, TYPEOID, CASTSOURCETARGET, OPEROID, NAMESPACEOID,
	AUTHOID, AUTHMEMROLEMEM};

	if (verdict_callbacks)
		return;
	CacheRegisterRelcacheCallback(verdicts_forget_rel, (Datum) 0);
	for (int i = 0; i < lengthof(caches); i++)
		CacheRegisterSyscacheCallback(caches[i], verdicts_forget_sys, (Datum) 0);
	verdict_callbacks = true;
}

/* the slot of a read's verdict (matching: *found), else the one to reuse */
static ReadVerdict *
verdict_slot(const char *sql, int nargs, const Oid *types, Oid role, Oid model_owner,
			 Oid relid, bool *found)
{
	ReadVerdict *slot = &verdicts[0];

	*found = false;
	for (int i = 0; i < XDPG_VERDICTS; i++)
	{
		ReadVerdict *r = &verdicts[i];

		if (r->sql && r->role == role && r->model_owner == model_owner && r->relid == relid &&
			r->row_security == row_security && r->nargs == nargs &&
			strcmp(r->search_path, namespace_search_path) == 0 &&
			memcmp(r->types, types, sizeof(Oid) * nargs) == 0 && strcmp(r->sql, sql) == 0)
		{
			*found = true;
			return r;
		}
		if (r->used < slot->used)
			slot = r;
	}
	return slot;
}

/*
 * Whether v still holds: its relations locked as the parse would lock them
 * (taking in the invalidations of whatever committed before), then no
 * invalidation since it was reached.
 */
static bool
verdict_holds(ReadVerdict *v)
{
	for (int i = 0; i < v->n_relids; i++)
		LockRelationOid(v->relids[i], AccessShareLock);
	AcceptInvalidationMessages();
	return v->epoch == verdict_epoch;
}

static void
verdict_keep(ReadVerdict *slot, const char *sql, int nargs, const Oid *types, Oid role,
			 Oid model_owner, Oid relid, List *relids, uint64 epoch)
{
	ListCell   *lc;
	int			i = 0;

	if (slot->sql)
	{
		pfree(slot->sql);
		pfree(slot->search_path);
		pfree(slot->relids);
	}
	slot->sql = MemoryContextStrdup(TopMemoryContext, sql);
	slot->nargs = nargs;
	memcpy(slot->types, types, sizeof(Oid) * nargs);
	slot->role = role;
	slot->model_owner = model_owner;
	slot->relid = relid;
	slot->row_security = row_security;
	slot->search_path = MemoryContextStrdup(TopMemoryContext, namespace_search_path);
	slot->relids = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * Max(list_length(relids), 1));
	foreach(lc, relids)
		slot->relids[i++] = lfirst_oid(lc);
	slot->n_relids = i;
	slot->epoch = epoch;
	slot->used = ++verdicts_clock;
}

/*
 * Refuses (42501) a read of md's relation that would run, as the current
 * role, a function that role may not have run by a read another role wrote
 * (foreign_function). A reader that belongs (without superuser) to the
 * model's owner and to the relation's owner wrote all of it: not checked.
 * Otherwise sql, with its nargs parameters of types, is parsed
 * and rewritten as the current role, so the walk sees what the read would
 * run: the feature expressions (SQL of the model's owner), a view's
 * definition and the row-level security policies that apply to the reader
 * (SQL of the relation's owner), casts of the columns' types. reading says
 * what is read. Serving reads the relation as the caller for a user or item
 * the version has no embedding for, and evaluate for its test rows: a use
 * grant lets a role rank, not run the owner's SQL as itself (a superuser
 * ranking would run it with every privilege; docs/security.md, "Reading
 * the interactions"). Training runs as its own grantees, by the rule that
 * train is granted between roles that trust each other.
 */
void
xdpg_refuse_foreign_sql(const XdModelDef *md, const char *sql, int nargs, Oid *types,
						const char *reading)
{
	ForeignWalk w = {GetUserId(), InvalidOid, InvalidOid, NIL};
	Oid			owner = md->owner ? get_role_oid(md->owner, true) : InvalidOid;
	HeapTuple	rel = SearchSysCache1(RELOID, ObjectIdGetDatum(md->relid));
	bool		own;
	ListCell   *lc;
	ReadVerdict *slot;
	bool		found;
	uint64		epoch;

	own = OidIsValid(owner) && is_member_of_role_nosuper(w.me, owner) && HeapTupleIsValid(rel) &&
		is_member_of_role_nosuper(w.me, ((Form_pg_class) GETSTRUCT(rel))->relowner);
	if (HeapTupleIsValid(rel))
		ReleaseSysCache(rel);
	if (own)
		return;
	if (nargs > FUNC_MAX_ARGS)
		elog(ERROR, "xdrec: a read of %d arguments", nargs);
	verdicts_watch();
	slot = verdict_slot(sql, nargs, types, w.me, owner, md->relid, &found);
	if (found && verdict_holds(slot))
	{
		slot->used = ++verdicts_clock;
		return;
	}
	/* the epoch before the parse: an invalidation during it is not missed */
	AcceptInvalidationMessages();
	epoch = verdict_epoch;
	foreach(lc, pg_parse_query(sql))
	{
		List	   *queries = pg_analyze_and_rewrite_fixedparams(lfirst_node(RawStmt, lc), sql,
																 types, nargs, NULL);
		ListCell   *q;

		foreach(q, queries)
			if (foreign_walker(lfirst(q), &w))
				break;
		if (OidIsValid(w.found))
			break;
	}
	if (OidIsValid(w.found))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("reading %s of model \"%s\" as role \"%s\" would run function %s of role \"%s\"",
						reading, md->name, GetUserNameFromId(w.me, false),
						format_procedure(w.found),
						GetUserNameFromId(w.owner, true)),
				 errdetail("xdrec reads the model's relation as the caller; unless the caller belongs to the model's owner and the relation's, it runs there only functions that are not volatile, of the caller's own roles or built in: a feature expression, a view or a row-level security policy calls this one."),
				 errhint("Call it as a member of that role, or have the model's owner declare the feature without the function.")));
	verdict_keep(slot, sql, nargs, types, w.me, owner, md->relid, w.relids, epoch);
}

/*
 * The model's relation as it is now must still hold its key columns with the
 * types the model was made with: a dropped relation, a renamed key column or
 * keys changed between integer and text would otherwise fail deep inside the
 * loading query with a message that does not say why. (Ranking needs none of
 * this: it is served from the catalog.)
 */
void
xdpg_check_relation(XdModelDef *md)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(md->id)};
	const char *role[2] = {"user", "item"};

	if (md->relation == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the relation of model \"%s\" no longer exists", md->name),
				 errhint("Drop the model, or create it again on an existing relation.")));
	if (SPI_execute_with_args("SELECT t::text, t IN ('bigint', 'integer', 'smallint') "
							  "FROM xdrec.model m, LATERAL (VALUES (1, xdrec_internal.column_type(m.relation, m.user_col)), "
							  " (2, xdrec_internal.column_type(m.relation, m.item_col))) k(i, t) "
							  "WHERE m.id = $1 ORDER BY k.i",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 2)
		elog(ERROR, "xdrec: reading the key columns of model \"%s\" failed", md->name);
	for (int i = 0; i < 2; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		const char *col = i == 0 ? md->user_col : md->item_col;
		bool		was_int = i == 0 ? md->user_int : md->item_int;
		char	   *now;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the %s column \"%s\" of model \"%s\" no longer exists in %s",
							role[i], col, md->name, md->relation)));
		now = TextDatumGetCString(d);
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)) != was_int)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the %s column \"%s\" of %s now has type %s, but model \"%s\" was made with %s keys",
							role[i], col, md->relation, now, md->name, was_int ? "integer" : "text"),
					 errhint("Restore the column's type, or create a new model on the relation.")));
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The rows of domain $1 of model $2, less those of users forgotten from the
 * domain (xdrec.forgotten, store/forget.c): their interactions stay in the
 * relation, but no later training or adaptation sees them.
 */
char *
xdpg_where_domain(XdModelDef *md)
{
	/* uncorrelated (a hashed subplan), so no column name of it can capture the user column */
	return psprintf("%s = $1::%s AND (%s)::%s::pg_catalog.text NOT IN (SELECT f.user_key FROM xdrec.forgotten f "
					"WHERE f.model_id = $2 AND f.domain = $1)",
					quote_identifier(md->domain_col), md->domain_type,
					quote_identifier(md->user_col), md->user_int ? "pg_catalog.int8" : "pg_catalog.text");
}

/* The SQL of feature f over the relation, cast to what the loader reads. */
char *
xdpg_feature_sql(const XdFeatureDef *f)
{
	const char *src = f->column ? quote_identifier(f->column) : NULL;
	const char *cast = f->type == XDPG_NUMERIC ? "pg_catalog.float8" :
		f->type == XDPG_CATEGORICAL ? "pg_catalog.text" : "pg_catalog.bool";

	if (src)
		return psprintf("(%s)::%s", src, cast);
	return psprintf("((%s))::%s", f->expression, cast);
}

/* FLT_MAX as a float8 literal: load.c skips values whose magnitude exceeds it */
#define XDPG_FLOAT4_MAX_SQL "3.4028234663852886e38"

/*
 * " AND ..." conditions that keep the rows training uses (DESIGN section 2):
 * a user and an item, a finite rating for explicit feedback, and numeric
 * values NULL or finite as float4 (what load.c stores). Key maps,
 * vocabularies and profiles come from these rows only, so a key whose every
 * row is skipped gets no untrained embedding.
 */
char *
xdpg_usable_rows_sql(const XdModelDef *md)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, " AND %s IS NOT NULL AND %s IS NOT NULL",
					 quote_identifier(md->user_col), quote_identifier(md->item_col));
	/* NaN compares above every number in SQL, so this refuses it too */
	if (md->explicit_fb)
		appendStringInfo(&b, " AND pg_catalog.abs((%s)::pg_catalog.float8) <= " XDPG_FLOAT4_MAX_SQL,
						 quote_identifier(md->rating_col));
	for (int i = 0; i < md->n_features; i++)
		if (md->features[i].type == XDPG_NUMERIC)
			appendStringInfo(&b, " AND COALESCE(pg_catalog.abs(%s) <= " XDPG_FLOAT4_MAX_SQL ", true)",
							 xdpg_feature_sql(&md->features[i]));
	return b.data;
}

/*
 * The predicate of the users option cold_holdout leaves out of training: a
 * seeded hash of the user key's text form puts share of them (to 1/10000)
 * out, the same users in every domain and on every read (training's keys,
 * evaluate's protocol 'cold'). Schema-qualified: it runs as the caller.
 */
char *
xdpg_holdout_sql(const XdModelDef *md, double share, int64 seed)
{
	return psprintf("(((pg_catalog.hashtextextended((%s)::pg_catalog.text, " INT64_FORMAT ") "
					"OPERATOR(pg_catalog.%%) 10000::pg_catalog.int8) OPERATOR(pg_catalog.+) 10000::pg_catalog.int8) "
					"OPERATOR(pg_catalog.%%) 10000::pg_catalog.int8 OPERATOR(pg_catalog.<) %d::pg_catalog.int8)",
					quote_identifier(md->user_col), seed, (int) rint(share * 10000.0));
}
