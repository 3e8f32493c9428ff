/*
 * test_dist_encoder.c - the distributional encoders and poisoning models of DRR
 * (dist_encoder.c; DESIGN.md section 4, eq. 20-22): the closed-form KL, finite-
 * difference checks of the encoder's loss (eq. 20) w.r.t. E's parameters, of
 * the poisoning loss (eq. 21) w.r.t. P's, and of dKL/dx; the alternating
 * training separates clean from poisoned source inputs.
 *
 * Tolerances follow test_gradcheck.c: float32 passes, central differences at
 * eps = 1e-3 (retried at eps/4 and 4 eps across a ReLU kink or the kappa
 * clip), |a - n| <= 1e-3 + 2e-2 max(|a|, |n|).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/transfer.h"
#include "xdrec/generate.h"

#define EC_ATOL 1e-3
#define EC_RTOL 2e-2

static void
ec_fill(float *x, size_t n, float scale, xd_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * xd_rng_normal(rng);
}

/* moves the zero biases off zero so their gradients are exercised */
static void
ec_perturb(xd_param *ps, int n, xd_rng *rng)
{
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < (size_t) ps[i].rows * ps[i].cols; k++)
			ps[i].w[k] += 0.1f * xd_rng_normal(rng);
}

typedef double (*ec_loss_fn) (void *arg);

/*
 * Checks every entry of the n tensors ps against central differences of
 * loss(arg); the analytic gradient is in each tensor's g. Returns failures.
 */
static int
ec_check(xd_param *ps, int np, ec_loss_fn loss, void *arg, int *checked)
{
	int			bad = 0;

	for (int i = 0; i < np; i++)
	{
		xd_param   *p = &ps[i];
		size_t		n = (size_t) p->rows * p->cols;

		for (size_t k = 0; k < n; k++)
		{
			float		w0 = p->w[k];
			double		a = p->g[k];
			double		err = INFINITY;
			double		num = 0.0;

			for (int e = 0; e < 3 && err > EC_ATOL; e++)
			{
				static const float steps[3] = {1e-3f, 2.5e-4f, 4e-3f};
				float		h = steps[e];
				double		lp,
							lm,
							q,
							qe;

				p->w[k] = w0 + h;
				lp = loss(arg);
				p->w[k] = w0 - h;
				lm = loss(arg);
				p->w[k] = w0;
				q = (lp - lm) / (2.0 * (double) h);
				qe = fabs(a - q) - EC_RTOL * fmax(fabs(a), fabs(q));
				if (qe < err)
				{
					err = qe;
					num = q;
				}
			}
			(*checked)++;
			if (err > EC_ATOL)
			{
				char		msg[200];

				snprintf(msg, sizeof(msg), "%s[%zu]: analytic %.6g numeric %.6g",
						 p->name, k, a, num);
				if (bad++ < 5)
					xd_test_fail(__FILE__, __LINE__, msg);
			}
		}
	}
	return bad;
}

typedef struct ec_ctx
{
	xd_dist_encoder *e;
	xd_poison  *p;
	const float *x;
	int			n;
	float		kappa;
} ec_ctx;

static double
ec_enc_loss(void *arg)
{
	ec_ctx	   *c = arg;
	double		l = 0.0;

	XD_CHECK(xd_dist_encoder_loss(c->e, c->p, c->x, c->n, c->kappa, false, &l) == XD_OK);
	return l;
}

static double
ec_poison_loss(void *arg)
{
	ec_ctx	   *c = arg;
	double		l = 0.0;

	XD_CHECK(xd_poison_loss(c->e, c->p, c->x, c->n, false, &l) == XD_OK);
	return l;
}

static void
ec_setup(int in, int n, uint64_t seed, xd_dist_encoder **e, xd_poison **p,
		 float **x)
{
	xd_rng		rng;

	xd_rng_seed(&rng, seed);
	*e = NULL;
	*p = NULL;
	XD_CHECK(xd_dist_encoder_new(in, 6, 3, "enc.T", e) == XD_OK);
	XD_CHECK(xd_poison_new(in, 5, "poison.T", p) == XD_OK);
	*x = malloc(sizeof(float) * (size_t) in * n);
	if (!*e || !*p || !*x)
		return;
	xd_dist_encoder_init(*e, &rng);
	xd_poison_init(*p, &rng);
	ec_perturb((*e)->params, (*e)->n_params, &rng);
	ec_perturb((*p)->params, (*p)->n_params, &rng);
	/* a larger poison, so ||P(x)|| is far from 0 (the log term's pole) */
	for (size_t k = 0; k < (size_t) (*p)->W2->rows * (*p)->W2->cols; k++)
		(*p)->W2->w[k] *= 5.0f;
	ec_fill(*x, (size_t) in * n, 0.7f, &rng);
}

/* KL is the closed form 1/2 sum (mu^2 + s^2 - log s^2 - 1), per row */
XD_TEST(encoder_kl_closed_form)
{
	xd_dist_encoder *e = NULL;
	xd_poison  *p = NULL;
	float	   *x = NULL;
	int			n = 4;
	int			in = 5;
	float		kl_rows[4];
	double		sum = 0.0;
	float	   *buf;

	ec_setup(in, n, 3, &e, &p, &x);
	XD_REQUIRE(e && p && x);
	buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, n));
	XD_REQUIRE(buf);
	xd_dist_kl(e, x, n, &sum, kl_rows, 0.0f, NULL, buf);
	for (int r = 0; r < n; r++)
	{
		double		h[6],
					kl = 0.0;

		for (int k = 0; k < 6; k++)
		{
			double		z = e->b1->w[k];

			for (int j = 0; j < in; j++)
				z += (double) e->W1->w[k * in + j] * x[r * in + j];
			h[k] = z > 0 ? z : 0;
		}
		for (int k = 0; k < 3; k++)
		{
			double		mu = e->bm->w[k],
						lv = e->bl->w[k];

			for (int j = 0; j < 6; j++)
			{
				mu += (double) e->Wm->w[k * 6 + j] * h[j];
				lv += (double) e->Wl->w[k * 6 + j] * h[j];
			}
			kl += 0.5 * (mu * mu + exp(lv) - lv - 1.0);
		}
		XD_CHECK_NEAR(kl_rows[r], kl, 1e-4 * (1.0 + kl));
		XD_CHECK(kl_rows[r] >= 0.0f);
	}
	free(buf);
	free(x);
	xd_dist_encoder_free(e);
	xd_poison_free(p);
}

/* eq. 20 w.r.t. E's parameters, with kappa above every KL and clipping some */
XD_TEST(gradcheck_encoder_loss)
{
	for (int pass = 0; pass < 2; pass++)
	{
		xd_dist_encoder *e = NULL;
		xd_poison  *p = NULL;
		float	   *x = NULL;
		ec_ctx		c;
		double		l;
		int			checked = 0;

		ec_setup(5, 7, 11 + pass, &e, &p, &x);
		XD_REQUIRE(e && p && x);
		c.e = e;
		c.p = p;
		c.x = x;
		c.n = 7;
		c.kappa = 1e6f;
		if (pass == 1)
		{
			/* kappa inside the poisoned KLs: min() clips some rows */
			float	   *kl = malloc(sizeof(float) * 7);
			float	   *buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, 7));
			double		s;

			XD_REQUIRE(kl && buf);
			xd_dist_kl(e, x, 7, &s, kl, 0.0f, NULL, buf);
			c.kappa = (float) (s / 7);
			free(kl);
			free(buf);
		}
		XD_CHECK(xd_dist_encoder_loss(e, p, x, 7, c.kappa, true, &l) == XD_OK);
		XD_CHECK(isfinite(l));
		/* P is held fixed in E's step */
		for (int i = 0; i < p->n_params; i++)
			for (size_t k = 0; k < (size_t) p->params[i].rows * p->params[i].cols; k++)
				XD_CHECK(p->params[i].g[k] == 0.0f);
		XD_CHECK(ec_check(e->params, e->n_params, ec_enc_loss, &c, &checked) == 0);
		XD_CHECK(checked == 6 * 5 + 6 + 2 * (3 * 6 + 3));
		free(x);
		xd_dist_encoder_free(e);
		xd_poison_free(p);
	}
}

/* eq. 21 w.r.t. P's parameters; E is held fixed */
XD_TEST(gradcheck_poison_loss)
{
	xd_dist_encoder *e = NULL;
	xd_poison  *p = NULL;
	float	   *x = NULL;
	ec_ctx		c;
	double		l;
	int			checked = 0;

	ec_setup(4, 6, 21, &e, &p, &x);
	XD_REQUIRE(e && p && x);
	c.e = e;
	c.p = p;
	c.x = x;
	c.n = 6;
	c.kappa = XD_ENC_KAPPA;
	XD_CHECK(xd_poison_loss(e, p, x, 6, true, &l) == XD_OK);
	XD_CHECK(isfinite(l));
	for (int i = 0; i < e->n_params; i++)
		for (size_t k = 0; k < (size_t) e->params[i].rows * e->params[i].cols; k++)
			XD_CHECK(e->params[i].g[k] == 0.0f);
	XD_CHECK(ec_check(p->params, p->n_params, ec_poison_loss, &c, &checked) == 0);
	XD_CHECK(checked == 5 * 4 + 5 + 4 * 5 + 4);
	free(x);
	xd_dist_encoder_free(e);
	xd_poison_free(p);
}

/* dKL/dx through the frozen encoder (what eq. 22 back-propagates) */
XD_TEST(gradcheck_kl_input)
{
	xd_dist_encoder *e = NULL;
	xd_poison  *p = NULL;
	float	   *x = NULL;
	float	   *dx,
			   *buf;
	int			n = 5,
				in = 6,
				bad = 0;
	float		scale = 0.3f;
	double		s;

	ec_setup(in, n, 31, &e, &p, &x);
	XD_REQUIRE(e && p && x);
	dx = calloc((size_t) n * in, sizeof(float));
	buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, n));
	XD_REQUIRE(dx && buf);
	xd_dist_kl(e, x, n, &s, NULL, scale, dx, buf);
	for (int i = 0; i < e->n_params; i++)
		for (size_t k = 0; k < (size_t) e->params[i].rows * e->params[i].cols; k++)
			XD_CHECK(e->params[i].g[k] == 0.0f);
	for (int k = 0; k < n * in; k++)
	{
		float		x0 = x[k];
		double		err = INFINITY;

		for (int st = 0; st < 3 && err > EC_ATOL; st++)
		{
			static const float steps[3] = {1e-3f, 2.5e-4f, 4e-3f};
			double		lp,
						lm,
						q;

			x[k] = x0 + steps[st];
			xd_dist_kl(e, x, n, &lp, NULL, 0.0f, NULL, buf);
			x[k] = x0 - steps[st];
			xd_dist_kl(e, x, n, &lm, NULL, 0.0f, NULL, buf);
			x[k] = x0;
			q = scale * (lp - lm) / (2.0 * steps[st]);
			err = fmin(err, fabs(dx[k] - q) - EC_RTOL * fmax(fabs(dx[k]), fabs(q)));
		}
		if (err > EC_ATOL)
			bad++;
	}
	XD_CHECK(bad == 0);
	free(dx);
	free(buf);
	free(x);
	xd_dist_encoder_free(e);
	xd_poison_free(p);
}

XD_TEST(encoder_bad_arguments)
{
	xd_dist_encoder *e = NULL;
	xd_poison  *p = NULL;
	double		l;
	float		x[4] = {0};

	XD_CHECK(xd_dist_encoder_new(0, 4, 2, "e", &e) == XD_EINVAL && e == NULL);
	XD_CHECK(xd_poison_new(3, 0, "p", &p) == XD_EINVAL && p == NULL);
	XD_REQUIRE(xd_dist_encoder_new(4, 4, 2, "e", &e) == XD_OK);
	XD_REQUIRE(xd_poison_new(3, 4, "p", &p) == XD_OK);
	XD_CHECK(xd_dist_encoder_loss(e, p, x, 1, 10.0f, false, &l) == XD_EINVAL);
	XD_CHECK(xd_poison_loss(e, p, x, 0, false, &l) == XD_EINVAL);
	xd_dist_encoder_free(e);
	xd_poison_free(p);
	xd_dist_encoders_free(NULL);
	xd_dist_encoder_free(NULL);
	xd_poison_free(NULL);
}

/*
 * Trained on a small source model's inputs, each encoder puts the clean
 * inputs closer to N(0, I) than the poisoned ones, training is
 * deterministic under a seed, and reports each epoch of each encoder. KL clean against poisoned, under the SkylakeX,
 * Sandybridge, Haswell, Zen and Prescott kernels alike: E_C 0.0707 / 0.0970,
 * E_U 0.0058 / 0.0105, E_V 0.0036 / 0.0055; the poisoned KL is at least 1.37x
 * the clean one, the check asks for any gap.
 */
/* Records what the encoders' training reports after each epoch. */
typedef struct te_progress
{
	int			calls;
	int			last_epoch;
	bool		ok;				/* numbered 1, 2, ..., finite loss, no metric */
	double		last_eta;
} te_progress;

static void
te_log(void *arg, const xd_epoch_report *r)
{
	te_progress *p = arg;

	p->calls++;
	p->ok = p->ok && r->epoch == p->last_epoch + 1 && isfinite(r->loss) &&
		isnan(r->metric) && r->eta_seconds >= 0.0;
	p->last_epoch = r->epoch;
	p->last_eta = r->eta_seconds;
}

XD_TEST(encoder_train_separates)
{
	xd_gen_config gc;
	xd_generated *g = NULL;
	xd_config	cfg;
	xd_transfer_opts to;
	xd_transfer_result src;
	xd_dist_encoder_opts eo;
	xd_dist_encoders *enc1 = NULL,
			   *enc2 = NULL;
	xd_dist_encoder_report rep;
	const xd_dataset *ds;
	te_progress prog = {0, 0, true, -1.0};

	xd_gen_config_default(&gc);
	gc.n_domains = 1;
	gc.src_users = 80;
	gc.src_items = 50;
	gc.src_interactions = 2000;
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &ds->enc.schema);
	cfg.d = 8;
	xd_transfer_opts_default(&to);
	to.max_epochs = 3;
	to.patience = 3;
	XD_REQUIRE(xd_transfer_train_source(&cfg, ds, &to, &src) == XD_OK);

	xd_dist_encoder_opts_default(&eo);
	eo.epochs = 3;
	eo.max_rows = 1000;
	eo.hidden = 16;
	eo.latent = 4;
	XD_REQUIRE(xd_dist_encoders_train(src.model, ds, &eo, &enc1, &rep) == XD_OK);
	/* the progress callback sees every epoch of every encoder, and changes nothing */
	eo.hooks.progress = te_log;
	eo.hooks.progress_arg = &prog;
	XD_REQUIRE(xd_dist_encoders_train(src.model, ds, &eo, &enc2, NULL) == XD_OK);
	XD_CHECK(prog.ok && prog.calls == 3 * XD_N_ENC && prog.last_epoch == 9);
	XD_CHECK(prog.last_eta == 0.0);
	XD_CHECK(rep.n_rows == 1000);
	for (int k = 0; k < XD_N_ENC; k++)
	{
		XD_REQUIRE(enc1->e[k] && enc2->e[k]);
		printf("    encoder %d: KL clean %.4f, poisoned %.4f\n", k, rep.kl_clean[k],
			   rep.kl_poisoned[k]);
		XD_CHECK(isfinite(rep.kl_clean[k]) && isfinite(rep.kl_poisoned[k]));
		XD_CHECK(rep.kl_clean[k] < rep.kl_poisoned[k]);
		XD_CHECK(rep.poison_norm[k] > 0.0);
		for (int i = 0; i < enc1->e[k]->n_params; i++)
			XD_CHECK(memcmp(enc1->e[k]->params[i].w, enc2->e[k]->params[i].w,
							sizeof(float) * enc1->e[k]->params[i].rows *
							enc1->e[k]->params[i].cols) == 0);
	}
	XD_CHECK(enc1->e[XD_ENC_C]->in == cfg.m && enc1->e[XD_ENC_U]->in == cfg.d);
	xd_dist_encoders_free(enc1);
	xd_dist_encoders_free(enc2);
	xd_transfer_result_free(&src);
	xd_generated_free(g);
}
