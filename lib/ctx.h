/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: a process's one descriptor of /dev/liveupdate (or of a
 * fake kernel), its ABI, log settings and the original API's state.
 *
 * Locking (doc/locking.md has the whole picture):
 *  - ctx->lock serves luo_ctx_close_device(), the lent descriptors and the
 *    stashed received session; the logger and the session cache have
 *    their own.  It is never held across a kernel
 *    request, blocking I/O or user code.
 *  - The device descriptor is borrowed for a request with
 *    luoi_ctx_device_get()/put(): an atomic count of requests in flight,
 *    so that luo_ctx_close_device() can wait for them instead of closing a
 *    descriptor another thread is using.
 *  - Sessions have their own locks (session.h); the original API has its
 *    own (compat/compat.h).  Lock order: a session or compat lock may be
 *    held while taking ctx->lock, never the reverse; no two session locks
 *    are ever held together.
 */
#ifndef LUOI_CTX_H
#define LUOI_CTX_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "backend.h"
#include "fork-guard.h"
#include "hmap.h"
#include "libluo.h"
#include "log.h"
#include "objcache.h"

struct luoi_compat;
struct luoi_index;

struct luo_ctx_opts {
	char *device;
	enum luo_abi abi;
	bool no_device;              /* sessions received from the holder */
	bool no_record;              /* no session record, no index */
	struct luo_backend *backend; /* reference held; NULL = real kernel */
	bool backend_set;            /* chosen: LIBLUO_FAKE is not used */
	luo_log_fn log_fn;
	void *log_data;
	int log_priority; /* LUOI_LOG_SILENT or 0..7 */
};

struct luo_ctx {
	atomic_int refcount;
	struct luoi_fork_guard fork_guard;
	struct luo_backend *backend; /* reference held */
	enum luo_abi abi;            /* never changes after luo_ctx_new() */
	bool no_record;              /* luo_ctx_opts_set_record(false) */
	char *device;

	/* The device descriptor, borrowed by requests without a lock: a
	 * count of borrowers, and ctx->lock with device_idle only for
	 * luo_ctx_close_device() to wait until they are done. */
	atomic_int dev_fd;            /* -1: closed or never opened */
	atomic_uint device_users;     /* requests in flight on dev_fd */
	atomic_bool device_closing;   /* a closer waits on device_idle */
	pthread_mutex_t lock;
	pthread_cond_t device_idle;
	struct luoi_logger log;
	/* freed session handles for reuse (session.c) */
	struct luoi_objcache session_cache;
	/* under ctx->lock (session.c, session-handoff.c): descriptors that
	 * luo_session_get_fd() lent out, so that adopting one is refused;
	 * a received session kept after a transient error (fd -1: none) */
	struct luoi_hmap lent_fds;
	int stashed_fd;
	enum luo_session_direction stashed_dir;
	char stashed_name[64];
	/* under ctx->lock (fdstore.c): the LISTEN_FDS descriptors taken by
	 * luo_session_from_fdstore(), LUOI_FDSTORE_OWNED or _CLOSED */
	struct luoi_hmap fdstore_fds;

	/* the sessions this context created, and the previous boot's
	 * (session-index.c, with its own lock), made on first use; the
	 * context knows it only as an object with a destructor */
	_Atomic(struct luoi_index *) index;
	void (*index_free)(luo_ctx_t *ctx);

	/* The original API's state (lib/compat/), made on first use; the
	 * context knows it only as an object with a destructor. */
	_Atomic(struct luoi_compat *) compat;
	void (*compat_free)(luo_ctx_t *ctx);
};

/* 0 if @ctx may be used by this process; -EINVAL (NULL) or -ECHILD. */
static inline int luoi_ctx_check(const luo_ctx_t *ctx)
{
	if (!ctx)
		return -EINVAL;
	/* The descriptors were inherited, but the locks, the bookkeeping
	 * and the single-open device belong to the parent. */
	if (luoi_fork_guard_forked(&ctx->fork_guard))
		return -ECHILD;
	return 0;
}

#define LUOI_FDSTORE_OWNED 1
#define LUOI_FDSTORE_CLOSED 2

/* Freed session handles a context keeps for reuse: about 300 bytes each,
 * so at most about 1.2 MiB, and only after that many were in use. */
#define LUOI_SESSION_CACHE_MAX 4096

/* luo_ctx_ref() without the exported symbol's PLT call. */
static inline void luoi_ctx_ref(luo_ctx_t *ctx)
{
	atomic_fetch_add_explicit(&ctx->refcount, 1, memory_order_relaxed);
}

void luoi_ctx_device_idle(luo_ctx_t *ctx);

/*
 * Borrow the device descriptor for requests: the fd, or -ENODEV (never
 * opened or closed by luo_ctx_close_device()).  Every successful get is
 * paired with a put.  Two atomic operations and no lock: the borrower
 * counts itself, then reads the descriptor; the closer takes the
 * descriptor away, then reads the count (both sequentially consistent):
 * either the borrower sees -1 or the closer sees it counted and waits.
 */
static inline void luoi_ctx_device_put(luo_ctx_t *ctx)
{
	if (atomic_fetch_sub(&ctx->device_users, 1) == 1 &&
	    atomic_load(&ctx->device_closing))
		luoi_ctx_device_idle(ctx);
}

static inline int luoi_ctx_device_get(luo_ctx_t *ctx)
{
	int fd;

	atomic_fetch_add(&ctx->device_users, 1);
	fd = atomic_load(&ctx->dev_fd);
	if (fd < 0) {
		luoi_ctx_device_put(ctx);
		return -ENODEV;
	}
	return fd;
}

/* Close a descriptor the backend handed out (session fds). */
static inline void luoi_ctx_close_fd(luo_ctx_t *ctx, int fd)
{
	if (fd >= 0)
		ctx->backend->ops->close(ctx->backend, fd);
}

#endif /* LUOI_CTX_H */
