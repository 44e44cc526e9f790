/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original API's public entry points: argument checks, then the ABI's
 * implementation.  The bookkeeping functions (lookup, count, foreach) need
 * no device and work on any context.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "macro.h"
#include "session.h"

/* Last context reference gone: close what the original API owns. */
static void compat_free(luo_ctx_t *ctx)
{
	struct luoi_compat *c = atomic_load(&ctx->compat);

	if (!c)
		return;
	c->ops->release(ctx);
	luoi_token_table_fini(&c->tokens);
	luoi_hmap_fini(&c->sessions);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->restore_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	atomic_store(&ctx->compat, NULL);
}

static struct luoi_compat *compat_alloc(enum luo_abi abi)
{
	struct luoi_compat *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	luoi_mutex_init(&c->lock);
	luoi_mutex_init(&c->restore_lock);
	c->changed = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	c->ops = abi == LUO_ABI_RFC ? &luoi_compat_rfc_ops :
				      &luoi_compat_mainline_ops;
	c->state = LUO_STATE_NORMAL;
	luoi_token_table_init(&c->tokens);
	luoi_hmap_init(&c->sessions);
	return c;
}

/* The context's original-API state, made on first use.  Two threads may
 * race to make it: one wins, the other frees its copy. */
static int compat_get(luo_ctx_t *ctx, struct luoi_compat **ret)
{
	struct luoi_compat *c = atomic_load(&ctx->compat), *expected = NULL;

	if (c) {
		*ret = c;
		return 0;
	}
	c = compat_alloc(ctx->abi);
	if (!c)
		return -ENOMEM;
	if (!atomic_compare_exchange_strong(&ctx->compat, &expected, c)) {
		pthread_cond_destroy(&c->changed);
		pthread_mutex_destroy(&c->restore_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		*ret = expected;
		return 0;
	}
	ctx->compat_free = compat_free;
	*ret = c;
	return 0;
}

void luoi_compat_begin_shared(struct luoi_compat *c)
{
	luoi_mutex_lock(&c->lock);
	while (c->exclusive)
		pthread_cond_wait(&c->changed, &c->lock);
	c->in_flight++;
}

void luoi_compat_cancel_shared(struct luoi_compat *c)
{
	if (--c->in_flight == 0)
		pthread_cond_broadcast(&c->changed);
	luoi_mutex_unlock(&c->lock);
}

void luoi_compat_end_shared(struct luoi_compat *c)
{
	luoi_mutex_lock(&c->lock);
	luoi_compat_cancel_shared(c);
}

void luoi_compat_begin_exclusive(struct luoi_compat *c)
{
	LUOI_LOCK_GUARD(&c->lock);

	while (c->exclusive || c->in_flight)
		pthread_cond_wait(&c->changed, &c->lock);
	c->exclusive = true;
}

void luoi_compat_end_exclusive(struct luoi_compat *c)
{
	LUOI_LOCK_GUARD(&c->lock);

	c->exclusive = false;
	pthread_cond_broadcast(&c->changed);
}

/* The usual checks, and the device: luo_ctx_close_device() ends the
 * original API's kernel calls (its bookkeeping stays readable). */
static int compat_enter(luo_ctx_t *ctx)
{
	struct luoi_compat *c;
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (atomic_load(&ctx->dev_fd) < 0)
		return -ENODEV;
	return compat_get(ctx, &c);
}

void luoi_compat_log_preserve(luo_ctx_t *ctx, int fd, uint64_t token, int r)
{
	const char *hint = NULL;

	if (r == 0) {
		luoi_dbg(ctx, "luo_fd_preserve", "fd %d preserved as %#" PRIx64,
			 fd, token);
		return;
	}
	switch (-r) {
	case EMFILE:
		hint = "on the mainline ABI each token of the original API "
		       "takes a descriptor (a session of its own): raise "
		       "RLIMIT_NOFILE, or use sessions";
		break;
	case ENOENT:
		hint = "the kernel preserves only memfds (shmem files, not "
		       "MFD_HUGETLB ones)";
		break;
	case EBUSY:
		hint = "the file is preserved already, or luo_prepare() was "
		       "called (luo_cancel() reopens)";
		break;
	case EEXIST:
		hint = "the token is in use, or came from the previous kernel "
		       "and is not finished";
		break;
	case ENODEV:
		hint = "the context has no device (closed, or from before the "
		       "live update)";
		break;
	}
	luoi_err(ctx, "luo_fd_preserve", "preserve fd %d as %#" PRIx64 ": %s%s%s",
		 fd, token, strerror(-r), hint ? ": " : "", luoi_strempty(hint));
}

void luoi_compat_log_restore(luo_ctx_t *ctx, uint64_t token, int r)
{
	const char *hint = NULL;

	if (r == 0) {
		luoi_dbg(ctx, "luo_fd_restore", "token %#" PRIx64 " restored",
			 token);
		return;
	}
	switch (-r) {
	case EBUSY:
		hint = "no live update to restore from (the state is not "
		       "UPDATED): luo_prepare() must run before the kexec";
		break;
	case ENOENT:
		hint = "the previous kernel did not carry this token";
		break;
	case EMFILE:
		hint = "no descriptor left: raise RLIMIT_NOFILE";
		break;
	}
	luoi_err(ctx, "luo_fd_restore", "restore %#" PRIx64 ": %s%s%s", token,
		 strerror(-r), hint ? ": " : "", luoi_strempty(hint));
}

LUOI_EXPORT int luo_get_state(luo_ctx_t *ctx, enum luo_state *state)
{
	int r = compat_enter(ctx);

	if (r < 0)
		return r;
	if (!state)
		return -EINVAL;
	return ctx->compat->ops->get_state(ctx, state);
}

LUOI_EXPORT int luo_fd_preserve(luo_ctx_t *ctx, int fd, uint64_t token)
{
	int r = compat_enter(ctx);

	if (r < 0)
		return r;
	if (fd < 0)
		return -EINVAL;
	return ctx->compat->ops->preserve(ctx, fd, token);
}

LUOI_EXPORT int luo_fd_unpreserve(luo_ctx_t *ctx, uint64_t token)
{
	int r = compat_enter(ctx);

	return r < 0 ? r : ctx->compat->ops->unpreserve(ctx, token);
}

LUOI_EXPORT int luo_fd_restore(luo_ctx_t *ctx, uint64_t token, int *fd)
{
	int r = compat_enter(ctx);

	if (r < 0)
		return r;
	if (!fd)
		return -EINVAL;
	return ctx->compat->ops->restore(ctx, token, fd);
}

LUOI_EXPORT int luo_prepare(luo_ctx_t *ctx)
{
	int r = compat_enter(ctx);

	return r < 0 ? r : ctx->compat->ops->prepare(ctx);
}

LUOI_EXPORT int luo_cancel(luo_ctx_t *ctx)
{
	int r = compat_enter(ctx);

	return r < 0 ? r : ctx->compat->ops->cancel(ctx);
}

LUOI_EXPORT int luo_finish(luo_ctx_t *ctx)
{
	int r = compat_enter(ctx);

	return r < 0 ? r : ctx->compat->ops->finish(ctx);
}

LUOI_EXPORT const char *luo_state_to_string(enum luo_state state)
{
	switch (state) {
	case LUO_STATE_UNDEFINED:
		return "undefined";
	case LUO_STATE_NORMAL:
		return "normal";
	case LUO_STATE_PREPARED:
		return "prepared";
	case LUO_STATE_FROZEN:
		return "frozen";
	case LUO_STATE_UPDATED:
		return "updated";
	}
	return "unknown";
}

/*
 * The bookkeeping, for the lookup functions: NULL when there is none
 * (a context that never had the device), after learning what the last
 * kernel left when the device is there.
 */
static int tokens_enter(luo_ctx_t *ctx, const char *api,
			struct luoi_compat **ret)
{
	struct luoi_compat *c;
	int r;

	*ret = NULL;
	if (atomic_load(&ctx->dev_fd) < 0) {
		*ret = atomic_load(&ctx->compat);
		return 0;
	}
	r = compat_get(ctx, &c);
	if (r < 0)
		return r;
	/*
	 * What keeps the manifest from loading for good (another context of
	 * this boot took it: EINVAL; a device dead after a simulated kexec
	 * or closed: ENODEV; none, or an unreadable one) leaves the list as
	 * it is, and luo_get_state() says why.  A passing error fails the
	 * call, and the next one tries again.
	 */
	if (c->ops->load) {
		r = c->ops->load(ctx, api);
		if (r < 0 && r != -EINVAL && r != -ENODEV && r != -ENOENT &&
		    r != -EBADMSG && r != -EPROTONOSUPPORT)
			return r;
	}
	*ret = c;
	return 0;
}

LUOI_EXPORT int luo_token_lookup(luo_ctx_t *ctx, uint64_t token,
				 enum luo_token_state *state)
{
	struct luoi_compat *c;
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!state)
		return -EINVAL;
	r = tokens_enter(ctx, "luo_token_lookup", &c);
	if (r < 0)
		return r;
	if (!c)
		return -ENOENT;
	LUOI_LOCK_GUARD(&c->lock);
	return luoi_token_table_lookup(&c->tokens, token, state);
}

LUOI_EXPORT int luo_token_count(luo_ctx_t *ctx)
{
	struct luoi_compat *c;
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	r = tokens_enter(ctx, "luo_token_count", &c);
	if (r < 0)
		return r;
	if (!c)
		return 0;
	LUOI_LOCK_GUARD(&c->lock);
	return (int)luoi_token_table_count(&c->tokens);
}

LUOI_EXPORT int luo_token_foreach(luo_ctx_t *ctx, luo_token_fn fn,
				  void *userdata)
{
	struct luoi_compat *c;
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	r = tokens_enter(ctx, "luo_token_foreach", &c);
	if (r < 0)
		return r;
	if (!c)
		return 0;
	return luoi_token_foreach(&c->lock, &c->tokens, fn, userdata);
}
