/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-abi-probe: the real kernel as judge of the mainline LUO ABI.
 *
 * Talks to /dev/liveupdate with raw ioctls (its own definitions, written
 * from the ABI facts; not libluo's) and checks errno values, their
 * ordering and the lifecycle of sessions and files across two live
 * updates.  Every observation is printed as a "FACT" line, so the serial
 * log documents how the kernel under test behaves; a check that does not
 * match the expectation (the reference text) prints "FAIL" and makes the
 * program exit 1.
 *
 * usage: vm-abi-probe STAGE      (1, 2 or 3; see init and run.sh)
 *
 * Stage 1 and 2 end in vm_hold_and_exit(): a child keeps the session fds
 * until init kexecs.  Session names start with "probe." so that they
 * cannot collide with vm-stages or libluo.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm-guest.h"

/* ---- the mainline ABI, from the facts ------------------------------------ */

#define K_TYPE 0xBA
#define K_NAME_LEN 64

struct k_session {		/* CREATE_SESSION, RETRIEVE_SESSION */
	uint32_t size;
	int32_t fd;
	uint8_t name[K_NAME_LEN];
};

struct k_file {			/* SESSION_PRESERVE_FD, SESSION_RETRIEVE_FD */
	uint32_t size;
	int32_t fd;
	uint64_t token __attribute__((aligned(8)));
};

struct k_finish {
	uint32_t size;
	uint32_t reserved;
};

struct k_get_name {
	uint32_t size;
	uint32_t reserved;
	uint8_t name[K_NAME_LEN];
};

#define K_CREATE_SESSION _IO(K_TYPE, 0x00)
#define K_RETRIEVE_SESSION _IO(K_TYPE, 0x01)
#define K_PRESERVE_FD _IO(K_TYPE, 0x40)
#define K_RETRIEVE_FD _IO(K_TYPE, 0x41)
#define K_FINISH _IO(K_TYPE, 0x42)
#define K_GET_NAME _IO(K_TYPE, 0x43)

/* The RFC ABI's requests, to see how a mainline kernel answers them. */
struct rfc_fd {
	int32_t fd;
	uint32_t flags;
	uint64_t token __attribute__((aligned(8)));
};
#define RFC_FD_PRESERVE _IOW(K_TYPE, 0x00, struct rfc_fd)
#define RFC_FD_UNPRESERVE _IOW(K_TYPE, 0x01, uint64_t)
#define RFC_FD_RESTORE _IOWR(K_TYPE, 0x02, struct rfc_fd)
#define RFC_GET_STATE _IOR(K_TYPE, 0x03, uint32_t)
#define RFC_PREPARE _IO(K_TYPE, 0x04)
#define RFC_CANCEL _IO(K_TYPE, 0x06)
#define RFC_FINISH _IO(K_TYPE, 0x07)

#define DEV "/dev/liveupdate"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t seed;

/* 0 or -errno */
static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

static void fact(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fact(const char *fmt, ...)
{
	va_list ap;

	printf("FACT: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Expect @got (0/-errno or fd) to equal @want (-errno, or 0 meaning
 * "success", i.e. >= 0); print a FACT line either way. */
#define EXPECT(what, got, want) expect_(__FILE__, __LINE__, what, got, want)
static int expect_(const char *file, int line, const char *what, int got,
		   int want)
{
	int ok = want == 0 ? got >= 0 : got == want;

	fact("%s -> %s", what, got >= 0 ? "OK" : vm_errname(-got));
	if (!ok)
		vm_fail(file, line, "%s: got %s, expected %s", what,
			got >= 0 ? "success" : vm_errname(-got),
			want == 0 ? "success" : vm_errname(-want));
	return got;
}

static int session_req(int dev, unsigned long req, const char *name)
{
	struct k_session s = { .size = sizeof(s) };

	memcpy(s.name, name, strnlen(name, sizeof(s.name)));
	int r = xioctl(dev, req, &s);
	return r < 0 ? r : s.fd;
}

static int create_session(int dev, const char *name)
{
	return session_req(dev, K_CREATE_SESSION, name);
}

static int retrieve_session(int dev, const char *name)
{
	return session_req(dev, K_RETRIEVE_SESSION, name);
}

static int preserve(int sfd, int fd, uint64_t token)
{
	struct k_file f = { .size = sizeof(f), .fd = fd, .token = token };

	return xioctl(sfd, K_PRESERVE_FD, &f);
}

static int retrieve_fd(int sfd, uint64_t token)
{
	struct k_file f = { .size = sizeof(f), .fd = -1, .token = token };
	int r = xioctl(sfd, K_RETRIEVE_FD, &f);

	return r < 0 ? r : f.fd;
}

static int finish(int sfd)
{
	struct k_finish f = { .size = sizeof(f) };

	return xioctl(sfd, K_FINISH, &f);
}

static int get_name(int sfd, char *out)
{
	struct k_get_name g = { .size = sizeof(g) };
	int r = xioctl(sfd, K_GET_NAME, &g);

	if (r == 0)
		memcpy(out, g.name, K_NAME_LEN);
	return r;
}

static int must(int r, const char *what)
{
	if (r < 0) {
		vm_fail(__FILE__, __LINE__, "%s: %s", what, vm_errname(-r));
		vm_finish_program("vm-abi-probe", 0);
	}
	return r;
}

/* A memfd of @size deterministic bytes (stream @stream) at offset @pos. */
static int make_memfd(const char *name, unsigned flags, size_t size,
		      uint64_t stream, off_t pos)
{
	int fd = memfd_create(name, flags);

	must(fd < 0 ? -errno : fd, "memfd_create");
	must(ftruncate(fd, (off_t)size) ? -errno : 0, "ftruncate");
	must(vm_memfd_fill(fd, size, seed, stream), "fill");
	must(lseek(fd, pos, SEEK_SET) < 0 ? -errno : 0, "lseek");
	return fd;
}

/* Check size, offset, seals and every byte of a retrieved memfd. */
static void verify_memfd(const char *what, int fd, size_t size,
			 uint64_t stream, off_t pos, int seals)
{
	struct stat st;
	long long diff;

	if (fd < 0) {
		vm_fail(__FILE__, __LINE__, "%s: no fd (%s)", what,
			vm_errname(-fd));
		return;
	}
	VM_CHECK(fstat(fd, &st) == 0 && (size_t)st.st_size == size,
		 "%s: size %lld, want %zu", what, (long long)st.st_size, size);
	off_t cur = lseek(fd, 0, SEEK_CUR);
	VM_CHECK(cur == pos, "%s: offset %lld, want %lld", what,
		 (long long)cur, (long long)pos);
	int s = fcntl(fd, F_GET_SEALS);
	VM_CHECK(s == seals, "%s: seals %#x, want %#x", what, s, seals);
	diff = vm_memfd_compare(fd, size, seed, stream);
	VM_CHECK(diff < 0, "%s: first differing byte at %lld", what, diff);
	fact("%s: size %lld offset %lld seals %#x contents %s", what,
	     (long long)st.st_size, (long long)cur, s,
	     diff < 0 ? "intact" : "DIFFER");
}

/* Tokens and streams used across stages. */
enum {
	TOK_PLAIN = 1,		/* 3 pages + 5 bytes, offset 100 -> 777 later */
	TOK_SEALED = 2,		/* WRITE|GROW|SHRINK sealed */
	TOK_NOSEAL = 3,		/* created without MFD_ALLOW_SEALING */
	TOK_EMPTY = 4,		/* size 0 */
	TOK_SPARSE = 5,		/* 1 MiB, one byte written in the middle */
	TOK_LATESEAL = 6,	/* seal added after preserve */
	TOK_LATEWRITE = 7,	/* bytes changed after preserve, within size */
	TOK_REUSED = 8,		/* was in a closed session first */
	TOK_AFTERCLOSE = 9,	/* preserved after the device fd was closed */
	TOK_SPARE = 10,		/* retrieved-file experiments in stage 2 */
	TOK_FUTURE = 11,	/* F_SEAL_FUTURE_WRITE */
	TOK_ZERO = 0,
};
#define TOK_MAX UINT64_MAX
#define PLAIN_SIZE (3 * 4096 + 5)
#define SPARSE_SIZE (1 << 20)
#define SMALL_SIZE 4096
#define STREAM(tok) (0x50000000ull + (tok))

/* ---- stage 1 -------------------------------------------------------------- */

static void stage1_abi(int dev)
{
	struct rfc_fd rfc = { .fd = 0, .token = 1 };
	uint32_t st = 0;
	uint64_t tok = 1;

	/* What a mainline kernel answers to the RFC requests: detection. */
	EXPECT("RFC GET_STATE _IOR(0xBA,3) on device", xioctl(dev, RFC_GET_STATE, &st), -EINVAL);
	EXPECT("RFC PREPARE _IO(0xBA,4) on device", xioctl(dev, RFC_PREPARE, NULL), -EINVAL);
	EXPECT("RFC CANCEL _IO(0xBA,6) on device", xioctl(dev, RFC_CANCEL, NULL), -EINVAL);
	EXPECT("RFC FINISH _IO(0xBA,7) on device", xioctl(dev, RFC_FINISH, NULL), -EINVAL);
	EXPECT("RFC FD_PRESERVE _IOW(0xBA,0) on device", xioctl(dev, RFC_FD_PRESERVE, &rfc), -ENOTTY);
	EXPECT("RFC FD_UNPRESERVE _IOW(0xBA,1) on device", xioctl(dev, RFC_FD_UNPRESERVE, &tok), -ENOTTY);
	EXPECT("RFC FD_RESTORE _IOWR(0xBA,2) on device", xioctl(dev, RFC_FD_RESTORE, &rfc), -EINVAL);
	/* Ordering: the size word is read before the encoding is compared. */
	EXPECT("RFC FD_PRESERVE with NULL arg", xioctl(dev, RFC_FD_PRESERVE, NULL), -EFAULT);
	EXPECT("CREATE_SESSION with NULL arg", xioctl(dev, K_CREATE_SESSION, NULL), -EFAULT);
	EXPECT("session request 0x40 on the device fd", xioctl(dev, _IO(K_TYPE, 0x40), &st), -EINVAL);

	/* Argument sizes and names. */
	struct k_session s = { .size = 8 };
	strcpy((char *)s.name, "probe.size");
	EXPECT("CREATE_SESSION size 8 (< 72)", xioctl(dev, K_CREATE_SESSION, &s), -EINVAL);
	s.size = 71;
	EXPECT("CREATE_SESSION size 71 (< 72)", xioctl(dev, K_CREATE_SESSION, &s), -EINVAL);

	struct {
		struct k_session s;
		uint8_t tail[8];
	} big;
	memset(&big, 0, sizeof(big));
	big.s.size = sizeof(big);
	strcpy((char *)big.s.name, "probe.bigsize");
	big.tail[3] = 1;
	EXPECT("CREATE_SESSION size 80, non-zero tail", xioctl(dev, K_CREATE_SESSION, &big), -E2BIG);
	big.tail[3] = 0;
	int r = EXPECT("CREATE_SESSION size 80, zero tail", xioctl(dev, K_CREATE_SESSION, &big), 0);
	if (r == 0)
		close(big.s.fd);

	EXPECT("CREATE_SESSION name \"\"", create_session(dev, ""), -EINVAL);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	memset(s.name, 'n', sizeof(s.name)); /* 64 bytes, no NUL */
	EXPECT("CREATE_SESSION 64-byte name without NUL", xioctl(dev, K_CREATE_SESSION, &s), -EINVAL);
	char n63[64];
	memset(n63, 'p', 63);
	n63[63] = '\0';
	r = EXPECT("CREATE_SESSION 63-byte name", create_session(dev, n63), 0);
	if (r >= 0) {
		char got[K_NAME_LEN];
		VM_CHECK(get_name(r, got) == 0 && strcmp(got, n63) == 0,
			 "GET_NAME of 63-byte name");
		close(r);
	}
	/* A closed outgoing session is gone at once: its name is free. */
	r = EXPECT("CREATE_SESSION 63-byte name again after close", create_session(dev, n63), 0);
	if (r >= 0)
		close(r);
	EXPECT("RETRIEVE_SESSION in a cold boot", retrieve_session(dev, "probe.keep"), -ENOENT);
	EXPECT("RETRIEVE_SESSION name \"\" in a cold boot", retrieve_session(dev, ""), -ENOENT);
}

static void stage1_session_requests(int sfd)
{
	struct k_file f = { .size = sizeof(f), .fd = 0, .token = 1 };
	struct k_finish fin = { .size = sizeof(fin) };
	struct k_get_name g = { .size = sizeof(g), .reserved = 1 };
	char name[K_NAME_LEN];

	EXPECT("RETRIEVE_FD on an outgoing session", retrieve_fd(sfd, 1), -EINVAL);
	EXPECT("FINISH on an outgoing session", finish(sfd), -EINVAL);
	fin.reserved = 1;
	EXPECT("FINISH reserved=1 on an outgoing session (type checked first)",
	       xioctl(sfd, K_FINISH, &fin), -EINVAL);
	EXPECT("GET_NAME reserved=1", xioctl(sfd, K_GET_NAME, &g), -EINVAL);
	g.reserved = 0;
	g.size = 8;
	EXPECT("GET_NAME size 8 (< 72)", xioctl(sfd, K_GET_NAME, &g), -EINVAL);
	EXPECT("GET_NAME on an outgoing session", get_name(sfd, name), 0);
	VM_CHECK(strcmp(name, "probe.keep") == 0, "GET_NAME gave '%s'", name);
	f.size = 12;
	EXPECT("PRESERVE_FD size 12 (< 16)", xioctl(sfd, K_PRESERVE_FD, &f), -EINVAL);
	EXPECT("request 0x44 on a session", xioctl(sfd, _IO(K_TYPE, 0x44), &f), -EINVAL);
	EXPECT("request 0x3f on a session", xioctl(sfd, _IO(K_TYPE, 0x3f), &f), -EINVAL);
	EXPECT("CREATE_SESSION (0x00) on a session", xioctl(sfd, K_CREATE_SESSION, &f), -EINVAL);
	EXPECT("_IOW(0xBA,0x40) on a session", xioctl(sfd, _IOW(K_TYPE, 0x40, struct k_file), &f), -ENOTTY);
	int fl = fcntl(sfd, F_GETFD);
	fact("session fd FD_CLOEXEC=%d", !!(fl & FD_CLOEXEC));
	VM_CHECK(fl >= 0 && (fl & FD_CLOEXEC), "session fd not O_CLOEXEC");
}

static void stage1_preserve(int dev, int keep)
{
	int pfd[2], r;

	/* File kinds. */
	must(pipe(pfd) ? -errno : 0, "pipe");
	EXPECT("PRESERVE_FD pipe", preserve(keep, pfd[0], 100), -ENOENT);
	int null = open("/dev/null", O_RDWR);
	EXPECT("PRESERVE_FD /dev/null", preserve(keep, null, 101), -ENOENT);
	int linked = open("/tmp/probe-linked", O_RDWR | O_CREAT, 0600);
	EXPECT("PRESERVE_FD linked tmpfs file", preserve(keep, linked, 102), -ENOENT);
	/* Only facts: what the kernel does with unlinked tmpfs files. */
	int tmpf = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (tmpf >= 0) {
		r = preserve(keep, tmpf, 103);
		fact("PRESERVE_FD O_TMPFILE on tmpfs -> %s", r ? vm_errname(-r) : "OK");
	}
	unlink("/tmp/probe-linked");
	r = preserve(keep, linked, 104);
	fact("PRESERVE_FD tmpfs file after unlink -> %s", r ? vm_errname(-r) : "OK");
	EXPECT("PRESERVE_FD fd -1", preserve(keep, -1, 105), -EBADF);
	EXPECT("PRESERVE_FD closed fd 1000", preserve(keep, 1000, 106), -EBADF);

	/* The files stage 2 checks. */
	int plain = make_memfd("plain", 0, PLAIN_SIZE, STREAM(TOK_PLAIN), 100);
	EXPECT("PRESERVE_FD memfd", preserve(keep, plain, TOK_PLAIN), 0);
	EXPECT("PRESERVE_FD same memfd, new token", preserve(keep, plain, 200), -EBUSY);
	int dupd = dup(plain);
	EXPECT("PRESERVE_FD dup() of a preserved memfd", preserve(keep, dupd, 201), -EBUSY);
	int other = make_memfd("other", 0, SMALL_SIZE, STREAM(99), 0);
	EXPECT("PRESERVE_FD duplicate token", preserve(keep, other, TOK_PLAIN), -EEXIST);
	EXPECT("PRESERVE_FD duplicate token and bad fd (token checked first)",
	       preserve(keep, -1, TOK_PLAIN), -EEXIST);
	int s2 = must(create_session(dev, "probe.other"), "create probe.other");
	EXPECT("PRESERVE_FD memfd preserved in another session", preserve(s2, plain, 1), -EBUSY);
	close(s2);

	/* A preserved memfd's size is frozen; its bytes are not. */
	char b = 'x';
	EXPECT("pwrite inside a preserved memfd", pwrite(plain, &b, 1, 5) == 1 ? 0 : -errno, 0);
	must(pwrite(plain, "", 0, 0) < 0 ? -errno : 0, "empty pwrite");
	/* Put the byte back so the contents stay the stream. */
	must(vm_memfd_fill(plain, PLAIN_SIZE, seed, STREAM(TOK_PLAIN)), "refill");
	EXPECT("pwrite past EOF of a preserved memfd", pwrite(plain, &b, 1, PLAIN_SIZE) == 1 ? 0 : -errno, -EPERM);
	EXPECT("ftruncate(grow) of a preserved memfd", ftruncate(plain, PLAIN_SIZE + 1) ? -errno : 0, -EPERM);
	EXPECT("ftruncate(shrink) of a preserved memfd", ftruncate(plain, 1) ? -errno : 0, -EPERM);
	EXPECT("ftruncate(same size) of a preserved memfd", ftruncate(plain, PLAIN_SIZE) ? -errno : 0, 0);
	EXPECT("fallocate of a preserved memfd", fallocate(plain, 0, 0, 4096) ? -errno : 0, -EPERM);
	/* The offset is taken at the kexec, not at preserve time. */
	lseek(plain, 777, SEEK_SET);
	close(plain);
	close(dupd);

	int sealed = make_memfd("sealed", MFD_ALLOW_SEALING, SMALL_SIZE, STREAM(TOK_SEALED), 10);
	must(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) ? -errno : 0, "seal");
	EXPECT("PRESERVE_FD sealed memfd", preserve(keep, sealed, TOK_SEALED), 0);
	int noseal = make_memfd("noseal", 0, SMALL_SIZE, STREAM(TOK_NOSEAL), 4095);
	EXPECT("PRESERVE_FD memfd without MFD_ALLOW_SEALING", preserve(keep, noseal, TOK_NOSEAL), 0);
	int empty = make_memfd("empty", 0, 0, STREAM(TOK_EMPTY), 0);
	EXPECT("PRESERVE_FD empty memfd", preserve(keep, empty, TOK_EMPTY), 0);
	EXPECT("ftruncate(grow) of a preserved empty memfd", ftruncate(empty, 10) ? -errno : 0, -EPERM);
	int sparse = memfd_create("sparse", 0);
	must(ftruncate(sparse, SPARSE_SIZE) ? -errno : 0, "ftruncate sparse");
	must(pwrite(sparse, "S", 1, SPARSE_SIZE / 2) == 1 ? 0 : -errno, "pwrite sparse");
	EXPECT("PRESERVE_FD sparse memfd", preserve(keep, sparse, TOK_SPARSE), 0);
	int late = make_memfd("lateseal", MFD_ALLOW_SEALING, SMALL_SIZE, STREAM(TOK_LATESEAL), 0);
	EXPECT("PRESERVE_FD memfd (seal added later)", preserve(keep, late, TOK_LATESEAL), 0);
	EXPECT("F_ADD_SEALS(F_SEAL_SHRINK) on a preserved memfd",
	       fcntl(late, F_ADD_SEALS, F_SEAL_SHRINK) ? -errno : 0, 0);
	int lw = make_memfd("latewrite", 0, SMALL_SIZE, STREAM(1000), 0);
	EXPECT("PRESERVE_FD memfd (rewritten later)", preserve(keep, lw, TOK_LATEWRITE), 0);
	must(vm_memfd_fill(lw, SMALL_SIZE, seed, STREAM(TOK_LATEWRITE)), "rewrite");
	int fut = make_memfd("future", MFD_ALLOW_SEALING, SMALL_SIZE, STREAM(TOK_FUTURE), 1);
	must(fcntl(fut, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) ? -errno : 0, "future seal");
	EXPECT("PRESERVE_FD F_SEAL_FUTURE_WRITE memfd", preserve(keep, fut, TOK_FUTURE), 0);
	int z = make_memfd("tok0", 0, 1, STREAM(TOK_ZERO), 0);
	EXPECT("PRESERVE_FD token 0", preserve(keep, z, TOK_ZERO), 0);
	int m = make_memfd("tokmax", 0, 2, STREAM(3333), 1);
	EXPECT("PRESERVE_FD token UINT64_MAX", preserve(keep, m, TOK_MAX), 0);
	int spare = make_memfd("spare", 0, SMALL_SIZE, STREAM(TOK_SPARE), 0);
	EXPECT("PRESERVE_FD spare", preserve(keep, spare, TOK_SPARE), 0);

	/* Closing an outgoing session unpreserves its files at once. */
	int cl = must(create_session(dev, "probe.closed"), "create probe.closed");
	int reused = make_memfd("reused", 0, SMALL_SIZE, STREAM(TOK_REUSED), 3);
	EXPECT("PRESERVE_FD into probe.closed", preserve(cl, reused, 1), 0);
	close(cl);
	EXPECT("ftruncate after its session was closed (size unfrozen)",
	       ftruncate(reused, SMALL_SIZE + 1) ? -errno : 0, 0);
	must(ftruncate(reused, SMALL_SIZE) ? -errno : 0, "ftruncate back");
	EXPECT("PRESERVE_FD file of a closed session into another",
	       preserve(keep, reused, TOK_REUSED), 0);
}

static int stage1(void)
{
	int dev = open(DEV, O_RDWR | O_CLOEXEC);

	must(dev < 0 ? -errno : dev, "open " DEV);
	int dev2 = open(DEV, O_RDWR | O_CLOEXEC);
	EXPECT("second open of " DEV, dev2 < 0 ? -errno : dev2, -EBUSY);
	if (dev2 >= 0)
		close(dev2);

	stage1_abi(dev);

	int keep = must(create_session(dev, "probe.keep"), "create probe.keep");
	EXPECT("CREATE_SESSION duplicate name", create_session(dev, "probe.keep"), -EEXIST);
	stage1_session_requests(keep);
	stage1_preserve(dev, keep);

	must(create_session(dev, "probe.empty"), "create probe.empty");
	int lo = must(create_session(dev, "probe.leftover"), "create probe.leftover");
	must(preserve(lo, make_memfd("lo", 0, SMALL_SIZE, STREAM(500), 0), 1), "preserve lo");
	int un = must(create_session(dev, "probe.unfinished"), "create probe.unfinished");
	must(preserve(un, make_memfd("un", 0, SMALL_SIZE, STREAM(501), 0), 1), "preserve un");
	int fc = must(create_session(dev, "probe.finishclose"), "create probe.finishclose");
	must(preserve(fc, make_memfd("fc1", 0, SMALL_SIZE, STREAM(502), 0), 1), "preserve fc1");
	must(preserve(fc, make_memfd("fc2", 0, SMALL_SIZE, STREAM(503), 0), 2), "preserve fc2");

	/* Sessions outlive the device fd, and the device is free again. */
	close(dev);
	int late = make_memfd("afterclose", 0, SMALL_SIZE, STREAM(TOK_AFTERCLOSE), 0);
	EXPECT("PRESERVE_FD after the device fd was closed", preserve(keep, late, TOK_AFTERCLOSE), 0);
	dev = open(DEV, O_RDWR | O_CLOEXEC);
	EXPECT("reopen " DEV " after close", dev < 0 ? -errno : dev, 0);
	if (dev >= 0)
		close(dev);
	return 1;
}

/* ---- stage 2 -------------------------------------------------------------- */

static void stage2_keep(int dev)
{
	int keep = EXPECT("RETRIEVE_SESSION probe.keep", retrieve_session(dev, "probe.keep"), 0);
	if (keep < 0)
		return;
	EXPECT("RETRIEVE_SESSION probe.keep again", retrieve_session(dev, "probe.keep"), -EINVAL);
	int fl = fcntl(keep, F_GETFD);
	VM_CHECK(fl >= 0 && (fl & FD_CLOEXEC), "retrieved session fd not O_CLOEXEC");
	char name[K_NAME_LEN];
	EXPECT("GET_NAME on an incoming session", get_name(keep, name), 0);
	VM_CHECK(strcmp(name, "probe.keep") == 0, "GET_NAME gave '%s'", name);
	int mfd = make_memfd("s2", 0, 10, STREAM(77), 0);
	EXPECT("PRESERVE_FD on an incoming session", preserve(keep, mfd, 999), -EINVAL);
	struct k_finish fin = { .size = sizeof(fin), .reserved = 1 };
	EXPECT("FINISH reserved=1", xioctl(keep, K_FINISH, &fin), -EINVAL);
	EXPECT("RETRIEVE_FD unknown token", retrieve_fd(keep, 12345), -ENOENT);
	EXPECT("RETRIEVE_FD token of a file that was refused in stage 1", retrieve_fd(keep, 100), -ENOENT);
	int t = retrieve_fd(keep, 103);
	fact("RETRIEVE_FD of the O_TMPFILE token -> %s", t >= 0 ? "OK" : vm_errname(-t));
	t = retrieve_fd(keep, 104);
	fact("RETRIEVE_FD of the unlinked tmpfs file token -> %s", t >= 0 ? "OK" : vm_errname(-t));
	/* A session can be created under the name of an incoming one. */
	int same = EXPECT("CREATE_SESSION named like an incoming session",
			  create_session(dev, "probe.keep"), 0);
	if (same >= 0)
		close(same); /* or it would travel to stage 3 */

	/* In an order other than preservation's. */
	verify_memfd("spare", retrieve_fd(keep, TOK_SPARE), SMALL_SIZE, STREAM(TOK_SPARE), 0, F_SEAL_SEAL);
	verify_memfd("tokmax", retrieve_fd(keep, TOK_MAX), 2, STREAM(3333), 1, F_SEAL_SEAL);
	verify_memfd("token 0", retrieve_fd(keep, TOK_ZERO), 1, STREAM(TOK_ZERO), 0, F_SEAL_SEAL);
	verify_memfd("future-write sealed", retrieve_fd(keep, TOK_FUTURE), SMALL_SIZE,
		     STREAM(TOK_FUTURE), 1, F_SEAL_FUTURE_WRITE);
	verify_memfd("rewritten after preserve", retrieve_fd(keep, TOK_LATEWRITE), SMALL_SIZE,
		     STREAM(TOK_LATEWRITE), 0, F_SEAL_SEAL);
	int late = retrieve_fd(keep, TOK_LATESEAL);
	int ls = late >= 0 ? fcntl(late, F_GET_SEALS) : late;
	fact("seal added after preserve: seals after the kexec %#x (%s)", ls,
	     ls & F_SEAL_SHRINK ? "carried" : "LOST");
	verify_memfd("reused", retrieve_fd(keep, TOK_REUSED), SMALL_SIZE, STREAM(TOK_REUSED), 3, F_SEAL_SEAL);
	verify_memfd("after device close", retrieve_fd(keep, TOK_AFTERCLOSE), SMALL_SIZE,
		     STREAM(TOK_AFTERCLOSE), 0, F_SEAL_SEAL);
	verify_memfd("empty", retrieve_fd(keep, TOK_EMPTY), 0, 0, 0, F_SEAL_SEAL);
	verify_memfd("noseal", retrieve_fd(keep, TOK_NOSEAL), SMALL_SIZE, STREAM(TOK_NOSEAL), 4095, F_SEAL_SEAL);
	verify_memfd("sealed", retrieve_fd(keep, TOK_SEALED), SMALL_SIZE, STREAM(TOK_SEALED), 10,
		     F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
	int plain = retrieve_fd(keep, TOK_PLAIN);
	verify_memfd("plain (offset moved after preserve)", plain, PLAIN_SIZE, STREAM(TOK_PLAIN), 777, F_SEAL_SEAL);
	if (plain >= 0) {
		int fl2 = fcntl(plain, F_GETFL);
		fact("retrieved memfd F_GETFL %#x, FD_CLOEXEC=%d", fl2,
		     !!(fcntl(plain, F_GETFD) & FD_CLOEXEC));
		VM_CHECK((fl2 & O_ACCMODE) == O_RDWR, "retrieved memfd not O_RDWR");
		VM_CHECK(fcntl(plain, F_GETFD) & FD_CLOEXEC, "retrieved memfd not O_CLOEXEC");
	}
	int sp = retrieve_fd(keep, TOK_SPARSE);
	if (sp >= 0) {
		struct stat st;
		char c = 0;
		fstat(sp, &st);
		VM_CHECK(st.st_size == SPARSE_SIZE && pread(sp, &c, 1, SPARSE_SIZE / 2) == 1 && c == 'S',
			 "sparse memfd: size %lld byte '%c'", (long long)st.st_size, c);
		fact("sparse 1 MiB memfd: st_blocks after kexec %lld (holes %s)", (long long)st.st_blocks,
		     st.st_blocks >= SPARSE_SIZE / 512 ? "filled" : "kept");
	} else {
		vm_fail(__FILE__, __LINE__, "sparse: %s", vm_errname(-sp));
	}

	/* The same token again: another fd for the same open file. */
	int plain2 = EXPECT("RETRIEVE_FD same token again", retrieve_fd(keep, TOK_PLAIN), 0);
	if (plain >= 0 && plain2 >= 0) {
		struct stat a, b;
		fstat(plain, &a);
		fstat(plain2, &b);
		VM_CHECK(plain != plain2 && a.st_ino == b.st_ino, "second retrieve: not the same file");
		lseek(plain2, 5, SEEK_SET);
		fact("two retrieves of one token share the file offset: %s",
		     lseek(plain, 0, SEEK_CUR) == 5 ? "yes (same open file)" : "no");
	}

	/* Retrieved files before finish. */
	int spare = retrieve_fd(keep, TOK_SPARE);
	int r = ftruncate(spare, SMALL_SIZE * 2) ? -errno : 0;
	fact("ftruncate of a retrieved memfd before FINISH -> %s", r ? vm_errname(-r) : "OK");
	int s2 = must(create_session(dev, "probe.s2"), "create probe.s2");
	EXPECT("PRESERVE_FD a retrieved memfd before FINISH", preserve(s2, spare, 1), -EBUSY);

	EXPECT("FINISH probe.keep", finish(keep), 0);
	r = finish(keep);
	fact("FINISH probe.keep a second time -> %s", r ? vm_errname(-r) : "OK");
	EXPECT("RETRIEVE_FD after FINISH", retrieve_fd(keep, TOK_PLAIN), -ENOENT);
	verify_memfd("plain after FINISH (fd stays valid)", plain, PLAIN_SIZE, STREAM(TOK_PLAIN), 5, F_SEAL_SEAL);
	EXPECT("pwrite past EOF of a retrieved memfd after FINISH",
	       pwrite(plain, "x", 1, PLAIN_SIZE) == 1 ? 0 : -errno, 0);
	EXPECT("ftruncate back", ftruncate(plain, PLAIN_SIZE) ? -errno : 0, 0);
	lseek(plain, 0, SEEK_SET);

	/* Carry two files on to stage 3: one fresh, one that came from stage 1. */
	int fresh = make_memfd("s2fresh", 0, SMALL_SIZE * 3, STREAM(600), 42);
	EXPECT("PRESERVE_FD fresh memfd into probe.s2", preserve(s2, fresh, 1), 0);
	EXPECT("PRESERVE_FD retrieved memfd after FINISH", preserve(s2, plain, 2), 0);
	EXPECT("close of a finished incoming session", close(keep) ? -errno : 0, 0);
	EXPECT("RETRIEVE_SESSION after the session was finished and closed",
	       retrieve_session(dev, "probe.keep"), -ENOENT);
}

static int stage2(void)
{
	int dev = open(DEV, O_RDWR | O_CLOEXEC);

	must(dev < 0 ? -errno : dev, "open " DEV " after the live update");
	int dev2 = open(DEV, O_RDWR | O_CLOEXEC);
	EXPECT("second open of " DEV " after the live update", dev2 < 0 ? -errno : dev2, -EBUSY);

	EXPECT("RETRIEVE_SESSION of a session closed before the kexec",
	       retrieve_session(dev, "probe.closed"), -ENOENT);
	EXPECT("RETRIEVE_SESSION of a session never created",
	       retrieve_session(dev, "probe.never"), -ENOENT);
	EXPECT("RETRIEVE_SESSION \"\"", retrieve_session(dev, ""), -ENOENT);
	EXPECT("RETRIEVE_SESSION probe.other (closed with no files)",
	       retrieve_session(dev, "probe.other"), -ENOENT);
	stage2_keep(dev);

	int e = EXPECT("RETRIEVE_SESSION probe.empty", retrieve_session(dev, "probe.empty"), 0);
	if (e >= 0) {
		EXPECT("RETRIEVE_FD in an empty session", retrieve_fd(e, 1), -ENOENT);
		EXPECT("FINISH probe.empty", finish(e), 0);
		close(e);
	}
	/* Closing an unfinished incoming session finishes it. */
	int fc = EXPECT("RETRIEVE_SESSION probe.finishclose", retrieve_session(dev, "probe.finishclose"), 0);
	if (fc >= 0) {
		int f1 = retrieve_fd(fc, 1);
		verify_memfd("finishclose token 1", f1, SMALL_SIZE, STREAM(502), 0, F_SEAL_SEAL);
		EXPECT("close of an unfinished incoming session", close(fc) ? -errno : 0, 0);
		EXPECT("RETRIEVE_SESSION after close without FINISH",
		       retrieve_session(dev, "probe.finishclose"), -ENOENT);
		verify_memfd("finishclose token 1 after close", f1, SMALL_SIZE, STREAM(502), 0, F_SEAL_SEAL);
	}
	/* Retrieved and not finished, held open over the next kexec. */
	int un = EXPECT("RETRIEVE_SESSION probe.unfinished", retrieve_session(dev, "probe.unfinished"), 0);
	if (un >= 0)
		verify_memfd("unfinished token 1", retrieve_fd(un, 1), SMALL_SIZE, STREAM(501), 0, F_SEAL_SEAL);
	/* probe.leftover is left alone. */
	close(dev);
	if (dev2 >= 0)
		close(dev2);
	return 1;
}

/* ---- stage 3 -------------------------------------------------------------- */

static int stage3(void)
{
	int dev = open(DEV, O_RDWR | O_CLOEXEC);

	must(dev < 0 ? -errno : dev, "open " DEV " after the second live update");
	EXPECT("stage-1 session finished in stage 2", retrieve_session(dev, "probe.keep"), -ENOENT);
	EXPECT("stage-1 session never retrieved in stage 2", retrieve_session(dev, "probe.leftover"), -ENOENT);
	EXPECT("stage-1 session retrieved, not finished in stage 2",
	       retrieve_session(dev, "probe.unfinished"), -ENOENT);
	EXPECT("stage-1 empty session", retrieve_session(dev, "probe.empty"), -ENOENT);
	int s2 = EXPECT("RETRIEVE_SESSION probe.s2", retrieve_session(dev, "probe.s2"), 0);
	if (s2 >= 0) {
		verify_memfd("stage-2 fresh memfd", retrieve_fd(s2, 1), SMALL_SIZE * 3, STREAM(600), 42, F_SEAL_SEAL);
		verify_memfd("stage-1 memfd carried twice", retrieve_fd(s2, 2), PLAIN_SIZE,
			     STREAM(TOK_PLAIN), 0, F_SEAL_SEAL);
		EXPECT("FINISH probe.s2", finish(s2), 0);
		close(s2);
	}
	close(dev);
	return 0;
}

int main(int argc, char **argv)
{
	int stage = argc > 1 ? atoi(argv[1]) : 0;
	int hold;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = vm_cmdline_ull("libluo.seed", 1);
	printf("vm-abi-probe: stage %d, seed %llu\n", stage, (unsigned long long)seed);
	switch (stage) {
	case 1: hold = stage1(); break;
	case 2: hold = stage2(); break;
	case 3: hold = stage3(); break;
	default:
		fprintf(stderr, "usage: vm-abi-probe 1|2|3\n");
		return 2;
	}
	vm_finish_program("vm-abi-probe", hold);
}
