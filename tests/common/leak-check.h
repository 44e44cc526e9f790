/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory leak check at the end of a test, under AddressSanitizer.
 *
 * LeakSanitizer reports at process exit too, and the harness runs each test
 * in a process of its own that exits after the test (status 23 on a leak),
 * but asking at the end of the test body names the test's own allocations
 * while its handles are gone, and fails with a message (tb_end(), the
 * threads suite).  Without ASan this checks nothing.
 */
#ifndef LIBLUO_TESTS_LEAK_CHECK_H
#define LIBLUO_TESTS_LEAK_CHECK_H

#if defined(__SANITIZE_ADDRESS__)
#define TESTS_HAVE_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESTS_HAVE_LEAK_CHECK 1
#endif
#endif

#ifdef TESTS_HAVE_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
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
