/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  The extension's own objects, found at run time: its schema and
 *	  relations (so that no C code depends on the caller's search_path), the
 *	  indexes of its tables, the columns of its tables by name, its owner,
 *	  and the version of its SQL objects installed in this database.
 *	  Catalog lookups only, no SQL.
 *
 *	  Nothing is trusted by its name alone: a relation is one the extension
 *	  made (a member of it), and an index is found from its table, by its
 *	  columns, never by name (anyone who can drop an index in the schema
 *	  could otherwise put one of its own, on another table, in its place);
 *	  what an index scan returns is checked against the keys searched for.
 *	  What is found is remembered until a relcache invalidation touches it.
 *
 *	  Not here: running SQL (sql.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "schema.h"
#include "utils.h"

/*
 * What was found, remembered while no relcache invalidation touches it:
 * the schema the extension was created in, its relations by name (each
 * checked to be a member of the extension), and the indexes of its
 * tables by their columns.  An invalidation of any of these (ALTER
 * EXTENSION UPDATE moving or altering them, DROP EXTENSION, an index made
 * or dropped) forgets all of it and starts a new generation, which tells
 * saved plans (sql.c) to be made again.
 */
#define MAX_KNOWN 48

typedef struct KnownRel
{
	char		name[NAMEDATALEN];
	Oid			relid;
} KnownRel;

typedef struct KnownIndex
{
	Oid			heap;
	char		columns[NAMEDATALEN * 2];	/* "a,b,c" */
	bool		unique;
	Oid			index;
} KnownIndex;

static Oid	cached_namespace = InvalidOid;
static KnownRel known_rels[MAX_KNOWN];
static int	n_known_rels = 0;
static KnownIndex known_indexes[MAX_KNOWN];
static int	n_known_indexes = 0;
static uint64 generation = 1;
static bool callback_registered = false;

static void
forget_all(void)
{
	cached_namespace = InvalidOid;
	n_known_rels = 0;
	n_known_indexes = 0;
	generation++;
}

static void
relcache_changed(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
	{
		forget_all();
		return;
	}
	for (int i = 0; i < n_known_rels; i++)
		if (known_rels[i].relid == relid)
		{
			forget_all();
			return;
		}
	for (int i = 0; i < n_known_indexes; i++)
		if (known_indexes[i].index == relid || known_indexes[i].heap == relid)
		{
			forget_all();
			return;
		}
}

static void
register_callback(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
		callback_registered = true;
	}
}

/*
 * A number that changes whenever what this file found may have changed:
 * what was made from the extension's relations (saved plans) is made again
 * when it differs from the one it was made in.
 */
uint64
mig_schema_generation(void)
{
	register_callback();
	return generation;
}

/* pg_extension.extnamespace of an extension (PostgreSQL 15 exports no helper) */
static Oid
extension_schema(Oid extoid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		result = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Call fn on the pg_extension row of "mig" in this database, if there is
 * one: catalog lookups only, no SQL.
 */
static void
with_extension_row(void (*fn) (HeapTuple tuple, TupleDesc desc, void *arg), void *arg)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("mig"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		fn(tuple, RelationGetDescr(rel), arg);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static void
get_owner(HeapTuple tuple, TupleDesc desc, void *arg)
{
	*(Oid *) arg = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
}

/* The owner of extension "mig" in this database; InvalidOid: not installed */
Oid
mig_extension_owner(void)
{
	Oid			owner = InvalidOid;

	with_extension_row(get_owner, &owner);
	return owner;
}

static void
get_version(HeapTuple tuple, TupleDesc desc, void *arg)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, Anum_pg_extension_extversion, desc, &isnull);
	int			major = 0,
				minor = 0;

	if (!isnull && sscanf(TextDatumGetCString(d), "%d.%d", &major, &minor) >= 1)
		*(int *) arg = major * 100 + minor;
}

/*
 * The version of the extension's SQL objects installed in this database,
 * as major * 100 + minor (101 for "1.1"), 0 when it is not installed: the
 * library serves databases still on an older version until they run ALTER
 * EXTENSION mig UPDATE, and asks this where their objects differ.
 */
int
mig_schema_version(void)
{
	int			version = 0;

	with_extension_row(get_version, &version);
	return version;
}

/*
 * ERROR (0A000) unless this database's objects are at least at version
 * (major * 100 + minor): what a function needs of them that an older
 * version lacks, the user is told to update.
 */
void
mig_require_schema_version(int version, const char *what)
{
	int			have = mig_schema_version();

	if (have < version)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s needs the objects of mig %d.%d, and this database has those of mig %d.%d",
						what, version / 100, version % 100, have / 100, have % 100),
				 errhint("Run ALTER EXTENSION mig UPDATE.")));
}

/* a column's number in a relation of the extension, by name */
AttrNumber
mig_attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of relation \"%s\" does not exist", name,
		 RelationGetRelationName(rel));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

static Oid
lookup_namespace(void)
{
	Oid			extoid = get_extension_oid("mig", true);

	if (!OidIsValid(extoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"mig\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION mig.")));
	return extension_schema(extoid);
}

static void
not_a_member(const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation \"%s\" of extension \"mig\" does not exist", relname),
			 errhint("The extension's objects may have been dropped; "
					 "run DROP EXTENSION mig and CREATE EXTENSION mig.")));
}

/*
 * The relation relname of the extension: in its schema, and a member of
 * it (made by its scripts, not by whoever could create in that schema).
 */
Oid
mig_relid(const char *relname)
{
	Oid			relid;
	Oid			extoid;

	register_callback();
	for (int i = 0; i < n_known_rels; i++)
		if (strcmp(known_rels[i].name, relname) == 0)
			return known_rels[i].relid;

	if (!OidIsValid(cached_namespace))
		cached_namespace = lookup_namespace();
	relid = get_relname_relid(relname, cached_namespace);
	extoid = get_extension_oid("mig", true);
	if (!OidIsValid(relid) || !OidIsValid(extoid) ||
		getExtensionOfObject(RelationRelationId, relid) != extoid)
		not_a_member(relname);
	if (n_known_rels < MAX_KNOWN && strlen(relname) < NAMEDATALEN)
	{
		strlcpy(known_rels[n_known_rels].name, relname, NAMEDATALEN);
		known_rels[n_known_rels].relid = relid;
		n_known_rels++;
	}
	return relid;
}

/* s with every from replaced by to */
static char *
str_replace(const char *s, const char *from, const char *to)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	while ((p = strstr(s, from)) != NULL)
	{
		appendBinaryStringInfo(&buf, s, p - s);
		appendStringInfoString(&buf, to);
		s = p + strlen(from);
	}
	appendStringInfoString(&buf, s);
	return buf.data;
}

/* pg_class.relam of relid (PostgreSQL 15 has no get_rel_relam) */
static Oid
rel_am(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			am = InvalidOid;

	if (HeapTupleIsValid(tuple))
	{
		am = ((Form_pg_class) GETSTRUCT(tuple))->relam;
		ReleaseSysCache(tuple);
	}
	return am;
}

/* whether index (its pg_index row) is a plain btree index on exactly attnums */
static bool
index_is_on(HeapTuple indextuple, Relation heap, const AttrNumber *attnums, int ncols,
			bool unique)
{
	Form_pg_index idx = (Form_pg_index) GETSTRUCT(indextuple);
	TupleDesc	desc = RelationGetDescr(heap);
	Datum		d;
	bool		isnull;
	oidvector  *opclasses;
	oidvector  *collations;

	if (!idx->indisvalid || !idx->indisready || !idx->indislive ||
		idx->indrelid != RelationGetRelid(heap) ||
		idx->indnkeyatts != ncols || (unique && !idx->indisunique) ||
		!heap_attisnull(indextuple, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(indextuple, Anum_pg_index_indpred, NULL) ||
		rel_am(idx->indexrelid) != BTREE_AM_OID)
		return false;
	d = SysCacheGetAttr(INDEXRELID, indextuple, Anum_pg_index_indclass, &isnull);
	if (isnull)
		return false;
	opclasses = (oidvector *) DatumGetPointer(d);
	d = SysCacheGetAttr(INDEXRELID, indextuple, Anum_pg_index_indcollation, &isnull);
	if (isnull)
		return false;
	collations = (oidvector *) DatumGetPointer(d);
	for (int i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);

		/* the column itself, its type's default operator class, its collation */
		if (idx->indkey.values[i] != attnums[i] ||
			opclasses->values[i] != GetDefaultOpClass(att->atttypid, BTREE_AM_OID) ||
			collations->values[i] != att->attcollation)
			return false;
	}
	return true;
}

/*
 * An index of heap (a relation of the extension) whose keys are exactly
 * the columns named in columns (comma-separated, in order): a valid btree
 * index over the columns themselves with their types' default operator
 * classes and their collations, unique if asked.  Found from the table,
 * never by name; InvalidOid when there is none.
 */
Oid
mig_index_find(Relation heap, const char *columns, bool unique)
{
	AttrNumber	attnums[INDEX_MAX_KEYS];
	int			ncols = 0;
	char	   *list = pstrdup(columns);
	char	   *tok;
	char	   *save;
	List	   *indexes;
	ListCell   *lc;
	Oid			found = InvalidOid;

	register_callback();
	for (int i = 0; i < n_known_indexes; i++)
		if (known_indexes[i].heap == RelationGetRelid(heap) &&
			known_indexes[i].unique == unique &&
			strcmp(known_indexes[i].columns, columns) == 0)
			return known_indexes[i].index;

	for (tok = strtok_r(list, ",", &save); tok != NULL && ncols < INDEX_MAX_KEYS;
		 tok = strtok_r(NULL, ",", &save))
		attnums[ncols++] = mig_attnum(heap, tok);

	indexes = RelationGetIndexList(heap);
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));

		if (!HeapTupleIsValid(tuple))
			continue;
		if (index_is_on(tuple, heap, attnums, ncols, unique))
			found = indexoid;
		ReleaseSysCache(tuple);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	if (OidIsValid(found) && n_known_indexes < MAX_KNOWN &&
		strlen(columns) < sizeof(known_indexes[0].columns))
	{
		known_indexes[n_known_indexes].heap = RelationGetRelid(heap);
		strlcpy(known_indexes[n_known_indexes].columns, columns,
				sizeof(known_indexes[0].columns));
		known_indexes[n_known_indexes].unique = unique;
		known_indexes[n_known_indexes].index = found;
		n_known_indexes++;
	}
	pfree(list);
	return found;
}

/* mig_index_find's index; 42704 when there is none */
Oid
mig_index_on(Relation heap, const char *columns, bool unique)
{
	Oid			found = mig_index_find(heap, columns, unique);

	if (!OidIsValid(found))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the %sindex on %s (%s) that mig needs does not exist",
						unique ? "unique " : "", RelationGetRelationName(heap),
						str_replace(columns, ",", ", ")),
				 errhint("Update the extension (ALTER EXTENSION mig UPDATE), or drop and "
						 "create it again after a dump of its tables.")));
	return found;
}

/* index_open of mig_index_on(heap, columns, unique) */
Relation
mig_index_open(Relation heap, const char *columns, bool unique)
{
	return index_open(mig_index_on(heap, columns, unique), AccessShareLock);
}

/*
 * After an index scan of index with keys gave slot: check that the row's
 * columns satisfy every key, as the scan promised.  An index that returns
 * rows it should not (a corrupt one) stops the decision with an error
 * rather than changing it.
 */
void
mig_index_recheck(Relation index, ScanKey keys, int nkeys, TupleTableSlot *slot)
{
	for (int i = 0; i < nkeys; i++)
	{
		AttrNumber	heapatt = index->rd_index->indkey.values[keys[i].sk_attno - 1];
		bool		isnull;
		Datum		value = slot_getattr(slot, heapatt, &isnull);

		if (!isnull && keys[i].sk_func.fn_oid == F_NUMERIC_EQ &&
			mig_numeric_same_bytes(value, keys[i].sk_argument))
			continue;			/* the same bytes: the same number */
		if (isnull ||
			!DatumGetBool(FunctionCall2Coll(&keys[i].sk_func, keys[i].sk_collation,
											value, keys[i].sk_argument)))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" returned a row that does not match its search",
							RelationGetRelationName(index)),
					 errhint("REINDEX the index.")));
	}
}

/*
 * A row of rel found before through a unique index, fetched again by its
 * TID under snapshot: true when the version at tid is visible (slot then
 * holds it).  The caller checks that the row's key is still the one looked
 * for and that the unique index is still there (mig_index_on): a visible
 * row with that key is then the only one, as an index scan would have
 * found it, for a unique key has at most one visible version in any MVCC
 * snapshot.  Not under serializable isolation, where the index scan's
 * predicate lock on the key counts.
 *
 * Only a TID whose page is in shared buffers is fetched: the block then
 * exists (a truncation drops the buffers it cuts off, and cannot run while
 * the caller holds its lock on rel), where a TID past the end of the
 * relation would be an error, and knowing the relation's length would cost
 * a system call.  Otherwise false, and the caller scans the index.
 */
bool
mig_fetch_known_row(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot)
{
	PrefetchBufferResult buffered;

	if (!ItemPointerIsValid(tid) || IsolationIsSerializable() ||
		!IsMVCCSnapshot(snapshot) || RelationUsesLocalBuffers(rel))
		return false;
	buffered = PrefetchBuffer(rel, MAIN_FORKNUM, ItemPointerGetBlockNumber(tid));
	if (!BufferIsValid(buffered.recent_buffer))
		return false;
	return table_tuple_fetch_row_version(rel, tid, snapshot, slot);
}

/*
 * "schema"."relname", quoted, for SPI queries: never resolved through the
 * caller's search_path.
 */
char *
mig_qualified_name(const char *relname)
{
	Oid			relid = mig_relid(relname);

	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  relname);
}

/*
 * The owner of the extension's tables: the role whose rights maintain what
 * mig derives (the verification record, the action counters).
 */
Oid
mig_owner(void)
{
	Oid			relid = mig_relid("actions");
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}
