/*
 * baseline.h - the reference scorers an evaluation reports beside a model
 * (docs/sql-reference.md, xdrec.evaluate), as xd_score_fn callbacks, so the
 * metrics of metrics.h measure them exactly as they measure the model:
 *
 *   random      a seeded uniform score per (user, item, context): what
 *               ranking by chance gives under the protocol
 *   popularity  popularity in context: how often the item was chosen in
 *               training interactions whose interaction-scoped context falls
 *               in the same cell as the candidate's (numeric values in eighths
 *               of their scaled range, categories and booleans as they are),
 *               then its overall popularity; the heuristic a model has to beat
 *   constant    one value for every row (explicit feedback: the mean rating)
 */
#ifndef XDREC_BASELINE_H
#define XDREC_BASELINE_H

#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/dataset.h"
#include "xdrec/status.h"

/* arg: a uint64_t seed */
xd_status	xd_random_score(void *arg, const xd_batch *b, float *scores);

/* arg: a float, the value */
xd_status	xd_constant_score(void *arg, const xd_batch *b, float *scores);

typedef struct xd_popularity xd_popularity;

/*
 * Counts a finalized dataset's training split (the dataset must outlive the
 * scorer, which reads its item counts). XD_ENOMEM, XD_EINVAL unfinalized.
 */
xd_status	xd_popularity_fit(const xd_dataset *ds, xd_popularity **out);
/* ... its training and validation rows: a few-shot support (fewshoteval.h) */
xd_status	xd_popularity_fit_support(const xd_dataset *ds, xd_popularity **out);
void		xd_popularity_free(xd_popularity *p);

/* arg: an xd_popularity */
xd_status	xd_popularity_score(void *arg, const xd_batch *b, float *scores);

#endif
