/*
 * blend.h - the blend the reports measure (report_real.c, report_transfer.c;
 * issue 17): s = (1 - a) s_target-only + a s_transfer, two fits' scores mixed
 * per candidate (xd_blend_score), a from BLEND_A chosen on validation by
 * auto's rule.
 * Static functions: each report program includes it once.
 */
#ifndef XDREC_BLEND_H
#define XDREC_BLEND_H

#include <stdlib.h>

#include "xdrec/metrics.h"
#include "xdrec/transfer.h"
#include "report_common.h"

#define N_BLEND_A 5
static const float BLEND_A[N_BLEND_A] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
#define BLEND_MAX_PARTNERS 2

typedef struct blend
{
	const xd_transfer_result *to;	/* a = 0 */
	const xd_transfer_result *tr;	/* a = 1 */
	float		a;
	float	   *tmp;			/* the partner's scores */
	int			cap;
} blend;

/* grows a scorer's scratch row buffer *tmp (capacity *cap) to n floats */
static xd_status
scratch_reserve(float **tmp, int *cap, int n)
{
	if (n > *cap)
	{
		float	   *t = realloc(*tmp, sizeof(float) * (size_t) n);

		if (!t)
			return XD_ENOMEM;
		*tmp = t;
		*cap = n;
	}
	return XD_OK;
}

/* an xd_score_fn; arg = the blend */
static xd_status
blend_score(void *arg, const xd_batch *b, float *scores)
{
	blend	   *bl = arg;

	if (scratch_reserve(&bl->tmp, &bl->cap, b->n) != XD_OK)
		return XD_ENOMEM;
	return xd_blend_score(bl->to->model, bl->tr->model, bl->a, b, scores, bl->tmp);
}

/* the equal mix of n fits' scores of one target (the three-way blend rows) */
typedef struct mean_of_fits
{
	int			n;
	const xd_transfer_result *const *fit;
	float	   *tmp;
	int			cap;
} mean_of_fits;

/* an xd_score_fn; arg = the mean_of_fits */
static xd_status
mean_of_fits_score(void *arg, const xd_batch *b, float *scores)
{
	mean_of_fits *mf = arg;
	xd_status	st;

	if ((st = scratch_reserve(&mf->tmp, &mf->cap, b->n)) != XD_OK)
		return st;
	if ((st = xd_transfer_score((void *) mf->fit[0], b, scores)) != XD_OK)
		return st;
	for (int i = 1; i < mf->n; i++)
	{
		if ((st = xd_transfer_score((void *) mf->fit[i], b, mf->tmp)) != XD_OK)
			return st;
		for (int r = 0; r < b->n; r++)
			scores[r] += mf->tmp[r];
	}
	for (int r = 0; r < b->n; r++)
		scores[r] /= (float) mf->n;
	return XD_OK;
}

/* each validation positive's term of the blend at bl->a (larger is better) */
static void
blend_validation(const xd_dataset *ds, blend *bl, uint64_t seed, double **each, int64_t *n)
{
	xd_eval_opts eo;

	xd_eval_opts_default(&eo);
	eo.seed = seed ^ 0x626c656e64ULL;
	eo.each = each;
	if (ds->has_ratings)
	{
		xd_rating_metrics rt;

		CHECK(xd_eval_ratings(ds, XD_SPLIT_VALID, &eo, blend_score, bl, &rt));
		*n = rt.n;
		for (int64_t i = 0; *each && i < rt.n; i++)
			(*each)[i] = -(*each)[i];
	}
	else
	{
		xd_rank_metrics rm;

		CHECK(xd_eval_sampled(ds, XD_SPLIT_VALID, &eo, blend_score, bl, &rm));
		*n = rm.n;
	}
}

/* candidate i's partner (0 for target-only, candidate 0) and a */
static void
blend_candidate(int i, int *partner, float *a)
{
	*partner = i > 0 ? (i - 1) / (N_BLEND_A - 1) : 0;
	*a = i > 0 ? BLEND_A[1 + (i - 1) % (N_BLEND_A - 1)] : 0.0f;
}

/*
 * Sets bl (bl->to set by the caller, tmp NULL) to the candidate chosen on
 * validation at the margin among target-only (a = 0, candidate 0) and, per
 * partner tr[p], every other a of BLEND_A (candidates 1 + p (N_BLEND_A - 1)
 * + a's index - 1); returns the candidate.
 */
static int
blend_choose(const xd_dataset *ds, blend *bl, int n_tr, const xd_transfer_result *const *tr,
			 uint64_t seed, double margin)
{
	int			n_cand = 1 + n_tr * (N_BLEND_A - 1);
	double	   *e[1 + BLEND_MAX_PARTNERS * (N_BLEND_A - 1)] = {0};
	double		gain[1 + BLEND_MAX_PARTNERS * (N_BLEND_A - 1)],
				se[1 + BLEND_MAX_PARTNERS * (N_BLEND_A - 1)];
	int64_t		n = 0;
	int			chosen,
				p;

	if (n_tr < 1 || n_tr > BLEND_MAX_PARTNERS)
		abort();
	for (int i = 0; i < n_cand; i++)
	{
		blend_candidate(i, &p, &bl->a);
		bl->tr = tr[p];
		blend_validation(ds, bl, seed, &e[i], &n);
	}
	chosen = xd_auto_choose((const double *const *) e, n_cand, n, margin, gain, se);
	for (int i = 0; i < n_cand; i++)
		free(e[i]);
	blend_candidate(chosen, &p, &bl->a);
	bl->tr = tr[p];
	return chosen;
}

#endif
