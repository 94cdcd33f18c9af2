/*-------------------------------------------------------------------------
 *
 * vcache.h
 *	  Each backend's copy of the verifications it made or read (vcache.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VCACHE_H
#define VCACHE_H

#include "record.h"

#define CACHE_KEY_LEN	64		/* numeric_out of the action id */

typedef struct CacheEntry
{
	char		key[CACHE_KEY_LEN];
	MemoryContext cxt;			/* v's memory */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	Oid			keyring_relid;
	int64		epoch;
	TimestampTz valid_until;	/* DT_NOEND: never */
	TransactionId recorded_by;	/* the transaction that wrote its record */
	uint64		recorded_gen;	/* mig_records_gen then */
	Verification v;
} CacheEntry;

/*
 * Bumped whenever this backend's triggers remove records: an entry's
 * record written earlier in this transaction may be gone.
 */
extern uint64 mig_records_gen;

extern bool vcache_key(Datum id, char *key);
extern CacheEntry *vcache_get(const char *key, const uint8 *digest, Oid keyring_relid,
							  int64 epoch);
extern CacheEntry *vcache_put(const char *key, const uint8 *digest, Oid keyring_relid,
							  int64 epoch, TimestampTz valid_until, const Verification *v);
extern bool vcache_recorded_here(const CacheEntry *e);
extern void vcache_mark_recorded(CacheEntry *e);
extern void verification_copy(const Verification *src, Verification *dst, bool details);

#endif							/* VCACHE_H */
