/*
 * fuzz_gotime: the RFC 3339 / Go time parser (src/gotime.c), as spool files
 * and actions' validfrom and expireafter reach it.
 *
 * Checks besides the sanitizers': a time the parser accepts has nanoseconds
 * in [0, 1e9), and converts to a timestamptz and back to the same second
 * (or raises 22008, out of range); the same text parses the same way twice.
 *
 * Whether the times are Go's own is gotime.check's question: with
 * MIG_FUZZ_PRINT=1 in the environment, this program does not fuzz but reads
 * lines from stdin, each the hex of an input, and prints for each what
 * mig_parse_rfc3339 makes of it: "ok SECONDS NANOSECONDS" (Unix seconds,
 * the floor) or "refused".  With MIG_FUZZ_KEEP=DIR, it also writes to DIR
 * every input it runs that the parser accepts, and one in 16 of the others
 * (oracle.h), for gotime.check to compare with Go.
 */
#include "postgres.h"

#include <stdio.h>

#include "gotime.h"
#include "oracle.h"
#include "shim.h"

static void
one(const uint8 *data, size_t size, void *arg)
{
	int64		sec,
				sec2;
	int32		nsec,
				nsec2;
	bool		ok = mig_parse_rfc3339((const char *) data, size, &sec, &nsec);

	*(bool *) arg = ok;
	if (ok != mig_parse_rfc3339((const char *) data, size, &sec2, &nsec2))
		mig_fuzz_fail("two parses disagree");
	if (!ok)
		return;
	if (sec != sec2 || nsec != nsec2)
		mig_fuzz_fail("two parses disagree on the time");
	if (nsec < 0 || nsec >= 1000000000)
		mig_fuzz_fail("nanoseconds %d out of range", nsec);
	{
		TimestampTz ts = mig_unix_to_timestamptz(sec, nsec);

		if (mig_timestamptz_to_unix(ts) != sec)
			mig_fuzz_fail("%lld does not come back from a timestamptz", (long long) sec);
	}
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	MigFuzzError e;
	bool		accepted = false;

	if (!mig_fuzz_run(one, data, size, &accepted, &e) &&
		e.sqlerrcode != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
		mig_fuzz_fail("unexpected error %s: %s", unpack_sql_state(e.sqlerrcode), e.message);
	mig_fuzz_keep(data, size, accepted);
	return 0;
}

/* MIG_FUZZ_PRINT=1: mig's answers, for gotime.check to compare with Go's */
static void
print_answer(const uint8 *data, size_t size)
{
	int64		sec;
	int32		nsec;

	if (mig_parse_rfc3339((const char *) data, size, &sec, &nsec))
		printf("ok %lld %d\n", (long long) sec, (int) nsec);
	else
		puts("refused");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (mig_fuzz_print_mode())
		mig_fuzz_print_answers(print_answer);
	return 0;
}
