/*
 * features.h - the context features of a model (DESIGN section 2): their
 * kinds, types and scopes, the schema that lays them out in the encoded
 * vector c = [c_I ; c_H ; c_A], and the feature encoder that turns raw
 * values into c.
 *
 * The encoder state (schema, normalisation statistics, bin edges, user and item
 * profiles) lives in an xd_feature_encoder, which a dataset embeds (dataset.h) and
 * which can also be rebuilt without rows from stored statistics
 * (xd_feature_encoder_init, then fill the arrays), so ranking encodes contexts exactly
 * as training did.
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
#ifndef XDREC_FEATURES_H
#define XDREC_FEATURES_H

#include <math.h>
#include <stdint.h>

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
								 * xd_feature_encoder.bin_edges; else -1 */
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
 * A restored encoder is built with xd_feature_encoder_init (everything missing: NaN
 * stats, NaN/-1 profiles) and then filled by the deserialiser.
 */
typedef struct xd_feature_encoder
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
} xd_feature_encoder;

xd_status	xd_feature_encoder_init(xd_feature_encoder *e, const xd_schema *schema,
							int32_t n_users, int32_t n_items);
void		xd_feature_encoder_free(xd_feature_encoder *e);

/*
 * Partial encoders: each writes only the blocks of c that belong to features
 * of one scope (zeroing them first) and leaves every other entry of c alone.
 * A full vector is the three together. num/codes are a raw row (layout above);
 * user/item < 0 means unknown, which encodes zeros.
 */
void		xd_encode_interaction(const xd_feature_encoder *e, const float *num,
								  const int32_t *codes, float *c);
void		xd_encode_user(const xd_feature_encoder *e, int32_t user, float *c);
void		xd_encode_item(const xd_feature_encoder *e, int32_t item, float *c);
/* ... the item-scoped blocks from raw values num/codes: an item with no profile (issue 19) */
void		xd_encode_item_raw(const xd_feature_encoder *e, const float *num,
							   const int32_t *codes, float *c);

/*
 * Training's encoding of a stored row (xd_dataset_encode): the
 * interaction-scoped features from its raw values num/codes, the user- and
 * item-scoped ones from the profiles of user and item (DESIGN section 2).
 */
void		xd_encode_row(const xd_feature_encoder *e, int32_t user, int32_t item,
						  const float *num, const int32_t *codes, float *c);

/*
 * Ranking-time encoding of a caller-supplied raw context (DESIGN section 2):
 * interaction-scoped features from num/codes; user-scoped ones from num/codes
 * when the caller gave them (not missing), else from the user's profile;
 * item-scoped ones always from the item's profile. Numeric values are clamped
 * to [0,1] after scaling. num/codes may be NULL when the schema has none.
 */
void		xd_encode_raw(const xd_feature_encoder *e, int32_t user, int32_t item,
						  const float *num, const int32_t *codes, float *c);

/* Scale one raw value of numeric feature f as the encoder does (0 if missing). */
float		xd_encode_numeric(const xd_feature_encoder *e, int f, float x);

#endif
