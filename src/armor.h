/*-------------------------------------------------------------------------
 *
 * armor.h
 *	  OpenPGP as text and packets (armor.c): MIG's two encodings of a
 *	  signature, a signature's issuer and creation time, a public key's
 *	  primary fingerprint.  No gpg here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARMOR_H
#define ARMOR_H

#include "common/sha2.h"
#include "lib/stringinfo.h"

/*
 * A detached signature of one document, parsed: what lets one gpg run check
 * many signatures and map gpg's answers back to them (gnupg.c).
 */
typedef struct MigPgpSig
{
	bool		ok;				/* one well-formed signature packet */
	const char *error;			/* why not */
	StringInfoData packet;		/* the packet's bytes */
	int64		created;		/* creation time, -1 if unknown */
	char		keyid[17];		/* issuer key id, "" if none */
	char		issuer_fpr[41]; /* issuer fingerprint subpacket, "" if none */
} MigPgpSig;

/*
 * Parse the text of one signature (ASCII armor or MIG's one-line form).  On
 * failure sig->ok is false and sig->error says why; nothing is raised.
 */
extern void mig_pgp_parse_signature(const char *text, size_t len, MigPgpSig *sig);

/* MIG's one-line form of a signature text; NULL if it holds no signature */
extern char *mig_pgp_signature_oneline(const char *text, size_t len);

/*
 * The primary fingerprint (40 upper-case hex digits and a NUL, into fpr) of
 * the one v4 public key of an armored text; 22023 for anything else.
 */
extern void mig_pgp_parse_public_key(const char *text, size_t len, char *fpr);

/* SHA-256 of a key text: what tells a changed key from an unchanged one */
extern void mig_pgp_key_digest(const char *text, size_t len,
							   uint8 digest[PG_SHA256_DIGEST_LENGTH]);

/* "the armor ..." -> "The armor ...": a reason as an errdetail sentence */
extern char *mig_pgp_sentence(const char *reason);

#endif							/* ARMOR_H */
