/*
 * fixture.c - test datasets (fixture.h).
 */
#include <stdlib.h>

#include "fixture.h"

xd_dataset *
fx_dataset(const fx_spec *spec)
{
	xd_schema	s;
	xd_dataset *ds = NULL;
	xd_rng		rng;
	xd_status	st;

	if (xd_schema_init(&s, spec->features, spec->n_features) != XD_OK)
		return NULL;
	st = s.n_num <= FX_MAX_RAW && s.n_codes <= FX_MAX_RAW ?
		xd_dataset_create(&s, spec->n_users, spec->n_items, spec->ratings, 0, &ds) :
		XD_EINVAL;
	xd_schema_free(&s);
	if (st != XD_OK)
		return NULL;
	xd_rng_seed(&rng, spec->seed);
	for (int64_t i = 0; i < spec->n_rows && st == XD_OK; i++)
	{
		fx_row		r = {0};

		spec->row(spec->arg, &rng, i, &r);
		st = xd_dataset_append(ds, r.user, r.item, r.rating, r.num, r.codes);
	}
	if (st == XD_OK && spec->finalize)
		st = xd_dataset_finalize(ds, spec->split_seed);
	if (st != XD_OK)
	{
		xd_dataset_free(ds);
		return NULL;
	}
	return ds;
}

/*
 * The source-weighting world (fixture.h): hour h in 0..3 and a mode; a
 * row's item is of group h (the shared rule) or, in mode 1, of the user's
 * group u mod 4 whatever the hour (the foreign rule: not a relabelling of
 * groups, which the targets' own embeddings would absorb) or, a share
 * contradiction of the mode 1 rows, of the opposite hour's group
 * (h + 2) mod 4, or, one time in five, of a random group; within the
 * group, of the user's parity. A share shared_mode1 of the shared rule's
 * rows shows mode 1 too: in a target, the context where the source's
 * foreign rule would mislead it.
 */
static const xd_feature fx_biao_features[] = {
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 5),
	XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 3),
};

typedef struct fx_biao_arg
{
	int32_t		n_users;
	int32_t		n_items;
	fx_biao_opts o;
} fx_biao_arg;

static void
fx_biao_row(void *arg, xd_rng *rng, int64_t i, fx_row *r)
{
	const fx_biao_arg *a = arg;
	int32_t		hour = (int32_t) xd_rng_below(rng, 4);
	int32_t		mode = xd_rng_uniform(rng) < a->o.foreign_share ? 1 : 0;
	int32_t		shown = mode;
	int32_t		per_parity = a->n_items / 8;
	int32_t		group;

	(void) i;
	r->user = (int32_t) xd_rng_below(rng, (uint32_t) a->n_users);
	group = mode == 0 ? hour : r->user % 4;
	/* drawn only when asked: the default options keep the default world's bytes */
	if (mode == 1 && a->o.contradiction > 0.0f && xd_rng_uniform(rng) < a->o.contradiction)
		group = (hour + 2) % 4;
	if (mode == 0 && a->o.shared_mode1 > 0.0f && xd_rng_uniform(rng) < a->o.shared_mode1)
		shown = 1;
	if (xd_rng_uniform(rng) < 0.2f)
		group = (int32_t) xd_rng_below(rng, 4);
	r->item = group + 4 * (2 * (int32_t) xd_rng_below(rng, (uint32_t) per_parity) + r->user % 2);
	r->codes[0] = hour;
	r->codes[1] = shown;
	/* drawn last and only when asked, as above */
	if (a->o.ratings)
		r->rating = (group == hour ? 4.0f : 1.0f) + (float) xd_rng_below(rng, 2);
}

void
fx_biao_world_opts_default(fx_biao_opts *o)
{
	o->foreign_share = 0.0f;
	o->contradiction = 0.0f;
	o->shared_mode1 = 0.0f;
	o->ratings = false;
}

xd_dataset *
fx_biao_world(uint64_t seed, int32_t n_users, int32_t n_items, int64_t n_rows,
			  const fx_biao_opts *o)
{
	fx_biao_arg a = {n_users, n_items, *o};
	fx_spec		spec = {
		.features = fx_biao_features, .n_features = 2, .n_users = n_users,
		.n_items = n_items, .n_rows = n_rows, .seed = seed, .row = fx_biao_row,
		.arg = &a, .finalize = true, .split_seed = seed, .ratings = o->ratings,
	};

	if (n_items < 8 || n_items % 8 != 0)
		return NULL;
	return fx_dataset(&spec);
}

/* ds's rows, each (user, item) pair's first only: a world without repeats */
xd_status
fx_without_repeats(const xd_dataset *ds, xd_dataset **out)
{
	const xd_schema *sc = &ds->enc.schema;
	uint8_t    *seen = calloc((size_t) ds->n_users * (size_t) ds->n_items, 1);
	xd_status	st;

	if (!seen)
		return XD_ENOMEM;
	st = xd_dataset_create(sc, ds->n_users, ds->n_items, 0, 0, out);
	for (int64_t r = 0; r < ds->n_rows && st == XD_OK; r++)
	{
		uint8_t    *pair = &seen[(size_t) ds->users[r] * (size_t) ds->n_items + (size_t) ds->items[r]];

		if (*pair)
			continue;
		*pair = 1;
		st = xd_dataset_append(*out, ds->users[r], ds->items[r], 0.0f,
							   ds->num + (size_t) r * sc->n_num,
							   ds->codes + (size_t) r * sc->n_codes);
	}
	free(seen);
	return st == XD_OK ? xd_dataset_finalize(*out, ds->seed) : st;
}
