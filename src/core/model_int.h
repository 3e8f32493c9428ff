/*
 * model_int.h - what the model's source files (model.c, context.c, cluster.c,
 * rank.c, loss.c, optim.c) share and nobody else needs: the workspace of
 * activations kept from forward for backward, and the per-module passes.
 */
#ifndef XDREC_MODEL_INT_H
#define XDREC_MODEL_INT_H

#include "xdrec/core.h"

struct xd_workspace
{
	int			cap;			/* rows one pass can take */
	int			n;				/* rows of the last forward pass */
	const int32_t *users;		/* the last forward's inputs (borrowed) */
	const int32_t *items;
	const float *c;				/* [n * m] encoded context, before eq. 4-5 */
	/* M1 and the multimodal residual */
	float	   *mm_T;			/* [cap * m] tanh(W c + b) of eq. 4-5 */
	float	  **x;				/* [L_C + 1][cap * m]: x^0 = c after eq. 4-5, x^L = c* */
	float	  **a;				/* [L_C][cap * m] MMT: sigma(W x + b . x) */
	/* M3 */
	float	   *g_u;			/* [cap * d] sigma(W_CU c*) (eq. 6) */
	float	   *g_v;
	float	   *e_u;			/* [cap * d] gathered e_u */
	float	   *e_v;
	float	  **h_u;			/* [L_U + 1][cap * d], h^0 = e~ */
	float	  **h_v;
	float	  **mask_u;			/* [L_U][cap * d] inverted-dropout masks; NULL when off */
	float	  **mask_v;
	bool		dropped;		/* the last forward applied dropout */
	/* M4 */
	float	   *s_c;			/* [cap] context bias (eq. 10) */
	float	   *score;			/* [cap] */
	/* backward scratch */
	float	   *d_score;		/* [cap] dL/dscore */
	float	   *d_sc;			/* [cap] dL/ds_c */
	float	   *d_cstar;		/* [cap * m] */
	float	   *d_x0;			/* [cap * m] */
	float	   *d_xa;			/* [cap * m] */
	float	   *d_xb;			/* [cap * m] */
	float	   *d_top_u;		/* [cap * d] dL/dh_u^L, from M4 */
	float	   *d_top_v;		/* [cap * d] dL/dh_v^L */
	float	   *d_ha;			/* [cap * d] */
	float	   *d_hb;			/* [cap * d] */
	float	   *d_g;			/* [cap * d] */
};

/* model.c */
xd_status	xd_workspace_new(const xd_config *cfg, int cap, xd_workspace **out);
void		xd_workspace_free(xd_workspace *ws, const xd_config *cfg);

/* sparse gradient bookkeeping: mark row as touched */
static inline void
xd_param_touch(xd_param *p, int32_t row)
{
	if (!p->row_mark[row])
	{
		p->row_mark[row] = 1;
		p->touched[p->n_touched++] = row;
	}
}

static inline float
xd_sigmoidf(float z)
{
	return 1.0f / (1.0f + expf(-z));
}

/* context.c: eq. 4-5 and eq. 1-3 over ws->c, leaves c* in ws->x[L_C] */
void		xd_context_forward(xd_model *model, int n);
/* from dL/dc* in ws->d_cstar (clobbered) into the gradients of M1 and eq. 4-5 */
void		xd_context_backward(xd_model *model, int n);

/* cluster.c: eq. 6-9 from c*, leaves h_u^L, h_v^L */
xd_status	xd_cluster_forward(xd_model *model, int n, bool train_mode, xd_rng *rng);
/* from ws->d_top_u, d_top_v into M3 and E_u, E_v; adds dL/dc* into ws->d_cstar */
void		xd_cluster_backward(xd_model *model, int n);

/* rank.c: the whole forward pass over n rows, scores into ws->score */
xd_status	xd_model_forward(xd_model *model, const int32_t *users, const int32_t *items,
							 const float *c, int n, bool train_mode, xd_rng *rng);
/* the whole backward pass from ws->d_score and ws->d_sc */
void		xd_model_backward(xd_model *model, int n);

#endif
