/*
 * worker.c - the dynamic background worker that runs jobs (DESIGN
 * section 8, docs/jobs.md), started by jobs.c.
 *
 * It is started once the submitting transaction has committed (jobs.c),
 * connects to the job's database as the submitting session's login role
 * (PostgreSQL 15 connects workers only as roles that may log in), then
 * claims the job under the queue lock (the cap and one job per (model,
 * domain) are decided there) and holds the job's advisory lock until its
 * outcome is committed. The job runs as
 * the submitting role in three steps: load (one transaction), fit (the core,
 * outside any transaction, committing one progress row per epoch in its own
 * transaction), store (one transaction that writes and serves the version
 * and records the job finished, so a failed, cancelled or killed job deploys
 * nothing). Any error aborts, and a fresh transaction records the job
 * failed, or cancelled for a cancel, with its message and SQLSTATE. Then the
 * worker starts workers for what the queue may start next, runs the next
 * job of its own login role itself, from a fresh session (DISCARD ALL),
 * and exits when none is left for it. Each of its transactions that touches
 * xdrec's tables locks the extension first, as DROP EXTENSION does; once the
 * extension is dropped, the worker exits.
 *
 * Every transaction starts with search_path = pg_catalog, pg_temp at session
 * level, whatever the login role's default (ALTER ROLE ... SET search_path)
 * or the previous job's SQL left, and all of its SQL runs in spans
 * (owner.c) that pin it again: the queue's statements as the extension's
 * owner, the job's as its submitter, locked to that role.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/discard.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "jobs/jobs.h"

PGDLLEXPORT void xdrec_job_worker_main(Datum arg);

/* The job being run, as its claim read it; lives in cxt, across transactions. */
typedef struct XdJob
{
	int64		id;
	MemoryContext cxt;
	Oid			submitter;		/* the job runs as this role */
	char	   *model;
	char	   *kind;
	char	   *domain;
	char	   *method;
	char	   *deploy;			/* the call's deploy policy, or NULL */
	ErrorData  *deferred;		/* an error in a progress transaction */
	XdSpan		span;
} XdJob;

/* The extension the worker's job was submitted in (XdJobLaunch). */
static Oid	worker_extension = InvalidOid;

/*
 * A transaction that reads or writes xdrec's tables, with a snapshot. The
 * extension's lock comes first, as in DROP EXTENSION, so the two never
 * deadlock (xdpg_jobs_extension_lock). If the extension was dropped, the
 * job went with it: there is nothing left to run or record, and the worker
 * exits (its transaction aborts on the way out).
 */
static void
worker_begin(void)
{
	/* now() is the transaction's start: a worker has no statements to set it */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
	if (!xdpg_jobs_extension_lock(worker_extension))
	{
		ereport(LOG,
				(errmsg("xdrec job worker exits: extension \"xdrec\" was dropped")));
		proc_exit(0);
	}
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * A transaction with SPI connected, as the extension's owner (the queue's
 * statements) or as the job's submitter (the job itself); SPI_palloc lands
 * in job->cxt.
 */
static void
job_begin(XdJob *job, bool as_owner)
{
	worker_begin();
	MemoryContextSwitchTo(job->cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	if (as_owner)
		xdpg_owner_begin(&job->span);
	else
		xdpg_role_begin(&job->span, job->submitter);
}

static void
job_commit(XdJob *job)
{
	xdpg_span_end(&job->span);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(job->cxt);
}

/*
 * Claims the job: its lock, then, under the queue lock, scheduled -> running
 * if the cap and its (model, domain) allow. Otherwise it stays scheduled for
 * the next dispatch (or is taken by another worker).
 */
static bool
job_claim(XdJob *job)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		vals[2] = {Int64GetDatum(job->id), Int32GetDatum(MyProcPid)};
	bool		claimed = false;
	bool		isnull;

	job_begin(job, true);
	if (!xdpg_job_lock(job->id))
	{
		job_commit(job);
		return false;
	}
	xdpg_queue_lock();
	/* what committed before the queue lock was ours */
	PopActiveSnapshot();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_execute_with_args("SELECT j.state, m.name, j.kind, j.domain, "
							  "j.options OPERATOR(pg_catalog.->>) 'method', j.submitted_by, j.model_id, "
							  "j.options OPERATOR(pg_catalog.->>) 'deploy' "
							  "FROM xdrec.job j JOIN xdrec.model m ON m.id OPERATOR(pg_catalog.=) j.model_id "
							  "WHERE j.id OPERATOR(pg_catalog.=) $1",
							  1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading job " INT64_FORMAT " failed", job->id);
	if (SPI_processed == 1 &&
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "scheduled") == 0)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *submitter = SPI_getvalue(t, td, 6);
		int64		model_id = DatumGetInt64(SPI_getbinval(t, td, 7, &isnull));

		job->model = MemoryContextStrdup(job->cxt, SPI_getvalue(t, td, 2));
		job->kind = MemoryContextStrdup(job->cxt, SPI_getvalue(t, td, 3));
		job->domain = MemoryContextStrdup(job->cxt, SPI_getvalue(t, td, 4));
		job->method = SPI_getvalue(t, td, 5) ? MemoryContextStrdup(job->cxt, SPI_getvalue(t, td, 5)) : NULL;
		job->deploy = SPI_getvalue(t, td, 8) ? MemoryContextStrdup(job->cxt, SPI_getvalue(t, td, 8)) : NULL;
		job->submitter = get_role_oid(submitter, true);
		if (xdpg_job_may_start(model_id, job->domain))
		{
			const char *refusal = NULL;

			/* the login role must still be allowed to become the submitter (SET ROLE's rule) */
			if (!OidIsValid(job->submitter))
				refusal = psprintf("role \"%s\" no longer exists", submitter);
			else if (!is_member_of_role(GetSessionUserId(), job->submitter))
				refusal = psprintf("role \"%s\" is no longer a member of role \"%s\"",
								   GetUserNameFromId(GetSessionUserId(), false), submitter);
			if (refusal)
				xdpg_job_fail(job->id, "42501", refusal);
			else if (SPI_execute_with_args("UPDATE xdrec.job SET state = 'running', pid = $2, "
										   "started_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
										   2, types, vals, NULL, false, 0) == SPI_OK_UPDATE)
				claimed = true;
		}
	}
	job_commit(job);
	if (!claimed)
		xdpg_job_unlock(job->id);
	return claimed;
}

/* The job's outcome, as the extension's owner, in the current transaction. */
static void
job_record(XdJob *job, const char *state, const char *result, const ErrorData *e)
{
	XdSpan		span;
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	vals[0] = Int64GetDatum(job->id);
	vals[1] = CStringGetTextDatum(state);
	if (result)
		vals[2] = CStringGetTextDatum(result);
	else
		nulls[2] = 'n';
	if (e && e->message)
		vals[3] = CStringGetTextDatum(e->message);
	else
		nulls[3] = 'n';
	if (e)
		vals[4] = CStringGetTextDatum(unpack_sql_state(e->sqlerrcode));
	else
		nulls[4] = 'n';
	xdpg_owner_begin(&span);
	xdpg_queue_lock();
	if (SPI_execute_with_args("UPDATE xdrec.job SET state = $2, result = $3::pg_catalog.jsonb, error = $4, "
							  "sqlstate = $5, finished_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
							  5, types, vals, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: recording the outcome of job " INT64_FORMAT " failed", job->id);
	xdpg_span_end(&span);
}

/* The core's stop callback: a cancel, a termination, or a failed progress write. */
static int
job_stop(void *arg)
{
	XdJob	   *job = arg;

	return job->deferred != NULL || QueryCancelPending || ProcDiePending;
}

static Datum
float_or_null(double x, char *null)
{
	*null = isnan(x) || isinf(x) ? 'n' : ' ';
	return Float8GetDatum(*null == 'n' ? 0.0 : x);
}

/*
 * One progress row per epoch, committed in its own transaction. An error
 * here must not unwind through the core: it is kept, the core is stopped,
 * and the error is raised once the core has returned.
 */
static void
job_progress(void *arg, const xd_epoch_report *r)
{
	XdJob	   *job = arg;
	MemoryContext cxt = CurrentMemoryContext;

	if (job->deferred)
		return;
	PG_TRY();
	{
		Oid			types[6] = {INT8OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
		Datum		vals[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

		vals[0] = Int64GetDatum(job->id);
		vals[1] = Int32GetDatum(r->epoch);
		vals[2] = float_or_null(r->loss, &nulls[2]);
		vals[3] = float_or_null(r->metric, &nulls[3]);
		vals[4] = float_or_null(r->positives_per_sec, &nulls[4]);
		vals[5] = float_or_null(r->eta_seconds, &nulls[5]);
		job_begin(job, true);
		if (SPI_execute_with_args("INSERT INTO xdrec.job_progress (job_id, epoch, loss, metric, rows_per_sec, eta) "
								  "VALUES ($1, $2, $3, $4, $5, pg_catalog.make_interval(secs => $6))",
								  6, types, vals, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "xdrec: writing the progress of job " INT64_FORMAT " failed", job->id);
		job_commit(job);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(job->cxt);
		job->deferred = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

static void
job_run(XdJob *job)
{
	xd_hooks	hooks = {job_stop, job, job_progress, job};
	bool		train = strcmp(job->kind, "train") == 0;

	PG_TRY();
	{
		XdTrainRun *trun = NULL;
		XdAdaptRun *arun = NULL;
		char	   *summary;

		job_begin(job, false);
		if (train)
			trun = xdpg_train_load(job->model, job->domain, job->deploy, job->cxt);
		else
			arun = xdpg_adapt_load(job->model, job->domain, job->method ? job->method : "drr",
								   job->deploy, job->cxt);
		job_commit(job);

		if (train)
			xdpg_train_fit(trun, &hooks);
		else
			xdpg_adapt_fit(arun, &hooks);

		job_begin(job, false);
		summary = train ? xdpg_train_store(trun) : xdpg_adapt_store(arun);
		job_record(job, "finished", summary, NULL);
		job_commit(job);
		/* a cancel that arrives after the version is served has nothing to stop */
		QueryCancelPending = false;
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(job->cxt);
		e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		QueryCancelPending = false;
		if (job->deferred)
			e = job->deferred;
		job_begin(job, true);
		job_record(job, e->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed", NULL, e);
		job_commit(job);
	}
	PG_END_TRY();
}

void
xdrec_job_worker_main(Datum arg)
{
	XdJobLaunch launch;
	XdJob		job;
	int64		next = DatumGetInt64(arg);

	memcpy(&launch, MyBgworkerEntry->bgw_extra, sizeof(launch));
	worker_extension = launch.extension;
	/* SIGINT cancels (StatementCancelHandler, set for connected workers); SIGTERM ends */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(launch.database, launch.login_role, 0);

	/*
	 * The job it was started for, then each job the queue leaves to it: a
	 * finishing worker runs the next job of its login role itself, in the
	 * slot it holds, so a queue drains when max_worker_processes leaves no
	 * slot for a new worker. It stops when the queue has nothing for it, or
	 * offers again a job it could not claim (another worker has it, or the
	 * cap or the job's (model, domain) is taken: whoever holds those starts
	 * it later).
	 */
	for (;;)
	{
		bool		claimed;
		DiscardStmt discard = {.type = T_DiscardStmt, .target = DISCARD_ALL};

		memset(&job, 0, sizeof(job));
		job.id = next;
		job.cxt = AllocSetContextCreate(TopMemoryContext, "xdrec job", ALLOCSET_DEFAULT_SIZES);
		worker_begin();

		/*
		 * Each job starts from a fresh session, as in a worker of its own:
		 * whatever the previous job's SQL (its submitter's feature
		 * expressions and the functions they call) left at session level
		 * goes, as DISCARD ALL does it: settings, session authorization,
		 * cursors WITH HOLD, prepared statements, LISTEN, advisory locks,
		 * cached plans, temporary objects, sequence state. The worker's own
		 * advisory locks are not held here: the last job's was released
		 * after its outcome, the queue lock with its transaction. DISCARD
		 * ALL needs the top level outside a transaction block, which a
		 * worker's StartTransactionCommand() is.
		 */
		DiscardCommand(&discard, true);
		PopActiveSnapshot();
		CommitTransactionCommand();
		/* what a job allocates outside its transactions goes with its context */
		MemoryContextSwitchTo(job.cxt);
		pgstat_report_appname(psprintf("xdrec job " INT64_FORMAT, job.id));

		claimed = job_claim(&job);
		if (claimed)
		{
			pgstat_report_activity(STATE_RUNNING, psprintf("xdrec job " INT64_FORMAT ": %s %s %s",
														   job.id, job.kind, job.model, job.domain));
			job_run(&job);
			xdpg_job_unlock(job.id);
			pgstat_report_activity(STATE_IDLE, NULL);
		}
		/* the guard frees the core's objects with the context */
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextDelete(job.cxt);

		/* starts workers for what others must run; leaves ours in next */
		worker_begin();
		xdpg_jobs_dispatch_for(launch.login_role, &next);
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (next == 0 || (!claimed && next == job.id))
			break;
	}
	proc_exit(0);
}
