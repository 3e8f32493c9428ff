/*
 * test_serve.c - serving (serve.h): top-k by partial selection, and the item
 * tower's outputs under one context scored for many users, against the
 * reference path (xd_model_score on every (user, item, c) row).
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xdrec/serve.h"

/* the reference order: higher score first, ties by smaller index */
static int
ts_cmp(const void *a, const void *b)
{
	const xd_hit *x = a,
			   *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

XD_TEST(serve_top_k_small_cases)
{
	float		s[6] = {0.5f, 2.0f, 0.5f, NAN, 2.0f, -1.0f};
	uint8_t		keep[6] = {1, 1, 1, 1, 0, 1};
	xd_hit		out[8];

	/* ties: the smaller index first */
	XD_REQUIRE(xd_top_k(s, NULL, 6, 3, out) == 3);
	XD_CHECK(out[0].item == 1 && out[1].item == 4 && out[2].item == 0);
	/* k > n: every non-NaN entry, sorted */
	XD_REQUIRE(xd_top_k(s, NULL, 6, 8, out) == 5);
	XD_CHECK(out[0].item == 1 && out[1].item == 4 && out[2].item == 0 &&
			 out[3].item == 2 && out[4].item == 5);
	XD_CHECK(out[4].score == -1.0f);
	/* the keep mask drops entries */
	XD_REQUIRE(xd_top_k(s, keep, 6, 2, out) == 2);
	XD_CHECK(out[0].item == 1 && out[1].item == 0);
	XD_CHECK(xd_top_k(s, NULL, 6, 0, out) == 0);
	XD_CHECK(xd_top_k(s, NULL, 0, 3, out) == 0);
}

/* Against a full sort, on many ties (scores from 5 values) and every k. */
XD_TEST(serve_top_k_matches_full_sort)
{
	int			n = 300;
	float	   *s = malloc(sizeof(float) * n);
	uint8_t    *keep = malloc(n);
	xd_hit	   *all = malloc(sizeof(xd_hit) * n);
	xd_hit	   *out = malloc(sizeof(xd_hit) * (n + 5));
	xd_rng		rng;
	int			kept = 0;

	xd_rng_seed(&rng, 5);
	for (int i = 0; i < n; i++)
	{
		s[i] = (float) xd_rng_below(&rng, 5) - 2.0f;
		keep[i] = xd_rng_below(&rng, 4) != 0;
		if (keep[i])
			all[kept++] = (xd_hit) {s[i], i};
	}
	qsort(all, kept, sizeof(xd_hit), ts_cmp);
	for (int k = 1; k <= n + 5; k += 7)
	{
		int			got = xd_top_k(s, keep, n, k, out);
		bool		same = got == (k < kept ? k : kept);

		for (int i = 0; same && i < got; i++)
			same = out[i].item == all[i].item && out[i].score == all[i].score;
		XD_CHECK(same);
	}
	free(s);
	free(keep);
	free(all);
	free(out);
}

/*
 * Features: hour (interaction, numeric), cuisine (item, categorical of 3),
 * price (item, numeric): c = [hour | cuisine(3) price], m = 5.
 */
static const xd_feature ts_features[] = {
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_INTERACTION, 0),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_ITEM, 3),
	XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_ITEM, 0),
};

/*
 * The outputs for one context scored for three users equal xd_model_score on
 * every (user, item, c_item) row within 1e-5 (the batched products sum in
 * another order than the reference's), implicit and explicit, with and
 * without item-scoped features, with DRR residuals attached, over more items
 * than the workspace holds; computing twice gives the same bits, and so does
 * the same user twice in one batch.
 */
XD_TEST(serve_item_outputs_match_reference)
{
	for (int variant = 0; variant < 4; variant++)
	{
		bool		explicit_fb = variant & 1;
		bool		per_item = variant & 2;
		int			n_users = 6,
					n_items = 53;
		int32_t		users[3] = {4, 0, 4};
		xd_schema	s;
		xd_encoder	enc;
		xd_config	cfg;
		xd_model   *model;
		xd_adapt   *ad;
		xd_rng		rng;
		xd_batch	b;
		xd_item_outputs io,
					io2;
		float	   *buf,
				   *buf2,
				   *ref,
				   *got,
				   *again;
		size_t		nf;
		float		c[5];
		int			m;

		XD_REQUIRE(xd_schema_init(&s, ts_features, 3) == XD_OK);
		XD_REQUIRE(xd_encoder_init(&enc, &s, n_users, n_items) == XD_OK);
		m = s.m;
		/* price's training range, at its raw slot */
		enc.num_min[s.features[2].raw] = 0.0f;
		enc.num_max[s.features[2].raw] = 10.0f;
		xd_schema_free(&s);
		xd_rng_seed(&rng, 11 + variant);
		for (int i = 0; i < n_items; i++)
		{
			enc.item_codes[i] = (int32_t) xd_rng_below(&rng, 3);
			enc.item_num[i] = 10.0f * xd_rng_uniform(&rng);
		}
		xd_config_defaults(&cfg);
		cfg.m = m;
		cfg.m_I = 1;
		cfg.m_A = 4;
		cfg.d = 8;
		cfg.batch_size = 4;		/* a workspace of 12 rows: many batches */
		cfg.feedback = explicit_fb ? XD_EXPLICIT : XD_IMPLICIT;
		XD_REQUIRE(xd_model_create(&cfg, n_users, n_items, 3.0f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_adapt_new(&cfg, &ad) == XD_OK);
		for (int p = 0; p < ad->n_params; p++)
			for (int i = 0; i < ad->params[p].rows * ad->params[p].cols; i++)
				ad->params[p].w[i] = 0.2f * (xd_rng_uniform(&rng) - 0.5f);
		XD_REQUIRE(xd_model_set_adapt(model, ad) == XD_OK);
		if (explicit_fb)
			for (int i = 0; i < n_items; i++)
				xd_model_find_param(model, "bias.item")->w[i] = 0.05f * i;
		xd_model_drop_training_state(model);

		/* a context whose item-scoped part is not the items' */
		for (int j = 0; j < m; j++)
			c[j] = xd_rng_uniform(&rng);
		XD_REQUIRE(xd_batch_init(&b, 3 * n_items, m) == XD_OK);
		b.n = 3 * n_items;
		for (int u = 0; u < 3; u++)
			for (int i = 0; i < n_items; i++)
			{
				int			r = u * n_items + i;

				b.users[r] = users[u];
				b.items[r] = i;
				memcpy(b.c + (size_t) r * m, c, sizeof(c));
				if (per_item)
					xd_encode_item(&enc, i, b.c + (size_t) r * m);
			}
		ref = malloc(sizeof(float) * 3 * n_items);
		got = malloc(sizeof(float) * 3 * n_items);
		again = malloc(sizeof(float) * 3 * n_items);
		XD_REQUIRE(xd_model_score(model, &b, ref) == XD_OK);

		nf = xd_item_outputs_floats(model, per_item);
		buf = malloc(sizeof(float) * nf);
		buf2 = malloc(sizeof(float) * nf);
		xd_item_outputs_bind(&io, model, per_item, buf);
		xd_item_outputs_bind(&io2, model, per_item, buf2);
		XD_REQUIRE(xd_item_outputs_compute(model, c, &enc, &io) == XD_OK);
		XD_REQUIRE(xd_item_outputs_score(model, &io, users, 3, got) == XD_OK);
		for (int r = 0; r < 3 * n_items; r++)
			XD_CHECK_NEAR(got[r], ref[r], 1e-5);
		/* users 0 and 2 are the same user: the same bits */
		XD_CHECK(memcmp(got, got + 2 * n_items, sizeof(float) * n_items) == 0);
		XD_REQUIRE(xd_item_outputs_compute(model, c, &enc, &io2) == XD_OK);
		XD_CHECK(memcmp(buf, buf2, sizeof(float) * nf) == 0);
		/* one user alone (a matrix-vector product): within rounding */
		XD_REQUIRE(xd_item_outputs_score(model, &io2, users, 1, again) == XD_OK);
		for (int i = 0; i < n_items; i++)
			XD_CHECK_NEAR(got[i], again[i], 1e-5);

		/* bad input */
		users[1] = n_users;
		XD_CHECK(xd_item_outputs_score(model, &io, users, 3, got) == XD_EINVAL);
		if (per_item)
			XD_CHECK(xd_item_outputs_compute(model, c, NULL, &io) == XD_EINVAL);
		XD_CHECK(xd_item_outputs_flops(model, per_item) > 0);

		free(buf);
		free(buf2);
		free(ref);
		free(got);
		free(again);
		xd_batch_free(&b);
		xd_model_free(model);
		xd_adapt_free(ad);
		xd_encoder_free(&enc);
	}
}
