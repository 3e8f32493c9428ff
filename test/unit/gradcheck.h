/*
 * gradcheck.h - helpers shared by the finite-difference gradient checks
 * (test_gradcheck.c for the model, test_gradcheck_drr.c for DRR): the step
 * and tolerances, a random batch in batch.h's layout, perturbed parameters,
 * the loss at fixed dropout masks, and the check of every entry.
 */
#ifndef XDREC_GRADCHECK_H
#define XDREC_GRADCHECK_H

#include <stdbool.h>

#include "xdrec/core.h"

#define GC_EPS 1e-3f
#define GC_ATOL 1e-3
#define GC_RTOL 2e-2

/* P positives (implicit: 3P rows, negatives sharing u, or u and v) with random c and ratings. */
void		gc_fill_batch(xd_batch *b, const xd_config *cfg, int P, int n_users,
						  int n_items, xd_rng *rng);

/* Moves every parameter off its special initial values (zero biases, s_K). */
void		gc_perturb(xd_model *model, xd_rng *rng);

/* Is entry k of p one of the structural zeros of eq. 4-5 (diagonal blocks)? */
bool		gc_mm_diag(const xd_config *cfg, const xd_param *p, size_t k);

/* The loss of b, replaying the dropout mask of rng0 at every evaluation. */
double		gc_loss(xd_model *model, const xd_batch *b, const xd_rng *rng0, bool train);

/* How gc_check_params checks; all false is the plain model's check. */
typedef struct gc_opts
{
	bool		dropout;		/* replay the dropout mask of drop_rng */
	bool		one_sided;		/* after the central steps, one-sided ones */
	bool		shared_frozen;	/* the shared modules must get no gradient */
} gc_opts;

/*
 * Compares the analytic gradient already in every parameter of model (a
 * backward of b, zeroed first) with central differences of gc_loss, entry by
 * entry; entries that must be zero (structural, untouched rows, frozen) are
 * checked for zero instead. Reports the first five disagreements, returns
 * how many there were, and counts the entries compared in *checked and, of
 * those, the residual layers' (DRR) in *checked_residual.
 */
int			gc_check_params(xd_model *model, const xd_config *cfg, const xd_batch *b,
							const xd_rng *drop_rng, const gc_opts *opts,
							int *checked, int *checked_residual);

#endif
