/*
 * dist_encoder.h - the distributional encoders E and poisoning models P of DRR
 * (DESIGN.md section 4, paper section 5.3.2, eq. 20-22).
 *
 * One encoder per module input x in {x^1 of M1, e~_u, e~_v}:
 *   E(x):  h = ReLU(W1 x + b1) (hidden 64), mu = Wm h + bm, log s^2 = Wl h + bl
 *          (latent 16);  KL(x) = 1/2 sum (mu^2 + s^2 - log s^2 - 1), closed form.
 *   P(x):  g = ReLU(W1 x + b1) (hidden 64), P(x) = W2 g + b2 (x's width).
 * Trained on the source after the source model, alternating per batch:
 *   E minimises  KL(x) - min(KL(x + P(x)), kappa)           (eq. 20, kappa = 10)
 *   P minimises  KL(x + P(x)) - log(||P(x)|| + 1e-6)         (eq. 21)
 * (DESIGN.md adds kappa, which the paper does not have, to keep E's loss
 * bounded.) Only the encoders are kept; the poisoning models are discarded.
 * The encoders are shared modules: frozen in every target, never written by
 * the transfer code (the KL of eq. 22 only reads them).
 *
 * Parameters are xd_param tensors named "enc.C.W1", "enc.U.bm", ... so the
 * PostgreSQL layer can store them as blobs like the model's.
 */
#ifndef XDREC_DIST_ENCODER_H
#define XDREC_DIST_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

#define XD_ENC_HIDDEN 64
#define XD_ENC_LATENT 16
#define XD_ENC_KAPPA 10.0f
/* log s^2 is clamped to this range before exp (no gradient beyond it) */
#define XD_ENC_LOGVAR_MAX 30.0f

typedef struct xd_dist_encoder
{
	int			in;				/* width of x */
	int			hidden;
	int			latent;
	xd_param   *W1;				/* hidden x in */
	xd_param   *b1;				/* 1 x hidden */
	xd_param   *Wm;				/* latent x hidden: mu */
	xd_param   *bm;				/* 1 x latent */
	xd_param   *Wl;				/* latent x hidden: log s^2 */
	xd_param   *bl;				/* 1 x latent */
	xd_param   *params;			/* [n_params] */
	int			n_params;
} xd_dist_encoder;

typedef struct xd_poison
{
	int			in;
	int			hidden;
	xd_param   *W1;				/* hidden x in */
	xd_param   *b1;				/* 1 x hidden */
	xd_param   *W2;				/* in x hidden */
	xd_param   *b2;				/* 1 x in */
	xd_param   *params;
	int			n_params;
} xd_poison;

typedef enum xd_enc_input
{
	XD_ENC_C = 0,				/* x^1 of M1, width m */
	XD_ENC_U = 1,				/* e~_u, width d */
	XD_ENC_V = 2,				/* e~_v, width d */
	XD_N_ENC = 3
} xd_enc_input;

/* The three encoders of a source model; e[XD_ENC_C] is NULL when L_C = 0. */
typedef struct xd_dist_encoders
{
	xd_dist_encoder *e[XD_N_ENC];
} xd_dist_encoders;

/*
 * One encoder / poisoning model: allocate (zeroed; prefix names the tensors,
 * e.g. "enc.C"), initialise (Xavier-uniform weights, zero biases; P's output
 * layer scaled by 0.1 so poisoned samples start near the data). Free accepts
 * NULL.
 */
xd_status	xd_dist_encoder_new(int in, int hidden, int latent, const char *prefix,
								xd_dist_encoder **out);
void		xd_dist_encoder_init(xd_dist_encoder *e, xd_rng *rng);
void		xd_dist_encoder_free(xd_dist_encoder *e);
xd_status	xd_poison_new(int in, int hidden, const char *prefix, xd_poison **out);
void		xd_poison_init(xd_poison *p, xd_rng *rng);
void		xd_poison_free(xd_poison *p);

/* Allocates the three encoders for a model config (uninitialised). */
xd_status	xd_dist_encoders_new(const xd_config *cfg, int hidden, int latent,
							xd_dist_encoders **out);
void		xd_dist_encoders_free(xd_dist_encoders *enc);

/* Floats of scratch xd_dist_kl needs for n rows. */
size_t		xd_dist_kl_buf_len(const xd_dist_encoder *e, int n);

/*
 * KL(E(x_r)) of n rows x [n * in]: *kl_sum = their sum, kl_rows[n] each one
 * (may be NULL). With dx != NULL adds scale * dKL/dx into dx [n * in]. E is
 * only read. buf: xd_dist_kl_buf_len floats.
 */
void		xd_dist_kl(const xd_dist_encoder *e, const float *x, int n,
					   double *kl_sum, float *kl_rows, float scale, float *dx,
					   float *buf);

/*
 * The losses of eq. 20 and eq. 21 averaged over n rows x [n * in]; with grad,
 * their gradients w.r.t. E's (resp. P's) parameters are added into the g of
 * those tensors (the other model is held fixed).
 */
xd_status	xd_dist_encoder_loss(xd_dist_encoder *e, const xd_poison *p, const float *x,
							int n, float kappa, bool grad, double *loss);
xd_status	xd_poison_loss(const xd_dist_encoder *e, xd_poison *p, const float *x,
						   int n, bool grad, double *loss);

/*
 * DRR's regulariser (eq. 22, DESIGN.md section 4) on a model with residuals
 * attached (xd_model_set_adapt): records enc (borrowed) and lambda_kl in its
 * xd_adapt and, when both are set, registers the KL of the module inputs
 * after their residuals as an extra loss term (xd_model_add_loss_term).
 * Setting the adapt's lambda_kl to 0 afterwards turns the term off.
 */
xd_status	xd_adapt_add_kl(xd_model *model, const struct xd_dist_encoders *enc,
							float lambda_kl);

/* each encoder's alternating epochs by default (xdrec.jobs' epochs_max counts them) */
#define XD_ENC_EPOCHS 5

typedef struct xd_dist_encoder_opts
{
	int			epochs;			/* XD_ENC_EPOCHS alternating epochs per encoder */
	int			batch_size;		/* 256 */
	float		lr;				/* Adam 1e-3 for E and P */
	float		kappa;			/* 10 */
	int			hidden;			/* 64 */
	int			latent;			/* 16 */
	int64_t		max_rows;		/* source training positives used (20,000) */
	uint64_t	seed;
	xd_hooks	hooks;			/* stop polled once per batch; progress after
								 * every epoch of every encoder, numbered
								 * 1.. across them (C's, then U's, then V's),
								 * with E's mean loss of eq. 20 and no metric */
} xd_dist_encoder_opts;

void		xd_dist_encoder_opts_default(xd_dist_encoder_opts *o);

/* What training measured, per input (C, U, V), on the last epoch. */
typedef struct xd_dist_encoder_report
{
	int64_t		n_rows;
	double		kl_clean[XD_N_ENC];		/* mean KL of source inputs */
	double		kl_poisoned[XD_N_ENC];	/* mean KL of x + P(x) */
	double		poison_norm[XD_N_ENC];	/* mean ||P(x)|| */
	double		seconds;
} xd_dist_encoder_report;

/*
 * Trains the three encoders on the module inputs that the trained source
 * model (its own domain) produces on up to max_rows training positives of
 * src (DESIGN.md section 4). The model is only read (its workspace is used).
 * rep may be NULL.
 */
xd_status	xd_dist_encoders_train(xd_model *source, const xd_dataset *src,
							  const xd_dist_encoder_opts *o, xd_dist_encoders **out,
							  xd_dist_encoder_report *rep);

#endif
