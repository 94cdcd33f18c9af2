/*-------------------------------------------------------------------------
 *
 * sql.c
 *	  How mig runs SQL: every statement under a search_path nobody else
 *	  chose, the extension owner's rights only as a restricted operation,
 *	  saved plans, and subtransactions that catch an error.
 *
 *	  Not here: what the statements say (each concern writes its own), the
 *	  lookup of the extension's relations (schema.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "schema.h"
#include "sql.h"

/*
 * mig's own SQL runs under this search_path, whatever the caller's session,
 * role or database says: functions, operators and types come from
 * pg_catalog alone (the session's temporary schema is listed last, where it
 * shadows nothing, and is never searched for functions or operators), and
 * mig's relations are always written with their schema (mig_qualified_name).
 * A role that can create objects somewhere on a caller's path can then put
 * nothing in the way of mig's statements, even where they run with the
 * extension owner's rights (verify.c) or as the worker.  It is the path
 * PostgreSQL 17 gives its own maintenance commands (RestrictSearchPath).
 */
#define MIG_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Pin the search_path until mig_unpin_search_path(level): a GUC nest level
 * of its own, as a function with SET search_path has, so that an error
 * restores the caller's path when its (sub)transaction aborts.
 */
int
mig_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", MIG_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
mig_unpin_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

/*
 * The path of SQL a caller wrote and mig runs with the caller's rights (an
 * action's target, target.c): pg_catalog first, so that nothing planted
 * shadows its functions, operators and types; then the extension's
 * schema, so that MIG's unqualified relation names (agents, commands) are
 * mig's; pg_temp last.  Undone by mig_unpin_search_path(level).
 */
int
mig_pin_caller_sql_path(void)
{
	int			level = NewGUCNestLevel();
	char	   *ext = get_namespace_name(get_rel_namespace(mig_relid("agents")));

	(void) set_config_option("search_path",
							 psprintf("pg_catalog, %s, pg_temp", quote_identifier(ext)),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* SPI_connect under the pinned search_path; the level for mig_spi_finish */
int
mig_spi_connect(void)
{
	int			level = mig_pin_search_path();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return level;
}

void
mig_spi_finish(int level)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	mig_unpin_search_path(level);
}

/*
 * Become the owner for mig's own SQL, as PostgreSQL does to run a table
 * owner's code in VACUUM: a security-restricted operation (no SET ROLE, no
 * temporary objects, nothing left behind for the caller), under the pinned
 * search_path, in an SPI connection of its own.  mig_as_owner_end() undoes
 * all three; after an error, mig_as_owner_restore() gives the caller back
 * its user (the (sub)transaction's abort takes care of SPI and the path).
 */
void
mig_as_owner_begin(MigAsOwner *s)
{
	GetUserIdAndSecContext(&s->save_userid, &s->save_sec);
	SetUserIdAndSecContext(mig_owner(),
						   s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	s->spi = mig_spi_connect();
}

void
mig_as_owner_end(MigAsOwner *s)
{
	mig_spi_finish(s->spi);
	mig_as_owner_restore(s);
}

void
mig_as_owner_restore(MigAsOwner *s)
{
	SetUserIdAndSecContext(s->save_userid, s->save_sec);
}

/*
 * The plan of statement which, made on first use.  Plans are dropped when
 * the extension's relations may not be the ones they were made with (the
 * extension dropped, moved or updated: the SQL names the schema, and may
 * depend on the version); PostgreSQL's plan cache replans them after any
 * other change.
 */
SPIPlanPtr
mig_plan(MigPlans *plans, int which)
{
	uint64		generation;

	(void) mig_relid("actions");	/* not installed: say so */
	generation = mig_schema_generation();
	Assert(which >= 0 && which < plans->n);
	if (plans->made_for != generation)
	{
		mig_forget_plans(plans);
		plans->made_for = generation;
	}
	if (plans->plans == NULL)
		plans->plans = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(SPIPlanPtr) * plans->n);
	if (plans->plans[which] == NULL)
	{
		Oid			types[MIG_PLAN_MAX_ARGS];
		int			nargs = 0;
		char	   *sql = plans->sql(which, types, &nargs);
		SPIPlanPtr	p;

		Assert(nargs <= MIG_PLAN_MAX_ARGS);
		p = SPI_prepare_cursor(sql, nargs, types, plans->cursor_options);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans->plans[which] = p;
		pfree(sql);
	}
	return plans->plans[which];
}

/* run statement which; its SPI result code (an error raises) */
int
mig_run_plan(MigPlans *plans, int which, Datum *values, const char *nulls,
			 bool read_only, long count)
{
	SPIPlanPtr	plan = mig_plan(plans, which);
	int			nest = -1;
	int			rc;

	/* a look-up by key: no sequential scan, at whatever size (MigPlans) */
	if (plans->by_key & MIG_PLAN_BIT(which))
	{
		nest = NewGUCNestLevel();
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	rc = SPI_execute_plan(plan, values, nulls, read_only, count);
	if (nest >= 0)
		AtEOXact_GUC(true, nest);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return rc;
}

void
mig_forget_plans(MigPlans *plans)
{
	if (plans->plans != NULL)
		for (int i = 0; i < plans->n; i++)
			if (plans->plans[i] != NULL)
			{
				SPI_freeplan(plans->plans[i]);
				plans->plans[i] = NULL;
			}
	plans->made_for = 0;
}

ErrorData *
mig_try_subxact(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return edata;
}
