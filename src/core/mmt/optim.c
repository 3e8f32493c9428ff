/*
 * optim.c - Adam with per-group learning rates and lazy per-row updates of the
 * embedding tables (DESIGN.md section 3, optimiser).
 */
#include <math.h>
#include <string.h>

#include "model_int.h"

/*
 * One Adam update of n values with step count t (already incremented):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), on the widest
 * vectors the CPU has (activation.h: the same values at every width).
 * a carries the constants from one call to the next: the bias corrections
 * are computed again only when t differs from the last call's (a->t).
 */
typedef struct xd_adam_run
{
	xd_adam_coef coef;
	int64_t		t;				/* the step of coef's c1, c2; 0: none yet */
} xd_adam_run;

static void
xd_adam_run_init(xd_adam_run *a, float lr, float b1, float b2, float eps)
{
	a->coef.b1 = b1;
	a->coef.b2 = b2;
	a->coef.ob1 = 1.0f - b1;
	a->coef.ob2 = 1.0f - b2;
	a->coef.lr = lr;
	a->coef.eps = eps;
	a->t = 0;
}

static bool
xd_adam_update(xd_adam_run *a, float *w, const float *g, float *am, float *av,
			   size_t n, int64_t t)
{
	if (t != a->t)
	{
		a->coef.c1 = 1.0f / (float) (1.0 - pow((double) a->coef.b1, (double) t));
		a->coef.c2 = 1.0f / (float) (1.0 - pow((double) a->coef.b2, (double) t));
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

		/* a frozen group (lr 0) is skipped: values, moments, steps unchanged */
		if (plr > 0.0f)
		{
			xd_adam_run run;

			xd_adam_run_init(&run, plr, b1, b2, eps);
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
				}
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
	xd_model_zero_grad(model);
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
	xd_adam_run_init(&run, lr, b1, b2, eps);
	ok = xd_adam_update(&run, p->w, p->g, p->adam_m, p->adam_v,
						(size_t) p->rows * p->cols, ++p->step);
	memset(p->g, 0, sizeof(float) * (size_t) p->rows * p->cols);
	return ok;
}
