/*
 * activation.h - the model's logistic sigmoid (eq. 1-3, 6-7) and tanh (eq. 4-5,
 * 19) applied in place over float arrays, several lanes at a time: 16
 * (AVX-512F), 8 (AVX2) or 4 (SSE2), the widest the CPU has, picked at the
 * first call. Every width gives the same values bit for bit (no FMA, the same
 * operations per lane).
 *
 * Both take e^x from one vectorised Cephes-style kernel (activation.c) instead
 * of glibc's expf, one call per element. Every element gets the same value
 * wherever it sits in the array and whatever the array's length (the last
 * elements go through the same lanes, padded), and:
 *   - sigmoid(0) = 0.5 and tanh(0) = 0 exactly (zero DRR residuals are Direct
 *     bit for bit), tanh is odd;
 *   - relative error against the exact function at most 1.8e-7 over every
 *     float of [-90, 90]: for sigmoid while its value is a normal float
 *     (z >= -87.3; below, it is 0), for tanh everywhere, near 0 too
 *     (test/unit/test_activation.c asserts 2e-7);
 *   - saturation without overflow: sigmoid(z) = 1 and tanh(z) = 1 for large
 *     z, tanh(-z) = -1; finite input never gives NaN or Inf; NaN stays NaN.
 */
#ifndef XDREC_ACTIVATION_H
#define XDREC_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x[i] = 1 / (1 + e^-x[i]) for i < n */
void		xd_sigmoid_inplace(float *x, size_t n);

/* x[i] = tanh(x[i]) for i < n */
void		xd_tanh_inplace(float *x, size_t n);

/*
 * Row kernels: a layer's elementwise work after its matrix product, fused
 * with the activation into one pass per row. n rows of width w (any w), the
 * vectors b, s of width w shared by every row; each value is bit for bit what
 * the separate loops (bias, activation, combination) give.
 */

/*
 * eq. 4-5 (s = s_K) and eq. 19 (s NULL, x_out = x_in = x):
 * T = tanh(T + b), kept for backward; x_out = x_in + s . T. x_out may be x_in.
 */
void		xd_tanh_residual_rows(float *T, const float *b, const float *x_in,
								  const float *s, float *x_out, int n, int w);

/* eq. 1-3: a = sigma(a + b . x), kept for backward; out = a . c */
void		xd_sigmoid_ctx_rows(float *a, const float *b, const float *x,
								const float *c, float *out, int n, int w);

/* eq. 6-7, one row: g = sigma(g), kept for backward; h = e . g */
void		xd_sigmoid_gate(float *g, const float *e, float *h, int w);


/*
 * The other element-wise passes of a training step, on the same vectors
 * (the same operations in the same order at every width, so the values are
 * those of the scalar loops bit for bit).
 */

/* eq. 6-7 backward, one row: gE += de . g; dz = de . e . g (1 - g) */
void		xd_gate_backward(const float *de, const float *e, const float *g,
							 float *gE, float *dz, int w);

/* x[r][k] = max(x[r][k] + b[k], 0) over n rows of width w */
void		xd_relu_bias_rows(float *x, const float *b, int n, int w);

/*
 * xd_relu_bias_rows with inverted dropout: x[r][k] = max(x[r][k] + b[k], 0) .
 * mask[r][k], the mask (kept) scale where bits[r * w + k] >= thresh, else 0
 */
void		xd_relu_bias_dropout_rows(float *x, const float *b, const uint16_t *bits,
									  uint32_t thresh, float scale, float *mask,
									  int n, int w);

/* dz[i] = h[i] > 0 ? dz[i] (* mask[i]) : 0, the ReLU backward; mask may be NULL */
void		xd_relu_grad(float *dz, const float *h, const float *mask, size_t n);

/*
 * eq. 1-3 backward over n rows of width w (x^l = a . c, a = sigma(z)):
 * dc += dx . a; dx = dx . c . a (1 - a) (dz); gb += dz . xp, xp = x^(l-1)
 */
void		xd_ctx_gate_backward_rows(float *dx, const float *c, const float *a,
									  const float *xp, float *dc, float *gb, int n, int w);

/* y[r][k] += b[k] x[r][k] over n rows of width w */
void		xd_add_scaled_rows(float *y, const float *b, const float *x, int n, int w);

/*
 * eq. 4-5 backward over n rows of width w (x^0 = c + s . T):
 * gs += dx . T; dx = dx . s (1 - T^2) (dz); gb += dz
 */
void		xd_tanh_scale_backward_rows(float *dx, const float *T, const float *s,
										float *gs, float *gb, int n, int w);

/*
 * y[r][k] = s[r] x[r * x_stride + k] over n rows of width w (x_stride 0: one
 * row x); with h (n rows of width w), 0 where h[r][k] <= 0: the product then
 * goes through a ReLU's backward (h its output) in the same pass, the values
 * of xd_relu_grad after it
 */
void		xd_scale_rows(float *y, const float *s, const float *x, int x_stride,
						  const float *h, int n, int w);

/*
 * out[r] = a_r . b_r for n pairs of rows of width w (row r at a + r * w and
 * b + r * w), each sum in column order from 0.0f exactly as the loop
 * `dot += a[k] * b[k]` adds it; four rows at a time, so that four
 * independent sums fill the adder's pipeline (one sum alone waits on each
 * addition's latency: M4's eq. 12 over a batch was 2% of training)
 */
void		xd_row_dots(float *out, const float *a, const float *b, int n, int w);

/*
 * s²Meta's update of one tensor of n values (fewshot.c, eq. 7-8): x =
 * clamp(g[i] inv, -clip, clip) (x > clip: clip, then x < -clip: -clip; a NaN
 * stays NaN), w[i] = beta w[i] - alpha x, and x into gcl[i] when gcl is not
 * NULL; the same values bit for bit as that scalar loop at every width
 */
void		xd_clip_step(float *w, const float *g, float *gcl, size_t n, float inv,
						 float clip, float alpha, float beta);

/* Adam's constants for one update: c1, c2 the bias corrections of its step */
typedef struct xd_adam_coef
{
	float		b1,
				b2,
				ob1,			/* 1 - b1 */
				ob2,			/* 1 - b2 */
				c1,				/* 1 / (1 - b1^t) */
				c2,				/* 1 / (1 - b2^t) */
				lr,
				eps;
} xd_adam_coef;

/*
 * One Adam update of n values: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr (m c1) / (sqrt(v c2) + eps); then g = 0 (the step's gradient is
 * spent). False when a value of w came out NaN or infinite.
 */
bool		xd_adam_update_rows(float *w, float *g, float *am, float *av,
								size_t n, const xd_adam_coef *a);

/*
 * The vector width the kernels use: 4, 8 or 16 lanes. xd_activation_set_lanes
 * picks one (a width the CPU or the build lacks is refused, and nothing
 * changes) or 0, the widest the CPU runs (the default), and returns the width
 * in use after; xd_activation_max_lanes is that widest. The values never
 * differ; the choice is only speed (and, on some CPUs, clock rate).
 */
int			xd_activation_lanes(void);
int			xd_activation_max_lanes(void);
int			xd_activation_set_lanes(int lanes);

#endif							/* XDREC_ACTIVATION_H */
