/*
 * transfer.c - one-to-many transfer (DESIGN.md section 4, paper section 5):
 * the target-only baseline, pretraining and the swap, Direct, Anneal (eq. 18),
 * DRR (eq. 19, 22) and auto, with early stopping on the validation metric
 * (DESIGN.md section 3) and a per-epoch history for the Figure-3 plot.
 *
 * Every method trains with train.c's loop (xd_train), so that their times
 * compare fairly: per-group learning rates (0 freezes a group), Anneal's
 * schedule on the module rate, fixed epochs without validation for
 * pretraining; its progress callback records the history.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/baseline.h"
#include "xdrec/clock.h"
#include "xdrec/metrics.h"
#include "xdrec/sample.h"
#include "xdrec/transfer.h"

const char *
xd_transfer_method_name(xd_transfer_method m)
{
	switch (m)
	{
		case XD_TRANSFER_TARGET_ONLY: return "target_only";
		case XD_TRANSFER_DIRECT: return "direct";
		case XD_TRANSFER_ANNEAL: return "anneal";
		case XD_TRANSFER_DRR: return "drr";
		case XD_TRANSFER_AUTO: return "auto";
		case XD_N_TRANSFER: break;
	}
	return NULL;
}

void
xd_transfer_opts_default(xd_transfer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->method = XD_TRANSFER_DRR;
	o->pretrain_epochs = 2;
	o->lambda_kl = 0.1f;
	o->lambda_search = false;
	o->max_epochs = 100;
	o->patience = 10;
	o->drr_patience = 0;		/* = patience (docs/transfer.md: 3 lost on real data) */
	o->valid_max = 2000;
	o->lr = 0.0f;
	o->anneal_ratio = 1e-3;
	o->auto_margin_se = XD_AUTO_MARGIN_SE;
	o->auto_small_rows = XD_AUTO_SMALL_ROWS;
	o->auto_small_rows_explicit = XD_AUTO_SMALL_ROWS_EXPLICIT;
	o->damped_init_rows = XD_DAMPED_INIT_ROWS;
	o->lr_search = XD_LR_SEARCH_DEFAULT;
	o->lr_decay = false;		/* the grid; auto decays its transfer candidates */
	o->search_valid_max = XD_SEARCH_VALID_MAX;
	o->auto_blend = false;		/* the reports compose the rule; the product sets it */
	o->seed = 42;
}

/* ---------------------------------------------------------------- history */

/* Room for `more` epochs in the history (xd_history_epoch cannot fail). */
static xd_status
xd_history_reserve(xd_transfer_result *r, int more)
{
	size_t		n = sizeof(double) * (size_t) (r->n_history + more);
	double	   *a;

	if (!(a = realloc(r->loss, n)))
		return XD_ENOMEM;
	r->loss = a;
	if (!(a = realloc(r->loss_data, n)))
		return XD_ENOMEM;
	r->loss_data = a;
	if (!(a = realloc(r->metric, n)))
		return XD_ENOMEM;
	r->metric = a;
	return XD_OK;
}

/* What xd_fit's progress callback needs: the history, and the caller's callback. */
typedef struct xd_fit_progress
{
	xd_transfer_result *res;
	xd_hooks	outer;			/* the caller's */
} xd_fit_progress;

/*
 * xd_train's progress callback: one epoch into the history, then on to the
 * caller's callback with the epoch numbered on across pretraining and auto's
 * candidates (a job's progress rows are keyed by it).
 */
static void
xd_history_epoch(void *arg, const xd_epoch_report *rep)
{
	xd_fit_progress *fp = (xd_fit_progress *) arg;
	xd_transfer_result *r = fp->res;

	r->loss[r->n_history] = rep->loss;
	r->loss_data[r->n_history] = rep->loss_data;
	r->metric[r->n_history] = rep->metric_is_loss ? NAN : rep->metric;
	r->n_history++;
	if (fp->outer.progress)
	{
		xd_epoch_report numbered = *rep;

		numbered.epoch = ++r->n_reported;
		xd_hooks_report(&fp->outer, &numbered);
	}
}

/*
 * xd_train_search over n_rates rates (1: xd_train; pretraining's fixed
 * epochs: xd_train), recorded in res->lr_search; res's history gets the
 * kept fit's epochs, the progress callback every fit's.
 */
static xd_status
xd_fit(xd_model *model, const xd_dataset *ds, xd_train_opts *to, int n_rates,
	   xd_transfer_result *res, xd_train_result *tr)
{
	xd_fit_progress fp = {res, to->hooks};
	xd_status	st;
	int			first,
				skip = 0,
				kept;

	if ((st = xd_history_reserve(res, to->max_epochs * (to->fixed_epochs ? 1 : n_rates))) != XD_OK)
		return st;
	to->hooks.progress = xd_history_epoch;
	to->hooks.progress_arg = &fp;
	if (to->fixed_epochs)
		return xd_train(model, ds, to, tr);
	first = res->n_history;
	if ((st = xd_train_search(model, ds, to, n_rates, tr, &res->lr_search)) != XD_OK)
		return st;
	/*
	 * the history keeps the kept fit's epochs only (progress saw them all);
	 * decay's stages are one fit
	 */
	for (int i = 0; i < res->lr_search.chosen && !to->lr_decay; i++)
		skip += res->lr_search.epochs[i];
	kept = to->lr_decay ? tr->epochs : res->lr_search.epochs[res->lr_search.chosen];
	memmove(res->loss + first, res->loss + first + skip, sizeof(double) * kept);
	memmove(res->loss_data + first, res->loss_data + first + skip, sizeof(double) * kept);
	memmove(res->metric + first, res->metric + first + skip, sizeof(double) * kept);
	res->n_history = first + kept;
	return XD_OK;
}

/* ---------------------------------------------------------------- pieces */

static void
xd_train_opts_for(xd_train_opts *to, const xd_transfer_opts *o, float eta0,
				  uint64_t salt)
{
	memset(to, 0, sizeof(*to));
	to->max_epochs = o->max_epochs;
	to->patience = o->patience;
	to->valid_max = o->valid_max;
	to->lr_decay = o->lr_decay;
	to->search_valid_max = o->search_valid_max;
	to->search_patience_behind = XD_SEARCH_PATIENCE_BEHIND;
	to->search_margin = XD_SEARCH_MARGIN;
	for (int g = 0; g < XD_N_GROUPS; g++)
		to->lr[g] = eta0;
	to->seed = o->seed ^ salt;
	to->hooks = o->hooks;
}

/*
 * Every fit's loop seed is o->seed ^ this: methods see the same batches and
 * validate on the same positives and negatives (which auto's paired choice
 * needs).
 */
#define XD_FIT_SALT 0x747261696eULL

static xd_status
xd_check_target(const xd_config *cfg, const xd_dataset *ds)
{
	if (!ds->finalized || ds->enc.schema.m != cfg->m ||
		ds->enc.schema.m_I != cfg->m_I || ds->enc.schema.m_H != cfg->m_H ||
		ds->enc.schema.m_A != cfg->m_A ||
		(cfg->feedback == XD_EXPLICIT) != (ds->has_ratings != 0))
		return XD_EINVAL;
	return XD_OK;
}

/*
 * After the swap a new optimisation starts: the embeddings keep their values,
 * Adam forgets the pretraining's moments (so a pretrained domain and its
 * clone train alike).
 */
static void
xd_domain_reset_adam(xd_domain *dom)
{
	for (int i = 0; i < dom->n_params; i++)
	{
		xd_param   *p = &dom->params[i];
		size_t		n = (size_t) p->rows * p->cols;

		memset(p->adam_m, 0, sizeof(float) * n);
		memset(p->adam_v, 0, sizeof(float) * n);
		p->step = 0;
		if (p->sparse)
			memset(p->row_step, 0, sizeof(int64_t) * p->rows);
	}
}

/*
 * A fresh T domain (DESIGN.md section 3 initialisation, seeded), pretrained
 * with fresh modules for o->pretrain_epochs epochs when > 0 (section 4 step 1);
 * the pretrained modules are then dropped (step 2, the swap).
 */
static xd_status
xd_pretrain(const xd_config *cfg, const xd_dataset *ds, const xd_transfer_opts *o,
			float eta0, xd_transfer_result *res, xd_domain **out)
{
	xd_domain  *dom = NULL;
	xd_shared  *sh = NULL;
	xd_model   *model = NULL;
	xd_rng		rng;
	xd_status	st;
	double		t0 = xd_clock_seconds();

	*out = NULL;
	xd_rng_seed(&rng, o->seed);
	if ((st = xd_domain_new(cfg, ds->n_users, ds->n_items, &dom)) != XD_OK)
		return st;
	if (o->pretrain_epochs > 0)
	{
		xd_train_opts to;
		xd_train_result tr;

		if ((st = xd_shared_new(cfg, &sh)) != XD_OK)
			goto fail;
		xd_shared_init(sh, &rng);
		xd_domain_init(dom, &rng, (float) ds->rating_mean);
		if ((st = xd_model_new(cfg, sh, dom, true, false, &model)) != XD_OK)
		{
			sh = NULL;			/* the model freed it */
			goto fail;
		}
		/* a small explicit target: its biases from the damped means */
		if ((st = xd_domain_damped_init(dom, ds, o->damped_init_rows, NULL)) != XD_OK)
			goto fail;
		xd_train_opts_for(&to, o, eta0, 0x707265ULL);
		to.max_epochs = o->pretrain_epochs;
		to.fixed_epochs = true; /* exactly pretrain_epochs, no validation */
		if ((st = xd_fit(model, ds, &to, 1, res, &tr)) != XD_OK)
			goto fail;
		res->n_pretrain = res->n_history;
		xd_model_free(model);	/* the swap: T's own modules are dropped */
		model = NULL;
		xd_domain_reset_adam(dom);
	}
	else
	{
		/* same draws as the pretrained path's init, for comparable seeds */
		if ((st = xd_shared_new(cfg, &sh)) != XD_OK)
			goto fail;
		xd_shared_init(sh, &rng);
		xd_shared_free(sh);
		xd_domain_init(dom, &rng, (float) ds->rating_mean);
		if ((st = xd_domain_damped_init(dom, ds, o->damped_init_rows, NULL)) != XD_OK)
			goto fail;
	}
	/* shared users start where the source left them, in the modules' basis */
	if (o->user_source && o->source_domain && o->source_domain->d == dom->d)
		for (int32_t u = 0; u < dom->n_users; u++)
		{
			int32_t		su = o->user_source[u];

			if (su < 0 || su >= o->source_domain->n_users)
				continue;
			memcpy(dom->E_u->w + (size_t) u * dom->d,
				   o->source_domain->E_u->w + (size_t) su * dom->d, sizeof(float) * dom->d);
			if (dom->s_u && o->source_domain->s_u)
				dom->s_u->w[u] = o->source_domain->s_u->w[su];
		}
	res->pretrain_seconds += xd_clock_seconds() - t0;
	*out = dom;
	return XD_OK;
fail:
	xd_model_free(model);
	xd_domain_free(dom);
	return st;
}

/* One method other than auto, from a (pretrained) domain the result takes over. */
static xd_status
xd_run_method(xd_transfer_method method, const xd_shared *source,
			  const xd_dist_encoders *enc, const xd_dataset *ds,
			  const xd_transfer_opts *o, float eta0, float lambda_kl,
			  xd_domain *dom, xd_transfer_result *res)
{
	const xd_config *cfg = &res->cfg;
	xd_train_opts to;
	xd_train_result tr;
	xd_status	st;

	res->method = method;
	res->domain = dom;
	/* every training fit uses the same salt, so methods see the same batches */
	xd_train_opts_for(&to, o, eta0, XD_FIT_SALT);

	if (method == XD_TRANSFER_TARGET_ONLY)
	{
		xd_rng		rng;

		/* the full model on T alone, from scratch, to convergence */
		xd_rng_seed(&rng, o->seed);
		if ((st = xd_shared_new(cfg, &res->shared)) != XD_OK)
			return st;
		xd_shared_init(res->shared, &rng);
		xd_domain_init(dom, &rng, (float) ds->rating_mean);
		/* a small explicit target: its biases from the damped means */
		if ((st = xd_domain_damped_init(dom, ds, o->damped_init_rows, NULL)) != XD_OK)
			return st;
		if ((st = xd_model_new(cfg, res->shared, dom, false, false, &res->model)) != XD_OK)
			return st;
	}
	else if (method == XD_TRANSFER_ANNEAL)
	{
		/* T's own copy of the source's modules, annealed (eq. 18) */
		if ((st = xd_shared_clone(source, &res->shared)) != XD_OK)
			return st;
		if ((st = xd_model_new(cfg, res->shared, dom, false, false, &res->model)) != XD_OK)
			return st;
		to.anneal_ratio = o->anneal_ratio;
	}
	else
	{
		/*
		 * Direct and DRR borrow the source's modules, frozen: backward never
		 * writes them (xd_model_freeze_shared), Adam skips group 0
		 */
		if ((st = xd_model_new(cfg, (xd_shared *) source, dom, false, false,
							   &res->model)) != XD_OK)
			return st;
		xd_model_freeze_shared(res->model, true);
		to.lr[XD_GROUP_SHARED] = 0.0f;
		if (method == XD_TRANSFER_DRR)
		{
			to.patience = o->drr_patience > 0 && o->drr_patience < o->patience ?
				o->drr_patience : o->patience;
			if ((st = xd_adapt_new(cfg, &res->adapt)) != XD_OK ||
				(st = xd_model_set_adapt(res->model, res->adapt)) != XD_OK ||
				(st = xd_adapt_add_kl(res->model, enc, lambda_kl)) != XD_OK)
				return st;
			res->lambda_kl = res->adapt->lambda_kl;
		}
	}

	if (method == XD_TRANSFER_DIRECT)
	{
		double		metric;
		int64_t		n;

		/* no epochs: the validation metric of the training loop, once */
		res->epochs = 0;
		res->best_epoch = 0;
		res->lr_search.n = 0;	/* nothing trains */
		if ((st = xd_train_validate(res->model, ds, &to, &metric, &n, NULL)) != XD_OK)
			return st;
		res->best_metric = n == 0 ? NAN :
			(cfg->feedback == XD_EXPLICIT ? -metric : metric);
		return XD_OK;
	}
	if ((st = xd_fit(res->model, ds, &to, o->lr_search, res, &tr)) != XD_OK)
		return st;
	res->epochs = tr.epochs;
	res->best_epoch = tr.best_epoch;
	res->repeat = tr.repeat;
	res->item_neg_weight = tr.item_neg_weight;
	/* no validation positive (a tiny domain): no metric to compare on */
	res->best_metric = tr.metric_is_loss ? NAN : tr.best_metric;
	return XD_OK;
}

/* Moves src into dst (dst freed first); src is left empty. */
static void
xd_result_move(xd_transfer_result *dst, xd_transfer_result *src)
{
	xd_transfer_result_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* larger is better whatever the feedback: MRR, or -RMSE */
static double
xd_result_score(const xd_transfer_result *r)
{
	double		v = r->cfg.feedback == XD_EXPLICIT ? -r->best_metric : r->best_metric;

	return isnan(v) ? -INFINITY : v;
}

/* One method, its own pretraining included (not auto). */
static xd_status
xd_transfer_one(xd_transfer_method method, const xd_shared *source,
				const xd_dist_encoders *enc, const xd_dataset *ds,
				const xd_transfer_opts *o, float eta0, xd_transfer_result *res)
{
	xd_domain  *dom = NULL;
	xd_status	st;
	double		t0 = xd_clock_seconds();

	if (method == XD_TRANSFER_TARGET_ONLY)
	{
		if ((st = xd_domain_new(&res->cfg, ds->n_users, ds->n_items, &dom)) != XD_OK)
			return st;
		st = xd_run_method(method, source, enc, ds, o, eta0, o->lambda_kl, dom, res);
	}
	else if (method == XD_TRANSFER_DRR && o->lambda_search && enc)
	{
		static const float grid[3] = {0.01f, 0.1f, 1.0f};
		xd_transfer_result best;
		xd_domain  *pre;

		/* one pretraining, then 0.01, 0.1, 1 from it; the time of all counts */
		memset(&best, 0, sizeof(best));
		if ((st = xd_pretrain(&res->cfg, ds, o, eta0, res, &pre)) != XD_OK)
			return st;
		for (int i = 0; i < 3 && st == XD_OK; i++)
		{
			xd_transfer_result cand;

			memset(&cand, 0, sizeof(cand));
			cand.requested = res->requested;
			cand.cfg = res->cfg;
			cand.n_reported = res->n_reported;	/* progress numbers on */
			if ((st = xd_domain_clone(&res->cfg, pre, &dom)) == XD_OK)
			{
				/* the candidate starts with the pretraining's history */
				if ((st = xd_history_reserve(&cand, res->n_history)) == XD_OK)
				{
					memcpy(cand.loss, res->loss, sizeof(double) * res->n_history);
					memcpy(cand.loss_data, res->loss_data, sizeof(double) * res->n_history);
					memcpy(cand.metric, res->metric, sizeof(double) * res->n_history);
					cand.n_history = res->n_history;
				}
				cand.n_pretrain = res->n_pretrain;
				cand.pretrain_seconds = res->pretrain_seconds;
				if (st == XD_OK)
					st = xd_run_method(method, source, enc, ds, o, eta0, grid[i],
									   dom, &cand);
				else
					xd_domain_free(dom);
			}
			res->n_reported = cand.n_reported;
			if (st == XD_OK && (best.model == NULL ||
								xd_result_score(&cand) > xd_result_score(&best)))
				xd_result_move(&best, &cand);
			xd_transfer_result_free(&cand);
		}
		xd_domain_free(pre);
		if (st != XD_OK)
		{
			xd_transfer_result_free(&best);
			return st;
		}
		best.n_reported = res->n_reported;
		xd_result_move(res, &best);
	}
	else
	{
		if ((st = xd_pretrain(&res->cfg, ds, o, eta0, res, &dom)) != XD_OK)
			return st;
		st = xd_run_method(method, source, enc, ds, o, eta0, o->lambda_kl, dom, res);
	}
	res->seconds = xd_clock_seconds() - t0;
	return st;
}

xd_status
xd_transfer(const xd_shared *source, const xd_dist_encoders *enc,
			const xd_dataset *target, const xd_transfer_opts *o,
			xd_transfer_result *out)
{
	xd_status	st;
	float		eta0;

	memset(out, 0, sizeof(*out));
	if (!source || !target || !o || o->method < 0 || o->method >= XD_N_TRANSFER ||
		o->pretrain_epochs < 0 || o->max_epochs < 1 || o->patience < 1 ||
		o->drr_patience < 0 || o->lr_search < 1 || o->lr_search > XD_LR_SEARCH_MAX ||
		o->valid_max < 0 || o->search_valid_max < 0 || !(o->lr >= 0.0f) ||
		!(o->anneal_ratio > 0.0) ||
		!(o->lambda_kl >= 0.0f) || !isfinite(o->lambda_kl) ||
		!(o->auto_margin_se >= 0.0) || !isfinite(o->auto_margin_se) ||
		o->auto_small_rows < 0 || o->auto_small_rows_explicit < 0 || o->damped_init_rows < 0)
		return XD_EINVAL;
	out->requested = o->method;
	out->cfg = source->cfg;
	out->cfg.seed = o->seed;
	if ((st = xd_check_target(&out->cfg, target)) != XD_OK)
		return st;
	eta0 = o->lr > 0.0f ? o->lr : source->cfg.lr;

	if (o->method != XD_TRANSFER_AUTO)
		return xd_transfer_one(o->method, source, enc, target, o, eta0, out);

	/*
	 * auto (DESIGN.md section 4): target-only, Anneal and DRR (on an
	 * explicit target not Anneal: xd_auto_fits), each with its own
	 * pretraining; a transfer candidate is deployed only when it beats
	 * target-only on validation beyond noise (xd_auto_choose)
	 */
	{
		static const xd_transfer_method cands[3] =
		{XD_TRANSFER_TARGET_ONLY, XD_TRANSFER_ANNEAL, XD_TRANSFER_DRR};
		xd_transfer_result fits[3];
		double	   *each[3] = {NULL, NULL, NULL};
		bool		fitted[3];
		int64_t		n = 0;
		int			reported = 0;
		double		t0 = xd_clock_seconds();

		memset(fits, 0, sizeof(fits));
		st = XD_OK;
		/*
		 * target-only, the baseline, searches as the options say (the grid
		 * by default); the transfer candidates by decay, one fit each:
		 * on the real report that costs half their time and loses nothing
		 * auto keeps (docs/transfer.md)
		 */
		xd_transfer_opts cand_opts = *o;

		cand_opts.lr_decay = true;
		for (int i = 0; i < 3 && st == XD_OK; i++)
		{
			if (!(fitted[i] = xd_auto_fits(target, i)))
				continue;
			fits[i].requested = XD_TRANSFER_AUTO;
			fits[i].cfg = out->cfg;
			fits[i].n_reported = reported;	/* numbered on */
			st = xd_transfer_one(cands[i], source, enc, target, i == 0 ? o : &cand_opts,
								 eta0, &fits[i]);
			if (st == XD_OK)
				st = xd_transfer_validation(&fits[i], target, o, &each[i], &n);
			reported = fits[i].n_reported;
		}
		if (st == XD_OK)
		{
			double		gain[3],
						se[3],
						metric[3],
						secs[3],
						g[3],
						s[3];
			double		margin = xd_auto_margin(o, target);
			const double *fit_each[3];
			int			idx[3],
						n_fit = 0,
						chosen;

			/* the choice among the fitted candidates (target-only first) */
			for (int i = 0; i < 3; i++)
				if (fitted[i])
				{
					fit_each[n_fit] = each[i];
					idx[n_fit++] = i;
				}
			chosen = idx[xd_auto_choose(fit_each, n_fit, n, margin, g, s)];
			for (int i = 0; i < 3; i++)
				gain[i] = se[i] = NAN;
			for (int c = 0; c < n_fit; c++)
			{
				gain[idx[c]] = g[c];
				se[idx[c]] = s[c];
			}

			for (int i = 0; i < 3; i++)
			{
				if (!fitted[i])
				{
					metric[i] = NAN;
					secs[i] = 0.0;
					continue;
				}
				/*
				 * what the choice compared: with a repeat term the
				 * calibration after the fit (train.h) moves the validation
				 * MRR from the fit's best_metric, which never saw the lift
				 */
				metric[i] = fits[i].best_metric;
				if (fits[i].cfg.feedback == XD_IMPLICIT && n > 0 && fits[i].model &&
					xd_model_has_repeat(fits[i].model))
				{
					double		sum = 0.0;

					for (int64_t j = 0; j < n; j++)
						sum += each[i][j];
					metric[i] = sum / (double) n;
				}
				secs[i] = fits[i].seconds;
			}
			xd_transfer_result *blend = NULL;

			/*
			 * the large-target blend rule: DRR's fit kept beside target-only's
			 * (docs/transfer.md, "The blend of target-only and a transfer")
			 */
			if (o->auto_blend && xd_auto_blends(o, target, chosen))
			{
				if (!(blend = malloc(sizeof(*blend))))
					st = XD_ENOMEM;
				else
				{
					*blend = fits[2];
					memset(&fits[2], 0, sizeof(fits[2]));
				}
			}
			xd_result_move(out, &fits[chosen]);
			out->blend = blend;
			out->blend_a = blend ? XD_BLEND_A : 0.0f;
			out->n_reported = reported;
			out->requested = XD_TRANSFER_AUTO;
			out->seconds = xd_clock_seconds() - t0;
			memcpy(out->auto_fitted, fitted, sizeof(fitted));
			memcpy(out->auto_metric, metric, sizeof(metric));
			memcpy(out->auto_seconds, secs, sizeof(secs));
			memcpy(out->auto_gain, gain, sizeof(gain));
			memcpy(out->auto_gain_se, se, sizeof(se));
			out->auto_margin = margin;
		}
		for (int i = 0; i < 3; i++)
		{
			xd_transfer_result_free(&fits[i]);
			free(each[i]);
		}
		return st;
	}
}

bool
xd_auto_fits(const xd_dataset *target, int cand)
{
	return cand != 1 || !target->has_ratings;
}

int64_t
xd_auto_small_rows(const xd_transfer_opts *o, const xd_dataset *target)
{
	return target->has_ratings ? o->auto_small_rows_explicit : o->auto_small_rows;
}

double
xd_auto_margin(const xd_transfer_opts *o, const xd_dataset *target)
{
	return target->n_split[XD_SPLIT_TRAIN] < xd_auto_small_rows(o, target) ? 0.0 :
		o->auto_margin_se;
}

xd_status
xd_transfer_train_source(const xd_config *cfg, const xd_dataset *src,
						 const xd_transfer_opts *o, xd_transfer_result *out)
{
	xd_domain  *dom = NULL;
	xd_status	st;
	double		t0 = xd_clock_seconds();

	memset(out, 0, sizeof(*out));
	if (!cfg || !src || !o || o->max_epochs < 1 || o->patience < 1 ||
		o->lr_search < 1 || o->lr_search > XD_LR_SEARCH_MAX || o->valid_max < 0 ||
		o->search_valid_max < 0 || !(o->lr >= 0.0f) || o->damped_init_rows < 0 ||
		xd_config_check(cfg) != XD_OK)
		return XD_EINVAL;
	out->requested = XD_TRANSFER_TARGET_ONLY;
	out->cfg = *cfg;
	out->cfg.seed = o->seed;
	if ((st = xd_check_target(&out->cfg, src)) != XD_OK)
		return st;
	if ((st = xd_domain_new(&out->cfg, src->n_users, src->n_items, &dom)) != XD_OK)
		return st;
	/* target-only on the source domain: the source has no source */
	st = xd_run_method(XD_TRANSFER_TARGET_ONLY, NULL, NULL, src, o,
					   o->lr > 0.0f ? o->lr : cfg->lr, 0.0f, dom, out);
	out->seconds = xd_clock_seconds() - t0;
	return st;
}

xd_status
xd_transfer_validation(const xd_transfer_result *r, const xd_dataset *ds,
					   const xd_transfer_opts *o, double **each, int64_t *n)
{
	xd_train_opts to;
	double		metric;

	*each = NULL;
	*n = 0;
	if (!r || !r->model || !ds || !o)
		return XD_EINVAL;
	xd_train_opts_for(&to, o, 0.0f, XD_FIT_SALT);
	if (r->blend)
		return xd_train_validate_score(xd_transfer_score, (void *) r, r->model->cfg.feedback,
									   ds, &to, &metric, n, each);
	return xd_train_validate(r->model, ds, &to, &metric, n, each);
}

xd_status
xd_transfer_repeat_decide(xd_transfer_result *r, const struct xd_cold *table,
						  const xd_dataset *ds, const xd_transfer_opts *o,
						  xd_repeat_pop_calibration *out)
{
	return xd_transfer_repeat_decide_each(r, table, ds, o, out, NULL);
}

xd_status
xd_transfer_repeat_decide_each(xd_transfer_result *r, const struct xd_cold *table,
							   const xd_dataset *ds, const xd_transfer_opts *o,
							   xd_repeat_pop_calibration *out, double **each)
{
	xd_transfer_result *fit[2];
	xd_repeat_calibration before[2];
	xd_train_opts to;
	int			n_fit;
	xd_status	st = XD_OK;

	memset(out, 0, sizeof(*out));
	if (each)
		*each = NULL;
	if (!r || !r->model || !ds || !o)
		return XD_EINVAL;
	fit[0] = r;
	fit[1] = r->blend;
	n_fit = r->blend ? 2 : 1;
	for (int i = 0; i < n_fit; i++)
		/* the domain the result owns, which no other model reads */
		if (!fit[i]->model || fit[i]->model->domain != fit[i]->domain ||
			fit[i]->model->cfg.feedback != XD_IMPLICIT || xd_model_has_repeat(fit[i]->model))
			return XD_EINVAL;
	/* the fits' own validation options: xd_fit's calibration reads the same */
	xd_train_opts_for(&to, o, 0.0f, XD_FIT_SALT);
	for (int i = 0; i < n_fit && st == XD_OK; i++)
	{
		before[i] = fit[i]->repeat;
		if ((st = xd_model_add_repeat(fit[i]->model, true)) == XD_OK)
			st = xd_repeat_calibrate(fit[i]->model, ds, &to, &fit[i]->repeat);
	}
	if (st == XD_OK)
		/* xd_repeat_auto_decide, with the terms where they are asked for */
		st = xd_repeat_pop_each(r->model, r->blend ? r->blend->model : NULL, r->blend_a,
								table, ds, &to, true, out, each);
	/* the table is the caller's: the weight off before it goes */
	for (int i = 0; i < n_fit; i++)
		xd_model_set_repeat_pop(fit[i]->model, NULL, 0.0f);
	if (st != XD_OK)
		out->term_kept = false;
	/*
	 * Not kept, or an error on the way (the term not added to a blend's
	 * second fit, a calibration or the decision failing): every fit that
	 * was given the term loses it and gets its repeat record back, so the
	 * result is the one xd_transfer returned whatever is returned. A fit
	 * has a term here only if this call added it (checked above).
	 */
	for (int i = 0; i < n_fit; i++)
	{
		xd_status	dropped;

		if (out->term_kept)
		{
			fit[i]->cfg.repeat = fit[i]->cfg.repeat_lift = true;
			continue;
		}
		if (!xd_model_has_repeat(fit[i]->model))
			continue;
		dropped = xd_model_drop_repeat(fit[i]->model, true);
		fit[i]->repeat = before[i];
		if (st == XD_OK)
			st = dropped;
	}
	if (st != XD_OK && each)
	{
		free(*each);
		*each = NULL;
	}
	return st;
}

int
xd_auto_choose(const double *const *each, int n_cand, int64_t n, double z,
			   double *gain, double *se)
{
	int			chosen = 0;

	gain[0] = 0.0;
	se[0] = 0.0;
	for (int c = 1; c < n_cand; c++)
	{
		double		mean = 0.0,
					ss = 0.0;

		for (int64_t i = 0; i < n; i++)
			mean += each[c][i] - each[0][i];
		mean = n > 0 ? mean / n : 0.0;
		for (int64_t i = 0; i < n; i++)
		{
			double		d = each[c][i] - each[0][i] - mean;

			ss += d * d;
		}
		gain[c] = mean;
		/* the standard error of a mean of n paired differences */
		se[c] = n > 1 ? sqrt(ss / (double) (n - 1) / (double) n) : INFINITY;
		if (gain[c] > z * se[c] && (chosen == 0 || gain[c] > gain[chosen]))
			chosen = c;
	}
	return chosen;
}

void
xd_transfer_result_free(xd_transfer_result *r)
{
	if (!r)
		return;
	if (r->blend)
	{
		xd_transfer_result_free(r->blend);
		free(r->blend);
	}
	/* the model borrows everything: free it first */
	xd_model_free(r->model);
	xd_adapt_free(r->adapt);
	xd_domain_free(r->domain);
	xd_shared_free(r->shared);
	free(r->loss);
	free(r->loss_data);
	free(r->metric);
	memset(r, 0, sizeof(*r));
}

xd_status
xd_transfer_score(void *arg, const xd_batch *b, float *scores)
{
	xd_transfer_result *r = (xd_transfer_result *) arg;

	if (!r->model)
		return XD_EINVAL;
	return xd_fit_score(r->model, r->blend ? r->blend->model : NULL, r->blend_a, b, scores);
}

bool
xd_auto_blends(const xd_transfer_opts *o, const xd_dataset *target, int chosen)
{
	return chosen == 0 && target->n_split[XD_SPLIT_TRAIN] >= xd_auto_small_rows(o, target);
}

xd_status
xd_blend_score(xd_model *first, xd_model *second, float a, const xd_batch *b,
			   float *scores, float *tmp)
{
	xd_status	st;

	if (!xd_blend_pair_ok(first, second, a))
		return XD_EINVAL;
	if ((st = xd_model_score(first, b, scores)) != XD_OK ||
		(st = xd_model_score(second, b, tmp)) != XD_OK)
		return st;
	xd_blend_mix(a, b->n, scores, tmp);
	return XD_OK;
}

xd_status
xd_fit_pair_score(void *arg, const xd_batch *b, float *scores)
{
	xd_fit_pair *p = arg;

	return xd_fit_score(p->first, p->second, p->a, b, scores);
}

xd_status
xd_fit_score(xd_model *first, xd_model *second, float a, const xd_batch *b, float *scores)
{
	float	   *tmp;
	xd_status	st;

	if (!second)
		return xd_model_score(first, b, scores);
	if (!(tmp = malloc(sizeof(float) * (b->n > 0 ? (size_t) b->n : 1))))
		return XD_ENOMEM;
	st = xd_blend_score(first, second, a, b, scores, tmp);
	free(tmp);
	return st;
}

xd_status
xd_blend_score_items(xd_model *first, xd_model *second, float a, int32_t user,
					 const float *c, const int32_t *items, const float *hist, int n,
					 float *scores, float *tmp)
{
	xd_status	st;

	if (!xd_blend_pair_ok(first, second, a))
		return XD_EINVAL;
	if ((st = xd_model_score_items(first, user, c, items, hist, n, scores)) != XD_OK ||
		(st = xd_model_score_items(second, user, c, items, hist, n, tmp)) != XD_OK)
		return st;
	xd_blend_mix(a, n, scores, tmp);
	return XD_OK;
}
