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

/*
 * The served weight on pr (its model and its blend's), chosen on ds's
 * validation into cal; returns the table it reads (NULL when the prior does
 * not fit ds's items: weight 0, as a module without a prior gives), to be
 * passed to served_repeat_pop_off once pr has been scored
 */
static xd_cold *
served_repeat_pop(xd_transfer_result *pr, const xd_dataset *ds, xd_repeat_pop_calibration *cal)
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

/* the weight taken off pr again, and the table freed */
static void
served_repeat_pop_off(xd_transfer_result *pr, xd_cold *table)
{
	CHECK(xd_model_set_repeat_pop(pr->model, NULL, 0.0f));
	if (pr->blend)
		CHECK(xd_model_set_repeat_pop(pr->blend->model, NULL, 0.0f));
	xd_cold_free(table);
}

#endif
