/*
 * owner.c - who runs xdrec's SQL (DESIGN section 9, docs/security.md).
 *
 * Roles read xdrec's tables under row-level security and write none of
 * them: the tables are granted SELECT only, and every write is made by
 * xdrec's own C code as the owner of the tables (the role that ran CREATE
 * EXTENSION), as pg_cron writes its job table, once that code has checked
 * the calling role's privilege (GetUserId(), never a value the caller can
 * choose). Such an owner span:
 *
 *   - covers the write alone: privilege checks, feature expressions and
 *     anything else the caller's rights decide run before it, as the caller;
 *   - pins search_path to pg_catalog, pg_temp for its length (whatever the
 *     caller, a login role's default or a feature expression set), and the
 *     SQL run in it schema-qualifies every operator and function too, so no
 *     object a role can create is looked up in it (0.1.0's job queue ran
 *     unqualified operators as the owner under the caller's search_path:
 *     any role with CREATE on a schema became superuser);
 *   - locks the role (SECURITY_LOCAL_USERID_CHANGE: nothing in it may SET
 *     ROLE); not a security-restricted operation, which would refuse the
 *     deferred foreign key of xdrec.version;
 *   - passes every value it writes explicitly: a column default such as
 *     CURRENT_USER would name the owner, not the caller.
 *
 * Code that runs the caller's SQL (feature expressions, the relation's own
 * views and policies) does it in a user span: the caller's own role, locked
 * (a set_config('role', ...) in it is refused with 42501 instead of changing
 * who the rest of the call runs as), with search_path pinned as well.
 *
 * A check a C function runs on the caller's behalf (xdpg_spi_user_facing)
 * raises its errors as the caller's own, without xdrec's internal frames.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "store/store.h"

/* The owner of xdrec.model (and of every other table of the extension). */
Oid
xdpg_extension_owner(void)
{
	Oid			nsp = get_namespace_oid("xdrec", false);
	Oid			relid = get_relname_relid("model", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "xdrec: table xdrec.model is missing");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "xdrec: cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* search_path = pg_catalog, pg_temp until the span's GUC nest level is popped */
static int
pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	return level;
}

static void
span_begin(XdSpan *span, Oid role, int sec)
{
	span->guc_level = pin_search_path();
	GetUserIdAndSecContext(&span->save_user, &span->save_sec);
	SetUserIdAndSecContext(role, span->save_sec | sec);
}

/* As role (a worker's submitter): the role locked, search_path pinned. */
void
xdpg_role_begin(XdSpan *span, Oid role)
{
	span_begin(span, role, SECURITY_LOCAL_USERID_CHANGE);
}

/* As the caller, for the caller's SQL: see the file's comment. */
void
xdpg_user_begin(XdSpan *span)
{
	span_begin(span, GetUserId(), SECURITY_LOCAL_USERID_CHANGE);
}

/* As the extension's owner, for xdrec's own statements: see the file's comment. */
void
xdpg_owner_begin(XdSpan *span)
{
	span_begin(span, xdpg_extension_owner(), SECURITY_LOCAL_USERID_CHANGE);
}

/*
 * Ends any span. An error inside one needs no end: the (sub)transaction's
 * abort restores the role and pops the GUC nest level.
 */
void
xdpg_span_end(XdSpan *span)
{
	SetUserIdAndSecContext(span->save_user, span->save_sec);
	AtEOXact_GUC(true, span->guc_level);
}

/*
 * Runs fn(arg) in a subtransaction, as a PL/pgSQL exception block does, so
 * that the caller may look at its error: NULL when fn returned (the
 * subtransaction released), else the error, copied into the caller's memory
 * context, with the subtransaction rolled back (its SPI connections, role,
 * search_path and locks). fn allocates in a child of the caller's memory
 * context, which lives as long as it when fn returns and is deleted when fn
 * fails, so a caller that tries many times (rank_many's users) does not keep
 * what each failed try allocated. A parallel operation cannot start one: the
 * caller checks IsInParallelMode.
 */
ErrorData *
xdpg_subxact_try(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext fn_cxt = AllocSetContextCreate(cxt, "xdrec subtransaction try",
												 ALLOCSET_DEFAULT_SIZES);
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(fn_cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		MemoryContextDelete(fn_cxt);
	}
	PG_END_TRY();
	return error;
}

/*
 * One statement of xdrec's own as the owner (SPI connected); an error unless
 * SPI returns expect. Returns the rows it processed (SPI_tuptable holds any
 * it returned).
 */
uint64
xdpg_owner_execute(const char *sql, int nargs, Oid *types, Datum *vals,
				   const char *nulls, int expect)
{
	XdSpan		span;
	int			ret;

	xdpg_owner_begin(&span);
	ret = SPI_execute_with_args(sql, nargs, types, vals, nulls, false, 0);
	xdpg_span_end(&span);
	if (ret != expect)
		elog(ERROR, "xdrec: a catalog write failed (%s): %s", SPI_result_code_string(ret), sql);
	return SPI_processed;
}

/*
 * xdpg_owner_execute through a plan of sql kept in *plan for the backend's
 * life (prepared, in the span, on the first call): for a statement run on
 * every call of a hot path. The plan cache replans it after DDL on what it
 * reads, and its search_path is the span's, pinned, each time.
 */
uint64
xdpg_owner_execute_kept(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
						Datum *vals, const char *nulls, int expect)
{
	XdSpan		span;
	int			ret;

	xdpg_owner_begin(&span);
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "xdrec: preparing a statement failed (%s): %s",
				 SPI_result_code_string(SPI_result), sql);
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, vals, nulls, false, 0);
	xdpg_span_end(&span);
	if (ret != expect)
		elog(ERROR, "xdrec: a catalog statement failed (%s): %s", SPI_result_code_string(ret), sql);
	return SPI_processed;
}

/* The current role's name: the value of "owner", "submitted_by", ... columns. */
Datum
xdpg_current_role_name(void)
{
	return CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
}

/*
 * Before writing what belongs to model_id (SPI connected): the model must
 * still exist, locked against a concurrent drop_model until the transaction
 * ends (a drop that committed meanwhile would otherwise end a training in a
 * raw foreign key violation), and the current role must hold privilege
 * ('own', 'train' or 'use') on it now, which a job's submitter may have
 * lost since the job's data was read.
 */
void
xdpg_model_check_write(int64 model_id, const char *name, const char *privilege)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(model_id), CStringGetTextDatum(privilege)};
	bool		isnull;

	if (xdpg_owner_execute("SELECT 1 FROM xdrec.model WHERE id OPERATOR(pg_catalog.=) $1 FOR KEY SHARE",
						   1, types, vals, NULL, SPI_OK_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped", name),
				 errdetail("xdrec.drop_model committed while this call ran; it wrote nothing.")));
	if (SPI_execute_with_args("SELECT xdrec_internal.model_access($1, $2)", 2, types, vals, NULL,
							  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: checking the privileges on model \"%s\" failed", name);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"",
						strcmp(privilege, "own") == 0 ? "change" : privilege, name),
				 errhint("The model's owner can run xdrec.grant('%s', role, '%s').", name, privilege)));
}

/*
 * SPI_execute_with_args for a check a C function runs on the caller's
 * behalf (xdrec_internal.check_model, model_for, ...): an error it raises is
 * the caller's, so it is re-raised without the frames of xdrec's own
 * PL/pgSQL and SQL it came through (no CONTEXT lines), as
 * xdrec_internal.reraise does for plpgsql functions.
 */
int
xdpg_spi_user_facing(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls,
					 bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			ret = 0;

	PG_TRY();
	{
		ret = SPI_execute_with_args(sql, nargs, types, vals, nulls, read_only, count);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		e->context = NULL;
		ReThrowError(e);
	}
	PG_END_TRY();
	return ret;
}
