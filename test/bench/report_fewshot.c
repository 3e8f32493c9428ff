/*
 * report_fewshot.c - docs/fewshot-report.md and docs/img/fewshot-hit10.png
 * (make report-fewshot; issue 20): new domains served from their first N
 * interactions, N = 16..512, on two generated worlds, the targets following
 * the source's rule or the control rule (docs/generator.md).
 *
 * Per world: the source trained to convergence (xd_transfer_train_source),
 * its DRR encoders, and the s²Meta learner meta-trained on pseudo-domains of
 * the source, once whole and once per ablation (paper Table 4). Per target,
 * support size N and seed: xd_fewshot_support_of cuts N rows as the
 * support (80% train, 20% validation: what DRR and target-only stop on) and
 * keeps the rest as the query; every method sees the same N rows and is
 * scored on the same query by full ranking (HitRate@10 over all the
 * domain's items, the user's support items other than the query's own
 * excluded, metrics.h). Times are this process's CPU seconds of each
 * adaptation.
 *
 * Usage: report_fewshot DOCS_DIR [quick]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_common.h"
#include "xdrec/baseline.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/fewshot.h"
#include "xdrec/generate.h"
#include "xdrec/metrics.h"
#include "xdrec/transfer.h"

enum
{
	M_FEWSHOT, M_NO_INIT, M_NO_UPDATE, M_NO_STOP, M_TABLES_TOO, M_DRR, M_TARGET_ONLY, M_POP,
	M_SUPPORT_FIRST, N_METHODS
};
static const char *const method_names[N_METHODS] = {
	"fewshot", "fewshot, no learned init", "fewshot, no update controller",
	"fewshot, no stop controller", "fewshot, update controller on the tables too",
	"DRR", "target-only", "popularity", "support first"
};

/* the meta-learners: fewshot and its variants, M_FEWSHOT..M_TABLES_TOO */
#define N_FS (M_TABLES_TOO + 1)

#define N_SIZES 6
static const int sizes[N_SIZES] = {16, 32, 64, 128, 256, 512};
#define N_WORLDS 2

typedef struct cell
{
	double		hit;			/* sum of per-run HitRate@10 */
	double		hit2;
	double		seconds;
	double		steps;
	double		ranked;			/* query positives ranked, summed over runs */
	int			n;
} cell;

static cell cells[N_WORLDS][N_SIZES][N_METHODS];
static double meta_seconds[N_WORLDS][N_FS];
static double meta_loss[N_WORLDS][N_FS][2];

/* popularity over the whole support (train and validation rows) */
typedef struct support_pop
{
	const xd_dataset *ds;
	float	   *count;
	bool		user_first;
} support_pop;

static xd_status
support_pop_score(void *arg, const xd_batch *b, float *scores)
{
	support_pop *sp = arg;

	for (int r = 0; r < b->n; r++)
	{
		scores[r] = sp->count[b->items[r]];
		if (sp->user_first && xd_dataset_seen(sp->ds, b->users[r], b->items[r]))
			scores[r] += 1e6f;
	}
	return XD_OK;
}

static int64_t last_ranked;	/* positives the last hit10 ranked */

/*
 * Query positives whose user and item have a support row are ranked
 * (xd_eval_full excludes the others): few at N = 16, more as N grows.
 */
static double
hit10(const xd_dataset *ds, xd_score_fn fn, void *arg)
{
	xd_eval_opts eo;
	xd_full_metrics fm;

	xd_eval_opts_default(&eo);
	eo.max_positives = 400;
	CHECK(xd_eval_full(ds, XD_SPLIT_TEST, 10, &eo, fn, arg, &fm));
	last_ranked = fm.n;
	return fm.hit;
}

static void
add(cell *c, double hit, double seconds, double steps)
{
	c->hit += hit;
	c->hit2 += hit * hit;
	c->seconds += seconds;
	c->steps += steps;
	c->ranked += (double) last_ranked;
	c->n++;
}

static xd_status
fewshot_score(void *arg, const xd_batch *b, float *scores)
{
	return xd_model_score(((xd_fewshot_result *) arg)->model, b, scores);
}

static void
run_world(int wi, bool control, bool quick)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_config	cfg;
	xd_transfer_opts to;
	xd_transfer_result source;
	xd_dist_encoder_opts eo;
	xd_dist_encoders *enc;
	xd_dist_encoder_report erep;
	xd_fewshot *fs[N_FS];
	int			n_targets = quick ? 3 : 6;
	int			n_seeds = 2;
	double		t0;

	xd_gen_config_default(&gc);
	gc.n_domains = 1 + n_targets;
	gc.src_users = 800;
	gc.src_items = 300;
	gc.src_interactions = 30000;
	gc.tgt_users = 150;
	gc.tgt_items = 100;
	gc.tgt_interactions = 900;
	gc.control = control;
	CHECK(xd_generate(&gc, &g));
	xd_config_defaults(&cfg);
	cfg.m = g->schema.m;
	cfg.m_I = g->schema.m_I;
	cfg.m_H = g->schema.m_H;
	cfg.m_A = g->schema.m_A;
	cfg.d = 32;
	xd_transfer_opts_default(&to);
	if (quick)
		to.max_epochs = 8;
	t0 = cpu_now();
	CHECK(xd_transfer_train_source(&cfg, g->domains[0].ds, &to, &source));
	xd_dist_encoder_opts_default(&eo);
	CHECK(xd_dist_encoders_train(source.model, g->domains[0].ds, &eo, &enc, &erep));
	fprintf(stderr, "[world %d] source: %d epochs, %.1f s\n", wi, source.epochs, cpu_now() - t0);

	for (int v = 0; v < N_FS; v++)
	{
		xd_fewshot_opts fo;
		xd_fewshot_report rep;

		CHECK(xd_fewshot_new(&source.cfg, 3, &fs[v]));
		fs[v]->use_init = v != 1;
		fs[v]->use_update = v != 2;
		fs[v]->use_stop = v != 3;
		fs[v]->upd_tables = v == M_TABLES_TOO;
		xd_fewshot_opts_default(&fo);
		fo.episodes = quick ? 150 : 400;
		t0 = cpu_now();
		CHECK(xd_fewshot_train(fs[v], source.shared, g->domains[0].ds, &fo, &rep));
		meta_seconds[wi][v] = cpu_now() - t0;
		meta_loss[wi][v][0] = rep.first_query_loss;
		meta_loss[wi][v][1] = rep.last_query_loss;
		fprintf(stderr, "[world %d] meta-training %s: query loss %.4f -> %.4f, %.1f steps, %.1f s\n",
				wi, method_names[v], rep.first_query_loss, rep.last_query_loss, rep.mean_steps,
				meta_seconds[wi][v]);
	}

	for (int di = 1; di <= n_targets; di++)
		for (int si = 0; si < N_SIZES; si++)
			for (int seed = 0; seed < n_seeds; seed++)
			{
				const xd_dataset *T = g->domains[di].ds;
				xd_dataset *cut;
				support_pop sp;

				if (T->n_rows < sizes[si] + 100)
					continue;
				CHECK(xd_fewshot_support_of(T, sizes[si], 100 + seed * 7 + di, &cut));
				for (int v = 0; v < N_FS; v++)
				{
					xd_fewshot_result r;

					double		secs;

					t0 = cpu_now();
					CHECK(xd_fewshot_adapt(fs[v], source.shared, cut, 5 + seed, &r));
					secs = cpu_now() - t0;	/* the adaptation alone, not its evaluation */
					add(&cells[wi][si][v], hit10(cut, fewshot_score, &r), secs, r.steps);
					xd_fewshot_result_free(&r);
				}
				for (int m = M_DRR; m <= M_TARGET_ONLY; m++)
				{
					xd_transfer_opts o;
					xd_transfer_result r;

					xd_transfer_opts_default(&o);
					o.method = m == M_DRR ? XD_TRANSFER_DRR : XD_TRANSFER_TARGET_ONLY;
					o.seed = 1000 + seed;
					if (quick)
						o.max_epochs = 20;
					double		secs;

					t0 = cpu_now();
					CHECK(xd_transfer(source.shared, enc, cut, &o, &r));
					secs = cpu_now() - t0;
					add(&cells[wi][si][m], hit10(cut, xd_transfer_score, &r), secs, r.epochs);
					xd_transfer_result_free(&r);
				}
				sp.ds = cut;
				sp.count = calloc(cut->n_items, sizeof(float));
				for (int64_t r = 0; r < cut->n_rows; r++)
					if (cut->split[r] != XD_SPLIT_TEST)
						sp.count[cut->items[r]] += 1.0f;
				sp.user_first = false;
				add(&cells[wi][si][M_POP], hit10(cut, support_pop_score, &sp), 0.0, 0);
				sp.user_first = true;
				add(&cells[wi][si][M_SUPPORT_FIRST], hit10(cut, support_pop_score, &sp), 0.0, 0);
				free(sp.count);
				fprintf(stderr, "[world %d] domain %d N %d seed %d done\n", wi, di, sizes[si], seed);
				xd_dataset_free(cut);
			}
	for (int v = 0; v < N_FS; v++)
		xd_fewshot_free(fs[v]);
	xd_dist_encoders_free(enc);
	xd_transfer_result_free(&source);
	xd_generated_free(g);
}

static double
mean(const cell *c)
{
	return c->n ? c->hit / c->n : NAN;
}

static double
se(const cell *c)
{
	double		m = mean(c);

	return c->n > 1 ? sqrt(fmax(0.0, c->hit2 / c->n - m * m) / (c->n - 1)) : NAN;
}

static void
plot(const char *dir)
{
	char		path[512];
	FILE	   *dat,
			   *gp;

	snprintf(path, sizeof(path), "%s/img/fewshot-hit10.dat", dir);
	dat = fopen(path, "w");
	if (!dat)
		return;
	for (int wi = 0; wi < N_WORLDS; wi++)
	{
		for (int si = 0; si < N_SIZES; si++)
		{
			fprintf(dat, "%d", sizes[si]);
			for (int m = 0; m < N_METHODS; m++)
				fprintf(dat, " %.4f", mean(&cells[wi][si][m]));
			fprintf(dat, "\n");
		}
		fprintf(dat, "\n\n");
	}
	fclose(dat);
	gp = popen("gnuplot", "w");
	if (!gp)
		return;
	fprintf(gp, "set terminal pngcairo size 1100,450 font ',10' noenhanced\n");
	fprintf(gp, "set output '%s/img/fewshot-hit10.png'\n", dir);
	fprintf(gp, "set multiplot layout 1,2\nset xlabel 'N (support interactions)'\n"
			"set ylabel 'HitRate@10'\nset logscale x 2\nset key top left\n");
	for (int wi = 0; wi < N_WORLDS; wi++)
	{
		fprintf(gp, "set title \"%s\"\nplot ", wi == 0 ? "targets of the source's rule" : "control rule");
		for (int m = 0; m < N_METHODS; m++)
			fprintf(gp, "%s'%s' index %d using 1:%d with linespoints title '%s'",
					m ? ", " : "", path, wi, m + 2, method_names[m]);
		fprintf(gp, "\n");
	}
	fprintf(gp, "unset multiplot\n");
	pclose(gp);
	remove(path);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "docs";
	bool		quick = argc > 2 && strcmp(argv[2], "quick") == 0;
	char		path[512];
	FILE	   *out;

	run_world(0, false, quick);
	run_world(1, true, quick);
	snprintf(path, sizeof(path), "%s/fewshot-report.md", dir);
	out = fopen(path, "w");
	if (!out)
		return 1;
	fprintf(out, "# Few-shot markets: s²Meta against DRR, target-only and heuristics\n\n"
			"Written by `make report-fewshot` (test/bench/report_fewshot.c)%s. Two generated "
			"worlds (docs/generator.md): a source of 800 users, 300 items and 30,000 rows, and "
			"targets of 150 users, 100 items and 900 rows whose rule is the source's (left) or "
			"the control rule (right). For each target, support size N and seed, N of the "
			"target's rows are the support (80%% training, 20%% validation for the methods "
			"that stop early) and the rest the query, ranked in full (HitRate@10 over all the "
			"target's items; only query rows whose user and item have a support row are ranked, "
			"few at N = 16, so the small-N columns rest on few rows and favour repeat "
			"items). `fewshot` is meta-trained on pseudo-domains of the source "
			"(include/xdrec/fewshot.h); each ablation is meta-trained alone. Times are CPU "
			"seconds of one adaptation.\n\n"
			"![HitRate@10 against N](img/fewshot-hit10.png)\n\n",
			quick ? " in its quick mode" : "");
	for (int wi = 0; wi < N_WORLDS; wi++)
	{
		fprintf(out, "## %s\n\n| method |", wi == 0 ? "Targets of the source's rule" : "Control rule");
		for (int si = 0; si < N_SIZES; si++)
			fprintf(out, " N=%d |", sizes[si]);
		fprintf(out, " time at N=64 (s) |\n|---|");
		for (int si = 0; si <= N_SIZES; si++)
			fprintf(out, "---|");
		fprintf(out, "\n");
		for (int m = 0; m < N_METHODS; m++)
		{
			fprintf(out, "| %s |", method_names[m]);
			for (int si = 0; si < N_SIZES; si++)
				fprintf(out, " %.3f ± %.3f |", mean(&cells[wi][si][m]), se(&cells[wi][si][m]));
			fprintf(out, " %.3f |\n", cells[wi][2][m].n ? cells[wi][2][m].seconds / cells[wi][2][m].n : NAN);
		}
		fprintf(out, "| *query positives ranked per run* |");
		for (int si = 0; si < N_SIZES; si++)
			fprintf(out, " %.0f |", cells[wi][si][M_POP].n ? cells[wi][si][M_POP].ranked / cells[wi][si][M_POP].n : NAN);
		fprintf(out, " |\n");
		fprintf(out, "\nMeta-training (query loss over the first and last tenth of episodes, CPU s):");
		for (int v = 0; v < N_FS; v++)
			fprintf(out, " %s %.3f -> %.3f in %.0f s%s", method_names[v], meta_loss[wi][v][0],
					meta_loss[wi][v][1], meta_seconds[wi][v], v < N_FS - 1 ? ";" : ".\n\n");
		fprintf(out, "Mean updates at N=64: fewshot %.1f, with the controller on the tables too %.1f. Runs per cell at N=64: %d.\n\n",
				cells[wi][2][M_FEWSHOT].n ? cells[wi][2][M_FEWSHOT].steps / cells[wi][2][M_FEWSHOT].n : NAN,
				cells[wi][2][M_TABLES_TOO].n ? cells[wi][2][M_TABLES_TOO].steps / cells[wi][2][M_TABLES_TOO].n : NAN,
				cells[wi][2][M_FEWSHOT].n);
	}
	fclose(out);
	plot(dir);
	return 0;
}
