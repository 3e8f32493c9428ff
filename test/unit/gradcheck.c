/*
 * gradcheck.c - helpers shared by the gradient checks (gradcheck.h).
 */
#include <math.h>
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
