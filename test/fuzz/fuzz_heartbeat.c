/*
 * fuzz_heartbeat: the heartbeat reader (src/heartbeat.c on jsondoc.c and
 * gotime.c), mig_heartbeat_parse() as mig_agent_heartbeat() calls it.
 *
 * The function gets its text from SQL, so only what text_to_cstring() can
 * give reaches it: valid UTF-8 without NUL; other inputs are skipped.
 * Checks besides the sanitizers':
 *
 *	- no ERROR: a bad heartbeat returns false with a sentence, which the
 *	  caller raises as 22023 (any ERROR escapes mig_fuzz_run() and is
 *	  reported here);
 *	- an accepted heartbeat has an id that is 0 (none) or a positive exact
 *	  one, a name and a queue location not empty, an os and a version (""
 *	  if none), a pid an int4 column takes, valid times where it has them,
 *	  an environment that is a JSON object and tags that are JSON;
 *	- every string a column gets is valid UTF-8 within its length;
 *	- the same text parses the same way twice.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "check.h"
#include "heartbeat.h"
#include "shim.h"

/* Go's float64 ids are exact integers up to 2^53 (jsondoc.c) */
#define MAX_EXACT_ID INT64CONST(9007199254740992)

static void
check_heartbeat(Heartbeat *h, size_t size)
{
	if (h->id < 0 || h->id > MAX_EXACT_ID)
		mig_fuzz_fail("id " INT64_FORMAT, h->id);
	mig_fuzz_check_string("the name", h->name, 2048, true);
	mig_fuzz_check_string("the queueloc", h->queueloc, 2048, true);
	mig_fuzz_check_string("the os", h->os, 2048, false);
	mig_fuzz_check_string("the version", h->version, 2048, false);
	if (h->status != NULL)
		mig_fuzz_check_string("the status", h->status, 256, false);
	if (h->mode != NULL)
		mig_fuzz_check_string("the mode", h->mode, 0, false);
	if (h->loadername != NULL)
		mig_fuzz_check_string("the loader's name", h->loadername, 0, false);
	if (h->pid < 0 || h->pid > PG_INT32_MAX)
		mig_fuzz_fail("pid " INT64_FORMAT, h->pid);
	mig_fuzz_check_time("the start time", h->starttime);
	if (h->has_destructiontime)
		mig_fuzz_check_time("the destruction time", h->destructiontime);
	if (h->has_heartbeattime)
		mig_fuzz_check_time("the heartbeat time", h->heartbeattime);
	if (h->has_refreshtime)
		mig_fuzz_check_time("the refresh time", h->refreshtime);
	if (!h->has_authorized && h->authorized)
		mig_fuzz_fail("authorized without saying so");
	if (h->environment != NULL)
		mig_fuzz_check_json("the environment", h->environment, '{', size);
	if (h->tags != NULL)
		mig_fuzz_check_json("the tags", h->tags, 0, size);
}

static void
one(const uint8 *data, size_t size, void *arg)
{
	char	   *text = palloc(size + 1);
	Heartbeat	h,
				h2;
	char	   *error = NULL;
	char	   *error2 = NULL;
	bool		ok;

	memcpy(text, data, size);
	text[size] = '\0';
	ok = mig_heartbeat_parse(text, size, &h, &error);
	if (ok != mig_heartbeat_parse(text, size, &h2, &error2))
		mig_fuzz_fail("two parses disagree");
	if (!ok)
	{
		if (error == NULL || error[0] == '\0' || error2 == NULL || strcmp(error, error2) != 0)
			mig_fuzz_fail("refused without a sentence, or two");
		mig_fuzz_check_string("the error", error, 0, true);
		return;
	}
	if (h.id != h2.id || strcmp(h.queueloc, h2.queueloc) != 0 ||
		h.heartbeattime != h2.heartbeattime)
		mig_fuzz_fail("two parses disagree on the agent");
	check_heartbeat(&h, size);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	MigFuzzError e;

	/* what a text argument can hold */
	if (size > PG_INT32_MAX ||
		pg_encoding_verifymbstr(PG_UTF8, (const char *) data, size) != (int) size)
		return 0;
	if (!mig_fuzz_run(one, data, size, NULL, &e))
		mig_fuzz_fail("ERROR %s: %s", unpack_sql_state(e.sqlerrcode), e.message);
	return 0;
}
