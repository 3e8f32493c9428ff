/*
 * report_common.h - what the report and bench programs (report_transfer.c,
 * report_real.c, serve_kernel.c, ...) share: per-process CPU time, a
 * comparison for qsort and a status check that ends the run with the
 * failing call's place.
 */
#ifndef XDREC_REPORT_COMMON_H
#define XDREC_REPORT_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "xdrec/status.h"

/*
 * Method times are this process's CPU seconds (each report process runs
 * single-threaded with the serial OpenBLAS): on an idle core they equal wall
 * time, and they stay right when other jobs share the machine.
 */
static inline double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* qsort's comparison of doubles, ascending */
static inline int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

#define CHECK(expr) \
	do { \
		xd_status st_ = (expr); \
		if (st_ != XD_OK) \
		{ \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, \
					xd_status_message(st_)); \
			exit(1); \
		} \
	} while (0)

#endif
