/*
 * model_write.c - a model's definition written to the catalog, as the owner
 * (owner.c) once the caller's privilege is checked: its declared features,
 * by xdrec.create_model and xdrec.alter_model (fn/model_fn.c,
 * fn/lifecycle_fn.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"

#include "store/store.h"

/*
 * Writes model_id's features, as the owner, from a features argument that
 * xdrec_internal.check_features passed (create_model, alter_model): a
 * feature without "column" or "expression" reads the column of its name.
 */
void
xdpg_write_features(int64 model_id, Datum features)
{
	Oid			types[2] = {INT8OID, JSONBOID};
	Datum		vals[2] = {Int64GetDatum(model_id), features};

	xdpg_owner_execute("INSERT INTO xdrec.feature (model_id, position, name, column_name, expression, "
					   " kind, type, scope, options) "
					   "SELECT $1, f.i, f.e OPERATOR(pg_catalog.->>) 'name', "
					   " CASE WHEN f.e OPERATOR(pg_catalog.?) 'expression' THEN NULL "
					   "  ELSE coalesce(f.e OPERATOR(pg_catalog.->>) 'column', f.e OPERATOR(pg_catalog.->>) 'name') END, "
					   " f.e OPERATOR(pg_catalog.->>) 'expression', "
					   " f.e OPERATOR(pg_catalog.->>) 'kind', f.e OPERATOR(pg_catalog.->>) 'type', "
					   " coalesce(f.e OPERATOR(pg_catalog.->>) 'scope', 'interaction'), "
					   " coalesce(f.e OPERATOR(pg_catalog.->) 'options', '{}') "
					   "FROM pg_catalog.jsonb_array_elements($2) WITH ORDINALITY AS f(e, i)",
					   2, types, vals, NULL, SPI_OK_INSERT);
}
