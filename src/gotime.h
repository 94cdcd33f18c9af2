/*-------------------------------------------------------------------------
 *
 * gotime.h
 *	  Go's time as MIG's JSON carries it (gotime.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOTIME_H
#define GOTIME_H

#include "datatype/timestamp.h"

/*
 * mig_parse_rfc3339 accepts what Go 1.19's time.Time UnmarshalJSON
 * (time.Parse of "\"" + time.RFC3339 + "\"") accepts of the text between
 * the quotes, its accidents included (gotime.c), and yields Unix seconds
 * (floor) and the nanoseconds within that second.
 * mig_unix_to_timestamptz converts the result to a PostgreSQL timestamp
 * with time zone (microseconds, rounded as PostgreSQL rounds a fraction it
 * reads); mig_timestamptz_to_unix is Go's
 * Time.Unix() (floor; ERROR 22008 on infinity).
 */
/*
 * Go's zero time, 0001-01-01T00:00:00Z: what MIG writes for a time not set
 * (a time.Time is never nil), as Unix seconds and as an SQL constant.  mig
 * stores an unset time the same way in the rows it writes, so that MIG's
 * code, which reads these columns into time.Time, reads them back; and
 * reads it, wherever it comes from, as unset.
 */
#define MIG_GO_ZERO_UNIX INT64CONST(-62135596800)
#define MIG_GO_ZERO_SQL "'0001-01-01 00:00:00+00'::timestamptz"

extern bool mig_parse_rfc3339(const char *str, size_t len,
							  int64 *unix_seconds, int32 *nanoseconds);
extern TimestampTz mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds);
extern int64 mig_timestamptz_to_unix(TimestampTz ts);

#endif							/* GOTIME_H */
