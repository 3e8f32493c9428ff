/*
 * test_dataset.c - schema layout, encoding, split, normalisation, profiles
 * and the memory budget of dataset.c (DESIGN sections 2, 3, 10).
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"
#include "xdrec/dataset.h"
#include "xdrec/rng.h"

/*
 * Declared out of kind order on purpose:
 *   0 spend    H numeric      user         raw num 0, profile unum 0
 *   1 hour     I numeric      interaction  raw num 1
 *   2 cuisine  A categorical  item (4)     raw code 0, profile icode 0
 *   3 weekday  I categorical  inter. (3)   raw code 1
 *   4 rainy    I boolean      interaction  raw num 2
 *   5 price    A numeric      item         raw num 3, profile inum 0
 * c_I = hour(1) weekday(3) rainy(1) -> [0,5); c_H = spend -> [5,6);
 * c_A = cuisine(4) price(1) -> [6,11). m = 11.
 */
static const xd_feature test_features[] = {
	XD_FEATURE(XD_KIND_HISTORICAL, XD_TYPE_NUMERIC, XD_SCOPE_USER, 0),
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_INTERACTION, 0),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_ITEM, 4),
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 3),
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_BOOLEAN, XD_SCOPE_INTERACTION, 0),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_ITEM, 0),
};

#define N_TEST_FEATURES ((int) (sizeof(test_features) / sizeof(test_features[0])))

XD_TEST(dataset_schema_layout)
{
	xd_schema	s;

	XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
	XD_CHECK(s.m == 11);
	XD_CHECK(s.m_I == 5);
	XD_CHECK(s.m_H == 1);
	XD_CHECK(s.m_A == 5);
	XD_CHECK(s.features[1].offset == 0);	/* hour */
	XD_CHECK(s.features[3].offset == 1);	/* weekday */
	XD_CHECK(s.features[4].offset == 4);	/* rainy */
	XD_CHECK(s.features[0].offset == 5);	/* spend */
	XD_CHECK(s.features[2].offset == 6);	/* cuisine */
	XD_CHECK(s.features[5].offset == 10);	/* price */
	XD_CHECK(s.features[2].width == 4 && s.features[3].width == 3);
	XD_CHECK(s.n_num == 4 && s.n_codes == 2);
	XD_CHECK(s.features[0].raw == 0 && s.features[1].raw == 1 &&
			 s.features[4].raw == 2 && s.features[5].raw == 3);
	XD_CHECK(s.features[2].raw == 0 && s.features[3].raw == 1);
	XD_CHECK(s.n_user_num == 1 && s.n_user_codes == 0);
	XD_CHECK(s.n_item_num == 1 && s.n_item_codes == 1);
	XD_CHECK(s.n_interaction == 3);
	XD_CHECK(s.features[1].profile == -1 && s.features[0].profile == 0);
	xd_schema_free(&s);

	{
		xd_feature	bad = XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 0);

		XD_CHECK(xd_schema_init(&s, &bad, 1) == XD_EINVAL);
	}
}

typedef struct test_rows
{
	int			n_users;
	int			n_items;
} test_rows;

static void
test_row(void *arg, xd_rng *rng, int64_t i, fx_row *r)
{
	const test_rows *tr = arg;

	r->num[0] = 10.0f + (float) xd_rng_below(rng, 90);
	r->num[1] = (float) xd_rng_below(rng, 24);
	r->num[2] = (float) xd_rng_below(rng, 2);
	r->num[3] = 1.0f + (float) xd_rng_below(rng, 3);
	r->codes[0] = (int32_t) xd_rng_below(rng, 5);
	r->codes[1] = (int32_t) xd_rng_below(rng, 7);
	r->item = (int32_t) xd_rng_below(rng, (uint32_t) tr->n_items);
	r->user = (int32_t) xd_rng_below(rng, (uint32_t) tr->n_users);
	(void) i;
}

/* A dataset over the test schema, not finalized; rows from a seeded stream. */
static xd_dataset *
make_dataset(int n_users, int n_items, int n_rows, uint64_t seed)
{
	test_rows	tr = {n_users, n_items};
	fx_spec		spec = {
		.features = test_features, .n_features = N_TEST_FEATURES,
		.n_users = n_users, .n_items = n_items, .n_rows = n_rows, .seed = seed,
		.row = test_row, .arg = &tr,
	};

	return fx_dataset(&spec);
}

XD_TEST(dataset_encode_onehot_other_missing)
{
	xd_schema	s;
	xd_feature_encoder	e;
	float		c[11];
	float		num[4] = {XD_MISSING_NUM, 12.0f, 1.0f, XD_MISSING_NUM};
	int32_t		codes[2] = {0, 1};

	XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
	XD_REQUIRE(xd_feature_encoder_init(&e, &s, 2, 2) == XD_OK);
	xd_schema_free(&s);
	e.num_min[1] = 0.0f;
	e.num_max[1] = 24.0f;
	e.item_codes[1] = 7;		/* beyond the vocabulary: "other" (slot 3) */
	e.item_num[1] = 5.0f;		/* price has no stats: encodes 0 */
	e.user_num[0] = 50.0f;		/* spend has no stats: encodes 0 */

	for (int i = 0; i < 11; i++)
		c[i] = -1.0f;
	xd_encode_raw(&e, 0, 1, num, codes, c);
	XD_CHECK_NEAR(c[0], 0.5, 1e-6);		/* hour 12 of [0,24] */
	XD_CHECK(c[1] == 0 && c[2] == 1 && c[3] == 0);	/* weekday code 1 */
	XD_CHECK(c[4] == 1);		/* rainy */
	XD_CHECK(c[5] == 0);		/* spend: no stats */
	XD_CHECK(c[6] == 0 && c[7] == 0 && c[8] == 0 && c[9] == 1);	/* other */
	XD_CHECK(c[10] == 0);

	/* missing everywhere: all zeros; codes >= vocab go to "other" */
	num[1] = XD_MISSING_NUM;
	num[2] = XD_MISSING_NUM;
	codes[1] = XD_MISSING_CODE;
	xd_encode_raw(&e, -1, -1, num, codes, c);
	for (int i = 0; i < 11; i++)
		XD_CHECK(c[i] == 0.0f);
	codes[1] = 99;
	num[1] = 30.0f;				/* above the max: clamped to 1 */
	xd_encode_interaction(&e, num, codes, c);
	XD_CHECK(c[0] == 1.0f);
	XD_CHECK(c[1] == 0 && c[2] == 0 && c[3] == 1);
	num[1] = -3.0f;				/* below the min: clamped to 0 */
	xd_encode_interaction(&e, num, codes, c);
	XD_CHECK(c[0] == 0.0f);
	xd_feature_encoder_free(&e);
}

XD_TEST(dataset_split_proportions)
{
	xd_dataset *ds = make_dataset(500, 300, 20000, 1);
	double		f[3];

	XD_REQUIRE(ds);
	XD_REQUIRE(xd_dataset_finalize(ds, 42) == XD_OK);
	for (int k = 0; k < 3; k++)
		f[k] = (double) ds->n_split[k] / (double) ds->n_rows;
	XD_CHECK_NEAR(f[0], 0.8, 0.015);
	XD_CHECK_NEAR(f[1], 0.1, 0.01);
	XD_CHECK_NEAR(f[2], 0.1, 0.01);
	XD_CHECK(ds->n_split[0] + ds->n_split[1] + ds->n_split[2] == ds->n_rows);
	for (int k = 0; k < 3; k++)
		for (int64_t i = 0; i < ds->n_split[k]; i++)
		{
			XD_REQUIRE(ds->split[ds->split_rows[k][i]] == k);
			if (i > 0)
				XD_REQUIRE(ds->split_rows[k][i] > ds->split_rows[k][i - 1]);
		}
	xd_dataset_free(ds);
}

XD_TEST(dataset_split_order_independent_and_seeded)
{
	xd_dataset *a = make_dataset(50, 40, 3000, 2);
	xd_dataset *b = NULL;
	xd_dataset *c = make_dataset(50, 40, 3000, 2);
	int			differ = 0;

	XD_REQUIRE(a && c);
	XD_REQUIRE(xd_dataset_create(&a->enc.schema, 50, 40, 0, 0, &b) == XD_OK);
	/* the same rows in reverse order */
	for (int64_t r = a->n_rows - 1; r >= 0; r--)
		XD_REQUIRE(xd_dataset_append(b, a->users[r], a->items[r], 0,
									 a->num + r * a->enc.schema.n_num,
									 a->codes + r * a->enc.schema.n_codes) == XD_OK);
	XD_REQUIRE(xd_dataset_finalize(a, 7) == XD_OK);
	XD_REQUIRE(xd_dataset_finalize(b, 7) == XD_OK);
	XD_REQUIRE(xd_dataset_finalize(c, 8) == XD_OK);
	for (int64_t r = 0; r < a->n_rows; r++)
	{
		XD_REQUIRE(a->split[r] == b->split[a->n_rows - 1 - r]);
		differ += a->split[r] != c->split[r];
	}
	/* another seed gives another split */
	XD_CHECK(differ > 100);
	/* and the stats agree, since the training rows are the same set */
	for (int i = 0; i < a->enc.schema.n_num; i++)
	{
		XD_CHECK(a->enc.num_min[i] == b->enc.num_min[i]);
		XD_CHECK(a->enc.num_max[i] == b->enc.num_max[i]);
	}
	xd_dataset_free(a);
	xd_dataset_free(b);
	xd_dataset_free(c);
}

XD_TEST(dataset_identical_rows_land_together)
{
	xd_schema	s;
	xd_dataset *ds;
	xd_rng		r;

	XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
	XD_REQUIRE(xd_dataset_create(&s, 100, 100, 0, 0, &ds) == XD_OK);
	xd_schema_free(&s);
	xd_rng_seed(&r, 3);
	/* 500 distinct rows, each appended three times, interleaved */
	for (int rep = 0; rep < 3; rep++)
	{
		xd_rng_seed(&r, 3);
		for (int i = 0; i < 500; i++)
		{
			float		num[4] = {1, (float) xd_rng_below(&r, 24), 0, 2};
			int32_t		codes[2] = {1, (int32_t) xd_rng_below(&r, 3)};
			int32_t		u = (int32_t) xd_rng_below(&r, 100),
						v = (int32_t) xd_rng_below(&r, 100);

			if (rep == 1)
				num[0] = -0.0f * num[0];	/* -0 and +0 are the same value... */
			else
				num[0] = 0.0f;
			XD_REQUIRE(xd_dataset_append(ds, u, v, 0, num, codes) == XD_OK);
		}
	}
	XD_REQUIRE(xd_dataset_finalize(ds, 11) == XD_OK);
	for (int i = 0; i < 500; i++)
	{
		XD_CHECK(ds->split[i] == ds->split[500 + i]);
		XD_CHECK(ds->split[i] == ds->split[1000 + i]);
	}
	xd_dataset_free(ds);
}

XD_TEST(dataset_normalisation_from_training_split_only)
{
	xd_dataset *ds = make_dataset(40, 30, 2000, 4);
	float		lo = 1e30f,
				hi = -1e30f,
				all_lo = 1e30f,
				all_hi = -1e30f;
	float		c[11];

	XD_REQUIRE(ds);
	/* an extreme hour in one non-training row must not move the stats */
	XD_REQUIRE(xd_dataset_finalize(ds, 5) == XD_OK);
	for (int64_t r = 0; r < ds->n_rows; r++)
	{
		float		h = ds->num[r * 4 + 1];

		if (ds->split[r] == XD_SPLIT_TRAIN)
		{
			lo = h < lo ? h : lo;
			hi = h > hi ? h : hi;
		}
		all_lo = h < all_lo ? h : all_lo;
		all_hi = h > all_hi ? h : all_hi;
	}
	XD_CHECK(ds->enc.num_min[1] == lo);
	XD_CHECK(ds->enc.num_max[1] == hi);
	xd_dataset_free(ds);

	/* a test row with hour 1000: its encoded hour clamps to 1 */
	{
		xd_schema	s;
		int64_t		outlier = -1;

		XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
		XD_REQUIRE(xd_dataset_create(&s, 5, 5, 0, 0, &ds) == XD_OK);
		xd_schema_free(&s);
		for (int i = 0; i < 200; i++)
		{
			float		num[4] = {7.0f, (float) (i % 24), 0, 3.0f};	/* spend, price constant */
			int32_t		codes[2] = {0, 0};

			XD_REQUIRE(xd_dataset_append(ds, i % 5, (i / 5) % 5, 0, num, codes) == XD_OK);
		}
		for (int i = 0; i < 50 && outlier < 0; i++)
		{
			float		num[4] = {7.0f, 1000.0f + (float) i, 0, 3.0f};
			int32_t		codes[2] = {0, 0};

			XD_REQUIRE(xd_dataset_append(ds, 0, 0, 0, num, codes) == XD_OK);
			if (xd_split_of(0, 0, num, 4, codes, 2, 6) != XD_SPLIT_TRAIN)
				outlier = ds->n_rows - 1;
		}
		XD_REQUIRE(outlier >= 0);
		/* drop the outliers that went to training by building only up to it */
		ds->n_rows = outlier + 1;
		for (int64_t r = 200; r < outlier; r++)
			ds->num[r * 4 + 1] = 23.0f;	/* keep earlier outlier attempts in range */
		XD_REQUIRE(xd_dataset_finalize(ds, 6) == XD_OK);
		XD_CHECK(ds->split[outlier] != XD_SPLIT_TRAIN);
		XD_CHECK(ds->enc.num_max[1] <= 23.0f);
		xd_dataset_encode(ds, outlier, -1, c);
		XD_CHECK(c[0] == 1.0f);
		/* constant features (spend, price) encode 0 */
		XD_CHECK(c[5] == 0.0f);
		XD_CHECK(c[10] == 0.0f);
		for (int64_t r = 0; r < ds->n_rows; r++)
		{
			xd_dataset_encode(ds, r, -1, c);
			XD_REQUIRE(c[0] >= 0.0f && c[0] <= 1.0f);
		}
		xd_dataset_free(ds);
	}
}

XD_TEST(dataset_profiles_mean_and_mode)
{
	xd_dataset *ds = make_dataset(30, 20, 3000, 9);

	XD_REQUIRE(ds);
	XD_REQUIRE(xd_dataset_finalize(ds, 10) == XD_OK);
	/* recompute every profile by brute force from the training rows */
	for (int32_t u = 0; u < 30; u++)
	{
		double		sum = 0;
		int			n = 0;

		for (int64_t r = 0; r < ds->n_rows; r++)
			if (ds->split[r] == XD_SPLIT_TRAIN && ds->users[r] == u)
			{
				sum += ds->num[r * 4 + 0];
				n++;
			}
		XD_REQUIRE(n > 0);
		XD_CHECK_NEAR(ds->enc.user_num[u], sum / n, 1e-3);
	}
	for (int32_t v = 0; v < 20; v++)
	{
		int			counts[4] = {0};
		double		sum = 0;
		int			n = 0,
					best = 0;

		for (int64_t r = 0; r < ds->n_rows; r++)
			if (ds->split[r] == XD_SPLIT_TRAIN && ds->items[r] == v)
			{
				counts[ds->codes[r * 2 + 0]]++;	/* code 4 was stored as "other" 3 */
				sum += ds->num[r * 4 + 3];
				n++;
			}
		for (int k = 1; k < 4; k++)
			if (counts[k] > counts[best])
				best = k;
		XD_CHECK(ds->enc.item_codes[v] == best);
		XD_CHECK_NEAR(ds->enc.item_num[v], sum / n, 1e-4);
	}
	xd_dataset_free(ds);

	/* a tie: codes 2, 1, 2, 1 (all in training) -> mode 1; missing skipped */
	{
		xd_schema	s;
		uint64_t	seed;

		XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
		for (seed = 0; seed < 1000; seed++)
		{
			int			all_train = 1;

			XD_REQUIRE(xd_dataset_create(&s, 1, 6, 0, 0, &ds) == XD_OK);
			for (int i = 0; i < 6; i++)
			{
				/* item i's cuisine 2,1,2,1 and then two missing rows */
				float		num[4] = {i < 4 ? (float) (i + 1) : XD_MISSING_NUM, 0, 0, 0};
				int32_t		codes[2] = {i < 4 ? (i % 2 ? 1 : 2) : XD_MISSING_CODE, 0};

				XD_REQUIRE(xd_dataset_append(ds, 0, 0, 0, num, codes) == XD_OK);
				num[0] = 0;
				all_train &= xd_split_of(0, 0, ds->num + i * 4, 4, ds->codes + i * 2, 2, seed) == XD_SPLIT_TRAIN;
			}
			if (all_train)
				break;
			xd_dataset_free(ds);
			ds = NULL;
		}
		xd_schema_free(&s);
		XD_REQUIRE(ds);
		XD_REQUIRE(xd_dataset_finalize(ds, seed) == XD_OK);
		XD_CHECK(ds->n_split[XD_SPLIT_TRAIN] == 6);
		XD_CHECK(ds->enc.item_codes[0] == 1);
		XD_CHECK_NEAR(ds->enc.user_num[0], 2.5, 1e-6);	/* mean of 1..4 */
		XD_CHECK(ds->enc.item_codes[1] == XD_MISSING_CODE);	/* no rows */
		XD_CHECK(isnan(ds->enc.item_num[1]));
		xd_dataset_free(ds);
	}
}

XD_TEST(dataset_encode_uses_profiles_and_item_override)
{
	xd_dataset *ds = make_dataset(30, 20, 3000, 12);
	float		c[11],
				d[11],
				e[11];

	XD_REQUIRE(ds);
	XD_REQUIRE(xd_dataset_finalize(ds, 13) == XD_OK);
	for (int64_t r = 0; r < 200; r++)
	{
		int32_t		u = ds->users[r],
					v = ds->items[r],
					w = (v + 1) % 20;

		xd_dataset_encode(ds, r, -1, c);
		xd_dataset_encode(ds, r, w, d);
		/* interaction-scoped part from the row */
		XD_CHECK_NEAR(c[0], xd_encode_numeric(&ds->enc, 1, ds->num[r * 4 + 1]), 1e-7);
		/* user-scoped spend from the profile, not the row */
		XD_CHECK_NEAR(c[5], xd_encode_numeric(&ds->enc, 0, ds->enc.user_num[u]), 1e-7);
		/* item-scoped from the item's profile; the override swaps only those */
		XD_CHECK(c[6 + ds->enc.item_codes[v]] == 1.0f);
		XD_CHECK(d[6 + ds->enc.item_codes[w]] == 1.0f);
		XD_CHECK_NEAR(d[10], xd_encode_numeric(&ds->enc, 5, ds->enc.item_num[w]), 1e-7);
		XD_CHECK(memcmp(c, d, 6 * sizeof(float)) == 0);
		/* the partial encoders compose to the same vector */
		memset(e, 0, sizeof(e));
		xd_encode_interaction(&ds->enc, ds->num + r * 4, ds->codes + r * 2, e);
		xd_encode_user(&ds->enc, u, e);
		xd_encode_item(&ds->enc, v, e);
		XD_CHECK(memcmp(c, e, sizeof(c)) == 0);
	}
	xd_dataset_free(ds);
}

XD_TEST(dataset_encoder_restored_from_stats)
{
	xd_dataset *ds = make_dataset(30, 20, 2000, 14);
	xd_feature_encoder	e;
	const xd_schema *s;
	float		c[11],
				d[11];

	XD_REQUIRE(ds);
	XD_REQUIRE(xd_dataset_finalize(ds, 15) == XD_OK);
	s = &ds->enc.schema;
	/* what a serialiser stores, and a restored encoder without rows */
	XD_REQUIRE(xd_feature_encoder_init(&e, s, 30, 20) == XD_OK);
	memcpy(e.num_min, ds->enc.num_min, sizeof(float) * s->n_num);
	memcpy(e.num_max, ds->enc.num_max, sizeof(float) * s->n_num);
	memcpy(e.user_num, ds->enc.user_num, sizeof(float) * 30 * s->n_user_num);
	memcpy(e.item_num, ds->enc.item_num, sizeof(float) * 20 * s->n_item_num);
	memcpy(e.item_codes, ds->enc.item_codes, sizeof(int32_t) * 20 * s->n_item_codes);
	for (int64_t r = 0; r < 100; r++)
	{
		float		num[4];

		memcpy(num, ds->num + r * 4, sizeof(num));
		xd_dataset_encode(ds, r, -1, c);
		/* ranking: the caller omits the user-scoped spend -> the profile */
		num[0] = XD_MISSING_NUM;
		xd_encode_raw(&e, ds->users[r], ds->items[r], num, ds->codes + r * 2, d);
		XD_CHECK(memcmp(c, d, sizeof(c)) == 0);
		/* the caller gives it -> the caller's value */
		num[0] = ds->enc.num_max[0];
		xd_encode_raw(&e, ds->users[r], ds->items[r], num, ds->codes + r * 2, d);
		XD_CHECK(d[5] == 1.0f);
	}
	xd_feature_encoder_free(&e);
	xd_dataset_free(ds);
}

XD_TEST(dataset_binned_quantiles)
{
	xd_feature	f[1] = {XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_BINNED, XD_SCOPE_INTERACTION, 4)};
	xd_schema	s;
	xd_dataset *ds;
	int			counts[4] = {0};
	float		c[4];

	XD_REQUIRE(xd_schema_init(&s, f, 1) == XD_OK);
	XD_CHECK(s.m == 4 && s.n_edges == 3 && s.n_num == 1);
	XD_REQUIRE(xd_dataset_create(&s, 1, 1000, 0, 0, &ds) == XD_OK);
	xd_schema_free(&s);
	for (int i = 0; i < 1000; i++)
	{
		float		x = (float) i;

		XD_REQUIRE(xd_dataset_append(ds, 0, i, 0, &x, NULL) == XD_OK);
	}
	XD_REQUIRE(xd_dataset_finalize(ds, 1) == XD_OK);
	for (int j = 1; j < 3; j++)
		XD_CHECK(ds->enc.bin_edges[j] > ds->enc.bin_edges[j - 1]);
	/* the training rows fall evenly into the 4 bins */
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TRAIN]; i++)
	{
		int			hot = -1,
					ones = 0;

		xd_dataset_encode(ds, ds->split_rows[XD_SPLIT_TRAIN][i], -1, c);
		for (int k = 0; k < 4; k++)
			if (c[k] == 1.0f)
			{
				hot = k;
				ones++;
			}
		XD_REQUIRE(ones == 1);
		counts[hot]++;
	}
	for (int k = 0; k < 4; k++)
		XD_CHECK_NEAR((double) counts[k] / ds->n_split[XD_SPLIT_TRAIN], 0.25, 0.01);
	/* missing -> all zeros */
	{
		float		x = XD_MISSING_NUM;

		xd_encode_interaction(&ds->enc, &x, NULL, c);
		XD_CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] == 0);
		x = -1e9f;
		xd_encode_interaction(&ds->enc, &x, NULL, c);
		XD_CHECK(c[0] == 1);
		x = 1e9f;
		xd_encode_interaction(&ds->enc, &x, NULL, c);
		XD_CHECK(c[3] == 1);
	}
	xd_dataset_free(ds);
}

XD_TEST(dataset_seen_sets_and_known)
{
	xd_dataset *ds = make_dataset(60, 50, 1500, 16);

	XD_REQUIRE(ds);
	XD_REQUIRE(xd_dataset_finalize(ds, 17) == XD_OK);
	for (int32_t u = 0; u < 60; u++)
		for (int32_t v = 0; v < 50; v++)
		{
			int			seen = 0;

			for (int64_t r = 0; r < ds->n_rows && !seen; r++)
				seen = ds->split[r] == XD_SPLIT_TRAIN && ds->users[r] == u && ds->items[r] == v;
			XD_REQUIRE(xd_dataset_seen(ds, u, v) == seen);
		}
	for (int32_t u = 0; u < 60; u++)
		for (int64_t j = ds->user_train_off[u] + 1; j < ds->user_train_off[u + 1]; j++)
			XD_REQUIRE(ds->user_train_items[j] > ds->user_train_items[j - 1]);
	{
		int			known = 0;

		for (int32_t v = 0; v < 50; v++)
		{
			known += xd_dataset_item_known(ds, v);
			XD_CHECK(xd_dataset_item_known(ds, v) == (ds->item_train_count[v] > 0));
		}
		XD_CHECK(known == ds->n_train_items);
	}
	XD_CHECK(!xd_dataset_user_known(ds, -1) && !xd_dataset_user_known(ds, 60));
	xd_dataset_free(ds);
}

XD_TEST(dataset_budget_enomem_and_bad_input)
{
	xd_schema	s;
	xd_dataset *ds;
	float		num[4] = {1, 2, 0, 3};
	int32_t		codes[2] = {0, 0};
	int			appended = 0;
	xd_status	st = XD_OK;

	XD_REQUIRE(xd_schema_init(&s, test_features, N_TEST_FEATURES) == XD_OK);
	/* a row is 8 + 16 + 8 = 32 bytes; 100 kB holds about 3000 */
	XD_REQUIRE(xd_dataset_create(&s, 10, 10, 0, 100000, &ds) == XD_OK);
	while (appended < 100000 && (st = xd_dataset_append(ds, 1, 2, 0, num, codes)) == XD_OK)
		appended++;
	XD_CHECK(st == XD_ENOMEM);
	XD_CHECK(appended > 2500 && appended < 3200);
	XD_CHECK(ds->memory <= 100000);
	XD_CHECK(ds->n_rows == appended);
	xd_dataset_free(ds);

	XD_REQUIRE(xd_dataset_create(&s, 10, 10, 1, 0, &ds) == XD_OK);
	XD_CHECK(xd_dataset_finalize(ds, 1) == XD_ENODATA);
	XD_CHECK(xd_dataset_append(ds, 10, 0, 1, num, codes) == XD_EINVAL);
	XD_CHECK(xd_dataset_append(ds, 0, -1, 1, num, codes) == XD_EINVAL);
	XD_CHECK(xd_dataset_append(ds, 0, 0, NAN, num, codes) == XD_EINVAL);
	num[1] = INFINITY;
	XD_CHECK(xd_dataset_append(ds, 0, 0, 1, num, codes) == XD_EINVAL);
	num[1] = 2;
	XD_CHECK(xd_dataset_append(ds, 0, 0, 4.0f, num, codes) == XD_OK);
	XD_CHECK(xd_dataset_append(ds, 1, 1, 2.0f, num, codes) == XD_OK);
	XD_CHECK(ds->n_rows == 2);
	xd_dataset_free(ds);
	xd_schema_free(&s);
	xd_dataset_free(NULL);
}

static int
dataset_stop_now(void *arg)
{
	(void) arg;
	return 1;
}

XD_TEST(dataset_finalize_polls_stop)
{
	xd_dataset *ds = make_dataset(10, 10, 100, 20);

	XD_REQUIRE(ds);
	ds->stop = dataset_stop_now;
	XD_CHECK(xd_dataset_finalize(ds, 1) == XD_ECANCELLED);
	XD_CHECK(!ds->finalized);
	/* a failed finalize is final */
	ds->stop = NULL;
	XD_CHECK(xd_dataset_finalize(ds, 1) == XD_EINVAL);
	xd_dataset_free(ds);
}
