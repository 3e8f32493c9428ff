/*
 * main.c - runs the unit tests registered with XD_TEST.
 *
 * Usage: [XD_SIMD_LANES=4|8|16] xdrec_unit [pattern ...]
 *   a pattern "abc" keeps the tests whose name contains abc (any of them);
 *   a pattern "-abc" drops the tests whose name contains abc (e.g. the slow
 *   training tests under valgrind).
 *   XD_SIMD_LANES runs every test with the activations at that vector width
 *   (the unit tests' xdrec.simd_lanes; default the widest the CPU runs), and
 *   OpenBLAS's own OPENBLAS_CORETYPE picks its kernel: test/check.sh runs the
 *   tests whose outcome depends on training under several of both
 *   (docs/CONTRIBUTING.md). The first line names the two in use.
 * Exit status 0 only when every test that ran passed, 2 when the width asked
 * for cannot run here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "unit.h"
#include "xdrec/activation.h"

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

/* Whether a test runs under the patterns of the command line. */
static int
selected(const char *name, int argc, char **argv)
{
	int			has_keep = 0,
				kept = 0;

	for (int a = 1; a < argc; a++)
	{
		if (argv[a][0] == '-')
		{
			if (strstr(name, argv[a] + 1))
				return 0;
		}
		else if (argv[a][0] != '\0')
		{
			has_keep = 1;
			kept |= strstr(name, argv[a]) != NULL;
		}
	}
	return !has_keep || kept;
}

int
main(int argc, char **argv)
{
	int			passed = 0,
				failed = 0;
	const char *lanes = getenv("XD_SIMD_LANES");

	/* a width this CPU (or build) lacks would silently run another: refuse */
	if (lanes && lanes[0] != '\0')
	{
		char	   *end;
		long		want = strtol(lanes, &end, 10);

		if (*end != '\0' || want <= 0 || want > 64 ||
			xd_activation_set_lanes((int) want) != want)
		{
			fprintf(stderr, "XD_SIMD_LANES=%s: not a width this CPU runs (4, 8 or 16, at most %d here)\n",
					lanes, xd_activation_max_lanes());
			return 2;
		}
	}
	printf("simd lanes %d, OpenBLAS kernel %s\n", xd_activation_lanes(),
		   openblas_get_corename());

	/* constructors run in link order; sort so the output is stable */
	qsort(tests, n_tests, sizeof(tests[0]), by_name);
	for (int i = 0; i < n_tests; i++)
	{
		if (!selected(tests[i].name, argc, argv))
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
