/*
 * optim.c - Adam with per-group learning rates and lazy per-row updates of the
 * embedding tables (DESIGN.md section 3, optimiser).
 */
#include <math.h>
#include <stdlib.h>

#include "model_int.h"

/*
 * Adam's bias corrections c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t) by step
 * count t, kept in the model's workspace. An embedding row has its own t, and
 * the rows of one step have all sorts of counts, so the corrections were two
 * pow() per row (1.3% of training); now they are computed once per t, by the
 * same expression, so every value is the one pow() gave. From the step
 * sat on, both are 1 exactly: there b^t < 2^-26 for both betas, so
 * 1 - b^t rounds to 1.0f, and b^t only falls as t grows. Steps beyond
 * XD_ADAM_TABLE_MAX without saturation (betas very close to 1) call pow().
 */
#define XD_ADAM_TABLE_MAX ((int64_t) 1 << 16)	/* 512 kB at most */

typedef struct xd_adam_table
{
	float		b1,
				b2;				/* the betas of the entries */
	int64_t		n;				/* entries for t = 1..n: c[2 (t - 1)], c[2 (t - 1) + 1] */
	int64_t		sat;			/* > 0: from this t on, c1 = c2 = 1 */
	float	   *c;
} xd_adam_table;

void
xd_adam_table_free(xd_adam_table *tb)
{
	if (!tb)
		return;
	free(tb->c);
	free(tb);
}

static void
xd_adam_corrections(float b1, float b2, int64_t t, float *c1, float *c2)
{
	*c1 = 1.0f / (float) (1.0 - pow((double) b1, (double) t));
	*c2 = 1.0f / (float) (1.0 - pow((double) b2, (double) t));
}

/* Extends tb's entries to cover t (at most to XD_ADAM_TABLE_MAX); false: no memory. */
static bool
xd_adam_table_grow(xd_adam_table *tb, int64_t t)
{
	const double below = 1.0 / (double) (1 << 26);
	int64_t		want = tb->n * 2 > t ? tb->n * 2 : t;
	float	   *c;

	if (want < 1024)
		want = 1024;
	if (want > XD_ADAM_TABLE_MAX)
		want = XD_ADAM_TABLE_MAX;
	c = realloc(tb->c, sizeof(float) * 2 * (size_t) want);
	if (!c)
		return false;
	tb->c = c;
	while (tb->n < want)
	{
		int64_t		u = ++tb->n;

		xd_adam_corrections(tb->b1, tb->b2, u, &c[2 * (u - 1)], &c[2 * (u - 1) + 1]);
		if (c[2 * (u - 1)] == 1.0f && c[2 * (u - 1) + 1] == 1.0f &&
			pow((double) tb->b1, (double) u) < below &&
			pow((double) tb->b2, (double) u) < below)
		{
			tb->sat = u;
			break;
		}
	}
	return true;
}

/* c1, c2 of step t for model's betas, from its table when it has one */
static void
xd_adam_coef_at(xd_model *model, xd_adam_coef *coef, int64_t t)
{
	xd_adam_table *tb = model ? model->ws->adam : NULL;

	if (model && (!tb || tb->b1 != coef->b1 || tb->b2 != coef->b2))
	{
		/* first use, or betas changed since the entries were computed */
		if (!tb && !(tb = model->ws->adam = calloc(1, sizeof(*tb))))
			model = NULL;
		else
		{
			tb->b1 = coef->b1;
			tb->b2 = coef->b2;
			tb->n = tb->sat = 0;
		}
	}
	if (model && tb->sat > 0 && t >= tb->sat)
	{
		coef->c1 = coef->c2 = 1.0f;
		return;
	}
	if (model && t >= 1 && t <= XD_ADAM_TABLE_MAX &&
		(t <= tb->n || xd_adam_table_grow(tb, t)))
	{
		if (tb->sat > 0 && t >= tb->sat)
			coef->c1 = coef->c2 = 1.0f;
		else
		{
			coef->c1 = tb->c[2 * (t - 1)];
			coef->c2 = tb->c[2 * (t - 1) + 1];
		}
		return;
	}
	xd_adam_corrections(coef->b1, coef->b2, t, &coef->c1, &coef->c2);
}

/*
 * One Adam update of n values with step count t (already incremented):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), then g = 0, on
 * the widest vectors the CPU has (activation.h: the same values at every
 * width). a carries the constants from one call to the next: the bias
 * corrections are looked up again only when t differs from the last call's
 * (a->t); model NULL: computed without a table.
 */
typedef struct xd_adam_run
{
	xd_adam_coef coef;
	int64_t		t;				/* the step of coef's c1, c2; 0: none yet */
	xd_model   *model;			/* whose table of corrections; NULL: none */
} xd_adam_run;

static void
xd_adam_run_init(xd_adam_run *a, xd_model *model, float lr, float b1, float b2,
				 float eps)
{
	a->coef.b1 = b1;
	a->coef.b2 = b2;
	a->coef.ob1 = 1.0f - b1;
	a->coef.ob2 = 1.0f - b2;
	a->coef.lr = lr;
	a->coef.eps = eps;
	a->t = 0;
	a->model = model;
}

static bool
xd_adam_update(xd_adam_run *a, float *w, float *g, float *am, float *av,
			   size_t n, int64_t t)
{
	if (t != a->t)
	{
		xd_adam_coef_at(a->model, &a->coef, t);
		a->t = t;
	}
	return xd_adam_update_rows(w, g, am, av, n, &a->coef);
}

xd_status
xd_adam_step(xd_model *model, const float lr[XD_N_GROUPS])
{
	float		b1 = model->cfg.adam_beta1;
	float		b2 = model->cfg.adam_beta2;
	float		eps = model->cfg.adam_eps;
	bool		bad = false;

	for (int i = 0; i < XD_N_GROUPS; i++)
		if (!(lr[i] >= 0.0f) || !isfinite(lr[i]))
			return XD_EINVAL;

	for (int i = 0; i < model->n_params; i++)
	{
		xd_param   *p = model->params[i];
		float		plr = lr[p->group];
		size_t		cols = (size_t) p->cols;

		/*
		 * a frozen group (lr 0) is skipped: values, moments, steps unchanged;
		 * its gradient is zeroed as every other (xd_model_zero_grad), which
		 * the update does in its own pass for the tensors it steps
		 */
		if (!(plr > 0.0f))
		{
			if (!(model->freeze_shared && p->group == XD_GROUP_SHARED))
				xd_param_zero_grad(p);
			continue;
		}
		{
			xd_adam_run run;

			xd_adam_run_init(&run, model, plr, b1, b2, eps);
			if (p->sparse)
			{
				/* lazy: only the rows this batch touched, each with its own t */
				for (int k = 0; k < p->n_touched; k++)
				{
					int32_t		r = p->touched[k];
					size_t		o = (size_t) r * cols;

					if (k + XD_PREFETCH_ROWS < p->n_touched)
					{
						size_t		ahead = (size_t) p->touched[k + XD_PREFETCH_ROWS] * cols;

						xd_prefetch_row(p->w + ahead, (int) cols);
						xd_prefetch_row(p->g + ahead, (int) cols);
						xd_prefetch_row(p->adam_m + ahead, (int) cols);
						xd_prefetch_row(p->adam_v + ahead, (int) cols);
					}

					if (!xd_adam_update(&run, p->w + o, p->g + o, p->adam_m + o,
										p->adam_v + o, cols, ++p->row_step[r]))
						bad = true;
					p->row_mark[r] = 0;
				}
				p->n_touched = 0;
			}
			else
			{
				size_t		n = (size_t) p->rows * cols;

				if (!xd_adam_update(&run, p->w, p->g, p->adam_m, p->adam_v, n,
									++p->step))
					bad = true;
			}
		}
	}
	return bad ? XD_ENUMERIC : XD_OK;
}

xd_status
xd_adam_step2(xd_model *model, float lr_shared, float lr_domain)
{
	float		lr[XD_N_GROUPS];

	lr[XD_GROUP_SHARED] = lr_shared;
	lr[XD_GROUP_DOMAIN] = lr_domain;
	lr[XD_GROUP_RESIDUAL] = lr_shared;
	return xd_adam_step(model, lr);
}

bool
xd_param_adam(xd_param *p, float lr, float b1, float b2, float eps)
{
	xd_adam_run run;
	bool		ok;

	/* the dense update above, for tensors outside a model (dist_encoder.c) */
	xd_adam_run_init(&run, NULL, lr, b1, b2, eps);
	ok = xd_adam_update(&run, p->w, p->g, p->adam_m, p->adam_v,
						(size_t) p->rows * p->cols, ++p->step);
	return ok;
}
