/*
 * model_fn.c - the model's life outside training (DESIGN sections 1, 6, 9):
 * xdrec.create_model, xdrec.drop_model, xdrec.grant, xdrec.revoke and
 * xdrec.rollback.
 *
 * Each checks the caller first, as the caller: create_model through
 * xdrec_internal.check_model (the relation, columns and feature expressions
 * with the caller's privileges), the others through
 * xdrec_internal.model_for (the model as the caller sees it, and the
 * privilege it needs). Then the write alone runs as the catalog's owner
 * (owner.c), naming the model the check was made on, with every value
 * passed explicitly: roles write none of the catalog themselves.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "store/store.h"

/* What xdrec_internal.model_for returned: the model as the caller sees it. */
typedef struct XdModelRef
{
	int64		id;
	char	   *name;
	char	   *owner;
	char	   *source_domain;	/* NULL before training */
} XdModelRef;

/*
 * The model argument 0 names, with privilege ('own', 'train') checked as
 * the caller; the errors (null name, unknown model, not the owner) are
 * model_for's. SPI connected.
 */
static XdModelRef
model_ref(FunctionCallInfo fcinfo, const char *privilege)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2] = {PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0),
	CStringGetTextDatum(privilege)};
	char		nulls[2] = {PG_ARGISNULL(0) ? 'n' : ' ', ' '};
	XdModelRef	r;
	bool		isnull;

	if (xdpg_spi_user_facing("SELECT m.id, m.name, m.owner::pg_catalog.text, m.source_domain "
							  "FROM xdrec_internal.model_for($1, $2) m",
							  2, types, vals, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: reading the model failed");
	r.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	r.name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	r.owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	r.source_domain = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	return r;
}

/* The role argument argno names, which must exist. */
static char *
role_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *role;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role must not be null")));
	role = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (!OidIsValid(get_role_oid(role, true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", role)));
	return role;
}

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
}

/*
 * xdrec.create_model(name, relation, user_col, item_col, domain_col,
 * rating_col, features, options): validated as the caller, written as the
 * owner with the caller as the model's owner. Returns the model's id.
 */
PG_FUNCTION_INFO_V1(xdrec_create_model);
Datum
xdrec_create_model(PG_FUNCTION_ARGS)
{
	/* $1..$8 the arguments, $9..$11 the key types, $12 the owner */
	Oid			types[12] = {TEXTOID, REGCLASSOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	JSONBOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[12];
	char		nulls[12];
	XdSpan		span;
	int64		id;
	bool		isnull;

	xdpg_check_writable("xdrec.create_model");

	for (int i = 0; i < 8; i++)
	{
		vals[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	spi_connect();
	/* the checks plan feature expressions: the caller's SQL */
	xdpg_user_begin(&span);
	if (xdpg_spi_user_facing("SELECT c.user_type, c.item_type, c.domain_type "
							  "FROM xdrec_internal.check_model($1, $2, $3, $4, $5, $6, $7, $8) c",
							  8, types, vals, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: checking the model failed");
	xdpg_span_end(&span);
	for (int i = 0; i < 3; i++)
	{
		vals[8 + i] = CStringGetTextDatum(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1));
		nulls[8 + i] = ' ';
	}
	vals[11] = xdpg_current_role_name();
	nulls[11] = ' ';
	if (xdpg_owner_execute("INSERT INTO xdrec.model (name, relation, user_col, item_col, domain_col, "
						   " rating_col, options, user_type, item_type, domain_type, owner) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $10, $11, $12) "
						   "ON CONFLICT (name) DO NOTHING RETURNING id",
						   12, types, vals, nulls, SPI_OK_INSERT_RETURNING) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("Model names are unique per database, whoever owns them.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	xdpg_write_features(id, PG_GETARG_DATUM(6));
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* xdrec.drop_model(name): by the owner; its jobs cancelled, then everything of it deleted. */
PG_FUNCTION_INFO_V1(xdrec_drop_model);
Datum
xdrec_drop_model(PG_FUNCTION_ARGS)
{
	XdModelRef	r;
	Oid			types[1] = {INT8OID};
	Datum		vals[1];

	xdpg_check_writable("xdrec.drop_model");

	spi_connect();
	r = model_ref(fcinfo, "own");
	vals[0] = Int64GetDatum(r.id);
	/* as the caller, who may cancel every job of a model it owns */
	if (SPI_execute_with_args("SELECT xdrec.cancel(j.id) FROM xdrec.job j "
							  "WHERE j.model_id OPERATOR(pg_catalog.=) $1 "
							  "AND j.state OPERATOR(pg_catalog.=) ANY ('{scheduled,running}'::pg_catalog.text[])",
							  1, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: cancelling the jobs of model \"%s\" failed", r.name);
	xdpg_model_check_write(r.id, r.name, "own");
	xdpg_owner_execute("DELETE FROM xdrec.model WHERE id OPERATOR(pg_catalog.=) $1",
					   1, types, vals, NULL, SPI_OK_DELETE);
	SPI_finish();
	PG_RETURN_VOID();
}

/* xdrec.grant(name, role, privilege): by the owner, to another role. */
PG_FUNCTION_INFO_V1(xdrec_grant);
Datum
xdrec_grant(PG_FUNCTION_ARGS)
{
	XdModelRef	r;
	char	   *role;
	char	   *privilege;
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[4];

	xdpg_check_writable("xdrec.grant");

	spi_connect();
	r = model_ref(fcinfo, "own");
	role = role_arg(fcinfo, 1);
	privilege = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (privilege == NULL || (strcmp(privilege, "use") != 0 && strcmp(privilege, "train") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("privilege must be \"use\" or \"train\", not %s",
						privilege ? quote_literal_cstr(privilege) : "null"),
				 errhint("\"use\" lets a role see, rank and evaluate; \"train\" also lets it train and adapt.")));
	if (strcmp(role, r.owner) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" owns model \"%s\" already", role, r.name)));
	xdpg_model_check_write(r.id, r.name, "own");
	vals[0] = Int64GetDatum(r.id);
	vals[1] = CStringGetTextDatum(role);
	vals[2] = CStringGetTextDatum(privilege);
	vals[3] = CStringGetTextDatum(r.owner);
	xdpg_owner_execute("INSERT INTO xdrec.model_grant AS x (model_id, grantee, privilege, owner, granted_at) "
					   "VALUES ($1, $2, $3, $4, pg_catalog.now()) "
					   "ON CONFLICT (model_id, grantee) "
					   "DO UPDATE SET privilege = excluded.privilege, granted_at = excluded.granted_at",
					   4, types, vals, NULL, SPI_OK_INSERT);
	SPI_finish();
	PG_RETURN_VOID();
}

/* xdrec.revoke(name, role): by the owner; a notice when there was no grant. */
PG_FUNCTION_INFO_V1(xdrec_revoke);
Datum
xdrec_revoke(PG_FUNCTION_ARGS)
{
	XdModelRef	r;
	char	   *role;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2];

	xdpg_check_writable("xdrec.revoke");

	spi_connect();
	r = model_ref(fcinfo, "own");
	role = role_arg(fcinfo, 1);
	xdpg_model_check_write(r.id, r.name, "own");
	vals[0] = Int64GetDatum(r.id);
	vals[1] = CStringGetTextDatum(role);
	if (xdpg_owner_execute("DELETE FROM xdrec.model_grant "
						   "WHERE model_id OPERATOR(pg_catalog.=) $1 AND grantee OPERATOR(pg_catalog.=) $2",
						   2, types, vals, NULL, SPI_OK_DELETE) == 0)
		ereport(NOTICE,
				(errmsg("role \"%s\" has no grant on model \"%s\"", role, r.name)));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * xdrec.rollback(name, domain): with 'train', serves the domain's previous
 * ready version (the source's when domain is NULL) and retires the one it
 * served. Returns the version now served.
 */
PG_FUNCTION_INFO_V1(xdrec_rollback);
Datum
xdrec_rollback(PG_FUNCTION_ARGS)
{
	XdModelRef	r;
	char	   *domain;
	Oid			types[4] = {INT8OID, TEXTOID, INT8OID, TEXTOID};
	Datum		vals[4];
	XdSpan		span;
	bool		isnull = false;
	int64		cur,
				prev;
	char	   *cur_role;

	xdpg_check_writable("xdrec.rollback");

	spi_connect();
	r = model_ref(fcinfo, "train");
	domain = PG_ARGISNULL(1) ? r.source_domain : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (domain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been trained yet", r.name)));
	xdpg_model_check_write(r.id, r.name, "train");
	vals[0] = Int64GetDatum(r.id);
	vals[1] = CStringGetTextDatum(domain);

	/* reading the served version locks it: this span writes what it read */
	xdpg_owner_begin(&span);
	if (SPI_execute_with_args("SELECT served_version, role FROM xdrec.domain "
							  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2 "
							  "FOR UPDATE", 2, types, vals, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading domain %s failed", domain);
	cur = SPI_processed == 1 ?
		DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
	if (SPI_processed != 1 || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" serves no domain %s", r.name, domain),
				 errhint("SELECT domain FROM xdrec.domains WHERE model = %s lists its trained domains.",
						 quote_literal_cstr(r.name))));
	cur_role = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	vals[2] = Int64GetDatum(cur);
	vals[3] = CStringGetTextDatum(cur_role);
	if (SPI_execute_with_args("SELECT id FROM xdrec.version "
							  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2 "
							  "AND kind OPERATOR(pg_catalog.=) $4 AND state OPERATOR(pg_catalog.=) 'ready' "
							  "AND id OPERATOR(pg_catalog.<) $3 AND deployed_at IS NOT NULL "
							  "ORDER BY id DESC LIMIT 1",
							  4, types, vals, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the versions of domain %s failed", domain);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("domain %s of model \"%s\" has no version before " INT64_FORMAT, domain, r.name, cur)));
	prev = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (SPI_execute_with_args("UPDATE xdrec.version SET state = 'retired' "
							  "WHERE id OPERATOR(pg_catalog.=) $3 AND model_id OPERATOR(pg_catalog.=) $1",
							  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: retiring version " INT64_FORMAT " failed", cur);
	/* the statement trigger on xdrec.domain invalidates every ranking cache */
	vals[2] = Int64GetDatum(prev);
	if (SPI_execute_with_args("UPDATE xdrec.version SET deployed_at = pg_catalog.now() "
							  "WHERE id OPERATOR(pg_catalog.=) $3 AND model_id OPERATOR(pg_catalog.=) $1",
							  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: stamping version " INT64_FORMAT " failed", prev);
	if (SPI_execute_with_args("UPDATE xdrec.domain SET served_version = $3 "
							  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2",
							  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: serving version " INT64_FORMAT " failed", prev);
	xdpg_span_end(&span);
	SPI_finish();
	PG_RETURN_INT64(prev);
}
