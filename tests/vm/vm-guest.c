/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the programs that run inside the test VM; see vm-guest.h. */
#include "vm-guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

unsigned vm_failures;

unsigned long long vm_cmdline_ull(const char *key, unsigned long long def)
{
	char buf[4096];
	size_t klen = strlen(key);
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return def;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return def;
	buf[n] = '\0';
	for (char *p = strtok(buf, " \n"); p; p = strtok(NULL, " \n")) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=')
			return strtoull(p + klen + 1, NULL, 0);
	}
	return def;
}

const char *vm_errname(long err)
{
	switch (err) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(EIO); E(EBADF); E(ECHILD); E(ENOMEM);
	E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST); E(ENODEV); E(EINVAL);
	E(EMFILE); E(ENOTTY); E(EFBIG); E(ENOSPC); E(E2BIG); E(EOPNOTSUPP);
	E(EPROTO); E(ENOEXEC); E(ENOSYS); E(ENAMETOOLONG);
#undef E
	case 0:
		return "OK";
	default:
		return "?";
	}
}

void vm_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	vm_failures++;
	printf("FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void vm_fill(void *buf, size_t len, uint64_t seed, uint64_t stream)
{
	uint64_t st = seed ^ (stream * 0xd1342543de82ef95ULL);
	unsigned char *p = buf;

	while (len >= 8) {
		uint64_t v = vm_rand_next(&st);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = vm_rand_next(&st);
		memcpy(p, &v, len);
	}
}

/* Chunked so that a 64 MiB file needs only a small buffer.  The chunk is
 * a multiple of 8, so regenerating chunk by chunk equals one long stream. */
#define VM_CHUNK (1u << 20)

static int stream_chunks(int fd, size_t len, uint64_t seed, uint64_t stream,
			 int write_mode, long long *diff)
{
	static unsigned char want[VM_CHUNK], have[VM_CHUNK];
	uint64_t st = seed ^ (stream * 0xd1342543de82ef95ULL);
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < VM_CHUNK ? len - off : VM_CHUNK;
		size_t i;

		for (i = 0; i + 8 <= n; i += 8) {
			uint64_t v = vm_rand_next(&st);
			memcpy(want + i, &v, 8);
		}
		if (i < n) {
			uint64_t v = vm_rand_next(&st);
			memcpy(want + i, &v, n - i);
		}
		if (write_mode) {
			if (pwrite(fd, want, n, (off_t)off) != (ssize_t)n)
				return -errno;
		} else {
			ssize_t r = pread(fd, have, n, (off_t)off);
			if (r != (ssize_t)n)
				return r < 0 ? -errno : -EIO;
			if (memcmp(want, have, n) != 0) {
				for (i = 0; want[i] == have[i]; i++)
					;
				*diff = (long long)(off + i);
				return 0;
			}
		}
		off += n;
	}
	return 0;
}

int vm_memfd_fill(int fd, size_t len, uint64_t seed, uint64_t stream)
{
	return stream_chunks(fd, len, seed, stream, 1, NULL);
}

long long vm_memfd_compare(int fd, size_t len, uint64_t seed, uint64_t stream)
{
	long long diff = -1;
	int r = stream_chunks(fd, len, seed, stream, 0, &diff);

	if (r < 0)
		vm_fail(__FILE__, __LINE__, "read of fd %d failed: %s", fd,
			strerror(-r));
	return diff;
}

void vm_hold_and_exit(int status)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		printf("FAIL: fork for the descriptor holder: %s\n",
		       strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		/* Holding the descriptors is the whole job: the kexec ends
		 * this process. */
		for (;;)
			pause();
	}
	_exit(status);
}

void vm_finish_program(const char *name, int hold)
{
	if (vm_failures)
		printf("%s: %u check(s) FAILED\n", name, vm_failures);
	else
		printf("%s: all checks passed\n", name);
	if (hold && !vm_failures)
		vm_hold_and_exit(0);
	fflush(NULL);
	exit(vm_failures ? 1 : 0);
}
