/*
 * cold_train.c - meta-training the cold module on episodes (cold.h; CMML
 * Algorithm 1): a task is a user of the domain, its support K of its
 * training rows with item negatives, its query others of its rows with the
 * model's own negatives (sample.c). The model is frozen; only the encoder
 * and the heads learn, by Adam on the query loss averaged over a few
 * episodes per step. Early stopping on the loss of fixed validation
 * episodes (the query from each user's validation rows).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/clock.h"
#include "xdrec/cold.h"
#include "xdrec/sample.h"
#include "xdrec/serve.h"

/* Validation episodes, at most: their loss is computed every epoch. */
#define XD_COLD_VALID_USERS 1000
/*
 * Items scored by one ranked validation, at most: each query positive of a
 * validation episode (up to max_query, 16) scores the whole domain, so
 * 1,000 users' positives could cost 16,000 passes of the item tower over
 * every item; beyond this many item scores the later episodes are left
 * unranked (all of them at 1,250 items or fewer).
 */
#define XD_COLD_RANK_SCORES ((int64_t) 20000000)

void
xd_cold_opts_default(xd_cold_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->film = true;
	o->rho = true;
	o->prior = true;
	o->scale_prior = true;
	o->rank_negatives = XD_COLD_RANK_NEGATIVES;
	o->hidden = XD_COLD_HIDDEN;
	o->max_support = 20;
	o->n_neg = XD_COLD_NEGATIVES;
	o->max_query = 16;
	o->episodes_per_step = 16;
	o->max_epochs = 30;
	o->patience = 4;
	o->lr = 1e-3f;
	o->max_episodes = 20000;
	o->seed = 42;
}

/* Each user's rows of one split, in row order (CSR). */
typedef struct xd_user_rows
{
	int64_t    *off;			/* [n_users + 1] */
	int64_t    *rows;
} xd_user_rows;

static void
xd_user_rows_free(xd_user_rows *ur)
{
	free(ur->off);
	free(ur->rows);
}

static xd_status
xd_user_rows_build(const xd_dataset *ds, xd_split split, xd_user_rows *ur)
{
	int64_t		n = ds->n_split[split];
	const int64_t *rows = ds->split_rows[split];
	int64_t    *fill;

	ur->off = calloc((size_t) ds->n_users + 1, sizeof(int64_t));
	ur->rows = malloc(sizeof(int64_t) * (size_t) (n > 0 ? n : 1));
	fill = malloc(sizeof(int64_t) * ((size_t) ds->n_users + 1));
	if (!ur->off || !ur->rows || !fill)
	{
		free(fill);
		xd_user_rows_free(ur);
		return XD_ENOMEM;
	}
	for (int64_t i = 0; i < n; i++)
		ur->off[ds->users[rows[i]] + 1]++;
	for (int32_t u = 0; u < ds->n_users; u++)
		ur->off[u + 1] += ur->off[u];
	memcpy(fill, ur->off, sizeof(int64_t) * ((size_t) ds->n_users + 1));
	/* split_rows ascend, so each user's rows stay in row (arrival) order */
	for (int64_t i = 0; i < n; i++)
		ur->rows[fill[ds->users[rows[i]]]++] = rows[i];
	free(fill);
	return XD_OK;
}

/* The support of rows[0..k) of ds with n_neg negatives each (seeded by rng). */
static xd_status
xd_support_from_rows(const xd_dataset *ds, const xd_model *model, const int64_t *rows,
					 int k, int n_neg, xd_rng *rng, float *cbuf, xd_support *s)
{
	float		s0 = ds->has_ratings ? model->domain->s->w[0] : 0.0f;
	xd_status	st = XD_OK;

	s->n = 0;
	for (int i = 0; i < k && st == XD_OK; i++)
	{
		int64_t		row = rows[i];

		xd_dataset_encode(ds, row, -1, cbuf);
		st = xd_support_add(s, ds->items[row], cbuf,
							ds->has_ratings ? ds->ratings[row] - s0 : 1.0f,
							ds->has_ratings ? 0 : n_neg, ds->n_items, &ds->enc, rng);
	}
	return st;
}

/*
 * Why popularity-drawn negatives (cold.h, xd_cold_popular_negatives): a
 * uniform negative is almost always a tail item, which a popular item
 * outscores whatever the user, while serving ranks the popular items
 * against each other for that user (docs/cold-start.md,
 * Popularity-drawn negatives).
 */
void
xd_cold_popular_negatives(const xd_dataset *ds, const int64_t *qrows, float share,
						  xd_rng *rng, xd_batch *q)
{
	const int64_t *train = ds->split_rows[XD_SPLIT_TRAIN];
	uint32_t	n_train = (uint32_t) ds->n_split[XD_SPLIT_TRAIN];
	int			m = q->m;

	if (!(share > 0.0f) || ds->has_ratings || n_train < 2)
		return;
	for (int i = 0; i < q->n_pos; i++)
	{
		int			k = q->n_pos + i;
		int32_t		v = q->items[i],
					vn = -1;

		if (xd_rng_uniform(rng) >= share)
			continue;
		/* a few redraws when the row holds the positive's own item */
		for (int t = 0; t < 8 && vn < 0; t++)
		{
			int32_t		cand = ds->items[train[xd_rng_below(rng, n_train)]];

			if (cand != v)
				vn = cand;
		}
		if (vn < 0)
			continue;			/* the uniform negative stays */
		q->items[k] = vn;
		memcpy(q->c + (size_t) k * m, q->c + (size_t) i * m, sizeof(float) * (size_t) m);
		xd_encode_item(&ds->enc, vn, q->c + (size_t) k * m);
		if (q->hist)
			q->hist[k] = xd_dataset_hist(ds, qrows[i], vn);
	}
}

void
xd_cold_popular_logq(const xd_dataset *ds, float *logq_item)
{
	const int64_t *train = ds->split_rows[XD_SPLIT_TRAIN];
	int64_t		n_train = ds->n_split[XD_SPLIT_TRAIN];
	double		total = (double) n_train + ds->n_items;

	for (int32_t v = 0; v < ds->n_items; v++)
		logq_item[v] = 1.0f;	/* the one each item has beside its rows */
	for (int64_t i = 0; i < n_train; i++)
		logq_item[ds->items[train[i]]] += 1.0f;
	for (int32_t v = 0; v < ds->n_items; v++)
		logq_item[v] = (float) log(logq_item[v] / total);
}

/*
 * One draw of the proposal xd_cold_popular_logq describes: a uniform one of
 * the training rows and items together, the row's item or the item
 */
static int32_t
xd_cold_popular_draw(const xd_dataset *ds, xd_rng *rng)
{
	int64_t		n_train = ds->n_split[XD_SPLIT_TRAIN];
	int64_t		u = (int64_t) xd_rng_below(rng, (uint32_t) (n_train + ds->n_items));

	return u < n_train ? ds->items[ds->split_rows[XD_SPLIT_TRAIN][u]] :
		(int32_t) (u - n_train);
}

/*
 * Why a ranking loss (docs/cold-start.md, A ranking loss): serving ranks
 * every item in one context, the pointwise loss asks each score toward 0 or
 * 1 against one uniform negative; a popularity proposal with the logQ
 * correction estimates the softmax over every item with fewer draws.
 */
xd_status
xd_cold_rank_query(const xd_dataset *ds, const int64_t *rows, int n_pos, int k,
				   const float *logq_item, xd_rng *rng, xd_batch *q, float *logq)
{
	int			m = ds->enc.schema.m;

	if (!ds->finalized || ds->has_ratings || n_pos < 1 || k < 1 || ds->n_items < 2 ||
		q->m != m || q->capacity < (1 + k) * n_pos ||
		(logq_item && ds->n_split[XD_SPLIT_TRAIN] + ds->n_items > (int64_t) UINT32_MAX))
		return XD_EINVAL;
	q->n_pos = n_pos;
	q->n = (1 + k) * n_pos;
	for (int i = 0; i < n_pos; i++)
	{
		int64_t		row = rows[i];
		int32_t		v = ds->items[row];
		const float *c = q->c + (size_t) i * m;

		q->users[i] = ds->users[row];
		q->items[i] = v;
		q->ratings[i] = 1.0f;
		q->weights[i] = 1.0f;
		xd_dataset_encode(ds, row, -1, q->c + (size_t) i * m);
		if (q->hist)
			q->hist[i] = xd_dataset_hist(ds, row, v);
		if (logq)
			logq[i] = logq_item ? logq_item[v] : 0.0f;
		for (int j = 1; j <= k; j++)
		{
			int			r = n_pos * j + i;
			int32_t		vn = -1;

			/* a few redraws of the positive's own item, then a uniform other */
			for (int t = 0; logq_item && t < 8 && vn < 0; t++)
			{
				int32_t		cand = xd_cold_popular_draw(ds, rng);

				if (cand != v)
					vn = cand;
			}
			if (vn < 0)
			{
				vn = (int32_t) xd_rng_below(rng, (uint32_t) (ds->n_items - 1));
				if (vn >= v)
					vn++;
			}
			q->users[r] = q->users[i];
			q->items[r] = vn;
			q->ratings[r] = 0.0f;
			q->weights[r] = 1.0f;
			memcpy(q->c + (size_t) r * m, c, sizeof(float) * (size_t) m);
			xd_encode_item(&ds->enc, vn, q->c + (size_t) r * m);
			if (q->hist)
				q->hist[r] = xd_dataset_hist(ds, row, vn);
			if (logq)
				logq[r] = logq_item ? logq_item[vn] : 0.0f;
		}
	}
	return XD_OK;
}

/* Moves k random entries of a[0..n) to its front (a partial Fisher-Yates). */
static void
xd_pick_front(int64_t *a, int64_t n, int64_t k, xd_rng *rng)
{
	for (int64_t i = 0; i < k && i < n - 1; i++)
	{
		int64_t		j = i + (int64_t) xd_rng_below(rng, (uint32_t) (n - i));
		int64_t		t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

typedef struct xd_cold_loop
{
	xd_model   *model;
	const xd_dataset *ds;
	const xd_cold_opts *o;
	xd_user_rows train;
	xd_user_rows valid;
	int64_t    *scratch;		/* one user's rows */
	float	   *cbuf;			/* [m] */
	int32_t    *prow;			/* [n_prior] */
	int32_t    *self;			/* [2 * max rows * n_prior] the user's (row, item) */
	xd_support	s;
	xd_batch	q;
	int			rank_k;			/* the ranking loss's k; 0: the model's loss */
	float	   *logq_item;		/* [n_items] its popularity proposal, or NULL */
	float	   *logq;			/* [(1 + k) max_query] each query row's log q */
	/* full ranking of validation positives (xd_cold_rank_episode) */
	xd_cold_task task;
	xd_item_outputs io;
	float	   *io_buf;
	float	   *fs;				/* [n_items] */
	uint8_t    *keep;			/* [n_items] */
} xd_cold_loop;

/*
 * One episode of user u: K support rows and up to max_query query rows from
 * its training rows (query_split XD_SPLIT_TRAIN) or its validation rows.
 */
static xd_status
xd_cold_episode(xd_cold_loop *lp, xd_cold *cold, int32_t u, bool validation,
				bool grad, float scale, xd_rng *rng, double *loss)
{
	const xd_cold_opts *o = lp->o;
	int64_t		a = lp->train.off[u],
				nt = lp->train.off[u + 1] - a;
	int64_t		k,
				nq;
	const int64_t *qrows;
	xd_status	st;

	memcpy(lp->scratch, lp->train.rows + a, sizeof(int64_t) * (size_t) nt);
	if (validation)
	{
		k = nt < o->max_support ? nt : o->max_support;
		k = 1 + (int64_t) xd_rng_below(rng, (uint32_t) k);
		xd_pick_front(lp->scratch, nt, k, rng);
		qrows = lp->valid.rows + lp->valid.off[u];
		nq = lp->valid.off[u + 1] - lp->valid.off[u];
	}
	else
	{
		/* K in 1..min(max_support, rows - 1), the rest may be queried */
		int64_t		kmax = nt - 1 < o->max_support ? nt - 1 : o->max_support;

		k = 1 + (int64_t) xd_rng_below(rng, (uint32_t) kmax);
		nq = nt - k < o->max_query ? nt - k : o->max_query;
		xd_pick_front(lp->scratch, nt, k + nq, rng);
		qrows = lp->scratch + k;
	}
	if (nq > o->max_query)
		nq = o->max_query;
	/*
	 * the prior leaves the user's training rows (the ones it counted) out,
	 * in training and validation episodes alike: a held-out user has none
	 */
	if (cold->prior_N)
	{
		int			P = cold->n_prior;

		for (int64_t i = 0; i < nt; i++)
		{
			int64_t		row = lp->train.rows[a + i];

			xd_dataset_encode(lp->ds, row, -1, lp->cbuf);
			xd_cold_prior_rows_of(cold, lp->cbuf, lp->prow);
			for (int f = 0; f < P; f++)
			{
				lp->self[2 * (i * P + f)] = lp->prow[f];
				lp->self[2 * (i * P + f) + 1] = lp->ds->items[row];
			}
		}
		cold->prior_self = lp->self;
		cold->n_self = (int) (nt * P);
	}
	if ((st = xd_support_from_rows(lp->ds, lp->model, lp->scratch, (int) k, o->n_neg,
								   rng, lp->cbuf, &lp->s)) != XD_OK)
		return st;
	if (lp->rank_k > 0)
	{
		if ((st = xd_cold_rank_query(lp->ds, qrows, (int) nq, lp->rank_k, lp->logq_item, rng,
									 &lp->q, lp->logq)) != XD_OK)
			return st;
		return xd_cold_episode_rank_loss(cold, lp->model, &lp->s, &lp->q, lp->rank_k,
										 lp->logq_item ? lp->logq : NULL, grad, scale, loss);
	}
	if ((st = xd_sample_batch(lp->ds, qrows, (int) nq, rng, &lp->q)) != XD_OK)
		return st;
	xd_cold_popular_negatives(lp->ds, qrows, o->pop_negatives, rng, &lp->q);
	return xd_cold_episode_loss(cold, lp->model, &lp->s, &lp->q, grad, scale, loss);
}

/* v's rank among the kept items by scores (ties half) */
static double
xd_rank_among(const float *scores, const uint8_t *keep, int n_items, int32_t v)
{
	double		higher = 0.0,
				ties = 0.0;

	for (int j = 0; j < n_items; j++)
	{
		if (j == v || !keep[j])
			continue;
		higher += scores[j] > scores[v];
		ties += scores[j] == scores[v];
	}
	return 1.0 + higher + 0.5 * ties;
}

/*
 * The episode just cut (lp->s, lp->q) ranked as the cold protocol ranks
 * (xd_coldeval_run): each of the query's positives (a validation user's
 * rows, up to max_query) in its own context against every item of the
 * domain but the support's other positives, by full ranking (ties half). The user's own
 * training rows are left out of the prior while it is ranked (its N less
 * cold->prior_self, restored after), as the loss leaves them out: a
 * held-out user has none. Adds to *hit10 and *rr per positive ranked.
 */
static xd_status
xd_cold_rank_episode(xd_cold_loop *lp, xd_cold *cold, double *hit10, double *rr,
					 int64_t *n_ranked)
{
	xd_model   *model = lp->model;
	int			n_items = lp->ds->n_items;
	int			m = lp->q.m;
	int			nq = lp->q.n_pos;
	xd_status	st;

	if ((st = xd_cold_encode(cold, model, &lp->s, &lp->task)) != XD_OK)
		return st;
	for (int k = 0; cold->prior_N && k < cold->n_self; k++)
		cold->prior_N->w[(size_t) cold->prior_self[2 * k] * n_items + cold->prior_self[2 * k + 1]] -= 1.0f;
	for (int i = 0; i < nq; i++)
	{
		int32_t		v = lp->q.items[i];
		double		rank;

		st = xd_item_outputs_compute(model, lp->q.c + (size_t) i * m, &lp->ds->enc, &lp->io);
		if (st == XD_OK)
			st = xd_cold_score_outputs(cold, model, &lp->task, lp->q.c + (size_t) i * m,
									   &lp->io, lp->fs);
		if (st != XD_OK)
			break;
		memset(lp->keep, 1, (size_t) n_items);
		for (int j = 0; j < lp->s.n; j++)
			if (lp->s.label[j] > 0.0f && lp->s.items[j] != v)
				lp->keep[lp->s.items[j]] = 0;
		rank = xd_rank_among(lp->fs, lp->keep, n_items, v);
		*hit10 += rank <= 10.0;
		*rr += 1.0 / rank;
		(*n_ranked)++;
	}
	for (int k = 0; cold->prior_N && k < cold->n_self; k++)
		cold->prior_N->w[(size_t) cold->prior_self[2 * k] * n_items + cold->prior_self[2 * k + 1]] += 1.0f;
	return st;
}

/*
 * Mean loss of the fixed validation episodes (the same draws every call),
 * and the share of their positives scored above their item negative. With
 * rank (implicit feedback), also HitRate@10 and MRR of their positives by
 * full ranking (xd_cold_rank_episode); 0 otherwise.
 */
static xd_status
xd_cold_validate(xd_cold_loop *lp, xd_cold *cold, const int32_t *users, int64_t n,
				 bool rank, double *mean, double *auc, double *hit10, double *mrr,
				 int64_t *n_ranked)
{
	xd_rng		rng;
	double		sum = 0.0,
				wins = 0.0,
				hits = 0.0,
				rr = 0.0;
	int64_t		pos = 0,
				ranked = 0;
	xd_status	st;

	xd_rng_seed(&rng, lp->o->seed ^ 0x76616c6964ULL);
	for (int64_t i = 0; i < n; i++)
	{
		double		l;

		if (xd_hooks_stopped(&lp->o->hooks))
			return XD_ECANCELLED;
		if ((st = xd_cold_episode(lp, cold, users[i], true, false, 0.0f, &rng, &l)) != XD_OK)
			return st;
		sum += l;
		wins += xd_cold_episode_wins(cold, &lp->q);
		pos += lp->q.n_pos;
		if (rank && ranked * (int64_t) lp->ds->n_items < XD_COLD_RANK_SCORES &&
			(st = xd_cold_rank_episode(lp, cold, &hits, &rr, &ranked)) != XD_OK)
			return st;
	}
	*mean = n > 0 ? sum / n : 0.0;
	*auc = pos > 0 ? wins / pos : 0.0;
	if (hit10)
		*hit10 = ranked > 0 ? hits / ranked : 0.0;
	if (mrr)
		*mrr = ranked > 0 ? rr / ranked : 0.0;
	if (n_ranked)
		*n_ranked = ranked;
	return XD_OK;
}

/* a ranks better than b: HitRate@10, then MRR (cold.h, xd_cold_pick) */
static bool
xd_cold_ranks_better(double hit_a, double mrr_a, double hit_b, double mrr_b)
{
	return hit_a > hit_b || (hit_a == hit_b && mrr_a > mrr_b);
}

/*
 * The prior's scale chosen on the validation ranking (xd_cold_opts.
 * scale_prior): the meta-trained weight head (cold.prior.{W,k,b}) times each
 * of xd_cold_prior_scales, kept when its validation positives rank better
 * (HitRate@10, then MRR) than at 1; the prior's term is linear in lambda,
 * so the scale is folded into the head and nothing new is stored. Why: the
 * loss trains lambda against one uniform item negative per positive, which
 * a popular item beats at any weight, while serving ranks the head against
 * the head (docs/cold-start.md, A task-adaptive joint-cell prior).
 */
static const float xd_cold_prior_scales[] = {0.0f, 0.5f, 2.0f, 4.0f, 8.0f};

static xd_status
xd_cold_scale_prior(xd_cold_loop *lp, xd_cold *cold, const int32_t *vusers, int64_t n_v,
					xd_cold_report *rep)
{
	xd_param   *head[3] = {cold->lam_W, cold->lam_k, cold->lam_b};
	float	   *saved[3];
	float		kept = 1.0f;
	xd_status	st = XD_OK;

	for (int h = 0; h < 3; h++)
	{
		saved[h] = malloc(sizeof(float) * (size_t) head[h]->rows * head[h]->cols);
		if (!saved[h])
		{
			while (h-- > 0)
				free(saved[h]);
			return XD_ENOMEM;
		}
		memcpy(saved[h], head[h]->w, sizeof(float) * (size_t) head[h]->rows * head[h]->cols);
	}
	for (size_t i = 0; i <= sizeof(xd_cold_prior_scales) / sizeof(float); i++)
	{
		bool		last = i == sizeof(xd_cold_prior_scales) / sizeof(float);
		float		a = last ? kept : xd_cold_prior_scales[i];
		double		loss,
					auc,
					hit,
					mrr;

		for (int h = 0; h < 3; h++)
			for (size_t k = 0; k < (size_t) head[h]->rows * head[h]->cols; k++)
				head[h]->w[k] = a * saved[h][k];
		if (last)
			break;
		if ((st = xd_cold_validate(lp, cold, vusers, n_v, true, &loss, &auc, &hit, &mrr,
								   NULL)) != XD_OK)
			break;
		if (xd_cold_ranks_better(hit, mrr, rep->valid_hit10, rep->valid_mrr))
		{
			rep->valid_hit10 = hit;
			rep->valid_mrr = mrr;
			rep->valid_auc = auc;
			kept = a;
		}
	}
	rep->prior_scale = kept;
	for (int h = 0; h < 3; h++)
		free(saved[h]);
	return st;
}

int
xd_cold_pick(const xd_cold_report *reps, int n)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
	{
		const xd_cold_report *a = &reps[i],
				   *b = &reps[best];

		if (xd_cold_ranks_better(a->valid_hit10, a->valid_mrr, b->valid_hit10, b->valid_mrr) ||
			(a->valid_hit10 == b->valid_hit10 && a->valid_mrr == b->valid_mrr &&
			 a->best_valid_loss < b->best_valid_loss))
			best = i;
	}
	return best;
}

/*
 * dst's tensors from src's of the same name and shape (a source's module
 * for a target: the prior's table is the domain's own, counted, not copied)
 */
static void
xd_cold_copy_values(xd_cold *dst, xd_cold *src)
{
	for (int i = 0; i < dst->n_params; i++)
	{
		xd_param   *p = &dst->params[i];
		xd_param   *q = xd_cold_find_param(src, p->name);

		if (q && q->rows == p->rows && q->cols == p->cols)
			memcpy(p->w, q->w, sizeof(float) * (size_t) p->rows * p->cols);
	}
}

xd_status
xd_cold_train(xd_model *model, const xd_dataset *ds, xd_cold *start,
			  const xd_cold_opts *o, xd_cold **out, xd_cold_report *rep)
{
	xd_cold_loop lp;
	xd_cold    *cold = NULL;
	xd_cold    *best = NULL;
	int32_t    *tusers = NULL;
	int32_t    *vusers = NULL;
	int64_t		n_t = 0,
				n_v = 0,
				max_rows = 0;
	int			cap = xd_model_max_rows(model);
	int			since = 0;
	double		best_loss,
				vloss_unused,
				auc;
	xd_config	cfg = model->cfg;
	const xd_schema *prior;
	double		t0 = xd_clock_seconds();
	bool		rank = model->cfg.feedback == XD_IMPLICIT;
	xd_rng		rng;
	xd_status	st;

	*out = NULL;
	memset(rep, 0, sizeof(*rep));
	rep->prior_scale = 1.0;
	memset(&lp, 0, sizeof(lp));
	if (!ds->finalized || o->max_support < 1 || o->max_query < 1 || o->n_neg < 0 ||
		o->episodes_per_step < 1 || !(o->pop_negatives >= 0.0f && o->pop_negatives <= 1.0f) || o->max_epochs < 0 || o->patience < 1 ||
		!(o->lr > 0.0f) || o->max_episodes < 1 || ds->enc.schema.m != model->cfg.m ||
		o->max_support * (1 + o->n_neg) > cap || 3 * o->max_query > cap ||
		o->rank_negatives < 0 || o->rank_negatives > XD_COLD_RANK_MAX ||
		(1 + o->rank_negatives) * o->max_query > cap ||
		(start && (start->film != o->film || start->hidden != o->hidden)))
		return XD_EINVAL;
	lp.model = model;
	lp.ds = ds;
	lp.o = o;
	xd_rng_seed(&rng, o->seed);
	if ((st = xd_user_rows_build(ds, XD_SPLIT_TRAIN, &lp.train)) != XD_OK ||
		(st = xd_user_rows_build(ds, XD_SPLIT_VALID, &lp.valid)) != XD_OK)
		goto done;
	tusers = malloc(sizeof(int32_t) * ((size_t) ds->n_users + 1));
	vusers = malloc(sizeof(int32_t) * ((size_t) ds->n_users + 1));
	if (!tusers || !vusers)
	{
		st = XD_ENOMEM;
		goto done;
	}
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		int64_t		nt = lp.train.off[u + 1] - lp.train.off[u];

		if (nt >= 2)
			tusers[n_t++] = u;
		if (nt >= 1 && lp.valid.off[u + 1] > lp.valid.off[u])
			vusers[n_v++] = u;
		if (nt > max_rows)
			max_rows = nt;
	}
	if (n_t == 0)
	{
		st = XD_ENODATA;
		goto done;
	}
	/* a seeded subset of the validation users, in id order */
	if (n_v > XD_COLD_VALID_USERS)
	{
		xd_rng		vr;
		int64_t    *idx = malloc(sizeof(int64_t) * (size_t) n_v);

		if (!idx)
		{
			st = XD_ENOMEM;
			goto done;
		}
		xd_rng_seed(&vr, o->seed ^ 0x7573657273ULL);
		for (int64_t i = 0; i < n_v; i++)
			idx[i] = vusers[i];
		xd_pick_front(idx, n_v, XD_COLD_VALID_USERS, &vr);
		for (int64_t i = 0; i < XD_COLD_VALID_USERS; i++)
			vusers[i] = (int32_t) idx[i];
		free(idx);
		n_v = XD_COLD_VALID_USERS;
	}
	/* the ranking loss is implicit feedback's; explicit keeps the model's */
	lp.rank_k = rank ? o->rank_negatives : 0;
	lp.scratch = malloc(sizeof(int64_t) * (size_t) max_rows);
	lp.cbuf = malloc(sizeof(float) * (size_t) (model->cfg.m > 0 ? model->cfg.m : 1));
	lp.logq = malloc(sizeof(float) * (size_t) (1 + lp.rank_k) * o->max_query);
	if (lp.rank_k > 0 && o->rank_popular &&
		(lp.logq_item = malloc(sizeof(float) * (size_t) ds->n_items)) != NULL)
		xd_cold_popular_logq(ds, lp.logq_item);
	if (!lp.scratch || !lp.cbuf || !lp.logq ||
		(lp.rank_k > 0 && o->rank_popular && !lp.logq_item) ||
		(st = xd_support_init(&lp.s, o->max_support * (1 + o->n_neg), model->cfg.m)) != XD_OK ||
		(st = xd_batch_init(&lp.q, (lp.rank_k > 2 ? 1 + lp.rank_k : 3) * o->max_query,
							model->cfg.m)) != XD_OK)
	{
		st = st != XD_OK ? st : XD_ENOMEM;
		goto done;
	}
	/* without rho the module is made as for a model without the term */
	cfg.repeat = cfg.repeat && o->rho;
	/* the prior only within its bound (cold.h): a wider table is left out */
	prior = o->prior && xd_cold_prior_fits(&ds->enc.schema, ds->n_items) ? &ds->enc.schema : NULL;
	if ((st = xd_cold_new_joint(&cfg, prior, o->joint, ds->n_items, o->film, o->hidden, cap,
								&cold)) != XD_OK ||
		(st = xd_cold_new_joint(&cfg, prior, o->joint, ds->n_items, o->film, o->hidden, 1,
								&best)) != XD_OK)
		goto done;
	if (start)
		xd_cold_copy_values(cold, start);
	else
		xd_cold_init(cold, &rng);
	if (cold->floor)
		cold->floor->w[0] = 0.0f;	/* trained without it: a serving choice */
	if (cold->prior_N && (st = xd_cold_prior_count(cold, ds)) != XD_OK)
		goto done;
	lp.prow = malloc(sizeof(int32_t) * (size_t) (cold->n_prior + 1));
	lp.self = malloc(sizeof(int32_t) * 2 * (size_t) (max_rows > 0 ? max_rows : 1) *
					 (size_t) (cold->n_prior + 1));
	if (!lp.prow || !lp.self)
	{
		st = XD_ENOMEM;
		goto done;
	}
	if (rank)
	{
		bool		per_item = ds->enc.schema.n_item_num + ds->enc.schema.n_item_codes > 0;

		lp.io_buf = malloc(sizeof(float) * xd_item_outputs_floats(model, per_item));
		lp.fs = malloc(sizeof(float) * (size_t) ds->n_items);
		lp.keep = malloc((size_t) ds->n_items);
		if (!lp.io_buf || !lp.fs || !lp.keep)
		{
			st = XD_ENOMEM;
			goto done;
		}
		if ((st = xd_cold_task_init(&lp.task, cold)) != XD_OK)
			goto done;
		xd_item_outputs_bind(&lp.io, model, per_item, lp.io_buf);
	}

	if ((st = xd_cold_validate(&lp, cold, vusers, n_v, false, &best_loss, &auc, NULL,
								NULL, NULL)) != XD_OK)
		goto done;
	rep->first_valid_loss = best_loss;
	rep->valid_auc = auc;
	xd_cold_copy_values(best, cold);
	for (int ep = 1; ep <= o->max_epochs && since < o->patience; ep++)
	{
		int64_t		n_ep = n_t < o->max_episodes ? n_t : o->max_episodes;
		int			in_step = 0;
		double		vloss;

		/* a seeded permutation of the training users, its first n_ep */
		for (int64_t i = n_t - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) xd_rng_below(&rng, (uint32_t) (i + 1));
			int32_t		t = tusers[i];

			tusers[i] = tusers[j];
			tusers[j] = t;
		}
		for (int64_t i = 0; i < n_ep; i++)
		{
			double		l;

			if (xd_hooks_stopped(&o->hooks))
			{
				st = XD_ECANCELLED;
				goto done;
			}
			st = xd_cold_episode(&lp, cold, tusers[i], false, true,
								 1.0f / (float) o->episodes_per_step, &rng, &l);
			if (st != XD_OK)
				goto done;
			rep->episodes++;
			/* Algorithm 1: one step on the mean over a batch of tasks */
			if (++in_step == o->episodes_per_step || i == n_ep - 1)
			{
				for (int p = 0; p < cold->n_params; p++)
					if (&cold->params[p] != cold->prior_N && &cold->params[p] != cold->floor &&
						!xd_param_adam(&cold->params[p], o->lr, model->cfg.adam_beta1,
									   model->cfg.adam_beta2, model->cfg.adam_eps))
					{
						st = XD_ENUMERIC;
						goto done;
					}
				in_step = 0;
			}
		}
		if ((st = xd_cold_validate(&lp, cold, vusers, n_v, false, &vloss, &auc, NULL,
									NULL, NULL)) != XD_OK)
			goto done;
		rep->epochs = ep;
		if (vloss < best_loss)
		{
			best_loss = vloss;
			rep->valid_auc = auc;
			rep->best_epoch = ep;
			xd_cold_copy_values(best, cold);
			since = 0;
		}
		else
			since++;
	}
	xd_cold_copy_values(cold, best);
	/*
	 * the kept epoch ranked over every item (implicit feedback): what
	 * xd_cold_pick chooses a variant by; own items first is on when it
	 * ranks the validation positives better (HitRate@10, then MRR; the loss
	 * is the same)
	 */
	if (rank)
	{
		if ((st = xd_cold_validate(&lp, cold, vusers, n_v, true, &vloss_unused, &auc,
									&rep->valid_hit10, &rep->valid_mrr,
									&rep->n_valid_ranked)) != XD_OK)
			goto done;
		if (cold->floor)
		{
			double		auc1,
						hit1,
						mrr1;

			cold->floor->w[0] = 1.0f;
			if ((st = xd_cold_validate(&lp, cold, vusers, n_v, true, &vloss_unused, &auc1,
										&hit1, &mrr1, NULL)) != XD_OK)
				goto done;
			if (xd_cold_ranks_better(hit1, mrr1, rep->valid_hit10, rep->valid_mrr))
			{
				rep->valid_hit10 = hit1;
				rep->valid_mrr = mrr1;
				rep->valid_auc = auc1;
			}
			else
				cold->floor->w[0] = 0.0f;
			rep->floor = cold->floor->w[0] != 0.0f;
		}
		if (o->scale_prior && cold->lam_W &&
			(st = xd_cold_scale_prior(&lp, cold, vusers, n_v, rep)) != XD_OK)
			goto done;
	}
	rep->best_valid_loss = best_loss;
	rep->n_train_users = n_t;
	rep->rank_negatives = lp.rank_k;
	rep->n_valid_users = n_v;
	cold->prior_self = NULL;	/* the episodes' scratch, freed below */
	cold->n_self = 0;
	*out = cold;
	cold = NULL;
done:
	rep->seconds = xd_clock_seconds() - t0;
	xd_cold_free(cold);
	xd_cold_free(best);
	free(tusers);
	free(vusers);
	free(lp.scratch);
	free(lp.cbuf);
	free(lp.logq);
	free(lp.logq_item);
	free(lp.prow);
	free(lp.self);
	xd_support_free(&lp.s);
	xd_batch_free(&lp.q);
	xd_cold_task_free(&lp.task);
	free(lp.io_buf);
	free(lp.fs);
	free(lp.keep);
	xd_user_rows_free(&lp.train);
	xd_user_rows_free(&lp.valid);
	return st;
}

/* ---------------------------------------------------------------- cold_min */

bool
xd_cold_min_prefers_cold(const xd_cold_min_report *rep)
{
	return rep->n_ranked >= XD_COLD_MIN_RANKED &&
		rep->cold_hit10 - rep->warm_hit10 > XD_COLD_MIN_MARGIN * rep->hit10_se;
}

xd_status
xd_cold_min_compare(xd_model *model, const xd_dataset *ds, xd_cold *cold, int min_rows,
					int max_support, int n_neg, bool keep_seen, uint64_t seed,
					const xd_hooks *hooks, xd_cold_min_report *rep)
{
	int			n_items = ds->n_items;
	int			m = model->cfg.m;
	bool		per_item = ds->enc.schema.n_item_num + ds->enc.schema.n_item_codes > 0;
	double		t0 = xd_clock_seconds();
	double		wh = 0.0,
				wr = 0.0,
				ch = 0.0,
				cr = 0.0,
				dd = 0.0;		/* the sum of squared hit differences */
	xd_user_rows train = {0},
				valid = {0};
	xd_support	s = {0};
	xd_cold_task task = {0};
	xd_item_outputs io;
	xd_seen		seen = {ds->user_train_off, ds->user_train_items, true};
	float	   *io_buf = NULL,
			   *ws = NULL,
			   *fs = NULL,
			   *cbuf = NULL;
	uint8_t    *keep = NULL;
	xd_rng		rng;
	xd_status	st;

	memset(rep, 0, sizeof(*rep));
	rep->min_rows = min_rows;
	if (min_rows < 0 || max_support < 1 || n_neg < 0 || ds->has_ratings ||
		model->cfg.feedback != XD_IMPLICIT || (cold->n_items != 0 && cold->n_items != n_items))
		return XD_EINVAL;
	if (min_rows == 0)
		return XD_OK;
	if (max_support > xd_model_max_rows(model) / (1 + n_neg))
		max_support = xd_model_max_rows(model) / (1 + n_neg);
	if ((st = xd_user_rows_build(ds, XD_SPLIT_TRAIN, &train)) != XD_OK ||
		(st = xd_user_rows_build(ds, XD_SPLIT_VALID, &valid)) != XD_OK ||
		(st = xd_support_init(&s, max_support * (1 + n_neg), m)) != XD_OK ||
		(st = xd_cold_task_init(&task, cold)) != XD_OK)
		goto done;
	io_buf = malloc(sizeof(float) * xd_item_outputs_floats(model, per_item));
	ws = malloc(sizeof(float) * (size_t) n_items);
	fs = malloc(sizeof(float) * (size_t) n_items);
	cbuf = malloc(sizeof(float) * (size_t) (m > 0 ? m : 1));
	keep = malloc((size_t) n_items);
	if (!io_buf || !ws || !fs || !cbuf || !keep)
	{
		st = XD_ENOMEM;
		goto done;
	}
	xd_item_outputs_bind(&io, model, per_item, io_buf);
	memset(keep, 1, (size_t) n_items);
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		int64_t		nt = train.off[u + 1] - train.off[u],
					nv = valid.off[u + 1] - valid.off[u],
					nd = ds->user_train_off[u + 1] - ds->user_train_off[u],
					k;
		const int64_t *tr = train.rows + train.off[u];

		/* counted as serving counts them: distinct training items (seen) */
		if (nt < 1 || nd >= min_rows || nv < 1)
			continue;
		if (rep->n_ranked * (int64_t) n_items >= XD_COLD_MIN_SCORES)
			break;
		if (xd_hooks_stopped(hooks))
		{
			st = XD_ECANCELLED;
			goto done;
		}
		rep->n_users++;
		/* the cold path: the user's latest rows (serving reads as many), pooled */
		k = nt < max_support ? nt : max_support;
		xd_rng_seed(&rng, seed ^ (0x636f6c646d696eULL + (uint64_t) u));
		if ((st = xd_support_from_rows(ds, model, tr + (nt - k), (int) k, n_neg, &rng, cbuf,
									   &s)) != XD_OK ||
			(st = xd_cold_encode(cold, model, &s, &task)) != XD_OK)
			goto done;
		/* seen items left out: the user's training items, never a positive */
		for (int64_t i = 0; i < nt && !keep_seen; i++)
			keep[ds->items[tr[i]]] = 0;
		for (int64_t q = 0, n_q = 0; q < nv && n_q < XD_COLD_MIN_QUERY; q++)
		{
			int64_t		row = valid.rows[valid.off[u] + q];
			int32_t		v = ds->items[row];
			double		rank;
			bool		hit;

			if (!keep[v])
				continue;
			n_q++;
			xd_dataset_encode(ds, row, -1, cbuf);
			/*
			 * as serving scores them: the warm path with the repeat term over
			 * the seen items when they are kept, the cold path with its own
			 * (rho, own items first) over the support's
			 */
			if ((st = xd_item_outputs_compute(model, cbuf, &ds->enc, &io)) != XD_OK ||
				(st = xd_item_outputs_score_unseen(model, &io, &u, 1, keep_seen ? &seen : NULL,
												   ws)) != XD_OK ||
				(st = xd_cold_score_outputs(cold, model, &task, cbuf, &io, fs)) != XD_OK)
				goto done;
			/* both paths rank against the same items */
			rank = xd_rank_among(ws, keep, n_items, v);
			wh += rank <= 10.0;
			wr += 1.0 / rank;
			hit = rank <= 10.0;
			rank = xd_rank_among(fs, keep, n_items, v);
			ch += rank <= 10.0;
			cr += 1.0 / rank;
			dd += (double) ((rank <= 10.0) != hit);	/* (cold - warm)^2: 0 or 1 */
			rep->n_ranked++;
		}
		for (int64_t i = 0; i < nt && !keep_seen; i++)
			keep[ds->items[tr[i]]] = 1;
	}
	if (rep->n_ranked > 0)
	{
		rep->warm_hit10 = wh / rep->n_ranked;
		rep->warm_mrr = wr / rep->n_ranked;
		rep->cold_hit10 = ch / rep->n_ranked;
		rep->cold_mrr = cr / rep->n_ranked;
	}
	if (rep->n_ranked > 1)
	{
		/* the sample variance of the paired differences, over n */
		double		mean = rep->cold_hit10 - rep->warm_hit10,
					var = (dd - rep->n_ranked * mean * mean) / (rep->n_ranked - 1);

		rep->hit10_se = sqrt(var > 0.0 ? var / rep->n_ranked : 0.0);
	}
	rep->too_few = rep->n_ranked < XD_COLD_MIN_RANKED;
	rep->use_cold = xd_cold_min_prefers_cold(rep);
done:
	rep->seconds = xd_clock_seconds() - t0;
	xd_user_rows_free(&train);
	xd_user_rows_free(&valid);
	xd_support_free(&s);
	xd_cold_task_free(&task);
	free(io_buf);
	free(ws);
	free(fs);
	free(cbuf);
	free(keep);
	return st;
}

/* ---------------------------------------------------------------- adapted targets */

void
xd_cold_target_opts_default(xd_cold_opts *o)
{
	xd_cold_opts_default(o);
	/* a target has few users: few passes, and an early stop soon */
	o->max_epochs = XD_COLD_TARGET_EPOCHS;
	o->patience = 2;
}

/*
 * The source's module over a target's model unchanged but for what is the
 * domain's own: the prior's table, counted from the target's training rows
 * (its items are not the source's). The floor and the prior's scale are the
 * source's choices; no validation is run.
 */
static xd_status
xd_cold_as_is(xd_model *model, const xd_dataset *ds, xd_cold *source, xd_cold **out)
{
	xd_config	cfg = model->cfg;
	const xd_schema *prior;
	xd_cold    *c;
	xd_status	st;

	*out = NULL;
	/*
	 * rho follows the target's own term (option repeat "auto" decides it
	 * per domain): a source's rho the target lacks is left out, one the
	 * source lacks starts at 0 (xd_cold_copy_values copies by name)
	 */
	cfg.repeat = cfg.repeat && cfg.feedback == XD_IMPLICIT;
	prior = source->prior_N && xd_cold_prior_fits(&ds->enc.schema, ds->n_items) ?
		&ds->enc.schema : NULL;
	if ((st = xd_cold_new_joint(&cfg, prior, source->joint_cells > 0, ds->n_items,
								source->film, source->hidden, xd_model_max_rows(model),
								&c)) != XD_OK)
		return st;
	xd_cold_copy_values(c, source);
	if (c->prior_N)
		st = xd_cold_prior_count(c, ds);
	else
		st = xd_cold_prior_ready(c);
	if (st != XD_OK)
	{
		xd_cold_free(c);
		return st;
	}
	*out = c;
	return XD_OK;
}

const char *
xd_cold_start_name(xd_cold_start s)
{
	switch (s)
	{
		case XD_COLD_START_AS_IS:
			return "source_as_is";
		case XD_COLD_START_FROM_SOURCE:
			return "from_source";
		case XD_COLD_START_FRESH:
			return "fresh";
		default:
			return "?";
	}
}

xd_status
xd_cold_train_target(xd_model *model, const xd_dataset *ds, xd_cold *source,
					 bool own_towers, const xd_cold_opts *o, xd_cold **out,
					 xd_cold_target_report *rep, xd_cold **cands)
{
	xd_cold    *cand[XD_COLD_N_STARTS] = {NULL};
	xd_cold_report *reps = rep->cand;
	xd_cold_opts oo;
	int64_t    *nt = NULL;
	int			n = 0;
	double		t0 = xd_clock_seconds();
	xd_status	st = XD_OK;

	*out = NULL;
	memset(rep, 0, sizeof(*rep));
	for (int i = 0; cands && i < XD_COLD_N_STARTS; i++)
		cands[i] = NULL;
	if (!source || !ds->finalized || source->film != o->film || source->hidden != o->hidden)
		return XD_EINVAL;
	/* the users episodes can be cut from, and validated on (xd_cold_train's) */
	nt = calloc((size_t) ds->n_users + 1, 2 * sizeof(int64_t));
	if (!nt)
		return XD_ENOMEM;
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TRAIN]; i++)
		nt[2 * ds->users[ds->split_rows[XD_SPLIT_TRAIN][i]]]++;
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_VALID]; i++)
		nt[2 * ds->users[ds->split_rows[XD_SPLIT_VALID][i]] + 1]++;
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		rep->n_train_users += nt[2 * u] >= 2;
		rep->n_valid_users += nt[2 * u] >= 1 && nt[2 * u + 1] >= 1;
	}
	free(nt);

	/*
	 * Too few tasks to meta-train on or to stop early on: the source's
	 * module as is, over the target's item embeddings and model
	 */
	if (rep->n_train_users < XD_COLD_TARGET_MIN_USERS ||
		rep->n_valid_users < XD_COLD_TARGET_MIN_USERS)
	{
		rep->too_small = true;
		rep->kept = XD_COLD_START_AS_IS;
		st = xd_cold_as_is(model, ds, source, out);
		rep->seconds = xd_clock_seconds() - t0;
		return st;
	}

	/*
	 * The candidates, each ranked on the target's validation episodes (the
	 * same for all: xd_cold_train's, seeded by o->seed): the source's
	 * module as is (no epoch; its floor and prior scale chosen again on the
	 * target), meta-trained from it, and, over towers that are not the
	 * source's (target-only's own, Anneal's fine-tuned ones), meta-trained
	 * from a fresh start, since the source's FiLM heads were learned for
	 * another tower
	 */
	oo = *o;
	oo.max_epochs = 0;
	for (int c = 0; c < (own_towers ? 3 : 2) && st == XD_OK; c++, n++)
	{
		st = xd_cold_train(model, ds, c == XD_COLD_START_FRESH ? NULL : source,
						   c == XD_COLD_START_AS_IS ? &oo : o, &cand[c], &reps[c]);
		/*
		 * xd_cold_pick scans in order, so a candidate the best so far
		 * beats is never kept: without cands it is freed at once (each
		 * holds a prior's table of up to XD_COLD_PRIOR_MAX_BYTES)
		 */
		if (!cands && st == XD_OK)
		{
			int			best = xd_cold_pick(reps, c + 1);

			for (int j = 0; j <= c; j++)
				if (j != best)
				{
					xd_cold_free(cand[j]);
					cand[j] = NULL;
				}
		}
	}
	rep->n_cand = n;
	if (st == XD_OK)
	{
		rep->kept = (xd_cold_start) xd_cold_pick(reps, n);
		*out = cand[rep->kept];
		cand[rep->kept] = NULL;
	}
	for (int i = 0; i < n; i++)
	{
		if (cands && st == XD_OK)
			cands[i] = cand[i];
		else
			xd_cold_free(cand[i]);
	}
	rep->seconds = xd_clock_seconds() - t0;
	return st;
}
