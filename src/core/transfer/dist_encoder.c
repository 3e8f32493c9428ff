/*
 * dist_encoder.c - the distributional encoders E, the poisoning models P and the
 * KL regulariser of DRR (DESIGN.md section 4; paper section 5.3.2, eq. 20-22).
 * All passes are batched over rows with BLAS, like the model's.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/clock.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/sample.h"

/* ---------------------------------------------------------------- objects */

xd_status
xd_dist_encoder_new(int in, int hidden, int latent, const char *prefix,
					xd_dist_encoder **out)
{
	xd_param_spec specs[6] = {
		{"W1", hidden, in}, {"b1", 1, hidden},
		{"Wm", latent, hidden}, {"bm", 1, latent},
		{"Wl", latent, hidden}, {"bl", 1, latent},
	};
	xd_dist_encoder *e;
	xd_status	st;

	*out = NULL;
	if (in < 1 || hidden < 1 || latent < 1)
		return XD_EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return XD_ENOMEM;
	/* encoders are shared modules (DESIGN.md section 1) */
	if ((st = xd_params_new(prefix, specs, 6, XD_GROUP_SHARED, &e->params)) != XD_OK)
	{
		free(e);
		return st;
	}
	e->n_params = 6;
	e->in = in;
	e->hidden = hidden;
	e->latent = latent;
	e->W1 = &e->params[0];
	e->b1 = &e->params[1];
	e->Wm = &e->params[2];
	e->bm = &e->params[3];
	e->Wl = &e->params[4];
	e->bl = &e->params[5];
	*out = e;
	return XD_OK;
}

void
xd_dist_encoder_init(xd_dist_encoder *e, xd_rng *rng)
{
	xd_params_zero(e->params, e->n_params);
	xd_param_xavier(e->W1, 1.0f, rng);
	xd_param_xavier(e->Wm, 1.0f, rng);
	xd_param_xavier(e->Wl, 1.0f, rng);
}

void
xd_dist_encoder_free(xd_dist_encoder *e)
{
	if (!e)
		return;
	xd_params_free(e->params, e->n_params);
	free(e);
}

xd_status
xd_poison_new(int in, int hidden, const char *prefix, xd_poison **out)
{
	xd_param_spec specs[4] = {
		{"W1", hidden, in}, {"b1", 1, hidden},
		{"W2", in, hidden}, {"b2", 1, in},
	};
	xd_poison  *p;
	xd_status	st;

	*out = NULL;
	if (in < 1 || hidden < 1)
		return XD_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return XD_ENOMEM;
	if ((st = xd_params_new(prefix, specs, 4, XD_GROUP_SHARED, &p->params)) != XD_OK)
	{
		free(p);
		return st;
	}
	p->n_params = 4;
	p->in = in;
	p->hidden = hidden;
	p->W1 = &p->params[0];
	p->b1 = &p->params[1];
	p->W2 = &p->params[2];
	p->b2 = &p->params[3];
	*out = p;
	return XD_OK;
}

void
xd_poison_init(xd_poison *p, xd_rng *rng)
{
	xd_params_zero(p->params, p->n_params);
	xd_param_xavier(p->W1, 1.0f, rng);
	/* small perturbations at first: poisoned samples start near the data */
	xd_param_xavier(p->W2, 0.1f, rng);
}

void
xd_poison_free(xd_poison *p)
{
	if (!p)
		return;
	xd_params_free(p->params, p->n_params);
	free(p);
}

xd_status
xd_dist_encoders_new(const xd_config *cfg, int hidden, int latent, xd_dist_encoders **out)
{
	xd_dist_encoders *enc;
	xd_status	st = XD_OK;

	*out = NULL;
	enc = calloc(1, sizeof(*enc));
	if (!enc)
		return XD_ENOMEM;
	if (cfg->n_ctx_layers >= 1)
		st = xd_dist_encoder_new(cfg->m, hidden, latent, "enc.C", &enc->e[XD_ENC_C]);
	if (st == XD_OK)
		st = xd_dist_encoder_new(cfg->d, hidden, latent, "enc.U", &enc->e[XD_ENC_U]);
	if (st == XD_OK)
		st = xd_dist_encoder_new(cfg->d, hidden, latent, "enc.V", &enc->e[XD_ENC_V]);
	if (st != XD_OK)
	{
		xd_dist_encoders_free(enc);
		return st;
	}
	*out = enc;
	return XD_OK;
}

void
xd_dist_encoders_free(xd_dist_encoders *enc)
{
	if (!enc)
		return;
	for (int k = 0; k < XD_N_ENC; k++)
		xd_dist_encoder_free(enc->e[k]);
	free(enc);
}

/* ---------------------------------------------------------------- E passes */

/* Scratch of one E pass over n rows, cut from one float array. */
typedef struct xd_enc_buf
{
	float	   *H;				/* [n * hidden] */
	float	   *MU;				/* [n * latent] */
	float	   *LV;				/* [n * latent] */
	float	   *dMU;			/* [n * latent] */
	float	   *dLV;			/* [n * latent] */
	float	   *dH;				/* [n * hidden] */
	float	   *kl;				/* [n] */
	float	   *wr;				/* [n] dLoss/dKL_r */
} xd_enc_buf;

size_t
xd_dist_kl_buf_len(const xd_dist_encoder *e, int n)
{
	return (size_t) n * (2 * (size_t) e->hidden + 4 * (size_t) e->latent + 2);
}

static void
xd_enc_buf_cut(const xd_dist_encoder *e, int n, float *buf, xd_enc_buf *b)
{
	size_t		nh = (size_t) n * e->hidden;
	size_t		nl = (size_t) n * e->latent;

	b->H = buf;
	b->MU = b->H + nh;
	b->LV = b->MU + nl;
	b->dMU = b->LV + nl;
	b->dLV = b->dMU + nl;
	b->dH = b->dLV + nl;
	b->kl = b->dH + nh;
	b->wr = b->kl + n;
}

static inline float
xd_clamp_lv(float lv)
{
	return lv > XD_ENC_LOGVAR_MAX ? XD_ENC_LOGVAR_MAX :
		(lv < -XD_ENC_LOGVAR_MAX ? -XD_ENC_LOGVAR_MAX : lv);
}

/* E(x) and KL per row: H, MU, LV, kl of b. */
static void
xd_enc_forward(const xd_dist_encoder *e, const float *x, int n, xd_enc_buf *b)
{
	int			H = e->hidden;
	int			L = e->latent;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, e->in,
				1.0f, x, e->in, e->W1->w, e->in, 0.0f, b->H, H);
	xd_relu_bias_rows(b->H, e->b1->w, n, H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L, H,
				1.0f, b->H, H, e->Wm->w, H, 0.0f, b->MU, L);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L, H,
				1.0f, b->H, H, e->Wl->w, H, 0.0f, b->LV, L);
	for (int r = 0; r < n; r++)
	{
		float	   *mu = b->MU + (size_t) r * L;
		float	   *lv = b->LV + (size_t) r * L;
		double		kl = 0.0;

		/* KL(N(mu, s^2) || N(0, I)) = 1/2 sum (mu^2 + s^2 - log s^2 - 1) */
		for (int k = 0; k < L; k++)
		{
			float		l;

			mu[k] += e->bm->w[k];
			lv[k] += e->bl->w[k];
			l = xd_clamp_lv(lv[k]);
			kl += (double) mu[k] * mu[k] + exp((double) l) - l - 1.0;
		}
		b->kl[r] = (float) (0.5 * kl);
	}
}

/*
 * Back through E with dLoss/dKL_r = b->wr[r]: into E's gradients when
 * param_grad, into dx [n * in] (added) when dx is not NULL.
 */
static void
xd_enc_backward(const xd_dist_encoder *e, const float *x, int n, xd_enc_buf *b,
				bool param_grad, float *dx)
{
	int			H = e->hidden;
	int			L = e->latent;

	for (int r = 0; r < n; r++)
	{
		size_t		o = (size_t) r * L;
		float		w = b->wr[r];

		for (int k = 0; k < L; k++)
		{
			float		lv = b->LV[o + k];
			bool		inside = lv > -XD_ENC_LOGVAR_MAX && lv < XD_ENC_LOGVAR_MAX;

			/* dKL/dmu = mu; dKL/dlog s^2 = (s^2 - 1) / 2 */
			b->dMU[o + k] = w * b->MU[o + k];
			b->dLV[o + k] = inside ? w * 0.5f * (expf(lv) - 1.0f) : 0.0f;
		}
	}
	if (param_grad)
	{
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, H, n,
					1.0f, b->dMU, L, b->H, H, 1.0f, e->Wm->g, H);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, H, n,
					1.0f, b->dLV, L, b->H, H, 1.0f, e->Wl->g, H);
		for (int r = 0; r < n; r++)
			for (int k = 0; k < L; k++)
			{
				e->bm->g[k] += b->dMU[(size_t) r * L + k];
				e->bl->g[k] += b->dLV[(size_t) r * L + k];
			}
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, L,
				1.0f, b->dMU, L, e->Wm->w, H, 0.0f, b->dH, H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, L,
				1.0f, b->dLV, L, e->Wl->w, H, 1.0f, b->dH, H);
	xd_relu_grad(b->dH, b->H, NULL, (size_t) n * H);
	if (param_grad)
	{
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, e->in, n,
					1.0f, b->dH, H, x, e->in, 1.0f, e->W1->g, e->in);
		for (int r = 0; r < n; r++)
			for (int k = 0; k < H; k++)
				e->b1->g[k] += b->dH[(size_t) r * H + k];
	}
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, e->in, H,
					1.0f, b->dH, H, e->W1->w, e->in, 1.0f, dx, e->in);
}

void
xd_dist_kl(const xd_dist_encoder *e, const float *x, int n, double *kl_sum,
		   float *kl_rows, float scale, float *dx, float *buf)
{
	xd_enc_buf	b;
	double		s = 0.0;

	xd_enc_buf_cut(e, n, buf, &b);
	xd_enc_forward(e, x, n, &b);
	for (int r = 0; r < n; r++)
		s += b.kl[r];
	*kl_sum = s;
	if (kl_rows)
		memcpy(kl_rows, b.kl, sizeof(float) * n);
	if (dx)
	{
		for (int r = 0; r < n; r++)
			b.wr[r] = scale;
		/* E frozen: only dKL/dx (eq. 22) */
		xd_enc_backward(e, x, n, &b, false, dx);
	}
}

/* ---------------------------------------------------------------- P passes */

/* P(x) over n rows: G [n * hidden] = ReLU(W1 x + b1), out [n * in] = W2 G + b2. */
static void
xd_poison_forward(const xd_poison *p, const float *x, int n, float *G, float *out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, p->hidden, p->in,
				1.0f, x, p->in, p->W1->w, p->in, 0.0f, G, p->hidden);
	xd_relu_bias_rows(G, p->b1->w, n, p->hidden);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, p->in, p->hidden,
				1.0f, G, p->hidden, p->W2->w, p->hidden, 0.0f, out, p->in);
	for (int r = 0; r < n; r++)
		for (int j = 0; j < p->in; j++)
			out[(size_t) r * p->in + j] += p->b2->w[j];
}

xd_status
xd_dist_encoder_loss(xd_dist_encoder *e, const xd_poison *p, const float *x, int n,
				float kappa, bool grad, double *loss)
{
	size_t		nin = (size_t) n * e->in;
	float	   *X2 = NULL;
	float	   *G = NULL;
	float	   *buf = NULL;
	xd_enc_buf	b;
	double		s = 0.0;
	float		inv = 1.0f / (float) n;

	*loss = 0.0;
	if (n < 1 || p->in != e->in)
		return XD_EINVAL;
	X2 = malloc(sizeof(float) * 2 * nin);
	G = malloc(sizeof(float) * (size_t) n * p->hidden);
	buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, 2 * n));
	if (!X2 || !G || !buf)
	{
		free(X2);
		free(G);
		free(buf);
		return XD_ENOMEM;
	}
	/* rows [0, n): x; rows [n, 2n): the poisoned x~ = x + P(x), P held fixed */
	memcpy(X2, x, sizeof(float) * nin);
	xd_poison_forward(p, x, n, G, X2 + nin);
	for (size_t i = 0; i < nin; i++)
		X2[nin + i] += x[i];
	xd_enc_buf_cut(e, 2 * n, buf, &b);
	xd_enc_forward(e, X2, 2 * n, &b);

	/* eq. 20 with DESIGN.md's bound: KL(x) - min(KL(x~), kappa), mean over rows */
	for (int r = 0; r < n; r++)
	{
		float		kp = b.kl[n + r];

		s += (double) b.kl[r] - (kp < kappa ? kp : kappa);
		b.wr[r] = inv;
		b.wr[n + r] = kp < kappa ? -inv : 0.0f;
	}
	*loss = s / n;
	if (grad && isfinite(*loss))
		xd_enc_backward(e, X2, 2 * n, &b, true, NULL);
	free(X2);
	free(G);
	free(buf);
	return isfinite(*loss) ? XD_OK : XD_ENUMERIC;
}

xd_status
xd_poison_loss(const xd_dist_encoder *e, xd_poison *p, const float *x, int n,
			   bool grad, double *loss)
{
	size_t		nin = (size_t) n * e->in;
	size_t		nh = (size_t) n * p->hidden;
	float	   *Xt = NULL;
	float	   *P = NULL;
	float	   *G = NULL;
	float	   *dX = NULL;
	float	   *dG = NULL;
	float	   *buf = NULL;
	xd_enc_buf	b;
	double		s = 0.0;
	float		inv = 1.0f / (float) n;
	xd_status	st = XD_OK;

	*loss = 0.0;
	if (n < 1 || p->in != e->in)
		return XD_EINVAL;
	Xt = malloc(sizeof(float) * nin);
	P = malloc(sizeof(float) * nin);
	G = malloc(sizeof(float) * nh);
	dX = calloc(nin, sizeof(float));
	dG = malloc(sizeof(float) * nh);
	buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, n));
	if (!Xt || !P || !G || !dX || !dG || !buf)
	{
		st = XD_ENOMEM;
		goto done;
	}
	xd_poison_forward(p, x, n, G, P);
	for (size_t i = 0; i < nin; i++)
		Xt[i] = x[i] + P[i];
	xd_enc_buf_cut(e, n, buf, &b);
	xd_enc_forward(e, Xt, n, &b);

	/* eq. 21: KL(x + P(x)) - log(||P(x)|| + 1e-6), mean over rows */
	for (int r = 0; r < n; r++)
	{
		const float *pr = P + (size_t) r * p->in;
		double		nn = 0.0;

		for (int j = 0; j < p->in; j++)
			nn += (double) pr[j] * pr[j];
		nn = sqrt(nn);
		s += (double) b.kl[r] - log(nn + 1e-6);
		b.wr[r] = inv;
		/* kl[r] is summed: keep the norm there for backward */
		b.kl[r] = (float) nn;
	}
	*loss = s / n;
	if (!isfinite(*loss))
	{
		st = XD_ENUMERIC;
		goto done;
	}
	if (grad)
	{
		/* dL/dx~ through the frozen E, then dL/dP = dL/dx~ - P / (n ||P|| (||P|| + 1e-6)) */
		xd_enc_backward(e, Xt, n, &b, false, dX);
		for (int r = 0; r < n; r++)
		{
			float		nn = b.kl[r];
			float		c = nn > 0.0f ? inv / (nn * (nn + 1e-6f)) : 0.0f;
			float	   *dr = dX + (size_t) r * p->in;
			const float *pr = P + (size_t) r * p->in;

			for (int j = 0; j < p->in; j++)
				dr[j] -= c * pr[j];
		}
		/* P's layers: dW2 += dP^T G; db2 += dP; dG = dP W2 . [G > 0]; dW1 += dG^T x */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->in, p->hidden, n,
					1.0f, dX, p->in, G, p->hidden, 1.0f, p->W2->g, p->hidden);
		for (int r = 0; r < n; r++)
			for (int j = 0; j < p->in; j++)
				p->b2->g[j] += dX[(size_t) r * p->in + j];
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, p->hidden, p->in,
					1.0f, dX, p->in, p->W2->w, p->hidden, 0.0f, dG, p->hidden);
		xd_relu_grad(dG, G, NULL, nh);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->hidden, p->in, n,
					1.0f, dG, p->hidden, x, p->in, 1.0f, p->W1->g, p->in);
		for (int r = 0; r < n; r++)
			for (int k = 0; k < p->hidden; k++)
				p->b1->g[k] += dG[(size_t) r * p->hidden + k];
	}
done:
	free(Xt);
	free(P);
	free(G);
	free(dX);
	free(dG);
	free(buf);
	return st;
}

/* ---------------------------------------------------------------- eq. 22 */

/*
 * eq. 22 (DESIGN.md section 4) as an extra loss term of the adapted model:
 * lambda_KL (KL(E_C(x^1')) + KL(E_U(e~_u')) + KL(E_V(e~_v'))) on the inputs
 * after their residuals, mean over the positives; arg is the xd_adapt.
 */
static xd_status
xd_adapt_kl_term(void *arg, const xd_batch *b, const xd_loss_inputs *in,
				 double *value)
{
	xd_adapt   *ad = arg;
	const xd_dist_encoders *enc = ad->enc;
	float		lambda = ad->lambda_kl;
	int			P = in->n_pos;
	float		scale = lambda / (float) P;
	const float *x[XD_N_ENC];
	float	   *dx[XD_N_ENC];
	int			w[XD_N_ENC];
	size_t		need = 0;
	double		total = 0.0;

	(void) b;
	*value = 0.0;
	if (!enc || lambda == 0.0f)
		return XD_OK;
	if (P < 1)
		return XD_EINVAL;
	x[XD_ENC_C] = in->x1;
	x[XD_ENC_U] = in->eu;
	x[XD_ENC_V] = in->ev;
	dx[XD_ENC_C] = in->d_x1;
	dx[XD_ENC_U] = in->d_eu;
	dx[XD_ENC_V] = in->d_ev;
	w[XD_ENC_C] = in->m;
	w[XD_ENC_U] = w[XD_ENC_V] = in->d;
	for (int k = 0; k < XD_N_ENC; k++)
		if (enc->e[k] && x[k])
		{
			if (enc->e[k]->in != w[k])
				return XD_EINVAL;
			if (xd_dist_kl_buf_len(enc->e[k], P) > need)
				need = xd_dist_kl_buf_len(enc->e[k], P);
		}
	if (ad->kl_buf_len < need)
	{
		free(ad->kl_buf);
		ad->kl_buf_len = 0;
		if (!(ad->kl_buf = malloc(sizeof(float) * need)))
			return XD_ENOMEM;
		ad->kl_buf_len = need;
	}
	for (int k = 0; k < XD_N_ENC; k++)
	{
		double		s = 0.0;

		if (!enc->e[k] || !x[k])
			continue;
		xd_dist_kl(enc->e[k], x[k], P, &s, NULL, scale, dx[k], ad->kl_buf);
		total += s;
	}
	*value = (double) lambda * total / P;
	return XD_OK;
}

xd_status
xd_adapt_add_kl(xd_model *model, const xd_dist_encoders *enc, float lambda_kl)
{
	if (!model->adapt)
		return XD_EINVAL;
	model->adapt->enc = enc;
	model->adapt->lambda_kl = enc ? lambda_kl : 0.0f;
	if (!enc || lambda_kl == 0.0f)
		return XD_OK;
	return xd_model_add_loss_term(model, xd_adapt_kl_term, model->adapt);
}

/* ---------------------------------------------------------------- training */

void
xd_dist_encoder_opts_default(xd_dist_encoder_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = XD_ENC_EPOCHS;
	o->batch_size = 256;
	o->lr = 1e-3f;
	o->kappa = XD_ENC_KAPPA;
	o->hidden = XD_ENC_HIDDEN;
	o->latent = XD_ENC_LATENT;
	o->max_rows = 20000;
	o->seed = 42;
}

/* Where xd_dist_encoders_train is, for its progress reports. */
typedef struct xd_enc_progress
{
	double		t0;
	int			done;			/* epochs finished, every encoder's */
	int			total;			/* epochs of every encoder */
	int64_t		rows;			/* rows trained on so far */
} xd_enc_progress;

/* After an epoch of one encoder: one progress report, numbered on across encoders. */
static void
xd_enc_report(const xd_dist_encoder_opts *o, xd_enc_progress *pr, double loss)
{
	xd_epoch_report r;

	memset(&r, 0, sizeof(r));
	r.epoch = ++pr->done;
	r.loss = r.loss_data = loss;
	r.lr = o->lr;
	r.metric = NAN;				/* no validation: E learns the source's inputs */
	r.best_metric = NAN;
	r.seconds = xd_clock_seconds() - pr->t0;
	r.positives_per_sec = r.seconds > 0.0 ? (double) pr->rows / r.seconds : 0.0;
	r.eta_seconds = r.seconds / pr->done * (pr->total - pr->done);
	xd_hooks_report(&o->hooks, &r);
}

/*
 * Alternating training of one E against one P on X [N * in] (eq. 20-21);
 * each epoch reported with E's mean loss (eq. 20).
 */
static xd_status
xd_train_one(xd_dist_encoder *e, xd_poison *p, const float *X, int64_t N,
			 const xd_dist_encoder_opts *o, xd_rng *rng, int k, xd_dist_encoder_report *rep,
			 xd_enc_progress *pr)
{
	int64_t    *idx = malloc(sizeof(int64_t) * (size_t) N);
	float	   *xb = malloc(sizeof(float) * (size_t) o->batch_size * e->in);
	float	   *G = NULL;
	float	   *Pb = NULL;
	float	   *buf = NULL;
	xd_status	st = XD_OK;
	const float b1 = 0.9f,
				b2 = 0.999f,
				eps = 1e-8f;

	if (!idx || !xb)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int64_t i = 0; i < N; i++)
		idx[i] = i;
	for (int ep = 0; ep < o->epochs; ep++)
	{
		double		e_loss = 0.0;
		int64_t		n_batches = 0;

		xd_shuffle_rows(idx, N, rng);
		for (int64_t start = 0; start < N; start += o->batch_size)
		{
			int			n = (int) (N - start < o->batch_size ? N - start : o->batch_size);
			double		loss;
			bool		ok = true;

			if (xd_hooks_stopped(&o->hooks))
			{
				st = XD_ECANCELLED;
				goto done;
			}
			for (int r = 0; r < n; r++)
				memcpy(xb + (size_t) r * e->in, X + (size_t) idx[start + r] * e->in,
					   sizeof(float) * e->in);
			/* E step (eq. 20), then P step (eq. 21), each on its own params */
			if ((st = xd_dist_encoder_loss(e, p, xb, n, o->kappa, true, &loss)) != XD_OK)
				goto done;
			e_loss += loss;
			n_batches++;
			for (int i = 0; i < e->n_params; i++)
				ok &= xd_param_adam(&e->params[i], o->lr, b1, b2, eps);
			if ((st = xd_poison_loss(e, p, xb, n, true, &loss)) != XD_OK)
				goto done;
			for (int i = 0; i < p->n_params; i++)
				ok &= xd_param_adam(&p->params[i], o->lr, b1, b2, eps);
			if (!ok)
			{
				st = XD_ENUMERIC;
				goto done;
			}
		}
		pr->rows += N;
		xd_enc_report(o, pr, n_batches > 0 ? e_loss / (double) n_batches : NAN);
	}
	/* what E learned: mean KL of clean and of poisoned source inputs */
	if (rep)
	{
		int			n = (int) (N < 4096 ? N : 4096);
		double		s = 0.0;
		double		norm = 0.0;

		G = malloc(sizeof(float) * (size_t) n * p->hidden);
		Pb = malloc(sizeof(float) * (size_t) n * e->in);
		buf = malloc(sizeof(float) * xd_dist_kl_buf_len(e, n));
		if (!G || !Pb || !buf)
		{
			st = XD_ENOMEM;
			goto done;
		}
		xd_dist_kl(e, X, n, &s, NULL, 0.0f, NULL, buf);
		rep->kl_clean[k] = s / n;
		xd_poison_forward(p, X, n, G, Pb);
		for (int r = 0; r < n; r++)
		{
			double		nn = 0.0;

			for (int j = 0; j < e->in; j++)
			{
				float		v = Pb[(size_t) r * e->in + j];

				nn += (double) v * v;
				Pb[(size_t) r * e->in + j] = v + X[(size_t) r * e->in + j];
			}
			norm += sqrt(nn);
		}
		xd_dist_kl(e, Pb, n, &s, NULL, 0.0f, NULL, buf);
		rep->kl_poisoned[k] = s / n;
		rep->poison_norm[k] = norm / n;
	}
done:
	free(idx);
	free(xb);
	free(G);
	free(Pb);
	free(buf);
	return st;
}

xd_status
xd_dist_encoders_train(xd_model *source, const xd_dataset *src,
				  const xd_dist_encoder_opts *o, xd_dist_encoders **out,
				  xd_dist_encoder_report *rep)
{
	xd_dist_encoders *enc = NULL;
	xd_batch	b = {0};
	int64_t    *rows = NULL;
	int64_t		n_rows = 0;
	int64_t		N;
	float	   *X[XD_N_ENC] = {NULL, NULL, NULL};
	int			w[XD_N_ENC];
	xd_rng		rng;
	xd_status	st;
	double		t0 = xd_clock_seconds();
	int			m = source->cfg.m;
	int			d = source->cfg.d;
	xd_enc_progress pr = {t0, 0, 0, 0};

	*out = NULL;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (o->epochs < 0 || o->batch_size < 1 || o->max_rows < 1 || !(o->lr > 0.0f) ||
		o->hidden < 1 || o->latent < 1 || src->enc.schema.m != m)
		return XD_EINVAL;
	if ((st = xd_train_rows(src, &rows, &n_rows)) != XD_OK)
		return st;
	xd_rng_seed(&rng, o->seed);
	xd_shuffle_rows(rows, n_rows, &rng);
	N = n_rows < o->max_rows ? n_rows : o->max_rows;
	if (N > (1 << 30))
		N = 1 << 30;
	if ((st = xd_batch_init(&b, (int) N, m)) != XD_OK)
		goto done;

	/* the module inputs the trained source model produces on its positives */
	for (int64_t i = 0; i < N; i++)
	{
		b.users[i] = src->users[rows[i]];
		b.items[i] = src->items[rows[i]];
		xd_dataset_encode(src, rows[i], -1, b.c + (size_t) i * m);
	}
	b.n = (int) N;
	w[XD_ENC_C] = m;
	w[XD_ENC_U] = w[XD_ENC_V] = d;
	for (int k = 0; k < XD_N_ENC; k++)
		if (!(X[k] = malloc(sizeof(float) * (size_t) N * w[k])))
		{
			st = XD_ENOMEM;
			goto done;
		}
	if ((st = xd_model_module_inputs(source, &b, X[XD_ENC_C], X[XD_ENC_U],
									 X[XD_ENC_V])) != XD_OK)
		goto done;
	if ((st = xd_dist_encoders_new(&source->cfg, o->hidden, o->latent, &enc)) != XD_OK)
		goto done;

	for (int k = 0; k < XD_N_ENC; k++)
		pr.total += enc->e[k] ? o->epochs : 0;
	for (int k = 0; k < XD_N_ENC; k++)
	{
		xd_poison  *p = NULL;
		static const char *const pname[XD_N_ENC] = {"poison.C", "poison.U", "poison.V"};

		if (!enc->e[k])
			continue;
		xd_dist_encoder_init(enc->e[k], &rng);
		if ((st = xd_poison_new(w[k], o->hidden, pname[k], &p)) != XD_OK)
			goto done;
		xd_poison_init(p, &rng);
		st = xd_train_one(enc->e[k], p, X[k], N, o, &rng, k, rep, &pr);
		/* P is discarded: only E is stored (DESIGN.md section 4) */
		xd_poison_free(p);
		if (st != XD_OK)
			goto done;
	}
	if (rep)
	{
		rep->n_rows = N;
		rep->seconds = xd_clock_seconds() - t0;
	}
	*out = enc;
	enc = NULL;
done:
	xd_dist_encoders_free(enc);
	for (int k = 0; k < XD_N_ENC; k++)
		free(X[k]);
	xd_batch_free(&b);
	free(rows);
	return st;
}
