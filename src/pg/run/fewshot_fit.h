/*
 * fewshot_fit.h - the few-shot meta-learner (s2Meta, xdrec/fewshot.h)
 * meta-trained in train's fit phase (fewshot_fit.c), kept between the run's
 * phases and written with the version.
 */
#ifndef XDREC_FEWSHOT_FIT_H
#define XDREC_FEWSHOT_FIT_H

#include "lib/stringinfo.h"

#include "xdrec/fewshot.h"
#include "run/run.h"

typedef struct XdFewshotFit
{
	bool		enabled;		/* option fewshot */
	xd_fewshot *fs;				/* NULL: not trained */
	xd_fewshot_report rep;
} XdFewshotFit;

extern XdFewshotFit *xdpg_fewshot_fit(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
									  const xd_hooks *hooks, MemoryContext cxt);
extern void xdpg_fewshot_fit_json(StringInfo b, const XdFewshotFit *f);

#endif
