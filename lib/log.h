/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging.  Silent unless the application installs a callback with a
 * priority, or LIBLUO_LOG asks for more.  The callback is user code: it is
 * called with no libluo lock held (the logger's own lock is taken only to
 * read which callback to call), so callers of luoi_log() must not hold a
 * session or compat lock either.
 */
#ifndef LUOI_LOG_H
#define LUOI_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <syslog.h>

#include "libluo.h"

#define LUOI_LOG_SILENT (-1)

struct luoi_logger {
	pthread_mutex_t lock; /* fn and data change together */
	luo_log_fn fn;        /* NULL: stderr */
	void *data;
	atomic_int priority;  /* read without the lock by luoi_log() */
};

/* @priority: from the options; LIBLUO_LOG may raise it. */
void luoi_logger_init(struct luoi_logger *l, luo_log_fn fn, void *data,
		      int priority);
void luoi_logger_fini(struct luoi_logger *l);
void luoi_logger_set(struct luoi_logger *l, luo_log_fn fn, void *data,
		     int priority);

/* The priority LIBLUO_LOG asks for, or LUOI_LOG_SILENT. */
int luoi_log_priority_from_env(void);

void luoi_log_full(struct luoi_logger *l, int priority, const char *file,
		   int line, const char *fn, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

/* The source file as the log callback gets it: its name, not the build's
 * path to it. */
#ifdef __FILE_NAME__
#define LUOI_FILE __FILE_NAME__
#else
#define LUOI_FILE __FILE__
#endif

/*
 * @ctx: anything with a struct luoi_logger named log (a luo_ctx_t).
 * @api: the public function the message is about ("luo_session_create"),
 * which is what the callback is told as the function: a user knows the
 * function they called, not libluo's internal ones.
 */
#define luoi_log(ctx, prio, api, ...)                                     \
	do {                                                              \
		if (atomic_load_explicit(&(ctx)->log.priority,            \
					 memory_order_relaxed) >= (prio))  \
			luoi_log_full(&(ctx)->log, (prio), LUOI_FILE,     \
				      __LINE__, (api), __VA_ARGS__);      \
	} while (0)
/* "" for NULL, for optional parts of a message */
static inline const char *luoi_strempty(const char *s)
{
	return s ? s : "";
}

#define luoi_err(ctx, api, ...) luoi_log(ctx, LOG_ERR, api, __VA_ARGS__)
#define luoi_info(ctx, api, ...) luoi_log(ctx, LOG_INFO, api, __VA_ARGS__)
#define luoi_dbg(ctx, api, ...) luoi_log(ctx, LOG_DEBUG, api, __VA_ARGS__)

#endif /* LUOI_LOG_H */
