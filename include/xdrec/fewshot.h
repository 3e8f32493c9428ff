/*
 * fewshot.h - a new domain from its first interactions: the s²Meta
 * meta-learner (seeds/s2meta-kdd19.txt, PEERS.md; issue 20) over MMT-Net
 * with the source's shared modules frozen.
 *
 * theta, what a domain learns from its support, is the target's DRR residual
 * layers (core.h, xd_adapt: x <- x + tanh(R x + r), DRR eq. 19) and the
 * domain's own embeddings (and, explicit, biases): ours are domain-local, so
 * new users and items must be learned from the few rows (the paper shares
 * them across scenarios). Per tensor of theta ("slot"):
 *
 *   theta^0   the learned initialisation omega_R (paper 4.2.1): a residual
 *             tensor as a whole; an embedding or bias table as one learned
 *             row plus the seeded N(0, 0.1^2) noise of xd_domain_init, so
 *             rows stay apart
 *   update    an LSTM (hidden 16, LayerNorm over its gate pre-activations)
 *             per slot, run once per step on the tensor as a whole: input
 *             [pre(rms g), pre(rms theta), pre(L)] with pre the p = 10
 *             preprocessing (paper eq. 12) and rms the root mean square over
 *             the tensor, giving one alpha = sigma(.) and beta = sigma(.)
 *             for the tensor (eq. 8, beta's bias 5, so beta ~ 0.993) and
 *             theta^t = beta theta^(t-1) - alpha clamp(g / rms g, -3, 3)
 *             (eq. 7 on the gradient in units of its tensor's rms: alpha in
 *             (0, 1) is then a step size, where on the raw gradient of a
 *             few rows, ~1e-3 a coordinate, no alpha below 1 moved an
 *             embedding in 4-20 steps; the clamp keeps one large gradient
 *             of a few rows from throwing an embedding away). Not the
 *             paper's coordinate-wise
 *             controller: that one cost 3/4 of an adaptation's time (its
 *             cell over every coordinate at every step) for no HitRate
 *             over a constant step (docs/fewshot-report.md of 2026-12-03,
 *             "no update controller"); per tensor it costs nothing beside
 *             the model's own forward and backward, and still sets each
 *             tensor's learning and forget rates from its statistics
 *   stop      one LSTM (hidden 16, LayerNorm) over [pre(L), pre(|g_slot|)
 *             for every slot] giving p^t = sigma(.) (eq. 9); at least
 *             XD_FS_MIN_STEPS and at most XD_FS_MAX_STEPS updates;
 *             meta-training samples Bernoulli(p^t) (Algorithm 1) and prices
 *             each update at XD_FS_STEP_COST of query loss; serving stops
 *             deterministically at the median of that policy's stopping
 *             time, the first t after the minimum where the policy would
 *             have gone on with probability prod (1 - p^j) <= 1/2 (the
 *             issue's p^t > 0.5 never held: the learned p^t stays near
 *             0.1-0.2 a step, so serving always ran the maximum; the mean,
 *             survival 1/e, ran 10 updates, which paid while the updates
 *             fitted every support row, and no longer does since they fit
 *             the training rows alone: the median's 8 lose no HitRate and
 *             save a fifth of the time, docs/transfer.md)
 *
 * L is the model's own loss (DESIGN.md section 3, eq. 13-14 or 16) on a
 * batch of the support (all of it up to XD_FS_STEP_ROWS positives, else
 * that many a step from a seeded shuffle of it), not the
 * paper's hinge: the source was trained with it and its scores keep their
 * scale. Meta-training (fewshot_train.c) differentiates the query loss
 * after the last step through the updates to omega_R and the update LSTMs,
 * first order: the gradients g^t and the controllers' inputs are held
 * constant (as Andrychowicz et al. [4] do), so no second derivative of the
 * model is needed; the stop LSTM learns by REINFORCE (eq. 10-11).
 *
 * Tensors are named "fs.init.<slot>", "fs.upd.<slot>.Wx", ..., "fs.stop.Wx",
 * so a version stores them like the model's.
 */
#ifndef XDREC_FEWSHOT_H
#define XDREC_FEWSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/status.h"

#define XD_FS_HIDDEN 16
#define XD_FS_PRE_P 10.0f		/* paper eq. 12 */
#define XD_FS_MIN_STEPS 4
#define XD_FS_MAX_STEPS 20
#define XD_FS_FORGET_BIAS 5.0f	/* beta = sigma(5) ~ 0.993 at the start */
#define XD_FS_ALPHA0 0.02f		/* alpha at the start, on normalised gradients */
#define XD_FS_CLIP 3.0f			/* |g / rms g| at most */
#define XD_FS_BATCH 128			/* positives of a query batch at most */
#define XD_FS_STEP_ROWS 64		/* support positives per update at most */
#define XD_FS_LIFT_ROWS 64		/* support rows the repeat lift is chosen on */
#define XD_FS_LIFT_NEW 16		/* items a row's user never chose it ranks against */
#define XD_FS_UPD_IN 6			/* [pre(rms g), pre(rms theta), pre(L)] */
#define XD_FS_STEP_COST 0.002f	/* query loss an update must gain (REINFORCE) */
#define XD_FS_STOP_SURVIVAL 0.5	/* serving stops at the median */

/* The tensors of theta a controller is kept for (their model names). */
typedef enum xd_fs_slot
{
	XD_FS_RES_C_R = 0,			/* "res.C.R" */
	XD_FS_RES_C_r,				/* "res.C.r" */
	XD_FS_RES_U_R,				/* "res.U.R" */
	XD_FS_RES_U_r,				/* "res.U.r" */
	XD_FS_RES_V_R,				/* "res.V.R" */
	XD_FS_RES_V_r,				/* "res.V.r" */
	XD_FS_EMB_U,				/* "emb.user" */
	XD_FS_EMB_V,				/* "emb.item" */
	XD_FS_BIAS_U,				/* "bias.user" (explicit) */
	XD_FS_BIAS_V,				/* "bias.item" (explicit) */
	XD_FS_BIAS_G,				/* "bias.global" (explicit) */
	XD_FS_N_SLOTS
} xd_fs_slot;

#define XD_FS_STOP_IN (2 + 2 * XD_FS_N_SLOTS)	/* [pre(L), pre(|g_s|) ...] */

/* The model tensor name of a slot. */
const char *xd_fs_slot_name(xd_fs_slot s);

/*
 * An LSTM cell with LayerNorm over its 4H gate pre-activations and a linear
 * head, run on n independent rows at once (coordinates of a tensor, or the
 * one stop sequence):
 *   z = Wx x + Wh h' + b;  a = ln_g . (z - mean z) / sd z + ln_b
 *   i, f, o = sigma(a_i, a_f, a_o);  u = tanh(a_u)
 *   c = f . c' + i . u;  h = o . tanh(c);  out = Wo h + bo
 * Gate order in z: i, f, u, o.
 */
typedef struct xd_fs_lstm
{
	int			in;
	int			hidden;
	int			n_out;
	xd_param   *Wx;				/* 4H x in */
	xd_param   *Wh;				/* 4H x H */
	xd_param   *b;				/* 1 x 4H */
	xd_param   *ln_g;			/* 1 x 4H, 1 at the start */
	xd_param   *ln_b;			/* 1 x 4H */
	xd_param   *Wo;				/* n_out x H */
	xd_param   *bo;				/* 1 x n_out */
} xd_fs_lstm;

/*
 * One step on n rows: x [n * in], h_prev and c_prev [n * H] (NULL: zeros)
 * into h, c [n * H] and out [n * n_out] (pre-sigmoid). scratch holds
 * n * 4H floats.
 */
void		xd_fs_lstm_forward(const xd_fs_lstm *l, int n, const float *x,
							   const float *h_prev, const float *c_prev,
							   float *h, float *c, float *out, float *scratch);

/*
 * Backward of that step (recomputed from its inputs): d_out [n * n_out]
 * (may be NULL: zero) and dh, dc [n * H], the loss's gradient w.r.t. h and
 * c from later steps, which become the gradient w.r.t. h_prev and c_prev.
 * Adds into the parameters' g. scratch holds n * 5H floats.
 */
void		xd_fs_lstm_backward(xd_fs_lstm *l, int n, const float *x,
								const float *h_prev, const float *c_prev,
								const float *d_out, float *dh, float *dc,
								float *scratch);

/* Paper eq. 12: x -> (log|x| / p, sgn x) if |x| >= e^-p, else (-1, e^p x). */
void		xd_fs_preprocess(float x, float *out2);

typedef struct xd_fewshot
{
	int			m;
	int			d;
	xd_feedback feedback;
	bool		has_ctx;		/* L_C >= 1: the slots of res.C exist */
	/*
	 * The ablations (paper Table 4): use_init false = theta^0 is zero
	 * residuals and xd_domain_init's tables; use_update false = every
	 * tensor takes plain steps alpha0 clamp(g / rms g); use_stop false = always
	 * fixed_steps updates (10)
	 */
	bool		use_init;
	bool		use_update;
	bool		use_stop;
	bool		use_lift;		/* false: no repeat lift (xd_fewshot_score) */
	bool		use_pop;		/* false: no popularity term (xd_fewshot_score) */
	int			fixed_steps;
	bool		active[XD_FS_N_SLOTS];	/* the slot exists for this model */
	xd_param   *init[XD_FS_N_SLOTS];	/* omega_R ("fs.init.<slot>") */
	xd_fs_lstm	upd[XD_FS_N_SLOTS];	/* "fs.upd.<slot>.*" */
	xd_fs_lstm	stop;			/* "fs.stop.*" */
	xd_param   *params;			/* every tensor above, [n_params] */
	int			n_params;
} xd_fewshot;

/*
 * A meta-learner for models of cfg (m, d, layers, feedback), all three parts
 * on, initialised from seed: omega_R at zero (Direct) with the tables' rows
 * at zero, the LSTMs Xavier with LayerNorm gains 1, the heads' weights small
 * and their biases at alpha0 and the forget bias, the stop head's at -2
 * (p ~ 0.12). Free accepts NULL.
 */
xd_status	xd_fewshot_new(const xd_config *cfg, uint64_t seed, xd_fewshot **out);
void		xd_fewshot_free(xd_fewshot *fs);
xd_param   *xd_fewshot_find_param(xd_fewshot *fs, const char *name);

/* What one adaptation did, and the model it left. */
typedef struct xd_fewshot_result
{
	xd_model   *model;			/* scores the target: borrows the source's
								 * shared modules, owns domain and adapt */
	xd_domain  *domain;
	xd_adapt   *adapt;
	int			steps;			/* updates taken */
	double		first_loss;		/* support loss at theta^0 */
	double		last_loss;		/* at the last step's batch */
	double		seconds;		/* wall time of the adaptation */
	/*
	 * The repeat lift (fewshot_lift.c): the (user, item) pairs of the
	 * support's training rows (the history), sorted, and how much
	 * xd_fewshot_score lifts a user's history items, chosen on lift_rows
	 * support rows (0: none could move it)
	 */
	uint64_t   *own;
	int64_t		n_own;
	float		lift;
	int			lift_rows;
	/*
	 * The popularity term (fewshot_lift.c): pop_beta * log(1 + the item's
	 * support rows), chosen after the lift on pop_held support rows ranked
	 * by a model that did not fit them (cross-fitted, fewshot_int.h; above
	 * 2 * XD_FS_POP_FOLD_ROWS validation rows, the validation rows the
	 * updates held out), or without one on pop_pairs
	 * (positive, item negative) pairs of the last update's batch (0: the
	 * model alone), folded into the domain's item bias s_v (implicit:
	 * cfg.item_bias)
	 */
	float		pop_beta;
	int			pop_pairs;
	int			pop_held;
} xd_fewshot_result;

/*
 * Adapts target T (finalized; its training and validation rows are the
 * support) under the
 * source's shared modules (only read), deterministically under seed: the
 * support batches, the tables' noise. Implicit feedback with validation
 * rows: the updates fit the training rows alone (the popularity term's
 * weight is chosen on support rows the model did not fit: cross-fitted, or
 * on many validation rows those; all count in its popularity). XD_ENODATA
 * without 2 training rows
 * and 2 items. The result owns what it allocates; free it whatever the
 * status.
 */
xd_status	xd_fewshot_adapt(xd_fewshot *fs, const xd_shared *source,
							 const xd_dataset *target, uint64_t seed,
							 xd_fewshot_result *out);
void		xd_fewshot_result_free(xd_fewshot_result *r);

/*
 * Scores b with an adaptation (an xd_score_fn, arg the result): its model's
 * score, plus r->lift where the row's user has the row's item in the
 * support's training rows (the history). The lift is chosen after the
 * updates, on the support (up to XD_FS_LIFT_ROWS rows of users with another
 * history row, each left out of the history and ranked against
 * XD_FS_LIFT_NEW items the user never chose, and the user's other history
 * items when a quarter of the history repeats: fewshot_lift.c): a ladder
 * from 0 (the model alone) to 1000 (the user's history items first), the
 * best mean reciprocal rank; fs->use_lift false keeps it 0. The model's
 * score holds the popularity term (implicit): r->pop_beta * log(1 + the
 * item's support rows), in the domain's item bias s_v, its weight from a
 * ladder from 0 (the model alone) to 100 (popularity decides, the model
 * only breaks its ties: with the top lift, the support-first heuristic's
 * order), chosen by the best mean reciprocal rank of up to XD_FS_LIFT_ROWS
 * held-out support rows (the validation rows, which the updates did not
 * fit), each ranked in its context against the support's 16 most popular
 * items and 16 seeded others standing for the rest, its own row left out
 * of its item's count; without a held-out row, on the last update's batch,
 * each positive against its item negative as the model scored them.
 * fs->use_pop false keeps it 0.
 */
xd_status	xd_fewshot_score(void *res, const xd_batch *b, float *scores);

/* ---------------------------------------------------------------- meta-training */

typedef struct xd_fewshot_opts
{
	int			episodes;		/* meta-training episodes (400) */
	int			episodes_per_step;	/* averaged per Adam step (4) */
	int			min_support;	/* support positives drawn log-uniformly */
	int			max_support;	/* in [min, max] (16, 256) */
	int			max_query;		/* query positives per episode (128) */
	float		lr;				/* Adam on omega (1e-3) */
	float		lr_stop;		/* Adam on the stop LSTM (1e-3) */
	uint64_t	seed;
	xd_stop_fn	stop;			/* polled once per episode; may be NULL */
	void	   *stop_arg;
} xd_fewshot_opts;

void		xd_fewshot_opts_default(xd_fewshot_opts *o);

typedef struct xd_fewshot_report
{
	int			episodes;
	double		first_query_loss;	/* mean over the first tenth of episodes */
	double		last_query_loss;	/* over the last tenth */
	double		mean_steps;			/* updates per episode, last tenth */
	double		seconds;
} xd_fewshot_report;

/*
 * Meta-trains fs in place on pseudo-domains cut from src, the data the
 * source's shared modules were trained on: each episode samples users of
 * src until their training rows cover the support and a query, remaps
 * users and items to a new domain (fresh embeddings: a pseudo-domain shares
 * nothing with the source but the rule, as a real target), and splits its
 * rows by xd_fewshot_support_of: a support of N (log-uniform in
 * [min_support, max_support]), the query up to max_query of the rest. An
 * episode's updates fit the support rows serving's fit (implicit feedback:
 * its training rows, the validation fifth held out, as xd_fewshot_adapt
 * holds it out for the popularity term), so that the controllers learn on
 * the fits they drive. The shared modules are only read. XD_ENODATA when src is too small to cut
 * one pseudo-domain.
 */
xd_status	xd_fewshot_train(xd_fewshot *fs, const xd_shared *source,
							 const xd_dataset *src, const xd_fewshot_opts *o,
							 xd_fewshot_report *rep);

/*
 * A pseudo-domain of src (the meta-training tasks above): users sampled by
 * rng until at least rows of their training rows are in, finalized with
 * seed. The caller frees *out.
 */
xd_status	xd_fewshot_pseudo_domain(const xd_dataset *src, int64_t rows,
									 xd_rng *rng, uint64_t seed, xd_dataset **out);

/*
 * The few-shot protocol's cut of T (issue 20): a copy whose n support rows,
 * drawn by a seeded shuffle of all of T's rows, are its training (the first
 * 80%) and validation rows (the rest: what DRR and target-only stop on),
 * and whose every other row is the test split, the query. Statistics and
 * profiles come from the training rows alone, as for a domain that has only
 * those. xd_fewshot_adapt uses training and validation rows as its support.
 * XD_ENODATA when T has fewer than n + 1 rows.
 */
xd_status	xd_fewshot_support_of(const xd_dataset *T, int64_t n, uint64_t seed,
								  xd_dataset **out);

#endif
