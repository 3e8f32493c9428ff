/*
 * fixture.h - test datasets: a schema from feature declarations, then rows
 * from a seeded generator, appended and (optionally) finalized. The steps
 * every test dataset goes through, written once; each test file keeps only
 * its features and how a row is drawn.
 */
#ifndef XDREC_UNIT_FIXTURE_H
#define XDREC_UNIT_FIXTURE_H

#include <stdbool.h>

#include "xdrec/dataset.h"
#include "xdrec/rng.h"

#define FX_MAX_RAW 8			/* raw floats, and codes, per row */

/* One row to append: ids, rating (ignored without ratings), raw values. */
typedef struct fx_row
{
	int32_t		user;
	int32_t		item;
	float		rating;
	float		num[FX_MAX_RAW];
	int32_t		codes[FX_MAX_RAW];
} fx_row;

/* Fills row i, drawing what it needs from rng (seeded once per dataset). */
typedef void (*fx_row_fn) (void *arg, xd_rng *rng, int64_t i, fx_row *row);

typedef struct fx_spec
{
	const xd_feature *features;
	int			n_features;
	int			n_users;
	int			n_items;
	int			ratings;		/* has_ratings */
	int64_t		n_rows;
	uint64_t	seed;			/* of the rng the rows are drawn from */
	fx_row_fn	row;
	void	   *arg;
	bool		finalize;		/* with split_seed; else the test does */
	uint64_t	split_seed;
} fx_spec;

/* The dataset spec describes, or NULL when any step fails (nothing leaks). */
xd_dataset *fx_dataset(const fx_spec *spec);

/*
 * The source-weighting world (biao.h's tests and report, docs/generator.md):
 * two interaction features, an hour (4 values) and a mode; rows of the
 * shared rule (the item's group is the hour's) show mode 0, the rows of a
 * foreign rule no target shares, a share foreign_share of them, mode 1.
 * Targets are worlds with foreign_share 0. The codes of row r:
 * ds->codes[r * 2] is the hour, [r * 2 + 1] the mode shown. n_items a
 * multiple of 8. Finalized with seed.
 */
typedef struct fx_biao_opts
{
	float		foreign_share;	/* rows of the foreign rule (0) */
	float		contradiction;	/* of those, the share whose item is of the
								 * opposite hour's group, not of the user's
								 * (0) */
	float		shared_mode1;	/* of the shared rule's rows, the share that
								 * shows mode 1 (0) */
	bool		ratings;		/* explicit feedback (false): a rating per
								 * row, 4 or 5 when the item is of the
								 * hour's group (the shared rule), else 1
								 * or 2 */
} fx_biao_opts;

void		fx_biao_world_opts_default(fx_biao_opts *o);
xd_dataset *fx_biao_world(uint64_t seed, int32_t n_users, int32_t n_items,
						  int64_t n_rows, const fx_biao_opts *o);

/* ds's rows, each (user, item) pair's first only (finalized with ds's seed): a world without repeats */
xd_status	fx_without_repeats(const xd_dataset *ds, xd_dataset **out);

#endif
