/*
 * train_fn.c - xdrec.train(name, source_domain, background): load the source
 * domain (load.c), train MMT-Net with the core's loop (train.c), measure the
 * test split with the paper's sampled protocol, write a new version and serve
 * it (catalog.c), all in the caller's transaction (DESIGN sections 3, 5, 7).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "xdrec/clock.h"
#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "xdrec_pg.h"

/* a source domain needs at least this much to be worth training on */
#define XDPG_MIN_TRAIN_ROWS 20
#define XDPG_MIN_ITEMS 2

void
xdpg_json_num(StringInfo b, const char *key, double x, bool comma)
{
	if (comma)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	if (isnan(x) || isinf(x))
		appendStringInfoString(b, ": null");
	else
		appendStringInfo(b, ": %.6g", x);
}

void
xdpg_json_int(StringInfo b, const char *key, int64 x, bool comma)
{
	if (comma)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfo(b, ": " INT64_FORMAT, x);
}

char *
xdpg_config_json(const XdModelDef *md, const xd_config *cfg)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"d\": %d, \"context_layers\": %d, \"tower_layers\": %d, "
					 "\"variant\": \"%s\", \"mm_residual\": %s, \"feedback\": \"%s\", "
					 "\"dropout\": %.6g, \"beta\": %.6g, \"lr\": %.6g, \"batch_size\": %d, "
					 "\"epochs\": %d, \"patience\": %d, \"seed\": " UINT64_FORMAT ", \"m\": %d}",
					 cfg->d, cfg->n_ctx_layers, cfg->n_tower_layers,
					 cfg->variant == XD_VARIANT_FMT ? "fmt" : "mmt",
					 cfg->mm_residual ? "true" : "false",
					 cfg->feedback == XD_EXPLICIT ? "explicit" : "implicit",
					 cfg->dropout, cfg->beta, cfg->lr, cfg->batch_size,
					 md->epochs, md->patience, (uint64) cfg->seed, cfg->m);
	return b.data;
}

/* One training run, kept between its phases (a job commits in between). */
struct XdTrainRun
{
	char	   *name;
	char	   *domain;
	XdModelDef *md;
	XdGuard    *guard;
	XdKeyMap	users;
	XdKeyMap	items;
	XdLoadCounts counts;
	xd_config	cfg;
	xd_train_result res;
	double		t0;
};

/*
 * Phase 1, with SPI connected: the model and the source domain's rows, read
 * as the current role, and a fresh model. The run lives in cxt, which must
 * be the context current at SPI_connect (where SPI_palloc puts the model and
 * key maps); the guard frees the core's objects with it.
 */
XdTrainRun *
xdpg_train_load(const char *name, const char *domain, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	XdTrainRun *run = palloc0(sizeof(XdTrainRun));
	XdModelDef *md;
	xd_dataset *ds;
	xd_rng		rng;
	xd_status	st;
	int			save_nestlevel;

	run->t0 = xd_clock_seconds();
	run->name = pstrdup(name);
	run->domain = pstrdup(domain);
	run->guard = xdpg_guard();
	MemoryContextSwitchTo(old);
	md = run->md = xdpg_model_load(name, "train");

	/* feature expressions and the key queries run as the caller, pinned path */
	save_nestlevel = NewGUCNestLevel();
	xdpg_pin_search_path();

	xdpg_load_keys(md, domain, true, &run->users);
	xdpg_load_keys(md, domain, false, &run->items);
	if (run->users.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("domain %s of model \"%s\" has no rows with a user and an item", domain, name),
				 errhint("The domain is a value of column \"%s\" of %s.", md->domain_col, md->relation)));
	xdpg_build_vocabulary(md, domain);
	ds = xdpg_load_domain(md, domain, &run->users, &run->items, run->guard, &run->counts);
	AtEOXact_GUC(true, save_nestlevel);

	if (run->counts.rows_used == 0 || ds->n_split[XD_SPLIT_TRAIN] < XDPG_MIN_TRAIN_ROWS ||
		ds->n_items < XDPG_MIN_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source domain %s has too little data to train model \"%s\": " INT64_FORMAT " training rows, %d items",
						domain, name, run->counts.rows_used ? ds->n_split[XD_SPLIT_TRAIN] : 0, (int) ds->n_items),
				 errdetail("Rows read " INT64_FORMAT ", skipped " INT64_FORMAT ".", run->counts.rows_read,
						   run->counts.rows_read - run->counts.rows_used),
				 errhint("A source domain needs at least %d training rows (80%% of its rows) and %d items.",
						 XDPG_MIN_TRAIN_ROWS, XDPG_MIN_ITEMS)));

	/* the model */
	if (md->n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" declares no context features", name),
				 errhint("MMT-Net learns how context drives interactions: declare at least one feature in create_model.")));
	run->cfg = md->cfg;
	run->cfg.m = ds->enc.schema.m;
	run->cfg.m_I = ds->enc.schema.m_I;
	run->cfg.m_H = ds->enc.schema.m_H;
	run->cfg.m_A = ds->enc.schema.m_A;
	if (xd_config_check(&run->cfg) != XD_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the options of model \"%s\" do not make a valid model", name)));
	xdpg_check_model_memory(domain, ds, &run->users, &run->items, run->cfg.d);
	xd_rng_seed(&rng, run->cfg.seed);
	st = xd_model_create(&run->cfg, ds->n_users, ds->n_items, (float) ds->rating_mean, &rng,
						 &run->guard->model);
	xdpg_check_status(st, "creating the model");
	return run;
}

/* Phase 2, the core alone: MMT-Net's training loop (hooks: a job's callbacks). */
void
xdpg_train_fit(XdTrainRun *run, const XdRunHooks *hooks)
{
	xd_train_opts opts;
	xd_status	st;

	xd_train_opts_default(&opts, &run->cfg);
	opts.max_epochs = run->md->epochs;
	opts.patience = run->md->patience;
	opts.valid_max = run->md->val_sample;
	opts.stop = hooks ? hooks->stop : xdpg_stop;
	opts.stop_arg = hooks ? hooks->arg : NULL;
	opts.progress = hooks ? hooks->progress : NULL;
	opts.progress_arg = hooks ? hooks->arg : NULL;
	st = xd_train(run->guard->model, run->guard->ds, &opts, &run->res);
	xdpg_check_status(st, "training");
}

/*
 * Phase 3, with SPI connected: test metrics, the encoders, the version
 * written and served. Returns the training summary (JSON text) and frees the
 * core's objects.
 */
char *
xdpg_train_store(XdTrainRun *run)
{
	XdModelDef *md = run->md;
	XdGuard    *guard = run->guard;
	xd_dataset *ds = guard->ds;
	xd_train_result *res = &run->res;
	xd_status	st;
	xd_eval_opts eo;
	xd_rank_metrics rm;
	xd_rating_metrics ratm;
	xd_encoder_report erep;
	XdVersionInfo info = {"source", "train", 0, false, NULL};
	StringInfoData metrics,
				summary,
				encoder,
				stats;
	int64		version_id;
	double		train_seconds = xd_clock_seconds() - run->t0;

	/* the test split, with the paper's sampled protocol (DESIGN section 5) */
	xd_eval_opts_default(&eo);
	eo.stop = xdpg_stop;
	initStringInfo(&metrics);
	if (md->explicit_fb)
	{
		st = xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_model_score, guard->model, &ratm);
		xdpg_check_status(st, "evaluating");
		appendStringInfoString(&metrics, "{");
		xdpg_json_num(&metrics, "rmse", ratm.rmse, false);
		xdpg_json_num(&metrics, "mae", ratm.mae, true);
		xdpg_json_int(&metrics, "n", ratm.n, true);
		xdpg_json_int(&metrics, "excluded", ratm.n_excluded, true);
		appendStringInfoString(&metrics, "}");
	}
	else
	{
		st = xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_model_score, guard->model, &rm);
		xdpg_check_status(st, "evaluating");
		appendStringInfoString(&metrics, "{");
		xdpg_json_num(&metrics, "h1", rm.h1, false);
		xdpg_json_num(&metrics, "h5", rm.h5, true);
		xdpg_json_num(&metrics, "h10", rm.h10, true);
		xdpg_json_num(&metrics, "ndcg10", rm.ndcg10, true);
		xdpg_json_num(&metrics, "mrr", rm.mrr, true);
		xdpg_json_int(&metrics, "n", rm.n, true);
		xdpg_json_int(&metrics, "excluded", rm.n_excluded, true);
		appendStringInfoString(&metrics, "}");
	}

	/*
	 * The distributional encoders E_C, E_U, E_V of DRR, trained on the source
	 * after the source model and stored with it (DESIGN section 4).
	 */
	{
		xd_encoder_opts eopts;

		xd_encoder_opts_default(&eopts);
		eopts.seed = run->cfg.seed;
		eopts.stop = xdpg_stop;
		st = xd_encoders_train(guard->model, ds, &eopts, &guard->encoders, &erep);
		xdpg_check_status(st, "training the encoders");
	}

	/* the summary: what was read and skipped, the run, the test metrics */
	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, run->name);
	appendStringInfoString(&summary, ", \"domain\": ");
	escape_json(&summary, run->domain);
	xdpg_json_int(&summary, "rows_read", run->counts.rows_read, true);
	xdpg_json_int(&summary, "rows_used", run->counts.rows_used, true);
	appendStringInfoString(&summary, ", \"rows_skipped\": {");
	xdpg_json_int(&summary, "null_user", run->counts.null_user, false);
	xdpg_json_int(&summary, "null_item", run->counts.null_item, true);
	xdpg_json_int(&summary, "null_rating", run->counts.null_rating, true);
	xdpg_json_int(&summary, "non_finite", run->counts.non_finite, true);
	xdpg_json_int(&summary, "null_domain", run->counts.null_domain, true);
	appendStringInfoString(&summary, "}");
	xdpg_json_int(&summary, "users", ds->n_users, true);
	xdpg_json_int(&summary, "items", ds->n_items, true);
	xdpg_json_int(&summary, "m", run->cfg.m, true);
	appendStringInfoString(&summary, ", \"split\": {");
	xdpg_json_int(&summary, "train", ds->n_split[XD_SPLIT_TRAIN], false);
	xdpg_json_int(&summary, "valid", ds->n_split[XD_SPLIT_VALID], true);
	xdpg_json_int(&summary, "test", ds->n_split[XD_SPLIT_TEST], true);
	appendStringInfoString(&summary, "}");
	xdpg_json_int(&summary, "epochs", res->epochs, true);
	xdpg_json_int(&summary, "best_epoch", res->best_epoch, true);
	appendStringInfoString(&summary, ", \"best_valid\": {");
	xdpg_json_num(&summary, res->metric_is_loss ? "loss" : (md->explicit_fb ? "rmse" : "mrr"),
			 res->best_metric, false);
	xdpg_json_int(&summary, "n", res->n_valid, true);
	appendStringInfoString(&summary, "}, \"test\": ");
	appendStringInfoString(&summary, metrics.data);
	xdpg_json_num(&summary, "train_seconds", res->seconds, true);
	xdpg_json_num(&summary, "interactions_per_sec", res->positives_per_sec, true);
	xdpg_json_num(&summary, "encoder_seconds", erep.seconds, true);

	/* the version */
	initStringInfo(&encoder);
	appendStringInfo(&encoder, "{\"format\": 1, \"config\": %s, \"n_users\": %d, \"n_items\": %d, "
					 "\"rating_mean\": %.9g, \"split_seed\": " UINT64_FORMAT ", \"schema\": %s}",
					 xdpg_config_json(md, &run->cfg), (int) ds->n_users, (int) ds->n_items,
					 ds->rating_mean, (uint64) xdpg_split_seed(run->cfg.seed, run->domain),
					 xdpg_features_json(md, &ds->enc));
	{
		StringInfoData vm;

		initStringInfo(&vm);
		appendStringInfo(&vm, "{\"test\": %s, ", metrics.data);
		appendStringInfoString(&vm, "\"valid\": {");
		xdpg_json_num(&vm, res->metric_is_loss ? "loss" : (md->explicit_fb ? "rmse" : "mrr"),
				 res->best_metric, false);
		appendStringInfoString(&vm, "}");
		xdpg_json_int(&vm, "epochs", res->epochs, true);
		xdpg_json_int(&vm, "best_epoch", res->best_epoch, true);
		xdpg_json_int(&vm, "rows", run->counts.rows_used, true);
		xdpg_json_int(&vm, "users", ds->n_users, true);
		xdpg_json_int(&vm, "items", ds->n_items, true);
		xdpg_json_num(&vm, "seconds", train_seconds, true);
		appendStringInfoString(&vm, "}");
		info.encoders = guard->encoders;
		version_id = xdpg_write_version(md, run->domain, guard->model, ds, &run->users, &run->items,
										vm.data, encoder.data, &info);
	}
	initStringInfo(&stats);
	appendStringInfoString(&stats, "{");
	xdpg_json_int(&stats, "rows", run->counts.rows_used, false);
	xdpg_json_int(&stats, "users", ds->n_users, true);
	xdpg_json_int(&stats, "items", ds->n_items, true);
	xdpg_json_int(&stats, "m", run->cfg.m, true);
	appendStringInfoString(&stats, "}");
	xdpg_deploy(md, run->domain, "source", version_id, stats.data);

	xdpg_json_int(&summary, "version", version_id, true);
	xdpg_json_num(&summary, "seconds", xd_clock_seconds() - run->t0, true);
	appendStringInfoString(&summary, "}");

	/* free the core's memory now rather than at the end of the query */
	xd_encoders_free(guard->encoders);
	guard->encoders = NULL;
	xd_model_free(guard->model);
	guard->model = NULL;
	xd_dataset_free(guard->ds);
	guard->ds = NULL;

	return summary.data;
}

PG_FUNCTION_INFO_V1(xdrec_train);
Datum
xdrec_train(PG_FUNCTION_ARGS)
{
	char	   *name,
			   *domain;
	XdTrainRun *run;
	char	   *summary;
	MemoryContext callcxt = CurrentMemoryContext;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source_domain must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2) && PG_GETARG_BOOL(2))
		PG_RETURN_JSONB_P(xdpg_job_submit(name, "train", domain, NULL));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	run = xdpg_train_load(name, domain, callcxt);
	xdpg_train_fit(run, NULL);
	summary = xdpg_train_store(run);

	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(summary));
	{
		/* copy out of the SPI context before it goes */
		Jsonb	   *j = DatumGetJsonbP(result);
		Jsonb	   *out = SPI_palloc(VARSIZE(j));

		memcpy(out, j, VARSIZE(j));
		SPI_finish();
		PG_RETURN_JSONB_P(out);
	}
}
