/*
 * dataset.c - one domain's dataset: append, split, normalisation, profiles
 * and encoding of its rows (DESIGN sections 2, 3, 10); the features'
 * schema and encoder are features.c's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_int.h"
#include "xdrec/dataset.h"
#include "xdrec/rng.h"

/* --------------------------------------------------------------- dataset */

/* Accounts bytes against the budget; nonzero when they do not fit. */
static int
reserve(xd_dataset *ds, size_t bytes)
{
	if (ds->budget && (bytes > ds->budget || ds->memory > ds->budget - bytes))
		return 1;
	ds->memory += bytes;
	return 0;
}

static size_t
row_bytes(const xd_dataset *ds)
{
	const xd_schema *s = &ds->enc.schema;

	return 2 * sizeof(int32_t) + (ds->has_ratings ? sizeof(float) : 0) +
		sizeof(float) * (size_t) s->n_num + sizeof(int32_t) * (size_t) s->n_codes;
}

xd_status
xd_dataset_create(const xd_schema *schema, int32_t n_users, int32_t n_items,
				  int has_ratings, size_t budget, xd_dataset **out)
{
	xd_dataset *ds;
	xd_status	st;

	*out = NULL;
	if (n_users < 0 || n_items < 0)
		return XD_EINVAL;
	ds = calloc(1, sizeof(xd_dataset));
	if (!ds)
		return XD_ENOMEM;
	/* the encoder's profile arrays come at finalize; only the schema now */
	st = xd_schema_copy(&ds->enc.schema, schema);
	if (st != XD_OK)
	{
		free(ds);
		return st;
	}
	ds->n_users = n_users;
	ds->n_items = n_items;
	ds->has_ratings = has_ratings ? 1 : 0;
	ds->budget = budget;
	ds->memory = sizeof(xd_dataset);
	ds->valid_from = -1;
	ds->test_from = -1;
	*out = ds;
	return XD_OK;
}

void
xd_dataset_hold_out(xd_dataset *ds)
{
	ds->test_from = ds->n_rows;
}

void
xd_dataset_split_by_order(xd_dataset *ds, int64_t valid_from, int64_t test_from)
{
	ds->split_by_order = 1;
	ds->valid_from = valid_from;
	ds->test_from = test_from;
}

static xd_status
grow(xd_dataset *ds)
{
	const xd_schema *s = &ds->enc.schema;
	size_t		rb = row_bytes(ds);
	int64_t		new_cap = ds->capacity < 1024 ? 1024 : ds->capacity * 2;
	size_t		base = ds->memory - (size_t) ds->capacity * rb;
	void	   *p;

	/* geometric growth, trimmed to what the budget still allows */
	if (ds->budget)
	{
		int64_t		fit = ds->budget > base ? (int64_t) ((ds->budget - base) / rb) : 0;

		if (new_cap > fit)
			new_cap = fit;
		if (new_cap <= ds->capacity)
			return XD_ENOMEM;
	}
#define GROW(field, type, per_row) \
	do { \
		if ((per_row) > 0) \
		{ \
			p = realloc(ds->field, sizeof(type) * (size_t) new_cap * (size_t) (per_row)); \
			if (!p) \
				return XD_ENOMEM; \
			ds->field = p; \
		} \
	} while (0)
	GROW(users, int32_t, 1);
	GROW(items, int32_t, 1);
	if (ds->has_ratings)
		GROW(ratings, float, 1);
	GROW(num, float, s->n_num);
	GROW(codes, int32_t, s->n_codes);
#undef GROW
	ds->capacity = new_cap;
	ds->memory = base + (size_t) new_cap * rb;
	return XD_OK;
}

xd_status
xd_dataset_append(xd_dataset *ds, int32_t user, int32_t item, float rating,
				  const float *num, const int32_t *codes)
{
	const xd_schema *s = &ds->enc.schema;
	int64_t		r = ds->n_rows;
	float	   *dn;
	int32_t    *dc;

	if (ds->finalized || user < 0 || user >= ds->n_users || item < 0 || item >= ds->n_items)
		return XD_EINVAL;
	if (ds->has_ratings && !isfinite(rating))
		return XD_EINVAL;
	if ((s->n_num > 0 && !num) || (s->n_codes > 0 && !codes))
		return XD_EINVAL;
	for (int i = 0; i < s->n_num; i++)
		if (isinf(num[i]))
			return XD_EINVAL;
	if (r == ds->capacity)
	{
		xd_status	st = grow(ds);

		if (st != XD_OK)
			return st;
	}
	ds->users[r] = user;
	ds->items[r] = item;
	if (ds->has_ratings)
		ds->ratings[r] = rating;
	dn = ds->num + (size_t) r * s->n_num;
	dc = ds->codes + (size_t) r * s->n_codes;

	/*
	 * Canonical raw values: one NaN, no -0, booleans 0/1, codes clamped to
	 * missing/"other", so equal contexts hash and compare equal.
	 */
	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];

		if (ft->type == XD_TYPE_CATEGORICAL)
		{
			int32_t		code = codes[ft->raw];

			dc[ft->raw] = code < 0 ? XD_MISSING_CODE :
				(code >= ft->n_values - 1 ? ft->n_values - 1 : code);
		}
		else
		{
			float		x = num[ft->raw];

			if (isnan(x))
				x = XD_MISSING_NUM;
			else if (ft->type == XD_TYPE_BOOLEAN)
				x = (x != 0.0f) ? 1.0f : 0.0f;
			else if (x == 0.0f)
				x = 0.0f;
			dn[ft->raw] = x;
		}
	}
	ds->n_rows = r + 1;
	return XD_OK;
}

static inline uint8_t *
put32(uint8_t *p, uint32_t v)
{
	/* little-endian whatever the machine, so splits agree everywhere */
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
	return p + 4;
}

/* Feeds 4 little-endian bytes to a chained hash over 256-byte chunks. */
typedef struct split_hasher
{
	uint8_t		buf[256];
	int			len;
	uint64_t	h;
} split_hasher;

static inline void
hash_put32(split_hasher *sh, uint32_t v)
{
	if (sh->len == (int) sizeof(sh->buf))
	{
		sh->h = xd_hash_bytes(sh->buf, (uint64_t) sh->len, sh->h);
		sh->len = 0;
	}
	put32(sh->buf + sh->len, v);
	sh->len += 4;
}

xd_split
xd_split_of(int32_t user, int32_t item, const float *num, int n_num,
			const int32_t *codes, int n_codes, uint64_t seed)
{
	split_hasher sh;
	uint64_t	h;
	uint32_t	bucket;

	/*
	 * DESIGN section 3: the key is (user, item, context values); the domain is
	 * implicit in the dataset (the caller may fold it into the seed). Bytes are
	 * little-endian and NaN/-0 canonical, so every machine agrees.
	 */
	sh.len = 0;
	sh.h = seed;
	hash_put32(&sh, (uint32_t) user);
	hash_put32(&sh, (uint32_t) item);
	for (int i = 0; i < n_num; i++)
	{
		float		x = num[i];
		uint32_t	bits;

		if (isnan(x))
			bits = 0x7fc00000u;
		else
		{
			if (x == 0.0f)
				x = 0.0f;
			memcpy(&bits, &x, 4);
		}
		hash_put32(&sh, bits);
	}
	for (int i = 0; i < n_codes; i++)
		hash_put32(&sh, (uint32_t) codes[i]);
	h = xd_hash_bytes(sh.buf, (uint64_t) sh.len, sh.h);
	bucket = (uint32_t) (((h >> 32) * 10) >> 32);
	/* 80/10/10 (section 3) */
	return bucket < 8 ? XD_SPLIT_TRAIN : (bucket == 8 ? XD_SPLIT_VALID : XD_SPLIT_TEST);
}

static int
cmp_float(const void *a, const void *b)
{
	float		x = *(const float *) a,
				y = *(const float *) b;

	return (x > y) - (x < y);
}

static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * Groups the training rows by key (user or item) with a counting sort: on
 * return off[k]..off[k+1] indexes rows[] for key k, rows ascending.
 */
static void
group_rows(const int32_t *keys, int32_t n_keys, const int64_t *train, int64_t n_train,
		   int64_t *off, int64_t *rows)
{
	memset(off, 0, sizeof(int64_t) * ((size_t) n_keys + 1));
	for (int64_t i = 0; i < n_train; i++)
		off[keys[train[i]] + 1]++;
	for (int32_t k = 0; k < n_keys; k++)
		off[k + 1] += off[k];
	for (int64_t i = 0; i < n_train; i++)
		rows[off[keys[train[i]]]++] = train[i];
	/* off[k] now holds the end of k's group; shift back */
	for (int32_t k = n_keys; k > 0; k--)
		off[k] = off[k - 1];
	off[0] = 0;
}

/*
 * Profiles of one scope (section 2): for each entity, the mean of each
 * scoped float over its training rows (missing values skipped) and the mode
 * of each scoped code, ties to the smallest code.
 */
static void
build_profiles(xd_dataset *ds, xd_feature_scope scope, const int64_t *off,
			   const int64_t *rows, int32_t *scratch)
{
	xd_feature_encoder *e = &ds->enc;
	const xd_schema *s = &e->schema;
	int			is_user = (scope == XD_SCOPE_USER);
	int32_t		n = is_user ? e->n_users : e->n_items;
	int			pn = is_user ? s->n_user_num : s->n_item_num;
	int			pc = is_user ? s->n_user_codes : s->n_item_codes;
	float	   *pnum = is_user ? e->user_num : e->item_num;
	int32_t    *pcode = is_user ? e->user_codes : e->item_codes;

	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];

		if (ft->scope != scope)
			continue;
		for (int32_t id = 0; id < n; id++)
		{
			if (ft->type != XD_TYPE_CATEGORICAL)
			{
				double		sum = 0;
				int64_t		cnt = 0;

				for (int64_t j = off[id]; j < off[id + 1]; j++)
				{
					float		x = ds->num[(size_t) rows[j] * s->n_num + ft->raw];

					if (!isnan(x))
					{
						sum += x;
						cnt++;
					}
				}
				pnum[(size_t) id * pn + ft->profile] = cnt ? (float) (sum / cnt) : XD_MISSING_NUM;
			}
			else
			{
				int64_t		k = 0;
				int32_t		best = XD_MISSING_CODE;
				int64_t		best_cnt = 0;

				for (int64_t j = off[id]; j < off[id + 1]; j++)
				{
					int32_t		code = ds->codes[(size_t) rows[j] * s->n_codes + ft->raw];

					if (code >= 0)
						scratch[k++] = code;
				}
				qsort(scratch, (size_t) k, sizeof(int32_t), cmp_int32);
				for (int64_t j = 0; j < k;)
				{
					int64_t		run = j;

					while (run < k && scratch[run] == scratch[j])
						run++;
					/* strictly greater: in ascending order the smallest code wins ties */
					if (run - j > best_cnt)
					{
						best_cnt = run - j;
						best = scratch[j];
					}
					j = run;
				}
				pcode[(size_t) id * pc + ft->profile] = best;
			}
		}
	}
}

xd_status
xd_dataset_finalize(xd_dataset *ds, uint64_t seed)
{
	const xd_schema *s = &ds->enc.schema;
	xd_feature_encoder	enc;
	int64_t		n = ds->n_rows,
				n_train;
	int64_t    *train;
	int64_t    *off = NULL,
			   *rows = NULL;
	int32_t    *scratch = NULL;
	float	   *vals = NULL;
	size_t		enc_bytes,
				tmp_bytes;
	xd_status	st = XD_ENOMEM;

	if (ds->finalized)
		return XD_EINVAL;
	if (n == 0)
		return XD_ENODATA;
	if (ds->split)
		return XD_EINVAL;		/* a failed finalize is final: free and reload */

	/* (a) the split: a seeded hash of the key values (section 3) */
	if (reserve(ds, (size_t) n * (sizeof(uint8_t) + sizeof(int64_t))))
		return XD_ENOMEM;
	ds->split = malloc((size_t) n);
	if (!ds->split)
		return XD_ENOMEM;
	memset(ds->n_split, 0, sizeof(ds->n_split));
	for (int64_t r = 0; r < n; r++)
	{
		xd_split	sp;

		if ((r & 0xffff) == 0 && ds->stop && ds->stop(ds->stop_arg))
			return XD_ECANCELLED;
		sp = xd_split_of(ds->users[r], ds->items[r],
						 ds->num + (size_t) r * s->n_num, s->n_num,
						 ds->codes + (size_t) r * s->n_codes, s->n_codes,
						 seed);
		if (ds->split_by_order)
			sp = r >= ds->test_from ? XD_SPLIT_TEST :
				r >= ds->valid_from ? XD_SPLIT_VALID : XD_SPLIT_TRAIN;
		else if (ds->test_from >= 0)
			sp = r >= ds->test_from ? XD_SPLIT_TEST :
				sp == XD_SPLIT_TEST ? XD_SPLIT_VALID : sp;

		ds->split[r] = (uint8_t) sp;
		ds->n_split[sp]++;
	}
	for (int k = 0; k < XD_N_SPLITS; k++)
	{
		ds->split_rows[k] = xd_alloc_n((size_t) ds->n_split[k], sizeof(int64_t));
		if (!ds->split_rows[k])
			return XD_ENOMEM;
	}
	{
		int64_t		fill[XD_N_SPLITS] = {0, 0, 0};

		for (int64_t r = 0; r < n; r++)
			ds->split_rows[ds->split[r]][fill[ds->split[r]]++] = r;
	}
	train = ds->split_rows[XD_SPLIT_TRAIN];
	n_train = ds->n_split[XD_SPLIT_TRAIN];

	/* the encoder: stats and profiles */
	enc_bytes = sizeof(float) * (2 * (size_t) s->n_num + (size_t) s->n_edges +
								 (size_t) ds->n_users * (s->n_user_num + s->n_user_codes) +
								 (size_t) ds->n_items * (s->n_item_num + s->n_item_codes));
	if (reserve(ds, enc_bytes))
		return XD_ENOMEM;
	st = xd_feature_encoder_init(&enc, s, ds->n_users, ds->n_items);
	if (st != XD_OK)
		return st;
	xd_schema_free(&ds->enc.schema);
	ds->enc = enc;
	s = &ds->enc.schema;
	st = XD_ENOMEM;

	/* temporaries, released at the end */
	tmp_bytes = sizeof(int64_t) * ((size_t) (ds->n_users > ds->n_items ? ds->n_users : ds->n_items) + 1 + (size_t) n_train) +
		sizeof(int32_t) * (size_t) n_train + sizeof(float) * (size_t) n_train;
	if (reserve(ds, tmp_bytes))
		return XD_ENOMEM;
	off = xd_alloc_n((size_t) (ds->n_users > ds->n_items ? ds->n_users : ds->n_items) + 1, sizeof(int64_t));
	rows = xd_alloc_n((size_t) n_train, sizeof(int64_t));
	scratch = xd_alloc_n((size_t) n_train, sizeof(int32_t));
	vals = xd_alloc_n((size_t) n_train, sizeof(float));
	if (!off || !rows || !scratch || !vals)
		goto done;

	/* (b) min-max and quantile bin edges from the training split (section 2) */
	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];
		float		lo = XD_MISSING_NUM,
					hi = XD_MISSING_NUM;
		int64_t		k = 0;

		if (ft->type == XD_TYPE_CATEGORICAL)
			continue;
		for (int64_t i = 0; i < n_train; i++)
		{
			float		x = ds->num[(size_t) train[i] * s->n_num + ft->raw];

			if (isnan(x))
				continue;
			if (k == 0 || x < lo)
				lo = x;
			if (k == 0 || x > hi)
				hi = x;
			vals[k++] = x;
		}
		ds->enc.num_min[ft->raw] = lo;
		ds->enc.num_max[ft->raw] = hi;
		if (ft->type == XD_TYPE_BINNED && k > 0)
		{
			int			nb = ft->n_values;

			/* edge j (1..nb-1) is the (j/nb)-quantile: the sorted value at floor(j k / nb) */
			qsort(vals, (size_t) k, sizeof(float), cmp_float);
			for (int j = 1; j < nb; j++)
				ds->enc.bin_edges[ft->edge_offset + j - 1] = vals[(int64_t) j * k / nb];
		}
	}

	/* rating mean of the training split (the explicit model's global bias) */
	ds->rating_mean = 0;
	if (ds->has_ratings && n_train > 0)
	{
		double		sum = 0;

		for (int64_t i = 0; i < n_train; i++)
			sum += ds->ratings[train[i]];
		ds->rating_mean = sum / n_train;
	}

	if (ds->stop && ds->stop(ds->stop_arg))
	{
		st = XD_ECANCELLED;
		goto done;
	}

	/* (c) item profiles, item counts and the item list */
	group_rows(ds->items, ds->n_items, train, n_train, off, rows);
	build_profiles(ds, XD_SCOPE_ITEM, off, rows, scratch);
	if (reserve(ds, sizeof(int32_t) * 2 * (size_t) ds->n_items))
		goto done;
	ds->item_train_count = xd_alloc_n((size_t) ds->n_items, sizeof(int32_t));
	ds->train_items = xd_alloc_n((size_t) ds->n_items, sizeof(int32_t));
	if (!ds->item_train_count || !ds->train_items)
		goto done;
	ds->n_train_items = 0;
	for (int32_t v = 0; v < ds->n_items; v++)
	{
		ds->item_train_count[v] = (int32_t) (off[v + 1] - off[v]);
		if (ds->item_train_count[v] > 0)
			ds->train_items[ds->n_train_items++] = v;
	}

	if (ds->stop && ds->stop(ds->stop_arg))
	{
		st = XD_ECANCELLED;
		goto done;
	}

	/* (c) user profiles, (d) each user's distinct training items */
	group_rows(ds->users, ds->n_users, train, n_train, off, rows);
	build_profiles(ds, XD_SCOPE_USER, off, rows, scratch);
	if (reserve(ds, sizeof(int64_t) * ((size_t) ds->n_users + 1) + 2 * sizeof(int32_t) * (size_t) n_train))
		goto done;
	ds->user_train_off = xd_alloc_n((size_t) ds->n_users + 1, sizeof(int64_t));
	ds->user_train_items = xd_alloc_n((size_t) n_train, sizeof(int32_t));
	ds->user_train_count = xd_alloc_n((size_t) n_train, sizeof(int32_t));
	if (!ds->user_train_off || !ds->user_train_items || !ds->user_train_count)
		goto done;
	{
		int64_t		w = 0;

		for (int32_t u = 0; u < ds->n_users; u++)
		{
			int64_t		start = w;

			ds->user_train_off[u] = w;
			for (int64_t j = off[u]; j < off[u + 1]; j++)
				ds->user_train_items[w++] = ds->items[rows[j]];
			qsort(ds->user_train_items + start, (size_t) (w - start), sizeof(int32_t), cmp_int32);
			/* dedupe in place, counting each item's rows (the repeat term) */
			if (w > start)
			{
				int64_t		d = start + 1;

				ds->user_train_count[start] = 1;
				for (int64_t j = start + 1; j < w; j++)
					if (ds->user_train_items[j] != ds->user_train_items[d - 1])
					{
						ds->user_train_count[d] = 1;
						ds->user_train_items[d++] = ds->user_train_items[j];
					}
					else
						ds->user_train_count[d - 1]++;
				w = d;
			}
		}
		ds->user_train_off[ds->n_users] = w;
	}

	ds->seed = seed;
	ds->finalized = 1;
	st = XD_OK;
done:
	free(off);
	free(rows);
	free(scratch);
	free(vals);
	ds->memory -= tmp_bytes;
	return st;
}

void
xd_dataset_encode(const xd_dataset *ds, int64_t row, int32_t item_override, float *c)
{
	const xd_feature_encoder *e = &ds->enc;
	const xd_schema *s = &e->schema;
	const float *num = ds->num + (size_t) row * s->n_num;
	const int32_t *codes = ds->codes + (size_t) row * s->n_codes;

	xd_encode_row(e, ds->users[row], item_override >= 0 ? item_override : ds->items[row],
				  num, codes, c);
}

int
xd_dataset_seen(const xd_dataset *ds, int32_t user, int32_t item)
{
	return xd_dataset_train_count(ds, user, item) > 0;
}

int32_t
xd_dataset_train_count(const xd_dataset *ds, int32_t user, int32_t item)
{
	int64_t		lo,
				hi;

	if (!ds->finalized || user < 0 || user >= ds->n_users)
		return 0;
	lo = ds->user_train_off[user];
	hi = ds->user_train_off[user + 1];
	while (lo < hi)
	{
		int64_t		mid = (lo + hi) / 2;

		if (ds->user_train_items[mid] < item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ds->user_train_off[user + 1] && ds->user_train_items[lo] == item ?
		ds->user_train_count[lo] : 0;
}

float
xd_dataset_hist(const xd_dataset *ds, int64_t row, int32_t item)
{
	int32_t		u = ds->users[row];
	int32_t		self = item == ds->items[row] && ds->split[row] == XD_SPLIT_TRAIN;

	return xd_dataset_train_count(ds, u, item) - self > 0 ? 1.0f : 0.0f;
}

double
xd_dataset_repeat_share(const xd_dataset *ds)
{
	int64_t		rows = ds->n_split[XD_SPLIT_TRAIN];

	return rows > 0 ? 1.0 - (double) ds->user_train_off[ds->n_users] / (double) rows : 0.0;
}

int
xd_dataset_user_known(const xd_dataset *ds, int32_t user)
{
	return ds->finalized && user >= 0 && user < ds->n_users &&
		ds->user_train_off[user + 1] > ds->user_train_off[user];
}

int
xd_dataset_item_known(const xd_dataset *ds, int32_t item)
{
	return ds->finalized && item >= 0 && item < ds->n_items &&
		ds->item_train_count[item] > 0;
}

void
xd_dataset_free(xd_dataset *ds)
{
	if (!ds)
		return;
	xd_feature_encoder_free(&ds->enc);
	free(ds->users);
	free(ds->items);
	free(ds->ratings);
	free(ds->num);
	free(ds->codes);
	free(ds->split);
	for (int k = 0; k < XD_N_SPLITS; k++)
		free(ds->split_rows[k]);
	free(ds->user_train_off);
	free(ds->user_train_items);
	free(ds->user_train_count);
	free(ds->item_train_count);
	free(ds->train_items);
	free(ds);
}
