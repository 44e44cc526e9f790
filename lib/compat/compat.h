/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libluo API (state; preserve, unpreserve and restore by
 * token; prepare, cancel, finish) as a module of its own: public entry
 * points in compat.c, one implementation per kernel ABI behind a small ops
 * table (compat-rfc.c, compat-mainline.c), mirroring the backend vtable.
 *
 * Its state lives behind ctx->compat, made on first use (compat.c); the
 * context knows it only as a pointer and a destructor, so ctx.c does not
 * depend on this module.  Locking:
 *  - c->lock covers the token table, the state and the per-ABI fields; it
 *    is never held across a kernel request, memfd I/O or user code;
 *  - token operations (preserve, unpreserve, restore) run as *shared*
 *    operations and state transitions (probe, prepare, cancel, finish) as
 *    *exclusive* ones: a transition waits until no token operation is in
 *    flight and token operations wait while a transition runs, so the
 *    manifest written by prepare lists exactly the tokens preserved before
 *    it, and finish never races a restore.  Lookups, counts and foreach
 *    take c->lock only and never wait for a kernel request.
 *  - Lock order: c->restore_lock, then c->lock, then ctx->lock.
 */
#ifndef LUOI_COMPAT_H
#define LUOI_COMPAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"
#include "hmap.h"
#include "token-table.h"

struct luoi_compat;

struct luoi_compat_ops {
	/* each returns 0 or a negative errno and runs without c->lock */
	/* before the bookkeeping is read: learn what the last kernel left
	 * (NULL: nothing to learn) */
	int (*load)(luo_ctx_t *ctx, const char *api); /* @api: for the log */
	int (*get_state)(luo_ctx_t *ctx, enum luo_state *state);
	int (*preserve)(luo_ctx_t *ctx, int fd, uint64_t token);
	int (*unpreserve)(luo_ctx_t *ctx, uint64_t token);
	int (*restore)(luo_ctx_t *ctx, uint64_t token, int *fd);
	int (*prepare)(luo_ctx_t *ctx);
	int (*cancel)(luo_ctx_t *ctx);
	int (*finish)(luo_ctx_t *ctx);
	/* last context reference gone: close what the module owns */
	void (*release)(luo_ctx_t *ctx);
};

extern const struct luoi_compat_ops luoi_compat_rfc_ops;
extern const struct luoi_compat_ops luoi_compat_mainline_ops;

struct luo_session;

struct luoi_compat {
	const struct luoi_compat_ops *ops;

	pthread_mutex_t lock;
	pthread_cond_t changed;  /* in_flight or exclusive changed */
	unsigned int in_flight;  /* shared operations under way */
	bool exclusive;          /* a transition is under way */
	struct luoi_token_table tokens;

	/* mainline only */
	pthread_mutex_t restore_lock; /* first retrieval of a token session */
	struct luoi_hmap sessions;    /* token -> struct luo_session * */
	enum luo_state state;         /* NORMAL, PREPARED or UPDATED */
	bool probed;                  /* looked for a manifest this boot */
	struct luo_session *manifest_out; /* while PREPARED */
	struct luo_session *manifest_in;  /* while UPDATED */
};

/* Shared and exclusive operations (see above).  begin_shared() returns
 * with c->lock HELD and in_flight counted; the caller checks what it must,
 * then either calls cancel_shared() (still locked; unlocks) or unlocks and
 * later end_shared().  begin/end_exclusive() return with c->lock NOT held. */
/* The log of luo_fd_preserve() and luo_fd_restore(): the result (@r), at
 * LOG_DEBUG on success, at LOG_ERR with what to do on failure. */
void luoi_compat_log_preserve(luo_ctx_t *ctx, int fd, uint64_t token, int r);
void luoi_compat_log_restore(luo_ctx_t *ctx, uint64_t token, int r);

void luoi_compat_begin_shared(struct luoi_compat *c);
void luoi_compat_cancel_shared(struct luoi_compat *c);
void luoi_compat_end_shared(struct luoi_compat *c);
void luoi_compat_begin_exclusive(struct luoi_compat *c);
void luoi_compat_end_exclusive(struct luoi_compat *c);

#endif /* LUOI_COMPAT_H */
