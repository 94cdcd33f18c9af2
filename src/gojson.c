/*-------------------------------------------------------------------------
 *
 * gojson.c
 *	  Go's encoding/json (Go 1.19) as mig needs it to compute what MIG's Go
 *	  code signs: a one-pass reader of JSON text that decodes as Go's
 *	  decoder does, and Go's encoder of the values it reads.
 *
 *	  As Go decodes: strings have their escapes resolved, and lone
 *	  surrogates and invalid UTF-8 become U+FFFD; a number in an
 *	  interface{} becomes a float64 (beyond its range is an error, as Go's
 *	  ParseFloat fails on overflow); an object becomes a map, a repeated key
 *	  keeping its last value.  As Go encodes: map keys sorted bytewise, no
 *	  whitespace, float64 in ES6 style, strings escaped with escapeHTML.
 *
 *	  It reads JSON itself rather than with jansson: PostgreSQL's json type
 *	  keeps the text as written, lone surrogate escapes and \u0000
 *	  included, and Go gives those a meaning that jansson refuses.  A value
 *	  is written in its canonical form while it is read; only an object
 *	  whose keys are not already sorted and unique is rewritten.
 *
 *	  Objects and arrays are read without recursion (a stack of frames), so
 *	  the 10,000 levels Go accepts need no C stack; deeper is refused, as Go
 *	  refuses it.  Numbers are checked here and written by gofloat.c: from
 *	  their own digits when they have at most 15 significant ones, else by
 *	  a shortest-digits search that breaks ties as Go does (PostgreSQL's
 *	  Ryu does not).
 *
 *	  The caller walks the structure it expects (gojson.h: peek, read a key,
 *	  read a string) and hands any other value to gojson_canon_value or
 *	  gojson_skip_value.  The messages name the value's path and speak of a
 *	  MIG action: actions and their operations are the documents mig reads
 *	  this way.
 *
 *	  Not here: Go's structs (which key selects which field, Go's case
 *	  folding, MIG's Action and Operation) and the canonical string
 *	  (canon.c); RFC 3339 times (gotime.c); the spool's documents, read
 *	  as PostgreSQL's own JSON parser reads them (jsondoc.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "gofloat.h"
#include "gojson.h"

/* integers with at most this many digits are exact float64s: copy them */
#define EXACT_INTEGER_DIGITS 15

/* one member of an object being written: its decoded key and its output */
struct GoMember
{
	int			key_off;		/* in GoReader.keys */
	int			key_len;
	int			out_off;		/* "key":value in the output buffer */
	int			out_len;
	int			seq;			/* order of appearance, for last-wins */
};

/* an object or array being read by canon_value */
struct GoFrame
{
	bool		is_object;
	bool		ordered;		/* object: keys so far sorted and unique */
	int			count;			/* members or elements so far */
	int			out_start;		/* where its '{' is in the output */
	int			members_base;	/* its members on GoReader.members */
	int			keys_base;		/* its keys in GoReader.keys */
	const char *key;			/* the current member's raw key, for messages */
	int			keylen;
	int			key_off;		/* the current member's decoded key */
	int			member_off;		/* where the current member starts in the output */
};

/*
 * Bytes that go through unchanged: in Go's output (htmlSafeSet: printable
 * ASCII and DEL, except " \ < > &), and in a decoded string (everything
 * printable but " and \).
 */
static bool html_safe[256];
static bool decode_plain[256];
static bool tables_ready = false;

static const char hexdigits[] = "0123456789abcdef";

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
append_path(StringInfo buf, const GoPathStep *path)
{
	if (path == NULL)
		return;
	append_path(buf, path->up);
	append_step(buf, path->key, path->keylen, path->index);
}

char *
gojson_path_string(const GoPathStep *path)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_path(&buf, path);
	return buf.data;
}

const char *
gojson_kind(unsigned char c)
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

/* the JSON text is not JSON: what, and where */
void
gojson_syntax_error(GoReader *r, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type json"),
			 errdetail("%s at byte %d of the %s.", what,
					   (int) (r->p - r->start), r->docname)));
}

/* a value of the wrong JSON type for its Go field */
void
gojson_type_error(const GoPathStep *path, unsigned char first, const char *wanted)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s is %s, not %s",
					gojson_path_string(path), gojson_kind(first), wanted)));
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
 * Lexing (skipping whitespace, peek, accept, expect: inline in gojson.h)
 * ---------------------------------------------------------------------
 */

/* the literal word (true, false, null) at r->p, or a syntax error */
static void
read_literal(GoReader *r, const char *word, int len)
{
	if (r->end - r->p < len || memcmp(r->p, word, len) != 0)
		gojson_syntax_error(r, "Invalid token");
	r->p += len;
}

/* ---------------------------------------------------------------------
 * UTF-8 and escapes
 * ---------------------------------------------------------------------
 */

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
read_escape(GoReader *r)
{
	const unsigned char *p = r->p;
	int32		cp;

	if (p + 1 >= r->end)
		gojson_syntax_error(r, "Unexpected end of input in a string");
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
				gojson_syntax_error(r, "Invalid \\u escape");
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
			gojson_syntax_error(r, "Invalid escape in a string");
	}
}

/* ---------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------
 */

/*
 * A string at r->p (its opening quote).  With escape, writes it as Go's
 * encoder would, quotes included; without, writes the decoded bytes (the Go
 * string) and sets *has_nul when they include a NUL.  out may be NULL to
 * only check the string.
 */
static void
read_string(GoReader *r, StringInfo out, bool escape, bool *has_nul)
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
			gojson_syntax_error(r, "Unterminated string");
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
			gojson_syntax_error(r, "Unescaped control character in a string");
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
			int			n = gojson_utf8_decode(r->p, r->end, &cp);

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

/* ---------------------------------------------------------------------
 * Numbers
 * ---------------------------------------------------------------------
 */

/*
 * A number at r->p, checked against JSON's grammar.  Returns its length and
 * whether it is a plain integer (no fraction, no exponent).
 */
static int
lex_number(GoReader *r, bool *integer, int *ndigits)
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
		gojson_syntax_error(r, "Invalid token");
	*ndigits = p - digits;
	if (p < r->end && *p == '.')
	{
		*integer = false;
		p++;
		if (p >= r->end || *p < '0' || *p > '9')
		{
			r->p = p;
			gojson_syntax_error(r, "Invalid number");
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
			gojson_syntax_error(r, "Invalid number");
		}
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	return p - r->p;
}

/*
 * A number token: a float64 in an interface{}, as Go decodes and encodes
 * it.  Returns false, leaving r->p at the token, when the number is beyond
 * float64's range (Go's ParseFloat fails on overflow, not on underflow).
 */
static bool
canon_number(GoReader *r, StringInfo out)
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
	if (gofloat_token_digits(r->p, len, digits, &ndigits, &point))
	{
		gofloat_append_decimal(out, r->p[0] == '-', digits, ndigits, point);
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
	gofloat_append(out, f);
	return true;
}

/* ---------------------------------------------------------------------
 * Objects: keys sorted, a repeated key's last value
 * ---------------------------------------------------------------------
 */

static int
member_cmp(const void *a, const void *b, void *arg)
{
	const GoMember *ma = (const GoMember *) a;
	const GoMember *mb = (const GoMember *) b;
	const char *keys = (const char *) arg;
	int			c = memcmp(keys + ma->key_off, keys + mb->key_off,
						   Min(ma->key_len, mb->key_len));

	if (c != 0)
		return c;
	if (ma->key_len != mb->key_len)
		return ma->key_len < mb->key_len ? -1 : 1;
	return ma->seq < mb->seq ? -1 : (ma->seq > mb->seq);
}

/* the key of the next member of the object in frame f; writes "key": */
static void
start_member(GoReader *r, StringInfo out, GoFrame *f)
{
	if (gojson_peek(r) != '"')
		gojson_syntax_error(r, "Expected a string key");
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
	gojson_expect(r, ':', "Expected \":\"");
}

/* the value of the current member of frame f has been written */
static void
end_member(GoReader *r, StringInfo out, GoFrame *f)
{
	GoMember	m;

	m.key_off = f->key_off;
	m.key_len = r->keys.len - f->key_off;
	m.out_off = f->member_off;
	m.out_len = out->len - f->member_off;
	m.seq = f->count;
	if (f->ordered && f->count > 0)
	{
		GoMember   *prev = &r->members[r->nmembers - 1];
		int			c = memcmp(r->keys.data + prev->key_off, r->keys.data + m.key_off,
							   Min(prev->key_len, m.key_len));

		if (c > 0 || (c == 0 && prev->key_len >= m.key_len))
			f->ordered = false;
	}
	if (r->nmembers >= r->maxmembers)
	{
		r->maxmembers *= 2;
		r->members = repalloc(r->members, r->maxmembers * sizeof(GoMember));
	}
	r->members[r->nmembers++] = m;
}

/*
 * The object of frame f is complete: a Go map is written with its keys
 * sorted and a repeated key's last value.  Members were written as they
 * came; if they did not come sorted and unique, rewrite them in place.
 */
static void
end_object(GoReader *r, StringInfo out, GoFrame *f)
{
	GoMember   *ms = r->members + f->members_base;
	int			n = r->nmembers - f->members_base;

	if (!f->ordered)
	{
		int			body = f->out_start + 1;
		bool		first = true;

		resetStringInfo(&r->scratch);
		appendBinaryStringInfo(&r->scratch, out->data + body, out->len - body);
		qsort_arg(ms, n, sizeof(GoMember), member_cmp, r->keys.data);
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

/* ---------------------------------------------------------------------
 * Values: the frame stack
 * ---------------------------------------------------------------------
 */

/* "operations[0].parameters" followed by the open containers from base on */
static char *
value_path_string(GoReader *r, const GoPathStep *path, int base)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_path(&buf, path);
	for (int i = base; i < r->nframes; i++)
	{
		GoFrame    *f = &r->frames[i];

		if (f->is_object)
			append_step(&buf, f->key, f->keylen, 0);
		else
			append_step(&buf, NULL, 0, f->count);
	}
	return buf.data;
}

/*
 * An object or array starts at r->p ('{' or '['): push its frame and write
 * its opening byte; depth is its own nesting depth.  Returns true when its
 * first member or element follows (an object's key is read), false when it
 * was empty and is already complete.
 */
static bool
open_container(GoReader *r, StringInfo out, unsigned char c, int depth)
{
	GoFrame    *f;

	if (r->nframes >= r->maxframes)
	{
		r->maxframes *= 2;
		r->frames = repalloc(r->frames, r->maxframes * sizeof(GoFrame));
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
	if (gojson_peek(r) != (f->is_object ? '}' : ']'))
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
number_range_error(GoReader *r, const GoPathStep *path, int base)
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
canon_scalar(GoReader *r, StringInfo out, unsigned char c,
			 const GoPathStep *path, int base)
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
close_containers(GoReader *r, StringInfo out, int base)
{
	while (r->nframes > base)
	{
		GoFrame    *f = &r->frames[r->nframes - 1];
		unsigned char c;

		if (f->is_object && out)
			end_member(r, out, f);
		f->count++;
		c = gojson_peek(r);
		if (c == ',')
		{
			r->p++;
			if (f->is_object)
				start_member(r, out, f);
			else if (out)
				appendStringInfoCharMacro(out, ',');
			return;
		}
		gojson_expect(r, f->is_object ? '}' : ']',
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
canon_value(GoReader *r, StringInfo out, int depth, const GoPathStep *path)
{
	int			base = r->nframes;

	check_stack_depth();
	for (;;)
	{
		/* a value starts here */
		unsigned char c = gojson_peek(r);

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
 * The reader's API (gojson.h)
 * ---------------------------------------------------------------------
 */

void
gojson_init(GoReader *r, const char *text, int len, const char *docname)
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
	r->members = palloc(r->maxmembers * sizeof(GoMember));
	r->maxframes = 16;
	r->nframes = 0;
	r->frames = palloc(r->maxframes * sizeof(GoFrame));
}

void
gojson_finish(GoReader *r)
{
	gojson_skip_ws(r);
	if (r->p != r->end)
		gojson_syntax_error(r, "Unexpected data after the JSON value");
}

/* an object's key into r->keys (reset), up to and including the ':' */
const char *
gojson_read_key(GoReader *r, GoPathStep *step, int *keylen)
{
	if (gojson_peek(r) != '"')
		gojson_syntax_error(r, "Expected a string key");
	resetStringInfo(&r->keys);
	step->key = (const char *) r->p + 1;
	read_string(r, &r->keys, false, NULL);
	step->keylen = (const char *) r->p - 1 - step->key;
	gojson_expect(r, ':', "Expected \":\"");
	*keylen = r->keys.len;
	return r->keys.data;
}

void
gojson_read_string(GoReader *r, StringInfo out, bool *has_nul)
{
	Assert(r->p < r->end && *r->p == '"');
	read_string(r, out, false, has_nul);
}

const char *
gojson_read_raw_string(GoReader *r, int *len)
{
	const unsigned char *content = r->p + 1;

	Assert(r->p < r->end && *r->p == '"');
	read_string(r, NULL, false, NULL);
	*len = r->p - 1 - content;
	return (const char *) content;
}

bool
gojson_read_bool(GoReader *r)
{
	if (gojson_peek(r) == 't')
	{
		read_literal(r, "true", 4);
		return true;
	}
	read_literal(r, "false", 5);
	return false;
}

void
gojson_read_null(GoReader *r)
{
	gojson_peek(r);
	read_literal(r, "null", 4);
}

void
gojson_canon_value(GoReader *r, StringInfo out, int depth, const GoPathStep *path)
{
	Assert(out != NULL);
	canon_value(r, out, depth, path);
}

void
gojson_skip_value(GoReader *r, int depth, const GoPathStep *path)
{
	canon_value(r, NULL, depth, path);
}

void
gojson_append_string(StringInfo out, const char *s, int len)
{
	append_go_string(out, s, len);
}

void
gojson_check_depth(int depth)
{
	check_depth(depth);
}
