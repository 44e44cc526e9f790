/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions and the service manager's file descriptor store: taking the
 * sessions it passed (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, as in
 * sd_listen_fds(3)) and giving it ours (FDSTORE=1 over $NOTIFY_SOCKET, as
 * in sd_notify(3)).  Both protocols are small and stable, so libluo speaks
 * them itself instead of depending on libsystemd.  doc/systemd.md says
 * what systemd does with LUO sessions around a live update.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "session.h"

/* sd_listen_fds(3): the first passed descriptor */
#define LISTEN_FDS_START 3
/* more than any service manager passes; a bound for a corrupt variable */
#define LISTEN_FDS_MAX 65536

/* systemd's rule for FDNAME=: 1..255 printable ASCII bytes, no ':'
 * (LISTEN_FDNAMES separates names with ':'). */
static bool fdname_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, 256);
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < ' ' || name[i] > '~' || name[i] == ':')
			return false;
	return true;
}

/* A decimal environment variable: 0 and its value, or -ENXIO. */
static int env_number(const char *var, unsigned long *ret)
{
	const char *s = getenv(var);
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -ENXIO;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return -ENXIO;
	*ret = v;
	return 0;
}

/*
 * The descriptor passed under @name: its number, -ENXIO (nothing was
 * passed to this process, or the variables are malformed) or -ENOENT.
 */
static int listen_fd_by_name(const char *name)
{
	unsigned long pid, n, i = 0;
	size_t len = strlen(name);
	const char *names, *p;

	if (env_number("LISTEN_PID", &pid) < 0 ||
	    pid != (unsigned long)getpid() ||
	    env_number("LISTEN_FDS", &n) < 0 || n == 0 ||
	    n > LISTEN_FDS_MAX)
		return -ENXIO;
	names = getenv("LISTEN_FDNAMES");
	if (!names)
		return -ENXIO;
	for (p = names;; i++) {
		const char *end = strchrnul(p, ':');

		if (i >= n)
			return -ENXIO; /* more names than descriptors */
		if ((size_t)(end - p) == len && memcmp(p, name, len) == 0)
			return (int)(LISTEN_FDS_START + i);
		if (!*end)
			break;
		p = end + 1;
	}
	return -ENOENT;
}

/* Claim @fd for a new handle: 0, -EBUSY (a handle owns it) or -EBADF (a
 * handle owned and closed it), -ENOMEM. */
static int claim(luo_ctx_t *ctx, int fd)
{
	const uint64_t *state;

	LUOI_LOCK_GUARD(&ctx->lock);
	state = luoi_hmap_find(&ctx->fdstore_fds, (uint64_t)fd);
	if (state)
		return *state == LUOI_FDSTORE_OWNED ? -EBUSY : -EBADF;
	return luoi_hmap_insert(&ctx->fdstore_fds, (uint64_t)fd,
				LUOI_FDSTORE_OWNED);
}

static void unclaim(luo_ctx_t *ctx, int fd)
{
	LUOI_LOCK_GUARD(&ctx->lock);
	luoi_hmap_remove(&ctx->fdstore_fds, (uint64_t)fd, NULL);
}

LUOI_EXPORT int luo_session_from_fdstore(luo_ctx_t *ctx, const char *name,
					 luo_session_t **ret)
{
	char kname[LUO_K_NAME_LEN];
	struct luo_session *s;
	int fd, r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!ret || !fdname_valid(name))
		return -EINVAL;
	if (ctx->abi != LUO_ABI_MAINLINE)
		return -EOPNOTSUPP;
	fd = listen_fd_by_name(name);
	if (fd < 0) {
		luoi_dbg(ctx, "luo_session_from_fdstore", "fd store: no descriptor named \"%s\": %s", name,
			 strerror(-fd));
		return fd;
	}
	r = claim(ctx, fd);
	if (r < 0)
		return r;
	if (fcntl(fd, F_GETFD) < 0) {
		unclaim(ctx, fd);
		return -EBADF;
	}
	r = luoi_session_identify(ctx, fd, kname, "luo_session_from_fdstore");
	if (r < 0) {
		unclaim(ctx, fd);
		if (r == -EINVAL) {
			luoi_err(ctx, "luo_session_from_fdstore",
				 "fd store: \"%s\" (fd %d) is not a live "
				      "update session", name, fd);
			return -EMEDIUMTYPE;
		}
		return r;
	}
	s = luoi_session_new(ctx, fd, kname,
			     luoi_session_probe_direction(ctx->backend, fd));
	if (!s) {
		unclaim(ctx, fd);
		return -ENOMEM;
	}
	s->adopted = true;
	s->fdstore = true;
	/* the service manager holds the session too: closing ours loses
	 * nothing, as after luo_session_send() */
	s->sent = true;
	if (s->dir == LUO_SESSION_INCOMING) {
		r = luoi_session_load_record(s);
		if (r < 0 && r != -EBADMSG && r != -EPROTONOSUPPORT) {
			s->fd = -1; /* the descriptor stays the process's */
			s->fdstore = false;
			luoi_session_free(s);
			unclaim(ctx, fd);
			return r;
		}
		if (r < 0)
			luoi_err(ctx, "luo_session_from_fdstore",
				 "session \"%s\": its record is unusable "
				      "(%s): its tokens are known only once "
				      "retrieved", s->name, strerror(-r));
	}
	luoi_ctx_ref(ctx);
	luoi_dbg(ctx, "luo_session_from_fdstore",
		 "fd store: \"%s\" is %s session \"%s\" (fd %d)", name,
		 s->dir == LUO_SESSION_INCOMING ? "incoming" : "outgoing",
		 s->name, fd);
	*ret = s;
	return 0;
}

/* $NOTIFY_SOCKET as an address: 0, -ENXIO (unset) or -EAFNOSUPPORT. */
static int notify_address(struct sockaddr_un *sa, socklen_t *len)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !*path)
		return -ENXIO;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT; /* vsock:, and anything else */
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@') {
		sa->sun_path[0] = '\0'; /* abstract: no terminating NUL */
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				   1);
	}
	return 0;
}

LUOI_EXPORT int luo_session_fdstore_push(luo_session_t *session,
					 const char *name)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	char text[sizeof("FDSTORE=1\nFDNAME=\n") + 255];
	struct iovec iov = { .iov_base = text };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	_cleanup_close_ int sock = -1;
	struct sockaddr_un sa;
	struct cmsghdr *cm;
	socklen_t sa_len;
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!fdname_valid(name))
		return -EINVAL;
	r = notify_address(&sa, &sa_len);
	if (r < 0)
		return r;
	iov.iov_len = (size_t)snprintf(text, sizeof(text),
				       "FDSTORE=1\nFDNAME=%s\n", name);
	mh.msg_name = &sa;
	mh.msg_namelen = sa_len;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &session->fd, sizeof(int));

	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	/* a datagram: whole or not at all; the manager takes its own
	 * reference to the session when the kernel queues it */
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		luoi_err(session->ctx, "luo_session_fdstore_push",
			 "session \"%s\": cannot hand it to the service "
			 "manager's fd store at %s: %s",
			 session->name, getenv("NOTIFY_SOCKET"), strerror(-r));
		return r;
	}
	{
		LUOI_LOCK_GUARD(&session->lock);
		session->sent = true;
	}
	luoi_dbg(session->ctx, "luo_session_fdstore_push",
		 "session \"%s\": stored as \"%s\" in the "
		 "service manager's fd store", session->name, name);
	return 0;
}
