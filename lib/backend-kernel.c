/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real kernel: every operation is the system call itself, with errno
 * turned into a negative return value.  One static object serves every
 * context; it has no state, so ref and unref do nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luo-abi.h"

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

#define SESSION_LINK_PREFIX "anon_inode:[luo_session] "

/*
 * The kernel names a session's file "[luo_session] <name>" on the
 * anonymous inode file system; /proc/self/fd shows it as
 * "anon_inode:[luo_session] <name>" (systemd identifies sessions the same
 * way).  Without /proc, a descriptor that is an anonymous inode (no file
 * type in st_mode) is asked SESSION_GET_NAME: other anonymous-inode
 * drivers (eventfd, epoll, ...) have no 0xBA requests and refuse it.
 */
static int kernel_identify(struct luo_backend *b, int fd, char *name)
{
	char path[64], link[sizeof(SESSION_LINK_PREFIX) + LUO_K_NAME_LEN];
	struct luo_k_get_name_req req = { .size = sizeof(req) };
	struct stat st;
	ssize_t n;

	(void)b;
	if (fstat(fd, &st) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n >= 0) {
		link[n] = '\0';
		if (strncmp(link, SESSION_LINK_PREFIX,
			    strlen(SESSION_LINK_PREFIX)) != 0 ||
		    (size_t)n - strlen(SESSION_LINK_PREFIX) >= LUO_K_NAME_LEN)
			return -ENOTTY;
		strcpy(name, link + strlen(SESSION_LINK_PREFIX));
		return 0;
	}
	if (errno != ENOENT || access("/proc/self/fd", F_OK) == 0)
		return errno == ENOENT ? -ENOTTY : -errno;
	/* no /proc */
	if (st.st_mode & S_IFMT)
		return -ENOTTY;
	if (ioctl(fd, LUO_K_SESSION_GET_NAME, &req) < 0)
		return errno == ENOTTY || errno == EINVAL ? -ENOTTY : -errno;
	memcpy(name, req.name, LUO_K_NAME_LEN);
	name[LUO_K_NAME_LEN - 1] = '\0';
	return 0;
}

static const struct luo_backend_ops kernel_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "kernel",
	.ref = kernel_ref,
	.unref = kernel_unref,
	.open = kernel_open,
	.close = kernel_close,
	.ioctl = kernel_ioctl,
	.identify = kernel_identify,
};

struct luo_backend luoi_backend_kernel = { .ops = &kernel_ops };
