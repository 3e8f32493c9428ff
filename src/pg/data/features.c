/*
 * features.c - a model's declared context features as the core's xd_schema,
 * the categorical vocabulary frozen at source training, and the encoding of
 * ranking contexts given as jsonb by feature name or as an encoded real[]
 * (DESIGN section 2).
 *
 * Every function here runs inside an SPI connection opened by its caller and
 * returns what it builds in the caller's (upper) memory context.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "xdrec_pg.h"

/* Default vocabulary cap of a categorical feature (DESIGN section 2). */
#define XDPG_DEFAULT_VOCAB_CAP 100

const char *
xdpg_kind_name(xd_feature_kind k)
{
	return k == XD_KIND_INTERACTIONAL ? "interactional" :
		k == XD_KIND_HISTORICAL ? "historical" : "attributional";
}

const char *
xdpg_scope_name(xd_feature_scope s)
{
	return s == XD_SCOPE_INTERACTION ? "interaction" :
		s == XD_SCOPE_USER ? "user" : "item";
}

const char *
xdpg_type_name(XdSqlType t)
{
	return t == XDPG_NUMERIC ? "numeric" : t == XDPG_CATEGORICAL ? "categorical" : "boolean";
}

/* A text result column copied to the upper context; NULL for SQL NULL. */
static char *
spi_text(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	char	   *s,
			   *out;
	size_t		len;

	if (isnull)
		return NULL;
	s = TextDatumGetCString(d);
	len = strlen(s);
	out = SPI_palloc(len + 1);
	memcpy(out, s, len + 1);
	return out;
}

static int64
spi_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static int32
spi_int4(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

static double
spi_float8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

static bool
spi_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? false : DatumGetBool(d);
}

static bool
is_int_type(const char *t)
{
	return strcmp(t, "bigint") == 0 || strcmp(t, "integer") == 0 || strcmp(t, "smallint") == 0;
}

/*
 * The visible model called name, with its features, checked for privilege
 * ('use' or 'train'). Options are resolved here with the defaults of DESIGN
 * section 3 (create_model stores them as given).
 */
XdModelDef *
xdpg_model_load(const char *name, const char *privilege)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	XdModelDef *md;
	int			ret;
	char	   *variant,
			   *feedback;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	xdpg_check_catalog_version();
	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(privilege);
	ret = SPI_execute_with_args(
								"SELECT m.id, CASE WHEN c.oid IS NOT NULL THEN pg_catalog.format('%I.%I', n.nspname, c.relname) END, "
								" c.relname::text, "
								" m.user_col::text, m.item_col::text, m.domain_col::text, m.rating_col::text, "
								" m.user_type, m.item_type, m.domain_type, m.source_domain, "
								" xdrec_internal.model_access(m.id, $2), "
								" coalesce((m.options->>'d')::int, 64), "
								" coalesce((m.options->>'context_layers')::int, 2), "
								" coalesce((m.options->>'tower_layers')::int, 2), "
								" coalesce(m.options->>'variant', 'mmt'), "
								" coalesce((m.options->>'mm_residual')::boolean, true), "
								" coalesce(m.options->>'feedback', 'implicit'), "
								" coalesce((m.options->>'dropout')::float8, 0.1), "
								" coalesce((m.options->>'beta')::float8, 0), "
								" coalesce((m.options->>'lr')::float8, 0.001), "
								" coalesce((m.options->>'batch_size')::int, 256), "
								" coalesce((m.options->>'epochs')::int, 100), "
								" coalesce((m.options->>'patience')::int, 10), "
								" coalesce((m.options->>'seed')::int8, 42), "
								" coalesce((m.options->>'val_sample')::int8, 2000), "
								" coalesce((m.options->>'dedup')::boolean, false), "
								" coalesce((m.options->>'vocab_cap')::int, " CppAsString2(XDPG_DEFAULT_VOCAB_CAP) "), "
								" coalesce((m.options->>'pretrain_epochs')::int, 2), "
								" coalesce(m.options->>'lambda_kl', '0.1'), "
								" coalesce((m.options->>'auto_margin')::float8, " CppAsString2(XD_AUTO_MARGIN_SE) "), "
								" coalesce((m.options->>'lr_search')::int, " CppAsString2(XD_LR_SEARCH_DEFAULT) "), "
								" coalesce(m.options->>'deploy', 'if_better'), "
								" coalesce((m.options->>'keep_versions')::int, 0), "
								" m.options->>'time_col' "
								"FROM xdrec.model m "
								"LEFT JOIN pg_catalog.pg_class c ON c.oid = m.relation "
								"LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
								"WHERE m.name = $1",
								2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading model \"%s\" failed: %s", name, SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	if (!spi_bool(0, 12))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"",
						strcmp(privilege, "train") == 0 ? "train" : "use", name),
				 errhint("The model's owner can run xdrec.grant('%s', role, '%s').", name, privilege)));

	md = SPI_palloc(sizeof(XdModelDef));
	memset(md, 0, sizeof(*md));
	md->id = spi_int8(0, 1);
	{
		size_t		len = strlen(name);

		md->name = SPI_palloc(len + 1);
		memcpy(md->name, name, len + 1);
	}
	md->relation = spi_text(0, 2);
	md->alias = spi_text(0, 3);
	md->user_col = spi_text(0, 4);
	md->item_col = spi_text(0, 5);
	md->domain_col = spi_text(0, 6);
	md->rating_col = spi_text(0, 7);
	md->user_type = spi_text(0, 8);
	md->item_type = spi_text(0, 9);
	md->domain_type = spi_text(0, 10);
	md->source_domain = spi_text(0, 11);
	md->user_int = is_int_type(md->user_type);
	md->item_int = is_int_type(md->item_type);

	xd_config_defaults(&md->cfg);
	md->cfg.d = spi_int4(0, 13);
	md->cfg.n_ctx_layers = spi_int4(0, 14);
	md->cfg.n_tower_layers = spi_int4(0, 15);
	variant = spi_text(0, 16);
	md->cfg.variant = strcmp(variant, "fmt") == 0 ? XD_VARIANT_FMT : XD_VARIANT_MMT;
	md->cfg.mm_residual = spi_bool(0, 17);
	feedback = spi_text(0, 18);
	md->explicit_fb = strcmp(feedback, "explicit") == 0;
	md->cfg.feedback = md->explicit_fb ? XD_EXPLICIT : XD_IMPLICIT;
	md->cfg.dropout = (float) spi_float8(0, 19);
	md->cfg.beta = (float) spi_float8(0, 20);
	md->cfg.lr = (float) spi_float8(0, 21);
	md->cfg.batch_size = spi_int4(0, 22);
	md->epochs = spi_int4(0, 23);
	md->patience = spi_int4(0, 24);
	md->cfg.seed = (uint64) spi_int8(0, 25);
	md->val_sample = spi_int8(0, 26);
	md->dedup = spi_bool(0, 27);
	md->pretrain_epochs = spi_int4(0, 29);
	{
		char	   *lkl = spi_text(0, 30);

		md->lambda_search = strcmp(lkl, "search") == 0;
		md->lambda_kl = md->lambda_search ? 0.1f : (float) strtod(lkl, NULL);
	}
	md->auto_margin = spi_float8(0, 31);
	md->lr_search = spi_int4(0, 32);
	md->deploy = spi_text(0, 33);
	md->keep_versions = spi_int4(0, 34);
	md->time_col = spi_text(0, 35);

	{
		int			cap = spi_int4(0, 28);
		Oid			ftypes[1] = {INT8OID};
		Datum		fargs[1] = {Int64GetDatum(md->id)};

		ret = SPI_execute_with_args(
									"SELECT name, column_name::text, expression, kind, type, scope, "
									" coalesce((options->>'bins')::int, 0), (options->>'vocab_cap')::int "
									"FROM xdrec.feature WHERE model_id = $1 ORDER BY position",
									1, ftypes, fargs, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the features of model \"%s\" failed", name);
		md->n_features = (int) SPI_processed;
		md->features = SPI_palloc(sizeof(XdFeatureDef) * Max(md->n_features, 1));
		memset(md->features, 0, sizeof(XdFeatureDef) * Max(md->n_features, 1));
		for (int i = 0; i < md->n_features; i++)
		{
			XdFeatureDef *f = &md->features[i];
			char	   *kind = spi_text(i, 4),
					   *type = spi_text(i, 5),
					   *scope = spi_text(i, 6);
			bool		isnull;

			f->name = spi_text(i, 1);
			f->column = spi_text(i, 2);
			f->expression = spi_text(i, 3);
			f->kind = strcmp(kind, "interactional") == 0 ? XD_KIND_INTERACTIONAL :
				strcmp(kind, "historical") == 0 ? XD_KIND_HISTORICAL : XD_KIND_ATTRIBUTIONAL;
			f->type = strcmp(type, "numeric") == 0 ? XDPG_NUMERIC :
				strcmp(type, "categorical") == 0 ? XDPG_CATEGORICAL : XDPG_BOOLEAN;
			f->scope = strcmp(scope, "interaction") == 0 ? XD_SCOPE_INTERACTION :
				strcmp(scope, "user") == 0 ? XD_SCOPE_USER : XD_SCOPE_ITEM;
			f->bins = spi_int4(i, 7);
			SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 8, &isnull);
			f->vocab_cap = isnull ? cap : spi_int4(i, 8);
		}
	}
	return md;
}

static int
cmp_vocab(const void *a, const void *b)
{
	return strcmp(((const XdVocabEntry *) a)->value, ((const XdVocabEntry *) b)->value);
}

/* Builds f->sorted from f->vocab, in the current memory context. */
void
xdpg_vocab_index(XdFeatureDef *f)
{
	f->sorted = palloc(sizeof(XdVocabEntry) * Max(f->n_vocab, 1));
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

/* The SQL of feature f over the relation, cast to what the loader reads. */
char *
xdpg_feature_sql(const XdFeatureDef *f)
{
	const char *src = f->column ? quote_identifier(f->column) : NULL;
	const char *cast = f->type == XDPG_NUMERIC ? "pg_catalog.float8" :
		f->type == XDPG_CATEGORICAL ? "pg_catalog.text" : "pg_catalog.bool";

	if (src)
		return psprintf("(%s)::%s", src, cast);
	return psprintf("((%s))::%s", f->expression, cast);
}

/* FLT_MAX as a float8 literal: load.c skips values whose magnitude exceeds it */
#define XDPG_FLOAT4_MAX_SQL "3.4028234663852886e38"

/*
 * " AND ..." conditions that keep the rows training uses (DESIGN section 2):
 * a user and an item, a finite rating for explicit feedback, and numeric
 * values NULL or finite as float4 (what load.c stores). Key maps,
 * vocabularies and profiles come from these rows only, so a key whose every
 * row is skipped gets no untrained embedding.
 */
char *
xdpg_usable_rows_sql(const XdModelDef *md)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, " AND %s IS NOT NULL AND %s IS NOT NULL",
					 quote_identifier(md->user_col), quote_identifier(md->item_col));
	/* NaN compares above every number in SQL, so this refuses it too */
	if (md->explicit_fb)
		appendStringInfo(&b, " AND pg_catalog.abs((%s)::pg_catalog.float8) <= " XDPG_FLOAT4_MAX_SQL,
						 quote_identifier(md->rating_col));
	for (int i = 0; i < md->n_features; i++)
		if (md->features[i].type == XDPG_NUMERIC)
			appendStringInfo(&b, " AND COALESCE(pg_catalog.abs(%s) <= " XDPG_FLOAT4_MAX_SQL ", true)",
							 xdpg_feature_sql(&md->features[i]));
	return b.data;
}

/*
 * The vocabulary of every categorical feature: its most frequent values in
 * the (source) domain's rows, up to its cap, ties broken by value in "C"
 * order; everything else is "other" (DESIGN section 2). Frozen from here on.
 */
void
xdpg_build_vocabulary(XdModelDef *md, const char *domain)
{
	for (int i = 0; i < md->n_features; i++)
	{
		XdFeatureDef *f = &md->features[i];
		char	   *sql;
		Oid			argtypes[2] = {TEXTOID, INT8OID};
		Datum		args[2] = {CStringGetTextDatum(domain), Int64GetDatum(md->id)};
		int			ret;

		if (f->type != XDPG_CATEGORICAL)
			continue;
		sql = psprintf("SELECT v FROM (SELECT %s AS v FROM %s AS %s WHERE %s%s) s "
					   "WHERE v IS NOT NULL GROUP BY v "
					   "ORDER BY pg_catalog.count(*) DESC, v COLLATE \"C\" LIMIT %d",
					   xdpg_feature_sql(f), md->relation, quote_identifier(md->alias),
					   xdpg_where_domain(md), xdpg_usable_rows_sql(md), f->vocab_cap);
		ret = SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the values of feature \"%s\" failed", f->name);
		f->n_vocab = (int) SPI_processed;
		f->vocab = SPI_palloc(sizeof(char *) * Max(f->n_vocab, 1));
		for (int r = 0; r < f->n_vocab; r++)
			f->vocab[r] = spi_text(r, 1);
		f->sorted = SPI_palloc(sizeof(XdVocabEntry) * Max(f->n_vocab, 1));
		for (int r = 0; r < f->n_vocab; r++)
		{
			f->sorted[r].value = f->vocab[r];
			f->sorted[r].code = r;
		}
		qsort(f->sorted, f->n_vocab, sizeof(XdVocabEntry), cmp_vocab);
	}
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
xdpg_features_json(const XdModelDef *md, const xd_encoder *enc)
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
		{
			f = find_feature(features, s, v.val.string.val, v.val.string.len, &fi);
			if (f == NULL)
			{
				const char **names = palloc(sizeof(char *) * Max(s->n_features, 1));
				const char *near;

				for (int i = 0; i < s->n_features; i++)
					names[i] = features[i].name;
				near = xdpg_did_you_mean(pnstrdup(v.val.string.val, v.val.string.len), names,
										 s->n_features);
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("model \"%s\" has no context feature \"%.*s\"", model,
								v.val.string.len, v.val.string.val),
						 near ? errhint("Did you mean \"%s\"? Its features are: %s.", near,
										feature_list(features, s)) :
						 errhint("Its features are: %s.", feature_list(features, s))));
			}
			if (f->scope == XD_SCOPE_ITEM)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature \"%s\" is item-scoped: it comes from each candidate item's profile, not from ctx",
								f->name)));
		}
		else if (tok == WJB_VALUE && f != NULL)
		{
			const xd_feature *xf = &s->features[fi];

			if (v.type == jbvNull)
				continue;		/* JSON null: missing, encodes 0 */
			switch (f->type)
			{
				case XDPG_NUMERIC:
					{
						double		x;

						if (v.type != jbvNumeric)
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("context feature \"%s\" is numeric, not %s", f->name,
											v.type == jbvString ? "a string" :
											v.type == jbvBool ? "a boolean" : "a json container")));
						/*
						 * JSON numbers are finite; beyond float8 this gives
						 * infinity, refused as beyond float4 with the value
						 */
						x = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
															   NumericGetDatum(v.val.numeric)));
						if (isnan(x))
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("context feature \"%s\" must be a number, not NaN", f->name)));
						if (isinf(x) || isinf((float) x))
							ereport(ERROR,
									(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									 errmsg("context feature \"%s\" is out of range for a real: %s", f->name,
											numeric_out_sci(v.val.numeric, 1)),
									 errhint("Numeric features are stored as real (float4), whose magnitude stays below 3.4e38.")));
						num[xf->raw] = (float) x;
					}
					break;
				case XDPG_BOOLEAN:
					if (v.type != jbvBool)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("context feature \"%s\" is boolean, not %s", f->name,
										v.type == jbvString ? "a string" :
										v.type == jbvNumeric ? "a number" : "a json container")));
					num[xf->raw] = v.val.boolean ? 1.0f : 0.0f;
					break;
				case XDPG_CATEGORICAL:
					{
						char	   *text;

						if (v.type == jbvString)
							text = pnstrdup(v.val.string.val, v.val.string.len);
						else if (v.type == jbvNumeric)
							text = DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v.val.numeric)));
						else if (v.type == jbvBool)
							text = v.val.boolean ? "true" : "false";
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

/*
 * Refuses, as out of date rather than corrupt, a version trained before
 * xdrec.alter_model replaced the model's features: its vocabularies and
 * modules encode the old ones until the source is trained again.
 */
void
xdpg_check_features_unchanged(const XdModelDef *md, int64 version_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2] = {Int64GetDatum(md->id), Int64GetDatum(version_id)};

	if (SPI_execute_with_args("SELECT 1 FROM xdrec.model m JOIN xdrec.version v "
							  " ON v.model_id OPERATOR(pg_catalog.=) m.id "
							  "WHERE m.id OPERATOR(pg_catalog.=) $1 AND v.id OPERATOR(pg_catalog.=) $2 "
							  "AND m.features_changed_at OPERATOR(pg_catalog.>) v.created_at",
							  2, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading when the features of model \"%s\" changed failed", md->name);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the features of model \"%s\" changed since version " INT64_FORMAT " was trained",
						md->name, version_id),
				 errhint("Train the source again first: SELECT xdrec.train('%s').", md->name)));
}
