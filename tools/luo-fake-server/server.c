/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake-kernel server (server.h, doc/fake-server.md).  One thread, one
 * epoll loop over: the listening socket, control connections, the server
 * ends of the handles handed out, and an eventfd for luofs_stop().
 *
 * Every descriptor the fake hands out (device, session) stays here; the
 * client gets one end of a socket pair of ours instead (a handle).  A
 * request on a handle is forwarded to the fake's own backend operation,
 * with the fake's descriptor, the argument bytes rebuilt in our memory
 * (the readable prefix the client sent, followed by an unmapped page, so
 * that the fake faults where the kernel would), and the file to preserve
 * as the descriptor that came with the request.  Descriptors the fake
 * returns (sessions: a new handle; files: the file itself) go back with
 * the reply.
 *
 * The release check: before anything is served, every handle whose client
 * ends are all closed is released (its fake descriptor closed: the fake
 * then unpreserves or finishes the session), in a second epoll instance
 * that watches only hang-ups.  So a client that closed a session and then
 * asks anything (a request, a kexec) finds it released, as with the
 * kernel, where the last close is synchronous.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "fake-wire.h"
#include "luo-abi.h"
#include "macro.h"
#include "server.h"

enum obj_type { OBJ_LISTEN = 1, OBJ_STOP, OBJ_CONTROL, OBJ_HANDLE };

enum handle_kind { HK_DEVICE = 1, HK_SESSION };

struct obj {
	enum obj_type type;
	int fd;
	struct obj *prev, *next; /* control connections */
};

struct handle {
	struct obj o;          /* o.fd: our end of the pair */
	int fake_fd;           /* the fake's descriptor */
	enum handle_kind kind;
	int boot;              /* the fake's boot when it was handed out */
	bool released;
	char name[LUO_K_NAME_LEN];
	struct handle *prev, *next;
	struct handle *next_dead;
};

struct luofs {
	luo_fake_t *fake;
	struct luo_backend *b;
	luofs_save_fn save;
	char *path;
	struct obj listen, stop;
	int epfd;   /* everything, EPOLLIN */
	int hupfd;  /* the handles, hang-ups only */
	bool stopping;
	bool in_reap;
	char prefix[48]; /* LUOI_FW_ADDR_PREFIX "<pid>.<n>:" */
	uint64_t serial;
	struct handle *handles;
	struct handle *dead; /* released, freed after the current batch */
	int nhandles;
	char *arg;      /* LUOI_FW_ARG_MAX bytes and an unmapped page after */
	size_t arg_map;
	char *msg;      /* receive buffer */
	char *copy;     /* the argument as given to the fake */
	struct obj *controls;
};

static atomic_uint instances;

/* ---- handles ------------------------------------------------------------- */

static void handle_release(struct luofs *s, struct handle *h)
{
	if (h->released)
		return;
	h->released = true;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->o.fd, NULL);
	epoll_ctl(s->hupfd, EPOLL_CTL_DEL, h->o.fd, NULL);
	close(h->o.fd);
	h->o.fd = -1;
	/* the fake's last close: it unpreserves or finishes */
	s->b->ops->close(s->b, h->fake_fd);
	h->fake_fd = -1;
	if (h->prev)
		h->prev->next = h->next;
	else
		s->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	s->nhandles--;
	h->next_dead = s->dead;
	s->dead = h;
}

static void free_dead(struct luofs *s)
{
	struct handle *h;

	while ((h = s->dead)) {
		s->dead = h->next_dead;
		free(h);
	}
}

/*
 * A new handle for the fake's descriptor @fake_fd: our end bound to an
 * abstract name of the server, the client's end in *@client.  On failure
 * @fake_fd is closed (the fake releases what it made).
 */
static int handle_new(struct luofs *s, int fake_fd, enum handle_kind kind,
		      const char *name, int *client)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { 0 };
	struct handle *h;
	socklen_t len;
	int sv[2], n, r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		s->b->ops->close(s->b, fake_fd);
		return r;
	}
	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%s%llu",
		     s->prefix, (unsigned long long)++s->serial);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  (size_t)n);
	h = calloc(1, sizeof(*h));
	if (!h)
		r = -ENOMEM;
	else if (bind(sv[1], (struct sockaddr *)&a, len) < 0)
		r = -errno;
	else
		r = 0;
	if (!r) {
		h->o.type = OBJ_HANDLE;
		h->o.fd = sv[1];
		ev.events = EPOLLIN;
		ev.data.ptr = h;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, sv[1], &ev) < 0)
			r = -errno;
	}
	if (!r) {
		ev.events = EPOLLRDHUP;
		if (epoll_ctl(s->hupfd, EPOLL_CTL_ADD, sv[1], &ev) < 0) {
			r = -errno;
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, sv[1], NULL);
		}
	}
	if (r) {
		free(h);
		close(sv[0]);
		close(sv[1]);
		s->b->ops->close(s->b, fake_fd);
		return r == -ENOSPC ? -ENOMEM : r;
	}
	h->fake_fd = fake_fd;
	h->kind = kind;
	h->boot = luo_fake_get_boot(s->fake);
	if (name)
		memcpy(h->name, name, LUO_K_NAME_LEN);
	h->name[LUO_K_NAME_LEN - 1] = '\0';
	h->next = s->handles;
	if (h->next)
		h->next->prev = h;
	s->handles = h;
	s->nhandles++;
	*client = sv[0];
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

static void reply_init(struct luoi_fw_reply *rep, int op, int result)
{
	memset(rep, 0, sizeof(*rep));
	rep->magic = LUOI_FW_MAGIC;
	rep->version = LUOI_FW_VERSION;
	rep->op = (uint16_t)op;
	rep->result = result;
	rep->fd_off = -1;
}

static int fill_status(struct luofs *s, struct luoi_fw_reply *rep)
{
	enum luo_state st = LUO_STATE_NORMAL;
	enum luo_abi abi = LUO_ABI_MAINLINE;
	int r;

	rep->pid = (int32_t)getpid();
	r = luo_fake_get_boot(s->fake);
	if (r < 0)
		return r;
	rep->boot = r;
	luo_fake_get_state(s->fake, &st);
	rep->rfc_state = (int32_t)st;
	rep->sessions_out = luo_fake_session_count(s->fake,
						   LUO_SESSION_OUTGOING);
	rep->sessions_in = luo_fake_session_count(s->fake,
						  LUO_SESSION_INCOMING);
	rep->files = luo_fake_file_count(s->fake);
	rep->handles = s->nhandles;
	/* the fake tells its ABI by answering GET_STATE (RFC) or not */
	(void)abi;
	rep->abi = -1;
	snprintf(rep->name, sizeof(rep->name), "%s", s->prefix);
	return 0;
}

static void drain(struct luofs *s, struct handle *h);

/* Release every handle whose client ends are all closed (their pending
 * requests served first). */
static void reap(struct luofs *s)
{
	struct epoll_event ev[64];
	int n, i;

	if (s->in_reap)
		return;
	s->in_reap = true;
	do {
		n = epoll_wait(s->hupfd, ev, LUOI_ELEMENTSOF(ev), 0);
		for (i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			if (!h->released)
				drain(s, h);
		}
	} while (n == (int)LUOI_ELEMENTSOF(ev));
	s->in_reap = false;
}

/* The offsets of the descriptor a successful @request writes into its
 * argument, or -1. */
static int out_fd_off(unsigned long request)
{
	switch (request) {
	case LUO_K_CREATE_SESSION:
	case LUO_K_RETRIEVE_SESSION:
		return offsetof(struct luo_k_session_req, fd);
	case LUO_K_SESSION_RETRIEVE_FD:
		return offsetof(struct luo_k_file_req, fd);
	case LUO_K_RFC_FD_RESTORE:
		return offsetof(struct luo_k_rfc_fd, fd);
	default:
		return -1;
	}
}

static void serve_ioctl(struct luofs *s, struct handle *h,
			const struct luoi_fw_req *req, const char *data,
			size_t dlen, int file, int tx)
{
	struct luoi_fw_reply rep;
	char *arg;
	size_t len = req->arg_len, lo, hi, i;
	int r, fd_off, pass = -1;

	if (len != dlen || len > LUOI_FW_ARG_MAX) {
		reply_init(&rep, LUOI_FW_IOCTL, -EPROTO);
		luoi_fw_send(tx, &rep, sizeof(rep), NULL, 0, NULL, 0);
		return;
	}
	/* the readable bytes end where our unmapped page begins */
	arg = s->arg + LUOI_FW_ARG_MAX - len;
	memcpy(arg, data, len);
	if (req->fd_off >= 0 && (size_t)req->fd_off + 4 <= len) {
		int32_t v = (req->flags & LUOI_FW_F_FILE) && file >= 0 ? file
								       : -1;

		memcpy(arg + req->fd_off, &v, sizeof(v));
	}
	memcpy(s->copy, arg, len);
	r = s->b->ops->ioctl(s->b, h->fake_fd, (unsigned long)req->request,
			     len ? (void *)arg : (void *)(s->arg +
							  LUOI_FW_ARG_MAX));
	reply_init(&rep, LUOI_FW_IOCTL, r);
	/* what changed */
	lo = len;
	hi = 0;
	for (i = 0; i < len; i++) {
		if (arg[i] != s->copy[i]) {
			if (i < lo)
				lo = i;
			hi = i + 1;
		}
	}
	fd_off = out_fd_off((unsigned long)req->request);
	if (r >= 0 && fd_off >= 0 && (size_t)fd_off + 4 <= len) {
		int32_t v;

		memcpy(&v, arg + fd_off, sizeof(v));
		if (req->request == LUO_K_CREATE_SESSION ||
		    req->request == LUO_K_RETRIEVE_SESSION) {
			const char *name =
				arg + offsetof(struct luo_k_session_req, name);
			char nm[LUO_K_NAME_LEN] = { 0 };

			if (len >= sizeof(struct luo_k_session_req))
				memcpy(nm, name, sizeof(nm));
			r = handle_new(s, v, HK_SESSION, nm, &pass);
			rep.flags = LUOI_FW_F_CLOEXEC;
		} else {
			int fl = fcntl(v, F_GETFD);

			pass = v;
			rep.flags = fl >= 0 && (fl & FD_CLOEXEC) ?
					    LUOI_FW_F_CLOEXEC : 0;
		}
		if (r < 0) {
			rep.result = r;
			pass = -1;
		} else {
			rep.fd_off = fd_off;
			if ((size_t)fd_off < lo)
				lo = (size_t)fd_off;
			if ((size_t)fd_off + 4 > hi)
				hi = (size_t)fd_off + 4;
		}
	}
	if (hi > lo) {
		rep.out_off = (uint32_t)lo;
		rep.out_len = (uint32_t)(hi - lo);
	}
	if (luoi_fw_send(tx, &rep, sizeof(rep), arg + rep.out_off,
			 rep.out_len, &pass, pass >= 0 ? 1 : 0) < 0) {
		/* the client is gone: what it would have got is dropped */
	}
	if (pass >= 0)
		close(pass);
}

static void serve_identify(struct luofs *s, struct handle *h, int tx)
{
	struct luoi_fw_reply rep;

	/* a handle of a previous boot is no session of this kernel: the
	 * in-process fake's answer (fake/dispatch.c), one model */
	if (h->kind != HK_SESSION || h->boot != luo_fake_get_boot(s->fake))
		reply_init(&rep, LUOI_FW_IDENTIFY, -ENOTTY);
	else {
		reply_init(&rep, LUOI_FW_IDENTIFY, 0);
		memcpy(rep.name, h->name, sizeof(rep.name));
	}
	luoi_fw_send(tx, &rep, sizeof(rep), NULL, 0, NULL, 0);
}

/* One message from handle @h: 1 served, 0 none pending, -1 end of file. */
static int handle_one(struct luofs *s, struct handle *h)
{
	struct luoi_fw_req req;
	int fds[2] = { -1, -1 }, nfds, n, i;
	size_t cap = sizeof(req) + LUOI_FW_ARG_MAX;

	n = luoi_fw_recv(h->o.fd, s->msg, cap, fds, &nfds, 2, true);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return n == 0 || n == -ECONNRESET ? -1 : 1;
	if ((size_t)n < sizeof(req) || nfds < 1)
		goto out;
	memcpy(&req, s->msg, sizeof(req));
	if (req.magic != LUOI_FW_MAGIC || req.version != LUOI_FW_VERSION)
		goto out;
	reap(s);
	if (req.op == LUOI_FW_IOCTL)
		serve_ioctl(s, h, &req, s->msg + sizeof(req),
			    (size_t)n - sizeof(req), nfds > 1 ? fds[1] : -1,
			    fds[0]);
	else if (req.op == LUOI_FW_IDENTIFY)
		serve_identify(s, h, fds[0]);
out:
	/* the reply socket last: its end of file tells the client that we
	 * hold nothing of its request any more */
	for (i = nfds - 1; i >= 0; i--)
		close(fds[i]);
	return 1;
}

/* Serve what @h has pending; release it at its end of file. */
static void drain(struct luofs *s, struct handle *h)
{
	int r;

	while (!h->released && (r = handle_one(s, h)) != 0) {
		if (r < 0) {
			handle_release(s, h);
			return;
		}
	}
}

/* ---- control connections ------------------------------------------------- */

static void control_free(struct luofs *s, struct obj *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->controls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void serve_control(struct luofs *s, struct obj *c)
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	char *data = s->msg + sizeof(req);
	int fds[2], nfds, n, i, pass = -1, r;

	n = luoi_fw_recv(c->fd, s->msg, sizeof(req) + 4096, fds, &nfds, 2,
			 true);
	if (n == -EAGAIN)
		return;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (n < (int)sizeof(req)) {
		control_free(s, c);
		return;
	}
	memcpy(&req, s->msg, sizeof(req));
	data[n - (int)sizeof(req)] = '\0';
	reap(s);
	reply_init(&rep, req.op, 0);
	if (req.magic != LUOI_FW_MAGIC || req.version != LUOI_FW_VERSION) {
		rep.result = -EPROTO;
		goto send;
	}
	switch (req.op) {
	case LUOI_FW_HELLO:
	case LUOI_FW_STATUS:
	case LUOI_FW_SYNC:
		rep.result = fill_status(s, &rep);
		break;
	case LUOI_FW_OPEN:
		r = s->b->ops->open(s->b, *data ? data : LUO_DEVICE_PATH,
				    (int)req.flags | O_CLOEXEC);
		if (r >= 0)
			r = handle_new(s, r, HK_DEVICE, NULL, &pass);
		rep.result = r < 0 ? r : 0;
		rep.flags = req.flags & O_CLOEXEC ? LUOI_FW_F_CLOEXEC : 0;
		break;
	case LUOI_FW_KEXEC:
		rep.result = luo_fake_kexec(s->fake);
		if (!rep.result)
			fill_status(s, &rep);
		break;
	case LUOI_FW_INJECT:
		rep.result = luo_fake_inject_error_nth(s->fake,
						       (enum luo_fake_op)req.a,
						       req.b,
						       (unsigned int)req.c);
		break;
	case LUOI_FW_SAVE:
		rep.result = s->save ? s->save(s->fake, data) : -EOPNOTSUPP;
		break;
	case LUOI_FW_STOP:
		s->stopping = true;
		break;
	default:
		rep.result = -EOPNOTSUPP;
	}
send:
	luoi_fw_send(c->fd, &rep, sizeof(rep), NULL, 0, &pass,
		     pass >= 0 ? 1 : 0);
	if (pass >= 0)
		close(pass);
	/* one command per connection; our end of file tells the client that
	 * we hold nothing of its command any more */
	control_free(s, c);
}

static void accept_one(struct luofs *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct obj *c;
	int fd = accept4(s->listen.fd, NULL, NULL,
			 SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->type = OBJ_CONTROL;
	c->fd = fd;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->controls;
	if (c->next)
		c->next->prev = c;
	s->controls = c;
}

/* ---- the server ---------------------------------------------------------- */

int luofs_new(luo_fake_t *fake, const char *path, luofs_save_fn save,
	      struct luofs **ret)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct luofs *s;
	long ps = sysconf(_SC_PAGESIZE);
	socklen_t alen;
	int r;

	if (!fake || !path || !ret)
		return -EINVAL;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listen.fd = s->stop.fd = s->epfd = s->hupfd = -1;
	s->fake = luo_fake_ref(fake);
	/* a luo_fake_t starts with its backend (common/backend.h) */
	s->b = (struct luo_backend *)(void *)fake;
	s->save = save;
	s->path = strdup(path);
	snprintf(s->prefix, sizeof(s->prefix), "%s%d.%u:",
		 LUOI_FW_ADDR_PREFIX, (int)getpid(),
		 atomic_fetch_add(&instances, 1));
	/* the argument area, an unmapped page, then a copy area */
	s->arg_map = LUOI_FW_ARG_MAX + (size_t)(ps > 0 ? ps : 4096);
	s->arg = mmap(NULL, s->arg_map, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->msg = malloc(sizeof(struct luoi_fw_req) + LUOI_FW_ARG_MAX + 1);
	s->copy = malloc(LUOI_FW_ARG_MAX);
	if (s->arg == MAP_FAILED) {
		s->arg = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (!s->path || !s->msg || !s->copy) {
		r = -ENOMEM;
		goto fail;
	}
	if (mprotect(s->arg + LUOI_FW_ARG_MAX, s->arg_map - LUOI_FW_ARG_MAX,
		     PROT_NONE) < 0) {
		r = -errno;
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->hupfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->listen.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
					       SOCK_NONBLOCK, 0);
	if (s->epfd < 0 || s->hupfd < 0 || s->stop.fd < 0 ||
	    s->listen.fd < 0) {
		r = -errno;
		goto fail;
	}
	alen = luoi_fw_addr(&a, path);
	if (path[0] != '@')
		unlink(path);
	if (bind(s->listen.fd, (struct sockaddr *)&a, alen) < 0 ||
	    listen(s->listen.fd, 128) < 0) {
		r = -errno;
		goto fail;
	}
	s->listen.type = OBJ_LISTEN;
	s->stop.type = OBJ_STOP;
	ev.data.ptr = &s->listen;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen.fd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	ev.data.ptr = &s->stop;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop.fd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	luofs_free(s);
	return r;
}

int luofs_run(struct luofs *s)
{
	struct epoll_event ev[64];
	int n, i;

	while (!s->stopping) {
		n = epoll_wait(s->epfd, ev, LUOI_ELEMENTSOF(ev), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			struct obj *o = ev[i].data.ptr;

			switch (o->type) {
			case OBJ_LISTEN:
				accept_one(s);
				break;
			case OBJ_STOP:
				s->stopping = true;
				break;
			case OBJ_CONTROL:
				serve_control(s, o);
				break;
			case OBJ_HANDLE: {
				struct handle *h = (struct handle *)o;

				if (!h->released)
					drain(s, h);
				break;
			}
			}
		}
		free_dead(s);
	}
	return 0;
}

void luofs_stop(struct luofs *s)
{
	uint64_t one = 1;

	if (s && write(s->stop.fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a stop is pending anyway */
	}
}

void luofs_free(struct luofs *s)
{
	if (!s)
		return;
	while (s->handles)
		handle_release(s, s->handles);
	free_dead(s);
	while (s->controls)
		control_free(s, s->controls);
	if (s->listen.fd >= 0) {
		close(s->listen.fd);
		if (s->path && s->path[0] != '@')
			unlink(s->path);
	}
	if (s->stop.fd >= 0)
		close(s->stop.fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->hupfd >= 0)
		close(s->hupfd);
	if (s->arg)
		munmap(s->arg, s->arg_map);
	free(s->msg);
	free(s->copy);
	free(s->path);
	luo_fake_unref(s->fake);
	free(s);
}
