/*-------------------------------------------------------------------------
 *
 * mig.c
 *	  The base of the mig extension: its settings (the mig.* GUCs, defined
 *	  by group), jansson's allocator, mig_version(), and the tests' fault
 *	  injection.
 *
 *	  Not here: _PG_init, which defines these and registers the worker
 *	  (init.c, the top of the layers); the features themselves, a file
 *	  each.
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

/* GUC variables */
char	   *mig_spool_dir = NULL;
char	   *mig_database = NULL;
int			mig_rescan_interval = 60000;
int			mig_batch_size = 1000;
int			mig_max_file_size = 10240;
char	   *mig_worker_role = NULL;
int			mig_max_signatures = 64;
int			mig_agent_heartbeat_freq = 300000;
int			mig_agent_timeout = 1200000;
int			mig_command_retention = 0;
int			mig_agent_retention = 0;
int			mig_purge_batch = 10000;
int			mig_periodic_interval = 87000;
int			mig_target_timeout = 5000;
bool		mig_scheduler_writes = false;
int			mig_fill_delay = 60000;
int			mig_target_memory = 262144;
#ifdef MIG_FAULT_INJECTION
char	   *mig_fault_injection = NULL;
#endif

/*
 * jansson's allocator.  MCXT_ALLOC_NO_OOM: jansson expects NULL, not a
 * longjmp, when memory runs out, and reports that as a parse error.
 */
static void *
mig_json_malloc(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_NO_OOM);
}

static void
mig_json_free(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

void
mig_jansson_init(void)
{
	json_set_alloc_funcs(mig_json_malloc, mig_json_free);
}

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

/* the spool and its sync */
static void
define_spool_settings(void)
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
}

/* the worker: where and as whom it runs, beside whom it writes */
static void
define_worker_settings(void)
{
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

	/*
	 * Who writes the database.  Off: the spool is the only writer (the
	 * seed's design), and the sync writes what the files say.  On: MIG's
	 * released scheduler writes the database too, and the sync only fills
	 * in the rows it has not written mig.fill_delay after their file
	 * appeared.  The worker follows postgresql.conf; a superuser may set
	 * it for the mig_spool_sync() of a session.
	 */
	DefineCustomBoolVariable("mig.scheduler_writes",
							 "MIG's scheduler writes the database too: the spool sync only fills in what it lacks.",
							 "Off: the spool is the only writer, and the sync writes what the files say.",
							 &mig_scheduler_writes,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("mig.fill_delay",
							"How long the spool sync leaves a row to MIG's scheduler before it fills it in.",
							"With mig.scheduler_writes on: a file whose row is missing is "
							"deferred until it is this old.",
							&mig_fill_delay,
							60000,
							0,
							86400 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Empty: the owner of the extension.  PGC_SIGHUP like mig.database: a
	 * worker running as another role restarts to follow it.
	 */
	DefineCustomStringVariable("mig.worker_role",
							   "Role the spool worker connects as.",
							   "Empty: the owner of the extension in mig.database. "
							   "The role needs LOGIN and the privileges of the manual's worker recipe (doc/roles.md).",
							   &mig_worker_role,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_worker_role, NULL, NULL);
}

/* verification */
static void
define_verification_settings(void)
{
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
}

/* the data's life: liveness, retention, the periodic runs */
static void
define_periodic_settings(void)
{
	/* agent liveness, as MIG's scheduler defines it (periodic.c) */
	DefineCustomIntVariable("mig.agent_heartbeat_freq",
							"How often MIG's agents send a heartbeat.",
							"An online agent not heard from for 5 times this becomes idle.",
							&mig_agent_heartbeat_freq,
							300000,
							1000,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.agent_timeout",
							"Time after which an idle agent not heard from becomes offline.",
							NULL,
							&mig_agent_timeout,
							1200000,
							1000,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/* retention (periodic.c): 0 keeps everything */
	DefineCustomIntVariable("mig.command_retention",
							"Age after which the commands of a finished or expired action are purged.",
							"0 keeps them forever.",
							&mig_command_retention,
							0,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.agent_retention",
							"Age after which agents not heard from, and needed by nothing, are purged.",
							"0 keeps them forever.",
							&mig_agent_retention,
							0,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.purge_batch",
							"Rows a purge deletes per batch (per transaction in the worker).",
							NULL,
							&mig_purge_batch,
							10000,
							1,
							10000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.periodic_interval",
							"Time between the worker's runs of the periodic tasks.",
							"Liveness, purge and statistics; 0 disables them in the worker.",
							&mig_periodic_interval,
							87000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* an action's target */
static void
define_target_settings(void)
{
	/*
	 * The bounds of a target are the server's, not the caller's: a role that
	 * may ask for a target may not lift them.
	 */
	DefineCustomIntVariable("mig.target_timeout",
							"Longest an action's target may run.",
							"0: no limit.",
							&mig_target_timeout,
							5000,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mig.target_memory",
							"Most memory a backend may add while it evaluates an action's target.",
							"0: no limit.",
							&mig_target_memory,
							262144,
							0,
							MAX_KILOBYTES,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

#ifdef MIG_FAULT_INJECTION
/* the tests' fault injection */
static void
define_test_settings(void)
{
	DefineCustomStringVariable("mig.fault_injection",
							   "Points where a test build of mig fakes a failure.",
							   "A comma-separated list; in builds for the tests only.",
							   &mig_fault_injection,
							   "",
							   PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_LIST_INPUT,
							   NULL, NULL, NULL);
}
#endif

/*
 * Every mig.* setting, then the prefix reserved: called once per process
 * from _PG_init (init.c), at startup when mig is preloaded.
 */
void
mig_define_settings(void)
{
	define_spool_settings();
	define_worker_settings();
	define_verification_settings();
	define_periodic_settings();
	define_target_settings();
#ifdef MIG_FAULT_INJECTION
	define_test_settings();
#endif
	MarkGUCPrefixReserved("mig");
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

#ifdef MIG_FAULT_INJECTION
/* is point one of the names in mig.fault_injection? */
bool
mig_fault(const char *point)
{
	size_t		len = strlen(point);
	const char *p = mig_fault_injection;

	while (p != NULL && *p != '\0')
	{
		size_t		n;

		while (*p == ',' || *p == ' ')
			p++;
		n = strcspn(p, ", ");
		if (n == len && strncmp(p, point, len) == 0)
			return true;
		p += n;
	}
	return false;
}
#endif
