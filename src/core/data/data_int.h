/*
 * data_int.h - what the data files (features.c, dataset.c) share and nobody
 * else needs.
 */
#ifndef XDREC_DATA_INT_H
#define XDREC_DATA_INT_H

#include <stdlib.h>

/* An array of n elements, never malloc(0): NULL means out of memory. */
static inline void *
xd_alloc_n(size_t n, size_t size)
{
	return malloc((n > 0 ? n : 1) * size);
}

#endif
