/*-------------------------------------------------------------------------
 *
 * sql.h
 *	  How mig runs SQL (sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SQL_H
#define SQL_H

#include "executor/spi.h"

/*
 * Every SQL statement mig runs goes through SPI under a pinned search_path
 * ("pg_catalog, pg_temp"): connect with mig_spi_connect() and finish with
 * mig_spi_finish(level); mig_pin_search_path() pins it around other code.
 * An error restores the caller's path with its (sub)transaction.
 */
extern int	mig_pin_search_path(void);
extern void mig_unpin_search_path(int level);
/* SQL a caller wrote, run as the caller: "pg_catalog, <mig's schema>, pg_temp" */
extern int	mig_pin_caller_sql_path(void);
extern int	mig_spi_connect(void);
extern void mig_spi_finish(int level);

/*
 * The extension owner's rights for mig's own SQL: a security-restricted
 * operation under the pinned path, in an SPI connection of its own.
 * After an error, mig_as_owner_restore() gives the caller back its user.
 */
typedef struct MigAsOwner
{
	Oid			save_userid;
	int			save_sec;
	int			spi;
} MigAsOwner;

extern void mig_as_owner_begin(MigAsOwner *s);
extern void mig_as_owner_end(MigAsOwner *s);
extern void mig_as_owner_restore(MigAsOwner *s);

/*
 * Saved plans of one concern: statement which of plans->n, its SQL from
 * plans->sql(which, argtypes, &nargs) on first use (argtypes has room for
 * MIG_PLAN_MAX_ARGS), kept for the session while the extension's relations
 * are the ones they name.  Declare them with MIG_PLANS.
 */
#define MIG_PLAN_MAX_ARGS 16

typedef char *(*MigPlanSql) (int which, Oid *argtypes, int *nargs);

typedef struct MigPlans
{
	int			n;
	MigPlanSql	sql;
	int			cursor_options; /* 0, or CURSOR_OPT_GENERIC_PLAN */
	uint64		by_key;			/* MIG_PLAN_BIT(which): looks rows up by key */
	uint64		made_for;		/* the mig_schema_generation() they were made in */
	SPIPlanPtr *plans;
} MigPlans;

#define MIG_PLANS(n, sql, cursor_options) {(n), (sql), (cursor_options), 0, 0, NULL}

/*
 * Plans whose statements in by_key (a mask of MIG_PLAN_BIT) are planned
 * and run with enable_seqscan off.  A generic plan is made once, for the
 * table sizes of that moment: one made while spool_files held a few rows
 * scans the whole table for every batch, and goes on doing so as the table
 * grows, until an ANALYZE has it replanned.  A statement that looks up a
 * batch's rows by key is an index scan at any size.
 */
#define MIG_KEYED_PLANS(n, sql, cursor_options, by_key) \
	{(n), (sql), (cursor_options), (by_key), 0, NULL}
#define MIG_PLAN_BIT(which) (UINT64CONST(1) << (which))

extern SPIPlanPtr mig_plan(MigPlans *plans, int which);
extern int	mig_run_plan(MigPlans *plans, int which, Datum *values, const char *nulls,
						 bool read_only, long count);
extern void mig_forget_plans(MigPlans *plans);

/*
 * Run fn(arg) in an internal subtransaction of the current one.  If it
 * raises an error, the subtransaction is rolled back and the error returned
 * (copied into the caller's memory context) instead of raised; NULL when fn
 * finished.  The caller's memory context and resource owner are kept.
 */
extern ErrorData *mig_try_subxact(void (*fn) (void *arg), void *arg);

#endif							/* SQL_H */
