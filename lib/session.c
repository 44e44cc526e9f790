/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions, the mainline kernel's unit of preservation, and the helpers
 * that hand a session to another process over a UNIX socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libluo-private.h"

/* ---- kernel requests (lock held) -------------------------------------- */

static int session_request(luo_ctx_t *ctx, unsigned long request,
			   const char *name, int *fd)
{
	struct luo_k_session_req req;
	int r;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.fd = -1;
	memcpy(req.name, name, strnlen(name, sizeof(req.name) - 1));
	r = luo_ctx_ioctl(ctx, ctx->dev_fd, request, &req);
	if (r < 0)
		return r;
	*fd = req.fd;
	return 0;
}

int luo_k_create_session(luo_ctx_t *ctx, const char *name, int *fd)
{
	return session_request(ctx, LUO_K_CREATE_SESSION, name, fd);
}

int luo_k_retrieve_session(luo_ctx_t *ctx, const char *name, int *fd)
{
	return session_request(ctx, LUO_K_RETRIEVE_SESSION, name, fd);
}

int luo_k_preserve_fd(luo_ctx_t *ctx, int session_fd, int fd, uint64_t token)
{
	struct luo_k_file_req req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.fd = fd;
	req.token = token;
	return luo_ctx_ioctl(ctx, session_fd, LUO_K_SESSION_PRESERVE_FD, &req);
}

int luo_k_retrieve_fd(luo_ctx_t *ctx, int session_fd, uint64_t token, int *fd)
{
	struct luo_k_file_req req;
	int r;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.fd = -1;
	req.token = token;
	r = luo_ctx_ioctl(ctx, session_fd, LUO_K_SESSION_RETRIEVE_FD, &req);
	if (r < 0)
		return r;
	*fd = req.fd;
	return 0;
}

int luo_k_finish(luo_ctx_t *ctx, int session_fd)
{
	struct luo_k_finish_req req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	return luo_ctx_ioctl(ctx, session_fd, LUO_K_SESSION_FINISH, &req);
}

static int k_get_name(luo_ctx_t *ctx, int session_fd, char name[LUO_K_NAME_LEN])
{
	struct luo_k_get_name_req req;
	int r;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	r = luo_ctx_ioctl(ctx, session_fd, LUO_K_SESSION_GET_NAME, &req);
	if (r < 0)
		return r;
	memcpy(name, req.name, LUO_K_NAME_LEN);
	name[LUO_K_NAME_LEN - 1] = '\0';
	return 0;
}

/* ---- session objects -------------------------------------------------- */

struct luo_session *luo_session_alloc(luo_ctx_t *ctx, int fd, const char *name,
				      enum luo_session_direction dir)
{
	struct luo_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ctx = ctx;
	s->fd = fd;
	s->dir = dir;
	memcpy(s->name, name, strnlen(name, sizeof(s->name) - 1));
	luo_token_table_init(&s->tokens);
	return s;
}

void luo_session_free_locked(struct luo_session *s)
{
	if (!s)
		return;
	luo_ctx_close_fd(s->ctx, s->fd);
	luo_token_table_clear(&s->tokens);
	free(s);
}

/* Validate a handle and lock its context.  On success the caller unlocks. */
static int session_enter(luo_session_t *s)
{
	int r;

	if (!s)
		return -EINVAL;
	r = luo_ctx_check(s->ctx);
	if (r < 0)
		return r;
	luo_ctx_lock(s->ctx);
	return 0;
}

static int check_name(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, LUO_SESSION_NAME_MAX + 1);
	if (len == 0 || len > LUO_SESSION_NAME_MAX)
		return -EINVAL;
	return 0;
}

static int ctx_enter_sessions(luo_ctx_t *ctx)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	return ctx->abi == LUO_ABI_MAINLINE ? 0 : -EOPNOTSUPP;
}

/*
 * Create (outgoing) or retrieve (incoming) a session into a new handle.  The
 * handle is allocated before the kernel is asked: a retrieved session can
 * be taken once per boot, and closing it again would finish it.
 */
static int open_session(luo_ctx_t *ctx, const char *name,
			enum luo_session_direction dir, luo_session_t **ret)
{
	struct luo_session *s;
	int r;

	r = ctx_enter_sessions(ctx);
	if (r < 0)
		return r;
	if (!ret || check_name(name) < 0)
		return -EINVAL;
	s = luo_session_alloc(ctx, -1, name, dir);
	if (!s)
		return -ENOMEM;

	luo_ctx_lock(ctx);
	if (ctx->dev_fd < 0) /* checked under the lock: see close_device */
		r = -ENODEV;
	else if (dir == LUO_SESSION_OUTGOING)
		r = luo_k_create_session(ctx, name, &s->fd);
	else
		r = luo_k_retrieve_session(ctx, name, &s->fd);
	luo_ctx_unlock(ctx);
	if (r < 0) {
		luo_dbg(ctx, "%s session \"%s\": %s",
			dir == LUO_SESSION_OUTGOING ? "create" : "retrieve",
			name, strerror(-r));
		free(s);
		return r;
	}
	luo_ctx_ref(ctx);
	*ret = s;
	return 0;
}

LUO_EXPORT int luo_session_create(luo_ctx_t *ctx, const char *name,
				  luo_session_t **ret)
{
	if (name && strncmp(name, LUO_RESERVED_PREFIX,
			    strlen(LUO_RESERVED_PREFIX)) == 0)
		return -EINVAL; /* libluo's own sessions (seed.c) */
	return open_session(ctx, name, LUO_SESSION_OUTGOING, ret);
}

LUO_EXPORT int luo_session_retrieve(luo_ctx_t *ctx, const char *name,
				    luo_session_t **ret)
{
	return open_session(ctx, name, LUO_SESSION_INCOMING, ret);
}

LUO_EXPORT int luo_session_preserve_fd(luo_session_t *session, int fd,
				       uint64_t token)
{
	struct luo_token_entry e = { .token = token,
				     .state = LUO_TOKEN_PRESERVED };
	luo_ctx_t *ctx;
	int r;

	r = session_enter(session);
	if (r < 0)
		return r;
	ctx = session->ctx;
	if (session->dir != LUO_SESSION_OUTGOING || fd < 0)
		r = -EINVAL;
	else if (luo_token_table_find(&session->tokens, token))
		r = -EEXIST;
	else
		/* room first: after the kernel said yes, the table must not
		 * fail to record it */
		r = luo_token_table_reserve(&session->tokens, 1);
	if (r == 0)
		r = luo_k_preserve_fd(ctx, session->fd, fd, token);
	if (r == 0)
		r = luo_token_table_insert(&session->tokens, &e);
	else
		luo_dbg(ctx, "session \"%s\": preserve fd %d as %#llx: %s",
			session->name, fd, (unsigned long long)token,
			strerror(-r));
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_session_retrieve_fd(luo_session_t *session, uint64_t token,
				       int *fd)
{
	struct luo_token_entry e = { .token = token,
				     .state = LUO_TOKEN_RESTORED };
	struct luo_token_entry *known;
	luo_ctx_t *ctx;
	int r, newfd = -1;

	r = session_enter(session);
	if (r < 0)
		return r;
	ctx = session->ctx;
	if (!fd || session->dir != LUO_SESSION_INCOMING)
		r = -EINVAL;
	else
		r = luo_token_table_reserve(&session->tokens, 1);
	if (r == 0)
		r = luo_k_retrieve_fd(ctx, session->fd, token, &newfd);
	if (r == 0) {
		known = luo_token_table_find(&session->tokens, token);
		if (known)
			known->state = LUO_TOKEN_RESTORED;
		else
			r = luo_token_table_insert(&session->tokens, &e);
		if (r == 0)
			*fd = newfd;
		else
			close(newfd);
	} else {
		luo_dbg(ctx, "session \"%s\": retrieve %#llx: %s",
			session->name, (unsigned long long)token,
			strerror(-r));
	}
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_session_finish(luo_session_t *session)
{
	int r = session_enter(session);

	if (r < 0)
		return r;
	if (session->dir != LUO_SESSION_INCOMING)
		r = -EINVAL;
	else
		r = luo_k_finish(session->ctx, session->fd);
	if (r == 0)
		session->finished = true;
	luo_ctx_unlock(session->ctx);
	return r;
}

LUO_EXPORT int luo_session_get_name(luo_session_t *session, const char **name)
{
	int r = session_enter(session);

	if (r < 0)
		return r;
	if (name)
		*name = session->name;
	else
		r = -EINVAL;
	luo_ctx_unlock(session->ctx);
	return r;
}

LUO_EXPORT int luo_session_get_direction(luo_session_t *session,
					 enum luo_session_direction *dir)
{
	int r = session_enter(session);

	if (r < 0)
		return r;
	if (dir)
		*dir = session->dir;
	else
		r = -EINVAL;
	luo_ctx_unlock(session->ctx);
	return r;
}

LUO_EXPORT int luo_session_get_fd(luo_session_t *session)
{
	int r = session_enter(session);

	if (r < 0)
		return r;
	r = session->fd;
	luo_ctx_unlock(session->ctx);
	return r;
}

/*
 * The kernel has no "which direction" request.  SESSION_PRESERVE_FD with fd
 * -1 is refused before anything changes: EINVAL on an incoming session (the
 * direction check comes first), EEXIST or EBADF on an outgoing one.
 */
static int probe_direction(luo_ctx_t *ctx, int fd,
			   enum luo_session_direction *dir)
{
	int r = luo_k_preserve_fd(ctx, fd, -1, 0);

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

LUO_EXPORT int luo_session_adopt_fd(luo_ctx_t *ctx, int fd,
				    luo_session_t **ret)
{
	enum luo_session_direction dir = LUO_SESSION_OUTGOING;
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r;

	r = ctx_enter_sessions(ctx);
	if (r < 0)
		return r;
	if (!ret || fd < 0)
		return -EINVAL;

	luo_ctx_lock(ctx);
	r = k_get_name(ctx, fd, name);
	if (r == 0)
		r = probe_direction(ctx, fd, &dir);
	if (r < 0) {
		luo_dbg(ctx, "fd %d is not a live update session: %s", fd,
			strerror(-r));
		luo_ctx_unlock(ctx);
		return -EINVAL;
	}
	s = luo_session_alloc(ctx, fd, name, dir);
	if (!s) {
		luo_ctx_unlock(ctx);
		return -ENOMEM; /* @fd stays the caller's */
	}
	s->adopted = true;
	luo_ctx_ref(ctx);
	luo_ctx_unlock(ctx);
	*ret = s;
	return 0;
}

/* ---- passing sessions between processes ------------------------------- */

#define SESSION_MSG_MAGIC 0x4c554f53u /* "LUOS" */
#define SESSION_MSG_VERSION 1

struct session_msg {
	uint32_t magic;
	uint32_t version;
	char name[LUO_K_NAME_LEN];
};

LUO_EXPORT int luo_session_send(luo_session_t *session, int sock)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct session_msg msg;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	r = session_enter(session);
	if (r < 0)
		return r;
	if (sock < 0) {
		luo_ctx_unlock(session->ctx);
		return -EINVAL;
	}
	memset(&msg, 0, sizeof(msg));
	msg.magic = SESSION_MSG_MAGIC;
	msg.version = SESSION_MSG_VERSION;
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
		r = -errno;
	else if ((size_t)n != sizeof(msg))
		r = -EMSGSIZE; /* stream socket cut the message: unusable */
	else
		session->sent = true;
	luo_ctx_unlock(session->ctx);
	return r;
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

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

LUO_EXPORT int luo_session_recv(luo_ctx_t *ctx, int sock, luo_session_t **ret)
{
	/* room for a few descriptors, so that a peer sending more than one
	 * cannot make us leak the rest (the kernel would truncate them) */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} control;
	struct session_msg msg;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	int fd = -1, nfds = 0, r;
	ssize_t n;

	r = ctx_enter_sessions(ctx);
	if (r < 0)
		return r;
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
	if ((size_t)n != sizeof(msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    nfds != 1 || msg.magic != SESSION_MSG_MAGIC ||
	    msg.version != SESSION_MSG_VERSION) {
		close_received_fds(&mh);
		return -EBADMSG;
	}

	r = luo_session_adopt_fd(ctx, fd, ret);
	if (r < 0)
		close(fd);
	return r;
}

LUO_EXPORT int luo_session_close(luo_session_t *session, unsigned int flags)
{
	luo_ctx_t *ctx;
	bool may_lose;
	int r;

	if (!session)
		return 0;
	if (flags & ~(unsigned int)LUO_SESSION_CLOSE_FORCE)
		return -EINVAL;
	ctx = session->ctx;
	r = luo_ctx_check(ctx);
	if (r == -ECHILD) {
		/* The parent's kernel objects stay alive through the
		 * parent's descriptors; free the child's copy. */
		close(session->fd);
		luo_token_table_clear(&session->tokens);
		free(session);
		luo_ctx_unref(ctx);
		return -ECHILD;
	}

	luo_ctx_lock(ctx);
	if (session->dir == LUO_SESSION_OUTGOING)
		may_lose = session->tokens.count > 0 || session->adopted;
	else
		may_lose = !session->finished;
	if (may_lose && !session->sent && !(flags & LUO_SESSION_CLOSE_FORCE)) {
		luo_dbg(ctx,
			"refusing to close session \"%s\": it would %s; pass "
			"LUO_SESSION_CLOSE_FORCE to do it anyway",
			session->name,
			session->dir == LUO_SESSION_OUTGOING ?
				"unpreserve its files" :
				"finish it and discard what was not retrieved");
		luo_ctx_unlock(ctx);
		return -EBUSY;
	}
	luo_session_free_locked(session);
	luo_ctx_unlock(ctx);
	luo_ctx_unref(ctx);
	return 0;
}

LUO_EXPORT int luo_session_token_lookup(luo_session_t *session, uint64_t token,
					enum luo_token_state *state)
{
	struct luo_token_entry *e;
	int r = session_enter(session);

	if (r < 0)
		return r;
	e = luo_token_table_find(&session->tokens, token);
	if (!state)
		r = -EINVAL;
	else if (!e)
		r = -ENOENT;
	else
		*state = e->state;
	luo_ctx_unlock(session->ctx);
	return r;
}

LUO_EXPORT int luo_session_token_count(luo_session_t *session)
{
	int r = session_enter(session);

	if (r < 0)
		return r;
	r = (int)session->tokens.count;
	luo_ctx_unlock(session->ctx);
	return r;
}

LUO_EXPORT int luo_session_token_foreach(luo_session_t *session,
					 luo_token_fn fn, void *userdata)
{
	int r;

	if (!session || !fn)
		return -EINVAL;
	r = luo_ctx_check(session->ctx);
	if (r < 0)
		return r;
	return luo_token_table_foreach_snapshot(session->ctx, &session->tokens,
						fn, userdata);
}
