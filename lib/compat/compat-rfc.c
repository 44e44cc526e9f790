/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original API on the RFC ABI (June 2025 series): each call is the
 * kernel request of the same name on the device; libluo mirrors the
 * kernel's token list in c->tokens.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "compat.h"
#include "kernel-req.h"
#include "log.h"
#include "macro.h"

/* Run @request-like helpers with the device borrowed. */
#define WITH_DEVICE(ctx, dev_fd, call)                                    \
	({                                                                \
		int dev_fd = luoi_ctx_device_get(ctx);                    \
		int r_ = dev_fd;                                          \
		if (dev_fd >= 0) {                                        \
			r_ = (call);                                      \
			luoi_ctx_device_put(ctx);                         \
		}                                                         \
		r_;                                                       \
	})

static int rfc_get_state(luo_ctx_t *ctx, enum luo_state *state)
{
	int32_t k = 0;
	int r = WITH_DEVICE(ctx, fd,
			    luoi_req_rfc_get_state(ctx->backend, fd, &k));

	if (r < 0)
		return r;
	*state = (enum luo_state)k;
	return 0;
}

static int rfc_preserve(luo_ctx_t *ctx, int fd, uint64_t token)
{
	struct luoi_compat *c = ctx->compat;
	int r;

	luoi_compat_begin_shared(c);
	r = luoi_token_table_reserve(&c->tokens, token);
	if (r < 0) {
		luoi_compat_cancel_shared(c);
		return r;
	}
	luoi_mutex_unlock(&c->lock);

	r = WITH_DEVICE(ctx, dev_fd,
			luoi_req_rfc_preserve(ctx->backend, dev_fd, fd, token));

	luoi_mutex_lock(&c->lock);
	if (r == 0)
		luoi_token_table_commit(&c->tokens, token, LUO_TOKEN_PRESERVED);
	else
		luoi_token_table_abort(&c->tokens, token);
	luoi_compat_cancel_shared(c);
	luoi_compat_log_preserve(ctx, fd, token, r);
	return r;
}

static int rfc_unpreserve(luo_ctx_t *ctx, uint64_t token)
{
	struct luoi_compat *c = ctx->compat;
	enum luo_token_state state;
	int r;

	luoi_compat_begin_shared(c);
	r = luoi_token_table_lookup(&c->tokens, token, &state);
	if (r < 0 || state != LUO_TOKEN_PRESERVED) {
		luoi_compat_cancel_shared(c);
		return -ENOENT;
	}
	luoi_mutex_unlock(&c->lock);

	r = WITH_DEVICE(ctx, dev_fd,
			luoi_req_rfc_unpreserve(ctx->backend, dev_fd, token));

	luoi_mutex_lock(&c->lock);
	if (r == 0)
		luoi_token_table_remove(&c->tokens, token);
	luoi_compat_cancel_shared(c);
	return r;
}

static int rfc_restore(luo_ctx_t *ctx, uint64_t token, int *fd)
{
	struct luoi_compat *c = ctx->compat;
	int newfd = -1, r;

	luoi_compat_begin_shared(c);
	/* room first: after the kernel handed the file out, recording it
	 * must not fail */
	r = luoi_token_table_make_room(&c->tokens, 1);
	if (r < 0) {
		luoi_compat_cancel_shared(c);
		return r;
	}
	luoi_mutex_unlock(&c->lock);

	r = WITH_DEVICE(ctx, dev_fd,
			luoi_req_rfc_restore(ctx->backend, dev_fd, token,
					     &newfd));

	luoi_mutex_lock(&c->lock);
	if (r == 0) {
		unsigned int state;

		/*
		 * The RFC kernel keeps this boot's tokens and the last boot's
		 * in two lists: a token restored from the old one may also be
		 * preserved in the new one.  Such a token stays PRESERVED in
		 * the bookkeeping: it is what unpreserve, finish and the next
		 * kexec deal with; the restored file is just handed out.
		 */
		if (luoi_token_table_peek(&c->tokens, token, &state) < 0 ||
		    state != LUO_TOKEN_PRESERVED)
			r = luoi_token_table_set(&c->tokens, token,
						 LUO_TOKEN_RESTORED);
	}
	luoi_compat_cancel_shared(c);
	if (r < 0) {
		luoi_close_keep_errno(newfd);
		luoi_compat_log_restore(ctx, token, r);
		return r;
	}
	*fd = newfd;
	return 0;
}

static int rfc_prepare(luo_ctx_t *ctx)
{
	return WITH_DEVICE(ctx, fd, luoi_req_rfc_prepare(ctx->backend, fd));
}

static int rfc_cancel(luo_ctx_t *ctx)
{
	return WITH_DEVICE(ctx, fd, luoi_req_rfc_cancel(ctx->backend, fd));
}

static int rfc_finish(luo_ctx_t *ctx)
{
	struct luoi_compat *c = ctx->compat;
	int r;

	luoi_compat_begin_exclusive(c);
	r = WITH_DEVICE(ctx, fd, luoi_req_rfc_finish(ctx->backend, fd));
	if (r == 0) {
		LUOI_LOCK_GUARD(&c->lock);
		luoi_token_table_drop_incoming(&c->tokens);
	}
	luoi_compat_end_exclusive(c);
	return r;
}

static void rfc_release(luo_ctx_t *ctx)
{
	(void)ctx; /* the kernel's list outlives the context */
}

const struct luoi_compat_ops luoi_compat_rfc_ops = {
	.get_state = rfc_get_state,
	.preserve = rfc_preserve,
	.unpreserve = rfc_unpreserve,
	.restore = rfc_restore,
	.prepare = rfc_prepare,
	.cancel = rfc_cancel,
	.finish = rfc_finish,
	.release = rfc_release,
};
