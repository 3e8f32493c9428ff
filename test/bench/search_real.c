/*
 * search_real.c - the learning-rate search alone on real views (make
 * search-real; docs/training.md, "Learning-rate search"): every domain of
 * each view (the source and the targets alike) fitted as xdrec.train fits
 * it, a fresh default model, 3 seeds, by
 *   one    0.1.0's single fit at lr 1e-3 (lr_search 1), the cost's unit;
 *   grid   the grid of 3 rates, every epoch validated whole
 *          (search_valid_max 0: the search before the part);
 *   part   the default: the grid's fits stop on XD_SEARCH_VALID_MAX
 *          positives (identical to grid when the validation split has at
 *          most that many rows: then copied, not refitted);
 *   quarter the grid's fits stop on a quarter of the validation split
 *          (the default's proportion at the bench's 2,000-positive
 *          subsample; the real targets' splits are under 500 rows, so this
 *          is the harsher test of stopping on a part).
 * Printed: per domain and seed the rate kept, the epochs of the 3 fits, the
 * test metric (sampled MRR or RMSE) and CPU seconds; per view and strategy
 * the test metric summed over the targets (mean of seeds), every target's
 * difference with the grid and its standard error over seeds, and the cost
 * in 0.1.0 fits (the mean over domains of each domain's ratio, and the
 * ratio of the summed times).
 *
 * Usage: search_real data_dir view...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/core.h"
#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "real_view.h"
#include "report_common.h"

#define N_SEEDS 3

enum
{
	S_ONE = 0,
	S_GRID,
	S_PART,
	S_QUARTER,
	N_STRATEGIES
};

static const char *const strategy_name[N_STRATEGIES] = {"one (0.1.0)", "grid", "part (default)",
"quarter"};

typedef struct fit_cell
{
	float		lr;				/* the rate kept */
	int			epochs;			/* over every fit of the search */
	double		test;			/* sampled MRR, or RMSE */
	double		seconds;
} fit_cell;

/* The test metric of the model: sampled MRR (implicit) or RMSE (explicit). */
static double
test_metric(xd_model *model, const xd_dataset *ds)
{
	xd_eval_opts eo;

	xd_eval_opts_default(&eo);
	if (model->cfg.feedback == XD_IMPLICIT)
	{
		xd_rank_metrics rm;

		CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_model_score, model, &rm));
		return rm.mrr;
	}
	else
	{
		xd_rating_metrics rt;

		CHECK(xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_model_score, model, &rt));
		return rt.rmse;
	}
}

/* One fit of a fresh default model on ds by strategy s with seed. */
static void
fit_one(const xd_dataset *ds, int s, uint64_t seed, fit_cell *c)
{
	xd_config	cfg;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_lr_search search;
	xd_rng		rng;
	double		t0;

	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &ds->enc.schema);
	cfg.feedback = ds->has_ratings ? XD_EXPLICIT : XD_IMPLICIT;
	cfg.seed = seed;
	xd_rng_seed(&rng, seed);
	CHECK(xd_model_create(&cfg, ds->n_users, ds->n_items, 0.0f, &rng, &model));
	xd_train_opts_default(&o, &cfg);
	if (s == S_GRID)
		o.search_valid_max = 0;
	else if (s == S_QUARTER)
		o.search_valid_max = ds->n_split[XD_SPLIT_VALID] / 4 > 0 ?
			ds->n_split[XD_SPLIT_VALID] / 4 : 1;
	t0 = cpu_now();
	CHECK(xd_train_search(model, ds, &o, s == S_ONE ? 1 : XD_LR_SEARCH_DEFAULT, &res, &search));
	c->seconds = cpu_now() - t0;
	c->lr = search.lr[search.chosen];
	c->epochs = 0;
	for (int i = 0; i < search.n; i++)
		c->epochs += search.epochs[i];
	c->test = test_metric(model, ds);
	xd_model_free(model);
}

static void
run_view(const char *data_dir, const char *name)
{
	char		path[512];
	real_view	v;
	fit_cell	(*c)[N_STRATEGIES][N_SEEDS];
	bool		implicit;

	snprintf(path, sizeof(path), "%s/%s.tsv", data_dir, name);
	real_view_load(path, &v);
	implicit = !v.explicit_fb;
	c = calloc((size_t) v.n_domains, sizeof(*c));
	if (!c)
		exit(1);
	printf("== %s (%s; test %s)\n", v.name, implicit ? "implicit" : "explicit",
		   implicit ? "sampled MRR" : "RMSE");
	for (int k = 0; k < v.n_domains; k++)
	{
		const xd_dataset *ds = v.ds[k];
		int64_t		n_valid = ds->n_split[XD_SPLIT_VALID];

		for (int seed = 0; seed < N_SEEDS; seed++)
		{
			for (int s = 0; s < N_STRATEGIES; s++)
			{
				fit_cell   *f = &c[k][s][seed];

				/* a split of at most the part's rows: the same code path as the grid */
				if (s == S_PART && n_valid <= XD_SEARCH_VALID_MAX)
					*f = c[k][S_GRID][seed];
				else
					fit_one(ds, s, 1000 + 17 * seed, f);
				printf("%s %-10s %s seed %d valid rows %5lld %-15s lr %-6g epochs %3d test %.4f %6.1f s%s\n",
					   v.name, v.domain[k], k == 0 ? "source" : "target", seed,
					   (long long) n_valid, strategy_name[s], f->lr, f->epochs, f->test,
					   f->seconds,
					   s == S_PART && n_valid <= XD_SEARCH_VALID_MAX ? " (= grid)" : "");
				fflush(stdout);
			}
		}
	}

	/* per strategy: the targets' summed metric, each domain against the grid, the cost */
	for (int s = 0; s < N_STRATEGIES; s++)
	{
		double		sum = 0.0,
					ratio = 0.0,
					t = 0.0,
					t_one = 0.0;
		int			worse = 0;

		printf("%s %-15s", v.name, strategy_name[s]);
		for (int k = 0; k < v.n_domains; k++)
		{
			double		d[N_SEEDS],
						mean = 0.0,
						var = 0.0,
						r = 0.0;

			for (int seed = 0; seed < N_SEEDS; seed++)
			{
				d[seed] = c[k][s][seed].test - c[k][S_GRID][seed].test;
				mean += d[seed] / N_SEEDS;
				r += c[k][s][seed].seconds / c[k][S_ONE][seed].seconds / N_SEEDS;
				t += c[k][s][seed].seconds;
				t_one += c[k][S_ONE][seed].seconds;
				if (k > 0)
					sum += c[k][s][seed].test / N_SEEDS;
			}
			for (int seed = 0; seed < N_SEEDS; seed++)
				var += (d[seed] - mean) * (d[seed] - mean) / (N_SEEDS - 1);
			ratio += r / v.n_domains;
			/* worse beyond 2 standard errors of the mean difference over seeds */
			if (k > 0 && (implicit ? -mean : mean) > 2.0 * sqrt(var / N_SEEDS))
				worse++;
			printf(" | %s %+.4f (s.e. %.4f)", v.domain[k], mean, sqrt(var / N_SEEDS));
		}
		printf("\n%s %-15s targets' sum %.4f, targets worse than the grid beyond 2 s.e.: %d; "
			   "cost in 0.1.0 fits: mean of domains %.2fx, summed times %.2fx\n",
			   v.name, strategy_name[s], sum, worse, ratio, t / t_one);
	}
	for (int k = 0; k < v.n_domains; k++)
	{
		xd_dataset_free(v.ds[k]);
		free(v.user_src[k]);
	}
	free(c);
}

int
main(int argc, char **argv)
{
	if (argc < 3)
	{
		fprintf(stderr, "usage: search_real data_dir view...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		run_view(argv[1], argv[i]);
	return 0;
}
