/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake-kernel server as a backend (luo_ctx_opts_set_fake_socket(),
 * LIBLUO_FAKE=unix:PATH): every operation is a message to the server
 * (common/fake-wire.c, doc/fake-server.md).  The descriptors handed out
 * are the server's handles, real descriptors of this process that work
 * after dup(), fork() and SCM_RIGHTS like the kernel's; the files
 * preserved travel to the server, so this process holds no descriptor
 * per preserved file, as with the kernel.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "backend-fake-socket.h"
#include "fake-wire.h"

struct fs_backend {
	struct luo_backend b; /* first */
	atomic_long refs;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void fs_ref(struct luo_backend *b)
{
	atomic_fetch_add(&((struct fs_backend *)b)->refs, 1);
}

static void fs_unref(struct luo_backend *b)
{
	if (atomic_fetch_sub(&((struct fs_backend *)b)->refs, 1) == 1)
		free(b);
}

static int fs_open(struct luo_backend *b, const char *path, int flags)
{
	return luoi_fw_open(((struct fs_backend *)b)->path, path, flags);
}

static int fs_close(struct luo_backend *b, int fd)
{
	/* the server has seen the close when this returns, as the kernel
	 * has when close() returns */
	return luoi_fw_close(((struct fs_backend *)b)->path, fd);
}

static int fs_ioctl(struct luo_backend *b, int fd, unsigned long request,
		    void *arg)
{
	(void)b;
	return luoi_fw_ioctl(fd, request, arg);
}

static int fs_identify(struct luo_backend *b, int fd, char *name)
{
	(void)b;
	return luoi_fw_identify(fd, name);
}

static const struct luo_backend_ops fs_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "fake-server",
	.ref = fs_ref,
	.unref = fs_unref,
	.open = fs_open,
	.close = fs_close,
	.ioctl = fs_ioctl,
	.identify = fs_identify,
};

int luoi_backend_fake_socket_new(const char *path, struct luo_backend **ret)
{
	struct fs_backend *f;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->b.ops = &fs_ops;
	atomic_init(&f->refs, 1);
	strcpy(f->path, path);
	*ret = &f->b;
	return 0;
}

int luoi_backend_fake_socket_env(struct luo_backend **b)
{
	const char *e = getenv("LIBLUO_FAKE");
	struct luo_backend *n;
	int r;

	if (!e || !*e)
		return 0;
	if (strncmp(e, "unix:", 5) != 0 || !e[5])
		return -EINVAL;
	r = luoi_backend_fake_socket_new(e + 5, &n);
	if (r < 0)
		return r;
	if (*b)
		(*b)->ops->unref(*b);
	*b = n;
	return 1;
}
