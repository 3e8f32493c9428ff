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
	XDPG_SERVED_HISTORY,		/* the cold-start module, from history => */
	XDPG_SERVED_POPULAR			/* popularity in the domain (on_unknown 'popular') */
} XdServedAs;

/* a cold user's side of the model, pooled once per call */
typedef struct XdColdUser
{
	XdVersion  *v;
	XdServedAs	served_as;		/* COLD_ROWS, HISTORY or POPULAR (no task) */
	xd_cold_task task;			/* malloc'd; freed with the call's context */
	int			n_support;		/* positives pooled */
	int			n_seen;
	int32	   *seen;			/* their items, which exclude_seen drops */
	int			n_new_seen;
	Datum	   *new_seen;		/* ... items that arrived after training, by
								 * key (int8 or text), among new candidates */
} XdColdUser;

/*
 * popular_ok: a version without a cold-start module serves the user by
 * popularity (xdpg_popular_user) instead of an error; a version of a domain
 * served by popularity (xdpg_version_popular) always does.
 */
extern XdColdUser *xdpg_cold_from_rows(XdServed *s, const char *model, const char *domain,
									   const char *user_text, int64 user_int, bool is_int,
									   bool popular_ok);
extern XdColdUser *xdpg_cold_from_history(XdServed *s, const char *model, const char *domain,
										  Jsonb *history, bool popular_ok);
extern bool xdpg_version_popular(const XdVersion *v);
extern bool xdpg_cold_min_applies(const XdVersion *v, int32 user);
extern bool xdpg_cold_rows_readable(XdServed *s);
extern XdColdUser *xdpg_cold_min_user(XdServed *s, const char *model, const char *domain,
									  const char *user_text, int64 user_int, bool is_int);
extern bool xdpg_cold_saw_new_item(const XdColdUser *cu, Datum key);
extern XdColdUser *xdpg_popular_user(XdServed *s, const char *model, const char *domain);
extern XdColdUser *xdpg_popular_known_user(XdServed *s, const char *model, const char *domain,
										   int32 user);
extern void xdpg_cold_scores(XdColdUser *cu, const float *c, bool exclude_seen, float *scores);
extern void xdpg_count_served(XdVersion *v, XdServedAs how);
extern const char *xdpg_served_as_name(XdServedAs how);

#endif
