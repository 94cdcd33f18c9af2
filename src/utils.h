/*-------------------------------------------------------------------------
 *
 * utils.h
 *	  Small helpers more than one concern of mig uses (utils.c): numbers
 *	  for messages, arrays built an element at a time, and mig's advisory
 *	  locks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UTILS_H
#define UTILS_H

#include "datatype/timestamp.h"

/* a numeric Datum as text, for messages and keys */
extern char *mig_numeric_text(Datum n);
extern bool mig_numeric_same_bytes(Datum a, Datum b);
extern Datum mig_int64_numeric(int64 v);

/*
 * A one-dimensional array, grown an element at a time: the values are not
 * copied, so they must live until mig_array_datum() builds the array.
 */
typedef struct MigArray
{
	Oid			elemtype;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			cap;
} MigArray;

extern void mig_array_init(MigArray *a, Oid elemtype, int cap);
extern void mig_array_add(MigArray *a, Datum value, bool isnull);
extern void mig_array_add_text(MigArray *a, const char *s);	/* NULL: null */
extern void mig_array_add_varlena(MigArray *a, void *v);	/* NULL: null */
extern void mig_array_add_int64_numeric(MigArray *a, int64 v);
extern void mig_array_add_time(MigArray *a, TimestampTz t, bool isnull);
extern Datum mig_array_datum(MigArray *a);

/*
 * mig's advisory locks, every class in this list: a transaction-level lock
 * on (class, key) in this database, the two-int4 form of
 * pg_advisory_xact_lock (so pg_locks shows them as advisory locks of class
 * objid 2).  Without wait, false when another transaction holds it.
 */
typedef enum MigLockClass
{
	MIG_LOCK_QUEUELOC = 0x6d6967,	/* "mig": one agent per queue location
									 * (agent.c) */
	MIG_LOCK_RECORD = 0x6d696772	/* "migr": one writer of an action's
									 * verification record (record.c) */
} MigLockClass;

extern bool mig_advisory_xact_lock(MigLockClass lockclass, uint32 key, bool wait);

#endif							/* UTILS_H */
