/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging.  A library must not write to stderr on its own: silent unless
 * the application installs a callback with a priority, or LIBLUO_LOG asks
 * for more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "macro.h"

int luoi_log_priority_from_env(void)
{
	static const struct {
		const char *name;
		int priority;
	} names[] = {
		{ "emerg", LOG_EMERG },	  { "alert", LOG_ALERT },
		{ "crit", LOG_CRIT },	  { "err", LOG_ERR },
		{ "error", LOG_ERR },	  { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	const char *v = secure_getenv("LIBLUO_LOG");
	size_t i;

	if (!v || !*v)
		return LUOI_LOG_SILENT;
	if (v[0] >= '0' && v[0] <= '7' && v[1] == '\0')
		return v[0] - '0';
	for (i = 0; i < LUOI_ELEMENTSOF(names); i++)
		if (strcasecmp(v, names[i].name) == 0)
			return names[i].priority;
	/* the user asked for messages: say why there are none */
	fprintf(stderr,
		"libluo: LIBLUO_LOG=%s is not a priority (emerg, alert, crit, "
		"err, warning, notice, info, debug or 0..7); ignored\n",
		v);
	return LUOI_LOG_SILENT;
}

__attribute__((format(printf, 2, 0))) static void
log_stderr(const char *fn, const char *format, va_list args)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), format, args);
	fprintf(stderr, "libluo: %s: %s\n", fn, msg);
}

void luoi_logger_init(struct luoi_logger *l, luo_log_fn fn, void *data,
		      int priority)
{
	int env = luoi_log_priority_from_env();

	luoi_mutex_init(&l->lock);
	l->fn = fn;
	l->data = data;
	atomic_init(&l->priority, env > priority ? env : priority);
}

void luoi_logger_fini(struct luoi_logger *l)
{
	pthread_mutex_destroy(&l->lock);
}

void luoi_logger_set(struct luoi_logger *l, luo_log_fn fn, void *data,
		     int priority)
{
	LUOI_LOCK_GUARD(&l->lock);
	l->fn = fn;
	l->data = data;
	atomic_store_explicit(&l->priority, priority, memory_order_relaxed);
}

void luoi_log_full(struct luoi_logger *l, int priority, const char *file,
		   int line, const char *fn, const char *format, ...)
{
	luo_log_fn log_fn;
	void *log_data;
	va_list args;

	/* read the callback under the lock, call it without: it is user
	 * code and may call libluo, or take locks of its own */
	luoi_mutex_lock(&l->lock);
	log_fn = l->fn;
	log_data = l->data;
	luoi_mutex_unlock(&l->lock);

	va_start(args, format);
	if (log_fn)
		log_fn(log_data, priority, file, line, fn, format, args);
	else
		log_stderr(fn, format, args);
	va_end(args);
}
