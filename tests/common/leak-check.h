/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory leak check at the end of each test, under AddressSanitizer.
 *
 * LeakSanitizer normally reports at process exit, but Criterion ignores
 * what a test process does after the test passed, so an at-exit report
 * would not fail anything.  Asking LeakSanitizer at the end of the test
 * body makes a leak a test failure.  Without ASan this checks nothing.
 */
#ifndef LIBLUO_TESTS_LEAK_CHECK_H
#define LIBLUO_TESTS_LEAK_CHECK_H

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TESTS_HAVE_LEAK_CHECK 1
#endif

/* Non-zero if memory leaked (the report is on stderr). */
static inline int leak_check(void)
{
#ifdef TESTS_HAVE_LEAK_CHECK
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

#endif /* LIBLUO_TESTS_LEAK_CHECK_H */
