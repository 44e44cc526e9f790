/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contract: logging is silent by default; callbacks, priorities, LIBLUO_LOG. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "test.h"

struct record {
	void *self;          /* the userdata the callback must receive */
	int count;
	int max_priority;
	int min_priority;
	int bad;             /* messages with a NULL format or empty text */
	char last[256];
};

static void record_init(struct record *r)
{
	memset(r, 0, sizeof(*r));
	r->self = r;
	r->max_priority = -1;
	r->min_priority = 8;
}

static void __attribute__((format(printf, 6, 0)))
record_fn(void *userdata, int priority, const char *file, int line,
	  const char *fn, const char *format, va_list args)
{
	struct record *r = userdata;
	va_list copy;

	if (!r || r->self != r)
		abort(); /* wrong userdata: crash the test loudly */
	r->count++;
	if (priority > r->max_priority)
		r->max_priority = priority;
	if (priority < r->min_priority)
		r->min_priority = priority;
	if (!format) {
		r->bad++;
		return;
	}
	va_copy(copy, args);
	vsnprintf(r->last, sizeof(r->last), format, copy);
	va_end(copy);
	if (!r->last[0])
		r->bad++;
}

/* Redirects stderr (fd 2) into a memfd. */
struct capture {
	int saved;
	int tmp;
};

static void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = memfd_create("stderr", MFD_CLOEXEC);
	assert_ge(c->tmp, 0);
	c->saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	assert_ge(c->saved, 0);
	assert_eq(dup2(c->tmp, 2), 2);
}

/* Restores stderr; returns the number of bytes written to it meanwhile. */
static long capture_end(struct capture *c, char *buf, size_t len)
{
	off_t size;
	ssize_t n;

	fflush(stderr);
	assert_eq(dup2(c->saved, 2), 2);
	xclose(c->saved);
	size = lseek(c->tmp, 0, SEEK_END);
	n = pread(c->tmp, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	xclose(c->tmp);
	return (long)size;
}

/* Work that succeeds and work that fails, so that libluo has something
 * to say at every priority it uses. */
static void exercise(luo_ctx_t *ctx)
{
	luo_session_t *s = NULL, *bad = SENTINEL_PTR;
	enum luo_state state;
	int pipefd[2], memfd;

	assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	memfd = memfd_pattern(1, 100);
	expect_ok(luo_get_state(ctx, &state));
	expect_ret(luo_session_create(ctx, "", &bad), -EINVAL);
	expect_ret(luo_session_retrieve(ctx, "log.missing", &bad), -ENOENT);
	expect_ok(luo_session_create(ctx, "log.session", &s));
	expect_ok(luo_session_preserve_fd(s, memfd, 1));
	expect_ret(luo_session_preserve_fd(s, pipefd[0], 2), -ENOENT);
	expect_ret(luo_session_close(s, 0), -EBUSY);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	expect_ret(luo_fd_preserve(ctx, -1, 3), -EINVAL);
	xclose(pipefd[0]);
	xclose(pipefd[1]);
	xclose(memfd);
}

/* Records what a context logs for exercise() at @priority. */
static void run_with_callback(struct record *r, int priority)
{
	luo_ctx_t *ctx;

	record_init(r);
	expect_ok(luo_ctx_opts_set_log(tb.opts, record_fn, r, priority));
	ctx = tb_new_ctx();
	exercise(ctx);
	luo_ctx_unref(ctx);
}

LUO_TEST(log, silent_by_default, LUO_ABI_MAINLINE)
{
	struct capture c;
	char out[512];
	luo_ctx_t *ctx;
	long n;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	capture_begin(&c);
	ctx = tb_new_ctx();
	exercise(ctx);
	luo_ctx_unref(ctx);
	n = capture_end(&c, out, sizeof(out));
	assert_eq(n, 0, "libluo wrote %ld bytes to stderr: %s", n, out);
}

LUO_TEST(log, callback_receives_messages_at_debug, LUO_ABI_MAINLINE)
{
	struct record r;
	struct capture c;
	char out[512];
	long n;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	capture_begin(&c);
	run_with_callback(&r, LOG_DEBUG);
	n = capture_end(&c, out, sizeof(out));
	assert_gt(r.count, 0, "no message at LOG_DEBUG");
	assert_eq(r.bad, 0, "%d messages without text", r.bad);
	assert_ge(r.min_priority, 0);
	assert_le(r.max_priority, LOG_DEBUG);
	assert_eq(n, 0, "with a callback, stderr got %ld bytes: %s", n, out);
}

LUO_TEST(log, callback_only_gets_messages_up_to_its_priority, LUO_ABI_MAINLINE)
{
	struct record debug, err, emerg;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	run_with_callback(&debug, LOG_DEBUG);
	run_with_callback(&err, LOG_ERR);
	run_with_callback(&emerg, 0);
	assert_gt(debug.count, 0);
	assert_le(err.max_priority, LOG_ERR, "priority %d passed a LOG_ERR "
		  "filter", err.max_priority);
	assert_le(emerg.max_priority, 0);
	assert_le(err.count, debug.count);
	if (debug.max_priority > LOG_ERR)
		assert_lt(err.count, debug.count,
			  "LOG_ERR filter let everything through");
}

LUO_TEST(log, ctx_set_log_replaces_the_callback, LUO_ABI_MAINLINE)
{
	struct record a, b;
	luo_ctx_t *ctx;
	int before;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	record_init(&a);
	record_init(&b);
	expect_ok(luo_ctx_opts_set_log(tb.opts, record_fn, &a, LOG_DEBUG));
	ctx = tb_ctx();
	exercise(ctx);
	assert_gt(a.count, 0);
	before = a.count;
	expect_ok(luo_ctx_set_log(ctx, record_fn, &b, LOG_DEBUG));
	exercise(ctx);
	assert_eq(a.count, before, "the old callback is still called");
	assert_gt(b.count, 0, "the new callback is not called");

	/* A failed set_log changes nothing. */
	before = b.count;
	expect_ret(luo_ctx_set_log(ctx, record_fn, &a, 9), -EINVAL);
	expect_ret(luo_ctx_set_log(ctx, record_fn, &a, -1), -EINVAL);
	a.count = 0;
	exercise(ctx);
	assert_gt(b.count, before, "a failed set_log removed the callback");
	assert_eq(a.count, 0, "a failed set_log installed its callback");
}

LUO_TEST(log, ctx_set_log_to_null_logs_to_stderr, LUO_ABI_MAINLINE)
{
	struct capture c;
	char out[512];
	luo_ctx_t *ctx;
	long n;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	ctx = tb_ctx();
	capture_begin(&c);
	expect_ok(luo_ctx_set_log(ctx, NULL, NULL, LOG_DEBUG));
	exercise(ctx);
	n = capture_end(&c, out, sizeof(out));
	assert_gt(n, 0, "nothing on stderr at LOG_DEBUG without a callback");
}

static void expect_env_enables_stderr(const char *value)
{
	struct capture c;
	char out[512];
	luo_ctx_t *ctx;
	long n;

	assert_eq(setenv("LIBLUO_LOG", value, 1), 0);
	capture_begin(&c);
	ctx = tb_new_ctx();
	exercise(ctx);
	luo_ctx_unref(ctx);
	n = capture_end(&c, out, sizeof(out));
	assert_gt(n, 0, "LIBLUO_LOG=%s: nothing on stderr", value);
}

LUO_TEST(log, env_enables_stderr_by_name, LUO_ABI_MAINLINE)
{
	expect_env_enables_stderr("debug");
}

LUO_TEST(log, env_enables_stderr_by_number, LUO_ABI_MAINLINE)
{
	expect_env_enables_stderr("7");
}

LUO_TEST(log, env_raises_the_callback_priority, LUO_ABI_MAINLINE)
{
	struct record plain, raised;

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	run_with_callback(&plain, LOG_DEBUG);
	assert_eq(setenv("LIBLUO_LOG", "debug", 1), 0);
	run_with_callback(&raised, LOG_ERR);
	assert_eq(raised.count, plain.count,
		  "LIBLUO_LOG=debug with a LOG_ERR callback: %d messages, "
		  "%d at LOG_DEBUG", raised.count, plain.count);
	assert_eq(raised.max_priority, plain.max_priority);
}

/* The callback runs "with no libluo lock held: it may call libluo, even
 * with the same context" (luo_log_fn): here, for every message, it asks
 * the same context for a session of its own, which takes the locks the
 * call that logs may take (the context's index among them). */
struct reentrant {
	luo_ctx_t *ctx;
	int depth, calls, created, failed;
};

static void __attribute__((format(printf, 6, 0)))
reentrant_fn(void *userdata, int priority, const char *file, int line,
	     const char *fn, const char *format, va_list args)
{
	struct reentrant *r = userdata;
	luo_session_t *s = NULL;
	char name[32];
	int ret;

	/* and from the calls the callback makes, once more */
	if (r->depth++ < 2 && r->ctx) {
		snprintf(name, sizeof(name), "log.cb.%d.%d", r->depth,
			 r->calls++);
		ret = luo_session_create(r->ctx, name, &s);
		if (ret == 0) {
			r->created++;
			if (luo_session_close(s, 0) < 0)
				r->failed++;
		} else if (ret != -ENODEV) {
			r->failed++;
		}
	}
	r->depth--;
}

LUO_TEST(log, callback_may_call_libluo_with_the_same_context,
	 LUO_ABI_MAINLINE, .timeout = 30)
{
	struct reentrant r = { 0 };

	assert_eq(unsetenv("LIBLUO_LOG"), 0);
	expect_ok(luo_ctx_opts_set_log(tb.opts, reentrant_fn, &r, LOG_DEBUG));
	r.ctx = tb_new_ctx();
	/* the first create makes the context's index, and says so */
	exercise(r.ctx);
	assert_gt(r.calls, 0, "nothing was logged at LOG_DEBUG");
	assert_eq(r.failed, 0, "%d calls from the callback failed", r.failed);
	assert_gt(r.created, 0);
	{
		luo_ctx_t *ctx = r.ctx;

		r.ctx = NULL; /* what its freeing logs calls nothing */
		luo_ctx_unref(ctx);
	}
}
