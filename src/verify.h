/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  Verified actions, for the authorization code (verify.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VERIFY_H
#define VERIFY_H

#include "datatype/timestamp.h"


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
	char	   *ambiguity;		/* why no signature can count (canon.h), or
								 * NULL */
	TimestampTz validfrom;		/* the action's validity window */
	TimestampTz expireafter;
} MigActionSigners;

extern MigActionSigners *mig_action_signers(Datum action_id);

#endif							/* VERIFY_H */
