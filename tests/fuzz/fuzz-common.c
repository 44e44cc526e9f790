/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the input ----------------------------------------------------------- */

uint8_t fz_u8(struct fz_in *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v = fz_u8(in);

	return (uint16_t)(v | (uint16_t)fz_u8(in) << 8);
}

uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}

bool fz_more(const struct fz_in *in)
{
	return in->pos < in->size;
}

size_t fz_bytes(struct fz_in *in, void *buf, size_t len)
{
	size_t n = in->size - in->pos < len ? in->size - in->pos : len;

	if (n)
		memcpy(buf, in->data + in->pos, n);
	in->pos += n;
	return n;
}

/* ---- checks -------------------------------------------------------------- */

/* The last steps, printed when a check fails. */
#define TRACE_LINES 48
#define TRACE_LEN 200
static char trace_ring[TRACE_LINES][TRACE_LEN];
static unsigned int trace_next;

bool fz_tracing(void)
{
	static int on = -1;

	if (on < 0) {
		const char *e = getenv("LIBLUO_FUZZ_TRACE");

		on = e && *e && strcmp(e, "0") != 0;
	}
	return on;
}

void fz_trace(const char *fmt, ...)
{
	char *line = trace_ring[trace_next++ % TRACE_LINES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, TRACE_LEN, fmt, ap);
	va_end(ap);
	if (fz_tracing())
		fprintf(stderr, "fuzz: %s\n", line);
}

void fz_fail_at(const char *file, int line, const char *cond,
		const char *fmt, ...)
{
	unsigned int i, first;
	va_list ap;

	fflush(stdout);
	if (!fz_tracing()) {
		first = trace_next > TRACE_LINES ? trace_next - TRACE_LINES : 0;
		fprintf(stderr, "fuzz: the last steps:\n");
		for (i = first; i < trace_next; i++)
			fprintf(stderr, "fuzz:   %s\n",
				trace_ring[i % TRACE_LINES]);
	}
	fprintf(stderr, "fuzz check failed at %s:%d: ", file, line);
	if (cond)
		fprintf(stderr, "(%s)", cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- descriptors --------------------------------------------------------- */

int fz_fd_id(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* The device of memfds: every memfd lives on one internal tmpfs. */
static dev_t memfd_dev(void)
{
	static dev_t dev;
	static bool known;
	ino_t ino;
	int fd;

	if (!known) {
		fd = memfd_create("fuzz-probe", MFD_CLOEXEC);
		fz_check(fd >= 0 && fz_fd_id(fd, &dev, &ino) == 0,
			 "memfd_create: %s", strerror(errno));
		close(fd);
		known = true;
	}
	return dev;
}

/* By fstat() alone (readlink() is the costly part of a census): sockets,
 * memfds (regular files on the memfd device), and the anonymous inodes,
 * whose name tells an epoll instance. */
int fz_fd_census(struct fz_fd *out)
{
	DIR *dir = opendir("/proc/self/fd");
	dev_t mdev = memfd_dev();
	struct dirent *de;
	int self, n = 0;

	fz_check(dir, "opendir(/proc/self/fd): %s", strerror(errno));
	self = dirfd(dir);
	while ((de = readdir(dir))) {
		char link[64], target[64];
		struct fz_fd *f;
		struct stat st;
		ssize_t len;
		long fd;
		char *end;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = strtol(de->d_name, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX || fd == self)
			continue;
		fz_check(n < FZ_MAX_FDS, "more than %d descriptors open",
			 FZ_MAX_FDS);
		f = &out[n++];
		memset(f, 0, sizeof(*f));
		f->fd = (int)fd;
		fz_check(fstat((int)fd, &st) == 0, "fstat(%ld): %s", fd,
			 strerror(errno));
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		if (S_ISSOCK(st.st_mode)) {
			f->kind = FZ_FD_SOCKET;
		} else if (S_ISREG(st.st_mode) && st.st_dev == mdev) {
			f->kind = FZ_FD_MEMFD;
		} else if ((st.st_mode & S_IFMT) == 0) {
			snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
			len = readlink(link, target, sizeof(target) - 1);
			if (len < 0)
				continue;
			target[len] = '\0';
			if (strcmp(target, "anon_inode:[eventpoll]") == 0)
				f->kind = FZ_FD_EPOLL;
		}
	}
	closedir(dir);
	return n;
}

void fz_own_add(struct fz_owned *o, int fd, const char *what)
{
	struct fz_own *e;

	fz_check(fd >= 0, "registering %s: fd %d", what, fd);
	fz_check(o->n < FZ_MAX_OWN, "harness holds too many descriptors");
	fz_check(!fz_own_has(o, fd), "fd %d (%s) registered twice", fd, what);
	e = &o->fds[o->n++];
	e->fd = fd;
	e->what = what;
	fz_check(fz_fd_id(fd, &e->dev, &e->ino) == 0,
		 "registering %s: fd %d is not open", what, fd);
}

void fz_own_close(struct fz_owned *o, int fd)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (o->fds[i].fd == fd) {
			o->fds[i] = o->fds[--o->n];
			fz_check(close(fd) == 0, "close(%d): %s", fd,
				 strerror(errno));
			return;
		}
	fz_fail("closing fd %d that the harness does not hold", fd);
}

bool fz_own_has(const struct fz_owned *o, int fd)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (o->fds[i].fd == fd)
			return true;
	return false;
}

void fz_own_check(const struct fz_owned *o)
{
	int i;

	for (i = 0; i < o->n; i++) {
		const struct fz_own *e = &o->fds[i];
		dev_t dev;
		ino_t ino;
		int r = fz_fd_id(e->fd, &dev, &ino);

		fz_check(r == 0, "the harness's fd %d (%s) was closed behind "
			 "its back: %s", e->fd, e->what, strerror(-r));
		fz_check(dev == e->dev && ino == e->ino,
			 "the harness's fd %d (%s) was closed and reused",
			 e->fd, e->what);
	}
}

void fz_baseline_take(struct fz_baseline *b)
{
	b->n = fz_fd_census(b->fds);
}

bool fz_baseline_has(const struct fz_baseline *b, const struct fz_fd *f)
{
	int i;

	for (i = 0; i < b->n; i++)
		if (b->fds[i].fd == f->fd && b->fds[i].dev == f->dev &&
		    b->fds[i].ino == f->ino)
			return true;
	return false;
}

void fz_baseline_check_exact(const struct fz_baseline *b, const char *when)
{
	static struct fz_fd now[FZ_MAX_FDS];
	int n = fz_fd_census(now), i;

	for (i = 0; i < n; i++) {
		char link[64], target[128] = "?";
		ssize_t len;

		if (fz_baseline_has(b, &now[i]))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", now[i].fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len >= 0)
			target[len] = '\0';
		fz_fail("%s: descriptor %d (%s) leaked", when, now[i].fd,
			target);
	}
	fz_check(n == b->n, "%s: %d descriptors open, %d before: one of "
		 "the process's own was closed", when, n, b->n);
}

int fz_memfd(const char *name, size_t size, uint8_t fill)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint8_t buf[256];
	size_t done = 0;

	fz_check(fd >= 0, "memfd_create: %s", strerror(errno));
	memset(buf, fill, sizeof(buf));
	while (done < size) {
		size_t chunk = size - done < sizeof(buf) ? size - done
							  : sizeof(buf);
		ssize_t w = write(fd, buf, chunk);

		fz_check(w > 0, "write to a memfd: %s", strerror(errno));
		done += (size_t)w;
	}
	return fd;
}
