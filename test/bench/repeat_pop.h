/*
 * repeat_pop.h - popularity in context among the user's own lifted items,
 * applied by the reports (report_real.c, report_transfer.c) as xdrec.adapt
 * serves it: after the transfer and the target's cold fit, adapt_run.c
 * (xdpg_fit_repeat_pop) calls xd_repeat_pop_calibrate on what serving scores
 * (a blend's two fits alike) with the target module's context-prior table
 * and the train options' defaults but the model's val_sample (its default is
 * the options' own). The weight reads only the table's counts, which a
 * target's module takes from the target's training rows (cold.h,
 * xd_cold_prior_count; no joint cell by default), so the reports count the
 * table alone instead of meta-training the module.
 * Static functions: each report program includes it once.
 */
#ifndef XDREC_REPEAT_POP_H
#define XDREC_REPEAT_POP_H

#include "xdrec/cold.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"
#include "report_common.h"

#include <stdbool.h>

/*
 * The served weight on pr (its model and its blend's), chosen on ds's
 * validation into cal; returns the table it reads (NULL when the prior does
 * not fit ds's items: weight 0, as a module without a prior gives), to be
 * passed to served_repeat_pop_off once pr has been scored
 */
static xd_cold *served_repeat_pop_each(xd_transfer_result *pr, const xd_dataset *ds,
									   xd_repeat_pop_calibration *cal, double **each);

static xd_cold *
served_repeat_pop(xd_transfer_result *pr, const xd_dataset *ds, xd_repeat_pop_calibration *cal)
{
	return served_repeat_pop_each(pr, ds, cal, NULL);
}

/* ... with each (not NULL) the per-positive terms (xd_repeat_pop_each) */
static xd_cold *
served_repeat_pop_each(xd_transfer_result *pr, const xd_dataset *ds, xd_repeat_pop_calibration *cal,
					   double **each)
{
	xd_cold    *table = NULL;
	xd_train_opts to;

	if (xd_cold_prior_fits(&ds->enc.schema, ds->n_items))
	{
		CHECK(xd_cold_new(&pr->model->cfg, &ds->enc.schema, ds->n_items, false, XD_COLD_HIDDEN,
						  xd_model_max_rows(pr->model), &table));
		CHECK(xd_cold_prior_count(table, ds));
	}
	xd_train_opts_default(&to, &pr->model->cfg);
	if (each)
		CHECK(xd_repeat_pop_each(pr->model, pr->blend ? pr->blend->model : NULL, pr->blend_a,
								 table, ds, &to, false, cal, each));
	else
		CHECK(xd_repeat_pop_calibrate(pr->model, pr->blend ? pr->blend->model : NULL, pr->blend_a,
									  table, ds, &to, cal));
	return table;
}

/*
 * each weight's validation MRR to stderr: full ranking, among the item's
 * other contexts (s.e. of the paired difference from weight 0's) and the
 * sampled protocol's expected from the two (the same)
 */
static void
served_repeat_pop_log(const xd_repeat_pop_calibration *cal)
{
	for (int wi = 0; wi < XD_REPEAT_POP_WEIGHTS; wi++)
		fprintf(stderr, " %g:%.4f", xd_repeat_pop_ladder[wi], cal->mrr[wi]);
	fprintf(stderr, "; in other contexts");
	for (int wi = 0; wi < XD_REPEAT_POP_WEIGHTS; wi++)
		fprintf(stderr, " %g:%.4f(%.4f)", xd_repeat_pop_ladder[wi], cal->ctx_mrr[wi], cal->ctx_se[wi]);
	fprintf(stderr, "; sampled expected");
	for (int wi = 0; wi < XD_REPEAT_POP_WEIGHTS; wi++)
		fprintf(stderr, " %g:%.4f(%.4f)", xd_repeat_pop_ladder[wi], cal->sampled_mrr[wi],
				cal->sampled_se[wi]);
}

/*
 * Option repeat "auto" below its share (implicit feedback), as xdrec.adapt
 * resolves it for a target (xdpg_fit_repeat_auto): whether ds's rows give
 * no term by the share, so validation decides the lift after the transfer
 */
static bool
served_repeat_below(const xd_config *cfg, const xd_dataset *ds)
{
	xd_config	rc = *cfg;

	rc.repeat_auto = true;
	return xd_config_repeat_from_data(&rc, xd_dataset_repeat_share(ds)) && !rc.repeat &&
		rc.feedback == XD_IMPLICIT;
}

/* what a kept decision changes in a result and its blend's, to undo it */
typedef struct served_repeat_saved
{
	xd_config	cfg[2];
	xd_repeat_calibration repeat[2];
} served_repeat_saved;

/*
 * The decision below the share on pr (the fit or blend served; its fits
 * without a term), as adapt_run.c makes it after the transfer:
 * xd_transfer_repeat_decide with the popularity table a target's cold
 * module counts (xd_repeat_auto_table) and the transfer options of the fits
 * (seed: theirs). Returns whether the lift is kept; kept, pr's fits carry
 * it (calibrated) until served_repeat_undo, with what it changed in saved.
 */
static bool
served_repeat_decide_each(xd_transfer_result *pr, const xd_dataset *ds, uint64_t seed,
						  xd_repeat_pop_calibration *cal, served_repeat_saved *saved,
						  double **each);

static bool
served_repeat_decide(xd_transfer_result *pr, const xd_dataset *ds, uint64_t seed,
					 xd_repeat_pop_calibration *cal, served_repeat_saved *saved)
{
	return served_repeat_decide_each(pr, ds, seed, cal, saved, NULL);
}

/*
 * ... and with each (not NULL) the decision's per-positive terms on
 * validation, as served (xd_transfer_repeat_decide_each; malloc'd, the
 * caller frees them)
 */
static bool
served_repeat_decide_each(xd_transfer_result *pr, const xd_dataset *ds, uint64_t seed,
						  xd_repeat_pop_calibration *cal, served_repeat_saved *saved,
						  double **each)
{
	xd_transfer_opts o;
	xd_cold    *table = NULL;

	xd_transfer_opts_default(&o);
	o.seed = seed;
	saved->cfg[0] = pr->cfg;
	saved->repeat[0] = pr->repeat;
	if (pr->blend)
	{
		saved->cfg[1] = pr->blend->cfg;
		saved->repeat[1] = pr->blend->repeat;
	}
	CHECK(xd_repeat_auto_table(&pr->model->cfg, ds, &table));
	CHECK(xd_transfer_repeat_decide_each(pr, table, ds, &o, cal, each));
	xd_cold_free(table);
	return cal->term_kept;
}

/* the decision's validation MRR with the lift, at its best weight */
static double
served_repeat_best(const xd_repeat_pop_calibration *cal)
{
	double		best = 0.0;

	for (int wi = 0; wi < XD_REPEAT_POP_WEIGHTS; wi++)
		best = cal->mrr[wi] > best ? cal->mrr[wi] : best;
	return best;
}

/* a kept decision taken back: pr's fits as xd_transfer returned them */
static void
served_repeat_undo(xd_transfer_result *pr, const served_repeat_saved *saved)
{
	CHECK(xd_model_drop_repeat(pr->model, true));
	pr->cfg = saved->cfg[0];
	pr->repeat = saved->repeat[0];
	if (pr->blend)
	{
		CHECK(xd_model_drop_repeat(pr->blend->model, true));
		pr->blend->cfg = saved->cfg[1];
		pr->blend->repeat = saved->repeat[1];
	}
}

/* a popularity term's setter (core.h) applied to pr's model and its blend's */
static void
served_set_each(xd_transfer_result *pr, xd_status (*set) (xd_model *, const xd_cold *, float),
				const xd_cold *table, float w)
{
	CHECK(set(pr->model, table, w));
	if (pr->blend)
		CHECK(set(pr->blend->model, table, w));
}

/* the weight taken off pr again, and the table freed */
static void
served_repeat_pop_off(xd_transfer_result *pr, xd_cold *table)
{
	served_set_each(pr, xd_model_set_repeat_pop, NULL, 0.0f);
	xd_cold_free(table);
}

#endif
