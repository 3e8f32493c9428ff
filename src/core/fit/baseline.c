/*
 * baseline.c - random, popularity in context and constant scorers
 * (include/xdrec/baseline.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/baseline.h"

/* splitmix64's finaliser: a good 64-bit mix, one multiply-xorshift chain */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

xd_status
xd_random_score(void *arg, const xd_batch *b, float *scores)
{
	uint64_t	seed = *(const uint64_t *) arg;

	for (int r = 0; r < b->n; r++)
	{
		uint64_t	h = mix64(seed ^ ((uint64_t) (uint32_t) b->users[r] << 32 | (uint32_t) b->items[r]));
		const float *c = b->c + (size_t) r * b->m;

		/* the context too: a context negative draws its own score */
		for (int j = 0; j < b->m; j++)
		{
			uint32_t	bits;

			memcpy(&bits, &c[j], sizeof(bits));
			h = mix64(h ^ bits);
		}
		scores[r] = (float) ((h >> 40) * (1.0 / 16777216.0));
	}
	return XD_OK;
}

xd_status
xd_constant_score(void *arg, const xd_batch *b, float *scores)
{
	float		v = *(const float *) arg;

	for (int r = 0; r < b->n; r++)
		scores[r] = v;
	return XD_OK;
}

/* an eighth of a scaled numeric value's range is one cell */
#define XD_POP_CELLS 8

struct xd_popularity
{
	const xd_dataset *ds;
	int			n_dims;			/* interaction-scoped entries of c */
	int32_t    *dims;
	uint64_t	cap;			/* a power of two */
	uint64_t   *keys;			/* (item, cell) hashes; 0 = empty */
	int32_t    *counts;
	int32_t    *overall;		/* [n_items] rows per item counted */
};

/* The key of item v in the cell of context c: never 0 (the empty slot). */
static uint64_t
cell_key(const xd_popularity *p, int32_t v, const float *c)
{
	uint64_t	h = mix64((uint64_t) (uint32_t) v);

	for (int j = 0; j < p->n_dims; j++)
	{
		float		x = c[p->dims[j]];
		int			q = x != x ? 0 : (int) floorf(x * XD_POP_CELLS);

		q = q < 0 ? 0 : q > XD_POP_CELLS ? XD_POP_CELLS : q;
		h = mix64(h ^ (uint64_t) (q + 1));
	}
	return h ? h : 1;
}

static uint64_t
slot_of(const xd_popularity *p, uint64_t key)
{
	uint64_t	i = key & (p->cap - 1);

	while (p->keys[i] != 0 && p->keys[i] != key)
		i = (i + 1) & (p->cap - 1);
	return i;
}

/* Counts the rows of splits[0..n_splits) of ds. */
static xd_status
popularity_fit(const xd_dataset *ds, const xd_split *splits, int n_splits, xd_popularity **out)
{
	const xd_schema *s = &ds->enc.schema;
	int64_t		n = 0;
	xd_popularity *p;
	float	   *c;

	*out = NULL;
	if (!ds->finalized)
		return XD_EINVAL;
	for (int k = 0; k < n_splits; k++)
		n += ds->n_split[splits[k]];
	if (!(p = calloc(1, sizeof(*p))))
		return XD_ENOMEM;
	p->ds = ds;
	p->dims = malloc(sizeof(int32_t) * (size_t) (s->m > 0 ? s->m : 1));
	c = calloc((size_t) (s->m > 0 ? s->m : 1), sizeof(float));
	for (p->cap = 16; p->cap < 2 * (uint64_t) n; p->cap *= 2)
		;
	p->keys = calloc(p->cap, sizeof(uint64_t));
	p->counts = calloc(p->cap, sizeof(int32_t));
	p->overall = calloc((size_t) (ds->n_items > 0 ? ds->n_items : 1), sizeof(int32_t));
	if (!p->dims || !c || !p->keys || !p->counts || !p->overall)
	{
		free(c);
		xd_popularity_free(p);
		return XD_ENOMEM;
	}
	for (int f = 0; f < s->n_features; f++)
		if (s->features[f].scope == XD_SCOPE_INTERACTION)
			for (int w = 0; w < s->features[f].width; w++)
				p->dims[p->n_dims++] = s->features[f].offset + w;
	for (int k = 0; k < n_splits; k++)
		for (int64_t i = 0; i < ds->n_split[splits[k]]; i++)
		{
			int64_t		r = ds->split_rows[splits[k]][i];
			uint64_t	key,
						slot;

			xd_encode_interaction(&ds->enc, ds->num + (size_t) r * s->n_num,
								  ds->codes + (size_t) r * s->n_codes, c);
			key = cell_key(p, ds->items[r], c);
			slot = slot_of(p, key);
			p->keys[slot] = key;
			p->counts[slot]++;
			p->overall[ds->items[r]]++;
		}
	free(c);
	*out = p;
	return XD_OK;
}

xd_status
xd_popularity_fit(const xd_dataset *ds, xd_popularity **out)
{
	const xd_split train = XD_SPLIT_TRAIN;

	return popularity_fit(ds, &train, 1, out);
}

xd_status
xd_popularity_fit_support(const xd_dataset *ds, xd_popularity **out)
{
	const xd_split support[2] = {XD_SPLIT_TRAIN, XD_SPLIT_VALID};

	return popularity_fit(ds, support, 2, out);
}

void
xd_popularity_free(xd_popularity *p)
{
	if (!p)
		return;
	free(p->dims);
	free(p->keys);
	free(p->counts);
	free(p->overall);
	free(p);
}

xd_status
xd_popularity_score(void *arg, const xd_batch *b, float *scores)
{
	const xd_popularity *p = arg;

	for (int r = 0; r < b->n; r++)
	{
		int32_t		v = b->items[r];
		uint64_t	slot = slot_of(p, cell_key(p, v, b->c + (size_t) r * b->m));
		int32_t		in_cell = p->keys[slot] ? p->counts[slot] : 0;
		int32_t		overall = v >= 0 && v < p->ds->n_items ? p->overall[v] : 0;

		/* the cell first; overall popularity only breaks its ties */
		scores[r] = (float) (log1p((double) in_cell) + 1e-3 * log1p((double) overall));
	}
	return XD_OK;
}

xd_status
xd_damped_means(const xd_dataset *ds, double damping, double *mu, float *user_off,
				float *item_off)
{
	int64_t		n;
	const int64_t *rows;
	double		sum = 0.0,
			   *acc,
			   *cnt;
	int32_t		n_acc;

	if (!ds->finalized || !ds->has_ratings || !(damping >= 0.0))
		return XD_EINVAL;
	n = ds->n_split[XD_SPLIT_TRAIN];
	rows = ds->split_rows[XD_SPLIT_TRAIN];
	n_acc = ds->n_users > ds->n_items ? ds->n_users : ds->n_items;
	acc = calloc((size_t) (n_acc > 0 ? n_acc : 1), sizeof(double));
	cnt = calloc((size_t) (n_acc > 0 ? n_acc : 1), sizeof(double));
	if (!acc || !cnt)
	{
		free(acc);
		free(cnt);
		return XD_ENOMEM;
	}
	for (int64_t i = 0; i < n; i++)
		sum += ds->ratings[rows[i]];
	*mu = n > 0 ? sum / (double) n : 0.0;
	/* the items' offsets first, then the users' on top of them */
	for (int64_t i = 0; i < n; i++)
	{
		acc[ds->items[rows[i]]] += ds->ratings[rows[i]] - *mu;
		cnt[ds->items[rows[i]]] += 1.0;
	}
	for (int32_t v = 0; v < ds->n_items; v++)
		item_off[v] = cnt[v] + damping > 0.0 ? (float) (acc[v] / (cnt[v] + damping)) : 0.0f;
	memset(acc, 0, sizeof(double) * (size_t) n_acc);
	memset(cnt, 0, sizeof(double) * (size_t) n_acc);
	for (int64_t i = 0; i < n; i++)
	{
		acc[ds->users[rows[i]]] += ds->ratings[rows[i]] - *mu - item_off[ds->items[rows[i]]];
		cnt[ds->users[rows[i]]] += 1.0;
	}
	for (int32_t u = 0; u < ds->n_users; u++)
		user_off[u] = cnt[u] + damping > 0.0 ? (float) (acc[u] / (cnt[u] + damping)) : 0.0f;
	free(acc);
	free(cnt);
	return XD_OK;
}

xd_status
xd_domain_set_damped_means(xd_domain *dom, const xd_dataset *ds, double damping)
{
	double		mu;
	xd_status	st;

	if (!dom->s || !dom->s_u || !dom->s_v || dom->n_users != ds->n_users ||
		dom->n_items != ds->n_items)
		return XD_EINVAL;
	if ((st = xd_damped_means(ds, damping, &mu, dom->s_u->w, dom->s_v->w)) != XD_OK)
		return st;
	dom->s->w[0] = (float) mu;
	return XD_OK;
}

xd_status
xd_domain_damped_init(xd_domain *dom, const xd_dataset *ds, int64_t max_rows, bool *applied)
{
	bool		apply = dom->s && ds->has_ratings && ds->finalized &&
		ds->n_split[XD_SPLIT_TRAIN] < max_rows;
	xd_status	st = apply ? xd_domain_set_damped_means(dom, ds, XD_DAMPING) : XD_OK;

	if (applied)
		*applied = apply && st == XD_OK;
	return st;
}
