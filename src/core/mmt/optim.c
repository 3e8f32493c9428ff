/*
 * optim.c - Adam with per-group learning rates and lazy per-row updates of the
 * embedding tables (DESIGN.md section 3, optimiser).
 */
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "model_int.h"

/*
 * One Adam update of n values with step count t (already incremented):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 */
static bool
xd_adam_update(float *w, const float *g, float *am, float *av, size_t n,
			   int64_t t, float lr, float b1, float b2, float eps)
{
	float		c1 = 1.0f / (float) (1.0 - pow((double) b1, (double) t));
	float		c2 = 1.0f / (float) (1.0 - pow((double) b2, (double) t));
	float		ob1 = 1.0f - b1;
	float		ob2 = 1.0f - b2;
	float		poison = 0.0f;	/* w * 0 is NaN exactly when w is NaN or infinite */
	size_t		i = 0;

#ifdef __SSE2__
	{
		/* the same arithmetic four lanes at a time (sqrt has no generic vector form) */
		__m128		vb1 = _mm_set1_ps(b1),
					vb2 = _mm_set1_ps(b2),
					vob1 = _mm_set1_ps(ob1),
					vob2 = _mm_set1_ps(ob2),
					vc1 = _mm_set1_ps(c1),
					vc2 = _mm_set1_ps(c2),
					vlr = _mm_set1_ps(lr),
					veps = _mm_set1_ps(eps),
					vpoison = _mm_setzero_ps();

		for (; i + 4 <= n; i += 4)
		{
			__m128		gi = _mm_loadu_ps(g + i);
			__m128		mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(am + i)),
										_mm_mul_ps(vob1, gi));
			__m128		vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(av + i)),
										_mm_mul_ps(vob2, _mm_mul_ps(gi, gi)));
			__m128		num = _mm_mul_ps(vlr, _mm_mul_ps(mi, vc1));
			__m128		den = _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(vi, vc2)), veps);

			_mm_storeu_ps(am + i, mi);
			_mm_storeu_ps(av + i, vi);
			__m128		wi = _mm_sub_ps(_mm_loadu_ps(w + i), _mm_div_ps(num, den));

			_mm_storeu_ps(w + i, wi);
			vpoison = _mm_add_ps(vpoison, _mm_mul_ps(wi, _mm_setzero_ps()));
		}
		{
			float		lanes[4];

			_mm_storeu_ps(lanes, vpoison);
			poison = lanes[0] + lanes[1] + lanes[2] + lanes[3];
		}
	}
#endif
	for (; i < n; i++)
	{
		float		gi = g[i];

		am[i] = b1 * am[i] + ob1 * gi;
		av[i] = b2 * av[i] + ob2 * (gi * gi);
		w[i] -= (lr * (am[i] * c1)) / (sqrtf(av[i] * c2) + eps);
		poison += w[i] * 0.0f;
	}
	return poison == 0.0f;
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

					if (!xd_adam_update(p->w + o, p->g + o, p->adam_m + o,
										p->adam_v + o, cols, ++p->row_step[r],
										plr, b1, b2, eps))
						bad = true;
				}
			}
			else
			{
				size_t		n = (size_t) p->rows * cols;

				if (!xd_adam_update(p->w, p->g, p->adam_m, p->adam_v, n,
									++p->step, plr, b1, b2, eps))
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
	bool		ok;

	/* the dense update above, for tensors outside a model (dist_encoder.c) */
	ok = xd_adam_update(p->w, p->g, p->adam_m, p->adam_v,
						(size_t) p->rows * p->cols, ++p->step, lr, b1, b2, eps);
	memset(p->g, 0, sizeof(float) * (size_t) p->rows * p->cols);
	return ok;
}
