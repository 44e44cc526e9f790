/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "files.h"
#include "harness.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int memfd_with(const char *name, const void *data, size_t len, off_t offset,
	       unsigned int flags)
{
	const unsigned char *p = data;
	size_t done = 0;
	int fd;

	fd = memfd_create(name, flags);
	assert_true(fd >= 0, "memfd_create: %s", strerror(errno));
	if (len)
		assert_eq(ftruncate(fd, (off_t)len), 0, "ftruncate: %s",
			  strerror(errno));
	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, (off_t)done);

		assert_true(n > 0, "pwrite: %s", strerror(errno));
		done += (size_t)n;
	}
	assert_eq(lseek(fd, offset, SEEK_SET), offset, "lseek: %s",
		  strerror(errno));
	return fd;
}

static unsigned char *pattern(uint64_t seed, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	struct rng r;

	assert_not_null(buf);
	rng_init(&r, seed);
	rng_fill(&r, buf, len);
	return buf;
}

int memfd_pattern(uint64_t seed, size_t len)
{
	unsigned char *buf = pattern(seed, len);
	int fd = memfd_with("pattern", buf, len, 0, MFD_CLOEXEC);

	free(buf);
	return fd;
}

void expect_file_content(int fd, const void *data, size_t len, off_t offset)
{
	struct stat st;
	unsigned char *got;
	size_t done = 0;
	off_t pos;

	assert_eq(fstat(fd, &st), 0, "fstat: %s", strerror(errno));
	assert_eq((size_t)st.st_size, len, "size %lld, expected %zu",
		  (long long)st.st_size, len);
	pos = lseek(fd, 0, SEEK_CUR);
	assert_eq(pos, offset, "file offset %lld, expected %lld",
		  (long long)pos, (long long)offset);
	got = malloc(len ? len : 1);
	assert_not_null(got);
	while (done < len) {
		ssize_t n = pread(fd, got + done, len - done, (off_t)done);

		assert_true(n > 0, "pread at %zu: %s", done,
			    n < 0 ? strerror(errno) : "short file");
		done += (size_t)n;
	}
	if (len && memcmp(got, data, len)) {
		size_t i = 0;

		while (got[i] == ((const unsigned char *)data)[i])
			i++;
		free(got);
		fail("contents differ, first at byte %zu of %zu", i,
		     len);
	}
	free(got);
}

void expect_file_pattern(int fd, uint64_t seed, size_t len)
{
	unsigned char *buf = pattern(seed, len);

	expect_file_content(fd, buf, len, lseek(fd, 0, SEEK_CUR));
	free(buf);
}

bool same_inode(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool has_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

int closed_fd_number(void)
{
	/* High, so that no descriptor libluo opens meanwhile gets it. */
	int fd = fcntl(0, F_DUPFD_CLOEXEC, 900);

	assert_true(fd >= 0, "F_DUPFD: %s", strerror(errno));
	close(fd);
	assert_true(!fd_is_open(fd));
	return fd;
}

int open_regular_file(char *path, size_t len)
{
	const char *dirs[] = { getenv("TMPDIR"), "/tmp", "/var/tmp", "/dev/shm",
			       "." };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int fd;

		if (!dirs[i] || !*dirs[i])
			continue;
		snprintf(path, len, "%s/libluo-test-XXXXXX", dirs[i]);
		fd = mkstemp(path);
		if (fd < 0)
			continue;
		assert_eq(write(fd, "data", 4), 4);
		return fd;
	}
	skip_test("no writable directory for a regular file");
}

void close_regular_file(int fd, const char *path)
{
	unlink(path);
	xclose(fd);
}

void fd_limit_exhaust(struct rlimit *saved)
{
	struct rlimit lim;
	int lowest_free = 0;

	assert_eq(getrlimit(RLIMIT_NOFILE, saved), 0);
	while (fd_is_open(lowest_free))
		lowest_free++;
	/* The next descriptor would be lowest_free, which is now too high. */
	lim = *saved;
	lim.rlim_cur = (rlim_t)lowest_free;
	assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "setrlimit: %s",
		  strerror(errno));
	assert_lt(dup(0), 0, "a descriptor could still be opened");
	assert_eq(errno, EMFILE);
}

void fd_limit_restore(const struct rlimit *saved)
{
	assert_eq(setrlimit(RLIMIT_NOFILE, saved), 0, "setrlimit: %s",
		  strerror(errno));
}

void xclose(int fd)
{
	assert_eq(close(fd), 0, "close(%d): %s", fd, strerror(errno));
}
