/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing a session to another process: its descriptor and name over a
 * UNIX socket (SCM_RIGHTS), and adopting a descriptor received that way.
 * sendmsg() and recvmsg() may block for as long as the peer likes, so
 * they run with no libluo lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "session.h"

#define SESSION_MSG_MAGIC 0x4c554f53u /* "LUOS" */
#define SESSION_MSG_VERSION 1
#define RECV_MAX_FDS 8

struct session_msg {
	uint32_t magic;
	uint32_t version;
	char name[LUO_K_NAME_LEN];
};

/*
 * The kernel has no "which direction" request.  SESSION_PRESERVE_FD with fd
 * -1 is refused before anything changes: EINVAL on an incoming session (the
 * direction check comes first), EEXIST or EBADF on an outgoing one.
 */
static int probe_direction(struct luo_backend *b, int fd,
			   enum luo_session_direction *dir)
{
	int r = luoi_req_preserve_fd(b, fd, -1, 0);

	switch (r) {
	case -EINVAL:
		*dir = LUO_SESSION_INCOMING;
		return 0;
	case -EBADF:
	case -EEXIST:
		*dir = LUO_SESSION_OUTGOING;
		return 0;
	case 0: /* cannot happen: fd -1 */
		return -EIO;
	default:
		return r;
	}
}

LUOI_EXPORT int luo_session_adopt_fd(luo_ctx_t *ctx, int fd,
				     luo_session_t **ret)
{
	enum luo_session_direction dir = LUO_SESSION_OUTGOING;
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (ctx->abi != LUO_ABI_MAINLINE)
		return -EOPNOTSUPP;
	if (!ret || fd < 0)
		return -EINVAL;
	r = luoi_req_get_name(ctx->backend, fd, name);
	if (r == 0)
		r = probe_direction(ctx->backend, fd, &dir);
	if (r < 0) {
		luoi_dbg(ctx, "fd %d is not a live update session: %s", fd,
			 strerror(-r));
		return -EINVAL;
	}
	s = luoi_session_new(ctx, fd, name, dir);
	if (!s)
		return -ENOMEM; /* @fd stays the caller's */
	s->adopted = true;
	luo_ctx_ref(ctx);
	*ret = s;
	return 0;
}

LUOI_EXPORT int luo_session_send(luo_session_t *session, int sock)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct session_msg msg = {
		.magic = SESSION_MSG_MAGIC,
		.version = SESSION_MSG_VERSION,
	};
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	ssize_t n;
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (sock < 0)
		return -EINVAL;
	/* name and fd never change while the handle lives: no lock */
	memcpy(msg.name, session->name, sizeof(msg.name));
	memset(control.buf, 0, sizeof(control.buf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &session->fd, sizeof(int));

	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(msg))
		return -EMSGSIZE; /* stream socket cut the message: unusable */
	LUOI_LOCK_GUARD(&session->lock);
	session->sent = true;
	return 0;
}

/* Close every descriptor a received message carried. */
static void close_received_fds(struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			luoi_close_keep_errno(fd);
		}
	}
}

LUOI_EXPORT int luo_session_recv(luo_ctx_t *ctx, int sock, luo_session_t **ret)
{
	/* room for a few descriptors, so that a peer sending more than one
	 * cannot make us leak the rest (the kernel would truncate them) */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(RECV_MAX_FDS * sizeof(int))];
	} control;
	struct session_msg msg;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	int fd = -1, nfds = 0, r;
	ssize_t n;

	r = luoi_ctx_check(ctx);
	if (r < 0)
		return r;
	if (ctx->abi != LUO_ABI_MAINLINE)
		return -EOPNOTSUPP;
	if (!ret || sock < 0)
		return -EINVAL;

	memset(&msg, 0, sizeof(msg));
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;

	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			nfds += (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		}
	if ((size_t)n != sizeof(msg) ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 1 ||
	    msg.magic != SESSION_MSG_MAGIC ||
	    msg.version != SESSION_MSG_VERSION) {
		close_received_fds(&mh);
		return -EBADMSG;
	}

	r = luo_session_adopt_fd(ctx, fd, ret);
	if (r < 0)
		luoi_close_keep_errno(fd);
	return r;
}
