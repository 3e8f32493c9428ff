/*
 * item_cache.c - the item-tower output cache (issue 7, docs/serving.md).
 *
 * Per backend, beside the version cache of version_cache.c: for a served version and
 * a full encoded context c (interaction-scoped values and the user's profile
 * for user-scoped features), the core's xd_item_outputs: every item's tower
 * output h_v^L, the user gate and the context bias. A repeated context then
 * costs one user tower and one matrix-vector product. Entries are keyed by
 * (version id, the exact bits of c), looked up through a hash of c and
 * confirmed by comparing c itself, kept least recently used first within
 * xdrec.item_cache_memory, and dropped with their version: versions never
 * change once written, so an entry is never stale while its version lives.
 *
 * Each version counts its hits and misses; xdrec.cache_stats (fn/cache_fn.c)
 * shows them.
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

#include "xdrec/transfer.h"
#include "serve/serve.h"

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

/*
 * One user's scores of every item of v in context c (xd_item_outputs_score_unseen
 * through the cache); for a blend version (version_read.c) the mix of its
 * two fits' scores, s = (1 - a) s_target-only + a s_DRR, each from its own
 * cached outputs (xd_blend_mix; an item left out stays NaN).
 */
void
xdpg_score_unseen(XdVersion *v, const float *c, int32 user, const xd_seen *seen, float *scores)
{
	float	   *tmp;

	xdpg_check_status(xd_item_outputs_score_unseen(v->model, xdpg_item_outputs(v, c), &user, 1,
												   seen, scores),
					  "scoring");
	if (!v->blend)
		return;
	/* the outputs above are done with: the next lookup may evict them */
	tmp = palloc(sizeof(float) * Max(v->items.n, 1));
	xdpg_check_status(xd_item_outputs_score_unseen(v->blend->model, xdpg_item_outputs(v->blend, c),
												   &user, 1, seen, tmp),
					  "scoring the blend");
	xd_blend_mix(v->blend_a, v->items.n, scores, tmp);
	pfree(tmp);
}

/*
 * An xd_score_fn over a served version (arg = the XdVersion): its model's
 * scores, or a blend version's blended scores (xd_fit_score).
 */
xd_status
xdpg_version_score(void *version, const xd_batch *b, float *scores)
{
	XdVersion  *v = (XdVersion *) version;

	return xd_fit_score(v->model, v->blend ? v->blend->model : NULL, v->blend_a, b, scores);
}
