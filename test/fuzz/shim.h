/*-------------------------------------------------------------------------
 *
 * shim.h
 *	  What mig's parsers need of the server, for the fuzzers (shim.c).
 *
 * The harnesses (fuzz_*.c) link the extension's own parser files, compiled
 * with the sanitizers, against this shim and the frontend libpgcommon and
 * libpgport that postgresql-server-dev-15 ships (PostgreSQL's JSON parser,
 * StringInfo, base64, SHA-256, snprintf).  The shim supplies the rest:
 *
 *	- palloc and friends, each chunk a malloc of its own (so AddressSanitizer
 *	  sees every bound), all of an input freed by mig_fuzz_run() as a memory
 *	  context reset would;
 *	- ereport/elog: ERROR and above longjmp to the PG_TRY of mig_fuzz_run(),
 *	  which checks the error (an SQLSTATE that is not XX000, a message) and
 *	  keeps it for the harness; FATAL and PANIC abort;
 *	- a few backend functions the parsers call (the database encoding is
 *	  UTF-8), and stubs that abort for those the harnesses never reach.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_FUZZ_SHIM_H
#define MIG_FUZZ_SHIM_H

#include "postgres.h"

/* the error a call raised: its SQLSTATE and message */
typedef struct MigFuzzError
{
	int			sqlerrcode;
	char		message[1024];
	char		detail[1024];
} MigFuzzError;

/*
 * Run fn(data, size) as one statement of the server would: with a fresh
 * memory arena and a PG_TRY around it.  Returns true if it returned, false
 * if it raised an ERROR, which is then in *error (if not NULL).  Aborts (a
 * crash the fuzzer reports) on an ERROR without a proper SQLSTATE or
 * message.  What fn palloc'd is freed on return; copy what you keep.
 */
typedef void (*MigFuzzFn) (const uint8 *data, size_t size, void *arg);
extern bool mig_fuzz_run(MigFuzzFn fn, const uint8 *data, size_t size,
						 void *arg, MigFuzzError *error);

/* abort with a message: a harness's own assertion */
extern void mig_fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

#endif							/* MIG_FUZZ_SHIM_H */
