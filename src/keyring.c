/*-------------------------------------------------------------------------
 *
 * keyring.c
 *	  The investigators' keyring: one GNUPGHOME of this backend holds the
 *	  public keys of the investigators as of a keyring epoch (verify.c reads
 *	  the epoch and the keys in one snapshot and loads them here), and the
 *	  signatures of an action are checked against it.
 *
 *	  A key is imported once; when its row changes, or goes, the old key is
 *	  deleted from the keyring first, so that gpg never merges an old copy
 *	  (a removed subkey, a revocation since undone) into the new one.  A
 *	  keyring left half-changed by an error is rebuilt from scratch.  A load
 *	  goes in four steps: collect (parse the keys, one per fingerprint),
 *	  prune (delete what changed or went, or start a fresh home), import
 *	  (one gpg run for the new keys, then list them) and commit (the new
 *	  entries replace the old).
 *
 *	  A check maps gpg's answers back to the investigators: the signer's
 *	  primary fingerprint and investigator, a reason when a signature does
 *	  not count, and until when a valid one stays valid.
 *
 *	  Not here: armor and packets (armor.c), running gpg (gnupg.c),
 *	  mig_verify_action() (verify.c), the record of verified actions
 *	  (record.c), the triggers that move the epoch (staleness.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "armor.h"
#include "gnupg.h"
#include "keyring.h"
#include "utils.h"

typedef struct KeyEntry
{
	Datum		investigator_id;	/* numeric */
	char		fpr[41];		/* primary */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];	/* of the key text */
	MigGpgKey	key;			/* gpg's listing: the subkeys (key.subs[0] is
								 * the primary), and what deleting it takes */
	int			src;			/* its index in the keys being loaded */
	bool		active;			/* the investigator's status is 'active' */
} KeyEntry;

static struct
{
	MemoryContext cxt;			/* the entries */
	bool		valid;			/* keys match epoch */
	bool		dirty;			/* an error left the home unknown */
	Oid			relid;			/* the keyring table the epoch is of */
	int64		epoch;
	char	   *home;
	int			nkeys;
	KeyEntry   *keys;
} keyring;

/*
 * A load in progress, in the memory context that becomes the keyring's when
 * it commits.  entries has room for every key given; entries[0..n-1] are the
 * keys kept so far, and every gpgme key the load holds is in exactly one of
 * them (the other slots are zero).  It is not a local of mig_keyring_load,
 * so that its PG_CATCH reads what the steps wrote, not a clobbered copy.
 */
typedef struct KeyringLoad
{
	MemoryContext cxt;
	KeyEntry   *entries;
	int			n;
	bool		fresh;			/* the keys go into a new, empty home */
} KeyringLoad;

bool
mig_keyring_current(Oid relid, int64 epoch)
{
	return keyring.valid && keyring.relid == relid && keyring.epoch == epoch &&
		mig_gnupg_homes_valid();
}

static KeyEntry *
find_entry(KeyEntry *keys, int nkeys, const char *fpr, const uint8 *digest)
{
	for (int i = 0; i < nkeys; i++)
		if (strcmp(keys[i].fpr, fpr) == 0 &&
			(digest == NULL || memcmp(keys[i].digest, digest, PG_SHA256_DIGEST_LENGTH) == 0))
			return &keys[i];
	return NULL;
}

static void
free_entries(KeyEntry *keys, int nkeys)
{
	for (int i = 0; i < nkeys; i++)
		mig_gpg_release_key(&keys[i].key);
}

/* ----------------------------------------------------------------
 * Loading the keyring
 * ----------------------------------------------------------------
 */

/*
 * The primary fingerprint of an investigator's key into fpr.  An unusable
 * key is reported and left out, not fatal to all: false, with a warning.
 */
static bool
key_fingerprint(const MigInvestigatorKey *key, char *fpr)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;	/* set in PG_CATCH, read after it */

	PG_TRY();
	{
		mig_pgp_parse_public_key(key->publickey, strlen(key->publickey), fpr);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the public key of investigator %s is not used",
						mig_numeric_text(key->id)),
				 errdetail("%s", edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* collect: the usable keys, one per fingerprint, with their digests */
static void
collect_keys(KeyringLoad *load, int nkeys, const MigInvestigatorKey *keys)
{
	for (int i = 0; i < nkeys; i++)
	{
		KeyEntry   *e = &load->entries[load->n];
		const char *text = keys[i].publickey;
		Size		idlen;

		if (!key_fingerprint(&keys[i], e->fpr))
		{
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		if (find_entry(load->entries, load->n, e->fpr, NULL) != NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("the public key of investigator %s is not used",
							mig_numeric_text(keys[i].id)),
					 errdetail("Another investigator has the key %s.", e->fpr)));
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		idlen = VARSIZE_ANY(DatumGetPointer(keys[i].id));
		e->investigator_id = PointerGetDatum(MemoryContextAlloc(load->cxt, idlen));
		memcpy(DatumGetPointer(e->investigator_id), DatumGetPointer(keys[i].id), idlen);
		mig_pgp_key_digest(text, strlen(text), e->digest);
		e->src = i;
		e->active = keys[i].active;
		load->n++;
	}
}

/*
 * prune: keys whose row changed or went are deleted from the keyring; if
 * that cannot be done, or an earlier load failed half-way, the keyring is
 * made again in a fresh home.  From here until the commit, an error leaves
 * the home dirty.
 */
static void
prune_keyring(KeyringLoad *load)
{
	bool		fresh = (keyring.home == NULL || keyring.dirty);

	keyring.dirty = true;
	for (int i = 0; !fresh && i < keyring.nkeys; i++)
	{
		KeyEntry   *prev = &keyring.keys[i];

		if (find_entry(load->entries, load->n, prev->fpr, prev->digest) != NULL)
			continue;
		if (prev->key.handle == NULL)
			fresh = true;
		else
			mig_gpg_delete_key(keyring.home, &prev->key);
	}
	if (fresh)
	{
		if (keyring.home != NULL)
		{
			mig_gnupg_remove_home(keyring.home);
			pfree(keyring.home);
			keyring.home = NULL;
		}
		keyring.home = mig_gnupg_make_home("keyring");
	}
	load->fresh = fresh;
}

/*
 * import: unchanged keys stay (their entries take the listing over from the
 * keyring's), the others are imported in one gpg run, then listed.
 */
static void
import_keys(KeyringLoad *load, const MigInvestigatorKey *keys)
{
	StringInfoData import;
	const char **fprs = palloc(sizeof(char *) * Max(load->n, 1));
	MigGpgKey **listed = palloc(sizeof(MigGpgKey *) * Max(load->n, 1));
	int			nimport = 0;

	initStringInfo(&import);
	for (int i = 0; i < load->n; i++)
	{
		KeyEntry   *e = &load->entries[i];
		KeyEntry   *prev = load->fresh ? NULL :
		find_entry(keyring.keys, keyring.nkeys, e->fpr, e->digest);

		if (prev != NULL && prev->key.handle != NULL)
		{
			e->key.nsubs = prev->key.nsubs;
			e->key.subs = MemoryContextAlloc(load->cxt,
											 sizeof(MigGpgSubkey) * Max(prev->key.nsubs, 1));
			memcpy(e->key.subs, prev->key.subs, sizeof(MigGpgSubkey) * prev->key.nsubs);
			/* the gpgme key changes hands: one owner at any time */
			e->key.handle = prev->key.handle;
			prev->key.handle = NULL;
			continue;
		}
		appendStringInfoString(&import, keys[e->src].publickey);
		appendStringInfoChar(&import, '\n');
		fprs[nimport] = e->fpr;
		listed[nimport] = &e->key;
		nimport++;
	}
	if (nimport > 0)
	{
		mig_gpg_import(keyring.home, import.data, import.len);
		mig_pgp_counters.keys_imported += nimport;
		mig_gpg_list_keys(keyring.home, nimport, fprs, listed, load->cxt);
	}
	pfree(import.data);
	pfree(fprs);
	pfree(listed);
}

/*
 * Keys gpg would not take are reported and left out.  The kept entries
 * move down; a slot left behind is zeroed, so that no gpgme key is ever in
 * two entries.
 */
static void
drop_unlisted(KeyringLoad *load)
{
	int			kept = 0;

	for (int i = 0; i < load->n; i++)
	{
		KeyEntry   *e = &load->entries[i];

		if (e->key.handle == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the public key of investigator %s is not used",
							mig_numeric_text(e->investigator_id)),
					 errdetail("gpg did not import the key %s.", e->fpr)));
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		if (kept != i)
		{
			load->entries[kept] = *e;
			memset(e, 0, sizeof(KeyEntry));
		}
		kept++;
	}
	load->n = kept;
}

/* commit: the new entries replace the keyring's, whose keys go back */
static void
commit_keyring(KeyringLoad *load, Oid relid, int64 epoch)
{
	if (keyring.cxt != NULL)
	{
		free_entries(keyring.keys, keyring.nkeys);
		MemoryContextDelete(keyring.cxt);
	}
	keyring.cxt = load->cxt;
	keyring.keys = load->entries;
	keyring.nkeys = load->n;
	keyring.relid = relid;
	keyring.epoch = epoch;
	keyring.dirty = false;
	keyring.valid = true;
}

void
mig_keyring_load(Oid relid, int64 epoch, int nkeys, const MigInvestigatorKey *keys)
{
	MemoryContext cxt;
	KeyringLoad *load;

	/* until this load has finished, the keyring is unusable */
	keyring.valid = false;
	if (!mig_gnupg_homes_valid())
	{
		/* a process forked from one that had a keyring: start afresh */
		memset(&keyring, 0, sizeof(keyring));
	}

	cxt = AllocSetContextCreate(TopMemoryContext, "mig keyring", ALLOCSET_SMALL_SIZES);
	load = MemoryContextAllocZero(cxt, sizeof(KeyringLoad));
	load->cxt = cxt;
	load->entries = MemoryContextAllocZero(cxt, sizeof(KeyEntry) * Max(nkeys, 1));

	/* cxt and load are set before PG_TRY and never after: no volatile */
	PG_TRY();
	{
		collect_keys(load, nkeys, keys);
		prune_keyring(load);
		import_keys(load, keys);
		drop_unlisted(load);
	}
	PG_CATCH();
	{
		free_entries(load->entries, load->n);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	commit_keyring(load, relid, epoch);
	pfree(load);
}

/* ----------------------------------------------------------------
 * Checking signatures
 * ----------------------------------------------------------------
 */

/* the key, and the subkey, with fingerprint (or key id) fpr */
static KeyEntry *
find_signer(const char *fpr, MigGpgSubkey **sub)
{
	size_t		fl = strlen(fpr);

	for (int i = 0; i < keyring.nkeys; i++)
	{
		KeyEntry   *e = &keyring.keys[i];

		for (int j = 0; j < e->key.nsubs; j++)
		{
			bool		match = (fl == 40) ?
			strcmp(e->key.subs[j].fpr, fpr) == 0 :
			(fl >= 16 && strcmp(e->key.subs[j].fpr + 24, fpr + fl - 16) == 0);

			if (match)
			{
				if (sub)
					*sub = &e->key.subs[j];
				return e;
			}
		}
	}
	return NULL;
}

static int
cmp_packets(const void *a, const void *b)
{
	const MigGpgSig *x = *(MigGpgSig *const *) a;
	const MigGpgSig *y = *(MigGpgSig *const *) b;

	if (x->sig.packet.len != y->sig.packet.len)
		return x->sig.packet.len < y->sig.packet.len ? -1 : 1;
	if (x->sig.packet.len > 0)
	{
		int			c = memcmp(x->sig.packet.data, y->sig.packet.data, x->sig.packet.len);

		if (c != 0)
			return c;
	}
	return x < y ? -1 : (x > y);
}

/*
 * Keep one of each signature packet in run[0..n-1]: the same signature
 * given twice (or in both of MIG's encodings) is one signature, verified
 * once, whatever the list repeats.  dup_of[i] becomes the index in sigs of
 * the one that is verified for sigs[i].  Returns the new n.
 */
static int
drop_duplicates(MigGpgSig **run, int n, MigGpgSig *sigs, int *dup_of)
{
	int			m = 0;

	qsort(run, n, sizeof(MigGpgSig *), cmp_packets);
	for (int i = 0; i < n; i++)
	{
		if (m > 0 && run[m - 1]->sig.packet.len == run[i]->sig.packet.len &&
			memcmp(run[m - 1]->sig.packet.data, run[i]->sig.packet.data,
				   run[i]->sig.packet.len) == 0)
		{
			dup_of[run[i] - sigs] = run[m - 1] - sigs;
			continue;
		}
		run[m++] = run[i];
	}
	return m;
}

/*
 * What gpg's answer about s means for c, s made by the key e (its subkey
 * sub), which an investigator has.
 */
static void
judge_answer(const MigGpgSig *s, const KeyEntry *e, const MigGpgSubkey *sub,
			 MigSignatureCheck *c)
{
	switch (gpgme_err_code(s->status))
	{
		case GPG_ERR_NO_ERROR:
			c->valid = true;
			/* valid until the key, the subkey or the signature expires */
			{
				int64		until = 0;
				int64		cand[3] = {e->key.subs[0].expires, sub->expires, s->sig_expires};

				for (int k = 0; k < 3; k++)
					if (cand[k] > 0 && (until == 0 || cand[k] < until))
						until = cand[k];
				if (until > 0)
					c->valid_until = time_t_to_timestamptz((pg_time_t) until);
			}
			break;
		case GPG_ERR_BAD_SIGNATURE:
			c->reason = pstrdup("bad signature");
			break;
		case GPG_ERR_NO_PUBKEY:
			c->reason = pstrdup("no investigator has this key");
			c->has_investigator = false;
			c->fingerprint = NULL;
			break;
		case GPG_ERR_KEY_EXPIRED:
			c->reason = pstrdup("key expired");
			break;
		case GPG_ERR_CERT_REVOKED:
			c->reason = pstrdup("key revoked");
			break;
		case GPG_ERR_SIG_EXPIRED:
			c->reason = pstrdup("signature expired");
			break;

			/*
			 * A key (or subkey) whose usage does not include signing: gpg
			 * answers with this error (gpgme's wrong_key_usage flag is
			 * gpgsm's, never set for OpenPGP).
			 */
		case GPG_ERR_WRONG_KEY_USAGE:
			c->reason = pstrdup("bad signature: the key may not sign");
			break;
		default:
			c->reason = psprintf("bad signature: %s", gpgme_strerror(s->status));
			break;
	}
}

void
mig_keyring_verify(const char *data, size_t datalen, int nsigs,
				   const char *const *sigtexts, MigSignatureCheck *checks)
{
	MigGpgSig  *sigs = palloc0(sizeof(MigGpgSig) * Max(nsigs, 1));
	MigGpgSig **run = palloc(sizeof(MigGpgSig *) * Max(nsigs, 1));
	int		   *dup_of = palloc(sizeof(int) * Max(nsigs, 1));
	int			nrun = 0;

	Assert(keyring.valid);
	for (int i = 0; i < nsigs; i++)
	{
		MigSignatureCheck *c = &checks[i];

		memset(c, 0, sizeof(*c));
		dup_of[i] = i;
		if (sigtexts[i] == NULL)
		{
			sigs[i].sig.ok = false;
			sigs[i].sig.error = "the entry is not a string";
			continue;
		}
		mig_pgp_parse_signature(sigtexts[i], strlen(sigtexts[i]), &sigs[i].sig);
		if (!sigs[i].sig.ok)
			continue;
		/* a key id no investigator has needs no gpg run */
		if (sigs[i].sig.keyid[0] != '\0' && find_signer(sigs[i].sig.keyid, NULL) == NULL)
			continue;
		run[nrun++] = &sigs[i];
	}

	nrun = drop_duplicates(run, nrun, sigs, dup_of);
	mig_gpg_verify_signatures(keyring.home, data, datalen, run, nrun);

	for (int i = 0; i < nsigs; i++)
	{
		MigGpgSig  *s = &sigs[dup_of[i]];
		MigSignatureCheck *c = &checks[i];
		MigGpgSubkey *sub = NULL;
		KeyEntry   *e = NULL;

		c->valid_until = DT_NOEND;
		if (!s->sig.ok)
		{
			c->reason = psprintf("malformed signature: %s", s->sig.error);
			continue;
		}
		if (s->checked)
			e = find_signer(s->gpg_fpr, &sub);
		else if (s->sig.keyid[0] != '\0')
			e = find_signer(s->sig.keyid, &sub);
		if (e != NULL)
		{
			c->has_investigator = true;
			c->investigator_id = e->investigator_id;
			c->fingerprint = pstrdup(e->fpr);
		}
		if (!s->checked || e == NULL)
		{
			c->reason = pstrdup("no investigator has this key");
			c->has_investigator = false;
			c->fingerprint = NULL;
			continue;
		}
		judge_answer(s, e, sub, c);
		/* MIG trusts the keys of active investigators only */
		if (c->valid && !e->active)
		{
			c->valid = false;
			c->valid_until = DT_NOEND;
			c->reason = psprintf("investigator %s is not active",
								 mig_numeric_text(e->investigator_id));
		}
	}
	for (int i = 0; i < nsigs; i++)
		if (sigs[i].sig.packet.data)
			pfree(sigs[i].sig.packet.data);
	pfree(sigs);
	pfree(run);
	pfree(dup_of);
}
