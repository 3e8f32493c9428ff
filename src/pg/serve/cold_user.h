/*
 * cold_user.h - ranking users without a trained embedding (cold_user.c):
 * from their rows in the model's relation, or an anonymous history.
 */
#ifndef XDREC_COLD_USER_H
#define XDREC_COLD_USER_H

#include "xdrec/cold.h"
#include "serve/serve.h"

/* how a ranked user was served (docs/serving.md) */
typedef enum XdServedAs
{
	XDPG_SERVED_WARM,			/* a trained embedding */
	XDPG_SERVED_COLD_ROWS,		/* the cold-start module, from their rows */
	XDPG_SERVED_HISTORY			/* the cold-start module, from history => */
} XdServedAs;

/* a cold user's side of the model, pooled once per call */
typedef struct XdColdUser
{
	XdVersion  *v;
	XdServedAs	served_as;
	xd_cold_task task;			/* malloc'd; freed with the call's context */
	int			n_support;		/* positives pooled */
	int			n_seen;
	int32	   *seen;			/* their items, which exclude_seen drops */
} XdColdUser;

extern XdColdUser *xdpg_cold_from_rows(XdServed *s, const char *model, const char *domain,
									   const char *user_text, int64 user_int, bool is_int);
extern XdColdUser *xdpg_cold_from_history(XdServed *s, const char *model, const char *domain,
										  Jsonb *history);
extern void xdpg_cold_scores(XdColdUser *cu, const float *c, bool exclude_seen, float *scores);

#endif
