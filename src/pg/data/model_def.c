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

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "data/data.h"

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
 * md's declared features in order, into the upper context; a categorical
 * feature without its own vocab_cap takes the model's.
 */
static void
read_features(XdModelDef *md)
{
	int			ret;
	Oid			ftypes[1] = {INT8OID};
	Datum		fargs[1] = {Int64GetDatum(md->id)};

	ret = SPI_execute_with_args(
								"SELECT name, column_name::text, expression, kind, type, scope, "
								" coalesce((options->>'bins')::int, 0), (options->>'vocab_cap')::int "
								"FROM xdrec.feature WHERE model_id = $1 ORDER BY position",
								1, ftypes, fargs, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the features of model \"%s\" failed", md->name);
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
		f->vocab_cap = isnull ? md->vocab_cap : spi_int4(i, 8);
	}
}

/*
 * The visible model called name, with its features, checked for privilege
 * ('use' or 'train'). Its options are resolved by options.c, with the
 * core's defaults (create_model stores them as given).
 */
XdModelDef *
xdpg_model_load(const char *name, const char *privilege)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	XdModelDef *md;
	int			ret;

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
								" xdrec_internal.model_access(m.id, $2), m.options, m.relation::pg_catalog.oid, "
								" m.owner::pg_catalog.text "
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
	{
		bool		isnull;

		md->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 14, &isnull));
	}
	md->alias = xdpg_spi_text(0, 3);
	md->user_col = xdpg_spi_text(0, 4);
	md->item_col = xdpg_spi_text(0, 5);
	md->domain_col = xdpg_spi_text(0, 6);
	md->rating_col = xdpg_spi_text(0, 7);
	md->user_type = xdpg_spi_text(0, 8);
	md->item_type = xdpg_spi_text(0, 9);
	md->domain_type = xdpg_spi_text(0, 10);
	md->source_domain = xdpg_spi_text(0, 11);
	md->owner = xdpg_spi_text(0, 15);
	md->user_int = is_int_type(md->user_type);
	md->item_int = is_int_type(md->item_type);

	{
		bool		isnull;
		Datum		opts = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 13, &isnull);
		/* the upper context, which md is in (SPI_palloc) */
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(md));

		xdpg_options_read(md, isnull ? NULL : DatumGetJsonbP(opts));
		MemoryContextSwitchTo(old);
	}

	read_features(md);
	return md;
}

/*
 * Brings md's relation name (and alias) to what its OID names now, or NULL
 * once it is dropped: a definition kept across calls (a session's ranking
 * cache, serve/version_cache.c) would otherwise read whatever table holds
 * the old name after a rename. A new definition reads the name from the OID
 * as well (xdpg_model_load), so a cached one and a fresh one read the same
 * relation. A changed name is copied into md's memory context.
 */
void
xdpg_model_follow_relation(XdModelDef *md)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(md->relid));
	Form_pg_class rel;
	char	   *nsp;
	const char *now;

	if (!HeapTupleIsValid(tup))
	{
		md->relation = NULL;
		return;
	}
	rel = (Form_pg_class) GETSTRUCT(tup);
	nsp = get_namespace_name(rel->relnamespace);
	now = nsp ? quote_qualified_identifier(nsp, NameStr(rel->relname)) : NULL;
	if (now == NULL)
		md->relation = NULL;
	else if (md->relation == NULL || strcmp(md->relation, now) != 0)
	{
		MemoryContext mdcxt = GetMemoryChunkContext(md);

		md->relation = MemoryContextStrdup(mdcxt, now);
		md->alias = MemoryContextStrdup(mdcxt, NameStr(rel->relname));
	}
	ReleaseSysCache(tup);
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
