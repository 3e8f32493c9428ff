/*
 * fewshot_lstm.c - the LSTM cell of s²Meta's controllers (fewshot.h): one
 * step forward and its backward, on n independent rows, and the paper's
 * input preprocessing (eq. 12). The update controller runs it over every
 * coordinate of a tensor at once (paper eq. 8), the stop controller over its
 * one sequence (eq. 9). LayerNorm over the gate pre-activations keeps inputs
 * of very different scales (a loss of 0.5, a gradient of 1e-6) from
 * saturating the gates (PEERS.md).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "xdrec/activation.h"
#include "xdrec/fewshot.h"

#define LN_EPS 1e-5f

void
xd_fs_preprocess(float x, float *out2)
{
	float		ax = fabsf(x);

	if (ax >= expf(-XD_FS_PRE_P))
	{
		out2[0] = logf(ax) / XD_FS_PRE_P;
		out2[1] = x > 0.0f ? 1.0f : -1.0f;
	}
	else
	{
		out2[0] = -1.0f;
		out2[1] = expf(XD_FS_PRE_P) * x;
	}
}

/*
 * Rows at most this many are multiplied in plain loops: a controller runs
 * on one row (per tensor, or the stop sequence), 9-12 cells an update, and
 * three BLAS calls a cell on a 64 x 22 matrix cost more in call overhead
 * than in arithmetic (5% of an adaptation, perf)
 */
#define SMALL_ROWS 4

/* out[r, j] += sum_k x[r, k] W[j, k] for r < n, j < n_out: x W^T, n small */
static void
small_matmul_t(int n, int n_out, int k_in, const float *x, const float *W, float *out)
{
	for (int r = 0; r < n; r++)
		for (int j = 0; j < n_out; j++)
		{
			const float *wj = W + (size_t) j * k_in,
					   *xr = x + (size_t) r * k_in;
			float		acc = 0.0f;

			for (int k = 0; k < k_in; k++)
				acc += xr[k] * wj[k];
			out[(size_t) r * n_out + j] += acc;
		}
}

/* z = x Wx^T + h' Wh^T + b for n rows into z [n * 4H] */
static void
gates_pre(const xd_fs_lstm *l, int n, const float *x, const float *h_prev, float *z)
{
	int			G = 4 * l->hidden;

	for (int r = 0; r < n; r++)
		memcpy(z + (size_t) r * G, l->b->w, sizeof(float) * G);
	if (n <= SMALL_ROWS)
	{
		small_matmul_t(n, G, l->in, x, l->Wx->w, z);
		if (h_prev)
			small_matmul_t(n, G, l->hidden, h_prev, l->Wh->w, z);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, G, l->in, 1.0f, x, l->in,
				l->Wx->w, l->in, 1.0f, z, G);
	if (h_prev)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, G, l->hidden, 1.0f, h_prev,
					l->hidden, l->Wh->w, l->hidden, 1.0f, z, G);
}

/* LayerNorm of one row z[G] in place into zh (normalised) and a; returns 1/sd */
static float
layer_norm(const xd_fs_lstm *l, const float *z, float *zh, float *a)
{
	int			G = 4 * l->hidden;
	float		mu = 0.0f,
				var = 0.0f,
				rs;

	for (int k = 0; k < G; k++)
		mu += z[k];
	mu /= (float) G;
	for (int k = 0; k < G; k++)
		var += (z[k] - mu) * (z[k] - mu);
	rs = 1.0f / sqrtf(var / (float) G + LN_EPS);
	for (int k = 0; k < G; k++)
	{
		zh[k] = (z[k] - mu) * rs;
		a[k] = l->ln_g->w[k] * zh[k] + l->ln_b->w[k];
	}
	return rs;
}

/*
 * One row's gates from its normalised pre-activations a [G]: g = [i, f, u,
 * o] = [sigma, sigma, tanh, sigma](a), c = f . c' + i . u and tc = tanh(c),
 * [H] each. The activations are activation.h's vectorised kernels: the
 * update controller runs over every coordinate of theta, and glibc's expf
 * and tanhf, one call an element, were half of an adaptation's time (perf).
 * Forward and backward both take them from here, so they agree.
 */
static void
gate_acts(int H, const float *a, const float *cp, float *g, float *c, float *tc)
{
	memcpy(g, a, sizeof(float) * 4 * H);
	xd_sigmoid_inplace(g, 2 * (size_t) H);
	xd_tanh_inplace(g + 2 * H, (size_t) H);
	xd_sigmoid_inplace(g + 3 * H, (size_t) H);
	for (int k = 0; k < H; k++)
		c[k] = (cp ? g[H + k] * cp[k] : 0.0f) + g[k] * g[2 * H + k];
	memcpy(tc, c, sizeof(float) * H);
	xd_tanh_inplace(tc, (size_t) H);
}

void
xd_fs_lstm_forward(const xd_fs_lstm *l, int n, const float *x, const float *h_prev,
				   const float *c_prev, float *h, float *c, float *out, float *scratch)
{
	int			H = l->hidden,
				G = 4 * H;
	float		zh[4 * XD_FS_HIDDEN],
				a[4 * XD_FS_HIDDEN],
				g[4 * XD_FS_HIDDEN],
				tc[XD_FS_HIDDEN];

	gates_pre(l, n, x, h_prev, scratch);
	for (int r = 0; r < n; r++)
	{
		const float *cp = c_prev ? c_prev + (size_t) r * H : NULL;
		float	   *hr = h + (size_t) r * H,
				   *cr = c + (size_t) r * H;

		layer_norm(l, scratch + (size_t) r * G, zh, a);
		/* c' is read before c is written: c may be c_prev (fewshot.c) */
		gate_acts(H, a, cp, g, cr, tc);
		for (int k = 0; k < H; k++)
			hr[k] = g[3 * H + k] * tc[k];
	}
	/* out = h Wo^T + bo */
	for (int r = 0; r < n; r++)
		memcpy(out + (size_t) r * l->n_out, l->bo->w, sizeof(float) * l->n_out);
	if (n <= SMALL_ROWS)
		small_matmul_t(n, l->n_out, H, h, l->Wo->w, out);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, l->n_out, H, 1.0f, h, H,
					l->Wo->w, H, 1.0f, out, l->n_out);
}

void
xd_fs_lstm_backward(xd_fs_lstm *l, int n, const float *x, const float *h_prev,
					const float *c_prev, const float *d_out, float *dh, float *dc,
					float *scratch)
{
	int			H = l->hidden,
				G = 4 * H;
	float	   *z = scratch;	/* [n * G], then dz */
	float	   *hh = scratch + (size_t) n * G;	/* [n * H] this step's h */
	float		zh[4 * XD_FS_HIDDEN],
				a[4 * XD_FS_HIDDEN],
				gv[4 * XD_FS_HIDDEN],
				ccv[XD_FS_HIDDEN],
				tcv[XD_FS_HIDDEN],
				da[4 * XD_FS_HIDDEN];

	gates_pre(l, n, x, h_prev, z);
	for (int r = 0; r < n; r++)
	{
		const float *cp = c_prev ? c_prev + (size_t) r * H : NULL;
		float	   *zr = z + (size_t) r * G,
				   *dhr = dh + (size_t) r * H,
				   *dcr = dc + (size_t) r * H;
		float		rs = layer_norm(l, zr, zh, a),
					m1 = 0.0f,
					m2 = 0.0f;

		/* dh += Wo^T d_out; the head's own gradients need this step's h */
		gate_acts(H, a, cp, gv, ccv, tcv);
		for (int k = 0; k < H; k++)
		{
			float		i = gv[k],
						f = gv[H + k],
						u = gv[2 * H + k],
						o = gv[3 * H + k],
						cprev = cp ? cp[k] : 0.0f,
						tc = tcv[k],
						dhk = dhr[k],
						dck;

			hh[(size_t) r * H + k] = o * tc;
			if (d_out)
				for (int j = 0; j < l->n_out; j++)
					dhk += l->Wo->w[j * H + k] * d_out[(size_t) r * l->n_out + j];
			dck = dcr[k] + dhk * o * (1.0f - tc * tc);
			da[k] = dck * u * i * (1.0f - i);
			da[H + k] = dck * cprev * f * (1.0f - f);
			da[2 * H + k] = dck * i * (1.0f - u * u);
			da[3 * H + k] = dhk * tc * o * (1.0f - o);
			dcr[k] = dck * f;	/* dL/dc_prev */
		}
		/* LayerNorm: dz = rs (dzh - mean dzh - zh mean(dzh . zh)) */
		for (int k = 0; k < G; k++)
		{
			float		dzh = da[k] * l->ln_g->w[k];

			l->ln_g->g[k] += da[k] * zh[k];
			l->ln_b->g[k] += da[k];
			m1 += dzh;
			m2 += dzh * zh[k];
			da[k] = dzh;
		}
		m1 /= (float) G;
		m2 /= (float) G;
		for (int k = 0; k < G; k++)
		{
			zr[k] = rs * (da[k] - m1 - zh[k] * m2);
			l->b->g[k] += zr[k];
		}
	}
	if (d_out)
	{
		/* dWo += d_out^T h, dbo += sum d_out */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->n_out, H, n, 1.0f, d_out,
					l->n_out, hh, H, 1.0f, l->Wo->g, H);
		for (int r = 0; r < n; r++)
			for (int j = 0; j < l->n_out; j++)
				l->bo->g[j] += d_out[(size_t) r * l->n_out + j];
	}
	/* dWx += dz^T x, dWh += dz^T h', dh' = dz Wh */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, l->in, n, 1.0f, z, G, x,
				l->in, 1.0f, l->Wx->g, l->in);
	if (h_prev)
	{
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, n, 1.0f, z, G, h_prev,
					H, 1.0f, l->Wh->g, H);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, G, 1.0f, z, G,
					l->Wh->w, H, 0.0f, dh, H);
	}
	else
		memset(dh, 0, sizeof(float) * (size_t) n * H);
}
