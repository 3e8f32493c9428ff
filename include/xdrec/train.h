/*
 * train.h - the training loop of the core (DESIGN.md section 3): epochs over a
 * seeded shuffle of the training split, batches from sample.h, Adam from
 * core.h, early stopping on the validation metric, keeping the best epoch.
 *
 * The loop never aborts: it returns an xd_status, polls a stop callback once
 * per batch (the PostgreSQL layer maps it to its interrupt check) and reports
 * every epoch through a progress callback (the job machinery commits it).
 */
#ifndef XDREC_TRAIN_H
#define XDREC_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

typedef struct xd_train_opts
{
	int			max_epochs;		/* 100 */
	int			patience;		/* 10 epochs without improvement stop training */
	int64_t		valid_max;		/* validation subsample, 2,000 positives */
	float		lr[XD_N_GROUPS];	/* per parameter group; 0 freezes the group */
	double		anneal_ratio;	/* > 0: the shared group's rate follows eq. 18
								 * (Anneal), falling to anneal_ratio times its
								 * lr after one epoch; 0: constant */
	bool		fixed_epochs;	/* run exactly max_epochs, no validation and
								 * no best-epoch snapshot (pretraining) */
	bool		lr_decay;		/* xd_train_search's strategy (below); xd_train
								 * ignores it */
	int64_t		search_valid_max;	/* xd_train_search's grid: each fit stops on
									 * a subsample of at most this many
									 * validation positives, the fits are
									 * compared on valid_max's (500; 0: every
									 * validation on valid_max's) */
	int			search_patience_behind;	/* xd_train_search's grid, when its
										 * fits stop on that part: a later
										 * rate's fit whose best is below an
										 * earlier rate's stops after this
										 * many epochs without improvement
										 * (5; 0: patience throughout) */
	double		search_margin;	/* xd_train_search's grid, when its fits
								 * stop on that part: an epoch restarts
								 * patience only when its metric beats the
								 * last epoch's that did by more than this
								 * share of it (0.002; 0: any gain); the
								 * best epoch is kept as ever */
	uint64_t	seed;			/* shuffles, negatives, dropout, validation */
	float		item_neg_weight;	/* implicit feedback: the loss weight of each
									 * positive's item negative (batch.h; as
									 * that many uniform item negatives weigh
									 * in expectation); 0: by the domain's item
									 * count, xd_item_neg_weight (below) */
	int			first_kept_epoch;	/* > 1: the epochs before it are never the
									 * best kept nor count toward patience (the
									 * training changed under them: biao.h's
									 * zeroth-order steps); 0: every epoch */
	xd_hooks	hooks;			/* stop polled once per batch, progress after
								 * every epoch */
	/*
	 * Called on every training batch after it is sampled and before its
	 * loss, with the number of batches trained so far: it may set the
	 * rows' weights (batch.h) and do work between steps, leaving every
	 * gradient zero (source weighting: biao.h's xd_biao_weigh). NULL: none.
	 */
	xd_status	(*weigh) (void *arg, xd_model *model, xd_batch *b, int64_t step);
	void	   *weigh_arg;
} xd_train_opts;

/* The defaults of DESIGN.md section 3 for a model config (lr = cfg->lr). */
void		xd_train_opts_default(xd_train_opts *o, const xd_config *cfg);

/*
 * The item negative's weight a fit of a domain of n_items items trains with
 * by default (xd_train_opts.item_neg_weight 0; docs/training.md, "Item
 * negatives on a large catalogue"): DESIGN.md section 3's 1 below
 * XD_ITEM_NEG_MIN_ITEMS items, n_items / XD_ITEM_NEG_ITEMS_PER from there
 * (8 at 2,048 items). With one uniform negative per positive, the squared
 * loss's target for an item a user may choose, p / (2 p + 1 / n_items)
 * beside its context negative, saturates near 1/2 for every item much
 * likelier than a uniform one on a catalogue of thousands: the head is
 * not ordered and the full ranking falls below popularity (cold23:
 * ml-latest-small, 1,956 movies).
 */
#define XD_ITEM_NEG_MIN_ITEMS 1024
#define XD_ITEM_NEG_ITEMS_PER 256
float		xd_item_neg_weight(int32_t n_items);

/* The repeat term's calibration (xd_repeat_calibrate below). */
enum
{
	XD_REPEAT_LEARNED = 0,		/* the term as trained; 1..6 the shifts */
	XD_REPEAT_FIRST = 6,		/* the top shift: the user's items first */
	XD_REPEAT_OFF = 7,			/* no term */
	XD_REPEAT_CANDIDATES = 8
};

typedef struct xd_repeat_calibration
{
	int			chosen;			/* XD_REPEAT_LEARNED, a shift's 1 + index, XD_REPEAT_OFF */
	float		shift;			/* added to b_R (0 when learned or off) */
	double		mrr[XD_REPEAT_CANDIDATES];	/* each candidate's validation MRR */
	double		se[XD_REPEAT_CANDIDATES];	/* the standard error of its difference
											 * with no term's (paired, per positive) */
	int64_t		n_valid;		/* positives ranked (0: not calibrated) */
} xd_repeat_calibration;

typedef struct xd_train_result
{
	int			epochs;			/* epochs run */
	int			best_epoch;		/* whose parameters the model holds on return
								 * (fixed_epochs: 0, the model holds the last) */
	double		best_metric;	/* its validation metric (NaN: fixed_epochs) */
	bool		metric_is_loss; /* no validation positive: best = lowest loss */
	double		seconds;
	/* of seconds: shuffles and batches drawn, forward and backward (and
	 * weigh), Adam steps, validation (docs/training.md "Speed") */
	double		sample_seconds;
	double		step_seconds;
	double		adam_seconds;
	double		valid_seconds;
	double		positives_per_sec;
	int64_t		n_train;		/* training positives per epoch */
	int64_t		n_valid;		/* validation positives evaluated per epoch */
	float		item_neg_weight;	/* the item negatives' weight it trained
									 * with (explicit feedback: 1, none) */
	xd_repeat_calibration repeat;	/* xd_train_search: the repeat term's
									 * calibration (below) */
} xd_train_result;

/*
 * Trains model on the training split of a finalized dataset. On XD_OK the
 * model holds the parameters of the best epoch (by validation MRR for
 * implicit feedback, RMSE for explicit; the training loss when the validation
 * split has no eligible positive). On any other status the model's values are
 * unspecified and the caller discards it. Frees everything it allocates.
 */
xd_status	xd_train(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
					 xd_train_result *res);

/*
 * The bytes a fit validating on at most valid_max positives (xd_train_opts;
 * a search's fits share them) may hold in its
 * validation caches beside the model, counted in xdrec.train_memory: the
 * kept validation candidates (metrics.h, implicit feedback; and the
 * XD_SEARCH_VALID_MAX positives a search's grid fits stop on) and, when the
 * shared modules are frozen (DRR, Anneal's second stage), x^0, x^1 and c of
 * every validation row (docs/training.md, Speed).
 */
size_t		xd_train_cache_bytes(const xd_dataset *ds, const xd_config *cfg,
								 int64_t valid_max, bool frozen_shared);

/*
 * The loop's validation metric, larger is better: MRR (implicit) or -RMSE
 * (explicit), on the seeded subsample of o->valid_max positives that every
 * epoch of a loop with o->seed uses. *n: the positives it was computed on.
 * each (may be NULL): *each receives a malloc'd array of the *n positives'
 * own terms, larger is better too: 1/rank, or minus the squared error.
 */
xd_status	xd_train_validate(xd_model *model, const xd_dataset *ds,
							  const xd_train_opts *o, double *metric, int64_t *n,
							  double **each);

/*
 * The same on the same positives and negatives for any scorer of the
 * dataset's rows (fn over arg, an xd_score_fn such as a blend's) learning
 * feedback: what xd_train_validate gives for a model.
 */
xd_status	xd_train_validate_score(xd_score_fn fn, void *arg, xd_feedback feedback,
									const xd_dataset *ds, const xd_train_opts *o,
									double *metric, int64_t *n, double **each);

/*
 * The learning-rate search every fit runs by default (docs/training.md,
 * "Learning-rate search"): the first n rates of the ladder below, times the
 * options' lr, chosen on validation. Real targets of a few thousand rows
 * want 3-10 times DESIGN's 1e-3, larger ones converge best at 1e-3
 * (docs/real-report.md). n is the user's budget (the model option
 * lr_search): 1 is DESIGN's single fit. Two strategies (o->lr_decay):
 *   grid   one fit per rate, each from the model's state on entry; the fit
 *          of the best validation metric is kept. Each fit early-stops on
 *          a seeded part of o->search_valid_max positives of valid_max's
 *          subsample (fewer scored rows per epoch: validation was about a
 *          third of a fit), and the fits' kept states are compared on the
 *          whole subsample, one validation each; a validation split of at
 *          most search_valid_max rows is validated whole throughout (the
 *          search is then the plain grid, bit for bit); on the part, a
 *          later rate's fit whose best is below an earlier fit's best
 *          stops after o->search_patience_behind epochs without improving
 *          (the two extra rates' epochs were what the search cost), and
 *          an epoch restarts patience only when its part metric beats the
 *          last epoch's that did by more than o->search_margin of it (its
 *          best epoch is kept all the same);
 *   decay  one fit that starts at the largest of the n rates and, each time
 *          early stopping ends a stage, goes on from the best state so far
 *          at the next smaller rate; the best state of any stage is kept.
 */
#define XD_LR_SEARCH_MAX 5
#define XD_LR_SEARCH_DEFAULT 3
#define XD_SEARCH_VALID_MAX 500
#define XD_SEARCH_PATIENCE_BEHIND 5
#define XD_SEARCH_MARGIN 0.002
extern const float xd_lr_ladder[XD_LR_SEARCH_MAX];

typedef struct xd_lr_search
{
	int			n;				/* rates tried (fits, or decay's stages) */
	int			chosen;			/* index of the fit (stage) kept */
	float		lr[XD_LR_SEARCH_MAX];	/* the base group's rate of each */
	double		metric[XD_LR_SEARCH_MAX];	/* best validation metric, as the
											 * result reports it (MRR, RMSE
											 * or loss) */
	int			epochs[XD_LR_SEARCH_MAX];
	double		seconds[XD_LR_SEARCH_MAX];
} xd_lr_search;

/*
 * The search above over n_rates rates (every group's lr scaled alike;
 * frozen groups stay frozen), with the shuffles and negatives of o->seed.
 * The model returns with the best validation metric found (ties: the
 * earlier); res describes the fit kept (grid) or the whole fit (decay:
 * epochs of every stage, best_epoch counted across them), its seconds and
 * positives_per_sec counting every fit. With n_rates 1 or o->fixed_epochs
 * it is xd_train. search (may be NULL) records every fit or stage. The
 * progress callback sees every epoch, numbered on across the rates (a
 * job's progress rows are keyed by them). Memory: up to two extra copies
 * of the trainable parameters and their Adam moments.
 */
xd_status	xd_train_search(xd_model *model, const xd_dataset *ds, const xd_train_opts *o,
							int n_rates, xd_train_result *res, xd_lr_search *search);

/*
 * The repeat term's calibration (core.h's r(c) g(h_ui); repeat_fit.c):
 * after a fit of a model with the term, the validation split is ranked
 * against every item of the domain in its context, the user's own items
 * allowed (metrics.h, xd_eval_full with keep_seen; at most 1,000 positives
 * and 20M scores, at least 100 positives),
 * with the learned term, with b_R raised by 0.5, 1, 2, 4, 8 and 1,000 (the
 * user's items first, XD_REPEAT_FIRST), and with no term (w_R = b_R = 0);
 * the model keeps the best MRR (ties: the earlier), or for a lift-only
 * term xd_repeat_lift_choice's.
 * A model without the term, or no validation positive: nothing changes.
 * xd_train_search runs it unless o->fixed_epochs.
 */
xd_status	xd_repeat_calibrate(xd_model *model, const xd_dataset *ds,
								const xd_train_opts *o, xd_repeat_calibration *out);

/*
 * Each candidate's full-ranking MRR on a split (the user's own items
 * allowed) with at most max_positives of its rows, spread evenly (0: all):
 * what the calibration chooses on, for any split (the real report reads
 * the test split's). *n: the positives ranked; 0 and zeros for a model
 * without the term. hooks (may be NULL): stop polled per positive.
 */
xd_status	xd_repeat_candidates(xd_model *model, const xd_dataset *ds, xd_split split,
								 int64_t max_positives, const xd_hooks *hooks,
								 double mrr[XD_REPEAT_CANDIDATES], double se[XD_REPEAT_CANDIDATES],
								 int64_t *n);

/*
 * The lift-only term's choice (core.h, repeat_lift) from the candidates'
 * validation MRRs and standard errors: the largest lift that no lift does
 * not beat by more than XD_REPEAT_LIFT_MARGIN standard errors of their
 * paired difference, from XD_REPEAT_FIRST (the user's items first, ordered
 * by the model) down; XD_REPEAT_OFF when no lift is left. Validation holds
 * few repeats (about 5 per TripAdvisor target), too few to tell the lifts
 * apart: the best of them on validation was +0.5 on most fits where test
 * preferred +1 and up, which all rank alike (TripAdvisor's test full MRR,
 * 18 fits: +0.5 0.0492 and 0.0547, +1 and up 0.0512 and 0.0570-0.0572 on
 * the fits of xdrec.adapt and of xdrec.train). So the top lift is the
 * prior and only clear evidence against it lowers it
 * (docs/serving.md#repeats).
 */
#define XD_REPEAT_LIFT_MARGIN 2.0
int			xd_repeat_lift_choice(const double mrr[XD_REPEAT_CANDIDATES],
								  const double se[XD_REPEAT_CANDIDATES]);

/* Sets the term to a candidate: b_R raised by a shift, or w_R = b_R = 0 (off). */
void		xd_repeat_apply(xd_model *model, int candidate);

/*
 * Popularity in context among the user's own lifted items (core.h,
 * xd_model_set_repeat_pop): after the lift's calibration, and once the
 * cold module's prior table is counted (the table it reads), the validation
 * split is ranked as xd_repeat_calibrate ranks it (every item, the user's
 * own allowed, the same positives) with w * log(1 + count in context)
 * (cold.h, xd_cold_cell_pop) added to the user's own items, for each w of
 * xd_repeat_pop_ladder (0 first: the lift alone). Each positive is also
 * ranked among its own item in XD_REPEAT_POP_CONTEXTS other contexts,
 * drawn as the sampled protocol draws context negatives (metrics.h,
 * xd_eval_context_negative; seeded by o->seed and the row): w p(v, c')
 * moves the item there too, and a large w orders an own item's contexts
 * by popularity rather than by the user's preference (the term as served
 * cost the sampled MRR 5-6% in the transfer report's control world,
 * docs/transfer.md). From the two ranks, the sampled protocol's expected
 * rank (its 50 item and 50 context negatives, metrics.h): 1 +
 * XD_REPEAT_POP_ITEM_NEG (at most the other items) times the
 * share of the other items ranked above + the contexts ranked above. Kept:
 * the best full-ranking MRR among the weights whose expected sampled MRR
 * is not below w = 0's by more than XD_REPEAT_POP_MARGIN standard errors
 * of their paired difference (w = 0 always qualifies), ties to the
 * smaller; set on the model. Not the context ranking alone: on DePaulMovie
 * every weight lowers it beyond that margin, and the full ranking the
 * term serves gains +24% (docs/transfer.md). A model without a lift-only
 * term, a table without a prior, or no validation positive: weight 0.
 * second (may be NULL) blended with model at a (transfer.h, xd_fit_score):
 * the blend's scores are ranked, and both fits get the weight (their mix,
 * (1 - a) + a, adds it once).
 */
#define XD_REPEAT_POP_WEIGHTS 8
#define XD_REPEAT_POP_CONTEXTS 50
#define XD_REPEAT_POP_ITEM_NEG 50
#define XD_REPEAT_POP_MARGIN 1.0
extern const float xd_repeat_pop_ladder[XD_REPEAT_POP_WEIGHTS];

typedef struct xd_repeat_pop_calibration
{
	float		weight;			/* kept (0: no term) */
	double		mrr[XD_REPEAT_POP_WEIGHTS];	/* each weight's validation MRR */
	/* ... ranked among its item in the other contexts, and the s.e. of its
	 * paired difference from w = 0's */
	double		ctx_mrr[XD_REPEAT_POP_WEIGHTS];
	double		ctx_se[XD_REPEAT_POP_WEIGHTS];
	/* the sampled protocol's MRR expected from the two, the same s.e. */
	double		sampled_mrr[XD_REPEAT_POP_WEIGHTS];
	double		sampled_se[XD_REPEAT_POP_WEIGHTS];
	int64_t		n_valid;		/* positives ranked (0: not calibrated) */
	/* xd_repeat_auto_decide only (decided), else 0 and term_kept true */
	bool		decided;
	bool		term_kept;		/* the lift (and weight) kept, or taken off */
	double		mrr_off;		/* validation MRR with no term */
	double		se_gain;		/* s.e. of the best weight's paired gain over it */
	/* the validation MRR of what is served: the kept weight's (with the
	 * lift), or, decided and not kept, mrr_off */
	double		served_mrr;
} xd_repeat_pop_calibration;

struct xd_cold;
xd_status	xd_repeat_pop_calibrate(xd_model *model, xd_model *second, float a,
									const struct xd_cold *table, const xd_dataset *ds,
									const xd_train_opts *o, xd_repeat_pop_calibration *out);


/*
 * Option repeat "auto" below its share (core.h, XD_REPEAT_AUTO_SHARE):
 * the lift decided on validation. A lift-only term calibrated as usual
 * (xd_repeat_calibrate), then xd_repeat_pop_calibrate's ranking (no
 * table: the lift alone) beside the same positives with no term (the
 * history left out); the term and its weight stay only when the best
 * weight's MRR beats no term by more than XD_REPEAT_AUTO_MARGIN standard
 * errors of their paired difference, else the term is taken off
 * (xd_repeat_apply XD_REPEAT_OFF, weight 0). The prior here is no term
 * (the share gate said so), so the evidence must be for the lift: one
 * s.e., where the lift's own choice asks two against it. No validation
 * positive: no term.
 */
#define XD_REPEAT_AUTO_MARGIN 1.0
xd_status	xd_repeat_auto_decide(xd_model *model, xd_model *second, float a,
								  const struct xd_cold *table, const xd_dataset *ds,
								  const xd_train_opts *o, xd_repeat_pop_calibration *out);

/*
 * xd_repeat_auto_decide (decide) or xd_repeat_pop_calibrate (not), and
 * *each (malloc'd, the caller frees it; NULL on an error) every ranked
 * positive's reciprocal rank in validation's full ranking as served: the
 * kept weight's with the lift, or, decided and not kept, with no term;
 * out->n_valid of them, in validation order, their mean out->served_mrr
 * (none where nothing is ranked: a model without a lift-only term, or not
 * deciding with a table without a prior). Two calls on one dataset with the
 * same options rank the same positives, so their terms pair (the
 * large-target blend's gate, docs/transfer.md).
 */
xd_status	xd_repeat_pop_each(xd_model *model, xd_model *second, float a,
							   const struct xd_cold *table, const xd_dataset *ds,
							   const xd_train_opts *o, bool decide,
							   xd_repeat_pop_calibration *out, double **each);

/*
 * The popularity table xd_repeat_auto_decide ranks the weights with: the
 * prior's table a cold module with the default options counts (cold.h: the
 * same prior, joint cell and training rows of ds), so the weight it finds is
 * the one the module's own table gives once trained; *out NULL when the
 * prior does not fit (cold.h, xd_cold_prior_fits: the lift alone then, as a
 * module without a prior gives no weight). The caller frees it
 * (xd_cold_free) after taking the weight off (xd_model_set_repeat_pop).
 */
/*
 * Popularity in context on every item (core.h, xd_model_set_pop_all),
 * guarded on validation (docs/serving.md, "Popularity in context on every
 * item"): the term at weight w set on model (and second, blended at a, as
 * xd_fit_score blends), the validation metric of xd_train_validate_score
 * (the loop's sampled positives, o's) read with it and without it on the
 * same positives, and the term kept unless it is worse than none by more
 * than XD_POP_ALL_MARGIN standard errors of their paired difference: a
 * fixed weight where it does not cost the metric the product is chosen
 * on, none where the model ranks better alone (on the generator's worlds
 * it cost the sampled MRR 10-25%; on TripAdvisor it gains). w = 0, no
 * table of the model's items, explicit feedback or no validation
 * positive: weight 0, nothing ranked. The models leave with the weight
 * kept (0: off).
 */
#define XD_POP_ALL_MARGIN 1.0

typedef struct xd_pop_all_choice
{
	float		weight;			/* kept: w, or 0 */
	double		valid_on;		/* the validation metric with the term */
	double		valid_off;		/* ... without it, on the same positives */
	double		se;				/* the s.e. of their paired difference */
	int64_t		n;				/* positives ranked (0: not guarded) */
} xd_pop_all_choice;

xd_status	xd_pop_all_choose(xd_model *model, xd_model *second, float a,
							  const struct xd_cold *table, const xd_dataset *ds,
							  const xd_train_opts *o, float w, xd_pop_all_choice *out);

xd_status	xd_repeat_auto_table(const xd_config *cfg, const xd_dataset *ds,
								 struct xd_cold **out);

/*
 * Anneal's schedule (paper eq. 18, DESIGN.md section 4): eta_b = eta0
 * exp(-lambda b), lambda such that eta falls to ratio * eta0 after one epoch
 * of batches_per_epoch batches.
 */
double		xd_anneal_lambda(int64_t batches_per_epoch, double ratio);
float		xd_anneal_lr(float eta0, double lambda, int64_t b);

#endif
