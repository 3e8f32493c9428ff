/*
 * activation_lanes.h - the kernels of activation.c at one vector width.
 *
 * activation.c includes this file once per width, after defining:
 *   XD_LANES   lanes per vector (4: SSE2, the x86-64 baseline; 8: AVX2;
 *              16: AVX-512F)
 *   XD_SQRT(v)  the correctly rounded square root of every lane of a XD_VF
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

/*
 * eq. 6/7 backward, one row of width w: with e~ = e . g, the embedding row's
 * gradient gE += de~ . g and, through the sigmoid, dz = de~ . e . g (1 - g),
 * in the order of the scalar loop this replaced.
 */
static XD_TARGET void
XD_FN(gate_backward) (const float *de, const float *e, const float *g, float *gE,
					  float *dz, int w)
{
	for (int j = 0; j < w; j += XD_LANES)
	{
		int			k = w - j < XD_LANES ? w - j : XD_LANES;
		XD_VF		gv = XD_FN(load_n) (g + j, k);
		XD_VF		dv = XD_FN(load_n) (de + j, k);

		XD_FN(store_n) (gE + j, XD_FN(load_n) (gE + j, k) + dv * gv, k);
		XD_FN(store_n) (dz + j, dv * XD_FN(load_n) (e + j, k) * gv * (1.0f - gv), k);
	}
}

/* x[r][k] = max(x[r][k] + b[k], 0) over n rows of width w */
static XD_TARGET void
XD_FN(relu_bias_rows) (float *x, const float *b, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		float	   *xr = x + (size_t) r * w;
		int			j = 0;

		for (; j + XD_LANES <= w; j += XD_LANES)
		{
			XD_VF		z = XD_FN(load) (xr + j) + XD_FN(load) (b + j);

			XD_FN(store) (xr + j, (XD_VF) ((XD_VI) z & (z > 0.0f)));
		}
		for (; j < w; j++)
		{
			float		z = xr[j] + b[j];

			xr[j] = z > 0.0f ? z : 0.0f;
		}
	}
}

/* dz[i] = h[i] > 0 ? dz[i] (* mask[i]) : 0, the ReLU backward; mask may be NULL */
static XD_TARGET void
XD_FN(relu_grad) (float *dz, const float *h, const float *mask, size_t n)
{
	size_t		i = 0;

	for (; i + XD_LANES <= n; i += XD_LANES)
	{
		XD_VF		g = XD_FN(load) (dz + i);
		XD_VI		keep = XD_FN(load) (h + i) > 0.0f;

		if (mask)
			g *= XD_FN(load) (mask + i);
		XD_FN(store) (dz + i, (XD_VF) ((XD_VI) g & keep));
	}
	for (; i < n; i++)
		dz[i] = h[i] > 0.0f ? dz[i] * (mask ? mask[i] : 1.0f) : 0.0f;
}

/*
 * One Adam update of n values (optim.c: c1, c2 the bias corrections of its
 * step): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr (m c1) / (sqrt(v c2) + eps), and g = 0 for the next step's sums
 * (in the same pass: a separate memset read the rows again). sqrt and / are
 * correctly rounded at every width, so every width gives the values of the
 * scalar loop. Returns false when a value came out NaN or infinite.
 */
static XD_TARGET bool
XD_FN(adam_update) (float *w, float *g, float *am, float *av, size_t n,
					const xd_adam_coef *a)
{
	XD_VF		poison = XD_SPLAT(0.0f);	/* w * 0 is NaN exactly when w is not finite */
	float		p = 0.0f;
	size_t		i = 0;

	for (; i + XD_LANES <= n; i += XD_LANES)
	{
		XD_VF		gi = XD_FN(load) (g + i);
		XD_VF		mi = a->b1 * XD_FN(load) (am + i) + a->ob1 * gi;
		XD_VF		vi = a->b2 * XD_FN(load) (av + i) + a->ob2 * (gi * gi);
		XD_VF		num = a->lr * (mi * a->c1);
		XD_VF		den = XD_SQRT(vi * a->c2) + a->eps;
		XD_VF		wi = XD_FN(load) (w + i) - num / den;

		XD_FN(store) (am + i, mi);
		XD_FN(store) (av + i, vi);
		XD_FN(store) (w + i, wi);
		XD_FN(store) (g + i, XD_SPLAT(0.0f));
		poison += wi * 0.0f;
	}
	for (int k = 0; k < XD_LANES; k++)
		p += poison[k];
	for (; i < n; i++)
	{
		float		gi = g[i];

		g[i] = 0.0f;
		am[i] = a->b1 * am[i] + a->ob1 * gi;
		av[i] = a->b2 * av[i] + a->ob2 * (gi * gi);
		w[i] -= (a->lr * (am[i] * a->c1)) / (sqrtf(av[i] * a->c2) + a->eps);
		p += w[i] * 0.0f;
	}
	return p == 0.0f;
}

/*
 * s²Meta's update of one tensor (fewshot.c, eq. 7-8): x = g[i] inv clamped
 * to [-clip, clip] as `x > clip ? clip : x < -clip ? -clip : x` (a NaN kept),
 * w[i] = beta w[i] - alpha x, and x to gcl[i] when gcl is not NULL
 */
static XD_TARGET void
XD_FN(clip_step) (float *w, const float *g, float *gcl, size_t n, float inv, float clip,
				  float alpha, float beta)
{
	XD_VF		hi = XD_SPLAT(clip),
				lo = XD_SPLAT(-clip);
	size_t		i = 0;

	for (; i + XD_LANES <= n; i += XD_LANES)
	{
		XD_VF		x = XD_FN(load) (g + i) * inv;
		XD_VI		over = x > hi;
		XD_VI		under;

		x = (XD_VF) ((over & (XD_VI) hi) | (~over & (XD_VI) x));
		under = x < lo;
		x = (XD_VF) ((under & (XD_VI) lo) | (~under & (XD_VI) x));
		if (gcl)
			XD_FN(store) (gcl + i, x);
		XD_FN(store) (w + i, beta * XD_FN(load) (w + i) - alpha * x);
	}
	for (; i < n; i++)
	{
		float		x = g[i] * inv;

		x = x > clip ? clip : x < -clip ? -clip : x;
		if (gcl)
			gcl[i] = x;
		w[i] = beta * w[i] - alpha * x;
	}
}

/*
 * eq. 1-3 backward over n rows of width w: x^l = a . c with a = sigma(z),
 * z = W x^(l-1) + b . x^(l-1). dc += dx . a; dx becomes dz = dx . c . a (1 - a);
 * gb += dz . xp (xp = x^(l-1)), row after row as the scalar loop added them.
 */
static XD_TARGET void
XD_FN(ctx_gate_backward_rows) (float *dx, const float *c, const float *a,
							   const float *xp, float *dc, float *gb, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		size_t		o = (size_t) r * w;
		int			j = 0;

		for (; j + XD_LANES <= w; j += XD_LANES)
		{
			XD_VF		av = XD_FN(load) (a + o + j);
			XD_VF		d = XD_FN(load) (dx + o + j);
			XD_VF		dz = d * XD_FN(load) (c + o + j) * av * (1.0f - av);

			XD_FN(store) (dc + o + j, XD_FN(load) (dc + o + j) + d * av);
			XD_FN(store) (dx + o + j, dz);
			XD_FN(store) (gb + j, XD_FN(load) (gb + j) + dz * XD_FN(load) (xp + o + j));
		}
		for (; j < w; j++)
		{
			float		aj = a[o + j];
			float		d = dx[o + j];

			dc[o + j] += d * aj;
			dx[o + j] = d * c[o + j] * aj * (1.0f - aj);
			gb[j] += dx[o + j] * xp[o + j];
		}
	}
}

/* y[r][k] += b[k] x[r][k] over n rows of width w */
static XD_TARGET void
XD_FN(add_scaled_rows) (float *y, const float *b, const float *x, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		size_t		o = (size_t) r * w;
		int			j = 0;

		for (; j + XD_LANES <= w; j += XD_LANES)
			XD_FN(store) (y + o + j, XD_FN(load) (y + o + j) +
						  XD_FN(load) (b + j) * XD_FN(load) (x + o + j));
		for (; j < w; j++)
			y[o + j] += b[j] * x[o + j];
	}
}

/*
 * eq. 4-5 backward over n rows of width w: x^0 = c + s . T, T = tanh(...):
 * gs += dx . T; dx becomes dz = dx . s (1 - T^2); gb += dz, row after row.
 */
static XD_TARGET void
XD_FN(tanh_scale_backward_rows) (float *dx, const float *T, const float *s, float *gs,
								 float *gb, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		size_t		o = (size_t) r * w;
		int			j = 0;

		for (; j + XD_LANES <= w; j += XD_LANES)
		{
			XD_VF		d = XD_FN(load) (dx + o + j);
			XD_VF		t = XD_FN(load) (T + o + j);
			XD_VF		dz = d * XD_FN(load) (s + j) * (1.0f - t * t);

			XD_FN(store) (gs + j, XD_FN(load) (gs + j) + d * t);
			XD_FN(store) (dx + o + j, dz);
			XD_FN(store) (gb + j, XD_FN(load) (gb + j) + dz);
		}
		for (; j < w; j++)
		{
			float		d = dx[o + j];
			float		t = T[o + j];

			gs[j] += d * t;
			dx[o + j] = d * s[j] * (1.0f - t * t);
			gb[j] += dx[o + j];
		}
	}
}

/*
 * y[r][k] = s[r] x[r * x_stride + k] over n rows of width w (x_stride 0: one
 * row x); with h, 0 where h[r][k] <= 0 (relu_grad's keep, on the product)
 */
static XD_TARGET void
XD_FN(scale_rows) (float *y, const float *s, const float *x, int x_stride,
				   const float *h, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		float	   *yr = y + (size_t) r * w;
		const float *xr = x + (size_t) r * x_stride;
		const float *hr = h ? h + (size_t) r * w : NULL;
		int			j = 0;

		if (hr)
			for (; j + XD_LANES <= w; j += XD_LANES)
			{
				XD_VF		v = s[r] * XD_FN(load) (xr + j);
				XD_VI		keep = XD_FN(load) (hr + j) > 0.0f;

				XD_FN(store) (yr + j, (XD_VF) ((XD_VI) v & keep));
			}
		else
			for (; j + XD_LANES <= w; j += XD_LANES)
				XD_FN(store) (yr + j, s[r] * XD_FN(load) (xr + j));
		for (; j < w; j++)
			yr[j] = hr && !(hr[j] > 0.0f) ? 0.0f : s[r] * xr[j];
	}
}

/*
 * relu_bias_rows with inverted dropout: x = max(x + b, 0) . mask, mask =
 * scale where bits >= thresh, else 0 (cluster.c draws bits, 16 per element,
 * one per float of x: bits[r * w + k] for x[r][k]); the mask is kept.
 */
/* XD_LANES 16-bit lanes */
typedef uint16_t XD_FN(u16v) __attribute__((vector_size(2 * XD_LANES)));

static XD_TARGET void
XD_FN(relu_bias_dropout_rows) (float *x, const float *b, const uint16_t *bits,
							   uint32_t thresh, float scale, float *mask, int n, int w)
{
	for (int r = 0; r < n; r++)
	{
		size_t		o = (size_t) r * w;
		int			j = 0;

		for (; j + XD_LANES <= w; j += XD_LANES)
		{
			XD_VF		z = XD_FN(load) (x + o + j) + XD_FN(load) (b + j);
			XD_FN(u16v) half;
			XD_VI		lane;
			XD_VF		mk;

			memcpy(&half, bits + o + j, sizeof(half));
			lane = __builtin_convertvector(half, XD_VI);
			z = (XD_VF) ((XD_VI) z & (z > 0.0f));
			mk = (XD_VF) ((lane >= (int32_t) thresh) & (XD_VI) XD_SPLAT(scale));
			XD_FN(store) (mask + o + j, mk);
			XD_FN(store) (x + o + j, z * mk);
		}
		for (; j < w; j++)
		{
			float		z = x[o + j] + b[j];

			z = z > 0.0f ? z : 0.0f;
			mask[o + j] = bits[o + j] < thresh ? 0.0f : scale;
			x[o + j] = z * mask[o + j];
		}
	}
}

#undef XD_SPLAT
#undef XD_LANES
#undef XD_VF
#undef XD_VI
#undef XD_VU
#undef XD_FN
#undef XD_TARGET
#undef XD_SQRT
