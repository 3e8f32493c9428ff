/*
 * context.c - the context module M1 of MMT-Net: the multimodal residual
 * (eq. 4-5) and the context layers (eq. 1-3), or the FMT-Net layers; forward
 * and backward over a batch of rows at once (DESIGN.md section 3).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/activation.h"

/* Zeroes the diagonal blocks [K,K] of an m x m matrix (eq. 4-5 mix only across kinds). */
static void
xd_mm_zero_diag(const xd_config *cfg, float *W)
{
	int			off[3] = {0, cfg->m_I, cfg->m_I + cfg->m_H};
	int			wid[3] = {cfg->m_I, cfg->m_H, cfg->m_A};
	int			m = cfg->m;

	for (int K = 0; K < 3; K++)
		for (int i = off[K]; i < off[K] + wid[K]; i++)
			memset(W + (size_t) i * m + off[K], 0, sizeof(float) * wid[K]);
}

void
xd_residual_forward(const xd_param *R, const xd_param *r, float *x,
					float *pre, float *T, int n, int w, float *wt)
{
	size_t		nw = (size_t) n * w;

	/* eq. 19, DESIGN.md section 4: x' = x + tanh(R x + r) */
	memcpy(pre, x, sizeof(float) * nw);
	xd_sgemm_rows_nt(n, w, w, pre, R->w, T, wt);
	/* with R = 0, r = 0: tanh(0) = 0 exactly, x' = x bit for bit */
	xd_tanh_residual_rows(T, r->w, x, NULL, x, n, w);
}

void
xd_residual_backward(xd_param *R, xd_param *r, float *dx,
					 const float *pre, const float *T, float *dz, int n, int w,
					 bool want_dx)
{
	size_t		nw = (size_t) n * w;

	/*
	 * x' = x + tanh(z), z = R x + r: dz = dx' . (1 - T^2); dr += dz;
	 * dR += dz^T x; dx = dx' + R^T dz
	 */
	{
		const xd_v4f one = {1.0f, 1.0f, 1.0f, 1.0f};
		size_t		i = 0;

		for (; i + 4 <= nw; i += 4)
		{
			xd_v4f		t = xd_v4_load(T + i);

			xd_v4_store(dz + i, xd_v4_load(dx + i) * (one - t * t));
		}
		for (; i < nw; i++)
			dz[i] = dx[i] * (1.0f - T[i] * T[i]);
	}
	for (int i = 0; i < n; i++)
		xd_add_inplace(r->g, dz + (size_t) i * w, w);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w, w, n,
				1.0f, dz, w, pre, w, 1.0f, R->g, w);
	if (want_dx)
		xd_sgemm_rows_nn(n, w, w, dz, R->w, 1.0f, dx);
}

/* eq. 4-5 over rows [from, n) of ws->c into x^0 (a copy of c without the multimodal residual) */
static void
xd_mm_forward(xd_model *model, int from, int n)
{
	xd_shared  *sh = model->shared;
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	size_t		o = (size_t) from * m;
	float	   *x0 = ws->x[0] + o;

	n -= from;
	if (sh->has_mm)
	{
		const float *b = sh->mm_b->w;
		const float *s = sh->mm_s->w;

		/*
		 * eq. 4-5: T = tanh(W c + b), one product for all kinds at once, the
		 * diagonal blocks of W being zero, so that each c_K only sees c_K',
		 * c_K''; every T_K comes from the unmodified c, then c_K += s_K . T_K.
		 */
		xd_sgemm_rows_nt(n, m, m, ws->c + o, sh->mm_W->w, ws->mm_T + o, ws->wt);
		xd_tanh_residual_rows(ws->mm_T + o, b, ws->c + o, s, x0, n, m);
	}
	else
		memcpy(x0, ws->c + o, sizeof(float) * (size_t) n * m);
}

/* context layer l + 1: x^(l+1) from x^l, on rows [from, n) */
static void
xd_ctx_layer_forward(xd_model *model, int l, int from, int n)
{
	xd_shared  *sh = model->shared;
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	size_t		o = (size_t) from * m;
	const float *xp = ws->x[l] + o;
	float	   *xl = ws->x[l + 1] + o;
	const float *b = sh->ctx_b[l]->w;

	n -= from;
	if (model->cfg.variant == XD_VARIANT_MMT)
	{
		float	   *a = ws->a[l] + o;

		/* eq. 1-3: x^l = sigma(W^l x^(l-1) + b^l . x^(l-1)) . c, c = x^0 */
		xd_sgemm_rows_nt(n, m, m, xp, sh->ctx_W[l]->w, a, ws->wt);
		xd_sigmoid_ctx_rows(a, b, xp, ws->x[0] + o, xl, n, m);
	}
	else
	{
		/* FMT-Net: x^l = ReLU(W^l x^(l-1) + b^l) */
		xd_sgemm_rows_nt(n, m, m, xp, sh->ctx_W[l]->w, xl, ws->wt);
		xd_relu_bias_rows(xl, b, n, m);
	}
}

/*
 * The validation cache (model_int.h): copies the n rows' x^0 and x^1 from the
 * cache, or into it while the first validation fills it. Returns whether the
 * workspace now holds them from the cache. Out of step (more rows than the
 * first validation, or than the bound) turns the cache off: computed again.
 */
static bool
xd_valcache_rows(xd_valcache *vc, xd_workspace *ws, int n, int m, bool load)
{
	size_t		o = (size_t) vc->pos * m,
				len = sizeof(float) * (size_t) n * m;

	if (vc->off)
		return false;
	if (load ? vc->pos + n > vc->n_rows : vc->pos + n > XD_VALCACHE_MAX_ROWS)
	{
		vc->off = true;
		return false;
	}
	if (!load && vc->pos + n > vc->cap_rows)
	{
		int64_t		cap = vc->cap_rows * 2 > vc->pos + n ? vc->cap_rows * 2 : vc->pos + n;
		float	   *x0,
				   *x1,
				   *c;

		if (cap > XD_VALCACHE_MAX_ROWS)
			cap = XD_VALCACHE_MAX_ROWS;
		x0 = realloc(vc->x0, sizeof(float) * (size_t) cap * m);
		if (x0)
			vc->x0 = x0;
		x1 = x0 ? realloc(vc->x1, sizeof(float) * (size_t) cap * m) : NULL;
		if (x1)
			vc->x1 = x1;
		c = x1 ? realloc(vc->c, sizeof(float) * (size_t) cap * m) : NULL;
		if (c)
			vc->c = c;
		if (!x0 || !x1 || !c)
		{
			/* no memory for the cache: validate without it */
			vc->off = true;
			return false;
		}
		vc->cap_rows = cap;
	}
	if (load && memcmp(ws->c, vc->c + o, len) != 0)
	{
		/* not the rows the first validation stored: compute, from now on */
		vc->off = true;
		return false;
	}
	if (load)
	{
		memcpy(ws->x[0], vc->x0 + o, len);
		memcpy(ws->x[1], vc->x1 + o, len);
	}
	else
	{
		memcpy(vc->x0 + o, ws->x[0], len);
		memcpy(vc->x1 + o, ws->x[1], len);
		memcpy(vc->c + o, ws->c, len);
	}
	vc->pos += n;
	return load;
}

void
xd_valcache_begin(xd_valcache *vc, xd_model *model)
{
	/* only x^0, x^1 of frozen modules stay the same from one validation to the next */
	if (!model->freeze_shared || model->cfg.n_ctx_layers < 1 || vc->off)
		return;
	vc->pos = 0;
	model->ws->vc = vc;
}

void
xd_valcache_end(xd_valcache *vc, xd_model *model, bool complete)
{
	if (model->ws->vc != vc)
		return;
	model->ws->vc = NULL;
	if (!complete)
		vc->off = true;
	else if (!vc->ready)
	{
		vc->n_rows = vc->pos;
		vc->ready = true;
	}
	else if (vc->pos != vc->n_rows)
		vc->off = true;
}

void
xd_valcache_release(xd_valcache *vc, xd_model *model)
{
	if (model->ws->vc == vc)
		model->ws->vc = NULL;
	free(vc->x0);
	free(vc->x1);
	free(vc->c);
	memset(vc, 0, sizeof(*vc));
}

void
xd_context_forward(xd_model *model, int n)
{
	xd_workspace *ws = model->ws;
	xd_valcache *vc = ws->vc;
	int			LC = model->cfg.n_ctx_layers;
	int			pre = model->freeze_shared && LC > 0 ? ws->pre_rows : 0;

	ws->pre_rows = 0;
	if (pre > n)
		pre = n;
	/* a later validation of a frozen M1: x^0 and x^1 as the first one made them */
	if (!(vc && vc->ready && xd_valcache_rows(vc, ws, n, model->cfg.m, true)))
	{
		/* rows [0, pre) came with theirs (model_int.h, pre_rows) */
		xd_mm_forward(model, pre, n);
		if (LC > 0)
			xd_ctx_layer_forward(model, 0, pre, n);
		if (vc && !vc->ready)
			xd_valcache_rows(vc, ws, n, model->cfg.m, false);
	}
	/* DRR (DESIGN.md section 4): x^1 gets its residual before layer 2 */
	if (LC > 0 && model->adapt && model->adapt->has_ctx)
		xd_residual_forward(model->adapt->R_C, model->adapt->r_C, ws->x[1],
							ws->res_x1, ws->res_TC, n, model->cfg.m, ws->wt);
	for (int l = 1; l < LC; l++)
		xd_ctx_layer_forward(model, l, 0, n);
}

void
xd_context_backward(xd_model *model, int n)
{
	xd_shared  *sh = model->shared;
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	int			LC = model->cfg.n_ctx_layers;
	bool		mmt = model->cfg.variant == XD_VARIANT_MMT;
	size_t		nm = (size_t) n * m;
	const float *x0 = ws->x[0];
	float	   *dcur = ws->d_cstar;
	float	   *dnext = ws->d_xa;
	float	   *dx0 = ws->d_x0;	/* MMT: the direct paths x^l -> c = x^0 */
	xd_adapt   *ad = model->adapt;
	bool		res_c = ad && ad->has_ctx;
	bool		frozen = model->freeze_shared;

	/* frozen modules and no residual on x^1: nothing below c* learns */
	if (frozen && !res_c)
		return;
	if (mmt)
		memset(dx0, 0, sizeof(float) * nm);

	for (int l = LC - 1; l >= 0; l--)
	{
		const float *xp = ws->x[l];
		xd_param   *W = sh->ctx_W[l];
		xd_param   *bp = sh->ctx_b[l];
		const float *b = bp->w;
		float	   *gb = bp->g;
		bool		need_dprev = l > 0 || sh->has_mm;

		/*
		 * dcur is dL/dx^1' (after any residual): add the extra loss terms'
		 * gradient (eq. 22's KL with DRR) on the rows it covers
		 */
		if (l == 0 && ws->n_ext > 0)
			xd_add_inplace(dcur, ws->ext_x1, (size_t) ws->n_ext * m);
		if (l == 0 && res_c)
		{
			/*
			 * back through the residual to x^1; below x^1 only the frozen
			 * layer 1 and eq. 4-5 when frozen: no dL/dx^1, done
			 */
			xd_residual_backward(ad->R_C, ad->r_C, dcur, ws->res_x1, ws->res_TC,
								 ws->res_dz, n, m, !frozen);
			if (frozen)
				return;
		}
		if (frozen)
		{
			/* layers above x^1 of frozen modules: only dL/dx^(l-1) */
			if (mmt)
			{
				const float *a = ws->a[l];

				for (size_t i = 0; i < nm; i++)
					dcur[i] = dcur[i] * x0[i] * a[i] * (1.0f - a[i]);
			}
			else
				xd_relu_grad(dcur, ws->x[l + 1], NULL, nm);
			xd_sgemm_rows_nn(n, m, m, dcur, W->w, 0.0f, dnext);
			if (mmt)
				xd_add_scaled_rows(dnext, b, dcur, n, m);
			{
				float	   *t = dcur;

				dcur = dnext;
				dnext = t;
			}
			continue;
		}

		if (mmt)
		{
			const float *a = ws->a[l];

			/*
			 * eq. 1-3 backward: x^l = a . c with a = sigma(z), z = W x^(l-1) + b . x^(l-1):
			 * dc += dx . a; dz = dx . c . a (1 - a); db += dz . x^(l-1);
			 * dx^(l-1) = W^T dz + b . dz
			 */
			xd_ctx_gate_backward_rows(dcur, x0, a, xp, dx0, gb, n, m);
		}
		else
		{
			/* layer 1's own output, before a DRR residual changed it */
			const float *xl = (l == 0 && res_c) ? ws->res_x1 : ws->x[l + 1];

			/* FMT: dz = dx . [z > 0]; db += dz; dx^(l-1) = W^T dz */
			xd_relu_grad(dcur, xl, NULL, nm);
			cblas_sgemv(CblasRowMajor, CblasTrans, n, m, 1.0f, dcur, m,
						ws->ones, 1, 1.0f, gb, 1);
		}
		/* dW^l += dz^T x^(l-1), over the batch */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, n,
					1.0f, dcur, m, xp, m, 1.0f, W->g, m);
		if (need_dprev)
		{
			xd_sgemm_rows_nn(n, m, m, dcur, W->w, 0.0f, dnext);
			if (mmt)
				xd_add_scaled_rows(dnext, b, dcur, n, m);
		}
		/* swap: dnext is now the gradient of x^(l-1) */
		{
			float	   *t = dcur;

			dcur = dnext;
			dnext = t;
		}
	}

	if (!sh->has_mm)
		return;

	/* total dL/dx^0: through the chain (dcur) plus, for MMT, the direct paths */
	if (mmt && LC > 0)
		xd_add_inplace(dcur, dx0, nm);

	/*
	 * eq. 4-5 backward: x^0 = c + s . T, T = tanh(W c + b), c is data:
	 * ds += dx0 . T; dz = dx0 . s . (1 - T^2); db += dz; dW += dz^T c (off the
	 * diagonal blocks)
	 */
	{
		const float *T = ws->mm_T;
		const float *s = sh->mm_s->w;
		float	   *gs = sh->mm_s->g;
		float	   *gbm = sh->mm_b->g;

		xd_tanh_scale_backward_rows(dcur, T, s, gs, gbm, n, m);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, n,
					1.0f, dcur, m, ws->c, m, 1.0f, sh->mm_W->g, m);
		xd_mm_zero_diag(&model->cfg, sh->mm_W->g);
	}
}
