/*
 * fit_common.h - what xdrec.train (train_fn.c) and xdrec.adapt (adapt_fn.c)
 * share: their arguments, the domain's rows, the job hooks, the test
 * metrics, the version's JSON and the summary's frame. Each caller says
 * only what differs between a source trained and a target adapted.
 */
#ifndef XDREC_FIT_COMMON_H
#define XDREC_FIT_COMMON_H

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "xdrec_pg.h"

extern void xdpg_fit_args(FunctionCallInfo fcinfo, const char *domain_arg,
						  char **name, char **domain);
extern xd_dataset *xdpg_fit_load_rows(XdModelDef *md, const char *name,
									  const char *domain, bool is_source,
									  XdKeyMap *users, XdKeyMap *items,
									  XdGuard *guard, XdLoadCounts *counts);
extern void xdpg_fit_hooks(const XdRunHooks *hooks, xd_stop_fn *stop, void **stop_arg,
						   xd_progress_fn *progress, void **progress_arg);
extern char *xdpg_fit_test_metrics(const XdModelDef *md, const xd_dataset *ds,
								   xd_score_fn score, void *score_arg);
extern char *xdpg_fit_encoder_json(const XdModelDef *md, const xd_config *cfg,
								   uint64 seed, const xd_dataset *ds,
								   const char *domain);
extern char *xdpg_fit_stats_json(int64 rows, const xd_dataset *ds);
extern void xdpg_fit_summary_begin(StringInfo b, const char *name, const char *domain);
extern void xdpg_fit_summary_split(StringInfo b, const xd_dataset *ds);
extern void xdpg_fit_summary_end(StringInfo b, int64 version_id, double t0);
extern Datum xdpg_fit_result(const char *summary);
extern void xdpg_fit_summary_lr_search(StringInfo b, const XdModelDef *md,
									   const xd_lr_search *search);
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

extern void xdpg_validation_from_terms(double *each, int64 n, bool explicit_fb,
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
	const XdRunHooks *inner;
	XdRunHooks	hooks;			/* what the fit is given */
	int			n;
	int			cap;
	XdCurvePoint *points;
} XdCurve;

extern void xdpg_curve_init(XdCurve *c, MemoryContext cxt, const XdRunHooks *inner);
extern char *xdpg_curve_json(const XdCurve *c);

/* deploy.c: the deploy policy and pruning after a run wrote a version */
extern const char *xdpg_deploy_policy(const XdModelDef *md, const char *requested);
extern bool xdpg_deploy_decide(const XdModelDef *md, const char *domain, const char *role,
							   const char *policy, const XdValidation *valid, char **reason);
extern int64 xdpg_prune_versions(const XdModelDef *md, const char *domain);
extern void xdpg_deploy_after_run(XdModelDef *md, const char *domain, const char *role,
								  const char *policy, const XdValidation *valid,
								  int64 version_id, const char *stats_json, StringInfo b);

#endif
