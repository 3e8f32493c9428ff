/*
 * jobs.h - what jobs.c (submitting, the queue, cancel, liveness) and
 * worker.c (the dynamic background worker that runs one job) share
 * (DESIGN section 8, docs/jobs.md).
 */
#ifndef XDREC_JOBS_H
#define XDREC_JOBS_H

#include "postgres.h"

#include "miscadmin.h"

/* What a worker is started with, in bgw_extra (bgw_main_arg is the job id). */
typedef struct XdJobLaunch
{
	Oid			database;
	Oid			login_role;		/* the submitting session's login role */
	TransactionId wait_xid;		/* the submitting transaction, or invalid */
	Oid			extension;		/* xdrec's pg_extension row: the job's tables */
} XdJobLaunch;

/* A role switched to, and the one to come back to. */
typedef struct XdRoleSwitch
{
	Oid			save_user;
	int			save_sec;
} XdRoleSwitch;

extern void xdpg_role_switch(Oid role, XdRoleSwitch *save);
extern void xdpg_role_restore(const XdRoleSwitch *save);
extern Oid	xdpg_jobs_owner(void);
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
