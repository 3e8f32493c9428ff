/*
 * serve.c - serving at speed (serve.h): top-k (a sorted array or a heap),
 * and the item tower's outputs under one context, computed once and scored
 * for many users.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/activation.h"
#include "xdrec/serve.h"

/* a is worse than b: lower score, or the same score and a larger index */
static inline bool
xd_hit_worse(const xd_hit *a, const xd_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->item > b->item);
}

/* restores the min-heap (worst on top) below i */
static void
xd_heap_down(xd_hit *h, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					w = i;
		xd_hit		t;

		if (l < n && xd_hit_worse(&h[l], &h[w]))
			w = l;
		if (r < n && xd_hit_worse(&h[r], &h[w]))
			w = r;
		if (w == i)
			return;
		t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/*
 * xd_top_k for a small k: out[0..h) kept best first, a newcomer inserted in
 * place. It has the largest index so far, so it goes after every equal score.
 */
static int
xd_top_k_sorted(const float *scores, const uint8_t *keep, int n, int k, xd_hit *out)
{
	int			h = 0;

	for (int i = 0; i < n; i++)
	{
		float		s = scores[i];
		int			j;

		/* full: only a strictly higher score than the last gets in (no NaN) */
		if (h == k && !(s > out[k - 1].score))
			continue;
		if ((keep && !keep[i]) || isnan(s))
			continue;
		j = h < k ? h++ : k - 1;
		for (; j > 0 && out[j - 1].score < s; j--)
			out[j] = out[j - 1];
		out[j].score = s;
		out[j].item = i;
	}
	return h;
}

int
xd_top_k(const float *scores, const uint8_t *keep, int n, int k, xd_hit *out)
{
	int			h = 0;

	if (k <= 0)
		return 0;
	if (k <= XD_TOP_K_SORTED)
		return xd_top_k_sorted(scores, keep, n, k, out);
	for (int i = 0; i < n; i++)
	{
		xd_hit		x = {scores[i], i};

		/*
		 * full: only a strictly higher score gets in (an equal one has a
		 * larger index than all kept); the test also rejects NaN
		 */
		if (h == k && !(x.score > out[0].score))
			continue;
		if ((keep && !keep[i]) || isnan(x.score))
			continue;
		if (h < k)
		{
			int			j = h++;

			/* sift up */
			out[j] = x;
			while (j > 0 && xd_hit_worse(&out[j], &out[(j - 1) / 2]))
			{
				xd_hit		t = out[j];

				out[j] = out[(j - 1) / 2];
				out[(j - 1) / 2] = t;
				j = (j - 1) / 2;
			}
		}
		else if (xd_hit_worse(&out[0], &x))
		{
			out[0] = x;
			xd_heap_down(out, h, 0);
		}
	}
	/* heap sort in place: the worst goes to the back each time */
	for (int e = h - 1; e > 0; e--)
	{
		xd_hit		t = out[0];

		out[0] = out[e];
		out[e] = t;
		xd_heap_down(out, e, 0);
	}
	return h;
}

size_t
xd_item_outputs_floats(const xd_model *model, bool per_item)
{
	size_t		n = (size_t) model->domain->n_items;
	size_t		d = (size_t) model->cfg.d;

	return n * d + (per_item ? n * d + 2 * n : d + 2) + 2 * n;
}

void
xd_item_outputs_bind(xd_item_outputs *io, const xd_model *model, bool per_item,
					 float *buf)
{
	size_t		n = (size_t) model->domain->n_items;
	size_t		d = (size_t) model->cfg.d;

	io->n_items = (int) n;
	io->d = (int) d;
	io->per_item = per_item;
	io->h_v = buf;
	io->g_u = buf + n * d;
	io->s_c = io->g_u + (per_item ? n * d : d);
	io->r_c = io->s_c + (per_item ? n : 1);
	io->p_c = io->r_c + (per_item ? n : 1);
	io->a_c = io->p_c + n;
}

void
xd_context_heads(xd_model *model, int n, float *s_c, float *g_u)
{
	xd_workspace *ws = model->ws;
	xd_shared  *sh = model->shared;
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	const float *cstar = ws->x[model->cfg.n_ctx_layers];
	size_t		nd = (size_t) n * d;

	cblas_sgemv(CblasRowMajor, CblasNoTrans, n, m, 1.0f, cstar, m,
				sh->w_C->w, 1, 0.0f, s_c, 1);
	for (int r = 0; r < n; r++)
		s_c[r] += sh->b_C->w[0];
	xd_sgemm_rows_nt(n, d, m, cstar, sh->W_CU->w, g_u, ws->wt);
	xd_sgemm_rows_nt(n, d, m, cstar, sh->W_CV->w, ws->g_v, ws->wt);
	xd_sigmoid_inplace(g_u, nd);
	xd_sigmoid_inplace(ws->g_v, nd);
}

static bool
xd_item_outputs_fit(const xd_model *model, const xd_item_outputs *io)
{
	return io->n_items == model->domain->n_items && io->d == model->cfg.d;
}

xd_status
xd_item_outputs_compute(xd_model *model, const float *c, const xd_feature_encoder *enc,
						xd_item_outputs *io)
{
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	int			LU = model->cfg.n_tower_layers;
	int			cap = ws->cap;
	int			n = io->n_items;
	int32_t    *ids;
	float	   *ctx = NULL;
	float	   *h_last = ws->h_v[LU];

	if (!xd_item_outputs_fit(model, io) || (io->per_item && !enc))
		return XD_EINVAL;
	ids = malloc(sizeof(int32_t) * (size_t) cap);
	if (io->per_item)
		ctx = malloc(sizeof(float) * (size_t) cap * m);
	if (!ids || (io->per_item && !ctx))
	{
		free(ids);
		free(ctx);
		return XD_ENOMEM;
	}
	ws->n_ext = 0;
	if (!io->per_item)
	{
		/* M1 and the gates once: one context for every item */
		ws->c = c;
		xd_context_forward(model, 1);
		xd_context_heads(model, 1, io->s_c, io->g_u);
		xd_model_repeat_coef(model, 1, io->r_c);
	}
	for (int start = 0; start < n; start += cap)
	{
		int			k = n - start < cap ? n - start : cap;

		for (int r = 0; r < k; r++)
			ids[r] = start + r;
		if (io->per_item)
		{
			for (int r = 0; r < k; r++)
			{
				memcpy(ctx + (size_t) r * m, c, sizeof(float) * m);
				xd_encode_item(enc, start + r, ctx + (size_t) r * m);
			}
			ws->c = ctx;
			xd_context_forward(model, k);
			xd_context_heads(model, k, io->s_c + start, io->g_u + (size_t) start * d);
			xd_model_repeat_coef(model, k, io->r_c + start);
		}
		/* the last layer writes its rows straight into io, saving a copy */
		ws->h_v[LU] = io->h_v + (size_t) start * d;
		xd_cluster_gated_forward(model, false, ids, k, ws->g_v, io->per_item ? d : 0);
	}
	ws->h_v[LU] = h_last;
	/* item-scoped features do not pick the context's cell: c's for every item */
	for (int i = 0; i < n; i++)
	{
		io->p_c[i] = xd_model_repeat_pop(model, c, i);
		io->a_c[i] = xd_model_pop_all(model, c, i);
	}
	free(ids);
	free(ctx);
	return XD_OK;
}

xd_status
xd_item_outputs_score(xd_model *model, const xd_item_outputs *io,
					  const int32_t *users, int n_users, float *scores)
{
	xd_workspace *ws = model->ws;
	xd_domain  *dom = model->domain;
	int			d = model->cfg.d;
	int			LU = model->cfg.n_tower_layers;
	int			cap = ws->cap;
	int			n = io->n_items;
	bool		explicit_fb = model->cfg.feedback == XD_EXPLICIT;
	int32_t    *ids;

	if (!xd_item_outputs_fit(model, io) || n_users < 0)
		return XD_EINVAL;
	for (int u = 0; u < n_users; u++)
		if (users[u] < 0 || users[u] >= dom->n_users)
			return XD_EINVAL;

	if (!io->per_item)
	{
		for (int u0 = 0; u0 < n_users; u0 += cap)
		{
			int			k = n_users - u0 < cap ? n_users - u0 : cap;
			float	   *out = scores + (size_t) u0 * n;

			/*
			 * the users' towers as one batch, then h_u . h_v for all pairs;
			 * one user is a matrix-vector product, which reads h_v once
			 * where sgemm would first pack it (4x faster at 10,000 items)
			 */
			xd_cluster_gated_forward(model, true, users + u0, k, io->g_u, 0);
			if (k == 1)
				cblas_sgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0f, io->h_v, d,
							ws->h_u[LU], 1, 0.0f, out, 1);
			else
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, n, d,
							1.0f, ws->h_u[LU], d, io->h_v, d, 0.0f, out, n);
			for (int r = 0; r < k; r++)
			{
				float	   *row = out + (size_t) r * n;

				/* eq. 12 / 15, added in xd_model_forward's order */
				for (int i = 0; i < n; i++)
					row[i] += io->s_c[0];
				if (explicit_fb)
					for (int i = 0; i < n; i++)
						row[i] += dom->s_u->w[users[u0 + r]] + dom->s_v->w[i] + dom->s->w[0];
				else if (dom->s_v)	/* cfg.item_bias (core.h) */
					for (int i = 0; i < n; i++)
						row[i] += dom->s_v->w[i];
				/* popularity in context on every item (core.h) */
				for (int i = 0; i < n && model->pop_all_w != 0.0f; i++)
					row[i] += io->a_c[i];
			}
		}
		return XD_OK;
	}

	/* per item: each user's tower over every item's own gate, in batches */
	ids = malloc(sizeof(int32_t) * (size_t) cap);
	if (!ids)
		return XD_ENOMEM;
	for (int u = 0; u < n_users; u++)
	{
		float	   *row = scores + (size_t) u * n;

		for (int r = 0; r < cap; r++)
			ids[r] = users[u];
		for (int start = 0; start < n; start += cap)
		{
			int			k = n - start < cap ? n - start : cap;
			const float *hu = ws->h_u[LU];

			xd_cluster_gated_forward(model, true, ids, k, io->g_u + (size_t) start * d, d);
			xd_row_dots(row + start, hu, io->h_v + (size_t) start * d, k, d);
			for (int r = 0; r < k; r++)
			{
				int			i = start + r;

				row[i] = row[i] + io->s_c[i];
				if (explicit_fb)
					row[i] += dom->s_u->w[users[u]] + dom->s_v->w[i] + dom->s->w[0];
				else if (dom->s_v)
					row[i] += dom->s_v->w[i];
				row[i] += io->a_c[i];
			}
		}
	}
	free(ids);
	return XD_OK;
}

double
xd_item_outputs_flops(const xd_model *model, bool per_item)
{
	double		n = model->domain->n_items;
	double		d = model->cfg.d;
	double		m = model->cfg.m;
	double		tower = 2.0 * d * d * model->cfg.n_tower_layers + d;

	/* the towers' sgemms and gates dominate; M1 counts when it runs per item */
	if (!per_item)
		return n * (tower + 2.0 * d);
	return n * (2.0 * tower + 2.0 * m * m * model->cfg.n_ctx_layers +
				2.0 * 2.0 * d * m + 2.0 * m + 2.0 * d);
}

/* ---------------------------------------------------------------- ranking */

xd_status
xd_item_outputs_score_unseen(xd_model *model, const xd_item_outputs *io,
							 const int32_t *users, int n_users,
							 const xd_seen *seen, float *scores)
{
	xd_status	st = xd_item_outputs_score(model, io, users, n_users, scores);

	if (st != XD_OK || !seen || (seen->keep && !xd_model_has_repeat(model)))
		return st;
	for (int u = 0; u < n_users; u++)
	{
		float	   *row = scores + (size_t) u * io->n_items;

		for (int64_t j = seen->off[users[u]]; j < seen->off[users[u] + 1]; j++)
		{
			int32_t		i = seen->items[j];

			/* the repeat term, g(h_ui) = 1 (core.h), in xd_model_forward's order */
			if (seen->keep)
				row[i] += io->r_c[io->per_item ? i : 0] + io->p_c[i];
			else
				row[i] = NAN;
		}
	}
	return XD_OK;
}

xd_status
xd_score_candidates(xd_model *model, int32_t user, const float *c,
					const xd_feature_encoder *item_scope, const int32_t *items,
					const float *hist, int n, float *scores)
{
	int			m = model->cfg.m;
	int			cap = xd_model_max_rows(model);
	xd_batch	b;
	xd_status	st;

	if (n <= 0)
		return n == 0 ? XD_OK : XD_EINVAL;
	if (!item_scope)
		return xd_model_score_items(model, user, c, items, hist, n, scores);
	/* item-scoped features: the context differs per candidate (DESIGN.md section 2) */
	if ((st = xd_batch_init(&b, cap < n ? cap : n, m)) != XD_OK)
		return st;
	for (int start = 0; start < n && st == XD_OK; start += b.capacity)
	{
		int			cnt = n - start < b.capacity ? n - start : b.capacity;

		b.n = cnt;
		b.n_pos = 0;
		for (int i = 0; i < cnt; i++)
		{
			float	   *row = b.c + (size_t) i * m;

			b.users[i] = user;
			b.items[i] = items[start + i];
			b.hist[i] = hist ? hist[start + i] : 0.0f;
			memcpy(row, c, sizeof(float) * m);
			xd_encode_item(item_scope, items[start + i], row);
		}
		st = xd_model_score(model, &b, scores + start);
	}
	xd_batch_free(&b);
	return st;
}

/* a user of rank_many: its context, and its position in the input */
typedef struct xd_many_key
{
	const float *c;
	int			m;
	int			pos;
} xd_many_key;

/* by the context's bytes, then input position: a total order */
static int
xd_many_cmp(const void *a, const void *b)
{
	const xd_many_key *x = a,
			   *y = b;
	int			r = memcmp(x->c, y->c, sizeof(float) * (size_t) x->m);

	return r != 0 ? r : x->pos - y->pos;
}

/* the pair scores one target: the same users and items */
bool
xd_blend_pair_ok(const xd_model *first, const xd_model *second, float a)
{
	return first && second && a >= 0.0f && a <= 1.0f &&
		first->domain->n_users == second->domain->n_users &&
		first->domain->n_items == second->domain->n_items &&
		first->cfg.feedback == second->cfg.feedback;
}

void
xd_blend_mix(float a, int64_t n, float *scores, const float *tmp)
{
	for (int64_t r = 0; r < n; r++)
		scores[r] = (1.0f - a) * scores[r] + a * tmp[r];
}

/* users scored in one matrix product (a blend holds two fits' scores) */
static int
xd_many_chunk(const xd_model *model, int n, const xd_rank_many_opts *o)
{
	size_t		n_items = model->domain->n_items > 0 ? (size_t) model->domain->n_items : 1;
	size_t		per = o->max_scores / n_items / (o->blend ? 2 : 1);

	if (per < 1)
		per = 1;
	return per < (size_t) n ? (int) per : (n > 0 ? n : 1);
}

size_t
xd_rank_many_scratch_bytes(const xd_model *model, int n, const xd_rank_many_opts *o)
{
	size_t		chunk = (size_t) xd_many_chunk(model, n, o);
	size_t		n_items = model->domain->n_items > 0 ? (size_t) model->domain->n_items : 1;

	return sizeof(xd_many_key) * (size_t) (n > 0 ? n : 1) +
		sizeof(int32_t) * chunk + sizeof(float) * chunk * n_items * (o->blend ? 2 : 1);
}

/*
 * cnt users' scores against every item in context c into scores: the
 * model's from io, or with a blend (xd_rank_many_opts) the mix of both
 * fits', each from its own outputs, fetched in that order; blend_scores
 * holds the blend's.
 */
static xd_status
xd_many_score(xd_model *model, const xd_rank_many_opts *o, const xd_item_outputs *io,
			  const float *c, const int32_t *ids, int cnt, float *scores, float *blend_scores)
{
	int			n_items = model->domain->n_items;
	xd_status	st = xd_item_outputs_score_unseen(model, io, ids, cnt, o->seen, scores);

	if (st != XD_OK || !o->blend)
		return st;
	/* io is done with: the blend's lookup may evict it */
	if (!(io = o->blend_outputs(o->blend_outputs_arg, c)))
		return XD_ENOMEM;
	if (io->n_items != n_items)
		return XD_EINVAL;
	if ((st = xd_item_outputs_score_unseen(o->blend, io, ids, cnt, o->seen, blend_scores)) != XD_OK)
		return st;
	xd_blend_mix(o->blend_a, (int64_t) cnt * n_items, scores, blend_scores);
	return XD_OK;
}

xd_status
xd_rank_many(xd_model *model, const int32_t *users, const float *cs, int n,
			 const xd_rank_many_opts *o, void *scratch, xd_hit *hits, int *n_hits)
{
	int			m = model->cfg.m;
	int			n_items = model->domain->n_items;
	int			chunk = xd_many_chunk(model, n, o);
	xd_many_key *keys = scratch;
	int32_t    *ids = (int32_t *) (keys + (n > 0 ? n : 1));
	float	   *scores = (float *) (ids + chunk);
	float	   *blend_scores = scores + (size_t) chunk * (n_items > 0 ? n_items : 1);
	int			k = o->k;

	if (n < 0 || k < 1 || (o->blend && !xd_blend_pair_ok(model, o->blend, o->blend_a)))
		return XD_EINVAL;
	if (!o->outputs || (o->blend && !o->blend_outputs))
		return XD_ENOMEM;
	for (int i = 0; i < n; i++)
	{
		keys[i].c = cs + (size_t) i * m;
		keys[i].m = m;
		keys[i].pos = i;
	}
	qsort(keys, (size_t) n, sizeof(xd_many_key), xd_many_cmp);
	for (int g0 = 0; g0 < n;)
	{
		const xd_item_outputs *io;
		int			g1 = g0 + 1;

		/* one run of users sharing the full context, its item outputs once */
		while (g1 < n && memcmp(keys[g1].c, keys[g0].c, sizeof(float) * (size_t) m) == 0)
			g1++;
		if (!(io = o->outputs(o->outputs_arg, keys[g0].c)))
			return XD_ENOMEM;
		if (io->n_items != n_items)
			return XD_EINVAL;
		for (int c0 = g0; c0 < g1; c0 += chunk)
		{
			int			cnt = g1 - c0 < chunk ? g1 - c0 : chunk;
			xd_status	st;

			if (xd_hooks_stopped(&o->hooks))
				return XD_ECANCELLED;
			for (int u = 0; u < cnt; u++)
				ids[u] = users[keys[c0 + u].pos];
			/* a blend's lookup of its second fit may have evicted io */
			if (o->blend && c0 > g0 && !(io = o->outputs(o->outputs_arg, keys[g0].c)))
				return XD_ENOMEM;
			st = xd_many_score(model, o, io, keys[g0].c, ids, cnt, scores, blend_scores);
			if (st != XD_OK)
				return st;
			for (int u = 0; u < cnt; u++)
			{
				int			pos = keys[c0 + u].pos;

				n_hits[pos] = xd_top_k(scores + (size_t) u * n_items, NULL, n_items, k,
									   hits + (size_t) pos * k);
			}
		}
		g0 = g1;
	}
	return XD_OK;
}
