/*-------------------------------------------------------------------------
 *
 * agentstats.h
 *	  MIG's AgentsStats in one scan of agents (agentstats.c), for the
 *	  periodic tasks and mig_agents_stats() (periodic.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AGENTSTATS_H
#define AGENTSTATS_H

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "access/tupdesc.h"
#include "utils/snapshot.h"

/*
 * The columns of agents_stats and of mig_agents_stats(), in order: MIG's
 * names (its database/schema.sql) and types.  The one list: the C code
 * takes the indexes and the INSERT from it (periodic.c); the table and the
 * function's OUT columns are in the extension's script, and each is
 * checked against the list where it is used (the INSERT names every
 * column; mig_agents_stats() compares its result type).  A new statistic
 * is a line here, its computation, and an update script.
 */
#define MIG_AGENTS_STATS_COLUMNS(X) \
	X(TIMESTAMP, "timestamp", TIMESTAMPTZOID) \
	X(ONLINE_AGENTS, "online_agents", INT8OID) \
	X(ONLINE_BY_VERSION, "online_agents_by_version", JSONOID) \
	X(ONLINE_ENDPOINTS, "online_endpoints", INT8OID) \
	X(IDLE_AGENTS, "idle_agents", INT8OID) \
	X(IDLE_BY_VERSION, "idle_agents_by_version", JSONOID) \
	X(IDLE_ENDPOINTS, "idle_endpoints", INT8OID) \
	X(NEW_ENDPOINTS, "new_endpoints", INT8OID) \
	X(MULTI_AGENTS_ENDPOINTS, "multi_agents_endpoints", INT8OID) \
	X(DISAPPEARED_ENDPOINTS, "disappeared_endpoints", INT8OID) \
	X(FLAPPING_ENDPOINTS, "flapping_endpoints", INT8OID)

#define MIG_STATS_ENUM(id, name, type) MIG_STATS_##id,
enum
{
	MIG_AGENTS_STATS_COLUMNS(MIG_STATS_ENUM)
	MIG_STATS_NCOLUMNS
};
#undef MIG_STATS_ENUM

/* the column names and type oids of the list, in order */
extern const char *const mig_stats_column_names[MIG_STATS_NCOLUMNS];
extern const Oid mig_stats_column_types[MIG_STATS_NCOLUMNS];

/* ERROR unless desc has the list's columns (names and types) */
extern void mig_stats_check_desc(TupleDesc desc, const char *what);

/* the statistics as of now, as snapshot sees the agents */
extern void mig_agents_stats_scan(TimestampTz now, Snapshot snapshot, Datum *values,
								  bool *nulls);

#endif							/* AGENTSTATS_H */
