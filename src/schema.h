/*-------------------------------------------------------------------------
 *
 * schema.h
 *	  The extension's own objects, found at run time (schema.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include "utils/relcache.h"

/*
 * The extension's schema and relations, looked up at run time so that the
 * C code never depends on the caller's search_path; columns by name; the
 * owner; the version of the SQL objects installed here (schema.c).
 */
extern Oid	mig_relid(const char *relname);
extern char *mig_qualified_name(const char *relname);
extern AttrNumber mig_attnum(Relation rel, const char *name);
extern Oid	mig_owner(void);	/* of the extension's tables */
extern Oid	mig_extension_owner(void);	/* InvalidOid: not installed */
extern int	mig_schema_version(void);	/* 101 for "1.1"; 0: not installed */

#endif							/* SCHEMA_H */
