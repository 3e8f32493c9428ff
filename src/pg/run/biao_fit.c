/*
 * biao_fit.c - option source_weighting 'biao' (issue 21; the method in
 * include/xdrec/biao.h, docs/training.md#source-weighting-biao): xdrec.train
 * of the source also reads every other domain of the model's relation as a
 * target, as the caller and with the source's frozen vocabularies (the rows
 * an adaptation would read, data/load.c), and trains the shared modules on
 * the source's interactions weighted by BIAO's perceptron, which an upper
 * step moves every biao_interval training steps along the implicit gradient
 * of the targets' developing loss. Targets then adapt unchanged on the
 * weighted modules. The perceptron is written with the version (tensor
 * "biao.phi", stored_tensors.c); the summary's "source_weighting" reports
 * the weights' distribution, the developing loss per upper step and what
 * the upper level cost.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "xdrec/sample.h"
#include "run/biao_fit.h"

/* a target the loader would refuse to adapt is not read either (fit_common.c) */
#define XDPG_BIAO_MIN_TARGET_ROWS 20
/* the summary's developing losses: at most this many, evenly spaced */
#define XDPG_BIAO_DEV_SHOWN 50

/* the perceptron, freed after the store phase or with the run's context */
void
xdpg_biao_free(void *arg)
{
	XdBiaoFit  *f = arg;

	xd_biao_free(f->biao);
	f->biao = NULL;
}

/*
 * Phase 1, with SPI connected: the target domains' rows, every domain of the
 * relation but the source, in name order, read as the caller in a user span
 * with md's vocabularies (the source's, built by its load just before). A
 * domain under 20 training rows or 2 items is skipped, as adapt refuses it;
 * none left is an error. Each dataset is freed with cxt (its own guard).
 */
XdBiaoFit *
xdpg_biao_load(XdModelDef *md, const char *name, const char *source, MemoryContext cxt)
{
	XdBiaoFit  *f = MemoryContextAllocZero(cxt, sizeof(XdBiaoFit));
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	XdSpan		span;
	char	  **domains;
	uint64		n;

	cb->func = xdpg_biao_free;
	cb->arg = f;
	MemoryContextRegisterResetCallback(cxt, cb);
	f->enabled = md->source_weighting == XDPG_WEIGH_BIAO;
	if (!f->enabled)
		return f;
	if (md->cfg.beta != 0.0f)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source_weighting 'biao' needs option beta 0, not %g", md->cfg.beta),
				 errdetail("BIAO weighs the per-row squared terms of the loss; the novelty curriculum is not one."),
				 errhint("SELECT xdrec.alter_model('%s', options => '{\"beta\": 0}').", name)));

	/* the domains, as the caller (the relation's own privileges) */
	xdpg_user_begin(&span);
	xdpg_check_relation(md);
	if (SPI_execute(psprintf("SELECT DISTINCT (%s)::pg_catalog.text COLLATE \"C\" FROM %s AS %s "
							 "WHERE %s IS NOT NULL ORDER BY 1",
							 quote_identifier(md->domain_col), md->relation,
							 quote_identifier(md->alias), quote_identifier(md->domain_col)),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: the domains of model \"%s\" cannot be listed", name);
	n = SPI_processed;
	domains = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
		domains[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	f->names = MemoryContextAlloc(cxt, sizeof(char *) * Max(n, 1));
	f->targets = MemoryContextAlloc(cxt, sizeof(xd_dataset *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		XdKeyMap   *users = MemoryContextAllocZero(cxt, sizeof(XdKeyMap));
		XdKeyMap   *items = MemoryContextAllocZero(cxt, sizeof(XdKeyMap));
		XdGuard    *guard;
		MemoryContext old;
		XdLoadCounts counts;
		xd_dataset *ds;

		if (strcmp(domains[i], source) == 0)
			continue;
		xdpg_load_keys(md, domains[i], true, users);
		xdpg_load_keys(md, domains[i], false, items);
		if (users->n == 0)
		{
			f->n_skipped++;
			continue;
		}
		old = MemoryContextSwitchTo(cxt);
		guard = xdpg_guard();	/* frees the dataset with cxt, error or not */
		MemoryContextSwitchTo(old);
		ds = xdpg_load_domain(md, domains[i], users, items, guard, &counts);
		if (counts.rows_used == 0 || ds->n_split[XD_SPLIT_TRAIN] < XDPG_BIAO_MIN_TARGET_ROWS ||
			ds->n_items < 2)
		{
			xd_dataset_free(ds);
			guard->ds = NULL;
			f->n_skipped++;
			continue;
		}
		/* the targets' embeddings are re-fitted without validation */
		xdpg_check_model_memory(domains[i], ds, users, items, md->cfg.d, 1, 0);
		f->names[f->n_targets] = MemoryContextStrdup(cxt, domains[i]);
		f->targets[f->n_targets++] = ds;
	}
	xdpg_span_end(&span);
	if (f->n_targets == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("source_weighting 'biao' of model \"%s\" found no target domain to weigh the source by", name),
				 errdetail("Domains besides the source: " UINT64_FORMAT ", skipped as too small: %d.",
						   n - 1 + (n == 0), f->n_skipped),
				 errhint("A target needs %d training rows and 2 items; or SELECT xdrec.alter_model('%s', options => '{\"source_weighting\": \"none\"}').",
						 XDPG_BIAO_MIN_TARGET_ROWS, name)));
	return f;
}

/*
 * Phase 2, before the training loop: the perceptron for the new model and
 * its hook in opts. With lr_search above 1 one perceptron goes on learning
 * across the rates (train.c's search refits the model in place).
 */
void
xdpg_biao_begin(XdBiaoFit *f, const XdModelDef *md, xd_model *model, const xd_dataset *src,
				xd_train_opts *opts)
{
	xd_biao_opts bo;

	if (!f->enabled)
		return;
	xd_biao_opts_default(&bo);
	bo.interval = md->biao_interval;
	bo.warmup_epochs = md->biao_warmup;
	bo.upper = (xd_biao_upper) md->biao_upper;
	bo.hooks.stop = opts->hooks.stop;	/* the zeroth-order copies are cancellable too */
	bo.hooks.stop_arg = opts->hooks.stop_arg;
	f->upper = bo.upper;
	bo.seed = md->cfg.seed;
	xdpg_check_status(xd_biao_new(&bo, model, src, (const xd_dataset *const *) f->targets,
								  f->n_targets, &f->biao),
					  "making the source weighting's perceptron");
	opts->weigh = xd_biao_weigh;
	opts->weigh_arg = f->biao;
	/* zeroth_order: early stopping keeps a model trained under the learnt weights */
	opts->first_kept_epoch = xd_biao_first_kept_epoch(&bo);
}

/* a source training positive and its weight, sorted by weight then row */
typedef struct
{
	float		w;
	int64		row;
} WeighedRow;

static int
cmp_weighed(const void *a, const void *b)
{
	const WeighedRow *x = a,
			   *y = b;

	if (x->w != y->w)
		return (x->w > y->w) - (x->w < y->w);
	return (x->row > y->row) - (x->row < y->row);
}

/*
 * Phase 2, after training: the weights of the trained perceptron over the
 * source's training positives, in batches of the training's size drawn in a
 * seeded shuffle (a weight is relative to its batch, eq. 8), times the batch
 * size so that 1 is plain training's; their quantiles for the summary, and
 * the option biao_keep highest and lowest for the version
 * (xdrec.source_weights). Memory: 12 bytes per training positive, freed
 * before the store phase.
 */
void
xdpg_biao_end(XdBiaoFit *f, const XdModelDef *md, xd_model *model, const xd_dataset *src)
{
	int64_t    *rows = NULL;
	int64_t		n = 0,
				k = 0;
	int			P = model->cfg.batch_size;
	xd_batch	b = {0};
	float	   *w;
	WeighedRow *all;
	int64		below = 0;
	int			keep;
	xd_rng		rng;
	xd_status	st;

	if (!f->biao)
		return;
	xd_rng_seed(&rng, model->cfg.seed);
	xdpg_check_status(xd_train_rows(src, &rows, &n), "weighing the source");
	w = palloc(sizeof(float) * P);
	all = palloc(sizeof(WeighedRow) * Max(n, 1));
	st = xd_batch_init(&b, 3 * P, src->enc.schema.m);
	xd_shuffle_rows(rows, n, &rng);
	for (int64_t at = 0; st == XD_OK && at < n; at += P)
	{
		int			np = (int) Min((int64_t) P, n - at);

		if ((st = xd_sample_batch(src, rows + at, np, &rng, &b)) != XD_OK ||
			(st = xd_biao_weights(f->biao, model, &b, w)) != XD_OK)
			break;
		for (int j = 0; j < np; j++)
		{
			all[k].w = (float) np * w[j];
			all[k].row = rows[at + j];
			below += all[k++].w < 1.0f;
		}
	}
	xd_batch_free(&b);
	free(rows);
	xdpg_check_status(st, "weighing the source");
	f->n_weights = k;
	if (k == 0)
		return;
	qsort(all, k, sizeof(WeighedRow), cmp_weighed);
	f->w_min = all[0].w;
	f->w_q10 = all[k / 10].w;
	f->w_median = all[k / 2].w;
	f->w_q90 = all[k * 9 / 10].w;
	f->w_max = all[k - 1].w;
	f->w_below = (double) below / (double) k;

	/* the highest first, then the lowest first; each end at most half */
	keep = (int) Min((int64) md->biao_keep, k / 2);
	f->n_top = f->n_bottom = keep;
	f->keep_rows = MemoryContextAlloc(GetMemoryChunkContext(f), sizeof(int64) * Max(2 * keep, 1));
	f->keep_w = MemoryContextAlloc(GetMemoryChunkContext(f), sizeof(float) * Max(2 * keep, 1));
	for (int i = 0; i < keep; i++)
	{
		f->keep_rows[i] = all[k - 1 - i].row;
		f->keep_w[i] = all[k - 1 - i].w;
		f->keep_rows[keep + i] = all[i].row;
		f->keep_w[keep + i] = all[i].w;
	}
	pfree(all);
	pfree(w);
}

/* A source row's interaction features as a JSON object: name -> value */
static void
row_context_json(StringInfo b, const XdModelDef *md, const xd_dataset *src, int64 row)
{
	const xd_schema *s = &src->enc.schema;
	bool		first = true;

	appendStringInfoChar(b, '{');
	for (int i = 0; i < md->n_features && i < s->n_features; i++)
	{
		const XdFeatureDef *fd = &md->features[i];
		const xd_feature *xf = &s->features[i];

		if (fd->scope != XD_SCOPE_INTERACTION)
			continue;
		if (!first)
			appendStringInfoString(b, ", ");
		first = false;
		escape_json(b, fd->name);
		appendStringInfoString(b, ": ");
		if (fd->type == XDPG_CATEGORICAL)
		{
			int32		code = src->codes[row * s->n_codes + xf->raw];

			if (code >= 0 && code < fd->n_vocab)
				escape_json(b, fd->vocab[code]);
			else
				/* missing, or a value past vocab_cap (the "other" slot) */
				appendStringInfoString(b, code == XD_MISSING_CODE ? "null" : "\"(other)\"");
		}
		else
		{
			float		x = src->num[row * s->n_num + xf->raw];

			if (isnan(x))
				appendStringInfoString(b, "null");
			else if (fd->type == XDPG_BOOLEAN)
				appendStringInfoString(b, x != 0.0f ? "true" : "false");
			else
				appendStringInfo(b, "%.9g", x);
		}
	}
	appendStringInfoChar(b, '}');
}

static void
kept_json(StringInfo b, const XdBiaoFit *f, const XdModelDef *md, const xd_dataset *src,
		  const XdKeyMap *users, const XdKeyMap *items, int from, int n)
{
	appendStringInfoChar(b, '[');
	for (int i = from; i < from + n; i++)
	{
		int64		row = f->keep_rows[i];

		appendStringInfoString(b, i > from ? ", {\"user\": " : "{\"user\": ");
		escape_json(b, xdpg_key_text(users, src->users[row]));
		appendStringInfoString(b, ", \"item\": ");
		escape_json(b, xdpg_key_text(items, src->items[row]));
		appendStringInfoString(b, ", \"context\": ");
		row_context_json(b, md, src, row);
		xdpg_json_num(b, "weight", f->keep_w[i], true);
		appendStringInfoChar(b, '}');
	}
	appendStringInfoChar(b, ']');
}

/*
 * The version's "source_weights" (its metrics, read by xdrec.source_weights):
 * the kept positives with their user, item, interaction features and weight,
 * the highest first in "top", the lowest first in "bottom". Nothing without
 * source weighting.
 */
void
xdpg_biao_version_json(StringInfo b, const XdBiaoFit *f, const XdModelDef *md,
					   const xd_dataset *src, const XdKeyMap *users, const XdKeyMap *items)
{
	if (!f->biao)
		return;
	appendStringInfoString(b, ", \"source_weights\": {\"top\": ");
	kept_json(b, f, md, src, users, items, 0, f->n_top);
	appendStringInfoString(b, ", \"bottom\": ");
	kept_json(b, f, md, src, users, items, f->n_top, f->n_bottom);
	appendStringInfoChar(b, '}');
}

/*
 * The summary's "source_weighting": the targets, the weights' distribution,
 * the developing loss per upper step (at most 50, evenly spaced: "dev_every"
 * says the spacing) and the upper level's cost. "cost_vs_plain" is this
 * run's training seconds over the same run without the perceptron's work
 * (its forward per batch and the upper steps): the ratio to plain training
 * at the same number of epochs; plain training may stop at another epoch.
 */
void
xdpg_biao_fit_json(StringInfo b, const XdBiaoFit *f, double train_seconds)
{
	xd_biao_stats st;
	int			every;
	double		extra;

	appendStringInfoString(b, ", \"source_weighting\": ");
	if (!f->enabled)
	{
		appendStringInfoString(b, "{\"method\": \"none\"}");
		return;
	}
	xd_biao_get_stats(f->biao, &st);
	appendStringInfo(b, "{\"method\": \"biao\", \"upper\": \"%s\", \"targets\": [",
					 f->upper == XD_BIAO_UPPER_ZO ? "zeroth_order" : "implicit");
	for (int t = 0; t < f->n_targets; t++)
	{
		if (t > 0)
			appendStringInfoString(b, ", ");
		escape_json(b, f->names[t]);
	}
	appendStringInfoString(b, "]");
	xdpg_json_int(b, "targets_skipped", f->n_skipped, true);
	appendStringInfoString(b, ", \"weights\": {");
	xdpg_json_int(b, "n", f->n_weights, false);
	xdpg_json_num(b, "min", f->w_min, true);
	xdpg_json_num(b, "q10", f->w_q10, true);
	xdpg_json_num(b, "median", f->w_median, true);
	xdpg_json_num(b, "q90", f->w_q90, true);
	xdpg_json_num(b, "max", f->w_max, true);
	xdpg_json_num(b, "share_below_1", f->w_below, true);
	appendStringInfoString(b, "}");
	xdpg_json_int(b, "upper_steps", st.n_upper, true);
	every = (st.n_upper + XDPG_BIAO_DEV_SHOWN - 1) / XDPG_BIAO_DEV_SHOWN;
	xdpg_json_int(b, "dev_every", Max(every, 1), true);
	appendStringInfoString(b, ", \"dev_loss\": [");
	for (int i = 0; i < st.n_upper; i += Max(every, 1))
		appendStringInfo(b, "%s%.6g", i > 0 ? ", " : "", st.dev_loss[i]);
	appendStringInfoString(b, "]");
	xdpg_json_num(b, "upper_seconds", st.upper_seconds, true);
	xdpg_json_num(b, "weigh_seconds", st.weigh_seconds, true);
	extra = st.upper_seconds + st.weigh_seconds;
	xdpg_json_num(b, "cost_vs_plain", train_seconds > extra ? train_seconds / (train_seconds - extra) : NAN,
				  true);
	appendStringInfoString(b, "}");
}
