/*
 * cold.c - the CMML cold-start module (cold.h): supports, the context
 * encoder (paper eq. 6, pooled), the heads that set a cold user's side of
 * the frozen MMT-Net (its embedding, and FiLM per tower layer, eq. 11 with
 * gamma = 1 + delta gamma), scoring, one episode's loss and its gradient,
 * and the fine-tuning baseline. All passes are batched over rows with BLAS.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/cold.h"
#include "xdrec/serve.h"

/* Scratch for cap rows of a support or a query. */
struct xd_cold_ws
{
	int			cap;
	/* support side: the encoder */
	float	   *z;				/* [cap * in] [e_v ; c* ; y] */
	float	   *a1;				/* [cap * hidden] */
	float	   *a2;				/* [cap * hidden] */
	float	   *da1;			/* [cap * hidden] */
	float	   *da2;			/* [cap * hidden] */
	float	   *dC;				/* [hidden] */
	/* query side: the modulated user tower */
	float	   *gate;			/* [cap * d] sigma(W_CU c*) of each row */
	float	   *hv;				/* [cap * d] h_v^L of each row's item */
	float	   *sc;				/* [cap] s_c */
	float	   *rep;			/* [cap] the repeat term's r(c) */
	float	  **h;				/* [L + 1][cap * d]: h^0 after DRR's residual */
	float	  **zl;				/* [L][cap * d]: W h + b, before FiLM */
	float	   *pre0;			/* [cap * d] h^0 before the residual */
	float	   *T0;				/* [cap * d] its tanh */
	float	   *dh;				/* [cap * d] */
	float	   *dn;				/* [cap * d] */
	float	   *score;			/* [cap] */
	float	   *dscore;			/* [cap] */
	float	   *de;				/* [d] */
	float	   *dgamma;			/* [L * d] */
	float	   *dbeta;			/* [L * d] */
	float		ds_u;
	float		drho;			/* dL/d rho */
	float	   *pz;				/* [cap * n_prior] each row's prior values z */
	float	   *dlam;			/* [n_lam] dL/d lambda */
	int32_t    *prow;			/* [n_prior] rows of N of one context */
	/*
	 * serving (xd_cold_prior_keep): each prior feature's last row of N as
	 * log(1 + N) - mu over the items, [n_prior * n_items], and that row
	 * (-1: none); NULL in training, which changes N
	 */
	float	   *keep;
	int32_t    *keep_row;
	float	   *keep_coef;		/* [n_lam] a call's lambda * isd of each feature and band */
	xd_cold_task task;			/* the episode's */
};

/* ---------------------------------------------------------------- objects */

static void
xd_cold_ws_free(xd_cold_ws *w, int L)
{
	if (!w)
		return;
	free(w->z);
	free(w->a1);
	free(w->a2);
	free(w->da1);
	free(w->da2);
	free(w->dC);
	free(w->gate);
	free(w->hv);
	free(w->sc);
	free(w->rep);
	if (w->h)
		for (int l = 0; l <= L; l++)
			free(w->h[l]);
	free(w->h);
	if (w->zl)
		for (int l = 0; l < L; l++)
			free(w->zl[l]);
	free(w->zl);
	free(w->pre0);
	free(w->T0);
	free(w->dh);
	free(w->dn);
	free(w->score);
	free(w->dscore);
	free(w->de);
	free(w->dgamma);
	free(w->dbeta);
	free(w->pz);
	free(w->dlam);
	free(w->prow);
	free(w->keep);
	free(w->keep_row);
	free(w->keep_coef);
	xd_cold_task_free(&w->task);
	free(w);
}

static xd_status
xd_cold_ws_new(const xd_cold *c, int cap, xd_cold_ws **out)
{
	xd_cold_ws *w = calloc(1, sizeof(*w));
	size_t		cd = (size_t) cap * c->d;
	size_t		ch = (size_t) cap * c->hidden;
	int			L = c->n_layers;
	bool		ok;

	*out = NULL;
	if (!w)
		return XD_ENOMEM;
	w->cap = cap;
	w->z = malloc(sizeof(float) * (size_t) cap * c->in);
	w->a1 = malloc(sizeof(float) * ch);
	w->a2 = malloc(sizeof(float) * ch);
	w->da1 = malloc(sizeof(float) * ch);
	w->da2 = malloc(sizeof(float) * ch);
	w->dC = malloc(sizeof(float) * c->hidden);
	w->gate = malloc(sizeof(float) * cd);
	w->hv = malloc(sizeof(float) * cd);
	w->sc = malloc(sizeof(float) * cap);
	w->rep = malloc(sizeof(float) * cap);
	w->h = calloc(L + 1, sizeof(float *));
	w->zl = calloc(L + 1, sizeof(float *));
	w->pre0 = malloc(sizeof(float) * cd);
	w->T0 = malloc(sizeof(float) * cd);
	w->dh = malloc(sizeof(float) * cd);
	w->dn = malloc(sizeof(float) * cd);
	w->score = malloc(sizeof(float) * cap);
	w->dscore = malloc(sizeof(float) * cap);
	w->de = malloc(sizeof(float) * c->d);
	w->dgamma = malloc(sizeof(float) * (size_t) (L + 1) * c->d);
	w->dbeta = malloc(sizeof(float) * (size_t) (L + 1) * c->d);
	w->pz = malloc(sizeof(float) * (size_t) cap * (c->n_prior + 1));
	w->dlam = malloc(sizeof(float) * (size_t) (c->n_lam + 1));
	w->prow = malloc(sizeof(int32_t) * (size_t) (c->n_prior + 1));
	ok = w->pz && w->dlam && w->prow && w->z && w->a1 && w->a2 && w->da1 && w->da2 && w->dC && w->gate &&
		w->hv && w->sc && w->rep && w->h && w->zl && w->pre0 && w->T0 && w->dh && w->dn &&
		w->score && w->dscore && w->de && w->dgamma && w->dbeta;
	for (int l = 0; ok && l <= L; l++)
		ok = (w->h[l] = malloc(sizeof(float) * cd)) != NULL &&
			(l == L || (w->zl[l] = malloc(sizeof(float) * cd)) != NULL);
	if (!ok || xd_cold_task_init(&w->task, c) != XD_OK)
	{
		xd_cold_ws_free(w, L);
		return XD_ENOMEM;
	}
	*out = w;
	return XD_OK;
}

static int	xd_cold_feature_values(const xd_feature *ft);

int
xd_cold_prior_rows(const xd_schema *s)
{
	int			rows = 1;

	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];

		if (ft->scope != XD_SCOPE_INTERACTION)
			continue;
		rows += xd_cold_feature_values(ft);
	}
	return rows;
}

bool
xd_cold_prior_fits(const xd_schema *s, int32_t n_items)
{
	return n_items >= 1 &&
		(size_t) xd_cold_prior_rows(s) * (size_t) n_items * sizeof(float) <= XD_COLD_PRIOR_MAX_BYTES;
}

/* the values of one interaction feature in the prior: numeric eighths, ... */
static int
xd_cold_feature_values(const xd_feature *ft)
{
	return ft->type == XD_TYPE_NUMERIC ? 8 :
		(ft->type == XD_TYPE_BOOLEAN ? 2 : ft->width + 1);
}

int32_t
xd_cold_joint_cells(const xd_schema *s, int32_t n_items)
{
	int			F = 0;
	double		cells = 1.0;

	for (int f = 0; f < s->n_features; f++)
	{
		if (s->features[f].scope != XD_SCOPE_INTERACTION)
			continue;
		F++;
		cells *= xd_cold_feature_values(&s->features[f]);
	}
	/* one feature's cells are its marginal rows already */
	if (F < 2 || n_items < 1 ||
		(cells + xd_cold_prior_rows(s)) * (double) n_items * sizeof(float) >
		(double) XD_COLD_PRIOR_MAX_BYTES)
		return 0;
	return (int32_t) cells;
}

/* the prior's layout: each interaction feature's block in c and rows of N */
static xd_status
xd_cold_prior_layout(xd_cold *c, const xd_schema *s, int32_t n_items, bool joint)
{
	int			F = 0,
				base = 1;
	int32_t		stride = 1;

	for (int f = 0; f < s->n_features; f++)
		F += s->features[f].scope == XD_SCOPE_INTERACTION;
	c->marg_rows = xd_cold_prior_rows(s);
	c->joint_cells = joint ? xd_cold_joint_cells(s, n_items) : 0;
	c->n_prior = F + 1 + (c->joint_cells > 0);
	c->n_lam = c->n_prior * XD_COLD_PRIOR_BANDS;
	c->prior_rows = c->marg_rows + c->joint_cells;
	c->n_items = n_items;
	c->pf_off = malloc(sizeof(int32_t) * (size_t) (F + 1));
	c->pf_width = malloc(sizeof(int32_t) * (size_t) (F + 1));
	c->pf_base = malloc(sizeof(int32_t) * (size_t) (F + 1));
	c->pf_stride = malloc(sizeof(int32_t) * (size_t) (F + 1));
	c->pf_type = malloc((size_t) (F + 1));
	c->prior_mu = calloc((size_t) c->prior_rows, sizeof(float));
	c->prior_isd = calloc((size_t) c->prior_rows, sizeof(float));
	c->prior_band = calloc((size_t) n_items, 1);
	c->log1p_count = malloc(sizeof(float) * XD_COLD_LOG1P_COUNTS);
	if (!c->pf_off || !c->pf_width || !c->pf_base || !c->pf_stride || !c->pf_type ||
		!c->prior_mu || !c->prior_isd || !c->prior_band || !c->log1p_count)
		return XD_ENOMEM;
	for (int k = 0; k < XD_COLD_LOG1P_COUNTS; k++)
		c->log1p_count[k] = log1pf((float) k);
	F = 0;
	for (int f = 0; f < s->n_features; f++)
	{
		const xd_feature *ft = &s->features[f];

		if (ft->scope != XD_SCOPE_INTERACTION)
			continue;
		c->pf_off[F] = ft->offset;
		c->pf_width[F] = ft->width;
		c->pf_type[F] = (uint8_t) ft->type;
		c->pf_stride[F] = stride;
		stride *= c->joint_cells > 0 ? xd_cold_feature_values(ft) : 1;
		c->pf_base[F++] = base;
		base += xd_cold_feature_values(ft);
	}
	return XD_OK;
}

xd_status
xd_cold_new(const xd_config *cfg, const xd_schema *prior, int32_t n_items, bool film,
			int hidden, int cap, xd_cold **out)
{
	return xd_cold_new_joint(cfg, prior, false, n_items, film, hidden, cap, out);
}

xd_status
xd_cold_new_joint(const xd_config *cfg, const xd_schema *prior, bool joint, int32_t n_items,
				  bool film, int hidden, int cap, xd_cold **out)
{
	xd_cold    *c;
	int			L = cfg->n_tower_layers;
	/* ... and the co-occurrence prior's three, added after (xd_cold_cooc_new) */
	int			n_max = 6 + 4 * L + 2 + 3 + 4 + 3;
	int			np = 0;
	xd_status	st = XD_OK;
	char		name[XD_PARAM_NAME_LEN];

	*out = NULL;
	if (hidden < 1 || cap < 1 || xd_config_check(cfg) != XD_OK)
		return XD_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return XD_ENOMEM;
	c->d = cfg->d;
	c->m = cfg->m;
	c->in = cfg->d + cfg->m + 1;
	c->hidden = hidden;
	c->n_layers = L;
	c->film = film;
	c->feedback = cfg->feedback;
	c->params = calloc(n_max, sizeof(xd_param));
	c->Wg = calloc(L + 1, sizeof(xd_param *));
	c->bg = calloc(L + 1, sizeof(xd_param *));
	c->Wb = calloc(L + 1, sizeof(xd_param *));
	c->bb = calloc(L + 1, sizeof(xd_param *));
	if (!c->params || !c->Wg || !c->bg || !c->Wb || !c->bb)
	{
		xd_cold_free(c);
		return XD_ENOMEM;
	}
	if (prior && (n_items < 1 || prior->m != cfg->m))
	{
		xd_cold_free(c);
		return XD_EINVAL;
	}
	if (prior && (st = xd_cold_prior_layout(c, prior, n_items, joint)) != XD_OK)
	{
		xd_cold_free(c);
		return st;
	}

	/* cold modules are shared modules of their version: frozen when serving */
#define XD_COLD_PARAM(field, nm, r, cl) \
	do { if (st == XD_OK) { \
		st = xd_param_alloc(&c->params[np], (nm), (r), (cl), XD_GROUP_SHARED, false); \
		(field) = &c->params[np++]; \
	} } while (0)

	XD_COLD_PARAM(c->W1, "cold.enc.W1", hidden, c->in);
	XD_COLD_PARAM(c->b1, "cold.enc.b1", 1, hidden);
	XD_COLD_PARAM(c->W2, "cold.enc.W2", hidden, hidden);
	XD_COLD_PARAM(c->b2, "cold.enc.b2", 1, hidden);
	XD_COLD_PARAM(c->We, "cold.emb.W", c->d, hidden);
	XD_COLD_PARAM(c->be, "cold.emb.b", 1, c->d);
	for (int l = 0; film && l < L; l++)
	{
		snprintf(name, sizeof(name), "cold.film.g%d.W", l + 1);
		XD_COLD_PARAM(c->Wg[l], name, c->d, hidden);
		snprintf(name, sizeof(name), "cold.film.g%d.b", l + 1);
		XD_COLD_PARAM(c->bg[l], name, 1, c->d);
		snprintf(name, sizeof(name), "cold.film.b%d.W", l + 1);
		XD_COLD_PARAM(c->Wb[l], name, c->d, hidden);
		snprintf(name, sizeof(name), "cold.film.b%d.b", l + 1);
		XD_COLD_PARAM(c->bb[l], name, 1, c->d);
	}
	if (cfg->feedback == XD_EXPLICIT)
	{
		XD_COLD_PARAM(c->ws_u, "cold.bias.W", 1, hidden);
		XD_COLD_PARAM(c->bs_u, "cold.bias.b", 1, 1);
	}
	/* the task's repeat weight, beside the model's repeat term (core.h) */
	if (cfg->repeat && cfg->feedback == XD_IMPLICIT)
	{
		XD_COLD_PARAM(c->w_rho, "cold.rep.W", 1, hidden);
		XD_COLD_PARAM(c->b_rho, "cold.rep.b", 1, 1);
	}
	/* own items first comes with the prior (stored with it), beside rho */
	if (prior && c->w_rho)
		XD_COLD_PARAM(c->floor, "cold.rep.floor", 1, 1);
	if (prior)
	{
		XD_COLD_PARAM(c->prior_N, "cold.prior.N", c->prior_rows, n_items);
		XD_COLD_PARAM(c->lam_W, "cold.prior.W", c->n_lam, hidden);
		XD_COLD_PARAM(c->lam_k, "cold.prior.k", 1, c->n_lam);
		XD_COLD_PARAM(c->lam_b, "cold.prior.b", 1, c->n_lam);
	}
#undef XD_COLD_PARAM
	c->n_params = np;
	if (st == XD_OK)
		st = xd_cold_ws_new(c, cap, &c->ws);
	if (st != XD_OK)
	{
		xd_cold_free(c);
		return st;
	}
	*out = c;
	return XD_OK;
}

void
xd_cold_init(xd_cold *c, xd_rng *rng)
{
	xd_params_zero(c->params, c->n_params);
	xd_param_xavier(c->W1, 1.0f, rng);
	xd_param_xavier(c->W2, 1.0f, rng);
	xd_param_xavier(c->We, 1.0f, rng);
	/* delta gamma and beta start near 0: the plain tower (PEERS.md, CMML) */
	for (int l = 0; c->film && l < c->n_layers; l++)
	{
		xd_param_xavier(c->Wg[l], 0.01f, rng);
		xd_param_xavier(c->Wb[l], 0.01f, rng);
	}
	if (c->ws_u)
		xd_param_xavier(c->ws_u, 0.01f, rng);
}

void
xd_cold_free(xd_cold *c)
{
	if (!c)
		return;
	xd_cold_ws_free(c->ws, c->n_layers);
	xd_params_free(c->params, c->n_params);
	free(c->Wg);
	free(c->bg);
	free(c->Wb);
	free(c->bb);
	free(c->pf_off);
	free(c->pf_width);
	free(c->pf_base);
	free(c->pf_type);
	free(c->pf_stride);
	free(c->prior_mu);
	free(c->prior_isd);
	free(c->prior_band);
	free(c->log1p_count);
	free(c);
}

/* ---------------------------------------------------------------- the prior */

/* the value of c's interaction feature f in the prior: its row of N past the feature's base */
static int
xd_cold_prior_value(const xd_cold *c, const float *ctx, int f)
{
	const float *x = ctx + c->pf_off[f];
	int			v;

	if (c->pf_type[f] == XD_TYPE_NUMERIC)
	{
		v = (int) floorf(x[0] * 8.0f);	/* missing encodes as 0 */
		return v < 0 ? 0 : (v > 7 ? 7 : v);
	}
	if (c->pf_type[f] == XD_TYPE_BOOLEAN)
		return x[0] > 0.5f;
	/* a one-hot's slot; none set (missing) is the last row */
	for (int j = 0; j < c->pf_width[f]; j++)
		if (x[j] > 0.5f)
			return j;
	return c->pf_width[f];
}

void
xd_cold_prior_rows_of(const xd_cold *c, const float *ctx, int32_t *rows)
{
	int			F = c->n_prior - 1 - (c->joint_cells > 0);
	int32_t		cell = 0;

	for (int f = 0; f < F; f++)
	{
		int			v = xd_cold_prior_value(c, ctx, f);

		rows[f] = c->pf_base[f] + v;
		cell += c->pf_stride[f] * v;
	}
	rows[F] = 0;
	if (c->joint_cells > 0)
		rows[F + 1] = c->marg_rows + cell;	/* the joint cell's row */
}

/* log1pf(n) of a count n of N: looked up in tab (xd_cold.log1p_count) below XD_COLD_LOG1P_COUNTS */
static inline float
xd_cold_log1p(const float *tab, float n)
{
	if (n >= 0.0f && n < (float) XD_COLD_LOG1P_COUNTS && (float) (int) n == n)
		return tab[(int) n];
	return log1pf(n);
}

float
xd_cold_cell_pop(const xd_cold *c, const float *ctx, int32_t v)
{
	int			F;
	const float *N;
	float		least = INFINITY;

	if (!c || !c->prior_N || v < 0 || v >= c->n_items)
		return 0.0f;
	N = c->prior_N->w;
	/* the interaction features' marginal rows (a joint cell is not read) */
	F = c->n_prior - 1 - (c->joint_cells > 0);
	for (int f = 0; f < F; f++)
	{
		float		t = xd_cold_log1p(c->log1p_count, N[(size_t) (c->pf_base[f] + xd_cold_prior_value(c, ctx, f)) *
											c->n_items + v]);

		least = t < least ? t : least;
	}
	return F > 0 ? least : xd_cold_log1p(c->log1p_count, N[v]);
}

xd_status
xd_cold_prior_count(xd_cold *c, const xd_dataset *ds)
{
	int64_t		n = ds->n_split[XD_SPLIT_TRAIN];
	float	   *cbuf;
	int32_t    *rows;
	float	   *N;

	if (!c->prior_N || ds->n_items != c->n_items || ds->enc.schema.m != c->m)
		return XD_EINVAL;
	cbuf = malloc(sizeof(float) * (size_t) (c->m > 0 ? c->m : 1));
	rows = malloc(sizeof(int32_t) * (size_t) c->n_prior);
	if (!cbuf || !rows)
	{
		free(cbuf);
		free(rows);
		return XD_ENOMEM;
	}
	N = c->prior_N->w;
	memset(N, 0, sizeof(float) * (size_t) c->prior_rows * c->n_items);
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		row = ds->split_rows[XD_SPLIT_TRAIN][i];

		xd_dataset_encode(ds, row, -1, cbuf);
		xd_cold_prior_rows_of(c, cbuf, rows);
		for (int f = 0; f < c->n_prior; f++)
			N[(size_t) rows[f] * c->n_items + ds->items[row]] += 1.0f;
	}
	free(cbuf);
	free(rows);
	return xd_cold_prior_ready(c);
}

static const float *xd_band_counts;	/* the sort's key: single-threaded, as the core is */

static int
xd_cmp_band(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;
	float		cx = xd_band_counts[x],
				cy = xd_band_counts[y];

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return (x > y) - (x < y);
}

/*
 * Each item's band from N's row 0 (the domain's rows): most chosen first
 * (ties by id), cut where they hold a third and two thirds of the rows
 */
static xd_status
xd_cold_prior_bands(xd_cold *c)
{
	int32_t    *order = malloc(sizeof(int32_t) * (size_t) c->n_items);
	const float *N0 = c->prior_N->w;
	double		total = 0.0,
				run = 0.0;

	if (!order)
		return XD_ENOMEM;
	for (int32_t i = 0; i < c->n_items; i++)
	{
		order[i] = i;
		total += N0[i];
	}
	xd_band_counts = N0;
	qsort(order, (size_t) c->n_items, sizeof(int32_t), xd_cmp_band);
	for (int32_t k = 0; k < c->n_items; k++)
	{
		int32_t		i = order[k];

		c->prior_band[i] = run < total / 3.0 ? 0 : (run < 2.0 * total / 3.0 ? 1 : 2);
		run += N0[i];
	}
	free(order);
	return XD_OK;
}

xd_status
xd_cold_prior_ready(xd_cold *c)
{
	/* N is new: no kept row holds */
	for (int f = 0; c->ws && c->ws->keep_row && f < c->n_prior; f++)
		c->ws->keep_row[f] = -1;
	if (c->floor && c->floor->w[0] != 0.0f && c->floor->w[0] != 1.0f)
		return XD_EINVAL;
	for (int r = 0; c->prior_N && r < c->prior_rows; r++)
	{
		const float *Nr = c->prior_N->w + (size_t) r * c->n_items;
		double		s = 0.0,
					s2 = 0.0,
					var;

		for (int32_t i = 0; i < c->n_items; i++)
		{
			double		l;

			/* counts below 2^24 are exact floats */
			if (!(Nr[i] >= 0.0f) || Nr[i] > 16777216.0f || Nr[i] != floorf(Nr[i]))
				return XD_EINVAL;
			l = log1p((double) Nr[i]);
			s += l;
			s2 += l * l;
		}
		s /= c->n_items;
		var = s2 / c->n_items - s * s;
		c->prior_mu[r] = (float) s;
		c->prior_isd[r] = var > 1e-12 ? (float) (1.0 / sqrt(var)) : 0.0f;
	}
	return c->prior_N ? xd_cold_prior_bands(c) : XD_OK;
}

/* an item's popularity band; a new item (v < 0) is in the tail */
static inline int
xd_cold_band(const xd_cold *c, int32_t v)
{
	return v >= 0 ? c->prior_band[v] : XD_COLD_PRIOR_BANDS - 1;
}

/*
 * z(r, v): row r's standardised log(1 + N) of item v (v < 0: a new item, 0
 * rows), less `self` rows (a counted row leaving itself out)
 */
static inline float
xd_cold_prior_z(const xd_cold *c, int32_t r, int32_t v, float self)
{
	float		n = v >= 0 ? c->prior_N->w[(size_t) r * c->n_items + v] - self : 0.0f;
	float		l = xd_cold_log1p(c->log1p_count, n > 0.0f ? n : 0.0f);

	return (l - c->prior_mu[r]) * c->prior_isd[r];
}

xd_param *
xd_cold_find_param(xd_cold *c, const char *name)
{
	for (int i = 0; i < c->n_params; i++)
		if (strcmp(c->params[i].name, name) == 0)
			return &c->params[i];
	return NULL;
}

/* ---------------------------------------------------------------- supports */

xd_status
xd_support_init(xd_support *s, int capacity, int m)
{
	memset(s, 0, sizeof(*s));
	if (capacity < 1 || m < 0)
		return XD_EINVAL;
	s->items = malloc(sizeof(int32_t) * capacity);
	s->c = malloc(sizeof(float) * (size_t) capacity * (m > 0 ? m : 1));
	s->label = malloc(sizeof(float) * capacity);
	if (!s->items || !s->c || !s->label)
	{
		xd_support_free(s);
		return XD_ENOMEM;
	}
	s->capacity = capacity;
	s->m = m;
	return XD_OK;
}

void
xd_support_free(xd_support *s)
{
	free(s->items);
	free(s->c);
	free(s->label);
	free(s->emb);
	memset(s, 0, sizeof(*s));
}

/*
 * Appends a positive and its n_neg negatives; item XD_SUPPORT_NEW_ITEM (a
 * new item, its embedding already in emb) has every trained item as a
 * possible negative, a trained item every other one.
 */
static xd_status
xd_support_append(xd_support *s, int32_t item, const float *c, float label,
				  int n_neg, int32_t n_items, const xd_feature_encoder *enc, xd_rng *rng)
{
	size_t		cb = sizeof(float) * (size_t) s->m;
	bool		is_new = item == XD_SUPPORT_NEW_ITEM;

	s->items[s->n] = item;
	memcpy(s->c + (size_t) s->n * s->m, c, cb);
	s->label[s->n++] = label;
	for (int k = 0; k < n_neg; k++)
	{
		/* uniform over the other items, as the model's own negatives (sample.c) */
		int32_t		vn = (int32_t) xd_rng_below(rng, (uint32_t) (is_new ? n_items : n_items - 1));
		float	   *cn = s->c + (size_t) s->n * s->m;

		if (!is_new && vn >= item)
			vn++;
		memcpy(cn, c, cb);
		if (enc)
			xd_encode_item(enc, vn, cn);
		s->items[s->n] = vn;
		s->label[s->n++] = 0.0f;
	}
	return XD_OK;
}

xd_status
xd_support_add(xd_support *s, int32_t item, const float *c, float label,
			   int n_neg, int32_t n_items, const xd_feature_encoder *enc, xd_rng *rng)
{
	if (n_neg < 0 || s->n + 1 + n_neg > s->capacity || item < 0 || item >= n_items ||
		(n_neg > 0 && n_items < 2))
		return XD_EINVAL;
	return xd_support_append(s, item, c, label, n_neg, n_items, enc, rng);
}

xd_status
xd_support_add_new(xd_support *s, const float *e, int d, const float *c, float label,
				   int n_neg, int32_t n_items, const xd_feature_encoder *enc, xd_rng *rng)
{
	if (n_neg < 0 || s->n + 1 + n_neg > s->capacity || d < 1 || (s->emb && d != s->d) ||
		(n_neg > 0 && n_items < 1))
		return XD_EINVAL;
	if (s->emb == NULL)
	{
		if (!(s->emb = malloc(sizeof(float) * (size_t) s->capacity * d)))
			return XD_ENOMEM;
		s->d = d;
	}
	memcpy(s->emb + (size_t) s->n * d, e, sizeof(float) * d);
	return xd_support_append(s, XD_SUPPORT_NEW_ITEM, c, label, n_neg, n_items, enc, rng);
}

uint64_t
xd_support_seed(const int32_t *items, const float *c, int n, int m, uint64_t seed)
{
	uint64_t	h = xd_hash_bytes(items, sizeof(int32_t) * (uint64_t) n, seed);

	return xd_hash_bytes(c, sizeof(float) * (uint64_t) n * m, h);
}

/* ---------------------------------------------------------------- tasks */

xd_status
xd_cold_task_init(xd_cold_task *t, const xd_cold *c)
{
	size_t		ld = (size_t) (c->n_layers + 1) * c->d;

	memset(t, 0, sizeof(*t));
	t->C = calloc(c->hidden, sizeof(float));
	t->e_u = calloc(c->d, sizeof(float));
	t->gamma = malloc(sizeof(float) * ld);
	t->beta = calloc(ld, sizeof(float));
	t->lambda = calloc((size_t) c->n_lam + 1, sizeof(float));
	if (!t->C || !t->e_u || !t->gamma || !t->beta || !t->lambda)
	{
		xd_cold_task_free(t);
		return XD_ENOMEM;
	}
	for (size_t i = 0; i < ld; i++)
		t->gamma[i] = 1.0f;
	return XD_OK;
}

void
xd_cold_task_free(xd_cold_task *t)
{
	free(t->C);
	free(t->e_u);
	free(t->gamma);
	free(t->beta);
	free(t->lambda);
	free(t->hist);
	free(t->cooc);
	free(t->cooc_in);
	memset(t, 0, sizeof(*t));
}

static int
xd_cmp_item(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* the support's positives as the task's history (xd_cold_task.hist) */
static xd_status
xd_cold_task_history(xd_cold_task *t, const xd_model *model, const xd_support *s)
{
	int			n = 0;
	int32_t    *h;

	t->n_hist = 0;
	if (!xd_model_has_repeat(model))
		return XD_OK;
	if (!(h = realloc(t->hist, sizeof(int32_t) * (size_t) (s->n > 0 ? s->n : 1))))
		return XD_ENOMEM;
	t->hist = h;
	for (int k = 0; k < s->n; k++)
		if (s->label[k] > 0.0f && s->items[k] != XD_SUPPORT_NEW_ITEM)
			h[n++] = s->items[k];
	qsort(h, (size_t) n, sizeof(int32_t), xd_cmp_item);
	for (int k = 0; k < n; k++)
		if (t->n_hist == 0 || h[t->n_hist - 1] != h[k])
			h[t->n_hist++] = h[k];
	return XD_OK;
}

/* 1 when item is in the task's history, else 0: g(h_ui) */
static float
xd_cold_hist_of(const xd_cold_task *t, int32_t item)
{
	return t->n_hist > 0 &&
		bsearch(&item, t->hist, (size_t) t->n_hist, sizeof(int32_t), xd_cmp_item) ? 1.0f : 0.0f;
}

/* y = W x + b for one vector (W rows x cols) */
static void
xd_affine(const xd_param *W, const xd_param *b, const float *x, float *y)
{
	memcpy(y, b->w, sizeof(float) * W->rows);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, W->rows, W->cols, 1.0f, W->w,
				W->cols, x, 1, 1.0f, y, 1);
}

xd_status
xd_cold_encode(xd_cold *c, xd_model *model, const xd_support *s, xd_cold_task *t)
{
	xd_workspace *mws = model->ws;
	xd_cold_ws *w = c->ws;
	int			n = s->n;
	int			d = c->d,
				m = c->m,
				H = c->hidden,
				in = c->in;
	const float *E = model->domain->E_v->w;
	const float *cstar;

	if (n < 1 || n > w->cap || n > mws->cap || s->m != m || model->cfg.d != d ||
		model->cfg.m != m || (c->n_prior > 0 && model->domain->n_items != c->n_items))
		return XD_EINVAL;
	for (int k = 0; k < n; k++)
		if (s->items[k] == XD_SUPPORT_NEW_ITEM ? (s->emb == NULL || s->d != d)
			: (s->items[k] < 0 || s->items[k] >= model->domain->n_items))
			return XD_EINVAL;

	/* c* of every support row through the frozen M1 (eq. 1-5) */
	mws->c = s->c;
	mws->n_ext = 0;
	xd_context_forward(model, n);
	cstar = mws->x[model->cfg.n_ctx_layers];

	/* eq. 6: z_k = [e_v ; c* ; y], two ReLU layers, mean-pooled */
	for (int k = 0; k < n; k++)
	{
		float	   *zk = w->z + (size_t) k * in;

		/* a new item: its mapped embedding stands for its row of E_v */
		memcpy(zk, s->items[k] == XD_SUPPORT_NEW_ITEM ? s->emb + (size_t) k * d
			   : E + (size_t) s->items[k] * d, sizeof(float) * d);
		memcpy(zk + d, cstar + (size_t) k * m, sizeof(float) * m);
		zk[d + m] = s->label[k];
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, in, 1.0f, w->z, in,
				c->W1->w, in, 0.0f, w->a1, H);
	xd_relu_bias_rows(w->a1, c->b1->w, n, H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, H, 1.0f, w->a1, H,
				c->W2->w, H, 0.0f, w->a2, H);
	xd_relu_bias_rows(w->a2, c->b2->w, n, H);
	memset(t->C, 0, sizeof(float) * H);
	for (int k = 0; k < n; k++)
		xd_add_inplace(t->C, w->a2 + (size_t) k * H, H);
	for (int j = 0; j < H; j++)
		t->C[j] /= (float) n;
	t->n_support = n;

	/* the heads: the user's embedding, FiLM per tower layer, its bias */
	xd_affine(c->We, c->be, t->C, t->e_u);
	for (int l = 0; c->film && l < c->n_layers; l++)
	{
		float	   *g = t->gamma + (size_t) l * d;

		xd_affine(c->Wg[l], c->bg[l], t->C, g);
		for (int k = 0; k < d; k++)
			g[k] += 1.0f;		/* gamma = 1 + delta gamma */
		xd_affine(c->Wb[l], c->bb[l], t->C, t->beta + (size_t) l * d);
	}
	t->s_u = 0.0f;
	if (c->ws_u)
		t->s_u = cblas_sdot(H, c->ws_u->w, 1, t->C, 1) + c->bs_u->w[0];
	t->rho = 0.0f;
	if (c->w_rho)
		t->rho = cblas_sdot(H, c->w_rho->w, 1, t->C, 1) + c->b_rho->w[0];
	/* the prior's weights: lambda = W_l C + k_l / K + b_l */
	{
		int			npos = 0;

		for (int k = 0; k < n; k++)
			npos += c->feedback == XD_EXPLICIT || s->label[k] > 0.0f;
		t->inv_k = 1.0f / (float) (npos > 0 ? npos : 1);
	}
	if (c->lam_W)
	{
		xd_affine(c->lam_W, c->lam_b, t->C, t->lambda);
		cblas_saxpy(c->n_lam, t->inv_k, c->lam_k->w, 1, t->lambda, 1);
	}
	if (c->cooc_lambda && c->cooc_lambda->w[0] > 0.0f)
	{
		int32_t		ni = c->cooc_nbr->rows;

		if (ni != model->domain->n_items)
			return XD_EINVAL;
		if (!t->cooc)
		{
			t->cooc = malloc(sizeof(float) * (size_t) ni);
			t->cooc_in = malloc((size_t) ni);
			if (!t->cooc || !t->cooc_in)
				return XD_ENOMEM;
		}
		xd_cold_cooc_of(c, s, t->cooc, t->cooc_in);
	}
	else
	{
		/* lambda 0: no pass at all, the scores as they were */
		free(t->cooc);
		free(t->cooc_in);
		t->cooc = NULL;
		t->cooc_in = NULL;
	}
	return xd_cold_task_history(t, model, s);
}

/* ---------------------------------------------------------------- the user side */

/*
 * The item side of n rows (n <= both caps) through the frozen model: each
 * row's user gate sigma(W_CU c*), its item's h_v^L and s_c, into the scratch;
 * the items' embeddings are their rows of E_v, or (items NULL) E[n * d].
 */
static void
xd_cold_item_side(xd_cold *c, xd_model *model, const int32_t *items, const float *E,
				  const float *ctx, int n)
{
	xd_workspace *mws = model->ws;
	xd_cold_ws *w = c->ws;
	int			d = c->d;

	mws->c = ctx;
	mws->n_ext = 0;
	xd_context_forward(model, n);
	xd_context_heads(model, n, w->sc, w->gate);
	xd_model_repeat_coef(model, n, w->rep);
	if (items)
		xd_cluster_gated_forward(model, false, items, n, mws->g_v, d);
	else
		xd_cluster_embedded_forward(model, E, n, mws->g_v, d);	/* new items */
	memcpy(w->hv, mws->h_v[model->cfg.n_tower_layers], sizeof(float) * (size_t) n * d);
}

/*
 * The modulated user tower over n rows whose gates are gate + r * stride:
 * h^0 = e_u . gate (then DRR's residual), h^l = ReLU(gamma (W h + b) + beta).
 * Leaves h^L in w->h[L].
 */
static void
xd_cold_tower(xd_cold *c, xd_model *model, const xd_cold_task *t, const float *gate,
			  int stride, int n)
{
	xd_cold_ws *w = c->ws;
	xd_shared  *sh = model->shared;
	int			d = c->d;

	for (int r = 0; r < n; r++)
	{
		const float *g = gate + (size_t) r * stride;
		float	   *h0 = w->h[0] + (size_t) r * d;

		for (int k = 0; k < d; k++)
			h0[k] = t->e_u[k] * g[k];
	}
	if (model->adapt)
		xd_residual_forward(model->adapt->R_U, model->adapt->r_U, w->h[0], w->pre0,
							w->T0, n, d, model->ws->wt);
	for (int l = 0; l < c->n_layers; l++)
	{
		const float *gm = t->gamma + (size_t) l * d;
		const float *bt = t->beta + (size_t) l * d;
		const float *b = sh->U_b[l]->w;
		float	   *z = w->zl[l];
		float	   *h = w->h[l + 1];

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, d, 1.0f, w->h[l], d,
					sh->U_W[l]->w, d, 0.0f, z, d);
		for (int r = 0; r < n; r++)
		{
			float	   *zr = z + (size_t) r * d;
			float	   *hr = h + (size_t) r * d;

			for (int k = 0; k < d; k++)
			{
				float		v;

				zr[k] += b[k];
				v = gm[k] * zr[k] + bt[k];
				hr[k] = v > 0.0f ? v : 0.0f;
			}
		}
	}
}

/*
 * eq. 12 / 15 for n rows from the scratch's h^L, h_v, s_c into out; the
 * repeat term and the task's rho on rows in the task's history
 */
/* how many of the pairs (row r, item v) the prior leaves out (xd_cold.prior_self) */
static float
xd_cold_self_count(const xd_cold *c, int32_t r, int32_t v)
{
	float		n = 0.0f;

	for (int k = 0; k < c->n_self; k++)
		n += c->prior_self[2 * k] == r && c->prior_self[2 * k + 1] == v;
	return n;
}

static void
xd_cold_dot(xd_cold *c, xd_model *model, const xd_cold_task *t, const int32_t *items,
			const float *ctx, int n, bool self, float *out)
{
	xd_cold_ws *w = c->ws;
	xd_domain  *dom = model->domain;
	int			d = c->d;
	int			P = c->n_prior;
	const float *hu = w->h[c->n_layers];

	for (int r = 0; r < n; r++)
	{
		out[r] = cblas_sdot(d, hu + (size_t) r * d, 1, w->hv + (size_t) r * d, 1) + w->sc[r];
		if (c->feedback == XD_EXPLICIT)
			out[r] += t->s_u + (items ? dom->s_v->w[items[r]] : 0.0f) + dom->s->w[0];
		if (items)				/* a new item has no history */
			out[r] += (w->rep[r] + t->rho) * xd_cold_hist_of(t, items[r]);
		if (P > 0)
		{
			float	   *z = w->pz + (size_t) r * P;

			int			b = xd_cold_band(c, items ? items[r] : -1);

			xd_cold_prior_rows_of(c, ctx + (size_t) r * c->m, w->prow);
			for (int f = 0; f < P; f++)
			{
				z[f] = xd_cold_prior_z(c, w->prow[f], items ? items[r] : -1,
									   self && items ? xd_cold_self_count(c, w->prow[f], items[r]) : 0.0f);
				out[r] += t->lambda[f * XD_COLD_PRIOR_BANDS + b] * z[f];
			}
		}
	}
}

/* own items first (xd_cold.floor): serving's scores of the task's history */
static void
xd_cold_floor(const xd_cold *c, const xd_cold_task *t, const int32_t *items, int n,
			  float *scores)
{
	if (!c->floor || c->floor->w[0] == 0.0f)
		return;
	if (items == NULL)
	{
		/* every item in order: the sorted history walked beside it, no search per item */
		int			j = 0;

		for (int r = 0; r < n; r++)
		{
			float		h = 0.0f;

			if (j < t->n_hist && t->hist[j] == r)
			{
				h = 1.0f;
				j++;
			}
			scores[r] += XD_COLD_FLOOR * h;
		}
		return;
	}
	for (int r = 0; r < n; r++)
		scores[r] += XD_COLD_FLOOR * xd_cold_hist_of(t, items[r]);
}

/* n rows by their items, or (items NULL) by their embeddings E[n * d] */
static void
xd_cold_rows(xd_cold *c, xd_model *model, const xd_cold_task *t, const int32_t *items,
			 const float *E, const float *ctx, int n, float *scores)
{
	int			cap = c->ws->cap < model->ws->cap ? c->ws->cap : model->ws->cap;

	for (int start = 0; start < n; start += cap)
	{
		int			k = n - start < cap ? n - start : cap;

		xd_cold_item_side(c, model, items ? items + start : NULL,
						  E ? E + (size_t) start * c->d : NULL, ctx + (size_t) start * c->m, k);
		xd_cold_tower(c, model, t, c->ws->gate, c->d, k);
		xd_cold_dot(c, model, t, items ? items + start : NULL, ctx + (size_t) start * c->m, k,
					false, scores + start);
	}
}

xd_status
xd_cold_score_rows(xd_cold *c, xd_model *model, const xd_cold_task *t,
				   const int32_t *items, const float *ctx, int n, float *scores)
{
	if (n < 0)
		return XD_EINVAL;
	for (int r = 0; r < n; r++)
		if (items[r] < 0 || items[r] >= model->domain->n_items)
			return XD_EINVAL;
	xd_cold_rows(c, model, t, items, NULL, ctx, n, scores);
	/* serving only: popularity in context among the support's items (core.h) */
	for (int r = 0; r < n && model->rep_pop_w != 0.0f; r++)
		if (xd_cold_hist_of(t, items[r]) > 0.0f)
			scores[r] += xd_model_repeat_pop(model, ctx + (size_t) r * c->m, items[r]);
	xd_cold_floor(c, t, items, n, scores);
	return XD_OK;
}

xd_status
xd_cold_score_embedded(xd_cold *c, xd_model *model, const xd_cold_task *t, const float *E,
					   const float *ctx, int n, float *scores)
{
	if (n < 0)
		return XD_EINVAL;
	xd_cold_rows(c, model, t, NULL, E, ctx, n, scores);
	return XD_OK;
}

size_t
xd_cold_prior_keep_bytes(const xd_schema *s, int32_t n_items)
{
	int			F = 0;

	for (int f = 0; f < s->n_features; f++)
		F += s->features[f].scope == XD_SCOPE_INTERACTION;
	/* the marginal features, the domain's row and a joint cell */
	return (size_t) (F + 2) * (size_t) (n_items > 0 ? n_items : 0) * sizeof(float);
}

xd_status
xd_cold_prior_keep(xd_cold *c)
{
	xd_cold_ws *w = c->ws;

	if (c->n_prior == 0 || w->keep)
		return XD_OK;
	w->keep = malloc(sizeof(float) * (size_t) c->n_prior * (size_t) c->n_items);
	w->keep_row = malloc(sizeof(int32_t) * (size_t) c->n_prior);
	w->keep_coef = malloc(sizeof(float) * (size_t) c->n_lam);
	if (!w->keep || !w->keep_row || !w->keep_coef)
	{
		free(w->keep);
		free(w->keep_row);
		free(w->keep_coef);
		w->keep = NULL;
		w->keep_row = NULL;
		w->keep_coef = NULL;
		return XD_ENOMEM;
	}
	for (int f = 0; f < c->n_prior; f++)
		w->keep_row[f] = -1;
	return XD_OK;
}

/* the prior's term of every item in the context c into scores */
static void
xd_cold_prior_all(xd_cold *c, const xd_cold_task *t, const float *ctx, float *scores)
{
	xd_cold_ws *w = c->ws;
	/* in locals: scores may alias the module as far as the compiler knows */
	const float *tab = c->log1p_count;
	const uint8_t *band = c->prior_band;
	int32_t		n = c->n_items;

	if (c->n_prior == 0)
		return;
	xd_cold_prior_rows_of(c, ctx, w->prow);
	for (int f = 0; f < c->n_prior; f++)
	{
		const float *Nr = c->prior_N->w + (size_t) w->prow[f] * c->n_items;
		const float *lam = t->lambda + (size_t) f * XD_COLD_PRIOR_BANDS;
		float		isd = c->prior_isd[w->prow[f]],
					mu = c->prior_mu[w->prow[f]],
					coef[XD_COLD_PRIOR_BANDS];

		/* lam * isd once per band: the same product an item's term takes */
		for (int b = 0; b < XD_COLD_PRIOR_BANDS; b++)
			coef[b] = lam[b] * isd;
		if (w->keep)
		{
			/* the row's log(1 + N) - mu kept: a call in the last call's context reads it */
			float	   *K = w->keep + (size_t) f * n;

			if (w->keep_row[f] != w->prow[f])
			{
				for (int32_t i = 0; i < n; i++)
					K[i] = xd_cold_log1p(tab, Nr[i]) - mu;
				w->keep_row[f] = w->prow[f];
			}
			memcpy(w->keep_coef + (size_t) f * XD_COLD_PRIOR_BANDS, coef, sizeof(coef));
		}
		else
			for (int32_t i = 0; i < n; i++)
				scores[i] += coef[band[i]] * (xd_cold_log1p(tab, Nr[i]) - mu);
	}
	if (w->keep)
	{
		/*
		 * the kept rows in one pass over the items: each item's terms added
		 * in feature order, as the pass per feature above adds them
		 */
		const float *K = w->keep,
				   *cf = w->keep_coef;
		int			P = c->n_prior;

		for (int32_t i = 0; i < n; i++)
		{
			const float *ci = cf + band[i];
			float		s = scores[i];

			for (int f = 0; f < P; f++)
				s += ci[f * XD_COLD_PRIOR_BANDS] * K[(size_t) f * n + i];
			scores[i] = s;
		}
	}
}

xd_status
xd_cold_score_outputs(xd_cold *c, xd_model *model, const xd_cold_task *t,
					  const float *ctx, const xd_item_outputs *io, float *scores)
{
	xd_cold_ws *w = c->ws;
	xd_domain  *dom = model->domain;
	int			d = c->d;
	int			n = io->n_items;
	const float *hu = w->h[c->n_layers];
	bool		explicit_fb = c->feedback == XD_EXPLICIT;

	if (n != dom->n_items || io->d != d || (c->n_prior > 0 && n != c->n_items))
		return XD_EINVAL;
	if (!io->per_item)
	{
		/* one context: the tower once, then one matrix-vector product */
		xd_cold_tower(c, model, t, io->g_u, 0, 1);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0f, io->h_v, d, hu, 1,
					0.0f, scores, 1);
		for (int i = 0; i < n; i++)
		{
			scores[i] += io->s_c[0];
			if (explicit_fb)
				scores[i] += t->s_u + dom->s_v->w[i] + dom->s->w[0];
		}
		for (int j = 0; j < t->n_hist; j++)
			scores[t->hist[j]] += io->r_c[0] + t->rho + io->p_c[t->hist[j]];
		xd_cold_prior_all(c, t, ctx, scores);
		xd_cold_floor(c, t, NULL, n, scores);
		if (t->cooc)
			xd_cold_cooc_blend(t->cooc, t->cooc_in, n, c->cooc_lambda->w[0], scores);
		return XD_OK;
	}
	/* item-scoped features: a gate per item, the tower in batches */
	for (int start = 0; start < n; start += w->cap)
	{
		int			k = n - start < w->cap ? n - start : w->cap;

		xd_cold_tower(c, model, t, io->g_u + (size_t) start * d, d, k);
		for (int r = 0; r < k; r++)
		{
			int			i = start + r;

			scores[i] = cblas_sdot(d, hu + (size_t) r * d, 1, io->h_v + (size_t) i * d, 1) +
				io->s_c[i];
			if (explicit_fb)
				scores[i] += t->s_u + dom->s_v->w[i] + dom->s->w[0];
		}
	}
	for (int j = 0; j < t->n_hist; j++)
		scores[t->hist[j]] += io->r_c[t->hist[j]] + t->rho + io->p_c[t->hist[j]];
	/* item-scoped features do not pick the prior's rows: one context's */
	xd_cold_prior_all(c, t, ctx, scores);
	xd_cold_floor(c, t, NULL, n, scores);
	if (t->cooc)
		xd_cold_cooc_blend(t->cooc, t->cooc_in, n, c->cooc_lambda->w[0], scores);
	return XD_OK;
}

/* ---------------------------------------------------------------- backward */

/*
 * From w->dscore over n rows back through the modulated tower into
 * w->de (dL/de_u), w->dgamma, w->dbeta (dL/d gamma_l, dL/d beta_l) and
 * w->ds_u; the model's tensors take no gradient.
 */
static void
xd_cold_tower_backward(xd_cold *c, xd_model *model, const xd_cold_task *t, int n)
{
	xd_cold_ws *w = c->ws;
	xd_shared  *sh = model->shared;
	int			d = c->d;
	int			L = c->n_layers;
	float	   *dh = w->dh;
	float	   *dn = w->dn;

	memset(w->dgamma, 0, sizeof(float) * (size_t) (L + 1) * d);
	memset(w->dbeta, 0, sizeof(float) * (size_t) (L + 1) * d);
	memset(w->de, 0, sizeof(float) * d);
	w->ds_u = 0.0f;
	for (int r = 0; r < n; r++)
	{
		float		ds = w->dscore[r];

		/* eq. 12: ds/dh_u^L = h_v */
		for (int k = 0; k < d; k++)
			dh[(size_t) r * d + k] = ds * w->hv[(size_t) r * d + k];
		w->ds_u += ds;
	}
	for (int l = L - 1; l >= 0; l--)
	{
		const float *h = w->h[l + 1];
		const float *z = w->zl[l];
		const float *gm = t->gamma + (size_t) l * d;
		float	   *dg = w->dgamma + (size_t) l * d;
		float	   *db = w->dbeta + (size_t) l * d;
		float	   *tmp;

		/* h = ReLU(gamma z + beta): dpre = dh [h > 0]; dgamma += dpre z; dz = dpre gamma */
		xd_relu_grad(dh, h, NULL, (size_t) n * d);
		for (int r = 0; r < n; r++)
			for (int k = 0; k < d; k++)
			{
				size_t		o = (size_t) r * d + k;

				dg[k] += dh[o] * z[o];
				db[k] += dh[o];
				dh[o] *= gm[k];
			}
		/* z = W h + b: dh^(l-1) = dz W */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, d, 1.0f, dh, d,
					sh->U_W[l]->w, d, 0.0f, dn, d);
		tmp = dh;
		dh = dn;
		dn = tmp;
	}
	/* DRR's residual, frozen: x' = x + tanh(R x + r), dx = dx' + ((1 - T^2) dx') R */
	if (model->adapt)
	{
		const float *R = model->adapt->R_U->w;

		for (size_t i = 0; i < (size_t) n * d; i++)
			dn[i] = dh[i] * (1.0f - w->T0[i] * w->T0[i]);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, d, 1.0f, dn, d,
					R, d, 1.0f, dh, d);
	}
	/* h^0 = e_u . gate */
	for (int r = 0; r < n; r++)
		for (int k = 0; k < d; k++)
			w->de[k] += dh[(size_t) r * d + k] * w->gate[(size_t) r * d + k];
}

/* y += a x^T for vectors a [rows], x [cols] into W->g; b->g += a */
static void
xd_affine_grad(xd_param *W, xd_param *b, const float *a, const float *x)
{
	cblas_sger(CblasRowMajor, W->rows, W->cols, 1.0f, a, 1, x, 1, W->g, W->cols);
	xd_add_inplace(b->g, a, W->rows);
}

/* dL/dx += W^T a */
static void
xd_affine_back(const xd_param *W, const float *a, float *dx)
{
	cblas_sgemv(CblasRowMajor, CblasTrans, W->rows, W->cols, 1.0f, W->w, W->cols,
				a, 1, 1.0f, dx, 1);
}

/* From w->de, dgamma, dbeta, ds_u into the heads' and the encoder's gradients. */
static void
xd_cold_heads_backward(xd_cold *c, const xd_cold_task *t)
{
	xd_cold_ws *w = c->ws;
	int			n = t->n_support;
	int			H = c->hidden;
	int			d = c->d;

	memset(w->dC, 0, sizeof(float) * H);
	xd_affine_grad(c->We, c->be, w->de, t->C);
	xd_affine_back(c->We, w->de, w->dC);
	for (int l = 0; c->film && l < c->n_layers; l++)
	{
		xd_affine_grad(c->Wg[l], c->bg[l], w->dgamma + (size_t) l * d, t->C);
		xd_affine_back(c->Wg[l], w->dgamma + (size_t) l * d, w->dC);
		xd_affine_grad(c->Wb[l], c->bb[l], w->dbeta + (size_t) l * d, t->C);
		xd_affine_back(c->Wb[l], w->dbeta + (size_t) l * d, w->dC);
	}
	if (c->ws_u)
	{
		cblas_saxpy(H, w->ds_u, t->C, 1, c->ws_u->g, 1);
		c->bs_u->g[0] += w->ds_u;
		cblas_saxpy(H, w->ds_u, c->ws_u->w, 1, w->dC, 1);
	}
	if (c->w_rho)
	{
		cblas_saxpy(H, w->drho, t->C, 1, c->w_rho->g, 1);
		c->b_rho->g[0] += w->drho;
		cblas_saxpy(H, w->drho, c->w_rho->w, 1, w->dC, 1);
	}
	if (c->lam_W)
	{
		xd_affine_grad(c->lam_W, c->lam_b, w->dlam, t->C);
		cblas_saxpy(c->n_lam, t->inv_k, w->dlam, 1, c->lam_k->g, 1);
		xd_affine_back(c->lam_W, w->dlam, w->dC);
	}

	/* the mean pool and the two ReLU layers of eq. 6 */
	for (int k = 0; k < n; k++)
		memcpy(w->da2 + (size_t) k * H, w->dC, sizeof(float) * H);
	cblas_sscal(n * H, 1.0f / (float) n, w->da2, 1);
	xd_relu_grad(w->da2, w->a2, NULL, (size_t) n * H);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, n, 1.0f, w->da2, H,
				w->a1, H, 1.0f, c->W2->g, H);
	for (int k = 0; k < n; k++)
		xd_add_inplace(c->b2->g, w->da2 + (size_t) k * H, H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, H, 1.0f, w->da2, H,
				c->W2->w, H, 0.0f, w->da1, H);
	xd_relu_grad(w->da1, w->a1, NULL, (size_t) n * H);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, c->in, n, 1.0f, w->da1, H,
				w->z, c->in, 1.0f, c->W1->g, c->in);
	for (int k = 0; k < n; k++)
		xd_add_inplace(c->b1->g, w->da1 + (size_t) k * H, H);
}

/*
 * The model's loss over the n rows of q from w->score (eq. 13-14 implicit:
 * (1 - s+)^2 + s(v-)^2 + s(c-)^2 per positive; eq. 16 explicit), averaged
 * over the positives; scale times dL/ds into w->dscore. A context negative
 * of an item in the task's history counts nothing (cold.h).
 */
static double
xd_cold_query_loss(xd_cold *c, const xd_cold_task *t, const xd_batch *q, float scale)
{
	xd_cold_ws *w = c->ws;
	int			P = q->n_pos > 0 ? q->n_pos : q->n;
	double		loss = 0.0;

	for (int r = 0; r < q->n; r++)
	{
		float		target = c->feedback == XD_EXPLICIT ? q->ratings[r] :
			(r < P ? 1.0f : 0.0f);
		float		e = w->score[r] - target;

		if (c->feedback == XD_IMPLICIT && r >= 2 * P && xd_cold_hist_of(t, q->items[r]) > 0.0f)
		{
			w->dscore[r] = 0.0f;
			continue;
		}

		loss += (double) e * e;
		w->dscore[r] = scale * 2.0f * e / (float) P;
	}
	return loss / P;
}

/*
 * The forward pass of an episode: the task of s, then the scores of q's n
 * rows into w->score (the episode's user left out of N, xd_cold.prior_self).
 */
static xd_status
xd_cold_episode_forward(xd_cold *c, xd_model *model, const xd_support *s, const xd_batch *q)
{
	xd_cold_ws *w = c->ws;
	xd_status	st;

	if (q->n < 1 || q->n > w->cap || q->n > model->ws->cap || q->m != c->m)
		return XD_EINVAL;
	for (int r = 0; r < q->n; r++)
		if (q->items[r] < 0 || q->items[r] >= model->domain->n_items)
			return XD_EINVAL;
	if ((st = xd_cold_encode(c, model, s, &w->task)) != XD_OK)
		return st;
	xd_cold_item_side(c, model, q->items, NULL, q->c, q->n);
	xd_cold_tower(c, model, &w->task, w->gate, c->d, q->n);
	xd_cold_dot(c, model, &w->task, q->items, q->c, q->n, true, w->score);
	return XD_OK;
}

/* From w->dscore over q's n rows into every parameter's g (rho, lambda, tower, heads). */
static void
xd_cold_episode_backward(xd_cold *c, xd_model *model, const xd_batch *q)
{
	xd_cold_ws *w = c->ws;
	xd_cold_task *t = &w->task;

	w->drho = 0.0f;
	for (int r = 0; r < q->n; r++)
		w->drho += w->dscore[r] * xd_cold_hist_of(t, q->items[r]);
	memset(w->dlam, 0, sizeof(float) * (size_t) (c->n_lam + 1));
	for (int r = 0; r < q->n && c->n_prior > 0; r++)
	{
		int			b = xd_cold_band(c, q->items[r]);

		for (int f = 0; f < c->n_prior; f++)
			w->dlam[f * XD_COLD_PRIOR_BANDS + b] +=
				w->dscore[r] * w->pz[(size_t) r * c->n_prior + f];
	}
	xd_cold_tower_backward(c, model, t, q->n);
	xd_cold_heads_backward(c, t);
}

/*
 * The sampled softmax of each query positive against its k negatives
 * (cold.h): logits a = s - log q, L_i = logsumexp(a) - a_pos, averaged over
 * the positives; scale times dL/ds (softmax less the one-hot) into
 * w->dscore. A negative among the task's history other than its positive's
 * item is no competitor (the cold protocol ranks without the support's
 * other items) and counts nothing.
 */
static double
xd_cold_rank_query_loss(xd_cold *c, const xd_cold_task *t, const xd_batch *q, int k,
						const float *logq, float scale)
{
	xd_cold_ws *w = c->ws;
	int			P = q->n_pos;
	double		loss = 0.0;

	memset(w->dscore, 0, sizeof(float) * (size_t) q->n);
	for (int i = 0; i < P; i++)
	{
		double		a[1 + XD_COLD_RANK_MAX];
		int			rows[1 + XD_COLD_RANK_MAX];
		int			n = 1;
		double		amax,
					z = 0.0;

		/* the positive first, then its negatives that compete */
		rows[0] = i;
		a[0] = (double) w->score[i] - (logq ? logq[i] : 0.0);
		amax = a[0];
		for (int j = 1; j <= k; j++)
		{
			int			r = P * j + i;

			if (q->items[r] != q->items[i] && xd_cold_hist_of(t, q->items[r]) > 0.0f)
				continue;
			rows[n] = r;
			a[n] = (double) w->score[r] - (logq ? logq[r] : 0.0);
			if (a[n] > amax)
				amax = a[n];
			n++;
		}
		for (int j = 0; j < n; j++)
		{
			a[j] = exp(a[j] - amax);
			z += a[j];
		}
		/* a[0] is the positive's: -log softmax */
		loss += log(z) - log(a[0]);
		for (int j = 0; j < n; j++)
			w->dscore[rows[j]] = scale * (float) (a[j] / z - (j == 0)) / (float) P;
	}
	return loss / P;
}

/*
 * One episode: forward, the query loss (k 0: the model's own; else the
 * ranking loss over k negatives with logq), then with grad the backward
 */
static xd_status
xd_cold_episode_run(xd_cold *c, xd_model *model, const xd_support *s, const xd_batch *q,
					int k, const float *logq, bool grad, float scale, double *loss)
{
	xd_status	st;

	if ((st = xd_cold_episode_forward(c, model, s, q)) != XD_OK)
		return st;
	*loss = k > 0 ? xd_cold_rank_query_loss(c, &c->ws->task, q, k, logq, scale) :
		xd_cold_query_loss(c, &c->ws->task, q, scale);
	if (!isfinite(*loss))
		return XD_ENUMERIC;
	if (grad)
		xd_cold_episode_backward(c, model, q);
	return XD_OK;
}

xd_status
xd_cold_episode_loss(xd_cold *c, xd_model *model, const xd_support *s,
					 const xd_batch *q, bool grad, float scale, double *loss)
{
	if (c->feedback == XD_IMPLICIT && q->n != 3 * q->n_pos)
		return XD_EINVAL;
	return xd_cold_episode_run(c, model, s, q, 0, NULL, grad, scale, loss);
}

xd_status
xd_cold_episode_rank_loss(xd_cold *c, xd_model *model, const xd_support *s,
						  const xd_batch *q, int k, const float *logq, bool grad,
						  float scale, double *loss)
{
	if (c->feedback != XD_IMPLICIT || k < 1 || k > XD_COLD_RANK_MAX || q->n_pos < 1 ||
		q->n != (1 + k) * q->n_pos)
		return XD_EINVAL;
	return xd_cold_episode_run(c, model, s, q, k, logq, grad, scale, loss);
}

double
xd_cold_episode_wins(const xd_cold *c, const xd_batch *q)
{
	const float *sc = c->ws->score;
	const xd_cold_task *t = &c->ws->task;
	float		fl = c->floor ? c->floor->w[0] * XD_COLD_FLOOR : 0.0f;
	double		wins = 0.0;

	for (int r = 0; c->feedback == XD_IMPLICIT && r < q->n_pos; r++)
	{
		int32_t		vn = q->items[q->n_pos + r];
		/* as serving ranks them: own items first when the floor is on */
		float		a = sc[r] + fl * xd_cold_hist_of(t, q->items[r]),
					b = sc[q->n_pos + r] + fl * xd_cold_hist_of(t, vn);

		/*
		 * a negative among the support's items (other than the positive's)
		 * is no competitor: the cold protocol and exclude_seen leave those
		 * out of the ranking; it counts as won
		 */
		if (vn != q->items[r] && xd_cold_hist_of(t, vn) > 0.0f)
			wins += 1.0;
		else
			wins += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
	}
	return wins;
}

/* ---------------------------------------------------------------- fine-tuning */

xd_status
xd_cold_finetune(xd_cold *c, xd_model *model, const xd_support *s, const float *e0,
				 int steps, float lr, xd_cold_task *t)
{
	xd_cold_ws *w = c->ws;
	xd_param	e;
	xd_domain  *dom = model->domain;
	int			n = s->n;
	int			d = c->d;
	size_t		ld = (size_t) c->n_layers * d;
	xd_status	st;

	if (n < 1 || n > w->cap || n > model->ws->cap || steps < 0)
		return XD_EINVAL;
	for (int k = 0; k < n; k++)
		if (s->items[k] < 0 || s->items[k] >= dom->n_items)
			return XD_EINVAL;
	if ((st = xd_param_alloc(&e, "cold.finetune.e_u", 1, d, XD_GROUP_DOMAIN, false)) != XD_OK)
	{
		xd_param_release(&e);
		return st;
	}
	memcpy(e.w, e0, sizeof(float) * d);
	for (size_t i = 0; i < ld; i++)
	{
		t->gamma[i] = 1.0f;
		t->beta[i] = 0.0f;
	}
	t->s_u = 0.0f;
	t->rho = 0.0f;
	t->n_support = n;
	t->n_hist = 0;				/* a support row is not its own history */
	/* the support's rows through the frozen item side once */
	xd_cold_item_side(c, model, s->items, NULL, s->c, n);
	for (int step = 0; step < steps; step++)
	{
		memcpy(t->e_u, e.w, sizeof(float) * d);
		xd_cold_tower(c, model, t, w->gate, d, n);
		xd_cold_dot(c, model, t, s->items, s->c, n, false, w->score);
		/* the model's squared loss on the support: labels 1/0, or ratings */
		for (int k = 0; k < n; k++)
		{
			float		target = s->label[k] +
				(c->feedback == XD_EXPLICIT ? dom->s->w[0] : 0.0f);

			w->dscore[k] = 2.0f * (w->score[k] - target) / (float) n;
		}
		xd_cold_tower_backward(c, model, t, n);
		memcpy(e.g, w->de, sizeof(float) * d);
		if (!xd_param_adam(&e, lr, model->cfg.adam_beta1, model->cfg.adam_beta2,
						   model->cfg.adam_eps))
		{
			xd_param_release(&e);
			return XD_ENUMERIC;
		}
	}
	memcpy(t->e_u, e.w, sizeof(float) * d);
	xd_param_release(&e);
	return xd_cold_task_history(t, model, s);
}

void
xd_cold_mean_user(const xd_model *model, const xd_dataset *ds, float *e0)
{
	int			d = model->cfg.d;
	int64_t		n = 0;

	memset(e0, 0, sizeof(float) * d);
	for (int32_t u = 0; u < model->domain->n_users && u < ds->n_users; u++)
		if (xd_dataset_user_known(ds, u))
		{
			xd_add_inplace(e0, model->domain->E_u->w + (size_t) u * d, d);
			n++;
		}
	for (int k = 0; n > 0 && k < d; k++)
		e0[k] /= (float) n;
}
