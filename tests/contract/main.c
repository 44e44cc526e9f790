/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Entry point of test-contract: the same binary runs the contract suite
 * against the fake kernel (LIBLUO_TEST_BACKEND=fake, the default) or against
 * the real /dev/liveupdate (LIBLUO_TEST_BACKEND=kernel, e.g. inside the VM).
 *
 * On the kernel backend without a usable device the whole binary exits 77
 * ("1..0 # SKIP why"), which meson reports as SKIP.  The device is
 * single-open; the harness runs one test at a time anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"
#include "harness.h"

/* Whether the kernel backend can run: 0, or the exit status to use. */
static int probe_kernel(char *why, size_t len)
{
	const char *path = tb_device_path();
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		snprintf(why, len, "%s does not exist (%s): the kernel lacks "
			 "CONFIG_LIVEUPDATE or was booted without "
			 "liveupdate=on", path, strerror(errno));
		return HARNESS_EXIT_SKIP;
	}
	r = luo_ctx_opts_new(&opts);
	if (!r)
		r = luo_ctx_opts_set_device(opts, path);
	if (!r)
		r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	luo_ctx_unref(ctx);
	if (r == -EACCES || r == -EPERM || r == -ENOENT) {
		snprintf(why, len, "cannot open %s: %s", path, strerror(-r));
		return HARNESS_EXIT_SKIP;
	}
	if (r) {
		snprintf(why, len, "cannot open %s: %s", path, strerror(-r));
		return 1;
	}
	return 0;
}

/* Runs in the parent before the tests; the probe's context is closed
 * again, so the device is free for the tests. */
static int setup(char *why, size_t len)
{
	switch (tb_backend()) {
	case TB_BACKEND_FAKE:
		fprintf(stderr, "test-contract: backend fake\n");
		return 0;
	case TB_BACKEND_FAKE_SERVER:
		fprintf(stderr, "test-contract: backend fake-server (the "
			"fake behind a fake-kernel server)\n");
		return 0;
	case TB_BACKEND_KERNEL:
		fprintf(stderr, "test-contract: backend kernel (%s); tests "
			"that need the fake are skipped\n", tb_device_path());
		return probe_kernel(why, len);
	default:
		snprintf(why, len, "LIBLUO_TEST_BACKEND must be 'fake', "
			 "'fake-server' or 'kernel'");
		return 2;
	}
}

int main(int argc, char *argv[])
{
	static const struct harness_config cfg = {
		.default_timeout = 120, /* a test may set its own */
		.setup = setup,
	};

	return harness_run(argc, argv, &cfg);
}
