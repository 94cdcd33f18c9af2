/*-------------------------------------------------------------------------
 *
 * spooldir.h
 *	  The spool's directories, walked by descriptor (spooldir.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOOLDIR_H
#define SPOOLDIR_H

#include <dirent.h>

#include "lifecycle.h"

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

/* <spool>/<rel> and <spool>/<directory d>/<name>, a root spool's slash not doubled */
extern char *mig_spool_path(const char *spool, const char *rel);
extern char *mig_spool_file_path(const char *spool, int d, const char *name);

/*
 * The directories one pass opened: each on first use and kept open to the
 * end of the pass, every descriptor reported to PostgreSQL
 * (AcquireExternalFD) and closed by mig_spool_tree_end whatever happened.
 * A directory that cannot be entered has its reason in dirs[id].problem
 * (for its failed row in spool_files); a tree that reports (a full pass)
 * also raises a WARNING and keeps the last reason in problem, for the
 * worker's last_error.
 */
typedef struct MigSpoolTreeDir
{
	int			fd;				/* open, or -1 */
	bool		tried;			/* opened (or tried to) in this pass */
	char	   *problem;		/* why it cannot be entered; NULL when it is
								 * fine or does not exist */
	MigSpoolDirId id;			/* what was opened */
} MigSpoolTreeDir;

/* a name a directory listing gave, and whether it was a regular file then */
typedef struct MigSpoolListed
{
	char	   *name;
	bool		regular;		/* d_type DT_REG: no need to fstatat it first */
} MigSpoolListed;

typedef struct MigSpoolTree
{
	const char *spool;			/* canonical, no trailing slash */
	bool		report;			/* WARNINGs and problem (a full pass) */
	MemoryContext cxt;			/* of the problems and the listings */
	MigSpoolTreeDir dirs[MIG_SPOOL_NIDS];
	int			root_errno;		/* the root could not be opened: errno */
	char	   *problem;		/* a directory not entered, not yet taken */
	DIR		   *listing;		/* a listing under way */
} MigSpoolTree;

extern void mig_spool_tree_init(MigSpoolTree *tree, const char *spool,
								bool report, MemoryContext cxt);
extern bool mig_spool_tree_open_root(MigSpoolTree *tree);
extern int	mig_spool_tree_fd(MigSpoolTree *tree, int id);
extern bool mig_spool_tree_list(MigSpoolTree *tree, int d,
								MigSpoolListed **names, int *nnames);
extern void mig_spool_tree_end(MigSpoolTree *tree);

#endif							/* SPOOLDIR_H */
