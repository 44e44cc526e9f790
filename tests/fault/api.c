/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake's two functions the fault suite is built on:
 * luo_fake_inject_error_nth() and luo_fake_op_count().
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static int count(enum luo_fake_op op)
{
	int n = luo_fake_op_count(tb.fake, op);

	assert_ge(n, 0, "luo_fake_op_count(%d): %d", (int)op, n);
	return n;
}

/* Only the nth occurrence fails, once; the ones around it succeed. */
LUO_TEST(fault_api, nth_fails_that_occurrence_only, LUO_ABI_MAINLINE)
{
	luo_session_t *s = NULL;
	int fd[5];

	expect_ok(luo_session_create(tb_ctx(), "nth", &s));
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					    EIO, 3));
	/* The session's first preserve makes its record first (a request of
	 * its own), so the third request is the second file's. */
	for (int i = 0; i < 5; i++) {
		fd[i] = memfd_pattern((uint64_t)i, 100);
		expect_ret(luo_session_preserve_fd(s, fd[i], (uint64_t)i + 1),
			   i == 1 ? -EIO : 0);
	}
	assert_eq(tb_fake_files_in("nth"), 4);
	assert_eq(tb_fake_libluo_files_in("nth"), 1);
	/* once: the retry succeeds */
	expect_ok(luo_session_preserve_fd(s, fd[1], 2));
	/* the index's record (at the create), nth's record, 5 + 1 files */
	assert_eq(count(LUO_FAKE_OP_PRESERVE_FD), 1 + 1 + 6);
	/* nth and the context's index */
	assert_eq(count(LUO_FAKE_OP_CREATE_SESSION), 2);
	for (int i = 0; i < 5; i++)
		xclose(fd[i]);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
}

LUO_TEST(fault_api, nth_rfc, LUO_ABI_RFC)
{
	int fd[3];

	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					    ENOSPC, 2));
	for (int i = 0; i < 3; i++) {
		fd[i] = memfd_pattern((uint64_t)i, 100);
		expect_ret(luo_fd_preserve(tb_ctx(), fd[i], (uint64_t)i + 1),
			   i == 1 ? -ENOSPC : 0);
	}
	assert_eq(luo_fake_file_count(tb.fake), 2);
	assert_eq(count(LUO_FAKE_OP_PRESERVE_FD), 3);
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_PREPARE, EIO,
					    1));
	expect_ret(luo_prepare(tb_ctx()), -EIO);
	expect_ok(luo_prepare(tb_ctx()));
	assert_eq(count(LUO_FAKE_OP_PREPARE), 2);
	for (int i = 0; i < 3; i++)
		xclose(fd[i]);
}

/* nth 0 or error 0 clears; a new injection replaces one not yet fired,
 * whichever function made it. */
LUO_TEST(fault_api, clear_and_replace, LUO_ABI_MAINLINE)
{
	luo_session_t *s[4] = { NULL };

	expect_ok(luo_fake_inject_error_nth(tb.fake,
					    LUO_FAKE_OP_CREATE_SESSION, EIO,
					    1));
	expect_ok(luo_fake_inject_error_nth(tb.fake,
					    LUO_FAKE_OP_CREATE_SESSION, EIO,
					    0));
	expect_ok(luo_session_create(tb_ctx(), "c0", &s[0]));

	expect_ok(luo_fake_inject_error_nth(tb.fake,
					    LUO_FAKE_OP_CREATE_SESSION, 0, 1));
	expect_ok(luo_session_create(tb_ctx(), "c1", &s[1]));

	/* pending at the 2nd, replaced by "the next one" */
	expect_ok(luo_fake_inject_error_nth(tb.fake,
					    LUO_FAKE_OP_CREATE_SESSION, EIO,
					    2));
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_CREATE_SESSION,
					EBUSY));
	expect_ret(luo_session_create(tb_ctx(), "c2", &s[2]), -EBUSY);
	expect_ok(luo_session_create(tb_ctx(), "c2", &s[2]));
	expect_ok(luo_session_create(tb_ctx(), "c3", &s[3]));

	/* the other way round */
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_FINISH, EBUSY));
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_FINISH, EIO,
					    2));
	/* c0 (with the context's index, before it), c1, c2 twice, c3 */
	assert_eq(count(LUO_FAKE_OP_CREATE_SESSION), 6);
	for (int i = 0; i < 4; i++)
		expect_ok(luo_session_close(s[i], 0));
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_FINISH, 0,
					    0));
}

/* What is counted: requests that reach the injection point. */
LUO_TEST(fault_api, op_count_counts, LUO_ABI_MAINLINE)
{
	luo_ctx_t *ctx2 = SENTINEL_PTR;
	luo_session_t *s = NULL;
	int fd, out = -1;

	for (int op = LUO_FAKE_OP_ALL; op <= LUO_FAKE_OP_KEXEC; op++)
		assert_eq(count((enum luo_fake_op)op), 0);
	tb_ctx();
	assert_eq(count(LUO_FAKE_OP_OPEN), 1);
	/* refused because the device is held: not counted */
	expect_ret(luo_ctx_new(tb.opts, &ctx2), -EBUSY);
	assert_eq(count(LUO_FAKE_OP_OPEN), 1);

	expect_ok(luo_session_create(tb_ctx(), "count", &s));
	fd = memfd_pattern(1, 10);
	expect_ok(luo_session_preserve_fd(s, fd, 7));
	/* a failed request is counted too */
	expect_ret(luo_session_preserve_fd(s, fd, 8), -EBUSY);
	/* the index's record and the session's, then the two files */
	assert_eq(count(LUO_FAKE_OP_PRESERVE_FD), 2 + 2);
	assert_eq(count(LUO_FAKE_OP_CREATE_SESSION), 2);

	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_KEXEC, EIO));
	expect_ret(luo_fake_kexec(tb.fake), -EIO);
	tb_kexec();
	assert_eq(count(LUO_FAKE_OP_KEXEC), 2);
	expect_ok(luo_session_close(s, 0));
	s = NULL;

	expect_ok(luo_session_retrieve(tb_ctx(), "count", &s));
	/* reading the record: its segment 0, and the search for segment 1
	 * (-ENOENT) */
	assert_eq(count(LUO_FAKE_OP_RETRIEVE_FD), 2);
	expect_ok(luo_session_retrieve_fd(s, 7, &out));
	/* the implicit finish of a released incoming session: not counted */
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	assert_eq(count(LUO_FAKE_OP_FINISH), 0);
	assert_eq(count(LUO_FAKE_OP_RETRIEVE_SESSION), 1);
	assert_eq(count(LUO_FAKE_OP_RETRIEVE_FD), 2 + 1);
	assert_eq(count(LUO_FAKE_OP_OPEN), 2);
	/* OPEN, CREATE_SESSION, RETRIEVE_SESSION, PRESERVE_FD, RETRIEVE_FD,
	 * KEXEC */
	assert_eq(count(LUO_FAKE_OP_ALL), 2 + 2 + 1 + 4 + 3 + 2);
	xclose(out);
	xclose(fd);
}

LUO_TEST(fault_api, invalid_arguments, LUO_ABI_MAINLINE)
{
	expect_ret(luo_fake_inject_error_nth(NULL, LUO_FAKE_OP_OPEN, EIO, 1),
		   -EINVAL);
	expect_ret(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_ALL, EIO, 1),
		   -EINVAL);
	expect_ret(luo_fake_inject_error_nth(tb.fake, (enum luo_fake_op)99,
					     EIO, 1), -EINVAL);
	expect_ret(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_OPEN, -1, 1),
		   -EINVAL);
	expect_ret(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_OPEN, 4096,
					     1), -EINVAL);
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_OPEN, 4095,
					    1));
	expect_ok(luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_OPEN, 0, 0));
	expect_ret(luo_fake_op_count(NULL, LUO_FAKE_OP_OPEN), -EINVAL);
	expect_ret(luo_fake_op_count(tb.fake, (enum luo_fake_op)-1), -EINVAL);
	expect_ret(luo_fake_op_count(tb.fake, (enum luo_fake_op)99), -EINVAL);
}

LUO_TEST(fault_api, forked_child, LUO_ABI_MAINLINE)
{
	int status;
	pid_t pid = fork();

	assert_ge(pid, 0);
	if (pid == 0) {
		int a = luo_fake_inject_error_nth(tb.fake, LUO_FAKE_OP_OPEN,
						  EIO, 1);
		int b = luo_fake_op_count(tb.fake, LUO_FAKE_OP_OPEN);

		_exit(a == -ECHILD && b == -ECHILD ? 0 : 1);
	}
	assert_eq(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "in a forked child both must fail -ECHILD");
}
