/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  The lifecycle of MIG's spool, written once: its eight directories
 *	  (the list in lifecycle.h: where each is, what it holds, the status it
 *	  gives a file) and where each status stands in its kind's lifecycle
 *	  (status_ranks below).  Everything the C code knows about them is
 *	  derived from these two tables: the directories' paths and leaf names,
 *	  the kind each holds, a file's effective status, the ranks in C, the
 *	  same ranks in the SQL of the spool sync's ON CONFLICT clauses
 *	  (spoolstore.c), and the statuses the counters take for "not come back"
 *	  (counters.c).  Adding a status or a directory is a change to one of
 *	  the two tables (and, for a new leaf name, to spool_files' CHECK).
 *
 *	  Not here: walking the spool (spool.c), reading its files
 *	  (spoolfile.c), writing what they hold (spoolstore.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "lifecycle.h"

#define KIND_NAME_ACTION "action"
#define KIND_NAME_COMMAND "command"

const char *const mig_spool_kinds[MIG_SPOOL_NKINDS] = {
	KIND_NAME_ACTION, KIND_NAME_COMMAND
};

#define DIR_ROW(name, kind, leaf, status) \
	{KIND_NAME_##kind "/" leaf, MIG_KIND_##kind, leaf, status},
#define DIR_PATH(name, kind, leaf, status) KIND_NAME_##kind "/" leaf,

const MigSpoolDir mig_spool_lifecycle[MIG_SPOOL_NDIRS] = {
	MIG_SPOOL_DIR_LIST(DIR_ROW)
};

const char *const mig_spool_dirs[MIG_SPOOL_NDIRS] = {
	MIG_SPOOL_DIR_LIST(DIR_PATH)
};

/*
 * Where a status stands in its kind's lifecycle, in the order MIG's code
 * sets them: an action goes pending (the API) -> scheduled (the
 * scheduler's SetupRunnableActions) -> preparing -> inflight -> a final
 * status; a command prepared -> sent -> a final status.  Listed here are
 * the statuses before the final ones; any other status (MIG's final ones:
 * done and completed, invalid, success, failed, ...; and any status not
 * MIG's) is final, one rank above the highest listed for its kind, and
 * stays: no later file changes a final status (mig_status_kept_sql).
 * NULL (a row written by hand) is below all.
 */
typedef struct StatusRank
{
	MigSpoolKind kind;
	const char *status;
	int			rank;
} StatusRank;

static const StatusRank status_ranks[] = {
	{MIG_KIND_ACTION, "pending", 0},
	{MIG_KIND_ACTION, "scheduled", 1},
	{MIG_KIND_ACTION, "preparing", 2},
	{MIG_KIND_ACTION, "inflight", 3},
	{MIG_KIND_COMMAND, "prepared", 0},
	{MIG_KIND_COMMAND, "sent", 1},
};

#define RANK_NONE (-1)			/* of NULL */

/* the directory <kind>/<leaf>, as spool_files names it; -1: none */
int
mig_spool_dir_find(const char *kind, const char *leaf)
{
	for (int d = 0; d < MIG_SPOOL_NDIRS; d++)
		if (strcmp(mig_spool_lifecycle[d].leaf, leaf) == 0 &&
			strcmp(mig_spool_kinds[mig_spool_lifecycle[d].kind], kind) == 0)
			return d;
	return -1;
}

/* the rank of a final status of kind */
static int
final_rank(MigSpoolKind kind)
{
	int			rank = RANK_NONE;

	for (int i = 0; i < (int) lengthof(status_ranks); i++)
		if (status_ranks[i].kind == kind)
			rank = Max(rank, status_ranks[i].rank);
	return rank + 1;
}

int
mig_status_rank(MigSpoolKind kind, const char *status)
{
	if (status == NULL)
		return RANK_NONE;
	for (int i = 0; i < (int) lengthof(status_ranks); i++)
		if (status_ranks[i].kind == kind && strcmp(status_ranks[i].status, status) == 0)
			return status_ranks[i].rank;
	return final_rank(kind);
}

/*
 * The status a file in directory dir gives its row: the status it holds,
 * raised to the directory's when that is further on in the lifecycle; the
 * directory's when it holds none (NULL if the directory has none either).
 */
const char *
mig_effective_status(int dir, const char *written)
{
	const MigSpoolDir *d = &mig_spool_lifecycle[dir];

	if (written == NULL)
		return d->status;
	if (d->status != NULL &&
		mig_status_rank(d->kind, written) < mig_status_rank(d->kind, d->status))
		return d->status;
	return written;
}

/* the statuses of kind at rank, as an SQL list: 'preparing', 'pending' */
static int
append_statuses(StringInfo buf, MigSpoolKind kind, int rank)
{
	int			n = 0;

	for (int i = 0; i < (int) lengthof(status_ranks); i++)
		if (status_ranks[i].kind == kind && (rank < 0 || status_ranks[i].rank == rank))
			appendStringInfo(buf, "%s%s", n++ > 0 ? ", " : "",
							 quote_literal_cstr(status_ranks[i].status));
	return n;
}

/*
 * mig_status_rank() in SQL, for the ON CONFLICT ... WHERE of the spool
 * sync's statements, made from status_ranks when a statement is planned:
 *
 *	(CASE WHEN x IS NULL THEN -1 WHEN x = 'pending' THEN 0 ...
 *	 WHEN x = 'inflight' THEN 3 ELSE 4 END)
 *
 * Why a CASE written into each statement and not an SQL function
 * mig_status_rank(): a function would need EXECUTE granted to the worker's
 * least-privileged role (mig.worker_role) and to every caller of
 * mig_spool_sync(), and it would not exist in the databases still on mig
 * 1.0 that this library serves until they are updated.
 */
char *
mig_status_rank_sql(MigSpoolKind kind, const char *expr)
{
	StringInfoData buf;
	int			final = final_rank(kind);

	initStringInfo(&buf);
	appendStringInfo(&buf, "(CASE WHEN %s IS NULL THEN %d", expr, RANK_NONE);
	for (int rank = 0; rank < final; rank++)
	{
		StringInfoData list;
		int			n;

		initStringInfo(&list);
		n = append_statuses(&list, kind, rank);
		if (n == 0)
			continue;
		appendStringInfo(&buf, " WHEN %s %s %s%s%s THEN %d", expr, n == 1 ? "=" : "IN",
						 n == 1 ? "" : "(", list.data, n == 1 ? "" : ")", rank);
		pfree(list.data);
	}
	appendStringInfo(&buf, " ELSE %d END)", final);
	return buf.data;
}

/*
 * The status a row takes when a file whose status is excluded (no lower in
 * the lifecycle) updates a row whose status is current: the file's, unless
 * the row's is final already.  A final status is final: done does not
 * replace completed (one rank), nor invalid anything, nor the reverse.
 */
char *
mig_status_kept_sql(MigSpoolKind kind, const char *current, const char *excluded)
{
	return psprintf("(CASE WHEN %s >= %d THEN %s ELSE %s END)",
					mig_status_rank_sql(kind, current), final_rank(kind), current, excluded);
}

/*
 * The statuses of kind below the final ones, as an SQL list ('prepared',
 * 'sent'): a command in one of them has not come back (counters.c).
 */
char *
mig_status_unfinished_sql(MigSpoolKind kind)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_statuses(&buf, kind, -1);
	return buf.data;
}
