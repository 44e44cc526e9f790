/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contract: the original libluo API (state machine, preserve/unpreserve/
 * restore by caller-chosen token) on both ABIs.  Each LUO_TEST_BOTH runs in
 * suite seed_mainline (libluo's own sessions) and seed_rfc (the RFC
 * kernel's requests; fake only).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test.h"

static void expect_state(enum luo_state expected)
{
	enum luo_state state = (enum luo_state)SENTINEL_INT;

	expect_ok(luo_get_state(tb_ctx(), &state));
	assert_eq(state, expected, "state %s, expected %s",
		  luo_state_to_string(state), luo_state_to_string(expected));
}

static void expect_token(uint64_t token, enum luo_token_state expected)
{
	enum luo_token_state state = 0;

	expect_ok(luo_token_lookup(tb_ctx(), token, &state));
	assert_eq(state, expected, "token %#llx: state %d, expected %d",
		  (unsigned long long)token, state, expected);
}

static void expect_no_token(uint64_t token)
{
	enum luo_token_state state = (enum luo_token_state)SENTINEL_INT;

	expect_ret(luo_token_lookup(tb_ctx(), token, &state), -ENOENT);
	assert_eq(state, (enum luo_token_state)SENTINEL_INT);
}

/* A token that came from the previous kernel and was not restored yet.
 * Mainline: libluo knows it from its manifest.  RFC: the kernel has no way
 * to list tokens, so libluo cannot know it before restoring it. */
static void expect_incoming(uint64_t token)
{
	if (tb.abi == LUO_ABI_MAINLINE)
		expect_token(token, LUO_TOKEN_INCOMING);
	else
		expect_no_token(token);
}

/* How many tokens libluo can know of right after a live update that
 * carried @n (see expect_incoming()). */
static int known_after_update(int n)
{
	return tb.abi == LUO_ABI_MAINLINE ? n : 0;
}

/* On the fake: the files it holds are exactly those of @tokens (seed
 * sessions on mainline, the global list on RFC), plus the manifest when
 * @manifest. */
static void expect_fake_holds(const uint64_t *tokens, int n, bool manifest)
{
	struct tb_fake_file files[64];
	int i, j, count;

	if (!tb.fake)
		return;
	count = tb_fake_files(files, 64);
	assert_le(count, 64);
	if (tb.abi == LUO_ABI_RFC) {
		assert_eq(count, n, "fake holds %d files, expected %d",
			  count, n);
		for (i = 0; i < n; i++) {
			for (j = 0; j < count; j++)
				if (files[j].token == tokens[i])
					break;
			assert_lt(j, count, "token %#llx not in the kernel",
				  (unsigned long long)tokens[i]);
			assert_true(!files[j].has_session);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		char name[32];

		tb_seed_session_name(tokens[i], name);
		assert_eq(tb_fake_files_in(name), 1,
			  "session %s should hold one file", name);
	}
	j = 0;
	for (i = 0; i < count; i++) {
		assert_true(files[i].has_session);
		if (!strcmp(files[i].session, "libluo.manifest"))
			j++;
		else
			assert_true(!strncmp(files[i].session, "libluo.tok.", 11),
				    "unexpected session %s", files[i].session);
	}
	assert_eq(!!j, manifest, "manifest session %s",
		  j ? "present" : "missing");
	assert_eq(count - j, n, "fake holds %d token files, expected %d",
		  count - j, n);
	/* not counting the index of the context that tb_file_is_preserved()
	 * probes with */
	assert_eq(tb_fake_user_session_count(LUO_SESSION_OUTGOING),
		  n + (manifest ? 1 : 0));
}

static int preserve_new(uint64_t token, size_t size)
{
	int fd = memfd_pattern(token, size);

	expect_ok(luo_fd_preserve(tb_ctx(), fd, token));
	return fd;
}

/* ---- state -------------------------------------------------------------- */

LUO_TEST_BOTH(seed, a_new_context_is_normal)
{
	enum luo_state state = (enum luo_state)SENTINEL_INT;

	expect_state(LUO_STATE_NORMAL);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ret(luo_get_state(NULL, &state), -EINVAL);
	assert_eq(state, (enum luo_state)SENTINEL_INT);
	expect_ret(luo_get_state(tb_ctx(), NULL), -EINVAL);
}

LUO_TEST_BOTH(seed, wrong_state_transitions_are_refused)
{
	struct tb_snapshot before;
	int fd = SENTINEL_INT;

	tb_snapshot(&before);
	expect_ret(luo_cancel(tb_ctx()), -EINVAL);
	expect_ret(luo_finish(tb_ctx()), -EINVAL);
	expect_ret(luo_fd_restore(tb_ctx(), 1, &fd), -EBUSY);
	assert_eq(fd, SENTINEL_INT);
	tb_expect_unchanged(&before);
	expect_ret(luo_prepare(NULL), -EINVAL);
	expect_ret(luo_cancel(NULL), -EINVAL);
	expect_ret(luo_finish(NULL), -EINVAL);
	expect_ret(luo_fd_restore(NULL, 1, &fd), -EINVAL);
	expect_ret(luo_fd_restore(tb_ctx(), 1, NULL), -EINVAL);
	assert_eq(fd, SENTINEL_INT);
	tb_expect_unchanged(&before);
}

LUO_TEST_BOTH(seed, prepare_and_cancel)
{
	const uint64_t tokens[] = { 10, 11 };
	int a = preserve_new(10, 100), b = preserve_new(11, 100);
	int c = memfd_pattern(12, 100), fd = SENTINEL_INT;
	struct tb_snapshot before;

	expect_ok(luo_prepare(tb_ctx()));
	expect_state(LUO_STATE_PREPARED);
	expect_fake_holds(tokens, 2, tb.abi == LUO_ABI_MAINLINE);
	assert_eq(luo_token_count(tb_ctx()), 2);
	expect_token(10, LUO_TOKEN_PRESERVED);

	tb_snapshot(&before);
	expect_ret(luo_prepare(tb_ctx()), -EINVAL);
	expect_ret(luo_fd_preserve(tb_ctx(), c, 12), -EBUSY);
	expect_ret(luo_fd_unpreserve(tb_ctx(), 10), -EBUSY);
	expect_ret(luo_finish(tb_ctx()), -EINVAL);
	expect_ret(luo_fd_restore(tb_ctx(), 10, &fd), -EBUSY);
	assert_eq(fd, SENTINEL_INT);
	tb_expect_unchanged(&before);

	expect_ok(luo_cancel(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	expect_ret(luo_cancel(tb_ctx()), -EINVAL);
	/* Tokens stay preserved; the manifest is gone. */
	assert_eq(luo_token_count(tb_ctx()), 2);
	expect_token(11, LUO_TOKEN_PRESERVED);
	expect_fake_holds(tokens, 2, false);
	/* Preserve and unpreserve work again. */
	expect_ok(luo_fd_preserve(tb_ctx(), c, 12));
	expect_ok(luo_fd_unpreserve(tb_ctx(), 10));
	assert_true(!tb_file_is_preserved(a));
	assert_true(tb_file_is_preserved(b));
	/* And a second cycle works. */
	expect_ok(luo_prepare(tb_ctx()));
	expect_state(LUO_STATE_PREPARED);
	expect_ok(luo_cancel(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	xclose(a);
	xclose(b);
	xclose(c);
}

LUO_TEST_BOTH(seed, prepare_with_no_tokens)
{
	expect_ok(luo_prepare(tb_ctx()));
	expect_state(LUO_STATE_PREPARED);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ok(luo_cancel(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
}

LUO_TEST_BOTH(seed, kernel_errors_of_prepare_change_nothing)
{
	const uint64_t tokens[] = { 1 };
	struct tb_snapshot before;
	int a;

	tb_require_fake("error injection");
	a = preserve_new(1, 100);
	tb_snapshot(&before);
	if (tb.abi == LUO_ABI_RFC) {
		expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_PREPARE,
						EIO));
		expect_ret(luo_prepare(tb_ctx()), -EIO);
		tb_expect_unchanged(&before);
	} else {
		/* The manifest session cannot be created... */
		expect_ok(luo_fake_inject_error(tb.fake,
						LUO_FAKE_OP_CREATE_SESSION,
						ENOSPC));
		expect_ret(luo_prepare(tb_ctx()), -ENOSPC);
		tb_expect_unchanged(&before);
		/* ...or the manifest file cannot be preserved: the session
		 * created for it must go again. */
		expect_ok(luo_fake_inject_error(tb.fake,
						LUO_FAKE_OP_PRESERVE_FD,
						ENOMEM));
		expect_ret(luo_prepare(tb_ctx()), -ENOMEM);
		tb_expect_unchanged(&before);
	}
	expect_state(LUO_STATE_NORMAL);
	expect_fake_holds(tokens, 1, false);
	/* Preserving is still allowed, preparing works now. */
	expect_ok(luo_fd_unpreserve(tb_ctx(), 1));
	expect_ok(luo_fd_preserve(tb_ctx(), a, 1));
	expect_ok(luo_prepare(tb_ctx()));
	expect_state(LUO_STATE_PREPARED);
	xclose(a);
}

/* ---- preserve / unpreserve ---------------------------------------------- */

LUO_TEST_BOTH(seed, preserve_and_unpreserve)
{
	const uint64_t tokens[] = { 1 };
	int fd = memfd_pattern(1, 100);

	expect_ok(luo_fd_preserve(tb_ctx(), fd, 1));
	expect_token(1, LUO_TOKEN_PRESERVED);
	assert_eq(luo_token_count(tb_ctx()), 1);
	expect_fake_holds(tokens, 1, false);
	assert_true(tb_file_is_preserved(fd));

	expect_ok(luo_fd_unpreserve(tb_ctx(), 1));
	expect_no_token(1);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_fake_holds(NULL, 0, false);
	assert_true(!tb_file_is_preserved(fd));
	/* The token and the file can be used again. */
	expect_ok(luo_fd_preserve(tb_ctx(), fd, 1));
	expect_ok(luo_fd_unpreserve(tb_ctx(), 1));
	xclose(fd);
}

LUO_TEST_BOTH(seed, caller_may_close_its_descriptor)
{
	const uint64_t tokens[] = { 5 };
	int fd = preserve_new(5, 100);

	xclose(fd);
	expect_token(5, LUO_TOKEN_PRESERVED);
	expect_fake_holds(tokens, 1, false);
	expect_ok(luo_fd_unpreserve(tb_ctx(), 5));
	expect_fake_holds(NULL, 0, false);
}

LUO_TEST_BOTH(seed, any_64_bit_token_is_the_callers_choice)
{
	const uint64_t tokens[] = { 0, 1, 0xabcdef, 0x8000000000000000ULL,
				    UINT64_MAX };
	const int n = sizeof(tokens) / sizeof(tokens[0]);
	int fds[5], i;

	for (i = 0; i < n; i++)
		fds[i] = preserve_new(tokens[i], 10);
	assert_eq(luo_token_count(tb_ctx()), n);
	for (i = 0; i < n; i++)
		expect_token(tokens[i], LUO_TOKEN_PRESERVED);
	/* Mainline: one session per token, named after it in lowercase hex
	 * (e.g. libluo.tok.ffffffffffffffff). */
	expect_fake_holds(tokens, n, false);
	for (i = 0; i < n; i++) {
		expect_ok(luo_fd_unpreserve(tb_ctx(), tokens[i]));
		xclose(fds[i]);
	}
	assert_eq(luo_token_count(tb_ctx()), 0);
}

LUO_TEST_BOTH(seed, seed_session_names_are_pinned)
{
	char name[32];
	int fd;

	tb_require_fake("looks at the fake's sessions");
	if (tb.abi == LUO_ABI_RFC)
		skip_test("mainline mapping only");
	tb_seed_session_name(0x0123456789abcdefULL, name);
	assert_str_eq(name, "libluo.tok.0123456789abcdef");
	fd = preserve_new(0x0123456789abcdefULL, 10);
	assert_eq(tb_fake_files_in("libluo.tok.0123456789abcdef"), 1);
	expect_ok(luo_fd_unpreserve(tb_ctx(), 0x0123456789abcdefULL));
	assert_eq(tb_fake_files_in("libluo.tok.0123456789abcdef"), 0);
	xclose(fd);
}

LUO_TEST_BOTH(seed, unpreserve_is_exact)
{
	const uint64_t kept[] = { 1, 3 };
	int a = preserve_new(1, 10), b = preserve_new(2, 10);
	int c = preserve_new(3, 10);

	expect_ok(luo_fd_unpreserve(tb_ctx(), 2));
	assert_eq(luo_token_count(tb_ctx()), 2);
	expect_token(1, LUO_TOKEN_PRESERVED);
	expect_no_token(2);
	expect_token(3, LUO_TOKEN_PRESERVED);
	expect_fake_holds(kept, 2, false);
	assert_true(tb_file_is_preserved(a));
	assert_true(!tb_file_is_preserved(b));
	assert_true(tb_file_is_preserved(c));
	expect_ok(luo_fd_preserve(tb_ctx(), b, 2));
	assert_eq(luo_token_count(tb_ctx()), 3);
	xclose(a);
	xclose(b);
	xclose(c);
}

LUO_TEST_BOTH(seed, duplicate_token_is_eexist_before_the_kernel)
{
	int a = preserve_new(1, 10), b = memfd_pattern(2, 10);
	struct tb_snapshot before;

	tb_snapshot(&before);
	expect_ret(luo_fd_preserve(tb_ctx(), b, 1), -EEXIST);
	tb_expect_unchanged(&before);
	if (tb.fake) {
		/* Not even asked: the injected error stays pending. */
		expect_ok(luo_fake_inject_error(tb.fake,
						LUO_FAKE_OP_PRESERVE_FD,
						ENOSPC));
		expect_ret(luo_fd_preserve(tb_ctx(), b, 1), -EEXIST);
		expect_ret(luo_fd_preserve(tb_ctx(), b, 2), -ENOSPC);
		tb_expect_unchanged(&before);
	}
	expect_ok(luo_fd_preserve(tb_ctx(), b, 2));
	xclose(a);
	xclose(b);
}

LUO_TEST_BOTH(seed, preserve_errors_change_nothing)
{
	int a = preserve_new(1, 10), pipefd[2], file, devnull;
	char path[PATH_MAX];
	struct tb_snapshot before;

	assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	file = open_regular_file(path, sizeof(path));
	tb_snapshot(&before);
	expect_ret(luo_fd_preserve(tb_ctx(), -1, 2), -EINVAL);
	expect_ret(luo_fd_preserve(tb_ctx(), INT_MIN, 2), -EINVAL);
	expect_ret(luo_fd_preserve(tb_ctx(), closed_fd_number(), 2), -EBADF);
	expect_ret(luo_fd_preserve(tb_ctx(), pipefd[0], 2), -ENOENT);
	expect_ret(luo_fd_preserve(tb_ctx(), devnull, 2), -ENOENT);
	expect_ret(luo_fd_preserve(tb_ctx(), file, 2), -ENOENT);
	expect_ret(luo_fd_preserve(tb_ctx(), a, 2), -EBUSY);
	expect_ret(luo_fd_preserve(NULL, a, 2), -EINVAL);
	tb_expect_unchanged(&before);
	expect_no_token(2);
	xclose(a);
	xclose(pipefd[0]);
	xclose(pipefd[1]);
	xclose(devnull);
	close_regular_file(file, path);
}

LUO_TEST_BOTH(seed, kernel_errors_of_preserve_change_nothing)
{
	int fd = memfd_pattern(1, 10);
	struct tb_snapshot before;

	tb_require_fake("error injection");
	tb_snapshot(&before);
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					ENOMEM));
	expect_ret(luo_fd_preserve(tb_ctx(), fd, 1), -ENOMEM);
	tb_expect_unchanged(&before);
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					ENOSPC));
	expect_ret(luo_fd_preserve(tb_ctx(), fd, 1), -ENOSPC);
	tb_expect_unchanged(&before);
	if (tb.abi == LUO_ABI_MAINLINE) {
		/* The token's own session cannot be created. */
		expect_ok(luo_fake_inject_error(tb.fake,
						LUO_FAKE_OP_CREATE_SESSION,
						ENOMEM));
		expect_ret(luo_fd_preserve(tb_ctx(), fd, 1), -ENOMEM);
		tb_expect_unchanged(&before);
	}
	expect_no_token(1);
	expect_ok(luo_fd_preserve(tb_ctx(), fd, 1));
	xclose(fd);
}

LUO_TEST_BOTH(seed, unpreserve_errors_change_nothing)
{
	int a = preserve_new(1, 10);
	struct tb_snapshot before;

	tb_snapshot(&before);
	expect_ret(luo_fd_unpreserve(tb_ctx(), 2), -ENOENT);
	expect_ret(luo_fd_unpreserve(tb_ctx(), 0), -ENOENT);
	expect_ret(luo_fd_unpreserve(NULL, 1), -EINVAL);
	tb_expect_unchanged(&before);
	expect_ok(luo_fd_unpreserve(tb_ctx(), 1));
	expect_ret(luo_fd_unpreserve(tb_ctx(), 1), -ENOENT);
	xclose(a);
}

LUO_TEST_BOTH(seed, seed_tokens_and_session_tokens_are_apart)
{
	luo_session_t *s = NULL;
	enum luo_token_state state = 0;
	int a, b;

	if (tb.abi == LUO_ABI_RFC)
		skip_test("no sessions on the RFC ABI");
	a = preserve_new(5, 10);
	b = memfd_pattern(6, 10);
	expect_ok(luo_session_create(tb_ctx(), "tests.apart", &s));
	expect_ok(luo_session_preserve_fd(s, b, 5));
	assert_eq(luo_token_count(tb_ctx()), 1);
	assert_eq(luo_session_token_count(s), 1);
	expect_ret(luo_session_token_lookup(s, 6, &state), -ENOENT);
	expect_ok(luo_fd_unpreserve(tb_ctx(), 5));
	/* The session's token 5 is untouched. */
	expect_ok(luo_session_token_lookup(s, 5, &state));
	assert_eq(state, LUO_TOKEN_PRESERVED);
	assert_true(tb_file_is_preserved(b));
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	xclose(a);
	xclose(b);
}

LUO_TEST(seed_mainline, dropping_the_context_unpreserves, LUO_ABI_MAINLINE)
{
	int fd = preserve_new(1, 10);

	tb_drop_ctx();
	if (tb.fake) {
		assert_eq(luo_fake_file_count(tb.fake), 0);
		assert_eq(luo_fake_session_count(tb.fake,
						 LUO_SESSION_OUTGOING), 0);
	}
	assert_eq(luo_token_count(tb_ctx()), 0);
	assert_true(!tb_file_is_preserved(fd));
	xclose(fd);
}

/* ---- across a (fake) kexec ---------------------------------------------- */

LUO_TEST_BOTH(seed, update_cycle)
{
	int a, b, c, fd = -1, again = -1, none = SENTINEL_INT;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 5000);
	b = preserve_new(2, 10);
	c = preserve_new(3, 777);
	expect_ok(luo_fd_unpreserve(tb_ctx(), 2));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();

	expect_state(LUO_STATE_UPDATED);
	assert_eq(luo_token_count(tb_ctx()), known_after_update(2));
	expect_incoming(1);
	expect_incoming(3);
	expect_no_token(2);

	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	assert_true(has_cloexec(fd), "restored fd without O_CLOEXEC");
	expect_file_pattern(fd, 1, 5000);
	expect_token(1, LUO_TOKEN_RESTORED);
	expect_ret(luo_fd_restore(tb_ctx(), 2, &none), -ENOENT);
	assert_eq(none, SENTINEL_INT);
	if (tb.abi == LUO_ABI_MAINLINE) {
		expect_ok(luo_fd_restore(tb_ctx(), 1, &again));
		assert_ne(again, fd);
		assert_true(same_inode(fd, again));
		xclose(again);
	}
	/* Only finish leaves UPDATED. */
	expect_ret(luo_prepare(tb_ctx()), -EINVAL);
	expect_ret(luo_cancel(tb_ctx()), -EINVAL);
	expect_state(LUO_STATE_UPDATED);

	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	expect_ret(luo_finish(tb_ctx()), -EINVAL);
	expect_no_token(3);
	expect_ret(luo_fd_restore(tb_ctx(), 3, &none), -EBUSY);
	assert_eq(none, SENTINEL_INT);
	if (tb.abi == LUO_ABI_MAINLINE) {
		assert_eq(luo_fake_file_count(tb.fake), 0);
		assert_eq(luo_fake_session_count(tb.fake,
						 LUO_SESSION_INCOMING), 0);
	}
	/* The restored file outlives finish. */
	expect_file_pattern(fd, 1, 5000);
	/* A new cycle can start. */
	expect_ok(luo_fd_preserve(tb_ctx(), fd, 1));
	expect_ok(luo_prepare(tb_ctx()));
	expect_state(LUO_STATE_PREPARED);
	xclose(fd);
	xclose(a);
	xclose(b);
	xclose(c);
}

/* Mainline only: the RFC fake hands out a descriptor it opened at the
 * kexec, so it needs no new one. */
LUO_TEST(seed_mainline, restore_without_a_free_descriptor_is_emfile,
	 LUO_ABI_MAINLINE)
{
	struct rlimit saved;
	int a, fd = SENTINEL_INT;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 100);
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_state(LUO_STATE_UPDATED);
	fd_limit_exhaust(&saved);
	expect_ret(luo_fd_restore(tb_ctx(), 1, &fd), -EMFILE);
	fd_limit_restore(&saved);
	assert_eq(fd, SENTINEL_INT);
	expect_incoming(1);
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	expect_file_pattern(fd, 1, 100);
	expect_ok(luo_finish(tb_ctx()));
	xclose(fd);
	xclose(a);
}

LUO_TEST_BOTH(seed, preserve_without_a_free_descriptor_changes_nothing)
{
	struct tb_snapshot before;
	struct rlimit saved;
	int a = memfd_pattern(1, 10), r;

	tb_snapshot(&before);
	fd_limit_exhaust(&saved);
	r = luo_fd_preserve(tb_ctx(), a, 1);
	fd_limit_restore(&saved);
	if (tb.abi == LUO_ABI_MAINLINE)
		/* The token's own session needs a descriptor. */
		assert_eq(r, -EMFILE, "luo_fd_preserve: %d", r);
	else
		/* The RFC kernel needs none (the fake keeps a copy). */
		assert_true(r == 0 || r == -EMFILE, "luo_fd_preserve: %d", r);
	if (r == 0) {
		expect_token(1, LUO_TOKEN_PRESERVED);
	} else {
		tb_expect_unchanged(&before);
		expect_no_token(1);
	}
	xclose(a);
}

LUO_TEST_BOTH(seed, empty_update_cycle)
{
	tb_require_fake("needs a kexec");
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_state(LUO_STATE_UPDATED);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
}

LUO_TEST_BOTH(seed, kexec_without_prepare_carries_nothing)
{
	int a, fd = SENTINEL_INT;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 10);
	tb_kexec();
	expect_state(LUO_STATE_NORMAL);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ret(luo_fd_restore(tb_ctx(), 1, &fd), -EBUSY);
	assert_eq(fd, SENTINEL_INT);
	expect_ret(luo_finish(tb_ctx()), -EINVAL);
	xclose(a);
}

LUO_TEST_BOTH(seed, finish_refused_by_the_kernel_can_be_retried)
{
	int a, b, fd = -1;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 10);
	b = preserve_new(2, 10);
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_FINISH, EBUSY));
	expect_ret(luo_finish(tb_ctx()), -EBUSY);
	expect_state(LUO_STATE_UPDATED);
	expect_ok(luo_fd_restore(tb_ctx(), 2, &fd));
	expect_file_pattern(fd, 2, 10);
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	xclose(fd);
	xclose(a);
	xclose(b);
}

LUO_TEST_BOTH(seed, kernel_errors_of_restore_change_nothing)
{
	int a, fd = SENTINEL_INT;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 10);
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	/* libluo has looked at what came from the previous kernel... */
	expect_state(LUO_STATE_UPDATED);
	/* ...so the injected error hits the token's own retrieval. */
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_RETRIEVE_FD,
					ENOMEM));
	expect_ret(luo_fd_restore(tb_ctx(), 1, &fd), -ENOMEM);
	assert_eq(fd, SENTINEL_INT);
	expect_incoming(1);
	expect_state(LUO_STATE_UPDATED);
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	expect_token(1, LUO_TOKEN_RESTORED);
	expect_ok(luo_finish(tb_ctx()));
	xclose(fd);
	xclose(a);
}

/* The first call after an update reads libluo's manifest.  A transient
 * kernel error there must be reported and leave the update intact: every
 * token is still restorable afterwards. */
static void transient_error_at_first_look(enum luo_fake_op op, int error)
{
	int a, b, fd = SENTINEL_INT;
	enum luo_state state = (enum luo_state)SENTINEL_INT;

	tb_require_fake("needs a kexec");
	a = preserve_new(1, 100);
	b = preserve_new(2, 200);
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_ok(luo_fake_inject_error(tb.fake, op, error));
	expect_ret(luo_get_state(tb_ctx(), &state), -error);
	assert_eq(state, (enum luo_state)SENTINEL_INT);
	expect_state(LUO_STATE_UPDATED);
	assert_eq(luo_token_count(tb_ctx()), 2,
		  "tokens known after a transient error: %d",
		  luo_token_count(tb_ctx()));
	expect_token(1, LUO_TOKEN_INCOMING);
	expect_ok(luo_fd_restore(tb_ctx(), 2, &fd));
	expect_file_pattern(fd, 2, 200);
	xclose(fd);
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	expect_file_pattern(fd, 1, 100);
	xclose(fd);
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	xclose(a);
	xclose(b);
}

LUO_TEST(seed_mainline, transient_error_retrieving_the_manifest_session,
	 LUO_ABI_MAINLINE)
{
	transient_error_at_first_look(LUO_FAKE_OP_RETRIEVE_SESSION, EMFILE);
}

LUO_TEST(seed_mainline, transient_error_retrieving_the_manifest_file,
	 LUO_ABI_MAINLINE)
{
	transient_error_at_first_look(LUO_FAKE_OP_RETRIEVE_FD, ENOMEM);
}
