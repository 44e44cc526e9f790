/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Options and the context: the one open descriptor of /dev/liveupdate of a
 * process, its ABI, its lock and its log settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-kernel.h"
#include "libluo-private.h"

/* ---- options ---------------------------------------------------------- */

LUO_EXPORT int luo_ctx_opts_new(luo_ctx_opts_t **ret)
{
	luo_ctx_opts_t *o;

	if (!ret)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->abi = LUO_ABI_AUTO;
	o->log_priority = LUO_LOG_SILENT;
	*ret = o;
	return 0;
}

LUO_EXPORT void luo_ctx_opts_free(luo_ctx_opts_t *opts)
{
	if (!opts)
		return;
	if (opts->backend)
		opts->backend->ops->unref(opts->backend);
	free(opts->device);
	free(opts);
}

LUO_EXPORT int luo_ctx_opts_set_device(luo_ctx_opts_t *opts, const char *path)
{
	char *copy;

	if (!opts || !path || !*path)
		return -EINVAL;
	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(opts->device);
	opts->device = copy;
	return 0;
}

static bool abi_valid(enum luo_abi abi)
{
	return abi == LUO_ABI_AUTO || abi == LUO_ABI_MAINLINE ||
	       abi == LUO_ABI_RFC;
}

LUO_EXPORT int luo_ctx_opts_set_abi(luo_ctx_opts_t *opts, enum luo_abi abi)
{
	if (!opts || !abi_valid(abi))
		return -EINVAL;
	opts->abi = abi;
	return 0;
}

LUO_EXPORT int luo_ctx_opts_set_fake(luo_ctx_opts_t *opts, luo_fake_t *fake)
{
	/* a luo_fake_t starts with its struct luo_backend (fake/) */
	struct luo_backend *b = (struct luo_backend *)(void *)fake;

	if (!opts)
		return -EINVAL;
	if (b && b->ops->version != LUOI_BACKEND_VERSION)
		return -EPROTO;
	if (b)
		b->ops->ref(b);
	if (opts->backend)
		opts->backend->ops->unref(opts->backend);
	opts->backend = b;
	return 0;
}

LUO_EXPORT int luo_ctx_opts_set_open_device(luo_ctx_opts_t *opts,
					    bool open_device)
{
	if (!opts)
		return -EINVAL;
	opts->no_device = !open_device;
	return 0;
}

static bool priority_valid(int priority)
{
	return priority >= LOG_EMERG && priority <= LOG_DEBUG;
}

LUO_EXPORT int luo_ctx_opts_set_log(luo_ctx_opts_t *opts, luo_log_fn fn,
				    void *userdata, int priority)
{
	if (!opts || !priority_valid(priority))
		return -EINVAL;
	opts->log_fn = fn;
	opts->log_data = userdata;
	opts->log_priority = priority;
	return 0;
}

/* ---- context ---------------------------------------------------------- */

int luo_ctx_check(const luo_ctx_t *ctx)
{
	if (!ctx)
		return -EINVAL;
	/* The descriptors were inherited, but the lock, the bookkeeping and
	 * the single-open device belong to the parent. */
	if (getpid() != ctx->pid)
		return -ECHILD;
	return 0;
}

void luo_ctx_lock(luo_ctx_t *ctx)
{
	pthread_mutex_lock(&ctx->lock);
}

void luo_ctx_unlock(luo_ctx_t *ctx)
{
	pthread_mutex_unlock(&ctx->lock);
}

int luo_ctx_ioctl(luo_ctx_t *ctx, int fd, unsigned long request, void *arg)
{
	return ctx->backend->ops->ioctl(ctx->backend, fd, request, arg);
}

int luo_ctx_close_fd(luo_ctx_t *ctx, int fd)
{
	return fd < 0 ? 0 : ctx->backend->ops->close(ctx->backend, fd);
}

/*
 * Both probes are rejected by the kernel before it looks at anything: the
 * mainline kernel refuses request number 3 (outside its table) with EINVAL
 * and the RFC kernel answers GET_STATE, a read.  A mainline
 * RETRIEVE_SESSION with a size below the minimum fails EINVAL on a mainline
 * kernel and ENOTTY on anything else.
 */
static bool probe_rfc(luo_ctx_t *ctx)
{
	int32_t state = -1;

	return luo_ctx_ioctl(ctx, ctx->dev_fd, LUO_K_RFC_GET_STATE, &state) ==
	       0;
}

static bool probe_mainline(luo_ctx_t *ctx)
{
	struct luo_k_session_req req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(uint32_t);
	return luo_ctx_ioctl(ctx, ctx->dev_fd, LUO_K_RETRIEVE_SESSION, &req) ==
	       -EINVAL;
}

static int detect_abi(luo_ctx_t *ctx, enum luo_abi wanted)
{
	if (wanted != LUO_ABI_MAINLINE && probe_rfc(ctx)) {
		ctx->abi = LUO_ABI_RFC;
		return 0;
	}
	if (wanted != LUO_ABI_RFC && probe_mainline(ctx)) {
		ctx->abi = LUO_ABI_MAINLINE;
		return 0;
	}
	luo_err(ctx, "%s speaks %s: is it a live update device?", ctx->device,
		wanted == LUO_ABI_AUTO	   ? "no known LUO ABI" :
		wanted == LUO_ABI_MAINLINE ? "not the mainline ABI" :
					     "not the RFC ABI");
	return -EPROTO;
}

static void log_open_error(luo_ctx_t *ctx, int r)
{
	switch (r) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		luo_err(ctx,
			"%s: no such device: the kernel needs CONFIG_LIVEUPDATE "
			"and the boot parameter liveupdate=on",
			ctx->device);
		break;
	case -EBUSY:
		luo_err(ctx,
			"%s is single-open and another process (or context) "
			"holds it; share one luo_ctx_t between threads",
			ctx->device);
		break;
	case -EIO:
		luo_err(ctx,
			"%s: the kernel failed to restore the previous "
			"kernel's live update state (see dmesg)",
			ctx->device);
		break;
	case -EACCES:
	case -EPERM:
		luo_err(ctx, "%s: permission denied: run as root or grant "
			     "access to the device", ctx->device);
		break;
	default:
		luo_err(ctx, "cannot open %s: %s", ctx->device, strerror(-r));
	}
}

/* Recursive, so that the log path (which may run with the lock held or
 * not) can always take it to read the callback consistently. */
static int init_lock(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int r;

	r = pthread_mutexattr_init(&attr);
	if (r)
		return -r;
	r = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (!r)
		r = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -r;
}

static void ctx_free(luo_ctx_t *ctx)
{
	if (ctx->dev_fd >= 0)
		luo_ctx_close_fd(ctx, ctx->dev_fd);
	ctx->backend->ops->unref(ctx->backend);
	pthread_mutex_destroy(&ctx->lock);
	luo_token_table_clear(&ctx->seed_tokens);
	free(ctx->device);
	free(ctx);
}

LUO_EXPORT int luo_ctx_new(const luo_ctx_opts_t *opts, luo_ctx_t **ret)
{
	static const luo_ctx_opts_t defaults = {
		.abi = LUO_ABI_AUTO,
		.log_priority = LUO_LOG_SILENT,
	};
	luo_ctx_t *ctx;
	int env_priority, r;

	if (!ret)
		return -EINVAL;
	if (!opts)
		opts = &defaults;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	atomic_init(&ctx->refcount, 1);
	ctx->pid = getpid();
	ctx->dev_fd = -1;
	ctx->seed_state = LUO_STATE_NORMAL;
	luo_token_table_init(&ctx->seed_tokens);
	ctx->log_fn = opts->log_fn;
	ctx->log_data = opts->log_data;
	env_priority = luo_log_priority_from_env();
	atomic_init(&ctx->log_priority, env_priority > opts->log_priority ?
						env_priority :
						opts->log_priority);
	r = init_lock(&ctx->lock);
	if (r < 0) {
		free(ctx);
		return r;
	}
	ctx->device = strdup(opts->device ? opts->device : LUO_DEVICE_PATH);
	if (!ctx->device) {
		ctx_free(ctx);
		return -ENOMEM;
	}
	ctx->backend = opts->backend ? opts->backend : &luoi_backend_kernel;
	ctx->backend->ops->ref(ctx->backend);

	if (opts->no_device) {
		/* sessions exist only on the mainline ABI */
		ctx->abi = LUO_ABI_MAINLINE;
		*ret = ctx;
		return 0;
	}

	r = ctx->backend->ops->open(ctx->backend, ctx->device,
				    O_RDWR | O_CLOEXEC);
	if (r < 0) {
		log_open_error(ctx, r);
		ctx_free(ctx);
		return r;
	}
	ctx->dev_fd = r;

	r = detect_abi(ctx, opts->abi);
	if (r < 0) {
		ctx_free(ctx);
		return r;
	}
	luo_dbg(ctx, "opened %s (%s backend, %s ABI)", ctx->device,
		ctx->backend->ops->name, ctx->abi == LUO_ABI_RFC ? "RFC" : "mainline");
	*ret = ctx;
	return 0;
}

LUO_EXPORT luo_ctx_t *luo_ctx_ref(luo_ctx_t *ctx)
{
	if (ctx)
		atomic_fetch_add_explicit(&ctx->refcount, 1,
					  memory_order_relaxed);
	return ctx;
}

LUO_EXPORT luo_ctx_t *luo_ctx_unref(luo_ctx_t *ctx)
{
	if (!ctx)
		return NULL;
	if (atomic_fetch_sub_explicit(&ctx->refcount, 1,
				      memory_order_acq_rel) != 1)
		return NULL;
	/* Last reference: no other thread can reach the context any more. */
	luo_seed_release(ctx);
	ctx_free(ctx);
	return NULL;
}

LUO_EXPORT int luo_ctx_close_device(luo_ctx_t *ctx)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	luo_ctx_lock(ctx);
	if (ctx->dev_fd < 0) {
		r = -ENODEV;
	} else {
		/* whatever close() says, the descriptor is gone */
		luo_ctx_close_fd(ctx, ctx->dev_fd);
		ctx->dev_fd = -1;
		luo_dbg(ctx, "closed %s; sessions stay", ctx->device);
	}
	luo_ctx_unlock(ctx);
	return r;
}

LUO_EXPORT int luo_ctx_get_abi(luo_ctx_t *ctx, enum luo_abi *ret)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!ret)
		return -EINVAL;
	*ret = ctx->abi;
	return 0;
}

LUO_EXPORT int luo_ctx_set_log(luo_ctx_t *ctx, luo_log_fn fn, void *userdata,
			       int priority)
{
	int r = luo_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!priority_valid(priority))
		return -EINVAL;
	luo_ctx_lock(ctx);
	ctx->log_fn = fn;
	ctx->log_data = userdata;
	atomic_store_explicit(&ctx->log_priority, priority,
			      memory_order_relaxed);
	luo_ctx_unlock(ctx);
	return 0;
}

LUO_EXPORT bool luo_is_available(void)
{
	struct stat st;

	return stat(LUO_DEVICE_PATH, &st) == 0 && S_ISCHR(st.st_mode);
}

LUO_EXPORT const char *luo_state_to_string(enum luo_state state)
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
