/*
 * dataset.h - one domain's interactions in compact C arrays, its split, its
 * feature normalisation and profiles, and the encoding of contexts into the
 * dense vector c = [c_I ; c_H ; c_A] (DESIGN sections 2, 3 and 10).
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
 * The encoder state (schema, normalisation statistics, bin edges, user and item
 * profiles) lives in an xd_encoder, which a dataset embeds and which can also be
 * rebuilt without rows from stored statistics (xd_encoder_init, then fill the
 * arrays), so ranking encodes contexts exactly as training did.
 *
 * Raw row values. Every row carries schema.n_num floats and schema.n_codes
 * int32 codes, in declaration order of the features that store them:
 *   numeric, binned numeric  a float; NaN means missing (XD_MISSING_NUM)
 *   boolean                  a float 0 or 1; NaN means missing
 *   categorical              an int32 code in [0, n_values - 1): its own slot;
 *                            a code >= n_values - 1 is the "other" slot
 *                            (n_values - 1); a negative code is missing
 * Missing values encode as zeros (all-zero one-hot), DESIGN section 2.
 * Infinite numeric values are rejected (XD_EINVAL); the PostgreSQL layer skips
 * and counts such rows before they get here.
 */
#ifndef XDREC_DATASET_H
#define XDREC_DATASET_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

#define XD_MISSING_NUM		NAN
#define XD_MISSING_CODE		(-1)

typedef enum xd_feature_kind
{
	XD_KIND_INTERACTIONAL = 0,	/* c_I: time of day, weekday */
	XD_KIND_HISTORICAL = 1,		/* c_H: a user's average spend */
	XD_KIND_ATTRIBUTIONAL = 2	/* c_A: cuisine, age */
} xd_feature_kind;

#define XD_N_KINDS 3

typedef enum xd_feature_type
{
	XD_TYPE_NUMERIC = 0,		/* min-max scaled to [0,1] per domain, width 1 */
	XD_TYPE_CATEGORICAL = 1,	/* one-hot over n_values slots ("other" last) */
	XD_TYPE_BOOLEAN = 2,		/* 0/1, width 1 */
	XD_TYPE_BINNED = 3			/* numeric, one-hot over n_values quantile bins */
} xd_feature_type;

typedef enum xd_feature_scope
{
	XD_SCOPE_INTERACTION = 0,	/* from the row / the caller at ranking time */
	XD_SCOPE_USER = 1,			/* from the user's profile */
	XD_SCOPE_ITEM = 2			/* from the (candidate) item's profile */
} xd_feature_scope;

typedef struct xd_feature
{
	/* set by the caller */
	xd_feature_kind kind;
	xd_feature_type type;
	xd_feature_scope scope;
	int32_t		n_values;		/* categorical: vocabulary size INCLUDING the
								 * "other" slot (>= 1); binned: number of bins
								 * (>= 1); ignored for numeric and boolean */

	/* computed by xd_schema_init */
	int32_t		width;			/* 1, or n_values for categorical and binned */
	int32_t		offset;			/* first index of the feature's block in c */
	int32_t		raw;			/* index into a row's floats (numeric, boolean,
								 * binned) or codes (categorical) */
	int32_t		profile;		/* index into the user's or item's profile floats
								 * or codes; -1 for interaction scope */
	int32_t		edge_offset;	/* binned: first of its n_values - 1 edges in
								 * xd_encoder.bin_edges; else -1 */
} xd_feature;

/* An initializer setting the caller's fields (designated, so -Wextra is quiet). */
#define XD_FEATURE(k, t, sc, nv) \
	{ .kind = (k), .type = (t), .scope = (sc), .n_values = (nv) }

typedef struct xd_schema
{
	int32_t		n_features;
	xd_feature *features;		/* [n_features], declaration order, owned */

	/* the encoded layout, DESIGN section 2 */
	int32_t		m;				/* = m_I + m_H + m_A */
	int32_t		m_I;			/* c_I = c[0, m_I) */
	int32_t		m_H;			/* c_H = c[m_I, m_I + m_H) */
	int32_t		m_A;			/* c_A = c[m_I + m_H, m) */

	/* raw storage per row and per profile */
	int32_t		n_num;			/* floats per row */
	int32_t		n_codes;		/* codes per row */
	int32_t		n_user_num;		/* user-scoped floats per user profile */
	int32_t		n_user_codes;
	int32_t		n_item_num;		/* item-scoped floats per item profile */
	int32_t		n_item_codes;
	int32_t		n_edges;		/* total bin edges of binned features */
	int32_t		n_interaction;	/* number of interaction-scoped features */
} xd_schema;

/*
 * Copies features[] and computes the layout: kinds grouped I, H, A, features in
 * declaration order within each kind. XD_EINVAL on a bad kind/type/scope or
 * n_values, XD_ENOMEM.
 */
xd_status	xd_schema_init(xd_schema *s, const xd_feature *features, int n_features);
xd_status	xd_schema_copy(xd_schema *dst, const xd_schema *src);
void		xd_schema_free(xd_schema *s);

/*
 * The encoder: what is needed to turn raw values into c. All arrays are owned.
 * A restored encoder is built with xd_encoder_init (everything missing: NaN
 * stats, NaN/-1 profiles) and then filled by the deserialiser.
 */
typedef struct xd_encoder
{
	xd_schema	schema;			/* owned copy */
	int32_t		n_users;
	int32_t		n_items;
	float	   *num_min;		/* [schema.n_num] training minimum of each
								 * numeric feature's raw value; NaN if none */
	float	   *num_max;		/* [schema.n_num] training maximum */
	float	   *bin_edges;		/* [schema.n_edges] ascending per feature;
								 * bin = number of edges <= x */
	float	   *user_num;		/* [n_users * schema.n_user_num] means, NaN =
								 * missing (no training value) */
	int32_t    *user_codes;		/* [n_users * schema.n_user_codes] modes, -1 =
								 * missing */
	float	   *item_num;		/* [n_items * schema.n_item_num] */
	int32_t    *item_codes;		/* [n_items * schema.n_item_codes] */
} xd_encoder;

xd_status	xd_encoder_init(xd_encoder *e, const xd_schema *schema,
							int32_t n_users, int32_t n_items);
void		xd_encoder_free(xd_encoder *e);

/*
 * Partial encoders: each writes only the blocks of c that belong to features
 * of one scope (zeroing them first) and leaves every other entry of c alone.
 * A full vector is the three together. num/codes are a raw row (layout above);
 * user/item < 0 means unknown, which encodes zeros.
 */
void		xd_encode_interaction(const xd_encoder *e, const float *num,
								  const int32_t *codes, float *c);
void		xd_encode_user(const xd_encoder *e, int32_t user, float *c);
void		xd_encode_item(const xd_encoder *e, int32_t item, float *c);

/*
 * Ranking-time encoding of a caller-supplied raw context (DESIGN section 2):
 * interaction-scoped features from num/codes; user-scoped ones from num/codes
 * when the caller gave them (not missing), else from the user's profile;
 * item-scoped ones always from the item's profile. Numeric values are clamped
 * to [0,1] after scaling. num/codes may be NULL when the schema has none.
 */
void		xd_encode_raw(const xd_encoder *e, int32_t user, int32_t item,
						  const float *num, const int32_t *codes, float *c);

/* Scale one raw value of numeric feature f as the encoder does (0 if missing). */
float		xd_encode_numeric(const xd_encoder *e, int f, float x);

typedef enum xd_split
{
	XD_SPLIT_TRAIN = 0,
	XD_SPLIT_VALID = 1,
	XD_SPLIT_TEST = 2
} xd_split;

#define XD_N_SPLITS 3

typedef struct xd_dataset
{
	xd_encoder	enc;			/* schema; stats and profiles after finalize */
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

/* Whether the user / item has at least one training row. */
int			xd_dataset_user_known(const xd_dataset *ds, int32_t user);
int			xd_dataset_item_known(const xd_dataset *ds, int32_t item);

void		xd_dataset_free(xd_dataset *ds);

#endif
