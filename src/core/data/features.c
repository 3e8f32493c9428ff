/*
 * features.c - the feature schema (kinds, types, scopes, the layout of c) and
 * the feature encoder that turns raw values into c = [c_I ; c_H ; c_A] with
 * the normalisation and profiles a dataset learned (DESIGN section 2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_int.h"
#include "xdrec/features.h"

/* ---------------------------------------------------------------- schema */

xd_status
xd_schema_init(xd_schema *s, const xd_feature *features, int n_features)
{
	memset(s, 0, sizeof(*s));
	if (n_features < 0 || (n_features > 0 && features == NULL))
		return XD_EINVAL;
	for (int i = 0; i < n_features; i++)
	{
		const xd_feature *f = &features[i];

		if ((int) f->kind < 0 || (int) f->kind >= XD_N_KINDS ||
			(int) f->type < XD_TYPE_NUMERIC || (int) f->type > XD_TYPE_BINNED ||
			(int) f->scope < XD_SCOPE_INTERACTION || (int) f->scope > XD_SCOPE_ITEM)
			return XD_EINVAL;
		if ((f->type == XD_TYPE_CATEGORICAL || f->type == XD_TYPE_BINNED) &&
			(f->n_values < 1 || f->n_values > (1 << 24)))
			return XD_EINVAL;
	}
	s->features = malloc(sizeof(xd_feature) * (size_t) (n_features > 0 ? n_features : 1));
	if (!s->features)
		return XD_ENOMEM;
	if (n_features > 0)
		memcpy(s->features, features, sizeof(xd_feature) * (size_t) n_features);
	s->n_features = n_features;

	/* raw slots, profile slots and bin edges in declaration order */
	for (int i = 0; i < n_features; i++)
	{
		xd_feature *f = &s->features[i];
		int			is_code = (f->type == XD_TYPE_CATEGORICAL);

		if (f->type == XD_TYPE_NUMERIC || f->type == XD_TYPE_BOOLEAN)
			f->n_values = 1;
		f->width = (f->type == XD_TYPE_CATEGORICAL || f->type == XD_TYPE_BINNED) ?
			f->n_values : 1;
		f->raw = is_code ? s->n_codes++ : s->n_num++;
		if (f->scope == XD_SCOPE_USER)
			f->profile = is_code ? s->n_user_codes++ : s->n_user_num++;
		else if (f->scope == XD_SCOPE_ITEM)
			f->profile = is_code ? s->n_item_codes++ : s->n_item_num++;
		else
		{
			f->profile = -1;
			s->n_interaction++;
		}
		if (f->type == XD_TYPE_BINNED)
		{
			f->edge_offset = s->n_edges;
			s->n_edges += f->n_values - 1;
		}
		else
			f->edge_offset = -1;
	}

	/* c = [c_I ; c_H ; c_A], declaration order within each kind (section 2) */
	{
		int			off = 0;
		int32_t    *kind_width[XD_N_KINDS] = {&s->m_I, &s->m_H, &s->m_A};

		for (int k = 0; k < XD_N_KINDS; k++)
		{
			int			start = off;

			for (int i = 0; i < n_features; i++)
			{
				xd_feature *f = &s->features[i];

				if ((int) f->kind != k)
					continue;
				f->offset = off;
				off += f->width;
			}
			*kind_width[k] = off - start;
		}
		s->m = off;
	}
	return XD_OK;
}

xd_status
xd_schema_copy(xd_schema *dst, const xd_schema *src)
{
	*dst = *src;
	dst->features = malloc(sizeof(xd_feature) * (size_t) (src->n_features > 0 ? src->n_features : 1));
	if (!dst->features)
	{
		memset(dst, 0, sizeof(*dst));
		return XD_ENOMEM;
	}
	if (src->n_features > 0)
		memcpy(dst->features, src->features, sizeof(xd_feature) * (size_t) src->n_features);
	return XD_OK;
}

void
xd_schema_free(xd_schema *s)
{
	free(s->features);
	memset(s, 0, sizeof(*s));
}

/* --------------------------------------------------------------- encoder */

xd_status
xd_feature_encoder_init(xd_feature_encoder *e, const xd_schema *schema, int32_t n_users, int32_t n_items)
{
	xd_status	st;
	const xd_schema *s;

	memset(e, 0, sizeof(*e));
	if (n_users < 0 || n_items < 0)
		return XD_EINVAL;
	st = xd_schema_copy(&e->schema, schema);
	if (st != XD_OK)
		return st;
	s = &e->schema;
	e->n_users = n_users;
	e->n_items = n_items;
	e->num_min = xd_alloc_n((size_t) s->n_num, sizeof(float));
	e->num_max = xd_alloc_n((size_t) s->n_num, sizeof(float));
	e->bin_edges = xd_alloc_n((size_t) s->n_edges, sizeof(float));
	e->user_num = xd_alloc_n((size_t) n_users * (size_t) s->n_user_num, sizeof(float));
	e->user_codes = xd_alloc_n((size_t) n_users * (size_t) s->n_user_codes, sizeof(int32_t));
	e->item_num = xd_alloc_n((size_t) n_items * (size_t) s->n_item_num, sizeof(float));
	e->item_codes = xd_alloc_n((size_t) n_items * (size_t) s->n_item_codes, sizeof(int32_t));
	if (!e->num_min || !e->num_max || !e->bin_edges || !e->user_num ||
		!e->user_codes || !e->item_num || !e->item_codes)
	{
		xd_feature_encoder_free(e);
		return XD_ENOMEM;
	}
	/* everything starts missing */
	for (int i = 0; i < s->n_num; i++)
		e->num_min[i] = e->num_max[i] = XD_MISSING_NUM;
	for (int i = 0; i < s->n_edges; i++)
		e->bin_edges[i] = XD_MISSING_NUM;
	for (size_t i = 0; i < (size_t) n_users * (size_t) s->n_user_num; i++)
		e->user_num[i] = XD_MISSING_NUM;
	for (size_t i = 0; i < (size_t) n_users * (size_t) s->n_user_codes; i++)
		e->user_codes[i] = XD_MISSING_CODE;
	for (size_t i = 0; i < (size_t) n_items * (size_t) s->n_item_num; i++)
		e->item_num[i] = XD_MISSING_NUM;
	for (size_t i = 0; i < (size_t) n_items * (size_t) s->n_item_codes; i++)
		e->item_codes[i] = XD_MISSING_CODE;
	return XD_OK;
}

void
xd_feature_encoder_free(xd_feature_encoder *e)
{
	xd_schema_free(&e->schema);
	free(e->num_min);
	free(e->num_max);
	free(e->bin_edges);
	free(e->user_num);
	free(e->user_codes);
	free(e->item_num);
	free(e->item_codes);
	memset(e, 0, sizeof(*e));
}

float
xd_encode_numeric(const xd_feature_encoder *e, int f, float x)
{
	const xd_feature *ft = &e->schema.features[f];
	float		lo = e->num_min[ft->raw],
				hi = e->num_max[ft->raw],
				y;

	/* missing, no training values, or a constant feature encode 0 (section 2) */
	if (isnan(x) || isnan(lo) || isnan(hi) || !(hi > lo))
		return 0.0f;
	y = (x - lo) / (hi - lo);
	/* clamped to [0,1] at ranking time (section 2) */
	return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
}

/* Writes feature f's block of c from a raw float (numeric/boolean/binned). */
static inline void
encode_float(const xd_feature_encoder *e, int f, float x, float *c)
{
	const xd_feature *ft = &e->schema.features[f];
	float	   *blk = c + ft->offset;

	switch (ft->type)
	{
		case XD_TYPE_NUMERIC:
			blk[0] = xd_encode_numeric(e, f, x);
			break;
		case XD_TYPE_BOOLEAN:
			/* a profile's mean of 0/1 stays in [0,1]; missing is 0 */
			blk[0] = isnan(x) ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x));
			break;
		case XD_TYPE_BINNED:
			{
				const float *edges = e->bin_edges + ft->edge_offset;
				int			n_edges = ft->n_values - 1;
				int			lo = 0,
							hi = n_edges;

				memset(blk, 0, sizeof(float) * (size_t) ft->width);
				/* missing, or no training values to place the edges: zeros */
				if (isnan(x) || (n_edges > 0 && isnan(edges[0])))
					break;
				/* bin = number of edges <= x */
				while (lo < hi)
				{
					int			mid = (lo + hi) / 2;

					if (edges[mid] <= x)
						lo = mid + 1;
					else
						hi = mid;
				}
				blk[lo] = 1.0f;
			}
			break;
		case XD_TYPE_CATEGORICAL:
			break;
	}
}

/* Writes categorical feature f's one-hot block; negative = missing = zeros. */
static inline void
encode_code(const xd_feature_encoder *e, int f, int32_t code, float *c)
{
	const xd_feature *ft = &e->schema.features[f];
	float	   *blk = c + ft->offset;

	memset(blk, 0, sizeof(float) * (size_t) ft->width);
	if (code < 0)
		return;
	/* unseen values map to "other", the last slot (section 2) */
	blk[code >= ft->n_values - 1 ? ft->n_values - 1 : code] = 1.0f;
}

static inline void
encode_from_raw(const xd_feature_encoder *e, int f, const float *num, const int32_t *codes, float *c)
{
	const xd_feature *ft = &e->schema.features[f];

	if (ft->type == XD_TYPE_CATEGORICAL)
		encode_code(e, f, codes ? codes[ft->raw] : XD_MISSING_CODE, c);
	else
		encode_float(e, f, num ? num[ft->raw] : XD_MISSING_NUM, c);
}

static inline void
encode_from_profile(const xd_feature_encoder *e, int f, int32_t id, float *c)
{
	const xd_feature *ft = &e->schema.features[f];
	const xd_schema *s = &e->schema;
	int			is_user = (ft->scope == XD_SCOPE_USER);
	int32_t		n = is_user ? e->n_users : e->n_items;

	if (ft->type == XD_TYPE_CATEGORICAL)
	{
		int32_t		code = XD_MISSING_CODE;

		if (id >= 0 && id < n)
			code = is_user ? e->user_codes[(size_t) id * s->n_user_codes + ft->profile]
				: e->item_codes[(size_t) id * s->n_item_codes + ft->profile];
		encode_code(e, f, code, c);
	}
	else
	{
		float		x = XD_MISSING_NUM;

		if (id >= 0 && id < n)
			x = is_user ? e->user_num[(size_t) id * s->n_user_num + ft->profile]
				: e->item_num[(size_t) id * s->n_item_num + ft->profile];
		encode_float(e, f, x, c);
	}
}

void
xd_encode_row(const xd_feature_encoder *e, int32_t user, int32_t item,
			  const float *num, const int32_t *codes, float *c)
{
	const xd_schema *s = &e->schema;

	/* training encodes user/item-scoped features from the profiles (section 2) */
	for (int f = 0; f < s->n_features; f++)
	{
		switch (s->features[f].scope)
		{
			case XD_SCOPE_INTERACTION:
				encode_from_raw(e, f, num, codes, c);
				break;
			case XD_SCOPE_USER:
				encode_from_profile(e, f, user, c);
				break;
			case XD_SCOPE_ITEM:
				encode_from_profile(e, f, item, c);
				break;
		}
	}
}

void
xd_encode_interaction(const xd_feature_encoder *e, const float *num, const int32_t *codes, float *c)
{
	for (int f = 0; f < e->schema.n_features; f++)
		if (e->schema.features[f].scope == XD_SCOPE_INTERACTION)
			encode_from_raw(e, f, num, codes, c);
}

void
xd_encode_user(const xd_feature_encoder *e, int32_t user, float *c)
{
	for (int f = 0; f < e->schema.n_features; f++)
		if (e->schema.features[f].scope == XD_SCOPE_USER)
			encode_from_profile(e, f, user, c);
}

void
xd_encode_item(const xd_feature_encoder *e, int32_t item, float *c)
{
	for (int f = 0; f < e->schema.n_features; f++)
		if (e->schema.features[f].scope == XD_SCOPE_ITEM)
			encode_from_profile(e, f, item, c);
}

void
xd_encode_item_raw(const xd_feature_encoder *e, const float *num, const int32_t *codes,
				   float *c)
{
	for (int f = 0; f < e->schema.n_features; f++)
		if (e->schema.features[f].scope == XD_SCOPE_ITEM)
			encode_from_raw(e, f, num, codes, c);
}

void
xd_encode_raw(const xd_feature_encoder *e, int32_t user, int32_t item,
			  const float *num, const int32_t *codes, float *c)
{
	for (int f = 0; f < e->schema.n_features; f++)
	{
		const xd_feature *ft = &e->schema.features[f];

		switch (ft->scope)
		{
			case XD_SCOPE_INTERACTION:
				encode_from_raw(e, f, num, codes, c);
				break;
			case XD_SCOPE_USER:
				/* the caller's value wins; the profile fills in (section 2) */
				if (ft->type == XD_TYPE_CATEGORICAL ? (codes && codes[ft->raw] >= 0)
					: (num && !isnan(num[ft->raw])))
					encode_from_raw(e, f, num, codes, c);
				else
					encode_from_profile(e, f, user, c);
				break;
			case XD_SCOPE_ITEM:
				encode_from_profile(e, f, item, c);
				break;
		}
	}
}
