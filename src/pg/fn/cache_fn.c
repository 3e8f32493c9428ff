/*
 * cache_fn.c - the SQL face of the per-backend caches (serve/): the
 * statement trigger that invalidates every backend's served entries, and
 * xdrec.cache_stats over the versions and item outputs this backend holds.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/tuplestore.h"

#include "serve/serve.h"

#define XDPG_STATS_COLS 12

/* Whether the current role may use model_id (its cached versions are shown). */
static bool
may_use(int64 model_id)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(model_id)};
	bool		isnull;
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (SPI_execute_with_args("SELECT xdrec_internal.model_access($1, 'use')", 1, types, vals, NULL,
							  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: checking the privileges on a cached model failed");
	ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return ok;
}

/*
 * xdrec_internal.cache_stats(): one row per version in this backend's cache
 * (model_id, domain, version, version_bytes, contexts, context_bytes, hits,
 * misses, and the users it ranked warm, cold from rows, from a history and by
 * popularity) of the models the current role may use (a session that changed
 * roles may cache another role's); xdrec.cache_stats adds the model's name.
 */
PG_FUNCTION_INFO_V1(xdrec_cache_stats);
Datum
xdrec_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	XdVersion **vs;
	int			n = xdpg_cached_versions(&vs);
	Datum	   *rows = palloc(sizeof(Datum) * XDPG_STATS_COLS * Max(n, 1));

	/* copied first: the privilege checks' queries may invalidate the cache */
	for (int i = 0; i < n; i++)
	{
		Datum	   *values = rows + XDPG_STATS_COLS * i;
		/* a blend version's item outputs: both fits' (version_read.c) */
		const XdVersion *b = vs[i]->blend;

		values[0] = Int64GetDatum(vs[i]->model_id);
		values[1] = CStringGetTextDatum(vs[i]->domain);
		values[2] = Int64GetDatum(vs[i]->version_id);
		values[3] = Int64GetDatum((int64) vs[i]->bytes);
		values[4] = Int32GetDatum(vs[i]->ctx_entries + (b ? b->ctx_entries : 0));
		values[5] = Int64GetDatum((int64) (vs[i]->ctx_bytes + (b ? b->ctx_bytes : 0)));
		values[6] = Int64GetDatum(vs[i]->ctx_hits + (b ? b->ctx_hits : 0));
		values[7] = Int64GetDatum(vs[i]->ctx_misses + (b ? b->ctx_misses : 0));
		values[8] = Int64GetDatum(vs[i]->served_warm);
		values[9] = Int64GetDatum(vs[i]->served_cold);
		values[10] = Int64GetDatum(vs[i]->served_history);
		values[11] = Int64GetDatum(vs[i]->served_popular);
	}
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		bool		nulls[XDPG_STATS_COLS] = {0};

		if (may_use(DatumGetInt64(rows[XDPG_STATS_COLS * i])))
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, rows + XDPG_STATS_COLS * i,
								 nulls);
	}
	return (Datum) 0;
}

/*
 * xdrec._invalidate_cache(): the statement trigger on xdrec.model,
 * xdrec.model_grant and xdrec.domain.
 */
PG_FUNCTION_INFO_V1(xdrec_invalidate_cache);
Datum
xdrec_invalidate_cache(PG_FUNCTION_ARGS)
{
	Oid			relid = xdpg_domain_relid();

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "xdrec._invalidate_cache() must be called as a trigger");
	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	return PointerGetDatum(NULL);
}
