/*-------------------------------------------------------------------------
 *
 * targetrun.h
 *	  A checked target's plan, run within its bounds (targetrun.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TARGETRUN_H
#define TARGETRUN_H

#include "nodes/plannodes.h"
#include "tcop/dest.h"

/* planner options of a target: no parallel workers (see targetrun.c) */
#define MIG_TARGET_CURSOR_OPTIONS 0

/*
 * The settings a target is parsed, planned and run with, in the caller's
 * current GUC nest level (its path's, mig_pin_caller_sql_path): those that
 * change what it means fixed, no JIT, work_mem and hash_mem_multiplier
 * within mig.target_memory.
 */
extern void mig_target_settings(void);

/*
 * An error context callback (arg: the statement's text) that shows an
 * error of the statement, as SPI does, against that text.
 */
extern void mig_target_sql_context(void *arg);

/*
 * Call fn(arg) within mig.target_timeout (57014) and mig.target_memory
 * (54000): a target's analysis, planning and run, and the checks between.
 */
extern void mig_target_bounded(void (*fn) (void *arg), void *arg);

/*
 * Run the plan stmt of statement sql into dest, read-only with the active
 * snapshot, as the current user; within mig_target_bounded().
 */
extern void mig_target_execute(PlannedStmt *stmt, const char *sql, DestReceiver *dest);

#endif							/* TARGETRUN_H */
