/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel boundary.  Everything libluo asks of /dev/liveupdate goes
 * through one of these vtables, carrying the same request numbers and
 * argument bytes (lib/luo-abi.h) whether the far side is the real kernel
 * (backend-kernel.c) or the in-memory fake (backend-fake.c).
 *
 * Every operation returns a non-negative value or a negative errno; none of
 * them touches errno-based conventions beyond that.
 */
#ifndef LIBLUO_BACKEND_H
#define LIBLUO_BACKEND_H

struct luo_backend_ops {
	const char *name;
	/* open the device node: a new fd, or -errno (-EBUSY if held) */
	int (*open)(void *data, const char *path, int flags);
	/* close an fd obtained from open or from a session request */
	int (*close)(void *data, int fd);
	/* issue @request on @fd: >= 0 or -errno */
	int (*ioctl)(void *data, int fd, unsigned long request, void *arg);
};

extern const struct luo_backend_ops luo_backend_kernel_ops;
/* data is a luo_fake_t * (include/libluo-fake.h) */
extern const struct luo_backend_ops luo_backend_fake_ops;

#endif /* LIBLUO_BACKEND_H */
