/*
 * fuzz_jsondoc: the fast scan of a JSON document (src/jsondoc.c,
 * mig_json_scan) against the reference parse it stands in for
 * (mig_json_parse_reference: PostgreSQL's JSON parser with the collector),
 * a differential fuzzer.  The spool sync and the heartbeat read every
 * document through mig_json_parse(), which takes the scan's document when
 * the scan is sure and the reference's otherwise; the two must differ in
 * speed only.
 *
 * Any bytes are an input, not only the valid UTF-8 without NUL that the
 * callers give: the scan must agree with the reference on those too.  The
 * reference here is the frontend build of PostgreSQL's parser (shim.h),
 * which differs from the server's only in how a \u escape becomes text in
 * a database that is not UTF-8, where the scan steps aside.
 *
 * Checks besides the sanitizers':
 *
 *	- nothing raises (an ERROR escapes mig_fuzz_run() and is reported here);
 *	- the scan gives a document exactly when the reference accepts the
 *	  text, or refuses it for a member named twice only (a check the scan
 *	  leaves to mig_json_parse): it gives up on no valid document, and
 *	  accepts no invalid one;
 *	- when both give a document, the two are the same
 *	  (mig_json_doc_differs: every object, and every member's name, type,
 *	  value, text and place);
 *	- mig_json_parse() answers as the reference does: the same document,
 *	  or a refusal with the same sentence.
 *
 * MIG_FUZZ_VERBOSE=1 fuzz_jsondoc FILE...: what each input gave.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "jsondoc.h"
#include "shim.h"

/* the reference's sentence for a member named twice (jsondoc.c) */
static bool
refused_for_duplicate(const char *error)
{
	size_t		len = strlen(error);
	const char *tail = "\" appears twice";

	return strncmp(error, "field \"", 7) == 0 && len >= 7 + strlen(tail) &&
		strcmp(error + len - strlen(tail), tail) == 0;
}

static void
one(const uint8 *data, size_t size, void *arg)
{
	char	   *text = palloc(size + 1);
	MigJsonDoc *scan;
	MigJsonDoc *ref;
	MigJsonDoc *parsed;
	char	   *ref_error = NULL;
	char	   *error = NULL;
	char	   *differs;

	/* as the callers leave it: NUL-terminated at size */
	memcpy(text, data, size);
	text[size] = '\0';

	scan = mig_json_scan(text, (int) size);
	ref = mig_json_parse_reference(text, (int) size, &ref_error);
	if (ref == NULL && (ref_error == NULL || ref_error[0] == '\0'))
		mig_fuzz_fail("the reference refuses without a sentence");
	if (getenv("MIG_FUZZ_VERBOSE"))
		fprintf(stderr, "scan: %s; reference: %s\n",
				scan ? "a document" : "not sure", ref ? "a document" : ref_error);

	if (ref != NULL)
	{
		if (scan == NULL)
			mig_fuzz_fail("the scan gives up on a document the reference accepts");
		differs = mig_json_doc_differs(ref, scan);
		if (differs != NULL)
			mig_fuzz_fail("the scan's document differs from the reference's: %s", differs);
	}
	else if (refused_for_duplicate(ref_error))
	{
		if (scan == NULL)
			mig_fuzz_fail("the scan gives up on a document the reference refuses "
						  "for a duplicate only: %s", ref_error);
	}
	else if (scan != NULL)
		mig_fuzz_fail("the scan accepts a document the reference refuses: %s", ref_error);

	parsed = mig_json_parse(text, (int) size, &error);
	if ((parsed == NULL) != (ref == NULL))
		mig_fuzz_fail("mig_json_parse %s, the reference %s", parsed ? "accepts" : "refuses",
					  ref ? "accepts" : "refuses");
	if (parsed == NULL)
	{
		if (error == NULL || strcmp(error, ref_error) != 0)
			mig_fuzz_fail("mig_json_parse refuses with \"%s\", the reference with \"%s\"",
						  error ? error : "(nothing)", ref_error);
		return;
	}
	differs = mig_json_doc_differs(ref, parsed);
	if (differs != NULL)
		mig_fuzz_fail("mig_json_parse's document differs from the reference's: %s", differs);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	MigFuzzError e;

	if (size > PG_INT32_MAX - 1)
		return 0;
	if (!mig_fuzz_run(one, data, size, NULL, &e))
		mig_fuzz_fail("ERROR %s: %s", unpack_sql_state(e.sqlerrcode), e.message);
	return 0;
}
