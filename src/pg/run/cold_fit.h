/*
 * cold_fit.h - the cold-start module meta-trained in train's fit phase
 * (cold_fit.c), kept between the run's phases and written with the version.
 */
#ifndef XDREC_COLD_FIT_H
#define XDREC_COLD_FIT_H

#include "lib/stringinfo.h"

#include "xdrec/cold.h"
#include "run/run.h"

typedef struct XdColdFit
{
	bool		enabled;		/* option cold */
	xd_cold    *cold;			/* NULL: not trained */
	xd_cold_report rep;
} XdColdFit;

extern XdColdFit *xdpg_cold_fit(const XdModelDef *md, xd_model *model, const xd_dataset *ds,
								const xd_hooks *hooks, MemoryContext cxt);
extern void xdpg_cold_fit_json(StringInfo b, const XdColdFit *f);

#endif
