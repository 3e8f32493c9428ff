/*
 * train_run.c - a training run of xdrec.train (fn/train_fn.c) or of a job
 * (jobs/worker.c), in three phases: load the source domain (data/load.c),
 * fit MMT-Net with the core's loop (train.c), recording its per-epoch curve,
 * then store: measure the test split with the paper's sampled protocol,
 * write a new version (store/version_write.c) and serve it if the deploy
 * policy says so (deploy.c) (DESIGN sections 1, 3, 5, 7). The source is the
 * model's: another domain is trained only after xdrec.set_source names it.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "xdrec/baseline.h"
#include "xdrec/clock.h"
#include "xdrec/train.h"
#include "run/biao_fit.h"
#include "run/cold_fit.h"
#include "run/fewshot_fit.h"
#include "run/run.h"

/* One training run, kept between its phases (a job commits in between). */
struct XdTrainRun
{
	bool		repeat_auto;	/* the term resolved from option repeat "auto" */
	bool		repeat_decide;	/* ... below its share: the lift decided on validation */
	xd_repeat_pop_calibration decision;	/* that decision (decided: it ran) */
	char	   *name;
	char	   *domain;
	const char *deploy;			/* the deploy policy (deploy.c) */
	MemoryContext cxt;
	XdModelDef *md;
	XdGuard    *guard;
	XdKeyMap	users;
	XdKeyMap	items;
	XdLoadCounts counts;
	xd_config	cfg;
	xd_train_opts opts;
	XdCurve		curve;
	xd_train_result res;
	xd_lr_search search;		/* the rates tried and kept */
	xd_dist_encoder_report erep;		/* DRR's encoders' training */
	XdColdFit  *cold;			/* the cold-start module (cold_fit.c) */
	xd_repeat_pop_calibration rpop; /* the lift's popularity in context */
	XdFewshotFit *fewshot;		/* the few-shot meta-learner (fewshot_fit.c) */
	XdBiaoFit  *biao;			/* source weighting's targets, perceptron (biao_fit.c) */
	double		t0;
};

/*
 * The domain a training call trains: the one named, or the model's source
 * when none is. A domain other than the source is refused: training it would
 * make it the source and leave every target stale, which a typo must not do
 * (xdrec.set_source changes the source on purpose).
 */
const char *
xdpg_train_source_domain(const XdModelDef *md, const char *requested)
{
	if (requested == NULL)
	{
		if (md->source_domain == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no source domain yet", md->name),
					 errhint("Name it the first time: SELECT xdrec.train('%s', source_domain).", md->name)));
		return md->source_domain;
	}
	if (md->source_domain && strcmp(requested, md->source_domain) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("domain %s is not the source of model \"%s\": its source is %s",
						requested, md->name, md->source_domain),
				 errdetail("Training another domain would make it the source and leave every target stale."),
				 errhint("SELECT xdrec.train('%s') trains the source; SELECT xdrec.set_source('%s', '%s') makes %s the source first.",
						 md->name, md->name, requested, requested)));
	return requested;
}

/*
 * Phase 1, with SPI connected: the model and the source domain's rows, read
 * as the current role, and a fresh model. The run lives in cxt, which must
 * be the context current at SPI_connect (where SPI_palloc puts the model and
 * key maps); the guard frees the core's objects with it.
 */
XdTrainRun *
xdpg_train_load(const char *name, const char *domain, const char *deploy, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	XdTrainRun *run = palloc0(sizeof(XdTrainRun));
	XdModelDef *md;
	xd_dataset *ds;
	xd_rng		rng;
	xd_status	st;

	run->t0 = xd_clock_seconds();
	run->cxt = cxt;
	run->name = pstrdup(name);
	run->guard = xdpg_guard();
	MemoryContextSwitchTo(old);
	md = run->md = xdpg_model_load(name, "train");
	domain = run->domain = MemoryContextStrdup(cxt, xdpg_train_source_domain(md, domain));
	run->deploy = MemoryContextStrdup(cxt, xdpg_deploy_policy(md, deploy));

	/* the source's rows, which build the model's vocabularies */
	ds = xdpg_fit_load_rows(md, name, domain, true, false, &run->users, &run->items, run->guard,
							&run->counts, NULL);
	/* option source_weighting 'biao': the targets' rows, with the source's vocabularies */
	run->biao = xdpg_biao_load(md, name, domain, cxt);

	/* the model */
	if (md->n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" declares no context features", name),
				 errhint("MMT-Net learns how context drives interactions: declare at least one feature in create_model.")));
	run->cfg = md->cfg;
	run->repeat_auto = xdpg_fit_repeat_auto(&run->cfg, ds, &run->repeat_decide);
	/* below the share: the lift fitted all the same, decided after the fit */
	if (run->repeat_decide)
		run->cfg.repeat = run->cfg.repeat_lift = true;
	xd_config_set_widths(&run->cfg, &ds->enc.schema);
	if (xd_config_check(&run->cfg) != XD_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the options of model \"%s\" do not make a valid model", name)));
	xdpg_check_model_memory(domain, ds, &run->users, &run->items, run->cfg.d,
							1 + XDPG_SEARCH_MODELS(md),
							xd_train_cache_bytes(ds, &run->cfg, md->val_sample, false));
	xd_rng_seed(&rng, run->cfg.seed);
	st = xd_model_create(&run->cfg, ds->n_users, ds->n_items, (float) ds->rating_mean, &rng,
						 &run->guard->model);
	xdpg_check_status(st, "creating the model");
	/* a small explicit domain: the biases start at the damped means */
	st = xd_domain_damped_init(run->guard->model->domain, ds, XD_DAMPED_INIT_ROWS, NULL);
	xdpg_check_status(st, "creating the model");
	return run;
}

/*
 * Phase 2, the core alone: MMT-Net's training loop, then DRR's encoders
 * (hooks: a job's callbacks).
 */
void
xdpg_train_fit(XdTrainRun *run, const xd_hooks *hooks)
{
	xd_train_opts *opts = &run->opts;
	xd_dist_encoder_opts eopts;
	xd_status	st;

	xd_train_opts_default(opts, &run->cfg);
	opts->max_epochs = run->md->epochs;
	opts->patience = run->md->patience;
	opts->valid_max = run->md->val_sample;
	xdpg_curve_init(&run->curve, run->cxt, hooks);
	opts->hooks = run->curve.hooks;
	xdpg_biao_begin(run->biao, run->md, run->guard->model, run->guard->ds, opts);
	st = xd_train_search(run->guard->model, run->guard->ds, opts, run->md->lr_search,
						 &run->res, &run->search);
	xdpg_check_status(st, "training");
	xdpg_biao_end(run->biao, run->md, run->guard->model, run->guard->ds);

	/*
	 * option repeat "auto" below its share: the calibrated lift kept or
	 * taken off on validation right after the fit, before anything is
	 * trained on the model (DRR's encoders, the cold module, which follows
	 * the term: xdpg_fit_repeat_decide says why)
	 */
	if (run->repeat_decide)
		xdpg_fit_repeat_decide(run->guard->model, &run->cfg, run->md, run->guard->ds,
							   &run->curve.after, &run->decision);

	/*
	 * The distributional encoders E_C, E_U, E_V of DRR, trained on the source
	 * after the source model and stored with it (DESIGN section 4): here, so
	 * that the store phase only writes and a job shows their epochs after the
	 * fit's (xdrec.jobs' epochs_max counts them).
	 */
	xd_dist_encoder_opts_default(&eopts);
	eopts.seed = run->cfg.seed;
	eopts.hooks = run->curve.after;
	st = xd_dist_encoders_train(run->guard->model, run->guard->ds, &eopts, &run->guard->encoders,
						   &run->erep);
	xdpg_check_status(st, "training the encoders");

	/*
	 * the cold-start module (CMML), on the trained model, and popularity
	 * in context on every item from its prior (cold_fit.c)
	 */
	run->cold = xdpg_cold_fit(run->md, run->guard->model, run->guard->ds, &run->curve.after, run->cxt);
	/* the lift's popularity in context, from the module's prior table */
	xdpg_fit_repeat_pop(run->guard->model, NULL, 0.0f, run->cold->cold, run->guard->ds,
						run->md->val_sample, &run->curve.after, &run->rpop);
	/* the few-shot meta-learner (s2Meta), on the trained model's modules */
	run->fewshot = xdpg_fewshot_fit(run->md, run->guard->model, run->guard->ds, &run->curve.after,
									run->cxt);
}

/*
 * Phase 3, with SPI connected: test metrics, the version (with the
 * encoders) written and served. Returns the training summary (JSON text) and frees the
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
	XdVersionInfo info = {"source", "train", 0, false, NULL};
	char	   *metrics;
	StringInfoData summary;
	int64		version_id;
	/* the run without DRR's encoders, which the summary times apart */
	double		train_seconds = xd_clock_seconds() - run->t0 - run->erep.seconds;
	XdValidation valid;

	metrics = xdpg_fit_test_metrics(md, ds, xd_model_score, guard->model);

	/* the best epoch's validation terms again, for their standard error */
	{
		xd_train_opts vo = run->opts;
		double	   *each = NULL;
		double		metric;
		int64_t		n;

		vo.hooks.stop = xdpg_stop;
		st = xd_train_validate(guard->model, ds, &vo, &metric, &n, &each);
		xdpg_fit_validation(st, each, n, md->explicit_fb, &valid);
	}

	/* the summary: what was read and skipped, the run, the test metrics */
	xdpg_fit_summary_begin(&summary, run->name, run->domain);
	xdpg_fit_summary_data(&summary, &run->counts, ds);
	appendStringInfoString(&summary, ", \"rows_skipped\": {");
	xdpg_json_int(&summary, "null_user", run->counts.null_user, false);
	xdpg_json_int(&summary, "null_item", run->counts.null_item, true);
	xdpg_json_int(&summary, "null_rating", run->counts.null_rating, true);
	xdpg_json_int(&summary, "non_finite", run->counts.non_finite, true);
	xdpg_json_int(&summary, "null_domain", run->counts.null_domain, true);
	appendStringInfoString(&summary, "}");
	xdpg_json_int(&summary, "m", run->cfg.m, true);
	xdpg_fit_summary_best(&summary, res->epochs, res->best_epoch,
						  res->metric_is_loss ? "loss" : (md->explicit_fb ? "rmse" : "mrr"),
						  res->best_metric, valid.se);
	xdpg_json_int(&summary, "n", res->n_valid, true);
	appendStringInfoString(&summary, "}");
	xdpg_fit_summary_lr_search(&summary, md, &run->search);
	xdpg_json_num(&summary, "item_negative_weight", res->item_neg_weight, true);
	xdpg_fit_summary_repeat_auto(&summary, run->repeat_auto, &run->cfg, ds, &run->decision);
	xdpg_fit_summary_repeat(&summary, &res->repeat);
	xdpg_fit_summary_repeat_pop(&summary, &run->cfg, &run->rpop);
	xdpg_fit_summary_context_popularity(&summary, &run->cold->pop_all, run->cold->pop_all_why);
	appendStringInfoString(&summary, ", \"test\": ");
	appendStringInfoString(&summary, metrics);
	xdpg_json_num(&summary, "train_seconds", res->seconds, true);
	xdpg_json_num(&summary, "interactions_per_sec", res->positives_per_sec, true);
	xdpg_json_num(&summary, "encoder_seconds", run->erep.seconds, true);
	xdpg_cold_fit_json(&summary, run->cold);
	xdpg_fewshot_fit_json(&summary, run->fewshot);
	xdpg_biao_fit_json(&summary, run->biao, res->seconds);

	/* the version */
	{
		StringInfoData vm;

		xdpg_fit_version_metrics(&vm, md, metrics, &valid, &run->curve, res->epochs,
								 res->best_epoch, run->counts.rows_used, ds, train_seconds);
		xdpg_biao_version_json(&vm, run->biao, md, ds, &run->users, &run->items);
		appendStringInfoString(&vm, "}");
		info.encoders = guard->encoders;
		info.cold = run->cold->cold;
		info.fewshot = run->fewshot->fs;
		info.biao = run->biao->biao;
		version_id = xdpg_write_version(md, run->domain, guard->model, ds, &run->users, &run->items,
										vm.data,
										xdpg_fit_encoder_json(md, &run->cfg, run->cfg.seed, ds, run->domain,
																xdpg_cold_fit_min_rows(run->cold),
																run->repeat_auto, run->rpop.weight,
																run->cold->pop_all.weight),
										&info);
	}
	xdpg_deploy_after_run(md, run->domain, "source", run->deploy, &valid, version_id,
						  xdpg_fit_stats_json(run->counts.rows_used, ds), &summary);
	xdpg_fit_summary_end(&summary, version_id, run->t0);

	/* free the core's memory now rather than at the end of the query */
	xdpg_biao_free(run->biao);	/* borrows the model's shared modules */
	xd_dist_encoders_free(guard->encoders);
	guard->encoders = NULL;
	xd_model_free(guard->model);
	guard->model = NULL;
	xd_dataset_free(guard->ds);
	guard->ds = NULL;

	return summary.data;
}
