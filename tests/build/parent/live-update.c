/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parent project's test: one live update on the fake kernel, through the public
 * headers and the exported symbols only.  Prints "parent-live-update: ok" and exits 0
 * on success.
 */
#define _GNU_SOURCE /* memfd_create() */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#define CHECK(call)                                                        \
	do {                                                               \
		int r_ = (call);                                           \
		if (r_ < 0) {                                              \
			fprintf(stderr, "parent-live-update: %s: %s\n", #call,       \
				strerror(-r_));                            \
			return 1;                                          \
		}                                                          \
	} while (0)

int main(void)
{
	static const char payload[] = "carried across a (fake) kexec";
	luo_session_t *out, *in;
	luo_ctx_opts_t *opts;
	luo_fake_t *fake;
	luo_ctx_t *ctx;
	char buf[sizeof(payload)];
	int fd;

	CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	CHECK(luo_ctx_opts_new(&opts));
	CHECK(luo_ctx_opts_set_fake(opts, fake));

	/* Boot 1. */
	CHECK(luo_ctx_new(opts, &ctx));
	CHECK(luo_session_create(ctx, "parent", &out));
	fd = memfd_create("parent", MFD_CLOEXEC);
	if (fd < 0 || write(fd, payload, sizeof(payload)) != sizeof(payload)) {
		perror("parent-live-update: memfd");
		return 1;
	}
	CHECK(luo_session_preserve_fd(out, fd, 7));
	close(fd);
	luo_ctx_unref(ctx);

	CHECK(luo_fake_kexec(fake));
	luo_session_close(out, LUO_SESSION_CLOSE_FORCE);

	/* Boot 2. */
	CHECK(luo_ctx_new(opts, &ctx));
	CHECK(luo_session_retrieve(ctx, "parent", &in));
	CHECK(luo_session_retrieve_fd(in, 7, &fd));
	if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf) ||
	    memcmp(buf, payload, sizeof(buf)) != 0) {
		fprintf(stderr, "parent-live-update: the data did not survive\n");
		return 1;
	}
	close(fd);
	CHECK(luo_session_finish(in));
	CHECK(luo_session_close(in, 0));
	luo_ctx_unref(ctx);
	luo_ctx_opts_free(opts);
	luo_fake_unref(fake);

	printf("parent-live-update: ok (%s)\n", luo_state_to_string(LUO_STATE_NORMAL));
	return 0;
}
