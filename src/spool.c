/*-------------------------------------------------------------------------
 *
 * spool.c
 *	  The passes over MIG's spool, one code path for mig_spool_sync() and
 *	  the worker: walk the spool by descriptor, list its eight directories
 *	  (a full pass) or take the files named to it (the worker's inotify
 *	  events, the deferred files), and run them in batches of
 *	  mig.batch_size files.  A batch is: lock, look up what spool_files
 *	  knows of its files, read and validate every file that is new or
 *	  changed (spoolfile.c), write what they hold and record them
 *	  (spoolstore.c), count.  Data flows one way: file -> read -> parse ->
 *	  validate -> upsert.
 *
 *	  A pass walks the spool by descriptor (spooldir.c): the root opened
 *	  once, each directory and file opened by its name in its parent's
 *	  descriptor, never through a symbolic link.  A directory that cannot be
 *	  entered is not read, keeps its files' rows, and gets a failed row of
 *	  its own.
 *
 *	  mig_spool_sync() runs a whole pass in the caller's transaction; the
 *	  worker (worker.c) runs the same pass, one batch of mig.batch_size files
 *	  per transaction, and also passes over just the files inotify named.
 *
 *	  Each batch takes spool_files' SHARE ROW EXCLUSIVE lock first, so
 *	  that two syncs never interleave.
 *
 *	  Not here: opening and listing the directories (spooldir.c);
 *	  reading, parsing and validating one file (spoolfile.c),
 *	  writing a batch (spoolstore.c), the directories and statuses
 *	  (lifecycle.c), the worker's process, inotify and shared memory
 *	  (worker.c), agents' heartbeats (agent.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "schema.h"
#include "spool.h"
#include "spooldir.h"
#include "spoolfile.h"
#include "spoolstore.h"
#include "sql.h"
#include "utils.h"

typedef struct SpoolName
{
	int			dir;
	char	   *name;
} SpoolName;

/* the statements of a pass, their plans kept (see plans) */
typedef enum Stmt
{
	ST_LOOKUP_RANGE,
	ST_LOOKUP_PATHS,
	ST_ATTENTION,
	NUM_STMTS
} Stmt;

struct MigSpoolPass
{
	MemoryContext cxt;
	MemoryContext batch_cxt;
	char	   *spool;			/* canonical, no trailing slash */
	bool		full;
	int			batch_size;
	int64		max_bytes;
	bool		nowait;			/* give way rather than wait for a lock */
	int			schema_version; /* of the extension, read by each batch */

	/* a full pass: one directory listed at a time */
	int			dir;
	bool		dir_done;
	MigSpoolListed *names;
	int			nnames;
	int			pos;
	char	   *range_lo;

	/* a pass over named files */
	SpoolName  *items;
	int			nitems;
	int			maxitems;
	int			itempos;
	bool		sorted;

	/*
	 * The descriptors the pass holds, each reported to PostgreSQL
	 * (AcquireExternalFD) and closed by mig_spool_pass_end whatever
	 * happened: the directories and a listing under way (spooldir.c), and
	 * a file being read.
	 */
	MigSpoolTree tree;
	int			file_fd;

	MigSpoolCounts counts;
};

/* ------------------------------------------------------------------------
 * The lookups' plans
 * ------------------------------------------------------------------------
 */

/* the statement which, for the plan cache (sql.h) */
static char *
stmt_sql(int which, Oid *types, int *nargs)
{
	const char *files = mig_qualified_name("spool_files");

	switch ((Stmt) which)
	{
		case ST_LOOKUP_RANGE:
			types[0] = types[1] = types[2] = TEXTOID;
			*nargs = 3;
			return psprintf("SELECT path, inode, size, mtime, outcome FROM %s "
							"WHERE path > $1 COLLATE \"C\" AND path <= $2 COLLATE \"C\" "
							"AND path < $3 COLLATE \"C\" ORDER BY path", files);
		case ST_LOOKUP_PATHS:
			types[0] = TEXTARRAYOID;
			*nargs = 1;
			return psprintf("SELECT f.path, f.inode, f.size, f.mtime, f.outcome FROM %s AS f "
							"WHERE f.path OPERATOR(pg_catalog.=) ANY ($1::text[] COLLATE \"C\") "
							"ORDER BY f.path", files);
		case ST_ATTENTION:
			types[0] = TEXTOID;
			*nargs = 1;
			return psprintf("SELECT pg_catalog.count(*) FILTER (WHERE outcome OPERATOR(pg_catalog.=) 'deferred'), "
							"pg_catalog.count(*) FILTER (WHERE outcome OPERATOR(pg_catalog.=) 'failed') FROM %s "
							"WHERE spool OPERATOR(pg_catalog.=) $1 "
							"AND outcome OPERATOR(pg_catalog.=) ANY (ARRAY['deferred', 'failed'])",
							files);
		case NUM_STMTS:
			break;
	}
	elog(ERROR, "unknown spool statement %d", which);
	return NULL;				/* keep compiler quiet */
}

/*
 * The plans of the batch's lookups, made on first use and kept while the
 * extension's relations are the same (sql.h), generic, as the writes'
 * (spoolstore.c), and without sequential scans: spool_files is empty when
 * a spool is new, and may hold millions of rows a while later.
 */
static MigPlans plans = MIG_KEYED_PLANS(NUM_STMTS, stmt_sql, CURSOR_OPT_GENERIC_PLAN,
										MIG_PLAN_BIT(ST_LOOKUP_RANGE) |
										MIG_PLAN_BIT(ST_LOOKUP_PATHS) |
										MIG_PLAN_BIT(ST_ATTENTION));

/* the plans of a pass's statements; the worker forgets them after an error */
void
mig_spool_forget_plans(void)
{
	mig_forget_plans(&plans);
	mig_spool_store_forget_plans();
}

static int64
spi_int64(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);

	if (*isnull)
		return 0;
	return DatumGetInt64(d);
}

/* ------------------------------------------------------------------------
 * One batch
 * ------------------------------------------------------------------------
 */

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(((const SpoolFile *) a)->path, ((const SpoolFile *) b)->path);
}

/* one sync at a time: a batch, or a directory's row, holds this lock */
static void
lock_spool_files(void)
{
	if (SPI_execute(psprintf("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE",
							 mig_qualified_name("spool_files")),
					false, 0) < 0)
		elog(ERROR, "could not lock spool_files");
}

/*
 * 1. Lock.  One sync at a time: the counters need every command of the
 * batch.  Waiting for this lock is safe, nothing else is held yet.  The
 * worker then takes the tables it writes without waiting: should a DROP
 * EXTENSION hold one, the batch gives way at once instead of waiting for a
 * lock while holding one the DROP needs.
 */
static void
lock_tables(MigSpoolPass *pass)
{
	lock_spool_files();
	if (pass->nowait &&
		(SPI_execute(psprintf("LOCK TABLE %s, %s IN ROW EXCLUSIVE MODE NOWAIT",
							  mig_qualified_name("actions"), mig_qualified_name("commands")),
					 false, 0) < 0 ||
		 SPI_execute(psprintf("LOCK TABLE %s IN ACCESS SHARE MODE NOWAIT",
							  mig_qualified_name("agents")),
					 false, 0) < 0))
		elog(ERROR, "could not lock the tables");
}

/*
 * 2. What spool_files knows of these files: the rows of the part of
 * directory dir the batch covers (paths > lo and <= hi, hi NULL for the
 * rest of the directory), or, without lo, the rows of the files' paths.
 * Sorted by path; false when there is nothing to look up.
 */
static bool
lookup_rows(MigSpoolPass *pass, SpoolFile *files, int n, int dir,
			const char *lo, const char *hi)
{
	Datum		values[3];

	if (lo != NULL)
	{
		char	   *dir_end = mig_spool_path(pass->spool, psprintf("%s0", mig_spool_dirs[dir]));

		values[0] = CStringGetTextDatum(lo);
		values[1] = CStringGetTextDatum(hi ? hi : dir_end);
		values[2] = CStringGetTextDatum(dir_end);
		mig_run_plan(&plans, ST_LOOKUP_RANGE, values, NULL, false, 0);
	}
	else if (n > 0)
	{
		MigArray	paths;

		mig_array_init(&paths, TEXTOID, n);
		for (int i = 0; i < n; i++)
			mig_array_add_text(&paths, files[i].path);
		values[0] = mig_array_datum(&paths);
		mig_run_plan(&plans, ST_LOOKUP_PATHS, values, NULL, false, 0);
	}
	else
		return false;
	return true;
}

/*
 * Merge the rows looked up (sorted) with the files (sorted).  In a range,
 * a row that names no listed file is for a file gone since: into gone.
 */
static void
merge_rows(SpoolFile *files, int n, bool ranged, MigArray *gone)
{
	int			fi = 0;

	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		char	   *path = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		int			c = 1;

		while (fi < n && (c = strcmp(files[fi].path, path)) < 0)
			fi++;
		if (fi < n && c == 0)
		{
			SpoolFile  *f = &files[fi];
			bool		isnull;
			char	   *outcome;

			f->has_row = true;
			f->row_inode = spi_int64(r, 2, &isnull);
			f->row_stat = !isnull;
			f->row_size = spi_int64(r, 3, &isnull);
			f->row_mtime = DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull));
			f->row_stat = f->row_stat && !isnull;
			outcome = SPI_getvalue(tup, SPI_tuptable->tupdesc, 5);
			f->row_deferred = strcmp(outcome, "deferred") == 0;
			f->row_failed = strcmp(outcome, "failed") == 0;
			fi++;
		}
		else if (ranged)
			mig_array_add_text(gone, path); /* listed no more: the file went away */
	}
}

/* 3. read, parse and validate, each file in the directory the pass opened */
static void
examine_files(MigSpoolPass *pass, SpoolFile *files, int n)
{
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		mig_spool_examine_file(&files[i], pass->tree.dirs[MIG_SPOOL_ID_DIR(files[i].dir)].fd,
							   pass->max_bytes, &pass->file_fd);
	}
}

/*
 * 6. count the outcomes, for the pass and, what changed since
 * spool_files last said, for NOTIFY
 */
static void
count_outcomes(MigSpoolPass *pass, SpoolFile *files, int n, BatchNotes *notes)
{
	for (int i = 0; i < n; i++)
	{
		switch (files[i].outcome)
		{
			case OUT_INGESTED:
				pass->counts.ingested++;
				notes->ingested++;
				break;
			case OUT_SKIPPED:

				/*
				 * Not read again, but a file that failed before is still a
				 * bad file: the pass says so, as spool_files does.  Not a
				 * change to notify.
				 */
				if (files[i].row_failed)
					pass->counts.failed++;
				else
					pass->counts.unchanged++;
				break;
			case OUT_UNCHANGED:
				pass->counts.unchanged++;
				break;
			case OUT_DEFERRED:
				pass->counts.deferred++;
				if (!files[i].has_row || !files[i].row_deferred)
					notes->deferred++;
				break;
			case OUT_FAILED:
				pass->counts.failed++;
				if (!files[i].has_row || !files[i].row_failed)
					notes->failed++;
				break;
			case OUT_VANISHED:
				continue;
			case OUT_NONE:
				Assert(false);
				break;
		}
		pass->counts.scanned++;
	}
}

/*
 * Process files[0..n-1], sorted by path, in the caller's SPI connection.
 * For a batch of a full pass, range_lo/range_hi bound the part of its
 * directory the batch covers (paths > lo and <= hi, hi NULL for the rest
 * of the directory): rows there that name no listed file are for files
 * gone since, and are deleted.  For named files, both are NULL and rows
 * are looked up by path.
 */
static void
run_batch(MigSpoolPass *pass, SpoolFile *files, int n, int dir,
		  const char *range_lo, const char *range_hi)
{
	MigArray	gone;
	BatchNotes	notes;

	memset(&notes, 0, sizeof(notes));
	mig_array_init(&gone, TEXTOID, n + 16);
	pass->schema_version = mig_schema_version();

	lock_tables(pass);
	if (!lookup_rows(pass, files, n, dir, range_lo, range_hi))
		return;
	merge_rows(files, n, range_lo != NULL, &gone);
	examine_files(pass, files, n);

	/* 4. store what the files hold; 5. record the files (spoolstore.c) */
	mig_spool_store_batch(files, n, pass->schema_version, &notes);
	mig_spool_record_files(pass->spool, files, n, &gone);

	count_outcomes(pass, files, n, &notes);
	notes.removed = gone.n;
	pass->counts.removed += gone.n;
	mig_spool_notify(&notes);
}

/* ------------------------------------------------------------------------
 * Passes
 * ------------------------------------------------------------------------
 */

MigSpoolPass *
mig_spool_pass_begin(const char *spool, bool full, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "mig spool pass",
											  ALLOCSET_DEFAULT_SIZES);
	MigSpoolPass *pass = MemoryContextAllocZero(cxt, sizeof(MigSpoolPass));
	char	   *canon = MemoryContextStrdup(cxt, spool);

	canonicalize_path(canon);
	pass->cxt = cxt;
	pass->batch_cxt = AllocSetContextCreate(cxt, "mig spool batch", ALLOCSET_DEFAULT_SIZES);
	pass->spool = canon;
	pass->full = full;
	pass->dir = -1;
	pass->dir_done = true;
	pass->batch_size = mig_batch_size;
	pass->max_bytes = (int64) mig_max_file_size * 1024;
	mig_spool_tree_init(&pass->tree, canon, full, cxt);
	pass->file_fd = -1;
	return pass;
}

/*
 * End a pass, finished or not: also what an error path calls, so it closes
 * every descriptor the pass still holds.
 */
void
mig_spool_pass_end(MigSpoolPass *pass)
{
	mig_spool_tree_end(&pass->tree);
	mig_spool_release_fd(&pass->file_fd);
	MemoryContextDelete(pass->cxt);
}

/*
 * The directories the pass opened, as MigSpoolDirIds (ino 0: not opened);
 * false if it could not open the spool itself.  ids may be NULL.
 */
bool
mig_spool_pass_dirs(MigSpoolPass *pass, MigSpoolDirId *ids)
{
	if (ids != NULL)
		for (int i = 0; i < MIG_SPOOL_NIDS; i++)
			ids[i] = pass->tree.dirs[i].id;
	return pass->tree.root_errno == 0;
}

/*
 * The last directory the pass could not enter since the last call, as the
 * WARNING said it, or NULL; for the worker's last_error.
 */
char *
mig_spool_pass_problem(MigSpoolPass *pass)
{
	char	   *problem = pass->tree.problem;

	pass->tree.problem = NULL;
	return problem;
}

const MigSpoolCounts *
mig_spool_pass_counts(MigSpoolPass *pass)
{
	return &pass->counts;
}

/* the worker's passes never wait for a lock on the tables they write */
void
mig_spool_pass_nowait(MigSpoolPass *pass)
{
	pass->nowait = true;
}

/* files known to be waiting in this pass (the rest of a full pass is not) */
int64
mig_spool_pass_backlog(MigSpoolPass *pass)
{
	if (pass->full)
		return pass->nnames - pass->pos;
	return pass->nitems - pass->itempos;
}

void
mig_spool_pass_add(MigSpoolPass *pass, int dir, const char *name)
{
	Assert(!pass->full && dir >= 0 && dir < MIG_SPOOL_NDIRS);
	if (pass->nitems == pass->maxitems)
	{
		pass->maxitems = Max(64, pass->maxitems * 2);
		if (pass->items == NULL)
			pass->items = MemoryContextAlloc(pass->cxt, sizeof(SpoolName) * pass->maxitems);
		else
			pass->items = repalloc(pass->items, sizeof(SpoolName) * pass->maxitems);
	}
	pass->items[pass->nitems].dir = dir;
	pass->items[pass->nitems].name = MemoryContextStrdup(pass->cxt, name);
	pass->nitems++;
	pass->sorted = false;
}

/*
 * Add the deferred files of the pass's spool, at most limit of them, the
 * first after path after (NULL: from the start).  Returns the last path
 * added, or NULL when the end was reached.  Needs a transaction.
 */
char *
mig_spool_pass_add_deferred(MigSpoolPass *pass, const char *after, int limit)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3];
	char	   *last = NULL;
	int			spi;

	values[0] = CStringGetTextDatum(pass->spool);
	values[1] = CStringGetTextDatum(after ? after : "");
	values[2] = Int32GetDatum(limit);
	spi = mig_spi_connect();
	if (SPI_execute_with_args(psprintf("SELECT kind, dir, path FROM %s "
									   "WHERE spool = $1 AND outcome = 'deferred' AND path > $2 "
									   "ORDER BY path LIMIT $3",
									   mig_qualified_name("spool_files")),
							  3, types, values, NULL, true, 0) < 0)
		elog(ERROR, "could not read spool_files");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *dir = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		char	   *path = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3);
		char	   *slash = strrchr(path, '/');
		int			d = mig_spool_dir_find(kind, dir);

		if (d >= 0)
			mig_spool_pass_add(pass, d, slash + 1);
		if (r + 1 == (uint64) limit)
			last = MemoryContextStrdup(pass->cxt, path);
	}
	mig_spi_finish(spi);
	return last;
}

static int
cmp_items(const void *a, const void *b)
{
	const SpoolName *x = a;
	const SpoolName *y = b;
	int			c = strcmp(mig_spool_dirs[x->dir], mig_spool_dirs[y->dir]);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/*
 * List directory d of a full pass into pass->names, sorted: true if it was
 * listed.  One that does not exist, cannot be entered or cannot be read is
 * not listed, and its rows are left alone (spooldir.c).
 */
static bool
list_dir(MigSpoolPass *pass, int d)
{
	pass->pos = 0;
	pass->range_lo = NULL;
	return mig_spool_tree_list(&pass->tree, d, &pass->names, &pass->nnames);
}

/*
 * The row of directory d itself in spool_files (path <spool>/command/ready):
 * a failed row saying why while it cannot be entered, counted as one failed
 * file; none once it can, or no longer exists (spoolstore.c).  Runs in a
 * full pass, connected to SPI, under the same lock as a batch.
 */
static void
record_dir(MigSpoolPass *pass, int d)
{
	const char *problem = pass->tree.dirs[MIG_SPOOL_ID_DIR(d)].problem;
	BatchNotes	notes;

	memset(&notes, 0, sizeof(notes));
	lock_spool_files();
	mig_spool_record_dir(pass->spool, mig_spool_path(pass->spool, mig_spool_dirs[d]), d, problem,
						 &notes);
	if (problem == NULL)
		pass->counts.removed += notes.removed;
	else
	{
		pass->counts.failed++;
		pass->counts.scanned++;
	}
	mig_spool_notify(&notes);
}

/* record_dir in a connection to SPI of its own */
static void
record_dir_alone(MigSpoolPass *pass, int d)
{
	MemoryContext old = CurrentMemoryContext;
	int			spi = mig_spi_connect();

	MemoryContextSwitchTo(pass->batch_cxt);
	record_dir(pass, d);
	mig_spi_finish(spi);
	MemoryContextSwitchTo(old);
}

/* on to the next directory of a full pass that can be listed; false: done */
static bool
next_listed_dir(MigSpoolPass *pass)
{
	while (pass->dir_done)
	{
		if (pass->dir + 1 >= MIG_SPOOL_NDIRS)
			return false;
		pass->dir++;
		pass->dir_done = !list_dir(pass, pass->dir);
		if (pass->dir_done)
			record_dir_alone(pass, pass->dir);
	}
	return true;
}

/*
 * The next batch of a full pass: the next names of the directory being
 * listed, with the range of paths it covers, and, with the directory's
 * first batch, the directory's own row.  False when the pass is done.
 */
static bool
step_full(MigSpoolPass *pass)
{
	int			dir;
	int			n;
	SpoolFile  *files;
	char	   *lo;
	char	   *hi = NULL;
	bool		first;
	bool		last;
	int			spi;

	if (!next_listed_dir(pass))
		return false;
	dir = pass->dir;
	n = Min(pass->batch_size, pass->nnames - pass->pos);
	first = pass->pos == 0;
	last = pass->pos + n == pass->nnames;
	files = palloc0(sizeof(SpoolFile) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		files[i].dir = dir;
		files[i].name = pass->names[pass->pos + i].name;
		files[i].listed_regular = pass->names[pass->pos + i].regular;
		files[i].path = mig_spool_file_path(pass->spool, dir, files[i].name);
	}
	lo = pass->range_lo ? pass->range_lo :
		mig_spool_path(pass->spool, psprintf("%s/", mig_spool_dirs[dir]));
	if (!last)
		hi = files[n - 1].path;

	spi = mig_spi_connect();
	MemoryContextSwitchTo(pass->batch_cxt);
	run_batch(pass, files, n, dir, lo, hi);
	if (first)
		record_dir(pass, dir);
	mig_spi_finish(spi);

	pass->pos += n;
	if (last)
	{
		pass->dir_done = true;
		mig_spool_release_fd(&pass->tree.dirs[MIG_SPOOL_ID_DIR(dir)].fd);
		pfree(pass->names);
		pass->names = NULL;
		pass->nnames = pass->pos = 0;
		pass->range_lo = NULL;
	}
	else
		pass->range_lo = MemoryContextStrdup(pass->cxt, hi);
	return !(last && pass->dir == MIG_SPOOL_NDIRS - 1);
}

/* the named files, sorted by path, duplicates dropped */
static void
sort_items(MigSpoolPass *pass)
{
	int			m = 0;

	qsort(pass->items, pass->nitems, sizeof(SpoolName), cmp_items);
	for (int i = 0; i < pass->nitems; i++)
	{
		if (m > 0 && pass->items[m - 1].dir == pass->items[i].dir &&
			strcmp(pass->items[m - 1].name, pass->items[i].name) == 0)
			continue;
		pass->items[m++] = pass->items[i];
	}
	pass->nitems = m;
	pass->sorted = true;
}

/* the next batch of a pass over named files; false when none is left */
static bool
step_named(MigSpoolPass *pass)
{
	SpoolFile  *files;
	int			n;
	int			m = 0;
	int			spi;

	if (!pass->sorted)
		sort_items(pass);
	if (pass->itempos >= pass->nitems)
		return false;
	n = Min(pass->batch_size, pass->nitems - pass->itempos);
	files = palloc0(sizeof(SpoolFile) * n);
	for (int i = 0; i < n; i++)
	{
		SpoolName  *it = &pass->items[pass->itempos + i];

		/* in a directory that cannot be entered: not read, its row kept */
		if (mig_spool_tree_fd(&pass->tree, MIG_SPOOL_ID_DIR(it->dir)) < 0)
			continue;
		files[m].dir = it->dir;
		files[m].name = it->name;
		files[m].path = mig_spool_file_path(pass->spool, it->dir, it->name);
		m++;
	}
	qsort(files, m, sizeof(SpoolFile), cmp_path);

	if (m > 0)
	{
		spi = mig_spi_connect();
		MemoryContextSwitchTo(pass->batch_cxt);
		run_batch(pass, files, m, -1, NULL, NULL);
		mig_spi_finish(spi);
	}

	pass->itempos += n;
	return pass->itempos < pass->nitems;
}

/*
 * Run the pass's next batch in the current transaction.  Returns false when
 * the pass has nothing left to do.
 */
bool
mig_spool_pass_step(MigSpoolPass *pass)
{
	MemoryContext old;
	bool		more;

	if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the spool sync needs a UTF8 database"),
				 errdetail("MIG's files are UTF-8; this database's encoding is %s.",
						   GetDatabaseEncodingName())));

	MemoryContextReset(pass->batch_cxt);
	old = MemoryContextSwitchTo(pass->batch_cxt);

	/* the spool, opened once: what cannot be opened deletes nothing */
	if ((pass->full || pass->itempos < pass->nitems) && !mig_spool_tree_open_root(&pass->tree))
	{
		pass->itempos = pass->nitems;
		more = false;
	}
	else if (pass->full)
		more = step_full(pass);
	else
		more = step_named(pass);
	MemoryContextSwitchTo(old);
	return more;
}

/* deferred and failed files of a spool, for the worker's status */
void
mig_spool_attention(const char *spool, int64 *deferred, int64 *failed)
{
	Datum		value = CStringGetTextDatum(spool);
	bool		isnull;
	int			spi;

	spi = mig_spi_connect();
	mig_run_plan(&plans, ST_ATTENTION, &value, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "could not count spool_files");
	*deferred = spi_int64(0, 1, &isnull);
	*failed = spi_int64(0, 2, &isnull);
	mig_spi_finish(spi);
}

/* ------------------------------------------------------------------------
 * SQL: mig_spool_sync(spool_dir text DEFAULT NULL)
 * ------------------------------------------------------------------------
 */

/* reading the spool is reading server files */
void
mig_spool_check_privilege(void)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read the spool"),
				 errdetail("Reading the spool reads files on the server."),
				 errhint("Only superusers and roles with the privileges of "
						 "pg_read_server_files may do this.")));
}

PG_FUNCTION_INFO_V1(mig_spool_sync);
Datum
mig_spool_sync(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *spool;
	struct stat st;
	MigSpoolPass *volatile pass;
	Datum		values[5];
	bool		nulls[5] = {false};
	const MigSpoolCounts *c;

	mig_spool_check_privilege();
	spool = PG_ARGISNULL(0) ? pstrdup(mig_spool_dir) : text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (spool[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spool directory must be an absolute path: \"%s\"", spool)));
	if (stat(spool, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open spool directory \"%s\": %m", spool),
				 errhint("mig.spool_dir, or the argument, names the MIG scheduler's spool.")));
	if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spool directory \"%s\" is not a directory", spool)));

	InitMaterializedSRF(fcinfo, 0);
	pass = mig_spool_pass_begin(spool, true, CurrentMemoryContext);
	PG_TRY();
	{
		while (mig_spool_pass_step(pass))
			CHECK_FOR_INTERRUPTS();
		/* gone since the stat above, or not ours to open */
		if (pass->tree.root_errno != 0)
		{
			errno = pass->tree.root_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open spool directory \"%s\": %m", spool),
					 errhint("mig.spool_dir, or the argument, names the MIG scheduler's spool.")));
		}
	}
	PG_CATCH();
	{
		mig_spool_pass_end(pass);
		mig_spool_forget_plans();
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* the pass and its descriptors end before anything else can fail */
	c = mig_spool_pass_counts(pass);
	values[0] = Int64GetDatum(c->scanned);
	values[1] = Int64GetDatum(c->ingested);
	values[2] = Int64GetDatum(c->unchanged);
	values[3] = Int64GetDatum(c->deferred);
	values[4] = Int64GetDatum(c->failed);
	mig_spool_pass_end(pass);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
