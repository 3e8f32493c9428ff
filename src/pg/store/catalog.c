/*
 * catalog.c - versions in the catalog (DESIGN section 7).
 *
 * A version is one row of xdrec.version (its config and encoder layout in
 * "encoder", its metrics in "metrics"), its tensors as chunked weight blobs in
 * xdrec.weight (model tensors by their core names, "ctx.W1", "emb.user", ...,
 * and the encoder's arrays as "enc.num_min", "enc.user_num", ...), its key
 * maps in xdrec.key_map and each user's training items in xdrec.seen. All of
 * it is written by the calling role, in the caller's transaction: a failing
 * or cancelled run leaves nothing behind. Deploying points the domain's
 * served_version at it and invalidates every backend's ranking cache.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "xdrec/blob.h"
#include "xdrec_pg.h"

/* weight chunks stay far below the 1 GB datum limit */
#define XDPG_CHUNK_BYTES (64 * 1024 * 1024)
#define XDPG_KEYS_PER_CHUNK 100000
#define XDPG_SEEN_USERS_PER_CHUNK 65536

Oid
xdpg_domain_relid(void)
{
	Oid			nsp = get_namespace_oid("xdrec", true);

	return OidIsValid(nsp) ? get_relname_relid("domain", nsp) : InvalidOid;
}

/* Serialises one tensor and inserts its chunks. */
static void
write_tensor(SPIPlanPtr plan, int64 model_id, int64 version_id, const char *name,
			 const float *data, int ndim, const uint64 *shape)
{
	size_t		len,
				n;
	uint8	   *buf;
	xd_status	st;

	st = xd_blob_size(ndim, (const uint64_t *) shape, &len);
	xdpg_check_status(st, "serialising the weights");
	buf = palloc_extended(len, MCXT_ALLOC_HUGE);
	st = xd_blob_write_into(data, ndim, (const uint64_t *) shape, buf, len, &len);
	xdpg_check_status(st, "serialising the weights");
	n = xd_blob_nchunks(len, XDPG_CHUNK_BYTES);
	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *chunk;
		size_t		clen;
		bytea	   *b;
		Datum		vals[5];
		int			ret;

		xd_blob_chunk(buf, len, XDPG_CHUNK_BYTES, i, &chunk, &clen);
		b = palloc(VARHDRSZ + clen);
		SET_VARSIZE(b, VARHDRSZ + clen);
		memcpy(VARDATA(b), chunk, clen);
		vals[0] = Int64GetDatum(model_id);
		vals[1] = Int64GetDatum(version_id);
		vals[2] = CStringGetTextDatum(name);
		vals[3] = Int32GetDatum((int32) i);
		vals[4] = PointerGetDatum(b);
		ret = SPI_execute_plan(plan, vals, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "xdrec: writing tensor \"%s\" failed: %s", name, SPI_result_code_string(ret));
		pfree(b);
	}
	pfree(buf);
}

static void
write_keys(int64 model_id, int64 version_id, const char *kind, const XdKeyMap *km)
{
	Oid			types[5] = {INT8OID, INT8OID, TEXTOID, INT4OID, TEXTARRAYOID};
	SPIPlanPtr	plan = SPI_prepare("INSERT INTO xdrec.key_map (model_id, version_id, kind, chunk, keys) "
								   "VALUES ($1, $2, $3, $4, $5)", 5, types);

	if (!plan)
		elog(ERROR, "xdrec: preparing the key map insert failed");
	for (int32 start = 0, chunk = 0; start < km->n; chunk++)
	{
		int32		end = Min(km->n, start + XDPG_KEYS_PER_CHUNK);
		Datum	   *elems = palloc(sizeof(Datum) * Max(end - start, 1));
		ArrayType  *arr;
		Datum		vals[5];

		for (int32 i = start; i < end; i++)
			elems[i - start] = CStringGetTextDatum(xdpg_key_text(km, i));
		arr = construct_array(elems, end - start, TEXTOID, -1, false, TYPALIGN_INT);
		vals[0] = Int64GetDatum(model_id);
		vals[1] = Int64GetDatum(version_id);
		vals[2] = CStringGetTextDatum(kind);
		vals[3] = Int32GetDatum(chunk);
		vals[4] = PointerGetDatum(arr);
		if (SPI_execute_plan(plan, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "xdrec: writing the %s keys failed", kind);
		start = end;
	}
	SPI_freeplan(plan);
}

static void
write_seen(int64 model_id, int64 version_id, const xd_dataset *ds)
{
	Oid			types[5] = {INT8OID, INT8OID, INT4OID, INT4ARRAYOID, INT4ARRAYOID};
	SPIPlanPtr	plan = SPI_prepare("INSERT INTO xdrec.seen (model_id, version_id, chunk, counts, items) "
								   "VALUES ($1, $2, $3, $4, $5)", 5, types);

	if (!plan)
		elog(ERROR, "xdrec: preparing the seen-items insert failed");
	for (int32 start = 0, chunk = 0; start < ds->n_users; chunk++)
	{
		int32		end = Min(ds->n_users, start + XDPG_SEEN_USERS_PER_CHUNK);
		int64		lo = ds->user_train_off[start],
					hi = ds->user_train_off[end];
		Datum	   *cnt = palloc(sizeof(Datum) * (end - start));
		Datum	   *items = palloc(sizeof(Datum) * Max(hi - lo, 1));
		Datum		vals[5];

		for (int32 u = start; u < end; u++)
			cnt[u - start] = Int32GetDatum((int32) (ds->user_train_off[u + 1] - ds->user_train_off[u]));
		for (int64 i = lo; i < hi; i++)
			items[i - lo] = Int32GetDatum(ds->user_train_items[i]);
		vals[0] = Int64GetDatum(model_id);
		vals[1] = Int64GetDatum(version_id);
		vals[2] = Int32GetDatum(chunk);
		vals[3] = PointerGetDatum(construct_array(cnt, end - start, INT4OID, 4, true, TYPALIGN_INT));
		vals[4] = PointerGetDatum(construct_array(items, (int) (hi - lo), INT4OID, 4, true, TYPALIGN_INT));
		if (SPI_execute_plan(plan, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "xdrec: writing the seen items failed");
		pfree(cnt);
		pfree(items);
		start = end;
	}
	SPI_freeplan(plan);
}

/* Integer codes as floats: exact, vocabularies stay far below 2^24. */
static float *
codes_as_floats(const int32 *codes, size_t n)
{
	float	   *f = palloc_extended(sizeof(float) * Max(n, 1), MCXT_ALLOC_HUGE);

	for (size_t i = 0; i < n; i++)
		f[i] = (float) codes[i];
	return f;
}

/*
 * Writes a new ready version of domain for md: the row, every tensor, the key
 * maps and the seen items. Returns its id. Nothing is served yet.
 */
int64
xdpg_write_version(XdModelDef *md, const char *domain, xd_model *model,
				   const xd_dataset *ds, const XdKeyMap *users, const XdKeyMap *items,
				   const char *metrics_json, const char *encoder_json,
				   const XdVersionInfo *info)
{
	Oid			vtypes[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		vvals[7];
	char		vnulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			wtypes[5] = {INT8OID, INT8OID, TEXTOID, INT4OID, BYTEAOID};
	SPIPlanPtr	wplan;
	int64		version_id;
	bool		isnull;
	xd_param  **params;
	int			n_params;
	const xd_encoder *enc = &ds->enc;
	const xd_schema *s = &enc->schema;
	int			ret;

	vvals[0] = Int64GetDatum(md->id);
	vvals[1] = CStringGetTextDatum(domain);
	vvals[2] = CStringGetTextDatum(metrics_json);
	vvals[3] = CStringGetTextDatum(encoder_json);
	vvals[4] = CStringGetTextDatum(info->kind);
	vvals[5] = CStringGetTextDatum(info->method);
	vvals[6] = Int64GetDatum(info->pins_shared_version);
	if (info->pins_shared_version <= 0)
		vnulls[6] = 'n';
	ret = SPI_execute_with_args("INSERT INTO xdrec.version (model_id, domain, kind, method, pins_shared_version, "
								" state, metrics, encoder) "
								"VALUES ($1, $2, $5, $6, $7, 'ready', $3::jsonb, $4::jsonb) RETURNING id",
								7, vtypes, vvals, vnulls, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "xdrec: writing the version failed: %s", SPI_result_code_string(ret));
	version_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	wplan = SPI_prepare("INSERT INTO xdrec.weight (model_id, version_id, tensor, chunk, data) "
						"VALUES ($1, $2, $3, $4, $5)", 5, wtypes);
	if (!wplan)
		elog(ERROR, "xdrec: preparing the weight insert failed");

	/*
	 * The model's tensors, by the core's names: a target adapted by Direct or
	 * DRR stores only its own (embeddings, biases, residuals); its modules are
	 * the pinned source version's (DESIGN section 1).
	 */
	xd_model_params(model, &params, &n_params);
	for (int i = 0; i < n_params; i++)
	{
		uint64		shape[2] = {(uint64) params[i]->rows, (uint64) params[i]->cols};

		if (info->skip_shared && params[i]->group == XD_GROUP_SHARED)
			continue;
		write_tensor(wplan, md->id, version_id, params[i]->name, params[i]->w, 2, shape);
		CHECK_FOR_INTERRUPTS();
	}

	/* the source's distributional encoders (DESIGN section 4), "enc.C.W1" ... */
	if (info->encoders)
		for (int k = 0; k < XD_N_ENC; k++)
		{
			const xd_dist_encoder *e = info->encoders->e[k];

			if (!e)
				continue;
			for (int j = 0; j < e->n_params; j++)
			{
				uint64		shape[2] = {(uint64) e->params[j].rows, (uint64) e->params[j].cols};

				write_tensor(wplan, md->id, version_id, e->params[j].name, e->params[j].w, 2, shape);
			}
			CHECK_FOR_INTERRUPTS();
		}

	/* the encoder: normalisation, bin edges, profiles */
	{
		uint64		sh[2];
		float	   *f;

		sh[0] = (uint64) s->n_num;
		write_tensor(wplan, md->id, version_id, "enc.num_min", enc->num_min, 1, sh);
		write_tensor(wplan, md->id, version_id, "enc.num_max", enc->num_max, 1, sh);
		sh[0] = (uint64) s->n_edges;
		write_tensor(wplan, md->id, version_id, "enc.bin_edges", enc->bin_edges, 1, sh);
		sh[0] = (uint64) enc->n_users;
		sh[1] = (uint64) s->n_user_num;
		write_tensor(wplan, md->id, version_id, "enc.user_num", enc->user_num, 2, sh);
		sh[1] = (uint64) s->n_user_codes;
		f = codes_as_floats(enc->user_codes, (size_t) enc->n_users * s->n_user_codes);
		write_tensor(wplan, md->id, version_id, "enc.user_codes", f, 2, sh);
		pfree(f);
		sh[0] = (uint64) enc->n_items;
		sh[1] = (uint64) s->n_item_num;
		write_tensor(wplan, md->id, version_id, "enc.item_num", enc->item_num, 2, sh);
		sh[1] = (uint64) s->n_item_codes;
		f = codes_as_floats(enc->item_codes, (size_t) enc->n_items * s->n_item_codes);
		write_tensor(wplan, md->id, version_id, "enc.item_codes", f, 2, sh);
		pfree(f);
	}
	SPI_freeplan(wplan);

	write_keys(md->id, version_id, "user", users);
	write_keys(md->id, version_id, "item", items);
	write_seen(md->id, version_id, ds);
	return version_id;
}

/*
 * Serves version_id for (md, domain) and invalidates every backend's ranking
 * cache (the invalidation is sent at commit, and WAL-logged for standbys).
 * Users forgotten from the domain while it trained are cleared from it first.
 */
void
xdpg_deploy(XdModelDef *md, const char *domain, const char *role, int64 version_id,
			const char *stats_json)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		vals[5];
	int			ret;

	xdpg_forget_pending(md, domain, version_id);
	vals[0] = Int64GetDatum(md->id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = CStringGetTextDatum(role);
	vals[3] = CStringGetTextDatum(stats_json);
	vals[4] = Int64GetDatum(version_id);
	ret = SPI_execute_with_args("INSERT INTO xdrec.domain AS d (model_id, domain, role, stats, served_version) "
								"VALUES ($1, $2, $3, $4::jsonb, $5) "
								"ON CONFLICT (model_id, domain) DO UPDATE SET role = excluded.role, "
								" stats = excluded.stats, served_version = excluded.served_version",
								5, types, vals, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "xdrec: deploying version " INT64_FORMAT " failed: %s", version_id,
			 SPI_result_code_string(ret));
	ret = SPI_execute_with_args("UPDATE xdrec.version SET deployed_at = pg_catalog.now() WHERE id = $5",
								5, types, vals, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: recording when version " INT64_FORMAT " was deployed failed", version_id);
	if (strcmp(role, "source") == 0)
	{
		ret = SPI_execute_with_args("UPDATE xdrec.model SET source_domain = $2 "
									"WHERE id = $1 AND source_domain IS DISTINCT FROM $2",
									2, types, vals, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "xdrec: recording the source domain failed");
	}
	CacheInvalidateRelcacheByRelid(xdpg_domain_relid());
}

/* ------------------------------------------------------------------ reading */

static void
version_reset(void *arg)
{
	XdVersion  *v = (XdVersion *) arg;

	if (v->model)
		xd_model_free(v->model);
	v->model = NULL;
	xd_adapt_free(v->adapt);	/* after the model, which borrows it */
	v->adapt = NULL;
	xd_encoders_free(v->encoders);
	v->encoders = NULL;
	xd_encoder_free(&v->enc);
}

static void
corrupt(int64 version_id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("version " INT64_FORMAT " is incomplete or malformed: %s", version_id, what)));
}

static xd_param *
find_encoder_param(xd_encoders *enc, const char *name)
{
	for (int k = 0; k < XD_N_ENC; k++)
		if (enc->e[k])
			for (int j = 0; j < enc->e[k]->n_params; j++)
				if (strcmp(enc->e[k]->params[j].name, name) == 0)
					return &enc->e[k]->params[j];
	return NULL;
}

/* Copies a decoded tensor into its destination, checking the element count. */
static void
apply_tensor(XdVersion *v, const char *name, const xd_tensor *t)
{
	const xd_schema *s = &v->enc.schema;
	float	   *dst = NULL;
	int32	   *idst = NULL;
	size_t		want = 0;

	if (strncmp(name, "enc.", 4) == 0)
	{
		if (strcmp(name, "enc.num_min") == 0)
			dst = v->enc.num_min, want = s->n_num;
		else if (strcmp(name, "enc.num_max") == 0)
			dst = v->enc.num_max, want = s->n_num;
		else if (strcmp(name, "enc.bin_edges") == 0)
			dst = v->enc.bin_edges, want = s->n_edges;
		else if (strcmp(name, "enc.user_num") == 0)
			dst = v->enc.user_num, want = (size_t) v->enc.n_users * s->n_user_num;
		else if (strcmp(name, "enc.item_num") == 0)
			dst = v->enc.item_num, want = (size_t) v->enc.n_items * s->n_item_num;
		else if (strcmp(name, "enc.user_codes") == 0)
			idst = v->enc.user_codes, want = (size_t) v->enc.n_users * s->n_user_codes;
		else if (strcmp(name, "enc.item_codes") == 0)
			idst = v->enc.item_codes, want = (size_t) v->enc.n_items * s->n_item_codes;
		else if (v->encoders && (strncmp(name, "enc.C.", 6) == 0 ||
								 strncmp(name, "enc.U.", 6) == 0 ||
								 strncmp(name, "enc.V.", 6) == 0))
		{
			xd_param   *p = find_encoder_param(v->encoders, name);

			if (!p)
				corrupt(v->version_id, psprintf("unknown encoder tensor \"%s\"", name));
			dst = p->w;
			want = (size_t) p->rows * (size_t) p->cols;
			v->n_encoder_tensors++;
		}
		else
			return;				/* the encoders when unwanted, or a later release */
	}
	else
	{
		xd_param   *p = xd_model_find_param(v->model, name);

		if (!p)
			return;				/* e.g. the distributional encoders */
		dst = p->w;
		want = (size_t) p->rows * (size_t) p->cols;
	}
	if (t->count != want)
		corrupt(v->version_id, psprintf("tensor \"%s\" has " UINT64_FORMAT " values, expected %zu",
										name, (uint64) t->count, want));
	if (dst)
		memcpy(dst, t->data, sizeof(float) * want);
	else
		for (size_t i = 0; i < want; i++)
			idst[i] = (int32) t->data[i];
}

static void
finish_tensor(XdVersion *v, const char *name, List *chunks)
{
	int			n = list_length(chunks);
	const uint8_t **ptrs = palloc(sizeof(uint8_t *) * Max(n, 1));
	size_t	   *lens = palloc(sizeof(size_t) * Max(n, 1));
	uint8_t    *blob = NULL;
	size_t		len = 0;
	xd_tensor	t;
	xd_status	st;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, chunks)
	{
		bytea	   *b = (bytea *) lfirst(lc);

		ptrs[i] = (const uint8_t *) VARDATA_ANY(b);
		lens[i] = VARSIZE_ANY_EXHDR(b);
		i++;
	}
	if (n == 1)
		st = xd_blob_read(ptrs[0], lens[0], &t);
	else
	{
		st = xd_blob_reassemble(ptrs, lens, n, XDPG_CHUNK_BYTES, &blob, &len);
		if (st == XD_OK)
			st = xd_blob_read(blob, len, &t);
		free(blob);
	}
	if (st != XD_OK)
		corrupt(v->version_id, psprintf("tensor \"%s\": %s", name, xd_status_message(st)));
	PG_TRY();
	{
		apply_tensor(v, name, &t);
	}
	PG_FINALLY();
	{
		xd_tensor_free(&t);
	}
	PG_END_TRY();
}

/*
 * Reads version_id of model_id into v, whose memory context v->cxt must be
 * set; the core objects are freed when that context goes. SPI connected.
 */
void
xdpg_read_version(XdVersion *v, int64 model_id, int64 version_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2] = {Int64GetDatum(version_id), Int64GetDatum(model_id)};
	MemoryContextCallback *cb;
	MemoryContext old;
	xd_config	cfg;
	int32		n_users,
				n_items;
	double		rating_mean;
	xd_schema	schema;
	xd_status	st;
	int			ret;
	bool		isnull;
	Portal		portal;
	char	   *cur = NULL;
	List	   *chunks = NIL;

	v->version_id = version_id;
	v->model_id = model_id;
	cb = MemoryContextAllocZero(v->cxt, sizeof(MemoryContextCallback));
	cb->func = version_reset;
	cb->arg = v;
	MemoryContextRegisterResetCallback(v->cxt, cb);

	ret = SPI_execute_with_args(
								"SELECT domain, "
								" (encoder->'config'->>'d')::int, (encoder->'config'->>'context_layers')::int, "
								" (encoder->'config'->>'tower_layers')::int, encoder->'config'->>'variant', "
								" (encoder->'config'->>'mm_residual')::boolean, encoder->'config'->>'feedback', "
								" (encoder->'config'->>'batch_size')::int, (encoder->>'n_users')::int, "
								" (encoder->>'n_items')::int, (encoder->>'rating_mean')::float8, "
								" (encoder->>'split_seed')::numeric::text, encoder IS NOT NULL, "
								" method, pins_shared_version "
								"FROM xdrec.version WHERE id = $1 AND model_id = $2",
								2, types, vals, NULL, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		corrupt(version_id, "no such version");
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *txt;

		if (!DatumGetBool(SPI_getbinval(tup, td, 13, &isnull)))
			corrupt(version_id, "it has no encoder");
		old = MemoryContextSwitchTo(v->cxt);
		v->domain = SPI_getvalue(tup, td, 1);
		v->method = SPI_getvalue(tup, td, 14);
		MemoryContextSwitchTo(old);
		{
			Datum		pin = SPI_getbinval(tup, td, 15, &isnull);

			v->pins_shared_version = isnull ? 0 : DatumGetInt64(pin);
		}
		xd_config_defaults(&cfg);
		cfg.d = DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull));
		cfg.n_ctx_layers = DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
		cfg.n_tower_layers = DatumGetInt32(SPI_getbinval(tup, td, 4, &isnull));
		txt = SPI_getvalue(tup, td, 5);
		cfg.variant = (txt && strcmp(txt, "fmt") == 0) ? XD_VARIANT_FMT : XD_VARIANT_MMT;
		cfg.mm_residual = DatumGetBool(SPI_getbinval(tup, td, 6, &isnull));
		txt = SPI_getvalue(tup, td, 7);
		v->explicit_fb = txt && strcmp(txt, "explicit") == 0;
		cfg.feedback = v->explicit_fb ? XD_EXPLICIT : XD_IMPLICIT;
		cfg.batch_size = DatumGetInt32(SPI_getbinval(tup, td, 8, &isnull));
		n_users = DatumGetInt32(SPI_getbinval(tup, td, 9, &isnull));
		n_items = DatumGetInt32(SPI_getbinval(tup, td, 10, &isnull));
		rating_mean = DatumGetFloat8(SPI_getbinval(tup, td, 11, &isnull));
		txt = SPI_getvalue(tup, td, 12);
		v->seed = txt ? strtoull(txt, NULL, 10) : 42;
		cfg.dropout = 0.0f;
	}

	/* the features and their frozen vocabularies */
	ret = SPI_execute_with_args(
								"SELECT f->>'name', f->>'type', f->>'kind', f->>'scope', "
								" coalesce((f->>'bins')::int, 0), "
								" ARRAY(SELECT jsonb_array_elements_text(coalesce(f->'vocab', '[]'))) "
								"FROM xdrec.version v, "
								" jsonb_array_elements(v.encoder->'schema'->'features') WITH ORDINALITY AS x(f, i) "
								"WHERE v.id = $1 ORDER BY x.i",
								1, types, vals, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		corrupt(version_id, "its features cannot be read");
	old = MemoryContextSwitchTo(v->cxt);
	v->n_features = (int) SPI_processed;
	v->features = palloc0(sizeof(XdFeatureDef) * Max(v->n_features, 1));
	for (int i = 0; i < v->n_features; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		XdFeatureDef *f = &v->features[i];
		char	   *type = SPI_getvalue(tup, td, 2),
				   *kind = SPI_getvalue(tup, td, 3),
				   *scope = SPI_getvalue(tup, td, 4);
		Datum		arr = SPI_getbinval(tup, td, 6, &isnull);

		f->name = SPI_getvalue(tup, td, 1);
		f->type = strcmp(type, "numeric") == 0 ? XDPG_NUMERIC :
			strcmp(type, "categorical") == 0 ? XDPG_CATEGORICAL : XDPG_BOOLEAN;
		f->kind = strcmp(kind, "interactional") == 0 ? XD_KIND_INTERACTIONAL :
			strcmp(kind, "historical") == 0 ? XD_KIND_HISTORICAL : XD_KIND_ATTRIBUTIONAL;
		f->scope = strcmp(scope, "interaction") == 0 ? XD_SCOPE_INTERACTION :
			strcmp(scope, "user") == 0 ? XD_SCOPE_USER : XD_SCOPE_ITEM;
		f->bins = DatumGetInt32(SPI_getbinval(tup, td, 5, &isnull));
		if (f->scope == XD_SCOPE_ITEM)
			v->has_item_scope = true;
		if (f->type == XDPG_CATEGORICAL)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &n);
			f->n_vocab = n;
			f->vocab = palloc(sizeof(char *) * Max(n, 1));
			for (int k = 0; k < n; k++)
				f->vocab[k] = TextDatumGetCString(elems[k]);
			xdpg_vocab_index(f);
		}
	}
	MemoryContextSwitchTo(old);

	xdpg_schema(v->features, v->n_features, &schema);
	st = xd_encoder_init(&v->enc, &schema, n_users, n_items);
	xd_schema_free(&schema);
	xdpg_check_status(st, "reading the encoder");
	cfg.m = v->enc.schema.m;
	cfg.m_I = v->enc.schema.m_I;
	cfg.m_H = v->enc.schema.m_H;
	cfg.m_A = v->enc.schema.m_A;
	if (xd_config_check(&cfg) != XD_OK)
		corrupt(version_id, "its config is invalid");
	{
		xd_rng		rng;

		xd_rng_seed(&rng, 1);
		st = xd_model_create(&cfg, n_users, n_items, (float) rating_mean, &rng, &v->model);
		xdpg_check_status(st, "reading the model");
	}
	/* a DRR target: its residuals join the model before the tensors land */
	if (strcmp(v->method, "drr") == 0)
	{
		st = xd_adapt_new(&cfg, &v->adapt);
		xdpg_check_status(st, "reading the residuals");
		st = xd_model_set_adapt(v->model, v->adapt);
		xdpg_check_status(st, "reading the residuals");
	}
	if (v->want_encoders)
	{
		st = xd_encoders_new(&cfg, XD_ENC_HIDDEN, XD_ENC_LATENT, &v->encoders);
		xdpg_check_status(st, "reading the encoders");
	}

	/*
	 * The tensors, chunk by chunk. A target adapted by Direct or DRR stores no
	 * modules: M1, M3 and M4 ("ctx.", "clu.", "rank.") come from the source
	 * version it pins (DESIGN section 1), whatever the source serves now.
	 */
	{
		Oid			wtypes[2] = {INT8OID, INT8OID};
		Datum		wvals[2];
		bool		borrow = v->pins_shared_version > 0 &&
			(strcmp(v->method, "drr") == 0 || strcmp(v->method, "direct") == 0);

		wvals[0] = Int64GetDatum(version_id);
		wvals[1] = Int64GetDatum(borrow ? v->pins_shared_version : 0);
		portal = SPI_cursor_open_with_args(NULL,
										   "SELECT tensor, chunk, data FROM xdrec.weight "
										   "WHERE version_id = $1 "
										   "UNION ALL "
										   "SELECT tensor, chunk, data FROM xdrec.weight "
										   "WHERE version_id = $2 AND (tensor LIKE 'ctx.%' "
										   " OR tensor LIKE 'clu.%' OR tensor LIKE 'rank.%') "
										   "ORDER BY tensor, chunk",
										   2, wtypes, wvals, NULL, true, 0);
	}
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 8);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			char	   *name = SPI_getvalue(tup, td, 1);
			Datum		d = SPI_getbinval(tup, td, 3, &isnull);

			if (cur && strcmp(cur, name) != 0)
			{
				finish_tensor(v, cur, chunks);
				chunks = NIL;
			}
			cur = name;
			chunks = lappend(chunks, PG_DETOAST_DATUM_COPY(d));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	if (cur)
		finish_tensor(v, cur, chunks);
	SPI_cursor_close(portal);
	if (v->encoders && v->n_encoder_tensors == 0)
	{
		/* a version stored without encoders */
		xd_encoders_free(v->encoders);
		v->encoders = NULL;
	}

	/* the key maps */
	old = MemoryContextSwitchTo(v->cxt);
	v->users.is_int = v->items.is_int = false;
	MemoryContextSwitchTo(old);
	ret = SPI_execute_with_args("SELECT kind, keys, (SELECT user_type IN ('bigint', 'integer', 'smallint') FROM xdrec.model WHERE id = $2), "
								" (SELECT item_type IN ('bigint', 'integer', 'smallint') FROM xdrec.model WHERE id = $2) "
								"FROM xdrec.key_map WHERE version_id = $1 ORDER BY kind, chunk",
								2, types, vals, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		corrupt(version_id, "its key maps cannot be read");
	old = MemoryContextSwitchTo(v->cxt);
	v->users.ints = palloc_extended(sizeof(int64) * Max(n_users, 1), MCXT_ALLOC_HUGE);
	v->users.texts = palloc_extended(sizeof(char *) * Max(n_users, 1), MCXT_ALLOC_HUGE);
	v->items.ints = palloc_extended(sizeof(int64) * Max(n_items, 1), MCXT_ALLOC_HUGE);
	v->items.texts = palloc_extended(sizeof(char *) * Max(n_items, 1), MCXT_ALLOC_HUGE);
	v->users.n = v->items.n = 0;
	v->users.n_keys = v->items.n_keys = 0;
	v->users.ids = v->items.ids = NULL;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *kind = SPI_getvalue(tup, td, 1);
		XdKeyMap   *km = strcmp(kind, "user") == 0 ? &v->users : &v->items;
		int32		cap = km == &v->users ? n_users : n_items;
		bool		is_int = DatumGetBool(SPI_getbinval(tup, td, km == &v->users ? 3 : 4, &isnull));
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		km->is_int = is_int;
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 2, &isnull)), TEXTOID, -1,
						  false, TYPALIGN_INT, &elems, &nulls, &n);
		if (km->n + n > cap)
			corrupt(version_id, "its key maps are longer than its embeddings");
		for (int k = 0; k < n; k++)
		{
			char	   *s;

			if (nulls[k])
			{
				/* a forgotten user (forget_fn.c): the id stays, the key is gone */
				if (km != &v->users)
					corrupt(version_id, "its item key map has a null key");
				if (!km->ids)
				{
					km->ids = palloc_extended(sizeof(int32) * Max(cap, 1), MCXT_ALLOC_HUGE);
					for (int32 i = 0; i < km->n_keys; i++)
						km->ids[i] = i;
				}
				km->n++;
				continue;
			}
			s = TextDatumGetCString(elems[k]);
			if (km->ids)
				km->ids[km->n_keys] = km->n;
			if (is_int)
				km->ints[km->n_keys++] = pg_strtoint64(s);
			else
				km->texts[km->n_keys++] = s;
			km->n++;
		}
	}
	MemoryContextSwitchTo(old);
	if (v->users.n != n_users || v->items.n != n_items)
		corrupt(version_id, "its key maps do not match its embeddings");

	/* each user's training items */
	ret = SPI_execute_with_args("SELECT counts, items FROM xdrec.seen WHERE version_id = $1 ORDER BY chunk",
								1, types, vals, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		corrupt(version_id, "its seen items cannot be read");
	old = MemoryContextSwitchTo(v->cxt);
	v->seen_off = palloc_extended(sizeof(int64) * (n_users + 1), MCXT_ALLOC_HUGE);
	v->seen_off[0] = 0;
	{
		int32		u = 0;
		int64		total = 0;
		List	   *parts = NIL;

		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			ArrayType  *cnt = DatumGetArrayTypePCopy(SPI_getbinval(tup, td, 1, &isnull));
			ArrayType  *its = DatumGetArrayTypePCopy(SPI_getbinval(tup, td, 2, &isnull));
			int			nc = ArrayGetNItems(ARR_NDIM(cnt), ARR_DIMS(cnt));
			int32	   *c = (int32 *) ARR_DATA_PTR(cnt);

			for (int k = 0; k < nc; k++)
			{
				if (u >= n_users)
					corrupt(version_id, "its seen items list more users than it has");
				total += c[k];
				v->seen_off[++u] = total;
			}
			parts = lappend(parts, its);
		}
		if (u != n_users)
			corrupt(version_id, "its seen items do not cover every user");
		v->seen_items = palloc_extended(sizeof(int32) * Max(total, 1), MCXT_ALLOC_HUGE);
		{
			int64		pos = 0;
			ListCell   *lc;

			foreach(lc, parts)
			{
				ArrayType  *its = (ArrayType *) lfirst(lc);
				int			ni = ArrayGetNItems(ARR_NDIM(its), ARR_DIMS(its));

				if (pos + ni > total)
					corrupt(version_id, "its seen items do not add up");
				memcpy(v->seen_items + pos, ARR_DATA_PTR(its), sizeof(int32) * ni);
				pos += ni;
				pfree(its);
			}
			if (pos != total)
				corrupt(version_id, "its seen items do not add up");
		}
	}
	MemoryContextSwitchTo(old);
}

/* --------------------------------------------------------------- forgetting */

/*
 * Sets row `row` of tensor `tensor` of version_id to value and rewrites the
 * chunks that changed (the one holding the row, and chunk 0, whose header
 * holds the checksum). A tensor the version does not store (bias.user of an
 * implicit model) is left alone.
 */
static void
fill_tensor_row(int64 version_id, const char *tensor, int32 row, float value)
{
	Oid			types[4] = {INT8OID, TEXTOID, INT4OID, BYTEAOID};
	Datum		vals[4] = {Int64GetDatum(version_id), CStringGetTextDatum(tensor)};
	int			n;
	bytea	  **old;
	const uint8_t **ptrs;
	size_t	   *lens;
	uint8_t    *blob = NULL;
	size_t		len;
	xd_status	st;

	if (SPI_execute_with_args("SELECT data FROM xdrec.weight WHERE version_id = $1 AND tensor = $2 "
							  "ORDER BY chunk", 2, types, vals, NULL, false, 0) != SPI_OK_SELECT)
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
			if (SPI_execute_with_args("UPDATE xdrec.weight SET data = $4 "
									  "WHERE version_id = $1 AND tensor = $2 AND chunk = $3",
									  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE ||
				SPI_processed != 1)
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
 * version_id: the key becomes NULL in the key map, so every other user keeps
 * their dense id; their seen items go; their rows of the per-user tensors
 * become those of a user never seen (embedding and bias 0, profile missing).
 * Bumps the version's forgotten_users, which the ranking cache checks.
 * Returns false, changing nothing, when the version does not know the key.
 * SPI connected, as a role that may write the version.
 */
bool
xdpg_forget_in_version(int64 version_id, const char *user_key)
{
	static const struct
	{
		const char *tensor;
		float		never_seen;
	}			per_user[] =
	{
		{"emb.user", 0.0f},
		{"bias.user", 0.0f},
		{"enc.user_num", XD_MISSING_NUM},
		{"enc.user_codes", (float) XD_MISSING_CODE},
	};
	Oid			types[5] = {INT8OID, TEXTOID, INT4OID, INT4OID, INT4OID};
	Datum		vals[5] = {Int64GetDatum(version_id), CStringGetTextDatum(user_key)};
	int32		key_chunk,
				pos,
				user;
	bool		isnull;

	if (SPI_execute_with_args("SELECT chunk, pg_catalog.array_position(keys, $2) FROM xdrec.key_map "
							  "WHERE version_id = $1 AND kind = 'user' AND $2 = ANY (keys)",
							  2, types, vals, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the user keys of version " INT64_FORMAT " failed", version_id);
	if (SPI_processed == 0)
		return false;
	key_chunk = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pos = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	user = key_chunk * XDPG_KEYS_PER_CHUNK + pos - 1;	/* write_keys' layout */

	vals[2] = Int32GetDatum(key_chunk);
	vals[3] = Int32GetDatum(pos);
	if (SPI_execute_with_args("UPDATE xdrec.key_map SET keys[$4] = NULL "
							  "WHERE version_id = $1 AND kind = 'user' AND chunk = $3 AND keys[$4] = $2",
							  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "xdrec: removing a user key from version " INT64_FORMAT " failed", version_id);

	/* the seen items: user % 65536 of chunk user / 65536 (write_seen's layout) */
	vals[2] = Int32GetDatum(user / XDPG_SEEN_USERS_PER_CHUNK);
	vals[3] = Int32GetDatum(user % XDPG_SEEN_USERS_PER_CHUNK + 1);
	if (SPI_execute_with_args("UPDATE xdrec.seen SET counts[$4] = 0, "
							  " items = items[1:(SELECT coalesce(pg_catalog.sum(c), 0) FROM pg_catalog.unnest(counts[1:$4 - 1]) c)] "
							  "  || items[(SELECT pg_catalog.sum(c) FROM pg_catalog.unnest(counts[1:$4]) c) + 1:] "
							  "WHERE version_id = $1 AND chunk = $3 AND pg_catalog.cardinality(counts) >= $4",
							  4, types, vals, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		corrupt(version_id, "its seen items do not cover every user");

	for (int i = 0; i < lengthof(per_user); i++)
		fill_tensor_row(version_id, per_user[i].tensor, user, per_user[i].never_seen);

	if (SPI_execute_with_args("UPDATE xdrec.version SET forgotten_users = forgotten_users + 1 WHERE id = $1",
							  1, types, vals, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "xdrec: recording a forgotten user in version " INT64_FORMAT " failed", version_id);
	return true;
}
