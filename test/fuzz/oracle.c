/*-------------------------------------------------------------------------
 *
 * oracle.c
 *	  For the harnesses with an oracle: keeping inputs while fuzzing
 *	  (MIG_FUZZ_KEEP) and printing mig's answers to a list of inputs
 *	  (MIG_FUZZ_PRINT), which test/fuzz/NAME.check compares with Go's.
 *
 * See oracle.h.  Not here: what the answers are (each harness prints its
 * own) and the comparison (the .check scripts).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "oracle.h"
#include "shim.h"

void
mig_fuzz_keep(const uint8 *data, size_t size, bool accepted)
{
	static const char *dir = NULL;
	static long left = -1;
	uint64		h = UINT64CONST(0xcbf29ce484222325);
	char		path[4096];
	FILE	   *f;

	if (left < 0)
	{
		const char *max = getenv("MIG_FUZZ_KEEP_MAX");

		dir = getenv("MIG_FUZZ_KEEP");
		left = dir == NULL || dir[0] == '\0' ? 0 : max ? atol(max) : 20000;
	}
	if (left == 0)
		return;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * UINT64CONST(0x100000001b3);
	if (!accepted && (h & 15) != 0)
		return;
	snprintf(path, sizeof(path), "%s/keep-%016llx", dir, (unsigned long long) h);
	if ((f = fopen(path, "wbx")) == NULL)
		return;					/* kept already, or cannot: not the fuzzer's business */
	if (fwrite(data, 1, size, f) != size)
		mig_fuzz_fail("MIG_FUZZ_KEEP: cannot write %s", path);
	fclose(f);
	left--;
}

bool
mig_fuzz_print_mode(void)
{
	const char *print = getenv("MIG_FUZZ_PRINT");

	return print != NULL && print[0] != '\0' && strcmp(print, "0") != 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
mig_fuzz_print_answers(MigFuzzAnswerFn answer)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;

	while ((n = getline(&line, &cap, stdin)) >= 0)
	{
		uint8	   *data = malloc(n / 2 + 1);
		size_t		size = 0;

		if (data == NULL)
			mig_fuzz_fail("out of memory");
		for (ssize_t i = 0; i + 1 < n && hexval(line[i]) >= 0; i += 2)
		{
			if (hexval(line[i + 1]) < 0)
				mig_fuzz_fail("odd hex in the input line");
			data[size++] = hexval(line[i]) << 4 | hexval(line[i + 1]);
		}
		answer(data, size);
		free(data);
	}
	free(line);
	if (fflush(stdout) != 0 || ferror(stdin))
		mig_fuzz_fail("print mode: I/O error");
	exit(0);
}

void
mig_fuzz_print_error(int sqlerrcode, const char *message)
{
	fputs("error ", stdout);
	fputs(unpack_sql_state(sqlerrcode), stdout);
	putchar(' ');
	for (const char *c = message; *c; c++)
		putchar(*c == '\n' || *c == '\r' ? ' ' : *c);
	putchar('\n');
}
