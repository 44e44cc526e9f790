/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contract: adopting session descriptors, sending and receiving sessions. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

static luo_session_t *create(const char *name)
{
	luo_session_t *s = NULL;

	expect_ok(luo_session_create(tb_ctx(), name, &s));
	return s;
}

static void socket_pair(int sv[2])
{
	assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0,
		  "socketpair: %s", strerror(errno));
}

static void expect_name(luo_session_t *s, const char *expected)
{
	const char *name = NULL;

	expect_ok(luo_session_get_name(s, &name));
	assert_str_eq(name, expected);
}

static void expect_direction(luo_session_t *s,
			     enum luo_session_direction expected)
{
	enum luo_session_direction dir = 0;

	expect_ok(luo_session_get_direction(s, &dir));
	assert_eq(dir, expected);
}

/* ---- adopt -------------------------------------------------------------- */

LUO_TEST(transfer, adopt_wraps_a_session_descriptor, LUO_ABI_MAINLINE)
{
	luo_session_t *s = create("tests.adopt"), *adopted = NULL;
	int memfd = memfd_pattern(1, 10), copy;

	expect_ok(luo_session_preserve_fd(s, memfd, 1));
	copy = fcntl(luo_session_get_fd(s), F_DUPFD_CLOEXEC, 0);
	assert_ge(copy, 0);
	expect_ok(luo_session_adopt_fd(tb_ctx(), copy, &adopted));
	assert_not_null(adopted);
	assert_eq(luo_session_get_fd(adopted), copy, "the handle owns @fd");
	expect_name(adopted, "tests.adopt");
	expect_direction(adopted, LUO_SESSION_OUTGOING);
	/* libluo knows no tokens of an adopted session... */
	assert_eq(luo_session_token_count(adopted), 0);
	/* ...so closing it needs FORCE. */
	expect_ret(luo_session_close(adopted, 0), -EBUSY);
	assert_true(fd_is_open(copy));
	expect_ok(luo_session_close(adopted, LUO_SESSION_CLOSE_FORCE));
	assert_true(!fd_is_open(copy), "the adopted fd was not closed");
	/* The original descriptor keeps the session and its file. */
	assert_true(tb_file_is_preserved(memfd));
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	assert_true(!tb_file_is_preserved(memfd));
	xclose(memfd);
}

LUO_TEST(transfer, adopted_session_learns_what_it_preserves, LUO_ABI_MAINLINE)
{
	luo_session_t *s = create("tests.adopt"), *adopted = NULL;
	enum luo_token_state state = 0;
	int memfd = memfd_pattern(1, 10), other = memfd_pattern(2, 10), copy;

	expect_ok(luo_session_preserve_fd(s, memfd, 1));
	copy = fcntl(luo_session_get_fd(s), F_DUPFD_CLOEXEC, 0);
	expect_ok(luo_session_adopt_fd(tb_ctx(), copy, &adopted));
	expect_ok(luo_session_preserve_fd(adopted, other, 2));
	assert_eq(luo_session_token_count(adopted), 1);
	expect_ok(luo_session_token_lookup(adopted, 2, &state));
	assert_eq(state, LUO_TOKEN_PRESERVED);
	expect_ret(luo_session_token_lookup(adopted, 1, &state), -ENOENT);
	/* The kernel sees one session with both files; each handle wrote
	 * its own record into it, a segment each. */
	if (tb.fake) {
		assert_eq(tb_fake_files_in("tests.adopt"), 2);
		assert_eq(tb_fake_libluo_files_in("tests.adopt"), 2);
	}
	expect_ok(luo_session_close(adopted, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	xclose(memfd);
	xclose(other);
}

LUO_TEST(transfer, adopt_rejects_what_is_not_a_session, LUO_ABI_MAINLINE)
{
	luo_session_t *s = SENTINEL_PTR;
	int memfd = memfd_pattern(1, 10), pipefd[2], sock[2];
	int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct tb_snapshot before;

	assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	socket_pair(sock);
	tb_snapshot(&before);
	expect_ret(luo_session_adopt_fd(tb_ctx(), memfd, &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(tb_ctx(), pipefd[0], &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(tb_ctx(), sock[0], &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(tb_ctx(), dev, &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(tb_ctx(), -1, &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(NULL, memfd, &s), -EINVAL);
	expect_ret(luo_session_adopt_fd(tb_ctx(), memfd, NULL), -EINVAL);
	assert_eq(s, SENTINEL_PTR);
	tb_expect_unchanged(&before);
	/* On failure the descriptor is left open and untouched. */
	assert_true(fd_is_open(memfd) && fd_is_open(pipefd[0]) &&
		    fd_is_open(sock[0]) && fd_is_open(dev));
	xclose(memfd);
	xclose(pipefd[0]);
	xclose(pipefd[1]);
	xclose(sock[0]);
	xclose(sock[1]);
	xclose(dev);
}

LUO_TEST(transfer, adopt_rejects_a_session_of_another_kernel, LUO_ABI_MAINLINE)
{
	luo_ctx_opts_t *opts = NULL;
	luo_fake_t *other = NULL;
	luo_ctx_t *other_ctx = NULL;
	luo_session_t *foreign = NULL, *s = SENTINEL_PTR;
	int copy;

	tb_require_fake("two kernels");
	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &other));
	expect_ok(luo_ctx_opts_new(&opts));
	expect_ok(luo_ctx_opts_set_fake(opts, other));
	expect_ok(luo_ctx_new(opts, &other_ctx));
	expect_ok(luo_session_create(other_ctx, "tests.foreign", &foreign));
	copy = fcntl(luo_session_get_fd(foreign), F_DUPFD_CLOEXEC, 0);
	expect_ret(luo_session_adopt_fd(tb_ctx(), copy, &s), -EINVAL);
	assert_eq(s, SENTINEL_PTR);
	assert_true(fd_is_open(copy));
	xclose(copy);
	expect_ok(luo_session_close(foreign, 0));
	luo_ctx_unref(other_ctx);
	luo_ctx_opts_free(opts);
	luo_fake_unref(other);
}

LUO_TEST(transfer, adopt_probes_an_incoming_session, LUO_ABI_MAINLINE)
{
	luo_session_t *s = create("tests.in"), *in = NULL, *adopted = NULL;
	int memfd = memfd_pattern(5, 100), copy, fd = -1;

	tb_require_fake("needs a kexec");
	expect_ok(luo_session_preserve_fd(s, memfd, 5));
	xclose(memfd);
	tb_kexec();
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_retrieve(tb_ctx(), "tests.in", &in));
	copy = fcntl(luo_session_get_fd(in), F_DUPFD_CLOEXEC, 0);
	expect_ok(luo_session_adopt_fd(tb_ctx(), copy, &adopted));
	expect_direction(adopted, LUO_SESSION_INCOMING);
	expect_name(adopted, "tests.in");
	/* Probing had no side effect: the file is still there. */
	expect_ok(luo_session_retrieve_fd(adopted, 5, &fd));
	expect_file_pattern(fd, 5, 100);
	xclose(fd);
	expect_ok(luo_session_finish(adopted));
	expect_ok(luo_session_close(adopted, 0));
	/* The other handle's session was finished through the adopted one. */
	expect_ok(luo_session_close(in, LUO_SESSION_CLOSE_FORCE));
}

/* ---- send / recv -------------------------------------------------------- */

LUO_TEST(transfer, send_and_recv_a_session, LUO_ABI_MAINLINE)
{
	luo_session_t *s = create("tests.sent"), *got = NULL;
	int memfd = memfd_pattern(1, 10), sock[2];

	socket_pair(sock);
	expect_ok(luo_session_preserve_fd(s, memfd, 1));
	expect_ok(luo_session_send(s, sock[0]));
	/* After a successful send, no FORCE is needed. */
	expect_ok(luo_session_close(s, 0));
	/* In flight, the session still holds its file. */
	assert_true(tb_file_is_preserved(memfd));
	expect_ok(luo_session_recv(tb_ctx(), sock[1], &got));
	assert_not_null(got);
	expect_name(got, "tests.sent");
	expect_direction(got, LUO_SESSION_OUTGOING);
	assert_true(has_cloexec(luo_session_get_fd(got)),
		    "received session fd without FD_CLOEXEC");
	assert_true(tb_file_is_preserved(memfd));
	if (tb.fake)
		assert_eq(tb_fake_files_in("tests.sent"), 1);
	/* The receiver's handle is adopted: FORCE to close it. */
	expect_ret(luo_session_close(got, 0), -EBUSY);
	expect_ok(luo_session_close(got, LUO_SESSION_CLOSE_FORCE));
	assert_true(!tb_file_is_preserved(memfd));
	xclose(memfd);
	xclose(sock[0]);
	xclose(sock[1]);
}

LUO_TEST(transfer, send_over_seqpacket_and_datagram, LUO_ABI_MAINLINE)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_DGRAM };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		luo_session_t *s = create("tests.sent"), *got = NULL;
		int sock[2];

		assert_eq(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0,
				     sock), 0);
		expect_ok(luo_session_send(s, sock[0]));
		expect_ok(luo_session_recv(tb_ctx(), sock[1], &got));
		expect_name(got, "tests.sent");
		expect_ok(luo_session_close(s, 0));
		expect_ok(luo_session_close(got, LUO_SESSION_CLOSE_FORCE));
		xclose(sock[0]);
		xclose(sock[1]);
	}
}

LUO_TEST(transfer, send_errors, LUO_ABI_MAINLINE)
{
	luo_session_t *s = create("tests.send");
	int memfd = memfd_pattern(1, 10), pipefd[2], sock[2];

	assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	socket_pair(sock);
	expect_ok(luo_session_preserve_fd(s, memfd, 1));
	expect_ret(luo_session_send(NULL, sock[0]), -EINVAL);
	expect_ret(luo_session_send(s, pipefd[1]), -ENOTSOCK);
	expect_ret(luo_session_send(s, closed_fd_number()), -EBADF);
	xclose(sock[1]);
	/* MSG_NOSIGNAL or not, the peer is gone: -EPIPE, and no SIGPIPE
	 * kills the test. */
	expect_ret(luo_session_send(s, sock[0]), -EPIPE);
	/* Nothing was sent, so closing still needs FORCE. */
	expect_ret(luo_session_close(s, 0), -EBUSY);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	xclose(sock[0]);
	xclose(pipefd[0]);
	xclose(pipefd[1]);
	xclose(memfd);
}

LUO_TEST(transfer, recv_from_a_closed_peer_is_econnreset, LUO_ABI_MAINLINE)
{
	luo_session_t *s = SENTINEL_PTR;
	struct tb_snapshot before;
	int sock[2];

	socket_pair(sock);
	xclose(sock[1]);
	tb_snapshot(&before);
	expect_ret(luo_session_recv(tb_ctx(), sock[0], &s), -ECONNRESET);
	assert_eq(s, SENTINEL_PTR);
	tb_expect_unchanged(&before);
	xclose(sock[0]);
}

LUO_TEST(transfer, recv_garbage_is_ebadmsg_and_leaks_nothing, LUO_ABI_MAINLINE)
{
	luo_session_t *s = SENTINEL_PTR;
	struct tb_snapshot before;
	int sock[2], memfd = memfd_pattern(1, 10);
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = "not a session", .iov_len = 13 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fds[2] = { memfd, memfd };

	socket_pair(sock);
	/* Plain bytes, no descriptor. */
	assert_eq(write(sock[0], "hello, world", 12), 12);
	tb_snapshot(&before);
	expect_ret(luo_session_recv(tb_ctx(), sock[1], &s), -EBADMSG);
	assert_eq(s, SENTINEL_PTR);
	tb_expect_unchanged(&before);
	xclose(sock[0]);
	xclose(sock[1]);

	/* Bytes with two descriptors that are not sessions: both must be
	 * closed by libluo (the descriptor count is back where it was). */
	socket_pair(sock);
	memset(cbuf, 0, sizeof(cbuf));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	assert_eq(sendmsg(sock[0], &msg, 0), 13, "sendmsg: %s",
		  strerror(errno));
	tb_snapshot(&before);
	expect_ret(luo_session_recv(tb_ctx(), sock[1], &s), -EBADMSG);
	assert_eq(s, SENTINEL_PTR);
	tb_expect_unchanged(&before);
	xclose(sock[0]);
	xclose(sock[1]);
	xclose(memfd);
}

LUO_TEST(transfer, recv_null_arguments_are_einval, LUO_ABI_MAINLINE)
{
	luo_session_t *s = SENTINEL_PTR;
	int sock[2];

	socket_pair(sock);
	assert_eq(write(sock[0], "x", 1), 1);
	expect_ret(luo_session_recv(NULL, sock[1], &s), -EINVAL);
	expect_ret(luo_session_recv(tb_ctx(), sock[1], NULL), -EINVAL);
	assert_eq(s, SENTINEL_PTR);
	xclose(sock[0]);
	xclose(sock[1]);
}

/* ---- the hand-off model: a context without the device ------------------- */

static luo_ctx_t *new_deviceless_ctx(void)
{
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;

	expect_ok(luo_ctx_opts_new(&opts));
	tb_opts_same_kernel(opts);
	expect_ok(luo_ctx_opts_set_open_device(opts, false));
	/* the device is held by tb_ctx(): a context with it would be -EBUSY */
	expect_ok(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);
	return ctx;
}

LUO_TEST(transfer, a_context_without_the_device_refuses_what_needs_it,
	 LUO_ABI_MAINLINE)
{
	luo_ctx_t *vmm;
	luo_session_t *s = SENTINEL_PTR;
	enum luo_state state = (enum luo_state)SENTINEL_INT;
	enum luo_abi abi = LUO_ABI_AUTO;
	int memfd = memfd_pattern(1, 10), fd = SENTINEL_INT;

	(void)tb_ctx();
	vmm = new_deviceless_ctx();
	expect_ok(luo_ctx_get_abi(vmm, &abi));
	assert_eq(abi, LUO_ABI_MAINLINE);
	expect_ret(luo_session_create(vmm, "tests.nodev", &s), -ENODEV);
	expect_ret(luo_session_retrieve(vmm, "tests.nodev", &s), -ENODEV);
	assert_eq(s, SENTINEL_PTR);
	expect_ret(luo_get_state(vmm, &state), -ENODEV);
	assert_eq(state, (enum luo_state)SENTINEL_INT);
	expect_ret(luo_fd_preserve(vmm, memfd, 1), -ENODEV);
	expect_ret(luo_fd_restore(vmm, 1, &fd), -ENODEV);
	assert_eq(fd, SENTINEL_INT);
	expect_ret(luo_prepare(vmm), -ENODEV);
	expect_ret(luo_cancel(vmm), -ENODEV);
	expect_ret(luo_finish(vmm), -ENODEV);
	expect_ret(luo_fd_unpreserve(vmm, 1), -ENODEV);
	/* the bookkeeping needs no device */
	assert_eq(luo_token_count(vmm), 0);
	assert_true(!tb_file_is_preserved(memfd));
	luo_ctx_unref(vmm);
	xclose(memfd);
}

LUO_TEST(transfer, agent_hands_a_session_to_a_context_without_the_device,
	 LUO_ABI_MAINLINE)
{
	luo_session_t *agent_side, *vmm_side = NULL, *in = NULL;
	int memfd = memfd_pattern(7, 65536), sock[2], got = SENTINEL_INT;
	luo_ctx_t *vmm;

	agent_side = create("tests.handoff");
	vmm = new_deviceless_ctx();
	socket_pair(sock);
	expect_ok(luo_session_send(agent_side, sock[0]));
	expect_ok(luo_session_close(agent_side, 0));
	expect_ok(luo_session_recv(vmm, sock[1], &vmm_side));
	expect_name(vmm_side, "tests.handoff");
	expect_direction(vmm_side, LUO_SESSION_OUTGOING);
	/* the receiver preserves its own memory in the agent's session */
	expect_ok(luo_session_preserve_fd(vmm_side, memfd, 7));
	assert_true(tb_file_is_preserved(memfd));
	assert_eq(luo_session_token_count(vmm_side), 1);
	xclose(sock[0]);
	xclose(sock[1]);
	if (!tb.fake) {
		expect_ok(luo_session_close(vmm_side, LUO_SESSION_CLOSE_FORCE));
		assert_true(!tb_file_is_preserved(memfd));
		luo_ctx_unref(vmm);
		xclose(memfd);
		return;
	}
	assert_eq(tb_fake_files_in("tests.handoff"), 1);
	tb_kexec();
	/* the receiver's handles belong to the old boot now */
	expect_ok(luo_session_close(vmm_side, LUO_SESSION_CLOSE_FORCE));
	luo_ctx_unref(vmm);
	expect_ok(luo_session_retrieve(tb_ctx(), "tests.handoff", &in));
	/* the receiver recorded what it preserved in the agent's session */
	{
		enum luo_token_state st = 0;

		assert_eq(luo_session_token_count(in), 1);
		expect_ok(luo_session_token_lookup(in, 7, &st));
		assert_eq(st, LUO_TOKEN_INCOMING);
	}
	expect_ok(luo_session_retrieve_fd(in, 7, &got));
	expect_file_pattern(got, 7, 65536);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	xclose(got);
	xclose(memfd);
}

/* Sessions outlive the device descriptor: the agent may even exit. */
LUO_TEST(transfer, a_session_outlives_the_device_holder, LUO_ABI_MAINLINE)
{
	luo_session_t *agent_side, *vmm_side = NULL;
	int memfd = memfd_pattern(9, 4096), sock[2];
	luo_ctx_t *vmm, *again = NULL;

	agent_side = create("tests.outlive");
	vmm = new_deviceless_ctx();
	socket_pair(sock);
	expect_ok(luo_session_send(agent_side, sock[0]));
	expect_ok(luo_session_close(agent_side, 0));
	expect_ok(luo_session_recv(vmm, sock[1], &vmm_side));
	xclose(sock[0]);
	xclose(sock[1]);
	/* the agent lets go of /dev/liveupdate */
	tb_drop_ctx();
	expect_ok(luo_session_preserve_fd(vmm_side, memfd, 9));
	assert_eq(luo_session_token_count(vmm_side), 1);
	/* and the device is free for someone else */
	expect_ok(luo_ctx_new(tb.opts, &again));
	assert_true(tb.fake == NULL || tb_fake_files_in("tests.outlive") == 1);
	luo_ctx_unref(again);
	expect_ok(luo_session_close(vmm_side, LUO_SESSION_CLOSE_FORCE));
	luo_ctx_unref(vmm);
	xclose(memfd);
}

/* luo_ctx_close_device(): the holder lets go of the device, keeps its
 * sessions, and another context can open the device. */
LUO_TEST(transfer, close_device_keeps_the_sessions, LUO_ABI_MAINLINE)
{
	luo_ctx_t *agent = NULL;
	luo_session_t *s = NULL, *none = SENTINEL_PTR, *in = NULL;
	enum luo_state state = (enum luo_state)SENTINEL_INT;
	int a = memfd_pattern(1, 3000), b = memfd_pattern(2, 5000);
	int got = SENTINEL_INT;

	expect_ret(luo_ctx_close_device(NULL), -EINVAL);
	expect_ok(luo_ctx_new(tb.opts, &agent));
	expect_ok(luo_session_create(agent, "tests.closedev", &s));
	expect_ok(luo_session_preserve_fd(s, a, 1));
	expect_ok(luo_ctx_close_device(agent));
	expect_ret(luo_ctx_close_device(agent), -ENODEV);
	expect_ret(luo_session_create(agent, "tests.closedev2", &none), -ENODEV);
	expect_ret(luo_session_retrieve(agent, "tests.closedev", &none), -ENODEV);
	assert_eq(none, SENTINEL_PTR);
	expect_ret(luo_get_state(agent, &state), -ENODEV);
	assert_eq(state, (enum luo_state)SENTINEL_INT);
	/* the session still works, and the device is free for tb_ctx() */
	expect_ok(luo_session_preserve_fd(s, b, 2));
	assert_eq(luo_session_token_count(s), 2);
	assert_true(tb_file_is_preserved(a));
	assert_true(tb_file_is_preserved(b));
	if (!tb.fake) {
		expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
		assert_true(!tb_file_is_preserved(a));
	} else {
		tb_kexec();
		expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
		expect_ok(luo_session_retrieve(tb_ctx(), "tests.closedev", &in));
		expect_ok(luo_session_retrieve_fd(in, 2, &got));
		expect_file_pattern(got, 2, 5000);
		xclose(got);
		expect_ok(luo_session_finish(in));
		expect_ok(luo_session_close(in, 0));
	}
	luo_ctx_unref(agent);
	xclose(a);
	xclose(b);
}
