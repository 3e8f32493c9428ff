/*
 * rank.c - the ranking module M4 of MMT-Net (eq. 10, 12, 15), the whole
 * forward and backward pass over a batch, and scoring (DESIGN.md section 3).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/cold.h"

bool
xd_model_has_repeat(const xd_model *model)
{
	return model->domain->w_R != NULL;
}

void
xd_model_repeat_coef(const xd_model *model, int n, float *r)
{
	const xd_domain *dom = model->domain;
	int			m = model->cfg.m;

	if (!dom->w_R)
	{
		memset(r, 0, sizeof(float) * (size_t) n);
		return;
	}
	/* r(c) = w_R . c* + b_R, the repeat term's weight in context (core.h) */
	cblas_sgemv(CblasRowMajor, CblasNoTrans, n, m, 1.0f,
				model->ws->x[model->cfg.n_ctx_layers], m, dom->w_R->w, 1, 0.0f, r, 1);
	for (int i = 0; i < n; i++)
		r[i] += dom->b_R->w[0];
}

/* a prior table of the model's items and encoded context */
static bool
pop_table_fits(const xd_model *model, const xd_cold *table)
{
	return table->prior_N && table->n_items == model->domain->n_items &&
		table->m == model->cfg.m;
}

xd_status
xd_model_set_repeat_pop(xd_model *model, const xd_cold *table, float w)
{
	if (!isfinite(w) || w < 0.0f || w > XD_REPEAT_POP_MAX)
		return XD_EINVAL;
	if (w == 0.0f || !table)
	{
		model->rep_pop_w = 0.0f;
		model->rep_pop = NULL;
		return XD_OK;
	}
	/* a lift-only term: training never reads the history, so never the term */
	if (!xd_model_has_repeat(model) || !model->cfg.repeat_lift || !pop_table_fits(model, table))
		return XD_EINVAL;
	model->rep_pop_w = w;
	model->rep_pop = table;
	return XD_OK;
}

/* w times the item's popularity in context c from table (0 without a weight) */
static inline float
pop_term(float w, const xd_cold *table, const float *c, int32_t v)
{
	return w == 0.0f ? 0.0f : w * xd_cold_cell_pop(table, c, v);
}

float
xd_model_repeat_pop(const xd_model *model, const float *c, int32_t v)
{
	return pop_term(model->rep_pop_w, model->rep_pop, c, v);
}

xd_status
xd_model_set_pop_all(xd_model *model, const xd_cold *table, float w)
{
	if (!isfinite(w) || w < 0.0f || w > XD_REPEAT_POP_MAX)
		return XD_EINVAL;
	if (w == 0.0f || !table)
	{
		model->pop_all_w = 0.0f;
		model->pop_all = NULL;
		return XD_OK;
	}
	if (model->cfg.feedback != XD_IMPLICIT || !pop_table_fits(model, table))
		return XD_EINVAL;
	model->pop_all_w = w;
	model->pop_all = table;
	return XD_OK;
}

float
xd_model_pop_all(const xd_model *model, const float *c, int32_t v)
{
	return pop_term(model->pop_all_w, model->pop_all, c, v);
}

/* xd_model_forward's checks and the workspace's rows; false: bad input */
static bool
forward_begin(xd_model *model, const int32_t *users, const int32_t *items,
			  const float *c, const float *hist, int n, bool train_mode)
{
	xd_workspace *ws = model->ws;
	xd_domain  *dom = model->domain;

	if (n < 0 || n > ws->cap)
		return false;
	for (int r = 0; r < n; r++)
		if (users[r] < 0 || users[r] >= dom->n_users ||
			items[r] < 0 || items[r] >= dom->n_items)
			return false;
	ws->n = n;
	ws->n_ext = 0;				/* eq. 22's terms belong to one loss pass */
	ws->users = users;
	ws->items = items;
	ws->c = c;
	/* a lift-only term (core.h, repeat_lift) is not trained */
	ws->hist = dom->w_R && !(train_mode && model->cfg.repeat_lift) ? hist : NULL;
	return true;
}

/* eq. 10-12 / 15 and the repeat term from c* in x[LC] and the towers' h^L */
static void
forward_scores(xd_model *model, int n, bool train_mode)
{
	xd_workspace *ws = model->ws;
	xd_shared  *sh = model->shared;
	xd_domain  *dom = model->domain;
	const int32_t *items = ws->items;
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	int			LU = model->cfg.n_tower_layers;
	const float *cstar;
	const float *hu;
	const float *hv;

	/* eq. 10: s_c = w_C . c* + b_C */
	cstar = ws->x[model->cfg.n_ctx_layers];
	cblas_sgemv(CblasRowMajor, CblasNoTrans, n, m, 1.0f, cstar, m,
				sh->w_C->w, 1, 0.0f, ws->s_c, 1);
	hu = ws->h_u[LU];
	hv = ws->h_v[LU];
	xd_row_dots(ws->score, hu, hv, n, d);
	for (int r = 0; r < n; r++)
	{
		ws->s_c[r] += sh->b_C->w[0];
		/* eq. 12: s^ = h_u . h_v + s_c */
		ws->score[r] = ws->score[r] + ws->s_c[r];
		/* eq. 15: r^ = h_u . h_v + s_c + s_u + s_v + s */
		if (model->cfg.feedback == XD_EXPLICIT)
			ws->score[r] += dom->s_u->w[ws->users[r]] + dom->s_v->w[items[r]] +
				dom->s->w[0];
		else if (dom->s_v)
			ws->score[r] += dom->s_v->w[items[r]];	/* cfg.item_bias (core.h) */
	}
	if (ws->hist)
	{
		/* the repeat term: s^ += r(c) g(h_ui) (core.h) */
		xd_model_repeat_coef(model, n, ws->rep_r);
		for (int r = 0; r < n; r++)
			ws->score[r] += ws->rep_r[r] * ws->hist[r];
		/* popularity in context among the user's own lifted items (core.h) */
		for (int r = 0; r < n && model->rep_pop_w != 0.0f; r++)
			if (ws->hist[r] > 0.0f)
				ws->score[r] += xd_model_repeat_pop(model, ws->c + (size_t) r * m, items[r]);
	}
	/* serving only: popularity in context on every item (core.h) */
	for (int r = 0; r < n && !train_mode && model->pop_all_w != 0.0f; r++)
		ws->score[r] += xd_model_pop_all(model, ws->c + (size_t) r * m, items[r]);
}

xd_status
xd_model_forward(xd_model *model, const int32_t *users, const int32_t *items,
				 const float *c, const float *hist, int n, bool train_mode, xd_rng *rng)
{
	xd_status	st;

	if (!forward_begin(model, users, items, c, hist, n, train_mode))
		return XD_EINVAL;
	if (n == 0)
		return XD_OK;
	xd_context_forward(model, n);
	/* eq. 6-9, then the scores */
	if ((st = xd_cluster_forward(model, n, train_mode, rng)) != XD_OK)
		return st;
	forward_scores(model, n, train_mode);
	return XD_OK;
}

void
xd_model_backward(xd_model *model, int n)
{
	xd_workspace *ws = model->ws;
	xd_shared  *sh = model->shared;
	xd_domain  *dom = model->domain;
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	int			LU = model->cfg.n_tower_layers;
	const float *cstar = ws->x[model->cfg.n_ctx_layers];
	const float *hu = ws->h_u[LU];
	const float *hv = ws->h_v[LU];
	const float *w_C = sh->w_C->w;
	float		gbc = 0.0f;

	if (n == 0)
		return;

	/* eq. 10/12/15 backward: ds_c = dscore + (the curriculum term's own) */
	for (int r = 0; r < n; r++)
	{
		float		dsc = ws->d_score[r] + ws->d_sc[r];

		ws->d_sc[r] = dsc;
		gbc += dsc;
	}
	/*
	 * dc* = ds_c w_C; dh_u^L = ds h_v^L, dh_v^L = ds h_u^L (eq. 10 and the
	 * dot product), with the top tower layer's ReLU backward in the same
	 * pass (its dz: xd_cluster_backward)
	 */
	xd_scale_rows(ws->d_cstar, ws->d_sc, w_C, 0, NULL, n, m);
	xd_scale_rows(ws->d_top_u, ws->d_score, hv, d, LU > 0 ? hu : NULL, n, d);
	xd_scale_rows(ws->d_top_v, ws->d_score, hu, d, LU > 0 ? hv : NULL, n, d);
	if (!model->freeze_shared)
	{
		sh->b_C->g[0] += gbc;
		/* dw_C += c*^T ds_c */
		cblas_sgemv(CblasRowMajor, CblasTrans, n, m, 1.0f, cstar, m,
					ws->d_sc, 1, 1.0f, sh->w_C->g, 1);
	}
	if (model->cfg.feedback == XD_EXPLICIT)
	{
		float		gs = 0.0f;

		for (int r = 0; r < n; r++)
		{
			float		ds = ws->d_score[r];

			xd_param_touch(dom->s_u, ws->users[r]);
			xd_param_touch(dom->s_v, ws->items[r]);
			dom->s_u->g[ws->users[r]] += ds;
			dom->s_v->g[ws->items[r]] += ds;
			gs += ds;
		}
		dom->s->g[0] += gs;
	}
	else if (dom->s_v)
		for (int r = 0; r < n; r++)
		{
			xd_param_touch(dom->s_v, ws->items[r]);
			dom->s_v->g[ws->items[r]] += ws->d_score[r];
		}

	if (ws->hist)
	{
		/* d(r g)/dw_R = g c*, /db_R = g, /dc* = g w_R */
		const float *w_R = dom->w_R->w;

		for (int r = 0; r < n; r++)
		{
			float		dr = ws->d_score[r] * ws->hist[r];
			float	   *dcs = ws->d_cstar + (size_t) r * m;
			const float *cs = cstar + (size_t) r * m;

			if (dr == 0.0f)
				continue;
			dom->b_R->g[0] += dr;
			for (int j = 0; j < m; j++)
			{
				dom->w_R->g[j] += dr * cs[j];
				dcs[j] += dr * w_R[j];
			}
		}
	}
	xd_cluster_backward(model, n);
	xd_context_backward(model, n);
}

xd_status
xd_model_forward_chunks(xd_model *model, const xd_batch *b, xd_chunk_fn take, void *arg)
{
	int			cap = model->ws->cap;
	int			m = model->cfg.m;
	xd_status	st;

	if (b->m != m || b->n < 0)
		return XD_EINVAL;
	/* inference mode: no dropout; any n, in chunks of the workspace */
	for (int start = 0; start < b->n; start += cap)
	{
		int			k = b->n - start < cap ? b->n - start : cap;

		st = xd_model_forward(model, b->users + start, b->items + start,
							  b->c + (size_t) start * m, b->hist ? b->hist + start : NULL,
							  k, false, NULL);
		if (st != XD_OK)
			return st;
		take(arg, model, start, k);
	}
	return XD_OK;
}

/* xd_model_score's chunk: its scores */
static void
xd_take_scores(void *arg, const xd_model *model, int start, int k)
{
	memcpy((float *) arg + start, model->ws->score, sizeof(float) * k);
}

xd_status
xd_model_score(void *arg, const xd_batch *b, float *scores)
{
	return xd_model_forward_chunks((xd_model *) arg, b, xd_take_scores, scores);
}

/* a context row's bits mixed word by word: distinct rows rarely share one */
static uint64_t
row_hash(const float *c, int m)
{
	uint64_t	h = 0x9e3779b97f4a7c15ull;

	for (int j = 0; j < m; j++)
	{
		uint32_t	w;

		memcpy(&w, c + j, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

/*
 * What a chunk of xd_model_score_shared_ctx shares, in first occurrences
 * (so a row's context and pair, and a pair's context, never come after it):
 * the distinct context rows and the distinct (user, context) pairs.
 */
typedef struct shared_rows
{
	float	   *uc;				/* [cap * m] the distinct context rows */
	uint64_t   *hash;			/* [cap] their row_hash */
	int		   *ctx_pair;		/* [cap] a context's latest pair; -1 none */
	int		   *pair;			/* [cap] a row's pair */
	int32_t    *pair_user;		/* [cap] a pair's user */
	int		   *pair_ctx;		/* [cap] a pair's context */
	int		   *next_pair;		/* [cap] the pair of the same context before it; -1 none */
} shared_rows;

/*
 * One chunk of xd_model_score_shared_ctx: the k distinct context rows into
 * sr->uc and the p distinct (user, context) pairs; the context module on
 * the k contexts, the user tower on the p pairs (eq. 6, 8-9 depend on the
 * user and c* only), c* and h_u^L spread back to every row, the item tower
 * and the scores on every row. pair_ctx[q] <= q and pair[r] <= r, so
 * spreading from the last row down reads each source row before it is
 * overwritten.
 */
static xd_status
score_shared_chunk(xd_model *model, const xd_batch *b, int start, int n, shared_rows *sr,
				   float *scores)
{
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m,
				d = model->cfg.d,
				k = 0,
				p = 0;
	size_t		rb = sizeof(float) * (size_t) m,
				hb = sizeof(float) * (size_t) d;
	const float *c = b->c + (size_t) start * m;
	const int32_t *users = b->users + start;
	float	   *cstar = ws->x[model->cfg.n_ctx_layers],
			   *hu = ws->h_u[model->cfg.n_tower_layers];

	if (!forward_begin(model, users, b->items + start, c,
					   b->hist ? b->hist + start : NULL, n, false))
		return XD_EINVAL;
	for (int r = 0; r < n; r++)
	{
		const float *cr = c + (size_t) r * m;
		uint64_t	h = row_hash(cr, m);
		int			j = r > 0 ? sr->pair_ctx[sr->pair[r - 1]] : 0,	/* a row's candidates come together */
					q;

		if (k == 0 || sr->hash[j] != h || memcmp(sr->uc + (size_t) j * m, cr, rb) != 0)
		{
			j = 0;
			while (j < k && !(sr->hash[j] == h && memcmp(sr->uc + (size_t) j * m, cr, rb) == 0))
				j++;
		}
		if (j == k)
		{
			sr->hash[k] = h;
			sr->ctx_pair[k] = -1;
			memcpy(sr->uc + (size_t) k++ * m, cr, rb);
		}
		/* the context's pairs (as many as users share it: mostly one) */
		for (q = sr->ctx_pair[j]; q >= 0 && sr->pair_user[q] != users[r]; q = sr->next_pair[q])
			;
		if (q < 0)
		{
			q = p++;
			sr->pair_user[q] = users[r];
			sr->pair_ctx[q] = j;
			sr->next_pair[q] = sr->ctx_pair[j];
			sr->ctx_pair[j] = q;
		}
		sr->pair[r] = q;
	}
	ws->c = sr->uc;
	xd_context_forward(model, k);
	ws->c = c;
	for (int q = p - 1; q >= 0; q--)
		if (sr->pair_ctx[q] != q)
			memcpy(cstar + (size_t) q * m, cstar + (size_t) sr->pair_ctx[q] * m, rb);
	xd_cluster_side_forward(model, true, sr->pair_user, p);
	for (int r = n - 1; r >= 0; r--)
		if (sr->pair[r] != r)
		{
			memcpy(cstar + (size_t) r * m, cstar + (size_t) sr->pair[r] * m, rb);
			memcpy(hu + (size_t) r * d, hu + (size_t) sr->pair[r] * d, hb);
		}
	xd_cluster_side_forward(model, false, ws->items, n);
	forward_scores(model, n, false);
	memcpy(scores + start, ws->score, sizeof(float) * (size_t) n);
	return XD_OK;
}

xd_status
xd_model_score_shared_ctx(xd_model *model, const xd_batch *b, float *scores)
{
	int			cap = model->ws->cap,
				m = model->cfg.m;
	shared_rows sr;
	int		   *ints;
	xd_status	st = XD_OK;

	/* the validation cache serves rows by position: scored whole */
	if (model->ws->vc)
		return xd_model_score(model, b, scores);
	if (b->m != m || b->n < 0)
		return XD_EINVAL;
	sr.uc = malloc(sizeof(float) * (size_t) cap * (m > 0 ? m : 1));
	sr.hash = malloc(sizeof(uint64_t) * (size_t) cap);
	sr.pair_user = malloc(sizeof(int32_t) * (size_t) cap);
	ints = malloc(sizeof(int) * 4 * (size_t) cap);
	if (!sr.uc || !sr.hash || !sr.pair_user || !ints)
		st = XD_ENOMEM;
	else
	{
		sr.ctx_pair = ints;
		sr.pair = ints + cap;
		sr.pair_ctx = ints + 2 * (size_t) cap;
		sr.next_pair = ints + 3 * (size_t) cap;
	}
	for (int start = 0; st == XD_OK && start < b->n; start += cap)
		st = score_shared_chunk(model, b, start, b->n - start < cap ? b->n - start : cap,
								&sr, scores);
	free(sr.uc);
	free(sr.hash);
	free(sr.pair_user);
	free(ints);
	return st;
}

xd_status
xd_model_score_items(xd_model *model, int32_t user, const float *c,
					 const int32_t *items, const float *hist, int n, float *scores)
{
	xd_workspace *ws = model->ws;
	xd_domain  *dom = model->domain;
	int			d = model->cfg.d;
	int			LU = model->cfg.n_tower_layers;
	float	   *hu = ws->d_top_u;	/* scratch in inference: h_u^L */
	float	   *gate = ws->d_top_v; /* sigma(W_CV c*) */
	float		base,
				rep = 0.0f;
	xd_status	st;

	if (n < 0 || user < 0 || user >= dom->n_users)
		return XD_EINVAL;
	for (int r = 0; r < n; r++)
		if (items[r] < 0 || items[r] >= dom->n_items)
			return XD_EINVAL;
	if (n == 0)
		return XD_OK;

	/* M1, M3u and s_c once: the user and the context are the same for all */
	st = xd_model_forward(model, &user, items, c, NULL, 1, false, NULL);
	if (st != XD_OK)
		return st;
	if (hist)
		xd_model_repeat_coef(model, 1, &rep);
	memcpy(hu, ws->h_u[LU], sizeof(float) * d);
	memcpy(gate, ws->g_v, sizeof(float) * d);
	base = ws->s_c[0];
	if (model->cfg.feedback == XD_EXPLICIT)
		base += dom->s_u->w[user] + dom->s->w[0];

	for (int start = 0; start < n; start += ws->cap)
	{
		int			k = n - start < ws->cap ? n - start : ws->cap;
		const float *hv = ws->h_v[LU];

		xd_cluster_gated_forward(model, false, items + start, k, gate, 0);
		/* eq. 12 / 15: h_u . h_v + s_c (+ s_u + s_v + s) */
		cblas_sgemv(CblasRowMajor, CblasNoTrans, k, d, 1.0f, hv, d, hu, 1,
					0.0f, scores + start, 1);
		for (int r = 0; r < k; r++)
		{
			scores[start + r] += base;
			if (dom->s_v)
				scores[start + r] += dom->s_v->w[items[start + r]];
			if (hist)
				scores[start + r] += rep * hist[start + r];
			if (hist && hist[start + r] > 0.0f)
				scores[start + r] += xd_model_repeat_pop(model, c, items[start + r]);
			scores[start + r] += xd_model_pop_all(model, c, items[start + r]);
		}
	}
	return XD_OK;
}
