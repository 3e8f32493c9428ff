/*
 * fit_common.c - the skeleton a training (train_run.c) and an adaptation
 * (adapt_run.c) share: the SQL functions' first arguments and their result,
 * a domain's rows read as the calling role, the job hooks, the test split's
 * metrics (DESIGN section 5), and the JSON of a version and of a summary.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "xdrec/clock.h"
#include "xdrec/cold.h"
#include "xdrec/metrics.h"
#include "run/run.h"

/* a source domain needs at least this much to be worth training on */
#define XDPG_MIN_TRAIN_ROWS 20
/* a target needs a few training rows and two items to be adapted */
#define XDPG_MIN_TARGET_ROWS 20
/* ... except for method fewshot, whose support may be tiny (fewshot.h) */
#define XDPG_MIN_FEWSHOT_ROWS 2
#define XDPG_MIN_ITEMS 2

void
xdpg_json_num(StringInfo b, const char *key, double x, bool comma)
{
	if (comma)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	if (isnan(x) || isinf(x))
		appendStringInfoString(b, ": null");
	else
		appendStringInfo(b, ": %.6g", x);
}

void
xdpg_json_int(StringInfo b, const char *key, int64 x, bool comma)
{
	if (comma)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfo(b, ": " INT64_FORMAT, x);
}

/*
 * Arguments 0 (the model) and 1 (the domain, named domain_arg in the error),
 * both required.
 */
void
xdpg_fit_args(FunctionCallInfo fcinfo, const char *domain_arg, char **name, char **domain)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", domain_arg)));
	*name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	*domain = text_to_cstring(PG_GETARG_TEXT_PP(1));
}

/*
 * The domain's keys and rows, read as the calling role in a user span
 * (owner.c: feature expressions run as the caller, who stays the caller,
 * with search_path pinned). A source builds the
 * model's vocabularies from its rows; a target keeps the source's frozen
 * ones, already in md. Errors when the domain is too small to fit, unless
 * too_small is given (adapt's auto, issue 20): then a domain with rows but
 * too few to fit is read again with every row in the training split (what
 * serving it by popularity counts), and *too_small says why (else NULL).
 */
xd_dataset *
xdpg_fit_load_rows(XdModelDef *md, const char *name, const char *domain, bool is_source,
				   bool fewshot, XdKeyMap *users, XdKeyMap *items, XdGuard *guard,
				   XdLoadCounts *counts, char **too_small)
{
	int			min_rows = is_source ? XDPG_MIN_TRAIN_ROWS :
		fewshot ? XDPG_MIN_FEWSHOT_ROWS : XDPG_MIN_TARGET_ROWS;
	XdSpan		span;
	xd_dataset *ds;

	xdpg_user_begin(&span);
	xdpg_load_keys(md, domain, true, users);
	xdpg_load_keys(md, domain, false, items);
	if (users->n == 0)
	{
		/* the nearest domain of the relation, read as the caller */
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2] = {Int64GetDatum(md->id), CStringGetTextDatum(domain)};
		char	   *hint = NULL;

		if (SPI_execute_with_args("SELECT xdrec_internal.domain_hint(m, $2) FROM xdrec.model m "
								  "WHERE m.id OPERATOR(pg_catalog.=) $1",
								  2, types, vals, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			hint = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("domain %s of model \"%s\" has no rows with a user and an item", domain, name),
				 hint ? errhint("%s", hint) : 0));
	}
	if (is_source)
		xdpg_build_vocabulary(md, domain);
	ds = xdpg_load_domain(md, domain, users, items, guard, counts);
	if (too_small)
		*too_small = NULL;
	if (too_small && counts->rows_used > 0 &&
		(ds->n_split[XD_SPLIT_TRAIN] < min_rows || ds->n_items < XDPG_MIN_ITEMS))
	{
		*too_small = psprintf(INT64_FORMAT " training rows and %d item%s, below the %d training rows and %d items %s",
							  ds->n_split[XD_SPLIT_TRAIN], (int) ds->n_items,
							  ds->n_items == 1 ? "" : "s", min_rows, XDPG_MIN_ITEMS,
							  fewshot ? "method fewshot needs" :
							  "the methods need (fewshot, with a source trained with option fewshot, needs 2 and 2)");
		xd_dataset_free(guard->ds);
		guard->ds = NULL;
		md->all_train = true;
		ds = xdpg_load_domain(md, domain, users, items, guard, counts);
		md->all_train = false;
		xdpg_span_end(&span);
		return ds;
	}
	xdpg_span_end(&span);

	if (counts->rows_used == 0 || ds->n_split[XD_SPLIT_TRAIN] < min_rows ||
		ds->n_items < XDPG_MIN_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s domain %s has too little data to %s model \"%s\": " INT64_FORMAT " training rows, %d items",
						is_source ? "source" : "target", domain, is_source ? "train" : "adapt", name,
						counts->rows_used ? ds->n_split[XD_SPLIT_TRAIN] : 0, (int) ds->n_items),
				 is_source ? errdetail("Rows read " INT64_FORMAT ", skipped " INT64_FORMAT ".",
									   counts->rows_read, counts->rows_read - counts->rows_used) : 0,
				 errhint("A %s domain needs at least %d training rows (80%% of its rows) and %d items%s.",
						 is_source ? "source" : "target", min_rows, XDPG_MIN_ITEMS,
						 is_source ? "" : fewshot ? " for method fewshot" :
						 " (method fewshot, with a source trained with option fewshot, needs 2)")));
	return ds;
}

/*
 * The test split's metrics (JSON text), with the paper's sampled protocol
 * (DESIGN section 5), or RMSE and MAE for explicit feedback.
 */
char *
xdpg_fit_test_metrics(const XdModelDef *md, const xd_dataset *ds,
					  xd_score_fn score, void *score_arg)
{
	xd_eval_opts eo;
	xd_rating_metrics ratings,
				base_ratings;
	xd_rank_metrics ranks,
				base_ranks;
	xd_status	st;
	StringInfoData metrics;

	xd_eval_opts_default(&eo);
	eo.hooks.stop = xdpg_stop;
	if (md->explicit_fb)
	{
		float		mean = (float) ds->rating_mean;

		st = xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, score, score_arg, &ratings);
		if (st == XD_OK)
			st = xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_constant_score, &mean, &base_ratings);
	}
	else
	{
		xd_popularity *pop = NULL;

		st = xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, score, score_arg, &ranks);
		/* the baseline xdrec.overview weighs the version against */
		if (st == XD_OK)
			st = xd_popularity_fit(ds, &pop);
		if (st == XD_OK)
			st = xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_popularity_score, pop, &base_ranks);
		xd_popularity_free(pop);
	}
	xdpg_check_status(st, "evaluating");

	initStringInfo(&metrics);
	appendStringInfoString(&metrics, "{");
	if (md->explicit_fb)
	{
		xdpg_json_num(&metrics, "rmse", ratings.rmse, false);
		xdpg_json_num(&metrics, "mae", ratings.mae, true);
		xdpg_json_int(&metrics, "n", ratings.n, true);
		xdpg_json_int(&metrics, "excluded", ratings.n_excluded, true);
		appendStringInfoString(&metrics, ", \"mean\": {");
		xdpg_json_num(&metrics, "rmse", base_ratings.rmse, false);
		appendStringInfoString(&metrics, "}");
	}
	else
	{
		/* the names xdrec.evaluate gives them under either protocol */
		xdpg_json_num(&metrics, "hit@1", ranks.h1, false);
		xdpg_json_num(&metrics, "hit@5", ranks.h5, true);
		xdpg_json_num(&metrics, "hit@10", ranks.h10, true);
		xdpg_json_num(&metrics, "ndcg@10", ranks.ndcg10, true);
		xdpg_json_num(&metrics, "mrr", ranks.mrr, true);
		xdpg_json_int(&metrics, "n", ranks.n, true);
		xdpg_json_int(&metrics, "excluded", ranks.n_excluded, true);
		appendStringInfoString(&metrics, ", \"popularity\": {");
		xdpg_json_num(&metrics, "hit@10", base_ranks.h10, false);
		xdpg_json_num(&metrics, "mrr", base_ranks.mrr, true);
		appendStringInfoString(&metrics, "}");
	}
	appendStringInfoString(&metrics, "}");
	return metrics.data;
}

/*
 * Whether rank's default keeps a user's seen items (option exclude_seen,
 * as the version's reader decides it from the recorded share).
 */
bool
xdpg_fit_keeps_seen(const XdModelDef *md, const xd_dataset *ds)
{
	return strcmp(md->exclude_seen, "never") == 0 ||
		(strcmp(md->exclude_seen, "auto") == 0 && xd_dataset_repeat_share(ds) >= XD_REPEAT_AUTO_SHARE);
}

/*
 * A version's encoder JSON: its config, sizes, split seed and feature
 * schema; cold_min > 0: serving ranks a trained user with fewer training
 * rows by the cold path (option cold_min, when validation preferred it:
 * cold_fit.c); repeat_auto: cfg's repeat term was resolved from option
 * repeat "auto" (xdpg_fit_repeat_auto); repeat_pop > 0: the weight of
 * popularity in context among the user's own lifted items
 * (xdpg_fit_repeat_pop), absent when 0, as in every version before it;
 * context_popularity > 0: the weight of popularity in context on every
 * item (xdpg_fit_context_popularity), absent when 0 likewise.
 */
char *
xdpg_fit_encoder_json(const XdModelDef *md, const xd_config *cfg, uint64 seed,
					  const xd_dataset *ds, const char *domain, int cold_min, bool repeat_auto,
					  float repeat_pop, float context_popularity)
{
	StringInfoData encoder;

	initStringInfo(&encoder);
	appendStringInfo(&encoder, "{\"format\": 1, \"config\": %s, \"n_users\": %d, \"n_items\": %d, "
					 "\"rating_mean\": %.9g, \"split_seed\": " UINT64_FORMAT ", \"schema\": %s",
					 xdpg_config_json(md, cfg), (int) ds->n_users, (int) ds->n_items,
					 ds->rating_mean, (uint64) xdpg_split_seed(seed, domain),
					 xdpg_features_json(md, &ds->enc));
	/*
	 * the share of training rows repeating a (user, item) pair: option
	 * exclude_seen's auto decides rank's default from it, and repeat's
	 * auto decided the config's "repeat" (docs/serving.md)
	 */
	appendStringInfo(&encoder, ", \"repeat_share\": %.6g", xd_dataset_repeat_share(ds));
	if (repeat_auto)
		appendStringInfoString(&encoder, ", \"repeat_auto\": true");
	if (repeat_pop > 0.0f)
		appendStringInfo(&encoder, ", \"repeat_pop\": %.9g", repeat_pop);
	if (context_popularity > 0.0f)
		appendStringInfo(&encoder, ", \"context_popularity\": %.9g", context_popularity);
		/* the split by time, which evaluate must repeat whatever the model says now */
	if (md->time_col)
	{
		appendStringInfoString(&encoder, ", \"time_col\": ");
		escape_json(&encoder, md->time_col);
	}
	/* the users left out of training, which evaluate's protocol 'cold' ranks */
	if (md->cold_holdout > 0)
		appendStringInfo(&encoder, ", \"cold_holdout\": %.9g, \"cold_holdout_seed\": " INT64_FORMAT,
						 md->cold_holdout, (int64) md->cfg.seed);
	if (cold_min > 0)
		appendStringInfo(&encoder, ", \"cold_min\": %d", cold_min);
	appendStringInfoString(&encoder, "}");
	return encoder.data;
}

/* The served domain's stats JSON, for xdpg_deploy. */
char *
xdpg_fit_stats_json(int64 rows, const xd_dataset *ds)
{
	StringInfoData stats;

	initStringInfo(&stats);
	appendStringInfoString(&stats, "{");
	xdpg_json_int(&stats, "rows", rows, false);
	xdpg_json_int(&stats, "users", ds->n_users, true);
	xdpg_json_int(&stats, "items", ds->n_items, true);
	xdpg_json_int(&stats, "m", ds->enc.schema.m, true);
	appendStringInfoString(&stats, "}");
	return stats.data;
}

/* A summary opens with the model and the domain ... */
void
xdpg_fit_summary_begin(StringInfo b, const char *name, const char *domain)
{
	initStringInfo(b);
	appendStringInfoString(b, "{\"model\": ");
	escape_json(b, name);
	appendStringInfoString(b, ", \"domain\": ");
	escape_json(b, domain);
}

/* ... has the rows read and used, the users, the items and the split ... */
void
xdpg_fit_summary_data(StringInfo b, const XdLoadCounts *counts, const xd_dataset *ds)
{
	xdpg_json_int(b, "rows_read", counts->rows_read, true);
	xdpg_json_int(b, "rows_used", counts->rows_used, true);
	xdpg_json_int(b, "users", ds->n_users, true);
	xdpg_json_int(b, "items", ds->n_items, true);
	appendStringInfoString(b, ", \"split\": {");
	xdpg_json_int(b, "train", ds->n_split[XD_SPLIT_TRAIN], false);
	xdpg_json_int(b, "valid", ds->n_split[XD_SPLIT_VALID], true);
	xdpg_json_int(b, "test", ds->n_split[XD_SPLIT_TEST], true);
	appendStringInfoString(b, "}");
}

/*
 * ... has the epochs run and the best one, with its validation metric
 * (named metric) and standard error in "best_valid", left open for more ...
 */
void
xdpg_fit_summary_best(StringInfo b, int epochs, int best_epoch, const char *metric,
					  double best, double se)
{
	xdpg_json_int(b, "epochs", epochs, true);
	xdpg_json_int(b, "best_epoch", best_epoch, true);
	appendStringInfoString(b, ", \"best_valid\": {");
	xdpg_json_num(b, metric, best, false);
	xdpg_json_num(b, "se", se, true);
}

/* ... and closes with the version written and the whole call's seconds. */
void
xdpg_fit_summary_end(StringInfo b, int64 version_id, double t0)
{
	xdpg_json_int(b, "version", version_id, true);
	xdpg_json_num(b, "seconds", xd_clock_seconds() - t0, true);
	appendStringInfoString(b, "}");
}

/*
 * The SQL function's jsonb result from the summary, copied out of the SPI
 * context before SPI_finish frees it.
 */
Datum
xdpg_fit_result(const char *summary)
{
	Jsonb	   *j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(summary)));
	Jsonb	   *out = SPI_palloc(VARSIZE(j));

	memcpy(out, j, VARSIZE(j));
	SPI_finish();
	return JsonbPGetDatum(out);
}

/*
 * The learning-rate search of a fit (docs/training.md): every rate tried,
 * its best validation metric and epochs, and the rate kept.
 */
void
xdpg_fit_summary_lr_search(StringInfo b, const XdModelDef *md, const xd_lr_search *search)
{
	appendStringInfoString(b, ", \"lr_search\": {\"tried\": [");
	for (int i = 0; i < search->n; i++)
	{
		appendStringInfo(b, "%s{", i ? ", " : "");
		xdpg_json_num(b, "lr", search->lr[i], false);
		xdpg_json_num(b, md->explicit_fb ? "valid_rmse" : "valid_mrr", search->metric[i], true);
		xdpg_json_int(b, "epochs", search->epochs[i], true);
		appendStringInfoString(b, "}");
	}
	appendStringInfoString(b, "]");
	if (search->n > 0)
		xdpg_json_num(b, "chosen", search->lr[search->chosen], true);
	appendStringInfoString(b, "}");
}

/*
 * Option repeat "auto" for a fit on ds: cfg's term resolved from the
 * domain's own repeat share (xd_config_repeat_from_data: the lift from a
 * quarter of repeated training rows up, none below). Returns whether the
 * option was "auto" (then the summary and the version say so). below
 * (NULL: the share alone): set where the share gave no term on implicit
 * feedback, for validation to decide the lift (train.h,
 * xd_repeat_auto_decide): train fits it and decides right after the fit
 * (xdpg_fit_repeat_decide), adapt adds it to the method kept
 * (xd_transfer_repeat_decide).
 */
bool
xdpg_fit_repeat_auto(xd_config *cfg, const xd_dataset *ds, bool *below)
{
	bool		resolved = xd_config_repeat_from_data(cfg, xd_dataset_repeat_share(ds));

	if (below)
		*below = resolved && !cfg->repeat && cfg->feedback == XD_IMPLICIT;
	return resolved;
}

/*
 * The popularity table the decision ranks the weights with
 * (xd_repeat_auto_table: the prior's table a cold module counts), or NULL
 * without one: option cold off, or no module to serve the weight from (a
 * target whose source version has none: cold_fit.c), as a "lift" fit then
 * gets no weight.
 */
xd_cold *
xdpg_fit_repeat_table(const XdModelDef *md, bool module, const xd_config *cfg,
					  const xd_dataset *ds)
{
	xd_cold    *table = NULL;

	if (md->cold && module)
		xdpg_check_status(xd_repeat_auto_table(cfg, ds, &table),
						  "counting the repeat decision's popularity table");
	return table;
}

/*
 * ... the decision below the share in train (train.h,
 * xd_repeat_auto_decide), on the fitted model whose lift is calibrated,
 * before anything is trained on it: the popularity weights are ranked from
 * the table above, which is freed here: the weight served is chosen again
 * once the module is trained (xdpg_fit_repeat_pop). Not kept: the term
 * leaves the model and cfg (xd_model_drop_repeat).
 *
 * Why before the cold fit (and DRR's encoders): the module follows the warm term (cold.h: the
 * task's repeat weight rho, "cold.rep.W", and the own-items-first floor,
 * "cold.rep.floor", trained and chosen with the rest of it), so a module
 * trained beside a term taken off afterwards would differ from today's in
 * more than the pieces that could be zeroed. Decided first, a domain that
 * keeps no term trains its module on the model without one and stores
 * exactly what a fit below the share stored before: no repeat term, no
 * cold repeat pieces, no repeat_pop. Returns whether the term is kept.
 */
bool
xdpg_fit_repeat_decide(xd_model *model, xd_config *cfg, const XdModelDef *md,
					   const xd_dataset *ds, const xd_hooks *hooks,
					   xd_repeat_pop_calibration *out)
{
	xd_train_opts o;
	xd_cold    *table = xdpg_fit_repeat_table(md, true, &model->cfg, ds);
	xd_status	st;

	xd_train_opts_default(&o, &model->cfg);
	o.valid_max = md->val_sample;
	o.hooks = *hooks;
	st = xd_repeat_auto_decide(model, NULL, 0.0f, table, ds, &o, out);
	/* the table is borrowed by the weight: off before it goes */
	if (st == XD_OK)
		st = xd_model_set_repeat_pop(model, NULL, 0.0f);
	if (st == XD_OK && !out->term_kept)
	{
		st = xd_model_drop_repeat(model, false);
		cfg->repeat = cfg->repeat_lift = false;
	}
	xd_cold_free(table);
	xdpg_check_status(st, "deciding the repeat term on validation");
	return out->term_kept;
}

/*
 * ... and the summary's record of it: the share, the threshold and the
 * term applied ("lift" or "none"); decided below the share (decision
 * NULL or not decided: none), the validation MRRs of the lift with its
 * best weight and of no term, the s.e. of their paired difference and
 * whether the term was kept
 */
void
xdpg_fit_summary_repeat_auto(StringInfo b, bool repeat_auto, const xd_config *cfg,
							 const xd_dataset *ds, const xd_repeat_pop_calibration *decision)
{
	if (!repeat_auto)
		return;
	appendStringInfoString(b, ", \"repeat_auto\": {");
	xdpg_json_num(b, "repeat_share", xd_dataset_repeat_share(ds), false);
	xdpg_json_num(b, "at_least", XD_REPEAT_AUTO_SHARE, true);
	appendStringInfo(b, ", \"applied\": \"%s\"", cfg->repeat_lift ? "lift" : "none");
	if (decision && decision->decided)
	{
		double		best = 0.0;

		for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
			best = Max(best, decision->mrr[k]);
		appendStringInfoString(b, ", \"decided\": true");
		appendStringInfo(b, ", \"term_kept\": %s", decision->term_kept ? "true" : "false");
		xdpg_json_num(b, "valid_mrr_lift", best, true);
		xdpg_json_num(b, "valid_mrr_off", decision->mrr_off, true);
		xdpg_json_num(b, "se", decision->se_gain, true);
		xdpg_json_int(b, "n", decision->n_valid, true);
	}
	appendStringInfoString(b, "}");
}

/*
 * The repeat term's calibration (train.h), when it ran: the candidate kept
 * ("learned", "lift" or "off"), the lift (0 unless "lift"), each
 * candidate's validation MRR and the positives ranked.
 */
void
xdpg_fit_summary_repeat(StringInfo b, const xd_repeat_calibration *cal)
{
	static const char *const names[XD_REPEAT_CANDIDATES] = {
		"learned", "lift 0.5", "lift 1", "lift 2", "lift 4", "lift 8", "lift 1000", "off"
	};

	if (cal->n_valid == 0)
		return;
	appendStringInfoString(b, ", \"repeat\": {\"kept\": ");
	escape_json(b, cal->chosen == XD_REPEAT_LEARNED ? "learned" :
				cal->chosen == XD_REPEAT_OFF ? "off" : "lift");
	xdpg_json_num(b, "lift", cal->shift, true);
	appendStringInfoString(b, ", \"valid_mrr\": {");
	for (int k = 0; k < XD_REPEAT_CANDIDATES; k++)
		xdpg_json_num(b, names[k], cal->mrr[k], k > 0);
	appendStringInfoString(b, "}");
	xdpg_json_int(b, "n", cal->n_valid, true);
	appendStringInfoString(b, "}");
}

/*
 * Popularity in context among the user's own lifted items (train.h,
 * xd_repeat_pop_calibrate), chosen on the fit's validation once the cold
 * module's prior table is counted (table: the module, or NULL: weight 0);
 * second blended at a (NULL: none). Set on the model(s).
 */
void
xdpg_fit_repeat_pop(xd_model *model, xd_model *second, float a, const struct xd_cold *table,
					const xd_dataset *ds, int valid_max, const xd_hooks *hooks,
					xd_repeat_pop_calibration *out)
{
	xd_train_opts o;

	xd_train_opts_default(&o, &model->cfg);
	o.valid_max = valid_max;
	o.hooks = *hooks;
	xdpg_check_status(xd_repeat_pop_calibrate(model, second, a, table, ds, &o, out),
					  "choosing the repeat term's popularity in context");
}

/*
 * ... in the summary, for a lift-only term: the weight kept, each weight's
 * validation MRR, its MRR among the item's other contexts, the sampled
 * protocol's MRR expected from the two with the s.e. of its paired
 * difference from weight 0's (the choice reads it), and the positives
 * ranked (0: not chosen, no prior table)
 */
/* key: {"0": x[0], ..., "1000": x[7]}, one value per weight of the ladder */
static void
json_per_weight(StringInfo b, const char *key, const double x[XD_REPEAT_POP_WEIGHTS])
{
	appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfoString(b, ": {");
	for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
		xdpg_json_num(b, psprintf("%g", xd_repeat_pop_ladder[k]), x[k], k > 0);
	appendStringInfoString(b, "}");
}

void
xdpg_fit_summary_repeat_pop(StringInfo b, const xd_config *cfg,
							const xd_repeat_pop_calibration *cal)
{
	if (!cfg->repeat || !cfg->repeat_lift)
		return;
	appendStringInfoString(b, ", \"repeat_pop\": {");
	xdpg_json_num(b, "weight", cal->weight, false);
	if (cal->n_valid > 0)
	{
		json_per_weight(b, "valid_mrr", cal->mrr);
		json_per_weight(b, "valid_ctx_mrr", cal->ctx_mrr);
		json_per_weight(b, "valid_sampled_mrr", cal->sampled_mrr);
		json_per_weight(b, "valid_sampled_se", cal->sampled_se);
	}
	xdpg_json_int(b, "n", cal->n_valid, true);
	appendStringInfoString(b, "}");
}

/*
 * Popularity in context on every item (train.h, xd_pop_all_choose): option
 * context_popularity's weight on what serving scores (second: a blend's
 * other fit, at a, alike; may be NULL), from the cold module's prior
 * table, kept unless validation reads it worse than none beyond
 * XD_POP_ALL_MARGIN standard errors. Set as soon as the module is trained
 * (cold_fit.c): never in training, after the choices made before the
 * module (the learning rate, the method, the lift's decision), while
 * cold_min's comparison and the own-item weight, chosen after it, see the
 * served scores. Returns why none, or NULL: the option 0, explicit
 * feedback, no table to read (option cold false, no user with two rows, a
 * prior too large to keep), or validation.
 */
const char *
xdpg_fit_context_popularity(const XdModelDef *md, xd_model *model, xd_model *second, float a,
							const struct xd_cold *table, const xd_dataset *ds,
							const xd_hooks *hooks, xd_pop_all_choice *out)
{
	xd_train_opts o;

	memset(out, 0, sizeof(*out));
	if (!(md->context_popularity > 0.0f))
		return "option context_popularity is 0";
	if (md->explicit_fb)
		return "explicit feedback: the term ranks implicit feedback only";
	if (!table || !table->prior_N)
		return "no cold-start context prior to read it from (option cold false, or a prior too large to keep)";
	xd_train_opts_default(&o, &model->cfg);
	o.valid_max = md->val_sample;
	o.hooks = *hooks;
	xdpg_check_status(xd_pop_all_choose(model, second, a, table, ds, &o, md->context_popularity, out),
					  "choosing popularity in context on validation");
	if (out->weight > 0.0f)
		return NULL;
	return out->n > 0 ? "validation: the model ranks better without it (beyond one standard error)"
		: "no validation positive to check it on";
}

/* ... in the summary: the weight kept (0 and why: none), its validation check */
void
xdpg_fit_summary_context_popularity(StringInfo b, const xd_pop_all_choice *c, const char *why)
{
	appendStringInfoString(b, ", \"context_popularity\": {");
	xdpg_json_num(b, "weight", c->weight, false);
	if (c->n > 0)
	{
		xdpg_json_num(b, "valid_mrr_on", c->valid_on, true);
		xdpg_json_num(b, "valid_mrr_off", c->valid_off, true);
		xdpg_json_num(b, "se", c->se, true);
		xdpg_json_int(b, "n", c->n, true);
	}
	if (why)
	{
		appendStringInfoString(b, ", \"reason\": ");
		escape_json(b, why);
	}
	appendStringInfoString(b, "}");
}

/*
 * The validation metric and its standard error from every validation
 * positive's own term (xd_train_validate, xd_transfer_validation): 1/rank,
 * whose mean is the MRR; or minus the squared error, whose mean is minus the
 * MSE (core/fit/metrics.c computes both with their standard errors).
 */
static void
validation_from_terms(double *each, int64 n, bool explicit_fb, XdValidation *out)
{
	xd_metric_se m;

	out->n = n;
	if (n <= 0 || each == NULL)
	{
		out->metric = NAN;
		out->se = NAN;
		return;
	}
	if (explicit_fb)
	{
		xd_metric_se mae;

		for (int64 i = 0; i < n; i++)
			each[i] = -each[i];
		xd_rating_summary_of(each, n, &m, &mae);
	}
	else
	{
		xd_rank_summary rs;

		xd_rank_summary_of(each, n, &rs);
		m = rs.mrr;
	}
	out->metric = m.value;
	out->se = m.se;
}

/*
 * The validation of a fit from the per-positive terms a core call returned
 * (st; each, freed here, and n), or the call's error.
 */
void
xdpg_fit_validation(xd_status st, double *each, int64 n, bool explicit_fb, XdValidation *out)
{
	if (st == XD_OK)
		validation_from_terms(each, n, explicit_fb, out);
	free(each);
	xdpg_check_status(st, "validating");
}

/*
 * A version's metrics (xdrec.version.metrics): the test metrics (JSON), the
 * validation, the per-epoch curve, the epochs, the data and the fit's
 * seconds; left open for what a run adds.
 */
void
xdpg_fit_version_metrics(StringInfo vm, const XdModelDef *md, const char *test,
						 const XdValidation *valid, const XdCurve *curve, int epochs,
						 int best_epoch, int64 rows, const xd_dataset *ds, double seconds)
{
	initStringInfo(vm);
	appendStringInfo(vm, "{\"test\": %s, \"valid\": ", test);
	xdpg_validation_json(vm, md, valid);
	appendStringInfo(vm, ", \"curve\": %s", xdpg_curve_json(curve));
	xdpg_json_int(vm, "max_epochs", md->epochs, true);
	xdpg_json_int(vm, "epochs", epochs, true);
	xdpg_json_int(vm, "best_epoch", best_epoch, true);
	xdpg_json_int(vm, "rows", rows, true);
	xdpg_json_int(vm, "users", ds->n_users, true);
	xdpg_json_int(vm, "items", ds->n_items, true);
	xdpg_json_num(vm, "seconds", seconds, true);
}

/* A version's "valid" object: {"mrr": x, "se": s, "n": n} (or "rmse"). */
void
xdpg_validation_json(StringInfo b, const XdModelDef *md, const XdValidation *v)
{
	appendStringInfoString(b, "{");
	xdpg_json_num(b, md->explicit_fb ? "rmse" : "mrr", v->metric, false);
	xdpg_json_num(b, "se", v->se, true);
	xdpg_json_int(b, "n", v->n, true);
	appendStringInfoString(b, "}");
}

static int
curve_stop(void *arg)
{
	XdCurve    *c = arg;

	return c->inner ? xd_hooks_stopped(c->inner) : xdpg_stop(NULL);
}

/*
 * Called by the core after each epoch, outside any transaction in a job: it
 * must not raise, so a point that finds no memory is left out.
 */
static void
curve_progress(void *arg, const xd_epoch_report *r)
{
	XdCurve    *c = arg;

	if (c->n == c->cap)
	{
		int			cap = Max(64, 2 * c->cap);
		XdCurvePoint *p = MemoryContextAllocExtended(c->cxt, sizeof(XdCurvePoint) * cap,
													 MCXT_ALLOC_NO_OOM);

		if (p != NULL)
		{
			if (c->n > 0)
				memcpy(p, c->points, sizeof(XdCurvePoint) * c->n);
			c->points = p;
			c->cap = cap;
		}
	}
	if (c->n < c->cap)
	{
		XdCurvePoint *p = &c->points[c->n++];

		p->epoch = r->epoch;
		p->loss = r->loss;
		p->lr = r->lr;
		p->metric = r->metric_is_loss ? NAN : r->metric;
		p->rows_per_sec = r->positives_per_sec;
		p->seconds = r->seconds;
	}
	c->last_epoch = Max(c->last_epoch, r->epoch);
	if (c->inner)
		xd_hooks_report(c->inner, r);
}

/* After the fit: on to inner, numbered after the fit's epochs, not in the curve. */
static void
curve_after_progress(void *arg, const xd_epoch_report *r)
{
	XdCurve    *c = arg;
	xd_epoch_report numbered = *r;

	numbered.epoch += c->last_epoch;
	numbered.best_epoch = 0;
	if (c->inner)
		xd_hooks_report(c->inner, &numbered);
}

void
xdpg_curve_init(XdCurve *c, MemoryContext cxt, const xd_hooks *inner)
{
	memset(c, 0, sizeof(*c));
	c->cxt = cxt;
	c->inner = inner;
	c->hooks.stop = curve_stop;
	c->hooks.stop_arg = c;
	c->hooks.progress = curve_progress;
	c->hooks.progress_arg = c;
	c->after = c->hooks;
	c->after.progress = curve_after_progress;
}

/* [{"epoch": 1, "loss": .., "valid": .., "lr": .., "rows_per_sec": .., "seconds": ..}, ...] */
char *
xdpg_curve_json(const XdCurve *c)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "[");
	for (int i = 0; i < c->n; i++)
	{
		const XdCurvePoint *p = &c->points[i];

		appendStringInfoString(&b, i ? ", {" : "{");
		xdpg_json_int(&b, "epoch", p->epoch, false);
		xdpg_json_num(&b, "loss", p->loss, true);
		xdpg_json_num(&b, "valid", p->metric, true);
		xdpg_json_num(&b, "lr", p->lr, true);
		xdpg_json_num(&b, "rows_per_sec", p->rows_per_sec, true);
		xdpg_json_num(&b, "seconds", p->seconds, true);
		appendStringInfoString(&b, "}");
	}
	appendStringInfoString(&b, "]");
	return b.data;
}
