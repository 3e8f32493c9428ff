/*
 * test_metrics.c - the evaluation protocols of DESIGN section 5, checked
 * against scorers whose metrics are known by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"
#include "xdrec/baseline.h"
#include "xdrec/metrics.h"
#include "xdrec/rng.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"

/*
 * Schema: c_I = code (categorical, n_items + 1 slots) ; c_H = spend (user) ;
 * c_A = cat (item, 4 slots). Every row's interaction context is its item
 * (code = v), so a context negative (redrawn while equal) never carries the
 * positive's item, and "code == item" is a perfect scorer.
 */
typedef struct metrics_rows
{
	int			n_items;
	int			rows_per_user;
} metrics_rows;

static void
metrics_row(void *arg, xd_rng *rng, int64_t i, fx_row *r)
{
	const metrics_rows *mr = arg;
	int			u = (int) (i / mr->rows_per_user),
				j = (int) (i % mr->rows_per_user);

	r->user = u;
	r->item = (int32_t) xd_rng_below(rng, (uint32_t) mr->n_items);
	r->rating = (float) (1 + (u * 7 + j) % 5);
	r->num[0] = (float) (u % 10);
	r->codes[0] = r->item;
	r->codes[1] = r->item % 3;
}

static xd_dataset *
metrics_dataset(int n_users, int n_items, int rows_per_user, int ratings)
{
	xd_feature	f[3] = {
		XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, n_items + 1),
		XD_FEATURE(XD_KIND_HISTORICAL, XD_TYPE_NUMERIC, XD_SCOPE_USER, 0),
		XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_ITEM, 4),
	};
	metrics_rows mr = {n_items, rows_per_user};
	fx_spec		spec = {
		.features = f, .n_features = 3, .n_users = n_users, .n_items = n_items,
		.ratings = ratings, .n_rows = (int64_t) n_users * rows_per_user,
		.seed = 2024, .row = metrics_row, .arg = &mr,
		.finalize = true, .split_seed = 3,
	};

	return fx_dataset(&spec);
}

/* The code in c's first block. */
static int
code_of(const xd_batch *b, int i, int n_slots)
{
	const float *c = b->c + (size_t) i * b->m;

	for (int k = 0; k < n_slots; k++)
		if (c[k] == 1.0f)
			return k;
	return -1;
}

typedef struct
{
	int			n_slots;		/* n_items + 1 */
	int			mode;			/* 0 perfect, 1 constant, 2 reversed */
} simple_arg;

static xd_status
simple_score(void *arg, const xd_batch *b, float *scores)
{
	simple_arg *a = arg;

	for (int i = 0; i < b->n; i++)
	{
		int			hit = code_of(b, i, a->n_slots) == b->items[i];

		scores[i] = a->mode == 1 ? 0.5f : (float) (a->mode == 0 ? hit : !hit);
	}
	return XD_OK;
}

XD_TEST(metrics_rank_of_ties_half)
{
	float		neg[5] = {0.7f, 0.5f, 0.5f, 0.1f, 0.9f};

	XD_CHECK_NEAR(xd_rank_of(0.5f, neg, 5), 1 + 2 + 1.0, 1e-12);
	XD_CHECK_NEAR(xd_rank_of(1.0f, neg, 5), 1.0, 1e-12);
	XD_CHECK_NEAR(xd_rank_of(0.0f, neg, 5), 6.0, 1e-12);
	XD_CHECK_NEAR(xd_rank_of(0.1f, neg, 5), 5.5, 1e-12);
	XD_CHECK_NEAR(xd_rank_of(0.1f, neg, 0), 1.0, 1e-12);
}

XD_TEST(metrics_sampled_perfect_constant_reversed)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics m;
	simple_arg	a = {81, 0};

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, simple_score, &a, &m) == XD_OK);
	XD_CHECK(m.n > 50);
	XD_CHECK(m.n + m.n_excluded == ds->n_split[XD_SPLIT_TEST]);
	XD_CHECK_NEAR(m.h1, 1.0, 1e-12);
	XD_CHECK_NEAR(m.h10, 1.0, 1e-12);
	XD_CHECK_NEAR(m.ndcg10, 1.0, 1e-12);
	XD_CHECK_NEAR(m.mrr, 1.0, 1e-12);

	/* all 100 negatives tied: rank 1 + 100/2 = 51 */
	a.mode = 1;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, simple_score, &a, &m) == XD_OK);
	XD_CHECK(m.h1 == 0 && m.h5 == 0 && m.h10 == 0 && m.ndcg10 == 0);
	XD_CHECK_NEAR(m.mrr, 1.0 / 51, 1e-12);

	/* every negative above: rank 101 */
	a.mode = 2;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_VALID, &o, simple_score, &a, &m) == XD_OK);
	XD_CHECK(m.n > 50);
	XD_CHECK_NEAR(m.mrr, 1.0 / 101, 1e-12);
	xd_dataset_free(ds);
}

XD_TEST(metrics_sampled_few_items_uses_all_others)
{
	xd_dataset *ds = metrics_dataset(100, 30, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics m;
	simple_arg	a = {31, 1};

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	/* 29 item negatives + 50 context negatives, all tied: rank 1 + 79/2 */
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, simple_score, &a, &m) == XD_OK);
	XD_CHECK(m.n > 0);
	XD_CHECK_NEAR(m.mrr, 1.0 / 40.5, 1e-12);
	a.mode = 0;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, simple_score, &a, &m) == XD_OK);
	XD_CHECK_NEAR(m.mrr, 1.0, 1e-12);
	xd_dataset_free(ds);
}

/* Checks the structure of every candidate group of the sampled protocol. */
typedef struct
{
	const xd_dataset *ds;
	int			group;			/* 1 + 50 + 50 */
	int			groups;
	int			errors;
	int			calls;
} record_arg;

static xd_status
record_score(void *arg, const xd_batch *b, float *scores)
{
	record_arg *a = arg;
	int			m = b->m;
	float	   *want = malloc(sizeof(float) * (size_t) m);

	a->calls++;
	if (b->n % a->group != 0)
		a->errors++;
	for (int g = 0; g + a->group <= b->n; g += a->group)
	{
		const float *cp = b->c + (size_t) g * m;
		int32_t		u = b->users[g],
					v = b->items[g];

		a->groups++;
		for (int i = 1; i <= 50; i++)
		{
			const float *ci = b->c + (size_t) (g + i) * m;

			/* distinct items != v, with their own item-scoped features */
			if (b->users[g + i] != u || b->items[g + i] == v)
				a->errors++;
			for (int j = 1; j < i; j++)
				if (b->items[g + j] == b->items[g + i])
					a->errors++;
			memcpy(want, cp, sizeof(float) * (size_t) m);
			xd_encode_item(&a->ds->enc, b->items[g + i], want);
			if (memcmp(want, ci, sizeof(float) * (size_t) m) != 0)
				a->errors++;
		}
		for (int i = 51; i <= 100; i++)
		{
			const float *cc = b->c + (size_t) (g + i) * m;
			int			n_int = a->ds->enc.schema.m_I;

			/* same user and item; only c_I (the interaction part) moved */
			if (b->users[g + i] != u || b->items[g + i] != v)
				a->errors++;
			if (memcmp(cc + n_int, cp + n_int, sizeof(float) * (size_t) (m - n_int)) != 0)
				a->errors++;
			if (memcmp(cc, cp, sizeof(float) * (size_t) n_int) == 0)
				a->errors++;
		}
	}
	for (int i = 0; i < b->n; i++)
		scores[i] = (float) ((b->users[i] * 31 + b->items[i]) % 17);
	free(want);
	return XD_OK;
}

XD_TEST(metrics_sampled_candidates_structure)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics m;
	record_arg	a = {0};
	int64_t		excluded = 0;

	XD_REQUIRE(ds);
	a.ds = ds;
	a.group = 101;
	xd_eval_opts_default(&o);
	o.batch_rows = 1000;		/* 9 positives a call */
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, record_score, &a, &m) == XD_OK);
	XD_CHECK(a.errors == 0);
	XD_CHECK(a.groups == m.n);
	XD_CHECK(a.calls == (m.n + 8) / 9);
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST]; i++)
	{
		int64_t		r = ds->split_rows[XD_SPLIT_TEST][i];

		excluded += !xd_dataset_user_known(ds, ds->users[r]) || !xd_dataset_item_known(ds, ds->items[r]);
	}
	XD_CHECK(m.n_excluded == excluded);
	xd_dataset_free(ds);
}

/*
 * By position in each group of 101: positive 0; item negatives 1-3 score 1
 * (above), 4-5 score 0 (tied), the rest -1. Rank 1 + 3 + 1 = 5.
 */
static xd_status
pattern_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	for (int i = 0; i < b->n; i++)
	{
		int			p = i % 101;

		scores[i] = p == 0 ? 0.0f : (p <= 3 ? 1.0f : (p <= 5 ? 0.0f : -1.0f));
	}
	return XD_OK;
}

XD_TEST(metrics_sampled_by_hand)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics m;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, pattern_score, NULL, &m) == XD_OK);
	XD_CHECK(m.h1 == 0.0);
	XD_CHECK_NEAR(m.h5, 1.0, 1e-12);
	XD_CHECK_NEAR(m.h10, 1.0, 1e-12);
	XD_CHECK_NEAR(m.ndcg10, 1.0 / log2(6.0), 1e-12);
	XD_CHECK_NEAR(m.mrr, 0.2, 1e-12);
	xd_dataset_free(ds);
}

/* A deterministic but arbitrary scorer of (u, v, c). */
static xd_status
hash_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	for (int i = 0; i < b->n; i++)
	{
		uint64_t	h = xd_hash_bytes(b->c + (size_t) i * b->m, sizeof(float) * (size_t) b->m,
									  (uint64_t) b->users[i] * 1000003u + (uint64_t) b->items[i]);

		scores[i] = (float) (h % 1000);
	}
	return XD_OK;
}

XD_TEST(metrics_sampled_seeded_batch_invariant_and_capped)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics a,
				b,
				c;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &a) == XD_OK);
	o.batch_rows = 101;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &b) == XD_OK);
	XD_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	o.seed = 43;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &c) == XD_OK);
	XD_CHECK(c.mrr != a.mrr);
	/* a random scorer sits near the middle of 101 candidates */
	XD_CHECK(a.mrr > 0.02 && a.mrr < 0.12);

	/* the cap: a seeded subsample, the same twice */
	o.max_positives = 10;
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &a) == XD_OK);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &b) == XD_OK);
	XD_CHECK(a.n == 10);
	XD_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	xd_dataset_free(ds);
}

/* hash_score, and a running hash of every row it was given (u, v, c, hist) */
static xd_status
hash_score_seen(void *arg, const xd_batch *b, float *scores)
{
	uint64_t   *seen = (uint64_t *) arg;

	for (int i = 0; i < b->n; i++)
	{
		*seen = xd_hash_bytes(b->c + (size_t) i * b->m, sizeof(float) * (size_t) b->m,
							  *seen ^ ((uint64_t) b->users[i] * 1000003u + (uint64_t) b->items[i]));
		*seen = xd_hash_bytes(&b->hist[i], sizeof(float), *seen);
	}
	return hash_score(NULL, b, scores);
}

/*
 * o.reuse: the first call keeps its candidates, later calls score exactly
 * those rows (the scorer sees the same rows in the same batches) and give
 * the same metrics and terms; options or a split that differ are refused.
 */
XD_TEST(metrics_sampled_reuse_scores_the_same_rows)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_eval_set *set = NULL;
	xd_rank_metrics fresh,
				kept,
				again;
	uint64_t	seen[3] = {0, 0, 0};
	double	   *each[3] = {NULL, NULL, NULL};

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	o.batch_rows = 505;			/* several score calls */
	o.each = &each[0];
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score_seen, &seen[0], &fresh) == XD_OK);
	o.reuse = &set;
	o.each = &each[1];
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score_seen, &seen[1], &kept) == XD_OK);
	XD_REQUIRE(set != NULL);
	o.each = &each[2];
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score_seen, &seen[2], &again) == XD_OK);
	XD_CHECK(fresh.n > 20);
	XD_CHECK(memcmp(&fresh, &kept, sizeof(fresh)) == 0);
	XD_CHECK(memcmp(&fresh, &again, sizeof(fresh)) == 0);
	XD_CHECK(seen[0] == seen[1] && seen[0] == seen[2]);
	XD_REQUIRE(each[0] && each[1] && each[2]);
	XD_CHECK(memcmp(each[0], each[2], sizeof(double) * (size_t) fresh.n) == 0);
	/* a set drawn for other options or another split is not scored */
	o.each = NULL;
	o.seed = 43;
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &again) == XD_EINVAL);
	o.seed = 42;
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_VALID, &o, hash_score, NULL, &again) == XD_EINVAL);
	o.max_positives = 10;
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, hash_score, NULL, &again) == XD_EINVAL);
	for (int i = 0; i < 3; i++)
		free(each[i]);
	xd_eval_set_free(set);
	xd_dataset_free(ds);
}

/*
 * What xdrec.train_memory counts for the validation caches (train.h): a kept
 * set's rows (m floats, user, item, history flag), 101 per positive of the
 * subsample, and with frozen shared modules x^0, x^1 and c of each row.
 */
XD_TEST(train_cache_bytes_counts_the_validation_caches)
{
	xd_dataset *ds = metrics_dataset(150, 80, 8, 0);
	xd_eval_opts o;
	xd_config	cfg;
	size_t		row;
	int64_t		n;

	XD_REQUIRE(ds);
	row = sizeof(float) * (size_t) ds->enc.schema.m + 3 * 4;
	n = ds->n_split[XD_SPLIT_VALID];
	XD_REQUIRE(n > 10);
	xd_eval_opts_default(&o);
	XD_CHECK(xd_eval_set_bytes(ds, XD_SPLIT_VALID, &o) == (size_t) n * 101 * row);
	o.max_positives = 10;
	XD_CHECK(xd_eval_set_bytes(ds, XD_SPLIT_VALID, &o) == 10 * 101 * row);
	xd_config_defaults(&cfg);
	cfg.m = ds->enc.schema.m;
	cfg.feedback = XD_IMPLICIT;
	XD_CHECK(xd_train_cache_bytes(ds, &cfg, 10, false) == 10 * 101 * row);
	XD_CHECK(xd_train_cache_bytes(ds, &cfg, 10, true) ==
			 10 * 101 * row + 3 * sizeof(float) * (size_t) cfg.m * 10 * 101);
	XD_CHECK(xd_train_cache_bytes(ds, &cfg, 0, true) ==
			 (size_t) n * 101 * (row + 3 * sizeof(float) * (size_t) cfg.m));
	/* explicit feedback keeps no candidates and scores one row per positive */
	cfg.feedback = XD_EXPLICIT;
	XD_CHECK(xd_train_cache_bytes(ds, &cfg, 0, false) == 0);
	XD_CHECK(xd_train_cache_bytes(ds, &cfg, 0, true) ==
			 3 * sizeof(float) * (size_t) cfg.m * (size_t) n);
	xd_dataset_free(ds);
}

static xd_status
item_order_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	for (int i = 0; i < b->n; i++)
		scores[i] = -(float) b->items[i];
	return XD_OK;
}

XD_TEST(metrics_full_ranking_by_hand)
{
	xd_dataset *ds = metrics_dataset(120, 70, 10, 0);
	xd_eval_opts o;
	xd_full_metrics m;
	double		hit = 0,
				nd = 0,
				rr = 0;
	int64_t		n = 0;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	o.batch_rows = 16;			/* several chunks per positive */
	XD_REQUIRE(xd_eval_full(ds, XD_SPLIT_TEST, 10, &o, item_order_score, NULL, &m) == XD_OK);
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST]; i++)
	{
		int64_t		r = ds->split_rows[XD_SPLIT_TEST][i];
		int32_t		u = ds->users[r],
					v = ds->items[r];
		double		rank = 1;

		if (!xd_dataset_user_known(ds, u) || !xd_dataset_item_known(ds, v))
			continue;
		/* items scoring higher: smaller ids, not seen in training */
		for (int32_t w = 0; w < v; w++)
			rank += !xd_dataset_seen(ds, u, w);
		hit += rank <= 10;
		nd += rank <= 10 ? 1.0 / log2(1.0 + rank) : 0;
		rr += 1.0 / rank;
		n++;
	}
	XD_REQUIRE(n > 0);
	XD_CHECK(m.n == n);
	XD_CHECK(m.k == 10);
	XD_CHECK_NEAR(m.hit, hit / n, 1e-12);
	XD_CHECK_NEAR(m.ndcg, nd / n, 1e-12);
	XD_CHECK_NEAR(m.mrr, rr / n, 1e-12);

	/* repeats allowed (keep_seen): every smaller id outranks the positive */
	o.keep_seen = true;
	XD_REQUIRE(xd_eval_full(ds, XD_SPLIT_TEST, 10, &o, item_order_score, NULL, &m) == XD_OK);
	rr = 0;
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST]; i++)
	{
		int64_t		r = ds->split_rows[XD_SPLIT_TEST][i];

		if (xd_dataset_user_known(ds, ds->users[r]) && xd_dataset_item_known(ds, ds->items[r]))
			rr += 1.0 / (1.0 + ds->items[r]);
	}
	XD_CHECK(m.n == n);
	XD_CHECK_NEAR(m.mrr, rr / n, 1e-12);
	o.keep_seen = false;

	/* a constant scorer ties everything: rank 1 + (candidates - 1) / 2 */
	{
		simple_arg	a = {71, 1};
		int64_t		r = -1;

		o.max_positives = 1;
		XD_REQUIRE(xd_eval_full(ds, XD_SPLIT_TEST, 10, &o, simple_score, &a, &m) == XD_OK);
		XD_REQUIRE(m.n == 1);
		/* which positive the cap picked: its reciprocal rank tells */
		for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST] && r < 0; i++)
		{
			int64_t		t = ds->split_rows[XD_SPLIT_TEST][i];
			int32_t		u = ds->users[t];
			int			cand = 0;

			if (!xd_dataset_user_known(ds, u) || !xd_dataset_item_known(ds, ds->items[t]))
				continue;
			for (int32_t w = 0; w < 70; w++)
				cand += w != ds->items[t] && !xd_dataset_seen(ds, u, w);
			if (fabs(m.mrr - 1.0 / (1.0 + 0.5 * cand)) < 1e-12)
				r = t;
		}
		XD_CHECK(r >= 0);
	}
	xd_dataset_free(ds);
}

static xd_status
rating_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	for (int i = 0; i < b->n; i++)
		scores[i] = b->ratings[i] + (b->users[i] % 2 ? -3.0f : 1.0f);
	return XD_OK;
}

XD_TEST(metrics_ratings_by_hand)
{
	xd_dataset *ds = metrics_dataset(100, 50, 10, 1);
	xd_dataset *implicit = metrics_dataset(10, 10, 5, 0);
	xd_eval_opts o;
	xd_rating_metrics m;
	int64_t		odd = 0,
				even = 0;

	XD_REQUIRE(ds && implicit);
	xd_eval_opts_default(&o);
	o.batch_rows = 7;
	XD_REQUIRE(xd_eval_ratings(ds, XD_SPLIT_VALID, &o, rating_score, NULL, &m) == XD_OK);
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_VALID]; i++)
	{
		int64_t		r = ds->split_rows[XD_SPLIT_VALID][i];

		if (!xd_dataset_user_known(ds, ds->users[r]) || !xd_dataset_item_known(ds, ds->items[r]))
			continue;
		if (ds->users[r] % 2)
			odd++;
		else
			even++;
	}
	XD_REQUIRE(odd > 0 && even > 0);
	XD_CHECK(m.n == odd + even);
	XD_CHECK_NEAR(m.rmse, sqrt((even * 1.0 + odd * 9.0) / (odd + even)), 1e-9);
	XD_CHECK_NEAR(m.mae, (even * 1.0 + odd * 3.0) / (odd + even), 1e-9);
	XD_CHECK(xd_eval_ratings(implicit, XD_SPLIT_TEST, &o, rating_score, NULL, &m) == XD_EINVAL);
	xd_dataset_free(ds);
	xd_dataset_free(implicit);
}

static int
stop_now(void *arg)
{
	(void) arg;
	return 1;
}

static xd_status
nan_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	for (int i = 0; i < b->n; i++)
		scores[i] = i == 3 ? NAN : 0.0f;
	return XD_OK;
}

static xd_status
failing_score(void *arg, const xd_batch *b, float *scores)
{
	(void) arg;
	(void) b;
	(void) scores;
	return XD_ENOMEM;
}

XD_TEST(metrics_stop_nan_and_errors)
{
	xd_dataset *ds = metrics_dataset(100, 60, 8, 0);
	xd_eval_opts o;
	xd_rank_metrics m;
	xd_full_metrics f;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, nan_score, NULL, &m) == XD_ENUMERIC);
	XD_CHECK(xd_eval_full(ds, XD_SPLIT_TEST, 5, &o, nan_score, NULL, &f) == XD_ENUMERIC);
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, failing_score, NULL, &m) == XD_ENOMEM);
	XD_CHECK(xd_eval_full(ds, XD_SPLIT_TEST, 0, &o, item_order_score, NULL, &f) == XD_EINVAL);
	o.hooks.stop = stop_now;
	XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, pattern_score, NULL, &m) == XD_ECANCELLED);
	XD_CHECK(xd_eval_full(ds, XD_SPLIT_TEST, 5, &o, item_order_score, NULL, &f) == XD_ECANCELLED);
	xd_dataset_free(ds);
}

/* Full ranking hands back each positive's 1/rank, and the summary of them
 * reproduces the protocol's own means. */
XD_TEST(metrics_full_each_and_summary)
{
	xd_dataset *ds = metrics_dataset(120, 70, 10, 0);
	xd_eval_opts o;
	xd_full_metrics m;
	xd_rank_summary s;
	double	   *each = NULL;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	o.each = &each;
	XD_REQUIRE(xd_eval_full(ds, XD_SPLIT_TEST, 10, &o, item_order_score, NULL, &m) == XD_OK);
	XD_REQUIRE(each != NULL && m.n > 1);
	xd_rank_summary_of(each, m.n, &s);
	XD_CHECK(s.n == m.n);
	XD_CHECK_NEAR(s.mrr.value, m.mrr, 1e-12);
	XD_CHECK_NEAR(s.hit10.value, m.hit, 1e-12);
	XD_CHECK_NEAR(s.ndcg10.value, m.ndcg, 1e-12);
	XD_CHECK(s.hit1.value <= s.hit5.value && s.hit5.value <= s.hit10.value);
	XD_CHECK(s.mrr.se > 0 && isfinite(s.mrr.se));
	free(each);
	xd_dataset_free(ds);
}

/* Ranks 1, 2, 1.5 (a tie), 5, 11: the metrics and MRR's standard error by hand. */
XD_TEST(metrics_summary_by_hand)
{
	double		inv[5] = {1.0, 0.5, 1.0 / 1.5, 0.2, 1.0 / 11};
	double		mean = 0,
				ss = 0;
	xd_rank_summary s;
	xd_metric_se rmse,
				mae;
	double		sq[4] = {1, 4, 0, 9};

	xd_rank_summary_of(inv, 5, &s);
	XD_CHECK_NEAR(s.hit1.value, 0.2, 1e-12);
	XD_CHECK_NEAR(s.hit5.value, 0.8, 1e-12);
	XD_CHECK_NEAR(s.hit10.value, 0.8, 1e-12);
	XD_CHECK_NEAR(s.hit20.value, 1.0, 1e-12);	/* rank 11 */
	XD_CHECK_NEAR(s.ndcg10.value, (1 + 1 / log2(3.0) + 1 / log2(2.5) + 1 / log2(6.0)) / 5, 1e-12);
	/* a hit rate's standard error is the binomial one with n - 1 */
	XD_CHECK_NEAR(s.hit1.se, sqrt(0.2 * 0.8 * 5 / 4 / 5), 1e-12);
	for (int i = 0; i < 5; i++)
		mean += inv[i] / 5;
	for (int i = 0; i < 5; i++)
		ss += (inv[i] - mean) * (inv[i] - mean);
	XD_CHECK_NEAR(s.mrr.value, mean, 1e-12);
	XD_CHECK_NEAR(s.mrr.se, sqrt(ss / 4 / 5), 1e-12);
	xd_rank_summary_of(inv, 1, &s);
	XD_CHECK(isinf(s.mrr.se));

	/* errors 1, 2, 0, 3: MSE 3.5, RMSE sqrt(3.5), MAE 1.5 */
	xd_rating_summary_of(sq, 4, &rmse, &mae);
	XD_CHECK_NEAR(rmse.value, sqrt(3.5), 1e-12);
	XD_CHECK_NEAR(mae.value, 1.5, 1e-12);
	XD_CHECK_NEAR(mae.se, sqrt((0.25 + 0.25 + 2.25 + 2.25) / 3 / 4), 1e-12);
	XD_CHECK_NEAR(rmse.se, sqrt((6.25 + 0.25 + 12.25 + 30.25) / 3 / 4) / (2 * sqrt(3.5)), 1e-12);
}

/*
 * The baselines under the sampled protocol. Every row's interaction context
 * is its item, so popularity in context ranks each positive first; a
 * constant ties everything (rank 1 + 100 / 2); random lands near the
 * expected 1/101 (1 + 1/2 + ... + 1/101) = 0.0519.
 */
XD_TEST(metrics_baselines_sampled)
{
	xd_dataset *ds = metrics_dataset(200, 150, 10, 0);
	xd_eval_opts o;
	xd_rank_metrics m,
				again;
	xd_popularity *pop = NULL;
	uint64_t	seed = 7;
	float		zero = 0.0f;

	XD_REQUIRE(ds);
	xd_eval_opts_default(&o);
	XD_REQUIRE(xd_popularity_fit(ds, &pop) == XD_OK);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, xd_popularity_score, pop, &m) == XD_OK);
	XD_REQUIRE(m.n > 100);
	XD_CHECK_NEAR(m.mrr, 1.0, 1e-12);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, xd_constant_score, &zero, &m) == XD_OK);
	XD_CHECK_NEAR(m.mrr, 1.0 / 51, 1e-12);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, xd_random_score, &seed, &m) == XD_OK);
	XD_CHECK(m.mrr > 0.03 && m.mrr < 0.08);
	/* seeded: the same scores again */
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &o, xd_random_score, &seed, &again) == XD_OK);
	XD_CHECK(again.mrr == m.mrr);
	xd_popularity_free(pop);
	xd_dataset_free(ds);
}

/* Held-out rows are the test split; the training split is what it was. */
XD_TEST(dataset_hold_out_rows_are_the_test_split)
{
	xd_dataset *plain = metrics_dataset(60, 30, 10, 0);
	xd_dataset *ds = NULL;
	int64_t		n_before;

	XD_REQUIRE(plain);
	XD_REQUIRE(xd_dataset_create(&plain->enc.schema, 60, 30, 0, 0, &ds) == XD_OK);
	for (int64_t r = 0; r < plain->n_rows; r++)
		XD_REQUIRE(xd_dataset_append(ds, plain->users[r], plain->items[r], 0,
									 plain->num + r * plain->enc.schema.n_num,
									 plain->codes + r * plain->enc.schema.n_codes) == XD_OK);
	n_before = ds->n_rows;
	xd_dataset_hold_out(ds);
	for (int32_t u = 0; u < 10; u++)
	{
		int32_t		codes[2] = {u, u % 3};
		float		num[1] = {1};

		XD_REQUIRE(xd_dataset_append(ds, u, u, 0, num, codes) == XD_OK);
	}
	XD_REQUIRE(xd_dataset_finalize(ds, 3) == XD_OK);
	XD_CHECK(ds->n_split[XD_SPLIT_TEST] == 10);
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST]; i++)
		XD_CHECK(ds->split_rows[XD_SPLIT_TEST][i] >= n_before);
	XD_CHECK(ds->n_split[XD_SPLIT_TRAIN] == plain->n_split[XD_SPLIT_TRAIN]);
	XD_CHECK(memcmp(ds->split_rows[XD_SPLIT_TRAIN], plain->split_rows[XD_SPLIT_TRAIN],
					sizeof(int64_t) * (size_t) ds->n_split[XD_SPLIT_TRAIN]) == 0);
	XD_CHECK(ds->n_split[XD_SPLIT_VALID] ==
			 plain->n_split[XD_SPLIT_VALID] + plain->n_split[XD_SPLIT_TEST]);
	xd_dataset_free(ds);
	xd_dataset_free(plain);
}

/*
 * A split by row order: train, then validation, then test; a hold-out after
 * it makes the held-out rows the test split and the ordered test rows
 * validation, the training split unchanged.
 */
XD_TEST(dataset_split_by_order_then_hold_out)
{
	xd_dataset *plain = metrics_dataset(60, 30, 10, 0);
	xd_dataset *ds = NULL;
	int64_t		n;

	XD_REQUIRE(plain);
	n = plain->n_rows;
	for (int round = 0; round < 2; round++)
	{
		XD_REQUIRE(xd_dataset_create(&plain->enc.schema, 60, 30, 0, 0, &ds) == XD_OK);
		for (int64_t r = 0; r < n; r++)
			XD_REQUIRE(xd_dataset_append(ds, plain->users[r], plain->items[r], 0,
										 plain->num + r * plain->enc.schema.n_num,
										 plain->codes + r * plain->enc.schema.n_codes) == XD_OK);
		xd_dataset_split_by_order(ds, n * 8 / 10, n * 9 / 10);
		if (round == 1)
		{
			int32_t		codes[2] = {1, 1};
			float		num[1] = {1};

			xd_dataset_hold_out(ds);
			for (int i = 0; i < 5; i++)
				XD_REQUIRE(xd_dataset_append(ds, i, i, 0, num, codes) == XD_OK);
		}
		XD_REQUIRE(xd_dataset_finalize(ds, 3) == XD_OK);
		XD_CHECK(ds->n_split[XD_SPLIT_TRAIN] == n * 8 / 10);
		for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TRAIN]; i++)
			XD_CHECK(ds->split_rows[XD_SPLIT_TRAIN][i] == i);
		if (round == 0)
		{
			XD_CHECK(ds->n_split[XD_SPLIT_VALID] == n * 9 / 10 - n * 8 / 10);
			XD_CHECK(ds->n_split[XD_SPLIT_TEST] == n - n * 9 / 10);
			XD_CHECK(ds->split_rows[XD_SPLIT_TEST][0] == n * 9 / 10);
		}
		else
		{
			XD_CHECK(ds->n_split[XD_SPLIT_VALID] == n - n * 8 / 10);
			XD_CHECK(ds->n_split[XD_SPLIT_TEST] == 5);
			XD_CHECK(ds->split_rows[XD_SPLIT_TEST][0] == n);
		}
		xd_dataset_free(ds);
	}
	xd_dataset_free(plain);
}

/*
 * xd_paired_se by hand: differences 1, 2, 3 (sum 6, squares 14): mean 2,
 * sample variance 1, s.e. sqrt(1/3); one difference or no spread: 0.
 */
XD_TEST(metrics_paired_se_by_hand)
{
	XD_CHECK_NEAR(xd_paired_se(6.0, 14.0, 3.0), sqrt(1.0 / 3.0), 1e-12);
	XD_CHECK(xd_paired_se(2.0, 4.0, 1.0) == 0.0);
	XD_CHECK(xd_paired_se(6.0, 12.0, 3.0) == 0.0);
}

/*
 * The damped means by hand (baseline.h), damping 1, on the training rows
 * (user, item, rating) (0,0,5) (0,1,3) (1,0,4) (2,1,1); user 3 and item 2
 * only in the later splits. mu = 3.25; item 0: (1.75 + 0.75) / 3 = 5/6,
 * item 1: -5/6; user 0: ((5 - mu - 5/6) + (3 - mu + 5/6)) / 3 = 0.5,
 * user 1: (4 - mu - 5/6) / 2 = -1/24, user 2: (1 - mu + 5/6) / 2 = -17/24;
 * no training row: 0. Then xd_domain_damped_init's gate, and a model whose
 * every other tensor is 0 scores mu + b_u + b_v.
 */
XD_TEST(damped_means_by_hand)
{
	xd_dataset *shape = metrics_dataset(10, 10, 2, 1);
	xd_dataset *ds = NULL;
	xd_dataset *implicit = metrics_dataset(10, 10, 2, 0);
	static const int32_t rows[6][2] = {{0, 0}, {0, 1}, {1, 0}, {2, 1}, {3, 2}, {0, 2}};
	static const float rating[6] = {5, 3, 4, 1, 2, 4};
	const double want_u[4] = {0.5, -1.0 / 24, -17.0 / 24, 0.0};
	const double want_v[3] = {5.0 / 6, -5.0 / 6, 0.0};
	float		uo[4],
				vo[3];
	double		mu;
	xd_config	cfg;
	xd_rng		rng;
	xd_model   *model = NULL;
	bool		applied = true;

	XD_REQUIRE(shape && implicit);
	XD_REQUIRE(xd_dataset_create(&shape->enc.schema, 4, 3, 1, 0, &ds) == XD_OK);
	for (int r = 0; r < 6; r++)
		XD_REQUIRE(xd_dataset_append(ds, rows[r][0], rows[r][1], rating[r], shape->num,
									 shape->codes) == XD_OK);
	xd_dataset_split_by_order(ds, 4, 5);
	XD_REQUIRE(xd_dataset_finalize(ds, 3) == XD_OK);
	XD_REQUIRE(xd_damped_means(ds, 1.0, &mu, uo, vo) == XD_OK);
	XD_CHECK_NEAR(mu, 3.25, 1e-12);
	for (int u = 0; u < 4; u++)
		XD_CHECK_NEAR(uo[u], want_u[u], 1e-6);
	for (int v = 0; v < 3; v++)
		XD_CHECK_NEAR(vo[v], want_v[v], 1e-6);
	/* a damping of 0 is the plain means: item 0's offset 1.25 */
	XD_REQUIRE(xd_damped_means(ds, 0.0, &mu, uo, vo) == XD_OK);
	XD_CHECK_NEAR(vo[0], 1.25, 1e-6);
	XD_CHECK(xd_damped_means(ds, -1.0, &mu, uo, vo) == XD_EINVAL);
	XD_CHECK(xd_damped_means(implicit, 1.0, &mu, uo, vo) == XD_EINVAL);

	/* the gate: 4 training rows apply below 5, not below 4 nor at 0 */
	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &ds->enc.schema);
	cfg.feedback = XD_EXPLICIT;
	xd_rng_seed(&rng, 5);
	XD_REQUIRE(xd_model_create(&cfg, 4, 3, 3.25f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_domain_damped_init(model->domain, ds, 4, &applied) == XD_OK);
	XD_CHECK(!applied && model->domain->s_u->w[0] == 0.0f && model->domain->s_v->w[0] == 0.0f);
	XD_REQUIRE(xd_domain_damped_init(model->domain, ds, 0, &applied) == XD_OK);
	XD_CHECK(!applied && model->domain->s_u->w[0] == 0.0f);
	XD_REQUIRE(xd_domain_damped_init(model->domain, ds, 5, &applied) == XD_OK);
	XD_CHECK(applied);
	/* XD_DAMPING's offsets: item 1 -2.5 / 7, user 2 (1 - 3.25 + 2.5 / 7) / 6 */
	XD_CHECK_NEAR(model->domain->s->w[0], 3.25, 1e-6);
	XD_CHECK_NEAR(model->domain->s_v->w[1], -2.5 / 7, 1e-6);
	XD_CHECK_NEAR(model->domain->s_u->w[2], (1 - 3.25 + 2.5 / 7) / 6, 1e-6);
	{
		xd_param  **params;
		int			n;
		float		c[64] = {0},
					score;
		int32_t		u = 2,
					v = 1;
		xd_batch	b = {0};

		XD_REQUIRE(cfg.m <= 64);
		xd_model_params(model, &params, &n);
		for (int i = 0; i < n; i++)
			if (params[i]->group != XD_GROUP_DOMAIN || strncmp(params[i]->name, "bias.", 5) != 0)
				memset(params[i]->w, 0, sizeof(float) * (size_t) params[i]->rows * params[i]->cols);
		b.n = b.n_pos = 1;
		b.m = cfg.m;
		b.users = &u;
		b.items = &v;
		b.c = c;
		XD_REQUIRE(xd_model_score(model, &b, &score) == XD_OK);
		XD_CHECK_NEAR(score, 3.25 + (1 - 3.25 + 2.5 / 7) / 6 - 2.5 / 7, 1e-5);
	}
	/*
	 * target-only (xd_transfer_train_source runs its path) starts there
	 * below o.damped_init_rows, from 0 with 0; a rate of 1e-9 keeps the
	 * fit's one epoch from moving them. So does every transfer method's
	 * domain: Direct without pretraining is its start
	 */
	for (int on = 0; on < 2; on++)
	{
		xd_transfer_opts to;
		xd_transfer_result tr;

		xd_transfer_opts_default(&to);
		XD_CHECK(to.damped_init_rows == XD_DAMPED_INIT_ROWS);
		to.damped_init_rows = on ? XD_DAMPED_INIT_ROWS : 0;
		to.lr = 1e-9f;
		to.lr_search = 1;
		to.max_epochs = 1;
		cfg.feedback = XD_EXPLICIT;
		XD_REQUIRE(xd_transfer_train_source(&cfg, ds, &to, &tr) == XD_OK);
		XD_CHECK_NEAR(tr.domain->s_v->w[1], on ? -2.5 / 7 : 0.0, 1e-5);
		XD_CHECK_NEAR(tr.domain->s_u->w[2], on ? (1 - 3.25 + 2.5 / 7) / 6 : 0.0, 1e-5);
		XD_CHECK_NEAR(tr.domain->s->w[0], 3.25, 1e-5);
		/* Direct without pretraining keeps its domain's start: the same */
		{
			xd_transfer_result dr;

			to.method = XD_TRANSFER_DIRECT;
			to.pretrain_epochs = 0;
			XD_REQUIRE(xd_transfer(tr.shared, NULL, ds, &to, &dr) == XD_OK);
			XD_CHECK_NEAR(dr.domain->s_v->w[1], on ? -2.5 / 7 : 0.0, 1e-6);
			XD_CHECK_NEAR(dr.domain->s_u->w[2], on ? (1 - 3.25 + 2.5 / 7) / 6 : 0.0, 1e-6);
			xd_transfer_result_free(&dr);
		}
		xd_transfer_result_free(&tr);
		to.damped_init_rows = -1;
		XD_CHECK(xd_transfer_train_source(&cfg, ds, &to, &tr) == XD_EINVAL);
		xd_transfer_result_free(&tr);
	}
	/* an implicit domain has no biases to set */
	{
		xd_model   *im = NULL;

		cfg.feedback = XD_IMPLICIT;
		XD_REQUIRE(xd_model_create(&cfg, 10, 10, 0.0f, &rng, &im) == XD_OK);
		XD_CHECK(xd_domain_damped_init(im->domain, implicit, 1000, &applied) == XD_OK && !applied);
		xd_model_free(im);
	}
	xd_model_free(model);
	xd_dataset_free(ds);
	xd_dataset_free(shape);
	xd_dataset_free(implicit);
}
