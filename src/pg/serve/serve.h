/*
 * serve.h - the serving layer (src/pg/serve/): the per-backend cache of
 * served versions (version_cache.c), which reads a version once through
 * store/version_read.c, and the cache of item-tower outputs per (version,
 * encoded context) (item_cache.c). A query goes forward: version_cache.c ->
 * (version_read.c) -> data/context.c -> item_cache.c -> the core's scoring.
 */
#ifndef XDREC_PG_SERVE_H
#define XDREC_PG_SERVE_H

#include "store/store.h"

#include "xdrec/serve.h"

/* version_cache.c */
typedef struct XdServed XdServed;
extern XdServed *xdpg_served(const char *name);
extern int64 xdpg_served_model_id(XdServed *s);
extern bool xdpg_served_explicit(XdServed *s);
extern bool xdpg_served_int_keys(XdServed *s);
extern const char *xdpg_served_key_type(XdServed *s, bool user);
extern XdVersion *xdpg_lookup_user(XdServed *s, const char *model, const char *domain,
								   const char *user_text, int64 user_int, bool is_int,
								   int32 *user_id);
extern void xdpg_unknown_user(const char *model, const char *domain, const char *user_text,
							  int64 user_int, bool is_int) pg_attribute_noreturn();
extern XdModelDef *xdpg_served_model(XdServed *s);
extern XdVersion *xdpg_find_user(XdServed *s, const char *model, const char *domain,
								 const char *user_text, int64 user_int, bool is_int,
								 int32 *user_id);
extern XdVersion *xdpg_version_for_domain(XdServed *s, const char *model,
										  const char *domain);
extern int	xdpg_served_domains(XdServed *s, char ***domains);
extern int	xdpg_cached_versions(XdVersion ***versions);

/* route.c */
extern char *xdpg_route(const char *model, const char *domain, Datum user_keys,
						char **to_domain);
extern void xdpg_route_rows(FunctionCallInfo fcinfo, const char *node, const char *model,
							const char *domain, const char *proxy, const char *sql, int nargs,
							Oid *types, Datum *vals, const char *nulls);

/* new_items.c: candidates that arrived after training (issue 19) */
typedef struct XdNewItems
{
	int			n;
	Datum	   *keys;			/* [n] int8 or text, in key order */
	float	   *c;				/* [n * m] the call's context, each its own item-scoped part */
	float	   *E;				/* [n * d] their mapped embeddings */
} XdNewItems;
extern void xdpg_new_items(XdServed *s, XdVersion *v, const float *c, Datum *keys, int n_keys,
						   XdNewItems *out);
extern void xdpg_new_item_place(const XdVersion *v, const XdNewItems *ni, int j, float *row);

/* item_cache.c */
extern const xd_item_outputs *xdpg_item_outputs(XdVersion *v, const float *c);
extern void xdpg_item_outputs_drop_version(XdVersion *v);
extern void xdpg_score_unseen(XdVersion *v, const float *c, int32 user, const xd_seen *seen,
							  float *scores);
extern xd_status xdpg_version_score(void *version, const xd_batch *b, float *scores);

#endif
