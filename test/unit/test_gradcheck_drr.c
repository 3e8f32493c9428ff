/*
 * test_gradcheck_drr.c - finite-difference checks of DRR's gradients in the
 * model path (DESIGN.md section 4): the three residual layers
 * x <- x + tanh(R x + r) on x^1 of M1, e~_u and e~_v (eq. 19), and the KL
 * terms of eq. 22 through frozen encoders, w.r.t. the residual parameters,
 * the embeddings and biases and, with the modules not frozen, every shared
 * tensor too. Frozen modules must get no gradient at all.
 *
 * Same method and tolerance as test_gradcheck.c (float32, eps = 1e-3 with
 * retries at eps/4 and 4 eps across a ReLU kink, |a - n| <= 1e-3 +
 * 2e-2 max(|a|, |n|)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "mmt/model_int.h"
#include "unit.h"
#include "xdrec/core.h"
#include "xdrec/dist_encoder.h"


typedef struct drr_case
{
	xd_feedback feedback;
	xd_variant	variant;
	int			n_ctx_layers;
	bool		frozen;
	float		lambda_kl;		/* 0: residuals only */
	int			P;				/* positives in the batch; 0: 5 */
} drr_case;

static void
drr_perturb_tensor(xd_param *p, float sd, xd_rng *rng)
{
	for (size_t k = 0; k < (size_t) p->rows * p->cols; k++)
		p->w[k] += sd * xd_rng_normal(rng);
}

static void
drr_run(const drr_case *dc)
{
	xd_config	cfg;
	xd_model   *model = NULL;
	xd_adapt   *ad = NULL;
	xd_dist_encoders *enc = NULL;
	xd_batch	b;
	xd_rng		rng;
	xd_rng		drop_rng;
	int			P = dc->P > 0 ? dc->P : 5;
	int			n_users = 6;
	int			n_items = 7;
	double		loss;
	int			checked;
	int			checked_res;
	int			bad;

	xd_config_defaults(&cfg);
	cfg.m_I = 3;
	cfg.m_H = 2;
	cfg.m_A = 2;
	cfg.m = 7;
	cfg.d = 5;
	cfg.n_ctx_layers = dc->n_ctx_layers;
	cfg.variant = dc->variant;
	cfg.feedback = dc->feedback;
	cfg.dropout = 0.0f;
	cfg.batch_size = P;
	xd_rng_seed(&rng, 17);
	XD_REQUIRE(xd_model_create(&cfg, n_users, n_items, 3.5f, &rng, &model) == XD_OK);
	XD_REQUIRE(xd_adapt_new(&cfg, &ad) == XD_OK);
	XD_REQUIRE(xd_model_set_adapt(model, ad) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, 3 * P, cfg.m) == XD_OK);
	gc_fill_batch(&b, &cfg, P, n_users, n_items, &rng);
	gc_perturb(model, &rng);	/* residual params too: off their zero start */
	for (int i = 0; i < ad->n_params; i++)
		drr_perturb_tensor(&ad->params[i], 0.3f, &rng);
	if (dc->lambda_kl > 0.0f)
	{
		XD_REQUIRE(xd_dist_encoders_new(&cfg, 6, 3, &enc) == XD_OK);
		for (int k = 0; k < XD_N_ENC; k++)
			if (enc->e[k])
			{
				xd_dist_encoder_init(enc->e[k], &rng);
				for (int i = 0; i < enc->e[k]->n_params; i++)
					drr_perturb_tensor(&enc->e[k]->params[i], 0.1f, &rng);
			}
		XD_REQUIRE(xd_adapt_add_kl(model, enc, dc->lambda_kl) == XD_OK);
	}
	xd_model_freeze_shared(model, dc->frozen);
	xd_rng_seed(&drop_rng, 99);

	{
		xd_rng		r = drop_rng;
		double		plain;

		xd_model_zero_grad(model);
		XD_CHECK(xd_model_loss_backward(model, &b, &r, false, &loss) == XD_OK);
		XD_CHECK(isfinite(loss));
		if (enc)
		{
			/* the KL term is in the loss: without it the loss is smaller */
			ad->lambda_kl = 0.0f;
			plain = gc_loss(model, &b, &drop_rng, false);
			ad->lambda_kl = dc->lambda_kl;
			XD_CHECK(loss > plain);
		}
	}

	{
		/*
		 * One-sided quotients too: a ReLU kink (towers, FMT layers,
		 * encoders) within 4 eps of w0 lies on one side only.
		 */
		gc_opts		opts = {false, true, dc->frozen};

		bad = gc_check_params(model, &cfg, &b, &drop_rng, &opts, &checked, &checked_res);
	}
	/* all three residuals: R_C, r_C (when L_C >= 1), R_U, r_U, R_V, r_V */
	XD_CHECK(checked_res == (dc->n_ctx_layers >= 1 ? 7 * 7 + 7 : 0) + 2 * (5 * 5 + 5));
	XD_CHECK(checked > checked_res);
	XD_CHECK(bad == 0);
	xd_batch_free(&b);
	xd_model_free(model);
	xd_adapt_free(ad);
	xd_dist_encoders_free(enc);
}

#define DRR_TEST(name, fb, var, lc, frozen, lambda) \
	XD_TEST(name) \
	{ \
		drr_case	dc = {fb, var, lc, frozen, lambda, 0}; \
		drr_run(&dc); \
	}

/* residuals only, every tensor (modules not frozen): the residual backward */
DRR_TEST(gradcheck_drr_residual_mmt, XD_IMPLICIT, XD_VARIANT_MMT, 2, false, 0.0f)
DRR_TEST(gradcheck_drr_residual_fmt, XD_IMPLICIT, XD_VARIANT_FMT, 2, false, 0.0f)
DRR_TEST(gradcheck_drr_residual_explicit, XD_EXPLICIT, XD_VARIANT_MMT, 2, false, 0.0f)
/* x^1 is c* when L_C = 1; three context layers */
DRR_TEST(gradcheck_drr_residual_one_layer, XD_IMPLICIT, XD_VARIANT_MMT, 1, false, 0.0f)
DRR_TEST(gradcheck_drr_residual_three_layers, XD_IMPLICIT, XD_VARIANT_FMT, 3, true, 0.0f)
/* eq. 22: the KL terms through frozen encoders, modules frozen (DRR training) */
DRR_TEST(gradcheck_drr_kl_frozen_mmt, XD_IMPLICIT, XD_VARIANT_MMT, 2, true, 0.5f)
DRR_TEST(gradcheck_drr_kl_frozen_fmt, XD_IMPLICIT, XD_VARIANT_FMT, 2, true, 0.5f)
DRR_TEST(gradcheck_drr_kl_frozen_explicit, XD_EXPLICIT, XD_VARIANT_MMT, 2, true, 0.5f)
/* and with every module trainable, the KL terms reach the shared tensors too */
DRR_TEST(gradcheck_drr_residual_fmt_three_layers_all, XD_IMPLICIT, XD_VARIANT_FMT, 3, false, 0.0f)
DRR_TEST(gradcheck_drr_residual_mmt_three_layers_frozen, XD_IMPLICIT, XD_VARIANT_MMT, 3, true, 0.0f)
DRR_TEST(gradcheck_drr_residual_fmt_frozen, XD_IMPLICIT, XD_VARIANT_FMT, 2, true, 0.0f)
DRR_TEST(gradcheck_drr_residual_mmt_frozen, XD_IMPLICIT, XD_VARIANT_MMT, 2, true, 0.0f)
DRR_TEST(gradcheck_drr_kl_all, XD_IMPLICIT, XD_VARIANT_MMT, 2, false, 0.5f)
/* no context layer: no x^1, the item and user residuals only */
DRR_TEST(gradcheck_drr_no_ctx_layer, XD_IMPLICIT, XD_VARIANT_MMT, 0, true, 0.5f)

/*
 * 120 rows, past one block (XD_SGEMM_GRAD_BLOCK): the residuals' and every
 * shared tensor's gradients summed block by block (xd_sgemm_rows_tn), with
 * the KL terms of eq. 22
 */
XD_TEST(gradcheck_drr_row_blocks)
{
	drr_case	dc = {XD_IMPLICIT, XD_VARIANT_MMT, 2, false, 0.5f, 40};

	XD_CHECK(3 * dc.P > XD_SGEMM_GRAD_BLOCK);
	drr_run(&dc);
}
