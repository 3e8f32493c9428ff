/*
 * sample.h - training batches: seeded shuffles and negative sampling
 * (DESIGN section 3), writing the layout of batch.h.
 */
#ifndef XDREC_SAMPLE_H
#define XDREC_SAMPLE_H

#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/dataset.h"
#include "xdrec/rng.h"
#include "xdrec/status.h"

/* Seeded Fisher-Yates shuffle of rows[n] in place (one epoch's order). */
void		xd_shuffle_rows(int64_t *rows, int64_t n, xd_rng *rng);

/*
 * A copy of the dataset's training row indexes, to shuffle per epoch; the
 * caller frees *rows. XD_ENODATA without training rows.
 */
xd_status	xd_train_rows(const xd_dataset *ds, int64_t **rows, int64_t *n);

/*
 * Fills b from the n_pos training rows rows[0..n_pos) of a finalized dataset.
 *
 * Implicit feedback (ds->has_ratings == 0): b->n = 3 n_pos, b->n_pos = n_pos,
 *   [0, n_pos)          positives (u, c, v), c encoded as in xd_dataset_encode
 *   [n_pos, 2 n_pos)    item negatives (u, c', v-): v- uniform over the
 *                       domain's items other than v, c' = c with v-'s own
 *                       item-scoped features
 *   [2 n_pos, 3 n_pos)  context negatives (u, c-, v): c- = c with the
 *                       interaction-scoped part of a uniformly random other
 *                       training row, redrawn while c- equals c (at most 32
 *                       draws, then kept: a domain whose rows all share one
 *                       context, or a schema without interaction-scoped
 *                       features, has no different context to offer)
 *   ratings are 1 for positives and 0 for negatives.
 * Explicit feedback: b->n = b->n_pos = n_pos with the rows' ratings.
 * Every row's hist (batch.h) is 1 when its user has a training row with its
 * item other than the positive's own row, else 0.
 *
 * XD_EINVAL when b->capacity is too small, b->m differs from the schema's m,
 * or the dataset is not finalized; XD_ENODATA (implicit) when the domain has
 * fewer than 2 items or 2 training rows.
 */
xd_status	xd_sample_batch(const xd_dataset *ds, const int64_t *rows, int n_pos,
							xd_rng *rng, xd_batch *b);

#endif
