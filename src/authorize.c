/*-------------------------------------------------------------------------
 *
 * authorize.c
 *	  Whether an action may run on an agent: MIG's weighted ACLs.
 *
 *	  An action may run on an agent iff it has at least one operation and,
 *	  for every distinct module M among its operations:
 *
 *	  - required = agtmodreq.minimumweight for (M, agent), else the one for
 *		the module named "default" on that agent; no row at all, or a value
 *		below 1, denies (a module absent from `modules` goes to "default");
 *	  - granted = the sum over the distinct investigators with a valid
 *		signature on the action of invagtmodperm.weight for (investigator,
 *		agent, the module that gave `required`);
 *	  - granted >= required.
 *
 *	  The validity window (validfrom, expireafter) is the scheduler's
 *	  business and is not looked at.  The signers come from
 *	  mig_action_signers(), which verifies the action first when its record
 *	  is missing or stale.
 *
 *	  Three SQL functions share one rule: mig_authorize (one agent, stops at
 *	  the first module that denies), mig_authorize_explain (one row per
 *	  module, with a reason a person can act on), and mig_authorized_agents
 *	  (a whole fleet at once: each ACL table is read once, through its
 *	  indexes, into a hash table keyed by agent, instead of one query per
 *	  agent).
 *
 *	  The ACL tables are read with direct index scans under the statement's
 *	  snapshot: a module decision is a handful of unique-index probes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lockdefs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "canon.h"
#include "schema.h"
#include "utils.h"
#include "authorize.h"
#include "verify.h"

/* the relations a decision reads, opened once per call */
typedef struct AclRels
{
	Relation	agents;
	Relation	agents_pkey;
	Relation	modules;
	Relation	modules_name;
	Relation	agtmodreq;
	Relation	agtmodreq_key;	/* (moduleid, agentid) */
	Relation	invagtmodperm;
	Relation	invagtmodperm_key;	/* (investigatorid, agentid, moduleid) */
	Relation	invagtmodperm_agent;	/* (agentid, moduleid) */
	TupleTableSlot *agtmodreq_slot;
	TupleTableSlot *invagtmodperm_slot;
	/* the columns read, by name (mig_attnum) */
	AttrNumber	modules_id;
	AttrNumber	req_agentid;
	AttrNumber	req_minimumweight;
	AttrNumber	perm_investigatorid;
	AttrNumber	perm_agentid;
	AttrNumber	perm_weight;
} AclRels;

/* the indexes are found from their tables, by their columns (schema.c) */
static void
acl_open(AclRels *rels)
{
	rels->agents = table_open(mig_relid("agents"), AccessShareLock);
	rels->agents_pkey = mig_index_open(rels->agents, "id", true);
	rels->modules = table_open(mig_relid("modules"), AccessShareLock);
	rels->modules_name = mig_index_open(rels->modules, "name", true);
	rels->agtmodreq = table_open(mig_relid("agtmodreq"), AccessShareLock);
	rels->agtmodreq_key = mig_index_open(rels->agtmodreq, "moduleid,agentid", true);
	rels->invagtmodperm = table_open(mig_relid("invagtmodperm"), AccessShareLock);
	rels->invagtmodperm_key = mig_index_open(rels->invagtmodperm,
											 "investigatorid,agentid,moduleid", true);
	rels->invagtmodperm_agent = mig_index_open(rels->invagtmodperm, "agentid,moduleid", false);
	rels->agtmodreq_slot = table_slot_create(rels->agtmodreq, NULL);
	rels->invagtmodperm_slot = table_slot_create(rels->invagtmodperm, NULL);
	rels->modules_id = mig_attnum(rels->modules, "id");
	rels->req_agentid = mig_attnum(rels->agtmodreq, "agentid");
	rels->req_minimumweight = mig_attnum(rels->agtmodreq, "minimumweight");
	rels->perm_investigatorid = mig_attnum(rels->invagtmodperm, "investigatorid");
	rels->perm_agentid = mig_attnum(rels->invagtmodperm, "agentid");
	rels->perm_weight = mig_attnum(rels->invagtmodperm, "weight");
}

static void
acl_close(AclRels *rels)
{
	ExecDropSingleTupleTableSlot(rels->agtmodreq_slot);
	ExecDropSingleTupleTableSlot(rels->invagtmodperm_slot);
	index_close(rels->invagtmodperm_agent, AccessShareLock);
	index_close(rels->invagtmodperm_key, AccessShareLock);
	table_close(rels->invagtmodperm, AccessShareLock);
	index_close(rels->agtmodreq_key, AccessShareLock);
	table_close(rels->agtmodreq, AccessShareLock);
	index_close(rels->modules_name, AccessShareLock);
	table_close(rels->modules, AccessShareLock);
	index_close(rels->agents_pkey, AccessShareLock);
	table_close(rels->agents, AccessShareLock);
}

/* an equality scan key on index column attno */
static void
eq_key(ScanKey key, Relation index, AttrNumber attno, RegProcedure eqproc, Datum value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[attno - 1], eqproc, value);
}

/*
 * Fetch the first row matching the keys into slot; false if none.  Used on
 * unique indexes, so "first" is "the".  Every row an index scan here gives
 * is checked against its keys before it counts.
 */
static bool
fetch_unique(Relation heap, Relation index, ScanKey keys, int nkeys, TupleTableSlot *slot)
{
	IndexScanDesc scan;
	bool		found;

	scan = index_beginscan(heap, index, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
		mig_index_recheck(index, keys, nkeys, slot);
	index_endscan(scan);
	return found;
}

static void
check_agent_exists(AclRels *rels, Datum agent)
{
	ScanKeyData key;
	TupleTableSlot *slot = table_slot_create(rels->agents, NULL);
	bool		found;

	eq_key(&key, rels->agents_pkey, 1, F_NUMERIC_EQ, agent);
	found = fetch_unique(rels->agents, rels->agents_pkey, &key, 1, slot);
	ExecDropSingleTupleTableSlot(slot);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %s does not exist", mig_numeric_text(agent))));
}

/* modules.id of the module called name, or (Datum) 0 if there is none */
static Datum
module_id(AclRels *rels, const char *name)
{
	ScanKeyData key;
	TupleTableSlot *slot = table_slot_create(rels->modules, NULL);
	Datum		result = (Datum) 0;

	eq_key(&key, rels->modules_name, 1, F_TEXTEQ, CStringGetTextDatum(name));
	if (fetch_unique(rels->modules, rels->modules_name, &key, 1, slot))
	{
		bool		isnull;
		Datum		id = slot_getattr(slot, rels->modules_id, &isnull);

		result = datumCopy(id, false, -1);
	}
	ExecDropSingleTupleTableSlot(slot);
	return result;
}

/* agtmodreq.minimumweight for (module, agent); false if no row */
static bool
min_weight(AclRels *rels, Datum moduleid, Datum agentid, int32 *weight)
{
	ScanKeyData keys[2];
	bool		isnull;

	eq_key(&keys[0], rels->agtmodreq_key, 1, F_NUMERIC_EQ, moduleid);
	eq_key(&keys[1], rels->agtmodreq_key, 2, F_NUMERIC_EQ, agentid);
	if (!fetch_unique(rels->agtmodreq, rels->agtmodreq_key, keys, 2, rels->agtmodreq_slot))
		return false;
	*weight = DatumGetInt32(slot_getattr(rels->agtmodreq_slot,
										 rels->req_minimumweight, &isnull));
	return true;
}

/* invagtmodperm.weight for (investigator, agent, module); false if no row */
static bool
perm_weight(AclRels *rels, Datum investigator, Datum agentid, Datum moduleid, int32 *weight)
{
	ScanKeyData keys[3];
	bool		isnull;

	eq_key(&keys[0], rels->invagtmodperm_key, 1, F_NUMERIC_EQ, investigator);
	eq_key(&keys[1], rels->invagtmodperm_key, 2, F_NUMERIC_EQ, agentid);
	eq_key(&keys[2], rels->invagtmodperm_key, 3, F_NUMERIC_EQ, moduleid);
	if (!fetch_unique(rels->invagtmodperm, rels->invagtmodperm_key, keys, 3,
					  rels->invagtmodperm_slot))
		return false;
	*weight = DatumGetInt32(slot_getattr(rels->invagtmodperm_slot,
										 rels->perm_weight, &isnull));
	return true;
}

/* ----------------------------------------------------------------
 * The rule, written once: which agtmodreq row governs a module on an
 * agent, and whether the signers' weight passes it.  The three SQL
 * functions gather the inputs their own way (probes for one agent, scans
 * for a fleet) and ask these two.
 * ----------------------------------------------------------------
 */

typedef enum Governing
{
	GOVERNED_BY_NONE,			/* no row for the module nor for "default" */
	GOVERNED_BY_MODULE,			/* the module's own row */
	GOVERNED_BY_DEFAULT			/* "default"'s row on that agent */
} Governing;

/* the module's own row wins; "default" stands in when it has none */
static inline Governing
governing_row(bool module_row, bool default_row)
{
	if (module_row)
		return GOVERNED_BY_MODULE;
	return default_row ? GOVERNED_BY_DEFAULT : GOVERNED_BY_NONE;
}

/* no row, or a minimum weight below 1, denies; else the weight must reach it */
static inline bool
weight_passes(Governing by, int32 required, int64 granted)
{
	return by != GOVERNED_BY_NONE && required >= 1 && granted >= required;
}

/*
 * What a call needs about the action: its signers and its modules, with
 * each module resolved to its id and the id of "default".
 */
typedef struct ActionAcl
{
	Datum		action;
	MigActionSigners *signers;
	int			nmodules;
	char	  **modules;		/* distinct, first-seen order */
	Datum	   *module_ids;		/* (Datum) 0: not in `modules` */
	Datum		default_id;		/* (Datum) 0: no module "default" */
} ActionAcl;

static void
load_action(AclRels *rels, Datum action, ActionAcl *acl)
{
	List	   *names = NIL;
	ListCell   *lc;
	int			i = 0;

	acl->action = action;
	acl->signers = mig_action_signers(action);
	if (acl->signers->operations != NULL)
		names = mig_operation_modules(acl->signers->operations,
									  acl->signers->operations_len);
	acl->nmodules = list_length(names);
	acl->modules = palloc(sizeof(char *) * Max(acl->nmodules, 1));
	acl->module_ids = palloc(sizeof(Datum) * Max(acl->nmodules, 1));
	foreach(lc, names)
	{
		acl->modules[i] = lfirst(lc);
		acl->module_ids[i] = module_id(rels, acl->modules[i]);
		i++;
	}
	acl->default_id = module_id(rels, "default");
}

/* one module's decision on one agent, with what explains it */
typedef struct ModuleDecision
{
	Governing	by;				/* which agtmodreq row governs */
	Datum		acl_module;		/* the module that gave the requirement */
	int32		required;
	int64		granted;
	List	   *contributors;	/* signers with a permission row (Datum) */
	List	   *without;		/* signers without one (Datum) */
	bool		authorized;
} ModuleDecision;

/*
 * The signers' weights on (agent, d->acl_module): one scan of the agent's
 * permission rows for that module (few: one per investigator allowed there),
 * keeping the signers' rows.
 */
static void
sum_permissions(AclRels *rels, MigActionSigners *signers, Datum agent, ModuleDecision *d)
{
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = rels->invagtmodperm_slot;
	bool	   *has = palloc0(sizeof(bool) * signers->nsigners);

	eq_key(&keys[0], rels->invagtmodperm_agent, 1, F_NUMERIC_EQ, agent);
	eq_key(&keys[1], rels->invagtmodperm_agent, 2, F_NUMERIC_EQ, d->acl_module);
	scan = index_beginscan(rels->invagtmodperm, rels->invagtmodperm_agent,
						   GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		inv;

		mig_index_recheck(rels->invagtmodperm_agent, keys, 2, slot);
		inv = slot_getattr(slot, rels->perm_investigatorid, &isnull);

		for (int i = 0; i < signers->nsigners; i++)
		{
			if (!has[i] && DatumGetBool(DirectFunctionCall2(numeric_eq, inv,
															signers->signers[i])))
			{
				has[i] = true;
				d->granted += DatumGetInt32(slot_getattr(slot, rels->perm_weight,
														 &isnull));
				break;
			}
		}
	}
	index_endscan(scan);

	for (int i = 0; i < signers->nsigners; i++)
	{
		if (has[i])
			d->contributors = lappend(d->contributors, DatumGetPointer(signers->signers[i]));
		else
			d->without = lappend(d->without, DatumGetPointer(signers->signers[i]));
	}
	pfree(has);
}

static void
decide_module(AclRels *rels, ActionAcl *acl, int m, Datum agent, ModuleDecision *d)
{
	bool		own;
	bool		dflt = false;

	memset(d, 0, sizeof(*d));
	/* "default" is looked up only when the module has no row of its own */
	own = acl->module_ids[m] != (Datum) 0 &&
		min_weight(rels, acl->module_ids[m], agent, &d->required);
	if (!own)
		dflt = acl->default_id != (Datum) 0 &&
			min_weight(rels, acl->default_id, agent, &d->required);
	d->by = governing_row(own, dflt);
	d->acl_module = d->by == GOVERNED_BY_MODULE ? acl->module_ids[m] : acl->default_id;
	if (d->by != GOVERNED_BY_NONE && d->required >= 1 && acl->signers->nsigners > 0)
		sum_permissions(rels, acl->signers, agent, d);
	d->authorized = weight_passes(d->by, d->required, d->granted);
}

static char *
id_list(List *ids)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, ids)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, lnext(ids, lc) ? ", " : " and ");
		appendStringInfoString(&buf, mig_numeric_text(PointerGetDatum(lfirst(lc))));
	}
	return buf.data;
}

static char *
decision_reason(ActionAcl *acl, int m, Datum agent, ModuleDecision *d)
{
	const char *module = acl->modules[m];
	bool		via_default = d->by == GOVERNED_BY_DEFAULT;
	const char *acl_name = via_default ? "default" : module;
	StringInfoData buf;

	if (d->by == GOVERNED_BY_NONE)
		return psprintf("no ACL for module %s or default on agent %s",
						module, mig_numeric_text(agent));
	if (d->required < 1)
		return psprintf("minimum weight %d of module %s on agent %s is below 1",
						d->required, acl_name, mig_numeric_text(agent));

	initStringInfo(&buf);
	appendStringInfo(&buf, "weight " INT64_FORMAT " of %d", d->granted, d->required);
	if (via_default)
		appendStringInfo(&buf, " (ACL of default: module %s has none on agent %s)",
						 module, mig_numeric_text(agent));
	if (d->authorized)
		return buf.data;

	if (acl->signers->ambiguity != NULL)
		appendStringInfo(&buf, ": %s", acl->signers->ambiguity);
	else if (acl->signers->nsigners == 0)
		appendStringInfo(&buf, ": action %s has no valid signature",
						 mig_numeric_text(acl->action));
	else if (d->without != NIL)
		appendStringInfo(&buf, ": %s %s %s no permission on %s",
						 list_length(d->without) == 1 ? "investigator" : "investigators",
						 id_list(d->without),
						 list_length(d->without) == 1 ? "has" : "have",
						 acl_name);
	else
		appendStringInfo(&buf, ": the weights of investigator%s %s on %s add up to " INT64_FORMAT,
						 list_length(d->contributors) == 1 ? "" : "s",
						 id_list(d->contributors), acl_name, d->granted);
	return buf.data;
}

/*
 * One action, decided agent by agent with the reasons of
 * mig_authorize_explain (for a plan of every targeted agent).
 */
struct MigAclAction
{
	AclRels		rels;
	ActionAcl	acl;
};

MigAclAction *
mig_acl_begin(Datum action)
{
	MigAclAction *a = palloc(sizeof(MigAclAction));

	acl_open(&a->rels);
	load_action(&a->rels, action, &a->acl);
	return a;
}

/* whether the action may run on agent; when not, *reason says why first */
bool
mig_acl_decide(MigAclAction *a, Datum agent, char **reason)
{
	*reason = NULL;
	if (a->acl.nmodules == 0)
	{
		*reason = psprintf("action %s has no operations", mig_numeric_text(a->acl.action));
		return false;
	}
	for (int m = 0; m < a->acl.nmodules; m++)
	{
		ModuleDecision d;

		decide_module(&a->rels, &a->acl, m, agent, &d);
		if (!d.authorized)
		{
			*reason = psprintf("%s: %s", a->acl.modules[m],
							   decision_reason(&a->acl, m, agent, &d));
			return false;
		}
	}
	return true;
}

void
mig_acl_end(MigAclAction *a)
{
	acl_close(&a->rels);
	pfree(a);
}

/*
 * mig_authorize(action_id numeric, agent_id numeric) -> boolean
 */
PG_FUNCTION_INFO_V1(mig_authorize);
Datum
mig_authorize(PG_FUNCTION_ARGS)
{
	Datum		action = PG_GETARG_DATUM(0);
	Datum		agent = PG_GETARG_DATUM(1);
	AclRels		rels;
	ActionAcl	acl;
	bool		result;
	bool		seen_acl = false;

	acl_open(&rels);
	load_action(&rels, action, &acl);

	result = acl.nmodules > 0;
	for (int m = 0; m < acl.nmodules && result; m++)
	{
		ModuleDecision d;

		decide_module(&rels, &acl, m, agent, &d);
		result = d.authorized;
		seen_acl |= d.by != GOVERNED_BY_NONE;
	}

	/*
	 * An agtmodreq row names an existing agent (foreign key); only without
	 * one does an unknown agent have to be told apart from a denial.
	 */
	if (!seen_acl)
		check_agent_exists(&rels, agent);
	acl_close(&rels);
	PG_RETURN_BOOL(result);
}

/* a numeric[] of a list of numeric Datums */
static Datum
numeric_array(List *ids)
{
	MigArray	a;
	ListCell   *lc;

	mig_array_init(&a, NUMERICOID, list_length(ids));
	foreach(lc, ids)
		mig_array_add(&a, PointerGetDatum(lfirst(lc)), false);
	return mig_array_datum(&a);
}

/*
 * What explain adds when the action is outside its validity window: the
 * verdict does not look at it (the scheduler's decision), but a person
 * reading why an action may run should see that it will not run now.
 */
static char *
window_note(MigActionSigners *s)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (now <= s->validfrom)
		return psprintf("; the action is not valid before %s", timestamptz_to_str(s->validfrom));
	if (now >= s->expireafter)
		return psprintf("; the action expired at %s", timestamptz_to_str(s->expireafter));
	return "";
}

/*
 * mig_authorize_explain(action_id numeric, agent_id numeric)
 *	 -> TABLE(module text, required_weight int, granted_weight int,
 *			  signers numeric[], authorized boolean, reason text)
 *
 * One row per distinct module of the action, in the order the operations
 * name them; signers are the investigators whose weight counted.  An action
 * without operations gives one row with a NULL module.
 */
PG_FUNCTION_INFO_V1(mig_authorize_explain);
Datum
mig_authorize_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		action = PG_GETARG_DATUM(0);
	Datum		agent = PG_GETARG_DATUM(1);
	AclRels		rels;
	ActionAcl	acl;

	InitMaterializedSRF(fcinfo, 0);

	/*
	 * The action first, then the agent, as mig_authorize and
	 * mig_authorized_agents do: with both unknown, each says the same.
	 */
	acl_open(&rels);
	load_action(&rels, action, &acl);
	check_agent_exists(&rels, agent);

	if (acl.nmodules == 0)
	{
		Datum		values[6] = {0};
		bool		nulls[6] = {true, true, true, true, false, false};

		values[4] = BoolGetDatum(false);
		values[5] = CStringGetTextDatum(psprintf("action %s has no operations",
												 mig_numeric_text(action)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	for (int m = 0; m < acl.nmodules; m++)
	{
		ModuleDecision d;
		Datum		values[6];
		bool		nulls[6] = {false};

		decide_module(&rels, &acl, m, agent, &d);
		values[0] = CStringGetTextDatum(acl.modules[m]);
		values[1] = Int32GetDatum(d.required);
		nulls[1] = d.by == GOVERNED_BY_NONE;
		values[2] = Int32GetDatum((int32) Min(d.granted, PG_INT32_MAX));
		values[3] = numeric_array(d.contributors);
		values[4] = BoolGetDatum(d.authorized);
		values[5] = CStringGetTextDatum(psprintf("%s%s", decision_reason(&acl, m, agent, &d),
												 window_note(acl.signers)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	acl_close(&rels);
	return (Datum) 0;
}

/*
 * The set-based form.  Every agent that may be authorized has an agtmodreq
 * row for one of the action's modules or for "default", so the candidates
 * come from agtmodreq itself.  The relevant modules R are the action's
 * modules that exist plus "default"; per agent we keep, for each r in R,
 * its minimum weight (-1: no row) and the sum of the signers' weights.
 */
typedef struct AgentEntry
{
	Datum		agent;			/* numeric, the key */
	uint32		hash;
	char		status;
	bool	   *has;			/* [nR]: an agtmodreq row */
	int32	   *minw;			/* [nR]: its minimum weight */
	int64	   *sum;			/* [nR] */
} AgentEntry;

static uint32
numeric_hash(Datum n)
{
	return DatumGetUInt32(DirectFunctionCall1(hash_numeric, n));
}

#define SH_PREFIX agenthash
#define SH_ELEMENT_TYPE AgentEntry
#define SH_KEY_TYPE Datum
#define SH_KEY agent
#define SH_HASH_KEY(tb, key) numeric_hash(key)
#define SH_EQUAL(tb, a, b) DatumGetBool(DirectFunctionCall2(numeric_eq, a, b))
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct Fleet
{
	int			nR;
	Datum	   *R;				/* relevant module ids */
	int		   *specific;		/* per action module: index in R, or -1 */
	int			dflt;			/* index of "default" in R, or -1 */
	agenthash_hash *agents;
	bool		fixed;			/* the agent set is given, don't add */
} Fleet;

static int
r_index(Fleet *f, Datum moduleid)
{
	for (int i = 0; i < f->nR; i++)
		if (DatumGetBool(DirectFunctionCall2(numeric_eq, f->R[i], moduleid)))
			return i;
	return -1;
}

static int
r_add(Fleet *f, Datum moduleid)
{
	int			i = r_index(f, moduleid);

	if (i < 0)
	{
		i = f->nR++;
		f->R[i] = moduleid;
	}
	return i;
}

static AgentEntry *
fleet_agent(Fleet *f, Datum agent, bool add)
{
	AgentEntry *e;
	bool		found;

	if (!add)
		return agenthash_lookup(f->agents, agent);
	e = agenthash_insert(f->agents, agent, &found);
	if (!found)
	{
		e->agent = datumCopy(agent, false, -1);
		e->has = palloc0(sizeof(bool) * f->nR);
		e->minw = palloc0(sizeof(int32) * f->nR);
		e->sum = palloc0(sizeof(int64) * f->nR);
	}
	return e;
}

/* agtmodreq rows of module R[r], through the (moduleid, agentid) key */
static void
scan_requirements(AclRels *rels, Fleet *f, int r)
{
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot = rels->agtmodreq_slot;

	eq_key(&key, rels->agtmodreq_key, 1, F_NUMERIC_EQ, f->R[r]);
	scan = index_beginscan(rels->agtmodreq, rels->agtmodreq_key, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		agent;
		AgentEntry *e;

		mig_index_recheck(rels->agtmodreq_key, &key, 1, slot);
		agent = slot_getattr(slot, rels->req_agentid, &isnull);
		e = fleet_agent(f, agent, !f->fixed);

		if (e != NULL)
		{
			e->has[r] = true;
			e->minw[r] = DatumGetInt32(slot_getattr(slot, rels->req_minimumweight, &isnull));
		}
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
}

/*
 * invagtmodperm rows of one signer on module R[r], through the
 * (investigatorid, agentid, moduleid) key: the moduleid key is checked on
 * the index tuples, so rows of other modules cost no heap access.
 */
static void
scan_permissions(AclRels *rels, Fleet *f, Datum signer, int r)
{
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = rels->invagtmodperm_slot;

	eq_key(&keys[0], rels->invagtmodperm_key, 1, F_NUMERIC_EQ, signer);
	eq_key(&keys[1], rels->invagtmodperm_key, 3, F_NUMERIC_EQ, f->R[r]);
	scan = index_beginscan(rels->invagtmodperm, rels->invagtmodperm_key, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		agent;
		AgentEntry *e;

		mig_index_recheck(rels->invagtmodperm_key, keys, 2, slot);
		agent = slot_getattr(slot, rels->perm_agentid, &isnull);
		e = fleet_agent(f, agent, false);

		if (e != NULL)
			e->sum[r] += DatumGetInt32(slot_getattr(slot, rels->perm_weight, &isnull));
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
}

/*
 * Few given agents: probe the unique keys per agent rather than reading the
 * modules' whole ACLs.  Same entries, same evaluation.
 */
static void
probe_agent(AclRels *rels, Fleet *f, MigActionSigners *signers, AgentEntry *e)
{
	for (int r = 0; r < f->nR; r++)
	{
		int32		w;

		if (min_weight(rels, f->R[r], e->agent, &w))
		{
			e->has[r] = true;
			e->minw[r] = w;
		}
		for (int s = 0; s < signers->nsigners; s++)
			if (perm_weight(rels, signers->signers[s], e->agent, f->R[r], &w))
				e->sum[r] += w;
	}
}

static bool
fleet_authorized(Fleet *f, int nmodules, AgentEntry *e)
{
	for (int m = 0; m < nmodules; m++)
	{
		int			own = f->specific[m];
		Governing	by = governing_row(own >= 0 && e->has[own],
									   f->dflt >= 0 && e->has[f->dflt]);
		int			r = by == GOVERNED_BY_MODULE ? own : f->dflt;

		if (by == GOVERNED_BY_NONE || !weight_passes(by, e->minw[r], e->sum[r]))
			return false;
	}
	return true;
}

/* given agents up to this many are probed one by one */
#define MIG_PROBE_AGENTS 256

/*
 * The agents among agents[0..n-1] (every agent when agents is NULL) on
 * which the action is authorized, each given to emit.  Each ACL table is
 * read once through its indexes into a hash table keyed by agent, or, for
 * few given agents, probed per agent.
 */
void
mig_authorized_agents_each(Datum action, Datum *agents, int n,
						   void (*emit) (Datum agent, void *arg), void *arg)
{
	MemoryContext work;
	MemoryContext old;
	AclRels		rels;
	ActionAcl	acl;
	Fleet		f;
	agenthash_iterator it;
	AgentEntry *e;
	bool		probe = false;

	work = AllocSetContextCreate(CurrentMemoryContext, "mig_authorized_agents",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	acl_open(&rels);
	load_action(&rels, action, &acl);

	if (acl.nmodules == 0 || acl.signers->nsigners == 0)
		goto done;				/* nothing can be authorized */

	f.R = palloc(sizeof(Datum) * (acl.nmodules + 1));
	f.nR = 0;
	f.specific = palloc(sizeof(int) * acl.nmodules);
	for (int m = 0; m < acl.nmodules; m++)
		f.specific[m] = acl.module_ids[m] != (Datum) 0 ? r_add(&f, acl.module_ids[m]) : -1;
	f.dflt = acl.default_id != (Datum) 0 ? r_add(&f, acl.default_id) : -1;
	f.fixed = agents != NULL;

	if (f.fixed)
	{
		f.agents = agenthash_create(work, Max(n, 16), NULL);
		for (int i = 0; i < n; i++)
			fleet_agent(&f, agents[i], true);
		probe = f.agents->members <= MIG_PROBE_AGENTS;
	}
	else
		f.agents = agenthash_create(work, 1024, NULL);

	if (probe)
	{
		agenthash_start_iterate(f.agents, &it);
		while ((e = agenthash_iterate(f.agents, &it)) != NULL)
			probe_agent(&rels, &f, acl.signers, e);
	}
	else
	{
		for (int r = 0; r < f.nR; r++)
			scan_requirements(&rels, &f, r);
		for (int s = 0; s < acl.signers->nsigners; s++)
			for (int r = 0; r < f.nR; r++)
				scan_permissions(&rels, &f, acl.signers->signers[s], r);
	}

	MemoryContextSwitchTo(old);
	agenthash_start_iterate(f.agents, &it);
	while ((e = agenthash_iterate(f.agents, &it)) != NULL)
		if (fleet_authorized(&f, acl.nmodules, e))
			emit(e->agent, arg);
	old = MemoryContextSwitchTo(work);

done:
	acl_close(&rels);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/* an emit of mig_authorized_agents_each: a row of a one-column tuplestore */
void
mig_emit_agent_row(Datum agent, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &agent, &isnull);
}

/*
 * mig_authorized_agents(action_id numeric, agent_ids numeric[] DEFAULT NULL)
 *	 -> SETOF numeric
 *
 * The agents (every agent when agent_ids is NULL) on which the action is
 * authorized; ids in agent_ids that are not agents are left out.
 */
PG_FUNCTION_INFO_V1(mig_authorized_agents);
Datum
mig_authorized_agents(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *agents = NULL;
	int			n = 0;

	/* a scalar result: the expected descriptor is its one column */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	if (!PG_ARGISNULL(1))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), NUMERICOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		agents = palloc(sizeof(Datum) * Max(nelems, 1));
		for (int i = 0; i < nelems; i++)
			if (!nulls[i])
				agents[n++] = elems[i];
	}
	mig_authorized_agents_each(PG_GETARG_DATUM(0), agents, n, mig_emit_agent_row, rsinfo);
	return (Datum) 0;
}
