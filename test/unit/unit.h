/*
 * unit.h - the core's unit-test harness.
 *
 * A test is a function declared with XD_TEST(name) in any test/unit/test_*.c;
 * it registers itself at load time, and test/unit/main.c runs every test (or
 * those whose name contains argv[1]) and ends with the line "N passed, N failed".
 * XD_CHECK records a failure and goes on; XD_REQUIRE records it and returns.
 */
#ifndef XDREC_UNIT_H
#define XDREC_UNIT_H

#include <math.h>
#include <stdio.h>

typedef void (*xd_test_fn) (void);

void		xd_test_register(const char *name, xd_test_fn fn);
void		xd_test_fail(const char *file, int line, const char *what);

#define XD_TEST(fn) \
	static void fn(void); \
	__attribute__((constructor)) static void fn##_register(void) \
	{ xd_test_register(#fn, fn); } \
	static void fn(void)

#define XD_CHECK(cond) \
	do { if (!(cond)) xd_test_fail(__FILE__, __LINE__, #cond); } while (0)

#define XD_REQUIRE(cond) \
	do { if (!(cond)) { xd_test_fail(__FILE__, __LINE__, #cond); return; } } while (0)

/* |a - b| <= tol, printing both values when it fails. */
#define XD_CHECK_NEAR(a, b, tol) \
	do { \
		double xd_a_ = (a), xd_b_ = (b); \
		if (!(fabs(xd_a_ - xd_b_) <= (tol))) \
		{ \
			char xd_msg_[256]; \
			snprintf(xd_msg_, sizeof(xd_msg_), "%s = %g, %s = %g, tolerance %g", \
					 #a, xd_a_, #b, xd_b_, (double) (tol)); \
			xd_test_fail(__FILE__, __LINE__, xd_msg_); \
		} \
	} while (0)

#endif
