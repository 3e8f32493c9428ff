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
 *
 * With a fifth argument pop-all, a third line instead of the other two:
 * popularity in context on every item (core.h, xd_model_set_pop_all at
 * w = 1, the table xd_repeat_auto_table counts), what it adds to a rank
 * call: the median time of the uncached path (a new context: compute +
 * score) and of scoring alone (the repeated context's cached outputs), with
 * the term and without it, alternating call by call, on a generated domain
 * of n_items items (its own schema, so m is the generator's, not the
 * argument's).
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "report_common.h"
#include "xdrec/cold.h"
#include "xdrec/generate.h"
#include "xdrec/serve.h"
#include "xdrec/train.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * pop-all: a generated domain of n_items items (1,000 users, 20,000 rows:
 * the counts do not change what a call reads), a model of its widths and d,
 * and the median of each path with the term and without it, the two
 * alternating (off, on, off, ...)
 */
static int
pop_all_cost(int n_items, int d, double secs)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	xd_config	cfg;
	xd_model   *model;
	xd_cold    *table;
	xd_rng		rng;
	xd_item_outputs io;
	float	   *buf,
			   *scores,
			   *c;
	double	   *all,
			   *times[2][2];	/* [path: uncached, scoring][term: off, on] */
	int			runs = 0,
				max_runs = 20000;
	int32_t		user = 0;
	double		t0;

	xd_gen_config_default(&gc);
	gc.n_domains = 1;
	gc.src_users = 1000;
	gc.src_items = n_items;
	gc.src_interactions = 20000;
	if (xd_generate(&gc, &g) != XD_OK)
		return 4;
	ds = g->domains[0].ds;
	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &ds->enc.schema);
	cfg.d = d;
	xd_rng_seed(&rng, 1);
	if (xd_model_create(&cfg, ds->n_users, ds->n_items, 0.0f, &rng, &model) != XD_OK ||
		xd_repeat_auto_table(&model->cfg, ds, &table) != XD_OK || !table)
		return 5;
	xd_model_drop_training_state(model);
	buf = malloc(sizeof(float) * xd_item_outputs_floats(model, false));
	scores = malloc(sizeof(float) * ds->n_items);
	c = malloc(sizeof(float) * cfg.m);
	all = malloc(sizeof(double) * 4 * max_runs);
	for (int p = 0; p < 2; p++)
		for (int t = 0; t < 2; t++)
			times[p][t] = all + (2 * p + t) * max_runs;
	xd_item_outputs_bind(&io, model, false, buf);
	t0 = now();
	while (now() - t0 < secs && runs < max_runs)
	{
		int			on = runs % 2;
		int64_t		row = ds->split_rows[XD_SPLIT_TEST][(runs / 2) % ds->n_split[XD_SPLIT_TEST]];
		double		t;

		xd_dataset_encode(ds, row, -1, c);
		if (xd_model_set_pop_all(model, on ? table : NULL, 1.0f) != XD_OK)
			return 6;
		t = now();
		if (xd_item_outputs_compute(model, c, NULL, &io) != XD_OK)
			return 7;
		times[0][on][runs / 2] = now() - t;
		t = now();
		if (xd_item_outputs_score(model, &io, &user, 1, scores) != XD_OK)
			return 7;
		times[1][on][runs / 2] = now() - t;
		times[0][on][runs / 2] += times[1][on][runs / 2];
		runs++;
	}
	runs /= 2;
	for (int p = 0; p < 2; p++)
		for (int t = 0; t < 2; t++)
			qsort(times[p][t], runs, sizeof(double), cmp_double);
	printf("popularity in context on every item, %d items, m=%d d=%d, %d calls each: "
		   "uncached median %.4f ms without, %.4f ms with (+%.4f ms); "
		   "scoring the cached outputs %.4f ms without, %.4f ms with (+%.4f ms)\n",
		   ds->n_items, cfg.m, d, runs, times[0][0][runs / 2] * 1e3,
		   times[0][1][runs / 2] * 1e3, (times[0][1][runs / 2] - times[0][0][runs / 2]) * 1e3,
		   times[1][0][runs / 2] * 1e3, times[1][1][runs / 2] * 1e3,
		   (times[1][1][runs / 2] - times[1][0][runs / 2]) * 1e3);
	CHECK(xd_model_set_pop_all(model, NULL, 0.0f));
	free(all);
	free(buf);
	free(scores);
	free(c);
	xd_cold_free(table);
	xd_model_free(model);
	xd_generated_free(g);
	return 0;
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

	if (argc > 5 && strcmp(argv[5], "pop-all") == 0)
		return pop_all_cost(n_items, d, secs);
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
