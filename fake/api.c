/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public luo_fake_* functions (include/libluo-fake.h): every one checks
 * its arguments, then luoi_fake_enter() (-EINVAL, -ECHILD), then runs the
 * lazy release check and takes the lock before looking at any state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fake-private.h"

/* Descriptor table entries made sure of when a fake is made. */
#define FAKE_FD_TABLE 4096

/*
 * The fake holds a descriptor for every file preserved or carried (see
 * "Descriptors held" in README.md), the kernel none.  A process's
 * descriptor table grows by doubling, and growing it while other threads
 * share it waits for an RCU grace period (expand_fdtable():
 * synchronize_rcu(), 5 to 20 ms here), during which every thread that
 * opens a descriptor waits too (bench-parallel's 8 and 16 threads, 20
 * preserves each, stalled all at once at 256 and at 512 descriptors).
 * So the table is grown here, once, to FAKE_FD_TABLE entries (or the soft
 * limit): a fake is usually made before the threads that use it, when the
 * growth costs no grace period.  F_DUPFD takes the lowest free descriptor
 * from there, so nothing of the caller's is touched; best effort.
 */
static void grow_fd_table(int fd)
{
	int saved = errno, top = FAKE_FD_TABLE, d;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)top)
		top = (int)rl.rlim_cur;
	if (top > 1) {
		d = fcntl(fd, F_DUPFD_CLOEXEC, top - 1);
		if (d >= 0)
			close(d);
	}
	errno = saved;
}

LUOI_EXPORT int luo_fake_new(enum luo_abi abi, luo_fake_t **ret)
{
	_cleanup_free_ struct luo_fake *f = NULL;
	long page;
	int r;

	if (!ret)
		return -EINVAL;
	if (abi != LUO_ABI_AUTO && abi != LUO_ABI_MAINLINE &&
	    abi != LUO_ABI_RFC)
		return -EINVAL;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->backend.ops = &luoi_fake_backend_ops;
	atomic_init(&f->refs, 1);
	f->abi = abi == LUO_ABI_RFC ? LUO_ABI_RFC : LUO_ABI_MAINLINE;
	f->rfc_state = LUO_K_RFC_STATE_NORMAL;
	page = sysconf(_SC_PAGESIZE);
	if (page <= (long)FAKE_SESSION_SER_SIZE + (long)FAKE_KHO_BLOCK_HEADER)
		page = 4096;
	f->page_size = page;
	f->max_files = (uint64_t)FAKE_KHO_MAX_BLOCKS *
		       (((uint64_t)page - FAKE_KHO_BLOCK_HEADER) /
			FAKE_FILE_SER_SIZE);
	f->max_sessions = (uint64_t)FAKE_KHO_MAX_BLOCKS *
			  (((uint64_t)page - FAKE_KHO_BLOCK_HEADER) /
			   FAKE_SESSION_SER_SIZE);
	luoi_fake_list_init(&f->out);
	luoi_fake_list_init(&f->in);
	luoi_hmap_init(&f->handles);
	luoi_hmap_init(&f->busy);
	luoi_hmap_init(&f->tmpfs_devs);

	if (f->abi == LUO_ABI_RFC) {
		f->rfc_out = luoi_fake_session_new(false, NULL);
		f->rfc_in = luoi_fake_session_new(true, NULL);
		if (!f->rfc_out || !f->rfc_in) {
			free(f->rfc_out);
			free(f->rfc_in);
			return -ENOMEM;
		}
	}
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0) {
		r = errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
		free(f->rfc_out);
		free(f->rfc_in);
		return r;
	}
	r = luoi_mutex_init(&f->lock);
	if (!r) {
		r = luoi_mutex_init(&f->reap_lock);
		if (r)
			pthread_mutex_destroy(&f->lock);
	}
	if (!r) {
		r = luoi_mutex_init(&f->devs_lock);
		if (r) {
			pthread_mutex_destroy(&f->reap_lock);
			pthread_mutex_destroy(&f->lock);
		}
	}
	if (r) {
		close(f->epfd);
		free(f->rfc_out);
		free(f->rfc_in);
		return r;
	}
	grow_fd_table(f->epfd);
	/* the owner: no system call per request to tell a forked child */
	luoi_fork_guard_init(&f->fork_guard);
	f->pid = getpid();
	*ret = TAKE_PTR(f);
	return 0;
}

LUOI_EXPORT luo_fake_t *luo_fake_ref(luo_fake_t *fake)
{
	if (fake)
		atomic_fetch_add_explicit(&fake->refs, 1, memory_order_relaxed);
	return fake;
}

static void fake_destroy(struct luo_fake *f)
{
	luoi_fake_list_free(f, &f->out);
	luoi_fake_list_free(f, &f->in);
	luoi_fake_session_free(f, f->rfc_out);
	luoi_fake_session_free(f, f->rfc_in);
	luoi_fake_handles_free(f);
	luoi_hmap_fini(&f->busy);
	luoi_hmap_fini(&f->tmpfs_devs);
	close(f->epfd);
	/* what the frees above let go of (no lock to drop here) */
	while (f->ndoomed)
		close(f->doomed[--f->ndoomed]);
	free(f->doomed);
	pthread_mutex_destroy(&f->devs_lock);
	pthread_mutex_destroy(&f->reap_lock);
	pthread_mutex_destroy(&f->lock);
	luoi_fork_guard_fini(&f->fork_guard);
	free(f);
}

LUOI_EXPORT luo_fake_t *luo_fake_unref(luo_fake_t *fake)
{
	if (!fake)
		return NULL;
	if (atomic_fetch_sub_explicit(&fake->refs, 1, memory_order_acq_rel) == 1)
		fake_destroy(fake);
	return NULL;
}

LUOI_EXPORT int luo_fake_kexec(luo_fake_t *fake)
{
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;
	luoi_fake_latency_wait(fake, LUO_FAKE_OP_KEXEC, false);

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	return luoi_fake_kexec_locked(fake);
}

LUOI_EXPORT int luo_fake_inject_error_nth(luo_fake_t *fake,
					  enum luo_fake_op op, int error,
					  unsigned int nth)
{
	int r;

	if ((int)op < LUO_FAKE_OP_OPEN || (int)op > LUO_FAKE_OP_KEXEC)
		return -EINVAL;
	if (error < 0 || error > 4095)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	/* an error of 0 or an nth of 0 clears */
	fake->inject[op].error = nth ? error : 0;
	fake->inject[op].nth = error ? nth : 0;
	return 0;
}

LUOI_EXPORT int luo_fake_inject_error(luo_fake_t *fake, enum luo_fake_op op,
				     int error)
{
	return luo_fake_inject_error_nth(fake, op, error, 1);
}

LUOI_EXPORT int luo_fake_op_count(luo_fake_t *fake, enum luo_fake_op op)
{
	unsigned int n = 0;
	int r;

	if ((int)op < LUO_FAKE_OP_ALL || (int)op > LUO_FAKE_OP_KEXEC)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	if (op != LUO_FAKE_OP_ALL)
		return (int)fake->op_count[op];
	/* every count is at most INT_MAX: the sum saturates there too */
	for (int i = LUO_FAKE_OP_OPEN; i <= LUO_FAKE_OP_KEXEC; i++)
		n = fake->op_count[i] > INT_MAX - n ? INT_MAX :
						      n + fake->op_count[i];
	return (int)n;
}

LUOI_EXPORT int luo_fake_set_limits(luo_fake_t *fake, unsigned int max_sessions,
				   unsigned int max_files)
{
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	/* 0 keeps the kernel's value, computed from the page size */
	if (max_sessions)
		fake->max_sessions = max_sessions;
	if (max_files)
		fake->max_files = max_files;
	return 0;
}

LUOI_EXPORT int luo_fake_set_latency(luo_fake_t *fake, enum luo_fake_op op,
				    unsigned int usec, unsigned int flags)
{
	int r;

	if ((int)op < LUO_FAKE_OP_ALL || (int)op > LUO_FAKE_OP_KEXEC)
		return -EINVAL;
	if (flags & ~(unsigned int)LUO_FAKE_LATENCY_SPIN)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;
	/* read without the lock by every request: one atomic word */
	atomic_store_explicit(&fake->latency[op],
			      usec ? (uint64_t)usec | (uint64_t)flags << 32 : 0,
			      memory_order_relaxed);
	return 0;
}

LUOI_EXPORT int luo_fake_get_boot(luo_fake_t *fake)
{
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	return fake->boot;
}

struct snap_entry {
	char name[LUO_K_NAME_LEN];
	bool has_name;
	enum luo_session_direction dir;
	uint64_t token;
};

static size_t snap_session(struct snap_entry *e, const struct fsession *s,
			   bool named)
{
	const struct ffile *file;
	size_t n = 0;

	for (file = s->head; file; file = file->next, n++) {
		e[n].has_name = named;
		if (named)
			memcpy(e[n].name, s->name, sizeof(e[n].name));
		e[n].dir = s->incoming ? LUO_SESSION_INCOMING
				       : LUO_SESSION_OUTGOING;
		e[n].token = file->token;
	}
	return n;
}

static uint64_t count_files(const struct luo_fake *f)
{
	const struct fsession *s;
	uint64_t n = 0;

	if (f->abi == LUO_ABI_RFC)
		return f->rfc_out->nfiles + f->rfc_in->nfiles;
	for (s = f->out.head; s; s = s->next)
		n += s->nfiles;
	for (s = f->in.head; s; s = s->next)
		n += s->nfiles;
	return n;
}

/* Every file held, copied with the lock held: the callbacks then run on
 * the copy, without it (they may call into the fake or libluo). */
static int snapshot(luo_fake_t *fake, struct snap_entry **ret, size_t *ret_n)
{
	_cleanup_free_ struct snap_entry *snap = NULL;
	const struct fsession *s;
	size_t total, n = 0;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	total = (size_t)count_files(fake);
	if (total == 0) {
		/* nothing to copy (and no "NULL + 0" below: undefined) */
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	snap = calloc(total, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	if (fake->abi == LUO_ABI_RFC) {
		n += snap_session(snap + n, fake->rfc_out, false);
		n += snap_session(snap + n, fake->rfc_in, false);
	} else {
		for (s = fake->out.head; s; s = s->next)
			n += snap_session(snap + n, s, true);
		for (s = fake->in.head; s; s = s->next)
			n += snap_session(snap + n, s, true);
	}
	*ret = TAKE_PTR(snap);
	*ret_n = n;
	return 0;
}

LUOI_EXPORT int luo_fake_foreach_file(luo_fake_t *fake, luo_fake_file_fn fn,
				     void *userdata)
{
	_cleanup_free_ struct snap_entry *snap = NULL;
	size_t n, i;
	int r;

	if (!fn)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;
	r = snapshot(fake, &snap, &n);
	if (r)
		return r;

	/* the lock is not held here */
	for (i = 0; i < n && !r; i++)
		r = fn(snap[i].has_name ? snap[i].name : NULL, snap[i].dir,
		       snap[i].token, userdata);
	return r;
}

LUOI_EXPORT int luo_fake_session_count(luo_fake_t *fake,
				      enum luo_session_direction dir)
{
	size_t n;
	int r;

	if (dir != LUO_SESSION_OUTGOING && dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	if (fake->abi == LUO_ABI_RFC)
		return 0;
	n = dir == LUO_SESSION_OUTGOING ? fake->out.count : fake->in.count;
	return n > INT_MAX ? INT_MAX : (int)n;
}

LUOI_EXPORT int luo_fake_file_count(luo_fake_t *fake)
{
	uint64_t n;
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	n = count_files(fake);
	return n > INT_MAX ? INT_MAX : (int)n;
}

LUOI_EXPORT int luo_fake_get_state(luo_fake_t *fake, enum luo_state *state)
{
	int r;

	if (!state)
		return -EINVAL;
	r = luoi_fake_enter(fake);
	if (r)
		return r;

	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	*state = fake->abi == LUO_ABI_RFC ? (enum luo_state)fake->rfc_state
					  : LUO_STATE_NORMAL;
	return 0;
}
