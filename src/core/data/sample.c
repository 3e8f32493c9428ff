/*
 * sample.c - seeded shuffles and the negatives of DESIGN section 3, written
 * straight into a batch's dense c (no allocation per row).
 */
#include <stdlib.h>
#include <string.h>

#include "xdrec/sample.h"

/* Redraws of a context negative that came out equal to the positive's c. */
#define XD_CTX_NEG_TRIES 32

void
xd_shuffle_rows(int64_t *rows, int64_t n, xd_rng *rng)
{
	for (int64_t i = n - 1; i > 0; i--)
	{
		int64_t		j;
		int64_t		t;

		/* xd_rng_below is 32-bit; larger arrays draw from 64 bits */
		if (i < (int64_t) UINT32_MAX)
			j = (int64_t) xd_rng_below(rng, (uint32_t) (i + 1));
		else
			j = (int64_t) (xd_rng_next(rng) % (uint64_t) (i + 1));
		t = rows[i];
		rows[i] = rows[j];
		rows[j] = t;
	}
}

xd_status
xd_train_rows(const xd_dataset *ds, int64_t **rows, int64_t *n)
{
	int64_t		k;

	*rows = NULL;
	*n = 0;
	if (!ds->finalized)
		return XD_EINVAL;
	k = ds->n_split[XD_SPLIT_TRAIN];
	if (k == 0)
		return XD_ENODATA;
	*rows = malloc(sizeof(int64_t) * (size_t) k);
	if (!*rows)
		return XD_ENOMEM;
	memcpy(*rows, ds->split_rows[XD_SPLIT_TRAIN], sizeof(int64_t) * (size_t) k);
	*n = k;
	return XD_OK;
}

/* A uniform index in [0, n) for n up to 2^63. */
static inline int64_t
below64(xd_rng *rng, int64_t n)
{
	if (n <= (int64_t) UINT32_MAX)
		return (int64_t) xd_rng_below(rng, (uint32_t) n);
	return (int64_t) (xd_rng_next(rng) % (uint64_t) n);
}

/*
 * Fetching rows ahead. Each positive is a row of the shuffled split, and each
 * context negative a uniform training row (its index in the split, then its
 * features): cache misses on arrays of the dataset's size, dependent ones for
 * the negative, which were most of sampling's time at a million rows. The
 * positives' rows are known: XD_AHEAD positives ahead, their row's ids and
 * features are fetched. Which row a context negative is depends only on the
 * rng, so a copy of the rng runs XD_AHEAD_FAR positives ahead of the real
 * draws, predicting each positive's two draws as if no context negative were
 * drawn again (the item negative, the first context negative: the loop
 * below), and fetches the split's entry; XD_AHEAD positives ahead, the
 * entry's row. A redraw puts the copy out of step: the state it predicted for
 * each positive is compared with the real one, and on a difference the copy
 * starts again from the real state. Only fetches use the copy, so every
 * value drawn and written is the same with or without it. (16 positives
 * ahead fetched later than needed: 8 was faster.)
 */
#define XD_AHEAD 8
#define XD_AHEAD_FAR (2 * XD_AHEAD)
#define XD_AHEAD_RING 32		/* > XD_AHEAD_FAR, a power of two */

typedef struct xd_neg_ahead
{
	xd_rng		copy;			/* at the start of positive next's draws */
	int			next;			/* the first positive not predicted yet */
	xd_rng		state[XD_AHEAD_RING];	/* predicted state at positive i's start */
	int64_t		pick[XD_AHEAD_RING];	/* predicted split index of its negative */
} xd_neg_ahead;

/*
 * the row's features (and with ids, its user and item) into the cache;
 * always inlined: as a function of its own gcc finds it has no effect and
 * drops the calls
 */
static inline __attribute__((always_inline)) void
prefetch_row(const xd_dataset *ds, int64_t row, bool ids)
{
	const xd_schema *s = &ds->enc.schema;

	if (ids)
	{
		__builtin_prefetch(ds->users + row);
		__builtin_prefetch(ds->items + row);
	}
	if (s->n_num > 0)
		__builtin_prefetch(ds->num + (size_t) row * s->n_num);
	if (s->n_codes > 0)
		__builtin_prefetch(ds->codes + (size_t) row * s->n_codes);
}

static void
neg_ahead_predict(xd_neg_ahead *a, const xd_dataset *ds, const int64_t *train,
				  int64_t n_train)
{
	int			k = a->next++ & (XD_AHEAD_RING - 1);

	a->state[k] = a->copy;
	(void) xd_rng_below(&a->copy, (uint32_t) (ds->n_items - 1));
	a->pick[k] = below64(&a->copy, n_train);
	__builtin_prefetch(train + a->pick[k]);
}

/* from rng's state at positive i's start, the next positives predicted again */
static void
neg_ahead_start(xd_neg_ahead *a, const xd_rng *rng, int i, int n_pos,
				const xd_dataset *ds, const int64_t *train, int64_t n_train)
{
	a->copy = *rng;
	a->next = i;
	while (a->next < n_pos && a->next <= i + XD_AHEAD_FAR)
		neg_ahead_predict(a, ds, train, n_train);
}

/* before positive i's draws: back in step with rng if need be; fetch ahead */
static void
neg_ahead_step(xd_neg_ahead *a, const xd_rng *rng, int i, int n_pos,
			   const xd_dataset *ds, const int64_t *train, int64_t n_train)
{
	if (memcmp(&a->state[i & (XD_AHEAD_RING - 1)], rng, sizeof(*rng)) != 0)
		neg_ahead_start(a, rng, i, n_pos, ds, train, n_train);
	if (i + XD_AHEAD < n_pos)
		prefetch_row(ds, train[a->pick[(i + XD_AHEAD) & (XD_AHEAD_RING - 1)]], false);
	if (a->next < n_pos)
		neg_ahead_predict(a, ds, train, n_train);
}

xd_status
xd_sample_batch(const xd_dataset *ds, const int64_t *rows, int n_pos,
				xd_rng *rng, xd_batch *b)
{
	const xd_feature_encoder *e = &ds->enc;
	const xd_schema *s = &e->schema;
	int			m = s->m;
	size_t		cb = sizeof(float) * (size_t) m;
	int			implicit = !ds->has_ratings;
	const int64_t *train = ds->split_rows[XD_SPLIT_TRAIN];
	int64_t		n_train = ds->n_split[XD_SPLIT_TRAIN];
	xd_neg_ahead ahead;

	if (!ds->finalized || n_pos < 0 || b->m != m ||
		b->capacity < (implicit ? 3 * n_pos : n_pos))
		return XD_EINVAL;
	if (implicit && n_pos > 0 && (ds->n_items < 2 || n_train < 2))
		return XD_ENODATA;

	b->n_pos = n_pos;
	b->n = implicit ? 3 * n_pos : n_pos;
	/* the dataset's rows are unweighted (batch.h) */
	for (int k = 0; k < b->n; k++)
		b->weights[k] = 1.0f;
	if (implicit)
		neg_ahead_start(&ahead, rng, 0, n_pos, ds, train, n_train);
	for (int i = 0; i < n_pos; i++)
	{
		int64_t		row = rows[i];
		int32_t		u = ds->users[row],
					v = ds->items[row];
		float	   *c = b->c + (size_t) i * m;

		b->users[i] = u;
		b->items[i] = v;
		xd_dataset_encode(ds, row, -1, c);
		if (i + XD_AHEAD < n_pos)
			prefetch_row(ds, rows[i + XD_AHEAD], true);
		/*
		 * the repeat term's history: the user's training rows with v but this
		 * one (none when the batch has no hist: batch.h)
		 */
		if (b->hist)
			b->hist[i] = xd_dataset_hist(ds, row, v);
		if (!implicit)
		{
			b->ratings[i] = ds->ratings[row];
			continue;
		}
		b->ratings[i] = 1.0f;
		neg_ahead_step(&ahead, rng, i, n_pos, ds, train, n_train);

		/* item negative: uniform over the domain's items other than v */
		{
			int			k = n_pos + i;
			int32_t		vn = (int32_t) xd_rng_below(rng, (uint32_t) (ds->n_items - 1));
			float	   *cn = b->c + (size_t) k * m;

			if (vn >= v)
				vn++;
			b->users[k] = u;
			b->items[k] = vn;
			if (b->hist)
				b->hist[k] = xd_dataset_hist(ds, row, vn);
			b->ratings[k] = 0.0f;
			memcpy(cn, c, cb);
			/* with the negative item's own item-scoped features (section 3) */
			xd_encode_item(e, vn, cn);
		}

		/* context negative: another training row's interaction-scoped part */
		{
			int			k = 2 * n_pos + i;
			float	   *cn = b->c + (size_t) k * m;

			b->users[k] = u;
			b->items[k] = v;
			if (b->hist)
				b->hist[k] = b->hist[i];	/* the positive's item, its other rows */
			b->ratings[k] = 0.0f;
			memcpy(cn, c, cb);
			for (int t = 0; t < XD_CTX_NEG_TRIES; t++)
			{
				int64_t		other = train[below64(rng, n_train)];

				if (other == row)
				{
					t--;		/* not a draw: n_train >= 2, so this ends */
					continue;
				}
				xd_encode_interaction(e, ds->num + (size_t) other * s->n_num,
									  ds->codes + (size_t) other * s->n_codes, cn);
				/* only the interaction-scoped blocks changed, so compare all of c */
				if (memcmp(cn, c, cb) != 0)
					break;
			}
		}
	}
	return XD_OK;
}
