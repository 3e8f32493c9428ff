/*
 * transfer.c - one-to-many transfer (DESIGN.md section 4, paper section 5):
 * the target-only baseline, pretraining and the swap, Direct, Anneal (eq. 18),
 * DRR (eq. 19, 22) and auto, with early stopping on the validation metric
 * (DESIGN.md section 3) and a per-epoch history for the Figure-3 plot.
 *
 * One epoch loop serves every method, so that their times compare fairly:
 * per-group learning rates (0 freezes a group), an optional annealing of the
 * module rate per batch, and the best-epoch snapshot of train.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_int.h"
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
	o->valid_max = 2000;
	o->lr = 0.0f;
	o->anneal_ratio = 1e-3;
	o->seed = 42;
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

static double
xd_tr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* ---------------------------------------------------------------- history */

static xd_status
xd_history_add(xd_transfer_result *r, double loss, double loss_data, double metric)
{
	int			n = r->n_history + 1;
	double	   *a = realloc(r->loss, sizeof(double) * n);

	if (!a)
		return XD_ENOMEM;
	r->loss = a;
	if (!(a = realloc(r->loss_data, sizeof(double) * n)))
		return XD_ENOMEM;
	r->loss_data = a;
	if (!(a = realloc(r->metric, sizeof(double) * n)))
		return XD_ENOMEM;
	r->metric = a;
	r->loss[n - 1] = loss;
	r->loss_data[n - 1] = loss_data;
	r->metric[n - 1] = metric;
	r->n_history = n;
	return XD_OK;
}

/* ---------------------------------------------------------------- the loop */

typedef struct xd_fit_opts
{
	int			max_epochs;
	int			patience;		/* 0: no validation, run max_epochs (pretraining) */
	int64_t		valid_max;
	float		lr[XD_N_GROUPS];
	double		anneal_ratio;	/* > 0: the shared group's lr follows eq. 18 */
	uint64_t	seed;
	xd_stop_fn	stop;
	void	   *stop_arg;
	xd_progress_fn progress;
	void	   *progress_arg;
} xd_fit_opts;

typedef struct xd_fit_out
{
	int			epochs;
	int			best_epoch;
	double		best_metric;	/* larger is better: MRR, or -RMSE */
} xd_fit_out;

/* The validation metric, larger is better (train.c's, same subsample and seed). */
static xd_status
xd_fit_validate(xd_model *model, const xd_dataset *ds, const xd_fit_opts *fo,
				double *metric)
{
	xd_eval_opts eo;
	xd_status	st;

	xd_eval_opts_default(&eo);
	eo.seed = fo->seed ^ 0x76616c6964ULL;
	eo.max_positives = fo->valid_max;
	eo.stop = fo->stop;
	eo.stop_arg = fo->stop_arg;
	if (model->cfg.feedback == XD_IMPLICIT)
	{
		xd_rank_metrics rm;

		st = xd_eval_sampled(ds, XD_SPLIT_VALID, &eo, xd_model_score, model, &rm);
		*metric = rm.n > 0 ? rm.mrr : NAN;
	}
	else
	{
		xd_rating_metrics rt;

		st = xd_eval_ratings(ds, XD_SPLIT_VALID, &eo, xd_model_score, model, &rt);
		*metric = rt.n > 0 ? -rt.rmse : NAN;
	}
	return st;
}

/* Copies of the trainable tensors at the best epoch. */
typedef struct xd_fit_snap
{
	int			n;
	xd_param   *params[XD_MAX_PARAMS];
	float	   *values[XD_MAX_PARAMS];
} xd_fit_snap;

static void
xd_fit_snap_free(xd_fit_snap *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->values[i]);
	s->n = 0;
}

static xd_status
xd_fit_snap_init(xd_fit_snap *s, xd_model *model, const float lr[XD_N_GROUPS])
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < model->n_params; i++)
	{
		xd_param   *p = model->params[i];
		size_t		len = (size_t) p->rows * p->cols;

		if (lr[p->group] == 0.0f)
			continue;			/* frozen: never changes */
		s->params[s->n] = p;
		if (!(s->values[s->n] = malloc(sizeof(float) * (len ? len : 1))))
		{
			xd_fit_snap_free(s);
			return XD_ENOMEM;
		}
		s->n++;
	}
	return XD_OK;
}

static void
xd_fit_snap_copy(xd_fit_snap *s, bool save)
{
	for (int i = 0; i < s->n; i++)
	{
		xd_param   *p = s->params[i];
		size_t		bytes = sizeof(float) * (size_t) p->rows * p->cols;

		if (save)
			memcpy(s->values[i], p->w, bytes);
		else
			memcpy(p->w, s->values[i], bytes);
	}
}

/*
 * Epochs over T's training split (seeded shuffles and negatives, Adam with
 * per-group rates; DESIGN.md section 3). With patience > 0: early stopping on
 * validation, the model left at its best epoch. Appends to res's history.
 */
static xd_status
xd_fit(xd_model *model, const xd_dataset *ds, const xd_fit_opts *fo,
	   xd_transfer_result *res, xd_fit_out *out)
{
	xd_batch	batch = {0};
	xd_fit_snap snap = {0};
	int64_t    *rows = NULL;
	int64_t		n_rows = 0;
	int64_t		step = 0;
	xd_rng		rng;
	xd_status	st;
	double		best = -INFINITY;
	int			since_best = 0;
	int			bs = model->cfg.batch_size;
	double		lambda = 0.0;
	bool		validate = fo->patience > 0;
	double		t0 = xd_tr_now();

	memset(out, 0, sizeof(*out));
	out->best_metric = NAN;
	if ((st = xd_train_rows(ds, &rows, &n_rows)) != XD_OK)
		return st;
	if ((st = xd_batch_init(&batch, xd_model_max_rows(model), model->cfg.m)) != XD_OK ||
		(validate && (st = xd_fit_snap_init(&snap, model, fo->lr)) != XD_OK))
		goto done;
	if (fo->anneal_ratio > 0.0)
		lambda = xd_anneal_lambda((n_rows + bs - 1) / bs, fo->anneal_ratio);
	xd_rng_seed(&rng, fo->seed);
	xd_model_zero_grad(model);

	for (int epoch = 1; epoch <= fo->max_epochs; epoch++)
	{
		double		loss_sum = 0.0;
		double		kl_sum = 0.0;
		int64_t		n_batches = 0;
		double		metric = NAN;
		double		score;

		xd_shuffle_rows(rows, n_rows, &rng);
		for (int64_t start = 0; start < n_rows; start += bs)
		{
			int			n_pos = (int) (n_rows - start < bs ? n_rows - start : bs);
			float		lr[XD_N_GROUPS];
			double		loss;

			if (fo->stop && fo->stop(fo->stop_arg))
			{
				st = XD_ECANCELLED;
				goto done;
			}
			memcpy(lr, fo->lr, sizeof(lr));
			/* Anneal (eq. 18): modules at eta0 exp(-lambda b), embeddings at eta0 */
			if (lambda > 0.0)
				lr[XD_GROUP_SHARED] = xd_anneal_lr(fo->lr[XD_GROUP_SHARED], lambda, step);
			if ((st = xd_sample_batch(ds, rows + start, n_pos, &rng, &batch)) != XD_OK ||
				(st = xd_model_loss_backward(model, &batch, &rng, true, &loss)) != XD_OK ||
				(st = xd_adam_step(model, lr)) != XD_OK)
				goto done;
			loss_sum += loss;
			kl_sum += model->ws->last_kl;
			n_batches++;
			step++;
		}
		if (validate)
		{
			if ((st = xd_fit_validate(model, ds, fo, &metric)) != XD_OK)
				goto done;
			/* no validation positive (a tiny domain): the training loss decides */
			score = isnan(metric) ? -loss_sum / n_batches : metric;
			if (score > best)
			{
				best = score;
				out->best_epoch = epoch;
				out->best_metric = metric;
				since_best = 0;
				xd_fit_snap_copy(&snap, true);
			}
			else
				since_best++;
		}
		out->epochs = epoch;
		if ((st = xd_history_add(res, loss_sum / n_batches,
								 (loss_sum - kl_sum) / n_batches,
								 model->cfg.feedback == XD_EXPLICIT ? -metric : metric)) != XD_OK)
			goto done;
		if (fo->progress)
		{
			double		seconds = xd_tr_now() - t0;
			xd_epoch_report rep = {
				.epoch = res->n_history,
				.loss = loss_sum / n_batches,
				.metric = model->cfg.feedback == XD_EXPLICIT ? -metric : metric,
				.improved = out->best_epoch == epoch,
				.best_epoch = out->best_epoch,
				.best_metric = out->best_metric,
				.seconds = seconds,
				.positives_per_sec = seconds > 0.0 ? (double) n_rows * epoch / seconds : 0.0,
				.eta_seconds = seconds / epoch * (fo->max_epochs - epoch),
			};

			fo->progress(fo->progress_arg, &rep);
		}
		if (validate && since_best >= fo->patience)
			break;
	}
	if (validate && out->best_epoch > 0)
		xd_fit_snap_copy(&snap, false);
	st = XD_OK;
done:
	xd_fit_snap_free(&snap);
	xd_batch_free(&batch);
	free(rows);
	return st;
}

/* ---------------------------------------------------------------- pieces */

static void
xd_fit_opts_for(xd_fit_opts *fo, const xd_transfer_opts *o, float eta0,
				uint64_t salt)
{
	memset(fo, 0, sizeof(*fo));
	fo->max_epochs = o->max_epochs;
	fo->patience = o->patience;
	fo->valid_max = o->valid_max;
	for (int g = 0; g < XD_N_GROUPS; g++)
		fo->lr[g] = eta0;
	fo->anneal_ratio = 0.0;
	fo->seed = o->seed ^ salt;
	fo->stop = o->stop;
	fo->stop_arg = o->stop_arg;
	fo->progress = o->progress;
	fo->progress_arg = o->progress_arg;
}

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
	double		t0 = xd_tr_now();

	*out = NULL;
	xd_rng_seed(&rng, o->seed);
	if ((st = xd_domain_new(cfg, ds->n_users, ds->n_items, &dom)) != XD_OK)
		return st;
	if (o->pretrain_epochs > 0)
	{
		xd_fit_opts fo;
		xd_fit_out fout;

		if ((st = xd_shared_new(cfg, &sh)) != XD_OK)
			goto fail;
		xd_shared_init(sh, &rng);
		xd_domain_init(dom, &rng, (float) ds->rating_mean);
		if ((st = xd_model_new(cfg, sh, dom, true, false, &model)) != XD_OK)
		{
			sh = NULL;			/* the model freed it */
			goto fail;
		}
		xd_fit_opts_for(&fo, o, eta0, 0x707265ULL);
		fo.max_epochs = o->pretrain_epochs;
		fo.patience = 0;		/* exactly pretrain_epochs, no validation */
		if ((st = xd_fit(model, ds, &fo, res, &fout)) != XD_OK)
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
	}
	res->pretrain_seconds += xd_tr_now() - t0;
	*out = dom;
	return XD_OK;
fail:
	xd_model_free(model);
	xd_domain_free(dom);
	return st;
}

static xd_status
xd_valid_metric(xd_model *model, const xd_dataset *ds, const xd_transfer_opts *o,
				double *metric)
{
	xd_fit_opts fo;
	xd_status	st;

	xd_fit_opts_for(&fo, o, 0.0f, 0x747261696eULL);
	st = xd_fit_validate(model, ds, &fo, metric);
	return st;
}

/* One method other than auto, from a (pretrained) domain the result takes over. */
static xd_status
xd_run_method(xd_transfer_method method, const xd_shared *source,
			  const xd_encoders *enc, const xd_dataset *ds,
			  const xd_transfer_opts *o, float eta0, float lambda_kl,
			  xd_domain *dom, xd_transfer_result *res)
{
	const xd_config *cfg = &res->cfg;
	xd_fit_opts fo;
	xd_fit_out	fout;
	xd_status	st;

	res->method = method;
	res->domain = dom;
	/* every training fit uses the same salt, so methods see the same batches */
	xd_fit_opts_for(&fo, o, eta0, 0x747261696eULL);

	if (method == XD_TRANSFER_TARGET_ONLY)
	{
		xd_rng		rng;

		/* the full model on T alone, from scratch, to convergence */
		xd_rng_seed(&rng, o->seed);
		if ((st = xd_shared_new(cfg, &res->shared)) != XD_OK)
			return st;
		xd_shared_init(res->shared, &rng);
		xd_domain_init(dom, &rng, (float) ds->rating_mean);
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
		fo.anneal_ratio = o->anneal_ratio;
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
		fo.lr[XD_GROUP_SHARED] = 0.0f;
		if (method == XD_TRANSFER_DRR)
		{
			if ((st = xd_adapt_new(cfg, &res->adapt)) != XD_OK)
				return st;
			res->adapt->enc = enc;
			res->adapt->lambda_kl = enc ? lambda_kl : 0.0f;
			res->lambda_kl = res->adapt->lambda_kl;
			if ((st = xd_model_set_adapt(res->model, res->adapt)) != XD_OK)
				return st;
		}
	}

	if (method == XD_TRANSFER_DIRECT)
	{
		res->epochs = 0;
		res->best_epoch = 0;
		if ((st = xd_valid_metric(res->model, ds, o, &res->best_metric)) != XD_OK)
			return st;
		if (cfg->feedback == XD_EXPLICIT)
			res->best_metric = -res->best_metric;
		return XD_OK;
	}
	if ((st = xd_fit(res->model, ds, &fo, res, &fout)) != XD_OK)
		return st;
	res->epochs = fout.epochs;
	res->best_epoch = fout.best_epoch;
	res->best_metric = cfg->feedback == XD_EXPLICIT ? -fout.best_metric : fout.best_metric;
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
				const xd_encoders *enc, const xd_dataset *ds,
				const xd_transfer_opts *o, float eta0, xd_transfer_result *res)
{
	xd_domain  *dom = NULL;
	xd_status	st;
	double		t0 = xd_tr_now();

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
			if ((st = xd_domain_clone(&res->cfg, pre, &dom)) == XD_OK)
			{
				/* the candidate starts with the pretraining's history */
				for (int h = 0; h < res->n_history && st == XD_OK; h++)
					st = xd_history_add(&cand, res->loss[h], res->loss_data[h],
										res->metric[h]);
				cand.n_pretrain = res->n_pretrain;
				cand.pretrain_seconds = res->pretrain_seconds;
				if (st == XD_OK)
					st = xd_run_method(method, source, enc, ds, o, eta0, grid[i],
									   dom, &cand);
				else
					xd_domain_free(dom);
			}
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
		xd_result_move(res, &best);
	}
	else
	{
		if ((st = xd_pretrain(&res->cfg, ds, o, eta0, res, &dom)) != XD_OK)
			return st;
		st = xd_run_method(method, source, enc, ds, o, eta0, o->lambda_kl, dom, res);
	}
	res->seconds = xd_tr_now() - t0;
	return st;
}

xd_status
xd_transfer(const xd_shared *source, const xd_encoders *enc,
			const xd_dataset *target, const xd_transfer_opts *o,
			xd_transfer_result *out)
{
	xd_status	st;
	float		eta0;

	memset(out, 0, sizeof(*out));
	if (!source || !target || !o || o->method < 0 || o->method >= XD_N_TRANSFER ||
		o->pretrain_epochs < 0 || o->max_epochs < 1 || o->patience < 1 ||
		o->valid_max < 0 || !(o->lr >= 0.0f) || !(o->anneal_ratio > 0.0) ||
		!(o->lambda_kl >= 0.0f) || !isfinite(o->lambda_kl))
		return XD_EINVAL;
	out->requested = o->method;
	out->cfg = source->cfg;
	out->cfg.seed = o->seed;
	if ((st = xd_check_target(&out->cfg, target)) != XD_OK)
		return st;
	eta0 = o->lr > 0.0f ? o->lr : source->cfg.lr;

	if (o->method != XD_TRANSFER_AUTO)
		return xd_transfer_one(o->method, source, enc, target, o, eta0, out);

	/* auto: target-only, Anneal, DRR; keep the best on validation */
	{
		static const xd_transfer_method cands[3] =
		{XD_TRANSFER_TARGET_ONLY, XD_TRANSFER_ANNEAL, XD_TRANSFER_DRR};
		xd_transfer_result best;
		double		metric[3];
		double		secs[3];
		double		total = 0.0;

		memset(&best, 0, sizeof(best));
		for (int i = 0; i < 3; i++)
		{
			xd_transfer_result cand;

			memset(&cand, 0, sizeof(cand));
			cand.requested = XD_TRANSFER_AUTO;
			cand.cfg = out->cfg;
			st = xd_transfer_one(cands[i], source, enc, target, o, eta0, &cand);
			if (st != XD_OK)
			{
				xd_transfer_result_free(&cand);
				xd_transfer_result_free(&best);
				return st;
			}
			metric[i] = cand.best_metric;
			secs[i] = cand.seconds;
			total += cand.seconds;
			if (best.model == NULL || xd_result_score(&cand) > xd_result_score(&best))
				xd_result_move(&best, &cand);
			xd_transfer_result_free(&cand);
		}
		xd_result_move(out, &best);
		out->requested = XD_TRANSFER_AUTO;
		out->seconds = total;
		for (int i = 0; i < 3; i++)
		{
			out->auto_metric[i] = metric[i];
			out->auto_seconds[i] = secs[i];
		}
	}
	return XD_OK;
}

xd_status
xd_transfer_train_source(const xd_config *cfg, const xd_dataset *src,
						 const xd_transfer_opts *o, xd_transfer_result *out)
{
	xd_domain  *dom = NULL;
	xd_status	st;
	double		t0 = xd_tr_now();

	memset(out, 0, sizeof(*out));
	if (!cfg || !src || !o || o->max_epochs < 1 || o->patience < 1 ||
		o->valid_max < 0 || !(o->lr >= 0.0f) || xd_config_check(cfg) != XD_OK)
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
	out->seconds = xd_tr_now() - t0;
	return st;
}

void
xd_transfer_result_free(xd_transfer_result *r)
{
	if (!r)
		return;
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
	return xd_model_score(r->model, b, scores);
}
