/*
 * loss.c - the training losses of MMT-Net (eq. 11, 13, 14, 16) over a batch
 * laid out as batch.h describes, and their gradients (DESIGN.md section 3).
 */
#include <math.h>

#include "model_int.h"

/*
 * Forward over the batch, the loss averaged over the positives, and dL/dscore,
 * dL/ds_c (the curriculum term) per row in the workspace.
 */
static xd_status
xd_loss_forward(xd_model *model, const xd_batch *b, xd_rng *rng,
				bool train_mode, double *loss)
{
	xd_workspace *ws = model->ws;
	int			P = b->n_pos;
	float		beta = model->cfg.beta;
	double		sum = 0.0;
	xd_status	st;
	float		inv;

	*loss = 0.0;
	if (b->m != model->cfg.m || P < 1)
		return XD_EINVAL;
	if (model->cfg.feedback == XD_IMPLICIT ? b->n != 3 * P : b->n != P)
		return XD_EINVAL;
	st = xd_model_forward(model, b->users, b->items, b->c, b->n, train_mode, rng);
	if (st != XD_OK)
		return st;
	inv = 1.0f / (float) P;

	if (model->cfg.feedback == XD_IMPLICIT)
	{
		/*
		 * eq. 11, 13, 14 (DESIGN.md section 3): per positive
		 * L = (1 - s^(u,c,v))^2 + s^(u,c,v-)^2 + s^(u,c-,v)^2 - beta s_c(c)
		 */
		for (int i = 0; i < P; i++)
		{
			float		sp = ws->score[i];
			float		sv = ws->score[P + i];
			float		sc = ws->score[2 * P + i];

			sum += (double) (1.0f - sp) * (1.0f - sp) + (double) sv * sv +
				(double) sc * sc - (double) beta * ws->s_c[i];
			ws->d_score[i] = -2.0f * (1.0f - sp) * inv;
			ws->d_score[P + i] = 2.0f * sv * inv;
			ws->d_score[2 * P + i] = 2.0f * sc * inv;
			ws->d_sc[i] = -beta * inv;
			ws->d_sc[P + i] = 0.0f;
			ws->d_sc[2 * P + i] = 0.0f;
		}
	}
	else
	{
		/* eq. 16 with eq. 11: L = (r - r^)^2 - beta s_c(c) */
		for (int i = 0; i < P; i++)
		{
			float		e = b->ratings[i] - ws->score[i];

			sum += (double) e * e - (double) beta * ws->s_c[i];
			ws->d_score[i] = -2.0f * e * inv;
			ws->d_sc[i] = -beta * inv;
		}
	}
	*loss = sum / P;
	if (!isfinite(*loss))
		return XD_ENUMERIC;
	return XD_OK;
}

/*
 * DRR's regularised loss (eq. 22, DESIGN.md section 4): when the model's
 * residuals carry encoders, L_reg = L + lambda_KL (KL_C + KL_U + KL_V) of the
 * module inputs after their residuals, averaged over the positives (the
 * encoders learned the source's positives' inputs); with grad, the terms'
 * gradients w.r.t. those inputs go to the workspace for backward.
 */
static xd_status
xd_loss_forward_reg(xd_model *model, const xd_batch *b, xd_rng *rng,
					bool train_mode, bool grad, double *loss)
{
	xd_status	st = xd_loss_forward(model, b, rng, train_mode, loss);
	double		kl = 0.0;

	model->ws->last_kl = 0.0;
	if (st != XD_OK)
		return st;
	if (!model->adapt || !model->adapt->enc || model->adapt->lambda_kl == 0.0f)
		return XD_OK;
	if ((st = xd_adapt_kl(model, b->n_pos, grad, &kl)) != XD_OK)
		return st;
	*loss += kl;
	model->ws->last_kl = kl;
	if (!isfinite(*loss))
		return XD_ENUMERIC;
	return XD_OK;
}

xd_status
xd_model_loss(xd_model *model, const xd_batch *b, xd_rng *rng,
			  bool train_mode, double *loss)
{
	return xd_loss_forward_reg(model, b, rng, train_mode, false, loss);
}

xd_status
xd_model_loss_backward(xd_model *model, const xd_batch *b, xd_rng *rng,
					   bool train_mode, double *loss)
{
	xd_status	st = xd_loss_forward_reg(model, b, rng, train_mode, true, loss);

	if (st != XD_OK)
		return st;
	xd_model_backward(model, b->n);
	return XD_OK;
}
