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
 *	  so mig reproduces both halves of that round trip byte for byte.  JSON
 *	  values as Go decodes and encodes them are gojson.c's; this file is
 *	  MIG's structs on top of it: the Action's signed fields and its
 *	  []Operation as Go's decoder fills them (struct fields matched
 *	  case-insensitively with Go's folding; null leaves a string, bool or
 *	  time alone; a field given twice takes the last value; a second
 *	  "operations" array decodes into the elements of the first) and as
 *	  json.Marshal writes []Operation (omitempty booleans), then the string
 *	  itself.
 *
 *	  Stricter than Go on purpose: name, target, validfrom, expireafter and
 *	  operations must be given (Go would sign zero values: an empty name,
 *	  the year 1, "operations=null"), every operation must name its module,
 *	  and a name or target cannot hold \u0000 (text cannot hold the result).
 *
 *	  mig_action_string(json), mig_action_string_jsonb(jsonb) and the C API
 *	  that the OpenPGP and authorization code call (mig_canonical_string,
 *	  mig_operation_modules) and the fuzzer (mig_action_canonical, what the
 *	  two SQL functions run) share the same reader and builder.  The signed
 *	  bytes are UTF-8: a SQL_ASCII database's bytes are taken as they are
 *	  (invalid UTF-8 becomes U+FFFD, as in Go), other encodings are
 *	  converted.
 *
 *	  Not here: JSON itself as Go reads and writes it (gojson.c), RFC 3339
 *	  parsing (gotime.c), signatures (armor.c, keyring.c, verify.c), the ACL decision
 *	  (authorize.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "canon.h"
#include "gojson.h"
#include "gotime.h"

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

/* ---------------------------------------------------------------------
 * MIG's structs: Action and []Operation as Go's decoder fills them
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
			int			n = gojson_utf8_decode(t, tend, &cp);
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

/* a Go bool field: true/false set it, null leaves it */
static void
read_bool_field(GoReader *r, bool *value, const GoPathStep *path)
{
	unsigned char c = gojson_peek(r);

	if (c == 't' || c == 'f')
		*value = gojson_read_bool(r);
	else if (c == 'n')
		gojson_read_null(r);
	else
		gojson_type_error(path, c, "a boolean");
}

/* a Go string field of an operation: module */
static void
read_module_field(GoReader *r, CanonOps *ops, int idx, const GoPathStep *path)
{
	unsigned char c = gojson_peek(r);

	if (c == '"')
	{
		CanonOp    *op = &ops->ops[idx];

		op->module_off = ops->buf.len;
		gojson_read_string(r, &ops->buf, NULL);
		op->module_len = ops->buf.len - op->module_off;
		op->module_set = true;
	}
	else if (c == 'n')
		gojson_read_null(r);
	else
		gojson_type_error(path, c, "a string");
}

/* one element of operations, decoded into op (merging, as Go does) */
static void
read_operation(GoReader *r, CanonOps *ops, int idx, int depth, const GoPathStep *path)
{
	GoPathStep	step = {path, NULL, 0, 0};

	gojson_check_depth(depth);
	gojson_expect(r, '{', "Expected \"{\"");
	if (gojson_accept(r, '}'))
		return;
	do
	{
		int			keylen;
		const char *key = gojson_read_key(r, &step, &keylen);

		/* offsets, not pointers, into ops->buf: it grows as we read */
		if (field_matches("module", key, keylen))
			read_module_field(r, ops, idx, &step);
		else if (field_matches("parameters", key, keylen))
		{
			int			off = ops->buf.len;

			gojson_canon_value(r, &ops->buf, depth, &step);
			ops->ops[idx].params_off = off;
			ops->ops[idx].params_len = ops->buf.len - off;
		}
		else if (field_matches("is_compressed", key, keylen))
			read_bool_field(r, &ops->ops[idx].is_compressed, &step);
		else if (field_matches("want_compressed", key, keylen))
			read_bool_field(r, &ops->ops[idx].want_compressed, &step);
		else
			gojson_skip_value(r, depth, &step);
	} while (gojson_next_member(r));
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

/* element i of the slice: a new one is zero, one of an earlier array stays */
static void
ops_element(CanonOps *ops, int i)
{
	CanonOp    *op;

	if (i < ops->nbacking)
		return;
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

/*
 * The operations value into a []Operation.  null makes the slice nil, an
 * empty array makes it empty; otherwise element i decodes into whatever
 * element i of an earlier "operations" array left, as Go's decoder does.
 * depth is the depth of the enclosing object.
 */
static void
read_operations(GoReader *r, CanonOps *ops, int depth, const GoPathStep *path)
{
	GoPathStep	step = {path, NULL, 0, 0};
	unsigned char c = gojson_peek(r);
	int			i = 0;

	if (c == 'n')
	{
		gojson_read_null(r);
		ops->is_nil = true;
		ops->len = ops->nbacking = 0;
		return;
	}
	if (c != '[')
		gojson_type_error(path, c, "an array");
	gojson_check_depth(depth + 1);
	gojson_expect(r, '[', "Expected \"[\"");
	ops->is_nil = false;
	if (gojson_accept(r, ']'))
	{
		ops->len = ops->nbacking = 0;
		return;
	}
	do
	{
		step.index = i;
		ops_element(ops, i);
		c = gojson_peek(r);
		if (c == '{')
			read_operation(r, ops, i, depth + 2, &step);
		else if (c == 'n')
			gojson_read_null(r);	/* leaves the element as it is */
		else
			gojson_type_error(&step, c, "an object");
		i++;
	} while (gojson_accept(r, ','));
	gojson_expect(r, ']', "Expected \",\" or \"]\"");
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
read_time_field(GoReader *r, int64 *value, bool *set, bool *was_null,
				const GoPathStep *path)
{
	unsigned char c = gojson_peek(r);
	const char *content;
	int			len;
	int64		secs;
	int32		nsecs;

	if (c == 'n')
	{
		gojson_read_null(r);
		if (!*set)
			*was_null = true;
		return;
	}
	if (c != '"')
	{
		/* checked as a value first, so that bad JSON is a syntax error */
		gojson_skip_value(r, 1, path);
		gojson_type_error(path, c, "an RFC 3339 time string");
	}
	content = gojson_read_raw_string(r, &len);
	if (!mig_parse_rfc3339(content, len, &secs, &nsecs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid MIG action: %s is not an RFC 3339 time: \"%s\"",
						gojson_path_string(path),
						pnstrdup(content, Min(len, 64))),
				 errhint("MIG writes times like 2026-01-02T03:04:05Z or "
						 "2026-01-02T03:04:05.5+01:00, without JSON escapes.")));
	*value = secs;
	*set = true;
}

/* name or target: a Go string; *has_nul if it holds a NUL */
static void
read_string_field(GoReader *r, StringInfo value, bool *set, bool *was_null,
				  bool *has_nul, const GoPathStep *path)
{
	unsigned char c = gojson_peek(r);

	if (c == 'n')
	{
		gojson_read_null(r);
		if (!*set)
			*was_null = true;
		return;
	}
	if (c != '"')
		gojson_type_error(path, c, "a string");
	resetStringInfo(value);
	*has_nul = false;
	gojson_read_string(r, value, has_nul);
	*set = true;
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

static void pg_attribute_noreturn()
nul_error(const char *field)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MIG action: %s contains \\u0000", field),
			 errdetail("The signed string would contain a NUL byte, which text cannot hold.")));
}

/* one member of the action object, its key read */
static void
read_action_field(GoReader *r, CanonAction *a, const char *key, int keylen,
				  const GoPathStep *step)
{
	if (field_matches("name", key, keylen))
		read_string_field(r, &a->name, &a->name_set, &a->name_null,
						  &a->name_nul, step);
	else if (field_matches("target", key, keylen))
		read_string_field(r, &a->target, &a->target_set, &a->target_null,
						  &a->target_nul, step);
	else if (field_matches("validfrom", key, keylen))
		read_time_field(r, &a->validfrom, &a->validfrom_set,
						&a->validfrom_null, step);
	else if (field_matches("expireafter", key, keylen))
		read_time_field(r, &a->expireafter, &a->expireafter_set,
						&a->expireafter_null, step);
	else if (field_matches("operations", key, keylen))
	{
		a->operations_seen = true;
		read_operations(r, &a->ops, 1, step);
	}
	else
		gojson_skip_value(r, 1, step);
}

/* stricter than Go, which would sign zero values: see doc/signing.md */
static void
check_action(CanonAction *a)
{
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

/* an action object: the fields MIG signs, as Go's json.Unmarshal fills them */
static void
read_action(GoReader *r, CanonAction *a)
{
	GoPathStep	step = {NULL, NULL, 0, 0};
	unsigned char c = gojson_peek(r);

	if (c != '{')
	{
		gojson_skip_value(r, 0, NULL);
		gojson_finish(r);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MIG action: the JSON value is %s, not an object",
						gojson_kind(c))));
	}
	gojson_expect(r, '{', "Expected \"{\"");
	if (!gojson_accept(r, '}'))
	{
		do
		{
			int			keylen;
			const char *key = gojson_read_key(r, &step, &keylen);

			read_action_field(r, a, key, keylen, &step);
		} while (gojson_next_member(r));
	}
	gojson_finish(r);
	check_action(a);
}

/* operations alone (a column of actions): the array, or null */
static void
read_operations_text(GoReader *r, CanonOps *ops)
{
	GoPathStep	step = {NULL, "operations", 10, 0};

	read_operations(r, ops, 1, &step);
	gojson_finish(r);
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
		gojson_append_string(out, ops->buf.data + op->module_off, op->module_len);
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

/* the one place the string is put together; its length in *len if not NULL */
static char *
build_string(const char *name, int name_len, const char *target, int target_len,
			 int64 validfrom, int64 expireafter, const CanonOps *ops, int *len)
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
	if (len != NULL)
		*len = out.len;
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
 * The C API (canon.h)
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
		GoReader	r;

		operations = to_utf8(operations, &operations_len);
		gojson_init(&r, operations, operations_len, "operations");
		read_operations_text(&r, &ops);
	}
	name = to_utf8(name, &name_len);
	target = to_utf8(target, &target_len);
	return build_string(name, name_len, target, target_len,
						validfrom, expireafter, &ops, NULL);
}

List *
mig_operation_modules(const char *operations, int operations_len)
{
	GoReader	r;
	CanonOps	ops;
	List	   *result = NIL;

	if (operations == NULL)
		return NIL;
	ops_init(&ops);
	operations = to_utf8(operations, &operations_len);
	gojson_init(&r, operations, operations_len, "operations");
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

/*
 * Each field of the string ends where the next delimiter begins, and no
 * delimiter overlaps itself: so an action's string reads back as that
 * action alone when its name and target hold none of them.  Every one is
 * refused in both, more than strictly needed (the name could hold
 * ";validfrom="), to keep the rule one a person can check by eye.
 */
static const char *const canonical_delimiters[] = {
	";target=", ";validfrom=", ";expireafter=", ";operations=", NULL
};

char *
mig_canonical_ambiguity(const char *name, const char *target)
{
	for (int i = 0; canonical_delimiters[i] != NULL; i++)
	{
		if (strstr(name, canonical_delimiters[i]) != NULL)
			return psprintf("the action's name holds \"%s\", a delimiter of the signed "
							"string: its signatures could be another action's",
							canonical_delimiters[i]);
		if (strstr(target, canonical_delimiters[i]) != NULL)
			return psprintf("the action's target holds \"%s\", a delimiter of the signed "
							"string: its signatures could be another action's",
							canonical_delimiters[i]);
	}
	return NULL;
}

/*
 * The string MIG's clients sign for the action json[0..len-1], JSON text in
 * the server encoding, as mig_action_string returns it (and the fuzzer
 * calls it): in the server encoding, its length in *result_len (if not
 * NULL), which strlen() must agree with, as text keeps no NUL.
 */
char *
mig_action_canonical(const char *json, int len, int *result_len)
{
	GoReader	r;
	CanonAction a;
	char	   *result;
	int			rlen;

	memset(&a, 0, sizeof(a));
	initStringInfo(&a.name);
	initStringInfo(&a.target);
	ops_init(&a.ops);

	json = to_utf8(json, &len);
	gojson_init(&r, json, len, "action");
	read_action(&r, &a);

	result = build_string(a.name.data, a.name.len, a.target.data, a.target.len,
						  a.validfrom, a.expireafter, &a.ops, &rlen);
	if (needs_conversion())
	{
		result = pg_any_to_server(result, rlen, PG_UTF8);
		rlen = strlen(result);
	}
	if (result_len != NULL)
		*result_len = rlen;
	return result;
}

/* ---------------------------------------------------------------------
 * SQL
 * ---------------------------------------------------------------------
 */

/* the string MIG's clients sign for the action s[0..len-1], JSON text */
static text *
action_string(const char *s, int len)
{
	int			rlen;
	char	   *result = mig_action_canonical(s, len, &rlen);

	return cstring_to_text_with_len(result, rlen);
}

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

	PG_RETURN_TEXT_P(action_string(VARDATA_ANY(json), VARSIZE_ANY_EXHDR(json)));
}

/*
 * mig_action_string_jsonb(action jsonb) -> text
 *
 * The same of the action as jsonb keeps it: of its text form, read as Go
 * reads JSON.  jsonb has already dropped what Go's decoder reads in order:
 * of a key given twice it kept the last value (even a null, which Go would
 * skip), it sorted the keys (so of "name" and "Name", which Go takes as one
 * field, another one comes last), and it resolved JSON escapes (Go reads a
 * time's raw text) and made -0 a 0.  An action without such keys, escaped
 * times or -0 gives the string of its json form.  Not an overload of
 * mig_action_string: json and jsonb both taking a literal, a call with an
 * untyped one would no longer resolve.
 */
PG_FUNCTION_INFO_V1(mig_action_string_jsonb);
Datum
mig_action_string_jsonb(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	char	   *s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	PG_RETURN_TEXT_P(action_string(s, strlen(s)));
}
