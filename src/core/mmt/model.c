/*
 * model.c - configuration, parameter tensors, the shared/domain split,
 * initialisation (DESIGN.md section 3) and the workspace of the model.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "model_int.h"
#include "xdrec/features.h"

void
xd_config_defaults(xd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->m = 0;
	cfg->m_I = cfg->m_H = cfg->m_A = 0;
	cfg->d = 64;
	cfg->n_ctx_layers = 2;
	cfg->n_tower_layers = 2;
	cfg->variant = XD_VARIANT_MMT;
	cfg->mm_residual = true;
	cfg->feedback = XD_IMPLICIT;
	cfg->dropout = 0.1f;
	cfg->beta = 0.0f;
	cfg->lr = 1e-3f;
	cfg->adam_beta1 = 0.9f;
	cfg->adam_beta2 = 0.999f;
	cfg->adam_eps = 1e-8f;
	cfg->batch_size = 256;
	cfg->seed = 42;
	cfg->repeat = false;
	cfg->repeat_lift = false;
	cfg->repeat_auto = false;
	cfg->item_bias = false;
}

void
xd_config_set_widths(xd_config *cfg, const xd_schema *schema)
{
	cfg->m = schema->m;
	cfg->m_I = schema->m_I;
	cfg->m_H = schema->m_H;
	cfg->m_A = schema->m_A;
}

/*
 * The widest config xd_config_check accepts fits a model's parameter list:
 * eq. 4-5's three, two per context layer, W_CU and W_CV, four per tower
 * layer, w_C and b_C; five of an explicit domain and two of its repeat term;
 * six DRR residuals.
 */
_Static_assert(3 + 2 * 16 + 2 + 4 * 16 + 2 + 5 + 2 + 6 <= XD_MAX_PARAMS,
			   "XD_MAX_PARAMS must hold a model with 16 context and 16 tower layers");

bool
xd_config_repeat_from_data(xd_config *cfg, double repeat_share)
{
	if (!cfg->repeat_auto)
		return false;
	cfg->repeat = cfg->repeat_lift =
		cfg->feedback == XD_IMPLICIT && repeat_share >= XD_REPEAT_AUTO_SHARE;
	cfg->repeat_auto = false;
	return true;
}

xd_status
xd_config_check(const xd_config *cfg)
{
	if (cfg->m_I < 0 || cfg->m_H < 0 || cfg->m_A < 0 ||
		cfg->m != cfg->m_I + cfg->m_H + cfg->m_A || cfg->m < 1 ||
		cfg->d < 1 || cfg->n_ctx_layers < 0 || cfg->n_tower_layers < 0 ||
		cfg->n_ctx_layers > 16 || cfg->n_tower_layers > 16 ||
		(cfg->variant != XD_VARIANT_MMT && cfg->variant != XD_VARIANT_FMT) ||
		(cfg->feedback != XD_IMPLICIT && cfg->feedback != XD_EXPLICIT) ||
		!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f) ||
		!isfinite(cfg->beta) || !(cfg->lr >= 0.0f) ||
		!(cfg->adam_beta1 >= 0.0f && cfg->adam_beta1 < 1.0f) ||
		!(cfg->adam_beta2 >= 0.0f && cfg->adam_beta2 < 1.0f) ||
		!(cfg->adam_eps > 0.0f) ||
		cfg->batch_size < 1 || cfg->batch_size > (1 << 24))
		return XD_EINVAL;
	return XD_OK;
}

bool
xd_config_has_mm_residual(const xd_config *cfg)
{
	int			kinds = (cfg->m_I > 0) + (cfg->m_H > 0) + (cfg->m_A > 0);

	/* eq. 4-5 mix a kind with the others: meaningless with one kind */
	return cfg->mm_residual && kinds >= 2;
}

/*
 * Tensors of XD_HUGE_BYTES or more (the embedding tables of large domains and
 * their Adam moments) are mapped directly and marked for transparent huge
 * pages: a batch touches a few hundred random rows of each, and with 4 kB
 * pages nearly every one is a TLB miss, which made a step with a million users
 * 1.5x slower than with ten thousand. The mapping is zero-filled lazily, like
 * calloc. Smaller tensors use calloc.
 */
#define XD_HUGE_BYTES ((size_t) 4 << 20)

static float *
xd_tensor_alloc(size_t n)
{
	size_t		bytes = n * sizeof(float);
	void	   *p;

	if (bytes < XD_HUGE_BYTES)
		return calloc(n, sizeof(float));
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	/* only advice: without huge pages it still works, with more TLB misses */
	(void) madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

static void
xd_tensor_release(float *p, size_t n)
{
	if (p == NULL)
		return;
	if (n * sizeof(float) < XD_HUGE_BYTES)
		free(p);
	else
		munmap(p, n * sizeof(float));
}

/* Allocates one tensor's arrays, zeroed. */
xd_status
xd_param_alloc(xd_param *p, const char *name, int rows, int cols,
			   xd_group group, bool sparse)
{
	size_t		n = (size_t) rows * (size_t) cols;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->rows = rows;
	p->cols = cols;
	p->group = group;
	p->sparse = sparse;
	if (n == 0)
		n = 1;
	p->w = xd_tensor_alloc(n);
	p->g = xd_tensor_alloc(n);
	p->adam_m = xd_tensor_alloc(n);
	p->adam_v = xd_tensor_alloc(n);
	if (!p->w || !p->g || !p->adam_m || !p->adam_v)
		return XD_ENOMEM;
	if (sparse)
	{
		p->row_step = calloc((size_t) rows, sizeof(int64_t));
		p->touched = malloc(sizeof(int32_t) * (size_t) rows);
		p->row_mark = calloc((size_t) rows, 1);
		if (!p->row_step || !p->touched || !p->row_mark)
			return XD_ENOMEM;
	}
	return XD_OK;
}

/* Frees what only training uses: the gradient, Adam moments, row bookkeeping. */
static void
xd_param_release_training(xd_param *p)
{
	size_t		n = (size_t) p->rows * (size_t) p->cols;

	xd_tensor_release(p->g, n);
	xd_tensor_release(p->adam_m, n);
	xd_tensor_release(p->adam_v, n);
	free(p->row_step);
	free(p->touched);
	free(p->row_mark);
	p->g = p->adam_m = p->adam_v = NULL;
	p->row_step = NULL;
	p->touched = NULL;
	p->row_mark = NULL;
}

void
xd_param_release(xd_param *p)
{
	xd_param_release_training(p);
	xd_tensor_release(p->w, (size_t) p->rows * (size_t) p->cols);
	memset(p, 0, sizeof(*p));
}

/*
 * Serving never steps: the gradients, Adam moments and sparse bookkeeping of
 * every parameter are three times the weights; free them.
 */
void
xd_model_drop_training_state(xd_model *model)
{
	for (int i = 0; i < model->n_params; i++)
		xd_param_release_training(model->params[i]);
}

void
xd_params_free(xd_param *params, int n)
{
	if (!params)
		return;
	for (int i = 0; i < n; i++)
		xd_param_release(&params[i]);
	free(params);
}

xd_status
xd_params_new(const char *prefix, const xd_param_spec *specs, int n, xd_group group,
			  xd_param **out)
{
	xd_param   *params = calloc((size_t) (n > 0 ? n : 1), sizeof(xd_param));
	xd_status	st = XD_OK;
	int			k = 0;

	*out = NULL;
	if (!params)
		return XD_ENOMEM;
	while (k < n && st == XD_OK)
	{
		char		name[XD_PARAM_NAME_LEN];

		snprintf(name, sizeof(name), "%s.%s", prefix, specs[k].name);
		st = xd_param_alloc(&params[k], name, specs[k].rows, specs[k].cols, group, false);
		k++;
	}
	if (st != XD_OK)
	{
		xd_params_free(params, k);
		return st;
	}
	*out = params;
	return XD_OK;
}

void
xd_params_zero(xd_param *params, int n)
{
	for (int i = 0; i < n; i++)
	{
		xd_param   *p = &params[i];
		size_t		len = (size_t) p->rows * p->cols;

		memset(p->w, 0, len * sizeof(float));
		memset(p->g, 0, len * sizeof(float));
		memset(p->adam_m, 0, len * sizeof(float));
		memset(p->adam_v, 0, len * sizeof(float));
		p->step = 0;
		if (p->sparse)
		{
			memset(p->row_step, 0, (size_t) p->rows * sizeof(int64_t));
			memset(p->row_mark, 0, (size_t) p->rows);
			p->n_touched = 0;
		}
	}
}

void
xd_param_xavier(xd_param *p, float gain, xd_rng *rng)
{
	float		a = gain * sqrtf(6.0f / (float) (p->rows + p->cols));

	for (size_t i = 0; i < (size_t) p->rows * p->cols; i++)
		p->w[i] = a * (2.0f * xd_rng_uniform(rng) - 1.0f);
}

/* ---------------------------------------------------------------- shared */

xd_status
xd_shared_new(const xd_config *cfg, xd_shared **out)
{
	xd_shared  *s;
	int			LC = cfg->n_ctx_layers;
	int			LU = cfg->n_tower_layers;
	int			m = cfg->m;
	int			d = cfg->d;
	int			np;
	int			k = 0;
	xd_status	st;
	char		name[XD_PARAM_NAME_LEN];

	*out = NULL;
	if ((st = xd_config_check(cfg)) != XD_OK)
		return st;
	s = calloc(1, sizeof(*s));
	if (!s)
		return XD_ENOMEM;
	s->cfg = *cfg;
	s->has_mm = xd_config_has_mm_residual(cfg);
	np = (s->has_mm ? 3 : 0) + 2 * LC + 2 + 4 * LU + 2;
	s->params = calloc((size_t) np, sizeof(xd_param));
	s->ctx_W = calloc((size_t) LC + 1, sizeof(xd_param *));
	s->ctx_b = calloc((size_t) LC + 1, sizeof(xd_param *));
	s->U_W = calloc((size_t) LU + 1, sizeof(xd_param *));
	s->U_b = calloc((size_t) LU + 1, sizeof(xd_param *));
	s->V_W = calloc((size_t) LU + 1, sizeof(xd_param *));
	s->V_b = calloc((size_t) LU + 1, sizeof(xd_param *));
	if (!s->params || !s->ctx_W || !s->ctx_b || !s->U_W || !s->U_b ||
		!s->V_W || !s->V_b)
	{
		xd_shared_free(s);
		return XD_ENOMEM;
	}

#define XD_ADD(ptr, nm, r, c) \
	do { \
		(ptr) = &s->params[k]; \
		st = xd_param_alloc(&s->params[k], (nm), (r), (c), XD_GROUP_SHARED, false); \
		k++; \
		s->n_params = k; \
		if (st != XD_OK) \
		{ \
			xd_shared_free(s); \
			return st; \
		} \
	} while (0)

	if (s->has_mm)
	{
		XD_ADD(s->mm_W, "ctx.mm.W", m, m);
		XD_ADD(s->mm_b, "ctx.mm.b", 1, m);
		XD_ADD(s->mm_s, "ctx.mm.s", 1, m);
	}
	for (int l = 0; l < LC; l++)
	{
		snprintf(name, sizeof(name), "ctx.W%d", l + 1);
		XD_ADD(s->ctx_W[l], name, m, m);
		snprintf(name, sizeof(name), "ctx.b%d", l + 1);
		XD_ADD(s->ctx_b[l], name, 1, m);
	}
	XD_ADD(s->W_CU, "clu.W_CU", d, m);
	XD_ADD(s->W_CV, "clu.W_CV", d, m);
	for (int l = 0; l < LU; l++)
	{
		snprintf(name, sizeof(name), "clu.U.W%d", l + 1);
		XD_ADD(s->U_W[l], name, d, d);
		snprintf(name, sizeof(name), "clu.U.b%d", l + 1);
		XD_ADD(s->U_b[l], name, 1, d);
	}
	for (int l = 0; l < LU; l++)
	{
		snprintf(name, sizeof(name), "clu.V.W%d", l + 1);
		XD_ADD(s->V_W[l], name, d, d);
		snprintf(name, sizeof(name), "clu.V.b%d", l + 1);
		XD_ADD(s->V_b[l], name, 1, d);
	}
	XD_ADD(s->w_C, "rank.w_C", 1, m);
	XD_ADD(s->b_C, "rank.b_C", 1, 1);
#undef XD_ADD
	*out = s;
	return XD_OK;
}

void
xd_shared_init(xd_shared *s, xd_rng *rng)
{
	const xd_config *cfg = &s->cfg;
	int			m = cfg->m;

	/* every tensor to 0, then the weights; biases stay 0 (DESIGN.md section 3) */
	xd_params_zero(s->params, s->n_params);
	if (s->has_mm)
	{
		int			off[3] = {0, cfg->m_I, cfg->m_I + cfg->m_H};
		int			wid[3] = {cfg->m_I, cfg->m_H, cfg->m_A};

		/*
		 * eq. 4-5: row block K is [W_KK' W_KK''], a map from the other kinds
		 * (width m - m_K) to m_K; Xavier over that, diagonal block K,K zero.
		 */
		for (int K = 0; K < 3; K++)
			for (int i = off[K]; i < off[K] + wid[K]; i++)
				for (int j = 0; j < m; j++)
				{
					float		a = sqrtf(6.0f / (float) m);
					float		v = a * (2.0f * xd_rng_uniform(rng) - 1.0f);

					s->mm_W->w[(size_t) i * m + j] =
						(j >= off[K] && j < off[K] + wid[K]) ? 0.0f : v;
				}
		for (int i = 0; i < m; i++)
			s->mm_s->w[i] = 0.01f;	/* s_K = 0.01 */
	}
	for (int l = 0; l < cfg->n_ctx_layers; l++)
		xd_param_xavier(s->ctx_W[l], 1.0f, rng);
	xd_param_xavier(s->W_CU, 1.0f, rng);
	xd_param_xavier(s->W_CV, 1.0f, rng);
	for (int l = 0; l < cfg->n_tower_layers; l++)
		xd_param_xavier(s->U_W[l], 1.0f, rng);
	for (int l = 0; l < cfg->n_tower_layers; l++)
		xd_param_xavier(s->V_W[l], 1.0f, rng);
	xd_param_xavier(s->w_C, 1.0f, rng);
}

void
xd_shared_free(xd_shared *s)
{
	if (!s)
		return;
	xd_params_free(s->params, s->n_params);
	free(s->ctx_W);
	free(s->ctx_b);
	free(s->U_W);
	free(s->U_b);
	free(s->V_W);
	free(s->V_b);
	free(s);
}

/* ---------------------------------------------------------------- domain */

/* the tensors a domain holds at most: five of explicit feedback, or four of implicit with the repeat term */
#define XD_DOMAIN_MAX_PARAMS 7

xd_status
xd_domain_new(const xd_config *cfg, int n_users, int n_items, xd_domain **out)
{
	xd_domain  *dom;
	xd_status	st;
	int			k = 0;
	bool		expl = cfg->feedback == XD_EXPLICIT;

	*out = NULL;
	if ((st = xd_config_check(cfg)) != XD_OK)
		return st;
	if (n_users < 1 || n_items < 1)
		return XD_EINVAL;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return XD_ENOMEM;
	dom->n_users = n_users;
	dom->n_items = n_items;
	dom->d = cfg->d;
	dom->feedback = cfg->feedback;
	dom->params = calloc(XD_DOMAIN_MAX_PARAMS, sizeof(xd_param));
	if (!dom->params)
	{
		free(dom);
		return XD_ENOMEM;
	}

#define XD_ADD(ptr, nm, r, c, sp) \
	do { \
		(ptr) = &dom->params[k]; \
		st = xd_param_alloc(&dom->params[k], (nm), (r), (c), XD_GROUP_DOMAIN, (sp)); \
		k++; \
		dom->n_params = k; \
		if (st != XD_OK) \
		{ \
			xd_domain_free(dom); \
			return st; \
		} \
	} while (0)

	XD_ADD(dom->E_u, "emb.user", n_users, cfg->d, true);
	XD_ADD(dom->E_v, "emb.item", n_items, cfg->d, true);
	if (expl)
	{
		XD_ADD(dom->s_u, "bias.user", n_users, 1, true);
		XD_ADD(dom->s_v, "bias.item", n_items, 1, true);
		XD_ADD(dom->s, "bias.global", 1, 1, false);
	}
	if (cfg->item_bias && !expl)
		XD_ADD(dom->s_v, "bias.item", n_items, 1, true);
	if (cfg->repeat && !expl)
	{
		XD_ADD(dom->w_R, "rep.w", 1, cfg->m, false);
		XD_ADD(dom->b_R, "rep.b", 1, 1, false);
	}
#undef XD_ADD
	*out = dom;
	return XD_OK;
}

void
xd_domain_init(xd_domain *dom, xd_rng *rng, float mean_rating)
{
	xd_params_zero(dom->params, dom->n_params);
	/* embeddings N(0, 0.1^2); s_u = s_v = 0; s = the mean training rating */
	for (size_t i = 0; i < (size_t) dom->n_users * dom->d; i++)
		dom->E_u->w[i] = 0.1f * xd_rng_normal(rng);
	for (size_t i = 0; i < (size_t) dom->n_items * dom->d; i++)
		dom->E_v->w[i] = 0.1f * xd_rng_normal(rng);
	if (dom->s)
		dom->s->w[0] = mean_rating;
}

void
xd_domain_free(xd_domain *dom)
{
	if (!dom)
		return;
	xd_params_free(dom->params, dom->n_params);
	free(dom);
}

xd_status
xd_model_drop_repeat(xd_model *model, bool domain_alone)
{
	xd_domain  *dom = model->domain;
	int			k = 0;

	if (!xd_model_has_repeat(model))
		return XD_OK;
	/* rep.w and rep.b are the domain's last two tensors (xd_domain_new) */
	if (!model->cfg.repeat_lift || (!model->owns_domain && !domain_alone) || dom->n_params < 2 ||
		dom->w_R != &dom->params[dom->n_params - 2] || dom->b_R != &dom->params[dom->n_params - 1])
		return XD_EINVAL;
	for (int i = 0; i < model->n_params; i++)
		if (model->params[i] != dom->w_R && model->params[i] != dom->b_R)
			model->params[k++] = model->params[i];
	model->n_params = k;
	xd_param_release(dom->w_R);
	xd_param_release(dom->b_R);
	dom->n_params -= 2;
	dom->w_R = dom->b_R = NULL;
	model->cfg.repeat = model->cfg.repeat_lift = false;
	model->rep_pop_w = 0.0f;
	model->rep_pop = NULL;
	return XD_OK;
}

xd_status
xd_model_add_repeat(xd_model *model, bool domain_alone)
{
	xd_domain  *dom = model->domain;
	int			at = -1,
				n = dom->n_params;
	xd_status	st;

	if (xd_model_has_repeat(model) || model->cfg.feedback != XD_IMPLICIT ||
		dom->feedback != XD_IMPLICIT || (!model->owns_domain && !domain_alone) ||
		n < 1 || n + 2 > XD_DOMAIN_MAX_PARAMS || model->n_params + 2 > XD_MAX_PARAMS)
		return XD_EINVAL;
	/* the model's list is shared, domain, adapt: right after the domain's last */
	for (int i = 0; i < model->n_params; i++)
		if (model->params[i] == &dom->params[n - 1])
			at = i + 1;
	if (at < 0)
		return XD_EINVAL;
	if ((st = xd_param_alloc(&dom->params[n], "rep.w", 1, model->cfg.m, XD_GROUP_DOMAIN, false)) != XD_OK ||
		(st = xd_param_alloc(&dom->params[n + 1], "rep.b", 1, 1, XD_GROUP_DOMAIN, false)) != XD_OK)
	{
		xd_param_release(&dom->params[n]);
		xd_param_release(&dom->params[n + 1]);
		return st;
	}
	dom->w_R = &dom->params[n];
	dom->b_R = &dom->params[n + 1];
	dom->n_params = n + 2;
	memmove(&model->params[at + 2], &model->params[at],
			sizeof(model->params[0]) * (size_t) (model->n_params - at));
	model->params[at] = dom->w_R;
	model->params[at + 1] = dom->b_R;
	model->n_params += 2;
	model->cfg.repeat = model->cfg.repeat_lift = true;
	return XD_OK;
}

/* ---------------------------------------------------------------- workspace */

#define XD_WS_ARRAYS(X) \
	X(mm_T, m) X(g_u, d) X(g_v, d) X(ones, 1) X(s_c, 1) X(rep_r, 1) X(score, 1) \
	X(d_score, 1) X(d_sc, 1) X(d_cstar, m) X(d_x0, m) X(d_xa, m) X(d_xb, m) \
	X(d_top_u, d) X(d_top_v, d) X(d_ha, d) X(d_hb, d) X(d_g, d)

/* Rows one pass takes: a positive and its two negatives when implicit (eq. 13-14). */
static int
workspace_cap(const xd_config *cfg)
{
	return cfg->feedback == XD_IMPLICIT ? 3 * cfg->batch_size : cfg->batch_size;
}

size_t
xd_model_workspace_bytes(const xd_config *cfg, bool with_adapt)
{
	size_t		m = (size_t) cfg->m;
	size_t		d = (size_t) cfg->d;
	size_t		LC = (size_t) cfg->n_ctx_layers;
	size_t		LU = (size_t) cfg->n_tower_layers;
	size_t		per_row = 0;

	/*
	 * what xd_workspace_new and, with DRR, xd_model_set_adapt and its KL
	 * term's xd_model_add_loss_term allocate, per row
	 */
#define XD_COUNT(f, w) per_row += (w);
	XD_WS_ARRAYS(XD_COUNT)
#undef XD_COUNT
	per_row += (LC + 1) * m + LC * m;	/* x, a */
	per_row += 2 * (LU + 1) * d;	/* h_u, h_v */
	if (LU >= 2)
		per_row += 2 * (LU - 1) * d;	/* dropout masks of the hidden layers */
	if (with_adapt)
		per_row += 3 * m + 6 * d + (m > d ? m : d);

	/*
	 * and the workspace itself, not per row: its 64 kB of transposed weights
	 * (wt, xd_sgemm_rows_nt). Adam's table of bias corrections (optim.c, up
	 * to 512 kB) is not counted: only training steps Adam and allocates it,
	 * and a served version never trains.
	 */
	return per_row * (size_t) workspace_cap(cfg) * sizeof(float) + sizeof(xd_workspace);
}

xd_status
xd_workspace_new(const xd_config *cfg, int cap, xd_workspace **out)
{
	xd_workspace *ws = calloc(1, sizeof(*ws));
	size_t		m = (size_t) cfg->m;
	size_t		d = (size_t) cfg->d;
	int			LC = cfg->n_ctx_layers;
	int			LU = cfg->n_tower_layers;
	bool		fail = false;

	*out = NULL;
	if (!ws)
		return XD_ENOMEM;
	ws->cap = cap;
#define XD_ALLOC(f, w) \
	if (!(ws->f = malloc(sizeof(float) * (size_t) cap * (w)))) fail = true;
	XD_WS_ARRAYS(XD_ALLOC)
#undef XD_ALLOC
	ws->x = calloc((size_t) LC + 1, sizeof(float *));
	ws->a = calloc((size_t) LC + 1, sizeof(float *));
	ws->h_u = calloc((size_t) LU + 1, sizeof(float *));
	ws->h_v = calloc((size_t) LU + 1, sizeof(float *));
	ws->mask_u = calloc((size_t) LU + 1, sizeof(float *));
	ws->mask_v = calloc((size_t) LU + 1, sizeof(float *));
	if (fail || !ws->x || !ws->a || !ws->h_u || !ws->h_v || !ws->mask_u || !ws->mask_v)
	{
		xd_workspace_free(ws, cfg);
		return XD_ENOMEM;
	}
	for (int l = 0; l <= LC; l++)
	{
		if (!(ws->x[l] = malloc(sizeof(float) * (size_t) cap * m)))
			fail = true;
		if (l < LC && !(ws->a[l] = malloc(sizeof(float) * (size_t) cap * m)))
			fail = true;
	}
	for (int l = 0; l <= LU; l++)
	{
		if (!(ws->h_u[l] = malloc(sizeof(float) * (size_t) cap * d)) ||
			!(ws->h_v[l] = malloc(sizeof(float) * (size_t) cap * d)))
			fail = true;
		/* dropout on hidden layers only, never on the last (DESIGN.md section 3) */
		if (l < LU - 1 &&
			(!(ws->mask_u[l] = malloc(sizeof(float) * (size_t) cap * d)) ||
			 !(ws->mask_v[l] = malloc(sizeof(float) * (size_t) cap * d))))
			fail = true;
	}
	if (fail)
	{
		xd_workspace_free(ws, cfg);
		return XD_ENOMEM;
	}
	for (int r = 0; r < cap; r++)
		ws->ones[r] = 1.0f;
	*out = ws;
	return XD_OK;
}

void
xd_workspace_free(xd_workspace *ws, const xd_config *cfg)
{
	if (!ws)
		return;
#define XD_FREE(f, w) free(ws->f);
	XD_WS_ARRAYS(XD_FREE)
#undef XD_FREE
	for (int l = 0; l <= cfg->n_ctx_layers; l++)
	{
		if (ws->x)
			free(ws->x[l]);
		if (ws->a)
			free(ws->a[l]);
	}
	for (int l = 0; l <= cfg->n_tower_layers; l++)
	{
		if (ws->h_u)
			free(ws->h_u[l]);
		if (ws->h_v)
			free(ws->h_v[l]);
		if (ws->mask_u)
			free(ws->mask_u[l]);
		if (ws->mask_v)
			free(ws->mask_v[l]);
	}
	free(ws->res_x1);
	free(ws->res_TC);
	free(ws->res_eu);
	free(ws->res_TU);
	free(ws->res_ev);
	free(ws->res_TV);
	free(ws->res_dz);
	free(ws->ext_x1);
	free(ws->ext_u);
	free(ws->ext_v);
	xd_adam_table_free(ws->adam);
	free(ws->x);
	free(ws->a);
	free(ws->h_u);
	free(ws->h_v);
	free(ws->mask_u);
	free(ws->mask_v);
	free(ws);
}

/* ---------------------------------------------------------------- model */

static bool
xd_same_shape(const xd_config *a, const xd_config *b)
{
	return a->m == b->m && a->m_I == b->m_I && a->m_H == b->m_H &&
		a->m_A == b->m_A && a->d == b->d &&
		a->n_ctx_layers == b->n_ctx_layers &&
		a->n_tower_layers == b->n_tower_layers &&
		a->variant == b->variant &&
		xd_config_has_mm_residual(a) == xd_config_has_mm_residual(b);
}

xd_status
xd_model_new(const xd_config *cfg, xd_shared *shared, xd_domain *domain,
			 bool own_shared, bool own_domain, xd_model **out)
{
	xd_model   *model;
	xd_status	st;
	int			cap;

	*out = NULL;
	model = calloc(1, sizeof(*model));
	if (!model)
	{
		if (own_shared)
			xd_shared_free(shared);
		if (own_domain)
			xd_domain_free(domain);
		return XD_ENOMEM;
	}
	model->shared = shared;
	model->domain = domain;
	model->owns_shared = own_shared;
	model->owns_domain = own_domain;
	if (cfg)
		model->cfg = *cfg;
	if (!cfg || !shared || !domain || xd_config_check(cfg) != XD_OK ||
		!xd_same_shape(cfg, &shared->cfg) || domain->d != cfg->d ||
		domain->feedback != cfg->feedback ||
		shared->n_params + domain->n_params > XD_MAX_PARAMS)
	{
		xd_model_free(model);
		return XD_EINVAL;
	}
	for (int i = 0; i < shared->n_params; i++)
		model->params[model->n_params++] = &shared->params[i];
	for (int i = 0; i < domain->n_params; i++)
		model->params[model->n_params++] = &domain->params[i];
	cap = workspace_cap(cfg);
	if ((st = xd_workspace_new(cfg, cap, &model->ws)) != XD_OK)
	{
		xd_model_free(model);
		return st;
	}
	*out = model;
	return XD_OK;
}

xd_status
xd_model_create(const xd_config *cfg, int n_users, int n_items,
				float mean_rating, xd_rng *rng, xd_model **out)
{
	xd_shared  *s;
	xd_domain  *dom;
	xd_status	st;

	*out = NULL;
	if ((st = xd_shared_new(cfg, &s)) != XD_OK)
		return st;
	if ((st = xd_domain_new(cfg, n_users, n_items, &dom)) != XD_OK)
	{
		xd_shared_free(s);
		return st;
	}
	xd_shared_init(s, rng);
	xd_domain_init(dom, rng, mean_rating);
	return xd_model_new(cfg, s, dom, true, true, out);
}

void
xd_model_free(xd_model *model)
{
	if (!model)
		return;
	xd_workspace_free(model->ws, &model->cfg);
	if (model->owns_shared)
		xd_shared_free(model->shared);
	if (model->owns_domain)
		xd_domain_free(model->domain);
	free(model);
}

void
xd_model_params(xd_model *model, xd_param ***params, int *n)
{
	*params = model->params;
	*n = model->n_params;
}

xd_param *
xd_model_find_param(xd_model *model, const char *name)
{
	for (int i = 0; i < model->n_params; i++)
		if (strcmp(model->params[i]->name, name) == 0)
			return model->params[i];
	return NULL;
}

/* xd_sgemm_rows_nn's widths: whole 16-lane vectors of columns, k <= 256 */
static bool
xd_sgemm_blocked_widths(int nc, int k)
{
	return nc % 16 == 0 && nc <= 64 && k <= 256;
}

void
xd_sgemm_rows_nn(int n, int nc, int k, const float *A, const float *B, float beta,
				 float *C)
{
	int			block = xd_sgemm_blocked_widths(nc, k) ? XD_SGEMM_ROW_BLOCK : n;

	if (block < 1)
		block = 1;
	for (int start = 0; start < n; start += block)
	{
		int			rows = n - start < block ? n - start : block;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nc, k, 1.0f,
					A + (size_t) start * k, k, B, nc, beta, C + (size_t) start * nc, nc);
	}
}

void
xd_sgemm_rows_nt(int n, int nc, int k, const float *A, const float *B, float *C, float *wt)
{
	if (n <= XD_SGEMM_ROW_BLOCK || !xd_sgemm_blocked_widths(nc, k) ||
		nc * k > XD_SGEMM_WT_FLOATS)
	{
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nc, k, 1.0f,
					A, k, B, k, 0.0f, C, nc);
		return;
	}
	for (int j = 0; j < nc; j++)
		for (int i = 0; i < k; i++)
			wt[(size_t) i * nc + j] = B[(size_t) j * k + i];
	xd_sgemm_rows_nn(n, nc, k, A, wt, 0.0f, C);
}

void
xd_sgemm_rows_tn(int n, int nc, int k, const float *A, const float *B, float *C)
{
	int			block = (size_t) nc * k <= XD_SGEMM_GRAD_MAX_CELLS ?
		XD_SGEMM_GRAD_BLOCK : n;

	for (int start = 0; start < n; start += block)
	{
		int			rows = n - start < block ? n - start : block;

		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nc, k, rows, 1.0f,
					A + (size_t) start * nc, nc, B + (size_t) start * k, k, 1.0f, C, k);
	}
}

int
xd_model_max_rows(const xd_model *model)
{
	return model->ws->cap;
}

void
xd_param_zero_grad(xd_param *p)
{
	if (p->sparse)
	{
		for (int t = 0; t < p->n_touched; t++)
		{
			int32_t		r = p->touched[t];

			memset(p->g + (size_t) r * p->cols, 0, sizeof(float) * p->cols);
			p->row_mark[r] = 0;
		}
		p->n_touched = 0;
	}
	else
		memset(p->g, 0, sizeof(float) * (size_t) p->rows * p->cols);
}

void
xd_model_zero_grad(xd_model *model)
{
	for (int i = 0; i < model->n_params; i++)
	{
		xd_param   *p = model->params[i];

		/* a frozen shared module has no gradient and is never written */
		if (model->freeze_shared && p->group == XD_GROUP_SHARED)
			continue;
		xd_param_zero_grad(p);
	}
}

/* ---------------------------------------------------------------- clones */

/* Copies the values of src into dst (same shapes); moments, steps, g stay 0. */
static void
xd_param_copy_values(xd_param *dst, const xd_param *src)
{
	memcpy(dst->w, src->w, sizeof(float) * (size_t) src->rows * src->cols);
}

xd_status
xd_shared_clone(const xd_shared *src, xd_shared **out)
{
	xd_status	st = xd_shared_new(&src->cfg, out);

	if (st != XD_OK)
		return st;
	for (int i = 0; i < src->n_params; i++)
		xd_param_copy_values(&(*out)->params[i], &src->params[i]);
	return XD_OK;
}

xd_status
xd_domain_clone(const xd_config *cfg, const xd_domain *src, xd_domain **out)
{
	xd_status	st = xd_domain_new(cfg, src->n_users, src->n_items, out);

	if (st != XD_OK)
		return st;
	if ((*out)->n_params != src->n_params)
	{
		xd_domain_free(*out);
		*out = NULL;
		return XD_EINVAL;
	}
	for (int i = 0; i < src->n_params; i++)
		xd_param_copy_values(&(*out)->params[i], &src->params[i]);
	return XD_OK;
}

/* ---------------------------------------------------------------- DRR */

xd_status
xd_adapt_new(const xd_config *cfg, xd_adapt **out)
{
	xd_adapt   *a;
	xd_status	st;
	int			k = 0;

	*out = NULL;
	if ((st = xd_config_check(cfg)) != XD_OK)
		return st;
	a = calloc(1, sizeof(*a));
	if (!a)
		return XD_ENOMEM;
	a->m = cfg->m;
	a->d = cfg->d;
	a->has_ctx = cfg->n_ctx_layers >= 1;
	a->lambda_kl = 0.0f;
	a->params = calloc(6, sizeof(xd_param));
	if (!a->params)
	{
		free(a);
		return XD_ENOMEM;
	}

	/* DESIGN.md section 4: zero-initialised, so training starts from Direct */
#define XD_ADD(ptr, nm, r, c) \
	do { \
		(ptr) = &a->params[k]; \
		st = xd_param_alloc(&a->params[k], (nm), (r), (c), XD_GROUP_RESIDUAL, false); \
		k++; \
		a->n_params = k; \
		if (st != XD_OK) \
		{ \
			xd_adapt_free(a); \
			return st; \
		} \
	} while (0)

	if (a->has_ctx)
	{
		XD_ADD(a->R_C, "res.C.R", cfg->m, cfg->m);
		XD_ADD(a->r_C, "res.C.r", 1, cfg->m);
	}
	XD_ADD(a->R_U, "res.U.R", cfg->d, cfg->d);
	XD_ADD(a->r_U, "res.U.r", 1, cfg->d);
	XD_ADD(a->R_V, "res.V.R", cfg->d, cfg->d);
	XD_ADD(a->r_V, "res.V.r", 1, cfg->d);
#undef XD_ADD
	*out = a;
	return XD_OK;
}

void
xd_adapt_free(xd_adapt *a)
{
	if (!a)
		return;
	xd_params_free(a->params, a->n_params);
	free(a->kl_buf);
	free(a);
}

void
xd_adapt_copy_values(xd_adapt *dst, const xd_adapt *src)
{
	for (int i = 0; i < src->n_params && i < dst->n_params; i++)
		xd_param_copy_values(&dst->params[i], &src->params[i]);
	dst->enc = src->enc;
	dst->lambda_kl = src->lambda_kl;
}

xd_status
xd_model_set_adapt(xd_model *model, xd_adapt *adapt)
{
	xd_workspace *ws = model->ws;
	size_t		cap = (size_t) ws->cap;
	size_t		m = (size_t) model->cfg.m;
	size_t		d = (size_t) model->cfg.d;
	size_t		w = m > d ? m : d;

	if (!adapt || model->adapt || adapt->m != model->cfg.m ||
		adapt->d != model->cfg.d ||
		adapt->has_ctx != (model->cfg.n_ctx_layers >= 1) ||
		model->n_params + adapt->n_params > XD_MAX_PARAMS)
		return XD_EINVAL;
	ws->res_x1 = malloc(sizeof(float) * cap * m);
	ws->res_TC = malloc(sizeof(float) * cap * m);
	ws->res_eu = malloc(sizeof(float) * cap * d);
	ws->res_TU = malloc(sizeof(float) * cap * d);
	ws->res_ev = malloc(sizeof(float) * cap * d);
	ws->res_TV = malloc(sizeof(float) * cap * d);
	ws->res_dz = malloc(sizeof(float) * cap * w);
	if (!ws->res_x1 || !ws->res_TC || !ws->res_eu || !ws->res_TU ||
		!ws->res_ev || !ws->res_TV || !ws->res_dz)
		return XD_ENOMEM;		/* xd_model_free releases what was allocated */
	for (int i = 0; i < adapt->n_params; i++)
		model->params[model->n_params++] = &adapt->params[i];
	model->adapt = adapt;
	return XD_OK;
}

xd_status
xd_model_add_loss_term(xd_model *model, xd_loss_term_fn fn, void *arg)
{
	xd_workspace *ws = model->ws;
	size_t		cap = (size_t) ws->cap;

	if (!fn || model->n_terms >= XD_MAX_LOSS_TERMS)
		return XD_EINVAL;
	if (!ws->ext_x1)
	{
		ws->ext_x1 = calloc(cap * (size_t) model->cfg.m, sizeof(float));
		ws->ext_u = calloc(cap * (size_t) model->cfg.d, sizeof(float));
		ws->ext_v = calloc(cap * (size_t) model->cfg.d, sizeof(float));
		if (!ws->ext_x1 || !ws->ext_u || !ws->ext_v)
		{
			/* all or none, so the next call tries again */
			free(ws->ext_x1);
			free(ws->ext_u);
			free(ws->ext_v);
			ws->ext_x1 = ws->ext_u = ws->ext_v = NULL;
			return XD_ENOMEM;
		}
	}
	model->terms[model->n_terms].fn = fn;
	model->terms[model->n_terms].arg = arg;
	model->n_terms++;
	return XD_OK;
}

void
xd_model_freeze_shared(xd_model *model, bool frozen)
{
	if (frozen && !model->freeze_shared)
	{
		/* drop whatever the shared modules had accumulated (nothing, normally) */
		xd_model_zero_grad(model);
	}
	model->freeze_shared = frozen;
}

/* where xd_model_module_inputs copies each chunk's module inputs */
typedef struct xd_inputs_out
{
	float	   *x1;
	float	   *eu;
	float	   *ev;
} xd_inputs_out;

static void
xd_take_inputs(void *arg, const xd_model *model, int start, int k)
{
	xd_inputs_out *o = arg;
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	int			d = model->cfg.d;

	/* after the residuals: what the shared modules see */
	if (o->x1 && model->cfg.n_ctx_layers >= 1)
		memcpy(o->x1 + (size_t) start * m, ws->x[1], sizeof(float) * k * m);
	if (o->eu)
		memcpy(o->eu + (size_t) start * d, ws->h_u[0], sizeof(float) * k * d);
	if (o->ev)
		memcpy(o->ev + (size_t) start * d, ws->h_v[0], sizeof(float) * k * d);
}

xd_status
xd_model_module_inputs(xd_model *model, const xd_batch *b,
					   float *x1, float *eu, float *ev)
{
	xd_inputs_out o = {x1, eu, ev};

	return xd_model_forward_chunks(model, b, xd_take_inputs, &o);
}
