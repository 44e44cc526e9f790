/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel boundary.  Everything libluo asks of /dev/liveupdate goes
 * through a backend: an object whose first member is a struct luo_backend
 * pointing at its operations.  The request numbers and argument bytes are
 * the kernel's (common/luo-abi.h) whatever the far side is:
 *
 *   - the real kernel (lib/backend-kernel.c, a static object);
 *   - a fake kernel (fake/, libluo-fake.so.1): a luo_fake_t starts with a
 *     struct luo_backend, which is how luo_ctx_opts_set_fake() reaches it
 *     without libluo.so.1 containing or linking any fake code.
 *
 * libluo.so.1 and libluo-fake.so.1 are built from one tree but installed as
 * two libraries, so the operations carry a version: a context refuses a
 * backend whose version it does not know (-EPROTO) rather than call through
 * a table of another layout.
 *
 * Every operation returns a non-negative value or a negative errno, may be
 * called from many threads at once, and must not call back into libluo.
 */
#ifndef LUOI_BACKEND_H
#define LUOI_BACKEND_H

#define LUOI_BACKEND_VERSION 2

struct luo_backend;

struct luo_backend_ops {
	unsigned int version; /* LUOI_BACKEND_VERSION */
	const char *name;     /* "kernel", "fake", ... for messages */
	/* take and drop a reference on the backend object */
	void (*ref)(struct luo_backend *b);
	void (*unref)(struct luo_backend *b);
	/* open the device node: a new fd, or -errno (-EBUSY if held) */
	int (*open)(struct luo_backend *b, const char *path, int flags);
	/* close an fd obtained from open or from a session request */
	int (*close)(struct luo_backend *b, int fd);
	/* issue @request on @fd: >= 0 or -errno */
	int (*ioctl)(struct luo_backend *b, int fd, unsigned long request,
		     void *arg);
	/*
	 * Whether @fd is a session of this backend, asked without issuing a
	 * request on it (a descriptor from another process could belong to
	 * any driver, where 0xBA requests mean something else): 0 and its
	 * name (NUL-terminated, at most 63 bytes), -ENOTTY (an open
	 * descriptor that is not a session of this kernel), -EBADF (not
	 * open), or another negative errno when the question could not be
	 * answered.  NULL: the backend's descriptors are its own (a fake in
	 * this process) and SESSION_GET_NAME answers safely.
	 */
	int (*identify)(struct luo_backend *b, int fd, char *name);
};

struct luo_backend {
	const struct luo_backend_ops *ops;
};

#endif /* LUOI_BACKEND_H */
