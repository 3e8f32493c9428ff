/*
 * core.h - the MMT-Net model of the pure-C core: configuration, parameter
 * tensors, the shared/domain split, forward scoring, the training loss and
 * its gradients, and Adam (DESIGN.md section 3).
 *
 * The model is split in two so that transfer (DESIGN.md section 4) can pair the
 * modules trained on one domain with the embeddings of another:
 *
 *   xd_shared   M1 (multimodal residual + context layers), M3u/M3v, M4:
 *               everything shared across domains.
 *   xd_domain   user/item embeddings E_u, E_v (M2) and, for explicit feedback,
 *               the biases s_u, s_v and the global bias s.
 *   xd_model    a config, one xd_shared, one xd_domain (owned or borrowed),
 *               the list of all parameters and the workspace that keeps the
 *               activations of the last forward pass for backward.
 *
 * Batches are the xd_batch of batch.h; matrices are row-major float32.
 */
#ifndef XDREC_CORE_H
#define XDREC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/rng.h"
#include "xdrec/status.h"

typedef enum xd_variant
{
	XD_VARIANT_MMT = 0,			/* x^l = sigma(W x + b . x) . c (eq. 1-3) */
	XD_VARIANT_FMT = 1			/* x^l = ReLU(W x + b) */
} xd_variant;

typedef enum xd_feedback
{
	XD_IMPLICIT = 0,			/* eq. 12-14: scores, squared loss with negatives */
	XD_EXPLICIT = 1				/* eq. 15-16: ratings, squared error */
} xd_feedback;

typedef struct xd_config
{
	int			m;				/* encoded context width, = m_I + m_H + m_A */
	int			m_I;			/* interactional part c_I, first in c */
	int			m_H;			/* historical part c_H, then */
	int			m_A;			/* attributional part c_A, last */
	int			d;				/* embedding and tower width (64) */
	int			n_ctx_layers;	/* L_C (2), >= 0 */
	int			n_tower_layers; /* L_U = L_V (2), >= 0 */
	xd_variant	variant;		/* MMT (default) or FMT */
	bool		mm_residual;	/* eq. 4-5; effective only with >= 2 nonzero kinds */
	xd_feedback feedback;
	float		dropout;		/* p on tower hidden layers (0.1) */
	float		beta;			/* novelty curriculum weight of eq. 11 (0) */
	float		lr;				/* Adam (1e-3, 0.9, 0.999, 1e-8) */
	float		adam_beta1;
	float		adam_beta2;
	float		adam_eps;
	int			batch_size;		/* training positives per batch (256) */
	uint64_t	seed;
	/*
	 * The repeat term (issue 17): s^ += r(c) g(h_ui) with r(c) = w_R . c* +
	 * b_R, g(h_ui) the batch's hist (batch.h: 1 when the user has another
	 * training row with the item). Its tensors belong to the domain (how
	 * much a market repeats is the market's), zero at the start, so a model
	 * starts as without it, and a user without history is never touched.
	 * Implicit feedback only: explicit domains get no repeat tensors.
	 */
	bool		repeat;

	/*
	 * With repeat: the term as a calibrated lift only (option repeat
	 * 'lift', docs/serving.md#repeats). Training ignores the history
	 * (train-mode forward passes leave the term out), so w_R = b_R = 0 and
	 * the rest of the model is the model without the term; the calibration
	 * after the fit (train.h, xd_repeat_calibrate) then sets b_R to a lift
	 * of the user's own items, or leaves it 0.
	 */
	bool		repeat_lift;

	/*
	 * The repeat term decided by the domain's data (option repeat "auto",
	 * docs/serving.md#repeats): xd_config_repeat_from_data makes it the
	 * lift (repeat, repeat_lift) where a quarter or more of the training
	 * rows repeat a (user, item) pair (XD_REPEAT_AUTO_SHARE), no term
	 * below, and clears this flag. Each domain decides from its own rows:
	 * a target's term belongs to its domain, not to the source's modules.
	 */
	bool		repeat_auto;

	/*
	 * Implicit feedback: the domain has an item bias s_v ("bias.item") too,
	 * s^ += s_v. A few-shot market's popularity term (fewshot.h) is folded
	 * into it after the adaptation; no training path sets it otherwise.
	 * Explicit domains always have s_v.
	 */
	bool		item_bias;
} xd_config;

/* Fills the defaults of DESIGN.md section 3; the caller sets m and its split. */
void		xd_config_defaults(xd_config *cfg);

/* Sets m and its split (m_I, m_H, m_A) to the encoded layout of schema. */
struct xd_schema;
void		xd_config_set_widths(xd_config *cfg, const struct xd_schema *schema);

/*
 * Option repeat "auto": the share of a domain's training rows that repeat a
 * (user, item) pair from which the term is the calibrated lift (and
 * exclude_seen "auto" keeps seen items). DePaulMovie (71%) and InCarMusic
 * (77%) are above it, TripAdvisor's markets (3%) below, where the lift
 * cost the sampled protocol 3% beyond noise (docs/transfer.md, "Repeats
 * and the heuristics").
 */
#define XD_REPEAT_AUTO_SHARE 0.25

/*
 * Resolves cfg->repeat_auto from the domain's repeat share
 * (xd_dataset_repeat_share): the lift only (repeat and repeat_lift) on
 * implicit feedback from XD_REPEAT_AUTO_SHARE up, no term below; clears
 * repeat_auto. Returns whether it resolved (repeat_auto was set).
 */
bool		xd_config_repeat_from_data(xd_config *cfg, double repeat_share);

/* XD_OK when the config is usable (m = m_I + m_H + m_A, sizes positive, ...). */
xd_status	xd_config_check(const xd_config *cfg);

/* True when the multimodal residual is on and >= 2 kinds have nonzero width. */
bool		xd_config_has_mm_residual(const xd_config *cfg);

/*
 * Parameter groups, each with its own learning rate in xd_adam_step. A group
 * whose learning rate is 0 is frozen and left bit-identical.
 */
typedef enum xd_group
{
	XD_GROUP_SHARED = 0,		/* M1 (with the multimodal residual), M3, M4 */
	XD_GROUP_DOMAIN = 1,		/* embeddings and biases */
	XD_GROUP_RESIDUAL = 2,		/* reserved: the DRR residual layers */
	XD_N_GROUPS = 3
} xd_group;

#define XD_PARAM_NAME_LEN 32

/*
 * One parameter tensor, rows x cols, row-major. Dense tensors accumulate into
 * the whole of g and take one Adam step counter. Sparse (row-lazy) tensors, the
 * embedding tables and per-entity biases, accumulate into g only on the rows a
 * batch touched, listed in touched[0..n_touched), and keep one Adam step count
 * per row, so a step costs O(rows touched) (DESIGN.md section 3, optimiser).
 */
typedef struct xd_param
{
	char		name[XD_PARAM_NAME_LEN];	/* stable, used for serialisation */
	int			rows;
	int			cols;
	xd_group	group;
	bool		sparse;
	float	   *w;				/* value [rows * cols] */
	float	   *g;				/* gradient [rows * cols] */
	float	   *adam_m;			/* first moment [rows * cols] */
	float	   *adam_v;			/* second moment [rows * cols] */
	int64_t		step;			/* dense: Adam steps taken */
	/* sparse only */
	int64_t    *row_step;		/* [rows] Adam steps taken by each row */
	int32_t    *touched;		/* [rows] rows with a gradient, no duplicates */
	int			n_touched;
	uint8_t    *row_mark;		/* [rows] 1 when the row is in touched */
} xd_param;

/* The modules shared across domains; parameters in XD_GROUP_SHARED. */
typedef struct xd_shared
{
	xd_config	cfg;
	bool		has_mm;			/* xd_config_has_mm_residual(&cfg) */
	/*
	 * Multimodal residual (eq. 4-5), all kinds at once: mm_W is m x m with the
	 * diagonal blocks [K,K] held at zero, so row block K of mm_W is
	 * [W_KK' W_KK''] in the columns of K', K''. mm_b = [b_I; b_H; b_A],
	 * mm_s = [s_I; s_H; s_A]. NULL when has_mm is false.
	 */
	xd_param   *mm_W;			/* "ctx.mm.W"  m x m */
	xd_param   *mm_b;			/* "ctx.mm.b"  1 x m */
	xd_param   *mm_s;			/* "ctx.mm.s"  1 x m */
	xd_param  **ctx_W;			/* "ctx.W1".. [L_C] m x m (eq. 1-3) */
	xd_param  **ctx_b;			/* "ctx.b1".. [L_C] 1 x m */
	xd_param   *W_CU;			/* "clu.W_CU"  d x m (eq. 6) */
	xd_param   *W_CV;			/* "clu.W_CV"  d x m (eq. 7) */
	xd_param  **U_W;			/* "clu.U.W1".. [L_U] d x d (eq. 8) */
	xd_param  **U_b;			/* "clu.U.b1".. [L_U] 1 x d */
	xd_param  **V_W;			/* "clu.V.W1".. [L_V] d x d (eq. 9) */
	xd_param  **V_b;			/* "clu.V.b1".. [L_V] 1 x d */
	xd_param   *w_C;			/* "rank.w_C"  1 x m (eq. 10) */
	xd_param   *b_C;			/* "rank.b_C"  1 x 1 */
	xd_param   *params;			/* all of the above, [n_params] */
	int			n_params;
} xd_shared;

/* One domain's embeddings and biases; parameters in XD_GROUP_DOMAIN. */
typedef struct xd_domain
{
	int			n_users;
	int			n_items;
	int			d;
	xd_feedback feedback;
	xd_param   *E_u;			/* "emb.user"  n_users x d, sparse */
	xd_param   *E_v;			/* "emb.item"  n_items x d, sparse */
	xd_param   *s_u;			/* "bias.user" n_users x 1, sparse; explicit only */
	xd_param   *s_v;			/* "bias.item" n_items x 1, sparse; explicit, or
								 * implicit with cfg.item_bias */
	xd_param   *s;				/* "bias.global" 1 x 1, dense; explicit only */
	xd_param   *w_R;			/* "rep.w" 1 x m, dense; cfg.repeat, implicit only */
	xd_param   *b_R;			/* "rep.b" 1 x 1, dense; cfg.repeat, implicit only */
	xd_param   *params;			/* [n_params] */
	int			n_params;
} xd_domain;

typedef struct xd_workspace xd_workspace;	/* activations, private to the core */

struct xd_dist_encoders;				/* dist_encoder.h: the distributional encoders of DRR */

/*
 * A target domain's DRR adaptation (DESIGN.md section 4, paper eq. 19): the
 * residual layers x <- x + tanh(R x + r) on three module inputs,
 *   x^1 of M1     (after context layer 1, before layer 2; the paper's c^2),
 *   e~_u, e~_v    (the gated embeddings of eq. 6-7, before the towers),
 * all in XD_GROUP_RESIDUAL and zero-initialised, so that an adapted model
 * starts exactly from Direct. It belongs to the target, never to xd_shared.
 * The optional KL regulariser of eq. 22 is an extra loss term (below) that
 * dist_encoder.h's xd_adapt_add_kl registers: it reads the encoders (borrowed,
 * never written) and adds lambda_kl * (KL_C + KL_U + KL_V), averaged over
 * the training positives, to the loss.
 */
typedef struct xd_adapt
{
	int			m;
	int			d;
	bool		has_ctx;		/* L_C >= 1: there is an x^1 to adapt */
	xd_param   *R_C;			/* "res.C.R"  m x m (NULL without x^1) */
	xd_param   *r_C;			/* "res.C.r"  1 x m */
	xd_param   *R_U;			/* "res.U.R"  d x d */
	xd_param   *r_U;			/* "res.U.r"  1 x d */
	xd_param   *R_V;			/* "res.V.R"  d x d */
	xd_param   *r_V;			/* "res.V.r"  1 x d */
	xd_param   *params;			/* [n_params] */
	int			n_params;
	const struct xd_dist_encoders *enc;	/* eq. 22 regulariser; NULL = off */
	float		lambda_kl;
	float	   *kl_buf;			/* the regulariser's scratch, kl_buf_len floats */
	size_t		kl_buf_len;
} xd_adapt;

/* Residuals for a config, all zero (Direct). Free accepts NULL. */
xd_status	xd_adapt_new(const xd_config *cfg, xd_adapt **out);
void		xd_adapt_free(xd_adapt *a);
/* Deep copy of values (moments and steps reset); dst of the same shape. */
void		xd_adapt_copy_values(xd_adapt *dst, const xd_adapt *src);

typedef struct xd_model xd_model;

/*
 * What an extra loss term sees of the forward pass over a training batch:
 * the module inputs of its n_pos positives (rows [0, n_pos) of batch.h's
 * layout) after any DRR residual, and, when the loss is differentiated,
 * where the term adds its gradient w.r.t. each of them (zeroed before the
 * first term; the backward pass carries it to every trainable tensor below
 * that input). Gradient pointers are NULL when only the loss is wanted.
 */
typedef struct xd_loss_inputs
{
	int			n_pos;
	int			m;
	int			d;
	const float *x1;			/* [n_pos * m] x^1 of M1; NULL when L_C = 0 */
	const float *eu;			/* [n_pos * d] e~_u (eq. 6) */
	const float *ev;			/* [n_pos * d] e~_v (eq. 7) */
	float	   *d_x1;			/* as x1, or NULL */
	float	   *d_eu;
	float	   *d_ev;
} xd_loss_inputs;

/*
 * An extra term of the training loss, a seam for the transfer and peer
 * methods (DESIGN.md section 4: DRR's KL of eq. 22; source weighting next):
 * stores its value, already averaged over the positives, in *value and,
 * when in has gradient pointers, adds its gradients there.
 */
typedef xd_status (*xd_loss_term_fn) (void *arg, const xd_batch *b,
									  const xd_loss_inputs *in, double *value);

typedef struct xd_loss_term
{
	xd_loss_term_fn fn;
	void	   *arg;			/* borrowed: outlives the model's training */
} xd_loss_term;

#define XD_MAX_LOSS_TERMS 4

/*
 * Enough for the widest model the options allow (16 context and 16 tower
 * layers: 2 * 16 + 4 * 16 shared tensors, 7 more shared, 5 of a domain with
 * explicit feedback, 6 DRR residuals), so create_model's ranges are what
 * training accepts.
 */
#define XD_MAX_PARAMS 128

struct xd_cold;					/* cold.h: the prior's table */

struct xd_model
{
	xd_config	cfg;
	xd_shared  *shared;
	xd_domain  *domain;
	bool		owns_shared;	/* xd_model_free frees what it owns */
	bool		owns_domain;
	xd_param   *params[XD_MAX_PARAMS];	/* shared first, then domain, then adapt */
	int			n_params;
	xd_workspace *ws;
	/* added for transfer (DESIGN.md section 4); zero/NULL by default */
	xd_adapt   *adapt;			/* DRR residuals, borrowed; NULL = none */
	bool		freeze_shared;	/* backward leaves xd_shared untouched */
	xd_loss_term terms[XD_MAX_LOSS_TERMS];	/* extra loss terms, in order */
	int			n_terms;
	/*
	 * Popularity in context among the user's own lifted items (repeat
	 * 'lift'; xd_model_set_repeat_pop): scoring adds rep_pop_w times the
	 * item's popularity in the row's context (log(1 + its training rows
	 * there): cold.h, xd_cold_cell_pop, from the cold module's prior table,
	 * borrowed) to an item of the user's history (g(h_ui) > 0). 0 / NULL: no term (the default,
	 * and every version stored before it). Training never adds it.
	 */
	float		rep_pop_w;
	const struct xd_cold *rep_pop;
	/*
	 * Popularity in context on every item (implicit feedback;
	 * xd_model_set_pop_all): scoring in inference adds pop_all_w times
	 * xd_cold_cell_pop(pop_all, c, v) to EVERY item's score, the user's own
	 * or not (the own-item term above stays on top). 0 / NULL: no term (the
	 * default, and every version stored before it). Never in a train-mode
	 * pass: a constant per (item, context) would move the loss's gradients.
	 */
	float		pop_all_w;
	const struct xd_cold *pop_all;
};

/*
 * Shared modules: allocate (zeroed), then initialise (DESIGN.md section 3:
 * weights Xavier-uniform, biases 0, s_K = 0.01). Free accepts NULL.
 */
xd_status	xd_shared_new(const xd_config *cfg, xd_shared **out);
void		xd_shared_init(xd_shared *s, xd_rng *rng);
void		xd_shared_free(xd_shared *s);
/* A copy of the values (Adam moments and steps reset, gradients zero). */
xd_status	xd_shared_clone(const xd_shared *src, xd_shared **out);

/*
 * Domain state: allocate (zeroed), then initialise (embeddings N(0, 0.1^2),
 * s_u = s_v = 0, s = mean_rating, the repeat term's w_R = b_R = 0; a small
 * explicit domain's fits then start the biases at the damped means:
 * baseline.h, xd_domain_damped_init). Free accepts NULL.
 */
xd_status	xd_domain_new(const xd_config *cfg, int n_users, int n_items,
						  xd_domain **out);
void		xd_domain_init(xd_domain *dom, xd_rng *rng, float mean_rating);
void		xd_domain_free(xd_domain *dom);
/* A copy of the values (Adam moments and steps reset, gradients zero). */
xd_status	xd_domain_clone(const xd_config *cfg, const xd_domain *src, xd_domain **out);

/*
 * Ties a config, shared modules and a domain into a model and allocates the
 * workspace for batches of cfg->batch_size positives. The model frees shared
 * and domain on xd_model_free when own_shared / own_domain is set (even when
 * this call fails). shared and domain must have been made with a config of
 * the same shape (m, d, layers, variant, residual, feedback).
 */
xd_status	xd_model_new(const xd_config *cfg, xd_shared *shared, xd_domain *domain,
						 bool own_shared, bool own_domain, xd_model **out);

/* Convenience: new + init shared and domain from rng, all owned by the model. */
xd_status	xd_model_create(const xd_config *cfg, int n_users, int n_items,
							float mean_rating, xd_rng *rng, xd_model **out);

/*
 * Attaches DRR residuals (borrowed: the caller frees them after the model):
 * their parameters join the model's list (group XD_GROUP_RESIDUAL) and the
 * forward pass applies them. Once per model; shapes must match.
 */
xd_status	xd_model_set_adapt(xd_model *model, xd_adapt *adapt);

/*
 * Registers an extra loss term (see xd_loss_term_fn): xd_model_loss and
 * xd_model_loss_backward add it to every loss after the model's own. At most
 * XD_MAX_LOSS_TERMS; fn's arg is borrowed.
 */
xd_status	xd_model_add_loss_term(xd_model *model, xd_loss_term_fn fn, void *arg);

/*
 * Freezing the shared modules: backward computes no gradient for xd_shared
 * (and skips the passes only they need), zero_grad does not write them, so a
 * borrowed source stays bit-identical. Train with lr[XD_GROUP_SHARED] = 0.
 */
void		xd_model_freeze_shared(xd_model *model, bool frozen);

/*
 * The module inputs of DRR for the n rows of b, in inference mode, after any
 * residual: x^1 [n * m] (left alone when L_C = 0), e~_u, e~_v [n * d]. Any n.
 * Any output may be NULL.
 */
xd_status	xd_model_module_inputs(xd_model *model, const xd_batch *b,
								   float *x1, float *eu, float *ev);

/* Frees the workspace and whatever the model owns. Accepts NULL. */
void		xd_model_free(xd_model *model);

/*
 * For a model that only scores from now on: frees every parameter's
 * gradient, Adam moments and row bookkeeping (3x the weights). Training,
 * backward or an Adam step on it afterwards is a bug.
 */
void		xd_model_drop_training_state(xd_model *model);

/* Every parameter of the model (not owned by the caller); shared first. */
void		xd_model_params(xd_model *model, xd_param ***params, int *n);

/* The parameter of that name, or NULL. */
xd_param   *xd_model_find_param(xd_model *model, const char *name);

/* Largest number of rows one forward/backward pass takes (3 x batch_size implicit). */
int			xd_model_max_rows(const xd_model *model);

/*
 * Bytes of the workspace a model of this config allocates (with DRR residuals
 * attached when with_adapt), so a caller can bound memory before creating it.
 */
size_t		xd_model_workspace_bytes(const xd_config *cfg, bool with_adapt);

/*
 * Scores the n rows of b (users, items, c) in inference mode (no dropout):
 * implicit s^ (eq. 12), explicit r^ (eq. 15). Any n: processed in chunks of
 * xd_model_max_rows. Matches xd_score_fn with arg = the model.
 */
xd_status	xd_model_score(void *model, const xd_batch *b, float *scores);

/*
 * xd_model_score's scores with the context module (eq. 1-5 and DRR's
 * residual on x^1) run once per distinct context row of a chunk and the
 * user tower (eq. 6, 8-9, DRR's residual on e~_u) once per distinct
 * (user, context row), rather than per row: for ranking batches, where a
 * row's candidates share its user and its context but for item-scoped
 * features (a row's scores depend on its own inputs only). The same
 * numbers up to float rounding: an sgemm over fewer rows may round a row
 * differently on some OpenBLAS kernels (docs/transfer.md); to the bit
 * when every row's context differs. Not while a validation cache is
 * attached (scored whole).
 */
xd_status	xd_model_score_shared_ctx(xd_model *model, const xd_batch *b, float *scores);

/*
 * Scores n candidate items for one user in one encoded context c[m] (no
 * item-scoped features, so the context is the same for every candidate), the
 * same numbers as xd_model_score on the rows (user, items[i], c, hist[i])
 * up to float rounding, at the cost of M1 and the user tower once plus the
 * item tower per candidate. hist may be NULL (no history). Any n. Uses the
 * model's workspace (not reentrant, like scoring).
 */
xd_status	xd_model_score_items(xd_model *model, int32_t user, const float *c,
								 const int32_t *items, const float *hist, int n,
								 float *scores);

/*
 * The repeat term's r(c) = w_R . c* + b_R for the n rows of the last forward
 * pass (the context outputs c* it left in the workspace) into r[n]; 0 when
 * the model has no repeat term. Serving adds r(c) g(h_ui) to scores it built
 * from the towers' outputs.
 */
void		xd_model_repeat_coef(const xd_model *model, int n, float *r);

/* Whether the model's domain has the repeat term. */
bool		xd_model_has_repeat(const xd_model *model);

/*
 * Takes a lift-only term (cfg.repeat_lift) out of the model: rep.w and rep.b
 * freed and left out of its parameters, cfg.repeat and cfg.repeat_lift
 * cleared, no popularity weight. Training never read the term (w_R = b_R = 0
 * from a draw-free start), so the model left is the one a fit without the
 * term makes, down to its parameter list (what a version stores): option
 * repeat "auto" below its share when validation does not keep the lift
 * (train.h, xd_repeat_auto_decide). domain_alone: the caller vouches that no
 * other model reads the domain (a transfer result's own, transfer.h);
 * otherwise the model must own it (another model would keep pointers into
 * it). XD_EINVAL for a learned term or such a domain; XD_OK and nothing done
 * without a term.
 */
xd_status	xd_model_drop_repeat(xd_model *model, bool domain_alone);

/*
 * Its inverse, on a fitted implicit-feedback model without the term: rep.w
 * and rep.b added as the domain's last two tensors (where xd_domain_new puts
 * them, so the parameter list is a "lift" fit's), both zero (no lift), and
 * cfg.repeat and cfg.repeat_lift set: the lift-only term a "lift" fit
 * carries before its calibration (train.h, xd_repeat_calibrate), which
 * training never reads, so added after the fit it is the term the fit would
 * have had. domain_alone as above. XD_EINVAL with explicit feedback, a term
 * already there or a borrowed domain.
 */
xd_status	xd_model_add_repeat(xd_model *model, bool domain_alone);

/*
 * The largest popularity-in-context weight: the top of the ladder training
 * chooses from (train.h, xd_repeat_pop_ladder). With the prior's counts
 * below 2^24 (xd_cold_prior_ready) the term stays below 1000 log(1 + 2^24),
 * about 16,600, so a score never overflows to infinity.
 */
#define XD_REPEAT_POP_MAX 1000.0f

/*
 * The popularity-in-context weight among the user's own lifted items
 * (xd_model.rep_pop_w): w * xd_cold_cell_pop from table's prior
 * (borrowed; it must outlive the model's scoring). w = 0 or table NULL
 * turns it off. XD_EINVAL for a weight not finite, negative or above
 * XD_REPEAT_POP_MAX, or a weight without a table with a prior of the
 * model's items.
 */
xd_status	xd_model_set_repeat_pop(xd_model *model, const struct xd_cold *table, float w);

/*
 * The term for item v of a history in the encoded context c: 0 without it
 * (no weight, or v not an item of the table).
 */
float		xd_model_repeat_pop(const xd_model *model, const float *c, int32_t v);

/*
 * Popularity in context on every item (xd_model.pop_all_w; docs/serving.md,
 * "Popularity in context on every item"): w * xd_cold_cell_pop from table's
 * prior (borrowed, as above), added to every item's score in inference.
 * w = 0 or table NULL turns it off. XD_EINVAL for a weight not finite,
 * negative or above XD_REPEAT_POP_MAX, an explicit-feedback model, or a
 * table without a prior of the model's items. Unlike the own-item term it
 * needs no repeat term: target-only and every transfer method get it alike.
 */
xd_status	xd_model_set_pop_all(xd_model *model, const struct xd_cold *table, float w);

/* The term for item v in the encoded context c: 0 without it. */
float		xd_model_pop_all(const xd_model *model, const float *c, int32_t v);

/*
 * The training loss of a batch laid out as batch.h describes (implicit: 3
 * n_pos rows; explicit: n_pos rows with ratings), averaged over the positives
 * (eq. 11, 13, 14, 16; DESIGN.md section 3), plus the model's extra loss
 * terms (xd_model_add_loss_term). xd_model_loss_backward also adds
 * its gradients to every parameter's g (dense params in full, embedding rows
 * sparsely). train_mode turns dropout on (mask from rng; rng may be NULL when
 * train_mode is false or dropout is 0). XD_ENUMERIC when the loss is not finite.
 */
xd_status	xd_model_loss(xd_model *model, const xd_batch *b, xd_rng *rng,
						  bool train_mode, double *loss);
xd_status	xd_model_loss_backward(xd_model *model, const xd_batch *b, xd_rng *rng,
								   bool train_mode, double *loss);

/* Sets every gradient to zero (sparse tensors: the touched rows) and clears touched. */
void		xd_model_zero_grad(xd_model *model);

/*
 * One Adam step (lr per group, indexed by xd_group; 0 freezes the group, which
 * is then left bit-identical: values, moments, step counts) on the gradients
 * accumulated since the last step, then zeroes all gradients. Sparse tensors
 * update only their touched rows, each with its own step count for the bias
 * correction. Betas and eps come from model->cfg.
 */
xd_status	xd_adam_step(xd_model *model, const float lr[XD_N_GROUPS]);

/* The common case: lr_shared for XD_GROUP_SHARED and XD_GROUP_RESIDUAL, lr_domain for XD_GROUP_DOMAIN. */
xd_status	xd_adam_step2(xd_model *model, float lr_shared, float lr_domain);

#endif
