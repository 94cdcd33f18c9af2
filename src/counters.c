/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  The counters of an action (sentctr, returnedctr, donectr,
 *	  cancelledctr, failedctr, timeoutctr) always equal what commands holds
 *	  for it.  The rule, which statuses each counter counts, is written once
 *	  (the list counters[] below, from which every statement is made) and
 *	  applied two ways:
 *
 *	  - as deltas: statement triggers on commands (mig 1.1) read the
 *		statement's transition tables, count the old rows -1 and the new
 *		rows +1 per action, and add that to the actions' counters; TRUNCATE
 *		zeroes them all, and a new action starts at zero (a row trigger:
 *		it has no commands yet).  The spool sync, the scheduler's SQL, a
 *		hand edit and a restored dump alike keep them true, at a cost
 *		proportional to the rows changed, not to the action's size;
 *	  - as a recount from commands: mig_recount(action_id) for one action or
 *		all (after the triggers were disabled, say), the update to 1.1 once,
 *		and the spool sync of a database still on mig 1.0 (no triggers),
 *		for the actions of each batch, as 1.0 did.
 *
 *	  Both lock the actions first (FOR NO KEY UPDATE, in id order: no two
 *	  statements deadlock on them, and commands' foreign-key checks, which
 *	  take key-share locks, are not in the way); a recount then counts in a
 *	  statement of its own, whose read-committed snapshot is taken after the
 *	  locks are granted.  The triggers write as the extension's owner (the
 *	  counters are derived data, not the caller's to grant), a
 *	  security-restricted operation under the pinned search_path.
 *
 *	  Not here: the spool sync that writes commands (spoolstore.c); which
 *	  statuses are final (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "counters.h"
#include "lifecycle.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"

/*
 * The rule, one counter a line: its column in actions, and which commands
 * it counts, as a condition on a command's status (%s); NULL: those
 * lifecycle.c ranks final (come back).  Every statement and the trigger
 * below are made from this list.
 */
typedef struct Counter
{
	const char *column;
	const char *counts;			/* format with the status once, or NULL */
} Counter;

static const Counter counters[] = {
	{"sentctr", "true"},
	{"returnedctr", NULL},
	{"donectr", "%s IN ('done', 'success')"},
	{"cancelledctr", "%s = 'cancelled'"},
	{"failedctr", "%s = 'failed'"},
	{"timeoutctr", "%s = 'timeout'"},
};

#define NCOUNTERS lengthof(counters)

/* each counter's column, prefixed: "(a.sentctr, a.returnedctr, ...)" */
static char *
counter_columns(const char *prefix)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) NCOUNTERS; i++)
		appendStringInfo(&buf, "%s%s%s", i > 0 ? ", " : "(", prefix, counters[i].column);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* "(0, 0, 0, 0, 0, 0)" */
static char *
counter_zeros(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) NCOUNTERS; i++)
		appendStringInfoString(&buf, i > 0 ? ", 0" : "(0");
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * Each counter summed over rows whose status is s, each row with weight
 * w (1 to count commands, -1/+1 for deltas), as columns named like the
 * counters
 */
static char *
counter_sums(const char *w, const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) NCOUNTERS; i++)
	{
		char	   *cond = counters[i].counts ? psprintf(counters[i].counts, s) :
			psprintf("%s NOT IN (%s)", s, mig_status_unfinished_sql(MIG_KIND_COMMAND));

		appendStringInfo(&buf, "%scoalesce(sum(CASE WHEN %s THEN %s ELSE 0 END), 0)::int AS %s",
						 i > 0 ? ", " : "", cond, w, counters[i].column);
	}
	return buf.data;
}

/* "(p.sentctr, ...)" of the sums' columns */
static char *
sum_columns(const char *p)
{
	return counter_columns(psprintf("%s.", p));
}

/* "(coalesce(a.sentctr, 0) + d.sentctr, ...)" */
static char *
counter_plus(const char *a, const char *d)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) NCOUNTERS; i++)
		appendStringInfo(&buf, "%scoalesce(%s.%s, 0) + %s.%s", i > 0 ? ", " : "(",
						 a, counters[i].column, d, counters[i].column);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* the counters' columns and their zeros, for an INSERT into actions */
char *
mig_counter_columns_sql(void)
{
	char	   *cols = counter_columns("");

	cols[strlen(cols) - 1] = '\0';
	return cols + 1;
}

char *
mig_counter_zeros_sql(void)
{
	char	   *zeros = counter_zeros();

	zeros[strlen(zeros) - 1] = '\0';
	return zeros + 1;
}

typedef enum
{
	C_LOCK,
	C_RECOUNT,
	C_ADD,
	C_ZERO,
	NUM_STATEMENTS
} Statement;

/* the statement which, for the plan cache */
static char *
statement_sql(int which, Oid *types, int *nargsp)
{
	const char *a = mig_qualified_name("actions");
	const char *c = mig_qualified_name("commands");
	char	   *sql = NULL;
	int			nargs = 1;

	types[0] = NUMERICARRAYOID;
	types[1] = TEXTARRAYOID;
	types[2] = INT4ARRAYOID;
	switch (which)
	{
		case C_LOCK:
			sql = psprintf("SELECT a.id FROM %s AS a WHERE a.id = ANY ($1) "
						   "ORDER BY a.id FOR NO KEY UPDATE OF a", a);
			break;
		case C_RECOUNT:
			sql = psprintf("UPDATE %s AS a SET %s = %s "
						   "FROM unnest($1::numeric[]) AS t(id), LATERAL (SELECT "
						   "%s FROM %s AS c WHERE c.actionid = t.id) AS n "
						   "WHERE a.id = t.id AND %s IS DISTINCT FROM %s",
						   a, counter_columns(""), sum_columns("n"),
						   counter_sums("1", "c.status"), c,
						   counter_columns("a."), sum_columns("n"));
			break;
		case C_ADD:
			sql = psprintf("UPDATE %s AS a SET %s = %s "
						   "FROM (SELECT t.id, %s "
						   "FROM unnest($1::numeric[], $2::text[], $3::int[]) AS t(id, status, w) "
						   "GROUP BY t.id) AS d "
						   "WHERE a.id = d.id AND %s <> %s",
						   a, counter_columns(""), counter_plus("a", "d"),
						   counter_sums("t.w", "t.status"), sum_columns("d"), counter_zeros());
			nargs = 3;
			break;
		case C_ZERO:
			sql = psprintf("UPDATE %s AS a SET %s = %s WHERE %s IS DISTINCT FROM %s",
						   a, counter_columns(""), counter_zeros(), counter_columns("a."),
						   counter_zeros());
			nargs = 0;
			break;
		case NUM_STATEMENTS:
			break;
	}
	*nargsp = nargs;
	return sql;
}

/*
 * The statements on the actions of a statement's commands look them up by
 * id (sql.h): actions may have grown by thousands since a plan was made.
 */
static MigPlans plans = MIG_KEYED_PLANS(NUM_STATEMENTS, statement_sql, 0,
										MIG_PLAN_BIT(C_LOCK) | MIG_PLAN_BIT(C_RECOUNT) |
										MIG_PLAN_BIT(C_ADD));

static uint64
run(Statement which, Datum *args)
{
	mig_run_plan(&plans, which, args, NULL, false, 0);
	return SPI_processed;
}

/*
 * Recount the actions in ids (numeric[]; (Datum) 0: every action) in the
 * current SPI connection.  Returns how many actions were there to lock.
 */
static uint64
recount(Datum ids, uint64 *changed)
{
	uint64		locked;

	if (ids == (Datum) 0)
	{
		/* every action */
		int			rc = SPI_execute(psprintf("SELECT array_agg(a.id ORDER BY a.id) FROM %s AS a",
											 mig_qualified_name("actions")),
									false, 0);
		bool		isnull;

		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not list the actions");
		ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
		{
			*changed = 0;
			return 0;
		}
		ids = datumCopy(ids, false, -1);
	}
	locked = run(C_LOCK, &ids);
	*changed = run(C_RECOUNT, &ids);
	return locked;
}

/*
 * For the spool sync of a database still on mig 1.0: recount these
 * actions (numeric[]) in the caller's SPI connection.
 */
void
mig_recount_actions(Datum ids)
{
	uint64		changed;

	recount(ids, &changed);
}

/* the changed rows of a statement: action, status, weight */
typedef struct Deltas
{
	MigArray	ids;			/* numeric */
	MigArray	statuses;		/* text */
	MigArray	weights;		/* int4 */
} Deltas;

/* every row of a transition table, with weight w */
static void
collect(Relation rel, Tuplestorestate *ts, int w, Deltas *d)
{
	TupleTableSlot *slot;
	AttrNumber	att_id = mig_attnum(rel, "actionid");
	AttrNumber	att_status = mig_attnum(rel, "status");
	int			ptr;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	/* a pointer of our own, read from the start: it must be able to rewind */
	ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		id_null,
					status_null;
		Datum		id = slot_getattr(slot, att_id, &id_null);
		Datum		status = slot_getattr(slot, att_status, &status_null);

		/* both are NOT NULL columns */
		if (id_null || status_null)
			continue;
		mig_array_add(&d->ids, datumCopy(id, false, -1), false);
		mig_array_add(&d->statuses, datumCopy(status, false, -1), false);
		mig_array_add(&d->weights, Int32GetDatum(w), false);
	}
	tuplestore_select_read_pointer(ts, 0);
	ExecDropSingleTupleTableSlot(slot);
}

static int
cmp_numeric(const void *a, const void *b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, *(const Datum *) a,
											 *(const Datum *) b));
}

/* the three arrays of C_ADD, and the distinct actions for C_LOCK */
static void
delta_arrays(Deltas *d, Datum *args, Datum *lock_ids)
{
	int			n = d->ids.n;
	MigArray	distinct;

	args[0] = mig_array_datum(&d->ids);
	args[1] = mig_array_datum(&d->statuses);
	args[2] = mig_array_datum(&d->weights);

	mig_array_init(&distinct, NUMERICOID, n);
	memcpy(distinct.values, d->ids.values, sizeof(Datum) * n);
	qsort(distinct.values, n, sizeof(Datum), cmp_numeric);
	for (int i = 0; i < n; i++)
		if (distinct.n == 0 || cmp_numeric(&distinct.values[distinct.n - 1], &distinct.values[i]) != 0)
			mig_array_add(&distinct, distinct.values[i], false);
	*lock_ids = distinct.n > 1 ? mig_array_datum(&distinct) : (Datum) 0;
}

/*
 * Statement trigger on commands: AFTER INSERT (new rows), UPDATE (old and
 * new rows), DELETE (old rows), with their transition tables, and AFTER
 * TRUNCATE.
 */
PG_FUNCTION_INFO_V1(mig_commands_counted);
Datum
mig_commands_counted(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	MigAsOwner	owner;
	Deltas		d;
	Datum		args[3];
	Datum		lock_ids = (Datum) 0;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"mig_commands_counted\" must be fired AFTER ... FOR EACH STATEMENT")));

	if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		mig_array_init(&d.ids, NUMERICOID, 64);
		mig_array_init(&d.statuses, TEXTOID, 64);
		mig_array_init(&d.weights, INT4OID, 64);
		collect(td->tg_relation, td->tg_oldtable, -1, &d);
		collect(td->tg_relation, td->tg_newtable, 1, &d);
		if (d.ids.n == 0)
			return PointerGetDatum(NULL);
		delta_arrays(&d, args, &lock_ids);
	}

	mig_as_owner_begin(&owner);
	PG_TRY();
	{
		if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
			run(C_ZERO, NULL);
		else
		{
			/* more than one action: take them in one order */
			if (lock_ids != (Datum) 0)
				run(C_LOCK, &lock_ids);
			run(C_ADD, args);
		}
		mig_as_owner_end(&owner);
	}
	PG_CATCH();
	{
		mig_as_owner_restore(&owner);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}

/*
 * Row trigger on actions, BEFORE INSERT: a new action has no commands yet
 * (their foreign key needs it first), so its counters start at zero,
 * whatever the row says.  That is what keeps the deltas true when a dump
 * is restored: the actions come back with the counters of the old
 * database, then every command restored adds itself once.
 */
PG_FUNCTION_INFO_V1(mig_actions_counted);
Datum
mig_actions_counted(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	int			cols[NCOUNTERS];
	Datum		values[NCOUNTERS];
	bool		nulls[NCOUNTERS];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"mig_actions_counted\" must be fired BEFORE INSERT ... FOR EACH ROW")));
	for (int i = 0; i < (int) NCOUNTERS; i++)
	{
		cols[i] = mig_attnum(td->tg_relation, counters[i].column);
		values[i] = Int32GetDatum(0);
		nulls[i] = false;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple,
													 RelationGetDescr(td->tg_relation),
													 NCOUNTERS, cols, values, nulls));
}

/*
 * mig_recount(action_id numeric DEFAULT NULL) -> bigint
 *
 * Recount the counters of one action (NULL: of every action) from
 * commands, with the caller's rights; how many actions' counters changed.
 * ERROR P0002 for an action that does not exist.
 */
PG_FUNCTION_INFO_V1(mig_recount);
Datum
mig_recount(PG_FUNCTION_ARGS)
{
	Datum		ids = (Datum) 0;
	uint64		changed;
	uint64		found;
	int			spi;

	if (!PG_ARGISNULL(0))
	{
		MigArray	one;

		mig_array_init(&one, NUMERICOID, 1);
		mig_array_add(&one, PG_GETARG_DATUM(0), false);
		ids = mig_array_datum(&one);
	}
	spi = mig_spi_connect();
	found = recount(ids, &changed);
	mig_spi_finish(spi);
	if (ids != (Datum) 0 && found == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("action %s does not exist",
						DatumGetCString(DirectFunctionCall1(numeric_out, PG_GETARG_DATUM(0))))));
	PG_RETURN_INT64((int64) changed);
}
