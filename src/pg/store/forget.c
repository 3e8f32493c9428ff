/*
 * forget.c - forgetting a user (xdrec.forget_user, fn/forget_fn.c): a user's
 * embedding and profile removed from every stored version of a domain, and
 * their rows left out of every later training and adaptation of it, though
 * their interactions stay in the owner's relation (deleting those is the
 * owner's job). docs/security.md, "Forgetting a user".
 *
 * Every other user keeps their dense id, so their ranking is bit-identical:
 * the user's key, seen items and per-user tensor rows are cleared in place
 * (forget_in_version). The key goes into xdrec.forgotten, which
 * data/relation.c filters on and whose statement trigger invalidates every backend's
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

#include "xdrec/blob.h"
#include "store/store.h"

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

static void
corrupt(int64 version_id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("version " INT64_FORMAT " is incomplete or malformed: %s", version_id, what)));
}

/*
 * Sets row `row` of tensor `tensor` of version_id (of model_id) to value and
 * rewrites the chunks that changed (the one holding the row, and chunk 0,
 * whose header holds the checksum). A tensor the version does not store
 * (bias.user of an implicit model) is left alone.
 */
static void
fill_tensor_row(int64 model_id, int64 version_id, const char *tensor, int32 row, float value)
{
	Oid			types[5] = {INT8OID, TEXTOID, INT4OID, BYTEAOID, INT8OID};
	Datum		vals[5] = {Int64GetDatum(version_id), CStringGetTextDatum(tensor), 0, 0,
	Int64GetDatum(model_id)};
	int			n;
	bytea	  **old;
	const uint8_t **ptrs;
	size_t	   *lens;
	uint8_t    *blob = NULL;
	size_t		len;
	xd_status	st;

	if (SPI_execute_with_args("SELECT data FROM xdrec.weight WHERE version_id OPERATOR(pg_catalog.=) $1 "
							  "AND tensor OPERATOR(pg_catalog.=) $2 AND model_id OPERATOR(pg_catalog.=) $5 "
							  "ORDER BY chunk", 5, types, vals, "  nn ", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading tensor \"%s\" of version " INT64_FORMAT " failed", tensor, version_id);
	n = (int) SPI_processed;
	if (n == 0)
		return;
	old = palloc(sizeof(bytea *) * n);
	ptrs = palloc(sizeof(uint8_t *) * n);
	lens = palloc(sizeof(size_t) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		old[i] = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ptrs[i] = (const uint8_t *) VARDATA(old[i]);
		lens[i] = VARSIZE(old[i]) - VARHDRSZ;
	}
	SPI_freetuptable(SPI_tuptable);
	st = xd_blob_reassemble(ptrs, lens, n, XDPG_CHUNK_BYTES, &blob, &len);
	PG_TRY();
	{
		if (st == XD_OK)
			st = xd_blob_fill_row(blob, len, (uint64) row, value);
		if (st != XD_OK)
			corrupt(version_id, psprintf("tensor \"%s\": %s", tensor, xd_status_message(st)));
		for (int i = 0; i < n; i++)
		{
			const uint8_t *chunk;
			size_t		clen;
			bytea	   *b;

			xd_blob_chunk(blob, len, XDPG_CHUNK_BYTES, i, &chunk, &clen);
			if (clen == lens[i] && memcmp(chunk, ptrs[i], clen) == 0)
				continue;
			b = palloc(VARHDRSZ + clen);
			SET_VARSIZE(b, VARHDRSZ + clen);
			memcpy(VARDATA(b), chunk, clen);
			vals[2] = Int32GetDatum(i);
			vals[3] = PointerGetDatum(b);
			if (xdpg_owner_execute("UPDATE xdrec.weight SET data = $4 "
								   "WHERE version_id OPERATOR(pg_catalog.=) $1 AND tensor OPERATOR(pg_catalog.=) $2 "
								   "AND chunk OPERATOR(pg_catalog.=) $3 AND model_id OPERATOR(pg_catalog.=) $5",
								   5, types, vals, NULL, SPI_OK_UPDATE) != 1)
				elog(ERROR, "xdrec: rewriting tensor \"%s\" of version " INT64_FORMAT " failed",
					 tensor, version_id);
			pfree(b);
		}
	}
	PG_FINALLY();
	{
		free(blob);
	}
	PG_END_TRY();
	for (int i = 0; i < n; i++)
		pfree(old[i]);
}

/*
 * Removes the user whose key (in the key map's text form) is user_key from
 * version_id of model_id: the key becomes NULL in the key map, so every
 * other user keeps their dense id; their seen items go; their rows of the
 * per-user tensors become those of a user never seen (embedding and bias 0,
 * profile missing). Bumps the version's forgotten_users, which the ranking
 * cache checks. Returns false, changing nothing, when the version does not
 * know the key. SPI connected, as a role with 'train' on model_id: it reads
 * as that role, and every write, as the owner, names model_id.
 */
/* SQL: the version's kept source interactions of one side, less user $2's */
#define KEPT_WITHOUT_USER(side) \
	"(SELECT COALESCE(pg_catalog.jsonb_agg(k.e ORDER BY k.i), '[]'::pg_catalog.jsonb) " \
	" FROM pg_catalog.jsonb_array_elements(metrics OPERATOR(pg_catalog.->) 'source_weights' " \
	"  OPERATOR(pg_catalog.->) '" side "') WITH ORDINALITY AS k(e, i) " \
	" WHERE NOT ((k.e OPERATOR(pg_catalog.->>) 'user') OPERATOR(pg_catalog.=) $2))"

static bool
forget_in_version(int64 model_id, int64 version_id, const char *user_key)
{
	static const struct
	{
		const char *tensor;
		float		never_seen;
	}			per_user[] =
	{
		{"emb.user", 0.0f},
		{"bias.user", 0.0f},
		{"feat.user_num", XD_MISSING_NUM},
		{"feat.user_codes", (float) XD_MISSING_CODE},
		/* the same, as 0.1.0 named them (stored_tensors.c) */
		{"enc.user_num", XD_MISSING_NUM},
		{"enc.user_codes", (float) XD_MISSING_CODE},
	};
	Oid			types[5] = {INT8OID, TEXTOID, INT4OID, INT4OID, INT8OID};
	Datum		vals[5] = {Int64GetDatum(version_id), CStringGetTextDatum(user_key), 0, 0,
	Int64GetDatum(model_id)};
	int32		key_chunk,
				pos,
				user;
	bool		isnull;

	if (SPI_execute_with_args("SELECT chunk, pg_catalog.array_position(keys, $2) FROM xdrec.key_map "
							  "WHERE version_id OPERATOR(pg_catalog.=) $1 AND kind OPERATOR(pg_catalog.=) 'user' "
							  "AND $2 OPERATOR(pg_catalog.=) ANY (keys) AND model_id OPERATOR(pg_catalog.=) $5",
							  5, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the user keys of version " INT64_FORMAT " failed", version_id);
	if (SPI_processed == 0)
		return false;
	key_chunk = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pos = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	user = key_chunk * XDPG_KEYS_PER_CHUNK + pos - 1;	/* write_keys' layout */

	vals[2] = Int32GetDatum(key_chunk);
	vals[3] = Int32GetDatum(pos);
	if (xdpg_owner_execute("UPDATE xdrec.key_map SET keys[$4] = NULL "
						   "WHERE version_id OPERATOR(pg_catalog.=) $1 AND kind OPERATOR(pg_catalog.=) 'user' "
						   "AND chunk OPERATOR(pg_catalog.=) $3 AND keys[$4] OPERATOR(pg_catalog.=) $2 "
						   "AND model_id OPERATOR(pg_catalog.=) $5",
						   5, types, vals, NULL, SPI_OK_UPDATE) != 1)
		elog(ERROR, "xdrec: removing a user key from version " INT64_FORMAT " failed", version_id);

	/* the seen items: user % 65536 of chunk user / 65536 (write_seen's layout) */
	vals[2] = Int32GetDatum(user / XDPG_SEEN_USERS_PER_CHUNK);
	vals[3] = Int32GetDatum(user % XDPG_SEEN_USERS_PER_CHUNK + 1);
	if (xdpg_owner_execute("UPDATE xdrec.seen SET counts[$4] = 0, "
						   " items = items[1:(SELECT coalesce(pg_catalog.sum(c), 0) "
						   "                  FROM pg_catalog.unnest(counts[1:$4 OPERATOR(pg_catalog.-) 1]) c)] "
						   "  OPERATOR(pg_catalog.||) items[(SELECT pg_catalog.sum(c) FROM pg_catalog.unnest(counts[1:$4]) c) "
						   "                                OPERATOR(pg_catalog.+) 1:] "
						   "WHERE version_id OPERATOR(pg_catalog.=) $1 AND chunk OPERATOR(pg_catalog.=) $3 "
						   "AND pg_catalog.cardinality(counts) OPERATOR(pg_catalog.>=) $4 "
						   "AND model_id OPERATOR(pg_catalog.=) $5",
						   5, types, vals, NULL, SPI_OK_UPDATE) != 1)
		corrupt(version_id, "its seen items do not cover every user");

	for (int i = 0; i < lengthof(per_user); i++)
		fill_tensor_row(model_id, version_id, per_user[i].tensor, user, per_user[i].never_seen);

	/*
	 * The count the ranking cache checks; and a source version trained with
	 * source weighting kept some of the user's interactions for
	 * xdrec.source_weights (run/biao_fit.c): they go too.
	 */
	if (xdpg_owner_execute("UPDATE xdrec.version SET forgotten_users = forgotten_users OPERATOR(pg_catalog.+) 1, "
						   " metrics = CASE WHEN metrics OPERATOR(pg_catalog.?) 'source_weights' "
						   "  THEN pg_catalog.jsonb_set(metrics, '{source_weights}', pg_catalog.jsonb_build_object("
						   "   'top', " KEPT_WITHOUT_USER("top") ", 'bottom', " KEPT_WITHOUT_USER("bottom") ")) "
						   "  ELSE metrics END "
						   "WHERE id OPERATOR(pg_catalog.=) $1 AND model_id OPERATOR(pg_catalog.=) $5",
						   5, types, vals, NULL, SPI_OK_UPDATE) != 1)
		elog(ERROR, "xdrec: recording a forgotten user in version " INT64_FORMAT " failed", version_id);
	return true;
}

/*
 * A text[] of what xdrec.forgotten holds for model_id, read as the owner:
 * the domains the user (key text form) was forgotten from, or (user_key
 * NULL) the users forgotten from domain. Serving reads rows as the caller,
 * and xdrec.forgotten's policy shows its rows to 'train' only: a role with
 * 'use' must still not be served from a forgotten user's rows. SPI
 * connected; the array lives until SPI_finish.
 */
Datum
xdpg_forgotten_of(int64 model_id, const char *domain, const char *user_key)
{
	/* kept: serving runs one on every call for a cold user or new items */
	static SPIPlanPtr plans[2];
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(model_id), CStringGetTextDatum(user_key ? user_key : domain)};
	bool		isnull;

	xdpg_owner_execute_kept(&plans[user_key ? 0 : 1], user_key
							? "SELECT COALESCE(pg_catalog.array_agg(domain), '{}') FROM xdrec.forgotten "
							"WHERE model_id OPERATOR(pg_catalog.=) $1 AND user_key OPERATOR(pg_catalog.=) $2"
							: "SELECT COALESCE(pg_catalog.array_agg(user_key), '{}') FROM xdrec.forgotten "
							"WHERE model_id OPERATOR(pg_catalog.=) $1 AND domain OPERATOR(pg_catalog.=) $2",
							2, types, vals, NULL, SPI_OK_SELECT);
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
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
		(void) forget_in_version(md->id, version_id, keys[i]);

	/* a blend version's DRR version (adapt_run.c) holds the same users */
	if (SPI_execute_with_args("SELECT s.id FROM xdrec.version s, xdrec.version b "
							  "WHERE b.id OPERATOR(pg_catalog.=) $3 AND b.method OPERATOR(pg_catalog.=) 'blend' "
							  "AND s.model_id OPERATOR(pg_catalog.=) $1 AND s.domain OPERATOR(pg_catalog.=) $2 "
							  "AND s.method OPERATOR(pg_catalog.=) 'drr' "
							  "AND b.encoder OPERATOR(pg_catalog.->) 'blend' OPERATOR(pg_catalog.->) 'second' "
							  "    OPERATOR(pg_catalog.=) pg_catalog.to_jsonb(s.id)",
							  3, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the blend of version " INT64_FORMAT " failed", version_id);
	if (SPI_processed == 1)
	{
		bool		isnull;
		int64		second = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		xdpg_forget_pending(md, domain, second);
	}
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
int32
xdpg_forget_user(const char *name, const char *domain, const char *user_key)
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
		if (forget_in_version(md->id, versions[i], key))
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
