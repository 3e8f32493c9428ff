/*
 * xdrec.h - what is truly global to the PostgreSQL layer (xdrec.c): the
 * settings (GUCs) and the checks every entry point makes first. Each folder
 * of src/pg has its own header for the rest (docs/architecture.md):
 * data/data.h, store/store.h, serve/serve.h, run/run.h, jobs/jobs.h.
 */
#ifndef XDREC_H
#define XDREC_H

#include "postgres.h"

/* GUCs (xdrec.c) */
extern char *xdrec_default_model;
extern int	xdrec_train_memory;
extern int	xdrec_cache_memory;
extern int	xdrec_item_cache_memory;
extern int	xdrec_unknown_category;

/* how the last ranking call was served: the read-only xdrec.served_as */
extern void xdpg_set_served_as(const char *how);

/* xdrec.unknown_category: a categorical value outside the vocabulary */
typedef enum XdUnknownCategory
{
	XDPG_UNKNOWN_NOTICE,
	XDPG_UNKNOWN_ERROR,
	XDPG_UNKNOWN_IGNORE
} XdUnknownCategory;

extern void xdpg_check_catalog_version(void);
extern void xdpg_check_writable(const char *what);

#endif
