/*
 * activation.c - sigmoid and tanh over arrays (activation.h) on generic
 * vectors: 4 lanes (SSE2, the x86-64 baseline), 8 (AVX2) or 16 (AVX-512F)
 * where the CPU has them, chosen at run time; no -march, -ffast-math or FMA,
 * so every width gives the same values bit for bit (activation_lanes.h).
 *
 * e^x for x <= 0 as in Cephes' expf: n = round(x log2 e), r = x - n ln 2 with
 * ln 2 split in two so that n ln2_hi is exact (|r| <= ln2 / 2 + a rounding),
 * e^r = 1 + q with q = r + r^2 P(r), P of degree 5 (Cephes' coefficients),
 * and e^x = 2^n (1 + q) with 2^n written into the exponent bits. Keeping 2^n
 * and q apart gives e^x - 1 = 2^n q + (2^n - 1) without cancellation near 0,
 * which keeps tanh's relative error small there. Both activations only ever
 * need e^-|.|, so nothing overflows and 2^n stays a normal float.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "model_int.h"
#include "xdrec/activation.h"

#define XD_LOG2E	1.44269504088896341f
#define XD_LN2_HI	0.693359375f	/* 9 bits: n ln2_hi is exact for |n| <= 2^15 */
#define XD_LN2_LO	-2.12194440e-4f
/* adding 1.5 * 2^23 rounds |y| < 2^22 to an integer kept in the low mantissa bits */
#define XD_ROUND_MAGIC 12582912.0f
/* ln FLT_MIN: below it e^x is no longer a normal float */
#define XD_EXP_MIN	-87.3365448f

/* exponent bits, unsigned so that wrapping is defined for any input (4 lanes) */
typedef uint32_t xd_v4u __attribute__((vector_size(16)));

/*
 * The row kernels do in one vector pass what the layers did in three (a
 * scalar bias loop, the activation, a scalar combining loop: gcc does not
 * vectorise those at -O2). Every lane computes the same operations in the
 * same order as those loops did, so the values are bit for bit the same.
 *
 * A run's last len % lanes floats go through zero-padded lanes, which cost
 * as much as several whole vectors (the lanes are written one by one). So
 * rows whose width w is not a multiple of the lanes (M1's m = 25 in the
 * transfer report) go lanes rows at a time: lanes * w floats are a whole
 * number of vectors when the column vectors are tiled lanes times. The last
 * rows, and rows wider than XD_TILE_W, go one at a time.
 */
#define XD_TILE_W 128

/* t = v copies times over: the columns of that many consecutive rows of width w */
static void
xd_tile(float *t, const float *v, int w, int copies)
{
	for (int q = 0; q < copies; q++)
		memcpy(t + (size_t) q * w, v, sizeof(float) * w);
}

/* whether rows of width w go lanes at a time */
static inline bool
xd_rows_tiled(int n, int w, int lanes)
{
	return w % lanes != 0 && w <= XD_TILE_W && n >= lanes;
}

#define XD_LANES 4
#define XD_VF xd_v4f
#define XD_VI xd_v4i
#define XD_VU xd_v4u
#define XD_FN(f) xd_##f##_v4
#define XD_TARGET
#ifdef __SSE2__
#define XD_SQRT(v) ((xd_v4f) _mm_sqrt_ps((__m128) (v)))
#else
#define XD_SQRT(v) ((xd_v4f) {sqrtf((v)[0]), sqrtf((v)[1]), sqrtf((v)[2]), sqrtf((v)[3])})
#endif
#include "activation_lanes.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define XD_HAVE_WIDE_KERNELS 1
typedef float xd_v8f __attribute__((vector_size(32)));
typedef int32_t xd_v8i __attribute__((vector_size(32)));
typedef uint32_t xd_v8u __attribute__((vector_size(32)));

#define XD_LANES 8
#define XD_VF xd_v8f
#define XD_VI xd_v8i
#define XD_VU xd_v8u
#define XD_FN(f) xd_##f##_v8
#define XD_TARGET __attribute__((target("avx2")))
#define XD_SQRT(v) ((xd_v8f) _mm256_sqrt_ps((__m256) (v)))
#include "activation_lanes.h"

/*
 * AVX-512F implies FMA to the compiler: -ffp-contract=off (Makefile) keeps
 * a * b + c two roundings, as at 4 lanes.
 */
typedef float xd_v16f __attribute__((vector_size(64)));
typedef int32_t xd_v16i __attribute__((vector_size(64)));
typedef uint32_t xd_v16u __attribute__((vector_size(64)));

#define XD_LANES 16
#define XD_VF xd_v16f
#define XD_VI xd_v16i
#define XD_VU xd_v16u
#define XD_FN(f) xd_##f##_v16
#define XD_TARGET __attribute__((target("avx512f")))
#define XD_SQRT(v) ((xd_v16f) _mm512_sqrt_ps((__m512) (v)))
#include "activation_lanes.h"
#endif

/* the kernels of one width */
typedef struct xd_activation_kernels
{
	int			lanes;
	void		(*sigmoid_inplace) (float *x, size_t n);
	void		(*tanh_inplace) (float *x, size_t n);
	void		(*tanh_residual_rows) (float *T, const float *b, const float *x_in,
									   const float *s, float *x_out, int n, int w);
	void		(*sigmoid_ctx_rows) (float *a, const float *b, const float *x,
									 const float *c, float *out, int n, int w);
	void		(*sigmoid_gate) (float *g, const float *e, float *h, int w);
	void		(*gate_backward) (const float *de, const float *e, const float *g,
								  float *gE, float *dz, int w);
	void		(*relu_bias_rows) (float *x, const float *b, int n, int w);
	void		(*relu_grad) (float *dz, const float *h, const float *mask, size_t n);
	bool		(*adam_update) (float *w, float *g, float *am, float *av, size_t n,
								const xd_adam_coef *a);
	void		(*ctx_gate_backward_rows) (float *dx, const float *c, const float *a,
										   const float *xp, float *dc, float *gb, int n, int w);
	void		(*add_scaled_rows) (float *y, const float *b, const float *x, int n, int w);
	void		(*tanh_scale_backward_rows) (float *dx, const float *T, const float *s,
											 float *gs, float *gb, int n, int w);
	void		(*scale_rows) (float *y, const float *s, const float *x, int x_stride,
							   const float *h, int n, int w);
	void		(*relu_bias_dropout_rows) (float *x, const float *b, const uint16_t *bits,
										   uint32_t thresh, float scale, float *mask,
										   int n, int w);
	void		(*clip_step) (float *w, const float *g, float *gcl, size_t n, float inv,
							  float clip, float alpha, float beta);
} xd_activation_kernels;

#define XD_KERNELS(L) { \
	L, xd_sigmoid_inplace_v##L, xd_tanh_inplace_v##L, xd_tanh_residual_rows_v##L, \
	xd_sigmoid_ctx_rows_v##L, xd_sigmoid_gate_v##L, xd_gate_backward_v##L, \
	xd_relu_bias_rows_v##L, xd_relu_grad_v##L, xd_adam_update_v##L, \
	xd_ctx_gate_backward_rows_v##L, xd_add_scaled_rows_v##L, xd_tanh_scale_backward_rows_v##L, \
	xd_scale_rows_v##L, xd_relu_bias_dropout_rows_v##L, xd_clip_step_v##L }

/* widest last */
static const xd_activation_kernels xd_kernels_all[] = {
	XD_KERNELS(4),
#ifdef XD_HAVE_WIDE_KERNELS
	XD_KERNELS(8),
	XD_KERNELS(16),
#endif
};

#define XD_N_KERNELS ((int) (sizeof(xd_kernels_all) / sizeof(xd_kernels_all[0])))

/* NULL until the first call picks the widest kernels the CPU runs */
static const xd_activation_kernels *xd_kernels;

/* whether this CPU runs the kernels of that many lanes */
static bool
xd_cpu_runs(int lanes)
{
	if (lanes == 4)
		return true;
#ifdef XD_HAVE_WIDE_KERNELS
	__builtin_cpu_init();
	if (lanes == 8)
		return __builtin_cpu_supports("avx2");
	if (lanes == 16)
		return __builtin_cpu_supports("avx512f");
#endif
	return false;
}

static const xd_activation_kernels *
xd_activation_kernels_get(void)
{
	if (!xd_kernels)
		xd_activation_set_lanes(0);
	return xd_kernels;
}

int
xd_activation_max_lanes(void)
{
	for (int k = XD_N_KERNELS - 1; k > 0; k--)
		if (xd_cpu_runs(xd_kernels_all[k].lanes))
			return xd_kernels_all[k].lanes;
	return 4;
}

int
xd_activation_set_lanes(int lanes)
{
	if (lanes == 0)
		lanes = xd_activation_max_lanes();
	for (int k = 0; k < XD_N_KERNELS; k++)
		if (xd_kernels_all[k].lanes == lanes && xd_cpu_runs(lanes))
		{
			xd_kernels = &xd_kernels_all[k];
			return lanes;
		}
	return xd_activation_lanes();
}

int
xd_activation_lanes(void)
{
	return xd_activation_kernels_get()->lanes;
}

void
xd_sigmoid_inplace(float *x, size_t n)
{
	xd_activation_kernels_get()->sigmoid_inplace(x, n);
}

void
xd_tanh_inplace(float *x, size_t n)
{
	xd_activation_kernels_get()->tanh_inplace(x, n);
}

void
xd_tanh_residual_rows(float *T, const float *b, const float *x_in,
					  const float *s, float *x_out, int n, int w)
{
	xd_activation_kernels_get()->tanh_residual_rows(T, b, x_in, s, x_out, n, w);
}

void
xd_sigmoid_ctx_rows(float *a, const float *b, const float *x, const float *c,
					float *out, int n, int w)
{
	xd_activation_kernels_get()->sigmoid_ctx_rows(a, b, x, c, out, n, w);
}

void
xd_sigmoid_gate(float *g, const float *e, float *h, int w)
{
	xd_activation_kernels_get()->sigmoid_gate(g, e, h, w);
}

void
xd_gate_backward(const float *de, const float *e, const float *g, float *gE, float *dz, int w)
{
	xd_activation_kernels_get()->gate_backward(de, e, g, gE, dz, w);
}

void
xd_relu_bias_rows(float *x, const float *b, int n, int w)
{
	xd_activation_kernels_get()->relu_bias_rows(x, b, n, w);
}

void
xd_relu_grad(float *dz, const float *h, const float *mask, size_t n)
{
	xd_activation_kernels_get()->relu_grad(dz, h, mask, n);
}

bool
xd_adam_update_rows(float *w, float *g, float *am, float *av, size_t n,
					const xd_adam_coef *a)
{
	return xd_activation_kernels_get()->adam_update(w, g, am, av, n, a);
}

void
xd_ctx_gate_backward_rows(float *dx, const float *c, const float *a, const float *xp,
						  float *dc, float *gb, int n, int w)
{
	xd_activation_kernels_get()->ctx_gate_backward_rows(dx, c, a, xp, dc, gb, n, w);
}

void
xd_add_scaled_rows(float *y, const float *b, const float *x, int n, int w)
{
	xd_activation_kernels_get()->add_scaled_rows(y, b, x, n, w);
}

void
xd_tanh_scale_backward_rows(float *dx, const float *T, const float *s, float *gs,
							float *gb, int n, int w)
{
	xd_activation_kernels_get()->tanh_scale_backward_rows(dx, T, s, gs, gb, n, w);
}

void
xd_scale_rows(float *y, const float *s, const float *x, int x_stride, const float *h,
			  int n, int w)
{
	xd_activation_kernels_get()->scale_rows(y, s, x, x_stride, h, n, w);
}

void
xd_row_dots(float *out, const float *a, const float *b, int n, int w)
{
	int			r = 0;

	for (; r + 4 <= n; r += 4)
	{
		const float *a0 = a + (size_t) r * w,
				   *b0 = b + (size_t) r * w;
		float		s0 = 0.0f,
					s1 = 0.0f,
					s2 = 0.0f,
					s3 = 0.0f;

		for (int k = 0; k < w; k++)
		{
			s0 += a0[k] * b0[k];
			s1 += a0[w + k] * b0[w + k];
			s2 += a0[2 * w + k] * b0[2 * w + k];
			s3 += a0[3 * w + k] * b0[3 * w + k];
		}
		out[r] = s0;
		out[r + 1] = s1;
		out[r + 2] = s2;
		out[r + 3] = s3;
	}
	for (; r < n; r++)
	{
		const float *ar = a + (size_t) r * w,
				   *br = b + (size_t) r * w;
		float		s = 0.0f;

		for (int k = 0; k < w; k++)
			s += ar[k] * br[k];
		out[r] = s;
	}
}

void
xd_relu_bias_dropout_rows(float *x, const float *b, const uint16_t *bits, uint32_t thresh,
						  float scale, float *mask, int n, int w)
{
	xd_activation_kernels_get()->relu_bias_dropout_rows(x, b, bits, thresh, scale, mask, n, w);
}

void
xd_clip_step(float *w, const float *g, float *gcl, size_t n, float inv, float clip,
			 float alpha, float beta)
{
	xd_activation_kernels_get()->clip_step(w, g, gcl, n, inv, clip, alpha, beta);
}
