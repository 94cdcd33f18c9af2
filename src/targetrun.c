/*-------------------------------------------------------------------------
 *
 * targetrun.c
 *	  A target within its bounds of time and memory, and its checked plan
 *	  run.
 *
 *	  target.c analyzes a target's statement, checks it, plans it, checks
 *	  the plan, and has it run here, through the executor: no plan cache,
 *	  so nothing can replan it between the check and the run.  It runs
 *	  read-only with the active snapshot, as the caller.  All of that,
 *	  from the analysis on (the planner evaluates what it can of a target
 *	  while planning: repeat('x', 1000000000) takes seconds and a gigabyte
 *	  before anything runs), is bounded:
 *
 *	  - in time by mig.target_timeout: a timeout cancels it as
 *		statement_timeout would (a target may call no function that runs
 *		long without checking for a cancel: target.c refuses them), and it
 *		fails with 57014;
 *	  - in memory by mig.target_memory: meanwhile the backend's data (the
 *		kernel's RLIMIT_DATA, which on Linux counts the heap and every
 *		private mapping malloc makes, whatever allocates it) may grow by at
 *		most that much.  An allocation past it fails like any allocation
 *		the system refuses, and the target with 54000.  One process: a
 *		target is planned without parallel workers;
 *	  - by the settings it is planned and run with: work_mem at most an
 *		eighth of mig.target_memory and hash_mem_multiplier at most 2, so
 *		that sorts and hashes spill to disk well before the limit, and no
 *		JIT (LLVM ends the backend when an allocation fails).
 *
 *	  And whoever asks, a target means the same: it is parsed, analyzed and
 *	  run with the settings that change what its text says or what it
 *	  computes fixed (TimeZone UTC, DateStyle ISO, standard_conforming_strings
 *	  on, transform_null_equals off, ...: meaning[] below).
 *
 *	  Not here: what a target may be (target.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "mig.h"
#include "targetrun.h"

/* ----------------------------------------------------------------
 * Settings and errors
 * ----------------------------------------------------------------
 */

/*
 * The settings that change what a target means or gives, whoever asks: how
 * its text is parsed and its literals read, how times, numbers and bytes
 * convert to text.  An investigator's dry run reads a target as the
 * scheduler does.
 */
static const char *const meaning[][2] = {
	{"standard_conforming_strings", "on"},
	{"transform_null_equals", "off"},
	{"array_nulls", "on"},
	{"TimeZone", "UTC"},
	{"timezone_abbreviations", "Default"},
	{"DateStyle", "ISO, MDY"},
	{"IntervalStyle", "postgres"},
	{"extra_float_digits", "1"},
	{"bytea_output", "hex"},
	{"quote_all_identifiers", "off"},
	{"lc_monetary", "C"},
	{"lc_numeric", "C"},
	{"lc_time", "C"},
};

void
mig_target_settings(void)
{
	for (int i = 0; i < (int) lengthof(meaning); i++)
		(void) set_config_option(meaning[i][0], meaning[i][1], PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (mig_target_memory > 0 && work_mem > Max(mig_target_memory / 8, 64))
		(void) set_config_option("work_mem", psprintf("%d", Max(mig_target_memory / 8, 64)),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (mig_target_memory > 0 && hash_mem_multiplier > 2.0)
		(void) set_config_option("hash_mem_multiplier", "2", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

void
mig_target_sql_context(void *arg)
{
	const char *sql = (const char *) arg;
	int			pos = geterrposition();

	/* a position in the statement: show the statement, not the caller's */
	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
	}
	else
		errcontext("SQL statement \"%s\"", sql);
}

/* ----------------------------------------------------------------
 * Memory: the backend's data segment, limited while a target runs
 * ----------------------------------------------------------------
 */

typedef struct DataLimit
{
	bool		set;
	struct rlimit saved;
} DataLimit;

#ifdef __linux__
/* the backend's data now, in kB: VmData of /proc/self/status */
static long
data_size_kb(void)
{
	FILE	   *f = AllocateFile("/proc/self/status", "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", "/proc/self/status")));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmData:", 7) == 0)
		{
			kb = strtol(line + 7, NULL, 10);
			break;
		}
	FreeFile(f);
	if (kb < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not read the backend's memory size from \"%s\"",
						"/proc/self/status")));
	return kb;
}
#endif

/*
 * Lower the soft RLIMIT_DATA to what the backend has now plus
 * mig.target_memory (never above the hard limit, never higher than it
 * was); dl remembers what to put back.
 */
static void
data_limit_begin(DataLimit *dl)
{
	dl->set = false;
	if (mig_target_memory <= 0)
		return;
#ifdef __linux__
	{
		struct rlimit lim;
		rlim_t		want = ((rlim_t) data_size_kb() + (rlim_t) mig_target_memory) * 1024;

		if (getrlimit(RLIMIT_DATA, &dl->saved) != 0)
			elog(ERROR, "getrlimit(RLIMIT_DATA) failed: %m");
		if (dl->saved.rlim_max != RLIM_INFINITY && want > dl->saved.rlim_max)
			want = dl->saved.rlim_max;
		if (dl->saved.rlim_cur != RLIM_INFINITY && dl->saved.rlim_cur <= want)
			return;				/* as tight already */
		lim.rlim_cur = want;
		lim.rlim_max = dl->saved.rlim_max;
		if (setrlimit(RLIMIT_DATA, &lim) != 0)
			elog(ERROR, "setrlimit(RLIMIT_DATA) failed: %m");
		dl->set = true;
	}
#else
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("mig.target_memory is enforced on Linux only"),
			 errhint("Set mig.target_memory to 0 to run targets without a bound on memory.")));
#endif
}

static void
data_limit_end(const DataLimit *dl)
{
	/* it can only be raised back up to the hard limit it was under */
	if (dl->set && setrlimit(RLIMIT_DATA, &dl->saved) != 0)
		elog(ERROR, "setrlimit(RLIMIT_DATA) failed: %m");
}

/* ----------------------------------------------------------------
 * Time
 * ----------------------------------------------------------------
 */

static TimeoutId target_timeout_id = MAX_TIMEOUTS;
static volatile sig_atomic_t target_timed_out = false;

static void
target_timeout_handler(void)
{
	target_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

/* ----------------------------------------------------------------
 * Time: a check for a cancel between any two function calls
 * ----------------------------------------------------------------
 */

/*
 * PostgreSQL checks for a cancel between rows, and within the functions
 * that loop long (target.c refuses those that do not), but not between
 * the calls of one row's expressions: forty md5() of a 100MB value, one
 * after the other, ran 6 s past a 3 s timeout.  So each call in the plan
 * becomes CASE WHEN $1 THEN <call> END, and fetching $1, always true,
 * checks for a cancel: a handful of nanoseconds a call.  No catalog
 * object is needed, and the plan that was checked keeps its meaning.
 */
static ParamExternData *
checkpoint_fetch(ParamListInfo params, int paramid, bool speculative,
				 ParamExternData *workspace)
{
	CHECK_FOR_INTERRUPTS();
	return &params->params[paramid - 1];
}

static Node *
checkpoint(Node *call)
{
	CaseExpr   *c = makeNode(CaseExpr);
	CaseWhen   *w = makeNode(CaseWhen);
	Param	   *p = makeNode(Param);

	p->paramkind = PARAM_EXTERN;
	p->paramid = 1;
	p->paramtype = BOOLOID;
	p->paramtypmod = -1;
	p->paramcollid = InvalidOid;
	p->location = -1;
	w->expr = (Expr *) p;
	w->result = (Expr *) call;
	w->location = -1;
	c->casetype = exprType(call);
	c->casecollid = exprCollation(call);
	c->args = list_make1(w);
	c->defresult = (Expr *) makeNullConst(exprType(call), exprTypmod(call),
										  exprCollation(call));
	c->location = -1;
	return (Node *) c;
}

/* whether node calls a function each time it is evaluated */
static bool
is_call(Node *node)
{
	switch (nodeTag(node))
	{
		case T_FuncExpr:
			/* a set-returning call stays where the executor looks for it */
			return !((FuncExpr *) node)->funcretset;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			return !((OpExpr *) node)->opretset;
		case T_ScalarArrayOpExpr:
		case T_RowCompareExpr:
		case T_MinMaxExpr:
		case T_CoerceViaIO:
		case T_ArrayCoerceExpr:
			return true;
		default:
			return false;
	}
}

static Node *checkpoint_mutator(Node *node, void *context);

/* a hashed SubPlan's test: its operators stay, their arguments get checks */
static Node *
checkpoint_hashed_test(Node *test)
{
	if (IsA(test, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) copyObject(test);

		op->args = (List *) checkpoint_mutator((Node *) op->args, NULL);
		return (Node *) op;
	}
	if (IsA(test, BoolExpr))
	{
		BoolExpr   *b = (BoolExpr *) copyObject(test);
		ListCell   *lc;

		foreach(lc, b->args)
			lfirst(lc) = checkpoint_hashed_test(lfirst(lc));
		return (Node *) b;
	}
	return test;
}

static Node *
checkpoint_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, SubPlan))
	{
		SubPlan    *sp = (SubPlan *) copyObject(node);

		sp->args = (List *) checkpoint_mutator((Node *) sp->args, context);
		sp->testexpr = sp->useHashTable ? checkpoint_hashed_test(sp->testexpr) :
			checkpoint_mutator(sp->testexpr, context);
		return (Node *) sp;
	}
	node = expression_tree_mutator(node, checkpoint_mutator, context);
	return is_call(node) ? checkpoint(node) : node;
}

#define CHECKPOINTS(field) \
	((field) = (void *) checkpoint_mutator((Node *) (field), NULL))

static void checkpoint_plan(Plan *plan);

static void
checkpoint_plans(List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
		checkpoint_plan((Plan *) lfirst(lc));
}

/*
 * The expressions a plan node evaluates row after row, and the nodes below
 * it.  Not the index quals, hash clauses and merge clauses, which the
 * executor takes apart (their operators are called on the values of an
 * index, a hash table or a sort), nor the function of a function scan.
 * target.c has refused every kind of node not named here.
 */
static void
checkpoint_plan(Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	CHECKPOINTS(plan->targetlist);
	CHECKPOINTS(plan->qual);
	CHECKPOINTS(plan->initPlan);
	switch (nodeTag(plan))
	{
		case T_Result:
			CHECKPOINTS(((Result *) plan)->resconstantqual);
			break;
		case T_Append:
			checkpoint_plans(((Append *) plan)->appendplans);
			break;
		case T_MergeAppend:
			checkpoint_plans(((MergeAppend *) plan)->mergeplans);
			break;
		case T_BitmapAnd:
			checkpoint_plans(((BitmapAnd *) plan)->bitmapplans);
			break;
		case T_BitmapOr:
			checkpoint_plans(((BitmapOr *) plan)->bitmapplans);
			break;
		case T_SubqueryScan:
			checkpoint_plan(((SubqueryScan *) plan)->subplan);
			break;
		case T_FunctionScan:
			foreach(lc, ((FunctionScan *) plan)->functions)
			{
				RangeTblFunction *rtf = lfirst_node(RangeTblFunction, lc);

				if (IsA(rtf->funcexpr, FuncExpr))
					CHECKPOINTS(((FuncExpr *) rtf->funcexpr)->args);
			}
			break;
		case T_ValuesScan:
			CHECKPOINTS(((ValuesScan *) plan)->values_lists);
			break;
		case T_NestLoop:
		case T_MergeJoin:
			CHECKPOINTS(((Join *) plan)->joinqual);
			break;
		case T_HashJoin:
			CHECKPOINTS(((HashJoin *) plan)->join.joinqual);
			CHECKPOINTS(((HashJoin *) plan)->hashkeys);
			break;
		case T_Hash:
			CHECKPOINTS(((Hash *) plan)->hashkeys);
			break;
		case T_Memoize:
			CHECKPOINTS(((Memoize *) plan)->param_exprs);
			break;
		case T_Agg:
			checkpoint_plans(((Agg *) plan)->chain);
			break;
		default:
			break;
	}
	checkpoint_plan(plan->lefttree);
	checkpoint_plan(plan->righttree);
}

/* checks for a cancel put into stmt; the parameters that make them work */
static ParamListInfo
checkpoints(PlannedStmt *stmt)
{
	ParamListInfo params = makeParamList(1);

	checkpoint_plan(stmt->planTree);
	checkpoint_plans(stmt->subplans);
	params->paramFetch = checkpoint_fetch;
	params->params[0].value = BoolGetDatum(true);
	params->params[0].isnull = false;
	params->params[0].pflags = PARAM_FLAG_CONST;
	params->params[0].ptype = BOOLOID;
	return params;
}

/* ----------------------------------------------------------------
 * Within the bounds
 * ----------------------------------------------------------------
 */

void
mig_target_bounded(void (*fn) (void *arg), void *arg)
{
	MemoryContext caller = CurrentMemoryContext;
	DataLimit	dl;

	if (target_timeout_id == MAX_TIMEOUTS)
		target_timeout_id = RegisterTimeout(USER_TIMEOUT, target_timeout_handler);
	target_timed_out = false;
	data_limit_begin(&dl);
	PG_TRY();
	{
		if (mig_target_timeout > 0)
			enable_timeout_after(target_timeout_id, mig_target_timeout);
		fn(arg);
		disable_timeout(target_timeout_id, false);
		data_limit_end(&dl);
		/* it fired as the target finished: the target is done, not cancelled */
		if (target_timed_out)
		{
			target_timed_out = false;
			QueryCancelPending = false;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(target_timeout_id, false);
		data_limit_end(&dl);
		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		if (target_timed_out)
		{
			target_timed_out = false;
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("the target took longer than mig.target_timeout (%d ms)",
							mig_target_timeout)));
		}
		if (dl.set && edata->sqlerrcode == ERRCODE_OUT_OF_MEMORY)
		{
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the target used more memory than mig.target_memory (%d kB)",
							mig_target_memory),
					 errdetail("While a target is analyzed, planned and run, the backend "
							   "may grow by that much at most: an allocation past it failed.")));
		}
		FreeErrorData(edata);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* ----------------------------------------------------------------
 * The run
 * ----------------------------------------------------------------
 */

void
mig_target_execute(PlannedStmt *stmt, const char *sql, DestReceiver *dest)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "mig target", ALLOCSET_DEFAULT_SIZES);
	ErrorContextCallback errcb;
	bool		snapshot = !ActiveSnapshotSet();
	ParamListInfo params;
	QueryDesc  *qd;

	if (snapshot)
		PushActiveSnapshot(GetTransactionSnapshot());
	errcb.callback = mig_target_sql_context;
	errcb.arg = unconstify(char *, sql);
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	MemoryContextSwitchTo(cxt);

	/* an error leaves what is here to the (sub)transaction's abort */
	params = checkpoints(stmt);
	qd = CreateQueryDesc(stmt, sql, GetActiveSnapshot(), InvalidSnapshot, dest,
						 params, NULL, 0);
	ExecutorStart(qd, 0);
	ExecutorRun(qd, ForwardScanDirection, 0, true);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);

	error_context_stack = errcb.previous;
	if (snapshot)
		PopActiveSnapshot();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
}
