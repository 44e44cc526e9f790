/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * log-to-syslog - libluo's log messages into syslog(3).
 *
 * libluo is silent unless told otherwise.  A daemon gives its context a
 * log callback that forwards each message with its priority; libluo calls
 * it with no lock held, in the thread that made the call, and names the
 * public function the message is about.  Here the callback feeds syslog,
 * and a few calls show what a person reading the journal gets: what each
 * call did (LOG_DEBUG) and, for a mistake, what to do about it (LOG_ERR).
 *
 *   log-to-syslog [--stderr]    (--stderr: also print what is logged)
 *
 * Runs against libluo's in-memory fake kernel.  Build it on its own with:
 *   cc log-to-syslog.c $(pkg-config --cflags --libs libluo libluo-fake)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include <libluo-fake.h>
#include <libluo.h>

/* luo_log_fn: "luo_session_preserve_fd: session "x": ..." at @priority. */
static void __attribute__((format(printf, 6, 0)))
to_syslog(void *userdata, int priority, const char *file,
		      int line, const char *fn, const char *format,
		      va_list args)
{
	char msg[512];

	(void)userdata;
	(void)file;
	(void)line;
	vsnprintf(msg, sizeof(msg), format, args);
	syslog(priority, "%s: %s", fn, msg);
}

int main(int argc, char **argv)
{
	int also_stderr = argc > 1 && !strcmp(argv[1], "--stderr");
	luo_ctx_opts_t *opts = NULL;
	luo_session_t *s = NULL;
	luo_fake_t *fake = NULL;
	luo_ctx_t *ctx = NULL;
	int fd, r;

	openlog("log-to-syslog", LOG_PID | (also_stderr ? LOG_PERROR : 0),
		LOG_DAEMON);
	if (luo_fake_new(LUO_ABI_MAINLINE, &fake) || luo_ctx_opts_new(&opts) ||
	    luo_ctx_opts_set_fake(opts, fake) ||
	    luo_ctx_opts_set_log(opts, to_syslog, NULL, LOG_DEBUG) ||
	    luo_ctx_new(opts, &ctx))
		return 1;

	luo_session_create(ctx, "example.logged", &s); /* LOG_DEBUG */
	fd = memfd_create("state", MFD_CLOEXEC);
	luo_session_preserve_fd_labeled(s, fd, 1, "state"); /* LOG_DEBUG */
	/* a mistake: the same file twice; LOG_ERR says what is wrong */
	r = luo_session_preserve_fd(s, fd, 2);
	close(fd);
	/* and one more: closing would drop the files; LOG_ERR says how */
	if (luo_session_close(s, 0) == 0)
		return 1;
	luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
	luo_ctx_unref(ctx);
	luo_ctx_opts_free(opts);
	luo_fake_unref(fake);
	closelog();
	return r == -EBUSY ? 0 : 1;
}
