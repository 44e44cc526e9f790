/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions, the mainline kernel's unit of preservation: create, retrieve,
 * preserve and retrieve files, finish, close, and what libluo knows of
 * their tokens.  Handing sessions to other processes is session-handoff.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "session.h"

struct luo_session *luoi_session_new(luo_ctx_t *ctx, int fd, const char *name,
				     enum luo_session_direction dir)
{
	struct luo_session *s = luoi_objcache_get(&ctx->session_cache,
						  sizeof(*s));
	size_t len;

	if (!s)
		return NULL;
	/* every field, once: the cache hands out memory as it was left */
	s->ctx = ctx;
	s->fd = fd;
	len = strnlen(name, sizeof(s->name) - 1);
	memcpy(s->name, name, len);
	memset(s->name + len, 0, sizeof(s->name) - len);
	s->dir = dir;
	s->internal = false;
	luoi_mutex_init(&s->lock);
	s->finished = false;
	s->sent = false;
	s->adopted = false;
	s->lent = false;
	luoi_token_table_init_buffer(&s->tokens, s->inline_slots,
				     LUOI_SESSION_INLINE_SLOTS);
	return s;
}

/* Tear down what luoi_session_new() set up; the memory stays. */
static void session_fini(struct luo_session *s)
{
	luoi_token_table_fini(&s->tokens);
	pthread_mutex_destroy(&s->lock);
}

void luoi_session_free(struct luo_session *s)
{
	if (!s)
		return;
	if (s->lent) {
		LUOI_LOCK_GUARD(&s->ctx->lock);
		luoi_hmap_remove(&s->ctx->lent_fds, (uint64_t)s->fd, NULL);
	}
	luoi_ctx_close_fd(s->ctx, s->fd);
	session_fini(s);
	luoi_objcache_put(&s->ctx->session_cache, s);
}

int luoi_session_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, LUO_SESSION_NAME_MAX + 1);
	return len == 0 || len > LUO_SESSION_NAME_MAX ? -EINVAL : (int)len;
}

/*
 * The handle is allocated before the kernel is asked: a retrieved session
 * can be taken once per boot, and dropping it for lack of memory would
 * finish it.
 */
int luoi_session_open(luo_ctx_t *ctx, const char *name,
		      enum luo_session_direction dir, struct luo_session **ret)
{
	struct luo_session *s = luoi_session_new(ctx, -1, name, dir);
	int dev_fd, r;

	if (!s)
		return -ENOMEM;
	dev_fd = luoi_ctx_device_get(ctx);
	if (dev_fd < 0) {
		luoi_session_free(s);
		return dev_fd;
	}
	/* s->name: the name NUL-padded to the request's 64 bytes */
	if (dir == LUO_SESSION_OUTGOING)
		r = luoi_req_create_session(ctx->backend, dev_fd, s->name,
					    &s->fd);
	else
		r = luoi_req_retrieve_session(ctx->backend, dev_fd, s->name,
					      &s->fd);
	luoi_ctx_device_put(ctx);
	if (r < 0) {
		luoi_session_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static int sessions_supported(luo_ctx_t *ctx)
{
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	return ctx->abi == LUO_ABI_MAINLINE ? 0 : -EOPNOTSUPP;
}

static bool name_reserved(const char *name, size_t len)
{
	return len >= sizeof(LUO_RESERVED_PREFIX) - 1 &&
	       memcmp(name, LUO_RESERVED_PREFIX,
		      sizeof(LUO_RESERVED_PREFIX) - 1) == 0;
}

static int open_public(luo_ctx_t *ctx, const char *name,
		       enum luo_session_direction dir, luo_session_t **ret)
{
	const char *what = dir == LUO_SESSION_OUTGOING ? "create" : "retrieve";
	struct luo_session *s;
	int len, r;

	r = sessions_supported(ctx);
	if (r < 0)
		return r;
	len = luoi_session_name_check(name);
	if (!ret || len < 0)
		return -EINVAL;
	/* libluo's own sessions (the original API): taking one would leave
	 * the original API unable to finish the update */
	if (name_reserved(name, (size_t)len))
		return -EINVAL;
	r = luoi_session_open(ctx, name, dir, &s);
	if (r < 0) {
		luoi_dbg(ctx, "%s session \"%s\": %s", what, name,
			 strerror(-r));
		return r;
	}
	luoi_ctx_ref(ctx);
	luoi_dbg(ctx, "%s session \"%s\": fd %d", what, name, s->fd);
	*ret = s;
	return 0;
}

LUOI_EXPORT int luo_session_create(luo_ctx_t *ctx, const char *name,
				   luo_session_t **ret)
{
	return open_public(ctx, name, LUO_SESSION_OUTGOING, ret);
}

LUOI_EXPORT int luo_session_retrieve(luo_ctx_t *ctx, const char *name,
				     luo_session_t **ret)
{
	return open_public(ctx, name, LUO_SESSION_INCOMING, ret);
}

LUOI_EXPORT int luo_session_preserve_fd(luo_session_t *session, int fd,
					uint64_t token)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (session->dir != LUO_SESSION_OUTGOING || fd < 0)
		return -EINVAL;
	{
		LUOI_LOCK_GUARD(&session->lock);

		/* reserve: a concurrent preserve of the token fails here */
		r = luoi_token_table_reserve(&session->tokens, token);
		if (r < 0)
			return r;
	}
	r = luoi_req_preserve_fd(session->ctx->backend, session->fd, fd,
				 token);
	{
		LUOI_LOCK_GUARD(&session->lock);

		if (r == 0)
			luoi_token_table_commit(&session->tokens, token,
						LUO_TOKEN_PRESERVED);
		else
			luoi_token_table_abort(&session->tokens, token);
	}
	if (r < 0)
		luoi_dbg(session->ctx,
			 "session \"%s\": preserve fd %d as %#" PRIx64 ": %s",
			 session->name, fd, token, strerror(-r));
	return r;
}

LUOI_EXPORT int luo_session_retrieve_fd(luo_session_t *session, uint64_t token,
					int *fd)
{
	int newfd = -1, r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!fd || session->dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	r = luoi_req_retrieve_fd(session->ctx->backend, session->fd, token,
				 &newfd);
	if (r < 0) {
		luoi_dbg(session->ctx, "session \"%s\": retrieve %#" PRIx64
			 ": %s", session->name, token, strerror(-r));
		return r;
	}
	{
		LUOI_LOCK_GUARD(&session->lock);

		r = luoi_token_table_set(&session->tokens, token,
					 LUO_TOKEN_RESTORED);
	}
	if (r < 0) {
		/* the kernel hands the file out again on the next try */
		luoi_close_keep_errno(newfd);
		return r;
	}
	*fd = newfd;
	return 0;
}

LUOI_EXPORT int luo_session_finish(luo_session_t *session)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (session->dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	r = luoi_req_finish(session->ctx->backend, session->fd);
	if (r < 0) {
		luoi_dbg(session->ctx, "session \"%s\": finish: %s",
			 session->name, strerror(-r));
		return r;
	}
	LUOI_LOCK_GUARD(&session->lock);
	session->finished = true;
	return 0;
}

LUOI_EXPORT int luo_session_get_name(luo_session_t *session, const char **name)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!name)
		return -EINVAL;
	*name = session->name;
	return 0;
}

LUOI_EXPORT int luo_session_get_direction(luo_session_t *session,
					  enum luo_session_direction *dir)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!dir)
		return -EINVAL;
	*dir = session->dir;
	return 0;
}

/*
 * The descriptor is lent, not given: it is recorded so that
 * luo_session_adopt_fd() refuses it, since a second handle owning the same
 * descriptor would close it under the first one's feet.
 */
LUOI_EXPORT int luo_session_get_fd(luo_session_t *session)
{
	luo_ctx_t *ctx;
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	ctx = session->ctx;
	LUOI_LOCK_GUARD(&ctx->lock);
	if (!session->lent) {
		r = luoi_hmap_insert(&ctx->lent_fds, (uint64_t)session->fd, 1);
		if (r < 0)
			return r;
		session->lent = true;
	}
	return session->fd;
}

/*
 * A handle from before a (simulated) kexec: its session is gone, closing
 * it loses nothing.  Only a fake kernel's handles can outlive a kexec;
 * the kernel answers their requests ENODEV.
 */
static bool session_dead(struct luo_session *s)
{
	char name[LUO_K_NAME_LEN];

	return luoi_req_get_name(s->ctx->backend, s->fd, name) == -ENODEV;
}

/* Whether closing the session now would make the kernel drop data. */
static bool close_may_lose(struct luo_session *s)
{
	LUOI_LOCK_GUARD(&s->lock);

	if (s->sent)
		return false;
	if (s->dir == LUO_SESSION_OUTGOING)
		return luoi_token_table_count(&s->tokens) > 0 || s->adopted;
	return !s->finished;
}

LUOI_EXPORT int luo_session_close(luo_session_t *session, unsigned int flags)
{
	luo_ctx_t *ctx;
	int r;

	if (!session)
		return 0;
	if (flags & ~(unsigned int)LUO_SESSION_CLOSE_FORCE)
		return -EINVAL;
	ctx = session->ctx;
	r = luoi_ctx_check(ctx);
	if (r == -ECHILD) {
		/* The parent's kernel objects stay alive through the
		 * parent's descriptors: free the child's copy. */
		luoi_close_keep_errno(session->fd);
		/* not into the cache: its lock belongs to the parent */
		session_fini(session);
		free(session);
		luo_ctx_unref(ctx);
		return -ECHILD;
	}
	if (!(flags & LUO_SESSION_CLOSE_FORCE) && close_may_lose(session) &&
	    !session_dead(session)) {
		luoi_dbg(ctx,
			 "refusing to close session \"%s\": it would %s; pass "
			 "LUO_SESSION_CLOSE_FORCE to do it anyway",
			 session->name,
			 session->dir == LUO_SESSION_OUTGOING ?
				 "unpreserve its files" :
				 "finish it and discard what was not retrieved");
		return -EBUSY;
	}
	/* no other thread may use the handle any more (see the header):
	 * nothing to detach, close outside any lock */
	luoi_session_free(session);
	luo_ctx_unref(ctx);
	return 0;
}

LUOI_EXPORT int luo_session_token_lookup(luo_session_t *session, uint64_t token,
					 enum luo_token_state *state)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!state)
		return -EINVAL;
	LUOI_LOCK_GUARD(&session->lock);
	return luoi_token_table_lookup(&session->tokens, token, state);
}

LUOI_EXPORT int luo_session_token_count(luo_session_t *session)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	LUOI_LOCK_GUARD(&session->lock);
	return (int)luoi_token_table_count(&session->tokens);
}

int luoi_token_foreach(pthread_mutex_t *lock, const struct luoi_token_table *t,
		       luo_token_fn fn, void *userdata)
{
	_cleanup_free_ struct luoi_token_snap *snap = NULL;
	size_t n, k;
	int r;

	luoi_mutex_lock(lock);
	r = luoi_token_table_snapshot(t, &snap, &n);
	luoi_mutex_unlock(lock);
	if (r < 0)
		return r;
	for (k = 0; k < n; k++) {
		r = fn(snap[k].token, snap[k].state, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

LUOI_EXPORT int luo_session_token_foreach(luo_session_t *session,
					  luo_token_fn fn, void *userdata)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	return luoi_token_foreach(&session->lock, &session->tokens, fn,
				  userdata);
}
