/*
 * status.h - return codes of the pure-C core.
 *
 * The core never aborts or exits: every function that can fail returns one of
 * these, and the PostgreSQL layer maps them to ereport() with an SQLSTATE.
 */
#ifndef XDREC_STATUS_H
#define XDREC_STATUS_H

typedef enum xd_status
{
	XD_OK = 0,
	XD_ENOMEM,			/* an allocation failed or a memory budget was exceeded */
	XD_EINVAL,			/* bad argument: shape, size, option out of range */
	XD_ENODATA,			/* too little data to do what was asked */
	XD_ENUMERIC,		/* NaN or infinity appeared in a loss or a parameter */
	XD_ECANCELLED,		/* the stop callback asked us to stop */
	XD_EFORMAT			/* a serialised blob is malformed */
} xd_status;

/* A short lowercase description, for error messages. */
static inline const char *
xd_status_message(xd_status s)
{
	switch (s)
	{
		case XD_OK: return "ok";
		case XD_ENOMEM: return "out of memory";
		case XD_EINVAL: return "invalid argument";
		case XD_ENODATA: return "not enough data";
		case XD_ENUMERIC: return "numeric overflow (nan or infinity)";
		case XD_ECANCELLED: return "cancelled";
		case XD_EFORMAT: return "malformed weight blob";
	}
	return "unknown status";
}

#endif
