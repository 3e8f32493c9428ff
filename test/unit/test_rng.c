#include "unit.h"
#include "xdrec/rng.h"

XD_TEST(rng_same_seed_same_stream)
{
	xd_rng		a,
				b;

	xd_rng_seed(&a, 42);
	xd_rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		XD_REQUIRE(xd_rng_next(&a) == xd_rng_next(&b));
	xd_rng_seed(&b, 43);
	XD_CHECK(xd_rng_next(&a) != xd_rng_next(&b));
}

XD_TEST(rng_below_is_in_range_and_roughly_uniform)
{
	xd_rng		r;
	int			counts[10] = {0};

	xd_rng_seed(&r, 7);
	for (int i = 0; i < 100000; i++)
	{
		uint32_t	v = xd_rng_below(&r, 10);

		XD_REQUIRE(v < 10);
		counts[v]++;
	}
	for (int i = 0; i < 10; i++)
		XD_CHECK(counts[i] > 9500 && counts[i] < 10500);
}

XD_TEST(rng_normal_has_unit_moments)
{
	xd_rng		r;
	double		sum = 0,
				sq = 0;
	int			n = 200000;

	xd_rng_seed(&r, 1);
	for (int i = 0; i < n; i++)
	{
		double		x = xd_rng_normal(&r);

		sum += x;
		sq += x * x;
	}
	XD_CHECK_NEAR(sum / n, 0.0, 0.01);
	XD_CHECK_NEAR(sq / n, 1.0, 0.02);
}
