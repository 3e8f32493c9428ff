/*
 * guard.c - the core objects a call owns (a dataset, a model, a schema, the
 * encoders, an adaptation, a baseline), freed by a reset callback of the
 * call's memory context, so no error path leaks the core's malloc'ed memory.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "data/data.h"

static void
guard_reset(void *arg)
{
	XdGuard    *g = (XdGuard *) arg;

	if (g->ds)
		xd_dataset_free(g->ds);
	if (g->model)
		xd_model_free(g->model);
	if (g->has_schema)
		xd_schema_free(&g->schema);
	if (g->transfer)
		xd_transfer_result_free(g->transfer);
	if (g->encoders)
		xd_dist_encoders_free(g->encoders);
	xd_popularity_free(g->popularity);
	g->popularity = NULL;
	g->transfer = NULL;
	g->encoders = NULL;
	g->ds = NULL;
	g->model = NULL;
	g->has_schema = false;
}

/*
 * A guard for the core objects of this call: whatever it holds is freed when
 * the current memory context is reset or deleted, which an error does too, so
 * no error path leaks malloc'ed core memory.
 */
XdGuard *
xdpg_guard(void)
{
	XdGuard    *g = palloc0(sizeof(XdGuard));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	cb->func = guard_reset;
	cb->arg = g;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return g;
}
