/*
 * bench_model.c - forward + backward (+ Adam) throughput of the model on one
 * core, at the shapes of DESIGN.md section 3 (d = 64, 2 + 2 layers, batch 256,
 * implicit: 3 rows per positive), per CPU-second; and the cost per element of
 * the model's sigmoid and tanh, the former scalar expf formulas against the
 * vectorised ones of activation.h at 4 lanes and at the widest the CPU runs;
 * what a DRR epoch costs against a target-only epoch (bench_drr), at every
 * vector width; eq. 19's fused row kernel against the loops it replaced.
 * Not a unit test.
 *
 * Usage: bench_model [m] [seconds] [n_users] [n_items]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmt/model_int.h"
#include "xdrec/activation.h"
#include "xdrec/core.h"
#include "xdrec/dist_encoder.h"

/*
 * CPU time of this thread, so that other processes on a shared machine do
 * not count against the model (the rates are per CPU-second of one core).
 */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the scalar helpers model_int.h had before activation.h, as the baseline */
static void
scalar_sigmoid(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void
scalar_tanh(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f - 2.0f / (1.0f + expf(2.0f * x[i]));
}

/* ns per element of f over n floats, on a fresh copy of src each pass (the copy untimed) */
static double
ns_per_element(void (*f) (float *, size_t), const float *src, float *buf,
			   size_t n, double secs)
{
	double		t = 0.0;
	long		passes = 0;

	do
	{
		double		t0;

		memcpy(buf, src, sizeof(float) * n);
		t0 = now();
		f(buf, n);
		t += now() - t0;
		passes++;
	} while (t < secs);
	return 1e9 * t / ((double) passes * n);
}

/* the gates of a batch: rows of 3 P x d floats, uniform in [-8, 8] */
static void
bench_activations(int n, double secs, xd_rng *rng)
{
	float	   *src = malloc(sizeof(float) * n);
	float	   *buf = malloc(sizeof(float) * n);
	int			wide = xd_activation_max_lanes();
	double		ss,
				vs[2],
				st,
				vt[2];

	for (int i = 0; i < n; i++)
		src[i] = 16.0f * (xd_rng_uniform(rng) - 0.5f);
	ss = ns_per_element(scalar_sigmoid, src, buf, n, secs);
	st = ns_per_element(scalar_tanh, src, buf, n, secs);
	for (int k = 0; k < 2; k++)
	{
		xd_activation_set_lanes(k == 0 ? 4 : wide);
		vs[k] = ns_per_element(xd_sigmoid_inplace, src, buf, n, secs);
		vt[k] = ns_per_element(xd_tanh_inplace, src, buf, n, secs);
	}
	xd_activation_set_lanes(0);
	printf("sigmoid over %d floats: scalar expf %.2f ns/element, 4 lanes %.2f (%.1fx), %d lanes %.2f (%.1fx)\n",
		   n, ss, vs[0], ss / vs[0], wide, vs[1], ss / vs[1]);
	printf("tanh    over %d floats: scalar expf %.2f ns/element, 4 lanes %.2f (%.1fx), %d lanes %.2f (%.1fx)\n",
		   n, st, vt[0], st / vt[0], wide, vt[1], st / vt[1]);
	free(src);
	free(buf);
}

/*
 * What a DRR epoch costs against a target-only epoch (DESIGN.md section 4),
 * at the shape of the transfer report's largest target: per epoch, T
 * training positives in batches of P (3 rows each) and validation on V
 * positives of 101 candidate rows each. Target-only trains everything; DRR
 * adds the residuals on x^1, e~_u, e~_v and eq. 22's KL terms, with M1, M3,
 * M4 and the encoders frozen, and validates as xd_train does, with x^0 and
 * x^1 of the (always the same) validation rows cached. The two models are
 * measured in alternation, round by round, so that a change of machine load
 * hits both.
 */
typedef struct drr_side
{
	xd_model   *model;
	float		lr[XD_N_GROUPS];
	double		step_s;			/* CPU seconds of training steps */
	long		steps;
	double		score_s;		/* CPU seconds of validation scoring */
	long		scored;			/* rows */
	xd_valcache *vc;			/* xd_train's validation cache, or NULL */
} drr_side;

static void
drr_round(drr_side *sd, const xd_batch *train, const xd_batch *valid, float *scores,
		  xd_rng *rng, double secs)
{
	double		t0 = now(),
				t;
	double		loss;

	do
	{
		if (xd_model_loss_backward(sd->model, train, rng, true, &loss) != XD_OK ||
			xd_adam_step(sd->model, sd->lr) != XD_OK)
			exit(2);
		sd->steps++;
		t = now() - t0;
	} while (t < secs);
	sd->step_s += t;
	t0 = now();
	do
	{
		/* each scoring of valid is one validation, as xd_train brackets it */
		if (sd->vc)
			xd_valcache_begin(sd->vc, sd->model);
		if (xd_model_score(sd->model, valid, scores) != XD_OK)
			exit(2);
		if (sd->vc)
			xd_valcache_end(sd->vc, sd->model, true);
		sd->scored += valid->n;
		t = now() - t0;
	} while (t < secs);
	sd->score_s += t;
}

static void
bench_drr(const xd_config *cfg, int n_users, int n_items, double secs, xd_rng *rng)
{
	/* the report's largest target: 6,429 training and ~800 validation positives */
	const double T = 6429.0,
				V = 800.0;
	int			m = cfg->m;
	int			rows = 40 * 101;	/* 40 positives' candidates, as validation scores them */
	drr_side	to = {0},
				drr = {0};
	xd_valcache vc = {0};
	xd_adapt   *ad;
	xd_dist_encoders *enc;
	xd_batch	train,
				valid;
	float	   *scores = malloc(sizeof(float) * rows);

	if (xd_model_create(cfg, n_users, n_items, 0.0f, rng, &to.model) != XD_OK ||
		xd_model_create(cfg, n_users, n_items, 0.0f, rng, &drr.model) != XD_OK ||
		xd_adapt_new(cfg, &ad) != XD_OK ||
		xd_dist_encoders_new(cfg, XD_ENC_HIDDEN, XD_ENC_LATENT, &enc) != XD_OK ||
		xd_batch_init(&train, 3 * cfg->batch_size, m) != XD_OK ||
		xd_batch_init(&valid, rows, m) != XD_OK || !scores)
		exit(1);
	for (int k = 0; k < XD_N_ENC; k++)
		if (enc->e[k])
			xd_dist_encoder_init(enc->e[k], rng);
	/* residuals away from 0, as after a few steps (tanh(0) costs the same, but honestly) */
	for (int i = 0; i < ad->n_params; i++)
		for (int j = 0; j < ad->params[i].rows * ad->params[i].cols; j++)
			ad->params[i].w[j] = 0.02f * (xd_rng_uniform(rng) - 0.5f);
	ad->enc = enc;
	ad->lambda_kl = 0.1f;
	if (xd_model_set_adapt(drr.model, ad) != XD_OK)
		exit(1);
	xd_model_freeze_shared(drr.model, true);
	/* DRR validates with xd_train's cache of the frozen x^0, x^1 */
	drr.vc = &vc;
	for (int g = 0; g < XD_N_GROUPS; g++)
		to.lr[g] = drr.lr[g] = 1e-3f;
	drr.lr[XD_GROUP_SHARED] = 0.0f;

	/* a training batch as in main; validation: one user per 101 rows */
	train.n = 3 * cfg->batch_size;
	train.n_pos = cfg->batch_size;
	for (int r = 0; r < train.n; r++)
	{
		train.users[r] = (int32_t) xd_rng_below(rng, n_users);
		train.items[r] = (int32_t) xd_rng_below(rng, n_items);
		for (int j = 0; j < m; j++)
			train.c[(size_t) r * m + j] = xd_rng_uniform(rng) < 0.3f ? xd_rng_uniform(rng) : 0.0f;
	}
	valid.n = rows;
	for (int r = 0; r < rows; r++)
	{
		valid.users[r] = train.users[(r / 101) % train.n];
		valid.items[r] = (int32_t) xd_rng_below(rng, n_items);
		memcpy(valid.c + (size_t) r * m, train.c + (size_t) (r % train.n) * m,
			   sizeof(float) * m);
	}
	/* at each vector width of the activations (activation.h), if the CPU has both */
	{
		int			widths[3] = {4, 8, 16};
		int			n_w = 0;
		drr_side	tw[3],
					dw[3];
		double		e_to[3],
					e_drr[3];

		while (n_w < 3 && widths[n_w] <= xd_activation_max_lanes())
			n_w++;

		for (int k = 0; k < n_w; k++)
		{
			tw[k] = to;
			dw[k] = drr;
		}
		for (int round = 0; round < 6; round++)
			for (int k = 0; k < n_w; k++)
			{
				xd_activation_set_lanes(widths[k]);
				drr_round(&tw[k], &train, &valid, scores, rng, secs / (12.0 * n_w));
				drr_round(&dw[k], &train, &valid, scores, rng, secs / (12.0 * n_w));
			}
		xd_activation_set_lanes(0);
		for (int k = 0; k < n_w; k++)
		{
			double		st_to = tw[k].step_s / tw[k].steps,
						st_drr = dw[k].step_s / dw[k].steps,
						sc_to = tw[k].score_s / tw[k].scored,
						sc_drr = dw[k].score_s / dw[k].scored;
			int			P = cfg->batch_size;

			e_to[k] = ceil(T / P) * st_to + V * 101.0 * sc_to;
			e_drr[k] = ceil(T / P) * st_drr + V * 101.0 * sc_drr;
			printf("m=%d d=%d %d lanes, training step : target-only %.3f ms, DRR %.3f ms (%.2fx)\n",
				   m, cfg->d, widths[k], 1e3 * st_to, 1e3 * st_drr, st_drr / st_to);
			printf("m=%d d=%d %d lanes, validation row: target-only %.1f ns, DRR %.1f ns (%.2fx)\n",
				   m, cfg->d, widths[k], 1e9 * sc_to, 1e9 * sc_drr, sc_drr / sc_to);
			printf("m=%d d=%d %d lanes, epoch of %.0f + %.0f validation positives: target-only %.1f ms, DRR %.1f ms; DRR epoch / target-only epoch %.3f (validation %.0f%% of DRR's)\n",
				   m, cfg->d, widths[k], T, V, 1e3 * e_to[k], 1e3 * e_drr[k],
				   e_drr[k] / e_to[k], 100.0 * V * 101.0 * sc_drr / e_drr[k]);
		}
		for (int k = 1; k < n_w; k++)
			printf("m=%d d=%d epoch at %d lanes over 4 lanes: target-only %.3f, DRR %.3f\n",
				   m, cfg->d, widths[k], e_to[k] / e_to[0], e_drr[k] / e_drr[0]);
	}
	xd_model_free(to.model);
	xd_valcache_release(&vc, drr.model);
	xd_model_free(drr.model);
	xd_adapt_free(ad);
	xd_dist_encoders_free(enc);
	xd_batch_free(&train);
	xd_batch_free(&valid);
	free(scores);
}

/*
 * The elementwise part of eq. 19 over n rows of width w as the layers did it
 * before the fused row kernel (a scalar bias loop, tanh row by row, a scalar
 * residual loop), as the baseline of xd_tanh_residual_rows.
 */
static void
loops_tanh_residual(float *T, const float *b, float *x, int n, int w)
{
	for (int i = 0; i < n; i++)
	{
		float	   *Ti = T + (size_t) i * w;
		float	   *xi = x + (size_t) i * w;

		for (int j = 0; j < w; j++)
			Ti[j] += b[j];
		xd_tanh_inplace(Ti, w);
		for (int j = 0; j < w; j++)
			xi[j] += Ti[j];
	}
}

/* ns per element of eq. 19's elementwise part, former loops against the row kernel */
static void
bench_row_kernel(int n, int w, double secs, xd_rng *rng)
{
	size_t		nw = (size_t) n * w;
	float	   *src = malloc(sizeof(float) * nw);
	float	   *T = malloc(sizeof(float) * nw);
	float	   *x = calloc(nw, sizeof(float));
	float	   *b = calloc((size_t) w, sizeof(float));
	double		t[2] = {0.0, 0.0};
	long		passes[2] = {0, 0};

	for (size_t i = 0; i < nw; i++)
		src[i] = 8.0f * (xd_rng_uniform(rng) - 0.5f);
	/* alternate the two, pass by pass */
	while (t[0] + t[1] < secs)
		for (int k = 0; k < 2; k++)
		{
			double		t0;

			memcpy(T, src, sizeof(float) * nw);
			t0 = now();
			if (k == 0)
				loops_tanh_residual(T, b, x, n, w);
			else
				xd_tanh_residual_rows(T, b, x, NULL, x, n, w);
			t[k] += now() - t0;
			passes[k]++;
		}
	printf("eq. 19 elementwise, %d rows of width %d: former loops %.2f ns/element, row kernel %.2f ns/element (%.2fx)\n",
		   n, w, 1e9 * t[0] / ((double) passes[0] * nw),
		   1e9 * t[1] / ((double) passes[1] * nw),
		   (t[0] / passes[0]) / (t[1] / passes[1]));
	free(src);
	free(T);
	free(x);
	free(b);
}

int
main(int argc, char **argv)
{
	int			m = argc > 1 ? atoi(argv[1]) : 32;
	double		secs = argc > 2 ? atof(argv[2]) : 3.0;
	int			n_users = argc > 3 ? atoi(argv[3]) : 100000;
	int			n_items = argc > 4 ? atoi(argv[4]) : 20000;
	xd_config	cfg;
	xd_model   *model;
	xd_rng		rng;
	xd_batch	b;
	int			P;

	xd_config_defaults(&cfg);
	cfg.m_I = m / 4;
	cfg.m_H = m / 4;
	cfg.m_A = m - 2 * (m / 4);
	cfg.m = m;
	P = cfg.batch_size;
	xd_rng_seed(&rng, 1);
	if (xd_model_create(&cfg, n_users, n_items, 0.0f, &rng, &model) != XD_OK ||
		xd_batch_init(&b, 3 * P, m) != XD_OK)
		return 1;
	b.n = 3 * P;
	b.n_pos = P;
	for (int r = 0; r < 3 * P; r++)
	{
		b.users[r] = (int32_t) xd_rng_below(&rng, n_users);
		b.items[r] = (int32_t) xd_rng_below(&rng, n_items);
		for (int j = 0; j < m; j++)
			b.c[(size_t) r * m + j] = xd_rng_uniform(&rng) < 0.3f ? xd_rng_uniform(&rng) : 0.0f;
	}
	for (int with_adam = 0; with_adam < 2; with_adam++)
	{
		double		t0 = now(),
					t;
		long		batches = 0;
		double		loss;

		do
		{
			if (xd_model_loss_backward(model, &b, &rng, true, &loss) != XD_OK)
				return 2;
			if (with_adam)
				xd_adam_step2(model, 1e-3f, 1e-3f);
			else
				xd_model_zero_grad(model);
			batches++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d %s: %.0f batches/s, %.0f rows/s, %.0f positives/s\n",
			   m, cfg.d, with_adam ? "fwd+bwd+adam" : "fwd+bwd     ",
			   batches / t, batches * 3.0 * P / t, batches * (double) P / t);
	}
	{
		float	   *s = malloc(sizeof(float) * 3 * P);
		double		t0 = now(),
					t;
		long		batches = 0;

		do
		{
			xd_model_score(model, &b, s);
			batches++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d score only  : %.0f rows/s\n", m, cfg.d, batches * 3.0 * P / t);
		free(s);
	}
	{
		/* one user, one context, every item of the domain (DESIGN.md section 5, full ranking) */
		int32_t    *items = malloc(sizeof(int32_t) * n_items);
		float	   *s = malloc(sizeof(float) * n_items);
		double		t0 = now(),
					t;
		long		calls = 0;

		for (int i = 0; i < n_items; i++)
			items[i] = i;
		do
		{
			xd_model_score_items(model, 0, b.c, items, NULL, n_items, s);
			calls++;
			t = now() - t0;
		} while (t < secs);
		printf("m=%d d=%d score_items : %.0f items/s (%.2f ms to rank %d items)\n",
			   m, cfg.d, calls * (double) n_items / t, 1e3 * t / calls, n_items);
		free(items);
		free(s);
	}
	bench_drr(&cfg, 600, 400, secs, &rng);
	bench_row_kernel(3 * P, m, secs / 6.0, &rng);
	bench_row_kernel(3 * P, cfg.d, secs / 6.0, &rng);
	bench_activations(3 * P * cfg.d, secs / 3.0, &rng);
	xd_batch_free(&b);
	xd_model_free(model);
	return 0;
}
