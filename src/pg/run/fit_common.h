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

#endif
