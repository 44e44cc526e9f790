/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Make skipped tests visible in the default (non-verbose) Criterion output,
 * which meson keeps in its test log: one line per skipped test and a total.
 * Linked as a source into every test executable (Criterion finds report
 * hooks by section, so they cannot live in a static library).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * UndefinedBehaviorSanitizer only prints by default, and a test that
 * prints still passes: make every finding abort its test.  The test
 * processes are started later and inherit this; an explicit
 * UBSAN_OPTIONS (meson test sets one) wins.
 */
__attribute__((constructor)) static void sanitizer_defaults(void)
{
	setenv("UBSAN_OPTIONS",
	       "halt_on_error=1:abort_on_error=1:print_stacktrace=1", 0);
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
	if (stats->test_status == CR_STATUS_SKIPPED)
		fprintf(stderr, "[SKIP] %s::%s: %s\n",
			stats->test->category, stats->test->name,
			stats->message ? stats->message : "skipped");
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	fprintf(stderr, "[====] Tests: %zu | Passed: %zu | Failed: %zu | "
		"Crashed: %zu | Skipped: %zu\n", stats->nb_tests,
		stats->tests_passed, stats->tests_failed,
		stats->tests_crashed, stats->tests_skipped);
}
