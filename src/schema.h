/*-------------------------------------------------------------------------
 *
 * schema.h
 *	  The extension's own objects, found at run time (schema.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include "access/skey.h"
#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/*
 * The extension's schema and relations, looked up at run time so that the
 * C code never depends on the caller's search_path; columns by name; the
 * owner; the version of the SQL objects installed here (schema.c).
 */
extern Oid	mig_relid(const char *relname);	/* a member of the extension */
extern uint64 mig_schema_generation(void);

/*
 * Indexes of the extension's tables, found from the table by their key
 * columns ("a,b", in order), never by name; rows an index scan returns
 * checked against its keys.
 */
extern Oid	mig_index_find(Relation heap, const char *columns, bool unique);
extern Oid	mig_index_on(Relation heap, const char *columns, bool unique);
extern Relation mig_index_open(Relation heap, const char *columns, bool unique);
extern bool mig_fetch_known_row(Relation rel, ItemPointer tid, Snapshot snapshot,
								TupleTableSlot *slot);
extern void mig_index_recheck(Relation index, ScanKey keys, int nkeys,
							  TupleTableSlot *slot);

extern char *mig_qualified_name(const char *relname);
extern AttrNumber mig_attnum(Relation rel, const char *name);
extern Oid	mig_owner(void);	/* of the extension's tables */
extern Oid	mig_extension_owner(void);	/* InvalidOid: not installed */
extern int	mig_schema_version(void);	/* 101 for "1.1"; 0: not installed */
extern void mig_require_schema_version(int version, const char *what);

#endif							/* SCHEMA_H */
