/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The client side of the fake-kernel server's protocol (fake-wire.h,
 * doc/fake-server.md) and the socket helpers the server shares.
 *
 * A request reads the caller's argument the way the kernel would, without
 * crashing on a bad pointer: process_vm_readv() on our own pid, page by
 * page, so that the server gets the readable prefix and can make the fake
 * see a fault exactly where the kernel would.  The reply's bytes are
 * written back with process_vm_writev() (-EFAULT if that fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake-wire.h"
#include "luo-abi.h"
#include "macro.h"

int luoi_fw_send(int sock, const void *hdr, size_t hlen, const void *data,
		 size_t dlen, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = hlen },
		{ .iov_base = (void *)data, .iov_len = dlen },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = dlen ? 2 : 1 };
	ssize_t n;

	if (nfds > 4)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == hlen + dlen ? 0 : -EMSGSIZE;
}

int luoi_fw_recv(int sock, void *buf, size_t cap, int *fds, int *nfds,
		 int maxfds, bool dontwait)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int got = 0, i;

	*nfds = 0;
	do
		n = recvmsg(sock, &msg,
			    MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < (int)k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + sizeof(int) * (size_t)i,
			       sizeof(fd));
			if (got < maxfds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		for (i = 0; i < got; i++)
			close(fds[i]);
		return msg.msg_flags & MSG_CTRUNC ? -EMFILE : -EMSGSIZE;
	}
	*nfds = got;
	return (int)n;
}

/*
 * The server closes its end (a control connection, its copy of a reply
 * socket) after everything else a request made it do: waiting for that end
 * of file means that no descriptor of the request is left in the server
 * when the call returns, which matters to a server in this very process
 * (the tests count their descriptors).
 */
static void wait_eof(int sock)
{
	char c;

	while (recv(sock, &c, 1, 0) < 0 && errno == EINTR)
		;
}

socklen_t luoi_fw_addr(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, n);
	if (path[0] == '@') {
		a->sun_path[0] = '\0'; /* abstract: no file to clean up */
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)sizeof(*a);
}

int luoi_fw_connect(const char *path)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	len = luoi_fw_addr(&a, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int luoi_fw_command(const char *path, const struct luoi_fw_req *req,
		    const void *data, size_t dlen, struct luoi_fw_reply *rep,
		    int *fd_out)
{
	_cleanup_close_ int sock = luoi_fw_connect(path);
	int fds[1], nfds, r;

	if (fd_out)
		*fd_out = -1;
	if (sock < 0)
		return sock;
	r = luoi_fw_send(sock, req, sizeof(*req), data, dlen, NULL, 0);
	if (r < 0)
		return r;
	r = luoi_fw_recv(sock, rep, sizeof(*rep), fds, &nfds, 1, false);
	if (r < 0)
		return r;
	if ((size_t)r < sizeof(*rep) || rep->magic != LUOI_FW_MAGIC) {
		if (nfds)
			close(fds[0]);
		return r == 0 ? -ECONNRESET : -EPROTO;
	}
	if (nfds) {
		if (fd_out)
			*fd_out = fds[0];
		else
			close(fds[0]);
	}
	wait_eof(sock);
	return 0;
}

int luoi_fw_is_handle(int fd)
{
	static const char prefix[] = LUOI_FW_ADDR_PREFIX;
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	size_t off = offsetof(struct sockaddr_un, sun_path);

	if (fd < 0)
		return -EBADF;
	if (getpeername(fd, (struct sockaddr *)&a, &len) < 0) {
		/* an O_PATH descriptor is open, and refused with EBADF */
		if (errno == EBADF && fcntl(fd, F_GETFD) < 0)
			return -EBADF;
		return 0;
	}
	if (a.sun_family != AF_UNIX || len < off + 1 + sizeof(prefix) - 1 ||
	    a.sun_path[0] != '\0')
		return 0;
	return memcmp(a.sun_path + 1, prefix, sizeof(prefix) - 1) == 0;
}

/* ---- user memory -------------------------------------------------------- */

static size_t page_size(void)
{
	static size_t ps;

	if (!ps) {
		long p = sysconf(_SC_PAGESIZE);

		ps = p > 0 ? (size_t)p : 4096;
	}
	return ps;
}

/* How many bytes from @src can be read (the rest faults): copied to @dst. */
static size_t read_prefix(void *dst, const void *src, size_t len)
{
	pid_t pid = getpid();
	size_t done = 0;

	while (done < len) {
		uintptr_t a = (uintptr_t)src + done;
		size_t chunk = page_size() - a % page_size();
		struct iovec l, r;
		ssize_t n;

		if (chunk > len - done)
			chunk = len - done;
		l = (struct iovec){ (char *)dst + done, chunk };
		r = (struct iovec){ (void *)a, chunk };
		n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n < 0 && errno != EFAULT) {
			/* refused (seccomp): plain access, the first page is
			 * never mapped */
			if (a < page_size())
				break;
			memcpy((char *)dst + done, (void *)a, chunk);
			n = (ssize_t)chunk;
		}
		if (n <= 0)
			break;
		done += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	return done;
}

static int write_user(void *dst, const void *src, size_t len)
{
	struct iovec l = { (void *)src, len }, r = { dst, len };
	ssize_t n;

	if (!len)
		return 0;
	n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	if (n < 0 && errno != EFAULT) {
		if ((uintptr_t)dst < page_size())
			return -EFAULT;
		memcpy(dst, src, len);
		return 0;
	}
	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* ---- requests ----------------------------------------------------------- */

/* What the fake may read of the argument of @request: for a number of the
 * mainline tables, the u32 size it starts with (at least 4 bytes); for
 * anything else, the size encoded in the number. */
static size_t arg_want(unsigned long request, const void *arg)
{
	unsigned int nr = _IOC_NR(request);
	size_t want = _IOC_SIZE(request);
	uint32_t usize;

	if (_IOC_TYPE(request) != LUO_IOCTL_TYPE)
		return want;
	if (nr < LUO_K_CMD_DEVICE_COUNT ||
	    (nr >= LUO_K_CMD_SESSION_BASE &&
	     nr < LUO_K_CMD_SESSION_BASE + LUO_K_CMD_SESSION_COUNT)) {
		if (read_prefix(&usize, arg, sizeof(usize)) != sizeof(usize))
			usize = sizeof(usize);
		if (usize < sizeof(usize))
			usize = sizeof(usize);
		if (usize > want)
			want = usize;
	}
	return want > LUOI_FW_ARG_MAX ? LUOI_FW_ARG_MAX : want;
}

/* One request on handle @fd (its reply socket made here): 0 with the
 * reply in @rep/@out and a passed descriptor in *@pfd, or -errno. */
static int transact(int fd, const struct luoi_fw_req *req, const void *data,
		    size_t dlen, int file, struct luoi_fw_reply *rep,
		    void *out, size_t outcap, int *pfd)
{
	_cleanup_free_ char *buf = malloc(sizeof(*rep) + outcap);
	_cleanup_close_ int rx = -1;
	struct luoi_fw_req q = *req;
	int sv[2], fds[2], nfds, r;

	*pfd = -1;
	if (!buf)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rx = sv[0];
	fds[0] = sv[1];
	fds[1] = file;
	if (file >= 0)
		q.flags |= LUOI_FW_F_FILE;
	r = luoi_fw_send(fd, &q, sizeof(q), data, dlen, fds, file >= 0 ? 2 : 1);
	if (r == -EBADF && file >= 0) {
		/* not a descriptor of ours: the server uses a bad one, so
		 * the checks before fget() still come first */
		q.flags &= ~LUOI_FW_F_FILE;
		r = luoi_fw_send(fd, &q, sizeof(q), data, dlen, fds, 1);
	}
	close(sv[1]);
	if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
		return -ENODEV; /* the server is gone: a dead descriptor */
	if (r < 0)
		return r;
	r = luoi_fw_recv(rx, buf, sizeof(*rep) + outcap, fds, &nfds, 1, false);
	if (r < 0)
		return r == -ECONNRESET ? -ENODEV : r;
	if (r == 0) {
		if (nfds)
			close(fds[0]);
		return -ENODEV;
	}
	wait_eof(rx);
	memcpy(rep, buf, (size_t)r < sizeof(*rep) ? (size_t)r : sizeof(*rep));
	if ((size_t)r < sizeof(*rep) || rep->magic != LUOI_FW_MAGIC ||
	    rep->out_len > outcap ||
	    (size_t)r != sizeof(*rep) + rep->out_len) {
		if (nfds)
			close(fds[0]);
		return -EPROTO;
	}
	if (rep->out_len)
		memcpy(out, buf + sizeof(*rep), rep->out_len);
	if (nfds)
		*pfd = fds[0];
	return 0;
}

int luoi_fw_ioctl(int fd, unsigned long request, void *arg)
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	_cleanup_free_ char *a = NULL;
	_cleanup_close_ int pfd = -1;
	size_t want, n;
	int file = -1, r;

	r = luoi_fw_is_handle(fd);
	if (r <= 0)
		return r < 0 ? r : -ENOTTY;
	want = arg_want(request, arg);
	a = malloc(want ? want : 1);
	if (!a)
		return -ENOMEM;
	n = read_prefix(a, arg, want);
	luoi_fw_req_init(&req, LUOI_FW_IOCTL);
	req.request = request;
	req.arg_len = (uint32_t)n;
	if (request == LUO_K_SESSION_PRESERVE_FD)
		req.fd_off = offsetof(struct luo_k_file_req, fd);
	else if (request == LUO_K_RFC_FD_PRESERVE)
		req.fd_off = offsetof(struct luo_k_rfc_fd, fd);
	if (req.fd_off >= 0 && n >= (size_t)req.fd_off + sizeof(int32_t)) {
		int32_t v;

		memcpy(&v, a + req.fd_off, sizeof(v));
		file = v;
	}
	r = transact(fd, &req, a, n, file, &rep, a, want, &pfd);
	if (r < 0)
		return r;
	if (rep.result < 0)
		return rep.result;
	if (pfd >= 0) {
		int32_t v = pfd;

		if (rep.fd_off < 0 ||
		    (uint32_t)rep.fd_off < rep.out_off ||
		    rep.fd_off + sizeof(v) > rep.out_off + rep.out_len)
			return -EPROTO;
		memcpy(a + (rep.fd_off - rep.out_off), &v, sizeof(v));
		if (!(rep.flags & LUOI_FW_F_CLOEXEC) &&
		    fcntl(pfd, F_SETFD, 0) < 0)
			return -errno;
	}
	if (rep.out_off + (size_t)rep.out_len > want)
		return -EPROTO;
	/* a request without an argument (RFC PREPARE...) has nothing out */
	r = rep.out_len ? write_user((char *)arg + rep.out_off, a, rep.out_len)
			: 0;
	if (r < 0)
		return r; /* the passed descriptor is closed: released */
	pfd = -1;
	return rep.result;
}

int luoi_fw_identify(int fd, char name[64])
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	int pfd, r;

	r = luoi_fw_is_handle(fd);
	if (r <= 0)
		return r < 0 ? r : -ENOTTY;
	luoi_fw_req_init(&req, LUOI_FW_IDENTIFY);
	r = transact(fd, &req, NULL, 0, -1, &rep, NULL, 0, &pfd);
	if (pfd >= 0)
		close(pfd);
	if (r < 0)
		return r;
	if (rep.result < 0)
		return rep.result;
	memcpy(name, rep.name, 64);
	name[63] = '\0';
	return 0;
}

int luoi_fw_open(const char *path, const char *device, int flags)
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	int fd, r;

	luoi_fw_req_init(&req, LUOI_FW_OPEN);
	req.flags = (uint32_t)flags;
	r = luoi_fw_command(path, &req, device, device ? strlen(device) : 0,
			    &rep, &fd);
	if (r < 0)
		return r == -ECONNREFUSED || r == -ENOENT ? -ENODEV : r;
	if (rep.result < 0) {
		if (fd >= 0)
			close(fd);
		return rep.result;
	}
	if (fd < 0)
		return -EPROTO;
	if (!(flags & O_CLOEXEC) && fcntl(fd, F_SETFD, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int luoi_fw_close(const char *path, int fd)
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	int r = 0;

	if (close(fd) < 0 && errno != EINTR)
		r = -errno;
	if (path) {
		luoi_fw_req_init(&req, LUOI_FW_SYNC);
		(void)luoi_fw_command(path, &req, NULL, 0, &rep, NULL);
	}
	return r;
}
