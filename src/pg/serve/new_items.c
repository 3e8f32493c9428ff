/*
 * new_items.c - candidates that arrived after training (issue 19,
 * docs/cold-start.md#new-items): an item in the model's relation that the
 * served version has no embedding for is ranked from its item-scoped
 * features when the model has any. Its profile (the mean of each numeric
 * or boolean item-scoped feature over its rows in the domain, the most
 * frequent value of each categorical one: DESIGN section 2's profile) is
 * read from the relation as the caller, like a cold user's rows; the
 * version's ridge map (serve.h, xd_item_map) turns it into an embedding,
 * and the frozen model scores it as a trained item, with no item bias.
 *
 * The map is a function of the trained item embeddings and the stored item
 * profiles alone, so it is fit when a cached version first meets a new
 * item (one pass over its items, a Cholesky of the item-scoped width) and
 * kept with it; nothing new is stored with the version.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "serve/serve.h"

/* the map's ridge: small against the item count, so the map fits closely */
#define XDPG_ITEM_MAP_LAMBDA 1.0

/* v's map, fit on first use; NULL when v has no item-scoped feature */
static const xd_item_map *
version_item_map(XdVersion *v)
{
	if (!v->has_item_scope)
		return NULL;
	if (v->item_map == NULL)
	{
		xd_item_map *map = MemoryContextAllocZero(v->cxt, sizeof(xd_item_map));

		xdpg_check_status(xd_item_map_fit(v->model, &v->enc, XDPG_ITEM_MAP_LAMBDA, map),
						  "fitting the map of new items");
		v->item_map = map;
	}
	return v->item_map;
}

/*
 * The caller's query of the new items' profiles in v's domain: the key,
 * then one aggregate per item-scoped feature; $1 the domain, $2 the keys,
 * $3 the users forgotten from the domain (left out, as training leaves
 * them out; read as the owner, xdpg_forgotten_of). Every operator is pg_catalog's: it runs under the
 * caller's search_path.
 */
static char *
profile_sql(const XdModelDef *md, const XdVersion *v)
{
	StringInfoData sql;
	const char *alias = quote_identifier(md->alias);
	const char *key = md->item_int ? quote_identifier(md->item_col)
		: psprintf("(%s)::pg_catalog.text COLLATE \"C\"", quote_identifier(md->item_col));

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s)::%s", quote_identifier(md->item_col),
					 md->item_int ? "pg_catalog.int8" : "pg_catalog.text COLLATE \"C\"");
	/* the model's expressions (the version keeps types and vocabularies) */
	for (int i = 0; i < v->n_features; i++)
	{
		const XdFeatureDef *f = &md->features[i];
		char	   *e = xdpg_feature_sql(f);

		if (v->enc.schema.features[i].scope != XD_SCOPE_ITEM)
			continue;
		if (f->type == XDPG_CATEGORICAL)
			appendStringInfo(&sql, ", pg_catalog.mode() WITHIN GROUP (ORDER BY %s COLLATE \"C\")", e);
		else if (f->type == XDPG_BOOLEAN)
			appendStringInfo(&sql, ", (pg_catalog.avg((%s)::pg_catalog.int4))::pg_catalog.float8", e);
		else
			appendStringInfo(&sql, ", pg_catalog.avg(%s)", e);
	}
	/* joined to the keys, hashed when many: candidates can be thousands */
	appendStringInfo(&sql, " FROM %s AS %s JOIN pg_catalog.unnest($2) AS xdrec_new(k) "
					 "ON %s OPERATOR(pg_catalog.=) xdrec_new.k "
					 "WHERE (%s)::pg_catalog.text OPERATOR(pg_catalog.=) $1 "
					 "AND NOT ((%s.%s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[])) "
					 "GROUP BY 1 ORDER BY 1",
					 md->relation, alias, key, quote_identifier(md->domain_col),
					 alias, quote_identifier(md->user_col));
	return sql.data;
}

/*
 * The new items among keys[0..n_keys) (int8 or normalised text Datums, none
 * known to v) that have rows in v's domain, each in the call's encoded
 * context c with its own item-scoped features, with its mapped embedding.
 * Items with no row are not in it (the caller reports them). v must have
 * item-scoped features.
 */
void
xdpg_new_items(XdServed *s, XdVersion *v, const float *c, Datum *keys, int n_keys,
			   XdNewItems *out)
{
	XdModelDef *md = xdpg_served_model(s);
	const xd_item_map *map = version_item_map(v);
	const xd_schema *sch = &v->enc.schema;
	int			m = sch->m,
				d = v->model->cfg.d;
	Oid			types[3] = {TEXTOID, md->item_int ? INT8ARRAYOID : TEXTARRAYOID, TEXTARRAYOID};
	Datum		vals[3];
	float	   *num = palloc(sizeof(float) * Max(sch->n_num, 1));
	int32	   *codes = palloc(sizeof(int32) * Max(sch->n_codes, 1));
	XdSpan		span;
	SPITupleTable *tt;
	uint64		n_rows;

	Assert(map != NULL);
	xdpg_check_version_features(md, v);
	memset(out, 0, sizeof(*out));
	vals[0] = CStringGetTextDatum(v->domain);
	vals[1] = PointerGetDatum(construct_array(keys, n_keys, md->item_int ? INT8OID : TEXTOID,
											  md->item_int ? 8 : -1, md->item_int ? FLOAT8PASSBYVAL : false,
											  md->item_int ? TYPALIGN_DOUBLE : TYPALIGN_INT));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	vals[2] = xdpg_forgotten_of(md->id, v->domain, NULL);
	xdpg_user_begin(&span);
	xdpg_refuse_foreign_sql(md, profile_sql(md, v), 3, types, "the rows of new items");
	if (SPI_execute_with_args(profile_sql(md, v), 3, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the rows of new items failed");
	xdpg_span_end(&span);
	n_rows = SPI_processed;
	tt = SPI_tuptable;
	out->keys = SPI_palloc(sizeof(Datum) * Max(n_rows, 1));
	out->c = SPI_palloc(sizeof(float) * Max((Size) n_rows * m, 1));
	out->E = SPI_palloc(sizeof(float) * Max((Size) n_rows * d, 1));
	for (uint64 r = 0; r < n_rows; r++)
	{
		HeapTuple	tup = tt->vals[r];
		bool		isnull;
		Datum		key = SPI_getbinval(tup, tt->tupdesc, 1, &isnull);
		float	   *row = out->c + (Size) out->n * m;
		int			col = 2;

		if (isnull)
			continue;
		for (int i = 0; i < sch->n_num; i++)
			num[i] = NAN;
		for (int i = 0; i < sch->n_codes; i++)
			codes[i] = XD_MISSING_CODE;
		for (int i = 0; i < v->n_features; i++)
		{
			const xd_feature *xf = &sch->features[i];
			Datum		x;

			if (xf->scope != XD_SCOPE_ITEM)
				continue;
			x = SPI_getbinval(tup, tt->tupdesc, col++, &isnull);
			if (isnull)
				continue;		/* missing: encodes as 0 */
			if (v->features[i].type == XDPG_CATEGORICAL)
				codes[xf->raw] = xdpg_code_of(&v->features[i], TextDatumGetCString(x));
			else if (isfinite(DatumGetFloat8(x)) && fabs(DatumGetFloat8(x)) <= FLT_MAX)
				num[xf->raw] = (float) DatumGetFloat8(x);
		}
		memcpy(row, c, sizeof(float) * m);
		xd_encode_item_raw(&v->enc, num, codes, row);
		xd_item_map_embed(map, row, out->E + (Size) out->n * d);
		out->keys[out->n++] = md->item_int ? key
			: PointerGetDatum(SPI_datumTransfer(key, false, -1));
	}
	SPI_finish();
}

/*
 * Writes new item j's item-scoped blocks (its profile, as xdpg_new_items
 * encoded them) into row, an encoded context of v's schema; the other
 * blocks are left as they are: a support row's own context around its new
 * item (serve/cold_user.c).
 */
void
xdpg_new_item_place(const XdVersion *v, const XdNewItems *ni, int j, float *row)
{
	const xd_schema *sch = &v->enc.schema;
	const float *src = ni->c + (Size) j * sch->m;

	for (int f = 0; f < sch->n_features; f++)
		if (sch->features[f].scope == XD_SCOPE_ITEM)
			memcpy(row + sch->features[f].offset, src + sch->features[f].offset,
				   sizeof(float) * sch->features[f].width);
}
