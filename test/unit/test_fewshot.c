/*
 * test_fewshot.c - the s²Meta meta-learner (fewshot.h): finite-difference
 * checks of the controllers' LSTM cell (the update controller's shape and
 * the stop controller's) unrolled over steps, of the first-order
 * meta-gradient through a run's updates, the preprocessing of eq. 12,
 * meta-training's updates on the support's training rows alone,
 * deterministic stopping at serving, the repeat lift, the few-shot cut of a domain and the
 * protocol on it (fewshoteval.h), and meta-training on pseudo-domains of a
 * generated source.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "meta/fewshot_int.h"
#include "mmt/model_int.h"
#include "unit.h"
#include "xdrec/fewshot.h"
#include "xdrec/fewshoteval.h"
#include "xdrec/generate.h"
#include "xdrec/metrics.h"
#include "xdrec/sample.h"
#include "xdrec/train.h"

#define STEPS 3
#define ROWS 3

/* sum_t sum_r w_t,r . out_t,r over STEPS steps of ROWS rows; h, c, out kept */
static double
unrolled_loss(const xd_fs_lstm *l, const float *x, const float *wout, float *h, float *c,
			  float *scratch)
{
	int			H = l->hidden;
	double		loss = 0.0;
	float		out[ROWS * 4];

	for (int t = 0; t < STEPS; t++)
	{
		xd_fs_lstm_forward(l, ROWS, x + t * ROWS * l->in,
						   t ? h + (t - 1) * ROWS * H : NULL, t ? c + (t - 1) * ROWS * H : NULL,
						   h + t * ROWS * H, c + t * ROWS * H, out, scratch);
		for (int k = 0; k < ROWS * l->n_out; k++)
			loss += (double) wout[t * ROWS * l->n_out + k] * out[k];
	}
	return loss;
}

static void
check_lstm(xd_fewshot *fs, xd_fs_lstm *l)
{
	int			H = l->hidden;
	float	   *x = malloc(sizeof(float) * STEPS * ROWS * l->in);
	float	   *wout = malloc(sizeof(float) * STEPS * ROWS * l->n_out);
	float	   *h = malloc(sizeof(float) * STEPS * ROWS * H);
	float	   *c = malloc(sizeof(float) * STEPS * ROWS * H);
	float	   *scratch = malloc(sizeof(float) * ROWS * 5 * H);
	float		dh[ROWS * XD_FS_HIDDEN] = {0},
				dc[ROWS * XD_FS_HIDDEN] = {0};
	xd_param   *ps[7] = {l->Wx, l->Wh, l->b, l->ln_g, l->ln_b, l->Wo, l->bo};
	xd_rng		rng;
	int			bad = 0,
				checked = 0;

	xd_rng_seed(&rng, 5);
	for (int k = 0; k < STEPS * ROWS * l->in; k++)
		x[k] = xd_rng_normal(&rng);
	for (int k = 0; k < STEPS * ROWS * l->n_out; k++)
		wout[k] = xd_rng_normal(&rng);
	/* off the initial values: gains away from 1, biases and head nonzero */
	for (int i = 0; i < 7; i++)
		for (int k = 0; k < ps[i]->rows * ps[i]->cols; k++)
		{
			ps[i]->w[k] += 0.3f * xd_rng_normal(&rng);
			ps[i]->g[k] = 0.0f;
		}
	unrolled_loss(l, x, wout, h, c, scratch);
	for (int t = STEPS - 1; t >= 0; t--)
		xd_fs_lstm_backward(l, ROWS, x + t * ROWS * l->in,
							t ? h + (t - 1) * ROWS * H : NULL, t ? c + (t - 1) * ROWS * H : NULL,
							wout + t * ROWS * l->n_out, dh, dc, scratch);
	for (int i = 0; i < 7; i++)
		for (int k = 0; k < ps[i]->rows * ps[i]->cols; k++)
		{
			float		w0 = ps[i]->w[k];
			double		lp,
						lm,
						num,
						an = ps[i]->g[k];

			ps[i]->w[k] = w0 + GC_EPS;
			lp = unrolled_loss(l, x, wout, h, c, scratch);
			ps[i]->w[k] = w0 - GC_EPS;
			lm = unrolled_loss(l, x, wout, h, c, scratch);
			ps[i]->w[k] = w0;
			num = (lp - lm) / (2.0 * GC_EPS);
			checked++;
			if (fabs(an - num) > GC_ATOL + GC_RTOL * fmax(fabs(an), fabs(num)))
			{
				if (bad++ < 5)
					printf("    %s[%d]: analytic %.6f, numeric %.6f\n", ps[i]->name, k, an, num);
			}
		}
	XD_CHECK(bad == 0);
	XD_CHECK(checked == 4 * H * (l->in + H + 3) + l->n_out * (H + 1));
	(void) fs;
	free(x);
	free(wout);
	free(h);
	free(c);
	free(scratch);
}

static xd_config
small_config(int m_I, int m_H, int m_A, int d)
{
	xd_config	cfg;

	xd_config_defaults(&cfg);
	cfg.m_I = m_I;
	cfg.m_H = m_H;
	cfg.m_A = m_A;
	cfg.m = m_I + m_H + m_A;
	cfg.d = d;
	return cfg;
}

XD_TEST(fewshot_update_lstm_gradients_match_finite_differences)
{
	xd_config	cfg = small_config(3, 2, 2, 4);
	xd_fewshot *fs;

	XD_REQUIRE(xd_fewshot_new(&cfg, 3, &fs) == XD_OK);
	check_lstm(fs, &fs->upd[XD_FS_RES_U_R]);
	xd_fewshot_free(fs);
}

XD_TEST(fewshot_stop_lstm_gradients_match_finite_differences)
{
	xd_config	cfg = small_config(3, 2, 2, 4);
	xd_fewshot *fs;

	XD_REQUIRE(xd_fewshot_new(&cfg, 4, &fs) == XD_OK);
	check_lstm(fs, &fs->stop);
	xd_fewshot_free(fs);
}

XD_TEST(fewshot_preprocessing_follows_eq12)
{
	float		o[2];

	xd_fs_preprocess(1.0f, o);
	XD_CHECK(o[0] == 0.0f && o[1] == 1.0f);
	xd_fs_preprocess(-expf(-5.0f), o);
	XD_CHECK(fabsf(o[0] + 0.5f) < 1e-6f && o[1] == -1.0f);
	xd_fs_preprocess(1e-6f, o);	/* below e^-10 ~ 4.5e-5: (-1, e^10 x) */
	XD_CHECK(o[0] == -1.0f && fabsf(o[1] - expf(10.0f) * 1e-6f) < 1e-6f);
	xd_fs_preprocess(0.0f, o);
	XD_CHECK(o[0] == -1.0f && o[1] == 0.0f);
}

XD_TEST(fewshot_new_names_its_tensors_by_slot)
{
	xd_config	cfg = small_config(3, 2, 2, 4);
	xd_fewshot *fs;

	XD_REQUIRE(xd_fewshot_new(&cfg, 3, &fs) == XD_OK);
	/* implicit: 8 slots (no biases), each an init and 7 LSTM tensors, + the stop LSTM */
	XD_CHECK(fs->n_params == 8 * 8 + 7);
	XD_CHECK(xd_fewshot_find_param(fs, "fs.init.res.C.R") != NULL);
	XD_CHECK(xd_fewshot_find_param(fs, "fs.upd.emb.item.Wx") != NULL);
	XD_CHECK(xd_fewshot_find_param(fs, "fs.stop.bo") != NULL);
	XD_CHECK(xd_fewshot_find_param(fs, "fs.init.bias.user") == NULL);
	XD_CHECK(fabsf(fs->upd[XD_FS_EMB_U].bo->w[1] - XD_FS_FORGET_BIAS) < 1e-6f);
	xd_fewshot_free(fs);
	cfg.feedback = XD_EXPLICIT;
	XD_REQUIRE(xd_fewshot_new(&cfg, 3, &fs) == XD_OK);
	XD_CHECK(fs->n_params == 11 * 8 + 7);
	xd_fewshot_free(fs);
}

/* ---------------------------------------------------------------- a small world */

typedef struct fs_world
{
	xd_generated *g;
	xd_config	cfg;
	xd_model   *src;			/* trained on domain 0 */
} fs_world;

static bool
fs_world_make(fs_world *w, int epochs, int control)
{
	xd_gen_config gc;
	xd_train_opts to;
	xd_train_result tr;
	xd_rng		rng;

	memset(w, 0, sizeof(*w));
	xd_gen_config_default(&gc);
	gc.n_domains = 3;
	gc.src_users = 300;
	gc.src_items = 120;
	gc.src_interactions = 12000;
	gc.tgt_users = 80;
	gc.tgt_items = 60;
	gc.tgt_interactions = 1200;
	gc.control = control;
	if (xd_generate(&gc, &w->g) != XD_OK)
		return false;
	w->cfg = small_config(w->g->schema.m_I, w->g->schema.m_H, w->g->schema.m_A, 16);
	xd_rng_seed(&rng, 7);
	if (xd_model_create(&w->cfg, w->g->domains[0].n_users, w->g->domains[0].n_items, 0.0f,
						&rng, &w->src) != XD_OK)
		return false;
	if (epochs == 0)
		return true;
	xd_train_opts_default(&to, &w->cfg);
	to.max_epochs = epochs;
	to.lr[XD_GROUP_SHARED] = to.lr[XD_GROUP_DOMAIN] = 3e-3f;
	return xd_train(w->src, w->g->domains[0].ds, &to, &tr) == XD_OK;
}

static void
fs_world_free(fs_world *w)
{
	xd_model_free(w->src);
	xd_generated_free(w->g);
}

XD_TEST(fewshot_support_of_cuts_n_rows_and_keeps_the_rest_as_query)
{
	fs_world	w;
	xd_dataset *cut;
	const xd_dataset *T;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	T = w.g->domains[1].ds;
	XD_REQUIRE(xd_fewshot_support_of(T, 64, 9, &cut) == XD_OK);
	XD_CHECK(cut->n_split[XD_SPLIT_TRAIN] + cut->n_split[XD_SPLIT_VALID] == 64);
	XD_CHECK(cut->n_split[XD_SPLIT_TRAIN] == 52);
	XD_CHECK(cut->n_split[XD_SPLIT_TEST] == T->n_rows - 64);
	xd_dataset_free(cut);
	XD_CHECK(xd_fewshot_support_of(T, T->n_rows, 9, &cut) == XD_ENODATA && cut == NULL);
	fs_world_free(&w);
}

XD_TEST(fewshot_stops_deterministically)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result r1,
				r2;
	xd_dataset *cut;
	xd_param   *e1,
			   *e2;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);

	/* p ~ 1: the minimum of 4 updates; p ~ 0: the maximum of 20 */
	fs->stop.bo->w[0] = 20.0f;
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r1) == XD_OK);
	XD_CHECK(r1.steps == XD_FS_MIN_STEPS);
	xd_fewshot_result_free(&r1);
	fs->stop.bo->w[0] = -20.0f;
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r1) == XD_OK);
	XD_CHECK(r1.steps == XD_FS_MAX_STEPS);
	XD_CHECK(r1.last_loss < r1.first_loss);
	xd_fewshot_result_free(&r1);

	/*
	 * p = 0.2 at every step (the head's weights zero): serving stops at the
	 * median of the policy's stopping time, after the decisions at t = 4..7
	 * (0.8^4 = 0.41 <= 1/2 < 0.8^3), so 7 updates (the mean, 1/e, 8)
	 */
	memset(fs->stop.Wo->w, 0, sizeof(float) * fs->stop.Wo->rows * fs->stop.Wo->cols);
	fs->stop.bo->w[0] = logf(0.2f / 0.8f);
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r1) == XD_OK);
	XD_CHECK(r1.steps == 7);
	xd_fewshot_result_free(&r1);
	fs->stop.bo->w[0] = -20.0f;
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r1) == XD_OK);

	/* the same seed: the same steps and tensors, bit for bit */
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r2) == XD_OK);
	e1 = xd_model_find_param(r1.model, "emb.item");
	e2 = xd_model_find_param(r2.model, "emb.item");
	XD_CHECK(r2.steps == r1.steps);
	XD_CHECK(memcmp(e1->w, e2->w, sizeof(float) * e1->rows * e1->cols) == 0);
	xd_fewshot_result_free(&r1);
	xd_fewshot_result_free(&r2);

	/* without the stop controller: the fixed number of updates */
	fs->use_stop = false;
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 11, &r1) == XD_OK);
	XD_CHECK(r1.steps == fs->fixed_steps);
	xd_fewshot_result_free(&r1);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/* The loss and every gradient of the adapted tensors after one step on b. */
static double
step_grads(xd_model *model, const xd_batch *b, float **g)
{
	double		loss = NAN;

	xd_model_zero_grad(model);
	if (xd_model_loss_backward(model, b, NULL, false, &loss) != XD_OK)
		return NAN;
	for (int i = 0, k = 0; i < model->n_params; i++)
		if (model->params[i]->group != XD_GROUP_SHARED)
		{
			xd_param   *p = model->params[i];

			memcpy(g[k++], p->g, sizeof(float) * p->rows * p->cols);
		}
	return loss;
}

/*
 * The positives' cache of an adaptation (fewshot.c): rows [0, pre_rows) of a
 * forward of frozen modules take their x^0 and x^1 as given, and with them as
 * a whole forward made them the loss and every gradient come out bit for bit;
 * the forward reads them (a changed row changes the loss), consumes pre_rows
 * and ignores it when the modules are not frozen.
 */
XD_TEST(fewshot_cached_positives_give_the_same_step)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result res;
	xd_dataset *cut;
	xd_batch	b;
	xd_rng		rng;
	xd_model   *model;
	xd_workspace *ws;
	float	   *g1[XD_MAX_PARAMS] = {0},
			   *g2[XD_MAX_PARAMS] = {0},
			   *x0,
			   *x1;
	int			n_g = 0,
				P,
				m;
	double		l1,
				l2,
				l3;
	double		gdiff = 0.0,
				gmax = 0.0;
	bool		same;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);
	xd_rng_seed(&rng, 4);
	XD_REQUIRE(xd_fs_setup(fs, w.src->shared, cut, &rng, &res) == XD_OK);
	model = res.model;
	ws = model->ws;
	m = model->cfg.m;
	P = (int) cut->n_split[XD_SPLIT_TRAIN];
	XD_REQUIRE(xd_batch_init(&b, xd_model_max_rows(model), m) == XD_OK);
	XD_REQUIRE(xd_sample_batch(cut, cut->split_rows[XD_SPLIT_TRAIN], P, &rng, &b) == XD_OK);
	for (int i = 0; i < model->n_params; i++)
		if (model->params[i]->group != XD_GROUP_SHARED)
		{
			size_t		n = (size_t) model->params[i]->rows * model->params[i]->cols;

			g1[n_g] = malloc(sizeof(float) * n);
			g2[n_g++] = malloc(sizeof(float) * n);
		}
	x0 = malloc(sizeof(float) * P * m);
	x1 = malloc(sizeof(float) * P * m);

	l1 = step_grads(model, &b, g1);
	memcpy(x0, ws->x[0], sizeof(float) * P * m);
	memcpy(x1, ws->res_x1, sizeof(float) * P * m);
	/* the positives' rows as given: the same step, bit for bit */
	memcpy(ws->x[0], x0, sizeof(float) * P * m);
	memcpy(ws->x[1], x1, sizeof(float) * P * m);
	ws->pre_rows = P;
	l2 = step_grads(model, &b, g2);
	XD_CHECK(ws->pre_rows == 0);
	XD_CHECK(fabs(l2 - l1) <= 1e-6 * fabs(l1));
	same = l2 == l1;
	for (int i = 0, k = 0; i < model->n_params; i++)
		if (model->params[i]->group != XD_GROUP_SHARED)
		{
			xd_param   *p = model->params[i];

			for (size_t j = 0; j < (size_t) p->rows * p->cols; j++)
			{
				gdiff = fmax(gdiff, fabs((double) g1[k][j] - g2[k][j]));
				gmax = fmax(gmax, fabs((double) g1[k][j]));
			}
			same &= memcmp(g1[k], g2[k], sizeof(float) * p->rows * p->cols) == 0;
			k++;
		}
	/*
	 * bit for bit where OpenBLAS computes a row alike in any block of rows
	 * (SkylakeX, this machine's; what the report's runs need); others may
	 * differ in the last bits (Haswell's kernels)
	 */
	printf("    cached positives: %s (loss %.9g, %.9g; gradients' largest difference %.3g of %.3g)\n",
		   same ? "bit for bit" : "not bit for bit", l1, l2, gdiff, gmax);
	XD_CHECK(gdiff <= 1e-5 * gmax);

	/* the forward reads them: one positive's x^1 changed, another loss */
	memcpy(ws->x[0], x0, sizeof(float) * P * m);
	memcpy(ws->x[1], x1, sizeof(float) * P * m);
	ws->x[1][0] += 0.5f;
	ws->pre_rows = P;
	l3 = step_grads(model, &b, g2);
	XD_CHECK(fabs(l3 - l1) > 1e-4 * fabs(l1));

	/* not frozen: computed whole, the rows given or not */
	xd_model_freeze_shared(model, false);
	l2 = step_grads(model, &b, g2);
	ws->x[1][0] += 0.5f;
	ws->pre_rows = P;
	l3 = step_grads(model, &b, g2);
	XD_CHECK(l3 == l2 && ws->pre_rows == 0);

	for (int k = 0; k < n_g; k++)
	{
		free(g1[k]);
		free(g2[k]);
	}
	free(x0);
	free(x1);
	xd_batch_free(&b);
	xd_fewshot_result_free(&res);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The popularity term (fewshot_lift.c): a support of a popular item's 5
 * rows and 5 items of 2 rows each. On a constructed last batch whose
 * positives are the popular item's rows and whose model ranks each below
 * its item negative (an item of 2 rows) by 20, only the ladder's top
 * (popularity decides) wins a pair; where the positives are the 2-row
 * items (1 with their own row left out) and the model ranks them above the
 * popular item by 1, the weights up to 0.5 win every pair and the tie goes
 * to 0; a positive whose item has no other row counts for nothing. The
 * weight is folded into the item bias, which the model's score holds.
 * With held-out rows (after n_fit) it is chosen on them instead, by full
 * scoring: the popular item's rows with the model 20 below on it choose
 * 100, the 2-row items' rows with the model 20 above choose 0; n_fit out of
 * range is refused; an adaptation with validation rows chooses on them.
 * use_pop false keeps it 0.
 */
XD_TEST(fewshot_popularity_term_is_chosen_on_the_last_batch)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result r;
	xd_dataset *cut;
	xd_fs_last	last;
	int64_t		rows[15];
	int			n_pop = 0,
				n_one = 0;
	int32_t		v_pop = -1;
	int		   *count;
	xd_batch	b;
	float		s1,
				s0;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, cut->split_rows[XD_SPLIT_TRAIN],
								cut->n_split[XD_SPLIT_TRAIN], cut->n_split[XD_SPLIT_TRAIN], 5,
								&r) == XD_OK);
	/* an implicit adaptation has an item bias; its weight is cross-fitted, not on pairs */
	XD_CHECK(r.domain->s_v != NULL && r.pop_held > 0 && r.pop_pairs == 0);

	/* five rows of an item with five or more, then five items of one row each */
	XD_REQUIRE((count = calloc(cut->n_items, sizeof(int))) != NULL);
	for (int64_t i = 0; i < cut->n_rows; i++)
		count[cut->items[i]]++;
	for (int32_t v = 0; v < cut->n_items && v_pop < 0; v++)
		if (count[v] >= 5)
			v_pop = v;
	XD_REQUIRE(v_pop >= 0);
	for (int64_t i = 0; i < cut->n_rows && (n_pop < 5 || n_one < 5); i++)
	{
		int32_t		v = cut->items[i];
		bool		dup = false;

		for (int k = 0; k < n_one; k++)
			dup |= cut->items[rows[5 + k]] == v;
		if (v == v_pop && n_pop < 5)
			rows[n_pop++] = i;
		else if (v != v_pop && !dup && n_one < 5)
			rows[5 + n_one++] = i;
	}
	XD_REQUIRE(n_pop == 5 && n_one == 5);
	for (int k = 0; k < 5; k++)
		rows[10 + k] = rows[5 + k];

	/* popularity ranks the left-out rows better: the popular item's rows, the model 20 behind */
	last.n_pos = 5;
	for (int k = 0; k < 5; k++)
	{
		last.rows[k] = rows[k];
		last.pos[k] = 0.0f;
		last.neg_items[k] = cut->items[rows[5 + k]];
		last.neg[k] = 20.0f;
	}
	XD_REQUIRE(xd_fs_choose_lift(&r, cut, rows, 15, 0, 15, false, &last, NULL) == XD_OK);
	XD_CHECK(r.pop_beta == 100.0f && r.pop_pairs == 5);
	XD_CHECK(r.domain->s_v->w[v_pop] == 100.0f * log1pf(5.0f));
	XD_CHECK(r.domain->s_v->w[cut->items[rows[5]]] == 100.0f * log1pf(2.0f));

	/* the model's score holds the item bias */
	XD_REQUIRE(xd_batch_init(&b, 1, cut->enc.schema.m) == XD_OK);
	b.n = 1;
	b.users[0] = cut->users[rows[0]];
	b.items[0] = v_pop;
	xd_dataset_encode(cut, rows[0], -1, b.c);
	XD_REQUIRE(xd_fewshot_score(&r, &b, &s1) == XD_OK);
	r.domain->s_v->w[v_pop] = 0.0f;
	XD_REQUIRE(xd_fewshot_score(&r, &b, &s0) == XD_OK);
	XD_CHECK(fabsf(s1 - s0 - 100.0f * log1pf(5.0f)) < 1e-3f);

	/* the model ranks them better: the 2-row items (1 left out) above the popular one */
	for (int k = 0; k < 5; k++)
	{
		last.rows[k] = rows[5 + k];
		last.pos[k] = 1.0f;
		last.neg_items[k] = v_pop;
		last.neg[k] = 0.0f;
	}
	XD_REQUIRE(xd_fs_choose_lift(&r, cut, rows, 15, 0, 15, false, &last, NULL) == XD_OK);
	XD_CHECK(r.pop_beta == 0.0f && r.pop_pairs == 5);
	XD_CHECK(r.domain->s_v->w[v_pop] == 0.0f);

	/* without their second rows the positives' items stand for no new row: no pair */
	XD_REQUIRE(xd_fs_choose_lift(&r, cut, rows, 10, 0, 10, false, &last, NULL) == XD_OK);
	XD_CHECK(r.pop_beta == 0.0f && r.pop_pairs == 0);

	/*
	 * Held out (the rows after n_fit): the popular item's 5 rows, the model
	 * (its item bias, read while choosing) 20 below on it: only popularity
	 * deciding ranks them first
	 */
	{
		int64_t		held[15];
		xd_rng		rng;

		for (int k = 0; k < 10; k++)
			held[k] = rows[5 + k];
		for (int k = 0; k < 5; k++)
			held[10 + k] = rows[k];
		xd_rng_seed(&rng, 3);
		memset(r.domain->s_v->w, 0, sizeof(float) * cut->n_items);
		r.domain->s_v->w[v_pop] = -20.0f;
		XD_REQUIRE(xd_fs_choose_lift(&r, cut, held, 15, 0, 10, false, &last, &rng) == XD_OK);
		XD_CHECK(r.pop_beta == 100.0f && r.pop_held == 5 && r.pop_pairs == 0);
		XD_CHECK(r.domain->s_v->w[v_pop] == 100.0f * log1pf(5.0f));

		/*
		 * held out: the 2-row items' second rows, the model 20 above on
		 * them: a weight only lifts the popular item and the other 2-row
		 * items over them, so 0 wins
		 */
		for (int k = 0; k < 5; k++)
			held[k] = rows[k];
		for (int k = 0; k < 10; k++)
			held[5 + k] = rows[5 + k];
		memset(r.domain->s_v->w, 0, sizeof(float) * cut->n_items);
		for (int k = 0; k < 5; k++)
			r.domain->s_v->w[cut->items[rows[5 + k]]] = 20.0f;
		XD_REQUIRE(xd_fs_choose_lift(&r, cut, held, 15, 0, 10, false, &last, &rng) == XD_OK);
		XD_CHECK(r.pop_beta == 0.0f && r.pop_held == 5);
		XD_CHECK(r.domain->s_v->w[v_pop] == 0.0f);

		/* n_fit below the history or above the rows: refused */
		XD_CHECK(xd_fs_choose_lift(&r, cut, held, 15, 5, 4, false, &last, &rng) == XD_EINVAL);
		XD_CHECK(xd_fs_choose_lift(&r, cut, held, 15, 0, 16, false, &last, &rng) == XD_EINVAL);
	}
	xd_fewshot_result_free(&r);

	/*
	 * an adaptation with validation rows chooses on more rows than them:
	 * every support row, cross-fitted (below)
	 */
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 5, &r) == XD_OK);
	XD_CHECK(r.pop_held > cut->n_split[XD_SPLIT_VALID] && r.pop_pairs == 0);
	xd_fewshot_result_free(&r);

	/* no popularity term asked for: 0, no pair */
	fs->use_pop = false;
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, cut->split_rows[XD_SPLIT_TRAIN],
								cut->n_split[XD_SPLIT_TRAIN], cut->n_split[XD_SPLIT_TRAIN], 5,
								&r) == XD_OK);
	XD_CHECK(r.pop_beta == 0.0f && r.pop_pairs == 0);
	for (int32_t v = 0; v < cut->n_items; v++)
		XD_CHECK(r.domain->s_v->w[v] == 0.0f);
	xd_fewshot_result_free(&r);
	xd_batch_free(&b);
	free(count);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The popularity weight cross-fitted on every support row (fewshot_lift.c):
 * an adaptation with validation rows ranks more rows than the validation
 * ones and the same under the same seed, at most XD_FS_POP_FOLD_ROWS a
 * fold; its item bias is the weight times log(1 + the item's support rows);
 * the adaptation's own model, lift and updates are those of an adaptation
 * without the term: the folds fit res's own model from theta^0 and hand it
 * back at theta^0, without a lift or history. A support of one row per item
 * ranks no row (a fold's rows are not counted in their own items'
 * popularity) and keeps 0; below two rows a fold, refused.
 */
XD_TEST(fewshot_popularity_weight_is_cross_fitted_on_every_support_row)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result r,
				again,
				none,
				set;
	xd_fs_pop_votes votes;
	xd_dataset *cut;
	xd_param   *emb;
	xd_rng		rng;
	float	   *theta0;
	int64_t    *rows,
				n,
				distinct[64];
	int			n_distinct = 0;
	int32_t    *count;
	bool		same_model = true,
				same_theta0 = true;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);
	XD_REQUIRE((rows = xd_fs_support_rows(cut, &n)) != NULL);
	XD_REQUIRE((count = calloc(cut->n_items, sizeof(int32_t))) != NULL);
	for (int64_t i = 0; i < n; i++)
		count[cut->items[rows[i]]]++;

	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 5, &r) == XD_OK);
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 5, &again) == XD_OK);
	XD_CHECK(r.pop_held > cut->n_split[XD_SPLIT_VALID]);
	XD_CHECK(r.pop_held <= XD_FS_POP_FOLDS * XD_FS_POP_FOLD_ROWS && r.pop_pairs == 0);
	XD_CHECK(r.pop_beta == again.pop_beta && r.pop_held == again.pop_held);
	for (int32_t v = 0; v < cut->n_items; v++)
		XD_CHECK(r.domain->s_v->w[v] == r.pop_beta * log1pf((float) count[v]));

	/* the served model is the one without the term: the folds hand back theta^0 */
	fs->use_pop = false;
	XD_REQUIRE(xd_fewshot_adapt(fs, w.src->shared, cut, 5, &none) == XD_OK);
	fs->use_pop = true;
	XD_CHECK(none.steps == r.steps && none.lift == r.lift && none.n_own == r.n_own);
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		xd_param   *a = xd_fs_slot_param(&r, s),
				   *b = xd_fs_slot_param(&none, s);

		if (!fs->active[s] || !a || !b)
			continue;
		for (size_t k = 0; k < (size_t) a->rows * a->cols; k++)
			same_model &= a->w[k] == b->w[k];
	}
	XD_CHECK(same_model);

	/* on a result set up at theta^0: the folds leave it there, no lift, no history */
	xd_rng_seed(&rng, 4);
	XD_REQUIRE(xd_fs_setup(fs, w.src->shared, cut, &rng, &set) == XD_OK);
	XD_REQUIRE((emb = xd_fs_slot_param(&set, XD_FS_EMB_U)) != NULL);
	XD_REQUIRE((theta0 = malloc(sizeof(float) * (size_t) emb->rows * emb->cols)) != NULL);
	memcpy(theta0, emb->w, sizeof(float) * (size_t) emb->rows * emb->cols);
	XD_REQUIRE(xd_fs_crossfit_pop(fs, &set, cut, rows, n, 7, &votes) == XD_OK);
	for (size_t k = 0; k < (size_t) emb->rows * emb->cols; k++)
		same_theta0 &= emb->w[k] == theta0[k];
	XD_CHECK(same_theta0);
	XD_CHECK(set.own == NULL && set.n_own == 0 && set.lift == 0.0f);
	XD_CHECK(votes.n_ranked > 0 && votes.n_ranked <= XD_FS_POP_FOLDS * XD_FS_POP_FOLD_ROWS);
	XD_CHECK(xd_fs_set_pop_votes(&set, cut, rows, n, &votes) == XD_OK);
	XD_CHECK(set.pop_held == votes.n_ranked);
	free(theta0);

	/* one row per item: no fold's row has its item elsewhere, nothing ranked */
	for (int64_t i = 0; i < n && n_distinct < 64; i++)
	{
		bool		dup = false;

		for (int k = 0; k < n_distinct; k++)
			dup |= cut->items[distinct[k]] == cut->items[rows[i]];
		if (!dup)
			distinct[n_distinct++] = rows[i];
	}
	XD_REQUIRE(n_distinct >= 2 * XD_FS_POP_FOLDS);
	XD_CHECK(xd_fs_crossfit_pop(fs, &set, cut, distinct, n_distinct, 7, &votes) == XD_OK);
	XD_CHECK(votes.n_ranked == 0);
	XD_CHECK(xd_fs_set_pop_votes(&set, cut, distinct, n_distinct, &votes) == XD_OK);
	XD_CHECK(set.pop_beta == 0.0f && set.pop_held == 0);

	/* below two rows a fold: refused */
	XD_CHECK(xd_fs_crossfit_pop(fs, &set, cut, rows, 2 * XD_FS_POP_FOLDS - 1, 7, &votes) ==
			 XD_EINVAL);

	xd_fewshot_result_free(&r);
	xd_fewshot_result_free(&again);
	xd_fewshot_result_free(&none);
	xd_fewshot_result_free(&set);
	free(count);
	free(rows);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The repeat lift (fewshot_lift.c): xd_fewshot_score adds the chosen lift on
 * the support's (user, item) pairs and nowhere else; a support whose every
 * row has a twin (every positive repeats) lifts, a support of one row per
 * user has no row to choose on and keeps 0, use_lift false keeps 0.
 */
XD_TEST(fewshot_repeat_lift_is_chosen_on_the_support)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result r;
	xd_dataset *cut;
	const int64_t *sup;
	int64_t		rows[64],
				n_one = 0;
	xd_batch	b;
	float		s_lift[2],
				s_model[2];
	bool	   *seen_user;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);
	sup = cut->split_rows[XD_SPLIT_TRAIN];

	/* 32 support rows, each twice: every left-out row is a repeat */
	for (int i = 0; i < 32; i++)
		rows[2 * i] = rows[2 * i + 1] = sup[i];
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, rows, 64, 64, 5, &r) == XD_OK);
	XD_CHECK(r.lift_rows == XD_FS_LIFT_ROWS);
	XD_CHECK(r.lift > 0.0f);

	/* a support pair gets the lift, the same user with an item of no support row does not */
	XD_REQUIRE(xd_batch_init(&b, 2, cut->enc.schema.m) == XD_OK);
	b.n = 2;
	b.users[0] = b.users[1] = cut->users[sup[0]];
	b.items[0] = cut->items[sup[0]];
	b.items[1] = -1;
	for (int32_t v = 0; v < cut->n_items && b.items[1] < 0; v++)
	{
		bool		in = false;

		for (int i = 0; i < 32; i++)
			in |= cut->users[sup[i]] == b.users[0] && cut->items[sup[i]] == v;
		if (!in)
			b.items[1] = v;
	}
	XD_REQUIRE(b.items[1] >= 0);
	for (int k = 0; k < 2; k++)
		xd_dataset_encode(cut, sup[0], -1, b.c + (size_t) k * cut->enc.schema.m);
	XD_REQUIRE(xd_fewshot_score(&r, &b, s_lift) == XD_OK);
	XD_REQUIRE(xd_model_score(r.model, &b, s_model) == XD_OK);
	XD_CHECK(s_lift[0] == s_model[0] + r.lift);
	XD_CHECK(s_lift[1] == s_model[1]);
	xd_fewshot_result_free(&r);

	/* no lift asked for: 0, the model's scores */
	fs->use_lift = false;
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, rows, 64, 64, 5, &r) == XD_OK);
	XD_CHECK(r.lift == 0.0f && r.lift_rows == 0);
	XD_REQUIRE(xd_fewshot_score(&r, &b, s_lift) == XD_OK);
	XD_REQUIRE(xd_model_score(r.model, &b, s_model) == XD_OK);
	XD_CHECK(s_lift[0] == s_model[0]);
	xd_fewshot_result_free(&r);
	fs->use_lift = true;

	/*
	 * 4 repeats in 52 history rows, below a quarter: the history is left
	 * out of the ranking, no lift can cost a row, and the ladder's top wins
	 */
	XD_REQUIRE(cut->n_split[XD_SPLIT_TRAIN] >= 48);
	for (int i = 0; i < 48; i++)
		rows[i] = sup[i];
	for (int i = 0; i < 4; i++)
		rows[48 + i] = sup[i];
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, rows, 52, 52, 5, &r) == XD_OK);
	XD_CHECK(r.lift_rows > 0 && r.lift == 1000.0f);
	xd_fewshot_result_free(&r);

	/* one row per user: nothing to leave out, no lift */
	XD_REQUIRE((seen_user = calloc(cut->n_users, sizeof(bool))) != NULL);
	for (int64_t i = 0; i < cut->n_split[XD_SPLIT_TRAIN] && n_one < 64; i++)
		if (!seen_user[cut->users[sup[i]]])
		{
			seen_user[cut->users[sup[i]]] = true;
			rows[n_one++] = sup[i];
		}
	XD_REQUIRE(n_one >= 2);
	XD_REQUIRE(xd_fs_adapt_rows(fs, w.src->shared, cut, rows, n_one, n_one, 5, &r) == XD_OK);
	XD_CHECK(r.lift == 0.0f && r.lift_rows == 0);
	xd_fewshot_result_free(&r);
	free(seen_user);
	xd_batch_free(&b);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The few-shot protocol (fewshoteval.h): every method on the same support
 * and the same query positives, HitRate@20 at least @10, reruns identical,
 * no fewshot row without a meta-learner, too large a support refused.
 */
XD_TEST(fewshot_protocol_ranks_every_method_on_one_support)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_transfer_opts to;
	xd_fse_result a,
				b;
	const xd_dataset *T;

	XD_REQUIRE(fs_world_make(&w, 2, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	T = w.g->domains[1].ds;
	xd_transfer_opts_default(&to);
	to.max_epochs = 2;
	to.pretrain_epochs = 1;
	to.lr_search = 1;
	to.seed = 5;
	XD_REQUIRE(xd_fseval_run(fs, w.src->shared, NULL, T, 64, 9, &to, &a) == XD_OK);
	XD_CHECK(a.support == 64 && a.query == T->n_rows - 64);
	for (int m = 0; m < XD_FSE_N_METHODS; m++)
	{
		const xd_rank_summary *s = &a.cell[m].s;

		XD_CHECK(a.cell[m].ran);
		XD_CHECK(s->n > 0 && s->n == a.cell[0].s.n);
		XD_CHECK(s->hit10.value <= s->hit20.value && s->hit20.value <= 1.0);
		XD_CHECK(s->mrr.value > 0.0 && s->ndcg10.value <= s->hit10.value);
	}
	XD_CHECK(a.cell[XD_FSE_FEWSHOT].steps >= XD_FS_MIN_STEPS &&
			 a.cell[XD_FSE_FEWSHOT].steps <= XD_FS_MAX_STEPS);
	XD_CHECK(strcmp(xd_fse_method_name(XD_FSE_SUPPORT_FIRST), "support_first") == 0);

	/* the same seed, the same numbers; no meta-learner, no fewshot row */
	XD_REQUIRE(xd_fseval_run(NULL, w.src->shared, NULL, T, 64, 9, &to, &b) == XD_OK);
	XD_CHECK(!b.cell[XD_FSE_FEWSHOT].ran);
	for (int m = XD_FSE_DRR; m < XD_FSE_N_METHODS; m++)
		XD_CHECK(b.cell[m].s.mrr.value == a.cell[m].s.mrr.value);
	XD_CHECK(xd_fseval_run(fs, w.src->shared, NULL, T, T->n_rows, 9, &to, &b) == XD_ENODATA);

	/* the choice on the support's validation rows: the best MRR, fewshot on ties */
	{
		xd_dataset *cut;
		xd_fse_choice ch,
					ch2;
		xd_hooks	hooks = {0};

		XD_REQUIRE(xd_fewshot_support_of(T, 128, 9, &cut) == XD_OK);
		XD_REQUIRE(xd_fseval_choose(fs, w.src->shared, cut, 9, &hooks, &ch) == XD_OK);
		XD_REQUIRE(xd_fseval_choose(fs, w.src->shared, cut, 9, &hooks, &ch2) == XD_OK);
		printf("    choice on %d validation positives: fewshot %.3f, popularity %.3f, support first %.3f -> %s\n",
			   (int) ch.n, ch.mrr[XD_FSE_FEWSHOT], ch.mrr[XD_FSE_POPULARITY],
			   ch.mrr[XD_FSE_SUPPORT_FIRST], xd_fse_method_name(ch.method));
		XD_CHECK(ch.n > 0 && ch2.method == ch.method &&
				 ch2.mrr[XD_FSE_FEWSHOT] == ch.mrr[XD_FSE_FEWSHOT]);
		XD_CHECK(isnan(ch.mrr[XD_FSE_DRR]) && isnan(ch.mrr[XD_FSE_TARGET_ONLY]));
		for (int m = XD_FSE_FEWSHOT; m < XD_FSE_N_METHODS; m++)
			if (!isnan(ch.mrr[m]))
				XD_CHECK(ch.mrr[ch.method] >= ch.mrr[m]);
		xd_dataset_free(cut);
	}
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The update controllers run per tensor: every coordinate of a slot steps by
 * its tensor's one alpha and beta (theta^(t+1) = beta theta^t - alpha
 * clamp(g / rms g)), the slots' rates differ; without them (use_update
 * false) every step is the plain alpha0 clamp(g / rms g).
 */
XD_TEST(fewshot_controller_sets_one_rate_per_tensor)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_dataset *cut;
	const xd_fs_slot slots[2] = {XD_FS_EMB_V, XD_FS_RES_U_R};

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	fs->use_stop = false;
	fs->fixed_steps = 3;
	/* rates off their common start, so the slots' controllers differ */
	fs->upd[XD_FS_RES_U_R].bo->w[0] += 1.0f;
	fs->upd[XD_FS_RES_U_R].bo->w[1] -= 6.0f;
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 64, 9, &cut) == XD_OK);
	for (int upd = 1; upd >= 0; upd--)
	{
		xd_fewshot_result res;
		xd_fs_trace tr;
		xd_rng		rng;
		int64_t		off = 0,
					checked = 0;

		fs->use_update = upd;
		xd_rng_seed(&rng, 5);
		XD_REQUIRE(xd_fs_setup(fs, w.src->shared, cut, &rng, &res) == XD_OK);
		XD_REQUIRE(xd_fs_trace_init(&tr, fs, res.model, 3) == XD_OK);
		XD_REQUIRE(xd_fs_run(fs, &res, cut, cut->split_rows[XD_SPLIT_TRAIN],
							 cut->n_split[XD_SPLIT_TRAIN], &rng, false, &tr, NULL, NULL) == XD_OK);
		XD_REQUIRE(res.steps == 3);
		for (int si = 0; si < 2; si++)
		{
			xd_fs_slot	s = slots[si];
			int64_t		n = tr.n[s];

			XD_REQUIRE(n > 0);
			for (int t = 0; t < 3; t++)
			{
				float		a = upd ? tr.ab[s][t * 2] : XD_FS_ALPHA0,
							be = upd ? tr.ab[s][t * 2 + 1] : 1.0f;

				for (int64_t k = 0; k < n; k++)
				{
					off += tr.theta[s][(size_t) (t + 1) * n + k] !=
						be * tr.theta[s][(size_t) t * n + k] - a * tr.gcl[s][(size_t) t * n + k];
					checked++;
				}
			}
		}
		XD_CHECK(off == 0 && checked > 1000);
		if (upd)
			XD_CHECK(tr.ab[XD_FS_EMB_V][0] != tr.ab[XD_FS_RES_U_R][0] &&
					 tr.ab[XD_FS_RES_U_R][1] < 0.5f && tr.ab[XD_FS_EMB_V][1] > 0.9f);
		xd_fs_trace_free(&tr);
		xd_fewshot_result_free(&res);
	}
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * The first-order meta-gradient (xd_fs_backward) against finite differences
 * of the same first-order function: the run's updates replayed with its
 * recorded controller inputs and clamped gradients held constant, from a
 * perturbed omega, to the query loss at theta^T.
 */
typedef struct replay
{
	xd_fewshot *fs;
	xd_fewshot_result *res;
	xd_fs_trace *tr;
	const xd_batch *q;
	float	   *init0[XD_FS_N_SLOTS];	/* omega_R as the run used it */
} replay;

static double
replay_loss(replay *rp)
{
	xd_fewshot *fs = rp->fs;
	double		loss = NAN;

	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		int64_t		n = rp->tr->n[s];
		xd_param   *P;
		float		h[2][XD_FS_HIDDEN],
					c[2][XD_FS_HIDDEN],
					out[2],
					scr[4 * XD_FS_HIDDEN];
		int			ni;

		if (n == 0 || !(P = xd_fs_slot_param(rp->res, s)))
			continue;
		ni = fs->init[s]->rows * fs->init[s]->cols;
		for (int64_t k = 0; k < n; k++)
			P->w[k] = rp->tr->theta[s][k] + fs->init[s]->w[k % ni] - rp->init0[s][k % ni];
		for (int t = 0; t < rp->res->steps; t++)
		{
			float		a,
						be;

			xd_fs_lstm_forward(&fs->upd[s], 1, rp->tr->x[s] + (size_t) t * XD_FS_UPD_IN,
							   t ? h[(t + 1) % 2] : NULL, t ? c[(t + 1) % 2] : NULL,
							   h[t % 2], c[t % 2], out, scr);
			a = 1.0f / (1.0f + expf(-out[0]));
			be = 1.0f / (1.0f + expf(-out[1]));
			for (int64_t k = 0; k < n; k++)
				P->w[k] = be * P->w[k] - a * rp->tr->gcl[s][(size_t) t * n + k];
		}
	}
	if (xd_model_loss(rp->res->model, rp->q, NULL, false, &loss) != XD_OK)
		return NAN;
	return loss;
}

XD_TEST(fewshot_meta_gradient_matches_finite_differences)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_result res;
	xd_fs_trace tr;
	xd_dataset *cut;
	xd_batch	q;
	xd_rng		rng;
	replay		rp;
	int			bad = 0,
				checked = 0,
				large = 0;
	const xd_fs_slot slots[3] = {XD_FS_RES_U_R, XD_FS_EMB_V, XD_FS_RES_C_r};

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	fs->use_stop = false;
	fs->fixed_steps = 3;
	xd_rng_seed(&rng, 21);
	/* omega off its initial values, the heads large enough to matter */
	for (int i = 0; i < fs->n_params; i++)
		for (int k = 0; k < fs->params[i].rows * fs->params[i].cols; k++)
			fs->params[i].w[k] += 0.2f * xd_rng_normal(&rng);
	/* beta ~ 0.6, not 0.993: the chain through beta must show in the check */
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		if (fs->active[s])
			fs->upd[s].bo->w[1] = 0.5f;
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 32, 9, &cut) == XD_OK);
	XD_REQUIRE(xd_fs_setup(fs, w.src->shared, cut, &rng, &res) == XD_OK);
	XD_REQUIRE(xd_batch_init(&q, xd_model_max_rows(res.model), cut->enc.schema.m) == XD_OK);
	XD_REQUIRE(xd_sample_batch(cut, cut->split_rows[XD_SPLIT_TEST], 16, &rng, &q) == XD_OK);
	XD_REQUIRE(xd_fs_trace_init(&tr, fs, res.model, 3) == XD_OK);
	{
		int64_t		n;
		int64_t    *rows = xd_fs_support_rows(cut, &n);

		XD_REQUIRE(rows);
		XD_REQUIRE(xd_fs_run(fs, &res, cut, rows, n, &rng, false, &tr, &q, NULL) == XD_OK);
		free(rows);
	}
	XD_REQUIRE(res.steps == 3);
	for (int i = 0; i < fs->n_params; i++)
		memset(fs->params[i].g, 0, sizeof(float) * fs->params[i].rows * fs->params[i].cols);
	XD_REQUIRE(xd_fs_backward(fs, &res, &tr, &q, 1.0f) == XD_OK);

	rp.fs = fs;
	rp.res = &res;
	rp.tr = &tr;
	rp.q = &q;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
	{
		rp.init0[s] = NULL;
		if (fs->active[s])
		{
			size_t		ni = (size_t) fs->init[s]->rows * fs->init[s]->cols;

			rp.init0[s] = malloc(sizeof(float) * ni);
			memcpy(rp.init0[s], fs->init[s]->w, sizeof(float) * ni);
		}
	}
	for (int si = 0; si < 3; si++)
	{
		xd_fs_lstm *l = &fs->upd[slots[si]];
		xd_param   *ps[5] = {fs->init[slots[si]], l->Wx, l->b, l->Wo, l->bo};

		for (int i = 0; i < 5; i++)
			for (int k = 0; k < ps[i]->rows * ps[i]->cols && k < 12; k++)
			{
				float		w0 = ps[i]->w[k];
				double		lp,
							lm,
							num,
							an = ps[i]->g[k];

				ps[i]->w[k] = w0 + GC_EPS;
				lp = replay_loss(&rp);
				ps[i]->w[k] = w0 - GC_EPS;
				lm = replay_loss(&rp);
				ps[i]->w[k] = w0;
				num = (lp - lm) / (2.0 * GC_EPS);
				checked++;
				large += fabs(an) > 2e-3;
				if (fabs(an - num) > GC_ATOL + GC_RTOL * fmax(fabs(an), fabs(num)) && bad++ < 5)
					printf("    %s[%d]: analytic %.6f, numeric %.6f\n", ps[i]->name, k, an, num);
			}
	}
	printf("    %d meta-gradient entries checked, %d above 2e-3\n", checked, large);
	XD_CHECK(bad == 0);
	XD_CHECK(large >= 10);
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		free(rp.init0[s]);
	xd_fs_trace_free(&tr);
	xd_batch_free(&q);
	xd_fewshot_result_free(&res);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * A meta-training episode's updates fit the rows serving's do
 * (xd_fs_fit_rows): implicit feedback, the support's training rows alone,
 * its validation rows held out. A user whose support rows are all
 * validation rows gets no gradient, so with plain steps (no update
 * controller: beta 1) its embedding row is theta^0's, bit for bit; fitted
 * on every support row, as meta-training did, it moves.
 */
XD_TEST(fewshot_meta_training_fits_the_training_rows_alone)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_dataset *cut;
	xd_fewshot_result res;
	xd_fs_trace tr;
	xd_batch	q;
	xd_rng		rng;
	xd_param   *E;
	char	   *in_split;
	int			held_users = 0,
				held_kept = 0,
				fitted_users = 0,
				fitted_moved = 0;

	XD_REQUIRE(fs_world_make(&w, 0, 0));
	XD_REQUIRE(!w.g->domains[1].ds->has_ratings);
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	fs->use_update = false;
	XD_REQUIRE(xd_fewshot_support_of(w.g->domains[1].ds, 96, 9, &cut) == XD_OK);
	memset(&res, 0, sizeof(res));
	memset(&tr, 0, sizeof(tr));
	memset(&q, 0, sizeof(q));
	xd_rng_seed(&rng, 5);
	XD_REQUIRE(xd_fs_episode(fs, w.src->shared, cut, XD_FS_BATCH, &rng, &res, &tr, &q) == XD_OK);
	XD_CHECK(res.steps >= XD_FS_MIN_STEPS);
	E = xd_fs_slot_param(&res, XD_FS_EMB_U);
	XD_REQUIRE(E && tr.n[XD_FS_EMB_U] == (int64_t) E->rows * E->cols);
	/* per user: bit 1 a training row, bit 2 a validation row */
	in_split = calloc(cut->n_users, 1);
	XD_REQUIRE(in_split);
	for (int64_t r = 0; r < cut->n_rows; r++)
		if (cut->split[r] == XD_SPLIT_TRAIN || cut->split[r] == XD_SPLIT_VALID)
			in_split[cut->users[r]] |= cut->split[r] == XD_SPLIT_TRAIN ? 1 : 2;
	for (int32_t u = 0; u < cut->n_users; u++)
	{
		bool		kept = memcmp(E->w + (size_t) u * E->cols,
								  tr.theta[XD_FS_EMB_U] + (size_t) u * E->cols,
								  sizeof(float) * E->cols) == 0;

		if (in_split[u] == 2)
		{
			held_users++;
			held_kept += kept;
		}
		else if (in_split[u] & 1)
		{
			fitted_users++;
			fitted_moved += !kept;
		}
	}
	XD_REQUIRE(held_users >= 2);
	XD_CHECK(held_kept == held_users);
	XD_CHECK(fitted_moved == fitted_users);
	free(in_split);
	xd_fs_trace_free(&tr);
	xd_batch_free(&q);
	xd_fewshot_result_free(&res);
	xd_dataset_free(cut);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}

/*
 * Mean query loss after adapting to 8 fixed pseudo-domains of N = 64 of the
 * source: the model's own, without the popularity term (not meta-trained:
 * its weight is chosen for ranking, up to 100, and moves the squared loss
 * far more than the updates do)
 */
static double
held_out_loss(xd_fewshot *fs, const fs_world *w)
{
	xd_rng		rng;
	double		sum = 0.0;

	fs->use_pop = false;
	xd_rng_seed(&rng, 424242);
	for (int k = 0; k < 8; k++)
	{
		xd_dataset *pd,
				   *cut;
		xd_fewshot_result r;
		xd_batch	q;
		double		loss;
		int			n;

		if (xd_fewshot_pseudo_domain(w->g->domains[0].ds, 200, &rng, 77 + k, &pd) != XD_OK ||
			xd_fewshot_support_of(pd, 64, 78 + k, &cut) != XD_OK ||
			xd_fewshot_adapt(fs, w->src->shared, cut, 79 + k, &r) != XD_OK ||
			xd_batch_init(&q, xd_model_max_rows(r.model), cut->enc.schema.m) != XD_OK)
			return NAN;
		n = cut->n_split[XD_SPLIT_TEST] < XD_FS_BATCH ? (int) cut->n_split[XD_SPLIT_TEST] : XD_FS_BATCH;
		if (xd_sample_batch(cut, cut->split_rows[XD_SPLIT_TEST], n, &rng, &q) != XD_OK ||
			xd_model_loss(r.model, &q, NULL, false, &loss) != XD_OK)
			return NAN;
		sum += loss;
		xd_batch_free(&q);
		xd_fewshot_result_free(&r);
		xd_dataset_free(cut);
		xd_dataset_free(pd);
	}
	fs->use_pop = true;
	return sum / 8;
}

XD_TEST(fewshot_meta_training_lowers_the_query_loss_slow)
{
	fs_world	w;
	xd_fewshot *fs;
	xd_fewshot_opts o;
	xd_fewshot_report rep;
	double		before,
				after;

	XD_REQUIRE(fs_world_make(&w, 6, 0));
	XD_REQUIRE(xd_fewshot_new(&w.cfg, 3, &fs) == XD_OK);
	before = held_out_loss(fs, &w);
	xd_fewshot_opts_default(&o);
	o.episodes = 200;
	o.max_support = 128;
	XD_REQUIRE(xd_fewshot_train(fs, w.src->shared, w.g->domains[0].ds, &o, &rep) == XD_OK);
	after = held_out_loss(fs, &w);
	printf("    held-out query loss %.4f -> %.4f (episodes' %.4f -> %.4f), %.1f steps, %.1f s\n",
		   before, after, rep.first_query_loss, rep.last_query_loss, rep.mean_steps, rep.seconds);
	XD_CHECK(rep.episodes == 200);
	XD_CHECK(after < before);
	XD_CHECK(rep.mean_steps >= XD_FS_MIN_STEPS && rep.mean_steps <= XD_FS_MAX_STEPS);
	xd_fewshot_free(fs);
	fs_world_free(&w);
}
