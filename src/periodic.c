/*-------------------------------------------------------------------------
 *
 * periodic.c
 *	  The data's life after ingest, as MIG's scheduler keeps it
 *	  (mig-scheduler/periodic.go, database/agents.go), in the database:
 *
 *	  - liveness: an online agent not heard from for five heartbeat
 *		periods (mig.agent_heartbeat_freq) becomes idle, an idle one not
 *		heard from for mig.agent_timeout offline; a heartbeat brings it back
 *		(agent.c); destroyed agents are never touched;
 *	  - retention, off unless configured: the commands of actions that
 *		finished or expired longer ago than mig.command_retention, then the
 *		agents not heard from for mig.agent_retention that no command or ACL
 *		row needs (their details go with them), and the bookkeeping of files
 *		no longer in the spool; actions, signatures and investigators are
 *		never purged.  Each table goes in batches of mig.purge_batch rows;
 *		the counter triggers keep the actions' counters equal to what is
 *		left (counters.c);
 *	  - statistics: MIG's AgentsStats (agentstats.c), kept in agents_stats.
 *
 *	  The SQL functions run in the caller's transaction; the worker runs
 *	  the same steps every mig.periodic_interval, each purge batch a
 *	  transaction of its own (worker.c).
 *
 *	  Not here: the statuses a heartbeat sets (agent.c), the counters
 *	  (counters.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/snapmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "agentstats.h"
#include "gotime.h"
#include "heartbeat.h"
#include "periodic.h"
#include "schema.h"
#include "sql.h"

/* the statuses liveness moves agents between (MIG's AgtStatus*) */
#define STATUS_ONLINE MIG_SQL_STATUS(MIG_AGENT_ONLINE)
#define STATUS_IDLE MIG_SQL_STATUS(MIG_AGENT_IDLE)
#define STATUS_OFFLINE MIG_SQL_STATUS(MIG_AGENT_OFFLINE)

/* what a purge removes, in the order one run must take them */
const char *const mig_purge_tables[MIG_PURGE_NTABLES] = {"commands", "agents", "spool_files"};

enum
{
	P_IDLE,
	P_OFFLINE,
	P_STATS_KEEP,
	P_PURGE_COMMANDS,
	P_COUNT_COMMANDS,
	P_PURGE_AGENTS,
	P_COUNT_AGENTS,
	P_PURGE_FILES,
	P_COUNT_FILES,
	NUM_STATEMENTS
};

/*
 * Agents a purge may take: not heard from since $1, and needed by no
 * command (but those of $2's purge, when counting ahead) and no ACL row.
 */
#define AGENT_PURGEABLE(g, commands_left) \
	g ".heartbeattime < $1 AND NOT EXISTS (SELECT FROM %2$s AS c WHERE c.agentid = " g ".id" \
	commands_left ") AND NOT EXISTS (SELECT FROM %3$s AS r WHERE r.agentid = " g ".id) " \
	"AND NOT EXISTS (SELECT FROM %4$s AS p WHERE p.agentid = " g ".id)"

/*
 * When an action ended: it finished, or expired (Go's zero time, which
 * MIG's scheduler writes for an action not finished, is no finish)
 */
#define ACTION_ENDED(a) \
	"least(nullif(" a ".finishtime, " MIG_GO_ZERO_SQL "), " a ".expireafter)"

/* commands of actions finished or expired before $1 */
#define COMMAND_PURGEABLE(c) \
	c ".actionid IN (SELECT a.id FROM %2$s AS a WHERE " ACTION_ENDED("a") " < $1)"

static char *
statement_sql(int which, Oid *types, int *nargsp)
{
	const char *agents = mig_qualified_name("agents");
	const char *actions = mig_qualified_name("actions");
	const char *commands = mig_qualified_name("commands");
	int			nargs = 0;
	char	   *sql = NULL;

	switch (which)
	{
		case P_IDLE:
			sql = psprintf("UPDATE %s SET status = " STATUS_IDLE
						   " WHERE status = " STATUS_ONLINE " AND heartbeattime < $1", agents);
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case P_OFFLINE:
			sql = psprintf("UPDATE %s SET status = " STATUS_OFFLINE
						   " WHERE status = " STATUS_IDLE " AND heartbeattime < $1", agents);
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case P_STATS_KEEP:
			{
				StringInfoData cols;
				StringInfoData params;

				initStringInfo(&cols);
				initStringInfo(&params);
				for (int i = 0; i < MIG_STATS_NCOLUMNS; i++)
				{
					appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "",
									 quote_identifier(mig_stats_column_names[i]));
					appendStringInfo(&params, "%s$%d", i > 0 ? ", " : "", i + 1);
					types[nargs++] = mig_stats_column_types[i];
				}
				sql = psprintf("INSERT INTO %s (%s) VALUES (%s)",
							   mig_qualified_name("agents_stats"), cols.data, params.data);
			}
			break;
		case P_PURGE_COMMANDS:
			sql = psprintf("DELETE FROM %1$s WHERE ctid = ANY (ARRAY(SELECT c.ctid FROM %1$s AS c "
						   "WHERE " COMMAND_PURGEABLE("c") " LIMIT $2))", commands, actions);
			types[nargs++] = TIMESTAMPTZOID;
			types[nargs++] = INT8OID;
			break;
		case P_COUNT_COMMANDS:
			sql = psprintf("SELECT count(*) FROM %1$s AS c WHERE " COMMAND_PURGEABLE("c"),
						   commands, actions);
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case P_PURGE_AGENTS:
			sql = psprintf("DELETE FROM %1$s WHERE ctid = ANY (ARRAY(SELECT g.ctid FROM %1$s AS g "
						   "WHERE " AGENT_PURGEABLE("g", "") " LIMIT $2))",
						   agents, commands, mig_qualified_name("agtmodreq"),
						   mig_qualified_name("invagtmodperm"));
			types[nargs++] = TIMESTAMPTZOID;
			types[nargs++] = INT8OID;
			break;
		case P_COUNT_AGENTS:
			/* as if the commands' purge had run first ($2: its cutoff, or NULL) */
			sql = psprintf("SELECT count(*) FROM %1$s AS g WHERE "
						   AGENT_PURGEABLE("g", " AND ($2 IS NULL OR NOT c.actionid IN "
										   "(SELECT a.id FROM %5$s AS a "
										   "WHERE " ACTION_ENDED("a") " < $2))"),
						   agents, commands, mig_qualified_name("agtmodreq"),
						   mig_qualified_name("invagtmodperm"), actions);
			types[nargs++] = TIMESTAMPTZOID;
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case P_PURGE_FILES:
			sql = psprintf("DELETE FROM %1$s WHERE ctid = ANY (ARRAY(SELECT f.ctid FROM %1$s AS f "
						   "WHERE f.spool IS DISTINCT FROM $1 LIMIT $2))",
						   mig_qualified_name("spool_files"));
			types[nargs++] = TEXTOID;
			types[nargs++] = INT8OID;
			break;
		case P_COUNT_FILES:
			sql = psprintf("SELECT count(*) FROM %s AS f WHERE f.spool IS DISTINCT FROM $1",
						   mig_qualified_name("spool_files"));
			types[nargs++] = TEXTOID;
			break;
	}
	*nargsp = nargs;
	return sql;
}

static MigPlans plans = MIG_PLANS(NUM_STATEMENTS, statement_sql, 0);

static TimestampTz
ago(TimestampTz now, int64 ms)
{
	return now - ms * INT64CONST(1000);
}

/*
 * Liveness, in the current SPI connection: online agents not heard from
 * for five heartbeat periods become idle, idle ones past the timeout
 * offline.  How many changed.
 */
void
mig_liveness(int64 *idle, int64 *offline)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		arg;

	arg = TimestampTzGetDatum(ago(now, (int64) mig_agent_heartbeat_freq * 5));
	mig_run_plan(&plans, P_IDLE, &arg, NULL, false, 0);
	*idle = (int64) SPI_processed;
	arg = TimestampTzGetDatum(ago(now, mig_agent_timeout));
	mig_run_plan(&plans, P_OFFLINE, &arg, NULL, false, 0);
	*offline = (int64) SPI_processed;
}

/* the cutoff of a retention in seconds, or 0 (DT_NOBEGIN) when it is off */
static bool
cutoff(int retention_s, TimestampTz *at)
{
	if (retention_s <= 0)
		return false;
	*at = GetCurrentTransactionStartTimestamp() - (int64) retention_s * USECS_PER_SEC;
	return true;
}

/* the spool whose files' rows are kept: mig.spool_dir as passes write it */
static Datum
current_spool(void)
{
	char	   *spool = pstrdup(mig_spool_dir);

	canonicalize_path(spool);
	return CStringGetTextDatum(spool);
}

/*
 * One step of a purge of table t (MIG_PURGE_*), in the current SPI
 * connection: with dry_run, how many rows one run would take from it
 * (counting agents as if the commands were gone already); otherwise
 * delete at most limit rows and say how many went.  0 when t's retention
 * is off.
 */
int64
mig_purge_step(int t, bool dry_run, int64 limit)
{
	TimestampTz commands_before = 0,
				agents_before = 0;
	bool		commands_on = cutoff(mig_command_retention, &commands_before);
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	int			which;

	switch (t)
	{
		case MIG_PURGE_COMMANDS:
			if (!commands_on)
				return 0;
			args[0] = TimestampTzGetDatum(commands_before);
			which = dry_run ? P_COUNT_COMMANDS : P_PURGE_COMMANDS;
			break;
		case MIG_PURGE_AGENTS:
			if (!cutoff(mig_agent_retention, &agents_before))
				return 0;
			args[0] = TimestampTzGetDatum(agents_before);
			which = dry_run ? P_COUNT_AGENTS : P_PURGE_AGENTS;
			if (dry_run)
			{
				args[1] = TimestampTzGetDatum(commands_before);
				nulls[1] = commands_on ? ' ' : 'n';
			}
			break;
		case MIG_PURGE_SPOOL_FILES:
			/* rows of another spool than the one the worker follows */
			if (!commands_on && mig_agent_retention <= 0)
				return 0;
			args[0] = current_spool();
			which = dry_run ? P_COUNT_FILES : P_PURGE_FILES;
			break;
		default:
			elog(ERROR, "unknown purge table %d", t);
	}
	if (!dry_run)
		args[1] = Int64GetDatum(limit);
	mig_run_plan(&plans, which, args, nulls, dry_run, 0);
	if (dry_run)
	{
		bool		isnull;

		return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										   &isnull));
	}
	return (int64) SPI_processed;
}

/*
 * MIG's AgentsStats of the agents now, in the current SPI connection, into
 * values/nulls (the columns of mig_agents_stats); kept in agents_stats too
 * when keep is set.
 */
void
mig_agents_stats_compute(Datum *values, bool *nulls, bool keep)
{
	/* after the liveness of the same run: a snapshot that sees it */
	CommandCounterIncrement();
	mig_agents_stats_scan(GetCurrentTransactionStartTimestamp(), GetTransactionSnapshot(),
						  values, nulls);
	if (keep)
		mig_run_plan(&plans, P_STATS_KEEP, values, NULL, false, 0);
}

/*
 * mig_agents_stats() -> one row of MIG's AgentsStats, now.
 */
PG_FUNCTION_INFO_V1(mig_agents_stats);
Datum
mig_agents_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[MIG_STATS_NCOLUMNS];
	bool		nulls[MIG_STATS_NCOLUMNS];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	mig_require_schema_version(102, "mig_agents_stats()");
	mig_stats_check_desc(tupdesc, "mig_agents_stats()");
	mig_agents_stats_scan(GetCurrentTransactionStartTimestamp(), GetActiveSnapshot(),
						  values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * mig_purge(dry_run boolean DEFAULT true, max_rows bigint DEFAULT NULL)
 *	 -> TABLE(table_name text, rows bigint)
 *
 * What a purge takes from each table (dry run), or takes it, in batches of
 * mig.purge_batch rows within the caller's transaction: commands first,
 * then the agents their deletion freed, then spool_files.  max_rows bounds
 * what one call deletes from each table, so that a caller can purge in
 * transactions of its own (call again until every count is 0).
 */
PG_FUNCTION_INFO_V1(mig_purge);
Datum
mig_purge(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		dry_run = PG_ARGISNULL(0) ? true : PG_GETARG_BOOL(0);
	int64		max_rows = PG_ARGISNULL(1) ? PG_INT64_MAX : PG_GETARG_INT64(1);
	int			spi;

	if (max_rows < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be at least 1, not " INT64_FORMAT, max_rows)));
	InitMaterializedSRF(fcinfo, 0);
	spi = mig_spi_connect();
	for (int t = 0; t < MIG_PURGE_NTABLES; t++)
	{
		int64		total = 0;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (dry_run)
			total = mig_purge_step(t, true, 0);
		else
		{
			int64		n;

			do
			{
				int64		batch = Min((int64) mig_purge_batch, max_rows - total);

				n = mig_purge_step(t, false, batch);
				total += n;
				CHECK_FOR_INTERRUPTS();
			} while (n > 0 && total < max_rows);
		}
		values[0] = CStringGetTextDatum(mig_purge_tables[t]);
		values[1] = Int64GetDatum(total);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	mig_spi_finish(spi);
	return (Datum) 0;
}

/*
 * mig_periodic() -> TABLE(task text, rows bigint, took interval)
 *
 * The periodic tasks once, in the caller's transaction: liveness, the
 * purge (when a retention is set) and the statistics (kept in
 * agents_stats).  For cron or pg_cron where no worker runs them.
 */
PG_FUNCTION_INFO_V1(mig_periodic);
Datum
mig_periodic(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			spi;
	MigPeriodicReport report;

	InitMaterializedSRF(fcinfo, 0);
	mig_require_schema_version(102, "mig_periodic()");
	spi = mig_spi_connect();
	mig_periodic_run(&report);

	/*
	 * The tasks' names ("purge ...") were made in SPI's memory: use them
	 * before SPI_finish frees it (the tuplestore keeps copies).
	 */
	for (int i = 0; i < report.ntasks; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		Interval   *took = palloc0(sizeof(Interval));

		took->time = report.tasks[i].took_us;
		values[0] = CStringGetTextDatum(report.tasks[i].task);
		values[1] = Int64GetDatum(report.tasks[i].rows);
		values[2] = IntervalPGetDatum(took);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	mig_spi_finish(spi);
	return (Datum) 0;
}

static void
report_task(MigPeriodicReport *r, const char *task, int64 rows, TimestampTz since)
{
	Assert(r->ntasks < MIG_PERIODIC_MAXTASKS);
	r->tasks[r->ntasks].task = task;
	r->tasks[r->ntasks].rows = rows;
	r->tasks[r->ntasks].took_us = GetCurrentTimestamp() - since;
	r->ntasks++;
}

/* every task once, in the current SPI connection and transaction */
void
mig_periodic_run(MigPeriodicReport *r)
{
	TimestampTz t0 = GetCurrentTimestamp();
	int64		idle,
				offline;
	Datum		values[MIG_STATS_NCOLUMNS];
	bool		nulls[MIG_STATS_NCOLUMNS];

	memset(r, 0, sizeof(*r));
	mig_liveness(&idle, &offline);
	report_task(r, "agents idle", idle, t0);
	report_task(r, "agents offline", offline, t0);
	for (int t = 0; t < MIG_PURGE_NTABLES; t++)
	{
		TimestampTz t1 = GetCurrentTimestamp();
		int64		total = 0,
					n;

		do
		{
			n = mig_purge_step(t, false, mig_purge_batch);
			total += n;
			CHECK_FOR_INTERRUPTS();
		} while (n > 0);
		report_task(r, psprintf("purge %s", mig_purge_tables[t]), total, t1);
	}
	t0 = GetCurrentTimestamp();
	mig_agents_stats_compute(values, nulls, true);
	report_task(r, "statistics", 1, t0);
}
