/*-------------------------------------------------------------------------
 *
 * mig_jansson.h
 *	  Include jansson next to PostgreSQL's headers.
 *
 *	  PostgreSQL's fmgrprotos.h (pulled in by utils/builtins.h) declares the
 *	  SQL functions json_object() and json_typeof(), which jansson also
 *	  defines (a function and a macro).  Include this header instead of
 *	  <jansson.h>: it includes builtins.h first with those two names moved
 *	  aside, so that every file sees jansson's meaning of them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_JANSSON_H
#define MIG_JANSSON_H

#define json_object pg_fmgr_json_object
#define json_typeof pg_fmgr_json_typeof
#include "utils/builtins.h"
#undef json_object
#undef json_typeof

#include <jansson.h>

#endif							/* MIG_JANSSON_H */
