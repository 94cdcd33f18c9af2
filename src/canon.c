/*-------------------------------------------------------------------------
 *
 * canon.c
 *	  The canonical string MIG's investigators sign (syntax version 2):
 *
 *	  name=<name>;target=<target>;validfrom=<V>;expireafter=%!s(int64=<E>);operations=<OPS>;
 *
 *	  byte for byte what MIG's Go clients compute: the action is decoded
 *	  with Go's encoding/json into MIG's structs, and the operations are
 *	  re-encoded with json.Marshal.  So this file is a small JSON reader and
 *	  writer that follows Go's rules rather than JSON's:
 *
 *	  - strings are decoded as Go decodes them: invalid UTF-8 and unpaired
 *		surrogate escapes become U+FFFD;
 *	  - struct fields (name, target, validfrom, expireafter, operations,
 *		module, parameters, is_compressed, want_compressed) are matched
 *		case-insensitively, as Go matches them, U+017F and U+212A included;
 *	  - parameters are interface{}: objects become maps (keys sorted
 *		bytewise, duplicates: the last wins), every number a float64 printed
 *		shortest-round-trip, in exponent form below 1e-6 and from 1e21 on;
 *	  - strings are encoded with HTML escaping: <, >, &, U+2028, U+2029 and
 *		control characters as \u escapes with lowercase hex, \n \r \t \" \\
 *		as such;
 *	  - validfrom/expireafter are parsed from the raw JSON token as RFC 3339
 *		(json.c) and printed as whole Unix seconds.
 *
 *	  mig is stricter than Go in a few places, on purpose: a field of the
 *	  action or of an operation given twice, a missing or null name, target,
 *	  validfrom, expireafter, operations or module, and a null operation are
 *	  errors rather than silently empty values, because two readers
 *	  disagreeing about what was signed is what an attacker wants.
 *
 *	  Not here: verifying signatures over the string (pgp.c) and reading the
 *	  spool's JSON (spool.c, with jansson).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "mig.h"

/* Go's encoding/json gives up beyond this nesting depth */
#define GO_MAX_DEPTH 10000

typedef struct Canon
{
	const char *start;			/* the JSON text */
	const char *p;				/* where we are */
	const char *end;
	const char *what;			/* "action" or "operations", for messages */
	int			depth;
	StringInfoData scratch;		/* decoded object keys */
} Canon;

static void canon_value(Canon *c, StringInfo out, const char *path);

static void
canon_init(Canon *c, const char *json, int len, const char *what)
{
	c->start = c->p = json;
	c->end = json + len;
	c->what = what;
	c->depth = 0;
	initStringInfo(&c->scratch);
}

pg_attribute_noreturn()
static void
syntax_error(Canon *c)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type json"),
			 errdetail("The %s is not valid JSON at byte %d.",
					   c->what, (int) (c->p - c->start) + 1)));
}

static inline void
skip_ws(Canon *c)
{
	while (c->p < c->end &&
		   (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static inline char
peek(Canon *c)
{
	skip_ws(c);
	return c->p < c->end ? *c->p : '\0';
}

static void
expect(Canon *c, char ch)
{
	if (peek(c) != ch)
		syntax_error(c);
	c->p++;
}

static void
expect_word(Canon *c, const char *word)
{
	size_t		len = strlen(word);

	if ((size_t) (c->end - c->p) < len || memcmp(c->p, word, len) != 0)
		syntax_error(c);
	c->p += len;
}

/*
 * Length of the valid UTF-8 sequence at s (as Go's utf8.DecodeRune accepts
 * it: shortest form, no surrogates, at most U+10FFFF), or 0 if invalid.
 */
static int
utf8_valid_len(const unsigned char *s, const unsigned char *end)
{
	unsigned char b = s[0];
	int			len;
	uint32		cp;

	if (b < 0x80)
		return 1;
	else if (b >= 0xC2 && b <= 0xDF)
		len = 2, cp = b & 0x1F;
	else if (b >= 0xE0 && b <= 0xEF)
		len = 3, cp = b & 0x0F;
	else if (b >= 0xF0 && b <= 0xF4)
		len = 4, cp = b & 0x07;
	else
		return 0;
	if (end - s < len)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

static void
append_utf8(StringInfo buf, pg_wchar cp)
{
	unsigned char tmp[4];

	unicode_to_utf8(cp, tmp);
	appendBinaryStringInfo(buf, (char *) tmp, pg_utf_mblen(tmp));
}

static int
hex4(Canon *c, const char *s)
{
	int			v = 0;

	if (c->end - s < 4)
		syntax_error(c);
	for (int i = 0; i < 4; i++)
	{
		char		h = s[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			v |= h - 'A' + 10;
		else
			syntax_error(c);
	}
	return v;
}

/*
 * A JSON string at c->p, decoded into dec as Go decodes it (dec may be
 * NULL to only skip it).  *raw and *rawlen get the bytes between the quotes.
 */
static void
read_string(Canon *c, StringInfo dec, const char **raw, int *rawlen)
{
	const unsigned char *s;
	const unsigned char *end = (const unsigned char *) c->end;

	expect(c, '"');
	s = (const unsigned char *) c->p;
	if (raw)
		*raw = c->p;
	for (;;)
	{
		const unsigned char *run = s;

		/* copy a run of plain ASCII at once */
		while (s < end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		if (dec && s > run)
			appendBinaryStringInfo(dec, (const char *) run, s - run);
		if (s >= end)
		{
			c->p = (const char *) s;
			syntax_error(c);
		}
		if (*s == '"')
			break;
		if (*s < 0x20)
		{
			c->p = (const char *) s;
			syntax_error(c);
		}
		if (*s == '\\')
		{
			unsigned char e;

			if (s + 1 >= end)
			{
				c->p = (const char *) s;
				syntax_error(c);
			}
			e = s[1];
			s += 2;
			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					if (dec)
						appendStringInfoChar(dec, (char) e);
					break;
				case 'b':
					if (dec)
						appendStringInfoChar(dec, '\b');
					break;
				case 'f':
					if (dec)
						appendStringInfoChar(dec, '\f');
					break;
				case 'n':
					if (dec)
						appendStringInfoChar(dec, '\n');
					break;
				case 'r':
					if (dec)
						appendStringInfoChar(dec, '\r');
					break;
				case 't':
					if (dec)
						appendStringInfoChar(dec, '\t');
					break;
				case 'u':
					{
						pg_wchar	cp = hex4(c, (const char *) s);

						s += 4;
						if (cp >= 0xD800 && cp <= 0xDFFF)
						{
							/* a pair only if a low surrogate escape follows */
							pg_wchar	lo = 0;

							if (cp < 0xDC00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u')
								lo = hex4(c, (const char *) s + 2);
							if (lo >= 0xDC00 && lo <= 0xDFFF)
							{
								cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
								s += 6;
							}
							else
								cp = 0xFFFD;
						}
						if (dec)
							append_utf8(dec, cp);
						break;
					}
				default:
					c->p = (const char *) s - 1;
					syntax_error(c);
			}
			continue;
		}
		/* a non-ASCII byte: keep a valid sequence, replace an invalid byte */
		{
			int			len = utf8_valid_len(s, end);

			if (len == 0)
			{
				if (dec)
					appendBinaryStringInfo(dec, "\xEF\xBF\xBD", 3);
				s++;
			}
			else
			{
				if (dec)
					appendBinaryStringInfo(dec, (const char *) s, len);
				s += len;
			}
		}
	}
	if (rawlen)
		*rawlen = (const char *) s - *raw;
	c->p = (const char *) s + 1;
}

/* Go's encodeState.string with escapeHTML, for an already valid string */
static void
write_string(StringInfo out, const char *s, int len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *) s;
	int			i = 0;
	int			start = 0;

	appendStringInfoChar(out, '"');
	while (i < len)
	{
		unsigned char b = u[i];

		if (b < 0x80)
		{
			if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&')
			{
				i++;
				continue;
			}
			appendBinaryStringInfo(out, s + start, i - start);
			switch (b)
			{
				case '"':
				case '\\':
					appendStringInfoChar(out, '\\');
					appendStringInfoChar(out, (char) b);
					break;
				case '\n':
					appendStringInfoString(out, "\\n");
					break;
				case '\r':
					appendStringInfoString(out, "\\r");
					break;
				case '\t':
					appendStringInfoString(out, "\\t");
					break;
				default:
					appendStringInfoString(out, "\\u00");
					appendStringInfoChar(out, hex[b >> 4]);
					appendStringInfoChar(out, hex[b & 0xF]);
			}
			start = ++i;
			continue;
		}
		/* U+2028 and U+2029 are E2 80 A8 / E2 80 A9 */
		if (b == 0xE2 && i + 2 < len && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
		{
			appendBinaryStringInfo(out, s + start, i - start);
			appendStringInfoString(out, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
			i += 3;
			start = i;
			continue;
		}
		i++;
	}
	appendBinaryStringInfo(out, s + start, len - start);
	appendStringInfoChar(out, '"');
}

/*
 * A float64 the way Go's encoding/json prints it: the shortest decimal that
 * reads back as the same double ('f' form, or 'e' form below 1e-6 and from
 * 1e21 on, with a one-digit negative exponent written without its zero).
 */
static void
write_float(StringInfo out, double x)
{
	char		buf[40];
	char		digits[20];
	int			ndigits = 0;
	int			exp10;
	double		ax = fabs(x);

	/* integers below 2^53 print exactly, and shortest, as themselves */
	if (ax < 9007199254740992.0 && x == floor(x))
	{
		snprintf(buf, sizeof(buf), "%.0f", x);
		appendStringInfoString(out, buf);
		return;
	}

	/*
	 * The shortest precision whose correctly rounded value reads back; if the
	 * nearest candidate falls just outside the rounding interval (the narrow
	 * side, at a power of two), its neighbour on the other side of x may be
	 * inside it, and is what Go prints.
	 */
	for (int prec = 1; prec <= 17; prec++)
	{
		char	   *e;
		double		back;

		snprintf(buf, sizeof(buf), "%.*e", prec - 1, ax);
		back = strtod(buf, NULL);
		if (back != ax && prec < 17)
		{
			char		alt[40];
			int			mlen;
			int			i;
			bool		up = back < ax;

			/* step the last mantissa digit toward x's other side */
			strlcpy(alt, buf, sizeof(alt));
			e = strchr(alt, 'e');
			mlen = e - alt;
			i = mlen - 1;
			while (i >= 0)
			{
				if (alt[i] == '.')
				{
					i--;
					continue;
				}
				if (up)
				{
					if (alt[i] < '9')
					{
						alt[i]++;
						break;
					}
					alt[i] = '0';
				}
				else
				{
					if (alt[i] > '0')
					{
						alt[i]--;
						break;
					}
					alt[i] = '9';
				}
				i--;
			}
			if (i >= 0 && alt[0] != '0' && strtod(alt, NULL) == ax)
			{
				strlcpy(buf, alt, sizeof(buf));
				back = ax;
			}
		}
		if (back == ax)
			break;
	}

	/* buf is d[.ddd]e[+-]XX: split into digits and a decimal exponent */
	for (char *q = buf; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			digits[ndigits++] = *q;
	exp10 = atoi(strchr(buf, 'e') + 1);
	while (ndigits > 1 && digits[ndigits - 1] == '0')
		ndigits--;

	if (x < 0)
		appendStringInfoChar(out, '-');
	if (ax < 1e-6 || ax >= 1e21)
	{
		appendStringInfoChar(out, digits[0]);
		if (ndigits > 1)
		{
			appendStringInfoChar(out, '.');
			appendBinaryStringInfo(out, digits + 1, ndigits - 1);
		}
		/*
		 * Go writes at least two exponent digits and then drops the zero of
		 * e-0X; exponents here are >= 21 or <= -7, so that is: no padding.
		 */
		appendStringInfo(out, "e%c%d", exp10 < 0 ? '-' : '+', Abs(exp10));
	}
	else if (exp10 < 0)
	{
		appendStringInfoString(out, "0.");
		for (int i = -1; i > exp10; i--)
			appendStringInfoChar(out, '0');
		appendBinaryStringInfo(out, digits, ndigits);
	}
	else
	{
		for (int i = 0; i < ndigits || i <= exp10; i++)
		{
			if (i == exp10 + 1)
				appendStringInfoChar(out, '.');
			appendStringInfoChar(out, i < ndigits ? digits[i] : '0');
		}
	}
}

static void
read_number(Canon *c, StringInfo out, const char *path)
{
	const char *s = c->p;
	const char *q = s;
	char		small[64];
	char	   *num;
	double		x;

	if (q < c->end && *q == '-')
		q++;
	if (q < c->end && *q == '0')
		q++;
	else if (q < c->end && *q >= '1' && *q <= '9')
		while (q < c->end && isdigit((unsigned char) *q))
			q++;
	else
		syntax_error(c);
	if (q < c->end && *q == '.')
	{
		q++;
		if (q >= c->end || !isdigit((unsigned char) *q))
		{
			c->p = q;
			syntax_error(c);
		}
		while (q < c->end && isdigit((unsigned char) *q))
			q++;
	}
	if (q < c->end && (*q == 'e' || *q == 'E'))
	{
		q++;
		if (q < c->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= c->end || !isdigit((unsigned char) *q))
		{
			c->p = q;
			syntax_error(c);
		}
		while (q < c->end && isdigit((unsigned char) *q))
			q++;
	}
	c->p = q;
	if (out == NULL)
		return;

	if (q - s < (int) sizeof(small))
		num = small;
	else
		num = palloc(q - s + 1);
	memcpy(num, s, q - s);
	num[q - s] = '\0';
	x = strtod(num, NULL);
	if (isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number in %s is out of range for a float64", path),
				 errdetail("MIG reads every number of an operation's parameters as a float64; %s is too large.",
						   num)));
	write_float(out, x);
	if (num != small)
		pfree(num);
}

typedef struct Member
{
	int			keyoff;			/* in c->scratch */
	int			keylen;
	int			valoff;			/* in out */
	int			vallen;
	int			order;
} Member;

static StringInfo sort_scratch;

static int
member_cmp(const void *a, const void *b)
{
	const Member *ma = a;
	const Member *mb = b;
	int			r = memcmp(sort_scratch->data + ma->keyoff, sort_scratch->data + mb->keyoff,
						   Min(ma->keylen, mb->keylen));

	if (r != 0)
		return r;
	if (ma->keylen != mb->keylen)
		return ma->keylen < mb->keylen ? -1 : 1;
	return ma->order - mb->order;
}

/* an object as a Go map[string]interface{}: keys sorted, last one wins */
static void
canon_object(Canon *c, StringInfo out, const char *path)
{
	Member	   *members = NULL;
	int			n = 0;
	int			cap = 0;
	int			start = out ? out->len : 0;
	int			scratch_start = c->scratch.len;

	expect(c, '{');
	if (peek(c) == '}')
	{
		c->p++;
		if (out)
			appendStringInfoString(out, "{}");
		return;
	}
	for (;;)
	{
		Member		m;

		if (peek(c) != '"')
			syntax_error(c);
		m.keyoff = c->scratch.len;
		read_string(c, out ? &c->scratch : NULL, NULL, NULL);
		m.keylen = c->scratch.len - m.keyoff;
		expect(c, ':');
		m.valoff = out ? out->len : 0;
		canon_value(c, out, path);
		if (out)
		{
			m.vallen = out->len - m.valoff;
			m.order = n;
			if (n == cap)
			{
				cap = cap ? cap * 2 : 8;
				members = members ? repalloc(members, sizeof(Member) * cap)
					: palloc(sizeof(Member) * cap);
			}
			members[n++] = m;
		}
		if (peek(c) == ',')
		{
			c->p++;
			continue;
		}
		expect(c, '}');
		break;
	}
	if (out == NULL)
		return;

	/* rewrite the members, sorted, over their unsorted values */
	{
		StringInfoData obj;

		sort_scratch = &c->scratch;
		qsort(members, n, sizeof(Member), member_cmp);
		initStringInfo(&obj);
		appendStringInfoChar(&obj, '{');
		for (int i = 0; i < n; i++)
		{
			Member	   *m = &members[i];

			/* among equal keys the last one given wins */
			if (i + 1 < n && m->keylen == members[i + 1].keylen &&
				memcmp(c->scratch.data + m->keyoff,
					   c->scratch.data + members[i + 1].keyoff, m->keylen) == 0)
				continue;
			if (obj.len > 1)
				appendStringInfoChar(&obj, ',');
			write_string(&obj, c->scratch.data + m->keyoff, m->keylen);
			appendStringInfoChar(&obj, ':');
			appendBinaryStringInfo(&obj, out->data + m->valoff, m->vallen);
		}
		appendStringInfoChar(&obj, '}');
		out->len = start;
		appendBinaryStringInfo(out, obj.data, obj.len);
		pfree(obj.data);
		pfree(members);
	}
	c->scratch.len = scratch_start;
	c->scratch.data[scratch_start] = '\0';
}

/* any JSON value as Go's interface{} re-encodes it; out NULL: just skip */
static void
canon_value(Canon *c, StringInfo out, const char *path)
{
	check_stack_depth();
	switch (peek(c))
	{
		case '{':
			if (++c->depth > GO_MAX_DEPTH)
				goto too_deep;
			canon_object(c, out, path);
			c->depth--;
			break;
		case '[':
			if (++c->depth > GO_MAX_DEPTH)
				goto too_deep;
			c->p++;
			if (out)
				appendStringInfoChar(out, '[');
			if (peek(c) == ']')
				c->p++;
			else
			{
				for (;;)
				{
					canon_value(c, out, path);
					if (peek(c) == ',')
					{
						c->p++;
						if (out)
							appendStringInfoChar(out, ',');
						continue;
					}
					expect(c, ']');
					break;
				}
			}
			if (out)
				appendStringInfoChar(out, ']');
			c->depth--;
			break;
		case '"':
			if (out)
			{
				StringInfoData s;

				initStringInfo(&s);
				read_string(c, &s, NULL, NULL);
				write_string(out, s.data, s.len);
				pfree(s.data);
			}
			else
				read_string(c, NULL, NULL, NULL);
			break;
		case 't':
			expect_word(c, "true");
			if (out)
				appendStringInfoString(out, "true");
			break;
		case 'f':
			expect_word(c, "false");
			if (out)
				appendStringInfoString(out, "false");
			break;
		case 'n':
			expect_word(c, "null");
			if (out)
				appendStringInfoString(out, "null");
			break;
		default:
			read_number(c, out, path);
	}
	return;

too_deep:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is nested too deeply", path),
			 errdetail("Go's encoding/json refuses JSON nested deeper than %d levels.",
					   GO_MAX_DEPTH)));
}

/*
 * Does a JSON key name the struct field `field` (lower-case ASCII) as Go's
 * encoding/json decides it: ASCII letters match either case, and 's' and
 * 'k' also match U+017F (long s) and U+212A (Kelvin sign).
 */
static bool
go_field_match(const char *field, const char *key, int keylen)
{
	const unsigned char *k = (const unsigned char *) key;
	const unsigned char *kend = k + keylen;

	for (const char *f = field; *f; f++)
	{
		if (k >= kend)
			return false;
		if (*k < 0x80)
		{
			if (*k != (unsigned char) *f &&
				!(*f >= 'a' && *f <= 'z' && *k == (unsigned char) (*f - 'a' + 'A')))
				return false;
			k++;
		}
		else if (*f == 's' && kend - k >= 2 && k[0] == 0xC5 && k[1] == 0xBF)
			k += 2;
		else if (*f == 'k' && kend - k >= 3 && k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA)
			k += 3;
		else
			return false;
	}
	return k == kend;
}

/* which of fields[] a key names, or -1 */
static int
match_field(const char *const *fields, int nfields, const char *key, int keylen)
{
	for (int i = 0; i < nfields; i++)
		if (go_field_match(fields[i], key, keylen))
			return i;
	return -1;
}

pg_attribute_noreturn()
static void
field_error(const char *path, const char *problem, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s %s", path, problem),
			 detail ? errdetail("%s", detail) : 0));
}

static void
check_duplicate(bool *seen, int i, const char *path)
{
	if (seen[i])
		field_error(path, "is given more than once",
					"MIG matches field names without regard to case; an action that names a field twice is ambiguous and is refused.");
	seen[i] = true;
}

/* a string field; its value decoded into dec */
static void
string_field(Canon *c, StringInfo dec, const char *path)
{
	if (peek(c) == 'n')
		field_error(path, "must be a string, not null", NULL);
	if (peek(c) != '"')
		field_error(path, "must be a string", NULL);
	read_string(c, dec, NULL, NULL);
}

enum
{
	OP_MODULE, OP_PARAMETERS, OP_IS_COMPRESSED, OP_WANT_COMPRESSED, OP_NFIELDS
};
static const char *const op_fields[] = {
	"module", "parameters", "is_compressed", "want_compressed"
};

/*
 * The operations array.  out (NULL: don't encode) gets Go's encoding of
 * []Operation; modules (NULL: don't collect) the distinct module names.
 */
static void
canon_operations(Canon *c, StringInfo out, List **modules)
{
	int			index = 0;

	if (peek(c) == 'n')
		field_error("operations", "must be an array, not null", NULL);
	if (peek(c) != '[')
		field_error("operations", "must be an array", NULL);
	c->p++;
	if (out)
		appendStringInfoChar(out, '[');
	if (peek(c) == ']')
	{
		c->p++;
		if (out)
			appendStringInfoChar(out, ']');
		return;
	}
	for (;;)
	{
		char	   *path = psprintf("operations[%d]", index);
		bool		seen[OP_NFIELDS] = {false};
		bool		flags[OP_NFIELDS] = {false};
		StringInfoData module;
		StringInfoData params;

		if (peek(c) != '{')
			field_error(path, "must be an object", NULL);
		c->p++;
		initStringInfo(&module);
		initStringInfo(&params);
		if (peek(c) == '}')
			c->p++;
		else
		{
			for (;;)
			{
				int			keyoff = c->scratch.len;
				int			f;
				char	   *fpath;

				if (peek(c) != '"')
					syntax_error(c);
				read_string(c, &c->scratch, NULL, NULL);
				f = match_field(op_fields, OP_NFIELDS, c->scratch.data + keyoff,
								c->scratch.len - keyoff);
				c->scratch.len = keyoff;
				expect(c, ':');
				fpath = f >= 0 ? psprintf("%s.%s", path, op_fields[f]) : path;
				if (f >= 0)
					check_duplicate(seen, f, fpath);
				switch (f)
				{
					case OP_MODULE:
						string_field(c, &module, fpath);
						break;
					case OP_PARAMETERS:
						canon_value(c, out ? &params : NULL, fpath);
						break;
					case OP_IS_COMPRESSED:
					case OP_WANT_COMPRESSED:
						/* a boolean; null leaves it false, as in Go */
						if (peek(c) == 't')
						{
							expect_word(c, "true");
							flags[f] = true;
						}
						else if (peek(c) == 'f')
							expect_word(c, "false");
						else if (peek(c) == 'n')
							expect_word(c, "null");
						else
							field_error(fpath, "must be a boolean", NULL);
						break;
					default:
						canon_value(c, NULL, path);
				}
				if (peek(c) == ',')
				{
					c->p++;
					continue;
				}
				expect(c, '}');
				break;
			}
		}
		if (!seen[OP_MODULE])
			field_error(psprintf("%s.module", path), "is missing", NULL);

		if (out)
		{
			if (index > 0)
				appendStringInfoChar(out, ',');
			appendStringInfoString(out, "{\"module\":");
			write_string(out, module.data, module.len);
			appendStringInfoString(out, ",\"parameters\":");
			if (seen[OP_PARAMETERS])
				appendBinaryStringInfo(out, params.data, params.len);
			else
				appendStringInfoString(out, "null");
			if (flags[OP_IS_COMPRESSED])
				appendStringInfoString(out, ",\"is_compressed\":true");
			if (flags[OP_WANT_COMPRESSED])
				appendStringInfoString(out, ",\"want_compressed\":true");
			appendStringInfoChar(out, '}');
		}
		if (modules)
		{
			ListCell   *lc;
			bool		dup = false;

			if (memchr(module.data, '\0', module.len) != NULL)
				field_error(psprintf("%s.module", path), "contains a NUL character", NULL);
			foreach(lc, *modules)
				if (strcmp(lfirst(lc), module.data) == 0)
					dup = true;
			if (!dup)
				*modules = lappend(*modules, pstrdup(module.data));
		}
		pfree(module.data);
		pfree(params.data);
		index++;

		if (peek(c) == ',')
		{
			c->p++;
			continue;
		}
		expect(c, ']');
		break;
	}
	if (out)
		appendStringInfoChar(out, ']');
}

static void
check_end(Canon *c)
{
	skip_ws(c);
	if (c->p != c->end)
		syntax_error(c);
}

static void
check_encoding(void)
{
	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mig needs a database with UTF8 encoding"),
				 errdetail("MIG's actions are UTF-8; this database's encoding is %s.",
						   GetDatabaseEncodingName())));
}

static char *
assemble(const char *name, int namelen, const char *target, int targetlen,
		 int64 validfrom, int64 expireafter, const char *ops, int opslen)
{
	StringInfoData buf;

	if (memchr(name, '\0', namelen) != NULL || memchr(target, '\0', targetlen) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s contains a NUL character",
						memchr(name, '\0', namelen) != NULL ? "name" : "target"),
				 errdetail("The signed string holds the name and target verbatim, and text cannot hold NUL.")));

	initStringInfo(&buf);
	appendStringInfoString(&buf, "name=");
	appendBinaryStringInfo(&buf, name, namelen);
	appendStringInfoString(&buf, ";target=");
	appendBinaryStringInfo(&buf, target, targetlen);
	appendStringInfo(&buf, ";validfrom=" INT64_FORMAT ";expireafter=%%!s(int64=" INT64_FORMAT
					 ");operations=", validfrom, expireafter);
	appendBinaryStringInfo(&buf, ops, opslen);
	appendStringInfoChar(&buf, ';');
	return buf.data;
}

char *
mig_canonical_string(const char *name, const char *target,
					 int64 validfrom, int64 expireafter,
					 const char *operations, int operations_len)
{
	StringInfoData ops;
	Canon		c;

	check_encoding();
	initStringInfo(&ops);
	canon_init(&c, operations ? operations : "null", operations ? operations_len : 4,
			   "operations");
	if (peek(&c) == 'n')
	{
		/* SQL NULL or JSON null: Go's nil slice */
		expect_word(&c, "null");
		appendStringInfoString(&ops, "null");
	}
	else
		canon_operations(&c, &ops, NULL);
	check_end(&c);
	return assemble(name, strlen(name), target, strlen(target),
					validfrom, expireafter, ops.data, ops.len);
}

List *
mig_operation_modules(const char *operations, int operations_len)
{
	List	   *modules = NIL;
	Canon		c;

	canon_init(&c, operations, operations_len, "operations");
	if (peek(&c) == 'n')
		expect_word(&c, "null");
	else
		canon_operations(&c, NULL, &modules);
	check_end(&c);
	return modules;
}

int64
mig_timestamptz_to_unix(TimestampTz ts)
{
	int64		usec = ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	int64		sec = usec / USECS_PER_SEC;

	/* floor, as Go's Time.Unix() */
	if (usec % USECS_PER_SEC < 0)
		sec--;
	return sec;
}

enum
{
	A_NAME, A_TARGET, A_VALIDFROM, A_EXPIREAFTER, A_OPERATIONS, A_NFIELDS
};
static const char *const action_fields[] = {
	"name", "target", "validfrom", "expireafter", "operations"
};

/*
 * mig_action_string(action json) -> text
 */
PG_FUNCTION_INFO_V1(mig_action_string);
Datum
mig_action_string(PG_FUNCTION_ARGS)
{
	text	   *json = PG_GETARG_TEXT_PP(0);
	Canon		c;
	bool		seen[A_NFIELDS] = {false};
	StringInfoData name;
	StringInfoData target;
	StringInfoData ops;
	int64		times[2] = {0, 0};

	check_encoding();
	canon_init(&c, VARDATA_ANY(json), VARSIZE_ANY_EXHDR(json), "action");
	initStringInfo(&name);
	initStringInfo(&target);
	initStringInfo(&ops);

	if (peek(&c) != '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an action must be a JSON object")));
	c.p++;
	if (peek(&c) == '}')
		c.p++;
	else
	{
		for (;;)
		{
			int			keyoff = c.scratch.len;
			int			f;

			if (peek(&c) != '"')
				syntax_error(&c);
			read_string(&c, &c.scratch, NULL, NULL);
			f = match_field(action_fields, A_NFIELDS, c.scratch.data + keyoff,
							c.scratch.len - keyoff);
			c.scratch.len = keyoff;
			expect(&c, ':');
			if (f >= 0)
				check_duplicate(seen, f, action_fields[f]);
			switch (f)
			{
				case A_NAME:
					string_field(&c, &name, "name");
					break;
				case A_TARGET:
					string_field(&c, &target, "target");
					break;
				case A_VALIDFROM:
				case A_EXPIREAFTER:
					{
						/* Go parses the raw token: escapes are not decoded */
						const char *raw;
						int			rawlen;
						int32		nsec;

						if (peek(&c) != '"')
							field_error(action_fields[f], "must be an RFC 3339 time string", NULL);
						read_string(&c, NULL, &raw, &rawlen);
						if (!mig_parse_rfc3339(raw, rawlen, &times[f - A_VALIDFROM], &nsec))
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
									 errmsg("%s is not an RFC 3339 time: \"%.*s\"",
											action_fields[f], Min(rawlen, 64), raw),
									 errhint("Write it as MIG does, e.g. 2026-01-02T03:04:05.5+01:00 or 2026-01-02T02:04:05Z.")));
						break;
					}
				case A_OPERATIONS:
					canon_operations(&c, &ops, NULL);
					break;
				default:
					canon_value(&c, NULL, "action");
			}
			if (peek(&c) == ',')
			{
				c.p++;
				continue;
			}
			expect(&c, '}');
			break;
		}
	}
	check_end(&c);

	for (int f = 0; f < A_NFIELDS; f++)
		if (!seen[f])
			field_error(action_fields[f], "is missing",
						"A signed MIG action has a name, a target, validfrom, expireafter and operations.");

	PG_RETURN_TEXT_P(cstring_to_text(assemble(name.data, name.len, target.data, target.len,
											  times[0], times[1], ops.data, ops.len)));
}
