/*
 * metrics.c - the evaluation protocols of DESIGN section 5.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/metrics.h"
#include "xdrec/rng.h"

/* Redraws of a context negative equal to the positive's context. */
#define XD_EVAL_CTX_TRIES 100

void
xd_eval_opts_default(xd_eval_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->seed = 42;
	o->max_positives = 0;
	o->n_item_neg = 50;
	o->n_ctx_neg = 50;
	o->batch_rows = 4096;
}

double
xd_rank_of(float pos, const float *neg, int n)
{
	int			higher = 0,
				tied = 0;

	for (int i = 0; i < n; i++)
	{
		higher += neg[i] > pos;
		tied += neg[i] == pos;
	}
	/* section 5: ties count half */
	return 1.0 + higher + 0.5 * tied;
}

static inline double
dcg(double rank)
{
	return 1.0 / log2(1.0 + rank);
}

/* A positive's own generator: seed and row, so batching does not matter. */
static void
row_rng(xd_rng *r, uint64_t seed, int64_t row)
{
	uint8_t		b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t) ((uint64_t) row >> (8 * i));
	xd_rng_seed(r, xd_hash_bytes(b, 8, seed));
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/*
 * The split's eligible positives (user and item with training rows), then a
 * seeded subsample of at most max of them, ascending. *out is malloc'd.
 */
static xd_status
eligible_rows(const xd_dataset *ds, xd_split split, const xd_eval_opts *o,
			  int64_t **out, int64_t *n_out, int64_t *n_excluded)
{
	const int64_t *rows;
	int64_t		n,
				k = 0;
	int64_t    *el;

	*out = NULL;
	*n_out = 0;
	*n_excluded = 0;
	if (!ds->finalized || (int) split < 0 || (int) split >= XD_N_SPLITS)
		return XD_EINVAL;
	rows = ds->split_rows[split];
	n = ds->n_split[split];
	el = malloc(sizeof(int64_t) * (size_t) (n > 0 ? n : 1));
	if (!el)
		return XD_ENOMEM;
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		r = rows[i];

		/* section 3: excluded from evaluation and counted */
		if (xd_dataset_user_known(ds, ds->users[r]) && xd_dataset_item_known(ds, ds->items[r]))
			el[k++] = r;
	}
	*n_excluded = n - k;
	if (o->max_positives > 0 && k > o->max_positives)
	{
		xd_rng		r;
		int64_t		want = o->max_positives;

		/* partial Fisher-Yates: the first want entries are a uniform sample */
		xd_rng_seed(&r, o->seed ^ 0x5eedc0ffee5eedULL);
		for (int64_t i = 0; i < want; i++)
		{
			int64_t		j = i + (int64_t) (xd_rng_next(&r) % (uint64_t) (k - i));
			int64_t		t = el[i];

			el[i] = el[j];
			el[j] = t;
		}
		k = want;
		/* back to row order */
		qsort(el, (size_t) k, sizeof(int64_t), cmp_i64);
	}
	*out = el;
	*n_out = k;
	return XD_OK;
}

static inline int
check_stop(const xd_eval_opts *o)
{
	return xd_hooks_stopped(&o->hooks);
}

/* Room for n per-positive terms when the caller asked for them (o->each). */
static xd_status
each_alloc(const xd_eval_opts *o, int64_t n, double **each)
{
	*each = NULL;
	if (o->each)
	{
		*o->each = NULL;
		if (n > 0 && !(*each = malloc(sizeof(double) * (size_t) n)))
			return XD_ENOMEM;
	}
	return XD_OK;
}

/* Hands the terms to the caller on success (done: frees what is left). */
static void
each_return(const xd_eval_opts *o, double **each)
{
	if (o->each)
	{
		*o->each = *each;
		*each = NULL;
	}
}

void
xd_eval_context_negative(const xd_dataset *ds, int64_t row, const float *c, xd_rng *r,
						 float *cn)
{
	const xd_feature_encoder *e = &ds->enc;
	size_t		cb = sizeof(float) * (size_t) e->schema.m;

	memcpy(cn, c, cb);
	for (int t = 0; t < XD_EVAL_CTX_TRIES && ds->n_rows > 1; t++)
	{
		int64_t		other = (int64_t) (xd_rng_next(r) % (uint64_t) (ds->n_rows - 1));

		if (other >= row)
			other++;
		xd_encode_interaction(e, ds->num + (size_t) other * e->schema.n_num,
							  ds->codes + (size_t) other * e->schema.n_codes, cn);
		/* redrawn when equal to the positive's (section 5) */
		if (memcmp(cn, c, cb) != 0)
			break;
	}
}

/*
 * Writes positive row's candidates into b from b->n on: the positive, then
 * its item negatives, then its context negatives. Returns the number written.
 */
static int
sampled_candidates(const xd_dataset *ds, int64_t row, const xd_eval_opts *o, xd_batch *b)
{
	const xd_feature_encoder *e = &ds->enc;
	int			m = e->schema.m;
	size_t		cb = sizeof(float) * (size_t) m;
	int32_t		u = ds->users[row],
				v = ds->items[row];
	int			base = b->n,
				k = base;
	float	   *c = b->c + (size_t) base * m;
	xd_rng		r;

	row_rng(&r, o->seed, row);
	b->users[k] = u;
	b->items[k] = v;
	b->hist[k] = xd_dataset_hist(ds, row, v);
	xd_dataset_encode(ds, row, -1, c);
	k++;

	/* item negatives: distinct items != v; all others if there are too few */
	if (ds->n_items - 1 <= o->n_item_neg)
	{
		for (int32_t w = 0; w < ds->n_items; w++)
		{
			if (w == v)
				continue;
			b->users[k] = u;
			b->items[k] = w;
			b->hist[k] = xd_dataset_hist(ds, row, w);
			memcpy(b->c + (size_t) k * m, c, cb);
			xd_encode_item(e, w, b->c + (size_t) k * m);
			k++;
		}
	}
	else
	{
		for (int i = 0; i < o->n_item_neg; i++)
		{
			int32_t		w;
			int			dup;

			do
			{
				w = (int32_t) xd_rng_below(&r, (uint32_t) (ds->n_items - 1));
				if (w >= v)
					w++;
				dup = 0;
				for (int j = base + 1; j < k && !dup; j++)
					dup = b->items[j] == w;
			} while (dup);
			b->users[k] = u;
			b->items[k] = w;
			b->hist[k] = xd_dataset_hist(ds, row, w);
			memcpy(b->c + (size_t) k * m, c, cb);
			xd_encode_item(e, w, b->c + (size_t) k * m);
			k++;
		}
	}

	/* context negatives: interaction part of random other rows of the domain */
	for (int i = 0; i < o->n_ctx_neg && ds->n_rows > 1; i++)
	{
		float	   *cn = b->c + (size_t) k * m;

		b->users[k] = u;
		b->items[k] = v;
		b->hist[k] = b->hist[base];
		xd_eval_context_negative(ds, row, c, &r, cn);
		k++;
	}
	b->n = k;
	return k - base;
}

/* ---------------------------------------------- kept candidates (xd_eval_set) */

struct xd_eval_set
{
	/* what the candidates were drawn for */
	const xd_dataset *ds;
	xd_split	split;
	uint64_t	seed;
	int64_t		max_positives;
	int			n_item_neg;
	int			n_ctx_neg;
	int			batch_rows;
	/* the result of eligible_rows */
	int64_t		n;
	int64_t		n_excluded;
	/* one scoring batch per score call, with its positives' first rows */
	int			n_batches;
	int			stride;			/* pos_per_batch + 1 */
	xd_batch   *batches;		/* n, m, users, items, c, hist only */
	int		   *starts;			/* [n_batches * stride] */
};

void
xd_eval_set_free(xd_eval_set *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_batches; i++)
		xd_batch_free(&s->batches[i]);
	free(s->batches);
	free(s->starts);
	free(s);
}

static bool
eval_set_matches(const xd_eval_set *s, const xd_dataset *ds, xd_split split,
				 const xd_eval_opts *o)
{
	return s->ds == ds && s->split == split && s->seed == o->seed &&
		s->max_positives == o->max_positives && s->n_item_neg == o->n_item_neg &&
		s->n_ctx_neg == o->n_ctx_neg && s->batch_rows == o->batch_rows;
}

/* A kept row: its context values, user, item and history flag. */
static size_t
eval_set_row_bytes(const xd_dataset *ds)
{
	return sizeof(float) * (size_t) ds->enc.schema.m + 2 * sizeof(int32_t) + sizeof(float);
}

/* The bytes of n positives' rows, per_pos each, or 0 beyond the bound. */
static size_t
eval_set_rows_bytes(const xd_dataset *ds, int64_t n, int per_pos)
{
	double		bytes = (double) n * per_pos * eval_set_row_bytes(ds);

	return bytes > (double) XD_EVAL_SET_MAX_BYTES ? 0 : (size_t) bytes;
}

size_t
xd_eval_set_bytes(const xd_dataset *ds, xd_split split, const xd_eval_opts *o)
{
	int64_t		n;

	if ((int) split < 0 || (int) split >= XD_N_SPLITS)
		return 0;
	n = ds->n_split[split];
	if (o->max_positives > 0 && n > o->max_positives)
		n = o->max_positives;
	return eval_set_rows_bytes(ds, n, 1 + o->n_item_neg + o->n_ctx_neg);
}

/*
 * An empty set for n positives in batches of pos_per_batch, or NULL in *out
 * when their rows (at most per_pos each) would exceed XD_EVAL_SET_MAX_BYTES.
 */
static xd_status
eval_set_new(const xd_dataset *ds, xd_split split, const xd_eval_opts *o,
			 int64_t n, int64_t n_excl, int pos_per_batch, int per_pos,
			 xd_eval_set **out)
{
	int64_t		n_batches = (n + pos_per_batch - 1) / pos_per_batch;
	xd_eval_set *s;

	*out = NULL;
	if (n > 0 && eval_set_rows_bytes(ds, n, per_pos) == 0)
		return XD_OK;
	if (!(s = calloc(1, sizeof(*s))))
		return XD_ENOMEM;
	s->ds = ds;
	s->split = split;
	s->seed = o->seed;
	s->max_positives = o->max_positives;
	s->n_item_neg = o->n_item_neg;
	s->n_ctx_neg = o->n_ctx_neg;
	s->batch_rows = o->batch_rows;
	s->n = n;
	s->n_excluded = n_excl;
	s->stride = pos_per_batch + 1;
	s->batches = calloc(n_batches > 0 ? (size_t) n_batches : 1, sizeof(xd_batch));
	s->starts = malloc(sizeof(int) * (size_t) (n_batches > 0 ? n_batches : 1) * s->stride);
	if (!s->batches || !s->starts)
	{
		xd_eval_set_free(s);
		return XD_ENOMEM;
	}
	*out = s;
	return XD_OK;
}

/* Appends a copy of b's scored rows and their np + 1 starts to s. */
static xd_status
eval_set_add(xd_eval_set *s, const xd_batch *b, const int *start, int np)
{
	xd_batch   *k = &s->batches[s->n_batches];
	size_t		n = (size_t) (b->n > 0 ? b->n : 1);

	k->n = b->n;
	k->m = b->m;
	k->capacity = b->n;
	k->users = malloc(sizeof(int32_t) * n);
	k->items = malloc(sizeof(int32_t) * n);
	k->c = malloc(sizeof(float) * n * (size_t) (b->m > 0 ? b->m : 1));
	k->hist = malloc(sizeof(float) * n);
	s->n_batches++;				/* freed with the set, filled or not */
	if (!k->users || !k->items || !k->c || !k->hist)
		return XD_ENOMEM;
	memcpy(k->users, b->users, sizeof(int32_t) * (size_t) b->n);
	memcpy(k->items, b->items, sizeof(int32_t) * (size_t) b->n);
	memcpy(k->c, b->c, sizeof(float) * (size_t) b->n * (size_t) b->m);
	memcpy(k->hist, b->hist, sizeof(float) * (size_t) b->n);
	memcpy(s->starts + (size_t) (s->n_batches - 1) * s->stride, start,
		   sizeof(int) * (size_t) (np + 1));
	return XD_OK;
}

xd_status
xd_eval_sampled(const xd_dataset *ds, xd_split split, const xd_eval_opts *o,
				xd_score_fn score, void *score_arg, xd_rank_metrics *out)
{
	int64_t    *rows = NULL;
	int64_t		n,
				n_excl;
	int			per_pos,
				pos_per_batch;
	int			start[4096 + 1];
	xd_batch	b = {0};
	xd_eval_set *set = o->reuse ? *o->reuse : NULL; /* scored again */
	xd_eval_set *keep = NULL;	/* being filled, for o->reuse */
	float	   *scores = NULL;
	double	   *each = NULL;
	double		h1 = 0,
				h5 = 0,
				h10 = 0,
				nd = 0,
				rr = 0;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if (o->n_item_neg < 0 || o->n_ctx_neg < 0 ||
		(set && !eval_set_matches(set, ds, split, o)))
		return XD_EINVAL;
	per_pos = 1 + o->n_item_neg + o->n_ctx_neg;
	pos_per_batch = o->batch_rows / per_pos;
	if (pos_per_batch < 1)
		pos_per_batch = 1;
	if (pos_per_batch > 4096)
		pos_per_batch = 4096;
	if (set)
	{
		n = set->n;
		n_excl = set->n_excluded;
	}
	else
	{
		st = eligible_rows(ds, split, o, &rows, &n, &n_excl);
		if (st != XD_OK)
			return st;
		if ((o->reuse &&
			 (st = eval_set_new(ds, split, o, n, n_excl, pos_per_batch, per_pos, &keep)) != XD_OK) ||
			(st = xd_batch_init(&b, pos_per_batch * per_pos, ds->enc.schema.m)) != XD_OK)
			goto done;
	}
	out->n_excluded = n_excl;
	scores = malloc(sizeof(float) * (size_t) pos_per_batch * per_pos);
	if (!scores || (st = each_alloc(o, n, &each)) != XD_OK)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int64_t i = 0, k = 0; i < n; i += pos_per_batch, k++)
	{
		int			np = (int) (n - i < pos_per_batch ? n - i : pos_per_batch);
		const xd_batch *bp = &b;
		const int  *sp = start;

		if (check_stop(o))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		if (set)
		{
			bp = &set->batches[k];
			sp = set->starts + (size_t) k * set->stride;
		}
		else
		{
			b.n = 0;
			b.n_pos = 0;
			for (int j = 0; j < np; j++)
			{
				start[j] = b.n;
				sampled_candidates(ds, rows[i + j], o, &b);
			}
			start[np] = b.n;
			if (keep && (st = eval_set_add(keep, &b, start, np)) != XD_OK)
				goto done;
		}
		st = score(score_arg, bp, scores);
		if (st != XD_OK)
			goto done;
		for (int j = 0; j < np; j++)
		{
			float		pos = scores[sp[j]];
			double		rank;

			for (int t = sp[j]; t < sp[j + 1]; t++)
				if (isnan(scores[t]))
				{
					st = XD_ENUMERIC;
					goto done;
				}
			rank = xd_rank_of(pos, scores + sp[j] + 1, sp[j + 1] - sp[j] - 1);
			h1 += rank <= 1.0;
			h5 += rank <= 5.0;
			h10 += rank <= 10.0;
			nd += rank <= 10.0 ? dcg(rank) : 0.0;
			rr += 1.0 / rank;
			if (each)
				each[i + j] = 1.0 / rank;
		}
	}
	each_return(o, &each);
	out->n = n;
	if (n > 0)
	{
		out->h1 = h1 / n;
		out->h5 = h5 / n;
		out->h10 = h10 / n;
		out->ndcg10 = nd / n;
		out->mrr = rr / n;
	}
	if (keep)
	{
		*o->reuse = keep;
		keep = NULL;
	}
	st = XD_OK;
done:
	xd_eval_set_free(keep);
	free(each);
	free(scores);
	free(rows);
	xd_batch_free(&b);
	return st;
}

xd_status
xd_eval_full(const xd_dataset *ds, xd_split split, int k, const xd_eval_opts *o,
			 xd_score_fn score, void *score_arg, xd_full_metrics *out)
{
	const xd_feature_encoder *e = &ds->enc;
	int			m = e->schema.m;
	size_t		cb = sizeof(float) * (size_t) m;
	int64_t    *rows = NULL;
	int64_t		n,
				n_excl;
	xd_batch	b;
	float	   *scores = NULL,
			   *base = NULL;
	double	   *each = NULL;
	double		hit = 0,
				nd = 0,
				rr = 0;
	int			cap;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	out->k = k;
	if (k <= 0)
		return XD_EINVAL;
	st = eligible_rows(ds, split, o, &rows, &n, &n_excl);
	if (st != XD_OK)
		return st;
	out->n_excluded = n_excl;
	if ((st = each_alloc(o, n, &each)) != XD_OK)
	{
		free(rows);
		return st;
	}
	cap = o->batch_rows > 0 ? o->batch_rows : 4096;
	if (cap > ds->n_items && ds->n_items > 0)
		cap = ds->n_items;
	st = xd_batch_init(&b, cap, m);
	if (st != XD_OK)
	{
		free(rows);
		return st;
	}
	scores = malloc(sizeof(float) * (size_t) cap);
	base = malloc(cb > 0 ? cb : 1);
	if (!scores || !base)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		row = rows[i];
		int32_t		u = ds->users[row],
					v = ds->items[row];
		float		pos = 0;
		int64_t		higher = 0,
					tied = 0;
		double		rank;
		int			have_pos = 0;

		xd_dataset_encode(ds, row, -1, base);

		/*
		 * Score the positive first so ranks can be counted chunk by chunk;
		 * then every other item not seen in training (section 5).
		 */
		for (int32_t w0 = -1; w0 < ds->n_items;)
		{
			b.n = 0;
			if (!have_pos)
			{
				b.users[0] = u;
				b.items[0] = v;
				/* without seen items among the candidates, none has history */
				b.hist[0] = o->keep_seen ? xd_dataset_hist(ds, row, v) : 0.0f;
				memcpy(b.c, base, cb);
				b.n = 1;
				w0 = 0;
			}
			else
			{
				while (w0 < ds->n_items && b.n < cap)
				{
					int32_t		w = w0++;

					if (w == v || (!o->keep_seen && xd_dataset_seen(ds, u, w)))
						continue;
					b.users[b.n] = u;
					b.items[b.n] = w;
					b.hist[b.n] = xd_dataset_hist(ds, row, w);
					memcpy(b.c + (size_t) b.n * m, base, cb);
					xd_encode_item(e, w, b.c + (size_t) b.n * m);
					b.n++;
				}
				if (b.n == 0)
					break;
			}
			if (check_stop(o))
			{
				st = XD_ECANCELLED;
				goto done;
			}
			st = score(score_arg, &b, scores);
			if (st != XD_OK)
				goto done;
			for (int t = 0; t < b.n; t++)
				if (isnan(scores[t]))
				{
					st = XD_ENUMERIC;
					goto done;
				}
			if (!have_pos)
			{
				pos = scores[0];
				have_pos = 1;
				continue;
			}
			for (int t = 0; t < b.n; t++)
			{
				higher += scores[t] > pos;
				tied += scores[t] == pos;
			}
		}
		rank = 1.0 + (double) higher + 0.5 * (double) tied;
		hit += rank <= k;
		nd += rank <= k ? dcg(rank) : 0.0;
		rr += 1.0 / rank;
		if (each)
			each[i] = 1.0 / rank;
	}
	out->n = n;
	if (n > 0)
	{
		out->hit = hit / n;
		out->ndcg = nd / n;
		out->mrr = rr / n;
	}
	each_return(o, &each);
	st = XD_OK;
done:
	free(each);
	free(scores);
	free(base);
	free(rows);
	xd_batch_free(&b);
	return st;
}

xd_status
xd_eval_ratings(const xd_dataset *ds, xd_split split, const xd_eval_opts *o,
				xd_score_fn score, void *score_arg, xd_rating_metrics *out)
{
	int			m = ds->enc.schema.m;
	int64_t    *rows = NULL;
	int64_t		n,
				n_excl;
	xd_batch	b;
	float	   *scores = NULL;
	double	   *each = NULL;
	double		se = 0,
				ae = 0;
	int			cap;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if (!ds->has_ratings)
		return XD_EINVAL;
	st = eligible_rows(ds, split, o, &rows, &n, &n_excl);
	if (st != XD_OK)
		return st;
	out->n_excluded = n_excl;
	cap = o->batch_rows > 0 ? o->batch_rows : 4096;
	st = xd_batch_init(&b, cap, m);
	if (st != XD_OK)
	{
		free(rows);
		return st;
	}
	scores = malloc(sizeof(float) * (size_t) cap);
	if (!scores || (st = each_alloc(o, n, &each)) != XD_OK)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int64_t i = 0; i < n; i += cap)
	{
		int			nb = (int) (n - i < cap ? n - i : cap);

		if (check_stop(o))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		for (int j = 0; j < nb; j++)
		{
			int64_t		row = rows[i + j];

			b.users[j] = ds->users[row];
			b.items[j] = ds->items[row];
			b.hist[j] = xd_dataset_hist(ds, row, ds->items[row]);
			b.ratings[j] = ds->ratings[row];
			xd_dataset_encode(ds, row, -1, b.c + (size_t) j * m);
		}
		b.n = nb;
		b.n_pos = 0;
		st = score(score_arg, &b, scores);
		if (st != XD_OK)
			goto done;
		for (int j = 0; j < nb; j++)
		{
			double		d = (double) scores[j] - (double) b.ratings[j];

			if (isnan(scores[j]))
			{
				st = XD_ENUMERIC;
				goto done;
			}
			se += d * d;
			ae += fabs(d);
			if (each)
				each[i + j] = d * d;
		}
	}
	each_return(o, &each);
	out->n = n;
	if (n > 0)
	{
		out->rmse = sqrt(se / n);
		out->mae = ae / n;
	}
	st = XD_OK;
done:
	free(each);
	free(scores);
	free(rows);
	xd_batch_free(&b);
	return st;
}

/* The mean of x(term) over n terms and its standard error. */
static xd_metric_se
mean_se(const double *t, int64_t n, double (*x) (double))
{
	xd_metric_se m = {0.0, INFINITY};
	double		sum = 0.0,
				ss = 0.0;

	if (n <= 0)
	{
		m.se = 0.0;
		return m;
	}
	for (int64_t i = 0; i < n; i++)
		sum += x(t[i]);
	m.value = sum / (double) n;
	for (int64_t i = 0; i < n; i++)
		ss += (x(t[i]) - m.value) * (x(t[i]) - m.value);
	if (n > 1)
		m.se = sqrt(ss / (double) (n - 1) / (double) n);
	return m;
}

/* 1/rank back to the rank; ranks are whole or half numbers */
static double
rank_of_inv(double inv)
{
	return round(2.0 / inv) / 2.0;
}

static double
hit1_of(double inv)
{
	return rank_of_inv(inv) <= 1.0;
}

static double
hit5_of(double inv)
{
	return rank_of_inv(inv) <= 5.0;
}

static double
hit10_of(double inv)
{
	return rank_of_inv(inv) <= 10.0;
}

static double
hit20_of(double inv)
{
	return rank_of_inv(inv) <= 20.0;
}

static double
ndcg10_of(double inv)
{
	double		r = rank_of_inv(inv);

	return r <= 10.0 ? dcg(r) : 0.0;
}

static double
identity(double x)
{
	return x;
}

void
xd_rank_summary_of(const double *inv_rank, int64_t n, xd_rank_summary *out)
{
	out->n = n;
	out->hit1 = mean_se(inv_rank, n, hit1_of);
	out->hit5 = mean_se(inv_rank, n, hit5_of);
	out->hit10 = mean_se(inv_rank, n, hit10_of);
	out->hit20 = mean_se(inv_rank, n, hit20_of);
	out->ndcg10 = mean_se(inv_rank, n, ndcg10_of);
	out->mrr = mean_se(inv_rank, n, identity);
}

void
xd_rating_summary_of(const double *sq_err, int64_t n, xd_metric_se *rmse, xd_metric_se *mae)
{
	xd_metric_se mse = mean_se(sq_err, n, identity);

	*mae = mean_se(sq_err, n, sqrt);
	rmse->value = sqrt(mse.value);
	rmse->se = rmse->value > 0.0 ? mse.se / (2.0 * rmse->value) : mse.se;
}

double
xd_paired_se(double s1, double s2, double n)
{
	double		mean = s1 / n,
				var = n > 1 ? (s2 - n * mean * mean) / (n - 1) : 0.0;

	return var > 0.0 ? sqrt(var / n) : 0.0;
}
