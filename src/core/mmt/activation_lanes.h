/*
 * activation_lanes.h - the kernels of activation.c at one vector width.
 *
 * activation.c includes this file once per width, after defining:
 *   XD_LANES   lanes per vector (4: SSE2, the x86-64 baseline; 8: AVX2;
 *              16: AVX-512F)
 *   XD_VF, XD_VI, XD_VU  float, int32 and uint32 vectors of XD_LANES lanes
 *   XD_FN(f)   the name of kernel f at this width (f_v4, f_v8)
 *   XD_TARGET  the function attribute that lets the compiler use the width
 *              (empty for the baseline, else target("avx2") or
 *              target("avx512f"))
 * and it undefines them at its end. Nothing is contracted into FMA (-ffp-contract=
 * off): every lane runs the same IEEE single-precision operations in the
 * same order at every width, so the widths give the same values bit for bit
 * (test_activation.c compares them).
 * No include guard: the inclusion is the template's instantiation.
 */

/* c in every lane */
#define XD_SPLAT(c) ((XD_VF) {0} + (c))

static inline XD_TARGET XD_VF
XD_FN(load) (const float *p)
{
	XD_VF		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline XD_TARGET void
XD_FN(store) (float *p, XD_VF v)
{
	memcpy(p, &v, sizeof(v));
}

/* lanes [0, k) from p (0 < k <= XD_LANES), the others 0 */
static inline XD_TARGET XD_VF
XD_FN(load_n) (const float *p, int k)
{
	XD_VF		v = XD_SPLAT(0.0f);

	if (k == XD_LANES)
		return XD_FN(load) (p);
	for (int i = 0; i < k; i++)
		v[i] = p[i];
	return v;
}

/* lanes [0, k) of v to p (0 < k <= XD_LANES) */
static inline XD_TARGET void
XD_FN(store_n) (float *p, XD_VF v, int k)
{
	if (k == XD_LANES)
	{
		XD_FN(store) (p, v);
		return;
	}
	for (int i = 0; i < k; i++)
		p[i] = v[i];
}

/* mask ? a : b, lane by lane (C has no vector ?:) */
static inline XD_TARGET XD_VF
XD_FN(select) (XD_VI mask, XD_VF a, XD_VF b)
{
	return (XD_VF) (((XD_VI) a & mask) | ((XD_VI) b & ~mask));
}

static inline XD_TARGET XD_VF
XD_FN(abs) (XD_VF z)
{
	return (XD_VF) ((XD_VI) z & 0x7fffffff);
}

/*
 * e^x = s (1 + q) for XD_EXP_MIN <= x <= 0: s = 2^n exactly and q = e^r - 1.
 * Below XD_EXP_MIN s and q are garbage (the callers clamp or mask); a NaN x
 * gives a NaN q.
 */
static inline XD_TARGET void
XD_FN(exp_parts) (XD_VF x, XD_VF *s, XD_VF *q)
{
	const XD_VF magic = XD_SPLAT(XD_ROUND_MAGIC);
	XD_VF		k,
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
	*s = (XD_VF) (((XD_VU) k - (XD_VU) magic + 127) << 23);
}

/* sigma(z) = 1 / (1 + e^-|z|) for z >= 0, e^-|z| / (1 + e^-|z|) below */
static inline XD_TARGET XD_VF
XD_FN(sigmoid) (XD_VF z)
{
	XD_VF		x = -XD_FN(abs) (z);
	XD_VF		s,
				q,
				t;

	XD_FN(exp_parts) (x, &s, &q);
	t = s * q + s;
	/* e^x under FLT_MIN, or garbage there, flushes to 0; NaN stays */
	t = (XD_VF) ((XD_VI) t & ~(x < XD_EXP_MIN));
	return XD_FN(select) (z >= 0.0f, XD_SPLAT(1.0f), t) / (t + 1.0f);
}

/*
 * tanh|z| = (1 - e^-2|z|) / (1 + e^-2|z|) = u / (2 - u) with u = 1 - e^-2|z|
 * = (1 - s) - s q, exact at n = 0 (u = -q) and for small n (1 - s is); the
 * sign of z goes back on, so tanh is odd and tanh(+-0) = +-0.
 */
static inline XD_TARGET XD_VF
XD_FN(tanh) (XD_VF z)
{
	XD_VI		sign = (XD_VI) z & (int32_t) 0x80000000;
	XD_VF		x = XD_FN(abs) (z) * -2.0f;
	XD_VF		s,
				q,
				u;

	/* clamped, e^x is at most FLT_MIN and u rounds to 1 */
	XD_FN(exp_parts) (XD_FN(select) (x < XD_EXP_MIN, XD_SPLAT(XD_EXP_MIN), x), &s, &q);
	u = (1.0f - s) - s * q;
	return (XD_VF) ((XD_VI) (u / (2.0f - u)) | sign);
}

/*
 * f over x[0..n); the last n % XD_LANES go through the same lanes,
 * zero-padded, so a value never depends on its position or on n.
 */
static inline __attribute__((always_inline)) XD_TARGET void
XD_FN(apply) (float *x, size_t n, XD_VF (*f) (XD_VF))
{
	size_t		i = 0;

	for (; i + XD_LANES <= n; i += XD_LANES)
		XD_FN(store) (x + i, f(XD_FN(load) (x + i)));
	if (i < n)
		XD_FN(store_n) (x + i, f(XD_FN(load_n) (x + i, (int) (n - i))), (int) (n - i));
}

static XD_TARGET void
XD_FN(sigmoid_inplace) (float *x, size_t n)
{
	XD_FN(apply) (x, n, XD_FN(sigmoid));
}

static XD_TARGET void
XD_FN(tanh_inplace) (float *x, size_t n)
{
	XD_FN(apply) (x, n, XD_FN(tanh));
}

/*
 * The row kernels. A run is len consecutive floats with its column vectors
 * (b, s) given element for element. Rows whose width w is not a multiple of
 * XD_LANES go XD_LANES at a time over column vectors tiled XD_LANES times
 * (xd_tile, xd_rows_tiled in activation.c): XD_LANES w floats are a whole
 * number of vectors.
 */
static inline XD_TARGET void
XD_FN(tanh_residual_run) (float *T, const float *b, const float *x_in,
						  const float *s, float *x_out, int len)
{
	for (int j = 0; j < len; j += XD_LANES)
	{
		int			k = len - j < XD_LANES ? len - j : XD_LANES;
		XD_VF		t = XD_FN(tanh) (XD_FN(load_n) (T + j, k) + XD_FN(load_n) (b + j, k));
		XD_VF		st = s ? XD_FN(load_n) (s + j, k) * t : t;

		XD_FN(store_n) (T + j, t, k);
		XD_FN(store_n) (x_out + j, XD_FN(load_n) (x_in + j, k) + st, k);
	}
}

static XD_TARGET void
XD_FN(tanh_residual_rows) (float *T, const float *b, const float *x_in,
						   const float *s, float *x_out, int n, int w)
{
	float		bt[XD_LANES * XD_TILE_W],
				st[XD_LANES * XD_TILE_W];
	int			r = 0;

	if (xd_rows_tiled(n, w, XD_LANES))
	{
		xd_tile(bt, b, w, XD_LANES);
		if (s)
			xd_tile(st, s, w, XD_LANES);
		for (; r + XD_LANES <= n; r += XD_LANES)
		{
			size_t		o = (size_t) r * w;

			XD_FN(tanh_residual_run) (T + o, bt, x_in + o, s ? st : NULL, x_out + o,
									  XD_LANES * w);
		}
	}
	for (; r < n; r++)
	{
		size_t		o = (size_t) r * w;

		XD_FN(tanh_residual_run) (T + o, b, x_in + o, s, x_out + o, w);
	}
}

static inline XD_TARGET void
XD_FN(sigmoid_ctx_run) (float *a, const float *b, const float *x, const float *c,
						float *out, int len)
{
	for (int j = 0; j < len; j += XD_LANES)
	{
		int			k = len - j < XD_LANES ? len - j : XD_LANES;
		XD_VF		z = XD_FN(load_n) (a + j, k) +
			XD_FN(load_n) (b + j, k) * XD_FN(load_n) (x + j, k);
		XD_VF		g = XD_FN(sigmoid) (z);

		XD_FN(store_n) (a + j, g, k);
		XD_FN(store_n) (out + j, g * XD_FN(load_n) (c + j, k), k);
	}
}

static XD_TARGET void
XD_FN(sigmoid_ctx_rows) (float *a, const float *b, const float *x, const float *c,
						 float *out, int n, int w)
{
	float		bt[XD_LANES * XD_TILE_W];
	int			r = 0;

	if (xd_rows_tiled(n, w, XD_LANES))
	{
		xd_tile(bt, b, w, XD_LANES);
		for (; r + XD_LANES <= n; r += XD_LANES)
		{
			size_t		o = (size_t) r * w;

			XD_FN(sigmoid_ctx_run) (a + o, bt, x + o, c + o, out + o, XD_LANES * w);
		}
	}
	for (; r < n; r++)
	{
		size_t		o = (size_t) r * w;

		XD_FN(sigmoid_ctx_run) (a + o, b, x + o, c + o, out + o, w);
	}
}

static XD_TARGET void
XD_FN(sigmoid_gate) (float *g, const float *e, float *h, int w)
{
	for (int j = 0; j < w; j += XD_LANES)
	{
		int			k = w - j < XD_LANES ? w - j : XD_LANES;
		XD_VF		s = XD_FN(sigmoid) (XD_FN(load_n) (g + j, k));

		XD_FN(store_n) (g + j, s, k);
		XD_FN(store_n) (h + j, XD_FN(load_n) (e + j, k) * s, k);
	}
}

#undef XD_SPLAT
#undef XD_LANES
#undef XD_VF
#undef XD_VI
#undef XD_VU
#undef XD_FN
#undef XD_TARGET
