/*-------------------------------------------------------------------------
 *
 * mig.c
 *	  Entry point of the mig extension: PG_MODULE_MAGIC, _PG_init with the
 *	  GUCs, mig_version(), and the run-time lookup of the extension's own
 *	  schema that every other file uses to find its tables.
 *
 *	  Not here: the features themselves (canonical string, OpenPGP,
 *	  authorization, spool sync, worker) live in a file each.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <gpgme.h>
#include "mig_jansson.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "mig.h"

PG_MODULE_MAGIC;

/* GUC variables */
char	   *mig_spool_dir = NULL;
char	   *mig_database = NULL;
int			mig_rescan_interval = 60000;
int			mig_batch_size = 1000;
int			mig_max_file_size = 10240;
char	   *mig_worker_role = NULL;
int			mig_max_signatures = 64;

void		_PG_init(void);

/*
 * The spool directory must be an absolute path: the worker and the backends
 * run with the data directory as their working directory, and a relative
 * path would silently point into it.
 */
static bool
check_spool_dir(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] != '/')
	{
		GUC_check_errdetail("mig.spool_dir must be an absolute path.");
		return false;
	}
	return true;
}

static bool
check_database(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("mig.database must name a database.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A database name is at most %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

static bool
check_worker_role(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A role name is at most %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("mig.spool_dir",
							   "Directory of the MIG scheduler's spool.",
							   "Holds action/{new,inflight,done,invalid} and "
							   "command/{ready,inflight,returned,done}.",
							   &mig_spool_dir,
							   "/var/cache/mig",
							   PGC_SUSET,
							   0,
							   check_spool_dir, NULL, NULL);

	/*
	 * PGC_SIGHUP rather than PGC_POSTMASTER: the library may be loaded by
	 * CREATE EXTENSION after startup, when a postmaster-only setting can no
	 * longer be defined.  A worker connected elsewhere restarts to follow.
	 */
	DefineCustomStringVariable("mig.database",
							   "Database the spool worker connects to.",
							   NULL,
							   &mig_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   check_database, NULL, NULL);

	DefineCustomIntVariable("mig.rescan_interval",
							"Time between full rescans of the spool.",
							"inotify wakes the worker as files arrive; the "
							"rescan catches whatever it missed.",
							&mig_rescan_interval,
							60000,
							100,
							86400 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.batch_size",
							"Spool files ingested per transaction.",
							NULL,
							&mig_batch_size,
							1000,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.max_file_size",
							"Largest spool file that is read; larger ones are marked failed.",
							NULL,
							&mig_max_file_size,
							10240,
							1,
							1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	/*
	 * Empty: the owner of the extension.  PGC_SIGHUP like mig.database: a
	 * worker running as another role restarts to follow it.
	 */
	DefineCustomStringVariable("mig.worker_role",
							   "Role the spool worker connects as.",
							   "Empty: the owner of the extension in mig.database. "
							   "The role needs LOGIN and the privileges README.md lists.",
							   &mig_worker_role,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_worker_role, NULL, NULL);

	DefineCustomIntVariable("mig.max_signatures",
							"Most entries of an action's pgpsignatures that are verified.",
							"An action with more is refused: each distinct signature costs gpg work.",
							&mig_max_signatures,
							64,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("mig");

	mig_json_init();
	mig_worker_register();
}

/*
 * mig_version() -> text
 *
 * The extension's version and the versions of the jansson and gpgme
 * libraries this backend actually runs with.
 */
PG_FUNCTION_INFO_V1(mig_version);
Datum
mig_version(PG_FUNCTION_ARGS)
{
	const char *gpgme = gpgme_check_version(NULL);

	PG_RETURN_TEXT_P(cstring_to_text(psprintf("mig %s (jansson %s, gpgme %s)",
											  MIG_VERSION,
											  jansson_version_str(),
											  gpgme ? gpgme : "unknown")));
}

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
mig_namespace(void)
{
	if (!OidIsValid(cached_namespace))
		cached_namespace = lookup_namespace();
	return cached_namespace;
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
