/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original API on the mainline ABI.  The kernel has sessions and no
 * state machine, so the original model is built out of sessions libluo
 * owns (names starting LUO_RESERVED_PREFIX, which users cannot create):
 *
 *  - every token lives alone in a session "libluo.tok.<16 hex digits>".
 *    The kernel has no per-file unpreserve, but closing an outgoing
 *    session unpreserves what it holds, so closing the token's own session
 *    is an exact luo_fd_unpreserve();
 *  - luo_prepare() preserves a sealed memfd listing every token (the
 *    manifest, doc/manifest.md) in a session "libluo.manifest" and enters
 *    PREPARED; luo_cancel() closes that session again;
 *  - after the kexec, the first call that needs the state retrieves the
 *    manifest (the *probe*): if there is one, the state is UPDATED and its
 *    tokens are known (INCOMING) until luo_finish() finishes every token
 *    session, restored or not, and the manifest's.
 *
 * The full user-facing description is the original-API section of
 * include/libluo.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "manifest.h"
#include "record.h"
#include "session.h"

#define TOKEN_SESSION_PREFIX LUO_RESERVED_PREFIX "tok."
#define MANIFEST_SESSION LUO_RESERVED_PREFIX "manifest"
/* where libluo >= 1.1 preserves the manifest (a record, doc/record.md),
 * and where libluo 1.0 preserved its own format (doc/manifest.md) */
#define MANIFEST_TOKEN LUO_TOKEN_RESERVED_MIN
#define MANIFEST_TOKEN_LEGACY 0

static void token_session_name(uint64_t token, char name[LUO_K_NAME_LEN])
{
	snprintf(name, LUO_K_NAME_LEN, TOKEN_SESSION_PREFIX "%016" PRIx64,
		 token);
}

/* An internal session (no context reference: the context owns it). */
static int internal_open(luo_ctx_t *ctx, const char *name,
			 enum luo_session_direction dir,
			 struct luo_session **ret)
{
	int r = luoi_session_open(ctx, name, dir, ret);

	if (r == 0)
		(*ret)->internal = true;
	return r;
}

static struct luo_session *session_of(struct luoi_compat *c, uint64_t token)
{
	uint64_t *v = luoi_hmap_find(&c->sessions, token);

	return v ? (struct luo_session *)(uintptr_t)*v : NULL;
}

/*
 * Every shared operation may add one session to c->sessions when it
 * commits, after the lock was dropped.  Reserving room for all of them
 * (count + in_flight, in_flight counting the caller) when each starts keeps
 * that insert from failing: capacity only grows, and every commit or
 * cancel lowers count + in_flight or leaves it.
 */
static int reserve_session_room(struct luoi_compat *c)
{
	return luoi_hmap_reserve(&c->sessions, c->in_flight);
}

/* Forget @token's session, returning it for the caller to free. */
static struct luo_session *take_session(struct luoi_compat *c, uint64_t token)
{
	uint64_t v = 0;

	luoi_hmap_remove(&c->sessions, token, &v);
	return (struct luo_session *)(uintptr_t)v;
}

/* ---- the probe: did the previous kernel hand us a manifest? ------------ */

struct token_vec {
	uint64_t *tokens;
	size_t n, cap;
};

static int collect_token(const struct luoi_record_entry *e, void *data)
{
	struct token_vec *v = data;

	if (e->type != LUOI_RECORD_TOKEN)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint64_t *grown = realloc(v->tokens, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		v->tokens = grown;
		v->cap = cap;
	}
	v->tokens[v->n++] = e->token;
	return 0;
}

/* The manifest's tokens: from a record, or from a libluo 1.0 manifest. */
static int read_manifest(luo_ctx_t *ctx, struct luoi_compat *c,
			 uint64_t **tokens, size_t *n)
{
	struct token_vec v = { 0 };
	int mfd, r;

	r = luoi_req_retrieve_fd(ctx->backend, c->manifest_in->fd,
				 MANIFEST_TOKEN, &mfd);
	if (r == -ENOENT) {
		r = luoi_req_retrieve_fd(ctx->backend, c->manifest_in->fd,
					 MANIFEST_TOKEN_LEGACY, &mfd);
		if (r < 0)
			return r;
		r = luoi_manifest_read_fd(mfd, tokens, n);
		luoi_close_keep_errno(mfd);
		return r;
	}
	if (r < 0)
		return r;
	r = luoi_record_read_fd(mfd, LUOI_RECORD_MANIFEST, collect_token, &v);
	luoi_close_keep_errno(mfd);
	if (r < 0) {
		free(v.tokens);
		return r;
	}
	*tokens = v.tokens;
	*n = v.n;
	return 0;
}

static int load_manifest(luo_ctx_t *ctx, struct luoi_compat *c)
{
	_cleanup_free_ uint64_t *tokens = NULL;
	size_t n = 0, i;
	int r;

	r = read_manifest(ctx, c, &tokens, &n);
	if (r < 0)
		return r;

	LUOI_LOCK_GUARD(&c->lock);
	r = luoi_token_table_make_room(&c->tokens, n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		unsigned int state;

		/* a token preserved again in this boot keeps its entry */
		if (luoi_token_table_peek(&c->tokens, tokens[i], &state) < 0)
			luoi_token_table_set(&c->tokens, tokens[i],
					     LUO_TOKEN_INCOMING);
	}
	return 0;
}

/*
 * Once per context, exclusive.  Retrieving the manifest is the only way to
 * ask whether there is one, and a session can be retrieved once per boot,
 * so the context keeps it until luo_finish().  Reading the list can fail
 * transiently (-ENOMEM, -EMFILE): then the next call tries again, since the
 * kernel hands out the manifest file as often as asked.
 */
static int probe(luo_ctx_t *ctx, const char *api)
{
	struct luoi_compat *c = ctx->compat;
	struct luo_session *s;
	int r;

	if (c->probed)
		return 0;
	if (!c->manifest_in) {
		r = internal_open(ctx, MANIFEST_SESSION, LUO_SESSION_INCOMING,
				  &s);
		if (r == -ENOENT) {
			LUOI_LOCK_GUARD(&c->lock);
			c->probed = true;
			return 0;
		}
		if (r < 0) {
			luoi_err(ctx, api, "cannot retrieve the libluo manifest: %s",
				 strerror(-r));
			return r;
		}
		LUOI_LOCK_GUARD(&c->lock);
		c->manifest_in = s;
		/* a live update did happen, whatever the list says */
		c->state = LUO_STATE_UPDATED;
	}

	r = load_manifest(ctx, c);
	if (r == -EPROTONOSUPPORT) {
		luoi_err(ctx, api, "the libluo manifest was written by a newer "
			      "libluo in a format this one cannot read; "
			      "luo_finish() still ends the update");
	} else if (r == -EBADMSG || r == -ENOENT) {
		luoi_err(ctx, api, "the libluo manifest is unusable: %s",
			 strerror(-r));
	} else if (r < 0) {
		luoi_err(ctx, api, "cannot read the libluo manifest: %s",
			 strerror(-r));
		return r; /* transient: try again next time */
	}
	/* not transient: go on without the list, so that luo_finish() can
	 * still end the update */
	{
		LUOI_LOCK_GUARD(&c->lock);
		c->probed = true;
	}
	if (r == 0)
		luoi_dbg(ctx, api, "live update found: %d token(s) came from the "
			      "previous kernel", luo_token_count(ctx));
	return r;
}

static int ensure_probed(luo_ctx_t *ctx, const char *api)
{
	struct luoi_compat *c = ctx->compat;
	int r;

	{
		LUOI_LOCK_GUARD(&c->lock);
		if (c->probed)
			return 0;
	}
	luoi_compat_begin_exclusive(c);
	r = probe(ctx, api);
	luoi_compat_end_exclusive(c);
	return r;
}

/* ---- state ------------------------------------------------------------- */

static int mainline_get_state(luo_ctx_t *ctx, enum luo_state *state)
{
	int r = ensure_probed(ctx, "luo_get_state");

	if (r < 0)
		return r;
	LUOI_LOCK_GUARD(&ctx->compat->lock);
	*state = ctx->compat->state;
	return 0;
}

/* ---- preserve / unpreserve / restore ----------------------------------- */

static int preserve_in_own_session(luo_ctx_t *ctx, int fd, uint64_t token,
				   struct luo_session **ret)
{
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r;

	token_session_name(token, name);
	r = internal_open(ctx, name, LUO_SESSION_OUTGOING, &s);
	if (r < 0)
		return r;
	r = luoi_req_preserve_fd(ctx->backend, s->fd, fd, token);
	if (r < 0) {
		/* the session is empty: closing it loses nothing */
		luoi_session_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static int mainline_preserve(luo_ctx_t *ctx, int fd, uint64_t token)
{
	struct luoi_compat *c = ctx->compat;
	struct luo_session *s = NULL;
	unsigned int state;
	int r;

	/* before the token's session exists: it could take the number of a
	 * descriptor just closed, and the kernel would be asked to preserve
	 * the session into itself */
	if (fcntl(fd, F_GETFD) < 0)
		return -errno;
	r = ensure_probed(ctx, "luo_fd_preserve");
	if (r < 0)
		return r;
	luoi_compat_begin_shared(c);
	if (luoi_token_table_peek(&c->tokens, token, &state) == 0)
		r = -EEXIST; /* preserved, pending, or from the last kernel */
	else if (c->state == LUO_STATE_PREPARED)
		r = -EBUSY; /* as the RFC kernel: the manifest is written */
	else if (reserve_session_room(c) < 0)
		r = -ENOMEM;
	else
		r = luoi_token_table_reserve(&c->tokens, token);
	if (r < 0) {
		luoi_compat_cancel_shared(c);
		return r;
	}
	luoi_mutex_unlock(&c->lock);

	r = preserve_in_own_session(ctx, fd, token, &s);

	luoi_mutex_lock(&c->lock);
	if (r == 0) {
		luoi_hmap_insert(&c->sessions, token, (uintptr_t)s);
		luoi_token_table_commit(&c->tokens, token, LUO_TOKEN_PRESERVED);
	} else {
		luoi_token_table_abort(&c->tokens, token);
	}
	luoi_compat_cancel_shared(c);
	luoi_compat_log_preserve(ctx, fd, token, r);
	return r;
}

static int mainline_unpreserve(luo_ctx_t *ctx, uint64_t token)
{
	struct luoi_compat *c = ctx->compat;
	enum luo_token_state state;
	struct luo_session *s;

	{
		LUOI_LOCK_GUARD(&c->lock);

		while (c->exclusive)
			pthread_cond_wait(&c->changed, &c->lock);
		if (luoi_token_table_lookup(&c->tokens, token, &state) < 0 ||
		    state != LUO_TOKEN_PRESERVED)
			return -ENOENT;
		if (c->state == LUO_STATE_PREPARED)
			return -EBUSY;
		luoi_token_table_remove(&c->tokens, token);
		s = take_session(c, token);
	}
	/* closing the token's own session unpreserves just it */
	luoi_session_free(s);
	return 0;
}

/* The token's incoming session, retrieved on first use.  restore_lock
 * makes two first restores of one token retrieve its session once. */
static int incoming_session(luo_ctx_t *ctx, uint64_t token,
			    struct luo_session **ret)
{
	struct luoi_compat *c = ctx->compat;
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r;

	LUOI_LOCK_GUARD(&c->restore_lock);
	luoi_mutex_lock(&c->lock);
	s = session_of(c, token);
	luoi_mutex_unlock(&c->lock);
	if (s) {
		*ret = s;
		return 0;
	}
	token_session_name(token, name);
	r = internal_open(ctx, name, LUO_SESSION_INCOMING, &s);
	if (r < 0)
		return r;
	LUOI_LOCK_GUARD(&c->lock);
	/* room reserved by mainline_restore() (reserve_session_room()) */
	luoi_hmap_insert(&c->sessions, token, (uintptr_t)s);
	*ret = s;
	return 0;
}

static int mainline_restore(luo_ctx_t *ctx, uint64_t token, int *fd)
{
	struct luoi_compat *c = ctx->compat;
	enum luo_token_state state;
	struct luo_session *s;
	int newfd = -1, r;

	r = ensure_probed(ctx, "luo_fd_restore");
	if (r < 0)
		return r;
	luoi_compat_begin_shared(c);
	if (c->state != LUO_STATE_UPDATED)
		r = -EBUSY;
	else if (luoi_token_table_lookup(&c->tokens, token, &state) < 0 ||
		 state == LUO_TOKEN_PRESERVED)
		r = -ENOENT;
	else if (reserve_session_room(c) < 0)
		r = -ENOMEM;
	if (r < 0) {
		luoi_compat_cancel_shared(c);
		luoi_compat_log_restore(ctx, token, r);
		return r;
	}
	luoi_mutex_unlock(&c->lock);

	/* finish waits for us: the session stays while we use it */
	r = incoming_session(ctx, token, &s);
	if (r == 0)
		r = luoi_req_retrieve_fd(ctx->backend, s->fd, token, &newfd);

	luoi_mutex_lock(&c->lock);
	if (r == 0)
		luoi_token_table_set(&c->tokens, token, LUO_TOKEN_RESTORED);
	luoi_compat_cancel_shared(c);
	luoi_compat_log_restore(ctx, token, r);
	if (r < 0)
		return r;
	*fd = newfd;
	return 0;
}

/* ---- prepare / cancel / finish ------------------------------------------ */

/* The tokens that are PRESERVED now, as an array. */
static int preserved_tokens(struct luoi_compat *c, uint64_t **ret, size_t *n)
{
	_cleanup_free_ struct luoi_token_snap *snap = NULL;
	size_t count, i, k = 0;
	uint64_t *tokens;
	int r;

	LUOI_LOCK_GUARD(&c->lock);
	r = luoi_token_table_snapshot(&c->tokens, &snap, &count);
	if (r < 0)
		return r;
	tokens = malloc((count ? count : 1) * sizeof(*tokens));
	if (!tokens)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		if (snap[i].state == LUO_TOKEN_PRESERVED)
			tokens[k++] = snap[i].token;
	*ret = tokens;
	*n = k;
	return 0;
}

/* A sealed memfd holding the manifest: a record of the tokens. */
static int manifest_memfd(const uint64_t *tokens, size_t n)
{
	_cleanup_free_ struct luoi_record_entry *e = NULL;

	if (n > LUOI_MANIFEST_MAX_TOKENS)
		return -E2BIG;
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		e[i] = (struct luoi_record_entry){ .type = LUOI_RECORD_TOKEN,
						   .token = tokens[i] };
	return luoi_record_write_memfd(LUOI_RECORD_MANIFEST, e, n);
}

static int write_manifest(luo_ctx_t *ctx, struct luo_session **ret)
{
	_cleanup_free_ uint64_t *tokens = NULL;
	_cleanup_close_ int mfd = -1;
	struct luo_session *s;
	size_t n;
	int r;

	r = preserved_tokens(ctx->compat, &tokens, &n);
	if (r < 0)
		return r;
	mfd = manifest_memfd(tokens, n);
	if (mfd < 0)
		return mfd;
	r = internal_open(ctx, MANIFEST_SESSION, LUO_SESSION_OUTGOING, &s);
	if (r < 0)
		return r;
	/* the kernel takes its own reference to the memfd */
	r = luoi_req_preserve_fd(ctx->backend, s->fd, mfd, MANIFEST_TOKEN);
	if (r < 0) {
		luoi_session_free(s); /* empty: loses nothing */
		return r;
	}
	*ret = s;
	return 0;
}

static int mainline_prepare(luo_ctx_t *ctx)
{
	struct luoi_compat *c = ctx->compat;
	struct luo_session *s;
	int r;

	luoi_compat_begin_exclusive(c);
	r = probe(ctx, "luo_prepare");
	if (r == 0 && c->state != LUO_STATE_NORMAL)
		r = -EINVAL;
	if (r == 0)
		r = write_manifest(ctx, &s);
	if (r == 0) {
		LUOI_LOCK_GUARD(&c->lock);
		c->manifest_out = s;
		c->state = LUO_STATE_PREPARED;
	}
	luoi_compat_end_exclusive(c);
	return r;
}

static int mainline_cancel(luo_ctx_t *ctx)
{
	struct luoi_compat *c = ctx->compat;
	struct luo_session *s = NULL;
	int r = 0;

	luoi_compat_begin_exclusive(c);
	{
		LUOI_LOCK_GUARD(&c->lock);
		if (c->state != LUO_STATE_PREPARED) {
			r = -EINVAL;
		} else {
			s = TAKE_PTR(c->manifest_out);
			c->state = LUO_STATE_NORMAL;
		}
	}
	luoi_session_free(s);
	luoi_compat_end_exclusive(c);
	return r;
}

/* Finish one token's incoming session, retrieving it first if needed so
 * that an unrestored token is discarded now, as on the RFC ABI; then
 * forget the token, so that the bookkeeping follows the kernel even if a
 * later token fails. */
static int finish_token(luo_ctx_t *ctx, uint64_t token)
{
	struct luoi_compat *c = ctx->compat;
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r;

	{
		LUOI_LOCK_GUARD(&c->lock);
		s = session_of(c, token);
		r = s ? 0 : luoi_hmap_reserve(&c->sessions, 1);
	}
	if (r < 0)
		return r;
	if (!s) {
		token_session_name(token, name);
		r = internal_open(ctx, name, LUO_SESSION_INCOMING, &s);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == 0) {
			/* keep it: closing a retrieved session finishes it,
			 * and a failed finish must leave it retrievable */
			LUOI_LOCK_GUARD(&c->lock);
			luoi_hmap_insert(&c->sessions, token, (uintptr_t)s);
		}
		/* -ENOENT: nothing left to finish */
	}
	if (s) {
		r = luoi_req_finish(ctx->backend, s->fd);
		if (r < 0)
			return r; /* -EBUSY: the caller may retry */
	}
	{
		LUOI_LOCK_GUARD(&c->lock);
		luoi_token_table_remove(&c->tokens, token);
		s = take_session(c, token);
	}
	luoi_session_free(s);
	return 0;
}

static int finish_all(luo_ctx_t *ctx)
{
	struct luoi_compat *c = ctx->compat;
	_cleanup_free_ struct luoi_token_snap *snap = NULL;
	struct luo_session *manifest;
	size_t n, i;
	int r;

	r = probe(ctx, "luo_finish");
	if (r < 0)
		return r;
	{
		LUOI_LOCK_GUARD(&c->lock);
		if (c->state != LUO_STATE_UPDATED)
			return -EINVAL;
		r = luoi_token_table_snapshot(&c->tokens, &snap, &n);
		if (r < 0)
			return r;
	}
	for (i = 0; i < n; i++) {
		if (snap[i].state == LUO_TOKEN_PRESERVED)
			continue;
		r = finish_token(ctx, snap[i].token);
		if (r < 0)
			return r;
	}
	r = luoi_req_finish(ctx->backend, c->manifest_in->fd);
	if (r < 0)
		return r;
	{
		LUOI_LOCK_GUARD(&c->lock);
		manifest = TAKE_PTR(c->manifest_in);
		luoi_token_table_drop_incoming(&c->tokens);
		c->state = LUO_STATE_NORMAL;
	}
	luoi_session_free(manifest);
	return 0;
}

static int mainline_finish(luo_ctx_t *ctx)
{
	int r;

	luoi_compat_begin_exclusive(ctx->compat);
	r = finish_all(ctx);
	luoi_compat_end_exclusive(ctx->compat);
	return r;
}

/* Last reference gone: close what the original API owns. */
static void mainline_release(luo_ctx_t *ctx)
{
	struct luoi_compat *c = ctx->compat;
	uint64_t token, value;
	size_t i = 0;

	while (luoi_hmap_next(&c->sessions, &i, &token, &value))
		luoi_session_free((struct luo_session *)(uintptr_t)value);
	luoi_session_free(TAKE_PTR(c->manifest_out));
	luoi_session_free(TAKE_PTR(c->manifest_in));
}

/* The bookkeeping lists what came from the previous kernel without an
 * unrelated call having loaded the manifest first. */
static int mainline_load(luo_ctx_t *ctx, const char *api)
{
	return ensure_probed(ctx, api);
}

const struct luoi_compat_ops luoi_compat_mainline_ops = {
	.load = mainline_load,
	.get_state = mainline_get_state,
	.preserve = mainline_preserve,
	.unpreserve = mainline_unpreserve,
	.restore = mainline_restore,
	.prepare = mainline_prepare,
	.cancel = mainline_cancel,
	.finish = mainline_finish,
	.release = mainline_release,
};
