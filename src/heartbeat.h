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

/* Go's mig.Agent, the fields the agents and agent_details tables keep */
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
