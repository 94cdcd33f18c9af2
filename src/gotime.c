/*-------------------------------------------------------------------------
 *
 * gotime.c
 *	  Go's time, as MIG's JSON carries it: the RFC 3339 timestamps of
 *	  actions, commands and heartbeats, and Unix seconds both ways.
 *
 *	  The timestamp parser follows Go's time.Parse(time.RFC3339, ...) as of
 *	  Go 1.19, because every timestamp mig reads was written, and every
 *	  signed string was computed, by Go code: four-digit year, two-digit
 *	  month, day, minute and second, a one- or two-digit hour, an optional
 *	  fraction after '.' or ',' (digits beyond nanoseconds ignored), then 'Z'
 *	  or a +hh:mm / -hh:mm offset.  Field ranges are checked as Go checks
 *	  them (the day against the month, leap years included).
 *
 *	  mig_timestamptz_to_unix is Go's Time.Unix() of a timestamp: whole
 *	  seconds, the floor, which is what the canonical signed string holds.
 *
 *	  Not here: the canonical signed string (canon.c) and the spool's file
 *	  formats (spool.c).
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

bool
mig_parse_rfc3339(const char *s, size_t len, int64 *unix_seconds, int32 *nanoseconds)
{
	size_t		pos = 0;
	int			year,
				month,
				day,
				hour,
				minute,
				second;
	int32		nsec = 0;
	int64		offset = 0;

	if (!fixed_digits(s, len, &pos, 4, &year) ||
		!literal(s, len, &pos, '-') ||
		!fixed_digits(s, len, &pos, 2, &month) ||
		!literal(s, len, &pos, '-') ||
		!fixed_digits(s, len, &pos, 2, &day) ||
		!literal(s, len, &pos, 'T'))
		return false;

	/* Go's "15" takes one or two digits */
	if (!fixed_digits(s, len, &pos, 1, &hour))
		return false;
	if (is_digit_at(s, len, pos))
		hour = hour * 10 + (s[pos++] - '0');

	if (!literal(s, len, &pos, ':') ||
		!fixed_digits(s, len, &pos, 2, &minute) ||
		!literal(s, len, &pos, ':') ||
		!fixed_digits(s, len, &pos, 2, &second))
		return false;

	if (month < 1 || month > 12 || hour >= 24 || minute >= 60 || second >= 60)
		return false;

	/* a fraction: '.' or ',' then at least one digit; keep nine */
	if (pos + 1 < len && (s[pos] == '.' || s[pos] == ',') && is_digit_at(s, len, pos + 1))
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

	if (pos < len && s[pos] == 'Z')
		pos++;
	else
	{
		int			oh,
					om;
		char		sign;

		if (len - pos < 6 || s[pos + 3] != ':')
			return false;
		sign = s[pos++];
		if (sign != '+' && sign != '-')
			return false;
		if (!fixed_digits(s, len, &pos, 2, &oh) ||
			!literal(s, len, &pos, ':') ||
			!fixed_digits(s, len, &pos, 2, &om))
			return false;
		offset = (int64) oh * 3600 + om * 60;
		if (sign == '-')
			offset = -offset;
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
 * exactly as PostgreSQL rounds a fraction it reads (ParseFractionalSecond:
 * rint() of the decimal fraction times a million, as a double): MIG's
 * scheduler writes Go times through lib/pq as text with nanoseconds, and a
 * row that both write must not differ by a microsecond.
 */
TimestampTz
mig_unix_to_timestamptz(int64 unix_seconds, int32 nanoseconds)
{
	char		frac[16];
	double		usecs;

	snprintf(frac, sizeof(frac), "0.%09d", (int) nanoseconds);
	usecs = rint(strtod(frac, NULL) * 1000000);
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
