/*-------------------------------------------------------------------------
 *
 * pgp.h
 *	  OpenPGP's SQL functions (pgp.c), and the check of an investigator's
 *	  key they share with the investigators trigger (staleness.c).
 *
 *	  The layers below: armor.h (text and packets), gnupg.h (gpg),
 *	  keyring.h (the investigators' keyring).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGP_H
#define PGP_H

/*
 * The primary fingerprint of the one public key in text, as gpg reads it;
 * 22023 for anything but exactly one public key gpg would import.
 */
extern char *mig_pgp_key_fingerprint(const char *text, size_t len);

#endif							/* PGP_H */
