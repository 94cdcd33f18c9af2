/*-------------------------------------------------------------------------
 *
 * utils.h
 *	  Small helpers more than one concern of mig uses (utils.c): numbers
 *	  for messages, and arrays built an element at a time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UTILS_H
#define UTILS_H

#include "datatype/timestamp.h"

/* a numeric Datum as text, for messages and keys */
extern char *mig_numeric_text(Datum n);
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

#endif							/* UTILS_H */
