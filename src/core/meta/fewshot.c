/*
 * fewshot.c - the s²Meta meta-learner's tensors and one adaptation of a new
 * domain (fewshot.h; seeds/s2meta-kdd19.txt, Algorithm 1 lines 4-15): theta^0
 * from omega_R, then per step a support batch, its loss and gradient under
 * the frozen source modules, the stop controller (eq. 9), and the update
 * controllers (eq. 7-8).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/fewshot_int.h"
#include "mmt/model_int.h"
#include "xdrec/activation.h"
#include "xdrec/clock.h"
#include "xdrec/sample.h"

static const char *const slot_names[XD_FS_N_SLOTS] = {
	"res.C.R", "res.C.r", "res.U.R", "res.U.r", "res.V.R", "res.V.r",
	"emb.user", "emb.item", "bias.user", "bias.item", "bias.global"
};

const char *
xd_fs_slot_name(xd_fs_slot s)
{
	return s >= 0 && s < XD_FS_N_SLOTS ? slot_names[s] : NULL;
}

/* Tables (one row per user or item) learn one initial row, not a tensor. */
static bool
slot_is_table(xd_fs_slot s)
{
	return s == XD_FS_EMB_U || s == XD_FS_EMB_V || s == XD_FS_BIAS_U || s == XD_FS_BIAS_V;
}

static inline float
sigm(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

void
xd_fewshot_free(xd_fewshot *fs)
{
	if (!fs)
		return;
	xd_params_free(fs->params, fs->n_params);
	free(fs);
}

xd_param *
xd_fewshot_find_param(xd_fewshot *fs, const char *name)
{
	for (int i = 0; i < fs->n_params; i++)
		if (strcmp(fs->params[i].name, name) == 0)
			return &fs->params[i];
	return NULL;
}

static xd_status
lstm_alloc(xd_fewshot *fs, xd_fs_lstm *l, const char *prefix, int in, int n_out)
{
	struct
	{
		xd_param  **p;
		const char *nm;
		int			r,
					c;
	}			t[] = {
		{&l->Wx, "Wx", 4 * XD_FS_HIDDEN, in},
		{&l->Wh, "Wh", 4 * XD_FS_HIDDEN, XD_FS_HIDDEN},
		{&l->b, "b", 1, 4 * XD_FS_HIDDEN},
		{&l->ln_g, "ln_g", 1, 4 * XD_FS_HIDDEN},
		{&l->ln_b, "ln_b", 1, 4 * XD_FS_HIDDEN},
		{&l->Wo, "Wo", n_out, XD_FS_HIDDEN},
		{&l->bo, "bo", 1, n_out},
	};

	l->in = in;
	l->hidden = XD_FS_HIDDEN;
	l->n_out = n_out;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
	{
		char		name[XD_PARAM_NAME_LEN];
		xd_status	st;

		snprintf(name, sizeof(name), "%s.%s", prefix, t[i].nm);
		*t[i].p = &fs->params[fs->n_params];
		st = xd_param_alloc(&fs->params[fs->n_params], name, t[i].r, t[i].c,
							XD_GROUP_SHARED, false);
		fs->n_params++;
		if (st != XD_OK)
			return st;
	}
	return XD_OK;
}

/* Xavier cell, LayerNorm gain 1, the head small with its biases given */
static void
lstm_init(xd_fs_lstm *l, xd_rng *rng, const float *head_bias)
{
	xd_param_xavier(l->Wx, 1.0f, rng);
	xd_param_xavier(l->Wh, 1.0f, rng);
	for (int k = 0; k < 4 * l->hidden; k++)
		l->ln_g->w[k] = 1.0f;
	xd_param_xavier(l->Wo, 0.01f, rng);
	for (int j = 0; j < l->n_out; j++)
		l->bo->w[j] = head_bias[j];
}

xd_status
xd_fewshot_new(const xd_config *cfg, uint64_t seed, xd_fewshot **out)
{
	xd_fewshot *fs;
	xd_rng		rng;
	xd_status	st;
	const float upd_bias[2] = {logf(XD_FS_ALPHA0 / (1.0f - XD_FS_ALPHA0)), XD_FS_FORGET_BIAS};
	const float stop_bias[1] = {-2.0f};

	*out = NULL;
	if ((st = xd_config_check(cfg)) != XD_OK)
		return st;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return XD_ENOMEM;
	fs->params = calloc(XD_FS_N_SLOTS * 8 + 7, sizeof(xd_param));
	if (!fs->params)
	{
		free(fs);
		return XD_ENOMEM;
	}
	fs->m = cfg->m;
	fs->d = cfg->d;
	fs->feedback = cfg->feedback;
	fs->has_ctx = cfg->n_ctx_layers >= 1;
	fs->use_init = fs->use_update = fs->use_stop = fs->use_lift = fs->use_pop = true;
	fs->fixed_steps = 10;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		int			rows = 1,
					cols;
		char		name[XD_PARAM_NAME_LEN];

		fs->active[s] = (s > XD_FS_RES_C_r || fs->has_ctx) &&
			(s < XD_FS_BIAS_U || cfg->feedback == XD_EXPLICIT);
		if (!fs->active[s])
			continue;
		switch ((xd_fs_slot) s)
		{
			case XD_FS_RES_C_R:
				rows = cols = cfg->m;
				break;
			case XD_FS_RES_C_r:
				cols = cfg->m;
				break;
			case XD_FS_RES_U_R:
			case XD_FS_RES_V_R:
				rows = cols = cfg->d;
				break;
			case XD_FS_RES_U_r:
			case XD_FS_RES_V_r:
			case XD_FS_EMB_U:
			case XD_FS_EMB_V:
				cols = cfg->d;
				break;
			default:
				cols = 1;
				break;
		}
		snprintf(name, sizeof(name), "fs.init.%s", slot_names[s]);
		fs->init[s] = &fs->params[fs->n_params];
		st = xd_param_alloc(&fs->params[fs->n_params++], name, rows, cols,
							XD_GROUP_SHARED, false);
		if (st == XD_OK)
		{
			snprintf(name, sizeof(name), "fs.upd.%s", slot_names[s]);
			st = lstm_alloc(fs, &fs->upd[s], name, XD_FS_UPD_IN, 2);
		}
		if (st != XD_OK)
		{
			xd_fewshot_free(fs);
			return st;
		}
	}
	if ((st = lstm_alloc(fs, &fs->stop, "fs.stop", XD_FS_STOP_IN, 1)) != XD_OK)
	{
		xd_fewshot_free(fs);
		return st;
	}
	xd_rng_seed(&rng, seed);
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		if (fs->active[s])
			lstm_init(&fs->upd[s], &rng, upd_bias);
	lstm_init(&fs->stop, &rng, stop_bias);
	*out = fs;
	return XD_OK;
}

xd_param *
xd_fs_slot_param(xd_fewshot_result *res, xd_fs_slot s)
{
	return xd_model_find_param(res->model, slot_names[s]);
}

void
xd_fewshot_result_free(xd_fewshot_result *r)
{
	if (!r)
		return;
	xd_model_free(r->model);	/* owns the domain */
	xd_adapt_free(r->adapt);
	free(r->own);
	memset(r, 0, sizeof(*r));
}

/*
 * A table's N(0, 0.1^2) noise, as xd_domain_init's, in float and both values
 * of each Box-Muller pair (xd_domain_init's double pair, one value kept, was
 * a tenth of an adaptation)
 */
static void
table_noise(xd_param *p, xd_rng *rng)
{
	size_t		n = (size_t) p->rows * p->cols;

	for (size_t k = 0; k < n; k += 2)
	{
		float		u1 = ((float) (xd_rng_next(rng) >> 40) + 1.0f) * (1.0f / 16777217.0f);
		float		u2 = xd_rng_uniform(rng);
		float		r = 0.1f * sqrtf(-2.0f * logf(u1));

		p->w[k] = r * cosf(6.2831853f * u2);
		if (k + 1 < n)
			p->w[k + 1] = r * sinf(6.2831853f * u2);
	}
}

xd_status
xd_fs_setup(xd_fewshot *fs, const xd_shared *source, const xd_dataset *T, xd_rng *rng,
			xd_fewshot_result *out)
{
	xd_config	cfg = source->cfg;
	xd_status	st;

	memset(out, 0, sizeof(*out));
	if (cfg.m != fs->m || cfg.d != fs->d || cfg.feedback != fs->feedback ||
		(cfg.n_ctx_layers >= 1) != fs->has_ctx || T->enc.schema.m != cfg.m)
		return XD_EINVAL;
	cfg.batch_size = XD_FS_BATCH;
	cfg.dropout = 0.0f;
	/* implicit: an item bias, 0 during the updates, for the popularity term (fewshot_lift.c) */
	cfg.item_bias = cfg.feedback == XD_IMPLICIT;
	if ((st = xd_domain_new(&cfg, T->n_users, T->n_items, &out->domain)) != XD_OK)
		return st;
	table_noise(out->domain->E_u, rng);
	table_noise(out->domain->E_v, rng);
	if (out->domain->s)
		out->domain->s->w[0] = (float) T->rating_mean;
	if ((st = xd_model_new(&cfg, (xd_shared *) source, out->domain, false, true,
						   &out->model)) != XD_OK)
	{
		out->domain = NULL;		/* freed by xd_model_new */
		return st;
	}
	if ((st = xd_adapt_new(&cfg, &out->adapt)) != XD_OK ||
		(st = xd_model_set_adapt(out->model, out->adapt)) != XD_OK)
		return st;
	xd_model_freeze_shared(out->model, true);
	if (!fs->use_init)
		return XD_OK;
	/* theta^0 = omega_R: tensors as they are, tables' rows offset by the learned row */
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		xd_param   *p;

		if (!fs->active[s] || !(p = xd_fs_slot_param(out, s)))
			continue;
		if (slot_is_table(s))
			for (int r = 0; r < p->rows; r++)
				for (int j = 0; j < p->cols; j++)
					p->w[(size_t) r * p->cols + j] += fs->init[s]->w[j];
		else
			for (size_t k = 0; k < (size_t) p->rows * p->cols; k++)
				p->w[k] += fs->init[s]->w[k];
	}
	return XD_OK;
}

xd_status
xd_fs_trace_init(xd_fs_trace *tr, const xd_fewshot *fs, const xd_model *model,
				 int cap_steps)
{
	size_t		C = (size_t) cap_steps;
	bool		ok = true;

	memset(tr, 0, sizeof(*tr));
	tr->cap_steps = cap_steps;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		xd_param   *p;
		size_t		n;

		if (!fs->active[s] || !(p = xd_model_find_param((xd_model *) model, slot_names[s])))
			continue;
		n = (size_t) p->rows * p->cols;
		tr->n[s] = (int64_t) n;
		tr->x[s] = malloc(sizeof(float) * C * XD_FS_UPD_IN);
		tr->h[s] = malloc(sizeof(float) * C * XD_FS_HIDDEN);
		tr->c[s] = malloc(sizeof(float) * C * XD_FS_HIDDEN);
		tr->theta[s] = malloc(sizeof(float) * (C + 1) * n);
		tr->gcl[s] = malloc(sizeof(float) * C * n);
		tr->ab[s] = malloc(sizeof(float) * C * 2);
		ok &= tr->x[s] && tr->h[s] && tr->c[s] && tr->theta[s] && tr->gcl[s] && tr->ab[s];
	}
	tr->sx = malloc(sizeof(float) * (C + 1) * XD_FS_STOP_IN);
	tr->sh = malloc(sizeof(float) * (C + 1) * XD_FS_HIDDEN);
	tr->sc = malloc(sizeof(float) * (C + 1) * XD_FS_HIDDEN);
	tr->sp = malloc(sizeof(float) * (C + 1));
	tr->decided = calloc(C + 1, sizeof(bool));
	tr->query_loss = malloc(sizeof(double) * (C + 1));
	ok &= tr->sx && tr->sh && tr->sc && tr->sp && tr->decided && tr->query_loss;
	if (!ok)
	{
		xd_fs_trace_free(tr);
		return XD_ENOMEM;
	}
	return XD_OK;
}

void
xd_fs_trace_free(xd_fs_trace *tr)
{
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		free(tr->x[s]);
		free(tr->h[s]);
		free(tr->c[s]);
		free(tr->theta[s]);
		free(tr->gcl[s]);
		free(tr->ab[s]);
	}
	free(tr->sx);
	free(tr->sh);
	free(tr->sc);
	free(tr->sp);
	free(tr->decided);
	free(tr->query_loss);
	memset(tr, 0, sizeof(*tr));
}

/*
 * The support's rows for the updates: all of them up to XD_FS_STEP_ROWS, else
 * XD_FS_STEP_ROWS a step from a seeded shuffle, reshuffled when used up, so every
 * row comes once before any comes twice. pick_at[i] is pick[i]'s place in the
 * support (the positives' cache below).
 */
typedef struct step_order
{
	int64_t    *at;				/* [n] places in the support, shuffled */
	int64_t		n;
	int64_t		pos;			/* next place; n: reshuffle first */
} step_order;

static void
step_rows(step_order *o, const int64_t *rows, int64_t n_rows, int64_t *pick,
		  int64_t *pick_at, int *n_pick, xd_rng *rng)
{
	if (n_rows <= XD_FS_STEP_ROWS)
	{
		memcpy(pick, rows, sizeof(int64_t) * n_rows);
		for (int i = 0; i < n_rows; i++)
			pick_at[i] = i;
		*n_pick = (int) n_rows;
		return;
	}
	for (int i = 0; i < XD_FS_STEP_ROWS; i++)
	{
		if (o->pos == o->n)
		{
			for (int64_t k = o->n - 1; k > 0; k--)
			{
				int64_t		j = (int64_t) xd_rng_below(rng, (uint32_t) (k + 1)),
							t = o->at[k];

				o->at[k] = o->at[j];
				o->at[j] = t;
			}
			o->pos = 0;
		}
		pick_at[i] = o->at[o->pos++];
		pick[i] = rows[pick_at[i]];
	}
	*n_pick = XD_FS_STEP_ROWS;
}

/*
 * The positives' cache of one run: with the source's modules frozen, a
 * support row's x^0 and x^1 (before DRR's residual; model_int.h) are the
 * same at every update, so each is computed once, at its first batch, and
 * handed to the later forwards (the workspace's pre_rows). A batch whose
 * positives are not all cached is computed whole and fills the cache.
 */
typedef struct pos_cache
{
	float	   *x0;				/* [n_rows * m] */
	float	   *x1;				/* [n_rows * m] */
	bool	   *have;			/* [n_rows] */
	int			m;
} pos_cache;

static xd_status
pos_cache_init(pos_cache *pc, const xd_model *model, int64_t n_rows)
{
	size_t		len = (size_t) n_rows * model->cfg.m;

	memset(pc, 0, sizeof(*pc));
	if (model->cfg.n_ctx_layers < 1)
		return XD_OK;			/* no layer to skip: unused */
	pc->m = model->cfg.m;
	pc->x0 = malloc(sizeof(float) * len);
	pc->x1 = malloc(sizeof(float) * len);
	pc->have = calloc((size_t) n_rows, sizeof(bool));
	return pc->x0 && pc->x1 && pc->have ? XD_OK : XD_ENOMEM;
}

static void
pos_cache_free(pos_cache *pc)
{
	free(pc->x0);
	free(pc->x1);
	free(pc->have);
	memset(pc, 0, sizeof(*pc));
}

/* Before the batch's forward: its positives' rows from the cache, when all are there. */
static bool
pos_cache_load(const pos_cache *pc, xd_workspace *ws, const int64_t *pick_at, int n_pick)
{
	size_t		rb = sizeof(float) * (size_t) pc->m;

	if (!pc->have)
		return false;
	for (int i = 0; i < n_pick; i++)
		if (!pc->have[pick_at[i]])
			return false;
	for (int i = 0; i < n_pick; i++)
	{
		size_t		o = (size_t) pick_at[i] * pc->m;

		memcpy(ws->x[0] + (size_t) i * pc->m, pc->x0 + o, rb);
		memcpy(ws->x[1] + (size_t) i * pc->m, pc->x1 + o, rb);
	}
	ws->pre_rows = n_pick;
	return true;
}

/* After a whole forward: its positives' rows into the cache. */
static void
pos_cache_store(pos_cache *pc, const xd_workspace *ws, const int64_t *pick_at, int n_pick)
{
	size_t		rb = sizeof(float) * (size_t) pc->m;

	if (!pc->have)
		return;
	for (int i = 0; i < n_pick; i++)
	{
		size_t		o = (size_t) pick_at[i] * pc->m;

		memcpy(pc->x0 + o, ws->x[0] + (size_t) i * pc->m, rb);
		memcpy(pc->x1 + o, ws->res_x1 + (size_t) i * pc->m, rb);
		pc->have[pick_at[i]] = true;
	}
}

/* The controllers' state of one run, when no trace keeps it: [H] each. */
typedef struct run_state
{
	float		h[XD_FS_N_SLOTS][XD_FS_HIDDEN];
	float		c[XD_FS_N_SLOTS][XD_FS_HIDDEN];
	float		sh[XD_FS_HIDDEN];
	float		sc[XD_FS_HIDDEN];
} run_state;

/*
 * sum of x[k]^2 over x[n]: eight float lanes the compiler vectorises (one
 * pass over a table of thousands per step; double accumulation did not
 * vectorise and, with the clamp's calls, took a third of an adaptation)
 */
static double
sum_sq(const float *x, int64_t n)
{
	float		lane[8] = {0};
	double		ss = 0.0;
	int64_t		k = 0;

	for (; k + 8 <= n; k += 8)
		for (int j = 0; j < 8; j++)
			lane[j] += x[k + j] * x[k + j];
	for (; k < n; k++)
		ss += (double) x[k] * x[k];
	for (int j = 0; j < 8; j++)
		ss += lane[j];
	return ss;
}

xd_status
xd_fs_run(xd_fewshot *fs, xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows,
		  int64_t n_rows, xd_rng *rng, bool sample, xd_fs_trace *tr, const xd_batch *q,
		  xd_fs_last *last)
{
	xd_model   *model = res->model;
	xd_param   *P[XD_FS_N_SLOTS] = {0};
	run_state	rs;
	xd_batch	b;
	int64_t		pick[XD_FS_STEP_ROWS],
				pick_at[XD_FS_STEP_ROWS];
	step_order	order = {0};
	pos_cache	pc;
	xd_status	st = XD_OK;
	int			max_steps = fs->use_stop ? XD_FS_MAX_STEPS : fs->fixed_steps;
	bool		have_state = false;
	double		go = 1.0;		/* the policy's probability of going on so far */

	if (n_rows < 2 || T->n_items < 2)
		return XD_ENODATA;
	if (tr && tr->cap_steps < max_steps)
		return XD_EINVAL;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		if (fs->active[s])
			P[s] = xd_fs_slot_param(res, s);
	if (n_rows > XD_FS_STEP_ROWS)
	{
		if (!(order.at = malloc(sizeof(int64_t) * n_rows)))
			return XD_ENOMEM;
		for (int64_t k = 0; k < n_rows; k++)
			order.at[k] = k;
		order.n = order.pos = n_rows;
	}
	if ((st = pos_cache_init(&pc, model, n_rows)) != XD_OK ||
		(st = xd_batch_init(&b, xd_model_max_rows(model), T->enc.schema.m)) != XD_OK)
	{
		pos_cache_free(&pc);
		free(order.at);
		return st;
	}
	if (tr)
	{
		for (int s = 0; s < XD_FS_N_SLOTS; s++)
			if (P[s])
				memcpy(tr->theta[s], P[s]->w, sizeof(float) * tr->n[s]);
		tr->n_stop = 0;
		if (q)
			st = xd_model_loss(model, q, NULL, false, &tr->query_loss[0]);

	}
	res->steps = 0;
	for (int t = 0; st == XD_OK && t < max_steps; t++)
	{
		double		loss;
		double		gss[XD_FS_N_SLOTS],	/* per slot: sum of g^2, of theta^2 */
					wss[XD_FS_N_SLOTS];
		float		sx[XD_FS_STOP_IN] = {0},
					lpre[2],
					p,
					out1;
		int			n_pick;
		bool		cached;

		step_rows(&order, rows, n_rows, pick, pick_at, &n_pick, rng);
		if ((st = xd_sample_batch(T, pick, n_pick, rng, &b)) != XD_OK)
			break;
		xd_model_zero_grad(model);
		cached = pos_cache_load(&pc, model->ws, pick_at, n_pick);
		st = xd_model_loss_backward(model, &b, NULL, false, &loss);
		model->ws->pre_rows = 0;
		if (st != XD_OK)
			break;
		if (!cached)
			pos_cache_store(&pc, model->ws, pick_at, n_pick);
		if (t == 0)
			res->first_loss = loss;
		res->last_loss = loss;

		/* the stop controller (eq. 9): the loss and every slot's gradient norm */
		xd_fs_preprocess((float) loss, lpre);
		sx[0] = lpre[0];
		sx[1] = lpre[1];
		for (int s = 0; s < XD_FS_N_SLOTS; s++)
			if (P[s])
			{
				int64_t		n = (int64_t) P[s]->rows * P[s]->cols;

				gss[s] = sum_sq(P[s]->g, n);
				wss[s] = sum_sq(P[s]->w, n);
				xd_fs_preprocess((float) sqrt(gss[s]), sx + 2 + 2 * s);
			}
		if (fs->use_stop)
		{
			float	   *hp = have_state ? rs.sh : NULL,
					   *cp = have_state ? rs.sc : NULL;
			float		hn[XD_FS_HIDDEN],
						cn[XD_FS_HIDDEN],
						scr[4 * XD_FS_HIDDEN];

			xd_fs_lstm_forward(&fs->stop, 1, sx, hp, cp, hn, cn, &out1, scr);
			memcpy(rs.sh, hn, sizeof(hn));
			memcpy(rs.sc, cn, sizeof(cn));
			p = sigm(out1);
			if (tr)
			{
				memcpy(tr->sx + (size_t) t * XD_FS_STOP_IN, sx, sizeof(sx));
				memcpy(tr->sh + (size_t) t * XD_FS_HIDDEN, hn, sizeof(hn));
				memcpy(tr->sc + (size_t) t * XD_FS_HIDDEN, cn, sizeof(cn));
				tr->sp[t] = p;
				tr->decided[t] = false;
				tr->n_stop = t + 1;
			}
			/*
			 * Algorithm 1 line 9 when sampling; serving stops at the
			 * median of the sampled policy's stopping time, the first t
			 * after the minimum where the policy would have stopped with
			 * probability >= 1/2 (XD_FS_STOP_SURVIVAL)
			 */
			if (t >= XD_FS_MIN_STEPS)
			{
				bool		stop_now;

				go *= 1.0 - p;
				stop_now = sample ? xd_rng_uniform(rng) < p : go <= XD_FS_STOP_SURVIVAL;

				if (tr)
					tr->decided[t] = true;
				if (stop_now)
					break;
			}
		}

		/*
		 * The update controllers (eq. 7-8), one alpha and beta per tensor
		 * from its gradient's and its values' root mean square and the loss
		 */
		for (int s = 0; s < XD_FS_N_SLOTS; s++)
		{
			int64_t		n;
			float	   *w,
					   *g,
					   *gcl,
						a = XD_FS_ALPHA0,
						be = 1.0f,
						g_rms,
						inv;

			if (!P[s])
				continue;
			n = (int64_t) P[s]->rows * P[s]->cols;
			w = P[s]->w;
			g = P[s]->g;
			gcl = tr ? tr->gcl[s] + (size_t) t * n : NULL;
			g_rms = (float) sqrt(gss[s] / (double) n);
			if (fs->use_update)
			{
				float		x[XD_FS_UPD_IN],
							hn[XD_FS_HIDDEN],
							cn[XD_FS_HIDDEN],
							out2[2],
							scr[4 * XD_FS_HIDDEN];

				xd_fs_preprocess(g_rms, x);
				xd_fs_preprocess((float) sqrt(wss[s] / (double) n), x + 2);
				x[4] = lpre[0];
				x[5] = lpre[1];
				xd_fs_lstm_forward(&fs->upd[s], 1, x, have_state ? rs.h[s] : NULL,
								   have_state ? rs.c[s] : NULL, hn, cn, out2, scr);
				memcpy(rs.h[s], hn, sizeof(hn));
				memcpy(rs.c[s], cn, sizeof(cn));
				a = sigm(out2[0]);
				be = sigm(out2[1]);
				if (tr)
				{
					memcpy(tr->x[s] + (size_t) t * XD_FS_UPD_IN, x, sizeof(x));
					memcpy(tr->h[s] + (size_t) t * XD_FS_HIDDEN, hn, sizeof(hn));
					memcpy(tr->c[s] + (size_t) t * XD_FS_HIDDEN, cn, sizeof(cn));
					tr->ab[s][(size_t) t * 2] = a;
					tr->ab[s][(size_t) t * 2 + 1] = be;
				}
			}
			/*
			 * the step in units of the tensor's gradient rms (fewshot.h),
			 * clamped to XD_FS_CLIP, in vector lanes (the scalar loop, its
			 * compares branching, was 12% of the updates: docs/transfer.md)
			 */
			inv = g_rms > 0.0f ? 1.0f / g_rms : 0.0f;
			xd_clip_step(w, g, gcl, (size_t) n, inv, XD_FS_CLIP, a, be);
			if (tr)
				memcpy(tr->theta[s] + (size_t) (t + 1) * n, w, sizeof(float) * n);
		}
		have_state = true;
		res->steps = t + 1;
		if (tr && q)
			st = xd_model_loss(model, q, NULL, false, &tr->query_loss[t + 1]);

	}
	/* the last update's batch: its positives, their item negatives (implicit) */
	if (last)
		last->n_pos = 0;
	if (last && st == XD_OK && b.n_pos > 0 &&
		b.n == 3 * b.n_pos && b.n_pos <= XD_FS_STEP_ROWS)
	{
		for (int k = 0; k < b.n_pos; k++)
		{
			last->rows[k] = pick[k];
			last->pos[k] = model->ws->score[k];
			last->neg_items[k] = b.items[b.n_pos + k];
			last->neg[k] = model->ws->score[b.n_pos + k];
		}
		last->n_pos = b.n_pos;
	}
	xd_model_zero_grad(model);
	xd_batch_free(&b);
	pos_cache_free(&pc);
	free(order.at);
	return st;
}

int64_t
xd_fs_fit_rows(const xd_dataset *T, int64_t n, int64_t n_hist)
{
	/*
	 * Implicit feedback: the updates fit the history (the training rows)
	 * alone, so that the popularity term is chosen on rows they never saw
	 * (fewshot_lift.c): rows the model has fitted, as every support row at
	 * N <= XD_FS_STEP_ROWS is, rank above popular items they would not beat
	 * as new rows, and the weight chosen on them was 0 where popularity
	 * paid (TripAdvisor by state). Fitting 80% of the rows lost no
	 * HitRate, with or without the term (docs/transfer.md).
	 */
	return !T->has_ratings && n_hist >= 2 && n_hist < n ? n_hist : n;
}

xd_status
xd_fs_adapt_rows(xd_fewshot *fs, const xd_shared *source, const xd_dataset *T,
				 const int64_t *rows, int64_t n, int64_t n_hist, uint64_t seed,
				 xd_fewshot_result *out)
{
	double		t0 = xd_clock_seconds();
	xd_rng		rng;
	xd_fs_last	last;
	xd_fs_pop_votes votes;
	xd_status	st;
	int64_t		n_fit = xd_fs_fit_rows(T, n, n_hist);

	/*
	 * implicit: the popularity weight chosen on every support row,
	 * cross-fitted, where that ranks more rows than the few the updates
	 * hold out (below about 160 support rows; fewshot_int.h)
	 */
	bool		crossfit = fs->use_pop && !T->has_ratings && n >= 2 * XD_FS_POP_FOLDS &&
		n - n_hist < XD_FS_POP_FOLDS * XD_FS_POP_FOLD_ROWS;

	memset(out, 0, sizeof(*out));
	if (!T->finalized)
		return XD_EINVAL;
	if (n < 2 || T->n_items < 2 || n_hist < 0 || n_hist > n)
		return n < 2 || T->n_items < 2 ? XD_ENODATA : XD_EINVAL;
	xd_rng_seed(&rng, seed);
	st = xd_fs_setup(fs, source, T, &rng, out);
	if (st == XD_OK && crossfit)
		st = xd_fs_crossfit_pop(fs, out, T, rows, n, seed, &votes);
	if (st == XD_OK)
		st = xd_fs_run(fs, out, T, rows, n_fit, &rng, false, NULL, NULL, &last);
	if (st == XD_OK)
		st = xd_fs_choose_lift(out, T, rows, n, n_hist, n_fit, fs->use_lift,
							   fs->use_pop && !crossfit ? &last : NULL, &rng);
	if (st == XD_OK && crossfit)
		st = xd_fs_set_pop_votes(out, T, rows, n, &votes);
	out->seconds = xd_clock_seconds() - t0;
	return st;
}

int64_t *
xd_fs_support_rows(const xd_dataset *T, int64_t *n)
{
	int64_t    *rows;

	*n = T->n_split[XD_SPLIT_TRAIN] + T->n_split[XD_SPLIT_VALID];
	if (!(rows = malloc(sizeof(int64_t) * (*n + 1))))
		return NULL;
	memcpy(rows, T->split_rows[XD_SPLIT_TRAIN], sizeof(int64_t) * T->n_split[XD_SPLIT_TRAIN]);
	memcpy(rows + T->n_split[XD_SPLIT_TRAIN], T->split_rows[XD_SPLIT_VALID],
		   sizeof(int64_t) * T->n_split[XD_SPLIT_VALID]);
	return rows;
}

xd_status
xd_fewshot_adapt(xd_fewshot *fs, const xd_shared *source, const xd_dataset *T,
				 uint64_t seed, xd_fewshot_result *out)
{
	int64_t    *rows;
	int64_t		n;
	xd_status	st;

	/* xd_fs_adapt_rows checks the rest */
	memset(out, 0, sizeof(*out));
	if (!T->finalized)
		return XD_EINVAL;
	if (!(rows = xd_fs_support_rows(T, &n)))
		return XD_ENOMEM;
	st = xd_fs_adapt_rows(fs, source, T, rows, n, T->n_split[XD_SPLIT_TRAIN], seed, out);
	free(rows);
	return st;
}
