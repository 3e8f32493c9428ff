/*
 * clock.h - seconds on the monotonic clock, for the wall times that training
 * summaries, progress reports and the benchmarks print.
 */
#ifndef XDREC_CLOCK_H
#define XDREC_CLOCK_H

#include <time.h>

static inline double
xd_clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

#endif							/* XDREC_CLOCK_H */
