/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the benchmarks share.  Every benchmark prints ratios measured in
 * one run against the relevant limit (a raw system call, one random memory
 * read, independent contexts, one thread), next to the target an issue
 * set, and never fails on a figure: only on an operation that fails.
 */
#ifndef LUO_BENCH_H
#define LUO_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libluo-fake.h"

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t bench_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Abort with a message when a libluo call fails: a benchmark measures
 * working code only. */
#define BENCH_CHECK(call)                                                   \
	do {                                                                \
		int r_ = (call);                                            \
		if (r_ < 0) {                                               \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__,        \
				__LINE__, #call, strerror(-r_));            \
			exit(1);                                            \
		}                                                           \
	} while (0)

/* Which mutexes the build uses (meson option lock_checks). */
static inline void bench_print_build(void)
{
#if LUOI_LOCK_CHECKS
	printf("(lock checks on: error-checking mutexes; configure with "
	       "-Dlock_checks=disabled or a release build for plain ones)\n");
#else
	printf("(lock checks off: plain mutexes)\n");
#endif
}

/* A context on @fake. */
static inline luo_ctx_t *bench_fake_ctx(luo_fake_t *fake)
{
	luo_ctx_opts_t *opts;
	luo_ctx_t *ctx;

	BENCH_CHECK(luo_ctx_opts_new(&opts));
	BENCH_CHECK(luo_ctx_opts_set_fake(opts, fake));
	BENCH_CHECK(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);
	return ctx;
}

/* "ok" or "MISSED" for a figure against its target. */
static inline const char *bench_verdict(int ok)
{
	return ok ? "ok" : "MISSED";
}

#endif /* LUO_BENCH_H */
