/*
 * adapt_run.c - an adaptation run of xdrec.adapt (fn/adapt_fn.c) or of a job
 * (jobs/worker.c), in three phases: one target domain adapted to the
 * source's served version (DESIGN section 4, paper section 5). Loads the
 * target's rows through data/load.c as the calling role, with the model's
 * frozen vocabularies and the target's own normalisation, reads the served
 * source version's shared modules and encoders (store/version_read.c), runs
 * the core's xd_transfer, measures the test split, writes a target version
 * that pins the source version (store/version_write.c) and serves it if the
 * deploy policy says so (deploy.c), all in the caller's transaction: a
 * failing or cancelled call leaves nothing. The per-epoch curve is kept with
 * the version.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "xdrec/clock.h"
#include "xdrec/fewshot.h"
#include "xdrec/fewshoteval.h"
#include "xdrec/transfer.h"
#include "run/run.h"
#include "run/cold_fit.h"

/*
 * An adaptation method by its name, or an error naming the methods: one of
 * the core's transfers (transfer.h), or "fewshot", the meta-learner stored
 * with the source version (fewshot.h), which sets *fewshot and returns
 * Direct, the transfer it starts from (the source's modules, frozen).
 */
xd_transfer_method
xdpg_adapt_method(const char *m, bool *fewshot)
{
	*fewshot = strcmp(m, "fewshot") == 0;
	if (*fewshot)
		return XD_TRANSFER_DIRECT;
	for (int i = 0; i < XD_N_TRANSFER; i++)
		if (strcmp(m, xd_transfer_method_name((xd_transfer_method) i)) == 0)
			return (xd_transfer_method) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown adaptation method \"%s\"", m),
			 errhint("Use 'drr', 'anneal', 'direct', 'auto', 'target_only' or 'fewshot'.")));
	return XD_TRANSFER_DRR;
}

/*
 * The source domain's served source version, or an error when there is none
 * (never trained, or a domain xdrec.set_source named and no one trained yet).
 */
static int64
served_source(XdModelDef *md)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2];
	bool		isnull = true;
	Datum		d = (Datum) 0;

	if (md->source_domain)
	{
		vals[0] = Int64GetDatum(md->id);
		vals[1] = CStringGetTextDatum(md->source_domain);
		if (SPI_execute_with_args("SELECT d.served_version FROM xdrec.domain d "
								  "JOIN xdrec.version v ON v.id = d.served_version AND v.kind = 'source' "
								  "WHERE d.model_id = $1 AND d.domain = $2",
								  2, types, vals, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the source version of model \"%s\" failed", md->name);
		if (SPI_processed == 1)
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	}
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no trained source domain", md->name),
				 md->source_domain ?
				 errhint("Train it first: SELECT xdrec.train('%s').", md->name) :
				 errhint("Train it first: SELECT xdrec.train('%s', source_domain).", md->name)));
	return DatumGetInt64(d);
}

/* One adaptation, kept between its phases (a job commits in between). */
struct XdAdaptRun
{
	bool		repeat_auto;	/* the target's term resolved from option repeat "auto" */
	bool		repeat_decide;	/* ... below its share: the lift decided on validation */
	xd_repeat_pop_calibration decision;	/* that decision (decided: it ran) */
	char	   *name;
	char	   *domain;
	xd_transfer_method method;
	bool		fewshot;		/* method "fewshot": the source's meta-learner, */
	bool		auto_fewshot;	/* ... which auto chose for a small domain */
	char	   *popular;		/* auto on a domain too small for any method:
								 * why it is served by popularity; else NULL */
	double		fs_first_loss;	/* the support's loss at theta^0, */
	double		fs_last_loss;	/* and at the last step */
	float		fs_lift;		/* its repeat lift (fewshot.h), */
	int			fs_lift_rows;	/* chosen on that many support rows, */
	bool		fs_lift_served;	/* served: the domain has the repeat term */
	float		fs_pop_weight;	/* its popularity term's weight (fewshot.h), */
	int			fs_pop_pairs;	/* chosen on that many pairs of the last batch, */
	int			fs_pop_held;	/* or on that many ranked rows (cross-fitted or held out) */
	const char *deploy;			/* the deploy policy (deploy.c) */
	MemoryContext cxt;
	XdModelDef *md;
	XdVersion  *src;			/* the served source version */
	int64		source_version;
	XdGuard    *guard;
	XdKeyMap	users;
	XdKeyMap	items;
	XdLoadCounts counts;
	xd_transfer_opts opts;
	int32	   *user_source;	/* option shared_users: each target user's id
								 * in the source version, or -1; else NULL */
	int32		users_from_source;	/* target users the fits start from the
									 * source's embeddings */
	XdCurve		curve;
	xd_transfer_result *res;
	XdColdFit  *cold;			/* the target's cold-start module (cold_fit.c) */
	xd_repeat_pop_calibration rpop; /* the lift's popularity in context */
	double		t0;
};

/*
 * Target models a method holds at once (transfer.c): auto keeps its three
 * fits until it chooses, and DRR's lambda search a pretrained domain, the
 * best and the current candidate.
 */
static int
adapt_models_at_once(xd_transfer_method method, bool lambda_search)
{
	int			drr = lambda_search ? 3 : 1;

	if (method == XD_TRANSFER_AUTO)
		return 2 + drr;
	return method == XD_TRANSFER_DRR ? drr : 1;
}

/*
 * Option shared_users: the model declares that a user key means the same
 * person in every domain, so a target user whose key is a user of the
 * source version (src->users, validated strictly ascending and within its
 * embeddings when read) starts from that user's embedding and bias
 * (xd_transfer_opts.user_source). Returns [n_users] source ids, -1 where
 * the key is not the source's; *n_shared counts the others. The array is 4
 * bytes a target user, below the embeddings xdpg_check_model_memory
 * already bounded.
 */
static int32 *
shared_user_ids(const XdKeyMap *target, int32 n_users, const XdVersion *src, int32 *n_shared)
{
	int32	   *ids = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * (Size) n_users);
	int32		n_source = src->model->domain->n_users;

	*n_shared = 0;
	for (int32 u = 0; u < n_users; u++)
		ids[u] = -1;
	for (int32 i = 0; i < target->n_keys; i++)
	{
		int32		u = target->ids ? target->ids[i] : i;
		int32		su = target->is_int ? xdpg_key_find_int(&src->users, target->ints[i]) :
			xdpg_key_find(&src->users, target->texts[i]);

		if (u < 0 || u >= n_users)
			elog(ERROR, "xdrec: target user id %d is outside its %d users", u, n_users);
		if (su < 0)
			continue;
		if (su >= n_source)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("source version " INT64_FORMAT " maps a user key to id %d but has %d users",
							src->version_id, su, n_source)));
		ids[u] = su;
		(*n_shared)++;
	}
	return ids;
}

/*
 * Phase 1, with SPI connected: the model, the served source version and the
 * target's rows, read as the current role. The run lives in callcxt, which
 * must be the context current at SPI_connect (see xdpg_train_load).
 */
XdAdaptRun *
xdpg_adapt_load(const char *name, const char *domain, const char *method_name,
				const char *deploy, MemoryContext callcxt)
{
	XdAdaptRun *run = MemoryContextAllocZero(callcxt, sizeof(XdAdaptRun));
	MemoryContext old;
	XdModelDef *md;
	XdVersion  *src;
	XdGuard    *guard;
	xd_dataset *ds;
	xd_shared  *shared;
	int64		source_version;

	run->t0 = xd_clock_seconds();
	run->cxt = callcxt;
	run->name = MemoryContextStrdup(callcxt, name);
	run->domain = MemoryContextStrdup(callcxt, domain);
	run->method = xdpg_adapt_method(method_name, &run->fewshot);
	md = run->md = xdpg_model_load(name, "train");
	run->deploy = MemoryContextStrdup(callcxt, xdpg_deploy_policy(md, deploy));
	source_version = run->source_version = served_source(md);
	if (strcmp(domain, md->source_domain) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("domain %s is the source domain of model \"%s\"", domain, name),
				 errhint("The source is trained, not adapted: SELECT xdrec.train('%s', '%s').", name, domain)));

	/*
	 * The served source version: its modules and encoders, its frozen
	 * vocabularies. Read into the call's context before the guard, so that on
	 * error the guard (the adaptation, which borrows the modules) goes first.
	 */
	src = run->src = MemoryContextAllocZero(callcxt, sizeof(XdVersion));
	src->cxt = callcxt;
	{
		XdVersionRef ref = {
			.model = md->name, .model_id = md->id, .domain = md->source_domain,
			.version_id = source_version, .want_encoders = true,
			.want_fewshot = run->fewshot || run->method == XD_TRANSFER_AUTO,
			.budget_setting = "xdrec.train_memory", .budget_kb = xdrec_train_memory,
		};

		xdpg_read_version(src, &ref);
	}
	old = MemoryContextSwitchTo(callcxt);
	guard = run->guard = xdpg_guard();
	MemoryContextSwitchTo(old);
	xdpg_check_features_unchanged(md, source_version);
	xdpg_check_version_features(md, src);
	if ((run->method == XD_TRANSFER_DRR || run->method == XD_TRANSFER_AUTO) && !src->encoders)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("source version " INT64_FORMAT " of model \"%s\" has no distributional encoders", source_version, name),
				 errhint("Train the source again: SELECT xdrec.train('%s', '%s').", name, md->source_domain)));
	if (run->fewshot && !src->fewshot)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("source version " INT64_FORMAT " of model \"%s\" has no few-shot meta-learner", source_version, name),
				 errhint("Train the source with it: SELECT xdrec.alter_model('%s', options => '{\"fewshot\": true}'); SELECT xdrec.train('%s', '%s').",
						 name, name, md->source_domain)));
	for (int i = 0; i < md->n_features; i++)
	{
		/* the frozen vocabularies, so m and the codes are the source's */
		md->features[i].n_vocab = src->features[i].n_vocab;
		md->features[i].vocab = src->features[i].vocab;
		md->features[i].sorted = src->features[i].sorted;
		md->features[i].bins = src->features[i].bins;
	}

	/*
	 * The target's rows as the caller, with its own normalisation (DESIGN 2).
	 * auto takes a domain too small for the other methods when the source
	 * has the meta-learner: fewshot below fewshot_rows training rows; and
	 * one too small for any method (fewshot's 2 rows and 2 items, or the
	 * others' 20 without the meta-learner) is served by popularity.
	 */
	ds = xdpg_fit_load_rows(md, name, domain, false,
							run->fewshot || (run->method == XD_TRANSFER_AUTO && src->fewshot),
							&run->users, &run->items, guard, &run->counts,
							run->method == XD_TRANSFER_AUTO ? &run->popular : NULL);
	if (run->method == XD_TRANSFER_AUTO && src->fewshot && !run->popular &&
		ds->n_split[XD_SPLIT_TRAIN] < md->fewshot_rows)
		run->fewshot = run->auto_fewshot = true;

	/*
	 * Shared users, where the model declares them: only the methods under
	 * the source's modules read them (target-only never does; the few-shot
	 * meta-learner and popularity fit no user tables from the source)
	 */
	if (md->shared_users && !run->fewshot && !run->popular &&
		run->method != XD_TRANSFER_TARGET_ONLY)
	{
		old = MemoryContextSwitchTo(callcxt);
		run->user_source = shared_user_ids(&run->users, ds->n_users, src, &run->users_from_source);
		MemoryContextSwitchTo(old);
	}

	/*
	 * The source's modules with the model's training options (a version
	 * stores only what ranking needs: no dropout, rate or seed).
	 */
	shared = src->model->shared;
	shared->cfg.dropout = md->cfg.dropout;
	shared->cfg.beta = md->cfg.beta;
	shared->cfg.lr = md->cfg.lr;
	shared->cfg.seed = md->cfg.seed;
	if (ds->enc.schema.m != shared->cfg.m)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("domain %s encodes %d context values but source version " INT64_FORMAT " expects %d",
						domain, ds->enc.schema.m, source_version, shared->cfg.m)));
	xdpg_check_model_memory(domain, ds, &run->users, &run->items, shared->cfg.d,
							run->fewshot || run->popular ? 1 :
							adapt_models_at_once(run->method, md->lambda_search) +
							(run->method == XD_TRANSFER_DIRECT ? 0 : XDPG_SEARCH_MODELS(md)),
							run->fewshot || run->popular ? 0 :
							xd_train_cache_bytes(ds, &shared->cfg, md->val_sample,
												 run->method != XD_TRANSFER_TARGET_ONLY));

	return run;
}

/*
 * Method fewshot in phase 2: the target's residuals and tables from the
 * meta-learner's initialisation, updated by its controllers on the support
 * (the training and validation rows) until its stop controller says so,
 * the source's modules frozen (xd_fewshot_adapt). The result is kept as a
 * transfer's, whose model owns its domain.
 */
static void
adapt_fewshot(XdAdaptRun *run, xd_transfer_result *res)
{
	xd_fewshot_result fs;
	xd_fewshot_result *fr = &fs;
	xd_status	st;

	st = xd_fewshot_adapt(run->src->fewshot, run->src->model->shared, run->guard->ds,
						  run->md->cfg.seed, fr);
	if (st == XD_OK)
	{
		res->requested = res->method = XD_TRANSFER_DIRECT;
		res->cfg = run->src->model->shared->cfg;
		/* implicit: the popularity term is the domain's item bias (core.h) */
		res->cfg.item_bias = fr->domain->s_v != NULL && res->cfg.feedback == XD_IMPLICIT;
		res->model = fr->model;
		res->adapt = fr->adapt;
		res->epochs = res->best_epoch = fr->steps;
		res->seconds = fr->seconds;
		run->fs_first_loss = fr->first_loss;
		run->fs_last_loss = fr->last_loss;
		run->fs_lift = fr->lift;
		run->fs_lift_rows = fr->lift_rows;
		run->fs_pop_weight = fr->pop_beta;
		run->fs_pop_pairs = fr->pop_pairs;
		run->fs_pop_held = fr->pop_held;

		/*
		 * The repeat lift is served by the domain's repeat term, when it has
		 * one (option repeat): r(c) = b_R = the lift on the user's training
		 * items (w_R stays 0)
		 */
		run->fs_lift_served = fr->domain->b_R != NULL;
		if (run->fs_lift_served)
			fr->domain->b_R->w[0] = fr->lift;
		fr->model = NULL;
		fr->adapt = NULL;
		fr->domain = NULL;		/* the model's */
	}
	xd_fewshot_result_free(fr);
	/* the loader refused a domain below 2 training rows and 2 items, its minimum */
	xdpg_check_status(st, "adapting with the few-shot meta-learner");
}

/*
 * A domain served by popularity in phase 2: no fit, only its tables (zero:
 * serving never scores them, serve/cold_user.c ranks its items by the share
 * of its users who chose them) over the source's modules, for the version
 * to hold its keys and rows.
 */
static void
adapt_popular(XdAdaptRun *run, xd_transfer_result *res)
{
	const xd_config *cfg = &run->src->model->shared->cfg;

	res->requested = res->method = XD_TRANSFER_DIRECT;
	res->cfg = *cfg;
	res->best_metric = NAN;
	xdpg_check_status(xd_domain_new(cfg, run->guard->ds->n_users, run->guard->ds->n_items,
									&res->domain),
					  "making the domain's tables");
	xdpg_check_status(xd_model_new(cfg, run->src->model->shared, res->domain, false, false,
								   &res->model),
					  "making the domain's tables");
}

/* The transfer options of a run: the method and the model's options. */
static void
adapt_opts(const XdAdaptRun *run, xd_transfer_opts *opts)
{
	xd_transfer_opts_default(opts);
	opts->method = run->method;
	opts->pretrain_epochs = run->md->pretrain_epochs;
	opts->lambda_kl = run->md->lambda_kl;
	opts->auto_margin_se = run->md->auto_margin;
	opts->auto_small_rows = run->md->auto_small_rows;
	opts->auto_small_rows_explicit = run->md->auto_small_rows_explicit;
	opts->auto_blend = run->md->auto_blend;
	opts->lr_search = run->md->lr_search;
	opts->lambda_search = run->md->lambda_search;
	opts->max_epochs = run->md->epochs;
	opts->patience = Max(run->md->patience, 1);
	opts->valid_max = run->md->val_sample;
	opts->seed = run->md->cfg.seed;
	if (run->user_source)
	{
		opts->source_domain = run->src->model->domain;
		opts->user_source = run->user_source;
	}
}

/* Phase 2, the core alone: the transfer (hooks: a job's callbacks). */
void
xdpg_adapt_fit(XdAdaptRun *run, const xd_hooks *hooks)
{
	xd_transfer_opts *opts = &run->opts;
	xd_transfer_result *res;
	xd_status	st;

	adapt_opts(run, opts);
	xdpg_curve_init(&run->curve, run->cxt, hooks);
	opts->hooks = run->curve.hooks;
	res = run->res = MemoryContextAllocZero(run->cxt, sizeof(xd_transfer_result));
	run->guard->transfer = res;
	if (run->popular)
		adapt_popular(run, res);
	else if (run->fewshot)
		adapt_fewshot(run, res);
	else
	{
		/*
		 * option repeat "auto": the target's own rows decide its term (the
		 * term is the domain's, not the source's modules'); otherwise the
		 * target has the source version's
		 */
		if (run->md->cfg.repeat_auto)
		{
			xd_config  *cfg = &run->src->model->shared->cfg;

			cfg->repeat_auto = true;
			run->repeat_auto = xdpg_fit_repeat_auto(cfg, run->guard->ds, &run->repeat_decide);
		}
		st = xd_transfer(run->src->model->shared, run->src->encoders, run->guard->ds, opts, res);
		xdpg_check_status(st, "adapting");

		/*
		 * Below the share on implicit feedback: the lift decided on
		 * validation (xd_transfer_repeat_decide), on the fit the method
		 * kept, before the cold module is trained on it (it follows the
		 * term: xdpg_fit_repeat_decide says why). The transfer itself runs
		 * without the term, so auto chooses its method exactly as before,
		 * on metrics no lift moved. Not per candidate: each candidate's
		 * lift decided before the choice would move the validation metrics
		 * auto compares (transfer.c reads a calibrated term's), and a target
		 * could then be served another method even where the lift is not
		 * kept in the end. Chosen first, a target that keeps no term is the
		 * version it was before, byte for byte: the transfer's fit, no
		 * repeat tensors, no cold repeat pieces, no repeat_pop.
		 */
		if (run->repeat_decide)
		{
			xd_cold    *table = xdpg_fit_repeat_table(run->md, run->src->cold != NULL, &res->cfg,
													  run->guard->ds);

			st = xd_transfer_repeat_decide(res, table, run->guard->ds, opts, &run->decision);
			xd_cold_free(table);
			xdpg_check_status(st, "deciding the repeat term on validation");
		}
	}

	/*
	 * The target's cold-start module, on the fitted model (a blend's: its
	 * first fit, target-only's, which serving scores a cold user with):
	 * FiLM modulates the tower that model scores with, the source's under
	 * DRR's residual (and the few-shot adaptation's), or the target's own
	 * (target-only, Anneal: res->shared), where a fresh start is a candidate
	 */
	run->cold = xdpg_cold_fit_target(run->md, res->model, res->blend ? res->blend->model : NULL,
									 res->blend_a, run->guard->ds, run->src->cold,
									 res->shared != NULL,
									 run->popular ? "the domain is served by popularity: no model to modulate" : NULL,
									 !run->popular && !run->fewshot, &run->curve.after, run->cxt);
	/*
	 * option cold_min compared target-only's warm path, while a blend scores
	 * a warm user with both fits: its users keep the warm path
	 */
	if (res->blend && run->cold->mrep.min_rows > 0)
	{
		run->cold->mrep.use_cold = false;
		run->cold->min_reason = "a blend scores a warm user with two fits, which the comparison does not: the warm path";
	}

	/*
	 * the lift's popularity in context, from the module's prior table, on
	 * what serving scores (a blend's mix); not for popularity or few-shot
	 * markets (their term is the source version's)
	 */
	if (!run->popular && !run->fewshot && res->model)
		xdpg_fit_repeat_pop(res->model, res->blend ? res->blend->model : NULL, res->blend_a,
							run->cold->cold, run->guard->ds, run->md->val_sample,
							&run->curve.after, &run->rpop);
}

/*
 * auto's blend (transfer.h): DRR's fit is written first as a version of its
 * own (method "drr", pinning the source, never served by itself), and the
 * blend version (method "blend", target-only's whole model) names it in
 * its encoder's "blend" object, which version_read.c validates on load.
 * Returns the DRR version's id.
 */
static int64
write_blend_second(XdAdaptRun *run, xd_transfer_result *second, const xd_dataset *ds)
{
	XdVersionInfo info = {0};
	StringInfoData vm;

	initStringInfo(&vm);
	appendStringInfoString(&vm, "{\"blend_second\": true, \"requested\": \"auto\"");
	xdpg_json_num(&vm, run->md->explicit_fb ? "valid_rmse" : "valid_mrr", second->best_metric, true);
	xdpg_json_int(&vm, "epochs", second->epochs, true);
	xdpg_json_int(&vm, "best_epoch", second->best_epoch, true);
	xdpg_json_int(&vm, "pretrain_epochs", second->n_pretrain, true);
	xdpg_json_num(&vm, "lambda_kl", second->lambda_kl, true);
	xdpg_json_num(&vm, "seconds", second->seconds, true);
	appendStringInfoString(&vm, "}");
	info.kind = "target";
	info.method = "drr";
	info.pins_shared_version = run->source_version;
	info.skip_shared = true;	/* DRR: the source's modules */
	return xdpg_write_version(run->md, run->domain, second->model, ds, &run->users, &run->items,
							  vm.data,
							  xdpg_fit_encoder_json(run->md, &second->cfg, run->md->cfg.seed, ds,
													run->domain, 0, run->repeat_auto, 0.0f, 0.0f),
							  &info);
}

/* The blend version's encoder: the fit's, with {"blend": {"second", "a"}}. */
static char *
blend_encoder_json(const char *encoder_json, int64 second_id, float a)
{
	size_t		len = strlen(encoder_json);

	Assert(len > 0 && encoder_json[len - 1] == '}');
	return psprintf("%.*s, \"blend\": {\"second\": " INT64_FORMAT ", \"a\": %.9g}}",
					(int) (len - 1), encoder_json, second_id, (double) a);
}

/*
 * Phase 3, with SPI connected: test metrics, the target version written and
 * served. Returns the adaptation summary (JSON text) and frees the core's
 * objects.
 */
char *
xdpg_adapt_store(XdAdaptRun *run)
{
	XdModelDef *md = run->md;
	XdGuard    *guard = run->guard;
	xd_dataset *ds = guard->ds;
	xd_transfer_result *res = run->res;
	char	   *metrics;
	StringInfoData summary,
				vm;
	XdVersionInfo info = {0};
	int64		version_id;
	XdValidation valid;
	const char *method = run->popular ? "popularity" : run->fewshot ? "fewshot" :
		res->blend ? "blend" : xd_transfer_method_name(res->method);
	int64		second_id = 0;
	char	   *encoder_json;
	char	   *blend_json = NULL;	/* auto's blend: how it is served, and why */
	const char *requested = run->fewshot && !run->auto_fewshot ? "fewshot" :
		xd_transfer_method_name(run->method);

	/* a domain served by popularity has no split to measure or validate on */
	if (run->popular)
	{
		metrics = "null";
		valid.metric = valid.se = NAN;
		valid.n = 0;
	}
	else
	{
		xd_transfer_opts vo = run->opts;
		double	   *each = NULL;
		int64_t		n;
		xd_status	st;

		metrics = xdpg_fit_test_metrics(md, ds, xd_transfer_score, res);
		vo.hooks.stop = xdpg_stop;
		st = xd_transfer_validation(res, ds, &vo, &each, &n);
		xdpg_fit_validation(st, each, n, md->explicit_fb, &valid);
	}
	if (run->fewshot)
		res->best_metric = valid.metric;	/* no epochs chose it: the steps' end */

	/*
	 * auto's blend: DRR's version first, then how the pair is served and
	 * why, kept in the blend version's metrics and the summary
	 */
	if (res->blend)
	{
		StringInfoData b;

		second_id = write_blend_second(run, res->blend, ds);
		initStringInfo(&b);
		appendStringInfoString(&b, "{\"first\": \"target_only\", \"second\": \"drr\"");
		xdpg_json_num(&b, "a", res->blend_a, true);
		xdpg_json_int(&b, "second_version", second_id, true);
		xdpg_json_num(&b, "second_valid", res->blend->best_metric, true);
		/* the blend's own, on the same positives (the version's "valid") */
		xdpg_json_num(&b, "valid", valid.metric, true);
		appendStringInfoString(&b, ", \"reason\": ");
		escape_json(&b,
					psprintf("auto: blend of target_only and drr, a = %g, because auto kept target_only "
							 "(no transfer gained beyond %g standard errors) on a target of " INT64_FORMAT
							 " training rows, %s %lld or more (option auto_blend)",
							 res->blend_a, res->auto_margin, ds->n_split[XD_SPLIT_TRAIN],
							 md->explicit_fb ? "auto_small_rows_explicit" : "auto_small_rows",
							 (long long) xd_auto_small_rows(&run->opts, ds)));
		appendStringInfoString(&b, "}");
		blend_json = b.data;
	}

	/* the version: the target's state, pinning the source version */
	xdpg_fit_version_metrics(&vm, md, metrics, &valid, &run->curve, res->epochs,
							 res->best_epoch, run->counts.rows_used, ds, res->seconds);
	appendStringInfoString(&vm, ", \"requested\": ");
	escape_json(&vm, requested);
	xdpg_json_int(&vm, "pretrain_epochs", res->n_pretrain, true);
	if (res->method == XD_TRANSFER_DRR)
		xdpg_json_num(&vm, "lambda_kl", res->lambda_kl, true);
	xdpg_json_num(&vm, "pretrain_seconds", res->pretrain_seconds, true);
	if (blend_json)
		appendStringInfo(&vm, ", \"blend\": %s", blend_json);
	appendStringInfoString(&vm, "}");

	info.kind = "target";
	info.method = method;
	info.pins_shared_version = run->source_version;
	info.skip_shared = res->shared == NULL;	/* Direct, DRR: the source's modules */
	info.encoders = NULL;
	info.cold = run->cold->cold;
	encoder_json = xdpg_fit_encoder_json(md, &res->cfg, md->cfg.seed, ds, run->domain,
										 xdpg_cold_fit_min_rows(run->cold), run->repeat_auto,
										 run->rpop.weight, run->cold->pop_all.weight);
	if (res->blend)
		encoder_json = blend_encoder_json(encoder_json, second_id, res->blend_a);
	version_id = xdpg_write_version(md, run->domain, res->model, ds, &run->users, &run->items,
									vm.data, encoder_json, &info);
	/* the summary */
	xdpg_fit_summary_begin(&summary, run->name, run->domain);
	appendStringInfoString(&summary, ", \"method\": ");
	escape_json(&summary, method);
	appendStringInfoString(&summary, ", \"requested\": ");
	escape_json(&summary, requested);
	xdpg_fit_summary_data(&summary, &run->counts, ds);
	xdpg_json_int(&summary, "pretrain_epochs", res->n_pretrain, true);
	/* option shared_users: the target users started from the source's */
	xdpg_json_int(&summary, "users_from_source", run->users_from_source, true);
	xdpg_fit_summary_best(&summary, res->epochs, res->best_epoch, md->explicit_fb ? "rmse" : "mrr",
						  res->best_metric, valid.se);
	appendStringInfoString(&summary, "}");
	if (res->method == XD_TRANSFER_DRR)
		xdpg_json_num(&summary, "lambda_kl", res->lambda_kl, true);
	if (run->fewshot)
	{
		/*
		 * How it was served: the steps the stop controller allowed, the
		 * support's loss before and after them
		 */
		appendStringInfoString(&summary, ", \"fewshot\": {");
		xdpg_json_int(&summary, "steps", res->epochs, false);
		xdpg_json_int(&summary, "support_rows",
					  ds->n_split[XD_SPLIT_TRAIN] + ds->n_split[XD_SPLIT_VALID], true);
		xdpg_json_num(&summary, "first_loss", run->fs_first_loss, true);
		xdpg_json_num(&summary, "last_loss", run->fs_last_loss, true);
		xdpg_json_num(&summary, "lift", run->fs_lift, true);
		xdpg_json_int(&summary, "lift_rows", run->fs_lift_rows, true);
		appendStringInfo(&summary, ", \"lift_served\": %s", run->fs_lift_served ? "true" : "false");
		xdpg_json_num(&summary, "popularity_weight", run->fs_pop_weight, true);
		xdpg_json_int(&summary, "popularity_pairs", run->fs_pop_pairs, true);
		xdpg_json_int(&summary, "popularity_held_out", run->fs_pop_held, true);
		appendStringInfoString(&summary, ", \"reason\": ");
		escape_json(&summary, run->auto_fewshot ?
					psprintf("auto: " INT64_FORMAT " training rows, fewer than fewshot_rows %d",
							 ds->n_split[XD_SPLIT_TRAIN], md->fewshot_rows) : "requested");
		appendStringInfoString(&summary, "}");
	}
	if (run->popular)
	{
		/* how it is served and why (adapt_all's reason) */
		appendStringInfoString(&summary, ", \"popularity\": {\"reason\": ");
		escape_json(&summary, psprintf("auto: %s; served by popularity in the domain: its items by the share "
									   "of its users who chose them, from its " INT64_FORMAT " row%s",
									   run->popular, run->counts.rows_used,
									   run->counts.rows_used == 1 ? "" : "s"));
		appendStringInfoString(&summary, "}");
	}
	xdpg_fit_summary_lr_search(&summary, md, &res->lr_search);
	if (res->item_neg_weight > 0.0f)
		xdpg_json_num(&summary, "item_negative_weight", res->item_neg_weight, true);
	xdpg_fit_summary_repeat_auto(&summary, run->repeat_auto, &res->cfg, ds, &run->decision);
	xdpg_fit_summary_repeat(&summary, &res->repeat);
	xdpg_fit_summary_repeat_pop(&summary, &res->cfg, &run->rpop);
	if (!run->popular && !run->fewshot)
		xdpg_fit_summary_context_popularity(&summary, &run->cold->pop_all, run->cold->pop_all_why);
	xdpg_cold_fit_json(&summary, run->cold);
	if (run->method == XD_TRANSFER_AUTO && !run->fewshot && !run->popular)
	{
		static const char *const cands[3] = {"target_only", "anneal", "drr"};
		bool		first = true;

		/* what auto fitted (an explicit target: not Anneal, xd_auto_fits) */
		appendStringInfoString(&summary, ", \"auto_fitted\": [");
		for (int i = 0; i < 3; i++)
			if (res->auto_fitted[i])
			{
				appendStringInfoString(&summary, first ? "" : ", ");
				escape_json(&summary, cands[i]);
				first = false;
			}
		appendStringInfoString(&summary, "], \"candidates\": {");
		first = true;
		for (int i = 0; i < 3; i++)
			if (res->auto_fitted[i])
			{
				xdpg_json_num(&summary, cands[i], res->auto_metric[i], !first);
				first = false;
			}
		/* the rule's numbers: a gain counts beyond auto_margin of them */
		appendStringInfoString(&summary, "}, \"gain_over_target_only\": {");
		first = true;
		for (int i = 1; i < 3; i++)
			if (res->auto_fitted[i])
			{
				appendStringInfo(&summary, "%s\"%s\": {", first ? "" : ", ", cands[i]);
				xdpg_json_num(&summary, "gain", res->auto_gain[i], false);
				xdpg_json_num(&summary, "se", res->auto_gain_se[i], true);
				appendStringInfoString(&summary, "}");
				first = false;
			}
		appendStringInfoString(&summary, "}");
		/*
		 * the margin used: 0 on a target below the small-target size that
		 * applied (auto_small_rows, explicit: auto_small_rows_explicit)
		 */
		xdpg_json_num(&summary, "auto_margin", res->auto_margin, true);
		xdpg_json_int(&summary, "auto_small_rows", xd_auto_small_rows(&run->opts, ds), true);
	}
	if (blend_json)
		appendStringInfo(&summary, ", \"blend\": %s", blend_json);	/* adapt_all's reason */
	appendStringInfoString(&summary, ", \"test\": ");
	appendStringInfoString(&summary, metrics);
	xdpg_json_num(&summary, "adapt_seconds", res->seconds, true);
	xdpg_json_num(&summary, "pretrain_seconds", res->pretrain_seconds, true);
	xdpg_json_int(&summary, "pins_shared_version", run->source_version, true);
	xdpg_deploy_after_run(md, run->domain, "target", run->deploy, &valid, version_id,
						  xdpg_fit_stats_json(run->counts.rows_used, ds), &summary);
	xdpg_fit_summary_end(&summary, version_id, run->t0);

	/* free the core's memory now: the adaptation before the modules it borrows */
	xd_transfer_result_free(res);
	guard->transfer = NULL;
	xd_dataset_free(guard->ds);
	guard->ds = NULL;

	return summary.data;
}

/*
 * xdrec.evaluate's protocol 'fewshot' on a run loaded with method auto (the
 * source version's meta-learner, when it has one, and its encoders read):
 * the core's protocol (fewshoteval.h) on the domain's rows, with the fits
 * adapt would make (the model's options), nothing written. Frees the rows.
 * False when the domain has too few rows for the support and a query
 * (*n_rows says how many).
 */
bool
xdpg_adapt_evaluate_fewshot(XdAdaptRun *run, int64 support, int seed, xd_fse_result *res,
							int64 *n_rows)
{
	xd_transfer_opts o;
	xd_status	st;

	if (run->md->explicit_fb)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("protocol 'fewshot' ranks items, so it measures implicit-feedback models only"),
				 errhint("Model \"%s\" learns ratings: use protocol 'sampled' or 'full'.", run->name)));
	*n_rows = run->guard->ds->n_rows;
	adapt_opts(run, &o);
	/* the protocol's cut is a dataset of its own: no ids of run's users */
	o.source_domain = NULL;
	o.user_source = NULL;
	o.hooks.stop = xdpg_stop;
	st = xd_fseval_run(run->src->fewshot, run->src->model->shared, run->src->encoders,
					   run->guard->ds, support, (uint64) seed, &o, res);
	xd_dataset_free(run->guard->ds);
	run->guard->ds = NULL;
	if (st == XD_ENODATA)
		return false;
	xdpg_check_status(st, "evaluating on the few-shot protocol");
	return true;
}
