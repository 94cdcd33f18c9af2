/*-------------------------------------------------------------------------
 *
 * init.c
 *	  The library's entry: PG_MODULE_MAGIC and _PG_init, which defines the
 *	  settings (mig.c), gives jansson PostgreSQL's allocator and registers
 *	  the spool worker (worker.c).  The top of the layers: it alone may
 *	  include from every one.
 *
 *	  Not here: the settings themselves (mig.c), the worker (worker.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "mig.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	mig_define_settings();
	mig_jansson_init();
	mig_worker_register();
}
