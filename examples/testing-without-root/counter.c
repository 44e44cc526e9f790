/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "counter.h"

int counter_save(luo_ctx_t *ctx, uint64_t value, luo_session_t **held)
{
	luo_session_t *s;
	int fd, r;

	fd = memfd_create("counter", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, &value, sizeof(value), 0) != sizeof(value)) {
		r = -EIO;
		goto out;
	}
	r = luo_session_create(ctx, COUNTER_SESSION, &s);
	if (r < 0)
		goto out;
	r = luo_session_preserve_fd(s, fd, COUNTER_TOKEN);
	if (r < 0) {
		/* closing an outgoing session unpreserves what it holds */
		luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
		goto out;
	}
	*held = s;
out:
	close(fd); /* the kernel holds the file now */
	return r;
}

int counter_restore(luo_ctx_t *ctx, uint64_t *value)
{
	luo_session_t *s;
	int fd, r;

	r = luo_session_retrieve(ctx, COUNTER_SESSION, &s);
	if (r < 0)
		return r; /* -ENOENT: nothing was saved */
	r = luo_session_retrieve_fd(s, COUNTER_TOKEN, &fd);
	if (r == 0) {
		if (pread(fd, value, sizeof(*value), 0) != sizeof(*value))
			r = -EIO;
		close(fd);
	}
	if (r == 0)
		r = luo_session_finish(s);
	luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
	return r;
}
