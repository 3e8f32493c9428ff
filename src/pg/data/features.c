/*
 * features.c - a model's declared context features as the core's xd_schema,
 * the categorical vocabulary frozen at source training (built by load.c),
 * looked up by value, and the features' layout as the version records it
 * (DESIGN section 2).
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "data/data.h"

static int
cmp_vocab(const void *a, const void *b)
{
	return strcmp(((const XdVocabEntry *) a)->value, ((const XdVocabEntry *) b)->value);
}

/* Builds f->sorted from f->vocab in sorted, room for max(n_vocab, 1) entries. */
void
xdpg_vocab_index(XdFeatureDef *f, XdVocabEntry *sorted)
{
	f->sorted = sorted;
	for (int i = 0; i < f->n_vocab; i++)
	{
		f->sorted[i].value = f->vocab[i];
		f->sorted[i].code = i;
	}
	qsort(f->sorted, f->n_vocab, sizeof(XdVocabEntry), cmp_vocab);
}

/* The code of a categorical value: its slot, or "other" (n_vocab). */
int32
xdpg_code_of(const XdFeatureDef *f, const char *value)
{
	XdVocabEntry key = {value, 0};
	XdVocabEntry *hit;

	if (f->n_vocab == 0)
		return 0;
	hit = bsearch(&key, f->sorted, f->n_vocab, sizeof(XdVocabEntry), cmp_vocab);
	return hit ? hit->code : f->n_vocab;
}

/* The core's schema of the features (vocabularies known). */
void
xdpg_schema(const XdFeatureDef *features, int n, xd_schema *s)
{
	xd_feature *fs = palloc0(sizeof(xd_feature) * Max(n, 1));
	xd_status	st;

	for (int i = 0; i < n; i++)
	{
		const XdFeatureDef *f = &features[i];
		xd_feature_type t;
		int			nv = 0;

		switch (f->type)
		{
			case XDPG_NUMERIC:
				t = f->bins > 0 ? XD_TYPE_BINNED : XD_TYPE_NUMERIC;
				nv = f->bins > 0 ? f->bins : 0;
				break;
			case XDPG_CATEGORICAL:
				t = XD_TYPE_CATEGORICAL;
				nv = f->n_vocab + 1;	/* + "other" */
				break;
			default:
				t = XD_TYPE_BOOLEAN;
				break;
		}
		fs[i].kind = f->kind;
		fs[i].type = t;
		fs[i].scope = f->scope;
		fs[i].n_values = nv;
	}
	st = xd_schema_init(s, fs, n);
	pfree(fs);
	if (st != XD_OK)
		ereport(ERROR,
				(errcode(st == XD_ENOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot lay out the model's features: %s", xd_status_message(st))));
}

static void
json_float(StringInfo buf, double x)
{
	if (isnan(x) || isinf(x))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.9g", x);
}

/*
 * The encoder part of a version as JSON: every feature's layout and frozen
 * vocabulary, and the readable normalisation statistics.
 */
char *
xdpg_features_json(const XdModelDef *md, const xd_feature_encoder *enc)
{
	StringInfoData buf;
	const xd_schema *s = &enc->schema;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"m\": %d, \"m_I\": %d, \"m_H\": %d, \"m_A\": %d, \"features\": [",
					 s->m, s->m_I, s->m_H, s->m_A);
	for (int i = 0; i < md->n_features; i++)
	{
		const XdFeatureDef *f = &md->features[i];
		const xd_feature *xf = &s->features[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"name\": ");
		escape_json(&buf, f->name);
		appendStringInfo(&buf, ", \"type\": \"%s\", \"kind\": \"%s\", \"scope\": \"%s\", "
						 "\"offset\": %d, \"width\": %d, \"bins\": %d",
						 xdpg_type_name(f->type), xdpg_kind_name(f->kind),
						 xdpg_scope_name(f->scope), xf->offset, xf->width, f->bins);
		if (f->type == XDPG_CATEGORICAL)
		{
			appendStringInfoString(&buf, ", \"vocab\": [");
			for (int v = 0; v < f->n_vocab; v++)
			{
				if (v > 0)
					appendStringInfoString(&buf, ", ");
				escape_json(&buf, f->vocab[v]);
			}
			appendStringInfoChar(&buf, ']');
		}
		else if (xf->type == XD_TYPE_NUMERIC || xf->type == XD_TYPE_BINNED)
		{
			appendStringInfoString(&buf, ", \"min\": ");
			json_float(&buf, enc->num_min[xf->raw]);
			appendStringInfoString(&buf, ", \"max\": ");
			json_float(&buf, enc->num_max[xf->raw]);
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}
