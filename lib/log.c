/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging.  Silent unless the application installs a callback with a
 * priority, or LIBLUO_LOG asks for more; a library must not write to
 * stderr on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libluo-private.h"

int luo_log_priority_from_env(void)
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
		return LUO_LOG_SILENT;
	if (v[0] >= '0' && v[0] <= '7' && v[1] == '\0')
		return v[0] - '0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(v, names[i].name) == 0)
			return names[i].priority;
	return LUO_LOG_SILENT;
}

static void log_stderr(int priority, const char *file, int line,
		       const char *fn, const char *format, va_list args)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), format, args);
	fprintf(stderr, "libluo: %s: %s\n", fn, msg);
	(void)priority;
	(void)file;
	(void)line;
}

void luo_log_full(luo_ctx_t *ctx, int priority, const char *file, int line,
		  const char *fn, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	luo_ctx_lock(ctx);
	if (ctx->log_fn)
		ctx->log_fn(ctx->log_data, priority, file, line, fn, format,
			    args);
	else
		log_stderr(priority, file, line, fn, format, args);
	luo_ctx_unlock(ctx);
	va_end(args);
}
