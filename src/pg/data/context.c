/*
 * context.c - a ranking context, given as jsonb by feature name or as an
 * already encoded real[] (ctx_vector), into the raw values the core encodes
 * (DESIGN section 2), with its errors: unknown names, wrong types, NaN or
 * infinite numbers, item-scoped features given by the caller, and values
 * outside a categorical feature's vocabulary (xdrec.unknown_category).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "data/data.h"

static const XdFeatureDef *
find_feature(const XdFeatureDef *features, const xd_schema *s, const char *name, int len, int *index)
{
	for (int i = 0; i < s->n_features; i++)
		if ((int) strlen(features[i].name) == len && memcmp(features[i].name, name, len) == 0)
		{
			*index = i;
			return &features[i];
		}
	return NULL;
}

/*
 * A categorical context value outside the feature's frozen vocabulary ranks
 * as "other", which may not be what the caller meant ("Fri" for "fri"):
 * xdrec.unknown_category says whether to say so, refuse, or stay silent.
 */
static void
unknown_category(const char *model, const XdFeatureDef *f, const char *value)
{
	const char *near;

	if (xdrec_unknown_category == XDPG_UNKNOWN_IGNORE)
		return;
	near = xdpg_did_you_mean(value, (const char *const *) f->vocab, f->n_vocab);
	ereport(xdrec_unknown_category == XDPG_UNKNOWN_ERROR ? ERROR : NOTICE,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("value \"%s\" of context feature \"%s\" is not in its vocabulary", value, f->name),
			 xdrec_unknown_category == XDPG_UNKNOWN_ERROR ?
			 errdetail("xdrec.unknown_category is 'error'; 'notice' ranks it as \"other\".") :
			 errdetail("It ranks as \"other\", as every value the vocabulary did not keep does."),
			 near ? errhint("Did you mean \"%s\"? SELECT vocabulary FROM xdrec.features WHERE model = '%s' lists the values.",
							near, model) :
			 errhint("SELECT vocabulary FROM xdrec.features WHERE model = '%s' lists the values; SET xdrec.unknown_category = 'ignore' silences this.",
					 model)));
}

static char *
feature_list(const XdFeatureDef *features, const xd_schema *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < s->n_features; i++)
	{
		if (features[i].scope == XD_SCOPE_ITEM)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, features[i].name);
	}
	return buf.len > 0 ? buf.data : "(none)";
}

/*
 * The feature a context key names (its index in fi), or an error: a name the
 * model does not have (with the nearest), or an item-scoped feature.
 */
static const XdFeatureDef *
context_feature(const char *model, const XdFeatureDef *features, const xd_schema *s,
				const char *name, int len, int *fi)
{
	const XdFeatureDef *f = find_feature(features, s, name, len, fi);

	if (f == NULL)
	{
		const char **names = palloc(sizeof(char *) * Max(s->n_features, 1));
		const char *near;

		for (int i = 0; i < s->n_features; i++)
			names[i] = features[i].name;
		near = xdpg_did_you_mean(pnstrdup(name, len), names, s->n_features);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("model \"%s\" has no context feature \"%.*s\"", model, len, name),
				 near ? errhint("Did you mean \"%s\"? Its features are: %s.", near,
								feature_list(features, s)) :
				 errhint("Its features are: %s.", feature_list(features, s))));
	}
	if (f->scope == XD_SCOPE_ITEM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature \"%s\" is item-scoped: it comes from each candidate item's profile, not from ctx",
						f->name)));
	return f;
}

/*
 * Feature f's value v (not JSON null) into its raw slot (xf) of num or
 * codes, or an error: the wrong JSON type, NaN, or beyond a float4.
 */
static void
context_value(const char *model, const XdFeatureDef *f, const xd_feature *xf, JsonbValue *v,
			  float *num, int32 *codes)
{
	switch (f->type)
	{
		case XDPG_NUMERIC:
			{
				double		x;

				if (v->type != jbvNumeric)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("context feature \"%s\" is numeric, not %s", f->name,
									v->type == jbvString ? "a string" :
									v->type == jbvBool ? "a boolean" : "a json container")));
				/*
				 * JSON numbers are finite; beyond float8 this gives infinity,
				 * refused as beyond float4 with the value
				 */
				x = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
													   NumericGetDatum(v->val.numeric)));
				if (isnan(x))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("context feature \"%s\" must be a number, not NaN", f->name)));
				if (isinf(x) || isinf((float) x))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("context feature \"%s\" is out of range for a real: %s", f->name,
									numeric_out_sci(v->val.numeric, 1)),
							 errhint("Numeric features are stored as real (float4), whose magnitude stays below 3.4e38.")));
				num[xf->raw] = (float) x;
			}
			break;
		case XDPG_BOOLEAN:
			if (v->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("context feature \"%s\" is boolean, not %s", f->name,
								v->type == jbvString ? "a string" :
								v->type == jbvNumeric ? "a number" : "a json container")));
			num[xf->raw] = v->val.boolean ? 1.0f : 0.0f;
			break;
		case XDPG_CATEGORICAL:
			{
				char	   *text;

				if (v->type == jbvString)
					text = pnstrdup(v->val.string.val, v->val.string.len);
				else if (v->type == jbvNumeric)
					text = DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(v->val.numeric)));
				else if (v->type == jbvBool)
					text = v->val.boolean ? "true" : "false";
				else
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("context feature \"%s\" is categorical: give a string, not a json container",
									f->name)));
				codes[xf->raw] = xdpg_code_of(f, text);
				if (codes[xf->raw] == f->n_vocab && f->n_vocab > 0)
					unknown_category(model, f, text);
			}
			break;
	}
}

/*
 * A ranking context by feature name into raw values (num, codes in the
 * schema's raw layout; missing = NaN / -1). Unknown names, wrong JSON types,
 * NaN or infinite numbers and item-scoped features are errors.
 */
void
xdpg_ctx_from_jsonb(const char *model, const XdFeatureDef *features, const xd_schema *s,
					Jsonb *ctx, float *num, int32 *codes)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	const XdFeatureDef *f = NULL;
	int			fi = -1;

	for (int i = 0; i < s->n_num; i++)
		num[i] = NAN;
	for (int i = 0; i < s->n_codes; i++)
		codes[i] = XD_MISSING_CODE;
	if (ctx == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(ctx) || JB_ROOT_IS_SCALAR(ctx))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ctx must be a json object of feature values by name"),
				 errhint("For example '{\"hour\": 19, \"weekday\": \"fri\"}'.")));

	it = JsonbIteratorInit(&ctx->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			f = context_feature(model, features, s, v.val.string.val, v.val.string.len, &fi);
		/* JSON null: missing, encodes 0 */
		else if (tok == WJB_VALUE && f != NULL && v.type != jbvNull)
			context_value(model, f, &s->features[fi], &v, num, codes);
	}
}

/* An encoded context of width m: no NULL, NaN or infinite entries. */
void
xdpg_ctx_vector(const char *model, const xd_schema *s, ArrayType *arr, float *c)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ctx_vector must be a one-dimensional array")));
	deconstruct_array(arr, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT, &elems, &nulls, &n);
	if (n != s->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ctx_vector has %d values, but model \"%s\" encodes contexts in %d", n, model, s->m),
				 errhint("Pass raw values by feature name in ctx instead, or an encoded vector of width %d.", s->m)));
	for (int i = 0; i < n; i++)
	{
		float		x;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ctx_vector[%d] is null", i + 1)));
		x = DatumGetFloat4(elems[i]);
		if (isnan(x) || isinf(x))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ctx_vector[%d] must be finite, not %g", i + 1, x)));
		c[i] = x;
	}
}
