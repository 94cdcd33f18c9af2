/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Verified actions: mig_verify_action(), the record that lets a second
 *	  verification skip gpg, the C API the authorization code calls
 *	  (mig_action_signers), and the triggers that keep the record honest.
 *
 *	  The record of an action is one row of "verifications" holding the
 *	  per-signature results, plus its valid signatures in the seed's
 *	  "signatures" table.  It is used only while it is current:
 *
 *	  - digest: SHA-256 of the action's signed fields and pgpsignatures as
 *	    they were verified; compared with the row as the reader sees it, so
 *	    a concurrent edit can never make another version's answer current;
 *	  - keyring: the keyring epoch the keys were read at.  Every statement
 *	    that changes investigators' keys first sets keyring.epoch to a new
 *	    value of a sequence (values never come back, even after a rollback),
 *	    so an epoch names exactly one set of keys;
 *	  - valid_until: the first expiry among the keys (and subkeys, and
 *	    signatures) of the valid signatures: after it the answer may differ.
 *
 *	  When the transaction can write, the record is written under share
 *	  locks on the action row and the keyring row, after checking that both
 *	  are still what was verified; a concurrent change then waits for this
 *	  transaction, and its trigger removes what was written here.  The
 *	  triggers delete with the latest snapshot, so that they also see rows a
 *	  verification committed after a repeatable-read changer's snapshot.
 *
 *	  Each backend also keeps its own copy of the verifications it made or
 *	  read, used under the same three conditions: it answers the calls the
 *	  record cannot (later calls of the statement that wrote it, read-only
 *	  transactions, standbys) and lets a missing record be written again
 *	  without gpg.  The per-backend keyring (pgp.c) is keyed by the same
 *	  epoch, read in one snapshot with the keys.
 *
 *	  Not here: OpenPGP itself (pgp.c), the canonical string (canon.c),
 *	  authorization (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mig_jansson.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "canon.h"
#include "gotime.h"
#include "pgp.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"
#include "verify.h"

/*
 * Bumped whenever what is verified or how changes (the canonical string,
 * the reasons): records of an older version are then stale.
 */
#define RECORD_VERSION	"mig verification 1"

/* the action columns that are signed, and its signatures */
typedef struct ActionRow
{
	Datum		id;
	text	   *name;
	text	   *target;
	TimestampTz validfrom;
	TimestampTz expireafter;
	text	   *operations;		/* NULL if SQL NULL */
	text	   *pgpsignatures;	/* NULL if SQL NULL */
} ActionRow;

/* a verification, from the record or from gpg */
typedef struct Verification
{
	int			nsigs;
	Datum	   *investigator_ids;	/* numeric; isnull in has_investigator */
	bool	   *has_investigator;
	char	  **fingerprints;	/* NULL elements allowed */
	bool	   *valid;
	char	  **reasons;		/* NULL elements allowed */
	int			nsigners;
	Datum	   *signers;
} Verification;

/* set while this backend writes its record (the signatures trigger) */
static bool recording = false;

/* ----------------------------------------------------------------
 * Relations and saved plans
 * ----------------------------------------------------------------
 */

typedef struct Rels
{
	Oid			actions;
	Oid			actions_pkey;
	Oid			keyring;
	Oid			verifications;
	Oid			verifications_pkey;
} Rels;

static void
lookup_rels(Rels *r)
{
	r->actions = mig_relid("actions");
	r->actions_pkey = mig_relid("actions_pkey");
	r->keyring = mig_relid("keyring");
	r->verifications = mig_relid("verifications");
	r->verifications_pkey = mig_relid("verifications_pkey");
}

enum
{
	Q_KEYS,
	Q_LOCK,
	Q_RECORD,
	Q_BUMP,
	Q_FORGET_ACTION,
	Q_FORGET_INVESTIGATOR,
	Q_FORGET_RECORD,
	Q_FORGET_RECORDS,
	NQUERIES
};

/* the statement q, for the plan cache */
static char *
statement_sql(int q, Oid *types, int *nargsp)
{
	char	   *sql = NULL;
	int			nargs = 0;

	switch (q)
	{
		case Q_KEYS:
			/* the epoch and the keys in one snapshot */
			sql = psprintf("SELECT coalesce((SELECT epoch FROM %s), 0),"
						   " array_agg(id ORDER BY id), array_agg(publickey::text ORDER BY id)"
						   " FROM %s WHERE publickey IS NOT NULL",
						   mig_qualified_name("keyring"),
						   mig_qualified_name("investigators"));
			break;
		case Q_LOCK:
			/* the newest versions of both rows, share-locked */
			sql = psprintf("SELECT a.name, a.target, a.validfrom, a.expireafter, a.operations,"
						   " a.pgpsignatures, k.epoch FROM %s a, %s k WHERE a.id = $1"
						   " FOR SHARE OF a, k",
						   mig_qualified_name("actions"),
						   mig_qualified_name("keyring"));
			types[nargs++] = NUMERICOID;
			break;
		case Q_RECORD:

			/*
			 * The record, the signers' rows (ascending: one lock order
			 * everywhere) and away with the others' rows; the three
			 * touch disjoint rows.
			 */
			sql = psprintf("WITH r AS (INSERT INTO %s AS v (actionid, digest, keyring, valid_until,"
						   " signers, investigator_ids, fingerprints, valid, reasons, verified_at)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())"
						   " ON CONFLICT (actionid) DO UPDATE SET digest = EXCLUDED.digest,"
						   " keyring = EXCLUDED.keyring, valid_until = EXCLUDED.valid_until,"
						   " signers = EXCLUDED.signers, investigator_ids = EXCLUDED.investigator_ids,"
						   " fingerprints = EXCLUDED.fingerprints, valid = EXCLUDED.valid,"
						   " reasons = EXCLUDED.reasons, verified_at = EXCLUDED.verified_at),"
						   " d AS (DELETE FROM %s WHERE actionid = $1 AND NOT investigatorid = ANY"
						   " (SELECT i FROM unnest($5::numeric[], $10::text[]) AS u(i, p)"
						   " WHERE p IS NOT NULL))"
						   " INSERT INTO %s AS s (actionid, investigatorid, pgpsignature)"
						   " SELECT $1, i, p FROM unnest($5::numeric[], $10::text[]) AS u(i, p)"
						   " WHERE p IS NOT NULL ORDER BY i"
						   " ON CONFLICT (actionid, investigatorid) DO UPDATE"
						   " SET pgpsignature = EXCLUDED.pgpsignature"
						   " WHERE s.pgpsignature IS DISTINCT FROM EXCLUDED.pgpsignature",
						   mig_qualified_name("verifications"),
						   mig_qualified_name("signatures"),
						   mig_qualified_name("signatures"));
			types[nargs++] = NUMERICOID;
			types[nargs++] = BYTEAOID;
			types[nargs++] = INT8OID;
			types[nargs++] = TIMESTAMPTZOID;
			types[nargs++] = NUMERICARRAYOID;
			types[nargs++] = NUMERICARRAYOID;
			types[nargs++] = TEXTARRAYOID;
			types[nargs++] = BOOLARRAYOID;
			types[nargs++] = TEXTARRAYOID;
			types[nargs++] = TEXTARRAYOID;
			break;
		case Q_BUMP:
			sql = psprintf("UPDATE %s SET epoch = nextval(%s), changed_at = now()",
						   mig_qualified_name("keyring"),
						   quote_literal_cstr(mig_qualified_name("keyring_epoch_seq")));
			break;
		case Q_FORGET_ACTION:
			sql = psprintf("WITH s AS (DELETE FROM %s WHERE actionid = $1)"
						   " DELETE FROM %s WHERE actionid = $1",
						   mig_qualified_name("signatures"),
						   mig_qualified_name("verifications"));
			types[nargs++] = NUMERICOID;
			break;
		case Q_FORGET_INVESTIGATOR:
			sql = psprintf("DELETE FROM %s WHERE investigatorid = $1",
						   mig_qualified_name("signatures"));
			types[nargs++] = NUMERICOID;
			break;
		case Q_FORGET_RECORD:
			sql = psprintf("DELETE FROM %s WHERE actionid = $1",
						   mig_qualified_name("verifications"));
			types[nargs++] = NUMERICOID;
			break;
		case Q_FORGET_RECORDS:
			sql = psprintf("DELETE FROM %s", mig_qualified_name("verifications"));
			break;
	}
	*nargsp = nargs;
	return sql;
}

static MigPlans plans = MIG_PLANS(NQUERIES, statement_sql, 0);

static SPIPlanPtr
plan(int q)
{
	return mig_plan(&plans, q);
}

/* ----------------------------------------------------------------
 * Direct reads for the fast path: index scans, no SPI, no catalog scans
 * ----------------------------------------------------------------
 */


static text *
copy_text_attr(TupleTableSlot *slot, AttrNumber att)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att, &isnull);

	return isnull ? NULL : DatumGetTextPCopy(d);
}

/* one row by its numeric key; calls fn on it; false if there is none */
typedef void (*row_fn) (Relation rel, TupleTableSlot *slot, void *arg);

static bool
fetch_by_key(Oid relid, Oid indexid, Datum key, Snapshot snapshot, row_fn fn, void *arg)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Relation	index = index_open(indexid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData skey;
	bool		found;

	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_NUMERIC_EQ, key);
	scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
		fn(rel, slot, arg);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

static void
action_from_slot(Relation rel, TupleTableSlot *slot, void *arg)
{
	ActionRow  *row = (ActionRow *) arg;
	bool		isnull;

	row->name = copy_text_attr(slot, mig_attnum(rel, "name"));
	row->target = copy_text_attr(slot, mig_attnum(rel, "target"));
	row->validfrom = DatumGetTimestampTz(slot_getattr(slot, mig_attnum(rel, "validfrom"), &isnull));
	row->expireafter = DatumGetTimestampTz(slot_getattr(slot, mig_attnum(rel, "expireafter"), &isnull));
	row->operations = copy_text_attr(slot, mig_attnum(rel, "operations"));
	row->pgpsignatures = copy_text_attr(slot, mig_attnum(rel, "pgpsignatures"));
}

typedef struct RecordRow
{
	bytea	   *digest;
	int64		keyring;
	bool		has_valid_until;
	TimestampTz valid_until;
	ArrayType  *signers;
	ArrayType  *investigator_ids;
	ArrayType  *fingerprints;
	ArrayType  *valid;
	ArrayType  *reasons;
} RecordRow;

static void
record_from_slot(Relation rel, TupleTableSlot *slot, void *arg)
{
	RecordRow  *rec = (RecordRow *) arg;
	bool		isnull;
	Datum		d;

	rec->digest = DatumGetByteaPCopy(slot_getattr(slot, mig_attnum(rel, "digest"), &isnull));
	rec->keyring = DatumGetInt64(slot_getattr(slot, mig_attnum(rel, "keyring"), &isnull));
	d = slot_getattr(slot, mig_attnum(rel, "valid_until"), &isnull);
	rec->has_valid_until = !isnull;
	rec->valid_until = isnull ? 0 : DatumGetTimestampTz(d);
	rec->signers = DatumGetArrayTypePCopy(slot_getattr(slot, mig_attnum(rel, "signers"), &isnull));
	rec->investigator_ids = DatumGetArrayTypePCopy(slot_getattr(slot, mig_attnum(rel, "investigator_ids"), &isnull));
	rec->fingerprints = DatumGetArrayTypePCopy(slot_getattr(slot, mig_attnum(rel, "fingerprints"), &isnull));
	rec->valid = DatumGetArrayTypePCopy(slot_getattr(slot, mig_attnum(rel, "valid"), &isnull));
	rec->reasons = DatumGetArrayTypePCopy(slot_getattr(slot, mig_attnum(rel, "reasons"), &isnull));
}

/* keyring.epoch as snapshot sees it; 0 when the row is missing */
static int64
read_epoch(Oid relid, Snapshot snapshot)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		epoch = 0;

	if (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, mig_attnum(rel, "epoch"), &isnull);

		if (!isnull)
			epoch = DatumGetInt64(d);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return epoch;
}

/* ----------------------------------------------------------------
 * The digest of what is verified
 * ----------------------------------------------------------------
 */

static void
hash_field(pg_cryptohash_ctx *ctx, const void *data, uint32 len, bool isnull)
{
	uint8		head[5];

	head[0] = isnull ? 0 : 1;
	head[1] = (uint8) (len >> 24);
	head[2] = (uint8) (len >> 16);
	head[3] = (uint8) (len >> 8);
	head[4] = (uint8) len;
	if (pg_cryptohash_update(ctx, head, sizeof(head)) < 0 ||
		(!isnull && pg_cryptohash_update(ctx, data, len) < 0))
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

static void
hash_text(pg_cryptohash_ctx *ctx, text *t)
{
	if (t == NULL)
		hash_field(ctx, NULL, 0, true);
	else
		hash_field(ctx, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), false);
}

static void
hash_int64(pg_cryptohash_ctx *ctx, int64 v)
{
	uint8		b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8) (v >> (56 - 8 * i));
	hash_field(ctx, b, 8, false);
}

/*
 * SHA-256 over the exact column values the canonical string and the
 * signatures come from: any change to them changes the digest (the
 * timestamps at microsecond precision, finer than what is signed).
 */
static void
action_digest(const ActionRow *row, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	hash_field(ctx, RECORD_VERSION, strlen(RECORD_VERSION), false);
	hash_text(ctx, row->name);
	hash_text(ctx, row->target);
	hash_int64(ctx, row->validfrom);
	hash_int64(ctx, row->expireafter);
	hash_text(ctx, row->operations);
	hash_text(ctx, row->pgpsignatures);
	if (pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* ----------------------------------------------------------------
 * Verification
 * ----------------------------------------------------------------
 */

static int
numeric_cmp_qsort(const void *a, const void *b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 *(const Datum *) a,
											 *(const Datum *) b));
}

/* the distinct valid signers, ascending */
static void
collect_signers(Verification *v)
{
	int			n = 0;

	v->signers = palloc(sizeof(Datum) * Max(v->nsigs, 1));
	for (int i = 0; i < v->nsigs; i++)
		if (v->valid[i] && v->has_investigator[i])
			v->signers[n++] = v->investigator_ids[i];
	qsort(v->signers, n, sizeof(Datum), numeric_cmp_qsort);
	v->nsigners = 0;
	for (int i = 0; i < n; i++)
		if (v->nsigners == 0 ||
			numeric_cmp_qsort(&v->signers[v->nsigners - 1], &v->signers[i]) != 0)
			v->signers[v->nsigners++] = v->signers[i];
}

/*
 * The entries of actions.pgpsignatures: texts[i] is NULL for an entry that
 * is not a string (or holds a NUL).  NULL or JSON null is no signature.
 */
static int
signature_texts(const ActionRow *row, char ***texts)
{
	json_t	   *volatile root = NULL;
	int			n = 0;

	*texts = NULL;
	if (row->pgpsignatures == NULL)
		return 0;
	PG_TRY();
	{
		json_error_t jerr;
		size_t		i;
		json_t	   *el;

		root = json_loadb(VARDATA_ANY(row->pgpsignatures),
						  VARSIZE_ANY_EXHDR(row->pgpsignatures),
						  JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		if (root == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pgpsignatures of action %s is not valid JSON: %s",
							mig_numeric_text(row->id), jerr.text)));
		if (!json_is_null(root))
		{
			if (!json_is_array(root))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pgpsignatures of action %s is not a JSON array",
								mig_numeric_text(row->id)),
						 errhint("MIG stores the signatures as an array of strings.")));
			n = json_array_size(root);
			if (n > mig_max_signatures)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("action %s has %d signatures, more than mig.max_signatures (%d)",
								mig_numeric_text(row->id), n, mig_max_signatures),
						 errdetail("Every signature of an action is checked with gpg."),
						 errhint("Remove the extra entries from pgpsignatures, or raise mig.max_signatures.")));
			*texts = palloc0(sizeof(char *) * Max(n, 1));
			json_array_foreach(root, i, el)
			{
				if (json_is_string(el) &&
					strlen(json_string_value(el)) == json_string_length(el))
					(*texts)[i] = pstrdup(json_string_value(el));
			}
		}
	}
	PG_FINALLY();
	{
		if (root != NULL)
			json_decref(root);
	}
	PG_END_TRY();
	return n;
}

static int64
unix_seconds(TimestampTz ts)
{
	return mig_timestamptz_to_unix(ts);
}

/* Q_KEYS: load the keyring as of the epoch read with the keys */
static int64
load_keyring(Oid relid)
{
	int64		epoch;
	bool		isnull;
	Datum		ids;
	Datum		keys;
	int			nkeys = 0;
	MigInvestigatorKey *k = NULL;

	if (SPI_execute_plan(plan(Q_KEYS), NULL, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the investigators' keys");
	epoch = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (mig_keyring_current(relid, epoch))
		return epoch;
	ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		Datum	   *id_elems,
				   *key_elems;
		int			n2;

		keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		deconstruct_array(DatumGetArrayTypeP(ids), NUMERICOID, -1, false, TYPALIGN_INT,
						  &id_elems, NULL, &nkeys);
		deconstruct_array(DatumGetArrayTypeP(keys), TEXTOID, -1, false, TYPALIGN_INT,
						  &key_elems, NULL, &n2);
		Assert(n2 == nkeys);
		k = palloc(sizeof(MigInvestigatorKey) * nkeys);
		for (int i = 0; i < nkeys; i++)
		{
			k[i].id = id_elems[i];
			k[i].publickey = TextDatumGetCString(key_elems[i]);
		}
	}
	mig_keyring_load(relid, epoch, nkeys, k);
	return epoch;
}

/* a text[] of n C strings, NULL ones as nulls */
static Datum
text_array(char **elems, int n)
{
	MigArray	a;

	mig_array_init(&a, TEXTOID, n);
	for (int i = 0; i < n; i++)
		mig_array_add_text(&a, elems[i]);
	return mig_array_datum(&a);
}

/* a numeric[] of n Datums, those not present (present may be NULL) as nulls */
static Datum
numeric_array(Datum *elems, bool *present, int n)
{
	MigArray	a;

	mig_array_init(&a, NUMERICOID, n);
	for (int i = 0; i < n; i++)
		mig_array_add(&a, elems[i], present != NULL && !present[i]);
	return mig_array_datum(&a);
}

static Datum
bool_array(bool *elems, int n)
{
	MigArray	a;

	mig_array_init(&a, BOOLOID, n);
	for (int i = 0; i < n; i++)
		mig_array_add(&a, BoolGetDatum(elems[i]), false);
	return mig_array_datum(&a);
}

/* signatures.pgpsignature holds at most this many characters */
#define SIGNATURE_MAX_LEN 4096

/*
 * The text of a valid signature as signatures.pgpsignature can hold it: as
 * given when it fits, else in MIG's one-line form (the same signature
 * without armor headers and line breaks), else NULL: the verification is
 * recorded all the same, without that row.
 */
static char *
storable_signature(char *text)
{
	char	   *oneline;

	if (pg_mbstrlen(text) <= SIGNATURE_MAX_LEN)
		return text;
	oneline = mig_pgp_signature_oneline(text, strlen(text));
	if (oneline != NULL && strlen(oneline) <= SIGNATURE_MAX_LEN)
		return oneline;
	return NULL;
}

/* advisory lock class of the record's writers ("migr"), two-int4 keys */
#define RECORD_LOCK_CLASS 0x6d696772

/* the transaction-level lock on writing the record of action id, or false */
static bool
try_record_lock(Datum id)
{
	LOCKTAG		tag;
	uint32		key = DatumGetUInt32(DirectFunctionCall1(hash_numeric, id));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, RECORD_LOCK_CLASS, key, 2);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Write the record, if the action and the keyring are still what was
 * verified: both rows are read again, share-locked (the newest versions, in
 * read committed), so that a concurrent change waits for this transaction
 * and then, through its trigger, removes what is written here.  Returns
 * false, writing nothing, when either changed.
 */
static bool
record_if_current(const ActionRow *row, const uint8 *digest, int64 epoch,
				  const Verification *v, char **sig_texts, TimestampTz valid_until)
{
	Datum		args[10];
	char		nulls[10];
	bool		isnull;
	HeapTuple	t;
	TupleDesc	td;
	ActionRow	now;
	Datum		d;
	uint8		digest2[PG_SHA256_DIGEST_LENGTH];
	bytea	   *dg;

	memset(nulls, ' ', sizeof(nulls));
	args[0] = row->id;
	if (SPI_execute_plan(plan(Q_LOCK), args, nulls, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return false;			/* deleted meanwhile */
	t = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	now.id = row->id;
	now.name = DatumGetTextPP(SPI_getbinval(t, td, 1, &isnull));
	now.target = DatumGetTextPP(SPI_getbinval(t, td, 2, &isnull));
	now.validfrom = DatumGetTimestampTz(SPI_getbinval(t, td, 3, &isnull));
	now.expireafter = DatumGetTimestampTz(SPI_getbinval(t, td, 4, &isnull));
	d = SPI_getbinval(t, td, 5, &isnull);
	now.operations = isnull ? NULL : DatumGetTextPP(d);
	d = SPI_getbinval(t, td, 6, &isnull);
	now.pgpsignatures = isnull ? NULL : DatumGetTextPP(d);
	action_digest(&now, digest2);
	if (memcmp(digest, digest2, sizeof(digest2)) != 0 ||
		DatumGetInt64(SPI_getbinval(t, td, 7, &isnull)) != epoch)
		return false;

	dg = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(dg, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(dg), digest, PG_SHA256_DIGEST_LENGTH);
	args[1] = PointerGetDatum(dg);
	args[2] = Int64GetDatum(epoch);
	args[3] = TimestampTzGetDatum(valid_until);
	nulls[3] = TIMESTAMP_IS_NOEND(valid_until) ? 'n' : ' ';
	args[4] = numeric_array(v->signers, NULL, v->nsigners);
	args[5] = numeric_array(v->investigator_ids, v->has_investigator, v->nsigs);
	args[6] = text_array(v->fingerprints, v->nsigs);
	args[7] = bool_array(v->valid, v->nsigs);
	args[8] = text_array(v->reasons, v->nsigs);
	args[9] = text_array(sig_texts, v->nsigners);

	recording = true;
	if (SPI_execute_plan(plan(Q_RECORD), args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the verification of action %s", mig_numeric_text(row->id));
	recording = false;
	mig_pgp_counters.recorded++;
	return true;
}

typedef struct RecordArgs
{
	const ActionRow *row;
	const uint8 *digest;
	int64		epoch;
	const Verification *v;
	char	  **sig_texts;
	TimestampTz valid_until;
	bool		written;
} RecordArgs;

static void
record_in_subxact(void *arg)
{
	RecordArgs *a = (RecordArgs *) arg;

	a->written = record_if_current(a->row, a->digest, a->epoch, a->v, a->sig_texts,
								   a->valid_until);
}

/*
 * Record the verification v of row when the transaction can.  In read
 * committed the locks and the upserts can only wait, not fail; with a
 * transaction snapshot they may fail with a serialization error when
 * someone changed a row since: that, in a subtransaction, only means the
 * record is not written.
 */
static bool
write_record(const ActionRow *row, const uint8 *digest, int64 epoch,
			 const Verification *v, char **sigtexts, TimestampTz valid_until)
{
	char	  **sig_texts = palloc(sizeof(char *) * Max(v->nsigners, 1));
	RecordArgs	args;
	ErrorData  *edata;

	/*
	 * One writer per action at a time, and none waits for another: two
	 * transactions verifying the same actions in opposite orders would
	 * otherwise each wait for the other's uncommitted record.  Whoever does
	 * not get the lock leaves the record to the one that has it.
	 */
	if (!try_record_lock(row->id))
		return false;

	/* each signer's first valid signature, as it fits the column */
	for (int s = 0; s < v->nsigners; s++)
	{
		sig_texts[s] = NULL;
		for (int i = 0; i < v->nsigs && sig_texts[s] == NULL; i++)
			if (v->valid[i] && v->has_investigator[i] &&
				numeric_cmp_qsort(&v->investigator_ids[i], &v->signers[s]) == 0)
				sig_texts[s] = sigtexts[i];
		sig_texts[s] = storable_signature(sig_texts[s]);
	}

	if (!IsolationUsesXactSnapshot())
		return record_if_current(row, digest, epoch, v, sig_texts, valid_until);

	/* a transaction snapshot: a serialization failure only means "not now" */
	args.row = row;
	args.digest = digest;
	args.epoch = epoch;
	args.v = v;
	args.sig_texts = sig_texts;
	args.valid_until = valid_until;
	args.written = false;
	edata = mig_try_subxact(record_in_subxact, &args);
	if (edata == NULL)
		return args.written;
	recording = false;
	if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
		ReThrowError(edata);
	ereport(DEBUG1,
			(errmsg_internal("verification of action %s not recorded: %s",
							 mig_numeric_text(row->id), edata->message)));
	FreeErrorData(edata);
	return false;
}

/* ----------------------------------------------------------------
 * The backend's copy of its verifications
 *
 * By action id, what this backend last verified or read from the record:
 * it answers a second call without the record's lookup, and answers the
 * calls that cannot use the record, the ones in the same statement as the
 * call that wrote it (their snapshot does not see it) and the ones in
 * read-only transactions and on a standby (nothing is recorded there).  An
 * entry is used under exactly the record's conditions (the digest of the
 * row as the caller sees it, the keyring epoch, the expiry), so it is never
 * staler than the record: it holds a function of what it was computed
 * from, whatever becomes of the transaction that computed it.
 * ----------------------------------------------------------------
 */

#define CACHE_KEY_LEN	64		/* numeric_out of the action id */
#define CACHE_MAX		1024	/* entries; then the cache starts afresh */

typedef struct CacheEntry
{
	char		key[CACHE_KEY_LEN];
	MemoryContext cxt;			/* v's memory */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	Oid			keyring_relid;
	int64		epoch;
	TimestampTz valid_until;	/* DT_NOEND: never */
	TransactionId recorded_by;	/* the transaction that wrote its record */
	uint64		recorded_gen;	/* records_gen then */
	Verification v;
} CacheEntry;

static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;

/*
 * Bumped whenever this backend's triggers remove records: an entry's
 * record written earlier in this transaction may be gone.
 */
static uint64 records_gen = 0;

/* is the record of e known to exist, written by this transaction? */
static bool
recorded_here(const CacheEntry *e)
{
	return TransactionIdIsCurrentTransactionId(e->recorded_by) &&
		e->recorded_gen == records_gen;
}

static void
mark_recorded(CacheEntry *e)
{
	e->recorded_by = GetTopTransactionIdIfAny();
	e->recorded_gen = records_gen;
}

static void
cache_reset(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache = NULL;
}

/* deep copy of v in CurrentMemoryContext (the signers only, or all) */
static void
copy_verification(const Verification *src, Verification *dst, bool details)
{
	memset(dst, 0, sizeof(*dst));
	dst->nsigners = src->nsigners;
	dst->signers = palloc(sizeof(Datum) * Max(src->nsigners, 1));
	for (int i = 0; i < src->nsigners; i++)
		dst->signers[i] = datumCopy(src->signers[i], false, -1);
	if (!details)
		return;
	dst->nsigs = src->nsigs;
	dst->investigator_ids = palloc0(sizeof(Datum) * Max(src->nsigs, 1));
	dst->has_investigator = palloc0(sizeof(bool) * Max(src->nsigs, 1));
	dst->fingerprints = palloc0(sizeof(char *) * Max(src->nsigs, 1));
	dst->valid = palloc0(sizeof(bool) * Max(src->nsigs, 1));
	dst->reasons = palloc0(sizeof(char *) * Max(src->nsigs, 1));
	for (int i = 0; i < src->nsigs; i++)
	{
		dst->has_investigator[i] = src->has_investigator[i];
		if (src->has_investigator[i])
			dst->investigator_ids[i] = datumCopy(src->investigator_ids[i], false, -1);
		dst->fingerprints[i] = src->fingerprints[i] ? pstrdup(src->fingerprints[i]) : NULL;
		dst->valid[i] = src->valid[i];
		dst->reasons[i] = src->reasons[i] ? pstrdup(src->reasons[i]) : NULL;
	}
}

static bool
cache_key(Datum id, char *key)
{
	char	   *text = mig_numeric_text(id);

	if (strlen(text) >= CACHE_KEY_LEN)
		return false;
	memset(key, 0, CACHE_KEY_LEN);
	strcpy(key, text);
	return true;
}

/* the entry of key if it holds the verification of exactly this */
static CacheEntry *
cache_get(const char *key, const uint8 *digest, Oid keyring_relid, int64 epoch)
{
	CacheEntry *e;

	if (cache == NULL)
		return NULL;
	e = hash_search(cache, key, HASH_FIND, NULL);
	if (e == NULL ||
		memcmp(e->digest, digest, PG_SHA256_DIGEST_LENGTH) != 0 ||
		e->keyring_relid != keyring_relid || e->epoch != epoch ||
		(!TIMESTAMP_IS_NOEND(e->valid_until) && GetCurrentTimestamp() >= e->valid_until))
		return NULL;
	return e;
}

static CacheEntry *
cache_put(const char *key, const uint8 *digest, Oid keyring_relid, int64 epoch,
		  TimestampTz valid_until, const Verification *v)
{
	CacheEntry *e;
	bool		found;
	MemoryContext old;

	if (cache != NULL && hash_get_num_entries(cache) >= CACHE_MAX)
		cache_reset();
	if (cache == NULL)
	{
		HASHCTL		ctl;

		cache_cxt = AllocSetContextCreate(TopMemoryContext, "mig verifications",
										  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = CACHE_KEY_LEN;
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("mig verifications", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(cache, key, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(e->cxt);
	e->cxt = AllocSetContextCreate(cache_cxt, "mig verification", ALLOCSET_SMALL_SIZES);
	memcpy(e->digest, digest, PG_SHA256_DIGEST_LENGTH);
	e->keyring_relid = keyring_relid;
	e->epoch = epoch;
	e->valid_until = valid_until;
	e->recorded_by = InvalidTransactionId;
	old = MemoryContextSwitchTo(e->cxt);
	copy_verification(v, &e->v, true);
	MemoryContextSwitchTo(old);
	return e;
}

/* the verification in a current record row, all of it */
static void
verification_from_record(const RecordRow *rec, Verification *v)
{
	Datum	   *d;
	bool	   *nulls;
	int			n;

	memset(v, 0, sizeof(*v));
	deconstruct_array(rec->signers, NUMERICOID, -1, false, TYPALIGN_INT,
					  &v->signers, NULL, &v->nsigners);
	deconstruct_array(rec->investigator_ids, NUMERICOID, -1, false, TYPALIGN_INT,
					  &v->investigator_ids, &nulls, &v->nsigs);
	v->has_investigator = palloc(sizeof(bool) * Max(v->nsigs, 1));
	for (int i = 0; i < v->nsigs; i++)
		v->has_investigator[i] = !nulls[i];
	deconstruct_array(rec->fingerprints, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	v->fingerprints = palloc0(sizeof(char *) * Max(v->nsigs, 1));
	for (int i = 0; i < n && i < v->nsigs; i++)
		v->fingerprints[i] = nulls[i] ? NULL : TextDatumGetCString(d[i]);
	deconstruct_array(rec->valid, BOOLOID, 1, true, TYPALIGN_CHAR, &d, &nulls, &n);
	v->valid = palloc0(sizeof(bool) * Max(v->nsigs, 1));
	for (int i = 0; i < n && i < v->nsigs; i++)
		v->valid[i] = !nulls[i] && DatumGetBool(d[i]);
	deconstruct_array(rec->reasons, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	v->reasons = palloc0(sizeof(char *) * Max(v->nsigs, 1));
	for (int i = 0; i < n && i < v->nsigs; i++)
		v->reasons[i] = nulls[i] ? NULL : TextDatumGetCString(d[i]);
}

/* the current record of the action, if there is one */
static bool
read_record(const Rels *rels, Datum id, Snapshot snapshot, const uint8 *digest,
			int64 epoch, RecordRow *rec)
{
	memset(rec, 0, sizeof(*rec));
	return fetch_by_key(rels->verifications, rels->verifications_pkey, id, snapshot,
						record_from_slot, rec) &&
		VARSIZE_ANY_EXHDR(rec->digest) == PG_SHA256_DIGEST_LENGTH &&
		memcmp(VARDATA_ANY(rec->digest), digest, PG_SHA256_DIGEST_LENGTH) == 0 &&
		rec->keyring == epoch &&
		(!rec->has_valid_until || GetCurrentTimestamp() < rec->valid_until);
}

/* the first expiry among the valid signatures of v (DT_NOEND: none) */
static TimestampTz
earliest(const MigSignatureCheck *checks, int n)
{
	TimestampTz until = DT_NOEND;

	for (int i = 0; i < n; i++)
		if (checks[i].valid && checks[i].valid_until < until)
			until = checks[i].valid_until;
	return until;
}

/*
 * Verify the action with gpg (v, valid_until and the epoch the keys were
 * read at come back) and record it when the transaction can; or, when
 * known is given, record that verification without gpg.  As the record's
 * owner, in SPI.  Returns whether the record was written.
 */
static bool
verify_and_record(const Rels *rels, const ActionRow *row, const uint8 *digest,
				  int64 *epoch, const Verification *known, TimestampTz known_until,
				  Verification *v, TimestampTz *valid_until)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	  **texts;
	int			nsigs = signature_texts(row, &texts);
	MigAsOwner	owner;
	bool		can_record = !XactReadOnly && !RecoveryInProgress();
	bool		written = false;

	mig_as_owner_begin(&owner);
	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		if (known != NULL)
		{
			*v = *known;
			*valid_until = known_until;
		}
		else
		{
			char	   *canonical;
			MigSignatureCheck *checks = palloc0(sizeof(MigSignatureCheck) * Max(nsigs, 1));

			canonical = mig_canonical_string(text_to_cstring(row->name),
											 text_to_cstring(row->target),
											 unix_seconds(row->validfrom),
											 unix_seconds(row->expireafter),
											 row->operations ? VARDATA_ANY(row->operations) : NULL,
											 row->operations ? VARSIZE_ANY_EXHDR(row->operations) : 0);
			/* no signature, no key needed */
			if (nsigs > 0 && !mig_keyring_current(rels->keyring, *epoch))
			{
				*epoch = load_keyring(rels->keyring);
				/* SPI leaves its own context current */
				MemoryContextSwitchTo(cxt);
			}
			if (nsigs > 0)
				mig_keyring_verify(canonical, strlen(canonical), nsigs,
								   (const char *const *) texts, checks);
			mig_pgp_counters.with_gpg++;

			memset(v, 0, sizeof(*v));
			v->nsigs = nsigs;
			v->investigator_ids = palloc0(sizeof(Datum) * Max(nsigs, 1));
			v->has_investigator = palloc0(sizeof(bool) * Max(nsigs, 1));
			v->fingerprints = palloc0(sizeof(char *) * Max(nsigs, 1));
			v->valid = palloc0(sizeof(bool) * Max(nsigs, 1));
			v->reasons = palloc0(sizeof(char *) * Max(nsigs, 1));
			for (int i = 0; i < nsigs; i++)
			{
				v->has_investigator[i] = checks[i].has_investigator;
				if (checks[i].has_investigator)
					v->investigator_ids[i] = datumCopy(checks[i].investigator_id, false, -1);
				v->fingerprints[i] = checks[i].fingerprint;
				v->valid[i] = checks[i].valid;
				v->reasons[i] = checks[i].reason;
			}
			collect_signers(v);
			*valid_until = earliest(checks, nsigs);
		}
		if (can_record)
			written = write_record(row, digest, *epoch, v, texts, *valid_until);
		mig_as_owner_end(&owner);
	}
	PG_CATCH();
	{
		mig_as_owner_restore(&owner);
		recording = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return written;
}

/*
 * Make the verification of action id current and return it (the signers,
 * and with want_details the per-signature results too): from the backend's
 * copy or the record when either is current, otherwise with gpg.  When the
 * transaction can write, the record is made current too.  row receives the
 * action.
 */
static void
verify_action(Datum id, bool want_details, ActionRow *row, Verification *v)
{
	Rels		rels;
	Snapshot	snapshot;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	int64		epoch;
	RecordRow	rec;
	char		key[CACHE_KEY_LEN];
	bool		cacheable;
	CacheEntry *e = NULL;
	bool		can_record = !XactReadOnly && !RecoveryInProgress();
	Verification found;
	TimestampTz valid_until;

	lookup_rels(&rels);
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();

	memset(row, 0, sizeof(*row));
	row->id = id;
	if (!fetch_by_key(rels.actions, rels.actions_pkey, id, snapshot, action_from_slot, row))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("action %s does not exist", mig_numeric_text(id))));
	action_digest(row, digest);
	epoch = read_epoch(rels.keyring, snapshot);
	cacheable = cache_key(id, key);

	/* the backend's copy: enough unless the record must be made current */
	if (cacheable)
		e = cache_get(key, digest, rels.keyring, epoch);
	if (e != NULL && (!can_record || recorded_here(e)))
	{
		copy_verification(&e->v, v, want_details);
		mig_pgp_counters.from_cache++;
		return;
	}

	if (read_record(&rels, id, snapshot, digest, epoch, &rec))
	{
		verification_from_record(&rec, &found);
		copy_verification(&found, v, want_details);
		if (cacheable && e == NULL)
			cache_put(key, digest, rels.keyring, epoch,
					  rec.has_valid_until ? rec.valid_until : DT_NOEND, &found);
		mig_pgp_counters.from_record++;
		return;
	}

	if (e != NULL)
	{
		/* known, but not recorded (any more): record it, without gpg */
		Verification known;
		TimestampTz until = e->valid_until;

		copy_verification(&e->v, &known, true);
		if (verify_and_record(&rels, row, digest, &epoch, &known, until, &found, &valid_until))
		{
			e = cache_get(key, digest, rels.keyring, epoch);
			if (e != NULL)
				mark_recorded(e);
		}
		copy_verification(&known, v, want_details);
		mig_pgp_counters.from_cache++;
		return;
	}

	/* stale or missing: verify with gpg */
	{
		bool		written = verify_and_record(&rels, row, digest, &epoch, NULL, 0,
												&found, &valid_until);

		if (cacheable)
		{
			e = cache_put(key, digest, rels.keyring, epoch, valid_until, &found);
			if (written)
				mark_recorded(e);
		}
		copy_verification(&found, v, want_details);
	}
}

MigActionSigners *
mig_action_signers(Datum action_id)
{
	ActionRow	row;
	Verification v;
	MigActionSigners *result = palloc0(sizeof(MigActionSigners));

	verify_action(action_id, false, &row, &v);
	if (row.operations != NULL)
	{
		result->operations_len = VARSIZE_ANY_EXHDR(row.operations);
		result->operations = palloc(result->operations_len + 1);
		memcpy(result->operations, VARDATA_ANY(row.operations), result->operations_len);
		result->operations[result->operations_len] = '\0';
	}
	result->nsigners = v.nsigners;
	result->signers = v.signers;
	return result;
}

/*
 * mig_verify_action(action_id numeric)
 *   -> TABLE(position int, investigator_id numeric, fingerprint text,
 *            valid boolean, reason text)
 */
PG_FUNCTION_INFO_V1(mig_verify_action);
Datum
mig_verify_action(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ActionRow	row;
	Verification v;

	InitMaterializedSRF(fcinfo, 0);
	verify_action(PG_GETARG_DATUM(0), true, &row, &v);
	for (int i = 0; i < v.nsigs; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = v.investigator_ids[i];
		nulls[1] = !v.has_investigator[i];
		nulls[2] = (v.fingerprints[i] == NULL);
		values[2] = nulls[2] ? (Datum) 0 : CStringGetTextDatum(v.fingerprints[i]);
		values[3] = BoolGetDatum(v.valid[i]);
		nulls[4] = (v.reasons[i] == NULL);
		values[4] = nulls[4] ? (Datum) 0 : CStringGetTextDatum(v.reasons[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * mig_pgp_stats() -> TABLE(gpg_runs bigint, keys_imported bigint,
 *   from_cache bigint, from_record bigint, with_gpg bigint, recorded bigint,
 *   gnupg_directory text)
 *
 * What this backend did: gpg processes started, keys imported,
 * verifications answered from its own copy, from the record or with gpg,
 * records written, and where its private GnuPG homes are.
 */
PG_FUNCTION_INFO_V1(mig_pgp_stats);
Datum
mig_pgp_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	const char *dir = mig_gnupg_directory();

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(mig_pgp_counters.gpg_runs);
	values[1] = Int64GetDatum(mig_pgp_counters.keys_imported);
	values[2] = Int64GetDatum(mig_pgp_counters.from_cache);
	values[3] = Int64GetDatum(mig_pgp_counters.from_record);
	values[4] = Int64GetDatum(mig_pgp_counters.with_gpg);
	values[5] = Int64GetDatum(mig_pgp_counters.recorded);
	nulls[6] = (dir == NULL);
	values[6] = dir ? CStringGetTextDatum(dir) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* ----------------------------------------------------------------
 * Triggers
 * ----------------------------------------------------------------
 */

/*
 * Run plan q with one numeric argument (or none) as the record's owner,
 * with the latest snapshot: rows another transaction committed after this
 * one's snapshot are seen (and removed) too.
 */
static void
run_as_owner(int q, Datum *arg)
{
	MigAsOwner	owner;

	/* records (or the keyring) change: what this backend wrote may be gone */
	records_gen++;

	mig_as_owner_begin(&owner);
	PG_TRY();
	{
		int			rc;

		rc = SPI_execute_snapshot(plan(q), arg, NULL, GetLatestSnapshot(),
								  InvalidSnapshot, false, true, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
		mig_as_owner_end(&owner);
	}
	PG_CATCH();
	{
		mig_as_owner_restore(&owner);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static HeapTuple
check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by the trigger manager", name)));
	return TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
}

static Datum
column(TriggerData *td, HeapTuple tuple, const char *name, bool *isnull)
{
	return heap_getattr(tuple, mig_attnum(td->tg_relation, name),
						RelationGetDescr(td->tg_relation), isnull);
}

static bool
text_column_differs(TriggerData *td, const char *name)
{
	bool		n1,
				n2;
	Datum		a = column(td, td->tg_trigtuple, name, &n1);
	Datum		b = column(td, td->tg_newtuple, name, &n2);
	text	   *ta,
			   *tb;

	if (n1 || n2)
		return n1 != n2;
	ta = DatumGetTextPP(a);
	tb = DatumGetTextPP(b);
	return VARSIZE_ANY_EXHDR(ta) != VARSIZE_ANY_EXHDR(tb) ||
		memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) != 0;
}

/*
 * Statement trigger on investigators, before any row changes: a new keyring
 * epoch.  Waits for verifications that hold the keyring row in share mode.
 */
PG_FUNCTION_INFO_V1(mig_investigators_keyring);
Datum
mig_investigators_keyring(PG_FUNCTION_ARGS)
{
	check_trigger(fcinfo, "mig_investigators_keyring");
	run_as_owner(Q_BUMP, NULL);
	return PointerGetDatum(NULL);
}

/* "a1b2 c3d4..." -> "A1B2C3D4...": the forms a fingerprint is written in */
static char *
normalize_fingerprint(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
		s += 2;
	for (; *s; s++)
		if (!isspace((unsigned char) *s))
			appendStringInfoChar(&buf, pg_ascii_toupper((unsigned char) *s));
	return buf.data;
}

/*
 * Row trigger on investigators, before each change.  INSERT and UPDATE:
 * pgpfingerprint is the primary fingerprint of publickey (filled in when
 * NULL, refused when it differs).  UPDATE of a key or id, and DELETE: the
 * investigator's recorded signatures go (they were checked with the old
 * key; the next verification records them again if they still hold).
 */
PG_FUNCTION_INFO_V1(mig_investigators_key);
Datum
mig_investigators_key(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple = check_trigger(fcinfo, "mig_investigators_key");
	bool		forget = false;

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		forget = true;
	else
	{
		bool		key_changed = true;
		bool		fpr_given = true;
		bool		isnull;
		Datum		key;
		char	   *fpr = NULL;
		Datum		given;

		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			bool		n1,
						n2;

			key_changed = text_column_differs(td, "publickey");
			/* a fingerprint the UPDATE did not change is the old key's */
			fpr_given = text_column_differs(td, "pgpfingerprint");
			forget = key_changed || fpr_given ||
				!DatumGetBool(DirectFunctionCall2(numeric_eq,
												  column(td, td->tg_trigtuple, "id", &n1),
												  column(td, td->tg_newtuple, "id", &n2)));
		}
		key = column(td, tuple, "publickey", &isnull);
		if ((key_changed || fpr_given) && !isnull)
		{
			text	   *kt = DatumGetTextPP(key);

			fpr = mig_pgp_key_fingerprint(VARDATA_ANY(kt), VARSIZE_ANY_EXHDR(kt));
		}
		given = column(td, tuple, "pgpfingerprint", &isnull);
		if (fpr != NULL && fpr_given && !isnull &&
			strcmp(normalize_fingerprint(TextDatumGetCString(given)), fpr) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pgpfingerprint %s does not match the public key %s",
							TextDatumGetCString(given), fpr),
					 errhint("Leave pgpfingerprint out: it is filled in from the key.")));
		/* the key's fingerprint, written as gpg writes it; none without a key */
		if ((fpr != NULL && (isnull || strcmp(TextDatumGetCString(given), fpr) != 0)) ||
			(fpr == NULL && key_changed && !fpr_given && !isnull))
		{
			int			col = mig_attnum(td->tg_relation, "pgpfingerprint");
			Datum		value = fpr ? CStringGetTextDatum(fpr) : (Datum) 0;
			bool		null = (fpr == NULL);

			tuple = heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation),
											  1, &col, &value, &null);
		}
	}
	if (forget)
	{
		bool		isnull;
		Datum		id = column(td, td->tg_trigtuple, "id", &isnull);

		run_as_owner(Q_FORGET_INVESTIGATOR, &id);
	}
	return PointerGetDatum(tuple);
}

/*
 * Row trigger on actions.  After an UPDATE of a signed field or of
 * pgpsignatures (after the row is updated, so after any verification that
 * held it in share mode has committed): the action's record goes.  Before
 * DELETE and before an UPDATE of id: its recorded signatures go, which
 * the foreign key would otherwise refuse.
 */
PG_FUNCTION_INFO_V1(mig_actions_signed);
Datum
mig_actions_signed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple = check_trigger(fcinfo, "mig_actions_signed");
	bool		isnull;
	Datum		id = column(td, td->tg_trigtuple, "id", &isnull);

	run_as_owner(Q_FORGET_ACTION, &id);
	if (TRIGGER_FIRED_AFTER(td->tg_event))
		return PointerGetDatum(NULL);
	return PointerGetDatum(tuple);
}

/*
 * Triggers on signatures.  A change this backend did not make while
 * recording (a row inserted or deleted by hand, a TRUNCATE) makes the
 * action's record disagree with the table: the record goes, and the next
 * verification writes both again.
 */
PG_FUNCTION_INFO_V1(mig_signatures_changed);
Datum
mig_signatures_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	check_trigger(fcinfo, "mig_signatures_changed");
	if (recording)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		run_as_owner(Q_FORGET_RECORDS, NULL);
	else
	{
		bool		isnull;
		Datum		id = column(td, td->tg_trigtuple, "actionid", &isnull);

		run_as_owner(Q_FORGET_RECORD, &id);
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			id = column(td, td->tg_newtuple, "actionid", &isnull);
			run_as_owner(Q_FORGET_RECORD, &id);
		}
	}
	return PointerGetDatum(NULL);
}
