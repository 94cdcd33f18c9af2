/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Verified actions: mig_verify_action(), the C API the authorization
 *	  code calls (mig_action_signers), and mig_pgp_stats().  A verification
 *	  is answered from the backend's copy or the record when either is
 *	  current; otherwise the action's signatures are checked with gpg
 *	  against the investigators' keyring (loaded as of the keyring epoch,
 *	  read in one snapshot with the keys) and, when the transaction can
 *	  write, recorded.  Checking and recording run as the extension's owner,
 *	  a restricted operation under the pinned search_path (sql.c).
 *
 *	  Not here: the record (record.c), each backend's copy (vcache.c), the
 *	  triggers that keep the record honest (staleness.c), OpenPGP itself
 *	  (armor.c, gnupg.c, keyring.c), the canonical string (canon.c),
 *	  authorization (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mig_jansson.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "canon.h"
#include "gnupg.h"
#include "gotime.h"
#include "keyring.h"
#include "record.h"
#include "schema.h"
#include "sql.h"
#include "utils.h"
#include "vcache.h"
#include "verify.h"

/* the distinct valid signers, ascending */
static void
collect_signers(Verification *v)
{
	int			n = 0;

	v->signers = palloc(sizeof(Datum) * Max(v->nsigs, 1));
	for (int i = 0; i < v->nsigs; i++)
		if (v->valid[i] && v->has_investigator[i])
			v->signers[n++] = v->investigator_ids[i];
	qsort(v->signers, n, sizeof(Datum), record_numeric_cmp);
	v->nsigners = 0;
	for (int i = 0; i < n; i++)
		if (v->nsigners == 0 ||
			record_numeric_cmp(&v->signers[v->nsigners - 1], &v->signers[i]) != 0)
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
	volatile int n = 0;

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
	PG_CATCH();
	{
		if (root != NULL)
			json_decref(root);
		PG_RE_THROW();
	}
	PG_END_TRY();
	json_decref(root);
	return n;
}

/* Q_KEYS: load the keyring as of the epoch read with the keys */
static int64
load_keyring(Oid relid)
{
	int64		epoch;
	bool		isnull;
	Datum		ids;
	Datum		keys;
	Datum		actives;
	int			nkeys = 0;
	MigInvestigatorKey *k = NULL;

	if (SPI_execute_plan(record_plan(Q_KEYS), NULL, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the investigators' keys");
	epoch = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (mig_keyring_current(relid, epoch))
		return epoch;
	ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		Datum	   *id_elems,
				   *key_elems,
				   *active_elems;
		bool	   *active_nulls;
		int			n2,
					n3;

		keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		actives = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
		deconstruct_array(DatumGetArrayTypeP(ids), NUMERICOID, -1, false, TYPALIGN_INT,
						  &id_elems, NULL, &nkeys);
		deconstruct_array(DatumGetArrayTypeP(keys), TEXTOID, -1, false, TYPALIGN_INT,
						  &key_elems, NULL, &n2);
		deconstruct_array(DatumGetArrayTypeP(actives), BOOLOID, 1, true, TYPALIGN_CHAR,
						  &active_elems, &active_nulls, &n3);
		Assert(n2 == nkeys && n3 == nkeys);
		k = palloc(sizeof(MigInvestigatorKey) * nkeys);
		for (int i = 0; i < nkeys; i++)
		{
			k[i].id = id_elems[i];
			k[i].publickey = TextDatumGetCString(key_elems[i]);
			k[i].active = !active_nulls[i] && DatumGetBool(active_elems[i]);
		}
	}
	mig_keyring_load(relid, epoch, nkeys, k);
	return epoch;
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
 * Whether this call may write the record.  Not in a read-only transaction
 * or on a standby; and, since recording share-locks the action and the
 * keyring row until the transaction ends, only when that ends with this
 * statement or the caller may write actions itself: a role that may only
 * read, in a transaction of its own making, would otherwise hold back the
 * scheduler's updates and key changes for as long as it pleases.  Such a
 * caller gets the same answer, from gpg or this backend's copy, unrecorded.
 */
static bool
may_record(const Rels *rels)
{
	if (XactReadOnly || RecoveryInProgress())
		return false;
	return !IsTransactionBlock() ||
		pg_class_aclcheck(rels->actions, GetUserId(), ACL_UPDATE) == ACLCHECK_OK;
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
				  bool can_record, Verification *v, TimestampTz *valid_until)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	  **texts;
	int			nsigs = signature_texts(row, &texts);
	MigAsOwner	owner;
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
			char	   *ambiguity = mig_canonical_ambiguity(text_to_cstring(row->name),
															text_to_cstring(row->target));

			canonical = mig_canonical_string(text_to_cstring(row->name),
											 text_to_cstring(row->target),
											 mig_timestamptz_to_unix(row->validfrom),
											 mig_timestamptz_to_unix(row->expireafter),
											 row->operations ? VARDATA_ANY(row->operations) : NULL,
											 row->operations ? VARSIZE_ANY_EXHDR(row->operations) : 0);
			if (ambiguity != NULL)
			{
				/* no signature counts, whatever gpg would say */
				for (int i = 0; i < nsigs; i++)
				{
					checks[i].reason = ambiguity;
					checks[i].valid_until = DT_NOEND;
				}
			}
			else
			{
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
			}
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
			written = record_write(row, digest, *epoch, v, texts, *valid_until);
		mig_as_owner_end(&owner);
	}
	PG_CATCH();
	{
		mig_as_owner_restore(&owner);
		mig_recording = false;
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
	bool		can_record;
	Verification found;
	TimestampTz valid_until;

	record_rels(&rels);
	can_record = may_record(&rels);
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();

	memset(row, 0, sizeof(*row));
	row->id = id;
	if (!record_fetch_action(&rels, id, snapshot, row))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("action %s does not exist", mig_numeric_text(id))));
	record_digest(row, digest);
	epoch = record_read_epoch(rels.keyring, snapshot);
	cacheable = vcache_key(id, key);

	/* the backend's copy: enough unless the record must be made current */
	if (cacheable)
		e = vcache_get(key, digest, rels.keyring, epoch);
	if (e != NULL && (!can_record || vcache_recorded_here(e)))
	{
		verification_copy(&e->v, v, want_details);
		mig_pgp_counters.from_cache++;
		return;
	}

	if (record_read(&rels, id, snapshot, digest, epoch, &rec))
	{
		verification_from_record(&rec, &found);
		verification_copy(&found, v, want_details);
		if (cacheable && e == NULL)
			vcache_put(key, digest, rels.keyring, epoch,
					  rec.has_valid_until ? rec.valid_until : DT_NOEND, &found);
		mig_pgp_counters.from_record++;
		return;
	}

	if (e != NULL)
	{
		/* known, but not recorded (any more): record it, without gpg */
		Verification known;
		TimestampTz until = e->valid_until;

		verification_copy(&e->v, &known, true);
		if (verify_and_record(&rels, row, digest, &epoch, &known, until, can_record, &found,
							  &valid_until))
		{
			e = vcache_get(key, digest, rels.keyring, epoch);
			if (e != NULL)
				vcache_mark_recorded(e);
		}
		verification_copy(&known, v, want_details);
		mig_pgp_counters.from_cache++;
		return;
	}

	/* stale or missing: verify with gpg */
	{
		bool		written = verify_and_record(&rels, row, digest, &epoch, NULL, 0,
												can_record, &found, &valid_until);

		if (cacheable)
		{
			e = vcache_put(key, digest, rels.keyring, epoch, valid_until, &found);
			if (written)
				vcache_mark_recorded(e);
		}
		verification_copy(&found, v, want_details);
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
	result->ambiguity = mig_canonical_ambiguity(text_to_cstring(row.name),
												text_to_cstring(row.target));
	result->validfrom = row.validfrom;
	result->expireafter = row.expireafter;
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

