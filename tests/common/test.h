/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test declaration macros of the libluo suites, on top of the harness
 * (tests/harness/harness.h, whose TEST() they use).
 *
 *   LUO_TEST(suite, name, abi[, harness test options: .timeout = SEC])
 *       one test on a kernel of @abi; its body runs between tb_begin() and
 *       tb_end(), so every test also checks for leaked descriptors (and,
 *       under ASan, memory).
 *
 *   LUO_TEST_BOTH(prefix, name[, options])
 *       the same body twice: suite prefix_mainline and suite prefix_rfc
 *       (the RFC run is skipped on the kernel backend).  tb.abi tells which.
 *
 * A failed assertion ends the test's process at once, so tb_end() runs only
 * after a body that passed: the checks of a passing test.
 *
 * expect_ret(), expect_ok() and the sentinels come from expect.h.
 */
#ifndef LIBLUO_TESTS_TEST_H
#define LIBLUO_TESTS_TEST_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "env.h"
#include "expect.h"
#include "fd-count.h"
#include "files.h"
#include "harness.h"

#define LUO_TEST(suite, name, abi, ...)                                  \
	static void suite##__##name(void);                               \
	TEST(suite, name, ##__VA_ARGS__)                                 \
	{                                                                \
		tb_begin(abi);                                           \
		suite##__##name();                                       \
		tb_end();                                                \
	}                                                                \
	static void suite##__##name(void)

#define LUO_TEST_BOTH(prefix, name, ...)                                 \
	static void prefix##__##name(void);                              \
	TEST(prefix##_mainline, name, ##__VA_ARGS__)                     \
	{                                                                \
		tb_begin(LUO_ABI_MAINLINE);                              \
		prefix##__##name();                                      \
		tb_end();                                                \
	}                                                                \
	TEST(prefix##_rfc, name, ##__VA_ARGS__)                          \
	{                                                                \
		tb_begin(LUO_ABI_RFC);                                   \
		prefix##__##name();                                      \
		tb_end();                                                \
	}                                                                \
	static void prefix##__##name(void)

#endif /* LIBLUO_TESTS_TEST_H */
