/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo - carry a message in a memfd across a kernel live update.
 *
 *   demo             without /dev/liveupdate: both "boots" run in this
 *                    process against libluo's in-memory fake kernel, with a
 *                    simulated kexec in between
 *   demo --fake      the same, even where /dev/liveupdate exists
 *   demo --stage 1   real kernel, before the update: preserve the message
 *                    and keep the session open while you kexec
 *   demo --stage 2   real kernel, after the update: print the message
 *
 * Every libluo function returns 0 (or a count) on success and a negative
 * errno on failure, so strerror(-r) explains what went wrong.
 *
 * Build it on its own with: cc demo.c $(pkg-config --cflags --libs libluo)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

/* The kernel keeps no list of sessions or tokens: both sides agree on them. */
#define SESSION_NAME "libluo-demo"
#define TOKEN 42

static const char message[] = "Hello from the kernel before the live update!";

/* Print "demo: WHAT: reason" and pass the error on. */
static int report(const char *what, int r)
{
	fprintf(stderr, "demo: %s: %s\n", what, strerror(-r));
	return r;
}

/* Before the update: create a session holding one memfd with the message. */
static int stage1(luo_ctx_t *ctx, luo_session_t **ret)
{
	luo_session_t *session;
	int fd, r;

	/* Only memfds (and shmem files) can be preserved.  Their bytes, size,
	 * file offset and seals travel to the next kernel. */
	fd = memfd_create("demo-message", MFD_CLOEXEC);
	if (fd < 0)
		return report("memfd_create", -errno);
	if (write(fd, message, sizeof(message)) != (ssize_t)sizeof(message)) {
		close(fd);
		return report("write", -EIO);
	}

	r = luo_session_create(ctx, SESSION_NAME, &session);
	if (r < 0) {
		close(fd);
		return report("luo_session_create", r);
	}

	/* The kernel takes its own reference to the file, so our descriptor
	 * can be closed right away. */
	r = luo_session_preserve_fd(session, fd, TOKEN);
	close(fd);
	if (r < 0) {
		/* Nothing to keep: FORCE lets libluo close (and so drop) the
		 * outgoing session. */
		luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
		return report("luo_session_preserve_fd", r);
	}

	printf("stage 1: preserved \"%s\" as token %d of session \"%s\"\n",
	       message, TOKEN, SESSION_NAME);
	/* The session must stay open until the kexec: closing it now would
	 * unpreserve the memfd.  The caller keeps it. */
	*ret = session;
	return 0;
}

/* After the update: take the session back, read the message, finish. */
static int stage2(luo_ctx_t *ctx)
{
	luo_session_t *session;
	char buf[sizeof(message)] = "";
	ssize_t n;
	int fd, r;

	r = luo_session_retrieve(ctx, SESSION_NAME, &session);
	if (r < 0)
		return report("luo_session_retrieve", r);

	r = luo_session_retrieve_fd(session, TOKEN, &fd);
	if (r < 0) {
		report("luo_session_retrieve_fd", r);
		goto out;
	}
	/* The file offset came along too (it is after our write): pread()
	 * from the start. */
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(message) || buf[n - 1] != '\0') {
		r = report("pread", -EIO);
		goto out;
	}
	printf("stage 2: token %d of session \"%s\" holds \"%s\"\n", TOKEN,
	       SESSION_NAME, buf);

	/* Tell the kernel we are done with the session.  Retrieved descriptors
	 * stay valid; anything not retrieved would now be discarded. */
	r = luo_session_finish(session);
	if (r < 0)
		report("luo_session_finish", r);
out:
	/* Closing an unfinished incoming session finishes it: that needs
	 * FORCE, so that it never happens by accident. */
	luo_session_close(session, r < 0 ? LUO_SESSION_CLOSE_FORCE : 0);
	return r;
}

/* Both boots in this process, against the fake kernel. */
static int run_fake(const char *why)
{
	luo_session_t *session = NULL;
	luo_ctx_opts_t *opts = NULL;
	luo_fake_t *fake = NULL;
	luo_ctx_t *ctx = NULL;
	int r;

	printf("%s: using libluo's in-memory fake kernel.\n"
	       "The kexec below is SIMULATED (luo_fake_kexec()); no kernel is "
	       "rebooted.\n", why);

	r = luo_fake_new(LUO_ABI_MAINLINE, &fake);
	if (r < 0)
		return report("luo_fake_new", r);
	r = luo_ctx_opts_new(&opts);
	if (r == 0)
		r = luo_ctx_opts_set_fake(opts, fake);
	if (r < 0) {
		report("context options", r);
		goto out;
	}

	/* Boot 1: preserve.  The session holds its own context reference. */
	r = luo_ctx_new(opts, &ctx);
	if (r < 0) {
		report("luo_ctx_new", r);
		goto out;
	}
	r = stage1(ctx, &session);
	ctx = luo_ctx_unref(ctx);
	if (r < 0)
		goto out;

	printf("simulated kexec...\n");
	r = luo_fake_kexec(fake);
	/* A real kexec would end this process.  Here the handle of boot 1
	 * lives on but is dead: release it. */
	luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	if (r < 0) {
		report("luo_fake_kexec", r);
		goto out;
	}

	/* Boot 2: a new context, as a new process would create. */
	r = luo_ctx_new(opts, &ctx);
	if (r < 0) {
		report("luo_ctx_new", r);
		goto out;
	}
	r = stage2(ctx);
	luo_ctx_unref(ctx);
out:
	luo_ctx_opts_free(opts);
	luo_fake_unref(fake);
	return r;
}

/* One stage against /dev/liveupdate. */
static int run_real(int stage)
{
	luo_session_t *session;
	luo_ctx_t *ctx;
	sigset_t stop;
	int r, sig;

	r = luo_ctx_new(NULL, &ctx); /* NULL: default options */
	if (r < 0)
		return report("cannot open " LUO_DEVICE_PATH, r);
	if (stage == 2) {
		r = stage2(ctx);
		luo_ctx_unref(ctx);
		return r;
	}

	r = stage1(ctx, &session);
	luo_ctx_unref(ctx);
	if (r < 0)
		return r;

	/* Keep the session open (i.e. this process alive) until the kexec. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	printf("Now kexec into the next kernel while this process runs (for "
	       "example: kexec -l /boot/vmlinuz --reuse-cmdline && kexec -e),\n"
	       "then run \"demo --stage 2\" there.  Ctrl-C gives up.\n");
	fflush(stdout);
	sigwait(&stop, &sig);

	/* No kexec came: closing the session drops the preserved memfd. */
	luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	printf("gave up: the session is closed, nothing is preserved\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 1 && !luo_is_available())
		return run_fake("No " LUO_DEVICE_PATH " here") < 0 ?
			EXIT_FAILURE : EXIT_SUCCESS;
	if (argc == 2 && strcmp(argv[1], "--fake") == 0)
		return run_fake("--fake given") < 0 ? EXIT_FAILURE :
						      EXIT_SUCCESS;
	if (argc == 3 && strcmp(argv[1], "--stage") == 0 &&
	    (strcmp(argv[2], "1") == 0 || strcmp(argv[2], "2") == 0))
		return run_real(argv[2][0] - '0') < 0 ? EXIT_FAILURE :
							EXIT_SUCCESS;
	if (argc == 1) {
		/* A real device, and no stage given: explain, change nothing. */
		printf(LUO_DEVICE_PATH " exists, and a program cannot kexec "
		       "itself and keep running.  Run:\n"
		       "  %s --stage 1   preserve a message, then kexec\n"
		       "  %s --stage 2   in the new kernel: print it\n"
		       "  %s --fake      simulate it all with the fake kernel\n",
		       argv[0], argv[0], argv[0]);
		return EXIT_SUCCESS;
	}
	fprintf(stderr, "usage: %s [--fake | --stage 1|2]\n", argv[0]);
	return 2;
}
