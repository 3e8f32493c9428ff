/*
 * metrics.h - evaluation exactly as DESIGN section 5 defines it, written
 * against xd_score_fn so the model, the generator's oracle and any baseline
 * are measured the same way.
 *
 * Positives whose user or item has no training row are excluded and counted
 * (n_excluded), as DESIGN section 3 asks. With no eligible positive the
 * metrics are 0 and n is 0 (XD_OK: the caller decides what that means).
 */
#ifndef XDREC_METRICS_H
#define XDREC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/rng.h"
#include "xdrec/status.h"

/*
 * The candidates of one sampled evaluation (xd_eval_sampled), kept so that
 * later evaluations with the same dataset, split and options score the same
 * rows again without drawing and encoding them (training's validation: the
 * same positives and negatives after every epoch of every fit).
 */
typedef struct xd_eval_set xd_eval_set;

void		xd_eval_set_free(xd_eval_set *s);

typedef struct xd_eval_opts
{
	uint64_t	seed;			/* negatives and the subsample are seeded */
	int64_t		max_positives;	/* 0 = every eligible positive; else a seeded
								 * subsample of at most this many (validation
								 * uses 2,000, DESIGN section 3) */
	int			n_item_neg;		/* sampled protocol: 50 item negatives */
	bool		keep_seen;		/* full ranking: the user's training items stay
								 * among the candidates (repeats allowed);
								 * false (DESIGN section 5) excludes them */
	int			n_ctx_neg;		/* sampled protocol: 50 context negatives */
	int			batch_rows;		/* rows per score call (>= one positive's
								 * candidates for the sampled protocol) */
	xd_hooks	hooks;			/* stop polled once per score call */
	/*
	 * When not NULL, *each receives a malloc'd array (the caller frees it) of
	 * every evaluated positive's own term, in row order: 1/rank (sampled and
	 * full ranking) or the squared error (ratings). Paired comparisons of two models on the
	 * same positives need them (auto, docs/transfer.md). NULL when n is 0.
	 */
	double	  **each;
	/*
	 * Sampled protocol only. When not NULL and *reuse is NULL, the call
	 * draws its candidates as usual and keeps them in a new *reuse (unless
	 * they would take more than XD_EVAL_SET_MAX_BYTES: *reuse stays NULL);
	 * when *reuse holds a set, the call scores its rows instead of drawing
	 * them (the same rows, so the same metrics bit for bit). The set must
	 * come from a call on the same dataset and split with the same seed,
	 * max_positives, negatives and batch_rows (else XD_EINVAL). The caller
	 * frees it (xd_eval_set_free).
	 */
	xd_eval_set **reuse;
} xd_eval_opts;

/* A set's bound: 2,000 positives x 101 rows take 54 MB at m = 64. */
#define XD_EVAL_SET_MAX_BYTES ((size_t) 64 << 20)

/*
 * The bytes a set kept for split under o would hold at most (every positive
 * of the split eligible, o->max_positives applied), or 0 when it would exceed
 * XD_EVAL_SET_MAX_BYTES and so is not kept. xdrec.train_memory counts it.
 */
size_t		xd_eval_set_bytes(const xd_dataset *ds, xd_split split, const xd_eval_opts *o);

/* seed 42, all positives, 50 + 50 negatives, 4096 rows per call, no stop. */
void		xd_eval_opts_default(xd_eval_opts *o);

typedef struct xd_rank_metrics
{
	double		h1;				/* fraction of positives with rank <= 1 */
	double		h5;
	double		h10;
	double		ndcg10;			/* 1 / log2(1 + rank) when rank <= 10, else 0 */
	double		mrr;			/* mean of 1 / rank */
	int64_t		n;				/* positives evaluated */
	int64_t		n_excluded;		/* positives without a trained user or item */
} xd_rank_metrics;

typedef struct xd_full_metrics
{
	int			k;
	double		hit;			/* HitRate@k (Recall@k in s2Meta and CMML) */
	double		ndcg;			/* NDCG@k */
	double		mrr;
	int64_t		n;
	int64_t		n_excluded;
} xd_full_metrics;

typedef struct xd_rating_metrics
{
	double		rmse;
	double		mae;
	int64_t		n;
	int64_t		n_excluded;
} xd_rating_metrics;

/*
 * Rank of a positive scoring pos among n negatives (section 5):
 * 1 + #(negatives strictly higher) + 1/2 #(negatives tied).
 */
double		xd_rank_of(float pos, const float *neg, int n);

/*
 * The paper's sampled protocol on a split (XD_SPLIT_VALID or XD_SPLIT_TEST):
 * each positive (u, c, v) is scored with n_item_neg item negatives (distinct
 * random items != v, carrying their own item-scoped features; all other items
 * when the domain has no more) and n_ctx_neg context negatives (the
 * interaction-scoped part of random other rows of the domain, redrawn when
 * the result equals c; user- and item-scoped parts stay). A positive's
 * negatives depend only on the seed and its row, not on the subsample or the
 * batching. In each score call a positive's candidates are contiguous: the
 * positive, its item negatives, its context negatives (tests rely on it).
 * XD_ENUMERIC on a NaN score, XD_ECANCELLED when stop says so.
 */
xd_status	xd_eval_sampled(const xd_dataset *ds, xd_split split,
							const xd_eval_opts *o, xd_score_fn score,
							void *score_arg, xd_rank_metrics *out);

/*
 * One context negative of row's positive as xd_eval_sampled draws it: c (the
 * row's encoded context) with the interaction-scoped part of a random other
 * row of the domain from r, redrawn while it equals c; into cn.
 */
void		xd_eval_context_negative(const xd_dataset *ds, int64_t row, const float *c,
									 xd_rng *r, float *cn);

/*
 * Full ranking: for each positive of the split, the rank (ties count half)
 * of its item among all the domain's items in its own context, the user's
 * training items other than the positive's item excluded (kept with
 * o->keep_seen); HitRate@k, NDCG@k
 * and MRR. Costs n_items scores per positive: cap with max_positives.
 */
xd_status	xd_eval_full(const xd_dataset *ds, xd_split split, int k,
						 const xd_eval_opts *o, xd_score_fn score,
						 void *score_arg, xd_full_metrics *out);

/* Explicit feedback: RMSE and MAE of the scores against the ratings. */
xd_status	xd_eval_ratings(const xd_dataset *ds, xd_split split,
							const xd_eval_opts *o, xd_score_fn score,
							void *score_arg, xd_rating_metrics *out);

/* A metric's value over n positives and its standard error. */
typedef struct xd_metric_se
{
	double		value;
	double		se;				/* sd / sqrt(n) (sd with n - 1); INFINITY for n < 2 */
} xd_metric_se;

/*
 * The standard error of the mean of n paired differences whose sum is s1 and
 * sum of squares s2 (sd with n - 1); 0 for n < 2 or no spread.
 */
double		xd_paired_se(double s1, double s2, double n);

/*
 * Every ranking metric from each positive's 1/rank (o->each of the sampled
 * and full protocols), with its standard error: HitRate@1, @5, @10 (the
 * sampled protocol's H@k), @20, NDCG@10 and MRR. n = 0 gives zeros.
 */
typedef struct xd_rank_summary
{
	xd_metric_se hit1,
				hit5,
				hit10,
				hit20,
				ndcg10,
				mrr;
	int64_t		n;
} xd_rank_summary;

void		xd_rank_summary_of(const double *inv_rank, int64_t n, xd_rank_summary *out);

/*
 * RMSE and MAE from each positive's squared error, with standard errors (the
 * RMSE's by the delta method: the MSE's over 2 RMSE).
 */
void		xd_rating_summary_of(const double *sq_err, int64_t n, xd_metric_se *rmse,
								 xd_metric_se *mae);

#endif
