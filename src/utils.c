/*-------------------------------------------------------------------------
 *
 * utils.c
 *	  Small helpers more than one concern of mig uses: numbers for
 *	  messages, and arrays built an element at a time (the parameters of
 *	  mig's set-based statements, the columns of the verification record).
 *
 *	  Not here: anything with a concern of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "utils.h"

char *
mig_numeric_text(Datum n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, n));
}

Datum
mig_int64_numeric(int64 v)
{
	return NumericGetDatum(int64_to_numeric(v));
}

void
mig_array_init(MigArray *a, Oid elemtype, int cap)
{
	a->elemtype = elemtype;
	a->cap = Max(cap, 1);
	a->values = palloc(sizeof(Datum) * a->cap);
	a->nulls = palloc(sizeof(bool) * a->cap);
	a->n = 0;
}

void
mig_array_add(MigArray *a, Datum value, bool isnull)
{
	if (a->n == a->cap)
	{
		a->cap *= 2;
		a->values = repalloc(a->values, sizeof(Datum) * a->cap);
		a->nulls = repalloc(a->nulls, sizeof(bool) * a->cap);
	}
	a->values[a->n] = isnull ? (Datum) 0 : value;
	a->nulls[a->n] = isnull;
	a->n++;
}

void
mig_array_add_text(MigArray *a, const char *s)
{
	mig_array_add(a, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

void
mig_array_add_varlena(MigArray *a, void *v)
{
	mig_array_add(a, PointerGetDatum(v), v == NULL);
}

void
mig_array_add_int64_numeric(MigArray *a, int64 v)
{
	mig_array_add(a, mig_int64_numeric(v), false);
}

void
mig_array_add_time(MigArray *a, TimestampTz t, bool isnull)
{
	mig_array_add(a, TimestampTzGetDatum(t), isnull);
}

Datum
mig_array_datum(MigArray *a)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1];

	get_typlenbyvalalign(a->elemtype, &typlen, &typbyval, &typalign);
	dims[0] = a->n;
	lbs[0] = 1;
	return PointerGetDatum(construct_md_array(a->values, a->nulls, 1, dims, lbs,
											  a->elemtype, typlen, typbyval, typalign));
}

bool
mig_advisory_xact_lock(MigLockClass lockclass, uint32 key, bool wait)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) lockclass, key, 2);
	return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Whether two numerics are stored with the same bytes, whatever their
 * headers: then they are the same number, known without numeric_eq and the
 * copy it makes of a value with a short header.  Different bytes may still
 * be the same number (1 and 1.0): false says nothing.
 */
bool
mig_numeric_same_bytes(Datum a, Datum b)
{
	struct varlena *va = (struct varlena *) DatumGetPointer(a);
	struct varlena *vb = (struct varlena *) DatumGetPointer(b);

	return !VARATT_IS_EXTERNAL(va) && !VARATT_IS_COMPRESSED(va) &&
		!VARATT_IS_EXTERNAL(vb) && !VARATT_IS_COMPRESSED(vb) &&
		VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
		memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
}
