/*-------------------------------------------------------------------------
 *
 * agent.c
 *	  mig_agent_heartbeat(heartbeat json): upsert an agent from MIG's agent
 *	  or heartbeat JSON (Go's mig.Agent), returning its id.  The seed's
 *	  agents table keeps what it has columns for; the rest worth keeping
 *	  (mode, loader, environment, tags, refresh time, authorized) goes to
 *	  agent_details, keyed by the agent's id.
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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "heartbeat.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"

/* key space of mig's advisory locks ("mig"), as two-int4 lock tags */
#define MIG_LOCK_CLASS 0x6d6967

static void
invalid(const char *error)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid heartbeat: %s", error)));
}

/* insert or update the agent's row; false when a newer heartbeat is stored */
static bool
upsert_agent(Heartbeat *h, int64 id, bool only_insert)
{
	Oid			types[10] = {NUMERICOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = NumericGetDatum(int64_to_numeric(id));
	values[1] = CStringGetTextDatum(h->name);
	values[2] = CStringGetTextDatum(h->queueloc);
	values[3] = CStringGetTextDatum(h->os);
	values[4] = CStringGetTextDatum(h->version);
	values[5] = Int32GetDatum((int32) h->pid);
	values[6] = TimestampTzGetDatum(h->starttime);
	values[7] = TimestampTzGetDatum(h->destructiontime);
	if (!h->has_destructiontime)
		nulls[7] = 'n';
	values[8] = TimestampTzGetDatum(h->heartbeattime);
	/* a heartbeat says the agent is alive: online unless it says otherwise */
	values[9] = CStringGetTextDatum(h->status != NULL && h->status[0] != '\0' ?
									h->status : "online");

	if (SPI_execute_with_args(psprintf("INSERT INTO %s AS a (id, name, queueloc, os, version, pid, "
									   "starttime, destructiontime, heartbeattime, status) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
									   "ON CONFLICT (id) DO %s RETURNING id",
									   mig_qualified_name("agents"),
									   only_insert ? "NOTHING" :
									   "UPDATE SET name = excluded.name, queueloc = excluded.queueloc, "
									   "os = excluded.os, version = excluded.version, pid = excluded.pid, "
									   "starttime = excluded.starttime, "
									   "destructiontime = excluded.destructiontime, "
									   "heartbeattime = excluded.heartbeattime, "
									   "status = CASE WHEN a.status = 'destroyed' THEN a.status "
									   "ELSE excluded.status END "
									   "WHERE excluded.heartbeattime >= a.heartbeattime"),
							  10, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not upsert the agent");
	return SPI_processed == 1;
}

static void
upsert_details(Heartbeat *h, int64 id)
{
	Oid			types[7] = {NUMERICOID, TEXTOID, TEXTOID, JSONOID, JSONOID, TIMESTAMPTZOID, BOOLOID};
	Datum		values[7];
	char		nulls[7];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = NumericGetDatum(int64_to_numeric(id));
	values[1] = h->mode ? CStringGetTextDatum(h->mode) : (Datum) 0;
	nulls[1] = h->mode ? ' ' : 'n';
	values[2] = h->loadername ? CStringGetTextDatum(h->loadername) : (Datum) 0;
	nulls[2] = h->loadername ? ' ' : 'n';
	values[3] = PointerGetDatum(h->environment);
	nulls[3] = h->environment ? ' ' : 'n';
	values[4] = PointerGetDatum(h->tags);
	nulls[4] = h->tags ? ' ' : 'n';
	values[5] = TimestampTzGetDatum(h->refreshtime);
	nulls[5] = h->has_refreshtime ? ' ' : 'n';
	values[6] = BoolGetDatum(h->authorized);
	nulls[6] = h->has_authorized ? ' ' : 'n';
	if (SPI_execute_with_args(psprintf("INSERT INTO %s (agentid, mode, loadername, environment, "
									   "tags, refreshtime, authorized) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7) "
									   "ON CONFLICT (agentid) DO UPDATE SET mode = excluded.mode, "
									   "loadername = excluded.loadername, "
									   "environment = excluded.environment, tags = excluded.tags, "
									   "refreshtime = excluded.refreshtime, "
									   "authorized = excluded.authorized, updated_at = now()",
									   mig_qualified_name("agent_details")),
							  7, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not upsert the agent's details");
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

	if (!mig_heartbeat_parse(doctext, strlen(doctext), &h, &error))
		invalid(error);
	/* no heartbeat time: the time it arrives */
	if (!h.has_heartbeattime)
		h.heartbeattime = GetCurrentStatementStartTimestamp();

	spi = mig_spi_connect();
	id = h.id;
	if (id > 0)
	{
		if (upsert_agent(&h, id, false))
			upsert_details(&h, id);
	}
	else
	{
		/* one agent per queue location, even when two heartbeats race */
		Oid			types[2] = {INT4OID, TEXTOID};
		Datum		values[2] = {Int32GetDatum(MIG_LOCK_CLASS), CStringGetTextDatum(h.queueloc)};

		if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))",
								  2, types, values, NULL, false, 0) < 0)
			elog(ERROR, "could not lock the queue location");
		id = query_id(psprintf("SELECT id FROM %s WHERE queueloc = $1 "
							   "ORDER BY heartbeattime DESC, id DESC LIMIT 1",
							   mig_qualified_name("agents")),
					  TEXTOID, CStringGetTextDatum(h.queueloc));
		if (id > 0)
		{
			if (upsert_agent(&h, id, false))
				upsert_details(&h, id);
		}
		else
		{
			/* a new agent; skip ids someone wrote by hand */
			char	   *nextval = psprintf("SELECT pg_catalog.nextval($1::regclass)::numeric");
			Datum		seq = CStringGetTextDatum(mig_qualified_name("agent_id_seq"));

			do
				id = query_id(nextval, TEXTOID, seq);
			while (!upsert_agent(&h, id, true));
			upsert_details(&h, id);
		}
	}
	mig_spi_finish(spi);

	PG_RETURN_NUMERIC(int64_to_numeric(id));
}
