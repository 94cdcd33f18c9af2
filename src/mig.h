/*-------------------------------------------------------------------------
 *
 * mig.h
 *	  What crosses files in the mig extension: the GUC variables, the
 *	  lookup of the extension's own schema, and the small helpers that more
 *	  than one concern uses.  Anything used by one file stays static there.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_H
#define MIG_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

#define MIG_VERSION "1.1"

/* GUCs, defined in mig.c */
extern char *mig_spool_dir;
extern char *mig_database;
extern int	mig_rescan_interval;	/* ms */
extern int	mig_batch_size;			/* files per transaction */
extern int	mig_max_file_size;		/* kB */
extern char *mig_worker_role;	/* "": the extension's owner */
extern int	mig_max_signatures;

/*
 * The extension's schema and relations, looked up at run time so that the
 * C code never depends on the caller's search_path (mig.c).
 */
extern Oid	mig_namespace(void);
extern Oid	mig_extension_owner(void);	/* InvalidOid: not installed */
extern int	mig_schema_version(void);	/* 101 for "1.1"; 0: not installed */
extern AttrNumber mig_attnum(Relation rel, const char *name);
extern Oid	mig_relid(const char *relname);
extern char *mig_qualified_name(const char *relname);

/*
 * Every SQL statement mig runs goes through SPI under a pinned search_path
 * ("pg_catalog, pg_temp", mig.c): connect with mig_spi_connect() and finish
 * with mig_spi_finish(level); mig_pin_search_path() pins it around other
 * code.  An error restores the caller's path with its (sub)transaction.
 */
extern int	mig_pin_search_path(void);

/* the extension owner's rights for mig's own SQL (mig.c) */
typedef struct MigAsOwner
{
	Oid			save_userid;
	int			save_sec;
	int			spi;
} MigAsOwner;

extern Oid	mig_owner(void);
extern void mig_as_owner_begin(MigAsOwner *s);
extern void mig_as_owner_end(MigAsOwner *s);
extern void mig_as_owner_restore(MigAsOwner *s);

extern void mig_unpin_search_path(int level);
extern int	mig_spi_connect(void);
extern void mig_spi_finish(int level);

/*
 * RFC 3339 timestamps (json.c).  mig_parse_rfc3339 accepts what Go's
 * time.Parse(time.RFC3339, ...) accepts and yields Unix seconds (floor) and
 * the nanoseconds within that second.  mig_unix_to_timestamptz converts the
 * result to a PostgreSQL timestamp with time zone (microseconds, truncated).
 */
extern bool mig_parse_rfc3339(const char *str, size_t len,
							  int64 *unix_seconds, int32 *nanoseconds);
extern TimestampTz mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds);

/*
 * jansson allocates through palloc (json.c): its objects live in the
 * CurrentMemoryContext of the moment, so an ereport(ERROR) that skips a
 * json_decref() leaks nothing beyond that context.  Called from _PG_init.
 */
extern void mig_json_init(void);

/*
 * The canonical signed string (canon.c), byte for byte what MIG's Go
 * clients sign.  mig_canonical_string builds it from an action row's
 * columns, in the server encoding; the result is the UTF-8 bytes to verify
 * (operations NULL or JSON null: Go's nil slice, "null").
 * mig_operation_modules lists the distinct module names of an operations
 * array in first-seen order (NIL for NULL or null).  Both read operations
 * as Go does and raise ERROR 22023/22P02 on malformed operations.
 * mig_timestamptz_to_unix is Go's Time.Unix() (floor; ERROR 22008 on
 * infinity).
 */
extern char *mig_canonical_string(const char *name, const char *target,
								  int64 validfrom, int64 expireafter,
								  const char *operations, int operations_len);
extern int64 mig_timestamptz_to_unix(TimestampTz ts);
extern List *mig_operation_modules(const char *operations, int operations_len);

/*
 * OpenPGP (pgp.c): gpgme in a private GNUPGHOME per backend, and the
 * investigators' keyring that verify.c loads and verifies against.
 */
typedef struct MigPgpCounters
{
	int64		gpg_runs;		/* gpg processes started by this backend */
	int64		keys_imported;	/* public keys imported by them */
	int64		from_cache;		/* verifications answered from the backend's
								 * own copy */
	int64		from_record;	/* verifications answered from the record */
	int64		with_gpg;		/* verifications that had to run gpg */
	int64		recorded;		/* verifications written to the record */
} MigPgpCounters;

extern MigPgpCounters mig_pgp_counters;

/* the primary fingerprint of the one public key in text; 22023 otherwise */
extern char *mig_pgp_key_fingerprint(const char *text, size_t len);
/* MIG's one-line form of a signature text; NULL if it holds no signature */
extern char *mig_pgp_signature_oneline(const char *text, size_t len);
/* this backend's GnuPG directory, NULL before gpg was first needed */
extern const char *mig_gnupg_directory(void);

typedef struct MigInvestigatorKey
{
	Datum		id;				/* investigators.id (numeric) */
	const char *publickey;
} MigInvestigatorKey;

/* one entry of actions.pgpsignatures, checked */
typedef struct MigSignatureCheck
{
	bool		valid;
	bool		has_investigator;
	Datum		investigator_id;	/* numeric, when has_investigator */
	char	   *fingerprint;	/* the signer's primary fingerprint, or NULL */
	char	   *reason;			/* NULL when valid */
	TimestampTz valid_until;	/* when valid: first expiry of key, subkey or
								 * signature; DT_NOEND if none */
} MigSignatureCheck;

/*
 * Is the loaded keyring the one of this epoch of this keyring table (an
 * extension dropped and created again starts its epochs afresh)?
 */
extern bool mig_keyring_current(Oid relid, int64 epoch);
/* make the keyring hold exactly these keys, as of that epoch */
extern void mig_keyring_load(Oid relid, int64 epoch, int nkeys,
							 const MigInvestigatorKey *keys);
/* check sigtexts[0..nsigs-1] (NULL: not a string) over data */
extern void mig_keyring_verify(const char *data, size_t datalen, int nsigs,
							   const char *const *sigtexts, MigSignatureCheck *checks);

/*
 * Verified actions (verify.c).  mig_action_signers makes the action's
 * verification current (the same code as mig_verify_action: gpg only when
 * the record is stale or missing; it records only when the transaction can
 * write), then returns its signers.  ERROR P0002 if the action does not
 * exist.
 */
typedef struct MigActionSigners
{
	char	   *operations;		/* actions.operations as text, NULL if SQL NULL */
	int			operations_len; /* its length */
	int			nsigners;
	Datum	   *signers;		/* numeric investigator ids with a valid
								 * signature, distinct, ascending */
} MigActionSigners;

extern MigActionSigners *mig_action_signers(Datum action_id);

/*
 * The spool pass (spool.c), one code path for mig_spool_sync() and the
 * worker.  A pass is either full (lists the eight directories) or over
 * files named with mig_spool_pass_add(); each mig_spool_pass_step() runs one
 * batch of mig.batch_size files in the current transaction.
 */
#define MIG_SPOOL_NDIRS 8
extern const char *const mig_spool_dirs[MIG_SPOOL_NDIRS];	/* "action/new", ... */

typedef struct MigSpoolPass MigSpoolPass;
typedef struct MigSpoolCounts
{
	int64		scanned;		/* ingested + unchanged + deferred + failed */
	int64		ingested;
	int64		unchanged;
	int64		deferred;
	int64		failed;
	int64		removed;		/* rows of files gone from the spool */
} MigSpoolCounts;

extern MigSpoolPass *mig_spool_pass_begin(const char *spool, bool full,
										  MemoryContext parent);
extern void mig_spool_pass_add(MigSpoolPass *pass, int dir, const char *name);
extern void mig_spool_pass_nowait(MigSpoolPass *pass);
extern void mig_spool_forget_plans(void);
extern char *mig_spool_pass_add_deferred(MigSpoolPass *pass, const char *after,
										 int limit);
extern bool mig_spool_pass_step(MigSpoolPass *pass);
extern const MigSpoolCounts *mig_spool_pass_counts(MigSpoolPass *pass);
extern const char *mig_spool_pass_spool(MigSpoolPass *pass);
extern int64 mig_spool_pass_backlog(MigSpoolPass *pass);
extern void mig_spool_pass_end(MigSpoolPass *pass);
extern bool mig_spool_name_ok(const char *name);
extern void mig_spool_attention(const char *spool, int64 *deferred, int64 *failed);
extern void mig_spool_check_privilege(void);

/*
 * The directories of a spool as every pass walks them, by descriptor: the
 * root by its path (which may hold symbolic links: the administrator's
 * choice), then "action" and "command" in it and the eight directories in
 * those, each by its name in its parent's descriptor and never through a
 * symbolic link.  The worker watches what the same walk opens, and compares
 * it with what its passes opened.  Ids index the root, the two kinds, then
 * the eight directories; a MigSpoolDirId with ino 0 is unknown.
 */
#define MIG_SPOOL_NIDS (3 + MIG_SPOOL_NDIRS)
#define MIG_SPOOL_ID_ROOT 0
#define MIG_SPOOL_ID_KIND(d) (1 + (d) / 4)	/* of directory d */
#define MIG_SPOOL_ID_DIR(d) (3 + (d))
extern const char *const mig_spool_kinds[2];	/* "action", "command" */

typedef struct MigSpoolDirId
{
	uint64		dev;
	uint64		ino;
} MigSpoolDirId;

extern int	mig_spool_open_dir(int parent, const char *name, MigSpoolDirId *id);
extern void mig_spool_close_dir(int fd);
extern const char *mig_spool_id_name(int id);
extern bool mig_spool_pass_dirs(MigSpoolPass *pass, MigSpoolDirId *ids);
extern char *mig_spool_pass_problem(MigSpoolPass *pass);

/*
 * MIG's JSON documents (jsondoc.c): parsed by PostgreSQL's JSON parser,
 * keeping the members of the root object (index 0) and of the objects
 * directly in it.  Getters return false with *error set to a sentence
 * naming prefix+key.
 */
typedef struct MigJsonDoc MigJsonDoc;

#define MIG_JSON_OBJECT 1
#define MIG_JSON_ARRAY 2
#define MIG_JSON_SCALAR 4

extern MigJsonDoc *mig_json_parse(char *text, int len, char **error);
extern bool mig_json_has(MigJsonDoc *doc, int obj, const char *key);
extern bool mig_json_get_object(MigJsonDoc *doc, int obj, const char *prefix,
								const char *key, int *out, char **error);
extern bool mig_json_get_string(MigJsonDoc *doc, int obj, const char *prefix,
								const char *key, int maxchars, bool required,
								char **out, char **error);
extern bool mig_json_get_time(MigJsonDoc *doc, int obj, const char *prefix,
							  const char *key, bool required, TimestampTz *out,
							  bool *unset, char **error);
extern bool mig_json_get_int(MigJsonDoc *doc, int obj, const char *prefix,
							 const char *key, int64 min, int64 max,
							 bool *present, int64 *out, char **error);
extern bool mig_json_get_id(MigJsonDoc *doc, int obj, const char *prefix,
							const char *key, int64 *out, char **error);
extern bool mig_json_get_bool(MigJsonDoc *doc, int obj, const char *prefix,
							  const char *key, bool *present, bool *out,
							  char **error);
extern bool mig_json_get_verbatim(MigJsonDoc *doc, int obj, const char *prefix,
								  const char *key, int allowed, bool strings_only,
								  text **out, char **error);

/* The background worker (worker.c), registered from _PG_init. */
extern void mig_worker_register(void);

/* The action counters (counters.c): recount these actions (numeric[]). */
extern void mig_recount_actions(Datum ids);

#endif							/* MIG_H */
