/*
 * fewshot_train.c - meta-training the s²Meta learner (fewshot.h;
 * seeds/s2meta-kdd19.txt Algorithm 1 lines 16-22, eq. 10-11) on
 * pseudo-domains cut from the source, and the few-shot protocol's cut of a
 * domain into a support and a query.
 *
 * Per episode: a pseudo-domain, a support of N and a query, the inner loop
 * with sampled stops, traced; then
 *   omega_R, update LSTMs: the query loss at theta^T back through
 *     theta^t = beta theta^(t-1) - alpha u, u = clamp(g / rms g), alpha and
 *     beta one per tensor: d theta^(t-1) = beta d theta^t, d alpha = -sum
 *     d theta^t . u, d beta = sum d theta^t . theta^(t-1), into the heads and
 *     the cells through time; the
 *     gradients g and the cells' inputs held constant (first order, [4]);
 *   stop LSTM: REINFORCE, each continue decision j weighted by what the
 *     steps after it gained on the query less their cost, Q =
 *     L(theta^(j-1)) - L(theta^T) - XD_FS_STEP_COST (T - j + 1) (eq. 10 and a
 *     price per update), ascending Q ln(1 - p^j) (Algorithm 1 line 20).
 * Adam after every episodes_per_step episodes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meta/fewshot_int.h"
#include "mmt/model_int.h"
#include "xdrec/clock.h"
#include "xdrec/sample.h"

void
xd_fewshot_opts_default(xd_fewshot_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->episodes = 400;
	o->episodes_per_step = 4;
	o->min_support = 16;
	o->max_support = 256;
	o->max_query = XD_FS_BATCH;
	o->lr = 1e-3f;
	o->lr_stop = 1e-3f;
	o->seed = 1;
}

/* Appends row r of src to dst as (user, item) */
static xd_status
append_row(xd_dataset *dst, const xd_dataset *src, int64_t r, int32_t user, int32_t item)
{
	const xd_schema *s = &src->enc.schema;

	return xd_dataset_append(dst, user, item, src->ratings ? src->ratings[r] : 0.0f,
							 src->num + r * s->n_num, src->codes + r * s->n_codes);
}

xd_status
xd_fewshot_support_of(const xd_dataset *T, int64_t n, uint64_t seed, xd_dataset **out)
{
	xd_rng		rng;
	int64_t    *order;
	int64_t		n_train = (n * 8 + 9) / 10;
	xd_status	st;

	*out = NULL;
	if (n < 2 || T->n_rows < n + 1)
		return XD_ENODATA;
	order = malloc(sizeof(int64_t) * T->n_rows);
	if (!order)
		return XD_ENOMEM;
	for (int64_t r = 0; r < T->n_rows; r++)
		order[r] = r;
	xd_rng_seed(&rng, seed);
	xd_shuffle_rows(order, T->n_rows, &rng);
	st = xd_dataset_create(&T->enc.schema, T->n_users, T->n_items, T->has_ratings, 0, out);
	for (int64_t i = 0; st == XD_OK && i < T->n_rows; i++)
		st = append_row(*out, T, order[i], T->users[order[i]], T->items[order[i]]);
	free(order);
	if (st == XD_OK)
	{
		xd_dataset_split_by_order(*out, n_train, n);
		st = xd_dataset_finalize(*out, seed);
	}
	if (st != XD_OK)
	{
		xd_dataset_free(*out);
		*out = NULL;
	}
	return st;
}

xd_status
xd_fewshot_pseudo_domain(const xd_dataset *src, int64_t rows, xd_rng *rng, uint64_t seed,
						 xd_dataset **out)
{
	int32_t    *umap = malloc(sizeof(int32_t) * src->n_users);
	int32_t    *imap = malloc(sizeof(int32_t) * src->n_items);
	int32_t    *users = malloc(sizeof(int32_t) * src->n_users);
	int64_t    *off = calloc((size_t) src->n_users + 1, sizeof(int64_t));
	int64_t    *by_user = malloc(sizeof(int64_t) * (src->n_split[XD_SPLIT_TRAIN] + 1));
	int32_t		nu = 0,
				ni = 0;
	int64_t		have = 0;
	xd_status	st = XD_OK;

	*out = NULL;
	if (!umap || !imap || !users || !off || !by_user)
		st = XD_ENOMEM;
	else if (src->n_split[XD_SPLIT_TRAIN] < rows)
		st = XD_ENODATA;
	if (st == XD_OK)
	{
		/* the source's training rows grouped by user (CSR) */
		const int64_t *tr = src->split_rows[XD_SPLIT_TRAIN];

		for (int64_t i = 0; i < src->n_split[XD_SPLIT_TRAIN]; i++)
			off[src->users[tr[i]] + 1]++;
		for (int32_t u = 0; u < src->n_users; u++)
			off[u + 1] += off[u];
		for (int32_t u = 0; u < src->n_users; u++)
			users[u] = (int32_t) off[u];	/* fill cursor */
		for (int64_t i = 0; i < src->n_split[XD_SPLIT_TRAIN]; i++)
			by_user[users[src->users[tr[i]]]++] = tr[i];
		/* a seeded order of users, taken until their rows cover rows */
		for (int32_t u = 0; u < src->n_users; u++)
		{
			users[u] = u;
			umap[u] = -1;
		}
		for (int32_t i = 0; i < src->n_items; i++)
			imap[i] = -1;
		for (int32_t u = src->n_users - 1; u > 0; u--)
		{
			int32_t		j = (int32_t) xd_rng_below(rng, (uint32_t) u + 1),
						t = users[u];

			users[u] = users[j];
			users[j] = t;
		}
		for (int32_t k = 0; k < src->n_users && have < rows; k++)
			if (off[users[k] + 1] > off[users[k]])
			{
				umap[users[k]] = nu++;
				have += off[users[k] + 1] - off[users[k]];
			}
		for (int32_t k = 0; k < src->n_users; k++)
			if (umap[users[k]] >= 0)
				for (int64_t i = off[users[k]]; i < off[users[k] + 1]; i++)
					if (imap[src->items[by_user[i]]] < 0)
						imap[src->items[by_user[i]]] = ni++;
		st = xd_dataset_create(&src->enc.schema, nu, ni, src->has_ratings, 0, out);
		for (int32_t k = 0; st == XD_OK && k < src->n_users; k++)
			if (umap[users[k]] >= 0)
				for (int64_t i = off[users[k]]; st == XD_OK && i < off[users[k] + 1]; i++)
					st = append_row(*out, src, by_user[i], umap[users[k]],
									imap[src->items[by_user[i]]]);
		if (st == XD_OK)
			st = xd_dataset_finalize(*out, seed);
	}
	free(umap);
	free(imap);
	free(users);
	free(off);
	free(by_user);
	if (st != XD_OK)
	{
		xd_dataset_free(*out);
		*out = NULL;
	}
	return st;
}

xd_status
xd_fs_backward(xd_fewshot *fs, xd_fewshot_result *res, xd_fs_trace *tr, const xd_batch *q,
			 float scale)
{
	xd_model   *model = res->model;
	double		loss;
	xd_status	st;
	int			T = res->steps;
	float		scratch[5 * XD_FS_HIDDEN];
	float	   *dth = NULL;
	int64_t		nmax = 1;

	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		nmax = tr->n[s] > nmax ? tr->n[s] : nmax;
	if (!(dth = malloc(sizeof(float) * nmax)))
		return XD_ENOMEM;
	/* d L_query / d theta^T */
	xd_model_zero_grad(model);
	if ((st = xd_model_loss_backward(model, q, NULL, false, &loss)) != XD_OK)
		goto done;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		xd_param   *P;
		int64_t		n = tr->n[s];
		float		dh[XD_FS_HIDDEN] = {0},
					dc[XD_FS_HIDDEN] = {0};

		if (n == 0 || !(P = xd_fs_slot_param(res, s)))
			continue;
		for (int64_t k = 0; k < n; k++)
			dth[k] = scale * P->g[k];
		for (int t = T - 1; t >= 0 && fs->use_update; t--)
		{
			const float *th0 = tr->theta[s] + (size_t) t * n;
			const float *gc = tr->gcl[s] + (size_t) t * n;
			float		a = tr->ab[s][(size_t) t * 2],
						be = tr->ab[s][(size_t) t * 2 + 1];
			double		da = 0.0,
						db = 0.0;
			float		dout[2];

			/* one alpha and beta for the tensor: their gradients sum over it */
			for (int64_t k = 0; k < n; k++)
			{
				da -= (double) dth[k] * gc[k];
				db += (double) dth[k] * th0[k];
				dth[k] *= be;
			}
			dout[0] = (float) da * a * (1.0f - a);
			dout[1] = (float) db * be * (1.0f - be);
			xd_fs_lstm_backward(&fs->upd[s], 1, tr->x[s] + (size_t) t * XD_FS_UPD_IN,
								t > 0 ? tr->h[s] + (size_t) (t - 1) * XD_FS_HIDDEN : NULL,
								t > 0 ? tr->c[s] + (size_t) (t - 1) * XD_FS_HIDDEN : NULL,
								dout, dh, dc, scratch);
		}
		if (!fs->use_init)
			continue;
		/* theta^0 = omega_R (+ noise on the tables' rows) */
		if (fs->init[s]->rows * fs->init[s]->cols == n)
			for (int64_t k = 0; k < n; k++)
				fs->init[s]->g[k] += dth[k];
		else
			for (int64_t k = 0; k < n; k++)
				fs->init[s]->g[k % fs->init[s]->cols] += dth[k];
	}
	/* the stop controller by REINFORCE over its continue decisions */
	if (fs->use_stop && tr->n_stop > 0)
	{
		float		sdh[XD_FS_HIDDEN] = {0},
					sdc[XD_FS_HIDDEN] = {0};

		for (int t = tr->n_stop - 1; t >= 0; t--)
		{
			float		d = 0.0f;

			/*
			 * a continue at t was followed by updates t..T-1: Q = L(t) -
			 * L(T) less their cost, XD_FS_STEP_COST each (not the paper's:
			 * without it every update that still gains a little on the
			 * query is worth taking, and the controller never stops)
			 */
			if (tr->decided[t] && t < T)
				d = scale * (float) (tr->query_loss[t] - tr->query_loss[T] -
									 XD_FS_STEP_COST * (T - t)) * tr->sp[t];
			xd_fs_lstm_backward(&fs->stop, 1, tr->sx + (size_t) t * XD_FS_STOP_IN,
								t > 0 ? tr->sh + (size_t) (t - 1) * XD_FS_HIDDEN : NULL,
								t > 0 ? tr->sc + (size_t) (t - 1) * XD_FS_HIDDEN : NULL,
								&d, sdh, sdc, scratch);
		}
	}
done:
	xd_model_zero_grad(model);
	free(dth);
	return st;
}

xd_status
xd_fs_episode(xd_fewshot *fs, const xd_shared *source, const xd_dataset *cut, int max_query,
			  xd_rng *rng, xd_fewshot_result *res, xd_fs_trace *tr, xd_batch *q)
{
	int64_t		n_sup,
				n_q,
			   *rows = NULL;
	xd_status	st;

	st = xd_fs_setup(fs, source, cut, rng, res);
	if (st == XD_OK)
		st = xd_batch_init(q, xd_model_max_rows(res->model), cut->enc.schema.m);
	if (st == XD_OK)
	{
		n_q = cut->n_split[XD_SPLIT_TEST] < max_query ? cut->n_split[XD_SPLIT_TEST] : max_query;
		st = n_q >= 1 ? xd_sample_batch(cut, cut->split_rows[XD_SPLIT_TEST], (int) n_q, rng, q)
			: XD_ENODATA;
	}
	if (st == XD_OK)
		st = xd_fs_trace_init(tr, fs, res->model, XD_FS_MAX_STEPS);
	/*
	 * The updates fit the rows serving's would (xd_fs_fit_rows): implicit
	 * feedback, the support's training rows, its validation rows held out
	 * as serving holds them out for the popularity term. Fitting every
	 * support row here taught the controllers on fits a fifth larger than
	 * the ones they drive.
	 */
	if (st == XD_OK && !(rows = xd_fs_support_rows(cut, &n_sup)))
		st = XD_ENOMEM;
	if (st == XD_OK)
		st = xd_fs_run(fs, res, cut, rows, xd_fs_fit_rows(cut, n_sup, cut->n_split[XD_SPLIT_TRAIN]),
					   rng, true, tr, q, NULL);
	free(rows);
	return st;
}

static bool
params_finite(const xd_fewshot *fs)
{
	for (int i = 0; i < fs->n_params; i++)
		for (size_t k = 0; k < (size_t) fs->params[i].rows * fs->params[i].cols; k++)
			if (!isfinite(fs->params[i].g[k]))
				return false;
	return true;
}

static bool
is_stop_param(const xd_fewshot *fs, const xd_param *p)
{
	return p == fs->stop.Wx || p == fs->stop.Wh || p == fs->stop.b || p == fs->stop.ln_g ||
		p == fs->stop.ln_b || p == fs->stop.Wo || p == fs->stop.bo;
}

xd_status
xd_fewshot_train(xd_fewshot *fs, const xd_shared *source, const xd_dataset *src,
				 const xd_fewshot_opts *o, xd_fewshot_report *rep)
{
	double		t0 = xd_clock_seconds();
	xd_rng		rng;
	xd_status	st = XD_OK;
	int			tenth = o->episodes >= 10 ? o->episodes / 10 : 1;
	int			n_first = 0,
				n_last = 0;

	memset(rep, 0, sizeof(*rep));
	if (o->episodes < 1 || o->episodes_per_step < 1 || o->min_support < 2 ||
		o->max_support < o->min_support || o->max_query < 1 || o->max_query > XD_FS_BATCH)
		return XD_EINVAL;
	xd_rng_seed(&rng, o->seed);
	for (int i = 0; i < fs->n_params; i++)
		memset(fs->params[i].g, 0, sizeof(float) * fs->params[i].rows * fs->params[i].cols);
	for (int e = 0; e < o->episodes && st == XD_OK; e++)
	{
		xd_dataset *pd = NULL,
				   *cut = NULL;
		xd_fewshot_result res;
		xd_fs_trace tr;
		xd_batch	q;
		int64_t		N = (int64_t) floor(o->min_support *
										pow((double) o->max_support / o->min_support,
											xd_rng_uniform(&rng)));

		memset(&res, 0, sizeof(res));
		memset(&tr, 0, sizeof(tr));
		memset(&q, 0, sizeof(q));
		if (o->stop && o->stop(o->stop_arg))
		{
			st = XD_ECANCELLED;
			break;
		}
		/* the pseudo-domain: enough rows for the support and a query */
		st = xd_fewshot_pseudo_domain(src, N + N / 2 + 40, &rng, o->seed + 7919u * (e + 1), &pd);
		if (st == XD_OK)
			st = xd_fewshot_support_of(pd, N, o->seed + 104729u * (e + 1), &cut);
		if (st == XD_OK)
			st = xd_fs_episode(fs, source, cut, o->max_query, &rng, &res, &tr, &q);
		if (st == XD_OK)
			st = xd_fs_backward(fs, &res, &tr, &q, 1.0f / (float) o->episodes_per_step);
		if (st == XD_OK)
		{
			if (e < tenth)
			{
				rep->first_query_loss += tr.query_loss[res.steps];
				n_first++;
			}
			if (e >= o->episodes - tenth)
			{
				rep->last_query_loss += tr.query_loss[res.steps];
				rep->mean_steps += res.steps;
				n_last++;
			}
			rep->episodes++;
		}
		if (st == XD_OK && ((e + 1) % o->episodes_per_step == 0 || e + 1 == o->episodes))
		{
			if (!params_finite(fs))
				st = XD_ENUMERIC;
			for (int i = 0; st == XD_OK && i < fs->n_params; i++)
			{
				xd_param   *p = &fs->params[i];
				float		lr = is_stop_param(fs, p) ? o->lr_stop : o->lr;

				/* an ablated part stays as it was: its gradient is zero, but
				 * Adam would still move it by its moments' rounding */
				if ((!fs->use_init && strncmp(p->name, "fs.init.", 8) == 0) ||
					(!fs->use_update && strncmp(p->name, "fs.upd.", 7) == 0) ||
					(!fs->use_stop && is_stop_param(fs, p)))
				{
					memset(p->g, 0, sizeof(float) * p->rows * p->cols);
					continue;
				}
				if (!xd_param_adam(p, lr, 0.9f, 0.999f, 1e-8f))
					st = XD_ENUMERIC;
			}
		}
		xd_fs_trace_free(&tr);
		xd_batch_free(&q);
		xd_fewshot_result_free(&res);
		xd_dataset_free(cut);
		xd_dataset_free(pd);
	}
	if (n_first)
		rep->first_query_loss /= n_first;
	if (n_last)
	{
		rep->last_query_loss /= n_last;
		rep->mean_steps /= n_last;
	}
	rep->seconds = xd_clock_seconds() - t0;
	return st;
}
