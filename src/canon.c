/*-------------------------------------------------------------------------
 *
 * canon.c
 *	  MIG's canonical signed string: the exact bytes an investigator's MIG
 *	  client signs for an action (syntax version 2), computed here so that
 *	  PostgreSQL can check signatures itself.
 *
 *	  MIG's Go code builds it as
 *
 *		fmt.Sprintf("name=%s;target=%s;validfrom=%d;expireafter=%s;operations=%s;",
 *					a.Name, a.Target, a.ValidFrom.UTC().Unix(),
 *					a.ExpireAfter.UTC().Unix(), json.Marshal(a.Operations))
 *
 *	  after encoding/json (Go 1.19) has decoded the action into its structs,
 *	  so this file reproduces both halves of that round trip byte for byte:
 *	  Go's decoder (strings: escapes resolved, lone surrogates and invalid
 *	  UTF-8 become U+FFFD; numbers in an interface{} become float64; objects
 *	  become maps, duplicate keys last-wins; struct fields matched
 *	  case-insensitively with Go's folding; null leaves a string, bool or
 *	  time alone; a second "operations" array decodes into the elements of
 *	  the first) and Go's encoder (map keys sorted bytewise, no whitespace,
 *	  float64 in ES6 style, escapeHTML escaping, omitempty booleans).
 *
 *	  It reads JSON with its own small one-pass reader rather than jansson:
 *	  PostgreSQL's json type keeps the text as written, lone surrogate
 *	  escapes and \u0000 included, and Go gives those a meaning that jansson
 *	  refuses.  The reader writes the canonical form while it reads; only an
 *	  object whose keys are not already sorted and unique is rewritten.
 *
 *	  Objects and arrays are read without recursion (a stack of frames), so
 *	  the 10,000 levels Go accepts need no C stack; deeper is refused, as Go
 *	  refuses it.  Numbers of at most 15 significant digits are printed from
 *	  their own digits; others take a shortest-digits search with printf and
 *	  strtod that breaks ties as Go does (PostgreSQL's Ryu does not).
 *
 *	  Stricter than Go on purpose: name, target, validfrom, expireafter and
 *	  operations must be given (Go would sign zero values: an empty name,
 *	  the year 1, "operations=null"), every operation must name its module,
 *	  and a name or target cannot hold \u0000 (text cannot hold the result).
 *
 *	  mig_action_string(json) and the C API that the OpenPGP and
 *	  authorization code call (mig_canonical_string, mig_operation_modules)
 *	  share the same reader and builder.  The signed bytes are UTF-8: a
 *	  SQL_ASCII database's bytes are taken as they are (invalid UTF-8 becomes
 *	  U+FFFD, as in Go), other encodings are converted.
 *
 *	  Not here: RFC 3339 parsing (json.c), signatures (pgp.c), the ACL
 *	  decision (authorize.c).
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
#include "utils/timestamp.h"

#include "canon.h"
#include "gotime.h"

/* Go's encoding/json refuses documents nested deeper than this */
#define GO_MAX_NESTING_DEPTH 10000

/* integers with at most this many digits are exact float64s: copy them */
#define EXACT_INTEGER_DIGITS 15

/* where a value sits in the action, for error messages */
typedef struct PathStep
{
	const struct PathStep *up;
	const char *key;			/* raw key text (between the quotes), or NULL */
	int			keylen;
	int			index;			/* array index when key is NULL */
} PathStep;

/* one member of an object being written: its decoded key and its output */
typedef struct Member
{
	int			key_off;		/* in CanonReader.keys */
	int			key_len;
	int			out_off;		/* "key":value in the output buffer */
	int			out_len;
	int			seq;			/* order of appearance, for last-wins */
} Member;

/*
 * One operation as Go's decoder leaves it in the []Operation slice.  A
 * second "operations" array decodes into the same elements, so these
 * persist across arrays until an empty array or null replaces the slice.
 */
typedef struct CanonOp
{
	bool		module_set;
	int			module_off;		/* decoded module name, in CanonOps.buf */
	int			module_len;
	int			params_off;		/* canonical parameters, in CanonOps.buf; */
	int			params_len;		/* params_len < 0: nil, printed "null" */
	bool		is_compressed;
	bool		want_compressed;
} CanonOp;

typedef struct CanonOps
{
	bool		is_nil;			/* a nil slice: "null" */
	int			len;			/* elements in the slice */
	int			nbacking;		/* elements ever decoded into (Go's backing array) */
	int			maxops;
	CanonOp    *ops;
	StringInfoData buf;
} CanonOps;

/* an object or array being read by canon_value */
typedef struct Frame
{
	bool		is_object;
	bool		ordered;		/* object: keys so far sorted and unique */
	int			count;			/* members or elements so far */
	int			out_start;		/* where its '{' is in the output */
	int			members_base;	/* its members on CanonReader.members */
	int			keys_base;		/* its keys in CanonReader.keys */
	const char *key;			/* the current member's raw key, for messages */
	int			keylen;
	int			key_off;		/* the current member's decoded key */
	int			member_off;		/* where the current member starts in the output */
} Frame;

typedef struct CanonReader
{
	const unsigned char *start;
	const unsigned char *p;
	const unsigned char *end;
	const char *docname;		/* "action" or "operations", for messages */
	StringInfoData keys;		/* decoded keys of the objects being read */
	Member	   *members;		/* a stack, one frame per open object */
	int			nmembers;
	int			maxmembers;
	StringInfoData scratch;		/* for rewriting an unsorted object */
	Frame	   *frames;			/* the open objects and arrays */
	int			nframes;
	int			maxframes;
} CanonReader;

/* the fields of an action that are signed */
typedef struct CanonAction
{
	bool		name_set;
	bool		name_null;
	bool		name_nul;
	StringInfoData name;
	bool		target_set;
	bool		target_null;
	bool		target_nul;
	StringInfoData target;
	bool		validfrom_set;
	bool		validfrom_null;
	int64		validfrom;
	bool		expireafter_set;
	bool		expireafter_null;
	int64		expireafter;
	bool		operations_seen;
	CanonOps	ops;
} CanonAction;

/*
 * Bytes that go through unchanged: in Go's output (htmlSafeSet: printable
 * ASCII and DEL, except " \ < > &), and in a decoded string (everything
 * printable but " and \).
 */
static bool html_safe[256];
static bool decode_plain[256];
static bool tables_ready = false;

static const char hexdigits[] = "0123456789abcdef";

static void canon_value(CanonReader *r, StringInfo out, int depth, const PathStep *path);

static void
init_tables(void)
{
	for (int c = 0; c < 256; c++)
	{
		decode_plain[c] = (c >= 0x20 && c < 0x80 && c != '"' && c != '\\');
		html_safe[c] = decode_plain[c] && c != '<' && c != '>' && c != '&';
	}
	tables_ready = true;
}

/* ---------------------------------------------------------------------
 * Error reporting
 * ---------------------------------------------------------------------
 */

/* one step of a path: ".key", "[\"odd key\"]" or "[3]" */
static void
append_step(StringInfo buf, const char *key, int keylen, int index)
{
	bool		simple = keylen > 0;

	if (key == NULL)
	{
		appendStringInfo(buf, "[%d]", index);
		return;
	}
	for (int i = 0; i < keylen; i++)
	{
		char		c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			simple = false;
	}
	if (simple)
	{
		if (buf->len > 0)
			appendStringInfoChar(buf, '.');
		appendBinaryStringInfo(buf, key, keylen);
	}
	else
	{
		appendStringInfoString(buf, "[\"");
		appendBinaryStringInfo(buf, key, Min(keylen, 64));
		appendStringInfoString(buf, "\"]");
	}
}

/* "operations[2].parameters.a" */
static void
append_path(StringInfo buf, const PathStep *path)
{
	if (path == NULL)
		return;
	append_path(buf, path->up);
	append_step(buf, path->key, path->keylen, path->index);
}

static char *
path_string(const PathStep *path)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_path(&buf, path);
	return buf.data;
}

static const char *
json_kind(unsigned char c)
{
	switch (c)
	{
		case '{':
			return "an object";
		case '[':
			return "an array";
		case '"':
			return "a string";
		case 't':
		case 'f':
			return "a boolean";
		case 'n':
			return "null";
		default:
			return "a number";
	}
}

static void pg_attribute_noreturn()
syntax_error(CanonReader *r, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type json"),
			 errdetail("%s at byte %d of the %s.", what,
					   (int) (r->p - r->start), r->docname)));
}

/* a value of the wrong JSON type for its Go field */
static void pg_attribute_noreturn()
type_error(const PathStep *path, unsigned char first, const char *wanted)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s is %s, not %s",
					path_string(path), json_kind(first), wanted)));
}

static void pg_attribute_noreturn()
missing_error(const char *field, bool was_null)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s is %s", field,
					was_null ? "null" : "missing"),
			 errdetail("The signed string is made of name, target, validfrom, "
					   "expireafter and operations; each must be present.")));
}

static void
check_depth(int depth)
{
	check_stack_depth();
	if (depth > GO_MAX_NESTING_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MIG action: JSON nested deeper than %d levels",
						GO_MAX_NESTING_DEPTH),
				 errdetail("MIG's Go code (encoding/json) refuses such a document.")));
}

/* ---------------------------------------------------------------------
 * Lexing
 * ---------------------------------------------------------------------
 */

static inline void
skip_ws(CanonReader *r)
{
	while (r->p < r->end &&
		   (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* the next significant byte, or a syntax error at the end of the input */
static inline unsigned char
peek(CanonReader *r)
{
	skip_ws(r);
	if (r->p >= r->end)
		syntax_error(r, "Unexpected end of input");
	return *r->p;
}

static inline void
expect(CanonReader *r, unsigned char c, const char *what)
{
	if (peek(r) != c)
		syntax_error(r, what);
	r->p++;
}

/*
 * Length of the valid UTF-8 sequence at p (before end), or 0 if the bytes
 * there are not valid UTF-8.  The same acceptance as Go's utf8.DecodeRune:
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static inline int
utf8_valid_length(const unsigned char *p, const unsigned char *end, int32 *cp)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			n;
	int32		v;

	if (c >= 0xC2 && c <= 0xDF)
	{
		n = 2;
		v = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	}
	else
		return 0;

	if (end - p < n || p[1] < lo || p[1] > hi)
		return 0;
	v = (v << 6) | (p[1] & 0x3F);
	for (int i = 2; i < n; i++)
	{
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	*cp = v;
	return n;
}

static inline void
append_utf8(StringInfo out, int32 cp)
{
	unsigned char buf[4];

	unicode_to_utf8((pg_wchar) cp, buf);
	appendBinaryStringInfo(out, (char *) buf, pg_utf_mblen(buf));
}

/* a code point as Go's encoder writes it inside a string (escapeHTML on) */
static inline void
append_escaped_codepoint(StringInfo out, int32 cp)
{
	if (cp < 0x80)
	{
		if (html_safe[cp])
		{
			appendStringInfoCharMacro(out, (char) cp);
			return;
		}
		appendStringInfoCharMacro(out, '\\');
		switch (cp)
		{
			case '\\':
			case '"':
				appendStringInfoCharMacro(out, (char) cp);
				break;
			case '\n':
				appendStringInfoCharMacro(out, 'n');
				break;
			case '\r':
				appendStringInfoCharMacro(out, 'r');
				break;
			case '\t':
				appendStringInfoCharMacro(out, 't');
				break;
			default:
				appendStringInfoString(out, "u00");
				appendStringInfoCharMacro(out, hexdigits[cp >> 4]);
				appendStringInfoCharMacro(out, hexdigits[cp & 0xF]);
				break;
		}
	}
	else if (cp == 0x2028 || cp == 0x2029)
		appendStringInfoString(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
	else
		append_utf8(out, cp);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* the four hex digits of a \u escape at p (pointing at the backslash), or -1 */
static int32
read_u4(const unsigned char *p, const unsigned char *end)
{
	int32		v = 0;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++)
	{
		int			h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = (v << 4) | h;
	}
	return v;
}

/*
 * The escape at r->p (a backslash), as Go's unquote resolves it: a valid
 * surrogate pair is one character, any other surrogate is U+FFFD.
 */
static int32
read_escape(CanonReader *r)
{
	const unsigned char *p = r->p;
	int32		cp;

	if (p + 1 >= r->end)
		syntax_error(r, "Unexpected end of input in a string");
	switch (p[1])
	{
		case '"':
		case '\\':
		case '/':
			r->p += 2;
			return p[1];
		case 'b':
			r->p += 2;
			return '\b';
		case 'f':
			r->p += 2;
			return '\f';
		case 'n':
			r->p += 2;
			return '\n';
		case 'r':
			r->p += 2;
			return '\r';
		case 't':
			r->p += 2;
			return '\t';
		case 'u':
			cp = read_u4(p, r->end);
			if (cp < 0)
				syntax_error(r, "Invalid \\u escape");
			r->p += 6;
			if (cp >= 0xD800 && cp <= 0xDFFF)
			{
				int32		lo = read_u4(r->p, r->end);

				if (cp <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF)
				{
					r->p += 6;
					return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				return 0xFFFD;
			}
			return cp;
		default:
			syntax_error(r, "Invalid escape in a string");
	}
}

/*
 * A string at r->p (its opening quote).  With escape, writes it as Go's
 * encoder would, quotes included; without, writes the decoded bytes (the Go
 * string) and sets *has_nul when they include a NUL.  out may be NULL to
 * only check the string.
 */
static void
read_string(CanonReader *r, StringInfo out, bool escape, bool *has_nul)
{
	const bool *plain = escape ? html_safe : decode_plain;

	r->p++;
	if (out && escape)
		appendStringInfoCharMacro(out, '"');
	for (;;)
	{
		const unsigned char *run = r->p;
		unsigned char c;

		while (r->p < r->end && plain[*r->p])
			r->p++;
		if (out && r->p > run)
			appendBinaryStringInfo(out, (const char *) run, r->p - run);
		if (r->p >= r->end)
			syntax_error(r, "Unterminated string");
		c = *r->p;
		if (c == '"')
		{
			r->p++;
			break;
		}
		else if (c == '\\')
		{
			int32		cp = read_escape(r);

			if (out == NULL)
				continue;
			if (escape)
				append_escaped_codepoint(out, cp);
			else
			{
				if (cp == 0 && has_nul)
					*has_nul = true;
				append_utf8(out, cp);
			}
		}
		else if (c < 0x20)
			syntax_error(r, "Unescaped control character in a string");
		else if (c < 0x80)
		{
			/* < > & when escaping */
			if (out)
				append_escaped_codepoint(out, c);
			r->p++;
		}
		else
		{
			int32		cp = 0;
			int			n = utf8_valid_length(r->p, r->end, &cp);

			if (n == 0)
			{
				/* Go's decoder: each invalid byte becomes U+FFFD */
				if (out)
					appendBinaryStringInfo(out, "\xEF\xBF\xBD", 3);
				r->p++;
			}
			else
			{
				if (out)
				{
					if (escape && (cp == 0x2028 || cp == 0x2029))
						append_escaped_codepoint(out, cp);
					else
						appendBinaryStringInfo(out, (const char *) r->p, n);
				}
				r->p += n;
			}
		}
	}
	if (out && escape)
		appendStringInfoCharMacro(out, '"');
}

/* decoded (valid UTF-8) bytes written as a Go string, quotes included */
static void
append_go_string(StringInfo out, const char *s, int len)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;

	appendStringInfoCharMacro(out, '"');
	while (p < end)
	{
		const unsigned char *run = p;

		while (p < end && html_safe[*p])
			p++;
		if (p > run)
			appendBinaryStringInfo(out, (const char *) run, p - run);
		if (p >= end)
			break;
		if (*p < 0x80)
			append_escaped_codepoint(out, *p++);
		else if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
				 (p[2] == 0xA8 || p[2] == 0xA9))
		{
			append_escaped_codepoint(out, p[2] == 0xA8 ? 0x2028 : 0x2029);
			p += 3;
		}
		else
			appendStringInfoCharMacro(out, (char) *p++);
	}
	appendStringInfoCharMacro(out, '"');
}

static void
read_literal(CanonReader *r, const char *word, int len)
{
	if (r->end - r->p < len || memcmp(r->p, word, len) != 0)
		syntax_error(r, "Invalid token");
	r->p += len;
}

/*
 * A number at r->p, checked against JSON's grammar.  Returns its length and
 * whether it is a plain integer (no fraction, no exponent).
 */
static int
lex_number(CanonReader *r, bool *integer, int *ndigits)
{
	const unsigned char *p = r->p;
	const unsigned char *digits;

	*integer = true;
	if (p < r->end && *p == '-')
		p++;
	digits = p;
	if (p < r->end && *p == '0')
		p++;
	else if (p < r->end && *p >= '1' && *p <= '9')
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	else
		syntax_error(r, "Invalid token");
	*ndigits = p - digits;
	if (p < r->end && *p == '.')
	{
		*integer = false;
		p++;
		if (p >= r->end || *p < '0' || *p > '9')
		{
			r->p = p;
			syntax_error(r, "Invalid number");
		}
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E'))
	{
		*integer = false;
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
		{
			r->p = p;
			syntax_error(r, "Invalid number");
		}
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	return p - r->p;
}

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
	int			n = 0;

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
		n = prec;
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
				n = snprintf(buf, sizeof(buf), UINT64_FORMAT, alt);
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
static void
append_go_decimal(StringInfo out, bool negative, const char *digits, int ndig, int point)
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
static void
append_go_float(StringInfo out, double f)
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
	append_go_decimal(out, f < 0, digits, ndig, point);
}

/*
 * The significant digits (no leading or trailing zeros) and point of a
 * JSON number token, if it has at most 15 of them and lies well inside the
 * normal range of float64.  Then they are the number's shortest digits as
 * well: every decimal of at most 15 significant digits (DBL_DIG) reads back
 * from its float64, so no other decimal that short reads as the same
 * float64.  Returns false for the other numbers.
 */
static bool
token_digits(const unsigned char *s, int len, char *digits, int *ndigits, int *point)
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

/*
 * A number token: a float64 in an interface{}, as Go decodes and encodes
 * it.  Returns false, leaving r->p at the token, when the number is beyond
 * float64's range (Go's ParseFloat fails on overflow, not on underflow).
 */
static bool
canon_number(CanonReader *r, StringInfo out)
{
	bool		integer;
	int			ndigits;
	int			len = lex_number(r, &integer, &ndigits);
	char		digits[48];
	int			point;
	char		small[64];
	char	   *copy;
	double		f;

	if (out == NULL)
	{
		r->p += len;
		return true;
	}
	if (integer && ndigits <= EXACT_INTEGER_DIGITS)
	{
		/* exact in a float64, and Go prints it as written ("-0" included) */
		appendBinaryStringInfo(out, (const char *) r->p, len);
		r->p += len;
		return true;
	}
	if (token_digits(r->p, len, digits, &ndigits, &point))
	{
		append_go_decimal(out, r->p[0] == '-', digits, ndigits, point);
		r->p += len;
		return true;
	}

	copy = len < (int) sizeof(small) ? small : palloc(len + 1);
	memcpy(copy, r->p, len);
	copy[len] = '\0';
	f = strtod(copy, NULL);
	if (copy != small)
		pfree(copy);
	if (isinf(f))
		return false;
	r->p += len;
	append_go_float(out, f);
	return true;
}

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

static int
member_cmp(const void *a, const void *b, void *arg)
{
	const Member *ma = (const Member *) a;
	const Member *mb = (const Member *) b;
	const char *keys = (const char *) arg;
	int			c = memcmp(keys + ma->key_off, keys + mb->key_off,
						   Min(ma->key_len, mb->key_len));

	if (c != 0)
		return c;
	if (ma->key_len != mb->key_len)
		return ma->key_len < mb->key_len ? -1 : 1;
	return ma->seq < mb->seq ? -1 : (ma->seq > mb->seq);
}

/* "operations[0].parameters" followed by the open containers from base on */
static char *
value_path_string(CanonReader *r, const PathStep *path, int base)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_path(&buf, path);
	for (int i = base; i < r->nframes; i++)
	{
		Frame	   *f = &r->frames[i];
		if (f->is_object)
			append_step(&buf, f->key, f->keylen, 0);
		else
			append_step(&buf, NULL, 0, f->count);
	}
	return buf.data;
}

/* the key of the next member of the object in frame f; writes "key": */
static void
start_member(CanonReader *r, StringInfo out, Frame *f)
{
	if (peek(r) != '"')
		syntax_error(r, "Expected a string key");
	f->key = (const char *) r->p + 1;
	if (out == NULL)
		read_string(r, NULL, false, NULL);
	else
	{
		if (f->count > 0)
			appendStringInfoCharMacro(out, ',');
		f->key_off = r->keys.len;
		read_string(r, &r->keys, false, NULL);
		f->member_off = out->len;
		append_go_string(out, r->keys.data + f->key_off, r->keys.len - f->key_off);
		appendStringInfoCharMacro(out, ':');
	}
	f->keylen = (const char *) r->p - 1 - f->key;
	expect(r, ':', "Expected \":\"");
}

/* the value of the current member of frame f has been written */
static void
end_member(CanonReader *r, StringInfo out, Frame *f)
{
	Member		m;

	m.key_off = f->key_off;
	m.key_len = r->keys.len - f->key_off;
	m.out_off = f->member_off;
	m.out_len = out->len - f->member_off;
	m.seq = f->count;
	if (f->ordered && f->count > 0)
	{
		Member	   *prev = &r->members[r->nmembers - 1];
		int			c = memcmp(r->keys.data + prev->key_off, r->keys.data + m.key_off,
							   Min(prev->key_len, m.key_len));

		if (c > 0 || (c == 0 && prev->key_len >= m.key_len))
			f->ordered = false;
	}
	if (r->nmembers >= r->maxmembers)
	{
		r->maxmembers *= 2;
		r->members = repalloc(r->members, r->maxmembers * sizeof(Member));
	}
	r->members[r->nmembers++] = m;
}

/*
 * The object of frame f is complete: a Go map is written with its keys
 * sorted and a repeated key's last value.  Members were written as they
 * came; if they did not come sorted and unique, rewrite them in place.
 */
static void
end_object(CanonReader *r, StringInfo out, Frame *f)
{
	Member	   *ms = r->members + f->members_base;
	int			n = r->nmembers - f->members_base;

	if (!f->ordered)
	{
		int			body = f->out_start + 1;
		bool		first = true;

		resetStringInfo(&r->scratch);
		appendBinaryStringInfo(&r->scratch, out->data + body, out->len - body);
		qsort_arg(ms, n, sizeof(Member), member_cmp, r->keys.data);
		out->len = body;
		for (int i = 0; i < n; i++)
		{
			/* of equal keys, the last one given wins */
			if (i + 1 < n && ms[i].key_len == ms[i + 1].key_len &&
				memcmp(r->keys.data + ms[i].key_off, r->keys.data + ms[i + 1].key_off,
					   ms[i].key_len) == 0)
				continue;
			if (!first)
				appendStringInfoCharMacro(out, ',');
			appendBinaryStringInfo(out, r->scratch.data + (ms[i].out_off - body),
								   ms[i].out_len);
			first = false;
		}
	}
	appendStringInfoCharMacro(out, '}');
	r->nmembers = f->members_base;
	r->keys.len = f->keys_base;
	r->keys.data[f->keys_base] = '\0';
}

/*
 * An object or array starts at r->p ('{' or '['): push its frame and write
 * its opening byte; depth is its own nesting depth.  Returns true when its
 * first member or element follows (an object's key is read), false when it
 * was empty and is already complete.
 */
static bool
open_container(CanonReader *r, StringInfo out, unsigned char c, int depth)
{
	Frame	   *f;

	if (r->nframes >= r->maxframes)
	{
		r->maxframes *= 2;
		r->frames = repalloc(r->frames, r->maxframes * sizeof(Frame));
	}
	check_depth(depth);
	f = &r->frames[r->nframes++];
	f->is_object = (c == '{');
	f->count = 0;
	f->key = NULL;
	f->keylen = 0;
	f->ordered = true;
	f->members_base = r->nmembers;
	f->keys_base = r->keys.len;
	f->out_start = out ? out->len : 0;
	r->p++;
	if (out)
		appendStringInfoCharMacro(out, (char) c);
	if (peek(r) != (f->is_object ? '}' : ']'))
	{
		if (f->is_object)
			start_member(r, out, f);
		return true;
	}
	/* empty: a complete value at once */
	r->p++;
	if (out)
		appendStringInfoCharMacro(out, f->is_object ? '}' : ']');
	r->nframes--;
	return false;
}

/* a number beyond float64's range, at r->p */
static void pg_attribute_noreturn()
number_range_error(CanonReader *r, const PathStep *path, int base)
{
	bool		integer;
	int			ndigits;
	int			len = lex_number(r, &integer, &ndigits);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s holds a number out of range for float64",
					value_path_string(r, path, base)),
			 errdetail("MIG reads the numbers of parameters as float64; %s%s is beyond its range.",
					   pnstrdup((const char *) r->p, Min(len, 40)),
					   len > 40 ? "..." : "")));
}

/* a string, true, false, null or number starting with c, at r->p */
static void
canon_scalar(CanonReader *r, StringInfo out, unsigned char c,
			 const PathStep *path, int base)
{
	if (c == '"')
		read_string(r, out, true, NULL);
	else if (c == 't')
	{
		read_literal(r, "true", 4);
		if (out)
			appendStringInfoString(out, "true");
	}
	else if (c == 'f')
	{
		read_literal(r, "false", 5);
		if (out)
			appendStringInfoString(out, "false");
	}
	else if (c == 'n')
	{
		read_literal(r, "null", 4);
		if (out)
			appendStringInfoString(out, "null");
	}
	else if (!canon_number(r, out))
		number_range_error(r, path, base);
}

/*
 * A value ended: close the containers above base that it completes.  Stops
 * after a ',' (the next member's key is read) or when no container above
 * base is left open.
 */
static void
close_containers(CanonReader *r, StringInfo out, int base)
{
	while (r->nframes > base)
	{
		Frame	   *f = &r->frames[r->nframes - 1];
		unsigned char c;

		if (f->is_object && out)
			end_member(r, out, f);
		f->count++;
		c = peek(r);
		if (c == ',')
		{
			r->p++;
			if (f->is_object)
				start_member(r, out, f);
			else if (out)
				appendStringInfoCharMacro(out, ',');
			return;
		}
		expect(r, f->is_object ? '}' : ']',
			   f->is_object ? "Expected \",\" or \"}\"" : "Expected \",\" or \"]\"");
		if (out)
		{
			if (f->is_object)
				end_object(r, out, f);
			else
				appendStringInfoCharMacro(out, ']');
		}
		r->nframes--;
	}
}

/*
 * Any JSON value decoded into an interface{} and encoded again by Go,
 * written to out; with out NULL the value is only checked (a field Go
 * skips).  depth is the nesting depth of the enclosing value, path where
 * the value is, for messages.
 *
 * Iterative, with the open objects and arrays on r->frames, so that the
 * 10,000 levels Go accepts need no C stack.
 */
static void
canon_value(CanonReader *r, StringInfo out, int depth, const PathStep *path)
{
	int			base = r->nframes;

	check_stack_depth();
	for (;;)
	{
		/* a value starts here */
		unsigned char c = peek(r);

		if (c == '{' || c == '[')
		{
			if (open_container(r, out, c, depth + (r->nframes - base) + 1))
				continue;
		}
		else
			canon_scalar(r, out, c, path, base);

		/* a value ended */
		close_containers(r, out, base);
		if (r->nframes == base)
			return;
	}
}

/* ---------------------------------------------------------------------
 * MIG's structs
 * ---------------------------------------------------------------------
 */

/*
 * Does a decoded JSON key select the Go field with this (ASCII) JSON name?
 * Exact match or Go's case folding, in which s and k also match U+017F and
 * U+212A (encoding/json's equalFoldRight; for names without s or k it
 * reduces to an ASCII case-insensitive comparison, as Go's faster variants do).
 */
static bool
field_matches(const char *name, const char *key, int keylen)
{
	const unsigned char *t = (const unsigned char *) key;
	const unsigned char *tend = t + keylen;

	for (const unsigned char *s = (const unsigned char *) name; *s; s++)
	{
		if (t >= tend)
			return false;
		if (*t < 0x80)
		{
			if (*s != *t)
			{
				unsigned char su = *s & ~0x20;

				if (su < 'A' || su > 'Z' || su != (*t & ~0x20))
					return false;
			}
			t++;
		}
		else
		{
			int32		cp = 0;
			int			n = utf8_valid_length(t, tend, &cp);
			unsigned char su = *s & ~0x20;

			if (n == 0)
				return false;
			if (!((su == 'S' && cp == 0x017F) || (su == 'K' && cp == 0x212A)))
				return false;
			t += n;
		}
	}
	return t == tend;
}

/* read an object's key into r->keys (reset); returns its length */
static int
read_key(CanonReader *r, PathStep *step)
{
	if (peek(r) != '"')
		syntax_error(r, "Expected a string key");
	resetStringInfo(&r->keys);
	step->key = (const char *) r->p + 1;
	read_string(r, &r->keys, false, NULL);
	step->keylen = (const char *) r->p - 1 - step->key;
	expect(r, ':', "Expected \":\"");
	return r->keys.len;
}

/* after a member: true if another follows */
static bool
next_member(CanonReader *r)
{
	if (peek(r) == ',')
	{
		r->p++;
		return true;
	}
	expect(r, '}', "Expected \",\" or \"}\"");
	return false;
}

/* a Go bool field: true/false set it, null leaves it */
static void
read_bool_field(CanonReader *r, bool *value, const PathStep *path)
{
	unsigned char c = peek(r);

	if (c == 't' || c == 'f')
	{
		*value = (c == 't');
		read_literal(r, c == 't' ? "true" : "false", c == 't' ? 4 : 5);
	}
	else if (c == 'n')
		read_literal(r, "null", 4);
	else
		type_error(path, c, "a boolean");
}

/* one element of operations, decoded into op (merging, as Go does) */
static void
read_operation(CanonReader *r, CanonOps *ops, int idx, int depth, const PathStep *path)
{
	PathStep	step = {path, NULL, 0, 0};

	check_depth(depth);
	r->p++;
	if (peek(r) == '}')
	{
		r->p++;
		return;
	}
	do
	{
		int			keylen = read_key(r, &step);
		const char *key = r->keys.data;
		unsigned char c = peek(r);

		/* offsets, not pointers, into ops->buf: it grows as we read */
		if (field_matches("module", key, keylen))
		{
			if (c == '"')
			{
				CanonOp    *op = &ops->ops[idx];

				op->module_off = ops->buf.len;
				read_string(r, &ops->buf, false, NULL);
				op->module_len = ops->buf.len - op->module_off;
				op->module_set = true;
			}
			else if (c == 'n')
				read_literal(r, "null", 4);
			else
				type_error(&step, c, "a string");
		}
		else if (field_matches("parameters", key, keylen))
		{
			int			off = ops->buf.len;

			canon_value(r, &ops->buf, depth, &step);
			ops->ops[idx].params_off = off;
			ops->ops[idx].params_len = ops->buf.len - off;
		}
		else if (field_matches("is_compressed", key, keylen))
			read_bool_field(r, &ops->ops[idx].is_compressed, &step);
		else if (field_matches("want_compressed", key, keylen))
			read_bool_field(r, &ops->ops[idx].want_compressed, &step);
		else
			canon_value(r, NULL, depth, &step);
	} while (next_member(r));
}

static void
ops_init(CanonOps *ops)
{
	ops->is_nil = true;
	ops->len = 0;
	ops->nbacking = 0;
	ops->maxops = 8;
	ops->ops = palloc(ops->maxops * sizeof(CanonOp));
	initStringInfo(&ops->buf);
}

/*
 * The operations value into a []Operation.  null makes the slice nil, an
 * empty array makes it empty; otherwise element i decodes into whatever
 * element i of an earlier "operations" array left, as Go's decoder does.
 * depth is the depth of the enclosing object.
 */
static void
read_operations(CanonReader *r, CanonOps *ops, int depth, const PathStep *path)
{
	PathStep	step = {path, NULL, 0, 0};
	unsigned char c = peek(r);
	int			i = 0;

	if (c == 'n')
	{
		read_literal(r, "null", 4);
		ops->is_nil = true;
		ops->len = ops->nbacking = 0;
		return;
	}
	if (c != '[')
		type_error(path, c, "an array");
	check_depth(depth + 1);
	r->p++;
	ops->is_nil = false;
	if (peek(r) == ']')
	{
		r->p++;
		ops->len = ops->nbacking = 0;
		return;
	}
	for (;;)
	{
		step.index = i;
		if (i >= ops->nbacking)
		{
			CanonOp    *op;

			if (i >= ops->maxops)
			{
				ops->maxops *= 2;
				ops->ops = repalloc(ops->ops, ops->maxops * sizeof(CanonOp));
			}
			op = &ops->ops[i];
			memset(op, 0, sizeof(CanonOp));
			op->params_len = -1;
			ops->nbacking = i + 1;
		}
		c = peek(r);
		if (c == '{')
			read_operation(r, ops, i, depth + 2, &step);
		else if (c == 'n')
			read_literal(r, "null", 4); /* leaves the element as it is */
		else
			type_error(&step, c, "an object");
		i++;
		if (peek(r) == ',')
		{
			r->p++;
			continue;
		}
		expect(r, ']', "Expected \",\" or \"]\"");
		break;
	}
	ops->len = i;
}

/* every operation must name its module */
static void
check_modules(CanonOps *ops)
{
	for (int i = 0; i < ops->len; i++)
		if (!ops->ops[i].module_set)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid MIG action: operations[%d].module is missing", i),
					 errdetail("Every operation names the agent module that runs it.")));
}

/* a time field: Go parses the raw JSON token with time.Parse(RFC 3339) */
static void
read_time_field(CanonReader *r, int64 *value, bool *set, bool *was_null,
				const PathStep *path)
{
	unsigned char c = peek(r);
	const unsigned char *content;
	int64		secs;
	int32		nsecs;

	if (c == 'n')
	{
		read_literal(r, "null", 4);
		if (!*set)
			*was_null = true;
		return;
	}
	if (c != '"')
	{
		/* checked as a value first, so that bad JSON is a syntax error */
		canon_value(r, NULL, 1, path);
		type_error(path, c, "an RFC 3339 time string");
	}
	content = r->p + 1;
	read_string(r, NULL, false, NULL);
	if (!mig_parse_rfc3339((const char *) content, r->p - 1 - content, &secs, &nsecs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid MIG action: %s is not an RFC 3339 time: \"%s\"",
						path_string(path),
						pnstrdup((const char *) content, Min(r->p - 1 - content, 64))),
				 errhint("MIG writes times like 2026-01-02T03:04:05Z or "
						 "2026-01-02T03:04:05.5+01:00, without JSON escapes.")));
	*value = secs;
	*set = true;
}

/* name or target: a Go string; *has_nul if it holds a NUL */
static void
read_string_field(CanonReader *r, StringInfo value, bool *set, bool *was_null,
				  bool *has_nul, const PathStep *path)
{
	unsigned char c = peek(r);

	if (c == 'n')
	{
		read_literal(r, "null", 4);
		if (!*set)
			*was_null = true;
		return;
	}
	if (c != '"')
		type_error(path, c, "a string");
	resetStringInfo(value);
	*has_nul = false;
	read_string(r, value, false, has_nul);
	*set = true;
}

static void pg_attribute_noreturn()
nul_error(const char *field)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s contains \\u0000", field),
			 errdetail("The signed string would contain a NUL byte, which text cannot hold.")));
}

static void
reader_init(CanonReader *r, const char *text, int len, const char *docname)
{
	if (!tables_ready)
		init_tables();
	r->start = r->p = (const unsigned char *) text;
	r->end = r->start + len;
	r->docname = docname;
	initStringInfo(&r->keys);
	initStringInfo(&r->scratch);
	r->maxmembers = 32;
	r->nmembers = 0;
	r->members = palloc(r->maxmembers * sizeof(Member));
	r->maxframes = 16;
	r->nframes = 0;
	r->frames = palloc(r->maxframes * sizeof(Frame));
}

static void
reader_finish(CanonReader *r)
{
	skip_ws(r);
	if (r->p != r->end)
		syntax_error(r, "Unexpected data after the JSON value");
}

/* an action object: the fields MIG signs, as Go's json.Unmarshal fills them */
static void
read_action(CanonReader *r, CanonAction *a)
{
	PathStep	step = {NULL, NULL, 0, 0};
	unsigned char c = peek(r);

	if (c != '{')
	{
		canon_value(r, NULL, 0, NULL);
		reader_finish(r);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MIG action: the JSON value is %s, not an object",
						json_kind(c))));
	}
	r->p++;
	if (peek(r) == '}')
		r->p++;
	else
	{
		do
		{
			int			keylen = read_key(r, &step);
			const char *key = r->keys.data;

			if (field_matches("name", key, keylen))
				read_string_field(r, &a->name, &a->name_set, &a->name_null,
								  &a->name_nul, &step);
			else if (field_matches("target", key, keylen))
				read_string_field(r, &a->target, &a->target_set, &a->target_null,
								  &a->target_nul, &step);
			else if (field_matches("validfrom", key, keylen))
				read_time_field(r, &a->validfrom, &a->validfrom_set,
								&a->validfrom_null, &step);
			else if (field_matches("expireafter", key, keylen))
				read_time_field(r, &a->expireafter, &a->expireafter_set,
								&a->expireafter_null, &step);
			else if (field_matches("operations", key, keylen))
			{
				a->operations_seen = true;
				read_operations(r, &a->ops, 1, &step);
			}
			else
				canon_value(r, NULL, 1, &step);
		} while (next_member(r));
	}
	reader_finish(r);

	/* stricter than Go, which would sign zero values: see README */
	if (!a->name_set)
		missing_error("name", a->name_null);
	if (!a->target_set)
		missing_error("target", a->target_null);
	if (a->name_nul)
		nul_error("name");
	if (a->target_nul)
		nul_error("target");
	if (!a->validfrom_set)
		missing_error("validfrom", a->validfrom_null);
	if (!a->expireafter_set)
		missing_error("expireafter", a->expireafter_null);
	if (a->ops.is_nil)
		missing_error("operations", a->operations_seen);
	check_modules(&a->ops);
}

/* operations alone (a column of actions): the array, or null */
static void
read_operations_text(CanonReader *r, CanonOps *ops)
{
	PathStep	step = {NULL, "operations", 10, 0};

	read_operations(r, ops, 1, &step);
	reader_finish(r);
	check_modules(ops);
}

/* ---------------------------------------------------------------------
 * The builder
 * ---------------------------------------------------------------------
 */

static void
append_operations(StringInfo out, const CanonOps *ops)
{
	if (ops->is_nil)
	{
		appendStringInfoString(out, "null");
		return;
	}
	appendStringInfoCharMacro(out, '[');
	for (int i = 0; i < ops->len; i++)
	{
		const CanonOp *op = &ops->ops[i];

		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		appendStringInfoString(out, "{\"module\":");
		append_go_string(out, ops->buf.data + op->module_off, op->module_len);
		appendStringInfoString(out, ",\"parameters\":");
		if (op->params_len < 0)
			appendStringInfoString(out, "null");
		else
			appendBinaryStringInfo(out, ops->buf.data + op->params_off, op->params_len);
		if (op->is_compressed)
			appendStringInfoString(out, ",\"is_compressed\":true");
		if (op->want_compressed)
			appendStringInfoString(out, ",\"want_compressed\":true");
		appendStringInfoCharMacro(out, '}');
	}
	appendStringInfoCharMacro(out, ']');
}

/* the one place the string is put together */
static char *
build_string(const char *name, int name_len, const char *target, int target_len,
			 int64 validfrom, int64 expireafter, const CanonOps *ops)
{
	StringInfoData out;

	initStringInfo(&out);
	enlargeStringInfo(&out, name_len + target_len + ops->buf.len + 128);
	appendStringInfoString(&out, "name=");
	appendBinaryStringInfo(&out, name, name_len);
	appendStringInfoString(&out, ";target=");
	appendBinaryStringInfo(&out, target, target_len);
	/* Go's %s of an int64 is "%!s(int64=...)": MIG signs it so */
	appendStringInfo(&out, ";validfrom=" INT64_FORMAT
					 ";expireafter=%%!s(int64=" INT64_FORMAT ");operations=",
					 validfrom, expireafter);
	append_operations(&out, ops);
	appendStringInfoCharMacro(&out, ';');
	return out.data;
}

/* server-encoded text as UTF-8; the signed bytes are UTF-8 */
static inline bool
needs_conversion(void)
{
	int			enc = GetDatabaseEncoding();

	return enc != PG_UTF8 && enc != PG_SQL_ASCII;
}

static const char *
to_utf8(const char *s, int *len)
{
	char	   *u;

	if (!needs_conversion())
		return s;
	u = pg_server_to_any(s, *len, PG_UTF8);
	if (u != s)
		*len = strlen(u);
	return u;
}

/* ---------------------------------------------------------------------
 * The C API (mig.h)
 * ---------------------------------------------------------------------
 */

char *
mig_canonical_string(const char *name, const char *target,
					 int64 validfrom, int64 expireafter,
					 const char *operations, int operations_len)
{
	CanonOps	ops;
	int			name_len = strlen(name);
	int			target_len = strlen(target);

	ops_init(&ops);
	if (operations != NULL)
	{
		CanonReader r;

		operations = to_utf8(operations, &operations_len);
		reader_init(&r, operations, operations_len, "operations");
		read_operations_text(&r, &ops);
	}
	name = to_utf8(name, &name_len);
	target = to_utf8(target, &target_len);
	return build_string(name, name_len, target, target_len,
						validfrom, expireafter, &ops);
}

List *
mig_operation_modules(const char *operations, int operations_len)
{
	CanonReader r;
	CanonOps	ops;
	List	   *result = NIL;

	if (operations == NULL)
		return NIL;
	ops_init(&ops);
	operations = to_utf8(operations, &operations_len);
	reader_init(&r, operations, operations_len, "operations");
	read_operations_text(&r, &ops);

	for (int i = 0; i < ops.len; i++)
	{
		const char *m = ops.buf.data + ops.ops[i].module_off;
		int			len = ops.ops[i].module_len;
		bool		seen = false;
		ListCell   *lc;
		char	   *s;

		if (memchr(m, '\0', len) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid MIG action: operations[%d].module contains \\u0000", i)));
		s = needs_conversion() ? pg_any_to_server(m, len, PG_UTF8) : pnstrdup(m, len);
		if (s == m)
			s = pnstrdup(m, len);
		foreach(lc, result)
		{
			if (strcmp((char *) lfirst(lc), s) == 0)
			{
				seen = true;
				break;
			}
		}
		if (!seen)
			result = lappend(result, s);
	}
	return result;
}

/* ---------------------------------------------------------------------
 * SQL
 * ---------------------------------------------------------------------
 */

/*
 * mig_action_string(action json) -> text
 *
 * The string MIG's clients sign for this action.
 */
PG_FUNCTION_INFO_V1(mig_action_string);
Datum
mig_action_string(PG_FUNCTION_ARGS)
{
	text	   *json = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(json);
	int			len = VARSIZE_ANY_EXHDR(json);
	CanonReader r;
	CanonAction a;
	char	   *result;

	memset(&a, 0, sizeof(a));
	initStringInfo(&a.name);
	initStringInfo(&a.target);
	ops_init(&a.ops);

	s = to_utf8(s, &len);
	reader_init(&r, s, len, "action");
	read_action(&r, &a);

	result = build_string(a.name.data, a.name.len, a.target.data, a.target.len,
						  a.validfrom, a.expireafter, &a.ops);
	if (needs_conversion())
		result = pg_any_to_server(result, strlen(result), PG_UTF8);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
