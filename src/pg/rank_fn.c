/*
 * rank_fn.c - xdrec.rank, the short form xdrec_rank and xdrec.predict
 * (DESIGN section 6): find the user's served version in the cache, encode
 * the caller's context, score the candidates with the core's forward pass,
 * keep the top k by partial selection. Read-only: works on a hot standby.
 *
 * k must be in 1..10000 (an error otherwise); fewer rows come back when the
 * domain has fewer candidates (after exclude_seen and candidates).
 * Candidate keys the version does not know are ignored, as are repeats.
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

#include "xdrec/batch.h"
#include "xdrec_pg.h"

#define XDPG_MAX_K 10000

typedef struct XdHit
{
	float		score;
	int32		item;
} XdHit;

/* a is worse than b: lower score, or the same score and a larger id */
static inline bool
worse(const XdHit *a, const XdHit *b)
{
	return a->score < b->score || (a->score == b->score && a->item > b->item);
}

static void
sift_down(XdHit *h, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;
		XdHit		t;

		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (r < n && worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static int
cmp_hits(const void *a, const void *b)
{
	const XdHit *x = a,
			   *y = b;

	if (worse(x, y))
		return 1;
	if (worse(y, x))
		return -1;
	return 0;
}

/* The top k of n scored items, best first, into out; returns how many. */
static int
top_k(const float *scores, const int32 *items, int n, int k, XdHit *out)
{
	int			h = 0;

	/* a min-heap (worst on top) of the best k so far: O(n log k) */
	for (int i = 0; i < n; i++)
	{
		XdHit		x = {scores[i], items[i]};

		if (isnan(x.score))
			continue;
		if (h < k)
		{
			int			j = h++;

			out[j] = x;
			while (j > 0 && worse(&out[j], &out[(j - 1) / 2]))
			{
				XdHit		t = out[j];

				out[j] = out[(j - 1) / 2];
				out[(j - 1) / 2] = t;
				j = (j - 1) / 2;
			}
		}
		else if (worse(&out[0], &x))
		{
			out[0] = x;
			sift_down(out, h, 0);
		}
	}
	qsort(out, h, sizeof(XdHit), cmp_hits);
	return h;
}

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

/*
 * Scores items[0..n) for user in context c: one user tower and one context
 * for all (xd_model_score_items) unless item-scoped features make the
 * context differ per candidate, then batches with each item's profile.
 */
static void
score_items(XdVersion *v, int32 user, const float *c, const int32 *items, int n, float *scores)
{
	xd_status	st;

	if (n == 0)
		return;
	if (!v->has_item_scope)
		st = xd_model_score_items(v->model, user, c, items, n, scores);
	else
	{
		int			m = v->enc.schema.m;
		int			cap = Min(xd_model_max_rows(v->model), n);
		xd_batch	b;

		st = xd_batch_init(&b, cap, m);
		if (st == XD_OK)
		{
			for (int start = 0; start < n && st == XD_OK; start += cap)
			{
				int			cnt = Min(cap, n - start);

				b.n = cnt;
				b.n_pos = 0;
				for (int i = 0; i < cnt; i++)
				{
					float	   *row = b.c + (size_t) i * m;

					b.users[i] = user;
					b.items[i] = items[start + i];
					memcpy(row, c, sizeof(float) * m);
					xd_encode_item(&v->enc, items[start + i], row);
				}
				st = xd_model_score(v->model, &b, scores + start);
			}
			xd_batch_free(&b);
		}
	}
	xdpg_check_status(st, "scoring");
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

typedef struct RankArgs
{
	char	   *name;
	bool		int_form;
	Datum		user;
	Jsonb	   *ctx;
	int			k;
	char	   *domain;
	bool		exclude_seen;
	ArrayType  *candidates;
	ArrayType  *ctx_vector;
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

static void
rank_impl(FunctionCallInfo fcinfo, RankArgs *a)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	XdServed   *s;
	XdVersion  *v;
	int32		user;
	float	   *c;
	int32	   *items;
	float	   *scores;
	int			n = 0;
	XdHit	   *hits;
	int			nh;
	bool	   *take;

	if (a->k <= 0 || a->k > XDPG_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", XDPG_MAX_K, a->k)));
	s = served_for(a->name, a->int_form);
	v = xdpg_find_user(s, a->name, a->domain,
					   a->int_form ? NULL : user_text(s, a->user),
					   a->int_form ? DatumGetInt64(a->user) : 0, a->int_form, &user);
	c = encode_context(a->name, v, user, a->ctx, a->ctx_vector);

	/* the candidates: given ones the version knows, or every item */
	take = palloc0(sizeof(bool) * Max(v->items.n, 1));
	if (a->candidates)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			ne;

		if (a->int_form)
			deconstruct_array(a->candidates, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
							  &elems, &nulls, &ne);
		else
			deconstruct_array(a->candidates, TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &ne);
		for (int i = 0; i < ne; i++)
		{
			int32		id;

			if (nulls[i])
				continue;
			id = item_id(s, v, elems[i], a->int_form);
			if (id >= 0)
				take[id] = true;
		}
	}
	else
		memset(take, true, sizeof(bool) * v->items.n);
	if (a->exclude_seen)
		for (int64 j = v->seen_off[user]; j < v->seen_off[user + 1]; j++)
			take[v->seen_items[j]] = false;
	items = palloc(sizeof(int32) * Max(v->items.n, 1));
	for (int32 i = 0; i < v->items.n; i++)
		if (take[i])
			items[n++] = i;

	scores = palloc(sizeof(float) * Max(n, 1));
	score_items(v, user, c, items, n, scores);
	hits = palloc(sizeof(XdHit) * Min(a->k, Max(n, 1)));
	nh = top_k(scores, items, n, Min(a->k, n), hits);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < nh; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = a->int_form ? Int64GetDatum(v->items.ints[hits[i].item])
			: CStringGetTextDatum(xdpg_key_text(&v->items, hits[i].item));
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

/* xdrec.rank(name, user_key, ctx, k, domain, exclude_seen, candidates, ctx_vector) */
static Datum
rank_full(FunctionCallInfo fcinfo, bool int_form)
{
	RankArgs	a;

	require(fcinfo, 0, "model name");
	require(fcinfo, 1, "user_key");
	require(fcinfo, 3, "k");
	a.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	a.int_form = int_form;
	a.user = PG_GETARG_DATUM(1);
	a.ctx = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	a.k = PG_GETARG_INT32(3);
	a.domain = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	a.exclude_seen = PG_ARGISNULL(5) ? true : PG_GETARG_BOOL(5);
	a.candidates = PG_ARGISNULL(6) ? NULL : PG_GETARG_ARRAYTYPE_P(6);
	a.ctx_vector = PG_ARGISNULL(7) ? NULL : PG_GETARG_ARRAYTYPE_P(7);
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
	a.exclude_seen = true;
	a.candidates = NULL;
	a.ctx_vector = NULL;
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
	score_items(v, user, c, &item, 1, &score);
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
