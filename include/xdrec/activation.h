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

#include <stddef.h>

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
