/*-------------------------------------------------------------------------
 *
 * jsondoc.h
 *	  MIG's JSON documents: spool files and heartbeats (jsondoc.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSONDOC_H
#define JSONDOC_H

#include "datatype/timestamp.h"

/*
 * MIG's JSON documents (jsondoc.c): JSON as PostgreSQL's parser accepts
 * it, keeping the members of the root object (index 0) and of the objects
 * directly in it.  Getters return false with *error set to a sentence
 * naming prefix+key.
 */
typedef struct MigJsonDoc MigJsonDoc;

#define MIG_JSON_OBJECT 1
#define MIG_JSON_ARRAY 2
#define MIG_JSON_SCALAR 4

extern MigJsonDoc *mig_json_parse(char *text, int len, char **error);

/*
 * The two ways mig_json_parse reads a document: the fast scan (NULL when
 * it is not sure) and PostgreSQL's parser, the reference; and what tells
 * two documents apart (NULL: nothing), which test/fuzz/fuzz_jsondoc.c
 * holds the scan to.
 */
extern MigJsonDoc *mig_json_scan(char *text, int len);
extern MigJsonDoc *mig_json_parse_reference(char *text, int len, char **error);
extern char *mig_json_doc_differs(const MigJsonDoc *a, const MigJsonDoc *b);
extern bool mig_json_has(MigJsonDoc *doc, int obj, const char *key);
extern bool mig_json_get_object(MigJsonDoc *doc, int obj, const char *prefix,
								const char *key, int *out, char **error);
extern bool mig_json_get_string(MigJsonDoc *doc, int obj, const char *prefix,
								const char *key, int maxchars, bool required,
								char **out, char **error);
extern bool mig_json_get_time(MigJsonDoc *doc, int obj, const char *prefix,
							  const char *key, bool required, TimestampTz *out,
							  bool *unset, char **error);
extern bool mig_json_get_int(MigJsonDoc *doc, int obj, const char *prefix,
							 const char *key, int64 min, int64 max,
							 bool *present, int64 *out, char **error);
extern bool mig_json_get_id(MigJsonDoc *doc, int obj, const char *prefix,
							const char *key, int64 *out, char **error);
extern bool mig_json_get_bool(MigJsonDoc *doc, int obj, const char *prefix,
							  const char *key, bool *present, bool *out,
							  char **error);
extern bool mig_json_get_verbatim(MigJsonDoc *doc, int obj, const char *prefix,
								  const char *key, int allowed, bool strings_only,
								  text **out, char **error);

#endif							/* JSONDOC_H */
