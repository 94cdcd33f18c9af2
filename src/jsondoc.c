/*-------------------------------------------------------------------------
 *
 * jsondoc.c
 *	  MIG's JSON documents (spool files, heartbeats) as the spool sync and
 *	  the heartbeat read them: what PostgreSQL's own JSON parser (the one
 *	  json_in uses) accepts, keeping the members of the root object and of
 *	  the objects directly in it: each member's type, its value when it is
 *	  a scalar, and its verbatim text.  Deeper values (module results,
 *	  parameters) are checked for syntax only.  Two readers give that
 *	  document: the reference, PostgreSQL's parser with semantic actions,
 *	  and a fast scan that builds the same document and leaves whatever it
 *	  is not sure of to the reference (test/fuzz/fuzz_jsondoc.c holds the
 *	  two to the same answers).
 *
 *	  Why not jansson: it builds a tree of the whole document, about 45 us
 *	  for a 3 kB command file, more than COPY takes to store the row.  And
 *	  what these readers accept is exactly what the json columns accept.
 *
 *	  Typed getters follow MIG's Go types: numbers are float64 (ids too), a
 *	  timestamp is an RFC 3339 string, Go's zero time means unset.  Each
 *	  getter returns false with *error set to a sentence naming the field.
 *
 *	  Not here: what the fields mean (spoolfile.c, heartbeat.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "gotime.h"
#include "jsondoc.h"

/* Go's float64 ids are exact integers up to 2^53 */
#define MAX_EXACT_ID INT64CONST(9007199254740992)

/* nesting deeper than this is refused before parsing (the parser recurses) */
#define MAX_DEPTH 256

typedef struct JsField
{
	char	   *name;			/* de-escaped */
	JsonTokenType type;			/* STRING, NUMBER, TRUE, FALSE, NULL,
								 * OBJECT_START or ARRAY_START */
	char	   *value;			/* a scalar: de-escaped, or the number's text */
	int			start;			/* the value's text in the document */
	int			end;
	int			object;			/* an object value kept: its index, else -1 */
	bool		all_strings;	/* an array value: every element a string */
	int			next;			/* next member of the same object, or -1 */
} JsField;

struct MigJsonDoc
{
	char	   *text;
	int			len;
	JsField    *fields;
	int			nfields;
	int			maxfields;
	int		   *first;			/* per object kept: its first member */
	int		   *last;
	int			nobjects;
	int			maxobjects;
};

/* the parse, as it goes */
#define KEEP_LEVELS 2
typedef struct Collector
{
	MigJsonDoc *doc;
	JsonLexContext *lex;
	int			depth;			/* containers open; the root is 1 */
	int			object[KEEP_LEVELS + 2];	/* object kept at each depth, or -1 */
	int			field[KEEP_LEVELS + 2]; /* its current member */
	int			array_field;	/* the member whose array is open, or -1 */
	int			array_depth;
} Collector;

static int
new_object(MigJsonDoc *doc)
{
	if (doc->nobjects == doc->maxobjects)
	{
		doc->maxobjects *= 2;
		doc->first = repalloc(doc->first, sizeof(int) * doc->maxobjects);
		doc->last = repalloc(doc->last, sizeof(int) * doc->maxobjects);
	}
	doc->first[doc->nobjects] = -1;
	doc->last[doc->nobjects] = -1;
	return doc->nobjects++;
}

/*
 * A new kept member of object obj, named name, its text from start: the
 * index of its field, linked after the object's last one.  The collector
 * and the fast scan both make members here.
 */
static int
new_member(MigJsonDoc *doc, int obj, char *name, int start)
{
	JsField    *f;

	if (doc->nfields == doc->maxfields)
	{
		doc->maxfields *= 2;
		doc->fields = repalloc(doc->fields, sizeof(JsField) * doc->maxfields);
	}
	f = &doc->fields[doc->nfields];
	f->name = name;
	f->type = JSON_TOKEN_INVALID;
	f->value = NULL;
	f->start = f->end = start;
	f->object = -1;
	f->all_strings = false;
	f->next = -1;
	if (doc->last[obj] >= 0)
		doc->fields[doc->last[obj]].next = doc->nfields;
	else
		doc->first[obj] = doc->nfields;
	doc->last[obj] = doc->nfields;
	return doc->nfields++;
}

/* the member of the object being filled whose value is starting, if kept */
static JsField *
parent_member(Collector *c)
{
	if (c->depth >= 1 && c->depth <= KEEP_LEVELS && c->object[c->depth] >= 0 &&
		c->field[c->depth] >= 0)
		return &c->doc->fields[c->field[c->depth]];
	return NULL;
}

static void
container_start(Collector *c, JsonTokenType type)
{
	JsField    *f = parent_member(c);

	/* a container inside an array we watch: not a string */
	if (c->array_field >= 0 && c->depth == c->array_depth)
		c->doc->fields[c->array_field].all_strings = false;

	c->depth++;
	if (c->depth < (int) lengthof(c->object))
	{
		c->object[c->depth] = -1;
		c->field[c->depth] = -1;
	}
	if (c->depth == 1 && type == JSON_TOKEN_OBJECT_START)
		c->object[1] = new_object(c->doc);
	if (f == NULL)
		return;
	f->type = type;
	if (type == JSON_TOKEN_OBJECT_START && c->depth <= KEEP_LEVELS)
	{
		f->object = new_object(c->doc);
		c->object[c->depth] = f->object;
	}
	else if (type == JSON_TOKEN_ARRAY_START)
	{
		f->all_strings = true;
		c->array_field = f - c->doc->fields;
		c->array_depth = c->depth;
	}
}

static void
container_end(Collector *c)
{
	if (c->array_field >= 0 && c->depth == c->array_depth)
		c->array_field = -1;
	c->depth--;
}

static void
object_start(void *state)
{
	container_start(state, JSON_TOKEN_OBJECT_START);
}

static void
array_start(void *state)
{
	container_start(state, JSON_TOKEN_ARRAY_START);
}

static void
end_container(void *state)
{
	container_end(state);
}

static void
field_start(void *state, char *fname, bool isnull)
{
	Collector  *c = state;
	int			obj;

	if (c->depth > KEEP_LEVELS || (obj = c->object[c->depth]) < 0)
		return;
	c->field[c->depth] = new_member(c->doc, obj, fname,
									c->lex->token_start - c->doc->text);
}

static void
field_end(void *state, char *fname, bool isnull)
{
	Collector  *c = state;

	if (c->depth > KEEP_LEVELS || c->object[c->depth] < 0 || c->field[c->depth] < 0)
		return;
	c->doc->fields[c->field[c->depth]].end = c->lex->prev_token_terminator - c->doc->text;
	c->field[c->depth] = -1;
}

static void
scalar(void *state, char *token, JsonTokenType type)
{
	Collector  *c = state;
	JsField    *f = parent_member(c);

	if (c->array_field >= 0 && c->depth == c->array_depth && type != JSON_TOKEN_STRING)
		c->doc->fields[c->array_field].all_strings = false;
	if (f != NULL)
	{
		f->type = type;
		f->value = token;
	}
}

/* members by name, then in the text's order */
static int
member_cmp(const void *a, const void *b, void *arg)
{
	JsField    *fields = arg;
	int			ia = *(const int *) a;
	int			ib = *(const int *) b;
	int			c = strcmp(fields[ia].name, fields[ib].name);

	if (c != 0)
		return c;
	return (ia > ib) - (ia < ib);
}

/*
 * The first member, in the text's order, whose name an earlier member of
 * the same object has: its index, or -1.  Each object's members are
 * sorted by name rather than each compared with those before it, which
 * took time quadratic in their number: a spool file of mig.max_file_size
 * (10 MB, a million members) or a heartbeat of any size, which the parser
 * does not interrupt, kept a backend or the worker busy for hours.  An
 * object of a few members (MIG's are) is compared member by member,
 * cheaper than the sort for so few.
 */
#define FEW_MEMBERS 16
static int
first_duplicate(MigJsonDoc *doc)
{
	int		   *members = palloc(sizeof(int) * Max(doc->nfields, 1));
	int			first = -1;

	for (int obj = 0; obj < doc->nobjects; obj++)
	{
		int			n = 0;

		for (int i = doc->first[obj]; i >= 0; i = doc->fields[i].next)
			members[n++] = i;
		if (n < 2)
			continue;
		if (n <= FEW_MEMBERS)
		{
			/* members[] is in the text's order: the first one seen before */
			for (int k = 1; k < n && (first < 0 || members[k] < first); k++)
				for (int j = 0; j < k; j++)
					if (strcmp(doc->fields[members[j]].name, doc->fields[members[k]].name) == 0)
					{
						first = members[k];
						break;
					}
			continue;
		}
		qsort_arg(members, n, sizeof(int), member_cmp, doc->fields);
		for (int k = 1; k < n; k++)
			if (strcmp(doc->fields[members[k - 1]].name, doc->fields[members[k]].name) == 0 &&
				(first < 0 || members[k] < first))
				first = members[k];
	}
	pfree(members);
	return first;
}

/*
 * Nesting depth, and whether the text ends inside a string or a container
 * (a truncated file), before the parser (which recurses) sees it.
 */
static int
max_depth(const char *s, int len, bool *unclosed)
{
	int			depth = 0,
				max = 0;
	bool		in_string = false;

	for (int i = 0; i < len; i++)
	{
		char		ch = s[i];

		if (in_string)
		{
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		}
		else if (ch == '"')
			in_string = true;
		else if (ch == '{' || ch == '[')
		{
			if (++depth > max)
				max = depth;
		}
		else if (ch == '}' || ch == ']')
			depth--;
	}
	*unclosed = in_string || depth > 0;
	return max;
}

/* an empty document over text[0..len-1] */
static MigJsonDoc *
new_doc(char *text, int len)
{
	MigJsonDoc *doc = palloc(sizeof(MigJsonDoc));

	doc->text = text;
	doc->len = len;
	doc->maxfields = 64;
	doc->fields = palloc(sizeof(JsField) * doc->maxfields);
	doc->nfields = 0;
	doc->maxobjects = 8;
	doc->first = palloc(sizeof(int) * doc->maxobjects);
	doc->last = palloc(sizeof(int) * doc->maxobjects);
	doc->nobjects = 0;
	return doc;
}

/*
 * The reference parse: PostgreSQL's JSON parser with the collector above.
 * What it accepts and the document it gives are the definition the fast
 * scan below keeps to; every message about a bad document is its own.
 * NULL with *error set if it is not JSON, or not an object.
 */
MigJsonDoc *
mig_json_parse_reference(char *text, int len, char **error)
{
	MigJsonDoc *doc;
	Collector	c;
	JsonSemAction sem;
	JsonParseErrorType rc;
	bool		unclosed;
	int			dup;

	if (max_depth(text, len, &unclosed) > MAX_DEPTH)
	{
		*error = psprintf("JSON nested deeper than %d levels", MAX_DEPTH);
		return NULL;
	}

	doc = new_doc(text, len);
	memset(&c, 0, sizeof(c));
	c.doc = doc;
	c.lex = makeJsonLexContextCstringLen(text, len, GetDatabaseEncoding(), true);
	c.array_field = -1;
	c.object[0] = -1;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &c;
	sem.object_start = object_start;
	sem.object_end = end_container;
	sem.array_start = array_start;
	sem.array_end = end_container;
	sem.object_field_start = field_start;
	sem.object_field_end = field_end;
	sem.scalar = scalar;

	rc = pg_parse_json(c.lex, &sem);
	if (rc != JSON_SUCCESS)
	{
		if (rc == JSON_EXPECTED_MORE || unclosed)
			*error = pstrdup("truncated JSON: the text ends before its strings, objects "
							 "and arrays are closed");
		else
			*error = psprintf("invalid JSON at line %d: %s", c.lex->line_number,
							  json_errdetail(rc, c.lex));
		return NULL;
	}
	if (doc->nobjects == 0)
	{
		const char *what = "a scalar";

		if (c.lex->input[strspn(c.lex->input, " \t\r\n")] == '[')
			what = "an array";
		*error = psprintf("expected a JSON object, not %s", what);
		return NULL;
	}
	dup = first_duplicate(doc);
	if (dup >= 0)
	{
		*error = psprintf("field \"%s\" appears twice", doc->fields[dup].name);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------------------
 * The fast scan
 *
 * PostgreSQL 15's parser, with de-escaping on (as the collector needs
 * member names and values), copies every character of every string of the
 * document one appendStringInfoChar() at a time, module results included,
 * and pstrdup()s every scalar: a profile of the spool sync gave it a fifth
 * of the pass.  The scan below reads the document once, copies only what
 * the collector keeps, and builds the very same MigJsonDoc.  It accepts
 * only what that parser accepts, with the same strings (de-escaped, the
 * same code points refused: \u0000, lone surrogates); anything else, or
 * anything it is not sure of, it leaves to the reference parse, which
 * then accepts or refuses the document with its own message.  So the two
 * differ in speed only: test/fuzz/fuzz_jsondoc.c holds them to it.
 * ------------------------------------------------------------------------
 */

typedef struct Scan
{
	MigJsonDoc *doc;
	const char *s;
	int			len;
	int			pos;
	char	   *arena;			/* the kept strings, NUL-terminated */
	int			used;
} Scan;

/* what follows a number or a literal in a document the scan accepts */
static inline bool
token_ends(const Scan *sc)
{
	char		ch;

	if (sc->pos >= sc->len)
		return true;
	ch = sc->s[sc->pos];
	return ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\t' ||
		ch == '\n' || ch == '\r';
}

static inline void
skip_space(Scan *sc)
{
	while (sc->pos < sc->len)
	{
		char		ch = sc->s[sc->pos];

		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		sc->pos++;
	}
}

static inline int
hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* code point cp (1 to 0x10FFFF, no surrogate) as UTF-8 at out: its length */
static inline int
put_utf8(char *out, int cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * The string at sc->pos (its opening quote), checked as the parser checks
 * it when it de-escapes: no raw control character, only JSON's escapes,
 * surrogates in pairs, no \u0000.  With keep, de-escaped into the arena,
 * *out pointing at it.  False: not sure it is valid.
 */
static bool
scan_string(Scan *sc, bool keep, char **out)
{
	const char *s = sc->s;
	int			p = sc->pos + 1;
	int			hi = -1;		/* a high surrogate waiting for its pair */
	char	   *dst = keep ? sc->arena + sc->used : NULL;
	int			n = 0;

	for (;;)
	{
		unsigned char ch;
		int			start = p;

		/* the plain run, copied in one go */
		while (p < sc->len && (ch = (unsigned char) s[p]) != '"' && ch != '\\' && ch >= 32)
			p++;
		if (p > start)
		{
			if (hi >= 0)
				return false;
			if (keep)
				memcpy(dst + n, s + start, p - start);
			n += p - start;
		}
		if (p >= sc->len)
			return false;
		ch = (unsigned char) s[p];
		if (ch == '"')
			break;
		if (ch < 32)
			return false;
		/* an escape */
		if (++p >= sc->len)
			return false;
		ch = (unsigned char) s[p];
		if (ch == 'u')
		{
			int			cp = 0;

			if (p + 4 >= sc->len)
				return false;
			for (int i = 1; i <= 4; i++)
			{
				int			v = hex_value(s[p + i]);

				if (v < 0)
					return false;
				cp = cp * 16 + v;
			}
			p += 5;
			if (cp >= 0xD800 && cp <= 0xDBFF)
			{
				if (hi >= 0)
					return false;
				hi = cp;
				continue;
			}
			if (cp >= 0xDC00 && cp <= 0xDFFF)
			{
				if (hi < 0)
					return false;
				cp = 0x10000 + ((hi - 0xD800) << 10) + (cp - 0xDC00);
				hi = -1;
			}
			if (hi >= 0 || cp == 0)
				return false;
			if (keep)
				n += put_utf8(dst + n, cp);
			else
				n += 4;
			continue;
		}
		if (hi >= 0)
			return false;
		switch (ch)
		{
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			default:
				return false;
		}
		if (keep)
			dst[n] = (char) ch;
		n++;
		p++;
	}
	if (hi >= 0)
		return false;
	if (keep)
	{
		/* a string's content and NUL take no more room than its quoted text */
		Assert(sc->used + n + 1 <= sc->len + 1);
		dst[n] = '\0';
		*out = dst;
		sc->used += n + 1;
	}
	sc->pos = p + 1;
	return true;
}

/* a number or a literal's text, for a kept member */
static char *
keep_token(Scan *sc, int start)
{
	char	   *dst = sc->arena + sc->used;
	int			n = sc->pos - start;

	memcpy(dst, sc->s + start, n);
	dst[n] = '\0';
	sc->used += n + 1;
	return dst;
}

/* a number, as JSON writes one (the parser's json_lex_number) */
static bool
scan_number(Scan *sc)
{
	const char *s = sc->s;
	int			p = sc->pos;

	if (p < sc->len && s[p] == '-')
		p++;
	if (p < sc->len && s[p] == '0')
		p++;
	else if (p < sc->len && s[p] >= '1' && s[p] <= '9')
	{
		while (p < sc->len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	else
		return false;
	if (p < sc->len && s[p] == '.')
	{
		p++;
		if (p >= sc->len || s[p] < '0' || s[p] > '9')
			return false;
		while (p < sc->len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p < sc->len && (s[p] == 'e' || s[p] == 'E'))
	{
		p++;
		if (p < sc->len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= sc->len || s[p] < '0' || s[p] > '9')
			return false;
		while (p < sc->len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	sc->pos = p;
	return token_ends(sc);
}

static bool scan_value(Scan *sc, int depth, int member, int watched);

/*
 * Entering a container depth deep, an element of the array whose member
 * watched is (or -1): false past the reference parser's depth limit.
 */
static bool
scan_enter(Scan *sc, int depth, int watched)
{
	if (depth > MAX_DEPTH)
		return false;
	if (watched >= 0)
		sc->doc->fields[watched].all_strings = false;
	return true;
}

/* past the opening bracket at sc->pos: whether the container is empty */
static bool
scan_first(Scan *sc, char close)
{
	sc->pos++;
	skip_space(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == close)
	{
		sc->pos++;
		return true;
	}
	return false;
}

/*
 * After an element of an object or array (close: '}' or ']'): the
 * container ends, another element follows a comma, or the text is not
 * what the reference parser would accept here.
 */
typedef enum ScanNext
{
	SCAN_CLOSED,
	SCAN_MORE,
	SCAN_BAD
} ScanNext;

static ScanNext
scan_next(Scan *sc, char close)
{
	skip_space(sc);
	if (sc->pos >= sc->len)
		return SCAN_BAD;
	if (sc->s[sc->pos] == close)
	{
		sc->pos++;
		return SCAN_CLOSED;
	}
	if (sc->s[sc->pos] != ',')
		return SCAN_BAD;
	sc->pos++;
	skip_space(sc);
	return SCAN_MORE;
}

/*
 * The object at sc->pos, depth containers deep with itself (the root: 1),
 * the value of kept member member (or -1), an element of the array whose
 * member watched is (or -1).  Its members are kept if it is the root or
 * the value of a kept member of the root, as the collector keeps them.
 */
static bool
scan_object(Scan *sc, int depth, int member, int watched)
{
	MigJsonDoc *doc = sc->doc;
	int			obj = -1;
	ScanNext	next;

	if (!scan_enter(sc, depth, watched))
		return false;
	if (depth == 1)
		obj = new_object(doc);
	else if (member >= 0)
	{
		doc->fields[member].type = JSON_TOKEN_OBJECT_START;
		if (depth <= KEEP_LEVELS)
		{
			obj = new_object(doc);
			doc->fields[member].object = obj;
		}
	}
	if (scan_first(sc, '}'))
		return true;
	for (;;)
	{
		char	   *name = NULL;
		int			field = -1;

		if (sc->pos >= sc->len || sc->s[sc->pos] != '"' ||
			!scan_string(sc, obj >= 0, &name))
			return false;
		skip_space(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
			return false;
		sc->pos++;
		skip_space(sc);
		if (obj >= 0)
			field = new_member(doc, obj, name, sc->pos);
		if (!scan_value(sc, depth, field, -1))
			return false;
		if (field >= 0)
			doc->fields[field].end = sc->pos;
		if ((next = scan_next(sc, '}')) != SCAN_MORE)
			return next == SCAN_CLOSED;
	}
}

/* the array at sc->pos, as scan_object */
static bool
scan_array(Scan *sc, int depth, int member, int watched)
{
	MigJsonDoc *doc = sc->doc;
	int			watch = -1;
	ScanNext	next;

	if (!scan_enter(sc, depth, watched))
		return false;
	if (member >= 0)
	{
		doc->fields[member].type = JSON_TOKEN_ARRAY_START;
		doc->fields[member].all_strings = true;
		watch = member;
	}
	if (scan_first(sc, ']'))
		return true;
	for (;;)
	{
		if (!scan_value(sc, depth, -1, watch))
			return false;
		if ((next = scan_next(sc, ']')) != SCAN_MORE)
			return next == SCAN_CLOSED;
	}
}

/*
 * The value at sc->pos, inside depth containers; member, watched as
 * scan_object's.  A scalar of a kept member is kept with its type: a
 * string de-escaped, a number or literal as written.
 */
static bool
scan_value(Scan *sc, int depth, int member, int watched)
{
	MigJsonDoc *doc = sc->doc;
	int			start = sc->pos;
	JsonTokenType type;
	char	   *value = NULL;

	if (sc->pos >= sc->len)
		return false;
	switch (sc->s[sc->pos])
	{
		case '{':
			return scan_object(sc, depth + 1, member, watched);
		case '[':
			return scan_array(sc, depth + 1, member, watched);
		case '"':
			if (!scan_string(sc, member >= 0, &value))
				return false;
			if (member >= 0)
			{
				doc->fields[member].type = JSON_TOKEN_STRING;
				doc->fields[member].value = value;
			}
			return true;
		case 't':
			type = JSON_TOKEN_TRUE;
			break;
		case 'f':
			type = JSON_TOKEN_FALSE;
			break;
		case 'n':
			type = JSON_TOKEN_NULL;
			break;
		default:
			if (!scan_number(sc))
				return false;
			type = JSON_TOKEN_NUMBER;
			break;
	}
	if (type != JSON_TOKEN_NUMBER)
	{
		const char *word = type == JSON_TOKEN_TRUE ? "true" :
			type == JSON_TOKEN_FALSE ? "false" : "null";
		int			n = strlen(word);

		if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
			return false;
		sc->pos += n;
		if (!token_ends(sc))
			return false;
	}
	if (watched >= 0)
		doc->fields[watched].all_strings = false;
	if (member >= 0)
	{
		doc->fields[member].type = type;
		doc->fields[member].value = keep_token(sc, start);
	}
	return true;
}

/*
 * The fast scan of text[0..len-1]: the document, or NULL when it is not
 * sure the document is one the reference parse accepts (a bad document
 * among them), whatever it has allocated left to the memory context.
 */
MigJsonDoc *
mig_json_scan(char *text, int len)
{
	Scan		sc;

	/* a \u escape in a database that is not UTF-8 is the server's to convert */
	if (GetDatabaseEncoding() != PG_UTF8)
		return NULL;
	sc.doc = new_doc(text, len);
	sc.s = text;
	sc.len = len;
	sc.pos = 0;
	sc.arena = palloc(len + 1);
	sc.used = 0;
	skip_space(&sc);
	if (sc.pos >= len || text[sc.pos] != '{')
		return NULL;
	if (!scan_value(&sc, 0, -1, -1))
		return NULL;
	skip_space(&sc);
	if (sc.pos != len)
		return NULL;
	return sc.doc;
}

/* a string that may be NULL, compared */
static bool
same_string(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/*
 * What tells two documents of the same text apart, as a sentence, or NULL
 * when they are the same: every object, every member with its name, type,
 * value, text, object and array of strings, in the same order
 */
char *
mig_json_doc_differs(const MigJsonDoc *a, const MigJsonDoc *b)
{
	if (a->nobjects != b->nobjects || a->nfields != b->nfields)
		return psprintf("%d objects and %d members, not %d and %d",
						a->nobjects, a->nfields, b->nobjects, b->nfields);
	for (int i = 0; i < a->nobjects; i++)
		if (a->first[i] != b->first[i] || a->last[i] != b->last[i])
			return psprintf("object %d has other members", i);
	for (int i = 0; i < a->nfields; i++)
	{
		const JsField *x = &a->fields[i];
		const JsField *y = &b->fields[i];

		if (!same_string(x->name, y->name) || x->type != y->type ||
			!same_string(x->value, y->value) || x->start != y->start ||
			x->end != y->end || x->object != y->object ||
			x->all_strings != y->all_strings || x->next != y->next)
			return psprintf("member %d (\"%s\", type %d, value %s, text %d-%d, object %d, "
							"strings %d, next %d) is (\"%s\", %d, %s, %d-%d, %d, %d, %d)",
							i, x->name, (int) x->type, x->value ? x->value : "none",
							x->start, x->end, x->object, (int) x->all_strings, x->next,
							y->name, (int) y->type, y->value ? y->value : "none",
							y->start, y->end, y->object, (int) y->all_strings, y->next);
	}
	return NULL;
}

/*
 * Parse text[0..len-1] (valid UTF-8, NUL-terminated at len).  NULL with
 * *error set if it is not JSON, or not an object.
 */
MigJsonDoc *
mig_json_parse(char *text, int len, char **error)
{
	MigJsonDoc *doc = mig_json_scan(text, len);
	int			dup;

	if (doc == NULL)
		return mig_json_parse_reference(text, len, error);
	dup = first_duplicate(doc);
	if (dup >= 0)
	{
		*error = psprintf("field \"%s\" appears twice", doc->fields[dup].name);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------------------
 * Getters.  obj 0 is the root object.
 * ------------------------------------------------------------------------
 */

static JsField *
find(MigJsonDoc *doc, int obj, const char *key)
{
	if (obj < 0 || obj >= doc->nobjects)
		return NULL;
	for (int i = doc->first[obj]; i >= 0; i = doc->fields[i].next)
		if (strcmp(doc->fields[i].name, key) == 0)
			return &doc->fields[i];
	return NULL;
}

static const char *
type_name(JsonTokenType type)
{
	switch (type)
	{
		case JSON_TOKEN_OBJECT_START:
			return "an object";
		case JSON_TOKEN_ARRAY_START:
			return "an array";
		case JSON_TOKEN_STRING:
			return "a string";
		case JSON_TOKEN_NUMBER:
			return "a number";
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			return "a boolean";
		case JSON_TOKEN_NULL:
			return "null";
		default:
			return "unknown";
	}
}

bool
mig_json_has(MigJsonDoc *doc, int obj, const char *key)
{
	JsField    *f = find(doc, obj, key);

	return f != NULL && f->type != JSON_TOKEN_NULL;
}

/* the object a member holds: its index, -1 if missing or null */
bool
mig_json_get_object(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
					int *out, char **error)
{
	JsField    *f = find(doc, obj, key);

	*out = -1;
	if (f == NULL || f->type == JSON_TOKEN_NULL)
		return true;
	if (f->type != JSON_TOKEN_OBJECT_START || f->object < 0)
	{
		*error = psprintf("field \"%s%s\" must be an object, not %s",
						  prefix, key, type_name(f->type));
		return false;
	}
	*out = f->object;
	return true;
}

bool
mig_json_get_string(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
					int maxchars, bool required, char **out, char **error)
{
	JsField    *f = find(doc, obj, key);
	size_t		len;

	*out = NULL;
	if (f == NULL || (f->type == JSON_TOKEN_NULL && !required))
	{
		if (required)
		{
			*error = psprintf("field \"%s%s\" is missing", prefix, key);
			return false;
		}
		return true;
	}
	if (f->type != JSON_TOKEN_STRING)
	{
		*error = psprintf("field \"%s%s\" must be a string, not %s",
						  prefix, key, type_name(f->type));
		return false;
	}
	len = strlen(f->value);
	if (maxchars > 0 && len > (size_t) maxchars &&
		pg_mbstrlen_with_len(f->value, len) > maxchars)
	{
		*error = psprintf("field \"%s%s\" is longer than %d characters",
						  prefix, key, maxchars);
		return false;
	}
	*out = f->value;
	return true;
}

/* a value quoted for an error message, cut short */
static char *
quote_for_error(const char *s)
{
	size_t		len = strlen(s);
	size_t		n = Min(len, 64);

	while (n < len && n > 0 && (s[n] & 0xC0) == 0x80)
		n--;
	return psprintf("\"%.*s\"%s", (int) n, s, n < len ? "..." : "");
}

bool
mig_json_get_time(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
				  bool required, TimestampTz *out, bool *unset, char **error)
{
	JsField    *f = find(doc, obj, key);
	int64		secs;
	int32		nsecs;
	TimestampTz ts;

	*unset = true;
	*out = mig_unix_to_timestamptz(MIG_GO_ZERO_UNIX, 0);
	if (f == NULL || f->type == JSON_TOKEN_NULL)
	{
		if (required)
		{
			*error = psprintf("field \"%s%s\" is missing", prefix, key);
			return false;
		}
		return true;
	}
	if (f->type != JSON_TOKEN_STRING)
	{
		*error = psprintf("field \"%s%s\" must be an RFC 3339 timestamp string, not %s",
						  prefix, key, type_name(f->type));
		return false;
	}
	if (!mig_parse_rfc3339(f->value, strlen(f->value), &secs, &nsecs))
	{
		*error = psprintf("field \"%s%s\" is not an RFC 3339 timestamp: %s",
						  prefix, key, quote_for_error(f->value));
		return false;
	}
	if (secs == MIG_GO_ZERO_UNIX && nsecs == 0)
		return true;
	ts = mig_unix_to_timestamptz(secs, nsecs);
	if (!IS_VALID_TIMESTAMP(ts))
	{
		*error = psprintf("field \"%s%s\" is out of range: %s", prefix, key,
						  quote_for_error(f->value));
		return false;
	}
	*out = ts;
	*unset = false;
	return true;
}

/* a JSON number read as Go reads it into a float64; false if out of range */
static bool
number_value(const char *text, double *out)
{
	char	   *end;

	errno = 0;
	*out = strtod(text, &end);
	return *end == '\0' && errno != ERANGE && !isinf(*out);
}

bool
mig_json_get_int(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
				 int64 min, int64 max, bool *present, int64 *out, char **error)
{
	JsField    *f = find(doc, obj, key);
	double		d;

	*present = false;
	*out = 0;
	if (f == NULL || f->type == JSON_TOKEN_NULL)
		return true;
	if (f->type != JSON_TOKEN_NUMBER)
	{
		*error = psprintf("field \"%s%s\" must be a number, not %s",
						  prefix, key, type_name(f->type));
		return false;
	}
	if (!number_value(f->value, &d) || d != floor(d) || d < (double) min || d > (double) max)
	{
		if (min == 1)
			*error = psprintf("field \"%s%s\" must be a positive integer, not %s",
							  prefix, key, f->value);
		else
			*error = psprintf("field \"%s%s\" must be an integer between " INT64_FORMAT
							  " and " INT64_FORMAT ", not %s",
							  prefix, key, min, max, f->value);
		return false;
	}
	*present = true;
	*out = (int64) d;
	return true;
}

/*
 * An id: a positive integer.  Absent, null or 0 (what Go writes for an id
 * not given yet) set *out to 0.
 */
bool
mig_json_get_id(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
				int64 *out, char **error)
{
	JsField    *f = find(doc, obj, key);
	double		d;
	bool		present;

	if (f != NULL && f->type == JSON_TOKEN_NUMBER && number_value(f->value, &d) && d == 0)
	{
		*out = 0;
		return true;
	}
	return mig_json_get_int(doc, obj, prefix, key, 1, MAX_EXACT_ID, &present, out, error);
}

bool
mig_json_get_bool(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
				  bool *present, bool *out, char **error)
{
	JsField    *f = find(doc, obj, key);

	*present = false;
	*out = false;
	if (f == NULL || f->type == JSON_TOKEN_NULL)
		return true;
	if (f->type != JSON_TOKEN_TRUE && f->type != JSON_TOKEN_FALSE)
	{
		*error = psprintf("field \"%s%s\" must be a boolean, not %s",
						  prefix, key, type_name(f->type));
		return false;
	}
	*present = true;
	*out = f->type == JSON_TOKEN_TRUE;
	return true;
}

/*
 * A JSON-valued member as its verbatim text (what the scheduler wrote).
 * Missing or null: *out NULL.  allowed: MIG_JSON_* bits; 0 takes any type.
 * strings_only: an array must hold strings only.
 */
bool
mig_json_get_verbatim(MigJsonDoc *doc, int obj, const char *prefix, const char *key,
					  int allowed, bool strings_only, text **out, char **error)
{
	JsField    *f = find(doc, obj, key);
	int			bit;

	*out = NULL;
	if (f == NULL || f->type == JSON_TOKEN_NULL)
		return true;
	bit = f->type == JSON_TOKEN_OBJECT_START ? MIG_JSON_OBJECT :
		f->type == JSON_TOKEN_ARRAY_START ? MIG_JSON_ARRAY : MIG_JSON_SCALAR;
	if (allowed != 0 && (allowed & bit) == 0)
	{
		*error = psprintf("field \"%s%s\" must be %s, not %s", prefix, key,
						  allowed == MIG_JSON_OBJECT ? "an object" :
						  allowed == MIG_JSON_ARRAY ? "an array" : "an object or an array",
						  type_name(f->type));
		return false;
	}
	if (strings_only && f->type == JSON_TOKEN_ARRAY_START && !f->all_strings)
	{
		*error = psprintf("field \"%s%s\" must be an array of strings", prefix, key);
		return false;
	}
	*out = cstring_to_text_with_len(doc->text + f->start, f->end - f->start);
	return true;
}
