/*-------------------------------------------------------------------------
 *
 * periodic.h
 *	  The periodic tasks: liveness, retention, statistics (periodic.c),
 *	  for the worker, which runs them in transactions of their own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PERIODIC_H
#define PERIODIC_H

/* the tables a purge takes from, in the order of one run */
#define MIG_PURGE_COMMANDS 0
#define MIG_PURGE_AGENTS 1
#define MIG_PURGE_SPOOL_FILES 2
#define MIG_PURGE_NTABLES 3
extern const char *const mig_purge_tables[MIG_PURGE_NTABLES];

#include "agentstats.h"

#define MIG_PERIODIC_MAXTASKS 8

typedef struct MigPeriodicReport
{
	int			ntasks;
	struct
	{
		const char *task;
		int64		rows;
		int64		took_us;
	}			tasks[MIG_PERIODIC_MAXTASKS];
} MigPeriodicReport;

/* each in the current SPI connection */
extern void mig_liveness(int64 *idle, int64 *offline);
extern int64 mig_purge_step(int table, bool dry_run, int64 limit);
extern void mig_agents_stats_compute(Datum *values, bool *nulls, bool keep);
extern void mig_periodic_run(MigPeriodicReport *report);

#endif							/* PERIODIC_H */
