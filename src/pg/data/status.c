/*
 * status.c - the core and the server meeting halfway: the core's stop
 * callback polls the server's pending interrupts, and the core's status codes
 * become ereports with their SQLSTATEs.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "data/data.h"

/*
 * The core's stop callback: stop when a cancel or termination is pending; the
 * caller then runs CHECK_FOR_INTERRUPTS() once the core has returned.
 */
int
xdpg_stop(void *arg)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/* Maps a core status to an ereport (after an interrupt check for XD_ECANCELLED). */
void
xdpg_check_status(xd_status st, const char *what)
{
	switch (st)
	{
		case XD_OK:
			return;
		case XD_ECANCELLED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling %s", what)));
			break;
		case XD_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while %s", what),
					 errhint("Raise xdrec.train_memory or use a smaller model (d, layers).")));
			break;
		case XD_ENUMERIC:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s produced a nan or infinite value", what),
					 errhint("Lower the learning rate (option \"lr\").")));
			break;
		case XD_ENODATA:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("not enough data for %s", what)));
			break;
		case XD_EFORMAT:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("malformed stored weights while %s", what)));
			break;
		case XD_EINVAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid argument while %s", what)));
			break;
	}
}
