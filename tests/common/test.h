/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test declaration macros on top of Criterion.
 *
 *   LUO_TEST(suite, name, abi[, criterion test options])
 *       one test on a kernel of @abi; its body runs between tb_begin() and
 *       tb_end(), so every test also checks for leaked descriptors.
 *
 *   LUO_TEST_BOTH(prefix, name)
 *       the same body twice: suite prefix_mainline and suite prefix_rfc
 *       (the RFC run is skipped on the kernel backend).  tb.abi tells which.
 *
 * Criterion's assertions in .fini do not fail a test, which is why the leak
 * check lives at the end of the body instead.
 */
#ifndef LIBLUO_TESTS_TEST_H
#define LIBLUO_TESTS_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "env.h"
#include "fd-count.h"
#include "files.h"

#define LUO_TEST(suite, name, abi, ...)                                  \
	static void suite##__##name(void);                               \
	Test(suite, name, ##__VA_ARGS__)                                 \
	{                                                                \
		tb_begin(abi);                                           \
		suite##__##name();                                       \
		tb_end();                                                \
	}                                                                \
	static void suite##__##name(void)

#define LUO_TEST_BOTH(prefix, name, ...)                                 \
	static void prefix##__##name(void);                              \
	Test(prefix##_mainline, name, ##__VA_ARGS__)                     \
	{                                                                \
		tb_begin(LUO_ABI_MAINLINE);                              \
		prefix##__##name();                                      \
		tb_end();                                                \
	}                                                                \
	Test(prefix##_rfc, name, ##__VA_ARGS__)                          \
	{                                                                \
		tb_begin(LUO_ABI_RFC);                                   \
		prefix##__##name();                                      \
		tb_end();                                                \
	}                                                                \
	static void prefix##__##name(void)

/* Assert that a libluo call returned exactly @expected (0 or -errno),
 * naming both as errno strings on failure. */
#define expect_ret(call, expected)                                       \
	do {                                                             \
		int r_ = (call);                                         \
		int e_ = (expected);                                     \
		cr_assert_eq(r_, e_, "%s returned %d (%s), expected %d (%s)", \
			     #call, r_, r_ < 0 ? strerror(-r_) : "ok", e_, \
			     e_ < 0 ? strerror(-e_) : "ok");              \
	} while (0)

#define expect_ok(call) expect_ret(call, 0)

/* Sentinels for out-parameters that a failing call must not write. */
#define SENTINEL_PTR ((void *)(uintptr_t)0x5e57)
#define SENTINEL_INT (-12345)

#endif /* LIBLUO_TESTS_TEST_H */
