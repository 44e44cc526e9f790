/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging.  Silent unless the application installs a callback with a
 * priority, or LIBLUO_LOG asks for more.  The callback is user code: it
 * is called with no libluo lock held (the context lock is taken only to
 * read which callback to call), so callers of luoi_log() must not hold a
 * session or compat lock either.
 */
#ifndef LUOI_LOG_H
#define LUOI_LOG_H

#include <stdatomic.h>
#include <syslog.h>

#include "ctx.h"

/* The priority LIBLUO_LOG asks for, or LUOI_LOG_SILENT. */
int luoi_log_priority_from_env(void);

void luoi_log_full(luo_ctx_t *ctx, int priority, const char *file, int line,
		   const char *fn, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

#define luoi_log(ctx, prio, ...)                                          \
	do {                                                              \
		if (atomic_load_explicit(&(ctx)->log_priority,            \
					 memory_order_relaxed) >= (prio))  \
			luoi_log_full((ctx), (prio), __FILE__, __LINE__,  \
				      __func__, __VA_ARGS__);             \
	} while (0)
#define luoi_err(ctx, ...) luoi_log(ctx, LOG_ERR, __VA_ARGS__)
#define luoi_info(ctx, ...) luoi_log(ctx, LOG_INFO, __VA_ARGS__)
#define luoi_dbg(ctx, ...) luoi_log(ctx, LOG_DEBUG, __VA_ARGS__)

#endif /* LUOI_LOG_H */
