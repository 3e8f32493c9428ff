/*
 * run.h - the run layer (src/pg/run/): a training (train_run.c) or an
 * adaptation (adapt_run.c) in three phases, load (SPI connected, as the
 * current role), fit (the core alone) and store (SPI connected: the version
 * written and served; returns the summary). The calling session runs them in
 * one transaction; a background job (jobs/worker.c) commits between them,
 * and gives the fit its hooks (xdrec/hooks.h: its cancel check and progress
 * rows).
 * What both share (fit_common.c: their arguments, the domain's rows, the job
 * hooks, the test metrics, the version's JSON and the summary's frame) and
 * the deploy policy after a run (deploy.c).
 */
#ifndef XDREC_PG_RUN_H
#define XDREC_PG_RUN_H

#include "store/store.h"

#include "xdrec/fewshoteval.h"
#include "xdrec/train.h"

typedef struct XdTrainRun XdTrainRun;
extern XdTrainRun *xdpg_train_load(const char *name, const char *domain, const char *deploy,
								   MemoryContext cxt);
extern void xdpg_train_fit(XdTrainRun *run, const xd_hooks *hooks);
extern char *xdpg_train_store(XdTrainRun *run);

typedef struct XdAdaptRun XdAdaptRun;
extern XdAdaptRun *xdpg_adapt_load(const char *name, const char *domain,
								   const char *method, const char *deploy,
								   MemoryContext cxt);
extern void xdpg_adapt_fit(XdAdaptRun *run, const xd_hooks *hooks);
extern char *xdpg_adapt_store(XdAdaptRun *run);
/* ... or, instead of fit and store, evaluate's protocol 'fewshot' */
extern bool xdpg_adapt_evaluate_fewshot(XdAdaptRun *run, int64 support, int seed,
										xd_fse_result *res, int64 *n_rows);

extern const char *xdpg_train_source_domain(const XdModelDef *md, const char *requested);
extern xd_transfer_method xdpg_adapt_method(const char *name, bool *fewshot);

/* fit_common.c */
extern void xdpg_json_num(StringInfo b, const char *key, double x, bool comma);
extern void xdpg_json_int(StringInfo b, const char *key, int64 x, bool comma);
extern void xdpg_fit_args(FunctionCallInfo fcinfo, const char *domain_arg,
						  char **name, char **domain);
extern xd_dataset *xdpg_fit_load_rows(XdModelDef *md, const char *name,
									  const char *domain, bool is_source, bool fewshot,
									  XdKeyMap *users, XdKeyMap *items,
									  XdGuard *guard, XdLoadCounts *counts,
									  char **too_small);
extern char *xdpg_fit_test_metrics(const XdModelDef *md, const xd_dataset *ds,
								   xd_score_fn score, void *score_arg);
extern char *xdpg_fit_encoder_json(const XdModelDef *md, const xd_config *cfg,
								   uint64 seed, const xd_dataset *ds,
								   const char *domain, int cold_min, bool repeat_auto,
								   float repeat_pop, float context_popularity);
extern char *xdpg_fit_stats_json(int64 rows, const xd_dataset *ds);
extern bool xdpg_fit_keeps_seen(const XdModelDef *md, const xd_dataset *ds);
extern void xdpg_fit_summary_begin(StringInfo b, const char *name, const char *domain);
extern void xdpg_fit_summary_data(StringInfo b, const XdLoadCounts *counts, const xd_dataset *ds);
extern void xdpg_fit_summary_best(StringInfo b, int epochs, int best_epoch, const char *metric,
								  double best, double se);
extern void xdpg_fit_summary_end(StringInfo b, int64 version_id, double t0);
extern Datum xdpg_fit_result(const char *summary);
extern void xdpg_fit_summary_lr_search(StringInfo b, const XdModelDef *md,
									   const xd_lr_search *search);
extern void xdpg_fit_summary_repeat(StringInfo b, const xd_repeat_calibration *cal);
extern void xdpg_fit_repeat_pop(xd_model *model, xd_model *second, float a,
								const struct xd_cold *table, const xd_dataset *ds,
								int valid_max, const xd_hooks *hooks,
								xd_repeat_pop_calibration *out);
extern void xdpg_fit_summary_repeat_pop(StringInfo b, const xd_config *cfg,
										const xd_repeat_pop_calibration *cal);
extern const char *xdpg_fit_context_popularity(const XdModelDef *md, xd_model *model,
											   xd_model *second, float a,
											   const struct xd_cold *table,
											   const xd_dataset *ds, const xd_hooks *hooks,
											   xd_pop_all_choice *out);
extern void xdpg_fit_summary_context_popularity(StringInfo b, const xd_pop_all_choice *c,
												const char *why);
extern bool xdpg_fit_repeat_auto(xd_config *cfg, const xd_dataset *ds, bool *below);
extern struct xd_cold *xdpg_fit_repeat_table(const XdModelDef *md, bool module,
											 const xd_config *cfg, const xd_dataset *ds);
extern bool xdpg_fit_repeat_decide(xd_model *model, xd_config *cfg, const XdModelDef *md,
								   const xd_dataset *ds, const xd_hooks *hooks,
								   xd_repeat_pop_calibration *out);
extern void xdpg_fit_summary_repeat_auto(StringInfo b, bool repeat_auto, const xd_config *cfg,
										 const xd_dataset *ds,
										 const xd_repeat_pop_calibration *decision);
/* models in memory at once while a fit searches its rate (two state copies) */
#define XDPG_SEARCH_MODELS(md) ((md)->lr_search > 1 ? 2 : 0)

/*
 * A version's validation: its metric (MRR, or RMSE for explicit feedback)
 * over n positives, with the standard error the deploy policy weighs.
 */
typedef struct XdValidation
{
	double		metric;
	double		se;
	int64		n;
} XdValidation;

extern void xdpg_fit_validation(xd_status st, double *each, int64 n, bool explicit_fb,
								XdValidation *out);
extern void xdpg_validation_json(StringInfo b, const XdModelDef *md, const XdValidation *v);

/*
 * The per-epoch curve of a run (xdrec.training_info), recorded by its
 * progress callback in the foreground as in a job, which it passes on to
 * (inner: a job's hooks, or NULL).
 */
typedef struct XdCurvePoint
{
	int			epoch;
	double		loss;
	double		metric;
	double		lr;				/* its fit's base rate (the search's) */
	double		rows_per_sec;
	double		seconds;
} XdCurvePoint;

typedef struct XdCurve
{
	MemoryContext cxt;
	const xd_hooks *inner;		/* a job's, or NULL: the session's interrupts */
	xd_hooks	hooks;			/* what the fit is given */
	xd_hooks	after;			/* what the fit phase runs after it is given */
	int			last_epoch;		/* the last epoch the fit reported */
	int			n;
	int			cap;
	XdCurvePoint *points;
} XdCurve;

/*
 * c->hooks record the fit's epochs in the curve and pass them on to inner;
 * c->after pass what the fit phase trains after the fit (DRR's encoders) on
 * to inner only, its epochs numbered after the fit's (a job's progress rows
 * go on; the version's curve is the fit's).
 */
extern void xdpg_curve_init(XdCurve *c, MemoryContext cxt, const xd_hooks *inner);
extern char *xdpg_curve_json(const XdCurve *c);
extern void xdpg_fit_version_metrics(StringInfo vm, const XdModelDef *md, const char *test,
									 const XdValidation *valid, const XdCurve *curve, int epochs,
									 int best_epoch, int64 rows, const xd_dataset *ds, double seconds);

/* deploy.c: the deploy policy and pruning after a run wrote a version */
extern const char *xdpg_deploy_policy(const XdModelDef *md, const char *requested);
extern bool xdpg_deploy_decide(const XdModelDef *md, const char *domain, const char *role,
							   const char *policy, const XdValidation *valid, char **reason);
extern int64 xdpg_prune_versions(const XdModelDef *md, const char *domain);
extern void xdpg_deploy_after_run(XdModelDef *md, const char *domain, const char *role,
								  const char *policy, const XdValidation *valid,
								  int64 version_id, const char *stats_json, StringInfo b);

#endif
