/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * original-api - the token API of the original libluo (preserve, prepare,
 * kexec, restore, finish), run against the fake kernel on both kernel ABIs:
 * the same calls work on the RFC ABI, where they are the kernel's requests,
 * and on the mainline ABI, where libluo maps them onto sessions it owns.
 *
 * Unlike the seed library, every call takes a context: there is no global
 * state, and the context must stay alive until the kexec (on the mainline
 * ABI its sessions carry the tokens).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#define TOKEN 0x1234

/* Evaluate a libluo call; on failure say which one and jump to "out". */
#define CHECK(call)                                                        \
	do {                                                               \
		r = (call);                                                \
		if (r < 0) {                                               \
			fprintf(stderr, "original-api: %s: %s\n", #call,   \
				strerror(-r));                             \
			goto out;                                          \
		}                                                          \
	} while (0)

static void print_state(luo_ctx_t *ctx)
{
	enum luo_state state;

	if (luo_get_state(ctx, &state) == 0)
		printf("  state: %s\n", luo_state_to_string(state));
}

static int run(enum luo_abi abi)
{
	luo_ctx_t *boot1 = NULL, *boot2 = NULL;
	luo_ctx_opts_t *opts = NULL;
	luo_fake_t *fake = NULL;
	char buf[16] = "";
	int r, fd = -1;

	printf("%s ABI (fake kernel, simulated kexec):\n",
	       abi == LUO_ABI_RFC ? "RFC" : "mainline");
	CHECK(luo_fake_new(abi, &fake));
	CHECK(luo_ctx_opts_new(&opts));
	CHECK(luo_ctx_opts_set_fake(opts, fake));

	/* Boot 1: preserve a memfd under a token we choose, then prepare. */
	CHECK(luo_ctx_new(opts, &boot1));
	fd = memfd_create("original-api", MFD_CLOEXEC);
	if (fd < 0 || write(fd, "payload", 8) != 8) {
		r = -EIO;
		goto out;
	}
	CHECK(luo_fd_preserve(boot1, fd, TOKEN));
	close(fd);
	fd = -1;
	CHECK(luo_prepare(boot1));
	print_state(boot1);

	CHECK(luo_fake_kexec(fake));
	/* Boot 2.  (boot1 is dead now: only dropping it is left to do.) */
	CHECK(luo_ctx_new(opts, &boot2));
	print_state(boot2);
	CHECK(luo_fd_restore(boot2, TOKEN, &fd));
	if (pread(fd, buf, sizeof(buf), 0) != 8) {
		r = -EIO;
		goto out;
	}
	printf("  token %#x: \"%s\"\n", TOKEN, buf);
	CHECK(luo_finish(boot2));
	print_state(boot2);
out:
	if (fd >= 0)
		close(fd);
	luo_ctx_unref(boot2);
	luo_ctx_unref(boot1);
	luo_ctx_opts_free(opts);
	luo_fake_unref(fake);
	return r;
}

int main(void)
{
	if (run(LUO_ABI_MAINLINE) < 0 || run(LUO_ABI_RFC) < 0)
		return EXIT_FAILURE;
	return EXIT_SUCCESS;
}
