/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  The action counters, for the spool sync (counters.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef COUNTERS_H
#define COUNTERS_H


/* the counters' columns of actions, and as many zeros, for an INSERT */
extern char *mig_counter_columns_sql(void);
extern char *mig_counter_zeros_sql(void);

/* recount these actions (numeric[]) in the caller's SPI connection */
extern void mig_recount_actions(Datum ids);

#endif							/* COUNTERS_H */
