/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contract: the fake kernel's own API (<libluo-fake.h>).  Fake only. */
#include <unistd.h>

#include "test.h"

static int stop_file_fn(const char *session, enum luo_session_direction dir,
			uint64_t token, void *userdata)
{
	return ++*(int *)userdata == 2 ? 17 : 0;
}

LUO_TEST(fake, new_validates_its_arguments, LUO_ABI_MAINLINE)
{
	luo_fake_t *fake = SENTINEL_PTR;
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	enum luo_abi abi = 0;

	tb_require_fake("the fake's API");
	expect_ret(luo_fake_new((enum luo_abi)3, &fake), -EINVAL);
	expect_ret(luo_fake_new((enum luo_abi)-1, &fake), -EINVAL);
	assert_eq(fake, SENTINEL_PTR);
	expect_ret(luo_fake_new(LUO_ABI_MAINLINE, NULL), -EINVAL);
	/* AUTO is mainline. */
	expect_ok(luo_fake_new(LUO_ABI_AUTO, &fake));
	expect_ok(luo_ctx_opts_new(&opts));
	expect_ok(luo_ctx_opts_set_fake(opts, fake));
	expect_ok(luo_ctx_new(opts, &ctx));
	expect_ok(luo_ctx_get_abi(ctx, &abi));
	assert_eq(abi, LUO_ABI_MAINLINE);
	luo_ctx_unref(ctx);
	luo_ctx_opts_free(opts);
	assert_null(luo_fake_unref(fake));
}

LUO_TEST(fake, ref_and_unref, LUO_ABI_MAINLINE)
{
	tb_require_fake("the fake's API");
	assert_null(luo_fake_ref(NULL));
	assert_null(luo_fake_unref(NULL));
	assert_eq(luo_fake_ref(tb.fake), tb.fake);
	assert_null(luo_fake_unref(tb.fake));
	/* Still alive: tb holds the first reference. */
	assert_eq(luo_fake_get_boot(tb.fake), 0);
}

LUO_TEST(fake, inject_error_validates_and_clears, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx = SENTINEL_PTR;

	tb_require_fake("the fake's API");
	expect_ret(luo_fake_inject_error(NULL, LUO_FAKE_OP_OPEN, EIO), -EINVAL);
	expect_ret(luo_fake_inject_error(tb.fake, (enum luo_fake_op)0, EIO),
		   -EINVAL);
	expect_ret(luo_fake_inject_error(tb.fake, (enum luo_fake_op)99, EIO),
		   -EINVAL);
	expect_ret(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, -EIO),
		   -EINVAL);
	/* None of those armed anything. */
	ctx = tb_new_ctx();
	luo_ctx_unref(ctx);
	/* error == 0 disarms. */
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, EIO));
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_OPEN, 0));
	tb_ctx();
}

LUO_TEST(fake, counters_validate_their_arguments, LUO_ABI_MAINLINE)
{
	enum luo_state state = (enum luo_state)SENTINEL_INT;
	int calls = 0;

	tb_require_fake("the fake's API");
	expect_ret(luo_fake_get_boot(NULL), -EINVAL);
	expect_ret(luo_fake_file_count(NULL), -EINVAL);
	expect_ret(luo_fake_session_count(NULL, LUO_SESSION_OUTGOING), -EINVAL);
	expect_ret(luo_fake_session_count(tb.fake, 0), -EINVAL);
	expect_ret(luo_fake_session_count(tb.fake, 3), -EINVAL);
	expect_ret(luo_fake_get_state(NULL, &state), -EINVAL);
	expect_ret(luo_fake_get_state(tb.fake, NULL), -EINVAL);
	assert_eq(state, (enum luo_state)SENTINEL_INT);
	expect_ret(luo_fake_foreach_file(NULL, stop_file_fn, &calls), -EINVAL);
	expect_ret(luo_fake_foreach_file(tb.fake, NULL, &calls), -EINVAL);
	expect_ret(luo_fake_kexec(NULL), -EINVAL);
	assert_eq(calls, 0);
}

LUO_TEST(fake, a_new_fake_is_empty, LUO_ABI_MAINLINE)
{
	enum luo_state state = 0;

	tb_require_fake("the fake's API");
	assert_eq(luo_fake_get_boot(tb.fake), 0);
	assert_eq(luo_fake_file_count(tb.fake), 0);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 0);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_INCOMING), 0);
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_NORMAL);
}

LUO_TEST(fake, foreach_file_stops_on_non_zero, LUO_ABI_MAINLINE)
{
	luo_session_t *s = NULL;
	int fds[3], i, calls = 0;

	tb_require_fake("the fake's API");
	expect_ok(luo_session_create(tb_ctx(), "tests.files", &s));
	for (i = 0; i < 3; i++) {
		fds[i] = memfd_pattern((uint64_t)i, 8);
		expect_ok(luo_session_preserve_fd(s, fds[i], (uint64_t)i));
	}
	assert_eq(tb_fake_user_file_count(), 3);
	/* and libluo's: the session's record, the context's index's */
	assert_eq(luo_fake_file_count(tb.fake), 5);
	expect_ret(luo_fake_foreach_file(tb.fake, stop_file_fn, &calls), 17);
	assert_eq(calls, 2);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	for (i = 0; i < 3; i++)
		xclose(fds[i]);
}

LUO_TEST(fake, failed_kexec_changes_nothing, LUO_ABI_MAINLINE)
{
	luo_session_t *s = NULL, *in = NULL;
	int a, b, c, fd = -1;

	tb_require_fake("the fake's API");
	a = memfd_pattern(1, 100);
	b = memfd_pattern(2, 100);
	c = memfd_pattern(3, 1);
	expect_ok(luo_session_create(tb_ctx(), "tests.kexec", &s));
	expect_ok(luo_session_preserve_fd(s, a, 1));
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_KEXEC, EBUSY));
	expect_ret(luo_fake_kexec(tb.fake), -EBUSY);
	assert_eq(luo_fake_get_boot(tb.fake), 0);
	/* tests.kexec, and the context's index */
	assert_eq(tb_fake_user_session_count(LUO_SESSION_OUTGOING), 1);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 2);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_INCOMING), 0);
	assert_eq(tb_fake_files_in("tests.kexec"), 1);
	assert_eq(tb_fake_libluo_files_in("tests.kexec"), 1);
	/* The boot goes on: descriptors still work. */
	expect_ok(luo_session_preserve_fd(s, b, 2));
	tb_kexec();
	/* Now the old descriptors are dead. */
	assert_lt(luo_session_preserve_fd(s, c, 3), 0);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	/* tests.kexec, and the old context's index */
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(tb_fake_index_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_INCOMING), 2);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 0);
	expect_ok(luo_session_retrieve(tb_ctx(), "tests.kexec", &in));
	expect_ok(luo_session_retrieve_fd(in, 2, &fd));
	expect_file_pattern(fd, 2, 100);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	xclose(fd);
	xclose(a);
	xclose(b);
	xclose(c);
}

LUO_TEST(fake, rfc_state_follows_the_kernel, LUO_ABI_RFC)
{
	enum luo_state state = 0;
	int a;

	tb_require_fake("the fake's API");
	a = memfd_pattern(1, 10);
	expect_ok(luo_fd_preserve(tb_ctx(), a, 1));
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_NORMAL);
	assert_eq(luo_fake_file_count(tb.fake), 1);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 0);
	expect_ok(luo_prepare(tb_ctx()));
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_PREPARED);
	tb_kexec();
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_UPDATED);
	assert_eq(luo_fake_file_count(tb.fake), 1);
	expect_ok(luo_finish(tb_ctx()));
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_NORMAL);
	/* Unprepared: a kexec carries nothing. */
	expect_ok(luo_fd_preserve(tb_ctx(), a, 2));
	tb_kexec();
	expect_ok(luo_fake_get_state(tb.fake, &state));
	assert_eq(state, LUO_STATE_NORMAL);
	assert_eq(luo_fake_file_count(tb.fake), 0);
	xclose(a);
}

/* Lowered limits make the kernel's -ENOSPC reachable; a full kernel changes
 * nothing, in the kernel or in libluo's tables. */
LUO_TEST(fake, limits_give_enospc, LUO_ABI_MAINLINE)
{
	luo_session_t *a = NULL, *b = NULL, *c = SENTINEL_PTR;
	struct tb_snapshot before;
	int fds[3], i;

	tb_require_fake("luo_fake_set_limits() is the fake's");
	expect_ret(luo_fake_set_limits(NULL, 1, 1), -EINVAL);
	/* 3 sessions: the context's index and two of ours; 3 files a
	 * session: its record and two of ours */
	expect_ok(luo_fake_set_limits(tb.fake, 3, 3));
	expect_ok(luo_session_create(tb_ctx(), "tests.limit.a", &a));
	expect_ok(luo_session_create(tb_ctx(), "tests.limit.b", &b));
	tb_snapshot(&before);
	expect_ret(luo_session_create(tb_ctx(), "tests.limit.c", &c), -ENOSPC);
	assert_eq(c, SENTINEL_PTR);
	tb_expect_unchanged(&before);

	for (i = 0; i < 3; i++)
		fds[i] = memfd_pattern((uint64_t)i, 100);
	expect_ok(luo_session_preserve_fd(a, fds[0], 0));
	expect_ok(luo_session_preserve_fd(a, fds[1], 1));
	tb_snapshot(&before);
	expect_ret(luo_session_preserve_fd(a, fds[2], 2), -ENOSPC);
	tb_expect_unchanged(&before);
	assert_eq(luo_session_token_count(a), 2);
	/* the original API keeps each token in a session of its own */
	expect_ret(luo_fd_preserve(tb_ctx(), fds[2], 2), -ENOSPC);
	assert_eq(luo_token_count(tb_ctx()), 0);
	/* 0 keeps a limit: one more session is still refused */
	expect_ok(luo_fake_set_limits(tb.fake, 0, 0));
	expect_ret(luo_session_create(tb_ctx(), "tests.limit.c", &c), -ENOSPC);
	expect_ok(luo_fake_set_limits(tb.fake, 4, 0));
	expect_ok(luo_fd_preserve(tb_ctx(), fds[2], 2));
	expect_ok(luo_fd_unpreserve(tb_ctx(), 2));
	expect_ok(luo_session_close(a, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(b, 0));
	for (i = 0; i < 3; i++)
		xclose(fds[i]);
}
