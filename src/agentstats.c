/*-------------------------------------------------------------------------
 *
 * agentstats.c
 *	  MIG's AgentsStats (mig.AgentsStats in agent.go), computed in one pass
 *	  over agents.  MIG's scheduler runs nine queries for them
 *	  (database/agents.go), most with NOT IN subqueries over agents: each
 *	  number here is exactly what its query returns on the same rows
 *	  (test/sql/periodic.sql runs both), but from one pass that keeps, per
 *	  queue location, what the numbers need:
 *
 *	  - onlineagents / byversion: agents online (by version);
 *	  - idleagents / byversion: agents idle whose queue location has no
 *		online agent (by version);
 *	  - onlineendpoints: queue locations with an online agent;
 *	  - idleendpoints: with an idle agent and no online one;
 *	  - newendpoints: with an agent started in the last 24 hours, and none
 *		heard from between 7 days and 24 hours ago;
 *	  - multiagentsendpoints: with more than one online agent;
 *	  - disappearedendpoints: with an agent heard from in the last 7 days,
 *		and no agent online or idle;
 *	  - flappingendpoints: with more than one agent online or idle.
 *
 *	  A row that is neither online nor idle, not heard from for 7 days and
 *	  not started in the last day counts for nothing and is not kept: in a
 *	  fleet where most agents are long gone, the table in memory holds the
 *	  live part only, and when that part is small the pass reads only its
 *	  rows, found through the indexes on status, heartbeattime and
 *	  starttime, rather than every row of the table.
 *
 *	  Not here: keeping the statistics, and the other periodic tasks
 *	  (periodic.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "agentstats.h"
#include "heartbeat.h"
#include "schema.h"

/* what one queue location holds, as far as the numbers go */
typedef struct Endpoint
{
	const char *queueloc;		/* the key */
	uint32		hash;
	char		status;
	int32		online;
	int32		idle;
	bool		seen_before;	/* an agent heard from in (7 days, 24 hours) ago */
	bool		started_since;	/* an agent started in the last 24 hours */
	bool		heard_this_week;	/* an agent heard from in the last 7 days */
} Endpoint;

#define SH_PREFIX endpoints
#define SH_ELEMENT_TYPE Endpoint
#define SH_KEY_TYPE const char *
#define SH_KEY queueloc
#define SH_HASH_KEY(tb, key) hash_bytes((const unsigned char *) (key), strlen(key))
#define SH_EQUAL(tb, a, b) (strcmp(a, b) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* agents counted by version */
typedef struct Version
{
	char	   *version;
	int64		online;
	int64		idle;			/* whose queue location has no online agent */
} Version;

typedef struct Versions
{
	MemoryContext cxt;			/* where they live */
	Version    *v;
	int			n;
	int			max;
} Versions;

/* the index of a version, added when new */
static int
version_of(Versions *vs, const char *version)
{
	for (int i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].version, version) == 0)
			return i;
	if (vs->n == vs->max)
	{
		vs->max = Max(16, vs->max * 2);
		vs->v = vs->v ? repalloc(vs->v, sizeof(Version) * vs->max) :
			MemoryContextAlloc(vs->cxt, sizeof(Version) * vs->max);
	}
	vs->v[vs->n].version = MemoryContextStrdup(vs->cxt, version);
	vs->v[vs->n].online = vs->v[vs->n].idle = 0;
	return vs->n++;
}

/*
 * An idle agent's version and queue location, judged after the scan (by
 * index and key: the tables move their entries as they grow).
 */
typedef struct IdleAgent
{
	int			version;		/* index in Versions */
	const char *queueloc;		/* an endpoint's key */
} IdleAgent;

/* versions sort as ORDER BY version does, in the database's collation */
static int
cmp_versions(const void *a, const void *b)
{
	const Version *x = a;
	const Version *y = b;

	return varstr_cmp(x->version, strlen(x->version), y->version, strlen(y->version),
					  DEFAULT_COLLATION_OID);
}

/* [{"version" : "...", "count" : n}, ...] as json_agg(json_build_object()) writes it */
static Datum
by_version(Versions *vs, bool idle)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < vs->n; i++)
	{
		int64		count = idle ? vs->v[i].idle : vs->v[i].online;

		if (count == 0)
			continue;
		appendStringInfoString(&buf, first ? "{\"version\" : " : ", {\"version\" : ");
		escape_json(&buf, vs->v[i].version);
		appendStringInfo(&buf, ", \"count\" : " INT64_FORMAT "}", count);
		first = false;
	}
	appendStringInfoChar(&buf, ']');
	return DirectFunctionCall1(json_in, CStringGetDatum(buf.data));
}

/* the columns of agents the scan reads */
typedef struct Columns
{
	AttrNumber	queueloc;
	AttrNumber	version;
	AttrNumber	status;
	AttrNumber	heartbeattime;
	AttrNumber	starttime;
} Columns;

/* the statistics' points in time, MIG's */
typedef struct Window
{
	TimestampTz day_ago;
	TimestampTz week_ago;
} Window;

/*
 * One agent row into the tables, its strings read in the current (per-row)
 * memory context; what stays is copied into keep.  True when the row is an
 * idle agent, filled into *idle, to judge once every row is in.
 */
static bool
take_row(TupleTableSlot *slot, const Columns *c, const Window *w, MemoryContext keep,
		 endpoints_hash *eps, Versions *vs, IdleAgent *idle)
{
	bool		isnull;
	Datum		d;
	char	   *status = NULL;
	bool		online,
				is_idle;
	TimestampTz heartbeat,
				start;
	Endpoint   *e;
	bool		found;

	d = slot_getattr(slot, c->status, &isnull);
	if (!isnull)
		status = TextDatumGetCString(d);
	online = status != NULL && strcmp(status, MIG_AGENT_ONLINE) == 0;
	is_idle = status != NULL && strcmp(status, MIG_AGENT_IDLE) == 0;
	heartbeat = DatumGetTimestampTz(slot_getattr(slot, c->heartbeattime, &isnull));
	start = DatumGetTimestampTz(slot_getattr(slot, c->starttime, &isnull));
	/* counts for nothing: not kept */
	if (!online && !is_idle && heartbeat <= w->week_ago && start <= w->day_ago)
		return false;

	e = endpoints_insert(eps, TextDatumGetCString(slot_getattr(slot, c->queueloc, &isnull)),
						 &found);
	if (!found)
	{
		e->queueloc = MemoryContextStrdup(keep, e->queueloc);
		e->online = e->idle = 0;
		e->seen_before = e->started_since = e->heard_this_week = false;
	}
	e->seen_before |= heartbeat > w->week_ago && heartbeat < w->day_ago;
	e->started_since |= start > w->day_ago;
	e->heard_this_week |= heartbeat > w->week_ago;
	if (online)
	{
		/* version_of() may move vs->v: take the index first */
		int			v = version_of(vs, TextDatumGetCString(slot_getattr(slot, c->version,
																		&isnull)));

		e->online++;
		vs->v[v].online++;
	}
	else if (is_idle)
	{
		e->idle++;
		idle->version = version_of(vs, TextDatumGetCString(slot_getattr(slot, c->version,
																		 &isnull)));
		idle->queueloc = e->queueloc;
		return true;
	}
	return false;
}

#define MIG_STATS_NAME(id, name, type) name,
#define MIG_STATS_TYPE(id, name, type) type,
const char *const mig_stats_column_names[MIG_STATS_NCOLUMNS] = {
	MIG_AGENTS_STATS_COLUMNS(MIG_STATS_NAME)
};
const Oid	mig_stats_column_types[MIG_STATS_NCOLUMNS] = {
	MIG_AGENTS_STATS_COLUMNS(MIG_STATS_TYPE)
};
#undef MIG_STATS_NAME
#undef MIG_STATS_TYPE

void
mig_stats_check_desc(TupleDesc desc, const char *what)
{
	bool		same = desc->natts == MIG_STATS_NCOLUMNS;

	for (int i = 0; same && i < MIG_STATS_NCOLUMNS; i++)
		same = strcmp(NameStr(TupleDescAttr(desc, i)->attname), mig_stats_column_names[i]) == 0 &&
			TupleDescAttr(desc, i)->atttypid == mig_stats_column_types[i];
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s does not have the columns of this version of mig's agent statistics",
						what),
				 errhint("Run ALTER EXTENSION mig UPDATE.")));
}

/* the numbers of the queue locations, into values[3..] (see agentstats.h) */
static void
count_endpoints(endpoints_hash *eps, Datum *values)
{
	endpoints_iterator it;
	Endpoint   *e;
	int64		online = 0,
				idle = 0,
				fresh = 0,
				multi = 0,
				gone = 0,
				flapping = 0;

	endpoints_start_iterate(eps, &it);
	while ((e = endpoints_iterate(eps, &it)) != NULL)
	{
		online += e->online > 0;
		idle += e->idle > 0 && e->online == 0;
		fresh += e->started_since && !e->seen_before;
		multi += e->online > 1;
		gone += e->heard_this_week && e->online + e->idle == 0;
		flapping += e->online + e->idle > 1;
	}
	values[MIG_STATS_ONLINE_ENDPOINTS] = Int64GetDatum(online);
	values[MIG_STATS_IDLE_ENDPOINTS] = Int64GetDatum(idle);
	values[MIG_STATS_NEW_ENDPOINTS] = Int64GetDatum(fresh);
	values[MIG_STATS_MULTI_AGENTS_ENDPOINTS] = Int64GetDatum(multi);
	values[MIG_STATS_DISAPPEARED_ENDPOINTS] = Int64GetDatum(gone);
	values[MIG_STATS_FLAPPING_ENDPOINTS] = Int64GetDatum(flapping);
}

/*
 * The rows of agents that can count, when they are few: the TIDs the
 * indexes give for each of take_row's tests (status online, status idle,
 * heard from after week_ago, started after day_ago), in one bitmap.  In a
 * fleet of agents long gone (MIG's: 1% of them live), reading these rows
 * costs a small part of a scan of the table.  NULL, for the scan, when the
 * table is small or has no statistics, when an index is missing, or when
 * the indexes give more than a tenth of the rows the table is estimated to
 * hold (the scan is then as cheap).  take_row judges every row it is given
 * anyway: a bitmap that lost its precision costs time, not numbers.
 */
#define MIG_STATS_MIN_BLOCKS 128
#define MIG_STATS_INDEX_SHARE 10

typedef struct IndexTest
{
	const char *column;
	StrategyNumber strategy;
	RegProcedure proc;
	Datum		value;
} IndexTest;

static TIDBitmap *
counting_rows(Relation rel, Snapshot snapshot, const Window *w)
{
	IndexTest	tests[] = {
		{"status", BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(MIG_AGENT_ONLINE)},
		{"status", BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(MIG_AGENT_IDLE)},
		{"heartbeattime", BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT,
		TimestampTzGetDatum(w->week_ago)},
		{"starttime", BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT, TimestampTzGetDatum(w->day_ago)},
	};
	Oid			indexes[lengthof(tests)];
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	double		budget;
	double		found = 0;
	TIDBitmap  *tbm;

	if (nblocks < MIG_STATS_MIN_BLOCKS || rel->rd_rel->relpages <= 0 ||
		rel->rd_rel->reltuples < 0)
		return NULL;
	/* the rows the table holds now, at the density its statistics saw */
	budget = nblocks * (rel->rd_rel->reltuples / rel->rd_rel->relpages) / MIG_STATS_INDEX_SHARE;
	for (int i = 0; i < lengthof(tests); i++)
		if (!OidIsValid(indexes[i] = mig_index_find(rel, tests[i].column, false)))
			return NULL;

	tbm = tbm_create(work_mem * 1024L, NULL);
	for (int i = 0; i < lengthof(tests) && found <= budget; i++)
	{
		Relation	index = index_open(indexes[i], AccessShareLock);
		ScanKeyData key;
		IndexScanDesc scan;
		ItemPointer tid;
		ItemPointerData tids[256];
		int			n = 0;

		ScanKeyEntryInitialize(&key, 0, 1, tests[i].strategy, InvalidOid,
							   index->rd_indcollation[0], tests[i].proc, tests[i].value);
		scan = index_beginscan(rel, index, snapshot, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		{
			if (++found > budget)
				break;
			tids[n++] = *tid;
			if (n == lengthof(tids))
			{
				tbm_add_tuples(tbm, tids, n, false);
				n = 0;
				CHECK_FOR_INTERRUPTS();
			}
		}
		tbm_add_tuples(tbm, tids, n, false);
		index_endscan(scan);
		index_close(index, AccessShareLock);
	}
	if (found > budget)
	{
		tbm_free(tbm);
		return NULL;
	}
	return tbm;
}

/* the next row: of the table, or of the bitmap's pages (*page: the current one) */
static bool
next_row(TableScanDesc scan, TBMIterator *it, TBMIterateResult **page, TupleTableSlot *slot)
{
	if (it == NULL)
		return table_scan_getnextslot(scan, ForwardScanDirection, slot);
	while (*page == NULL || !table_scan_bitmap_next_tuple(scan, *page, slot))
	{
		do
		{
			if ((*page = tbm_iterate(it)) == NULL)
				return false;
			CHECK_FOR_INTERRUPTS();
		} while (!table_scan_bitmap_next_block(scan, *page));
	}
	return true;
}

void
mig_agents_stats_scan(TimestampTz now, Snapshot snapshot, Datum *values, bool *nulls)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "mig agents stats",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	Relation	rel = table_open(mig_relid("agents"), AccessShareLock);
	TableScanDesc scan;
	TIDBitmap  *tbm;
	TBMIterator *it = NULL;
	TBMIterateResult *page = NULL;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	endpoints_hash *eps = endpoints_create(work, 1024, NULL);
	Versions	vs = {work, NULL, 0, 0};
	IdleAgent  *idle = palloc(sizeof(IdleAgent) * 1024);
	int64		nidle = 0,
				maxidle = 1024;
	int64		online_agents = 0,
				idle_agents = 0;
	Columns		c;
	Window		w;
	MemoryContext row_cxt = AllocSetContextCreate(work, "mig agents stats row",
												  ALLOCSET_SMALL_SIZES);

	c.queueloc = mig_attnum(rel, "queueloc");
	c.version = mig_attnum(rel, "version");
	c.status = mig_attnum(rel, "status");
	c.heartbeattime = mig_attnum(rel, "heartbeattime");
	c.starttime = mig_attnum(rel, "starttime");
	w.day_ago = now - INT64CONST(24) * USECS_PER_HOUR;
	w.week_ago = now - INT64CONST(7 * 24) * USECS_PER_HOUR;

	tbm = counting_rows(rel, snapshot, &w);
	if (tbm != NULL)
	{
		scan = table_beginscan_bm(rel, snapshot, 0, NULL);
		it = tbm_begin_iterate(tbm);
	}
	else
		scan = table_beginscan(rel, snapshot, 0, NULL);
	while (next_row(scan, it, &page, slot))
	{
		if (nidle == maxidle)
		{
			maxidle *= 2;
			idle = repalloc_huge(idle, sizeof(IdleAgent) * maxidle);
		}
		MemoryContextSwitchTo(row_cxt);
		if (take_row(slot, &c, &w, work, eps, &vs, &idle[nidle]))
			nidle++;
		MemoryContextSwitchTo(work);
		MemoryContextReset(row_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	if (tbm != NULL)
	{
		tbm_end_iterate(it);
		tbm_free(tbm);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);

	/* the idle agents count where their queue location has no online one */
	for (int64 i = 0; i < nidle; i++)
		if (endpoints_lookup(eps, idle[i].queueloc)->online == 0)
			vs.v[idle[i].version].idle++;
	for (int i = 0; i < vs.n; i++)
	{
		online_agents += vs.v[i].online;
		idle_agents += vs.v[i].idle;
	}
	qsort(vs.v, vs.n, sizeof(Version), cmp_versions);

	MemoryContextSwitchTo(old);
	memset(nulls, false, sizeof(bool) * MIG_STATS_NCOLUMNS);
	values[MIG_STATS_TIMESTAMP] = TimestampTzGetDatum(now);
	values[MIG_STATS_ONLINE_AGENTS] = Int64GetDatum(online_agents);
	values[MIG_STATS_IDLE_AGENTS] = Int64GetDatum(idle_agents);
	values[MIG_STATS_ONLINE_BY_VERSION] = by_version(&vs, false);
	values[MIG_STATS_IDLE_BY_VERSION] = by_version(&vs, true);
	count_endpoints(eps, values);
	MemoryContextDelete(work);
}
