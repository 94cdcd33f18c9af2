/*-------------------------------------------------------------------------
 *
 * targetcheck.c
 *	  What an action's target may be: its names as written, its analyzed
 *	  query and its plan, checked against one set of rules (the steps 2, 4
 *	  and 5 of target.c).
 *
 *	  What it reads: mig's agents, commands, actions and modules, nothing
 *	  else; every query a SELECT without locking or data-modifying WITH;
 *	  no TABLESAMPLE, no XML, no value that tells who asks; types, and a
 *	  function, operator or collation written with a schema, pg_catalog's.
 *
 *	  Functions and operators.  A function must be pg_catalog's, not
 *	  volatile, not SECURITY DEFINER, take and give no object identifier
 *	  type (regclass, ...), and not be one that reads settings, files,
 *	  large objects, other servers, catalog definitions and descriptions or
 *	  privileges; that tells who asks (current_user, the client's address:
 *	  an investigator's dry run must select the agents the scheduler will);
 *	  or that runs long without checking for a cancel (XML, evaluated by
 *	  libxml2; text search; the containment of arrays and of jsonb, every
 *	  element against every other), which a timeout could not stop.  A
 *	  type's input or output function only as a cast.  What the planner may
 *	  call on a function's behalf is checked as if the target had called
 *	  it: its default arguments and, for a SQL function, its body, which it
 *	  inlines and may evaluate while planning (the four polymorphic ones
 *	  whose body is text, PostgreSQL's own, are checked in the plan once
 *	  inlined).  An operator must be pg_catalog's, and so must its negator
 *	  and its commutator, with functions allowed: the planner puts a >= b
 *	  for NOT (a < b), and b > a for a < b, and may evaluate them while
 *	  planning.  So nothing of a target runs before it is checked but
 *	  PostgreSQL's analysis of it (pg_catalog's type input functions on its
 *	  literals).
 *
 *	  The plan: every node of a kind that only reads (scans, joins, sorts,
 *	  aggregates, windows, ...), every expression in it, and the operators
 *	  and functions of its sorts, groupings, hashes and windows, by the
 *	  same rules.  Defence in depth: what the planner adds (negators,
 *	  commutators, inlined bodies, hash functions) is checked before any of
 *	  it runs.
 *
 *	  A refused piece gets 42501, named, and why in the detail.
 *
 *	  Not here: parsing the target, the flow of its checks and the SQL
 *	  functions (target.c); running it within its bounds (targetrun.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "schema.h"
#include "targetcheck.h"

/* the relations a target may read, by name in the extension's schema */
static const char *const readable[] = {"agents", "commands", "actions", "modules"};

/* why a piece is refused: the detail of the error */
typedef enum Why
{
	WHY_READS,					/* settings, files, catalogs, privileges, ... */
	WHY_ASKER,					/* who asks */
	WHY_UNSTOPPABLE,			/* runs long without checking for a cancel */
	WHY_PARTNER					/* an operator's negator or commutator */
} Why;

static const char *const why_detail[] = {
	[WHY_READS] = "A target reads mig's agents, commands, actions and modules with "
	"pg_catalog's functions that change nothing, read no file and no setting.",
	[WHY_ASKER] = "Its value depends on who asks, and an investigator's dry run must "
	"select the agents the scheduler will.",
	[WHY_UNSTOPPABLE] = "It can run for long without checking for a cancel, and neither "
	"mig.target_timeout nor pg_cancel_backend could stop it.",
	[WHY_PARTNER] = "Its negator or commutator is not pg_catalog's, or calls a function "
	"a target may not use, and the planner may put it in its place.",
};

/*
 * pg_catalog functions a target may not call although they are not
 * volatile, by the start of their name or a part of it.
 */
typedef struct DeniedName
{
	const char *part;
	bool		prefix;			/* at the start of the name, else anywhere */
	Why			why;
} DeniedName;

static const DeniedName denied_names[] = {
	/* files, settings, sleeping, signalling, catalog definitions, ... */
	{"pg_", true, WHY_READS},
	{"has_", true, WHY_READS},	/* privileges */
	{"lo_", true, WHY_READS},	/* large objects */
	{"current_setting", true, WHY_READS},
	{"set_config", true, WHY_READS},
	{"inet_server_", true, WHY_READS},
	{"dblink", true, WHY_READS},
	{"txid_", true, WHY_READS},
	{"to_xml", false, WHY_READS},	/* table_to_xml, query_to_xmlschema, ... */
	{"_description", false, WHY_READS},
	{"satisfies_", false, WHY_READS},
	{"row_security_active", false, WHY_READS},
	{"validator", false, WHY_READS},
	/* who asks */
	{"current_user", true, WHY_ASKER},
	{"current_role", true, WHY_ASKER},
	{"session_user", true, WHY_ASKER},
	{"getpgusername", true, WHY_ASKER},
	{"current_schema", true, WHY_ASKER},	/* and current_schemas */
	{"current_query", true, WHY_ASKER},
	{"inet_client_", true, WHY_ASKER},
	/* libxml2 parses and evaluates XML without checking for a cancel */
	{"xml", true, WHY_UNSTOPPABLE},
	{"xpath", true, WHY_UNSTOPPABLE},
	/* every element of one side against every element of the other */
	{"arraycontain", true, WHY_UNSTOPPABLE},	/* anyarray @>, <@ */
	{"arrayoverlap", true, WHY_UNSTOPPABLE},	/* anyarray && */
	{"jsonb_contain", true, WHY_UNSTOPPABLE},	/* jsonb @>, <@ */
	{"jsonb_exists_a", true, WHY_UNSTOPPABLE},	/* jsonb ?|, ?& */
};

/* why a function of this name is refused; -1 if it is not */
static int
name_refused(const char *name)
{
	for (int i = 0; i < (int) lengthof(denied_names); i++)
	{
		const DeniedName *d = &denied_names[i];

		if (d->prefix ? strncmp(name, d->part, strlen(d->part)) == 0 :
			strstr(name, d->part) != NULL)
			return d->why;
	}
	return -1;
}

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

/*
 * Why a value of this type (or of arrays of it) may not be in a target; -1
 * if it may.  XML is libxml2's to parse and evaluate; text search ranks,
 * matches and compares queries without checking for a cancel.
 */
static int
type_refused(Oid type)
{
	Oid			elem = get_element_type(type);

	if (OidIsValid(elem))
		type = elem;
	if (is_reg_type(type))
		return WHY_READS;
	switch (type)
	{
		case XMLOID:
		case TSVECTOROID:
		case TSQUERYOID:
		case GTSVECTOROID:
			return WHY_UNSTOPPABLE;
		default:
			return -1;
	}
}

static void
refuse(const char *what, const char *name, int why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the target may not use %s %s", what, name),
			 errdetail("%s", why_detail[why])));
}

/* the SQL value functions that tell who asks: current_user and its kin */
static void
check_value_function(SQLValueFunction *svf)
{
	const char *name = NULL;

	switch (svf->op)
	{
		case SVFOP_CURRENT_ROLE:
			name = "current_role";
			break;
		case SVFOP_CURRENT_USER:
			name = "current_user";
			break;
		case SVFOP_USER:
			name = "user";
			break;
		case SVFOP_SESSION_USER:
			name = "session_user";
			break;
		case SVFOP_CURRENT_SCHEMA:
			name = "current_schema";
			break;
		default:
			return;				/* the time and the database's name */
	}
	refuse("the function", name, WHY_ASKER);
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
	check_stack_depth();
	if (IsA(node, TypeName))
	{
		TypeName   *tn = (TypeName *) node;
		Oid			type;
		int			why;

		if (tn->pct_type || tn->names == NIL)
			refuse("the type", "%TYPE", WHY_READS);
		type = LookupTypeNameOid(NULL, tn, true);
		/* pg_catalog's, and none that reads the catalogs or XML */
		if (!OidIsValid(type) || get_typ_typrelid(type) != InvalidOid ||
			type_namespace(type) != PG_CATALOG_NAMESPACE)
			refuse("the type", TypeNameToString(tn), WHY_READS);
		if ((why = type_refused(type)) >= 0)
			refuse("the type", TypeNameToString(tn), why);
	}
	else if (IsA(node, WithClause) ||
			 (IsA(node, SelectStmt) && ((SelectStmt *) node)->withClause != NULL))
		refuse("a", "WITH clause", WHY_READS);
	else if (IsA(node, RangeTableSample))
		refuse("a", "TABLESAMPLE clause", WHY_READS);
	else if (IsA(node, XmlExpr) || IsA(node, XmlSerialize))
		refuse("an", "XML expression", WHY_UNSTOPPABLE);
	else if (IsA(node, RangeTableFunc))
		refuse("a", "table function (XMLTABLE)", WHY_UNSTOPPABLE);
	else if (IsA(node, SQLValueFunction))
		check_value_function((SQLValueFunction *) node);
	else if (IsA(node, RangeVar))
	{
		RangeVar   *rv = (RangeVar *) node;
		bool		ok = rv->catalogname == NULL &&
			(rv->schemaname == NULL || strcmp(rv->schemaname, extschema) == 0);

		for (int i = 0; ok && i < (int) lengthof(readable); i++)
			if (strcmp(rv->relname, readable[i]) == 0)
				return raw_expression_tree_walker(node, raw_names_walker, context);
		refuse("the relation", quote_qualified_identifier(rv->schemaname, rv->relname),
			   WHY_READS);
	}
	else if (IsA(node, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) node;
		int			why;

		if (!names_schema(fc->funcname, "pg_catalog"))
			refuse("the function", NameListToString(fc->funcname), WHY_READS);
		/*
		 * XML's before its arguments are read as XML; the others are
		 * refused once resolved, named with their arguments' types
		 */
		if ((why = name_refused(strVal(llast(fc->funcname)))) == WHY_UNSTOPPABLE)
			refuse("the function", NameListToString(fc->funcname), why);
	}
	else if (IsA(node, A_Expr))
	{
		A_Expr	   *e = (A_Expr *) node;

		if (e->name != NIL && !names_schema(e->name, "pg_catalog"))
			refuse("the operator", NameListToString(e->name), WHY_READS);
	}
	else if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		if (sl->operName != NIL && !names_schema(sl->operName, "pg_catalog"))
			refuse("the operator", NameListToString(sl->operName), WHY_READS);
	}
	else if (IsA(node, SortBy))
	{
		SortBy	   *sb = (SortBy *) node;

		if (sb->useOp != NIL && !names_schema(sb->useOp, "pg_catalog"))
			refuse("the operator", NameListToString(sb->useOp), WHY_READS);
	}
	else if (IsA(node, CollateClause))
	{
		CollateClause *cc = (CollateClause *) node;

		if (!names_schema(cc->collname, "pg_catalog"))
			refuse("the collation", NameListToString(cc->collname), WHY_READS);
	}
	return raw_expression_tree_walker(node, raw_names_walker, context);
}

/* ----------------------------------------------------------------
 * 4 and 5. The analyzed query, and its plan
 * ----------------------------------------------------------------
 */

typedef struct Check
{
	Oid			relids[lengthof(readable)];
	/*
	 * The functions whose defaults and body are walked, or being walked:
	 * once each, as a body may call what led to it (interval + timestamptz
	 * is a SQL function, $2 + $1, whose operator's commutator it is).
	 */
	List	   *walked;
} Check;

static bool expr_walker(Node *node, Check *check);

/*
 * Why func may not be called; -1 if it may.  by_name: called as written
 * (FuncExpr), not as an operator's, a cast's or an aggregate's function,
 * so not a type's input or output function.  Its default arguments and a
 * SQL function's body are checked here too, and refused with their own
 * pieces named.
 */
static int
function_refused(Oid func, bool by_name, Check *check)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(func));
	Form_pg_proc proc;
	const char *name;
	int			why = -1;
	char	   *body = NULL;
	char	   *defaults = NULL;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", func);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	name = NameStr(proc->proname);
	if (proc->pronamespace != PG_CATALOG_NAMESPACE)
		why = WHY_READS;
	if (why < 0)
		why = name_refused(name);
	if (why < 0 && (proc->provolatile == PROVOLATILE_VOLATILE || proc->prosecdef))
		why = WHY_READS;
	if (why < 0)
		why = type_refused(proc->prorettype);
	for (int i = 0; why < 0 && i < proc->pronargs; i++)
		why = type_refused(proc->proargtypes.values[i]);
	if (why < 0 && by_name)
	{
		if (proc->prorettype == CSTRINGOID || proc->prorettype == INTERNALOID)
			why = WHY_READS;
		for (int i = 0; why < 0 && i < proc->pronargs; i++)
			if (proc->proargtypes.values[i] == CSTRINGOID ||
				proc->proargtypes.values[i] == INTERNALOID)
				why = WHY_READS;
	}
	/* jsonb - text[]: every key against every element */
	if (why < 0 && strcmp(name, "jsonb_delete") == 0 && proc->pronargs == 2 &&
		proc->proargtypes.values[1] == TEXTARRAYOID)
		why = WHY_UNSTOPPABLE;
	if (why < 0 && !list_member_oid(check->walked, func))
	{
		bool		isnull;
		Datum		d;

		check->walked = lappend_oid(check->walked, func);

		if (proc->pronargdefaults > 0)
		{
			d = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_proargdefaults, &isnull);
			if (!isnull)
				defaults = TextDatumGetCString(d);
		}
		if (proc->prolang == SQLlanguageId)
		{
			d = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosqlbody, &isnull);
			if (!isnull)
				body = TextDatumGetCString(d);
		}
	}
	ReleaseSysCache(tuple);
	if (defaults)
		(void) expr_walker(stringToNode(defaults), check);
	if (body)
		(void) expr_walker(stringToNode(body), check);
	return why;
}

static void
check_function(Oid func, bool by_name, Check *check)
{
	int			why = function_refused(func, by_name, check);

	if (why >= 0)
		refuse("the function", format_procedure(func), why);
}

/* a check_function_callback for check_functions_in_node */
static bool
function_callback(Oid func, void *context)
{
	check_function(func, false, (Check *) context);
	return false;
}

/* the namespace and function of operator opno */
static Oid
operator_parts(Oid opno, Oid *code, Oid *negator, Oid *commutator)
{
	HeapTuple	tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	Oid			nsp;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tuple);
	nsp = op->oprnamespace;
	*code = op->oprcode;
	if (negator)
		*negator = op->oprnegate;
	if (commutator)
		*commutator = op->oprcom;
	ReleaseSysCache(tuple);
	return nsp;
}

/*
 * An operator: pg_catalog's, with an allowed function, and so its negator
 * and its commutator, which the planner may use in its place (NOT (a < b)
 * becomes a >= b; a < b, b > a) and evaluate while planning.
 */
static void
check_operator(Oid opno, Check *check)
{
	Oid			code;
	Oid			partners[2];
	int			why;

	if (operator_parts(opno, &code, &partners[0], &partners[1]) != PG_CATALOG_NAMESPACE)
		refuse("the operator", format_operator(opno), WHY_READS);
	if ((why = function_refused(code, false, check)) >= 0)
		refuse("the operator", format_operator(opno), why);
	for (int i = 0; i < 2; i++)
	{
		Oid			partner_code;

		if (!OidIsValid(partners[i]))
			continue;
		if (operator_parts(partners[i], &partner_code, NULL, NULL) != PG_CATALOG_NAMESPACE ||
			function_refused(partner_code, false, check) >= 0)
			refuse("the operator", format_operator(opno), WHY_PARTNER);
	}
}

static void
check_operators(const Oid *ops, int n, Check *check)
{
	for (int i = 0; i < n; i++)
		if (OidIsValid(ops[i]))
			check_operator(ops[i], check);
}

static void
check_query(Query *q, Check *check)
{
	ListCell   *lc;

	if (q->commandType != CMD_SELECT || q->utilityStmt != NULL)
		refuse("a statement that is not", "a SELECT", WHY_READS);
	if (q->rowMarks != NIL)
		refuse("a", "locking clause (FOR UPDATE, FOR SHARE)", WHY_READS);
	if (q->hasModifyingCTE)
		refuse("a", "data-modifying WITH", WHY_READS);
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
					refuse("the relation",
						   get_rel_name(rte->relid) ? get_rel_name(rte->relid) : "?",
						   WHY_READS);
				if (rte->tablesample != NULL)
					refuse("a", "TABLESAMPLE clause", WHY_READS);
				break;
			case RTE_SUBQUERY:
			case RTE_JOIN:
			case RTE_FUNCTION:
			case RTE_VALUES:
			case RTE_CTE:
			case RTE_RESULT:
				break;
			default:
				refuse("a", "table function or tuplestore", WHY_READS);
		}
	}
	/* the sorts and groupings are walked too: their operators */
	query_tree_walker(q, expr_walker, check, QTW_EXAMINE_RTES_BEFORE | QTW_EXAMINE_SORTGROUP);
}

/*
 * Every expression, of a query (4) or of a plan (5): the functions and
 * operators it calls, the types of its constants and coercions, and no
 * XML, no value that tells who asks.
 */
static bool
expr_walker(Node *node, Check *check)
{
	if (node == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_Query:
			check_query((Query *) node, check);
			return false;
		case T_RangeTblEntry:
			/* what it holds is walked by query_tree_walker */
			return false;
		case T_FuncExpr:
			check_function(((FuncExpr *) node)->funcid, true, check);
			return expression_tree_walker(node, expr_walker, check);
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			set_opfuncid((OpExpr *) node);
			check_operator(((OpExpr *) node)->opno, check);
			return expression_tree_walker(node, expr_walker, check);
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) node;

				set_sa_opfuncid(saop);
				check_operator(saop->opno, check);
				/* the planner's, for a long constant list */
				if (OidIsValid(saop->hashfuncid))
					check_function(saop->hashfuncid, false, check);
				if (OidIsValid(saop->negfuncid))
					check_function(saop->negfuncid, false, check);
				return expression_tree_walker(node, expr_walker, check);
			}
		case T_RowCompareExpr:
			{
				ListCell   *lc;

				foreach(lc, ((RowCompareExpr *) node)->opnos)
					check_operator(lfirst_oid(lc), check);
				return expression_tree_walker(node, expr_walker, check);
			}
		case T_SortGroupClause:
			{
				SortGroupClause *sgc = (SortGroupClause *) node;
				Oid			ops[2] = {sgc->eqop, sgc->sortop};

				check_operators(ops, 2, check);
				return false;
			}
		case T_WindowClause:
			{
				WindowClause *wc = (WindowClause *) node;

				if (OidIsValid(wc->startInRangeFunc))
					check_function(wc->startInRangeFunc, false, check);
				if (OidIsValid(wc->endInRangeFunc))
					check_function(wc->endInRangeFunc, false, check);
				break;
			}
		case T_SetOperationStmt:
			(void) expr_walker((Node *) ((SetOperationStmt *) node)->groupClauses, check);
			break;
		case T_SQLValueFunction:
			check_value_function((SQLValueFunction *) node);
			break;
		case T_XmlExpr:
			refuse("an", "XML expression", WHY_UNSTOPPABLE);
			break;
		case T_TableFunc:
			refuse("a", "table function (XMLTABLE)", WHY_UNSTOPPABLE);
			break;
		case T_Const:
			{
				Const	   *c = (Const *) node;
				int			why = type_refused(c->consttype);

				if (why >= 0)
					refuse("the type", format_type_be(c->consttype), why);
				break;
			}
		case T_CoerceViaIO:
			{
				CoerceViaIO *io = (CoerceViaIO *) node;
				Oid			types[2] = {io->resulttype, exprType((Node *) io->arg)};

				for (int i = 0; i < 2; i++)
				{
					int			why = type_refused(types[i]);

					if (why >= 0)
						refuse("the type", format_type_be(types[i]), why);
				}
				break;
			}
		case T_CollateExpr:
			{
				Oid			coll = ((CollateExpr *) node)->collOid;
				HeapTuple	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(coll));
				bool		ours;

				if (!HeapTupleIsValid(tuple))
					elog(ERROR, "cache lookup failed for collation %u", coll);
				ours = ((Form_pg_collation) GETSTRUCT(tuple))->collnamespace ==
					PG_CATALOG_NAMESPACE;
				ReleaseSysCache(tuple);
				if (!ours)
					refuse("the collation", get_collation_name(coll), WHY_READS);
				break;
			}
		case T_CoerceToDomain:
			{
				/* a domain's constraints are expressions its owner wrote */
				Oid			type = ((CoerceToDomain *) node)->resulttype;

				if (type_namespace(type) != PG_CATALOG_NAMESPACE)
					refuse("the type", format_type_be(type), WHY_READS);
				break;
			}
		default:
			break;
	}
	/* Aggref, WindowFunc, CoerceViaIO */
	check_functions_in_node(node, function_callback, check);
	return expression_tree_walker(node, expr_walker, check);
}

static void
check_exprs(void *exprs, Check *check)
{
	(void) expr_walker((Node *) exprs, check);
}

static void check_plan(Plan *plan, Check *check);

static void
check_plans(List *plans, Check *check)
{
	ListCell   *lc;

	foreach(lc, plans)
		check_plan((Plan *) lfirst(lc), check);
}

/*
 * A plan node and those below it: of a kind that only reads, with its
 * expressions and the operators of its sorts, groupings and hashes.
 */
static void
check_plan(Plan *plan, Check *check)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	check_exprs(plan->targetlist, check);
	check_exprs(plan->qual, check);
	check_exprs(plan->initPlan, check);
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_CteScan:
		case T_Material:
		case T_ProjectSet:
			break;
		case T_Result:
			check_exprs(((Result *) plan)->resconstantqual, check);
			break;
		case T_Append:
			if (((Append *) plan)->part_prune_info != NULL)
				refuse("a", "partitioned relation", WHY_READS);
			check_plans(((Append *) plan)->appendplans, check);
			break;
		case T_MergeAppend:
			{
				MergeAppend *ma = (MergeAppend *) plan;

				if (ma->part_prune_info != NULL)
					refuse("a", "partitioned relation", WHY_READS);
				check_plans(ma->mergeplans, check);
				check_operators(ma->sortOperators, ma->numCols, check);
				break;
			}
		case T_BitmapAnd:
			check_plans(((BitmapAnd *) plan)->bitmapplans, check);
			break;
		case T_BitmapOr:
			check_plans(((BitmapOr *) plan)->bitmapplans, check);
			break;
		case T_IndexScan:
			{
				IndexScan  *is = (IndexScan *) plan;

				check_exprs(is->indexqual, check);
				check_exprs(is->indexqualorig, check);
				check_exprs(is->indexorderby, check);
				check_exprs(is->indexorderbyorig, check);
				foreach(lc, is->indexorderbyops)
					check_operator(lfirst_oid(lc), check);
				break;
			}
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *is = (IndexOnlyScan *) plan;

				check_exprs(is->indexqual, check);
				check_exprs(is->recheckqual, check);
				check_exprs(is->indexorderby, check);
				check_exprs(is->indextlist, check);
				break;
			}
		case T_BitmapIndexScan:
			check_exprs(((BitmapIndexScan *) plan)->indexqual, check);
			check_exprs(((BitmapIndexScan *) plan)->indexqualorig, check);
			break;
		case T_BitmapHeapScan:
			check_exprs(((BitmapHeapScan *) plan)->bitmapqualorig, check);
			break;
		case T_TidScan:
			check_exprs(((TidScan *) plan)->tidquals, check);
			break;
		case T_TidRangeScan:
			check_exprs(((TidRangeScan *) plan)->tidrangequals, check);
			break;
		case T_SubqueryScan:
			check_plan(((SubqueryScan *) plan)->subplan, check);
			break;
		case T_FunctionScan:
			check_exprs(((FunctionScan *) plan)->functions, check);
			break;
		case T_ValuesScan:
			check_exprs(((ValuesScan *) plan)->values_lists, check);
			break;
		case T_NestLoop:
			check_exprs(((Join *) plan)->joinqual, check);
			break;
		case T_MergeJoin:
			check_exprs(((Join *) plan)->joinqual, check);
			check_exprs(((MergeJoin *) plan)->mergeclauses, check);
			break;
		case T_HashJoin:
			{
				HashJoin   *hj = (HashJoin *) plan;

				check_exprs(hj->join.joinqual, check);
				check_exprs(hj->hashclauses, check);
				check_exprs(hj->hashkeys, check);
				foreach(lc, hj->hashoperators)
					check_operator(lfirst_oid(lc), check);
				break;
			}
		case T_Hash:
			check_exprs(((Hash *) plan)->hashkeys, check);
			break;
		case T_Memoize:
			check_exprs(((Memoize *) plan)->param_exprs, check);
			check_operators(((Memoize *) plan)->hashOperators, ((Memoize *) plan)->numKeys,
							check);
			break;
		case T_Sort:
			check_operators(((Sort *) plan)->sortOperators, ((Sort *) plan)->numCols, check);
			break;
		case T_IncrementalSort:
			check_operators(((IncrementalSort *) plan)->sort.sortOperators,
							((IncrementalSort *) plan)->sort.numCols, check);
			break;
		case T_Group:
			check_operators(((Group *) plan)->grpOperators, ((Group *) plan)->numCols, check);
			break;
		case T_Agg:
			check_operators(((Agg *) plan)->grpOperators, ((Agg *) plan)->numCols, check);
			/* the other grouping sets' Agg and Sort nodes */
			check_plans(((Agg *) plan)->chain, check);
			break;
		case T_WindowAgg:
			{
				WindowAgg  *wa = (WindowAgg *) plan;

				check_operators(wa->partOperators, wa->partNumCols, check);
				check_operators(wa->ordOperators, wa->ordNumCols, check);
				check_exprs(wa->startOffset, check);
				check_exprs(wa->endOffset, check);
				check_exprs(wa->runCondition, check);
				check_exprs(wa->runConditionOrig, check);
				if (OidIsValid(wa->startInRangeFunc))
					check_function(wa->startInRangeFunc, false, check);
				if (OidIsValid(wa->endInRangeFunc))
					check_function(wa->endInRangeFunc, false, check);
				break;
			}
		case T_Unique:
			check_operators(((Unique *) plan)->uniqOperators, ((Unique *) plan)->numCols,
							check);
			break;
		case T_SetOp:
			check_operators(((SetOp *) plan)->dupOperators, ((SetOp *) plan)->numCols, check);
			break;
		case T_Limit:
			check_exprs(((Limit *) plan)->limitOffset, check);
			check_exprs(((Limit *) plan)->limitCount, check);
			check_operators(((Limit *) plan)->uniqOperators, ((Limit *) plan)->uniqNumCols,
							check);
			break;
		default:
			/* locking, writing, sampling, other servers, parallel workers, ... */
			refuse("a plan node of type", psprintf("%d", (int) nodeTag(plan)), WHY_READS);
	}
	check_plan(plan->lefttree, check);
	check_plan(plan->righttree, check);
}

static void
check_planned(PlannedStmt *stmt, Check *check)
{
	ListCell   *lc;

	if (stmt->commandType != CMD_SELECT || stmt->utilityStmt != NULL ||
		stmt->hasModifyingCTE || stmt->rowMarks != NIL || stmt->resultRelations != NIL)
		refuse("a statement that is not", "a SELECT", WHY_READS);
	/* every relation the plan reads or depends on */
	foreach(lc, stmt->relationOids)
	{
		bool		ok = false;

		for (int i = 0; i < (int) lengthof(readable) && !ok; i++)
			ok = lfirst_oid(lc) == check->relids[i];
		if (!ok)
			refuse("the relation",
				   get_rel_name(lfirst_oid(lc)) ? get_rel_name(lfirst_oid(lc)) : "?",
				   WHY_READS);
	}
	check_plan(stmt->planTree, check);
	/* the plans of SubPlans and CTEs */
	check_plans(stmt->subplans, check);
}


/* ----------------------------------------------------------------
 * The three checks
 * ----------------------------------------------------------------
 */

static void
check_init(Check *check)
{
	for (int i = 0; i < (int) lengthof(readable); i++)
		check->relids[i] = mig_relid(readable[i]);
	check->walked = NIL;
}

void
mig_target_check_names(Node *expr)
{
	raw_names_walker(expr, get_namespace_name(get_rel_namespace(mig_relid("agents"))));
}

void
mig_target_check_queries(List *queries)
{
	Check		check;

	/* a SELECT is rewritten into itself, its relations' policies added */
	if (list_length(queries) != 1)
		refuse("a statement that is not", "a SELECT", WHY_READS);
	check_init(&check);
	check_query(linitial_node(Query, queries), &check);
}

void
mig_target_check_plan(PlannedStmt *stmt)
{
	Check		check;

	check_init(&check);
	check_planned(stmt, &check);
}
