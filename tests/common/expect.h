/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Assertions about libluo calls (on top of harness.h), for every suite:
 * expect_ret(), expect_ok() and the out-parameter sentinels.
 */
#ifndef LIBLUO_TESTS_EXPECT_H
#define LIBLUO_TESTS_EXPECT_H

#include <stdint.h>
#include <string.h>

#include "harness.h"

/* Assert that a libluo call returned exactly @expected (0 or -errno),
 * naming both as errno strings on failure. */
#define expect_ret(call, expected)                                       \
	do {                                                             \
		int r_ = (call);                                         \
		int e_ = (expected);                                     \
		assert_eq(r_, e_, "%s returned %d (%s), expected %d (%s)", \
			  #call, r_, r_ < 0 ? strerror(-r_) : "ok", e_,   \
			  e_ < 0 ? strerror(-e_) : "ok");                 \
	} while (0)

#define expect_ok(call) expect_ret(call, 0)

/* Sentinels for out-parameters that a failing call must not write. */
#define SENTINEL_PTR ((void *)(uintptr_t)0x5e57)
#define SENTINEL_INT (-12345)

#endif /* LIBLUO_TESTS_EXPECT_H */
