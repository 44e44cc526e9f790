/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The backend libluo calls (common/backend.h): open of the device, close,
 * and every request, found by the inode of the descriptor it is made on.
 *
 * A request holds the fake's lock twice, briefly, and makes no system call
 * under it but where the kernel's order needs one (fake-private.h):
 *
 *   1. without the lock: fstat() of the descriptor, the release check
 *      (luoi_fake_reap(): one epoll_wait(), under reap_lock);
 *   2. lock: the handle found by the descriptor's inode; its kind, its
 *      session's direction and its serial number are noted;
 *   3. without the lock: the generic checks and the copy of the argument
 *      (one process_vm_readv()), then the injected latency
 *      (luo_fake_set_latency()) and, after a latency, the release check
 *      again, then what the handler makes before it looks at the state
 *      (the preserved file's dup and identity, a new descriptor pair);
 *   4. lock: the handle found again (gone: -EBADF, as if the close had come
 *      first; dead, i.e. a kexec came in between: -ENODEV), the handler's
 *      checks and change;
 *   5. without the lock: the reply (one process_vm_writev()), and the end
 *      of what step 3 made and the handler did not keep.
 *
 * Requests on different sessions thus go on in parallel, as in the
 * kernel, where each session has its own mutex; a kexec, which holds the
 * lock throughout, falls between two requests' steps 4 (a request found
 * dead in step 4 did nothing before it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake-private.h"

void luoi_fake_lock(struct luo_fake *f)
{
	luoi_mutex_lock(&f->lock);
}

/* Drop the lock, then close what the state let go of meanwhile. */
void luoi_fake_unlock(struct luo_fake *f)
{
	int *fds = f->doomed;
	size_t n = f->ndoomed, i;

	if (n) {
		f->doomed = NULL;
		f->ndoomed = f->doomed_cap = 0;
	}
	luoi_mutex_unlock(&f->lock);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

/* Close @fd once the lock is dropped (now if there is no room to note
 * it).  The fake's own descriptors only: nothing refers to them by
 * number any more. */
void luoi_fake_close_later(struct luo_fake *f, int fd)
{
	if (fd < 0)
		return;
	if (f->ndoomed == f->doomed_cap) {
		size_t cap = f->doomed_cap ? 2 * f->doomed_cap : 16;
		int *fds = realloc(f->doomed, cap * sizeof(*fds));

		if (!fds) {
			close(fd);
			return;
		}
		f->doomed = fds;
		f->doomed_cap = cap;
	}
	f->doomed[f->ndoomed++] = fd;
}

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

/* A pause for a spinning CPU: leaves the core's shared resources (the
 * other hyperthread, the memory pipeline) to others. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* A CPU-bound kernel path: clock_gettime() is a vDSO call, no syscall;
 * the clock is read every few pauses. */
static void spin_us(uint64_t us)
{
	struct timespec deadline, now;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	timespec_add_us(&deadline, us);
	do {
		for (i = 0; i < 16; i++)
			cpu_relax();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (timespec_before(&now, &deadline));
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

struct hprep_guard {
	struct luo_fake *f;
	struct fake_prep_handle p;
};
#define HPREP_INIT(fake) { .f = (fake), .p = { .sv = { -1, -1 } } }

static void hprep_finip(struct hprep_guard *g)
{
	luoi_fake_hprep_fini(g->f, &g->p);
}

static int fake_open(struct luo_backend *b, const char *path, int flags)
{
	struct luo_fake *f = (struct luo_fake *)b;
	_cleanup_(hprep_finip) struct hprep_guard p = HPREP_INIT(f);
	struct fhandle *h;
	int r;

	(void)path;
	r = luoi_fake_enter(f);
	if (r)
		return r;
	luoi_fake_latency_wait(f, LUO_FAKE_OP_OPEN, true);
	luoi_fake_reap(f);
	/* the pair and its handle, without the lock; the errors in order */
	luoi_fake_hprep_make(f, &p.p, flags & O_CLOEXEC);

	LUOI_FAKE_LOCK_GUARD(f);
	/* luo_open(): single open, then deserialization */
	if (f->dev_in_use)
		return -EBUSY;
	r = luoi_fake_take_injected(f, LUO_FAKE_OP_OPEN);
	if (r)
		return r;
	if (p.p.err)
		return p.p.err;
	if (p.p.h_err)
		return p.p.h_err;
	r = luoi_fake_hprep_publish(f, &p.p, FH_DEVICE, NULL, &h);
	if (r)
		return r;
	f->dev_in_use = true;
	return TAKE_FD(p.p.sv[0]);
}

static int fake_close(struct luo_backend *b, int fd)
{
	struct luo_fake *f = (struct luo_fake *)b;
	int r = 0;

	if (!f)
		return -EINVAL;
	if (close(fd) < 0 && errno != EINTR)
		r = -errno;
	if (!luoi_fake_enter(f))
		luoi_fake_reap(f);
	return r;
}

/* Step 2 (or 4 if @again): the request's handle, with the lock held. */
static int find_handle(struct luo_fake *f, struct fake_req *req,
		       const struct stat *st, bool again)
{
	req->h = luoi_fake_handle_find(f, (uint64_t)st->st_dev,
				       (uint64_t)st->st_ino);
	if (again) {
		/* closed by another thread meanwhile (a new descriptor may
		 * even have its inode now) */
		if (!req->h || req->h->serial != req->serial)
			return -EBADF;
	} else if (!req->h) {
		return -ENOTTY; /* not a descriptor of this fake kernel */
	}
	if (req->h->kind == FH_DEAD)
		return -ENODEV;
	if (!again) {
		req->serial = req->h->serial;
		req->kind = req->h->kind;
		req->incoming = req->h->session && req->h->session->retrieved;
	}
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
	luoi_fake_reap(f);
	if (!have_st)
		return -EBADF;

	{
		LUOI_FAKE_LOCK_GUARD(f);

		r = find_handle(f, &req, &st, false);
		if (r)
			return r;
	}

	rfc = req.kind == FH_DEVICE && f->abi == LUO_ABI_RFC;
	r = rfc ? luoi_fake_rfc_dispatch(f, &req)
		: luoi_fake_mainline_dispatch(f, &req);
	if (r)
		return r;
	if (luoi_fake_latency_set(f, req.op, true)) {
		luoi_fake_latency_wait(f, req.op, true);
		luoi_fake_reap(f);
	}
	if (rfc)
		luoi_fake_rfc_prepare(f, &req);
	else
		luoi_fake_mainline_prepare(f, &req);

	{
		LUOI_FAKE_LOCK_GUARD(f);

		r = find_handle(f, &req, &st, true);
		if (!r)
			r = rfc ? luoi_fake_rfc_run(f, &req)
				: luoi_fake_mainline_run(f, &req);
		req.h = NULL;
	}
	return rfc ? luoi_fake_rfc_finish(f, &req, r)
		   : luoi_fake_mainline_finish(f, &req, r);
}

/*
 * What the kernel's /proc name tells libluo before it trusts a descriptor
 * that came from elsewhere: whether @fd is a session of this fake (a live
 * one: a handle from before a kexec is not), and its name.  No request is
 * issued and nothing changes.
 */
static int fake_identify(struct luo_backend *b, int fd, char *name)
{
	struct luo_fake *f = (struct luo_fake *)b;
	struct fhandle *h;
	struct stat st;
	int r;

	r = luoi_fake_enter(f);
	if (r)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	luoi_fake_reap(f);
	LUOI_LOCK_GUARD(&f->lock);
	h = luoi_fake_handle_find(f, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!h || h->kind != FH_SESSION || !h->session)
		return -ENOTTY;
	memcpy(name, h->session->name, LUO_K_NAME_LEN);
	name[LUO_K_NAME_LEN - 1] = '\0';
	return 0;
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
	.identify = fake_identify,
};
