/*
 * model_def.c - a model's definition as the catalog holds it (XdModelDef):
 * its relation and key columns, its options resolved to their defaults, its
 * declared features with their frozen vocabularies, read under the caller's
 * privilege; and the check that a version still encodes the model's
 * features.
 *
 * Every function here runs inside an SPI connection opened by its caller and
 * returns what it builds in the caller's (upper) memory context.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "data/data.h"

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
char *
xdpg_spi_text(int row, int col)
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
	md->relation = xdpg_spi_text(0, 2);
	md->alias = xdpg_spi_text(0, 3);
	md->user_col = xdpg_spi_text(0, 4);
	md->item_col = xdpg_spi_text(0, 5);
	md->domain_col = xdpg_spi_text(0, 6);
	md->rating_col = xdpg_spi_text(0, 7);
	md->user_type = xdpg_spi_text(0, 8);
	md->item_type = xdpg_spi_text(0, 9);
	md->domain_type = xdpg_spi_text(0, 10);
	md->source_domain = xdpg_spi_text(0, 11);
	md->user_int = is_int_type(md->user_type);
	md->item_int = is_int_type(md->item_type);

	xd_config_defaults(&md->cfg);
	md->cfg.d = spi_int4(0, 13);
	md->cfg.n_ctx_layers = spi_int4(0, 14);
	md->cfg.n_tower_layers = spi_int4(0, 15);
	variant = xdpg_spi_text(0, 16);
	md->cfg.variant = strcmp(variant, "fmt") == 0 ? XD_VARIANT_FMT : XD_VARIANT_MMT;
	md->cfg.mm_residual = spi_bool(0, 17);
	feedback = xdpg_spi_text(0, 18);
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
		char	   *lkl = xdpg_spi_text(0, 30);

		md->lambda_search = strcmp(lkl, "search") == 0;
		md->lambda_kl = md->lambda_search ? 0.1f : (float) strtod(lkl, NULL);
	}
	md->auto_margin = spi_float8(0, 31);
	md->lr_search = spi_int4(0, 32);
	md->deploy = xdpg_spi_text(0, 33);
	md->keep_versions = spi_int4(0, 34);
	md->time_col = xdpg_spi_text(0, 35);

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
			char	   *kind = xdpg_spi_text(i, 4),
					   *type = xdpg_spi_text(i, 5),
					   *scope = xdpg_spi_text(i, 6);
			bool		isnull;

			f->name = xdpg_spi_text(i, 1);
			f->column = xdpg_spi_text(i, 2);
			f->expression = xdpg_spi_text(i, 3);
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
