/*
 * jobs.h - the jobs layer (src/pg/jobs/): submitting a job (what
 * fn/train_fn.c and fn/adapt_fn.c call for background => true) and what
 * jobs.c (submitting, the queue, cancel, liveness) and worker.c (the dynamic
 * background worker that runs one job's phases, run/) share (DESIGN
 * section 8, docs/jobs.md).
 */
#ifndef XDREC_JOBS_H
#define XDREC_JOBS_H

#include "run/run.h"

#include "miscadmin.h"

/* the bgw_type of xdrec's workers: cancel signals no other process */
#define XDPG_WORKER_TYPE "xdrec job"

/*
 * What a worker is started with, in bgw_extra (bgw_main_arg is the job id).
 * Workers start only for committed jobs, so none waits for a transaction.
 */
typedef struct XdJobLaunch
{
	Oid			database;
	Oid			login_role;		/* the submitting session's login role */
	Oid			extension;		/* xdrec's pg_extension row: the job's tables */
} XdJobLaunch;

extern Jsonb *xdpg_job_submit(const char *name, const char *kind, const char *domain,
							  const char *method, const char *deploy);
extern int	xdpg_jobs_dispatch(void);

extern bool xdpg_jobs_extension_lock(Oid ext);

extern bool xdpg_job_lock(int64 job);
extern void xdpg_job_unlock(int64 job);
extern bool xdpg_job_alive(int64 job);
extern void xdpg_queue_lock(void);

extern int	xdpg_jobs_max_workers(void);
extern void xdpg_job_fail(int64 job, const char *sqlstate, const char *reason);
extern bool xdpg_job_may_start(int64 model_id, const char *domain);
extern int	xdpg_jobs_dispatch_for(Oid self_login, int64 *own);

#endif
