/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  The action counters, for the spool sync of a database on 1.0 (counters.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef COUNTERS_H
#define COUNTERS_H


/* recount these actions (numeric[]) in the caller's SPI connection */
extern void mig_recount_actions(Datum ids);

#endif							/* COUNTERS_H */
