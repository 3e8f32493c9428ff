/*
 * fewshot_eval.c - the few-shot protocol and its heuristics (fewshoteval.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meta/fewshot_int.h"
#include "xdrec/baseline.h"
#include "xdrec/clock.h"
#include "xdrec/fewshoteval.h"

static const char *const xd_fse_method_names[XD_FSE_N_METHODS] = {
	"fewshot", "drr", "target_only", "popularity", "support_first"
};

const char *
xd_fse_method_name(xd_fse_method m)
{
	return m >= 0 && m < XD_FSE_N_METHODS ? xd_fse_method_names[m] : NULL;
}

/* the support's (user, item) pairs, sorted, and its popularity in context */
typedef struct xd_fse_support
{
	xd_popularity *pop;
	uint64_t   *pairs;
	int64_t		n_pairs;
} xd_fse_support;

/* popularity in context, the user's support items lifted above every other */
static xd_status
xd_fse_support_first_score(void *arg, const xd_batch *b, float *scores)
{
	const xd_fse_support *sp = arg;
	xd_status	st = xd_popularity_score(sp->pop, b, scores);

	for (int r = 0; st == XD_OK && r < b->n; r++)
	{
		uint64_t	key = xd_fs_pair_key(b->users[r], b->items[r]);

		if (bsearch(&key, sp->pairs, (size_t) sp->n_pairs, sizeof(uint64_t), xd_fs_pair_cmp))
			scores[r] += 100.0f;
	}
	return st;
}

/* Full ranking of cut's split (the query: XD_SPLIT_TEST) with score into cell. */
static xd_status
xd_fse_rank(const xd_dataset *cut, xd_split split, uint64_t seed, const xd_hooks *hooks,
			xd_score_fn score, void *arg, xd_fse_cell *cell, int64_t *excluded)
{
	xd_eval_opts eo;
	xd_full_metrics fm;
	double	   *each = NULL;
	xd_status	st;

	xd_eval_opts_default(&eo);
	eo.seed = seed;
	eo.max_positives = XD_FSE_MAX_QUERY;
	eo.hooks = *hooks;
	eo.each = &each;
	st = xd_eval_full(cut, split, 10, &eo, score, arg, &fm);
	if (st == XD_OK)
	{
		xd_rank_summary_of(each, fm.n, &cell->s);
		cell->ran = true;
		*excluded = fm.n_excluded;
	}
	free(each);
	return st;
}

/* the (user, item) pairs of cut's training rows, and its validation rows when valid_too */
static xd_status
xd_fse_pairs(const xd_dataset *cut, bool valid_too, xd_fse_support *sp)
{
	if (!(sp->pairs = malloc(sizeof(uint64_t) * (size_t) (cut->n_rows + 1))))
		return XD_ENOMEM;
	for (int64_t r = 0; r < cut->n_rows; r++)
		if (cut->split[r] == XD_SPLIT_TRAIN || (valid_too && cut->split[r] == XD_SPLIT_VALID))
			sp->pairs[sp->n_pairs++] = xd_fs_pair_key(cut->users[r], cut->items[r]);
	qsort(sp->pairs, (size_t) sp->n_pairs, sizeof(uint64_t), xd_fs_pair_cmp);
	return XD_OK;
}

static xd_status
xd_fse_heuristics(const xd_dataset *cut, uint64_t seed, const xd_hooks *hooks, xd_fse_result *out)
{
	xd_fse_support sp = {0};
	xd_status	st = xd_popularity_fit_support(cut, &sp.pop);

	if (st == XD_OK)
		st = xd_fse_rank(cut, XD_SPLIT_TEST, seed, hooks, xd_popularity_score, sp.pop,
						 &out->cell[XD_FSE_POPULARITY], &out->excluded);
	if (st == XD_OK)
		st = xd_fse_pairs(cut, true, &sp);
	if (st == XD_OK)
		st = xd_fse_rank(cut, XD_SPLIT_TEST, seed, hooks, xd_fse_support_first_score, &sp,
						 &out->cell[XD_FSE_SUPPORT_FIRST], &out->excluded);
	free(sp.pairs);
	xd_popularity_free(sp.pop);
	return st;
}

xd_status
xd_fseval_choose(xd_fewshot *fs, const xd_shared *source, const xd_dataset *cut,
				 uint64_t seed, const xd_hooks *hooks, xd_fse_choice *out)
{
	xd_fse_support sp = {0};
	xd_fewshot_result r;
	xd_fse_cell c[XD_FSE_N_METHODS];
	int64_t		excluded = 0;
	double		t0 = xd_clock_seconds();
	xd_status	st;

	memset(out, 0, sizeof(*out));
	memset(c, 0, sizeof(c));
	out->method = XD_FSE_FEWSHOT;
	if (!cut->finalized)
		return XD_EINVAL;
	/* each candidate from the training rows alone */
	st = xd_fs_adapt_rows(fs, source, cut, cut->split_rows[XD_SPLIT_TRAIN],
						  cut->n_split[XD_SPLIT_TRAIN], cut->n_split[XD_SPLIT_TRAIN], seed, &r);
	if (st == XD_OK)
		st = xd_fse_rank(cut, XD_SPLIT_VALID, seed, hooks, xd_fewshot_score, &r,
						 &c[XD_FSE_FEWSHOT], &excluded);
	xd_fewshot_result_free(&r);
	if (st == XD_OK)
		st = xd_popularity_fit(cut, &sp.pop);
	if (st == XD_OK)
		st = xd_fse_rank(cut, XD_SPLIT_VALID, seed, hooks, xd_popularity_score, sp.pop,
						 &c[XD_FSE_POPULARITY], &excluded);
	if (st == XD_OK)
		st = xd_fse_pairs(cut, false, &sp);
	if (st == XD_OK)
		st = xd_fse_rank(cut, XD_SPLIT_VALID, seed, hooks, xd_fse_support_first_score, &sp,
						 &c[XD_FSE_SUPPORT_FIRST], &excluded);
	free(sp.pairs);
	xd_popularity_free(sp.pop);
	if (st != XD_OK)
		return st;
	out->n = c[XD_FSE_FEWSHOT].s.n;
	for (int m = 0; m < XD_FSE_N_METHODS; m++)
		out->mrr[m] = c[m].ran ? c[m].s.mrr.value : NAN;
	/* a heuristic only when it ranks strictly better: no rows, no evidence */
	if (out->n > 0)
		for (int m = XD_FSE_POPULARITY; m <= XD_FSE_SUPPORT_FIRST; m++)
			if (out->mrr[m] > out->mrr[out->method])
				out->method = m;
	out->seconds = xd_clock_seconds() - t0;
	return XD_OK;
}

xd_status
xd_fseval_run(xd_fewshot *fs, const xd_shared *source, const xd_dist_encoders *enc,
			  const xd_dataset *T, int64_t n, uint64_t seed, const xd_transfer_opts *to,
			  xd_fse_result *out)
{
	xd_dataset *cut = NULL;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if (T->has_ratings)
		return XD_EINVAL;
	st = xd_fewshot_support_of(T, n, seed, &cut);
	if (st != XD_OK)
		return st;
	out->support = cut->n_split[XD_SPLIT_TRAIN] + cut->n_split[XD_SPLIT_VALID];
	out->query = cut->n_split[XD_SPLIT_TEST];

	if (fs)
	{
		xd_fewshot_result r;
		xd_fse_cell *c = &out->cell[XD_FSE_FEWSHOT];
		double		t0 = xd_clock_seconds();

		st = xd_fewshot_adapt(fs, source, cut, seed, &r);
		c->seconds = xd_clock_seconds() - t0;
		c->steps = r.steps;
		if (st == XD_OK)
			st = xd_fse_rank(cut, XD_SPLIT_TEST, seed, &to->hooks, xd_fewshot_score, &r, c,
							 &out->excluded);
		xd_fewshot_result_free(&r);
	}
	for (int m = XD_FSE_DRR; st == XD_OK && m <= XD_FSE_TARGET_ONLY; m++)
	{
		xd_transfer_opts o = *to;
		xd_transfer_result r;
		xd_fse_cell *c = &out->cell[m];

		o.method = m == XD_FSE_DRR ? XD_TRANSFER_DRR : XD_TRANSFER_TARGET_ONLY;
		st = xd_transfer(source, enc, cut, &o, &r);
		c->seconds = r.seconds;
		c->steps = r.epochs;
		if (st == XD_OK)
			st = xd_fse_rank(cut, XD_SPLIT_TEST, seed, &to->hooks, xd_transfer_score, &r, c,
							 &out->excluded);
		xd_transfer_result_free(&r);
	}
	if (st == XD_OK)
		st = xd_fse_heuristics(cut, seed, &to->hooks, out);
	xd_dataset_free(cut);
	return st;
}
