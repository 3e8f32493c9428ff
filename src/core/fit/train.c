/*
 * train.c - epochs, early stopping and the best-epoch snapshot (DESIGN.md
 * section 3: Adam, batch 256, patience 10, at most 100 epochs, validation on a
 * seeded subsample of at most 2,000 positives). The one training loop of the
 * core: the source model, target-only, pretraining (fixed epochs), Anneal
 * (eq. 18 on the module rate) and DRR (frozen modules, lr 0) all run it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/clock.h"
#include "xdrec/metrics.h"
#include "xdrec/sample.h"
#include "xdrec/train.h"

void
xd_train_opts_default(xd_train_opts *o, const xd_config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->max_epochs = 100;
	o->patience = 10;
	o->valid_max = 2000;
	o->lr_decay = false;
	o->search_valid_max = XD_SEARCH_VALID_MAX;
	o->search_patience_behind = XD_SEARCH_PATIENCE_BEHIND;
	o->search_margin = XD_SEARCH_MARGIN;
	for (int g = 0; g < XD_N_GROUPS; g++)
		o->lr[g] = cfg->lr;
	o->seed = cfg->seed;
	o->item_neg_weight = 0.0f;
}

float
xd_item_neg_weight(int32_t n_items)
{
	if (n_items < XD_ITEM_NEG_MIN_ITEMS)
		return 1.0f;
	return (float) n_items / (float) XD_ITEM_NEG_ITEMS_PER;
}

double
xd_anneal_lambda(int64_t batches_per_epoch, double ratio)
{
	/* eta0 exp(-lambda B) = ratio eta0  =>  lambda = -ln(ratio) / B */
	if (batches_per_epoch < 1 || !(ratio > 0.0))
		return 0.0;
	return -log(ratio) / (double) batches_per_epoch;
}

float
xd_anneal_lr(float eta0, double lambda, int64_t b)
{
	/* paper eq. 18: eta_b = eta0 exp(-lambda b) */
	return (float) ((double) eta0 * exp(-lambda * (double) b));
}

/*
 * A copy of the trainable parameters (frozen groups, lr 0, never change and
 * need none): their values only (full = false: the best epoch's snapshot),
 * or their full optimisation state, values, Adam moments and step counts
 * (full = true: a search restarts every rate from the state the model had on
 * entry, fresh, pretrained or the source's clone alike).
 */
typedef struct xd_state_copy
{
	int			n;
	bool		full;
	xd_param   *params[XD_MAX_PARAMS];
	float	   *buf[XD_MAX_PARAMS];		/* w, adam_m, adam_v */
	int64_t    *row_step[XD_MAX_PARAMS];	/* sparse only */
	int64_t		step[XD_MAX_PARAMS];
} xd_state_copy;

static void
xd_state_copy_free(xd_state_copy *s)
{
	for (int i = 0; i < s->n; i++)
	{
		free(s->buf[i]);
		free(s->row_step[i]);
	}
	s->n = 0;
}

static xd_status
xd_state_copy_init(xd_state_copy *s, xd_model *model, const float lr[XD_N_GROUPS], bool full)
{
	xd_param  **params;
	int			n;
	int			arrays = full ? 3 : 1;

	memset(s, 0, sizeof(*s));
	s->full = full;
	xd_model_params(model, &params, &n);
	for (int i = 0; i < n; i++)
	{
		size_t		len = (size_t) params[i]->rows * (size_t) params[i]->cols;

		if (lr[params[i]->group] == 0.0f)
			continue;
		s->params[s->n] = params[i];
		s->buf[s->n] = malloc(sizeof(float) * arrays * (len ? len : 1));
		if (full && params[i]->sparse)
			s->row_step[s->n] = malloc(sizeof(int64_t) * (params[i]->rows ? params[i]->rows : 1));
		s->n++;
		if (!s->buf[s->n - 1] || (full && params[i]->sparse && !s->row_step[s->n - 1]))
		{
			xd_state_copy_free(s);
			return XD_ENOMEM;
		}
	}
	return XD_OK;
}

static void
xd_state_copy_move(xd_state_copy *s, bool save)
{
	for (int i = 0; i < s->n; i++)
	{
		xd_param   *p = s->params[i];
		size_t		len = (size_t) p->rows * (size_t) p->cols;
		float	   *arrays[3] = {p->w, p->adam_m, p->adam_v};

		for (int a = 0; a < (s->full ? 3 : 1); a++)
		{
			if (save)
				memcpy(s->buf[i] + a * len, arrays[a], sizeof(float) * len);
			else
				memcpy(arrays[a], s->buf[i] + a * len, sizeof(float) * len);
		}
		if (!s->full)
			continue;
		if (save)
			s->step[i] = p->step;
		else
			p->step = s->step[i];
		if (p->sparse && save)
			memcpy(s->row_step[i], p->row_step, sizeof(int64_t) * p->rows);
		else if (p->sparse)
			memcpy(p->row_step, s->row_step[i], sizeof(int64_t) * p->rows);
	}
}

size_t
xd_train_cache_bytes(const xd_dataset *ds, const xd_config *cfg, int64_t valid_max,
					 bool frozen_shared)
{
	xd_eval_opts eo;
	int64_t		rows = ds->n_split[XD_SPLIT_VALID];
	size_t		bytes = 0;

	xd_eval_opts_default(&eo);
	eo.max_positives = valid_max;
	if (valid_max > 0 && rows > valid_max)
		rows = valid_max;
	if (cfg->feedback == XD_IMPLICIT)
	{
		bytes += xd_eval_set_bytes(ds, XD_SPLIT_VALID, &eo);
		/* a search's fits stop on a part of those (xd_train_search), kept too */
		if (ds->n_split[XD_SPLIT_VALID] > XD_SEARCH_VALID_MAX &&
			(valid_max == 0 || valid_max > XD_SEARCH_VALID_MAX))
		{
			eo.max_positives = XD_SEARCH_VALID_MAX;
			bytes += xd_eval_set_bytes(ds, XD_SPLIT_VALID, &eo);
		}
		rows *= 1 + eo.n_item_neg + eo.n_ctx_neg;
	}
	if (frozen_shared && cfg->n_ctx_layers >= 1)
		bytes += sizeof(float) * 3 * (size_t) cfg->m *
			(size_t) (rows < XD_VALCACHE_MAX_ROWS ? rows : XD_VALCACHE_MAX_ROWS);
	return bytes;
}

/*
 * xd_train_validate; valset (may be NULL): the validation candidates kept
 * from the first validation for every later one (xd_eval_opts.reuse).
 */
static xd_status
xd_validate_fn(xd_score_fn fn, void *arg, xd_feedback feedback, const xd_dataset *ds,
			   const xd_train_opts *o, xd_eval_set **valset, double *metric, int64_t *n,
			   double **each)
{
	xd_eval_opts eo;
	xd_status	st;

	xd_eval_opts_default(&eo);
	/* the same subsample and negatives every epoch, so epochs compare fairly */
	eo.seed = o->seed ^ 0x76616c6964ULL;
	eo.max_positives = o->valid_max;
	eo.hooks = o->hooks;
	eo.each = each;
	if (feedback == XD_IMPLICIT)
	{
		xd_rank_metrics rm;

		eo.reuse = valset;
		st = xd_eval_sampled(ds, XD_SPLIT_VALID, &eo, fn, arg, &rm);
		*metric = rm.mrr;
		*n = rm.n;
	}
	else
	{
		xd_rating_metrics rt;

		st = xd_eval_ratings(ds, XD_SPLIT_VALID, &eo, fn, arg, &rt);
		*metric = -rt.rmse;
		*n = rt.n;
		/* larger is better, like the metric */
		for (int64_t i = 0; each && *each && i < rt.n; i++)
			(*each)[i] = -(*each)[i];
	}
	return st;
}

static xd_status
xd_validate(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
			xd_eval_set **valset, double *metric, int64_t *n, double **each)
{
	return xd_validate_fn(xd_model_score, model, model->cfg.feedback, ds, o, valset,
						  metric, n, each);
}

xd_status
xd_train_validate(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
				  double *metric, int64_t *n, double **each)
{
	return xd_validate(model, ds, o, NULL, metric, n, each);
}

xd_status
xd_train_validate_score(xd_score_fn fn, void *arg, xd_feedback feedback,
						const xd_dataset *ds, const xd_train_opts *o,
						double *metric, int64_t *n, double **each)
{
	return xd_validate_fn(fn, arg, feedback, ds, o, NULL, metric, n, each);
}

/*
 * Whether an improved epoch's metric (larger is better) restarts patience:
 * any gain without a margin, else one beyond margin times the metric of the
 * last epoch that restarted it (the anchor; -INFINITY: none yet).
 */
static bool
xd_beats_anchor(double metric, double anchor, double margin)
{
	return margin <= 0.0 || anchor == -INFINITY || metric > anchor + margin * fabs(anchor);
}

/*
 * xd_train; valset: the validation candidates of o->seed, drawn by the first
 * validation and scored again by every later one, of this fit and of the
 * search's other fits (the same rows: the same metrics bit for bit).
 * margin > 0: an improved epoch restarts patience only when it beats the
 * anchor by that share (xd_beats_anchor); the best epoch is kept all the
 * same. A search's fits on a part of 500 positives take small late gains that
 * a whole subsample would not show, which kept them going (docs/training.md,
 * "Speed").
 */
static xd_status
xd_train_fit(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
			 xd_eval_set **valset, double behind, int patience_behind,
			 double margin, xd_train_result *res)
{
	xd_batch	batch = {0};
	xd_state_copy snap = {0};	/* the best epoch's values */
	xd_valcache vc = {0};
	int64_t    *rows = NULL;
	int64_t		n_rows = 0;
	int64_t		step = 0;
	xd_rng		rng;
	xd_status	st;
	double		t0 = xd_clock_seconds();
	double		best = -INFINITY;
	double		lambda = 0.0;
	double		anchor = -INFINITY;	/* the last epoch restarting patience */
	int			since_best = 0;
	int			bs = model->cfg.batch_size;
	bool		implicit = model->cfg.feedback == XD_IMPLICIT;
	float		neg_w = o->item_neg_weight > 0.0f ? o->item_neg_weight :
		xd_item_neg_weight(ds->n_items);

	memset(res, 0, sizeof(*res));
	if (!implicit)
		neg_w = 1.0f;
	res->item_neg_weight = neg_w;
	if (o->max_epochs < 1 || (!o->fixed_epochs && o->patience < 1) ||
		o->valid_max < 0 || !(o->anneal_ratio >= 0.0) ||
		!(o->item_neg_weight >= 0.0f && isfinite(o->item_neg_weight)) ||
		model->cfg.m != ds->enc.schema.m ||
		(model->cfg.feedback == XD_EXPLICIT) != (ds->has_ratings != 0))
		return XD_EINVAL;

	if ((st = xd_train_rows(ds, &rows, &n_rows)) != XD_OK)
		return st;
	if ((st = xd_batch_init(&batch, xd_model_max_rows(model), model->cfg.m)) != XD_OK ||
		(!o->fixed_epochs && (st = xd_state_copy_init(&snap, model, o->lr, false)) != XD_OK))
		goto done;
	/*
	 * a model without a trained repeat term (none, or a lift set after the
	 * fit: rank.c) reads no g(h_ui): sampling skips the lookups (batch.h)
	 */
	if (!xd_model_has_repeat(model) || model->cfg.repeat_lift)
	{
		free(batch.hist);
		batch.hist = NULL;
	}
	if (o->anneal_ratio > 0.0)
		lambda = xd_anneal_lambda((n_rows + bs - 1) / bs, o->anneal_ratio);

	xd_rng_seed(&rng, o->seed);
	res->n_train = n_rows;
	xd_model_zero_grad(model);

	for (int epoch = 1; epoch <= o->max_epochs; epoch++)
	{
		double		loss_sum = 0.0;
		double		extra_sum = 0.0;
		int64_t		n_batches = 0;
		double		metric = NAN;
		int64_t		n_valid;
		xd_epoch_report rep;
		double		tc = xd_clock_seconds();	/* the phases' clock */

		xd_shuffle_rows(rows, n_rows, &rng);
		for (int64_t start = 0; start < n_rows; start += bs)
		{
			int			n_pos = (int) (n_rows - start < bs ? n_rows - start : bs);
			float		lr[XD_N_GROUPS];
			double		loss,
						ts,
						tb;

			if (xd_hooks_stopped(&o->hooks))
			{
				st = XD_ECANCELLED;
				goto done;
			}
			memcpy(lr, o->lr, sizeof(lr));
			/* Anneal (eq. 18): modules at eta0 exp(-lambda b), embeddings at eta0 */
			if (lambda > 0.0)
				lr[XD_GROUP_SHARED] = xd_anneal_lr(o->lr[XD_GROUP_SHARED], lambda, step);
			if ((st = xd_sample_batch(ds, rows + start, n_pos, &rng, &batch)) != XD_OK)
				goto done;
			ts = xd_clock_seconds();
			res->sample_seconds += ts - tc;
			if (o->weigh && (st = o->weigh(o->weigh_arg, model, &batch, step)) != XD_OK)
				goto done;
			/* the item negatives [n_pos, 2 n_pos) weigh neg_w (batch.h) */
			for (int i = 0; implicit && neg_w != 1.0f && i < batch.n_pos; i++)
				batch.weights[batch.n_pos + i] *= neg_w;
			if ((st = xd_model_loss_backward(model, &batch, &rng, true, &loss)) != XD_OK)
				goto done;
			tb = xd_clock_seconds();
			res->step_seconds += tb - ts;
			if ((st = xd_adam_step(model, lr)) != XD_OK)
				goto done;
			tc = xd_clock_seconds();
			res->adam_seconds += tc - tb;
			loss_sum += loss;
			extra_sum += model->ws->last_extra;
			n_batches++;
			step++;
		}

		memset(&rep, 0, sizeof(rep));
		rep.epoch = epoch;
		rep.loss = loss_sum / (double) n_batches;
		rep.loss_data = (loss_sum - extra_sum) / (double) n_batches;
		rep.lr = o->lr[XD_GROUP_DOMAIN];
		if (!o->fixed_epochs)
		{
			/* frozen M1: x^0, x^1 of the validation rows once per fit (model_int.h) */
			xd_valcache_begin(&vc, model);
			st = xd_validate(model, ds, o, valset, &metric, &n_valid, NULL);
			xd_valcache_end(&vc, model, st == XD_OK);
			res->valid_seconds += xd_clock_seconds() - tc;
			if (st != XD_OK)
				goto done;
			res->n_valid = n_valid;
			if (n_valid == 0)
			{
				/* nothing to validate on (a tiny domain): the training loss decides */
				res->metric_is_loss = true;
				metric = -rep.loss;
			}
			/* the epochs before first_kept_epoch (at most the last) are not kept */
			rep.improved = epoch >= (o->first_kept_epoch < o->max_epochs ?
									 o->first_kept_epoch : o->max_epochs) && metric > best;
			if (rep.improved)
			{
				best = metric;
				res->best_epoch = epoch;
				xd_state_copy_move(&snap, true);
			}
			if (rep.improved && xd_beats_anchor(metric, anchor, margin))
			{
				anchor = metric;
				since_best = 0;
			}
			else if (epoch >= o->first_kept_epoch)
				since_best++;
		}
		res->epochs = epoch;
		res->seconds = xd_clock_seconds() - t0;
		res->positives_per_sec = (double) n_rows * epoch / res->seconds;

		/* report what a user reads: MRR, or RMSE / loss as positive numbers */
		rep.metric_is_loss = res->metric_is_loss;
		rep.metric = (implicit && !res->metric_is_loss) ? metric : -metric;
		rep.best_epoch = res->best_epoch;
		rep.best_metric = o->fixed_epochs ? NAN :
			((implicit && !res->metric_is_loss) ? best : -best);
		rep.seconds = res->seconds;
		rep.positives_per_sec = res->positives_per_sec;
		rep.eta_seconds = res->seconds / epoch * (o->max_epochs - epoch);
		xd_hooks_report(&o->hooks, &rep);

		if (!o->fixed_epochs &&
			(since_best >= o->patience ||
			 (best < behind && since_best >= patience_behind)))
			break;
	}

	if (o->fixed_epochs)
		res->best_metric = NAN;
	else
	{
		xd_state_copy_move(&snap, false);
		res->best_metric = (implicit && !res->metric_is_loss) ? best : -best;
	}
	st = XD_OK;

done:
	xd_valcache_release(&vc, model);
	xd_state_copy_free(&snap);
	xd_batch_free(&batch);
	free(rows);
	return st;
}

xd_status
xd_train(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
		 xd_train_result *res)
{
	xd_eval_set *valset = NULL;
	xd_status	st = xd_train_fit(model, ds, o, &valset, -INFINITY, 0, 0.0, res);

	xd_eval_set_free(valset);
	return st;
}

/* ------------------------------------------------------- learning-rate search */

/* DESIGN's 1e-3, then 3x and 10x (what real small targets want), then around */
const float xd_lr_ladder[XD_LR_SEARCH_MAX] = {1.0f, 3.0f, 10.0f, 0.3f, 30.0f};

/* A search's progress: epochs numbered on across its rates (a job's rows are keyed by them). */
typedef struct xd_search_progress
{
	xd_hooks	outer;			/* the caller's */
	int			offset;
} xd_search_progress;

static void
xd_search_epoch(void *arg, const xd_epoch_report *rep)
{
	xd_search_progress *sp = (xd_search_progress *) arg;
	xd_epoch_report numbered = *rep;

	numbered.epoch += sp->offset;
	numbered.best_epoch += numbered.best_epoch > 0 ? sp->offset : 0;
	xd_hooks_report(&sp->outer, &numbered);
}

/* larger is better: MRR, or minus RMSE or loss */
static double
xd_train_result_score(const xd_model *model, const xd_train_result *r)
{
	bool		higher = model->cfg.feedback == XD_IMPLICIT && !r->metric_is_loss;

	return isnan(r->best_metric) ? -INFINITY : (higher ? r->best_metric : -r->best_metric);
}

/*
 * A grid fit that stopped on a part of the validation subsample: its kept
 * state validated once on the whole subsample (o->valid_max), which the fits
 * are compared on and the result reports (unless no positive of it is
 * eligible: then the fit's own metric stands).
 */
static xd_status
xd_search_revalidate(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
					 xd_eval_set **valset, xd_train_result *ri)
{
	double		t0 = xd_clock_seconds();
	double		metric;
	int64_t		n;
	xd_status	st = xd_validate(model, ds, o, valset, &metric, &n, NULL);
	double		t = xd_clock_seconds() - t0;

	ri->valid_seconds += t;
	ri->seconds += t;
	if (st != XD_OK || n == 0)
		return st;
	ri->n_valid = n;
	ri->metric_is_loss = false;
	/* as xd_train reports it: MRR, or RMSE */
	ri->best_metric = model->cfg.feedback == XD_IMPLICIT ? metric : -metric;
	return XD_OK;
}

xd_status
xd_train_search(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
				int n_rates, xd_train_result *res, xd_lr_search *search)
{
	xd_state_copy start = {0},
				best = {0};
	xd_train_result kept = {0};
	xd_search_progress sp = {o->hooks, 0};
	xd_eval_set *valset = NULL; /* every fit validates on the same rows */
	xd_eval_set *partset = NULL;	/* and stops on the same part of them */
	xd_status	st;
	double		seconds = 0.0;
	double		phase[4] = {0.0, 0.0, 0.0, 0.0};	/* every fit's, as in res */
	double		positives = 0.0;
	double		behind = -INFINITY;	/* the best part metric of the fits so far */
	int			chosen = 0;
	bool		decay = o->lr_decay;
	bool		part;
	float		scale[XD_LR_SEARCH_MAX];

	if (n_rates < 1 || n_rates > XD_LR_SEARCH_MAX || o->search_valid_max < 0 ||
		o->search_patience_behind < 0 || !(o->search_margin >= 0.0))
		return XD_EINVAL;
	if (o->fixed_epochs)
		n_rates = 1;
	if (search)
	{
		memset(search, 0, sizeof(*search));
		search->n = n_rates;
	}
	if (n_rates == 1)
	{
		st = xd_train(model, ds, o, res);
		if (search && st == XD_OK)
		{
			search->lr[0] = o->lr[XD_GROUP_DOMAIN];
			search->metric[0] = res->best_metric;
			search->epochs[0] = res->epochs;
			search->seconds[0] = res->seconds;
		}
		if (st == XD_OK && !o->fixed_epochs)
			st = xd_repeat_calibrate(model, ds, o, &res->repeat);
		return st;
	}
	/* the grid in ladder order; the decay from the largest rate down */
	memcpy(scale, xd_lr_ladder, sizeof(scale));
	for (int i = 0; decay && i < n_rates; i++)
		for (int j = i + 1; j < n_rates; j++)
			if (scale[j] > scale[i])
			{
				float		t = scale[i];

				scale[i] = scale[j];
				scale[j] = t;
			}
	if ((!decay && (st = xd_state_copy_init(&start, model, o->lr, true)) != XD_OK) ||
		(st = xd_state_copy_init(&best, model, o->lr, true)) != XD_OK)
		goto done;
	if (!decay)
		xd_state_copy_move(&start, true);

	/*
	 * the grid's fits stop on a part of the validation subsample (a smaller
	 * split is validated whole, as a single fit validates it)
	 */
	part = !decay && o->search_valid_max > 0 &&
		ds->n_split[XD_SPLIT_VALID] > o->search_valid_max &&
		(o->valid_max == 0 || o->valid_max > o->search_valid_max);
	for (int i = 0; i < n_rates; i++)
	{
		xd_train_opts oi = *o;
		xd_train_result ri;
		int			before = sp.offset;

		for (int g = 0; g < XD_N_GROUPS; g++)
			oi.lr[g] = o->lr[g] * scale[i];
		if (part)
			oi.valid_max = o->search_valid_max;
		if (o->hooks.progress)
		{
			oi.hooks.progress = xd_search_epoch;
			oi.hooks.progress_arg = &sp;
		}
		/*
		 * grid: every rate from the state on entry; decay: the next rate
		 * from the best state so far
		 */
		if (i > 0 && !decay)
			xd_state_copy_move(&start, false);
		else if (i > 0 && chosen != i - 1)
			xd_state_copy_move(&best, false);
		if ((st = xd_train_fit(model, ds, &oi, part ? &partset : &valset,
							   behind, o->search_patience_behind,
							   part ? o->search_margin : 0.0, &ri)) != XD_OK)
			goto done;
		/*
		 * a later rate's fit that stays below an earlier rate's best on the
		 * part stops after search_patience_behind epochs without improving
		 * instead of patience: on 500 positives (not on a small split, where
		 * the metric follows noise) no such fit of the bench's world passed
		 * the earlier best after a pause of 5 (docs/training.md, "Speed");
		 * above it, it runs as a single fit
		 */
		if (part && o->search_patience_behind > 0 && !ri.metric_is_loss &&
			xd_train_result_score(model, &ri) > behind)
			behind = xd_train_result_score(model, &ri);
		if (part && (st = xd_search_revalidate(model, ds, o, &valset, &ri)) != XD_OK)
			goto done;
		seconds += ri.seconds;
		phase[0] += ri.sample_seconds;
		phase[1] += ri.step_seconds;
		phase[2] += ri.adam_seconds;
		phase[3] += ri.valid_seconds;
		positives += (double) ri.n_train * ri.epochs;
		sp.offset += ri.epochs;
		if (search)
		{
			search->lr[i] = oi.lr[XD_GROUP_DOMAIN];
			search->metric[i] = ri.best_metric;
			search->epochs[i] = ri.epochs;
			search->seconds[i] = ri.seconds;
		}
		if (i == 0 || xd_train_result_score(model, &ri) > xd_train_result_score(model, &kept))
		{
			kept = ri;
			if (decay)
				kept.best_epoch += before;	/* counted across the stages */
			chosen = i;
			if (i < n_rates - 1)
				xd_state_copy_move(&best, true);
		}
	}
	/* the last fit is in the model; bring the kept one back if it was earlier */
	if (chosen < n_rates - 1)
		xd_state_copy_move(&best, false);
	*res = kept;
	if (decay)
		res->epochs = sp.offset;	/* one fit: every stage's epochs */
	res->seconds = seconds;
	res->sample_seconds = phase[0];
	res->step_seconds = phase[1];
	res->adam_seconds = phase[2];
	res->valid_seconds = phase[3];
	res->positives_per_sec = seconds > 0.0 ? positives / seconds : 0.0;
	if (search)
		search->chosen = chosen;
	st = xd_repeat_calibrate(model, ds, o, &res->repeat);
done:
	xd_eval_set_free(valset);
	xd_eval_set_free(partset);
	xd_state_copy_free(&start);
	xd_state_copy_free(&best);
	return st;
}
