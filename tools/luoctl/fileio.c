/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl: reading and writing whole files, for hold (a file into a memfd)
 * and restore (a retrieved memfd out to a file, a FIFO, a pipe...).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "luoctl.h"

#define IO_CHUNK 65536

/* Copy what is left of @in to @out, with read(). */
static int copy_stream(int in, int out)
{
	char buf[IO_CHUNK];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = luoi_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

int luoctl_memfd_from_file(const char *path, int *ret)
{
	const char *base = strrchr(path, '/');
	_cleanup_close_ int in = -1, mfd = -1;
	int r;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	mfd = memfd_create(base ? base + 1 : path, MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	r = copy_stream(in, mfd);
	if (r < 0)
		return r;
	if (lseek(mfd, 0, SEEK_SET) < 0)
		return -errno;
	*ret = TAKE_FD(mfd);
	return 0;
}

int luoctl_copy_out(int fd, int out, off_t *copied)
{
	char buf[IO_CHUNK];
	off_t off = 0;

	*copied = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = luoi_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
		off += n;
		*copied = off;
	}
}

int luoctl_open_output(const char *path, bool *created, bool *regular)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	*created = fd >= 0;
	/* Not O_TRUNC: an existing file keeps its bytes until the session is
	 * taken.  A FIFO blocks here until it has a reader. */
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		if (*created)
			unlink(path);
		return r;
	}
	*regular = S_ISREG(st.st_mode);
	return TAKE_FD(fd);
}
