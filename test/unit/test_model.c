/*
 * test_model.c - unit tests of the model outside its gradients: initialisation,
 * scoring against the loss path, Adam (lazy rows, frozen groups), determinism,
 * and argument checks.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "mmt/model_int.h"
#include "xdrec/core.h"

static void
tm_config(xd_config *cfg, xd_feedback fb, int P)
{
	xd_config_defaults(cfg);
	cfg->m_I = 3;
	cfg->m_H = 2;
	cfg->m_A = 2;
	cfg->m = 7;
	cfg->d = 6;
	cfg->feedback = fb;
	cfg->batch_size = P;
}

/* A training batch of P positives (batch.h layout) over the given id ranges. */
static void
tm_fill(xd_batch *b, const xd_config *cfg, int P, int n_users, int n_items,
		xd_rng *rng)
{
	int			n = cfg->feedback == XD_IMPLICIT ? 3 * P : P;

	b->n = n;
	b->n_pos = P;
	for (int r = 0; r < n; r++)
	{
		b->users[r] = (int32_t) xd_rng_below(rng, (uint32_t) n_users);
		b->items[r] = (int32_t) xd_rng_below(rng, (uint32_t) n_items);
		for (int j = 0; j < cfg->m; j++)
			b->c[(size_t) r * cfg->m + j] = xd_rng_uniform(rng);
		b->ratings[r] = 1.0f + (float) xd_rng_below(rng, 5);
	}
}

static bool
tm_param_equal(const xd_param *a, const xd_param *b)
{
	size_t		n = (size_t) a->rows * a->cols;

	return a->rows == b->rows && a->cols == b->cols && a->step == b->step &&
		memcmp(a->w, b->w, n * sizeof(float)) == 0 &&
		memcmp(a->adam_m, b->adam_m, n * sizeof(float)) == 0 &&
		memcmp(a->adam_v, b->adam_v, n * sizeof(float)) == 0 &&
		(!a->sparse || memcmp(a->row_step, b->row_step, a->rows * sizeof(int64_t)) == 0);
}

/* A snapshot of a parameter's values, moments and steps. */
typedef struct tm_snap
{
	xd_param	p;
} tm_snap;

static void
tm_snap_take(tm_snap *s, const xd_param *p)
{
	size_t		n = (size_t) p->rows * p->cols;

	s->p = *p;
	s->p.w = malloc(n * sizeof(float));
	s->p.adam_m = malloc(n * sizeof(float));
	s->p.adam_v = malloc(n * sizeof(float));
	memcpy(s->p.w, p->w, n * sizeof(float));
	memcpy(s->p.adam_m, p->adam_m, n * sizeof(float));
	memcpy(s->p.adam_v, p->adam_v, n * sizeof(float));
	s->p.row_step = NULL;
	if (p->sparse)
	{
		s->p.row_step = malloc(p->rows * sizeof(int64_t));
		memcpy(s->p.row_step, p->row_step, p->rows * sizeof(int64_t));
	}
}

static void
tm_snap_free(tm_snap *s)
{
	free(s->p.w);
	free(s->p.adam_m);
	free(s->p.adam_v);
	free(s->p.row_step);
}

XD_TEST(model_config_defaults_and_check)
{
	xd_config	cfg;

	xd_config_defaults(&cfg);
	XD_CHECK(cfg.d == 64 && cfg.n_ctx_layers == 2 && cfg.n_tower_layers == 2);
	XD_CHECK(cfg.batch_size == 256 && cfg.beta == 0.0f);
	XD_CHECK_NEAR(cfg.dropout, 0.1, 1e-7);
	XD_CHECK_NEAR(cfg.lr, 1e-3, 1e-9);
	XD_CHECK(xd_config_check(&cfg) == XD_EINVAL);	/* m not set */
	cfg.m_I = 2;
	cfg.m_A = 3;
	cfg.m = 5;
	XD_CHECK(xd_config_check(&cfg) == XD_OK);
	cfg.m = 6;
	XD_CHECK(xd_config_check(&cfg) == XD_EINVAL);
	cfg.m = 5;
	cfg.dropout = 1.0f;
	XD_CHECK(xd_config_check(&cfg) == XD_EINVAL);
}

XD_TEST(model_param_names)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	static const char *names[] = {
		"ctx.mm.W", "ctx.mm.b", "ctx.mm.s", "ctx.W1", "ctx.b1", "ctx.W2", "ctx.b2",
		"clu.W_CU", "clu.W_CV", "clu.U.W1", "clu.U.b1", "clu.U.W2", "clu.U.b2",
		"clu.V.W1", "clu.V.b1", "clu.V.W2", "clu.V.b2", "rank.w_C", "rank.b_C",
		"emb.user", "emb.item", "bias.user", "bias.item", "bias.global"
	};
	xd_param  **ps;
	int			np;

	tm_config(&cfg, XD_EXPLICIT, 4);
	xd_rng_seed(&rng, 1);
	XD_REQUIRE(xd_model_create(&cfg, 5, 6, 3.0f, &rng, &model) == XD_OK);
	xd_model_params(model, &ps, &np);
	XD_CHECK(np == 24);
	for (int i = 0; i < np && i < 24; i++)
	{
		XD_CHECK(strcmp(ps[i]->name, names[i]) == 0);
		XD_CHECK(xd_model_find_param(model, names[i]) == ps[i]);
		XD_CHECK(ps[i]->group == (i < 19 ? XD_GROUP_SHARED : XD_GROUP_DOMAIN));
	}
	XD_CHECK(xd_model_find_param(model, "nope") == NULL);
	XD_CHECK(xd_model_max_rows(model) == 4);
	xd_model_free(model);

	/* implicit: no biases; the workspace holds 3 rows per positive */
	tm_config(&cfg, XD_IMPLICIT, 4);
	XD_REQUIRE(xd_model_create(&cfg, 5, 6, 0.0f, &rng, &model) == XD_OK);
	XD_CHECK(model->n_params == 21);
	XD_CHECK(xd_model_find_param(model, "bias.user") == NULL);
	XD_CHECK(xd_model_max_rows(model) == 12);
	xd_model_free(model);
}

/*
 * The workspace a model allocates, counted by hand for tm_config's m = 7,
 * d = 6 and the default L_C = L_U = 2, one positive per batch (3 rows
 * implicit): per row 5m + 7d + 6 floats of scratch (with the repeat term's
 * r(c)), x and a (5m), the towers' h (6d) and one hidden layer's dropout
 * masks (2d), 166 in all; DRR adds
 * 3m + 6d + max(m, d) = 64. Beside the rows, the workspace struct with its
 * 64 kB of transposed weights (xd_sgemm_rows_nt's scratch).
 */
XD_TEST(model_workspace_bytes_counts_every_array)
{
	xd_config	cfg;
	size_t		fixed = sizeof(xd_workspace);

	XD_CHECK(fixed >= XD_SGEMM_WT_FLOATS * sizeof(float));
	tm_config(&cfg, XD_IMPLICIT, 1);
	XD_CHECK(xd_model_workspace_bytes(&cfg, false) == 3 * 166 * sizeof(float) + fixed);
	XD_CHECK(xd_model_workspace_bytes(&cfg, true) == 3 * (166 + 64) * sizeof(float) + fixed);
	tm_config(&cfg, XD_EXPLICIT, 256);
	XD_CHECK(xd_model_workspace_bytes(&cfg, false) == 256 * 166 * sizeof(float) + fixed);
}

/*
 * DRR's residual forward (eq. 19) through xd_sgemm_rows_nt gives every
 * float of the one-call product it replaced, R x as one cblas_sgemm with R
 * transposed, then x + tanh(. + r): below and above the row block, on the
 * widths the helper blocks (16, 32, 64) and one it leaves alone (40), up to
 * validation's 4,040 rows (40 positives of 101 candidates).
 */
XD_TEST(residual_forward_matches_one_call_product)
{
	static const int ns[] = {7, 192, 193, 500, 768, 1601, 4040};
	static const int ws[] = {16, 32, 40, 64};
	xd_rng		rng;
	int			bad = 0;

	xd_rng_seed(&rng, 29);
	for (size_t wi = 0; wi < sizeof(ws) / sizeof(ws[0]); wi++)
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
		{
			int			n = ns[ni],
						w = ws[wi];
			size_t		nw = (size_t) n * w;
			float	   *Rw = malloc(sizeof(float) * w * w),
					   *rw = malloc(sizeof(float) * w),
					   *x = malloc(sizeof(float) * nw),
					   *x_ref = malloc(sizeof(float) * nw),
					   *pre = malloc(sizeof(float) * nw),
					   *T = malloc(sizeof(float) * nw),
					   *T_ref = malloc(sizeof(float) * nw),
					   *wt = malloc(sizeof(float) * XD_SGEMM_WT_FLOATS);
			xd_param	R = {.rows = w, .cols = w, .w = Rw},
						r = {.rows = 1, .cols = w, .w = rw};

			XD_REQUIRE(Rw && rw && x && x_ref && pre && T && T_ref && wt);
			for (int i = 0; i < w * w; i++)
				Rw[i] = xd_rng_uniform(&rng) - 0.5f;
			for (int i = 0; i < w; i++)
				rw[i] = 0.2f * (xd_rng_uniform(&rng) - 0.5f);
			for (size_t i = 0; i < nw; i++)
				x[i] = x_ref[i] = 2.0f * xd_rng_uniform(&rng) - 1.0f;
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, w, w, 1.0f,
						x_ref, w, Rw, w, 0.0f, T_ref, w);
			xd_tanh_residual_rows(T_ref, rw, x_ref, NULL, x_ref, n, w);
			xd_residual_forward(&R, &r, x, pre, T, n, w, wt);
			if (memcmp(T, T_ref, sizeof(float) * nw) != 0 ||
				memcmp(x, x_ref, sizeof(float) * nw) != 0)
			{
				printf("  n = %d, w = %d: not the one call's floats\n", n, w);
				bad++;
			}
			free(Rw);
			free(rw);
			free(x);
			free(x_ref);
			free(pre);
			free(T);
			free(T_ref);
			free(wt);
		}
	XD_CHECK(bad == 0);
}

XD_TEST(model_init_statistics)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_param  **ps;
	int			np;

	xd_config_defaults(&cfg);
	cfg.m_I = 10;
	cfg.m_H = 12;
	cfg.m_A = 10;
	cfg.m = 32;
	cfg.feedback = XD_EXPLICIT;
	xd_rng_seed(&rng, 3);
	XD_REQUIRE(xd_model_create(&cfg, 2000, 1000, 3.7f, &rng, &model) == XD_OK);
	xd_model_params(model, &ps, &np);
	for (int i = 0; i < np; i++)
	{
		xd_param   *p = ps[i];
		size_t		n = (size_t) p->rows * p->cols;
		double		sum = 0.0,
					sq = 0.0,
					mx = 0.0;
		size_t		nz = 0;

		for (size_t k = 0; k < n; k++)
		{
			sum += p->w[k];
			sq += (double) p->w[k] * p->w[k];
			mx = fmax(mx, fabs(p->w[k]));
			nz += p->w[k] != 0.0f;
		}
		if (strncmp(p->name, "emb.", 4) == 0)
		{
			/* N(0, 0.1^2) */
			XD_CHECK_NEAR(sum / n, 0.0, 0.003);
			XD_CHECK_NEAR(sqrt(sq / n), 0.1, 0.003);
		}
		else if (strcmp(p->name, "ctx.mm.s") == 0)
			XD_CHECK(sum == 0.01f * 32 && mx == 0.01f);	/* s_K = 0.01 */
		else if (strcmp(p->name, "bias.global") == 0)
			XD_CHECK(p->w[0] == 3.7f);
		else if (p->rows == 1 && strcmp(p->name, "rank.w_C") != 0)
			XD_CHECK(nz == 0);	/* biases 0 */
		else if (strcmp(p->name, "bias.user") == 0 || strcmp(p->name, "bias.item") == 0)
			XD_CHECK(nz == 0);
		else
		{
			/* Xavier-uniform: |w| <= a, var = a^2 / 3 */
			int			fan = strcmp(p->name, "ctx.mm.W") == 0 ? 32 :
				p->rows + p->cols;
			double		a = sqrt(6.0 / fan);
			size_t		nn = strcmp(p->name, "ctx.mm.W") == 0 ? nz : n;

			XD_CHECK(mx <= a);
			if (nn > 500)
			{
				XD_CHECK_NEAR(sq / nn, a * a / 3.0, 0.12 * a * a / 3.0);
				XD_CHECK_NEAR(sum / nn, 0.0, 0.1 * a);
			}
		}
		/* moments and gradients start at zero */
		for (size_t k = 0; k < n; k++)
			if (p->g[k] != 0.0f || p->adam_m[k] != 0.0f || p->adam_v[k] != 0.0f)
			{
				XD_CHECK(!"nonzero gradient or moment after init");
				break;
			}
	}
	/* eq. 4-5: the diagonal blocks of the residual matrix are zero, the rest not */
	{
		xd_param   *W = xd_model_find_param(model, "ctx.mm.W");
		size_t		nz = 0;

		for (int i = 0; i < 32; i++)
			for (int j = 0; j < 32; j++)
			{
				int			ki = i < 10 ? 0 : i < 22 ? 1 : 2;
				int			kj = j < 10 ? 0 : j < 22 ? 1 : 2;

				if (ki == kj)
					XD_CHECK(W->w[i * 32 + j] == 0.0f);
				else
					nz += W->w[i * 32 + j] != 0.0f;
			}
		XD_CHECK(nz == 32 * 32 - 10 * 10 - 12 * 12 - 10 * 10);
	}
	xd_model_free(model);
}

/* xd_model_score in inference mode equals the scores of the loss path. */
XD_TEST(model_score_matches_loss_path)
{
	for (int fb = 0; fb < 2; fb++)
	{
		xd_config	cfg;
		xd_model   *model;
		xd_rng		rng;
		xd_batch	b;
		int			P = 8;
		float	   *scores = malloc(sizeof(float) * 3 * P);
		double		loss,
					want = 0.0;

		tm_config(&cfg, fb ? XD_EXPLICIT : XD_IMPLICIT, P);
		cfg.beta = 0.5f;
		xd_rng_seed(&rng, 11);
		XD_REQUIRE(xd_model_create(&cfg, 9, 13, 3.2f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_batch_init(&b, 3 * P, cfg.m) == XD_OK);
		tm_fill(&b, &cfg, P, 9, 13, &rng);
		XD_CHECK(xd_model_score(model, &b, scores) == XD_OK);
		XD_CHECK(xd_model_loss(model, &b, NULL, false, &loss) == XD_OK);

		/*
		 * Recompute the loss from the scores; s_c(c) of the positives comes
		 * from the difference of two losses at beta and beta = 0.
		 */
		for (int i = 0; i < P; i++)
		{
			if (fb)
				want += (b.ratings[i] - scores[i]) * (double) (b.ratings[i] - scores[i]);
			else
				want += (1.0 - scores[i]) * (1.0 - scores[i]) +
					(double) scores[P + i] * scores[P + i] +
					(double) scores[2 * P + i] * scores[2 * P + i];
		}
		want /= P;
		{
			double		loss0;

			model->cfg.beta = 0.0f;
			XD_CHECK(xd_model_loss(model, &b, NULL, false, &loss0) == XD_OK);
			XD_CHECK_NEAR(loss0, want, 1e-5 * fmax(1.0, want));
			XD_CHECK(loss != loss0);
		}
		/* train mode without dropout computes the same scores */
		model->cfg.dropout = 0.0f;
		{
			double		loss1;

			XD_CHECK(xd_model_loss(model, &b, NULL, true, &loss1) == XD_OK);
			XD_CHECK_NEAR(loss1, want, 1e-5 * fmax(1.0, want));
		}
		xd_batch_free(&b);
		xd_model_free(model);
		free(scores);
	}
}

/*
 * Per-row weights (batch.h) scale each row's term of the loss: the loss is
 * the weighted terms recomputed from the scores, and doubling every weight
 * doubles the loss and every gradient exactly (a power of two commutes with
 * rounding, whatever the BLAS kernel). gradcheck_row_weights checks the
 * gradients of unequal weights by finite differences.
 */
XD_TEST(loss_row_weights_scale_rows)
{
	for (int fb = 0; fb < 2; fb++)
	{
		xd_config	cfg;
		xd_model   *model;
		xd_rng		rng;
		xd_batch	b;
		int			P = 8;
		float	   *scores = malloc(sizeof(float) * 3 * P);
		double		loss1,
					loss2,
					want = 0.0;
		xd_param  **ps;
		int			np;
		float	  **g1;
		int			same = 0,
					total = 0;

		tm_config(&cfg, fb ? XD_EXPLICIT : XD_IMPLICIT, P);
		cfg.dropout = 0.0f;
		xd_rng_seed(&rng, 23);
		XD_REQUIRE(xd_model_create(&cfg, 9, 13, 3.2f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_batch_init(&b, 3 * P, cfg.m) == XD_OK);
		tm_fill(&b, &cfg, P, 9, 13, &rng);
		for (int r = 0; r < b.n; r++)
			XD_CHECK(b.weights[r] == 1.0f);	/* xd_batch_init's default */
		for (int r = 0; r < b.n; r++)
			b.weights[r] = (float) (r % 4) * 0.5f;	/* 0, 0.5, 1, 1.5 */
		XD_CHECK(xd_model_score(model, &b, scores) == XD_OK);
		XD_CHECK(xd_model_loss(model, &b, NULL, false, &loss1) == XD_OK);
		for (int i = 0; i < P; i++)
		{
			if (fb)
				want += b.weights[i] * (b.ratings[i] - scores[i]) *
					(double) (b.ratings[i] - scores[i]);
			else
				want += b.weights[i] * (1.0 - scores[i]) * (1.0 - scores[i]) +
					b.weights[P + i] * (double) scores[P + i] * scores[P + i] +
					b.weights[2 * P + i] * (double) scores[2 * P + i] * scores[2 * P + i];
		}
		want /= P;
		XD_CHECK_NEAR(loss1, want, 1e-5 * fmax(1.0, want));

		/* all weights doubled: loss and gradients doubled, bit for bit */
		xd_model_params(model, &ps, &np);
		g1 = calloc(np, sizeof(float *));
		xd_model_zero_grad(model);
		XD_CHECK(xd_model_loss_backward(model, &b, NULL, false, &loss1) == XD_OK);
		for (int k = 0; k < np; k++)
		{
			size_t		n = (size_t) ps[k]->rows * ps[k]->cols;

			g1[k] = malloc(sizeof(float) * n);
			memcpy(g1[k], ps[k]->g, sizeof(float) * n);
		}
		for (int r = 0; r < b.n; r++)
			b.weights[r] *= 2.0f;
		xd_model_zero_grad(model);
		XD_CHECK(xd_model_loss_backward(model, &b, NULL, false, &loss2) == XD_OK);
		XD_CHECK(loss2 == 2.0 * loss1);
		for (int k = 0; k < np; k++)
			for (size_t i = 0; i < (size_t) ps[k]->rows * ps[k]->cols; i++)
			{
				total += g1[k][i] != 0.0f;
				same += g1[k][i] != 0.0f && ps[k]->g[i] == 2.0f * g1[k][i];
			}
		XD_CHECK(total > 100 && same == total);
		for (int k = 0; k < np; k++)
			free(g1[k]);
		free(g1);
		xd_model_zero_grad(model);
		xd_batch_free(&b);
		xd_model_free(model);
		free(scores);
	}
}

/* Scoring more rows than the workspace holds goes in chunks, same numbers. */
XD_TEST(model_score_chunks)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_batch	big,
				one;
	int			n = 50;
	float	   *s_big = malloc(sizeof(float) * n);

	tm_config(&cfg, XD_IMPLICIT, 4);	/* workspace of 12 rows */
	xd_rng_seed(&rng, 5);
	XD_REQUIRE(xd_model_create(&cfg, 10, 10, 0.0f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_batch_init(&big, n, cfg.m) == XD_OK);
	XD_REQUIRE(xd_batch_init(&one, 1, cfg.m) == XD_OK);
	big.n_pos = 0;
	cfg.feedback = XD_EXPLICIT;	/* fill n rows */
	tm_fill(&big, &cfg, n, 10, 10, &rng);
	big.n_pos = 0;
	XD_CHECK(xd_model_score(model, &big, s_big) == XD_OK);
	for (int r = 0; r < n; r++)
	{
		float		s1;

		one.n = 1;
		one.users[0] = big.users[r];
		one.items[0] = big.items[r];
		memcpy(one.c, big.c + (size_t) r * cfg.m, sizeof(float) * cfg.m);
		XD_CHECK(xd_model_score(model, &one, &s1) == XD_OK);
		XD_CHECK_NEAR(s1, s_big[r], 1e-5);
	}
	xd_batch_free(&big);
	xd_batch_free(&one);
	xd_model_free(model);
	free(s_big);
}

XD_TEST(model_bad_arguments)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_batch	b;
	double		loss;
	float		s[12];

	tm_config(&cfg, XD_IMPLICIT, 4);
	xd_rng_seed(&rng, 5);
	XD_REQUIRE(xd_model_create(&cfg, 3, 3, 0.0f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, 12, cfg.m) == XD_OK);
	tm_fill(&b, &cfg, 4, 3, 3, &rng);
	XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK);
	xd_model_zero_grad(model);
	b.users[5] = 3;				/* out of range */
	XD_CHECK(xd_model_score(model, &b, s) == XD_EINVAL);
	XD_CHECK(xd_model_loss_backward(model, &b, &rng, false, &loss) == XD_EINVAL);
	b.users[5] = 0;
	b.items[7] = -1;
	XD_CHECK(xd_model_score(model, &b, s) == XD_EINVAL);
	b.items[7] = 0;
	b.n = 11;					/* not 3 n_pos */
	XD_CHECK(xd_model_loss(model, &b, NULL, false, &loss) == XD_EINVAL);
	b.n = 12;
	/* dropout needs an rng */
	XD_CHECK(xd_model_loss(model, &b, NULL, true, &loss) == XD_EINVAL);
	b.m = 6;
	XD_CHECK(xd_model_score(model, &b, s) == XD_EINVAL);
	b.m = cfg.m;
	{
		float		lr[XD_N_GROUPS] = {-1.0f, 0.0f, 0.0f};

		XD_CHECK(xd_adam_step(model, lr) == XD_EINVAL);
	}
	xd_batch_free(&b);
	xd_model_free(model);

	/* mismatched shapes between config, shared and domain */
	{
		xd_shared  *sh;
		xd_domain  *dom;
		xd_config	other = cfg;

		other.d = 7;
		XD_REQUIRE(xd_shared_new(&cfg, &sh) == XD_OK);
		XD_REQUIRE(xd_domain_new(&other, 3, 3, &dom) == XD_OK);
		XD_CHECK(xd_model_new(&cfg, sh, dom, true, true, &model) == XD_EINVAL);
		XD_CHECK(model == NULL);
		XD_CHECK(xd_domain_new(&cfg, 0, 3, &dom) == XD_EINVAL);
	}
	xd_model_free(NULL);
	xd_shared_free(NULL);
	xd_domain_free(NULL);
}

/*
 * The widest config xd_config_check accepts (16 context and 16 tower layers,
 * every kind present, explicit feedback) makes a model, DRR's residuals
 * attach to it, and its loss and gradients compute: create_model's ranges
 * are what training accepts.
 */
XD_TEST(model_widest_config_has_room_for_every_parameter)
{
	xd_config	cfg;
	xd_model   *model;
	xd_adapt   *adapt;
	xd_rng		rng;
	xd_batch	b;
	double		loss;

	tm_config(&cfg, XD_EXPLICIT, 4);
	cfg.n_ctx_layers = 16;
	cfg.n_tower_layers = 16;
	XD_REQUIRE(xd_config_check(&cfg) == XD_OK);
	cfg.n_tower_layers = 17;
	XD_CHECK(xd_config_check(&cfg) == XD_EINVAL);
	cfg.n_tower_layers = 16;
	xd_rng_seed(&rng, 3);
	XD_REQUIRE(xd_model_create(&cfg, 5, 6, 3.0f, &rng, &model) == XD_OK);
	XD_CHECK(model->n_params == 3 + 2 * 16 + 2 + 4 * 16 + 2 + 5);
	XD_REQUIRE(xd_adapt_new(&cfg, &adapt) == XD_OK);
	XD_CHECK(xd_model_set_adapt(model, adapt) == XD_OK);
	XD_CHECK(model->n_params == 3 + 2 * 16 + 2 + 4 * 16 + 2 + 5 + 6);
	XD_REQUIRE(xd_batch_init(&b, 4, cfg.m) == XD_OK);
	tm_fill(&b, &cfg, 4, 5, 6, &rng);
	XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK && isfinite(loss));
	xd_batch_free(&b);
	xd_model_free(model);
	xd_adapt_free(adapt);
}

/* A shared module paired with another domain (transfer, DESIGN.md section 4). */
XD_TEST(model_shared_with_two_domains)
{
	xd_config	cfg;
	xd_shared  *sh;
	xd_domain  *d1,
			   *d2;
	xd_model   *m1,
			   *m2;
	xd_rng		rng;

	tm_config(&cfg, XD_IMPLICIT, 4);
	xd_rng_seed(&rng, 8);
	XD_REQUIRE(xd_shared_new(&cfg, &sh) == XD_OK);
	xd_shared_init(sh, &rng);
	XD_REQUIRE(xd_domain_new(&cfg, 5, 5, &d1) == XD_OK);
	XD_REQUIRE(xd_domain_new(&cfg, 50, 7, &d2) == XD_OK);
	xd_domain_init(d1, &rng, 0.0f);
	xd_domain_init(d2, &rng, 0.0f);
	XD_REQUIRE(xd_model_new(&cfg, sh, d1, true, true, &m1) == XD_OK);
	XD_REQUIRE(xd_model_new(&cfg, sh, d2, false, true, &m2) == XD_OK);
	XD_CHECK(m1->params[0] == m2->params[0]);
	XD_CHECK(xd_model_find_param(m2, "emb.user")->rows == 50);
	xd_model_free(m2);			/* frees d2 only */
	xd_model_free(m1);			/* frees sh and d1 */
}

/* Adam updates only the embedding rows a batch touched, with per-row steps. */
XD_TEST(adam_lazy_rows)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_batch	b;
	int			P = 3;
	int			n_users = 40,
				n_items = 50;

	for (int fb = 0; fb < 2; fb++)
	{
		tm_snap		before[XD_MAX_PARAMS];
		xd_param  **ps;
		int			np;
		float		lr[XD_N_GROUPS] = {1e-3f, 1e-2f, 1e-3f};

		tm_config(&cfg, fb ? XD_EXPLICIT : XD_IMPLICIT, P);
		xd_rng_seed(&rng, 21);
		XD_REQUIRE(xd_model_create(&cfg, n_users, n_items, 3.0f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_batch_init(&b, 3 * P, cfg.m) == XD_OK);
		xd_model_params(model, &ps, &np);

		for (int step = 0; step < 3; step++)
		{
			uint8_t		ut[64] = {0},
						it[64] = {0};
			static uint8_t live[XD_MAX_PARAMS][64];
			int			n_live = 0;

			tm_fill(&b, &cfg, P, n_users, n_items, &rng);
			for (int r = 0; r < b.n; r++)
			{
				ut[b.users[r]] = 1;
				it[b.items[r]] = 1;
			}
			for (int i = 0; i < np; i++)
				tm_snap_take(&before[i], ps[i]);
			{
				double		loss;

				XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK);
			}
			for (int i = 0; i < np; i++)
				for (int r = 0; r < ps[i]->rows && r < 64; r++)
				{
					live[i][r] = 0;
					for (int k = 0; k < ps[i]->cols; k++)
					{
						size_t		o = (size_t) r * ps[i]->cols + k;

						if (ps[i]->g[o] != 0.0f || ps[i]->adam_m[o] != 0.0f)
							live[i][r] = 1;
					}
				}
			XD_CHECK(xd_adam_step(model, lr) == XD_OK);
			for (int i = 0; i < np; i++)
			{
				xd_param   *p = ps[i];
				const uint8_t *mark = NULL;

				if (strcmp(p->name, "emb.user") == 0 || strcmp(p->name, "bias.user") == 0)
					mark = ut;
				else if (strcmp(p->name, "emb.item") == 0 || strcmp(p->name, "bias.item") == 0)
					mark = it;
				XD_CHECK(p->sparse == (mark != NULL));
				if (!mark)
				{
					XD_CHECK(p->step == before[i].p.step + 1);
					continue;
				}
				XD_CHECK(p->n_touched == 0);
				for (int r = 0; r < p->rows; r++)
				{
					size_t		o = (size_t) r * p->cols;
					size_t		sz = sizeof(float) * p->cols;
					bool		same = memcmp(p->w + o, before[i].p.w + o, sz) == 0 &&
						memcmp(p->adam_m + o, before[i].p.adam_m + o, sz) == 0 &&
						memcmp(p->adam_v + o, before[i].p.adam_v + o, sz) == 0;

					XD_CHECK(p->row_mark[r] == 0);
					if (mark[r])
					{
						XD_CHECK(p->row_step[r] == before[i].p.row_step[r] + 1);
						/* a row whose gradient and moment are 0 (dead ReLUs) stays */
						XD_CHECK(!same || !live[i][r]);
					}
					else
					{
						XD_CHECK(p->row_step[r] == before[i].p.row_step[r]);
						XD_CHECK(same);
					}
					for (int k = 0; k < p->cols; k++)
						if (p->g[o + k] != 0.0f)
						{
							XD_CHECK(!"gradient left after the step");
							break;
						}
				}
			}
			for (int i = 0; i < np; i++)
			{
				if (ps[i]->sparse)
					for (int r = 0; r < ps[i]->rows && r < 64; r++)
						n_live += live[i][r];
				tm_snap_free(&before[i]);
			}
			XD_CHECK(n_live > 2 * P);
		}
		xd_batch_free(&b);
		xd_model_free(model);
	}
}

/*
 * Adam's bias corrections come from a table by step count (optim.c), filled
 * as the steps grow, saturated at 1 and computed directly beyond its end:
 * every row's update equals the formula with pow() at its own step, across
 * the table's growth, its saturation and its end, for betas that saturate
 * early, late (within the table) and not at all within it.
 */
XD_TEST(adam_bias_corrections_at_every_step)
{
	static const int64_t steps[] = {
		1, 2, 3, 7, 1023, 1024, 1025, 1026, 2047, 2048, 2049, 4100, 9000,
		17300, 17350, 17400, 17450, 17500, 18000, 30000, 65535, 65536, 65537,
		65538, 100000, 1000000, 5000000, 131072, 131073, 40000, 50000, 60000,
		12, 200, 300, 500, 700, 800, 900, 16
	};
	static const float betas[][2] = {{0.9f, 0.999f}, {0.5f, 0.99999f}, {0.0f, 0.9f},
	{0.99f, 0.9999f}};
	int			n_rows = (int) (sizeof(steps) / sizeof(steps[0]));

	for (size_t bi = 0; bi < sizeof(betas) / sizeof(betas[0]); bi++)
	{
		xd_config	cfg;
		xd_model   *model;
		xd_rng		rng;
		xd_param   *p;
		float		lr[XD_N_GROUPS] = {0.0f, 1e-2f, 0.0f};
		int			bad = 0;

		tm_config(&cfg, XD_IMPLICIT, 2);
		cfg.adam_beta1 = betas[bi][0];
		cfg.adam_beta2 = betas[bi][1];
		xd_rng_seed(&rng, 9);
		XD_REQUIRE(xd_model_create(&cfg, n_rows, 3, 0.0f, &rng, &model) == XD_OK);
		p = xd_model_find_param(model, "emb.user");
		XD_REQUIRE(p != NULL && p->sparse && p->rows == n_rows);
		/* two passes: the first grows the table in jumps, the second reads it */
		for (int pass = 0; pass < 2; pass++)
		{
			size_t		n = (size_t) p->rows * p->cols;
			float	   *want = malloc(sizeof(float) * n);

			XD_REQUIRE(want != NULL);
			for (int r = 0; r < n_rows; r++)
			{
				/* the second pass visits the steps in reverse */
				int64_t		t = steps[pass ? n_rows - 1 - r : r] + pass;
				float		b1 = cfg.adam_beta1,
							b2 = cfg.adam_beta2;
				float		c1 = 1.0f / (float) (1.0 - pow((double) b1, (double) t));
				float		c2 = 1.0f / (float) (1.0 - pow((double) b2, (double) t));

				p->row_step[r] = t - 1;
				for (int k = 0; k < p->cols; k++)
				{
					size_t		o = (size_t) r * p->cols + k;
					float		g = 0.3f * (xd_rng_uniform(&rng) - 0.5f);
					float		am = 0.01f * xd_rng_uniform(&rng);
					float		av = 1e-4f * xd_rng_uniform(&rng);

					p->g[o] = g;
					p->adam_m[o] = am;
					p->adam_v[o] = av;
					am = b1 * am + (1.0f - b1) * g;
					av = b2 * av + (1.0f - b2) * (g * g);
					want[o] = p->w[o] - (lr[XD_GROUP_DOMAIN] * (am * c1)) /
						(sqrtf(av * c2) + cfg.adam_eps);
				}
				xd_param_touch(p, r);
			}
			XD_CHECK(xd_adam_step(model, lr) == XD_OK);
			for (size_t o = 0; o < n; o++)
				bad += memcmp(&p->w[o], &want[o], sizeof(float)) != 0 || p->g[o] != 0.0f;
			free(want);
		}
		XD_CHECK(bad == 0);
		xd_model_free(model);
	}
}

/* A group with lr 0 stays bit-identical: values, moments, step counts. */
XD_TEST(adam_frozen_group)
{
	for (int frozen = 0; frozen < 2; frozen++)
	{
		xd_config	cfg;
		xd_model   *model;
		xd_rng		rng;
		xd_batch	b;
		int			P = 4;
		tm_snap		before[XD_MAX_PARAMS];
		xd_param  **ps;
		int			np;
		xd_group	fg = frozen ? XD_GROUP_DOMAIN : XD_GROUP_SHARED;

		tm_config(&cfg, XD_EXPLICIT, P);
		xd_rng_seed(&rng, 4);
		XD_REQUIRE(xd_model_create(&cfg, 6, 6, 3.0f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_batch_init(&b, P, cfg.m) == XD_OK);
		xd_model_params(model, &ps, &np);
		/* a step with both groups on, so the moments are not zero */
		tm_fill(&b, &cfg, P, 6, 6, &rng);
		{
			double		loss;

			XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK);
			XD_CHECK(xd_adam_step2(model, 1e-3f, 1e-3f) == XD_OK);
		}
		for (int i = 0; i < np; i++)
			tm_snap_take(&before[i], ps[i]);
		for (int step = 0; step < 5; step++)
		{
			double		loss;

			tm_fill(&b, &cfg, P, 6, 6, &rng);
			XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK);
			XD_CHECK(xd_adam_step2(model, frozen ? 1e-2f : 0.0f,
								   frozen ? 0.0f : 1e-2f) == XD_OK);
		}
		for (int i = 0; i < np; i++)
		{
			if (ps[i]->group == fg)
				XD_CHECK(tm_param_equal(ps[i], &before[i].p));
			else
				XD_CHECK(!tm_param_equal(ps[i], &before[i].p));
			tm_snap_free(&before[i]);
		}
		xd_batch_free(&b);
		xd_model_free(model);
	}
}

/* The first Adam step moves each entry by lr * g / (|g| + eps), about lr. */
XD_TEST(adam_first_step)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_param   *p;
	float	   *w0;

	tm_config(&cfg, XD_IMPLICIT, 2);
	xd_rng_seed(&rng, 4);
	XD_REQUIRE(xd_model_create(&cfg, 2, 2, 0.0f, &rng, &model) == XD_OK);
	p = xd_model_find_param(model, "clu.U.W1");
	w0 = malloc(sizeof(float) * p->rows * p->cols);
	memcpy(w0, p->w, sizeof(float) * p->rows * p->cols);
	for (int k = 0; k < p->rows * p->cols; k++)
		p->g[k] = (k % 3 - 1) * 0.37f * (k + 1);
	XD_CHECK(xd_adam_step2(model, 0.01f, 0.0f) == XD_OK);
	for (int k = 0; k < p->rows * p->cols; k++)
	{
		float		g = (k % 3 - 1) * 0.37f * (k + 1);
		double		want = g == 0.0f ? 0.0 : -0.01 * g / (fabs(g) + 1e-8);

		XD_CHECK_NEAR(p->w[k] - w0[k], want, 1e-6);
		XD_CHECK(p->g[k] == 0.0f);
	}
	free(w0);
	xd_model_free(model);
}

/* Training a few hundred steps lowers the loss; the same seeds give the same bits. */
static void
tm_train(xd_feedback fb, uint64_t seed, int steps, double *first, double *last,
		 float *out_w, int n_out)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng,
				data;
	xd_batch	b;
	int			P = 16;

	tm_config(&cfg, fb, P);
	xd_rng_seed(&rng, seed);
	xd_rng_seed(&data, 1234);
	if (xd_model_create(&cfg, 20, 20, 3.0f, &rng, &model) != XD_OK ||
		xd_batch_init(&b, 3 * P, cfg.m) != XD_OK)
	{
		XD_CHECK(!"setup");
		return;
	}
	for (int s = 0; s < steps; s++)
	{
		double		loss;

		/* a fixed batch, so the loss must go down */
		xd_rng		d = data;

		tm_fill(&b, &cfg, P, 20, 20, &d);
		if (fb == XD_IMPLICIT)
			for (int i = 0; i < P; i++)
			{
				b.users[P + i] = b.users[2 * P + i] = b.users[i];
				b.items[2 * P + i] = b.items[i];
			}
		XD_CHECK(xd_model_loss_backward(model, &b, &rng, true, &loss) == XD_OK);
		XD_CHECK(xd_adam_step2(model, 1e-2f, 1e-2f) == XD_OK);
		if (s == 0)
			*first = loss;
		*last = loss;
	}
	memcpy(out_w, xd_model_find_param(model, "clu.U.W1")->w, sizeof(float) * n_out);
	xd_batch_free(&b);
	xd_model_free(model);
}

/*
 * 300 Adam steps on one fixed batch fit it: the loss falls below half its
 * first value (implicit 0.8625 -> 0.0345, explicit 2.2538 -> 0.0072 under
 * the SkylakeX, Sandybridge, Haswell, Zen and Prescott kernels alike: a
 * margin of over 10x), the same seed gives the same weights, another seed
 * other weights.
 */
XD_TEST(model_training_lowers_loss_and_is_deterministic)
{
	for (int fb = 0; fb < 2; fb++)
	{
		double		f1,
					l1,
					f2,
					l2,
					f3,
					l3;
		float		w1[36],
					w2[36],
					w3[36];

		tm_train(fb ? XD_EXPLICIT : XD_IMPLICIT, 77, 300, &f1, &l1, w1, 36);
		tm_train(fb ? XD_EXPLICIT : XD_IMPLICIT, 77, 300, &f2, &l2, w2, 36);
		tm_train(fb ? XD_EXPLICIT : XD_IMPLICIT, 78, 300, &f3, &l3, w3, 36);
		printf("    %s: loss %.4f -> %.4f after 300 steps on one batch\n",
			   fb ? "explicit" : "implicit", f1, l1);
		XD_CHECK(l1 < 0.5 * f1);
		XD_CHECK(f1 == f2 && l1 == l2);
		XD_CHECK(memcmp(w1, w2, sizeof(w1)) == 0);
		XD_CHECK(memcmp(w1, w3, sizeof(w1)) != 0);
	}
}

/* Dropout: train mode with p > 0 changes scores, inference mode does not. */
XD_TEST(model_dropout_only_in_training)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng,
				r1,
				r2;
	xd_batch	b;
	double		a,
				c,
				e,
				f;

	tm_config(&cfg, XD_IMPLICIT, 8);
	cfg.dropout = 0.5f;
	xd_rng_seed(&rng, 9);
	XD_REQUIRE(xd_model_create(&cfg, 10, 10, 0.0f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, 24, cfg.m) == XD_OK);
	tm_fill(&b, &cfg, 8, 10, 10, &rng);
	xd_rng_seed(&r1, 1);
	xd_rng_seed(&r2, 2);
	XD_CHECK(xd_model_loss(model, &b, &r1, false, &a) == XD_OK);
	XD_CHECK(xd_model_loss(model, &b, &r1, false, &c) == XD_OK);
	XD_CHECK(a == c);
	XD_CHECK(xd_model_loss(model, &b, &r1, true, &e) == XD_OK);
	XD_CHECK(xd_model_loss(model, &b, &r2, true, &f) == XD_OK);
	XD_CHECK(e != a && f != a && e != f);
	/* one tower layer: no hidden layer, so no dropout at all */
	xd_model_free(model);
	cfg.n_tower_layers = 1;
	xd_rng_seed(&rng, 9);
	XD_REQUIRE(xd_model_create(&cfg, 10, 10, 0.0f, &rng, &model) == XD_OK);
	XD_CHECK(xd_model_loss(model, &b, &r1, false, &a) == XD_OK);
	XD_CHECK(xd_model_loss(model, &b, &r1, true, &e) == XD_OK);
	XD_CHECK(a == e);
	xd_batch_free(&b);
	xd_model_free(model);
}

/*
 * Scoring with the context module once per distinct context row and the
 * user tower once per distinct (user, context row) gives xd_model_score's
 * numbers: ranking-shaped batches (a row's candidates in its context,
 * item-scoped features differing; every third row's context also another
 * user's, as two users in one context) over several workspace chunks,
 * explicit and implicit, with a history column, with and without DRR's
 * residuals (nonzero), wide and narrow contexts.
 */
XD_TEST(model_score_shared_ctx_is_model_score)
{
	for (int v = 0; v < 4; v++)
	{
		bool		fb = v & 1,
					wide = v & 2;
		xd_config	cfg;
		xd_model   *model;
		xd_adapt   *adapt = NULL;
		xd_rng		rng;
		xd_batch	b;
		int			n = 0,
					cap,
					m;
		float	   *s1,
				   *s2;

		tm_config(&cfg, fb ? XD_EXPLICIT : XD_IMPLICIT, 4);
		if (wide)
		{
			cfg.m_I = 30;
			cfg.m_H = 20;
			cfg.m_A = 50;
			cfg.m = 100;
			cfg.d = 32;
			cfg.batch_size = 64;
			cfg.n_ctx_layers = 2;
			cfg.repeat = true;
		}
		m = cfg.m;
		xd_rng_seed(&rng, 40 + v);
		XD_REQUIRE(xd_model_create(&cfg, 9, 30, 3.0f, &rng, &model) == XD_OK);
		if (wide)
		{
			XD_REQUIRE(xd_adapt_new(&cfg, &adapt) == XD_OK);
			XD_REQUIRE(xd_model_set_adapt(model, adapt) == XD_OK);
			for (int i = 0; i < adapt->n_params; i++)
				for (int j = 0; j < adapt->params[i].rows * adapt->params[i].cols; j++)
					adapt->params[i].w[j] = 0.1f * (xd_rng_uniform(&rng) - 0.5f);
		}
		if (fb)
			for (int i = 0; i < 30; i++)
				xd_model_find_param(model, "bias.item")->w[i] = 0.1f * i;
		cap = xd_model_max_rows(model);
		XD_REQUIRE(xd_batch_init(&b, 3 * cap + 5, m) == XD_OK);
		s1 = malloc(sizeof(float) * b.capacity);
		s2 = malloc(sizeof(float) * b.capacity);
		/* rows of 1 + 7 candidates: the context's last 2 columns by the item's "city" */
		for (int row = 0; n + 8 <= b.capacity; row++)
		{
			int32_t		u = (int32_t) xd_rng_below(&rng, 9);
			float	   *c0 = b.c + (size_t) n * m;

			for (int j = 0; j < m; j++)
				c0[j] = row % 3 == 2 ? c0[j - 8 * m] : xd_rng_uniform(&rng);
			if (row % 3 == 2)
				u = (b.users[n - 8] + 1 + (int32_t) xd_rng_below(&rng, 8)) % 9;
			for (int q = 0; q < 8; q++, n++)
			{
				int32_t		w = (int32_t) xd_rng_below(&rng, 30);
				float	   *c = b.c + (size_t) n * m;

				memmove(c, c0, sizeof(float) * m);
				c[m - 2] = (float) (w % 3);
				c[m - 1] = (float) (w % 3 == 1);
				b.users[n] = u;
				b.items[n] = w;
				b.hist[n] = (float) (q % 2);
			}
		}
		b.n = n;
		b.n_pos = 0;
		XD_CHECK(n > 2 * cap);
		XD_CHECK(xd_model_score(model, &b, s1) == XD_OK);
		XD_CHECK(xd_model_score_shared_ctx(model, &b, s2) == XD_OK);

		/*
		 * The same forward on fewer context and user rows: the same
		 * numbers up to float rounding (to the bit on this machine's
		 * SkylakeX kernels; Haswell's round a row by the row count of its
		 * sgemm)
		 */
		for (int r = 0; r < n; r++)
			XD_CHECK_NEAR(s1[r], s2[r], 1e-5);
		/* every context distinct: the forward's own shapes, to the bit on any kernel */
		for (int r = 0; r < n; r++)
			b.c[(size_t) r * m] += 0.001f * (float) r;
		XD_CHECK(xd_model_score(model, &b, s1) == XD_OK);
		XD_CHECK(xd_model_score_shared_ctx(model, &b, s2) == XD_OK);
		XD_CHECK(memcmp(s1, s2, sizeof(float) * n) == 0);
		/* a bad item is refused like xd_model_score refuses it */
		b.items[cap + 3] = 30;
		XD_CHECK(xd_model_score_shared_ctx(model, &b, s2) == XD_EINVAL);
		b.n = 0;
		XD_CHECK(xd_model_score_shared_ctx(model, &b, s2) == XD_OK);
		xd_batch_free(&b);
		xd_model_free(model);
		if (adapt)
			xd_adapt_free(adapt);
		free(s1);
		free(s2);
	}
}

/* Ranking many items for one user in one context matches row-by-row scoring. */
XD_TEST(model_score_items_matches_score)
{
	for (int fb = 0; fb < 2; fb++)
	{
		xd_config	cfg;
		xd_model   *model;
		xd_rng		rng;
		xd_batch	b;
		int			n = 40;		/* more than the workspace's 12 rows */
		int32_t    *items = malloc(sizeof(int32_t) * n);
		float	   *s1 = malloc(sizeof(float) * n),
				   *s2 = malloc(sizeof(float) * n);

		tm_config(&cfg, fb ? XD_EXPLICIT : XD_IMPLICIT, 4);
		if (fb)
			cfg.batch_size = 12;
		xd_rng_seed(&rng, 31);
		XD_REQUIRE(xd_model_create(&cfg, 7, 30, 3.0f, &rng, &model) == XD_OK);
		XD_REQUIRE(xd_batch_init(&b, n, cfg.m) == XD_OK);
		b.n = n;
		for (int r = 0; r < n; r++)
		{
			items[r] = (int32_t) xd_rng_below(&rng, 30);
			b.users[r] = 5;
			b.items[r] = items[r];
			for (int j = 0; j < cfg.m; j++)
				b.c[(size_t) r * cfg.m + j] = r == 0 ? xd_rng_uniform(&rng) : b.c[j];
		}
		/* make the biases nonzero so they are checked too */
		if (fb)
			for (int i = 0; i < 30; i++)
				xd_model_find_param(model, "bias.item")->w[i] = 0.1f * i;
		XD_CHECK(xd_model_score(model, &b, s1) == XD_OK);
		XD_CHECK(xd_model_score_items(model, 5, b.c, items, NULL, n, s2) == XD_OK);
		for (int r = 0; r < n; r++)
			XD_CHECK_NEAR(s1[r], s2[r], 1e-5);
		items[3] = 30;
		XD_CHECK(xd_model_score_items(model, 5, b.c, items, NULL, n, s2) == XD_EINVAL);
		XD_CHECK(xd_model_score_items(model, 7, b.c, items, NULL, 0, s2) == XD_EINVAL);
		xd_batch_free(&b);
		xd_model_free(model);
		free(items);
		free(s1);
		free(s2);
	}
}

/* A gradient that drives a parameter to infinity is reported, not hidden. */
XD_TEST(adam_reports_non_finite)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_param   *p;

	tm_config(&cfg, XD_IMPLICIT, 2);
	xd_rng_seed(&rng, 4);
	XD_REQUIRE(xd_model_create(&cfg, 2, 2, 0.0f, &rng, &model) == XD_OK);
	p = xd_model_find_param(model, "clu.V.W2");
	p->g[5] = NAN;
	XD_CHECK(xd_adam_step2(model, 1e-3f, 1e-3f) == XD_ENUMERIC);
	XD_CHECK(xd_adam_step2(model, 1e-3f, 1e-3f) == XD_ENUMERIC);	/* w stays NaN */
	p->w[5] = 0.0f;
	p->adam_m[5] = p->adam_v[5] = 0.0f;
	XD_CHECK(xd_adam_step2(model, 1e-3f, 1e-3f) == XD_OK);
	p = xd_model_find_param(model, "emb.item");
	p->g[3] = INFINITY;
	p->touched[p->n_touched++] = 0;
	p->row_mark[0] = 1;
	XD_CHECK(xd_adam_step2(model, 1e-3f, 1e-3f) == XD_ENUMERIC);
	xd_model_free(model);
}

/*
 * xd_sgemm_rows_nn and xd_sgemm_rows_nt (model.c) in row blocks give every
 * float of one cblas_sgemm, under whichever OpenBLAS kernel runs the tests:
 * widths that are blocked (multiples of 16 up to 64, k <= 256) and widths
 * that are not, row counts around the block's edges, beta 0 and 1 (NN).
 */
XD_TEST(model_sgemm_row_blocks_equal_one_product)
{
	static const int shapes[][2] = {
		{64, 64}, {32, 64}, {32, 32}, {16, 7}, {48, 256}, {64, 200}, {25, 64}, {65, 64}
	};
	static const int rows[] = {0, 1, 17, 100, 191, 192, 193, 200, 383, 384, 385, 767, 768, 769, 1000};
	int			max_n = 1000,
				max_w = 256;
	float	   *A = malloc(sizeof(float) * (size_t) max_n * max_w);
	float	   *B = malloc(sizeof(float) * (size_t) max_w * max_w);
	float	   *C0 = malloc(sizeof(float) * (size_t) max_n * max_w);
	float	   *C1 = malloc(sizeof(float) * (size_t) max_n * max_w);
	float	   *C2 = malloc(sizeof(float) * (size_t) max_n * max_w);
	float	   *wt = malloc(sizeof(float) * XD_SGEMM_WT_FLOATS);
	xd_rng		rng;
	int			blocked = 0;

	XD_REQUIRE(A && B && C0 && C1 && C2 && wt);
	xd_rng_seed(&rng, 11);
	for (size_t i = 0; i < (size_t) max_n * max_w; i++)
	{
		A[i] = xd_rng_uniform(&rng) - 0.5f;
		C0[i] = xd_rng_uniform(&rng) - 0.5f;
	}
	for (size_t i = 0; i < (size_t) max_w * max_w; i++)
		B[i] = xd_rng_uniform(&rng) - 0.5f;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t q = 0; q < sizeof(rows) / sizeof(rows[0]); q++)
			for (int bi = 0; bi < 2; bi++)
			{
				int			nc = shapes[s][0],
							k = shapes[s][1],
							n = rows[q];
				size_t		bytes = sizeof(float) * (size_t) max_n * nc;

				memcpy(C1, C0, bytes);
				memcpy(C2, C0, bytes);
				if (n > 0)
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nc, k, 1.0f,
								A, k, B, nc, (float) bi, C1, nc);
				xd_sgemm_rows_nn(n, nc, k, A, B, (float) bi, C2);
				/* every row equal, and no row past n written */
				XD_CHECK(memcmp(C1, C2, bytes) == 0);
				if (bi == 0)
				{
					/* C = A B^T, B taken as nc x k, against one NT product */
					memcpy(C1, C0, bytes);
					memcpy(C2, C0, bytes);
					if (n > 0)
						cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nc, k, 1.0f,
									A, k, B, k, 0.0f, C1, nc);
					xd_sgemm_rows_nt(n, nc, k, A, B, C2, wt);
					XD_CHECK(memcmp(C1, C2, bytes) == 0);
				}
				if (n > XD_SGEMM_ROW_BLOCK && nc % 16 == 0 && nc <= 64 && k <= 256)
					blocked++;
			}
	XD_CHECK(blocked > 0);
	free(A);
	free(B);
	free(C0);
	free(C1);
	free(C2);
	free(wt);
}
