/*
 * load.c - one domain's interactions, streamed through SPI cursors as the
 * calling role (SECURITY INVOKER: the caller's SELECT privilege and row-level
 * security apply), into the core's compact arrays (DESIGN sections 2 and 10).
 *
 * Keys map to dense ids by sorting them in the database: text keys in the
 * "C" collation, integers numerically, so ids and splits never depend on the
 * locale or the heap order. Rows with a NULL user or item (or rating, for
 * explicit feedback) and rows with NaN or infinite values are skipped and
 * counted; duplicates are kept unless the model's "dedup" option is on.
 * The categorical vocabularies are read here too, from the source domain's
 * rows, when the source is trained. Only loading lives here: key lookups are
 * keymap.c's, the SQL of the relation relation.c's.
 */
#include "postgres.h"

#include <ctype.h>
#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "data/data.h"

#define XDPG_FETCH 10000

/*
 * The split seed of a domain: the model's seed with an FNV-1a hash of the
 * domain key folded in, so the split is per (domain, user, item, context)
 * (DESIGN section 3) and the same on every machine.
 */
uint64
xdpg_split_seed(uint64 seed, const char *domain)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);

	for (const unsigned char *p = (const unsigned char *) domain; *p; p++)
	{
		h ^= *p;
		h *= UINT64CONST(0x100000001b3);
	}
	return seed ^ h;
}

/* The sorted distinct user (or item) keys of a domain's usable rows. */
void
xdpg_load_keys(XdModelDef *md, const char *domain, bool user, XdKeyMap *km)
{
	const char *col = quote_identifier(user ? md->user_col : md->item_col);
	bool		is_int = user ? md->user_int : md->item_int;
	char	   *sql;
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2] = {CStringGetTextDatum(domain), Int64GetDatum(md->id)};
	Portal		portal;
	int32		cap = 1024;
	size_t		bytes = 0,
				budget = (size_t) xdrec_train_memory * 1024;
	MemoryContext tmp;

	xdpg_check_relation(md);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "xdrec keys", ALLOCSET_DEFAULT_SIZES);
	/* option cold_holdout: those users are not trained, so their rows are not read */
	sql = psprintf("SELECT DISTINCT (%s)::%s%s FROM %s AS %s WHERE %s%s%s ORDER BY 1",
				   col, is_int ? "pg_catalog.int8" : "pg_catalog.text",
				   is_int ? "" : " COLLATE \"C\"",
				   md->relation, quote_identifier(md->alias), xdpg_where_domain(md),
				   xdpg_usable_rows_sql(md),
				   user && md->cold_holdout > 0
				   ? psprintf(" AND NOT %s", xdpg_holdout_sql(md, md->cold_holdout, md->cfg.seed)) : "");
	km->n = 0;
	km->is_int = is_int;
	km->ids = NULL;
	km->ints = NULL;
	km->texts = NULL;
	if (is_int)
		km->ints = SPI_palloc(sizeof(int64) * cap);
	else
		km->texts = SPI_palloc(sizeof(char *) * cap);

	portal = SPI_cursor_open_with_args(NULL, sql, 2, argtypes, args, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, XDPG_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);

			if (km->n >= INT32_MAX - 1)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("domain %s has more than %d distinct %s keys", domain, INT32_MAX - 1,
								user ? "user" : "item")));
			/* the keys alone must fit in the budget: stop before growing past it */
			if (bytes > budget)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("training data of domain %s exceeds xdrec.train_memory (%s)", domain,
								GetConfigOptionByName("xdrec.train_memory", NULL, false)),
						 errdetail("Its first %d %s keys alone take %zu bytes.", km->n,
								   user ? "user" : "item", bytes),
						 errhint("Raise xdrec.train_memory, e.g. SET xdrec.train_memory = '4GB'.")));
			if (km->n == cap)
			{
				cap *= 2;
				if (is_int)
					km->ints = repalloc_huge(km->ints, sizeof(int64) * cap);
				else
					km->texts = repalloc_huge(km->texts, sizeof(char *) * cap);
			}
			if (is_int)
			{
				km->ints[km->n++] = DatumGetInt64(d);
				bytes += sizeof(int64);
			}
			else
			{
				MemoryContext old = MemoryContextSwitchTo(tmp);
				char	   *s = TextDatumGetCString(d);
				size_t		len = strlen(s);
				char	   *out;

				MemoryContextSwitchTo(old);
				out = SPI_palloc(len + 1);
				memcpy(out, s, len + 1);
				km->texts[km->n++] = out;
				bytes += sizeof(char *) + len + 1;
				MemoryContextReset(tmp);
			}
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(tmp);
	km->n_keys = km->n;
}

/*
 * The vocabulary of every categorical feature: its most frequent values in
 * the (source) domain's rows, up to its cap, ties broken by value in "C"
 * order; everything else is "other" (DESIGN section 2). Frozen from here on.
 */
void
xdpg_build_vocabulary(XdModelDef *md, const char *domain)
{
	for (int i = 0; i < md->n_features; i++)
	{
		XdFeatureDef *f = &md->features[i];
		char	   *sql;
		Oid			argtypes[2] = {TEXTOID, INT8OID};
		Datum		args[2] = {CStringGetTextDatum(domain), Int64GetDatum(md->id)};
		int			ret;

		if (f->type != XDPG_CATEGORICAL)
			continue;
		sql = psprintf("SELECT v FROM (SELECT %s AS v FROM %s AS %s WHERE %s%s) s "
					   "WHERE v IS NOT NULL GROUP BY v "
					   "ORDER BY pg_catalog.count(*) DESC, v COLLATE \"C\" LIMIT %d",
					   xdpg_feature_sql(f), md->relation, quote_identifier(md->alias),
					   xdpg_where_domain(md), xdpg_usable_rows_sql(md), f->vocab_cap);
		ret = SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the values of feature \"%s\" failed", f->name);
		f->n_vocab = (int) SPI_processed;
		f->vocab = SPI_palloc(sizeof(char *) * Max(f->n_vocab, 1));
		for (int r = 0; r < f->n_vocab; r++)
			f->vocab[r] = xdpg_spi_text(r, 1);
		xdpg_vocab_index(f, SPI_palloc(sizeof(XdVocabEntry) * Max(f->n_vocab, 1)));
	}
}

/*
 * Refuses, before the core allocates them, n_models models (a fit that keeps
 * candidates holds several at once) whose embedding tables would not fit in
 * xdrec.train_memory next to the loaded data and the fit's validation caches
 * (caches bytes, xd_train_cache_bytes): each user and item row (d + 1 floats
 * with its bias) exists as weights, gradient, two Adam moments and the best
 * epoch's copy. The modules are small beside them.
 */
void
xdpg_check_model_memory(const char *domain, const xd_dataset *ds, const XdKeyMap *users,
						const XdKeyMap *items, int d, int n_models, size_t caches)
{
	size_t		budget = (size_t) xdrec_train_memory * 1024;
	size_t		model = (size_t) 5 * (size_t) n_models *
		((size_t) ds->n_users + (size_t) ds->n_items) * ((size_t) d + 1) * sizeof(float);
	size_t		data = ds->memory + xdpg_keymap_bytes(users) + xdpg_keymap_bytes(items);

	if (data + model + caches > budget)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("training model of domain %s would exceed xdrec.train_memory (%s)", domain,
						GetConfigOptionByName("xdrec.train_memory", NULL, false)),
				 errdetail("Its %d users and %d items at d = %d need about %zu bytes for embeddings and optimiser state (%d model(s) at once) and %zu bytes of validation caches, beside %zu bytes of data.",
						   (int) ds->n_users, (int) ds->n_items, d, model, n_models, caches, data),
				 errhint("Raise xdrec.train_memory, or use a smaller d (option \"d\").")));
}

/* The id of a row's key (column col of the current tuple), or -1 when unknown. */
static int32
row_key(const XdKeyMap *km, HeapTuple tup, TupleDesc td, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, td, col, isnull);

	if (*isnull)
		return -1;
	if (km->is_int)
		return xdpg_key_find_int(km, DatumGetInt64(d));
	{
		char	   *s = TextDatumGetCString(d);

		return xdpg_key_find(km, s);
	}
}

/* The columns load.c reads: user, item, rating, each feature, the time. */
#define XDPG_FIRST_FEATURE 4

/*
 * The feature values of one row read by xdpg_feature_sql's expressions (from
 * column first on) into a raw row (num, codes in the schema's layout; NULL
 * is missing). features give the types and the frozen vocabularies. False
 * when a numeric value is NaN or infinite: such a row is skipped (DESIGN
 * section 2).
 */
bool
xdpg_row_values(const XdFeatureDef *features, int n_features, const xd_schema *s,
				HeapTuple tup, TupleDesc td, int first, float *num, int32 *codes)
{
	bool		ok = true;

	for (int i = 0; i < n_features && ok; i++)
	{
		const XdFeatureDef *f = &features[i];
		const xd_feature *xf = &s->features[i];
		bool		isnull;
		Datum		d = SPI_getbinval(tup, td, first + i, &isnull);

		switch (f->type)
		{
			case XDPG_NUMERIC:
				if (isnull)
					num[xf->raw] = NAN;
				else
				{
					double		x = DatumGetFloat8(d);

					if (isnan(x) || fabs(x) > FLT_MAX)
						ok = false;
					num[xf->raw] = (float) x;
				}
				break;
			case XDPG_BOOLEAN:
				num[xf->raw] = isnull ? NAN : (DatumGetBool(d) ? 1.0f : 0.0f);
				break;
			case XDPG_CATEGORICAL:
				codes[xf->raw] = isnull ? XD_MISSING_CODE :
					xdpg_code_of(f, TextDatumGetCString(d));
				break;
		}
	}
	return ok;
}

/*
 * The query of the domain's rows of relation (the model's, or rows held out
 * from it, read by the same expressions); by_time: in the order of the
 * model's time_col (NULL first), ties by key in "C" order, so the split by
 * order is the same on every machine.
 */
static char *
rows_sql(XdModelDef *md, const char *relation, const char *alias, bool by_time)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s(%s)::%s, (%s)::%s, %s",
					 md->dedup ? "DISTINCT " : "",
					 quote_identifier(md->user_col), md->user_int ? "pg_catalog.int8" : "pg_catalog.text",
					 quote_identifier(md->item_col), md->item_int ? "pg_catalog.int8" : "pg_catalog.text",
					 md->rating_col ? psprintf("(%s)::pg_catalog.float8", quote_identifier(md->rating_col)) : "NULL::pg_catalog.float8");
	for (int i = 0; i < md->n_features; i++)
		appendStringInfo(&sql, ", %s", xdpg_feature_sql(&md->features[i]));
	if (by_time)
		appendStringInfo(&sql, ", %s", quote_identifier(md->time_col));
	appendStringInfo(&sql, " FROM %s AS %s WHERE %s", relation,
					 quote_identifier(alias), xdpg_where_domain(md));
	if (by_time)
		appendStringInfo(&sql, " ORDER BY %d NULLS FIRST, 1%s, 2%s", XDPG_FIRST_FEATURE + md->n_features,
						 md->user_int ? "" : " COLLATE \"C\"", md->item_int ? "" : " COLLATE \"C\"");
	return sql.data;
}

/*
 * One fetched row into ids (u, v), a rating and the raw values (num, codes
 * in the schema's raw layout); false, counted, when the row is skipped: a
 * NULL user, item or (explicit) rating, a NaN or infinite value, or a key
 * the maps do not know.
 */
static bool
read_row(const XdModelDef *md, const xd_schema *s, HeapTuple tup, TupleDesc td,
		 const XdKeyMap *users, const XdKeyMap *items, int32 *u, int32 *v, float *rating,
		 float *num, int32 *codes, XdLoadCounts *counts)
{
	bool		unull,
				inull,
				isnull,
				bad = false;

	counts->rows_read++;
	*u = row_key(users, tup, td, 1, &unull);
	*v = row_key(items, tup, td, 2, &inull);
	if (unull)
	{
		counts->null_user++;
		return false;
	}
	if (inull)
	{
		counts->null_item++;
		return false;
	}
	*rating = 0.0f;
	if (md->explicit_fb)
	{
		Datum		d = SPI_getbinval(tup, td, 3, &isnull);
		double		x;

		if (isnull)
		{
			counts->null_rating++;
			return false;
		}
		x = DatumGetFloat8(d);
		if (isnan(x) || fabs(x) > FLT_MAX)
		{
			counts->non_finite++;
			return false;
		}
		*rating = (float) x;
	}
	bad = !xdpg_row_values(md->features, md->n_features, s, tup, td, XDPG_FIRST_FEATURE,
						   num, codes);
	if (bad)
	{
		counts->non_finite++;
		return false;
	}
	/* after the value checks: a key whose every row is skipped has no id */
	if (*u < 0 || *v < 0)
	{
		counts->unknown_key++;
		return false;
	}
	return true;
}

/*
 * Appends the domain's usable rows of relation (rows_sql) to ds, counting
 * what it skips.
 */
static void
append_rows(XdModelDef *md, const char *relation, const char *alias, const char *domain,
			bool by_time, const XdKeyMap *users, const XdKeyMap *items, xd_dataset *ds,
			XdLoadCounts *counts)
{
	const xd_schema *s = &ds->enc.schema;
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2] = {CStringGetTextDatum(domain), Int64GetDatum(md->id)};
	Portal		portal;
	float	   *num = palloc(sizeof(float) * Max(s->n_num, 1));
	int32	   *codes = palloc(sizeof(int32) * Max(s->n_codes, 1));
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "xdrec rows", ALLOCSET_DEFAULT_SIZES);

	portal = SPI_cursor_open_with_args(NULL, rows_sql(md, relation, alias, by_time), 2, argtypes,
									   args, NULL, true, 0);
	for (;;)
	{
		MemoryContext old;

		SPI_cursor_fetch(portal, true, XDPG_FETCH);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(tmp);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			int32		u,
						v;
			float		rating;
			xd_status	st;

			if (!read_row(md, s, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, users, items,
						  &u, &v, &rating, num, codes, counts))
				continue;
			st = xd_dataset_append(ds, u, v, rating, num, codes);
			if (st == XD_ENOMEM)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("training data of domain %s exceeds xdrec.train_memory (%s)", domain,
								GetConfigOptionByName("xdrec.train_memory", NULL, false)),
						 errdetail("The limit was reached after " INT64_FORMAT " rows.", counts->rows_used),
						 errhint("Raise xdrec.train_memory, e.g. SET xdrec.train_memory = '4GB'.")));
			xdpg_check_status(st, "loading the training data");
			counts->rows_used++;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(tmp);
}

/*
 * Streams the domain's rows into a new dataset and finalizes it (split,
 * normalisation, profiles). users/items are the key maps to use; the
 * vocabularies of md's categorical features must be known. The dataset goes
 * into guard (freed on error); counts says what was read and skipped.
 */
xd_dataset *
xdpg_load_domain(XdModelDef *md, const char *domain, const XdKeyMap *users,
				 const XdKeyMap *items, XdGuard *guard, XdLoadCounts *counts)
{
	xd_schema  *s;
	xd_dataset *ds;
	xd_status	st;
	size_t		budget = (size_t) xdrec_train_memory * 1024;
	size_t		keys = xdpg_keymap_bytes(users) + xdpg_keymap_bytes(items);
	int			ret;

	memset(counts, 0, sizeof(*counts));
	xdpg_check_relation(md);
	if (md->caller_reads)
	{
		Oid			argtypes[2] = {TEXTOID, INT8OID};

		xdpg_refuse_foreign_sql(md, rows_sql(md, md->relation, md->alias, md->time_col != NULL),
								2, argtypes, "the rows");
		if (md->held_out)
			xdpg_refuse_foreign_sql(md, rows_sql(md, md->held_out, md->held_out_alias, false),
									2, argtypes, "the held-out rows");
	}

	/* rows without a domain belong to no domain: counted, never read */
	ret = SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s AS %s WHERE %s IS NULL",
							   md->relation, quote_identifier(md->alias),
							   quote_identifier(md->domain_col)), true, 0);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		counts->null_domain = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull));
	}

	if (!guard->has_schema)
	{
		xdpg_schema(md->features, md->n_features, &guard->schema);
		guard->has_schema = true;
	}
	s = &guard->schema;

	if (keys >= budget)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("training data of domain %s exceeds xdrec.train_memory (%s)", domain,
						GetConfigOptionByName("xdrec.train_memory", NULL, false)),
				 errdetail("Its user and item keys alone take %zu bytes.", keys),
				 errhint("Raise xdrec.train_memory, e.g. SET xdrec.train_memory = '4GB'.")));
	st = xd_dataset_create(s, users->n, items->n, md->explicit_fb ? 1 : 0, budget - keys, &ds);
	xdpg_check_status(st, "preparing the training data");
	guard->ds = ds;
	ds->stop = xdpg_stop;

	append_rows(md, md->relation, md->alias, domain, md->time_col != NULL, users, items, ds, counts);
	/* a domain served by popularity counts all its rows (adapt_run.c) */
	if (md->all_train)
		xd_dataset_split_by_order(ds, ds->n_rows, ds->n_rows);
	/* option time_col: the split is by time, the last 10% of the rows test */
	else if (md->time_col)
		xd_dataset_split_by_order(ds, ds->n_rows * 8 / 10, ds->n_rows * 9 / 10);
	if (md->held_out)
	{
		/* evaluation on rows the caller held out: they are the test split */
		xd_dataset_hold_out(ds);
		append_rows(md, md->held_out, md->held_out_alias, domain, false, users, items, ds, counts);
	}

	if (counts->rows_used == 0)
		return ds;				/* the caller reports an empty domain */
	st = xd_dataset_finalize(ds, xdpg_split_seed(md->cfg.seed, domain));
	if (st == XD_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("training data of domain %s exceeds xdrec.train_memory (%s)", domain,
						GetConfigOptionByName("xdrec.train_memory", NULL, false)),
				 errhint("Raise xdrec.train_memory, e.g. SET xdrec.train_memory = '4GB'.")));
	xdpg_check_status(st, "splitting the training data");
	return ds;
}
