/*
 * forget_fn.c - xdrec.forget_user(name, domain, user_key): a user's
 * embedding and profile removed from every stored version of a domain, and
 * their rows left out of every later training and adaptation of it, though
 * their interactions stay in the owner's relation (deleting those is the
 * owner's job). docs/security.md, "Forgetting a user".
 *
 * Every other user keeps their dense id, so their ranking is bit-identical:
 * catalog.c clears the user's key, seen items and per-user tensor rows in
 * place (xdpg_forget_in_version). The key goes into xdrec.forgotten, which
 * load.c filters on and whose statement trigger invalidates every backend's
 * ranking cache.
 *
 * A training or adaptation that read the domain before a forget committed
 * must not serve the user afterwards: both take the same transaction lock on
 * (model, domain), forget_user before it lists the versions and xdpg_deploy
 * (through xdpg_forget_pending) before it serves a new one, which it first
 * clears of any user forgotten meanwhile.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "xdrec_pg.h"

/* Serialises forgetting and deploying on (model, domain) until commit. */
static void
lock_domain(int64 model_id, const char *domain)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(model_id), CStringGetTextDatum(domain)};

	if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($2, $1))",
							  2, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: locking domain %s failed", domain);
}

/*
 * Clears version_id, about to be served for (md, domain), of the users
 * forgotten from the domain since its rows were read. Normally there are
 * none: load.c left them out.
 */
void
xdpg_forget_pending(XdModelDef *md, const char *domain, int64 version_id)
{
	Oid			types[3] = {INT8OID, TEXTOID, INT8OID};
	Datum		vals[3] = {Int64GetDatum(md->id), CStringGetTextDatum(domain), Int64GetDatum(version_id)};
	int			n;
	char	  **keys;

	lock_domain(md->id, domain);
	if (SPI_execute_with_args("SELECT f.user_key FROM xdrec.forgotten f "
							  "JOIN (SELECT pg_catalog.unnest(k.keys) AS key FROM xdrec.key_map k "
							  "      WHERE k.version_id OPERATOR(pg_catalog.=) $3 "
							  "      AND k.kind OPERATOR(pg_catalog.=) 'user') m ON m.key OPERATOR(pg_catalog.=) f.user_key "
							  "WHERE f.model_id OPERATOR(pg_catalog.=) $1 AND f.domain OPERATOR(pg_catalog.=) $2",
							  3, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the users forgotten from domain %s failed", domain);
	n = (int) SPI_processed;
	keys = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		keys[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	for (int i = 0; i < n; i++)
		(void) xdpg_forget_in_version(md->id, version_id, keys[i]);
}

/* Whether md's relation has a row of domain (and of user_key, when given). */
static bool
relation_has(XdModelDef *md, const char *domain, const char *user_key)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2] = {CStringGetTextDatum(domain), user_key ? CStringGetTextDatum(user_key) : (Datum) 0};
	char	   *sql;
	bool		isnull;
	XdSpan		span;

	sql = psprintf("SELECT EXISTS (SELECT 1 FROM %s AS %s WHERE %s = $1::%s%s)",
				   md->relation, quote_identifier(md->alias),
				   quote_identifier(md->domain_col), md->domain_type,
				   !user_key ? "" :
				   psprintf(" AND (%s)::%s::pg_catalog.text = $2", quote_identifier(md->user_col),
							md->user_int ? "pg_catalog.int8" : "pg_catalog.text"));
	/* the relation's views and policies may run the caller's SQL */
	xdpg_user_begin(&span);
	if (SPI_execute_with_args(sql, user_key ? 2 : 1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the relation of model \"%s\" failed", md->name);
	xdpg_span_end(&span);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Forgets user_key (as given: a bigint call passes its text form) from
 * domain of model name; returns how many stored versions held the user.
 */
static int32
forget_user(const char *name, const char *domain, const char *user_key)
{
	XdModelDef *md;
	const char *key;
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[4];
	int			n_versions;
	int64	   *versions;
	bool		already;
	int32		removed = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "train");
	xdpg_model_check_write(md->id, name, "train");
	/* the key maps' text form: integers canonical, uuids lowercase */
	key = md->user_int ? psprintf(INT64_FORMAT, pg_strtoint64(user_key))
		: xdpg_key_normalise(md->user_type, user_key);

	lock_domain(md->id, domain);
	vals[0] = Int64GetDatum(md->id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = CStringGetTextDatum(key);
	if (SPI_execute_with_args("SELECT id FROM xdrec.version WHERE model_id OPERATOR(pg_catalog.=) $1 "
							  "AND domain OPERATOR(pg_catalog.=) $2 ORDER BY id",
							  2, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the versions of model \"%s\" failed", name);
	n_versions = (int) SPI_processed;
	versions = palloc(sizeof(int64) * Max(n_versions, 1));
	for (int i = 0; i < n_versions; i++)
	{
		bool		isnull;

		versions[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (SPI_execute_with_args("SELECT 1 FROM xdrec.forgotten WHERE model_id OPERATOR(pg_catalog.=) $1 "
							  "AND domain OPERATOR(pg_catalog.=) $2 AND user_key OPERATOR(pg_catalog.=) $3",
							  3, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the forgotten users of model \"%s\" failed", name);
	already = SPI_processed > 0;

	for (int i = 0; i < n_versions; i++)
		if (xdpg_forget_in_version(md->id, versions[i], key))
			removed++;

	/* a user no version holds may still be in the relation, to be trained on */
	if (removed == 0 && !already)
	{
		if (n_versions == 0 && !relation_has(md, domain, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" has no domain %s", name, domain),
					 errhint("The domain is a value of column \"%s\" of %s.", md->domain_col, md->relation)));
		if (!relation_has(md, domain, key))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("user %s is not known to model \"%s\" in domain %s", key, name, domain),
					 errhint("Neither a stored version nor the rows of %s hold the user.", md->relation)));
	}
	if (already && removed == 0)
		ereport(NOTICE,
				(errmsg("user %s was forgotten from domain %s of model \"%s\" already", key, domain, name)));
	else if (!already)
	{
		vals[3] = xdpg_current_role_name();
		xdpg_owner_execute("INSERT INTO xdrec.forgotten (model_id, domain, user_key, forgotten_by) "
						   "VALUES ($1, $2, $3, $4)", 4, types, vals, NULL, SPI_OK_INSERT);
	}
	SPI_finish();
	return removed;
}

static void
check_args(FunctionCallInfo fcinfo)
{
	static const char *const what[3] = {"model name", "domain", "user_key"};

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be null", what[i])));
}

PG_FUNCTION_INFO_V1(xdrec_forget_user_text);
Datum
xdrec_forget_user_text(PG_FUNCTION_ARGS)
{
	xdpg_check_writable("xdrec.forget_user");
	check_args(fcinfo);
	PG_RETURN_INT32(forget_user(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								text_to_cstring(PG_GETARG_TEXT_PP(1)),
								text_to_cstring(PG_GETARG_TEXT_PP(2))));
}

PG_FUNCTION_INFO_V1(xdrec_forget_user_int8);
Datum
xdrec_forget_user_int8(PG_FUNCTION_ARGS)
{
	xdpg_check_writable("xdrec.forget_user");
	check_args(fcinfo);
	PG_RETURN_INT32(forget_user(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								text_to_cstring(PG_GETARG_TEXT_PP(1)),
								psprintf(INT64_FORMAT, PG_GETARG_INT64(2))));
}
