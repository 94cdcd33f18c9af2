/*-------------------------------------------------------------------------
 *
 * record.c
 *	  The record of verified actions: one row of "verifications" per
 *	  action holding its per-signature results, plus its valid signatures in
 *	  the seed's "signatures" table.  It is used only while it is current:
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
 *	  Reads are direct index scans (no SPI, no catalog scans), or a fetch
 *	  of the TID where the same key's row was found last time, which counts
 *	  only if it is still the visible row of that key (mig_fetch_known_row):
 *	  the fast path of every verification and authorization.  The record is written
 *	  under share locks on the action row and the keyring row, after
 *	  checking that both are still what was verified, so that a concurrent
 *	  change waits for this transaction and its trigger then removes what
 *	  was written here; the locks are taken only when no one holds the rows
 *	  (SKIP LOCKED), and under a per-action advisory lock taken without
 *	  waiting, so that recording never waits for anyone and can be in no
 *	  deadlock.  verify.c records only for a caller whose locks are its own
 *	  business (see there).
 *
 *	  Not here: when to verify and record (verify.c), each backend's copy
 *	  (vcache.c), the triggers (staleness.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "armor.h"
#include "gnupg.h"
#include "record.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"

/*
 * Bumped whenever what is verified or how changes (the canonical string,
 * the reasons): records of an older version are then stale.
 */
#define RECORD_VERSION	"mig verification 3"

bool		mig_recording = false;

/* ----------------------------------------------------------------
 * Relations and saved plans
 * ----------------------------------------------------------------
 */

void
record_rels(Rels *r)
{
	r->actions = mig_relid("actions");
	r->keyring = mig_relid("keyring");
	r->verifications = mig_relid("verifications");
}


/* the statement q, for the plan cache */
static char *
statement_sql(int q, Oid *types, int *nargsp)
{
	char	   *sql = NULL;
	int			nargs = 0;

	switch (q)
	{
		case Q_KEYS:

			/*
			 * The epoch and the keys in one snapshot, with whether each
			 * investigator is active (1.2's status; before it, all were).
			 */
			sql = psprintf("SELECT coalesce((SELECT epoch FROM %s), 0),"
						   " array_agg(id ORDER BY id), array_agg(publickey::text ORDER BY id),"
						   " array_agg(%s ORDER BY id)"
						   " FROM %s WHERE publickey IS NOT NULL",
						   mig_qualified_name("keyring"),
						   mig_schema_version() >= 102 ? "status = 'active'" : "true",
						   mig_qualified_name("investigators"));
			break;
		case Q_LOCK:
			/*
			 * The newest versions of both rows, share-locked if no one holds
			 * them: a writer that has either (an UPDATE of the action, of
			 * its commands' counters, of the keyring) is never waited for,
			 * so recording takes its place in no lock order; the record is
			 * then left to a later verification.
			 */
			sql = psprintf("SELECT a.name, a.target, a.validfrom, a.expireafter, a.operations,"
						   " a.pgpsignatures, k.epoch FROM %s a, %s k WHERE a.id = $1"
						   " FOR SHARE OF a, k SKIP LOCKED",
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

			/*
			 * The row again if someone deleted it: with no row a key change
			 * would leave the epoch where it was (0, as read then), and the
			 * backends that loaded the keys as of it would keep them
			 */
			sql = psprintf("INSERT INTO %s AS k (onerow, epoch, changed_at)"
						   " VALUES (true, nextval(%s), now())"
						   " ON CONFLICT (onerow) DO UPDATE"
						   " SET epoch = EXCLUDED.epoch, changed_at = EXCLUDED.changed_at",
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

SPIPlanPtr
record_plan(int q)
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

/*
 * Where the row of a key was last found, by table and key bytes: the next
 * read of the same key fetches that TID first (mig_fetch_known_row) and
 * scans the index only when the row there is no longer the visible one.
 */
#define KNOWN_ROWS		64
#define KNOWN_KEY_LEN	32

typedef struct KnownRow
{
	Oid			relid;
	Size		len;
	char		key[KNOWN_KEY_LEN];
	ItemPointerData tid;
} KnownRow;

static KnownRow known_rows[KNOWN_ROWS];
static int	known_next = 0;

static KnownRow *
known_row(Oid relid, Datum key, bool add)
{
	Size		len = VARSIZE_ANY_EXHDR(DatumGetPointer(key));
	KnownRow   *k;

	if (len > KNOWN_KEY_LEN || VARATT_IS_EXTERNAL(DatumGetPointer(key)) ||
		VARATT_IS_COMPRESSED(DatumGetPointer(key)))
		return NULL;
	for (int i = 0; i < KNOWN_ROWS; i++)
	{
		k = &known_rows[i];
		if (k->relid == relid && k->len == len &&
			memcmp(k->key, VARDATA_ANY(DatumGetPointer(key)), len) == 0)
			return k;
	}
	if (!add)
		return NULL;
	k = &known_rows[known_next];
	known_next = (known_next + 1) % KNOWN_ROWS;
	k->relid = relid;
	k->len = len;
	memcpy(k->key, VARDATA_ANY(DatumGetPointer(key)), len);
	ItemPointerSetInvalid(&k->tid);
	return k;
}

/* whether the row in slot has key in column attno */
static bool
row_has_key(TupleTableSlot *slot, AttrNumber attno, Datum key)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attno, &isnull);

	return !isnull && (mig_numeric_same_bytes(value, key) ||
					   DatumGetBool(DirectFunctionCall2(numeric_eq, value, key)));
}

/*
 * One row by its numeric key column (through the table's unique index on
 * it, or where it was found last time); calls fn on it; false if there is
 * none.
 */
typedef void (*row_fn) (Relation rel, TupleTableSlot *slot, void *arg);

static bool
fetch_by_key(Oid relid, const char *column, Datum key, Snapshot snapshot, row_fn fn,
			 void *arg)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	KnownRow   *known = known_row(relid, key, false);
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData skey;
	bool		found;

	/* the unique index must be there, whichever way the row is read */
	(void) mig_index_on(rel, column, true);
	if (known != NULL && mig_fetch_known_row(rel, &known->tid, snapshot, slot) &&
		row_has_key(slot, mig_attnum(rel, column), key))
	{
		fn(rel, slot, arg);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
		return true;
	}

	index = mig_index_open(rel, column, true);
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_NUMERIC_EQ, key);
	scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
	{
		mig_index_recheck(index, &skey, 1, slot);
		fn(rel, slot, arg);
		known = known_row(relid, key, true);
		if (known != NULL)
			known->tid = slot->tts_tid;
	}
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
int64
record_read_epoch(Oid relid, Snapshot snapshot)
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

/* the action row id as snapshot sees it; false if there is none */
bool
record_fetch_action(const Rels *rels, Datum id, Snapshot snapshot, ActionRow *row)
{
	return fetch_by_key(rels->actions, "id", id, snapshot, action_from_slot, row);
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
void
record_digest(const ActionRow *row, uint8 *out)
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

int
record_numeric_cmp(const void *a, const void *b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 *(const Datum *) a,
											 *(const Datum *) b));
}

/* the verification in a current record row, all of it */
void
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
bool
record_read(const Rels *rels, Datum id, Snapshot snapshot, const uint8 *digest,
			int64 epoch, RecordRow *rec)
{
	memset(rec, 0, sizeof(*rec));
	return fetch_by_key(rels->verifications, "actionid", id, snapshot,
						record_from_slot, rec) &&
		VARSIZE_ANY_EXHDR(rec->digest) == PG_SHA256_DIGEST_LENGTH &&
		memcmp(VARDATA_ANY(rec->digest), digest, PG_SHA256_DIGEST_LENGTH) == 0 &&
		rec->keyring == epoch &&
		(!rec->has_valid_until || GetCurrentTimestamp() < rec->valid_until);
}

/* ----------------------------------------------------------------
 * Writing the record
 * ----------------------------------------------------------------
 */

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

	if (text == NULL)
		return NULL;
	if (pg_mbstrlen(text) <= SIGNATURE_MAX_LEN)
		return text;
	oneline = mig_pgp_signature_oneline(text, strlen(text));
	if (oneline != NULL && strlen(oneline) <= SIGNATURE_MAX_LEN)
		return oneline;
	return NULL;
}

/* the transaction-level lock on writing the record of action id, or false */
static bool
try_record_lock(Datum id)
{
	return mig_advisory_xact_lock(MIG_LOCK_RECORD,
								  DatumGetUInt32(DirectFunctionCall1(hash_numeric, id)), false);
}

/*
 * Write the record, if the action and the keyring are still what was
 * verified: both rows are read again, share-locked (the newest versions, in
 * read committed), so that a concurrent change waits for this transaction
 * and then, through its trigger, removes what is written here.  Returns
 * false, writing nothing, when either changed or is held by a writer.
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
	if (SPI_execute_plan(record_plan(Q_LOCK), args, nulls, false, 1) != SPI_OK_SELECT ||
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
	record_digest(&now, digest2);
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

	mig_recording = true;
	if (SPI_execute_plan(record_plan(Q_RECORD), args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the verification of action %s", mig_numeric_text(row->id));
	mig_recording = false;
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
bool
record_write(const ActionRow *row, const uint8 *digest, int64 epoch,
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
				record_numeric_cmp(&v->investigator_ids[i], &v->signers[s]) == 0)
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
	mig_recording = false;
	if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
		ReThrowError(edata);
	ereport(DEBUG1,
			(errmsg_internal("verification of action %s not recorded: %s",
							 mig_numeric_text(row->id), edata->message)));
	FreeErrorData(edata);
	return false;
}

