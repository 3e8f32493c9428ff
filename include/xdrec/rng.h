/*
 * rng.h - the one seeded random number generator of the core.
 *
 * Every random choice (splits, negatives, initialisation, dropout, data
 * generation) draws from an xd_rng seeded by the caller, so a seed fixes the
 * numbers on every machine. xoshiro256** seeded through splitmix64.
 */
#ifndef XDREC_RNG_H
#define XDREC_RNG_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct xd_rng
{
	uint64_t	s[4];
} xd_rng;

static inline uint64_t
xd_splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
xd_rng_seed(xd_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = xd_splitmix64(&seed);
}

static inline uint64_t
xd_rng_next(xd_rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	x = s[1] * 5;
	uint64_t	result = ((x << 7) | (x >> 57)) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/*
 * n 16-bit draws into out: four from each 64-bit output, its lowest 16 bits
 * first (out[i + k] = bits 16k..16k+15 of the output for i), the last output's
 * unused bits dropped. On a little-endian machine an output's memory image is
 * those four values in that order, so it is stored whole; the state is
 * copied to a local first, so the stores cannot make the compiler reload it.
 */
static inline void
xd_rng_fill_u16(xd_rng *r, uint16_t *out, size_t n)
{
	xd_rng		local = *r;
	size_t		i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 4 <= n; i += 4)
	{
		uint64_t	draw = xd_rng_next(&local);

		memcpy(out + i, &draw, sizeof(draw));
	}
#endif
	for (; i < n; i += 4)
	{
		uint64_t	draw = xd_rng_next(&local);

		for (size_t k = 0; k < 4 && i + k < n; k++, draw >>= 16)
			out[i + k] = (uint16_t) (draw & 0xffff);
	}
	*r = local;
}

/* Uniform in [0, 1) with 24 bits, exactly representable as float. */
static inline float
xd_rng_uniform(xd_rng *r)
{
	return (float) (xd_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-32). */
static inline uint32_t
xd_rng_below(xd_rng *r, uint32_t n)
{
	return (uint32_t) (((xd_rng_next(r) >> 32) * (uint64_t) n) >> 32);
}

/* Standard normal by Box-Muller (one value per call, the other discarded). */
static inline float
xd_rng_normal(xd_rng *r)
{
	double		u1 = ((double) (xd_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double		u2 = (double) (xd_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);

	return (float) (sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* A 64-bit hash of a byte string (FNV-1a then a splitmix finaliser), for splits. */
static inline uint64_t
xd_hash_bytes(const void *data, uint64_t len, uint64_t seed)
{
	const unsigned char *p = (const unsigned char *) data;
	uint64_t	h = 0xcbf29ce484222325ULL ^ seed;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return xd_splitmix64(&h);
}

#endif
