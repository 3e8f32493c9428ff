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
	xd_dataset *ds[REAL_MAX_DOMAINS];	/* finalized (split) with the
										 * loader's split seed */
	int32_t    *user_src[REAL_MAX_DOMAINS];	/* a target user's source id, or -1
											 * (the source: its own ids) */
} real_view;

/*
 * Reads path into v (the caller frees ds and user_src); exits on a bad file.
 * Every domain is split with split_seed (_split), or with 42 unless
 * XD_REAL_SPLIT_SEED=n in the environment says n, so that a report can be
 * rerun on other splits.
 */
void		real_view_load(const char *path, real_view *v);
void		real_view_load_split(const char *path, real_view *v, uint64_t split_seed);

/* XD_REAL_SPLIT_SEED's value if it is set, else fallback */
uint64_t	real_split_seed_or(uint64_t fallback);

#endif
