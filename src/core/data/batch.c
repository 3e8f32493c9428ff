/*
 * batch.c - allocation of the scored-triple batches of batch.h.
 */
#include <stdlib.h>

#include "xdrec/batch.h"

xd_status
xd_batch_init(xd_batch *b, int capacity, int m)
{
	b->n = 0;
	b->n_pos = 0;
	b->m = m;
	b->capacity = capacity;
	b->users = malloc(sizeof(int32_t) * (size_t) capacity);
	b->items = malloc(sizeof(int32_t) * (size_t) capacity);
	b->c = malloc(sizeof(float) * (size_t) capacity * (size_t) (m > 0 ? m : 1));
	b->ratings = malloc(sizeof(float) * (size_t) capacity);
	b->weights = malloc(sizeof(float) * (size_t) capacity);
	b->hist = calloc(capacity > 0 ? (size_t) capacity : 1, sizeof(float));
	if (capacity <= 0 || m < 0 || !b->users || !b->items || !b->c || !b->ratings ||
		!b->weights || !b->hist)
	{
		xd_status	s = (capacity <= 0 || m < 0) ? XD_EINVAL : XD_ENOMEM;

		xd_batch_free(b);
		return s;
	}
	for (int i = 0; i < capacity; i++)
		b->weights[i] = 1.0f;
	return XD_OK;
}

void
xd_batch_free(xd_batch *b)
{
	free(b->users);
	free(b->items);
	free(b->c);
	free(b->ratings);
	free(b->weights);
	free(b->hist);
	b->users = b->items = NULL;
	b->c = b->ratings = b->weights = b->hist = NULL;
	b->n = b->n_pos = b->capacity = 0;
}
