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

/*
 * The directories of a spool as every pass walks them, by descriptor: the
 * root by its path (which may hold symbolic links: the administrator's
 * choice), then "action" and "command" in it and the eight directories in
 * those, each by its name in its parent's descriptor and never through a
 * symbolic link.  The worker watches what the same walk opens, and compares
 * it with what its passes opened.  Ids index the root, the two kinds, then
 * the eight directories; a MigSpoolDirId with ino 0 is unknown.
 */
#define MIG_SPOOL_NIDS (1 + MIG_SPOOL_NKINDS + MIG_SPOOL_NDIRS)
#define MIG_SPOOL_ID_ROOT 0
#define MIG_SPOOL_ID_KIND(d) (1 + (int) mig_spool_lifecycle[d].kind)	/* of directory d */
#define MIG_SPOOL_ID_DIR(d) (1 + MIG_SPOOL_NKINDS + (d))

typedef struct MigSpoolDirId
{
	uint64		dev;
	uint64		ino;
} MigSpoolDirId;

extern int	mig_spool_open_dir(int parent, const char *name, MigSpoolDirId *id);
extern void mig_spool_close_dir(int fd);
extern const char *mig_spool_id_name(int id);
extern bool mig_spool_pass_dirs(MigSpoolPass *pass, MigSpoolDirId *ids);
extern char *mig_spool_pass_problem(MigSpoolPass *pass);

#endif							/* SPOOL_H */
