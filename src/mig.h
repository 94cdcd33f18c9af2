/*-------------------------------------------------------------------------
 *
 * mig.h
 *	  What crosses files in the mig extension: the GUC variables, the
 *	  lookup of the extension's own schema, and the small helpers that more
 *	  than one concern uses.  Anything used by one file stays static there.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_H
#define MIG_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#define MIG_VERSION "1.0"

/* GUCs, defined in mig.c */
extern char *mig_spool_dir;
extern char *mig_database;
extern int	mig_rescan_interval;	/* ms */
extern int	mig_batch_size;			/* files per transaction */
extern int	mig_max_file_size;		/* kB */

/*
 * The extension's schema and relations, looked up at run time so that the
 * C code never depends on the caller's search_path (mig.c).
 */
extern Oid	mig_namespace(void);
extern Oid	mig_relid(const char *relname);
extern char *mig_qualified_name(const char *relname);

/*
 * RFC 3339 timestamps (json.c).  mig_parse_rfc3339 accepts what Go's
 * time.Parse(time.RFC3339, ...) accepts and yields Unix seconds (floor) and
 * the nanoseconds within that second.  mig_unix_to_timestamptz converts the
 * result to a PostgreSQL timestamp with time zone (microseconds, truncated).
 */
extern bool mig_parse_rfc3339(const char *str, size_t len,
							  int64 *unix_seconds, int32 *nanoseconds);
extern TimestampTz mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds);

/*
 * jansson allocates through palloc (json.c): its objects live in the
 * CurrentMemoryContext of the moment, so an ereport(ERROR) that skips a
 * json_decref() leaks nothing beyond that context.  Called from _PG_init.
 */
extern void mig_json_init(void);

/*
 * The canonical signed string (canon.c).  mig_canonical_string builds it
 * from an action row's columns (operations NULL: SQL NULL, Go's nil slice);
 * mig_operation_modules lists the distinct module names of an operations
 * array in first-seen order; mig_timestamptz_to_unix is Go's Time.Unix().
 */
extern char *mig_canonical_string(const char *name, const char *target,
								  int64 validfrom, int64 expireafter,
								  const char *operations, int operations_len);
extern int64 mig_timestamptz_to_unix(TimestampTz ts);
extern List *mig_operation_modules(const char *operations, int operations_len);

/* pgp.c (declared here until the pgp branch lands) */
typedef struct MigActionSigners
{
	char	   *operations;
	int			operations_len;
	int			nsigners;
	Datum	   *signers;
} MigActionSigners;
extern MigActionSigners *mig_action_signers(Datum action_id);

#endif							/* MIG_H */
