/*-------------------------------------------------------------------------
 *
 * pgp.c
 *	  OpenPGP's SQL functions: mig_key_fingerprint() and
 *	  mig_verify_signature(), and mig_pgp_key_fingerprint(), the check of an
 *	  investigator's key that mig_key_fingerprint() and the investigators
 *	  trigger (staleness.c) share.
 *
 *	  A key is checked twice: its packets are read here (armor.c) and gpg
 *	  lists it (gnupg.c), so that a key gpg would not import is refused
 *	  before it is stored.  mig_verify_signature() keeps the last key it was
 *	  given imported in a home of its own.
 *
 *	  Not here: armor and packets (armor.c), gpg's homes and operations
 *	  (gnupg.c), the investigators' keyring (keyring.c), mig_verify_action()
 *	  (verify.c) and the record of verified actions (record.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "armor.h"
#include "gnupg.h"
#include "pgp.h"

/* ----------------------------------------------------------------
 * mig_key_fingerprint(publickey text) -> text
 * ----------------------------------------------------------------
 */

/* the home in which keys are only listed, never imported */
static char *scratch_home = NULL;

/*
 * The primary fingerprint of the one public key in text, as gpg reads it:
 * a key gpg would not import (no valid self-signature, say) is refused.
 * Raises 22023 for anything but exactly one usable public key.
 */
char *
mig_pgp_key_fingerprint(const char *text, size_t len)
{
	char		parsed[41];
	MigGpgKeyText listed;

	mig_pgp_parse_public_key(text, len, parsed);

	if (scratch_home == NULL || !mig_gnupg_homes_valid())
		scratch_home = mig_gnupg_make_home("scratch");
	mig_gpg_read_key_text(scratch_home, text, len, &listed);

	if (listed.nkeys != 1 || strcmp(listed.fpr, parsed) != 0 || listed.secret ||
		listed.invalid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gpg cannot use the OpenPGP public key %s", parsed),
				 errdetail("gpg reads no usable key from the text: a valid self-signed user ID is required."),
				 errhint("Export the key again with \"gpg --armor --export %s\".", parsed)));
	return pstrdup(parsed);
}

PG_FUNCTION_INFO_V1(mig_key_fingerprint);
Datum
mig_key_fingerprint(PG_FUNCTION_ARGS)
{
	text	   *key = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(mig_pgp_key_fingerprint(VARDATA_ANY(key),
															 VARSIZE_ANY_EXHDR(key))));
}

/* ----------------------------------------------------------------
 * mig_verify_signature(data text, signature text, publickey text) -> text
 *
 * The key is imported into a keyring of its own, kept while the next call
 * brings the same key text (a query over many signatures of one key runs
 * gpg once per signature only).
 * ----------------------------------------------------------------
 */

static char *adhoc_home = NULL;
static uint8 adhoc_digest[PG_SHA256_DIGEST_LENGTH];
static char adhoc_fpr[41];

PG_FUNCTION_INFO_V1(mig_verify_signature);
Datum
mig_verify_signature(PG_FUNCTION_ARGS)
{
	text	   *data = PG_GETARG_TEXT_PP(0);
	text	   *sigtext = PG_GETARG_TEXT_PP(1);
	text	   *key = PG_GETARG_TEXT_PP(2);
	const char *keytext = VARDATA_ANY(key);
	size_t		keylen = VARSIZE_ANY_EXHDR(key);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	MigGpgSig	sig;
	MigGpgSig  *sigp = &sig;

	memset(&sig, 0, sizeof(sig));
	mig_pgp_parse_signature(VARDATA_ANY(sigtext), VARSIZE_ANY_EXHDR(sigtext), &sig.sig);
	if (!sig.sig.ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text is not an OpenPGP signature"),
				 errdetail("%s", mig_pgp_sentence(sig.sig.error)),
				 errhint("Give one detached signature, ASCII-armored or in MIG's one-line form.")));

	mig_pgp_key_digest(keytext, keylen, digest);
	if (adhoc_home == NULL || !mig_gnupg_homes_valid() ||
		memcmp(digest, adhoc_digest, sizeof(digest)) != 0)
	{
		char		fpr[41];
		char	   *old = mig_gnupg_homes_valid() ? adhoc_home : NULL;

		mig_pgp_parse_public_key(keytext, keylen, fpr);
		adhoc_home = NULL;
		if (old != NULL)
		{
			mig_gnupg_remove_home(old);
			pfree(old);
		}
		adhoc_home = mig_gnupg_make_home("key");
		if (mig_gpg_import(adhoc_home, keytext, keylen) < 1)
		{
			mig_gnupg_remove_home(adhoc_home);
			adhoc_home = NULL;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("gpg cannot use the OpenPGP public key %s", fpr),
					 errdetail("gpg reads no usable key from the text: a valid self-signed user ID is required.")));
		}
		mig_pgp_counters.keys_imported++;
		memcpy(adhoc_digest, digest, sizeof(digest));
		strlcpy(adhoc_fpr, fpr, sizeof(adhoc_fpr));
	}

	mig_gpg_verify_signatures(adhoc_home, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
							  &sigp, 1);
	if (mig_gpg_signature_good(&sig))
		PG_RETURN_TEXT_P(cstring_to_text(adhoc_fpr));
	PG_RETURN_NULL();
}
