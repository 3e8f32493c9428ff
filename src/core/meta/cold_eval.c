/*
 * cold_eval.c - the cold-start protocol and its heuristics (coldeval.h).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/clock.h"
#include "xdrec/coldeval.h"
#include "xdrec/serve.h"

static const char *const xd_cold_method_names[XD_COLD_N_METHODS] = {
	"cmml", "finetune", "pop_domain", "pop_context", "support_first", "warm"
};

const double xd_cold_blend_lambdas[XD_COLD_N_LAMBDAS] = {0.1, 0.25, 0.5, 1.0};
const double xd_cold_cooc_lambdas[XD_COLD_N_COOC_LAMBDAS] = {0.25, 0.5, 1.0, 2.0, 4.0, 8.0};

const char *
xd_cold_method_name(xd_cold_method m)
{
	return (m >= 0 && m < XD_COLD_N_METHODS) ? xd_cold_method_names[m] : "?";
}

void
xd_coldeval_opts_default(xd_coldeval_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->n_ks = 4;
	o->ks[0] = 1;
	o->ks[1] = 5;
	o->ks[2] = 10;
	o->ks[3] = 20;
	o->max_query = 10;
	o->n_neg = XD_COLD_NEGATIVES;
	o->finetune_steps = 10;
	o->finetune_lr = 0.05f;
	o->seed = 42;
}

/*
 * The cell of a raw row's interaction-scoped context: numeric values in
 * eighths of their scaled range, categories (and bins) by code, -1 missing.
 */
static uint64_t
xd_context_cell(const xd_feature_encoder *e, const float *num, const int32_t *codes)
{
	const xd_schema *s = &e->schema;
	uint64_t	h = 0x63656c6cULL;

	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];
		int32_t		v;

		if (ft->scope != XD_SCOPE_INTERACTION)
			continue;
		if (ft->type == XD_TYPE_CATEGORICAL)
			v = codes[ft->raw] < 0 ? -1 :
				(codes[ft->raw] >= ft->n_values - 1 ? ft->n_values - 1 : codes[ft->raw]);
		else if (isnan(num[ft->raw]))
			v = -1;
		else
		{
			float		x = xd_encode_numeric(e, f, num[ft->raw]);

			v = (int32_t) floorf(x * 8.0f);
			v = v < 0 ? 0 : (v > 7 ? 7 : v);
		}
		h = xd_hash_bytes(&v, sizeof(v), h);
	}
	return h;
}

/* training rows by (cell, item), for popularity in context */
typedef struct xd_cell_row
{
	uint64_t	cell;
	int32_t		item;
} xd_cell_row;

static int
xd_cell_row_cmp(const void *a, const void *b)
{
	const xd_cell_row *x = a,
			   *y = b;

	if (x->cell != y->cell)
		return x->cell < y->cell ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

double
xd_cold_rank_in(const double *score, const uint8_t *keep, int n, int32_t v)
{
	double		higher = 0.0,
				ties = 0.0;

	for (int i = 0; i < n; i++)
	{
		if (i == v || !keep[i])
			continue;
		if (score[i] > score[v])
			higher += 1.0;
		else if (score[i] == score[v])
			ties += 1.0;
	}
	return 1.0 + higher + 0.5 * ties;
}

/*
 * one query's rank; rep: its item is among the support's (a repeat), band:
 * its item's popularity band
 */
static void
xd_cell_add(xd_cold_cell *c, double rank, bool rep, int band)
{
	c->n++;
	c->n_rep += rep;
	if (!rep)
		c->n_band[band]++;
	c->mrr += 1.0 / rank;
	if (rank <= 10.0)
	{
		c->hit10 += 1.0;
		c->ndcg10 += 1.0 / log2(1.0 + rank);
		if (rep)
			c->hit10_rep += 1.0;
		else
		{
			c->hit10_new += 1.0;
			c->hit10_band[band] += 1.0;
		}
	}
}

/* sums to means; rho_users: the users cmml's rho was summed over (else 0) */
static void
xd_cell_finish(xd_cold_cell *c, int64_t rho_users)
{
	if (c->n == 0)
		return;
	if (c->n_rep > 0)
		c->hit10_rep /= c->n_rep;
	if (c->n > c->n_rep)
		c->hit10_new /= c->n - c->n_rep;
	for (int b = 0; b < XD_COLD_POP_BANDS; b++)
		if (c->n_band[b] > 0)
			c->hit10_band[b] /= c->n_band[b];
	if (rho_users > 0)
		c->rho /= rho_users;
	c->hit10 /= c->n;
	c->ndcg10 /= c->n;
	c->mrr /= c->n;
	c->hit10_se = sqrt(c->hit10 * (1.0 - c->hit10) / c->n);
}

typedef struct xd_ce
{
	xd_model   *model;
	xd_cold    *cold;
	xd_cold    *ft;				/* scratch of the fine-tuning baseline */
	const xd_dataset *ds;
	const xd_holdout *h;
	const xd_coldeval_opts *o;
	int			n_items;
	int			m;
	bool		per_item;
	float	   *io_buf;
	xd_item_outputs io;
	float	   *c;				/* [m] */
	float	   *fs;				/* [n_items] float scores */
	double	   *score;			/* [n_items] */
	double	   *ctxpop;			/* [n_items] */
	uint8_t    *keep;			/* [n_items] */
	uint8_t    *band;			/* [n_items] popularity band (coldeval.h) */
	int32_t    *in_support;		/* [n_items] positives of the support */
	xd_cell_row *cells;			/* [n_train] sorted */
	int64_t		n_cells;
	float	   *e0;				/* [d] the mean user */
	float	   *ebar;			/* [d] the support positives' mean embedding */
	double	   *sim;			/* [n_ks * n_items] e_v . e_bar per K */
	double	   *zc;				/* [n_items] standardised cmml scores */
	double	   *zp;				/* [n_items] ... prior */
	int32_t    *co_n;			/* [n_items^2] users with both items; NULL: no cooc probe */
	double	   *cooc;			/* [n_ks * kinds * n_items] cooc(v) per K and kind (coldeval.h) */
	uint8_t    *self_has;		/* [n_items] the left-out user's training items */
	xd_support	s;
	xd_cold_task cmml[XD_COLD_MAX_KS];
	xd_cold_task fine[XD_COLD_MAX_KS];
} xd_ce;

/* pop_context for the query's cell into ce->ctxpop (then the domain's) */
static void
xd_ce_ctxpop(xd_ce *ce, uint64_t cell)
{
	const int32_t *cnt = ce->ds->item_train_count;
	double		maxc = 1.0;
	int64_t		lo = 0,
				hi = ce->n_cells;

	for (int i = 0; i < ce->n_items; i++)
		if (cnt[i] + 1.0 > maxc)
			maxc = cnt[i] + 1.0;
	for (int i = 0; i < ce->n_items; i++)
		ce->ctxpop[i] = cnt[i] / maxc;
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (ce->cells[mid].cell < cell)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int64_t r = lo; r < ce->n_cells && ce->cells[r].cell == cell; r++)
		ce->ctxpop[ce->cells[r].item] += 1.0;
}

/* Item outputs of one raw query row's context (user-scoped from the row). */
static xd_status
xd_ce_outputs(xd_ce *ce, int64_t row)
{
	const xd_schema *s = &ce->ds->enc.schema;

	memset(ce->c, 0, sizeof(float) * (ce->m > 0 ? ce->m : 1));
	xd_encode_raw(&ce->ds->enc, -1, -1, ce->h->num + (size_t) row * s->n_num,
				  ce->h->codes + (size_t) row * s->n_codes, ce->c);
	return xd_item_outputs_compute(ce->model, ce->c, &ce->ds->enc, &ce->io);
}

/* the query v's rank under ce->fs, added to cell; returned */
static double
xd_ce_rank_floats(xd_ce *ce, int32_t v, bool rep, xd_cold_cell *cell)
{
	double		rank;

	for (int i = 0; i < ce->n_items; i++)
		ce->score[i] = ce->fs[i];
	rank = xd_cold_rank_in(ce->score, ce->keep, ce->n_items, v);
	xd_cell_add(cell, rank, rep, ce->band[v]);
	return rank;
}

int
xd_item_count_cmp(const void *a, const void *b)
{
	const xd_item_count *x = a,
			   *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

/* ce->band: items by training rows, most chosen first, cut at thirds of the rows */
static xd_status
xd_ce_bands(xd_ce *ce)
{
	const int32_t *cnt = ce->ds->item_train_count;
	xd_item_count *order = malloc(sizeof(xd_item_count) * (ce->n_items > 0 ? ce->n_items : 1));
	double		total = 0.0,
				cum = 0.0;

	if (!order)
		return XD_ENOMEM;
	for (int i = 0; i < ce->n_items; i++)
	{
		order[i].count = cnt[i];
		order[i].item = i;
		total += cnt[i];
	}
	qsort(order, (size_t) ce->n_items, sizeof(xd_item_count), xd_item_count_cmp);
	for (int i = 0; i < ce->n_items; i++)
	{
		int			b = total > 0.0 ? (int) (XD_COLD_POP_BANDS * cum / total) : 0;

		ce->band[order[i].item] = (uint8_t) (b < XD_COLD_POP_BANDS ? b : XD_COLD_POP_BANDS - 1);
		cum += order[i].count;
	}
	free(order);
	return XD_OK;
}

/* The support of the first k rows of holdout user u, negatives seeded by its rows. */
static xd_status
xd_ce_support(xd_ce *ce, int64_t first, int k)
{
	const xd_schema *sc = &ce->ds->enc.schema;
	const xd_holdout *h = ce->h;
	xd_rng		rng;
	xd_status	st = XD_OK;
	float	   *pos = malloc(sizeof(float) * (size_t) k * (ce->m > 0 ? ce->m : 1));

	if (!pos)
		return XD_ENOMEM;
	for (int i = 0; i < k; i++)
	{
		int64_t		row = first + i;
		float	   *c = pos + (size_t) i * ce->m;

		memset(c, 0, sizeof(float) * ce->m);
		xd_encode_raw(&ce->ds->enc, -1, h->items[row], h->num + (size_t) row * sc->n_num,
					  h->codes + (size_t) row * sc->n_codes, c);
	}
	xd_rng_seed(&rng, xd_support_seed(h->items + first, pos, k, ce->m, ce->o->seed));
	ce->s.n = 0;
	for (int i = 0; i < k && st == XD_OK; i++)
		st = xd_support_add(&ce->s, h->items[first + i], pos + (size_t) i * ce->m, 1.0f,
							ce->o->n_neg, ce->n_items, &ce->ds->enc, &rng);
	free(pos);
	return st;
}

/* out[i] = (x[i] - mean) / sd over the ranked items (keep), 0 when flat */
static void
xd_standardise(const double *x, const uint8_t *keep, int n, double *out)
{
	double		mean = 0.0,
				var = 0.0,
				cnt = 0.0;

	for (int i = 0; i < n; i++)
		if (keep[i])
		{
			mean += x[i];
			cnt += 1.0;
		}
	mean /= cnt > 0.0 ? cnt : 1.0;
	for (int i = 0; i < n; i++)
		if (keep[i])
			var += (x[i] - mean) * (x[i] - mean);
	var = cnt > 0.0 ? var / cnt : 0.0;
	for (int i = 0; i < n; i++)
		out[i] = var > 0.0 ? (x[i] - mean) / sqrt(var) : 0.0;
}

/* e_v . e_bar for every item, e_bar the mean embedding of the k support positives */
static void
xd_ce_item_sim(xd_ce *ce, int64_t first, int k, double *sim)
{
	const float *E = ce->model->domain->E_v->w;
	int			d = ce->model->cfg.d;

	memset(ce->ebar, 0, sizeof(float) * d);
	for (int i = 0; i < k; i++)
		cblas_saxpy(d, 1.0f / k, E + (size_t) ce->h->items[first + i] * d, 1, ce->ebar, 1);
	for (int i = 0; i < ce->n_items; i++)
		sim[i] = cblas_sdot(d, E + (size_t) i * d, 1, ce->ebar, 1);
}

/*
 * The co-occurrence table: co_n[v * n + s] the training users with both v and
 * s among their distinct training items (the diagonal: users with v). Left
 * NULL (no cooc probe) beyond XD_COLD_COOC_MAX_ITEMS.
 */
static xd_status
xd_ce_cooc_counts(xd_ce *ce)
{
	const xd_dataset *ds = ce->ds;
	size_t		n = (size_t) ce->n_items;

	if (ce->n_items < 1 || ce->n_items > XD_COLD_COOC_MAX_ITEMS)
		return XD_OK;
	ce->co_n = calloc(n * n, sizeof(int32_t));
	ce->cooc = malloc(sizeof(double) * (size_t) ce->o->n_ks * XD_COLD_N_COOC_KINDS * n);
	ce->self_has = malloc(n);
	if (!ce->co_n || !ce->cooc || !ce->self_has)
		return XD_ENOMEM;
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		const int32_t *it = ds->user_train_items + ds->user_train_off[u];
		int64_t		len = ds->user_train_off[u + 1] - ds->user_train_off[u];

		for (int64_t i = 0; i < len; i++)
			for (int64_t j = 0; j < len; j++)
				ce->co_n[(size_t) it[i] * n + it[j]]++;
	}
	return XD_OK;
}

/*
 * cooc(v) of each kind for the first k rows of the held-out user at first
 * (coldeval.h), cooc[kind * n_items + v]: the sum over those rows' items s of
 * users(v, s) / sqrt(users(v) users(s)) and of users(v, s) / users(s), with
 * the training user self's own rows taken out of every count (-1 none)
 */
static void
xd_ce_cooc_scores(xd_ce *ce, int64_t first, int k, int32_t self, double *cooc)
{
	const xd_dataset *ds = ce->ds;
	size_t		n = (size_t) ce->n_items;
	const int32_t *co = ce->co_n;

	memset(ce->self_has, 0, n);
	if (self >= 0 && self < ds->n_users)
		for (int64_t j = ds->user_train_off[self]; j < ds->user_train_off[self + 1]; j++)
			ce->self_has[ds->user_train_items[j]] = 1;
	for (size_t v = 0; v < n; v++)
	{
		double		cosine = 0.0,
					conditional = 0.0,
					nv = co[v * n + v] - ce->self_has[v];

		for (int i = 0; i < k && nv > 0.0; i++)
		{
			size_t		s = (size_t) ce->h->items[first + i];
			double		ns = co[s * n + s] - ce->self_has[s],
						both = co[v * n + s] - (ce->self_has[v] & ce->self_has[s]);

			if (ns > 0.0)
			{
				cosine += both / sqrt(nv * ns);
				conditional += both / ns;
			}
		}
		cooc[XD_COLD_COOC_COSINE * n + v] = cosine;
		cooc[XD_COLD_COOC_CONDITIONAL * n + v] = conditional;
	}
}

/*
 * cmml's standardised scores (ce->zc) plus each lambda times the
 * standardised cooc, then cooc alone with pop_context under its ties: the
 * query v's rank under each into cells (coldeval.h)
 */
static void
xd_ce_cooc_cells(xd_ce *ce, const double *cooc, int32_t v, bool rep,
				 xd_cold_cell cells[XD_COLD_N_COOC_LAMBDAS + 1])
{
	int			n = ce->n_items;

	xd_standardise(cooc, ce->keep, n, ce->zp);
	for (int l = 0; l < XD_COLD_N_COOC_LAMBDAS; l++)
	{
		for (int i = 0; i < n; i++)
			ce->score[i] = ce->zc[i] + xd_cold_cooc_lambdas[l] * ce->zp[i];
		xd_cell_add(&cells[l], xd_cold_rank_in(ce->score, ce->keep, n, v), rep, ce->band[v]);
	}
	/* ctxpop / (ctxpop + 1) < 1: a tie-break far below any co-occurrence step */
	for (int i = 0; i < n; i++)
		ce->score[i] = cooc[i] + 1e-6 * ce->ctxpop[i] / (ce->ctxpop[i] + 1.0);
	xd_cell_add(&cells[XD_COLD_COOC_ALONE], xd_cold_rank_in(ce->score, ce->keep, n, v), rep,
				ce->band[v]);
}

/*
 * cmml's scores, standardised in ce->zc by the caller, blended with each
 * prior at each lambda (coldeval.h): the query v's rank under each into
 * cells[prior][lambda]
 */
static void
xd_ce_blends(xd_ce *ce, const double *sim, int32_t v, bool rep,
			 xd_cold_cell cells[XD_COLD_N_PRIORS][XD_COLD_N_LAMBDAS])
{
	int			n = ce->n_items;

	for (int p = 0; p < XD_COLD_N_PRIORS; p++)
	{
		if (p != XD_COLD_PRIOR_ITEM_SIM)
		{
			for (int i = 0; i < n; i++)
				ce->score[i] = log1p(ce->ctxpop[i]);
			xd_standardise(ce->score, ce->keep, n, ce->zp);
		}
		else
			xd_standardise(sim, ce->keep, n, ce->zp);
		for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
		{
			/* standardised scores are far below 1e6: the support's items first */
			for (int i = 0; i < n; i++)
				ce->score[i] = ce->zc[i] + xd_cold_blend_lambdas[l] * ce->zp[i] +
					(p == XD_COLD_PRIOR_SUPPORT_FIRST && ce->in_support[i] ? 1e6 : 0.0);
			xd_cell_add(&cells[p][l], xd_cold_rank_in(ce->score, ce->keep, n, v), rep, ce->band[v]);
		}
	}
}

/* one cold user: supports of each K, then every query under every method */
static xd_status
xd_ce_cold_user(xd_ce *ce, int32_t u, int kmax, xd_coldeval_result *out)
{
	const xd_holdout *h = ce->h;
	const xd_coldeval_opts *o = ce->o;
	int64_t		a = h->off[u],
				b = h->off[u + 1];
	int64_t		qend = b - a - kmax > o->max_query ? a + kmax + o->max_query : b;
	xd_status	st;

	for (int ki = 0; ki < o->n_ks; ki++)
	{
		int			k = o->ks[ki];
		double		t0;

		if ((st = xd_ce_support(ce, a, k)) != XD_OK)
			return st;
		if (ce->cold)
		{
			t0 = xd_clock_seconds();
			if ((st = xd_cold_encode(ce->cold, ce->model, &ce->s, &ce->cmml[ki])) != XD_OK)
				return st;
			out->cell[ki][XD_COLD_CMML].seconds += xd_clock_seconds() - t0;
			out->cell[ki][XD_COLD_CMML].rho += ce->cmml[ki].rho;
		}
		t0 = xd_clock_seconds();
		st = xd_cold_finetune(ce->ft, ce->model, &ce->s, ce->e0, o->finetune_steps,
							  o->finetune_lr, &ce->fine[ki]);
		if (st != XD_OK)
			return st;
		out->cell[ki][XD_COLD_FINETUNE].seconds += xd_clock_seconds() - t0;
	}
	for (int ki = 0; ki < o->n_ks && ce->cold && o->probe_priors; ki++)
	{
		xd_ce_item_sim(ce, a, o->ks[ki], ce->sim + (size_t) ki * ce->n_items);
		if (ce->co_n)
			xd_ce_cooc_scores(ce, a, o->ks[ki], o->cooc_self ? o->cooc_self[u] : -1,
							  ce->cooc + (size_t) ki * XD_COLD_N_COOC_KINDS * ce->n_items);
	}
	for (int64_t q = a + kmax; q < qend; q++)
	{
		int32_t		v = h->items[q];
		const xd_schema *sc = &ce->ds->enc.schema;

		if (xd_hooks_stopped(&o->hooks))
			return XD_ECANCELLED;
		if ((st = xd_ce_outputs(ce, q)) != XD_OK)
			return st;
		xd_ce_ctxpop(ce, xd_context_cell(&ce->ds->enc, h->num + (size_t) q * sc->n_num,
										 h->codes + (size_t) q * sc->n_codes));
		for (int ki = 0; ki < o->n_ks; ki++)
		{
			int			k = o->ks[ki];
			bool		rep;
			double		cmml_rank = 0.0,
						sf_rank;

			/* the support's items other than the query's own are excluded */
			memset(ce->keep, 1, ce->n_items);
			memset(ce->in_support, 0, sizeof(int32_t) * ce->n_items);
			for (int i = 0; i < k; i++)
			{
				ce->in_support[h->items[a + i]]++;
				if (h->items[a + i] != v)
					ce->keep[h->items[a + i]] = 0;
			}
			rep = ce->in_support[v] > 0;
			if (ce->cold)
			{
				if ((st = xd_cold_score_outputs(ce->cold, ce->model, &ce->cmml[ki], ce->c, &ce->io,
												 ce->fs)) != XD_OK)
					return st;
				cmml_rank = xd_ce_rank_floats(ce, v, rep, &out->cell[ki][XD_COLD_CMML]);
				if (o->probe_priors)
				{
					xd_standardise(ce->score, ce->keep, ce->n_items, ce->zc);
					xd_ce_blends(ce, ce->sim + (size_t) ki * ce->n_items, v, rep,
								 out->blend[ki]);
					for (int kind = 0; kind < XD_COLD_N_COOC_KINDS && ce->co_n; kind++)
						xd_ce_cooc_cells(ce, ce->cooc + ((size_t) ki * XD_COLD_N_COOC_KINDS + kind) *
										 ce->n_items, v, rep, out->cooc[ki][kind]);
				}
			}
			if ((st = xd_cold_score_outputs(ce->ft, ce->model, &ce->fine[ki], ce->c, &ce->io,
											 ce->fs)) != XD_OK)
				return st;
			xd_ce_rank_floats(ce, v, rep, &out->cell[ki][XD_COLD_FINETUNE]);
			for (int i = 0; i < ce->n_items; i++)
				ce->score[i] = ce->ds->item_train_count[i];
			xd_cell_add(&out->cell[ki][XD_COLD_POP_DOMAIN],
						xd_cold_rank_in(ce->score, ce->keep, ce->n_items, v), rep, ce->band[v]);
			xd_cell_add(&out->cell[ki][XD_COLD_POP_CONTEXT],
						xd_cold_rank_in(ce->ctxpop, ce->keep, ce->n_items, v), rep, ce->band[v]);
			/* ctxpop < 2 whatever the counts: a support item always ranks first */
			for (int i = 0; i < ce->n_items; i++)
				ce->score[i] = ce->ctxpop[i] / (ce->ctxpop[i] + 1.0) + 2.0 * ce->in_support[i];
			sf_rank = xd_cold_rank_in(ce->score, ce->keep, ce->n_items, v);
			xd_cell_add(&out->cell[ki][XD_COLD_SUPPORT_FIRST], sf_rank, rep, ce->band[v]);
			if (ce->cold && !rep)
				out->new_hits[ki][cmml_rank <= 10.0][sf_rank <= 10.0]++;
		}
	}
	return XD_OK;
}

/* one warm comparison user: the warm path on its rows after the trained ones */
static xd_status
xd_ce_warm_user(xd_ce *ce, int32_t u, xd_cold_cell *cell)
{
	const xd_holdout *h = ce->h;
	const xd_dataset *ds = ce->ds;
	int32_t		id = h->warm[u];
	int64_t		a = h->off[u] + h->warm_rows[u],
				b = h->off[u + 1];
	xd_seen		seen = {ds->user_train_off, ds->user_train_items, true};
	xd_status	st;

	if (b - a > ce->o->max_query)
		b = a + ce->o->max_query;
	for (int64_t q = a; q < b; q++)
	{
		int32_t		v = h->items[q];

		if ((st = xd_ce_outputs(ce, q)) != XD_OK)
			return st;
		/* its training items are its history (the repeat term, core.h) */
		if ((st = xd_item_outputs_score_unseen(ce->model, &ce->io, &id, 1, &seen, ce->fs)) != XD_OK)
			return st;
		memset(ce->keep, 1, ce->n_items);
		for (int64_t j = ds->user_train_off[id]; j < ds->user_train_off[id + 1]; j++)
			if (ds->user_train_items[j] != v)
				ce->keep[ds->user_train_items[j]] = 0;
		xd_ce_rank_floats(ce, v, xd_dataset_seen(ds, id, v), cell);
	}
	return XD_OK;
}

static void
xd_ce_free(xd_ce *ce)
{
	xd_cold_free(ce->ft);
	free(ce->io_buf);
	free(ce->c);
	free(ce->fs);
	free(ce->score);
	free(ce->ctxpop);
	free(ce->keep);
	free(ce->band);
	free(ce->in_support);
	free(ce->cells);
	free(ce->e0);
	free(ce->ebar);
	free(ce->sim);
	free(ce->zc);
	free(ce->zp);
	free(ce->co_n);
	free(ce->cooc);
	free(ce->self_has);
	xd_support_free(&ce->s);
	for (int k = 0; k < XD_COLD_MAX_KS; k++)
	{
		xd_cold_task_free(&ce->cmml[k]);
		xd_cold_task_free(&ce->fine[k]);
	}
}

xd_status
xd_coldeval_run(xd_model *model, xd_cold *cold, const xd_dataset *ds,
				const xd_holdout *h, const xd_coldeval_opts *o, xd_coldeval_result *out)
{
	xd_ce		ce;
	const xd_schema *sc = &ds->enc.schema;
	int			kmax = 0;
	int64_t		n_train;
	xd_status	st = XD_OK;

	memset(out, 0, sizeof(*out));
	memset(&ce, 0, sizeof(ce));
	if (!ds->finalized || ds->has_ratings || o->n_ks < 1 || o->n_ks > XD_COLD_MAX_KS ||
		o->max_query < 1 || model->domain->n_items != ds->n_items)
		return XD_EINVAL;
	for (int i = 0; i < o->n_ks; i++)
	{
		if (o->ks[i] < 1 || o->ks[i] * (1 + o->n_neg) > xd_model_max_rows(model))
			return XD_EINVAL;
		kmax = o->ks[i] > kmax ? o->ks[i] : kmax;
	}
	out->n_ks = o->n_ks;
	memcpy(out->ks, o->ks, sizeof(o->ks));
	ce.model = model;
	ce.cold = cold;
	ce.ds = ds;
	ce.h = h;
	ce.o = o;
	ce.n_items = ds->n_items;
	ce.m = sc->m;
	ce.per_item = sc->n_item_num + sc->n_item_codes > 0;
	ce.io_buf = malloc(sizeof(float) * xd_item_outputs_floats(model, ce.per_item));
	ce.c = malloc(sizeof(float) * (ce.m > 0 ? ce.m : 1));
	ce.fs = malloc(sizeof(float) * ce.n_items);
	ce.score = malloc(sizeof(double) * ce.n_items);
	ce.ctxpop = malloc(sizeof(double) * ce.n_items);
	ce.keep = malloc(ce.n_items);
	ce.band = malloc(ce.n_items > 0 ? ce.n_items : 1);
	ce.in_support = malloc(sizeof(int32_t) * ce.n_items);
	ce.e0 = malloc(sizeof(float) * model->cfg.d);
	ce.ebar = malloc(sizeof(float) * model->cfg.d);
	ce.sim = malloc(sizeof(double) * (size_t) o->n_ks * ce.n_items);
	ce.zc = malloc(sizeof(double) * ce.n_items);
	ce.zp = malloc(sizeof(double) * ce.n_items);
	n_train = ds->n_split[XD_SPLIT_TRAIN];
	ce.cells = malloc(sizeof(xd_cell_row) * (size_t) (n_train > 0 ? n_train : 1));
	if (!ce.io_buf || !ce.c || !ce.fs || !ce.score || !ce.ctxpop || !ce.keep ||
		!ce.band || !ce.in_support || !ce.e0 || !ce.ebar || !ce.sim || !ce.zc || !ce.zp || !ce.cells)
	{
		st = XD_ENOMEM;
		goto done;
	}
	if ((st = xd_ce_bands(&ce)) != XD_OK)
		goto done;
	if (cold && o->probe_priors && (st = xd_ce_cooc_counts(&ce)) != XD_OK)
		goto done;
	if ((st = xd_cold_new(&model->cfg, NULL, 0, false, 1, xd_model_max_rows(model), &ce.ft)) != XD_OK ||
		(st = xd_support_init(&ce.s, kmax * (1 + o->n_neg), ce.m)) != XD_OK)
		goto done;
	for (int k = 0; k < o->n_ks; k++)
		if ((cold && (st = xd_cold_task_init(&ce.cmml[k], cold)) != XD_OK) ||
			(st = xd_cold_task_init(&ce.fine[k], ce.ft)) != XD_OK)
			goto done;
	xd_item_outputs_bind(&ce.io, model, ce.per_item, ce.io_buf);
	xd_cold_mean_user(model, ds, ce.e0);
	for (int64_t i = 0; i < n_train; i++)
	{
		int64_t		row = ds->split_rows[XD_SPLIT_TRAIN][i];

		ce.cells[i].cell = xd_context_cell(&ds->enc, ds->num + (size_t) row * sc->n_num,
										   ds->codes + (size_t) row * sc->n_codes);
		ce.cells[i].item = ds->items[row];
	}
	ce.n_cells = n_train;
	qsort(ce.cells, (size_t) n_train, sizeof(xd_cell_row), xd_cell_row_cmp);

	for (int32_t u = 0; u < h->n_users && st == XD_OK; u++)
	{
		if (h->warm[u] >= 0)
		{
			st = xd_ce_warm_user(&ce, u, &out->cell[o->n_ks - 1][XD_COLD_WARM]);
			out->n_warm_users++;
		}
		else if (h->off[u + 1] - h->off[u] > kmax)
		{
			st = xd_ce_cold_user(&ce, u, kmax, out);
			out->n_cold_users++;
		}
	}
	for (int k = 0; k < o->n_ks; k++)
	{
		for (int m = 0; m < XD_COLD_N_METHODS; m++)
			xd_cell_finish(&out->cell[k][m], m == XD_COLD_CMML ? out->n_cold_users : 0);
		for (int p = 0; p < XD_COLD_N_PRIORS; p++)
			for (int l = 0; l < XD_COLD_N_LAMBDAS; l++)
				xd_cell_finish(&out->blend[k][p][l], 0);
		for (int kind = 0; kind < XD_COLD_N_COOC_KINDS; kind++)
			for (int l = 0; l <= XD_COLD_N_COOC_LAMBDAS; l++)
				xd_cell_finish(&out->cooc[k][kind][l], 0);
	}
done:
	xd_ce_free(&ce);
	return st;
}
