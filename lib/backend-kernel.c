/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real kernel: every operation is the system call itself, with errno
 * turned into a negative return value.  One static object serves every
 * context; it has no state, so ref and unref do nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend-kernel.h"

static void kernel_ref(struct luo_backend *b)
{
	(void)b;
}

static void kernel_unref(struct luo_backend *b)
{
	(void)b;
}

static int kernel_open(struct luo_backend *b, const char *path, int flags)
{
	int fd = open(path, flags);

	(void)b;
	return fd < 0 ? -errno : fd;
}

static int kernel_close(struct luo_backend *b, int fd)
{
	(void)b;
	/* Linux releases the descriptor even when close() reports an error;
	 * retrying could close a descriptor another thread just got. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static int kernel_ioctl(struct luo_backend *b, int fd, unsigned long request,
			void *arg)
{
	int r = ioctl(fd, request, arg);

	(void)b;
	return r < 0 ? -errno : r;
}

static const struct luo_backend_ops kernel_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "kernel",
	.ref = kernel_ref,
	.unref = kernel_unref,
	.open = kernel_open,
	.close = kernel_close,
	.ioctl = kernel_ioctl,
};

struct luo_backend luoi_backend_kernel = { .ops = &kernel_ops };
