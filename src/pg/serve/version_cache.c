/*
 * version_cache.c - the per-backend cache ranking reads through (DESIGN section 7).
 *
 * Two levels:
 *   served   per (model name, current role): the model id, its key types and
 *            the served version of each domain. Built with one catalog read
 *            under the caller's row-level security, dropped on invalidation.
 *   versions per version id: the deserialised model, encoder, vocabularies,
 *            key maps and seen items, read and validated once per load by
 *            version_read.c (a corrupt version is XX001 and is not cached;
 *            one that alone would not fit in xdrec.cache_memory is refused
 *            before it is read). A version changes after it is written
 *            only when a user is forgotten from it, which bumps its
 *            forgotten_users; so an entry stays, labelled with that count,
 *            until the served entry names another count or it is evicted
 *            (least recently used first) to keep the cache within
 *            xdrec.cache_memory.
 *
 * Invalidation: a relcache callback on xdrec.domain. Every write to
 * xdrec.model, xdrec.model_grant, xdrec.domain or xdrec.forgotten (deploying
 * a version, dropping a model, a grant or revoke, forgetting a user) sends a
 * relcache invalidation of xdrec.domain, by a statement trigger and by
 * xdpg_deploy, so every backend forgets its served entries before its next
 * call, without a query per call.
 * Invalidations are WAL-logged, so this holds on a hot standby too.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "serve/serve.h"

struct XdServed
{
	char	   *name;
	Oid			userid;
	uint64		gen;			/* the invalidation generation it was read in */
	int64		model_id;
	bool		explicit_fb;
	bool		user_int;
	bool		item_int;
	char	   *user_type;
	char	   *item_type;
	int			n;
	char	  **domains;
	int64	   *versions;
	int32	   *revisions;		/* each version's forgotten_users */
	XdModelDef *md;				/* the model's definition: the cold path reads rows */
	struct XdServed *next;
};

static MemoryContext cache_cxt = NULL;	/* versions */
static MemoryContext served_cxt = NULL; /* served entries, reset when stale */
static XdServed *served_list = NULL;
static uint64 inval_gen = 1;
static uint64 served_list_gen = 0;
static Oid	domain_relid = InvalidOid;
static bool callback_registered = false;

static XdVersion **versions = NULL;
static int	n_versions = 0;
static int	cap_versions = 0;
static uint64 use_clock = 0;
static Size total_bytes = 0;

/* Frees a cached version and the item outputs computed from it. */
static void
version_drop(XdVersion *v)
{
	xdpg_item_outputs_drop_version(v);
	if (v->blend)
		xdpg_item_outputs_drop_version(v->blend);
	total_bytes -= v->bytes;
	MemoryContextDelete(v->cxt);
}

static void
relcache_callback(Datum arg, Oid relid)
{
	/* no freeing here: a call in progress may hold pointers; just mark */
	if (relid == InvalidOid || relid == domain_relid)
		inval_gen++;
}

static void
cache_init(void)
{
	Oid			relid;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
		callback_registered = true;
	}
	if (!cache_cxt)
	{
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "xdrec cache", ALLOCSET_DEFAULT_SIZES);
		served_cxt = AllocSetContextCreate(cache_cxt, "xdrec served", ALLOCSET_SMALL_SIZES);
	}
	/* the extension recreated: a new xdrec.domain, everything is stale */
	relid = xdpg_domain_relid();
	if (relid != domain_relid)
	{
		domain_relid = relid;
		inval_gen++;
		for (int i = 0; i < n_versions; i++)
			version_drop(versions[i]);
		n_versions = 0;
	}
	if (served_list_gen != inval_gen)
	{
		MemoryContextReset(served_cxt);
		served_list = NULL;
		served_list_gen = inval_gen;
	}
}

XdServed *
xdpg_served(const char *name)
{
	XdServed   *s;
	Oid			userid = GetUserId();
	uint64		gen;
	XdModelDef *md;
	MemoryContext old,
				callcxt;
	Oid			types[1] = {INT8OID};
	Datum		vals[1];
	int			ret;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	cache_init();
	for (s = served_list; s; s = s->next)
		if (s->userid == userid && s->gen == inval_gen && strcmp(s->name, name) == 0)
			return s;

	gen = inval_gen;
	/*
	 * The definition is SPI_palloc'ed where SPI was connected, so it is kept
	 * with s; SPI_finish returns there, hence the switch back to callcxt.
	 */
	callcxt = MemoryContextSwitchTo(served_cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "use");
	vals[0] = Int64GetDatum(md->id);
	ret = SPI_execute_with_args("SELECT d.domain, d.served_version, v.forgotten_users "
								"FROM xdrec.domain d JOIN xdrec.version v ON v.id = d.served_version "
								"WHERE d.model_id = $1 "
								"ORDER BY d.role <> 'source', d.domain COLLATE \"C\"",
								1, types, vals, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the served versions of model \"%s\" failed", name);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been trained yet", name),
				 errhint("Train it first: SELECT xdrec.train('%s', source_domain).", name)));

	old = MemoryContextSwitchTo(served_cxt);
	s = palloc0(sizeof(XdServed));
	s->name = pstrdup(name);
	s->userid = userid;
	s->gen = gen;
	s->model_id = md->id;
	s->explicit_fb = md->explicit_fb;
	s->user_int = md->user_int;
	s->item_int = md->item_int;
	s->user_type = pstrdup(md->user_type);
	s->item_type = pstrdup(md->item_type);
	s->md = md;
	s->n = (int) SPI_processed;
	s->domains = palloc(sizeof(char *) * s->n);
	s->versions = palloc(sizeof(int64) * s->n);
	s->revisions = palloc(sizeof(int32) * s->n);
	for (int i = 0; i < s->n; i++)
	{
		bool		isnull;

		s->domains[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		s->versions[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 2, &isnull));
		s->revisions[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 3, &isnull));
	}
	s->next = served_list;
	served_list = s;
	MemoryContextSwitchTo(old);
	SPI_finish();
	MemoryContextSwitchTo(callcxt);
	return s;
}

int64
xdpg_served_model_id(XdServed *s)
{
	return s->model_id;
}

bool
xdpg_served_explicit(XdServed *s)
{
	return s->explicit_fb;
}

bool
xdpg_served_int_keys(XdServed *s)
{
	return s->user_int && s->item_int;
}

const char *
xdpg_served_key_type(XdServed *s, bool user)
{
	return user ? s->user_type : s->item_type;
}

/*
 * The model's definition, its relation named as its OID names it now: s
 * lives across calls, and a relation renamed since (another table perhaps
 * under the old name) is still the one the cold path and new items read.
 */
XdModelDef *
xdpg_served_model(XdServed *s)
{
	xdpg_model_follow_relation(s->md);
	return s->md;
}

int
xdpg_served_domains(XdServed *s, char ***domains)
{
	*domains = s->domains;
	return s->n;
}

/* Drops the i-th cached version, filling its slot with the last one. */
static void
drop_version(int i)
{
	version_drop(versions[i]);
	versions[i] = versions[--n_versions];
}

/* Evicts least recently used versions until the cache fits, sparing keep. */
static void
evict(XdVersion *keep)
{
	Size		budget = (Size) xdrec_cache_memory * 1024;

	while (total_bytes > budget && n_versions > 1)
	{
		int			victim = -1;

		for (int i = 0; i < n_versions; i++)
			if (versions[i] != keep &&
				(victim < 0 || versions[i]->last_used < versions[victim]->last_used))
				victim = i;
		if (victim < 0)
			break;
		drop_version(victim);
	}
}

/*
 * The version served for domain i of s, as of its revision (forgotten_users),
 * cached; read and validated (version_read.c) on a miss.
 */
static XdVersion *
version_get(XdServed *s, int i)
{
	int64		model_id = s->model_id;
	int64		version_id = s->versions[i];
	int32		revision = s->revisions[i];
	XdVersionRef ref = {
		.model = s->name, .model_id = model_id, .domain = s->domains[i],
		.version_id = version_id,
		.budget_setting = "xdrec.cache_memory", .budget_kb = xdrec_cache_memory,
	};
	XdVersion  *v;
	MemoryContext cxt;

	for (int k = 0; k < n_versions; k++)
		if (versions[k]->version_id == version_id && versions[k]->model_id == model_id)
		{
			if (versions[k]->revision != revision)
			{
				drop_version(k);	/* a user was forgotten from it since */
				break;
			}
			versions[k]->last_used = ++use_clock;
			return versions[k];
		}

	/*
	 * Built under the current context, so an error deletes it (and its reset
	 * callback frees the core objects); moved into the cache once complete.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "xdrec version", ALLOCSET_DEFAULT_SIZES);
	v = MemoryContextAllocZero(cxt, sizeof(XdVersion));
	v->cxt = cxt;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	xdpg_read_version(v, &ref);
	SPI_finish();
	v->revision = revision;
	xd_model_drop_training_state(v->model);
	if (v->blend)
		xd_model_drop_training_state(v->blend->model);

	v->bytes = MemoryContextMemAllocated(cxt, true) + v->core_bytes;
	v->last_used = ++use_clock;
	MemoryContextSetParent(cxt, cache_cxt);
	if (n_versions == cap_versions)
	{
		cap_versions = cap_versions ? cap_versions * 2 : 8;
		versions = versions ? repalloc(versions, sizeof(XdVersion *) * cap_versions)
			: MemoryContextAlloc(cache_cxt, sizeof(XdVersion *) * cap_versions);
	}
	versions[n_versions++] = v;
	total_bytes += v->bytes;
	evict(v);
	return v;
}

/* The versions this backend holds, for xdrec.cache_stats. */
int
xdpg_cached_versions(XdVersion ***out)
{
	*out = versions;
	return n_versions;
}

XdVersion *
xdpg_version_for_domain(XdServed *s, const char *model, const char *domain)
{
	const char *near;

	for (int i = 0; i < s->n; i++)
		if (strcmp(s->domains[i], domain) == 0)
			return version_get(s, i);
	near = xdpg_did_you_mean(domain, (const char *const *) s->domains, s->n);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" serves no domain %s", model, domain),
			 near ? errhint("Did you mean \"%s\"?", near) :
			 errhint("SELECT domain FROM xdrec.domains WHERE model = '%s' lists its trained domains.", model)));
	return NULL;
}

/*
 * The served version holding the user, and its dense id: in domain when
 * given, else the one domain whose version knows the key; NULL when none
 * does (the cold path's turn, cold_user.c).
 */
XdVersion *
xdpg_lookup_user(XdServed *s, const char *model, const char *domain,
				 const char *user_text, int64 user_int, bool is_int, int32 *user_id)
{
	int			found = -1;
	const char *shown = is_int ? psprintf(INT64_FORMAT, user_int) : user_text;

	for (int i = 0; i < s->n; i++)
	{
		XdVersion  *v;
		int32		id;

		if (domain && strcmp(s->domains[i], domain) != 0)
			continue;
		v = version_get(s, i);
		id = is_int ? xdpg_key_find_int(&v->users, user_int) : xdpg_key_find(&v->users, user_text);
		if (id < 0)
			continue;
		if (found >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("user %s of model \"%s\" is in domains %s and %s", shown, model,
							s->domains[found], s->domains[i]),
					 errhint("Say which one with domain => '%s'.", s->domains[found])));
		found = i;
		*user_id = id;
	}
	if (found < 0)
	{
		if (domain)
			(void) xdpg_version_for_domain(s, model, domain);	/* unknown domain? */
		return NULL;
	}

	/*
	 * Loading a later domain's version may have evicted the one the user was
	 * found in (a cache smaller than the model): get it again, a hit unless
	 * it was.
	 */
	return version_get(s, found);
}

/* The user unknown to every served version, with no rows to rank them from. */
void
xdpg_unknown_user(const char *model, const char *domain, const char *user_text,
				  int64 user_int, bool is_int)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("user %s is not known to model \"%s\"%s%s",
					is_int ? psprintf(INT64_FORMAT, user_int) : user_text, model,
					domain ? " in domain " : "", domain ? domain : ""),
			 errhint("A user with rows in the model's relation is ranked from them; an anonymous session passes its items as history => '[...]'.")));
}

/* The served version holding the user and its dense id, or an error. */
XdVersion *
xdpg_find_user(XdServed *s, const char *model, const char *domain,
			   const char *user_text, int64 user_int, bool is_int, int32 *user_id)
{
	XdVersion  *v = xdpg_lookup_user(s, model, domain, user_text, user_int, is_int, user_id);

	if (v == NULL)
		xdpg_unknown_user(model, domain, user_text, user_int, is_int);
	return v;
}
