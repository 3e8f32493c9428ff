/*
 * serve.h - serving at speed (issue 7): the item tower's outputs under one
 * encoded context, reusable for every user ranked in that context, the
 * scores of many users against them as one matrix product, and top-k by
 * partial selection.
 *
 * The item tower depends on the context only through c* (its gate
 * sigma(W_CV c*)), and the user's side only through its gate sigma(W_CU c*)
 * and the context bias s_c. So for one full encoded context c, everything but
 * the user tower can be computed once and kept (xd_item_outputs); ranking a
 * user in c then costs one user tower and one matrix-vector product.
 * Item-scoped features make c differ per candidate: then c*, the gates and s_c
 * are per item (per_item), and a user costs one batched user tower over all
 * items, still without M1 or the item tower.
 *
 * On top of these, what the ranking functions do with them: one user's
 * scores without the items it has seen, a few candidates scored for
 * predict, and many users in one call (rank_many) grouped by their context.
 */
#ifndef XDREC_SERVE_H
#define XDREC_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

/* One scored item. */
typedef struct xd_hit
{
	float		score;
	int32_t		item;
} xd_hit;

/*
 * The best k of scores[0..n) (item = index), best first into out[0..k):
 * higher score first, ties by smaller index. Entries with keep[i] == 0 (keep
 * may be NULL: all) and NaN scores are skipped. For k <= XD_TOP_K_SORTED the
 * k kept in a sorted array, a newcomer inserted in place (fewer unpredictable
 * branches than a heap: half the time at 372 items, k = 10); above, a size-k
 * min-heap, O(n log k), then the k kept sorted. Both give the same hits.
 * Returns how many (min(k, candidates)); k <= 0 gives 0.
 */
#define XD_TOP_K_SORTED 32
int			xd_top_k(const float *scores, const uint8_t *keep, int n, int k,
					 xd_hit *out);

/*
 * The item tower's outputs for all n_items items of a domain under one
 * context, in caller-owned memory (xd_item_outputs_floats floats, bound with
 * xd_item_outputs_bind):
 *   h_v  [n_items * d]  h_v^L of every item, by id
 *   g_u  [d]            sigma(W_CU c*);  per_item: [n_items * d]
 *   s_c  [1]            w_C . c* + b_C;  per_item: [n_items]
 *   r_c  [1]            the repeat term's r(c) (core.h, 0 without it);
 *                       per_item: [n_items]
 *   p_c  [n_items]      popularity in context among a user's own lifted
 *                       items (core.h, xd_model_repeat_pop; 0 without it)
 *   a_c  [n_items]      popularity in context on every item (core.h,
 *                       xd_model_pop_all; 0 without it)
 */
typedef struct xd_item_outputs
{
	int			n_items;
	int			d;
	bool		per_item;
	float	   *h_v;
	float	   *g_u;
	float	   *s_c;
	float	   *r_c;
	float	   *p_c;
	float	   *a_c;
} xd_item_outputs;

size_t		xd_item_outputs_floats(const xd_model *model, bool per_item);
void		xd_item_outputs_bind(xd_item_outputs *io, const xd_model *model,
								 bool per_item, float *buf);

/*
 * Computes io for the encoded context c[m]. Per item (io->per_item), each
 * item's context is c with its item-scoped features from enc's profiles
 * (xd_encode_item); enc is unused otherwise and may then be NULL. M1 and the
 * towers run in batches of the workspace's rows (one sgemm per layer per
 * batch). Uses the model's workspace (not reentrant, like scoring).
 */
xd_status	xd_item_outputs_compute(xd_model *model, const float *c,
									const xd_feature_encoder *enc, xd_item_outputs *io);

/*
 * Scores every item for n_users users from io: scores[u * n_items + i] is
 * the score of item i for users[u], the same numbers as xd_model_score on
 * the rows (users[u], i, c_i) up to float rounding (summation order).
 * Without per_item, the users' towers are one batch and the scores one sgemm
 * against h_v (one sgemv for one user, so one user's scores may differ from
 * the same user's among many in the last bits); per item, each user takes one
 * batched tower over all items.
 */
xd_status	xd_item_outputs_score(xd_model *model, const xd_item_outputs *io,
								  const int32_t *users, int n_users, float *scores);

/* Floating-point operations of xd_item_outputs_compute + score for one user. */
double		xd_item_outputs_flops(const xd_model *model, bool per_item);

/*
 * The items a domain's users have seen, as compressed rows: user u's are
 * items[off[u] .. off[u + 1]). Ranking with exclude_seen leaves them out;
 * with keep (repeats allowed) they stay, and they are the user's history
 * of the repeat term (core.h: g(h_ui) = 1 for each of them).
 */
typedef struct xd_seen
{
	const int64_t *off;			/* [n_users + 1] */
	const int32_t *items;
	bool		keep;			/* false: left out; true: kept, with the repeat term */
} xd_seen;

/*
 * xd_item_outputs_score, then each user's seen items (seen may be NULL:
 * none left out, no history) set to NaN, which xd_top_k skips, or with
 * seen->keep given the repeat term r(c) (io->r_c) and popularity in
 * context (io->p_c).
 */
xd_status	xd_item_outputs_score_unseen(xd_model *model, const xd_item_outputs *io,
										 const int32_t *users, int n_users,
										 const xd_seen *seen, float *scores);

/*
 * Scores items[0..n) for one user in the encoded context c[m] (predict): one
 * user tower and one context for all (xd_model_score_items) when item_scope
 * is NULL; else each candidate's context is c with its item-scoped features
 * from item_scope's profiles (xd_encode_item), scored in batches of the
 * workspace's rows. hist[n] the candidates' g(h_ui), or NULL (no history).
 * The same numbers as xd_model_score on those rows.
 */
xd_status	xd_score_candidates(xd_model *model, int32_t user, const float *c,
								const xd_feature_encoder *item_scope, const int32_t *items,
								const float *hist, int n, float *scores);

/*
 * New items (issue 19, docs/cold-start.md): an item that arrived after
 * training has no row of E_v, so its embedding is mapped from its
 * item-scoped features, by a ridge regression fit on the trained items:
 *
 *   e_v(x) = A^T [x ; 1],   A = argmin_A sum_i |E_v[i] - A^T [x_i ; 1]|^2 + lambda |A|^2
 *
 * x the item-scoped blocks of an encoded context (for trained item i, of
 * its profile: xd_encode_item). A closed form (the normal equations,
 * Cholesky), a function of the trained E_v and the stored profiles alone.
 */
typedef struct xd_item_map
{
	int			q;				/* item-scoped slots of c */
	int			d;
	int32_t    *slot;			/* [q] their indices in c */
	float	   *A;				/* [(q + 1) * d], the last row the bias */
} xd_item_map;

/*
 * Fits the map on model's trained items and enc's item profiles; ridge
 * lambda > 0. XD_EINVAL when the schema has no item-scoped feature or
 * the domain no item; XD_ENOMEM. Free accepts a zeroed map.
 */
xd_status	xd_item_map_fit(const xd_model *model, const xd_feature_encoder *enc,
							double lambda, xd_item_map *map);
void		xd_item_map_free(xd_item_map *map);
/* The embedding e[d] of an item whose item-scoped features are encoded in c[m]. */
void		xd_item_map_embed(const xd_item_map *map, const float *c, float *e);

/*
 * Scores n new items for one trained user: item r with embedding E[r * d]
 * in its own encoded context c[r * m] (the caller's, its item-scoped blocks
 * the item's), as xd_model_score scores a trained item (its s_v 0 when
 * explicit). Any n; uses the model's workspace.
 */
xd_status	xd_score_embedded_items(xd_model *model, int32_t user, const float *c,
									const float *E, int n, float *scores);

/*
 * rank_many (DESIGN.md section 6) for the users of one domain, each with its
 * full encoded context (user-scoped features make contexts differ): users
 * are grouped by context, and each group is scored against the item
 * outputs of its context as matrix products of at most max_scores scores.
 * The item outputs come from the caller (the PostgreSQL layer caches them
 * across calls), once per distinct context, in the order of the contexts'
 * bytes; the callback may also leave by longjmp (an ereport): the call holds
 * no memory of its own, its scratch is the caller's.
 */
typedef const xd_item_outputs *(*xd_outputs_fn) (void *arg, const float *c);

typedef struct xd_rank_many_opts
{
	int			k;				/* best k per user, >= 1 */
	const xd_seen *seen;		/* exclude_seen; NULL keeps seen items */
	size_t		max_scores;		/* (user, item) scores held at once */
	xd_outputs_fn outputs;		/* the item outputs of a context; NULL: XD_ENOMEM */
	void	   *outputs_arg;
	xd_hooks	hooks;			/* stop polled once per matrix product */

	/*
	 * A blend version (transfer.h, XD_BLEND_A): when blend is set, each
	 * chunk's scores are (1 - blend_a) s_model + blend_a s_blend, blend's
	 * scores from blend_outputs of the same context, same users and seen
	 * (xd_blend_mix); model and blend must make a pair (xd_blend_pair_ok),
	 * else XD_EINVAL. The callbacks are called model's first, then
	 * blend's, for every chunk: a cache may evict one for the other.
	 */
	xd_model   *blend;
	float		blend_a;
	xd_outputs_fn blend_outputs;
	void	   *blend_outputs_arg;
} xd_rank_many_opts;

/*
 * The blend of two fits of one target (transfer.h): s = (1 - a) s_first +
 * a s_second. xd_blend_pair_ok: both given, the same users, items and
 * feedback, a in [0, 1]. xd_blend_mix, for scores computed elsewhere
 * (rank's cached item outputs): scores[r] = (1 - a) scores[r] + a tmp[r];
 * NaN (an item left out, xd_item_outputs_score_unseen) stays NaN.
 */
bool		xd_blend_pair_ok(const xd_model *first, const xd_model *second, float a);
void		xd_blend_mix(float a, int64_t n, float *scores, const float *tmp);

/* Bytes of scratch xd_rank_many needs for n users of a model. */
size_t		xd_rank_many_scratch_bytes(const xd_model *model, int n,
									   const xd_rank_many_opts *o);

/*
 * Ranks users[0..n), user i in context cs[i * m ..]: hits[i * k ..] gets its
 * best items, best first (xd_top_k), and n_hits[i] how many. scratch holds
 * xd_rank_many_scratch_bytes. Users with equal contexts are scored together,
 * in input order within a context, so the result never depends on how the
 * users were grouped.
 */
xd_status	xd_rank_many(xd_model *model, const int32_t *users, const float *cs, int n,
						 const xd_rank_many_opts *o, void *scratch, xd_hit *hits,
						 int *n_hits);

#endif
