/*-------------------------------------------------------------------------
 *
 * target.c
 *	  An action's target, checked, planned, checked again and run; and the
 *	  plan of an action's commands.
 *
 *	  A MIG target is a PostgreSQL WHERE condition over the agents (MIG's
 *	  doc/concepts.rst); MIG's scheduler pastes it into a query and relies on
 *	  a read-only role.  Here it is safe by construction:
 *
 *	  1. the text is parsed alone, as "SELECT <target>", by PostgreSQL's own
 *		 parser (under the settings it will run with: targetrun.c), and
 *		 must be exactly one expression: no second statement, no
 *		 FROM, WHERE, ORDER BY, set operation, locking clause or alias that
 *		 would change the query it is put into;
 *	  2. its names are checked before anything is resolved (a type's input
 *		 function runs while a query is analyzed): a type must be
 *		 pg_catalog's and not one targetcheck.c refuses, a relation one of
 *		 mig's agents, commands, actions or modules, a function, operator
 *		 or collation written with a schema must name pg_catalog, a
 *		 function's name must not be one of XML's; no WITH, TABLESAMPLE or
 *		 XML;
 *	  3. it is put into "SELECT ... FROM <mig's agents> AS agents WHERE
 *		 status IN ('online', 'idle') AND (<target>)", on a line of its own,
 *		 and analyzed, not planned, under a pinned search_path, pg_catalog
 *		 first, and the settings it runs with;
 *	  4. the analyzed query is walked: every query a SELECT without locking
 *		 or data-modifying WITH, every relation one of mig's, every function
 *		 and operator allowed (targetcheck.c: with their negators and
 *		 commutators, default arguments and SQL bodies), its sorts and
 *		 groupings too;
 *	  5. only then is it planned, without parallel workers, and the plan is
 *		 walked with the same rules: every node of a kind that only reads,
 *		 every expression, function and operator in it, those of its sorts,
 *		 groupings, hashes and windows too.  Defence in depth: what the
 *		 planner adds is checked before anything of it runs;
 *	  6. that plan, and no other, is run (targetrun.c): read-only, as the
 *		 caller, under the same path and settings, with a check for a
 *		 cancel between any two function calls; and from 3 on, all of it
 *		 within mig.target_timeout and mig.target_memory.
 *
 *	  What passes 2, 4 and 5 is targetcheck.c's to say.  A refused target
 *	  gets 42501 (a relation, function, operator, type or plan node that
 *	  is not allowed, with why) or 22023 (not one condition), naming the
 *	  piece.
 *
 *	  One agent per queue location, as MIG: the one heard from last.
 *
 *	  Not here: what a target may be (targetcheck.c); how a checked plan
 *	  runs within its bounds (targetrun.c); the ACL rule (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datum.h"

#include "mig.h"
#include "authorize.h"
#include "heartbeat.h"
#include "schema.h"
#include "sql.h"
#include "targetcheck.h"
#include "targetrun.h"
#include "utils.h"

/* ----------------------------------------------------------------
 * 1. One expression
 * ----------------------------------------------------------------
 */

/*
 * The target's raw parse tree, as "SELECT <target>".  A syntax error is the
 * caller's bad value (22023), shown against the target itself, not against
 * the statement that called us.
 */
static List *
parse_alone(const char *target)
{
	static const char prefix[] = "SELECT ";
	MemoryContext cxt = CurrentMemoryContext;
	List	   *raw = NIL;

	PG_TRY();
	{
		raw = raw_parser(psprintf("%s%s", prefix, target), RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			pos;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_SYNTAX_ERROR)
			PG_RE_THROW();
		FlushErrorState();
		pos = edata->cursorpos > 0 ? Max(edata->cursorpos - (int) strlen(prefix), 1) : 0;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the target is not one condition"),
				 errdetail("%s", edata->message),
				 internalerrquery(target),
				 internalerrposition(pos)));
	}
	PG_END_TRY();
	return raw;
}

static Node *
target_expression(const char *target)
{
	List	   *raw;
	SelectStmt *s;
	ResTarget  *rt;
	const char *p = target;

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the target is empty")));
	raw = parse_alone(target);
	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the target is not one condition"),
				 errdetail("It holds %d statements.", list_length(raw))));
	s = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
	if (s->op != SETOP_NONE || s->fromClause || s->whereClause || s->groupClause ||
		s->havingClause || s->windowClause || s->valuesLists || s->sortClause ||
		s->limitOffset || s->limitCount || s->lockingClause || s->withClause ||
		s->distinctClause || s->intoClause || list_length(s->targetList) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the target is not one condition"),
				 errdetail("It goes on past its condition (a FROM, a WHERE, an ORDER BY, "
						   "a set operation, a second column, ...).")));
	rt = linitial_node(ResTarget, s->targetList);
	if (rt->name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the target is not one condition"),
				 errdetail("It names its result (AS %s).", rt->name)));
	return rt->val;
}

/* ----------------------------------------------------------------
 * 3 and 6. Analyze, plan, run
 * ----------------------------------------------------------------
 */

/*
 * The agents a target selects, collected from the executor straight into
 * the caller's memory: ids (numeric), and for a plan names and queue
 * locations (text).
 */
typedef struct Targeted
{
	DestReceiver pub;
	MemoryContext cxt;
	bool		names;
	int			n;
	int			cap;
	Datum	   *ids;
	Datum	   *agent_names;
	Datum	   *queuelocs;
} Targeted;

static bool
targeted_receive(TupleTableSlot *slot, DestReceiver *self)
{
	Targeted   *t = (Targeted *) self;
	MemoryContext old = MemoryContextSwitchTo(t->cxt);

	slot_getallattrs(slot);
	if (t->n == t->cap)
	{
		t->cap = t->cap == 0 ? 1024 : t->cap * 2;
		t->ids = t->ids ? repalloc(t->ids, sizeof(Datum) * t->cap) :
			palloc(sizeof(Datum) * t->cap);
		if (t->names)
		{
			t->agent_names = t->agent_names ?
				repalloc(t->agent_names, sizeof(Datum) * t->cap) : palloc(sizeof(Datum) * t->cap);
			t->queuelocs = t->queuelocs ?
				repalloc(t->queuelocs, sizeof(Datum) * t->cap) : palloc(sizeof(Datum) * t->cap);
		}
	}
	/* agents' id, name and queueloc are NOT NULL */
	t->ids[t->n] = datumCopy(slot->tts_values[0], false, -1);
	if (t->names)
	{
		t->agent_names[t->n] = datumCopy(slot->tts_values[1], false, -1);
		t->queuelocs[t->n] = datumCopy(slot->tts_values[2], false, -1);
	}
	t->n++;
	MemoryContextSwitchTo(old);
	return true;
}

static void
targeted_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
targeted_nothing(DestReceiver *self)
{
}

static void
targeted_init(Targeted *t, bool names)
{
	memset(t, 0, sizeof(Targeted));
	t->pub.receiveSlot = targeted_receive;
	t->pub.rStartup = targeted_startup;
	t->pub.rShutdown = targeted_nothing;
	t->pub.rDestroy = targeted_nothing;
	t->pub.mydest = DestTuplestore;
	t->cxt = CurrentMemoryContext;
	t->names = names;
}

/*
 * The statement of a target, analyzed (3), with errors shown against its
 * text as SPI would.
 */
static List *
analyze_target(const char *sql)
{
	ErrorContextCallback errcb;
	List	   *raw;
	List	   *queries;

	errcb.callback = mig_target_sql_context;
	errcb.arg = unconstify(char *, sql);
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		elog(ERROR, "the target's statement is not one statement");
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql,
												 NULL, 0, NULL);
	error_context_stack = errcb.previous;
	return queries;
}

static PlannedStmt *
plan_target(Query *query, const char *sql)
{
	ErrorContextCallback errcb;
	PlannedStmt *stmt;

	errcb.callback = mig_target_sql_context;
	errcb.arg = unconstify(char *, sql);
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	stmt = pg_plan_query(query, sql, MIG_TARGET_CURSOR_OPTIONS, NULL);
	error_context_stack = errcb.previous;
	return stmt;
}

/* a target's statement, from analysis to run, within its bounds */
typedef struct TargetRun
{
	const char *sql;
	DestReceiver *dest;
} TargetRun;

static void
analyze_check_plan_run(void *arg)
{
	TargetRun  *r = (TargetRun *) arg;
	List	   *queries = analyze_target(r->sql);
	PlannedStmt *stmt;

	mig_target_check_queries(queries);
	stmt = plan_target(linitial_node(Query, queries), r->sql);
	mig_target_check_plan(stmt);
	mig_target_execute(stmt, r->sql, r->dest);
}

/*
 * Run the target, in the caller's transaction, as the caller, into dest:
 * the agents' ids, and with names their names and queue locations too.
 */
static void
run_target(const char *target, bool names, DestReceiver *dest)
{
	int			level;
	TargetRun	r;

	/* the path of the names and of the check of the types; the settings */
	level = mig_pin_caller_sql_path();
	mig_target_settings();
	mig_target_check_names(target_expression(target));

	/*
	 * mig's own part binds to pg_catalog by name: an operator of mig's
	 * schema (public at 1.1) would be chosen for status = 'online' over
	 * pg_catalog's, which needs a cast.  (The sort and DISTINCT ON take the
	 * types' default btree operators, which only a superuser makes.)
	 */
	r.sql = psprintf("SELECT DISTINCT ON (agents.queueloc) agents.id%s "
					 "FROM %s AS agents "
					 "WHERE agents.status OPERATOR(pg_catalog.=) "
					 "ANY ('{" MIG_AGENT_ONLINE "," MIG_AGENT_IDLE "}'::pg_catalog.text[]) "
					 "AND (\n%s\n) "
					 "ORDER BY agents.queueloc, agents.heartbeattime DESC, agents.id DESC",
					 names ? ", agents.name::pg_catalog.text, agents.queueloc::pg_catalog.text" : "",
					 mig_qualified_name("agents"), target);
	r.dest = dest;
	/* the planner may evaluate what has constant arguments: bounded too */
	mig_target_bounded(analyze_check_plan_run, &r);
	mig_unpin_search_path(level);
}

/* ----------------------------------------------------------------
 * SQL
 * ----------------------------------------------------------------
 */

/*
 * mig_target_agents(target text) -> SETOF numeric
 *
 * The agents a target selects, with MIG's semantics.
 */
PG_FUNCTION_INFO_V1(mig_target_agents);
Datum
mig_target_agents(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult,
									rsinfo->econtext->ecxt_per_query_memory,
									false, NULL, NULL);
	run_target(text_to_cstring(PG_GETARG_TEXT_PP(0)), false, dest);
	dest->rDestroy(dest);
	return (Datum) 0;
}

/* actions.target of action id, read as the caller; P0002 if there is none */
static char *
action_target(Datum id)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			type = NUMERICOID;
	int			spi = mig_spi_connect();
	char	   *target;
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(psprintf("SELECT a.target::text FROM %s AS a WHERE a.id = $1",
									   mig_qualified_name("actions")),
							  1, &type, &id, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the action");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("action %s does not exist", mig_numeric_text(id))));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	target = MemoryContextStrdup(caller, TextDatumGetCString(d));
	mig_spi_finish(spi);
	return target;
}

/* the agents action's target selects, into t */
static void
run_action_target(Datum action, bool names, Targeted *t)
{
	targeted_init(t, names);
	run_target(action_target(action), names, &t->pub);
}

/*
 * mig_action_targets(action_id numeric) -> SETOF numeric
 *
 * The agents the action's target selects on which it is authorized:
 * exactly those the scheduler may make commands for.
 */
PG_FUNCTION_INFO_V1(mig_action_targets);
Datum
mig_action_targets(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		action = PG_GETARG_DATUM(0);
	Targeted	t;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	run_action_target(action, false, &t);
	if (t.n > 0)
		mig_authorized_agents_each(action, t.ids, t.n, mig_emit_agent_row, rsinfo);
	return (Datum) 0;
}

/*
 * mig_action_plan(action_id numeric) -> TABLE(agent_id numeric,
 *	 agent_name text, queueloc text, authorized boolean, reason text)
 *
 * Every agent the action's target selects, with the verdict and, when it
 * is denied, the first reason mig_authorize_explain gives.
 */
PG_FUNCTION_INFO_V1(mig_action_plan);
Datum
mig_action_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		action = PG_GETARG_DATUM(0);
	Targeted	t;
	MigAclAction *acl;
	MemoryContext row;
	MemoryContext old;

	InitMaterializedSRF(fcinfo, 0);
	run_action_target(action, true, &t);
	acl = mig_acl_begin(action, t.ids, t.n);
	/* a row's reason and what explains it, freed once the row is stored */
	row = AllocSetContextCreate(CurrentMemoryContext, "mig_action_plan row",
								ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < t.n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		char	   *reason;

		old = MemoryContextSwitchTo(row);
		values[0] = t.ids[i];
		values[1] = t.agent_names[i];
		values[2] = t.queuelocs[i];
		values[3] = BoolGetDatum(mig_acl_decide(acl, i, &reason));
		nulls[4] = reason == NULL;
		values[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(row);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(row);
	mig_acl_end(acl);
	return (Datum) 0;
}
