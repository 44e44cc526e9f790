/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-handoff: luo_session_recv() against arbitrary messages.
 *
 * Each input sends up to 4 messages of arbitrary bytes, each with 0 to 10
 * descriptors (memfds, pipe ends, another socket, an O_PATH descriptor,
 * /dev/null, and copies of a real session of a fake kernel), over a socket
 * pair of the type the input names, then calls luo_session_recv() a few
 * times.  Checks:
 *
 *  - every call returns 0 with a session of the fake (the one sent: its
 *    name, direction and inode), or a documented error: -EBADMSG,
 *    -ECONNRESET, -EINVAL, -ENOMEM, or recvmsg()'s -EAGAIN (the socket is
 *    non-blocking);
 *  - a well-formed message (magic, version 1 of 72 bytes or version 2 of
 *    76 with a direction, a NUL-terminated name, one session descriptor)
 *    sent first is received, with the direction it announces (version
 *    1: the session's own);
 *  - after each call (its session closed), the process holds exactly the
 *    descriptors it held before the messages were sent: a descriptor that
 *    arrived and was not made the session's is a leak;
 *  - at the end of the input, exactly those of before the input.
 *
 * Input:
 *   byte 0  bits 0-1: socket type (0 SOCK_STREAM, 1 SOCK_SEQPACKET,
 *           2 SOCK_DGRAM, 3 SOCK_SEQPACKET); bit 2: SO_PASSCRED on the
 *           receiving end; bit 3: receive in a context without the device;
 *           bit 4: shut the sending end down after the messages; bit 5:
 *           close it; bit 6: a memfd is preserved in the session first;
 *           bit 7: SO_TIMESTAMP on the receiving end
 *   byte 1  number of luo_session_recv() calls (1 + b % 4)
 *   then per message (up to 4):
 *           length (0 to 255, the payload's bytes), mode (bit 0: the
 *           payload starts with a header; bit 1: the descriptors go in
 *           two SCM_RIGHTS headers; bits 2-7: number of descriptors,
 *           modulo 11), with a header one more byte (bits 0-1: version
 *           1 + b % 4; bits 2-3: the direction written at offset 72;
 *           bit 4: a name without NUL), one byte per descriptor (its
 *           kind, modulo 8), then the payload bytes (after the magic and
 *           version, if any)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "fuzz-common.h"

/*
 * FUZZ_KNOWN_ANCILLARY_REFUSED (found by this target; inputs
 * regressions/fuzz-handoff/passcred-loses-session and
 * timestamp-loses-session): luo_session_recv() on a socket that also
 * receives other ancillary data (SO_PASSCRED credentials, SO_TIMESTAMP)
 * had no room left for the descriptor: MSG_CTRUNC, -EBADMSG, and the
 * kernel dropped the session descriptor, so a session whose sender
 * already closed its handle (allowed after luo_session_send()) was lost
 * with its files.  Fixed since (0 by default); with 1, the check that a
 * well-formed message is received accepts the refusal on such sockets.
 */
#ifndef FUZZ_KNOWN_ANCILLARY_REFUSED
#define FUZZ_KNOWN_ANCILLARY_REFUSED 0 /* fixed: lib/session-handoff.c */
#endif

/* See fuzz-api.h: luo_session_recv() of a zero-length message carrying
 * descriptors leaked them (fixed).  With 1, zero-length messages are sent
 * without descriptors. */
#ifndef FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK
#define FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK 0 /* fixed since */
#endif

/* lib/session-handoff.c: magic, version, name[64] (v1), direction (v2) */
#define MSG_MAGIC 0x4c554f53u
#define MSG_V1_SIZE (8 + 64)
#define MSG_V2_SIZE (8 + 64 + 4)
#define MAX_MSG_FDS 10
#define SESSION_NAME "handoff"

struct handoff {
	luo_fake_t *fake;
	luo_ctx_t *holder, *receiver;
	luo_session_t *session;
	dev_t sdev;
	ino_t sino;
	int sk[2];
	int memfd, pipe[2], other[2], opath, devnull;
	struct fz_owned own;
	struct fz_baseline before_input, before_send;
};

static struct handoff H;

static void setup(uint8_t flags)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM,
				     SOCK_SEQPACKET };
	luo_ctx_opts_t *opts;
	char path[64];
	int one = 1, target;

	memset(&H, 0, sizeof(H));
	fz_baseline_take(&H.before_input);
	fz_check(luo_fake_new(LUO_ABI_MAINLINE, &H.fake) == 0);
	fz_check(luo_ctx_opts_new(&opts) == 0);
	fz_check(luo_ctx_opts_set_fake(opts, H.fake) == 0);
	fz_check(luo_ctx_new(opts, &H.holder) == 0);
	if (flags & 8) {
		fz_check(luo_ctx_opts_set_open_device(opts, false) == 0);
		fz_check(luo_ctx_new(opts, &H.receiver) == 0);
	} else {
		H.receiver = luo_ctx_ref(H.holder);
	}
	luo_ctx_opts_free(opts);
	fz_check(luo_session_create(H.holder, SESSION_NAME, &H.session) == 0);
	fz_check(fz_fd_id(luo_session_get_fd(H.session), &H.sdev, &H.sino) == 0);

	H.memfd = fz_memfd("handoff", 100, 'h');
	fz_own_add(&H.own, H.memfd, "memfd");
	if (flags & 64)
		fz_check(luo_session_preserve_fd(H.session, H.memfd, 7) == 0);
	fz_check(socketpair(AF_UNIX, types[flags & 3] | SOCK_CLOEXEC, 0,
			    H.sk) == 0);
	fz_check(fcntl(H.sk[1], F_SETFL, O_NONBLOCK) == 0);
	fz_own_add(&H.own, H.sk[0], "sending end");
	fz_own_add(&H.own, H.sk[1], "receiving end");
	if (flags & 4)
		fz_check(setsockopt(H.sk[1], SOL_SOCKET, SO_PASSCRED, &one,
				    sizeof(one)) == 0);
	if (flags & 128)
		fz_check(setsockopt(H.sk[1], SOL_SOCKET, SO_TIMESTAMP, &one,
				    sizeof(one)) == 0);
	fz_check(pipe2(H.pipe, O_CLOEXEC) == 0);
	fz_own_add(&H.own, H.pipe[0], "pipe read end");
	fz_own_add(&H.own, H.pipe[1], "pipe write end");
	fz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    H.other) == 0);
	fz_own_add(&H.own, H.other[0], "other socket");
	fz_own_add(&H.own, H.other[1], "other socket's peer");
	target = fz_memfd("handoff-opath", 1, 'o');
	snprintf(path, sizeof(path), "/proc/self/fd/%d", target);
	H.opath = open(path, O_PATH | O_CLOEXEC);
	close(target);
	fz_own_add(&H.own, H.opath, "O_PATH");
	H.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	fz_own_add(&H.own, H.devnull, "/dev/null");
	fz_baseline_take(&H.before_send);
}

static void teardown(void)
{
	int i;

	for (i = H.own.n - 1; i >= 0; i--)
		fz_own_close(&H.own, H.own.fds[i].fd);
	fz_check(luo_session_close(H.session, LUO_SESSION_CLOSE_FORCE) == 0);
	luo_ctx_unref(H.receiver);
	luo_ctx_unref(H.holder);
	luo_fake_unref(H.fake);
	fz_baseline_check_exact(&H.before_input, "after the input");
}

static int fd_of_kind(uint8_t kind, bool *is_session)
{
	*is_session = false;
	switch (kind % 8) {
	case 0:
		return H.memfd;
	case 1:
		return H.pipe[0];
	case 2:
		return H.pipe[1];
	case 3:
	case 7:
		*is_session = true;
		return luo_session_get_fd(H.session);
	case 4:
		return H.other[0];
	case 5:
		return H.opath;
	default:
		return H.devnull;
	}
}

/* Send one message; returns the direction a well-formed session message
 * sent whole announces (the session's own for version 1), else 0. */
static enum luo_session_direction send_one(struct fz_in *in)
{
	union {
		struct cmsghdr align;
		char buf[2 * CMSG_SPACE(MAX_MSG_FDS * sizeof(int))];
	} control;
	uint8_t payload[256];
	size_t len = fz_u8(in), at = 0;
	uint8_t mode = fz_u8(in), hdr = mode & 1 ? fz_u8(in) : 0;
	int nfds = (mode >> 2) % (MAX_MSG_FDS + 1), fds[MAX_MSG_FDS], i;
	int nsessions = 0, first;
	uint32_t version = 1 + (hdr & 3), dir = (hdr >> 2) & 3, word;
	struct iovec iov = { payload, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	bool is_session, good;
	ssize_t n;

	for (i = 0; i < nfds; i++) {
		fds[i] = fd_of_kind(fz_u8(in), &is_session);
		nsessions += is_session;
	}
	memset(payload, 0, sizeof(payload));
	if ((mode & 1) && len >= 8)
		at = 8;
	fz_bytes(in, payload + at, len - at);
	if (at) {
		word = MSG_MAGIC;
		memcpy(payload, &word, 4);
		memcpy(payload + 4, &version, 4);
		if (hdr & 16)
			memset(payload + 8, 'n', 64);
		else
			payload[8 + 63] = 0;
		memcpy(payload + 72, &dir, 4);
	}
#if FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK
	if (len == 0)
		nfds = 0;
#endif
	if (nfds) {
		/* one SCM_RIGHTS header, or two (the kernel joins them) */
		first = (mode & 2) && nfds > 1 ? nfds / 2 : nfds;
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(first * sizeof(int));
		if (first < nfds)
			mh.msg_controllen +=
				CMSG_SPACE((nfds - first) * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(first * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, first * sizeof(int));
		if (first < nfds) {
			cm = CMSG_NXTHDR(&mh, cm);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN((nfds - first) * sizeof(int));
			memcpy(CMSG_DATA(cm), fds + first,
			       (nfds - first) * sizeof(int));
		}
	}
	n = sendmsg(H.sk[0], &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	fz_trace("message: %zu bytes%s (version %u, direction %u), %d fd(s), "
		 "%d session(s): sent %zd (%s)", len,
		 at ? " with a header" : "", version, dir, nfds, nsessions, n,
		 n < 0 ? strerror(errno) : "ok");
	good = at && !(hdr & 16) && nfds == 1 && nsessions == 1 &&
	       ((version == 1 && n == MSG_V1_SIZE) ||
		(version == 2 && n == MSG_V2_SIZE &&
		 (dir == LUO_SESSION_OUTGOING || dir == LUO_SESSION_INCOMING)));
	if (!good)
		return 0;
	return version == 1 ? LUO_SESSION_OUTGOING
			    : (enum luo_session_direction)dir;
}

static void receive(int i, enum luo_session_direction expect, bool ancillary)
{
	luo_session_t *s = NULL;
	enum luo_session_direction dir;
	const char *name;
	dev_t dev;
	ino_t ino;
	int r;

	r = luo_session_recv(H.receiver, H.sk[1], &s);
	fz_trace("luo_session_recv() #%d = %d (%s)", i, r,
		 r < 0 ? strerror(-r) : "a session");
	if (r == 0) {
		fz_check(s, "success without a session");
		fz_check(luo_session_get_name(s, &name) == 0 &&
			 strcmp(name, SESSION_NAME) == 0,
			 "received a session named \"%s\"", name);
		/* the direction the message announced (the sender's word) */
		fz_check(luo_session_get_direction(s, &dir) == 0 &&
			 (dir == LUO_SESSION_OUTGOING ||
			  dir == LUO_SESSION_INCOMING) &&
			 (!expect || dir == expect), "direction %d", dir);
		fz_check(fz_fd_id(luo_session_get_fd(s), &dev, &ino) == 0 &&
			 dev == H.sdev && ino == H.sino,
			 "received another session");
		fz_check(fcntl(luo_session_get_fd(s), F_GETFD) & FD_CLOEXEC,
			 "received session fd not close-on-exec");
		/* an adopted session needs FORCE: outgoing, it may hold
		 * files; "incoming", it is not finished */
		fz_check(luo_session_close(s, 0) == -EBUSY);
		fz_check(luo_session_close(s, LUO_SESSION_CLOSE_FORCE) == 0);
	} else {
		fz_check(!s, "out-parameter written on failure");
		fz_check(r == -EBADMSG || r == -ECONNRESET || r == -EINVAL ||
			 r == -ENOMEM || r == -EAGAIN || r == -ENOTCONN,
			 "luo_session_recv() = %d (%s): not a documented "
			 "error", r, strerror(-r));
		fz_check(!expect ||
			 (FUZZ_KNOWN_ANCILLARY_REFUSED && ancillary),
			 "a well-formed session message was refused: %d (%s)",
			 r, strerror(-r));
	}
	fz_own_check(&H.own);
	fz_baseline_check_exact(&H.before_send, "after luo_session_recv()");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	enum luo_session_direction first = 0, d;
	uint8_t flags, calls;
	int i;

	if (size < 2)
		return 0;
	flags = fz_u8(&in);
	calls = 1 + fz_u8(&in) % 4;
	setup(flags);
	for (i = 0; i < 4 && fz_more(&in); i++) {
		d = send_one(&in);
		if (i == 0)
			first = d;
	}
	if (flags & 16)
		shutdown(H.sk[0], SHUT_WR);
	if (flags & 32) {
		fz_own_close(&H.own, H.sk[0]);
		fz_baseline_take(&H.before_send);
	}
	for (i = 0; i < calls; i++)
		receive(i, i == 0 ? first : 0, flags & (4 | 128));
	teardown();
	return 0;
}
