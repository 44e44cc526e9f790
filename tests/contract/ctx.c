/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contract: context options, contexts, ABI selection, small helpers. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>

#include "test.h"

#define MISSING_DEVICE "/nonexistent-libluo-test/liveupdate"

/* Options that do not reach any fake: the real-kernel path. */
static luo_ctx_opts_t *kernel_opts(const char *device)
{
	luo_ctx_opts_t *opts = NULL;

	expect_ok(luo_ctx_opts_new(&opts));
	if (device)
		expect_ok(luo_ctx_opts_set_device(opts, device));
	return opts;
}

static char *string_of(size_t len)
{
	char *s = malloc(len + 1);

	assert_not_null(s);
	s[0] = '/';
	memset(s + 1, 'a', len - 1);
	s[len] = '\0';
	return s;
}

/* ---- options ------------------------------------------------------------ */

LUO_TEST(ctx, opts_new_null_is_einval, LUO_ABI_MAINLINE)
{
	expect_ret(luo_ctx_opts_new(NULL), -EINVAL);
}

LUO_TEST(ctx, opts_free_null_is_noop, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = NULL;

	luo_ctx_opts_free(NULL);
	expect_ok(luo_ctx_opts_new(&opts));
	assert_not_null(opts);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_set_device_rejects_bad_paths, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(NULL);
	char *longest_ok = string_of(PATH_MAX - 1);
	char *too_long = string_of(PATH_MAX);
	char *far_too_long = string_of(PATH_MAX + 100);

	expect_ret(luo_ctx_opts_set_device(NULL, "/dev/null"), -EINVAL);
	expect_ret(luo_ctx_opts_set_device(opts, NULL), -EINVAL);
	expect_ret(luo_ctx_opts_set_device(opts, ""), -EINVAL);
	expect_ret(luo_ctx_opts_set_device(opts, too_long), -ENAMETOOLONG);
	expect_ret(luo_ctx_opts_set_device(opts, far_too_long),
		   -ENAMETOOLONG);
	expect_ok(luo_ctx_opts_set_device(opts, longest_ok));
	expect_ok(luo_ctx_opts_set_device(opts, "/dev/null"));

	free(longest_ok);
	free(too_long);
	free(far_too_long);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_set_device_copies_the_string, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(NULL);
	char path[] = MISSING_DEVICE;
	luo_ctx_t *ctx = SENTINEL_PTR;

	expect_ok(luo_ctx_opts_set_device(opts, path));
	/* Were the pointer kept, the context would open /dev/null. */
	strcpy(path, "/dev/null");
	expect_ret(luo_ctx_new(opts, &ctx), -ENOENT);
	assert_eq(ctx, SENTINEL_PTR);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_failed_set_device_keeps_previous_path, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts("/dev/null");
	char *too_long = string_of(PATH_MAX);
	luo_ctx_t *ctx = SENTINEL_PTR;

	expect_ret(luo_ctx_opts_set_device(opts, ""), -EINVAL);
	expect_ret(luo_ctx_opts_set_device(opts, too_long), -ENAMETOOLONG);
	expect_ret(luo_ctx_opts_set_device(opts, NULL), -EINVAL);
	/* /dev/null opens but answers no LUO request: -EPROTO, not the
	 * -ENOENT or success a reset to the default path would give. */
	expect_ret(luo_ctx_new(opts, &ctx), -EPROTO);
	assert_eq(ctx, SENTINEL_PTR);
	free(too_long);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_set_abi_rejects_unknown_values, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(NULL);

	expect_ret(luo_ctx_opts_set_abi(NULL, LUO_ABI_AUTO), -EINVAL);
	expect_ret(luo_ctx_opts_set_abi(opts, (enum luo_abi)3), -EINVAL);
	expect_ret(luo_ctx_opts_set_abi(opts, (enum luo_abi)-1), -EINVAL);
	expect_ret(luo_ctx_opts_set_abi(opts, (enum luo_abi)0x100), -EINVAL);
	expect_ok(luo_ctx_opts_set_abi(opts, LUO_ABI_MAINLINE));
	expect_ok(luo_ctx_opts_set_abi(opts, LUO_ABI_RFC));
	expect_ok(luo_ctx_opts_set_abi(opts, LUO_ABI_AUTO));
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_set_log_rejects_bad_priority, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(NULL);

	expect_ret(luo_ctx_opts_set_log(NULL, NULL, NULL, LOG_ERR), -EINVAL);
	expect_ret(luo_ctx_opts_set_log(opts, NULL, NULL, -1), -EINVAL);
	expect_ret(luo_ctx_opts_set_log(opts, NULL, NULL, 8), -EINVAL);
	expect_ret(luo_ctx_opts_set_log(opts, NULL, NULL, INT_MAX), -EINVAL);
	expect_ok(luo_ctx_opts_set_log(opts, NULL, NULL, 0));
	expect_ok(luo_ctx_opts_set_log(opts, NULL, NULL, LOG_DEBUG));
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, opts_set_fake_null_opts_is_einval, LUO_ABI_MAINLINE)
{
	expect_ret(luo_ctx_opts_set_fake(NULL, tb.fake), -EINVAL);
	expect_ret(luo_ctx_opts_set_fake(NULL, NULL), -EINVAL);
}

LUO_TEST(ctx, opts_and_ctx_hold_references_on_the_fake, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(NULL);
	luo_fake_t *fake = NULL;
	luo_session_t *s = NULL;
	luo_ctx_t *ctx = NULL;
	enum luo_abi abi = 0;

	tb_require_fake("luo_ctx_opts_set_fake()");
	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	expect_ok(luo_ctx_opts_set_fake(opts, fake));
	luo_fake_unref(fake); /* the options keep it alive */
	expect_ok(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts); /* the context keeps it alive */
	expect_ok(luo_ctx_get_abi(ctx, &abi));
	assert_eq(abi, LUO_ABI_MAINLINE);
	expect_ok(luo_session_create(ctx, "refs", &s));
	expect_ok(luo_session_close(s, 0));
	/* The last reference frees the fake: tb_end() finds no leak. */
	assert_null(luo_ctx_unref(ctx));
}

LUO_TEST(ctx, opts_set_fake_null_selects_the_real_kernel, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(MISSING_DEVICE);
	luo_ctx_t *ctx = SENTINEL_PTR;
	luo_fake_t *fake = NULL;

	tb_require_fake("luo_ctx_opts_set_fake()");
	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	expect_ok(luo_ctx_opts_set_fake(opts, fake));
	expect_ok(luo_ctx_opts_set_fake(opts, NULL));
	luo_fake_unref(fake); /* the options must have dropped theirs */
	expect_ret(luo_ctx_new(opts, &ctx), -ENOENT);
	assert_eq(ctx, SENTINEL_PTR);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, options_are_copied_by_ctx_new, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx = tb_ctx();
	enum luo_abi abi = 0;

	/* Changing or freeing the options affects no existing context. */
	expect_ok(luo_ctx_opts_set_abi(tb.opts, LUO_ABI_RFC));
	expect_ok(luo_ctx_opts_set_log(tb.opts, NULL, NULL, LOG_DEBUG));
	luo_ctx_opts_free(tb.opts);
	tb.opts = NULL;
	expect_ok(luo_ctx_get_abi(ctx, &abi));
	assert_eq(abi, LUO_ABI_MAINLINE);
}

/* ---- contexts ----------------------------------------------------------- */

LUO_TEST(ctx, new_null_ret_is_einval_and_opens_nothing, LUO_ABI_MAINLINE)
{
	int fds = fd_count();
	luo_ctx_t *ctx;

	expect_ret(luo_ctx_new(tb.opts, NULL), -EINVAL);
	assert_eq(fd_count(), fds);
	/* The device is free: a context can be created. */
	ctx = tb_new_ctx();
	luo_ctx_unref(ctx);
}

LUO_TEST(ctx, new_missing_device_is_enoent, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts(MISSING_DEVICE);
	luo_ctx_t *ctx = SENTINEL_PTR;
	int fds = fd_count();

	expect_ret(luo_ctx_new(opts, &ctx), -ENOENT);
	assert_eq(ctx, SENTINEL_PTR, "out-parameter written on failure");
	assert_eq(fd_count(), fds);
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, new_not_a_luo_device_is_eproto, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = kernel_opts("/dev/null");
	luo_ctx_t *ctx = SENTINEL_PTR;
	int fds = fd_count();

	expect_ret(luo_ctx_new(opts, &ctx), -EPROTO);
	assert_eq(ctx, SENTINEL_PTR);
	assert_eq(fd_count(), fds, "descriptor left open after -EPROTO");
	luo_ctx_opts_free(opts);
}

LUO_TEST(ctx, new_with_null_opts_uses_the_default_device, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx = SENTINEL_PTR;

	if (!luo_is_available()) {
		expect_ret(luo_ctx_new(NULL, &ctx), -ENOENT);
		assert_eq(ctx, SENTINEL_PTR);
	} else if (tb_backend() == TB_BACKEND_KERNEL &&
		   !strcmp(tb_device_path(), LUO_DEVICE_PATH)) {
		enum luo_abi abi = 0;

		expect_ok(luo_ctx_new(NULL, &ctx));
		expect_ok(luo_ctx_get_abi(ctx, &abi));
		assert_eq(abi, LUO_ABI_MAINLINE);
		assert_null(luo_ctx_unref(ctx));
	} else {
		skip_test("%s exists but is not the device under test",
			  LUO_DEVICE_PATH);
	}
}

LUO_TEST(ctx, second_context_on_the_device_is_ebusy, LUO_ABI_MAINLINE)
{
	luo_ctx_t *first = tb_new_ctx();
	luo_ctx_t *second = SENTINEL_PTR;
	int fds = fd_count();

	expect_ret(luo_ctx_new(tb.opts, &second), -EBUSY);
	assert_eq(second, SENTINEL_PTR);
	assert_eq(fd_count(), fds);
	assert_null(luo_ctx_unref(first));
	/* Closing the first releases the device. */
	second = tb_new_ctx();
	luo_ctx_unref(second);
}

LUO_TEST(ctx, ref_and_unref, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx = tb_new_ctx();
	luo_ctx_t *other = SENTINEL_PTR;
	enum luo_abi abi = 0;

	assert_null(luo_ctx_ref(NULL));
	assert_null(luo_ctx_unref(NULL));
	assert_eq(luo_ctx_ref(ctx), ctx);
	assert_null(luo_ctx_unref(ctx));
	/* One reference left: usable, and still holding the device. */
	expect_ok(luo_ctx_get_abi(ctx, &abi));
	assert_eq(abi, LUO_ABI_MAINLINE);
	expect_ret(luo_ctx_new(tb.opts, &other), -EBUSY);
	assert_eq(other, SENTINEL_PTR);
	assert_null(luo_ctx_unref(ctx));
	/* The last reference closed the device. */
	other = tb_new_ctx();
	luo_ctx_unref(other);
}

LUO_TEST_BOTH(ctx, get_abi_reports_the_detected_abi)
{
	enum luo_abi abi = (enum luo_abi)SENTINEL_INT;

	expect_ok(luo_ctx_get_abi(tb_ctx(), &abi));
	assert_eq(abi, tb.abi, "detected ABI %d, expected %d", abi, tb.abi);
	assert_ne(abi, LUO_ABI_AUTO);

	abi = (enum luo_abi)SENTINEL_INT;
	expect_ret(luo_ctx_get_abi(NULL, &abi), -EINVAL);
	assert_eq(abi, (enum luo_abi)SENTINEL_INT);
	expect_ret(luo_ctx_get_abi(tb_ctx(), NULL), -EINVAL);
}

LUO_TEST_BOTH(ctx, forced_matching_abi_is_used)
{
	enum luo_abi abi = 0;

	expect_ok(luo_ctx_opts_set_abi(tb.opts, tb.abi));
	expect_ok(luo_ctx_get_abi(tb_ctx(), &abi));
	assert_eq(abi, tb.abi);
}

LUO_TEST_BOTH(ctx, forced_other_abi_is_eproto)
{
	enum luo_abi other = tb.abi == LUO_ABI_RFC ? LUO_ABI_MAINLINE
						   : LUO_ABI_RFC;
	luo_ctx_t *ctx = SENTINEL_PTR;
	int fds = fd_count();

	expect_ok(luo_ctx_opts_set_abi(tb.opts, other));
	expect_ret(luo_ctx_new(tb.opts, &ctx), -EPROTO);
	assert_eq(ctx, SENTINEL_PTR);
	assert_eq(fd_count(), fds);
	/* The failed attempt released the device. */
	expect_ok(luo_ctx_opts_set_abi(tb.opts, LUO_ABI_AUTO));
	tb_ctx();
}

LUO_TEST(ctx, injected_open_errors_are_returned_once, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx = SENTINEL_PTR;

	tb_require_fake("error injection");
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, EIO));
	expect_ret(luo_ctx_new(tb.opts, &ctx), -EIO);
	assert_eq(ctx, SENTINEL_PTR);
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, EACCES));
	expect_ret(luo_ctx_new(tb.opts, &ctx), -EACCES);
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, EPERM));
	expect_ret(luo_ctx_new(tb.opts, &ctx), -EPERM);
	assert_eq(ctx, SENTINEL_PTR);
	/* Each injection fires once. */
	tb_ctx();
}

LUO_TEST(ctx, set_log_validates_its_arguments, LUO_ABI_MAINLINE)
{
	expect_ret(luo_ctx_set_log(NULL, NULL, NULL, LOG_ERR), -EINVAL);
	expect_ret(luo_ctx_set_log(tb_ctx(), NULL, NULL, -1), -EINVAL);
	expect_ret(luo_ctx_set_log(tb_ctx(), NULL, NULL, 8), -EINVAL);
	expect_ok(luo_ctx_set_log(tb_ctx(), NULL, NULL, 0));
	expect_ok(luo_ctx_set_log(tb_ctx(), NULL, NULL, LOG_ERR));
}

/* ---- helpers without a context ------------------------------------------ */

LUO_TEST(ctx, is_available_matches_the_device_node, LUO_ABI_MAINLINE)
{
	struct stat st;
	bool expected = stat(LUO_DEVICE_PATH, &st) == 0 && S_ISCHR(st.st_mode);
	int fds = fd_count();

	assert_eq(luo_is_available(), expected);
	assert_eq(fd_count(), fds, "luo_is_available() left a descriptor");
}

LUO_TEST(ctx, state_to_string_names_every_state, LUO_ABI_MAINLINE)
{
	assert_str_eq(luo_state_to_string(LUO_STATE_UNDEFINED), "undefined");
	assert_str_eq(luo_state_to_string(LUO_STATE_NORMAL), "normal");
	assert_str_eq(luo_state_to_string(LUO_STATE_PREPARED), "prepared");
	assert_str_eq(luo_state_to_string(LUO_STATE_FROZEN), "frozen");
	assert_str_eq(luo_state_to_string(LUO_STATE_UPDATED), "updated");
	assert_str_eq(luo_state_to_string((enum luo_state)5), "unknown");
	assert_str_eq(luo_state_to_string((enum luo_state)-1), "unknown");
	assert_str_eq(luo_state_to_string((enum luo_state)INT_MAX),
		      "unknown");
}

LUO_TEST(ctx, enum_values_are_pinned, LUO_ABI_MAINLINE)
{
	/* The public values match the RFC kernel's and must never move. */
	assert_eq(LUO_STATE_UNDEFINED, 0);
	assert_eq(LUO_STATE_NORMAL, 1);
	assert_eq(LUO_STATE_PREPARED, 2);
	assert_eq(LUO_STATE_FROZEN, 3);
	assert_eq(LUO_STATE_UPDATED, 4);
	assert_eq(LUO_ABI_AUTO, 0);
	assert_eq(LUO_ABI_MAINLINE, 1);
	assert_eq(LUO_ABI_RFC, 2);
	assert_eq(LUO_SESSION_NAME_MAX, 63);
	assert_str_eq(LUO_RESERVED_PREFIX, "libluo.");
	assert_str_eq(LUO_DEVICE_PATH, "/dev/liveupdate");
}
