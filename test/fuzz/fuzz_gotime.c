/*
 * fuzz_gotime: the RFC 3339 / Go time parser (src/gotime.c), as spool files
 * and actions' validfrom and expireafter reach it.
 *
 * Checks besides the sanitizers': a time the parser accepts has nanoseconds
 * in [0, 1e9), and converts to a timestamptz and back to the same second
 * (or raises 22008, out of range); the same text parses the same way twice.
 */
#include "postgres.h"

#include "gotime.h"
#include "shim.h"

static void
one(const uint8 *data, size_t size, void *arg)
{
	int64		sec,
				sec2;
	int32		nsec,
				nsec2;
	bool		ok = mig_parse_rfc3339((const char *) data, size, &sec, &nsec);

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

	if (!mig_fuzz_run(one, data, size, NULL, &e) &&
		e.sqlerrcode != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
		mig_fuzz_fail("unexpected error %s: %s", unpack_sql_state(e.sqlerrcode), e.message);
	return 0;
}
