/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fuzz targets share (tests/fuzz/README section of
 * tests/README.md): reading the input, the checks that abort, and the
 * descriptor census.
 *
 * Every check failure prints what broke, where, and the steps so far
 * (with LIBLUO_FUZZ_TRACE=1 every step is printed as it runs), then calls
 * abort(): libFuzzer and the regression driver both count it as a crash.
 */
#ifndef LIBLUO_FUZZ_COMMON_H
#define LIBLUO_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fuzz target's entry point (libFuzzer's, or driver.c's). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the input ----------------------------------------------------------- */

struct fz_in {
	const uint8_t *data;
	size_t size, pos;
};

/* Bytes past the end read as 0; fz_more() says whether any is left. */
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
bool fz_more(const struct fz_in *in);
/* Up to @len bytes into @buf; returns how many were really there. */
size_t fz_bytes(struct fz_in *in, void *buf, size_t len);

/* ---- checks -------------------------------------------------------------- */

/* Whether LIBLUO_FUZZ_TRACE is set (read once). */
bool fz_tracing(void);
void fz_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fuzz check failed at FILE:LINE: [(COND)] ..." and abort(). */
void fz_fail_at(const char *file, int line, const char *cond,
		const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
#define fz_fail(...) fz_fail_at(__FILE__, __LINE__, NULL, __VA_ARGS__)
/* fz_check(cond) or fz_check(cond, "format", ...) */
#define fz_check(cond, ...)                                               \
	do {                                                              \
		if (!(cond))                                              \
			fz_fail_at(__FILE__, __LINE__, #cond, " " __VA_ARGS__); \
	} while (0)

/* ---- descriptors --------------------------------------------------------- */

enum fz_fd_kind {
	FZ_FD_OTHER = 0,
	FZ_FD_MEMFD,  /* a regular file on the memfd device */
	FZ_FD_SOCKET, /* S_ISSOCK */
	FZ_FD_EPOLL,  /* anon_inode:[eventpoll] */
};

struct fz_fd {
	int fd;
	enum fz_fd_kind kind;
	dev_t dev;
	ino_t ino;
};

#define FZ_MAX_FDS 512

/* Every open descriptor of the process (but the one reading
 * /proc/self/fd); returns how many, at most FZ_MAX_FDS (more aborts). */
int fz_fd_census(struct fz_fd *out);
/* fstat() identity of @fd: 0, or -errno. */
int fz_fd_id(int fd, dev_t *dev, ino_t *ino);

/*
 * The descriptors the harness holds itself (memfds, pipes, sockets,
 * retrieved files): each with the identity it had when registered, so a
 * descriptor the library closed, or closed and reused, is noticed.
 */
struct fz_own {
	int fd;
	dev_t dev;
	ino_t ino;
	const char *what;
};

#define FZ_MAX_OWN 64

struct fz_owned {
	struct fz_own fds[FZ_MAX_OWN];
	int n;
};

void fz_own_add(struct fz_owned *o, int fd, const char *what);
/* Forget @fd and close it. */
void fz_own_close(struct fz_owned *o, int fd);
bool fz_own_has(const struct fz_owned *o, int fd);
/* Abort unless every registered descriptor is open with its identity. */
void fz_own_check(const struct fz_owned *o);

/* The descriptors open when an input starts (libFuzzer's, stdio...): they
 * must still be there, untouched, and are left out of the counts. */
struct fz_baseline {
	struct fz_fd fds[FZ_MAX_FDS];
	int n;
};

void fz_baseline_take(struct fz_baseline *b);
bool fz_baseline_has(const struct fz_baseline *b, const struct fz_fd *f);
/* Abort unless the process holds exactly the baseline again. */
void fz_baseline_check_exact(const struct fz_baseline *b, const char *when);

/* A memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) of @size bytes of @fill;
 * aborts on failure (the harness cannot go on without it). */
int fz_memfd(const char *name, size_t size, uint8_t fill);

#endif /* LIBLUO_FUZZ_COMMON_H */
