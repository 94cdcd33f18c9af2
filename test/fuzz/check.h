/*-------------------------------------------------------------------------
 *
 * check.h
 *	  Checks the harnesses make of what a parser accepted, beyond the
 *	  sanitizers': what goes into a text or json column is what the column
 *	  would take.  Each aborts (mig_fuzz_fail) when the check fails.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_FUZZ_CHECK_H
#define MIG_FUZZ_CHECK_H

#include "postgres.h"

#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"

#include "shim.h"

/*
 * A string for a text column: valid UTF-8 (NUL-terminated, so without
 * NUL), at most maxchars characters (0: any), not empty if nonempty.
 */
static inline void
mig_fuzz_check_string(const char *what, const char *s, int maxchars, bool nonempty)
{
	int			len;

	if (s == NULL)
		mig_fuzz_fail("%s is NULL", what);
	len = strlen(s);
	if (pg_encoding_verifymbstr(PG_UTF8, s, len) != len)
		mig_fuzz_fail("%s is not valid UTF-8", what);
	if (maxchars > 0 && pg_mbstrlen_with_len(s, len) > maxchars)
		mig_fuzz_fail("%s is longer than %d characters", what, maxchars);
	if (nonempty && len == 0)
		mig_fuzz_fail("%s is empty", what);
}

/*
 * A verbatim value for a json column: valid UTF-8, JSON by PostgreSQL's
 * parser, and starting with open ('{', '['; 0: any) when it is a
 * container; at most max_len bytes (the input's: it is a piece of it).
 */
static inline void
mig_fuzz_check_json(const char *what, const text *t, char open, size_t max_len)
{
	int			len = VARSIZE(t) - VARHDRSZ;
	char	   *s = palloc(len + 1);
	JsonLexContext *lex;
	JsonParseErrorType rc;

	memcpy(s, VARDATA(t), len);
	s[len] = '\0';
	if ((size_t) len > max_len)
		mig_fuzz_fail("%s is %d bytes, more than the input's %zu", what, len, max_len);
	if (strlen(s) != (size_t) len || pg_encoding_verifymbstr(PG_UTF8, s, len) != len)
		mig_fuzz_fail("%s is not valid UTF-8", what);
	if (open != 0 && (len < 2 || s[0] != open || s[len - 1] != (open == '{' ? '}' : ']')))
		mig_fuzz_fail("%s is not a JSON %s: %.64s", what, open == '{' ? "object" : "array", s);
	lex = makeJsonLexContextCstringLen(s, len, PG_UTF8, false);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
		mig_fuzz_fail("%s is not JSON (%d): %.64s", what, (int) rc, s);
}

/* a timestamptz a column takes */
static inline void
mig_fuzz_check_time(const char *what, TimestampTz t)
{
	if (!IS_VALID_TIMESTAMP(t))
		mig_fuzz_fail("%s is out of range: " INT64_FORMAT, what, t);
}

#endif							/* MIG_FUZZ_CHECK_H */
