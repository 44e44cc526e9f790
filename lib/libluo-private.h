/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal structures shared by the files of lib/.
 *
 * Locking: one recursive mutex per context (ctx->lock) protects the context, the
 * token tables of the context and of all of its sessions, and each
 * session's flags.  Kernel requests are issued with the lock held, so that
 * libluo's bookkeeping and the kernel's state change together as seen by
 * other threads.
 */
#ifndef LIBLUO_PRIVATE_H
#define LIBLUO_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

#include "backend.h"
#include "libluo.h"
#include "luo-abi.h"
#include "token-table.h"

#define LUO_EXPORT __attribute__((visibility("default")))

#define LUO_LOG_SILENT (-1)

/* Names of the sessions that carry the original API on the mainline ABI. */
#define LUO_SEED_TOKEN_PREFIX LUO_RESERVED_PREFIX "tok."
#define LUO_SEED_MANIFEST_NAME LUO_RESERVED_PREFIX "manifest"
#define LUO_SEED_MANIFEST_TOKEN 0

struct luo_ctx_opts {
	char *device;
	enum luo_abi abi;
	bool no_device;   /* sessions received from the device's holder only */
	struct luo_backend *backend; /* reference held; NULL = real kernel */
	luo_log_fn log_fn;
	void *log_data;
	int log_priority; /* LUO_LOG_SILENT or 0..7 */
};

struct luo_session {
	luo_ctx_t *ctx;   /* reference held, except for internal sessions */
	int fd;
	char name[LUO_K_NAME_LEN];
	enum luo_session_direction dir;
	bool internal;    /* owned by the context (original API, manifest) */
	bool finished;    /* incoming: SESSION_FINISH succeeded */
	bool sent;        /* luo_session_send() succeeded */
	bool adopted;     /* may hold files libluo does not know of */
	struct luo_token_table tokens;
};

struct luo_ctx {
	atomic_int refcount;
	pthread_mutex_t lock;
	pid_t pid; /* creator; other processes get -ECHILD */

	struct luo_backend *backend; /* reference held */
	int dev_fd; /* -1 in a context made without the device */
	enum luo_abi abi;
	char *device;

	luo_log_fn log_fn;
	void *log_data;
	atomic_int log_priority; /* read without the lock by luo_log() */

	/* The original API.  RFC: tokens mirror the kernel's list.  Mainline:
	 * every token has its own internal session (entry->session). */
	struct luo_token_table seed_tokens;
	enum luo_state seed_state;     /* mainline only; RFC asks the kernel */
	bool seed_probed;              /* mainline: looked for a manifest */
	struct luo_session *manifest_out; /* mainline, while PREPARED */
	struct luo_session *manifest_in;  /* mainline, while UPDATED */
};

/* ---- ctx.c ---- */
/* 0 if @ctx may be used by this process, -EINVAL (NULL) or -ECHILD. */
int luo_ctx_check(const luo_ctx_t *ctx);
void luo_ctx_lock(luo_ctx_t *ctx);
void luo_ctx_unlock(luo_ctx_t *ctx);
int luo_ctx_ioctl(luo_ctx_t *ctx, int fd, unsigned long request, void *arg);
int luo_ctx_close_fd(luo_ctx_t *ctx, int fd);

/* ---- log.c ---- */
int luo_log_priority_from_env(void);
void luo_log_full(luo_ctx_t *ctx, int priority, const char *file, int line,
		  const char *fn, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

#define luo_log(ctx, prio, ...)                                              \
	do {                                                                 \
		if (atomic_load_explicit(&(ctx)->log_priority,          \
					 memory_order_relaxed) >= (prio))                           \
			luo_log_full((ctx), (prio), __FILE__, __LINE__,      \
				     __func__, __VA_ARGS__);                 \
	} while (0)
#define luo_err(ctx, ...) luo_log(ctx, LOG_ERR, __VA_ARGS__)
#define luo_info(ctx, ...) luo_log(ctx, LOG_INFO, __VA_ARGS__)
#define luo_dbg(ctx, ...) luo_log(ctx, LOG_DEBUG, __VA_ARGS__)

/* ---- session.c ---- */
/* Kernel requests with the lock held; they do not touch token tables. */
int luo_k_create_session(luo_ctx_t *ctx, const char *name, int *fd);
int luo_k_retrieve_session(luo_ctx_t *ctx, const char *name, int *fd);
int luo_k_preserve_fd(luo_ctx_t *ctx, int session_fd, int fd, uint64_t token);
int luo_k_retrieve_fd(luo_ctx_t *ctx, int session_fd, uint64_t token, int *fd);
int luo_k_finish(luo_ctx_t *ctx, int session_fd);

/* Allocate a session object around @fd (not yet owning a ctx reference). */
struct luo_session *luo_session_alloc(luo_ctx_t *ctx, int fd, const char *name,
				      enum luo_session_direction dir);
/* Close the fd and free; with the lock held. */
void luo_session_free_locked(struct luo_session *s);

/* ---- seed.c ---- */
void luo_seed_release(luo_ctx_t *ctx);

/* The foreach functions: copy @t under the context's lock, then call @fn
 * for each copied token without it (token-table.c). */
int luo_token_table_foreach_snapshot(luo_ctx_t *ctx,
				     const struct luo_token_table *t,
				     luo_token_fn fn, void *userdata);

#endif /* LIBLUO_PRIVATE_H */
