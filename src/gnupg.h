/*-------------------------------------------------------------------------
 *
 * gnupg.h
 *	  gpg in the server (gnupg.c): this backend's private GnuPG homes and
 *	  the gpg operations run in them, counted in mig_pgp_counters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNUPG_H
#define GNUPG_H

#include <gpgme.h>

#include "armor.h"

/* what this backend did, for mig_pgp_stats() (verify.c) */
typedef struct MigPgpCounters
{
	int64		gpg_runs;		/* gpg processes started by this backend */
	int64		keys_imported;	/* public keys imported by them */
	int64		from_cache;		/* verifications answered from the backend's
								 * own copy */
	int64		from_record;	/* verifications answered from the record */
	int64		with_gpg;		/* verifications that had to run gpg */
	int64		recorded;		/* verifications written to the record */
} MigPgpCounters;

extern MigPgpCounters mig_pgp_counters;

/*
 * Homes: each a new, empty GNUPGHOME (offline, no agent) in this backend's
 * private directory, removed at exit if not before.  A process forked from
 * one that made homes has none of its own: mig_gnupg_homes_valid() is false
 * there (and before the first home), and homes remembered must be made
 * again.
 */
extern char *mig_gnupg_make_home(const char *what);
extern void mig_gnupg_remove_home(const char *home);
extern bool mig_gnupg_homes_valid(void);
/* this backend's GnuPG directory, NULL before gpg was first needed */
extern const char *mig_gnupg_directory(void);

/*
 * Operations: one gpg run each (mig_gpg_verify_signatures: as few as the
 * answers allow).  An error ("could not ... with gpg", 38000) leaves no
 * gpgme data object behind and drops the context of the home.
 */

/* import key texts into home; returns how many keys gpg took */
extern int	mig_gpg_import(const char *home, const char *keys, size_t len);

/* what gpg reads from a key text, without importing it */
typedef struct MigGpgKeyText
{
	int			nkeys;			/* keys listed; 0 if gpg could not read them */
	char		fpr[41];		/* the first one's primary fingerprint */
	bool		secret;			/* a secret key among them */
	bool		invalid;		/* one gpg would not import (no valid
								 * self-signed user ID) */
} MigGpgKeyText;

extern void mig_gpg_read_key_text(const char *home, const char *text, size_t len,
								  MigGpgKeyText *out);

/* a key of a home, as gpg lists it */
typedef struct MigGpgSubkey
{
	char		fpr[41];
	int64		expires;		/* 0 = never */
} MigGpgSubkey;

typedef struct MigGpgKey
{
	int			nsubs;			/* subs[0] is the primary key */
	MigGpgSubkey *subs;
	gpgme_key_t handle;			/* gpg's listing: what deleting it takes;
								 * NULL if not listed */
} MigGpgKey;

/*
 * List the keys of home with the primary fingerprints fprs[0..n-1] (no two
 * alike) into *keys[i], subs allocated in cxt; a key gpg does not have keeps
 * its handle NULL.  No gpg run for n = 0.
 */
extern void mig_gpg_list_keys(const char *home, int n, const char *const *fprs,
							  MigGpgKey *const *keys, MemoryContext cxt);
/* delete a listed key from home (no agent needed) */
extern void mig_gpg_delete_key(const char *home, const MigGpgKey *key);
/* give the handle of a listed key back to gpgme; NULL afterwards */
extern void mig_gpg_release_key(MigGpgKey *key);

/* a signature given to gpg, and gpg's answer */
typedef struct MigGpgSig
{
	MigPgpSig	sig;			/* parsed (armor.h); ok turns false when gpg
								 * cannot read it */
	bool		checked;		/* gpg answered */
	gpgme_error_t status;
	char		gpg_fpr[41];	/* signing key fpr (or key id) gpg reported */
	int64		sig_expires;	/* 0 = never */
	bool		wrong_key_usage;
} MigGpgSig;

/*
 * Verify sigs[0..n-1] (well-formed, not yet checked) over data with the keys
 * of home.  A signature gpg gives no answer for alone becomes malformed.
 */
extern void mig_gpg_verify_signatures(const char *home, const char *data,
									  size_t datalen, MigGpgSig **sigs, int n);
/* did gpg find sig good, by a key that may sign? */
extern bool mig_gpg_signature_good(const MigGpgSig *sig);

#endif							/* GNUPG_H */
