/*
 * batch.h - the seam between the data side (dataset.c, sample.c, generate.c,
 * metrics.c) and the model side (context.c, cluster.c, rank.c, loss.c).
 *
 * A batch is a list of scored triples (user, item, dense encoded context c).
 * The data side fills it; the model scores it and, in training, back-propagates
 * a loss over it. Users and items are dense domain-local indexes.
 *
 * Implicit training batches (DESIGN section 3) have n = 3 * n_pos rows:
 *   [0, n_pos)          the positives (u, c, v)
 *   [n_pos, 2 n_pos)    their item negatives (u, c', v-), where c' carries the
 *                       negative item's own item-scoped features
 *   [2 n_pos, 3 n_pos)  their context negatives (u, c-, v), where only the
 *                       interaction-scoped part of c was swapped
 * Explicit training batches have n = n_pos rows and a rating per row.
 * Every row of a training batch carries a weight (1 unless a method weights
 * its rows, as source weighting will): the row's term of the loss, and so
 * its gradient, is multiplied by it, and the loss stays a mean over the
 * n_pos positives, so a weight of 2 counts a row twice. xd_batch_init sets
 * every weight to 1.
 * Scoring batches (ranking, evaluation) use only n, users, items, c, and
 * hist.
 *
 * hist[r] is g(h_ui) of the repeat term (core.h, xd_config.repeat): 1 when
 * the row's user has another training row with its item, else 0. A training
 * positive never counts itself (its other rows only), so the term cannot
 * read the label it is trained on. xd_batch_init sets every hist to 0; a
 * batch built without it may leave hist NULL (all 0), and xd_sample_batch
 * leaves a NULL hist NULL (the training loop's batches of a model that reads
 * no history: two lookups per positive saved).
 */
#ifndef XDREC_BATCH_H
#define XDREC_BATCH_H

#include <stdint.h>

#include "xdrec/status.h"

typedef struct xd_batch
{
	int			n;				/* rows filled */
	int			n_pos;			/* training positives (see above); 0 when scoring */
	int			m;				/* encoded context width */
	int			capacity;		/* rows allocated */
	int32_t    *users;			/* [capacity] */
	int32_t    *items;			/* [capacity] */
	float	   *c;				/* [capacity * m], row-major */
	float	   *ratings;		/* [capacity], explicit feedback only */
	float	   *weights;		/* [capacity], training: each row's loss weight */
	float	   *hist;			/* [capacity] the repeat term's g(h_ui); NULL = 0 */
} xd_batch;

xd_status	xd_batch_init(xd_batch *b, int capacity, int m);
void		xd_batch_free(xd_batch *b);

/*
 * Score the n rows of a batch into scores[n]. Metrics and the generator's
 * oracle are written against this callback, so they work for the model, the
 * oracle and any baseline alike.
 */
typedef xd_status (*xd_score_fn) (void *arg, const xd_batch *b, float *scores);

#endif
