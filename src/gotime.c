/*-------------------------------------------------------------------------
 *
 * gotime.c
 *	  Go's time, as MIG's JSON carries it: the RFC 3339 timestamps of
 *	  actions, commands and heartbeats, and Unix seconds both ways.
 *
 *	  The reference is the Go that MIG's clients, scheduler and agents are
 *	  built with, which signs the times: Go 1.19 (Debian 12's golang-1.19,
 *	  the oracle of test/fuzz/gotime.check and test/t/010_canon_go.pl).  Go
 *	  reads a time.Time of JSON with UnmarshalJSON, time.Parse of the raw
 *	  string token against "\"" + time.RFC3339 + "\"" (escapes are not
 *	  decoded), and mig_parse_rfc3339 accepts what that accepts, with the
 *	  same instant.  Go's parse (time/format.go) is a walk through the
 *	  layout "2006-01-02T15:04:05Z07:00", and its accidents are part of
 *	  what clients sign:
 *
 *	  - year, month, day, minute: exactly 4, 2, 2, 2 digits; the hour ("15")
 *	    one or two digits; month 1-12, hour 0-23 ("24:00" is refused),
 *	    minute 0-59, and the day checked against its month (leap years
 *	    included) once the rest is read;
 *	  - seconds: two digits, 0-59 (no leap second "60"), then an optional
 *	    fraction: '.' or ',' and at least one digit, all the digits taken,
 *	    nanoseconds from the first nine, the rest ignored ("05.Z" refused);
 *	  - the seconds may be missing when a fraction stands in their place
 *	    ("03:04:,05Z" is 03:04:00.05): Go's two-digit read fails, but the
 *	    fraction that follows is parsed and its success overwrites the
 *	    error, leaving the seconds 0;
 *	  - 'T' and 'Z' upper-case only; "Z", or a sign, two bytes, ':', two
 *	    bytes: each two-byte field is read by Go's atoi, which takes a sign,
 *	    so "05", "+5" and "-5" all are numbers, and no range is checked
 *	    ("+24:00", "+99:99", "+-1:30" and "-01:+5" are offsets: the offset
 *	    is sign * (hh * 3600 + mm * 60) with hh, mm signed);
 *	  - nothing may follow.
 *
 *	  mig_timestamptz_to_unix is Go's Time.Unix() of a timestamp: whole
 *	  seconds, the floor, which is what the canonical signed string holds.
 *
 *	  Not here: the canonical signed string (canon.c) and the spool's file
 *	  formats (spoolfile.c, jsondoc.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"

#include "gotime.h"

static bool
is_digit_at(const char *s, size_t len, size_t i)
{
	return i < len && s[i] >= '0' && s[i] <= '9';
}

/* exactly n digits at s[*pos]; advances *pos */
static bool
fixed_digits(const char *s, size_t len, size_t *pos, int n, int *value)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!is_digit_at(s, len, *pos))
			return false;
		v = v * 10 + (s[(*pos)++] - '0');
	}
	*value = v;
	return true;
}

static bool
literal(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return false;
	(*pos)++;
	return true;
}

static bool
is_leap(int year)
{
	return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static int
days_in_month(int month, int year)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm) */
static int64
days_from_civil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Go's atoi of one two-byte field of the offset: two digits, or a sign and
 * one digit
 */
static bool
offset_field(const char *s, int *value)
{
	if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9')
		*value = (s[0] - '0') * 10 + (s[1] - '0');
	else if ((s[0] == '+' || s[0] == '-') && s[1] >= '0' && s[1] <= '9')
		*value = s[0] == '-' ? -(s[1] - '0') : s[1] - '0';
	else
		return false;
	return true;
}

bool
mig_parse_rfc3339(const char *s, size_t len, int64 *unix_seconds, int32 *nanoseconds)
{
	size_t		pos = 0;
	int			year,
				month,
				day,
				hour,
				minute,
				second = 0;
	bool		have_second;
	int32		nsec = 0;
	int64		offset = 0;

	if (!fixed_digits(s, len, &pos, 4, &year) ||
		!literal(s, len, &pos, '-') ||
		!fixed_digits(s, len, &pos, 2, &month) ||
		!literal(s, len, &pos, '-') ||
		!fixed_digits(s, len, &pos, 2, &day) ||
		!literal(s, len, &pos, 'T'))
		return false;
	if (month < 1 || month > 12)
		return false;

	/* Go's "15" takes one or two digits */
	if (!fixed_digits(s, len, &pos, 1, &hour))
		return false;
	if (is_digit_at(s, len, pos))
		hour = hour * 10 + (s[pos++] - '0');
	if (hour >= 24)
		return false;

	if (!literal(s, len, &pos, ':') ||
		!fixed_digits(s, len, &pos, 2, &minute) ||
		minute >= 60 ||
		!literal(s, len, &pos, ':'))
		return false;

	/* two digits of seconds, or none if a fraction stands there (Go's bug) */
	have_second = is_digit_at(s, len, pos) && is_digit_at(s, len, pos + 1);
	if (have_second)
	{
		second = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
		pos += 2;
		if (second >= 60)
			return false;
	}

	/* a fraction: '.' or ',' then at least one digit; keep nine */
	if (pos < len && (s[pos] == '.' || s[pos] == ',') && is_digit_at(s, len, pos + 1))
	{
		int			ndigits = 0;

		pos++;
		while (is_digit_at(s, len, pos))
		{
			if (ndigits < 9)
			{
				nsec = nsec * 10 + (s[pos] - '0');
				ndigits++;
			}
			pos++;
		}
		while (ndigits++ < 9)
			nsec *= 10;
	}
	else if (!have_second)
		return false;

	if (pos < len && s[pos] == 'Z')
		pos++;
	else
	{
		int			oh,
					om;

		if (len - pos < 6 || (s[pos] != '+' && s[pos] != '-') || s[pos + 3] != ':' ||
			!offset_field(s + pos + 1, &oh) || !offset_field(s + pos + 4, &om))
			return false;
		offset = (int64) oh * 3600 + (int64) om * 60;
		if (s[pos] == '-')
			offset = -offset;
		pos += 6;
	}

	if (pos != len)
		return false;
	if (day < 1 || day > days_in_month(month, year))
		return false;

	*unix_seconds = days_from_civil(year, month, day) * 86400 +
		hour * 3600 + minute * 60 + second - offset;
	*nanoseconds = nsec;
	return true;
}

/*
 * The timestamp of a Unix time, its nanoseconds rounded to microseconds
 * as PostgreSQL rounds a fraction it reads (ParseFractionalSecond: rint()
 * of the decimal fraction times a million, as a double): MIG's scheduler
 * writes Go times through lib/pq as text with nanoseconds, and a row that
 * both write must not differ by a microsecond.  Except in the last half
 * microsecond of a second, which PostgreSQL rounds into the next one: the
 * second is what an action's signed string holds (Unix seconds), so it is
 * kept, and the time is the second's last microsecond.
 *
 * The fraction's double is nanoseconds / 1e9: an IEEE division of two
 * exact values is the double nearest the quotient, as strtod() of the
 * decimal "0.NNNNNNNNN" is (glibc's is correctly rounded), so the rounding
 * is PostgreSQL's, without printing and reading back the digits.
 */
TimestampTz
mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds)
{
	double		usecs;

	usecs = Min(rint(((double) nanoseconds / 1e9) * 1000000), USECS_PER_SEC - 1);
	return (unix_seconds - ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY))
		* USECS_PER_SEC + (int64) usecs;
}

int64
mig_timestamptz_to_unix(TimestampTz ts)
{
	int64		secs;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("An infinite timestamp has no Unix time.")));
	secs = ts / USECS_PER_SEC;
	if (ts % USECS_PER_SEC < 0)
		secs--;
	return secs + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}
