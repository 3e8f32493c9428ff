/*
 * cold.h - ranking users the model was never trained on, feed-forward: the
 * CMML context encoder and the modulation of MMT-Net's user side
 * (seeds/cmml-cikm21.txt, PEERS.md; docs/cold-start.md says why each choice).
 *
 * A cold user is a task whose support set is its few interactions, each
 * with seeded item negatives (CMML, section 4.4: without them Recall@10 fell
 * from 40 to 32). The encoder pools the support into a task context C
 * (paper eq. 6, the pooled encoder):
 *
 *   z_k = [e_v(k) ; c*_k ; y_k]             the domain's item embedding, the
 *                                           shared M1's output, the label
 *   C   = mean_k ReLU(W2 ReLU(W1 z_k + b1) + b2)
 *
 * and C sets the user side of the frozen model (the paper's backbone):
 *
 *   e_u = W_e C + b_e                       the user's embedding (no row of E_u)
 *   h^0 = e_u . sigma(W_CU c*)  (+ DRR's residual in a target, eq. 19)
 *   h^l = ReLU(gamma_l . (W_U^l h^(l-1) + b_U^l) + beta_l)     (paper eq. 11,
 *         FiLM) with gamma_l = 1 + W_g,l C + b_g,l and beta_l = W_b,l C + b_b,l,
 *         both heads starting near 0, so a new encoder starts from the plain
 *         tower (PEERS.md: raw gamma made CMML seed-sensitive)
 *   s   = h^L . h_v + s_c  (+ s_u + s_v + s explicit, s_u = w_s . C + b_s)
 *         (+ r(c) + rho when the model has the repeat term and the item
 *         is among the support's positives: core.h's term with the support
 *         as the user's history, plus the task's own repeat weight
 *         rho = w_rho . C + b_rho, zero at the start)
 *         (+ sum_f lambda_f z_f(c, v): the context-popularity prior below)
 *
 * The context-popularity prior (docs/cold-start.md, The context prior): a
 * per-domain table N of the training rows of each item in each context
 * value (a row per value of each interaction-scoped feature, numeric ones
 * in eighths of their scaled range, and a first row of all the domain's
 * rows), counted when the module is trained and stored with it. Each row's
 * log(1 + N) is standardised over the domain's items, z(r, v); the cold
 * score adds, per interaction feature f and for the domain row,
 * lambda_f,b(v) z(row of c's value of f, v), with lambda = W_l C + k_l / K
 * + b_l (K the support's positives, b(v) the item's popularity band)
 * meta-trained with the encoder from 0, the plain module. The values are read from the encoded c (a one-hot's slot,
 * a numeric's eighth), so every path that has c has its prior.
 *
 * Every tensor of the model stays frozen: warm users are served exactly as
 * before, and (gamma, beta, e_u) are computed once per user, so a cold user
 * costs one support pass plus a warm user's scoring. The paper's hybrid
 * context C_h = C . x_ui (eq. 8) would make the modulation differ per
 * candidate, a tower per item; it is left out for that cost (the dot
 * product h_u . h_v already pairs the task with each item).
 *
 * Tensors are named "cold.enc.W1", "cold.emb.W", "cold.film.g1.W", ..., so
 * the PostgreSQL layer stores them with the version like the model's.
 */
#ifndef XDREC_COLD_H
#define XDREC_COLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

#define XD_COLD_HIDDEN 64
/* item negatives per support positive (CMML used as many as positives) */
#define XD_COLD_NEGATIVES 2
/*
 * the prior's weights are per popularity band of the item (its training
 * rows in the domain: head, middle, tail, cut where the items most chosen
 * first hold a third and two thirds of the rows), so the prior can weigh
 * the head and the tail differently; a new item is in the tail
 */
#define XD_COLD_PRIOR_BANDS 3
/* what own items first adds to a history item's score (serving only) */
#define XD_COLD_FLOOR 1.0e3f
/* the counts of N whose log(1 + k) the module keeps (xd_cold.log1p_count) */
#define XD_COLD_LOG1P_COUNTS 4096

typedef struct xd_cold_ws xd_cold_ws;	/* scratch, private to cold.c */

typedef struct xd_cold
{
	int			d;
	int			m;
	int			in;				/* d + m + 1: [e_v ; c* ; y] */
	int			hidden;
	int			n_layers;		/* the user tower's L_U */
	bool		film;			/* false: e_u only, gamma = 1, beta = 0 */
	xd_feedback feedback;
	xd_param   *W1;				/* "cold.enc.W1"  hidden x in */
	xd_param   *b1;				/* "cold.enc.b1"  1 x hidden */
	xd_param   *W2;				/* "cold.enc.W2"  hidden x hidden */
	xd_param   *b2;				/* "cold.enc.b2"  1 x hidden */
	xd_param   *We;				/* "cold.emb.W"   d x hidden */
	xd_param   *be;				/* "cold.emb.b"   1 x d */
	xd_param  **Wg;				/* "cold.film.g1.W".. [L] d x hidden (film) */
	xd_param  **bg;				/* "cold.film.g1.b".. [L] 1 x d */
	xd_param  **Wb;				/* "cold.film.b1.W".. [L] d x hidden */
	xd_param  **bb;				/* "cold.film.b1.b".. [L] 1 x d */
	xd_param   *ws_u;			/* "cold.bias.W"  1 x hidden (explicit) */
	xd_param   *bs_u;			/* "cold.bias.b"  1 x 1 (explicit) */
	xd_param   *w_rho;			/* "cold.rep.W"   1 x hidden (repeat term) */
	xd_param   *b_rho;			/* "cold.rep.b"   1 x 1 (repeat term) */
	/*
	 * the context-popularity prior (above), when made with a schema:
	 * n_prior = interaction features + 1 values z, n_lam = n_prior *
	 * XD_COLD_PRIOR_BANDS weights, prior_rows rows of N
	 */
	int			n_prior;
	int			n_lam;
	int			prior_rows;
	int32_t		n_items;		/* N's columns */
	/*
	 * the joint context cell (xd_cold_new_joint): rows of N after the
	 * marg_rows marginal ones, one per cell of every interaction feature's
	 * values together (the pop_context heuristic's cell), the last z of a
	 * row's prior; 0 cells without it
	 */
	int			marg_rows;
	int32_t		joint_cells;
	xd_param   *prior_N;		/* "cold.prior.N" prior_rows x n_items counts */
	xd_param   *lam_W;			/* "cold.prior.W" n_lam x hidden */
	xd_param   *lam_k;			/* "cold.prior.k" 1 x n_lam (times 1/K) */
	xd_param   *lam_b;			/* "cold.prior.b" 1 x n_lam; [f * BANDS + b] */
	int32_t    *pf_off;			/* [n_prior - 1] each feature's block in c */
	int32_t    *pf_width;		/* ... its slots (1: numeric or boolean) */
	int32_t    *pf_base;		/* ... its first row of N */
	int32_t    *pf_stride;		/* ... its place in the joint cell's index */
	uint8_t    *pf_type;		/* ... its xd_feature_type */
	float	   *prior_mu;		/* [prior_rows] mean of log(1 + N) over items */
	float	   *prior_isd;		/* [prior_rows] 1 / its sd (0 when constant) */
	uint8_t    *prior_band;		/* [n_items] each item's band, from N's row 0 */
	/*
	 * log(1 + k) for the counts k below XD_COLD_LOG1P_COUNTS, as log1pf
	 * gives it: N holds integral counts (xd_cold_prior_ready), so the
	 * prior's pass over every item looks most of them up instead of calling
	 * log1pf per item, with the same values bit for bit
	 */
	float	   *log1p_count;
	/*
	 * set by meta-training per episode (may be NULL): the episode user's
	 * own counted rows as (row of N, item) pairs, n_self of them, which the
	 * prior leaves out of N (leave the user out), as a held-out user's rows
	 * are in no count
	 */
	const int32_t *prior_self;	/* [2 * n_self]: row, item */
	int			n_self;
	/*
	 * own items first: serving (not the loss) ranks the task's history above
	 * every other item; "cold.rep.floor" 1 x 1, 0 or 1, with rho, chosen on
	 * the validation episodes (xd_cold_train)
	 */
	xd_param   *floor;
	/*
	 * the item co-occurrence prior (xd_cold_cooc_fit, below), when fitted:
	 * "cold.cooc.nbr" n_items x cooc_width neighbour ids (as floats, -1
	 * after the last), "cold.cooc.share" their conditional shares,
	 * "cold.cooc.lambda" 1 x 1 its weight (0: cmml's scores as they are)
	 */
	int			cooc_width;
	xd_param   *cooc_nbr;
	xd_param   *cooc_share;
	xd_param   *cooc_lambda;
	xd_param   *params;			/* [n_params] */
	int			n_params;
	xd_cold_ws *ws;
} xd_cold;

/*
 * Allocates (zeroed) the encoder and heads for a model config; film turns
 * the modulation heads on. cap: the most support or query rows one pass
 * takes (xd_model_max_rows of the model it serves). prior (may be NULL: no
 * prior) is the model's schema, n_items the domain's items: the prior's
 * table and heads. Free accepts NULL.
 */
xd_status	xd_cold_new(const xd_config *cfg, const xd_schema *prior, int32_t n_items,
						bool film, int hidden, int cap, xd_cold **out);

/*
 * ... with the joint context cell as one more prior value (joint: when the
 * schema has two interaction features or more and the table stays within
 * XD_COLD_PRIOR_MAX_BYTES; xd_cold_joint_cells), measured in
 * docs/cold-start.md (A task-adaptive joint-cell prior).
 */
xd_status	xd_cold_new_joint(const xd_config *cfg, const xd_schema *prior, bool joint,
							  int32_t n_items, bool film, int hidden, int cap,
							  xd_cold **out);

/* The joint cells of a schema's interaction features, 0 when none or too many. */
int32_t		xd_cold_joint_cells(const xd_schema *s, int32_t n_items);

/* The prior's rows of N for a schema: 1 + each interaction feature's values. */
int			xd_cold_prior_rows(const xd_schema *s);

/*
 * The prior's table is rows x items floats, and a categorical interaction
 * feature may have up to a million values: above this many bytes of N the
 * module is trained without a prior (xd_cold_prior_fits; the summary's
 * "prior" says which), so training and every served version stay bounded.
 */
#define XD_COLD_PRIOR_MAX_BYTES ((size_t) 64 * 1024 * 1024)

/* Whether the prior's table for schema s and n_items items is within the bound. */
bool		xd_cold_prior_fits(const xd_schema *s, int32_t n_items);

/*
 * Counts N from ds's training rows (the data the model was trained on),
 * then xd_cold_prior_ready. XD_EINVAL when cold has no prior or ds another
 * item count.
 */
xd_status	xd_cold_prior_count(xd_cold *cold, const xd_dataset *ds);

/*
 * After N is set (counted, or read from storage): validates it (finite,
 * >= 0, integral: XD_EINVAL otherwise) and the floor (0 or 1), and derives
 * each row's mean and sd and each item's band. A module without a prior:
 * only the floor.
 */
xd_status	xd_cold_prior_ready(xd_cold *cold);

/*
 * Serving: from now on the prior's pass over every item keeps, per prior
 * feature, the last row of N it read as log(1 + N) - mu, so a call in the
 * context of the call before reads it instead of computing it (the same
 * values bit for bit). N must not change after it but through
 * xd_cold_prior_ready (training, which changes N per episode, does not
 * call it). At most xd_cold_prior_keep_bytes of the module's schema. A
 * module without a prior: nothing. XD_ENOMEM.
 */
xd_status	xd_cold_prior_keep(xd_cold *cold);
size_t		xd_cold_prior_keep_bytes(const xd_schema *s, int32_t n_items);

/*
 * The prior's rows of N for an encoded context c: rows[f] for each
 * interaction feature f (n_prior - 1 of them), then row 0 (the domain's).
 */
void		xd_cold_prior_rows_of(const xd_cold *cold, const float *c, int32_t *rows);

/*
 * Popularity in context of item v in the encoded context c, from the
 * prior's table N: the least over c's interaction features of log(1 + N)
 * in the row of c's value of the feature (none: the domain's row 0). The
 * rows in c's joint cell are at most each of those counts, so the least is
 * the tightest bound on the joint cell's count the marginal rows give; on
 * DePaulMovie (three interaction features) the mean of the logs instead
 * ranked each test positive below its own item in other contexts (sampled
 * MRR -15.7%), the least did not (-1.8%, a tie; docs/transfer.md). A joint
 * cell, when the module has one, is not read: the term is the same with
 * and without option joint. 0 without a prior or for v not among its items.
 * The repeat term's popularity among the user's own items reads it (core.h,
 * xd_model_set_repeat_pop).
 */
float		xd_cold_cell_pop(const xd_cold *cold, const float *c, int32_t v);
/* Xavier-uniform encoder and embedding head, the FiLM heads at 0.01 of it. */
void		xd_cold_init(xd_cold *cold, xd_rng *rng);
void		xd_cold_free(xd_cold *cold);
/* The parameter of that name, or NULL. */
xd_param   *xd_cold_find_param(xd_cold *cold, const char *name);

/*
 * A support set: n rows (a cold user's positives and their negatives) with
 * the encoded context of each row (its item's item-scoped features in it)
 * and a label: implicit 1 or 0, explicit the rating less the model's
 * global bias s.
 */
typedef struct xd_support
{
	int			n;
	int			capacity;
	int			m;
	int32_t    *items;			/* [capacity]; XD_SUPPORT_NEW_ITEM: its row of emb */
	float	   *c;				/* [capacity * m] */
	float	   *label;			/* [capacity] */
	/*
	 * rows of items that arrived after training (xd_support_add_new): their
	 * mapped embeddings (serve.h's xd_item_map), d floats a row; NULL until
	 * the first such row
	 */
	int			d;
	float	   *emb;			/* [capacity * d] */
} xd_support;

/* the item of a support row pooled by its given embedding (a new item) */
#define XD_SUPPORT_NEW_ITEM (-1)

xd_status	xd_support_init(xd_support *s, int capacity, int m);
void		xd_support_free(xd_support *s);

/*
 * Appends a positive (item, c, label) and, for implicit feedback,
 * n_neg item negatives drawn from rng uniformly among the other n_items
 * items, each with c carrying its own item-scoped features (enc; NULL when
 * the schema has none) and label 0. XD_EINVAL when it does not fit.
 */
xd_status	xd_support_add(xd_support *s, int32_t item, const float *c, float label,
						   int n_neg, int32_t n_items, const xd_feature_encoder *enc,
						   xd_rng *rng);

/*
 * ... a positive whose item arrived after training, pooled by its mapped
 * embedding e[d] (serve.h's xd_item_map_embed of c's item-scoped part)
 * instead of a row of E_v: CMML's z_k = [e_v ; c* ; y] needs only an
 * embedding. Its n_neg negatives are drawn uniformly among all n_items
 * trained items. XD_EINVAL when it does not fit or d differs from an
 * earlier new row's.
 */
xd_status	xd_support_add_new(xd_support *s, const float *e, int d, const float *c,
							   float label, int n_neg, int32_t n_items,
							   const xd_feature_encoder *enc, xd_rng *rng);

/*
 * The seed a support's negatives are drawn from: a hash of its positives'
 * items and contexts and of the version's seed, so the same rows, read from
 * the table or given as a session's history, give the same negatives.
 */
uint64_t	xd_support_seed(const int32_t *items, const float *c, int n, int m,
							uint64_t seed);

/* What the encoder made of one support: the user side, ready to score. */
typedef struct xd_cold_task
{
	int			n_support;		/* rows pooled */
	float	   *C;				/* [hidden] */
	float	   *e_u;			/* [d] */
	float	   *gamma;			/* [L * d] 1 + delta gamma */
	float	   *beta;			/* [L * d] */
	float		s_u;			/* explicit: the user bias */
	float		rho;			/* the task's repeat weight (0 without it) */
	float		inv_k;			/* 1 / the support's positives */
	float	   *lambda;			/* [n_lam] the prior's weights */
	/*
	 * the repeat term's history (core.h): the support's positive items,
	 * ascending and distinct, g(h_ui) = 1 for each; empty when the model
	 * has no repeat term
	 */
	int32_t    *hist;
	int			n_hist;
	/*
	 * the co-occurrence prior's cooc(v) of the support's positives and
	 * which items are among them (left out of the blend's statistics), when
	 * the module's lambda is above 0 (xd_cold_cooc_fit); NULL otherwise
	 */
	float	   *cooc;			/* [n_items] */
	uint8_t    *cooc_in;		/* [n_items] */
} xd_cold_task;

xd_status	xd_cold_task_init(xd_cold_task *t, const xd_cold *cold);
void		xd_cold_task_free(xd_cold_task *t);

/*
 * The task of a support (at most the model's workspace rows, n >= 1): M1 on
 * its contexts, the encoder, the heads. Inference only; uses the model's
 * workspace. XD_EINVAL on an item out of range or an empty support. A new
 * item's row (XD_SUPPORT_NEW_ITEM) is pooled by its given embedding, and is
 * not in the task's history (the repeat term and own items first know
 * trained items only).
 */
xd_status	xd_cold_encode(xd_cold *cold, xd_model *model, const xd_support *s,
						   xd_cold_task *t);

/*
 * Scores every item for a task from the item tower's outputs of one encoded
 * context c (serve.h; c's interaction-scoped values pick the prior's rows),
 * as xd_item_outputs_score scores a warm user: scores[n_items].
 */
struct xd_item_outputs;
xd_status	xd_cold_score_outputs(xd_cold *cold, xd_model *model,
								  const xd_cold_task *t, const float *c,
								  const struct xd_item_outputs *io, float *scores);

/*
 * Scores n rows (items[r] in its own encoded context c[r * m]) for a task;
 * the rows' users are not read. Any n.
 */
xd_status	xd_cold_score_rows(xd_cold *cold, xd_model *model, const xd_cold_task *t,
							   const int32_t *items, const float *c, int n,
							   float *scores);
/*
 * ... rows of new items (serve.h's xd_item_map) given by their embeddings
 * E[n * d] instead of items: no item bias. Any n.
 */
xd_status	xd_cold_score_embedded(xd_cold *cold, xd_model *model, const xd_cold_task *t,
								   const float *E, const float *c, int n, float *scores);

/*
 * One episode's loss (training): the task of support s scores the rows of
 * query q, laid out as batch.h's training batches (implicit: positives,
 * item negatives, context negatives; explicit: ratings), with the model's
 * own loss (DESIGN.md section 3, eq. 13-14 or 16) averaged over q's
 * positives. A context negative whose item is in the task's history (the
 * support's positives) counts nothing: serving ranks a history item against
 * other items in one context, and such a row (the positive's own item in
 * another context, its g = 1) pulls rho toward zero, or, without rho in it,
 * the item's own score down (docs/cold-start.md, The repeat term). With
 * grad, scale times its gradient w.r.t. every parameter of cold is added
 * into their g; the model is only read.
 */
xd_status	xd_cold_episode_loss(xd_cold *cold, xd_model *model, const xd_support *s,
								 const xd_batch *q, bool grad, float scale,
								 double *loss);

/*
 * The ranking loss over k negatives per positive (xd_cold_opts.
 * rank_negatives; docs/cold-start.md, A ranking loss): q holds n_pos
 * positives, then k rounds of one negative each, row n_pos * (1 + j) + i the
 * j-th negative of positive i, in the positive's context (k = 1 is
 * batch.h's layout without its context negatives). Each positive's loss is
 * the sampled softmax of it against its negatives,
 *
 *   L_i = log sum_j exp(s_j - log q(v_j)) - (s_i - log q(v_i))
 *
 * (j over the positive and its negatives), averaged over the positives:
 * logq[n] the log-probability of each row's item under the proposal the
 * negatives were drawn from (NULL: uniform, a constant that cancels), the
 * correction that makes a non-uniform proposal estimate the softmax over
 * every item (Jean et al. 2015; Yi et al. 2019, the logQ correction). A
 * negative among the task's history other than its positive's item counts
 * nothing (the cold protocol ranks without the support's other items).
 * Implicit feedback only; 1 <= k <= XD_COLD_RANK_MAX. Gradient as
 * xd_cold_episode_loss's.
 */
#define XD_COLD_RANK_MAX 64
/*
 * xd_cold_opts_default's k: FiLM's K = 5 HitRate@10 +0.062 (6.4 s.e.) on
 * the synthetic world over 6 paired seeds, the real tables within noise
 * (docs/cold-start.md, A ranking loss)
 */
#define XD_COLD_RANK_NEGATIVES 16
xd_status	xd_cold_episode_rank_loss(xd_cold *cold, xd_model *model, const xd_support *s,
									  const xd_batch *q, int k, const float *logq,
									  bool grad, float scale, double *loss);

/*
 * After xd_cold_episode_loss on an implicit query q: how many of q's
 * positives scored above their item negative (ties count half), the
 * ranking the loss stands in for (context negatives left out: serving
 * ranks items in one context), as serving ranks them (own items first when
 * the module's floor is on); a negative among the support's other items
 * counts as won (the cold protocol, and exclude_seen, rank without them).
 */
double		xd_cold_episode_wins(const xd_cold *cold, const xd_batch *q);

/*
 * The fine-tuning baseline (MeLU-style, PEERS.md): no encoder; the user's
 * embedding starts at e0[d] and takes `steps` Adam steps of rate lr on the
 * support's own loss (its positives against its negatives, squared as the
 * model's), everything else frozen. Writes t->e_u (gamma 1, beta 0, s_u 0).
 * Needs a cold made for the model (its scratch); its tensors are unused.
 */
xd_status	xd_cold_finetune(xd_cold *cold, xd_model *model, const xd_support *s,
							 const float *e0, int steps, float lr, xd_cold_task *t);

/* The mean of the embeddings of users with a training row: e0 for finetune. */
void		xd_cold_mean_user(const xd_model *model, const xd_dataset *ds, float *e0);

/* ---------------------------------------------------------------- co-occurrence */

/*
 * The item co-occurrence prior (docs/cold-start.md, The co-occurrence
 * prior): item-kNN over the training rows. users(s) counts the training
 * users with s among their distinct training items, users(v, s) those with
 * both; the conditional share users(v, s) / users(s) says how often a user
 * of s also chose v. The module stores, per item s, its cooc_width items v
 * of the most users(v, s) (s itself among them, share 1; ties to the lower
 * id)
 * with their shares, so a cold task's
 *
 *   cooc(v) = sum over the support's positive rows s of share(s, v)
 *
 * costs one pass over the support times the width. The served score is
 * cmml's plus lambda times the standardised cooc in cmml's scale,
 *
 *   s'(v) = s(v) + lambda sd(s) / sd(cooc) cooc(v)
 *
 * (means and sds over the items outside the support's positives), which
 * ranks as z(s) + lambda z(cooc) does, the blend measured in
 * docs/cold-start.md, and adds nothing to an item without co-occurrence
 * (an item that arrived after training). lambda 0 leaves every score as it
 * was, bit for bit. Implicit feedback only.
 */
#define XD_COLD_COOC_NEIGHBOURS 100
/* the table's bytes at most (ids and shares): a narrower table above it */
#define XD_COLD_COOC_MAX_BYTES ((size_t) 64 * 1024 * 1024)
/* sum over users of their distinct training items squared: the count's work at most */
#define XD_COLD_COOC_MAX_PAIRS ((int64_t) 2000000000)
/* lambda's grid, 0 first (validation keeps 0 unless another ranks better) */
#define XD_COLD_COOC_N_GRID 7
extern const float xd_cold_cooc_grid[XD_COLD_COOC_N_GRID];

/* The table's width for n_items items: 0 when even one neighbour is beyond the bound. */
int			xd_cold_cooc_width(int32_t n_items);

/*
 * Adds the prior's three tensors (zeroed: no neighbour, lambda 0) to a
 * module of n_items items, as read from storage. XD_EINVAL when it has
 * them already or the width is 0.
 */
xd_status	xd_cold_cooc_new(xd_cold *cold, int32_t n_items);

/*
 * Validates the stored prior: ids integral in [-1, n_items), a row's -1s
 * after its ids, shares finite in [0, 1] (0 after the ids), lambda finite
 * and >= 0. XD_OK without a prior.
 */
xd_status	xd_cold_cooc_ready(const xd_cold *cold);

/*
 * lambda's choice on validation, as report_cold's --valid-lambda chose the
 * probe's: trained users (at most XD_COLD_COOC_VALID_USERS, in id order) with
 * XD_COLD_COOC_VALID_K training rows and a validation row, each ranked from
 * its first K training rows (n_neg seeded negatives each) on up to
 * XD_COLD_COOC_VALID_QUERIES of its validation rows over every item but the
 * support's others; the user's own rows are taken out of the counts (its
 * training items would vouch for its support through itself). The lambda of
 * the grid with the best HitRate@10, above lambda 0's; ties to the smaller.
 */
#define XD_COLD_COOC_VALID_USERS 1000
#define XD_COLD_COOC_VALID_K 5
#define XD_COLD_COOC_VALID_QUERIES 5

typedef struct xd_cold_cooc_report
{
	bool		fitted;			/* a table was counted (else why_not) */
	const char *why_not;		/* explicit feedback, too many items or pairs */
	int			width;
	int64_t		bytes;			/* the table's ids and shares */
	int64_t		n_users;		/* validation users ranked */
	int64_t		n_queries;		/* their validation positives */
	double		valid_hit10[XD_COLD_COOC_N_GRID];	/* per lambda of the grid */
	float		lambda;			/* kept */
	double		seconds;
} xd_cold_cooc_report;

/*
 * Counts the table from ds's training rows (the data the model and the
 * module were fitted on), adds it to the module and chooses lambda
 * (above) with the module as it is. Explicit feedback, or a table beyond
 * XD_COLD_COOC_MAX_PAIRS of work or without width: no table, XD_OK,
 * rep->why_not says. XD_EINVAL when the module has a table already or ds
 * another item count. hooks (may be NULL): stop polled once per validation
 * user. The model is only read.
 */
xd_status	xd_cold_cooc_fit(xd_cold *cold, xd_model *model, const xd_dataset *ds,
							 int n_neg, uint64_t seed, const xd_hooks *hooks,
							 xd_cold_cooc_report *rep);

/*
 * cooc(v) of a support's positive rows s (label above 0.5; a new item's
 * row adds nothing) into cooc[n_items] and the items among them into
 * in[n_items], from the module's table (xd_cold_encode's, lambda above 0).
 */
void		xd_cold_cooc_of(const xd_cold *cold, const xd_support *s, float *cooc, uint8_t *in);

/*
 * scores[v] += lambda sd(scores) / sd(cooc) cooc[v] over n items, the
 * statistics over the items not in out (above; sd(scores) 1 when the
 * scores are flat, so cooc ranks them as z(cooc) would); nothing when
 * lambda or sd(cooc) is 0.
 */
void		xd_cold_cooc_blend(const float *cooc, const uint8_t *out, int n, float lambda,
							   float *scores);

/* ---------------------------------------------------------------- meta-training */

typedef struct xd_cold_opts
{
	bool		film;			/* the modulation heads (true) */
	bool		rho;			/* the task's repeat weight, when the model has
								 * the repeat term (true) */
	bool		prior;			/* the context-popularity prior (true) */
	bool		joint;			/* ... with the joint context cell (false) */
	bool		scale_prior;	/* ... its weights' scale chosen on the
								 * validation ranking (true) */
	int			hidden;			/* 64 */
	int			max_support;	/* K is drawn uniformly in 1..max_support (20) */
	int			n_neg;			/* support negatives per positive (2) */
	int			max_query;		/* query positives per episode (16) */
	float		pop_negatives;	/* share of the query's item negatives drawn
								 * in proportion to the items' training rows
								 * (the item of a uniform training row), the
								 * rest uniform as sample.c draws them; 0
								 * draws nothing more (0) */
	int			rank_negatives; /* k > 0: the query loss is the sampled
								 * softmax of each positive against k
								 * negatives (xd_cold_episode_rank_loss),
								 * implicit feedback; 0: the model's own
								 * pointwise loss (XD_COLD_RANK_NEGATIVES) */
	bool		rank_popular;	/* ... its negatives drawn in proportion to
								 * the items' training rows plus one, with
								 * the logQ correction (false: uniform) */
	int			episodes_per_step;	/* episodes averaged per Adam step (16) */
	int			max_epochs;		/* passes over the training users (30) */
	int			patience;		/* epochs without a better validation loss (4) */
	float		lr;				/* Adam (1e-3) */
	int64_t		max_episodes;	/* episodes per epoch at most (20,000) */
	uint64_t	seed;
	xd_hooks	hooks;			/* stop polled once per episode */
} xd_cold_opts;

void		xd_cold_opts_default(xd_cold_opts *o);

/*
 * An implicit query batch's item negatives (rows [n_pos, 2 n_pos), drawn
 * uniformly by xd_sample_batch from the positives' rows qrows) redrawn,
 * each with probability share, in proportion to the items' training rows
 * of ds: the item of a uniform training row, another than the positive's
 * (8 tries, else the uniform one stays). The negative keeps its positive's
 * interaction context with its own item-scoped features, and its history
 * g when q has one, as sample.c builds it. Share 0 (or explicit feedback)
 * changes nothing and draws nothing from rng. What xd_cold_train does to
 * every episode's query with xd_cold_opts.pop_negatives.
 */
void		xd_cold_popular_negatives(const xd_dataset *ds, const int64_t *qrows, float share,
									  xd_rng *rng, xd_batch *q);

/*
 * The query of a ranking episode (xd_cold_episode_rank_loss's layout): the
 * positives rows[0..n_pos) of ds as xd_sample_batch encodes them, then k
 * rounds of one negative per positive, in its context with the negative's
 * own item-scoped features and history g, never the positive's item. With
 * logq_item NULL the negatives are uniform over the other items and logq
 * (when not NULL) is 0; else they are drawn from the proposal whose log
 * probability per item logq_item gives, xd_cold_popular_logq's (the item of
 * a uniform training row, or a uniform item), and logq[row] is its value of
 * the row's item. q needs (1 + k) n_pos rows; XD_EINVAL otherwise.
 */
xd_status	xd_cold_rank_query(const xd_dataset *ds, const int64_t *rows, int n_pos, int k,
							   const float *logq_item, xd_rng *rng, xd_batch *q,
							   float *logq);

/*
 * The popularity proposal of ds's items: q(v) = (its training rows + 1) /
 * (training rows + items), as log q(v) into logq_item[n_items].
 */
void		xd_cold_popular_logq(const xd_dataset *ds, float *logq_item);

typedef struct xd_cold_report
{
	int			epochs;
	int			best_epoch;
	double		best_valid_loss;	/* mean episode loss on validation episodes */
	double		first_valid_loss;	/* before training: the plain tower's */
	double		valid_auc;		/* the kept epoch's validation positives scored
								 * above their item negative (implicit) */
	double		valid_hit10;	/* ... ranked in the top 10 of every item, as
								 * the cold protocol ranks (implicit; else 0) */
	double		valid_mrr;		/* ... their mean reciprocal rank */
	int64_t		n_valid_ranked;	/* the validation positives ranked: each
								 * validation episode's query (up to
								 * max_query), within XD_COLD_RANK_SCORES */
	int64_t		n_train_users;	/* users episodes were cut from */
	int64_t		n_valid_users;
	int64_t		episodes;		/* trained, all epochs */
	bool		floor;			/* own items first was kept (xd_cold.floor) */
	double		prior_scale;	/* the prior's scale kept (scale_prior; else 1) */
	int			rank_negatives;	/* the ranking loss's k trained with (0: the
								 * model's pointwise loss; explicit feedback) */
	double		seconds;
} xd_cold_report;

/*
 * Meta-trains a cold module for a trained model on episodes cut from ds
 * (the data the model was trained on; users with >= 2 training rows): each
 * episode draws a user, K of its training rows as the support (with
 * negatives) and up to max_query of the others as the query. Validation
 * episodes take the support from a user's training rows and the query from
 * its validation rows. Keeps the epoch with the lowest validation loss.
 * start (may be NULL) is copied as the starting point, e.g. the source's
 * module for a target (tensors of the same name and shape; rho follows
 * the model's own term: a start's rho the model lacks is left out, one
 * the start lacks begins at 0). With o->prior
 * the prior's table is counted from ds's training rows first. With
 * implicit feedback the kept epoch's validation positives (every one of
 * each episode's query) are then ranked over every item, as the cold
 * protocol ranks (valid_hit10, valid_mrr), and with rho own items first
 * (the floor) is kept when it ranks them better (HitRate@10, then MRR).
 * The model is only read. XD_ENODATA when no user has two training rows.
 */
xd_status	xd_cold_train(xd_model *model, const xd_dataset *ds, xd_cold *start,
						  const xd_cold_opts *o, xd_cold **out, xd_cold_report *rep);

/*
 * Which of n modules meta-trained on the same data (variants: FiLM or not,
 * rho, the prior) to keep: the one whose validation positives rank best
 * over every item (valid_hit10, then valid_mrr), the lowest validation loss
 * on a tie (explicit feedback, where both are 0). The loss is a proxy for
 * the ranking and often keeps a variant that ranks worse
 * (docs/cold-start.md).
 */
int			xd_cold_pick(const xd_cold_report *reps, int n);

/*
 * Option cold_min (docs/cold-start.md, Warm users with few rows): whether
 * a trained user with fewer than min_rows distinct training items (the
 * items serving knows they have seen) ranks better by the
 * warm path (their trained embedding) or by the cold path (the module
 * pooling up to max_support of their training rows, the most recent last,
 * as serving reads them, with n_neg seeded negatives each). Each such user's
 * validation positives (up to XD_COLD_MIN_QUERY each) are ranked in their
 * own context by both paths (ties half), within XD_COLD_MIN_SCORES item
 * scores per path, as serving ranks under rank's exclude_seen: keep_seen
 * false, against every item but the user's training items (a positive
 * among them is not ranked); true, against every item, the warm path with
 * the repeat term over the user's seen items (xd_item_outputs_score_unseen)
 * and the cold path with its own over the support's. The cold path wins
 * when its HitRate@10 is higher by more than XD_COLD_MIN_MARGIN paired
 * standard errors (of the positives' hit differences) over at least
 * XD_COLD_MIN_RANKED positives; else the warm path, the users' own
 * embeddings, stays (too_few says when there were too few positives). Why
 * a margin: on 60-90 positives a strict comparison followed noise as often
 * as signal (docs/cold-start.md). Implicit feedback only (XD_EINVAL on
 * explicit). The model and the module are only read.
 */
#define XD_COLD_MIN_QUERY 16
#define XD_COLD_MIN_RANKED 20
#define XD_COLD_MIN_MARGIN 1.0
#define XD_COLD_MIN_SCORES ((int64_t) 20000000)

typedef struct xd_cold_min_report
{
	int			min_rows;
	int64_t		n_users;		/* users with 1..min_rows - 1 distinct training
								 * items and a validation row */
	int64_t		n_ranked;		/* their validation positives ranked */
	double		warm_hit10;
	double		warm_mrr;
	double		cold_hit10;
	double		cold_mrr;
	double		hit10_se;		/* the paired standard error of cold_hit10 -
								 * warm_hit10 over the positives */
	bool		too_few;		/* fewer than XD_COLD_MIN_RANKED ranked */
	bool		use_cold;		/* serve such users by the cold path */
	double		seconds;
} xd_cold_min_report;

xd_status	xd_cold_min_compare(xd_model *model, const xd_dataset *ds, xd_cold *cold,
								int min_rows, int max_support, int n_neg, bool keep_seen,
								uint64_t seed, const xd_hooks *hooks,
								xd_cold_min_report *rep);

/*
 * The choice alone (unit-tested): cold when it ranked at least
 * XD_COLD_MIN_RANKED positives and cold_hit10 - warm_hit10 exceeds
 * XD_COLD_MIN_MARGIN hit10_se.
 */
bool		xd_cold_min_prefers_cold(const xd_cold_min_report *rep);

/* ---------------------------------------------------------------- adapted targets */

/*
 * A target domain's module (docs/cold-start.md, Adapted targets), meta-
 * trained on episodes cut from the target's training rows with the adapted
 * model frozen, the source's module its learned initialisation. FiLM
 * modulates whatever user tower the target's model scores with: under DRR
 * (and the few-shot adaptation) the source's frozen tower, after the
 * target's residual (eq. 19); under Anneal the tower fine-tuned from the
 * source's; under target-only the target's own tower, trained from
 * scratch, for which the source's heads were not learned, so a module
 * from a fresh start is a candidate there too.
 *
 * Candidates, kept by xd_cold_pick on the target's validation episodes:
 *   XD_COLD_START_AS_IS        the source's module, no epoch (the prior's
 *                              table counted on the target, its floor and
 *                              scale chosen again on the target)
 *   XD_COLD_START_FROM_SOURCE  meta-trained from it (o: few epochs, an early
 *                              stop soon: xd_cold_target_opts_default)
 *   XD_COLD_START_FRESH        meta-trained from xd_cold_init (own_towers)
 * A target with fewer than XD_COLD_TARGET_MIN_USERS users of two training
 * rows, or of a training and a validation row, is too small to cut episodes
 * from or to stop on: the source's module as is, without validation (the
 * floor and scale the source chose), and too_small says so.
 */
#define XD_COLD_TARGET_EPOCHS 8
#define XD_COLD_TARGET_MIN_USERS 20

typedef enum xd_cold_start
{
	XD_COLD_START_AS_IS = 0,
	XD_COLD_START_FROM_SOURCE,
	XD_COLD_START_FRESH,
	XD_COLD_N_STARTS
} xd_cold_start;

const char *xd_cold_start_name(xd_cold_start s);

typedef struct xd_cold_target_report
{
	xd_cold_start kept;
	bool		too_small;		/* kept as is without a validation */
	int			n_cand;			/* candidates trained: 0 when too small */
	xd_cold_report cand[XD_COLD_N_STARTS];	/* each candidate's, by xd_cold_start */
	int64_t		n_train_users;	/* users with two training rows */
	int64_t		n_valid_users;	/* ... with a training and a validation row */
	double		seconds;		/* every candidate's */
} xd_cold_target_report;

/* xd_cold_opts_default with a target's budget: XD_COLD_TARGET_EPOCHS, patience 2. */
void		xd_cold_target_opts_default(xd_cold_opts *o);

/*
 * The module of a target (above) for its adapted model on ds (the target's
 * data), from source (the source's module; film and hidden as o's). The
 * model and source are only read; *out is the kept candidate. cands (may
 * be NULL: freed) receives the others, [XD_COLD_N_STARTS] by xd_cold_start,
 * NULL for the kept one and those not trained, for the caller to free (a
 * report compares them). XD_EINVAL without a source or on a mismatch.
 */
xd_status	xd_cold_train_target(xd_model *model, const xd_dataset *ds, xd_cold *source,
								 bool own_towers, const xd_cold_opts *o, xd_cold **out,
								 xd_cold_target_report *rep, xd_cold **cands);

#endif
