/*
 * activation.c - sigmoid and tanh over arrays (activation.h) on 4-wide
 * generic vectors: SSE2 on baseline x86-64, no -march or -ffast-math.
 *
 * e^x for x <= 0 as in Cephes' expf: n = round(x log2 e), r = x - n ln 2 with
 * ln 2 split in two so that n ln2_hi is exact (|r| <= ln2 / 2 + a rounding),
 * e^r = 1 + q with q = r + r^2 P(r), P of degree 5 (Cephes' coefficients),
 * and e^x = 2^n (1 + q) with 2^n written into the exponent bits. Keeping 2^n
 * and q apart gives e^x - 1 = 2^n q + (2^n - 1) without cancellation near 0,
 * which keeps tanh's relative error small there. Both activations only ever
 * need e^-|.|, so nothing overflows and 2^n stays a normal float.
 */
#include <stdbool.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/activation.h"

#define XD_LOG2E	1.44269504088896341f
#define XD_LN2_HI	0.693359375f	/* 9 bits: n ln2_hi is exact for |n| <= 2^15 */
#define XD_LN2_LO	-2.12194440e-4f
/* adding 1.5 * 2^23 rounds |y| < 2^22 to an integer kept in the low mantissa bits */
#define XD_ROUND_MAGIC 12582912.0f
/* ln FLT_MIN: below it e^x is no longer a normal float */
#define XD_EXP_MIN	-87.3365448f

/* bits of exponents: unsigned, so that wrapping is defined for any input */
typedef uint32_t xd_v4u __attribute__((vector_size(16)));

/* mask ? a : b, lane by lane (C has no vector ?:) */
static inline xd_v4f
xd_v4_select(xd_v4i mask, xd_v4f a, xd_v4f b)
{
	return (xd_v4f) (((xd_v4i) a & mask) | ((xd_v4i) b & ~mask));
}

static inline xd_v4f
xd_v4_abs(xd_v4f z)
{
	return (xd_v4f) ((xd_v4i) z & 0x7fffffff);
}

/*
 * e^x = s (1 + q) for XD_EXP_MIN <= x <= 0: s = 2^n exactly and q = e^r - 1.
 * Below XD_EXP_MIN s and q are garbage (the callers clamp or mask); a NaN x
 * gives a NaN q.
 */
static inline void
xd_v4_exp_parts(xd_v4f x, xd_v4f *s, xd_v4f *q)
{
	const xd_v4f magic = XD_V4(XD_ROUND_MAGIC);
	xd_v4f		k,
				n,
				r,
				p;

	k = x * XD_LOG2E + magic;
	n = k - magic;
	r = x - n * XD_LN2_HI;
	r = r - n * XD_LN2_LO;
	p = r * 1.9875691500e-4f + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	*q = r + r * r * p;
	/* k's bits minus magic's are n, n >= -126 */
	*s = (xd_v4f) (((xd_v4u) k - (xd_v4u) magic + 127) << 23);
}

/* sigma(z) = 1 / (1 + e^-|z|) for z >= 0, e^-|z| / (1 + e^-|z|) below */
static inline xd_v4f
xd_v4_sigmoid(xd_v4f z)
{
	xd_v4f		x = -xd_v4_abs(z);
	xd_v4f		s,
				q,
				t;

	xd_v4_exp_parts(x, &s, &q);
	t = s * q + s;
	/* e^x under FLT_MIN, or garbage there, flushes to 0; NaN stays */
	t = (xd_v4f) ((xd_v4i) t & ~(x < XD_EXP_MIN));
	return xd_v4_select(z >= 0.0f, XD_V4(1.0f), t) / (t + 1.0f);
}

/*
 * tanh|z| = (1 - e^-2|z|) / (1 + e^-2|z|) = u / (2 - u) with u = 1 - e^-2|z|
 * = (1 - s) - s q, exact at n = 0 (u = -q) and for small n (1 - s is); the
 * sign of z goes back on, so tanh is odd and tanh(+-0) = +-0.
 */
static inline xd_v4f
xd_v4_tanh(xd_v4f z)
{
	xd_v4i		sign = (xd_v4i) z & (int32_t) 0x80000000;
	xd_v4f		x = xd_v4_abs(z) * -2.0f;
	xd_v4f		s,
				q,
				u;

	/* clamped, e^x is at most FLT_MIN and u rounds to 1 */
	xd_v4_exp_parts(xd_v4_select(x < XD_EXP_MIN, XD_V4(XD_EXP_MIN), x), &s, &q);
	u = (1.0f - s) - s * q;
	return (xd_v4f) ((xd_v4i) (u / (2.0f - u)) | sign);
}

/* lanes [0, k) from p (0 < k <= 4), the others 0 */
static inline xd_v4f
xd_v4_load_n(const float *p, int k)
{
	xd_v4f		v = XD_V4(0.0f);

	if (k == 4)
		return xd_v4_load(p);
	for (int i = 0; i < k; i++)
		v[i] = p[i];
	return v;
}

/* lanes [0, k) of v to p (0 < k <= 4) */
static inline void
xd_v4_store_n(float *p, xd_v4f v, int k)
{
	if (k == 4)
	{
		xd_v4_store(p, v);
		return;
	}
	for (int i = 0; i < k; i++)
		p[i] = v[i];
}

/*
 * f over x[0..n); the last n % 4 go through the same lanes, zero-padded, so
 * a value never depends on its position or on n.
 */
static inline __attribute__((always_inline)) void
xd_v4_apply(float *x, size_t n, xd_v4f (*f) (xd_v4f))
{
	size_t		i = 0;

	for (; i + 4 <= n; i += 4)
		xd_v4_store(x + i, f(xd_v4_load(x + i)));
	if (i < n)
		xd_v4_store_n(x + i, f(xd_v4_load_n(x + i, (int) (n - i))), (int) (n - i));
}

void
xd_sigmoid_inplace(float *x, size_t n)
{
	xd_v4_apply(x, n, xd_v4_sigmoid);
}

void
xd_tanh_inplace(float *x, size_t n)
{
	xd_v4_apply(x, n, xd_v4_tanh);
}

/*
 * The row kernels below do in one 4-wide pass what the layers did in three
 * (a scalar bias loop, the activation, a scalar combining loop: gcc does not
 * vectorise those at -O2). Every lane computes the same operations in the
 * same order as those loops did, so the values are bit for bit the same.
 *
 * A run is len consecutive floats with its column vectors (b, s) given
 * element for element; its last len % 4 go through zero-padded lanes, which
 * cost as much as several whole vectors (the lanes are written one by one).
 * So rows whose width w is not a multiple of 4 (M1's m = 25 in the transfer
 * report) go four at a time: 4 w floats are a whole number of vectors when
 * the column vectors are tiled four times. The last n % 4 rows, and rows
 * wider than XD_TILE_W, go one at a time.
 */
#define XD_TILE_W 128

/* t = v four times over: the columns of four consecutive rows of width w */
static void
xd_tile4(float *t, const float *v, int w)
{
	for (int q = 0; q < 4; q++)
		memcpy(t + (size_t) q * w, v, sizeof(float) * w);
}

/* whether rows of width w go four at a time */
static inline bool
xd_rows_tiled(int n, int w)
{
	return w % 4 != 0 && w <= XD_TILE_W && n >= 4;
}

static inline void
xd_tanh_residual_run(float *T, const float *b, const float *x_in,
					 const float *s, float *x_out, int len)
{
	for (int j = 0; j < len; j += 4)
	{
		int			k = len - j < 4 ? len - j : 4;
		xd_v4f		t = xd_v4_tanh(xd_v4_load_n(T + j, k) + xd_v4_load_n(b + j, k));
		xd_v4f		st = s ? xd_v4_load_n(s + j, k) * t : t;

		xd_v4_store_n(T + j, t, k);
		xd_v4_store_n(x_out + j, xd_v4_load_n(x_in + j, k) + st, k);
	}
}

void
xd_tanh_residual_rows(float *T, const float *b, const float *x_in,
					  const float *s, float *x_out, int n, int w)
{
	float		bt[4 * XD_TILE_W],
				st[4 * XD_TILE_W];
	int			r = 0;

	if (xd_rows_tiled(n, w))
	{
		xd_tile4(bt, b, w);
		if (s)
			xd_tile4(st, s, w);
		for (; r + 4 <= n; r += 4)
		{
			size_t		o = (size_t) r * w;

			xd_tanh_residual_run(T + o, bt, x_in + o, s ? st : NULL, x_out + o, 4 * w);
		}
	}
	for (; r < n; r++)
	{
		size_t		o = (size_t) r * w;

		xd_tanh_residual_run(T + o, b, x_in + o, s, x_out + o, w);
	}
}

static inline void
xd_sigmoid_ctx_run(float *a, const float *b, const float *x, const float *c,
				   float *out, int len)
{
	for (int j = 0; j < len; j += 4)
	{
		int			k = len - j < 4 ? len - j : 4;
		xd_v4f		z = xd_v4_load_n(a + j, k) +
			xd_v4_load_n(b + j, k) * xd_v4_load_n(x + j, k);
		xd_v4f		g = xd_v4_sigmoid(z);

		xd_v4_store_n(a + j, g, k);
		xd_v4_store_n(out + j, g * xd_v4_load_n(c + j, k), k);
	}
}

void
xd_sigmoid_ctx_rows(float *a, const float *b, const float *x, const float *c,
					float *out, int n, int w)
{
	float		bt[4 * XD_TILE_W];
	int			r = 0;

	if (xd_rows_tiled(n, w))
	{
		xd_tile4(bt, b, w);
		for (; r + 4 <= n; r += 4)
		{
			size_t		o = (size_t) r * w;

			xd_sigmoid_ctx_run(a + o, bt, x + o, c + o, out + o, 4 * w);
		}
	}
	for (; r < n; r++)
	{
		size_t		o = (size_t) r * w;

		xd_sigmoid_ctx_run(a + o, b, x + o, c + o, out + o, w);
	}
}

void
xd_sigmoid_gate(float *g, const float *e, float *h, int w)
{
	for (int j = 0; j < w; j += 4)
	{
		int			k = w - j < 4 ? w - j : 4;
		xd_v4f		s = xd_v4_sigmoid(xd_v4_load_n(g + j, k));

		xd_v4_store_n(g + j, s, k);
		xd_v4_store_n(h + j, xd_v4_load_n(e + j, k) * s, k);
	}
}
