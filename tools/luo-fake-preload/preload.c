/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo-fake-preload.so: LD_PRELOAD=libluo-fake-preload.so
 * LIBLUO_FAKE=unix:PATH runs a program that talks to /dev/liveupdate with
 * raw system calls against a fake-kernel server (doc/fake-server.md),
 * unchanged.
 *
 *   - open()/openat() of /dev/liveupdate (or LIBLUO_FAKE_DEVICE) opens the
 *     server's device instead: the descriptor is a handle of the server;
 *   - ioctl() with a request of type 0xBA on a descriptor that IS a handle
 *     of a fake-kernel server (recognised by what it is: getpeername()
 *     names the server, so dup(), fork() and SCM_RIGHTS need no
 *     bookkeeping here) is sent to the server; any other ioctl() is the
 *     real one.
 *
 * Everything else (close(), read(), mmap() of the memfds) is the real
 * system call: sessions and the device are released when the last copy
 * of their descriptor is closed, as with the kernel.
 *
 * LUO_FAKE_PRELOAD_PIDFILE=FILE appends the pid of every process that
 * loads the library and of every child it forks, so that a test runner
 * can end them all at a simulated kexec, as a reboot would.
 */
/* open() and open64() are two symbols to replace: neither may be an
 * alias of the other here */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fake-wire.h"
#include "luo-abi.h"

#define EXPORT __attribute__((visibility("default")))

static const char *server_path(void)
{
	const char *e = getenv("LIBLUO_FAKE");

	return e && !strncmp(e, "unix:", 5) && e[5] ? e + 5 : NULL;
}

static bool is_device(const char *path)
{
	const char *dev = getenv("LIBLUO_FAKE_DEVICE");

	if (!path)
		return false;
	return !strcmp(path, dev && *dev ? dev : "/dev/liveupdate");
}

static int fake_open(const char *path, int flags)
{
	int r = luoi_fw_open(server_path(), path, flags);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static mode_t get_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
		       (mode_t)va_arg(ap, int) : 0;
}

/* glibc's fortified open() calls these; declared only under fortify */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = get_mode(flags, ap);
	va_end(ap);
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("open", int (*)(const char *, int, ...))(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = get_mode(flags, ap);
	va_end(ap);
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("open64", int (*)(const char *, int, ...))(path, flags,
							       mode);
}

EXPORT int __open_2(const char *path, int flags)
{
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("__open_2", int (*)(const char *, int))(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("__open64_2", int (*)(const char *, int))(path, flags);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = get_mode(flags, ap);
	va_end(ap);
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("openat", int (*)(int, const char *, int, ...))(
		dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = get_mode(flags, ap);
	va_end(ap);
	if (server_path() && is_device(path))
		return fake_open(path, flags);
	return REAL("openat64", int (*)(int, const char *, int, ...))(
		dirfd, path, flags, mode);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(request) == LUO_IOCTL_TYPE && luoi_fw_is_handle(fd) == 1) {
		r = luoi_fw_ioctl(fd, request, arg);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return r;
	}
	return REAL("ioctl", int (*)(int, unsigned long, ...))(fd, request,
							       arg);
}

static void record_pid(void)
{
	const char *f = getenv("LUO_FAKE_PRELOAD_PIDFILE");
	char line[32];
	int fd, n;

	if (!f || !*f)
		return;
	fd = REAL("open", int (*)(const char *, int, ...))(
		f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the runner then misses this process */
	}
	close(fd);
}

__attribute__((constructor)) static void preload_init(void)
{
	record_pid();
	pthread_atfork(NULL, NULL, record_pid);
}
