/*
 * cold_fit.c - the cold-start module (CMML, include/xdrec/cold.h) trained in
 * the fit phase of xdrec.train, right after the source model: episodes cut
 * from the source's training users (support: K of a user's rows with
 * seeded negatives, query: others), the model frozen (xd_cold_train). The
 * module is stored with the version like every other tensor (catalog.c,
 * stored_tensors.c) and lets serving rank users that have rows but no
 * trained embedding, and anonymous histories (serve/cold_user.c).
 *
 * Why in train's fit phase and not in adapt: the module reads the shared
 * context module M1 and the user tower, both the source's; a target's own
 * module would need its DRR residual under FiLM, which is not built
 * (docs/cold-start.md). Option "cold" (default true) turns it off; its cost
 * is in the summary ("cold").
 */
#include "postgres.h"

#include "lib/stringinfo.h"
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
	XdColdFit  *f = MemoryContextAllocZero(cxt, sizeof(XdColdFit));
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	xd_cold_opts o;
	xd_status	st;

	cb->func = cold_fit_reset;
	cb->arg = f;
	MemoryContextRegisterResetCallback(cxt, cb);
	f->enabled = md->cold;
	if (!md->cold)
		return f;
	xd_cold_opts_default(&o);
	o.seed = md->cfg.seed;
	/* episodes' supports as long as serving reads (option cold_support) */
	o.max_support = Min(md->cold_support,
						xd_model_max_rows(model) / (1 + XD_COLD_NEGATIVES));
	/* the ranking loss's query within one pass of the model (small batch_size) */
	o.rank_negatives = Max(0, Min(o.rank_negatives, xd_model_max_rows(model) / o.max_query - 1));
	/*
	 * The stop half only: a job's cancel or a foreground Ctrl-C reaches it
	 * (the curve's stop checks for interrupts); its episodes are no epochs
	 * of the job's progress
	 */
	o.hooks.stop = hooks->stop;
	o.hooks.stop_arg = hooks->stop_arg;
	st = xd_cold_train(model, ds, NULL, &o, &f->cold, &f->rep);
	if (st == XD_ENODATA)
		return f;				/* no user with two rows: reported, not an error */
	xdpg_check_status(st, "meta-training the cold-start module");
	return f;
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
		appendStringInfoString(b, "{\"trained\": false, \"reason\": \"no user has two training rows\"}");
		return;
	}
	appendStringInfoString(b, "{\"trained\": true");
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
	appendStringInfoString(b, "}");
}
