/*
 * biao.h - weighting the source's interactions by what they teach the
 * targets (BIAO, seeds/biao-www23.txt, adapted in PEERS.md): a behavioural
 * perceptron gives each source positive a weight, the shared modules train
 * on the weighted source loss (the lower level: xd_train with
 * xd_biao_weigh as its weigh hook), and every `interval` lower steps the
 * upper level moves the perceptron along the implicit gradient of the
 * targets' developing loss (eq. 9-14).
 *
 *   xd_biao_opts bo;
 *   xd_biao_opts_default(&bo);
 *   xd_biao_new(&bo, source_model, targets, n_targets, &biao);
 *   train_opts.weigh = xd_biao_weigh;
 *   train_opts.weigh_arg = biao;
 *   xd_train(source_model, source_dataset, &train_opts, &res);
 *   ... xd_biao_weights(biao, source_model, batch, w) ...
 *   xd_biao_free(biao);
 *
 * The perceptron (eq. 3-8, PEERS.md): for source positive j with item
 * embedding e_j (stop-gradient, as the paper's section 4.1) and context
 * output x_j (x^1 of M1, the raw c when L_C = 0), z_j = [e_j; x_j],
 *   global  g_j = w_G . z_j + b_G                                (eq. 3)
 *   local   m_S = attention of A_S z_j over the user's source history
 *                 (item embeddings), m_T = attention of A_T z_j over the
 *                 per-target prototypes (k-means centroids of the
 *                 targets' x), l_j = w_L . [m_S; m_T] + b_L   (eq. 4-7)
 *   weight  w_j = gamma softmax_batch(g_j l_j)                   (eq. 8)
 * so the weights of a batch sum to gamma, fixed at 1: under Adam, the
 * lower level's optimiser, a learnable scale of the whole loss changes
 * nothing, and at the start (g l equal for all) training is plain. The
 * batch's row weights (batch.h) are n_pos w_j on the positive and its two
 * negatives, so a uniform weighting is plain training.
 *
 * The upper step (PEERS.md): the targets' embeddings (with dev_fit
 * XD_BIAO_DEV_DRR, and DRR's residuals) are re-fitted a few steps under
 * the current shared modules (frozen); v = grad over the shared modules of
 * L_dev, the mean over targets of their loss on a developing batch, what
 * was re-fitted held fixed (biao.c says why); a 3-term Neumann series p = v; repeat: v <- v - alpha H v,
 * p <- p + v, for H^-1 restricted to the shared modules, H the Hessian of
 * the weighted source loss on the current batch; every H v and every
 * p . grad l_j by central differences along v or p (no double backprop);
 * then grad_phi L_dev = -sum_j (p . grad_theta l_j) grad_phi w_j
 * (eq. 14) and one SGD step on phi. The developing batches are the
 * targets' training rows in a second, independent shuffle
 * (reorder-and-reuse, section 3.4), or, as the ablation, a held-out fifth.
 * The per-row losses are the model's squared terms (eq. 13-14, 16): the
 * curriculum term must be off (beta = 0, the default).
 *
 * The zeroth-order upper step (upper XD_BIAO_UPPER_ZO, not in the paper;
 * docs/training.md "A zeroth-order upper step"): zo_estimates times, one
 * every zo_every epochs from the end of the warm-up (or a plateau of the
 * source's validation, zo_plateau), two copies of the model train
 * zo_epochs epochs with the perceptron at phi +- zo_eps u, the targets'
 * developing loss after a fresh fit of their embeddings and DRR's
 * residuals is measured under each copy's modules, and phi moves zo_step
 * along u toward the lower one. The copies are dropped: the lower level
 * goes on from where it was, under the new phi.
 */
#ifndef XDREC_BIAO_H
#define XDREC_BIAO_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

/*
 * What the targets fit under the current shared modules before their
 * developing loss is taken (the upper objective, docs/training.md "The
 * developing loss after the target's adaptation").
 */
typedef enum xd_biao_dev_fit
{
	XD_BIAO_DEV_DIRECT = 0,		/* their embeddings alone (Direct) */
	XD_BIAO_DEV_DRR = 1			/* their embeddings and DRR's residuals (x^1,
								 * e~_u, e~_v), zero-initialised: the loss
								 * after the target's own adaptation */
} xd_biao_dev_fit;

/*
 * How the upper level estimates its gradient (docs/training.md "A
 * zeroth-order upper step").
 */
typedef enum xd_biao_upper
{
	XD_BIAO_UPPER_IMPLICIT = 0, /* eq. 9-14 every `interval` steps */
	XD_BIAO_UPPER_ZO = 1		/* zeroth order: at zo_estimates epoch
								 * boundaries after the warm-up, two copies
								 * of the model train zo_epochs epochs with
								 * the perceptron at phi +- zo_eps u (u a
								 * random unit direction over the global
								 * term's slopes on the context output x),
								 * the targets' embeddings and DRR's
								 * residuals are fitted afresh under each
								 * copy's frozen modules, and phi moves
								 * zo_step along u toward the side whose
								 * developing loss is lower; the copies are
								 * then dropped */
} xd_biao_upper;

typedef struct xd_biao_opts
{
	int			interval;		/* lower steps per upper step (20, the
								 * interval docs/biao-report.md measured) */
	int			warmup_epochs;	/* lower epochs before the first upper step
								 * (5): the implicit gradient assumes the
								 * lower level near its optimum; far from
								 * it, in the first epochs, it pointed the
								 * other way (docs/training.md) */
	int			neumann_terms;	/* 3 (paper section 4.1) */
	float		neumann_alpha;	/* the series' step (0.01) */
	float		fd_step;		/* central differences: the perturbation's
								 * norm in parameter space (1e-2) */
	int			refit_steps;	/* target embedding steps per upper step (4) */
	float		refit_lr;		/* their Adam rate (1e-2) */
	bool		refit_fresh;	/* every upper step re-fits the targets'
								 * embeddings (and residuals) from a new
								 * initialisation (false: they go on from
								 * the last step's) */
	xd_biao_dev_fit dev_fit;	/* XD_BIAO_DEV_DIRECT */
	float		upper_lr;		/* the perceptron's SGD rate (0.5: the paper's
								 * 1e-2 is for its loss scale; ours is a
								 * weighted mean, and 0.5 moved the weights
								 * of test_biao.c's world in 10 epochs) */
	int			dev_batches;	/* developing batches per target whose
								 * gradients an upper step averages (1) */
	int			source_batches; /* source batches eq. 14's sum runs over per
								 * upper step, the current one and more in
								 * a shuffle of their own, all against the
								 * same Neumann direction p (1) */
	int			history;		/* source items per user attended (20) */
	int			prototypes;		/* k-means centroids per target (4) */
	bool		use_global;		/* the global term (off: g = 1) */
	bool		use_local;		/* the local term (off: l = 1) */
	bool		heldout_dev;	/* ablation: developing rows a fixed fifth of
								 * each target's training rows, refitting
								 * on the rest (not reorder-and-reuse) */
	xd_biao_upper upper;		/* XD_BIAO_UPPER_IMPLICIT */
	/* XD_BIAO_UPPER_ZO only (the implicit options above then unused): */
	int			zo_estimates;	/* upper steps in all (4: what 3x plain
								 * training's cost affords, docs/training.md) */
	int			zo_every;		/* epochs between them (1) */
	int			zo_plateau;		/* > 0: the steps also start once the
								 * source's validation has not improved for
								 * this many epochs, if before the warm-up
								 * ends (0: off; needs xd_biao_epoch as the
								 * loop's progress callback, and no
								 * first_kept_epoch, which hides the
								 * improvements before it) */
	int			zo_epochs;		/* epochs each copy trains (5) */
	float		zo_eps;			/* the perturbation's norm in phi (1) */
	float		zo_step;		/* phi's move along u (1; 0: the frozen
								 * control at the same cost) */
	int			zo_directions;	/* estimates per step (1): with n > 1, phi
								 * moves zo_step times the mean of the n
								 * directions, each signed toward its lower
								 * side; each costs as much as a step */
	int			zo_refit_steps; /* Adam steps of the fresh fit (100) */
	int			zo_dev_batches; /* developing batches per target (8) */
	xd_hooks	hooks;			/* the copies' training polls its stop (the
								 * loop's own; zeroed: none) */
	uint64_t	seed;			/* perceptron init, shuffles, negatives */
} xd_biao_opts;

void		xd_biao_opts_default(xd_biao_opts *o);

typedef struct xd_biao xd_biao;

/*
 * A perceptron for the source model (whose shared modules will train) and
 * n_targets finalized target datasets of the same encoded width (borrowed:
 * they outlive the object). The source's history is read from src's
 * training rows. XD_EINVAL on a shape mismatch or beta != 0.
 */
xd_status	xd_biao_new(const xd_biao_opts *o, xd_model *source, const xd_dataset *src,
						const xd_dataset *const *targets, int n_targets, xd_biao **out);
void		xd_biao_free(xd_biao *b);

/*
 * xd_train_opts.weigh: every `interval` steps (step > 0) after the first
 * warmup_epochs an upper step (XD_BIAO_UPPER_ZO: every zo_every epochs,
 * zo_estimates in all), then the batch's row weights from the perceptron.
 */
xd_status	xd_biao_weigh(void *arg, xd_model *model, xd_batch *b, int64_t step);

/*
 * An xd_hooks progress callback (arg the xd_biao) for zo_plateau: it counts
 * the epochs since the source's validation last improved. A caller with a
 * progress callback of its own calls this from it.
 */
void		xd_biao_epoch(void *arg, const xd_epoch_report *r);

/*
 * xd_train_opts.first_kept_epoch for these options: with XD_BIAO_UPPER_ZO
 * the epoch of the last zeroth-order step (at the latest, from the
 * warm-up), so that early stopping on the source's validation keeps a
 * model trained under the learnt weights: the foreign rows weighed down
 * lower the source's own validation MRR, and the best epoch was the one
 * before the first step (docs/training.md); 0 otherwise.
 */
int			xd_biao_first_kept_epoch(const xd_biao_opts *o);

/* The weights w[n_pos] of a training batch's positives (they sum to gamma). */
xd_status	xd_biao_weights(xd_biao *bi, xd_model *model, const xd_batch *b, float *w);

/*
 * An upper step's hypergradient without the step: grad[n_phi] = eq. 14
 * averaged over dev_batches developing batches per target and
 * source_batches source batches (b first), the targets' embeddings re-fitted
 * first; *dev_loss (may be NULL) the mean developing loss. The object's
 * shuffles and target embeddings move on, phi does not.
 */
xd_status	xd_biao_hypergrad(xd_biao *bi, xd_model *model, xd_batch *b, float *grad,
							  double *dev_loss);

/*
 * The developing gradient on the targets' current developing batches (the
 * last an upper step drew), their fitted embeddings and, dev_fit DRR,
 * residuals held fixed: v[xd_biao_shared_size] = grad over the shared
 * modules of L_dev, the mean over targets of their loss, *dev_loss. No
 * re-fit, no new batch: with dev_batches 1 the v of the last upper step.
 */
xd_status	xd_biao_dev_grad(xd_biao *bi, float *v, double *dev_loss);

/*
 * One zeroth-order estimate at the source's current state (XD_BIAO_UPPER_ZO's
 * step without the step): u[n_phi] the unit direction, drawn over the
 * global term's slopes on x (zero elsewhere) when draw is set, else given
 * (any norm: it is normalised in place); dev[0], dev[1] the developing
 * losses after the copies trained at phi + zo_eps u and phi - zo_eps u.
 * phi does not move; the object's random stream does.
 */
xd_status	xd_biao_zo_estimate(xd_biao *bi, xd_model *model, const xd_dataset *src,
								bool draw, float *u, double dev[2]);

/*
 * The developing loss of the targets under model's shared modules, frozen,
 * after zo_refit_steps Adam steps on fresh embeddings and DRR's residuals
 * of each (the adapted objective, whatever dev_fit), averaged over zo_dev_batches developing batches per
 * target and over targets; the same seed draws the same initialisations
 * and batches. The object is not changed.
 */
xd_status	xd_biao_fresh_dev_loss(xd_biao *bi, xd_model *model, uint64_t seed, double *out);

/* One upper step on the training batch b (its rows' weights are set first). */
xd_status	xd_biao_upper_step(xd_biao *bi, xd_model *model, xd_batch *b);

/*
 * The upper gradient for a direction p over the shared modules (length
 * xd_biao_shared_size): grad[n_phi] = -sum_j (p . grad_theta l_j)
 * grad_phi w_j, the inner products by central differences along p. With
 * p = H^-1 grad L_dev it is the implicit hypergradient of eq. 14.
 */
xd_status	xd_biao_phi_grad(xd_biao *bi, xd_model *model, const xd_batch *b,
							 const float *p, float *grad);

/* The implicit direction p ~ H^-1 v of the Neumann series on batch b. */
xd_status	xd_biao_neumann(xd_biao *bi, xd_model *model, const xd_batch *b,
							const float *v, float *p);

/* The perceptron's parameters (read/write, for tests and storage) and sizes. */
float	   *xd_biao_phi(xd_biao *bi, int *n_phi);
/* n_phi of a model of width d and m context values: (d + m)(d + m + 2) + 2 */
int64_t		xd_biao_phi_size(int d, int m);
int64_t		xd_biao_shared_size(const xd_model *model);

/* What the upper level did. */
typedef struct xd_biao_stats
{
	int			n_upper;		/* upper steps */
	const double *dev_loss;		/* [n_upper] L_dev before each step's update */
	double		upper_seconds;	/* in upper steps */
	double		weigh_seconds;	/* in the perceptron's forward per batch */
} xd_biao_stats;

void		xd_biao_get_stats(const xd_biao *bi, xd_biao_stats *s);

#endif
