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

#define MIG_VERSION "1.0"

/* GUCs, defined in mig.c */
extern char *mig_spool_dir;
extern char *mig_database;
extern int	mig_rescan_interval;	/* ms */
extern int	mig_batch_size;			/* files per transaction */
extern int	mig_max_file_size;		/* kB */

/*
 * The extension's schema and relations, looked up at run time so that the
 * C code never depends on the caller's search_path (mig.c).
 */
extern Oid	mig_namespace(void);
extern Oid	mig_relid(const char *relname);
extern char *mig_qualified_name(const char *relname);

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
 * The canonical signed string (canon.c).  mig_canonical_string builds it
 * from an action row's columns (operations NULL: SQL NULL, Go's nil slice);
 * mig_operation_modules lists the distinct module names of an operations
 * array in first-seen order; mig_timestamptz_to_unix is Go's Time.Unix().
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
	int64		from_record;	/* verifications answered from the record */
	int64		with_gpg;		/* verifications that had to run gpg */
	int64		recorded;		/* verifications written to the record */
} MigPgpCounters;

extern MigPgpCounters mig_pgp_counters;

/* the primary fingerprint of the one public key in text; 22023 otherwise */
extern char *mig_pgp_key_fingerprint(const char *text, size_t len);
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

#endif							/* MIG_H */
