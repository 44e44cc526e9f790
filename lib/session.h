/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session handles.  A handle owns the session's descriptor; its name,
 * descriptor, direction and context never change while the handle lives,
 * so they are read without a lock.  s->lock covers the token table and
 * the flags; it is never held across a kernel request, blocking I/O or
 * user code (reserve under the lock, call unlocked, commit or roll back).
 */
#ifndef LUOI_SESSION_H
#define LUOI_SESSION_H

#include <pthread.h>
#include <stdbool.h>

#include "ctx.h"
#include "label-table.h"
#include "luo-abi.h"
#include "record.h"
#include "token-table.h"

/* 8 slots and the pad: a session's first 7 tokens need no allocation */
#define LUOI_SESSION_INLINE_SLOTS (8 + LUOI_HMAP_PAD)

struct luo_session {
	luo_ctx_t *ctx; /* reference held, except for internal sessions */
	int fd;
	char name[LUO_K_NAME_LEN];
	enum luo_session_direction dir;
	bool internal; /* owned by the original API's module */

	pthread_mutex_t lock;
	bool finished; /* incoming: SESSION_FINISH succeeded */
	bool sent;     /* luo_session_send() succeeded */
	bool adopted;  /* may hold files libluo does not know of */
	bool lent;     /* luo_session_get_fd() lent the fd (ctx->lent_fds) */
	bool indexed;  /* in the context's index: closing it says so there */
	bool fdstore;  /* its fd came from LISTEN_FDS (ctx->fdstore_fds) */
	struct luoi_token_table tokens;
	struct luoi_label_table labels;
	/* outgoing: what this handle wrote into the session's record; made
	 * on the first preserve */
	struct luoi_record_writer *record;
	/* the first tokens' table lives here: no allocation until a session
	 * holds more than 7 files */
	struct luoi_hmap_slot inline_slots[LUOI_SESSION_INLINE_SLOTS];
};

/* A handle around @fd (-1: filled in later), holding no context
 * reference yet, from the context's cache of freed handles or new.  NULL
 * on -ENOMEM. */
struct luo_session *luoi_session_new(luo_ctx_t *ctx, int fd, const char *name,
				     enum luo_session_direction dir);

/* Close the descriptor (through the backend) and give the handle back to
 * the context's cache. */
void luoi_session_free(struct luo_session *s);

/* Create (outgoing) or retrieve (incoming) a session of @name on the
 * context's device into a new handle holding no context reference. */
int luoi_session_open(luo_ctx_t *ctx, const char *name,
		      enum luo_session_direction dir, struct luo_session **ret);

/* Read the record of the incoming session @s (a new handle no other
 * thread knows yet) into its token and label tables.  The number of
 * record segments (0: none), or a negative errno with the tables empty. */
int luoi_session_load_record(struct luo_session *s);

/* Outgoing or incoming, probed without side effects (session-handoff.c). */
enum luo_session_direction luoi_session_probe_direction(struct luo_backend *b,
							int fd);

/* Is @fd a session of @ctx's kernel?  0 and its name, or -EINVAL (it is
 * not), -EBADF, or a transient error (session-handoff.c).  @api: the
 * public function asking, for the log. */
int luoi_session_identify(luo_ctx_t *ctx, int fd, char name[LUO_K_NAME_LEN],
			  const char *api);

/* The context's index of the sessions it creates (session-index.c). */
/* Before luo_session_create() asks the kernel: make the index if needed
 * and reserve room for a @name entry.  0 or a negative errno. */
int luoi_index_reserve(luo_ctx_t *ctx, const char *api, size_t name_len,
		       struct luoi_record_res *res);
/* After: the kernel created the session (record it) or refused. */
void luoi_index_commit(luo_ctx_t *ctx, struct luoi_record_res *res,
		       unsigned int type, const char *name, size_t name_len);
void luoi_index_abort(luo_ctx_t *ctx, struct luoi_record_res *res);

/* A handle usable by this process: 0, -EINVAL (NULL) or -ECHILD. */
static inline int luoi_session_check(const struct luo_session *s)
{
	return s ? luoi_ctx_check(s->ctx) : -EINVAL;
}

/* The foreach functions: copy @t under @lock, then call @fn for each
 * copied token without it.  0, the first non-zero @fn value, -ENOMEM. */
int luoi_token_foreach(pthread_mutex_t *lock, const struct luoi_token_table *t,
		       luo_token_fn fn, void *userdata);

struct msghdr;
/* Parse a received hand-off message (session-handoff.c; exposed for the
 * fuzzer): 0 with its one descriptor, name (LUO_K_NAME_LEN bytes) and
 * direction (0 when the sender did not say), or -EBADMSG with every
 * descriptor it carried closed. */
int luoi_handoff_parse(struct msghdr *mh, size_t len, int *fd, char *name,
		       enum luo_session_direction *dir);

/* 1..LUO_SESSION_NAME_MAX bytes: the length, or -EINVAL. */
int luoi_session_name_check(const char *name);

#endif /* LUOI_SESSION_H */
