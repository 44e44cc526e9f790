/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The log, as a person reads it: a whole preserve, kexec, retrieve, finish
 * cycle says what it did, step by step, in the name of the public function
 * that was called; failures say, at LOG_ERR, what to do.  (libluo(3) has
 * the table of these messages.)
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "test.h"

#define MSG_TEST(name, ...)                                              \
	LUO_TEST(messages, name, LUO_ABI_MAINLINE, ##__VA_ARGS__)

struct line {
	int priority;
	char file[64];
	char fn[64];
	char text[512];
};

static struct line lines[256];
static int nlines;

static void __attribute__((format(printf, 6, 0)))
capture(void *userdata, int priority, const char *file, int line,
		    const char *fn, const char *format, va_list args)
{
	struct line *l;

	(void)userdata;
	(void)line;
	if (nlines == (int)(sizeof(lines) / sizeof(lines[0])))
		return;
	l = &lines[nlines++];
	l->priority = priority;
	snprintf(l->file, sizeof(l->file), "%s", file);
	snprintf(l->fn, sizeof(l->fn), "%s", fn);
	vsnprintf(l->text, sizeof(l->text), format, args);
}

/* A context on the test's fake kernel that logs everything into lines[]. */
static luo_ctx_t *logging_ctx(void)
{
	luo_ctx_opts_t *o = NULL;
	luo_ctx_t *ctx = NULL;

	expect_ok(luo_ctx_opts_new(&o));
	expect_ok(luo_ctx_opts_set_fake(o, tb.fake));
	expect_ok(luo_ctx_opts_set_log(o, capture, NULL, LOG_DEBUG));
	expect_ok(luo_ctx_new(o, &ctx));
	luo_ctx_opts_free(o);
	return ctx;
}

/* The first line of @fn at @priority containing @needle, or NULL. */
static const struct line *find(int priority, const char *fn,
			       const char *needle)
{
	for (int i = 0; i < nlines; i++)
		if (lines[i].priority == priority &&
		    !strcmp(lines[i].fn, fn) && strstr(lines[i].text, needle))
			return &lines[i];
	return NULL;
}

static void expect_line(int priority, const char *fn, const char *needle)
{
	if (find(priority, fn, needle))
		return;
	for (int i = 0; i < nlines; i++)
		note("logged: <%d> %s: %s", lines[i].priority, lines[i].fn,
		     lines[i].text);
	assert_true(false, "no <%d> %s line with \"%s\"", priority, fn,
		    needle);
}

MSG_TEST(a_whole_cycle_says_what_it_did)
{
	luo_session_t *s, *in;
	luo_ctx_t *ctx;
	int fd;

	tb_require_fake("needs a kexec");
	ctx = logging_ctx();
	expect_ok(luo_session_create(ctx, "msg.cycle", &s));
	fd = memfd_pattern(1, 10);
	expect_ok(luo_session_preserve_fd_labeled(s, fd, 7, "seven"));
	xclose(fd);
	expect_ok(luo_fake_kexec(tb.fake));
	expect_ok(luo_session_close(s, 0));
	luo_ctx_unref(ctx);
	ctx = logging_ctx();
	expect_ok(luo_session_retrieve(ctx, "msg.cycle", &in));
	expect_ok(luo_session_retrieve_fd_by_label(in, "seven", NULL, &fd));
	xclose(fd);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	luo_ctx_unref(ctx);

	expect_line(LOG_DEBUG, "luo_ctx_new", "the fake kernel");
	expect_line(LOG_DEBUG, "luo_session_create", "\"msg.cycle\": created");
	expect_line(LOG_DEBUG, "luo_session_preserve_fd_labeled",
		    "preserved as 0x7 \"seven\"");
	expect_line(LOG_DEBUG, "luo_session_retrieve",
		    "\"msg.cycle\": retrieved");
	expect_line(LOG_DEBUG, "luo_session_retrieve_fd", "token 0x7 retrieved");
	expect_line(LOG_DEBUG, "luo_session_finish", "finished");
	expect_line(LOG_DEBUG, "luo_session_close", "closed");
	for (int i = 0; i < nlines; i++) {
		/* the function the user called, a file's name, no device
		 * path on the fake */
		assert_true(!strncmp(lines[i].fn, "luo_", 4), "fn %s",
			    lines[i].fn);
		assert_true(!strchr(lines[i].file, '/'), "file %s",
			    lines[i].file);
		assert_true(!strstr(lines[i].text, LUO_DEVICE_PATH), "%s",
			    lines[i].text);
	}
}

MSG_TEST(failures_say_what_to_do)
{
	luo_session_t *s, *in, *again;
	struct rlimit saved;
	luo_ctx_t *ctx, *other = NULL;
	char path[64];
	int fd;

	tb_require_fake("needs a kexec");
	ctx = logging_ctx();
	/* a file the kernel cannot preserve */
	expect_ok(luo_session_create(ctx, "msg.fail", &s));
	fd = open_regular_file(path, sizeof(path));
	expect_ret(luo_session_preserve_fd(s, fd, 1), -ENOENT);
	close_regular_file(fd, path);
	expect_line(LOG_ERR, "luo_session_preserve_fd", "only memfds");
	/* a busy device: this context holds it */
	{
		luo_ctx_opts_t *o = NULL;

		expect_ok(luo_ctx_opts_new(&o));
		expect_ok(luo_ctx_opts_set_fake(o, tb.fake));
		expect_ok(luo_ctx_opts_set_log(o, capture, NULL, LOG_DEBUG));
		expect_ret(luo_ctx_new(o, &other), -EBUSY);
		luo_ctx_opts_free(o);
	}
	expect_line(LOG_ERR, "luo_ctx_new", "single-open");
	/* restore with no live update */
	expect_ret(luo_fd_restore(ctx, 1, &fd), -EBUSY);
	expect_line(LOG_ERR, "luo_fd_restore", "luo_prepare() must run");
	/* one descriptor per token of the original API */
	fd = memfd_pattern(2, 10);
	fd_limit_exhaust(&saved);
	expect_ret(luo_fd_preserve(ctx, fd, 2), -EMFILE);
	fd_limit_restore(&saved);
	xclose(fd);
	expect_line(LOG_ERR, "luo_fd_preserve", "takes a descriptor");
	fd = memfd_pattern(3, 10);
	expect_ok(luo_session_preserve_fd(s, fd, 3));
	xclose(fd);

	expect_ok(luo_fake_kexec(tb.fake));
	/* a handle from before the live update */
	fd = memfd_pattern(4, 10);
	expect_ret(luo_session_preserve_fd(s, fd, 4), -ENODEV);
	xclose(fd);
	expect_line(LOG_ERR, "luo_session_preserve_fd",
		    "from before the live update");
	expect_ok(luo_session_close(s, 0));
	luo_ctx_unref(ctx);
	/* a session retrieved twice in a boot */
	ctx = logging_ctx();
	expect_ok(luo_session_retrieve(ctx, "msg.fail", &in));
	expect_ret(luo_session_retrieve(ctx, "msg.fail", &again), -EINVAL);
	expect_line(LOG_ERR, "luo_session_retrieve", "once per boot");
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	luo_ctx_unref(ctx);
}
