/*
 * generate_fn.c - the core's synthetic generator (docs/generator.md) as rows:
 * xdrec_internal.generate_rows(options) validates the options
 * (xdrec_internal.generate_options) and returns every domain's interactions
 * with their raw context values; xdrec.generate(table_name, options) creates
 * the table and inserts them.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "xdrec/generate.h"
#include "data/data.h"

static const char *const weekday_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* keys are domain * 10^7 + id (docs/generator.md) */
#define XDPG_GEN_KEY_BASE INT64CONST(10000000)

static void
gen_guard_reset(void *arg)
{
	xd_generated **g = (xd_generated **) arg;

	if (*g)
		xd_generated_free(*g);
	*g = NULL;
}

/*
 * The generator's config for options, validated with xdrec.generate's limits
 * by xdrec_internal.generate_options (its errors are the caller's).
 */
static void
gen_config(Datum options, bool isnull, xd_gen_config *cfg)
{
	Oid			types[1] = {JSONBOID};
	Datum		args[1] = {isnull ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : options};
	Datum		v[10];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (SPI_execute_with_args("SELECT * FROM xdrec_internal.generate_options($1)", 1, types, args,
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: reading the generator options failed");
	for (int i = 0; i < 10; i++)
	{
		bool		null;

		v[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &null);
	}
	xd_gen_config_default(cfg);
	cfg->seed = (uint64) DatumGetInt64(v[0]);
	cfg->split_seed = cfg->seed;
	cfg->n_domains = DatumGetInt32(v[1]);
	cfg->src_users = DatumGetInt32(v[2]);
	cfg->src_items = DatumGetInt32(v[3]);
	cfg->src_interactions = DatumGetInt64(v[4]);
	cfg->tgt_users = DatumGetInt32(v[5]);
	cfg->tgt_items = DatumGetInt32(v[6]);
	cfg->tgt_interactions = DatumGetInt64(v[7]);
	cfg->explicit_feedback = DatumGetBool(v[8]) ? 1 : 0;
	cfg->control = DatumGetBool(v[9]) ? 1 : 0;
	cfg->hooks.stop = xdpg_stop;
	SPI_finish();
}

/* xdrec_internal.generate_rows(options) */
PG_FUNCTION_INFO_V1(xdrec_generate_rows);
Datum
xdrec_generate_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	xd_gen_config cfg;
	xd_generated **gp = palloc0(sizeof(xd_generated *));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	xd_generated *g;
	xd_status	st;

	/* 0.1.0's xdrec._generate_rows took ten scalars: not a jsonb to read */
	xdpg_check_catalog_version();
	gen_config(PG_GETARG_DATUM(0), PG_ARGISNULL(0), &cfg);

	cb->func = gen_guard_reset;
	cb->arg = gp;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	st = xd_generate(&cfg, gp);
	xdpg_check_status(st, "generating data");
	g = *gp;

	InitMaterializedSRF(fcinfo, 0);
	for (int d = 0; d < g->n_domains; d++)
	{
		const xd_dataset *ds = g->domains[d].ds;
		const xd_schema *s = &g->schema;
		char	   *dname = psprintf("d%d", d);
		int			r_hour = s->features[g->f_hour].raw,
					r_wd = s->features[g->f_weekday].raw,
					r_rain = s->features[g->f_rain].raw,
					r_spend = s->features[g->f_spend].raw,
					r_price = s->features[g->f_price].raw,
					r_cuisine = s->features[g->f_cuisine].raw;

		for (int64 r = 0; r < ds->n_rows; r++)
		{
			const float *num = ds->num + (size_t) r * s->n_num;
			const int32 *codes = ds->codes + (size_t) r * s->n_codes;
			Datum		v[10];
			bool		n[10] = {false};
			int32		wd = codes[r_wd];

			v[0] = CStringGetTextDatum(dname);
			v[1] = Int64GetDatum(d * XDPG_GEN_KEY_BASE + ds->users[r]);
			v[2] = Int64GetDatum(d * XDPG_GEN_KEY_BASE + ds->items[r]);
			if (ds->ratings)
				v[3] = Float4GetDatum(ds->ratings[r]);
			else
				n[3] = true;
			v[4] = Float4GetDatum(num[r_hour]);
			n[4] = isnan(num[r_hour]);
			if (wd >= 0 && wd < 7)
				v[5] = CStringGetTextDatum(weekday_names[wd]);
			else
				n[5] = true;
			v[6] = BoolGetDatum(num[r_rain] > 0.5f);
			n[6] = isnan(num[r_rain]);
			v[7] = Float4GetDatum(num[r_spend]);
			n[7] = isnan(num[r_spend]);
			v[8] = Float4GetDatum(num[r_price]);
			n[8] = isnan(num[r_price]);
			if (codes[r_cuisine] >= 0)
				v[9] = CStringGetTextDatum(psprintf("c%d", codes[r_cuisine]));
			else
				n[9] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
			if ((r & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	xd_generated_free(g);
	*gp = NULL;
	return (Datum) 0;
}

/*
 * xdrec.generate(table_name, options) RETURNS bigint: creates the table as
 * the caller would (an unqualified name goes to the caller's creation
 * schema) and fills it; the options are validated before anything is created.
 */
PG_FUNCTION_INFO_V1(xdrec_generate);
Datum
xdrec_generate(PG_FUNCTION_ARGS)
{
	char	   *table_name;
	List	   *names;
	RangeVar   *rv;
	Oid			nsp;
	char	   *qname;
	Oid			types[1] = {JSONBOID};
	Datum		args[1];
	xd_gen_config cfg;
	int			ret;
	uint64		n;

	xdpg_check_writable("xdrec.generate");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table_name must not be null")));
	table_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	names = stringToQualifiedNameList(table_name);
	rv = makeRangeVarFromNameList(names);
	nsp = RangeVarGetCreationNamespace(rv);
	qname = quote_qualified_identifier(get_namespace_name(nsp), rv->relname);
	args[0] = PG_ARGISNULL(1) ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : PG_GETARG_DATUM(1);
	gen_config(args[0], false, &cfg);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	ret = SPI_execute(psprintf("CREATE TABLE %s (domain text NOT NULL, user_key bigint NOT NULL, "
							   "item_key bigint NOT NULL, rating real, hour real, weekday text, "
							   "rain boolean, spend real, price real, cuisine text)", qname),
					  false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "xdrec: creating %s failed", qname);
	ret = SPI_execute_with_args(psprintf("INSERT INTO %s SELECT * FROM xdrec_internal.generate_rows($1)", qname),
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "xdrec: filling %s failed", qname);
	n = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}
