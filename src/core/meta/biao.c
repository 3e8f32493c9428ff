/*
 * biao.c - BIAO's behavioural perceptron and its bi-level loop (biao.h;
 * seeds/biao-www23.txt eq. 3-14, Algorithm 1; PEERS.md's adaptation: no
 * shared users, the developing loss is the targets' under the shared
 * modules, the Hessian is the shared modules', central differences instead
 * of double backprop).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/model_int.h"
#include "xdrec/biao.h"
#include "xdrec/clock.h"
#include "xdrec/sample.h"
#include "xdrec/train.h"

#define XD_BIAO_GAMMA 1.0f		/* eq. 8's scale, fixed: see biao.h */
#define XD_BIAO_HELDOUT 5		/* held-out ablation: every 5th row is dev */

/* One target: its embeddings under the source's shared modules, its rows. */
typedef struct xd_biao_target
{
	const xd_dataset *ds;
	xd_model   *model;			/* borrows the source's shared modules */
	xd_adapt   *adapt;			/* DRR's residuals (dev_fit XD_BIAO_DEV_DRR) */
	xd_batch	batch;
	int64_t    *refit_rows;		/* the rows the embeddings re-fit on */
	int64_t		n_refit;
	int64_t		refit_at;
	int64_t    *dev_rows;		/* the developing rows, their own shuffle */
	int64_t		n_dev;
	int64_t		dev_at;
} xd_biao_target;

struct xd_biao
{
	xd_biao_opts o;
	int			d;
	int			m;
	int			zd;				/* d + m: the perceptron's input */
	/* phi: w_G [zd], b_G, A_S [d x zd], A_T [m x zd], w_L [d + m], b_L */
	int			n_phi;
	int			off_bG,
				off_AS,
				off_AT,
				off_wL,
				off_bL;
	float	   *phi;
	/* the source users' histories: items of their first training rows */
	int32_t    *hist_off;		/* [n_users + 1] */
	int32_t    *hist_item;
	/* per-target prototypes, [n_proto x m] */
	int			n_proto;
	float	   *proto;
	int			n_targets;
	xd_biao_target *t;
	xd_rng		rng;
	/* scratch for a batch of P positives */
	int			cap;			/* positives */
	float	   *z;				/* [cap * zd] */
	float	   *x;				/* [cap * m] */
	float	   *g,
			   *l,
			   *s,
			   *sm;				/* [cap] */
	float	   *mS;				/* [cap * d] */
	float	   *mT;				/* [cap * m] */
	float	   *att;			/* [max(history, n_proto)] */
	float	   *dq;				/* [max(d, m)] */
	float	   *dms;			/* [d] */
	float	   *dmt;			/* [m] */
	float	   *pool;			/* [max(d, m)] attention output, recomputed */
	double	   *acc;			/* [m] k-means sums */
	float	   *q;				/* [max(d, m)] */
	float	   *scores;			/* [3 cap] */
	double	   *lp,
			   *lm;				/* [cap] per-row losses at theta +- eps p */
	float	   *gw;				/* [cap] */
	int		   *assign;			/* [cap] k-means */
	const float **keys;			/* [max(history, n_proto)] attention keys */
	/* flat vectors over the shared modules */
	int64_t		n_shared;
	float	   *theta0,
			   *gp,
			   *gm,
			   *vv,
			   *pp,
			   *cur,
			   *hv,
			   *phig;
	int64_t		warmup_steps;	/* warmup_epochs of the source's batches */
	int64_t		epoch_steps;	/* the source's batches per epoch */
	int			n_zo;			/* zeroth-order steps taken */
	int			since_best;		/* epochs without a better validation */
	int64_t		zo_start;		/* the step of the first (-1: not yet) */
	/* the extra source batches of an upper step (source_batches > 1) */
	const xd_dataset *src;
	int64_t    *src_rows;
	int64_t		n_src;
	int64_t		src_at;
	xd_batch	src_batch;
	float	   *phig1;			/* [n_phi] one batch's hypergradient */
	/* stats */
	int			n_upper;
	int			cap_upper;
	double	   *dev_loss;
	double		upper_seconds;
	double		weigh_seconds;
};

void
xd_biao_opts_default(xd_biao_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval = 20;
	o->warmup_epochs = 5;
	o->neumann_terms = 3;
	o->neumann_alpha = 0.01f;
	o->fd_step = 1e-2f;
	o->refit_steps = 4;
	o->refit_lr = 1e-2f;
	o->upper_lr = 0.5f;
	o->dev_batches = 1;
	o->source_batches = 1;
	o->history = 20;
	o->prototypes = 4;
	o->use_global = true;
	o->use_local = true;
	o->heldout_dev = false;
	o->upper = XD_BIAO_UPPER_IMPLICIT;
	o->zo_estimates = 4;
	o->zo_every = 1;
	o->zo_plateau = 0;
	o->zo_epochs = 5;
	o->zo_eps = 1.0f;
	o->zo_step = 1.0f;
	o->zo_directions = 1;
	o->zo_refit_steps = 100;
	o->zo_dev_batches = 8;
	o->seed = 1;
}

int64_t
xd_biao_shared_size(const xd_model *model)
{
	int64_t		n = 0;

	for (int i = 0; i < model->shared->n_params; i++)
		n += (int64_t) model->shared->params[i].rows * model->shared->params[i].cols;
	return n;
}

/* ------------------------------------------------- flat shared-module vectors */

static void
shared_get(const xd_model *model, bool grad, float *out)
{
	for (int i = 0; i < model->shared->n_params; i++)
	{
		const xd_param *p = &model->shared->params[i];
		size_t		len = (size_t) p->rows * p->cols;

		memcpy(out, grad ? p->g : p->w, sizeof(float) * len);
		out += len;
	}
}

/* w = base + eps dir (dir NULL: w = base) */
static void
shared_set(xd_model *model, const float *base, const float *dir, double eps)
{
	for (int i = 0; i < model->shared->n_params; i++)
	{
		xd_param   *p = &model->shared->params[i];
		size_t		len = (size_t) p->rows * p->cols;

		for (size_t k = 0; k < len; k++)
			p->w[k] = dir ? (float) (base[k] + eps * dir[k]) : base[k];
		base += len;
		if (dir)
			dir += len;
	}
}

static double
vec_norm(const float *v, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += (double) v[i] * v[i];
	return sqrt(s);
}

/* The gradient over the shared modules of the batch's (weighted) loss. */
static xd_status
shared_grad(xd_model *model, const xd_batch *b, float *out, double *loss)
{
	double		l;
	xd_status	st;

	xd_model_zero_grad(model);
	st = xd_model_loss_backward(model, b, NULL, false, &l);
	if (st == XD_OK)
		shared_get(model, true, out);
	xd_model_zero_grad(model);
	if (loss)
		*loss = l;
	return st;
}

/* Per-positive unweighted loss l_j (eq. 13-14 or 16 without beta). */
static xd_status
row_losses(xd_biao *bi, xd_model *model, const xd_batch *b, double *out)
{
	int			P = b->n_pos;
	xd_status	st = xd_model_score(model, b, bi->scores);

	if (st != XD_OK)
		return st;
	for (int j = 0; j < P; j++)
	{
		double		sp = bi->scores[j];

		if (model->cfg.feedback == XD_IMPLICIT)
		{
			double		sv = bi->scores[P + j];
			double		sc = bi->scores[2 * P + j];

			out[j] = (1.0 - sp) * (1.0 - sp) + sv * sv + sc * sc;
		}
		else
			out[j] = (b->ratings[j] - sp) * (b->ratings[j] - sp);
	}
	return XD_OK;
}

/* ----------------------------------------------------------------- perceptron */

/*
 * Attention of query q[dim] over n keys (rows of dim): a = softmax(k_i . q
 * / sqrt(dim)), out = sum a_i k_i (eq. 4-6 with one head and mean pooling
 * replaced by the attention's own pooling).
 */
static void
attend(const float *q, const float *const *keys, int n, int dim, float *a, float *out)
{
	float		mx = -INFINITY;
	double		sum = 0.0;
	float		scale = 1.0f / sqrtf((float) dim);

	memset(out, 0, sizeof(float) * dim);
	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
	{
		float		e = 0.0f;

		for (int k = 0; k < dim; k++)
			e += keys[i][k] * q[k];
		a[i] = e * scale;
		mx = a[i] > mx ? a[i] : mx;
	}
	for (int i = 0; i < n; i++)
	{
		a[i] = expf(a[i] - mx);
		sum += a[i];
	}
	for (int i = 0; i < n; i++)
	{
		a[i] = (float) (a[i] / sum);
		for (int k = 0; k < dim; k++)
			out[k] += a[i] * keys[i][k];
	}
}

/* Backward of attend: dout[dim] -> dq[dim] (a as attend left it). */
static void
attend_back(const float *dout, const float *const *keys, int n, int dim,
			const float *a, float *dq)
{
	float		scale = 1.0f / sqrtf((float) dim);
	double		mean = 0.0;

	memset(dq, 0, sizeof(float) * dim);
	for (int i = 0; i < n; i++)
	{
		float		da = 0.0f;

		for (int k = 0; k < dim; k++)
			da += dout[k] * keys[i][k];
		mean += (double) a[i] * da;
	}
	for (int i = 0; i < n; i++)
	{
		float		da = 0.0f;
		float		de;

		for (int k = 0; k < dim; k++)
			da += dout[k] * keys[i][k];
		de = a[i] * (float) (da - mean) * scale;
		for (int k = 0; k < dim; k++)
			dq[k] += de * keys[i][k];
	}
}

/* q[rows] = A[rows x zd] z */
static void
matvec(const float *A, int rows, int zd, const float *z, float *q)
{
	for (int r = 0; r < rows; r++)
	{
		float		s = 0.0f;

		for (int k = 0; k < zd; k++)
			s += A[(size_t) r * zd + k] * z[k];
		q[r] = s;
	}
}

/* the user's history as key pointers; returns their count */
static int
history_keys(const xd_biao *bi, const xd_model *model, int32_t user, const float **keys)
{
	const float *E = model->domain->E_v->w;
	int			n = 0;

	if (user < 0 || user >= model->domain->n_users)
		return 0;
	for (int32_t k = bi->hist_off[user]; k < bi->hist_off[user + 1]; k++)
		keys[n++] = E + (size_t) bi->hist_item[k] * bi->d;
	return n;
}

/*
 * Forward of eq. 3-8 over the positives of b: z, g, l, s and the weights
 * sm (softmax, sum 1) in the scratch.
 */
static xd_status
percept_forward(xd_biao *bi, xd_model *model, const xd_batch *b)
{
	int			P = b->n_pos;
	int			d = bi->d,
				m = bi->m,
				zd = bi->zd;
	const float *phi = bi->phi;
	const float **keys;
	xd_batch	view = *b;
	float		mx = -INFINITY;
	double		sum = 0.0;
	xd_status	st;

	if (P < 1 || P > bi->cap || b->m != m)
		return XD_EINVAL;
	keys = bi->keys;
	/* the context output x^1 of the positives (the raw c when L_C = 0) */
	view.n = P;
	view.n_pos = 0;
	if (model->cfg.n_ctx_layers >= 1)
	{
		if ((st = xd_model_module_inputs(model, &view, bi->x, NULL, NULL)) != XD_OK)
			return st;
	}
	else
		memcpy(bi->x, b->c, sizeof(float) * (size_t) P * m);

	for (int j = 0; j < P; j++)
	{
		float	   *z = bi->z + (size_t) j * zd;

		memcpy(z, model->domain->E_v->w + (size_t) b->items[j] * d, sizeof(float) * d);
		memcpy(z + d, bi->x + (size_t) j * m, sizeof(float) * m);
		bi->g[j] = 1.0f;
		if (bi->o.use_global)
		{
			float		g = phi[bi->off_bG];

			for (int k = 0; k < zd; k++)
				g += phi[k] * z[k];
			bi->g[j] = g;
		}
		bi->l[j] = 1.0f;
		if (bi->o.use_local)
		{
			float	   *ms = bi->mS + (size_t) j * d;
			float	   *mt = bi->mT + (size_t) j * m;
			const float *wL = phi + bi->off_wL;
			float		l = phi[bi->off_bL];
			int			nh = history_keys(bi, model, b->users[j], keys);

			matvec(phi + bi->off_AS, d, zd, z, bi->q);
			attend(bi->q, keys, nh, d, bi->att, ms);
			for (int k = 0; k < bi->n_proto; k++)
				keys[k] = bi->proto + (size_t) k * m;
			matvec(phi + bi->off_AT, m, zd, z, bi->q);
			attend(bi->q, keys, bi->n_proto, m, bi->att, mt);
			for (int k = 0; k < d; k++)
				l += wL[k] * ms[k];
			for (int k = 0; k < m; k++)
				l += wL[d + k] * mt[k];
			bi->l[j] = l;
		}
		bi->s[j] = bi->g[j] * bi->l[j];
		mx = bi->s[j] > mx ? bi->s[j] : mx;
	}
	/* eq. 8: the normalisation is a softmax over the batch */
	for (int j = 0; j < P; j++)
	{
		bi->sm[j] = expf(bi->s[j] - mx);
		sum += bi->sm[j];
	}
	for (int j = 0; j < P; j++)
		bi->sm[j] = (float) (bi->sm[j] / sum);
	return XD_OK;
}

/*
 * Backward of eq. 3-8 after percept_forward: gw[P] = dL/dw_j -> grad[n_phi]
 * (overwritten).
 */
static xd_status
percept_backward(xd_biao *bi, xd_model *model, const xd_batch *b, const float *gw,
				 float *grad)
{
	int			P = b->n_pos;
	int			d = bi->d,
				m = bi->m,
				zd = bi->zd;
	const float *phi = bi->phi;
	const float **keys;
	double		mean = 0.0;
	float	   *dms = bi->dms;
	float	   *dmt = bi->dmt;
	float	   *tmp = bi->pool;
	keys = bi->keys;
	memset(grad, 0, sizeof(float) * bi->n_phi);
	for (int j = 0; j < P; j++)
		mean += (double) bi->sm[j] * gw[j];
	for (int j = 0; j < P; j++)
	{
		const float *z = bi->z + (size_t) j * zd;
		/* w_j = gamma sm_j: ds_k = gamma sm_k (gw_k - sum_j sm_j gw_j) */
		float		ds = XD_BIAO_GAMMA * bi->sm[j] * (float) (gw[j] - mean);
		float		dg = ds * bi->l[j];
		float		dl = ds * bi->g[j];

		if (bi->o.use_global)
		{
			for (int k = 0; k < zd; k++)
				grad[k] += dg * z[k];
			grad[bi->off_bG] += dg;
		}
		if (bi->o.use_local)
		{
			const float *ms = bi->mS + (size_t) j * d;
			const float *mt = bi->mT + (size_t) j * m;
			const float *wL = phi + bi->off_wL;
			int			nh;

			for (int k = 0; k < d; k++)
			{
				grad[bi->off_wL + k] += dl * ms[k];
				dms[k] = dl * wL[k];
			}
			for (int k = 0; k < m; k++)
			{
				grad[bi->off_wL + d + k] += dl * mt[k];
				dmt[k] = dl * wL[d + k];
			}
			grad[bi->off_bL] += dl;
			/* through the history's attention to A_S (the attention again) */
			nh = history_keys(bi, model, b->users[j], keys);
			if (nh > 0)
			{
				matvec(phi + bi->off_AS, d, zd, z, bi->q);
				attend(bi->q, keys, nh, d, bi->att, tmp);
				attend_back(dms, keys, nh, d, bi->att, bi->dq);
				for (int r = 0; r < d; r++)
					for (int k = 0; k < zd; k++)
						grad[bi->off_AS + (size_t) r * zd + k] += bi->dq[r] * z[k];
			}
			if (bi->n_proto > 0)
			{
				for (int k = 0; k < bi->n_proto; k++)
					keys[k] = bi->proto + (size_t) k * m;
				matvec(phi + bi->off_AT, m, zd, z, bi->q);
				attend(bi->q, keys, bi->n_proto, m, bi->att, tmp);
				attend_back(dmt, keys, bi->n_proto, m, bi->att, bi->dq);
				for (int r = 0; r < m; r++)
					for (int k = 0; k < zd; k++)
						grad[bi->off_AT + (size_t) r * zd + k] += bi->dq[r] * z[k];
			}
		}
	}
	return XD_OK;
}

xd_status
xd_biao_weights(xd_biao *bi, xd_model *model, const xd_batch *b, float *w)
{
	xd_status	st = percept_forward(bi, model, b);

	if (st != XD_OK)
		return st;
	for (int j = 0; j < b->n_pos; j++)
		w[j] = XD_BIAO_GAMMA * bi->sm[j];
	return XD_OK;
}

/* the batch's row weights: n_pos w_j on the positive and its negatives */
static xd_status
set_weights(xd_biao *bi, xd_model *model, xd_batch *b)
{
	int			P = b->n_pos;
	xd_status	st = percept_forward(bi, model, b);

	if (st != XD_OK)
		return st;
	for (int j = 0; j < P; j++)
	{
		float		w = (float) P * XD_BIAO_GAMMA * bi->sm[j];

		b->weights[j] = w;
		if (model->cfg.feedback == XD_IMPLICIT)
			b->weights[P + j] = b->weights[2 * P + j] = w;
	}
	return XD_OK;
}

/* ------------------------------------------------------- the implicit gradient */

/* what is differenced: the shared gradient, or the per-row losses */
typedef xd_status (*xd_probe_fn) (xd_biao *bi, xd_model *model, const xd_batch *b, void *out);

static xd_status
probe_grad(xd_biao *bi, xd_model *model, const xd_batch *b, void *out)
{
	(void) bi;
	return shared_grad(model, b, out, NULL);
}

static xd_status
probe_losses(xd_biao *bi, xd_model *model, const xd_batch *b, void *out)
{
	return row_losses(bi, model, b, out);
}

/*
 * probe at theta + eps dir into plus and at theta - eps dir into minus, eps
 * giving the step fd_step in parameter norm; theta restored exactly. *eps =
 * 0 (nothing probed) when dir is zero.
 */
static xd_status
along(xd_biao *bi, xd_model *model, const xd_batch *b, const float *dir,
	  xd_probe_fn probe, void *plus, void *minus, double *eps)
{
	double		nd = vec_norm(dir, bi->n_shared);
	xd_status	st;

	*eps = 0.0;
	if (!(nd > 0.0))
		return XD_OK;
	*eps = bi->o.fd_step / nd;
	shared_get(model, false, bi->theta0);
	shared_set(model, bi->theta0, dir, *eps);
	st = probe(bi, model, b, plus);
	if (st == XD_OK)
	{
		shared_set(model, bi->theta0, dir, -*eps);
		st = probe(bi, model, b, minus);
	}
	shared_set(model, bi->theta0, NULL, 0.0);
	return st;
}

/* H x by central differences of the shared gradient along x (PEERS.md) */
static xd_status
hvp(xd_biao *bi, xd_model *model, const xd_batch *b, const float *x, float *out)
{
	double		eps;
	xd_status	st = along(bi, model, b, x, probe_grad, bi->gp, bi->gm, &eps);

	for (int64_t i = 0; st == XD_OK && i < bi->n_shared; i++)
		out[i] = eps > 0.0 ? (float) ((bi->gp[i] - bi->gm[i]) / (2.0 * eps)) : 0.0f;
	return st;
}

xd_status
xd_biao_neumann(xd_biao *bi, xd_model *model, const xd_batch *b,
				const float *v, float *p)
{
	int64_t		n = bi->n_shared;
	xd_status	st = XD_OK;

	/* p = v; repeat K: v <- v - alpha H v; p <- p + v (PEERS.md) */
	memcpy(p, v, sizeof(float) * n);
	memcpy(bi->cur, v, sizeof(float) * n);
	for (int k = 0; k < bi->o.neumann_terms; k++)
	{
		if ((st = hvp(bi, model, b, bi->cur, bi->hv)) != XD_OK)
			break;
		for (int64_t i = 0; i < n; i++)
		{
			bi->cur[i] -= bi->o.neumann_alpha * bi->hv[i];
			p[i] += bi->cur[i];
		}
	}
	return st;
}

xd_status
xd_biao_phi_grad(xd_biao *bi, xd_model *model, const xd_batch *b,
				 const float *p, float *grad)
{
	int			P = b->n_pos;
	double		eps;
	xd_status	st;

	if (P < 1 || P > bi->cap)
		return XD_EINVAL;
	/* p . grad_theta l_j = (l_j(theta + eps p) - l_j(theta - eps p)) / 2 eps */
	if ((st = along(bi, model, b, p, probe_losses, bi->lp, bi->lm, &eps)) != XD_OK)
		return st;
	if (eps == 0.0)
	{
		memset(grad, 0, sizeof(float) * bi->n_phi);
		return XD_OK;
	}
	/* eq. 14: d L_dev / d w_j = -(p . grad_theta l_j) */
	for (int j = 0; j < P; j++)
		bi->gw[j] = (float) (-(bi->lp[j] - bi->lm[j]) / (2.0 * eps));
	if ((st = percept_forward(bi, model, b)) != XD_OK)
		return st;
	return percept_backward(bi, model, b, bi->gw, grad);
}

/* --------------------------------------------------------------- the targets */

static void
next_rows(int64_t *rows, int64_t n, int64_t *at, int want, xd_rng *rng,
		  const int64_t **out, int *n_pos)
{
	int			k = (int) (n < want ? n : want);

	if (*at + k > n)
	{
		xd_shuffle_rows(rows, n, rng);
		*at = 0;
	}
	*out = rows + *at;
	*n_pos = k;
	*at += k;
}

/* k-means (a few Lloyd rounds) of the dev batch's x into the target's prototypes */
static void
prototypes(xd_biao *bi, int t, const float *x, int n)
{
	int			K = bi->o.prototypes;
	int			m = bi->m;
	float	   *c = bi->proto + (size_t) t * K * m;
	int		   *assign = bi->assign;
	double	   *acc = bi->acc;

	for (int k = 0; k < K; k++)
		memcpy(c + (size_t) k * m, x + (size_t) ((int64_t) k * n / K) * m, sizeof(float) * m);
	for (int round = 0; round < 5; round++)
	{
		for (int i = 0; i < n; i++)
		{
			double		best = INFINITY;

			for (int k = 0; k < K; k++)
			{
				double		dd = 0.0;

				for (int a = 0; a < m; a++)
				{
					double		e = x[(size_t) i * m + a] - c[(size_t) k * m + a];

					dd += e * e;
				}
				if (dd < best)
				{
					best = dd;
					assign[i] = k;
				}
			}
		}
		for (int k = 0; k < K; k++)
		{
			int			cnt = 0;

			memset(acc, 0, sizeof(double) * m);
			for (int i = 0; i < n; i++)
				if (assign[i] == k)
				{
					cnt++;
					for (int a = 0; a < m; a++)
						acc[a] += x[(size_t) i * m + a];
				}
			for (int a = 0; cnt > 0 && a < m; a++)
				c[(size_t) k * m + a] = (float) (acc[a] / cnt);
		}
	}
}

/*
 * The target's developing batch in tg->batch; its x into bi->x and the
 * prototypes refreshed from it.
 */
static xd_status
dev_batch(xd_biao *bi, int t)
{
	xd_biao_target *tg = &bi->t[t];
	const int64_t *rows;
	int			n_pos;
	xd_batch	view;
	xd_status	st;

	next_rows(tg->dev_rows, tg->n_dev, &tg->dev_at, bi->cap, &bi->rng, &rows, &n_pos);
	if ((st = xd_sample_batch(tg->ds, rows, n_pos, &bi->rng, &tg->batch)) != XD_OK)
		return st;
	view = tg->batch;
	view.n = n_pos;
	view.n_pos = 0;
	if (tg->model->cfg.n_ctx_layers >= 1)
		st = xd_model_module_inputs(tg->model, &view, bi->x, NULL, NULL);
	else
		memcpy(bi->x, tg->batch.c, sizeof(float) * (size_t) n_pos * bi->m);
	if (st == XD_OK)
		prototypes(bi, t, bi->x, n_pos);
	return st;
}

/*
 * `steps` Adam steps on a target model's embeddings (and residuals, if it
 * has them) over its rows[n] from *at, the shared modules frozen
 */
static xd_status
fit_target(xd_biao *bi, xd_model *tm, const xd_dataset *ds, int64_t *rows, int64_t n,
		   int64_t *at, xd_rng *rng, xd_batch *batch, int steps)
{
	float		lr[XD_N_GROUPS] = {0.0f, bi->o.refit_lr, bi->o.refit_lr};
	xd_status	st = XD_OK;

	xd_model_freeze_shared(tm, true);
	for (int s = 0; s < steps && st == XD_OK; s++)
	{
		const int64_t *r;
		int			n_pos;
		double		loss;

		next_rows(rows, n, at, bi->cap, rng, &r, &n_pos);
		if ((st = xd_sample_batch(ds, r, n_pos, rng, batch)) == XD_OK &&
			(st = xd_model_loss_backward(tm, batch, rng, true, &loss)) == XD_OK)
			st = xd_adam_step(tm, lr);
	}
	xd_model_zero_grad(tm);
	xd_model_freeze_shared(tm, false);
	return st;
}

/*
 * a few Adam steps on the target's embeddings (and, dev_fit DRR, its
 * residuals), the shared modules frozen
 */
static xd_status
refit(xd_biao *bi, int t)
{
	xd_biao_target *tg = &bi->t[t];

	if (bi->o.refit_fresh)
	{
		xd_domain_init(tg->model->domain, &bi->rng, (float) tg->ds->rating_mean);
		if (tg->adapt)
			xd_params_zero(tg->adapt->params, tg->adapt->n_params);
	}
	return fit_target(bi, tg->model, tg->ds, tg->refit_rows, tg->n_refit, &tg->refit_at,
					  &bi->rng, &tg->batch, bi->o.refit_steps);
}

/* record L_dev of an upper step */
static xd_status
push_dev_loss(xd_biao *bi, double dev)
{
	if (bi->n_upper == bi->cap_upper)
	{
		int			cap = bi->cap_upper ? 2 * bi->cap_upper : 64;
		double	   *nd = realloc(bi->dev_loss, sizeof(double) * cap);

		if (!nd)
			return XD_ENOMEM;
		bi->dev_loss = nd;
		bi->cap_upper = cap;
	}
	bi->dev_loss[bi->n_upper++] = dev;
	return XD_OK;
}

/*
 * v: the re-fitted embeddings and residuals held fixed, the partial
 * derivative in the shared modules. Under reorder-and-reuse the developing
 * rows are the rows the re-fit descends, so at the re-fit's optimum the
 * loss's gradient in them is zero and their response to the modules drops
 * out of the total derivative (the envelope theorem): the partial one is
 * the total one there, at one backward pass per target, where the response
 * would need each target's re-fit Hessian inverted (a second Neumann series
 * per target and upper step). Short of the optimum (a few re-fit steps
 * carried over from the last upper step) it is the approximation the
 * Direct objective makes for the embeddings too.
 */
xd_status
xd_biao_dev_grad(xd_biao *bi, float *v, double *dev_loss)
{
	double		dev = 0.0;
	xd_status	st;

	memset(v, 0, sizeof(float) * bi->n_shared);
	for (int t = 0; t < bi->n_targets; t++)
	{
		double		loss;

		if ((st = shared_grad(bi->t[t].model, &bi->t[t].batch, bi->gp, &loss)) != XD_OK)
			return st;
		dev += loss / bi->n_targets;
		for (int64_t i = 0; i < bi->n_shared; i++)
			v[i] += bi->gp[i] / (float) bi->n_targets;
	}
	*dev_loss = dev;
	return XD_OK;
}

xd_status
xd_biao_hypergrad(xd_biao *bi, xd_model *model, xd_batch *b, float *grad, double *dev_loss)
{
	double		dev = 0.0;
	int			D = bi->o.dev_batches;
	xd_status	st;

	if ((st = set_weights(bi, model, b)) != XD_OK)
		return st;
	/*
	 * v = grad_shared L_dev, the mean over targets (PEERS.md) and over
	 * dev_batches developing batches of each: one batch's v is mostly noise
	 */
	for (int k = 0; k < D; k++)
	{
		double		loss;

		for (int t = 0; t < bi->n_targets; t++)
			if ((k == 0 && (st = refit(bi, t)) != XD_OK) ||
				(st = dev_batch(bi, t)) != XD_OK)
				return st;
		if ((st = xd_biao_dev_grad(bi, D == 1 ? bi->vv : bi->hv, &loss)) != XD_OK)
			return st;
		dev += loss / D;
		for (int64_t i = 0; D > 1 && i < bi->n_shared; i++)
			bi->vv[i] = (k ? bi->vv[i] : 0.0f) + bi->hv[i] / (float) D;
	}
	if (dev_loss)
		*dev_loss = dev;
	/* p ~ H^-1 v on the current batch, then eq. 14 */
	if ((st = xd_biao_neumann(bi, model, b, bi->vv, bi->pp)) != XD_OK ||
		(st = xd_biao_phi_grad(bi, model, b, bi->pp, grad)) != XD_OK)
		return st;

	/*
	 * eq. 14's sum over the source's rows, over source_batches batches: the
	 * current one and more of the source's training rows in a shuffle of
	 * their own, every one against the same p (its cost is two forward
	 * passes a batch, the Neumann series' is 2 K backward ones)
	 */
	for (int k = 1; k < bi->o.source_batches; k++)
	{
		const int64_t *rows;
		int			n_pos;

		next_rows(bi->src_rows, bi->n_src, &bi->src_at, bi->cap, &bi->rng, &rows, &n_pos);
		if ((st = xd_sample_batch(bi->src, rows, n_pos, &bi->rng, &bi->src_batch)) != XD_OK ||
			(st = xd_biao_phi_grad(bi, model, &bi->src_batch, bi->pp, bi->phig1)) != XD_OK)
			return st;
		for (int i = 0; i < bi->n_phi; i++)
			grad[i] += bi->phig1[i];
	}
	for (int i = 0; bi->o.source_batches > 1 && i < bi->n_phi; i++)
		grad[i] /= (float) bi->o.source_batches;
	xd_model_zero_grad(model);
	return XD_OK;
}

xd_status
xd_biao_upper_step(xd_biao *bi, xd_model *model, xd_batch *b)
{
	double		t0 = xd_clock_seconds();
	double		dev;
	xd_status	st;

	if ((st = xd_biao_hypergrad(bi, model, b, bi->phig, &dev)) != XD_OK ||
		(st = push_dev_loss(bi, dev)) != XD_OK)
		return st;

	/*
	 * SGD, as the paper's upper optimiser: a step in proportion to the
	 * hypergradient, where Adam's normalised steps turned the noise of
	 * one-batch estimates into full-size moves (docs/training.md)
	 */
	for (int k = 0; k < bi->n_phi; k++)
	{
		bi->phi[k] -= bi->o.upper_lr * bi->phig[k];
		if (!isfinite(bi->phi[k]))
			return XD_ENUMERIC;
	}
	bi->upper_seconds += xd_clock_seconds() - t0;
	return XD_OK;
}

/* ------------------------------------------------ the zeroth-order upper step */

/*
 * One target's developing loss under model's frozen shared modules after a
 * fresh fit of its embeddings and DRR's residuals (the report's "L_dev
 * after DRR's residuals", which ranks the oracle's modules first:
 * docs/training.md), on a random stream of its own.
 */
static xd_status
fresh_target_loss(xd_biao *bi, xd_model *model, int t, xd_rng *rng, double *out)
{
	const xd_biao_target *tg = &bi->t[t];
	xd_domain  *dom = NULL;
	xd_adapt   *ad = NULL;
	xd_model   *tm = NULL;
	int64_t    *rows = malloc(sizeof(int64_t) * (size_t) (tg->n_refit > 0 ? tg->n_refit : 1));
	int64_t    *dev = malloc(sizeof(int64_t) * (size_t) (tg->n_dev > 0 ? tg->n_dev : 1));
	int64_t		at,
				dev_at;
	xd_status	st;

	*out = 0.0;
	if (!rows || !dev)
		st = XD_ENOMEM;
	else if ((st = xd_domain_new(&model->cfg, tg->ds->n_users, tg->ds->n_items, &dom)) == XD_OK)
	{
		xd_domain_init(dom, rng, (float) tg->ds->rating_mean);
		/* the model owns dom from here, even if this fails */
		if ((st = xd_model_new(&model->cfg, model->shared, dom, false, true, &tm)) == XD_OK &&
			(st = xd_adapt_new(&model->cfg, &ad)) == XD_OK)
			st = xd_model_set_adapt(tm, ad);
	}
	if (st == XD_OK)
	{
		/* copies of the rows: the object's shuffles stay where they are */
		memcpy(rows, tg->refit_rows, sizeof(int64_t) * tg->n_refit);
		memcpy(dev, tg->dev_rows, sizeof(int64_t) * tg->n_dev);
		at = tg->n_refit;
		dev_at = tg->n_dev;
		st = fit_target(bi, tm, tg->ds, rows, tg->n_refit, &at, rng, &bi->src_batch,
						bi->o.zo_refit_steps);
	}
	for (int k = 0; st == XD_OK && k < bi->o.zo_dev_batches; k++)
	{
		const int64_t *r;
		int			n_pos;
		double		loss;

		next_rows(dev, tg->n_dev, &dev_at, bi->cap, rng, &r, &n_pos);
		if ((st = xd_sample_batch(tg->ds, r, n_pos, rng, &bi->src_batch)) == XD_OK &&
			(st = xd_model_loss(tm, &bi->src_batch, NULL, false, &loss)) == XD_OK)
			*out += loss / bi->o.zo_dev_batches;
	}
	xd_model_free(tm);
	xd_adapt_free(ad);
	free(rows);
	free(dev);
	return st;
}

xd_status
xd_biao_fresh_dev_loss(xd_biao *bi, xd_model *model, uint64_t seed, double *out)
{
	xd_status	st = XD_OK;

	*out = 0.0;
	for (int t = 0; t < bi->n_targets && st == XD_OK; t++)
	{
		xd_rng		rng;
		double		l;

		xd_rng_seed(&rng, seed + 7919 * (uint64_t) t);
		if ((st = fresh_target_loss(bi, model, t, &rng, &l)) == XD_OK)
			*out += l / bi->n_targets;
	}
	return st;
}

/* the copies' weigh hook: the perceptron's weights, no upper step */
static xd_status
weights_only(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	(void) step;
	return set_weights(arg, model, b);
}

/*
 * L_dev after a copy of model trains zo_epochs epochs under the current
 * perceptron: the copy's shuffles from train_seed, the fresh fit's from
 * dev_seed (both sides of an estimate share them: antithetic runs that
 * differ only in phi)
 */
static xd_status
copy_dev_loss(xd_biao *bi, xd_model *model, const xd_dataset *src, uint64_t train_seed,
			  uint64_t dev_seed, double *out)
{
	xd_shared  *sh = NULL;
	xd_domain  *dom = NULL;
	xd_model   *copy = NULL;
	xd_train_opts o;
	xd_train_result res;
	xd_status	st;

	if ((st = xd_shared_clone(model->shared, &sh)) != XD_OK)
		return st;
	if ((st = xd_domain_clone(&model->cfg, model->domain, &dom)) != XD_OK)
	{
		xd_shared_free(sh);
		return st;
	}
	if ((st = xd_model_new(&model->cfg, sh, dom, true, true, &copy)) != XD_OK)
		return st;
	xd_train_opts_default(&o, &copy->cfg);
	o.fixed_epochs = true;
	o.max_epochs = bi->o.zo_epochs;
	o.seed = train_seed;
	o.weigh = weights_only;
	o.weigh_arg = bi;
	o.hooks.stop = bi->o.hooks.stop;	/* no progress: the copies are no epochs of the run */
	o.hooks.stop_arg = bi->o.hooks.stop_arg;
	if ((st = xd_train(copy, src, &o, &res)) == XD_OK)
		st = xd_biao_fresh_dev_loss(bi, copy, dev_seed, out);
	xd_model_free(copy);
	return st;
}

xd_status
xd_biao_zo_estimate(xd_biao *bi, xd_model *model, const xd_dataset *src, bool draw, float *u,
					double dev[2])
{
	/* the global term's slopes on x: one weight per context value */
	int			lo = bi->d,
				hi = bi->d + bi->m;
	uint64_t	train_seed = xd_rng_next(&bi->rng);
	uint64_t	dev_seed = xd_rng_next(&bi->rng);
	float	   *phi0 = malloc(sizeof(float) * bi->n_phi);
	double		nu = 0.0;
	xd_status	st = XD_OK;

	if (!phi0)
		return XD_ENOMEM;
	memcpy(phi0, bi->phi, sizeof(float) * bi->n_phi);
	if (draw)
	{
		memset(u, 0, sizeof(float) * bi->n_phi);
		for (int k = lo; k < hi; k++)
			u[k] = (float) xd_rng_normal(&bi->rng);
	}
	for (int k = 0; k < bi->n_phi; k++)
		nu += (double) u[k] * u[k];
	for (int k = 0; k < bi->n_phi; k++)
		u[k] = (float) (u[k] / sqrt(nu > 0.0 ? nu : 1.0));
	for (int side = 0; side < 2 && st == XD_OK; side++)
	{
		float		e = side == 0 ? bi->o.zo_eps : -bi->o.zo_eps;

		for (int k = 0; k < bi->n_phi; k++)
			bi->phi[k] = phi0[k] + e * u[k];
		st = copy_dev_loss(bi, model, src, train_seed, dev_seed, &dev[side]);
	}
	memcpy(bi->phi, phi0, sizeof(float) * bi->n_phi);
	free(phi0);
	return st;
}

/*
 * The zeroth-order upper step: phi moves zo_step along u toward the side
 * whose copy left the targets the lower developing loss. A step of fixed
 * size on the sign, not zo_step (L+ - L-) / (2 eps): the few estimates a
 * 3x budget affords each carry a clear sign (|z| 2.3-4.2 within a state,
 * docs/training.md) and a small, state-dependent size. With zo_directions
 * n > 1, n estimates from the same phi, and the step is zo_step times the
 * mean of their signed directions (n = 1: the single one, bit for bit).
 */
static xd_status
zo_upper_step(xd_biao *bi, xd_model *model)
{
	double		t0 = xd_clock_seconds();
	double		dev[2],
				dev_sum = 0.0;
	int			n_dir = bi->o.zo_directions;
	xd_status	st = XD_OK;

	/* phig: the mean signed direction; phig1: each estimate's u */
	memset(bi->phig, 0, sizeof(float) * bi->n_phi);
	for (int j = 0; j < n_dir; j++)
	{
		float		sign;

		if ((st = xd_biao_zo_estimate(bi, model, bi->src, true, bi->phig1, dev)) != XD_OK)
			return st;
		dev_sum += dev[0] + dev[1];
		sign = dev[0] < dev[1] ? 1.0f : dev[0] > dev[1] ? -1.0f : 0.0f;
		for (int k = 0; k < bi->n_phi; k++)
			bi->phig[k] += sign * bi->phig1[k] / (float) n_dir;
	}
	if ((st = push_dev_loss(bi, dev_sum / (2.0 * n_dir))) != XD_OK)
		return st;
	for (int k = 0; k < bi->n_phi; k++)
		bi->phi[k] += bi->o.zo_step * bi->phig[k];
	/* the local term's prototypes, from the current modules, for what follows */
	for (int t = 0; t < bi->n_targets; t++)
		if ((st = dev_batch(bi, t)) != XD_OK)
			return st;
	bi->n_zo++;
	bi->upper_seconds += xd_clock_seconds() - t0;
	return XD_OK;
}

int
xd_biao_first_kept_epoch(const xd_biao_opts *o)
{
	if (o->upper != XD_BIAO_UPPER_ZO || o->zo_estimates < 1)
		return 0;
	/* a step runs on the first batch of its epoch: that epoch trains under it */
	return o->warmup_epochs + 1 + o->zo_every * (o->zo_estimates - 1);
}

void
xd_biao_epoch(void *arg, const xd_epoch_report *r)
{
	xd_biao    *bi = arg;

	if (!isnan(r->metric))
		bi->since_best = r->improved ? 0 : bi->since_best + 1;
}

xd_status
xd_biao_weigh(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	xd_biao    *bi = arg;
	double		t0;
	xd_status	st;

	if (bi->o.upper == XD_BIAO_UPPER_ZO)
	{
		/* from the warm-up's end, or a plateau of the source's validation */
		if (bi->zo_start < 0 &&
			(step >= bi->warmup_steps ||
			 (bi->o.zo_plateau > 0 && bi->since_best >= bi->o.zo_plateau)))
			bi->zo_start = step;
		if (bi->zo_start >= 0 && bi->n_zo < bi->o.zo_estimates &&
			(step - bi->zo_start) % (bi->o.zo_every * bi->epoch_steps) == 0 &&
			(st = zo_upper_step(bi, model)) != XD_OK)
			return st;
	}
	else if (step > 0 && step >= bi->warmup_steps && step % bi->o.interval == 0 &&
			 (st = xd_biao_upper_step(bi, model, b)) != XD_OK)
		return st;
	t0 = xd_clock_seconds();
	st = set_weights(bi, model, b);
	bi->weigh_seconds += xd_clock_seconds() - t0;
	return st;
}

/* ------------------------------------------------------------ life and death */

float *
xd_biao_phi(xd_biao *bi, int *n_phi)
{
	*n_phi = bi->n_phi;
	return bi->phi;
}

/* w_G, b_G, A_S [d x zd], A_T [m x zd], w_L [d + m], b_L with zd = d + m */
int64_t
xd_biao_phi_size(int d, int m)
{
	int64_t		zd = (int64_t) d + m;

	return zd * (zd + 2) + 2;
}

void
xd_biao_get_stats(const xd_biao *bi, xd_biao_stats *s)
{
	s->n_upper = bi->n_upper;
	s->dev_loss = bi->dev_loss;
	s->upper_seconds = bi->upper_seconds;
	s->weigh_seconds = bi->weigh_seconds;
}

void
xd_biao_free(xd_biao *bi)
{
	if (!bi)
		return;
	for (int t = 0; bi->t && t < bi->n_targets; t++)
	{
		xd_model_free(bi->t[t].model);
		xd_adapt_free(bi->t[t].adapt);
		xd_batch_free(&bi->t[t].batch);
		free(bi->t[t].refit_rows);
		free(bi->t[t].dev_rows);
	}
	free(bi->t);
	free(bi->phi);
	free(bi->hist_off);
	free(bi->hist_item);
	free(bi->proto);
	free(bi->z);
	free(bi->x);
	free(bi->g);
	free(bi->l);
	free(bi->s);
	free(bi->sm);
	free(bi->mS);
	free(bi->mT);
	free(bi->att);
	free(bi->dq);
	free(bi->dms);
	free(bi->dmt);
	free(bi->pool);
	free(bi->acc);
	free(bi->q);
	free(bi->scores);
	free(bi->lp);
	free(bi->lm);
	free(bi->gw);
	free(bi->theta0);
	free(bi->gp);
	free(bi->gm);
	free(bi->vv);
	free(bi->pp);
	free(bi->cur);
	free(bi->hv);
	free(bi->assign);
	free(bi->keys);
	free(bi->phig);
	free(bi->phig1);
	free(bi->src_rows);
	xd_batch_free(&bi->src_batch);
	free(bi->dev_loss);
	free(bi);
}

/* the histories: each user's first `history` training items */
static xd_status
histories(xd_biao *bi, const xd_dataset *src)
{
	int64_t    *rows = NULL;
	int64_t		n = 0;
	int32_t		nu = src->n_users;
	int32_t    *cnt;
	xd_status	st = xd_train_rows(src, &rows, &n);

	if (st != XD_OK)
		return st;
	bi->hist_off = calloc((size_t) nu + 1, sizeof(int32_t));
	cnt = calloc((size_t) nu + 1, sizeof(int32_t));
	bi->hist_item = malloc(sizeof(int32_t) * (size_t) (n > 0 ? n : 1));
	if (!bi->hist_off || !cnt || !bi->hist_item)
	{
		free(cnt);
		free(rows);
		return XD_ENOMEM;
	}
	/* xd_train's steps: one per batch of the source's training rows */
	bi->epoch_steps = (n + bi->cap - 1) / bi->cap;
	bi->warmup_steps = (int64_t) bi->o.warmup_epochs * bi->epoch_steps;
	for (int64_t i = 0; i < n; i++)
		if (bi->hist_off[src->users[rows[i]] + 1] < bi->o.history)
			bi->hist_off[src->users[rows[i]] + 1]++;
	for (int32_t u = 0; u < nu; u++)
		bi->hist_off[u + 1] += bi->hist_off[u];
	for (int64_t i = 0; i < n; i++)
	{
		int32_t		u = src->users[rows[i]];

		if (cnt[u] < bi->hist_off[u + 1] - bi->hist_off[u])
			bi->hist_item[bi->hist_off[u] + cnt[u]++] = src->items[rows[i]];
	}
	free(cnt);
	/* the extra source batches' rows (xd_biao_hypergrad), shuffled on use */
	bi->src = src;
	bi->src_rows = rows;
	bi->n_src = n;
	bi->src_at = n;
	return XD_OK;
}

static xd_status
target_new(xd_biao *bi, xd_model *source, const xd_dataset *ds, xd_biao_target *tg)
{
	xd_domain  *dom = NULL;
	int64_t    *rows = NULL;
	int64_t		n = 0;
	xd_status	st;

	tg->ds = ds;
	if (ds->enc.schema.m != bi->m ||
		(ds->has_ratings != 0) != (source->cfg.feedback == XD_EXPLICIT))
		return XD_EINVAL;
	if ((st = xd_train_rows(ds, &rows, &n)) != XD_OK)
		return st;
	if (n < (bi->o.heldout_dev ? XD_BIAO_HELDOUT : 1))
	{
		free(rows);
		return XD_ENODATA;
	}
	if ((st = xd_domain_new(&source->cfg, ds->n_users, ds->n_items, &dom)) != XD_OK)
	{
		free(rows);
		return st;
	}
	xd_domain_init(dom, &bi->rng, (float) ds->rating_mean);
	if ((st = xd_model_new(&source->cfg, source->shared, dom, false, true, &tg->model)) != XD_OK ||
		(st = xd_batch_init(&tg->batch, xd_model_max_rows(tg->model), bi->m)) != XD_OK ||
		(bi->o.dev_fit == XD_BIAO_DEV_DRR &&
		 ((st = xd_adapt_new(&source->cfg, &tg->adapt)) != XD_OK ||
		  (st = xd_model_set_adapt(tg->model, tg->adapt)) != XD_OK)))
	{
		free(rows);
		return st;
	}
	tg->dev_rows = malloc(sizeof(int64_t) * n);
	if (!tg->dev_rows)
	{
		free(rows);
		return XD_ENOMEM;
	}
	if (bi->o.heldout_dev)
	{
		/* the ablation: a fixed fifth for dev, the rest to re-fit on */
		xd_shuffle_rows(rows, n, &bi->rng);
		tg->n_dev = n / XD_BIAO_HELDOUT;
		memcpy(tg->dev_rows, rows, sizeof(int64_t) * tg->n_dev);
		tg->n_refit = n - tg->n_dev;
		memmove(rows, rows + tg->n_dev, sizeof(int64_t) * tg->n_refit);
	}
	else
	{
		/* reorder-and-reuse: every row, in a second independent shuffle */
		tg->n_dev = tg->n_refit = n;
		memcpy(tg->dev_rows, rows, sizeof(int64_t) * n);
	}
	tg->refit_rows = rows;
	tg->refit_at = tg->n_refit;	/* shuffled on first use */
	tg->dev_at = tg->n_dev;
	return XD_OK;
}

xd_status
xd_biao_new(const xd_biao_opts *o, xd_model *source, const xd_dataset *src,
			const xd_dataset *const *targets, int n_targets, xd_biao **out)
{
	xd_biao    *bi;
	int			d = source->cfg.d;
	int			m = source->cfg.m;
	int			zd = d + m;
	int			cap = source->cfg.batch_size;
	int			katt;
	xd_status	st = XD_OK;

	*out = NULL;
	if (o->interval < 1 || o->warmup_epochs < 0 || o->neumann_terms < 0 || !(o->fd_step > 0.0f) ||
		o->dev_batches < 1 || o->source_batches < 1 ||
		o->refit_steps < 0 || o->history < 0 || o->prototypes < 1 ||
		(o->dev_fit != XD_BIAO_DEV_DIRECT && o->dev_fit != XD_BIAO_DEV_DRR) ||
		(o->upper != XD_BIAO_UPPER_IMPLICIT && o->upper != XD_BIAO_UPPER_ZO) ||
		(o->upper == XD_BIAO_UPPER_ZO &&
		 (o->zo_estimates < 0 || o->zo_every < 1 || o->zo_epochs < 1 || o->zo_plateau < 0 ||
		  !(o->zo_eps > 0.0f) || !(o->zo_step >= 0.0f) || o->zo_directions < 1 || o->zo_refit_steps < 0 ||
		  o->zo_dev_batches < 1)) ||
		n_targets < 1 || source->cfg.beta != 0.0f ||
		src->enc.schema.m != m || src->n_users != source->domain->n_users ||
		src->n_items != source->domain->n_items)
		return XD_EINVAL;
	bi = calloc(1, sizeof(*bi));
	if (!bi)
		return XD_ENOMEM;
	bi->o = *o;
	bi->d = d;
	bi->m = m;
	bi->zd = zd;
	bi->cap = cap;
	bi->off_bG = zd;
	bi->off_AS = zd + 1;
	bi->off_AT = bi->off_AS + d * zd;
	bi->off_wL = bi->off_AT + m * zd;
	bi->off_bL = bi->off_wL + d + m;
	bi->n_phi = bi->off_bL + 1;	/* = xd_biao_phi_size(d, m) */
	bi->n_targets = n_targets;
	bi->zo_start = -1;
	bi->n_proto = n_targets * o->prototypes;
	bi->n_shared = xd_biao_shared_size(source);
	katt = o->history > bi->n_proto ? o->history : bi->n_proto;
	xd_rng_seed(&bi->rng, o->seed);

	bi->phi = calloc(bi->n_phi, sizeof(float));
	bi->proto = calloc((size_t) bi->n_proto * m, sizeof(float));
	bi->t = calloc(n_targets, sizeof(xd_biao_target));
	bi->z = malloc(sizeof(float) * (size_t) cap * zd);
	bi->x = malloc(sizeof(float) * (size_t) cap * m);
	bi->g = malloc(sizeof(float) * cap);
	bi->l = malloc(sizeof(float) * cap);
	bi->s = malloc(sizeof(float) * cap);
	bi->sm = malloc(sizeof(float) * cap);
	bi->mS = calloc((size_t) cap * d, sizeof(float));
	bi->mT = calloc((size_t) cap * m, sizeof(float));
	bi->att = malloc(sizeof(float) * (katt + 1));
	bi->dq = malloc(sizeof(float) * (d > m ? d : m));
	bi->q = malloc(sizeof(float) * (d > m ? d : m));
	bi->dms = malloc(sizeof(float) * d);
	bi->dmt = malloc(sizeof(float) * m);
	bi->pool = malloc(sizeof(float) * (d > m ? d : m));
	bi->acc = malloc(sizeof(double) * m);
	bi->scores = malloc(sizeof(float) * 3 * (size_t) cap);
	bi->lp = malloc(sizeof(double) * cap);
	bi->lm = malloc(sizeof(double) * cap);
	bi->gw = malloc(sizeof(float) * cap);
	bi->theta0 = malloc(sizeof(float) * bi->n_shared);
	bi->gp = malloc(sizeof(float) * bi->n_shared);
	bi->gm = malloc(sizeof(float) * bi->n_shared);
	bi->vv = malloc(sizeof(float) * bi->n_shared);
	bi->pp = malloc(sizeof(float) * bi->n_shared);
	bi->cur = malloc(sizeof(float) * bi->n_shared);
	bi->hv = malloc(sizeof(float) * bi->n_shared);
	bi->phig = malloc(sizeof(float) * bi->n_phi);
	bi->phig1 = malloc(sizeof(float) * bi->n_phi);
	bi->assign = malloc(sizeof(int) * cap);
	bi->keys = malloc(sizeof(float *) * (katt + 1));
	if (!bi->phi || !bi->proto || !bi->t || !bi->z ||
		!bi->x || !bi->g || !bi->l || !bi->s || !bi->sm || !bi->mS || !bi->mT ||
		!bi->att || !bi->dq || !bi->q || !bi->dms || !bi->dmt || !bi->pool || !bi->acc || !bi->scores || !bi->lp || !bi->lm ||
		!bi->gw || !bi->theta0 || !bi->gp || !bi->gm || !bi->vv || !bi->pp ||
		!bi->cur || !bi->hv || !bi->phig || !bi->phig1 || !bi->assign || !bi->keys ||
		xd_batch_init(&bi->src_batch, xd_model_max_rows(source), m) != XD_OK)
	{
		xd_biao_free(bi);
		return XD_ENOMEM;
	}

	/*
	 * g = 1 and l = 1 plus small random slopes: every weight starts equal
	 * (plain training) and both terms get a gradient through the other
	 */
	for (int k = 0; k < zd; k++)
		bi->phi[k] = 0.1f * xd_rng_normal(&bi->rng) / sqrtf((float) zd);
	bi->phi[bi->off_bG] = 1.0f;
	for (int k = bi->off_AS; k < bi->off_wL; k++)
		bi->phi[k] = xd_rng_normal(&bi->rng) / sqrtf((float) zd);
	for (int k = bi->off_wL; k < bi->off_bL; k++)
		bi->phi[k] = 0.1f * xd_rng_normal(&bi->rng) / sqrtf((float) (d + m));
	bi->phi[bi->off_bL] = 1.0f;

	if ((st = histories(bi, src)) != XD_OK)
	{
		xd_biao_free(bi);
		return st;
	}
	for (int t = 0; t < n_targets; t++)
		if ((st = target_new(bi, source, targets[t], &bi->t[t])) != XD_OK ||
			(st = dev_batch(bi, t)) != XD_OK)
		{
			xd_biao_free(bi);
			return st;
		}
	*out = bi;
	return XD_OK;
}
