/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing a session to another process: its descriptor, name and
 * direction over a UNIX socket (SCM_RIGHTS), and adopting a descriptor
 * received that way.  sendmsg() and recvmsg() may block for as long as the
 * peer likes, so they run with no libluo lock held.
 *
 * Trust: a descriptor that arrives over a socket could be anything, and
 * request number 0xBA43 means something else to another driver.  Before
 * libluo issues any request on it, the backend identifies it (the kernel:
 * its /proc name "anon_inode:[luo_session] NAME"); anything else is
 * refused and closed.  Whom to trust is the application's choice:
 * luo_session_recv() does not look at the peer, but SO_PEERCRED on the
 * socket says who it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "session.h"

#define MSG_MAGIC 0x4c554f53u /* "LUOS" */
#define MSG_V1 1              /* libluo 1.0: magic, version, name */
#define MSG_V2 2              /* and the direction */
#define RECV_MAX_FDS 8
#define CONTROL_EXTRA 256 /* credentials (12), timestamps (up to 48), ... */

struct msg_v1 {
	uint32_t magic;
	uint32_t version;
	char name[LUO_K_NAME_LEN];
};

struct msg_v2 {
	uint32_t magic;
	uint32_t version;
	char name[LUO_K_NAME_LEN];
	uint32_t direction; /* enum luo_session_direction */
};

/*
 * The kernel has no "which direction" request.  SESSION_PRESERVE_FD with fd
 * -1 is refused before anything changes, and the kernel checks the kind of
 * session before anything else: EINVAL means incoming; any other refusal
 * (EEXIST, ENOSPC, EBADF, ...) comes from a check only an outgoing session
 * reaches.
 */
enum luo_session_direction luoi_session_probe_direction(struct luo_backend *b,
							int fd)
{
	return luoi_req_preserve_fd(b, fd, -1, 0) == -EINVAL ?
		       LUO_SESSION_INCOMING :
		       LUO_SESSION_OUTGOING;
}

int luoi_session_identify(luo_ctx_t *ctx, int fd, char name[LUO_K_NAME_LEN],
			  const char *api)
{
	struct luo_backend *b = ctx->backend;
	int r;

	if (b->ops->identify)
		r = b->ops->identify(b, fd, name);
	else
		r = luoi_req_get_name(b, fd, name);
	if (r == -ENOTTY || r == -EINVAL) {
		luoi_dbg(ctx, api, "fd %d is not a live update session of this "
			      "kernel", fd);
		return -EINVAL;
	}
	return r;
}

static int fd_lent(luo_ctx_t *ctx, int fd)
{
	LUOI_LOCK_GUARD(&ctx->lock);
	return luoi_hmap_find(&ctx->lent_fds, (uint64_t)fd) != NULL;
}

static int handoff_supported(luo_ctx_t *ctx)
{
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	return ctx->abi == LUO_ABI_MAINLINE ? 0 : -EOPNOTSUPP;
}

/* Fill a handle allocated before around an identified session @fd. */
static luo_session_t *adopt_into(luo_ctx_t *ctx, struct luo_session *s, int fd,
				 const char *name, const char *api,
				 enum luo_session_direction dir)
{
	size_t len = strnlen(name, sizeof(s->name) - 1);

	s->fd = fd;
	memcpy(s->name, name, len);
	memset(s->name + len, 0, sizeof(s->name) - len);
	s->dir = dir;
	s->adopted = true;
	/* what the previous boot recorded; a record that cannot be read
	 * leaves the old behaviour (tokens known once retrieved) */
	if (dir == LUO_SESSION_INCOMING) {
		int r = luoi_session_load_record(s);

		if (r < 0)
			luoi_err(ctx, api, "session \"%s\": its record is unusable "
				      "(%s): its tokens are known only once "
				      "retrieved", s->name, strerror(-r));
	}
	luoi_ctx_ref(ctx);
	return s;
}

LUOI_EXPORT int luo_session_adopt_fd(luo_ctx_t *ctx, int fd,
				     luo_session_t **ret)
{
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r = handoff_supported(ctx);

	if (r < 0)
		return r;
	if (!ret || fd < 0)
		return -EINVAL;
	if (fd_lent(ctx, fd))
		return -EBUSY; /* a handle owns it: dup it first */
	r = luoi_session_identify(ctx, fd, name, "luo_session_adopt_fd");
	if (r < 0)
		return r;
	/* allocated before the probe, so no failure can follow it */
	s = luoi_session_new(ctx, -1, name, LUO_SESSION_OUTGOING);
	if (!s)
		return -ENOMEM; /* @fd stays the caller's */
	*ret = adopt_into(ctx, s, fd, name, "luo_session_adopt_fd",
			  luoi_session_probe_direction(ctx->backend, fd));
	return 0;
}

static int socket_option(int sock, int option)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(sock, SOL_SOCKET, option, &v, &len) < 0)
		return -errno;
	return v;
}

static int socket_family(int sock)
{
	return socket_option(sock, SO_DOMAIN);
}

/* Linux says EINVAL to recvmsg() on a stream socket that is not
 * connected: tell it apart. */
static bool socket_unconnected(int sock)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	return getpeername(sock, (struct sockaddr *)&peer, &len) < 0 &&
	       errno == ENOTCONN;
}

LUOI_EXPORT int luo_session_send(luo_session_t *session, int sock)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msg_v2 msg = {
		.magic = MSG_MAGIC,
		.version = MSG_V2,
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
	/* Only AF_UNIX carries descriptors; another family would drop it
	 * silently, and the session marked sent would then be closed
	 * without FORCE and lost. */
	r = socket_family(sock);
	if (r < 0)
		return r;
	if (r != AF_UNIX)
		return -EAFNOSUPPORT;
	/* name, fd and direction never change while the handle lives */
	memcpy(msg.name, session->name, sizeof(msg.name));
	msg.direction = session->dir;
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

/* Every descriptor of a received message, closed. */
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

/*
 * What a received message says: 0 with the one descriptor, its name and
 * direction (0: not said, libluo 1.0), or -EBADMSG (every descriptor
 * closed).  @len is what recvmsg() returned.
 */
int luoi_handoff_parse(struct msghdr *mh, size_t len, int *fd, char *name,
		       enum luo_session_direction *dir)
{
	struct msg_v2 msg = { 0 };
	struct cmsghdr *cm;
	int nfds = 0, got = -1;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			nfds += (int)((cm->cmsg_len - CMSG_LEN(0)) /
				      sizeof(int));
			memcpy(&got, CMSG_DATA(cm), sizeof(int));
		}
	memcpy(&msg, mh->msg_iov[0].iov_base,
	       len < sizeof(msg) ? len : sizeof(msg));
	if ((mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 1 ||
	    msg.magic != MSG_MAGIC ||
	    !((msg.version == MSG_V1 && len == sizeof(struct msg_v1)) ||
	      (msg.version == MSG_V2 && len == sizeof(struct msg_v2) &&
	       (msg.direction == LUO_SESSION_OUTGOING ||
		msg.direction == LUO_SESSION_INCOMING))) ||
	    memchr(msg.name, '\0', sizeof(msg.name)) == NULL) {
		close_received_fds(mh);
		return -EBADMSG;
	}
	*fd = got;
	memcpy(name, msg.name, sizeof(msg.name));
	*dir = msg.version == MSG_V2 ? (enum luo_session_direction)msg.direction
				     : 0;
	return 0;
}

/* The size of the next message, from a peek at its header (no control
 * buffer: a peek would install the descriptors); v2's when in doubt. */
static size_t message_size(int sock)
{
	uint32_t head[2];
	ssize_t n;

	do
		n = recv(sock, head, sizeof(head), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(head) && head[0] == MSG_MAGIC &&
	    head[1] == MSG_V1)
		return sizeof(struct msg_v1);
	return sizeof(struct msg_v2);
}

/* Take a session kept after a transient error, if there is one. */
static bool take_stashed(luo_ctx_t *ctx, int *fd, char *name,
			 enum luo_session_direction *dir)
{
	LUOI_LOCK_GUARD(&ctx->lock);
	if (ctx->stashed_fd < 0)
		return false;
	*fd = TAKE_FD(ctx->stashed_fd);
	memcpy(name, ctx->stashed_name, LUO_K_NAME_LEN);
	*dir = ctx->stashed_dir;
	return true;
}

static void stash(luo_ctx_t *ctx, int fd, const char *name,
		  enum luo_session_direction dir)
{
	LUOI_LOCK_GUARD(&ctx->lock);
	if (ctx->stashed_fd >= 0) {
		/* one at a time: the older one is given up */
		luoi_close_keep_errno(ctx->stashed_fd);
	}
	ctx->stashed_fd = fd;
	memcpy(ctx->stashed_name, name, LUO_K_NAME_LEN);
	ctx->stashed_dir = dir;
}

LUOI_EXPORT int luo_session_recv(luo_ctx_t *ctx, int sock, luo_session_t **ret)
{
	/* room for a few descriptors, so that a peer sending more than one
	 * cannot make us leak the rest, and for what the socket's options
	 * add (SO_PASSCRED's credentials, timestamps): a truncated control
	 * buffer would make the kernel drop the session's descriptor */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(RECV_MAX_FDS * sizeof(int)) +
			 CONTROL_EXTRA];
	} control;
	char buf[sizeof(struct msg_v2)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	enum luo_session_direction dir = 0;
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int fd = -1, r;
	ssize_t n;

	r = handoff_supported(ctx);
	if (r < 0)
		return r;
	if (!ret || sock < 0)
		return -EINVAL;
	/* the handle first: once a session arrived, nothing may fail for
	 * lack of memory (the sender may have closed its handle already) */
	s = luoi_session_new(ctx, -1, "", LUO_SESSION_OUTGOING);
	if (!s)
		return -ENOMEM;

	if (!take_stashed(ctx, &fd, name, &dir)) {
		/* read exactly one message, also from a stream carrying
		 * libluo 1.0's shorter ones: its version says its size */
		iov.iov_len = message_size(sock);
		do
			n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			r = -errno;
			/* Linux says EINVAL for a stream socket that is not
			 * connected */
			if (r == -EINVAL && socket_unconnected(sock))
				r = -ENOTCONN;
			luoi_session_free(s);
			return r;
		}
		/* 0 bytes and no descriptor: on a connection, the peer
		 * closed; on a datagram socket, just a bad message (as is
		 * any empty message with descriptors) */
		if (n == 0 && !CMSG_FIRSTHDR(&mh)) {
			luoi_session_free(s);
			return socket_option(sock, SO_TYPE) == SOCK_DGRAM ?
				       -EBADMSG :
				       -ECONNRESET;
		}
		r = luoi_handoff_parse(&mh, (size_t)n, &fd, name, &dir);
		if (r < 0) {
			luoi_session_free(s);
			return r;
		}
	}

	r = luoi_session_identify(ctx, fd, name, "luo_session_recv");
	if (r == -EINVAL || r == -EBADF) {
		luoi_close_keep_errno(fd); /* not ours to keep */
		luoi_session_free(s);
		return -EINVAL;
	}
	if (r < 0) {
		/* could not tell: keep it for the next call, never close
		 * what may be the only reference to a session */
		stash(ctx, fd, name, dir);
		luoi_session_free(s);
		return r;
	}
	if (!dir)
		dir = luoi_session_probe_direction(ctx->backend, fd);
	*ret = adopt_into(ctx, s, fd, name, "luo_session_recv", dir);
	return 0;
}
