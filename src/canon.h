/*-------------------------------------------------------------------------
 *
 * canon.h
 *	  MIG's canonical signed string, for the code that verifies actions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CANON_H
#define CANON_H

#include "nodes/pg_list.h"

/*
 * The canonical signed string (canon.c), byte for byte what MIG's Go
 * clients sign.  mig_canonical_string builds it from an action row's
 * columns, in the server encoding; the result is the UTF-8 bytes to verify
 * (operations NULL or JSON null: Go's nil slice, "null").
 * mig_operation_modules lists the distinct module names of an operations
 * array in first-seen order (NIL for NULL or null).  Both read operations
 * as Go does and raise ERROR 22023/22P02 on malformed operations.
 */
extern char *mig_canonical_string(const char *name, const char *target,
								  int64 validfrom, int64 expireafter,
								  const char *operations, int operations_len);
extern List *mig_operation_modules(const char *operations, int operations_len);

/*
 * The string does not escape its delimiters (MIG's format): an action whose
 * name or target holds one (";target=", ";validfrom=", ...) signs the same
 * string as another action whose fields are cut elsewhere, so a signature
 * could move between them.  mig_canonical_ambiguity says why an action is
 * such a one, or gives NULL.
 */
extern char *mig_canonical_ambiguity(const char *name, const char *target);

/*
 * mig_action_canonical is mig_action_string's: the canonical string of an
 * action given as JSON text (len bytes, server encoding), palloc'd, in the
 * server encoding, its length in *result_len (may be NULL).  ERROR 22023 or
 * 22P02 for what it refuses (see canon.c).
 */
extern char *mig_action_canonical(const char *json, int len, int *result_len);

#endif							/* CANON_H */
