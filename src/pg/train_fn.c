/*
 * train_fn.c - xdrec.train(name, source_domain, background): load the source
 * domain (load.c), train MMT-Net with the core's loop (train.c), measure the
 * test split with the paper's sampled protocol, write a new version and serve
 * it (catalog.c), all in the caller's transaction (DESIGN sections 3, 5, 7).
 */
#include "postgres.h"

#include <time.h>

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "xdrec_pg.h"

/* a source domain needs at least this much to be worth training on */
#define XDPG_MIN_TRAIN_ROWS 20
#define XDPG_MIN_ITEMS 2

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

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

PG_FUNCTION_INFO_V1(xdrec_train);
Datum
xdrec_train(PG_FUNCTION_ARGS)
{
	char	   *name,
			   *domain;
	XdModelDef *md;
	XdGuard    *guard;
	XdKeyMap	users,
				items;
	XdLoadCounts counts;
	xd_dataset *ds;
	xd_config	cfg;
	xd_rng		rng;
	xd_train_opts opts;
	xd_train_result res;
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
	double		t0 = now_seconds(),
				train_seconds;
	int			save_nestlevel;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source_domain must not be null")));
	if (!PG_ARGISNULL(2) && PG_GETARG_BOOL(2))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("background jobs are not available yet"),
				 errhint("Call xdrec.train without background => true; it trains in the calling session.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = text_to_cstring(PG_GETARG_TEXT_PP(1));

	guard = xdpg_guard();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");

	md = xdpg_model_load(name, "train");

	/* feature expressions and the key queries run as the caller, pinned path */
	save_nestlevel = NewGUCNestLevel();
	xdpg_pin_search_path();

	xdpg_load_keys(md, domain, true, &users);
	xdpg_load_keys(md, domain, false, &items);
	if (users.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("domain %s of model \"%s\" has no rows with a user and an item", domain, name),
				 errhint("The domain is a value of column \"%s\" of %s.", md->domain_col, md->relation)));
	xdpg_build_vocabulary(md, domain);
	ds = xdpg_load_domain(md, domain, &users, &items, guard, &counts);
	AtEOXact_GUC(true, save_nestlevel);

	if (counts.rows_used == 0 || ds->n_split[XD_SPLIT_TRAIN] < XDPG_MIN_TRAIN_ROWS ||
		ds->n_items < XDPG_MIN_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source domain %s has too little data to train model \"%s\": " INT64_FORMAT " training rows, %d items",
						domain, name, counts.rows_used ? ds->n_split[XD_SPLIT_TRAIN] : 0, (int) ds->n_items),
				 errdetail("Rows read " INT64_FORMAT ", skipped " INT64_FORMAT ".", counts.rows_read,
						   counts.rows_read - counts.rows_used),
				 errhint("A source domain needs at least %d training rows (80%% of its rows) and %d items.",
						 XDPG_MIN_TRAIN_ROWS, XDPG_MIN_ITEMS)));

	/* the model */
	if (md->n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" declares no context features", name),
				 errhint("MMT-Net learns how context drives interactions: declare at least one feature in create_model.")));
	cfg = md->cfg;
	cfg.m = ds->enc.schema.m;
	cfg.m_I = ds->enc.schema.m_I;
	cfg.m_H = ds->enc.schema.m_H;
	cfg.m_A = ds->enc.schema.m_A;
	if (xd_config_check(&cfg) != XD_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the options of model \"%s\" do not make a valid model", name)));
	xdpg_check_model_memory(domain, ds, &users, &items, cfg.d);
	xd_rng_seed(&rng, cfg.seed);
	st = xd_model_create(&cfg, ds->n_users, ds->n_items, (float) ds->rating_mean, &rng, &guard->model);
	xdpg_check_status(st, "creating the model");

	xd_train_opts_default(&opts, &cfg);
	opts.max_epochs = md->epochs;
	opts.patience = md->patience;
	opts.valid_max = md->val_sample;
	opts.stop = xdpg_stop;
	st = xd_train(guard->model, ds, &opts, &res);
	xdpg_check_status(st, "training");
	train_seconds = now_seconds() - t0;

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
		eopts.seed = cfg.seed;
		eopts.stop = xdpg_stop;
		st = xd_encoders_train(guard->model, ds, &eopts, &guard->encoders, &erep);
		xdpg_check_status(st, "training the encoders");
	}

	/* the summary: what was read and skipped, the run, the test metrics */
	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, name);
	appendStringInfoString(&summary, ", \"domain\": ");
	escape_json(&summary, domain);
	xdpg_json_int(&summary, "rows_read", counts.rows_read, true);
	xdpg_json_int(&summary, "rows_used", counts.rows_used, true);
	appendStringInfoString(&summary, ", \"rows_skipped\": {");
	xdpg_json_int(&summary, "null_user", counts.null_user, false);
	xdpg_json_int(&summary, "null_item", counts.null_item, true);
	xdpg_json_int(&summary, "null_rating", counts.null_rating, true);
	xdpg_json_int(&summary, "non_finite", counts.non_finite, true);
	xdpg_json_int(&summary, "null_domain", counts.null_domain, true);
	appendStringInfoString(&summary, "}");
	xdpg_json_int(&summary, "users", ds->n_users, true);
	xdpg_json_int(&summary, "items", ds->n_items, true);
	xdpg_json_int(&summary, "m", cfg.m, true);
	appendStringInfoString(&summary, ", \"split\": {");
	xdpg_json_int(&summary, "train", ds->n_split[XD_SPLIT_TRAIN], false);
	xdpg_json_int(&summary, "valid", ds->n_split[XD_SPLIT_VALID], true);
	xdpg_json_int(&summary, "test", ds->n_split[XD_SPLIT_TEST], true);
	appendStringInfoString(&summary, "}");
	xdpg_json_int(&summary, "epochs", res.epochs, true);
	xdpg_json_int(&summary, "best_epoch", res.best_epoch, true);
	appendStringInfoString(&summary, ", \"best_valid\": {");
	xdpg_json_num(&summary, res.metric_is_loss ? "loss" : (md->explicit_fb ? "rmse" : "mrr"),
			 res.best_metric, false);
	xdpg_json_int(&summary, "n", res.n_valid, true);
	appendStringInfoString(&summary, "}, \"test\": ");
	appendStringInfoString(&summary, metrics.data);
	xdpg_json_num(&summary, "train_seconds", res.seconds, true);
	xdpg_json_num(&summary, "interactions_per_sec", res.positives_per_sec, true);
	xdpg_json_num(&summary, "encoder_seconds", erep.seconds, true);

	/* the version */
	initStringInfo(&encoder);
	appendStringInfo(&encoder, "{\"format\": 1, \"config\": %s, \"n_users\": %d, \"n_items\": %d, "
					 "\"rating_mean\": %.9g, \"split_seed\": " UINT64_FORMAT ", \"schema\": %s}",
					 xdpg_config_json(md, &cfg), (int) ds->n_users, (int) ds->n_items,
					 ds->rating_mean, (uint64) xdpg_split_seed(cfg.seed, domain),
					 xdpg_features_json(md, &ds->enc));
	{
		StringInfoData vm;

		initStringInfo(&vm);
		appendStringInfo(&vm, "{\"test\": %s, ", metrics.data);
		appendStringInfoString(&vm, "\"valid\": {");
		xdpg_json_num(&vm, res.metric_is_loss ? "loss" : (md->explicit_fb ? "rmse" : "mrr"),
				 res.best_metric, false);
		appendStringInfoString(&vm, "}");
		xdpg_json_int(&vm, "epochs", res.epochs, true);
		xdpg_json_int(&vm, "best_epoch", res.best_epoch, true);
		xdpg_json_int(&vm, "rows", counts.rows_used, true);
		xdpg_json_int(&vm, "users", ds->n_users, true);
		xdpg_json_int(&vm, "items", ds->n_items, true);
		xdpg_json_num(&vm, "seconds", train_seconds, true);
		appendStringInfoString(&vm, "}");
		info.encoders = guard->encoders;
		version_id = xdpg_write_version(md, domain, guard->model, ds, &users, &items,
										vm.data, encoder.data, &info);
	}
	initStringInfo(&stats);
	appendStringInfoString(&stats, "{");
	xdpg_json_int(&stats, "rows", counts.rows_used, false);
	xdpg_json_int(&stats, "users", ds->n_users, true);
	xdpg_json_int(&stats, "items", ds->n_items, true);
	xdpg_json_int(&stats, "m", cfg.m, true);
	appendStringInfoString(&stats, "}");
	xdpg_deploy(md, domain, "source", version_id, stats.data);

	xdpg_json_int(&summary, "version", version_id, true);
	xdpg_json_num(&summary, "seconds", now_seconds() - t0, true);
	appendStringInfoString(&summary, "}");

	/* free the core's memory now rather than at the end of the query */
	xd_encoders_free(guard->encoders);
	guard->encoders = NULL;
	xd_model_free(guard->model);
	guard->model = NULL;
	xd_dataset_free(guard->ds);
	guard->ds = NULL;

	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(summary.data));
	{
		/* copy out of the SPI context before it goes */
		Jsonb	   *j = DatumGetJsonbP(result);
		Jsonb	   *out = SPI_palloc(VARSIZE(j));

		memcpy(out, j, VARSIZE(j));
		SPI_finish();
		PG_RETURN_JSONB_P(out);
	}
}
