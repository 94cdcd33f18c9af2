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
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"

#include "mig.h"

PG_MODULE_MAGIC;

/* GUC variables */
char	   *mig_spool_dir = NULL;
char	   *mig_database = NULL;
int			mig_rescan_interval = 60000;
int			mig_batch_size = 1000;
int			mig_max_file_size = 10240;

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
