/*-------------------------------------------------------------------------
 *
 * vcache.c
 *	  Each backend's copy of the verifications it made or read, by action
 *	  id: it answers a second call without the record's lookup, and the
 *	  calls that cannot use the record: the ones in the same statement as
 *	  the call that wrote it (their snapshot does not see it) and the ones
 *	  in read-only transactions and on a standby (nothing is recorded
 *	  there).  An entry is used under exactly the record's conditions (the
 *	  digest of the row as the caller sees it, the keyring epoch, the
 *	  expiry), so it is never staler than the record: it holds a function of
 *	  what it was computed from, whatever becomes of the transaction that
 *	  computed it.
 *
 *	  Not here: the record itself (record.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "utils.h"
#include "vcache.h"

#define CACHE_MAX		1024	/* entries; then the cache starts afresh */


static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;

uint64		mig_records_gen = 0;

/* is the record of e known to exist, written by this transaction? */
bool
vcache_recorded_here(const CacheEntry *e)
{
	return TransactionIdIsCurrentTransactionId(e->recorded_by) &&
		e->recorded_gen == mig_records_gen;
}

void
vcache_mark_recorded(CacheEntry *e)
{
	e->recorded_by = GetTopTransactionIdIfAny();
	e->recorded_gen = mig_records_gen;
}

static void
cache_reset(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache = NULL;
}

/* deep copy of v in CurrentMemoryContext (the signers only, or all) */
void
verification_copy(const Verification *src, Verification *dst, bool details)
{
	memset(dst, 0, sizeof(*dst));
	dst->nsigners = src->nsigners;
	dst->signers = palloc(sizeof(Datum) * Max(src->nsigners, 1));
	for (int i = 0; i < src->nsigners; i++)
		dst->signers[i] = datumCopy(src->signers[i], false, -1);
	if (!details)
		return;
	dst->nsigs = src->nsigs;
	dst->investigator_ids = palloc0(sizeof(Datum) * Max(src->nsigs, 1));
	dst->has_investigator = palloc0(sizeof(bool) * Max(src->nsigs, 1));
	dst->fingerprints = palloc0(sizeof(char *) * Max(src->nsigs, 1));
	dst->valid = palloc0(sizeof(bool) * Max(src->nsigs, 1));
	dst->reasons = palloc0(sizeof(char *) * Max(src->nsigs, 1));
	for (int i = 0; i < src->nsigs; i++)
	{
		dst->has_investigator[i] = src->has_investigator[i];
		if (src->has_investigator[i])
			dst->investigator_ids[i] = datumCopy(src->investigator_ids[i], false, -1);
		dst->fingerprints[i] = src->fingerprints[i] ? pstrdup(src->fingerprints[i]) : NULL;
		dst->valid[i] = src->valid[i];
		dst->reasons[i] = src->reasons[i] ? pstrdup(src->reasons[i]) : NULL;
	}
}

bool
vcache_key(Datum id, char *key)
{
	char	   *text = mig_numeric_text(id);

	if (strlen(text) >= CACHE_KEY_LEN)
		return false;
	memset(key, 0, CACHE_KEY_LEN);
	strcpy(key, text);
	return true;
}

/* the entry of key if it holds the verification of exactly this */
CacheEntry *
vcache_get(const char *key, const uint8 *digest, Oid keyring_relid, int64 epoch)
{
	CacheEntry *e;

	if (cache == NULL)
		return NULL;
	e = hash_search(cache, key, HASH_FIND, NULL);
	if (e == NULL ||
		memcmp(e->digest, digest, PG_SHA256_DIGEST_LENGTH) != 0 ||
		e->keyring_relid != keyring_relid || e->epoch != epoch ||
		(!TIMESTAMP_IS_NOEND(e->valid_until) && GetCurrentTimestamp() >= e->valid_until))
		return NULL;
	return e;
}

CacheEntry *
vcache_put(const char *key, const uint8 *digest, Oid keyring_relid, int64 epoch,
		  TimestampTz valid_until, const Verification *v)
{
	CacheEntry *e;
	bool		found;
	MemoryContext old;

	if (cache != NULL && hash_get_num_entries(cache) >= CACHE_MAX)
		cache_reset();
	if (cache == NULL)
	{
		HASHCTL		ctl;

		cache_cxt = AllocSetContextCreate(TopMemoryContext, "mig verifications",
										  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = CACHE_KEY_LEN;
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("mig verifications", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(cache, key, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(e->cxt);
	e->cxt = AllocSetContextCreate(cache_cxt, "mig verification", ALLOCSET_SMALL_SIZES);
	memcpy(e->digest, digest, PG_SHA256_DIGEST_LENGTH);
	e->keyring_relid = keyring_relid;
	e->epoch = epoch;
	e->valid_until = valid_until;
	e->recorded_by = InvalidTransactionId;
	old = MemoryContextSwitchTo(e->cxt);
	verification_copy(v, &e->v, true);
	MemoryContextSwitchTo(old);
	return e;
}
