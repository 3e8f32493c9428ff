/*
 * test_sample.c - shuffles and the training negatives of DESIGN section 3.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"
#include "xdrec/sample.h"

/* c_I = hour(1) weekday(4) ; c_H = spend(1, user) ; c_A = cuisine(5, item) price(1, item) */
static const xd_feature sample_features[] = {
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_INTERACTION, 0),
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 4),
	XD_FEATURE(XD_KIND_HISTORICAL, XD_TYPE_NUMERIC, XD_SCOPE_USER, 0),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_ITEM, 5),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_ITEM, 0),
};

#define SM 12

/*
 * Items have a fixed cuisine (v % 5) and price (v % 7), users a fixed spend,
 * so profiles are exact; hour and weekday vary per row. constant_ctx gives
 * every row the same interaction context.
 */
typedef struct sample_rows
{
	int			n_users;
	int			n_items;
	int			constant_ctx;
} sample_rows;

static void
sample_row(void *arg, xd_rng *rng, int64_t i, fx_row *r)
{
	const sample_rows *sr = arg;

	r->user = (int32_t) xd_rng_below(rng, (uint32_t) sr->n_users);
	r->item = (int32_t) xd_rng_below(rng, (uint32_t) sr->n_items);
	r->rating = 1.0f + (float) (i % 5);
	r->num[0] = sr->constant_ctx ? 5.0f : (float) xd_rng_below(rng, 24);
	r->num[1] = (float) (r->user % 11);
	r->num[2] = (float) (r->item % 7);
	r->codes[0] = sr->constant_ctx ? 1 : (int32_t) xd_rng_below(rng, 4);
	r->codes[1] = r->item % 5;
}

static xd_dataset *
sample_dataset(int n_users, int n_items, int n_rows, int ratings, int constant_ctx)
{
	sample_rows sr = {n_users, n_items, constant_ctx};
	fx_spec		spec = {
		.features = sample_features, .n_features = 5, .n_users = n_users,
		.n_items = n_items, .ratings = ratings, .n_rows = n_rows, .seed = 99,
		.row = sample_row, .arg = &sr, .finalize = true, .split_seed = 1,
	};

	return fx_dataset(&spec);
}

XD_TEST(sample_shuffle_is_seeded_permutation)
{
	int64_t		a[1000],
				b[1000];
	int			seen[1000] = {0},
				moved = 0;
	xd_rng		r1,
				r2;

	for (int i = 0; i < 1000; i++)
		a[i] = b[i] = i;
	xd_rng_seed(&r1, 5);
	xd_rng_seed(&r2, 5);
	xd_shuffle_rows(a, 1000, &r1);
	xd_shuffle_rows(b, 1000, &r2);
	for (int i = 0; i < 1000; i++)
	{
		XD_REQUIRE(a[i] >= 0 && a[i] < 1000);
		seen[a[i]]++;
		moved += a[i] != i;
		XD_CHECK(a[i] == b[i]);
	}
	for (int i = 0; i < 1000; i++)
		XD_CHECK(seen[i] == 1);
	XD_CHECK(moved > 900);
}

XD_TEST(sample_implicit_batch_layout_and_negatives)
{
	xd_dataset *ds = sample_dataset(50, 40, 4000, 0, 0);
	xd_batch	b;
	xd_rng		r;
	int64_t    *rows;
	int64_t		n_train;
	int			np = 256;
	float		want[SM];
	int			inter[SM] = {0};
	int			ctx_differs = 0;

	XD_REQUIRE(ds);
	XD_REQUIRE(ds->enc.schema.m == SM);
	for (int f = 0; f < 5; f++)
		if (ds->enc.schema.features[f].scope == XD_SCOPE_INTERACTION)
			for (int k = 0; k < ds->enc.schema.features[f].width; k++)
				inter[ds->enc.schema.features[f].offset + k] = 1;
	XD_REQUIRE(xd_train_rows(ds, &rows, &n_train) == XD_OK);
	XD_REQUIRE(n_train == ds->n_split[XD_SPLIT_TRAIN]);
	xd_rng_seed(&r, 3);
	xd_shuffle_rows(rows, n_train, &r);
	XD_REQUIRE(xd_batch_init(&b, 3 * np, SM) == XD_OK);
	XD_REQUIRE(xd_sample_batch(ds, rows, np, &r, &b) == XD_OK);
	XD_CHECK(b.n == 3 * np && b.n_pos == np);
	for (int i = 0; i < np; i++)
	{
		const float *cp = b.c + i * SM,
				   *ci = b.c + (np + i) * SM,
				   *cc = b.c + (2 * np + i) * SM;
		int			match = 0;

		/* positive: the row, encoded */
		XD_CHECK(b.users[i] == ds->users[rows[i]] && b.items[i] == ds->items[rows[i]]);
		xd_dataset_encode(ds, rows[i], -1, want);
		XD_CHECK(memcmp(cp, want, sizeof(want)) == 0);
		XD_CHECK(b.ratings[i] == 1.0f && b.ratings[np + i] == 0.0f && b.ratings[2 * np + i] == 0.0f);

		/* item negative: another item, carrying its own item-scoped features */
		XD_CHECK(b.users[np + i] == b.users[i]);
		XD_CHECK(b.items[np + i] != b.items[i]);
		XD_CHECK(b.items[np + i] >= 0 && b.items[np + i] < 40);
		xd_dataset_encode(ds, rows[i], b.items[np + i], want);
		XD_CHECK(memcmp(ci, want, sizeof(want)) == 0);
		XD_CHECK(ci[6 + b.items[np + i] % 5] == 1.0f);	/* cuisine block at 6 */

		/* context negative: same u, v; only the interaction-scoped part moved */
		XD_CHECK(b.users[2 * np + i] == b.users[i] && b.items[2 * np + i] == b.items[i]);
		for (int k = 0; k < SM; k++)
			if (!inter[k])
				XD_CHECK(cc[k] == cp[k]);
		ctx_differs += memcmp(cc, cp, sizeof(want)) != 0;
		/* ... and it is the interaction part of some training row */
		for (int64_t t = 0; t < n_train && !match; t++)
		{
			int64_t		o = ds->split_rows[XD_SPLIT_TRAIN][t];

			memcpy(want, cp, sizeof(want));
			xd_encode_interaction(&ds->enc, ds->num + o * 3, ds->codes + o * 2, want);
			match = memcmp(want, cc, sizeof(want)) == 0;
		}
		XD_CHECK(match);
	}
	/* 96 hour x weekday combinations: every context negative differs */
	XD_CHECK(ctx_differs == np);
	xd_batch_free(&b);
	free(rows);
	xd_dataset_free(ds);
}

XD_TEST(sample_item_negatives_uniform)
{
	xd_dataset *ds = sample_dataset(20, 10, 2000, 0, 0);
	xd_batch	b;
	xd_rng		r;
	int			counts[10] = {0},
				total = 0;
	int64_t		rows[100];

	XD_REQUIRE(ds);
	/* the same positive (item v) 100 times a batch */
	for (int i = 0; i < 100; i++)
		rows[i] = ds->split_rows[XD_SPLIT_TRAIN][0];
	XD_REQUIRE(xd_batch_init(&b, 300, SM) == XD_OK);
	xd_rng_seed(&r, 8);
	for (int it = 0; it < 200; it++)
	{
		XD_REQUIRE(xd_sample_batch(ds, rows, 100, &r, &b) == XD_OK);
		for (int i = 0; i < 100; i++)
		{
			counts[b.items[100 + i]]++;
			total++;
		}
	}
	XD_CHECK(counts[ds->items[rows[0]]] == 0);
	for (int v = 0; v < 10; v++)
		if (v != ds->items[rows[0]])
			XD_CHECK_NEAR((double) counts[v] / total, 1.0 / 9, 0.01);
	xd_batch_free(&b);
	xd_dataset_free(ds);
}

XD_TEST(sample_explicit_batch_and_errors)
{
	xd_dataset *ds = sample_dataset(20, 10, 500, 1, 0);
	xd_dataset *same = sample_dataset(20, 10, 500, 0, 1);
	xd_dataset *one_item = sample_dataset(20, 1, 200, 0, 0);
	xd_batch	b,
				small;
	xd_rng		r;

	XD_REQUIRE(ds && same && one_item);
	XD_REQUIRE(xd_batch_init(&b, 300, SM) == XD_OK);
	XD_REQUIRE(xd_batch_init(&small, 100, SM) == XD_OK);
	xd_rng_seed(&r, 1);
	XD_REQUIRE(xd_sample_batch(ds, ds->split_rows[XD_SPLIT_TRAIN], 100, &r, &b) == XD_OK);
	XD_CHECK(b.n == 100 && b.n_pos == 100);
	for (int i = 0; i < 100; i++)
		XD_CHECK(b.ratings[i] == ds->ratings[ds->split_rows[XD_SPLIT_TRAIN][i]]);
	XD_CHECK_NEAR(ds->rating_mean, 3.0, 0.2);

	/* implicit needs 3 n_pos rows */
	XD_CHECK(xd_sample_batch(same, same->split_rows[XD_SPLIT_TRAIN], 40, &r, &small) == XD_EINVAL);
	/* every row has one context: the context negative gives up and equals c */
	XD_REQUIRE(xd_sample_batch(same, same->split_rows[XD_SPLIT_TRAIN], 30, &r, &small) == XD_OK);
	XD_CHECK(memcmp(small.c, small.c + 60 * SM, sizeof(float) * SM) == 0);
	/* one item: no item negative exists */
	XD_CHECK(xd_sample_batch(one_item, one_item->split_rows[XD_SPLIT_TRAIN], 10, &r, &small) == XD_ENODATA);
	xd_batch_free(&b);
	xd_batch_free(&small);
	xd_dataset_free(ds);
	xd_dataset_free(same);
	xd_dataset_free(one_item);
}

/*
 * The repeat term's history (batch.h): a row's hist counts the user's other
 * training rows with its item, never the positive's own row, so a pair seen
 * once in training gives its positive 0 and a pair seen twice gives 1; item
 * negatives read the user's rows with the negative item, context negatives
 * their positive's. Counted by hand over the dataset's training rows.
 */
XD_TEST(sample_history_excludes_the_positive)
{
	/* 40 users x 12 items, 900 rows: some pairs repeat, some do not */
	xd_dataset *ds = sample_dataset(40, 12, 900, 0, 0);
	xd_batch	b;
	xd_rng		r;
	int64_t    *rows;
	int64_t		n_train;
	int			np = 200;
	int			ones = 0,
				zeros = 0;

	XD_REQUIRE(ds != NULL);
	XD_REQUIRE(xd_train_rows(ds, &rows, &n_train) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, 3 * np, ds->enc.schema.m) == XD_OK);
	xd_rng_seed(&r, 3);
	XD_REQUIRE(xd_sample_batch(ds, rows, np, &r, &b) == XD_OK);
	for (int i = 0; i < b.n; i++)
	{
		int			same = 0;
		bool		pos_row = i < np || i >= 2 * np;
		int64_t		self = rows[i % np];

		for (int64_t t = 0; t < n_train; t++)
		{
			int64_t		row = rows[t];

			if (ds->users[row] == b.users[i] && ds->items[row] == b.items[i] &&
				!(pos_row && row == self))
				same++;
		}
		XD_CHECK(b.hist[i] == (same > 0 ? 1.0f : 0.0f));
		ones += b.hist[i] == 1.0f;
		zeros += b.hist[i] == 0.0f;
	}
	/* both cases occur, so the check could fail either way */
	XD_CHECK(ones > 50 && zeros > 50);
	xd_batch_free(&b);
	free(rows);
	xd_dataset_free(ds);
}
