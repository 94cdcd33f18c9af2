/*-------------------------------------------------------------------------
 *
 * jsondoc.c
 *	  MIG's JSON documents (spool files, heartbeats) as the spool sync and
 *	  the heartbeat read them: parsed by PostgreSQL's own JSON parser (the
 *	  one json_in uses), with semantic actions that keep the members of the
 *	  root object and of the objects directly in it: each member's type, its
 *	  value when it is a scalar, and its verbatim text.  Deeper values
 *	  (module results, parameters) are checked for syntax only.
 *
 *	  Why not jansson: it builds a tree of the whole document, about 45 us
 *	  for a 3 kB command file, more than COPY takes to store the row; this
 *	  parser checks and collects the same file in about 6 us.  And what it
 *	  accepts is exactly what the json columns accept.
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
	MigJsonDoc *doc = c->doc;
	int			obj;
	JsField    *f;

	if (c->depth > KEEP_LEVELS || (obj = c->object[c->depth]) < 0)
		return;
	if (doc->nfields == doc->maxfields)
	{
		doc->maxfields *= 2;
		doc->fields = repalloc(doc->fields, sizeof(JsField) * doc->maxfields);
	}
	f = &doc->fields[doc->nfields];
	f->name = fname;
	f->type = JSON_TOKEN_INVALID;
	f->value = NULL;
	f->start = c->lex->token_start - doc->text;
	f->end = f->start;
	f->object = -1;
	f->all_strings = false;
	f->next = -1;
	if (doc->last[obj] >= 0)
		doc->fields[doc->last[obj]].next = doc->nfields;
	else
		doc->first[obj] = doc->nfields;
	doc->last[obj] = doc->nfields;
	c->field[c->depth] = doc->nfields++;
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

/*
 * Parse text[0..len-1] (valid UTF-8, NUL-terminated at len).  NULL with
 * *error set if it is not JSON, or not an object.
 */
MigJsonDoc *
mig_json_parse(char *text, int len, char **error)
{
	MigJsonDoc *doc = palloc(sizeof(MigJsonDoc));
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

	doc->text = text;
	doc->len = len;
	doc->maxfields = 64;
	doc->fields = palloc(sizeof(JsField) * doc->maxfields);
	doc->nfields = 0;
	doc->maxobjects = 8;
	doc->first = palloc(sizeof(int) * doc->maxobjects);
	doc->last = palloc(sizeof(int) * doc->maxobjects);
	doc->nobjects = 0;

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
