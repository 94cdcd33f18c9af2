/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The spool worker: one background worker per cluster, connected to
 *	  mig.database, that keeps the tables in step with MIG's spool.  It is
 *	  registered from _PG_init when mig is in shared_preload_libraries, or
 *	  started by mig_worker_launch(); mig_worker_state() (the view
 *	  mig_worker_status) reads what it publishes in shared memory.
 *
 *	  inotify on the eight spool directories wakes it: the files an event
 *	  names are synced at once.  The spool's root and its two kinds are
 *	  watched too, each watch on the directory a pass opens: when a watched
 *	  directory goes or moves, or one of the spool's appears, every watch is
 *	  set afresh (the spool may have been moved away, removed or replaced)
 *	  and a full pass follows.  A full pass every mig.rescan_interval, and
 *	  after an inotify overflow or a lost watch, is the truth.  Deferred
 *	  files are retried every second.  Each batch of mig.batch_size files is
 *	  a transaction of its own, so the worker holds no lock between batches
 *	  and never blocks DROP EXTENSION; it notices the extension, the spool
 *	  directory or the database missing and waits for them with one log
 *	  line.  On a hot standby it sleeps until promotion.
 *
 *	  The worker cannot know that mig.database exists before connecting to
 *	  it, and a background worker connects once.  So a start that finds the
 *	  database missing fails (the postmaster logs it once and restarts the
 *	  worker after bgw_restart_time); the next start sees that in shared
 *	  memory, connects to no database, watches pg_database, and exits to be
 *	  restarted once the database exists.
 *
 *	  Not here: what a pass does (spool.c); the shared memory the worker
 *	  publishes in, mig_worker_state() and mig_worker_launch()
 *	  (workerstatus.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
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
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "mig.h"
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
 * The worker's state
 * ------------------------------------------------------------------------
 */

static MemoryContext worker_cxt;

/* the database this process is connected to, or waits for */
static char database[NAMEDATALEN];

/* the role it connected as (mig.worker_role); "": the extension's owner */
static char role[NAMEDATALEN];

/*
 * The role the units run as when mig.worker_role is empty: the owner of the
 * extension, looked up whenever the extension is found.  The worker then
 * connects as the bootstrap superuser and becomes the owner for each unit,
 * as a security-restricted operation (as VACUUM becomes a table's owner):
 * code the owner can define cannot SET ROLE back to the superuser.
 */
static Oid	unit_role = InvalidOid;

static char *spool = NULL;		/* canonical mig.spool_dir in use */
static MigSpoolWatch watch;
static WaitEventSet *wait_set = NULL;

static bool need_full = true;
static TimestampTz next_full_at = 0;
static TimestampTz next_deferred_at = 0;
static TimestampTz next_work_at = 0;	/* after an error */
static int	backoff_ms = 0;
static char *deferred_after = NULL;

static MigSpoolPass *full_pass = NULL;	/* a full pass under way */
static MigSpoolPass *named_pass = NULL; /* named files being synced */
static MigSpoolPass *pending = NULL;	/* named files waiting */
static bool turn_full = false;	/* alternate when both have work */

static long ms_until(TimestampTz when, TimestampTz now);

static bool trim_due = false;	/* memory was used since the last trim */
static TimestampTz last_trim = 0;

static const char *waiting_for = NULL;	/* logged once per wait */
static bool announced = false;	/* "syncing" logged */
static bool extension_missing = false;

static void
log_wait(const char *what, const char *message, const char *hint)
{
	if (waiting_for != NULL && strcmp(waiting_for, what) == 0)
		return;
	waiting_for = what;
	mig_worker_set_state(psprintf("waiting for %s", what));
	if (hint)
		ereport(LOG, (errmsg("mig spool worker: %s", message), errhint("%s", hint)));
	else
		ereport(LOG, (errmsg("mig spool worker: %s", message)));
}

static void
drop_passes(void)
{
	if (full_pass)
		mig_spool_pass_end(full_pass);
	if (named_pass)
		mig_spool_pass_end(named_pass);
	if (pending)
		mig_spool_pass_end(pending);
	full_pass = named_pass = pending = NULL;
	need_full = true;
}

static void
rebuild_wait_set(void)
{
	if (wait_set)
		FreeWaitEventSet(wait_set);
	wait_set = CreateWaitEventSet(worker_cxt, 3);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (watch.fd >= 0)
		AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, watch.fd, NULL, NULL);
	watch.fd_changed = false;
}

static void
close_watches(void)
{
	mig_spool_watch_close(&watch);
	rebuild_wait_set();
}

/* false when the spool cannot be opened (watch.open_errno) */
static bool
setup_watches(void)
{
	bool		ok = mig_spool_watch_setup(&watch, spool, &need_full);

	if (watch.fd_changed)
		rebuild_wait_set();
	return ok;
}

/*
 * After a batch: a directory the pass could not enter is the worker's
 * last_error; a pass that could not open the spool, or that opened other
 * directories than the ones watched (the spool was replaced under the
 * watches and the events were lost, in an overflow), has the watches
 * started over.
 */
static void
check_pass(MigSpoolPass *pass)
{
	char	   *problem = mig_spool_pass_problem(pass);

	if (problem != NULL)
		mig_worker_set_error(problem);
	mig_spool_watch_check(&watch, pass);
}

static MigSpoolPass *
new_pass(bool full)
{
	MigSpoolPass *pass = mig_spool_pass_begin(spool, full, worker_cxt);

	mig_spool_pass_nowait(pass);
	return pass;
}

static void
add_pending(int dir, const char *name)
{
	if (pending == NULL)
		pending = new_pass(false);
	if (mig_spool_pass_backlog(pending) >= MAX_PENDING)
	{
		/* cheaper to look at everything */
		mig_spool_pass_end(pending);
		pending = NULL;
		need_full = true;
		return;
	}
	mig_spool_pass_add(pending, dir, name);
}

static void
named_file(int dir, const char *name, void *arg)
{
	add_pending(dir, name);
}

/* read every inotify event there is */
static void
drain_inotify(void)
{
	mig_spool_watch_drain(&watch, named_file, NULL, &need_full);
}

/* a new mig.spool_dir takes effect: everything starts over there */
static void
reload(void)
{
	char	   *canon = MemoryContextStrdup(worker_cxt, mig_spool_dir);

	canonicalize_path(canon);
	if (spool != NULL && strcmp(spool, canon) == 0)
	{
		pfree(canon);
		return;
	}
	if (spool != NULL)
	{
		ereport(LOG,
				(errmsg("mig spool worker: spool directory is now \"%s\"", canon)));
		pfree(spool);
	}
	spool = canon;
	drop_passes();
	close_watches();
	if (deferred_after)
		pfree(deferred_after);
	deferred_after = NULL;
	waiting_for = NULL;
	announced = false;
	mig_worker_set_spool(spool);
}

/* ------------------------------------------------------------------------
 * Units of work: each is one transaction
 * ------------------------------------------------------------------------
 */

typedef enum Unit
{
	UNIT_CHECK,					/* is the extension there? */
	UNIT_NAMED,					/* a batch of named files */
	UNIT_FULL,					/* a batch of the full pass */
	UNIT_DEFERRED				/* collect deferred files */
} Unit;

/* a pass ended: what it did, and what its spool holds deferred and failed */
static void
publish_pass(MigSpoolPass *pass, bool full)
{
	const MigSpoolCounts *c = mig_spool_pass_counts(pass);
	int64		deferred = 0,
				failed = 0;

	mig_spool_attention(spool, &deferred, &failed);
	mig_worker_pass_done(full, c->ingested, deferred, failed);
}

static void
publish_backlog(void)
{
	int64		backlog = 0;

	if (full_pass)
		backlog += mig_spool_pass_backlog(full_pass);
	if (named_pass)
		backlog += mig_spool_pass_backlog(named_pass);
	if (pending)
		backlog += mig_spool_pass_backlog(pending);
	mig_worker_set_backlog(backlog);
}

/* is the extension there?  Also learns whom the units run as. */
static bool
extension_present(void)
{
	Oid			owner = mig_extension_owner();

	if (!OidIsValid(owner))
		return false;
	/* connected as mig.worker_role: that role; else the owner */
	unit_role = role[0] != '\0' ? InvalidOid : owner;
	return true;
}

/* the body of a unit, in its transaction; false if the extension is gone */
static bool
unit_body(Unit unit)
{
	bool		more;

	if (!extension_present())
		return false;
	switch (unit)
	{
		case UNIT_CHECK:
			break;
		case UNIT_NAMED:
			more = mig_spool_pass_step(named_pass);
			check_pass(named_pass);
			if (!more)
			{
				publish_pass(named_pass, false);
				mig_spool_pass_end(named_pass);
				named_pass = NULL;
			}
			break;
		case UNIT_FULL:
			more = mig_spool_pass_step(full_pass);
			check_pass(full_pass);
			if (!more)
			{
				publish_pass(full_pass, true);
				mig_spool_pass_end(full_pass);
				full_pass = NULL;
			}
			break;
		case UNIT_DEFERRED:
			if (pending == NULL)
				pending = new_pass(false);
			{
				char	   *last = mig_spool_pass_add_deferred(pending, deferred_after,
															   mig_batch_size);

				if (deferred_after)
					pfree(deferred_after);
				deferred_after = last ? MemoryContextStrdup(worker_cxt, last) : NULL;
			}
			break;
	}
	return true;
}

/*
 * Run a unit in a transaction of its own.  An error is logged and the unit
 * dropped: the next full pass, after a pause that grows while errors
 * repeat, redoes whatever it was doing.
 */
static void
run_unit(Unit unit)
{
	volatile bool present = true;
	ErrorData  *edata = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		Oid			save_userid;
		int			save_sec;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		/* an abort restores the user the transaction started with */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		if (OidIsValid(unit_role) && unit_role != save_userid)
			SetUserIdAndSecContext(unit_role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
								   SECURITY_RESTRICTED_OPERATION);
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, unit == UNIT_FULL ? "mig spool: full pass" :
							   "mig spool: sync");
		present = unit_body(unit);
		PopActiveSnapshot();
		SetUserIdAndSecContext(save_userid, save_sec);
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);
		backoff_ms = 0;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(worker_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();

	if (edata != NULL)
	{
		/* a DROP EXTENSION committed under the unit is no error */
		StartTransactionCommand();
		present = extension_present();
		CommitTransactionCommand();
		if (present && edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			/* someone holds the tables (DDL, DROP EXTENSION): try again soon */
			ereport(DEBUG1, (errmsg("mig spool worker: %s", edata->message)));
			next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), POLL_MS);
		}
		else if (present)
		{
			ereport(WARNING,
					(errmsg("mig spool worker: %s", edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
			mig_worker_set_error(edata->message);
			backoff_ms = backoff_ms == 0 ? POLL_MS : Min(backoff_ms * 2, 60000);
			next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
		}
		FreeErrorData(edata);
		drop_passes();
		mig_spool_forget_plans();
	}
	if (!present)
	{
		drop_passes();
		mig_spool_forget_plans();
		extension_missing = true;
	}
	publish_backlog();
	trim_due = true;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Idle, give the memory of the passes back to the system, at most once a
 * second: freed contexts go back to malloc, which keeps their pages.  The
 * worker's RSS then says what it holds, and stays flat.
 */
static long
trim_memory(TimestampTz now)
{
	TimestampTz due = TimestampTzPlusMilliseconds(last_trim, POLL_MS);

	if (!trim_due)
		return -1;
	if (now < due)
		return ms_until(due, now);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	last_trim = now;
	trim_due = false;
	return -1;
}

/* ------------------------------------------------------------------------
 * The worker
 * ------------------------------------------------------------------------
 */

static void
wait_ms(long timeout)
{
	WaitEvent	ev;

	if (timeout < 0)
		timeout = 0;
	(void) WaitEventSetWait(wait_set, timeout, &ev, 1, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}


static void
process_reload(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		if (strcmp(mig_database, database) != 0 || strcmp(mig_worker_role, role) != 0)
		{
			/* a process connects once: the next start connects there */
			if (strcmp(mig_database, database) != 0)
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
		reload();
	}
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
wait_for_connection(void)
{
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	for (;;)
	{
		bool		have_db,
					have_role;

		CHECK_FOR_INTERRUPTS();
		process_reload();
		have_db = shared_catalog_has(DatabaseRelationId, database_named, database);
		have_role = role[0] == '\0' ||
			shared_catalog_has(AuthIdRelationId, login_role_named, role);
		if (have_db && have_role)
		{
			mig_worker_connected();
			ereport(LOG,
					(errmsg("mig spool worker: database \"%s\" exists now; restarting to connect to it",
							database)));
			proc_exit(1);
		}
		if (!have_db)
			log_wait("database",
					 psprintf("database \"%s\" does not exist; waiting for it", database),
					 "Create the database, or set mig.database.");
		else
			log_wait("role",
					 psprintf("role \"%s\" does not exist or cannot log in; waiting for it", role),
					 "Create the role with LOGIN, or set mig.worker_role.");
		wait_ms(POLL_MS);
	}
}

static long
ms_until(TimestampTz when, TimestampTz now)
{
	if (when <= now)
		return 0;
	return (long) ((when - now + 999) / 1000);
}

static void
start_full_pass(TimestampTz now)
{
	full_pass = new_pass(true);
	need_full = false;
	next_full_at = TimestampTzPlusMilliseconds(now, mig_rescan_interval);
}

void
mig_worker_main(Datum main_arg)
{
	bool		probe;
	pid_t		other;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* one worker per cluster */
	other = mig_worker_claim(&probe);
	if (other != 0)
	{
		ereport(LOG,
				(errmsg("mig spool worker: another spool worker is running (PID %d); exiting",
						(int) other)));
		proc_exit(0);
	}

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "mig spool worker",
									   ALLOCSET_DEFAULT_SIZES);
	loop_cxt = AllocSetContextCreate(worker_cxt, "mig spool worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	mig_spool_watch_init(&watch);
	rebuild_wait_set();
	reload();

	strlcpy(database, mig_database, sizeof(database));
	strlcpy(role, mig_worker_role, sizeof(role));
	mig_worker_set_database(database);
	if (probe)
		wait_for_connection();
	BackgroundWorkerInitializeConnection(database, role[0] ? role : NULL, 0);
	mig_worker_connected();
	pgstat_report_appname("mig spool worker");

	/*
	 * Whatever the database's or the role's settings say: every statement
	 * pins it again (mig_spi_connect), this keeps the session itself honest.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	extension_missing = true;	/* look first */

	for (;;)
	{
		TimestampTz now;
		long		timeout;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		process_reload();

		/* a standby: nothing may be written */
		if (RecoveryInProgress())
		{
			if (watch.fd >= 0)
				close_watches();
			drop_passes();
			announced = false;
			log_wait("promotion", "the server is a hot standby; sleeping until it is promoted",
					 NULL);
			wait_ms(POLL_MS);
			continue;
		}

		/* the extension */
		if (extension_missing)
		{
			extension_missing = false;
			run_unit(UNIT_CHECK);
			MemoryContextSwitchTo(loop_cxt);
			if (extension_missing)
			{
				if (watch.fd >= 0)
					close_watches();
				announced = false;
				if (deferred_after)
					pfree(deferred_after);
				deferred_after = NULL;
				mig_worker_forget_counts();
				log_wait("extension",
						 psprintf("extension \"mig\" is not installed in database \"%s\"; waiting for it",
								  mig_database),
						 "Run CREATE EXTENSION mig in that database.");
				wait_ms(POLL_MS);
				continue;
			}
		}

		/*
		 * The spool.  Watched afresh when a watched directory went: what
		 * was under way is dropped (nothing is deleted for a spool that is
		 * not there) and, once it is there, a full pass follows.
		 */
		if (watch.rewatch)
		{
			watch.rewatch = false;
			close_watches();
			drop_passes();
		}
		if (!watch.complete && !setup_watches())
		{
			drop_passes();
			announced = false;
			errno = watch.open_errno;
			log_wait("spool",
					 watch.open_errno == ENOENT ?
					 psprintf("spool directory \"%s\" does not exist; waiting for it", spool) :
					 psprintf("could not open spool directory \"%s\": %m; waiting for it", spool),
					 "mig.spool_dir names the MIG scheduler's spool.");
			wait_ms(POLL_MS);
			continue;
		}
		if (watch.rewatch)
			continue;
		if (!announced)
		{
			ereport(LOG,
					(errmsg("mig spool worker: syncing spool \"%s\" into database \"%s\"",
							spool, mig_database)));
			announced = true;
			waiting_for = NULL;
		}

		drain_inotify();
		if (watch.rewatch)
			continue;
		now = GetCurrentTimestamp();
		if (now < next_work_at)
		{
			wait_ms(ms_until(next_work_at, now));
			continue;
		}

		/* named files and the full pass take turns */
		if (named_pass == NULL && pending != NULL)
		{
			named_pass = pending;
			pending = NULL;
		}
		if (full_pass == NULL && (need_full || now >= next_full_at))
			start_full_pass(now);
		if (named_pass != NULL && (full_pass == NULL || !turn_full))
		{
			mig_worker_set_state("syncing");
			run_unit(UNIT_NAMED);
			turn_full = true;
			continue;
		}
		if (full_pass != NULL)
		{
			mig_worker_set_state("scanning");
			run_unit(UNIT_FULL);
			turn_full = false;
			continue;
		}

		/* deferred files: their agent or their id may have come */
		if (mig_worker_known_deferred() > 0 && now >= next_deferred_at)
		{
			next_deferred_at = TimestampTzPlusMilliseconds(now, POLL_MS);
			run_unit(UNIT_DEFERRED);
			continue;
		}

		mig_worker_set_state("idle");
		timeout = ms_until(next_full_at, now);
		{
			long		trim = trim_memory(now);

			if (trim >= 0)
				timeout = Min(timeout, trim);
		}
		if (!watch.complete)
			timeout = Min(timeout, POLL_MS);
		if (mig_worker_known_deferred() > 0)
			timeout = Min(timeout, ms_until(next_deferred_at, now));
		wait_ms(timeout);
	}
}
