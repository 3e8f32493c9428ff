/*
 * serve_cache.c - the item-tower output cache (issue 7, docs/serving.md).
 *
 * Per backend, beside the version cache of cache.c: for a served version and
 * a full encoded context c (interaction-scoped values and the user's profile
 * for user-scoped features), the core's xd_item_outputs: every item's tower
 * output h_v^L, the user gate and the context bias. A repeated context then
 * costs one user tower and one matrix-vector product. Entries are keyed by
 * (version id, the exact bits of c), looked up through a hash of c and
 * confirmed by comparing c itself, kept least recently used first within
 * xdrec.item_cache_memory, and dropped with their version: versions never
 * change once written, so an entry is never stale while its version lives.
 *
 * Each version counts its hits and misses; xdrec.cache_stats shows them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "xdrec_pg.h"

typedef struct XdCtxKey
{
	int64		version_id;
	uint64		hash;			/* of the bits of c */
} XdCtxKey;

typedef struct XdCtxEntry
{
	XdCtxKey	key;			/* first: the dynahash key */
	dlist_node	lru;			/* most recently used at the head */
	XdVersion  *v;
	float	   *c;				/* [m] the context itself, at the end of buf */
	float	   *buf;			/* what io points into */
	xd_item_outputs io;
	Size		bytes;
} XdCtxEntry;

static MemoryContext ctx_cxt = NULL;
static HTAB *ctx_hash = NULL;
static dlist_head ctx_lru = DLIST_STATIC_INIT(ctx_lru);
static Size ctx_total = 0;

static void
ctx_init(void)
{
	HASHCTL		hc;

	if (ctx_hash)
		return;
	ctx_cxt = AllocSetContextCreate(CacheMemoryContext, "xdrec item outputs",
									ALLOCSET_DEFAULT_SIZES);
	hc.keysize = sizeof(XdCtxKey);
	hc.entrysize = sizeof(XdCtxEntry);
	hc.hcxt = ctx_cxt;
	ctx_hash = hash_create("xdrec item outputs", 64, &hc,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
ctx_remove(XdCtxEntry *e)
{
	XdCtxKey	key = e->key;

	dlist_delete(&e->lru);
	e->v->ctx_entries--;
	e->v->ctx_bytes -= e->bytes;
	ctx_total -= e->bytes;
	pfree(e->buf);
	hash_search(ctx_hash, &key, HASH_REMOVE, NULL);
}

void
xdpg_item_outputs_drop_version(XdVersion *v)
{
	dlist_mutable_iter it;

	if (!ctx_hash)
		return;
	dlist_foreach_modify(it, &ctx_lru)
	{
		XdCtxEntry *e = dlist_container(XdCtxEntry, lru, it.cur);

		if (e->v == v)
			ctx_remove(e);
	}
}

/* Computes v's item outputs for c into buf, or fails with an error. */
static void
ctx_compute(XdVersion *v, const float *c, float *buf, xd_item_outputs *io)
{
	xd_status	st;

	xd_item_outputs_bind(io, v->model, v->has_item_scope, buf);
	st = xd_item_outputs_compute(v->model, c, &v->enc, io);
	xdpg_check_status(st, "computing the item tower");
}

/*
 * The item outputs of version v under the encoded context c[m]: cached, or
 * computed and cached when they fit in xdrec.item_cache_memory (else
 * computed in the current memory context for this call alone). Valid until
 * the next call of this function.
 */
const xd_item_outputs *
xdpg_item_outputs(XdVersion *v, const float *c)
{
	int			m = v->enc.schema.m;
	Size		floats = xd_item_outputs_floats(v->model, v->has_item_scope);
	Size		bytes = sizeof(XdCtxEntry) + sizeof(float) * (floats + Max(m, 1));
	Size		budget = (Size) xdrec_item_cache_memory * 1024;
	XdCtxKey	key;
	XdCtxEntry *e;
	float	   *buf;
	xd_item_outputs computed;
	xd_item_outputs *io;

	ctx_init();
	memset(&key, 0, sizeof(key));
	key.version_id = v->version_id;
	key.hash = hash_bytes_extended((const unsigned char *) c, (int) (sizeof(float) * m),
								   (uint64) v->version_id);
	e = hash_search(ctx_hash, &key, HASH_FIND, NULL);
	if (e && memcmp(e->c, c, sizeof(float) * m) == 0)
	{
		v->ctx_hits++;
		dlist_move_head(&ctx_lru, &e->lru);
		/* the setting may have been lowered since: evict all but this one */
		while (ctx_total > budget && dlist_tail_node(&ctx_lru) != &e->lru)
			ctx_remove(dlist_tail_element(XdCtxEntry, lru, &ctx_lru));
		return &e->io;
	}
	v->ctx_misses++;
	if (e)						/* another context with the same hash */
		ctx_remove(e);

	while (!dlist_is_empty(&ctx_lru) &&
		   (ctx_total + bytes > budget || ctx_total > budget))
		ctx_remove(dlist_tail_element(XdCtxEntry, lru, &ctx_lru));
	if (bytes > budget)
	{
		io = palloc(sizeof(xd_item_outputs));
		ctx_compute(v, c, palloc(sizeof(float) * floats), io);
		return io;
	}

	/*
	 * One allocation holds the outputs and then the key; computed before it
	 * is entered, so an error leaves no half entry.
	 */
	buf = MemoryContextAllocHuge(ctx_cxt, sizeof(float) * (floats + Max(m, 1)));
	PG_TRY();
	{
		ctx_compute(v, c, buf, &computed);
		e = hash_search(ctx_hash, &key, HASH_ENTER, NULL);
	}
	PG_CATCH();
	{
		pfree(buf);
		PG_RE_THROW();
	}
	PG_END_TRY();
	e->io = computed;
	e->v = v;
	e->buf = buf;
	e->c = buf + floats;
	memcpy(e->c, c, sizeof(float) * m);
	e->bytes = bytes;
	dlist_push_head(&ctx_lru, &e->lru);
	v->ctx_entries++;
	v->ctx_bytes += bytes;
	ctx_total += bytes;
	return &e->io;
}

/* Whether the current role may use model_id (its cached versions are shown). */
static bool
may_use(int64 model_id)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(model_id)};
	bool		isnull;
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (SPI_execute_with_args("SELECT xdrec_internal.model_access($1, 'use')", 1, types, vals, NULL,
							  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: checking the privileges on a cached model failed");
	ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return ok;
}

/*
 * xdrec_internal.cache_stats(): one row per version in this backend's cache
 * (model_id, domain, version, version_bytes, contexts, context_bytes, hits,
 * misses) of the models the current role may use (a session that changed
 * roles may cache another role's); xdrec.cache_stats adds the model's name.
 */
PG_FUNCTION_INFO_V1(xdrec_cache_stats);
Datum
xdrec_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	XdVersion **vs;
	int			n = xdpg_cached_versions(&vs);
	Datum	   *rows = palloc(sizeof(Datum) * 8 * Max(n, 1));

	/* copied first: the privilege checks' queries may invalidate the cache */
	for (int i = 0; i < n; i++)
	{
		Datum	   *values = rows + 8 * i;

		values[0] = Int64GetDatum(vs[i]->model_id);
		values[1] = CStringGetTextDatum(vs[i]->domain);
		values[2] = Int64GetDatum(vs[i]->version_id);
		values[3] = Int64GetDatum((int64) vs[i]->bytes);
		values[4] = Int32GetDatum(vs[i]->ctx_entries);
		values[5] = Int64GetDatum((int64) vs[i]->ctx_bytes);
		values[6] = Int64GetDatum(vs[i]->ctx_hits);
		values[7] = Int64GetDatum(vs[i]->ctx_misses);
	}
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		bool		nulls[8] = {0};

		if (may_use(DatumGetInt64(rows[8 * i])))
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, rows + 8 * i, nulls);
	}
	return (Datum) 0;
}
