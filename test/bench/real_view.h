/*
 * real_view.h - reading a prepared real view (test/real/prepare.py's
 * format: a header line, then domain, user, item, rating and coded
 * features per row) into one finalized dataset per domain, the source first,
 * then the targets by decreasing size. The reports on real data
 * (report_real.c, report_biao.c) share it.
 */
#ifndef XDREC_REAL_VIEW_H
#define XDREC_REAL_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/dataset.h"

#define REAL_MAX_DOMAINS 40
#define REAL_MAX_FEATURES 16

typedef struct real_view
{
	char		name[64];
	bool		explicit_fb;
	int			n_domains;		/* [0] the source */
	char		domain[REAL_MAX_DOMAINS][32];
	int32_t		shared_users[REAL_MAX_DOMAINS];	/* users the source also has */
	char		feature[REAL_MAX_FEATURES][64];	/* the features' names, in the
												 * schema's order */
	xd_dataset *ds[REAL_MAX_DOMAINS];	/* finalized with split seed 42
									 * (or XD_REAL_SPLIT_SEED) */
	int32_t    *user_src[REAL_MAX_DOMAINS];	/* a target user's source id, or -1
											 * (the source: its own ids) */
} real_view;

/* Reads path into v (the caller frees ds and user_src); exits on a bad file. */
void		real_view_load(const char *path, real_view *v);

#endif
