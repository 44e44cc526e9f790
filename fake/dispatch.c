/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The backend libluo calls (common/backend.h): open of the device, close,
 * and every request, found by the inode of the descriptor it is made on.
 *
 * A request is dispatched under the fake's lock (the generic checks and
 * the copy of its argument), then handled.  An injected latency
 * (luo_fake_set_latency()) is spent in between WITHOUT the lock, so that
 * requests on different sessions proceed in parallel, as in the kernel
 * where each session has its own mutex: the lock is dropped, the time is
 * spent, the lock is taken again and the descriptor looked up again, since
 * the world may have changed meanwhile (a kexec: -ENODEV; the caller's
 * last copy of the descriptor closed by another thread: -EBADF, as if the
 * close had come first).
 *
 * System calls of a request, besides the handler's own: fstat() (which
 * descriptor; outside the lock), epoll_wait() (the lazy release check),
 * one process_vm_readv() (size and argument together) and, for replies,
 * one process_vm_writev().  Fork detection costs no system call
 * (common/fork-guard.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake-private.h"

int luoi_fake_enter(const struct luo_fake *f)
{
	if (!f)
		return -EINVAL;
	/*
	 * A fake belongs to the process that created it: a forked child has
	 * a stale copy of its state and shares its epoll instance with the
	 * parent, so every operation there fails -ECHILD (libluo's contexts
	 * do the same).
	 */
	if (luoi_fork_guard_forked(&f->fork_guard))
		return -ECHILD;
	return 0;
}

/* ---- latency ------------------------------------------------------------- */

static uint64_t latency_slot(const struct luo_fake *f, unsigned int i)
{
	return atomic_load_explicit(&f->latency[i], memory_order_relaxed);
}

bool luoi_fake_latency_set(const struct luo_fake *f, enum luo_fake_op op,
			   bool any)
{
	return (any && latency_slot(f, 0)) || (op && latency_slot(f, op));
}

static void timespec_add_us(struct timespec *t, uint64_t us)
{
	t->tv_sec += (time_t)(us / 1000000);
	t->tv_nsec += (long)(us % 1000000) * 1000;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void sleep_us(uint64_t us)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	timespec_add_us(&deadline, us);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline,
			       NULL) == EINTR)
		;
}

/* A CPU-bound kernel path: clock_gettime() is a vDSO call, no syscall. */
static void spin_us(uint64_t us)
{
	struct timespec deadline, now;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	timespec_add_us(&deadline, us);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (timespec_before(&now, &deadline));
}

void luoi_fake_latency_wait(struct luo_fake *f, enum luo_fake_op op, bool any)
{
	uint64_t slots[2] = { any ? latency_slot(f, 0) : 0,
			      op ? latency_slot(f, op) : 0 };
	uint64_t sleep = 0, spin = 0;
	unsigned int i;

	/* the delays add up: the sleeping ones first, then the spinning */
	for (i = 0; i < LUOI_ELEMENTSOF(slots); i++) {
		uint32_t usec = (uint32_t)slots[i];
		uint32_t flags = (uint32_t)(slots[i] >> 32);

		if (flags & LUO_FAKE_LATENCY_SPIN)
			spin += usec;
		else
			sleep += usec;
	}
	if (sleep)
		sleep_us(sleep);
	if (spin)
		spin_us(spin);
}

/* ---- backend operations -------------------------------------------------- */

static int fake_open(struct luo_backend *b, const char *path, int flags)
{
	struct luo_fake *f = (struct luo_fake *)b;
	_cleanup_(luoi_fake_pair_closep) int sv[2] = { -1, -1 };
	struct fhandle *h;
	int r;

	(void)path;
	r = luoi_fake_enter(f);
	if (r)
		return r;
	luoi_fake_latency_wait(f, LUO_FAKE_OP_OPEN, true);

	LUOI_LOCK_GUARD(&f->lock);
	luoi_fake_reap(f);
	/* luo_open(): single open, then deserialization */
	if (f->dev_in_use)
		return -EBUSY;
	r = luoi_fake_take_injected(f, LUO_FAKE_OP_OPEN);
	if (r)
		return r;
	r = luoi_fake_pair_new(sv);
	if (r)
		return r;
	if (!(flags & O_CLOEXEC) && fcntl(sv[0], F_SETFD, 0) < 0)
		return -errno;
	r = luoi_fake_handle_new(f, FH_DEVICE, NULL, sv, &h);
	if (r)
		return r;
	sv[1] = -1; /* our end belongs to the handle now */
	f->dev_in_use = true;
	return TAKE_FD(sv[0]);
}

static int fake_close(struct luo_backend *b, int fd)
{
	struct luo_fake *f = (struct luo_fake *)b;
	int r = 0;

	if (!f)
		return -EINVAL;
	if (close(fd) < 0 && errno != EINTR)
		r = -errno;
	if (!luoi_fake_enter(f)) {
		LUOI_LOCK_GUARD(&f->lock);
		luoi_fake_reap(f);
	}
	return r;
}

/* Called with the lock held; returns with it held. */
static int wait_unlocked(struct luo_fake *f, struct fake_req *req,
			 const struct stat *st)
{
	luoi_mutex_unlock(&f->lock);
	luoi_fake_latency_wait(f, req->op, true);
	luoi_mutex_lock(&f->lock);

	luoi_fake_reap(f);
	req->h = luoi_fake_handle_find(f, (uint64_t)st->st_dev,
				       (uint64_t)st->st_ino);
	if (!req->h)
		return -EBADF;
	if (req->h->kind == FH_DEAD)
		return -ENODEV;
	return 0;
}

static int fake_ioctl(struct luo_backend *b, int fd, unsigned long request,
		      void *arg)
{
	struct luo_fake *f = (struct luo_fake *)b;
	struct fake_req req;
	struct stat st;
	bool have_st, rfc;
	int r;

	r = luoi_fake_enter(f);
	if (r)
		return r;
	memset(&req, 0, sizeof(req));
	req.cmd = (uint32_t)request; /* the kernel's unsigned int cmd */
	req.arg = arg;
	have_st = fstat(fd, &st) == 0;

	LUOI_LOCK_GUARD(&f->lock);
	luoi_fake_reap(f);
	if (!have_st)
		return -EBADF;
	req.h = luoi_fake_handle_find(f, (uint64_t)st.st_dev,
				      (uint64_t)st.st_ino);
	if (!req.h)
		return -ENOTTY; /* not a descriptor of this fake kernel */
	if (req.h->kind == FH_DEAD)
		return -ENODEV;

	rfc = req.h->kind == FH_DEVICE && f->abi == LUO_ABI_RFC;
	r = rfc ? luoi_fake_rfc_dispatch(f, &req)
		: luoi_fake_mainline_dispatch(f, &req);
	if (r)
		return r;
	if (luoi_fake_latency_set(f, req.op, true)) {
		r = wait_unlocked(f, &req, &st);
		if (r)
			return r;
	}
	return rfc ? luoi_fake_rfc_run(f, &req) : luoi_fake_mainline_run(f, &req);
}

static void fake_backend_ref(struct luo_backend *b)
{
	luo_fake_ref((struct luo_fake *)b);
}

static void fake_backend_unref(struct luo_backend *b)
{
	luo_fake_unref((struct luo_fake *)b);
}

const struct luo_backend_ops luoi_fake_backend_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "fake",
	.ref = fake_backend_ref,
	.unref = fake_backend_unref,
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
};
