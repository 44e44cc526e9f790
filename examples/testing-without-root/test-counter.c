/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * counterd's live-update path, tested in one process on the in-memory
 * fake kernel: both boots, the kexec between them, and the kernel's
 * failures injected where they can happen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libluo-fake.h>

#include "counter.h"

/* like assert(), but never compiled out: the checks call the code */
#define CHECK(x)                                                         \
	do {                                                             \
		if (!(x)) {                                              \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); \
			abort();                                         \
		}                                                        \
	} while (0)

/* luo_fake_foreach_file() callback: count the files of counterd's session
 * (libluo keeps sessions of its own too: its index) */
static int count_counter_files(const char *session,
			       enum luo_session_direction dir, uint64_t token,
			       void *userdata)
{
	(void)dir;
	(void)token;
	if (session && !strcmp(session, COUNTER_SESSION))
		++*(int *)userdata;
	return 0;
}

static int counter_files(luo_fake_t *fake)
{
	int n = 0;

	CHECK(luo_fake_foreach_file(fake, count_counter_files, &n) == 0);
	return n;
}

static luo_ctx_t *boot(luo_fake_t *fake)
{
	luo_ctx_opts_t *opts;
	luo_ctx_t *ctx;

	CHECK(luo_ctx_opts_new(&opts) == 0);
	CHECK(luo_ctx_opts_set_fake(opts, fake) == 0);
	CHECK(luo_ctx_new(opts, &ctx) == 0);
	luo_ctx_opts_free(opts);
	return ctx;
}

int main(void)
{
	luo_session_t *held;
	luo_fake_t *fake;
	luo_ctx_t *ctx;
	uint64_t v = 0;

	/* the round trip */
	CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake) == 0);
	ctx = boot(fake);
	CHECK(counter_restore(ctx, &v) == -ENOENT); /* a first boot */
	CHECK(counter_save(ctx, 42, &held) == 0);
	CHECK(luo_fake_kexec(fake) == 0);
	luo_session_close(held, 0); /* the old boot's handle: dead now */
	luo_ctx_unref(ctx);
	ctx = boot(fake);
	CHECK(counter_restore(ctx, &v) == 0 && v == 42);
	/* finished: the next boot's session is gone */
	CHECK(counter_restore(ctx, &v) == -ENOENT);
	luo_ctx_unref(ctx);
	luo_fake_unref(fake);
	printf("ok 1 - the counter survives a kexec\n");

	/* a kernel out of memory at preserve: nothing stays preserved */
	CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake) == 0);
	ctx = boot(fake);
	CHECK(luo_fake_inject_error(fake, LUO_FAKE_OP_PRESERVE_FD, ENOMEM) == 0);
	CHECK(counter_save(ctx, 7, &held) == -ENOMEM);
	CHECK(counter_files(fake) == 0);
	/* and the name is free again */
	CHECK(counter_save(ctx, 7, &held) == 0);
	CHECK(counter_files(fake) >= 1);
	luo_session_close(held, LUO_SESSION_CLOSE_FORCE);
	luo_ctx_unref(ctx);
	luo_fake_unref(fake);
	printf("ok 2 - a failed preserve leaves nothing behind\n");

	/* a failed retrieve after the update is reported */
	CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake) == 0);
	ctx = boot(fake);
	CHECK(counter_save(ctx, 9, &held) == 0);
	CHECK(luo_fake_kexec(fake) == 0);
	luo_session_close(held, 0);
	luo_ctx_unref(ctx);
	ctx = boot(fake);
	CHECK(luo_fake_inject_error(fake, LUO_FAKE_OP_RETRIEVE_SESSION, EIO) ==
	      0);
	CHECK(counter_restore(ctx, &v) == -EIO);
	/* the failure changed nothing: the next try gets the value */
	CHECK(counter_restore(ctx, &v) == 0 && v == 9);
	luo_ctx_unref(ctx);
	luo_fake_unref(fake);
	printf("ok 3 - a failed retrieve is reported, and can be retried\n");
	printf("1..3\n");
	return 0;
}
