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

#include "datatype/timestamp.h"
#include "utils/snapshot.h"

/* the columns of mig_agents_stats() and of agents_stats, in order */
#define MIG_STATS_TAKEN_AT 0
#define MIG_STATS_ONLINE_AGENTS 1
#define MIG_STATS_ONLINE_BY_VERSION 2
#define MIG_STATS_ONLINE_ENDPOINTS 3
#define MIG_STATS_IDLE_AGENTS 4
#define MIG_STATS_IDLE_BY_VERSION 5
#define MIG_STATS_IDLE_ENDPOINTS 6
#define MIG_STATS_NEW_ENDPOINTS 7
#define MIG_STATS_MULTI_AGENTS_ENDPOINTS 8
#define MIG_STATS_DISAPPEARED_ENDPOINTS 9
#define MIG_STATS_FLAPPING_ENDPOINTS 10
#define MIG_STATS_NCOLUMNS 11

/* the statistics as of now, as snapshot sees the agents */
extern void mig_agents_stats_scan(TimestampTz now, Snapshot snapshot, Datum *values,
								  bool *nulls);

#endif							/* AGENTSTATS_H */
