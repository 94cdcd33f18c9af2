/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The spool worker: one background worker per cluster, connected to
 *	  mig.database, that keeps the tables in step with MIG's spool.  It is
 *	  registered from _PG_init when mig is in shared_preload_libraries, or
 *	  started by mig_worker_launch() (workerstatus.c).
 *
 *	  inotify on the eight spool directories wakes it: the files an event
 *	  names are synced at once.  The spool's root and its two kinds are
 *	  watched too (spoolwatch.c): when a watched directory goes or moves, or
 *	  one of the spool's appears, every watch is set afresh (the spool may
 *	  have been moved away, removed or replaced) and a full pass follows.
 *	  A full pass every mig.rescan_interval, and after an inotify overflow
 *	  or a lost watch, is the truth.  Deferred files are retried every
 *	  second.  Each batch of mig.batch_size files is a transaction of its
 *	  own, so the worker holds no lock between batches and never blocks
 *	  DROP EXTENSION; it notices the extension, the spool directory or the
 *	  database missing and waits for them with one log line.  On a hot
 *	  standby it sleeps until promotion.  An error in a batch is caught at
 *	  the batch's edge and reported again whole (SQLSTATE, detail, hint,
 *	  context) as a WARNING; the worker goes on after a pause.
 *
 *	  The worker cannot know that mig.database exists before connecting to
 *	  it, and a background worker connects once.  So a start that finds the
 *	  database missing fails (the postmaster logs it once and restarts the
 *	  worker after bgw_restart_time); the next start sees that in shared
 *	  memory, connects to no database, watches pg_database, and exits to be
 *	  restarted once the database exists.
 *
 *	  All it keeps is in one struct, MigWorker; mig_worker_main() starts
 *	  the process and then runs one turn of its loop after another.
 *
 *	  Not here: what a pass does (spool.c); the inotify watches
 *	  (spoolwatch.c); the shared memory the worker publishes in,
 *	  mig_worker_state() and mig_worker_launch() (workerstatus.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "mig.h"
#include "periodic.h"
#include "schema.h"
#include "spool.h"
#include "spoolwatch.h"
#include "sql.h"
#include "worker.h"
#include "workerstatus.h"

PGDLLEXPORT void mig_worker_main(Datum main_arg);

/* how often a waiting worker looks again, and deferred files are retried */
#define POLL_MS 1000

/* named files waiting to be synced before a full pass is cheaper */
#define MAX_PENDING 100000

/* the longest pause after errors that repeat */
#define MAX_BACKOFF_MS 60000

/*
 * Everything the worker keeps, for the life of its process.
 */
typedef struct MigWorker
{
	/* memory: the process's, and the loop's (reset at every turn) */
	MemoryContext cxt;
	MemoryContext loop_cxt;

	/* the database it is connected to, or waits for */
	char		database[NAMEDATALEN];

	/* the role it connected as (mig.worker_role); "": the extension's owner */
	char		role[NAMEDATALEN];

	/*
	 * The role the units run as when mig.worker_role is empty: the owner of
	 * the extension, looked up whenever the extension is found.  The worker
	 * then connects as the bootstrap superuser and becomes the owner for
	 * each unit, as a security-restricted operation (as VACUUM becomes a
	 * table's owner): code the owner can define cannot SET ROLE back to the
	 * superuser.
	 */
	Oid			unit_role;

	/* the spool: canonical mig.spool_dir in use, its watches */
	char	   *spool;
	MigSpoolWatch watch;
	WaitEventSet *wait_set;		/* the latch, the postmaster, inotify */

	/* the passes */
	MigSpoolPass *full_pass;	/* a full pass under way */
	MigSpoolPass *named_pass;	/* named files being synced */
	MigSpoolPass *pending;		/* named files waiting */
	bool		need_full;		/* a full pass is due now */
	bool		turn_full;		/* alternate when both have work */
	char	   *deferred_after; /* where the retry of deferred files is */

	/* the timers */
	TimestampTz next_full_at;
	TimestampTz next_deferred_at;
	TimestampTz next_work_at;	/* after an error */
	int			backoff_ms;		/* grows while errors repeat */
	bool		trim_due;		/* memory was used since the last trim */
	TimestampTz last_trim;

	/*
	 * The periodic tasks (periodic.c), one step per unit, taking turns with
	 * the passes: liveness, each table's purge a batch at a time, then the
	 * statistics.
	 */
	int			periodic_step;	/* PERIODIC_*: where the run is */
	bool		periodic_turn;	/* the periodic run goes before the passes */
	TimestampTz next_periodic_at;
	TimestampTz periodic_started;
	MigPeriodicReport periodic;

	/* what it found, and said */
	bool		extension_missing;
	const char *waiting_for;	/* logged once per wait */
	bool		announced;		/* "syncing" logged */
} MigWorker;

static MigWorker worker_state;

/* a unit of work: one transaction */
typedef enum Unit
{
	UNIT_CHECK,					/* is the extension there? */
	UNIT_NAMED,					/* a batch of named files */
	UNIT_FULL,					/* a batch of the full pass */
	UNIT_DEFERRED,				/* collect deferred files */
	UNIT_PERIODIC				/* a step of the periodic tasks */
} Unit;

/* the steps of a periodic run */
#define PERIODIC_IDLE 0			/* no run under way */
#define PERIODIC_LIVENESS 1
#define PERIODIC_PURGE 2		/* ... PERIODIC_PURGE + MIG_PURGE_NTABLES - 1 */
#define PERIODIC_STATS (PERIODIC_PURGE + MIG_PURGE_NTABLES)

void
mig_worker_register(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;
	mig_worker_request_shmem();
	mig_worker_describe(&worker);
	RegisterBackgroundWorker(&worker);
}

/* ------------------------------------------------------------------------
 * Small things
 * ------------------------------------------------------------------------
 */

static long
ms_until(TimestampTz when, TimestampTz now)
{
	if (when <= now)
		return 0;
	return (long) ((when - now + 999) / 1000);
}

static void
log_wait(MigWorker *w, const char *what, const char *message, const char *hint)
{
	if (w->waiting_for != NULL && strcmp(w->waiting_for, what) == 0)
		return;
	w->waiting_for = what;
	mig_worker_set_state(psprintf("waiting for %s", what));
	if (hint)
		ereport(LOG, (errmsg("mig spool worker: %s", message), errhint("%s", hint)));
	else
		ereport(LOG, (errmsg("mig spool worker: %s", message)));
}

static void
rebuild_wait_set(MigWorker *w)
{
	if (w->wait_set)
		FreeWaitEventSet(w->wait_set);
	w->wait_set = CreateWaitEventSet(w->cxt, 3);
	AddWaitEventToSet(w->wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(w->wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (w->watch.fd >= 0)
		AddWaitEventToSet(w->wait_set, WL_SOCKET_READABLE, w->watch.fd, NULL, NULL);
	w->watch.fd_changed = false;
}

static void
wait_ms(MigWorker *w, long timeout)
{
	WaitEvent	ev;

	if (timeout < 0)
		timeout = 0;
	(void) WaitEventSetWait(w->wait_set, timeout, &ev, 1, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* ------------------------------------------------------------------------
 * The passes and the watches
 * ------------------------------------------------------------------------
 */

static void
drop_passes(MigWorker *w)
{
	if (w->full_pass)
		mig_spool_pass_end(w->full_pass);
	if (w->named_pass)
		mig_spool_pass_end(w->named_pass);
	if (w->pending)
		mig_spool_pass_end(w->pending);
	w->full_pass = w->named_pass = w->pending = NULL;
	w->need_full = true;
}

static void
forget_deferred(MigWorker *w)
{
	if (w->deferred_after)
		pfree(w->deferred_after);
	w->deferred_after = NULL;
}

static void
close_watches(MigWorker *w)
{
	mig_spool_watch_close(&w->watch);
	rebuild_wait_set(w);
}

/* false when the spool cannot be opened (watch.open_errno) */
static bool
setup_watches(MigWorker *w)
{
	bool		ok = mig_spool_watch_setup(&w->watch, w->spool, &w->need_full);

	if (w->watch.fd_changed)
		rebuild_wait_set(w);
	return ok;
}

/*
 * After a batch: a directory the pass could not enter is the worker's
 * last_error; a pass that did not open the directories watched has the
 * watches started over (spoolwatch.c).
 */
static void
check_pass(MigWorker *w, MigSpoolPass *pass)
{
	char	   *problem = mig_spool_pass_problem(pass);

	if (problem != NULL)
		mig_worker_set_error(problem);
	mig_spool_watch_check(&w->watch, pass);
}

static MigSpoolPass *
new_pass(MigWorker *w, bool full)
{
	MigSpoolPass *pass = mig_spool_pass_begin(w->spool, full, w->cxt);

	mig_spool_pass_nowait(pass);
	return pass;
}

static void
start_full_pass(MigWorker *w, TimestampTz now)
{
	w->full_pass = new_pass(w, true);
	w->need_full = false;
	w->next_full_at = TimestampTzPlusMilliseconds(now, mig_rescan_interval);
}

/* a file an inotify event named: to be synced with the next named batch */
static void
add_pending(int dir, const char *name, void *arg)
{
	MigWorker  *w = (MigWorker *) arg;

	if (w->pending == NULL)
		w->pending = new_pass(w, false);
	if (mig_spool_pass_backlog(w->pending) >= MAX_PENDING)
	{
		/* cheaper to look at everything */
		mig_spool_pass_end(w->pending);
		w->pending = NULL;
		w->need_full = true;
		return;
	}
	mig_spool_pass_add(w->pending, dir, name);
}

/* a new mig.spool_dir takes effect: everything starts over there */
static void
reload_spool(MigWorker *w)
{
	char	   *canon = MemoryContextStrdup(w->cxt, mig_spool_dir);

	canonicalize_path(canon);
	if (w->spool != NULL && strcmp(w->spool, canon) == 0)
	{
		pfree(canon);
		return;
	}
	if (w->spool != NULL)
	{
		ereport(LOG,
				(errmsg("mig spool worker: spool directory is now \"%s\"", canon)));
		pfree(w->spool);
	}
	w->spool = canon;
	drop_passes(w);
	close_watches(w);
	forget_deferred(w);
	w->waiting_for = NULL;
	w->announced = false;
	mig_worker_set_spool(w->spool);
}

/* ------------------------------------------------------------------------
 * Units of work: each is one transaction
 * ------------------------------------------------------------------------
 */

/* a pass ended: what it did, and what its spool holds deferred and failed */
static void
publish_pass(MigWorker *w, MigSpoolPass *pass, bool full)
{
	const MigSpoolCounts *c = mig_spool_pass_counts(pass);
	int64		deferred = 0,
				failed = 0;

	mig_spool_attention(w->spool, &deferred, &failed);
	mig_worker_pass_done(full, c->ingested, deferred, failed);
}

static void
publish_backlog(MigWorker *w)
{
	int64		backlog = 0;

	if (w->full_pass)
		backlog += mig_spool_pass_backlog(w->full_pass);
	if (w->named_pass)
		backlog += mig_spool_pass_backlog(w->named_pass);
	if (w->pending)
		backlog += mig_spool_pass_backlog(w->pending);
	mig_worker_set_backlog(backlog);
}

/* is the extension there?  Also learns whom the units run as. */
static bool
extension_present(MigWorker *w)
{
	Oid			owner = mig_extension_owner();

	if (!OidIsValid(owner))
		return false;
	/* connected as mig.worker_role: that role; else the owner */
	w->unit_role = w->role[0] != '\0' ? InvalidOid : owner;
	return true;
}

/* one batch of *pass; a pass that is over is published and ended */
static void
step_pass(MigWorker *w, MigSpoolPass **pass, bool full)
{
	bool		more = mig_spool_pass_step(*pass);

	check_pass(w, *pass);
	if (!more)
	{
		publish_pass(w, *pass, full);
		mig_spool_pass_end(*pass);
		*pass = NULL;
	}
}

/* the next deferred files, for the named batch to sync again */
static void
collect_deferred(MigWorker *w)
{
	char	   *last;

	if (w->pending == NULL)
		w->pending = new_pass(w, false);
	last = mig_spool_pass_add_deferred(w->pending, w->deferred_after, mig_batch_size);
	forget_deferred(w);
	w->deferred_after = last ? MemoryContextStrdup(w->cxt, last) : NULL;
}

static void
periodic_task(MigWorker *w, const char *task, int64 rows, TimestampTz since)
{
	MigPeriodicReport *r = &w->periodic;
	int			i;

	/* a purge's batches add up under one task */
	for (i = 0; i < r->ntasks; i++)
		if (strcmp(r->tasks[i].task, task) == 0)
			break;
	if (i == r->ntasks)
	{
		if (r->ntasks == MIG_PERIODIC_MAXTASKS)
			return;
		r->tasks[i].task = MemoryContextStrdup(w->cxt, task);
		r->tasks[i].rows = 0;
		r->tasks[i].took_us = 0;
		r->ntasks++;
	}
	r->tasks[i].rows += rows;
	r->tasks[i].took_us += GetCurrentTimestamp() - since;
}

/* the run is over: say what it did, as {"task": rows, ...} */
static void
periodic_done(MigWorker *w)
{
	StringInfoData buf;
	TimestampTz now = GetCurrentTimestamp();

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < w->periodic.ntasks; i++)
		appendStringInfo(&buf, "%s\"%s\": " INT64_FORMAT, i > 0 ? ", " : "",
						 w->periodic.tasks[i].task, w->periodic.tasks[i].rows);
	appendStringInfoChar(&buf, '}');
	mig_worker_periodic_done(now, now - w->periodic_started, buf.data);
	pfree(buf.data);
	for (int i = 0; i < w->periodic.ntasks; i++)
		pfree((char *) w->periodic.tasks[i].task);
	w->periodic.ntasks = 0;
	w->periodic_step = PERIODIC_IDLE;
}

/*
 * One step of the periodic run, in the unit's transaction: liveness, one
 * batch of a table's purge (the same table again while batches come back
 * full), or the statistics, which end the run.  A database still on 1.0
 * has no agents_stats, and one on 1.1 its older columns: the run ends at
 * once.
 */
static void
periodic_step(MigWorker *w)
{
	TimestampTz t0 = GetCurrentTimestamp();
	int			spi;

	if (mig_schema_version() < 102)
	{
		w->periodic_step = PERIODIC_STATS + 1;
		return;
	}
	spi = mig_spi_connect();
	if (w->periodic_step == PERIODIC_LIVENESS)
	{
		int64		idle,
					offline;

		mig_liveness(&idle, &offline);
		periodic_task(w, "agents idle", idle, t0);
		periodic_task(w, "agents offline", offline, t0);
		w->periodic_step++;
	}
	else if (w->periodic_step < PERIODIC_STATS)
	{
		int			t = w->periodic_step - PERIODIC_PURGE;
		int64		n = mig_purge_step(t, false, mig_purge_batch);

		periodic_task(w, psprintf("purge %s", mig_purge_tables[t]), n, t0);
		if (n < mig_purge_batch)
			w->periodic_step++;
	}
	else
	{
		Datum		values[MIG_STATS_NCOLUMNS];
		bool		nulls[MIG_STATS_NCOLUMNS];

		mig_agents_stats_compute(values, nulls, true);
		periodic_task(w, "statistics", 1, t0);
		w->periodic_step++;
	}
	mig_spi_finish(spi);
}

/* the body of a unit, in its transaction; false if the extension is gone */
static bool
unit_body(MigWorker *w, Unit unit)
{
	if (!extension_present(w))
		return false;
	switch (unit)
	{
		case UNIT_CHECK:
			break;
		case UNIT_NAMED:
			step_pass(w, &w->named_pass, false);
			break;
		case UNIT_FULL:
			step_pass(w, &w->full_pass, true);
			break;
		case UNIT_DEFERRED:
			collect_deferred(w);
			break;
		case UNIT_PERIODIC:
			periodic_step(w);
			break;
	}
	return true;
}

/*
 * Run a unit in a transaction of its own, as the role units run as.  NULL
 * when it committed (*present: whether the extension was there); else the
 * error that ended it, copied into the worker's context, the transaction
 * rolled back.
 */
static ErrorData *
unit_transaction(MigWorker *w, Unit unit, bool *present)
{
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		Oid			save_userid;
		int			save_sec;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		/* an abort restores the user the transaction started with */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		if (OidIsValid(w->unit_role) && w->unit_role != save_userid)
			SetUserIdAndSecContext(w->unit_role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
								   SECURITY_RESTRICTED_OPERATION);
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, unit == UNIT_FULL ? "mig spool: full pass" :
							   unit == UNIT_PERIODIC ? "mig: periodic tasks" :
							   "mig spool: sync");
		*present = unit_body(w, unit);
		PopActiveSnapshot();
		SetUserIdAndSecContext(save_userid, save_sec);
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);
		w->backoff_ms = 0;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(w->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	return edata;
}

/*
 * Report a caught error again, whole: its SQLSTATE, detail, hint, context
 * and where it was raised, with what the worker was doing as the last line
 * of its context, at elevel (below ERROR: the worker goes on).
 */
static void
report_again(MigWorker *w, Unit unit, ErrorData *edata, int elevel)
{
	ErrorData	again = *edata;
	const char *doing;

	Assert(elevel < ERROR);
	switch (unit)
	{
		case UNIT_CHECK:
			doing = "mig spool worker: looking for the extension";
			break;
		case UNIT_NAMED:
			doing = psprintf("mig spool worker: syncing named files of spool \"%s\"",
							 w->spool);
			break;
		case UNIT_FULL:
			doing = psprintf("mig spool worker: full pass over spool \"%s\"", w->spool);
			break;
		case UNIT_PERIODIC:
			doing = "mig spool worker: the periodic tasks (liveness, purge, statistics)";
			break;
		default:
			doing = psprintf("mig spool worker: collecting the deferred files of spool \"%s\"",
							 w->spool);
			break;
	}
	again.elevel = elevel;
	again.message = psprintf("mig spool worker: %s", edata->message);
	again.context = edata->context ? psprintf("%s\n%s", edata->context, doing) :
		pstrdup(doing);
	ThrowErrorData(&again);
}

/*
 * A unit failed: whether the extension is still there.  A DROP EXTENSION
 * committed under the unit is no error; a lock not available (DDL, DROP
 * EXTENSION under way) is tried again soon, quietly; anything else is
 * reported whole as a WARNING, becomes last_error, and the work pauses for
 * longer while errors repeat.
 */
static bool
unit_failed(MigWorker *w, Unit unit, ErrorData *edata)
{
	bool		present;

	StartTransactionCommand();
	present = extension_present(w);
	CommitTransactionCommand();
	MemoryContextSwitchTo(w->loop_cxt);
	if (!present)
		return false;
	if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
	{
		report_again(w, unit, edata, DEBUG1);
		w->next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), POLL_MS);
		return true;
	}
	report_again(w, unit, edata, WARNING);
	mig_worker_set_error(edata->message);
	w->backoff_ms = w->backoff_ms == 0 ? POLL_MS : Min(w->backoff_ms * 2, MAX_BACKOFF_MS);
	w->next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), w->backoff_ms);
	return true;
}

/*
 * Run a unit.  After an error the unit's passes are dropped: the next full
 * pass, after the pause, redoes whatever they were doing.
 */
static void
run_unit(MigWorker *w, Unit unit)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	bool		present = true;
	ErrorData  *edata;

	edata = unit_transaction(w, unit, &present);
	if (edata != NULL)
	{
		present = unit_failed(w, unit, edata);
		FreeErrorData(edata);
		drop_passes(w);
		mig_spool_forget_plans();
		if (unit == UNIT_PERIODIC)
		{
			/* what the run did so far stays done; the rest waits a period */
			periodic_done(w);
		}
	}
	if (!present)
	{
		drop_passes(w);
		mig_spool_forget_plans();
		w->extension_missing = true;
	}
	publish_backlog(w);
	w->trim_due = true;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Idle, give the memory of the passes back to the system, at most once a
 * second: freed contexts go back to malloc, which keeps their pages.  The
 * worker's RSS then says what it holds, and stays flat.  The time until it
 * may, or -1.
 */
static long
trim_memory(MigWorker *w, TimestampTz now)
{
	TimestampTz due = TimestampTzPlusMilliseconds(w->last_trim, POLL_MS);

	if (!w->trim_due)
		return -1;
	if (now < due)
		return ms_until(due, now);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	w->last_trim = now;
	w->trim_due = false;
	return -1;
}

/* ------------------------------------------------------------------------
 * Starting: the slot, the state, the connection
 * ------------------------------------------------------------------------
 */

static void
process_reload(MigWorker *w)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (strcmp(mig_database, w->database) != 0 || strcmp(mig_worker_role, w->role) != 0)
	{
		/* a process connects once: the next start connects there */
		if (strcmp(mig_database, w->database) != 0)
			ereport(LOG,
					(errmsg("mig spool worker: mig.database is now \"%s\"; restarting to connect to it",
							mig_database)));
		else
			ereport(LOG,
					(errmsg("mig spool worker: mig.worker_role is now \"%s\"; restarting to connect as it",
							mig_worker_role)));
		mig_worker_connected();
		proc_exit(1);
	}
	reload_spool(w);
}

/*
 * Whether a shared catalog (pg_database, pg_authid) has a row that match
 * accepts, from a process connected to no database: a heap scan, as the
 * autovacuum launcher does (the catalog's indexes cannot be opened without
 * a database).
 */
static bool
shared_catalog_has(Oid catalog, bool (*match) (HeapTuple tuple, const char *name),
				   const char *name)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(catalog, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!found && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
		found = match(tup, name);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return found;
}

static bool
database_named(HeapTuple tuple, const char *name)
{
	return strcmp(NameStr(((Form_pg_database) GETSTRUCT(tuple))->datname), name) == 0;
}

/* a role that exists and may log in */
static bool
login_role_named(HeapTuple tuple, const char *name)
{
	Form_pg_authid form = (Form_pg_authid) GETSTRUCT(tuple);

	return strcmp(NameStr(form->rolname), name) == 0 && form->rolcanlogin;
}

/*
 * The previous start could not connect to mig.database as mig.worker_role:
 * connect to no database, watch pg_database and pg_authid, and exit to be
 * restarted (and connect) once the database and the role are there.
 */
static void
wait_for_connection(MigWorker *w)
{
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	for (;;)
	{
		bool		have_db,
					have_role;

		CHECK_FOR_INTERRUPTS();
		process_reload(w);
		have_db = shared_catalog_has(DatabaseRelationId, database_named, w->database);
		have_role = w->role[0] == '\0' ||
			shared_catalog_has(AuthIdRelationId, login_role_named, w->role);
		if (have_db && have_role)
		{
			mig_worker_connected();
			ereport(LOG,
					(errmsg("mig spool worker: database \"%s\" exists now; restarting to connect to it",
							w->database)));
			proc_exit(1);
		}
		if (!have_db)
			log_wait(w, "database",
					 psprintf("database \"%s\" does not exist; waiting for it", w->database),
					 "Create the database, or set mig.database.");
		else
			log_wait(w, "role",
					 psprintf("role \"%s\" does not exist or cannot log in; waiting for it",
							  w->role),
					 "Create the role with LOGIN, or set mig.worker_role.");
		wait_ms(w, POLL_MS);
	}
}

/* one worker per cluster: take the slot, or exit; *probe as for the slot */
static void
claim_slot(bool *probe)
{
	pid_t		other = mig_worker_claim(probe);

	if (other != 0)
	{
		ereport(LOG,
				(errmsg("mig spool worker: another spool worker is running (PID %d); exiting",
						(int) other)));
		proc_exit(0);
	}
}

/* the state as a start has it: nothing watched, a full pass due */
static void
init_state(MigWorker *w)
{
	memset(w, 0, sizeof(MigWorker));
	w->cxt = AllocSetContextCreate(TopMemoryContext, "mig spool worker",
								   ALLOCSET_DEFAULT_SIZES);
	w->loop_cxt = AllocSetContextCreate(w->cxt, "mig spool worker loop",
										ALLOCSET_DEFAULT_SIZES);
	w->unit_role = InvalidOid;
	w->need_full = true;
	mig_spool_watch_init(&w->watch);
	rebuild_wait_set(w);
	reload_spool(w);
	strlcpy(w->database, mig_database, sizeof(w->database));
	strlcpy(w->role, mig_worker_role, sizeof(w->role));
	mig_worker_set_database(w->database);
}

static void
connect_database(MigWorker *w, bool probe)
{
	if (probe)
		wait_for_connection(w);
	BackgroundWorkerInitializeConnection(w->database, w->role[0] ? w->role : NULL, 0);
	mig_worker_connected();
	pgstat_report_appname("mig spool worker");

	/*
	 * Whatever the database's or the role's settings say: every statement
	 * pins it again (mig_spi_connect), this keeps the session itself honest.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	w->extension_missing = true;	/* look first */
}

/* ------------------------------------------------------------------------
 * The loop: each step says whether the turn is over
 * ------------------------------------------------------------------------
 */

/* a standby: nothing may be written */
static bool
sleep_on_standby(MigWorker *w)
{
	if (!RecoveryInProgress())
		return false;
	if (w->watch.fd >= 0)
		close_watches(w);
	drop_passes(w);
	w->announced = false;
	log_wait(w, "promotion", "the server is a hot standby; sleeping until it is promoted",
			 NULL);
	wait_ms(w, POLL_MS);
	return true;
}

/* the extension, looked for once it was found missing (and at start) */
static bool
wait_for_extension(MigWorker *w)
{
	if (!w->extension_missing)
		return false;
	w->extension_missing = false;
	run_unit(w, UNIT_CHECK);
	if (!w->extension_missing)
		return false;
	if (w->watch.fd >= 0)
		close_watches(w);
	w->announced = false;
	forget_deferred(w);
	mig_worker_forget_counts();
	log_wait(w, "extension",
			 psprintf("extension \"mig\" is not installed in database \"%s\"; waiting for it",
					  mig_database),
			 "Run CREATE EXTENSION mig in that database.");
	wait_ms(w, POLL_MS);
	return true;
}

/*
 * The spool, watched, and its events read.  Watched afresh when a watched
 * directory went: what was under way is dropped (nothing is deleted for a
 * spool that is not there) and, once it is there, a full pass follows.
 */
static bool
watch_spool(MigWorker *w)
{
	if (w->watch.rewatch)
	{
		w->watch.rewatch = false;
		close_watches(w);
		drop_passes(w);
	}
	if (!w->watch.complete && !setup_watches(w))
	{
		drop_passes(w);
		w->announced = false;
		errno = w->watch.open_errno;
		log_wait(w, "spool",
				 w->watch.open_errno == ENOENT ?
				 psprintf("spool directory \"%s\" does not exist; waiting for it", w->spool) :
				 psprintf("could not open spool directory \"%s\": %m; waiting for it", w->spool),
				 "mig.spool_dir names the MIG scheduler's spool.");
		wait_ms(w, POLL_MS);
		return true;
	}
	if (w->watch.rewatch)
		return true;
	if (!w->announced)
	{
		ereport(LOG,
				(errmsg("mig spool worker: syncing spool \"%s\" into database \"%s\"",
						w->spool, mig_database)));
		w->announced = true;
		w->waiting_for = NULL;
	}
	mig_spool_watch_drain(&w->watch, add_pending, w, &w->need_full);
	return w->watch.rewatch;
}

/* named files and the full pass take turns */
static bool
run_passes(MigWorker *w, TimestampTz now)
{
	if (w->named_pass == NULL && w->pending != NULL)
	{
		w->named_pass = w->pending;
		w->pending = NULL;
	}
	if (w->full_pass == NULL && (w->need_full || now >= w->next_full_at))
		start_full_pass(w, now);
	if (w->named_pass != NULL && (w->full_pass == NULL || !w->turn_full))
	{
		mig_worker_set_state("syncing");
		run_unit(w, UNIT_NAMED);
		w->turn_full = true;
		return true;
	}
	if (w->full_pass != NULL)
	{
		mig_worker_set_state("scanning");
		run_unit(w, UNIT_FULL);
		w->turn_full = false;
		return true;
	}
	return false;
}

/*
 * The periodic tasks: a step when a run is under way or due
 * (mig.periodic_interval; 0: never).  Between two spool units, so that
 * ingestion never waits for more than one step.
 */
static bool
run_periodic(MigWorker *w, TimestampTz now)
{
	if (w->periodic_step == PERIODIC_IDLE)
	{
		if (mig_periodic_interval <= 0 || now < w->next_periodic_at)
			return false;
		w->periodic_step = PERIODIC_LIVENESS;
		w->periodic_started = now;
		w->next_periodic_at = TimestampTzPlusMilliseconds(now, mig_periodic_interval);
	}
	mig_worker_set_state("periodic");
	run_unit(w, UNIT_PERIODIC);
	if (w->periodic_step > PERIODIC_STATS)
		periodic_done(w);
	return true;
}

/* deferred files: their agent or their id may have come */
static bool
retry_deferred(MigWorker *w, TimestampTz now)
{
	if (mig_worker_known_deferred() <= 0 || now < w->next_deferred_at)
		return false;
	w->next_deferred_at = TimestampTzPlusMilliseconds(now, POLL_MS);
	run_unit(w, UNIT_DEFERRED);
	return true;
}

/* nothing to do: sleep until a timer, an event or the latch */
static void
wait_idle(MigWorker *w, TimestampTz now)
{
	long		timeout = ms_until(w->next_full_at, now);
	long		trim = trim_memory(w, now);

	mig_worker_set_state("idle");
	if (trim >= 0)
		timeout = Min(timeout, trim);
	if (mig_periodic_interval > 0)
		timeout = Min(timeout, ms_until(w->next_periodic_at, now));
	if (!w->watch.complete)
		timeout = Min(timeout, POLL_MS);
	if (mig_worker_known_deferred() > 0)
		timeout = Min(timeout, ms_until(w->next_deferred_at, now));
	wait_ms(w, timeout);
}

static void
loop_turn(MigWorker *w)
{
	TimestampTz now;

	MemoryContextSwitchTo(w->loop_cxt);
	MemoryContextReset(w->loop_cxt);
	CHECK_FOR_INTERRUPTS();
	process_reload(w);
	if (sleep_on_standby(w) || wait_for_extension(w) || watch_spool(w))
		return;
	now = GetCurrentTimestamp();
	if (now < w->next_work_at)
	{
		/* after an error */
		wait_ms(w, ms_until(w->next_work_at, now));
		return;
	}
	/* the periodic run and the passes take turns */
	w->periodic_turn = !w->periodic_turn;
	if (w->periodic_turn && run_periodic(w, now))
		return;
	if (run_passes(w, now) || run_periodic(w, now) || retry_deferred(w, now))
		return;
	wait_idle(w, now);
}

void
mig_worker_main(Datum main_arg)
{
	MigWorker  *w = &worker_state;
	bool		probe;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	claim_slot(&probe);
	init_state(w);
	connect_database(w, probe);
	for (;;)
		loop_turn(w);
}
