/*
 * biao_fit.h - option source_weighting 'biao' in xdrec.train (biao_fit.c):
 * the targets' training rows read in the load phase, the perceptron
 * weighting the source's batches in the fit phase, its parameters written
 * with the version.
 */
#ifndef XDREC_BIAO_FIT_H
#define XDREC_BIAO_FIT_H

#include "lib/stringinfo.h"

#include "xdrec/biao.h"
#include "run/run.h"

typedef struct XdBiaoFit
{
	bool		enabled;		/* option source_weighting is 'biao' */
	int			n_targets;		/* the target domains read, */
	char	  **names;			/* [n_targets] their names */
	xd_dataset **targets;		/* [n_targets] their rows (each its guard's) */
	int			n_skipped;		/* domains too small to read as a target */
	xd_biao    *biao;			/* the perceptron; NULL before the fit */
	int			upper;			/* option biao_upper: xd_biao_upper */
	/* after training: n_pos w over the source's training positives */
	int64		n_weights;
	double		w_min,
				w_q10,
				w_median,
				w_q90,
				w_max,
				w_below;		/* the share of positives weighted below 1 */
	/* the option biao_keep highest, then lowest weighted positives */
	int			n_top,
				n_bottom;
	int64	   *keep_rows;		/* [n_top + n_bottom] rows of the source */
	float	   *keep_w;			/* [n_top + n_bottom] their n_pos w */
} XdBiaoFit;

extern XdBiaoFit *xdpg_biao_load(XdModelDef *md, const char *name, const char *source,
								 MemoryContext cxt);
extern void xdpg_biao_begin(XdBiaoFit *f, const XdModelDef *md, xd_model *model,
							const xd_dataset *src, xd_train_opts *opts);
extern void xdpg_biao_end(XdBiaoFit *f, const XdModelDef *md, xd_model *model,
						  const xd_dataset *src);
extern void xdpg_biao_version_json(StringInfo b, const XdBiaoFit *f, const XdModelDef *md,
								   const xd_dataset *src, const XdKeyMap *users,
								   const XdKeyMap *items);
extern void xdpg_biao_free(void *f);
extern void xdpg_biao_fit_json(StringInfo b, const XdBiaoFit *f, double train_seconds);

#endif
