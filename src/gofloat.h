/*-------------------------------------------------------------------------
 *
 * gofloat.h
 *	  A float64 as Go's encoding/json writes it (gofloat.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOFLOAT_H
#define GOFLOAT_H

#include "lib/stringinfo.h"

/*
 * gofloat_append writes any finite f as Go's encoder does.
 *
 * A JSON number token of at most 15 significant digits, well inside
 * float64's normal range, is written from its own digits: then
 * gofloat_token_digits returns true with its significant digits (at most
 * 15, no leading or trailing zeros; the buffer holds at least 48 bytes) and
 * point, the value being 0.digits * 10^point, and gofloat_append_decimal
 * writes them.  It returns false for any other token.
 */
extern void gofloat_append(StringInfo out, double f);
extern bool gofloat_token_digits(const unsigned char *s, int len,
								 char *digits, int *ndigits, int *point);
extern void gofloat_append_decimal(StringInfo out, bool negative,
								   const char *digits, int ndig, int point);

#endif							/* GOFLOAT_H */
