/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Entry point of test-contract: the same binary runs the contract suite
 * against the fake kernel (LIBLUO_TEST_BACKEND=fake, the default) or against
 * the real /dev/liveupdate (LIBLUO_TEST_BACKEND=kernel, e.g. inside the VM).
 *
 * On the kernel backend without a usable device the whole binary exits 77,
 * which meson reports as SKIP.  The device is single-open, so the kernel
 * backend runs one test at a time.
 */
#include <criterion/criterion.h>
#include <criterion/options.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"

#define EXIT_SKIP 77

/* Whether the kernel backend can run: 0, or the exit status to use. */
static int probe_kernel(void)
{
	const char *path = tb_device_path();
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "test-contract: SKIP: %s does not exist (%s): "
			"the kernel lacks CONFIG_LIVEUPDATE or was booted "
			"without liveupdate=on\n", path, strerror(errno));
		return EXIT_SKIP;
	}
	r = luo_ctx_opts_new(&opts);
	if (!r)
		r = luo_ctx_opts_set_device(opts, path);
	if (!r)
		r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	luo_ctx_unref(ctx);
	if (r == -EACCES || r == -EPERM || r == -ENOENT) {
		fprintf(stderr, "test-contract: SKIP: cannot open %s: %s\n",
			path, strerror(-r));
		return EXIT_SKIP;
	}
	if (r) {
		fprintf(stderr, "test-contract: cannot open %s: %s\n", path,
			strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int ret = 0;

	/* Default per-test timeout; a test may set its own. */
	criterion_options.timeout = 120;
	if (!criterion_handle_args(argc, argv, true))
		goto out;

	switch (tb_backend()) {
	case TB_BACKEND_FAKE:
		fprintf(stderr, "test-contract: backend fake\n");
		break;
	case TB_BACKEND_KERNEL:
		fprintf(stderr, "test-contract: backend kernel (%s); tests "
			"that need the fake are skipped\n", tb_device_path());
		ret = probe_kernel();
		if (ret)
			goto out;
		criterion_options.jobs = 1;
		break;
	default:
		fprintf(stderr, "test-contract: LIBLUO_TEST_BACKEND must be "
			"'fake' or 'kernel'\n");
		ret = 2;
		goto out;
	}

	ret = !criterion_run_all_tests(tests);
out:
	criterion_finalize(tests);
	return ret;
}
