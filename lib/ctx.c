/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: opening the device, detecting its ABI, sharing it between
 * threads, letting go of it (luo_ctx_close_device()) and freeing it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-fake-socket.h"
#include "backend-kernel.h"
#include "ctx.h"
#include "kernel-req.h"
#include "log.h"
#include "macro.h"

/* The last borrower is done while luo_ctx_close_device() waits. */
void luoi_ctx_device_idle(luo_ctx_t *ctx)
{
	LUOI_LOCK_GUARD(&ctx->lock);
	pthread_cond_broadcast(&ctx->device_idle);
}

/*
 * Both probes are refused by the kernel before it looks at anything: the
 * mainline kernel refuses request number 3 (outside its table) with EINVAL
 * and the RFC kernel answers GET_STATE, a read; a mainline RETRIEVE_SESSION
 * with a size below the minimum fails EINVAL on a mainline kernel and
 * ENOTTY on anything else.
 */
static int detect_abi(luo_ctx_t *ctx, enum luo_abi wanted)
{
	int32_t state;

	int fd = atomic_load(&ctx->dev_fd);

	if (wanted != LUO_ABI_MAINLINE &&
	    luoi_req_rfc_get_state(ctx->backend, fd, &state) == 0) {
		ctx->abi = LUO_ABI_RFC;
		return 0;
	}
	if (wanted != LUO_ABI_RFC &&
	    luoi_req_probe_mainline(ctx->backend, fd)) {
		ctx->abi = LUO_ABI_MAINLINE;
		return 0;
	}
	luoi_err(ctx, "luo_ctx_new", "%s speaks %s: is it a live update device?",
		 ctx->device,
		 wanted == LUO_ABI_AUTO	    ? "no known LUO ABI" :
		 wanted == LUO_ABI_MAINLINE ? "not the mainline ABI" :
					      "not the RFC ABI");
	return -EPROTO;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/*
 * Who holds the device, from /proc: "pid N (comm)" into @buf, or false.
 * Best effort, for the message only: other users' processes are not
 * readable without privileges.
 */
static bool device_holder(const char *device, char *buf, size_t len)
{
	_cleanup_(closedirp) DIR *proc = opendir("/proc");
	struct stat dev;
	struct dirent *p;

	if (!proc || stat(device, &dev) < 0 || !S_ISCHR(dev.st_mode))
		return false;
	while ((p = readdir(proc))) {
		_cleanup_(closedirp) DIR *fds = NULL;
		char path[64], comm[32] = "?";
		struct dirent *f;
		long pid;
		FILE *cf;

		pid = strtol(p->d_name, NULL, 10);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			struct stat st;

			if (f->d_name[0] == '.' ||
			    fstatat(dirfd(fds), f->d_name, &st, 0) < 0 ||
			    !S_ISCHR(st.st_mode) || st.st_rdev != dev.st_rdev)
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
			cf = fopen(path, "re");
			if (cf) {
				if (fgets(comm, sizeof(comm), cf))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(cf);
			}
			snprintf(buf, len, "pid %ld (%s)", pid, comm);
			return true;
		}
	}
	return false;
}

static void log_open_error(luo_ctx_t *ctx, int r)
{
	char holder[96];

	switch (r) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		luoi_err(ctx, "luo_ctx_new",
			 "%s: no such device: the kernel needs CONFIG_LIVEUPDATE "
			 "and the boot parameter liveupdate=on",
			 ctx->device);
		break;
	case -EBUSY:
		if (ctx->backend != &luoi_backend_kernel ||
		    !device_holder(ctx->device, holder, sizeof(holder)))
			snprintf(holder, sizeof(holder), "another process "
				 "(or context)");
		luoi_err(ctx, "luo_ctx_new",
			 "%s is single-open and %s holds it: share one "
			 "luo_ctx_t between threads, have the holder hand "
			 "sessions over (luo_session_send()), or let it close "
			 "the device (luo_ctx_close_device())",
			 ctx->device, holder);
		break;
	case -EIO:
		luoi_err(ctx, "luo_ctx_new",
			 "%s: the kernel failed to restore the previous "
			 "kernel's live update state (see dmesg)",
			 ctx->device);
		break;
	case -EACCES:
	case -EPERM:
		luoi_err(ctx, "luo_ctx_new",
			 "%s: permission denied: run as root or grant "
			 "access to the device",
			 ctx->device);
		break;
	default:
		luoi_err(ctx, "luo_ctx_new", "cannot open %s: %s",
			 ctx->device, strerror(-r));
	}
}

static void ctx_free(luo_ctx_t *ctx)
{
	if (!ctx)
		return;
	/* the original API's sessions first: they use the backend */
	if (ctx->compat_free)
		ctx->compat_free(ctx);
	if (ctx->index_free)
		ctx->index_free(ctx);
	luoi_ctx_close_fd(ctx, atomic_load(&ctx->dev_fd));
	/* a received session nobody took: it dies with the context */
	luoi_ctx_close_fd(ctx, ctx->stashed_fd);
	luoi_hmap_fini(&ctx->lent_fds);
	luoi_hmap_fini(&ctx->fdstore_fds);
	luoi_objcache_fini(&ctx->session_cache);
	if (ctx->backend)
		ctx->backend->ops->unref(ctx->backend);
	pthread_cond_destroy(&ctx->device_idle);
	pthread_mutex_destroy(&ctx->lock);
	luoi_logger_fini(&ctx->log);
	luoi_fork_guard_fini(&ctx->fork_guard);
	free(ctx->device);
	free(ctx);
}

static void ctx_freep(luo_ctx_t **ctx)
{
	ctx_free(*ctx);
}

static luo_ctx_t *ctx_alloc(const luo_ctx_opts_t *opts)
{
	luo_ctx_t *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	atomic_init(&ctx->dev_fd, -1);
	atomic_init(&ctx->device_users, 0);
	atomic_init(&ctx->device_closing, false);
	luoi_mutex_init(&ctx->lock);
	ctx->device_idle = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	luoi_logger_init(&ctx->log, opts->log_fn, opts->log_data,
			 opts->log_priority);
	luoi_objcache_init(&ctx->session_cache, LUOI_SESSION_CACHE_MAX);
	luoi_hmap_init(&ctx->lent_fds);
	luoi_hmap_init(&ctx->fdstore_fds);
	atomic_init(&ctx->index, NULL);
	ctx->stashed_fd = -1;
	ctx->no_record = opts->no_record;
	atomic_init(&ctx->refcount, 1);
	atomic_init(&ctx->compat, NULL);
	luoi_fork_guard_init(&ctx->fork_guard);
	ctx->backend = opts->backend ? opts->backend : &luoi_backend_kernel;
	ctx->backend->ops->ref(ctx->backend);
	ctx->device = strdup(opts->device ? opts->device : LUO_DEVICE_PATH);
	if (!ctx->device) {
		ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

LUOI_EXPORT int luo_ctx_new(const luo_ctx_opts_t *opts, luo_ctx_t **ret)
{
	static const luo_ctx_opts_t defaults = {
		.abi = LUO_ABI_AUTO,
		.log_priority = LUOI_LOG_SILENT,
	};
	_cleanup_(ctx_freep) luo_ctx_t *ctx = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	ctx = ctx_alloc(opts ? opts : &defaults);
	if (!ctx)
		return -ENOMEM;
	if (!opts || !opts->backend_set) {
		/* LIBLUO_FAKE=unix:PATH: a fake-kernel server */
		r = luoi_backend_fake_socket_env(&ctx->backend);
		if (r < 0) {
			luoi_err(ctx, "luo_ctx_new", "LIBLUO_FAKE=%s: %s",
				 getenv("LIBLUO_FAKE"),
				 r == -EINVAL ? "not unix:PATH" : strerror(-r));
			return r;
		}
	}
	if (opts && opts->no_device) {
		/* sessions exist only on the mainline ABI */
		ctx->abi = LUO_ABI_MAINLINE;
		*ret = TAKE_PTR(ctx);
		return 0;
	}

	r = ctx->backend->ops->open(ctx->backend, ctx->device,
				    O_RDWR | O_CLOEXEC);
	if (r < 0) {
		log_open_error(ctx, r);
		return r;
	}
	atomic_store(&ctx->dev_fd, r);
	r = detect_abi(ctx, opts ? opts->abi : LUO_ABI_AUTO);
	if (r < 0)
		return r;
	luoi_dbg(ctx, "luo_ctx_new", "opened %s (%s backend, %s ABI)",
		 ctx->backend == &luoi_backend_kernel ? ctx->device :
							 "the fake kernel",
		 ctx->backend->ops->name,
		 ctx->abi == LUO_ABI_RFC ? "RFC" : "mainline");
	*ret = TAKE_PTR(ctx);
	return 0;
}

LUOI_EXPORT luo_ctx_t *luo_ctx_ref(luo_ctx_t *ctx)
{
	if (ctx)
		luoi_ctx_ref(ctx);
	return ctx;
}

LUOI_EXPORT luo_ctx_t *luo_ctx_unref(luo_ctx_t *ctx)
{
	if (!ctx)
		return NULL;
	if (atomic_fetch_sub_explicit(&ctx->refcount, 1,
				      memory_order_acq_rel) != 1)
		return NULL;
	/* Last reference: no other thread can reach the context any more. */
	ctx_free(ctx);
	return NULL;
}

LUOI_EXPORT int luo_ctx_close_device(luo_ctx_t *ctx)
{
	int fd, r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	{
		LUOI_LOCK_GUARD(&ctx->lock);

		fd = atomic_exchange(&ctx->dev_fd, -1); /* no new borrower */
		if (fd < 0)
			return -ENODEV;
		/* Requests in flight are short kernel calls, never blocking
		 * I/O: wait for them rather than close under their feet. */
		atomic_store(&ctx->device_closing, true);
		while (atomic_load(&ctx->device_users) > 0)
			pthread_cond_wait(&ctx->device_idle, &ctx->lock);
		atomic_store(&ctx->device_closing, false);
	}
	/* whatever close() says, the descriptor is gone */
	luoi_ctx_close_fd(ctx, fd);
	luoi_dbg(ctx, "luo_ctx_close_device", "closed %s; sessions stay",
		 ctx->backend == &luoi_backend_kernel ? ctx->device :
							 "the fake kernel");
	return 0;
}

LUOI_EXPORT int luo_ctx_get_abi(luo_ctx_t *ctx, enum luo_abi *ret)
{
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!ret)
		return -EINVAL;
	*ret = ctx->abi;
	return 0;
}

LUOI_EXPORT int luo_ctx_set_log(luo_ctx_t *ctx, luo_log_fn fn, void *userdata,
				int priority)
{
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (priority < LOG_EMERG || priority > LOG_DEBUG)
		return -EINVAL;
	luoi_logger_set(&ctx->log, fn, userdata, priority);
	return 0;
}

LUOI_EXPORT bool luo_is_available(void)
{
	struct stat st;

	return stat(LUO_DEVICE_PATH, &st) == 0 && S_ISCHR(st.st_mode);
}
