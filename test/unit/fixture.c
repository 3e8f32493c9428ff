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
