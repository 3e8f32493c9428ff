/*
 * cold_fit.c - the cold-start module (CMML, include/xdrec/cold.h) trained in
 * the fit phase of xdrec.train, right after the source model: episodes cut
 * from the source's training users (support: K of a user's rows with
 * seeded negatives, query: others), the model frozen (xd_cold_train); and
 * in the fit phase of xdrec.adapt, right after the target's fit: the
 * target's own module, started from the source's and meta-trained on the
 * target's episodes with the adapted model frozen (xd_cold_train_target,
 * docs/cold-start.md, Adapted targets). The module is stored with the
 * version like every other tensor (version_write.c, stored_tensors.c) and
 * lets serving rank users that have rows but no trained embedding, and
 * anonymous histories (serve/cold_user.c), in the source and the targets.
 * Option "cold" (default true) turns it off; its cost is in the summary
 * ("cold").
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "xdrec/cold.h"
#include "run/run.h"
#include "run/cold_fit.h"

static void
cold_fit_reset(void *arg)
{
	XdColdFit  *f = arg;

	xd_cold_free(f->cold);
	f->cold = NULL;
}

/* A fit's result in cxt, its module freed with cxt (error or not). */
static XdColdFit *
cold_fit_new(const XdModelDef *md, MemoryContext cxt)
{
	XdColdFit  *f = MemoryContextAllocZero(cxt, sizeof(XdColdFit));
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));

	cb->func = cold_fit_reset;
	cb->arg = f;
	MemoryContextRegisterResetCallback(cxt, cb);
	f->enabled = md->cold;
	return f;
}

/* A fit's options from the model's: what train's and adapt's modules share. */
static void
cold_fit_opts(const XdModelDef *md, xd_model *model, const xd_hooks *hooks, xd_cold_opts *o)
{
	o->seed = md->cfg.seed;
	/* episodes' supports as long as serving reads (option cold_support) */
	o->max_support = Min(md->cold_support,
						 xd_model_max_rows(model) / (1 + XD_COLD_NEGATIVES));
	/* the ranking loss's query within one pass of the model (small batch_size) */
	o->rank_negatives = Max(0, Min(o->rank_negatives, xd_model_max_rows(model) / o->max_query - 1));
	/*
	 * The stop half only: a job's cancel or a foreground Ctrl-C reaches it
	 * (the curve's stop checks for interrupts); its episodes are no epochs
	 * of the job's progress
	 */
	o->hooks.stop = hooks->stop;
	o->hooks.stop_arg = hooks->stop_arg;
}

/*
 * Option cold_min (docs/cold-start.md, Warm users with few rows): the
 * trained module against the warm path on ds's validation rows of users
 * with fewer than cold_min training rows (xd_cold_min_compare), whose
 * choice the version records (xdpg_cold_fit_min_rows).
 */
static void
cold_fit_min(const XdModelDef *md, xd_model *model, const xd_dataset *ds, const xd_hooks *hooks,
			 XdColdFit *f)
{
	xd_hooks	stop = {0};

	if (md->cold_min == 0 || f->cold == NULL)
		return;
	if (ds->has_ratings)
	{
		f->min_reason = "ranked on validation for implicit feedback only";
		return;
	}
	stop.stop = hooks->stop;
	stop.stop_arg = hooks->stop_arg;
	xdpg_check_status(xd_cold_min_compare(model, ds, f->cold, md->cold_min,
										  Min(md->cold_support, xd_model_max_rows(model) / (1 + XD_COLD_NEGATIVES)),
										  XD_COLD_NEGATIVES, xdpg_fit_keeps_seen(md, ds),
										  md->cfg.seed, &stop, &f->mrep),
					  "comparing the warm and cold paths of users with few rows");
}

/*
 * The kept module's item co-occurrence prior (cold.h): the neighbour table
 * counted from ds's training rows, lambda chosen on its validation rows,
 * before cold_min compares the paths (the cold path as served).
 */
static void
cold_fit_cooc(const XdModelDef *md, xd_model *model, const xd_dataset *ds, const xd_hooks *hooks,
			  XdColdFit *f)
{
	xd_hooks	stop = {0};

	stop.stop = hooks->stop;
	stop.stop_arg = hooks->stop_arg;
	xdpg_check_status(xd_cold_cooc_fit(f->cold, model, ds, XD_COLD_NEGATIVES, md->cfg.seed,
									   &stop, &f->crep),
					  "counting the cold-start module's co-occurrence prior");
}

/*
 * Popularity in context on every item (fit_common.c,
 * xdpg_fit_context_popularity) from the module's prior, as soon as the
 * module is trained, on model (and second, a blend's other fit at a):
 * the warm path cold_min compares next, and the own-item weight chosen
 * after the module (xdpg_fit_repeat_pop), see the scores served. Without
 * a module, only why none.
 */
static void
cold_fit_pop_all(const XdModelDef *md, xd_model *model, xd_model *second, float a,
				 const xd_dataset *ds, const xd_hooks *hooks, XdColdFit *f)
{
	f->pop_all_why = xdpg_fit_context_popularity(md, model, second, a, f->cold, ds, hooks,
												 &f->pop_all);
}

/* The training rows below which the version serves a trained user cold (0: never). */
int
xdpg_cold_fit_min_rows(const XdColdFit *f)
{
	return f->mrep.use_cold ? f->mrep.min_rows : 0;
}

/*
 * Meta-trains the module for a trained model on ds (the data it was trained
 * on), in the fit phase: the core alone, polling hooks' stop. The result
 * lives in cxt (its module freed with it, error or not). Nothing is trained
 * when the option is off, or when no user has two training rows (the
 * summary says which).
 */
XdColdFit *
xdpg_cold_fit(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
			  const xd_hooks *hooks, MemoryContext cxt)
{
	XdColdFit  *f = cold_fit_new(md, cxt);
	xd_cold_opts o;
	xd_status	st;

	if (md->cold)
	{
		xd_cold_opts_default(&o);
		cold_fit_opts(md, model, hooks, &o);
		st = xd_cold_train(model, ds, NULL, &o, &f->cold, &f->rep);
		/* no user with two rows: reported, not an error */
		if (st != XD_ENODATA)
			xdpg_check_status(st, "meta-training the cold-start module");
	}
	if (f->cold)
		cold_fit_cooc(md, model, ds, hooks, f);
	cold_fit_pop_all(md, model, NULL, 0.0f, ds, hooks, f);
	if (f->cold)
		cold_fit_min(md, model, ds, hooks, f);
	return f;
}

/* An adapted target's module (below), meta-trained from the source's. */
static void
cold_fit_target_module(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
					   xd_cold *source, bool own_towers, const xd_hooks *hooks, XdColdFit *f)
{
	xd_cold_opts o;
	xd_status	st;

	xd_cold_target_opts_default(&o);
	cold_fit_opts(md, model, hooks, &o);
	/* the source's module's own shape (a version may store it without FiLM) */
	o.film = source->film;
	o.hidden = source->hidden;
	st = xd_cold_train_target(model, ds, source, own_towers, &o, &f->cold, &f->trep, NULL);
	xdpg_check_status(st, "meta-training the target's cold-start module");
	if (!f->trep.too_small)
		f->rep = f->trep.cand[f->trep.kept];
	f->rep.seconds = f->trep.seconds;
}

/*
 * An adapted target's module (xd_cold_train_target) for its fitted model on
 * ds (the target's data), from source, the source version's module, in
 * adapt's fit phase; own_towers: the model's towers are not the source's
 * (target-only, Anneal). without (may be NULL): why the target has no
 * module though the option is on (a domain served by popularity); a source
 * without a module gives none either. pop_all: the fit gets popularity in
 * context on every item (not a few-shot market or a domain served by
 * popularity), a blend's other fit second (may be NULL) at a alike. Lives
 * in cxt as xdpg_cold_fit's.
 */
XdColdFit *
xdpg_cold_fit_target(const XdModelDef *md, xd_model *model, xd_model *second, float a,
					 const xd_dataset *ds,
					 xd_cold *source, bool own_towers, const char *without, bool pop_all,
					 const xd_hooks *hooks, MemoryContext cxt)
{
	XdColdFit  *f = cold_fit_new(md, cxt);

	f->target = true;
	if (md->cold && without)
		f->reason = without;
	else if (md->cold && !source)
		f->reason = "the source version has no cold-start module (trained with option cold off, or before 0.2.0)";
	else if (md->cold)
		cold_fit_target_module(md, model, ds, source, own_towers, hooks, f);
	if (f->cold)
		cold_fit_cooc(md, model, ds, hooks, f);
	if (pop_all)
		cold_fit_pop_all(md, model, second, a, ds, hooks, f);
	if (f->cold)
		cold_fit_min(md, model, ds, hooks, f);
	return f;
}

/*
 * The summary's "cold_min" (inside "cold"): the option's rows, the users
 * and validation positives compared, each path's HitRate@10 and MRR, the
 * paired standard error of the HitRate@10 difference, the path kept, its
 * cost; or why nothing was compared.
 */
static void
cold_fit_min_json(StringInfo b, const XdColdFit *f)
{
	const xd_cold_min_report *r = &f->mrep;

	if (f->min_reason)
	{
		appendStringInfoString(b, ", \"cold_min\": {\"path\": \"warm\", \"reason\": ");
		escape_json(b, f->min_reason);
		appendStringInfoString(b, "}");
		return;
	}
	if (r->min_rows == 0)
		return;
	appendStringInfo(b, ", \"cold_min\": {\"path\": \"%s\"", r->use_cold ? "cold" : "warm");
	xdpg_json_int(b, "rows", r->min_rows, true);
	xdpg_json_int(b, "users", r->n_users, true);
	xdpg_json_int(b, "ranked", r->n_ranked, true);
	xdpg_json_num(b, "warm_hit10", r->warm_hit10, true);
	xdpg_json_num(b, "cold_hit10", r->cold_hit10, true);
	xdpg_json_num(b, "warm_mrr", r->warm_mrr, true);
	xdpg_json_num(b, "cold_mrr", r->cold_mrr, true);
	xdpg_json_num(b, "hit10_se", r->hit10_se, true);
	xdpg_json_num(b, "seconds", r->seconds, true);
	if (r->too_few)
	{
		appendStringInfoString(b, ", \"reason\": ");
		escape_json(b, psprintf("fewer than %d validation positives of such users to choose on",
								XD_COLD_MIN_RANKED));
	}
	appendStringInfoString(b, "}");
}

/*
 * The summary's "cooc" (inside "cold"): the co-occurrence prior's lambda,
 * its table's size, each lambda's validation HitRate@10 and the cost.
 */
static void
cold_fit_cooc_json(StringInfo b, const XdColdFit *f)
{
	const xd_cold_cooc_report *c = &f->crep;

	appendStringInfoString(b, ", \"cooc\": {");
	if (!c->fitted)
	{
		appendStringInfoString(b, "\"fitted\": false, \"reason\": ");
		escape_json(b, c->why_not ? c->why_not : "not fitted");
		appendStringInfoString(b, "}");
		return;
	}
	xdpg_json_num(b, "lambda", c->lambda, false);
	xdpg_json_int(b, "neighbours", c->width, true);
	xdpg_json_int(b, "bytes", c->bytes, true);
	xdpg_json_int(b, "validation_users", c->n_users, true);
	xdpg_json_int(b, "validation_queries", c->n_queries, true);
	appendStringInfoString(b, ", \"valid_hit10\": {");
	for (int l = 0; l < XD_COLD_COOC_N_GRID; l++)
	{
		appendStringInfo(b, "%s\"%g\": ", l > 0 ? ", " : "", xd_cold_cooc_grid[l]);
		appendStringInfo(b, "%.4f", c->valid_hit10[l]);
	}
	appendStringInfoString(b, "}");
	xdpg_json_num(b, "seconds", c->seconds, true);
	appendStringInfoString(b, "}");
}

/* The summary's "cold": what was trained, its validation loss and cost. */
void
xdpg_cold_fit_json(StringInfo b, const XdColdFit *f)
{
	appendStringInfoString(b, ", \"cold\": ");
	if (!f->enabled)
	{
		appendStringInfoString(b, "{\"trained\": false, \"reason\": \"option cold is false\"}");
		return;
	}
	if (!f->cold)
	{
		appendStringInfoString(b, "{\"trained\": false, \"reason\": ");
		escape_json(b, f->reason ? f->reason : "no user has two training rows");
		appendStringInfoString(b, "}");
		return;
	}
	appendStringInfoString(b, "{\"trained\": true");
	if (f->target)
	{
		/*
		 * which candidate was kept, and why: the source's module as is, or
		 * meta-trained from it (or from a fresh start over the target's own
		 * towers), on the target's validation ranking
		 */
		appendStringInfoString(b, ", \"start\": ");
		escape_json(b, xd_cold_start_name(f->trep.kept));
		xdpg_json_int(b, "users_with_two_rows", f->trep.n_train_users, true);
		xdpg_json_int(b, "validation_users", f->trep.n_valid_users, true);
		if (f->trep.too_small)
		{
			appendStringInfoString(b, ", \"reason\": ");
			escape_json(b, psprintf("the target is too small to cut episodes from: fewer than %d users with two training rows or with a validation row; the source's module as is, over the target's items and model",
									XD_COLD_TARGET_MIN_USERS));
			xdpg_json_num(b, "seconds", f->rep.seconds, true);
			cold_fit_cooc_json(b, f);
			cold_fit_min_json(b, f);
			appendStringInfoString(b, "}");
			return;
		}
		appendStringInfoString(b, ", \"candidates\": {");
		for (int i = 0; i < f->trep.n_cand; i++)
		{
			appendStringInfo(b, "%s\"%s\": {", i > 0 ? ", " : "",
							 xd_cold_start_name((xd_cold_start) i));
			xdpg_json_num(b, "valid_hit10", f->trep.cand[i].valid_hit10, false);
			xdpg_json_num(b, "valid_loss", f->trep.cand[i].best_valid_loss, true);
			xdpg_json_int(b, "epochs", f->trep.cand[i].epochs, true);
			xdpg_json_num(b, "seconds", f->trep.cand[i].seconds, true);
			appendStringInfoString(b, "}");
		}
		appendStringInfoString(b, "}");
	}
	xdpg_json_int(b, "epochs", f->rep.epochs, true);
	xdpg_json_int(b, "best_epoch", f->rep.best_epoch, true);
	xdpg_json_int(b, "episodes", f->rep.episodes, true);
	xdpg_json_int(b, "users", f->rep.n_train_users, true);
	/* the plain tower's loss before meta-training, against the module's */
	xdpg_json_num(b, "valid_loss_before", f->rep.first_valid_loss, true);
	xdpg_json_num(b, "valid_loss", f->rep.best_valid_loss, true);
	xdpg_json_num(b, "seconds", f->rep.seconds, true);
	/* the query loss: the ranking loss's negatives, 0 for the model's own */
	xdpg_json_int(b, "rank_negatives", f->rep.rank_negatives, true);
	/* the context prior (always trained now), and own items first when rho is */
	appendStringInfo(b, ", \"prior\": %s", f->cold->prior_N ? "true" : "false");
	/* the weights' scale validation kept (xd_cold_opts.scale_prior; 0: none) */
	if (f->cold->lam_W)
		xdpg_json_num(b, "prior_scale", f->rep.prior_scale, true);
	if (f->cold->floor)
		appendStringInfo(b, ", \"own_items_first\": %s", f->rep.floor ? "true" : "false");
	cold_fit_cooc_json(b, f);
	cold_fit_min_json(b, f);
	appendStringInfoString(b, "}");
}
