/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The descriptors the fake hands out (the device, sessions): one end of an
 * AF_UNIX socket pair each, so that they can be dup()ed, passed over UNIX
 * sockets and closed like the kernel's.  The fake keeps the other end in an
 * epoll instance and notices the last close the way the kernel does, at
 * its next operation (luoi_fake_reap()).  A request finds its handle by the
 * inode of the caller's end: fake->handles maps a hash of (st_dev, st_ino)
 * to a chain of handles (next_same_key) whose full identity is compared.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-private.h"

#define HANDLE_NEXT offsetof(struct fhandle, next_same_key)

struct fhandle *luoi_fake_handle_find(const struct luo_fake *f, uint64_t dev,
				      uint64_t ino)
{
	const uint64_t *first =
		luoi_hmap_find(&f->handles, luoi_fake_id_key(dev, ino));
	struct fhandle *h;

	for (h = first ? luoi_fake_u2p(*first) : NULL; h; h = h->next_same_key)
		if (h->dev == dev && h->ino == ino)
			return h;
	return NULL;
}

void luoi_fake_handle_destroy(struct luo_fake *f, struct fhandle *h)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, h->our_end, NULL);
	close(h->our_end);
	luoi_fake_chain_del(&f->handles, luoi_fake_id_key(h->dev, h->ino), h,
			    HANDLE_NEXT);
	free(h);
}

/*
 * A new descriptor pair, both O_CLOEXEC: sv[0] goes to the caller, sv[1]
 * stays with the fake.  Requests make it before anything else, like
 * get_unused_fd_flags() in the kernel, so -EMFILE comes first.
 */
int luoi_fake_pair_new(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

void luoi_fake_pair_close(int sv[2])
{
	luoi_close_keep_errno(sv[0]);
	luoi_close_keep_errno(sv[1]);
	sv[0] = sv[1] = -1;
}

/* Register a pair as a handle.  On failure nothing is registered and the
 * pair is left to the caller. */
int luoi_fake_handle_new(struct luo_fake *f, enum fhandle_kind kind,
			 struct fsession *s, int sv[2], struct fhandle **ret)
{
	_cleanup_free_ struct fhandle *h = NULL;
	struct epoll_event ev;
	struct stat st;
	int r;

	if (fstat(sv[0], &st) < 0)
		return -errno;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = luoi_hmap_reserve(&f->handles, 1);
	if (r < 0)
		return r;
	h->kind = kind;
	h->our_end = sv[1];
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
	h->session = s;
	memset(&ev, 0, sizeof(ev));
	ev.events = 0; /* EPOLLHUP is always reported */
	ev.data.ptr = h;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, sv[1], &ev) < 0)
		return errno == ENOSPC ? -ENOMEM : -errno;
	/* cannot fail after the reserve */
	luoi_fake_chain_add(&f->handles, luoi_fake_id_key(h->dev, h->ino), h,
			    HANDLE_NEXT);
	*ret = TAKE_PTR(h);
	return 0;
}

/* The kernel's release of the last reference to a handed-out file. */
void luoi_fake_handle_release(struct luo_fake *f, struct fhandle *h)
{
	struct fsession *s;

	switch (h->kind) {
	case FH_DEVICE:
		/* luo_release() */
		f->dev_in_use = false;
		break;
	case FH_SESSION:
		/* luo_session_release(): outgoing -> unpreserve every file;
		 * incoming (retrieved) -> finish, which for memfds cannot
		 * fail.  Both leave the session list. */
		s = h->session;
		s->handle = NULL;
		luoi_fake_list_del(s->incoming ? &f->in : &f->out, s);
		luoi_fake_session_free(f, s);
		break;
	case FH_DEAD:
		break;
	}
	luoi_fake_handle_destroy(f, h);
}

/*
 * The lazy release check: a caller's end is fully closed (every copy, in
 * every process, in flight over SCM_RIGHTS included) exactly when our end
 * reports POLLHUP.  Run at the start of every operation.
 */
void luoi_fake_reap(struct luo_fake *f)
{
	struct epoll_event evs[64];
	int n, i;
	bool released;

	do {
		released = false;
		do
			n = epoll_wait(f->epfd, evs, 64, 0);
		while (n < 0 && errno == EINTR);
		for (i = 0; i < n; i++) {
			if (!(evs[i].events & EPOLLHUP))
				continue;
			luoi_fake_handle_release(f, evs[i].data.ptr);
			released = true;
		}
	} while (n == 64 && released);
}

/* Every handle handed out so far dies (kexec). */
void luoi_fake_kill_handles(struct luo_fake *f)
{
	uint64_t key, value;
	size_t i = 0;

	while (luoi_hmap_next(&f->handles, &i, &key, &value)) {
		struct fhandle *h;

		for (h = luoi_fake_u2p(value); h; h = h->next_same_key) {
			if (h->session)
				h->session->handle = NULL;
			h->kind = FH_DEAD;
			h->session = NULL;
		}
	}
	f->dev_in_use = false;
}

/* The fake goes away: close our ends, free the handles. */
void luoi_fake_handles_free(struct luo_fake *f)
{
	uint64_t key, value;
	size_t i = 0;

	while (luoi_hmap_next(&f->handles, &i, &key, &value)) {
		struct fhandle *h = luoi_fake_u2p(value), *next;

		for (; h; h = next) {
			next = h->next_same_key;
			close(h->our_end);
			free(h);
		}
	}
	luoi_hmap_fini(&f->handles);
}
