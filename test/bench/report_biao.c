/*
 * report_biao.c - the source-weighting report (biao.h; seeds/biao-www23.txt
 * Tables 2-3 and Figure 3, PEERS.md): `make report-biao` builds and runs it.
 *
 * The world is test/unit/fixture.h's fx_biao_world: a source whose rows of
 * mode 1 (a share of them) follow a rule no target shares, and targets that
 * follow the shared rule only. Per seed, the source's model is trained
 * plainly and with BIAO (and its ablations: no global term, no local term,
 * a held-out developing split instead of reorder-and-reuse; and a control,
 * the perceptron frozen at its start: what a run with BIAO's cost and its
 * near-uniform weights gives without learning them), every one to
 * early stopping on the source's validation MRR, from the same
 * initialisation; then every target is adapted from each source with DRR
 * (its encoders trained on that source) and with auto (target-only, Anneal,
 * DRR: the default). Test MRR on the sampled protocol of DESIGN.md section
 * 5, summed over targets; the sources' training CPU time; the mean BIAO
 * weight per context value (hour x mode: Figure 3) and the weights' spread
 * with the developing loss per upper step; what the upper level
 * optimises (the targets' developing loss and Direct's MRR under each
 * source's frozen modules); and one upper step's signal against its noise
 * at a fixed source state. Writes docs/biao-report.md. With --real, the
 * same on a prepared real view (test/real/prepare.py): implicit views as
 * above, explicit ones (InCarMusic) on the model's own loss, the squared
 * rating error, with test RMSE summed over the targets (lower is better;
 * the report's gains are signed so that + is better).
 *
 * Usage: report_biao [out_dir (docs)] [--full] [--foreign share (0.5)]
 *        [--contradiction share (1)] [--target-mode1 share (0.5)]
 *        [--src-rows n] (the world, fixture.h)
 *        [--seeds n (3, at most 12)] [--seed-offset k (0)]
 *        [--interval n] [--neumann terms] [--neumann-alpha x] [--warmup epochs]
 *        [--upper-lr x]
 *        [--dev-batches n] [--source-batches n] [--refit-steps n]
 *        [--refit-fresh] [--dev-fit drr] (biao.h's defaults)
 *        [--snr epochs [--snr-n n (40)] [--snr-burn n (30)]] (no report:
 *        one upper step's signal and noise at the source state after
 *        plain training for the epochs given, per seed, on stdout)
 *        [--probe epochs [--probe-epochs k (5)]] (no report: the upper
 *        objectives after k more epochs with the foreign rows weighted 1,
 *        0.5 and 0, from plain training for the epochs given, per seed, on
 *        stderr)
 *        [--zo epochs[:n (12)[:k (5)[:eps (1)]]] [--zo-all]] (no report:
 *        the zeroth-order upper signal's agreement with the foreign rows
 *        down, n directions, k epochs per side, from plain training for the
 *        epochs given, per seed, on stdout)
 *        [--upper-zo n[:every (1)[:k (5)[:eps (1)[:step (1)]]]]] (the
 *        upper level's zeroth-order step, biao.h's XD_BIAO_UPPER_ZO: n steps
 *        (4), every `every` epochs from the warm-up or a plateau; the
 *        control's step 0; early stopping keeps no epoch before the last
 *        step, xd_biao_first_kept_epoch) [--zo-plateau p (0: off)]
 *        [--zo-directions n (1)] (estimates per step, their signed
 *        directions averaged)
 *        [--no-snr] (without the upper-signal table, to try a setting)
 *        [--fixed-epochs n] (every source trains n epochs, no early
 *        stopping: the model kept is the last, weighted epochs included)
 *        [--patience n] (every source's early stopping patience, train.h's
 *        10 by default)
 *        [--real view.tsv] (the real part: a prepared view, implicit or
 *        explicit)
 *        [--real-only] (with --real: the real part alone, to try a setting)
 *        [--code-weight k:w[:f]] (on a real view, with oracle in --only: the
 *        rows of feature f's code k (f: the first interaction feature)
 *        weighted w against 1, the batch's weights averaging 1: what a
 *        weighting by one context value can gain)
 *        [--figure-feature f] (on a real view, Figure 3's mean weights per
 *        value of feature f, any categorical one; by default the first
 *        interaction feature)
 *        [--only list] (plain and the variants listed, of
 *        biao,noglobal,nolocal,heldout,frozen,sched,draws,oracle: to try a
 *        world or a setting; sched, plain training stopped as the control
 *        is, first_kept_epoch included, and draws, plain training's mean
 *        over its own training seed and k others, run only when listed)
 *        [--plain-draws k (3)] (draws' other seeds: plain's xor 1 .. k)
 *        [--init-xor y (0)] (every source model's seed, its
 *        initialisation's and training's, xor y)
 *        (every run's numbers also on stdout: print_run)
 *        (quick by default)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "real_view.h"
#include "report_common.h"
#include "xdrec/biao.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/metrics.h"
#include "xdrec/sample.h"
#include "xdrec/transfer.h"

#define MAX_SEEDS 12
#define MAX_TGT 12
/* targets: 3 (the synthetic world, the implicit views' three largest); an
 * explicit view's all, up to MAX_TGT */
static int	n_tgt = 3;
/*
 * The targets' test metric: MRR on the sampled protocol (implicit), or RMSE
 * (an explicit view: lower is better, gain_pct turns it around)
 */
static bool explicit_mode = false;
static const char *metric = "MRR";

enum
{
	S_PLAIN = 0, S_BIAO, S_NOGLOBAL, S_NOLOCAL, S_HELDOUT, S_FROZEN, S_SCHED, S_DRAWS,
	S_ORACLE, N_SRC
};
static const char *src_label[N_SRC] = {
	"plain", "BIAO", "BIAO, no global term", "BIAO, no local term",
	"BIAO, held-out developing split", "BIAO, perceptron frozen (control)",
	"plain, the control's schedule", "plain, mean over training seeds",
	"oracle weights (mode 1 rows dropped)"
};

/* --only's names of the variants */
static const char *const variant_key[N_SRC] = {
	"plain", "biao", "noglobal", "nolocal", "heldout", "frozen", "sched", "draws", "oracle"
};

enum
{
	A_DRR = 0, A_AUTO, N_ADAPT
};
static const char *const adapt_label[N_ADAPT] = {"DRR", "auto"};

static bool full = false;
static float foreign_share = 0.5f;	/* --foreign x */
static int	opt_interval = 0;	/* --interval n; 0: biao.h's default */
static int	opt_neumann = -1;	/* --neumann terms; -1: biao.h's default */
static float opt_alpha = 0.0f;	/* --neumann-alpha x; 0: biao.h's default */
static int	opt_warmup = -1;	/* --warmup epochs; -1: biao.h's default */
static float opt_upper_lr = -1.0f;	/* --upper-lr x; < 0: biao.h's default
									 * (0: the perceptron never moves, a
									 * control for the perturbation alone) */
static bool real_only = false;	/* --real-only */
static int	n_seeds = 3;		/* --seeds n (at most MAX_SEEDS) */
static int	seed_offset = 0;	/* --seed-offset k: seeds k .. k + n - 1 */
static float contradiction = 1.0f;	/* --contradiction x */
static float target_mode1 = 0.5f;	/* --target-mode1 x */
static int	src_rows = 0;		/* --src-rows n; 0: the mode's */
/* --only list: the variants run (bits); by default all but the plain ones */
static unsigned variants = ~(1u << S_SCHED | 1u << S_DRAWS);
static int	opt_dev_batches = 0;	/* --dev-batches n; 0: biao.h's default */
static int	opt_source_batches = 0; /* --source-batches n; 0: biao.h's */
static int	opt_refit_steps = -1;	/* --refit-steps n; -1: biao.h's */
static bool opt_refit_fresh = false;	/* --refit-fresh */
static xd_biao_dev_fit opt_dev_fit = XD_BIAO_DEV_DIRECT;	/* --dev-fit drr */
static int	snr_epochs = 0;		/* --snr epochs: measure the upper signal */
static int	snr_n = 40;			/* --snr-n: estimates per seed */
static int	snr_burn = 30;		/* --snr-burn: estimates discarded first
								 * (the targets' embeddings settling) */
static int	probe_epochs = 0;	/* --probe epochs: the objectives' response */
static int	probe_more = 5;		/* --probe-epochs: epochs trained after */
static int	zo_epochs = 0;		/* --zo epochs: the zeroth-order signal */
static int	zo_n = 12;			/* --zo E:n: directions per seed */
static int	zo_more = 5;		/* --zo E:n:k: epochs trained per side */
static float zo_eps = 1.0f;		/* --zo E:n:k:eps: the perturbation's norm */
static bool zo_all = false;		/* --zo-all: directions over all of phi */
static bool upper_zo = false;	/* --upper-zo: the zeroth-order upper step */
static int	uzo_n = -1,			/* --upper-zo n[:every[:k[:eps[:step]]]]; */
			uzo_every = -1,		/* -1: biao.h's defaults */
			uzo_k = -1;
static float uzo_eps = -1.0f,
			uzo_step = -1.0f;
static int	uzo_plateau = -1;	/* --zo-plateau p; -1: biao.h's default */
static int	uzo_directions = -1;	/* --zo-directions n; -1: biao.h's default */
static int	fixed_epochs = 0;	/* --fixed-epochs n: every source trains n
								 * epochs, no early stopping */
static int	source_patience = 0;	/* --patience n: every source's early
									 * stopping patience; 0: train.h's */
static bool no_snr = false;		/* --no-snr: skip the upper-signal table */
static uint64_t init_xor = 0;	/* --init-xor y: every source model's seed
								 * (initialisation and, as cfg.seed, training)
								 * xor y */
static int	plain_draws = 3;	/* --plain-draws k: the draws variant's training
								 * seeds besides plain's */
static int	plain_draw = 0;		/* the one training (plain's seed xor it) */

/*
 * The report's upper-signal table: one upper step's signal and noise
 * (measure_snr) after 10 epochs of plain training, per seed, for the
 * averaging settings below (developing batches, source batches)
 */
#define N_SNR 3
static const int snr_cfg[N_SNR][2] = {{1, 1}, {8, 1}, {1, 8}};
static double snr_sig[N_SNR][MAX_SEEDS],
			snr_sd[N_SNR][MAX_SEEDS];

typedef struct source_run
{
	double		seconds;
	int			epochs;
	double		valid;			/* source validation MRR */
	int			n_upper;
	double		dev_first;
	double		dev_last;
	double		upper_seconds;
	double		trained_w[2];	/* mean weight trained with, mode 0 / 1 */
	double		dev_fresh;		/* L_dev of the trained modules (fresh_dev) */
	double		dev_drr;		/* ... after the targets' residuals too */
	double		direct;			/* summed test MRR of Direct (embeddings
								 * fitted under the frozen modules) */
} source_run;

static source_run srun[N_SRC][MAX_SEEDS];
static double mrr[N_SRC][N_ADAPT][MAX_TGT][MAX_SEEDS];
static int	auto_kept[N_SRC][MAX_TGT][MAX_SEEDS];
/*
 * the targets alone (target-only, no source), per target and seed: how much
 * the source is worth to them at all, the room any source training has
 */
static double target_only[MAX_TGT][MAX_SEEDS];
/*
 * mean weight (n_pos w: 1 is plain) per context value, BIAO, per seed: by
 * the codes ctx_a (ctx_na values) and ctx_b (ctx_nb; -1: none) of the rows
 */
#define MAX_CTX 64
static double wmean[MAX_CTX][2][MAX_SEEDS];
/*
 * the spread of BIAO's final weights (n_pos w) over the source's training
 * positives, per seed: sd, the mean of the lowest and of the highest 1%, and
 * the share of rows outside [0.9, 1.1] (weights_by_context)
 */
static double wsd[MAX_SEEDS],
			wbot[MAX_SEEDS],
			wtop[MAX_SEEDS],
			wout[MAX_SEEDS];
/* BIAO's L_dev before each upper step, per seed (at most MAX_DEV kept) */
#define MAX_DEV 4096
static double *dev_trace[MAX_SEEDS];
static int	n_dev_trace[MAX_SEEDS];
static int	ctx_a,
			ctx_na,
			ctx_b,
			ctx_nb;
static bool real_mode;			/* the world is a real view */
static int	ctx_f;				/* real views: ctx_a's feature (its index) */
static int	code_weight_k = -1;	/* --code-weight k:w: on a real view, the
								 * oracle variant weighs the rows of code k of
								 * the first interaction feature w (-1: no
								 * oracle there) */
static float code_weight_w = 0.0f;
static int	figure_f = -1;		/* --figure-feature f: on a real view, the
								 * mean weight per value of feature f (any
								 * categorical; -1: the first interaction
								 * feature) */
static int	code_weight_f = -1;	/* --code-weight k:w:f: feature f's code k
								 * (-1: the first interaction feature) */
static char real_ctx_name[64];
static const real_view *real_cur;	/* the real view being run (its names) */
/*
 * real views: Figure 3 for every categorical interaction feature, the mean
 * n_pos w of the rows showing each of its values (wfeat, per seed) and how
 * many rows show it (wfeat_rows, the last seed's count: every seed weighs
 * the same rows)
 */
static double wfeat[REAL_MAX_FEATURES][MAX_CTX][MAX_SEEDS];
static int64_t wfeat_rows[REAL_MAX_FEATURES][MAX_CTX];
static int64_t wfeat_total;
static double wnone[MAX_SEEDS];	/* the rows showing no interaction value */
static int64_t wnone_rows;

static double
mean_of(const double *v, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s / n;
}

static double
sd_of(const double *v, int n)
{
	double		m = mean_of(v, n),
				s = 0.0;

	for (int i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return n > 1 ? sqrt(s / (n - 1)) : 0.0;
}

/*
 * The relative gain of x over base, %: higher is better for MRR, lower for
 * RMSE, so a positive gain is always an improvement
 */
static double
gain_pct(double x, double base)
{
	return 100.0 * (explicit_mode ? 1.0 - x / base : x / base - 1.0);
}

static xd_model *
new_model(const xd_dataset *src, uint64_t seed)
{
	xd_config	cfg;
	xd_rng		rng;
	xd_model   *model;

	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &src->enc.schema);
	cfg.d = full ? 32 : 16;
	cfg.batch_size = 128;
	seed ^= init_xor;
	cfg.seed = seed;
	cfg.feedback = src->has_ratings ? XD_EXPLICIT : XD_IMPLICIT;
	xd_rng_seed(&rng, seed);
	CHECK(xd_model_create(&cfg, src->n_users, src->n_items, (float) src->rating_mean, &rng,
						  &model));
	return model;
}

/* wsd, wbot, wtop, wout of seed s from its n weights w (sorted here) */
static void
weight_spread(double *w, int64_t n, int s)
{
	int64_t		tail = n / 100 > 0 ? n / 100 : 1;
	double		lo = 0.0,
				hi = 0.0,
				out = 0.0;

	wsd[s] = wbot[s] = wtop[s] = wout[s] = NAN;
	if (n < 2)
		return;
	qsort(w, n, sizeof(double), cmp_double);
	for (int64_t i = 0; i < tail; i++)
	{
		lo += w[i] / tail;
		hi += w[n - 1 - i] / tail;
	}
	for (int64_t i = 0; i < n; i++)
		out += (w[i] < 0.9 || w[i] > 1.1) ? 1.0 / n : 0.0;
	wsd[s] = sd_of(w, (int) n);
	wbot[s] = lo;
	wtop[s] = hi;
	wout[s] = out;
}

/* the mean of n_pos w per context value over the source's training positives */
static void
weights_by_context(xd_biao *bi, xd_model *model, const xd_dataset *src, int s)
{
	int64_t    *rows = NULL;
	int64_t		n = 0;
	int			P = model->cfg.batch_size;
	xd_batch	b = {0};
	float	   *w = malloc(sizeof(float) * P);
	double	   *all;
	int64_t		n_all = 0;
	double		sum[MAX_CTX][2] = {{0}};
	int64_t		cnt[MAX_CTX][2] = {{0}};
	static double fsum[REAL_MAX_FEATURES][MAX_CTX];
	double		nsum = 0.0;
	int			nc = src->enc.schema.n_codes;
	const xd_schema *sc = &src->enc.schema;
	xd_rng		rng;

	xd_rng_seed(&rng, 1);
	CHECK(w ? XD_OK : XD_ENOMEM);
	CHECK(xd_train_rows(src, &rows, &n));
	all = malloc(sizeof(double) * (n > 0 ? n : 1));
	CHECK(all ? XD_OK : XD_ENOMEM);
	CHECK(xd_batch_init(&b, 3 * P, src->enc.schema.m));
	xd_shuffle_rows(rows, n, &rng);
	memset(fsum, 0, sizeof(fsum));
	memset(wfeat_rows, 0, sizeof(wfeat_rows));
	wnone_rows = 0;
	for (int64_t at = 0; at + P <= n; at += P)
	{
		CHECK(xd_sample_batch(src, rows + at, P, &rng, &b));
		CHECK(xd_biao_weights(bi, model, &b, w));
		for (int j = 0; j < P; j++)
			all[n_all++] = (double) P * w[j];
		/* every categorical interaction feature: the set slot of its one-hot block */
		for (int j = 0; real_mode && j < P; j++)
		{
			bool		shown = false;

			for (int i = 0; i < sc->n_features && i < REAL_MAX_FEATURES; i++)
			{
				const xd_feature *ft = &sc->features[i];

				if (ft->scope != XD_SCOPE_INTERACTION || ft->type != XD_TYPE_CATEGORICAL)
					continue;
				for (int k = 0; k < ft->width && k < MAX_CTX; k++)
					if (b.c[(size_t) j * b.m + ft->offset + k] > 0.5f)
					{
						fsum[i][k] += (double) P * w[j];
						wfeat_rows[i][k]++;
						shown = true;
					}
			}
			if (!shown)
			{
				nsum += (double) P * w[j];
				wnone_rows++;
			}
		}
		for (int j = 0; j < P; j++)
		{
			int			a = src->codes[rows[at + j] * nc + ctx_a];

			if (figure_f >= 0)
			{
				/* the set slot of feature figure_f's one-hot block in c */
				const xd_feature *ft = &src->enc.schema.features[figure_f];

				a = -1;
				for (int k = 0; k < ft->width; k++)
					if (b.c[(size_t) j * b.m + ft->offset + k] > 0.5f)
						a = k;
			}
			int			k = ctx_b >= 0 ? src->codes[rows[at + j] * nc + ctx_b] : 0;

			if (a >= 0 && a < MAX_CTX && k >= 0 && k < 2)
			{
				sum[a][k] += (double) P * w[j];
				cnt[a][k]++;
			}
		}
	}
	for (int h = 0; h < MAX_CTX; h++)
		for (int k = 0; k < 2; k++)
			wmean[h][k][s] = cnt[h][k] ? sum[h][k] / cnt[h][k] : NAN;
	for (int i = 0; i < REAL_MAX_FEATURES; i++)
		for (int k = 0; k < MAX_CTX; k++)
			wfeat[i][k][s] = wfeat_rows[i][k] ? fsum[i][k] / wfeat_rows[i][k] : NAN;
	wfeat_total = n_all;
	wnone[s] = wnone_rows ? nsum / wnone_rows : NAN;
	weight_spread(all, n_all, s);
	xd_batch_free(&b);
	free(all);
	free(rows);
	free(w);
}

/*
 * The oracle's weigh hook: the rows whose context has slot (an index in c)
 * set weigh w against 1 for the others, scaled so that the batch's weights
 * still average 1. In the synthetic world slot is mode 1's and w 0 (the
 * foreign rows dropped): what perfect weighting could gain there. On a real
 * view (--code-weight k:w) slot is code k of the first interaction feature:
 * what a weighting by that context value, the family the zeroth-order step
 * moves in, can gain at most.
 */
typedef struct oracle_arg
{
	int			slot;
	float		w;
} oracle_arg;

static xd_status
oracle_weigh(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	const oracle_arg *oa = arg;
	int			P = b->n_pos;
	double		total = 0.0;

	(void) step;
	for (int j = 0; j < P; j++)
		total += b->c[(size_t) j * b->m + oa->slot] > 0.5f ? oa->w : 1.0f;
	for (int j = 0; j < P; j++)
	{
		float		w = b->c[(size_t) j * b->m + oa->slot] > 0.5f ? oa->w : 1.0f;

		w = total > 0.0 ? (float) (w * P / total) : 1.0f;
		b->weights[j] = w;
		if (model->cfg.feedback == XD_IMPLICIT)
			b->weights[P + j] = b->weights[2 * P + j] = w;
	}
	return XD_OK;
}

/* the source's rows in the synthetic world */
static int64_t
synthetic_src_rows(void)
{
	return src_rows > 0 ? src_rows : full ? 60000 : 20000;
}

/* whether variant v runs: plain always, the others as --only says */
static bool
ran(int v)
{
	return v == S_PLAIN || (variants >> v & 1u);
}

/* --only's list (of variant_key's) as bits */
static bool
parse_variants(const char *list)
{
	char		buf[256];

	variants = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
	{
		int			v = 0;

		while (v < N_SRC && strcmp(tok, variant_key[v]) != 0)
			v++;
		if (v == N_SRC)
			return false;
		variants |= 1u << v;
	}
	return true;
}

/*
 * BIAO's weigh hook, counting the weights the lower level trained with
 * after the first upper step, by the mode shown (synthetic world: slot is
 * the mode 1 slot's index in c; real views: -1, not counted)
 */
typedef struct tracked
{
	xd_biao    *bi;
	int			slot;
	double		sum[2];
	int64_t		cnt[2];
	int64_t		first_upper;	/* the step after the first upper step (-1) */
	int64_t		steps;			/* steps seen */
} tracked;

static xd_status
tracked_weigh(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	tracked    *t = arg;
	xd_biao_stats st;
	xd_status	rc = xd_biao_weigh(t->bi, model, b, step);

	xd_biao_get_stats(t->bi, &st);
	t->steps = step + 1;
	if (st.n_upper > 0 && t->first_upper < 0)
		t->first_upper = step;
	if (rc != XD_OK || t->slot < 0 || st.n_upper == 0)
		return rc;
	for (int j = 0; j < b->n_pos; j++)
	{
		int			k = b->c[(size_t) j * b->m + t->slot] > 0.5f;

		t->sum[k] += b->weights[j];
		t->cnt[k]++;
	}
	return rc;
}

/* biao.h's options for variant v on seed s, as the command line set them */
static void
biao_opts_of(int v, int s, xd_biao_opts *bo)
{
	xd_biao_opts_default(bo);
	if (opt_interval > 0)
		bo->interval = opt_interval;
	if (opt_neumann >= 0)
		bo->neumann_terms = opt_neumann;
	if (opt_alpha > 0.0f)
		bo->neumann_alpha = opt_alpha;
	if (opt_warmup >= 0)
		bo->warmup_epochs = opt_warmup;
	if (opt_upper_lr >= 0.0f)
		bo->upper_lr = opt_upper_lr;
	if (opt_refit_steps >= 0)
		bo->refit_steps = opt_refit_steps;
	bo->refit_fresh = opt_refit_fresh;
	bo->dev_fit = opt_dev_fit;
	if (opt_dev_batches > 0)
		bo->dev_batches = opt_dev_batches;
	if (opt_source_batches > 0)
		bo->source_batches = opt_source_batches;
	if (upper_zo)
	{
		bo->upper = XD_BIAO_UPPER_ZO;
		if (uzo_n >= 0)
			bo->zo_estimates = uzo_n;
		if (uzo_every > 0)
			bo->zo_every = uzo_every;
		if (uzo_k > 0)
			bo->zo_epochs = uzo_k;
		if (uzo_eps > 0.0f)
			bo->zo_eps = uzo_eps;
		if (uzo_step >= 0.0f)
			bo->zo_step = uzo_step;
		if (uzo_plateau >= 0)
			bo->zo_plateau = uzo_plateau;
		if (uzo_directions > 0)
			bo->zo_directions = uzo_directions;
	}
	/* the control: the same run, its perceptron never moving */
	if (v == S_FROZEN)
		bo->upper_lr = bo->zo_step = 0.0f;
	bo->seed = 7 + seed_offset + s;
	bo->use_global = v != S_NOGLOBAL;
	bo->use_local = v != S_NOLOCAL;
	bo->heldout_dev = v == S_HELDOUT;
}

/* the source model of variant v, trained to early stopping */
static xd_model *
train_source(int v, int s, const xd_dataset *src, xd_dataset *const *tgt)
{
	xd_model   *model = new_model(src, 1000 + seed_offset + s);
	xd_train_opts o;
	xd_train_result res;
	xd_biao    *bi = NULL;
	tracked		tr = {.first_upper = -1};
	source_run *r = &srun[v][s];
	double		t0 = cpu_now();
	/* the slot of mode 1 in c: the mode feature's one-hot block, second slot */
	int			slot = src->enc.schema.features[1].offset + 1;
	oracle_arg	oa;

	xd_train_opts_default(&o, &model->cfg);
	if (fixed_epochs > 0)
	{
		o.fixed_epochs = true;
		o.max_epochs = fixed_epochs;
	}
	if (source_patience > 0)
		o.patience = source_patience;
	if (v == S_ORACLE)
	{
		oa.slot = real_mode ? src->enc.schema.features[code_weight_f >= 0 ? code_weight_f : ctx_f].offset +
			code_weight_k : slot;
		oa.w = real_mode ? code_weight_w : 0.0f;
		o.weigh = oracle_weigh;
		o.weigh_arg = &oa;
	}
	else if (v == S_SCHED)
	{
		xd_biao_opts bo;

		/*
		 * Plain training (no hook: uniform weights, no perceptron, no upper
		 * step) stopped as the control is: what its schedule alone gains
		 */
		biao_opts_of(v, s, &bo);
		o.first_kept_epoch = xd_biao_first_kept_epoch(&bo);
	}
	else if (v == S_DRAWS)
	{
		/*
		 * Plain training from the same initialisation, other shuffles,
		 * negatives, dropout and validation subsample (run_plain_draws)
		 */
		o.seed ^= (uint64_t) plain_draw;
	}
	else if (v != S_PLAIN)
	{
		xd_biao_opts bo;

		biao_opts_of(v, s, &bo);
		CHECK(xd_biao_new(&bo, model, src, (const xd_dataset *const *) tgt, n_tgt, &bi));
		tr.bi = bi;
		tr.slot = real_mode ? -1 : slot;
		o.weigh = tracked_weigh;
		o.weigh_arg = &tr;
		o.hooks.progress = xd_biao_epoch;	/* zo_plateau */
		o.hooks.progress_arg = bi;
		/* as the product: early stopping keeps no epoch before the last ZO step */
		o.first_kept_epoch = xd_biao_first_kept_epoch(&bo);
	}
	CHECK(xd_train(model, src, &o, &res));
	r->seconds = cpu_now() - t0;
	r->epochs = res.epochs;
	r->valid = res.best_metric;	/* MRR, or RMSE (explicit) */
	if (bi)
	{
		xd_biao_stats st;

		xd_biao_get_stats(bi, &st);
		r->n_upper = st.n_upper;
		r->dev_first = st.n_upper ? st.dev_loss[0] : NAN;
		r->dev_last = st.n_upper ? st.dev_loss[st.n_upper - 1] : NAN;
		r->upper_seconds = st.upper_seconds;
		for (int k = 0; k < 2; k++)
			r->trained_w[k] = tr.cnt[k] ? tr.sum[k] / tr.cnt[k] : NAN;
		if (v == S_BIAO)
		{
			weights_by_context(bi, model, src, s);
			n_dev_trace[s] = st.n_upper < MAX_DEV ? st.n_upper : MAX_DEV;
			free(dev_trace[s]);
			dev_trace[s] = malloc(sizeof(double) * (n_dev_trace[s] + 1));
			CHECK(dev_trace[s] ? XD_OK : XD_ENOMEM);
			memcpy(dev_trace[s], st.dev_loss, sizeof(double) * n_dev_trace[s]);
			fprintf(stderr, "seed %d BIAO weights: sd %.4f, lowest 1%% %.3f, highest 1%% %.3f, "
					"outside [0.9, 1.1] %.1f%%; L_dev per upper step:", s, wsd[s], wbot[s],
					wtop[s], 100.0 * wout[s]);
			for (int k = 0; k < n_dev_trace[s]; k++)
				fprintf(stderr, " %.4f", dev_trace[s][k]);
			fprintf(stderr, "\n");
		}
		xd_biao_free(bi);
	}
	/* the model kept is the best epoch's: upper steps after it changed nothing kept */
	fprintf(stderr, "seed %d %s: %d epochs (best %d, none kept before %d, first upper step "
			"in epoch %.0f), valid %s %.4f on %lld positives (split %lld rows), %.1f s, "
			"%d upper steps\n",
			s, src_label[v], r->epochs, res.best_epoch, o.first_kept_epoch,
			tr.first_upper < 0 ? NAN : 1.0 + floor((double) tr.first_upper * r->epochs / tr.steps),
			metric, r->valid, (long long) res.n_valid, (long long) src->n_split[XD_SPLIT_VALID],
			r->seconds, r->n_upper);
	return model;
}

#define SNR_REF 8				/* reference batches of the weight gap */

/* the gap: mean n_pos w of the mode 1 rows minus the mode 0 rows' */
static double
weight_gap(xd_biao *bi, xd_model *model, xd_batch *ref, int slot, float *w)
{
	double		sum[2] = {0},
				cnt[2] = {0};

	for (int r = 0; r < SNR_REF; r++)
	{
		CHECK(xd_biao_weights(bi, model, &ref[r], w));
		for (int j = 0; j < ref[r].n_pos; j++)
		{
			int			k = ref[r].c[(size_t) j * ref[r].m + slot] > 0.5f;

			sum[k] += (double) ref[r].n_pos * w[j];
			cnt[k]++;
		}
	}
	return sum[1] / cnt[1] - sum[0] / cnt[0];
}

/*
 * The weight gap's reference batches: the first SNR_REF batches of P
 * positives of the source's training rows in a shuffle of rng; *rows (the
 * shuffle, the caller frees) and *n for the caller's further batches.
 */
static void
ref_batches(const xd_dataset *src, int P, xd_rng *rng, xd_batch *ref, int64_t **rows, int64_t *n)
{
	CHECK(xd_train_rows(src, rows, n));
	xd_shuffle_rows(*rows, *n, rng);
	CHECK(*n >= (int64_t) (SNR_REF + 1) * P ? XD_OK : XD_EINVAL);
	for (int r = 0; r < SNR_REF; r++)
	{
		CHECK(xd_batch_init(&ref[r], 3 * P, src->enc.schema.m));
		CHECK(xd_sample_batch(src, *rows + (int64_t) r * P, P, rng, &ref[r]));
	}
}

/*
 * --snr E: the upper level's signal against its noise at a fixed source
 * state (plain training for E epochs), with the command line's BIAO
 * options: snr_n hypergradients g (xd_biao_hypergrad, phi not moved), each
 * one's rate of change of the foreign/shared weight gap G along the step
 * -g, s = grad G . g (central differences in phi over SNR_REF reference
 * batches; s > 0: the step lowers the foreign rows' weights). Prints mean
 * s, its sd and their ratio (the signal-to-noise of one upper step) per
 * seed.
 */
static void
measure_snr(int s, const xd_dataset *src, xd_dataset *const *tgt, int epochs, int dev_b,
			int src_b, double *signal, double *noise)
{
	xd_model   *model = new_model(src, 1000 + seed_offset + s);
	int			slot = src->enc.schema.features[1].offset + 1;
	int			P = model->cfg.batch_size;
	xd_train_opts o;
	xd_train_result res;
	xd_biao_opts bo;
	xd_biao    *bi = NULL;
	xd_batch	ref[SNR_REF] = {{0}},
				b = {0};
	int64_t    *rows = NULL;
	int64_t		n = 0,
				at;
	float	   *w = malloc(sizeof(float) * P);
	float	   *g,
			   *phi,
			   *phi0;
	int			n_phi;
	double	   *sv = malloc(sizeof(double) * snr_n);
	double		t0;
	int			agree = 0;
	xd_rng		rng;

	CHECK(w && sv ? XD_OK : XD_ENOMEM);
	xd_train_opts_default(&o, &model->cfg);
	o.fixed_epochs = true;
	o.max_epochs = epochs;
	CHECK(xd_train(model, src, &o, &res));
	biao_opts_of(S_BIAO, s, &bo);
	if (dev_b > 0)
		bo.dev_batches = dev_b;
	if (src_b > 0)
		bo.source_batches = src_b;
	CHECK(xd_biao_new(&bo, model, src, (const xd_dataset *const *) tgt, n_tgt, &bi));
	phi = xd_biao_phi(bi, &n_phi);
	g = malloc(sizeof(float) * n_phi);
	phi0 = malloc(sizeof(float) * n_phi);
	CHECK(g && phi0 ? XD_OK : XD_ENOMEM);
	xd_rng_seed(&rng, 5 + s);
	ref_batches(src, P, &rng, ref, &rows, &n);
	CHECK(xd_batch_init(&b, 3 * P, src->enc.schema.m));
	at = (int64_t) SNR_REF *P;

	t0 = cpu_now();
	for (int i = -snr_burn; i < snr_n; i++)
	{
		double		gn = 0.0,
					eps,
					gp,
					gm;

		if (at + P > n)
			at = (int64_t) SNR_REF *P;
		CHECK(xd_sample_batch(src, rows + at, P, &rng, &b));
		at += P;
		CHECK(xd_biao_hypergrad(bi, model, &b, g, NULL));
		if (i < 0)
			continue;			/* the targets' embeddings settling */
		for (int k = 0; k < n_phi; k++)
			gn += (double) g[k] * g[k];
		eps = gn > 0.0 ? 1e-3 / sqrt(gn) : 0.0;
		memcpy(phi0, phi, sizeof(float) * n_phi);
		for (int k = 0; k < n_phi; k++)
			phi[k] = (float) (phi0[k] + eps * g[k]);
		gp = weight_gap(bi, model, ref, slot, w);
		for (int k = 0; k < n_phi; k++)
			phi[k] = (float) (phi0[k] - eps * g[k]);
		gm = weight_gap(bi, model, ref, slot, w);
		memcpy(phi, phi0, sizeof(float) * n_phi);
		sv[i] = eps > 0.0 ? (gp - gm) / (2.0 * eps) : 0.0;
		agree += sv[i] > 0.0;
	}
	printf("snr seed %d after %d epochs, dev_batches %d, source_batches %d, %d Neumann terms (alpha %g): "
		   "signal %.4g, sd %.4g, signal/noise per upper step %+.3f (z over %d %+.1f), "
		   "sign agrees in %d of %d, %.1f ms per estimate\n",
		   seed_offset + s, epochs, bo.dev_batches, bo.source_batches, bo.neumann_terms,
		   (double) bo.neumann_alpha,
		   mean_of(sv, snr_n), sd_of(sv, snr_n), mean_of(sv, snr_n) / sd_of(sv, snr_n), snr_n,
		   mean_of(sv, snr_n) / sd_of(sv, snr_n) * sqrt((double) snr_n), agree, snr_n,
		   1e3 * (cpu_now() - t0) / snr_n);
	fflush(stdout);
	*signal = mean_of(sv, snr_n);
	*noise = sd_of(sv, snr_n);
	for (int r = 0; r < SNR_REF; r++)
		xd_batch_free(&ref[r]);
	xd_batch_free(&b);
	xd_biao_free(bi);
	xd_model_free(model);
	free(rows);
	free(w);
	free(g);
	free(phi0);
	free(sv);
}

/*
 * L_dev on a trained source: the mean developing loss of the targets
 * fitted afresh (100 Adam steps) under its frozen shared modules, 8
 * developing batches per target, 3 draws; their embeddings alone (fit
 * XD_BIAO_DEV_DIRECT) or with DRR's residuals (XD_BIAO_DEV_DRR).
 */
/*
 * A target's test metric under an adapted model: MRR on the sampled
 * protocol, or RMSE (explicit)
 */
static double
test_metric(const xd_dataset *tgt, xd_transfer_result *r)
{
	xd_eval_opts ev;
	xd_rank_metrics rm;
	xd_rating_metrics rt;

	xd_eval_opts_default(&ev);
	if (explicit_mode)
	{
		CHECK(xd_eval_ratings(tgt, XD_SPLIT_TEST, &ev, xd_transfer_score, r, &rt));
		return rt.rmse;
	}
	CHECK(xd_eval_sampled(tgt, XD_SPLIT_TEST, &ev, xd_transfer_score, r, &rm));
	return rm.mrr;
}

static double
fresh_dev(int s, int fit, xd_model *model, const xd_dataset *src, xd_dataset *const *tgt)
{
	xd_biao_opts bo;
	xd_biao    *bi;
	xd_batch	b = {0};
	int64_t    *rows = NULL;
	int64_t		n;
	double		l,
				out = 0.0;
	xd_rng		rng;
	float	   *g = malloc(sizeof(float) * xd_biao_phi_size(model->cfg.d, model->cfg.m));

	CHECK(g ? XD_OK : XD_ENOMEM);
	CHECK(xd_train_rows(src, &rows, &n));
	CHECK(xd_batch_init(&b, 3 * model->cfg.batch_size, src->enc.schema.m));
	biao_opts_of(S_BIAO, s, &bo);
	bo.refit_fresh = true;
	bo.refit_steps = 100;
	bo.dev_batches = 8;
	bo.dev_fit = (xd_biao_dev_fit) fit;
	xd_rng_seed(&rng, 3);
	CHECK(xd_biao_new(&bo, model, src, (const xd_dataset *const *) tgt, n_tgt, &bi));
	CHECK(xd_sample_batch(src, rows, model->cfg.batch_size, &rng, &b));
	for (int k = 0; k < 3; k++)
	{
		CHECK(xd_biao_hypergrad(bi, model, &b, g, &l));
		out += l / 3.0;
	}
	xd_biao_free(bi);
	xd_batch_free(&b);
	free(rows);
	free(g);
	return out;
}

/*
 * BIAO's upper objective on a trained source: L_dev (fresh_dev), of the
 * embeddings alone and after DRR's residuals too;
 * and Direct's summed test MRR (the same embeddings-only fit, to
 * convergence). If the oracle's modules, which gain the most with DRR, do
 * not have the lowest L_dev, no descent on L_dev finds the oracle's weights.
 */
static void
upper_objective(int v, int s, xd_model *model, const xd_dataset *src, xd_dataset *const *tgt)
{
	source_run *r = &srun[v][s];

	r->dev_fresh = fresh_dev(s, XD_BIAO_DEV_DIRECT, model, src, tgt);
	r->dev_drr = fresh_dev(s, XD_BIAO_DEV_DRR, model, src, tgt);
	r->direct = 0.0;
	for (int t = 0; t < n_tgt; t++)
	{
		xd_transfer_opts to;
		xd_transfer_result tr;

		xd_transfer_opts_default(&to);
		to.method = XD_TRANSFER_DIRECT;
		to.seed = 3000 + seed_offset + s;
		if (!full)
			to.lr_search = 1;
		CHECK(xd_transfer(model->shared, NULL, tgt[t], &to, &tr));
		r->direct += test_metric(tgt[t], &tr);
		xd_transfer_result_free(&tr);
	}
	fprintf(stderr, "seed %d %s: L_dev %.4f, after DRR's residuals %.4f, Direct %.4f\n",
			s, src_label[v], r->dev_fresh, r->dev_drr, r->direct);
}

/* --probe's weigh hook: the foreign rows (mode 1) weigh share, the batch's mean 1 */
typedef struct share_arg
{
	int			slot;
	float		share;
} share_arg;

static xd_status
share_weigh(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	const share_arg *a = arg;
	int			P = b->n_pos;
	double		sum = 0.0;

	(void) step;
	for (int j = 0; j < P; j++)
		sum += b->c[(size_t) j * b->m + a->slot] < 0.5f ? 1.0 : a->share;
	for (int j = 0; j < P; j++)
	{
		double		w = b->c[(size_t) j * b->m + a->slot] < 0.5f ? 1.0 : a->share;

		b->weights[j] = sum > 0.0 ? (float) (w * P / sum) : 1.0f;
		if (model->cfg.feedback == XD_IMPLICIT)
			b->weights[P + j] = b->weights[2 * P + j] = b->weights[j];
	}
	return XD_OK;
}

/*
 * A copy of model trained `epochs` more epochs under the weigh hook given
 * (the same shuffles as every copy's)
 */
static xd_model *
trained_copy(xd_model *model, const xd_dataset *src, int epochs,
			 xd_status (*weigh) (void *, xd_model *, xd_batch *, int64_t), void *arg)
{
	xd_shared  *sh;
	xd_domain  *dom;
	xd_model   *copy;
	xd_train_opts o;
	xd_train_result res;

	CHECK(xd_shared_clone(model->shared, &sh));
	CHECK(xd_domain_clone(&model->cfg, model->domain, &dom));
	CHECK(xd_model_new(&model->cfg, sh, dom, true, true, &copy));
	xd_train_opts_default(&o, &copy->cfg);
	o.fixed_epochs = true;
	o.max_epochs = epochs;
	o.weigh = weigh;
	o.weigh_arg = arg;
	CHECK(xd_train(copy, src, &o, &res));
	return copy;
}

/*
 * --probe E: does the upper objective reward weighing the foreign rows down
 * over a horizon of a few epochs? From plain training for E epochs, copies
 * of the model train probe_more more epochs with the foreign rows weighted
 * 1 (plain), 0.5 and 0 (the oracle), the same shuffles; upper_objective
 * measures each (L_dev of the embeddings alone and after DRR's residuals,
 * Direct's test MRR), printed on stderr.
 */
static void
probe_objective(int s, const xd_dataset *src, xd_dataset *const *tgt)
{
	static const float shares[] = {1.0f, 0.5f, 0.0f};
	xd_model   *model = new_model(src, 1000 + seed_offset + s);
	share_arg	sa = {src->enc.schema.features[1].offset + 1, 1.0f};
	xd_train_opts o;
	xd_train_result res;

	xd_train_opts_default(&o, &model->cfg);
	o.fixed_epochs = true;
	o.max_epochs = probe_epochs;
	CHECK(xd_train(model, src, &o, &res));
	for (int k = 0; k < 3; k++)
	{
		xd_model   *copy;

		sa.share = shares[k];
		copy = trained_copy(model, src, probe_more, share_weigh, &sa);
		fprintf(stderr, "probe seed %d after %d + %d epochs, foreign rows weighted %.1f: ",
				seed_offset + s, probe_epochs, probe_more, shares[k]);
		upper_objective(S_PLAIN, s, copy, src, tgt);
		xd_model_free(copy);
	}
	xd_model_free(model);
}

/*
 * --zo E: the zeroth-order upper signal. From plain training for E epochs
 * (--snr's state), zo_n random unit directions u over a block of phi (the
 * global term's slopes on the context output x, m entries; --zo-all: all
 * of phi); for each, copies of the model train zo_more more epochs with
 * the perceptron frozen at phi0 + eps u and at phi0 - eps u (the same
 * shuffles), and fresh_dev (DRR) measures both: the estimate
 * g = (L+ - L-) / (2 eps) u. It agrees with the true direction (the
 * foreign rows down, toward the oracle's weights) when the step -g lowers
 * the foreign/shared weight gap G at the base state: s = grad G . g > 0,
 * as --snr's s. Prints each direction on stderr, and per seed the
 * sign-agreement rate, mean(s) / sd(s), the CPU of one estimate in
 * plain epochs, and how many estimates the 3x bound leaves room for (twice
 * the CPU of plain training to early stopping, one more model trained
 * first) on stdout.
 */
static void
measure_zo(int s, const xd_dataset *src, xd_dataset *const *tgt)
{
	xd_model   *model = new_model(src, 1000 + seed_offset + s);
	xd_model   *plain = new_model(src, 1000 + seed_offset + s);
	int			slot = src->enc.schema.features[1].offset + 1;
	int			P = model->cfg.batch_size;
	int			d = model->cfg.d;
	int			plain_epochs;
	xd_train_opts o;
	xd_train_result res;
	xd_biao_opts bo;
	xd_biao    *bi = NULL;
	xd_batch	ref[SNR_REF] = {{0}};
	int64_t    *rows = NULL;
	int64_t		n = 0;
	float	   *w = malloc(sizeof(float) * P);
	float	   *phi,
			   *phi0,
			   *u;
	int			n_phi,
				lo,
				hi,
				agree = 0;
	double	   *sv = malloc(sizeof(double) * zo_n);
	double		t0,
				t_epoch,
				t_plain,
				t_est = 0.0,
				t_dev = 0.0;
	xd_rng		rng;

	CHECK(w && sv ? XD_OK : XD_ENOMEM);
	/* the budget: plain training to early stopping, as the report's cost */
	t0 = cpu_now();
	xd_train_opts_default(&o, &plain->cfg);
	CHECK(xd_train(plain, src, &o, &res));
	t_plain = cpu_now() - t0;
	plain_epochs = res.epochs;
	xd_model_free(plain);
	xd_train_opts_default(&o, &model->cfg);
	o.fixed_epochs = true;
	o.max_epochs = zo_epochs;
	t0 = cpu_now();
	CHECK(xd_train(model, src, &o, &res));
	t_epoch = (cpu_now() - t0) / zo_epochs;
	biao_opts_of(S_BIAO, s, &bo);
	bo.warmup_epochs = 1 << 30; /* the lower copies: no upper step */
	CHECK(xd_biao_new(&bo, model, src, (const xd_dataset *const *) tgt, n_tgt, &bi));
	phi = xd_biao_phi(bi, &n_phi);
	phi0 = malloc(sizeof(float) * n_phi);
	u = calloc(n_phi, sizeof(float));
	CHECK(phi0 && u ? XD_OK : XD_ENOMEM);
	memcpy(phi0, phi, sizeof(float) * n_phi);
	lo = zo_all ? 0 : d;
	hi = zo_all ? n_phi : d + model->cfg.m;
	xd_rng_seed(&rng, 5 + s);
	ref_batches(src, P, &rng, ref, &rows, &n);
	for (int i = 0; i < zo_n; i++)
	{
		double		nu = 0.0,
					dg,
					gap[2],
					l[2];

		for (int k = lo; k < hi; k++)
		{
			u[k] = (float) xd_rng_normal(&rng);
			nu += (double) u[k] * u[k];
		}
		for (int k = lo; k < hi; k++)
			u[k] = (float) (u[k] / sqrt(nu));
		for (int k = 0; k < n_phi; k++)
			phi[k] = phi0[k] + 1e-3f * u[k];
		dg = weight_gap(bi, model, ref, slot, w);
		for (int k = 0; k < n_phi; k++)
			phi[k] = phi0[k] - 1e-3f * u[k];
		dg = (dg - weight_gap(bi, model, ref, slot, w)) / 2e-3;
		t0 = cpu_now();
		for (int pm = 0; pm < 2; pm++)
		{
			xd_model   *copy;
			double		t1;

			for (int k = 0; k < n_phi; k++)
				phi[k] = phi0[k] + (pm == 0 ? zo_eps : -zo_eps) * u[k];
			gap[pm] = weight_gap(bi, model, ref, slot, w);
			copy = trained_copy(model, src, zo_more, xd_biao_weigh, bi);
			t1 = cpu_now();
			l[pm] = fresh_dev(s, XD_BIAO_DEV_DRR, copy, src, tgt);
			t_dev += cpu_now() - t1;
			xd_model_free(copy);
		}
		t_est += cpu_now() - t0;
		memcpy(phi, phi0, sizeof(float) * n_phi);
		sv[i] = (l[0] - l[1]) / (2.0 * zo_eps) * dg;
		agree += sv[i] > 0.0;
		fprintf(stderr, "zo seed %d direction %d: L_dev (DRR) %.4f at +eps, %.4f at -eps; "
				"weight gap %+.3f / %+.3f, its slope along u %+.4f: s %+.5f\n",
				seed_offset + s, i, l[0], l[1], gap[0], gap[1], dg, sv[i]);
	}
	printf("zo seed %d after %d epochs, %d more per side, eps %g over %s: sign agrees in %d of %d, "
		   "signal/noise %+.3f (z %+.1f); one estimate %.2f s of CPU = %.1f plain epochs (%.3f s each), "
		   "of it L_dev %.2f s; plain training to early stopping %.2f s (%d epochs): "
		   "3x leaves room for %.1f estimates\n",
		   seed_offset + s, zo_epochs, zo_more, (double) zo_eps, zo_all ? "all of phi" : "w_G on x",
		   agree, zo_n, mean_of(sv, zo_n) / sd_of(sv, zo_n),
		   mean_of(sv, zo_n) / sd_of(sv, zo_n) * sqrt((double) zo_n), t_est / zo_n,
		   t_est / zo_n / t_epoch, t_epoch, t_dev / zo_n, t_plain, plain_epochs,
		   2.0 * t_plain / (t_est / zo_n));
	fflush(stdout);
	for (int r = 0; r < SNR_REF; r++)
		xd_batch_free(&ref[r]);
	xd_biao_free(bi);
	xd_model_free(model);
	free(rows);
	free(w);
	free(phi0);
	free(u);
	free(sv);
}

static void
adapt(int v, int s, xd_model *model, const xd_dataset *src, xd_dataset *const *tgt)
{
	xd_dist_encoder_opts eo;
	xd_dist_encoder_report rep;
	xd_dist_encoders *enc = NULL;

	xd_dist_encoder_opts_default(&eo);
	eo.seed = 2000 + seed_offset + s;
	CHECK(xd_dist_encoders_train(model, src, &eo, &enc, &rep));
	for (int t = 0; t < n_tgt; t++)
		for (int a = 0; a < N_ADAPT; a++)
		{
			xd_transfer_opts o;
			xd_transfer_result r;

			xd_transfer_opts_default(&o);
			o.method = a == A_DRR ? XD_TRANSFER_DRR : XD_TRANSFER_AUTO;
			o.seed = 3000 + seed_offset + s;
			if (!full)
				o.lr_search = 1;
			CHECK(xd_transfer(model->shared, enc, tgt[t], &o, &r));
			mrr[v][a][t][s] = test_metric(tgt[t], &r);
			if (v == S_PLAIN && a == A_AUTO)
			{
				xd_transfer_result_free(&r);
				o.method = XD_TRANSFER_TARGET_ONLY;
				CHECK(xd_transfer(model->shared, NULL, tgt[t], &o, &r));
				target_only[t][s] = test_metric(tgt[t], &r);
			}
			if (a == A_AUTO)
				auto_kept[v][t][s] = r.method;
			xd_transfer_result_free(&r);
		}
	xd_dist_encoders_free(enc);
}

static double
summed(int v, int a, int s)
{
	double		x = 0.0;

	for (int t = 0; t < n_tgt; t++)
		x += mrr[v][a][t][s];
	return x;
}

/*
 * One run's numbers on stdout, tab-separated, for comparisons the report
 * does not make (best of k draws by validation, say):
 * "run", world, seed, variant key, epochs, source valid MRR, CPU seconds,
 * summed test MRR with auto, with DRR, then per target test MRR with
 * auto, with DRR
 */
static void
print_run(int v, int s)
{
	source_run *r = &srun[v][s];

	printf("run\t%s\t%d\t%s\t%d\t%.6f\t%.3f\t%.6f\t%.6f", real_mode ? "real" : "synthetic",
		   seed_offset + s, v == S_DRAWS && plain_draw > 0 ? "draw" : variant_key[v],
		   r->epochs, r->valid, r->seconds, summed(v, A_AUTO, s), summed(v, A_DRR, s));
	for (int t = 0; t < n_tgt; t++)
		printf("\t%.6f\t%.6f", mrr[v][A_AUTO][t][s], mrr[v][A_DRR][t][s]);
	printf("\n");
	fflush(stdout);
}

/*
 * The draws variant on seed s: plain training's mean over its own training
 * seed (plain's run, copied) and plain_draws others, every one from the
 * same initialisation; each draw's numbers on stdout (print_run, "draw")
 */
static void
run_plain_draws(int s, const xd_dataset *src, xd_dataset *const *tgt)
{
	source_run *r = &srun[S_DRAWS][s];
	int			n = plain_draws + 1;
	double		epochs = srun[S_PLAIN][s].epochs,
				seconds = srun[S_PLAIN][s].seconds,
				valid = srun[S_PLAIN][s].valid,
				sum[N_ADAPT][MAX_TGT];

	for (int a = 0; a < N_ADAPT; a++)
		for (int t = 0; t < n_tgt; t++)
			sum[a][t] = mrr[S_PLAIN][a][t][s];
	for (plain_draw = 1; plain_draw <= plain_draws; plain_draw++)
	{
		xd_model   *model = train_source(S_DRAWS, s, src, tgt);

		adapt(S_DRAWS, s, model, src, tgt);
		print_run(S_DRAWS, s);
		xd_model_free(model);
		epochs += r->epochs;
		seconds += r->seconds;
		valid += r->valid;
		for (int a = 0; a < N_ADAPT; a++)
			for (int t = 0; t < n_tgt; t++)
				sum[a][t] += mrr[S_DRAWS][a][t][s];
	}
	plain_draw = 0;
	memset(r, 0, sizeof(*r));
	r->seconds = seconds / n;
	r->valid = valid / n;
	r->epochs = (int) lround(epochs / n);
	r->dev_fresh = r->dev_drr = r->direct = NAN;
	for (int a = 0; a < N_ADAPT; a++)
		for (int t = 0; t < n_tgt; t++)
			mrr[S_DRAWS][a][t][s] = sum[a][t] / n;
}

static void
write_intro(FILE *f)
{
	xd_biao_opts bo;

	biao_opts_of(S_BIAO, 0, &bo);	/* the command line's */
	fprintf(f, "## Synthetic world\n\n"
			"The world (test/unit/fixture.h, `fx_biao_world`): interaction features hour (4 "
			"values) and mode. A row's item is of the hour's group (the shared rule) or, in "
			"mode 1, of the user's group whatever the hour or, %.0f%% of the mode 1 rows "
			"(the world's contradiction), of the opposite hour's group (a rule no target "
			"shares); one row in five is of a random group. Source: %d users, %d items, %d "
			"rows, %.0f%% of mode 1. %d targets of %d users, %d items, %d rows, of the shared "
			"rule only, %.0f%% of them showing mode 1 (where a source that learnt the foreign "
			"rule misleads them). Model d = %d, "
			"batch 128; every source trained to early stopping on its validation MRR "
			"(DESIGN's patience 10, at most 100 epochs) from the same initialisation per seed; "
			"BIAO with interval %d, %d Neumann terms, the first upper step after %d epochs "
			"and the other defaults of biao.h. Adaptation: DRR (encoders "
			"trained on each source) and auto, the default (target-only, Anneal, DRR), at "
			"lr_search %s. Test MRR on the sampled protocol (50 item + 50 context "
			"negatives).\n\n",
			100 * contradiction, full ? 1000 : 400, full ? 160 : 96, (int) synthetic_src_rows(),
			100 * foreign_share,
			n_tgt, full ? 200 : 100, 64, full ? 2000 : 1200, 100 * target_mode1, full ? 32 : 16,
			bo.interval, bo.neumann_terms, bo.warmup_epochs, full ? "3 (default)" : "1");
	if (upper_zo)
		fprintf(f, "Not the defaults: the zeroth-order upper step (`--upper-zo`, biao.h's "
				"XD_BIAO_UPPER_ZO): %d steps, one every %d epoch(s) from the warm-up or a "
				"plateau of %d epochs, each %d estimate(s) of two copies trained %d epochs at "
				"phi +- %g u, phi moved %g along their mean signed u; the control's move 0. "
				"The implicit settings above are unused.\n\n", bo.zo_estimates, bo.zo_every,
				bo.zo_plateau, bo.zo_directions, bo.zo_epochs,
				(double) bo.zo_eps, (double) bo.zo_step);
	if (fixed_epochs > 0)
		fprintf(f, "Not the defaults: every source trained exactly %d epochs (`--fixed-epochs`), "
				"no early stopping; the cost table's \"to early stopping\" reads \"to %d "
				"epochs\".\n\n", fixed_epochs, fixed_epochs);
	if (source_patience > 0)
		fprintf(f, "Not the defaults: every source stopped after %d epochs without improvement "
				"(`--patience`).\n\n", source_patience);
}

/*
 * Variant v against variant base, summed test MRR per adaptation: the gain
 * of the means (gain, %), per seed (rel, %; may be NULL), and the targets
 * worse than base beyond noise (paired difference below -2 se)
 */
static void
against(int v, int base, double *gain, double (*rel)[MAX_SEEDS], int *worse)
{
	for (int a = 0; a < N_ADAPT; a++)
	{
		double		x[MAX_SEEDS],
					c[MAX_SEEDS];

		for (int s = 0; s < n_seeds; s++)
		{
			x[s] = summed(v, a, s);
			c[s] = summed(base, a, s);
			if (rel)
				rel[a][s] = gain_pct(x[s], c[s]);
		}
		gain[a] = gain_pct(mean_of(x, n_seeds), mean_of(c, n_seeds));
		worse[a] = 0;
		for (int t = 0; t < n_tgt; t++)
		{
			double		d[MAX_SEEDS];

			for (int s = 0; s < n_seeds; s++)
				d[s] = mrr[v][a][t][s] - mrr[base][a][t][s];
			/* worse: MRR lower, RMSE higher */
			worse[a] += (explicit_mode ? -1.0 : 1.0) * mean_of(d, n_seeds) <
				-2.0 * sd_of(d, n_seeds) / sqrt((double) n_seeds);
		}
	}
}

/*
 * One line of the goals: variant v against variant base (against), with
 * the per-seed gains and their mean and standard error
 */
static void
write_against(FILE *f, int v, int base, const char *what)
{
	double		gain[N_ADAPT],
				rel[N_ADAPT][MAX_SEEDS];
	int			worse[N_ADAPT];

	against(v, base, gain, rel, worse);
	fprintf(f, "- %s against %s: %+.1f%% with auto, %+.1f%% with DRR.\n",
			src_label[v], what, gain[A_AUTO], gain[A_DRR]);
	/* the seeds' spread decides whether that gain is real or noise */
	fprintf(f, "  Per seed, relative, auto / DRR:");
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, " %+.1f%% / %+.1f%%%s", rel[A_AUTO][s], rel[A_DRR][s],
				s + 1 < n_seeds ? "," : ".");
	fprintf(f, " Mean of the per-seed gains (se): %+.1f%% (%.1f) with auto, "
			"%+.1f%% (%.1f) with DRR; targets worse beyond noise "
			"(paired difference %s 2 se): %d with auto, %d with DRR.\n",
			mean_of(rel[A_AUTO], n_seeds), sd_of(rel[A_AUTO], n_seeds) / sqrt((double) n_seeds),
			mean_of(rel[A_DRR], n_seeds), sd_of(rel[A_DRR], n_seeds) / sqrt((double) n_seeds),
			explicit_mode ? "above +" : "below -", worse[A_AUTO], worse[A_DRR]);
}

/*
 * How far BIAO's weights moved from plain training's (1 everywhere) and its
 * developing loss per upper step: if neither moves, the weights cannot
 * change what the targets get
 */
static void
write_spread(FILE *f)
{
	fprintf(f, "\n### How far the weights moved\n\n"
			"BIAO's final weights over the source's training positives (as above), per seed: "
			"their sd, the mean of the lowest and of the highest 1%%, the share outside "
			"[0.9, 1.1]; and L_dev before each upper step (the implicit step's: the first, "
			"then at each quarter, and the last; the zeroth-order step's: the mean of its two "
			"sides).\n\n"
			"| seed | sd | lowest 1%% | highest 1%% | outside [0.9, 1.1] | L_dev per upper step |\n"
			"|---|---|---|---|---|---|\n");
	for (int s = 0; s < n_seeds; s++)
	{
		int			n = n_dev_trace[s];

		fprintf(f, "| %d | %.3f | %.3f | %.3f | %.1f%% |", seed_offset + s, wsd[s], wbot[s],
				wtop[s], 100.0 * wout[s]);
		if (n <= 8)
			for (int k = 0; k < n; k++)
				fprintf(f, "%s%.4f", k ? " → " : " ", dev_trace[s][k]);
		else
			for (int q = 0; q <= 4; q++)
				fprintf(f, "%s%.4f", q ? " → " : " ", dev_trace[s][q * (n - 1) / 4]);
		fprintf(f, "%s |\n", n ? "" : " none");
	}
}

/*
 * Figure 3 on a real view for every categorical interaction feature: the
 * mean weight of the source's rows showing each value, and their share
 */
static void
write_feature_figure(FILE *f)
{
	const xd_schema *sc = &real_cur->ds[0]->enc.schema;

	fprintf(f, "\n### Mean weight per value of every interaction feature\n\n"
			"The same weights by each categorical interaction feature's value (a row "
			"missing the feature is in none of its values), mean over seeds (per seed in "
			"brackets), and the share of the %lld weighed rows showing it.\n\n"
			"| feature | value | rows | mean weight |\n|---|---|---|---|\n",
			(long long) wfeat_total);
	for (int i = 0; i < sc->n_features && i < REAL_MAX_FEATURES; i++)
	{
		const xd_feature *ft = &sc->features[i];

		if (ft->scope != XD_SCOPE_INTERACTION || ft->type != XD_TYPE_CATEGORICAL)
			continue;
		for (int k = 0; k < ft->width && k < MAX_CTX; k++)
		{
			if (wfeat_rows[i][k] == 0)
				continue;		/* a value the source's rows never show */
			fprintf(f, "| %s | %d | %.1f%% | %.3f [", real_cur->feature[i], k,
					100.0 * wfeat_rows[i][k] / (double) (wfeat_total > 0 ? wfeat_total : 1),
					mean_of(wfeat[i][k], n_seeds));
			for (int s = 0; s < n_seeds; s++)
				fprintf(f, "%s%.2f", s ? " " : "", wfeat[i][k][s]);
			fprintf(f, "] |\n");
		}
	}
	if (wnone_rows == 0)
		return;					/* every row shows some value */
	fprintf(f, "| (none: no interaction value) | | %.1f%% | %.3f [",
			100.0 * wnone_rows / (double) (wfeat_total > 0 ? wfeat_total : 1),
			mean_of(wnone, n_seeds));
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, "%s%.2f", s ? " " : "", wnone[s]);
	fprintf(f, "] |\n");
}

/* the tables of one world: summed and per-target MRR, cost, goals, weights */
static void
write_tables(FILE *f)
{
	double		plain_sec[MAX_SEEDS];
	int			n_src = real_mode && code_weight_k < 0 ? S_ORACLE : N_SRC;
	bool		has_biao = ran(S_BIAO);

	for (int s = 0; s < n_seeds; s++)
		plain_sec[s] = srun[S_PLAIN][s].seconds;

	fprintf(f, "### Summed test %s over the targets\n\n"
			"Mean over seeds (sd); the gain is against plain source training, relative%s.\n\n"
			"| source training | DRR | gain | auto | gain |\n|---|---|---|---|---|\n", metric,
			explicit_mode ? " (+ is a lower RMSE)" : "");
	for (int v = 0; v < n_src; v++)
	{
		if (!ran(v))
			continue;
		fprintf(f, "| %s |", src_label[v]);
		for (int a = 0; a < N_ADAPT; a++)
		{
			double		x[MAX_SEEDS],
						p[MAX_SEEDS];

			for (int s = 0; s < n_seeds; s++)
			{
				x[s] = summed(v, a, s);
				p[s] = summed(S_PLAIN, a, s);
			}
			fprintf(f, " %.4f (%.4f) |", mean_of(x, n_seeds), sd_of(x, n_seeds));
			if (v == S_PLAIN)
				fprintf(f, " |");
			else
				fprintf(f, " %+.1f%% |", gain_pct(mean_of(x, n_seeds), mean_of(p, n_seeds)));
		}
		fprintf(f, "\n");
	}

	{
		double		x[MAX_SEEDS],
					pd[MAX_SEEDS],
					pa[MAX_SEEDS];

		for (int s = 0; s < n_seeds; s++)
		{
			x[s] = 0.0;
			for (int t = 0; t < n_tgt; t++)
				x[s] += target_only[t][s];
			pd[s] = summed(S_PLAIN, A_DRR, s);
			pa[s] = summed(S_PLAIN, A_AUTO, s);
		}
		fprintf(f, "\nThe targets alone (target-only, no source, the same seeds): %.4f (%.4f); "
				"plain source training's DRR is %+.1f%% over it, auto %+.1f%%: what the source "
				"is worth to the targets at all.\n",
				mean_of(x, n_seeds), sd_of(x, n_seeds),
				gain_pct(mean_of(pd, n_seeds), mean_of(x, n_seeds)),
				gain_pct(mean_of(pa, n_seeds), mean_of(x, n_seeds)));
	}

	fprintf(f, "\n### Gain per seed\n\nSummed test %s over the targets against plain "
			"source training on the same seed, relative (+ is better), auto / DRR.\n\n"
			"| source training |", metric);
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, " seed %d |", seed_offset + s);
	fprintf(f, "\n|---|");
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (int v = 1; v < n_src; v++)
	{
		if (!ran(v))
			continue;
		fprintf(f, "| %s |", src_label[v]);
		for (int s = 0; s < n_seeds; s++)
			fprintf(f, " %+.1f%% / %+.1f%% |",
					gain_pct(summed(v, A_AUTO, s), summed(S_PLAIN, A_AUTO, s)),
					gain_pct(summed(v, A_DRR, s), summed(S_PLAIN, A_DRR, s)));
		fprintf(f, "\n");
	}
	if (!has_biao)
		return;

	fprintf(f, "\n### Per target\n\nTest %s, mean over seeds; the paired difference BIAO - "
			"plain with its standard error over seeds (sd / sqrt(%d))%s.\n\n"
			"| target | adaptation | plain | BIAO | difference (se) |\n|---|---|---|---|---|\n",
			metric, n_seeds, explicit_mode ? " (RMSE: a negative difference is better)" : "");
	for (int t = 0; t < n_tgt; t++)
		for (int a = 0; a < N_ADAPT; a++)
		{
			double		d[MAX_SEEDS];

			for (int s = 0; s < n_seeds; s++)
				d[s] = mrr[S_BIAO][a][t][s] - mrr[S_PLAIN][a][t][s];
			fprintf(f, "| %d | %s | %.4f | %.4f | %+.4f (%.4f) |\n", t + 1, adapt_label[a],
					mean_of(mrr[S_PLAIN][a][t], n_seeds), mean_of(mrr[S_BIAO][a][t], n_seeds),
					mean_of(d, n_seeds), sd_of(d, n_seeds) / sqrt((double) n_seeds));
		}
	fprintf(f, "\nauto kept (target-only 0, Anneal 2, DRR 3), per target and seed:");
	for (int v = S_PLAIN; v <= S_BIAO; v++)
	{
		fprintf(f, " %s", src_label[v]);
		for (int t = 0; t < n_tgt; t++)
		{
			fprintf(f, " [");
			for (int s = 0; s < n_seeds; s++)
				fprintf(f, "%s%d", s ? " " : "", auto_kept[v][t][s]);
			fprintf(f, "]");
		}
		fprintf(f, v == S_PLAIN ? ";" : ".\n");
	}

	fprintf(f, "\n### Source training cost\n\nCPU seconds to early stopping, mean over seeds; "
			"the ratio to plain training per seed, then averaged (goal: at most 3x).\n\n"
			"| source training | epochs | source valid %s | seconds | ratio | per epoch ratio | "
			"upper steps | upper seconds | L_dev first -> last |\n|---|---|---|---|---|---|---|---|---|\n",
			metric);
	for (int v = 0; v < n_src; v++)
	{
		double		ep[MAX_SEEDS],
					va[MAX_SEEDS],
					se[MAX_SEEDS],
					ra[MAX_SEEDS],
					pe[MAX_SEEDS],
					up[MAX_SEEDS],
					us[MAX_SEEDS],
					d0[MAX_SEEDS],
					d1[MAX_SEEDS];

		if (!ran(v))
			continue;
		for (int s = 0; s < n_seeds; s++)
		{
			source_run *r = &srun[v][s];

			ep[s] = r->epochs;
			va[s] = r->valid;
			se[s] = r->seconds;
			ra[s] = r->seconds / plain_sec[s];
			pe[s] = (r->seconds / r->epochs) / (plain_sec[s] / srun[S_PLAIN][s].epochs);
			up[s] = r->n_upper;
			us[s] = r->upper_seconds;
			d0[s] = r->dev_first;
			d1[s] = r->dev_last;
		}
		fprintf(f, "| %s | %.1f | %.4f | %.1f | %.2f | %.2f |", src_label[v],
				mean_of(ep, n_seeds), mean_of(va, n_seeds), mean_of(se, n_seeds),
				mean_of(ra, n_seeds), mean_of(pe, n_seeds));
		if (v == S_PLAIN || v == S_ORACLE || v == S_SCHED || v == S_DRAWS)
			fprintf(f, " | | |\n");
		else
			fprintf(f, " %.0f | %.1f | %.4f -> %.4f |\n", mean_of(up, n_seeds),
					mean_of(us, n_seeds), mean_of(d0, n_seeds), mean_of(d1, n_seeds));
	}

	fprintf(f, "\n### What the upper level optimises\n\n"
			"L_dev: the targets' developing loss (the squared loss the upper level descends) with "
			"their embeddings fitted afresh under the trained shared modules, frozen (100 Adam "
			"steps; 8 developing batches per target, 3 draws); after DRR's residuals: the same "
			"with the residuals fitted too (biao.h's dev_fit XD_BIAO_DEV_DRR, the loss after "
			"the target's own adaptation). Direct: the embeddings-only "
			"fit, to convergence, summed test %s. Lower L_dev is what BIAO's hypergradient "
			"seeks; if the modules that gain most with DRR do not have it, no descent on L_dev "
			"finds their weights. Mean over seeds (per seed in brackets).\n\n"
			"| source training | L_dev | L_dev after DRR's residuals | Direct summed test %s | Direct gain | DRR gain |\n"
			"|---|---|---|---|---|---|\n", metric, metric);
	for (int v = 0; v < n_src; v++)
	{
		double		dv[MAX_SEEDS],
					dr[MAX_SEEDS],
					di[MAX_SEEDS],
					dp[MAX_SEEDS],
					x[MAX_SEEDS],
					p[MAX_SEEDS];

		if (!ran(v) || v == S_DRAWS)
			continue;			/* (the draws' upper objective is not measured) */
		for (int s = 0; s < n_seeds; s++)
		{
			dv[s] = srun[v][s].dev_fresh;
			dr[s] = srun[v][s].dev_drr;
			di[s] = srun[v][s].direct;
			dp[s] = srun[S_PLAIN][s].direct;
			x[s] = summed(v, A_DRR, s);
			p[s] = summed(S_PLAIN, A_DRR, s);
		}
		fprintf(f, "| %s | %.4f [", src_label[v], mean_of(dv, n_seeds));
		for (int s = 0; s < n_seeds; s++)
			fprintf(f, "%s%.3f", s ? " " : "", dv[s]);
		fprintf(f, "] | %.4f [", mean_of(dr, n_seeds));
		for (int s = 0; s < n_seeds; s++)
			fprintf(f, "%s%.3f", s ? " " : "", dr[s]);
		fprintf(f, "] | %.4f [", mean_of(di, n_seeds));
		for (int s = 0; s < n_seeds; s++)
			fprintf(f, "%s%.3f", s ? " " : "", di[s]);
		if (v == S_PLAIN)
			fprintf(f, "] | | |\n");
		else
			fprintf(f, "] | %+.1f%% | %+.1f%% |\n",
					gain_pct(mean_of(di, n_seeds), mean_of(dp, n_seeds)),
					gain_pct(mean_of(x, n_seeds), mean_of(p, n_seeds)));
	}

	{
		double		g[N_ADAPT],
					ratio[MAX_SEEDS],
					w0 = 0.0,
					w1 = 0.0;
		int			worse[N_ADAPT];

		against(S_BIAO, S_PLAIN, g, NULL, worse);
		for (int s = 0; s < n_seeds; s++)
			ratio[s] = srun[S_BIAO][s].seconds / plain_sec[s];
		for (int h = 0; h < 4; h++)
		{
			w0 += mean_of(wmean[h][0], n_seeds) / 4.0;
			w1 += mean_of(wmean[h][1], n_seeds) / 4.0;
		}
		fprintf(f, "\n### Goals\n\n"
				"- Summed test %s, BIAO against plain source training: %+.1f%% with auto (the "
				"default adaptation), %+.1f%% with DRR (+ is better). Goal +5%%: %s.\n"
				"- Targets worse beyond noise (paired difference %s 2 se): %d with auto, "
				"%d with DRR. Goal none: %s.\n"
				"- Source training cost: %.2fx plain's (CPU, to early stopping). Goal at most "
				"3x: %s.\n",
				metric, g[A_AUTO], g[A_DRR], g[A_AUTO] >= 5.0 ? "met" : "missed",
				explicit_mode ? "above +" : "below -", worse[A_AUTO], worse[A_DRR], worse[A_AUTO] + worse[A_DRR] == 0 ? "met" : "missed",
				mean_of(ratio, n_seeds), mean_of(ratio, n_seeds) <= 3.0 ? "met" : "missed");
		if (ran(S_BIAO) && ran(S_FROZEN))
			write_against(f, S_BIAO, S_FROZEN, "the control (the same runs with the "
						  "perceptron frozen at its start: BIAO's cost and perturbation "
						  "without its learning): what the learnt weights add");
		if (ran(S_SCHED))
		{
			if (ran(S_BIAO))
				write_against(f, S_BIAO, S_SCHED, "plain training with the control's "
							  "schedule (uniform weights, no perceptron, early stopping "
							  "from the same first kept epoch)");
			if (ran(S_FROZEN))
				write_against(f, S_FROZEN, S_SCHED, "plain training with its schedule: "
							  "what the frozen perceptron's weights and the upper steps' "
							  "work do beyond the schedule");
		}
		if (ran(S_DRAWS))
		{
			write_against(f, S_DRAWS, S_PLAIN, "plain training on its one seed: how "
						  "far that draw is from its mean");
			if (ran(S_BIAO))
				write_against(f, S_BIAO, S_DRAWS, "plain training's mean over training "
							  "seeds (the strong baseline)");
			if (ran(S_FROZEN))
				write_against(f, S_FROZEN, S_DRAWS, "plain training's mean over training "
							  "seeds");
		}
		if (!real_mode)
		{
			fprintf(f, "- Mean weight of the foreign rule's rows %.3f against the shared rule's "
					"%.3f (1 is plain): %s; per seed (foreign / shared):", w1, w0,
					w1 < w0 ? "lower, as it should be" : "not lower");
			for (int s = 0; s < n_seeds; s++)
			{
				double		a = 0.0,
							b = 0.0;

				for (int h = 0; h < 4; h++)
				{
					a += wmean[h][1][s] / 4.0;
					b += wmean[h][0][s] / 4.0;
				}
				fprintf(f, " %.2f / %.2f%s", a, b, s + 1 < n_seeds ? "," : ".\n");
			}
			fprintf(f, "- Those are the final perceptron's. The weights the lower level "
					"trained with, every batch after the first upper step, foreign / shared, "
					"per seed:");
			for (int s = 0; s < n_seeds; s++)
				fprintf(f, " %.2f / %.2f%s", srun[S_BIAO][s].trained_w[1],
						srun[S_BIAO][s].trained_w[0], s + 1 < n_seeds ? "," : ".\n");
			if (ran(S_ORACLE))
			{
				double		lo = INFINITY;

				for (int s = 0; s < n_seeds; s++)
				{
					double		x = summed(S_ORACLE, A_AUTO, s) / summed(S_PLAIN, A_AUTO, s) - 1.0;

					lo = x < lo ? x : lo;
				}
				fprintf(f, "- The world rewards dropping the foreign rows: the oracle's gain "
						"(auto) is at least %+.1f%% on every seed.\n", 100.0 * lo);
			}
		}
	}

	fprintf(f, "\n### Mean weight per context value (the paper's Figure 3)\n\n"
			"BIAO's weight times the batch size (1 = plain training's) over the source's "
			"training positives, mean over seeds (per seed in brackets).%s\n\n",
			real_mode ? "" : " Mode 1 is the rule no target shares: its weights should fall.");
	if (real_mode)
		fprintf(f, "| %s code | mean weight |\n|---|---|\n", real_ctx_name);
	else
		fprintf(f, "| hour | mode 0 (shared rule) | mode 1 (foreign rule) |\n|---|---|---|\n");
	for (int h = 0; h < ctx_na; h++)
	{
		bool		seen = false;

		for (int s = 0; s < n_seeds; s++)
			seen |= !isnan(wmean[h][0][s]);
		if (real_mode && !seen)
			continue;			/* a value the source's rows never show */
		fprintf(f, "| %d |", h);
		for (int k = 0; k < ctx_nb; k++)
		{
			fprintf(f, " %.3f [", mean_of(wmean[h][k], n_seeds));
			for (int s = 0; s < n_seeds; s++)
				fprintf(f, "%s%.2f", s ? " " : "", wmean[h][k][s]);
			fprintf(f, "] |");
		}
		fprintf(f, "\n");
	}
	if (real_mode)
		write_feature_figure(f);
	write_spread(f);
}

/*
 * The same comparison on a prepared real view: its source and its three
 * largest targets (an explicit view: all its targets, test RMSE), every
 * seed on the same data (the seed moves the initialisation, the shuffles
 * and the negatives); no oracle but --code-weight's. Weights per value of
 * the first interaction-scoped categorical feature, and of every one.
 */
static void
run_real(FILE *f, const char *path)
{
	real_view	rv;
	double		t0 = cpu_now();

	real_view_load(path, &rv);
	/*
	 * An explicit view: every target (InCarMusic's nine are small), test
	 * RMSE; an implicit one: the three largest, test MRR
	 */
	explicit_mode = rv.explicit_fb;
	metric = explicit_mode ? "RMSE" : "MRR";
	n_tgt = explicit_mode ? rv.n_domains - 1 : 3;
	n_tgt = n_tgt < MAX_TGT ? n_tgt : MAX_TGT;
	CHECK(n_tgt < 1 || rv.n_domains < n_tgt + 1 ? XD_EINVAL : XD_OK);
	real_mode = true;
	real_cur = &rv;
	memset(srun, 0, sizeof(srun));
	memset(mrr, 0, sizeof(mrr));
	memset(wmean, 0, sizeof(wmean));
	memset(n_dev_trace, 0, sizeof(n_dev_trace));
	ctx_a = -1;
	for (int i = 0; i < rv.ds[0]->enc.schema.n_features && ctx_a < 0; i++)
		if (rv.ds[0]->enc.schema.features[i].scope == XD_SCOPE_INTERACTION &&
			rv.ds[0]->enc.schema.features[i].type == XD_TYPE_CATEGORICAL)
		{
			ctx_a = rv.ds[0]->enc.schema.features[i].raw;
			ctx_f = i;
			ctx_na = rv.ds[0]->enc.schema.features[i].n_values;
		}
	CHECK(ctx_a >= 0 && ctx_na <= MAX_CTX && code_weight_f < rv.ds[0]->enc.schema.n_features &&
		  (code_weight_k < 0 ||
		   code_weight_k < rv.ds[0]->enc.schema.features[code_weight_f >= 0 ? code_weight_f : ctx_f].n_values) ?
		  XD_OK : XD_EINVAL);
	if (code_weight_k >= 0)
	{
		static char label[96];

		snprintf(label, sizeof(label), "rows of feature %d's code %d weighted %g",
				 code_weight_f >= 0 ? code_weight_f : ctx_f, code_weight_k, code_weight_w);
		src_label[S_ORACLE] = label;
	}
	ctx_b = -1;
	ctx_nb = 1;
	snprintf(real_ctx_name, sizeof(real_ctx_name), "first interaction feature's");
	if (figure_f >= 0)
	{
		CHECK(figure_f < rv.ds[0]->enc.schema.n_features &&
			  rv.ds[0]->enc.schema.features[figure_f].type == XD_TYPE_CATEGORICAL &&
			  rv.ds[0]->enc.schema.features[figure_f].n_values <= MAX_CTX ? XD_OK : XD_EINVAL);
		ctx_na = rv.ds[0]->enc.schema.features[figure_f].n_values;
		snprintf(real_ctx_name, sizeof(real_ctx_name), "feature %d's", figure_f);
	}
	for (int s = 0; s < n_seeds; s++)
		for (int v = 0; v < N_SRC; v++)
		{
			xd_model   *model;

			if (!ran(v) || (v == S_ORACLE && code_weight_k < 0))
				continue;
			if (v == S_DRAWS)
			{
				run_plain_draws(s, rv.ds[0], rv.ds + 1);
				continue;
			}
			model = train_source(v, s, rv.ds[0], rv.ds + 1);
			adapt(v, s, model, rv.ds[0], rv.ds + 1);
			print_run(v, s);
			upper_objective(v, s, model, rv.ds[0], rv.ds + 1);
			xd_model_free(model);
		}
	fprintf(f, "\n## Real data: %s\n\n"
			"Source **%s** (%lld rows, %d users, %d items); targets", rv.name, rv.domain[0],
			(long long) rv.ds[0]->n_rows, rv.ds[0]->n_users, rv.ds[0]->n_items);
	for (int t = 1; t <= n_tgt; t++)
		fprintf(f, " %d = **%s** (%lld rows, %d users, %d items)%s", t, rv.domain[t],
				(long long) rv.ds[t]->n_rows, rv.ds[t]->n_users, rv.ds[t]->n_items,
				t < n_tgt ? "," : ".");
	fprintf(f, " The same models, training and adaptation as the synthetic part; no "
			"user is carried from the source. %s%.0f s of CPU.\n\n",
			explicit_mode ? "Explicit feedback: the models' loss is the squared rating error "
			"(BIAO's developing loss too), the targets' test metric RMSE over their test "
			"rows (lower is better; every gain below is signed so that + is better), the "
			"sources' validation metric RMSE. " : "", cpu_now() - t0);
	write_tables(f);
	for (int d = 0; d < rv.n_domains; d++)
	{
		xd_dataset_free(rv.ds[d]);
		free(rv.user_src[d]);
	}
	real_cur = NULL;
}

/* the upper-signal table of the synthetic world (measure_snr) */
static void
write_snr(FILE *f)
{
	fprintf(f, "\n### The upper step's signal against its noise\n\n"
			"At a fixed source state (plain training, 10 epochs; the state the first upper step "
			"meets after the warm-up), %d hypergradients g of the default options but the "
			"averaging (after %d discarded while the targets' embeddings settle), each one's "
			"rate of change of the weight gap G (mean weight of the foreign rule's rows minus "
			"the shared rule's, over 1024 source rows) along the step -g: s = grad G . g "
			"(central differences in phi; s > 0 lowers the foreign rows). Per seed: the mean "
			"of s / its sd (their ratio, the signal-to-noise of one upper step). "
			"`build/bench/report_biao /tmp/x --snr 10 --dev-batches D --source-batches S` "
			"prints one row.\n\n"
			"| developing batches per target | source batches |", snr_n, snr_burn);
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, " seed %d |", seed_offset + s);
	fprintf(f, "\n|---|---|");
	for (int s = 0; s < n_seeds; s++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (int c = 0; c < N_SNR; c++)
	{
		fprintf(f, "| %d | %d |", snr_cfg[c][0], snr_cfg[c][1]);
		for (int s = 0; s < n_seeds; s++)
			fprintf(f, " %+.4f / %.4f (%+.2f) |", snr_sig[c][s], snr_sd[c][s],
					snr_sig[c][s] / snr_sd[c][s]);
		fprintf(f, "\n");
	}
}

/* seed s's synthetic world: its source and targets */
static void
make_world(int s, xd_dataset **src, xd_dataset **tgt)
{
	fx_biao_opts so,
				to;

	fx_biao_world_opts_default(&so);
	so.foreign_share = foreign_share;
	so.contradiction = contradiction;
	fx_biao_world_opts_default(&to);
	to.shared_mode1 = target_mode1;
	*src = fx_biao_world(100 + seed_offset + s, full ? 1000 : 400, full ? 160 : 96,
						 synthetic_src_rows(), &so);
	CHECK(*src ? XD_OK : XD_ENOMEM);
	for (int t = 0; t < n_tgt; t++)
	{
		tgt[t] = fx_biao_world(200 + 10 * (seed_offset + s) + t, full ? 200 : 100, 64,
							   full ? 2000 : 1200, &to);
		CHECK(tgt[t] ? XD_OK : XD_ENOMEM);
	}
}

int
main(int argc, char **argv)
{
	const char *out_dir = "docs";
	const char *real_path = NULL;
	char		path[1024];
	double		t0 = cpu_now();
	FILE	   *f;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--full") == 0)
			full = true;
		else if (strcmp(argv[i], "--foreign") == 0 && i + 1 < argc)
			foreign_share = (float) atof(argv[++i]);
		else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc)
			opt_interval = atoi(argv[++i]);
		else if (strcmp(argv[i], "--neumann") == 0 && i + 1 < argc)
			opt_neumann = atoi(argv[++i]);
		else if (strcmp(argv[i], "--neumann-alpha") == 0 && i + 1 < argc)
			opt_alpha = (float) atof(argv[++i]);
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			opt_warmup = atoi(argv[++i]);
		else if (strcmp(argv[i], "--upper-lr") == 0 && i + 1 < argc)
			opt_upper_lr = (float) atof(argv[++i]);
		else if (strcmp(argv[i], "--dev-batches") == 0 && i + 1 < argc)
			opt_dev_batches = atoi(argv[++i]);
		else if (strcmp(argv[i], "--source-batches") == 0 && i + 1 < argc)
			opt_source_batches = atoi(argv[++i]);
		else if (strcmp(argv[i], "--snr") == 0 && i + 1 < argc)
			snr_epochs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--refit-steps") == 0 && i + 1 < argc)
			opt_refit_steps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--refit-fresh") == 0)
			opt_refit_fresh = true;
		else if (strcmp(argv[i], "--dev-fit") == 0 && i + 1 < argc)
			opt_dev_fit = strcmp(argv[++i], "drr") == 0 ? XD_BIAO_DEV_DRR : XD_BIAO_DEV_DIRECT;
		else if (strcmp(argv[i], "--snr-burn") == 0 && i + 1 < argc)
			snr_burn = atoi(argv[++i]);
		else if (strcmp(argv[i], "--probe") == 0 && i + 1 < argc)
			probe_epochs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--probe-epochs") == 0 && i + 1 < argc)
			probe_more = atoi(argv[++i]);
		else if (strcmp(argv[i], "--zo") == 0 && i + 1 < argc)
			sscanf(argv[++i], "%d:%d:%d:%f", &zo_epochs, &zo_n, &zo_more, &zo_eps);
		else if (strcmp(argv[i], "--zo-all") == 0)
			zo_all = true;
		else if (strcmp(argv[i], "--upper-zo") == 0 && i + 1 < argc)
		{
			upper_zo = true;
			sscanf(argv[++i], "%d:%d:%d:%f:%f", &uzo_n, &uzo_every, &uzo_k, &uzo_eps, &uzo_step);
		}
		else if (strcmp(argv[i], "--zo-plateau") == 0 && i + 1 < argc)
			uzo_plateau = atoi(argv[++i]);
		else if (strcmp(argv[i], "--fixed-epochs") == 0 && i + 1 < argc)
			fixed_epochs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--patience") == 0 && i + 1 < argc)
			source_patience = atoi(argv[++i]);
		else if (strcmp(argv[i], "--init-xor") == 0 && i + 1 < argc)
			init_xor = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--plain-draws") == 0 && i + 1 < argc)
		{
			plain_draws = atoi(argv[++i]);
			if (plain_draws < 1)
			{
				fprintf(stderr, "report_biao: --plain-draws takes k >= 1\n");
				return 1;
			}
		}
		else if (strcmp(argv[i], "--no-snr") == 0)
			no_snr = true;
		else if (strcmp(argv[i], "--snr-n") == 0 && i + 1 < argc)
			snr_n = atoi(argv[++i]);
		else if (strcmp(argv[i], "--zo-directions") == 0 && i + 1 < argc)
			uzo_directions = atoi(argv[++i]);
		else if (strcmp(argv[i], "--figure-feature") == 0 && i + 1 < argc)
			figure_f = atoi(argv[++i]);
		else if (strcmp(argv[i], "--code-weight") == 0 && i + 1 < argc)
			sscanf(argv[++i], "%d:%f:%d", &code_weight_k, &code_weight_w, &code_weight_f);
		else if (strcmp(argv[i], "--real-only") == 0)
			real_only = true;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
		{
			if (!parse_variants(argv[++i]))
			{
				fprintf(stderr, "report_biao: --only takes plain,biao,noglobal,nolocal,heldout,frozen,sched,draws,oracle\n");
				return 1;
			}
		}
		else if (strcmp(argv[i], "--target-mode1") == 0 && i + 1 < argc)
			target_mode1 = (float) atof(argv[++i]);
		else if (strcmp(argv[i], "--contradiction") == 0 && i + 1 < argc)
			contradiction = (float) atof(argv[++i]);
		else if (strcmp(argv[i], "--src-rows") == 0 && i + 1 < argc)
			src_rows = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			n_seeds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seed-offset") == 0 && i + 1 < argc)
			seed_offset = atoi(argv[++i]);
		else if (strcmp(argv[i], "--real") == 0 && i + 1 < argc)
			real_path = argv[++i];
		else
			out_dir = argv[i];
	}
	if (n_seeds < 2 || n_seeds > MAX_SEEDS || seed_offset < 0)
	{
		fprintf(stderr, "report_biao: --seeds 2..%d, --seed-offset >= 0\n", MAX_SEEDS);
		return 1;
	}
	for (int s = 0; s < n_seeds && (snr_epochs > 0 || probe_epochs > 0 || zo_epochs > 0); s++)
	{
		xd_dataset *src;
		xd_dataset *tgt[MAX_TGT];
		double		sg,
					ns;

		make_world(s, &src, tgt);
		if (snr_epochs > 0)
			measure_snr(s, src, tgt, snr_epochs, 0, 0, &sg, &ns);
		if (probe_epochs > 0)
			probe_objective(s, src, tgt);
		if (zo_epochs > 0)
			measure_zo(s, src, tgt);
		for (int t = 0; t < n_tgt; t++)
			xd_dataset_free(tgt[t]);
		xd_dataset_free(src);
	}
	if (snr_epochs > 0 || probe_epochs > 0 || zo_epochs > 0)
		return 0;				/* --snr, --probe and --zo write no report */
	snprintf(path, sizeof(path), "%s/biao-report.md", out_dir);
	f = fopen(path, "w");
	if (!f)
	{
		perror(path);
		return 1;
	}
	fprintf(f, "# Source weighting (BIAO) report\n\n"
			"Written by `make report-biao` (test/bench/report_biao.c, %s mode), %d seeds. "
			"Read [training.md](training.md#source-weighting-biao) for the method.\n\n",
			full ? "full" : "quick", n_seeds);
	ctx_a = 0;
	ctx_na = 4;
	ctx_b = 1;
	ctx_nb = 2;
	for (int s = 0; s < n_seeds && !real_only; s++)
	{
		xd_dataset *src;
		xd_dataset *tgt[MAX_TGT];

		make_world(s, &src, tgt);
		for (int v = 0; v < N_SRC; v++)
		{
			xd_model   *model;

			if (!ran(v) || (v == S_ORACLE && code_weight_k < 0))
				continue;
			if (v == S_DRAWS)
			{
				run_plain_draws(s, src, tgt);
				continue;
			}
			model = train_source(v, s, src, tgt);
			adapt(v, s, model, src, tgt);
			print_run(v, s);
			upper_objective(v, s, model, src, tgt);
			xd_model_free(model);
		}
		for (int c = 0; c < N_SNR && ran(S_BIAO) && !no_snr; c++)
			measure_snr(s, src, tgt, 10, snr_cfg[c][0], snr_cfg[c][1], &snr_sig[c][s],
						&snr_sd[c][s]);
		for (int t = 0; t < n_tgt; t++)
			xd_dataset_free(tgt[t]);
		xd_dataset_free(src);
	}
	if (real_only)
		fprintf(f, "## Synthetic world\n\nNot run (--real-only).\n");
	else
	{
		write_intro(f);
		write_tables(f);
		if (ran(S_BIAO) && !no_snr)
			write_snr(f);
		fprintf(f, "\n(synthetic part: %.0f s of CPU)\n", cpu_now() - t0);
	}
	if (real_path)
		run_real(f, real_path);
	else
		fprintf(f, "\n## Real data\n\nNot run: no prepared view (test/real/fetch.sh).\n");
	fclose(f);
	printf("wrote %s\n", path);
	return 0;
}
