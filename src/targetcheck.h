/*-------------------------------------------------------------------------
 *
 * targetcheck.h
 *	  What an action's target may be (targetcheck.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TARGETCHECK_H
#define TARGETCHECK_H

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

/*
 * Each refuses what a target may not be with 42501, naming the piece: the
 * target's expression as written (its raw parse tree, under the path it is
 * analyzed with), the statement it is put into once analyzed and
 * rewritten, and that statement's plan.
 */
extern void mig_target_check_names(Node *expr);
extern void mig_target_check_queries(List *queries);
extern void mig_target_check_plan(PlannedStmt *stmt);

#endif							/* TARGETCHECK_H */
