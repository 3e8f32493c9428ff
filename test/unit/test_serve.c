/*
 * test_serve.c - serving (serve.h): top-k by partial selection, the item
 * tower's outputs under one context scored for many users, against the
 * reference path (xd_model_score on every (user, item, c) row), predict's
 * candidates and rank_many's grouping by context.
 */
#include <math.h>
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
	/* rising scores: every entry gets in and pushes the kept ones down */
	{
		float		up[40];

		for (int i = 0; i < 40; i++)
			up[i] = (float) i;
		XD_REQUIRE(xd_top_k(up, NULL, 40, 8, out) == 8);
		for (int r = 0; r < 8; r++)
			XD_CHECK(out[r].item == 39 - r && out[r].score == (float) (39 - r));
	}
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
	int			ks[64];
	int			n_ks = 0;

	xd_rng_seed(&rng, 5);
	for (int i = 0; i < n; i++)
	{
		s[i] = (float) xd_rng_below(&rng, 5) - 2.0f;
		keep[i] = xd_rng_below(&rng, 4) != 0;
		if (keep[i])
			all[kept++] = (xd_hit) {s[i], i};
	}
	qsort(all, kept, sizeof(xd_hit), ts_cmp);
	/* every seventh k, and either side of the switch from sorted array to heap */
	for (int k = 1; k <= n + 5; k += 7)
		ks[n_ks++] = k;
	ks[n_ks++] = XD_TOP_K_SORTED;
	ks[n_ks++] = XD_TOP_K_SORTED + 1;
	for (int t = 0; t < n_ks; t++)
	{
		int			k = ks[t];
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
 * A served model over ts_features for n_users x n_items with item profiles
 * from rng, DRR residuals attached (nonzero) and, explicit, item biases,
 * implicit, a nonzero repeat term (core.h); a workspace of 12 rows, so that
 * every path takes many batches.
 */
static void
ts_setup(xd_feature_encoder *enc, xd_model **model, xd_adapt **ad, int n_users, int n_items,
		 bool explicit_fb, xd_rng *rng)
{
	xd_schema	s;
	xd_config	cfg;

	XD_REQUIRE(xd_schema_init(&s, ts_features, 3) == XD_OK);
	XD_REQUIRE(xd_feature_encoder_init(enc, &s, n_users, n_items) == XD_OK);
	/* price's training range, at its raw slot */
	enc->num_min[s.features[2].raw] = 0.0f;
	enc->num_max[s.features[2].raw] = 10.0f;
	for (int i = 0; i < n_items; i++)
	{
		enc->item_codes[i] = (int32_t) xd_rng_below(rng, 3);
		enc->item_num[i] = 10.0f * xd_rng_uniform(rng);
	}
	xd_config_defaults(&cfg);
	cfg.m = s.m;
	cfg.m_I = 1;
	cfg.m_A = 4;
	cfg.d = 8;
	cfg.batch_size = 4;		/* a workspace of 12 rows: many batches */
	cfg.feedback = explicit_fb ? XD_EXPLICIT : XD_IMPLICIT;
	cfg.repeat = true;
	xd_schema_free(&s);
	XD_REQUIRE(xd_model_create(&cfg, n_users, n_items, 3.0f, rng, model) == XD_OK);
	if (!explicit_fb)
	{
		xd_param   *w_R = xd_model_find_param(*model, "rep.w");

		for (int j = 0; j < w_R->cols; j++)
			w_R->w[j] = xd_rng_uniform(rng) - 0.5f;
		xd_model_find_param(*model, "rep.b")->w[0] = 0.7f;
	}
	XD_REQUIRE(xd_adapt_new(&cfg, ad) == XD_OK);
	for (int p = 0; p < (*ad)->n_params; p++)
		for (int i = 0; i < (*ad)->params[p].rows * (*ad)->params[p].cols; i++)
			(*ad)->params[p].w[i] = 0.2f * (xd_rng_uniform(rng) - 0.5f);
	XD_REQUIRE(xd_model_set_adapt(*model, *ad) == XD_OK);
	if (explicit_fb)
		for (int i = 0; i < n_items; i++)
			xd_model_find_param(*model, "bias.item")->w[i] = 0.05f * i;
	xd_model_drop_training_state(*model);
}

/*
 * The outputs for one context scored for three users equal xd_model_score on
 * every (user, item, c_item) row within 1e-5 (the batched products sum in
 * another order than the reference's), implicit and explicit, with and
 * without item-scoped features, with DRR residuals attached, over more items
 * than the workspace holds; computing twice gives the same bits, and the
 * same user twice in one batch the same scores within rounding.
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
		xd_feature_encoder	enc;
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

		xd_rng_seed(&rng, 11 + variant);
		ts_setup(&enc, &model, &ad, n_users, n_items, explicit_fb, &rng);
		m = model->cfg.m;

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
		/*
		 * users 0 and 2 are the same user: the same scores within rounding.
		 * Not the same bits: sgemm may take a batch's rows through different
		 * blocks of its kernel (OpenBLAS's Prescott kernel, which it picks on
		 * CPUs it does not know, rounds rows 0 and 2 of three differently).
		 */
		for (int i = 0; i < n_items; i++)
			XD_CHECK_NEAR(got[i], got[2 * n_items + i], 1e-6 * fmax(1.0, fabs(got[i])));
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
		xd_feature_encoder_free(&enc);
	}
}

/*
 * predict's path (xd_score_candidates): candidates in any order, more than
 * the workspace holds, score as xd_model_score does on their rows, with each
 * candidate's item-scoped features when given a profile source and with the
 * caller's context alone when not.
 */
XD_TEST(serve_score_candidates_match_model_score)
{
	for (int per_item = 0; per_item < 2; per_item++)
	{
		int			n_items = 40,
					n = 29;
		xd_feature_encoder	enc;
		xd_model   *model;
		xd_adapt   *ad;
		xd_rng		rng;
		xd_batch	b;
		int32_t		items[29];
		float		c[5],
					ref[29],
					got[29];
		int			m;

		xd_rng_seed(&rng, 41 + per_item);
		ts_setup(&enc, &model, &ad, 5, n_items, per_item, &rng);
		m = model->cfg.m;
		for (int j = 0; j < m; j++)
			c[j] = xd_rng_uniform(&rng);
		XD_REQUIRE(xd_batch_init(&b, n, m) == XD_OK);
		for (int i = 0; i < n; i++)
		{
			items[i] = (int32_t) ((i * 7 + 3) % n_items);
			b.users[i] = 2;
			b.items[i] = items[i];
			memcpy(b.c + (size_t) i * m, c, sizeof(c));
			if (per_item)
				xd_encode_item(&enc, items[i], b.c + (size_t) i * m);
		}
		b.n = n;
		XD_REQUIRE(xd_model_score(model, &b, ref) == XD_OK);
		XD_REQUIRE(xd_score_candidates(model, 2, c, per_item ? &enc : NULL, items, NULL, n,
									   got) == XD_OK);
		for (int i = 0; i < n; i++)
			XD_CHECK_NEAR(got[i], ref[i], 1e-5);
		/* the item-scoped features matter: without them other scores */
		if (per_item)
		{
			float		plain[29];
			int			differ = 0;

			XD_REQUIRE(xd_score_candidates(model, 2, c, NULL, items, NULL, n, plain) == XD_OK);
			for (int i = 0; i < n; i++)
				differ += fabsf(plain[i] - got[i]) > 1e-4f;
			XD_CHECK(differ > n / 2);
		}
		XD_CHECK(xd_score_candidates(model, 2, c, NULL, items, NULL, 0, got) == XD_OK);
		XD_CHECK(xd_score_candidates(model, 2, c, NULL, items, NULL, -1, got) == XD_EINVAL);
		xd_batch_free(&b);
		xd_model_free(model);
		xd_adapt_free(ad);
		xd_feature_encoder_free(&enc);
	}
}

/* rank_many's item outputs in a test: computed on demand, calls counted */
typedef struct ts_outputs
{
	xd_model   *model;
	const xd_feature_encoder *enc;
	xd_item_outputs io[4];
	float	   *buf[4];
	const float *ctx[4];
	int			calls;
} ts_outputs;

static const xd_item_outputs *
ts_outputs_for(void *arg, const float *c)
{
	ts_outputs *t = arg;

	if (t->calls == 4)
		return NULL;
	t->ctx[t->calls] = c;
	if (xd_item_outputs_compute(t->model, c, t->enc, &t->io[t->calls]) != XD_OK)
		return NULL;
	return &t->io[t->calls++];
}

static int
ts_stop_now(void *arg)
{
	(void) arg;
	return 1;
}

/*
 * rank_many (xd_rank_many): users given in mixed order under three distinct
 * contexts get the item outputs once per context, in groups of two users per
 * matrix product (max_scores); each user's hits are its top k of the scores
 * its own context gives (checked against one user scored alone, within
 * rounding), best first, never an item it has seen when seen is given; a
 * stop callback cancels it.
 */
XD_TEST(serve_rank_many_groups_by_context)
{
	for (int per_item = 0; per_item < 2; per_item++)
	{
		enum
		{
			N = 7, K = 5, N_ITEMS = 30, N_USERS = 6
		};
		int32_t		users[N] = {3, 1, 3, 0, 5, 2, 4};
		int			which[N] = {2, 0, 1, 2, 0, 2, 1};	/* each user's context */
		int64_t		off[N_USERS + 1] = {0, 0, 3, 3, 4, 6, 6};
		int32_t		seen_items[6] = {0, 1, 2, 7, 8, 9};
		xd_seen		seen = {off, seen_items, false};
		xd_feature_encoder	enc;
		xd_model   *model;
		xd_adapt   *ad;
		xd_rng		rng;
		float		ctxs[3][5];
		float		cs[N * 5];
		xd_hit		hits[N * K];
		int			n_hits[N];
		ts_outputs	t;
		xd_rank_many_opts o;
		void	   *scratch;
		int			m;
		bool		ok = true;

		xd_rng_seed(&rng, 77 + per_item);
		ts_setup(&enc, &model, &ad, N_USERS, N_ITEMS, false, &rng);
		m = model->cfg.m;
		for (int g = 0; g < 3; g++)
			for (int j = 0; j < m; j++)
				ctxs[g][j] = xd_rng_uniform(&rng);
		for (int i = 0; i < N; i++)
			memcpy(cs + i * m, ctxs[which[i]], sizeof(float) * m);
		memset(&t, 0, sizeof(t));
		t.model = model;
		t.enc = &enc;
		for (int g = 0; g < 4; g++)
		{
			t.buf[g] = malloc(sizeof(float) * xd_item_outputs_floats(model, per_item));
			xd_item_outputs_bind(&t.io[g], model, per_item, t.buf[g]);
		}
		memset(&o, 0, sizeof(o));
		o.k = K;
		o.seen = &seen;
		o.max_scores = 2 * N_ITEMS;
		o.outputs = ts_outputs_for;
		o.outputs_arg = &t;
		scratch = malloc(xd_rank_many_scratch_bytes(model, N, &o));
		XD_REQUIRE(xd_rank_many(model, users, cs, N, &o, scratch, hits, n_hits) == XD_OK);
		XD_CHECK(t.calls == 3);

		for (int i = 0; i < N; i++)
		{
			const xd_item_outputs *io = NULL;
			float		ref[N_ITEMS];

			/* the outputs of user i's context, as the call made them */
			for (int g = 0; g < t.calls; g++)
				if (memcmp(t.ctx[g], ctxs[which[i]], sizeof(float) * m) == 0)
					io = &t.io[g];
			XD_REQUIRE(io != NULL);
			XD_REQUIRE(xd_item_outputs_score(model, io, &users[i], 1, ref) == XD_OK);
			XD_CHECK(n_hits[i] == K);
			for (int r = 0; r < n_hits[i]; r++)
			{
				int32_t		it = hits[i * K + r].item;

				ok = ok && fabsf(hits[i * K + r].score - ref[it]) <= 1e-5f;
				ok = ok && (r == 0 || hits[i * K + r].score <= hits[i * K + r - 1].score);
				for (int64_t j = off[users[i]]; j < off[users[i] + 1]; j++)
					ok = ok && it != seen_items[j];
				/* nothing unseen left out scores above the last hit */
				for (int x = 0; r == n_hits[i] - 1 && x < N_ITEMS; x++)
				{
					bool		hit = false,
								is_seen = false;

					for (int q = 0; q < n_hits[i]; q++)
						hit = hit || hits[i * K + q].item == x;
					for (int64_t j = off[users[i]]; j < off[users[i] + 1]; j++)
						is_seen = is_seen || x == seen_items[j];
					ok = ok && (hit || is_seen || ref[x] <= hits[i * K + r].score + 1e-5f);
				}
			}
		}
		XD_CHECK(ok);

		/* without seen, a seen item may come back: user 1 (id 1) saw 0, 1, 2 */
		o.seen = NULL;
		t.calls = 0;
		XD_REQUIRE(xd_rank_many(model, users, cs, N, &o, scratch, hits, n_hits) == XD_OK);
		{
			xd_hit		all[N_ITEMS];
			float		ref[N_ITEMS];
			int			g;

			for (g = 0; g < t.calls; g++)
				if (memcmp(t.ctx[g], ctxs[which[1]], sizeof(float) * m) == 0)
					break;
			XD_REQUIRE(g < t.calls);
			XD_REQUIRE(xd_item_outputs_score(model, &t.io[g], &users[1], 1, ref) == XD_OK);
			XD_CHECK(xd_top_k(ref, NULL, N_ITEMS, N_ITEMS, all) == N_ITEMS);
			XD_CHECK(hits[1 * K].item == all[0].item);
		}

		/* a stop callback cancels; bad arguments */
		o.hooks.stop = ts_stop_now;
		t.calls = 0;
		XD_CHECK(xd_rank_many(model, users, cs, N, &o, scratch, hits, n_hits) == XD_ECANCELLED);
		o.hooks.stop = NULL;
		o.k = 0;
		XD_CHECK(xd_rank_many(model, users, cs, N, &o, scratch, hits, n_hits) == XD_EINVAL);
		o.k = K;
		o.outputs = NULL;
		XD_CHECK(xd_rank_many(model, users, cs, N, &o, scratch, hits, n_hits) == XD_ENOMEM);

		free(scratch);
		for (int g = 0; g < 4; g++)
			free(t.buf[g]);
		xd_model_free(model);
		xd_adapt_free(ad);
		xd_feature_encoder_free(&enc);
	}
}

/*
 * A one-slot cache of item outputs shared by both fits of a blend: each
 * call overwrites what the previous returned (the PostgreSQL layer's cache
 * may evict one fit's outputs for the other's); calls logged per fit.
 */
typedef struct ts_slot
{
	xd_item_outputs io;
	float	   *buf;
	bool		per_item;
	char		log[64];
	int			calls;
} ts_slot;

typedef struct ts_fit_outputs
{
	xd_model   *model;
	const xd_feature_encoder *enc;
	ts_slot    *slot;
	char		name;
} ts_fit_outputs;

static const xd_item_outputs *
ts_slot_outputs(void *arg, const float *c)
{
	ts_fit_outputs *f = arg;
	ts_slot    *s = f->slot;

	if (s->calls + 1 >= (int) sizeof(s->log))
		return NULL;
	s->log[s->calls++] = f->name;
	xd_item_outputs_bind(&s->io, f->model, s->per_item, s->buf);
	if (xd_item_outputs_compute(f->model, c, f->enc, &s->io) != XD_OK)
		return NULL;
	return &s->io;
}

/*
 * rank_many of a blend version (xd_rank_many_opts.blend): users under three
 * contexts, two users per chunk, so a context of three users takes two
 * chunks; each user's hits are the top k of (1 - a) s_first + a s_second,
 * each fit scored alone (xd_item_outputs_score_unseen, what rank mixes),
 * within 1e-5, rank by rank, with seen items left out and with the repeat
 * term kept. The outputs come from one shared slot, so a chunk that reused
 * the first fit's outputs after the second's lookup would score the second
 * fit twice: the calls alternate first, second for every chunk. Not a pair
 * (a out of [0, 1], other items) is XD_EINVAL; no second callback XD_ENOMEM.
 */
XD_TEST(serve_rank_many_blend_matches_per_user_mix)
{
	enum
	{
		N = 7, K = 5, N_ITEMS = 30, N_USERS = 6
	};
	int32_t		users[N] = {3, 1, 3, 0, 5, 2, 4};
	int			which[N] = {2, 0, 1, 2, 0, 2, 1};	/* three users in context 2 */
	int64_t		off[N_USERS + 1] = {0, 0, 3, 3, 4, 6, 6};
	int32_t		seen_items[6] = {0, 1, 2, 7, 8, 9};
	const float a = 0.5f;

	for (int keep = 0; keep < 2; keep++)
	{
		xd_seen		seen = {off, seen_items, keep == 1};
		xd_feature_encoder enc,
					enc2;
		xd_model   *first,
				   *second,
				   *other;
		xd_adapt   *ad,
				   *ad2,
				   *ad3;
		xd_rng		rng;
		float		ctxs[3][5];
		float		cs[N * 5];
		xd_hit		hits[N * K];
		int			n_hits[N];
		ts_slot		slot;
		ts_fit_outputs f1,
					f2;
		xd_rank_many_opts o;
		void	   *scratch;
		int			m;
		bool		ok = true;

		xd_rng_seed(&rng, 91 + keep);
		ts_setup(&enc, &first, &ad, N_USERS, N_ITEMS, false, &rng);
		ts_setup(&enc2, &second, &ad2, N_USERS, N_ITEMS, false, &rng);
		xd_feature_encoder_free(&enc2);
		ts_setup(&enc2, &other, &ad3, N_USERS, N_ITEMS + 1, false, &rng);
		xd_feature_encoder_free(&enc2);
		m = first->cfg.m;
		for (int g = 0; g < 3; g++)
			for (int j = 0; j < m; j++)
				ctxs[g][j] = xd_rng_uniform(&rng);
		for (int i = 0; i < N; i++)
			memcpy(cs + i * m, ctxs[which[i]], sizeof(float) * m);
		memset(&slot, 0, sizeof(slot));
		slot.buf = malloc(sizeof(float) * xd_item_outputs_floats(first, false));
		f1 = (ts_fit_outputs) {first, &enc, &slot, '1'};
		f2 = (ts_fit_outputs) {second, &enc, &slot, '2'};
		memset(&o, 0, sizeof(o));
		o.k = K;
		o.seen = &seen;
		o.max_scores = 2 * 2 * N_ITEMS;	/* two users of two fits */
		o.outputs = ts_slot_outputs;
		o.outputs_arg = &f1;
		o.blend = second;
		o.blend_a = a;
		o.blend_outputs = ts_slot_outputs;
		o.blend_outputs_arg = &f2;
		scratch = malloc(xd_rank_many_scratch_bytes(first, N, &o));
		XD_REQUIRE(xd_rank_many(first, users, cs, N, &o, scratch, hits, n_hits) == XD_OK);
		/* contexts of 2, 2 and 3 users: four chunks, each first then second */
		XD_CHECK(strcmp(slot.log, "12121212") == 0);

		for (int i = 0; i < N; i++)
		{
			float	   *buf1 = malloc(sizeof(float) * xd_item_outputs_floats(first, false)),
					   *buf2 = malloc(sizeof(float) * xd_item_outputs_floats(second, false));
			xd_item_outputs io1,
						io2;
			float		ref[N_ITEMS],
						ref2[N_ITEMS];
			xd_hit		want[K];
			int			n_want;

			xd_item_outputs_bind(&io1, first, false, buf1);
			xd_item_outputs_bind(&io2, second, false, buf2);
			XD_REQUIRE(xd_item_outputs_compute(first, ctxs[which[i]], &enc, &io1) == XD_OK);
			XD_REQUIRE(xd_item_outputs_compute(second, ctxs[which[i]], &enc, &io2) == XD_OK);
			XD_REQUIRE(xd_item_outputs_score_unseen(first, &io1, &users[i], 1, &seen, ref) == XD_OK);
			XD_REQUIRE(xd_item_outputs_score_unseen(second, &io2, &users[i], 1, &seen, ref2) == XD_OK);
			for (int x = 0; x < N_ITEMS; x++)
				ref[x] = (1.0f - a) * ref[x] + a * ref2[x];
			n_want = xd_top_k(ref, NULL, N_ITEMS, K, want);
			ok = ok && n_hits[i] == n_want;
			for (int r = 0; r < n_hits[i] && r < n_want; r++)
			{
				ok = ok && fabsf(hits[i * K + r].score - want[r].score) <= 1e-5f;
				ok = ok && fabsf(hits[i * K + r].score - ref[hits[i * K + r].item]) <= 1e-5f;
			}
			free(buf1);
			free(buf2);
		}
		XD_CHECK(ok);

		/* the fits differ, so the mix is not either fit's ranking */
		{
			float		s1[N_ITEMS],
						s2[N_ITEMS];
			bool		differ = false;

			XD_REQUIRE(ts_slot_outputs(&f1, ctxs[0]) != NULL);
			XD_REQUIRE(xd_item_outputs_score(first, &slot.io, &users[0], 1, s1) == XD_OK);
			XD_REQUIRE(ts_slot_outputs(&f2, ctxs[0]) != NULL);
			XD_REQUIRE(xd_item_outputs_score(second, &slot.io, &users[0], 1, s2) == XD_OK);
			for (int x = 0; x < N_ITEMS; x++)
				differ = differ || fabsf(s1[x] - s2[x]) > 1e-3f;
			XD_CHECK(differ);
		}

		/* not a pair, or no second callback */
		slot.calls = 0;
		o.blend_a = 1.5f;
		XD_CHECK(xd_rank_many(first, users, cs, N, &o, scratch, hits, n_hits) == XD_EINVAL);
		o.blend_a = a;
		o.blend = other;
		XD_CHECK(xd_rank_many(first, users, cs, N, &o, scratch, hits, n_hits) == XD_EINVAL);
		o.blend = second;
		o.blend_outputs = NULL;
		XD_CHECK(xd_rank_many(first, users, cs, N, &o, scratch, hits, n_hits) == XD_ENOMEM);
		XD_CHECK(slot.calls == 0);

		free(scratch);
		free(slot.buf);
		xd_model_free(first);
		xd_model_free(second);
		xd_model_free(other);
		xd_adapt_free(ad);
		xd_adapt_free(ad2);
		xd_adapt_free(ad3);
		xd_feature_encoder_free(&enc);
	}
}

/*
 * New items (xd_score_embedded_items): given the embeddings of trained
 * items and their own contexts, the scores are xd_model_score's on those
 * rows (less the item bias s_v, which a new item has none of: explicit),
 * over more rows than the workspace holds, with DRR residuals attached.
 */
XD_TEST(serve_embedded_items_match_model_score)
{
	for (int explicit_fb = 0; explicit_fb < 2; explicit_fb++)
	{
		int			n_items = 40,
					n = 29;
		xd_feature_encoder	enc;
		xd_model   *model;
		xd_adapt   *ad;
		xd_rng		rng;
		xd_batch	b;
		float		ref[29],
					got[29];
		float	   *E;
		int			m,
					d;

		xd_rng_seed(&rng, 61 + explicit_fb);
		ts_setup(&enc, &model, &ad, 5, n_items, explicit_fb, &rng);
		m = model->cfg.m;
		d = model->cfg.d;
		E = malloc(sizeof(float) * (size_t) n * d);
		XD_REQUIRE(E && xd_batch_init(&b, n, m) == XD_OK);
		for (int i = 0; i < n; i++)
		{
			int32_t		item = (int32_t) ((i * 7 + 3) % n_items);

			b.users[i] = 2;
			b.items[i] = item;
			for (int j = 0; j < m; j++)
				b.c[(size_t) i * m + j] = xd_rng_uniform(&rng);
			xd_encode_item(&enc, item, b.c + (size_t) i * m);
			memcpy(E + (size_t) i * d, model->domain->E_v->w + (size_t) item * d,
				   sizeof(float) * d);
		}
		b.n = n;
		XD_REQUIRE(xd_model_score(model, &b, ref) == XD_OK);
		XD_REQUIRE(xd_score_embedded_items(model, 2, b.c, E, n, got) == XD_OK);
		for (int i = 0; i < n; i++)
			XD_CHECK_NEAR(got[i], ref[i] - (explicit_fb ? model->domain->s_v->w[b.items[i]] : 0.0f),
						  1e-5);
		XD_CHECK(xd_score_embedded_items(model, 5, b.c, E, n, got) == XD_EINVAL);
		XD_CHECK(xd_score_embedded_items(model, 2, b.c, E, 0, got) == XD_OK);
		free(E);
		xd_batch_free(&b);
		xd_model_free(model);
		xd_adapt_free(ad);
		xd_feature_encoder_free(&enc);
	}
}

/*
 * The ridge map from item-scoped features recovers embeddings that are an
 * exact affine function of them (a planted A, tiny lambda), and predicts
 * from an encoded context alone what it fit from the profile; it refuses
 * lambda <= 0.
 */
XD_TEST(serve_item_map_recovers_planted_map)
{
	int			n_items = 60;
	xd_feature_encoder	enc;
	xd_model   *model;
	xd_adapt   *ad;
	xd_rng		rng;
	xd_item_map map;
	int			m,
				d,
				q = 4;			/* cuisine (3) and price */
	float	   *A;
	float		c[5],
				e[8];
	double		worst = 0.0;

	xd_rng_seed(&rng, 67);
	ts_setup(&enc, &model, &ad, 5, n_items, false, &rng);
	m = model->cfg.m;
	d = model->cfg.d;
	A = malloc(sizeof(float) * (size_t) (q + 1) * d);
	XD_REQUIRE(A != NULL && m == 5 && d == 8);
	for (int i = 0; i < (q + 1) * d; i++)
		A[i] = 2.0f * xd_rng_uniform(&rng) - 1.0f;
	/* E_v[i] = A^T [x_i ; 1], x_i = c[1..4] of item i's profile */
	for (int i = 0; i < n_items; i++)
	{
		float	   *row = model->domain->E_v->w + (size_t) i * d;

		memset(c, 0, sizeof(c));
		xd_encode_item(&enc, i, c);
		for (int k = 0; k < d; k++)
		{
			row[k] = A[(size_t) q * d + k];
			for (int j = 0; j < q; j++)
				row[k] += c[1 + j] * A[(size_t) j * d + k];
		}
	}
	XD_REQUIRE(xd_item_map_fit(model, &enc, 1e-6, &map) == XD_OK);
	XD_CHECK(map.q == q && map.d == d);
	for (int i = 0; i < n_items; i++)
	{
		/* the interaction-scoped slot is ignored */
		c[0] = xd_rng_uniform(&rng);
		xd_encode_item(&enc, i, c);
		xd_item_map_embed(&map, c, e);
		for (int k = 0; k < d; k++)
		{
			double		err = fabs(e[k] - model->domain->E_v->w[(size_t) i * d + k]);

			worst = err > worst ? err : worst;
		}
	}
	XD_CHECK(worst < 1e-3);
	/* an item's profile given as raw values encodes as its stored profile */
	for (int i = 0; i < n_items; i++)
	{
		const xd_schema *s = &enc.schema;
		float		num[4],
					want[5],
					got[5];
		int32_t		codes[4];

		XD_REQUIRE(s->n_num <= 4 && s->n_codes <= 4);
		for (int f = 0; f < s->n_features; f++)
		{
			const xd_feature *ft = &s->features[f];

			if (ft->scope != XD_SCOPE_ITEM)
				continue;
			if (ft->type == XD_TYPE_CATEGORICAL)
				codes[ft->raw] = enc.item_codes[(size_t) i * s->n_item_codes + ft->profile];
			else
				num[ft->raw] = enc.item_num[(size_t) i * s->n_item_num + ft->profile];
		}
		memset(want, 0, sizeof(want));
		memset(got, 0, sizeof(got));
		xd_encode_item(&enc, i, want);
		xd_encode_item_raw(&enc, num, codes, got);
		XD_CHECK(memcmp(want, got, sizeof(want)) == 0);
	}
	xd_item_map_free(&map);
	XD_CHECK(xd_item_map_fit(model, &enc, 0.0, &map) == XD_EINVAL);
	XD_CHECK(map.A == NULL);
	free(A);
	xd_model_free(model);
	xd_adapt_free(ad);
	xd_feature_encoder_free(&enc);
}

/*
 * Repeats allowed (xd_seen.keep): each user's seen items keep their place
 * with the repeat term r(c) added, the same numbers as xd_model_score on the
 * rows with hist 1 at the seen items (within 1e-5), with and without
 * item-scoped features; predict's candidates take the same hist; the term
 * moves the seen items' scores, and exclude_seen still leaves them out.
 */
XD_TEST(serve_repeat_term_matches_reference)
{
	for (int per_item = 0; per_item < 2; per_item++)
	{
		int			n_users = 6,
					n_items = 53;
		int32_t		users[2] = {4, 0};
		int64_t		off[7] = {0, 2, 2, 2, 2, 6, 6};
		int32_t		seen_items[6] = {2, 52, 1, 5, 7, 30};
		xd_seen		keep = {off, seen_items, true},
					drop = {off, seen_items, false};
		xd_feature_encoder enc;
		xd_model   *model;
		xd_adapt   *ad;
		xd_rng		rng;
		xd_batch	b;
		xd_item_outputs io;
		float	   *buf,
				   *ref = malloc(sizeof(float) * 2 * n_items),
				   *plain = malloc(sizeof(float) * 2 * n_items),
				   *got = malloc(sizeof(float) * 2 * n_items);
		float		c[5];
		int			m,
					moved = 0;

		xd_rng_seed(&rng, 21 + per_item);
		ts_setup(&enc, &model, &ad, n_users, n_items, false, &rng);
		m = model->cfg.m;
		XD_REQUIRE(xd_model_has_repeat(model));
		for (int j = 0; j < m; j++)
			c[j] = xd_rng_uniform(&rng);
		XD_REQUIRE(xd_batch_init(&b, 2 * n_items, m) == XD_OK);
		b.n = 2 * n_items;
		for (int u = 0; u < 2; u++)
			for (int i = 0; i < n_items; i++)
			{
				int			r = u * n_items + i;

				b.users[r] = users[u];
				b.items[r] = i;
				memcpy(b.c + (size_t) r * m, c, sizeof(c));
				if (per_item)
					xd_encode_item(&enc, i, b.c + (size_t) r * m);
			}
		XD_REQUIRE(xd_model_score(model, &b, plain) == XD_OK);
		for (int u = 0; u < 2; u++)
			for (int64_t j = off[users[u]]; j < off[users[u] + 1]; j++)
				b.hist[u * n_items + seen_items[j]] = 1.0f;
		XD_REQUIRE(xd_model_score(model, &b, ref) == XD_OK);
		for (int r = 0; r < 2 * n_items; r++)
			moved += fabsf(ref[r] - plain[r]) > 1e-3f;
		/* the six seen items moved, nothing else */
		XD_CHECK(moved == 6);

		buf = malloc(sizeof(float) * xd_item_outputs_floats(model, per_item));
		xd_item_outputs_bind(&io, model, per_item, buf);
		XD_REQUIRE(xd_item_outputs_compute(model, c, &enc, &io) == XD_OK);
		XD_REQUIRE(xd_item_outputs_score_unseen(model, &io, users, 2, &keep, got) == XD_OK);
		for (int r = 0; r < 2 * n_items; r++)
			XD_CHECK_NEAR(got[r], ref[r], 1e-5);
		XD_REQUIRE(xd_item_outputs_score_unseen(model, &io, users, 2, &drop, got) == XD_OK);
		for (int r = 0; r < 2 * n_items; r++)
			XD_CHECK(b.hist[r] == 1.0f ? isnan(got[r]) : fabsf(got[r] - plain[r]) <= 1e-5f);

		/* predict: user 4's items with their history */
		{
			int32_t		items[53];

			for (int i = 0; i < n_items; i++)
				items[i] = i;
			XD_REQUIRE(xd_score_candidates(model, 4, c, per_item ? &enc : NULL, items,
										   b.hist, n_items, got) == XD_OK);
			for (int i = 0; i < n_items; i++)
				XD_CHECK_NEAR(got[i], ref[i], 1e-5);
		}
		free(buf);
		free(ref);
		free(plain);
		free(got);
		xd_batch_free(&b);
		xd_model_free(model);
		xd_adapt_free(ad);
		xd_feature_encoder_free(&enc);
	}
}
