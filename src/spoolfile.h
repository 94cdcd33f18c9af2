/*-------------------------------------------------------------------------
 *
 * spoolfile.h
 *	  One spool file: its name, reading it by descriptor, what it holds
 *	  (spoolfile.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOOLFILE_H
#define SPOOLFILE_H

#include <sys/types.h>

#include "datatype/timestamp.h"

/* what became of a file in a batch */
typedef enum SpoolOutcome
{
	OUT_NONE,					/* read and valid, not yet written */
	OUT_INGESTED,				/* its content is now in the tables */
	OUT_UNCHANGED,				/* read, but the tables already held as much */
	OUT_DEFERRED,				/* waiting for an id or an agent */
	OUT_FAILED,					/* bad file: see error */
	OUT_SKIPPED,				/* same (inode, size, mtime) as before: not read */
	OUT_VANISHED				/* gone since the listing: moved on */
} SpoolOutcome;

/* An action as a file or a command holds it. */
typedef struct ParsedAction
{
	int64		id;				/* 0: none yet */
	char	   *name;
	char	   *target;
	text	   *description;	/* verbatim JSON, or NULL */
	text	   *threat;
	text	   *operations;
	text	   *pgpsignatures;
	TimestampTz validfrom;
	TimestampTz expireafter;
	TimestampTz starttime;
	TimestampTz finishtime;
	TimestampTz lastupdatetime;
	bool		has_starttime;
	bool		has_finishtime;
	bool		has_lastupdatetime;
	char	   *status;			/* as written; NULL if none */
	bool		has_syntaxversion;
	int32		syntaxversion;
} ParsedAction;

typedef struct ParsedCommand
{
	int64		id;
	ParsedAction action;		/* the embedded copy */
	int64		agent_id;		/* 0: identify the agent by queueloc */
	char	   *agent_name;
	char	   *agent_queueloc;
	char	   *status;			/* effective */
	text	   *results;
	TimestampTz starttime;
	TimestampTz finishtime;
	bool		has_finishtime;
	Datum		agentid;		/* numeric, once the agent is found */
} ParsedCommand;

/* A file of a batch: where it is, what spool_files knew, what it holds. */
typedef struct SpoolFile
{
	int			dir;			/* in mig_spool_lifecycle */
	char	   *name;
	char	   *path;
	bool		listed_regular; /* a regular file when the directory was listed */

	/* what spool_files held for it */
	bool		has_row;
	bool		row_stat;		/* the row has (inode, size, mtime) */
	int64		row_inode;
	int64		row_size;
	TimestampTz row_mtime;
	bool		row_deferred;
	bool		row_failed;

	/* what this pass saw */
	bool		stat_known;
	int64		inode;
	int64		size;
	TimestampTz mtime;

	SpoolOutcome outcome;
	char	   *error;
	bool		retry;			/* not the content's fault: retry every pass */
	int64		objectid;

	ParsedAction *action;		/* an action file */
	char	   *action_status;	/* its effective status */
	ParsedCommand *command;		/* a command file */
} SpoolFile;

extern bool mig_spool_name_ok(const char *name);
extern void mig_spool_examine_file(SpoolFile *f, int dirfd, int64 max_bytes, int *fd);
extern void mig_spool_parse_file(SpoolFile *f, char *buf, size_t len);
extern void mig_spool_fail_file(SpoolFile *f, bool retry, char *error);

/* descriptors reported to PostgreSQL, for a pass's files and directories */
extern int	mig_spool_openat(int dirfd, const char *name, int flags);
extern void mig_spool_release_fd(int *fd);
extern const char *mig_spool_file_type(mode_t mode);

#endif							/* SPOOLFILE_H */
