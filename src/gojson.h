/*-------------------------------------------------------------------------
 *
 * gojson.h
 *	  Go's encoding/json as mig needs it (gojson.c): a one-pass reader of
 *	  JSON text and Go's re-encoding of any value, for canon.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOJSON_H
#define GOJSON_H

#include "lib/stringinfo.h"

/* Go's encoding/json refuses documents nested deeper than this */
#define GO_MAX_NESTING_DEPTH 10000

/*
 * Where a value sits in the document, for error messages: a chain of steps
 * up to the root (NULL), each an object key or an array index.  The caller
 * builds them on its stack, "operations[2].parameters".
 */
typedef struct GoPathStep
{
	const struct GoPathStep *up;
	const char *key;			/* raw key text (between the quotes), or NULL */
	int			keylen;
	int			index;			/* array index when key is NULL */
} GoPathStep;

typedef struct GoMember GoMember;	/* gojson.c's own */
typedef struct GoFrame GoFrame;

/*
 * A reader over one JSON text, which must stay in place while it is read.
 * It lives on the caller's stack; only the functions below touch its
 * fields (the inline ones read p and end).
 */
typedef struct GoReader
{
	const unsigned char *start;
	const unsigned char *p;		/* the next byte to read */
	const unsigned char *end;
	const char *docname;		/* "action" or "operations", for messages */
	StringInfoData keys;		/* decoded keys of the objects being read */
	GoMember   *members;		/* a stack, one frame per open object */
	int			nmembers;
	int			maxmembers;
	StringInfoData scratch;		/* for rewriting an unsorted object */
	GoFrame    *frames;			/* the open objects and arrays */
	int			nframes;
	int			maxframes;
} GoReader;

/*
 * Reading: gojson_init over len bytes of UTF-8 text (invalid bytes are
 * read as Go reads them), then the caller walks the structure it expects,
 * and gojson_finish checks that nothing but whitespace follows.  Bad JSON
 * raises ERROR 22P02 naming the byte offset in the docname
 * (gojson_syntax_error).
 *
 * gojson_read_key reads "key": of an object (after its '{' or a ','): it
 * returns the decoded key, valid until the next call on the reader, and
 * sets step's key to the raw text for messages.
 *
 * At a string (gojson_peek gave '"'): gojson_read_string appends the
 * decoded Go string to out and sets *has_nul (may be NULL) when it holds
 * U+0000; gojson_read_raw_string checks it and returns its raw text
 * between the quotes, escapes unresolved.  At true or false,
 * gojson_read_bool; at null, gojson_read_null.
 *
 * gojson_canon_value reads any value as Go decodes it into an interface{}
 * and appends what Go's json.Marshal writes for it; gojson_skip_value
 * checks a value without writing it (a field Go ignores).  depth is the
 * nesting depth of the enclosing value, path where the value is.
 */
extern void gojson_init(GoReader *r, const char *text, int len, const char *docname);
extern void gojson_finish(GoReader *r);
extern const char *gojson_read_key(GoReader *r, GoPathStep *step, int *keylen);
extern void gojson_read_string(GoReader *r, StringInfo out, bool *has_nul);
extern const char *gojson_read_raw_string(GoReader *r, int *len);
extern bool gojson_read_bool(GoReader *r);
extern void gojson_read_null(GoReader *r);
extern void gojson_canon_value(GoReader *r, StringInfo out, int depth,
							   const GoPathStep *path);
extern void gojson_skip_value(GoReader *r, int depth, const GoPathStep *path);
extern void gojson_syntax_error(GoReader *r, const char *what) pg_attribute_noreturn();

/*
 * Between tokens, inline because both files run them for every member:
 * gojson_peek is the next significant byte (whitespace skipped; a syntax
 * error at the end of the input); gojson_accept consumes it if it is c;
 * gojson_expect consumes c or raises a syntax error saying what;
 * gojson_next_member, after a member's value, consumes the ',' (true: a
 * member follows) or the '}' (false).
 */
static inline void
gojson_skip_ws(GoReader *r)
{
	while (r->p < r->end &&
		   (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static inline unsigned char
gojson_peek(GoReader *r)
{
	gojson_skip_ws(r);
	if (r->p >= r->end)
		gojson_syntax_error(r, "Unexpected end of input");
	return *r->p;
}

static inline bool
gojson_accept(GoReader *r, unsigned char c)
{
	if (gojson_peek(r) != c)
		return false;
	r->p++;
	return true;
}

static inline void
gojson_expect(GoReader *r, unsigned char c, const char *what)
{
	if (gojson_peek(r) != c)
		gojson_syntax_error(r, what);
	r->p++;
}

static inline bool
gojson_next_member(GoReader *r)
{
	if (gojson_accept(r, ','))
		return true;
	gojson_expect(r, '}', "Expected \",\" or \"}\"");
	return false;
}

/* a decoded (valid UTF-8) Go string as Go's encoder writes it, quotes included */
extern void gojson_append_string(StringInfo out, const char *s, int len);

/*
 * Go's utf8.DecodeRune: the length of the valid UTF-8 sequence at p
 * (before end) with its code point in *cp, or 0 if the bytes there are not
 * valid UTF-8 (an overlong form, a surrogate, beyond U+10FFFF, cut short).
 * Inline: the reader runs it on every non-ASCII character of a string.
 */
static inline int
gojson_utf8_decode(const unsigned char *p, const unsigned char *end, int32 *cp)
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

/*
 * Errors that name where a value is (22023): gojson_type_error for a value
 * of the wrong JSON kind for its Go type ("operations[1] is a string, not
 * an object"), gojson_check_depth for nesting beyond
 * GO_MAX_NESTING_DEPTH.  gojson_path_string and gojson_kind give the words
 * for messages of the caller's own.
 */
extern char *gojson_path_string(const GoPathStep *path);
extern const char *gojson_kind(unsigned char first);
extern void gojson_type_error(const GoPathStep *path, unsigned char first,
							  const char *wanted) pg_attribute_noreturn();
extern void gojson_check_depth(int depth);

#endif							/* GOJSON_H */
