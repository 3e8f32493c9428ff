/*
 * cold_user.c - ranking a user the served version has no embedding for
 * (issue 19, docs/cold-start.md, docs/serving.md): from the user's own rows
 * in the model's relation (a user who arrived after training), or from an
 * anonymous session's history => jsonb. Both become the same support set
 * (CMML, include/xdrec/cold.h): the positives, in a canonical order, each
 * with XD_COLD_NEGATIVES seeded item negatives, pooled once by the version's
 * cold-start module into the user side of the frozen model (its embedding
 * and FiLM), then scored from the cached item outputs of the call's context
 * exactly as a warm user is. No gradient step: one pass over at most
 * cold_support rows.
 *
 * The rows are read as the caller (a user span), so row-level security and
 * privileges on the relation decide what the cold path sees, as they decide
 * what training reads; users forgotten from a domain (xdrec.forgotten) are
 * not read. With option time_col the most recent cold_support rows are
 * taken; without it the rows come in the order of their item key, then
 * their domain and feature values ("C" collation), which is deterministic
 * but not recency. The query compares the user column to the key, so an
 * index on that column serves it (integer and text keys).
 *
 * A row (or history entry) whose item arrived after training is pooled by
 * the item's mapped embedding (serve/new_items.c, the same profile and
 * ridge map as a new candidate's) when the model has item-scoped features,
 * and left out otherwise: the encoder's z_k needs only an embedding.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "xdrec/cold.h"
#include "serve/cold_user.h"

/* one positive of a support before it is ordered: its item, context, label */
typedef struct ColdRow
{
	int32		item;
	float		label;
	const float *c;
} ColdRow;

static int
cmp_cold_row(const void *a, const void *b, void *arg)
{
	const ColdRow *x = a,
			   *y = b;
	int			r;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	r = memcmp(x->c, y->c, sizeof(float) * *(const int *) arg);
	if (r != 0)
		return r;
	return x->label < y->label ? -1 : x->label > y->label ? 1 : 0;
}

static XdColdUser *cold_user_new(void);

static void
cold_user_reset(void *arg)
{
	XdColdUser *cu = arg;

	xd_cold_task_free(&cu->task);
}

/* The support rows a cold user is read from: cold_support, within one pass. */
static int
support_cap(const XdModelDef *md, XdVersion *v)
{
	return Max(1, Min(md->cold_support, xd_model_max_rows(v->model) / (1 + XD_COLD_NEGATIVES)));
}

static void
require_cold_module(const char *model, XdVersion *v, const char *who)
{
	if (v->cold == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) has no cold-start module to rank %s",
						v->version_id, model, v->domain, who),
				 errdetail("The cold-start module is meta-trained by train for the source and by adapt for a target (option cold, on by default); this version was made with it off, from a source without one, or before 0.2.0."),
				 v->pins_shared_version == 0 ?
				 errhint("Train the source again: SELECT xdrec.train('%s').", model) :
				 errhint("Adapt the domain again: SELECT xdrec.adapt('%s', '%s').", model, v->domain)));
}

/*
 * Each item's share of v's trained users who chose it (their seen lists: the
 * training interactions of the served version), computed once per cached
 * version. Not per context: a version keeps no interaction's context.
 */
static const float *
version_popularity(XdVersion *v)
{
	if (v->popularity == NULL)
	{
		float	   *p = MemoryContextAllocZero(v->cxt, sizeof(float) * Max(v->items.n, 1));
		int32		n_users = v->users.n;

		for (int32 u = 0; u < n_users; u++)
			for (int64 j = v->seen_off[u]; j < v->seen_off[u + 1]; j++)
				p[v->seen_items[j]] += 1.0f;
		for (int32 i = 0; i < v->items.n; i++)
			p[i] /= (float) Max(n_users, 1);
		v->popularity = p;
	}
	return v->popularity;
}

/* A user served by v's popularity: no support, nothing seen. */
static XdColdUser *
popular_of(XdVersion *v)
{
	XdColdUser *cu = cold_user_new();

	version_popularity(v);
	cu->v = v;
	cu->served_as = XDPG_SERVED_POPULAR;
	return cu;
}

/*
 * A user with neither an embedding nor rows to rank from, served by the
 * popularity of domain's version (the source's when domain is NULL), for
 * on_unknown 'popular'.
 */
XdColdUser *
xdpg_popular_user(XdServed *s, const char *model, const char *domain)
{
	char	  **domains;

	if (xdpg_served_domains(s, &domains) == 0)
		elog(ERROR, "xdrec: model \"%s\" serves no domain", model);
	return popular_of(xdpg_version_for_domain(s, model, domain ? domain : domains[0]));
}

/*
 * Whether v is a domain served by popularity (adapt's auto on a domain too
 * small for any method, adapt_run.c): every user it ranks is served by its
 * popularity, as on_unknown 'popular' would.
 */
bool
xdpg_version_popular(const XdVersion *v)
{
	return strcmp(v->method, "popularity") == 0;
}

/*
 * A user the version of domain knows as user (its dense id), served by
 * popularity because that version serves its domain so
 * (xdpg_version_popular): its seen items are the user's, which
 * exclude_seen drops as for a warm user.
 */
XdColdUser *
xdpg_popular_known_user(XdServed *s, const char *model, const char *domain, int32 user)
{
	XdVersion  *v = xdpg_version_for_domain(s, model, domain);
	XdColdUser *cu = popular_of(v);

	if (user >= 0 && user < v->users.n)
	{
		cu->seen = v->seen_items + v->seen_off[user];
		cu->n_seen = (int) (v->seen_off[user + 1] - v->seen_off[user]);
	}
	return cu;
}

/*
 * Whether v serves its trained user (dense id) by the cold path from their
 * rows: option cold_min, recorded with the version only when the cold path
 * ranked such users better on validation (run/cold_fit.c), counted as
 * training compared them: fewer distinct training items (their seen list).
 */
bool
xdpg_cold_min_applies(const XdVersion *v, int32 user)
{
	return v->cold_min > 0 && v->cold != NULL && user >= 0 && user < v->users.n &&
		v->seen_off[user + 1] - v->seen_off[user] < v->cold_min;
}

/*
 * Whether the caller may read the model's relation (SELECT on it, or on
 * every column), so that a trained user xdpg_cold_min_applies names may be
 * served from their rows. Otherwise the warm path serves them, from the
 * catalog alone, as it serves every trained user of a role that may rank
 * but not read the interactions (docs/security.md), and as it serves one
 * whose relation was dropped or renamed since training; the rows of a user
 * the relation's row-level security hides read as none, warm too.
 */
bool
xdpg_cold_rows_readable(XdServed *s)
{
	XdModelDef *md = xdpg_served_model(s);

	if (md->relation == NULL)
		return false;
	return pg_class_aclcheck(md->relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(md->relid, GetUserId(), ACL_SELECT, ACLMASK_ALL) == ACLCHECK_OK;
}

/* One more user ranked by v, as how (xdrec.cache_stats). */
void
xdpg_count_served(XdVersion *v, XdServedAs how)
{
	switch (how)
	{
		case XDPG_SERVED_WARM:
			v->served_warm++;
			break;
		case XDPG_SERVED_COLD_ROWS:
			v->served_cold++;
			break;
		case XDPG_SERVED_HISTORY:
			v->served_history++;
			break;
		case XDPG_SERVED_POPULAR:
			v->served_popular++;
			break;
	}
}

/* how as the setting xdrec.served_as words it (docs/serving.md) */
const char *
xdpg_served_as_name(XdServedAs how)
{
	switch (how)
	{
		case XDPG_SERVED_WARM:
			return "warm";
		case XDPG_SERVED_COLD_ROWS:
			return "cold";
		case XDPG_SERVED_HISTORY:
			return "history";
		case XDPG_SERVED_POPULAR:
			return "popular";
	}
	return "unknown";
}

/*
 * Pools the n positives (items, contexts c[n * m], labels) into cu's task:
 * ordered canonically, so the same rows from the table or from a history
 * give the same support, negatives and task (xd_support_seed). An item id
 * from v->items.n on is new item (id - n_items) of E_new, pooled by that
 * embedding (resolve_new_items).
 */
static void
cold_encode(XdColdUser *cu, int n, const int32 *items, const float *c, const float *labels,
			const float *E_new)
{
	XdVersion  *v = cu->v;
	int			m = v->enc.schema.m;
	bool		implicit = !v->explicit_fb;
	ColdRow    *rows = palloc(sizeof(ColdRow) * n);
	int32	   *sitems = palloc(sizeof(int32) * n);
	float	   *sc = palloc(sizeof(float) * Max((Size) n * m, 1));
	xd_support	s;
	xd_rng		rng;
	xd_status	st;

	for (int i = 0; i < n; i++)
	{
		rows[i].item = items[i];
		rows[i].label = labels[i];
		rows[i].c = c + (Size) i * m;
	}
	qsort_arg(rows, n, sizeof(ColdRow), cmp_cold_row, &m);
	for (int i = 0; i < n; i++)
	{
		sitems[i] = rows[i].item;
		memcpy(sc + (Size) i * m, rows[i].c, sizeof(float) * m);
	}
	xd_rng_seed(&rng, xd_support_seed(sitems, sc, n, m, v->model->cfg.seed));

	st = xd_support_init(&s, n * (1 + (implicit ? XD_COLD_NEGATIVES : 0)), m);
	xdpg_check_status(st, "building the support");
	PG_TRY();
	{
		int			d = v->model->cfg.d;

		for (int i = 0; i < n && st == XD_OK; i++)
			st = sitems[i] >= v->items.n
				? xd_support_add_new(&s, E_new + (Size) (sitems[i] - v->items.n) * d, d,
									 sc + (Size) i * m, rows[i].label,
									 implicit ? XD_COLD_NEGATIVES : 0, v->items.n,
									 v->has_item_scope ? &v->enc : NULL, &rng)
				: xd_support_add(&s, sitems[i], sc + (Size) i * m, rows[i].label,
								 implicit ? XD_COLD_NEGATIVES : 0, v->items.n,
								 v->has_item_scope ? &v->enc : NULL, &rng);
		if (st == XD_OK)
			st = xd_cold_task_init(&cu->task, v->cold);
		if (st == XD_OK)
			st = xd_cold_encode(v->cold, v->model, &s, &cu->task);
	}
	PG_FINALLY();
	{
		xd_support_free(&s);
	}
	PG_END_TRY();
	xdpg_check_status(st, "encoding the cold user");
	cu->n_support = n;
	/* the trained items among them (sorted, so new items come last) */
	cu->seen = sitems;
	cu->n_seen = 0;
	while (cu->n_seen < n && sitems[cu->n_seen] < v->items.n)
		cu->n_seen++;
}

/* whether two item keys (int8, or text in any varlena form) are one key */
static bool
same_item_key(Datum a, Datum b, bool is_int)
{
	return is_int ? DatumGetInt64(a) == DatumGetInt64(b)
		: strcmp(TextDatumGetCString(a), TextDatumGetCString(b)) == 0;
}

/*
 * The n support rows whose items[i] is -1 are new items, key keys[i]: each
 * with rows in v's domain gets its profile's item-scoped blocks in its row
 * of c and the id v->items.n + j, j its place in *E_new (its mapped
 * embedding, xdpg_new_items: in key order, so the same rows from the table
 * or a history get the same ids); rows of any other new item are dropped,
 * counted in *n_missing with one key in *missing. The rows left: returned.
 * Needs v->has_item_scope.
 */
static int
resolve_new_items(XdServed *s, XdVersion *v, int n, int32 *items, float *c, float *labels,
				  const Datum *keys, float **E_new, XdNewItems *ni_out, int *n_missing,
				  Datum *missing)
{
	int			m = v->enc.schema.m;
	int			n_keys = 0,
				kept = 0;
	Datum	   *asked = palloc(sizeof(Datum) * Max(n, 1));
	XdNewItems	ni;

	*E_new = NULL;
	memset(ni_out, 0, sizeof(*ni_out));
	for (int i = 0; i < n; i++)
		if (items[i] < 0)
			asked[n_keys++] = keys[i];
	if (n_keys == 0)
		return n;
	/* a key asked twice is one group of the profile query */
	xdpg_new_items(s, v, palloc0(sizeof(float) * Max(m, 1)), asked, n_keys, &ni);
	for (int i = 0; i < n; i++)
	{
		if (items[i] < 0)
		{
			int			j = 0;

			while (j < ni.n && !same_item_key(ni.keys[j], keys[i], v->items.is_int))
				j++;
			if (j == ni.n)
			{
				(*n_missing)++;
				*missing = keys[i];
				continue;
			}
			items[i] = v->items.n + j;
			xdpg_new_item_place(v, &ni, j, c + (Size) i * m);
		}
		if (kept != i)
		{
			items[kept] = items[i];
			labels[kept] = labels[i];
			memmove(c + (Size) kept * m, c + (Size) i * m, sizeof(float) * m);
		}
		kept++;
	}
	*E_new = ni.E;
	*ni_out = ni;
	return kept;
}

/*
 * Whether key (int8 or text) is an item that arrived after training among
 * cu's pooled rows: exclude_seen drops it from new candidates.
 */
bool
xdpg_cold_saw_new_item(const XdColdUser *cu, Datum key)
{
	for (int i = 0; i < cu->n_new_seen; i++)
		if (same_item_key(cu->new_seen[i], key, cu->v->items.is_int))
			return true;
	return false;
}

static XdColdUser *
cold_user_new(void)
{
	XdColdUser *cu = palloc0(sizeof(XdColdUser));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	cb->func = cold_user_reset;
	cb->arg = cu;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return cu;
}

/* A label from a rating: explicit feedback pools rating - s (cold.h). */
static float
explicit_label(XdVersion *v, double rating)
{
	xd_param   *s = xd_model_find_param(v->model, "bias.global");

	return (float) rating - (s ? s->w[0] : 0.0f);
}

/* ------------------------------------------------------------ from rows */

/*
 * The caller's query of a user's rows: domain, item, rating, the features'
 * values, most recent first (time_col) or in key order; $1 the user key,
 * $2 the served domains, $3 the domains the user was forgotten from.
 */
static char *
rows_sql(const XdModelDef *md, int limit)
{
	StringInfoData sql;
	const char *alias = quote_identifier(md->alias);

	/*
	 * Text in "C" order, so the rows taken are the same on every machine;
	 * the ORDER BY below names the columns by position.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s)::pg_catalog.text COLLATE \"C\", (%s)::%s, %s",
					 quote_identifier(md->domain_col), quote_identifier(md->item_col),
					 md->item_int ? "pg_catalog.int8" : "pg_catalog.text COLLATE \"C\"",
					 md->rating_col ? psprintf("(%s)::pg_catalog.float8", quote_identifier(md->rating_col)) : "NULL::pg_catalog.float8");
	for (int i = 0; i < md->n_features; i++)
		appendStringInfo(&sql, ", %s%s", xdpg_feature_sql(&md->features[i]),
						 md->features[i].type == XDPG_CATEGORICAL ? " COLLATE \"C\"" : "");
	/*
	 * The column itself against the key, so an index on it is used; a uuid
	 * key is given in its canonical text form (key_datum). It runs as the
	 * caller, under the caller's search_path: operators are pg_catalog's, so
	 * no operator of a schema on that path is called.
	 */
	/*
	 * The domains the user was forgotten from are read before, as the owner
	 * (xdpg_forgotten_of): the caller may not see xdrec.forgotten's rows.
	 */
	appendStringInfo(&sql, " FROM %s AS %s WHERE %s OPERATOR(pg_catalog.=) $1::%s "
					 "AND (%s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) "
					 "AND NOT ((%s.%s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[])) ORDER BY ",
					 md->relation, alias, quote_identifier(md->user_col),
					 md->user_int ? "pg_catalog.int8" :
					 strcmp(md->user_type, "uuid") == 0 ? "pg_catalog.uuid" : "pg_catalog.text",
					 quote_identifier(md->domain_col), alias, quote_identifier(md->domain_col));
	if (md->time_col)
		appendStringInfo(&sql, "%s.%s DESC NULLS LAST, ", alias, quote_identifier(md->time_col));
	appendStringInfoString(&sql, "2, 1");
	for (int i = 0; i < md->n_features; i++)
		appendStringInfo(&sql, ", %d", 4 + i);
	appendStringInfo(&sql, " LIMIT %d", limit);
	return sql.data;
}

/*
 * The rows query's plans, kept per backend: planning it took most of a cold
 * user's cost (make bench-serve). Keyed by its text and the current role
 * (the text names the relation, columns, features and limit, so a changed
 * model is another query); the plan cache replans after DDL on the
 * relation, and checks privileges and row-level security at each run. A few
 * are kept, least recently used out.
 */
#define XDPG_COLD_PLANS 8

typedef struct ColdPlan
{
	char	   *sql;
	Oid			role;
	SPIPlanPtr	plan;
	uint64		used;
} ColdPlan;

static ColdPlan cold_plans[XDPG_COLD_PLANS];
static uint64 cold_plans_clock = 0;

/* The kept plan of sql for the current role, prepared on a miss. SPI connected. */
static SPIPlanPtr
rows_plan(const char *sql, Oid *types)
{
	Oid			role = GetUserId();
	ColdPlan   *slot = &cold_plans[0];
	SPIPlanPtr	plan;

	for (int i = 0; i < XDPG_COLD_PLANS; i++)
	{
		ColdPlan   *p = &cold_plans[i];

		if (p->plan && p->role == role && strcmp(p->sql, sql) == 0)
		{
			p->used = ++cold_plans_clock;
			return p->plan;
		}
		if (p->used < slot->used)
			slot = p;
	}
	plan = SPI_prepare(sql, 3, types);
	if (plan == NULL)
		elog(ERROR, "xdrec: preparing the rows of a cold user failed: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "xdrec: keeping the plan of a cold user's rows failed");
	if (slot->plan)
	{
		SPI_freeplan(slot->plan);
		pfree(slot->sql);
	}
	slot->sql = MemoryContextStrdup(TopMemoryContext, sql);
	slot->role = role;
	slot->plan = plan;
	slot->used = ++cold_plans_clock;
	return plan;
}

/* The user key as the query compares it; false when it cannot be one. */
static bool
key_datum(const XdModelDef *md, const char *user_text, int64 user_int, bool is_int,
		  Datum *key, char **key_text)
{
	if (md->user_int)
	{
		if (!is_int)
		{
			char	   *end;

			errno = 0;
			user_int = strtoll(user_text, &end, 10);
			if (errno != 0 || end == user_text || *end != '\0')
				return false;
		}
		*key = Int64GetDatum(user_int);
		*key_text = psprintf(INT64_FORMAT, user_int);
	}
	else
	{
		/* xdpg_key_normalise made a valid uuid canonical: anything else is no key */
		if (strcmp(md->user_type, "uuid") == 0 &&
			(strlen(user_text) != 36 || strspn(user_text, "0123456789abcdef-") != 36 ||
			 user_text[8] != '-' || user_text[13] != '-' || user_text[18] != '-' ||
			 user_text[23] != '-'))
			return false;
		*key = CStringGetTextDatum(user_text);
		*key_text = (char *) user_text;
	}
	return true;
}

/*
 * A user with rows in the relation but no embedding in the served version
 * of their domain (domain when given, else the one domain of their rows),
 * encoded from their most recent rows. NULL when the user has no usable row
 * (none, or only rows whose item arrived after training or whose values are
 * not finite, as training skips them).
 */
XdColdUser *
xdpg_cold_from_rows(XdServed *s, const char *model, const char *domain,
					const char *user_text, int64 user_int, bool is_int, bool popular_ok)
{
	XdModelDef *md = xdpg_served_model(s);
	char	  **domains;
	int			n_domains = xdpg_served_domains(s, &domains);
	const char *shown = is_int ? psprintf(INT64_FORMAT, user_int) : user_text;
	Datum		vals[3];
	Oid			types[3] = {md->user_int ? INT8OID : TEXTOID, TEXTARRAYOID, TEXTARRAYOID};
	char	   *key_text;
	Datum	   *dom_elems;
	int			n_dom = 0;
	char	   *user_domain = NULL;
	XdVersion  *v = NULL;
	XdColdUser *cu;
	int			limit;
	int			n = 0;
	int32	   *items;
	float	   *c,
			   *labels,
			   *num,
			   *E_new = NULL;
	int32	   *codes;
	int			n_new = 0,
				n_missing = 0;
	XdNewItems	ni = {0};
	char	  **new_text = NULL;
	int64	   *new_int = NULL;
	Datum	   *keys,
				missing;
	const xd_schema *sch;
	XdSpan		span;
	uint64		n_rows;
	SPITupleTable *tt;
	char	   *sql;

	if (!key_datum(md, user_text, user_int, is_int, &vals[0], &key_text))
		return NULL;
	dom_elems = palloc(sizeof(Datum) * Max(n_domains, 1));
	for (int i = 0; i < n_domains; i++)
		if (!domain || strcmp(domains[i], domain) == 0)
			dom_elems[n_dom++] = CStringGetTextDatum(domains[i]);
	if (n_dom == 0)
		return NULL;
	vals[1] = PointerGetDatum(construct_array(dom_elems, n_dom, TEXTOID, -1, false, TYPALIGN_INT));

	/*
	 * The limit of the largest support a served version takes; the rows are
	 * cut to their domain's version's own once it is known.
	 */
	limit = Max(1, md->cold_support);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	vals[2] = xdpg_forgotten_of(md->id, NULL, key_text);
	sql = rows_sql(md, limit);
	xdpg_user_begin(&span);
	xdpg_refuse_foreign_sql(md, sql, 3, types, psprintf("the rows of user %s", shown));
	if (SPI_execute_plan(rows_plan(sql, types), vals, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the rows of user %s failed", shown);
	xdpg_span_end(&span);
	n_rows = SPI_processed;
	tt = SPI_tuptable;
	for (uint64 r = 0; r < n_rows; r++)
	{
		char	   *d = SPI_getvalue(tt->vals[r], tt->tupdesc, 1);

		if (user_domain == NULL)
			user_domain = d;
		else if (strcmp(user_domain, d) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("user %s of model \"%s\" has rows in domains %s and %s", shown, model,
							user_domain, d),
					 errhint("Say which one with domain => '%s'.", user_domain)));
	}
	if (n_rows == 0)
	{
		SPI_finish();
		return NULL;
	}

	/* their domain's version (a nested read on a miss), then its encoding */
	v = xdpg_version_for_domain(s, model, user_domain);
	xdpg_check_version_features(md, v);
	if (v->cold == NULL && (popular_ok || xdpg_version_popular(v)))
	{
		SPI_finish();
		return popular_of(v);
	}
	require_cold_module(model, v, psprintf("user %s, who has no trained embedding", shown));
	sch = &v->enc.schema;
	limit = support_cap(md, v);
	items = SPI_palloc(sizeof(int32) * limit);
	labels = SPI_palloc(sizeof(float) * limit);
	c = SPI_palloc(sizeof(float) * Max((Size) limit * sch->m, 1));
	num = palloc(sizeof(float) * Max(sch->n_num, 1));
	codes = palloc(sizeof(int32) * Max(sch->n_codes, 1));
	/* the keys of rows of new items, kept past SPI_finish */
	if (md->item_int)
		new_int = SPI_palloc(sizeof(int64) * limit);
	else
		new_text = SPI_palloc(sizeof(char *) * limit);
	for (uint64 r = 0; r < n_rows && n < limit; r++)
	{
		HeapTuple	tup = tt->vals[r];
		bool		isnull;
		Datum		d = SPI_getbinval(tup, tt->tupdesc, 2, &isnull);
		int32		item;
		const char *key = NULL;
		float	   *row = c + (Size) n * sch->m;

		if (isnull)
			continue;
		if (!md->item_int)
			key = xdpg_key_normalise(md->item_type, TextDatumGetCString(d));
		item = md->item_int ? xdpg_key_find_int(&v->items, DatumGetInt64(d))
			: xdpg_key_find(&v->items, key);
		/*
		 * an item that arrived after training: pooled by its mapped
		 * embedding when the model has item-scoped features
		 * (resolve_new_items), else there is no embedding to pool
		 */
		if (item < 0 && !v->has_item_scope)
			continue;
		if (v->explicit_fb)
		{
			d = SPI_getbinval(tup, tt->tupdesc, 3, &isnull);
			if (isnull || !isfinite(DatumGetFloat8(d)))
				continue;
			labels[n] = explicit_label(v, DatumGetFloat8(d));
		}
		else
			labels[n] = 1.0f;
		if (!xdpg_row_values(v->features, v->n_features, sch, tup, tt->tupdesc, 4, num, codes))
			continue;
		memset(row, 0, sizeof(float) * sch->m);
		xd_encode_raw(&v->enc, -1, item, num, codes, row);
		if (item < 0)
		{
			if (md->item_int)
				new_int[n] = DatumGetInt64(d);
			else
			{
				new_text[n] = SPI_palloc(strlen(key) + 1);
				strcpy(new_text[n], key);
			}
			n_new++;
		}
		items[n++] = item;
	}
	SPI_finish();
	if (n_new > 0)
	{
		keys = palloc(sizeof(Datum) * n);
		for (int i = 0; i < n; i++)
			if (items[i] < 0)
				keys[i] = md->item_int ? Int64GetDatum(new_int[i]) : CStringGetTextDatum(new_text[i]);
		/* a new item with no row the caller may read: left out, as no row */
		n = resolve_new_items(s, v, n, items, c, labels, keys, &E_new, &ni, &n_missing, &missing);
	}
	/* no row with a known item and finite values: as unknown as no row */
	if (n == 0)
		return NULL;
	cu = cold_user_new();
	cu->v = v;
	cu->served_as = XDPG_SERVED_COLD_ROWS;
	cold_encode(cu, n, items, c, labels, E_new);
	cu->new_seen = ni.keys;
	cu->n_new_seen = ni.n;
	return cu;
}

/* xdpg_cold_min_user's read, as xdpg_subxact_try runs it */
typedef struct ColdMinRead
{
	XdServed   *s;
	const char *model;
	const char *domain;
	const char *user_text;
	int64		user_int;
	bool		is_int;
	XdColdUser *cu;
} ColdMinRead;

static void
cold_min_read(void *arg)
{
	ColdMinRead *r = arg;

	r->cu = xdpg_cold_from_rows(r->s, r->model, r->domain, r->user_text, r->user_int,
								r->is_int, false);
}

/*
 * A trained user with few rows (xdpg_cold_min_applies) from their rows in
 * the served version of domain, or NULL: the warm path serves them then.
 * NULL too when the query cannot be made against the relation as it is now
 * (an error of class 42: a column of the model dropped, renamed or of
 * another type since training, a feature expression's function gone or not
 * executable by the caller, a read that would run another role's function:
 * xdpg_refuse_foreign_sql), as when the relation itself was dropped or the
 * caller may not read it (xdpg_cold_rows_readable): the version still
 * serves every trained user from the catalog, as it did before option
 * cold_min, while a user without an embedding gets the error. The read runs
 * in a subtransaction so that such an error can be left; other errors are
 * raised. A parallel query cannot start one: there the error is raised.
 */
XdColdUser *
xdpg_cold_min_user(XdServed *s, const char *model, const char *domain,
				   const char *user_text, int64 user_int, bool is_int)
{
	ColdMinRead r = {s, model, domain, user_text, user_int, is_int, NULL};
	ErrorData  *error;

	if (IsInParallelMode())
		return xdpg_cold_from_rows(s, model, domain, user_text, user_int, is_int, false);
	error = xdpg_subxact_try(cold_min_read, &r);
	if (error == NULL)
		return r.cu;
	if (ERRCODE_TO_CATEGORY(error->sqlerrcode) != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION)
		ReThrowError(error);
	FreeErrorData(error);
	return NULL;
}

/* ---------------------------------------------------------- from history */

/*
 * A history item key (a JSON number or string) as the version's item id, or
 * -1; *datum is the key as xdpg_new_items takes it (int8 or normalised
 * text), and *is_key false when it cannot be one of the model's keys.
 */
static int32
history_item(XdServed *s, XdVersion *v, const JsonbValue *jv, char **shown, Datum *datum,
			 bool *is_key)
{
	const char *key;

	if (jv->type == jbvNumeric)
		key = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(jv->val.numeric)));
	else if (jv->type == jbvString)
		key = pnstrdup(jv->val.string.val, jv->val.string.len);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history items must be item keys (numbers or strings)"),
				 errhint("For example '[12, 40]' or '[{\"item\": 12, \"ctx\": {\"hour\": 9}}]'.")));
	*shown = (char *) key;
	*is_key = false;
	if (v->items.is_int)
	{
		char	   *end;
		long long	x;

		errno = 0;
		x = strtoll(key, &end, 10);
		if (errno != 0 || end == key || *end != '\0')
			return -1;
		*datum = Int64GetDatum((int64) x);
		*is_key = true;
		return xdpg_key_find_int(&v->items, (int64) x);
	}
	key = xdpg_key_normalise(xdpg_served_key_type(s, false), key);
	*datum = CStringGetTextDatum(key);
	*is_key = true;
	return xdpg_key_find(&v->items, key);
}

/* An object entry of a history: its item, and its ctx and rating when given. */
static void
history_entry(JsonbContainer *obj, JsonbValue *item, Jsonb **ctx, JsonbValue *rating,
			  bool *has_rating)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	k;
	JsonbIteratorToken tok;
	bool		has_item = false;

	*ctx = NULL;
	*has_rating = false;
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue	val;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		if (k.val.string.len == 4 && memcmp(k.val.string.val, "item", 4) == 0)
		{
			*item = val;
			has_item = true;
		}
		else if (k.val.string.len == 3 && memcmp(k.val.string.val, "ctx", 3) == 0)
			*ctx = val.type == jbvNull ? NULL : JsonbValueToJsonb(&val);
		else if (k.val.string.len == 6 && memcmp(k.val.string.val, "rating", 6) == 0)
		{
			*rating = val;
			*has_rating = val.type != jbvNull;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a history entry has no key \"%.*s\"", k.val.string.len, k.val.string.val),
					 errhint("An entry is {\"item\": key, \"ctx\": {...}, \"rating\": r} (ctx and rating optional), or a bare item key.")));
	}
	if (!has_item)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a history entry has no \"item\""),
				 errhint("An entry is {\"item\": key, \"ctx\": {...}, \"rating\": r} (ctx and rating optional), or a bare item key.")));
}

/*
 * An anonymous session: the last cold_support entries of history (a JSON
 * array of item keys, or of {"item", "ctx", "rating"} objects, oldest
 * first), in domain, or the source when none is named. Items the version
 * does not know are left out with a NOTICE; nothing is stored.
 */
XdColdUser *
xdpg_cold_from_history(XdServed *s, const char *model, const char *domain, Jsonb *history,
					   bool popular_ok)
{
	XdModelDef *md = xdpg_served_model(s);
	char	  **domains;
	XdVersion  *v;
	const xd_schema *sch;
	int			total,
				first,
				limit,
				n = 0,
				unknown = 0;
	int32	   *items;
	float	   *c,
			   *labels,
			   *num,
			   *E_new = NULL;
	int32	   *codes;
	Datum	   *keys;
	int			n_new = 0;
	XdNewItems	ni = {0};
	char	   *unknown_key = NULL;
	XdColdUser *cu;

	if (xdpg_served_domains(s, &domains) == 0)
		elog(ERROR, "xdrec: model \"%s\" serves no domain", model);
	v = xdpg_version_for_domain(s, model, domain ? domain : domains[0]);
	if (v->cold == NULL && (popular_ok || xdpg_version_popular(v)))
		return popular_of(v);
	require_cold_module(model, v, "an anonymous history");
	if (!JB_ROOT_IS_ARRAY(history) || JB_ROOT_IS_SCALAR(history))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history must be a json array of interactions, oldest first"),
				 errhint("For example '[12, 40]' or '[{\"item\": 12, \"ctx\": {\"hour\": 9}}]'.")));
	total = (int) JB_ROOT_COUNT(history);
	if (total == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history must hold at least one interaction")));
	sch = &v->enc.schema;
	limit = support_cap(md, v);
	first = Max(0, total - limit);	/* the most recent: the last entries */
	items = palloc(sizeof(int32) * limit);
	labels = palloc(sizeof(float) * limit);
	c = palloc0(sizeof(float) * Max((Size) limit * sch->m, 1));
	num = palloc(sizeof(float) * Max(sch->n_num, 1));
	codes = palloc(sizeof(int32) * Max(sch->n_codes, 1));
	keys = palloc(sizeof(Datum) * limit);
	for (int i = first; i < total; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&history->root, i);
		JsonbValue	item,
					rating;
		Jsonb	   *ctx = NULL;
		bool		has_rating = false;
		char	   *shown;
		int32		id;
		Datum		key = (Datum) 0;
		bool		is_key;

		if (e->type == jbvBinary)
		{
			if (!JsonContainerIsObject(e->val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("history entries must be item keys or objects, not arrays")));
			history_entry(e->val.binary.data, &item, &ctx, &rating, &has_rating);
		}
		else
			item = *e;
		id = history_item(s, v, &item, &shown, &key, &is_key);
		if (v->explicit_fb)
		{
			double		r;

			if (!has_rating || rating.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("model \"%s\" learns ratings, so each history entry needs a numeric \"rating\"", model),
						 errhint("For example '[{\"item\": 12, \"rating\": 4}]'.")));
			r = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(rating.val.numeric)));
			if (!isfinite(r))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("history rating %g is not finite", r)));
			labels[n] = explicit_label(v, r);
		}
		else
			labels[n] = 1.0f;
		/* a new item: its profile and mapped embedding (resolve_new_items) */
		if (id < 0 && (!v->has_item_scope || !is_key))
		{
			unknown++;
			unknown_key = shown;
			continue;
		}
		xdpg_ctx_from_jsonb(model, v->features, sch, ctx, num, codes);
		xd_encode_raw(&v->enc, -1, id, num, codes, c + (Size) n * sch->m);
		keys[n] = key;
		n_new += id < 0;
		items[n++] = id;
	}
	if (n_new > 0)
	{
		int			n_missing = 0;
		Datum		missing;

		n = resolve_new_items(s, v, n, items, c, labels, keys, &E_new, &ni, &n_missing, &missing);
		if (n_missing > 0)
		{
			unknown += n_missing;
			unknown_key = v->items.is_int ? psprintf(INT64_FORMAT, DatumGetInt64(missing))
				: TextDatumGetCString(missing);
		}
	}
	if (unknown > 0)
		ereport(n == 0 ? ERROR : NOTICE,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%d item%s of the history %s not known to version " INT64_FORMAT " of model \"%s\" (domain %s)%s",
						unknown, unknown == 1 ? "" : "s", unknown == 1 ? "is" : "are",
						v->version_id, model, v->domain, n == 0 ? "" : ": left out"),
				 errdetail("Item %s, for one.", unknown_key)));
	cu = cold_user_new();
	cu->v = v;
	cu->served_as = XDPG_SERVED_HISTORY;
	cold_encode(cu, n, items, c, labels, E_new);
	cu->new_seen = ni.keys;
	cu->n_new_seen = ni.n;
	return cu;
}

/* ------------------------------------------------------------ scoring */

/*
 * Every item's score for a cold user in the call's encoded context c, from
 * the item outputs cached for it (serve_cache.c), as a warm user's; with
 * exclude_seen the support's items are NaN, so top-k skips them.
 */
void
xdpg_cold_scores(XdColdUser *cu, const float *c, bool exclude_seen, float *scores)
{
	XdVersion  *v = cu->v;

	if (cu->served_as == XDPG_SERVED_POPULAR)
		memcpy(scores, version_popularity(v), sizeof(float) * v->items.n);
	else
		xdpg_check_status(xd_cold_score_outputs(v->cold, v->model, &cu->task, c,
												xdpg_item_outputs(v, c), scores),
						  "scoring the cold user");
	if (exclude_seen)
		for (int i = 0; i < cu->n_seen; i++)
			scores[cu->seen[i]] = NAN;
}
