/*-------------------------------------------------------------------------
 *
 * pgp.h
 *	  OpenPGP for mig: keys, signatures and the investigators' keyring (pgp.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGP_H
#define PGP_H

#include "datatype/timestamp.h"

#include "gnupg.h"

/* the primary fingerprint of the one public key in text; 22023 otherwise */
extern char *mig_pgp_key_fingerprint(const char *text, size_t len);

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

#endif							/* PGP_H */
