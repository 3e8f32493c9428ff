/*
 * cluster.c - the context-conditioned clustering modules M3u and M3v of
 * MMT-Net (eq. 6-9): the gated embeddings and the user and item towers,
 * forward and backward over a batch of rows at once (DESIGN.md section 3).
 */
#include <cblas.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/activation.h"

/* The pieces of one side (user or item) of M3. */
typedef struct xd_tower
{
	xd_param   *Wc;				/* W_CU or W_CV, d x m */
	xd_param  **W;				/* [L] d x d */
	xd_param  **b;				/* [L] 1 x d */
	xd_param   *E;				/* embedding table */
	const int32_t *ids;
	float	   *gate;			/* sigma(W_C c*) */
	float	  **h;				/* [L + 1] */
	float	  **mask;			/* [L] */
	float	   *d_top;			/* dL/dh^L */
	/* DRR residual on e~ (DESIGN.md section 4); R NULL when none */
	xd_param   *R;
	xd_param   *r;
	float	   *res_pre;		/* e~ before the residual */
	float	   *res_T;
	float	   *ext;			/* extra loss terms' dL/de~' of rows [0, n_ext) */
} xd_tower;

static void
xd_tower_get(xd_model *model, bool user, xd_tower *t)
{
	xd_shared  *sh = model->shared;
	xd_workspace *ws = model->ws;

	t->Wc = user ? sh->W_CU : sh->W_CV;
	t->W = user ? sh->U_W : sh->V_W;
	t->b = user ? sh->U_b : sh->V_b;
	t->E = user ? model->domain->E_u : model->domain->E_v;
	t->ids = user ? ws->users : ws->items;
	t->gate = user ? ws->g_u : ws->g_v;
	t->h = user ? ws->h_u : ws->h_v;
	t->mask = user ? ws->mask_u : ws->mask_v;
	t->d_top = user ? ws->d_top_u : ws->d_top_v;
	t->ext = user ? ws->ext_u : ws->ext_v;
	t->R = t->r = NULL;
	if (model->adapt)
	{
		t->R = user ? model->adapt->R_U : model->adapt->R_V;
		t->r = user ? model->adapt->r_U : model->adapt->r_V;
		t->res_pre = user ? ws->res_eu : ws->res_ev;
		t->res_T = user ? ws->res_TU : ws->res_TV;
	}
}

static void xd_tower_layers(xd_model *model, xd_tower *t, int n, bool dropout,
							xd_rng *rng);

static void
xd_tower_forward(xd_model *model, xd_tower *t, int n, bool dropout, xd_rng *rng)
{
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	const float *cstar = model->ws->x[model->cfg.n_ctx_layers];

	/* eq. 6/7: e~ = e . sigma(W_C c*) */
	xd_sgemm_rows_nt(n, d, m, cstar, t->Wc->w, t->gate, model->ws->wt);
	for (int r = 0; r < n; r++)
	{
		const float *e = t->E->w + (size_t) t->ids[r] * d;
		float	   *g = t->gate + (size_t) r * d;
		float	   *h0 = t->h[0] + (size_t) r * d;

		/* embedding rows are random reads from a large table: fetch ahead */
		if (r + XD_PREFETCH_ROWS < n)
			xd_prefetch_row(t->E->w + (size_t) t->ids[r + XD_PREFETCH_ROWS] * d, d);

		xd_sigmoid_gate(g, e, h0, d);
	}
	/* DRR: e~' = e~ + tanh(R e~ + r) before the tower (eq. 19) */
	if (t->R)
		xd_residual_forward(t->R, t->r, t->h[0], t->res_pre, t->res_T, n, d,
							model->ws->wt);

	xd_tower_layers(model, t, n, dropout, rng);
}

/* eq. 8/9: h^l = ReLU(W^l h^(l-1) + b^l), dropout on hidden layers only */
static void
xd_tower_layers(xd_model *model, xd_tower *t, int n, bool dropout, xd_rng *rng)
{
	int			d = model->cfg.d;
	int			L = model->cfg.n_tower_layers;
	float		p = model->cfg.dropout;
	float		keep_scale = 1.0f / (1.0f - p);

	for (int l = 0; l < L; l++)
	{
		float	   *hl = t->h[l + 1];
		const float *b = t->b[l]->w;
		bool		drop = dropout && l < L - 1;

		xd_sgemm_rows_nt(n, d, d, t->h[l], t->W[l]->w, hl, model->ws->wt);
		if (drop)
		{
			/*
			 * inverted dropout: keep with 1 - p, scaled by 1 / (1 - p); four
			 * 16-bit draws from each 64-bit rng output (p to 1/65536), in
			 * order, into the backward scratch d_g (unused until backward)
			 */
			uint16_t   *bits = (uint16_t *) model->ws->d_g;
			uint32_t	thresh = (uint32_t) (p * 65536.0f + 0.5f);

			xd_rng_fill_u16(rng, bits, (size_t) n * d);
			xd_relu_bias_dropout_rows(hl, b, bits, thresh, keep_scale, t->mask[l], n, d);
		}
		else
			xd_relu_bias_rows(hl, b, n, d);
	}
}

xd_status
xd_cluster_forward(xd_model *model, int n, bool train_mode, xd_rng *rng)
{
	xd_tower	tu,
				tv;
	bool		dropout = train_mode && model->cfg.dropout > 0.0f &&
		model->cfg.n_tower_layers > 1;

	if (dropout && !rng)
		return XD_EINVAL;
	model->ws->dropped = dropout;
	xd_tower_get(model, true, &tu);
	xd_tower_get(model, false, &tv);
	xd_tower_forward(model, &tu, n, dropout, rng);
	xd_tower_forward(model, &tv, n, dropout, rng);
	return XD_OK;
}

void
xd_cluster_side_forward(xd_model *model, bool user, const int32_t *ids, int n)
{
	xd_tower	t;

	xd_tower_get(model, user, &t);
	t.ids = ids;
	model->ws->dropped = false;
	xd_tower_forward(model, &t, n, false, NULL);
}

/*
 * eq. 6-9 in inference from given gates for rows whose embeddings are
 * E + ids[r] * d (a table and its ids) or, ids NULL, E + r * d (rows given
 * by the caller: new items, serve.h).
 */
static void
xd_cluster_rows_forward(xd_model *model, bool user, const float *E, const int32_t *ids,
						int n, const float *gate, int gate_stride)
{
	xd_tower	t;
	int			d = model->cfg.d;
	float	   *h0;

	/* eq. 6/7 with the gates given: e~ = e . gate */
	xd_tower_get(model, user, &t);
	h0 = t.h[0];
	for (int r = 0; r < n; r++)
	{
		const float *e = E + (size_t) (ids ? ids[r] : r) * d;
		const float *g = gate + (size_t) r * gate_stride;
		float	   *hr = h0 + (size_t) r * d;

		if (ids && r + XD_PREFETCH_ROWS < n)
			xd_prefetch_row(E + (size_t) ids[r + XD_PREFETCH_ROWS] * d, d);
		for (int k = 0; k < d; k++)
			hr[k] = e[k] * g[k];
	}
	if (t.R)
		xd_residual_forward(t.R, t.r, h0, t.res_pre, t.res_T, n, d, model->ws->wt);
	xd_tower_layers(model, &t, n, false, NULL);
}

void
xd_cluster_gated_forward(xd_model *model, bool user, const int32_t *ids, int n,
						 const float *gate, int gate_stride)
{
	xd_tower	t;

	xd_tower_get(model, user, &t);
	xd_cluster_rows_forward(model, user, t.E->w, ids, n, gate, gate_stride);
}

void
xd_cluster_embedded_forward(xd_model *model, const float *E, int n, const float *gate,
							int gate_stride)
{
	xd_cluster_rows_forward(model, false, E, NULL, n, gate, gate_stride);
}

static void
xd_tower_backward(xd_model *model, xd_tower *t, int n)
{
	xd_workspace *ws = model->ws;
	int			m = model->cfg.m;
	int			d = model->cfg.d;
	int			L = model->cfg.n_tower_layers;
	const float *cstar = ws->x[model->cfg.n_ctx_layers];
	float	   *dh = t->d_top;
	float	   *dnext = ws->d_ha;
	float	   *spare = ws->d_hb;
	bool		frozen = model->freeze_shared;

	for (int l = L - 1; l >= 0; l--)
	{
		const float *hl = t->h[l + 1];
		const float *mk = (ws->dropped && l < L - 1) ? t->mask[l] : NULL;
		float	   *gb = t->b[l]->g;

		/*
		 * eq. 8/9 backward: dz = dh . mask . [h > 0] (the stored h is after
		 * the mask, and a kept unit is > 0 exactly when its z is);
		 * db += dz; dW += dz^T h^(l-1); dh^(l-1) = W^T dz
		 */
		size_t		nd = (size_t) n * d;

		/* the top layer's came with d_top (rank.c: no dropout there) */
		if (l < L - 1)
			xd_relu_grad(dh, hl, mk, nd);
		/* frozen shared modules take no gradient, only pass it down */
		if (!frozen)
		{
			/* db += dz^T 1 */
			cblas_sgemv(CblasRowMajor, CblasTrans, n, d, 1.0f, dh, d,
						ws->ones, 1, 1.0f, gb, 1);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n,
						1.0f, dh, d, t->h[l], d, 1.0f, t->W[l]->g, d);
		}
		xd_sgemm_rows_nn(n, d, d, dh, t->W[l]->w, 0.0f, dnext);
		/* dh now free: keep the two scratch buffers apart from d_top */
		dh = dnext;
		dnext = (dnext == ws->d_ha) ? spare : ws->d_ha;
	}

	/*
	 * dh is dL/de~' (after any DRR residual): add the extra loss terms'
	 * gradient (eq. 22's KL with DRR), then back through the residual to e~
	 */
	if (ws->n_ext > 0)
		xd_add_inplace(dh, t->ext, (size_t) ws->n_ext * d);
	if (t->R)
	{
		xd_residual_backward(t->R, t->r, dh, t->res_pre, t->res_T, ws->res_dz,
							 n, d, true);
	}

	/*
	 * eq. 6/7 backward: e~ = e . g, g = sigma(W_C c*):
	 * de = de~ . g (sparse rows of E); dz = de~ . e . g (1 - g);
	 * dW_C += dz^T c*; dc* += W_C^T dz
	 */
	{
		float	   *dz = ws->d_g;
		xd_param   *E = t->E;

		for (int r = 0; r < n; r++)
		{
			size_t		o = (size_t) r * d;
			int32_t		id = t->ids[r];
			float	   *gE = E->g + (size_t) id * d;
			const float *e = E->w + (size_t) id * d;	/* unchanged since forward */

			if (r + XD_PREFETCH_ROWS < n)
			{
				size_t		ahead = (size_t) t->ids[r + XD_PREFETCH_ROWS] * d;

				xd_prefetch_row(E->w + ahead, d);
				xd_prefetch_row(E->g + ahead, d);
			}
			xd_param_touch(E, id);
			xd_gate_backward(dh + o, e, t->gate + o, gE, dz + o, d);
		}
		if (!frozen)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, m, n,
						1.0f, dz, d, cstar, m, 1.0f, t->Wc->g, m);
		/* dc* matters to M1's weights or, frozen, to a residual on x^1 */
		if (!frozen || (model->adapt && model->adapt->has_ctx))
			xd_sgemm_rows_nn(n, m, d, dz, t->Wc->w, 1.0f, ws->d_cstar);
	}
}

void
xd_cluster_backward(xd_model *model, int n)
{
	xd_tower	tu,
				tv;

	xd_tower_get(model, true, &tu);
	xd_tower_get(model, false, &tv);
	xd_tower_backward(model, &tu, n);
	xd_tower_backward(model, &tv, n);
}
