/*-------------------------------------------------------------------------
 *
 * heartbeat.h
 *	  An agent's heartbeat, from MIG's JSON to what the tables keep
 *	  (heartbeat.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HEARTBEAT_H
#define HEARTBEAT_H

#include "datatype/timestamp.h"

/*
 * The statuses MIG gives an agent (its mig.AgtStatus*), written once: as C
 * strings, and quoted for SQL with MIG_SQL_STATUS.  A heartbeat makes an
 * agent online; liveness (periodic.c) makes it idle, then offline; MIG's
 * scheduler marks one destroyed, which no heartbeat undoes.
 */
#define MIG_AGENT_ONLINE "online"
#define MIG_AGENT_IDLE "idle"
#define MIG_AGENT_OFFLINE "offline"
#define MIG_AGENT_DESTROYED "destroyed"
#define MIG_SQL_STATUS(status) "'" status "'"

/* Go's mig.Agent, the fields the agents table keeps */
typedef struct Heartbeat
{
	int64		id;				/* 0: none, find the agent by queueloc */
	char	   *name;			/* not empty */
	char	   *queueloc;		/* not empty */
	char	   *os;				/* "" if none */
	char	   *version;		/* "" if none */
	int64		pid;
	TimestampTz starttime;
	TimestampTz destructiontime;
	bool		has_destructiontime;
	TimestampTz heartbeattime;
	bool		has_heartbeattime;	/* else the caller's time of arrival */
	char	   *status;			/* NULL if none */
	char	   *mode;
	char	   *loadername;
	TimestampTz refreshtime;
	bool		has_refreshtime;
	bool		has_authorized;
	bool		authorized;
	text	   *environment;	/* verbatim JSON, or NULL */
	text	   *tags;
} Heartbeat;

extern bool mig_heartbeat_parse(char *text, int len, Heartbeat *h, char **error);

#endif							/* HEARTBEAT_H */
