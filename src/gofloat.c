/*-------------------------------------------------------------------------
 *
 * gofloat.c
 *	  A float64 as Go's encoding/json writes it: strconv's shortest digits
 *	  (ties broken as Go breaks them) in ES6 style, plain between 1e-6 and
 *	  1e21 and in exponent form outside.
 *
 *	  gojson.c reads a number token and hands it here: a token of at most
 *	  15 significant digits is written from its own digits
 *	  (gofloat_token_digits, gofloat_append_decimal), any other from the
 *	  float64 strtod gives (gofloat_append).  No reader state and no SQL:
 *	  functions of their arguments only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"

#include "gofloat.h"

/*
 * The shortest decimal that reads back as ax (> 0), as Go's strconv finds
 * it: the fewest significant digits, and of those the one nearest ax.  A
 * decimal exactly halfway between two doubles counts when it reads back
 * (round-half-even), as Go accepts a boundary when the mantissa is even.
 * (PostgreSQL's own Ryu never accepts a boundary: it prints 1e23 as
 * 9.999999999999999e+22 where Go prints 1e+23, so it cannot be used here.)
 *
 * Tries each precision: the correctly rounded candidate printf gives is the
 * nearest; when it falls outside on the narrow side of the interval (at a
 * power of two), its neighbour on the other side of ax may still be inside.
 * Sets digits (no trailing zeros) and point, with ax = 0.digits * 10^point.
 */
static void
shortest_digits(double ax, char *digits, int *ndigits, int *point)
{
	char		buf[40];
	uint64		mant = 0;
	int			exp10 = 0;
	int			n;

	for (int prec = 1; prec <= 17; prec++)
	{
		char	   *e;
		double		back;

		snprintf(buf, sizeof(buf), "%.*e", prec - 1, ax);
		/* buf is d.ddde[+-]XX: the mantissa as an integer, the exponent */
		mant = 0;
		for (e = buf; *e != 'e'; e++)
			if (*e != '.')
				mant = mant * 10 + (*e - '0');
		exp10 = atoi(e + 1) - (prec - 1);	/* ax ~ mant * 10^exp10 */
		back = strtod(buf, NULL);
		if (back == ax)
			break;
		if (prec < 17)
		{
			uint64		alt = back < ax ? mant + 1 : mant - 1;

			snprintf(buf, sizeof(buf), UINT64_FORMAT "e%d", alt, exp10);
			if (strtod(buf, NULL) == ax)
			{
				mant = alt;
				break;
			}
		}
	}

	/* mant has n digits; drop its trailing zeros */
	snprintf(buf, sizeof(buf), UINT64_FORMAT, mant);
	n = strlen(buf);
	*point = n + exp10;
	while (n > 1 && buf[n - 1] == '0')
		n--;
	memcpy(digits, buf, n);
	*ndigits = n;
}

/*
 * A float64 as Go's encoder writes it, from its shortest digits (no
 * trailing zeros) and point, |f| = 0.digits * 10^point: plain when
 * 1e-6 <= |f| < 1e21, else exponent form with e-07 cleaned to e-7.  On
 * shortest digits the point alone decides: a shortest decimal lies on the
 * same side of 1e-6 and of 1e21 as the double it stands for.
 */
void
gofloat_append_decimal(StringInfo out, bool negative, const char *digits, int ndig, int point)
{
	if (negative)
		appendStringInfoCharMacro(out, '-');
	if (point <= -6 || point >= 22)
	{
		int			exp10 = point - 1;

		appendStringInfoCharMacro(out, digits[0]);
		if (ndig > 1)
		{
			appendStringInfoCharMacro(out, '.');
			appendBinaryStringInfo(out, digits + 1, ndig - 1);
		}
		/* strconv writes two exponent digits at least; Go's encoder drops the 0 of e-0X */
		if (exp10 < 0)
			appendStringInfo(out, "e-%d", -exp10);
		else
			appendStringInfo(out, "e+%02d", exp10);
	}
	else if (point <= 0)
	{
		appendStringInfoString(out, "0.");
		for (int z = 0; z < -point; z++)
			appendStringInfoCharMacro(out, '0');
		appendBinaryStringInfo(out, digits, ndig);
	}
	else if (point >= ndig)
	{
		appendBinaryStringInfo(out, digits, ndig);
		for (int z = ndig; z < point; z++)
			appendStringInfoCharMacro(out, '0');
	}
	else
	{
		appendBinaryStringInfo(out, digits, point);
		appendStringInfoCharMacro(out, '.');
		appendBinaryStringInfo(out, digits + point, ndig - point);
	}
}

/* any finite float64 as Go's encoder writes it */
void
gofloat_append(StringInfo out, double f)
{
	char		digits[24];
	int			ndig,
				point;

	if (f == 0)
	{
		appendStringInfoString(out, signbit(f) ? "-0" : "0");
		return;
	}
	if (fabs(f) < 9007199254740992.0 && f == floor(f))
	{
		/* an integer below 2^53: its own digits are the shortest */
		appendStringInfo(out, INT64_FORMAT, (int64) f);
		return;
	}
	shortest_digits(fabs(f), digits, &ndig, &point);
	gofloat_append_decimal(out, f < 0, digits, ndig, point);
}

/*
 * The significant digits (no leading or trailing zeros) and point of a
 * JSON number token, if it has at most 15 of them and lies well inside the
 * normal range of float64.  Then they are the number's shortest digits as
 * well: every decimal of at most 15 significant digits (DBL_DIG) reads back
 * from its float64, so no other decimal that short reads as the same
 * float64.  Returns false for the other numbers.
 */
bool
gofloat_token_digits(const unsigned char *s, int len, char *digits, int *ndigits, int *point)
{
	int			i = 0,
				n = 0,
				pt = 0;
	int			exp10 = 0;
	bool		expneg = false;

	if (s[i] == '-')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
	{
		if (n == 0 && s[i] == '0')
			continue;
		if (n >= 40)
			return false;
		digits[n++] = s[i];
		pt++;
	}
	if (i < len && s[i] == '.')
	{
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		{
			if (n == 0 && s[i] == '0')
			{
				pt--;
				continue;
			}
			if (n >= 40)
				return false;
			digits[n++] = s[i];
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (s[i] == '+' || s[i] == '-')
			expneg = (s[i++] == '-');
		for (; i < len; i++)
		{
			if (exp10 > 10000)
				return false;
			exp10 = exp10 * 10 + (s[i] - '0');
		}
	}
	while (n > 0 && digits[n - 1] == '0')
		n--;
	if (n == 0 || n > 15)
		return false;
	pt += expneg ? -exp10 : exp10;
	if (pt < -300 || pt > 300)
		return false;
	*ndigits = n;
	*point = pt;
	return true;
}
