/*-------------------------------------------------------------------------
 *
 * mig.h
 *	  What every part of the mig extension may need: its version and its
 *	  settings.  Each concern has its own header (schema.h, sql.h, canon.h,
 *	  pgp.h, verify.h, spool.h, ...); a header never includes one of a
 *	  higher layer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_H
#define MIG_H

#define MIG_VERSION "1.2"

/* the settings and jansson's allocator, set up by _PG_init (init.c) */
extern void mig_define_settings(void);
extern void mig_jansson_init(void);

/* GUCs, defined in mig.c */
extern char *mig_spool_dir;
extern char *mig_database;
extern int	mig_rescan_interval;	/* ms */
extern int	mig_batch_size;			/* files per transaction */
extern int	mig_max_file_size;		/* kB */
extern char *mig_worker_role;	/* "": the extension's owner */
extern int	mig_max_signatures;
extern int	mig_agent_heartbeat_freq;	/* ms */
extern int	mig_agent_timeout;		/* ms */
extern int	mig_command_retention;	/* s; 0: forever */
extern int	mig_agent_retention;	/* s; 0: forever */
extern int	mig_purge_batch;		/* rows per batch */
extern int	mig_periodic_interval;	/* ms; 0: off */
extern int	mig_target_timeout;		/* ms; 0: no limit */
extern bool mig_scheduler_writes;	/* MIG's scheduler writes the database too */
extern int	mig_fill_delay;			/* ms */
extern int	mig_target_memory;		/* kB; 0: no limit */

/*
 * Fault injection, for the tests of failures no test can cause for real (a
 * read error, a file swapped or grown at the worst moment): compiled in only
 * when built with MIG_FAULT_INJECTION (make MIG_FAULTS=1, as test/run
 * builds), and then armed by the superuser's setting mig.fault_injection, a
 * comma-separated list of the points named at each MIG_FAULT().  Otherwise
 * MIG_FAULT() is false at compile time and the setting does not exist.
 */
#ifdef MIG_FAULT_INJECTION
extern char *mig_fault_injection;
extern bool mig_fault(const char *point);
#define MIG_FAULT(point) mig_fault(point)
#else
#define MIG_FAULT(point) false
#endif

#endif							/* MIG_H */
