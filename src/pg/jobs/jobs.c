/*
 * jobs.c - background jobs (DESIGN section 8, docs/jobs.md): train, adapt
 * and adapt_all with background => true insert a row of xdrec.job, and the
 * queue starts one dynamic background worker (worker.c) per scheduled job,
 * up to xdrec.max_workers() running at once, never two on one (model,
 * domain). Without shared_preload_libraries there is no shared memory, so
 * the queue is the table itself: the submitting call, a finishing worker
 * (which also runs the next job of its login role itself), xdrec.wait,
 * xdrec.cancel and xdrec.run_pending (a pg_cron sweep) each start what may
 * start.
 *
 * Liveness: a worker holds a session-level advisory lock on its job from
 * the moment it claims it until its outcome is committed; a running or
 * cancelling job whose lock is free lost its worker (a crash, a restart,
 * a terminated backend). xdrec.jobs shows it failed; the next dispatch
 * records it so.
 *
 * The queue's reads and writes run as the extension's owner, in owner
 * spans (owner.c: search_path pinned, every operator schema-qualified), so
 * that a finishing worker starts another role's job; the job itself runs as
 * its submitting role (worker.c). No role writes xdrec.job itself.
 *
 * Workers start only after the submitting transaction commits: a
 * submission records its job in this backend's list, and the commit starts
 * at most xdrec.max_workers() workers for the jobs it made visible; an open
 * transaction holds no worker slot, however many jobs it submits.
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "postmaster/bgworker.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "jobs/jobs.h"

/* field4 of xdrec's advisory lock tags ("xd"), apart from user advisory locks */
#define XDPG_LOCK_JOB 0x7864
#define XDPG_LOCK_QUEUE 0x7865

/* the reason a job whose worker vanished is failed with */
#define XDPG_LOST_WORKER "the job's worker ended without recording an outcome (server crash, restart or terminated backend)"

/*
 * Locks the extension against DROP EXTENSION until the transaction ends;
 * false if it is gone, or is not the one *ext names (the one the job was
 * submitted in; dropped, perhaps created again, while the caller waited or
 * ran outside a transaction). DROP EXTENSION locks the extension before any of its tables,
 * then each table in turn; a worker that read one table (the queue, an
 * outcome, a progress row and its foreign key) and then waited for another
 * could deadlock with it. Taken first, before the transaction's snapshot,
 * the lock orders the two: the worker runs its transaction before the DROP,
 * or waits for it and then finds the extension gone.
 */
bool
xdpg_jobs_extension_lock(Oid ext)
{
	Oid			now = get_extension_oid("xdrec", true);

	if (now != ext)
		return false;
	LockDatabaseObject(ExtensionRelationId, now, 0, AccessShareLock);
	/* pg_extension has no syscache: this reads it with a fresh snapshot */
	return get_extension_oid("xdrec", true) == now;
}

static void
job_tag(LOCKTAG *tag, int64 job)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) job >> 32),
						 (uint32) job, XDPG_LOCK_JOB);
}

/* The worker's claim on a job, held until its process ends or it unlocks. */
bool
xdpg_job_lock(int64 job)
{
	LOCKTAG		tag;

	job_tag(&tag, job);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

void
xdpg_job_unlock(int64 job)
{
	LOCKTAG		tag;

	job_tag(&tag, job);
	LockRelease(&tag, ExclusiveLock, true);
}

/* Whether some worker holds the job's lock (another process than this one). */
bool
xdpg_job_alive(int64 job)
{
	LOCKTAG		tag;

	job_tag(&tag, job);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

/* Claims and outcomes take this in turn, so the cap is counted exactly. */
void
xdpg_queue_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, XDPG_LOCK_QUEUE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * The pid of the process that holds job's lock (its worker), or 0. The lock,
 * not xdrec.job.pid, says which process runs a job: only a superuser can
 * write that column, but a forged pid must still never be signalled.
 */
static int
job_holder(int64 job)
{
	LOCKTAG		tag;
	LockData   *locks;
	int			pid = 0;

	job_tag(&tag, job);
	locks = GetLockStatusData();
	for (int i = 0; i < locks->nelements && pid == 0; i++)
	{
		LockInstanceData *l = &locks->locks[i];

		if (memcmp(&l->locktag, &tag, sizeof(tag)) == 0 &&
			(l->holdMask & LOCKBIT_ON(ExclusiveLock)) != 0)
			pid = l->pid;
	}
	return pid;
}

/* xdrec.max_workers(), the cap kept in xdrec.setting (SPI connected). */
int
xdpg_jobs_max_workers(void)
{
	bool		isnull;

	if (SPI_execute("SELECT xdrec.max_workers()", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "xdrec: reading xdrec.max_workers() failed");
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static char *
job_key(int64 model_id, const char *domain)
{
	return psprintf(INT64_FORMAT "/%s", model_id, domain ? domain : "");
}

static bool
key_in(List *keys, const char *key)
{
	ListCell   *lc;

	foreach(lc, keys)
		if (strcmp((const char *) lfirst(lc), key) == 0)
			return true;
	return false;
}

/*
 * The running and cancelling jobs (SPI connected, in an owner span): those
 * whose worker is alive are counted and their (model, domain) keys listed;
 * the others lost their worker and, with record_lost, are recorded failed
 * (not under a transaction snapshot, where the row may be newer than it).
 */
static int
live_jobs(bool record_lost, List **keys)
{
	int			live = 0;
	uint64		n;
	int64	   *ids;
	char	  **key_of;

	if (SPI_execute("SELECT id, model_id, domain FROM xdrec.job "
					"WHERE state OPERATOR(pg_catalog.=) ANY ('{running,cancelling}'::pg_catalog.text[]) "
					"ORDER BY id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the running jobs failed");
	n = SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	key_of = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(t, td, 1, &isnull));
		key_of[i] = job_key(DatumGetInt64(SPI_getbinval(t, td, 2, &isnull)), SPI_getvalue(t, td, 3));
	}
	for (uint64 i = 0; i < n; i++)
	{
		if (xdpg_job_alive(ids[i]))
		{
			live++;
			*keys = lappend(*keys, key_of[i]);
		}
		else if (record_lost && !IsolationUsesXactSnapshot())
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		vals[2] = {Int64GetDatum(ids[i]), CStringGetTextDatum(XDPG_LOST_WORKER)};

			if (SPI_execute_with_args("UPDATE xdrec.job SET state = 'failed', error = $2, "
									  "finished_at = pg_catalog.now() "
									  "WHERE id OPERATOR(pg_catalog.=) $1 "
									  "AND state OPERATOR(pg_catalog.=) ANY ('{running,cancelling}'::pg_catalog.text[])",
									  2, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "xdrec: recording job " INT64_FORMAT " failed did not work", ids[i]);
		}
	}
	return live;
}

/*
 * Whether a job on (model_id, domain) may start now (SPI connected, in an
 * owner span, under the queue lock): fewer than the cap running, and
 * nothing running on its (model, domain).
 */
bool
xdpg_job_may_start(int64 model_id, const char *domain)
{
	List	   *keys = NIL;

	return live_jobs(false, &keys) < xdpg_jobs_max_workers() &&
		!key_in(keys, job_key(model_id, domain));
}

/* A scheduled job that cannot run, recorded failed (SPI connected, in an owner span). */
void
xdpg_job_fail(int64 job, const char *sqlstate, const char *reason)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		vals[3] = {Int64GetDatum(job), CStringGetTextDatum(reason), CStringGetTextDatum(sqlstate)};

	if (SPI_execute_with_args("UPDATE xdrec.job SET state = 'failed', error = $2, sqlstate = $3, "
							  "finished_at = pg_catalog.now() "
							  "WHERE id OPERATOR(pg_catalog.=) $1 AND state OPERATOR(pg_catalog.=) 'scheduled'",
							  3, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "xdrec: recording job " INT64_FORMAT " failed did not work", job);
}

/*
 * Registers a worker for job; false (with a NOTICE) when no slot is free.
 * Needs no catalog access: the commit of a submission calls it too.
 */
static bool
start_worker(int64 job, Oid login_role, Oid extension)
{
	BackgroundWorker w;
	XdJobLaunch launch = {MyDatabaseId, login_role, extension};

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "xdrec");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "xdrec_job_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "xdrec job " INT64_FORMAT, job);
	snprintf(w.bgw_type, BGW_MAXLEN, XDPG_WORKER_TYPE);
	w.bgw_main_arg = Int64GetDatum(job);
	StaticAssertStmt(sizeof(XdJobLaunch) <= BGW_EXTRALEN, "XdJobLaunch must fit bgw_extra");
	memcpy(w.bgw_extra, &launch, sizeof(launch));
	w.bgw_notify_pid = 0;
	if (RegisterDynamicBackgroundWorker(&w, NULL))
		return true;
	ereport(NOTICE,
			(errmsg("no background worker slot is free: job " INT64_FORMAT " stays scheduled", job),
			 errhint("Raise max_worker_processes; the next job call or xdrec.run_pending() starts it.")));
	return false;
}

/* ------------------------------------------------ starting at commit */

/* A job this backend's open transaction submitted: its worker starts at commit. */
typedef struct XdPendingJob
{
	int64		job;
	Oid			login_role;
	SubTransactionId subxact;	/* where it was inserted */
} XdPendingJob;

static List *pending_jobs = NIL;	/* of XdPendingJob, in TopMemoryContext */
static int	pending_cap = 0;	/* xdrec.max_workers() at the last submission */
static Oid	pending_extension = InvalidOid;
static bool callbacks_registered = false;

static void
pending_clear(void)
{
	list_free_deep(pending_jobs);
	pending_jobs = NIL;
}

/*
 * At commit, workers for the jobs the transaction submitted, oldest first,
 * at most the cap: a worker finding the cap reached leaves its job
 * scheduled, and a finishing worker starts the rest. Only shared memory is
 * touched here; the commit is already visible, so the workers need not wait.
 */
static void
pending_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;
	int			started = 0;

	if (pending_jobs == NIL)
		return;
	if (event == XACT_EVENT_COMMIT)
		foreach(lc, pending_jobs)
		{
			XdPendingJob *p = lfirst(lc);

			if (started >= pending_cap || !start_worker(p->job, p->login_role, pending_extension))
				break;
			started++;
		}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT)
		pending_clear();
}

/* A rolled-back subtransaction took its jobs (and its children's) with it. */
static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, pending_jobs)
	{
		XdPendingJob *p = lfirst(lc);

		if (p->subxact >= mySubid)
		{
			pending_jobs = foreach_delete_current(pending_jobs, lc);
			pfree(p);
		}
	}
}

static void
pending_add(int64 job, int cap)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	XdPendingJob *p = palloc(sizeof(XdPendingJob));

	if (!callbacks_registered)
	{
		RegisterXactCallback(pending_xact_callback, NULL);
		RegisterSubXactCallback(pending_subxact_callback, NULL);
		callbacks_registered = true;
	}
	p->job = job;
	p->login_role = GetSessionUserId();
	p->subxact = GetCurrentSubTransactionId();
	pending_jobs = lappend(pending_jobs, p);
	pending_cap = cap;
	pending_extension = get_extension_oid("xdrec", false);
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------ the queue */

/*
 * Starts a worker for each scheduled job that may run, oldest first: lost
 * workers are recorded failed first, then up to the cap, skipping a job
 * whose (model, domain) is taken. Jobs this transaction submitted are left
 * to its commit. A worker that finds the job taken, or the cap reached,
 * leaves it scheduled; so starting one too many is harmless. Returns the
 * number of workers started.
 *
 * A finishing worker (worker.c) passes the login role it connected as: the
 * oldest job that may run and has that login role is left to it, in *own
 * (0 if none), and counts toward the cap. It runs that job in its own slot,
 * so the queue drains when no worker slot is free; a worker cannot change
 * its login role, so other roles' jobs still get workers of their own.
 */
int
xdpg_jobs_dispatch_for(Oid self_login, int64 *own)
{
	XdSpan		span;
	List	   *keys = NIL;
	int			live,
				cap,
				started = 0;
	bool		no_slot = false;
	uint64		n;
	SPITupleTable *tt;
	Oid			extension = get_extension_oid("xdrec", false);

	*own = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	xdpg_owner_begin(&span);
	live = live_jobs(true, &keys);
	cap = xdpg_jobs_max_workers();
	if (live < cap)
	{
		if (SPI_execute("SELECT id, model_id, domain, login_role, submitted_by, xmin "
						"FROM xdrec.job WHERE state OPERATOR(pg_catalog.=) 'scheduled' ORDER BY id",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "xdrec: reading the scheduled jobs failed");
		n = SPI_processed;
		/* kept: xdpg_job_fail below runs SPI, which resets SPI_tuptable */
		tt = SPI_tuptable;
		for (uint64 i = 0; i < n && live + started + (*own != 0) < cap; i++)
		{
			HeapTuple	t = tt->vals[i];
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(t, tt->tupdesc, 1, &isnull));
			char	   *key = job_key(DatumGetInt64(SPI_getbinval(t, tt->tupdesc, 2, &isnull)),
									  SPI_getvalue(t, tt->tupdesc, 3));
			char	   *login = SPI_getvalue(t, tt->tupdesc, 4);
			char	   *submitter = SPI_getvalue(t, tt->tupdesc, 5);
			TransactionId xmin = DatumGetTransactionId(SPI_getbinval(t, tt->tupdesc, 6, &isnull));
			Oid			login_oid = get_role_oid(login, true);
			HeapTuple	role;
			bool		can_login = false;

			/* its worker starts when this transaction commits */
			if (TransactionIdIsCurrentTransactionId(xmin))
				continue;
			if (key_in(keys, key))
				continue;
			keys = lappend(keys, key);
			if (OidIsValid(login_oid) &&
				HeapTupleIsValid(role = SearchSysCache1(AUTHOID, ObjectIdGetDatum(login_oid))))
			{
				can_login = ((Form_pg_authid) GETSTRUCT(role))->rolcanlogin;
				ReleaseSysCache(role);
			}
			/* a worker that cannot connect would leave the job scheduled for ever */
			if (!can_login || !OidIsValid(get_role_oid(submitter, true)))
			{
				xdpg_job_fail(id, "28000",
						 psprintf("the job cannot run: role \"%s\" %s", can_login ? submitter : login,
								  can_login ? "no longer exists" : "no longer exists or cannot log in"));
				continue;
			}
			if (OidIsValid(self_login) && *own == 0 && login_oid == self_login)
			{
				*own = id;
				continue;
			}
			if (no_slot)
				continue;
			if (!start_worker(id, login_oid, extension))
			{
				/* a finishing worker still looks for a job it can run itself */
				if (!OidIsValid(self_login) || *own != 0)
					break;
				no_slot = true;
				continue;
			}
			started++;
		}
	}
	xdpg_span_end(&span);
	SPI_finish();
	return started;
}

int
xdpg_jobs_dispatch(void)
{
	int64		own = 0;

	return xdpg_jobs_dispatch_for(InvalidOid, &own);
}

/*
 * Inserts a job for the current role (the model's 'train' privilege checked
 * as it), starts what may start of the others, and leaves this one's worker
 * to the commit.
 */
Jsonb *
xdpg_job_submit(const char *name, const char *kind, const char *domain, const char *method,
				const char *deploy)
{
	XdModelDef *md;
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	Datum		vals[6];
	bool		isnull;
	int64		id;
	int			cap;
	StringInfoData opts;

	xdpg_check_writable(psprintf("xdrec.%s", kind));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	md = xdpg_model_load(name, "train");
	if (strcmp(kind, "adapt") == 0)
	{
		if (md->source_domain == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no trained source domain", name),
					 errhint("Train it first: SELECT xdrec.train('%s', source_domain).", name)));
		if (strcmp(domain, md->source_domain) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("domain %s is the source domain of model \"%s\"", domain, name),
					 errhint("The source is trained, not adapted: SELECT xdrec.train('%s', '%s', background => true).", name, domain)));
	}
	initStringInfo(&opts);
	appendStringInfoString(&opts, "{");
	if (method)
	{
		appendStringInfoString(&opts, "\"method\": ");
		escape_json(&opts, method);
	}
	if (deploy)
	{
		appendStringInfoString(&opts, method ? ", \"deploy\": " : "\"deploy\": ");
		escape_json(&opts, deploy);
	}
	appendStringInfoString(&opts, "}");
	vals[0] = Int64GetDatum(md->id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = CStringGetTextDatum(kind);
	vals[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(opts.data));
	vals[4] = xdpg_current_role_name();
	vals[5] = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
	xdpg_model_check_write(md->id, name, "train");
	if (xdpg_owner_execute("INSERT INTO xdrec.job (model_id, domain, kind, options, submitted_by, login_role) "
						   "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
						   6, types, vals, NULL, SPI_OK_INSERT_RETURNING) != 1)
		elog(ERROR, "xdrec: inserting the job failed");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	cap = xdpg_jobs_max_workers();
	SPI_finish();

	pending_add(id, cap);
	xdpg_jobs_dispatch();
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum(psprintf("{\"job\": " INT64_FORMAT ", \"state\": \"scheduled\"}", id))));
}

PG_FUNCTION_INFO_V1(xdrec_run_pending);
Datum
xdrec_run_pending(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(xdpg_jobs_dispatch());
}

/*
 * xdrec_internal.job_state(job, state): the state xdrec.jobs shows. A
 * running or cancelling job whose lock is free lost its worker, unless the
 * worker recorded its outcome after the caller's snapshot: the latest
 * committed row decides. Called directly, it tells nothing about a job the
 * caller cannot see: the state given comes back, as for a live job.
 */
PG_FUNCTION_INFO_V1(xdrec_job_state);
Datum
xdrec_job_state(PG_FUNCTION_ARGS)
{
	int64		job = PG_GETARG_INT64(0);
	text	   *state = PG_GETARG_TEXT_PP(1);
	char	   *s = text_to_cstring(state);
	char	   *latest = NULL;
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(job)};
	SPIPlanPtr	plan;
	bool		visible = false;
	MemoryContext callcxt = CurrentMemoryContext;

	if ((strcmp(s, "running") != 0 && strcmp(s, "cancelling") != 0) || xdpg_job_alive(job))
		PG_RETURN_TEXT_P(state);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	/* as the caller: row-level security hides other models' jobs */
	plan = SPI_prepare("SELECT state FROM xdrec.job WHERE id OPERATOR(pg_catalog.=) $1", 1, types);
	if (plan && SPI_execute_snapshot(plan, vals, NULL, GetLatestSnapshot(), InvalidSnapshot,
									 true, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		visible = true;
		latest = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (visible && (strcmp(latest, "running") == 0 || strcmp(latest, "cancelling") == 0))
		latest = "failed";
	if (visible)
	{
		MemoryContext old = MemoryContextSwitchTo(callcxt);

		state = cstring_to_text(latest);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	PG_RETURN_TEXT_P(state);
}

/*
 * xdrec.cancel(job): a scheduled job is cancelled at once; a running one
 * becomes cancelling and its worker is sent SIGINT, which the core's stop
 * callback sees at its next batch; the worker then records cancelled, with
 * nothing deployed. The submitter and the model's owner may cancel. The
 * signal goes only to the process holding the job's lock, and only if it is
 * an xdrec job worker of this database. Returns the job's state after the
 * call.
 */
PG_FUNCTION_INFO_V1(xdrec_cancel);
Datum
xdrec_cancel(PG_FUNCTION_ARGS)
{
	int64		job;
	Oid			types[1] = {INT8OID};
	Datum		vals[1];
	bool		isnull;
	char	   *state;
	bool		allowed;
	int			pid;

	xdpg_check_writable("xdrec.cancel");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job must not be null")));
	job = PG_GETARG_INT64(0);
	vals[0] = Int64GetDatum(job);
	xdpg_jobs_dispatch();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	/* as the caller: row-level security decides what it sees */
	if (SPI_execute_with_args("SELECT state, xdrec_internal.is_member(submitted_by) "
							  "OR xdrec_internal.model_access(model_id, 'own') "
							  "FROM xdrec.job WHERE id OPERATOR(pg_catalog.=) $1",
							  1, types, vals, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading job " INT64_FORMAT " failed", job);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", job)));
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	allowed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to cancel job " INT64_FORMAT, job),
				 errdetail("Only the role that submitted it and the owner of its model may cancel a job.")));

	/* re-evaluated on the newest row if a worker claims it meanwhile */
	if (xdpg_owner_execute("UPDATE xdrec.job SET "
						   "state = CASE WHEN state OPERATOR(pg_catalog.=) 'scheduled' THEN 'cancelled' ELSE 'cancelling' END, "
						   "finished_at = CASE WHEN state OPERATOR(pg_catalog.=) 'scheduled' THEN pg_catalog.now() END, "
						   "error = CASE WHEN state OPERATOR(pg_catalog.=) 'scheduled' THEN 'cancelled before it started' END "
						   "WHERE id OPERATOR(pg_catalog.=) $1 "
						   "AND state OPERATOR(pg_catalog.=) ANY ('{scheduled,running}'::pg_catalog.text[]) "
						   "RETURNING state",
						   1, types, vals, NULL, SPI_OK_UPDATE_RETURNING) == 1)
		state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	if (strcmp(state, "cancelling") == 0 && (pid = job_holder(job)) != 0)
	{
		PGPROC	   *proc = BackendPidGetProc(pid);
		const char *type = GetBackgroundWorkerTypeByPid(pid);

		if (proc == NULL || proc->databaseId != MyDatabaseId || type == NULL ||
			strcmp(type, XDPG_WORKER_TYPE) != 0)
			ereport(WARNING,
					(errmsg("job " INT64_FORMAT " was not signalled: the process holding its lock (pid %d) is not an xdrec job worker of this database", job, pid)));
		else if (kill(pid, SIGINT) != 0)
			ereport(WARNING,
					(errmsg("could not signal the worker of job " INT64_FORMAT " (pid %d): %m", job, pid)));
	}
	state = pstrdup(state);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}
