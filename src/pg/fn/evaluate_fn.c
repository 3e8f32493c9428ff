/*
 * evaluate_fn.c - xdrec.evaluate(name, domain, protocol, seed): reloads a
 * served domain's rows through the version's key maps (rows whose user or
 * item the version does not know are excluded and counted), splits them the
 * same way training did, encodes them with the version's own normalisation
 * and profiles, and measures the test split by DESIGN section 5:
 *   'sampled'  H@1, H@5, H@10, NDCG@10, MRR against 50 + 50 negatives
 *   'full'     HitRate@10, NDCG@10, MRR against every item of the domain
 *   explicit   RMSE and MAE (either protocol name)
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "xdrec/metrics.h"
#include "xdrec_pg.h"

static void
put_row(ReturnSetInfo *rsinfo, const char *domain, const char *method, const char *metric,
		double value, int64 n)
{
	Datum		v[5];
	bool		nulls[5] = {false, false, false, false, false};

	v[0] = CStringGetTextDatum(domain);
	v[1] = CStringGetTextDatum(method);
	v[2] = CStringGetTextDatum(metric);
	v[3] = Float8GetDatum(value);
	v[4] = Int64GetDatum(n);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
}

static char *
version_method(int64 version_id)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(version_id)};
	char	   *m = "train";

	if (SPI_execute_with_args("SELECT method FROM xdrec.version WHERE id = $1", 1, types, vals,
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		m = SPI_palloc(strlen(s) + 1);
		strcpy(m, s);
	}
	return m;
}

/* Evaluates one served domain into rows. */
static void
evaluate_domain(ReturnSetInfo *rsinfo, XdServed *s, const char *name, const char *domain,
				bool full, int seed)
{
	XdVersion  *v = xdpg_version_for_domain(s, name, domain);
	XdModelDef *md;
	XdGuard    *guard = xdpg_guard();
	XdLoadCounts counts;
	xd_dataset *ds;
	xd_eval_opts eo;
	xd_status	st;
	const xd_schema *sc;
	int			save_nestlevel;
	char	   *method;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "use");
	method = version_method(v->version_id);
	if (md->n_features != v->n_features)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" declares %d features but version " INT64_FORMAT " has %d",
						name, md->n_features, v->version_id, v->n_features)));
	/* the version's frozen vocabularies, so codes mean what they meant */
	for (int i = 0; i < md->n_features; i++)
	{
		md->features[i].n_vocab = v->features[i].n_vocab;
		md->features[i].vocab = v->features[i].vocab;
		md->features[i].sorted = v->features[i].sorted;
		md->features[i].bins = v->features[i].bins;
	}

	save_nestlevel = NewGUCNestLevel();
	xdpg_pin_search_path();
	ds = xdpg_load_domain(md, v->domain, &v->users, &v->items, guard, &counts);
	AtEOXact_GUC(true, save_nestlevel);
	SPI_finish();

	if (counts.rows_used == 0)
	{
		put_row(rsinfo, domain, method, "rows_unknown", (double) counts.unknown_key, counts.unknown_key);
		return;
	}

	/* encode with the served version's normalisation and profiles */
	sc = &ds->enc.schema;
	if (sc->n_num != v->enc.schema.n_num || sc->n_edges != v->enc.schema.n_edges ||
		ds->n_users != v->enc.n_users || ds->n_items != v->enc.n_items)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the encoder of version " INT64_FORMAT " does not match its model", v->version_id)));
	memcpy(ds->enc.num_min, v->enc.num_min, sizeof(float) * sc->n_num);
	memcpy(ds->enc.num_max, v->enc.num_max, sizeof(float) * sc->n_num);
	memcpy(ds->enc.bin_edges, v->enc.bin_edges, sizeof(float) * sc->n_edges);
	memcpy(ds->enc.user_num, v->enc.user_num, sizeof(float) * (size_t) ds->n_users * sc->n_user_num);
	memcpy(ds->enc.user_codes, v->enc.user_codes, sizeof(int32) * (size_t) ds->n_users * sc->n_user_codes);
	memcpy(ds->enc.item_num, v->enc.item_num, sizeof(float) * (size_t) ds->n_items * sc->n_item_num);
	memcpy(ds->enc.item_codes, v->enc.item_codes, sizeof(int32) * (size_t) ds->n_items * sc->n_item_codes);

	xd_eval_opts_default(&eo);
	eo.seed = (uint64) seed;
	eo.stop = xdpg_stop;
	if (v->explicit_fb)
	{
		xd_rating_metrics r;

		st = xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_model_score, v->model, &r);
		xdpg_check_status(st, "evaluating");
		put_row(rsinfo, domain, method, "rmse", r.rmse, r.n);
		put_row(rsinfo, domain, method, "mae", r.mae, r.n);
		put_row(rsinfo, domain, method, "excluded", (double) r.n_excluded, r.n_excluded);
	}
	else if (full)
	{
		xd_full_metrics f;

		st = xd_eval_full(ds, XD_SPLIT_TEST, 10, &eo, xd_model_score, v->model, &f);
		xdpg_check_status(st, "evaluating");
		put_row(rsinfo, domain, method, "hit@10", f.hit, f.n);
		put_row(rsinfo, domain, method, "ndcg@10", f.ndcg, f.n);
		put_row(rsinfo, domain, method, "mrr", f.mrr, f.n);
		put_row(rsinfo, domain, method, "excluded", (double) f.n_excluded, f.n_excluded);
	}
	else
	{
		xd_rank_metrics r;

		st = xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_model_score, v->model, &r);
		xdpg_check_status(st, "evaluating");
		put_row(rsinfo, domain, method, "h1", r.h1, r.n);
		put_row(rsinfo, domain, method, "h5", r.h5, r.n);
		put_row(rsinfo, domain, method, "h10", r.h10, r.n);
		put_row(rsinfo, domain, method, "ndcg10", r.ndcg10, r.n);
		put_row(rsinfo, domain, method, "mrr", r.mrr, r.n);
		put_row(rsinfo, domain, method, "excluded", (double) r.n_excluded, r.n_excluded);
	}
	if (counts.unknown_key > 0)
		put_row(rsinfo, domain, method, "rows_unknown", (double) counts.unknown_key, counts.unknown_key);
	xd_dataset_free(guard->ds);
	guard->ds = NULL;
	if (guard->has_schema)
	{
		xd_schema_free(&guard->schema);
		guard->has_schema = false;
	}
}

PG_FUNCTION_INFO_V1(xdrec_evaluate);
Datum
xdrec_evaluate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name,
			   *domain,
			   *protocol;
	bool		full;
	int			seed;
	XdServed   *s;
	char	  **domains;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	protocol = PG_ARGISNULL(2) ? "sampled" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(protocol, "sampled") != 0 && strcmp(protocol, "full") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("protocol must be 'sampled' or 'full', not '%s'", protocol),
				 errhint("'sampled' is the paper's (50 item and 50 context negatives); 'full' ranks every item.")));
	full = strcmp(protocol, "full") == 0;
	seed = PG_ARGISNULL(3) ? 42 : PG_GETARG_INT32(3);

	s = xdpg_served(name);
	n = xdpg_served_domains(s, &domains);
	/* copy: loading versions may drop the served entry on invalidation */
	{
		char	  **copy = palloc(sizeof(char *) * Max(n, 1));

		for (int i = 0; i < n; i++)
			copy[i] = pstrdup(domains[i]);
		domains = copy;
	}
	InitMaterializedSRF(fcinfo, 0);
	if (domain)
	{
		(void) xdpg_version_for_domain(s, name, domain);
		evaluate_domain(rsinfo, s, name, domain, full, seed);
	}
	else
		for (int i = 0; i < n; i++)
			evaluate_domain(rsinfo, s, name, domains[i], full, seed);
	return (Datum) 0;
}
