/*-------------------------------------------------------------------------
 *
 * authorize.h
 *	  The ACL rule for the code that plans an action's commands (target.c):
 *	  the authorized agents among a set, and one agent's verdict with the
 *	  reason mig_authorize_explain gives (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUTHORIZE_H
#define AUTHORIZE_H

/* the agents among agents[0..n-1] (NULL: all) the action may run on */
extern void mig_authorized_agents_each(Datum action, Datum *agents, int n,
									   void (*emit) (Datum agent, void *arg),
									   void *arg);
/* an emit that puts the agent into the ReturnSetInfo arg's tuplestore */
extern void mig_emit_agent_row(Datum agent, void *arg);

/* one action, decided agent by agent */
typedef struct MigAclAction MigAclAction;

/* the action on agents[0..n-1]; many are read as a fleet, at once */
extern MigAclAction *mig_acl_begin(Datum action, Datum *agents, int n);
/* the verdict on agents[i], and the reason of a denial */
extern bool mig_acl_decide(MigAclAction *a, int i, char **reason);
extern void mig_acl_end(MigAclAction *a);

#endif							/* AUTHORIZE_H */
