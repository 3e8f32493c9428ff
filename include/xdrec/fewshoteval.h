/*
 * fewshoteval.h - the few-shot protocol (issue 20; xdrec.evaluate(...,
 * protocol => 'fewshot', support => N)): a seeded N of a domain's rows are
 * its support (xd_fewshot_support_of: 80% training, 20% validation, what
 * DRR and target-only stop on) and every other row its query, ranked
 * against every item of the domain by xd_eval_full (the user's support
 * items other than the query's own excluded; a query whose user or item
 * has no support row cannot be ranked and is left out). The methods, each
 * fitted on the same support:
 *
 *   fewshot        the s2Meta meta-learner (fewshot.h), when there is one
 *   drr            DRR (transfer.h), as adapt fits it
 *   target_only    the full model on the support alone
 *   popularity     popularity in context over the support (baseline.h)
 *   support_first  the user's support items first, then popularity in
 *                  context
 */
#ifndef XDREC_FEWSHOTEVAL_H
#define XDREC_FEWSHOTEVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "xdrec/dataset.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/fewshot.h"
#include "xdrec/metrics.h"
#include "xdrec/status.h"
#include "xdrec/transfer.h"

typedef enum xd_fse_method
{
	XD_FSE_FEWSHOT = 0,
	XD_FSE_DRR,
	XD_FSE_TARGET_ONLY,
	XD_FSE_POPULARITY,
	XD_FSE_SUPPORT_FIRST,
	XD_FSE_N_METHODS
} xd_fse_method;

/* "fewshot", "drr", "target_only", "popularity", "support_first" */
const char *xd_fse_method_name(xd_fse_method m);

/* query positives ranked at most (a seeded sample beyond: full ranking costs n_items scores each) */
#define XD_FSE_MAX_QUERY 2000

typedef struct xd_fse_cell
{
	bool		ran;
	xd_rank_summary s;			/* full ranking of the query */
	double		seconds;		/* fitting it on the support (wall) */
	int			steps;			/* fewshot: updates; DRR, target-only: epochs */
} xd_fse_cell;

typedef struct xd_fse_result
{
	int64_t		support;		/* rows */
	int64_t		query;			/* rows */
	int64_t		excluded;		/* query positives that could not be ranked */
	xd_fse_cell cell[XD_FSE_N_METHODS];
} xd_fse_result;

/*
 * Runs the protocol on T (finalized, implicit feedback) with n support rows
 * cut by seed: fewshot with fs (NULL: not run), DRR and target-only by
 * xd_transfer with *to (its method set here; enc: DRR's encoders, may be
 * NULL), against the source's shared modules (only read); to->hooks' stop is
 * polled by every fit and ranking. XD_ENODATA when T has fewer than n + 1
 * rows, XD_EINVAL for explicit feedback.
 */
xd_status	xd_fseval_run(xd_fewshot *fs, const xd_shared *source, const xd_dist_encoders *enc,
						  const xd_dataset *T, int64_t n, uint64_t seed,
						  const xd_transfer_opts *to, xd_fse_result *out);

/*
 * Which way to serve a few-shot support validates best (docs/transfer.md,
 * few-shot): fewshot with fs, popularity in context and the user's support
 * items first, each fitted on cut's training rows alone and ranking its
 * validation rows (full ranking, as the query); a heuristic is chosen only
 * when its MRR is strictly higher than fewshot's (and the other's), so a
 * support with no rankable validation row keeps fewshot. cut: a few-shot
 * cut (xd_fewshot_support_of) or a domain with a validation split.
 */
typedef struct xd_fse_choice
{
	xd_fse_method method;		/* XD_FSE_FEWSHOT, _POPULARITY or _SUPPORT_FIRST */
	double		mrr[XD_FSE_N_METHODS];	/* on the validation rows; NaN: not a candidate */
	int64_t		n;				/* validation positives ranked */
	double		seconds;		/* the choice's own cost (wall) */
} xd_fse_choice;

xd_status	xd_fseval_choose(xd_fewshot *fs, const xd_shared *source, const xd_dataset *cut,
							 uint64_t seed, const xd_hooks *hooks, xd_fse_choice *out);

#endif
