/*
 * version_read.c - a stored version read back for the ranking cache and for
 * adaptation (DESIGN section 7): its row, its encoder's features and
 * vocabularies, its tensors (chunked weight blobs), key maps and seen items.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "xdrec/blob.h"
#include "xdrec_pg.h"
#include "store/store.h"

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
