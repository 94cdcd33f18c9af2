/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The spool worker, for _PG_init (worker.c).
 *
 *	  Not here: what the worker publishes, and the SQL that reads it or
 *	  starts the worker (workerstatus.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WORKER_H
#define WORKER_H


/* registered from _PG_init when mig is preloaded */
extern void mig_worker_register(void);

#endif							/* WORKER_H */
