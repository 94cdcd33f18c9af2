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
 *	  indexes, instead of one query per agent; every agent by merging the
 *	  scans in agent order, given agents into a hash table keyed by
 *	  agent).  mig_action_plan (target.c) asks for each targeted agent's
 *	  verdict with mig_authorize_explain's first reason (mig_acl_decide):
 *	  many agents are read the fleet's way first (mig_acl_begin), with
 *	  what each reason needs kept per agent, and every verdict and reason
 *	  comes from the same code either way (agent_verdict).
 *
 *	  The ACL tables are read with direct index scans under the statement's
 *	  snapshot: one agent's decision reads its agtmodreq rows and its
 *	  permission rows with one scan each, by agent; a fleet's, each
 *	  module's agtmodreq rows and each signer's permission rows with one
 *	  scan each.  Every row counted is checked against its scan's keys.  A
 *	  module's row is fetched first where it was found last time, and
 *	  counts only if it is still the visible row of that name
 *	  (mig_fetch_known_row).
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
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
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

/*
 * The relations a decision reads: the tables opened once per call, each
 * index when a path first needs it (a decision on one agent uses two of
 * the five).
 */
typedef struct AclRels
{
	Relation	agents;			/* NULL until check_agent_exists */
	Relation	agents_pkey;
	Relation	modules;
	Relation	modules_name;	/* NULL until needed */
	Relation	agtmodreq;
	Relation	agtmodreq_key;	/* (moduleid, agentid), NULL until needed */
	Relation	agtmodreq_agent;	/* (agentid), NULL until needed */
	Relation	invagtmodperm;
	Relation	invagtmodperm_key;	/* (investigatorid, agentid, moduleid), idem */
	Relation	invagtmodperm_agent;	/* (agentid, moduleid), idem */
	TupleTableSlot *agtmodreq_slot;
	TupleTableSlot *invagtmodperm_slot;
	/* the columns read, by name (mig_attnum) */
	AttrNumber	modules_id;
	AttrNumber	modules_name_att;
	Oid			modules_name_coll;
	AttrNumber	req_moduleid;
	AttrNumber	req_agentid;
	AttrNumber	req_minimumweight;
	AttrNumber	perm_investigatorid;
	AttrNumber	perm_agentid;
	AttrNumber	perm_moduleid;
	AttrNumber	perm_weight;
} AclRels;

/* the indexes are found from their tables, by their columns (schema.c) */
static void
acl_open(AclRels *rels)
{
	memset(rels, 0, sizeof(*rels));
	rels->modules = table_open(mig_relid("modules"), AccessShareLock);
	rels->agtmodreq = table_open(mig_relid("agtmodreq"), AccessShareLock);
	rels->invagtmodperm = table_open(mig_relid("invagtmodperm"), AccessShareLock);
	rels->agtmodreq_slot = table_slot_create(rels->agtmodreq, NULL);
	rels->invagtmodperm_slot = table_slot_create(rels->invagtmodperm, NULL);
	rels->modules_id = mig_attnum(rels->modules, "id");
	rels->modules_name_att = mig_attnum(rels->modules, "name");
	rels->modules_name_coll =
		TupleDescAttr(RelationGetDescr(rels->modules), rels->modules_name_att - 1)->attcollation;
	rels->req_moduleid = mig_attnum(rels->agtmodreq, "moduleid");
	rels->req_agentid = mig_attnum(rels->agtmodreq, "agentid");
	rels->req_minimumweight = mig_attnum(rels->agtmodreq, "minimumweight");
	rels->perm_investigatorid = mig_attnum(rels->invagtmodperm, "investigatorid");
	rels->perm_agentid = mig_attnum(rels->invagtmodperm, "agentid");
	rels->perm_moduleid = mig_attnum(rels->invagtmodperm, "moduleid");
	rels->perm_weight = mig_attnum(rels->invagtmodperm, "weight");
}

/* *index, opened on first use: the index of heap on columns */
static Relation
acl_index(Relation *index, Relation heap, const char *columns, bool unique)
{
	if (*index == NULL)
		*index = mig_index_open(heap, columns, unique);
	return *index;
}

static void
index_close_if_open(Relation index)
{
	if (index != NULL)
		index_close(index, AccessShareLock);
}

static void
acl_close(AclRels *rels)
{
	ExecDropSingleTupleTableSlot(rels->agtmodreq_slot);
	ExecDropSingleTupleTableSlot(rels->invagtmodperm_slot);
	index_close_if_open(rels->invagtmodperm_agent);
	index_close_if_open(rels->invagtmodperm_key);
	table_close(rels->invagtmodperm, AccessShareLock);
	index_close_if_open(rels->agtmodreq_agent);
	index_close_if_open(rels->agtmodreq_key);
	table_close(rels->agtmodreq, AccessShareLock);
	index_close_if_open(rels->modules_name);
	table_close(rels->modules, AccessShareLock);
	if (rels->agents != NULL)
	{
		index_close(rels->agents_pkey, AccessShareLock);
		table_close(rels->agents, AccessShareLock);
	}
}

/* an equality scan key on index column attno */
static void
eq_key(ScanKey key, Relation index, AttrNumber attno, RegProcedure eqproc, Datum value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[attno - 1], eqproc, value);
}

/*
 * A numeric as the numeric functions read it in place: one stored with a
 * short header (every small one in a heap or index tuple) would otherwise
 * be copied into a palloc'd chunk by each call that reads it.  buf must
 * outlive the result.
 */
typedef union NumericBuf
{
	char		data[VARHDRSZ + 128];
	int32		align;
} NumericBuf;

static inline Datum
numeric_unpacked(Datum d, NumericBuf *buf)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_SHORT(v))
	{
		Size		len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;

		SET_VARSIZE(buf->data, len + VARHDRSZ);
		memcpy(VARDATA(buf->data), VARDATA_SHORT(v), len);
		return PointerGetDatum(buf->data);
	}
	return d;
}

static inline bool
numeric_equal(Datum a, Datum b)
{
	NumericBuf	ba;
	NumericBuf	bb;

	if (mig_numeric_same_bytes(a, b))
		return true;
	return DatumGetBool(DirectFunctionCall2(numeric_eq, numeric_unpacked(a, &ba),
											numeric_unpacked(b, &bb)));
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
	TupleTableSlot *slot;
	bool		found;

	if (rels->agents == NULL)
	{
		rels->agents = table_open(mig_relid("agents"), AccessShareLock);
		rels->agents_pkey = mig_index_open(rels->agents, "id", true);
	}
	slot = table_slot_create(rels->agents, NULL);
	eq_key(&key, rels->agents_pkey, 1, F_NUMERIC_EQ, agent);
	found = fetch_unique(rels->agents, rels->agents_pkey, &key, 1, slot);
	ExecDropSingleTupleTableSlot(slot);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %s does not exist", mig_numeric_text(agent))));
}

/*
 * Where each module's row was last found, by name: the next look-up of the
 * name fetches that TID first (mig_fetch_known_row) and scans the index
 * only when the row there is no longer the visible row of that name.
 */
#define KNOWN_MODULES		16
#define KNOWN_MODULE_NAME	64

typedef struct KnownModule
{
	char		name[KNOWN_MODULE_NAME];
	ItemPointerData tid;
} KnownModule;

static KnownModule known_modules[KNOWN_MODULES];
static int	known_modules_next = 0;

static KnownModule *
known_module(const char *name, bool add)
{
	KnownModule *k;

	if (strlen(name) >= KNOWN_MODULE_NAME)
		return NULL;
	for (int i = 0; i < KNOWN_MODULES; i++)
		if (ItemPointerIsValid(&known_modules[i].tid) &&
			strcmp(known_modules[i].name, name) == 0)
			return &known_modules[i];
	if (!add)
		return NULL;
	k = &known_modules[known_modules_next];
	known_modules_next = (known_modules_next + 1) % KNOWN_MODULES;
	strlcpy(k->name, name, KNOWN_MODULE_NAME);
	return k;
}

/* modules.id of the module called name, or (Datum) 0 if there is none */
static Datum
module_id(AclRels *rels, const char *name)
{
	ScanKeyData key;
	TupleTableSlot *slot = table_slot_create(rels->modules, NULL);
	Datum		result = (Datum) 0;
	Datum		name_text = CStringGetTextDatum(name);
	KnownModule *known = known_module(name, false);
	bool		found;
	bool		isnull;

	/* the unique index must be there, whichever way the row is read */
	(void) mig_index_on(rels->modules, "name", true);
	found = known != NULL &&
		mig_fetch_known_row(rels->modules, &known->tid, GetActiveSnapshot(), slot);
	if (found)
	{
		/* the row there still has that name, by the index's own equality */
		Datum		value = slot_getattr(slot, rels->modules_name_att, &isnull);

		found = !isnull &&
			DatumGetBool(DirectFunctionCall2Coll(texteq, rels->modules_name_coll,
												 value, name_text));
	}
	if (!found)
	{
		Relation	index = acl_index(&rels->modules_name, rels->modules, "name", true);

		eq_key(&key, index, 1, F_TEXTEQ, name_text);
		found = fetch_unique(rels->modules, index, &key, 1, slot);
		if (found && (known = known_module(name, true)) != NULL)
			known->tid = slot->tts_tid;
	}
	if (found)
		result = datumCopy(slot_getattr(slot, rels->modules_id, &isnull), false, -1);
	ExecDropSingleTupleTableSlot(slot);
	return result;
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
 * each module resolved to its id and the id of "default".  The relevant
 * modules R are the action's modules that exist plus "default": the only
 * ones whose ACL rows can decide.
 */
typedef struct ActionAcl
{
	Datum		action;
	MigActionSigners *signers;
	int			nmodules;
	char	  **modules;		/* distinct, first-seen order */
	Datum	   *module_ids;		/* (Datum) 0: not in `modules` */
	Datum		default_id;		/* (Datum) 0: no module "default" */
	int			nR;
	Datum	   *R;				/* relevant module ids, distinct */
	int		   *specific;		/* per action module: its index in R, or -1 */
	int			dflt;			/* index of "default" in R, or -1 */
} ActionAcl;

/* the index in R of moduleid, or -1 */
static int
r_index(ActionAcl *acl, Datum moduleid)
{
	for (int i = 0; i < acl->nR; i++)
		if (numeric_equal(acl->R[i], moduleid))
			return i;
	return -1;
}

static int
r_add(ActionAcl *acl, Datum moduleid)
{
	int			i = r_index(acl, moduleid);

	if (i < 0)
	{
		i = acl->nR++;
		acl->R[i] = moduleid;
	}
	return i;
}

/* the index in signers of investigator, or -1 */
static int
signer_index(MigActionSigners *signers, Datum investigator)
{
	for (int s = 0; s < signers->nsigners; s++)
		if (numeric_equal(signers->signers[s], investigator))
			return s;
	return -1;
}

/*
 * The distinct modules of the last operations text parsed, kept with a copy
 * of the text: a function of those bytes alone, so the next call with the
 * same text (the same action, or one with the same operations) takes them
 * from here instead of parsing the JSON again.
 */
static char *last_operations = NULL;
static int	last_operations_len = 0;
static int	last_nmodules = 0;
static char **last_modules = NULL;

static List *
operation_modules(const char *operations, int len)
{
	List	   *names;
	ListCell   *lc;
	MemoryContext old;
	int			i = 0;

	if (last_operations != NULL && last_operations_len == len &&
		memcmp(last_operations, operations, len) == 0)
	{
		names = NIL;
		for (i = 0; i < last_nmodules; i++)
			names = lappend(names, pstrdup(last_modules[i]));
		return names;
	}
	names = mig_operation_modules(operations, len);

	if (last_operations != NULL)
	{
		for (i = 0; i < last_nmodules; i++)
			pfree(last_modules[i]);
		pfree(last_modules);
		pfree(last_operations);
		last_operations = NULL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	last_modules = palloc(sizeof(char *) * Max(list_length(names), 1));
	i = 0;
	foreach(lc, names)
		last_modules[i++] = pstrdup(lfirst(lc));
	last_nmodules = i;
	last_operations = palloc(Max(len, 1));
	memcpy(last_operations, operations, len);
	last_operations_len = len;
	MemoryContextSwitchTo(old);
	return names;
}

static void
load_action(AclRels *rels, Datum action, ActionAcl *acl)
{
	List	   *names = NIL;
	ListCell   *lc;
	int			i = 0;

	acl->action = action;
	acl->signers = mig_action_signers(action);
	if (acl->signers->operations != NULL)
		names = operation_modules(acl->signers->operations,
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

	acl->R = palloc(sizeof(Datum) * (acl->nmodules + 1));
	acl->nR = 0;
	acl->specific = palloc(sizeof(int) * Max(acl->nmodules, 1));
	for (int m = 0; m < acl->nmodules; m++)
		acl->specific[m] = acl->module_ids[m] != (Datum) 0 ?
			r_add(acl, acl->module_ids[m]) : -1;
	acl->dflt = acl->default_id != (Datum) 0 ? r_add(acl, acl->default_id) : -1;
}

/*
 * One agent's ACL rows on the relevant modules: its agtmodreq rows and its
 * permission rows of the signers, each read with one index scan by agent
 * (the agent's rows are few: one per module, one per investigator and
 * module), instead of a probe per module, per "default" and per module's
 * permissions.
 */
typedef struct AgentAcl
{
	bool	   *has;			/* [nR]: an agtmodreq row */
	int32	   *minw;			/* [nR]: its minimum weight */
	bool	   *perm;			/* [nsigners * nR]: the signer has a row */
	int32	   *weight;			/* [nsigners * nR]: its weight */
} AgentAcl;

static void
load_agent(AclRels *rels, ActionAcl *acl, Datum agent, AgentAcl *aa)
{
	ScanKeyData key;
	IndexScanDesc scan;
	Relation	index;
	TupleTableSlot *slot;
	int			nsigners = acl->signers->nsigners;
	bool		need_perms = false;

	aa->has = palloc0(sizeof(bool) * Max(acl->nR, 1));
	aa->minw = palloc0(sizeof(int32) * Max(acl->nR, 1));
	aa->perm = palloc0(sizeof(bool) * Max(acl->nR * nsigners, 1));
	aa->weight = palloc0(sizeof(int32) * Max(acl->nR * nsigners, 1));
	if (acl->nR == 0)
		return;

	/* the agent's requirements */
	index = acl_index(&rels->agtmodreq_agent, rels->agtmodreq, "agentid", false);
	slot = rels->agtmodreq_slot;
	eq_key(&key, index, 1, F_NUMERIC_EQ, agent);
	scan = index_beginscan(rels->agtmodreq, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int			r;

		mig_index_recheck(index, &key, 1, slot);
		r = r_index(acl, slot_getattr(slot, rels->req_moduleid, &isnull));
		if (r >= 0 && !aa->has[r])
		{
			aa->has[r] = true;
			aa->minw[r] = DatumGetInt32(slot_getattr(slot, rels->req_minimumweight, &isnull));
			need_perms |= aa->minw[r] >= 1;
		}
	}
	index_endscan(scan);

	/* the signers' permissions, when a requirement can be met at all */
	if (!need_perms || nsigners == 0)
		return;
	index = acl_index(&rels->invagtmodperm_agent, rels->invagtmodperm, "agentid,moduleid", false);
	slot = rels->invagtmodperm_slot;
	eq_key(&key, index, 1, F_NUMERIC_EQ, agent);
	scan = index_beginscan(rels->invagtmodperm, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int			r;
		int			s;

		mig_index_recheck(index, &key, 1, slot);
		r = r_index(acl, slot_getattr(slot, rels->perm_moduleid, &isnull));
		if (r < 0 || !aa->has[r])
			continue;
		s = signer_index(acl->signers, slot_getattr(slot, rels->perm_investigatorid, &isnull));
		if (s >= 0 && !aa->perm[s * acl->nR + r])
		{
			aa->perm[s * acl->nR + r] = true;
			aa->weight[s * acl->nR + r] =
				DatumGetInt32(slot_getattr(slot, rels->perm_weight, &isnull));
		}
	}
	index_endscan(scan);
}

static void
free_agent(AgentAcl *aa)
{
	pfree(aa->has);
	pfree(aa->minw);
	pfree(aa->perm);
	pfree(aa->weight);
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

static void
decide_module(ActionAcl *acl, AgentAcl *aa, int m, ModuleDecision *d)
{
	int			own = acl->specific[m];
	MigActionSigners *signers = acl->signers;
	int			r;

	memset(d, 0, sizeof(*d));
	/* "default" counts only when the module has no row of its own */
	d->by = governing_row(own >= 0 && aa->has[own], acl->dflt >= 0 && aa->has[acl->dflt]);
	d->acl_module = d->by == GOVERNED_BY_MODULE ? acl->module_ids[m] : acl->default_id;
	if (d->by == GOVERNED_BY_NONE)
	{
		d->authorized = false;
		return;
	}
	r = d->by == GOVERNED_BY_MODULE ? own : acl->dflt;
	d->required = aa->minw[r];
	if (d->required >= 1)
	{
		for (int s = 0; s < signers->nsigners; s++)
		{
			if (aa->perm[s * acl->nR + r])
			{
				d->granted += aa->weight[s * acl->nR + r];
				d->contributors = lappend(d->contributors,
										  DatumGetPointer(signers->signers[s]));
			}
			else
				d->without = lappend(d->without, DatumGetPointer(signers->signers[s]));
		}
	}
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
 * The verdict on one agent from its ACL rows, however they were read: the
 * modules in order, stopping at the first that denies; *reason then says
 * why, as the first row of mig_authorize_explain that denies does.
 */
static bool
agent_verdict(ActionAcl *acl, AgentAcl *aa, Datum agent, char **reason)
{
	*reason = NULL;
	for (int m = 0; m < acl->nmodules; m++)
	{
		ModuleDecision d;

		decide_module(acl, aa, m, &d);
		if (!d.authorized)
		{
			*reason = psprintf("%s: %s", acl->modules[m],
							   decision_reason(acl, m, agent, &d));
			return false;
		}
	}
	return true;
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
	AgentAcl	aa;
	bool		result;
	bool		seen_acl = false;

	acl_open(&rels);
	load_action(&rels, action, &acl);

	result = acl.nmodules > 0;
	if (result)
		load_agent(&rels, &acl, agent, &aa);
	for (int m = 0; m < acl.nmodules && result; m++)
	{
		ModuleDecision d;

		decide_module(&acl, &aa, m, &d);
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
	AgentAcl	aa;

	InitMaterializedSRF(fcinfo, 0);

	/*
	 * The action first, then the agent, as mig_authorize and
	 * mig_authorized_agents do: with both unknown, each says the same.
	 */
	acl_open(&rels);
	load_action(&rels, action, &acl);
	check_agent_exists(&rels, agent);
	load_agent(&rels, &acl, agent, &aa);

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

		decide_module(&acl, &aa, m, &d);
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
 * come from agtmodreq itself.  Per agent we keep, for each r in R, whether
 * it has a requirement, its minimum weight and the sum of the signers'
 * weights, in one chunk.  The key is stored with a 4-byte header and probes
 * are unpacked the same way, so hashing and comparing it copies nothing.
 *
 * A plan wants each agent's reason as well as its verdict: in "explain"
 * mode the chunk also keeps, per signer and r, whether the signer has a
 * permission row and its weight, so that the chunk is an AgentAcl, read
 * by decide_module and decision_reason as one agent's probe is.
 */
typedef struct AgentEntry
{
	Datum		agent;			/* numeric, the key; in the chunk of sum */
	uint32		hash;
	char		status;
	int64	   *sum;			/* [nR]; then minw [nR], weight [ns * nR],
								 * has [nR], needed [nR], perm [ns * nR], the
								 * key (ns: the signers in explain mode, else
								 * 0) */
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
#define SH_EQUAL(tb, a, b) (mig_numeric_same_bytes(a, b) || \
							DatumGetBool(DirectFunctionCall2(numeric_eq, a, b)))
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * The index in R of a moduleid read from an index tuple, remembered by its
 * bytes: the rows name few modules, so most look-ups are a memcmp.
 */
#define MEMO_MAX	16
#define MEMO_BYTES	32

typedef struct ModuleMemo
{
	int			n;
	struct
	{
		Size		len;
		char		bytes[MEMO_BYTES];
		int			r;
	}			e[MEMO_MAX];
} ModuleMemo;

typedef struct Fleet
{
	ActionAcl  *acl;
	int			nR;
	bool		explain;		/* keep each signer's rows, for the reasons */
	agenthash_hash *agents;
	bool		fixed;			/* the agent set is given, don't add */
	ModuleMemo	memo;
	/* where the arrays are in an entry's chunk, from sum */
	Size		off_minw;
	Size		off_weight;
	Size		off_has;
	Size		off_needed;
	Size		off_perm;
	Size		head;			/* the key's */
} Fleet;

static void
fleet_init(Fleet *f, ActionAcl *acl, bool explain, bool fixed)
{
	int			ns = explain ? acl->signers->nsigners : 0;

	memset(f, 0, sizeof(*f));
	f->acl = acl;
	f->nR = acl->nR;
	f->explain = explain;
	f->fixed = fixed;
	f->off_minw = sizeof(int64) * f->nR;
	f->off_weight = f->off_minw + sizeof(int32) * f->nR;
	f->off_has = f->off_weight + sizeof(int32) * ns * f->nR;
	f->off_needed = f->off_has + sizeof(bool) * f->nR;
	f->off_perm = f->off_needed + sizeof(bool) * f->nR;
	f->head = MAXALIGN(f->off_perm + sizeof(bool) * ns * f->nR);
}

#define CHUNK_AT(f, sum, off, type)	((type *) ((char *) (sum) + (f)->off))
#define ENTRY_AT(f, e, off, type)	CHUNK_AT(f, (e)->sum, off, type)
#define ENTRY_MINW(f, e)	ENTRY_AT(f, e, off_minw, int32)
#define ENTRY_WEIGHT(f, e)	ENTRY_AT(f, e, off_weight, int32)
#define ENTRY_HAS(f, e)		ENTRY_AT(f, e, off_has, bool)
#define ENTRY_NEEDED(f, e)	ENTRY_AT(f, e, off_needed, bool)
#define ENTRY_PERM(f, e)	ENTRY_AT(f, e, off_perm, bool)

/* an explain mode entry's chunk, as the AgentAcl of one agent's probe */
static void
chunk_acl(Fleet *f, int64 *sum, AgentAcl *aa)
{
	Assert(f->explain);
	aa->has = CHUNK_AT(f, sum, off_has, bool);
	aa->minw = CHUNK_AT(f, sum, off_minw, int32);
	aa->perm = CHUNK_AT(f, sum, off_perm, bool);
	aa->weight = CHUNK_AT(f, sum, off_weight, int32);
}

static int
memo_r_index(Fleet *f, Datum moduleid)
{
	Size		len = VARSIZE_ANY_EXHDR(DatumGetPointer(moduleid));
	const char *bytes = VARDATA_ANY(DatumGetPointer(moduleid));
	int			r;

	for (int i = 0; i < f->memo.n; i++)
		if (f->memo.e[i].len == len && memcmp(f->memo.e[i].bytes, bytes, len) == 0)
			return f->memo.e[i].r;
	r = r_index(f->acl, moduleid);
	if (f->memo.n < MEMO_MAX && len <= MEMO_BYTES)
	{
		f->memo.e[f->memo.n].len = len;
		memcpy(f->memo.e[f->memo.n].bytes, bytes, len);
		f->memo.e[f->memo.n].r = r;
		f->memo.n++;
	}
	return r;
}

static AgentEntry *
fleet_agent(Fleet *f, Datum agent, bool add)
{
	NumericBuf	buf;
	AgentEntry *e;
	bool		found;

	agent = numeric_unpacked(agent, &buf);
	if (!add)
		return agenthash_lookup(f->agents, agent);
	e = agenthash_insert(f->agents, agent, &found);
	if (!found)
	{
		Size		len = VARSIZE(DatumGetPointer(agent));

		/* one chunk: what a look-up reads and then writes is together */
		e->sum = palloc0(f->head + len);
		e->agent = PointerGetDatum((char *) e->sum + f->head);
		memcpy(DatumGetPointer(e->agent), DatumGetPointer(agent), len);
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
	Relation	index = acl_index(&rels->agtmodreq_key, rels->agtmodreq, "moduleid,agentid", true);

	eq_key(&key, index, 1, F_NUMERIC_EQ, f->acl->R[r]);
	scan = index_beginscan(rels->agtmodreq, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		agent;
		AgentEntry *e;

		mig_index_recheck(index, &key, 1, slot);
		agent = slot_getattr(slot, rels->req_agentid, &isnull);
		e = fleet_agent(f, agent, !f->fixed);

		if (e != NULL && !ENTRY_HAS(f, e)[r])
		{
			ENTRY_HAS(f, e)[r] = true;
			ENTRY_MINW(f, e)[r] =
				DatumGetInt32(slot_getattr(slot, rels->req_minimumweight, &isnull));
		}
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
}

/*
 * Which permission rows an agent's decision will read, once its
 * requirements are known: those on the governing row's module of each
 * action module, when its minimum weight is at least 1.  For a verdict
 * alone (fleet_authorized), none when the agent cannot pass at all (a
 * module ungoverned, or a minimum weight below 1); for a reason, every
 * such module's, as one agent's probe reads them (the first module that
 * denies may deny on weight, after another that fails outright).  has,
 * minw and needed are the agent's, of nR each; needed starts all false.
 * Whether any row is needed.
 */
static bool
needed_rows(ActionAcl *acl, bool explain, const bool *has, const int32 *minw, bool *needed)
{
	bool		any = false;

	for (int m = 0; m < acl->nmodules; m++)
	{
		int			own = acl->specific[m];
		Governing	by = governing_row(own >= 0 && has[own], acl->dflt >= 0 && has[acl->dflt]);
		int			r = by == GOVERNED_BY_MODULE ? own : acl->dflt;

		if (by == GOVERNED_BY_NONE || minw[r] < 1)
		{
			if (explain)
				continue;
			memset(needed, 0, sizeof(bool) * acl->nR);
			return false;
		}
		needed[r] = true;
		any = true;
	}
	return any;
}

static void
mark_needed(Fleet *f, AgentEntry *e)
{
	(void) needed_rows(f->acl, f->explain, ENTRY_HAS(f, e), ENTRY_MINW(f, e),
					   ENTRY_NEEDED(f, e));
}

/*
 * The permission row at scan's index tuple, whose module imodule is R[*r]:
 * fetched from the heap under the scan's snapshot and checked against the
 * scan's key; false when no version of it is visible.  The module and the
 * agent are then the heap row's: *r again from its module when the bytes
 * differ from imodule's (-1 when not in R), *agent its agent, *weight its
 * weight.
 */
static bool
fetch_permission(AclRels *rels, Fleet *f, IndexScanDesc scan, ScanKey key,
				 Datum imodule, int *r, Datum *agent, int32 *weight)
{
	TupleTableSlot *slot = rels->invagtmodperm_slot;
	Datum		module;
	bool		isnull;

	if (!index_fetch_heap(scan, slot))
		return false;
	mig_index_recheck(scan->indexRelation, key, 1, slot);
	module = slot_getattr(slot, rels->perm_moduleid, &isnull);
	*agent = slot_getattr(slot, rels->perm_agentid, &isnull);
	if (!mig_numeric_same_bytes(module, imodule))
		*r = r_index(f->acl, module);
	*weight = DatumGetInt32(slot_getattr(slot, rels->perm_weight, &isnull));
	return true;
}

/*
 * invagtmodperm rows of signer s, through the (investigatorid, agentid,
 * moduleid) key: one scan for every module in R.  The module and the agent
 * are read from the index tuple first, so rows of other modules and of
 * agents that are no candidates cost no heap access; a row that counts is
 * read from the heap, checked against the key, and its module and agent
 * taken from there (the index tuple's only when they are the same bytes).
 */
static void
scan_permissions(AclRels *rels, Fleet *f, int s)
{
	ScanKeyData key;
	IndexScanDesc scan;
	Relation	index = acl_index(&rels->invagtmodperm_key, rels->invagtmodperm,
								  "investigatorid,agentid,moduleid", true);
	ItemPointer tid;
	NumericBuf	last;			/* the previous tuple's agent, and its entry */
	bool		have_last = false;
	AgentEntry *last_e = NULL;

	eq_key(&key, index, 1, F_NUMERIC_EQ, f->acl->signers->signers[s]);
	scan = index_beginscan(rels->invagtmodperm, index, GetActiveSnapshot(), 1, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, &key, 1, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		iagent;
		Datum		imodule;
		Datum		agent;
		int			r;
		int32		weight;
		AgentEntry *e;

		CHECK_FOR_INTERRUPTS();
		iagent = index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &isnull);
		if (isnull)
			continue;
		imodule = index_getattr(scan->xs_itup, 3, scan->xs_itupdesc, &isnull);
		if (isnull || (r = memo_r_index(f, imodule)) < 0)
			continue;

		/* the agent's rows are consecutive: one look-up for them all */
		if (have_last && mig_numeric_same_bytes(iagent, PointerGetDatum(last.data)))
			e = last_e;
		else
		{
			Size		len = VARSIZE_ANY_EXHDR(DatumGetPointer(iagent));

			e = fleet_agent(f, iagent, false);
			have_last = len <= sizeof(last.data) - VARHDRSZ &&
				!VARATT_IS_EXTERNAL(DatumGetPointer(iagent)) &&
				!VARATT_IS_COMPRESSED(DatumGetPointer(iagent));
			if (have_last)
			{
				SET_VARSIZE(last.data, len + VARHDRSZ);
				memcpy(VARDATA(last.data), VARDATA_ANY(DatumGetPointer(iagent)), len);
				last_e = e;
			}
		}
		if (e == NULL || !ENTRY_NEEDED(f, e)[r] ||
			!fetch_permission(rels, f, scan, &key, imodule, &r, &agent, &weight))
			continue;			/* not a sum read, or not visible to the snapshot */

		if (!mig_numeric_same_bytes(agent, iagent))
			e = fleet_agent(f, agent, false);
		if (r < 0 || e == NULL || !ENTRY_NEEDED(f, e)[r])
			continue;
		if (f->explain)
		{
			/* the signer's row, as load_agent keeps it: the first */
			if (ENTRY_PERM(f, e)[s * f->nR + r])
				continue;
			ENTRY_PERM(f, e)[s * f->nR + r] = true;
			ENTRY_WEIGHT(f, e)[s * f->nR + r] = weight;
		}
		e->sum[r] += weight;
	}
	index_endscan(scan);
}

/*
 * The fleet's requirements, then the permission rows its decisions read:
 * each module's agtmodreq rows and each signer's permission rows with one
 * scan each.
 */
static void
fleet_scan(AclRels *rels, Fleet *f)
{
	agenthash_iterator it;
	AgentEntry *e;

	for (int r = 0; r < f->nR; r++)
		scan_requirements(rels, f, r);
	agenthash_start_iterate(f->agents, &it);
	while ((e = agenthash_iterate(f->agents, &it)) != NULL)
		mark_needed(f, e);
	for (int s = 0; s < f->acl->signers->nsigners; s++)
		scan_permissions(rels, f, s);
}

/*
 * Few given agents: read each agent's own rows (load_agent) rather than
 * the modules' whole ACLs.  Same entries, same evaluation.
 */
static void
probe_agent(AclRels *rels, Fleet *f, AgentEntry *e)
{
	AgentAcl	aa;
	int			nsigners = f->acl->signers->nsigners;

	Assert(!f->explain);
	load_agent(rels, f->acl, e->agent, &aa);
	for (int r = 0; r < f->nR; r++)
	{
		ENTRY_HAS(f, e)[r] = aa.has[r];
		ENTRY_MINW(f, e)[r] = aa.minw[r];
		for (int s = 0; s < nsigners; s++)
			if (aa.perm[s * f->nR + r])
				e->sum[r] += aa.weight[s * f->nR + r];
	}
	free_agent(&aa);
}

/*
 * The verdict on an agent from its requirements (has, minw) and the sums
 * of the signers' weights (sum), each of nR
 */
static bool
sums_pass(ActionAcl *acl, const bool *has, const int32 *minw, const int64 *sum)
{
	for (int m = 0; m < acl->nmodules; m++)
	{
		int			own = acl->specific[m];
		Governing	by = governing_row(own >= 0 && has[own], acl->dflt >= 0 && has[acl->dflt]);
		int			r = by == GOVERNED_BY_MODULE ? own : acl->dflt;

		if (by == GOVERNED_BY_NONE || !weight_passes(by, minw[r], sum[r]))
			return false;
	}
	return true;
}

static bool
fleet_authorized(Fleet *f, AgentEntry *e)
{
	return sums_pass(f->acl, ENTRY_HAS(f, e), ENTRY_MINW(f, e), e->sum);
}

/* ----------------------------------------------------------------
 * The whole fleet without a hash table: each of the scans above gives its
 * rows in agent order (the agent is the key's second column, after an
 * equality on the first), so they are merged.  The requirement scans of
 * the modules in R are read side by side, the smallest agent among them
 * next (only an agent with a requirement row can be authorized); its rows
 * of every module make its requirements, then each signer's permission
 * scan is moved past the agents before it and its rows for this agent
 * read, as scan_permissions reads them.  The agents come out in order, in
 * one pass, with one agent's state at a time.
 * ----------------------------------------------------------------
 */

/* a against b in the indexes' order: numeric_cmp, spared on equal bytes */
static inline int
agent_cmp(Datum a, Datum b)
{
	NumericBuf	ba;
	NumericBuf	bb;

	if (mig_numeric_same_bytes(a, b))
		return 0;
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, numeric_unpacked(a, &ba),
											 numeric_unpacked(b, &bb)));
}

static void
out_of_order(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" returned rows out of order",
					RelationGetRelationName(index)),
			 errhint("REINDEX the index.")));
}

/* one module's agtmodreq rows, its current row in slot */
typedef struct RequirementScan
{
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	bool		live;			/* a current row */
	Datum		agent;			/* its agent, in slot */
} RequirementScan;

/* one signer's invagtmodperm rows, its current row an index tuple */
typedef struct PermissionScan
{
	IndexScanDesc scan;
	ScanKeyData key;
	bool		live;			/* a current row */
	Datum		iagent;			/* its agent, in the index tuple */
} PermissionScan;

static void
requirement_next(AclRels *rels, RequirementScan *rs)
{
	bool		isnull;

	rs->live = index_getnext_slot(rs->scan, ForwardScanDirection, rs->slot);
	if (!rs->live)
		return;
	mig_index_recheck(rs->scan->indexRelation, &rs->key, 1, rs->slot);
	rs->agent = slot_getattr(rs->slot, rels->req_agentid, &isnull);
}

/* the next index tuple naming an agent (the column is NOT NULL) */
static void
permission_next(PermissionScan *ps)
{
	bool		isnull = true;

	while (isnull)
	{
		CHECK_FOR_INTERRUPTS();
		if (index_getnext_tid(ps->scan, ForwardScanDirection) == NULL)
		{
			ps->live = false;
			return;
		}
		ps->iagent = index_getattr(ps->scan->xs_itup, 2, ps->scan->xs_itupdesc, &isnull);
	}
	ps->live = true;
}

/*
 * Signer ps's permission rows for agent, needed[r] for R[r], added to
 * sum[r]: the rows of agents before it are passed over on the index tuple
 * alone, as are the rows of modules whose rows are not needed.
 */
static void
permissions_of(AclRels *rels, Fleet *f, PermissionScan *ps, Datum agent,
			   const bool *needed, int64 *sum)
{
	int			c = 1;

	while (ps->live && (c = agent_cmp(ps->iagent, agent)) < 0)
		permission_next(ps);
	for (; ps->live && c == 0; permission_next(ps),
		 c = ps->live ? agent_cmp(ps->iagent, agent) : 1)
	{
		bool		isnull;
		Datum		imodule;
		Datum		hagent;
		int			r;
		int32		weight;

		imodule = index_getattr(ps->scan->xs_itup, 3, ps->scan->xs_itupdesc, &isnull);
		if (isnull || (r = memo_r_index(f, imodule)) < 0 || !needed[r] ||
			!fetch_permission(rels, f, ps->scan, &ps->key, imodule, &r, &hagent, &weight))
			continue;			/* not a sum read, or not visible to the snapshot */

		/* an index entry's heap row has the entry's agent */
		if (agent_cmp(hagent, ps->iagent) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" returned a row that does not match its entry",
							RelationGetRelationName(ps->scan->indexRelation)),
					 errhint("REINDEX the index.")));
		if (r < 0 || !needed[r])
			continue;
		sum[r] += weight;
	}
	if (ps->live && c < 0)
		out_of_order(ps->scan->indexRelation);
}

/* whether index column attno is in ascending order, nulls last */
static bool
index_column_ascending(Relation index, int attno)
{
	return (index->rd_indoption[attno - 1] & (INDOPTION_DESC | INDOPTION_NULLS_FIRST)) == 0;
}

/*
 * Every agent on which the action is authorized, in ascending order, to
 * emit (called in emit_cxt); false, having read nothing, when an index is
 * not in ascending agent order.
 */
static bool
fleet_merge(AclRels *rels, Fleet *f, void (*emit) (Datum agent, void *arg), void *arg,
			MemoryContext emit_cxt)
{
	ActionAcl  *acl = f->acl;
	int			nR = f->nR;
	int			nsigners = acl->signers->nsigners;
	Relation	req_index = acl_index(&rels->agtmodreq_key, rels->agtmodreq,
									  "moduleid,agentid", true);
	Relation	perm_index = acl_index(&rels->invagtmodperm_key, rels->invagtmodperm,
									   "investigatorid,agentid,moduleid", true);
	RequirementScan *reqs;
	PermissionScan *perms;
	bool	   *has;
	int32	   *minw;
	bool	   *needed;
	int64	   *sum;
	char	   *cur;			/* the agent decided, with a 4-byte header */
	Size		cur_size = 64;

	Assert(!f->explain && !f->fixed);
	if (!index_column_ascending(req_index, 2) || !index_column_ascending(perm_index, 2))
		return false;

	reqs = palloc0(sizeof(RequirementScan) * nR);
	perms = palloc0(sizeof(PermissionScan) * Max(nsigners, 1));
	has = palloc(sizeof(bool) * nR);
	minw = palloc(sizeof(int32) * nR);
	needed = palloc(sizeof(bool) * nR);
	sum = palloc(sizeof(int64) * nR);
	cur = palloc(cur_size);

	for (int r = 0; r < nR; r++)
	{
		RequirementScan *rs = &reqs[r];

		eq_key(&rs->key, req_index, 1, F_NUMERIC_EQ, acl->R[r]);
		rs->slot = table_slot_create(rels->agtmodreq, NULL);
		rs->scan = index_beginscan(rels->agtmodreq, req_index, GetActiveSnapshot(), 1, 0);
		index_rescan(rs->scan, &rs->key, 1, NULL, 0);
		requirement_next(rels, rs);
	}
	for (int s = 0; s < nsigners; s++)
	{
		PermissionScan *ps = &perms[s];

		eq_key(&ps->key, perm_index, 1, F_NUMERIC_EQ, acl->signers->signers[s]);
		ps->scan = index_beginscan(rels->invagtmodperm, perm_index, GetActiveSnapshot(), 1, 0);
		ps->scan->xs_want_itup = true;
		index_rescan(ps->scan, &ps->key, 1, NULL, 0);
		permission_next(ps);
	}

	for (;;)
	{
		int			first = -1;
		Datum		agent;
		struct varlena *v;
		Size		len;

		CHECK_FOR_INTERRUPTS();
		for (int r = 0; r < nR; r++)
			if (reqs[r].live &&
				(first < 0 || agent_cmp(reqs[r].agent, reqs[first].agent) < 0))
				first = r;
		if (first < 0)
			break;				/* no agent left with a requirement */

		/* the agent, copied: its scan's slot moves on */
		v = (struct varlena *) DatumGetPointer(reqs[first].agent);
		if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
			v = pg_detoast_datum_packed(v);
		len = VARSIZE_ANY_EXHDR(v);
		if (len + VARHDRSZ > cur_size)
		{
			cur_size = len + VARHDRSZ;
			cur = repalloc(cur, cur_size);
		}
		SET_VARSIZE(cur, len + VARHDRSZ);
		memcpy(VARDATA(cur), VARDATA_ANY(v), len);
		agent = PointerGetDatum(cur);

		/* its requirements: the first row of each module counts */
		memset(has, 0, sizeof(bool) * nR);
		memset(needed, 0, sizeof(bool) * nR);
		memset(sum, 0, sizeof(int64) * nR);
		for (int r = 0; r < nR; r++)
		{
			RequirementScan *rs = &reqs[r];
			int			c = 1;

			while (rs->live && (c = agent_cmp(rs->agent, agent)) == 0)
			{
				if (!has[r])
				{
					bool		isnull;

					has[r] = true;
					minw[r] = DatumGetInt32(slot_getattr(rs->slot, rels->req_minimumweight,
														 &isnull));
				}
				requirement_next(rels, rs);
			}
			if (rs->live && c < 0)
				out_of_order(req_index);
		}

		/* the permissions its decision reads, when it can pass at all */
		if (!needed_rows(acl, false, has, minw, needed))
			continue;
		for (int s = 0; s < nsigners; s++)
			permissions_of(rels, f, &perms[s], agent, needed, sum);

		if (sums_pass(acl, has, minw, sum))
		{
			MemoryContext old = MemoryContextSwitchTo(emit_cxt);

			emit(agent, arg);
			MemoryContextSwitchTo(old);
		}
	}

	for (int s = 0; s < nsigners; s++)
		index_endscan(perms[s].scan);
	for (int r = 0; r < nR; r++)
	{
		index_endscan(reqs[r].scan);
		ExecDropSingleTupleTableSlot(reqs[r].slot);
	}
	return true;
}

/* the most entries the agent hash is made for before it grows */
#define MIG_FLEET_PRESIZE 1000000

/* given agents up to this many are probed one by one */
#define MIG_PROBE_AGENTS 256

/*
 * More given agents are still probed when they are few against the
 * modules' ACLs: when agtmodreq has more than this many rows per agent
 * given (a probe is two index descents; the scans read every row of the
 * action's modules, and each of the signers' permission rows).
 */
#define MIG_PROBE_RATIO 8

/*
 * A plan decides its agents through the scans only when an entry keeps
 * at most this many rows of signers (a signer's on a module in R: five
 * bytes each, per agent); with more signers or modules, agent by agent.
 */
#define MIG_EXPLAIN_ROWS 64

/*
 * The agents among agents[0..n-1] (every agent when agents is NULL) on
 * which the action is authorized, each given to emit.  Every agent: the
 * ACL scans merged, in agent order (fleet_merge).  Given agents: each ACL
 * table read once through its indexes into a hash table keyed by agent,
 * or, for few given agents, per agent.
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

	if (acl.nmodules == 0 || acl.signers->nsigners == 0 || acl.nR == 0)
		goto done;				/* nothing can be authorized */

	fleet_init(&f, &acl, false, agents != NULL);
	if (!f.fixed && fleet_merge(&rels, &f, emit, arg, old))
		goto done;
	if (f.fixed)
	{
		f.agents = agenthash_create(work, Max(n, 16), NULL);
		for (int i = 0; i < n; i++)
			fleet_agent(&f, agents[i], true);
		probe = f.agents->members <= MIG_PROBE_AGENTS;
	}
	else
	{
		/*
		 * As many entries as agtmodreq has rows, as far as the statistics
		 * know (an agent has at least one), up to a bound: the table then
		 * seldom grows, each growth moving every entry.
		 */
		double		rows = rels.agtmodreq->rd_rel->reltuples;

		f.agents = agenthash_create(work, (uint32) Max(1024, Min(rows, MIG_FLEET_PRESIZE)),
									NULL);
	}

	if (probe)
	{
		agenthash_start_iterate(f.agents, &it);
		while ((e = agenthash_iterate(f.agents, &it)) != NULL)
			probe_agent(&rels, &f, e);
	}
	else
		fleet_scan(&rels, &f);

	MemoryContextSwitchTo(old);
	agenthash_start_iterate(f.agents, &it);
	while ((e = agenthash_iterate(f.agents, &it)) != NULL)
		if (fleet_authorized(&f, e))
			emit(e->agent, arg);
	old = MemoryContextSwitchTo(work);

done:
	acl_close(&rels);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/*
 * One action, decided on given agents one by one with the reasons of
 * mig_authorize_explain (for a plan of every targeted agent).  Many
 * agents are read as a fleet first, into entries in explain mode, each
 * agent's chunk kept by its position; few are probed one by one.  Either
 * way the verdict and the reason are agent_verdict's.
 */
struct MigAclAction
{
	AclRels		rels;
	ActionAcl	acl;
	Datum	   *agents;			/* [n], the caller's */
	int			n;
	MemoryContext work;			/* the fleet's, or NULL: probe */
	Fleet		fleet;
	int64	  **chunks;			/* [n]: each agent's entry's chunk (sum) */
};

/*
 * Whether n agents are many: more than MIG_PROBE_AGENTS, and not few
 * against agtmodreq's rows (as far as the statistics know; a table never
 * analyzed counts as many rows per page).
 */
static bool
agents_are_many(AclRels *rels, int n)
{
	double		rows = rels->agtmodreq->rd_rel->reltuples;

	if (n <= MIG_PROBE_AGENTS)
		return false;
	if (rows < 0)
		rows = (double) RelationGetNumberOfBlocks(rels->agtmodreq) * (BLCKSZ / 32);
	return (double) n * MIG_PROBE_RATIO >= rows;
}

/*
 * The action, to be decided on agents[0..n-1] (which must outlive it):
 * when they are many, their ACL rows are read now with the fleet's scans.
 */
MigAclAction *
mig_acl_begin(Datum action, Datum *agents, int n)
{
	MigAclAction *a = palloc0(sizeof(MigAclAction));
	ActionAcl  *acl = &a->acl;
	MemoryContext old;

	acl_open(&a->rels);
	load_action(&a->rels, action, acl);
	a->agents = agents;
	a->n = n;
	if (acl->nmodules == 0 || acl->nR == 0 ||
		acl->signers->nsigners * acl->nR > MIG_EXPLAIN_ROWS ||
		!agents_are_many(&a->rels, n))
		return a;				/* nothing to read, or probes are cheaper */

	a->work = AllocSetContextCreate(CurrentMemoryContext, "mig_acl_begin",
									ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(a->work);
	fleet_init(&a->fleet, acl, true, true);
	a->fleet.agents = agenthash_create(a->work, n, NULL);
	a->chunks = palloc(sizeof(int64 *) * n);
	/* an entry may move as others are added, its chunk does not */
	for (int i = 0; i < n; i++)
		a->chunks[i] = fleet_agent(&a->fleet, agents[i], true)->sum;
	fleet_scan(&a->rels, &a->fleet);
	MemoryContextSwitchTo(old);
	return a;
}

/*
 * Whether the action may run on agents[i]; when not, *reason says why
 * first.
 */
bool
mig_acl_decide(MigAclAction *a, int i, char **reason)
{
	AgentAcl	aa;
	bool		result;

	Assert(i >= 0 && i < a->n);
	*reason = NULL;
	if (a->acl.nmodules == 0)
	{
		*reason = psprintf("action %s has no operations", mig_numeric_text(a->acl.action));
		return false;
	}
	if (a->work != NULL)
	{
		chunk_acl(&a->fleet, a->chunks[i], &aa);
		return agent_verdict(&a->acl, &aa, a->agents[i], reason);
	}
	load_agent(&a->rels, &a->acl, a->agents[i], &aa);
	result = agent_verdict(&a->acl, &aa, a->agents[i], reason);
	free_agent(&aa);
	return result;
}

void
mig_acl_end(MigAclAction *a)
{
	acl_close(&a->rels);
	if (a->work != NULL)
		MemoryContextDelete(a->work);
	pfree(a);
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
