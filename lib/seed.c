/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libluo API (state; preserve, unpreserve and restore by
 * token; prepare, cancel, finish) on both kernel ABIs.
 *
 * RFC ABI: each call is the kernel request of the same name.
 *
 * Mainline ABI: the kernel has sessions and no state machine, so libluo
 * builds the original model out of sessions it owns:
 *  - every token lives alone in a session "libluo.tok.<16 hex digits>".
 *    The kernel has no per-file unpreserve, but closing an outgoing session
 *    unpreserves what it holds, so closing the token's own session is an
 *    exact luo_fd_unpreserve();
 *  - luo_prepare() preserves a sealed memfd listing every token (the
 *    manifest) in a session "libluo.manifest" and enters PREPARED;
 *    luo_cancel() closes that session again;
 *  - after the kexec, the first call that needs the state retrieves the
 *    manifest: if there is one, the state is UPDATED and its tokens are
 *    known (INCOMING) until luo_finish() finishes every token session,
 *    restored or not, and the manifest's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libluo-private.h"

#define MANIFEST_MAGIC "LIBLUOM1"
#define MANIFEST_MAX_TOKENS (1u << 24)

struct manifest_header {
	char magic[8];
	uint32_t version;
	uint32_t count;
	/* followed by count uint64_t tokens */
};

static void token_session_name(uint64_t token, char name[LUO_K_NAME_LEN])
{
	snprintf(name, LUO_K_NAME_LEN, LUO_SEED_TOKEN_PREFIX "%016" PRIx64,
		 token);
}

/* Lock the context after the usual checks; the caller unlocks.  The
 * device is checked under the lock: luo_ctx_close_device() may run. */
static int seed_enter(luo_ctx_t *ctx)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	luo_ctx_lock(ctx);
	if (ctx->dev_fd < 0) {
		luo_ctx_unlock(ctx);
		return -ENODEV;
	}
	return 0;
}

/* The bookkeeping needs no device. */
static int tokens_enter(luo_ctx_t *ctx)
{
	int r = luo_ctx_check(ctx);

	if (r == 0)
		luo_ctx_lock(ctx);
	return r;
}

static void close_internal(struct luo_session **s)
{
	luo_session_free_locked(*s);
	*s = NULL;
}

/*
 * An internal session of @dir named @name: created (outgoing) or retrieved
 * (incoming).  Allocated before the kernel is asked, so that a session
 * retrieved once per boot is never dropped for lack of memory.
 */
static int internal_session(luo_ctx_t *ctx, const char *name,
			    enum luo_session_direction dir,
			    struct luo_session **ret)
{
	struct luo_session *s = luo_session_alloc(ctx, -1, name, dir);
	int r;

	if (!s)
		return -ENOMEM;
	s->internal = true;
	if (dir == LUO_SESSION_OUTGOING)
		r = luo_k_create_session(ctx, name, &s->fd);
	else
		r = luo_k_retrieve_session(ctx, name, &s->fd);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* ---- mainline: the manifest ------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A sealed memfd holding the tokens that are PRESERVED now. */
static int manifest_build(luo_ctx_t *ctx)
{
	struct manifest_header h = { .version = 1 };
	struct luo_token_entry *e;
	uint64_t *tokens = NULL;
	size_t i = 0, n = 0;
	int fd, r;

	fd = memfd_create(LUO_SEED_MANIFEST_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ctx->seed_tokens.count) {
		tokens = malloc(ctx->seed_tokens.count * sizeof(*tokens));
		if (!tokens) {
			close(fd);
			return -ENOMEM;
		}
	}
	while ((e = luo_token_table_next(&ctx->seed_tokens, &i)))
		if (e->state == LUO_TOKEN_PRESERVED)
			tokens[n++] = e->token;
	memcpy(h.magic, MANIFEST_MAGIC, sizeof(h.magic));
	h.count = (uint32_t)n;
	r = write_all(fd, &h, sizeof(h));
	if (r == 0)
		r = write_all(fd, tokens, n * sizeof(*tokens));
	free(tokens);
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK |
						F_SEAL_GROW | F_SEAL_WRITE) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Record the tokens of a retrieved manifest as INCOMING. */
static int manifest_load(luo_ctx_t *ctx, int fd)
{
	struct manifest_header h;
	uint64_t *tokens;
	uint32_t i;
	int r;

	r = read_all(fd, &h, sizeof(h), 0);
	if (r < 0)
		return r;
	if (memcmp(h.magic, MANIFEST_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != 1 || h.count > MANIFEST_MAX_TOKENS)
		return -EBADMSG;
	tokens = malloc((h.count ? h.count : 1) * sizeof(*tokens));
	if (!tokens)
		return -ENOMEM;
	r = read_all(fd, tokens, h.count * sizeof(*tokens), sizeof(h));
	if (r == 0)
		r = luo_token_table_reserve(&ctx->seed_tokens, h.count);
	for (i = 0; r == 0 && i < h.count; i++) {
		struct luo_token_entry e = { .token = tokens[i],
					     .state = LUO_TOKEN_INCOMING };

		/* a token preserved again in this boot keeps its new entry */
		if (!luo_token_table_find(&ctx->seed_tokens, tokens[i]))
			r = luo_token_table_insert(&ctx->seed_tokens, &e);
	}
	free(tokens);
	return r;
}

/*
 * Once per context: did the previous kernel hand us a manifest?  Retrieving
 * it is the only way to ask, and a session can be retrieved once per boot,
 * so the context keeps it until luo_finish().  Reading the list can fail
 * transiently (-ENOMEM, -EMFILE): then the next call tries again, since the
 * kernel hands out the manifest file as often as asked.
 */
static int seed_probe(luo_ctx_t *ctx)
{
	int mfd, r;

	if (ctx->abi != LUO_ABI_MAINLINE || ctx->seed_probed)
		return 0;
	if (!ctx->manifest_in) {
		r = internal_session(ctx, LUO_SEED_MANIFEST_NAME,
				     LUO_SESSION_INCOMING, &ctx->manifest_in);
		if (r == -ENOENT) {
			ctx->seed_probed = true;
			return 0;
		}
		if (r < 0) {
			luo_err(ctx, "cannot retrieve the libluo manifest: %s",
				strerror(-r));
			return r;
		}
		/* a live update did happen, whatever the list says */
		ctx->seed_state = LUO_STATE_UPDATED;
	}

	r = luo_k_retrieve_fd(ctx, ctx->manifest_in->fd, LUO_SEED_MANIFEST_TOKEN,
			      &mfd);
	if (r == 0) {
		r = manifest_load(ctx, mfd);
		close(mfd);
	}
	if (r == -EBADMSG || r == -ENOENT) {
		/* not transient: go on without the list, so that
		 * luo_finish() can still end the update */
		luo_err(ctx, "the libluo manifest is unusable: %s",
			strerror(-r));
		ctx->seed_probed = true;
		return r;
	}
	if (r < 0) {
		luo_err(ctx, "cannot read the libluo manifest: %s",
			strerror(-r));
		return r;
	}
	ctx->seed_probed = true;
	luo_dbg(ctx, "live update found: %zu token(s) came from the previous "
		     "kernel", ctx->seed_tokens.count);
	return 0;
}

/* ---- state ------------------------------------------------------------ */

LUO_EXPORT int luo_get_state(luo_ctx_t *ctx, enum luo_state *state)
{
	int32_t k = 0;
	int r;

	r = seed_enter(ctx);
	if (r < 0)
		return r;
	if (!state)
		r = -EINVAL;
	else if (ctx->abi == LUO_ABI_RFC)
		r = luo_ctx_ioctl(ctx, ctx->dev_fd, LUO_K_RFC_GET_STATE, &k);
	else
		r = seed_probe(ctx);
	if (r == 0)
		*state = ctx->abi == LUO_ABI_RFC ? (enum luo_state)k :
						   ctx->seed_state;
	luo_ctx_unlock(ctx);
	return r;
}

/* ---- preserve / unpreserve / restore ---------------------------------- */

static int mainline_preserve(luo_ctx_t *ctx, int fd, uint64_t token,
			     struct luo_session **ret)
{
	char name[LUO_K_NAME_LEN];
	struct luo_session *s;
	int r;

	token_session_name(token, name);
	r = internal_session(ctx, name, LUO_SESSION_OUTGOING, &s);
	if (r < 0)
		return r;
	r = luo_k_preserve_fd(ctx, s->fd, fd, token);
	if (r < 0) {
		/* the session is empty: closing it loses nothing */
		luo_session_free_locked(s);
		return r;
	}
	*ret = s;
	return 0;
}

LUO_EXPORT int luo_fd_preserve(luo_ctx_t *ctx, int fd, uint64_t token)
{
	struct luo_token_entry e = { .token = token,
				     .state = LUO_TOKEN_PRESERVED };
	int r;

	r = seed_enter(ctx);
	if (r < 0)
		return r;
	if (fd < 0)
		r = -EINVAL;
	else if (luo_token_table_find(&ctx->seed_tokens, token))
		r = -EEXIST;
	else
		r = seed_probe(ctx);
	if (r == 0 && ctx->abi == LUO_ABI_MAINLINE &&
	    ctx->seed_state == LUO_STATE_PREPARED)
		r = -EBUSY; /* as the RFC kernel: the manifest is written */
	if (r == 0)
		r = luo_token_table_reserve(&ctx->seed_tokens, 1);
	if (r == 0) {
		if (ctx->abi == LUO_ABI_RFC) {
			struct luo_k_rfc_fd req = { .fd = fd, .token = token };

			r = luo_ctx_ioctl(ctx, ctx->dev_fd,
					  LUO_K_RFC_FD_PRESERVE, &req);
		} else {
			r = mainline_preserve(ctx, fd, token, &e.session);
		}
	}
	if (r == 0)
		r = luo_token_table_insert(&ctx->seed_tokens, &e);
	else
		luo_dbg(ctx, "preserve fd %d as %#" PRIx64 ": %s", fd, token,
			strerror(-r));
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_fd_unpreserve(luo_ctx_t *ctx, uint64_t token)
{
	struct luo_token_entry *e;
	int r;

	r = seed_enter(ctx);
	if (r < 0)
		return r;
	e = luo_token_table_find(&ctx->seed_tokens, token);
	if (!e || e->state != LUO_TOKEN_PRESERVED)
		r = -ENOENT;
	else if (ctx->abi == LUO_ABI_RFC) {
		uint64_t t = token;

		r = luo_ctx_ioctl(ctx, ctx->dev_fd, LUO_K_RFC_FD_UNPRESERVE, &t);
	} else if (ctx->seed_state == LUO_STATE_PREPARED) {
		r = -EBUSY;
	} else {
		/* closing the token's own session unpreserves just it */
		close_internal(&e->session);
	}
	if (r == 0)
		luo_token_table_remove(&ctx->seed_tokens, token);
	luo_ctx_unlock(ctx);
	return r;
}

static int mainline_restore(luo_ctx_t *ctx, struct luo_token_entry *e,
			    int *fd)
{
	char name[LUO_K_NAME_LEN];
	int r;

	if (!e->session) {
		token_session_name(e->token, name);
		r = internal_session(ctx, name, LUO_SESSION_INCOMING,
				     &e->session);
		if (r < 0)
			return r;
	}
	return luo_k_retrieve_fd(ctx, e->session->fd, e->token, fd);
}

LUO_EXPORT int luo_fd_restore(luo_ctx_t *ctx, uint64_t token, int *fd)
{
	struct luo_token_entry *e;
	int r, newfd = -1;

	r = seed_enter(ctx);
	if (r < 0)
		return r;
	if (!fd) {
		luo_ctx_unlock(ctx);
		return -EINVAL;
	}
	if (ctx->abi == LUO_ABI_RFC) {
		struct luo_k_rfc_fd req = { .fd = -1, .token = token };
		struct luo_token_entry n = { .token = token,
					     .state = LUO_TOKEN_RESTORED };

		r = luo_token_table_reserve(&ctx->seed_tokens, 1);
		if (r == 0)
			r = luo_ctx_ioctl(ctx, ctx->dev_fd,
					  LUO_K_RFC_FD_RESTORE, &req);
		if (r == 0) {
			newfd = req.fd;
			e = luo_token_table_find(&ctx->seed_tokens, token);
			if (e)
				e->state = LUO_TOKEN_RESTORED;
			else
				r = luo_token_table_insert(&ctx->seed_tokens,
							   &n);
		}
	} else {
		r = seed_probe(ctx);
		if (r == 0 && ctx->seed_state != LUO_STATE_UPDATED)
			r = -EBUSY;
		if (r == 0) {
			e = luo_token_table_find(&ctx->seed_tokens, token);
			if (!e || e->state == LUO_TOKEN_PRESERVED)
				r = -ENOENT;
			else
				r = mainline_restore(ctx, e, &newfd);
			if (r == 0)
				e->state = LUO_TOKEN_RESTORED;
		}
	}
	if (r == 0)
		*fd = newfd;
	else
		luo_dbg(ctx, "restore %#" PRIx64 ": %s", token, strerror(-r));
	luo_ctx_unlock(ctx);
	return r;
}

/* ---- prepare / cancel / finish ---------------------------------------- */

static int rfc_simple(luo_ctx_t *ctx, unsigned long request)
{
	return luo_ctx_ioctl(ctx, ctx->dev_fd, request, NULL);
}

static int mainline_prepare(luo_ctx_t *ctx)
{
	struct luo_session *s;
	int mfd, r;

	if (ctx->seed_state != LUO_STATE_NORMAL)
		return -EINVAL;
	mfd = manifest_build(ctx);
	if (mfd < 0)
		return mfd;
	r = internal_session(ctx, LUO_SEED_MANIFEST_NAME, LUO_SESSION_OUTGOING,
			     &s);
	if (r == 0) {
		r = luo_k_preserve_fd(ctx, s->fd, mfd, LUO_SEED_MANIFEST_TOKEN);
		if (r < 0)
			luo_session_free_locked(s); /* empty: loses nothing */
	}
	close(mfd); /* the kernel holds its own reference */
	if (r < 0)
		return r;
	ctx->manifest_out = s;
	ctx->seed_state = LUO_STATE_PREPARED;
	return 0;
}

LUO_EXPORT int luo_prepare(luo_ctx_t *ctx)
{
	int r = seed_enter(ctx);

	if (r < 0)
		return r;
	if (ctx->abi == LUO_ABI_RFC)
		r = rfc_simple(ctx, LUO_K_RFC_PREPARE);
	else
		r = seed_probe(ctx);
	if (r == 0 && ctx->abi == LUO_ABI_MAINLINE)
		r = mainline_prepare(ctx);
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_cancel(luo_ctx_t *ctx)
{
	int r = seed_enter(ctx);

	if (r < 0)
		return r;
	if (ctx->abi == LUO_ABI_RFC) {
		r = rfc_simple(ctx, LUO_K_RFC_CANCEL);
	} else if (ctx->seed_state != LUO_STATE_PREPARED) {
		r = -EINVAL;
	} else {
		close_internal(&ctx->manifest_out);
		ctx->seed_state = LUO_STATE_NORMAL;
	}
	luo_ctx_unlock(ctx);
	return r;
}

/* Forget the tokens that came from the previous kernel. */
static void drop_incoming(luo_ctx_t *ctx)
{
	struct luo_token_entry *e;
	size_t i = 0;

	while ((e = luo_token_table_next(&ctx->seed_tokens, &i)))
		if (e->state != LUO_TOKEN_PRESERVED)
			luo_token_table_remove(&ctx->seed_tokens, e->token);
}

/* Finish one token's incoming session, retrieving it first if needed so
 * that an unrestored token is discarded now, as on the RFC ABI. */
static int finish_token(luo_ctx_t *ctx, struct luo_token_entry *e)
{
	char name[LUO_K_NAME_LEN];
	int r;

	if (!e->session) {
		token_session_name(e->token, name);
		r = internal_session(ctx, name, LUO_SESSION_INCOMING,
				     &e->session);
		if (r == -ENOENT)
			return 0; /* nothing left to finish */
		if (r < 0)
			return r;
	}
	r = luo_k_finish(ctx, e->session->fd);
	if (r < 0)
		return r;
	close_internal(&e->session);
	return 0;
}

static int mainline_finish(luo_ctx_t *ctx)
{
	struct luo_token_entry *e;
	size_t i = 0;
	int r;

	if (ctx->seed_state != LUO_STATE_UPDATED)
		return -EINVAL;
	while ((e = luo_token_table_next(&ctx->seed_tokens, &i))) {
		if (e->state == LUO_TOKEN_PRESERVED)
			continue;
		r = finish_token(ctx, e);
		if (r < 0)
			return r; /* -EBUSY: the caller may retry */
	}
	r = luo_k_finish(ctx, ctx->manifest_in->fd);
	if (r < 0)
		return r;
	close_internal(&ctx->manifest_in);
	drop_incoming(ctx);
	ctx->seed_state = LUO_STATE_NORMAL;
	return 0;
}

LUO_EXPORT int luo_finish(luo_ctx_t *ctx)
{
	int r = seed_enter(ctx);

	if (r < 0)
		return r;
	if (ctx->abi == LUO_ABI_RFC) {
		r = rfc_simple(ctx, LUO_K_RFC_FINISH);
		if (r == 0)
			drop_incoming(ctx);
	} else {
		r = seed_probe(ctx);
		if (r == 0)
			r = mainline_finish(ctx);
	}
	luo_ctx_unlock(ctx);
	return r;
}

/* ---- token bookkeeping ------------------------------------------------ */

LUO_EXPORT int luo_token_lookup(luo_ctx_t *ctx, uint64_t token,
				enum luo_token_state *state)
{
	struct luo_token_entry *e;
	int r = tokens_enter(ctx);

	if (r < 0)
		return r;
	e = luo_token_table_find(&ctx->seed_tokens, token);
	if (!state)
		r = -EINVAL;
	else if (!e)
		r = -ENOENT;
	else
		*state = e->state;
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_token_count(luo_ctx_t *ctx)
{
	int r = tokens_enter(ctx);

	if (r < 0)
		return r;
	r = (int)ctx->seed_tokens.count;
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_token_foreach(luo_ctx_t *ctx, luo_token_fn fn,
				 void *userdata)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	return luo_token_table_foreach_snapshot(ctx, &ctx->seed_tokens, fn,
						userdata);
}

/* Last reference gone: close what the original API owns. */
void luo_seed_release(luo_ctx_t *ctx)
{
	struct luo_token_entry *e;
	size_t i = 0;

	while ((e = luo_token_table_next(&ctx->seed_tokens, &i)))
		luo_session_free_locked(e->session);
	luo_session_free_locked(ctx->manifest_out);
	luo_session_free_locked(ctx->manifest_in);
	ctx->manifest_out = ctx->manifest_in = NULL;
}
