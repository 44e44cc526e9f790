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
#include <fcntl.h>
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

/* The end of a handle that is in no map any more: its epoll entry, our
 * end, its memory.  No lock: nothing else can reach it (handles found in
 * epfd are only looked at under reap_lock, which luoi_fake_reap() holds
 * until its handles are gone; the other callers free handles whose
 * caller's end is still open, so epfd cannot report them). */
static void handle_free(struct luo_fake *f, struct fhandle *h)
{
	/* EPOLL_CTL_DEL, not just close(): a forked child may hold a copy of
	 * our end, and epoll forgets a descriptor only with its last copy */
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, h->our_end, NULL);
	close(h->our_end);
	free(h);
}

/* With the lock: out of the map, and gone. */
void luoi_fake_handle_destroy(struct luo_fake *f, struct fhandle *h)
{
	luoi_fake_chain_del(&f->handles, luoi_fake_id_key(h->dev, h->ino), h,
			    HANDLE_NEXT);
	handle_free(f, h);
}

/*
 * A new descriptor pair, both O_CLOEXEC: sv[0] goes to the caller, sv[1]
 * stays with the fake.  Made before the handler looks at anything and
 * reported first (after an injected error), like get_unused_fd_flags() in
 * the kernel, so -EMFILE comes first.
 */
static int pair_new(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

static void pair_close(int sv[2])
{
	luoi_close_keep_errno(sv[0]);
	luoi_close_keep_errno(sv[1]);
	sv[0] = sv[1] = -1;
}

/*
 * Without the lock: the pair, and its handle in epfd (nothing in the
 * fake's state).  epfd cannot report the handle before it is published:
 * that takes the last close of sv[0], which is ours until then.
 */
void luoi_fake_hprep_make(struct luo_fake *f, struct fake_prep_handle *p,
			  bool cloexec)
{
	struct epoll_event ev;
	struct fhandle *h;
	struct stat st;

	p->err = pair_new(p->sv);
	if (p->err)
		return;
	if (!cloexec && fcntl(p->sv[0], F_SETFD, 0) < 0) {
		p->err = -errno;
		return;
	}
	if (fstat(p->sv[0], &st) < 0) {
		p->h_err = -errno;
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		p->h_err = -ENOMEM;
		return;
	}
	h->our_end = p->sv[1];
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
	memset(&ev, 0, sizeof(ev));
	ev.events = 0; /* EPOLLHUP is always reported */
	ev.data.ptr = h;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, p->sv[1], &ev) < 0) {
		p->h_err = errno == ENOSPC ? -ENOMEM : -errno;
		free(h);
		return;
	}
	p->h = h;
}

/* With the lock: the prepared handle enters the map. */
int luoi_fake_hprep_publish(struct luo_fake *f, struct fake_prep_handle *p,
			    enum fhandle_kind kind, struct fsession *s,
			    struct fhandle **ret)
{
	struct fhandle *h = p->h;
	int r;

	r = luoi_hmap_reserve(&f->handles, 1);
	if (r < 0)
		return r;
	h->kind = kind;
	h->session = s;
	h->serial = ++f->next_serial;
	/* cannot fail after the reserve */
	luoi_fake_chain_add(&f->handles, luoi_fake_id_key(h->dev, h->ino), h,
			    HANDLE_NEXT);
	p->h = NULL;
	p->sv[1] = -1; /* our end belongs to the handle now */
	*ret = h;
	return 0;
}

/* Without the lock: out of epfd before sv[0] closes (its last close would
 * make epfd report a handle about to be freed). */
void luoi_fake_hprep_fini(struct luo_fake *f, struct fake_prep_handle *p)
{
	if (p->h) {
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, p->sv[1], NULL);
		free(p->h);
		p->h = NULL;
	}
	pair_close(p->sv);
}

/* The kernel's release of the last reference to a handed-out file, as far
 * as the state goes: the handle leaves the map, and is freed by the
 * caller. */
static void handle_release_state(struct luo_fake *f, struct fhandle *h)
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
	luoi_fake_chain_del(&f->handles, luoi_fake_id_key(h->dev, h->ino), h,
			    HANDLE_NEXT);
}

/* With the lock, for a handle whose caller's end is still open. */
void luoi_fake_handle_release(struct luo_fake *f, struct fhandle *h)
{
	handle_release_state(f, h);
	handle_free(f, h);
}

/*
 * The lazy release check: a caller's end is fully closed (every copy, in
 * every process, in flight over SCM_RIGHTS included) exactly when our end
 * reports POLLHUP.  Run at the start of every operation, WITHOUT the lock:
 * epoll_wait() looks first, and only a release takes the lock.
 *
 * reap_lock serialises every epoll_wait() on epfd.  Two at once could
 * miss a level-triggered event: epoll_wait() tells "nothing ready" from a
 * lockless look at the ready list, which another caller's scan empties for
 * a moment.  Holding it from epoll_wait() until the released handles are
 * freed also means that no one else sees their events in between.  So an
 * operation that starts after the last close of a descriptor sees it
 * released; one that saw nothing started before, and is ordered before
 * the close.
 */
void luoi_fake_reap(struct luo_fake *f)
{
	struct epoll_event evs[64];
	struct fhandle *gone[64];
	int n, i, ngone, released;

	LUOI_LOCK_GUARD(&f->reap_lock);
	do {
		do
			n = epoll_wait(f->epfd, evs, 64, 0);
		while (n < 0 && errno == EINTR);
		ngone = 0;
		for (i = 0; i < n; i++)
			if (evs[i].events & EPOLLHUP)
				gone[ngone++] = evs[i].data.ptr;
		if (!ngone)
			return;
		released = 0;
		{
			LUOI_FAKE_LOCK_GUARD(f);

			for (i = 0; i < ngone; i++) {
				/* not yet published (kind 0): only if someone
				 * closed a descriptor number it never got;
				 * its maker ends it */
				if (!gone[i]->kind) {
					gone[i] = NULL;
					continue;
				}
				handle_release_state(f, gone[i]);
				released++;
			}
		}
		/* out of the map: ours alone, no lock */
		for (i = 0; i < ngone; i++)
			if (gone[i])
				handle_free(f, gone[i]);
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
