/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test runner: see harness.h.
 *
 * The parent stays single-threaded and never runs test code.  For each test
 * it forks a child, which points its stdout and stderr at a memfd (the
 * test's output), arms alarm() with the test's timeout, runs the body and
 * exits.  Failure messages and the "body returned" mark travel through a
 * shared anonymous mapping, so the child needs no extra descriptor (the
 * suites count descriptors).  The parent waits, turns the status into a TAP
 * line and shows the output.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a test process hands back to the parent. */
struct harness_shared {
	int done;       /* the body returned (written by the test process) */
	size_t len;     /* bytes used in msg (atomic: threads, children) */
	char msg[16384];
};

static struct harness_test *registered;
static size_t n_registered;

/* In a test process: the test, its pid, the shared page. */
static const struct harness_test *current;
static pid_t current_pid;
static struct harness_shared *shared;

/* In the parent (globals, so that an early return leaks nothing). */
static struct harness_test **tests, **run;
static bool *bad;
static char **patterns;

void harness_register(struct harness_test *t)
{
	t->next = registered;
	registered = t;
	n_registered++;
}

const struct harness_test *harness_current(void)
{
	return current;
}

/*
 * UndefinedBehaviorSanitizer only prints by default, and a test that prints
 * still passes: make every finding abort its test.  The runtime asks for
 * these defaults before it reads UBSAN_OPTIONS, which still wins.
 */
const char *__ubsan_default_options(void);
__attribute__((used, visibility("default")))
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* ---- in the test process ------------------------------------------------ */

/* Appends to the message the parent prints (any thread, any process of
 * the test). */
static void shared_append(const char *s)
{
	size_t n = strlen(s), at;

	if (!shared) {
		fputs(s, stderr);
		return;
	}
	at = __atomic_fetch_add(&shared->len, n, __ATOMIC_SEQ_CST);
	if (at >= sizeof(shared->msg) - 1)
		return;
	if (n > sizeof(shared->msg) - 1 - at)
		n = sizeof(shared->msg) - 1 - at;
	memcpy(shared->msg + at, s, n);
}

/* Ends this process with @status; the first thread to get here wins, the
 * others wait for it to exit. */
static void __attribute__((noreturn)) end_process(int status)
{
	static int ending;

	if (__atomic_exchange_n(&ending, 1, __ATOMIC_SEQ_CST))
		for (;;)
			pause();
	fflush(stdout);
	fflush(stderr);
	/* _exit: no at-exit leak report for what the failed test held. */
	_exit(status);
}

/* "file:line: " + @assertion + " failed" + ": message" into @buf. */
static void __attribute__((format(printf, 6, 0)))
format_failure(char *buf, size_t len, const char *file, int line,
			   const char *assertion, const char *fmt, va_list ap)
{
	size_t pos;
	int n;

	n = snprintf(buf, len, "%s:%d: %s%s", file, line,
		     assertion ? assertion : "failed",
		     assertion ? " failed" : "");
	pos = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
	/* The format starts with the space of HARNESS_MSG_. */
	if (fmt && fmt[0] == ' ' && fmt[1] && pos < len - 2) {
		buf[pos++] = ':';
		vsnprintf(buf + pos, len - pos, fmt, ap);
	}
}

void harness_fail_(const char *file, int line, const char *assertion,
		   const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	format_failure(buf, sizeof(buf), file, line, assertion, fmt, ap);
	va_end(ap);
	shared_append(buf);
	shared_append("\n");
	end_process(1);
}

/* An integer of any kind, as a sign and a magnitude. */
struct ival {
	bool neg;
	unsigned long long mag;
};

static struct ival load_int(int kind, const void *p, size_t size)
{
	struct ival v = { false, 0 };
	bool is_signed = kind == HARNESS_KIND_SIGNED ||
			 (kind == HARNESS_KIND_CHAR && (char)-1 < 0);
	long long s = 0;

	if (!is_signed) {
		if (size == 1) {
			uint8_t x;
			memcpy(&x, p, 1);
			v.mag = x;
		} else if (size == 2) {
			uint16_t x;
			memcpy(&x, p, 2);
			v.mag = x;
		} else if (size == 4) {
			uint32_t x;
			memcpy(&x, p, 4);
			v.mag = x;
		} else {
			memcpy(&v.mag, p, sizeof(v.mag) < size ? sizeof(v.mag)
							       : size);
		}
		return v;
	}
	if (size == 1) {
		int8_t x;
		memcpy(&x, p, 1);
		s = x;
	} else if (size == 2) {
		int16_t x;
		memcpy(&x, p, 2);
		s = x;
	} else if (size == 4) {
		int32_t x;
		memcpy(&x, p, 4);
		s = x;
	} else {
		memcpy(&s, p, sizeof(s) < size ? sizeof(s) : size);
	}
	v.neg = s < 0;
	v.mag = v.neg ? (unsigned long long)(-(s + 1)) + 1
		      : (unsigned long long)s;
	return v;
}

int harness_int_cmp_(int a_kind, const void *a, size_t a_size, int b_kind,
		     const void *b, size_t b_size)
{
	struct ival x = load_int(a_kind, a, a_size);
	struct ival y = load_int(b_kind, b, b_size);

	if (x.neg != y.neg)
		return x.neg ? -1 : 1;
	if (x.mag == y.mag)
		return 0;
	return (x.mag < y.mag) != x.neg ? -1 : 1;
}

static void format_value(char *buf, size_t len, int kind, const void *p,
			 size_t size)
{
	switch (kind) {
	case HARNESS_KIND_BOOL: {
		_Bool v;

		memcpy(&v, p, sizeof(v));
		snprintf(buf, len, "%s", v ? "true" : "false");
		break;
	}
	case HARNESS_KIND_CHAR: {
		char c;

		memcpy(&c, p, sizeof(c));
		if (c >= 0x20 && c < 0x7f)
			snprintf(buf, len, "'%c' (%d)", c, c);
		else
			snprintf(buf, len, "%d", c);
		break;
	}
	case HARNESS_KIND_SIGNED:
	case HARNESS_KIND_UNSIGNED: {
		struct ival v = load_int(kind, p, size);
		const char *name = NULL;

		/* libluo returns -errno: name it (not -1, often just -1). */
		if (v.neg && v.mag > 1 && v.mag < 4096)
			name = strerrorname_np((int)v.mag);
		if (name)
			snprintf(buf, len, "-%llu (-%s)", v.mag, name);
		else if (v.mag >= 4096)
			snprintf(buf, len, "%s%llu (%s%#llx)", v.neg ? "-" : "",
				 v.mag, v.neg ? "-" : "", v.mag);
		else
			snprintf(buf, len, "%s%llu", v.neg ? "-" : "", v.mag);
		break;
	}
	case HARNESS_KIND_FLOAT: {
		float v;

		memcpy(&v, p, sizeof(v));
		snprintf(buf, len, "%.9g", (double)v);
		break;
	}
	case HARNESS_KIND_DOUBLE: {
		double v;

		memcpy(&v, p, sizeof(v));
		snprintf(buf, len, "%.17g", v);
		break;
	}
	case HARNESS_KIND_LDOUBLE: {
		long double v;

		memcpy(&v, p, sizeof(v));
		snprintf(buf, len, "%.21Lg", v);
		break;
	}
	default: {
		void *v = NULL;

		if (size != sizeof(v)) {
			snprintf(buf, len, "(a %zu-byte value)", size);
			break;
		}
		memcpy(&v, p, sizeof(v));
		if (v)
			snprintf(buf, len, "%p", v);
		else
			snprintf(buf, len, "NULL");
		break;
	}
	}
}

void harness_cmp_fail_(const char *file, int line, const char *assertion,
		       const char *a_expr, int a_kind, const void *a,
		       size_t a_size, const char *b_expr, int b_kind,
		       const void *b, size_t b_size, const char *fmt, ...)
{
	char buf[4096], value[128];
	va_list ap;

	va_start(ap, fmt);
	format_failure(buf, sizeof(buf), file, line, assertion, fmt, ap);
	va_end(ap);
	shared_append(buf);
	format_value(value, sizeof(value), a_kind, a, a_size);
	snprintf(buf, sizeof(buf), "\n    %s: %s", a_expr, value);
	shared_append(buf);
	if (b_expr) {
		format_value(value, sizeof(value), b_kind, b, b_size);
		snprintf(buf, sizeof(buf), "\n    %s: %s", b_expr, value);
		shared_append(buf);
	}
	shared_append("\n");
	end_process(1);
}

static void quote(char *buf, size_t len, const char *s)
{
	if (s)
		snprintf(buf, len, "\"%.*s\"%s", 400, s,
			 strlen(s) > 400 ? "..." : "");
	else
		snprintf(buf, len, "NULL");
}

void harness_str_fail_(const char *file, int line, const char *assertion,
		       const char *a_expr, const char *a, const char *b_expr,
		       const char *b, const char *fmt, ...)
{
	char buf[4096], value[512];
	va_list ap;

	va_start(ap, fmt);
	format_failure(buf, sizeof(buf), file, line, assertion, fmt, ap);
	va_end(ap);
	shared_append(buf);
	quote(value, sizeof(value), a);
	snprintf(buf, sizeof(buf), "\n    %s: %s", a_expr, value);
	shared_append(buf);
	quote(value, sizeof(value), b);
	snprintf(buf, sizeof(buf), "\n    %s: %s\n", b_expr, value);
	shared_append(buf);
	end_process(1);
}

void harness_skip_(const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	(void)file; /* the reason says why, not where */
	(void)line;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	shared_append(buf);
	end_process(HARNESS_EXIT_SKIP);
}

void harness_note_(const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	fprintf(stderr, "# %s/%s: ", current ? current->suite : "?",
		current ? current->name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void __attribute__((noreturn))
run_child(const struct harness_test *t, int out, unsigned int timeout)
{
	current = t;
	current_pid = getpid();
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(125);
	close(out);
	if (timeout)
		alarm(timeout);
	t->fn();
	if (getpid() != current_pid)
		_exit(0); /* a child of the test that returned: not the test */
	__atomic_store_n(&shared->done, 1, __ATOMIC_SEQ_CST);
	fflush(stdout);
	/* exit(), not _exit(): sanitizers report (and set the status) at
	 * exit, e.g. LeakSanitizer. */
	exit(0);
}

/* ---- in the parent ------------------------------------------------------ */

static int by_place(const void *a, const void *b)
{
	const struct harness_test *x = *(const struct harness_test *const *)a;
	const struct harness_test *y = *(const struct harness_test *const *)b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	c = strcmp(x->suite, y->suite);
	return c ? c : strcmp(x->name, y->name);
}

static bool selected(const struct harness_test *t, char **globs, int n)
{
	char full[512];
	int i;

	if (!n)
		return true;
	snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
	for (i = 0; i < n; i++)
		if (!fnmatch(globs[i], full, 0) ||
		    !fnmatch(globs[i], t->suite, 0))
			return true;
	return false;
}

/* Prints @s with every line prefixed by "# " (to stdout) or as it is
 * (to stderr). */
static void print_lines(const char *s, size_t n, bool as_comment)
{
	FILE *f = as_comment ? stdout : stderr;
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n;

		if (as_comment)
			fputs("# ", f);
		fwrite(s + i, 1, end - i, f);
		fputc('\n', f);
		i = end + 1;
	}
}

/* Shows what the test wrote: after a failure as TAP comments, else on
 * stderr; the end of it if it is long. */
static void show_output(int out, const char *what, bool as_comment)
{
	const size_t max = 256 * 1024;
	struct stat st;
	size_t size, from, done = 0;
	char *buf;

	if (fstat(out, &st) < 0 || st.st_size <= 0)
		return;
	size = (size_t)st.st_size;
	from = size > max ? size - max : 0;
	buf = malloc(size - from);
	if (!buf)
		return;
	while (done < size - from) {
		ssize_t n = pread(out, buf + done, size - from - done,
				  (off_t)(from + done));

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (as_comment)
		printf("# output of %s%s:\n", what, from ? " (its end)" : "");
	else if (from)
		fprintf(stderr, "[output of %s: the first %zu bytes left "
			"out]\n", what, from);
	print_lines(buf, done, as_comment);
	free(buf);
}

/* Threads of this process (1 if /proc cannot tell). */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n : 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s [--list] [--timeout SEC] [PATTERN...]\n"
		"  Runs the tests whose \"suite/name\" or suite matches a "
		"PATTERN (a glob;\n  all tests without one), each in a "
		"child process; TAP on stdout.\n"
		"  --list         print the test names and exit\n"
		"  --timeout SEC  per-test time limit for tests that set none "
		"(0: none)\n"
		"Exit status: 0, 1 if a test failed, 77 if all were "
		"skipped.\n", prog);
}

enum verdict { PASS, FAIL, SKIP };

/* Turns a child's wait status into a verdict and a reason. */
static enum verdict judge(int status, unsigned int timeout,
			  const struct harness_shared *sh, char *why,
			  size_t len)
{
	why[0] = '\0';
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGALRM && timeout)
			snprintf(why, len, "timed out after %u s", timeout);
		else
			snprintf(why, len, "killed by signal %d (%s)%s", sig,
				 strsignal(sig),
				 sig == SIGABRT ? ": an abort, or a "
				 "sanitizer report (see the output)" : "");
		return FAIL;
	}
	if (!WIFEXITED(status)) {
		snprintf(why, len, "wait status %#x", status);
		return FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		if (sh->done)
			return PASS;
		snprintf(why, len, "exited with status 0 before the test "
			 "body returned");
		return FAIL;
	case HARNESS_EXIT_SKIP:
		return SKIP;
	case 1:
		if (sh->len)
			return FAIL; /* the assertion says it */
		snprintf(why, len, "exit status 1 without a failed assertion "
			 "(an at-exit sanitizer report? see the output)");
		return FAIL;
	case 23:
		snprintf(why, len, "exit status 23: LeakSanitizer report");
		return FAIL;
	case 66:
		snprintf(why, len, "exit status 66: ThreadSanitizer report");
		return FAIL;
	}
	snprintf(why, len, "exit status %d", WEXITSTATUS(status));
	return FAIL;
}

int harness_run(int argc, char *argv[], const struct harness_config *cfg)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
						 : argv[0];
	struct harness_test *t;
	unsigned int timeout = cfg ? cfg->default_timeout : 0;
	size_t i, n = 0, n_run = 0, passed = 0, failed = 0, skipped = 0;
	bool list = false;
	int npatterns = 0, out, ret;
	double started = now();

	patterns = calloc((size_t)argc + 1, sizeof(*patterns));
	tests = calloc(n_registered + 1, sizeof(*tests));
	run = calloc(n_registered + 1, sizeof(*run));
	bad = calloc(n_registered + 1, sizeof(*bad));
	if (!patterns || !tests || !run || !bad) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--list") || !strcmp(a, "-l")) {
			list = true;
		} else if (!strcmp(a, "--timeout") || !strcmp(a, "-t")) {
			char *end;

			if (i + 1 == (size_t)argc) {
				usage(prog, stderr);
				return 2;
			}
			errno = 0;
			timeout = (unsigned int)strtoul(argv[++i], &end, 10);
			if (errno || *end || !*argv[i]) {
				fprintf(stderr, "%s: bad --timeout '%s'\n",
					prog, argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(prog, stdout);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
			usage(prog, stderr);
			return 2;
		} else {
			patterns[npatterns++] = argv[i];
		}
	}

	for (t = registered; t; t = t->next)
		tests[n++] = t;
	qsort(tests, n, sizeof(*tests), by_place);
	for (i = 0; i < n; i++)
		if (selected(tests[i], patterns, npatterns))
			run[n_run++] = tests[i];
	if (list) {
		for (i = 0; i < n_run; i++)
			printf("%s/%s\n", run[i]->suite, run[i]->name);
		return 0;
	}
	if (!n_run && npatterns) {
		fprintf(stderr, "%s: no test matches", prog);
		for (i = 0; i < (size_t)npatterns; i++)
			fprintf(stderr, " '%s'", patterns[i]);
		fprintf(stderr, " (--list shows them)\n");
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (cfg && cfg->setup) {
		char why[1024] = "";

		fflush(stdout);
		ret = cfg->setup(why, sizeof(why));
		if (ret == HARNESS_EXIT_SKIP) {
			printf("1..0 # SKIP %s\n", why[0] ? why : "setup");
			printf("# %s: 0 tests run: %s\n", prog, why);
			return HARNESS_EXIT_SKIP;
		}
		if (ret) {
			printf("Bail out! %s\n", why[0] ? why : "setup failed");
			return ret;
		}
	}
	if (!n_run) {
		printf("1..0 # SKIP no tests\n");
		return HARNESS_EXIT_SKIP;
	}
	/* fork() copies one thread: a parent with more could hand a test a
	 * lock held by a thread that does not exist there (and TSan would
	 * say so).  Test code runs in the children only. */
	ret = thread_count();
	if (ret > 1) {
		printf("Bail out! %d threads in the runner, which forks a "
		       "process per test: the setup must not leave threads\n",
		       ret);
		return 1;
	}

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	out = memfd_create("harness-output", MFD_CLOEXEC);
	if (shared == MAP_FAILED || out < 0) {
		printf("Bail out! %s: %s\n", shared == MAP_FAILED ? "mmap" :
		       "memfd_create", strerror(errno));
		return 1;
	}

	printf("1..%zu\n", n_run);
	for (i = 0; i < n_run; i++) {
		unsigned int limit = run[i]->timeout ? run[i]->timeout : timeout;
		char full[512], why[256];
		enum verdict v;
		int status = 0;
		pid_t pid;

		snprintf(full, sizeof(full), "%s/%s", run[i]->suite,
			 run[i]->name);
		memset(shared, 0, sizeof(*shared));
		if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0) {
			printf("Bail out! output file: %s\n", strerror(errno));
			return 1;
		}
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			printf("Bail out! fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0)
			run_child(run[i], out, limit);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				printf("Bail out! waitpid: %s\n",
				       strerror(errno));
				return 1;
			}
		}

		v = judge(status, limit, shared, why, sizeof(why));
		shared->msg[shared->len < sizeof(shared->msg) ?
				    shared->len : sizeof(shared->msg) - 1] = '\0';
		switch (v) {
		case PASS:
			passed++;
			printf("ok %zu - %s\n", i + 1, full);
			show_output(out, full, false);
			break;
		case SKIP: {
			char *c;

			skipped++;
			for (c = shared->msg; *c; c++)
				if (*c == '\n' || *c == '#')
					*c = ' ';
			printf("ok %zu - %s # SKIP %s\n", i + 1, full,
			       shared->msg[0] ? shared->msg : "skipped");
			show_output(out, full, false);
			break;
		}
		case FAIL:
			failed++;
			bad[i] = true;
			printf("not ok %zu - %s\n", i + 1, full);
			if (shared->len)
				print_lines(shared->msg, strlen(shared->msg),
					    true);
			if (why[0])
				printf("# %s\n", why);
			show_output(out, full, true);
			printf("# %s is at %s:%d\n", full, run[i]->file,
			       run[i]->line);
			break;
		}
	}

	printf("# %s: %zu tests, %zu passed, %zu failed, %zu skipped "
	       "(%.1f s)\n", prog, n_run, passed, failed, skipped,
	       now() - started);
	if (failed) {
		printf("# failed:");
		for (i = 0; i < n_run; i++)
			if (bad[i])
				printf(" %s/%s", run[i]->suite, run[i]->name);
		printf("\n");
	}
	close(out);
	munmap(shared, sizeof(*shared));
	shared = NULL;
	if (failed)
		return 1;
	return passed ? 0 : HARNESS_EXIT_SKIP;
}
