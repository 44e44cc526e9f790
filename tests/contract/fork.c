/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contract: a context (or one of its sessions) used in a child after fork()
 * fails with -ECHILD, and the child's attempts change nothing for the
 * parent.  The child reports the first failing check in its exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "test.h"

static int count_fn(uint64_t token, enum luo_token_state state, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static int name_fn(const char *name, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static const char *const check_names[] = {
	"(none)",
	"luo_ctx_get_abi",
	"luo_get_state",
	"luo_token_count",
	"luo_token_lookup",
	"luo_token_foreach",
	"luo_fd_preserve",
	"luo_fd_unpreserve",
	"luo_fd_restore",
	"luo_prepare",
	"luo_cancel",
	"luo_finish",
	"luo_ctx_set_log",
	"luo_session_create",
	"luo_session_get_name",
	"luo_session_get_direction",
	"luo_session_get_fd",
	"luo_session_preserve_fd",
	"luo_session_token_count",
	"luo_session_token_lookup",
	"luo_session_token_foreach",
	"luo_session_retrieve",
	"luo_session_adopt_fd",
	"luo_session_send",
	"luo_session_recv",
	"luo_session_retrieve_fd",
	"luo_session_finish",
	"luo_session_preserve_fd_labeled",
	"luo_session_token_get_label",
	"luo_session_retrieve_fd_by_label",
	"luo_ctx_foreach_incoming_session",
	"luo_session_from_fdstore",
	"luo_session_fdstore_push",
	"luo_session_close",
	"out-parameters written",
	"callback called",
};
#define N_CHECKS ((int)(sizeof(check_names) / sizeof(check_names[0])))

#define CHECK(n, call)                                                   \
	do {                                                             \
		if ((call) != -ECHILD)                                   \
			return (n);                                      \
	} while (0)

/* Runs in the child: 0 if every call failed -ECHILD, else the check. */
static int child_checks(luo_ctx_t *ctx, luo_session_t *s)
{
	enum luo_abi abi = (enum luo_abi)SENTINEL_INT;
	enum luo_state state = (enum luo_state)SENTINEL_INT;
	enum luo_token_state ts = (enum luo_token_state)SENTINEL_INT;
	enum luo_session_direction dir =
		(enum luo_session_direction)SENTINEL_INT;
	luo_session_t *out = SENTINEL_PTR;
	const char *name = SENTINEL_PTR, *label = SENTINEL_PTR;
	uint64_t token = 0x5e5e;
	int fd = SENTINEL_INT, calls = 0, sock[2];
	int memfd = memfd_create("child", MFD_CLOEXEC);

	if (memfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sock) < 0)
		return 100;
	if (write(sock[0], "x", 1) != 1)
		return 100;

	CHECK(1, luo_ctx_get_abi(ctx, &abi));
	CHECK(2, luo_get_state(ctx, &state));
	CHECK(3, luo_token_count(ctx));
	CHECK(4, luo_token_lookup(ctx, 1, &ts));
	CHECK(5, luo_token_foreach(ctx, count_fn, &calls));
	CHECK(6, luo_fd_preserve(ctx, memfd, 2));
	CHECK(7, luo_fd_unpreserve(ctx, 1));
	CHECK(8, luo_fd_restore(ctx, 1, &fd));
	CHECK(9, luo_prepare(ctx));
	CHECK(10, luo_cancel(ctx));
	CHECK(11, luo_finish(ctx));
	CHECK(12, luo_ctx_set_log(ctx, NULL, NULL, LOG_DEBUG));
	if (s) {
		CHECK(13, luo_session_create(ctx, "tests.child", &out));
		CHECK(14, luo_session_get_name(s, &name));
		CHECK(15, luo_session_get_direction(s, &dir));
		CHECK(16, luo_session_get_fd(s));
		CHECK(17, luo_session_preserve_fd(s, memfd, 9));
		CHECK(18, luo_session_token_count(s));
		CHECK(19, luo_session_token_lookup(s, 1, &ts));
		CHECK(20, luo_session_token_foreach(s, count_fn, &calls));
		CHECK(21, luo_session_retrieve(ctx, "tests.fork", &out));
		CHECK(22, luo_session_adopt_fd(ctx, memfd, &out));
		CHECK(23, luo_session_send(s, sock[0]));
		CHECK(24, luo_session_recv(ctx, sock[1], &out));
		CHECK(25, luo_session_retrieve_fd(s, 1, &fd));
		CHECK(26, luo_session_finish(s));
		CHECK(27, luo_session_preserve_fd_labeled(s, memfd, 10,
							  "child"));
		CHECK(28, luo_session_token_get_label(s, 1, &label));
		CHECK(29, luo_session_retrieve_fd_by_label(s, "child", &token,
							   &fd));
		CHECK(30, luo_ctx_foreach_incoming_session(ctx, name_fn,
							   &calls));
		/* the service manager's variables would say yes: -ECHILD
		 * comes first */
		if (setenv("NOTIFY_SOCKET", "@libluo-tests-child", 1) < 0)
			return 100;
		CHECK(31, luo_session_from_fdstore(ctx, "tests.fork", &out));
		CHECK(32, luo_session_fdstore_push(s, "tests.fork"));
		/* Frees the handle and closes the child's copy of the
		 * descriptor, which the kernel ignores. */
		CHECK(33, luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	}
	if (abi != (enum luo_abi)SENTINEL_INT ||
	    state != (enum luo_state)SENTINEL_INT ||
	    ts != (enum luo_token_state)SENTINEL_INT ||
	    dir != (enum luo_session_direction)SENTINEL_INT ||
	    out != SENTINEL_PTR || name != SENTINEL_PTR || fd != SENTINEL_INT ||
	    label != SENTINEL_PTR || token != 0x5e5e)
		return 34;
	if (calls)
		return 35;
	return 0;
}

static void run_child(luo_ctx_t *ctx, luo_session_t *s)
{
	int status = 0, code;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_ge(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(child_checks(ctx, s));
	assert_eq(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status), "child died (status %#x)", status);
	code = WEXITSTATUS(status);
	assert_eq(code, 0, "in the child, %s did not fail -ECHILD",
		  code < N_CHECKS ? check_names[code] : "setup");
}

LUO_TEST_BOTH(fork, a_child_gets_echild_and_changes_nothing)
{
	luo_session_t *s = NULL;
	struct tb_snapshot before;
	enum luo_token_state ts = 0;
	int a = memfd_pattern(1, 10), b = memfd_pattern(2, 10);
	int c = memfd_pattern(3, 10);

	expect_ok(luo_fd_preserve(tb_ctx(), a, 1));
	if (tb.abi == LUO_ABI_MAINLINE) {
		expect_ok(luo_session_create(tb_ctx(), "tests.fork", &s));
		expect_ok(luo_session_preserve_fd(s, b, 1));
	}
	tb_snapshot(&before);
	run_child(tb_ctx(), s);
	tb_expect_unchanged(&before);

	/* The parent's context and session work as before. */
	expect_ok(luo_token_lookup(tb_ctx(), 1, &ts));
	assert_eq(ts, LUO_TOKEN_PRESERVED);
	assert_true(tb_file_is_preserved(a));
	if (s) {
		const char *name = NULL;

		expect_ok(luo_session_get_name(s, &name));
		assert_str_eq(name, "tests.fork");
		assert_true(tb_file_is_preserved(b),
			    "the child's close unpreserved the parent's file");
		expect_ok(luo_session_preserve_fd(s, c, 2));
		assert_eq(luo_session_token_count(s), 2);
		expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	}
	expect_ok(luo_prepare(tb_ctx()));
	expect_ok(luo_cancel(tb_ctx()));
	xclose(a);
	xclose(b);
	xclose(c);
}

LUO_TEST(fork, a_prepared_parent_stays_prepared, LUO_ABI_MAINLINE)
{
	enum luo_state state = 0;
	int a = memfd_pattern(1, 10);

	expect_ok(luo_fd_preserve(tb_ctx(), a, 1));
	expect_ok(luo_prepare(tb_ctx()));
	run_child(tb_ctx(), NULL);
	expect_ok(luo_get_state(tb_ctx(), &state));
	assert_eq(state, LUO_STATE_PREPARED);
	if (tb.fake)
		assert_eq(tb_fake_files_in("libluo.manifest"), 1);
	expect_ok(luo_cancel(tb_ctx()));
	xclose(a);
}
