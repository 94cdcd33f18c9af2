/*
 * fuzz_pubkey: a public key's text (src/armor.c), as mig_key_fingerprint(),
 * mig_verify_signature() and the investigators' keyring reach it before gpg
 * sees it: ASCII armor, base64, CRC-24, packet headers, the primary key's
 * v4 fingerprint; and the key text's SHA-256.
 *
 * The input is the text.  An input that starts like a packet (high bit set)
 * is also taken as binary packets and armored (pgp_text.h) with and without
 * the checksum, and as a PRIVATE KEY BLOCK, which armor.c reads too.
 *
 * Checks besides the sanitizers':
 *	- every error is 22023 (armor.h: "22023 for anything else");
 *	- an accepted key gives 40 upper-case hex digits;
 *	- binary packets: every armored form gives the same fingerprint, or the
 *	  same error; a lone v4 key packet in gpg's old-format header (0x99 and a
 *	  two-byte length) is accepted with the SHA-1 of the input as its
 *	  fingerprint (RFC 4880, 12.2), computed here with OpenSSL;
 *	- mig_pgp_key_digest() is OpenSSL's SHA-256 of the text.
 */
#include "postgres.h"

#include <openssl/sha.h>

#include "armor.h"
#include "pgp_text.h"
#include "shim.h"

/* the text forms of one input */
typedef enum KeyForm
{
	FORM_TEXT,					/* the input itself */
	FORM_ARMOR,					/* binary, armored with a checksum */
	FORM_ARMOR_NOCRC,			/* binary, armored without one */
	FORM_PRIVATE				/* binary, as a PRIVATE KEY BLOCK */
} KeyForm;

static const char *const form_names[] = {"text", "armor", "armor without checksum",
"private key block armor"};

typedef struct KeyRun
{
	KeyForm		form;
	int			style;
	int			width;
	bool		ok;
	char		fpr[41];
	MigFuzzError e;
} KeyRun;

static void
one(const uint8 *data, size_t size, void *arg)
{
	KeyRun	   *run = arg;
	const char *text = (const char *) data;
	size_t		len = size;

	switch (run->form)
	{
		case FORM_TEXT:
			{
				uint8		digest[PG_SHA256_DIGEST_LENGTH];
				uint8		want[SHA256_DIGEST_LENGTH];

				mig_pgp_key_digest(text, len, digest);
				SHA256(data, size, want);
				if (memcmp(digest, want, sizeof(want)) != 0)
					mig_fuzz_fail("mig_pgp_key_digest is not SHA-256");
			}
			break;
		case FORM_ARMOR:
			text = pgp_armor(data, size, "PUBLIC KEY BLOCK", run->style | ARMOR_CRC,
							 run->width);
			break;
		case FORM_ARMOR_NOCRC:
			text = pgp_armor(data, size, "PUBLIC KEY BLOCK", run->style & ~ARMOR_CRC,
							 run->width);
			break;
		case FORM_PRIVATE:
			text = pgp_armor(data, size, "PRIVATE KEY BLOCK", run->style, run->width);
			break;
	}
	if (run->form != FORM_TEXT)
		len = strlen(text);
	memset(run->fpr, 'x', sizeof(run->fpr));
	mig_pgp_parse_public_key(text, len, run->fpr);
}

static void
parse_as(const uint8 *data, size_t size, KeyForm form, KeyRun *run)
{
	const char *name = form_names[form];

	run->form = form;
	pgp_style_of(data, size, &run->style, &run->width);
	run->ok = mig_fuzz_run(one, data, size, run, &run->e);
	if (run->ok)
	{
		if (memchr(run->fpr, '\0', sizeof(run->fpr)) == NULL ||
			!pgp_is_hex(run->fpr, 40))
			mig_fuzz_fail("%s: accepted, but the fingerprint is \"%.41s\"", name, run->fpr);
	}
	else if (run->e.sqlerrcode != ERRCODE_INVALID_PARAMETER_VALUE)
		mig_fuzz_fail("%s: error %s: %s (%s)", name, unpack_sql_state(run->e.sqlerrcode),
					  run->e.message, run->e.detail);
}

static void
same_key(const KeyRun *a, const KeyRun *b)
{
	const char *name = form_names[b->form];

	if (a->ok != b->ok)
		mig_fuzz_fail("%s: %s, but %s before (%s)", name,
					  b->ok ? "accepted" : "refused", a->ok ? "accepted" : "refused",
					  a->ok ? b->e.message : a->e.message);
	if (a->ok ? strcmp(a->fpr, b->fpr) != 0 :
		strcmp(a->e.message, b->e.message) != 0 || strcmp(a->e.detail, b->e.detail) != 0)
		mig_fuzz_fail("%s: \"%s\" (%s), but \"%s\" (%s) before", name,
					  b->ok ? b->fpr : b->e.message, b->e.detail,
					  a->ok ? a->fpr : a->e.message, a->e.detail);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	KeyRun		first,
				run;

	parse_as(data, size, FORM_TEXT, &run);
	if (size == 0 || !(data[0] & 0x80))
		return 0;

	parse_as(data, size, FORM_ARMOR, &first);
	parse_as(data, size, FORM_ARMOR_NOCRC, &run);
	same_key(&first, &run);
	parse_as(data, size, FORM_PRIVATE, &run);
	same_key(&first, &run);

	/* gpg's own form of a lone primary key: 0x99, length, version 4 */
	if (data[0] == 0x99 && size >= 4 && data[3] == 4 &&
		size == 3 + (((size_t) data[1] << 8) | data[2]))
	{
		uint8		sha1[SHA_DIGEST_LENGTH];
		char		want[41];

		SHA1(data, size, sha1);
		for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
			snprintf(want + 2 * i, 3, "%02X", sha1[i]);
		if (!first.ok || strcmp(first.fpr, want) != 0)
			mig_fuzz_fail("a lone key packet: \"%s\", not %s",
						  first.ok ? first.fpr : first.e.message, want);
	}
	return 0;
}
