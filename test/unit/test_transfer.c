/*
 * test_transfer.c - one-to-many transfer (transfer.c; DESIGN.md section 4):
 * zero residuals are Direct bit for bit, a DRR adaptation leaves the source's
 * shared modules and encoders bit-identical, Anneal's schedule, determinism
 * under a seed, every method end to end (implicit and explicit), auto keeps
 * the best candidate, and bad arguments.
 *
 * The worlds are tiny (d = 16, a few thousand rows) so the whole file runs
 * in a few seconds; under valgrind the tests that run many fits take minutes,
 * so their names carry "slow" and `make valgrind` skips them (they were run
 * under valgrind once, clean, when written).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/generate.h"
#include "xdrec/metrics.h"
#include "xdrec/sample.h"
#include "xdrec/transfer.h"

/* the reports' served-row helpers, tested here (unused ones are not errors) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../bench/repeat_pop.h"
#pragma GCC diagnostic pop

typedef struct tw_world
{
	xd_generated *g;
	xd_config	cfg;
	xd_transfer_result src;		/* the trained source model */
	xd_dist_encoders *enc;
} tw_world;

static bool
tw_make(tw_world *w, uint64_t seed, int explicit_feedback)
{
	xd_gen_config gc;
	xd_transfer_opts to;
	xd_dist_encoder_opts eo;
	const xd_dataset *ds;

	memset(w, 0, sizeof(*w));
	xd_gen_config_default(&gc);
	gc.seed = seed;
	gc.n_domains = 3;
	gc.src_users = 100;
	gc.src_items = 60;
	gc.src_interactions = 3000;
	gc.tgt_users = 50;
	gc.tgt_items = 30;
	gc.tgt_interactions = 500;
	gc.explicit_feedback = explicit_feedback;
	if (xd_generate(&gc, &w->g) != XD_OK)
		return false;
	ds = w->g->domains[0].ds;
	xd_config_defaults(&w->cfg);
	xd_config_set_widths(&w->cfg, &ds->enc.schema);
	w->cfg.d = 16;
	w->cfg.feedback = explicit_feedback ? XD_EXPLICIT : XD_IMPLICIT;
	xd_transfer_opts_default(&to);
	to.max_epochs = 4;
	to.patience = 4;
	to.seed = seed;
	if (xd_transfer_train_source(&w->cfg, ds, &to, &w->src) != XD_OK)
		return false;
	xd_dist_encoder_opts_default(&eo);
	eo.epochs = 2;
	eo.max_rows = 1000;
	eo.hidden = 16;
	eo.latent = 4;
	return xd_dist_encoders_train(w->src.model, ds, &eo, &w->enc, NULL) == XD_OK;
}

static void
tw_free(tw_world *w)
{
	xd_dist_encoders_free(w->enc);
	xd_transfer_result_free(&w->src);
	xd_generated_free(w->g);
}

static void
tw_opts(xd_transfer_opts *o, xd_transfer_method m, uint64_t seed)
{
	xd_transfer_opts_default(o);
	o->method = m;
	o->max_epochs = 3;
	o->patience = 2;
	o->pretrain_epochs = 1;
	o->seed = seed;
}

/* A scoring batch of the target's test rows (positives only). */
static bool
tw_batch(const xd_dataset *ds, xd_batch *b)
{
	int			n = (int) ds->n_split[XD_SPLIT_TEST];

	if (n > 200)
		n = 200;
	if (xd_batch_init(b, n, ds->enc.schema.m) != XD_OK)
		return false;
	for (int i = 0; i < n; i++)
	{
		int64_t		row = ds->split_rows[XD_SPLIT_TEST][i];

		b->users[i] = ds->users[row];
		b->items[i] = ds->items[row];
		xd_dataset_encode(ds, row, -1, b->c + (size_t) i * b->m);
	}
	b->n = n;
	return n > 0;
}

/* Every byte of a tensor's state: values, gradient, moments, steps. */
static size_t
tw_param_bytes(const xd_param *p)
{
	return sizeof(float) * (size_t) p->rows * p->cols;
}

typedef struct tw_snap
{
	int			n;
	const xd_param *p[128];
	float	   *copy[128][4];
	int64_t		step[128];
} tw_snap;

static void
tw_snap_take(tw_snap *s, const xd_param *ps, int n)
{
	for (int i = 0; i < n && s->n < 128; i++)
	{
		const xd_param *p = &ps[i];
		size_t		bytes = tw_param_bytes(p);
		const float *src[4] = {p->w, p->g, p->adam_m, p->adam_v};

		s->p[s->n] = p;
		s->step[s->n] = p->step;
		for (int k = 0; k < 4; k++)
		{
			s->copy[s->n][k] = malloc(bytes);
			if (s->copy[s->n][k])
				memcpy(s->copy[s->n][k], src[k], bytes);
		}
		s->n++;
	}
}

static int
tw_snap_diff(const tw_snap *s)
{
	int			diff = 0;

	for (int i = 0; i < s->n; i++)
	{
		const xd_param *p = s->p[i];
		size_t		bytes = tw_param_bytes(p);
		const float *now[4] = {p->w, p->g, p->adam_m, p->adam_v};

		for (int k = 0; k < 4; k++)
			if (!s->copy[i][k] || memcmp(s->copy[i][k], now[k], bytes) != 0)
				diff++;
		if (p->step != s->step[i])
			diff++;
	}
	return diff;
}

static void
tw_snap_free(tw_snap *s)
{
	for (int i = 0; i < s->n; i++)
		for (int k = 0; k < 4; k++)
			free(s->copy[i][k]);
	s->n = 0;
}

XD_TEST(transfer_anneal_schedule)
{
	/* eq. 18: eta_b = eta0 exp(-lambda b), eta0 / 1000 after one epoch */
	for (int64_t B = 1; B <= 1000; B *= 7)
	{
		double		lambda = xd_anneal_lambda(B, 1e-3);
		float		eta0 = 1e-3f;

		XD_CHECK(lambda > 0.0);
		XD_CHECK(xd_anneal_lr(eta0, lambda, 0) == eta0);
		XD_CHECK_NEAR(xd_anneal_lr(eta0, lambda, B) / eta0, 1e-3, 1e-8);
		XD_CHECK(xd_anneal_lr(eta0, lambda, B / 2) > xd_anneal_lr(eta0, lambda, B));
		XD_CHECK(xd_anneal_lr(eta0, lambda, 2 * B) < 1.01e-6f * eta0);
	}
	XD_CHECK(xd_anneal_lambda(0, 1e-3) == 0.0);
	XD_CHECK(xd_anneal_lambda(10, 0.0) == 0.0);
}

XD_TEST(transfer_zero_residuals_are_direct)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result direct;
	const xd_dataset *ds;
	xd_batch	b = {0};
	xd_model   *m2 = NULL;
	xd_adapt   *ad = NULL;
	float	   *s1,
			   *s2;
	xd_param   *which[3];

	XD_REQUIRE(tw_make(&w, 5, 0));
	ds = w.g->domains[1].ds;
	tw_opts(&o, XD_TRANSFER_DIRECT, 5);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &direct) == XD_OK);
	XD_CHECK(direct.method == XD_TRANSFER_DIRECT && direct.epochs == 0);
	XD_CHECK(direct.shared == NULL && direct.adapt == NULL);
	XD_CHECK(direct.n_history == 1 && direct.n_pretrain == 1);
	XD_REQUIRE(tw_batch(ds, &b));
	s1 = malloc(sizeof(float) * b.n);
	s2 = malloc(sizeof(float) * b.n);
	XD_REQUIRE(s1 && s2);
	XD_REQUIRE(xd_transfer_score(&direct, &b, s1) == XD_OK);

	/* the same modules and embeddings with zero residuals: the same bits */
	XD_REQUIRE(xd_model_new(&direct.cfg, w.src.shared, direct.domain, false, false,
							&m2) == XD_OK);
	XD_REQUIRE(xd_adapt_new(&direct.cfg, &ad) == XD_OK);
	XD_REQUIRE(xd_model_set_adapt(m2, ad) == XD_OK);
	XD_CHECK(xd_model_set_adapt(m2, ad) == XD_EINVAL);	/* once */
	XD_REQUIRE(xd_model_score(m2, &b, s2) == XD_OK);
	XD_CHECK(memcmp(s1, s2, sizeof(float) * b.n) == 0);

	/* the KL regulariser changes the loss, never the scores */
	XD_REQUIRE(xd_adapt_add_kl(m2, w.enc, 1.0f) == XD_OK);
	XD_REQUIRE(xd_model_score(m2, &b, s2) == XD_OK);
	XD_CHECK(memcmp(s1, s2, sizeof(float) * b.n) == 0);

	/* each residual alone, made nonzero, changes the scores */
	which[0] = ad->r_C;
	which[1] = ad->R_U;
	which[2] = ad->R_V;
	for (int k = 0; k < 3; k++)
	{
		float		saved = which[k]->w[0];
		int			changed = 0;

		which[k]->w[0] = 0.5f;
		XD_REQUIRE(xd_model_score(m2, &b, s2) == XD_OK);
		for (int i = 0; i < b.n; i++)
			changed += s1[i] != s2[i];
		XD_CHECK(changed > 0);
		which[k]->w[0] = saved;
	}

	/* ranking candidates (score_items) applies the item residual too */
	{
		int32_t		items[8];
		float		si[8],
					sb[8];
		xd_batch	bb = {0};

		ad->R_V->w[3] = 0.7f;
		ad->R_U->w[1] = -0.4f;
		ad->R_C->w[2] = 0.3f;
		XD_REQUIRE(xd_batch_init(&bb, 8, b.m) == XD_OK);
		for (int i = 0; i < 8; i++)
		{
			items[i] = i % ds->n_items;
			bb.users[i] = b.users[0];
			bb.items[i] = items[i];
			memcpy(bb.c + (size_t) i * b.m, b.c, sizeof(float) * b.m);
		}
		bb.n = 8;
		XD_CHECK(xd_model_score_items(m2, b.users[0], b.c, items, NULL, 8, si) == XD_OK);
		XD_CHECK(xd_model_score(m2, &bb, sb) == XD_OK);
		for (int i = 0; i < 8; i++)
			XD_CHECK_NEAR(si[i], sb[i], 1e-5 * (1.0 + fabs(sb[i])));
		xd_batch_free(&bb);
	}
	xd_model_free(m2);
	xd_adapt_free(ad);
	free(s1);
	free(s2);
	xd_batch_free(&b);
	xd_transfer_result_free(&direct);
	tw_free(&w);
}

/*
 * A DRR model on ds over a copy of the source's modules: a fresh domain
 * (seeded), zero residuals, the source's encoders at lambda_kl 0.5, shared
 * modules not yet frozen. The caller frees *model, then *ad, *dom and *sh
 * (each set as soon as it exists, so also after a failure).
 */
static bool
tw_drr_model(const tw_world *w, const xd_dataset *ds, uint64_t seed, xd_shared **sh,
			 xd_domain **dom, xd_adapt **ad, xd_model **model)
{
	xd_rng		rng;

	if (xd_shared_clone(w->src.shared, sh) != XD_OK ||
		xd_domain_new(&w->cfg, ds->n_users, ds->n_items, dom) != XD_OK)
		return false;
	xd_rng_seed(&rng, seed);
	xd_domain_init(*dom, &rng, 0.0f);
	if (xd_model_new(&w->cfg, *sh, *dom, false, false, model) != XD_OK ||
		xd_adapt_new(&w->cfg, ad) != XD_OK ||
		xd_model_set_adapt(*model, *ad) != XD_OK ||
		xd_adapt_add_kl(*model, w->enc, 0.5f) != XD_OK)
		return false;
	return true;
}

/*
 * Frozen modules skip their own gradients and the passes only those need,
 * never what flows to the residuals and the embeddings: a frozen backward
 * gives the residuals and T's embeddings and biases the gradients of the
 * full backward (same batch, same dropout draws), with the KL term on.
 */
XD_TEST(transfer_frozen_backward_matches_full)
{
	tw_world	w;
	const xd_dataset *ds;
	xd_shared  *sh = NULL;
	xd_domain  *dom = NULL;
	xd_model   *model = NULL;
	xd_adapt   *ad = NULL;
	xd_batch	b = {0};
	int64_t    *rows = NULL;
	int64_t		n_rows;
	xd_param  **params;
	int			n_params;
	float	   *full[XD_MAX_PARAMS] = {0};
	xd_rng		rng;
	double		loss_full,
				loss_frozen;
	int			compared = 0;

	XD_REQUIRE(tw_make(&w, 9, 0));
	ds = w.g->domains[1].ds;
	XD_REQUIRE(tw_drr_model(&w, ds, 9, &sh, &dom, &ad, &model));
	xd_model_params(model, &params, &n_params);
	/* nonzero residuals, so that every path through them carries gradient */
	for (int i = 0; i < n_params; i++)
		if (params[i]->group == XD_GROUP_RESIDUAL)
			for (int j = 0; j < params[i]->rows * params[i]->cols; j++)
				params[i]->w[j] = 0.05f * (float) ((j * 7 + i) % 11 - 5);
	XD_REQUIRE(xd_train_rows(ds, &rows, &n_rows) == XD_OK);
	XD_REQUIRE(xd_batch_init(&b, xd_model_max_rows(model), w.cfg.m) == XD_OK);
	xd_rng_seed(&rng, 10);
	XD_REQUIRE(xd_sample_batch(ds, rows, n_rows < 64 ? (int) n_rows : 64, &rng, &b) == XD_OK);

	xd_model_zero_grad(model);
	xd_rng_seed(&rng, 11);
	XD_REQUIRE(xd_model_loss_backward(model, &b, &rng, true, &loss_full) == XD_OK);
	for (int i = 0; i < n_params; i++)
	{
		size_t		len = (size_t) params[i]->rows * params[i]->cols;

		XD_REQUIRE((full[i] = malloc(sizeof(float) * (len ? len : 1))) != NULL);
		memcpy(full[i], params[i]->g, sizeof(float) * len);
	}

	xd_model_freeze_shared(model, true);
	xd_model_zero_grad(model);
	xd_rng_seed(&rng, 11);
	XD_REQUIRE(xd_model_loss_backward(model, &b, &rng, true, &loss_frozen) == XD_OK);
	XD_CHECK(loss_full == loss_frozen);
	for (int i = 0; i < n_params; i++)
	{
		const xd_param *p = params[i];
		double		norm = 0.0;

		if (p->group == XD_GROUP_SHARED)
			continue;
		for (int j = 0; j < p->rows * p->cols; j++)
		{
			XD_CHECK_NEAR(p->g[j], full[i][j], 1e-6 + 1e-5 * fabs(full[i][j]));
			norm += fabs(full[i][j]);
		}
		/* T's tables get gradient only on the batch's rows, residuals everywhere */
		XD_CHECK(norm > 0.0);
		compared++;
	}
	XD_CHECK(compared >= 5);	/* embeddings, biases and the three residuals */

	for (int i = 0; i < n_params; i++)
		free(full[i]);
	free(rows);
	xd_batch_free(&b);
	xd_model_free(model);
	xd_adapt_free(ad);
	xd_domain_free(dom);
	xd_shared_free(sh);
	tw_free(&w);
}

/* A DRR adaptation leaves the source's modules and the encoders bit-identical. */
XD_TEST(transfer_drr_leaves_shared_bit_identical)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	tw_snap		snap;
	const xd_dataset *ds;

	memset(&snap, 0, sizeof(snap));
	XD_REQUIRE(tw_make(&w, 6, 0));
	ds = w.g->domains[2].ds;
	tw_snap_take(&snap, w.src.shared->params, w.src.shared->n_params);
	for (int k = 0; k < XD_N_ENC; k++)
		tw_snap_take(&snap, w.enc->e[k]->params, w.enc->e[k]->n_params);
	XD_CHECK(snap.n == w.src.shared->n_params + 3 * 6);

	tw_opts(&o, XD_TRANSFER_DRR, 6);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &r) == XD_OK);
	XD_CHECK(r.method == XD_TRANSFER_DRR && r.adapt && r.shared == NULL);
	XD_CHECK(r.model->shared == w.src.shared);	/* borrowed, not copied */
	XD_CHECK(r.lambda_kl == 0.1f && r.epochs >= 1);
	XD_CHECK(tw_snap_diff(&snap) == 0);
	/* and it did train: residuals moved off zero, KL in the loss */
	{
		int			moved = 0;

		for (int i = 0; i < r.adapt->n_params; i++)
			for (size_t k = 0; k < tw_param_bytes(&r.adapt->params[i]) / sizeof(float); k++)
				moved += r.adapt->params[i].w[k] != 0.0f;
		XD_CHECK(moved > 0);
		XD_CHECK(r.loss[r.n_history - 1] > r.loss_data[r.n_history - 1]);
	}
	xd_transfer_result_free(&r);

	/* Anneal trains its own copy; the source stays as it was too */
	tw_opts(&o, XD_TRANSFER_ANNEAL, 6);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &r) == XD_OK);
	XD_CHECK(r.shared != NULL && r.shared != w.src.shared && r.adapt == NULL);
	XD_CHECK(tw_snap_diff(&snap) == 0);
	{
		int			moved = 0;

		for (int i = 0; i < r.shared->n_params; i++)
			moved += memcmp(r.shared->params[i].w, w.src.shared->params[i].w,
							tw_param_bytes(&r.shared->params[i])) != 0;
		XD_CHECK(moved > 0);
	}
	xd_transfer_result_free(&r);
	tw_snap_free(&snap);
	tw_free(&w);
}

static bool
tw_same_result(const xd_transfer_result *a, const xd_transfer_result *b)
{
	if (a->n_history != b->n_history || a->best_epoch != b->best_epoch ||
		a->epochs != b->epochs)
		return false;
	for (int i = 0; i < a->n_history; i++)
		if (a->loss[i] != b->loss[i])
			return false;
	for (int i = 0; i < a->domain->n_params; i++)
		if (memcmp(a->domain->params[i].w, b->domain->params[i].w,
				   tw_param_bytes(&a->domain->params[i])) != 0)
			return false;
	if (a->adapt)
		for (int i = 0; i < a->adapt->n_params; i++)
			if (memcmp(a->adapt->params[i].w, b->adapt->params[i].w,
					   tw_param_bytes(&a->adapt->params[i])) != 0)
				return false;
	return true;
}

XD_TEST(transfer_slow_deterministic)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result a,
				b,
				c;
	const xd_dataset *ds;

	XD_REQUIRE(tw_make(&w, 7, 0));
	ds = w.g->domains[1].ds;
	tw_opts(&o, XD_TRANSFER_DRR, 11);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &a) == XD_OK);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &b) == XD_OK);
	o.seed = 12;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &c) == XD_OK);
	XD_CHECK(tw_same_result(&a, &b));
	XD_CHECK(a.best_metric == b.best_metric);
	XD_CHECK(!tw_same_result(&a, &c));
	xd_transfer_result_free(&a);
	xd_transfer_result_free(&b);
	xd_transfer_result_free(&c);
	tw_free(&w);
}

/*
 * auto's rule on made-up terms: a gain counts only beyond z standard errors
 * of the paired differences, and ties or noise keep target-only.
 */
XD_TEST(transfer_auto_choose)
{
	enum {N = 400};
	static double base[N],
				noisy[N],
				better[N],
				best[N];
	const double *each[4] = {base, noisy, better, best};
	double		gain[4],
				se[4];

	for (int i = 0; i < N; i++)
	{
		base[i] = (i % 10) / 10.0;
		/* mean gain 0.005, spread 0.3: about 0.33 standard errors */
		noisy[i] = base[i] + (i % 2 ? 0.305 : -0.295);
		better[i] = base[i] + 0.05 + (i % 2 ? 0.01 : -0.01);
		best[i] = base[i] + 0.08 + (i % 2 ? 0.3 : -0.3);
	}
	/* noise alone keeps target-only */
	XD_CHECK(xd_auto_choose(each, 2, N, 2.0, gain, se) == 0);
	XD_CHECK(fabs(gain[1] - 0.005) < 1e-12 && gain[1] < 2.0 * se[1]);
	XD_CHECK(gain[0] == 0.0 && se[0] == 0.0);
	/* a clear gain is taken, and a larger one that also clears its noise wins */
	XD_CHECK(xd_auto_choose(each, 3, N, 2.0, gain, se) == 2);
	XD_CHECK(xd_auto_choose(each, 4, N, 2.0, gain, se) == 3);
	XD_CHECK(gain[3] > gain[2] && gain[3] > 2.0 * se[3]);
	/* ... unless the margin asked for is wider than its noise allows */
	XD_CHECK(xd_auto_choose(each, 4, N, 6.0, gain, se) == 2);
	/* a tie, one positive, or none: target-only */
	each[1] = base;
	XD_CHECK(xd_auto_choose(each, 2, N, 2.0, gain, se) == 0);
	XD_CHECK(xd_auto_choose(each + 1, 3, 1, 2.0, gain, se) == 0 && isinf(se[1]));
	XD_CHECK(xd_auto_choose(each, 4, 0, 2.0, gain, se) == 0);
}

/*
 * The blend of two fits (xd_blend_score, xd_blend_score_items): a = 0 and
 * 1 are each fit bit for bit, 0.5 the mean, rank's path the batch's numbers
 * for one user in one context; a outside [0, 1] and a pair of different
 * targets are refused. xd_auto_blends: target-only kept on a large target.
 */
XD_TEST(transfer_blend)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result to,
				direct;
	const xd_dataset *ds;
	xd_batch	b = {0};
	float	   *s1,
			   *s2,
			   *bl,
			   *tmp;
	int32_t    *items;
	int			n;

	XD_REQUIRE(tw_make(&w, 9, 0));
	ds = w.g->domains[1].ds;
	tw_opts(&o, XD_TRANSFER_TARGET_ONLY, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &to) == XD_OK);
	tw_opts(&o, XD_TRANSFER_DIRECT, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &direct) == XD_OK);
	XD_REQUIRE(tw_batch(ds, &b));
	n = b.n;
	s1 = malloc(sizeof(float) * n);
	s2 = malloc(sizeof(float) * n);
	bl = malloc(sizeof(float) * n);
	tmp = malloc(sizeof(float) * n);
	items = malloc(sizeof(int32_t) * n);
	XD_REQUIRE(s1 && s2 && bl && tmp && items);
	XD_REQUIRE(xd_model_score(to.model, &b, s1) == XD_OK);
	XD_REQUIRE(xd_model_score(direct.model, &b, s2) == XD_OK);
	XD_CHECK(memcmp(s1, s2, sizeof(float) * n) != 0);	/* two different fits */

	XD_CHECK(xd_blend_score(to.model, direct.model, 0.0f, &b, bl, tmp) == XD_OK);
	XD_CHECK(memcmp(bl, s1, sizeof(float) * n) == 0);
	XD_CHECK(xd_blend_score(to.model, direct.model, 1.0f, &b, bl, tmp) == XD_OK);
	XD_CHECK(memcmp(bl, s2, sizeof(float) * n) == 0);
	XD_CHECK(xd_blend_score(to.model, direct.model, XD_BLEND_A, &b, bl, tmp) == XD_OK);
	for (int r = 0; r < n; r++)
		XD_CHECK_NEAR(bl[r], 0.5 * s1[r] + 0.5 * s2[r], 1e-6);

	/* rank's path: one user, one context, the batch's items */
	for (int r = 0; r < n; r++)
	{
		items[r] = b.items[r];
		b.users[r] = b.users[0];
		memcpy(b.c + (size_t) r * b.m, b.c, sizeof(float) * b.m);
	}
	XD_CHECK(xd_blend_score(to.model, direct.model, 0.25f, &b, bl, tmp) == XD_OK);
	XD_CHECK(xd_blend_score_items(to.model, direct.model, 0.25f, b.users[0], b.c, items,
								  NULL, n, s1, tmp) == XD_OK);
	for (int r = 0; r < n; r++)
		XD_CHECK_NEAR(s1[r], bl[r], 1e-5);

	/* refused: a outside [0, 1], the source's model (another domain) */
	XD_CHECK(xd_blend_score(to.model, direct.model, -0.1f, &b, bl, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score(to.model, direct.model, 1.5f, &b, bl, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score(to.model, direct.model, NAN, &b, bl, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score_items(to.model, direct.model, NAN, b.users[0], b.c, items,
								  NULL, n, s1, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score(to.model, w.src.model, 0.5f, &b, bl, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score_items(w.src.model, direct.model, 0.5f, b.users[0], b.c, items,
								  NULL, n, s1, tmp) == XD_EINVAL);
	XD_CHECK(xd_blend_score(NULL, direct.model, 0.5f, &b, bl, tmp) == XD_EINVAL);

	/* the rule: target-only kept (0) on a target of auto_small_rows rows or more */
	xd_transfer_opts_default(&o);
	o.auto_small_rows = ds->n_split[XD_SPLIT_TRAIN];
	XD_CHECK(xd_auto_blends(&o, ds, 0));
	XD_CHECK(!xd_auto_blends(&o, ds, 1) && !xd_auto_blends(&o, ds, 2));
	o.auto_small_rows = ds->n_split[XD_SPLIT_TRAIN] + 1;
	XD_CHECK(!xd_auto_blends(&o, ds, 0));
	o.auto_small_rows = 0;
	XD_CHECK(xd_auto_blends(&o, ds, 0));

	/*
	 * auto with auto_blend keeps DRR's fit beside target-only's where the
	 * rule says (a margin no transfer passes, every target large), and its
	 * scores are the blend's; off, or where auto keeps a transfer, no pair
	 */
	for (int on = 0; on <= 1; on++)
	{
		xd_transfer_result ar;

		tw_opts(&o, XD_TRANSFER_AUTO, 9);
		o.auto_margin_se = 100.0;
		o.auto_small_rows = 0;
		o.auto_blend = on;
		XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &ar) == XD_OK);
		XD_CHECK(ar.method == XD_TRANSFER_TARGET_ONLY);
		XD_CHECK((ar.blend != NULL) == on);
		if (ar.blend)
		{
			XD_CHECK(ar.blend->method == XD_TRANSFER_DRR && ar.blend->model != NULL);
			XD_CHECK(ar.blend->adapt != NULL && ar.blend->shared == NULL);
			XD_CHECK(ar.blend_a == XD_BLEND_A);
			XD_CHECK(xd_model_score(ar.model, &b, s1) == XD_OK);
			XD_CHECK(xd_model_score(ar.blend->model, &b, s2) == XD_OK);
			XD_CHECK(xd_transfer_score(&ar, &b, bl) == XD_OK);
			for (int r = 0; r < n; r++)
				XD_CHECK_NEAR(bl[r], 0.5 * s1[r] + 0.5 * s2[r], 1e-6);

			/*
			 * the pair is what report_real composes as the product's auto:
			 * target-only fitted alone with the same options, and DRR alone
			 * searched by decay, bit for bit
			 */
			{
				xd_transfer_opts so = o;
				xd_transfer_result alone[2];
				float	   *a1 = malloc(sizeof(float) * n),
						   *a2 = malloc(sizeof(float) * n);

				so.method = XD_TRANSFER_TARGET_ONLY;
				XD_REQUIRE(a1 && a2 && xd_transfer(w.src.shared, w.enc, ds, &so, &alone[0]) == XD_OK);
				so.method = XD_TRANSFER_DRR;
				so.lr_decay = true;
				XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &so, &alone[1]) == XD_OK);
				XD_CHECK(xd_model_score(alone[0].model, &b, a1) == XD_OK);
				XD_CHECK(xd_model_score(alone[1].model, &b, a2) == XD_OK);
				XD_CHECK(memcmp(a1, s1, sizeof(float) * n) == 0);
				XD_CHECK(memcmp(a2, s2, sizeof(float) * n) == 0);
				xd_transfer_result_free(&alone[0]);
				xd_transfer_result_free(&alone[1]);
				free(a1);
				free(a2);
			}

			/*
			 * validated as the blend, on target-only's positives; its
			 * best_metric stays target-only's (the mean of its own terms)
			 */
			{
				xd_transfer_result *pair = ar.blend;
				double	   *eb = NULL,
						   *et = NULL,
							sum = 0.0;
				int64_t		nb = 0,
							nt = 0;

				XD_CHECK(xd_transfer_validation(&ar, ds, &o, &eb, &nb) == XD_OK);
				ar.blend = NULL;
				XD_CHECK(xd_transfer_validation(&ar, ds, &o, &et, &nt) == XD_OK);
				ar.blend = pair;
				XD_CHECK(nb == nt && nb > 0);
				XD_CHECK(eb && et && memcmp(eb, et, sizeof(double) * (size_t) nb) != 0);
				for (int64_t i = 0; et && i < nt; i++)
					sum += et[i];
				XD_CHECK_NEAR(sum / (double) nt, ar.best_metric, 1e-9);
				free(eb);
				free(et);
			}
		}
		xd_transfer_result_free(&ar);
		XD_CHECK(ar.blend == NULL);
	}
	tw_opts(&o, XD_TRANSFER_AUTO, 9);
	o.auto_margin_se = 0.0;
	o.auto_small_rows = 0;
	o.auto_blend = true;
	{
		xd_transfer_result ar;

		XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &ar) == XD_OK);
		/* margin 0: the best on validation; a pair only where it is target-only */
		XD_CHECK((ar.blend != NULL) == (ar.method == XD_TRANSFER_TARGET_ONLY));
		xd_transfer_result_free(&ar);
	}

	free(s1);
	free(s2);
	free(bl);
	free(tmp);
	free(items);
	xd_batch_free(&b);
	xd_transfer_result_free(&to);
	xd_transfer_result_free(&direct);
	tw_free(&w);
}

/*
 * The small-target size by feedback (xd_auto_small_rows): auto_small_rows on
 * an implicit target, auto_small_rows_explicit (0 by default) on an
 * explicit one. By default auto on a small explicit target keeps its margin
 * and, where it keeps target-only, the blend with DRR (auto_blend); on a
 * small implicit target margin 0 and no blend.
 */
XD_TEST(transfer_small_rows_by_feedback)
{
	for (int fb = 0; fb <= 1; fb++)
	{
		tw_world	w;
		xd_transfer_opts o;
		xd_transfer_result ar;
		const xd_dataset *ds;
		int64_t		rows;

		XD_REQUIRE(tw_make(&w, 9, fb));
		ds = w.g->domains[1].ds;
		rows = ds->n_split[XD_SPLIT_TRAIN];
		xd_transfer_opts_default(&o);
		XD_CHECK(o.auto_small_rows == XD_AUTO_SMALL_ROWS && o.auto_small_rows_explicit == 0);
		XD_REQUIRE(rows > 0 && rows < XD_AUTO_SMALL_ROWS);	/* a small target */
		XD_CHECK(xd_auto_small_rows(&o, ds) == (fb ? 0 : XD_AUTO_SMALL_ROWS));
		XD_CHECK(xd_auto_margin(&o, ds) == (fb ? XD_AUTO_MARGIN_SE : 0.0));
		XD_CHECK(xd_auto_blends(&o, ds, 0) == (fb == 1));
		XD_CHECK(!xd_auto_blends(&o, ds, 1) && !xd_auto_blends(&o, ds, 2));
		/* each feedback reads its own size */
		o.auto_small_rows = 0;
		o.auto_small_rows_explicit = rows + 1;
		XD_CHECK(xd_auto_small_rows(&o, ds) == (fb ? rows + 1 : 0));
		XD_CHECK(xd_auto_margin(&o, ds) == (fb ? 0.0 : XD_AUTO_MARGIN_SE));
		XD_CHECK(xd_auto_blends(&o, ds, 0) == (fb == 0));

		/* auto with the defaults and auto_blend, a margin no transfer passes */
		tw_opts(&o, XD_TRANSFER_AUTO, 9);
		o.auto_blend = true;
		o.auto_margin_se = 100.0;
		o.auto_small_rows_explicit = -1;
		XD_CHECK(xd_transfer(w.src.shared, w.enc, ds, &o, &ar) == XD_EINVAL);
		xd_transfer_result_free(&ar);
		o.auto_small_rows_explicit = XD_AUTO_SMALL_ROWS_EXPLICIT;
		XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &ar) == XD_OK);
		if (fb)
			XD_CHECK(ar.auto_margin == 100.0 && ar.method == XD_TRANSFER_TARGET_ONLY &&
					 ar.blend != NULL && ar.blend->method == XD_TRANSFER_DRR &&
					 ar.blend_a == XD_BLEND_A);
		else
			XD_CHECK(ar.auto_margin == 0.0 && ar.blend == NULL);
		xd_transfer_result_free(&ar);
		tw_free(&w);
	}
}

/*
 * auto on an explicit target fits target-only and DRR, not Anneal
 * (xd_auto_fits; docs/transfer.md, "Explicit targets without Anneal"): its
 * epochs are exactly those of target-only and DRR fitted alone, its choice
 * is theirs; an implicit target still fits all three
 */
static void
tw_count_epoch(void *arg, const xd_epoch_report *rep)
{
	(void) rep;
	(*(int *) arg)++;
}

XD_TEST(transfer_auto_explicit_without_anneal)
{
	for (int fb = 0; fb <= 1; fb++)
	{
		tw_world	w;
		xd_transfer_opts o;
		xd_transfer_result ar,
					alone[3];
		const xd_dataset *ds;
		int			epochs = 0,
					counted = 0;

		XD_REQUIRE(tw_make(&w, 9, fb));
		ds = w.g->domains[1].ds;
		XD_CHECK(xd_auto_fits(ds, 0) && xd_auto_fits(ds, 2));
		XD_CHECK(xd_auto_fits(ds, 1) == !fb);
		tw_opts(&o, XD_TRANSFER_AUTO, 9);
		o.auto_margin_se = 0.0;	/* the best on validation */
		o.hooks.progress = tw_count_epoch;	/* numbers every fit's epochs */
		o.hooks.progress_arg = &counted;
		XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &ar) == XD_OK);
		XD_CHECK(ar.n_reported == counted && counted > 0);
		XD_CHECK(ar.auto_fitted[0] && ar.auto_fitted[2] && ar.auto_fitted[1] == !fb);
		/* the fits auto makes, alone: target-only, Anneal and DRR by decay */
		for (int i = 0; i < 3; i++)
		{
			xd_transfer_opts so = o;

			so.method = i == 0 ? XD_TRANSFER_TARGET_ONLY :
				(i == 1 ? XD_TRANSFER_ANNEAL : XD_TRANSFER_DRR);
			so.lr_decay = i > 0;
			XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &so, &alone[i]) == XD_OK);
			if (i != 1 || !fb)
				epochs += alone[i].n_reported;
		}
		/* every epoch auto ran is one of the fits it kept a record of */
		XD_CHECK(ar.n_reported == epochs);
		XD_CHECK(ar.auto_metric[0] == alone[0].best_metric);
		XD_CHECK(ar.auto_metric[2] == alone[2].best_metric);
		if (fb)
		{
			XD_CHECK(isnan(ar.auto_metric[1]) && ar.auto_seconds[1] == 0.0);
			XD_CHECK(isnan(ar.auto_gain[1]) && isnan(ar.auto_gain_se[1]));
			/* margin 0: DRR if it gains on validation, else target-only */
			XD_CHECK(ar.method == (ar.auto_gain[2] > 0.0 ? XD_TRANSFER_DRR :
								   XD_TRANSFER_TARGET_ONLY));
		}
		else
			XD_CHECK(ar.auto_metric[1] == alone[1].best_metric && ar.auto_seconds[1] > 0.0);
		for (int i = 0; i < 3; i++)
			xd_transfer_result_free(&alone[i]);
		xd_transfer_result_free(&ar);
		tw_free(&w);
	}
}

static void
tw_methods(int explicit_feedback)
{
	tw_world	w;
	const xd_dataset *ds;

	XD_REQUIRE(tw_make(&w, 8, explicit_feedback));
	ds = w.g->domains[1].ds;
	for (int m = 0; m < XD_N_TRANSFER; m++)
		for (int pre = 0; pre <= 2; pre += 2)
		{
			xd_transfer_opts o;
			xd_transfer_result r;
			xd_eval_opts eo;

			tw_opts(&o, (xd_transfer_method) m, 3);
			o.pretrain_epochs = pre;
			/*
			 * auto's small-target rule on (margin 0) without pretraining, off
			 * with; auto_small_rows is the implicit target's: on an explicit
			 * one the rule is auto_small_rows_explicit's, off by default
			 */
			o.auto_small_rows = pre == 0 ? ds->n_split[XD_SPLIT_TRAIN] + 1 : 0;
			XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &r) == XD_OK);
			XD_CHECK(r.requested == (xd_transfer_method) m);
			XD_CHECK(r.model != NULL && r.domain != NULL);
			XD_CHECK(r.seconds > 0.0 && r.seconds >= r.pretrain_seconds);
			XD_CHECK(isfinite(r.best_metric));
			XD_CHECK(explicit_feedback ? r.best_metric > 0.0 :
					 (r.best_metric > 0.0 && r.best_metric <= 1.0));
			if (m == XD_TRANSFER_TARGET_ONLY)
				XD_CHECK(r.n_pretrain == 0);
			else if (m != XD_TRANSFER_AUTO)
				XD_CHECK(r.n_pretrain == pre);
			if (m != XD_TRANSFER_DIRECT && m != XD_TRANSFER_AUTO)
				XD_CHECK(r.epochs >= 1 && r.n_history == r.n_pretrain + r.epochs);
			if (m == XD_TRANSFER_AUTO)
			{
				int			k = r.method == XD_TRANSFER_ANNEAL ? 1 :
					(r.method == XD_TRANSFER_DRR ? 2 : 0);

				/*
				 * target-only unless a candidate gains beyond the margin (2
				 * standard errors; 0 on a small implicit target); then the
				 * passing candidate of largest gain
				 */
				XD_CHECK(r.auto_margin == (pre == 0 && !explicit_feedback ? 0.0 : XD_AUTO_MARGIN_SE));
				XD_CHECK(r.auto_margin == xd_auto_margin(&o, ds));
				XD_CHECK(r.method == XD_TRANSFER_TARGET_ONLY ||
						 r.method == XD_TRANSFER_ANNEAL || r.method == XD_TRANSFER_DRR);
				XD_CHECK(r.best_metric == r.auto_metric[k]);
				XD_CHECK(r.auto_gain[0] == 0.0 && r.auto_gain_se[0] == 0.0);
				/* an explicit target: no Anneal (xd_auto_fits) */
				XD_CHECK(r.auto_fitted[0] && r.auto_fitted[2] &&
						 r.auto_fitted[1] == !explicit_feedback);
				XD_CHECK(r.auto_fitted[k]);
				for (int c = 1; c < 3; c++)
				{
					bool		passes = r.auto_gain[c] > r.auto_margin * r.auto_gain_se[c];

					if (!r.auto_fitted[c])
					{
						XD_CHECK(isnan(r.auto_metric[c]) && isnan(r.auto_gain[c]) &&
								 isnan(r.auto_gain_se[c]) && r.auto_seconds[c] == 0.0);
						continue;
					}
					XD_CHECK(r.auto_gain_se[c] > 0.0);
					XD_CHECK(k == 0 ? !passes : (c == k ? passes :
												 !passes || r.auto_gain[c] <= r.auto_gain[k]));
				}
				XD_CHECK(r.seconds >= r.auto_seconds[0] + r.auto_seconds[1] +
						 r.auto_seconds[2] - 1e-9);
			}
			else
			{
				double	   *each = NULL;
				double		sum = 0.0;
				int64_t		n = 0;

				/* the validation terms average to the fit's validation metric */
				XD_CHECK(xd_transfer_validation(&r, ds, &o, &each, &n) == XD_OK);
				XD_CHECK(n > 0 && each != NULL);
				for (int64_t i = 0; i < n; i++)
					sum += each[i];
				XD_CHECK(explicit_feedback ? sqrt(-sum / n) == r.best_metric :
						 sum / n == r.best_metric);
				free(each);
			}
			/* the result scores like any model */
			xd_eval_opts_default(&eo);
			if (explicit_feedback)
			{
				xd_rating_metrics rm;

				XD_CHECK(xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_transfer_score,
										 &r, &rm) == XD_OK);
				XD_CHECK(rm.n > 0 && isfinite(rm.rmse));
			}
			else
			{
				xd_rank_metrics rm;

				XD_CHECK(xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_transfer_score,
										 &r, &rm) == XD_OK);
				XD_CHECK(rm.n > 0 && rm.mrr > 0.0);
			}
			xd_transfer_result_free(&r);
		}
	tw_free(&w);
}

XD_TEST(transfer_slow_every_method_implicit)
{
	tw_methods(0);
}

XD_TEST(transfer_slow_every_method_explicit)
{
	tw_methods(1);
}

XD_TEST(transfer_slow_lambda_search)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r,
				one;

	XD_REQUIRE(tw_make(&w, 9, 0));
	tw_opts(&o, XD_TRANSFER_DRR, 4);
	o.lambda_search = true;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_OK);
	XD_CHECK(r.lambda_kl == 0.01f || r.lambda_kl == 0.1f || r.lambda_kl == 1.0f);
	XD_CHECK(r.adapt && r.adapt->lambda_kl == r.lambda_kl);
	XD_CHECK(r.n_pretrain == 1);
	/* the search's time includes its three fits: more than one fit's */
	o.lambda_search = false;
	o.lambda_kl = r.lambda_kl;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &one) == XD_OK);
	XD_CHECK(r.best_metric == one.best_metric);
	XD_CHECK(r.seconds > one.seconds);
	xd_transfer_result_free(&one);
	xd_transfer_result_free(&r);
	tw_free(&w);
}

/* Copies a's tensors (names and bytes) for params_equal; false out of memory. */
static bool
params_save(const xd_model *a, float **copy, char names[][64])
{
	for (int i = 0; i < a->n_params; i++)
	{
		size_t		sz = sizeof(float) * (size_t) a->params[i]->rows * (size_t) a->params[i]->cols;

		if ((copy[i] = malloc(sz)) == NULL)
			return false;
		memcpy(copy[i], a->params[i]->w, sz);
		snprintf(names[i], 64, "%s", a->params[i]->name);
	}
	return true;
}

/* every parameter's name and values, in the model's order */
static bool
params_equal(const xd_model *a, float **copy, const char (*names)[64], int n)
{
	if (a->n_params != n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(a->params[i]->name, names[i]) != 0 ||
			memcmp(a->params[i]->w, copy[i],
				   sizeof(float) * (size_t) a->params[i]->rows * (size_t) a->params[i]->cols) != 0)
			return false;
	return true;
}

/*
 * Option repeat "auto" below its share on an adapted target
 * (xd_transfer_repeat_decide): the lift added after the fit, calibrated and
 * decided on validation. On the target's rows with each pair's first only
 * the lift cannot pay: not kept, and the result is the one xd_transfer
 * returned, every tensor's name, order and bytes and the repeat record
 * (what a version stores). On the target as generated (its users repeat)
 * DRR's fit keeps it: rep.w (zero) and rep.b (the calibrated lift) right
 * after the domain's tensors and before DRR's residuals, as a "lift" fit
 * orders them, cfg marked "lift", the validation MRR with the lift beyond
 * one s.e. over none. Refused: a fit with a term already.
 */
XD_TEST(transfer_repeat_decide_keeps_or_restores)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	xd_repeat_pop_calibration cal;
	xd_repeat_calibration before;
	xd_dataset *once;
	float	   *copy[XD_MAX_PARAMS];
	char		names[XD_MAX_PARAMS][64];
	int			n;

	XD_REQUIRE(tw_make(&w, 9, 0));
	XD_REQUIRE(fx_without_repeats(w.g->domains[1].ds, &once) == XD_OK);
	tw_opts(&o, XD_TRANSFER_DRR, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, once, &o, &r) == XD_OK);
	XD_REQUIRE(!xd_model_has_repeat(r.model) && r.adapt != NULL);
	n = r.model->n_params;
	XD_REQUIRE(params_save(r.model, copy, names));
	before = r.repeat;
	XD_REQUIRE(xd_transfer_repeat_decide(&r, NULL, once, &o, &cal) == XD_OK);
	XD_CHECK(cal.decided && !cal.term_kept && cal.n_valid > 0);
	XD_CHECK(!xd_model_has_repeat(r.model) && !r.cfg.repeat && !r.model->cfg.repeat_lift);
	XD_CHECK(params_equal(r.model, copy, (const char (*)[64]) names, n));
	XD_CHECK(memcmp(&before, &r.repeat, sizeof(before)) == 0);
	for (int i = 0; i < n; i++)
		free(copy[i]);
	xd_transfer_result_free(&r);

	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_OK);
	n = r.model->n_params;
	XD_REQUIRE(xd_transfer_repeat_decide(&r, NULL, w.g->domains[1].ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.decided && cal.term_kept && cal.mrr[0] - cal.mrr_off > cal.se_gain);
	XD_CHECK(xd_model_has_repeat(r.model) && r.cfg.repeat && r.cfg.repeat_lift &&
			 r.model->cfg.repeat_lift && r.model->n_params == n + 2);
	{
		int			at = -1;

		for (int i = 0; i < r.model->n_params; i++)
			if (strcmp(r.model->params[i]->name, "rep.w") == 0)
				at = i;
		XD_REQUIRE(at > 0 && at + 1 < r.model->n_params);
		XD_CHECK(strcmp(r.model->params[at - 1]->name, "emb.item") == 0 ||
				 strcmp(r.model->params[at - 1]->name, "bias.item") == 0);
		XD_CHECK(strcmp(r.model->params[at + 1]->name, "rep.b") == 0);
		XD_CHECK(r.model->params[at + 2]->group == XD_GROUP_RESIDUAL);
		for (int j = 0; j < r.model->cfg.m; j++)
			XD_CHECK(r.model->params[at]->w[j] == 0.0f);
		XD_CHECK(r.model->params[at + 1]->w[0] == r.repeat.shift && r.repeat.n_valid > 0);
	}
	XD_CHECK(xd_transfer_repeat_decide(&r, NULL, w.g->domains[1].ds, &o, &cal) == XD_EINVAL);
	xd_transfer_result_free(&r);
	xd_dataset_free(once);
	tw_free(&w);
}

/*
 * ... and when the term cannot be added to a blend's second fit (here its
 * domain made to refuse it: xd_model_add_repeat wants implicit feedback),
 * the error leaves the result as xd_transfer returned it: the first fit,
 * which was given the term and calibrated, loses it again, every tensor's
 * name, order and bytes and the repeat record as before (it used to keep
 * the term, uncalibrated as the version would record it).
 */
XD_TEST(transfer_repeat_decide_restores_on_error)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r,
			   *second;
	xd_repeat_pop_calibration cal;
	xd_repeat_calibration before;
	xd_dataset *once;
	float	   *copy[XD_MAX_PARAMS];
	char		names[XD_MAX_PARAMS][64];
	int			n;

	XD_REQUIRE(tw_make(&w, 9, 0));
	XD_REQUIRE(fx_without_repeats(w.g->domains[1].ds, &once) == XD_OK);
	XD_REQUIRE((second = malloc(sizeof(*second))) != NULL);
	tw_opts(&o, XD_TRANSFER_TARGET_ONLY, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, once, &o, second) == XD_OK);
	tw_opts(&o, XD_TRANSFER_DRR, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, once, &o, &r) == XD_OK);
	XD_REQUIRE(r.blend == NULL && !xd_model_has_repeat(r.model));
	r.blend = second;
	r.blend_a = 0.5f;
	n = r.model->n_params;
	XD_REQUIRE(params_save(r.model, copy, names));
	before = r.repeat;
	second->model->domain->feedback = XD_EXPLICIT;
	XD_CHECK(xd_transfer_repeat_decide(&r, NULL, once, &o, &cal) != XD_OK);
	second->model->domain->feedback = XD_IMPLICIT;
	XD_CHECK(!cal.term_kept);
	XD_CHECK(!xd_model_has_repeat(r.model) && !r.cfg.repeat && !r.model->cfg.repeat_lift);
	XD_CHECK(!xd_model_has_repeat(second->model) && !second->cfg.repeat);
	XD_CHECK(params_equal(r.model, copy, (const char (*)[64]) names, n));
	XD_CHECK(memcmp(&before, &r.repeat, sizeof(before)) == 0);
	for (int i = 0; i < n; i++)
		free(copy[i]);
	xd_transfer_result_free(&r);
	xd_dataset_free(once);
	tw_free(&w);
}

/*
 * The reports' served rows (test/bench/repeat_pop.h) decide the lift on one
 * pair of fits for several rows in turn (the product's blend, target-only,
 * the target-only ensemble): served_repeat_undo must take a kept decision
 * back to what xd_transfer returned, both fits' tensors (names, order,
 * bytes), their results' cfg and repeat records and the blend's scores, so
 * that the next row's decision runs (a fit with a term is refused) and
 * decides the same.
 */
XD_TEST(bench_served_repeat_undo_restores)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r,
				r2,
				pr;
	xd_repeat_pop_calibration cal,
				again;
	served_repeat_saved saved;
	const xd_dataset *ds;
	xd_eval_opts eo;
	xd_rank_metrics before,
				after;
	float	   *copy[2][XD_MAX_PARAMS];
	char		names[2][XD_MAX_PARAMS][64];
	int			n[2];
	xd_config	cfg2;
	xd_repeat_calibration rep2;

	XD_REQUIRE(tw_make(&w, 9, 0));
	ds = w.g->domains[1].ds;
	tw_opts(&o, XD_TRANSFER_DRR, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &r) == XD_OK);
	tw_opts(&o, XD_TRANSFER_TARGET_ONLY, 9);
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &r2) == XD_OK);
	pr = r;
	pr.blend = &r2;
	pr.blend_a = XD_BLEND_A;
	for (int f = 0; f < 2; f++)
	{
		const xd_model *m = f ? r2.model : r.model;

		n[f] = m->n_params;
		for (int i = 0; i < n[f]; i++)
		{
			size_t		sz = sizeof(float) * (size_t) m->params[i]->rows * (size_t) m->params[i]->cols;

			copy[f][i] = malloc(sz);
			XD_REQUIRE(copy[f][i] != NULL);
			memcpy(copy[f][i], m->params[i]->w, sz);
			snprintf(names[f][i], sizeof(names[f][i]), "%s", m->params[i]->name);
		}
	}
	cfg2 = r2.cfg;
	rep2 = r2.repeat;
	xd_eval_opts_default(&eo);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_transfer_score, &pr, &before) == XD_OK);

	XD_REQUIRE(served_repeat_decide(&pr, ds, 9, &cal, &saved));
	XD_CHECK(xd_model_has_repeat(r.model) && xd_model_has_repeat(r2.model) && r2.cfg.repeat_lift);
	served_repeat_undo(&pr, &saved);
	XD_CHECK(!xd_model_has_repeat(r.model) && !xd_model_has_repeat(r2.model));
	XD_CHECK(params_equal(r.model, copy[0], (const char (*)[64]) names[0], n[0]));
	XD_CHECK(params_equal(r2.model, copy[1], (const char (*)[64]) names[1], n[1]));
	XD_CHECK(memcmp(&pr.cfg, &r.cfg, sizeof(r.cfg)) == 0 &&
			 memcmp(&pr.repeat, &r.repeat, sizeof(r.repeat)) == 0);
	XD_CHECK(memcmp(&r2.cfg, &cfg2, sizeof(cfg2)) == 0 &&
			 memcmp(&r2.repeat, &rep2, sizeof(rep2)) == 0);
	XD_REQUIRE(xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_transfer_score, &pr, &after) == XD_OK);
	XD_CHECK(after.mrr == before.mrr && after.h10 == before.h10);

	XD_REQUIRE(served_repeat_decide(&pr, ds, 9, &again, &saved));
	XD_CHECK(again.mrr_off == cal.mrr_off && again.se_gain == cal.se_gain &&
			 memcmp(again.mrr, cal.mrr, sizeof(cal.mrr)) == 0);
	served_repeat_undo(&pr, &saved);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < n[f]; i++)
			free(copy[f][i]);
	xd_transfer_result_free(&r2);
	xd_transfer_result_free(&r);
	tw_free(&w);
}

XD_TEST(transfer_bad_arguments)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	xd_config	cfg;

	XD_REQUIRE(tw_make(&w, 10, 0));
	tw_opts(&o, XD_TRANSFER_DRR, 1);
	o.method = XD_N_TRANSFER;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	tw_opts(&o, XD_TRANSFER_DRR, 1);
	o.patience = 0;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	tw_opts(&o, XD_TRANSFER_DRR, 1);
	o.pretrain_epochs = -1;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	tw_opts(&o, XD_TRANSFER_AUTO, 1);
	o.auto_margin_se = -1.0;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	o.auto_margin_se = NAN;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	tw_opts(&o, XD_TRANSFER_AUTO, 1);
	o.auto_small_rows = -1;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	/* a config whose width is not the target's */
	cfg = w.cfg;
	cfg.m_A += 1;
	cfg.m += 1;
	tw_opts(&o, XD_TRANSFER_DRR, 1);
	XD_CHECK(xd_transfer_train_source(&cfg, w.g->domains[1].ds, &o, &r) == XD_EINVAL);
	xd_transfer_result_free(&r);
	XD_CHECK(strcmp(xd_transfer_method_name(XD_TRANSFER_DRR), "drr") == 0);
	XD_CHECK(xd_transfer_method_name(XD_N_TRANSFER) == NULL);
	xd_transfer_result_free(NULL);
	tw_free(&w);
}

/* A stop callback cancels cleanly, leaving a result that frees. */
static int
tw_stop_after(void *arg)
{
	int		   *n = arg;

	return ++(*n) > 3;
}

XD_TEST(transfer_cancel)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	int			calls = 0;

	XD_REQUIRE(tw_make(&w, 11, 0));
	tw_opts(&o, XD_TRANSFER_AUTO, 1);
	o.hooks.stop = tw_stop_after;
	o.hooks.stop_arg = &calls;
	XD_CHECK(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_ECANCELLED);
	xd_transfer_result_free(&r);
	tw_free(&w);
}

/* One progress report per epoch, pretraining included, numbered in order. */
typedef struct tw_progress
{
	int			n;
	int			epochs[64];
	bool		finite_loss;
} tw_progress;

static void
tw_log_progress(void *arg, const xd_epoch_report *rep)
{
	tw_progress *p = arg;

	if (p->n < 64)
		p->epochs[p->n++] = rep->epoch;
	p->finite_loss = p->finite_loss && isfinite(rep->loss) && rep->positives_per_sec > 0;
}

XD_TEST(transfer_reports_progress)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	tw_progress p = {.finite_loss = true};

	XD_REQUIRE(tw_make(&w, 12, 0));
	tw_opts(&o, XD_TRANSFER_DRR, 1);
	o.hooks.progress = tw_log_progress;
	o.hooks.progress_arg = &p;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_OK);
	/* progress sees every rate of the search, the history the kept fit */
	{
		int			searched = 0;

		XD_CHECK(r.lr_search.n == XD_LR_SEARCH_DEFAULT);
		for (int i = 0; i < r.lr_search.n; i++)
			searched += r.lr_search.epochs[i];
		XD_CHECK(p.n == r.n_pretrain + searched);
	}
	XD_CHECK(r.n_history == r.n_pretrain + r.epochs);
	XD_CHECK(r.epochs == r.lr_search.epochs[r.lr_search.chosen]);
	for (int i = 0; i < p.n; i++)
		XD_CHECK(p.epochs[i] == i + 1);
	XD_CHECK(p.finite_loss);
	xd_transfer_result_free(&r);
	tw_free(&w);
}

/*
 * xd_train's validation cache (docs/training.md, Speed): with the shared
 * modules frozen, every validation after the first reads x^0 and x^1 (before
 * DRR's residual on it) of its rows from the first one. After each epoch's
 * validation, the progress callback validates again without the cache (it is
 * attached only inside xd_train's own validation) and requires the same
 * metric to the bit; then it moves the residuals, so that the next epoch's
 * cached validation must apply the residual anew. A model whose modules
 * train (target-only) must not use the cache at all: the same check holds.
 */
typedef struct vc_check
{
	xd_model   *model;
	xd_adapt   *ad;				/* residuals moved after each check; NULL: none */
	const xd_dataset *ds;
	xd_train_opts o;
	int			checked;
	int			differ;
} vc_check;

static void
vc_progress(void *arg, const xd_epoch_report *rep)
{
	vc_check   *c = (vc_check *) arg;
	double		metric;
	int64_t		n;

	if (xd_train_validate(c->model, c->ds, &c->o, &metric, &n, NULL) != XD_OK)
	{
		c->differ++;
		return;
	}
	c->checked++;
	/* implicit feedback: the report's metric is the validation MRR itself */
	if (memcmp(&metric, &rep->metric, sizeof(double)) != 0)
		c->differ++;
	for (int i = 0; c->ad && i < c->ad->n_params; i++)
		for (int j = 0; j < c->ad->params[i].rows * c->ad->params[i].cols; j++)
			c->ad->params[i].w[j] += 0.03f * (float) ((j * 5 + i + c->checked) % 7 - 3);
}

static void
vc_train(xd_model *model, xd_adapt *ad, const xd_dataset *ds, vc_check *c)
{
	xd_train_result res;

	memset(c, 0, sizeof(*c));
	c->model = model;
	c->ad = ad;
	c->ds = ds;
	xd_train_opts_default(&c->o, &model->cfg);
	c->o.max_epochs = 4;
	c->o.patience = 10;
	c->o.seed = 5;
	c->o.hooks.progress = vc_progress;
	c->o.hooks.progress_arg = c;
	XD_CHECK(xd_train(model, ds, &c->o, &res) == XD_OK);
	XD_CHECK(res.n_valid > 0);
}

XD_TEST(transfer_validation_cache_is_exact)
{
	tw_world	w;
	const xd_dataset *ds;
	xd_shared  *sh = NULL;
	xd_domain  *dom = NULL;
	xd_model   *model = NULL,
			   *free_model = NULL;
	xd_adapt   *ad = NULL;
	xd_rng		rng;
	vc_check	c;

	XD_REQUIRE(tw_make(&w, 12, 0));
	ds = w.g->domains[1].ds;
	XD_REQUIRE(tw_drr_model(&w, ds, 12, &sh, &dom, &ad, &model));
	xd_model_freeze_shared(model, true);

	/* DRR: frozen modules, the residuals trained and moved between validations */
	vc_train(model, ad, ds, &c);
	XD_CHECK(c.checked == 4);
	XD_CHECK(c.differ == 0);

	/* target-only: everything trains, so nothing may be cached */
	xd_rng_seed(&rng, 13);
	XD_REQUIRE(xd_model_create(&w.cfg, ds->n_users, ds->n_items, 0.0f, &rng,
							   &free_model) == XD_OK);
	vc_train(free_model, NULL, ds, &c);
	XD_CHECK(c.checked == 4);
	XD_CHECK(c.differ == 0);

	xd_model_free(free_model);
	xd_model_free(model);
	xd_adapt_free(ad);
	xd_domain_free(dom);
	xd_shared_free(sh);
	tw_free(&w);
}

/*
 * Shared users (opts.user_source): under the source's modules a mapped user
 * starts from the source's embedding (Direct trains nothing, so it keeps it
 * bit for bit), an unmapped one from the target's own; target-only ignores
 * the map.
 */
XD_TEST(transfer_shared_users_start_from_the_source)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result direct,
				plain,
				to_map,
				to_plain;
	const xd_dataset *ds;
	int32_t    *map;
	int			d;

	XD_REQUIRE(tw_make(&w, 31, 1));
	ds = w.g->domains[1].ds;
	d = w.cfg.d;
	map = malloc(sizeof(int32_t) * ds->n_users);
	XD_REQUIRE(map);
	for (int32_t u = 0; u < ds->n_users; u++)
		map[u] = u % 2 ? -1 : u;	/* every other user is shared */
	tw_opts(&o, XD_TRANSFER_DIRECT, 31);
	o.source_domain = w.src.domain;
	o.user_source = map;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &direct) == XD_OK);
	o.user_source = NULL;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &plain) == XD_OK);
	for (int32_t u = 0; u < ds->n_users; u++)
	{
		const float *got = direct.domain->E_u->w + (size_t) u * d;
		const float *want = u % 2 ? plain.domain->E_u->w + (size_t) u * d :
			w.src.domain->E_u->w + (size_t) u * d;

		XD_CHECK(memcmp(got, want, sizeof(float) * d) == 0);
		if (u % 2 == 0)
			XD_CHECK(direct.domain->s_u->w[u] == w.src.domain->s_u->w[u]);
	}
	/* items are never shared */
	XD_CHECK(memcmp(direct.domain->E_v->w, plain.domain->E_v->w,
					sizeof(float) * (size_t) ds->n_items * d) == 0);
	/* target-only reads no map */
	tw_opts(&o, XD_TRANSFER_TARGET_ONLY, 31);
	o.lr_search = 1;
	o.source_domain = w.src.domain;
	o.user_source = map;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &to_map) == XD_OK);
	o.user_source = NULL;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, ds, &o, &to_plain) == XD_OK);
	XD_CHECK(to_map.best_metric == to_plain.best_metric);
	xd_transfer_result_free(&direct);
	xd_transfer_result_free(&plain);
	xd_transfer_result_free(&to_map);
	xd_transfer_result_free(&to_plain);
	free(map);
	tw_free(&w);
}

/*
 * auto's progress: every epoch of its three candidates (each rate, each
 * pretraining) numbered on, 1..n, as a job's progress rows need.
 */
XD_TEST(transfer_auto_numbers_progress_on)
{
	tw_world	w;
	xd_transfer_opts o;
	xd_transfer_result r;
	tw_progress p = {.finite_loss = true};

	XD_REQUIRE(tw_make(&w, 13, 0));
	tw_opts(&o, XD_TRANSFER_AUTO, 1);
	o.hooks.progress = tw_log_progress;
	o.hooks.progress_arg = &p;
	XD_REQUIRE(xd_transfer(w.src.shared, w.enc, w.g->domains[1].ds, &o, &r) == XD_OK);
	XD_CHECK(p.n > 3 * o.max_epochs);	/* target-only's grid alone runs 3 fits */
	XD_CHECK(p.n == r.n_reported);
	for (int i = 0; i < p.n; i++)
		XD_CHECK(p.epochs[i] == i + 1);
	xd_transfer_result_free(&r);
	tw_free(&w);
}
