/*-------------------------------------------------------------------------
 *
 * agent.c
 *	  mig_agent_heartbeat(heartbeat json): upsert an agent from MIG's agent
 *	  or heartbeat JSON (Go's mig.Agent), returning its id.  The agents
 *	  table keeps the seed's columns and MIG's (mode, loader, environment,
 *	  tags, refresh time) and whether the agent says it is authorized.
 *	  Also the trigger that fills in agents.os, which MIG's scheduler never
 *	  writes.
 *
 *	  An agent is the heartbeat's id when it gives one; otherwise the agent
 *	  last heard from with the same queue location; otherwise a new agent,
 *	  numbered from agent_id_seq.  A heartbeat older than the one stored
 *	  changes nothing.  Commands the spool sync deferred for want of the
 *	  agent are taken on its next pass.
 *
 *	  Not here: reading the heartbeat's JSON (heartbeat.c), the spool
 *	  (spool.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "gotime.h"
#include "heartbeat.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"

static void
invalid(const char *error)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid heartbeat: %s", error)));
}

/*
 * Insert or update the agent's row; false when a newer heartbeat is stored.
 * What the heartbeat leaves out of MIG's columns takes Go's zero value, as
 * MIG's scheduler writes it (its code reads mode, refreshtime, environment,
 * tags and destructiontime as non-null values); an update keeps what the
 * heartbeat does not say.
 */
static bool
upsert_agent(Heartbeat *h, int64 id, bool only_insert)
{
	Oid			types[16] = {NUMERICOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID, JSONOID, JSONOID, TEXTOID, BOOLOID};
	Datum		values[16];
	char		nulls[16];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = NumericGetDatum(int64_to_numeric(id));
	values[1] = CStringGetTextDatum(h->name);
	values[2] = CStringGetTextDatum(h->queueloc);
	values[3] = CStringGetTextDatum(h->os);
	values[4] = CStringGetTextDatum(h->version);
	values[5] = Int32GetDatum((int32) h->pid);
	values[6] = TimestampTzGetDatum(h->starttime);
	/* not destroyed: Go's zero time, as MIG's scheduler writes it */
	values[7] = TimestampTzGetDatum(h->has_destructiontime ? h->destructiontime :
									mig_unix_to_timestamptz(MIG_GO_ZERO_UNIX, 0));
	values[8] = TimestampTzGetDatum(h->heartbeattime);
	/* a heartbeat says the agent is alive: online unless it says otherwise */
	values[9] = CStringGetTextDatum(h->status != NULL && h->status[0] != '\0' ?
									h->status : MIG_AGENT_ONLINE);
	values[10] = h->mode ? CStringGetTextDatum(h->mode) : (Datum) 0;
	nulls[10] = h->mode ? ' ' : 'n';
	values[11] = TimestampTzGetDatum(h->refreshtime);
	nulls[11] = h->has_refreshtime ? ' ' : 'n';
	values[12] = PointerGetDatum(h->environment);
	nulls[12] = h->environment ? ' ' : 'n';
	values[13] = PointerGetDatum(h->tags);
	nulls[13] = h->tags ? ' ' : 'n';
	values[14] = h->loadername ? CStringGetTextDatum(h->loadername) : (Datum) 0;
	nulls[14] = h->loadername ? ' ' : 'n';
	values[15] = BoolGetDatum(h->authorized);
	nulls[15] = h->has_authorized ? ' ' : 'n';

	if (SPI_execute_with_args(psprintf("INSERT INTO %s AS a (id, name, queueloc, os, version, pid, "
									   "starttime, destructiontime, heartbeattime, status, mode, "
									   "refreshtime, environment, tags, loadername, authorized) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
									   "COALESCE($11, ''), "
									   "COALESCE($12, " MIG_GO_ZERO_SQL "), "
									   "COALESCE($13, 'null'::json), COALESCE($14, 'null'::json), "
									   "$15, $16) "
									   "ON CONFLICT (id) DO %s RETURNING id",
									   mig_qualified_name("agents"),
									   only_insert ? "NOTHING" :
									   "UPDATE SET name = excluded.name, queueloc = excluded.queueloc, "
									   "os = excluded.os, version = excluded.version, pid = excluded.pid, "
									   "starttime = excluded.starttime, "
									   "destructiontime = CASE WHEN excluded.destructiontime = "
									   MIG_GO_ZERO_SQL " THEN a.destructiontime "
									   "ELSE excluded.destructiontime END, "
									   "heartbeattime = excluded.heartbeattime, "
									   "status = CASE WHEN a.status = "
									   MIG_SQL_STATUS(MIG_AGENT_DESTROYED) " THEN a.status "
									   "ELSE excluded.status END, "
									   "mode = COALESCE($11, a.mode), "
									   "refreshtime = COALESCE($12, a.refreshtime), "
									   "environment = COALESCE($13, a.environment), "
									   "tags = COALESCE($14, a.tags), "
									   "loadername = COALESCE($15, a.loadername), "
									   "authorized = COALESCE($16, a.authorized) "
									   "WHERE excluded.heartbeattime >= a.heartbeattime"),
							  16, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not upsert the agent");
	return SPI_processed == 1;
}

static int64
query_id(const char *sql, Oid type, Datum value)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(sql, 1, &type, &value, NULL, false, 0) < 0)
		elog(ERROR, "could not run \"%s\"", sql);
	if (SPI_processed == 0)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return 0;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, d));
}

PG_FUNCTION_INFO_V1(mig_agent_heartbeat);
Datum
mig_agent_heartbeat(PG_FUNCTION_ARGS)
{
	char	   *doctext = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *error = NULL;
	Heartbeat	h;
	int64		id;
	int			spi;

	mig_require_schema_version(102, "mig_agent_heartbeat()");
	if (!mig_heartbeat_parse(doctext, strlen(doctext), &h, &error))
		invalid(error);
	/* no heartbeat time: the time it arrives */
	if (!h.has_heartbeattime)
		h.heartbeattime = GetCurrentStatementStartTimestamp();

	spi = mig_spi_connect();
	id = h.id;
	if (id > 0)
	{
		(void) upsert_agent(&h, id, false);
	}
	else
	{
		/* one agent per queue location, even when two heartbeats race */
		(void) mig_advisory_xact_lock(MIG_LOCK_QUEUELOC,
									  DatumGetUInt32(DirectFunctionCall1Coll(hashtext, C_COLLATION_OID,
																			 CStringGetTextDatum(h.queueloc))),
									  true);
		id = query_id(psprintf("SELECT id FROM %s WHERE queueloc = $1 "
							   "ORDER BY heartbeattime DESC, id DESC LIMIT 1",
							   mig_qualified_name("agents")),
					  TEXTOID, CStringGetTextDatum(h.queueloc));
		if (id > 0)
			(void) upsert_agent(&h, id, false);
		else
		{
			/* a new agent; skip ids someone wrote by hand */
			char	   *nextval = psprintf("SELECT pg_catalog.nextval($1::regclass)::numeric");
			Datum		seq = CStringGetTextDatum(mig_qualified_name("agent_id_seq"));

			do
				id = query_id(nextval, TEXTOID, seq);
			while (!upsert_agent(&h, id, true));
		}
	}
	mig_spi_finish(spi);

	PG_RETURN_NUMERIC(int64_to_numeric(id));
}

/*
 * mig_agents_os() -> trigger, BEFORE INSERT ON agents FOR EACH ROW WHEN
 * (NEW.os IS NULL)
 *
 * The seed's agents.os is NOT NULL, and MIG's scheduler never writes it:
 * such a row takes the "os" of its environment (MIG's agents say it there),
 * cut to the column's 2048 characters, or an empty string.  As the writer,
 * no SQL.
 */
#define AGENTS_OS_MAX_CHARS 2048

PG_FUNCTION_INFO_V1(mig_agents_os);
Datum
mig_agents_os(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	HeapTuple	tuple;
	int			cols[1];
	Datum		values[1];
	bool		nulls[1] = {false};
	bool		isnull;
	Datum		env;
	char	   *os = "";

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mig_agents_os() must be a BEFORE INSERT FOR EACH ROW trigger")));
	rel = trigdata->tg_relation;
	tuple = trigdata->tg_trigtuple;
	cols[0] = mig_attnum(rel, "os");
	(void) heap_getattr(tuple, cols[0], RelationGetDescr(rel), &isnull);
	if (!isnull)
		return PointerGetDatum(tuple);

	env = heap_getattr(tuple, mig_attnum(rel, "environment"), RelationGetDescr(rel), &isnull);
	if (!isnull)
	{
		LOCAL_FCINFO(call, 2);
		Datum		field;

		InitFunctionCallInfoData(*call, NULL, 2, InvalidOid, NULL, NULL);
		call->args[0].value = env;
		call->args[0].isnull = false;
		call->args[1].value = CStringGetTextDatum("os");
		call->args[1].isnull = false;
		field = json_object_field_text(call);
		if (!call->isnull)
		{
			os = TextDatumGetCString(field);
			os[pg_mbcharcliplen(os, strlen(os), AGENTS_OS_MAX_CHARS)] = '\0';
		}
	}
	values[0] = CStringGetTextDatum(os);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, RelationGetDescr(rel), 1, cols,
													 values, nulls));
}
