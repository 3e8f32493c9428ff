/*
 * test_gradcheck.c - finite-difference checks of every gradient of the model
 * (context.c, cluster.c, rank.c, loss.c) against central differences.
 *
 * The model computes in float32, so the check does too: each entry w is moved
 * by +-eps (eps = 1e-3), and the numeric derivative (L(w+eps) - L(w-eps)) / 2eps
 * (loss summed in double) must match the analytic one within
 * |a - n| <= 1e-3 + 2e-2 * max(|a|, |n|). Float rounding of O(1..10) scores
 * gives an absolute error near 1e-4..1e-3 on the numeric side; truncation is
 * O(eps^2). Near a ReLU kink the quotient bends, so an entry that fails at
 * eps is retried at eps/4 and 4 eps and passes if one of them agrees.
 * Shapes are small (m = 7 in 3 kinds, d = 5) so every entry of every tensor is
 * checked: dense tensors in full, embedding and bias tables on the rows the
 * batch touched (and the others must have a zero gradient). Dropout is off,
 * except in one check that replays a fixed mask by reusing one rng state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "mmt/model_int.h"
#include "unit.h"
#include "xdrec/core.h"


typedef struct gc_case
{
	xd_feedback feedback;
	xd_variant	variant;
	bool		mm;
	int			m_I,
				m_H,
				m_A;
	float		beta;
	bool		dropout;
	bool		term;			/* with gc_quad_term as an extra loss term */
	bool		weighted;		/* rows weighted in [0.2, 2) (batch.h) */
	bool		repeat;			/* the repeat term (core.h), rows with history */
	int			P;				/* positives in the batch; 0: 5 */
} gc_case;

/*
 * A toy extra loss term (core.h, xd_model_add_loss_term) on every module
 * input: 0.3 / P sum (|x^1|^2 + 2 |e~_u|^2 + 3 |e~_v|^2), so each input's
 * gradient has its own scale and a term reaching the wrong input shows.
 */
static xd_status
gc_quad_term(void *arg, const xd_batch *b, const xd_loss_inputs *in, double *value)
{
	const float *x[3] = {in->x1, in->eu, in->ev};
	float	   *dx[3] = {in->d_x1, in->d_eu, in->d_ev};
	size_t		w[3] = {(size_t) in->m, (size_t) in->d, (size_t) in->d};
	float		k = 0.3f / (float) in->n_pos;
	double		s = 0.0;

	(void) arg;
	(void) b;
	for (int t = 0; t < 3; t++)
	{
		if (!x[t])
			continue;
		for (size_t i = 0; i < (size_t) in->n_pos * w[t]; i++)
		{
			s += (double) (t + 1) * x[t][i] * x[t][i];
			if (dx[t])
				dx[t][i] += 2.0f * (float) (t + 1) * k * x[t][i];
		}
	}
	*value = (double) k * s;
	return XD_OK;
}

static void
gc_run(const gc_case *gc)
{
	xd_config	cfg;
	xd_model   *model = NULL;
	xd_batch	b;
	xd_rng		rng;
	xd_rng		drop_rng;
	int			P = gc->P > 0 ? gc->P : 5;
	int			n_users = 6;
	int			n_items = 7;
	double		loss;
	int			checked;
	int			bad;

	xd_config_defaults(&cfg);
	cfg.m_I = gc->m_I;
	cfg.m_H = gc->m_H;
	cfg.m_A = gc->m_A;
	cfg.m = cfg.m_I + cfg.m_H + cfg.m_A;
	cfg.d = 5;
	cfg.variant = gc->variant;
	cfg.mm_residual = gc->mm;
	cfg.feedback = gc->feedback;
	cfg.beta = gc->beta;
	cfg.dropout = gc->dropout ? 0.3f : 0.0f;
	cfg.batch_size = P;
	cfg.repeat = gc->repeat;
	xd_rng_seed(&rng, 7);
	XD_REQUIRE(xd_model_create(&cfg, n_users, n_items, 3.5f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, 3 * P, cfg.m) == XD_OK);
	gc_fill_batch(&b, &cfg, P, n_users, n_items, &rng);
	gc_perturb(model, &rng);
	if (gc->weighted)
		for (int r = 0; r < b.n; r++)
			b.weights[r] = 0.2f + 1.8f * xd_rng_uniform(&rng);
	if (gc->repeat)
	{
		/* about half the rows with history: g(h_ui) in {0, 1} (batch.h) */
		for (int r = 0; r < b.n; r++)
			b.hist[r] = xd_rng_uniform(&rng) < 0.5f ? 1.0f : 0.0f;
		XD_REQUIRE(xd_model_find_param(model, "rep.w") != NULL);
	}
	xd_rng_seed(&drop_rng, 99);
	if (gc->term)
	{
		double		plain = gc_loss(model, &b, &drop_rng, gc->dropout);

		XD_REQUIRE(xd_model_add_loss_term(model, gc_quad_term, NULL) == XD_OK);
		/* the term is in the loss: a positive amount more */
		XD_CHECK(gc_loss(model, &b, &drop_rng, gc->dropout) > plain + 1e-3);
	}

	{
		xd_rng		r = drop_rng;

		xd_model_zero_grad(model);
		XD_CHECK(xd_model_loss_backward(model, &b, &r, gc->dropout, &loss) == XD_OK);
		XD_CHECK(isfinite(loss));
	}

	{
		/*
		 * many rows put more ReLU inputs within eps of their kink: one-sided
		 * quotients too there, as DRR's check does
		 */
		gc_opts		opts = {gc->dropout, gc->P > 0, false};
		int			checked_residual;

		bad = gc_check_params(model, &cfg, &b, &drop_rng, &opts, &checked, &checked_residual);
	}
	/* every tensor took part: 8 implicit + 3 explicit at least */
	XD_CHECK(checked > 100);
	XD_CHECK(bad == 0);
	xd_batch_free(&b);
	xd_model_free(model);
}

#define GC_TEST(name, fb, var, mm, mi, mh, ma, beta, drop) \
	XD_TEST(name) \
	{ \
		gc_case		gc = {fb, var, mm, mi, mh, ma, beta, drop, false, false, false, 0}; \
		gc_run(&gc); \
	}

GC_TEST(gradcheck_implicit_mmt_residual, XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_implicit_mmt_plain, XD_IMPLICIT, XD_VARIANT_MMT, false, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_implicit_fmt_residual, XD_IMPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_implicit_fmt_plain, XD_IMPLICIT, XD_VARIANT_FMT, false, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_explicit_mmt_residual, XD_EXPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_explicit_mmt_plain, XD_EXPLICIT, XD_VARIANT_MMT, false, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_explicit_fmt_residual, XD_EXPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.0f, false)
GC_TEST(gradcheck_explicit_fmt_plain, XD_EXPLICIT, XD_VARIANT_FMT, false, 3, 2, 2, 0.0f, false)
/* the novelty curriculum term of eq. 11 (beta != 0) */
GC_TEST(gradcheck_implicit_beta, XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.7f, false)
GC_TEST(gradcheck_explicit_beta, XD_EXPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.7f, false)
/* two kinds present (eq. 4-5 with K' only), and a missing middle kind */
GC_TEST(gradcheck_residual_two_kinds, XD_IMPLICIT, XD_VARIANT_MMT, true, 4, 0, 3, 0.0f, false)
/* a fixed dropout mask (rng replayed) */
GC_TEST(gradcheck_dropout_fixed_mask, XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, true)
GC_TEST(gradcheck_explicit_dropout_fixed_mask, XD_EXPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.0f, true)

/* With one kind only the residual is off whatever the option says (eq. 4-5). */
XD_TEST(gradcheck_one_kind_has_no_residual)
{
	xd_config	cfg;
	xd_model   *model = NULL;
	xd_rng		rng;

	xd_config_defaults(&cfg);
	cfg.m_I = 6;
	cfg.m = 6;
	cfg.d = 4;
	cfg.batch_size = 4;
	xd_rng_seed(&rng, 1);
	XD_REQUIRE(xd_model_create(&cfg, 3, 3, 0.0f, &rng, &model) == XD_OK);
	XD_CHECK(!xd_config_has_mm_residual(&cfg));
	XD_CHECK(xd_model_find_param(model, "ctx.mm.W") == NULL);
	XD_CHECK(xd_model_find_param(model, "ctx.W1") != NULL);
	xd_model_free(model);
	{
		gc_case		gc = {XD_IMPLICIT, XD_VARIANT_MMT, true, 0, 0, 7, 0.0f, false, false, false, false, 0};

		gc_run(&gc);
	}
}

/*
 * An extra loss term without DRR (the seam source weighting will use): its
 * gradients w.r.t. x^1, e~_u and e~_v reach M1, the gates and the
 * embeddings through backward, checked entry by entry.
 */
XD_TEST(gradcheck_extra_loss_term)
{
	gc_case		imp = {XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, false, true, false, false, 0};
	gc_case		exp = {XD_EXPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.0f, true, true, false, false, 0};

	gc_run(&imp);
	gc_run(&exp);
}

/*
 * Per-row weights (batch.h): every row's term, the curriculum term (beta)
 * included, under its own weight, entry by entry against central differences.
 */
XD_TEST(gradcheck_row_weights)
{
	gc_case		imp = {XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.7f, false, false, true, false, 0};
	gc_case		exp = {XD_EXPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.7f, false, false, true, false, 0};

	gc_run(&imp);
	gc_run(&exp);
}

/*
 * The repeat term (core.h): s^ += (w_R . c* + b_R) g(h_ui), its gradients
 * into w_R, b_R and through c* into M1, entry by entry, with the curriculum
 * term, weighted rows and a fixed dropout mask.
 */
XD_TEST(gradcheck_repeat_term)
{
	gc_case		plain = {XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, false, false, false, true, 0};
	gc_case		mixed = {XD_IMPLICIT, XD_VARIANT_FMT, false, 3, 2, 2, 0.7f, true, true, true, true, 0};

	gc_run(&plain);
	gc_run(&mixed);
}

/*
 * Batches past one block of rows (XD_SGEMM_GRAD_BLOCK, model_int.h): the
 * weights' gradients dz^T x are then summed block by block
 * (xd_sgemm_rows_tn), every shared tensor's included; 120 rows (two blocks),
 * 210 (three, the last partial) and 120 explicit rows, with every option of
 * the checks above on in the first.
 */
XD_TEST(gradcheck_row_blocks)
{
	gc_case		all = {XD_IMPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.7f, true, true, true, true, 40};
	gc_case		fmt = {XD_IMPLICIT, XD_VARIANT_FMT, true, 3, 2, 2, 0.0f, false, false, false, false, 70};
	gc_case		exp = {XD_EXPLICIT, XD_VARIANT_MMT, true, 3, 2, 2, 0.0f, false, false, false, false, 120};

	XD_CHECK(3 * all.P > XD_SGEMM_GRAD_BLOCK && exp.P > XD_SGEMM_GRAD_BLOCK);
	gc_run(&all);
	gc_run(&fmt);
	gc_run(&exp);
}
