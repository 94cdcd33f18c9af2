/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  The spool's directories and the statuses' ranks, each written once
 *	  (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

/* what a spool directory holds: <spool>/action/... or <spool>/command/... */
typedef enum MigSpoolKind
{
	MIG_KIND_ACTION,
	MIG_KIND_COMMAND,
	MIG_SPOOL_NKINDS
} MigSpoolKind;

/*
 * The spool's directories, one line each, in the order a full pass visits
 * them; among files of one batch holding the same object at the same rank,
 * the one in the later directory wins (spoolstore.c).
 *
 *	  DIR(name, kind, leaf, status)
 *
 * is the directory <spool>/<kind>/<leaf>, numbered MIG_DIR_<name>.  status
 * is the status it gives a file that holds none, and the least status a
 * file there has (MIG moves an action file from inflight/ to done/ without
 * rewriting it); NULL: none, a file there must say how it ended.
 *
 * Everything else about the directories is derived from this list: their
 * number, mig_spool_dirs, mig_spool_lifecycle (lifecycle.c), the walk's ids
 * (spooldir.h).  Not derived: the CHECK on spool_files.dir in mig--1.0.sql,
 * which a new leaf name needs an update script for.
 */
#define MIG_SPOOL_DIR_LIST(DIR) \
	DIR(ACTION_NEW,       ACTION,  "new",      "pending") \
	DIR(ACTION_INFLIGHT,  ACTION,  "inflight", "inflight") \
	DIR(ACTION_DONE,      ACTION,  "done",     "completed") \
	DIR(ACTION_INVALID,   ACTION,  "invalid",  "invalid") \
	DIR(COMMAND_READY,    COMMAND, "ready",    "prepared") \
	DIR(COMMAND_INFLIGHT, COMMAND, "inflight", "sent") \
	DIR(COMMAND_RETURNED, COMMAND, "returned", NULL) \
	DIR(COMMAND_DONE,     COMMAND, "done",     NULL)

#define MIG_SPOOL_DIR_ENUM(name, kind, leaf, status) MIG_DIR_##name,
typedef enum MigSpoolDirNum
{
	MIG_SPOOL_DIR_LIST(MIG_SPOOL_DIR_ENUM)
	MIG_SPOOL_NDIRS
} MigSpoolDirNum;
#undef MIG_SPOOL_DIR_ENUM

typedef struct MigSpoolDir
{
	const char *path;			/* "action/new", relative to the spool */
	MigSpoolKind kind;
	const char *leaf;			/* "new" */
	const char *status;			/* the least status a file there has, or NULL */
} MigSpoolDir;

extern const MigSpoolDir mig_spool_lifecycle[MIG_SPOOL_NDIRS];
extern const char *const mig_spool_dirs[MIG_SPOOL_NDIRS];	/* "action/new", ... */
extern const char *const mig_spool_kinds[MIG_SPOOL_NKINDS]; /* "action", "command" */

extern int	mig_spool_dir_find(const char *kind, const char *leaf);	/* -1: none */

/*
 * Where a status stands in its kind's lifecycle (lifecycle.c): a row never
 * moves to a lower rank.  The same ranks in C and, for the statements'
 * ON CONFLICT ... WHERE, in SQL; the statuses below the final ones.
 */
extern int	mig_status_rank(MigSpoolKind kind, const char *status);
extern const char *mig_effective_status(int dir, const char *written);
extern char *mig_status_rank_sql(MigSpoolKind kind, const char *expr);
extern char *mig_status_kept_sql(MigSpoolKind kind, const char *current,
								 const char *excluded);
extern char *mig_status_unfinished_sql(MigSpoolKind kind);

#endif							/* LIFECYCLE_H */
