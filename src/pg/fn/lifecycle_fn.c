/*
 * lifecycle_fn.c - changing a trained model on purpose (docs/sql-reference.md):
 * xdrec.alter_model, xdrec.set_source and xdrec.deploy.
 *
 * As in model_fn.c, each checks the caller first, as the caller, through a
 * helper of sql/src/46_lifecycle.sql (xdrec_internal.check_alter,
 * check_source, check_deploy: the model as the caller sees it, the privilege
 * it needs, every value validated), then writes alone as the catalog's owner
 * (owner.c), naming the model the check was made on. Nothing is written
 * unless every check passed.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "store/store.h"

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
}

/* Argument i as a datum and its null flag, for a check's parameters. */
static void
arg(FunctionCallInfo fcinfo, int i, Datum *val, char *null)
{
	*null = PG_ARGISNULL(i) ? 'n' : ' ';
	*val = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
}

/* The first row of a check, as the caller; the check raises what it refuses. */
static HeapTuple
check_row(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls, bool user_sql)
{
	XdSpan		span;
	int			ret;

	/* alter_model's check plans feature expressions: the caller's own SQL */
	if (user_sql)
		xdpg_user_begin(&span);
	ret = xdpg_spi_user_facing(sql, nargs, types, vals, nulls, false, 1);
	if (user_sql)
		xdpg_span_end(&span);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: a check failed: %s", sql);
	return SPI_tuptable->vals[0];
}

/* The jsonb of a check's column col (1-based), copied out of SPI; NULL if null. */
static Jsonb *
jsonb_col(HeapTuple t, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(t, SPI_tuptable->tupdesc, col, &isnull);
	Jsonb	   *j;
	Jsonb	   *out;

	if (isnull)
		return NULL;
	j = DatumGetJsonbP(d);
	out = SPI_palloc(VARSIZE(j));
	memcpy(out, j, VARSIZE(j));
	return out;
}

/*
 * xdrec.alter_model(name, options, features): the options merged, the
 * features replaced, as create_model would have them. Returns the options.
 */
PG_FUNCTION_INFO_V1(xdrec_alter_model);
Datum
xdrec_alter_model(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, JSONBOID, JSONBOID};
	Datum		vals[3];
	char		nulls[3];
	HeapTuple	t;
	bool		isnull;
	int64		model_id;
	Jsonb	   *options,
			   *features;
	bool		trained;
	char	   *name;

	xdpg_check_writable("xdrec.alter_model");
	for (int i = 0; i < 3; i++)
		arg(fcinfo, i, &vals[i], &nulls[i]);
	spi_connect();
	t = check_row("SELECT c.model_id, c.options_after, c.features_after, c.trained "
				  "FROM xdrec_internal.check_alter($1, $2, $3) c", 3, types, vals, nulls, true);
	model_id = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
	trained = DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 4, &isnull));
	options = jsonb_col(t, 2);
	features = jsonb_col(t, 3);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	xdpg_model_check_write(model_id, name, features ? "own" : "train");

	vals[0] = Int64GetDatum(model_id);
	if (options)
	{
		Oid			otypes[2] = {INT8OID, JSONBOID};

		vals[1] = JsonbPGetDatum(options);
		xdpg_owner_execute("UPDATE xdrec.model SET options = $2 WHERE id OPERATOR(pg_catalog.=) $1",
						   2, otypes, vals, NULL, SPI_OK_UPDATE);
	}
	if (features)
	{
		Oid			idtype[1] = {INT8OID};

		xdpg_owner_execute("DELETE FROM xdrec.feature WHERE model_id OPERATOR(pg_catalog.=) $1",
						   1, idtype, vals, NULL, SPI_OK_DELETE);
		xdpg_write_features(model_id, JsonbPGetDatum(features));
		/* versions trained before are out of date now, not corrupt */
		xdpg_owner_execute("UPDATE xdrec.model SET features_changed_at = pg_catalog.clock_timestamp() "
						   "WHERE id OPERATOR(pg_catalog.=) $1", 1, idtype, vals, NULL, SPI_OK_UPDATE);
		if (trained)
			ereport(NOTICE,
					(errmsg("the served versions of model \"%s\" keep their features until the source is trained again", name),
					 errhint("SELECT xdrec.train('%s'), then xdrec.adapt_all('%s').", name, name)));
	}
	if (options == NULL)
	{
		Oid			idtype[1] = {INT8OID};

		if (SPI_execute_with_args("SELECT options FROM xdrec.model WHERE id OPERATOR(pg_catalog.=) $1",
								  1, idtype, vals, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "xdrec: reading the options of model \"%s\" failed", name);
		options = jsonb_col(SPI_tuptable->vals[0], 1);
	}
	SPI_finish();
	PG_RETURN_JSONB_P(options);
}

/*
 * xdrec.set_source(name, domain): the old source becomes a target, domain
 * the source, named in the model. Returns domain.
 */
PG_FUNCTION_INFO_V1(xdrec_set_source);
Datum
xdrec_set_source(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[3];
	char		nulls[3] = {' ', ' ', ' '};
	Oid			wtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	HeapTuple	t;
	bool		isnull;
	int64		model_id;
	char	   *name,
			   *domain,
			   *old;
	bool		trained;

	xdpg_check_writable("xdrec.set_source");
	for (int i = 0; i < 2; i++)
		arg(fcinfo, i, &vals[i], &nulls[i]);
	spi_connect();
	t = check_row("SELECT c.model_id, c.old_source, c.trained FROM xdrec_internal.check_source($1, $2) c",
				  2, types, vals, nulls, false);
	model_id = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
	old = SPI_getvalue(t, SPI_tuptable->tupdesc, 2);
	trained = DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &isnull));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (old && strcmp(old, domain) == 0)
	{
		ereport(NOTICE,
				(errmsg("domain %s is the source of model \"%s\" already", domain, name)));
		SPI_finish();
		PG_RETURN_TEXT_P(cstring_to_text(domain));
	}
	xdpg_model_check_write(model_id, name, "train");
	vals[0] = Int64GetDatum(model_id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = old ? CStringGetTextDatum(old) : (Datum) 0;
	nulls[2] = old ? ' ' : 'n';
	if (old)
		xdpg_owner_execute("UPDATE xdrec.domain SET role = 'target' "
						   "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $3",
						   3, wtypes, vals, nulls, SPI_OK_UPDATE);
	xdpg_owner_execute("UPDATE xdrec.domain SET role = 'source' "
					   "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2",
					   2, wtypes, vals, NULL, SPI_OK_UPDATE);
	xdpg_owner_execute("UPDATE xdrec.model SET source_domain = $2 WHERE id OPERATOR(pg_catalog.=) $1",
					   2, wtypes, vals, NULL, SPI_OK_UPDATE);
	if (trained)
		ereport(NOTICE,
				(errmsg("domain %s is the source of model \"%s\" again; its targets adapted against it are current",
						domain, name)));
	else
		ereport(NOTICE,
				(errmsg("domain %s is the source of model \"%s\"; train it before adapting targets", domain, name),
				 errhint("SELECT xdrec.train('%s'), then xdrec.adapt_all('%s').", name, name)));
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(domain));
}

/*
 * xdrec.deploy(name, domain, version): serves a stored version of the
 * domain. Returns the version served before (NULL when none was).
 */
PG_FUNCTION_INFO_V1(xdrec_deploy);
Datum
xdrec_deploy(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT8OID};
	Datum		vals[3];
	char		nulls[3];
	Oid			wtypes[5] = {INT8OID, TEXTOID, INT8OID, TEXTOID, JSONBOID};
	Datum		wvals[5];
	HeapTuple	t;
	bool		isnull,
				prev_null,
				has_row,
				sets_source;
	int64		model_id,
				prev;
	char	   *name;

	xdpg_check_writable("xdrec.deploy");
	for (int i = 0; i < 3; i++)
		arg(fcinfo, i, &vals[i], &nulls[i]);
	spi_connect();
	t = check_row("SELECT c.model_id, c.kind, c.previous, c.has_row, c.sets_source, c.stats "
				  "FROM xdrec_internal.check_deploy($1, $2, $3) c", 3, types, vals, nulls, false);
	model_id = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
	wvals[3] = CStringGetTextDatum(SPI_getvalue(t, SPI_tuptable->tupdesc, 2));
	prev = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &prev_null));
	has_row = DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 4, &isnull));
	sets_source = DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 5, &isnull));
	wvals[4] = JsonbPGetDatum(jsonb_col(t, 6));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	xdpg_model_check_write(model_id, name, "train");

	wvals[0] = Int64GetDatum(model_id);
	wvals[1] = PG_GETARG_DATUM(1);
	wvals[2] = PG_GETARG_DATUM(2);
	xdpg_owner_execute("UPDATE xdrec.version SET state = 'ready', deployed_at = pg_catalog.now() "
					   "WHERE id OPERATOR(pg_catalog.=) $3 AND model_id OPERATOR(pg_catalog.=) $1",
					   3, wtypes, wvals, NULL, SPI_OK_UPDATE);
	/* the statement trigger on xdrec.domain invalidates every ranking cache */
	if (has_row)
		xdpg_owner_execute("UPDATE xdrec.domain SET served_version = $3, role = $4 "
						   "WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2",
						   4, wtypes, wvals, NULL, SPI_OK_UPDATE);
	else
		xdpg_owner_execute("INSERT INTO xdrec.domain (model_id, domain, role, stats, served_version) "
						   "VALUES ($1, $2, $4, $5, $3)", 5, wtypes, wvals, NULL, SPI_OK_INSERT);
	if (sets_source)
		xdpg_owner_execute("UPDATE xdrec.model SET source_domain = $2 WHERE id OPERATOR(pg_catalog.=) $1",
						   2, wtypes, wvals, NULL, SPI_OK_UPDATE);
	SPI_finish();
	if (prev_null || !has_row)
		PG_RETURN_NULL();
	PG_RETURN_INT64(prev);
}
