/*
 * fewshot_int.h - what fewshot.c (the meta-learner and one adaptation) shares
 * with fewshot_train.c (meta-training): the run of the inner loop, which
 * meta-training traces to differentiate it.
 */
#ifndef XDREC_FEWSHOT_INT_H
#define XDREC_FEWSHOT_INT_H

#include "xdrec/batch.h"
#include "xdrec/fewshot.h"
#include "xdrec/rng.h"

/*
 * One run's record, for meta-training: per active slot s and update t
 * (0-based, t < steps), the controller's input x, state h and c after the
 * step and the tensor's alpha, beta; theta before it (theta[s] has steps + 1
 * blocks: theta^0..theta^T) and the clamped gradient, per coordinate; per
 * stop decision its input, state and p; the query loss at
 * theta^0..theta^T.
 */
typedef struct xd_fs_trace
{
	int			cap_steps;
	int64_t		n[XD_FS_N_SLOTS];	/* coordinates of the slot */
	float	   *x[XD_FS_N_SLOTS];	/* [cap * 6] */
	float	   *h[XD_FS_N_SLOTS];	/* [cap * H] */
	float	   *c[XD_FS_N_SLOTS];
	float	   *theta[XD_FS_N_SLOTS];	/* [(cap + 1) * n] */
	float	   *gcl[XD_FS_N_SLOTS];	/* [cap * n] */
	float	   *ab[XD_FS_N_SLOTS];	/* [cap * 2] alpha, beta */
	int			n_stop;			/* stop controller steps run (steps or steps + 1) */
	float	   *sx;				/* [(cap + 1) * XD_FS_STOP_IN] */
	float	   *sh;				/* [(cap + 1) * H] */
	float	   *sc;
	float	   *sp;				/* [cap + 1] p */
	bool	   *decided;		/* [cap + 1] a sampled decision was taken there */
	double	   *query_loss;		/* [cap + 1] */
} xd_fs_trace;

xd_status	xd_fs_trace_init(xd_fs_trace *tr, const xd_fewshot *fs, const xd_model *model,
							 int cap_steps);
void		xd_fs_trace_free(xd_fs_trace *tr);

/*
 * The target's model and theta^0 (fewshot.h): a new domain of T's shape,
 * the residuals, omega_R (when fs->use_init) plus the tables' noise from rng.
 */
xd_status	xd_fs_setup(xd_fewshot *fs, const xd_shared *source, const xd_dataset *T,
						xd_rng *rng, xd_fewshot_result *out);

/*
 * The last update's support batch (implicit), as the model scored it: its
 * positives' rows of T, their scores, and each one's item negative and its
 * score (sample.h). Its theta is the one served when the stop controller
 * stopped, else the one before the last update.
 */
typedef struct xd_fs_last
{
	int			n_pos;			/* 0: none */
	int64_t		rows[XD_FS_STEP_ROWS];
	float		pos[XD_FS_STEP_ROWS];
	int32_t		neg_items[XD_FS_STEP_ROWS];
	float		neg[XD_FS_STEP_ROWS];
} xd_fs_last;

/*
 * The inner loop on support rows[n_rows] of T. sample: draw the stop
 * decisions from rng (meta-training) instead of the serving rule (the mean
 * stopping time); tr (may be NULL) records the run, with the query loss on q
 * after every update when q is given; last (may be NULL) keeps the last
 * update's batch.
 */
xd_status	xd_fs_run(xd_fewshot *fs, xd_fewshot_result *res, const xd_dataset *T,
					  const int64_t *rows, int64_t n_rows, xd_rng *rng, bool sample,
					  xd_fs_trace *tr, const xd_batch *q, xd_fs_last *last);

/*
 * T's support rows, its training rows then its validation rows, into *n;
 * malloc'd (NULL: out of memory).
 */
int64_t    *xd_fs_support_rows(const xd_dataset *T, int64_t *n);

/*
 * How many of support rows[n] of T the updates fit, the first n_hist being
 * its training rows: implicit feedback with validation rows, the training
 * rows alone (the validation rows choose the popularity term,
 * fewshot_lift.c); else all n. Serving (xd_fs_adapt_rows) and
 * meta-training (xd_fewshot_train) both cut by it, so that the controllers
 * learn on the fits they will drive.
 */
int64_t		xd_fs_fit_rows(const xd_dataset *T, int64_t n, int64_t n_hist);

/*
 * xd_fewshot_adapt on support rows[n] of T (finalized), the first n_hist of
 * them the users' history (what the repeat lift lifts: xd_fewshot_adapt's
 * training rows): what the few-shot choice (fewshot_eval.c) fits on the
 * training rows alone.
 */
xd_status	xd_fs_adapt_rows(xd_fewshot *fs, const xd_shared *source, const xd_dataset *T,
							 const int64_t *rows, int64_t n, int64_t n_hist, uint64_t seed,
							 xd_fewshot_result *out);

/*
 * One meta-training episode's inner loop on cut (its training and validation
 * rows the support, its test rows the query): res set up from fs, q up to
 * max_query of the query's positives, then the updates, traced into tr
 * (XD_FS_MAX_STEPS), on the support rows serving would fit
 * (xd_fs_fit_rows), the stops sampled. The caller frees res, tr and q
 * whatever the status.
 */
xd_status	xd_fs_episode(xd_fewshot *fs, const xd_shared *source, const xd_dataset *cut,
						  int max_query, xd_rng *rng, xd_fewshot_result *res, xd_fs_trace *tr,
						  xd_batch *q);

/*
 * The meta-gradient of a traced run (fewshot_train.c, at its top) added into
 * fs's g times scale: the query loss q at res's theta^T back to omega_R and
 * the update LSTMs, first order, and REINFORCE into the stop LSTM.
 */
xd_status	xd_fs_backward(xd_fewshot *fs, xd_fewshot_result *res, xd_fs_trace *tr,
						   const xd_batch *q, float scale);

/*
 * The repeat lift and the popularity term (fewshot_lift.c) of res after its
 * updates on support rows[n_fit] of T (n_hist <= n_fit <= n_rows):
 * res->own from the first n_hist of them (the history: the training rows),
 * and res->lift chosen on them, each left out of its user's history, when
 * calibrate (else 0); then, when last is given (else 0), res->pop_beta at
 * that lift on the held-out rows rows[n_fit..n_rows) the updates never saw
 * (res->pop_held of them ranked), or without one on the last update's batch
 * (last; res->pop_pairs), each positive's own row left out of its item's
 * count, folded into the domain's item bias. XD_EINVAL when n_fit is out
 * of range.
 */
xd_status	xd_fs_choose_lift(xd_fewshot_result *res, const xd_dataset *T,
							  const int64_t *rows, int64_t n_rows, int64_t n_hist,
							  int64_t n_fit, bool calibrate, const xd_fs_last *last,
							  xd_rng *rng);

/*
 * The popularity term's weight chosen on every support row, cross-fitted
 * (fewshot_lift.c), on res set up at theta^0 (xd_fs_setup) before its
 * updates: the support rows[n_rows] of T dealt into XD_FS_POP_FOLDS seeded
 * folds; per fold res's model, from theta^0, fits the other folds with
 * XD_FS_POP_FOLD_STEPS updates (no stop controller), takes them as its
 * history (the lift, as serving chooses it) and its popularity counts
 * (scaled to the whole support's) and ranks up to XD_FS_POP_FOLD_ROWS of
 * the fold's rows, each against the POP_TOP most popular items and
 * XD_FS_POP_FOLD_NEW seeded others, under every weight of the ladder: the
 * summed reciprocal ranks into votes. res is left at theta^0 without a
 * lift or history, for its own updates (the folds' rng is their own: the
 * served adaptation is the one without them, to the bit).
 * xd_fs_set_pop_votes then folds the best weight (a tie to the smaller, 0
 * without a row ranked) into res's item bias by all n_rows rows
 * (res->pop_beta, res->pop_held the rows ranked). XD_EINVAL below
 * 2 * XD_FS_POP_FOLDS rows, explicit feedback or without an item bias.
 *
 * One update and 16 rows a fold against 16 + 8 candidates cost about a
 * fifth of an adaptation (docs/transfer.md, branch fewshot16: the folds'
 * fits under the stop controller, up to 64 rows a fold against 16 + 16
 * candidates, cost 1.5-1.7 adaptations; 8 + 8 candidates lost the
 * weight's gain).
 */
#define XD_FS_POP_FOLDS 2
#define XD_FS_POP_FOLD_STEPS 1
#define XD_FS_POP_FOLD_ROWS 16
#define XD_FS_POP_FOLD_NEW 8
#define XD_FS_POP_WEIGHTS 8
typedef struct xd_fs_pop_votes
{
	double		rr[XD_FS_POP_WEIGHTS];	/* summed 1 / rank per weight */
	int			n_ranked;
} xd_fs_pop_votes;

xd_status	xd_fs_crossfit_pop(const xd_fewshot *fs, xd_fewshot_result *res,
							   const xd_dataset *T, const int64_t *rows, int64_t n_rows,
							   uint64_t seed, xd_fs_pop_votes *votes);
xd_status	xd_fs_set_pop_votes(xd_fewshot_result *res, const xd_dataset *T,
								const int64_t *rows, int64_t n_rows,
								const xd_fs_pop_votes *votes);

/* A (user, item) pair as one sortable key, and its qsort order (fewshot_lift.c). */
uint64_t	xd_fs_pair_key(int32_t u, int32_t v);
int			xd_fs_pair_cmp(const void *a, const void *b);

/* The model tensor of a slot in res's model, or NULL when it has none. */
xd_param   *xd_fs_slot_param(xd_fewshot_result *res, xd_fs_slot s);

#endif
