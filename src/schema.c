/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  The extension's own objects, found at run time: its schema and
 *	  relations (so that no C code depends on the caller's search_path), the
 *	  columns of its tables by name, its owner, and the version of its SQL
 *	  objects installed in this database.  Catalog lookups only, no SQL.
 *
 *	  Not here: running SQL (sql.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "schema.h"

/*
 * The schema the extension was created in.  Looking it up means scanning
 * pg_extension, so the answer is kept and checked cheaply on each use: if
 * the relation asked for is not in the remembered schema any more (the
 * extension was dropped, or recreated elsewhere), look again.
 */
static Oid	cached_namespace = InvalidOid;

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

Oid
mig_relid(const char *relname)
{
	Oid			relid = InvalidOid;

	if (OidIsValid(cached_namespace))
		relid = get_relname_relid(relname, cached_namespace);
	if (!OidIsValid(relid))
	{
		cached_namespace = lookup_namespace();
		relid = get_relname_relid(relname, cached_namespace);
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"%s\" of extension \"mig\" does not exist",
							relname),
					 errhint("The extension's objects may have been dropped; "
							 "run DROP EXTENSION mig and CREATE EXTENSION mig.")));
	}
	return relid;
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
