/*
 * coldeval.h - the cold-start protocol (DESIGN.md section 5, issue 19): users
 * held out of training entirely are ranked from their first K interactions
 * and tested on their later ones by full ranking (HitRate@10, NDCG@10, MRR),
 * beside the heuristics a demanding user tries first and the papers' own
 * baseline:
 *
 *   cmml           the cold module (cold.h), no gradient step
 *   finetune       MeLU-style: the mean user's embedding, a few Adam steps
 *                  on the support (cold.h, xd_cold_finetune)
 *   pop_domain     the items' training counts in the domain
 *   pop_context    the counts among training rows whose interaction-scoped
 *                  context falls in the query's cell (numeric values in
 *                  eighths of their scaled range, categories as they are),
 *                  then the domain's
 *   support_first  the user's support items first (most often chosen
 *                  first), then pop_context
 *   warm           users trained on their first K_max training rows (the
 *                  same number of training interactions), ranked by the
 *                  warm path on the same kind of queries
 *
 * Queries are every held-out user's rows after its first K_max, the same for
 * every K, so the curves differ by the support alone. Ranks follow
 * xd_eval_full: 1 + (items scoring higher) + half the ties, over all the
 * domain's items, the support's items other than the query's own excluded
 * (the warm user's training items likewise).
 */
#ifndef XDREC_COLDEVAL_H
#define XDREC_COLDEVAL_H

#include <stdint.h>

#include "xdrec/cold.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

/*
 * An item and a count of it (its training rows, or the users it shares with
 * another item), ordered by xd_item_count_cmp: count descending, then item
 * ascending, so ties break the same way everywhere.
 */
typedef struct xd_item_count
{
	int32_t		count;
	int32_t		item;
} xd_item_count;

int			xd_item_count_cmp(const void *a, const void *b);

typedef enum xd_cold_method
{
	XD_COLD_CMML = 0,
	XD_COLD_FINETUNE,
	XD_COLD_POP_DOMAIN,
	XD_COLD_POP_CONTEXT,
	XD_COLD_SUPPORT_FIRST,
	XD_COLD_WARM,
	XD_COLD_N_METHODS
} xd_cold_method;

const char *xd_cold_method_name(xd_cold_method m);

#define XD_COLD_MAX_KS 8
#define XD_COLD_POP_BANDS 3

/*
 * Held-out users' rows in raw form (dataset.h's layout), each user's rows
 * in arrival order: rows [off[u], off[u + 1]). warm[u] is the user's id in
 * the training dataset when it was trained on its first rows (a warm
 * comparison user), -1 for a cold user (no row in training).
 */
typedef struct xd_holdout
{
	int32_t		n_users;
	int64_t    *off;			/* [n_users + 1] */
	int32_t    *items;
	float	   *num;			/* [rows * n_num] */
	int32_t    *codes;			/* [rows * n_codes] */
	int32_t    *warm;			/* [n_users] */
	int32_t    *warm_rows;		/* [n_users] rows of the user in training */
} xd_holdout;

typedef struct xd_coldeval_opts
{
	int			n_ks;
	int			ks[XD_COLD_MAX_KS];	/* 1, 5, 10, 20 */
	int			max_query;		/* queries per user at most (10) */
	int			n_neg;			/* support negatives per positive (2) */
	int			finetune_steps; /* 10 */
	float		finetune_lr;	/* 0.05 */
	uint64_t	seed;			/* the supports' negatives */
	bool		probe_priors;	/* fill the result's blend and cooc cells (false) */
	/*
	 * with probe_priors, per held-out user the training id whose own rows
	 * the co-occurrence prior leaves out (a trained user ranked as if cold,
	 * so its training items do not vouch for themselves), -1 none; NULL:
	 * none for every user
	 */
	const int32_t *cooc_self;
	xd_hooks	hooks;			/* stop polled once per user */
} xd_coldeval_opts;

void		xd_coldeval_opts_default(xd_coldeval_opts *o);

typedef struct xd_cold_cell
{
	double		hit10;
	double		ndcg10;
	double		mrr;
	double		hit10_se;		/* standard error of hit10 over queries */
	int64_t		n;				/* queries */
	double		seconds;		/* building the user side (cmml, finetune) */
	/* the queries whose item is among the support's positives: repeats */
	int64_t		n_rep;
	double		hit10_rep;		/* HitRate@10 over them */
	double		hit10_new;		/* ... and over the other queries */
	double		rho;			/* cmml: the mean task's repeat weight rho */
	/*
	 * the other (new-item) queries by their item's popularity band: the
	 * domain's items by training rows, most chosen first, cut where they
	 * hold a third and two thirds of the training rows (head, middle, tail)
	 */
	int64_t		n_band[XD_COLD_POP_BANDS];
	double		hit10_band[XD_COLD_POP_BANDS];	/* HitRate@10 over them */
} xd_cold_cell;

/*
 * The headroom of two priors the cold path could lean on (docs/cold-start.md,
 * Where the 10% is): cmml's scores, standardised over the ranked items, plus
 * lambda times a standardised prior, either log(1 + pop_context's score) or
 * each item's similarity e_v . e_bar to the mean embedding of the support's
 * positives, or the first on the items outside the support with the
 * support's items ranked first (support_first's order for them, cmml plus
 * pop_context for the rest: lambda from 0, cmml with own items first, towards
 * support_first itself). lambda is swept over xd_cold_blend_lambdas on the test queries
 * themselves, so the best of them bounds what such a prior could add; it is
 * not a result, and nothing is served this way (make report-cold asks for it
 * with probe_priors; evaluate does not).
 */
typedef enum xd_cold_prior
{
	XD_COLD_PRIOR_POP_CONTEXT = 0,
	XD_COLD_PRIOR_ITEM_SIM,
	XD_COLD_PRIOR_SUPPORT_FIRST,	/* pop_context outside the support, support first */
	XD_COLD_N_PRIORS
} xd_cold_prior;

#define XD_COLD_N_LAMBDAS 4
extern const double xd_cold_blend_lambdas[XD_COLD_N_LAMBDAS];	/* 0.1 .. 1 */

/*
 * A third probe prior (docs/cold-start.md, An item co-occurrence prior):
 * item-kNN over the training rows. users(v) counts the training users with
 * v among their distinct training items, users(v, s) those with both; the
 * similarity is, by kind, the cosine of the items' binary user columns,
 * users(v, s) / sqrt(users(v) users(s)), or the conditional share
 * users(v, s) / users(s) (how often a user of s also chose v: popular items
 * score higher); cooc(v) = the sum of sim(v, s) over the support's positive
 * rows s. The cells hold cmml's standardised scores plus each lambda of
 * xd_cold_cooc_lambdas times the standardised cooc, and at
 * XD_COLD_COOC_ALONE cooc itself (pop_context breaking its ties: item-kNN as
 * a heuristic). With cooc_self a user's own training rows are taken out of
 * the counts. Items beyond XD_COLD_COOC_MAX_ITEMS leave the cells empty (an
 * n_items^2 table).
 */
typedef enum xd_cold_cooc_kind
{
	XD_COLD_COOC_COSINE = 0,
	XD_COLD_COOC_CONDITIONAL,
	XD_COLD_N_COOC_KINDS
} xd_cold_cooc_kind;

#define XD_COLD_N_COOC_LAMBDAS 6
extern const double xd_cold_cooc_lambdas[XD_COLD_N_COOC_LAMBDAS];	/* 0.25 .. 8 */
#define XD_COLD_COOC_ALONE XD_COLD_N_COOC_LAMBDAS
#define XD_COLD_COOC_MAX_ITEMS 4096

typedef struct xd_coldeval_result
{
	int			n_ks;
	int			ks[XD_COLD_MAX_KS];
	/* [k][method]; warm is filled at the last K only */
	xd_cold_cell cell[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	/* cmml blended with a prior (above): with a cold module and probe_priors */
	xd_cold_cell blend[XD_COLD_MAX_KS][XD_COLD_N_PRIORS][XD_COLD_N_LAMBDAS];
	/*
	 * with a cold module: the new-item queries (not a support item) by
	 * [cmml hit][support_first hit], HitRate@10, so what either ranker gets
	 * that the other misses (docs/cold-start.md, The K = 5 gap)
	 */
	int64_t		new_hits[XD_COLD_MAX_KS][2][2];
	/* per kind, cmml + lambda cooc at each lambda, then cooc alone (above) */
	xd_cold_cell cooc[XD_COLD_MAX_KS][XD_COLD_N_COOC_KINDS][XD_COLD_N_COOC_LAMBDAS + 1];
	int64_t		n_cold_users;	/* evaluated (more than K_max rows) */
	int64_t		n_warm_users;
} xd_coldeval_result;

/*
 * The protocol's rank of item v by score among the items not excluded
 * (keep[i] != 0; v's own entry aside): 1 + those above + half the ties.
 */
double		xd_cold_rank_in(const double *score, const uint8_t *keep, int n, int32_t v);

/*
 * Runs the protocol for a model trained on ds (ds's encoder encodes the
 * held-out rows; their user-scoped values come from the rows themselves),
 * the cold module cold (may be NULL: no cmml row) and the held-out users h.
 */
xd_status	xd_coldeval_run(xd_model *model, xd_cold *cold, const xd_dataset *ds,
							const xd_holdout *h, const xd_coldeval_opts *o,
							xd_coldeval_result *out);

#endif
