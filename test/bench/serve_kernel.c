/*
 * serve_kernel.c - the uncached serving path's arithmetic rate on one core
 * against OpenBLAS's single-thread sgemm at the towers' shape, for
 * make bench-serve (test/bench/serve.sh, docs/serving.md). Not a unit test.
 *
 * Usage: serve_kernel n_items [m] [d] [seconds]
 *
 * Prints two lines: the sgemm peak at (rows per batch) x d x d, the shape of
 * every tower layer's product, best of many runs; and the median time and
 * GFLOP/s of computing the item outputs under a new context and scoring one
 * user against them (xd_item_outputs_compute + xd_item_outputs_score), the
 * work a new-context xdrec_rank call does besides parsing and top-k; and the
 * median time of the cold path's co-occurrence prior for 20 support rows
 * (cold.h: xd_cold_cooc_of when the task is encoded, xd_cold_cooc_blend
 * after scoring), which a served lambda of 0 skips.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "report_common.h"
#include "xdrec/cold.h"
#include "xdrec/serve.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int			n_items = argc > 1 ? atoi(argv[1]) : 10000;
	int			m = argc > 2 ? atoi(argv[2]) : 9;
	int			d = argc > 3 ? atoi(argv[3]) : 64;
	double		secs = argc > 4 ? atof(argv[4]) : 2.0;
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_item_outputs io;
	float	   *buf,
			   *scores,
			   *c,
			   *a,
			   *w,
			   *out;
	int			rows;
	double		best = 1e30,
				t0;
	double	   *times;
	int			runs = 0,
				max_runs = 100000;
	int32_t		user = 0;

	xd_config_defaults(&cfg);
	cfg.m = cfg.m_I = m;
	cfg.d = d;
	xd_rng_seed(&rng, 1);
	if (xd_model_create(&cfg, 1000, n_items, 0.0f, &rng, &model) != XD_OK)
		return 1;
	xd_model_drop_training_state(model);
	rows = xd_model_max_rows(model) < n_items ? xd_model_max_rows(model) : n_items;

	/* the peak: the same product as one tower layer, repeated */
	a = malloc(sizeof(float) * rows * d);
	w = malloc(sizeof(float) * d * d);
	out = malloc(sizeof(float) * rows * d);
	for (int i = 0; i < rows * d; i++)
		a[i] = xd_rng_uniform(&rng);
	for (int i = 0; i < d * d; i++)
		w[i] = xd_rng_uniform(&rng);
	t0 = now();
	while (now() - t0 < secs)
	{
		double		t = now();

		for (int r = 0; r < 20; r++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, d, d,
						1.0f, a, d, w, d, 0.0f, out, d);
		t = (now() - t) / 20;
		if (t < best)
			best = t;
	}
	printf("sgemm peak %dx%dx%d: %.1f GFLOP/s\n", rows, d, d, 2.0 * rows * d * d / best * 1e-9);

	/* the uncached path: a new context each time */
	buf = malloc(sizeof(float) * xd_item_outputs_floats(model, false));
	scores = malloc(sizeof(float) * n_items);
	c = malloc(sizeof(float) * m);
	times = malloc(sizeof(double) * max_runs);
	xd_item_outputs_bind(&io, model, false, buf);
	t0 = now();
	while (now() - t0 < secs && runs < max_runs)
	{
		double		t;

		for (int j = 0; j < m; j++)
			c[j] = xd_rng_uniform(&rng);
		t = now();
		if (xd_item_outputs_compute(model, c, NULL, &io) != XD_OK ||
			xd_item_outputs_score(model, &io, &user, 1, scores) != XD_OK)
			return 2;
		times[runs++] = now() - t;
	}
	qsort(times, runs, sizeof(double), cmp_double);
	printf("uncached item tower + score, %d items, m=%d d=%d: median %.3f ms, %.1f GFLOP/s (%.0f%% of the peak)\n",
		   n_items, m, d, times[runs / 2] * 1e3,
		   xd_item_outputs_flops(model, false) / times[runs / 2] * 1e-9,
		   100.0 * (xd_item_outputs_flops(model, false) / times[runs / 2]) /
		   (2.0 * rows * d * d / best));

	/* the co-occurrence prior: a full table of random neighbours, 20 positives */
	{
		xd_cold    *cold;
		xd_support	s;
		float	   *cooc = malloc(sizeof(float) * n_items);
		uint8_t    *in = malloc(n_items);

		if (xd_cold_new(&cfg, NULL, 0, false, 1, xd_model_max_rows(model), &cold) != XD_OK ||
			xd_cold_cooc_new(cold, n_items) != XD_OK || xd_support_init(&s, 20, m) != XD_OK)
			return 3;
		for (size_t i = 0; i < (size_t) n_items * cold->cooc_width; i++)
		{
			cold->cooc_nbr->w[i] = (float) (xd_rng_next(&rng) % (uint64_t) n_items);
			cold->cooc_share->w[i] = xd_rng_uniform(&rng);
		}
		for (int i = 0; i < 20; i++)
		{
			s.items[i] = (int32_t) (xd_rng_next(&rng) % (uint64_t) n_items);
			s.label[i] = 1.0f;
		}
		s.n = 20;
		runs = 0;
		t0 = now();
		while (now() - t0 < secs && runs < max_runs)
		{
			double		t = now();

			xd_cold_cooc_of(cold, &s, cooc, in);
			xd_cold_cooc_blend(cooc, in, n_items, 1.0f, scores);
			times[runs++] = now() - t;
		}
		qsort(times, runs, sizeof(double), cmp_double);
		printf("cold co-occurrence prior, %d items, 20 rows x %d neighbours: median %.3f ms\n",
			   n_items, cold->cooc_width, times[runs / 2] * 1e3);
		xd_support_free(&s);
		xd_cold_free(cold);
		free(cooc);
		free(in);
	}
	free(a);
	free(w);
	free(out);
	free(buf);
	free(scores);
	free(c);
	free(times);
	xd_model_free(model);
	return 0;
}
