/*
 * cold_cooc.c - the cold path's item co-occurrence prior (cold.h, "co-
 * occurrence"; docs/cold-start.md, The co-occurrence prior): the neighbour
 * table counted from the training rows, lambda chosen on validation, the
 * task's cooc(v) and the blend with cmml's scores.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/clock.h"
#include "xdrec/cold.h"
#include "xdrec/coldeval.h"
#include "xdrec/serve.h"

const float xd_cold_cooc_grid[XD_COLD_COOC_N_GRID] = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f, 8.0f};

int
xd_cold_cooc_width(int32_t n_items)
{
	size_t		fit;

	if (n_items < 1)
		return 0;
	/* an id and a share, 4 bytes each, per neighbour */
	fit = XD_COLD_COOC_MAX_BYTES / (8 * (size_t) n_items);
	if (fit > XD_COLD_COOC_NEIGHBOURS)
		fit = XD_COLD_COOC_NEIGHBOURS;
	return (int) (fit < (size_t) n_items ? fit : (size_t) n_items);
}

xd_status
xd_cold_cooc_new(xd_cold *c, int32_t n_items)
{
	int			w = xd_cold_cooc_width(n_items);
	xd_status	st;

	if (c->cooc_nbr || w < 1)
		return XD_EINVAL;
	/* xd_cold_new keeps three slots of params for them */
	if ((st = xd_param_alloc(&c->params[c->n_params], "cold.cooc.nbr", n_items, w,
							 XD_GROUP_SHARED, false)) != XD_OK)
		return st;
	c->cooc_nbr = &c->params[c->n_params++];
	if ((st = xd_param_alloc(&c->params[c->n_params], "cold.cooc.share", n_items, w,
							 XD_GROUP_SHARED, false)) != XD_OK)
		return st;
	c->cooc_share = &c->params[c->n_params++];
	if ((st = xd_param_alloc(&c->params[c->n_params], "cold.cooc.lambda", 1, 1,
							 XD_GROUP_SHARED, false)) != XD_OK)
		return st;
	c->cooc_lambda = &c->params[c->n_params++];
	c->cooc_width = w;
	for (size_t i = 0; i < (size_t) n_items * w; i++)
		c->cooc_nbr->w[i] = -1.0f;
	return XD_OK;
}

xd_status
xd_cold_cooc_ready(const xd_cold *c)
{
	int32_t		n;
	int			w = c->cooc_width;
	float		lambda;

	if (!c->cooc_nbr)
		return XD_OK;
	n = c->cooc_nbr->rows;
	lambda = c->cooc_lambda->w[0];
	if (!isfinite(lambda) || lambda < 0.0f)
		return XD_EINVAL;
	for (int32_t s = 0; s < n; s++)
	{
		bool		ended = false;

		for (int j = 0; j < w; j++)
		{
			float		id = c->cooc_nbr->w[(size_t) s * w + j];
			float		share = c->cooc_share->w[(size_t) s * w + j];

			if (!isfinite(id) || !isfinite(share) || id != floorf(id) || id < -1.0f ||
				id >= (float) n || share < 0.0f || share > 1.0f)
				return XD_EINVAL;
			if (id < 0.0f)
				ended = true;
			else if (ended)
				return XD_EINVAL;
			if (id < 0.0f && share != 0.0f)
				return XD_EINVAL;
		}
	}
	return XD_OK;
}

void
xd_cold_cooc_of(const xd_cold *c, const xd_support *sup, float *cooc, uint8_t *in)
{
	int32_t		n_items = c->cooc_nbr->rows;
	int			w = c->cooc_width;

	memset(cooc, 0, sizeof(float) * (size_t) n_items);
	memset(in, 0, (size_t) n_items);
	for (int k = 0; k < sup->n; k++)
	{
		int32_t		s = sup->items[k];
		const float *nbr,
				   *share;

		if (s < 0 || s >= n_items || !(sup->label[k] > 0.5f))
			continue;
		nbr = c->cooc_nbr->w + (size_t) s * w;
		share = c->cooc_share->w + (size_t) s * w;
		in[s] = 1;
		for (int j = 0; j < w && nbr[j] >= 0.0f; j++)
			cooc[(int32_t) nbr[j]] += share[j];
	}
}

/* the mean and sd of x over the items not in out (0 when none or flat) */
static void
xd_cooc_moments(const float *x, const uint8_t *out, int n, double *mean, double *sd)
{
	double		sum = 0.0,
				sq = 0.0,
				cnt = 0.0;

	for (int i = 0; i < n; i++)
		if (!out[i])
		{
			sum += x[i];
			cnt += 1.0;
		}
	*mean = cnt > 0.0 ? sum / cnt : 0.0;
	for (int i = 0; i < n; i++)
		if (!out[i])
			sq += (x[i] - *mean) * (x[i] - *mean);
	*sd = cnt > 0.0 ? sqrt(sq / cnt) : 0.0;
}

void
xd_cold_cooc_blend(const float *cooc, const uint8_t *out, int n, float lambda, float *scores)
{
	double		ms,
				ss,
				mp,
				sp,
				k;

	if (lambda == 0.0f)
		return;
	xd_cooc_moments(scores, out, n, &ms, &ss);
	xd_cooc_moments(cooc, out, n, &mp, &sp);
	if (sp <= 0.0)
		return;
	/*
	 * z(s) + lambda z(cooc), times sd(s) and less constants: the same order;
	 * flat scores (z(s) = 0) rank by cooc alone
	 */
	k = lambda * (ss > 0.0 ? ss : 1.0) / sp;
	for (int i = 0; i < n; i++)
		scores[i] += (float) (k * cooc[i]);
}

/* ---------------------------------------------------------------- the table */

/*
 * The counts of the table: per item s its users (users[s]) and per kept
 * neighbour j users(v, s) (both[s * w + j]), kept for the leave-out of the
 * validation users, then written into the module's table.
 */
typedef struct xd_cooc_counts
{
	int32_t    *users;			/* [n_items] */
	int32_t    *both;			/* [n_items * w] */
} xd_cooc_counts;

static xd_status
xd_cooc_count(xd_cold *c, const xd_dataset *ds, xd_cooc_counts *k)
{
	int32_t		n = ds->n_items;
	int			w = c->cooc_width;
	const int64_t *uoff = ds->user_train_off;
	const int32_t *uit = ds->user_train_items;
	int64_t    *ioff = calloc((size_t) n + 1, sizeof(int64_t));
	int32_t    *iusers = malloc(sizeof(int32_t) * (size_t) (uoff[ds->n_users] > 0 ? uoff[ds->n_users] : 1));
	int32_t    *cnt = calloc((size_t) n, sizeof(int32_t));
	xd_item_count *cand = malloc(sizeof(xd_item_count) * (size_t) n);
	xd_status	st = XD_OK;

	k->users = calloc((size_t) n, sizeof(int32_t));
	k->both = calloc((size_t) n * w, sizeof(int32_t));
	if (!ioff || !iusers || !cnt || !cand || !k->users || !k->both)
	{
		st = XD_ENOMEM;
		goto done;
	}
	/* each item's users, from the users' distinct training items */
	for (int64_t j = 0; j < uoff[ds->n_users]; j++)
		ioff[uit[j] + 1]++;
	for (int32_t v = 0; v < n; v++)
	{
		k->users[v] = (int32_t) ioff[v + 1];
		ioff[v + 1] += ioff[v];
	}
	/* k->users as each item's fill cursor, then its count again */
	for (int32_t u = 0; u < ds->n_users; u++)
		for (int64_t j = uoff[u]; j < uoff[u + 1]; j++)
			iusers[ioff[uit[j] + 1] - k->users[uit[j]]--] = u;
	for (int32_t v = 0; v < n; v++)
		k->users[v] = (int32_t) (ioff[v + 1] - ioff[v]);
	for (int32_t s = 0; s < n; s++)
	{
		int32_t		nc = 0;

		for (int64_t a = ioff[s]; a < ioff[s + 1]; a++)
		{
			int32_t		u = iusers[a];

			for (int64_t j = uoff[u]; j < uoff[u + 1]; j++)
				if (cnt[uit[j]]++ == 0)
					cand[nc++].item = uit[j];
		}
		for (int32_t i = 0; i < nc; i++)
		{
			cand[i].count = cnt[cand[i].item];
			cnt[cand[i].item] = 0;
		}
		qsort(cand, (size_t) nc, sizeof(xd_item_count), xd_item_count_cmp);
		for (int j = 0; j < w && j < nc; j++)
		{
			size_t		at = (size_t) s * w + j;

			k->both[at] = cand[j].count;
			c->cooc_nbr->w[at] = (float) cand[j].item;
			c->cooc_share->w[at] = (float) cand[j].count / (float) k->users[s];
		}
	}
done:
	free(ioff);
	free(iusers);
	free(cnt);
	free(cand);
	return st;
}

/* ---------------------------------------------------------------- lambda on validation */

/*
 * cooc(v) of a validation user's support (its first K training items) with
 * the user's own rows out of the counts: users(v, s) less 1 when the user
 * has both, users(s) less 1 (it has s)
 */
static void
xd_cooc_of_self(const xd_cold *c, const xd_cooc_counts *k, const int32_t *items, int n,
				const uint8_t *self_has, float *cooc)
{
	int			w = c->cooc_width;

	memset(cooc, 0, sizeof(float) * (size_t) c->cooc_nbr->rows);
	for (int r = 0; r < n; r++)
	{
		int32_t		s = items[r];
		int32_t		others = k->users[s] - self_has[s];

		for (int j = 0; j < w && others > 0; j++)
		{
			size_t		at = (size_t) s * w + j;
			float		id = c->cooc_nbr->w[at];

			if (id < 0.0f)
				break;
			cooc[(int32_t) id] += (float) (k->both[at] - (self_has[(int32_t) id] & self_has[s])) /
				(float) others;
		}
	}
}

/* per validation user: its first K training rows and first Q validation rows */
typedef struct xd_cooc_valid
{
	int32_t		n;
	int32_t    *user;			/* [n] */
	int64_t    *rows;			/* [n * (K + Q)], -1 unused */
} xd_cooc_valid;

static xd_status
xd_cooc_valid_users(const xd_dataset *ds, xd_cooc_valid *vu)
{
	const int	K = XD_COLD_COOC_VALID_K,
				Q = XD_COLD_COOC_VALID_QUERIES;
	int32_t    *nt = calloc((size_t) ds->n_users, sizeof(int32_t)),
			   *nv = calloc((size_t) ds->n_users, sizeof(int32_t)),
			   *slot = malloc(sizeof(int32_t) * (size_t) (ds->n_users > 0 ? ds->n_users : 1));
	int32_t    *took;
	xd_status	st = XD_OK;

	memset(vu, 0, sizeof(*vu));
	vu->user = malloc(sizeof(int32_t) * XD_COLD_COOC_VALID_USERS);
	vu->rows = malloc(sizeof(int64_t) * XD_COLD_COOC_VALID_USERS * (K + Q));
	took = calloc(2 * XD_COLD_COOC_VALID_USERS, sizeof(int32_t));
	if (!nt || !nv || !slot || !vu->user || !vu->rows || !took)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int64_t r = 0; r < ds->n_rows; r++)
	{
		nt[ds->users[r]] += ds->split[r] == XD_SPLIT_TRAIN;
		nv[ds->users[r]] += ds->split[r] == XD_SPLIT_VALID;
	}
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		slot[u] = -1;
		if (nt[u] >= K && nv[u] >= 1 && vu->n < XD_COLD_COOC_VALID_USERS)
		{
			slot[u] = vu->n;
			vu->user[vu->n++] = u;
		}
	}
	for (int64_t i = 0; i < (int64_t) vu->n * (K + Q); i++)
		vu->rows[i] = -1;
	/* rows in arrival order: the support first, then the queries */
	for (int64_t r = 0; r < ds->n_rows; r++)
	{
		int32_t		sl = slot[ds->users[r]];
		int			pass = ds->split[r] == XD_SPLIT_TRAIN ? 0 :
			ds->split[r] == XD_SPLIT_VALID ? 1 : -1;

		if (sl < 0 || pass < 0 || took[2 * sl + pass] == (pass == 0 ? K : Q))
			continue;
		vu->rows[(int64_t) sl * (K + Q) + (pass == 0 ? 0 : K) + took[2 * sl + pass]++] = r;
	}
done:
	free(nt);
	free(nv);
	free(slot);
	free(took);
	return st;
}

static void
xd_cooc_valid_free(xd_cooc_valid *vu)
{
	free(vu->user);
	free(vu->rows);
}

/* ranks the validation users' queries under each lambda of the grid into hits */
static xd_status
xd_cooc_choose(xd_cold *c, xd_model *model, const xd_dataset *ds, const xd_cooc_counts *k,
			   int n_neg, uint64_t seed, const xd_hooks *hooks, xd_cold_cooc_report *rep)
{
	const int	K = XD_COLD_COOC_VALID_K,
				Q = XD_COLD_COOC_VALID_QUERIES;
	const xd_schema *sc = &ds->enc.schema;
	int32_t		n = ds->n_items;
	int			m = sc->m;
	bool		per_item = sc->n_item_num + sc->n_item_codes > 0;
	xd_cooc_valid vu;
	xd_support	sup = {0};
	xd_cold_task task = {0};
	xd_item_outputs io;
	float	   *io_buf = malloc(sizeof(float) * xd_item_outputs_floats(model, per_item));
	float	   *pos = malloc(sizeof(float) * (size_t) K * (m > 0 ? m : 1));
	float	   *cq = malloc(sizeof(float) * (m > 0 ? m : 1));
	float	   *fs = malloc(sizeof(float) * (size_t) n);
	float	   *blend = malloc(sizeof(float) * (size_t) n);
	double	   *ranked = malloc(sizeof(double) * (size_t) n);
	uint8_t    *keep = malloc((size_t) n);
	float	   *cooc = malloc(sizeof(float) * (size_t) n);
	uint8_t    *self_has = calloc((size_t) n, 1);
	uint8_t    *out = calloc((size_t) n, 1);
	double		hits[XD_COLD_COOC_N_GRID] = {0};
	int			best;
	xd_status	st;

	if ((st = xd_cooc_valid_users(ds, &vu)) != XD_OK)
		goto done;
	if (!io_buf || !pos || !cq || !fs || !blend || !ranked || !keep || !cooc || !self_has || !out)
	{
		st = XD_ENOMEM;
		goto done;
	}
	if ((st = xd_support_init(&sup, K * (1 + n_neg), m)) != XD_OK ||
		(st = xd_cold_task_init(&task, c)) != XD_OK)
		goto done;
	xd_item_outputs_bind(&io, model, per_item, io_buf);
	memset(keep, 1, (size_t) n);
	for (int32_t i = 0; i < vu.n; i++)
	{
		const int64_t *rows = vu.rows + (int64_t) i * (K + Q);
		int32_t		u = vu.user[i];
		int32_t		items[XD_COLD_COOC_VALID_K];
		xd_rng		rng;

		if (hooks && xd_hooks_stopped(hooks))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		/* the support as the cold protocol builds it (coldeval.h) */
		for (int r = 0; r < K; r++)
		{
			float	   *cr = pos + (size_t) r * m;

			items[r] = ds->items[rows[r]];
			memset(cr, 0, sizeof(float) * m);
			xd_encode_raw(&ds->enc, -1, items[r], ds->num + (size_t) rows[r] * sc->n_num,
						  ds->codes + (size_t) rows[r] * sc->n_codes, cr);
		}
		xd_rng_seed(&rng, xd_support_seed(items, pos, K, m, seed));
		sup.n = 0;
		for (int r = 0; r < K; r++)
			if ((st = xd_support_add(&sup, items[r], pos + (size_t) r * m, 1.0f, n_neg, n,
									 &ds->enc, &rng)) != XD_OK)
				goto done;
		if ((st = xd_cold_encode(c, model, &sup, &task)) != XD_OK)
			goto done;
		for (int64_t j = ds->user_train_off[u]; j < ds->user_train_off[u + 1]; j++)
			self_has[ds->user_train_items[j]] = 1;
		xd_cooc_of_self(c, k, items, K, self_has, cooc);
		for (int64_t j = ds->user_train_off[u]; j < ds->user_train_off[u + 1]; j++)
			self_has[ds->user_train_items[j]] = 0;
		rep->n_users++;
		for (int q = K; q < K + Q && rows[q] >= 0; q++)
		{
			int32_t		v = ds->items[rows[q]];

			memset(cq, 0, sizeof(float) * m);
			xd_encode_raw(&ds->enc, -1, -1, ds->num + (size_t) rows[q] * sc->n_num,
						  ds->codes + (size_t) rows[q] * sc->n_codes, cq);
			if ((st = xd_item_outputs_compute(model, cq, &ds->enc, &io)) != XD_OK ||
				(st = xd_cold_score_outputs(c, model, &task, cq, &io, fs)) != XD_OK)
				goto done;
			/* ranked against every item but the support's others */
			for (int r = 0; r < K; r++)
			{
				out[items[r]] = items[r] != v;
				keep[items[r]] = items[r] == v;
			}
			for (int l = 0; l < XD_COLD_COOC_N_GRID; l++)
			{
				memcpy(blend, fs, sizeof(float) * (size_t) n);
				xd_cold_cooc_blend(cooc, out, n, xd_cold_cooc_grid[l], blend);
				for (int32_t j = 0; j < n; j++)
					ranked[j] = blend[j];
				hits[l] += xd_cold_rank_in(ranked, keep, n, v) <= 10.0;
			}
			for (int r = 0; r < K; r++)
			{
				out[items[r]] = 0;
				keep[items[r]] = 1;
			}
			rep->n_queries++;
		}
	}
	/* the best HitRate@10, above lambda 0's; ties to the smaller */
	best = 0;
	for (int l = 0; l < XD_COLD_COOC_N_GRID; l++)
	{
		rep->valid_hit10[l] = rep->n_queries > 0 ? hits[l] / (double) rep->n_queries : 0.0;
		if (hits[l] > hits[best])
			best = l;
	}
	rep->lambda = xd_cold_cooc_grid[best];
done:
	xd_cooc_valid_free(&vu);
	xd_support_free(&sup);
	xd_cold_task_free(&task);
	free(io_buf);
	free(pos);
	free(cq);
	free(fs);
	free(blend);
	free(ranked);
	free(keep);
	free(cooc);
	free(self_has);
	free(out);
	return st;
}

xd_status
xd_cold_cooc_fit(xd_cold *c, xd_model *model, const xd_dataset *ds, int n_neg, uint64_t seed,
				 const xd_hooks *hooks, xd_cold_cooc_report *rep)
{
	double		t0 = xd_clock_seconds();
	int64_t		pairs = 0;
	xd_cooc_counts k = {0};
	xd_status	st;

	memset(rep, 0, sizeof(*rep));
	if (c->cooc_nbr || !ds->finalized || ds->n_items != model->domain->n_items)
		return XD_EINVAL;
	if (c->feedback != XD_IMPLICIT)
	{
		rep->why_not = "explicit feedback";
		return XD_OK;
	}
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		int64_t		len = ds->user_train_off[u + 1] - ds->user_train_off[u];

		pairs += len * len;
	}
	if (pairs > XD_COLD_COOC_MAX_PAIRS)
	{
		rep->why_not = "too many co-occurring pairs";
		return XD_OK;
	}
	if (xd_cold_cooc_width(ds->n_items) < 1)
	{
		rep->why_not = "too many items";
		return XD_OK;
	}
	if ((st = xd_cold_cooc_new(c, ds->n_items)) != XD_OK ||
		(st = xd_cooc_count(c, ds, &k)) != XD_OK)
		goto done;
	rep->fitted = true;
	rep->width = c->cooc_width;
	rep->bytes = (int64_t) ds->n_items * c->cooc_width * 2 * (int64_t) sizeof(float);
	/* lambda 0 while choosing: the task's cmml scores as they are */
	c->cooc_lambda->w[0] = 0.0f;
	if ((st = xd_cooc_choose(c, model, ds, &k, n_neg, seed, hooks, rep)) != XD_OK)
		goto done;
	c->cooc_lambda->w[0] = rep->lambda;
done:
	free(k.users);
	free(k.both);
	rep->seconds = xd_clock_seconds() - t0;
	return st;
}
