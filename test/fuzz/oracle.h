/*-------------------------------------------------------------------------
 *
 * oracle.h
 *	  What a harness with an oracle (test/fuzz/NAME.check, which compares
 *	  mig's answers with Go's) shares: keeping inputs for the oracle while
 *	  fuzzing, and printing mig's answers for it (oracle.c).
 *
 * Not here: the server's functions (shim.c) and the checks of what a
 * parser accepted (check.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_FUZZ_ORACLE_H
#define MIG_FUZZ_ORACLE_H

#include "postgres.h"

/*
 * MIG_FUZZ_KEEP=DIR (DIR must exist): the input into DIR, named
 * keep-<FNV-1a hash>, if mig accepted it, and one in 16 of the others, up
 * to MIG_FUZZ_KEEP_MAX files (20000).  The fuzzer keeps an input only for
 * new coverage and a corpus is mostly refusals: this gives the oracle many
 * more answers to compare.  Nothing without MIG_FUZZ_KEEP.
 */
extern void mig_fuzz_keep(const uint8 *data, size_t size, bool accepted);

/*
 * MIG_FUZZ_PRINT=1 (in LLVMFuzzerInitialize): true if the program is to
 * print answers, not fuzz.
 */
extern bool mig_fuzz_print_mode(void);

/*
 * Read lines from stdin, each the hex of an input (anything after the
 * hex, a tab and what follows, ignored), and call answer() for each, which
 * prints one line to stdout (mig_fuzz_print_line's form); then exit(0).
 */
typedef void (*MigFuzzAnswerFn) (const uint8 *data, size_t size);
extern void mig_fuzz_print_answers(MigFuzzAnswerFn answer) pg_attribute_noreturn();

/* "error SQLSTATE message" on one line (newlines of the message as spaces) */
extern void mig_fuzz_print_error(int sqlerrcode, const char *message);

#endif							/* MIG_FUZZ_ORACLE_H */
