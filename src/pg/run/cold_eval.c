/*
 * cold_eval.c - xdrec.evaluate's protocol 'cold' (docs/cold-start.md): the
 * users option cold_holdout left out of a version's training (a seeded hash
 * of the user key, relation.c's xdpg_holdout_sql, recorded in the version's
 * encoder) are read from the relation as the caller, each user's rows in
 * arrival order (time_col, else the order the docs state), and the core's
 * cold protocol (xdrec/coldeval.h) ranks each from its first K rows against
 * every item and tests it on its later ones, beside the heuristics, with the
 * version's cold-start module. Nothing is retrained: the held-out users were
 * never in the version, so the protocol costs one read and the ranking.
 *
 * Also the two steps every evaluation of a version takes on its reread rows
 * (the version's frozen vocabularies, its normalisation and profiles).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "run/cold_fit.h"

/* the version's frozen vocabularies in md, so codes mean what they meant */
void
xdpg_eval_use_vocabularies(XdModelDef *md, const XdVersion *v)
{
	for (int i = 0; i < md->n_features; i++)
	{
		md->features[i].n_vocab = v->features[i].n_vocab;
		md->features[i].vocab = v->features[i].vocab;
		md->features[i].sorted = v->features[i].sorted;
		md->features[i].bins = v->features[i].bins;
	}
}

/* ds encoded with v's normalisation and profiles (ds read through v's key maps) */
void
xdpg_eval_use_encoding(xd_dataset *ds, const XdVersion *v)
{
	const xd_schema *sc = &ds->enc.schema;

	if (sc->n_num != v->enc.schema.n_num || sc->n_edges != v->enc.schema.n_edges ||
		ds->n_users != v->enc.n_users || ds->n_items != v->enc.n_items)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the encoder of version " INT64_FORMAT " does not match its model", v->version_id)));
	memcpy(ds->enc.num_min, v->enc.num_min, sizeof(float) * sc->n_num);
	memcpy(ds->enc.num_max, v->enc.num_max, sizeof(float) * sc->n_num);
	memcpy(ds->enc.bin_edges, v->enc.bin_edges, sizeof(float) * sc->n_edges);
	memcpy(ds->enc.user_num, v->enc.user_num, sizeof(float) * (size_t) ds->n_users * sc->n_user_num);
	memcpy(ds->enc.user_codes, v->enc.user_codes, sizeof(int32) * (size_t) ds->n_users * sc->n_user_codes);
	memcpy(ds->enc.item_num, v->enc.item_num, sizeof(float) * (size_t) ds->n_items * sc->n_item_num);
	memcpy(ds->enc.item_codes, v->enc.item_codes, sizeof(int32) * (size_t) ds->n_items * sc->n_item_codes);
}

/*
 * The held-out share, its seed and the time column v was trained with (its
 * encoder), whatever the model's options say now; false when it held no
 * user out. Catalog contents are input: a share or seed training could not
 * have written is XX001, as version_read.c words it.
 */
static bool
version_holdout(const XdVersion *v, const char *name, double *share, int64 *seed, char **time_col)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(v->version_id)};
	char	   *sh,
			   *sd,
			   *end_sh = NULL,
			   *end_sd = NULL;

	if (SPI_execute_with_args("SELECT encoder OPERATOR(pg_catalog.->>) 'cold_holdout', "
							  "encoder OPERATOR(pg_catalog.->>) 'cold_holdout_seed', "
							  "encoder OPERATOR(pg_catalog.->>) 'time_col' FROM xdrec.version "
							  "WHERE id OPERATOR(pg_catalog.=) $1",
							  1, types, vals, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return false;
	sh = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	sd = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*time_col = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (sh == NULL && sd == NULL)
		return false;
	errno = 0;
	*share = sh ? strtod(sh, &end_sh) : 0.0;
	*seed = sd ? strtoll(sd, &end_sd, 10) : 0;
	if (sh == NULL || sd == NULL || errno != 0 || end_sh == sh || *end_sh != '\0' ||
		end_sd == sd || *end_sd != '\0' || !(*share > 0 && *share <= 0.5))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) is corrupt: its encoder records cold_holdout %s and cold_holdout_seed %s, not a share in (0, 0.5] and an integer",
						v->version_id, name, v->domain, sh ? sh : "null", sd ? sd : "null"),
				 errhint("Its rows in the xdrec catalog were changed outside xdrec or damaged. "
						 "Serve another version (xdrec.rollback) or train the domain again.")));
	return true;
}

/*
 * The held-out users' rows of the domain, user by user (text order of the
 * key), each user's in arrival order: time_col, then item key and feature
 * values, so the first K rows are the same on every machine.
 */
static char *
holdout_rows_sql(XdModelDef *md, double share, int64 seed)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s)::pg_catalog.text COLLATE \"C\", (%s)::%s, NULL::pg_catalog.float8",
					 quote_identifier(md->user_col), quote_identifier(md->item_col),
					 md->item_int ? "pg_catalog.int8" : "pg_catalog.text COLLATE \"C\"");
	for (int i = 0; i < md->n_features; i++)
		appendStringInfo(&sql, ", %s%s", xdpg_feature_sql(&md->features[i]),
						 md->features[i].type == XDPG_CATEGORICAL ? " COLLATE \"C\"" : "");
	/* $3: the users forgotten from the domain, read as the owner (xdpg_forgotten_of) */
	appendStringInfo(&sql, " FROM %s AS %s WHERE %s%s AND %s AND (%s)::pg_catalog.text "
					 "OPERATOR(pg_catalog.<>) ALL ($3::pg_catalog.text[]) ORDER BY 1, ",
					 md->relation, quote_identifier(md->alias), xdpg_where_domain(md),
					 xdpg_usable_rows_sql(md), xdpg_holdout_sql(md, share, seed),
					 quote_identifier(md->user_col));
	if (md->time_col)
		appendStringInfo(&sql, "%s.%s NULLS FIRST, ", quote_identifier(md->alias),
						 quote_identifier(md->time_col));
	appendStringInfoString(&sql, "2");
	for (int i = 0; i < md->n_features; i++)
		appendStringInfo(&sql, ", %d", 4 + i);
	return sql.data;
}

/*
 * Runs the protocol on domain's served version into res; *n_read is the
 * held-out users read (those with more than the largest K rows are
 * evaluated: res->n_cold_users).
 */
void
xdpg_cold_evaluate(XdServed *s, const char *name, const char *domain, int seed,
				   xd_coldeval_result *res, int64 *n_read)
{
	XdVersion  *v = xdpg_version_for_domain(s, name, domain);
	XdModelDef *md;
	XdGuard    *guard = xdpg_guard();
	XdLoadCounts counts;
	xd_dataset *ds;
	const xd_schema *sc;
	XdSpan		span;
	double		share;
	int64		hseed;
	char	   *time_col;
	Oid			types[3] = {TEXTOID, INT8OID, TEXTARRAYOID};
	Datum		vals[3];
	xd_holdout	h;
	xd_coldeval_opts o;
	int64		cap,
				n_rows = 0;
	char	   *prev = NULL;

	if (v->explicit_fb)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("protocol 'cold' ranks items, so it measures implicit-feedback models only"),
				 errhint("Model \"%s\" learns ratings: use protocol 'sampled' or 'full'.", name)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "use");
	if (!version_holdout(v, name, &share, &hseed, &time_col))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) was trained on every user, so protocol 'cold' has no held-out user to rank",
						v->version_id, name, domain),
				 errhint("Hold a share of the users out and train again: SELECT xdrec.alter_model('%s', options => '{\"cold_holdout\": 0.1}'); SELECT xdrec.train('%s');",
						 name, name)));
	md->time_col = time_col;
	xdpg_check_features_unchanged(md, v->version_id);
	xdpg_check_version_features(md, v);
	xdpg_eval_use_vocabularies(md, v);

	/*
	 * xdrec.forgotten shows its rows to 'train' only, and the rows below are
	 * read as a caller who may hold 'use' only: the held-out users forgotten
	 * from the domain are read as the owner first.
	 */
	vals[2] = xdpg_forgotten_of(md->id, domain, NULL);
	xdpg_user_begin(&span);
	/* the training rows: the heuristics' counts (held-out users' rows are not known) */
	md->caller_reads = true;
	ds = xdpg_load_domain(md, v->domain, &v->users, &v->items, guard, &counts);
	vals[0] = CStringGetTextDatum(domain);
	vals[1] = Int64GetDatum(md->id);
	xdpg_refuse_foreign_sql(md, holdout_rows_sql(md, share, hseed), 3, types,
							"the held-out users' rows");
	if (SPI_execute_with_args(holdout_rows_sql(md, share, hseed), 3, types, vals, NULL, true, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the held-out users of domain %s failed", domain);
	xdpg_span_end(&span);
	if (counts.rows_used == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("domain %s of model \"%s\" has no training rows left to evaluate against", domain, name)));
	xdpg_eval_use_encoding(ds, v);

	/* the held-out rows in raw form, user by user; unknown items left out */
	sc = &ds->enc.schema;
	cap = (int64) SPI_processed;
	memset(&h, 0, sizeof(h));
	h.off = palloc(sizeof(int64) * (cap + 1));
	h.items = palloc(sizeof(int32) * Max(cap, 1));
	h.num = palloc(sizeof(float) * Max(cap * sc->n_num, 1));
	h.codes = palloc(sizeof(int32) * Max(cap * sc->n_codes, 1));
	h.off[0] = 0;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *user = SPI_getvalue(tup, td, 1);
		bool		isnull;
		Datum		d = SPI_getbinval(tup, td, 2, &isnull);
		int32		item;

		item = md->item_int ? xdpg_key_find_int(&v->items, DatumGetInt64(d))
			: xdpg_key_find(&v->items, xdpg_key_normalise(md->item_type, TextDatumGetCString(d)));
		if (item < 0 ||
			!xdpg_row_values(v->features, v->n_features, sc, tup, td, 4,
							 h.num + n_rows * sc->n_num, h.codes + n_rows * sc->n_codes))
			continue;
		if (prev == NULL || strcmp(prev, user) != 0)
		{
			h.off[h.n_users] = n_rows;
			h.n_users++;
			prev = user;
		}
		h.items[n_rows++] = item;
	}
	h.off[h.n_users] = n_rows;
	h.warm = palloc(sizeof(int32) * Max(h.n_users, 1));
	h.warm_rows = palloc0(sizeof(int32) * Max(h.n_users, 1));
	for (int32 u = 0; u < h.n_users; u++)
		h.warm[u] = -1;			/* no warm comparison: every one is cold */
	*n_read = h.n_users;

	xd_coldeval_opts_default(&o);
	o.seed = (uint64) seed;
	o.hooks.stop = xdpg_stop;
	xdpg_check_status(xd_coldeval_run(v->model, v->cold, ds, &h, &o, res), "evaluating cold users");
	SPI_finish();
	xd_dataset_free(guard->ds);
	guard->ds = NULL;
	if (guard->has_schema)
	{
		xd_schema_free(&guard->schema);
		guard->has_schema = false;
	}
}
