/*
 * model_int.h - what the model's source files (model.c, context.c, cluster.c,
 * rank.c, loss.c, optim.c) share and nobody else needs: the workspace of
 * activations kept from forward for backward, and the per-module passes.
 */
#ifndef XDREC_MODEL_INT_H
#define XDREC_MODEL_INT_H

#include <math.h>
#include <string.h>

#include "xdrec/activation.h"
#include "xdrec/core.h"

/* floats of the workspace's transposed weights (xd_sgemm_rows_nt, below) */
#define XD_SGEMM_WT_FLOATS (64 * 256)

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
	float	   *ones;			/* [cap] all 1, to sum rows with sgemv */
	float	  **h_u;			/* [L_U + 1][cap * d], h^0 = e~ */
	float	  **h_v;
	float	  **mask_u;			/* [L_U][cap * d] inverted-dropout masks; NULL when off */
	float	  **mask_v;
	bool		dropped;		/* the last forward applied dropout */
	/* M4 */
	float	   *s_c;			/* [cap] context bias (eq. 10) */
	const float *hist;			/* the last forward's g(h_ui) (borrowed); NULL = 0 */
	float	   *rep_r;			/* [cap] the repeat term's r(c) (core.h) */
	float	   *score;			/* [cap] */
	/* backward scratch */
	float	   *d_score;		/* [cap] dL/dscore */
	float	   *d_sc;			/* [cap] dL/ds_c */
	float	   *d_cstar;		/* [cap * m] */
	float	   *d_x0;			/* [cap * m] */
	float	   *d_xa;			/* [cap * m] */
	float	   *d_xb;			/* [cap * m] */
	float	   *d_top_u;		/* [cap * d] dL/dh_u^L from M4, through the top
								 * layer's ReLU (its dz) when L_U >= 1 */
	float	   *d_top_v;		/* [cap * d] the same for h_v^L */
	float	   *d_ha;			/* [cap * d] */
	float	   *d_hb;			/* [cap * d] */
	float	   *d_g;			/* [cap * d] */
	/* DRR residuals (DESIGN.md section 4); NULL until xd_model_set_adapt */
	float	   *res_x1;			/* [cap * m] x^1 before its residual */
	float	   *res_TC;			/* [cap * m] tanh(R_C x^1 + r_C) */
	float	   *res_eu;			/* [cap * d] e~_u before its residual */
	float	   *res_TU;			/* [cap * d] */
	float	   *res_ev;			/* [cap * d] */
	float	   *res_TV;			/* [cap * d] */
	float	   *res_dz;			/* [cap * max(m, d)] backward scratch */
	/*
	 * The extra loss terms' dL/dx of the module inputs (xd_loss_inputs) on
	 * rows [0, n_ext), added in backward; NULL until xd_model_add_loss_term
	 */
	int			n_ext;
	double		last_extra;		/* the extra terms in the last loss (0 without) */
	float	   *ext_x1;			/* [cap * m] */
	float	   *ext_u;			/* [cap * d] */
	float	   *ext_v;			/* [cap * d] */
	/* train.c's validation cache while it validates a frozen model; else NULL */
	struct xd_valcache *vc;
	/* optim.c's bias corrections of Adam by step count (xd_adam_table) */
	struct xd_adam_table *adam;
	/* a weight matrix transposed for xd_sgemm_rows_nt (64 kB, not per row) */
	float		wt[XD_SGEMM_WT_FLOATS];

	/*
	 * Rows [0, pre_rows) of the next context forward come with their x^0
	 * and x^1 (eq. 4-5 and eq. 1-3, l = 1, before DRR's residual) already
	 * in x[0] and x[1], put there by a caller that keeps them for frozen
	 * modules (fewshot.c, the support's positives of one adaptation): the
	 * forward computes eq. 4-5 and layer 1 on the other rows only, and
	 * resets it to 0. Honoured only while the shared modules are frozen.
	 */
	int			pre_rows;
};

/*
 * The validation cache of one xd_train call (docs/training.md, Speed). Every
 * validation of a fit scores the same rows in the same batches, and with the
 * shared modules frozen a row's x^0 (eq. 4-5) and x^1 (eq. 1-3, l = 1, before
 * DRR's residual) depend on its c alone: the first validation stores them
 * row after row, the later ones read them back in the same order. The rows'
 * c is stored too and compared on every read, so a row out of step turns the
 * cache off rather than serving another row's values.
 */
typedef struct xd_valcache
{
	float	   *x0;				/* [cap_rows * m] */
	float	   *x1;				/* [cap_rows * m] */
	float	   *c;				/* [cap_rows * m]: the rows they were made from */
	int64_t		cap_rows;		/* rows allocated */
	int64_t		n_rows;			/* rows the first validation scored */
	int64_t		pos;			/* next row of the running validation */
	bool		ready;			/* filled: validations read it */
	bool		off;			/* over the bound or out of step: unused */
} xd_valcache;

/* At most 2,000 positives of 101 rows: 3 x 202,000 x m floats. */
#define XD_VALCACHE_MAX_ROWS ((int64_t) 2000 * 101)

/*
 * context.c: attach vc to the model for one validation (only when its shared
 * modules are frozen and M1 has a layer); detach it after, complete when
 * the validation scored all its rows; release frees it and detaches it.
 */
void		xd_valcache_begin(xd_valcache *vc, xd_model *model);
void		xd_valcache_end(xd_valcache *vc, xd_model *model, bool complete);
void		xd_valcache_release(xd_valcache *vc, xd_model *model);

/* model.c: one tensor's arrays, zeroed; release frees them */
xd_status	xd_param_alloc(xd_param *p, const char *name, int rows, int cols,
						   xd_group group, bool sparse);
void		xd_param_release(xd_param *p);
/* model.c: p's gradient to zero (sparse: its touched rows, then none touched) */
void		xd_param_zero_grad(xd_param *p);

/* One dense tensor of a small module: its name after the module's prefix, its shape. */
typedef struct xd_param_spec
{
	const char *name;
	int			rows;
	int			cols;
} xd_param_spec;

/*
 * A module's n dense tensors in group, zeroed, named "<prefix>.<name>" from
 * specs, in one array *out (xd_params_free(*out, n)); nothing stays
 * allocated on failure.
 */
xd_status	xd_params_new(const char *prefix, const xd_param_spec *specs, int n,
						  xd_group group, xd_param **out);

/* Releases params[0..n) and frees the array itself; accepts NULL. */
void		xd_params_free(xd_param *params, int n);

/*
 * params[0..n) back to their state after xd_param_alloc: values, gradients,
 * Adam's moments and step counts zero (DESIGN.md section 3: biases start at
 * 0; the caller then fills the weights).
 */
void		xd_params_zero(xd_param *params, int n);

/* Xavier-uniform fill of p: U(-a, a), a = gain * sqrt(6 / (rows + cols)). */
void		xd_param_xavier(xd_param *p, float gain, xd_rng *rng);

/* optim.c: one Adam step of a dense tensor with its own step counter */
bool		xd_param_adam(xd_param *p, float lr, float b1, float b2, float eps);

/* optim.c: frees a workspace's table of Adam's bias corrections; accepts NULL */
struct xd_adam_table;
void		xd_adam_table_free(struct xd_adam_table *tb);

/*
 * context.c: the DRR residual x <- x + tanh(R x + r) over n rows of width w
 * (eq. 19): keeps x before it in pre and the tanh in T; R x through
 * xd_sgemm_rows_nt with wt its scratch (the workspace's). Backward adds into
 * R->g, r->g and, with want_dx, turns dx (w.r.t. the output) into the
 * gradient w.r.t. the input, in place (else dx is left as it was: nothing
 * below learns); dz is scratch [n * w].
 */
void		xd_residual_forward(const xd_param *R, const xd_param *r, float *x,
								float *pre, float *T, int n, int w, float *wt);
void		xd_residual_backward(xd_param *R, xd_param *r, float *dx,
								 const float *pre, const float *T, float *dz,
								 int n, int w, bool want_dx);

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

/*
 * 4-wide generic vectors (gcc and clang, SSE2 on x86-64). The ReLU loops, on
 * the widest vectors the CPU has, are in activation.h (xd_relu_bias_rows,
 * xd_relu_grad): at -O2 gcc compiles "z > 0 ? z : 0" to a branch that
 * mispredicts half the time on activations; they use a compare mask instead.
 */
typedef float xd_v4f __attribute__((vector_size(16)));
typedef int32_t xd_v4i __attribute__((vector_size(16)));

/* a vector with c in every lane */
#define XD_V4(c) ((xd_v4f) {(c), (c), (c), (c)})

static inline xd_v4f
xd_v4_load(const float *p)
{
	xd_v4f		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
xd_v4_store(float *p, xd_v4f v)
{
	memcpy(p, &v, sizeof(v));
}

/* y[i] += x[i] for i < n, four lanes at a time */
static inline void
xd_add_inplace(float *y, const float *x, size_t n)
{
	size_t		i = 0;

	for (; i + 4 <= n; i += 4)
		xd_v4_store(y + i, xd_v4_load(y + i) + xd_v4_load(x + i));
	for (; i < n; i++)
		y[i] += x[i];
}

/* Prefetch the cache lines of an embedding row some rows ahead of its use. */
#define XD_PREFETCH_ROWS 8

static inline void
xd_prefetch_row(const float *p, int w)
{
	for (int k = 0; k < w; k += 16)
		__builtin_prefetch(p + k);
}

/*
 * model.c: C = A B + beta C in row-major, A n x k, B k x nc, C n x nc (the
 * backward passes' dL/dinput = dz W), as one cblas_sgemm, but in blocks of
 * XD_SGEMM_ROW_BLOCK rows where the columns are a multiple of 16 up to 64
 * and k <= 256: there OpenBLAS's SkylakeX build takes its small-matrix path
 * for a block (no packing, no zeroing of C), about 1.25x faster at the
 * towers' 768 x 64 x 64, with every float the same as the one call (each
 * element is one dot product over k in either path; checked in those shapes
 * against the one call for 193-1,600 rows under the SkylakeX, Haswell and
 * Sandybridge kernels; other widths, e.g. 40 or 65 columns, or k = 500,
 * differed under SkylakeX, so they stay one call)
 */
#define XD_SGEMM_ROW_BLOCK 192
void		xd_sgemm_rows_nn(int n, int nc, int k, const float *A, const float *B,
							 float beta, float *C);

/*
 * model.c: C = A B^T in row-major, A n x k, B nc x k, C n x nc (the forward
 * passes' x W^T), as one cblas_sgemm; or, when n > XD_SGEMM_ROW_BLOCK and
 * the widths are as above, B transposed into wt (XD_SGEMM_WT_FLOATS) and
 * xd_sgemm_rows_nn: the same floats (checked against the one call for every
 * n of 193-800 and more up to 2,100, k of 1-256, nc 16-64, under the
 * SkylakeX, Haswell and Sandybridge kernels), and at the towers' 768 x 64 x
 * 64 about 1.25x faster, 1.5x at 768 x 32 x 32. Below 193 rows the one call
 * stays: there NN and NT took different paths in OpenBLAS and differed.
 */
void		xd_sgemm_rows_nt(int n, int nc, int k, const float *A, const float *B,
							 float *C, float *wt);

/* context.c: eq. 4-5 and eq. 1-3 over ws->c, leaves c* in ws->x[L_C] */
void		xd_context_forward(xd_model *model, int n);
/* from dL/dc* in ws->d_cstar (clobbered) into the gradients of M1 and eq. 4-5 */
void		xd_context_backward(xd_model *model, int n);

/*
 * serve.c: from c* of the last context forward over n rows, s_c (eq. 10),
 * the user gates sigma(W_CU c*) into g_u [n * d] and the item gates into the
 * workspace's g_v, as xd_model_forward computes them (serving, cold.c)
 */
void		xd_context_heads(xd_model *model, int n, float *s_c, float *g_u);

/* cluster.c: eq. 6-9 from c*, leaves h_u^L, h_v^L */
xd_status	xd_cluster_forward(xd_model *model, int n, bool train_mode, xd_rng *rng);
/*
 * eq. 6-9 of one side (user or item) in inference for n rows: row r's id
 * ids[r], its c* row r of ws->x[L_C]; leaves its gates and h^L in the
 * workspace (ws->h_u or ws->h_v). The ranking's shared scoring (rank.c)
 * runs the user side on fewer rows than the item side.
 */
void		xd_cluster_side_forward(xd_model *model, bool user, const int32_t *ids, int n);
/*
 * eq. 6-9 in inference for n rows of one side (user or item) whose gates
 * sigma(W_C c*) are given: row r uses gate + r * gate_stride (0: one gate for
 * all rows). n <= cap; leaves h^L in ws->h_u or ws->h_v.
 */
void		xd_cluster_gated_forward(xd_model *model, bool user, const int32_t *ids,
									 int n, const float *gate, int gate_stride);
/* ... the item side of n rows whose embeddings are given: E[n * d] (new items) */
void		xd_cluster_embedded_forward(xd_model *model, const float *E, int n,
										const float *gate, int gate_stride);
/*
 * from ws->d_top_u, d_top_v (the top layer's dz when L_U >= 1, rank.c) into
 * M3 and E_u, E_v; adds dL/dc* into ws->d_cstar
 */
void		xd_cluster_backward(xd_model *model, int n);

/*
 * rank.c: the inference forward pass (no dropout) over any number of rows
 * of b, in chunks of the workspace's rows; after each chunk of k rows from
 * row start, take copies out of the workspace what its caller wants
 * (xd_model_score: the scores; xd_model_module_inputs: DRR's inputs)
 */
typedef void (*xd_chunk_fn) (void *arg, const xd_model *model, int start, int k);
xd_status	xd_model_forward_chunks(xd_model *model, const xd_batch *b, xd_chunk_fn take,
									void *arg);

/*
 * rank.c: the whole forward pass over n rows, scores into ws->score; hist
 * [n] the rows' g(h_ui) of the repeat term, or NULL (none)
 */
xd_status	xd_model_forward(xd_model *model, const int32_t *users, const int32_t *items,
							 const float *c, const float *hist, int n, bool train_mode,
							 xd_rng *rng);
/* the whole backward pass from ws->d_score and ws->d_sc */
void		xd_model_backward(xd_model *model, int n);

#endif
