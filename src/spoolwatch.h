/*-------------------------------------------------------------------------
 *
 * spoolwatch.h
 *	  The spool worker's inotify watches of the spool (spoolwatch.c).
 *
 *	  Not here: the dir ids the watches are indexed by (spooldir.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOOLWATCH_H
#define SPOOLWATCH_H

#include "spool.h"

/*
 * The watches of one spool: its root, the two kinds and the eight
 * directories (indexed by the dir ids of spooldir.h), each on the very
 * directory a pass opens.  The owner reads fd (to wait on it) and the
 * flags, and clears fd_changed and rewatch once it has acted on them;
 * everything else is spoolwatch.c's.
 */
typedef struct MigSpoolWatch
{
	int			fd;				/* inotify, or -1 */
	bool		fd_changed;		/* fd opened or closed: wait on the new one */
	int			wd[MIG_SPOOL_NIDS]; /* each directory's watch, or -1 */
	MigSpoolDirId id[MIG_SPOOL_NIDS];	/* what each watch is on */
	bool		complete;		/* every directory is watched */
	bool		rewatch;		/* a watched directory went: start over */
	int			open_errno;		/* why the spool could not be opened */
	bool		warned;			/* a watch that could not be added was
								 * reported (again once all are watched) */
} MigSpoolWatch;

/* a file named by an event in directory dir (0 to MIG_SPOOL_NDIRS - 1) */
typedef void (*MigSpoolWatchFile) (int dir, const char *name, void *arg);

extern void mig_spool_watch_init(MigSpoolWatch *w);
extern void mig_spool_watch_close(MigSpoolWatch *w);
extern bool mig_spool_watch_setup(MigSpoolWatch *w, const char *spool,
								  bool *need_full);
extern void mig_spool_watch_drain(MigSpoolWatch *w, MigSpoolWatchFile file,
								  void *arg, bool *need_full);
extern void mig_spool_watch_check(MigSpoolWatch *w, MigSpoolPass *pass);

#endif							/* SPOOLWATCH_H */
