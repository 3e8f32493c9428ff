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
	st = xd_model_forward(model, b->users, b->items, b->c, b->hist, b->n, train_mode, rng);
	if (st != XD_OK)
		return st;
	inv = 1.0f / (float) P;

	if (model->cfg.feedback == XD_IMPLICIT)
	{
		/*
		 * eq. 11, 13, 14 (DESIGN.md section 3): per positive
		 * L = (1 - s^(u,c,v))^2 + s^(u,c,v-)^2 + s^(u,c-,v)^2 - beta s_c(c),
		 * each row's term times its weight (batch.h; the curriculum term
		 * the positive's)
		 */
		for (int i = 0; i < P; i++)
		{
			float		sp = ws->score[i];
			float		sv = ws->score[P + i];
			float		sc = ws->score[2 * P + i];
			float		wp = b->weights[i];
			float		wv = b->weights[P + i];
			float		wc = b->weights[2 * P + i];

			sum += (double) wp * (1.0f - sp) * (1.0f - sp) + (double) wv * sv * sv +
				(double) wc * sc * sc - (double) (beta * wp) * ws->s_c[i];
			ws->d_score[i] = -2.0f * wp * (1.0f - sp) * inv;
			ws->d_score[P + i] = 2.0f * wv * sv * inv;
			ws->d_score[2 * P + i] = 2.0f * wc * sc * inv;
			ws->d_sc[i] = -(beta * wp) * inv;
			ws->d_sc[P + i] = 0.0f;
			ws->d_sc[2 * P + i] = 0.0f;
		}
	}
	else
	{
		/* eq. 16 with eq. 11: L = (r - r^)^2 - beta s_c(c), times the row's weight */
		for (int i = 0; i < P; i++)
		{
			float		e = b->ratings[i] - ws->score[i];
			float		w = b->weights[i];

			sum += (double) w * e * e - (double) (beta * w) * ws->s_c[i];
			ws->d_score[i] = -2.0f * w * e * inv;
			ws->d_sc[i] = -(beta * w) * inv;
		}
	}
	*loss = sum / P;
	if (!isfinite(*loss))
		return XD_ENUMERIC;
	return XD_OK;
}

/*
 * The model's loss plus its extra terms (xd_model_add_loss_term; DRR's
 * eq. 22 is one, DESIGN.md section 4), each on the module inputs of the
 * positives after their residuals; with grad, the terms' gradients w.r.t.
 * those inputs go to the workspace, where backward adds them.
 */
static xd_status
xd_loss_forward_terms(xd_model *model, const xd_batch *b, xd_rng *rng,
					  bool train_mode, bool grad, double *loss)
{
	xd_status	st = xd_loss_forward(model, b, rng, train_mode, loss);
	xd_workspace *ws = model->ws;
	xd_loss_inputs in;
	double		extra = 0.0;
	int			P = b->n_pos;

	ws->last_extra = 0.0;
	if (st != XD_OK || model->n_terms == 0)
		return st;
	in.n_pos = P;
	in.m = model->cfg.m;
	in.d = model->cfg.d;
	in.x1 = model->cfg.n_ctx_layers >= 1 ? ws->x[1] : NULL;
	in.eu = ws->h_u[0];
	in.ev = ws->h_v[0];
	in.d_x1 = in.d_eu = in.d_ev = NULL;
	if (grad)
	{
		in.d_x1 = in.x1 ? ws->ext_x1 : NULL;
		in.d_eu = ws->ext_u;
		in.d_ev = ws->ext_v;
		if (in.d_x1)
			memset(in.d_x1, 0, sizeof(float) * (size_t) P * in.m);
		memset(in.d_eu, 0, sizeof(float) * (size_t) P * in.d);
		memset(in.d_ev, 0, sizeof(float) * (size_t) P * in.d);
		ws->n_ext = P;
	}
	for (int t = 0; t < model->n_terms; t++)
	{
		double		v = 0.0;

		if ((st = model->terms[t].fn(model->terms[t].arg, b, &in, &v)) != XD_OK)
			return st;
		extra += v;
	}
	*loss += extra;
	ws->last_extra = extra;
	if (!isfinite(*loss))
		return XD_ENUMERIC;
	return XD_OK;
}

xd_status
xd_model_loss(xd_model *model, const xd_batch *b, xd_rng *rng,
			  bool train_mode, double *loss)
{
	return xd_loss_forward_terms(model, b, rng, train_mode, false, loss);
}

xd_status
xd_model_loss_backward(xd_model *model, const xd_batch *b, xd_rng *rng,
					   bool train_mode, double *loss)
{
	xd_status	st = xd_loss_forward_terms(model, b, rng, train_mode, true, loss);

	if (st != XD_OK)
		return st;
	xd_model_backward(model, b->n);
	return XD_OK;
}
