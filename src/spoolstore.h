/*-------------------------------------------------------------------------
 *
 * spoolstore.h
 *	  Writing a batch of spool files to the tables (spoolstore.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOOLSTORE_H
#define SPOOLSTORE_H

#include "spoolfile.h"
#include "utils.h"

/*
 * What one batch changed, for NOTIFY mig_spool: counts only.  Any role that
 * can connect may LISTEN, so the payload names nothing (no action, no
 * path): a listener reads what it is allowed to read.
 */
typedef struct BatchNotes
{
	int64		ingested;
	int64		deferred;
	int64		failed;
	int64		removed;
} BatchNotes;

/*
 * In the caller's SPI connection, with spool_files locked (spool.c): write
 * what the files still OUT_NONE hold, each kind as its row in spoolstore.c
 * says (setting their outcomes); record the files in spool_files and
 * delete the rows of the paths in gone; record a directory that cannot be entered, or forget
 * that it could not; send what a batch changed.
 */
extern void mig_spool_store_batch(SpoolFile *files, int n, int schema_version,
								  BatchNotes *notes);
extern void mig_spool_record_files(const char *spool, SpoolFile *files, int n,
								   MigArray *gone);
extern void mig_spool_record_dir(const char *spool, const char *path, int dir,
								 const char *problem, BatchNotes *notes);
extern void mig_spool_notify(BatchNotes *notes);
extern void mig_spool_store_forget_plans(void);

#endif							/* SPOOLSTORE_H */
