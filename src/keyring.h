/*-------------------------------------------------------------------------
 *
 * keyring.h
 *	  The investigators' keyring of this backend (keyring.c), loaded and
 *	  verified against by verify.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KEYRING_H
#define KEYRING_H

#include "datatype/timestamp.h"

typedef struct MigInvestigatorKey
{
	Datum		id;				/* investigators.id (numeric) */
	const char *publickey;
	bool		active;			/* investigators.status is 'active' */
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

#endif							/* KEYRING_H */
