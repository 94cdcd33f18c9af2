/*
 * fuzz_canon: the canonical signed string (src/canon.c over src/gojson.c,
 * src/gotime.c for the times), the input read three ways:
 *
 *	- as an action: mig_action_canonical, what mig_action_string and
 *	  mig_action_string_jsonb run;
 *	- as an operations array: mig_canonical_string, what the signature check
 *	  runs on the operations column, and mig_operation_modules, what the
 *	  ACLs run on it.
 *
 * Checks besides the sanitizers':
 *	- an ERROR is a data exception (class 22: 22023, 22P02) or the stack
 *	  depth limit (class 54), never anything else;
 *	- the same action gives the same answer twice (bytes, or SQLSTATE);
 *	- a string has no NUL byte: text would silently cut the signed string;
 *	- the operations' JSON in a string is Go's json.Marshal of what Go's
 *	  decoder read, so reading it again gives it back byte for byte (a
 *	  fixpoint: Marshal(Unmarshal(Marshal(x))) == Marshal(x));
 *	- operations that mig_canonical_string accepts, put in an action,
 *	  give the same string through mig_action_canonical (the two entry
 *	  points share one reader), and mig_operation_modules accepts them too
 *	  (but a module holding \u0000), listing distinct names; what
 *	  mig_canonical_string refuses, mig_operation_modules refuses with the
 *	  same SQLSTATE.
 *
 * Whether the strings are Go's own is canon.check's question: with
 * MIG_FUZZ_PRINT=1 in the environment, this program does not fuzz but reads
 * lines from stdin, each the hex of an input (anything after a tab
 * ignored), and prints for each the answer of mig_action_canonical: "ok
 * HEX" (the string, hex) or "error SQLSTATE message".
 *
 * With MIG_FUZZ_KEEP=DIR, it also writes to DIR every input it runs that
 * mig accepts, as an action or as operations, and one in 16 of the others
 * (oracle.h), for canon.check to compare many more strings with Go's.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "canon.h"
#include "nodes/pg_list.h"
#include "oracle.h"
#include "shim.h"

/* the action's fields around the operations in mig_canonical_string's result */
#define OPS_PREFIX "name=n;target=t;validfrom=0;expireafter=%!s(int64=0);operations="
/* an action with the same fields, the operations to follow */
#define ACTION_PREFIX "{\"name\":\"n\",\"target\":\"t\",\"validfrom\":\"1970-01-01T00:00:00Z\"," \
	"\"expireafter\":\"1970-01-01T00:00:00Z\",\"operations\":"

/* one answer, copied out of the arena (malloc) */
typedef struct Answer
{
	char	   *bytes;
	int			len;
	MigFuzzError error;
} Answer;

static void
keep(Answer *a, const char *s, int len)
{
	if ((int) strlen(s) != len)
		mig_fuzz_fail("a canonical string of %d bytes has a NUL at byte %d",
					  len, (int) strlen(s));
	a->bytes = malloc(len + 1);
	if (a->bytes == NULL)
		mig_fuzz_fail("out of memory");
	memcpy(a->bytes, s, len + 1);
	a->len = len;
}

static void
action_fn(const uint8 *data, size_t size, void *arg)
{
	int			len;
	char	   *s = mig_action_canonical((const char *) data, size, &len);

	keep((Answer *) arg, s, len);
}

static void
operations_fn(const uint8 *data, size_t size, void *arg)
{
	char	   *s = mig_canonical_string("n", "t", 0, 0, (const char *) data, size);

	keep((Answer *) arg, s, strlen(s));
}

static void
modules_fn(const uint8 *data, size_t size, void *arg)
{
	List	   *modules = mig_operation_modules((const char *) data, size);
	ListCell   *lc;

	foreach(lc, modules)
	{
		for (ListCell *lc2 = lnext(modules, lc); lc2 != NULL; lc2 = lnext(modules, lc2))
			if (strcmp(lfirst(lc), lfirst(lc2)) == 0)
				mig_fuzz_fail("module \"%s\" listed twice", (char *) lfirst(lc));
	}
	*(int *) arg = list_length(modules);
}

/* run fn on the input: true with a->bytes, or false with a->error checked */
static bool
run(MigFuzzFn fn, const uint8 *data, size_t size, Answer *a)
{
	a->bytes = NULL;
	a->len = 0;
	if (mig_fuzz_run(fn, data, size, a, &a->error))
		return true;
	if (ERRCODE_TO_CATEGORY(a->error.sqlerrcode) != ERRCODE_DATA_EXCEPTION &&
		ERRCODE_TO_CATEGORY(a->error.sqlerrcode) != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		mig_fuzz_fail("unexpected error %s: %s",
					  unpack_sql_state(a->error.sqlerrcode), a->error.message);
	return false;
}

static void
same_answer(const char *what, bool ok1, const Answer *a1, bool ok2, const Answer *a2)
{
	if (ok1 != ok2)
		mig_fuzz_fail("%s: accepted once, refused once (%s)", what,
					  ok1 ? a2->error.message : a1->error.message);
	if (ok1 && (a1->len != a2->len || memcmp(a1->bytes, a2->bytes, a1->len) != 0))
		mig_fuzz_fail("%s: two different strings", what);
	if (!ok1 && a1->error.sqlerrcode != a2->error.sqlerrcode)
		mig_fuzz_fail("%s: refused with %s, then with %s", what,
					  unpack_sql_state(a1->error.sqlerrcode),
					  unpack_sql_state(a2->error.sqlerrcode));
}

/* the input as operations: the fixpoint, the action, the modules; accepted? */
static bool
check_operations(const uint8 *data, size_t size)
{
	Answer		ops,
				again,
				act;
	bool		ok = run(operations_fn, data, size, &ops);
	int			nmodules;
	MigFuzzError merr;
	bool		mok = mig_fuzz_run(modules_fn, data, size, &nmodules, &merr);

	if (!ok)
	{
		if (mok)
			mig_fuzz_fail("mig_operation_modules accepts what mig_canonical_string refuses (%s)",
						  ops.error.message);
		if (merr.sqlerrcode != ops.error.sqlerrcode)
			mig_fuzz_fail("mig_operation_modules refuses with %s, mig_canonical_string with %s",
						  unpack_sql_state(merr.sqlerrcode),
						  unpack_sql_state(ops.error.sqlerrcode));
		return false;
	}
	if (!mok && strstr(merr.message, "contains \\u0000") == NULL)
		mig_fuzz_fail("mig_operation_modules refuses what mig_canonical_string accepts: %s",
					  merr.message);

	/* OPS_PREFIX json ";" */
	if (ops.len < (int) strlen(OPS_PREFIX) + 1 ||
		memcmp(ops.bytes, OPS_PREFIX, strlen(OPS_PREFIX)) != 0 ||
		ops.bytes[ops.len - 1] != ';')
		mig_fuzz_fail("mig_canonical_string: not the shape of a signed string");
	{
		const char *json = ops.bytes + strlen(OPS_PREFIX);
		int			jlen = ops.len - strlen(OPS_PREFIX) - 1;

		if (!run(operations_fn, (const uint8 *) json, jlen, &again))
			mig_fuzz_fail("its own operations refused: %s", again.error.message);
		if (again.len != ops.len || memcmp(again.bytes, ops.bytes, ops.len) != 0)
			mig_fuzz_fail("its own operations read again give another string");
		free(again.bytes);

		/* the same operations in an action; null is refused there on purpose */
		if (!(jlen == 4 && memcmp(json, "null", 4) == 0))
		{
			size_t		alen = strlen(ACTION_PREFIX) + size + 1;
			char	   *action = malloc(alen);

			if (action == NULL)
				mig_fuzz_fail("out of memory");
			memcpy(action, ACTION_PREFIX, strlen(ACTION_PREFIX));
			memcpy(action + strlen(ACTION_PREFIX), data, size);
			action[alen - 1] = '}';
			if (!run(action_fn, (const uint8 *) action, alen, &act))
				mig_fuzz_fail("operations accepted alone, refused in an action: %s",
							  act.error.message);
			if (act.len != ops.len || memcmp(act.bytes, ops.bytes, ops.len) != 0)
				mig_fuzz_fail("operations give another string in an action");
			free(act.bytes);
			free(action);
		}
	}
	free(ops.bytes);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	Answer		a1,
				a2;
	bool		ok1 = run(action_fn, data, size, &a1);
	bool		ok2 = run(action_fn, data, size, &a2);

	same_answer("mig_action_canonical", ok1, &a1, ok2, &a2);
	free(a1.bytes);
	free(a2.bytes);
	if (check_operations(data, size))
		ok1 = true;
	mig_fuzz_keep(data, size, ok1);
	return 0;
}

/* ---------------------------------------------------------------------
 * MIG_FUZZ_PRINT=1: mig's answers, for canon.check to compare with Go's
 * ---------------------------------------------------------------------
 */

static void
print_answer(const uint8 *data, size_t size)
{
	Answer		a;

	if (run(action_fn, data, size, &a))
	{
		fputs("ok ", stdout);
		for (int i = 0; i < a.len; i++)
			printf("%02x", (unsigned char) a.bytes[i]);
		putchar('\n');
		free(a.bytes);
	}
	else
		mig_fuzz_print_error(a.error.sqlerrcode, a.error.message);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (mig_fuzz_print_mode())
		mig_fuzz_print_answers(print_answer);
	return 0;
}
