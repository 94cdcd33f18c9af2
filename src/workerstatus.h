/*-------------------------------------------------------------------------
 *
 * workerstatus.h
 *	  What the spool worker publishes in shared memory, for the worker
 *	  (worker.c) and the view mig_worker_status (workerstatus.c).
 *
 *	  Not here: the worker's own state, which no other process reads
 *	  (worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WORKERSTATUS_H
#define WORKERSTATUS_H

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

/* seconds before the postmaster restarts a worker that exited with 1 */
#define MIG_WORKER_RESTART_SECS 5

/*
 * The worker as the postmaster starts it, from _PG_init or from
 * mig_worker_launch(); and the shared memory it publishes in, reserved
 * from _PG_init when mig is preloaded (else taken from PostgreSQL's
 * reserve by the first process that asks).
 */
extern void mig_worker_describe(BackgroundWorker *worker);
extern void mig_worker_request_shmem(void);

/*
 * The slot of the one worker of the cluster.  mig_worker_claim() takes it
 * (and gives it back at exit), or returns the pid of the worker that holds
 * it; *probe is whether the previous start failed to connect, and until
 * mig_worker_connected() says otherwise this start counts as one that
 * failed too.
 */
extern pid_t mig_worker_claim(bool *probe);
extern void mig_worker_connected(void);

/*
 * The columns of mig_worker_state() and the view mig_worker_status, in the
 * order of the view, with the version of mig that added each: the one
 * list.  mig_worker_state() fills a column by its number here and gives
 * each column its result type asks for by name, so the view of a database
 * still on an older version (fewer columns) is served too; the table and
 * view are in the extension's scripts, and a new column is a line here,
 * its value in mig_worker_state(), and an update script.
 *
 *	  COL(id, name, since)
 */
#define MIG_WORKER_STATE_COLUMNS(COL) \
	COL(PID, "pid", 100) \
	COL(STATE, "state", 100) \
	COL(STARTED_AT, "started_at", 100) \
	COL(LAST_PASS, "last_pass", 100) \
	COL(LAST_FULL_PASS, "last_full_pass", 100) \
	COL(FILES_PER_SEC, "files_per_sec", 100) \
	COL(BACKLOG, "backlog", 100) \
	COL(DEFERRED, "deferred", 100) \
	COL(FAILED, "failed", 100) \
	COL(FILES_TOTAL, "files_total", 100) \
	COL(LAST_ERROR, "last_error", 100) \
	COL(LAST_ERROR_AT, "last_error_at", 100) \
	COL(SPOOL_DIR, "spool_dir", 100) \
	COL(DATABASE, "database", 100) \
	COL(LAST_PERIODIC, "last_periodic", 101) \
	COL(LAST_PERIODIC_TOOK, "last_periodic_took", 101) \
	COL(LAST_PERIODIC_CHANGED, "last_periodic_changed", 101) \
	COL(SCHEDULER_WRITES, "scheduler_writes", 102) \
	COL(FILLED, "filled", 102)

#define MIG_WORKER_STATE_ENUM(id, name, since) MIG_WS_##id,
enum
{
	MIG_WORKER_STATE_COLUMNS(MIG_WORKER_STATE_ENUM)
	MIG_WS_NCOLUMNS
};
#undef MIG_WORKER_STATE_ENUM

/* what the worker says of itself, read back by mig_worker_state() */
extern void mig_worker_set_state(const char *state);
extern void mig_worker_set_error(const char *message);
extern void mig_worker_set_database(const char *database);
extern void mig_worker_set_spool(const char *spool);	/* forgets the counts */
extern void mig_worker_forget_counts(void);
extern void mig_worker_set_backlog(int64 backlog);
extern void mig_worker_pass_done(bool full, int64 ingested, int64 deferred,
								 int64 failed);
extern int64 mig_worker_known_deferred(void);	/* 0 when not known */
extern void mig_worker_periodic_done(TimestampTz at, int64 took_us, const char *report);

#endif							/* WORKERSTATUS_H */
