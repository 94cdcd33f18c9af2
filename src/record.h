/*-------------------------------------------------------------------------
 *
 * record.h
 *	  The record of verified actions, shared by the files that make,
 *	  read, cache and invalidate it: verify.c (the flow), record.c (reading
 *	  and writing it), vcache.c (each backend's copy), staleness.c (the
 *	  triggers that remove what a change made stale).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RECORD_H
#define RECORD_H

#include "common/sha2.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/snapshot.h"

/* the action columns that are signed, and its signatures */
typedef struct ActionRow
{
	Datum		id;
	text	   *name;
	text	   *target;
	TimestampTz validfrom;
	TimestampTz expireafter;
	text	   *operations;		/* NULL if SQL NULL */
	text	   *pgpsignatures;	/* NULL if SQL NULL */
} ActionRow;

/* a verification, from the record or from gpg */
typedef struct Verification
{
	int			nsigs;
	Datum	   *investigator_ids;	/* numeric; isnull in has_investigator */
	bool	   *has_investigator;
	char	  **fingerprints;	/* NULL elements allowed */
	bool	   *valid;
	char	  **reasons;		/* NULL elements allowed */
	int			nsigners;
	Datum	   *signers;
} Verification;

/* the relations of the record, looked up once per verification */
typedef struct Rels
{
	Oid			actions;
	Oid			keyring;
	Oid			verifications;
} Rels;

/* a row of "verifications" as read */
typedef struct RecordRow
{
	bytea	   *digest;
	int64		keyring;
	bool		has_valid_until;
	TimestampTz valid_until;
	ArrayType  *signers;
	ArrayType  *investigator_ids;
	ArrayType  *fingerprints;
	ArrayType  *valid;
	ArrayType  *reasons;
} RecordRow;

/* the statements of the record (record_plan) */
typedef enum RecordStatement
{
	Q_KEYS,
	Q_LOCK,
	Q_RECORD,
	Q_BUMP,
	Q_FORGET_ACTION,
	Q_FORGET_INVESTIGATOR,
	Q_FORGET_RECORD,
	Q_FORGET_RECORDS,
	NQUERIES
} RecordStatement;

/* set while this backend writes its record (the signatures trigger) */
extern bool mig_recording;

extern void record_rels(Rels *r);
extern SPIPlanPtr record_plan(int q);
extern bool record_fetch_action(const Rels *rels, Datum id, Snapshot snapshot, ActionRow *row);
extern int64 record_read_epoch(Oid relid, Snapshot snapshot);
extern void record_digest(const ActionRow *row, uint8 *out);
extern bool record_read(const Rels *rels, Datum id, Snapshot snapshot, const uint8 *digest,
						int64 epoch, RecordRow *rec);
extern void verification_from_record(const RecordRow *rec, Verification *v);
extern bool record_write(const ActionRow *row, const uint8 *digest, int64 epoch,
						 const Verification *v, char **sigtexts, TimestampTz valid_until);
extern int	record_numeric_cmp(const void *a, const void *b);

#endif							/* RECORD_H */
