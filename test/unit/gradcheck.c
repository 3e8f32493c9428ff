/*
 * gradcheck.c - helpers shared by the gradient checks (gradcheck.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "unit.h"

void
gc_fill_batch(xd_batch *b, const xd_config *cfg, int P, int n_users, int n_items,
			  xd_rng *rng)
{
	int			n = cfg->feedback == XD_IMPLICIT ? 3 * P : P;

	b->n = n;
	b->n_pos = P;
	for (int r = 0; r < n; r++)
	{
		int			i = r % P;

		/* batch.h layout: item negatives share u, context negatives share u, v */
		if (r < P)
		{
			b->users[r] = (int32_t) xd_rng_below(rng, (uint32_t) n_users);
			b->items[r] = (int32_t) xd_rng_below(rng, (uint32_t) n_items);
		}
		else
		{
			b->users[r] = b->users[i];
			b->items[r] = r < 2 * P ? (int32_t) xd_rng_below(rng, (uint32_t) n_items)
				: b->items[i];
		}
		for (int j = 0; j < cfg->m; j++)
			b->c[(size_t) r * cfg->m + j] = xd_rng_uniform(rng);
		b->ratings[r] = 1.0f + (float) xd_rng_below(rng, 5);
	}
}

/* Moves every parameter off its special initial values (zero biases, s_K). */
void
gc_perturb(xd_model *model, xd_rng *rng)
{
	xd_param  **ps;
	int			np;

	xd_model_params(model, &ps, &np);
	for (int i = 0; i < np; i++)
	{
		xd_param   *p = ps[i];
		size_t		n = (size_t) p->rows * p->cols;

		if (strcmp(p->name, "ctx.mm.W") == 0)
		{
			for (size_t k = 0; k < n; k++)
				if (p->w[k] != 0.0f)
					p->w[k] += 0.3f * xd_rng_normal(rng);
		}
		else if (strcmp(p->name, "ctx.mm.s") == 0)
			for (size_t k = 0; k < n; k++)
				p->w[k] = 0.5f * xd_rng_normal(rng);
		else if (p->sparse)
			for (size_t k = 0; k < n; k++)
				p->w[k] += 0.5f * xd_rng_normal(rng);
		else
			for (size_t k = 0; k < n; k++)
				p->w[k] += 0.2f * xd_rng_normal(rng);
	}
}

/* Is entry k of p one of the structural zeros of eq. 4-5 (diagonal blocks)? */
bool
gc_mm_diag(const xd_config *cfg, const xd_param *p, size_t k)
{
	int			off[3] = {0, cfg->m_I, cfg->m_I + cfg->m_H};
	int			wid[3] = {cfg->m_I, cfg->m_H, cfg->m_A};
	int			i = (int) (k / cfg->m);
	int			j = (int) (k % cfg->m);

	if (strcmp(p->name, "ctx.mm.W") != 0)
		return false;
	for (int K = 0; K < 3; K++)
		if (i >= off[K] && i < off[K] + wid[K])
			return j >= off[K] && j < off[K] + wid[K];
	return false;
}

double
gc_loss(xd_model *model, const xd_batch *b, const xd_rng *rng0, bool train)
{
	xd_rng		rng = *rng0;	/* the same dropout mask at every evaluation */
	double		loss = 0.0;
	xd_status	st = xd_model_loss(model, b, &rng, train, &loss);

	XD_CHECK(st == XD_OK);
	return loss;
}

/*
 * The smallest disagreement of analytic gradient a with a difference
 * quotient of entry k of p, *num the quotient that gave it. A ReLU (FMT
 * layers, towers, encoders) whose input lies within eps of 0 bends the
 * quotient, so a smaller or larger step, or (opts->one_sided) a one-sided
 * quotient, the kink lying on one side only, may clear it; a wrong gradient
 * disagrees at every step.
 */
static double
gc_entry_error(xd_model *model, const xd_batch *b, const xd_rng *drop_rng,
			   const gc_opts *opts, xd_param *p, size_t k, double a, double *num)
{
	/* central at 0..2, forward at 3..4, backward at 5..6 */
	static const float steps[7] = {GC_EPS, GC_EPS / 4, GC_EPS * 4,
	GC_EPS, GC_EPS / 4, GC_EPS, GC_EPS / 4};
	int			n_steps = opts->one_sided ? 7 : 3;
	float		w0 = p->w[k];
	double		err = INFINITY;

	*num = 0.0;
	for (int e = 0; e < n_steps && err > GC_ATOL; e++)
	{
		float		h = steps[e];
		double		lp,
					lm,
					q,
					qe;

		p->w[k] = e < 5 ? w0 + h : w0;
		lp = gc_loss(model, b, drop_rng, opts->dropout);
		p->w[k] = e < 3 ? w0 - h : (e < 5 ? w0 : w0 - h);
		lm = gc_loss(model, b, drop_rng, opts->dropout);
		p->w[k] = w0;
		q = (lp - lm) / ((e < 3 ? 2.0 : 1.0) * (double) h);
		qe = fabs(a - q) - GC_RTOL * fmax(fabs(a), fabs(q));
		if (qe < err)
		{
			err = qe;
			*num = q;
		}
	}
	return err;
}

/* Entries that must have no gradient at all. */
static bool
gc_no_gradient(const xd_config *cfg, const xd_param *p, size_t k, const gc_opts *opts)
{
	if (opts->shared_frozen && p->group == XD_GROUP_SHARED)
		return true;			/* frozen modules: backward writes nothing */
	if (p->sparse && !p->row_mark[k / p->cols])
		return true;			/* a row the batch does not touch */
	return gc_mm_diag(cfg, p, k);	/* the structural zeros of eq. 4-5 */
}

int
gc_check_params(xd_model *model, const xd_config *cfg, const xd_batch *b,
				const xd_rng *drop_rng, const gc_opts *opts,
				int *checked, int *checked_residual)
{
	xd_param  **ps;
	int			np;
	int			bad = 0;

	*checked = 0;
	*checked_residual = 0;
	xd_model_params(model, &ps, &np);
	for (int i = 0; i < np; i++)
	{
		xd_param   *p = ps[i];
		size_t		n = (size_t) p->rows * p->cols;
		float	   *ga = malloc(sizeof(float) * n);

		if (!ga)
		{
			xd_test_fail(__FILE__, __LINE__, "out of memory");
			return bad + 1;
		}
		memcpy(ga, p->g, sizeof(float) * n);
		for (size_t k = 0; k < n; k++)
		{
			double		a = ga[k];
			double		num;

			if (gc_no_gradient(cfg, p, k, opts))
			{
				XD_CHECK(ga[k] == 0.0f);
				continue;
			}
			(*checked)++;
			if (p->group == XD_GROUP_RESIDUAL)
				(*checked_residual)++;
			if (gc_entry_error(model, b, drop_rng, opts, p, k, a, &num) > GC_ATOL)
			{
				char		msg[200];

				snprintf(msg, sizeof(msg), "%s[%zu]: analytic %.6g numeric %.6g",
						 p->name, k, a, num);
				if (bad++ < 5)
					xd_test_fail(__FILE__, __LINE__, msg);
			}
		}
		free(ga);
	}
	return bad;
}
