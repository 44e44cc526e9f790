/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo's test harness: every C suite is a program built on it.
 *
 *   TEST(suite, name[, .timeout = SEC])
 *   {
 *       assert_int_eq(f(), 0, "f failed");
 *   }
 *
 * Tests register themselves before main() (a constructor each).  The
 * program (harness_run(), or the default main of harness_main_dep) runs
 * them one after the other, each in a child forked from the single-threaded
 * parent: a crash, a sanitizer report, a timeout or a leak fails that test
 * alone.  The child's exit status and signal are the verdict:
 *
 *   exit 0 after the body returned   ok
 *   exit 77 (skip_test())            ok ... # SKIP reason
 *   anything else                    not ok, with the failed assertion,
 *                                    the signal or the sanitizer named,
 *                                    and the test's output
 *
 * Output is TAP version 13 on stdout (meson: protocol 'tap'), closed by
 * "# PROGRAM: N tests, P passed, F failed, S skipped".  What a test prints
 * (stdout and stderr) is captured and shown after its result line (as TAP
 * comments when it failed, on stderr otherwise).  Exit status: 0, 1 if a
 * test failed, 77 if every test was skipped.
 *
 * Command line: PROGRAM [--list] [--timeout SEC] [PATTERN...], where a
 * PATTERN is a glob matched against "suite/name" and against "suite".
 *
 * Assertions work in any thread of the test and in the test's own forked
 * children; a failure ends the process it happens in (_exit(1)), so a
 * failing worker thread ends the whole test.  Each prints file:line, the
 * expressions and (for comparisons) both values, then the optional
 * printf-style message, whose format must be a string literal:
 *
 *   assert_true(x[, fmt, ...])      assert_false(x[, ...])
 *   assert_eq(a, b[, ...])          any scalar type: integers (by value:
 *   assert_ne / _lt / _le / _gt / _ge   -1 < 0u), enums, pointers, floats
 *   assert_int_eq(a, b[, ...])      the same, as long long (and _ne ...)
 *   assert_str_eq(a, b[, ...])      strcmp() == 0; NULL never matches
 *   assert_str_ne(a, b[, ...])
 *   assert_null(p[, ...])           assert_not_null(p[, ...])
 *   fail([fmt, ...])                fails unconditionally
 *   skip_test(fmt, ...)             ends the test as skipped
 *   note(fmt, ...)                  a line of output ("# suite/name: ...")
 */
#ifndef LIBLUO_TESTS_HARNESS_H
#define LIBLUO_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* ---- registration ------------------------------------------------------- */

struct harness_test {
	const char *suite;
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
	unsigned int timeout;      /* seconds; 0: the program's default */
	struct harness_test *next; /* the registration list */
};

void harness_register(struct harness_test *t);

#define HARNESS_ID_(suite, name, what) harness_##suite##__##name##__##what

/* A test; options after the name are designated initializers of struct
 * harness_test (.timeout = SEC).  The body follows the macro. */
#define TEST(suite_, name_, ...)                                        \
	static void HARNESS_ID_(suite_, name_, run)(void);              \
	static struct harness_test HARNESS_ID_(suite_, name_, test) = { \
		.suite = #suite_,                                       \
		.name = #name_,                                         \
		.fn = HARNESS_ID_(suite_, name_, run),                  \
		.file = __FILE__,                                       \
		.line = __LINE__,                                       \
		##__VA_ARGS__                                           \
	};                                                              \
	__attribute__((constructor)) static void                        \
	HARNESS_ID_(suite_, name_, register)(void)                      \
	{                                                               \
		harness_register(&HARNESS_ID_(suite_, name_, test));    \
	}                                                               \
	static void HARNESS_ID_(suite_, name_, run)(void)

/* ---- running ------------------------------------------------------------ */

/* Exit status of a test (and of a program) that was skipped. */
#define HARNESS_EXIT_SKIP 77

struct harness_config {
	/* Per-test timeout in seconds (alarm() in the child) for tests that
	 * set none; 0: none.  --timeout overrides it. */
	unsigned int default_timeout;
	/*
	 * Run once in the parent before any test, after the command line was
	 * read (not for --list).  Returns 0 to run the tests,
	 * HARNESS_EXIT_SKIP to skip them all (the program prints
	 * "1..0 # SKIP why" and exits 77), or another exit status to bail
	 * out with @why.  It must not leave a thread running: the parent
	 * forks.
	 */
	int (*setup)(char *why, size_t len);
};

/* Runs the selected tests; returns the program's exit status.  @cfg may be
 * NULL. */
int harness_run(int argc, char *argv[], const struct harness_config *cfg);

/* The test running in this process, or NULL. */
const struct harness_test *harness_current(void);

/* ---- assertions --------------------------------------------------------- */

/*
 * The optional message: HARNESS_MSG_(__VA_ARGS__) is a format that starts
 * with one space (stripped when printed) so that it is never empty; a
 * message's format must therefore be a string literal.
 */
#define HARNESS_MSG_(...) " " __VA_ARGS__

void harness_fail_(const char *file, int line, const char *assertion,
		   const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
void harness_skip_(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void harness_note_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum harness_kind {
	HARNESS_KIND_BOOL,
	HARNESS_KIND_CHAR,
	HARNESS_KIND_SIGNED,
	HARNESS_KIND_UNSIGNED,
	HARNESS_KIND_FLOAT,
	HARNESS_KIND_DOUBLE,
	HARNESS_KIND_LDOUBLE,
	HARNESS_KIND_POINTER,
};

/* How to print a value of the type of @v (enums print as integers). */
#define HARNESS_KIND_(v)                                                \
	_Generic((v),                                                   \
		_Bool: HARNESS_KIND_BOOL,                               \
		char: HARNESS_KIND_CHAR,                                \
		signed char: HARNESS_KIND_SIGNED,                       \
		short: HARNESS_KIND_SIGNED,                             \
		int: HARNESS_KIND_SIGNED,                               \
		long: HARNESS_KIND_SIGNED,                              \
		long long: HARNESS_KIND_SIGNED,                         \
		unsigned char: HARNESS_KIND_UNSIGNED,                   \
		unsigned short: HARNESS_KIND_UNSIGNED,                  \
		unsigned int: HARNESS_KIND_UNSIGNED,                    \
		unsigned long: HARNESS_KIND_UNSIGNED,                   \
		unsigned long long: HARNESS_KIND_UNSIGNED,              \
		float: HARNESS_KIND_FLOAT,                              \
		double: HARNESS_KIND_DOUBLE,                            \
		long double: HARNESS_KIND_LDOUBLE,                      \
		default: HARNESS_KIND_POINTER)

void harness_cmp_fail_(const char *file, int line, const char *assertion,
		       const char *a_expr, int a_kind, const void *a,
		       size_t a_size, const char *b_expr, int b_kind,
		       const void *b, size_t b_size, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 12, 13)));

void harness_str_fail_(const char *file, int line, const char *assertion,
		       const char *a_expr, const char *a, const char *b_expr,
		       const char *b, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 8, 9)));

/* Whether both kinds are integers (compared by value, signs and all). */
#define HARNESS_BOTH_INT_(a, b)                                         \
	(HARNESS_KIND_(a) <= HARNESS_KIND_UNSIGNED &&                   \
	 HARNESS_KIND_(b) <= HARNESS_KIND_UNSIGNED)

/* <0, 0, >0 as the integer @a is below, equal to or above the integer @b,
 * whatever their types: -1 is below any unsigned value. */
int harness_int_cmp_(int a_kind, const void *a, size_t a_size, int b_kind,
		     const void *b, size_t b_size);

/*
 * @a op @b, each evaluated once, kept in its own type (__auto_type).
 * Integers compare by value (no sign conversion: -1 != UINT_MAX), other
 * scalars with op itself; the pragmas silence -Wsign-compare for the
 * branch that integers never take.
 */
#define HARNESS_CMP_(what, a_expr, b_expr, op, a, b, ...)               \
	do {                                                            \
		__auto_type harness_a_ = (a);                           \
		__auto_type harness_b_ = (b);                           \
		bool harness_ok_;                                       \
		_Pragma("GCC diagnostic push")                          \
		_Pragma("GCC diagnostic ignored \"-Wsign-compare\"")    \
		harness_ok_ = HARNESS_BOTH_INT_(harness_a_, harness_b_) ? \
			harness_int_cmp_(HARNESS_KIND_(harness_a_),     \
					 &harness_a_, sizeof(harness_a_), \
					 HARNESS_KIND_(harness_b_),     \
					 &harness_b_, sizeof(harness_b_)) \
				op 0 :                                  \
			harness_a_ op harness_b_;                       \
		_Pragma("GCC diagnostic pop")                           \
		if (!harness_ok_)                                       \
			harness_cmp_fail_(__FILE__, __LINE__,           \
				what, a_expr,                           \
				HARNESS_KIND_(harness_a_), &harness_a_, \
				sizeof(harness_a_), b_expr,             \
				HARNESS_KIND_(harness_b_), &harness_b_, \
				sizeof(harness_b_),                     \
				HARNESS_MSG_(__VA_ARGS__));             \
	} while (0)

/* @a op @b as long long (no signedness surprises for mixed types). */
#define HARNESS_INT_CMP_(what, a_expr, b_expr, op, a, b, ...)           \
	do {                                                            \
		long long harness_a_ = (long long)(a);                  \
		long long harness_b_ = (long long)(b);                  \
		if (!(harness_a_ op harness_b_))                        \
			harness_cmp_fail_(__FILE__, __LINE__,           \
				what, a_expr,                           \
				HARNESS_KIND_SIGNED, &harness_a_,       \
				sizeof(harness_a_), b_expr,             \
				HARNESS_KIND_SIGNED, &harness_b_,       \
				sizeof(harness_b_),                     \
				HARNESS_MSG_(__VA_ARGS__));             \
	} while (0)

#define HARNESS_STR_CMP_(what, a_expr, b_expr, equal, a, b, ...)        \
	do {                                                            \
		const char *harness_a_ = (a);                           \
		const char *harness_b_ = (b);                           \
		if (!harness_a_ || !harness_b_ ||                       \
		    (strcmp(harness_a_, harness_b_) == 0) != (equal))   \
			harness_str_fail_(__FILE__, __LINE__,           \
				what, a_expr, harness_a_, b_expr,       \
				harness_b_,                             \
				HARNESS_MSG_(__VA_ARGS__));             \
	} while (0)

#define assert_true(x, ...)                                             \
	do {                                                            \
		if (!(x))                                               \
			harness_fail_(__FILE__, __LINE__,               \
				      "assert_true(" #x ")",            \
				      HARNESS_MSG_(__VA_ARGS__));       \
	} while (0)

#define assert_false(x, ...)                                            \
	do {                                                            \
		if (x)                                                  \
			harness_fail_(__FILE__, __LINE__,               \
				      "assert_false(" #x ")",           \
				      HARNESS_MSG_(__VA_ARGS__));       \
	} while (0)

#define assert_eq(a, b, ...)                                            \
	HARNESS_CMP_("assert_eq(" #a ", " #b ")", #a, #b, ==, a, b,     \
		     __VA_ARGS__)
#define assert_ne(a, b, ...)                                            \
	HARNESS_CMP_("assert_ne(" #a ", " #b ")", #a, #b, !=, a, b,     \
		     __VA_ARGS__)
#define assert_lt(a, b, ...)                                            \
	HARNESS_CMP_("assert_lt(" #a ", " #b ")", #a, #b, <, a, b,      \
		     __VA_ARGS__)
#define assert_le(a, b, ...)                                            \
	HARNESS_CMP_("assert_le(" #a ", " #b ")", #a, #b, <=, a, b,     \
		     __VA_ARGS__)
#define assert_gt(a, b, ...)                                            \
	HARNESS_CMP_("assert_gt(" #a ", " #b ")", #a, #b, >, a, b,      \
		     __VA_ARGS__)
#define assert_ge(a, b, ...)                                            \
	HARNESS_CMP_("assert_ge(" #a ", " #b ")", #a, #b, >=, a, b,     \
		     __VA_ARGS__)

#define assert_int_eq(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_eq(" #a ", " #b ")", #a, #b, ==, a, b, \
			 __VA_ARGS__)
#define assert_int_ne(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_ne(" #a ", " #b ")", #a, #b, !=, a, b, \
			 __VA_ARGS__)
#define assert_int_lt(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_lt(" #a ", " #b ")", #a, #b, <, a, b, \
			 __VA_ARGS__)
#define assert_int_le(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_le(" #a ", " #b ")", #a, #b, <=, a, b, \
			 __VA_ARGS__)
#define assert_int_gt(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_gt(" #a ", " #b ")", #a, #b, >, a, b, \
			 __VA_ARGS__)
#define assert_int_ge(a, b, ...)                                        \
	HARNESS_INT_CMP_("assert_int_ge(" #a ", " #b ")", #a, #b, >=, a, b, \
			 __VA_ARGS__)

#define assert_str_eq(a, b, ...)                                        \
	HARNESS_STR_CMP_("assert_str_eq(" #a ", " #b ")", #a, #b, true, a, b, \
			 __VA_ARGS__)
#define assert_str_ne(a, b, ...)                                        \
	HARNESS_STR_CMP_("assert_str_ne(" #a ", " #b ")", #a, #b, false, a, b, \
			 __VA_ARGS__)

#define assert_null(p, ...)                                             \
	do {                                                            \
		const void *harness_p_ = (p);                           \
		if (harness_p_ != NULL)                                 \
			harness_cmp_fail_(__FILE__, __LINE__,           \
				"assert_null(" #p ")", #p,              \
				HARNESS_KIND_POINTER, &harness_p_,      \
				sizeof(harness_p_), NULL, 0, NULL, 0,   \
				HARNESS_MSG_(__VA_ARGS__));             \
	} while (0)

#define assert_not_null(p, ...)                                         \
	do {                                                            \
		if ((p) == NULL)                                        \
			harness_fail_(__FILE__, __LINE__,               \
				      "assert_not_null(" #p ")",        \
				      HARNESS_MSG_(__VA_ARGS__));       \
	} while (0)

#define fail(...)                                                       \
	harness_fail_(__FILE__, __LINE__, NULL, HARNESS_MSG_(__VA_ARGS__))
#define skip_test(...) harness_skip_(__FILE__, __LINE__, __VA_ARGS__)
#define note(...) harness_note_(__VA_ARGS__)

#endif /* LIBLUO_TESTS_HARNESS_H */
