/*
 * evaluate_fn.c - xdrec.evaluate(name, domain, protocol, seed, test, support): reloads
 * a served domain's rows through the version's key maps (rows whose user or
 * item the version does not know are left out, and a notice says how many),
 * splits them the same way training did, encodes them with the version's own
 * normalisation and profiles, and measures the test split (or the rows of
 * test, held out by the caller) by DESIGN section 5, for the served version
 * and, beside it, for the baselines of core/fit/baseline.c:
 *
 *   implicit   hit@1, hit@5, hit@10, ndcg@10, mrr under either protocol:
 *              'sampled' ranks each positive against 50 item and 50 context
 *              negatives, 'full' against every item of the domain (the
 *              user's training items left out); methods: the version's,
 *              'random' and 'popularity' (in context)
 *   explicit   rmse and mae; methods: the version's and 'mean'
 *
 * Every value comes with its standard error; excluded counts the positives
 * whose user or item has no training row. Fewer than 50 positives draw a
 * notice: differences that small a test set shows are mostly noise.
 * Protocol 'cold' (run/cold_eval.c) ranks held-out users from their first
 * rows; protocol 'fewshot' (support => N; run/adapt_run.c) adapts each
 * target from N of its rows and ranks the rest.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "xdrec/baseline.h"
#include "xdrec/metrics.h"
#include "run/cold_fit.h"
#include "serve/cold_user.h"

/* below this many test positives a notice says the metrics are noisy */
#define XDPG_EVAL_FEW 50

typedef struct EvalOut
{
	ReturnSetInfo *rsinfo;
	const char *domain;
	int64		excluded;
} EvalOut;

static void
put_row(EvalOut *out, const char *method, const char *metric, xd_metric_se m, int64 n)
{
	Datum		v[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	v[0] = CStringGetTextDatum(out->domain);
	v[1] = CStringGetTextDatum(method);
	v[2] = CStringGetTextDatum(metric);
	v[3] = Float8GetDatum(m.value);
	v[4] = Float8GetDatum(m.se);
	nulls[4] = !isfinite(m.se);
	v[5] = Int64GetDatum(n);
	v[6] = Int64GetDatum(out->excluded);
	tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, v, nulls);
}

/*
 * The time column a version's split followed (NULL: the hash split),
 * whatever the model's options say now.
 */
static char *
version_time_col(int64 version_id)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(version_id)};
	char	   *t = NULL;

	if (SPI_execute_with_args("SELECT encoder OPERATOR(pg_catalog.->>) 'time_col' FROM xdrec.version "
							  "WHERE id OPERATOR(pg_catalog.=) $1",
							  1, types, vals, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1 &&
		(t = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) != NULL)
	{
		char	   *copy = SPI_palloc(strlen(t) + 1);

		strcpy(copy, t);
		t = copy;
	}
	return t;
}

/* One scorer under the protocol: its rows, and the positives it ranked. */
static int64
evaluate_scorer(EvalOut *out, const xd_dataset *ds, bool explicit_fb, bool full, int seed,
				const char *method, xd_score_fn score, void *arg)
{
	xd_eval_opts eo;
	xd_status	st;
	double	   *each = NULL;
	int64		n;

	xd_eval_opts_default(&eo);
	eo.seed = (uint64) seed;
	eo.hooks.stop = xdpg_stop;
	eo.each = &each;
	if (explicit_fb)
	{
		xd_rating_metrics r;
		xd_metric_se rmse,
					mae;

		st = xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, score, arg, &r);
		if (st == XD_OK)
		{
			xd_rating_summary_of(each, r.n, &rmse, &mae);
			out->excluded = r.n_excluded;
			put_row(out, method, "rmse", rmse, r.n);
			put_row(out, method, "mae", mae, r.n);
		}
		n = r.n;
	}
	else
	{
		xd_rank_summary s;

		if (full)
		{
			xd_full_metrics f;

			st = xd_eval_full(ds, XD_SPLIT_TEST, 10, &eo, score, arg, &f);
			n = f.n;
			out->excluded = f.n_excluded;
		}
		else
		{
			xd_rank_metrics r;

			st = xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, score, arg, &r);
			n = r.n;
			out->excluded = r.n_excluded;
		}
		if (st == XD_OK)
		{
			xd_rank_summary_of(each, n, &s);
			put_row(out, method, "hit@1", s.hit1, n);
			put_row(out, method, "hit@5", s.hit5, n);
			put_row(out, method, "hit@10", s.hit10, n);
			put_row(out, method, "ndcg@10", s.ndcg10, n);
			put_row(out, method, "mrr", s.mrr, n);
		}
	}
	free(each);
	xdpg_check_status(st, "evaluating");
	return n;
}

/* Evaluates one served domain into rows. */
static void
evaluate_domain(ReturnSetInfo *rsinfo, XdServed *s, const char *name, const char *domain,
				bool full, int seed, Oid test)
{
	XdVersion  *v = xdpg_version_for_domain(s, name, domain);
	XdModelDef *md;
	XdGuard    *guard = xdpg_guard();
	XdLoadCounts counts;
	xd_dataset *ds;
	XdSpan		span;
	const char *method = v->method;
	EvalOut		out = {rsinfo, domain, 0};
	int64		n = -1,
				n_base;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "use");
	md->time_col = version_time_col(v->version_id);
	xdpg_check_features_unchanged(md, v->version_id);
	xdpg_check_version_features(md, v);
	xdpg_eval_use_vocabularies(md, v);
	if (OidIsValid(test))
	{
		const char *cols[4] = {md->user_col, md->item_col, md->domain_col, md->rating_col};

		md->held_out = quote_qualified_identifier(get_namespace_name(get_rel_namespace(test)),
												  get_rel_name(test));
		md->held_out_alias = get_rel_name(test);
		/* the rows are read as the model's are: its columns must be there */
		for (int i = 0; i < 4 + md->n_features; i++)
		{
			const char *col = i < 4 ? cols[i] : md->features[i - 4].column;

			if (col && get_attnum(test, col) == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("relation %s has no column \"%s\", which model \"%s\" reads",
								md->held_out, col, name),
						 errhint("Held-out rows need the columns of the model's relation, %s.", md->relation)));
		}
	}

	xdpg_user_begin(&span);
	md->caller_reads = true;
	ds = xdpg_load_domain(md, v->domain, &v->users, &v->items, guard, &counts);
	xdpg_span_end(&span);
	SPI_finish();

	if (counts.unknown_key > 0)
		ereport(NOTICE,
				(errmsg("domain %s: " INT64_FORMAT " rows have a user or item version " INT64_FORMAT " was not trained on, and are left out",
						domain, counts.unknown_key, v->version_id),
				 errhint("Train (or adapt) the domain again to include them.")));
	if (counts.rows_used == 0)
		return;

	/* encode with the served version's normalisation and profiles */
	xdpg_eval_use_encoding(ds, v);

	/*
	 * A domain served by popularity (adapt_run.c) has no model to measure:
	 * the "popularity" rows measure the heuristic that serves it (here in
	 * context, from the training split).
	 */
	if (!xdpg_version_popular(v))
		n = evaluate_scorer(&out, ds, v->explicit_fb, full, seed, method, xdpg_version_score, v);
	if (v->explicit_fb)
	{
		float		mean = (float) ds->rating_mean;

		n_base = evaluate_scorer(&out, ds, true, full, seed, "mean", xd_constant_score, &mean);
	}
	else
	{
		uint64		rseed = (uint64) seed;
		xd_status	st;

		evaluate_scorer(&out, ds, false, full, seed, "random", xd_random_score, &rseed);
		st = xd_popularity_fit(ds, &guard->popularity);
		xdpg_check_status(st, "counting popularity");
		n_base = evaluate_scorer(&out, ds, false, full, seed, "popularity", xd_popularity_score,
								 guard->popularity);
	}
	if (n < 0)
		n = n_base;
	if (n < XDPG_EVAL_FEW)
		ereport(NOTICE,
				(errmsg("domain %s has only " INT64_FORMAT " test positives: its metrics are noisy", domain, n),
				 errdetail("A difference smaller than about two standard errors (std_error) is noise."),
				 OidIsValid(test) ? 0 :
				 errhint("Hold out more rows and pass them as test => relation, or compare several seeds.")));
	xd_popularity_free(guard->popularity);
	guard->popularity = NULL;
	xd_dataset_free(guard->ds);
	guard->ds = NULL;
	if (guard->has_schema)
	{
		xd_schema_free(&guard->schema);
		guard->has_schema = false;
	}
}

/*
 * Protocol 'cold' on one domain (run/cold_eval.c): per K and method, method
 * 'cmml' the cold-start module, 'finetune' a few gradient steps on the
 * support, and the heuristics 'pop_domain', 'pop_context', 'support_first';
 * metrics 'hit@10', 'ndcg@10', 'mrr' named with their K ("hit@10 k=5"),
 * n the queries, excluded the held-out users with too few rows for the
 * largest K.
 */
static void
evaluate_cold_domain(ReturnSetInfo *rsinfo, XdServed *s, const char *name, const char *domain,
					 int seed)
{
	xd_coldeval_result res;
	int64		n_read;
	EvalOut		out = {rsinfo, domain, 0};

	xdpg_cold_evaluate(s, name, domain, seed, &res, &n_read);
	out.excluded = n_read - res.n_cold_users;
	for (int k = 0; k < res.n_ks; k++)
		for (int m = 0; m < XD_COLD_N_METHODS; m++)
		{
			const xd_cold_cell *c = &res.cell[k][m];
			xd_metric_se hit = {c->hit10, c->hit10_se},
						ndcg = {c->ndcg10, NAN},
						mrr = {c->mrr, NAN};

			if (m == XD_COLD_WARM || c->n == 0)
				continue;		/* warm: no user is trained on its first rows here */
			put_row(&out, xd_cold_method_name(m), psprintf("hit@10 k=%d", res.ks[k]), hit, c->n);
			put_row(&out, xd_cold_method_name(m), psprintf("ndcg@10 k=%d", res.ks[k]), ndcg, c->n);
			put_row(&out, xd_cold_method_name(m), psprintf("mrr k=%d", res.ks[k]), mrr, c->n);
		}
	if (res.n_cold_users == 0)
		ereport(NOTICE,
				(errmsg("domain %s: none of its " INT64_FORMAT " held-out users has more than %d rows, so protocol 'cold' ranked none",
						domain, n_read, res.ks[res.n_ks - 1])));
}

/*
 * A domain another node holds (docs/scale.md) is evaluated there, through
 * PL/Proxy, as the calling role: true when it was. test goes by its
 * qualified name, which the holding node resolves among its own relations.
 */
static bool
evaluate_routed(FunctionCallInfo fcinfo, const char *name, const char *domain,
				const char *protocol, int seed, Oid test, int64 support)
{
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, INT4OID};
	Datum		vals[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', OidIsValid(test) ? ' ' : 'n', support > 0 ? ' ' : 'n'};
	char	   *to_domain;
	char	   *node = xdpg_route(name, domain, (Datum) 0, &to_domain);

	if (node == NULL)
		return false;
	vals[0] = CStringGetTextDatum(node);
	vals[1] = CStringGetTextDatum(name);
	vals[2] = CStringGetTextDatum(domain);
	vals[3] = CStringGetTextDatum(protocol);
	vals[4] = Int32GetDatum(seed);
	vals[5] = OidIsValid(test)
		? CStringGetTextDatum(quote_qualified_identifier(get_namespace_name(get_rel_namespace(test)),
														 get_rel_name(test)))
		: (Datum) 0;
	vals[6] = Int32GetDatum((int32) support);
	xdpg_route_rows(fcinfo, node, name, domain, "proxy_evaluate",
					"SELECT r.domain, r.method, r.metric, r.value, r.std_error, r.n, r.excluded "
					"FROM xdrec_internal.proxy_evaluate($1, $2, $3, $4, $5, $6, $7) r",
					7, types, vals, nulls);
	return true;
}

/*
 * Protocol 'fewshot' on one target domain (run/adapt_run.c, fewshoteval.h):
 * a seeded support of the domain's rows, the rest the query; per method
 * ('fewshot' when the source version has the meta-learner, 'drr',
 * 'target_only', 'popularity', 'support_first') 'hit@10', 'hit@20',
 * 'ndcg@10' and 'mrr' by full ranking, n the query positives ranked,
 * excluded those whose user or item has no support row; and 'seconds', a
 * fitted method's time on the support (n the support's rows). A domain
 * with too few rows for the support and a query is an error when asked
 * for, else left out with a notice.
 */
static void
evaluate_fewshot_domain(ReturnSetInfo *rsinfo, const char *name, const char *domain,
						bool asked, int64 support, int seed)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "xdrec fewshot evaluation",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	EvalOut		out = {rsinfo, domain, 0};
	xd_fse_result res;
	XdAdaptRun *run;
	int64		n_rows;
	bool		ran;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	run = xdpg_adapt_load(name, domain, "auto", "never", cxt);
	ran = xdpg_adapt_evaluate_fewshot(run, support, seed, &res, &n_rows);
	SPI_finish();
	if (!ran)
	{
		ereport(asked ? ERROR : NOTICE,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("domain %s of model \"%s\" has " INT64_FORMAT " rows, too few for a support of " INT64_FORMAT " and a query%s",
						domain, name, n_rows, (int64) support, asked ? "" : ": left out"),
				 asked ? errhint("Pass a support below " INT64_FORMAT ".", n_rows) : 0));
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}
	out.excluded = res.excluded;
	for (int m = 0; m < XD_FSE_N_METHODS; m++)
	{
		const xd_fse_cell *c = &res.cell[m];
		xd_metric_se secs = {c->seconds, NAN};

		if (!c->ran)
			continue;
		put_row(&out, xd_fse_method_name(m), "hit@10", c->s.hit10, c->s.n);
		put_row(&out, xd_fse_method_name(m), "hit@20", c->s.hit20, c->s.n);
		put_row(&out, xd_fse_method_name(m), "ndcg@10", c->s.ndcg10, c->s.n);
		put_row(&out, xd_fse_method_name(m), "mrr", c->s.mrr, c->s.n);
		if (m <= XD_FSE_TARGET_ONLY)
			put_row(&out, xd_fse_method_name(m), "seconds", secs, res.support);
	}
	if (!res.cell[XD_FSE_FEWSHOT].ran)
		ereport(NOTICE,
				(errmsg("domain %s: the served source version has no few-shot meta-learner, so method fewshot is not measured", domain),
				 errhint("Train the source with it: SELECT xdrec.alter_model('%s', options => '{\"fewshot\": true}'); SELECT xdrec.train('%s');",
						 name, name)));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

PG_FUNCTION_INFO_V1(xdrec_evaluate);
Datum
xdrec_evaluate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name,
			   *domain,
			   *protocol;
	bool		full;
	int			seed;
	Oid			test;
	int64		support = 0;
	XdServed   *s;
	char	  **domains;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	protocol = PG_ARGISNULL(2) ? "sampled" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(protocol, "sampled") != 0 && strcmp(protocol, "full") != 0 &&
		strcmp(protocol, "cold") != 0 && strcmp(protocol, "fewshot") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("protocol must be 'sampled', 'full', 'cold' or 'fewshot', not '%s'", protocol),
				 errhint("'sampled' is the paper's (50 item and 50 context negatives); 'full' ranks every item; 'cold' ranks the users option cold_holdout left out of training; 'fewshot' adapts each target from a support of support => N of its rows.")));
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
		support = PG_GETARG_INT32(5);
	if ((strcmp(protocol, "fewshot") == 0) != (support != 0) || support < 0 ||
		(support > 0 && support < 2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(strcmp(protocol, "fewshot") == 0 ?
						"protocol 'fewshot' needs support => N, the rows a domain is adapted from, at least 2" :
						"support => N goes with protocol 'fewshot' only")));
	full = strcmp(protocol, "full") == 0;
	seed = PG_ARGISNULL(3) ? 42 : PG_GETARG_INT32(3);
	test = PG_ARGISNULL(4) ? InvalidOid : PG_GETARG_OID(4);
	if (OidIsValid(test) && get_rel_relkind(test) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with oid %u does not exist", test)));

	if (domain && evaluate_routed(fcinfo, name, domain, protocol, seed, test, support))
		return (Datum) 0;
	s = xdpg_served(name);
	n = xdpg_served_domains(s, &domains);
	/* copy: loading versions may drop the served entry on invalidation */
	{
		char	  **copy = palloc(sizeof(char *) * Max(n, 1));

		for (int i = 0; i < n; i++)
			copy[i] = pstrdup(domains[i]);
		domains = copy;
	}
	InitMaterializedSRF(fcinfo, 0);
	if (domain && support == 0)
		(void) xdpg_version_for_domain(s, name, domain);
	for (int i = 0; i < (domain ? 1 : n); i++)
	{
		if (support > 0)
		{
			if (OidIsValid(test))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("protocol 'fewshot' cuts its query from the domain's rows, so it takes no test relation")));
			/* every served target, or the domain asked for (served or not) */
			if (!domain && xdpg_version_for_domain(s, name, domains[i])->pins_shared_version == 0)
				continue;
			evaluate_fewshot_domain(rsinfo, name, domain ? domain : domains[i], domain != NULL,
									support, seed);
		}
		else if (strcmp(protocol, "cold") == 0)
		{
			if (OidIsValid(test))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("protocol 'cold' reads the held-out users from the model's relation, so it takes no test relation")));
			evaluate_cold_domain(rsinfo, s, name, domain ? domain : domains[i], seed);
		}
		else
			evaluate_domain(rsinfo, s, name, domain ? domain : domains[i], full, seed, test);
	}
	return (Datum) 0;
}
