/*
 * explicit_real.c - why the models lose to the damped user and item means on
 * small explicit targets (issue 17; docs/transfer.md, "Small explicit
 * targets against the damped means"). On every target of each explicit view
 * (the source is skipped: it is not what the product adapts), per split
 * (split_seed_of: 42, 1, 2, ..., as report_real's), fitted as xdrec.train
 * fits a model (a fresh default model, the default learning-rate search):
 *   TO    target-only, biases at 0 and s at the mean (the product today);
 *   TOD   the same seed, the biases initialised at the damped means
 *         (xd_domain_set_damped_means);
 *   DM    the damped means alone, a bias-only model (every shared tensor
 *         and embedding 0: r^ = s + s_u + s_v);
 *   TO30  TO with early stopping's patience 30 (the default's 10);
 * and, from those fits, rules that choose on validation:
 *   pick(X, DM) at k s.e.   DM where its validation MSE beats X's by more
 *                           than k paired standard errors (xd_auto_choose);
 *   shrink(X)               (1 - a) X + a DM, a in {0, .25, .5, .75, 1} of
 *                           the best validation MSE (the product's blend of
 *                           two fits, xd_fit_score).
 * Printed: one FIT line per target and split (validation and test RMSE of
 * each row, the rate and epochs of the fits), then per view and row over
 * splits [lo, hi): the targets' summed RMSE, its paired difference with TO
 * and with DM (2 s.e. over splits), and per target the mean difference with
 * TO and the targets better / worse than TO and than DM beyond 2 s.e.
 *
 * --auto: instead, the product's default with the damped start and
 * without (the rows of auto_label below), one FITA line per target and split.
 *
 * --cand: candidates for what auto serves on explicit targets (cand_label
 * below), one FITC line per target and split, each against target-only and
 * the default, with its time in target-only fits.
 *
 * --cost: which of auto's fits can be skipped on explicit targets
 * (cost_label below), one FITK line per target and split, as --cand's.
 *
 * Usage: explicit_real [--auto | --cand | --cost] [--splits lo hi] [--part lo hi]... data_dir view...
 *   --splits: the splits fitted (default 0 6); --part: a range of them the
 *   summary is printed for too (the choice's splits and the confirmation's).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/baseline.h"
#include "xdrec/core.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"
#include "real_view.h"
#include "report_common.h"

#define MAX_SPLITS 40
#define MAX_PARTS 4
/* report_real's 20 splits, then 20 fresh ones (20-39: seeds 20-39) */
static const uint64_t split_seed_of[MAX_SPLITS] = {42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
36, 37, 38, 39};

#define N_A 5
static const float shrink_a[N_A] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};

enum
{
	R_TO = 0,
	R_TOD,
	R_DM,
	R_PICK_TO0,
	R_PICK_TO1,
	R_PICK_TOD0,
	R_PICK_TOD1,
	R_SHRINK_TO,
	R_SHRINK_TOD,
	R_TO_P30,
	N_ROWS
};
static const char *const row_label[N_ROWS] = {
	"target-only (the product)", "target-only, biases at the damped means",
	"damped means (bias-only model)", "pick(TO, DM) at 0 s.e.", "pick(TO, DM) at 1 s.e.",
	"pick(TOD, DM) at 0 s.e.", "pick(TOD, DM) at 1 s.e.", "shrink TO to DM (a on valid)",
	"shrink TOD to DM (a on valid)", "target-only, biases from 0, patience 30"
};

/*
 * --auto: the product's default as xdrec.adapt runs it (auto with
 * auto_blend, from a source trained per split with its encoders: the damped
 * start, damped_init_rows XD_DAMPED_INIT_ROWS, and no small-target
 * exception on explicit targets, auto_small_rows_explicit 0: auto's margin
 * 2 and the blend of target-only and DRR on every size; since session 23's
 * cost change auto fits no Anneal there, xd_auto_fits), the same with the
 * exception (auto_small_rows_explicit XD_AUTO_SMALL_ROWS: the default
 * before) and the default before both (no damped start, the exception),
 * beside target-only with and without the damped start (xd_transfer's
 * target-only) and the damped means. A target of XD_DAMPED_INIT_ROWS
 * training rows or more fits the same every way: copied, not refitted.
 */
enum
{
	A_TO0 = 0,
	A_TO,
	A_P0,
	A_P,
	A_PM,
	A_DM,
	N_AUTO_ROWS
};
static const char *const auto_label[N_AUTO_ROWS] = {
	"target-only, biases from 0 (before)", "target-only (damped start below 1,000 rows)",
	"the default before both (from 0, exception)", "the product's default (damped, no exception)",
	"the same with the small-target exception", "damped means (bias-only model)"
};

/*
 * --cand: candidates for what auto serves on an explicit target, composed
 * from one set of fits per target and split: auto's three (target-only with
 * the product's search, Anneal and DRR by decay: the fits xd_transfer's auto
 * makes, bit for bit) and a second target-only fit (seed + 1). The choice
 * is xd_auto_choose's on xd_transfer_validation's terms, as auto's.
 *   C_TO    target-only (the damped start below 1,000 rows, as the product);
 *   C_D     the default before (session 23): margin 0 below
 *           XD_AUTO_SMALL_ROWS, else margin 2 and, where auto keeps
 *           target-only, the 0.5 blend of target-only and DRR (auto_blend);
 *   C_TO2   the two target-only fits averaged (a reference: two fits);
 *   C_A0    (a) auto_small_rows 0: margin 2 and the blend on every size
 *           (chosen on InCarMusic's splits 20-29: the product's default on
 *           explicit targets since, auto_small_rows_explicit 0);
 *   C_AM0   margin 0 below 1,000 rows with the blend where target-only is
 *           kept (the blend part of (a) alone);
 *   C_E2    (b) the default's choice, the two target-only fits averaged
 *           where it keeps target-only below 1,000 rows (above: the default);
 *   C_E2M2  (b) with margin 2 on every size;
 *   C_SHRK  (c) margin 2 and, where target-only is kept, the blend with DRR
 *           at a = (n a* + N0 / 2) / (n + N0): the validation-optimal weight
 *           a* (clipped to [0, 1]) shrunk toward the fixed 0.5 by the n
 *           validation ratings (N0 = 100 pseudo-ratings);
 *   C_SHTO  (c) the same with a = 0.5 n / (n + N0): toward target-only;
 *   C_BEST  (c) margin 2 and, where target-only is kept, the 0.5 blend with
 *           the better of Anneal and DRR on validation.
 */
#define CAND_N0 100.0
enum
{
	C_TO = 0,
	C_D,
	C_TO2,
	C_A0,
	C_AM0,
	C_E2,
	C_E2M2,
	C_SHRK,
	C_SHTO,
	C_BEST,
	N_CAND_ROWS
};
static const char *const cand_label[N_CAND_ROWS] = {
	"target-only (damped start below 1,000 rows)", "the default before (exception)",
	"two target-only fits averaged", "(a) margin 2, blend w/ DRR (the default)",
	"margin 0 small, blend w/ DRR where TO kept", "(b) default choice, TO x2 where TO kept",
	"(b) margin 2, TO x2 where TO kept", "(c) margin 2, blend a* shrunk to .5",
	"(c) margin 2, blend .5 n/(n+100)", "(c) margin 2, blend w/ better transfer"
};

/*
 * --cost: which of auto's fits can be skipped on explicit targets (session
 * 23, issue 17's cost), from auto's three fits per target and split:
 *   K_TO    target-only;
 *   K_D     the default (auto_small_rows_explicit 0): margin 2 over
 *           target-only, Anneal and DRR, and the 0.5 blend of target-only and
 *           DRR where target-only is kept; "mean a/pick": the share of fits
 *           it serves Anneal on (what skipping Anneal changes);
 *   K_NOAN  no Anneal: margin 2 over target-only and DRR, the blend where
 *           target-only is kept; a/pick: the share it serves DRR alone;
 *   K_BL    no choice: the 0.5 blend of target-only and DRR on every fit;
 *   K_NODRR no DRR: margin 2 over target-only and Anneal, the 0.5 blend of
 *           target-only and Anneal where target-only is kept.
 * Time: the fits each row needs, against target-only's.
 */
enum
{
	K_TO = 0,
	K_D,
	K_NOAN,
	K_BL,
	K_NODRR,
	N_COST_ROWS
};
static const char *const cost_label[N_COST_ROWS] = {
	"target-only", "the default (TO, Anneal, DRR; blend)",
	"no Anneal: margin 2 over TO, DRR; blend", "no choice: the blend TO + DRR",
	"no DRR: margin 2 over TO, Anneal; blend"
};

/* rows of the largest mode */
#define MAX_ROWS N_CAND_ROWS
_Static_assert((int) N_ROWS <= (int) MAX_ROWS && (int) N_AUTO_ROWS <= (int) MAX_ROWS &&
			   (int) N_COST_ROWS <= (int) MAX_ROWS, "MAX_ROWS");
/* --cand's and --cost's summaries read target-only and the default at one index */
_Static_assert((int) K_TO == (int) C_TO && (int) K_D == (int) C_D, "references");

typedef struct cell
{
	double		test;			/* RMSE */
	double		valid;			/* RMSE on the validation positives */
	float		lr;
	int			epochs;
	float		a;				/* shrink: the weight kept; pick: 1 = DM */
} cell;

static double
test_rmse(xd_score_fn fn, void *arg, const xd_dataset *ds)
{
	xd_eval_opts eo;
	xd_rating_metrics rt;

	xd_eval_opts_default(&eo);
	CHECK(xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, fn, arg, &rt));
	return rt.rmse;
}

static void
config_of(const xd_dataset *ds, uint64_t seed, xd_config *cfg)
{
	xd_config_defaults(cfg);
	xd_config_set_widths(cfg, &ds->enc.schema);
	cfg->feedback = XD_EXPLICIT;
	cfg->seed = seed;
}

/*
 * a fresh default model on ds, fitted as xdrec.train fits it; damped: TOD;
 * patience > 0: early stopping's patience instead of the default's
 */
static xd_model *
fit_model(const xd_dataset *ds, uint64_t seed, bool damped, int patience, cell *c)
{
	xd_config	cfg;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_lr_search search;
	xd_rng		rng;

	config_of(ds, seed, &cfg);
	xd_rng_seed(&rng, seed);
	CHECK(xd_model_create(&cfg, ds->n_users, ds->n_items, (float) ds->rating_mean, &rng, &model));
	if (damped)
		CHECK(xd_domain_set_damped_means(model->domain, ds, XD_DAMPING));
	xd_train_opts_default(&o, &cfg);
	if (patience > 0)
		o.patience = patience;
	CHECK(xd_train_search(model, ds, &o, XD_LR_SEARCH_DEFAULT, &res, &search));
	c->lr = search.lr[search.chosen];
	c->epochs = search.epochs[search.chosen];
	c->test = test_rmse(xd_model_score, model, ds);
	return model;
}

/* the damped means as a model: every tensor 0 but the biases */
static xd_model *
bias_only_model(const xd_dataset *ds, uint64_t seed, cell *c)
{
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_param  **params;
	int			n;

	config_of(ds, seed, &cfg);
	xd_rng_seed(&rng, seed);
	CHECK(xd_model_create(&cfg, ds->n_users, ds->n_items, (float) ds->rating_mean, &rng, &model));
	xd_model_params(model, &params, &n);
	for (int i = 0; i < n; i++)
		memset(params[i]->w, 0, sizeof(float) * (size_t) params[i]->rows * params[i]->cols);
	CHECK(xd_domain_set_damped_means(model->domain, ds, XD_DAMPING));
	c->test = test_rmse(xd_model_score, model, ds);
	return model;
}

/* validation terms (minus the squared errors) of (1 - a) first + a second */
static double *
valid_terms(xd_model *first, xd_model *second, float a, const xd_dataset *ds, int64_t *n)
{
	xd_train_opts o;
	xd_fit_pair p = {first, second, a};
	double		metric,
			   *each = NULL;

	xd_train_opts_default(&o, &first->cfg);
	CHECK(xd_train_validate_score(xd_fit_pair_score, &p, XD_EXPLICIT, ds, &o, &metric, n, &each));
	return each;
}

static double
mean_of(const double *x, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += x[i];
	return n > 0 ? s / (double) n : 0.0;
}

typedef struct target_cells
{
	char		name[32];
	cell		c[MAX_ROWS][MAX_SPLITS];
	double		seconds[MAX_ROWS];	/* --cand: the fits' time, summed */
} target_cells;

static void
run_split(const xd_dataset *ds, int s, cell *c)
{
	uint64_t	seed = 1000 + 17 * (uint64_t) s;
	xd_model   *to = fit_model(ds, seed, false, 0, &c[R_TO]);
	xd_model   *tod = fit_model(ds, seed, true, 0, &c[R_TOD]);
	xd_model   *p30 = fit_model(ds, seed, false, 30, &c[R_TO_P30]);
	xd_model   *dm = bias_only_model(ds, seed, &c[R_DM]);
	xd_model   *fits[2] = {to, tod};
	int64_t		n;
	double	   *e_dm = valid_terms(dm, NULL, 0.0f, ds, &n);

	c[R_DM].valid = sqrt(-mean_of(e_dm, n));
	for (int f = 0; f < 2; f++)
	{
		int64_t		n2;
		double	   *e = valid_terms(fits[f], NULL, 0.0f, ds, &n2);
		const double *pe[2] = {e, e_dm};
		double		gain[2],
					se[2];
		int			base = f ? R_TOD : R_TO;
		double		best = -INFINITY;
		float		best_a = 0.0f;

		if (n2 != n)
			abort();
		c[base].valid = sqrt(-mean_of(e, n));
		for (int k = 0; k < 2; k++)
		{
			int			r = (f ? R_PICK_TOD0 : R_PICK_TO0) + k;
			int			ch = xd_auto_choose(pe, 2, n, (double) k, gain, se);

			c[r] = ch ? c[R_DM] : c[base];
			c[r].a = (float) ch;
		}
		for (int i = 0; i < N_A; i++)
		{
			int64_t		n3;
			double	   *ea = valid_terms(fits[f], dm, shrink_a[i], ds, &n3);
			double		m = mean_of(ea, n3);

			if (m > best)		/* ties: the smaller a */
			{
				best = m;
				best_a = shrink_a[i];
			}
			free(ea);
		}
		{
			int			r = f ? R_SHRINK_TOD : R_SHRINK_TO;
			xd_fit_pair p = {fits[f], dm, best_a};

			c[r] = c[base];
			c[r].a = best_a;
			c[r].valid = sqrt(-best);
			c[r].test = test_rmse(xd_fit_pair_score, &p, ds);
		}
		free(e);
	}
	free(e_dm);
	xd_model_free(to);
	xd_model_free(tod);
	xd_model_free(p30);
	xd_model_free(dm);
}

/* one xd_transfer fit of method m on target ds, its test RMSE in c */
static void
auto_fit(const xd_transfer_result *src, const xd_dist_encoders *enc, const xd_dataset *ds,
		 xd_transfer_method m, int64_t damped_rows, bool small_exception, int s, cell *c)
{
	xd_transfer_opts o;
	xd_transfer_result r;

	xd_transfer_opts_default(&o);
	if (small_exception)		/* the rule before: margin 0, no blend below 1,000 rows */
		o.auto_small_rows_explicit = XD_AUTO_SMALL_ROWS;
	o.method = m;
	o.auto_blend = true;		/* as the product sets it */
	o.damped_init_rows = damped_rows;
	o.seed = 1000 + 17 * (uint64_t) s;	/* report_real's fit seed */
	CHECK(xd_transfer(src->shared, enc, ds, &o, &r));
	c->test = test_rmse(xd_transfer_score, &r, ds);
	c->valid = r.best_metric;
	c->lr = r.lr_search.n > 0 ? r.lr_search.lr[r.lr_search.chosen] : 0.0f;
	c->epochs = r.epochs;
	c->a = r.blend ? -1.0f : (float) r.method;	/* -1: blended */
	xd_transfer_result_free(&r);
}

/* the source as report_real trains it (the product's defaults), its encoders */
static void
train_source(const real_view *rv, xd_transfer_result *src, xd_dist_encoders **enc)
{
	xd_config	cfg;
	xd_transfer_opts so;
	xd_dist_encoder_opts eo;
	xd_dist_encoder_report erep;

	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &rv->ds[0]->enc.schema);
	cfg.feedback = XD_EXPLICIT;
	xd_transfer_opts_default(&so);
	CHECK(xd_transfer_train_source(&cfg, rv->ds[0], &so, src));
	xd_dist_encoder_opts_default(&eo);
	CHECK(xd_dist_encoders_train(src->model, rv->ds[0], &eo, enc, &erep));
}

static void
run_auto_split(const real_view *rv, int s, target_cells *t)
{
	xd_transfer_result src;
	xd_dist_encoders *enc;

	train_source(rv, &src, &enc);
	for (int k = 1; k < rv->n_domains; k++)
	{
		const xd_dataset *ds = rv->ds[k];
		cell	   *c[N_AUTO_ROWS];
		bool		same = ds->n_split[XD_SPLIT_TRAIN] >= XD_DAMPED_INIT_ROWS;
		xd_model   *dm;

		for (int r = 0; r < N_AUTO_ROWS; r++)
			c[r] = &t[k - 1].c[r][s];
		snprintf(t[k - 1].name, sizeof(t[k - 1].name), "%s", rv->domain[k]);
		auto_fit(&src, enc, ds, XD_TRANSFER_TARGET_ONLY, 0, false, s, c[A_TO0]);
		auto_fit(&src, enc, ds, XD_TRANSFER_AUTO, 0, true, s, c[A_P0]);
		if (same)
		{
			*c[A_TO] = *c[A_TO0];
			*c[A_P] = *c[A_PM] = *c[A_P0];
		}
		else
		{
			auto_fit(&src, enc, ds, XD_TRANSFER_TARGET_ONLY, XD_DAMPED_INIT_ROWS, false, s, c[A_TO]);
			auto_fit(&src, enc, ds, XD_TRANSFER_AUTO, XD_DAMPED_INIT_ROWS, false, s, c[A_P]);
			auto_fit(&src, enc, ds, XD_TRANSFER_AUTO, XD_DAMPED_INIT_ROWS, true, s, c[A_PM]);
		}
		dm = bias_only_model(ds, 1, c[A_DM]);
		xd_model_free(dm);
		printf("FITA %s %s split %d train %lld: TO0 %.4f TO %.4f | product0 %.4f (%s) product %.4f (%s) | DM %.4f | exception %.4f (%s)%s\n",
			   rv->name, rv->domain[k], s, (long long) ds->n_split[XD_SPLIT_TRAIN],
			   c[A_TO0]->test, c[A_TO]->test, c[A_P0]->test,
			   c[A_P0]->a < 0.0f ? "blend" : xd_transfer_method_name((xd_transfer_method) c[A_P0]->a),
			   c[A_P]->test,
			   c[A_P]->a < 0.0f ? "blend" : xd_transfer_method_name((xd_transfer_method) c[A_P]->a),
			   c[A_DM]->test, c[A_PM]->test,
			   c[A_PM]->a < 0.0f ? "blend" : xd_transfer_method_name((xd_transfer_method) c[A_PM]->a),
			   same ? " (1,000+ rows: the same fits)" : "");
		for (int r = 0; r < N_AUTO_ROWS; r++)
			c[r]->a = r == A_P || r == A_P0 || r == A_PM ?
				(c[r]->a != (float) XD_TRANSFER_TARGET_ONLY) : 0.0f;
		fflush(stdout);
	}
	xd_dist_encoders_free(enc);
	xd_transfer_result_free(&src);
}

/*
 * a served fit of two (second NULL: first alone): its test RMSE in c, and
 * in c->a the second's weight (a transfer served alone: 1, set by the caller)
 */
static void
served(xd_model *first, xd_model *second, float a, const xd_dataset *ds, cell *c)
{
	xd_fit_pair p = {first, second, a};

	c->test = test_rmse(xd_fit_pair_score, &p, ds);
	c->a = second ? a : 0.0f;
}

static const xd_transfer_method fit_method[4] =
{XD_TRANSFER_TARGET_ONLY, XD_TRANSFER_ANNEAL, XD_TRANSFER_DRR, XD_TRANSFER_TARGET_ONLY};

/*
 * auto's fits on one target and split (xd_transfer's auto makes them bit for
 * bit): target-only with the product's search, Anneal and DRR by decay, and
 * (n_fits 4) a second target-only fit, seed + 1; their validation terms
 */
static void
auto_fits(const xd_transfer_result *src, const xd_dist_encoders *enc, const xd_dataset *ds,
		  int s, int n_fits, xd_transfer_result *f, double **each, int64_t *n, double *sec)
{
	int64_t		n2;

	for (int i = 0; i < n_fits; i++)
	{
		xd_transfer_opts o;

		xd_transfer_opts_default(&o);
		o.method = fit_method[i];
		o.lr_decay = i == 1 || i == 2;	/* auto's transfer candidates */
		o.seed = 1000 + 17 * (uint64_t) s + (i == 3);	/* report_real's fit seed */
		CHECK(xd_transfer(src->shared, enc, ds, &o, &f[i]));
		CHECK(xd_transfer_validation(&f[i], ds, &o, &each[i], &n2));
		if (i > 0 && n2 != *n)
			abort();
		*n = n2;
		sec[i] = f[i].seconds;
	}
}

/* the candidates of --cand on one target and split (cand_label) */
static void
run_cand_target(const xd_transfer_result *src, const xd_dist_encoders *enc,
				const xd_dataset *ds, const char *name, int s, cell *c, double *seconds)
{
	xd_transfer_result f[4];
	double	   *each[4],
				gain[3],
				se[3],
				sec[4],
				mse0,
				mse2,
				mse_half,
				cross,
				a_opt,
				a_shrk,
				a_shto;
	int64_t		n = 0,
				n2;
	bool		small = ds->n_split[XD_SPLIT_TRAIN] < XD_AUTO_SMALL_ROWS;
	int			ch0,
				ch2,
				better;
	double	   *e;
	xd_model   *to,
			   *drr;

	auto_fits(src, enc, ds, s, 4, f, each, &n, sec);
	to = f[0].model;
	drr = f[2].model;
	ch0 = xd_auto_choose((const double *const *) each, 3, n, 0.0, gain, se);
	ch2 = xd_auto_choose((const double *const *) each, 3, n, XD_AUTO_MARGIN_SE, gain, se);
	better = gain[2] >= gain[1] ? 2 : 1;

	/* the blend's validation MSE is quadratic in a: a* from a = 0, 1/2, 1 */
	mse0 = -mean_of(each[0], n);
	mse2 = -mean_of(each[2], n);
	e = valid_terms(to, drr, 0.5f, ds, &n2);
	mse_half = -mean_of(e, n2);
	free(e);
	cross = 2.0 * mse_half - 0.5 * (mse0 + mse2);	/* the residuals' mean product */
	a_opt = mse0 + mse2 - 2.0 * cross > 0.0 ? (mse0 - cross) / (mse0 + mse2 - 2.0 * cross) : 0.5;
	a_opt = a_opt < 0.0 ? 0.0 : a_opt > 1.0 ? 1.0 : a_opt;
	a_shrk = ((double) n * a_opt + 0.5 * CAND_N0) / ((double) n + CAND_N0);
	a_shto = 0.5 * (double) n / ((double) n + CAND_N0);

	served(to, NULL, 0.0f, ds, &c[C_TO]);
	seconds[C_TO] += sec[0];
	/* the default */
	{
		int			ch = small ? ch0 : ch2;

		if (ch == 0 && !small)
			served(to, drr, XD_BLEND_A, ds, &c[C_D]);
		else
		{
			served(f[ch].model, NULL, 0.0f, ds, &c[C_D]);
			c[C_D].a = ch != 0;
		}
		c[C_D].lr = (float) ch;
		/* (b): the same choice, two target-only fits where it keeps one */
		if (ch == 0 && small)
			served(to, f[3].model, 0.5f, ds, &c[C_E2]);
		else
			c[C_E2] = c[C_D];
	}
	seconds[C_D] += sec[0] + sec[1] + sec[2];
	seconds[C_E2] += sec[0] + sec[1] + sec[2] + sec[3];
	served(to, f[3].model, 0.5f, ds, &c[C_TO2]);
	seconds[C_TO2] += sec[0] + sec[3];
	/* margin 0 below 1,000 rows, the blend where target-only is kept */
	if (small)
	{
		if (ch0 == 0)
			served(to, drr, XD_BLEND_A, ds, &c[C_AM0]);
		else
		{
			served(f[ch0].model, NULL, 0.0f, ds, &c[C_AM0]);
			c[C_AM0].a = 1.0f;
		}
	}
	else
		c[C_AM0] = c[C_D];
	seconds[C_AM0] += sec[0] + sec[1] + sec[2];
	/* margin 2 on every size: (a), (b) and (c) differ where target-only is kept */
	if (ch2 != 0)
	{
		served(f[ch2].model, NULL, 0.0f, ds, &c[C_A0]);
		c[C_A0].a = 1.0f;
		c[C_E2M2] = c[C_SHRK] = c[C_SHTO] = c[C_BEST] = c[C_A0];
	}
	else
	{
		served(to, drr, XD_BLEND_A, ds, &c[C_A0]);
		if (small)
			served(to, f[3].model, 0.5f, ds, &c[C_E2M2]);
		else
			c[C_E2M2] = c[C_A0];
		served(to, drr, (float) a_shrk, ds, &c[C_SHRK]);
		served(to, drr, (float) a_shto, ds, &c[C_SHTO]);
		served(to, f[better].model, XD_BLEND_A, ds, &c[C_BEST]);
	}
	seconds[C_A0] += sec[0] + sec[1] + sec[2];
	seconds[C_E2M2] += sec[0] + sec[1] + sec[2] + sec[3];
	seconds[C_SHRK] += sec[0] + sec[1] + sec[2];
	seconds[C_SHTO] += sec[0] + sec[1] + sec[2];
	seconds[C_BEST] += sec[0] + sec[1] + sec[2];
	printf("FITC %s split %d train %lld valid %lld: TO %.4f D %.4f (%s) TO2 %.4f | "
		   "(a) %.4f margin0+blend %.4f | (b) %.4f %.4f | (c) shrink a %.2f %.4f, "
		   "to-TO a %.2f %.4f, better %.4f | ch0 %d ch2 %d\n",
		   name, s, (long long) ds->n_split[XD_SPLIT_TRAIN], (long long) n, c[C_TO].test,
		   c[C_D].test, xd_transfer_method_name(fit_method[(int) c[C_D].lr]), c[C_TO2].test,
		   c[C_A0].test, c[C_AM0].test, c[C_E2].test, c[C_E2M2].test,
		   a_shrk, c[C_SHRK].test, a_shto, c[C_SHTO].test, c[C_BEST].test, ch0, ch2);
	for (int i = 0; i < 4; i++)
	{
		xd_transfer_result_free(&f[i]);
		free(each[i]);
	}
}

/* the rows of --cost on one target and split (cost_label) */
static void
run_cost_target(const xd_transfer_result *src, const xd_dist_encoders *enc,
				const xd_dataset *ds, const char *name, int s, cell *c, double *seconds)
{
	xd_transfer_result f[3];
	double	   *each[3],
				gain[3],
				se[3],
				sec[3];
	const double *pair[2];
	int64_t		n = 0;
	int			ch,
				ch_noan,
				ch_nodrr;

	auto_fits(src, enc, ds, s, 3, f, each, &n, sec);
	ch = xd_auto_choose((const double *const *) each, 3, n, XD_AUTO_MARGIN_SE, gain, se);
	pair[0] = each[0];
	pair[1] = each[2];
	ch_noan = xd_auto_choose(pair, 2, n, XD_AUTO_MARGIN_SE, gain, se) ? 2 : 0;
	pair[1] = each[1];
	ch_nodrr = xd_auto_choose(pair, 2, n, XD_AUTO_MARGIN_SE, gain, se) ? 1 : 0;

	served(f[0].model, NULL, 0.0f, ds, &c[K_TO]);
	served(f[0].model, f[2].model, XD_BLEND_A, ds, &c[K_BL]);
	if (ch == 0)
		c[K_D] = c[K_BL];
	else
		served(f[ch].model, NULL, 0.0f, ds, &c[K_D]);
	c[K_D].a = ch == 1;
	if (ch_noan == 0)
		c[K_NOAN] = c[K_BL];
	else
		served(f[2].model, NULL, 0.0f, ds, &c[K_NOAN]);
	c[K_NOAN].a = ch_noan != 0;
	c[K_BL].a = 0.0f;
	if (ch_nodrr == 0)
		served(f[0].model, f[1].model, XD_BLEND_A, ds, &c[K_NODRR]);
	else
		served(f[1].model, NULL, 0.0f, ds, &c[K_NODRR]);
	c[K_NODRR].a = ch_nodrr != 0;
	seconds[K_TO] += sec[0];
	seconds[K_D] += sec[0] + sec[1] + sec[2];
	seconds[K_NOAN] += sec[0] + sec[2];
	seconds[K_BL] += sec[0] + sec[2];
	seconds[K_NODRR] += sec[0] + sec[1];
	printf("FITK %s split %d train %lld valid %lld: TO %.4f D %.4f (%s) noAnneal %.4f (%s) "
		   "blend %.4f noDRR %.4f (%s) | s TO %.2f Anneal %.2f DRR %.2f\n",
		   name, s, (long long) ds->n_split[XD_SPLIT_TRAIN], (long long) n, c[K_TO].test,
		   c[K_D].test, xd_transfer_method_name(fit_method[ch]), c[K_NOAN].test,
		   xd_transfer_method_name(fit_method[ch_noan]), c[K_BL].test, c[K_NODRR].test,
		   xd_transfer_method_name(fit_method[ch_nodrr]), sec[0], sec[1], sec[2]);
	for (int i = 0; i < 3; i++)
	{
		xd_transfer_result_free(&f[i]);
		free(each[i]);
	}
}

/* --cand or --cost on one split: a source, then every target */
static void
run_cand_split(const real_view *rv, int s, target_cells *t, bool cost)
{
	xd_transfer_result src;
	xd_dist_encoders *enc;

	train_source(rv, &src, &enc);
	for (int k = 1; k < rv->n_domains; k++)
	{
		cell		c[MAX_ROWS] = {0};

		snprintf(t[k - 1].name, sizeof(t[k - 1].name), "%s", rv->domain[k]);
		(cost ? run_cost_target : run_cand_target) (&src, enc, rv->ds[k], rv->domain[k], s, c,
													 t[k - 1].seconds);
		for (int r = 0; r < MAX_ROWS; r++)
			t[k - 1].c[r][s] = c[r];
		fflush(stdout);
	}
	xd_dist_encoders_free(enc);
	xd_transfer_result_free(&src);
}

/* mean and standard error of x[lo, hi) */
static void
mean_se(const double *x, int lo, int hi, double *mu, double *se)
{
	int			n = hi - lo;
	double		m = 0.0,
				v = 0.0;

	for (int i = lo; i < hi; i++)
		m += x[i] / n;
	for (int i = lo; i < hi; i++)
		v += (x[i] - m) * (x[i] - m);
	*mu = m;
	*se = n > 1 ? sqrt(v / (n - 1) / n) : INFINITY;
}

typedef enum bench_mode
{
	MODE_FITS,
	MODE_AUTO,
	MODE_CAND,
	MODE_COST
} bench_mode;

static void
summary(const char *view, target_cells *t, int n_t, int lo, int hi, bench_mode mode)
{
	bool		auto_rows = mode == MODE_AUTO,
				cand = mode == MODE_CAND || mode == MODE_COST;
	const char *const *label = mode == MODE_COST ? cost_label : mode == MODE_CAND ? cand_label :
		auto_rows ? auto_label : row_label;
	int			n_rows = mode == MODE_COST ? N_COST_ROWS : mode == MODE_CAND ? N_CAND_ROWS :
		auto_rows ? N_AUTO_ROWS : N_ROWS;
	int			R_BASE = cand ? C_TO : auto_rows ? A_TO0 : R_TO;
	/* the second reference: the damped means, or (--cand, --cost) the default */
	int			R_HEUR = cand ? C_D : auto_rows ? A_DM : R_DM;
	const char *heur = cand ? "D" : "DM";

	printf("\n== %s, splits %d-%d (%d): summed RMSE over %d targets; vs TO and vs %s: paired "
		   "difference of the sums (2 s.e.), + is better; b/w: targets better / worse "
		   "beyond 2 s.e.\n", view, lo, hi - 1, hi - lo, n_t, heur);
	for (int r = 0; r < n_rows; r++)
	{
		double		sum[MAX_SPLITS],
					d_to[MAX_SPLITS],
					d_dm[MAX_SPLITS],
					mu,
					se,
					m_to,
					se_to,
					m_dm,
					se_dm,
					share = 0.0;
		int			b_to = 0,
					w_to = 0,
					b_dm = 0,
					w_dm = 0;
		char		moved[1024] = "";

		for (int s = lo; s < hi; s++)
		{
			sum[s] = d_to[s] = d_dm[s] = 0.0;
			for (int k = 0; k < n_t; k++)
			{
				sum[s] += t[k].c[r][s].test;
				d_to[s] += t[k].c[R_BASE][s].test - t[k].c[r][s].test;
				d_dm[s] += t[k].c[R_HEUR][s].test - t[k].c[r][s].test;
				share += t[k].c[r][s].a / (double) (n_t * (hi - lo));
			}
		}
		for (int k = 0; k < n_t; k++)
		{
			double		x[MAX_SPLITS],
						y[MAX_SPLITS];

			for (int s = lo; s < hi; s++)
			{
				x[s] = t[k].c[R_BASE][s].test - t[k].c[r][s].test;
				y[s] = t[k].c[R_HEUR][s].test - t[k].c[r][s].test;
			}
			mean_se(x, lo, hi, &mu, &se);
			b_to += mu > 2 * se;
			w_to += -mu > 2 * se;
			if (-mu > 2 * se || mu > 2 * se)
				snprintf(moved + strlen(moved), sizeof(moved) - strlen(moved), " %s%s vs TO %+.4f (%.4f)",
						 mu > 0 ? "+" : "-", t[k].name, mu, 2 * se);
			mean_se(y, lo, hi, &mu, &se);
			b_dm += mu > 2 * se;
			w_dm += -mu > 2 * se;
			if (cand && (-mu > 2 * se || mu > 2 * se))
				snprintf(moved + strlen(moved), sizeof(moved) - strlen(moved), " %s%s vs D %+.4f (%.4f)",
						 mu > 0 ? "+" : "-", t[k].name, mu, 2 * se);
		}
		mean_se(sum, lo, hi, &mu, &se);
		mean_se(d_to, lo, hi, &m_to, &se_to);
		mean_se(d_dm, lo, hi, &m_dm, &se_dm);
		printf("%-42s sum %.4f | vs TO %+.4f (%.4f) %+.2f%% b/w %d/%d | vs %s %+.4f (%.4f) "
			   "%+.2f%% b/w %d/%d | mean a/pick %.2f", label[r], mu, m_to, 2 * se_to,
			   100.0 * m_to / (mu + m_to), b_to, w_to, heur, m_dm, 2 * se_dm,
			   100.0 * m_dm / (mu + m_dm), b_dm, w_dm, share);
		if (cand)
		{
			double		secs = 0.0,
						secs_to = 0.0;

			for (int k = 0; k < n_t; k++)
			{
				secs += t[k].seconds[r];
				secs_to += t[k].seconds[C_TO];
			}
			printf(" | time %.2f TO (every split fitted)%s", secs / secs_to, moved);
		}
		printf("\n");
	}
	if (cand)
	{
		fflush(stdout);
		return;
	}
	printf(auto_rows ? "per target, mean RMSE of TO0 / TO / product0 / product / DM:\n" :
		   "per target, mean RMSE of TO / TOD / DM / pick(TOD,DM,1) / shrink(TOD):\n");
	for (int k = 0; k < n_t; k++)
	{
		double		m[5] = {0};
		const int	rr_fit[5] = {R_TO, R_TOD, R_DM, R_PICK_TOD1, R_SHRINK_TOD};
		const int	rr_auto[5] = {A_TO0, A_TO, A_P0, A_P, A_DM};
		const int  *rr = auto_rows ? rr_auto : rr_fit;

		for (int i = 0; i < 5; i++)
			for (int s = lo; s < hi; s++)
				m[i] += t[k].c[rr[i]][s].test / (hi - lo);
		printf("  %-12s %.4f %.4f %.4f %.4f %.4f\n", t[k].name, m[0], m[1], m[2], m[3], m[4]);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	int			lo = 0,
				hi = 6,
				n_parts = 0,
				part[MAX_PARTS][2],
				i = 1;
	bench_mode	mode = MODE_FITS;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 3)
	{
		if (strcmp(argv[i], "--auto") == 0 || strcmp(argv[i], "--cand") == 0 ||
			strcmp(argv[i], "--cost") == 0)
		{
			mode = strcmp(argv[i], "--auto") == 0 ? MODE_AUTO :
				strcmp(argv[i], "--cand") == 0 ? MODE_CAND : MODE_COST;
			i -= 2;
			continue;
		}
		if (i + 2 >= argc)
			break;
		if (strcmp(argv[i], "--splits") == 0)
		{
			lo = atoi(argv[i + 1]);
			hi = atoi(argv[i + 2]);
		}
		else if (strcmp(argv[i], "--part") == 0 && n_parts < MAX_PARTS)
		{
			part[n_parts][0] = atoi(argv[i + 1]);
			part[n_parts][1] = atoi(argv[i + 2]);
			n_parts++;
		}
		else
			break;
	}
	if (argc - i < 2 || lo < 0 || hi > MAX_SPLITS || hi - lo < 2)
	{
		fprintf(stderr, "usage: explicit_real [--auto | --cand | --cost] [--splits lo hi] [--part lo hi]... data_dir view...\n");
		return 2;
	}
	for (int v = i + 1; v < argc; v++)
	{
		char		path[1024];
		target_cells *t = calloc(REAL_MAX_DOMAINS, sizeof(target_cells));
		int			n_t = 0;
		char		name[64] = "";

		if (!t)
			return 1;
		snprintf(path, sizeof(path), "%s/%s.tsv", argv[i], argv[v]);
		for (int s = lo; s < hi; s++)
		{
			real_view	rv;

			real_view_load_split(path, &rv, split_seed_of[s]);
			if (!rv.explicit_fb)
			{
				fprintf(stderr, "%s: implicit feedback\n", rv.name);
				return 2;
			}
			snprintf(name, sizeof(name), "%s", rv.name);
			n_t = rv.n_domains - 1;
			if (mode == MODE_AUTO)
				run_auto_split(&rv, s, t);
			else if (mode == MODE_CAND || mode == MODE_COST)
				run_cand_split(&rv, s, t, mode == MODE_COST);
			for (int k = 1; k < rv.n_domains && mode == MODE_FITS; k++)
			{
				target_cells *tk = &t[k - 1];
				cell		c[N_ROWS] = {0};

				snprintf(tk->name, sizeof(tk->name), "%s", rv.domain[k]);
				run_split(rv.ds[k], s, c);
				for (int r = 0; r < N_ROWS; r++)
					tk->c[r][s] = c[r];
				printf("FIT %s %s split %d (%llu) train %lld valid %lld: TO %.4f/%.4f lr %g ep %d | "
					   "TOD %.4f/%.4f lr %g ep %d | DM %.4f/%.4f | shrink TO a %.2f %.4f, TOD a %.2f %.4f\n",
					   rv.name, rv.domain[k], s, (unsigned long long) split_seed_of[s],
					   (long long) rv.ds[k]->n_split[XD_SPLIT_TRAIN],
					   (long long) rv.ds[k]->n_split[XD_SPLIT_VALID],
					   c[R_TO].valid, c[R_TO].test, c[R_TO].lr, c[R_TO].epochs,
					   c[R_TOD].valid, c[R_TOD].test, c[R_TOD].lr, c[R_TOD].epochs,
					   c[R_DM].valid, c[R_DM].test, c[R_SHRINK_TO].a, c[R_SHRINK_TO].test,
					   c[R_SHRINK_TOD].a, c[R_SHRINK_TOD].test);
				fflush(stdout);
			}
			for (int k = 0; k < rv.n_domains; k++)
			{
				xd_dataset_free(rv.ds[k]);
				free(rv.user_src[k]);
			}
		}
		summary(name, t, n_t, lo, hi, mode);
		for (int p = 0; p < n_parts; p++)
			if (part[p][0] >= lo && part[p][1] <= hi && part[p][1] - part[p][0] >= 2)
				summary(name, t, n_t, part[p][0], part[p][1], mode);
		free(t);
	}
	return 0;
}
