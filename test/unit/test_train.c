/*
 * test_train.c - the training loop: early stopping keeps the best epoch,
 * callbacks, determinism, and the planted-signal check (a model trained on
 * generated data gets close to the generator's oracle, far above random).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "mmt/model_int.h"
#include "unit.h"
#include "xdrec/cold.h"
#include "xdrec/generate.h"
#include "xdrec/metrics.h"
#include "xdrec/serve.h"
#include "xdrec/train.h"

static void
tiny_world(xd_gen_config *gc, uint64_t seed, int explicit_feedback)
{
	xd_gen_config_default(gc);
	gc->seed = seed;
	gc->split_seed = seed;
	gc->n_domains = 1;
	gc->src_users = 100;
	gc->src_items = 60;
	gc->src_interactions = 3000;
	gc->explicit_feedback = explicit_feedback;
}

/* The defaults with ds's context widths and feedback, width d, seed. */
static void
config_for(const xd_dataset *ds, int d, uint64_t seed, xd_config *cfg)
{
	xd_config_defaults(cfg);
	xd_config_set_widths(cfg, &ds->enc.schema);
	cfg->d = d;
	cfg->seed = seed;
	cfg->feedback = ds->has_ratings ? XD_EXPLICIT : XD_IMPLICIT;
}

static xd_status
model_of(const xd_dataset *ds, const xd_config *cfg, xd_model **model)
{
	xd_rng		rng;

	xd_rng_seed(&rng, cfg->seed);
	return xd_model_create(cfg, ds->n_users, ds->n_items, (float) ds->rating_mean,
						   &rng, model);
}

static xd_status
model_for(const xd_dataset *ds, int d, uint64_t seed, xd_model **model)
{
	xd_config	cfg;

	config_for(ds, d, seed, &cfg);
	return model_of(ds, &cfg, model);
}

/*
 * The world of the quality checks (300 users, 200 items, 20,000 rows; slow:
 * not run under valgrind) of that seed, and a model of width d trained on it
 * (max_epochs 0: the default). On failure *g and *model are NULL or freed.
 */
static bool
small_world_trained(uint64_t seed, int explicit_feedback, int d, int max_epochs,
					int patience, xd_generated **g, xd_model **model,
					xd_train_result *res)
{
	xd_gen_config gc;
	xd_train_opts o;

	*g = NULL;
	*model = NULL;
	tiny_world(&gc, seed, explicit_feedback);
	gc.src_users = 300;
	gc.src_items = 200;
	gc.src_interactions = 20000;
	if (xd_generate(&gc, g) == XD_OK &&
		model_for((*g)->domains[0].ds, d, seed, model) == XD_OK)
	{
		xd_train_opts_default(&o, &(*model)->cfg);
		if (max_epochs > 0)
			o.max_epochs = max_epochs;
		o.patience = patience;
		if (xd_train(*model, (*g)->domains[0].ds, &o, res) == XD_OK)
			return true;
	}
	xd_model_free(*model);
	xd_generated_free(*g);
	*model = NULL;
	*g = NULL;
	return false;
}

typedef struct progress_log
{
	int			n;
	xd_epoch_report reports[128];
	int			stop_after_batches;
	int			batches;
} progress_log;

static void
log_progress(void *arg, const xd_epoch_report *r)
{
	progress_log *log = arg;

	if (log->n < 128)
		log->reports[log->n++] = *r;
}

static int
stop_after(void *arg)
{
	progress_log *log = arg;

	return ++log->batches > log->stop_after_batches;
}

static xd_status
test_metrics(xd_model *model, const xd_dataset *ds, xd_rank_metrics *out)
{
	xd_eval_opts eo;

	xd_eval_opts_default(&eo);
	return xd_eval_sampled(ds, XD_SPLIT_TEST, &eo, xd_model_score, model, out);
}

/* Training holds the best epoch's parameters, reports each epoch, stops on patience. */
XD_TEST(train_keeps_best_epoch_and_reports_progress)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	progress_log log = {0};
	xd_rank_metrics vm;
	xd_eval_opts eo;

	tiny_world(&gc, 3, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 16, 3, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 6;
	o.patience = 2;
	o.hooks.progress = log_progress;
	o.hooks.progress_arg = &log;
	XD_REQUIRE(xd_train(model, g->domains[0].ds, &o, &res) == XD_OK);

	XD_CHECK(res.epochs == log.n);
	XD_CHECK(res.epochs >= 3 && res.epochs <= 6);
	XD_CHECK(res.best_epoch >= 1 && res.best_epoch <= res.epochs);
	XD_CHECK(!res.metric_is_loss);
	XD_CHECK(res.n_valid > 0 && res.n_valid <= 2000);
	for (int i = 0; i < log.n; i++)
	{
		XD_CHECK(log.reports[i].epoch == i + 1);
		XD_CHECK(isfinite(log.reports[i].loss) && log.reports[i].loss > 0);
		XD_CHECK(log.reports[i].positives_per_sec > 0);
		XD_CHECK(log.reports[i].metric <= log.reports[res.best_epoch - 1].metric);
	}
	XD_CHECK(log.reports[res.best_epoch - 1].improved);
	/* the phases are parts of the fit's time (bench_train prints them) */
	XD_CHECK(res.sample_seconds > 0 && res.step_seconds > 0 && res.adam_seconds > 0 &&
			 res.valid_seconds > 0);
	XD_CHECK(res.sample_seconds + res.step_seconds + res.adam_seconds + res.valid_seconds <=
			 res.seconds);
	/* the model was rolled back to the best epoch: validating it again gives its metric */
	xd_eval_opts_default(&eo);
	eo.seed = o.seed ^ 0x76616c6964ULL;
	eo.max_positives = o.valid_max;
	XD_REQUIRE(xd_eval_sampled(g->domains[0].ds, XD_SPLIT_VALID, &eo, xd_model_score, model, &vm) == XD_OK);
	XD_CHECK_NEAR(vm.mrr, res.best_metric, 1e-9);
	xd_model_free(model);
	xd_generated_free(g);
}

/*
 * first_kept_epoch: no epoch before it is kept or counts toward patience,
 * so the best epoch is at or after it and training runs at least to it
 * plus patience (or max_epochs); beyond max_epochs, the last is kept.
 */
XD_TEST(train_first_kept_epoch_skips_the_early_epochs)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	progress_log log = {0};

	tiny_world(&gc, 3, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 16, 3, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 8;
	o.patience = 2;
	o.first_kept_epoch = 4;
	o.hooks.progress = log_progress;
	o.hooks.progress_arg = &log;
	XD_REQUIRE(xd_train(model, g->domains[0].ds, &o, &res) == XD_OK);
	XD_CHECK(res.best_epoch >= 4 && res.epochs >= 6);
	for (int i = 0; i < 3 && i < log.n; i++)
		XD_CHECK(!log.reports[i].improved);
	xd_model_free(model);
	XD_REQUIRE(model_for(g->domains[0].ds, 16, 3, &model) == XD_OK);
	o.max_epochs = 3;
	o.first_kept_epoch = 10;
	o.hooks.progress = NULL;
	XD_REQUIRE(xd_train(model, g->domains[0].ds, &o, &res) == XD_OK);
	XD_CHECK(res.epochs == 3 && res.best_epoch == 3 && isfinite(res.best_metric));
	xd_model_free(model);
	xd_generated_free(g);
}

/*
 * Fixed epochs (pretraining) run exactly max_epochs without validation, and
 * lower the loss (1.2461, 1.1368, 1.0082 by epoch under the SkylakeX,
 * Sandybridge, Haswell, Zen and Prescott kernels alike: the last is 0.24
 * below the first, the check asks for any drop); the
 * loss without the KL term is the loss when there is no KL term; Anneal's
 * schedule on the module rate trains differently from a constant rate but
 * from the same batches; xd_train_validate is the loop's validation metric.
 */
XD_TEST(train_fixed_epochs_and_anneal)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *a,
			   *b;
	xd_train_opts o;
	xd_train_result ra,
				rb;
	progress_log log = {0};
	double		metric;
	int64_t		n;

	tiny_world(&gc, 4, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 16, 4, &a) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 16, 4, &b) == XD_OK);
	xd_train_opts_default(&o, &a->cfg);
	o.max_epochs = 3;
	o.patience = 0;				/* ignored with fixed epochs */
	o.fixed_epochs = true;
	o.hooks.progress = log_progress;
	o.hooks.progress_arg = &log;
	XD_REQUIRE(xd_train(a, g->domains[0].ds, &o, &ra) == XD_OK);
	XD_CHECK(ra.epochs == 3 && log.n == 3 && ra.best_epoch == 0);
	XD_CHECK(isnan(ra.best_metric) && ra.n_valid == 0);
	for (int i = 0; i < log.n; i++)
	{
		XD_CHECK(isnan(log.reports[i].metric) && !log.reports[i].improved);
		XD_CHECK(log.reports[i].loss_data == log.reports[i].loss);
	}
	printf("    loss by epoch %.4f %.4f %.4f\n", log.reports[0].loss,
		   log.reports[1].loss, log.reports[2].loss);
	XD_CHECK(log.reports[2].loss < log.reports[0].loss);

	/* the same run with the module rate annealed: same first epoch's batches */
	o.hooks.progress = NULL;
	o.anneal_ratio = 1e-3;
	XD_REQUIRE(xd_train(b, g->domains[0].ds, &o, &rb) == XD_OK);
	XD_CHECK(rb.epochs == 3);
	XD_CHECK(memcmp(a->shared->params[0].w, b->shared->params[0].w,
					sizeof(float) * a->shared->params[0].rows * a->shared->params[0].cols) != 0);
	o.anneal_ratio = -1.0;
	XD_CHECK(xd_train(b, g->domains[0].ds, &o, &rb) == XD_EINVAL);
	o.anneal_ratio = 0.0;
	o.fixed_epochs = false;
	XD_CHECK(xd_train(b, g->domains[0].ds, &o, &rb) == XD_EINVAL);	/* patience 0 */

	/* the loop's validation metric of a model: deterministic, an MRR */
	XD_REQUIRE(xd_train_validate(a, g->domains[0].ds, &o, &metric, &n, NULL) == XD_OK);
	XD_CHECK(n > 0 && metric > 0.0 && metric <= 1.0);
	{
		double		again;

		XD_REQUIRE(xd_train_validate(a, g->domains[0].ds, &o, &again, &n, NULL) == XD_OK);
		XD_CHECK(again == metric);
	}
	xd_model_free(a);
	xd_model_free(b);
	xd_generated_free(g);
}

XD_TEST(train_stop_callback_cancels)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	progress_log log = {0};

	tiny_world(&gc, 4, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 8, 4, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	log.stop_after_batches = 5;
	o.hooks.stop = stop_after;
	o.hooks.stop_arg = &log;
	XD_CHECK(xd_train(model, g->domains[0].ds, &o, &res) == XD_ECANCELLED);
	XD_CHECK(log.batches == 6);
	xd_model_free(model);
	xd_generated_free(g);
}

XD_TEST(train_rejects_bad_options)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;

	tiny_world(&gc, 5, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(model_for(g->domains[0].ds, 8, 5, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 0;
	XD_CHECK(xd_train(model, g->domains[0].ds, &o, &res) == XD_EINVAL);
	xd_train_opts_default(&o, &model->cfg);
	o.patience = 0;
	XD_CHECK(xd_train(model, g->domains[0].ds, &o, &res) == XD_EINVAL);
	/* an explicit model on implicit data */
	model->cfg.feedback = XD_EXPLICIT;
	xd_train_opts_default(&o, &model->cfg);
	XD_CHECK(xd_train(model, g->domains[0].ds, &o, &res) == XD_EINVAL);
	model->cfg.feedback = XD_IMPLICIT;
	xd_model_free(model);
	xd_generated_free(g);
}

/* Same seed, same data: the same numbers, to the bit. */
XD_TEST(train_is_deterministic)
{
	xd_gen_config gc;
	xd_generated *g;
	double		metric[2];
	float		w0[2];

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	for (int run = 0; run < 2; run++)
	{
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;

		XD_REQUIRE(model_for(g->domains[0].ds, 8, 6, &model) == XD_OK);
		xd_train_opts_default(&o, &model->cfg);
		o.max_epochs = 3;
		XD_REQUIRE(xd_train(model, g->domains[0].ds, &o, &res) == XD_OK);
		metric[run] = res.best_metric;
		w0[run] = xd_model_find_param(model, "emb.user")->w[0];
		xd_model_free(model);
	}
	XD_CHECK(metric[0] == metric[1]);
	XD_CHECK(w0[0] == w0[1]);
	xd_generated_free(g);
}

/*
 * A d = 8 model of seed 6 with the repeat term (repeat; lift: the term a
 * calibrated lift only), trained three epochs on ds with the default options
 * (loop_seed: the loop's seed instead of the model's, unless 0).
 */
static xd_model *
repeat_model(const xd_dataset *ds, bool repeat, bool lift, uint64_t loop_seed, xd_train_opts *o,
			 xd_train_result *res)
{
	xd_model   *model = NULL;
	xd_config	cfg;

	config_for(ds, 8, 6, &cfg);
	cfg.repeat = repeat;
	cfg.repeat_lift = lift;
	if (model_of(ds, &cfg, &model) != XD_OK)
		return NULL;
	xd_train_opts_default(o, &model->cfg);
	o->max_epochs = 3;
	if (loop_seed)
		o->seed = loop_seed;
	if (xd_train(model, ds, o, res) != XD_OK)
	{
		xd_model_free(model);
		return NULL;
	}
	return model;
}

/*
 * With the repeat term (core.h) training is as deterministic, bit for bit,
 * and the term's tensors train from zero: the tiny world's users repeat
 * (3,000 rows over 100 users and 60 items), so batches carry history.
 */
XD_TEST(train_repeat_term_is_deterministic)
{
	xd_gen_config gc;
	xd_generated *g;
	double		metric[2];
	float		wr[2],
				br[2];

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	for (int run = 0; run < 2; run++)
	{
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;

		XD_REQUIRE((model = repeat_model(g->domains[0].ds, true, false, 0, &o, &res)) != NULL);
		metric[run] = res.best_metric;
		wr[run] = xd_model_find_param(model, "rep.w")->w[0];
		br[run] = xd_model_find_param(model, "rep.b")->w[0];
		xd_model_free(model);
	}
	XD_CHECK(metric[0] == metric[1]);
	XD_CHECK(wr[0] == wr[1] && br[0] == br[1]);
	XD_CHECK(br[0] != 0.0f);
	xd_generated_free(g);
}

/*
 * The repeat term's calibration (train.h): it keeps the candidate of the
 * best validation MRR, and the model holds it on return: calibrating again
 * finds the kept candidate as the learned term, with the same MRR to the
 * bit; its learned candidate ranks as xd_eval_full (repeats allowed) does.
 * A model without the term is left alone. The tiny world repeats
 * (3,000 rows over 100 users and 60 items), so the term has history to
 * lift; the learned term, trained three epochs, is not the best there.
 */
XD_TEST(train_repeat_calibration_keeps_the_best)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	for (int with_term = 0; with_term < 2; with_term++)
	{
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;
		xd_repeat_calibration cal,
					again;
		xd_eval_opts eo;
		xd_full_metrics fm;
		double		best = -1.0;

		XD_REQUIRE((model = repeat_model(ds, with_term, false, 0, &o, &res)) != NULL);
		xd_eval_opts_default(&eo);
		eo.keep_seen = true;
		XD_REQUIRE(xd_eval_full(ds, XD_SPLIT_VALID, 10, &eo, xd_model_score, model, &fm) == XD_OK);
		XD_REQUIRE(xd_repeat_calibrate(model, ds, &o, &cal) == XD_OK);
		if (!with_term)
		{
			XD_CHECK(cal.n_valid == 0 && cal.chosen == XD_REPEAT_LEARNED);
			xd_model_free(model);
			continue;
		}
		XD_REQUIRE(cal.n_valid > 0);
		/* the learned term ranks as xd_eval_full does, on every positive */
		XD_CHECK(fm.n == cal.n_valid);
		XD_CHECK(fabs(fm.mrr - cal.mrr[XD_REPEAT_LEARNED]) < 1e-9);
		for (int i = 0; i < XD_REPEAT_CANDIDATES; i++)
			best = cal.mrr[i] > best ? cal.mrr[i] : best;
		XD_CHECK(cal.mrr[cal.chosen] == best);
		XD_CHECK(cal.chosen != XD_REPEAT_LEARNED);
		XD_CHECK(best > cal.mrr[XD_REPEAT_OFF]);
		XD_REQUIRE(xd_repeat_calibrate(model, ds, &o, &again) == XD_OK);
		XD_CHECK(again.mrr[XD_REPEAT_LEARNED] == best);
		XD_CHECK(again.chosen == XD_REPEAT_LEARNED);
		xd_model_free(model);
	}
	xd_generated_free(g);
}

/*
 * The repeat term as a lift only (core.h, repeat_lift; option repeat
 * 'lift'): training leaves its tensors at zero, and the calibration
 * (xd_repeat_lift_choice) sets b_R to the top lift, the user's items first
 * (XD_REPEAT_FIRST, b_R = 1000), on the tiny world, whose users repeat
 * (3,000 rows over 100 users and 60 items: 246 of the 289 validation pairs
 * are in training), whatever the loop's seed (xdrec.adapt and xdrec.train
 * fit the same model with different seeds: docs/serving.md#repeats); with
 * it every item of the user's ranks above every other item in a validation
 * row's context; and to none on the same rows with every pair's first only
 * (no validation pair in training, so a lift can only push the user's other
 * items above a positive: +0.5 gives 0.032 against 0.055 over 78 positives,
 * 2.9 standard errors; the same under the SkylakeX, Sandybridge and Haswell
 * kernels).
 */
XD_TEST(train_repeat_lift_only_where_users_repeat)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_dataset *worlds[2];

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	worlds[0] = g->domains[0].ds;
	XD_REQUIRE(fx_without_repeats(worlds[0], &worlds[1]) == XD_OK);
	XD_REQUIRE(worlds[1]->n_rows < worlds[0]->n_rows);
	for (int run = 0; run < 3; run++)
	{
		/* runs 0 and 1: the repeating world under two loop seeds */
		const xd_dataset *ds = worlds[run == 2];
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;
		const xd_param *wr,
				   *br;
		float		w_sum = 0.0f;

		XD_REQUIRE((model = repeat_model(ds, true, true, run == 1 ? 77 : 0, &o, &res)) != NULL);
		wr = xd_model_find_param(model, "rep.w");
		br = xd_model_find_param(model, "rep.b");
		for (int j = 0; j < model->cfg.m; j++)
			w_sum += fabsf(wr->w[j]);
		/* not trained, though the repeating world's batches carry history */
		XD_CHECK(w_sum == 0.0f && br->w[0] == 0.0f);
		XD_REQUIRE(xd_repeat_calibrate(model, ds, &o, &res.repeat) == XD_OK);
		XD_REQUIRE(res.repeat.n_valid > 0);
		if (run < 2)
		{
			xd_batch	b = {0};
			float	   *sc = malloc(sizeof(float) * (size_t) ds->n_items);
			int64_t		row = ds->split_rows[XD_SPLIT_VALID][0];
			float		own_min = INFINITY,
						other_max = -INFINITY;

			XD_CHECK(res.repeat.chosen == XD_REPEAT_FIRST);
			XD_CHECK(res.repeat.mrr[XD_REPEAT_FIRST] > res.repeat.mrr[XD_REPEAT_OFF]);
			XD_CHECK(br->w[0] == res.repeat.shift && res.repeat.shift == 1000.0f);
			/* one validation row's context: the user's items above the rest */
			XD_REQUIRE(sc != NULL);
			XD_REQUIRE(xd_batch_init(&b, ds->n_items, ds->enc.schema.m) == XD_OK);
			b.n = ds->n_items;
			for (int32_t w = 0; w < ds->n_items; w++)
			{
				b.users[w] = ds->users[row];
				b.items[w] = w;
				b.hist[w] = xd_dataset_hist(ds, row, w);
				xd_dataset_encode(ds, row, w, b.c + (size_t) w * ds->enc.schema.m);
			}
			XD_REQUIRE(xd_model_score(model, &b, sc) == XD_OK);
			for (int32_t w = 0; w < ds->n_items; w++)
				if (b.hist[w] > 0.0f)
					own_min = sc[w] < own_min ? sc[w] : own_min;
				else
					other_max = sc[w] > other_max ? sc[w] : other_max;
			XD_CHECK(isfinite(own_min) && isfinite(other_max));
			XD_CHECK(own_min > other_max);
			xd_batch_free(&b);
			free(sc);
		}
		else
		{
			XD_CHECK(res.repeat.chosen == XD_REPEAT_OFF);
			/* every lift loses, beyond the margin */
			for (int k = 1; k < XD_REPEAT_OFF; k++)
				XD_CHECK(res.repeat.mrr[k] - res.repeat.mrr[XD_REPEAT_OFF] <
						 -XD_REPEAT_LIFT_MARGIN * res.repeat.se[k]);
			XD_CHECK(br->w[0] == 0.0f);
		}
		xd_model_free(model);
	}
	xd_dataset_free(worlds[1]);
	xd_generated_free(g);
}

/*
 * Option repeat "auto" (xd_config_repeat_from_data): the tiny world, whose
 * users repeat, gets the lift only; the same rows with every pair's first
 * only (repeat share 0) no term; explicit feedback never a term; a config
 * without the flag is left as it is; the share is 1 - pairs / rows.
 */
XD_TEST(train_repeat_auto_follows_the_share)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_dataset *once;
	xd_config	cfg;
	double		share;
	int64_t		pairs;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(fx_without_repeats(g->domains[0].ds, &once) == XD_OK);
	share = xd_dataset_repeat_share(g->domains[0].ds);
	pairs = g->domains[0].ds->user_train_off[g->domains[0].ds->n_users];
	XD_CHECK(fabs(share - (1.0 - (double) pairs / (double) g->domains[0].ds->n_split[XD_SPLIT_TRAIN])) < 1e-12);
	XD_CHECK(share >= XD_REPEAT_AUTO_SHARE);
	XD_CHECK(xd_dataset_repeat_share(once) == 0.0);

	xd_config_defaults(&cfg);
	cfg.repeat_auto = true;
	XD_CHECK(xd_config_repeat_from_data(&cfg, share));
	XD_CHECK(cfg.repeat && cfg.repeat_lift && !cfg.repeat_auto);

	xd_config_defaults(&cfg);
	cfg.repeat_auto = true;
	XD_CHECK(xd_config_repeat_from_data(&cfg, xd_dataset_repeat_share(once)));
	XD_CHECK(!cfg.repeat && !cfg.repeat_lift && !cfg.repeat_auto);

	/* just below and at the threshold */
	cfg.repeat_auto = true;
	xd_config_repeat_from_data(&cfg, XD_REPEAT_AUTO_SHARE - 1e-9);
	XD_CHECK(!cfg.repeat);
	cfg.repeat_auto = true;
	xd_config_repeat_from_data(&cfg, XD_REPEAT_AUTO_SHARE);
	XD_CHECK(cfg.repeat && cfg.repeat_lift);

	xd_config_defaults(&cfg);
	cfg.feedback = XD_EXPLICIT;
	cfg.repeat_auto = true;
	xd_config_repeat_from_data(&cfg, 0.9);
	XD_CHECK(!cfg.repeat && !cfg.repeat_lift);

	/* not "auto": an explicit term stays whatever the share */
	xd_config_defaults(&cfg);
	cfg.repeat = true;
	XD_CHECK(!xd_config_repeat_from_data(&cfg, 0.0));
	XD_CHECK(cfg.repeat && !cfg.repeat_lift);
	xd_dataset_free(once);
	xd_generated_free(g);
}

/*
 * The prior table of a cold module for model on ds, counting the rows of
 * split (sign +1), or (sign -1) 100 minus those counts: popularity in
 * context that agrees with the split's positives, or turns against them.
 */
static xd_cold *
pop_table(const xd_model *model, const xd_dataset *ds, xd_split split, int sign)
{
	xd_cold    *cold = NULL;
	float	   *c = malloc(sizeof(float) * (size_t) ds->enc.schema.m);
	int32_t    *rows;

	if (!c || xd_cold_new(&model->cfg, &ds->enc.schema, ds->n_items, false, XD_COLD_HIDDEN,
						  xd_model_max_rows(model), &cold) != XD_OK)
	{
		free(c);
		return NULL;
	}
	rows = malloc(sizeof(int32_t) * (size_t) cold->n_prior);
	for (int64_t i = 0; rows && i < ds->n_split[split]; i++)
	{
		int64_t		r = ds->split_rows[split][i];

		xd_dataset_encode(ds, r, -1, c);
		xd_cold_prior_rows_of(cold, c, rows);
		for (int f = 0; f < cold->n_prior; f++)
			cold->prior_N->w[(size_t) rows[f] * cold->n_items + ds->items[r]] += 1.0f;
	}
	if (sign < 0)
		for (size_t k = 0; k < (size_t) cold->prior_rows * cold->n_items; k++)
			cold->prior_N->w[k] = 100.0f - cold->prior_N->w[k];
	free(rows);
	free(c);
	return cold;
}

/*
 * Popularity in context among the user's own lifted items (train.h,
 * xd_repeat_pop_calibrate) on the tiny world, whose users repeat, after the
 * lift's calibration: a table that agrees with the validation positives
 * (counted from them) gets a weight > 0 that beats the lift alone, one that
 * turns against them 0 (the lift alone). With the weight set, scoring adds
 * w log(1 + count in context) to the user's own items only, in
 * xd_model_score, xd_score_candidates' one-context path and the item
 * outputs' seen-kept ranking alike; a weight that is not finite or is
 * negative is refused, as is one on a model without the lift-only term.
 */
XD_TEST(train_repeat_pop_follows_context_popularity)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	xd_model   *model,
			   *learned;
	xd_train_opts o;
	xd_train_result res;
	xd_repeat_pop_calibration cal;
	xd_cold    *helps,
			   *hurts;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE((model = repeat_model(ds, true, true, 0, &o, &res)) != NULL);
	XD_REQUIRE(xd_repeat_calibrate(model, ds, &o, &res.repeat) == XD_OK);
	XD_REQUIRE((helps = pop_table(model, ds, XD_SPLIT_VALID, 1)) != NULL);
	XD_REQUIRE((hurts = pop_table(model, ds, XD_SPLIT_VALID, -1)) != NULL);

	XD_REQUIRE(xd_repeat_pop_calibrate(model, NULL, 0.0f, hurts, ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.n_valid > 0);
	XD_CHECK(cal.weight == 0.0f && model->rep_pop_w == 0.0f);
	for (int k = 1; k < XD_REPEAT_POP_WEIGHTS; k++)
		XD_CHECK(cal.mrr[k] <= cal.mrr[0]);

	XD_REQUIRE(xd_repeat_pop_calibrate(model, NULL, 0.0f, helps, ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.weight > 0.0f && model->rep_pop_w == cal.weight && model->rep_pop == helps);
	{
		int			best = 0;

		/* counted from the positives, the table also ranks their contexts first */
		for (int k = 1; k < XD_REPEAT_POP_WEIGHTS; k++)
		{
			XD_CHECK(cal.ctx_mrr[k] >= cal.ctx_mrr[0]);
			best = cal.mrr[k] > cal.mrr[best] ? k : best;
		}
		XD_CHECK(xd_repeat_pop_ladder[best] == cal.weight);
		XD_CHECK(cal.mrr[best] > cal.mrr[0]);
	}

	/* one validation row's context: the term on the user's own items only */
	{
		int			m = ds->enc.schema.m;
		int64_t		row = ds->split_rows[XD_SPLIT_VALID][0];
		int32_t		u = ds->users[row];
		xd_batch	b = {0};
		float	   *with = malloc(sizeof(float) * (size_t) ds->n_items),
				   *without = malloc(sizeof(float) * (size_t) ds->n_items),
				   *items_sc = malloc(sizeof(float) * (size_t) ds->n_items),
				   *buf = malloc(sizeof(float) * xd_item_outputs_floats(model, false)),
				   *ranked = malloc(sizeof(float) * (size_t) ds->n_items),
				   *c = malloc(sizeof(float) * (size_t) m),
				   *items0 = malloc(sizeof(float) * (size_t) ds->n_items),
				   *ranked0 = malloc(sizeof(float) * (size_t) ds->n_items);
		int32_t    *ids = malloc(sizeof(int32_t) * (size_t) ds->n_items);
		int64_t    *off = calloc((size_t) ds->n_users + 1, sizeof(int64_t));
		int32_t    *seen = malloc(sizeof(int32_t) * (size_t) ds->n_items);
		int			n_own = 0,
					n_moved = 0;
		float		w = model->rep_pop_w;
		xd_item_outputs io;
		xd_seen		sn;

		XD_REQUIRE(with && without && items_sc && buf && ranked && c && ids && off && seen &&
				   items0 && ranked0);
		XD_REQUIRE(xd_batch_init(&b, ds->n_items, m) == XD_OK);
		b.n = ds->n_items;
		for (int32_t v = 0; v < ds->n_items; v++)
		{
			b.users[v] = u;
			b.items[v] = v;
			ids[v] = v;
			b.hist[v] = xd_dataset_hist(ds, row, v);
			xd_dataset_encode(ds, row, v, b.c + (size_t) v * m);
			if (b.hist[v] > 0.0f)
				seen[n_own++] = v;
		}
		xd_dataset_encode(ds, row, -1, c);
		/* the seen-kept ranking: the user's history as the seen items */
		for (int32_t x = u + 1; x <= ds->n_users; x++)
			off[x] = n_own;
		sn.off = off;
		sn.items = seen;
		sn.keep = true;
		xd_item_outputs_bind(&io, model, false, buf);
		/* each path with the weight, then without it */
		for (int pass = 0; pass < 2; pass++)
		{
			if (pass == 1)
				XD_REQUIRE(xd_model_set_repeat_pop(model, helps, 0.0f) == XD_OK);
			XD_REQUIRE(xd_model_score(model, &b, pass ? without : with) == XD_OK);
			XD_REQUIRE(xd_score_candidates(model, u, c, NULL, ids, b.hist, ds->n_items,
										   pass ? items0 : items_sc) == XD_OK);
			XD_REQUIRE(xd_item_outputs_compute(model, c, NULL, &io) == XD_OK);
			XD_REQUIRE(xd_item_outputs_score_unseen(model, &io, &u, 1, &sn,
													pass ? ranked0 : ranked) == XD_OK);
		}
		for (int32_t v = 0; v < ds->n_items; v++)
		{
			float		t = b.hist[v] > 0.0f ? w * xd_cold_cell_pop(helps, c, v) : 0.0f;

			XD_CHECK(fabsf(with[v] - without[v] - t) <= 1e-4f * (1.0f + fabsf(with[v])));
			XD_CHECK(fabsf(items_sc[v] - items0[v] - t) <= 1e-4f * (1.0f + fabsf(items_sc[v])));
			XD_CHECK(fabsf(ranked[v] - ranked0[v] - t) <= 1e-4f * (1.0f + fabsf(ranked[v])));
			n_moved += t > 0.0f;
		}
		XD_CHECK(n_own > 0 && n_moved > 0);
		xd_batch_free(&b);
		free(with);
		free(without);
		free(items_sc);
		free(buf);
		free(ranked);
		free(c);
		free(ids);
		free(off);
		free(seen);
		free(items0);
		free(ranked0);
	}

	/* bad weights, and a model without the lift-only term */
	XD_CHECK(xd_model_set_repeat_pop(model, helps, NAN) == XD_EINVAL);
	XD_CHECK(xd_model_set_repeat_pop(model, helps, -1.0f) == XD_EINVAL);
	XD_CHECK(xd_model_set_repeat_pop(model, helps, INFINITY) == XD_EINVAL);
	/* above the ladder's top: a finite weight whose term could be infinite */
	XD_CHECK(xd_model_set_repeat_pop(model, helps, 3e38f) == XD_EINVAL);
	XD_CHECK(xd_model_set_repeat_pop(model, helps, nextafterf(XD_REPEAT_POP_MAX, INFINITY)) == XD_EINVAL);
	XD_CHECK(xd_model_set_repeat_pop(model, helps, XD_REPEAT_POP_MAX) == XD_OK);
	XD_CHECK(xd_repeat_pop_ladder[XD_REPEAT_POP_WEIGHTS - 1] == XD_REPEAT_POP_MAX);
	XD_REQUIRE((learned = repeat_model(ds, true, false, 0, &o, &res)) != NULL);
	XD_CHECK(xd_model_set_repeat_pop(learned, helps, 1.0f) == XD_EINVAL);
	XD_CHECK(xd_repeat_pop_calibrate(learned, NULL, 0.0f, helps, ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.n_valid == 0 && cal.weight == 0.0f && learned->rep_pop_w == 0.0f);
	xd_model_free(learned);
	xd_model_free(model);
	xd_cold_free(helps);
	xd_cold_free(hurts);
	xd_generated_free(g);
}

/*
 * Popularity in context on every item (core.h, xd_model_set_pop_all), on a
 * model without a repeat term: with w set, every item's score in one
 * validation row's context gains w log(1 + its count there) (the table
 * xd_repeat_auto_table counts, as serving's cold prior), whether it is the
 * user's or not, in xd_model_score, xd_model_score_shared_ctx,
 * xd_score_candidates and the item outputs alike; a train-mode pass is the
 * same bit for bit with it or without it (it never moves the gradients);
 * bad weights, an explicit model and a table of other items are refused.
 */
XD_TEST(train_pop_all_adds_to_every_item_in_serving_only)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	xd_model   *model,
			   *other;
	xd_train_opts o;
	xd_train_result res;
	xd_cold    *table;
	xd_config	cfg;
	const float w = 1.5f;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE((model = repeat_model(ds, false, false, 0, &o, &res)) != NULL);
	XD_REQUIRE(xd_repeat_auto_table(&model->cfg, ds, &table) == XD_OK && table != NULL);
	{
		int			m = ds->enc.schema.m;
		int32_t		n = ds->n_items;
		int64_t		row = ds->split_rows[XD_SPLIT_VALID][0];
		int32_t		u = ds->users[row];
		xd_batch	b = {0};
		float	   *sc[2][4],
				   *buf = malloc(sizeof(float) * xd_item_outputs_floats(model, false)),
				   *c = malloc(sizeof(float) * (size_t) m);
		int32_t    *ids = malloc(sizeof(int32_t) * (size_t) n);
		int			n_moved_new = 0;	/* items not the user's the term moved */
		xd_item_outputs io;

		XD_REQUIRE(buf && c && ids);
		for (int pass = 0; pass < 2; pass++)
			for (int p = 0; p < 4; p++)
				XD_REQUIRE((sc[pass][p] = malloc(sizeof(float) * (size_t) n)) != NULL);
		XD_REQUIRE(xd_batch_init(&b, n, m) == XD_OK);
		b.n = n;
		for (int32_t v = 0; v < n; v++)
		{
			b.users[v] = u;
			b.items[v] = v;
			ids[v] = v;
			xd_dataset_encode(ds, row, v, b.c + (size_t) v * m);
		}
		xd_dataset_encode(ds, row, -1, c);
		xd_item_outputs_bind(&io, model, false, buf);
		/* each path with the weight, then without it */
		for (int pass = 0; pass < 2; pass++)
		{
			XD_REQUIRE(xd_model_set_pop_all(model, pass ? NULL : table, w) == XD_OK);
			XD_CHECK(pass ? model->pop_all_w == 0.0f && !model->pop_all
					 : model->pop_all_w == w && model->pop_all == table);
			XD_REQUIRE(xd_model_score(model, &b, sc[pass][0]) == XD_OK);
			XD_REQUIRE(xd_model_score_shared_ctx(model, &b, sc[pass][1]) == XD_OK);
			XD_REQUIRE(xd_score_candidates(model, u, c, NULL, ids, NULL, n, sc[pass][2]) == XD_OK);
			XD_REQUIRE(xd_item_outputs_compute(model, c, NULL, &io) == XD_OK);
			XD_REQUIRE(xd_item_outputs_score(model, &io, &u, 1, sc[pass][3]) == XD_OK);
		}
		for (int32_t v = 0; v < n; v++)
		{
			float		t = w * xd_cold_cell_pop(table, c, v);

			for (int p = 0; p < 4; p++)
				XD_CHECK(fabsf(sc[0][p][v] - sc[1][p][v] - t) <= 1e-4f * (1.0f + fabsf(sc[0][p][v])));
			n_moved_new += t > 0.0f && xd_dataset_hist(ds, row, v) == 0.0f;
		}
		/* unlike the own-item term, it reaches items the user never had */
		XD_CHECK(n_moved_new > 0);

		/* a train-mode pass: the same scores with the term set or not */
		{
			float	   *train_sc[2];
			xd_rng		rng;
			int			k = n < xd_model_max_rows(model) ? n : xd_model_max_rows(model);

			for (int pass = 0; pass < 2; pass++)
			{
				XD_REQUIRE(xd_model_set_pop_all(model, pass ? NULL : table, w) == XD_OK);
				xd_rng_seed(&rng, 11);
				XD_REQUIRE(xd_model_forward(model, b.users, b.items, b.c, NULL, k, true, &rng) == XD_OK);
				XD_REQUIRE((train_sc[pass] = malloc(sizeof(float) * (size_t) k)) != NULL);
				memcpy(train_sc[pass], model->ws->score, sizeof(float) * (size_t) k);
			}
			XD_CHECK(memcmp(train_sc[0], train_sc[1], sizeof(float) * (size_t) k) == 0);
			free(train_sc[0]);
			free(train_sc[1]);
		}
		xd_batch_free(&b);
		for (int pass = 0; pass < 2; pass++)
			for (int p = 0; p < 4; p++)
				free(sc[pass][p]);
		free(buf);
		free(c);
		free(ids);
	}

	/* bad weights, explicit feedback, a table of other items */
	XD_CHECK(xd_model_set_pop_all(model, table, NAN) == XD_EINVAL);
	XD_CHECK(xd_model_set_pop_all(model, table, -1.0f) == XD_EINVAL);
	XD_CHECK(xd_model_set_pop_all(model, table, INFINITY) == XD_EINVAL);
	XD_CHECK(xd_model_set_pop_all(model, table, nextafterf(XD_REPEAT_POP_MAX, INFINITY)) == XD_EINVAL);
	XD_CHECK(xd_model_set_pop_all(model, table, XD_REPEAT_POP_MAX) == XD_OK);
	XD_CHECK(xd_model_set_pop_all(model, table, 0.0f) == XD_OK && model->pop_all == NULL);
	cfg = model->cfg;
	cfg.feedback = XD_EXPLICIT;
	XD_REQUIRE(model_of(ds, &cfg, &other) == XD_OK);
	XD_CHECK(xd_model_set_pop_all(other, table, 1.0f) == XD_EINVAL && other->pop_all_w == 0.0f);
	xd_model_free(other);
	cfg.feedback = XD_IMPLICIT;
	{
		xd_rng		rng;

		xd_rng_seed(&rng, 3);
		XD_REQUIRE(xd_model_create(&cfg, ds->n_users, ds->n_items - 1, 0.0f, &rng, &other) == XD_OK);
	}
	XD_CHECK(xd_model_set_pop_all(other, table, 1.0f) == XD_EINVAL && other->pop_all_w == 0.0f);
	xd_model_free(other);
	xd_cold_free(table);
	xd_model_free(model);
	xd_generated_free(g);
}

/*
 * The validation guard of popularity in context on every item (train.h,
 * xd_pop_all_choose): a table that agrees with the validation positives
 * (counted from them) raises the validation MRR and is kept at w; one that
 * turns against them lowers it beyond one standard error of the paired
 * difference and is dropped (the model left without the term); weight 0,
 * no table or an explicit model rank nothing.
 */
XD_TEST(train_pop_all_kept_only_where_validation_agrees)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_pop_all_choice ch;
	xd_cold    *helps,
			   *hurts;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE((model = repeat_model(ds, false, false, 0, &o, &res)) != NULL);
	XD_REQUIRE((helps = pop_table(model, ds, XD_SPLIT_VALID, 1)) != NULL);
	XD_REQUIRE((hurts = pop_table(model, ds, XD_SPLIT_VALID, -1)) != NULL);

	XD_REQUIRE(xd_pop_all_choose(model, NULL, 0.0f, helps, ds, &o, 1.0f, &ch) == XD_OK);
	XD_CHECK(ch.n > 0 && ch.weight == 1.0f && ch.valid_on > ch.valid_off);
	XD_CHECK(model->pop_all_w == 1.0f && model->pop_all == helps);

	XD_REQUIRE(xd_pop_all_choose(model, NULL, 0.0f, hurts, ds, &o, 1.0f, &ch) == XD_OK);
	XD_CHECK(ch.n > 0 && ch.weight == 0.0f && ch.valid_on < ch.valid_off - ch.se && ch.se > 0.0);
	XD_CHECK(model->pop_all_w == 0.0f && model->pop_all == NULL);

	/* nothing to guard: no weight, no table */
	XD_REQUIRE(xd_pop_all_choose(model, NULL, 0.0f, helps, ds, &o, 0.0f, &ch) == XD_OK);
	XD_CHECK(ch.n == 0 && ch.weight == 0.0f && model->pop_all_w == 0.0f);
	XD_REQUIRE(xd_pop_all_choose(model, NULL, 0.0f, NULL, ds, &o, 1.0f, &ch) == XD_OK);
	XD_CHECK(ch.n == 0 && ch.weight == 0.0f && model->pop_all_w == 0.0f);

	xd_cold_free(helps);
	xd_cold_free(hurts);
	xd_model_free(model);
	xd_generated_free(g);
}

/*
 * The weight also sees the context ranking (train.h, xd_repeat_pop_calibrate):
 * a table whose counts are (1000 + the item's validation rows) times
 * (1000 - its validation rows in the cell) orders the user's own items by
 * the item's popularity, which helps the full ranking once the weight is
 * large, and puts every positive's own context below the item's other
 * contexts. The weight with the best full-ranking MRR costs the sampled
 * protocol's expected MRR beyond its margin, so a smaller one is kept (the
 * full-ranking rule alone kept the larger).
 */
XD_TEST(train_repeat_pop_keeps_the_context_ranking)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_repeat_pop_calibration cal;
	xd_cold    *splits;
	float	   *item_n;
	int			best_full = 0,
				kept = -1;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE((model = repeat_model(ds, true, true, 0, &o, &res)) != NULL);
	XD_REQUIRE(xd_repeat_calibrate(model, ds, &o, &res.repeat) == XD_OK);
	XD_REQUIRE((splits = pop_table(model, ds, XD_SPLIT_VALID, 1)) != NULL);
	XD_REQUIRE((item_n = calloc((size_t) ds->n_items, sizeof(float))) != NULL);
	for (int64_t i = 0; i < ds->n_split[XD_SPLIT_VALID]; i++)
		item_n[ds->items[ds->split_rows[XD_SPLIT_VALID][i]]] += 1.0f;
	for (int32_t r = 0; r < splits->prior_rows; r++)
		for (int32_t w = 0; w < ds->n_items; w++)
		{
			float	   *n = &splits->prior_N->w[(size_t) r * splits->n_items + w];

			*n = (1000.0f + item_n[w]) * (1000.0f - *n);
		}

	XD_REQUIRE(xd_repeat_pop_calibrate(model, NULL, 0.0f, splits, ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.n_valid > 0);
	for (int k = 1; k < XD_REPEAT_POP_WEIGHTS; k++)
		best_full = cal.mrr[k] > cal.mrr[best_full] ? k : best_full;
	for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
		if (xd_repeat_pop_ladder[k] == cal.weight)
			kept = k;
	/* the full ranking alone would keep a large weight, which breaks the context ranking */
	XD_CHECK(best_full > 0 && cal.mrr[best_full] > cal.mrr[0]);
	XD_CHECK(cal.ctx_mrr[best_full] < cal.ctx_mrr[0]);
	XD_CHECK(cal.sampled_mrr[best_full] <
			 cal.sampled_mrr[0] - XD_REPEAT_POP_MARGIN * cal.sampled_se[best_full]);
	/* kept: a smaller weight, within the margin, the best full ranking among those */
	XD_REQUIRE(kept >= 0);
	XD_CHECK(kept < best_full && model->rep_pop_w == cal.weight);
	for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
		if (k == 0 || cal.sampled_mrr[k] >= cal.sampled_mrr[0] - XD_REPEAT_POP_MARGIN * cal.sampled_se[k])
			XD_CHECK(cal.mrr[k] <= cal.mrr[kept]);
		else
			XD_CHECK(k != kept);
	free(item_n);
	xd_model_free(model);
	xd_cold_free(splits);
	xd_generated_free(g);
}

/*
 * A lift-only model of ds, trained and calibrated (repeat_model), and a
 * popularity table counted on ds's validation rows (pop_table: one that
 * agrees with validation); NULL on a failure
 */
static xd_model *
lifted_model(const xd_dataset *ds, xd_train_opts *o, xd_train_result *res, xd_cold **helps)
{
	xd_model   *model = repeat_model(ds, true, true, 0, o, res);

	*helps = NULL;
	if (model && (xd_repeat_calibrate(model, ds, o, &res->repeat) != XD_OK ||
				  !(*helps = pop_table(model, ds, XD_SPLIT_VALID, 1))))
	{
		xd_model_free(model);
		model = NULL;
	}
	return model;
}

/*
 * Option repeat "auto" below its share, the lift decided on validation
 * (train.h, xd_repeat_auto_decide): on the tiny world, whose users repeat,
 * the calibrated lift with a table that agrees with validation beats no
 * term by more than XD_REPEAT_AUTO_MARGIN paired standard errors and
 * stays, with the weight xd_repeat_pop_calibrate picks; without a table
 * the lift alone is compared and stays. On the same rows with every
 * pair's first only (no validation positive is the user's own item) the
 * lift forced on (b_R = 1000) only pushes the user's items above the
 * positives: no term kept (b_R = w_R = 0, weight 0), and the comparison
 * says why (no term's MRR above the lift's).
 */
XD_TEST(train_repeat_auto_decides_the_lift_on_validation)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_dataset *once;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_repeat_pop_calibration cal;
	xd_cold    *helps;
	const xd_param *br;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(fx_without_repeats(g->domains[0].ds, &once) == XD_OK);

	/* users repeat: the lift pays */
	XD_REQUIRE((model = lifted_model(g->domains[0].ds, &o, &res, &helps)) != NULL);
	br = xd_model_find_param(model, "rep.b");
	XD_REQUIRE(xd_repeat_auto_decide(model, NULL, 0.0f, NULL, g->domains[0].ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.decided && cal.term_kept && cal.n_valid > 0 && cal.weight == 0.0f);
	XD_CHECK(cal.mrr[0] - cal.mrr_off > XD_REPEAT_AUTO_MARGIN * cal.se_gain && cal.se_gain > 0.0);
	XD_CHECK(fabs(cal.mrr[0] - res.repeat.mrr[res.repeat.chosen]) < 1e-9);
	XD_CHECK(fabs(cal.mrr_off - res.repeat.mrr[XD_REPEAT_OFF]) < 1e-9);
	XD_CHECK(br->w[0] == res.repeat.shift && res.repeat.shift > 0.0f);
	XD_REQUIRE(xd_repeat_auto_decide(model, NULL, 0.0f, helps, g->domains[0].ds, &o, &cal) == XD_OK);
	XD_CHECK(cal.term_kept && cal.weight > 0.0f && model->rep_pop_w == cal.weight);
	XD_CHECK(br->w[0] == res.repeat.shift);
	xd_cold_free(helps);
	xd_model_free(model);

	/* no repeats: the lift forced on loses to no term and is taken off */
	XD_REQUIRE((model = lifted_model(once, &o, &res, &helps)) != NULL);
	xd_repeat_apply(model, XD_REPEAT_FIRST);
	br = xd_model_find_param(model, "rep.b");
	XD_REQUIRE(br->w[0] == 1000.0f);
	XD_REQUIRE(xd_repeat_auto_decide(model, NULL, 0.0f, helps, once, &o, &cal) == XD_OK);
	XD_CHECK(cal.decided && !cal.term_kept && cal.n_valid > 0);
	XD_CHECK(cal.mrr_off > cal.mrr[0]);
	XD_CHECK(cal.weight == 0.0f && model->rep_pop_w == 0.0f && br->w[0] == 0.0f);
	/* the pop calibration alone never decides: the term stays as it is */
	xd_repeat_apply(model, XD_REPEAT_FIRST);
	XD_REQUIRE(xd_repeat_pop_calibrate(model, NULL, 0.0f, helps, once, &o, &cal) == XD_OK);
	XD_CHECK(!cal.decided && cal.term_kept && br->w[0] == 1000.0f);
	/*
	 * not kept, served (xdrec.train): the term leaves the model, which then
	 * ranks as it did with the term off and holds two tensors fewer
	 */
	{
		int			n_params = model->n_params;
		double		with_off,
					dropped;
		int64_t		n;

		xd_repeat_apply(model, XD_REPEAT_OFF);
		XD_REQUIRE(xd_train_validate(model, once, &o, &with_off, &n, NULL) == XD_OK);
		XD_REQUIRE(xd_model_set_repeat_pop(model, helps, 1.0f) == XD_OK);
		XD_REQUIRE(xd_model_drop_repeat(model, false) == XD_OK);
		XD_CHECK(!xd_model_has_repeat(model) && !model->cfg.repeat && !model->cfg.repeat_lift);
		XD_CHECK(model->n_params == n_params - 2 && model->domain->n_params == 2);
		XD_CHECK(xd_model_find_param(model, "rep.b") == NULL && model->rep_pop_w == 0.0f);
		XD_REQUIRE(xd_train_validate(model, once, &o, &dropped, &n, NULL) == XD_OK);
		XD_CHECK(dropped == with_off && n > 0);
		/* nothing left to drop */
		XD_CHECK(xd_model_drop_repeat(model, false) == XD_OK && model->n_params == n_params - 2);
	}
	xd_cold_free(helps);
	xd_model_free(model);
	/* a learned term is trained with the model: never dropped */
	XD_REQUIRE((model = repeat_model(once, true, false, 0, &o, &res)) != NULL);
	XD_CHECK(xd_model_drop_repeat(model, false) == XD_EINVAL && xd_model_has_repeat(model));
	xd_model_free(model);
	xd_dataset_free(once);
	xd_generated_free(g);
}

/* whether n terms (n > 0) average to want; a weight's ladder index (-1: none) */
static bool
each_mean_is(const double *each, int64_t n, double want)
{
	double		sum = 0.0;

	for (int64_t i = 0; i < n; i++)
		sum += each[i];
	return n > 0 && fabs(sum / (double) n - want) < 1e-12;
}

static int
pop_weight_index(float weight)
{
	for (int k = 0; k < XD_REPEAT_POP_WEIGHTS; k++)
		if (xd_repeat_pop_ladder[k] == weight)
			return k;
	return -1;
}

/*
 * The decision's per-positive terms (xd_repeat_pop_each, the
 * large-target blend's gate, docs/transfer.md): what is served on
 * validation's full ranking, positive by positive. Kept (users repeat, a
 * table that agrees with validation): n_valid terms whose mean is the kept
 * weight's MRR with the lift (served_mrr), and the decision is the one
 * xd_repeat_auto_decide makes. Not kept (every pair's first only, the lift
 * forced on): their mean is no term's MRR, which differs from the lift's.
 * The calibration alone (not deciding): the kept weight's.
 * A model without a lift: no term ranked, an empty array.
 */
XD_TEST(train_repeat_decide_each_gives_the_served_ranks)
{
	xd_repeat_pop_calibration cal,
				plain;
	double	   *each = NULL;
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_dataset *once;
	xd_cold    *helps;
	xd_train_opts o;
	xd_train_result res;
	int			k;

	tiny_world(&gc, 6, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	XD_REQUIRE(fx_without_repeats(g->domains[0].ds, &once) == XD_OK);

	XD_REQUIRE((model = lifted_model(g->domains[0].ds, &o, &res, &helps)) != NULL);
	XD_REQUIRE(xd_repeat_auto_decide(model, NULL, 0.0f, helps, g->domains[0].ds, &o, &plain) == XD_OK);
	XD_REQUIRE(xd_repeat_pop_each(model, NULL, 0.0f, helps, g->domains[0].ds, &o, true, &cal,
								  &each) == XD_OK);
	XD_REQUIRE(each != NULL && cal.term_kept && cal.weight > 0.0f && cal.n_valid > 0);
	XD_CHECK(memcmp(&plain, &cal, sizeof(cal)) == 0);
	k = pop_weight_index(cal.weight);
	XD_REQUIRE(k > 0);
	XD_CHECK(cal.served_mrr == cal.mrr[k] && cal.mrr[k] != cal.mrr_off);
	XD_CHECK(each_mean_is(each, cal.n_valid, cal.mrr[k]));
	for (int64_t i = 0; i < cal.n_valid; i++)
		XD_CHECK(each[i] > 0.0 && each[i] <= 1.0);
	free(each);
	/* the calibration alone: the same weight's terms */
	XD_REQUIRE(xd_repeat_pop_each(model, NULL, 0.0f, helps, g->domains[0].ds, &o, false, &cal,
								  &each) == XD_OK);
	XD_CHECK(!cal.decided && cal.weight == xd_repeat_pop_ladder[k]);
	XD_CHECK(each_mean_is(each, cal.n_valid, cal.mrr[k]) && cal.served_mrr == cal.mrr[k]);
	free(each);
	xd_cold_free(helps);
	xd_model_free(model);

	/* not kept: no term's ranks */
	XD_REQUIRE((model = lifted_model(once, &o, &res, &helps)) != NULL);
	xd_repeat_apply(model, XD_REPEAT_FIRST);
	XD_REQUIRE(xd_repeat_pop_each(model, NULL, 0.0f, helps, once, &o, true, &cal, &each) == XD_OK);
	XD_REQUIRE(each != NULL && cal.decided && !cal.term_kept && cal.n_valid > 0);
	XD_CHECK(cal.served_mrr == cal.mrr_off && cal.mrr_off > cal.mrr[0]);
	XD_CHECK(each_mean_is(each, cal.n_valid, cal.mrr_off));
	free(each);
	xd_cold_free(helps);
	xd_model_free(model);

	/* no lift-only term: nothing ranked */
	XD_REQUIRE((model = repeat_model(once, false, false, 0, &o, &res)) != NULL);
	XD_REQUIRE(xd_repeat_pop_each(model, NULL, 0.0f, NULL, once, &o, false, &cal, &each) == XD_OK);
	XD_CHECK(each != NULL && cal.n_valid == 0 && cal.served_mrr == 0.0);
	free(each);
	xd_model_free(model);
	xd_dataset_free(once);
	xd_generated_free(g);
}

/*
 * The lift-only rule (xd_repeat_lift_choice) on TripAdvisor's shape: the
 * best lift on validation is the smallest, but no lift does not beat the
 * larger ones beyond 2 standard errors: the largest is kept. Clear evidence
 * against the top lowers it to the largest lift left; against every lift,
 * none; a tie keeps the top.
 */
XD_TEST(train_repeat_lift_choice_keeps_the_largest_not_rejected)
{
	/* learned (unused), +0.5, +1, +2, +4, +8, first, off */
	double		mrr[XD_REPEAT_CANDIDATES] = {0, 0.066, 0.065, 0.064, 0.063, 0.063, 0.063, 0.062};
	double		se[XD_REPEAT_CANDIDATES] = {0, 0.004, 0.006, 0.007, 0.008, 0.008, 0.008, 0};

	XD_CHECK(xd_repeat_lift_choice(mrr, se) == XD_REPEAT_FIRST);
	/* first and +8 lose by more than 2 s.e.; +4 by less */
	mrr[XD_REPEAT_FIRST] = mrr[5] = 0.040;
	XD_CHECK(xd_repeat_lift_choice(mrr, se) == 4);
	/* every lift loses beyond the margin */
	for (int k = 1; k < XD_REPEAT_OFF; k++)
		mrr[k] = 0.062 - 2.01 * se[k];
	XD_CHECK(xd_repeat_lift_choice(mrr, se) == XD_REPEAT_OFF);
	/* within the margin, and a tie with no lift (no difference at all) */
	mrr[XD_REPEAT_FIRST] = 0.062 - 1.99 * se[XD_REPEAT_FIRST];
	XD_CHECK(xd_repeat_lift_choice(mrr, se) == XD_REPEAT_FIRST);
	mrr[XD_REPEAT_FIRST] = 0.062;
	se[XD_REPEAT_FIRST] = 0.0;
	XD_CHECK(xd_repeat_lift_choice(mrr, se) == XD_REPEAT_FIRST);
}

/*
 * Explicit feedback: the trained model beats predicting the mean rating, on
 * the small world over 3 seeds: the mean over the seeds of its test RMSE over
 * the mean predictor's is below 0.9. Measured under the SkylakeX,
 * Sandybridge, Haswell, Zen and Prescott kernels alike (only one MAE moved,
 * by 0.001): seed 7 RMSE 1.042 against 1.408, seed 8 0.938 against 1.306,
 * seed 9 1.067 against 1.404, all 30 epochs; mean ratio 0.740, so the bound
 * leaves 0.16 (planted-signal test below for why a mean).
 */
XD_TEST(train_slow_explicit_beats_the_mean)
{
	enum
	{
		first_seed = 7, n_seeds = 3
	};
	double		rmse_ratio = 0.0;

	for (uint64_t seed = first_seed; seed < first_seed + n_seeds; seed++)
	{
		xd_generated *g;
		xd_model   *model;
		xd_train_result res;
		xd_rating_metrics rm;
		xd_eval_opts eo;
		const xd_dataset *ds;
		double		sq = 0;
		int64_t		n = 0;

		XD_REQUIRE(small_world_trained(seed, 1, 16, 30, 3, &g, &model, &res));
		ds = g->domains[0].ds;
		xd_eval_opts_default(&eo);
		XD_REQUIRE(xd_eval_ratings(ds, XD_SPLIT_TEST, &eo, xd_model_score, model, &rm) == XD_OK);
		for (int64_t i = 0; i < ds->n_split[XD_SPLIT_TEST]; i++)
		{
			double		e = ds->ratings[ds->split_rows[XD_SPLIT_TEST][i]] - ds->rating_mean;

			sq += e * e;
			n++;
		}
		printf("    seed %d: test RMSE %.3f MAE %.3f (mean predictor RMSE %.3f), %d epochs\n",
			   (int) seed, rm.rmse, rm.mae, sqrt(sq / n), res.epochs);
		XD_REQUIRE(rm.n > 0 && n > 0);
		rmse_ratio += rm.rmse / sqrt(sq / n) / n_seeds;
		xd_model_free(model);
		xd_generated_free(g);
	}
	printf("    mean over %d seeds: RMSE / mean predictor's %.3f\n", n_seeds, rmse_ratio);
	XD_CHECK(rmse_ratio < 0.9);
}

/*
 * The planted signal: the trained model gets close to the generator's oracle
 * and far above random (1/101), on the small world (300 users, 200 items,
 * 20,000 rows) over 3 seeds. The oracle's test H@1 is 0.13-0.16, its MRR
 * 0.32-0.36.
 *
 * OpenBLAS picks its sgemm kernel by CPU (OPENBLAS_CORETYPE forces one), and
 * each kernel rounds differently, so 50-80 epochs take another path on each:
 * seed 11's H@1 reads 0.091 (SkylakeX, best epoch 64), 0.092 (Sandybridge,
 * 74), 0.097 (Prescott, 76), 0.103 (Haswell and Zen, 75). One seed against a
 * tight bound failed on one CPU and passed on another (H@1 0.091 against 0.6
 * of the oracle's 0.155 = 0.093, on this Xeon's default SkylakeX). So the
 * claims are on the means over the seeds, which moved little between
 * kernels (docs/CONTRIBUTING.md):
 *
 *   mean over seeds 11-13  SkylakeX  Sandybridge  Haswell, Zen  Prescott  bound
 *   H@1 / oracle H@1         0.674      0.654         0.681       0.662    0.55
 *   MRR / oracle MRR         0.781      0.774         0.783       0.780    0.70
 *   H@1                      0.099      0.096         0.100       0.097    8/101
 *
 * Each kernel gave the same values at every activation width (XD_SIMD_LANES
 * 4, 8, 16). The bounds sit 0.10, 0.07 and 0.017 (0.079 against 0.096) below
 * the lowest kernel's mean: 3 or more standard deviations of a 3-seed mean,
 * judged from how far one seed moved between kernels (H@1 ratio by up to
 * 0.08, MRR ratio by up to 0.03) and the sampling error of ~2,000 test
 * positives (0.007 on one seed's H@1).
 */
XD_TEST(train_slow_planted_signal_approaches_oracle)
{
	enum
	{
		first_seed = 11, n_seeds = 3
	};
	double		h1_ratio = 0.0,
				mrr_ratio = 0.0,
				h1 = 0.0;

	for (uint64_t seed = first_seed; seed < first_seed + n_seeds; seed++)
	{
		xd_generated *g;
		xd_model   *model;
		xd_train_result res;
		xd_gen_oracle oracle;
		xd_rank_metrics mm,
					om;
		xd_eval_opts eo;

		XD_REQUIRE(small_world_trained(seed, 0, 32, 0, 5, &g, &model, &res));
		XD_REQUIRE(test_metrics(model, g->domains[0].ds, &mm) == XD_OK);
		XD_REQUIRE(xd_gen_oracle_init(&oracle, g, 0, -1) == XD_OK);
		xd_eval_opts_default(&eo);
		XD_REQUIRE(xd_eval_sampled(g->domains[0].ds, XD_SPLIT_TEST, &eo, xd_gen_oracle_score, &oracle, &om) == XD_OK);
		printf("    seed %d: model H@1 %.3f MRR %.3f (best epoch %d of %d, %.1f s) | oracle H@1 %.3f MRR %.3f | n %ld\n",
			   (int) seed, mm.h1, mm.mrr, res.best_epoch, res.epochs, res.seconds,
			   om.h1, om.mrr, (long) mm.n);
		XD_REQUIRE(om.h1 > 0.0 && om.mrr > 0.0);
		h1_ratio += mm.h1 / om.h1 / n_seeds;
		mrr_ratio += mm.mrr / om.mrr / n_seeds;
		h1 += mm.h1 / n_seeds;
		xd_gen_oracle_free(&oracle);
		xd_model_free(model);
		xd_generated_free(g);
	}
	printf("    mean over %d seeds: H@1 / oracle %.3f, MRR / oracle %.3f, H@1 %.3f\n",
		   n_seeds, h1_ratio, mrr_ratio, h1);
	XD_CHECK(h1_ratio >= 0.55);
	XD_CHECK(mrr_ratio >= 0.70);
	XD_CHECK(h1 >= 8.0 / 101.0);
}

/*
 * The learning-rate search: every rate starts from the model's state on
 * entry, so each fit of the search equals a single xd_train at that rate on
 * a fresh copy of the model, bit for bit; the model returns holding the fit
 * of the best validation metric, and the record says which.
 */
XD_TEST(train_search_keeps_the_best_rate)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_lr_search search;
	const xd_dataset *ds;
	double		best = -INFINITY;
	int			best_i = -1;
	float		kept_w0,
				best_w0 = NAN;

	tiny_world(&gc, 7, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 4;
	o.patience = 2;
	XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &search) == XD_OK);
	kept_w0 = xd_model_find_param(model, "emb.user")->w[0];
	xd_model_free(model);
	XD_CHECK(search.n == 3);
	for (int i = 0; i < 3; i++)
	{
		xd_train_opts oi = o;
		xd_train_result ri;

		XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
		for (int gr = 0; gr < XD_N_GROUPS; gr++)
			oi.lr[gr] = o.lr[gr] * xd_lr_ladder[i];
		XD_REQUIRE(xd_train(model, ds, &oi, &ri) == XD_OK);
		XD_CHECK(search.lr[i] == oi.lr[XD_GROUP_DOMAIN]);
		XD_CHECK(search.metric[i] == ri.best_metric);
		XD_CHECK(search.epochs[i] == ri.epochs);
		if (ri.best_metric > best)
		{
			best = ri.best_metric;
			best_i = i;
			best_w0 = xd_model_find_param(model, "emb.user")->w[0];
		}
		xd_model_free(model);
	}
	XD_CHECK(search.chosen == best_i);
	XD_CHECK(kept_w0 == best_w0);
	XD_CHECK(res.best_metric == best);
	XD_CHECK(res.epochs == search.epochs[best_i]);
	/* a budget outside 1..XD_LR_SEARCH_MAX is refused */
	XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
	XD_CHECK(xd_train_search(model, ds, &o, 0, &res, NULL) == XD_EINVAL);
	XD_CHECK(xd_train_search(model, ds, &o, XD_LR_SEARCH_MAX + 1, &res, NULL) == XD_EINVAL);
	xd_model_free(model);
	xd_generated_free(g);
}

/* a progress callback keeping the first epoch's validation metric */
static void
keep_first_metric(void *arg, const xd_epoch_report *r)
{
	if (r->epoch == 1)
		*(double *) arg = r->metric;
}

/*
 * The grid's fits stop on a part of the validation subsample
 * (search_valid_max) and are compared on the whole subsample: each fit
 * equals a single xd_train at its rate validating on that part, bit for bit
 * (epochs and weights), its recorded metric is its kept state revalidated on
 * valid_max's subsample, the kept fit is the best of those, and the epochs
 * were validated on the part (the metric progress reports is a single
 * xd_train's on the part, not the whole subsample's). Implicit and explicit
 * feedback.
 */
XD_TEST(train_search_stops_on_a_part_compares_on_the_whole)
{
	for (int fb = 0; fb < 2; fb++)
	{
		xd_gen_config gc;
		xd_generated *g;
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;
		xd_lr_search search,
					whole;
		const xd_dataset *ds;
		double		best = -INFINITY;
		int			best_i = -1;
		double		first_part = NAN,
					first_whole = NAN,
					first_single = NAN;
		float		kept_w0,
					best_w0 = NAN;

		tiny_world(&gc, 7, fb);
		XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
		ds = g->domains[0].ds;
		XD_REQUIRE(ds->n_split[XD_SPLIT_VALID] > 60);
		XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
		xd_train_opts_default(&o, &model->cfg);
		o.max_epochs = 6;
		o.patience = 2;
		o.search_valid_max = 60;
		o.search_margin = 0.0;	/* patience as xd_train's (tested below) */
		o.hooks.progress = keep_first_metric;
		o.hooks.progress_arg = &first_part;
		XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &search) == XD_OK);
		o.hooks.progress = NULL;
		kept_w0 = xd_model_find_param(model, "emb.user")->w[0];
		xd_model_free(model);
		for (int i = 0; i < 3; i++)
		{
			xd_train_opts oi = o;
			xd_train_result ri;
			double		metric;
			int64_t		n;

			XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
			for (int gr = 0; gr < XD_N_GROUPS; gr++)
				oi.lr[gr] = o.lr[gr] * xd_lr_ladder[i];
			oi.valid_max = 60;
			if (i == 0)
			{
				oi.hooks.progress = keep_first_metric;
				oi.hooks.progress_arg = &first_single;
			}
			XD_REQUIRE(xd_train(model, ds, &oi, &ri) == XD_OK);
			XD_CHECK(ri.n_valid <= 60);
			XD_CHECK(search.epochs[i] == ri.epochs);
			XD_REQUIRE(xd_train_validate(model, ds, &o, &metric, &n, NULL) == XD_OK);
			XD_CHECK(n > 60);
			metric = fb ? -metric : metric;		/* as the result reports it */
			XD_CHECK(search.metric[i] == metric);
			if ((fb ? -metric : metric) > best)
			{
				best = fb ? -metric : metric;
				best_i = i;
				best_w0 = xd_model_find_param(model, "emb.user")->w[0];
			}
			xd_model_free(model);
		}
		XD_CHECK(search.chosen == best_i);
		XD_CHECK(kept_w0 == best_w0);
		XD_CHECK(res.best_metric == (fb ? -best : best));
		XD_CHECK(res.n_valid > 60);
		/* the epochs were validated on the part, not on the whole subsample */
		XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
		o.search_valid_max = 0;
		o.hooks.progress = keep_first_metric;
		o.hooks.progress_arg = &first_whole;
		XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &whole) == XD_OK);
		o.hooks.progress = NULL;
		XD_CHECK(first_part == first_single);
		XD_CHECK(first_part != first_whole);
		/* a negative part is refused */
		o.search_valid_max = -1;
		XD_CHECK(xd_train_search(model, ds, &o, 3, &res, NULL) == XD_EINVAL);
		xd_model_free(model);
		xd_generated_free(g);
	}
}

/* a progress callback keeping every epoch's metric, numbered across a search's fits */
typedef struct epoch_metrics
{
	double		metric[64];
	int			n;
} epoch_metrics;

static void
keep_every_metric(void *arg, const xd_epoch_report *r)
{
	epoch_metrics *em = (epoch_metrics *) arg;

	if (r->epoch >= 1 && r->epoch <= 64)
		em->metric[r->epoch - 1] = r->metric;
	if (r->epoch > em->n)
		em->n = r->epoch;
}

/*
 * The grid's fits that stop on a part: a later rate's fit whose best part
 * metric is below an earlier fit's stops after search_patience_behind epochs
 * without improving, instead of patience. Replayed on the part metrics the
 * search reports: every fit stops exactly where the rule says, at least one
 * stops earlier than patience alone would (the same search with the rule off
 * runs longer), the epochs it ran are the rule-off fit's bit for bit, and a
 * negative value is refused.
 */
XD_TEST(train_search_cuts_a_rate_behind_an_earlier_one)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_lr_search on,
				off;
	epoch_metrics em_on = {{0}, 0},
				em_off = {{0}, 0};
	const xd_dataset *ds;
	double		behind = -INFINITY;
	int			first = 0,
				first_off = 0,
				cut = 0;

	tiny_world(&gc, 7, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE(ds->n_split[XD_SPLIT_VALID] > 60);
	XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 12;
	o.patience = 6;
	o.search_valid_max = 60;
	o.search_patience_behind = 1;
	o.search_margin = 0.0;	/* plain patience, as replayed */
	o.hooks.progress = keep_every_metric;
	o.hooks.progress_arg = &em_on;
	XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &on) == XD_OK);
	xd_model_free(model);
	XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
	o.search_patience_behind = 0;
	o.hooks.progress_arg = &em_off;
	XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &off) == XD_OK);
	XD_REQUIRE(em_on.n <= 36 && em_off.n <= 36);
	for (int i = 0; i < 3; i++)
	{
		double		best = -INFINITY;
		int			since = 0,
					stop = o.max_epochs;

		/* the rule replayed on the fit's reported part metrics */
		for (int e = 1; e <= o.max_epochs; e++)
		{
			double		m = em_off.metric[first_off + e - 1];

			if (m > best)
			{
				best = m;
				since = 0;
			}
			else
				since++;
			if (since >= o.patience || (best < behind && since >= 1))
			{
				stop = e;
				break;
			}
			if (e == off.epochs[i])
				break;
		}
		XD_CHECK(on.epochs[i] == (stop < off.epochs[i] ? stop : off.epochs[i]));
		cut += on.epochs[i] < off.epochs[i];
		for (int e = 0; e < on.epochs[i]; e++)
			XD_CHECK(em_on.metric[first + e] == em_off.metric[first_off + e]);
		first += on.epochs[i];
		first_off += off.epochs[i];
		/* the part best of this fit: the next fits' bar */
		best = -INFINITY;
		for (int e = 0; e < on.epochs[i]; e++)
			if (em_on.metric[first - on.epochs[i] + e] > best)
				best = em_on.metric[first - on.epochs[i] + e];
		if (best > behind)
			behind = best;
	}
	XD_CHECK(cut >= 1);
	XD_CHECK(on.epochs[0] == off.epochs[0]);
	o.search_patience_behind = -1;
	XD_CHECK(xd_train_search(model, ds, &o, 3, &res, NULL) == XD_EINVAL);
	xd_model_free(model);
	xd_generated_free(g);
}

/*
 * On the part, an epoch restarts patience only when its metric beats that of
 * the last epoch that did by more than search_margin of it, while the best
 * epoch is still the one kept. Replayed on every epoch's reported part
 * metric: each fit stops exactly where the rule says (and with the margin
 * off, where plain patience says), the margin stops the search sooner, the
 * kept fit holds its best epoch on the part (revalidated on the whole
 * subsample to the metric reported), and a negative margin is refused.
 */
XD_TEST(train_search_part_restarts_patience_beyond_a_margin)
{
	xd_gen_config gc;
	xd_generated *g;
	const xd_dataset *ds;
	const double margin = 0.05;
	int			epochs[2] = {0, 0};

	tiny_world(&gc, 7, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE(ds->n_split[XD_SPLIT_VALID] > 60);
	for (int with = 0; with < 2; with++)
	{
		xd_model   *model;
		xd_train_opts o;
		xd_train_result res;
		xd_lr_search search;
		epoch_metrics em = {{0}, 0};
		double		kept_metric;
		int64_t		n;
		int			first = 0;

		XD_REQUIRE(model_for(ds, 8, 7, &model) == XD_OK);
		xd_train_opts_default(&o, &model->cfg);
		o.max_epochs = 20;
		o.patience = 3;
		o.search_valid_max = 60;
		o.search_patience_behind = 0;
		o.search_margin = with ? margin : 0.0;
		o.hooks.progress = keep_every_metric;
		o.hooks.progress_arg = &em;
		XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &search) == XD_OK);
		XD_REQUIRE(em.n <= 60);
		for (int i = 0; i < 3; i++)
		{
			double		best = -INFINITY,
						anchor = -INFINITY;
			int			since = 0,
						stop = o.max_epochs,
						best_epoch = 0;

			for (int e = 1; e <= o.max_epochs && first + e <= em.n; e++)
			{
				double		m = em.metric[first + e - 1];
				bool		improved = m > best;

				if (improved)
				{
					best = m;
					best_epoch = e;
				}
				if (improved && (!with || anchor == -INFINITY || m > anchor * (1.0 + margin)))
				{
					anchor = m;
					since = 0;
				}
				else
					since++;
				if (since >= o.patience)
				{
					stop = e;
					break;
				}
			}
			XD_CHECK(search.epochs[i] == stop);
			if (i == search.chosen)
			{
				/* the kept epoch is the fit's best on the part */
				XD_CHECK(res.best_epoch == best_epoch);
				XD_REQUIRE(xd_train_validate(model, ds, &o, &kept_metric, &n, NULL) == XD_OK);
				XD_CHECK(n > 60);
				XD_CHECK(kept_metric == res.best_metric);
			}
			first += search.epochs[i];
			epochs[with] += search.epochs[i];
		}
		if (with)
		{
			o.search_margin = -0.01;
			XD_CHECK(xd_train_search(model, ds, &o, 3, &res, NULL) == XD_EINVAL);
			o.search_margin = NAN;
			XD_CHECK(xd_train_search(model, ds, &o, 3, &res, NULL) == XD_EINVAL);
		}
		xd_model_free(model);
	}
	XD_CHECK(epochs[1] < epochs[0]);
	xd_generated_free(g);
}

/*
 * The decay strategy: one fit whose rate steps down (10, 3, 1 times lr),
 * each stage from the best state so far; the model returns holding the best
 * state of any stage, which revalidates to the reported metric bit for bit.
 */
XD_TEST(train_search_decay_steps_down)
{
	xd_gen_config gc;
	xd_generated *g;
	xd_model   *model;
	xd_train_opts o;
	xd_train_result res;
	xd_lr_search search;
	const xd_dataset *ds;
	double		best = -INFINITY,
				again;
	int64_t		n;
	int			epochs = 0;

	tiny_world(&gc, 8, 0);
	XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
	ds = g->domains[0].ds;
	XD_REQUIRE(model_for(ds, 8, 8, &model) == XD_OK);
	xd_train_opts_default(&o, &model->cfg);
	o.max_epochs = 4;
	o.patience = 2;
	o.lr_decay = true;
	XD_REQUIRE(xd_train_search(model, ds, &o, 3, &res, &search) == XD_OK);
	XD_CHECK(search.n == 3);
	XD_CHECK(search.lr[0] == 10.0f * o.lr[XD_GROUP_DOMAIN]);
	XD_CHECK(search.lr[1] == 3.0f * o.lr[XD_GROUP_DOMAIN]);
	XD_CHECK(search.lr[2] == o.lr[XD_GROUP_DOMAIN]);
	for (int i = 0; i < 3; i++)
	{
		XD_CHECK(search.epochs[i] >= 1);
		epochs += search.epochs[i];
		if (search.metric[i] > best)
			best = search.metric[i];
	}
	XD_CHECK(res.best_metric == best);
	XD_CHECK(search.metric[search.chosen] == best);
	XD_CHECK(res.epochs == epochs);
	XD_CHECK(res.best_epoch >= 1 && res.best_epoch <= epochs);
	XD_REQUIRE(xd_train_validate(model, ds, &o, &again, &n, NULL) == XD_OK);
	XD_CHECK(again == best);
	xd_model_free(model);
	xd_generated_free(g);
}

/* every parameter of two models of one config equal, bit for bit */
static bool
same_params(const xd_model *a, const xd_model *b)
{
	if (a->n_params != b->n_params)
		return false;
	for (int k = 0; k < a->n_params; k++)
		if (memcmp(a->params[k]->w, b->params[k]->w,
				   sizeof(float) * a->params[k]->rows * a->params[k]->cols) != 0)
			return false;
	return true;
}

/* train.h's weigh hook: every item negative of the batch weighs *arg */
static xd_status
weigh_item_negatives(void *arg, xd_model *model, xd_batch *b, int64_t step)
{
	(void) model;
	(void) step;
	for (int i = 0; i < b->n_pos; i++)
		b->weights[b->n_pos + i] = *(const float *) arg;
	return XD_OK;
}

/*
 * The item negatives' weight (train.h, xd_train_opts.item_neg_weight): an
 * explicit weight w trains exactly as a weigh hook setting each item
 * negative's weight to w (and its context negative's left at 1) does; 0
 * takes xd_item_neg_weight of the domain's item count, 1 below 1,024
 * items (DESIGN's loss, bit for bit) and n_items / 256 from there, and the
 * result records the weight; a negative or non-finite weight is refused.
 */
XD_TEST(train_item_negatives_weigh_by_the_item_count)
{
	static const int32_t n_items[2] = {60, 1100};
	xd_train_opts o;
	xd_train_result r;

	XD_CHECK(xd_item_neg_weight(1) == 1.0f && xd_item_neg_weight(1023) == 1.0f);
	XD_CHECK(xd_item_neg_weight(1024) == 4.0f && xd_item_neg_weight(2048) == 8.0f);
	XD_CHECK(xd_item_neg_weight(1956) == 1956.0f / 256.0f);
	for (int w = 0; w < 2; w++)
	{
		xd_gen_config gc;
		xd_generated *g;
		xd_model   *by_count,
				   *explicit_w,
				   *hooked,
				   *plain;
		const xd_dataset *ds;
		float		want = w == 0 ? 1.0f : 1100.0f / 256.0f,
					three = 3.0f;

		tiny_world(&gc, 7, 0);
		gc.src_items = n_items[w];
		XD_REQUIRE(xd_generate(&gc, &g) == XD_OK);
		ds = g->domains[0].ds;
		XD_REQUIRE(ds->n_items == n_items[w]);
		XD_REQUIRE(model_for(ds, 8, 7, &by_count) == XD_OK);
		XD_REQUIRE(model_for(ds, 8, 7, &explicit_w) == XD_OK);
		XD_REQUIRE(model_for(ds, 8, 7, &hooked) == XD_OK);
		XD_REQUIRE(model_for(ds, 8, 7, &plain) == XD_OK);
		xd_train_opts_default(&o, &by_count->cfg);
		XD_CHECK(o.item_neg_weight == 0.0f);
		o.max_epochs = 2;
		o.fixed_epochs = true;
		/* by the item count */
		XD_REQUIRE(xd_train(by_count, ds, &o, &r) == XD_OK);
		XD_CHECK(r.item_neg_weight == want);
		/* that weight given */
		o.item_neg_weight = want;
		XD_REQUIRE(xd_train(explicit_w, ds, &o, &r) == XD_OK);
		XD_CHECK(r.item_neg_weight == want);
		XD_CHECK(same_params(by_count, explicit_w));
		/* 3 given (from the start again), against the hook's 3 on DESIGN's weights */
		xd_model_free(explicit_w);
		XD_REQUIRE(model_for(ds, 8, 7, &explicit_w) == XD_OK);
		o.item_neg_weight = 3.0f;
		XD_REQUIRE(xd_train(explicit_w, ds, &o, &r) == XD_OK);
		XD_CHECK(r.item_neg_weight == 3.0f);
		o.item_neg_weight = 1.0f;
		o.weigh = weigh_item_negatives;
		o.weigh_arg = &three;
		XD_REQUIRE(xd_train(hooked, ds, &o, &r) == XD_OK);
		XD_CHECK(same_params(explicit_w, hooked));
		/* DESIGN's 1: the fit by the count below 1,024 items, not above */
		o.weigh = NULL;
		XD_REQUIRE(xd_train(plain, ds, &o, &r) == XD_OK);
		XD_CHECK(r.item_neg_weight == 1.0f);
		XD_CHECK(same_params(by_count, plain) == (w == 0));
		XD_CHECK(!same_params(plain, hooked));
		/* refused */
		o.item_neg_weight = -1.0f;
		XD_CHECK(xd_train(plain, ds, &o, &r) == XD_EINVAL);
		o.item_neg_weight = NAN;
		XD_CHECK(xd_train(plain, ds, &o, &r) == XD_EINVAL);
		o.item_neg_weight = INFINITY;
		XD_CHECK(xd_train(plain, ds, &o, &r) == XD_EINVAL);
		xd_model_free(by_count);
		xd_model_free(explicit_w);
		xd_model_free(hooked);
		xd_model_free(plain);
		xd_generated_free(g);
	}
}
