/*
 * dataset.h - one domain's interactions in compact C arrays, its split, its
 * feature normalisation and profiles (kept in the feature encoder of
 * features.h), and the encoding of its rows into c (DESIGN sections 2, 3
 * and 10).
 *
 * Life cycle, as the PostgreSQL loader drives it while streaming an SPI cursor:
 *
 *     xd_schema_init(&schema, features, n_features);
 *     xd_dataset_create(&schema, n_users, n_items, has_ratings, budget, &ds);
 *     for each row: xd_dataset_append(ds, user, item, rating, num, codes);
 *     xd_dataset_finalize(ds, seed);      split, normalisation, profiles
 *     ... xd_dataset_encode(ds, row, -1, c) / sample.h / metrics.h ...
 *     xd_dataset_free(ds);
 *
 * Rows carry raw values as features.h lays them out.
 */
#ifndef XDREC_DATASET_H
#define XDREC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/features.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

typedef enum xd_split
{
	XD_SPLIT_TRAIN = 0,
	XD_SPLIT_VALID = 1,
	XD_SPLIT_TEST = 2
} xd_split;

#define XD_N_SPLITS 3

typedef struct xd_dataset
{
	xd_feature_encoder	enc;			/* schema; stats and profiles after finalize */
	int32_t		n_users;		/* dense user ids [0, n_users) */
	int32_t		n_items;		/* dense item ids [0, n_items) */
	int			has_ratings;
	size_t		budget;			/* bytes; 0 = unlimited */
	size_t		memory;			/* bytes allocated so far, checked against budget */

	/* rows, in append order */
	int64_t		n_rows;
	int64_t		capacity;
	int32_t    *users;			/* [capacity] */
	int32_t    *items;			/* [capacity] */
	float	   *ratings;		/* [capacity] when has_ratings, else NULL */
	float	   *num;			/* [capacity * schema.n_num] */
	int32_t    *codes;			/* [capacity * schema.n_codes] */

	/*
	 * polled by xd_dataset_finalize (XD_ECANCELLED); NULL by default. The
	 * stop half of an xd_hooks (hooks.h), as two fields: the dataset's size
	 * counts in xdrec.train_memory's accounting, which errors print.
	 */
	xd_stop_fn	stop;
	void	   *stop_arg;
	/* the split by row order (xd_dataset_split_by_order, xd_dataset_hold_out) */
	int			split_by_order; /* rows before valid_from train; else hashed */
	int64_t		valid_from;		/* first validation row; -1 = none */
	int64_t		test_from;		/* first test row; -1 = none */

	/* set by xd_dataset_finalize */
	int			finalized;
	uint64_t	seed;
	uint8_t    *split;			/* [n_rows] an xd_split per row */
	int64_t		n_split[XD_N_SPLITS];
	int64_t    *split_rows[XD_N_SPLITS];	/* row indexes of each split, ascending */
	double		rating_mean;	/* mean training rating (0 without ratings) */
	int64_t    *user_train_off; /* [n_users + 1] CSR into user_train_items */
	int32_t    *user_train_items;	/* each user's distinct training items,
									 * ascending */
	int32_t    *user_train_count;	/* parallel: the user's training rows with it */
	int32_t    *item_train_count;	/* [n_items] training rows per item */
	int32_t		n_train_items;	/* items with at least one training row */
	int32_t    *train_items;	/* [n_train_items] ascending */
} xd_dataset;

/*
 * Starts an empty dataset over a copy of the schema. budget bounds the bytes
 * the dataset allocates (rows, and the split/profile arrays of finalize);
 * 0 = unlimited. XD_EINVAL on negative sizes.
 */
xd_status	xd_dataset_create(const xd_schema *schema, int32_t n_users,
							  int32_t n_items, int has_ratings, size_t budget,
							  xd_dataset **out);

/*
 * Appends one row: num[schema.n_num], codes[schema.n_codes] (NULL allowed when
 * the width is 0); rating is ignored without ratings. Arrays grow
 * geometrically; XD_ENOMEM when the budget would be exceeded (the PostgreSQL
 * layer reports "exceeds xdrec.train_memory") or malloc fails, XD_EINVAL on an
 * id out of range, an infinite value or a NaN rating, or after finalize.
 */
xd_status	xd_dataset_append(xd_dataset *ds, int32_t user, int32_t item,
							  float rating, const float *num,
							  const int32_t *codes);

/*
 * (a) 80/10/10 split by a seeded hash of (user, item, context values) (DESIGN
 * section 3); (b) min-max statistics and quantile bin edges from the training
 * split; (c) user and item profiles from the training rows: mean of floats,
 * mode of codes (ties to the smallest code); (d) per-user training item sets
 * and the list of items with training rows. XD_ENODATA without rows,
 * XD_ENOMEM past the budget, XD_ECANCELLED when ds->stop asks. A failed
 * finalize cannot be retried (XD_EINVAL): free the dataset.
 */
xd_status	xd_dataset_finalize(xd_dataset *ds, uint64_t seed);

/*
 * Rows appended from now on are held out: finalize puts them all in the test
 * split, and the rows appended before that the hash would have put in the
 * test split go to the validation split instead. The training split, and so
 * every statistic and profile finalize computes, is the one the earlier rows
 * alone give. (Evaluating a trained version on rows a caller held out, e.g.
 * the last week: xdrec.evaluate(..., test => relation).)
 */
void		xd_dataset_hold_out(xd_dataset *ds);

/*
 * A split by row order instead of the hash: rows before valid_from train,
 * rows from valid_from validate, rows from test_from test. Rows appended in
 * time order make it a time-based split (the last 10% test). A later
 * xd_dataset_hold_out moves the test rows to validation.
 */
void		xd_dataset_split_by_order(xd_dataset *ds, int64_t valid_from, int64_t test_from);

/* The split a row falls in, from the hash alone (used by finalize). */
xd_split	xd_split_of(int32_t user, int32_t item, const float *num, int n_num,
						const int32_t *codes, int n_codes, uint64_t seed);

/*
 * The dense c[schema.m] of a finalized row: interaction-scoped features from
 * the row, user-scoped from the row user's profile, item-scoped from the
 * profile of item_override if >= 0 (an item negative) else of the row's item.
 */
void		xd_dataset_encode(const xd_dataset *ds, int64_t row,
							  int32_t item_override, float *c);

/* Whether item is among user's training items (exclude-seen). */
int			xd_dataset_seen(const xd_dataset *ds, int32_t user, int32_t item);

/* The user's training rows with item (0 when none: the repeat term's h_ui). */
int32_t		xd_dataset_train_count(const xd_dataset *ds, int32_t user, int32_t item);

/*
 * The repeat term's g(h_ui) (batch.h) for row's user and item: 1 when the
 * user has a training row with item other than row itself, else 0. The
 * dataset must be finalized.
 */
float		xd_dataset_hist(const xd_dataset *ds, int64_t row, int32_t item);

/*
 * The share of the training rows that repeat a (user, item) pair of an
 * earlier training row: 1 - distinct pairs / rows (0 without rows). A
 * version records it ("repeat_share"); option repeat "auto" and
 * exclude_seen "auto" decide from it (core.h, XD_REPEAT_AUTO_SHARE).
 */
double		xd_dataset_repeat_share(const xd_dataset *ds);

/* Whether the user / item has at least one training row. */
int			xd_dataset_user_known(const xd_dataset *ds, int32_t user);
int			xd_dataset_item_known(const xd_dataset *ds, int32_t item);

void		xd_dataset_free(xd_dataset *ds);

#endif
