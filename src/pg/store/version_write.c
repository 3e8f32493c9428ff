/*
 * version_write.c - a version written to the catalog (DESIGN section 7).
 *
 * A version is one row of xdrec.version (its config and encoder layout in
 * "encoder", its metrics in "metrics"), its tensors as chunked weight blobs in
 * xdrec.weight (model tensors by their core names, "ctx.W1", "emb.user", ...,
 * and the encoder's arrays as "feat.num_min", "feat.user_num", ...), its key
 * maps in xdrec.key_map and each user's training items in xdrec.seen. All of
 * it is written in the caller's transaction, once the caller's 'train'
 * privilege is checked, by the extension's owner (owner.c: no role writes
 * the catalog itself): a failing or cancelled run leaves nothing behind.
 * Serving it is served.c's; reading it back, and validating it,
 * version_read.c's; rewriting it when a user is forgotten, forget.c's.
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
#include "xdrec/biao.h"
#include "xdrec/cold.h"
#include "xdrec/fewshot.h"
#include "store/store.h"

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

/* The version's row; its id. In the owner span, "trained_by" given. */
static int64
insert_version_row(XdModelDef *md, const char *domain, const char *metrics_json,
				   const char *encoder_json, const XdVersionInfo *info, Datum trained_by)
{
	Oid			vtypes[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
	Datum		vvals[8];
	char		vnulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
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
	vvals[7] = trained_by;
	ret = SPI_execute_with_args("INSERT INTO xdrec.version (model_id, domain, kind, method, pins_shared_version, "
								" state, metrics, encoder, trained_by) "
								"VALUES ($1, $2, $5, $6, $7, 'ready', $3::pg_catalog.jsonb, $4::pg_catalog.jsonb, $8) RETURNING id",
								8, vtypes, vvals, vnulls, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "xdrec: writing the version failed: %s", SPI_result_code_string(ret));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The model's tensors, by the core's names: a target adapted by Direct or
 * DRR stores only its own (embeddings, biases, residuals); its modules are
 * the pinned source version's (DESIGN section 1). Then a source's
 * distributional encoders (DESIGN section 4), "enc.C.W1" ...
 */
static void
write_model_tensors(SPIPlanPtr wplan, int64 model_id, int64 version_id, xd_model *model,
					const XdVersionInfo *info)
{
	xd_param  **params;
	int			n_params;

	xd_model_params(model, &params, &n_params);
	for (int i = 0; i < n_params; i++)
	{
		uint64		shape[2] = {(uint64) params[i]->rows, (uint64) params[i]->cols};

		if (info->skip_shared && params[i]->group == XD_GROUP_SHARED)
			continue;
		write_tensor(wplan, model_id, version_id, params[i]->name, params[i]->w, 2, shape);
		CHECK_FOR_INTERRUPTS();
	}

	if (info->encoders)
		for (int k = 0; k < XD_N_ENC; k++)
		{
			const xd_dist_encoder *e = info->encoders->e[k];

			if (!e)
				continue;
			for (int j = 0; j < e->n_params; j++)
			{
				uint64		shape[2] = {(uint64) e->params[j].rows, (uint64) e->params[j].cols};

				write_tensor(wplan, model_id, version_id, e->params[j].name, e->params[j].w, 2, shape);
			}
			CHECK_FOR_INTERRUPTS();
		}

	/* the cold-start module (cold.h), "cold.enc.W1" ... */
	if (info->cold)
		for (int j = 0; j < info->cold->n_params; j++)
		{
			const xd_param *p = &info->cold->params[j];
			uint64		shape[2] = {(uint64) p->rows, (uint64) p->cols};

			write_tensor(wplan, model_id, version_id, p->name, p->w, 2, shape);
		}

	/* the few-shot meta-learner (fewshot.h), "fs.init.res.U.R" ... */
	if (info->fewshot)
		for (int j = 0; j < info->fewshot->n_params; j++)
		{
			const xd_param *p = &info->fewshot->params[j];
			uint64		shape[2] = {(uint64) p->rows, (uint64) p->cols};

			write_tensor(wplan, model_id, version_id, p->name, p->w, 2, shape);
		}

	/* BIAO's perceptron (biao.h), "biao.phi" */
	if (info->biao)
	{
		int			n_phi;
		float	   *phi = xd_biao_phi(info->biao, &n_phi);
		uint64		shape[2] = {1, (uint64) n_phi};

		write_tensor(wplan, model_id, version_id, "biao.phi", phi, 2, shape);
	}
}

/* The feature encoder's arrays: normalisation, bin edges, profiles. */
static void
write_encoder_arrays(SPIPlanPtr wplan, int64 model_id, int64 version_id, const xd_feature_encoder *enc)
{
	const xd_schema *s = &enc->schema;
	uint64		sh[2];
	float	   *f;

	sh[0] = (uint64) s->n_num;
	write_tensor(wplan, model_id, version_id, "feat.num_min", enc->num_min, 1, sh);
	write_tensor(wplan, model_id, version_id, "feat.num_max", enc->num_max, 1, sh);
	sh[0] = (uint64) s->n_edges;
	write_tensor(wplan, model_id, version_id, "feat.bin_edges", enc->bin_edges, 1, sh);
	sh[0] = (uint64) enc->n_users;
	sh[1] = (uint64) s->n_user_num;
	write_tensor(wplan, model_id, version_id, "feat.user_num", enc->user_num, 2, sh);
	sh[1] = (uint64) s->n_user_codes;
	f = codes_as_floats(enc->user_codes, (size_t) enc->n_users * s->n_user_codes);
	write_tensor(wplan, model_id, version_id, "feat.user_codes", f, 2, sh);
	pfree(f);
	sh[0] = (uint64) enc->n_items;
	sh[1] = (uint64) s->n_item_num;
	write_tensor(wplan, model_id, version_id, "feat.item_num", enc->item_num, 2, sh);
	sh[1] = (uint64) s->n_item_codes;
	f = codes_as_floats(enc->item_codes, (size_t) enc->n_items * s->n_item_codes);
	write_tensor(wplan, model_id, version_id, "feat.item_codes", f, 2, sh);
	pfree(f);
}

/*
 * Writes a new ready version of domain for md: the row, every tensor, the key
 * maps and the seen items. Returns its id. Nothing is served yet. The
 * current role must have 'train' on the model.
 */
int64
xdpg_write_version(XdModelDef *md, const char *domain, xd_model *model,
				   const xd_dataset *ds, const XdKeyMap *users, const XdKeyMap *items,
				   const char *metrics_json, const char *encoder_json,
				   const XdVersionInfo *info)
{
	Oid			wtypes[5] = {INT8OID, INT8OID, TEXTOID, INT4OID, BYTEAOID};
	SPIPlanPtr	wplan;
	int64		version_id;
	Datum		trained_by;
	XdSpan		span;

	xdpg_model_check_write(md->id, md->name, "train");
	trained_by = xdpg_current_role_name();	/* who trained it, before the span */
	xdpg_owner_begin(&span);
	version_id = insert_version_row(md, domain, metrics_json, encoder_json, info, trained_by);

	wplan = SPI_prepare("INSERT INTO xdrec.weight (model_id, version_id, tensor, chunk, data) "
						"VALUES ($1, $2, $3, $4, $5)", 5, wtypes);
	if (!wplan)
		elog(ERROR, "xdrec: preparing the weight insert failed");
	write_model_tensors(wplan, md->id, version_id, model, info);
	write_encoder_arrays(wplan, md->id, version_id, &ds->enc);
	SPI_freeplan(wplan);

	write_keys(md->id, version_id, "user", users);
	write_keys(md->id, version_id, "item", items);
	write_seen(md->id, version_id, ds);
	xdpg_span_end(&span);
	return version_id;
}
