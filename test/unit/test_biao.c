/*
 * test_biao.c - BIAO's source weighting (biao.h): the implicit
 * hypergradient's chain through the perceptron against finite differences,
 * the developing gradient after the targets' adaptation (dev_fit DRR) too,
 * the weights' normalisation (eq. 8), each for implicit and explicit
 * feedback (the per-row loss is eq. 13-14's or eq. 16's), determinism, and
 * that the source rows following a rule no target shares end up weighted
 * lower (slow).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"
#include "xdrec/biao.h"
#include "xdrec/sample.h"
#include "xdrec/train.h"

#define N_TGT 2

typedef struct biao_world
{
	xd_dataset *src;
	xd_dataset *tgt[N_TGT];
	xd_model   *model;
	xd_biao    *bi;
} biao_world;

static void
world_free(biao_world *w)
{
	xd_biao_free(w->bi);
	xd_model_free(w->model);
	xd_dataset_free(w->src);
	for (int t = 0; t < N_TGT; t++)
		xd_dataset_free(w->tgt[t]);
	memset(w, 0, sizeof(*w));
}

/*
 * a source of the world src_fo, two targets of tgt_fo, a d = 8 model, a
 * perceptron
 */
static bool
world_new_of(biao_world *w, uint64_t seed, int64_t src_rows, const xd_biao_opts *bo,
			 const fx_biao_opts *src_fo, const fx_biao_opts *tgt_fo)
{
	xd_config	cfg;
	xd_rng		rng;

	memset(w, 0, sizeof(*w));
	for (int t = 0; t < N_TGT; t++)
		w->tgt[t] = fx_biao_world(seed + 100 + t, 30, 24, 600, tgt_fo);
	w->src = fx_biao_world(seed, 60, 40, src_rows, src_fo);
	if (!w->src || !w->tgt[0] || !w->tgt[1])
		return false;
	xd_config_defaults(&cfg);
	xd_config_set_widths(&cfg, &w->src->enc.schema);
	cfg.d = 8;
	cfg.batch_size = 64;
	cfg.dropout = 0.0f;
	cfg.seed = seed;
	cfg.feedback = src_fo->ratings ? XD_EXPLICIT : XD_IMPLICIT;
	xd_rng_seed(&rng, seed);
	if (xd_model_create(&cfg, w->src->n_users, w->src->n_items, (float) w->src->rating_mean,
						&rng, &w->model) != XD_OK)
		return false;
	return xd_biao_new(bo, w->model, w->src, (const xd_dataset *const *) w->tgt,
					   N_TGT, &w->bi) == XD_OK;
}

/*
 * a source with a 40% foreign share, targets of the shared rule only;
 * explicit feedback (ratings) when explicit_fb
 */
static bool
world_new_fb(biao_world *w, uint64_t seed, int64_t src_rows, const xd_biao_opts *bo,
			 bool explicit_fb)
{
	fx_biao_opts fo,
				tgt_fo;

	fx_biao_world_opts_default(&tgt_fo);
	tgt_fo.ratings = explicit_fb;
	fo = tgt_fo;
	fo.foreign_share = 0.4f;
	return world_new_of(w, seed, src_rows, bo, &fo, &tgt_fo);
}

static bool
world_new(biao_world *w, uint64_t seed, int64_t src_rows, const xd_biao_opts *bo)
{
	return world_new_fb(w, seed, src_rows, bo, false);
}

/* a training batch of the source's first n_pos training rows */
static bool
first_batch(biao_world *w, int n_pos, xd_batch *b)
{
	int64_t    *rows = NULL;
	int64_t		n = 0;
	xd_rng		rng;
	bool		ok;

	xd_rng_seed(&rng, 5);
	ok = xd_train_rows(w->src, &rows, &n) == XD_OK && n >= n_pos &&
		xd_batch_init(b, 3 * n_pos, w->src->enc.schema.m) == XD_OK &&
		xd_sample_batch(w->src, rows, n_pos, &rng, b) == XD_OK;
	free(rows);
	return ok;
}

/* p . grad_theta L_train(theta; w(phi)) by backprop with the perceptron's weights */
static double
p_dot_grad(biao_world *w, xd_batch *b, const float *p)
{
	int			P = b->n_pos;
	float	   *wt = malloc(sizeof(float) * P);
	double		loss,
				dot = 0.0;
	xd_shared  *s = w->model->shared;

	if (!wt || xd_biao_weights(w->bi, w->model, b, wt) != XD_OK)
	{
		free(wt);
		return NAN;
	}
	for (int j = 0; j < P; j++)
	{
		b->weights[j] = (float) P * wt[j];
		/* implicit: the positive's two negatives too; explicit rows are positives */
		if (w->model->cfg.feedback == XD_IMPLICIT)
			b->weights[P + j] = b->weights[2 * P + j] = b->weights[j];
	}
	free(wt);
	xd_model_zero_grad(w->model);
	if (xd_model_loss_backward(w->model, b, NULL, false, &loss) != XD_OK)
		return NAN;
	for (int i = 0; i < s->n_params; i++)
		for (int k = 0; k < s->params[i].rows * s->params[i].cols; k++)
			dot += (double) s->params[i].g[k] * *p++;
	xd_model_zero_grad(w->model);
	return dot;
}

/*
 * The upper gradient -sum_j (p . grad l_j) grad_phi w_j (eq. 14, the inner
 * products by central differences along p) against central differences of
 * -p . grad_theta L_train in phi, on entries of every block of phi.
 */
static void
check_hypergradient(bool explicit_fb)
{
	xd_biao_opts bo;
	biao_world	w;
	xd_batch	b = {0};
	float	   *p = NULL,
			   *grad = NULL,
			   *phi;
	int			n_phi;
	int64_t		ns;
	xd_rng		rng;
	double		gmax = 0.0;
	int			checked = 0;

	xd_biao_opts_default(&bo);
	if (!world_new_fb(&w, 3, 2000, &bo, explicit_fb) || !first_batch(&w, 32, &b))
	{
		XD_CHECK(false);
		goto done;
	}
	phi = xd_biao_phi(w.bi, &n_phi);
	/* the size the store expects (stored_tensors.c's "biao.phi") */
	XD_CHECK(n_phi == xd_biao_phi_size(w.model->cfg.d, w.model->cfg.m));
	ns = xd_biao_shared_size(w.model);
	p = malloc(sizeof(float) * ns);
	grad = malloc(sizeof(float) * n_phi);
	XD_REQUIRE(p && grad);
	xd_rng_seed(&rng, 9);
	for (int64_t i = 0; i < ns; i++)
		p[i] = xd_rng_normal(&rng);
	/* sharpen the perceptron so the weights differ and every block matters */
	for (int k = 0; k < n_phi; k++)
		phi[k] += 0.5f * xd_rng_normal(&rng);
	XD_REQUIRE(xd_biao_phi_grad(w.bi, w.model, &b, p, grad) == XD_OK);
	for (int k = 0; k < n_phi; k++)
		gmax = fmax(gmax, fabs(grad[k]));
	XD_CHECK(gmax > 0.0);
	for (int k = 0; k < n_phi; k += 1 + n_phi / 41)
	{
		float		keep = phi[k];
		double		h = 1e-2,
					fp,
					fm,
					fd;

		phi[k] = keep + (float) h;
		fp = p_dot_grad(&w, &b, p);
		phi[k] = keep - (float) h;
		fm = p_dot_grad(&w, &b, p);
		phi[k] = keep;
		fd = -(fp - fm) / (2.0 * h);
		XD_CHECK_NEAR(grad[k], fd, 0.02 * gmax + 0.05 * fabs(fd));
		checked++;
	}
	XD_CHECK(checked >= 35);
done:
	free(p);
	free(grad);
	xd_batch_free(&b);
	world_free(&w);
}

XD_TEST(biao_hypergradient_matches_finite_differences)
{
	check_hypergradient(false);
}

/* explicit feedback: l_j = (r_j - r^_j)^2 (eq. 16), one row per positive */
XD_TEST(biao_explicit_hypergradient_matches_finite_differences)
{
	check_hypergradient(true);
}

/* eq. 8: a batch's weights are positive and sum to gamma = 1; the rows get n_pos w */
static void
check_weights_sum(bool explicit_fb)
{
	xd_biao_opts bo;
	biao_world	w;
	xd_batch	b = {0};
	float		wt[48];
	double		sum = 0.0,
				rows = 0.0;

	xd_biao_opts_default(&bo);
	if (!world_new_fb(&w, 4, 2000, &bo, explicit_fb) || !first_batch(&w, 48, &b))
	{
		XD_CHECK(false);
		goto done;
	}
	/* after an upper step the weights differ, and still sum to 1 */
	XD_REQUIRE(xd_biao_upper_step(w.bi, w.model, &b) == XD_OK);
	XD_REQUIRE(xd_biao_weights(w.bi, w.model, &b, wt) == XD_OK);
	for (int j = 0; j < 48; j++)
	{
		XD_CHECK(wt[j] > 0.0f);
		sum += wt[j];
	}
	XD_CHECK_NEAR(sum, 1.0, 1e-5);
	XD_CHECK(wt[0] != wt[1] || wt[1] != wt[2]);
	XD_REQUIRE(xd_biao_weigh(w.bi, w.model, &b, 1) == XD_OK);
	XD_CHECK(b.n == (explicit_fb ? 48 : 144));
	for (int j = 0; j < 48; j++)
	{
		rows += b.weights[j];
		XD_CHECK_NEAR(b.weights[j], 48.0 * wt[j], 1e-4);
		if (!explicit_fb)
			XD_CHECK(b.weights[j] == b.weights[48 + j] && b.weights[j] == b.weights[96 + j]);
	}
	XD_CHECK_NEAR(rows / 48.0, 1.0, 1e-4);
done:
	xd_batch_free(&b);
	world_free(&w);
}

XD_TEST(biao_weights_sum_as_the_paper_normalises)
{
	check_weights_sum(false);
	check_weights_sum(true);
}

/* trains the source with BIAO for the epochs given; phi and a shared weight out */
static bool
train_biao(uint64_t seed, const xd_biao_opts *bo, int epochs, biao_world *w)
{
	xd_train_opts o;
	xd_train_result res;

	if (!world_new(w, seed, 3000, bo))
		return false;
	xd_train_opts_default(&o, &w->model->cfg);
	o.max_epochs = epochs;
	o.fixed_epochs = true;
	o.weigh = xd_biao_weigh;
	o.weigh_arg = w->bi;
	return xd_train(w->model, w->src, &o, &res) == XD_OK;
}

/* the same seeds give the same perceptron and modules bit for bit */
static void
check_deterministic(const xd_biao_opts *bo)
{
	biao_world	a,
				b;
	float	   *pa,
			   *pb;
	int			na,
				nb;
	xd_biao_stats sa,
				sb;

	if (!train_biao(7, bo, 1, &a) || !train_biao(7, bo, 1, &b))
	{
		XD_CHECK(false);
		world_free(&a);
		world_free(&b);
		return;
	}
	pa = xd_biao_phi(a.bi, &na);
	pb = xd_biao_phi(b.bi, &nb);
	xd_biao_get_stats(a.bi, &sa);
	xd_biao_get_stats(b.bi, &sb);
	XD_CHECK(sa.n_upper >= 3 && sa.n_upper == sb.n_upper);
	XD_CHECK(na == nb && memcmp(pa, pb, sizeof(float) * na) == 0);
	XD_CHECK(memcmp(a.model->shared->ctx_W[0]->w, b.model->shared->ctx_W[0]->w,
					sizeof(float) * a.model->cfg.m * a.model->cfg.m) == 0);
	XD_CHECK(sa.n_upper > 0 && sa.dev_loss[sa.n_upper - 1] == sb.dev_loss[sb.n_upper - 1]);
	world_free(&a);
	world_free(&b);
}

XD_TEST(biao_is_deterministic)
{
	xd_biao_opts bo;

	xd_biao_opts_default(&bo);
	bo.interval = 10;
	bo.warmup_epochs = 0;
	check_deterministic(&bo);
	/* and the averaged estimate, its extra source batches and dev batches */
	bo.source_batches = 3;
	bo.dev_batches = 2;
	check_deterministic(&bo);
}

/*
 * the upper steps wait for warmup_epochs of the source's batches: after one
 * epoch of warm-up, the second epoch's steps at multiples of the interval
 * and none of the first's
 */
XD_TEST(biao_upper_steps_wait_for_the_warmup)
{
	xd_biao_opts bo;
	biao_world	w;
	xd_biao_stats st;
	int64_t    *rows = NULL;
	int64_t		n = 0,
				per_epoch,
				want = 0;

	xd_biao_opts_default(&bo);
	bo.interval = 10;
	bo.warmup_epochs = 1;
	if (!train_biao(5, &bo, 2, &w) || xd_train_rows(w.src, &rows, &n) != XD_OK)
	{
		XD_CHECK(false);
		free(rows);
		world_free(&w);
		return;
	}
	per_epoch = (n + w.model->cfg.batch_size - 1) / w.model->cfg.batch_size;
	for (int64_t step = per_epoch; step < 2 * per_epoch; step++)
		want += step % bo.interval == 0;
	xd_biao_get_stats(w.bi, &st);
	XD_CHECK(want > 0 && st.n_upper == want);
	free(rows);
	world_free(&w);
}

/* the mean weight (times n_pos: 1 is plain) of the source's training positives by mode */
static void
mean_weight_by_mode(biao_world *w, double out[2])
{
	int64_t    *rows = NULL;
	int64_t		n = 0;
	xd_batch	b = {0};
	float		wt[64];
	double		sum[2] = {0, 0};
	int64_t		cnt[2] = {0, 0};
	xd_rng		rng;

	out[0] = out[1] = NAN;
	xd_rng_seed(&rng, 1);
	if (xd_train_rows(w->src, &rows, &n) != XD_OK ||
		xd_batch_init(&b, 3 * 64, w->src->enc.schema.m) != XD_OK)
	{
		free(rows);
		return;
	}
	xd_shuffle_rows(rows, n, &rng);
	for (int64_t s = 0; s + 64 <= n; s += 64)
	{
		if (xd_sample_batch(w->src, rows + s, 64, &rng, &b) != XD_OK ||
			xd_biao_weights(w->bi, w->model, &b, wt) != XD_OK)
			break;
		for (int j = 0; j < 64; j++)
		{
			int			mode = w->src->codes[rows[s + j] * 2 + 1];

			sum[mode] += 64.0 * wt[j];
			cnt[mode]++;
		}
	}
	for (int k = 0; k < 2; k++)
		out[k] = cnt[k] ? sum[k] / cnt[k] : NAN;
	xd_batch_free(&b);
	free(rows);
}

/*
 * The rows of mode 1 follow a rule no target shares: after training, their
 * mean weight is below the others', summed over five seeds. Measured
 * (the same under the SkylakeX, Sandybridge and Haswell kernels): foreign
 * / shared 0.003 / 1.68, 1.17 / 0.88, 0.12 / 1.59, 0.02 / 1.71, 1.13 /
 * 0.92: three seeds all but drop the foreign rows, two go mildly the
 * other way (the upper level works from one source batch and one
 * developing batch per target per step, a noisy signal).
 */
XD_TEST(biao_slow_foreign_rule_gets_lower_weights)
{
	xd_biao_opts bo;
	double		sum[2] = {0, 0};

	xd_biao_opts_default(&bo);
	bo.interval = 10;
	bo.warmup_epochs = 0;		/* measured so, before the warm-up existed */
	for (uint64_t seed = 1; seed <= 5; seed++)
	{
		biao_world	w;
		double		mw[2];

		if (!train_biao(seed, &bo, 10, &w))
		{
			XD_CHECK(false);
			world_free(&w);
			return;
		}
		mean_weight_by_mode(&w, mw);
		printf("  seed %d: mean weight shared rule %.3f, foreign rule %.3f\n",
			   (int) seed, mw[0], mw[1]);
		sum[0] += mw[0];
		sum[1] += mw[1];
		world_free(&w);
	}
	XD_CHECK(sum[1] < 0.6 * sum[0]);
}

/*
 * The developing loss after the targets' own adaptation (dev_fit DRR): the
 * upper step's v is the gradient over the shared modules of the adapted
 * targets' developing loss (residuals and embeddings fixed), against
 * central differences of that loss along random directions; the
 * hypergradient is eq. 14 of it (no Neumann terms: p = v); and the
 * residuals are in the path: the same seed's Direct objective (the
 * embeddings alone re-fitted, the same batches) ends higher.
 */
static void
check_drr_dev_gradient(bool explicit_fb)
{
	xd_biao_opts bo;
	biao_world	w,
				wd;
	xd_batch	b = {0};
	float	   *v = NULL,
			   *u = NULL,
			   *base = NULL,
			   *tmp = NULL,
			   *grad = NULL,
			   *grad2 = NULL;
	int			n_phi;
	int64_t		ns;
	xd_rng		rng;
	double		dev,
				dev_direct,
				l0,
				gmax = 0.0;
	xd_shared  *sh;

	memset(&wd, 0, sizeof(wd));
	xd_biao_opts_default(&bo);
	bo.neumann_terms = 0;
	bo.refit_steps = 20;
	bo.refit_lr = 5e-2f;
	bo.dev_fit = XD_BIAO_DEV_DRR;
	if (!world_new_fb(&w, 6, 2000, &bo, explicit_fb) || !first_batch(&w, 32, &b))
	{
		XD_CHECK(false);
		goto done;
	}
	xd_biao_phi(w.bi, &n_phi);
	ns = xd_biao_shared_size(w.model);
	sh = w.model->shared;
	v = malloc(sizeof(float) * ns);
	u = malloc(sizeof(float) * ns);
	base = malloc(sizeof(float) * ns);
	tmp = malloc(sizeof(float) * ns);
	grad = malloc(sizeof(float) * n_phi);
	grad2 = malloc(sizeof(float) * n_phi);
	XD_REQUIRE(v && u && base && tmp && grad && grad2);
	XD_REQUIRE(xd_biao_hypergrad(w.bi, w.model, &b, grad, &dev) == XD_OK);
	/* the v of that step, and eq. 14 of it */
	XD_REQUIRE(xd_biao_dev_grad(w.bi, v, &l0) == XD_OK);
	XD_CHECK(l0 == dev);
	XD_REQUIRE(xd_biao_phi_grad(w.bi, w.model, &b, v, grad2) == XD_OK);
	for (int k = 0; k < n_phi; k++)
		gmax = fmax(gmax, fabs(grad[k]));
	XD_CHECK(gmax > 0.0);
	for (int k = 0; k < n_phi; k++)
		XD_CHECK_NEAR(grad2[k], grad[k], 1e-6 * gmax);
	/* v against central differences of L_dev along random unit directions */
	for (int i = 0, at = 0; i < sh->n_params; i++)
	{
		size_t		len = (size_t) sh->params[i].rows * sh->params[i].cols;

		memcpy(base + at, sh->params[i].w, sizeof(float) * len);
		at += (int) len;
	}
	xd_rng_seed(&rng, 11);
	for (int dir = 0; dir < 6; dir++)
	{
		/*
		 * the rating loss curves more (ratings 1-5): at 1e-2 its central
		 * differences were off by up to 4e-4 (truncation), at 3e-3 by 7e-5
		 */
		double		nu = 0.0,
					h = explicit_fb ? 3e-3 : 1e-2,
					dot = 0.0,
					lp,
					lm,
					fd;

		for (int64_t i = 0; i < ns; i++)
		{
			u[i] = xd_rng_normal(&rng);
			nu += (double) u[i] * u[i];
		}
		for (int64_t i = 0; i < ns; i++)
		{
			u[i] = (float) (u[i] / sqrt(nu));
			dot += (double) u[i] * v[i];
		}
		for (int sign = 1; sign >= -1; sign -= 2)
		{
			int64_t		at = 0;

			for (int i = 0; i < sh->n_params; i++)
				for (int k = 0; k < sh->params[i].rows * sh->params[i].cols; k++, at++)
					sh->params[i].w[k] = (float) (base[at] + sign * h * u[at]);
			XD_REQUIRE(xd_biao_dev_grad(w.bi, tmp, sign > 0 ? &lp : &lm) == XD_OK);
		}
		fd = (lp - lm) / (2.0 * h);
		printf("  direction %d: v . u %+.5f, central difference %+.5f\n", dir, dot, fd);
		XD_CHECK_NEAR(dot, fd, 3e-4 + 0.02 * fabs(fd));
	}
	for (int i = 0, at = 0; i < sh->n_params; i++)
	{
		size_t		len = (size_t) sh->params[i].rows * sh->params[i].cols;

		memcpy(sh->params[i].w, base + at, sizeof(float) * len);
		at += (int) len;
	}
	/* the same seed's Direct objective: the residuals lowered the loss */
	bo.dev_fit = XD_BIAO_DEV_DIRECT;
	XD_REQUIRE(world_new_fb(&wd, 6, 2000, &bo, explicit_fb));
	XD_REQUIRE(xd_biao_hypergrad(wd.bi, wd.model, &b, grad, &dev_direct) == XD_OK);
	printf("  L_dev after the residuals %.5f, embeddings alone %.5f\n", dev, dev_direct);
	XD_CHECK(dev < dev_direct);
done:
	free(v);
	free(u);
	free(base);
	free(tmp);
	free(grad);
	free(grad2);
	xd_batch_free(&b);
	world_free(&w);
	world_free(&wd);
}

XD_TEST(biao_drr_dev_gradient_matches_finite_differences)
{
	check_drr_dev_gradient(false);
}

XD_TEST(biao_explicit_drr_dev_gradient_matches_finite_differences)
{
	check_drr_dev_gradient(true);
}

/* ------------------------------------------------ the zeroth-order upper step */

/* biao.h's zeroth-order options, small enough for a unit test */
static void
zo_opts(xd_biao_opts *bo)
{
	xd_biao_opts_default(bo);
	bo->upper = XD_BIAO_UPPER_ZO;
	bo->warmup_epochs = 1;
	bo->zo_plateau = 0;
	bo->zo_estimates = 2;
	bo->zo_epochs = 1;
	bo->zo_refit_steps = 20;
	bo->zo_dev_batches = 2;
}

/*
 * The zeroth-order steps: at the epoch boundaries from the warm-up's end,
 * zo_estimates of them, phi moved by each; and bit for bit the same under
 * the same seed (the copies' shuffles and the fresh fits drawn from the
 * object's stream).
 */
XD_TEST(biao_zo_is_deterministic)
{
	xd_biao_opts bo;
	biao_world	a,
				b,
				init;
	float	   *pa,
			   *pb,
			   *p0;
	int			na,
				nb,
				n0;
	xd_biao_stats sa,
				sb;
	double		moved = 0.0;

	zo_opts(&bo);
	/* early stopping keeps no epoch before the last step's (epoch 3 here) */
	XD_CHECK(xd_biao_first_kept_epoch(&bo) == 3);
	bo.upper = XD_BIAO_UPPER_IMPLICIT;
	XD_CHECK(xd_biao_first_kept_epoch(&bo) == 0);
	bo.upper = XD_BIAO_UPPER_ZO;
	memset(&init, 0, sizeof(init));
	if (!train_biao(7, &bo, 4, &a) || !train_biao(7, &bo, 4, &b) ||
		!world_new(&init, 7, 3000, &bo))
	{
		XD_CHECK(false);
		goto done;
	}
	pa = xd_biao_phi(a.bi, &na);
	pb = xd_biao_phi(b.bi, &nb);
	p0 = xd_biao_phi(init.bi, &n0);
	xd_biao_get_stats(a.bi, &sa);
	xd_biao_get_stats(b.bi, &sb);
	XD_CHECK(sa.n_upper == 2 && sb.n_upper == 2);
	XD_CHECK(na == nb && memcmp(pa, pb, sizeof(float) * na) == 0);
	XD_CHECK(memcmp(a.model->shared->ctx_W[0]->w, b.model->shared->ctx_W[0]->w,
					sizeof(float) * a.model->cfg.m * a.model->cfg.m) == 0);
	XD_CHECK(sa.dev_loss[0] == sb.dev_loss[0] && sa.dev_loss[1] == sb.dev_loss[1]);
	XD_CHECK(isfinite(sa.dev_loss[0]) && sa.dev_loss[0] > 0.0);
	/* two steps of norm zo_step on the global term's slopes on x, nothing else */
	for (int k = 0; k < n0; k++)
	{
		XD_CHECK(k >= a.model->cfg.d && k < a.model->cfg.d + a.model->cfg.m ? true : pa[k] == p0[k]);
		moved += ((double) pa[k] - p0[k]) * ((double) pa[k] - p0[k]);
	}
	printf("  phi moved by %.4f; L_dev %.5f, %.5f\n", sqrt(moved), sa.dev_loss[0], sa.dev_loss[1]);
	XD_CHECK(sqrt(moved) > 0.1 && sqrt(moved) <= 2.0 * bo.zo_step + 1e-4);
done:
	world_free(&a);
	world_free(&b);
	world_free(&init);
}

/*
 * The estimate's sign where the answer is known, and the step's. Without
 * the global term (g = 1) its slopes on x, the block the estimate perturbs,
 * change no weight: both copies train alike and end with the same
 * developing loss, bit for bit, and the step leaves phi where it was. With
 * it, the two sides differ, and the step moves phi zo_step along u toward
 * the side with the lower developing loss: the hook's step on a world is
 * the estimate on its twin, signed.
 */
XD_TEST(biao_zo_estimate_sign_is_known)
{
	xd_biao_opts bo;
	biao_world	a,
				b;
	xd_batch	batch = {0};
	float	   *u = NULL,
			   *u2 = NULL,
			   *phi0 = NULL,
			   *step = NULL,
			   *pb;
	int			n_phi;
	double		dev[2],
				dev2[2],
				dot = 0.0,
				moved = 0.0;
	float		sign,
				sign2;
	xd_biao    *bad = NULL;

	memset(&b, 0, sizeof(b));
	zo_opts(&bo);
	bo.use_global = false;
	XD_REQUIRE(world_new(&a, 9, 3000, &bo));
	xd_biao_phi(a.bi, &n_phi);
	u = malloc(sizeof(float) * n_phi);
	phi0 = malloc(sizeof(float) * n_phi);
	XD_REQUIRE(u && phi0);
	XD_REQUIRE(xd_biao_zo_estimate(a.bi, a.model, a.src, true, u, dev) == XD_OK);
	printf("  no global term: L_dev %.6f / %.6f\n", dev[0], dev[1]);
	XD_CHECK(dev[0] == dev[1] && isfinite(dev[0]));
	world_free(&a);

	bo.use_global = true;
	bo.warmup_epochs = 0;
	bo.zo_estimates = 1;
	XD_REQUIRE(world_new(&a, 9, 3000, &bo) && world_new(&b, 9, 3000, &bo));
	memcpy(phi0, xd_biao_phi(a.bi, &n_phi), sizeof(float) * n_phi);
	XD_REQUIRE(xd_biao_zo_estimate(a.bi, a.model, a.src, true, u, dev) == XD_OK);
	XD_CHECK(memcmp(xd_biao_phi(a.bi, &n_phi), phi0, sizeof(float) * n_phi) == 0);
	XD_REQUIRE(first_batch(&b, 64, &batch));
	XD_REQUIRE(xd_biao_weigh(b.bi, b.model, &batch, 0) == XD_OK);
	pb = xd_biao_phi(b.bi, &n_phi);
	sign = dev[0] < dev[1] ? 1.0f : -1.0f;
	printf("  L_dev %.5f at +eps, %.5f at -eps\n", dev[0], dev[1]);
	XD_CHECK(dev[0] != dev[1]);
	for (int k = 0; k < n_phi; k++)
		XD_CHECK(pb[k] == phi0[k] + sign * bo.zo_step * u[k]);
	world_free(&a);
	world_free(&b);
	xd_batch_free(&batch);

	/* two directions per step: the mean of the two estimates' signed u */
	bo.zo_directions = 2;
	u2 = malloc(sizeof(float) * n_phi);
	step = calloc(n_phi, sizeof(float));
	XD_REQUIRE(u2 && step);
	XD_REQUIRE(world_new(&a, 9, 3000, &bo) && world_new(&b, 9, 3000, &bo));
	memcpy(phi0, xd_biao_phi(a.bi, &n_phi), sizeof(float) * n_phi);
	XD_REQUIRE(xd_biao_zo_estimate(a.bi, a.model, a.src, true, u, dev) == XD_OK);
	XD_REQUIRE(xd_biao_zo_estimate(a.bi, a.model, a.src, true, u2, dev2) == XD_OK);
	XD_CHECK(dev[0] != dev[1] && dev2[0] != dev2[1]);
	sign = dev[0] < dev[1] ? 1.0f : -1.0f;
	sign2 = dev2[0] < dev2[1] ? 1.0f : -1.0f;
	for (int k = 0; k < n_phi; k++)
	{
		step[k] += sign * u[k] / 2.0f;
		step[k] += sign2 * u2[k] / 2.0f;
		dot += (double) u[k] * u2[k];
	}
	XD_REQUIRE(first_batch(&b, 64, &batch));
	XD_REQUIRE(xd_biao_weigh(b.bi, b.model, &batch, 0) == XD_OK);
	pb = xd_biao_phi(b.bi, &n_phi);
	for (int k = 0; k < n_phi; k++)
	{
		XD_CHECK(pb[k] == phi0[k] + bo.zo_step * step[k]);
		moved += ((double) pb[k] - phi0[k]) * ((double) pb[k] - phi0[k]);
	}
	/* two unit directions, not the same: the mean is shorter than one step */
	printf("  two directions: u.u2 %.3f, phi moved %.4f\n", dot, sqrt(moved));
	XD_CHECK(fabs(dot) < 0.999 && sqrt(moved) < bo.zo_step && sqrt(moved) > 0.0);
	/* no direction is no step: refused */
	bo.zo_directions = 0;
	XD_CHECK(xd_biao_new(&bo, a.model, a.src, (const xd_dataset *const *) a.tgt, N_TGT,
						 &bad) == XD_EINVAL);
	free(u);
	free(u2);
	free(step);
	free(phi0);
	xd_batch_free(&batch);
	world_free(&a);
	world_free(&b);
}

/*
 * The zeroth-order steps start at the warm-up's end or, before it, once
 * the source's validation has not improved for zo_plateau epochs
 * (xd_biao_epoch as the loop's progress callback); the frozen control
 * (zo_step 0) pays the same estimates and leaves phi where it was.
 */
XD_TEST(biao_zo_steps_start_at_a_plateau)
{
	xd_biao_opts bo;
	biao_world	w;
	xd_batch	batch = {0};
	xd_epoch_report r = {.metric = 0.1};
	xd_biao_stats st;
	float	   *phi0 = NULL,
			   *phi;
	int			n_phi;

	zo_opts(&bo);
	bo.warmup_epochs = 1000;
	bo.zo_plateau = 2;
	bo.zo_estimates = 1;
	bo.zo_step = 0.0f;
	XD_REQUIRE(world_new(&w, 4, 3000, &bo) && first_batch(&w, 64, &batch));
	phi = xd_biao_phi(w.bi, &n_phi);
	phi0 = malloc(sizeof(float) * n_phi);
	XD_REQUIRE(phi0);
	memcpy(phi0, phi, sizeof(float) * n_phi);
	r.improved = true;
	xd_biao_epoch(w.bi, &r);
	r.improved = false;
	xd_biao_epoch(w.bi, &r);
	XD_REQUIRE(xd_biao_weigh(w.bi, w.model, &batch, 50) == XD_OK);
	xd_biao_get_stats(w.bi, &st);
	XD_CHECK(st.n_upper == 0);
	xd_biao_epoch(w.bi, &r);
	XD_REQUIRE(xd_biao_weigh(w.bi, w.model, &batch, 100) == XD_OK);
	XD_REQUIRE(xd_biao_weigh(w.bi, w.model, &batch, 101) == XD_OK);
	xd_biao_get_stats(w.bi, &st);
	XD_CHECK(st.n_upper == 1 && isfinite(st.dev_loss[0]));
	XD_CHECK(memcmp(phi, phi0, sizeof(float) * n_phi) == 0);
	free(phi0);
	xd_batch_free(&batch);
	world_free(&w);
}
