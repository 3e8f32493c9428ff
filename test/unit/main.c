/*
 * main.c - runs the unit tests registered with XD_TEST.
 *
 * Usage: xdrec_unit [substring]   runs the tests whose name contains it.
 * Exit status 0 only when every test that ran passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define XD_MAX_TESTS 1024

static struct
{
	const char *name;
	xd_test_fn	fn;
}			tests[XD_MAX_TESTS];
static int	n_tests;
static int	current_failures;

void
xd_test_register(const char *name, xd_test_fn fn)
{
	if (n_tests == XD_MAX_TESTS)
	{
		fprintf(stderr, "too many unit tests (raise XD_MAX_TESTS)\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void
xd_test_fail(const char *file, int line, const char *what)
{
	current_failures++;
	printf("    %s:%d: check failed: %s\n", file, line, what);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const typeof(tests[0]) *) a)->name,
				  ((const typeof(tests[0]) *) b)->name);
}

int
main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int			passed = 0,
				failed = 0;

	/* constructors run in link order; sort so the output is stable */
	qsort(tests, n_tests, sizeof(tests[0]), by_name);
	for (int i = 0; i < n_tests; i++)
	{
		if (filter && !strstr(tests[i].name, filter))
			continue;
		current_failures = 0;
		tests[i].fn();
		printf("%s %s\n", current_failures ? "FAIL" : "ok  ", tests[i].name);
		fflush(stdout);
		if (current_failures)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
