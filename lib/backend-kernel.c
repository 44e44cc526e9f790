/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real kernel: every operation is the system call itself, with errno
 * turned into a negative return value.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend.h"

static int kernel_open(void *data, const char *path, int flags)
{
	int fd = open(path, flags);

	(void)data;
	return fd < 0 ? -errno : fd;
}

static int kernel_close(void *data, int fd)
{
	(void)data;
	/* Linux releases the descriptor even when close() reports an error;
	 * retrying could close a descriptor another thread just got. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static int kernel_ioctl(void *data, int fd, unsigned long request, void *arg)
{
	int r = ioctl(fd, request, arg);

	(void)data;
	return r < 0 ? -errno : r;
}

const struct luo_backend_ops luo_backend_kernel_ops = {
	.name = "kernel",
	.open = kernel_open,
	.close = kernel_close,
	.ioctl = kernel_ioctl,
};
