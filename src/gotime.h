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
 * with time zone (microseconds, truncated); mig_timestamptz_to_unix is Go's
 * Time.Unix() (floor; ERROR 22008 on infinity).
 */
extern bool mig_parse_rfc3339(const char *str, size_t len,
							  int64 *unix_seconds, int32 *nanoseconds);
extern TimestampTz mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds);
extern int64 mig_timestamptz_to_unix(TimestampTz ts);

#endif							/* GOTIME_H */
