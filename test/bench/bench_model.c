/*
 * bench_model.c - forward + backward (+ Adam) throughput of the model on one
 * core, at the shapes of DESIGN.md section 3 (d = 64, 2 + 2 layers, batch 256,
 * implicit: 3 rows per positive), per CPU-second; and the cost per element of
 * the model's sigmoid and tanh, the former scalar expf formulas against the
 * vectorised ones of activation.h. Not a unit test.
 *
 * Usage: bench_model [m] [seconds] [n_users] [n_items]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xdrec/activation.h"
#include "xdrec/core.h"

/*
 * CPU time of this thread, so that other processes on a shared machine do
 * not count against the model (the rates are per CPU-second of one core).
 */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the scalar helpers model_int.h had before activation.h, as the baseline */
static void
scalar_sigmoid(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void
scalar_tanh(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f - 2.0f / (1.0f + expf(2.0f * x[i]));
}

/* ns per element of f over n floats, on a fresh copy of src each pass (the copy untimed) */
static double
ns_per_element(void (*f) (float *, size_t), const float *src, float *buf,
			   size_t n, double secs)
{
	double		t = 0.0;
	long		passes = 0;

	do
	{
		double		t0;

		memcpy(buf, src, sizeof(float) * n);
		t0 = now();
		f(buf, n);
		t += now() - t0;
		passes++;
	} while (t < secs);
	return 1e9 * t / ((double) passes * n);
}

/* the gates of a batch: rows of 3 P x d floats, uniform in [-8, 8] */
static void
bench_activations(int n, double secs, xd_rng *rng)
{
	float	   *src = malloc(sizeof(float) * n);
	float	   *buf = malloc(sizeof(float) * n);
	double		ss,
				vs,
				st,
				vt;

	for (int i = 0; i < n; i++)
		src[i] = 16.0f * (xd_rng_uniform(rng) - 0.5f);
	ss = ns_per_element(scalar_sigmoid, src, buf, n, secs);
	vs = ns_per_element(xd_sigmoid_inplace, src, buf, n, secs);
	st = ns_per_element(scalar_tanh, src, buf, n, secs);
	vt = ns_per_element(xd_tanh_inplace, src, buf, n, secs);
	printf("sigmoid over %d floats: scalar expf %.2f ns/element, vector %.2f ns/element (%.1fx)\n",
		   n, ss, vs, ss / vs);
	printf("tanh    over %d floats: scalar expf %.2f ns/element, vector %.2f ns/element (%.1fx)\n",
		   n, st, vt, st / vt);
	free(src);
	free(buf);
}

int
main(int argc, char **argv)
{
	int			m = argc > 1 ? atoi(argv[1]) : 32;
	double		secs = argc > 2 ? atof(argv[2]) : 3.0;
	int			n_users = argc > 3 ? atoi(argv[3]) : 100000;
	int			n_items = argc > 4 ? atoi(argv[4]) : 20000;
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_batch	b;
	int			P;

	xd_config_defaults(&cfg);
	cfg.m_I = m / 4;
	cfg.m_H = m / 4;
	cfg.m_A = m - 2 * (m / 4);
	cfg.m = m;
	P = cfg.batch_size;
	xd_rng_seed(&rng, 1);
	if (xd_model_create(&cfg, n_users, n_items, 0.0f, &rng, &model) != XD_OK ||
		xd_batch_init(&b, 3 * P, m) != XD_OK)
		return 1;
	b.n = 3 * P;
	b.n_pos = P;
	for (int r = 0; r < 3 * P; r++)
	{
		b.users[r] = (int32_t) xd_rng_below(&rng, n_users);
		b.items[r] = (int32_t) xd_rng_below(&rng, n_items);
		for (int j = 0; j < m; j++)
			b.c[(size_t) r * m + j] = xd_rng_uniform(&rng) < 0.3f ? xd_rng_uniform(&rng) : 0.0f;
	}
	for (int with_adam = 0; with_adam < 2; with_adam++)
	{
		double		t0 = now(),
					t;
		long		batches = 0;
		double		loss;

		do
		{
			if (xd_model_loss_backward(model, &b, &rng, true, &loss) != XD_OK)
				return 2;
			if (with_adam)
				xd_adam_step2(model, 1e-3f, 1e-3f);
			else
				xd_model_zero_grad(model);
			batches++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d %s: %.0f batches/s, %.0f rows/s, %.0f positives/s\n",
			   m, cfg.d, with_adam ? "fwd+bwd+adam" : "fwd+bwd     ",
			   batches / t, batches * 3.0 * P / t, batches * (double) P / t);
	}
	{
		float	   *s = malloc(sizeof(float) * 3 * P);
		double		t0 = now(),
					t;
		long		batches = 0;

		do
		{
			xd_model_score(model, &b, s);
			batches++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d score only  : %.0f rows/s\n", m, cfg.d, batches * 3.0 * P / t);
		free(s);
	}
	{
		/* one user, one context, every item of the domain (DESIGN.md section 5, full ranking) */
		int32_t    *items = malloc(sizeof(int32_t) * n_items);
		float	   *s = malloc(sizeof(float) * n_items);
		double		t0 = now(),
					t;
		long		calls = 0;

		for (int i = 0; i < n_items; i++)
			items[i] = i;
		do
		{
			xd_model_score_items(model, 0, b.c, items, n_items, s);
			calls++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d score_items : %.0f items/s (%.2f ms to rank %d items)\n",
			   m, cfg.d, calls * (double) n_items / t, 1e3 * t / calls, n_items);
		free(items);
		free(s);
	}
	bench_activations(3 * P * cfg.d, secs / 3.0, &rng);
	xd_batch_free(&b);
	xd_model_free(model);
	return 0;
}
