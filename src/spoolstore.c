/*-------------------------------------------------------------------------
 *
 * spoolstore.c
 *	  Writing a batch of spool files: what the files hold into actions and
 *	  commands, and every file into spool_files.  The files arrive read,
 *	  parsed and validated (spoolfile.c); the caller holds spool_files'
 *	  SHARE ROW EXCLUSIVE lock and an SPI connection (spool.c).
 *
 *	  A batch is written set-wise, one statement per table, with the
 *	  columns passed as arrays (MigArray, utils.h) to saved generic plans.
 *	  What differs between the kinds of file (actions, commands) is one row
 *	  each in kinds[]; the steps are the same for all (store_kind).  First
 *	  what the files name is looked up (a command whose agent is not known
 *	  yet is deferred); then, in one subtransaction, each kind in turn (the
 *	  action files; the actions commands embed where no row exists yet, then
 *	  the commands), and, for a database still on mig 1.0, the counters of
 *	  the actions touched (counters.c; 1.1 has triggers for that).  A file
 *	  updates a row only if its status is at least as far on in the
 *	  lifecycle (the ON CONFLICT ... WHERE of the statements, by the ranks
 *	  of lifecycle.c).  Should the database refuse the batch (a trigger, a
 *	  constraint), every file is written again in a subtransaction of its
 *	  own, so that only the file at fault fails.  Then every file is
 *	  recorded in spool_files, and NOTIFY mig_spool says what changed.
 *
 *	  Not here: reading files (spoolfile.c), walking the spool, listing
 *	  and locking (spool.c), the directories and statuses (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "counters.h"
#include "gotime.h"
#include "lifecycle.h"
#include "schema.h"
#include "spoolstore.h"
#include "sql.h"

/* spool_files.outcome of what a batch records */
static const char *const outcome_name[] = {
	[OUT_INGESTED] = "ingested",
	[OUT_UNCHANGED] = "unchanged",
	[OUT_DEFERRED] = "deferred",
	[OUT_FAILED] = "failed",
	[OUT_VANISHED] = NULL
};

/* ------------------------------------------------------------------------
 * The statements
 * ------------------------------------------------------------------------
 */

typedef enum Stmt
{
	ST_AGENT_IDS,
	ST_AGENT_LOCS,
	ST_SIGNED_DIFFERS,
	ST_ACTIONS,
	ST_ACTIONS_MISSING,
	ST_COMMANDS,
	ST_COMMANDS_FILL,
	ST_ACTION_ROWS,
	ST_COMMAND_ROWS,
	ST_FILES_INSERT,
	ST_FILES_UPDATE,
	ST_FILES_DELETE,
	ST_DIR_DELETE,
	ST_DIR_OUTCOME,
	ST_DIR_INSERT,
	ST_DIR_UPDATE,
	ST_NOTIFY,
	NUM_STMTS
} Stmt;

/*
 * The element types of the statements' array parameters: an action's
 * columns, a command's, a spool_files row's.
 */
static const Oid action_types[14] = {
	NUMERICOID, TEXTOID, TEXTOID, JSONOID, JSONOID, JSONOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID,
	JSONOID, INT4OID
};
static const Oid command_types[7] = {
	NUMERICOID, NUMERICOID, NUMERICOID, TEXTOID, JSONOID, TIMESTAMPTZOID, TIMESTAMPTZOID
};
static const Oid file_types[10] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID,
	TEXTOID, TEXTOID, NUMERICOID
};

#define ACTION_COLUMNS \
	"id, name, target, description, threat, operations, validfrom, expireafter, " \
	"starttime, finishtime, lastupdatetime, status, pgpsignatures, syntaxversion"
/*
 * The action columns as a row takes them from the unnested arrays: a time
 * a file leaves unset is stored as MIG stores it, Go's zero time.
 */
#define ACTION_VALUES \
	"u.id, u.name, u.target, u.description, u.threat, u.operations, u.validfrom, " \
	"u.expireafter, coalesce(u.starttime, " MIG_GO_ZERO_SQL "), " \
	"coalesce(u.finishtime, " MIG_GO_ZERO_SQL "), " \
	"coalesce(u.lastupdatetime, " MIG_GO_ZERO_SQL "), u.status, u.pgpsignatures, " \
	"u.syntaxversion"
/* a time a later file sets (not Go's zero) replaces the row's */
#define SET_TIME(row, col) \
	"(CASE WHEN excluded." col " = " MIG_GO_ZERO_SQL " THEN " row "." col \
	" ELSE excluded." col " END)"
#define ACTION_UNNEST \
	"unnest($1::numeric[], $2::text[], $3::text[], $4::json[], $5::json[], $6::json[], " \
	"$7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], " \
	"$11::timestamptz[], $12::text[], $13::json[], $14::int4[]) AS u(" ACTION_COLUMNS ")"
#define FILE_UNNEST \
	"unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], " \
	"$7::timestamptz[], $8::text[], $9::text[], $10::numeric[])"

/* the parameters are arrays of these element types */
static void
array_params(const Oid *elemtypes, int n, Oid *types, int *nargs)
{
	for (int i = 0; i < n; i++)
		types[i] = get_array_type(elemtypes[i]);
	*nargs = n;
}

/*
 * An action's signed fields (name, target, validity, operations,
 * signatures) never change once stored: a later file gives them only where
 * the row has none (MIG's scheduler writes action/done/ from an action's
 * metadata alone, without its target, operations and signatures: JSON
 * null, where an empty array is a value like any other).  A file
 * whose signed fields differ from the row's is refused before this
 * (ST_SIGNED_DIFFERS); validfrom and expireafter, NOT NULL, are the row's.
 */
#define KEPT_TEXT(col) "coalesce(nullif(a." col "::text, ''), excluded." col ")"
#define KEPT_JSON(col) \
	"(CASE WHEN a." col " IS NULL OR a." col "::text = 'null' " \
	"THEN coalesce(excluded." col ", a." col ") ELSE a." col " END)"

/*
 * Whether a file's signed fields differ from the row's: compared where both
 * have the field, times at the second the signed string keeps, JSON as
 * jsonb (whitespace and key order aside) where the text differs.
 */
#define SIGNED_TEXT_DIFFERS(col) \
	"(u." col " <> '' AND a." col "::text <> '' AND u." col " <> a." col "::text)"
#define SIGNED_TIME_DIFFERS(col) \
	"floor(extract(epoch FROM u." col ")) <> floor(extract(epoch FROM a." col "))"
#define SIGNED_JSON_DIFFERS(col) \
	"(CASE WHEN u." col " IS NULL OR a." col " IS NULL " \
	"OR u." col "::text = 'null' OR a." col "::text = 'null' " \
	"OR u." col "::text = a." col "::text THEN false " \
	"ELSE u." col "::jsonb <> a." col "::jsonb END)"

/*
 * actions where no row exists, and nothing else: those commands embed (a
 * row is never overwritten from a copy), and, when MIG's scheduler writes
 * the database too, the rows it has not written
 */
static char *
actions_missing_sql(void)
{
	return psprintf("INSERT INTO %s AS a (" ACTION_COLUMNS ", %s) "
					"SELECT " ACTION_VALUES ", %s FROM " ACTION_UNNEST " "
					"ON CONFLICT (id) DO NOTHING RETURNING id", mig_qualified_name("actions"),
					mig_counter_columns_sql(), mig_counter_zeros_sql());
}

/* actions: a file's action replaces the row unless the row is further on */
static char *
actions_sql(void)
{
	char	   *kept = mig_status_kept_sql(MIG_KIND_ACTION, "a.status", "excluded.status");

	return psprintf("INSERT INTO %s AS a (" ACTION_COLUMNS ", %s) "
					"SELECT " ACTION_VALUES ", %s FROM " ACTION_UNNEST " "
					"ON CONFLICT (id) DO UPDATE SET "
					"name = " KEPT_TEXT("name") ", target = " KEPT_TEXT("target") ", "
					"description = coalesce(excluded.description, a.description), "
					"threat = coalesce(excluded.threat, a.threat), "
					"operations = " KEPT_JSON("operations") ", "
					"starttime = " SET_TIME("a", "starttime") ", "
					"finishtime = " SET_TIME("a", "finishtime") ", "
					"lastupdatetime = " SET_TIME("a", "lastupdatetime") ", "
					"status = %s, "
					"pgpsignatures = " KEPT_JSON("pgpsignatures") ", "
					"syntaxversion = coalesce(excluded.syntaxversion, a.syntaxversion) "
					"WHERE %s >= %s "
					"AND (a.name, a.target, a.description::text, a.threat::text, "
					"a.operations::text, a.validfrom, a.expireafter, a.starttime, "
					"a.finishtime, a.lastupdatetime, a.status, a.pgpsignatures::text, "
					"a.syntaxversion) IS DISTINCT FROM "
					"(" KEPT_TEXT("name") ", " KEPT_TEXT("target") ", "
					"coalesce(excluded.description, a.description)::text, "
					"coalesce(excluded.threat, a.threat)::text, "
					KEPT_JSON("operations") "::text, "
					"a.validfrom, a.expireafter, "
					SET_TIME("a", "starttime") ", "
					SET_TIME("a", "finishtime") ", "
					SET_TIME("a", "lastupdatetime") ", "
					"%s::varchar, "
					KEPT_JSON("pgpsignatures") "::text, "
					"coalesce(excluded.syntaxversion, a.syntaxversion)) "
					"RETURNING id", mig_qualified_name("actions"),
					mig_counter_columns_sql(), mig_counter_zeros_sql(), kept,
					mig_status_rank_sql(MIG_KIND_ACTION, "excluded.status"),
					mig_status_rank_sql(MIG_KIND_ACTION, "a.status"), kept);
}

#define COMMAND_INSERT \
	"INSERT INTO %s AS c (id, actionid, agentid, status, results, starttime, finishtime) " \
	"SELECT u.id, u.actionid, u.agentid, u.status, u.results, u.starttime, " \
	"coalesce(u.finishtime, " MIG_GO_ZERO_SQL ") " \
	"FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], " \
	"$4::text[], $5::json[], $6::timestamptz[], $7::timestamptz[]) " \
	"AS u(id, actionid, agentid, status, results, starttime, finishtime) "

/* commands, when MIG's scheduler writes the database too: the missing ones */
static char *
commands_fill_sql(void)
{
	return psprintf(COMMAND_INSERT "ON CONFLICT (id) DO NOTHING RETURNING id",
					mig_qualified_name("commands"));
}

/* commands: the same, by the commands' ranks */
static char *
commands_sql(void)
{
	char	   *kept = mig_status_kept_sql(MIG_KIND_COMMAND, "c.status", "excluded.status");

	return psprintf(COMMAND_INSERT
					"ON CONFLICT (id) DO UPDATE SET "
					"actionid = excluded.actionid, agentid = excluded.agentid, "
					"status = %s, "
					"results = coalesce(excluded.results, c.results), "
					"starttime = excluded.starttime, "
					"finishtime = " SET_TIME("c", "finishtime") " "
					"WHERE %s >= %s "
					"AND (c.actionid, c.agentid, c.status, c.results::text, c.starttime, "
					"c.finishtime) IS DISTINCT FROM (excluded.actionid, excluded.agentid, "
					"%s::varchar, coalesce(excluded.results, c.results)::text, "
					"excluded.starttime, " SET_TIME("c", "finishtime") ") "
					"RETURNING id", mig_qualified_name("commands"), kept,
					mig_status_rank_sql(MIG_KIND_COMMAND, "excluded.status"),
					mig_status_rank_sql(MIG_KIND_COMMAND, "c.status"), kept);
}

/* the statement which, for the plan cache (sql.h) */
static char *
stmt_sql(int which, Oid *types, int *nargs)
{
	const char *files = mig_qualified_name("spool_files");
	const char *agents = mig_qualified_name("agents");

	/* text parameters, one unless said: a directory's row has five */
	for (int i = 0; i < 5; i++)
		types[i] = TEXTOID;
	*nargs = 1;
	switch ((Stmt) which)
	{
		case ST_AGENT_IDS:
			types[0] = NUMERICARRAYOID;
			return psprintf("SELECT a.id FROM unnest($1::numeric[]) AS t(id) "
							"JOIN %s AS a ON a.id = t.id", agents);
		case ST_AGENT_LOCS:
			/* one agent per queue location: the one heard from last */
			types[0] = TEXTARRAYOID;
			return psprintf("SELECT DISTINCT ON (a.queueloc) a.queueloc::text, a.id "
							"FROM (SELECT DISTINCT q FROM unnest($1::text[]) AS q) AS t "
							"JOIN %s AS a ON a.queueloc = t.q "
							"ORDER BY a.queueloc, a.heartbeattime DESC, a.id DESC", agents);
		case ST_SIGNED_DIFFERS:
			array_params(action_types, lengthof(action_types), types, nargs);
			return psprintf("SELECT u.id FROM " ACTION_UNNEST " JOIN %s AS a ON a.id = u.id "
							"WHERE " SIGNED_TEXT_DIFFERS("name") " OR "
							SIGNED_TEXT_DIFFERS("target") " OR "
							SIGNED_TIME_DIFFERS("validfrom") " OR "
							SIGNED_TIME_DIFFERS("expireafter") " OR "
							SIGNED_JSON_DIFFERS("operations") " OR "
							SIGNED_JSON_DIFFERS("pgpsignatures"),
							mig_qualified_name("actions"));
		case ST_ACTIONS:
			array_params(action_types, lengthof(action_types), types, nargs);
			return actions_sql();
		case ST_ACTIONS_MISSING:
			array_params(action_types, lengthof(action_types), types, nargs);
			return actions_missing_sql();
		case ST_ACTION_ROWS:
			types[0] = NUMERICARRAYOID;
			return psprintf("SELECT a.id FROM unnest($1::numeric[]) AS t(id) "
							"JOIN %s AS a ON a.id = t.id", mig_qualified_name("actions"));
		case ST_COMMAND_ROWS:
			types[0] = NUMERICARRAYOID;
			return psprintf("SELECT c.id FROM unnest($1::numeric[]) AS t(id) "
							"JOIN %s AS c ON c.id = t.id", mig_qualified_name("commands"));
		case ST_COMMANDS:
			array_params(command_types, lengthof(command_types), types, nargs);
			return commands_sql();
		case ST_COMMANDS_FILL:
			array_params(command_types, lengthof(command_types), types, nargs);
			return commands_fill_sql();
		case ST_FILES_INSERT:
			array_params(file_types, lengthof(file_types), types, nargs);
			return psprintf("INSERT INTO %s (path, spool, kind, dir, inode, size, mtime, "
							"outcome, error, objectid) SELECT * FROM " FILE_UNNEST, files);
		case ST_FILES_UPDATE:
			array_params(file_types, lengthof(file_types), types, nargs);
			return psprintf("UPDATE %s AS f SET spool = u.spool, kind = u.kind, dir = u.dir, "
							"inode = u.inode, size = u.size, mtime = u.mtime, "
							"outcome = u.outcome, error = u.error, objectid = u.objectid, "
							"synced_at = now() "
							"FROM " FILE_UNNEST " AS u(path, spool, kind, dir, inode, size, "
							"mtime, outcome, error, objectid) "
							"WHERE f.path = u.path COLLATE \"C\" "
							"AND (f.inode, f.size, f.mtime, f.outcome, f.error, f.objectid) "
							"IS DISTINCT FROM (u.inode, u.size, u.mtime, u.outcome, u.error, "
							"u.objectid)", files);
		case ST_FILES_DELETE:
			types[0] = TEXTARRAYOID;
			return psprintf("DELETE FROM %s AS f USING unnest($1::text[]) AS t(p) "
							"WHERE f.path = t.p COLLATE \"C\"", files);
		case ST_DIR_DELETE:
			return psprintf("DELETE FROM %s WHERE path = $1", files);
		case ST_DIR_OUTCOME:
			return psprintf("SELECT outcome FROM %s WHERE path = $1", files);
		case ST_DIR_INSERT:
			*nargs = 5;
			return psprintf("INSERT INTO %s (path, spool, kind, dir, outcome, error) "
							"VALUES ($1, $2, $3, $4, 'failed', $5)", files);
		case ST_DIR_UPDATE:
			*nargs = 5;
			return psprintf("UPDATE %s SET spool = $2, kind = $3, dir = $4, "
							"inode = NULL, size = NULL, mtime = NULL, "
							"outcome = 'failed', error = $5, objectid = NULL, "
							"synced_at = now() WHERE path = $1 AND "
							"(outcome <> 'failed' OR error IS DISTINCT FROM $5 "
							"OR spool <> $2)", files);
		case ST_NOTIFY:
			return pstrdup("SELECT pg_catalog.pg_notify('mig_spool', $1)");
		case NUM_STMTS:
			break;
	}
	elog(ERROR, "unknown spool statement %d", which);
	return NULL;				/* keep compiler quiet */
}

/*
 * The plans of the statements, made on first use and kept while the
 * extension's relations are the same (sql.h): the worker runs a batch for
 * every few files that arrive, and planning the statements each time would
 * cost more than the work.  They are generic: a plan made for the values
 * would have the planner look at every element of the arrays, every time.
 * The look-ups by key are planned without sequential scans (sql.h), for
 * the tables grow after the plans are made; the writes are left to the
 * planner, and so are the checks of the foreign keys they fire.
 */
#define BY_KEY(s) MIG_PLAN_BIT(ST_##s)
static MigPlans plans = MIG_KEYED_PLANS(NUM_STMTS, stmt_sql, CURSOR_OPT_GENERIC_PLAN,
										BY_KEY(AGENT_IDS) | BY_KEY(AGENT_LOCS) |
										BY_KEY(SIGNED_DIFFERS) | BY_KEY(ACTION_ROWS) |
										BY_KEY(COMMAND_ROWS) | BY_KEY(FILES_UPDATE) |
										BY_KEY(FILES_DELETE) | BY_KEY(DIR_DELETE) |
										BY_KEY(DIR_OUTCOME) | BY_KEY(DIR_UPDATE));

void
mig_spool_store_forget_plans(void)
{
	mig_forget_plans(&plans);
}

/* run statement which, whose parameters are the arrays cols[0..ncols-1] */
static int
run_arrays(Stmt which, MigArray *cols, int ncols)
{
	Datum		values[MIG_PLAN_MAX_ARGS];

	Assert(ncols <= MIG_PLAN_MAX_ARGS);
	for (int i = 0; i < ncols; i++)
		values[i] = mig_array_datum(&cols[i]);
	return mig_run_plan(&plans, which, values, NULL, false, 0);
}

/* a numeric result column that holds an id this batch wrote */
static int64
spi_id(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		return 0;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, d));
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static bool
id_in(const int64 *ids, int n, int64 id)
{
	return bsearch(&id, ids, n, sizeof(int64), cmp_int64) != NULL;
}

/* the ids RETURNING gave back, sorted */
static int64 *
returned_ids(int col, int *n)
{
	int64	   *ids = palloc(sizeof(int64) * Max(SPI_processed, 1));

	for (uint64 i = 0; i < SPI_processed; i++)
		ids[i] = spi_id(i, col);
	*n = (int) SPI_processed;
	qsort(ids, *n, sizeof(int64), cmp_int64);
	return ids;
}

/* ------------------------------------------------------------------------
 * Writing what the files hold
 * ------------------------------------------------------------------------
 */

/*
 * Files holding the same action or command: the one furthest on in the
 * lifecycle wins, then the one in the later directory, then the later name.
 * Candidates sort by id, then in that order, so that the winner of each id
 * is the last of its run.
 */
typedef struct Candidate
{
	int64		id;
	int			rank;
	SpoolFile  *file;
} Candidate;

static int
cmp_candidates(const void *a, const void *b)
{
	const Candidate *x = a;
	const Candidate *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->file->dir != y->file->dir)
		return x->file->dir - y->file->dir;
	return strcmp(x->file->name, y->file->name);
}

/* keep the winner of each id in cands[0..n-1]; the others are unchanged */
static int
pick_winners(Candidate *cands, int n, SpoolFile **winners)
{
	int			nwin = 0;

	qsort(cands, n, sizeof(Candidate), cmp_candidates);
	for (int i = 0; i < n; i++)
	{
		if (i + 1 < n && cands[i + 1].id == cands[i].id)
			cands[i].file->outcome = OUT_UNCHANGED;
		else
			winners[nwin++] = cands[i].file;
	}
	return nwin;
}

/* n rows of the columns of the given element types */
static void
init_cols(MigArray *cols, const Oid *types, int ncols, int n)
{
	for (int i = 0; i < ncols; i++)
		mig_array_init(&cols[i], types[i], n);
}

/* the arguments of a store, and what its steps pass on */
typedef struct Store
{
	SpoolFile **files;			/* those still OUT_NONE are written */
	int			n;
	int			schema_version;
	BatchNotes *notes;

	Candidate  *cands;			/* room for n */
	SpoolFile **winners;		/* room for n */
	int64	   *touched;		/* actions whose row or commands changed */
	int			ntouched;

	/*
	 * MIG's scheduler writes the database too (mig.scheduler_writes): only
	 * rows still missing from files older than fill_before are written
	 */
	bool		fill;
	TimestampTz fill_before;
} Store;

/*
 * What a kind of file is to the store: one row per kind, in kinds[] below,
 * where the generic steps (store_kind) find everything that differs.  A new
 * kind is its directories (lifecycle.h), its parser (spoolfile.c) and its
 * row here, with its statements.
 */
typedef struct KindStore
{
	const char *name;			/* "action", for messages */
	const Oid  *types;			/* the element types of its columns */
	int			ncols;
	Stmt		write;			/* rows from the winners, unless further on */
	Stmt		fill;			/* the rows still missing, and nothing else */
	Stmt		rows;			/* which of the ids have a row */

	/* what a valid file holds (false: nothing): its id, status, action */
	bool		(*object) (const SpoolFile *f, int64 *id, const char **status,
						   int64 *action);
	/* its row, appended to the columns */
	void		(*add_cols) (MigArray *cols, const SpoolFile *f);

	/* optional: before the batch, find what the files name in the tables */
	void		(*resolve) (SpoolFile **files, int n);
	/* optional: refuse winners before they are written; how many stay */
	int			(*check) (Store *st, int nwin);
	/* optional: why a winner without a row waits for MIG's scheduler */
	char	   *(*waits) (const SpoolFile *f);
	/* optional: what must be written before the winners */
	void		(*prepare) (Store *st, int nwin);
} KindStore;

static const KindStore kinds[MIG_SPOOL_NKINDS];

/* the winners' rows as the statements' array parameters */
static void
winner_cols(const KindStore *k, SpoolFile **winners, int nwin, MigArray *cols)
{
	init_cols(cols, k->types, k->ncols, nwin);
	for (int i = 0; i < nwin; i++)
		k->add_cols(cols, winners[i]);
}

/*
 * The valid files of a kind, one per id (the furthest on in its lifecycle),
 * into st->winners; the others are unchanged.  Returns how many.
 */
static int
winners_of(Store *st, MigSpoolKind kind)
{
	const KindStore *k = &kinds[kind];
	int			ncand = 0;

	for (int i = 0; i < st->n; i++)
	{
		SpoolFile  *f = st->files[i];
		const char *status;
		int64		action;

		if (f->outcome != OUT_NONE ||
			!k->object(f, &st->cands[ncand].id, &status, &action))
			continue;
		st->cands[ncand].rank = mig_status_rank(kind, status);
		st->cands[ncand].file = f;
		ncand++;
	}
	return pick_winners(st->cands, ncand, st->winners);
}

/* the id of what a winner holds (a winner holds something) */
static int64
winner_id(const KindStore *k, const SpoolFile *f, int64 *action)
{
	int64		id = 0;
	int64		unused;
	const char *status;

	(void) k->object(f, &id, &status, action != NULL ? action : &unused);
	return id;
}

/*
 * The winners whose id the write returned are ingested, and their action
 * touched; the table already held as much of the others
 */
static void
mark_written(Store *st, int nwin, const KindStore *k)
{
	int			nwritten;
	int64	   *written = returned_ids(1, &nwritten);

	for (int i = 0; i < nwin; i++)
	{
		SpoolFile  *f = st->winners[i];
		int64		action;

		if (id_in(written, nwritten, winner_id(k, f, &action)))
		{
			f->outcome = OUT_INGESTED;
			st->touched[st->ntouched++] = action;
		}
		else
			f->outcome = OUT_UNCHANGED;
	}
}

/*
 * When MIG's scheduler writes the database too, a winner is left to it:
 * unchanged when its row is there (the scheduler's row is never touched),
 * deferred while its file is younger than mig.fill_delay (the scheduler
 * writes the row about when it writes the file, sometimes just after), and
 * deferred for good when its kind says it cannot make a row (k->waits).
 * The others stay winners, to be filled in.  Returns how many.
 */
static int
leave_to_scheduler(Store *st, int nwin, const KindStore *k)
{
	MigArray	ids;
	int			nrows;
	int64	   *rows;
	int			n = 0;

	mig_array_init(&ids, NUMERICOID, nwin);
	for (int i = 0; i < nwin; i++)
		mig_array_add_int64_numeric(&ids, winner_id(k, st->winners[i], NULL));
	run_arrays(k->rows, &ids, 1);
	rows = returned_ids(1, &nrows);
	for (int i = 0; i < nwin; i++)
	{
		SpoolFile  *f = st->winners[i];
		int64		id = winner_id(k, f, NULL);
		char	   *waits;

		if (id_in(rows, nrows, id))
			f->outcome = OUT_UNCHANGED;
		else if (f->stat_known && f->mtime > st->fill_before)
		{
			f->outcome = OUT_DEFERRED;
			f->error = psprintf("MIG's scheduler writes the database (mig.scheduler_writes): "
								"%s " INT64_FORMAT " is filled in if it is still missing "
								"mig.fill_delay after the file appeared", k->name, id);
		}
		else if (k->waits != NULL && (waits = k->waits(f)) != NULL)
		{
			f->outcome = OUT_DEFERRED;
			f->error = waits;
		}
		else
			st->winners[n++] = f;
	}
	return n;
}

/*
 * The files of one kind: one per id, the furthest on in its lifecycle,
 * left to MIG's scheduler or checked, what they need written first, then
 * their rows, each file ingested or unchanged
 */
static void
store_kind(Store *st, MigSpoolKind kind)
{
	const KindStore *k = &kinds[kind];
	MigArray	cols[MIG_PLAN_MAX_ARGS];
	int			nwin = winners_of(st, kind);

	Assert(k->ncols <= MIG_PLAN_MAX_ARGS);
	if (nwin == 0)
		return;
	if (st->fill)
		nwin = leave_to_scheduler(st, nwin, k);
	else if (k->check != NULL)
		nwin = k->check(st, nwin);
	if (nwin == 0)
		return;
	if (k->prepare != NULL)
		k->prepare(st, nwin);
	winner_cols(k, st->winners, nwin, cols);
	run_arrays(st->fill ? k->fill : k->write, cols, k->ncols);
	mark_written(st, nwin, k);
}

/* ------------------------------------------------------------------------
 * Actions
 * ------------------------------------------------------------------------
 */

static void
add_action_cols(MigArray *cols, const ParsedAction *pa, const char *status)
{
	mig_array_add_int64_numeric(&cols[0], pa->id);
	mig_array_add_text(&cols[1], pa->name);
	mig_array_add_text(&cols[2], pa->target);
	mig_array_add_varlena(&cols[3], pa->description);
	mig_array_add_varlena(&cols[4], pa->threat);
	mig_array_add_varlena(&cols[5], pa->operations);
	mig_array_add_time(&cols[6], pa->validfrom, false);
	mig_array_add_time(&cols[7], pa->expireafter, false);
	mig_array_add_time(&cols[8], pa->starttime, !pa->has_starttime);
	mig_array_add_time(&cols[9], pa->finishtime, !pa->has_finishtime);
	mig_array_add_time(&cols[10], pa->lastupdatetime, !pa->has_lastupdatetime);
	mig_array_add_text(&cols[11], status);
	mig_array_add_varlena(&cols[12], pa->pgpsignatures);
	mig_array_add(&cols[13], Int32GetDatum(pa->syntaxversion), !pa->has_syntaxversion);
}

static bool
action_object(const SpoolFile *f, int64 *id, const char **status, int64 *action)
{
	if (f->action == NULL)
		return false;
	*id = *action = f->action->id;
	*status = f->action_status;
	return true;
}

static void
action_cols(MigArray *cols, const SpoolFile *f)
{
	add_action_cols(cols, f->action, f->action_status);
}

/*
 * Refuse the winners whose signed fields differ from their stored action's
 * (the row is kept); the others stay winners.  Returns how many stay.
 */
static int
refuse_signed_changes(Store *st, int nwin)
{
	MigArray	cols[lengthof(action_types)];
	int			ndiffer;
	int64	   *differ;
	int			n = 0;

	winner_cols(&kinds[MIG_KIND_ACTION], st->winners, nwin, cols);
	run_arrays(ST_SIGNED_DIFFERS, cols, lengthof(action_types));
	differ = returned_ids(1, &ndiffer);
	if (ndiffer == 0)
		return nwin;
	for (int i = 0; i < nwin; i++)
	{
		SpoolFile  *f = st->winners[i];

		if (id_in(differ, ndiffer, f->action->id))
			mig_spool_fail_file(f, false,
								psprintf("the file's name, target, validity, operations or "
										 "signatures differ from action " INT64_FORMAT
										 " as stored: a stored action's signed fields never "
										 "change, the row is kept", f->action->id));
		else
			st->winners[n++] = f;
	}
	return n;
}

/*
 * An action file with the metadata alone (action/done/ as MIG lands an
 * action: no target, no operations) has nothing a row could be made of: it
 * waits for the scheduler's row
 */
static char *
action_waits(const SpoolFile *f)
{
	if (f->action->target[0] != '\0' || f->action->operations != NULL)
		return NULL;
	return psprintf("action " INT64_FORMAT " is not in actions, and the file holds "
					"its metadata alone (no target, no operations): waiting for its row",
					f->action->id);
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------
 */

static bool
command_object(const SpoolFile *f, int64 *id, const char **status, int64 *action)
{
	if (f->command == NULL)
		return false;
	*id = f->command->id;
	*status = f->command->status;
	*action = f->command->action.id;
	return true;
}

static void
command_cols(MigArray *cols, const SpoolFile *f)
{
	const ParsedCommand *pc = f->command;

	mig_array_add_int64_numeric(&cols[0], pc->id);
	mig_array_add_int64_numeric(&cols[1], pc->action.id);
	mig_array_add(&cols[2], pc->agentid, false);
	mig_array_add_text(&cols[3], pc->status);
	mig_array_add_varlena(&cols[4], pc->results);
	mig_array_add_time(&cols[5], pc->starttime, false);
	mig_array_add_time(&cols[6], pc->finishtime, !pc->has_finishtime);
}

/*
 * The actions the winners embed, where no row exists yet (the commands'
 * foreign key needs it); an existing row is never overwritten from a copy
 */
static void
store_embedded_actions(Store *st, int nwin)
{
	MigArray	cols[lengthof(action_types)];
	Candidate  *cands = palloc(sizeof(Candidate) * nwin);

	for (int i = 0; i < nwin; i++)
	{
		cands[i].id = st->winners[i]->command->action.id;
		cands[i].rank = 0;
		cands[i].file = st->winners[i];
	}
	qsort(cands, nwin, sizeof(Candidate), cmp_candidates);
	init_cols(cols, action_types, lengthof(action_types), nwin);
	for (int i = 0; i < nwin; i++)
	{
		const ParsedAction *pa = &cands[i].file->command->action;

		if (i > 0 && cands[i].id == cands[i - 1].id)
			continue;
		/* a command exists: its action is at least where inflight/ puts it */
		add_action_cols(cols, pa, mig_effective_status(MIG_DIR_ACTION_INFLIGHT, pa->status));
	}
	run_arrays(ST_ACTIONS_MISSING, cols, lengthof(action_types));
	pfree(cands);
}

/* ------------------------------------------------------------------------
 * The commands' agents
 * ------------------------------------------------------------------------
 */

/* the agents in agents that the batch's commands name */
typedef struct KnownAgents
{
	int64	   *ids;			/* found by id, sorted */
	int			nids;
	char	  **locs;			/* queue locations found */
	Datum	   *loc_ids;		/* the agent of each (numeric) */
	int			nlocs;
} KnownAgents;

/* the agents the commands still OUT_NONE name: distinct ids; queue locations */
static void
wanted_agents(SpoolFile **files, int n, MigArray *ids, MigArray *locs)
{
	int64	   *want = palloc(sizeof(int64) * Max(n, 1));
	int			nwant = 0;

	mig_array_init(ids, NUMERICOID, n);
	mig_array_init(locs, TEXTOID, n);
	for (int i = 0; i < n; i++)
	{
		ParsedCommand *pc = files[i]->command;

		if (files[i]->outcome != OUT_NONE || pc == NULL)
			continue;
		if (pc->agent_id > 0)
			want[nwant++] = pc->agent_id;
		else
			mig_array_add_text(locs, pc->agent_queueloc);
	}
	qsort(want, nwant, sizeof(int64), cmp_int64);
	for (int i = 0; i < nwant; i++)
		if (i == 0 || want[i] != want[i - 1])
			mig_array_add_int64_numeric(ids, want[i]);
}

/* look them up: by id, and per queue location the agent heard from last */
static void
find_agents(MigArray *ids, MigArray *locs, KnownAgents *known)
{
	known->ids = palloc(sizeof(int64) * Max(ids->n, 1));
	known->nids = 0;
	if (ids->n > 0)
	{
		run_arrays(ST_AGENT_IDS, ids, 1);
		for (uint64 i = 0; i < SPI_processed; i++)
			known->ids[known->nids++] = spi_id(i, 1);
		qsort(known->ids, known->nids, sizeof(int64), cmp_int64);
	}
	known->locs = palloc(sizeof(char *) * Max(locs->n, 1));
	known->loc_ids = palloc(sizeof(Datum) * Max(locs->n, 1));
	known->nlocs = 0;
	if (locs->n > 0)
	{
		run_arrays(ST_AGENT_LOCS, locs, 1);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;

			known->locs[known->nlocs] = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
			known->loc_ids[known->nlocs] =
				datumCopy(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull), false, -1);
			known->nlocs++;
		}
	}
}

/* set the command's agentid if its agent is known */
static bool
match_agent(ParsedCommand *pc, const KnownAgents *known)
{
	if (pc->agent_id > 0)
	{
		if (!id_in(known->ids, known->nids, pc->agent_id))
			return false;
		pc->agentid = NumericGetDatum(int64_to_numeric(pc->agent_id));
		return true;
	}
	for (int j = 0; j < known->nlocs; j++)
	{
		if (strcmp(known->locs[j], pc->agent_queueloc) == 0)
		{
			pc->agentid = known->loc_ids[j];
			return true;
		}
	}
	return false;
}

/*
 * Find each command's agent: by id when the file gives one, else by queue
 * location.  A command whose agent is not in agents yet is deferred.
 */
static void
resolve_agents(SpoolFile **files, int n)
{
	MigArray	ids,
				locs;
	KnownAgents known;

	wanted_agents(files, n, &ids, &locs);
	if (ids.n == 0 && locs.n == 0)
		return;
	find_agents(&ids, &locs, &known);
	for (int i = 0; i < n; i++)
	{
		ParsedCommand *pc = files[i]->command;

		if (files[i]->outcome != OUT_NONE || pc == NULL || match_agent(pc, &known))
			continue;
		files[i]->outcome = OUT_DEFERRED;
		if (pc->agent_id > 0)
			files[i]->error = psprintf("agent " INT64_FORMAT " (%s) is not in agents yet",
									  pc->agent_id, pc->agent_name);
		else
			files[i]->error = psprintf("no agent with queue location \"%s\" in agents yet",
									  pc->agent_queueloc);
	}
}


/* ------------------------------------------------------------------------
 * The kinds, in the order a batch stores them: the actions first, which
 * the commands' foreign key needs
 * ------------------------------------------------------------------------
 */

static const KindStore kinds[MIG_SPOOL_NKINDS] = {
	[MIG_KIND_ACTION] = {
		.name = "action",
		.types = action_types,
		.ncols = lengthof(action_types),
		.write = ST_ACTIONS,
		.fill = ST_ACTIONS_MISSING,
		.rows = ST_ACTION_ROWS,
		.object = action_object,
		.add_cols = action_cols,
		.check = refuse_signed_changes,
		.waits = action_waits,
	},
	[MIG_KIND_COMMAND] = {
		.name = "command",
		.types = command_types,
		.ncols = lengthof(command_types),
		.write = ST_COMMANDS,
		.fill = ST_COMMANDS_FILL,
		.rows = ST_COMMAND_ROWS,
		.object = command_object,
		.add_cols = command_cols,
		.resolve = resolve_agents,
		.prepare = store_embedded_actions,
	},
};

/*
 * The actions touched, for NOTIFY; and their counters, which the
 * triggers on commands keep (mig 1.1): a database still on 1.0 has none,
 * so they are recounted here
 */
static void
store_counters(Store *st)
{
	MigArray	ids;

	if (st->ntouched == 0)
		return;
	qsort(st->touched, st->ntouched, sizeof(int64), cmp_int64);
	mig_array_init(&ids, NUMERICOID, st->ntouched);
	for (int i = 0; i < st->ntouched; i++)
	{
		if (i > 0 && st->touched[i] == st->touched[i - 1])
			continue;
		mig_array_add_int64_numeric(&ids, st->touched[i]);
	}
	if (st->schema_version < 101)
		mig_recount_actions(mig_array_datum(&ids));
}

/*
 * Write what the store's files hold (those still OUT_NONE), kind by kind,
 * and the counters, setting each file's outcome.  Runs inside a
 * subtransaction of the caller's (mig_try_subxact): an error leaves
 * nothing behind.
 */
static void
store_files(void *arg)
{
	Store	   *st = arg;
	int			room = Max(st->n, 1);

	st->cands = palloc(sizeof(Candidate) * room);
	st->winners = palloc(sizeof(SpoolFile *) * room);
	st->touched = palloc(sizeof(int64) * room);
	st->ntouched = 0;

	for (int kind = 0; kind < MIG_SPOOL_NKINDS; kind++)
		store_kind(st, (MigSpoolKind) kind);
	store_counters(st);
}

/*
 * Store the batch's files: first what they name is looked up (a command's
 * agent), then they are stored in one subtransaction; if the database
 * refuses, one by one, each in its own, so that only the file at fault
 * fails (and is retried on every pass: the fault may be passing).
 */
void
mig_spool_store_batch(SpoolFile *files, int n, int schema_version, BatchNotes *notes)
{
	SpoolFile **todo = palloc(sizeof(SpoolFile *) * Max(n, 1));
	int			ntodo = 0;
	BatchNotes	saved = *notes;
	Store		st = {todo, 0, schema_version, notes};
	ErrorData  *edata;

	st.fill = mig_scheduler_writes;
	st.fill_before = GetCurrentTimestamp() - (TimestampTz) mig_fill_delay * 1000;

	for (int i = 0; i < n; i++)
		if (files[i].outcome == OUT_NONE)
			todo[ntodo++] = &files[i];
	for (int kind = 0; kind < MIG_SPOOL_NKINDS && ntodo > 0; kind++)
	{
		if (kinds[kind].resolve == NULL)
			continue;
		kinds[kind].resolve(todo, ntodo);
		st.n = 0;
		for (int i = 0; i < ntodo; i++)
			if (todo[i]->outcome == OUT_NONE)
				todo[st.n++] = todo[i];
		ntodo = st.n;
	}
	if (ntodo == 0)
		return;

	st.n = ntodo;
	edata = mig_try_subxact(store_files, &st);
	if (edata == NULL)
		return;
	FreeErrorData(edata);

	/* one by one */
	*notes = saved;
	for (int i = 0; i < ntodo; i++)
		todo[i]->outcome = OUT_NONE;
	for (int i = 0; i < ntodo; i++)
	{
		st.files = &todo[i];
		st.n = 1;
		edata = mig_try_subxact(store_files, &st);
		if (edata != NULL)
		{
			mig_spool_fail_file(todo[i], true, psprintf("the database refused the file: %s",
														edata->message));
			FreeErrorData(edata);
		}
	}
}

/* ------------------------------------------------------------------------
 * spool_files and NOTIFY
 * ------------------------------------------------------------------------
 */

/*
 * Record every file read in spool_files, forget the ones that went away.
 * New rows are inserted, known ones updated: the batch holds the table's
 * SHARE ROW EXCLUSIVE lock, so the lookup it began with is still true.
 */
void
mig_spool_record_files(const char *spool, SpoolFile *files, int n, MigArray *gone)
{
	MigArray	cols[2][lengthof(file_types)];

	for (int k = 0; k < 2; k++)
		init_cols(cols[k], file_types, lengthof(file_types), n);
	for (int i = 0; i < n; i++)
	{
		SpoolFile  *f = &files[i];
		MigArray   *c = cols[f->has_row ? 1 : 0];
		bool		nostat;

		if (f->outcome == OUT_VANISHED)
		{
			if (f->has_row)
				mig_array_add_text(gone, f->path);
			continue;
		}
		if (f->outcome == OUT_SKIPPED)
			continue;
		Assert(f->outcome != OUT_NONE);
		nostat = !f->stat_known || f->retry;
		mig_array_add_text(&c[0], f->path);
		mig_array_add_text(&c[1], spool);
		mig_array_add_text(&c[2], mig_spool_kinds[mig_spool_lifecycle[f->dir].kind]);
		mig_array_add_text(&c[3], mig_spool_lifecycle[f->dir].leaf);
		mig_array_add(&c[4], Int64GetDatum(f->inode), nostat);
		mig_array_add(&c[5], Int64GetDatum(f->size), nostat);
		mig_array_add_time(&c[6], f->mtime, nostat);
		mig_array_add_text(&c[7], outcome_name[f->outcome]);
		mig_array_add_text(&c[8], f->error);
		if (f->objectid > 0)
			mig_array_add_int64_numeric(&c[9], f->objectid);
		else
			mig_array_add(&c[9], (Datum) 0, true);
	}
	if (cols[0][0].n > 0)
		run_arrays(ST_FILES_INSERT, cols[0], lengthof(file_types));
	if (cols[1][0].n > 0)
		run_arrays(ST_FILES_UPDATE, cols[1], lengthof(file_types));
	if (gone->n > 0)
		run_arrays(ST_FILES_DELETE, gone, 1);
}

/*
 * The row of directory dir itself in spool_files (path
 * <spool>/command/ready): a failed row saying why while it cannot be
 * entered (problem); none once it can, or no longer exists.  The rows of its files are the batches'
 * business.  notes->removed or ->failed say what changed.
 */
void
mig_spool_record_dir(const char *spool, const char *path, int dir, const char *problem,
					 BatchNotes *notes)
{
	Datum		values[5];

	values[0] = CStringGetTextDatum(path);
	if (problem == NULL)
	{
		mig_run_plan(&plans, ST_DIR_DELETE, values, NULL, false, 0);
		notes->removed = SPI_processed;
		return;
	}
	values[1] = CStringGetTextDatum(spool);
	values[2] = CStringGetTextDatum(mig_spool_kinds[mig_spool_lifecycle[dir].kind]);
	values[3] = CStringGetTextDatum(mig_spool_lifecycle[dir].leaf);
	values[4] = CStringGetTextDatum(problem);
	mig_run_plan(&plans, ST_DIR_OUTCOME, values, NULL, false, 0);
	if (SPI_processed == 0)
	{
		mig_run_plan(&plans, ST_DIR_INSERT, values, NULL, false, 0);
		notes->failed = 1;
		return;
	}
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "failed") != 0)
		notes->failed = 1;
	mig_run_plan(&plans, ST_DIR_UPDATE, values, NULL, false, 0);
}

/* NOTIFY mig_spool, '{"ingested": 3, ..., "actions": [...]}' */
void
mig_spool_notify(BatchNotes *notes)
{
	StringInfoData buf;
	Datum		value;

	if (notes->ingested == 0 && notes->deferred == 0 && notes->failed == 0 &&
		notes->removed == 0)
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"ingested\": " INT64_FORMAT ", \"deferred\": " INT64_FORMAT
					 ", \"failed\": " INT64_FORMAT ", \"removed\": " INT64_FORMAT "}",
					 notes->ingested, notes->deferred, notes->failed, notes->removed);
	value = CStringGetTextDatum(buf.data);
	mig_run_plan(&plans, ST_NOTIFY, &value, NULL, false, 0);
}
