/*
 * report_cold.c - `make report-cold`: docs/cold-report.md and
 * docs/img/cold-hit10.png, the cold-start protocol (coldeval.h) on the
 * synthetic world's source domain and on the real tables of
 * test/real/cold_data.sh (DePaulMovie, the Tijuana restaurants).
 *
 * Per world and seed:
 *  1. users with more than K_max = 20 rows are eligible; a seeded 10% of them
 *     (at most 200) are held out entirely (cold), another 10% are trained on
 *     their first rows until 20 of those fall in the training split (warm
 *     comparison users); everyone else trains as usual;
 *  2. MMT-Net is trained on that (DESIGN.md section 3 defaults);
 *  3. the cold module is meta-trained in variants (variant_names: FiLM or
 *     e_u only, with or without rho, with or without the context prior),
 *     and the protocol runs for each; the report keeps the numbers of the
 *     one whose validation positives rank best over every item
 *     (xd_cold_pick: HitRate@10, then MRR), and prints all;
 *  4. the goals are checked as the issue states them: cmml >= 1.10 x the
 *     best heuristic's HitRate@10 at K = 5, and >= 0.90 x warm at K = 20;
 *     item-kNN (knn_cell) stands beside the three heuristics as a fourth
 *     baseline, and the served path is judged against the best of all four
 *     too, at every K with paired differences over seeds (report_against).
 *
 * usage: report_cold [--repeat] [--joint] [--scale-prior] [--no-scale-prior]
 * [--paired-scale] [--pop-negatives X] [--paired-negatives X] [--real-only]
 * [--seeds N] [--real-seeds N] [--first-seed S] DOCS_DIR [TSV[@N]...] (the tables of
 * test/real/cold_data.sh; TSV@N runs N seeds on that table instead of
 * --real-seeds'); --repeat trains
 * MMT-Net with the repeat term (core.h), which the cold path then applies to
 * the support's items with its task's rho; --seeds N seeds per world (2),
 * --real-seeds N for the real tables (small: more seeds are cheap; the
 * Makefile runs 40, at most MAX_SEEDS); --first-seed S numbers the seeds
 * from S (11), so more seeds can be run without repeating the first ones;
 * --real-only skips the synthetic world (minutes) to iterate; --joint adds
 * the variant with the joint context cell, --scale-prior chooses the prior's
 * scale on validation (xd_cold_opts_default's now; --no-scale-prior
 * leaves it out), --paired-scale also runs each variant without it;
 * --pop-negatives X meta-trains every variant with the share X of its
 * query's item negatives drawn by popularity (xd_cold_opts.pop_negatives),
 * --paired-negatives X also runs each variant with that share beside it;
 * --rank-negatives K meta-trains every variant with the ranking loss over
 * K negatives (xd_cold_opts.rank_negatives; --rank-popular: drawn by
 * popularity, logQ-corrected), --paired-rank K (--paired-rank-pop K) also
 * runs each variant with it beside the first; --variants N runs only the
 * first N variants (1: FiLM, the module the database trains); --cold-min
 * N[,N...] compares the warm and cold paths of warm users with fewer than N
 * distinct training items (option cold_min, xd_cold_min_compare), on the
 * target's too with --targets, and with --cold-min-test on the test split
 * beside validation; --valid-lambda chooses the support-first blend probe's
 * lambda on validation (valid_lambda; `gap` lines), and the co-occurrence
 * probe's per kind (`cooc` lines, docs/cold-start.md: An item co-occurrence
 * prior; without it their `valid` columns read cmml's; with the served
 * prior below they blend on top of it, so cold18's probe is --no-cooc
 * --valid-lambda); --no-cooc serves the kept variant without the item
 * co-occurrence prior (cold.h, xd_cold_cooc_fit: otherwise fitted as train
 * fits it, `cooc served` lines); --targets
 * measures cold users of adapted targets instead (run_targets, printed;
 * `make report-cold-targets`); --lr, --lr-search, --dim, --item-bias,
 * --max-epochs, --patience, --neg-weight set MMT-Net's training (below;
 * docs/cold-start.md, MMT-Net on a catalogue of thousands of items).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/baseline.h"
#include "xdrec/clock.h"
#include "xdrec/cold.h"
#include "xdrec/coldeval.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/generate.h"
#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"

#define KMAX 20
#define N_SEEDS 2			/* by default; --seeds N */
#define MAX_SEEDS 40
#define FIRST_SEED 11		/* by default; --first-seed S */

/* --repeat: MMT-Net with the repeat term */
static bool with_repeat;

/*
 * MMT-Net's training against DESIGN.md section 3's defaults (cold23's
 * probe of why it learns little on ml-latest-small): --lr X its rate,
 * --lr-search N xd_train_search over N rates as xdrec.train fits (option
 * lr_search, 3) instead of the one fit, --dim D the width, --item-bias the
 * implicit item bias s_v (core.h), --max-epochs N, --patience N; 0: the
 * default's
 */
static float mmt_lr;
static int	mmt_lr_search;
static int	mmt_dim;
static bool mmt_item_bias;
static int	mmt_max_epochs;
static int	mmt_patience;

/*
 * --neg-weight W: MMT-Net's item negatives weigh W in its loss
 * (xd_train_opts.item_neg_weight; 1 DESIGN.md section 3's); 0, the
 * default: by the domain's item count, as xdrec.train fits (xd_item_neg_weight)
 */
static float mmt_neg_weight;

/*
 * The cold module's variants, each meta-trained and run; the report keeps
 * per seed the one whose validation episodes rank best over every item
 * (xd_cold_pick), and prints beside it each one's validation loss, which
 * the choice was once made by, and which it would have kept. rho: the
 * task's repeat weight (cold.h), with the repeat term only.
 */
#define N_VARIANTS 5
static const char *const variant_names[N_VARIANTS] = {
	"FiLM", "e_u only", "FiLM, no rho", "FiLM, no prior", "FiLM, joint prior"
};

/*
 * --joint: a fifth variant, FiLM with rho and the prior with the joint
 * context cell as one more task-weighted value (xd_cold_new_joint), which
 * the pick may keep like any other (docs/cold-start.md, A task-adaptive
 * joint-cell prior)
 */
static bool with_joint;

/*
 * --scale-prior: every variant with the prior has its weights' scale chosen
 * on the validation ranking (xd_cold_opts.scale_prior)
 */
static bool with_scale_prior;

/* --no-scale-prior: the prior's weights as meta-trained (the default scales) */
static bool without_scale_prior;

/*
 * --paired-scale: as --scale-prior, and every variant with the prior is
 * meta-trained a second time without the scale (deterministic under its
 * seed: the same training up to the scale) and run too, so the scale's
 * effect per seed is measured on one MMT-Net; stderr prints both picks
 */
static bool with_paired_scale;

/* --pop-negatives X: xd_cold_opts.pop_negatives of every variant (the default's) */
static float pop_negatives = -1.0f;

/*
 * --paired-negatives X: every variant is meta-trained a second time with
 * the share X of its query's item negatives drawn by popularity
 * (xd_cold_opts.pop_negatives), all else as the first, and run too, so the
 * negatives' effect per seed is measured on one MMT-Net; stderr prints
 * both picks (`paired` lines: "base" is the first, "alt" the second)
 */
static float paired_negatives = -1.0f;

/*
 * --rank-negatives K [--rank-popular]: every variant's query loss the
 * sampled softmax against K negatives (xd_cold_opts.rank_negatives), drawn
 * by popularity with the logQ correction with --rank-popular
 */
static int	rank_negatives = -1;
static bool rank_popular;

/*
 * --paired-rank K / --paired-rank-pop K: every variant is meta-trained a
 * second time with the ranking loss over K uniform (popularity-drawn)
 * negatives, all else as the first, and run too ("alt" in the `paired`
 * lines, with each run's meta-training seconds)
 */
static int	paired_rank = -1;
static bool paired_rank_popular;

/* --variants N: only the first N variants (1: FiLM, the database's module) */
static int	max_variants = N_VARIANTS;

/*
 * --cold-min N[,N...]: option cold_min's comparison (xd_cold_min_compare)
 * with the first variant's module (FiLM, the database's) at each bound,
 * on the warm users' validation rows, one stderr line per bound
 */
#define MAX_COLD_MIN 8
static int	cold_min_bounds[MAX_COLD_MIN];
static int	n_cold_min;

/*
 * --cold-min-test: each bound's comparison again with the test split in
 * the validation split's place (same model, module and bound: the users
 * with fewer distinct training items and a test row), so a choice made on
 * validation can be read on test ("test" lines beside "valid" ones)
 */
static bool cold_min_test;

/*
 * --valid-lambda: the support-first blend probe's lambda chosen on
 * validation (valid_lambda), its test HitRate@10 in the `gap` lines
 */
static bool with_valid_lambda;

/* --no-cooc: the kept variant without the co-occurrence prior train fits */
static bool without_cooc;

/* a second meta-training per variant ("alt") beside the first ("base") */
static bool
paired_alt(void)
{
	return paired_negatives >= 0.0f || paired_rank > 0;
}

/* one domain's rows in arrival order, raw */
typedef struct world
{
	const char *name;
	xd_schema	schema;
	int32_t		n_users;
	int32_t		n_items;
	int64_t		n_rows;
	int32_t    *users;
	int32_t    *items;
	float	   *num;
	int32_t    *codes;
} world;

static void
die(const char *what, xd_status st)
{
	fprintf(stderr, "report_cold: %s: %s\n", what, xd_status_message(st));
	exit(1);
}

/* ---------------------------------------------------------------- worlds */

/* domain k of a generated world, its rows copied */
static world
world_of(const xd_generated *g, int k, const char *name)
{
	const xd_dataset *ds = g->domains[k].ds;
	world		w;

	memset(&w, 0, sizeof(w));
	w.name = name;
	xd_schema_copy(&w.schema, &g->schema);
	w.n_users = ds->n_users;
	w.n_items = ds->n_items;
	w.n_rows = ds->n_rows;
	w.users = malloc(sizeof(int32_t) * w.n_rows);
	w.items = malloc(sizeof(int32_t) * w.n_rows);
	w.num = malloc(sizeof(float) * w.n_rows * (w.schema.n_num > 0 ? w.schema.n_num : 1));
	w.codes = malloc(sizeof(int32_t) * w.n_rows * (w.schema.n_codes > 0 ? w.schema.n_codes : 1));
	memcpy(w.users, ds->users, sizeof(int32_t) * w.n_rows);
	memcpy(w.items, ds->items, sizeof(int32_t) * w.n_rows);
	memcpy(w.num, ds->num, sizeof(float) * w.n_rows * w.schema.n_num);
	memcpy(w.codes, ds->codes, sizeof(int32_t) * w.n_rows * w.schema.n_codes);
	return w;
}

static world
synthetic_world(void)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_status	st;
	world		w;

	xd_gen_config_default(&gc);
	if ((st = xd_generate(&gc, &g)) != XD_OK)
		die("generate", st);
	w = world_of(g, 0, "synthetic (source domain)");
	xd_generated_free(g);
	return w;
}

/* a key's dense id in first-seen order */
static int32_t
key_id(char ***keys, int32_t *n, int32_t *cap, const char *k)
{
	for (int32_t i = *n - 1; i >= 0; i--)
		if (strcmp((*keys)[i], k) == 0)
			return i;
	if (*n == *cap)
	{
		*cap = *cap ? 2 * *cap : 256;
		*keys = realloc(*keys, sizeof(char *) * *cap);
	}
	(*keys)[*n] = strdup(k);
	return (*n)++;
}

/* the table of test/real/cold_prepare.py: categorical interaction features */
static bool
tsv_world(const char *path, world *w)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	xd_feature feats[16];
	int			nf = 0;
	char	  **ukeys = NULL,
			  **ikeys = NULL;
	int32_t		nu = 0,
				ni = 0,
				cu = 0,
				ci = 0;
	int64_t		cap = 0;

	if (!f)
		return false;
	memset(w, 0, sizeof(*w));
	/* "#xdrec-real name=NAME ...": the world's name */
	if (!fgets(line, sizeof(line), f))
		return false;
	{
		char	   *nm = strstr(line, "name=");

		w->name = strdup(nm ? strtok(nm + 5, " \t\n") : path);
	}
	if (!fgets(line, sizeof(line), f))
		return false;
	/* header: domain user item rating name:scope:kind:n_values ... */
	{
		char	   *tok = strtok(line, "\t\n");

		for (int col = 0; tok; col++, tok = strtok(NULL, "\t\n"))
			if (col >= 4 && nf < 16)
			{
				char	   *nv = strrchr(tok, ':');

				feats[nf++] = (xd_feature) XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL,
													  XD_SCOPE_INTERACTION, atoi(nv + 1));
			}
	}
	xd_schema_init(&w->schema, feats, nf);
	while (fgets(line, sizeof(line), f))
	{
		char	   *tok[4 + 16];
		int			nt = 0;

		for (char *t = strtok(line, "\t\n"); t && nt < 4 + nf; t = strtok(NULL, "\t\n"))
			tok[nt++] = t;
		if (nt < 4 + nf)
			continue;
		if (w->n_rows == cap)
		{
			cap = cap ? 2 * cap : 1024;
			w->users = realloc(w->users, sizeof(int32_t) * cap);
			w->items = realloc(w->items, sizeof(int32_t) * cap);
			w->codes = realloc(w->codes, sizeof(int32_t) * cap * nf);
		}
		w->users[w->n_rows] = key_id(&ukeys, &nu, &cu, tok[1]);
		w->items[w->n_rows] = key_id(&ikeys, &ni, &ci, tok[2]);
		for (int j = 0; j < nf; j++)
			w->codes[w->n_rows * nf + j] = atoi(tok[4 + j]);
		w->n_rows++;
	}
	fclose(f);
	w->n_users = nu;
	w->n_items = ni;
	w->num = malloc(sizeof(float));
	return w->n_rows > 0;
}

/* ---------------------------------------------------------------- one run */

typedef struct run_result
{
	/* the cold module's variants (variant_names), those run */
	int			n_variants;
	xd_coldeval_result res[N_VARIANTS];
	double		valid_loss[N_VARIANTS];
	double		valid_auc[N_VARIANTS];
	double		valid_hit10[N_VARIANTS];	/* full ranking (xd_cold_report) */
	int64_t		valid_ranked;	/* the positives it ranked (the same episodes
								 * for every variant) */
	bool		floor[N_VARIANTS];	/* own items first kept on validation */
	double		prior_scale[N_VARIANTS];	/* the prior's scale kept (--scale-prior) */
	double		meta_seconds[N_VARIANTS];
	int			kept;			/* xd_cold_pick's */
	/*
	 * the support-first blend's lambda chosen on validation (valid_lambda):
	 * an index of xd_cold_blend_lambdas, -1 when none ranked better than cmml
	 */
	int			sf_lambda;
	/* ... and the co-occurrence blend's per kind (xd_cold_cooc_lambdas), likewise */
	int			cooc_lambda[XD_COLD_N_COOC_KINDS];
	int			kept_by_loss;	/* the lowest validation loss */
	double		train_seconds;
	int			epochs;
	double		first_valid;
	/* the repeat term's training signal (docs/cold-start.md, The repeat term) */
	double		pos_hist;		/* share of training positives with g = 1 */
	double		ineg_hist;		/* ... of uniform item negatives */
	double		r_mean;			/* mean r(c) over the positives with g = 1 */
} run_result;

/* The sum over b's rows of their score with g = 1 less with g = 0: r(c). */
static double
repeat_sum(xd_model *model, xd_batch *b, float *s1, float *s0)
{
	double		sum = 0.0;

	for (int k = 0; k < b->n; k++)
		b->hist[k] = 1.0f;
	if (xd_model_score(model, b, s1) != XD_OK)
		die("score", XD_EINVAL);
	for (int k = 0; k < b->n; k++)
		b->hist[k] = 0.0f;
	if (xd_model_score(model, b, s0) != XD_OK)
		die("score", XD_EINVAL);
	for (int k = 0; k < b->n; k++)
		sum += s1[k] - s0[k];
	b->n = 0;
	return sum;
}

/*
 * What the repeat term trains on: the share of training positives whose item
 * the user has in another training row (g = 1), the share of item negatives
 * with g = 1 (sample.c draws them uniformly; a context negative always
 * shares its positive's g), and the learned r(c) on the positives with
 * g = 1 (their score with g = 1 less with g = 0).
 */
static void
repeat_signal(xd_model *model, const xd_dataset *ds, run_result *rr)
{
	int			cap = xd_model_max_rows(model);
	int			m = model->cfg.m;
	xd_batch	b;
	float	   *s1 = malloc(sizeof(float) * cap),
			   *s0 = malloc(sizeof(float) * cap);
	int64_t		n = ds->n_split[XD_SPLIT_TRAIN],
				n_h = 0,
				n_neg_h = 0;
	double		r_sum = 0.0;
	xd_rng		rng;

	xd_rng_seed(&rng, 7);
	if (xd_batch_init(&b, cap, m) != XD_OK || !s1 || !s0)
		die("batch", XD_ENOMEM);
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		row = ds->split_rows[XD_SPLIT_TRAIN][i];
		int32_t		v = ds->items[row],
					vn = (int32_t) xd_rng_below(&rng, (uint32_t) (ds->n_items - 1));

		n_neg_h += xd_dataset_hist(ds, row, vn >= v ? vn + 1 : vn) > 0.0f;
		if (xd_dataset_hist(ds, row, v) == 0.0f)
			continue;
		n_h++;
		if (!xd_model_has_repeat(model))
			continue;
		b.users[b.n] = ds->users[row];
		b.items[b.n] = v;
		xd_dataset_encode(ds, row, -1, b.c + (size_t) b.n * m);
		if (++b.n == cap)
			r_sum += repeat_sum(model, &b, s1, s0);
	}
	if (b.n > 0)
		r_sum += repeat_sum(model, &b, s1, s0);
	rr->pos_hist = n > 0 ? (double) n_h / n : 0.0;
	rr->ineg_hist = n > 0 ? (double) n_neg_h / n : 0.0;
	rr->r_mean = n_h > 0 ? r_sum / n_h : 0.0;
	xd_batch_free(&b);
	free(s1);
	free(s0);
}

/* K's cmml HitRate@10 of one variant's protocol run */
static double
hit10_at(const xd_coldeval_result *res, int K)
{
	for (int k = 0; k < res->n_ks; k++)
		if (res->ks[k] == K)
			return res->cell[k][XD_COLD_CMML].hit10;
	return NAN;
}

static double
hit10_at_5(const xd_coldeval_result *res)
{
	return hit10_at(res, 5);
}

/*
 * The kept variant's K = 5 and K = 20 against the heuristics, one `gap`
 * line each per seed (docs/cold-start.md, The K = 5 gap): HitRate@10 of
 * cmml, support_first, pop_domain, pop_context, the support-first blend
 * probe at each lambda, and the new-item queries by [cmml hit][support_first
 * hit] (00 01 10 11), so paired differences over seeds can be read
 */
static void
print_gap(const world *w, uint64_t seed, const xd_coldeval_result *r, int sf_lambda)
{
	for (int k = 0; k < r->n_ks; k++)
	{
		const int64_t (*nh)[2] = r->new_hits[k];

		if (r->ks[k] != 5 && r->ks[k] != KMAX)
			continue;
		fprintf(stderr, "gap %s seed %llu K %d: cmml %.4f support_first %.4f pop_domain %.4f "
				"pop_context %.4f n %lld; sf-blend", w->name, (unsigned long long) seed,
				r->ks[k], r->cell[k][XD_COLD_CMML].hit10, r->cell[k][XD_COLD_SUPPORT_FIRST].hit10,
				r->cell[k][XD_COLD_POP_DOMAIN].hit10, r->cell[k][XD_COLD_POP_CONTEXT].hit10,
				(long long) r->cell[k][XD_COLD_CMML].n);
		for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
			fprintf(stderr, " %.4f", r->blend[k][XD_COLD_PRIOR_SUPPORT_FIRST][l].hit10);
		fprintf(stderr, "; new 00 %lld 01 %lld 10 %lld 11 %lld; valid-chosen %.4f\n",
				(long long) nh[0][0], (long long) nh[0][1], (long long) nh[1][0],
				(long long) nh[1][1], sf_lambda < 0 ? r->cell[k][XD_COLD_CMML].hit10 :
				r->blend[k][XD_COLD_PRIOR_SUPPORT_FIRST][sf_lambda].hit10);
	}
}

/* a cell's HitRate@10, on the repeat queries and on the others, for a `cooc` line */
static void
print_cell3(const char *name, const xd_cold_cell *c)
{
	fprintf(stderr, " %s %.4f %.4f %.4f", name, c->hit10, c->hit10_rep, c->hit10_new);
}

static const char *const cooc_kind_names[XD_COLD_N_COOC_KINDS] = {"cosine", "conditional"};

/*
 * The co-occurrence probe (coldeval.h, xd_cold_cooc_lambdas), one `cooc`
 * line per seed, kind and K = 1, 5, 20 (docs/cold-start.md, An item
 * co-occurrence prior): the kept variant's cmml, the heuristics, cooc alone,
 * cmml + lambda cooc at the lambda chosen on validation at K = 5
 * (valid_lambda; cmml when none, or without --valid-lambda), each as
 * HitRate@10 over all, repeat and new-item queries, then the blend at every
 * lambda
 */
static void
print_cooc(const world *w, uint64_t seed, const xd_coldeval_result *r, const int *cooc_lambda)
{
	for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
		for (int k = 0; k < r->n_ks; k++)
		{
			const xd_cold_cell *cells = r->cooc[k][kind];
			int			l = cooc_lambda[kind];

			if (r->ks[k] != 1 && r->ks[k] != 5 && r->ks[k] != KMAX)
				continue;
			fprintf(stderr, "cooc %s %s seed %llu K %d: n %lld rep %lld lambda %g;",
					cooc_kind_names[kind], w->name, (unsigned long long) seed, r->ks[k],
					(long long) r->cell[k][XD_COLD_CMML].n, (long long) r->cell[k][XD_COLD_CMML].n_rep,
					l < 0 ? 0.0 : xd_cold_cooc_lambdas[l]);
			print_cell3("cmml", &r->cell[k][XD_COLD_CMML]);
			print_cell3("support_first", &r->cell[k][XD_COLD_SUPPORT_FIRST]);
			print_cell3("pop_domain", &r->cell[k][XD_COLD_POP_DOMAIN]);
			print_cell3("pop_context", &r->cell[k][XD_COLD_POP_CONTEXT]);
			print_cell3("cooc", &cells[XD_COLD_COOC_ALONE]);
			print_cell3("valid", l < 0 ? &r->cell[k][XD_COLD_CMML] : &cells[l]);
			fprintf(stderr, "; blend");
			for (int b = 0; b < XD_COLD_N_COOC_LAMBDAS; b++)
				fprintf(stderr, " %.4f", cells[b].hit10);
			fprintf(stderr, "\n");
		}
}

/*
 * --paired-scale: the kept variant's K = 5 without and with the prior's
 * scale, one line per seed to compare over seeds (`paired` lines)
 */
static void
print_paired(const world *w, uint64_t seed, const run_result *rr,
			 const xd_cold_report *crep_unscaled, const xd_coldeval_result *res_unscaled)
{
	int			kept_unscaled = xd_cold_pick(crep_unscaled, rr->n_variants);
	const char *other = paired_alt() ? "alt" : "unscaled";
	const char *base = paired_alt() ? "base" : "scaled";

	fprintf(stderr, "paired %s seed %llu: %s kept %s K = 5 %.4f; %s kept %s "
			"(scale %g) K = 5 %.4f\n", w->name, (unsigned long long) seed, other,
			variant_names[kept_unscaled], hit10_at_5(&res_unscaled[kept_unscaled]), base,
			variant_names[rr->kept], rr->prior_scale[rr->kept], hit10_at_5(&rr->res[rr->kept]));
	for (int v = 0; v < rr->n_variants; v++)
		fprintf(stderr, "  %s: %s valid %.4f scale %g floor %d K = 5 %.4f K = 20 %.4f "
				"meta %.1fs; %s K = 20 %.4f meta %.1fs\n",
				variant_names[v], other, crep_unscaled[v].valid_hit10,
				crep_unscaled[v].prior_scale, crep_unscaled[v].floor,
				hit10_at(&res_unscaled[v], 5), hit10_at(&res_unscaled[v], 20),
				crep_unscaled[v].seconds, base, hit10_at(&rr->res[v], 20),
				rr->meta_seconds[v]);
}

/*
 * The held-out split of world w for a seed: users with more than KMAX rows
 * are eligible; a seeded 1/div of them (at most 200) are held out entirely
 * (cold), and with warm another as many are trained on their first rows
 * until KMAX of those fall in the training split (warm comparison users);
 * everyone else trains as usual. *ds_out: the training data, finalized;
 * *h: the held-out users' rows, cold ones first (the caller frees both).
 */
static void
hold_out(const world *w, uint64_t seed, int div, bool warm, xd_dataset **ds_out, xd_holdout *h)
{
	const uint64_t split_seed = 42 + seed;
	int64_t    *off = calloc(w->n_users + 1, sizeof(int64_t));
	int64_t    *byuser = malloc(sizeof(int64_t) * w->n_rows);
	int64_t    *fill = malloc(sizeof(int64_t) * (w->n_users + 1));
	int32_t    *elig = malloc(sizeof(int32_t) * w->n_users);
	int8_t	   *role = calloc(w->n_users, 1);	/* 0 train, 1 cold, 2 warm */
	int64_t    *prefix = calloc(w->n_users, sizeof(int64_t));
	int32_t		n_elig = 0;
	xd_rng		rng;
	xd_dataset *ds;
	xd_status	st;
	int			nn = w->schema.n_num,
				nc = w->schema.n_codes;
	int32_t		n_hold;

	for (int64_t r = 0; r < w->n_rows; r++)
		off[w->users[r] + 1]++;
	for (int32_t u = 0; u < w->n_users; u++)
		off[u + 1] += off[u];
	memcpy(fill, off, sizeof(int64_t) * (w->n_users + 1));
	for (int64_t r = 0; r < w->n_rows; r++)
		byuser[fill[w->users[r]]++] = r;
	for (int32_t u = 0; u < w->n_users; u++)
		if (off[u + 1] - off[u] > KMAX)
			elig[n_elig++] = u;
	xd_rng_seed(&rng, 1000 + seed);
	for (int32_t i = n_elig - 1; i > 0; i--)
	{
		int32_t		j = (int32_t) xd_rng_below(&rng, i + 1),
					t = elig[i];

		elig[i] = elig[j];
		elig[j] = t;
	}
	n_hold = n_elig / div < 200 ? n_elig / div : 200;
	if (n_hold < 5)
		n_hold = n_elig / 3;
	for (int32_t i = 0; i < n_hold; i++)
		role[elig[i]] = 1;
	for (int32_t i = n_hold; warm && i < 2 * n_hold && i < n_elig; i++)
	{
		int32_t		u = elig[i];
		int			k = 0;

		/* the first rows until KMAX of them fall in the training split */
		for (int64_t j = off[u]; j < off[u + 1] - 1 && k < KMAX; j++)
		{
			int64_t		r = byuser[j];

			if (xd_split_of(u, w->items[r], w->num + r * nn, nn, w->codes + r * nc, nc,
							split_seed) == XD_SPLIT_TRAIN)
				k++;
			prefix[u] = j - off[u] + 1;
		}
		if (k == KMAX)
			role[u] = 2;
	}

	/* the training data: everyone's rows but the held-out ones */
	if ((st = xd_dataset_create(&w->schema, w->n_users, w->n_items, 0, 0, &ds)) != XD_OK)
		die("dataset", st);
	for (int64_t r = 0; r < w->n_rows; r++)
	{
		int32_t		u = w->users[r];

		if (role[u] == 1)
			continue;
		if (role[u] == 2)
		{
			int64_t		pos = 0;

			while (byuser[off[u] + pos] != r)
				pos++;
			if (pos >= prefix[u])
				continue;
		}
		if ((st = xd_dataset_append(ds, u, w->items[r], 0.0f, w->num + r * nn,
									w->codes + r * nc)) != XD_OK)
			die("append", st);
	}
	if ((st = xd_dataset_finalize(ds, split_seed)) != XD_OK)
		die("finalize", st);

	/* the held-out users' rows, cold ones first */
	memset(h, 0, sizeof(*h));
	h->off = calloc(2 * n_hold + 1, sizeof(int64_t));
	h->warm = malloc(sizeof(int32_t) * 2 * n_hold);
	h->warm_rows = malloc(sizeof(int32_t) * 2 * n_hold);
	h->items = malloc(sizeof(int32_t) * w->n_rows);
	h->num = malloc(sizeof(float) * w->n_rows * (nn > 0 ? nn : 1));
	h->codes = malloc(sizeof(int32_t) * w->n_rows * (nc > 0 ? nc : 1));
	for (int32_t i = 0; i < 2 * n_hold && i < n_elig; i++)
	{
		int32_t		u = elig[i];
		int64_t		at = h->off[h->n_users];

		if (role[u] == 0)
			continue;
		for (int64_t j = off[u]; j < off[u + 1]; j++, at++)
		{
			int64_t		r = byuser[j];

			h->items[at] = w->items[r];
			memcpy(h->num + at * nn, w->num + r * nn, sizeof(float) * nn);
			memcpy(h->codes + at * nc, w->codes + r * nc, sizeof(int32_t) * nc);
		}
		h->warm[h->n_users] = role[u] == 2 ? u : -1;
		h->warm_rows[h->n_users] = (int32_t) prefix[u];
		h->off[++h->n_users] = at;
	}

	*ds_out = ds;
	free(off);
	free(byuser);
	free(fill);
	free(elig);
	free(role);
	free(prefix);
}

static void
holdout_free(xd_holdout *h)
{
	free(h->off);
	free(h->warm);
	free(h->warm_rows);
	free(h->items);
	free(h->num);
	free(h->codes);
}

/*
 * The support-first blend probe's lambda (coldeval.h,
 * XD_COLD_PRIOR_SUPPORT_FIRST) chosen on validation, not on the test: the
 * cold protocol run on trained users (at most 1,000, in id order) with at
 * least K = 5 training rows and a validation row, each ranked from its
 * first 5 training rows (support) on up to 5 of its validation rows
 * (queries); the lambda whose blend ranks them best (HitRate@10, above
 * cmml's own; ties to the smaller), else -1. As the module's prior scale
 * is chosen, on rows the model trained on, not on held-out users.
 */
static int
valid_lambda(xd_model *model, xd_cold *cold, const xd_dataset *ds, uint64_t seed,
			 int cooc_lambda[XD_COLD_N_COOC_KINDS])
{
	const int	K = 5,
				Q = 5,
				max_users = 1000;
	int			n_num = ds->enc.schema.n_num,
				n_codes = ds->enc.schema.n_codes;
	int64_t    *nt = calloc((size_t) ds->n_users, sizeof(int64_t)),
			   *nv = calloc((size_t) ds->n_users, sizeof(int64_t)),
				at = 0;
	xd_holdout	h = {0};
	xd_coldeval_opts eo;
	static xd_coldeval_result res;	/* large */
	xd_status	st;
	int			best = -1;
	double		best_hit;
	int32_t    *self;			/* each user's training id: its rows leave the cooc counts */

	for (int64_t r = 0; r < ds->n_rows; r++)
	{
		nt[ds->users[r]] += ds->split[r] == XD_SPLIT_TRAIN;
		nv[ds->users[r]] += ds->split[r] == XD_SPLIT_VALID;
	}
	h.off = malloc(sizeof(int64_t) * (max_users + 1));
	h.warm = malloc(sizeof(int32_t) * max_users);
	h.warm_rows = calloc(max_users, sizeof(int32_t));
	h.items = malloc(sizeof(int32_t) * max_users * (K + Q));
	h.num = malloc(sizeof(float) * max_users * (K + Q) * (n_num > 0 ? n_num : 1));
	h.codes = malloc(sizeof(int32_t) * max_users * (K + Q) * (n_codes > 0 ? n_codes : 1));
	self = malloc(sizeof(int32_t) * max_users);
	h.off[0] = 0;
	for (int32_t u = 0; u < ds->n_users && h.n_users < max_users; u++)
	{
		int			took[2] = {0, 0};

		if (nt[u] < K || nv[u] < 1)
			continue;
		/* the support (training rows) first, then the queries; rows in arrival order */
		for (int pass = 0; pass < 2; pass++)
			for (int64_t r = 0; r < ds->n_rows; r++)
			{
				if (ds->users[r] != u ||
					ds->split[r] != (pass == 0 ? XD_SPLIT_TRAIN : XD_SPLIT_VALID) ||
					took[pass] == (pass == 0 ? K : Q))
					continue;
				took[pass]++;
				h.items[at] = ds->items[r];
				memcpy(h.num + at * n_num, ds->num + r * n_num, sizeof(float) * n_num);
				memcpy(h.codes + at * n_codes, ds->codes + r * n_codes, sizeof(int32_t) * n_codes);
				at++;
			}
		h.warm[h.n_users] = -1;
		self[h.n_users] = u;
		h.off[++h.n_users] = at;
	}
	xd_coldeval_opts_default(&eo);
	eo.seed = seed;
	eo.n_ks = 1;
	eo.ks[0] = K;
	eo.max_query = Q;
	eo.probe_priors = true;
	eo.cooc_self = self;
	if ((st = xd_coldeval_run(model, cold, ds, &h, &eo, &res)) != XD_OK)
		die("valid lambda", st);
	best_hit = res.cell[0][XD_COLD_CMML].hit10;
	for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
		if (res.blend[0][XD_COLD_PRIOR_SUPPORT_FIRST][l].hit10 > best_hit)
		{
			best_hit = res.blend[0][XD_COLD_PRIOR_SUPPORT_FIRST][l].hit10;
			best = l;
		}
	fprintf(stderr, "  valid lambda: %d users, %lld queries; cmml %.4f, sf-blend", h.n_users,
			(long long) res.cell[0][XD_COLD_CMML].n, res.cell[0][XD_COLD_CMML].hit10);
	for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
		fprintf(stderr, " %.4f", res.blend[0][XD_COLD_PRIOR_SUPPORT_FIRST][l].hit10);
	fprintf(stderr, "; kept %s\n", best < 0 ? "cmml" : "a blend");
	/* the co-occurrence blend's likewise, per kind (its rows leave each user's own out) */
	for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
	{
		const xd_cold_cell *cells = res.cooc[0][kind];

		cooc_lambda[kind] = -1;
		best_hit = res.cell[0][XD_COLD_CMML].hit10;
		for (int l = 0; l < XD_COLD_N_COOC_LAMBDAS; l++)
			if (cells[l].hit10 > best_hit)
			{
				best_hit = cells[l].hit10;
				cooc_lambda[kind] = l;
			}
		fprintf(stderr, "  valid cooc %s: cmml %.4f, cooc-blend", cooc_kind_names[kind],
				res.cell[0][XD_COLD_CMML].hit10);
		for (int l = 0; l < XD_COLD_N_COOC_LAMBDAS; l++)
			fprintf(stderr, " %.4f", cells[l].hit10);
		fprintf(stderr, ", cooc alone %.4f; kept lambda %g\n", cells[XD_COLD_COOC_ALONE].hit10,
				cooc_lambda[kind] < 0 ? 0.0 : xd_cold_cooc_lambdas[cooc_lambda[kind]]);
	}
	free(self);
	free(nt);
	free(nv);
	holdout_free(&h);
	return best;
}

/* the validation and test splits trade places (split labels, counts, rows) */
static void
swap_valid_test(xd_dataset *ds)
{
	int64_t		n = ds->n_split[XD_SPLIT_VALID],
			   *rows = ds->split_rows[XD_SPLIT_VALID];

	for (int64_t r = 0; r < ds->n_rows; r++)
		if (ds->split[r] == XD_SPLIT_VALID || ds->split[r] == XD_SPLIT_TEST)
			ds->split[r] = ds->split[r] == XD_SPLIT_VALID ? XD_SPLIT_TEST : XD_SPLIT_VALID;
	ds->n_split[XD_SPLIT_VALID] = ds->n_split[XD_SPLIT_TEST];
	ds->split_rows[XD_SPLIT_VALID] = ds->split_rows[XD_SPLIT_TEST];
	ds->n_split[XD_SPLIT_TEST] = n;
	ds->split_rows[XD_SPLIT_TEST] = rows;
}

/*
 * --cold-min: option cold_min's comparison (xd_cold_min_compare) of the
 * module cold at each bound, one stderr line per bound ("valid"), and with
 * --cold-min-test the same on the test split ("test"); seen items kept as
 * rank's default keeps them, where a quarter of the training rows repeat
 */
static void
cold_min_lines(xd_model *model, xd_dataset *ds, xd_cold *cold, int max_support, uint64_t seed,
			   const char *label)
{
	bool		keep_seen = ds->n_split[XD_SPLIT_TRAIN] > 0 &&
		1.0 - (double) ds->user_train_off[ds->n_users] / ds->n_split[XD_SPLIT_TRAIN] >= 0.25;

	for (int b = 0; b < n_cold_min && !ds->has_ratings; b++)
		for (int on_test = 0; on_test <= (int) cold_min_test; on_test++)
		{
			xd_cold_min_report mr;
			xd_hooks	none = {0};
			xd_status	st;

			if (on_test)
				swap_valid_test(ds);
			st = xd_cold_min_compare(model, ds, cold, cold_min_bounds[b], max_support,
									 XD_COLD_NEGATIVES, keep_seen, seed, &none, &mr);
			if (on_test)
				swap_valid_test(ds);
			if (st != XD_OK)
				die("cold_min", st);
			fprintf(stderr, "  cold_min %d %s (%s, seen %s): %lld users, %lld positives; warm HitRate@10 %.4f MRR %.4f, "
					"cold HitRate@10 %.4f MRR %.4f; diff s.e. %.4f; path %s (%.1fs)\n", cold_min_bounds[b],
					on_test ? "test" : "valid", label, keep_seen ? "kept" : "left out",
					(long long) mr.n_users, (long long) mr.n_ranked, mr.warm_hit10, mr.warm_mrr,
					mr.cold_hit10, mr.cold_mrr, mr.hit10_se, mr.use_cold ? "cold" : "warm", mr.seconds);
		}
}

/*
 * MMT-Net as trained against popularity on the trained users' test rows, by
 * full ranking (xd_eval_full, the user's training items left out): the
 * warm model's own reading with thousands of positives, where the warm
 * comparison users give about 200 queries (`full` lines, paired)
 */
static void
full_line(xd_model *model, const xd_dataset *ds, const world *w, uint64_t seed)
{
	xd_eval_opts eo;
	xd_full_metrics f_mmt,
				f_pop;
	xd_popularity *pop;
	double	   *each_m = NULL,
			   *each_p = NULL,
				sd = 0.0,
				sdd = 0.0;
	xd_status	st;

	if (ds->has_ratings)
		return;
	xd_eval_opts_default(&eo);
	eo.seed = seed;
	eo.max_positives = 4000;
	eo.each = &each_m;
	if ((st = xd_eval_full(ds, XD_SPLIT_TEST, 10, &eo, xd_model_score, model, &f_mmt)) != XD_OK)
		die("full ranking", st);
	if ((st = xd_popularity_fit(ds, &pop)) != XD_OK)
		die("popularity", st);
	eo.each = &each_p;
	if ((st = xd_eval_full(ds, XD_SPLIT_TEST, 10, &eo, xd_popularity_score, pop, &f_pop)) != XD_OK)
		die("full ranking", st);
	xd_popularity_free(pop);
	/* paired on HitRate@10: 1/rank > 1/10.5 is rank <= 10 (ties count half) */
	for (int64_t i = 0; i < f_mmt.n; i++)
	{
		double		d = (double) (each_m[i] >= 1.0 / 10.5) - (double) (each_p[i] >= 1.0 / 10.5);

		sd += d;
		sdd += d * d;
	}
	if (f_mmt.n > 1)
	{
		sd /= (double) f_mmt.n;
		sdd = sqrt((sdd / (double) f_mmt.n - sd * sd) / (double) (f_mmt.n - 1));
	}
	fprintf(stderr, "full %s seed %llu: %lld test positives, MMT-Net HitRate@10 %.4f MRR %.4f, "
			"popularity %.4f %.4f; diff %+.4f +- %.4f\n", w->name, (unsigned long long) seed,
			(long long) f_mmt.n, f_mmt.hit, f_mmt.mrr, f_pop.hit, f_pop.mrr, sd, sdd);
	free(each_m);
	free(each_p);
}

static void
run_world(const world *w, uint64_t seed, run_result *rr)
{
	xd_rng		rng;
	xd_dataset *ds;
	xd_holdout	h;
	xd_config	cfg;
	xd_model   *model;
	xd_train_opts to;
	xd_train_result tr;
	xd_cold_opts co;
	xd_cold_report crep[N_VARIANTS],
				crep_unscaled[N_VARIANTS];	/* --paired-scale */
	xd_cold    *cold[N_VARIANTS],
			   *unscaled[N_VARIANTS];
	static xd_coldeval_result res_unscaled[N_VARIANTS];	/* large */
	xd_coldeval_opts eo;
	xd_status	st;
	double		t0;

	hold_out(w, seed, 10, true, &ds, &h);

	/* MMT-Net, DESIGN.md section 3 defaults */
	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &w->schema);
	cfg.seed = seed;
	cfg.repeat = with_repeat;
	if (mmt_lr > 0.0f)
		cfg.lr = mmt_lr;
	if (mmt_dim > 0)
		cfg.d = mmt_dim;
	cfg.item_bias = mmt_item_bias;
	xd_rng_seed(&rng, seed);
	if ((st = xd_model_create(&cfg, w->n_users, w->n_items, 0.0f, &rng, &model)) != XD_OK)
		die("model", st);
	xd_train_opts_default(&to, &cfg);
	to.seed = seed;
	if (mmt_max_epochs > 0)
		to.max_epochs = mmt_max_epochs;
	if (mmt_patience > 0)
		to.patience = mmt_patience;
	to.item_neg_weight = mmt_neg_weight;
	t0 = xd_clock_seconds();
	if (mmt_lr_search > 0)
	{
		xd_lr_search search;

		if ((st = xd_train_search(model, ds, &to, mmt_lr_search, &tr, &search)) != XD_OK)
			die("train", st);
		fprintf(stderr, "%s seed %llu: lr search kept %g of", w->name, (unsigned long long) seed,
				search.lr[search.chosen]);
		for (int i = 0; i < search.n; i++)
			fprintf(stderr, " %g (%d epochs, valid %.4f)", search.lr[i], search.epochs[i],
					search.metric[i]);
		fprintf(stderr, "\n");
	}
	else if ((st = xd_train(model, ds, &to, &tr)) != XD_OK)
		die("train", st);
	rr->train_seconds = xd_clock_seconds() - t0;
	rr->epochs = tr.epochs;
	repeat_signal(model, ds, rr);
	full_line(model, ds, w, seed);

	/* the cold module's variants: with and without FiLM, rho, the prior */
	rr->n_variants = xd_model_has_repeat(model) ? (with_joint ? 5 : 4) : 2;
	if (rr->n_variants > max_variants)
		rr->n_variants = max_variants;
	rr->kept_by_loss = 0;
	for (int v = 0; v < rr->n_variants; v++)
	{
		xd_cold_opts_default(&co);
		co.seed = seed;
		co.film = v != 1;
		co.rho = v != 2;
		co.prior = v != 3;
		co.joint = v == 4;
		co.scale_prior = (co.scale_prior && !without_scale_prior) || with_scale_prior ||
			with_paired_scale;
		if (pop_negatives >= 0.0f)
			co.pop_negatives = pop_negatives;
		if (rank_negatives >= 0)
		{
			co.rank_negatives = rank_negatives;
			co.rank_popular = rank_popular;
		}
		if ((st = xd_cold_train(model, ds, NULL, &co, &cold[v], &crep[v])) != XD_OK)
			die("cold train", st);
		unscaled[v] = NULL;
		crep_unscaled[v] = crep[v];
		if (paired_negatives >= 0.0f)
			co.pop_negatives = paired_negatives;
		else if (paired_rank > 0)
		{
			co.rank_negatives = paired_rank;
			co.rank_popular = paired_rank_popular;
		}
		else
			co.scale_prior = false;
		if (((with_paired_scale && co.prior) || paired_alt()) &&
			(st = xd_cold_train(model, ds, NULL, &co, &unscaled[v], &crep_unscaled[v])) != XD_OK)
			die("cold train", st);
		rr->valid_loss[v] = crep[v].best_valid_loss;
		rr->valid_auc[v] = crep[v].valid_auc;
		rr->valid_hit10[v] = crep[v].valid_hit10;
		rr->valid_ranked = crep[v].n_valid_ranked;
		rr->floor[v] = crep[v].floor;
		rr->prior_scale[v] = crep[v].prior_scale;
		rr->meta_seconds[v] = crep[v].seconds;
		rr->first_valid = crep[v].first_valid_loss;
		if (rr->valid_loss[v] < rr->valid_loss[rr->kept_by_loss])
			rr->kept_by_loss = v;
	}
	rr->kept = xd_cold_pick(crep, rr->n_variants);
	cold_min_lines(model, ds, cold[0], co.max_support, seed, variant_names[0]);

	xd_coldeval_opts_default(&eo);
	eo.seed = seed;
	eo.max_query = 5;
	eo.probe_priors = true;
	rr->sf_lambda = -1;
	for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
		rr->cooc_lambda[kind] = -1;
	for (int v = 0; v < rr->n_variants; v++)
	{
		/* the served path: the kept module with its co-occurrence prior, as train fits it */
		if (v == rr->kept && !without_cooc)
		{
			xd_cold_cooc_report cr;

			if ((st = xd_cold_cooc_fit(cold[v], model, ds, XD_COLD_NEGATIVES, seed, NULL,
									   &cr)) != XD_OK)
				die("cooc fit", st);
			fprintf(stderr, "cooc served %s seed %llu: lambda %g, neighbours %d, %lld queries, valid",
					w->name, (unsigned long long) seed, cr.lambda, cr.width,
					(long long) cr.n_queries);
			for (int l = 0; l < XD_COLD_COOC_N_GRID; l++)
				fprintf(stderr, " %.4f", cr.valid_hit10[l]);
			fprintf(stderr, ", %.2fs\n", cr.seconds);
		}
		if ((st = xd_coldeval_run(model, cold[v], ds, &h, &eo, &rr->res[v])) != XD_OK)
			die("cold protocol", st);
		if (v == rr->kept && with_valid_lambda)
			rr->sf_lambda = valid_lambda(model, cold[v], ds, seed, rr->cooc_lambda);
		xd_cold_free(cold[v]);
		res_unscaled[v] = rr->res[v];
		if (unscaled[v] &&
			(st = xd_coldeval_run(model, unscaled[v], ds, &h, &eo, &res_unscaled[v])) != XD_OK)
			die("cold protocol", st);
		xd_cold_free(unscaled[v]);
	}
	if (with_paired_scale || paired_alt())
		print_paired(w, seed, rr, crep_unscaled, res_unscaled);
	fprintf(stderr, "%s seed %llu: %d epochs %.0fs (item negatives weigh %g), kept %s, %lld cold %lld warm users\n",
			w->name, (unsigned long long) seed, tr.epochs, rr->train_seconds, tr.item_neg_weight,
			variant_names[rr->kept], (long long) rr->res[0].n_cold_users,
			(long long) rr->res[0].n_warm_users);
	/* each variant: validation HitRate@10, the prior's scale, K = 5 on the test */
	for (int v = 0; v < rr->n_variants; v++)
		fprintf(stderr, "  %s: valid %.4f scale %g, K = 5 %.4f\n", variant_names[v],
				rr->valid_hit10[v], rr->prior_scale[v], hit10_at_5(&rr->res[v]));
	print_gap(w, seed, &rr->res[rr->kept], rr->sf_lambda);
	print_cooc(w, seed, &rr->res[rr->kept], rr->cooc_lambda);

	xd_model_free(model);
	xd_dataset_free(ds);
	holdout_free(&h);
}

/* ---------------------------------------------------------------- the report */

/*
 * The fourth baseline beside the three heuristics: item-kNN, the
 * conditional share users(v, s) / users(s) summed over the support's
 * positives s, pop_context under its ties (coldeval.h, the co-occurrence
 * probe's `cooc alone`; docs/cold-start.md, An item co-occurrence prior).
 * Empty (n = 0) beyond XD_COLD_COOC_MAX_ITEMS items.
 */
static const xd_cold_cell *
knn_cell(const xd_coldeval_result *r, int k)
{
	return &r->cooc[k][XD_COLD_COOC_CONDITIONAL][XD_COLD_COOC_ALONE];
}

#define N_BASELINES 4
static const char *const baseline_names[N_BASELINES] = {
	"pop_domain", "pop_context", "support_first", "item_knn"
};

/* a seed's HitRate@10 of baseline b at K index k */
static double
baseline_hit(const xd_coldeval_result *r, int b, int k)
{
	static const xd_cold_method heuristic[N_BASELINES - 1] = {
		XD_COLD_POP_DOMAIN, XD_COLD_POP_CONTEXT, XD_COLD_SUPPORT_FIRST
	};

	return b < N_BASELINES - 1 ? r->cell[k][heuristic[b]].hit10 : knn_cell(r, k)->hit10;
}

typedef struct summary
{
	double		hit[XD_COLD_MAX_KS][XD_COLD_N_METHODS];	/* mean over seeds */
	double		hit_sd[XD_COLD_MAX_KS][XD_COLD_N_METHODS];	/* sd over seeds */
	double		ndcg[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	double		mrr[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	double		ms_per_user[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	double		variant_hit[XD_COLD_MAX_KS][N_VARIANTS];
	double		rep_share[XD_COLD_MAX_KS];	/* queries repeating a support item */
	double		rep_share_warm; /* ... a warm user's training item */
	double		hit_rep[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	double		hit_new[XD_COLD_MAX_KS][XD_COLD_N_METHODS];
	double		rho[XD_COLD_MAX_KS];
	/*
	 * pooled over seeds (a seed may have no query of a kind): queries and
	 * hits per kind, [0] repeats, [1] new items, [2 + b] new items of
	 * popularity band b
	 */
	double		kind_n[XD_COLD_MAX_KS][2 + XD_COLD_POP_BANDS];
	/* ... and of cmml blended with a prior (coldeval.h), the kept variant's */
	double		blend_hit[XD_COLD_MAX_KS][XD_COLD_N_PRIORS][XD_COLD_N_LAMBDAS][2 + XD_COLD_POP_BANDS];
	double		kind_hit[XD_COLD_MAX_KS][XD_COLD_N_METHODS][2 + XD_COLD_POP_BANDS];
	/*
	 * ... and of the co-occurrence probe: each lambda, cooc alone, then the
	 * lambda chosen on validation (cmml where none was)
	 */
	double		cooc_hit[XD_COLD_MAX_KS][XD_COLD_N_COOC_KINDS][XD_COLD_N_COOC_LAMBDAS + 2]
	[2 + XD_COLD_POP_BANDS];
	double		pos_hist;
	double		ineg_hist;
	double		r_mean;
	int64_t		n_queries[XD_COLD_MAX_KS];
	int64_t		n_cold;
	int64_t		n_warm;
	int			n_variants;
	/* item-kNN (knn_cell): means over seeds, HitRate@10's sd over seeds */
	double		knn_hit[XD_COLD_MAX_KS];
	double		knn_hit_sd[XD_COLD_MAX_KS];
	double		knn_ndcg[XD_COLD_MAX_KS];
	double		knn_mrr[XD_COLD_MAX_KS];
} summary;

static void
summarise(run_result *rr, int n, summary *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++)
	{
		xd_coldeval_result *r = &rr[i].res[rr[i].kept];

		s->n_variants = rr[i].n_variants;
		s->pos_hist += rr[i].pos_hist / n;
		s->ineg_hist += rr[i].ineg_hist / n;
		s->r_mean += rr[i].r_mean / n;
		s->n_cold += r->n_cold_users;
		s->n_warm += r->n_warm_users;
		for (int k = 0; k < r->n_ks; k++)
		{
			s->n_queries[k] += r->cell[k][XD_COLD_CMML].n;
			for (int v = 0; v < rr[i].n_variants; v++)
				s->variant_hit[k][v] += rr[i].res[v].cell[k][XD_COLD_CMML].hit10 / n;
			s->rho[k] += r->cell[k][XD_COLD_CMML].rho / n;
			if (r->cell[k][XD_COLD_CMML].n > 0)
				s->rep_share[k] += (double) r->cell[k][XD_COLD_CMML].n_rep /
					r->cell[k][XD_COLD_CMML].n / n;
			for (int p = 0; p < XD_COLD_N_PRIORS; p++)
				for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
				{
					const xd_cold_cell *c = &r->blend[k][p][l];

					s->blend_hit[k][p][l][0] += c->hit10_rep * c->n_rep;
					s->blend_hit[k][p][l][1] += c->hit10_new * (c->n - c->n_rep);
					for (int b = 0; b < XD_COLD_POP_BANDS; b++)
						s->blend_hit[k][p][l][2 + b] += c->hit10_band[b] * c->n_band[b];
				}
			for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
				for (int l = 0; l < XD_COLD_N_COOC_LAMBDAS + 2; l++)
				{
					int			vl = rr[i].cooc_lambda[kind];
					const xd_cold_cell *c = l <= XD_COLD_COOC_ALONE ? &r->cooc[k][kind][l] :
						vl < 0 ? &r->cell[k][XD_COLD_CMML] : &r->cooc[k][kind][vl];
					double	   *ch = s->cooc_hit[k][kind][l];

					ch[0] += c->hit10_rep * c->n_rep;
					ch[1] += c->hit10_new * (c->n - c->n_rep);
					for (int b = 0; b < XD_COLD_POP_BANDS; b++)
						ch[2 + b] += c->hit10_band[b] * c->n_band[b];
				}
			s->knn_hit[k] += knn_cell(r, k)->hit10 / n;
			s->knn_ndcg[k] += knn_cell(r, k)->ndcg10 / n;
			s->knn_mrr[k] += knn_cell(r, k)->mrr / n;
			s->kind_n[k][0] += r->cell[k][XD_COLD_CMML].n_rep;
			s->kind_n[k][1] += r->cell[k][XD_COLD_CMML].n - r->cell[k][XD_COLD_CMML].n_rep;
			for (int b = 0; b < XD_COLD_POP_BANDS; b++)
				s->kind_n[k][2 + b] += r->cell[k][XD_COLD_CMML].n_band[b];
			if (r->cell[k][XD_COLD_WARM].n > 0)
				s->rep_share_warm += (double) r->cell[k][XD_COLD_WARM].n_rep /
					r->cell[k][XD_COLD_WARM].n / n;
			for (int m = 0; m < XD_COLD_N_METHODS; m++)
			{
				const xd_cold_cell *c = &r->cell[k][m];

				s->hit[k][m] += c->hit10 / n;
				s->hit_rep[k][m] += c->hit10_rep / n;
				s->hit_new[k][m] += c->hit10_new / n;
				s->kind_hit[k][m][0] += c->hit10_rep * c->n_rep;
				s->kind_hit[k][m][1] += c->hit10_new * (c->n - c->n_rep);
				for (int b = 0; b < XD_COLD_POP_BANDS; b++)
					s->kind_hit[k][m][2 + b] += c->hit10_band[b] * c->n_band[b];
				s->ndcg[k][m] += c->ndcg10 / n;
				s->mrr[k][m] += c->mrr / n;
				if (r->n_cold_users > 0)
					s->ms_per_user[k][m] += 1000.0 * c->seconds / r->n_cold_users / n;
			}
		}
	}
	for (int i = 0; i < n; i++)
	{
		xd_coldeval_result *r = &rr[i].res[rr[i].kept];

		for (int k = 0; k < r->n_ks; k++)
		{
			double		dk = knn_cell(r, k)->hit10 - s->knn_hit[k];

			for (int m = 0; m < XD_COLD_N_METHODS; m++)
			{
				double		dv = r->cell[k][m].hit10 - s->hit[k][m];

				s->hit_sd[k][m] += dv * dv / (n > 1 ? n - 1 : 1);
			}
			s->knn_hit_sd[k] += dk * dk / (n > 1 ? n - 1 : 1);
		}
	}
	for (int k = 0; k < XD_COLD_MAX_KS; k++)
	{
		for (int m = 0; m < XD_COLD_N_METHODS; m++)
			s->hit_sd[k][m] = sqrt(s->hit_sd[k][m]);
		s->knn_hit_sd[k] = sqrt(s->knn_hit_sd[k]);
	}
}

/*
 * The served path (cmml: the kept module with its co-occurrence prior)
 * against each baseline at every K: HitRate@10 ratio of the means, and the
 * paired difference over seeds (the same users and queries) with its s.e.;
 * then against the best of the three heuristics and the best of all
 * four (best by mean HitRate@10 at that K).
 */
static void
report_against(FILE *md, run_result *rr, int n, const summary *s)
{
	const xd_coldeval_result *r0 = &rr[0].res[rr[0].kept];

	fprintf(md, "The served path (`cmml`) against each baseline, HitRate@10: the ratio of "
			"the means over seeds, then the paired difference (served less baseline, mean "
			"over seeds ± its s.e. over seeds); the last two columns against the best of "
			"the issue's three heuristics and the best of all four (item-kNN included), "
			"chosen by mean at that K.\n\n| K |");
	for (int b = 0; b < N_BASELINES; b++)
		fprintf(md, " %s |", baseline_names[b]);
	fprintf(md, " best of three | best of four |\n|---|");
	for (int b = 0; b < N_BASELINES + 2; b++)
		fprintf(md, "---|");
	fprintf(md, "\n");
	for (int k = 0; k < r0->n_ks; k++)
	{
		double		served = s->hit[k][XD_COLD_CMML],
					mean[N_BASELINES],
					dm[N_BASELINES],
					dse[N_BASELINES];
		int			best3 = 0,
					best4;

		fprintf(md, "| %d |", r0->ks[k]);
		for (int b = 0; b < N_BASELINES; b++)
		{
			double		ss = 0.0;

			mean[b] = dm[b] = 0.0;
			for (int i = 0; i < n; i++)
			{
				const xd_coldeval_result *r = &rr[i].res[rr[i].kept];

				mean[b] += baseline_hit(r, b, k) / n;
				dm[b] += (r->cell[k][XD_COLD_CMML].hit10 - baseline_hit(r, b, k)) / n;
			}
			for (int i = 0; i < n; i++)
			{
				const xd_coldeval_result *r = &rr[i].res[rr[i].kept];
				double		dv = r->cell[k][XD_COLD_CMML].hit10 - baseline_hit(r, b, k) - dm[b];

				ss += dv * dv;
			}
			dse[b] = n > 1 ? sqrt(ss / (n - 1) / n) : 0.0;
			if (b < N_BASELINES - 1 && mean[b] > mean[best3])
				best3 = b;
			fprintf(md, " %.2fx; %+.4f ± %.4f |", mean[b] > 0 ? served / mean[b] : 0.0,
					dm[b], dse[b]);
		}
		best4 = mean[N_BASELINES - 1] > mean[best3] ? N_BASELINES - 1 : best3;
		fprintf(md, " %s %.4f: %.2fx; %+.4f ± %.4f |", baseline_names[best3], mean[best3],
				mean[best3] > 0 ? served / mean[best3] : 0.0, dm[best3], dse[best3]);
		fprintf(md, " %s %.4f: %.2fx; %+.4f ± %.4f |\n", baseline_names[best4], mean[best4],
				mean[best4] > 0 ? served / mean[best4] : 0.0, dm[best4], dse[best4]);
	}
	fprintf(md, "\n");
}

static void
report_world(FILE *md, FILE *dat, const world *w, run_result *rr, int n, int world_index)
{
	summary		s;
	const xd_coldeval_result *r0 = &rr[0].res[0];
	int			k5 = 1,
				k20 = r0->n_ks - 1;
	double		best_h5 = 0.0;
	const char *best_name = "";
	double		cold5,
				cold20,
				warm20;

	summarise(rr, n, &s);
	fprintf(md, "## %s\n\n", w->name);
	fprintf(md, "%lld rows, %d users, %d items; %d seeds; per seed %lld cold users "
			"(queries: each one's rows after its first %d, at most 5) and %lld warm "
			"comparison users.\n\n",
			(long long) w->n_rows, w->n_users, w->n_items, n, (long long) (s.n_cold / n),
			KMAX, (long long) (s.n_warm / n));
	fprintf(md, "Cold module variants, in this order: ");
	for (int v = 0; v < s.n_variants; v++)
		fprintf(md, "%s%s", v ? "; " : "", variant_names[v]);
	fprintf(md, ". Per seed, each one's meta-training seconds, validation loss (the "
			"plain tower's before it), validation AUC (the share of validation query "
			"positives scored above their item negative) and validation HitRate@10 (the "
			"positives ranked over every item, as the cold protocol ranks; how many "
			"positives: every validation row of up to 1,000 users, up to 16 each), "
			"both as served: with own items first when validation kept it, marked *; "
			"the kept one has the best validation HitRate@10 (then MRR), and the last "
			"column names the one the lowest validation loss would have kept.\n\n"
			"| seed | MMT-Net epochs | training s | meta-training s | validation loss | "
			"validation AUC | validation HitRate@10 | positives ranked | kept | "
			"lowest loss |\n"
			"|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < n; i++)
	{
		fprintf(md, "| %d | %d | %.1f |", i + 1, rr[i].epochs, rr[i].train_seconds);
		for (int v = 0; v < rr[i].n_variants; v++)
			fprintf(md, "%s %.1f", v ? "," : "", rr[i].meta_seconds[v]);
		fprintf(md, " | %.4f;", rr[i].first_valid);
		for (int v = 0; v < rr[i].n_variants; v++)
			fprintf(md, "%s %.4f", v ? "," : "", rr[i].valid_loss[v]);
		fprintf(md, " |");
		for (int v = 0; v < rr[i].n_variants; v++)
			fprintf(md, "%s %.4f%s", v ? "," : "", rr[i].valid_auc[v],
					rr[i].floor[v] ? "*" : "");
		fprintf(md, " |");
		for (int v = 0; v < rr[i].n_variants; v++)
			fprintf(md, "%s %.4f", v ? "," : "", rr[i].valid_hit10[v]);
		fprintf(md, " | %lld | %s | %s |\n", (long long) rr[i].valid_ranked,
				variant_names[rr[i].kept],
				variant_names[rr[i].kept_by_loss]);
	}
	fprintf(md, "\nHitRate@10 (mean over seeds, ± sd over seeds), NDCG@10 and MRR "
			"below it; `cmml` is the variant validation kept per seed%s; `item_knn` "
			"the fourth baseline (the conditional share users(v, s) / users(s) summed "
			"over the support's positives, pop_context under its ties); below the "
			"methods, each variant's HitRate@10.\n\n",
			without_cooc ? "" : ", served with its co-occurrence prior");
	fprintf(md, "| method |");
	for (int k = 0; k < r0->n_ks; k++)
		fprintf(md, " K = %d |", r0->ks[k]);
	fprintf(md, " ms per user (K = 20) |\n|---|");
	for (int k = 0; k <= r0->n_ks; k++)
		fprintf(md, "---|");
	fprintf(md, "\n");
	for (int m = 0; m < XD_COLD_N_METHODS; m++)
	{
		fprintf(md, "| %s |", xd_cold_method_name(m));
		for (int k = 0; k < r0->n_ks; k++)
		{
			if (m == XD_COLD_WARM && k != k20)
				fprintf(md, " |");
			else
				fprintf(md, " %.4f ± %.4f<br>%.4f, %.4f |", s.hit[k][m], s.hit_sd[k][m],
						s.ndcg[k][m], s.mrr[k][m]);
		}
		if (m == XD_COLD_CMML || m == XD_COLD_FINETUNE)
			fprintf(md, " %.3f |\n", s.ms_per_user[k20][m]);
		else
			fprintf(md, " |\n");
	}
	fprintf(md, "| item_knn |");
	for (int k = 0; k < r0->n_ks; k++)
		fprintf(md, " %.4f ± %.4f<br>%.4f, %.4f |", s.knn_hit[k], s.knn_hit_sd[k],
				s.knn_ndcg[k], s.knn_mrr[k]);
	fprintf(md, " |\n");
	for (int v = 0; v < s.n_variants; v++)
	{
		fprintf(md, "| cmml: %s |", variant_names[v]);
		for (int k = 0; k < r0->n_ks; k++)
			fprintf(md, " %.4f |", s.variant_hit[k][v]);
		fprintf(md, " |\n");
	}
	fprintf(md, "\n");

	for (int m = XD_COLD_POP_DOMAIN; m <= XD_COLD_SUPPORT_FIRST; m++)
		if (s.hit[k5][m] > best_h5)
		{
			best_h5 = s.hit[k5][m];
			best_name = xd_cold_method_name(m);
		}
	cold5 = s.hit[k5][XD_COLD_CMML];
	cold20 = s.hit[k20][XD_COLD_CMML];
	warm20 = s.hit[k20][XD_COLD_WARM];
	fprintf(md, "Goals (HitRate@10, means over seeds):\n\n");
	fprintf(md, "- K = 5: cmml %.4f against the best heuristic (%s) %.4f: %.2fx, "
			"goal >= 1.10x: **%s**.\n", cold5, best_name, best_h5,
			best_h5 > 0 ? cold5 / best_h5 : 0.0, cold5 >= 1.10 * best_h5 ? "met" : "not met");
	{
		double		knn5 = s.knn_hit[k5];
		bool		knn_best = knn5 > best_h5;
		double		b4 = knn_best ? knn5 : best_h5;

		fprintf(md, "- K = 5 against the best of four (item-kNN included): %s %.4f: %.2fx, "
				"goal >= 1.10x: **%s**.\n", knn_best ? "item_knn" : best_name, b4,
				b4 > 0 ? cold5 / b4 : 0.0, cold5 >= 1.10 * b4 ? "met" : "not met");
	}
	fprintf(md, "- K = 20: cmml %.4f against warm users with 20 training interactions "
			"%.4f: %.2fx, goal >= 0.90x: **%s**.\n", cold20, warm20,
			warm20 > 0 ? cold20 / warm20 : 0.0, cold20 >= 0.90 * warm20 ? "met" : "not met");
	fprintf(md, "- Fine-tuning (%d Adam steps on the support, lr 0.05) at K = 20: "
			"%.4f in %.3f ms per user; cmml %.3f ms per user.\n\n",
			10, s.hit[k20][XD_COLD_FINETUNE], s.ms_per_user[k20][XD_COLD_FINETUNE],
			s.ms_per_user[k20][XD_COLD_CMML]);
	report_against(md, rr, n, &s);

	fprintf(md, "Repeats (docs/cold-start.md, The repeat term): %.1f%% of the training "
			"positives have their item in another training row of the user (g = 1), "
			"%.2f%% of uniform item negatives do, a context negative always shares its "
			"positive's g", 100.0 * s.pos_hist, 100.0 * s.ineg_hist);
	if (with_repeat)
		fprintf(md, "; the model's learned r(c) on the positives with g = 1 is %.3f "
				"on average", s.r_mean);
	fprintf(md, ". Per K, the share of cold queries whose item is among the "
			"support's, HitRate@10 on those (repeats) and on the others, and the cold "
			"path's mean task repeat weight rho:\n\n| K | repeats | cmml: repeats, others | "
			"support_first: repeats, others | pop_context: others | rho |\n"
			"|---|---|---|---|---|---|\n");
	for (int k = 0; k < r0->n_ks; k++)
		fprintf(md, "| %d | %.1f%% | %.4f, %.4f | %.4f, %.4f | %.4f | %.3f |\n", r0->ks[k],
				100.0 * s.rep_share[k], s.hit_rep[k][XD_COLD_CMML], s.hit_new[k][XD_COLD_CMML],
				s.hit_rep[k][XD_COLD_SUPPORT_FIRST], s.hit_new[k][XD_COLD_SUPPORT_FIRST],
				s.hit_new[k][XD_COLD_POP_CONTEXT], s.rho[k]);
	fprintf(md, "\nWarm comparison users (20 training rows): %.1f%% of their queries repeat "
			"a training item; HitRate@10 %.4f on those, %.4f on the others.\n\n",
			100.0 * s.rep_share_warm, s.hit_rep[k20][XD_COLD_WARM], s.hit_new[k20][XD_COLD_WARM]);
	fprintf(md, "Where K = 5's HitRate@10 comes from (pooled over seeds): the queries "
			"that repeat a support item, and the others by their item's popularity band "
			"(the domain's items by training rows, most chosen first, cut where they hold "
			"a third and two thirds of the rows); each column's count of queries in its "
			"header.\n\n| method | all (%.0f) | repeats (%.0f) | new items (%.0f) | "
			"new, head (%.0f) | new, middle (%.0f) | new, tail (%.0f) |\n"
			"|---|---|---|---|---|---|---|\n", s.kind_n[k5][0] + s.kind_n[k5][1],
			s.kind_n[k5][0], s.kind_n[k5][1], s.kind_n[k5][2], s.kind_n[k5][3],
			s.kind_n[k5][4]);
	for (int m = 0; m < XD_COLD_WARM; m++)
	{
		fprintf(md, "| %s | %.4f |", xd_cold_method_name(m),
				(s.kind_hit[k5][m][0] + s.kind_hit[k5][m][1]) /
				fmax(1.0, s.kind_n[k5][0] + s.kind_n[k5][1]));
		for (int j = 0; j < 2 + XD_COLD_POP_BANDS; j++)
			fprintf(md, " %.4f |", s.kind_hit[k5][m][j] / fmax(1.0, s.kind_n[k5][j]));
		fprintf(md, "\n");
	}
	for (int p = 0; p < XD_COLD_N_PRIORS; p++)
		for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
		{
			const double *bh = s.blend_hit[k5][p][l];

			fprintf(md, "| cmml + %.2f %s | %.4f |", xd_cold_blend_lambdas[l],
					p == XD_COLD_PRIOR_POP_CONTEXT ? "pop_context" :
					p == XD_COLD_PRIOR_ITEM_SIM ? "item similarity" :
					"pop_context outside the support, support first",
					(bh[0] + bh[1]) / fmax(1.0, s.kind_n[k5][0] + s.kind_n[k5][1]));
			for (int j = 0; j < 2 + XD_COLD_POP_BANDS; j++)
				fprintf(md, " %.4f |", bh[j] / fmax(1.0, s.kind_n[k5][j]));
			fprintf(md, "\n");
		}
	for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
		for (int l = 0; l < XD_COLD_N_COOC_LAMBDAS + 2; l++)
		{
			const double *ch = s.cooc_hit[k5][kind][l];
			const char *kn = cooc_kind_names[kind];
			char		name[96];

			if (l < XD_COLD_N_COOC_LAMBDAS)
				snprintf(name, sizeof(name), "cmml + %.2f cooc (%s)", xd_cold_cooc_lambdas[l], kn);
			else if (l == XD_COLD_COOC_ALONE)
				snprintf(name, sizeof(name), "cooc alone (%s item-kNN)", kn);
			else if (with_valid_lambda)
				snprintf(name, sizeof(name), "cmml + cooc (%s), lambda chosen on validation", kn);
			else
				continue;
			fprintf(md, "| %s | %.4f |", name,
					(ch[0] + ch[1]) / fmax(1.0, s.kind_n[k5][0] + s.kind_n[k5][1]));
			for (int j = 0; j < 2 + XD_COLD_POP_BANDS; j++)
				fprintf(md, " %.4f |", ch[j] / fmax(1.0, s.kind_n[k5][j]));
			fprintf(md, "\n");
		}
	fprintf(md, "\nThe `cmml + lambda prior` rows are a headroom probe, not a method: the "
			"kept variant's scores standardised over the ranked items plus lambda times a "
			"standardised prior, log(1 + pop_context's score) or each item's embedding's "
			"dot product with the mean embedding of the support's positives (the last "
			"rows: the first on the items outside the support, the support's items ranked "
			"first); lambda is "
			"swept on these test queries, so the best row bounds what such a prior could "
			"add. The `cooc` rows add the items' co-occurrence with the support's "
			"(item-kNN over the training users, cosine or conditional, coldeval.h) the "
			"same way; `cooc alone` ranks by it, pop_context breaking ties; with "
			"--valid-lambda the last row of each kind takes the lambda its validation "
			"users rank best (cmml where none beats it). Nothing is served this way.\n");
	fprintf(md, "\n");

	for (int k = 0; k < r0->n_ks; k++)
	{
		fprintf(dat, "%d %d", world_index, r0->ks[k]);
		for (int m = 0; m < XD_COLD_N_METHODS; m++)
			fprintf(dat, " %.5f", m == XD_COLD_WARM ? s.hit[k20][m] : s.hit[k][m]);
		fprintf(dat, "\n");
	}
}

static void
plot(const char *dir, const char *datpath, int n_worlds, const char **titles)
{
	FILE	   *gp = popen("gnuplot", "w");

	if (!gp)
	{
		fprintf(stderr, "gnuplot not found: no plot\n");
		return;
	}
	fprintf(gp, "set terminal pngcairo size 1100,450 font ',10' noenhanced\n");
	fprintf(gp, "set output '%s/img/cold-hit10.png'\n", dir);
	fprintf(gp, "set multiplot layout 1,%d\nset xlabel 'K (support interactions)'\n"
			"set ylabel 'HitRate@10'\nset logscale x 2\nset xtics (1,5,10,20)\n"
			"set key left top\nset grid\n", n_worlds);
	/* warm is one value (20 training interactions), drawn across every K */
	for (int wi = 0; wi < n_worlds; wi++)
	{
		fprintf(gp, "set title '%s'\n", titles[wi]);
		fprintf(gp, "plot ");
		for (int m = 0; m < XD_COLD_N_METHODS; m++)
			fprintf(gp, "%s'%s' using 2:($1==%d?$%d:1/0) with linespoints title '%s'",
					m ? ", " : "", datpath, wi, 3 + m, xd_cold_method_name(m));
		fprintf(gp, "\n");
	}
	fprintf(gp, "unset multiplot\n");
	pclose(gp);
}


/* ---------------------------------------------------------------- --targets */

/*
 * --targets: cold users of adapted targets (docs/cold-start.md, Adapted
 * targets). The transfer report's shared world (report_transfer.c: seed
 * 42, source 2000 users x 1000 items x 40,000 rows; its targets 3 and 4,
 * 300 x 200 x 4,000 and 600 x 400 x 8,000); per seed the source is trained
 * (xd_transfer_train_source, the product's defaults) with its
 * distributional encoders and its module (xd_cold_train), then in each
 * target half of the users with more than KMAX rows are held out (cold),
 * the target is adapted without them (DRR, target-only) and its module
 * made (xd_cold_train_target: the source's as is, meta-trained from it,
 * and from a fresh start over target-only's own towers), and the protocol
 * ranks the held-out users at K = 5 and 20 with each candidate, the kept
 * one, and the heuristics. Every number is paired: the same users, queries
 * and supports.
 */
#define TG_TARGETS 2
#define TG_METHODS 2
#define TG_MAX_RUNS (MAX_SEEDS * TG_TARGETS)
enum
{
	TG_AS_IS, TG_FROM_SOURCE, TG_FRESH, TG_KEPT, TG_POP_DOMAIN, TG_POP_CONTEXT,
	TG_SUPPORT_FIRST, TG_N_ROWS
};
static const char *const tg_row_names[TG_N_ROWS] = {
	"source's module as is", "meta-trained from the source's", "meta-trained from a fresh start",
	"kept on validation", "pop_domain", "pop_context", "support_first"
};

typedef struct tg_run
{
	double		hit[2][TG_N_ROWS];	/* K = 5, 20; NAN when not run */
	int64_t		n_users;
	int64_t		n_queries;
	int			kept;
	bool		too_small;
	double		adapt_seconds;
	double		meta_seconds;	/* xd_cold_train_target, every candidate */
	double		cand_seconds[XD_COLD_N_STARTS];
	int			epochs[XD_COLD_N_STARTS];
} tg_run;

static void
tg_eval(xd_model *model, xd_cold *cold, const xd_dataset *ds, const xd_holdout *h,
		uint64_t seed, tg_run *r, int row, bool heuristics)
{
	static xd_coldeval_result res;	/* large */
	xd_coldeval_opts eo;
	xd_status	st;

	xd_coldeval_opts_default(&eo);
	eo.seed = seed;
	eo.n_ks = 2;
	eo.ks[0] = 5;
	eo.ks[1] = KMAX;
	if ((st = xd_coldeval_run(model, cold, ds, h, &eo, &res)) != XD_OK)
		die("cold protocol", st);
	for (int k = 0; k < 2; k++)
	{
		r->hit[k][row] = res.cell[k][XD_COLD_CMML].hit10;
		if (heuristics)
		{
			r->hit[k][TG_POP_DOMAIN] = res.cell[k][XD_COLD_POP_DOMAIN].hit10;
			r->hit[k][TG_POP_CONTEXT] = res.cell[k][XD_COLD_POP_CONTEXT].hit10;
			r->hit[k][TG_SUPPORT_FIRST] = res.cell[k][XD_COLD_SUPPORT_FIRST].hit10;
		}
	}
	r->n_users = res.n_cold_users;
	r->n_queries = res.cell[0][XD_COLD_CMML].n;
}

/* mean and standard error over n runs of a[i] - b[i] (b NULL: of a) */
static void
tg_mean_se(const double *a, const double *b, int n, double *mean, double *se)
{
	double		s = 0.0,
				ss = 0.0;

	for (int i = 0; i < n; i++)
		s += a[i] - (b ? b[i] : 0.0);
	*mean = s / n;
	for (int i = 0; i < n; i++)
	{
		double		d = a[i] - (b ? b[i] : 0.0) - *mean;

		ss += d * d;
	}
	*se = n > 1 ? sqrt(ss / (n - 1) / n) : 0.0;
}

static void
run_targets(int n_seeds, long long first_seed)
{
	static const int32_t users[TG_TARGETS] = {300, 600};
	static const int32_t items[TG_TARGETS] = {200, 400};
	static const int64_t rows[TG_TARGETS] = {4000, 8000};
	static const xd_transfer_method methods[TG_METHODS] = {XD_TRANSFER_DRR,
	XD_TRANSFER_TARGET_ONLY};
	static tg_run runs[TG_METHODS][TG_MAX_RUNS];
	xd_generated *g[TG_TARGETS];
	world		tw[TG_TARGETS];
	int			n_runs = 0;
	double		source_seconds = 0.0,
				source_meta = 0.0;
	xd_status	st;

	for (int t = 0; t < TG_TARGETS; t++)
	{
		xd_gen_config gc;

		xd_gen_config_default(&gc);
		gc.seed = 42;
		gc.split_seed = 42;
		gc.n_domains = t + 4;	/* report_transfer's targets 3 and 4 */
		gc.src_interactions = 40000;
		gc.tgt_users = users[t];
		gc.tgt_items = items[t];
		gc.tgt_interactions = rows[t];
		if ((st = xd_generate(&gc, &g[t])) != XD_OK)
			die("generate", st);
		tw[t] = world_of(g[t], t + 3, t == 0 ? "target 3" : "target 4");
	}
	for (int s = 0; s < n_seeds; s++)
	{
		uint64_t	seed = (uint64_t) (first_seed + s);
		const xd_dataset *src = g[0]->domains[0].ds;
		xd_config	cfg;
		xd_transfer_opts to;
		xd_transfer_result sr;
		xd_dist_encoder_opts eo;
		xd_dist_encoders *enc;
		xd_cold_opts co;
		xd_cold_report crep;
		xd_cold    *scold;
		double		t0 = xd_clock_seconds();

		xd_config_defaults(&cfg);
		xd_config_set_widths(&cfg, &src->enc.schema);
		cfg.seed = seed;
		cfg.repeat = with_repeat;
		xd_transfer_opts_default(&to);
		to.seed = seed;
		if ((st = xd_transfer_train_source(&cfg, src, &to, &sr)) != XD_OK)
			die("source", st);
		source_seconds += xd_clock_seconds() - t0;
		xd_dist_encoder_opts_default(&eo);
		if ((st = xd_dist_encoders_train(sr.model, src, &eo, &enc, NULL)) != XD_OK)
			die("encoders", st);
		xd_cold_opts_default(&co);
		co.seed = seed;
		if ((st = xd_cold_train(sr.model, src, NULL, &co, &scold, &crep)) != XD_OK)
			die("source's module", st);
		source_meta += crep.seconds;
		fprintf(stderr, "seed %llu: source %.0f s, its module %.0f s (%d epochs)\n",
				(unsigned long long) seed, xd_clock_seconds() - t0 - crep.seconds,
				crep.seconds, crep.epochs);
		for (int t = 0; t < TG_TARGETS; t++, n_runs++)
		{
			xd_dataset *ds;
			xd_holdout	h;

			hold_out(&tw[t], seed, 2, false, &ds, &h);
			for (int mi = 0; mi < TG_METHODS; mi++)
			{
				tg_run	   *r = &runs[mi][n_runs];
				xd_transfer_result tr;
				xd_cold_target_report trep;
				xd_cold    *kept,
						   *cands[XD_COLD_N_STARTS];

				for (int k = 0; k < 2; k++)
					for (int i = 0; i < TG_N_ROWS; i++)
						r->hit[k][i] = NAN;
				xd_transfer_opts_default(&to);
				to.method = methods[mi];
				to.seed = seed;
				t0 = xd_clock_seconds();
				if ((st = xd_transfer(sr.shared, enc, ds, &to, &tr)) != XD_OK)
					die("transfer", st);
				r->adapt_seconds = xd_clock_seconds() - t0;
				xd_cold_target_opts_default(&co);
				co.seed = seed;
				if ((st = xd_cold_train_target(tr.model, ds, scold,
											   methods[mi] == XD_TRANSFER_TARGET_ONLY, &co,
											   &kept, &trep, cands)) != XD_OK)
					die("target's module", st);
				r->meta_seconds = trep.seconds;
				r->kept = trep.kept;
				if (n_cold_min > 0)
				{
					char		label[64];

					snprintf(label, sizeof(label), "%s %s", tw[t].name,
							 xd_transfer_method_name(methods[mi]));
					cold_min_lines(tr.model, ds, kept, co.max_support, seed, label);
				}
				r->too_small = trep.too_small;
				for (int c = 0; c < XD_COLD_N_STARTS; c++)
				{
					r->cand_seconds[c] = trep.cand[c].seconds;
					r->epochs[c] = trep.cand[c].epochs;
				}
				tg_eval(tr.model, kept, ds, &h, seed, r, TG_KEPT, true);
				for (int c = 0; c < XD_COLD_N_STARTS; c++)
				{
					xd_cold    *m = c == (int) trep.kept ? kept : cands[c];

					if (m)
						tg_eval(tr.model, m, ds, &h, seed, r, TG_AS_IS + c, false);
					xd_cold_free(cands[c]);
				}
				fprintf(stderr, "  %s %s: %lld cold users, %lld queries; adapt %.1f s, module %.1f s "
						"(kept %s); K = 5: as is %.3f, from source %.3f, fresh %.3f, "
						"support_first %.3f, pop_context %.3f\n",
						tw[t].name, xd_transfer_method_name(methods[mi]),
						(long long) r->n_users, (long long) r->n_queries, r->adapt_seconds,
						r->meta_seconds, xd_cold_start_name(trep.kept),
						r->hit[0][TG_AS_IS], r->hit[0][TG_FROM_SOURCE], r->hit[0][TG_FRESH],
						r->hit[0][TG_SUPPORT_FIRST], r->hit[0][TG_POP_CONTEXT]);
				xd_cold_free(kept);
				xd_transfer_result_free(&tr);
			}
			xd_dataset_free(ds);
			holdout_free(&h);
		}
		xd_cold_free(scold);
		xd_dist_encoders_free(enc);
		xd_transfer_result_free(&sr);
	}

	/* the tables: means over runs (seeds x targets), paired differences */
	printf("## Cold users of adapted targets (report_cold --targets, %d seeds from %lld, "
		   "%d runs a method)\n\n", n_seeds, first_seed, n_runs);
	for (int mi = 0; mi < TG_METHODS; mi++)
	{
		double		a[TG_MAX_RUNS],
					b[TG_MAX_RUNS],
					mean,
					se;
		int			kept_n[XD_COLD_N_STARTS] = {0};
		double		adapt = 0.0,
					meta = 0.0;

		printf("### %s\n\n| HitRate@10 | K = 5 | K = 20 | K = 5 minus support_first | "
			   "K = 5 minus pop_context | K = 20 minus support_first |\n|---|---|---|---|---|---|\n",
			   xd_transfer_method_name(methods[mi]));
		for (int i = 0; i < TG_N_ROWS; i++)
		{
			if (isnan(runs[mi][0].hit[0][i]))
				continue;
			printf("| %s", tg_row_names[i]);
			for (int k = 0; k < 2; k++)
			{
				for (int r = 0; r < n_runs; r++)
					a[r] = runs[mi][r].hit[k][i];
				tg_mean_se(a, NULL, n_runs, &mean, &se);
				printf(" | %.4f", mean);
			}
			for (int c = 0; c < 3; c++)
			{
				int			k = c == 2 ? 1 : 0;
				int			base = c == 1 ? TG_POP_CONTEXT : TG_SUPPORT_FIRST;

				for (int r = 0; r < n_runs; r++)
				{
					a[r] = runs[mi][r].hit[k][i];
					b[r] = runs[mi][r].hit[k][base];
				}
				tg_mean_se(a, b, n_runs, &mean, &se);
				printf(" | %+.4f ± %.4f", mean, se);
			}
			printf(" |\n");
		}
		for (int r = 0; r < n_runs; r++)
		{
			kept_n[runs[mi][r].kept]++;
			adapt += runs[mi][r].adapt_seconds;
			meta += runs[mi][r].meta_seconds;
		}
		/* the kept one against the source's as is, and against from the source */
		for (int c = 0; c < 2; c++)
			for (int k = 0; k < 2; k++)
			{
				for (int r = 0; r < n_runs; r++)
				{
					a[r] = runs[mi][r].hit[k][c == 0 ? TG_FROM_SOURCE : TG_KEPT];
					b[r] = runs[mi][r].hit[k][c == 0 ? TG_AS_IS : TG_FROM_SOURCE];
				}
				tg_mean_se(a, b, n_runs, &mean, &se);
				printf("%s K = %d: %+.4f ± %.4f\n", c == 0 ? "- meta-trained from the source's minus as is," :
					   "- kept minus meta-trained from the source's,", k == 0 ? 5 : KMAX, mean, se);
			}
		printf("- kept: as is %d, from the source %d, fresh %d of %d runs\n",
			   kept_n[0], kept_n[1], kept_n[2], n_runs);
		printf("- seconds per run: adapt %.1f, the target's module %.1f (%.2fx adapt); per "
			   "candidate:", adapt / n_runs, meta / n_runs, meta / adapt);
		for (int c = 0; c < XD_COLD_N_STARTS; c++)
		{
			double		cs = 0.0,
						ep = 0.0;

			for (int r = 0; r < n_runs; r++)
			{
				cs += runs[mi][r].cand_seconds[c];
				ep += runs[mi][r].epochs[c];
			}
			printf(" %s %.1f s (%.1f epochs)", xd_cold_start_name((xd_cold_start) c), cs / n_runs,
				   ep / n_runs);
		}
		printf("\n- cold users per run:");
		for (int r = 0; r < n_runs; r++)
			printf(" %lld", (long long) runs[mi][r].n_users);
		printf("\n\n");
	}
	printf("Source per seed: %.0f s of training, %.0f s its module.\n", source_seconds / n_seeds,
		   source_meta / n_seeds);
	for (int t = 0; t < TG_TARGETS; t++)
		xd_generated_free(g[t]);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char	   *tsvs[8];
	int			tsv_seeds[8];	/* TSV@N: N seeds for that table (else --real-seeds) */
	int			world_seeds[9];
	int			n_tsv = 0;
	int			n_seeds = N_SEEDS,
				real_seeds = 0;
	long long	first_seed = FIRST_SEED;
	bool		real_only = false;
	bool		targets = false;
	world		worlds[9];
	int			n_worlds = 0;
	const char *titles[9];
	char		path[1024],
				datpath[1024];
	FILE	   *md,
			   *dat;
	double		t0 = xd_clock_seconds();

	for (int a = 1; a < argc; a++)
	{
		if (strcmp(argv[a], "--repeat") == 0)
			with_repeat = true;
		else if (strcmp(argv[a], "--joint") == 0)
			with_joint = true;
		else if (strcmp(argv[a], "--scale-prior") == 0)
			with_scale_prior = true;
		else if (strcmp(argv[a], "--no-scale-prior") == 0)
			without_scale_prior = true;
		else if (strcmp(argv[a], "--paired-scale") == 0)
			with_paired_scale = true;
		else if (strcmp(argv[a], "--pop-negatives") == 0 && a + 1 < argc)
			pop_negatives = (float) atof(argv[++a]);
		else if (strcmp(argv[a], "--paired-negatives") == 0 && a + 1 < argc)
			paired_negatives = (float) atof(argv[++a]);
		else if (strcmp(argv[a], "--rank-negatives") == 0 && a + 1 < argc)
			rank_negatives = atoi(argv[++a]);
		else if (strcmp(argv[a], "--rank-popular") == 0)
			rank_popular = true;
		else if ((strcmp(argv[a], "--paired-rank") == 0 ||
				  strcmp(argv[a], "--paired-rank-pop") == 0) && a + 1 < argc)
		{
			paired_rank_popular = strcmp(argv[a], "--paired-rank-pop") == 0;
			paired_rank = atoi(argv[++a]);
		}
		else if (strcmp(argv[a], "--variants") == 0 && a + 1 < argc)
			max_variants = atoi(argv[++a]);
		else if (strcmp(argv[a], "--cold-min") == 0 && a + 1 < argc)
		{
			char	   *p = argv[++a],
					   *end;

			while (*p && n_cold_min < MAX_COLD_MIN)
			{
				cold_min_bounds[n_cold_min++] = (int) strtol(p, &end, 10);
				if (end == p || (*end && *end != ','))
					n_cold_min = MAX_COLD_MIN + 1;	/* refused below */
				if (end == p)
					break;
				p = end + (*end == ',');
			}
		}
		else if (strcmp(argv[a], "--cold-min-test") == 0)
			cold_min_test = true;
		else if (strcmp(argv[a], "--valid-lambda") == 0)
			with_valid_lambda = true;
		else if (strcmp(argv[a], "--no-cooc") == 0)
			without_cooc = true;
		else if (strcmp(argv[a], "--real-only") == 0)
			real_only = true;
		else if (strcmp(argv[a], "--lr") == 0 && a + 1 < argc)
			mmt_lr = (float) atof(argv[++a]);
		else if (strcmp(argv[a], "--lr-search") == 0 && a + 1 < argc)
			mmt_lr_search = atoi(argv[++a]);
		else if (strcmp(argv[a], "--dim") == 0 && a + 1 < argc)
			mmt_dim = atoi(argv[++a]);
		else if (strcmp(argv[a], "--neg-weight") == 0 && a + 1 < argc)
			mmt_neg_weight = (float) atof(argv[++a]);
		else if (strcmp(argv[a], "--item-bias") == 0)
			mmt_item_bias = true;
		else if (strcmp(argv[a], "--max-epochs") == 0 && a + 1 < argc)
			mmt_max_epochs = atoi(argv[++a]);
		else if (strcmp(argv[a], "--patience") == 0 && a + 1 < argc)
			mmt_patience = atoi(argv[++a]);
		else if (strcmp(argv[a], "--targets") == 0)
			targets = true;
		else if (strcmp(argv[a], "--seeds") == 0 && a + 1 < argc)
			n_seeds = atoi(argv[++a]);
		else if (strcmp(argv[a], "--real-seeds") == 0 && a + 1 < argc)
			real_seeds = atoi(argv[++a]);
		else if (strcmp(argv[a], "--first-seed") == 0 && a + 1 < argc)
			first_seed = atoll(argv[++a]);
		else if (!dir)
			dir = argv[a];
		else if (n_tsv < 8)
		{
			char	   *at;

			tsvs[n_tsv] = strdup(argv[a]);
			at = strrchr(tsvs[n_tsv], '@');
			tsv_seeds[n_tsv] = 0;
			if (at && at[1] != '\0' && strspn(at + 1, "0123456789") == strlen(at + 1))
			{
				*at = '\0';
				tsv_seeds[n_tsv] = atoi(at + 1);
				if (tsv_seeds[n_tsv] < 1 || tsv_seeds[n_tsv] > MAX_SEEDS)
					dir = NULL;	/* usage */
			}
			n_tsv++;
		}
	}
	if (real_seeds == 0)
		real_seeds = n_seeds;
	if (!dir || n_seeds < 1 || n_seeds > MAX_SEEDS || real_seeds < 1 || real_seeds > MAX_SEEDS ||
		first_seed < 0 || pop_negatives > 1.0f || paired_negatives > 1.0f ||
		rank_negatives > XD_COLD_RANK_MAX || paired_rank > XD_COLD_RANK_MAX ||
		(paired_rank >= 0 && paired_rank < 1) || (paired_rank > 0 && paired_negatives >= 0.0f) ||
		max_variants < 1 || n_cold_min > MAX_COLD_MIN)
	{
		fprintf(stderr, "usage: report_cold [--repeat] [--joint] [--scale-prior] [--no-scale-prior] "
				"[--paired-scale] [--pop-negatives X] [--paired-negatives X] "
				"[--rank-negatives K [--rank-popular]] [--paired-rank K | --paired-rank-pop K] "
				"[--variants N] [--valid-lambda] [--no-cooc] [--real-only] [--targets] "
				"[--lr X] [--lr-search N] [--dim D] [--item-bias] [--max-epochs N] [--patience N] "
				"[--neg-weight W] [--seeds N] [--real-seeds N] [--first-seed S] DOCS_DIR [TSV[@N]...]   (N in 1..%d, "
				"S >= 0, X in 0..1, K in 1..%d)\n",
				MAX_SEEDS, XD_COLD_RANK_MAX);
		return 2;
	}
	if (targets)
	{
		run_targets(n_seeds, first_seed);
		return 0;
	}
	if (!real_only)
	{
		world_seeds[n_worlds] = n_seeds;
		worlds[n_worlds++] = synthetic_world();
	}
	for (int i = 0; i < n_tsv; i++)
	{
		world_seeds[n_worlds] = tsv_seeds[i] > 0 ? tsv_seeds[i] : real_seeds;
		if (tsv_world(tsvs[i], &worlds[n_worlds]))
			n_worlds++;
		else
			fprintf(stderr, "report_cold: %s not found: run test/real/cold_data.sh\n", tsvs[i]);
	}
	snprintf(path, sizeof(path), "%s/cold-report.md", dir);
	snprintf(datpath, sizeof(datpath), "build/cold-hit10.dat");
	md = fopen(path, "w");
	dat = fopen(datpath, "w");
	if (!md || !dat)
	{
		fprintf(stderr, "report_cold: cannot write %s or %s\n", path, datpath);
		return 1;
	}
	fprintf(md, "# Cold-start report (CMML)\n\n");
	fprintf(md, "Generated by `make report-cold` (test/bench/report_cold.c); the protocol "
			"is `include/xdrec/coldeval.h`'s, the method [cold-start.md](cold-start.md). "
			"Held-out users are ranked from their first K interactions (with %d seeded "
			"item negatives per positive) and tested on their later ones by full ranking "
			"over the domain's items. MMT-Net %s.\n\n", XD_COLD_NEGATIVES,
			with_repeat ? "has the repeat term (`--repeat`; docs/serving.md, Repeats): a user's "
			"support items, and a warm user's training items, take its learned r(c), the "
			"cold path's also the task's rho" :
			"has no repeat term (`report_cold --repeat` adds it)");
	fprintf(md, "![HitRate@10 against K](img/cold-hit10.png)\n\n");
	for (int wi = 0; wi < n_worlds; wi++)
	{
		run_result rr[MAX_SEEDS];
		int			ns = world_seeds[wi];

		for (int s = 0; s < ns; s++)
			run_world(&worlds[wi], (uint64_t) (first_seed + s), &rr[s]);
		report_world(md, dat, &worlds[wi], rr, ns, wi);
		fflush(md);				/* a long run shows each world when it is done */
		titles[wi] = worlds[wi].name;
	}
	fprintf(md, "Total wall time of the report: %.0f s on this machine (2 cores, one used).\n",
			xd_clock_seconds() - t0);
	fclose(md);
	fclose(dat);
	plot(dir, datpath, n_worlds, titles);
	return 0;
}
