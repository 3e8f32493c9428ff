/*
 * test_activation.c - the vectorised sigmoid and tanh (activation.h): exact
 * at 0, the error bound against double precision over a sweep of floats,
 * saturation, NaN, and values that do not depend on an element's position
 * or the array's length.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "xdrec/activation.h"
#include "xdrec/rng.h"

static float
ta_sigmoid(float z)
{
	xd_sigmoid_inplace(&z, 1);
	return z;
}

static float
ta_tanh(float z)
{
	xd_tanh_inplace(&z, 1);
	return z;
}

/* sigmoid(0) = 1/2 and tanh(+-0) = +-0 exactly, alone and inside a vector */
XD_TEST(activation_exact_at_zero)
{
	float		s[7] = {0},
				t[7] = {0};

	XD_CHECK(ta_sigmoid(0.0f) == 0.5f);
	XD_CHECK(ta_sigmoid(-0.0f) == 0.5f);
	XD_CHECK(ta_tanh(0.0f) == 0.0f && !signbit(ta_tanh(0.0f)));
	XD_CHECK(ta_tanh(-0.0f) == 0.0f && signbit(ta_tanh(-0.0f)));
	xd_sigmoid_inplace(s, 7);
	xd_tanh_inplace(t, 7);
	for (int i = 0; i < 7; i++)
		XD_CHECK(s[i] == 0.5f && t[i] == 0.0f && !signbit(t[i]));
}

/*
 * Relative error against double precision over every 1021st float of
 * [-90, 90] (2.2 million values, subnormals included), in arrays so that the
 * vector lanes are what is measured. Over every float of [-90, 90] the
 * largest errors are 1.78e-7 for sigmoid (at z = -5.88) and 1.77e-7 for tanh
 * (at z = 0.148), 1.5 units of FLT_EPSILON; the bound asserted is 2e-7.
 * Sigmoid's is relative while the exact value is a normal float (z >= -87.3),
 * absolute (under FLT_MIN) below. tanh's is relative everywhere, near 0 too,
 * where the former 1 - 2 / (1 + e^2z) was only good to 1e-6 absolute.
 */
XD_TEST(activation_error_bound)
{
	enum
	{
		STRIDE = 1021, CHUNK = 4096
	};
	float		z[CHUNK],
				s[CHUNK],
				t[CHUNK];
	uint32_t	top;
	float		ninety = 90.0f;
	double		err_s = 0.0,
				err_t = 0.0,
				err_tiny = 0.0;
	int			k = 0,
				bad = 0;

	memcpy(&top, &ninety, sizeof(top));
	for (uint32_t sign = 0; sign < 2; sign++)
		for (uint64_t bits = 0; bits <= top; bits += STRIDE)
		{
			uint32_t	b = (uint32_t) bits | sign << 31;

			memcpy(&z[k++], &b, sizeof(float));
			if (k < CHUNK && bits + STRIDE <= top)
				continue;
			memcpy(s, z, sizeof(float) * k);
			memcpy(t, z, sizeof(float) * k);
			xd_sigmoid_inplace(s, k);
			xd_tanh_inplace(t, k);
			for (int i = 0; i < k; i++)
			{
				double		rs = 1.0 / (1.0 + exp(-(double) z[i]));
				double		rt = tanh((double) z[i]);

				bad += !isfinite(s[i]) || !isfinite(t[i]);
				if (rs >= FLT_MIN)
					err_s = fmax(err_s, fabs(s[i] - rs) / rs);
				else
					err_tiny = fmax(err_tiny, fabs(s[i] - rs));
				if (rt != 0.0)
					err_t = fmax(err_t, fabs(t[i] - rt) / fabs(rt));
				else
					bad += t[i] != 0.0f;
			}
			k = 0;
		}
	XD_CHECK(bad == 0);
	XD_CHECK_NEAR(err_s, 0.0, 2e-7);
	XD_CHECK_NEAR(err_t, 0.0, 2e-7);
	XD_CHECK_NEAR(err_tiny, 0.0, FLT_MIN);
}

/* Large inputs saturate without overflow: no NaN or Inf from finite input. */
XD_TEST(activation_saturates)
{
	float		big[] = {17.0f, 88.0f, 89.0f, 100.0f, 1e4f, 1e30f, FLT_MAX, INFINITY};

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
	{
		float		lo = ta_sigmoid(-big[i]);

		XD_CHECK(ta_sigmoid(big[i]) == 1.0f);
		XD_CHECK(lo >= 0.0f && lo < 1e-7f);
		XD_CHECK(ta_tanh(big[i]) == 1.0f);
		XD_CHECK(ta_tanh(-big[i]) == -1.0f);
	}
	XD_CHECK(ta_sigmoid(-100.0f) >= 0.0f && ta_sigmoid(-100.0f) <= FLT_MIN);
	XD_CHECK(ta_sigmoid(-INFINITY) == 0.0f);
	XD_CHECK(ta_sigmoid(FLT_MIN) == 0.5f && ta_tanh(FLT_MIN) == FLT_MIN);
}

/* NaN stays NaN (evaluation turns NaN scores into XD_ENUMERIC) and stays in its lane. */
XD_TEST(activation_nan_propagates)
{
	float		s[6] = {1.0f, NAN, -2.0f, 0.0f, -NAN, 3.0f};
	float		t[6];

	memcpy(t, s, sizeof(s));
	xd_sigmoid_inplace(s, 6);
	xd_tanh_inplace(t, 6);
	XD_CHECK(isnan(s[1]) && isnan(s[4]) && isnan(t[1]) && isnan(t[4]));
	XD_CHECK(s[0] == ta_sigmoid(1.0f) && s[2] == ta_sigmoid(-2.0f) &&
			 s[3] == 0.5f && s[5] == ta_sigmoid(3.0f));
	XD_CHECK(t[0] == ta_tanh(1.0f) && t[2] == ta_tanh(-2.0f) &&
			 t[3] == 0.0f && t[5] == ta_tanh(3.0f));
	XD_CHECK(isnan(ta_sigmoid(NAN)) && isnan(ta_tanh(NAN)));
}

/*
 * The same value wherever an element sits and whatever the array's length:
 * the tail of n % 4 elements goes through the vector lanes too.
 */
XD_TEST(activation_independent_of_position)
{
	enum
	{
		N = 23
	};
	float		z[N],
				s[N],
				t[N];
	xd_rng		rng;
	int			bad = 0;

	xd_rng_seed(&rng, 11);
	for (int i = 0; i < N; i++)
		z[i] = 20.0f * (xd_rng_uniform(&rng) - 0.5f);
	for (int off = 0; off < 4; off++)
		for (int len = 0; off + len <= N; len++)
		{
			memcpy(s, z, sizeof(z));
			memcpy(t, z, sizeof(z));
			xd_sigmoid_inplace(s + off, (size_t) len);
			xd_tanh_inplace(t + off, (size_t) len);
			for (int i = 0; i < N; i++)
			{
				bool		inside = i >= off && i < off + len;
				float		ws = inside ? ta_sigmoid(z[i]) : z[i];
				float		wt = inside ? ta_tanh(z[i]) : z[i];

				bad += memcmp(&s[i], &ws, sizeof(float)) != 0 ||
					memcmp(&t[i], &wt, sizeof(float)) != 0;
			}
		}
	XD_CHECK(bad == 0);
}

/*
 * The fused row kernels equal, bit for bit, the loops they replace (bias,
 * activation of the row, combination), at widths that are and are not
 * multiples of the lanes, narrower and wider than the tiles of lanes rows
 * (19 rows: groups of 16, 8 or 4, then 3 single rows), with the elements
 * past the last row left untouched.
 */
XD_TEST(activation_row_kernels_equal_loops)
{
	enum
	{
		ROWS = 19, MAXW = 131, LEN = ROWS * MAXW + 4
	};
	static const int widths[] = {1, 2, 3, 4, 5, 7, 8, 25, 32, 64, 67, 128, 131};
	static float T[LEN],
				x[LEN],
				c[LEN],
				b[MAXW],
				s[MAXW];
	static float T1[LEN],
				x1[LEN],
				T2[LEN],
				x2[LEN];
	xd_rng		rng;
	int			bad = 0;

	xd_rng_seed(&rng, 12);
	for (int i = 0; i < LEN; i++)
	{
		T[i] = 8.0f * (xd_rng_uniform(&rng) - 0.5f);
		x[i] = 2.0f * (xd_rng_uniform(&rng) - 0.5f);
		c[i] = xd_rng_uniform(&rng);
	}
	for (int j = 0; j < MAXW; j++)
	{
		b[j] = xd_rng_uniform(&rng) - 0.5f;
		s[j] = 0.1f * xd_rng_uniform(&rng);
	}
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
	{
		int			w = widths[wi];
		size_t		nw = (size_t) ROWS * w;

		/* eq. 19 (s NULL, in place) and eq. 4-5 (scaled, x_in != x_out) */
		for (int scaled = 0; scaled < 2; scaled++)
		{
			memcpy(T1, T, sizeof(T));
			memcpy(T2, T, sizeof(T));
			memcpy(x1, x, sizeof(x));
			memcpy(x2, x, sizeof(x));
			for (int r = 0; r < ROWS; r++)
			{
				float	   *t = T1 + (size_t) r * w;

				for (int j = 0; j < w; j++)
					t[j] += b[j];
				xd_tanh_inplace(t, w);
				for (int j = 0; j < w; j++)
					x1[(size_t) r * w + j] = (scaled ? c[(size_t) r * w + j] : x[(size_t) r * w + j]) +
						(scaled ? s[j] * t[j] : t[j]);
			}
			xd_tanh_residual_rows(T2, b, scaled ? c : x2, scaled ? s : NULL, x2, ROWS, w);
			bad += memcmp(T1, T2, sizeof(T)) != 0 || memcmp(x1, x2, sizeof(x)) != 0;
		}

		/* eq. 1-3: a = sigma(a + b . x), out = a . c */
		memcpy(T1, T, sizeof(T));
		memcpy(T2, T, sizeof(T));
		memcpy(x1, x, sizeof(x));
		memcpy(x2, x, sizeof(x));
		for (int r = 0; r < ROWS; r++)
		{
			float	   *a = T1 + (size_t) r * w;

			for (int j = 0; j < w; j++)
				a[j] += b[j] * x[(size_t) r * w + j];
			xd_sigmoid_inplace(a, w);
			for (int j = 0; j < w; j++)
				x1[(size_t) r * w + j] = a[j] * c[(size_t) r * w + j];
		}
		xd_sigmoid_ctx_rows(T2, b, x, c, x2, ROWS, w);
		bad += memcmp(T1, T2, sizeof(T)) != 0 || memcmp(x1, x2, sizeof(x)) != 0;

		/* eq. 6-7, row by row: g = sigma(g), h = e . g */
		memcpy(T1, T, sizeof(T));
		memcpy(T2, T, sizeof(T));
		memcpy(x1, x, sizeof(x));
		memcpy(x2, x, sizeof(x));
		xd_sigmoid_inplace(T1, nw);
		for (size_t i = 0; i < nw; i++)
			x1[i] = c[i] * T1[i];
		for (int r = 0; r < ROWS; r++)
			xd_sigmoid_gate(T2 + (size_t) r * w, c + (size_t) r * w,
							x2 + (size_t) r * w, w);
		bad += memcmp(T1, T2, sizeof(T)) != 0 || memcmp(x1, x2, sizeof(x)) != 0;
	}
	XD_CHECK(bad == 0);
}

/*
 * The 8-lane (AVX2) and 16-lane (AVX-512F) kernels give the 4-lane (SSE2)
 * values bit for bit, so every property the tests above assert at the
 * default width holds at all: the sweep of the error bound, the specials, and
 * the row kernels at widths 1..131 and 19 rows, tiled or not. The default is
 * the widest the CPU runs.
 */
static void
ta_run_all(const float *z, float *out, size_t n, const float *b, const float *sc)
{
	size_t		half = n / 2;

	/* in place over all of it, then the row kernels over rows of widths 1..131 */
	memcpy(out, z, sizeof(float) * n);
	xd_sigmoid_inplace(out, n / 3);
	xd_tanh_inplace(out + n / 3, n - n / 3);
	for (int w = 1, off = 0; w <= 131 && off + 19 * w * 2 <= (int) half; off += 19 * w * 2, w += 13)
	{
		float	   *T = out + off,
				   *x = out + half + off;

		xd_tanh_residual_rows(T, b, x, NULL, x, 19, w);
		xd_tanh_residual_rows(T + 19 * w, b, x, sc, x + 19 * w, 19, w);
		xd_sigmoid_ctx_rows(T, b, x, x + 19 * w, T + 19 * w, 19, w);
		for (int r = 0; r < 19; r++)
			xd_sigmoid_gate(T + r * w, x + r * w, x + 19 * w + r * w, w);
	}
}

XD_TEST(activation_widths_agree_bit_for_bit)
{
	enum
	{
		N = 1 << 17
	};
	static float z[N],
				o4[N],
				ow[N];
	float		b[131],
				sc[131];
	static const float special[] = {0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY,
		FLT_MIN, -FLT_MIN, 1e-40f, -1e-40f, FLT_MAX, -FLT_MAX, 87.3f, -87.4f, 44.0f, -44.0f};
	xd_rng		rng;
	int			widest = 4,
				compared = 0,
				in_use = xd_activation_lanes();	/* the runner's (XD_SIMD_LANES) */

#if defined(__x86_64__)
	__builtin_cpu_init();
	widest = __builtin_cpu_supports("avx512f") ? 16 :
		__builtin_cpu_supports("avx2") ? 8 : 4;
#endif
	XD_CHECK(xd_activation_max_lanes() == widest);
	xd_rng_seed(&rng, 21);
	for (int i = 0; i < N; i++)
	{
		float		u = xd_rng_uniform(&rng);

		/* most in [-12, 12], where the activations bend; some up to +-100 */
		z[i] = i % 7 == 0 ? 200.0f * (u - 0.5f) : 24.0f * (u - 0.5f);
	}
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		z[97 * i + 5] = special[i];
	for (int j = 0; j < 131; j++)
	{
		b[j] = xd_rng_uniform(&rng) - 0.5f;
		sc[j] = 0.1f * xd_rng_uniform(&rng);
	}

	XD_CHECK(xd_activation_set_lanes(4) == 4 && xd_activation_lanes() == 4);
	ta_run_all(z, o4, N, b, sc);
	for (int lanes = 8; lanes <= widest; lanes *= 2)
	{
		XD_CHECK(xd_activation_set_lanes(lanes) == lanes);
		ta_run_all(z, ow, N, b, sc);
		XD_CHECK(memcmp(o4, ow, sizeof(o4)) == 0);
		compared++;
	}
	/* a width the kernels or the CPU do not have changes nothing */
	XD_CHECK(xd_activation_set_lanes(4) == 4);
	XD_CHECK(xd_activation_set_lanes(32) == 4 && xd_activation_set_lanes(2 * widest) == 4);
	/* 0, the default at the first call, is the widest */
	XD_CHECK(xd_activation_set_lanes(0) == widest);
	/* where the CPU has a wider unit, the comparison ran */
	XD_CHECK(compared == (widest == 16 ? 2 : widest == 8 ? 1 : 0));
	/* the tests after this one run at the runner's width again */
	XD_CHECK(xd_activation_set_lanes(in_use) == in_use);
}

/*
 * The element-wise kernels of a training step (activation.h) against the
 * scalar loops they replaced in cluster.c, context.c, rank.c and optim.c,
 * bit for bit, at every width the CPU runs and at row widths that leave
 * tails.
 */
XD_TEST(activation_step_kernels_equal_loops)
{
	enum
	{
		ROWS = 11, MAXW = 131, LEN = ROWS * MAXW
	};
	static const int widths[] = {1, 3, 4, 7, 16, 25, 32, 64, 67, 131};
	static float x[LEN],
				y[LEN],
				z[LEN],
				u[LEN],
				b[MAXW],
				s[MAXW],
				rs[ROWS];
	static float r1[4][LEN],
				r2[4][LEN],
				g1[2][MAXW],
				g2[2][MAXW];
	static float gq[LEN];
	static uint16_t bits[LEN];
	xd_rng		rng;
	int			bad = 0,
				n_clamped = 0,
				in_use = xd_activation_lanes();

	xd_rng_seed(&rng, 31);
	for (int i = 0; i < LEN; i++)
	{
		x[i] = 2.0f * (xd_rng_uniform(&rng) - 0.5f);
		y[i] = 2.0f * (xd_rng_uniform(&rng) - 0.5f);
		z[i] = xd_rng_uniform(&rng);	/* a sigmoid or tanh output */
		u[i] = xd_rng_uniform(&rng) * 1e-3f;	/* Adam's second moment */
		bits[i] = (uint16_t) (xd_rng_next(&rng) & 0xffff);
		if (i % 13 == 0)
			x[i] = 0.0f;
	}
	for (int j = 0; j < MAXW; j++)
	{
		b[j] = xd_rng_uniform(&rng) - 0.5f;
		s[j] = 0.1f * xd_rng_uniform(&rng);
	}
	for (int r = 0; r < ROWS; r++)
		rs[r] = xd_rng_uniform(&rng) - 0.5f;

	for (int lanes = 4; lanes <= xd_activation_max_lanes(); lanes *= 2)
	{
		XD_CHECK(xd_activation_set_lanes(lanes) == lanes);
		for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		{
			int			w = widths[wi];
			int			n = ROWS;
			size_t		nw = (size_t) n * w;
			uint32_t	thresh = 6554;
			float		scale = 1.0f / 0.9f;
			xd_adam_coef ac = {0.9f, 0.999f, 0.1f, 0.001f, 1.0f / (1.0f - 0.729f),
			1.0f / (1.0f - 0.997003f), 1e-3f, 1e-8f};
			bool		ok1 = true,
						ok2;

#define TA_RESET() do { \
			for (int q = 0; q < 4; q++) { \
				memcpy(r1[q], q % 2 ? y : x, sizeof(x)); \
				memcpy(r2[q], q % 2 ? y : x, sizeof(x)); \
			} \
			memcpy(g1[0], s, sizeof(s)); memcpy(g2[0], s, sizeof(s)); \
			memcpy(g1[1], b, sizeof(b)); memcpy(g2[1], b, sizeof(b)); \
		} while (0)
#define TA_SAME() (memcmp(r1, r2, sizeof(r1)) == 0 && memcmp(g1, g2, sizeof(g1)) == 0)

			/* eq. 6-7 backward (cluster.c) */
			TA_RESET();
			for (int r = 0; r < n; r++)
				for (int k = 0; k < w; k++)
				{
					size_t		o = (size_t) r * w + k;
					float		g = z[o];
					float		de = x[o];

					r1[0][o] += de * g;
					r1[1][o] = de * y[o] * g * (1.0f - g);
				}
			for (int r = 0; r < n; r++)
				xd_gate_backward(x + (size_t) r * w, y + (size_t) r * w, z + (size_t) r * w,
								 r2[0] + (size_t) r * w, r2[1] + (size_t) r * w, w);
			bad += !TA_SAME();

			/* ReLU with its bias, its backward with and without a mask */
			TA_RESET();
			for (size_t i = 0; i < nw; i++)
			{
				float		v = r1[0][i] + b[i % w];

				r1[0][i] = v > 0.0f ? v : 0.0f;
				r1[1][i] = x[i] > 0.0f ? r1[1][i] * z[i] : 0.0f;
				r1[3][i] = y[i] > 0.0f ? r1[3][i] : 0.0f;
			}
			xd_relu_bias_rows(r2[0], b, n, w);
			xd_relu_grad(r2[1], x, z, nw);
			xd_relu_grad(r2[3], y, NULL, nw);
			bad += !TA_SAME();

			/* ... with dropout (cluster.c's former two passes) */
			TA_RESET();
			for (size_t i = 0; i < nw; i++)
			{
				float		v = r1[0][i] + b[i % w];

				r1[0][i] = v > 0.0f ? v : 0.0f;
				r1[2][i] = bits[i] < thresh ? 0.0f : scale;
				r1[0][i] *= r1[2][i];
			}
			xd_relu_bias_dropout_rows(r2[0], b, bits, thresh, scale, r2[2], n, w);
			bad += !TA_SAME();

			/* eq. 1-3 backward, its bias product, eq. 4-5 backward (context.c) */
			TA_RESET();
			for (int r = 0; r < n; r++)
				for (int j = 0; j < w; j++)
				{
					size_t		o = (size_t) r * w + j;
					float		aj = z[o];
					float		dx = r1[0][o];

					r1[1][o] += dx * aj;
					r1[0][o] = dx * y[o] * aj * (1.0f - aj);
					g1[1][j] += r1[0][o] * x[o];
					r1[2][o] += b[j] * r1[0][o];
				}
			xd_ctx_gate_backward_rows(r2[0], y, z, x, r2[1], g2[1], n, w);
			xd_add_scaled_rows(r2[2], b, r2[0], n, w);
			for (int r = 0; r < n; r++)
				for (int j = 0; j < w; j++)
				{
					size_t		o = (size_t) r * w + j;
					float		dx = r1[3][o];
					float		t = z[o];

					g1[0][j] += dx * t;
					r1[3][o] = dx * s[j] * (1.0f - t * t);
					g1[1][j] += r1[3][o];
				}
			xd_tanh_scale_backward_rows(r2[3], z, s, g2[0], g2[1], n, w);
			bad += !TA_SAME();

			/*
			 * M4's backward (rank.c): rows scaled, one row scaled n times, and
			 * rows scaled then through the ReLU backward (h = x: half of it
			 * <= 0), as xd_relu_grad after the scaling
			 */
			TA_RESET();
			for (int r = 0; r < n; r++)
				for (int k = 0; k < w; k++)
				{
					r1[0][(size_t) r * w + k] = rs[r] * y[(size_t) r * w + k];
					r1[1][(size_t) r * w + k] = rs[r] * b[k];
					r1[2][(size_t) r * w + k] = x[(size_t) r * w + k] > 0.0f ?
						rs[r] * y[(size_t) r * w + k] * 1.0f : 0.0f;
				}
			xd_scale_rows(r2[0], rs, y, w, NULL, n, w);
			xd_scale_rows(r2[1], rs, b, 0, NULL, n, w);
			xd_scale_rows(r2[2], rs, y, w, x, n, w);
			bad += !TA_SAME();

			/*
			 * s²Meta's clamped update (fewshot.c's former loop), with and
			 * without the clamped values kept; some clamped either way, a
			 * NaN gradient kept NaN
			 */
			TA_RESET();
			memcpy(gq, y, sizeof(y));
			gq[nw / 2] = NAN;
			for (size_t i = 0; i < nw; i++)
			{
				float		xv = gq[i] * 4.0f;

				xv = xv > 3.0f ? 3.0f : xv < -3.0f ? -3.0f : xv;
				r1[1][i] = xv;
				r1[0][i] = 0.993f * r1[0][i] - 0.02f * xv;
				r1[2][i] = 0.993f * r1[2][i] - 0.02f * xv;
				n_clamped += fabsf(xv) == 3.0f;
			}
			xd_clip_step(r2[0], gq, r2[1], nw, 4.0f, 3.0f, 0.02f, 0.993f);
			xd_clip_step(r2[2], gq, NULL, nw, 4.0f, 3.0f, 0.02f, 0.993f);
			bad += !TA_SAME() || !isnan(r2[1][nw / 2]) || !isnan(r2[2][nw / 2]);

			/* Adam (optim.c's former loop) */
			TA_RESET();
			memcpy(r1[2], u, sizeof(u));
			memcpy(r2[2], u, sizeof(u));
			for (size_t i = 0; i < nw; i++)
			{
				float		gi = r1[3][i];

				r1[3][i] = 0.0f;	/* the gradient is spent */
				r1[1][i] = ac.b1 * r1[1][i] + ac.ob1 * gi;
				r1[2][i] = ac.b2 * r1[2][i] + ac.ob2 * (gi * gi);
				r1[0][i] -= (ac.lr * (r1[1][i] * ac.c1)) / (sqrtf(r1[2][i] * ac.c2) + ac.eps);
				ok1 = ok1 && isfinite(r1[0][i]);
			}
			ok2 = xd_adam_update_rows(r2[0], r2[3], r2[1], r2[2], nw, &ac);
			bad += !TA_SAME() || ok1 != ok2 || !ok2;
			/* a NaN gradient is reported */
			r2[3][nw - 1] = NAN;
			bad += xd_adam_update_rows(r2[0], r2[3], r2[1], r2[2], nw, &ac);
#undef TA_RESET
#undef TA_SAME
		}
	}
	XD_CHECK(bad == 0);
	XD_CHECK(n_clamped > 0);
	XD_CHECK(xd_activation_set_lanes(in_use) == in_use);
}

/*
 * M4's dot products (xd_row_dots, four rows at a time) equal the one-row
 * loop `dot += a[k] * b[k]` bit for bit at every row count and width, and
 * the dropout draws (xd_rng_fill_u16, whole 64-bit outputs stored at once)
 * equal cluster.c's former lane-by-lane loop, values and rng state after
 */
XD_TEST(activation_row_dots_and_mask_draws_equal_loops)
{
	enum
	{
		ROWS = 11, MAXW = 131, LEN = ROWS * MAXW, DRAWS = 1031
	};
	static const int widths[] = {1, 3, 4, 7, 16, 25, 32, 64, 67, 131};
	static float a[LEN],
				b[LEN];
	static uint16_t bits1[DRAWS + 4],
				bits2[DRAWS + 4];
	float		dots1[ROWS],
				dots2[ROWS];
	xd_rng		rng;
	int			bad = 0;

	xd_rng_seed(&rng, 37);
	for (int i = 0; i < LEN; i++)
	{
		a[i] = 2.0f * (xd_rng_uniform(&rng) - 0.5f);
		b[i] = 1e3f * (xd_rng_uniform(&rng) - 0.5f);	/* sums that round */
	}
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		for (int n = 0; n <= ROWS; n++)
		{
			int			w = widths[wi];

			for (int r = 0; r < n; r++)
			{
				float		dot = 0.0f;

				for (int k = 0; k < w; k++)
					dot += a[(size_t) r * w + k] * b[(size_t) r * w + k];
				dots1[r] = dot;
			}
			xd_row_dots(dots2, a, b, n, w);
			bad += n > 0 && memcmp(dots1, dots2, sizeof(float) * (size_t) n) != 0;
		}

	for (size_t n = 0; n <= DRAWS; n += (n < 13 ? 1 : 509))
	{
		xd_rng		r1,
					r2;

		xd_rng_seed(&r1, 41 + n);
		r2 = r1;
		memset(bits1, 0xab, sizeof(bits1));
		memset(bits2, 0xab, sizeof(bits2));
		for (size_t i = 0; i < n; i += 4)
		{
			uint64_t	draw = xd_rng_next(&r1);

			for (size_t k = 0; k < 4 && i + k < n; k++, draw >>= 16)
				bits1[i + k] = (uint16_t) (draw & 0xffff);
		}
		xd_rng_fill_u16(&r2, bits2, n);
		/* nothing written past n, the same values, the same state after */
		bad += memcmp(bits1, bits2, sizeof(bits1)) != 0;
		bad += memcmp(&r1, &r2, sizeof(r1)) != 0;
	}
	XD_CHECK(bad == 0);
}
