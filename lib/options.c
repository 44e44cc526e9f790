/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Options for luo_ctx_new(). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "backend-fake-socket.h"
#include "ctx.h"
#include "macro.h"

LUOI_EXPORT int luo_ctx_opts_new(luo_ctx_opts_t **ret)
{
	luo_ctx_opts_t *o;

	if (!ret)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->abi = LUO_ABI_AUTO;
	o->log_priority = LUOI_LOG_SILENT;
	*ret = o;
	return 0;
}

LUOI_EXPORT void luo_ctx_opts_free(luo_ctx_opts_t *opts)
{
	if (!opts)
		return;
	if (opts->backend)
		opts->backend->ops->unref(opts->backend);
	free(opts->device);
	free(opts);
}

LUOI_EXPORT int luo_ctx_opts_set_device(luo_ctx_opts_t *opts, const char *path)
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

LUOI_EXPORT int luo_ctx_opts_set_abi(luo_ctx_opts_t *opts, enum luo_abi abi)
{
	if (!opts)
		return -EINVAL;
	if (abi != LUO_ABI_AUTO && abi != LUO_ABI_MAINLINE &&
	    abi != LUO_ABI_RFC)
		return -EINVAL;
	opts->abi = abi;
	return 0;
}

LUOI_EXPORT int luo_ctx_opts_set_fake(luo_ctx_opts_t *opts, luo_fake_t *fake)
{
	/* A luo_fake_t starts with its struct luo_backend (fake/), which is
	 * how libluo reaches a fake without containing one. */
	struct luo_backend *b = (struct luo_backend *)(void *)fake;

	if (!opts)
		return -EINVAL;
	if (b && b->ops->version != LUOI_BACKEND_VERSION)
		return -EPROTO; /* a libluo-fake of another release */
	if (b)
		b->ops->ref(b);
	if (opts->backend)
		opts->backend->ops->unref(opts->backend);
	opts->backend = b;
	opts->backend_set = true;
	return 0;
}

LUOI_EXPORT int luo_ctx_opts_set_fake_socket(luo_ctx_opts_t *opts,
					     const char *path)
{
	struct luo_backend *b = NULL;
	int r;

	if (!opts)
		return -EINVAL;
	if (path) {
		r = luoi_backend_fake_socket_new(path, &b);
		if (r < 0)
			return r;
	}
	if (opts->backend)
		opts->backend->ops->unref(opts->backend);
	opts->backend = b;
	opts->backend_set = true;
	return 0;
}

LUOI_EXPORT int luo_ctx_opts_set_open_device(luo_ctx_opts_t *opts,
					     bool open_device)
{
	if (!opts)
		return -EINVAL;
	opts->no_device = !open_device;
	return 0;
}

LUOI_EXPORT int luo_ctx_opts_set_record(luo_ctx_opts_t *opts, bool record)
{
	if (!opts)
		return -EINVAL;
	opts->no_record = !record;
	return 0;
}

LUOI_EXPORT int luo_ctx_opts_set_log(luo_ctx_opts_t *opts, luo_log_fn fn,
				     void *userdata, int priority)
{
	if (!opts || priority < LOG_EMERG || priority > LOG_DEBUG)
		return -EINVAL;
	opts->log_fn = fn;
	opts->log_data = userdata;
	opts->log_priority = priority;
	return 0;
}
