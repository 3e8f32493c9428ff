/*
 * cold_fit.h - the cold-start module meta-trained in train's fit phase
 * (cold_fit.c), kept between the run's phases and written with the version;
 * evaluate's protocol 'cold' on the users held out of training (cold_eval.c).
 */
#ifndef XDREC_COLD_FIT_H
#define XDREC_COLD_FIT_H

#include "lib/stringinfo.h"

#include "xdrec/cold.h"
#include "xdrec/coldeval.h"
#include "run/run.h"
#include "serve/serve.h"

typedef struct XdColdFit
{
	bool		enabled;		/* option cold */
	xd_cold    *cold;			/* NULL: not trained */
	xd_cold_report rep;			/* the kept module's (a target's: its candidate's) */
	bool		target;			/* an adapted target's (xdpg_cold_fit_target) */
	const char *reason;			/* a target without a module: why */
	xd_cold_target_report trep;
	/* the item co-occurrence prior: its table and lambda (xd_cold_cooc_fit) */
	xd_cold_cooc_report crep;
	/* option cold_min: warm or cold path for users with few rows */
	xd_cold_min_report mrep;	/* min_rows 0: not compared */
	const char *min_reason;		/* ... why not, when the option is on */
	/* popularity in context on every item, set from the module's prior */
	xd_pop_all_choice pop_all;	/* its weight (0: none) and validation, */
	const char *pop_all_why;	/* ... why none (NULL: kept, or not wanted) */
} XdColdFit;

extern XdColdFit *xdpg_cold_fit(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
								const xd_hooks *hooks, MemoryContext cxt);
extern XdColdFit *xdpg_cold_fit_target(const XdModelDef *md, xd_model *model,
									   xd_model *second, float a,
									   const xd_dataset *ds, xd_cold *source,
									   bool own_towers, const char *without, bool pop_all,
									   const xd_hooks *hooks, MemoryContext cxt);
extern void xdpg_cold_fit_json(StringInfo b, const XdColdFit *f);
extern int	xdpg_cold_fit_min_rows(const XdColdFit *f);

/* cold_eval.c */
extern void xdpg_eval_use_vocabularies(XdModelDef *md, const XdVersion *v);
extern void xdpg_eval_use_encoding(xd_dataset *ds, const XdVersion *v);
extern void xdpg_cold_evaluate(XdServed *s, const char *name, const char *domain, int seed,
							   xd_coldeval_result *res, int64 *n_read);

#endif
