/*
 * fewshot_fit.c - the few-shot meta-learner (s2Meta, include/xdrec/fewshot.h;
 * issue 20) meta-trained in the fit phase of xdrec.train, after the source
 * model: episodes on pseudo-domains cut from the source's users, each a new
 * domain with fresh embeddings adapted from a support of 16 to 256 rows
 * under the source's frozen modules, the query loss after the last step
 * differentiated back to the learned initialisation and the update LSTMs,
 * the stop LSTM by REINFORCE (xd_fewshot_train). The meta-learner is stored
 * with the version ("fs.*" tensors, stored_tensors.c) and read back by
 * xdrec.adapt(..., method => 'fewshot') (adapt_run.c).
 *
 * Option "fewshot" (default false) turns it on: it costs tens of seconds
 * whatever the source's size (400 episodes of up to 20 steps each; the
 * summary's "fewshot" gives its seconds), more than a small source's own
 * training, and only markets adapted with 'fewshot' use it.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "run/fewshot_fit.h"

static void
fewshot_fit_reset(void *arg)
{
	XdFewshotFit *f = arg;

	xd_fewshot_free(f->fs);
	f->fs = NULL;
}

/*
 * Meta-trains the meta-learner for a trained model on ds (the data it was
 * trained on), in the fit phase: the core alone, polling hooks' stop. The
 * result lives in cxt (freed with it, error or not). Nothing is trained when
 * the option is off, or when the source is too small to cut one
 * pseudo-domain (the summary says which).
 */
XdFewshotFit *
xdpg_fewshot_fit(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
				 const xd_hooks *hooks, MemoryContext cxt)
{
	XdFewshotFit *f = MemoryContextAllocZero(cxt, sizeof(XdFewshotFit));
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	xd_fewshot_opts o;
	xd_status	st;

	cb->func = fewshot_fit_reset;
	cb->arg = f;
	MemoryContextRegisterResetCallback(cxt, cb);
	f->enabled = md->fewshot;
	if (!md->fewshot)
		return f;
	xdpg_check_status(xd_fewshot_new(&model->shared->cfg, md->cfg.seed, &f->fs),
					  "making the few-shot meta-learner");
	xd_fewshot_opts_default(&o);
	o.episodes = md->fewshot_episodes;
	o.seed = md->cfg.seed;
	/* a job's cancel or a foreground Ctrl-C reaches it, once per episode */
	o.stop = hooks->stop;
	o.stop_arg = hooks->stop_arg;
	st = xd_fewshot_train(f->fs, model->shared, ds, &o, &f->rep);
	if (st == XD_ENODATA)
	{
		/* too small a source: reported, not an error */
		xd_fewshot_free(f->fs);
		f->fs = NULL;
		return f;
	}
	xdpg_check_status(st, "meta-training the few-shot meta-learner");
	return f;
}

/* The summary's "fewshot": what was trained, its query loss and cost. */
void
xdpg_fewshot_fit_json(StringInfo b, const XdFewshotFit *f)
{
	appendStringInfoString(b, ", \"fewshot\": ");
	if (!f->enabled)
	{
		appendStringInfoString(b, "{\"trained\": false, \"reason\": \"option fewshot is false\"}");
		return;
	}
	if (!f->fs)
	{
		appendStringInfoString(b, "{\"trained\": false, \"reason\": \"the source is too small to cut a pseudo-domain\"}");
		return;
	}
	appendStringInfoString(b, "{\"trained\": true");
	xdpg_json_int(b, "episodes", f->rep.episodes, true);
	/* the pseudo-domains' query loss over the first and the last tenth */
	xdpg_json_num(b, "first_query_loss", f->rep.first_query_loss, true);
	xdpg_json_num(b, "last_query_loss", f->rep.last_query_loss, true);
	xdpg_json_num(b, "mean_steps", f->rep.mean_steps, true);
	xdpg_json_num(b, "seconds", f->rep.seconds, true);
	appendStringInfoString(b, "}");
}
