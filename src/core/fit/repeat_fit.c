/*
 * repeat_fit.c - the repeat term's calibration after a fit (train.h,
 * xd_repeat_calibrate).
 *
 * Trained on sampled item negatives, the repeat term r(c) g(h_ui) (core.h)
 * learns only what the user's other rows with the item add to a pair the
 * embeddings already fit, and stays small: on TripAdvisor's markets it took
 * a repeat's full-ranking MRR from 0.03 to 0.11 where "own items first"
 * reaches 0.76 (docs/transfer.md, "Repeats"). The calibration chooses, on
 * the validation split ranked against every item with the user's own items
 * allowed, how far the term lifts the user's items: the learned term, the
 * term with b_R raised by each shift of a ladder, or no term at all.
 *
 * Every candidate differs from the learned term only on the user's own
 * items, so each validation positive is scored once against every item
 * (s, with the term) and its own items once more without the term (s0):
 * a candidate's score is s + shift on the own items (s0 for "no term"),
 * and its ranks follow without scoring again.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/cold.h"
#include "xdrec/features.h"
#include "xdrec/metrics.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"

/*
 * b_R's shifts tried after the learned term itself (candidates 1..6); the
 * last, XD_REPEAT_FIRST, puts the user's items ahead of every other item
 * (scores are a few units; fewshot_lift.c's ladder tops out the same way),
 * ordered among themselves by the model
 */
static const float xd_repeat_shifts[XD_REPEAT_OFF - 1] = {0.5f, 1.0f, 2.0f, 4.0f, 8.0f, 1000.0f};

/*
 * validation positives ranked, each against every item: at most 1,000, and
 * at most 20M scores in all (a catalog of 100,000 items ranks 200), but
 * never fewer than 100
 */
#define XD_REPEAT_CAL_POSITIVES 1000
#define XD_REPEAT_CAL_SCORES 20000000
#define XD_REPEAT_CAL_MIN 100

/* candidate k's score of an item: s its score with the term, s0 without */
static inline float
xd_repeat_candidate(int k, float s, float s0, float g)
{
	if (g == 0.0f)
		return s;
	return k == XD_REPEAT_OFF ? s0 : s + (k == XD_REPEAT_LEARNED ? 0.0f : xd_repeat_shifts[k - 1]) * g;
}

/*
 * Every item of the domain scored in row's context for row's user, with
 * the user's history (g(h_ui) into g[]; no_history: scored as if it were
 * empty, the repeat term off), into s[], in chunks of b's
 * capacity: by model, or blended with second at a (second NULL: none;
 * transfer.h, xd_fit_score).
 */
static xd_status
xd_repeat_score_all(xd_model *model, xd_model *second, float a, const xd_dataset *ds,
					int64_t row, bool no_history, xd_batch *b, float *s, float *g)
{
	int			m = ds->enc.schema.m;
	int32_t		u = ds->users[row],
				n = ds->n_items;
	xd_status	st;

	for (int32_t w0 = 0; w0 < n; w0 += b->capacity)
	{
		b->n = n - w0 < b->capacity ? n - w0 : b->capacity;
		for (int t = 0; t < b->n; t++)
		{
			b->users[t] = u;
			b->items[t] = w0 + t;
			g[w0 + t] = xd_dataset_hist(ds, row, w0 + t);
			b->hist[t] = no_history ? 0.0f : g[w0 + t];
			xd_dataset_encode(ds, row, w0 + t, b->c + (size_t) t * m);
		}
		if ((st = xd_fit_score(model, second, a, b, s + w0)) != XD_OK)
			return st;
	}
	return XD_OK;
}

/*
 * 1/rank of row's positive under each candidate into rr[]: every item of
 * the domain in the row's context, the user's own included (xd_eval_full's
 * keep_seen), ties counting half.
 */
static xd_status
xd_repeat_rank_row(xd_model *model, const xd_dataset *ds, int64_t row, xd_batch *b,
				   float *s, float *s0, float *g, double *rr)
{
	const xd_feature_encoder *e = &ds->enc;
	int			m = e->schema.m;
	int32_t		u = ds->users[row],
				v = ds->items[row],
				n = ds->n_items;
	xd_status	st;

	if ((st = xd_repeat_score_all(model, NULL, 0.0f, ds, row, false, b, s, g)) != XD_OK)
		return st;
	/* the user's own items again without it */
	b->n = 0;
	for (int32_t w = 0; w < n; w++)
	{
		s0[w] = s[w];
		if (g[w] == 0.0f)
			continue;
		b->users[b->n] = u;
		b->items[b->n] = w;
		b->hist[b->n] = 0.0f;
		xd_dataset_encode(ds, row, w, b->c + (size_t) b->n * m);
		b->n++;
		if (b->n == b->capacity)
		{
			float	   *tmp = s0 + n;	/* scratch after s0's n entries */

			if ((st = xd_model_score(model, b, tmp)) != XD_OK)
				return st;
			for (int t = 0; t < b->n; t++)
				s0[b->items[t]] = tmp[t];
			b->n = 0;
		}
	}
	if (b->n > 0)
	{
		float	   *tmp = s0 + n;

		if ((st = xd_model_score(model, b, tmp)) != XD_OK)
			return st;
		for (int t = 0; t < b->n; t++)
			s0[b->items[t]] = tmp[t];
	}
	for (int k = 0; k < XD_REPEAT_CANDIDATES; k++)
	{
		float		pos = xd_repeat_candidate(k, s[v], s0[v], g[v]);
		int64_t		higher = 0,
					tied = 0;

		for (int32_t w = 0; w < n; w++)
		{
			float		x;

			if (w == v)
				continue;
			x = xd_repeat_candidate(k, s[w], s0[w], g[w]);
			higher += x > pos;
			tied += x == pos;
		}
		rr[k] = 1.0 / (1.0 + (double) higher + 0.5 * (double) tied);
	}
	return XD_OK;
}

xd_status
xd_repeat_candidates(xd_model *model, const xd_dataset *ds, xd_split split,
					 int64_t max_positives, const xd_hooks *hooks,
					 double mrr[XD_REPEAT_CANDIDATES], double se[XD_REPEAT_CANDIDATES],
					 int64_t *n_out)
{
	const int64_t *rows = ds->split_rows[split];
	int64_t		n_rows = ds->n_split[split],
				n_pos = 0,
				stride;
	int32_t		n_items = ds->n_items;
	xd_batch	b = {0};
	float	   *s = NULL,
			   *s0 = NULL,
			   *g = NULL;
	double		rr[XD_REPEAT_CANDIDATES],
				sum[XD_REPEAT_CANDIDATES] = {0},
				d1[XD_REPEAT_CANDIDATES] = {0},
				d2[XD_REPEAT_CANDIDATES] = {0};
	int			cap_rows = n_items < 4096 ? (n_items > 0 ? n_items : 1) : 4096;
	xd_status	st;

	memset(mrr, 0, sizeof(double) * XD_REPEAT_CANDIDATES);
	if (se)
		memset(se, 0, sizeof(double) * XD_REPEAT_CANDIDATES);
	*n_out = 0;
	if (!xd_model_has_repeat(model) || n_rows == 0 || n_items == 0)
		return XD_OK;
	if ((st = xd_batch_init(&b, cap_rows, ds->enc.schema.m)) != XD_OK)
		return st;
	s = malloc(sizeof(float) * (size_t) n_items);
	s0 = malloc(sizeof(float) * ((size_t) n_items + (size_t) cap_rows));
	g = malloc(sizeof(float) * (size_t) n_items);
	if (!s || !s0 || !g)
	{
		st = XD_ENOMEM;
		goto done;
	}
	/* at most max_positives rows, spread evenly over the split */
	stride = max_positives > 0 && n_rows > max_positives ?
		(n_rows + max_positives - 1) / max_positives : 1;
	for (int64_t i = 0; i < n_rows; i += stride)
	{
		int64_t		row = rows[i];

		if (!xd_dataset_user_known(ds, ds->users[row]) || !xd_dataset_item_known(ds, ds->items[row]))
			continue;
		if (hooks && xd_hooks_stopped(hooks))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		if ((st = xd_repeat_rank_row(model, ds, row, &b, s, s0, g, rr)) != XD_OK)
			goto done;
		for (int k = 0; k < XD_REPEAT_CANDIDATES; k++)
		{
			double		d = rr[k] - rr[XD_REPEAT_OFF];

			sum[k] += rr[k];
			d1[k] += d;
			d2[k] += d * d;
		}
		n_pos++;
	}
	for (int k = 0; k < XD_REPEAT_CANDIDATES && n_pos > 0; k++)
	{
		double		mean = d1[k] / (double) n_pos,
					var = n_pos > 1 ? (d2[k] - (double) n_pos * mean * mean) / (double) (n_pos - 1) : 0.0;

		mrr[k] = sum[k] / (double) n_pos;
		if (se)
			se[k] = var > 0.0 ? sqrt(var / (double) n_pos) : 0.0;
	}
	*n_out = n_pos;
	st = XD_OK;
done:
	free(s);
	free(s0);
	free(g);
	xd_batch_free(&b);
	return st;
}

int
xd_repeat_lift_choice(const double mrr[XD_REPEAT_CANDIDATES], const double se[XD_REPEAT_CANDIDATES])
{
	/* the largest lift that does not lose to no lift beyond the margin */
	for (int k = XD_REPEAT_FIRST; k > XD_REPEAT_LEARNED; k--)
		if (mrr[k] - mrr[XD_REPEAT_OFF] >= -XD_REPEAT_LIFT_MARGIN * se[k])
			return k;
	return XD_REPEAT_OFF;
}

/* the validation positives a calibration ranks (the bounds above) */
static int64_t
xd_repeat_cal_positives(const xd_dataset *ds, const xd_train_opts *o)
{
	int64_t		cap = o->valid_max > 0 && o->valid_max < XD_REPEAT_CAL_POSITIVES ?
		o->valid_max : XD_REPEAT_CAL_POSITIVES;

	if (ds->n_items > 0 && cap * ds->n_items > XD_REPEAT_CAL_SCORES)
		cap = XD_REPEAT_CAL_SCORES / ds->n_items > XD_REPEAT_CAL_MIN ?
			XD_REPEAT_CAL_SCORES / ds->n_items : XD_REPEAT_CAL_MIN;
	return cap;
}

xd_status
xd_repeat_calibrate(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
					xd_repeat_calibration *out)
{
	int64_t		cap = xd_repeat_cal_positives(ds, o);
	xd_status	st;

	memset(out, 0, sizeof(*out));
	out->chosen = XD_REPEAT_LEARNED;
	/* a lift-only term starts from no lift, whatever an earlier calibration left */
	if (model->cfg.repeat_lift)
		xd_repeat_apply(model, XD_REPEAT_OFF);
	st = xd_repeat_candidates(model, ds, XD_SPLIT_VALID, cap, &o->hooks, out->mrr, out->se, &out->n_valid);
	/* no validation positive: nothing to choose on, the learned term stays */
	if (st != XD_OK || out->n_valid == 0)
		return st;
	if (model->cfg.repeat_lift)
		out->chosen = xd_repeat_lift_choice(out->mrr, out->se);
	else
		/* ties keep the earlier: the learned term, then the smaller lift */
		for (int k = 1; k < XD_REPEAT_CANDIDATES; k++)
			if (out->mrr[k] > out->mrr[out->chosen])
				out->chosen = k;
	xd_repeat_apply(model, out->chosen);
	out->shift = out->chosen == XD_REPEAT_OFF || out->chosen == XD_REPEAT_LEARNED ? 0.0f :
		xd_repeat_shifts[out->chosen - 1];
	return XD_OK;
}

void
xd_repeat_apply(xd_model *model, int candidate)
{
	xd_domain  *dom = model->domain;

	if (!xd_model_has_repeat(model))
		return;
	if (candidate == XD_REPEAT_OFF)
	{
		memset(dom->w_R->w, 0, sizeof(float) * (size_t) model->cfg.m);
		dom->b_R->w[0] = 0.0f;
	}
	else if (candidate > XD_REPEAT_LEARNED && candidate < XD_REPEAT_OFF)
		dom->b_R->w[0] += xd_repeat_shifts[candidate - 1];
}

/*
 * the popularity weights tried, ascending: 0 the lift alone, the last
 * orders the user's own items by popularity in context alone (repeat17's
 * harness ladder, docs/transfer.md)
 */
const float xd_repeat_pop_ladder[XD_REPEAT_POP_WEIGHTS] = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f, 8.0f, XD_REPEAT_POP_MAX};

/*
 * Row's positive scored (the term at weight 0) in its own context c, into
 * cs[0], and in XD_REPEAT_POP_CONTEXTS other contexts drawn as the sampled
 * protocol draws context negatives (seeded by seed and the row), into
 * cs[1..]; cp[] the popularity in context each would add per unit of weight
 * (an own item's only: gv > 0, and with a counted table). One batch, so
 * a context equal to c scores exactly as c does (a tie).
 */
static xd_status
xd_repeat_pop_contexts(xd_model *model, xd_model *second, float a, const xd_cold *table,
					   bool counted, const xd_dataset *ds, int64_t row, const float *c,
					   uint64_t seed, float gv, xd_batch *b, float *cs, float *cp)
{
	int			m = ds->enc.schema.m;
	xd_rng		r;

	xd_rng_seed(&r, seed ^ ((uint64_t) row * 0x9e3779b97f4a7c15ULL) ^ 0xc0c7e47ULL);
	b->n = XD_REPEAT_POP_CONTEXTS + 1;
	for (int j = 0; j < b->n; j++)
	{
		float	   *cj = b->c + (size_t) j * m;

		b->users[j] = ds->users[row];
		b->items[j] = ds->items[row];
		b->hist[j] = gv;
		if (j == 0)
			memcpy(cj, c, sizeof(float) * (size_t) m);
		else
			xd_eval_context_negative(ds, row, c, &r, cj);
		cp[j] = gv > 0.0f && counted ? xd_cold_cell_pop(table, cj, ds->items[row]) : 0.0f;
	}
	return xd_fit_score(model, second, a, b, cs);
}

/*
 * The popularity weight's ranking (xd_repeat_pop_calibrate), and with
 * decide (xd_repeat_auto_decide) the same positives with no term at all:
 * no table needed then (every weight reads as 0), and the term is taken
 * off unless the best weight beats no term by more than
 * XD_REPEAT_AUTO_MARGIN standard errors of their paired difference.
 */
static xd_status
xd_repeat_pop_rank(xd_model *model, xd_model *second, float a, const xd_cold *table,
				   const xd_dataset *ds, const xd_train_opts *o, bool decide,
				   xd_repeat_pop_calibration *out, double **each)
{
	const int64_t *rows = ds->split_rows[XD_SPLIT_VALID];
	int64_t		n_rows = ds->n_split[XD_SPLIT_VALID],
				cap = xd_repeat_cal_positives(ds, o),
				stride;
	int32_t		n_items = ds->n_items;
	int			m = ds->enc.schema.m;
	bool		counted;
	xd_batch	b = {0};
	float	   *s = NULL,
			   *s0 = NULL,
			   *g = NULL,
			   *t = NULL,
			   *c = NULL,
			   *cs = NULL,
			   *cp = NULL;
	/* each: every positive's 1/rank per weight, and with no term */
	double	   *rk = NULL,
			   *r0 = NULL;
	double		sum[XD_REPEAT_POP_WEIGHTS] = {0},
				d1[XD_REPEAT_POP_WEIGHTS] = {0},
				d2[XD_REPEAT_POP_WEIGHTS] = {0},
				ctx_sum[XD_REPEAT_POP_WEIGHTS] = {0},
				e1[XD_REPEAT_POP_WEIGHTS] = {0},
				e2[XD_REPEAT_POP_WEIGHTS] = {0},
				smp_sum[XD_REPEAT_POP_WEIGHTS] = {0},
				f1[XD_REPEAT_POP_WEIGHTS] = {0},
				f2[XD_REPEAT_POP_WEIGHTS] = {0},
				item_neg = n_items - 1 < XD_REPEAT_POP_ITEM_NEG ? n_items - 1 : XD_REPEAT_POP_ITEM_NEG,
				sum_off = 0.0;
	int			best = 0;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if (each)
	{
		/* room for every positive the calibration may rank (at most cap) */
		int64_t		room = cap > 0 ? cap : 1;

		*each = calloc((size_t) room, sizeof(double));
		rk = malloc(sizeof(double) * (size_t) room * XD_REPEAT_POP_WEIGHTS);
		r0 = calloc((size_t) room, sizeof(double));
		if (!*each || !rk || !r0)
		{
			free(*each);
			*each = NULL;
			free(rk);
			free(r0);
			return XD_ENOMEM;
		}
	}
	/* the lift alone while its ranks are taken */
	if ((st = xd_model_set_repeat_pop(model, NULL, 0.0f)) != XD_OK ||
		(second && (st = xd_model_set_repeat_pop(second, NULL, 0.0f)) != XD_OK))
		goto done;
	counted = table && table->prior_N && table->n_items == n_items && table->m == m;
	if (!xd_model_has_repeat(model) || !model->cfg.repeat_lift || (!counted && !decide) ||
		n_rows == 0 || n_items == 0)
		goto decided;
	/* room for every item in chunks, and for a positive with its other contexts */
	if ((st = xd_batch_init(&b, n_items < 4096 ? (n_items > XD_REPEAT_POP_CONTEXTS ? n_items :
												  XD_REPEAT_POP_CONTEXTS + 1) : 4096, m)) != XD_OK)
		goto done;
	s = malloc(sizeof(float) * (size_t) n_items);
	s0 = malloc(sizeof(float) * (size_t) n_items);
	g = malloc(sizeof(float) * (size_t) n_items);
	t = malloc(sizeof(float) * (size_t) n_items);
	c = malloc(sizeof(float) * (size_t) (m > 0 ? m : 1));
	cs = malloc(sizeof(float) * (XD_REPEAT_POP_CONTEXTS + 1));
	cp = malloc(sizeof(float) * (XD_REPEAT_POP_CONTEXTS + 1));
	if (!s || !s0 || !g || !t || !c || !cs || !cp)
	{
		st = XD_ENOMEM;
		goto done;
	}
	/* the lift's positives: at most cap rows, spread evenly over the split */
	stride = n_rows > cap ? (n_rows + cap - 1) / cap : 1;
	for (int64_t i = 0; i < n_rows; i += stride)
	{
		int64_t		row = rows[i];
		int32_t		v = ds->items[row];
		double		rr_off = 0.0,
					rr_ctx0 = 0.0,
					rr_smp0 = 0.0;

		if (!xd_dataset_user_known(ds, ds->users[row]) || !xd_dataset_item_known(ds, v))
			continue;
		if (xd_hooks_stopped(&o->hooks))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		if ((st = xd_repeat_score_all(model, second, a, ds, row, false, &b, s, g)) != XD_OK)
			goto done;
		if (decide)
		{
			int64_t		higher = 0,
						tied = 0;

			if ((st = xd_repeat_score_all(model, second, a, ds, row, true, &b, s0, t)) != XD_OK)
				goto done;
			for (int32_t w = 0; w < n_items; w++)
				if (w != v)
				{
					higher += s0[w] > s0[v];
					tied += s0[w] == s0[v];
				}
			rr_off = 1.0 / (1.0 + (double) higher + 0.5 * (double) tied);
			sum_off += rr_off;
			if (r0)
				r0[out->n_valid] = rr_off;
		}
		/* item-scoped features do not pick the cell: the row's context for every item */
		xd_dataset_encode(ds, row, -1, c);
		for (int32_t w = 0; w < n_items; w++)
			t[w] = g[w] > 0.0f && counted ? xd_cold_cell_pop(table, c, w) : 0.0f;
		if ((st = xd_repeat_pop_contexts(model, second, a, table, counted, ds, row, c,
										 o->seed, g[v], &b, cs, cp)) != XD_OK)
			goto done;
		for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
		{
			float		wk = xd_repeat_pop_ladder[k],
						pos = s[v] + wk * t[v];
			int64_t		higher = 0,
						tied = 0;
			double		rr,
						above_items;

			for (int32_t w = 0; w < n_items; w++)
			{
				float		x = s[w] + wk * t[w];

				if (w == v)
					continue;
				higher += x > pos;
				tied += x == pos;
			}
			above_items = (double) higher + 0.5 * (double) tied;
			rr = 1.0 / (1.0 + above_items);
			sum[k] += rr;
			if (rk)
				rk[out->n_valid * XD_REPEAT_POP_WEIGHTS + k] = rr;
			d1[k] += rr - rr_off;
			d2[k] += (rr - rr_off) * (rr - rr_off);
			/* the same item in the other contexts (cs[0]: its own), against w = 0's */
			higher = tied = 0;
			pos = cs[0] + wk * cp[0];
			for (int j = 1; j <= XD_REPEAT_POP_CONTEXTS; j++)
			{
				float		x = cs[j] + wk * cp[j];

				higher += x > pos;
				tied += x == pos;
			}
			rr = 1.0 / (1.0 + (double) higher + 0.5 * (double) tied);
			if (k == 0)
				rr_ctx0 = rr;
			ctx_sum[k] += rr;
			e1[k] += rr - rr_ctx0;
			e2[k] += (rr - rr_ctx0) * (rr - rr_ctx0);
			/*
			 * the sampled protocol's rank, expected from the two: its item
			 * negatives above in the share the full ranking puts above, its
			 * context negatives those above here
			 */
			rr = 1.0 / (1.0 + item_neg * above_items / (double) (n_items > 1 ? n_items - 1 : 1) +
						(double) higher + 0.5 * (double) tied);
			if (k == 0)
				rr_smp0 = rr;
			smp_sum[k] += rr;
			f1[k] += rr - rr_smp0;
			f2[k] += (rr - rr_smp0) * (rr - rr_smp0);
		}
		out->n_valid++;
	}
	for (int k = 0; k < XD_REPEAT_POP_WEIGHTS && out->n_valid > 0; k++)
	{
		double		n = (double) out->n_valid;

		out->mrr[k] = sum[k] / n;
		out->ctx_mrr[k] = ctx_sum[k] / n;
		out->ctx_se[k] = xd_paired_se(e1[k], e2[k], n);
		out->sampled_mrr[k] = smp_sum[k] / n;
		out->sampled_se[k] = xd_paired_se(f1[k], f2[k], n);
	}
	for (int k = 1; k < XD_REPEAT_POP_WEIGHTS && out->n_valid > 0; k++)
	{
		/*
		 * a weight that costs the sampled protocol beyond the margin is not
		 * kept (train.h); ties keep the smaller
		 */
		bool		keeps = out->sampled_mrr[k] - out->sampled_mrr[0] >=
			-XD_REPEAT_POP_MARGIN * out->sampled_se[k];

		if (keeps && out->mrr[k] > out->mrr[best])
			best = k;
	}
	out->weight = out->n_valid > 0 && counted ? xd_repeat_pop_ladder[best] : 0.0f;
	if (decide && out->n_valid > 0)
	{
		double		n = (double) out->n_valid;

		out->mrr_off = sum_off / n;
		out->se_gain = xd_paired_se(d1[best], d2[best], n);
	}
	out->served_mrr = out->n_valid > 0 ? out->mrr[best] : 0.0;
decided:
	out->term_kept = true;
	if (decide)
	{
		out->decided = true;
		/* no positive, no evidence: no term */
		out->term_kept = out->n_valid > 0 &&
			out->mrr[best] - out->mrr_off > XD_REPEAT_AUTO_MARGIN * out->se_gain;
		if (!out->term_kept)
		{
			out->served_mrr = out->mrr_off;
			out->weight = 0.0f;
			xd_repeat_apply(model, XD_REPEAT_OFF);
			if (second)
				xd_repeat_apply(second, XD_REPEAT_OFF);
		}
	}
	/* a blend's two fits carry it alike: their mix adds it once */
	if (out->weight > 0.0f)
	{
		st = xd_model_set_repeat_pop(model, table, out->weight);
		if (st == XD_OK && second)
			st = xd_model_set_repeat_pop(second, table, out->weight);
	}
	else
		st = XD_OK;
	/* what is served, per positive: the kept weight's ranks, or no term's */
	for (int64_t i = 0; each && i < out->n_valid; i++)
		(*each)[i] = decide && !out->term_kept ? r0[i] : rk[i * XD_REPEAT_POP_WEIGHTS + best];
done:
	if (each && st != XD_OK)
	{
		free(*each);
		*each = NULL;
	}
	free(rk);
	free(r0);
	free(s);
	free(s0);
	free(g);
	free(t);
	free(c);
	free(cs);
	free(cp);
	xd_batch_free(&b);
	return st;
}

xd_status
xd_repeat_pop_calibrate(xd_model *model, xd_model *second, float a, const xd_cold *table,
						const xd_dataset *ds, const xd_train_opts *o,
						xd_repeat_pop_calibration *out)
{
	return xd_repeat_pop_rank(model, second, a, table, ds, o, false, out, NULL);
}

xd_status
xd_repeat_auto_decide(xd_model *model, xd_model *second, float a, const xd_cold *table,
					  const xd_dataset *ds, const xd_train_opts *o,
					  xd_repeat_pop_calibration *out)
{
	return xd_repeat_pop_rank(model, second, a, table, ds, o, true, out, NULL);
}

xd_status
xd_repeat_pop_each(xd_model *model, xd_model *second, float a, const xd_cold *table,
				   const xd_dataset *ds, const xd_train_opts *o, bool decide,
				   xd_repeat_pop_calibration *out, double **each)
{
	return xd_repeat_pop_rank(model, second, a, table, ds, o, decide, out, each);
}

xd_status
xd_repeat_auto_table(const xd_config *cfg, const xd_dataset *ds, xd_cold **out)
{
	xd_cold_opts co;
	xd_status	st;

	*out = NULL;
	xd_cold_opts_default(&co);
	if (!co.prior || !xd_cold_prior_fits(&ds->enc.schema, ds->n_items))
		return XD_OK;
	if ((st = xd_cold_new_joint(cfg, &ds->enc.schema, co.joint, ds->n_items, false, co.hidden, 1,
								out)) != XD_OK)
		return st;
	if ((*out)->prior_N && (st = xd_cold_prior_count(*out, ds)) != XD_OK)
	{
		xd_cold_free(*out);
		*out = NULL;
	}
	return st;
}

/* the term at w on the pair's fits (0: off) */
static xd_status
pop_all_set(xd_fit_pair *p, const xd_cold *table, float w)
{
	xd_status	st = xd_model_set_pop_all(p->first, table, w);

	if (st == XD_OK && p->second)
		st = xd_model_set_pop_all(p->second, table, w);
	return st;
}

xd_status
xd_pop_all_choose(xd_model *model, xd_model *second, float a, const xd_cold *table,
				  const xd_dataset *ds, const xd_train_opts *o, float w, xd_pop_all_choice *out)
{
	xd_fit_pair p = {model, second, a};
	double	   *on = NULL,
			   *off = NULL,
				s1 = 0.0,
				s2 = 0.0;
	int64_t		n_on = 0,
				n_off = 0;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if ((st = pop_all_set(&p, NULL, 0.0f)) != XD_OK)
		return st;
	if (!(w > 0.0f) || !table || !table->prior_N || model->cfg.feedback != XD_IMPLICIT ||
		ds->n_split[XD_SPLIT_VALID] == 0)
		return XD_OK;
	if ((st = xd_train_validate_score(xd_fit_pair_score, &p, XD_IMPLICIT, ds, o, &out->valid_off,
									  &n_off, &off)) != XD_OK ||
		(st = pop_all_set(&p, table, w)) != XD_OK ||
		(st = xd_train_validate_score(xd_fit_pair_score, &p, XD_IMPLICIT, ds, o, &out->valid_on,
									  &n_on, &on)) != XD_OK)
		goto done;
	if (n_on != n_off)
	{
		st = XD_EINVAL;			/* the same seeded positives, or a bug */
		goto done;
	}
	for (int64_t i = 0; i < n_on; i++)
	{
		s1 += on[i] - off[i];
		s2 += (on[i] - off[i]) * (on[i] - off[i]);
	}
	out->n = n_on;
	out->se = xd_paired_se(s1, s2, (double) n_on);
	out->weight = n_on > 0 && out->valid_on - out->valid_off >= -XD_POP_ALL_MARGIN * out->se ? w : 0.0f;
done:
	if (st != XD_OK || out->weight == 0.0f)
	{
		xd_status	off_st = pop_all_set(&p, NULL, 0.0f);

		out->weight = 0.0f;
		st = st != XD_OK ? st : off_st;
	}
	free(on);
	free(off);
	return st;
}
