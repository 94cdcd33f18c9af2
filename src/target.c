/*-------------------------------------------------------------------------
 *
 * target.c
 *	  An action's target, evaluated safely, and its full plan before it runs.
 *
 *	  A MIG target is a PostgreSQL WHERE condition over the agents (MIG's
 *	  doc/concepts.rst); MIG's scheduler pastes it into a query and relies on
 *	  a read-only role.  Here it is safe by construction:
 *
 *	  1. the text is parsed alone, as "SELECT <target>", by PostgreSQL's own
 *		 parser, and must be exactly one expression: no second statement, no
 *		 FROM, WHERE, ORDER BY, set operation, locking clause or alias that
 *		 would change the query it is put into;
 *	  2. its names are checked before anything is resolved: a type must be
 *		 pg_catalog's (a type's input function runs while a query is
 *		 analyzed), a relation must be one of mig's agents, commands,
 *		 actions or modules, a function or an operator written with a
 *		 schema must name pg_catalog;
 *	  3. it is put into "SELECT ... FROM (agents with their details) AS
 *		 agents WHERE status IN ('online', 'idle') AND (<target>)", on a
 *		 line of its own, and prepared (parsed and analyzed, not planned)
 *		 under a pinned search_path, pg_catalog first;
 *	  4. the analyzed query is walked: every query a SELECT without locking
 *		 or data-modifying WITH, every relation one of mig's, every function
 *		 (operators' and casts' too) pg_catalog's, not volatile, not
 *		 SECURITY DEFINER, taking and giving no object identifier type
 *		 (regclass, ...), and not on a deny list (settings, files, large
 *		 objects, other servers, catalog definitions and descriptions,
 *		 privileges); a type's input or output function only as a cast;
 *	  5. only then is it planned and run, read-only, as the caller, under
 *		 the same search_path, within mig.target_timeout.
 *
 *	  A refused target gets 42501 (a relation, function or type that is not
 *	  allowed) or 22023 (not one condition), naming the piece.
 *
 *	  One agent per queue location, as MIG: the one heard from last.
 *
 *	  Not here: the ACL rule (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "mig.h"
#include "authorize.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"

/* the relations a target may read, by name in the extension's schema */
static const char *const readable[] = {"agents", "commands", "actions", "modules"};

/*
 * pg_catalog functions a target may not call although they are not
 * volatile: they read settings, files or other servers, tell about the
 * catalogs, privileges or the server, or run queries of their own.  By
 * prefix: every pg_* function (the administration functions) is refused.
 */
static const char *const denied_prefixes[] = {
	"pg_", "has_", "lo_", "current_setting", "set_config", "inet_server_", "inet_client_",
	"dblink", "txid_", NULL
};
static const char *const denied_infixes[] = {
	"to_xml", "xmlschema", "_description", "satisfies_", "row_security_active", "validator",
	NULL
};

/* an object identifier type: its values name catalog rows */
static bool
is_reg_type(Oid type)
{
	switch (type)
	{
		case REGPROCOID:
		case REGPROCEDUREOID:
		case REGOPEROID:
		case REGOPERATOROID:
		case REGCLASSOID:
		case REGCOLLATIONOID:
		case REGTYPEOID:
		case REGROLEOID:
		case REGNAMESPACEOID:
		case REGCONFIGOID:
		case REGDICTIONARYOID:
			return true;
		default:
			return false;
	}
}

static void
refuse(int code, const char *what, const char *name)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("the target may not use %s %s", what, name),
			 errdetail("A target reads mig's agents, commands, actions and modules with "
					   "pg_catalog's functions that change nothing, read no file and "
					   "no setting.")));
}

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
 * 2. Names, before they are resolved
 * ----------------------------------------------------------------
 */

static Oid
type_namespace(Oid type)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
	Oid			nsp;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for type %u", type);
	nsp = ((Form_pg_type) GETSTRUCT(tuple))->typnamespace;
	ReleaseSysCache(tuple);
	return nsp;
}

static bool
names_schema(List *names, const char *schema)
{
	return list_length(names) == 1 ||
		(list_length(names) == 2 && strcmp(strVal(linitial(names)), schema) == 0);
}

static bool
raw_names_walker(Node *node, void *context)
{
	const char *extschema = (const char *) context;

	if (node == NULL)
		return false;
	if (IsA(node, TypeName))
	{
		TypeName   *tn = (TypeName *) node;
		Oid			type;

		if (tn->pct_type || tn->names == NIL)
			refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the type", "%TYPE");
		type = LookupTypeNameOid(NULL, tn, true);
		/* pg_catalog's, and not an object identifier that reads the catalogs */
		if (!OidIsValid(type) || get_typ_typrelid(type) != InvalidOid ||
			type_namespace(type) != PG_CATALOG_NAMESPACE || is_reg_type(type) ||
			is_reg_type(get_element_type(type)))
			refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the type", TypeNameToString(tn));
	}
	else if (IsA(node, WithClause) ||
			 (IsA(node, SelectStmt) && ((SelectStmt *) node)->withClause != NULL))
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "a", "WITH clause");
	else if (IsA(node, RangeVar))
	{
		RangeVar   *rv = (RangeVar *) node;
		bool		ok = rv->catalogname == NULL &&
			(rv->schemaname == NULL || strcmp(rv->schemaname, extschema) == 0);

		for (int i = 0; ok && i < (int) lengthof(readable); i++)
			if (strcmp(rv->relname, readable[i]) == 0)
				return raw_expression_tree_walker(node, raw_names_walker, context);
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the relation",
			   quote_qualified_identifier(rv->schemaname, rv->relname));
	}
	else if (IsA(node, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) node;

		if (!names_schema(fc->funcname, "pg_catalog"))
			refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the function", NameListToString(fc->funcname));
	}
	else if (IsA(node, A_Expr))
	{
		A_Expr	   *e = (A_Expr *) node;

		if (e->name != NIL && !names_schema(e->name, "pg_catalog"))
			refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the operator", NameListToString(e->name));
	}
	return raw_expression_tree_walker(node, raw_names_walker, context);
}

/* ----------------------------------------------------------------
 * 4. The analyzed query
 * ----------------------------------------------------------------
 */

typedef struct Check
{
	Oid			relids[lengthof(readable)];
} Check;

static bool
function_denied(Oid func, void *context)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(func));
	Form_pg_proc proc;
	const char *name;
	bool		denied;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", func);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	name = NameStr(proc->proname);
	denied = proc->pronamespace != PG_CATALOG_NAMESPACE ||
		proc->provolatile == PROVOLATILE_VOLATILE || proc->prosecdef ||
		is_reg_type(proc->prorettype);
	for (int i = 0; !denied && i < proc->pronargs; i++)
		denied = is_reg_type(proc->proargtypes.values[i]);
	/* called by name, not as a cast: no type input or output function */
	if (context != NULL)
	{
		denied = denied || proc->prorettype == CSTRINGOID ||
			proc->prorettype == INTERNALOID;
		for (int i = 0; !denied && i < proc->pronargs; i++)
			denied = proc->proargtypes.values[i] == CSTRINGOID ||
				proc->proargtypes.values[i] == INTERNALOID;
	}
	for (int i = 0; !denied && denied_prefixes[i] != NULL; i++)
		denied = strncmp(name, denied_prefixes[i], strlen(denied_prefixes[i])) == 0;
	for (int i = 0; !denied && denied_infixes[i] != NULL; i++)
		denied = strstr(name, denied_infixes[i]) != NULL;
	if (denied)
	{
		char	   *what = format_procedure(func);

		ReleaseSysCache(tuple);
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the function", what);
	}
	ReleaseSysCache(tuple);
	return false;
}

static bool query_walker(Node *node, Check *check);

static void
check_query(Query *q, Check *check)
{
	ListCell   *lc;

	if (q->commandType != CMD_SELECT || q->utilityStmt != NULL)
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "a statement that is not", "a SELECT");
	if (q->rowMarks != NIL)
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "a", "locking clause (FOR UPDATE, FOR SHARE)");
	if (q->hasModifyingCTE)
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "a", "data-modifying WITH");
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		bool		ok = false;

		switch (rte->rtekind)
		{
			case RTE_RELATION:
				for (int i = 0; i < (int) lengthof(readable) && !ok; i++)
					ok = rte->relid == check->relids[i];
				if (!ok)
					refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "the relation",
						   get_rel_name(rte->relid) ? get_rel_name(rte->relid) : "?");
				break;
			case RTE_SUBQUERY:
			case RTE_JOIN:
			case RTE_FUNCTION:
			case RTE_VALUES:
			case RTE_CTE:
			case RTE_RESULT:
				break;
			default:
				refuse(ERRCODE_INSUFFICIENT_PRIVILEGE, "a", "table function or tuplestore");
		}
	}
	query_tree_walker(q, query_walker, check, QTW_EXAMINE_RTES_BEFORE);
}

static bool
query_walker(Node *node, Check *check)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		check_query((Query *) node, check);
		return false;
	}
	/* what a range table entry holds is walked by query_tree_walker */
	if (IsA(node, RangeTblEntry))
		return false;
	if (IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr))
		set_opfuncid((OpExpr *) node);
	else if (IsA(node, ScalarArrayOpExpr))
		set_sa_opfuncid((ScalarArrayOpExpr *) node);
	if (IsA(node, FuncExpr))
		function_denied(((FuncExpr *) node)->funcid, node);
	else
		check_functions_in_node(node, function_denied, NULL);
	return expression_tree_walker(node, query_walker, check);
}

/* ----------------------------------------------------------------
 * 3 and 5. Prepare, check, run
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
	/* a store of rows: SPI counts them as a SELECT's */
	t->pub.mydest = DestTuplestore;
	t->cxt = CurrentMemoryContext;
	t->names = names;
}

/*
 * Run the target, in the caller's transaction, as the caller, into dest:
 * the agents' ids, and with names their names and queue locations too.
 */
static void
run_target(const char *target, bool names, DestReceiver *dest)
{
	char	   *extschema = get_namespace_name(get_rel_namespace(mig_relid("agents")));
	Node	   *expr = target_expression(target);
	char	   *sql;
	int			level;
	SPIPlanPtr	plan;
	SPIExecuteOptions options = {0};
	Check		check;
	ListCell   *lc;

	/* the path of the names, and of the check of the types */
	level = mig_pin_caller_sql_path();
	raw_names_walker(expr, extschema);

	sql = psprintf("SELECT DISTINCT ON (agents.queueloc) agents.id%s "
				   "FROM %s AS agents "
				   "WHERE agents.status IN ('online', 'idle') AND (\n%s\n) "
				   "ORDER BY agents.queueloc, agents.heartbeattime DESC, agents.id DESC",
				   names ? ", agents.name::text, agents.queueloc::text" : "",
				   mig_qualified_name("agents"), target);
	for (int i = 0; i < (int) lengthof(readable); i++)
		check.relids[i] = mig_relid(readable[i]);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* as any one-shot statement: workers may scan a large fleet */
	plan = SPI_prepare_cursor(sql, 0, NULL, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *source = (CachedPlanSource *) lfirst(lc);
		ListCell   *lq;

		foreach(lq, source->query_list)
			check_query(lfirst_node(Query, lq), &check);
	}

	if (target_timeout_id == MAX_TIMEOUTS)
		target_timeout_id = RegisterTimeout(USER_TIMEOUT, target_timeout_handler);
	target_timed_out = false;
	options.read_only = true;
	options.dest = dest;
	PG_TRY();
	{
		if (mig_target_timeout > 0)
			enable_timeout_after(target_timeout_id, mig_target_timeout);
		if (SPI_execute_plan_extended(plan, &options) != SPI_OK_SELECT)
			elog(ERROR, "could not run the target");
		disable_timeout(target_timeout_id, false);
		/* it fired as the target finished: the target is done, not cancelled */
		if (target_timed_out)
		{
			target_timed_out = false;
			QueryCancelPending = false;
		}
	}
	PG_CATCH();
	{
		disable_timeout(target_timeout_id, false);
		if (target_timed_out)
		{
			target_timed_out = false;
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("the target took longer than mig.target_timeout (%d ms)",
							mig_target_timeout)));
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();
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

	InitMaterializedSRF(fcinfo, 0);
	run_action_target(action, true, &t);
	acl = mig_acl_begin(action);
	for (int i = 0; i < t.n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		char	   *reason;

		values[0] = t.ids[i];
		values[1] = t.agent_names[i];
		values[2] = t.queuelocs[i];
		values[3] = BoolGetDatum(mig_acl_decide(acl, t.ids[i], &reason));
		nulls[4] = reason == NULL;
		values[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		CHECK_FOR_INTERRUPTS();
	}
	mig_acl_end(acl);
	return (Datum) 0;
}
