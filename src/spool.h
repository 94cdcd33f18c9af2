/*-------------------------------------------------------------------------
 *
 * spool.h
 *	  One pass over MIG's spool, for mig_spool_sync() and the worker (spool.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOOL_H
#define SPOOL_H

/* the directories (mig_spool_dirs, ...) and mig_spool_name_ok, for the worker */
#include "lifecycle.h"
#include "spooldir.h"
#include "spoolfile.h"

/*
 * The spool pass (spool.c), one code path for mig_spool_sync() and the
 * worker.  A pass is either full (lists the eight directories) or over
 * files named with mig_spool_pass_add(); each mig_spool_pass_step() runs one
 * batch of mig.batch_size files in the current transaction.
 */
typedef struct MigSpoolPass MigSpoolPass;
typedef struct MigSpoolCounts
{
	int64		scanned;		/* ingested + unchanged + deferred + failed */
	int64		ingested;
	int64		unchanged;
	int64		deferred;
	int64		failed;
	int64		removed;		/* rows of files gone from the spool */
} MigSpoolCounts;

extern MigSpoolPass *mig_spool_pass_begin(const char *spool, bool full,
										  MemoryContext parent);
extern void mig_spool_pass_add(MigSpoolPass *pass, int dir, const char *name);
extern void mig_spool_pass_nowait(MigSpoolPass *pass);
extern void mig_spool_forget_plans(void);
extern char *mig_spool_pass_add_deferred(MigSpoolPass *pass, const char *after,
										 int limit);
extern bool mig_spool_pass_step(MigSpoolPass *pass);
extern const MigSpoolCounts *mig_spool_pass_counts(MigSpoolPass *pass);
extern int64 mig_spool_pass_backlog(MigSpoolPass *pass);
extern void mig_spool_pass_end(MigSpoolPass *pass);
extern void mig_spool_attention(const char *spool, int64 *deferred, int64 *failed);
extern void mig_spool_check_privilege(void);

/* the directories a pass opened (spooldir.h), and what it could not enter */
extern bool mig_spool_pass_dirs(MigSpoolPass *pass, MigSpoolDirId *ids);
extern char *mig_spool_pass_problem(MigSpoolPass *pass);

#endif							/* SPOOL_H */
