/*-------------------------------------------------------------------------
 *
 * workerstatus.c
 *	  What the spool worker publishes in shared memory, and the SQL that
 *	  reads it or starts the worker: mig_worker_state() behind the view
 *	  mig_worker_status, mig_worker_launch(), and the warning of an install
 *	  without a worker.
 *
 *	  The state lives in one small struct, reserved from _PG_init (through
 *	  shmem_request_hook and shmem_startup_hook) when mig is preloaded, or
 *	  carved from the small reserve PostgreSQL keeps for late comers by the
 *	  first process that asks.  A spinlock guards it: every access copies a
 *	  few fields in or out.  So the view costs no writes, works on a
 *	  standby, and shows the worker as it is, not as of its last commit.
 *	  The slot of the one worker of a cluster (its pid) is here too, and
 *	  whether its last start failed to connect.
 *
 *	  Not here: the worker's process and loop (worker.c), its watches of the
 *	  spool (spoolwatch.c), what a pass does (spool.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "spool.h"
#include "workerstatus.h"

/*
 * files_per_sec: the files ingested in the last RATE_SECS seconds, counted
 * in one bucket per second, over RATE_SECS.  A window rather than a
 * decaying average, so that it is 0 once the worker has been idle that long.
 */
#define RATE_SECS 10

typedef struct MigWorkerShared
{
	slock_t		mutex;
	pid_t		pid;			/* the running worker, or 0 */
	Latch	   *latch;
	bool		connect_failed; /* the last start did not get connected */
	char		state[64];
	TimestampTz started_at;
	TimestampTz last_pass;
	TimestampTz last_full_pass;
	int64		rate_files[RATE_SECS];	/* files ingested in ... */
	int64		rate_second[RATE_SECS]; /* ... this whole second of TimestampTz */
	int64		backlog;
	int64		deferred;
	int64		failed;
	bool		counts_known;
	int64		files_total;
	char		last_error[512];
	TimestampTz last_error_at;
	char		spool_dir[MAXPGPATH];
	char		database[NAMEDATALEN];
	TimestampTz last_periodic;	/* the end of the last periodic run */
	int64		last_periodic_us;	/* how long it took */
	char		last_periodic_report[512];	/* what it changed, as JSON */
	int64		filled;			/* rows filled in for MIG's scheduler */
} MigWorkerShared;

static MigWorkerShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * Whether mig was loaded from shared_preload_libraries, and so the worker
 * registered with the postmaster: set in the postmaster, which every
 * backend inherits.
 */
static bool preloaded = false;

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */

static MigWorkerShared *
attach_shared(void)
{
	bool		found;

	if (shared != NULL)
		return shared;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("mig spool worker", sizeof(MigWorkerShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(MigWorkerShared));
		SpinLockInit(&shared->mutex);
		strlcpy(shared->state, "stopped", sizeof(shared->state));
	}
	LWLockRelease(AddinShmemInitLock);
	return shared;
}

static void
mig_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MigWorkerShared)));
}

static void
mig_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	shared = NULL;				/* after a crash, the segment is new */
	attach_shared();
}

/* from _PG_init, while shared_preload_libraries is processed */
void
mig_worker_request_shmem(void)
{
	preloaded = true;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mig_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mig_shmem_startup;
}

void
mig_worker_describe(BackgroundWorker *worker)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_ConsistentState;
	worker->bgw_restart_time = MIG_WORKER_RESTART_SECS;
	strlcpy(worker->bgw_library_name, "mig", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, "mig_worker_main", BGW_MAXLEN);
	strlcpy(worker->bgw_name, "mig spool worker", BGW_MAXLEN);
	strlcpy(worker->bgw_type, "mig spool worker", BGW_MAXLEN);
}

/* ------------------------------------------------------------------------
 * The worker's slot
 * ------------------------------------------------------------------------
 */

static void
release_slot(int code, Datum arg)
{
	SpinLockAcquire(&shared->mutex);
	if (shared->pid == MyProcPid)
	{
		shared->pid = 0;
		shared->latch = NULL;
		strlcpy(shared->state, "stopped", sizeof(shared->state));
	}
	SpinLockRelease(&shared->mutex);
}

pid_t
mig_worker_claim(bool *probe)
{
	attach_shared();
	SpinLockAcquire(&shared->mutex);
	if (shared->pid != 0 && shared->pid != MyProcPid && kill(shared->pid, 0) == 0)
	{
		pid_t		other = shared->pid;

		SpinLockRelease(&shared->mutex);
		return other;
	}
	shared->pid = MyProcPid;
	shared->latch = MyLatch;
	shared->started_at = GetCurrentTimestamp();
	shared->counts_known = false;
	shared->backlog = 0;
	shared->filled = 0;
	/* an error is the worker's that saw it: a new worker starts clean */
	shared->last_error[0] = '\0';
	shared->last_error_at = 0;
	strlcpy(shared->state, "starting", sizeof(shared->state));
	*probe = shared->connect_failed;
	shared->connect_failed = true;
	SpinLockRelease(&shared->mutex);
	before_shmem_exit(release_slot, (Datum) 0);
	return 0;
}

/* the next start may connect to mig.database again */
void
mig_worker_connected(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->connect_failed = false;
	SpinLockRelease(&shared->mutex);
}

/* ------------------------------------------------------------------------
 * What the worker publishes
 * ------------------------------------------------------------------------
 */

static int64
whole_second(TimestampTz t)
{
	return (int64) (t / USECS_PER_SEC);
}

/* files ingested per second in now's second and the RATE_SECS - 1 before */
static double
window_rate(const MigWorkerShared *s, TimestampTz now)
{
	int64		second = whole_second(now);
	int64		files = 0;

	for (int i = 0; i < RATE_SECS; i++)
		if (s->rate_second[i] <= second && s->rate_second[i] > second - RATE_SECS)
			files += s->rate_files[i];
	return (double) files / RATE_SECS;
}

void
mig_worker_set_state(const char *state)
{
	SpinLockAcquire(&shared->mutex);
	strlcpy(shared->state, state, sizeof(shared->state));
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_set_error(const char *message)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	strlcpy(shared->last_error, message, sizeof(shared->last_error));
	shared->last_error_at = now;
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_set_database(const char *database)
{
	SpinLockAcquire(&shared->mutex);
	strlcpy(shared->database, database, sizeof(shared->database));
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_set_spool(const char *spool)
{
	SpinLockAcquire(&shared->mutex);
	strlcpy(shared->spool_dir, spool, sizeof(shared->spool_dir));
	shared->counts_known = false;
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_forget_counts(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->counts_known = false;
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_set_backlog(int64 backlog)
{
	SpinLockAcquire(&shared->mutex);
	shared->backlog = backlog;
	SpinLockRelease(&shared->mutex);
}

/* a pass ended: its files, and what its spool holds deferred and failed */
void
mig_worker_pass_done(bool full, int64 ingested, int64 deferred, int64 failed)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	shared->last_pass = now;
	if (full)
		shared->last_full_pass = now;
	shared->deferred = deferred;
	shared->failed = failed;
	shared->counts_known = true;
	shared->files_total += ingested;
	if (mig_scheduler_writes)
		shared->filled += ingested;
	if (ingested > 0)
	{
		int64		second = whole_second(now);
		int			i = (int) (second % RATE_SECS);

		if (i < 0)
			i += RATE_SECS;
		if (shared->rate_second[i] != second)
		{
			shared->rate_second[i] = second;
			shared->rate_files[i] = 0;
		}
		shared->rate_files[i] += ingested;
	}
	SpinLockRelease(&shared->mutex);
}

void
mig_worker_periodic_done(TimestampTz at, int64 took_us, const char *report)
{
	SpinLockAcquire(&shared->mutex);
	shared->last_periodic = at;
	shared->last_periodic_us = took_us;
	strlcpy(shared->last_periodic_report, report, sizeof(shared->last_periodic_report));
	SpinLockRelease(&shared->mutex);
}

int64
mig_worker_known_deferred(void)
{
	int64		deferred;

	SpinLockAcquire(&shared->mutex);
	deferred = shared->counts_known ? shared->deferred : 0;
	SpinLockRelease(&shared->mutex);
	return deferred;
}

/* ------------------------------------------------------------------------
 * SQL
 * ------------------------------------------------------------------------
 */

/*
 * mig_worker_launch() -> int
 *
 * Start the worker without a restart (mig not preloaded, or its worker
 * stopped); its process id.
 */
PG_FUNCTION_INFO_V1(mig_worker_launch);
Datum
mig_worker_launch(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	pid_t		running;

	mig_spool_check_privilege();
	attach_shared();
	SpinLockAcquire(&shared->mutex);
	running = shared->pid;
	SpinLockRelease(&shared->mutex);
	if (running != 0 && kill(running, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the mig spool worker is already running"),
				 errdetail("Its process ID is %d; there is one per cluster.", (int) running)));

	mig_worker_describe(&worker);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register the mig spool worker"),
				 errhint("Raise max_worker_processes.")));
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the mig spool worker stopped as it started"),
				 errhint("The server log says why.")));
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the postmaster died while the mig spool worker started")));
	Assert(status == BGWH_STARTED);
	PG_RETURN_INT32((int32) pid);
}

/*
 * mig_preload_warning() -> void
 *
 * Called by the extension's script (and dropped again): CREATE EXTENSION
 * succeeds without mig in shared_preload_libraries, but then nothing
 * syncs the spool after a restart; say so while whoever installs it is
 * there to read it, not at the first missing row.  A WARNING: while an
 * extension's script runs, PostgreSQL raises client_min_messages to
 * WARNING, and a NOTICE would never be seen.  (_PG_init is no place for
 * it: the session may have loaded the library before, and without
 * preloading every backend that loads it runs _PG_init.)
 */
PG_FUNCTION_INFO_V1(mig_preload_warning);
Datum
mig_preload_warning(PG_FUNCTION_ARGS)
{
	if (!preloaded)
		ereport(WARNING,
				(errmsg("mig is not in shared_preload_libraries: no spool worker will start with the server"),
				 errhint("Add mig to shared_preload_libraries (shared_preload_libraries = 'mig') "
						 "in postgresql.conf and restart the server. "
						 "Until the restart, SELECT mig_worker_launch() starts a worker.")));
	PG_RETURN_VOID();
}

static const char *const worker_state_names[MIG_WS_NCOLUMNS] = {
#define MIG_WORKER_STATE_NAME(id, name, since) name,
	MIG_WORKER_STATE_COLUMNS(MIG_WORKER_STATE_NAME)
#undef MIG_WORKER_STATE_NAME
};

/*
 * mig_worker_state(): one row, what the worker last published (the view
 * mig_worker_status).  The columns are filled by their number in the list
 * (workerstatus.h), then given to the result type by name: a database on
 * an older version of mig asks for fewer.
 */
PG_FUNCTION_INFO_V1(mig_worker_state);
Datum
mig_worker_state(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[MIG_WS_NCOLUMNS];
	bool		nulls[MIG_WS_NCOLUMNS];
	Datum	   *out_values;
	bool	   *out_nulls;
	MigWorkerShared copy;
	bool		running;
	TimestampTz now = GetCurrentTimestamp();
	char	   *guc_spool;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	attach_shared();
	SpinLockAcquire(&shared->mutex);
	memcpy(&copy, shared, sizeof(copy));
	SpinLockRelease(&shared->mutex);
	running = copy.pid != 0;

	memset(values, 0, sizeof(values));
	memset(nulls, true, sizeof(nulls));
#define SET(col, v) (values[MIG_WS_##col] = (v), nulls[MIG_WS_##col] = false)
	if (running)
	{
		SET(PID, Int32GetDatum((int32) copy.pid));
		SET(STARTED_AT, TimestampTzGetDatum(copy.started_at));
		SET(FILES_PER_SEC, Float8GetDatum(window_rate(&copy, now)));
		SET(BACKLOG, Int64GetDatum(copy.backlog));
		SET(FILES_TOTAL, Int64GetDatum(copy.files_total));
		SET(FILLED, Int64GetDatum(copy.filled));
	}
	SET(STATE, CStringGetTextDatum(copy.state));
	if (copy.last_pass != 0)
		SET(LAST_PASS, TimestampTzGetDatum(copy.last_pass));
	if (copy.last_full_pass != 0)
		SET(LAST_FULL_PASS, TimestampTzGetDatum(copy.last_full_pass));
	if (running && copy.counts_known)
	{
		SET(DEFERRED, Int64GetDatum(copy.deferred));
		SET(FAILED, Int64GetDatum(copy.failed));
	}
	if (copy.last_error[0] != '\0')
	{
		SET(LAST_ERROR, CStringGetTextDatum(copy.last_error));
		SET(LAST_ERROR_AT, TimestampTzGetDatum(copy.last_error_at));
	}
	guc_spool = pstrdup(mig_spool_dir);
	canonicalize_path(guc_spool);
	SET(SPOOL_DIR, CStringGetTextDatum(running && copy.spool_dir[0] ? copy.spool_dir : guc_spool));
	SET(DATABASE, CStringGetTextDatum(running && copy.database[0] ? copy.database : mig_database));
	if (copy.last_periodic != 0)
	{
		Interval   *took = palloc0(sizeof(Interval));

		took->time = copy.last_periodic_us;
		SET(LAST_PERIODIC, TimestampTzGetDatum(copy.last_periodic));
		SET(LAST_PERIODIC_TOOK, IntervalPGetDatum(took));
		SET(LAST_PERIODIC_CHANGED,
			DirectFunctionCall1(json_in, CStringGetDatum(copy.last_periodic_report)));
	}
	/* the setting as this session has it (the worker's, unless SET here) */
	SET(SCHEDULER_WRITES, BoolGetDatum(mig_scheduler_writes));
#undef SET

	out_values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	out_nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	for (int i = 0; i < tupdesc->natts; i++)
	{
		const char *name = NameStr(TupleDescAttr(tupdesc, i)->attname);
		int			col = -1;

		for (int c = 0; c < MIG_WS_NCOLUMNS && col < 0; c++)
			if (strcmp(worker_state_names[c], name) == 0)
				col = c;
		if (col < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("mig_worker_state() has no column \"%s\" in this version of mig", name)));
		out_values[i] = values[col];
		out_nulls[i] = nulls[col];
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out_values, out_nulls)));
}
