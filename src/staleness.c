/*-------------------------------------------------------------------------
 *
 * staleness.c
 *	  The triggers that keep the record of verified actions honest: a new
 *	  keyring epoch before any statement changes investigators' keys, the
 *	  fingerprint filled in from (and checked against) a key, and the record
 *	  of an action (or an investigator's recorded signatures) removed when
 *	  what it was computed from changes.  They delete as the extension's
 *	  owner (a restricted operation under the pinned search_path), with the
 *	  latest snapshot, so that they also see rows a verification committed
 *	  after a repeatable-read changer's snapshot.
 *
 *	  Not here: the record (record.c), verification (verify.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgp.h"
#include "record.h"
#include "schema.h"
#include "sql.h"
#include "vcache.h"

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
	mig_records_gen++;

	mig_as_owner_begin(&owner);
	PG_TRY();
	{
		int			rc;

		rc = SPI_execute_snapshot(record_plan(q), arg, NULL, GetLatestSnapshot(),
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

/* whether column name differs between the old row and newtuple */
static bool
text_column_differs(TriggerData *td, HeapTuple newtuple, const char *name)
{
	bool		n1,
				n2;
	Datum		a = column(td, td->tg_trigtuple, name, &n1);
	Datum		b = column(td, newtuple, name, &n2);
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
 * A public key written as bytea's text form, "\x" and hex: what MIG's API
 * stores when it passes the key as bytes (its schema has publickey bytea;
 * the seed's varchar takes the bytea's text).  Such a value becomes the
 * armored key it encodes; a binary key (bytes that are not text) is
 * refused, since the column holds text.
 */
static HeapTuple
decode_hex_key(TriggerData *td, HeapTuple tuple)
{
	bool		isnull;
	Datum		key = column(td, tuple, "publickey", &isnull);
	text	   *kt;
	const char *p;
	int			len;
	bytea	   *bytes;
	int			col;
	Datum		value;
	bool		null = false;

	if (isnull)
		return tuple;
	kt = DatumGetTextPP(key);
	p = VARDATA_ANY(kt);
	len = VARSIZE_ANY_EXHDR(kt);
	if (len < 2 || p[0] != '\\' || p[1] != 'x')
		return tuple;
	for (int i = 2; i < len; i++)
		if (!isxdigit((unsigned char) p[i]))
			return tuple;		/* not bytea's hex form: gpg will say what it is */
	bytes = DatumGetByteaPP(DirectFunctionCall1(byteain,
												CStringGetDatum(text_to_cstring(kt))));
	if (memchr(VARDATA_ANY(bytes), '\0', VARSIZE_ANY_EXHDR(bytes)) != NULL ||
		!pg_verifymbstr(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), true))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("publickey holds a binary OpenPGP key written as bytea"),
				 errdetail("investigators.publickey holds the ASCII-armored key."),
				 errhint("Write the key as gpg --armor --export gives it.")));
	col = mig_attnum(td->tg_relation, "publickey");
	value = PointerGetDatum(cstring_to_text_with_len(VARDATA_ANY(bytes),
													 VARSIZE_ANY_EXHDR(bytes)));
	return heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation), 1, &col,
									 &value, &null);
}

/*
 * Row trigger on investigators, before each change.  INSERT and UPDATE:
 * a key written as bytea's text is decoded (decode_hex_key); pgpfingerprint
 * is the primary fingerprint of publickey (filled in when NULL, refused
 * when it differs).  UPDATE of a key or id, and DELETE: the
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

		tuple = decode_hex_key(td, tuple);
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			bool		n1,
						n2;

			key_changed = text_column_differs(td, tuple, "publickey");
			/* a fingerprint the UPDATE did not change is the old key's */
			fpr_given = text_column_differs(td, tuple, "pgpfingerprint");
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
 * mig_recording (a row inserted or deleted by hand, a TRUNCATE) makes the
 * action's record disagree with the table: the record goes, and the next
 * verification writes both again.
 */
PG_FUNCTION_INFO_V1(mig_signatures_changed);
Datum
mig_signatures_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	check_trigger(fcinfo, "mig_signatures_changed");
	if (mig_recording)
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
