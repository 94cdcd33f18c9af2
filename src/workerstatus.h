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
