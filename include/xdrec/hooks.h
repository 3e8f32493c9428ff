/*
 * hooks.h - the callbacks every long computation of the core takes, in one
 * struct: a stop callback it polls in every long loop (the PostgreSQL layer
 * maps it to its interrupt check, a job to its cancel check) and a progress
 * callback it calls after every epoch (a job commits it as a progress row).
 * Training, transfer, the encoders, metrics, cold start and the generator
 * all take an xd_hooks (a dataset keeps its stop half); a zeroed one asks
 * for nothing.
 */
#ifndef XDREC_HOOKS_H
#define XDREC_HOOKS_H

#include <stdbool.h>

/* What a progress callback is told after every epoch. */
typedef struct xd_epoch_report
{
	int			epoch;			/* 1-based */
	double		loss;			/* mean training loss of the epoch */
	double		loss_data;		/* the same without the model's extra loss
								 * terms (DRR: eq. 22's KL) */
	double		lr;				/* the fit's base rate (the embeddings'
								 * group, as xd_lr_search records it) */
	double		metric;			/* validation MRR (implicit) or RMSE
								 * (explicit); the training loss when
								 * metric_is_loss; NaN when fixed_epochs */
	bool		metric_is_loss;
	bool		improved;		/* this epoch is the best so far */
	int			best_epoch;
	double		best_metric;
	double		seconds;		/* since the start of training */
	double		positives_per_sec;	/* training positives per second so far */
	double		eta_seconds;	/* to max_epochs at the current pace (an upper bound) */
} xd_epoch_report;

/* Returns nonzero to ask the core to stop (XD_ECANCELLED). */
typedef int (*xd_stop_fn) (void *arg);

typedef void (*xd_progress_fn) (void *arg, const xd_epoch_report *r);

typedef struct xd_hooks
{
	xd_stop_fn	stop;			/* may be NULL */
	void	   *stop_arg;
	xd_progress_fn progress;	/* may be NULL; computations without epochs
								 * never call it */
	void	   *progress_arg;
} xd_hooks;

/* True when the hooks ask the computation to stop. */
static inline bool
xd_hooks_stopped(const xd_hooks *h)
{
	return h->stop && h->stop(h->stop_arg) != 0;
}

/* Tells the progress callback, if any, about an epoch. */
static inline void
xd_hooks_report(const xd_hooks *h, const xd_epoch_report *r)
{
	if (h->progress)
		h->progress(h->progress_arg, r);
}

#endif
