/*
 * rank_fn.c - xdrec.rank, the short form xdrec_rank, xdrec.rank_many and
 * xdrec.predict (DESIGN section 6): find the user's served version in the
 * cache, encode the caller's context, and let the core's serving code
 * (xdrec/serve.h) score every item from the item-tower outputs cached for
 * that context (serve/item_cache.c, docs/serving.md), drop seen items (from
 * the cached version, no table scan) and non-candidates, keep the top k
 * (xd_top_k), and for rank_many group the users by context. Read-only:
 * works on a hot standby.
 *
 * k must be in 1..10000 (an error otherwise); fewer rows come back when the
 * domain has fewer candidates (after exclude_seen and candidates).
 * Candidate keys the version does not know (items that arrived after
 * training) are ranked from their item-scoped features when the model has
 * any and they have rows (serve/new_items.c), else left out with a NOTICE;
 * repeats are ignored.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "xdrec/transfer.h"
#include "serve/serve.h"
#include "serve/cold_user.h"

#define XDPG_MAX_K 10000

/* The encoded context of the call: ctx by name or ctx_vector, user profile filled in. */
static float *
encode_context(const char *model, XdVersion *v, int32 user, Jsonb *ctx, ArrayType *ctx_vector)
{
	const xd_schema *s = &v->enc.schema;
	float	   *c = palloc0(sizeof(float) * Max(s->m, 1));

	if (ctx_vector)
	{
		if (ctx && !(JB_ROOT_IS_OBJECT(ctx) && JB_ROOT_COUNT(ctx) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("give the context either by name in ctx or encoded in ctx_vector, not both"),
					 errhint("Pass ctx => NULL or '{}' with ctx_vector.")));
		xdpg_ctx_vector(model, s, ctx_vector, c);
	}
	else
	{
		float	   *num = palloc(sizeof(float) * Max(s->n_num, 1));
		int32	   *codes = palloc(sizeof(int32) * Max(s->n_codes, 1));

		xdpg_ctx_from_jsonb(model, v->features, s, ctx, num, codes);
		xd_encode_raw(&v->enc, user, -1, num, codes, c);
	}
	return c;
}

static int32
item_id(XdServed *s, XdVersion *v, Datum key, bool int_form)
{
	if (int_form)
		return xdpg_key_find_int(&v->items, DatumGetInt64(key));
	return xdpg_key_find(&v->items, xdpg_key_normalise(xdpg_served_key_type(s, false),
													   TextDatumGetCString(key)));
}

static const char *
user_text(XdServed *s, Datum key)
{
	return xdpg_key_normalise(xdpg_served_key_type(s, true), TextDatumGetCString(key));
}

/*
 * rank's and rank_many's on_unknown: what a user without a trained
 * embedding gets (docs/serving.md)
 */
typedef enum OnUnknown
{
	ON_UNKNOWN_COLD,			/* ranked from their rows; else rank fails and
								 * rank_many leaves them out */
	ON_UNKNOWN_POPULAR,			/* ... else by popularity in the domain, as is
								 * a domain without a cold-start module */
	ON_UNKNOWN_SKIP,			/* left out */
	ON_UNKNOWN_ERROR			/* the call fails */
} OnUnknown;

static OnUnknown
on_unknown_arg(FunctionCallInfo fcinfo, int arg)
{
	char	   *s;

	if (PG_NARGS() <= arg || PG_ARGISNULL(arg))
		return ON_UNKNOWN_COLD;
	s = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	if (strcmp(s, "cold") == 0)
		return ON_UNKNOWN_COLD;
	if (strcmp(s, "popular") == 0)
		return ON_UNKNOWN_POPULAR;
	if (strcmp(s, "skip") == 0)
		return ON_UNKNOWN_SKIP;
	if (strcmp(s, "error") == 0)
		return ON_UNKNOWN_ERROR;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("on_unknown must be 'cold', 'popular', 'skip' or 'error', not \"%s\"", s)));
	return ON_UNKNOWN_COLD;
}

typedef struct RankArgs
{
	char	   *name;
	bool		int_form;
	Datum		user;
	Jsonb	   *ctx;
	int			k;
	char	   *domain;
	int			exclude_seen;	/* 1 leaves seen items out, 0 keeps them, -1 the version's */
	ArrayType  *candidates;
	ArrayType  *ctx_vector;
	Jsonb	   *history;		/* an anonymous session (user NULL), or NULL */
	OnUnknown	on_unknown;
} RankArgs;

static XdServed *
served_for(const char *name, bool int_form)
{
	XdServed   *s = xdpg_served(name);

	if (int_form && !xdpg_served_int_keys(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" has text user or item keys, so its bigint form cannot return them", name),
				 errhint("Use the text form: pass user_key as text, e.g. xdrec.rank('%s', user_key::text, ctx, k).", name)));
	return s;
}

/*
 * exclude_seen as the caller gave it (1, 0), or NULL (-1): the version's
 * own, decided at training from its data (option exclude_seen, docs/serving.md)
 */
static int
exclude_seen_arg(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? -1 : PG_GETARG_BOOL(arg);
}

static bool
exclude_of(const XdVersion *v, int exclude_seen)
{
	return exclude_seen < 0 ? v->exclude_seen : exclude_seen != 0;
}

/*
 * The items v's users have seen: left out (exclude_seen), or kept as their
 * history for the repeat term (core.h; NULL when the model has none).
 */
static const xd_seen *
seen_of(XdVersion *v, bool exclude_seen, xd_seen *buf)
{
	if (!exclude_seen && !xd_model_has_repeat(v->model))
		return NULL;
	buf->off = v->seen_off;
	buf->items = v->seen_items;
	buf->keep = !exclude_seen;
	return buf;
}

static void
check_k(int k)
{
	if (k <= 0 || k > XDPG_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", XDPG_MAX_K, k)));
}

/* item keys (int8, or text in "C" order: bytes, then length) */
static int
cmp_key(const void *a, const void *b, void *arg)
{
	Datum		x = *(const Datum *) a,
				y = *(const Datum *) b;
	int			lx,
				ly,
				r;

	if (*(bool *) arg)
		return DatumGetInt64(x) < DatumGetInt64(y) ? -1 : DatumGetInt64(x) > DatumGetInt64(y);
	lx = VARSIZE_ANY_EXHDR(DatumGetPointer(x));
	ly = VARSIZE_ANY_EXHDR(DatumGetPointer(y));
	r = memcmp(VARDATA_ANY(DatumGetPointer(x)), VARDATA_ANY(DatumGetPointer(y)), Min(lx, ly));
	return r != 0 ? r : (lx > ly) - (lx < ly);
}

/*
 * The given candidates the version knows, as a mask over its items; those
 * it does not know (items that arrived after training) into *unknown (int8,
 * or text normalised as the version's keys), sorted and without repeats,
 * for new_candidates. Repeats and NULLs are ignored.
 */
static uint8 *
candidate_mask(XdServed *s, XdVersion *v, ArrayType *candidates, bool int_form,
			   Datum **unknown, int *n_unknown)
{
	uint8	   *keep = palloc0(Max(v->items.n, 1));
	Datum	   *elems;
	bool	   *nulls;
	int			ne;

	if (int_form)
		deconstruct_array(candidates, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &nulls, &ne);
	else
		deconstruct_array(candidates, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &ne);
	*unknown = palloc(sizeof(Datum) * Max(ne, 1));
	*n_unknown = 0;
	for (int i = 0; i < ne; i++)
	{
		int32		id;

		if (nulls[i])
			continue;
		id = item_id(s, v, elems[i], int_form);
		if (id >= 0)
			keep[id] = 1;
		else
			(*unknown)[(*n_unknown)++] = int_form ? elems[i]
				: CStringGetTextDatum(xdpg_key_normalise(xdpg_served_key_type(s, false),
														 TextDatumGetCString(elems[i])));
	}
	qsort_arg(*unknown, *n_unknown, sizeof(Datum), cmp_key, &int_form);
	if (*n_unknown > 1)
	{
		int			u = 1;

		for (int i = 1; i < *n_unknown; i++)
			if (cmp_key(&(*unknown)[i], &(*unknown)[u - 1], &int_form) != 0)
				(*unknown)[u++] = (*unknown)[i];
		*n_unknown = u;
	}
	return keep;
}

/*
 * Candidates the version does not know (items that arrived after training,
 * issue 19): in a version with item-scoped features, for a trained user, a
 * cold user or a history (cu), those with rows in the domain come back in
 * *ni, scored into ni_scores,
 * from their features (serve/new_items.c); every other one is left out
 * with a NOTICE that counts them, names one and says why, so none is
 * dropped silently.
 */
static void
new_candidates(const char *model, XdServed *s, XdVersion *v, int32 user, XdColdUser *cu,
			   const float *c, Datum *unknown, int n_unknown, bool int_form, XdNewItems *ni,
			   float **ni_scores)
{
	int			left = 0,
				first = -1;
	bool		popular = cu && cu->served_as == XDPG_SERVED_POPULAR;
	const char *why;

	memset(ni, 0, sizeof(*ni));
	*ni_scores = NULL;
	if (n_unknown == 0)
		return;
	if (v->has_item_scope && !popular)
	{
		xdpg_new_items(s, v, c, unknown, n_unknown, ni);
		*ni_scores = palloc(sizeof(float) * Max(ni->n, 1));
		/* a cold user or history: its modulated tower (cold.h) */
		xdpg_check_status(cu ? xd_cold_score_embedded(v->cold, v->model, &cu->task, ni->E, ni->c,
													  ni->n, *ni_scores)
						  : xd_score_embedded_items(v->model, user, ni->c, ni->E, ni->n,
													*ni_scores), "scoring new items");
	}
	/* both in key order ("C" for text): one walk finds the ones left out */
	for (int i = 0, j = 0; i < n_unknown; i++)
	{
		while (j < ni->n && cmp_key(&ni->keys[j], &unknown[i], &int_form) < 0)
			j++;
		if (!(j < ni->n && cmp_key(&ni->keys[j], &unknown[i], &int_form) == 0) && left++ == 0)
			first = i;
	}
	if (left == 0)
		return;
	why = !v->has_item_scope
		? "the model has no item-scoped feature to rank an item that arrived after training from; it is ranked once the domain is trained again"
		: popular
		? "a user ranked by popularity is ranked against trained items only"
		: "an item with no row in the domain's relation (that you may read) has no features to rank it from";
	ereport(NOTICE,
			(errmsg("%d candidate%s not known to version " INT64_FORMAT " of model \"%s\" (domain %s): left out",
					left, left == 1 ? " is" : "s are", v->version_id, model, v->domain),
			 errdetail("Item %s, for one: %s.",
					   int_form ? psprintf(INT64_FORMAT, DatumGetInt64(unknown[first]))
					   : TextDatumGetCString(unknown[first]), why)));
}

static Datum
item_datum(XdVersion *v, int32 item, bool int_form)
{
	return int_form ? Int64GetDatum(v->items.ints[item])
		: CStringGetTextDatum(xdpg_key_text(&v->items, item));
}

/* user keys as the text[] the routing query reads (serve/route.c) */
static Datum
keys_as_text(ArrayType *keys, bool int_form)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (!int_form)
		return PointerGetDatum(keys);
	deconstruct_array(keys, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			elems[i] = CStringGetTextDatum(psprintf(INT64_FORMAT, DatumGetInt64(elems[i])));
	return PointerGetDatum(construct_md_array(elems, nulls, 1, &n, (int[]) {1}, TEXTOID, -1,
											  false, TYPALIGN_INT));
}

/*
 * A call for a domain another node holds (docs/scale.md) is answered there,
 * through PL/Proxy, as the calling role: true when it was.
 */
static bool
rank_routed(FunctionCallInfo fcinfo, RankArgs *a)
{
	Datum		ukey = (Datum) 0;
	Datum		vals[10];
	char		nulls[10];
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, INT4OID, TEXTOID, BOOLOID,
		a->int_form ? INT8ARRAYOID : TEXTARRAYOID, FLOAT4ARRAYOID, JSONBOID};
	char	   *node;
	char	   *to_domain;

	if (!a->history)
		ukey = a->int_form ? CStringGetTextDatum(psprintf(INT64_FORMAT, DatumGetInt64(a->user)))
			: a->user;
	node = xdpg_route(a->name, a->domain,
					  PointerGetDatum(construct_array(&ukey, a->history ? 0 : 1, TEXTOID, -1,
													  false, TYPALIGN_INT)),
					  &to_domain);
	if (node == NULL)
		return false;
	memset(nulls, ' ', sizeof(nulls));
	vals[0] = CStringGetTextDatum(node);
	vals[1] = CStringGetTextDatum(a->name);
	vals[2] = ukey;
	nulls[2] = a->history ? 'n' : ' ';
	vals[3] = PointerGetDatum(a->ctx);
	nulls[3] = a->ctx ? ' ' : 'n';
	vals[4] = Int32GetDatum(a->k);
	vals[5] = to_domain ? CStringGetTextDatum(to_domain) : (Datum) 0;
	nulls[5] = to_domain ? ' ' : 'n';
	vals[6] = BoolGetDatum(a->exclude_seen > 0);
	nulls[6] = a->exclude_seen < 0 ? 'n' : ' ';
	vals[7] = PointerGetDatum(a->candidates);
	nulls[7] = a->candidates ? ' ' : 'n';
	vals[8] = PointerGetDatum(a->ctx_vector);
	nulls[8] = a->ctx_vector ? ' ' : 'n';
	vals[9] = PointerGetDatum(a->history);
	nulls[9] = a->history ? ' ' : 'n';
	xdpg_route_rows(fcinfo, node, a->name, to_domain, "proxy_rank", a->int_form
					? "SELECT r.item_key::pg_catalog.int8, r.score, r.rank, r.version "
					"FROM xdrec_internal.proxy_rank($1, $2, $3, $4, $5, $6, $7, "
					"$8::pg_catalog.text[], $9, $10) r"
					: "SELECT r.item_key, r.score, r.rank, r.version "
					"FROM xdrec_internal.proxy_rank($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) r",
					10, types, vals, nulls);
	return true;
}

static void
rank_impl(FunctionCallInfo fcinfo, RankArgs *a)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	XdServed   *s;
	XdVersion  *v = NULL;
	int32		user;
	float	   *c;
	float	   *scores;
	uint8	   *keep = NULL;
	xd_hit	   *hits;
	int			nh;
	xd_seen		seen;
	XdNewItems	ni = {0};
	float	   *ni_scores = NULL;

	XdColdUser *cu = NULL;

	bool		popular_ok = a->on_unknown == ON_UNKNOWN_POPULAR;

	check_k(a->k);
	if (rank_routed(fcinfo, a))
		return;
	s = served_for(a->name, a->int_form);
	if (a->history)
		cu = xdpg_cold_from_history(s, a->name, a->domain, a->history, popular_ok);
	else
	{
		const char *ut = a->int_form ? NULL : user_text(s, a->user);
		int64		ui = a->int_form ? DatumGetInt64(a->user) : 0;

		v = xdpg_lookup_user(s, a->name, a->domain, ut, ui, a->int_form, &user);
		/* a domain served by popularity serves its known users so too */
		if (v && xdpg_version_popular(v))
			cu = xdpg_popular_known_user(s, a->name, pstrdup(v->domain), user);
		/*
		 * a user with few training rows, where validation preferred the cold
		 * path (option cold_min): from their rows when the caller may read
		 * them and the relation still answers the model's query, else warm
		 */
		else if (v && xdpg_cold_min_applies(v, user) && xdpg_cold_rows_readable(s))
			cu = xdpg_cold_min_user(s, a->name, pstrdup(v->domain), ut, ui, a->int_form);
		/* no trained embedding: on_unknown says */
		if (v == NULL && a->on_unknown == ON_UNKNOWN_SKIP)
		{
			xdpg_set_served_as("skipped");
			InitMaterializedSRF(fcinfo, 0);
			return;
		}
		if (v == NULL && a->on_unknown != ON_UNKNOWN_ERROR)
			cu = xdpg_cold_from_rows(s, a->name, a->domain, ut, ui, a->int_form, popular_ok);
		if (v == NULL && cu == NULL && popular_ok)
			cu = xdpg_popular_user(s, a->name, a->domain);
		if (v == NULL && cu == NULL)
			xdpg_unknown_user(a->name, a->domain, ut, ui, a->int_form);
	}
	if (cu)
	{
		v = cu->v;
		user = -1;				/* user-scoped features only from ctx */
	}
	c = encode_context(a->name, v, user, a->ctx, a->ctx_vector);
	if (a->candidates)
	{
		Datum	   *unknown;
		int			n_unknown;

		keep = candidate_mask(s, v, a->candidates, a->int_form, &unknown, &n_unknown);
		new_candidates(a->name, s, v, user, cu, c, unknown, n_unknown, a->int_form, &ni,
					   &ni_scores);
	}
	/* new items after the trained ones: item n_items + j is new item j */
	scores = palloc(sizeof(float) * Max(v->items.n + ni.n, 1));
	if (cu)
		xdpg_cold_scores(cu, c, exclude_of(v, a->exclude_seen), scores);
	else
		xdpg_score_unseen(v, c, user, seen_of(v, exclude_of(v, a->exclude_seen), &seen), scores);
	if (ni.n > 0)
	{
		keep = repalloc(keep, v->items.n + ni.n);
		memset(keep + v->items.n, 1, ni.n);
		/* a cold user's or history's own new items, as its trained ones */
		for (int j = 0; cu && exclude_of(v, a->exclude_seen) && j < ni.n; j++)
			if (xdpg_cold_saw_new_item(cu, ni.keys[j]))
				keep[v->items.n + j] = 0;
		memcpy(scores + v->items.n, ni_scores, sizeof(float) * ni.n);
	}
	hits = palloc(sizeof(xd_hit) * Min(a->k, Max(v->items.n + ni.n, 1)));
	nh = xd_top_k(scores, keep, v->items.n + ni.n, a->k, hits);
	xdpg_count_served(v, cu ? cu->served_as : XDPG_SERVED_WARM);
	xdpg_set_served_as(xdpg_served_as_name(cu ? cu->served_as : XDPG_SERVED_WARM));

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < nh; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = hits[i].item < v->items.n ? item_datum(v, hits[i].item, a->int_form)
			: ni.keys[hits[i].item - v->items.n];
		values[1] = Float4GetDatum(hits[i].score);
		values[2] = Int32GetDatum(i + 1);
		values[3] = Int64GetDatum(v->version_id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

static void
require(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/*
 * xdrec.rank(name, user_key, ctx, k, domain, exclude_seen, candidates,
 * ctx_vector, history, on_unknown): history ranks an anonymous session,
 * user_key NULL.
 */
static Datum
rank_full(FunctionCallInfo fcinfo, bool int_form)
{
	RankArgs	a;

	require(fcinfo, 0, "model name");
	a.history = PG_NARGS() > 8 && !PG_ARGISNULL(8) ? PG_GETARG_JSONB_P(8) : NULL;
	if (a.history && !PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("give either user_key or history, not both"),
				 errhint("history ranks an anonymous session: pass user_key => NULL with it.")));
	if (!a.history)
		require(fcinfo, 1, "user_key");
	require(fcinfo, 3, "k");
	a.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	a.int_form = int_form;
	a.user = PG_GETARG_DATUM(1);
	a.ctx = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	a.k = PG_GETARG_INT32(3);
	a.domain = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	a.exclude_seen = exclude_seen_arg(fcinfo, 5);
	a.candidates = PG_ARGISNULL(6) ? NULL : PG_GETARG_ARRAYTYPE_P(6);
	a.ctx_vector = PG_ARGISNULL(7) ? NULL : PG_GETARG_ARRAYTYPE_P(7);
	a.on_unknown = on_unknown_arg(fcinfo, 9);
	rank_impl(fcinfo, &a);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(xdrec_rank_int8);
Datum
xdrec_rank_int8(PG_FUNCTION_ARGS)
{
	return rank_full(fcinfo, true);
}

PG_FUNCTION_INFO_V1(xdrec_rank_text);
Datum
xdrec_rank_text(PG_FUNCTION_ARGS)
{
	return rank_full(fcinfo, false);
}

/* the short form xdrec_rank(user_key, ctx, k) on xdrec.default_model */
static Datum
rank_short(FunctionCallInfo fcinfo, bool int_form)
{
	RankArgs	a;

	if (xdrec_default_model == NULL || xdrec_default_model[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("xdrec.default_model is not set"),
				 errhint("Name the model xdrec_rank uses: SET xdrec.default_model = 'name', or call xdrec.rank(name, user_key, ctx, k).")));
	require(fcinfo, 0, "user_key");
	require(fcinfo, 2, "k");
	a.name = pstrdup(xdrec_default_model);
	a.int_form = int_form;
	a.user = PG_GETARG_DATUM(0);
	a.ctx = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	a.k = PG_GETARG_INT32(2);
	a.domain = NULL;
	a.exclude_seen = -1;
	a.candidates = NULL;
	a.ctx_vector = NULL;
	a.history = NULL;
	a.on_unknown = ON_UNKNOWN_COLD;
	rank_impl(fcinfo, &a);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(xdrec_rank_short_int8);
Datum
xdrec_rank_short_int8(PG_FUNCTION_ARGS)
{
	return rank_short(fcinfo, true);
}

PG_FUNCTION_INFO_V1(xdrec_rank_short_text);
Datum
xdrec_rank_short_text(PG_FUNCTION_ARGS)
{
	return rank_short(fcinfo, false);
}

/* rank_many scores at most this many (user, item) pairs at once: 16 MB */
#define XDPG_MANY_SCORES (1 << 22)

/* xd_rank_many's item outputs: the version's cache (serve/item_cache.c) */
static const xd_item_outputs *
many_outputs(void *arg, const float *c)
{
	return xdpg_item_outputs((XdVersion *) arg, c);
}

/*
 * The top k of a cold or popular user cu into rank_many's outputs at pos,
 * their item keys allocated in out_cxt (the rest is the user's: rank_many
 * resets its context after each)
 */
static void
rank_many_cold(XdColdUser *cu, const char *name, Jsonb *ctx, int k, int exclude_seen,
			   bool int_form, int pos, MemoryContext out_cxt, Datum *out_items,
			   float *out_scores, int *out_n, int64 *out_version)
{
	XdVersion  *v;
	float	   *c,
			   *scores;
	xd_hit	   *hits;
	int			nh;
	MemoryContext user_cxt;

	v = cu->v;
	c = encode_context(name, v, -1, ctx, NULL);
	scores = palloc(sizeof(float) * Max(v->items.n, 1));
	xdpg_cold_scores(cu, c, exclude_of(v, exclude_seen), scores);
	hits = palloc(sizeof(xd_hit) * Min(k, Max(v->items.n, 1)));
	nh = xd_top_k(scores, NULL, v->items.n, k, hits);
	user_cxt = MemoryContextSwitchTo(out_cxt);
	for (int r = 0; r < nh; r++)
	{
		out_items[(Size) pos * k + r] = item_datum(v, hits[r].item, int_form);
		out_scores[(Size) pos * k + r] = hits[r].score;
	}
	MemoryContextSwitchTo(user_cxt);
	out_n[pos] = nh;
	out_version[pos] = v->version_id;
	xdpg_count_served(v, cu->served_as);
	pfree(scores);
	pfree(hits);
}

/*
 * xdrec.rank_many(name, user_keys, ctx, k, domain, exclude_seen, on_unknown):
 * rank(...) for every user in one context. Users are grouped by domain and then by
 * their full encoded context (user-scoped features make it differ), and each
 * group is scored as one matrix product against the group's item outputs.
 * Rows come user by user in the order of user_keys, each user's best first.
 */
/* rank_many for users another node holds, answered there (rank_routed) */
static bool
rank_many_routed(FunctionCallInfo fcinfo, const char *name, const char *domain, bool int_form)
{
	Datum		keys = keys_as_text(PG_GETARG_ARRAYTYPE_P(1), int_form);
	Datum		vals[8];
	char		nulls[8];
	Oid			types[8] = {TEXTOID, TEXTOID, TEXTARRAYOID, JSONBOID, INT4OID, TEXTOID, BOOLOID,
		TEXTOID};
	char	   *node;
	char	   *to_domain;

	node = xdpg_route(name, domain, keys, &to_domain);
	if (node == NULL)
		return false;
	memset(nulls, ' ', sizeof(nulls));
	vals[0] = CStringGetTextDatum(node);
	vals[1] = CStringGetTextDatum(name);
	vals[2] = keys;
	vals[3] = PG_GETARG_DATUM(2);
	nulls[3] = PG_ARGISNULL(2) ? 'n' : ' ';
	vals[4] = PG_GETARG_DATUM(3);
	vals[5] = to_domain ? CStringGetTextDatum(to_domain) : (Datum) 0;
	nulls[5] = to_domain ? ' ' : 'n';
	vals[6] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	nulls[6] = PG_ARGISNULL(5) ? 'n' : ' ';
	vals[7] = PG_NARGS() > 6 && !PG_ARGISNULL(6) ? PG_GETARG_DATUM(6) : (Datum) 0;
	nulls[7] = PG_NARGS() > 6 && !PG_ARGISNULL(6) ? ' ' : 'n';
	xdpg_route_rows(fcinfo, node, name, to_domain, "proxy_rank_many", int_form
					? "SELECT r.user_key::pg_catalog.int8, r.item_key::pg_catalog.int8, r.score, "
					"r.rank, r.version FROM xdrec_internal.proxy_rank_many($1, $2, $3, $4, $5, $6, $7, $8) r"
					: "SELECT r.user_key, r.item_key, r.score, r.rank, r.version "
					"FROM xdrec_internal.proxy_rank_many($1, $2, $3, $4, $5, $6, $7, $8) r",
					8, types, vals, nulls);
	return true;
}

/* rank_many's user_domain of a user not ranked in a warm group */
#define MANY_UNKNOWN (-1)		/* no trained embedding (or a popularity domain's) */
#define MANY_COLD_MIN (-2)		/* trained, few rows: the cold path (cold_min) */
#define MANY_DONE (-3)			/* ... ranked so */

static Datum
rank_many(FunctionCallInfo fcinfo, bool int_form)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	Jsonb	   *ctx;
	int			k;
	char	   *domain;
	int			exclude_seen;
	XdServed   *s;
	Datum	   *keys;
	bool	   *key_nulls;
	int			n;
	char	  **domains;
	int			n_domains;
	int		   *user_domain;	/* its domain's index, or one of the below */
	char	  **popular_domain;	/* known to a domain served by popularity */
	int		   *cold_min_domain;	/* ... with few rows (option cold_min) */
	int			readable = -1;	/* xdpg_cold_rows_readable, asked once (-1: not yet) */
	int32	   *user_ids;
	Datum	   *out_items;
	float	   *out_scores;
	int		   *out_n;
	int64	   *out_version;
	OnUnknown	on_unknown = on_unknown_arg(fcinfo, 6);
	int			n_cold = 0,
				n_left_out = 0;
	int			n_served[XDPG_SERVED_POPULAR + 1] = {0};
	MemoryContext call_cxt = CurrentMemoryContext,
				user_cxt;

	require(fcinfo, 0, "model name");
	require(fcinfo, 1, "user_keys");
	require(fcinfo, 3, "k");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ctx = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	k = PG_GETARG_INT32(3);
	domain = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	exclude_seen = exclude_seen_arg(fcinfo, 5);
	check_k(k);
	if (rank_many_routed(fcinfo, name, domain, int_form))
		return (Datum) 0;
	s = served_for(name, int_form);
	if (int_form)
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &keys, &key_nulls, &n);
	else
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
						  &keys, &key_nulls, &n);

	/*
	 * Each user's domain (by its index in the served list) and dense id.
	 * Finding a user may load and evict versions, so no version pointer is
	 * kept across users.
	 */
	n_domains = xdpg_served_domains(s, &domains);
	user_domain = palloc(sizeof(int) * Max(n, 1));
	popular_domain = palloc0(sizeof(char *) * Max(n, 1));
	cold_min_domain = palloc(sizeof(int) * Max(n, 1));
	user_ids = palloc(sizeof(int32) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		XdVersion  *v;

		if (key_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("user_keys must not contain nulls")));
		v = xdpg_lookup_user(s, name, domain, int_form ? NULL : user_text(s, keys[i]),
							 int_form ? DatumGetInt64(keys[i]) : 0, int_form, &user_ids[i]);
		if (v == NULL)
		{
			/* no trained embedding: on_unknown says, after the warm users */
			if (on_unknown == ON_UNKNOWN_ERROR)
				xdpg_unknown_user(name, domain, int_form ? NULL : user_text(s, keys[i]),
								  int_form ? DatumGetInt64(keys[i]) : 0, int_form);
			user_domain[i] = MANY_UNKNOWN;
			n_cold++;
			continue;
		}
		if (xdpg_version_popular(v))
		{
			/* served with the users without an embedding, by popularity */
			popular_domain[i] = pstrdup(v->domain);
			user_domain[i] = MANY_UNKNOWN;
			n_cold++;
			continue;
		}
		for (user_domain[i] = 0; strcmp(domains[user_domain[i]], v->domain) != 0;)
			user_domain[i]++;
		if (xdpg_cold_min_applies(v, user_ids[i]) &&
			(readable < 0 ? (readable = xdpg_cold_rows_readable(s)) : readable))
		{
			cold_min_domain[i] = user_domain[i];
			user_domain[i] = MANY_COLD_MIN;
		}
	}

	out_items = palloc(sizeof(Datum) * Max((Size) n * k, 1));
	out_scores = palloc(sizeof(float) * Max((Size) n * k, 1));
	out_n = palloc0(sizeof(int) * Max(n, 1));
	out_version = palloc(sizeof(int64) * Max(n, 1));

	/*
	 * Each user ranked one by one below (from their rows, or by popularity)
	 * allocates in a context of its own, reset after it: what reading and
	 * scoring one user takes (some kilobytes, a failed read's included) is
	 * not kept for the call, whose memory would otherwise grow with the
	 * array (171 MB for 20,000 users served from their rows).
	 */
	user_cxt = AllocSetContextCreate(call_cxt, "xdrec rank_many user", ALLOCSET_DEFAULT_SIZES);

	/*
	 * Users with few training rows whose version prefers the cold path
	 * (option cold_min), from their rows, before the warm groups: one whose
	 * rows cannot be read (none left) joins its domain's warm group.
	 */
	for (int i = 0; i < n; i++)
	{
		XdColdUser *cu;

		if (user_domain[i] != MANY_COLD_MIN)
			continue;
		MemoryContextSwitchTo(user_cxt);
		cu = xdpg_cold_min_user(s, name, domains[cold_min_domain[i]],
								int_form ? NULL : user_text(s, keys[i]),
								int_form ? DatumGetInt64(keys[i]) : 0, int_form);
		if (cu == NULL)
			user_domain[i] = cold_min_domain[i];
		else
		{
			rank_many_cold(cu, name, ctx, k, exclude_seen, int_form, i, call_cxt, out_items,
						   out_scores, out_n, out_version);
			n_served[cu->served_as]++;
			user_domain[i] = MANY_DONE;
		}
		MemoryContextSwitchTo(call_cxt);
		MemoryContextReset(user_cxt);
	}
	for (int dom = 0; dom < n_domains; dom++)
	{
		XdVersion  *v = NULL;
		const xd_schema *sch;
		int			ng = 0;
		float	   *num;
		int32	   *codes;
		float	   *cs;
		int			m;
		int		   *pos;
		int32	   *ids;
		xd_hit	   *hits;
		int		   *nh;
		xd_seen		seen;
		xd_rank_many_opts mo;

		for (int i = 0; i < n; i++)
			if (user_domain[i] == dom)
				ng++;
		if (ng == 0)
			continue;
		v = xdpg_version_for_domain(s, name, domains[dom]);
		sch = &v->enc.schema;
		m = sch->m;

		/* the context once; each user's profile fills its user-scoped part */
		num = palloc(sizeof(float) * Max(sch->n_num, 1));
		codes = palloc(sizeof(int32) * Max(sch->n_codes, 1));
		xdpg_ctx_from_jsonb(name, v->features, sch, ctx, num, codes);
		pos = palloc(sizeof(int) * ng);
		ids = palloc(sizeof(int32) * ng);
		cs = palloc0(sizeof(float) * Max((Size) ng * m, 1));
		ng = 0;
		for (int i = 0; i < n; i++)
			if (user_domain[i] == dom)
			{
				xd_encode_raw(&v->enc, user_ids[i], -1, num, codes, cs + (Size) ng * m);
				pos[ng] = i;
				ids[ng] = user_ids[i];
				ng++;
			}

		/* the core groups them by context, one matrix product per chunk */
		memset(&mo, 0, sizeof(mo));
		mo.k = k;
		mo.seen = seen_of(v, exclude_of(v, exclude_seen), &seen);
		mo.max_scores = XDPG_MANY_SCORES;
		mo.outputs = many_outputs;
		mo.outputs_arg = v;
		mo.hooks.stop = xdpg_stop;
		hits = palloc(sizeof(xd_hit) * (Size) ng * k);
		nh = palloc(sizeof(int) * ng);
		if (v->blend)
		{
			/* a blend version: both fits' batches, mixed (rank's xdpg_score_unseen) */
			mo.blend = v->blend->model;
			mo.blend_a = v->blend_a;
			mo.blend_outputs = many_outputs;
			mo.blend_outputs_arg = v->blend;
		}
		xdpg_check_status(xd_rank_many(v->model, ids, cs, ng, &mo,
									   palloc(xd_rank_many_scratch_bytes(v->model, ng, &mo)),
									   hits, nh),
						  "scoring");
		for (int u = 0; u < ng; u++)
		{
			for (int r = 0; r < nh[u]; r++)
			{
				out_items[(Size) pos[u] * k + r] = item_datum(v, hits[(Size) u * k + r].item,
															  int_form);
				out_scores[(Size) pos[u] * k + r] = hits[(Size) u * k + r].score;
			}
			out_n[pos[u]] = nh[u];
			out_version[pos[u]] = v->version_id;
		}
		v->served_warm += ng;
		n_served[XDPG_SERVED_WARM] += ng;
	}

	/*
	 * Users without an embedding, one by one (each pools its own rows), after
	 * the warm ones, so no version pointer is kept across them either.
	 */
	for (int i = 0; i < n && n_cold > 0; i++)
	{
		XdColdUser *cu = NULL;

		if (user_domain[i] != MANY_UNKNOWN)
			continue;
		MemoryContextSwitchTo(user_cxt);
		if (popular_domain[i])
			cu = xdpg_popular_known_user(s, name, popular_domain[i], user_ids[i]);
		else if (on_unknown != ON_UNKNOWN_SKIP)
			cu = xdpg_cold_from_rows(s, name, domain, int_form ? NULL : user_text(s, keys[i]),
									 int_form ? DatumGetInt64(keys[i]) : 0, int_form,
									 on_unknown == ON_UNKNOWN_POPULAR);
		if (cu == NULL && on_unknown == ON_UNKNOWN_POPULAR)
			cu = xdpg_popular_user(s, name, domain);
		if (cu == NULL)
			n_left_out++;
		else
		{
			rank_many_cold(cu, name, ctx, k, exclude_seen, int_form, i, call_cxt, out_items,
						   out_scores, out_n, out_version);
			n_served[cu->served_as]++;
		}
		MemoryContextSwitchTo(call_cxt);
		MemoryContextReset(user_cxt);
	}
	xdpg_set_served_as(psprintf("warm %d, cold %d, popular %d, skipped %d",
								n_served[XDPG_SERVED_WARM], n_served[XDPG_SERVED_COLD_ROWS],
								n_served[XDPG_SERVED_POPULAR], n_left_out));
	if (n_left_out > 0)
		ereport(NOTICE,
				(errmsg("left out %d user%s not known to model \"%s\"%s",
						n_left_out, n_left_out == 1 ? "" : "s", name,
						on_unknown == ON_UNKNOWN_SKIP ? "" : ", with no rows to rank from"),
				 errhint("on_unknown => 'popular' ranks them by popularity, 'error' fails the call.")));

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
		for (int r = 0; r < out_n[i]; r++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};

			values[0] = keys[i];
			values[1] = out_items[(Size) i * k + r];
			values[2] = Float4GetDatum(out_scores[(Size) i * k + r]);
			values[3] = Int32GetDatum(r + 1);
			values[4] = Int64GetDatum(out_version[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(xdrec_rank_many_int8);
Datum
xdrec_rank_many_int8(PG_FUNCTION_ARGS)
{
	return rank_many(fcinfo, true);
}

PG_FUNCTION_INFO_V1(xdrec_rank_many_text);
Datum
xdrec_rank_many_text(PG_FUNCTION_ARGS)
{
	return rank_many(fcinfo, false);
}

/* xdrec.predict(name, user_key, item_key, ctx, domain, ctx_vector): a rating */
static Datum
predict(FunctionCallInfo fcinfo, bool int_form)
{
	char	   *name;
	XdServed   *s;
	XdVersion  *v;
	int32		user,
				item;
	float	   *c;
	float		score;
	char	   *domain;

	require(fcinfo, 0, "model name");
	require(fcinfo, 1, "user_key");
	require(fcinfo, 2, "item_key");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	s = served_for(name, int_form);
	if (!xdpg_served_explicit(s))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" learns implicit feedback, so it predicts no ratings", name),
				 errhint("Rank items with xdrec.rank; predict serves models with feedback \"explicit\".")));
	v = xdpg_find_user(s, name, domain,
					   int_form ? NULL : user_text(s, PG_GETARG_DATUM(1)),
					   int_form ? PG_GETARG_INT64(1) : 0, int_form, &user);
	item = item_id(s, v, PG_GETARG_DATUM(2), int_form);
	if (item < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("item %s is not known to model \"%s\" in domain %s",
						int_form ? psprintf(INT64_FORMAT, PG_GETARG_INT64(2)) : TextDatumGetCString(PG_GETARG_DATUM(2)),
						name, v->domain)));
	c = encode_context(name, v, user,
					   PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3),
					   PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5));
	xdpg_check_status(xd_score_candidates(v->model, user, c,
										  v->has_item_scope ? &v->enc : NULL, &item, NULL, 1, &score),
					  "scoring");
	if (v->blend)
	{
		float		second;

		/* a blend version: the mix of its two fits' predictions */
		xdpg_check_status(xd_score_candidates(v->blend->model, user, c,
											  v->has_item_scope ? &v->enc : NULL, &item, NULL, 1, &second),
						  "scoring the blend");
		xd_blend_mix(v->blend_a, 1, &score, &second);
	}
	PG_RETURN_FLOAT4(score);
}

PG_FUNCTION_INFO_V1(xdrec_predict_int8);
Datum
xdrec_predict_int8(PG_FUNCTION_ARGS)
{
	return predict(fcinfo, true);
}

PG_FUNCTION_INFO_V1(xdrec_predict_text);
Datum
xdrec_predict_text(PG_FUNCTION_ARGS)
{
	return predict(fcinfo, false);
}
