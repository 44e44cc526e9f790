/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * P1 in the QEMU guest: libluo against the physical limit, the raw ioctl,
 * on a real LUO kernel.  Run by the VM suite first thing in stage 1, where
 * nothing holds /dev/liveupdate and no session exists (tests/vm/run.sh
 * --bench); every result line starts with "LIBLUO-BENCH: ", which run.sh
 * copies from the serial log into the test output.
 *
 *   meson setup b -Dvm_tests=enabled -Dbench=true
 *   meson test -C b --suite vm -v
 *
 * What is measured, in one boot:
 *
 *  1. create+preserve: {create a session, preserve one small memfd in it},
 *     N = 2,000 times per path and round, through raw CREATE_SESSION +
 *     SESSION_PRESERVE_FD ioctls (layouts from common/luo-abi.h) and
 *     through luo_session_create() + luo_session_preserve_fd().  Target:
 *     libluo / raw <= 1.05.  Measured twice: with the session record
 *     (the default: each session also holds the record's first segment,
 *     a second memfd, and the context an index session), and with a
 *     context made with luo_ctx_opts_set_record(false), which sends
 *     exactly the raw path's requests.
 *  2. the cheapest request libluo sends: SESSION_PRESERVE_FD of a
 *     descriptor number that is not open, which the kernel refuses with
 *     EBADF after its token check and fget(), changing nothing.  It is
 *     sent to a session that already holds one file, so the kernel's
 *     block set neither grows nor shrinks; both paths use that one
 *     session (raw: its descriptor, luo_session_get_fd()).  libluo
 *     passes the request through (argument checks, token reservation
 *     under the session lock, the request, the roll back), so this is
 *     libluo's whole per-call overhead against the smallest kernel work
 *     it can be compared with.  Information: under TCG, where every
 *     user-space call and return costs a lookup of translated code, it
 *     weighs far more than on hardware.
 *     20,000 requests per path and round, in chunks of 50, interleaved
 *     as below.
 *  3. for information: a token already used in the session.  The raw
 *     request is refused by the kernel (EEXIST, its first check); libluo
 *     answers -EEXIST from its own table without a request.  And, for
 *     scale, raw SESSION_GET_NAME, a request that only copies the name
 *     out, which libluo never needs to send for a session it made
 *     (luo_session_get_name() reads the handle).
 *
 * How the two paths share the single-open device.  /dev/liveupdate can be
 * open once at a time: a second open() fails with EBUSY, and reopening
 * /proc/self/fd/N is an open() too.  A context without the device
 * (luo_ctx_opts_set_open_device(false)) cannot create sessions.  Opening
 * and closing the device to switch paths would put an open, a close and
 * a time gap between the chunks, and only whole rounds could alternate.
 * Instead there is exactly one open file for both: the libluo context
 * opens the device (luo_ctx_new()), the benchmark finds that descriptor
 * (the one entry of /proc/self/fd whose fstat() is the device's rdev) and
 * issues the raw ioctls on it, borrowing it: it never closes it, and the
 * raw sessions are its own descriptors, which libluo knows nothing of.
 * Both paths therefore talk to the same open file of the same device, in
 * the same process, and the kernel cannot tell them apart except by the
 * work libluo adds in user space.
 *
 * Fair interleaving.  A round runs 2N/C chunks of C = 25 operations,
 * raw and libluo in the order ABBA ABBA ... (A is raw in even rounds,
 * libluo in odd ones).  A chunk lasts a few milliseconds, about a host
 * time slice: QEMU shares a small host with other work, and short chunks
 * spread its preemptions over both paths in proportion to their time.
 * Sessions stay open until the end of the round, and the kernel checks
 * every new name against every open session, so a create costs more the
 * later it comes in a round: with plain alternation the path that goes
 * second in each pair meets C more sessions every time (a first run with
 * C = 100 gave about 1.2 in the rounds raw led and 1.0 in those libluo
 * led); ABBA gives both paths the same mean position.  Names have one
 * format and one length for both paths and start with their unique part
 * (see session_name()), every session gets a memfd of its own (a file can
 * be preserved in one session at a time), all memfds (4 KiB of data each)
 * are created before the first round, names are formatted before each
 * round, and only the loops of requests are timed, never the closing.
 * After each round every session is closed (raw: close(); libluo:
 * luo_session_close(..., LUO_SESSION_CLOSE_FORCE)), which unpreserves the
 * memfds for the next round.  An untimed warm-up round comes first.  Per
 * round, the ratio is libluo's time over raw's; the median of the rounds
 * is the figure.
 *
 * Control.  Each round of 1. and 2. is followed by a control round,
 * identical except that the libluo chunks are raw too (raw against raw:
 * ideally 1).  Its
 * ratios show how far this run's figures can be trusted: the guest
 * measures host time, and QEMU's thread is preempted by whatever else
 * runs on the host.
 *
 * A figure never fails the program: only a failed operation does (exit 1,
 * which fails the VM stage).  The guest runs under QEMU TCG, where every
 * instruction is emulated, on a host that may be busy: the ratios, not
 * the microseconds, are the result, and they are those of the emulator.
 * The guest clock is coarse; see ticks().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libluo.h>

#include "luo-abi.h"

#define N_OPS 2000	 /* create+preserve per path and round */
#define CHUNK 25	 /* operations per chunk */
#define ROUNDS 7
#define WARMUP_OPS 200	 /* per path, untimed */
#define CHEAP_OPS 20000 /* refused requests per path and round */
#define CHEAP_CHUNK 50
#define MEMFD_SIZE 4096
#define TARGET 1.05

#define TAG "LIBLUO-BENCH: "

enum path { RAW, LIB };

static luo_ctx_t *ctx;
static int dev_fd = -1;		/* the context's descriptor, borrowed */
static int memfds[2][N_OPS];	/* one memfd per session, per path */
static char names[2 * N_OPS][LUO_K_NAME_LEN];
static int raw_fds[2][N_OPS];	/* [LIB]: the control's second raw path */
static luo_session_t *lib_sessions[N_OPS];

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL bench-vm-p1: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	/* exiting closes every session and the device */
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The guest's clock is too coarse to time a chunk: the LUO test kernel
 * (tinyconfig, no ACPI, so no HPET or PM timer to calibrate its TSC
 * against) runs on the jiffies clocksource, 4 ms a step at HZ=250, and
 * loses ticks when the host is busy.  QEMU's TCG answers RDTSC from the
 * host's time-stamp counter, so the chunks are timed in TSC ticks; ratios
 * need nothing else.  To turn ticks into microseconds, ticks_per_s is
 * measured over two seconds of the CMOS real-time clock (ports 0x70/0x71,
 * which QEMU drives from the host's clock), from one change of its
 * seconds register to another; where that is not possible, against
 * CLOCK_MONOTONIC (then the microseconds are approximate).
 */
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#include <x86intrin.h>
static inline uint64_t ticks(void)
{
	return __rdtsc();
}

static int rtc_seconds(void)
{
	outb(0x00, 0x70); /* register 0: seconds */
	return inb(0x71);
}

/* The TSC at the next change of the RTC's seconds; false after 3 s. */
static bool rtc_edge(uint64_t *tsc)
{
	int s0 = rtc_seconds();
	double give_up = now() + 3.0;

	while (rtc_seconds() == s0)
		if (now() > give_up)
			return false;
	*tsc = ticks();
	return true;
}

static bool calibrate_rtc(double *hz)
{
	uint64_t a, b;
	bool ok;

	if (ioperm(0x70, 2, 1) < 0)
		return false;
	ok = rtc_edge(&a) && rtc_edge(&b) && rtc_edge(&b);
	ioperm(0x70, 2, 0);
	if (ok)
		*hz = (double)(b - a) / 2.0;
	return ok;
}
#else
static inline uint64_t ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool calibrate_rtc(double *hz)
{
	*hz = 1e9;
	return true; /* ticks are nanoseconds */
}
#endif

static double ticks_per_s;
static const char *calibrated_against;

/* Spin until CLOCK_MONOTONIC steps; the time and TSC right after it. */
static double clock_edge(uint64_t *tsc)
{
	double t0 = now(), t;

	while ((t = now()) == t0)
		;
	*tsc = ticks();
	return t;
}

static void calibrate(void)
{
	uint64_t a, b;
	double t0, t1;

	calibrated_against = "the CMOS RTC";
	if (calibrate_rtc(&ticks_per_s) && ticks_per_s > 0)
		return;
	calibrated_against = "CLOCK_MONOTONIC, approximate";
	t0 = clock_edge(&a);
	do
		t1 = clock_edge(&b);
	while (t1 - t0 < 1.0);
	ticks_per_s = (double)(b - a) / (t1 - t0);
	if (!(ticks_per_s > 0))
		fail("the TSC does not advance");
}

static double us(uint64_t t)
{
	return (double)t / ticks_per_s * 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- setup --------------------------------------------------------------- */

/* 2N memfds and 2N sessions open at once, plus a few. */
static void raise_fd_limit(void)
{
	rlim_t want = 4 * N_OPS + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		rl.rlim_max = want; /* root in the guest */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("setrlimit(RLIMIT_NOFILE, %llu): %s",
		     (unsigned long long)want, strerror(errno));
}

/* The one descriptor of this process open on the device: the context's. */
static int find_device_fd(void)
{
	struct stat dev, st;
	struct dirent *de;
	DIR *d;
	int found = -1, count = 0;

	if (stat(LUO_DEVICE_PATH, &dev) < 0 || !S_ISCHR(dev.st_mode))
		fail("%s: not a character device", LUO_DEVICE_PATH);
	d = opendir("/proc/self/fd");
	if (!d)
		fail("/proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		    st.st_rdev == dev.st_rdev) {
			found = fd;
			count++;
		}
	}
	closedir(d);
	if (count != 1)
		fail("%d descriptors open on %s, want exactly 1", count,
		     LUO_DEVICE_PATH);
	return found;
}

static void make_memfds(void)
{
	static unsigned char data[MEMFD_SIZE];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (int p = 0; p < 2; p++) {
		for (int i = 0; i < N_OPS; i++) {
			int fd = memfd_create("p1", MFD_CLOEXEC);

			if (fd < 0)
				fail("memfd_create: %s", strerror(errno));
			if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
				fail("write to a memfd: %s", strerror(errno));
			memfds[p][i] = fd;
		}
	}
}

/* ---- 1. create+preserve -------------------------------------------------- */

/* Sessions @first.. of path @set (RAW, or LIB in a control round). */
static void raw_chunk(enum path set, int first,
		      const char (*name)[LUO_K_NAME_LEN], int n)
{
	for (int i = first; i < first + n; i++, name++) {
		struct luo_k_session_req req = {
			.size = sizeof(req), .fd = -1,
		};
		struct luo_k_file_req f = { .size = sizeof(f) };

		memcpy(req.name, *name, strlen(*name));
		if (ioctl(dev_fd, LUO_K_CREATE_SESSION, &req) < 0)
			fail("raw CREATE_SESSION \"%s\": %s", *name,
			     strerror(errno));
		raw_fds[set][i] = req.fd;
		f.fd = memfds[set][i];
		f.token = 1;
		if (ioctl(req.fd, LUO_K_SESSION_PRESERVE_FD, &f) < 0)
			fail("raw SESSION_PRESERVE_FD in \"%s\": %s", *name,
			     strerror(errno));
	}
}

static void lib_chunk(int first, const char (*name)[LUO_K_NAME_LEN],
		      int n)
{
	for (int i = first; i < first + n; i++, name++) {
		int r = luo_session_create(ctx, *name, &lib_sessions[i]);

		if (r < 0)
			fail("luo_session_create(\"%s\"): %s", *name,
			     strerror(-r));
		r = luo_session_preserve_fd(lib_sessions[i], memfds[LIB][i], 1);
		if (r < 0)
			fail("luo_session_preserve_fd in \"%s\": %s", *name,
			     strerror(-r));
	}
}

/*
 * Which path runs chunk @c of round @round: pairs in the order ABBA ABBA
 * ..., so that over every four chunks both paths have the same mean
 * position in the round, and a cost that grows through the round (the
 * kernel's session list) falls on both alike; A is raw in even rounds,
 * libluo in odd ones.
 */
static enum path chunk_path(int c, int round)
{
	return (enum path)(((c & 1) ^ ((c >> 1) & 1) ^ round) & 1);
}

/*
 * "SSSSS.p1.RR": the sequence number first, least significant digit first.
 * The kernel checks a new name with strncmp() against every open session,
 * so a long common prefix would lengthen each of those compares and
 * inflate the raw cost in a way that flatters libluo; names that differ in
 * their first bytes keep the kernel's part at the list walk itself.  One
 * format and one length for both paths.
 */
static void session_name(char name[LUO_K_NAME_LEN], int round, int seq)
{
	char digits[6];

	for (int i = 0; i < 5; i++, seq /= 10)
		digits[i] = (char)('0' + seq % 10);
	digits[5] = '\0';
	snprintf(name, LUO_K_NAME_LEN, "%s.p1.%02d", digits, round);
}

/* One round of @n operations per path; the TSC ticks of each path's
 * requests go to @t[RAW] and @t[LIB].  In a @control round the LIB chunks
 * are raw too: the same interleaving, raw against raw. */
static void create_preserve_round(int round, int n, bool control,
				  uint64_t t[2])
{
	int done[2] = { 0, 0 }, seq = 0;

	for (int i = 0; i < 2 * n; i++)
		session_name(names[i], round, i);
	t[RAW] = t[LIB] = 0;
	for (int c = 0; done[RAW] < n || done[LIB] < n; c++) {
		enum path p = chunk_path(c, round);
		int k = n - done[p] < CHUNK ? n - done[p] : CHUNK;
		uint64_t t0;

		if (k == 0)
			continue;
		t0 = ticks();
		if (p == RAW || control)
			raw_chunk(p, done[p], &names[seq], k);
		else
			lib_chunk(done[p], &names[seq], k);
		t[p] += ticks() - t0;
		done[p] += k;
		seq += k;
	}
	for (int i = 0; i < n; i++) {
		int r;

		if (close(raw_fds[RAW][i]) < 0 ||
		    (control && close(raw_fds[LIB][i]) < 0))
			fail("close of a raw session: %s", strerror(errno));
		if (control)
			continue;
		r = luo_session_close(lib_sessions[i], LUO_SESSION_CLOSE_FORCE);
		if (r < 0)
			fail("luo_session_close: %s", strerror(-r));
	}
}

/* which context the create+preserve lines measure */
static const char *variant = "";

static void bench_create_preserve(void)
{
	double raw_us[ROUNDS], lib_us[ROUNDS], ratio[ROUNDS], ctl[ROUNDS];
	double ctl_min = 1e9, ctl_max = 0;
	uint64_t t[2];

	/* warm-up, not reported */
	create_preserve_round(0, WARMUP_OPS, false, t);
	create_preserve_round(0, WARMUP_OPS, true, t);
	for (int r = 0; r < ROUNDS; r++) {
		create_preserve_round(r + 1, N_OPS, false, t);
		raw_us[r] = us(t[RAW]) / N_OPS;
		lib_us[r] = us(t[LIB]) / N_OPS;
		ratio[r] = (double)t[LIB] / (double)t[RAW];
		/* right after, under the same host conditions */
		create_preserve_round(r + 1 + 50, N_OPS, true, t);
		ctl[r] = (double)t[LIB] / (double)t[RAW];
		ctl_min = ctl[r] < ctl_min ? ctl[r] : ctl_min;
		ctl_max = ctl[r] > ctl_max ? ctl[r] : ctl_max;
		printf(TAG "p1 create+preserve%s round %d/%d: "
		       "raw %.1f us/op, libluo %.1f us/op, ratio %.3f "
		       "(control raw/raw %.3f)\n", variant,
		       r + 1, ROUNDS, raw_us[r], lib_us[r], ratio[r], ctl[r]);
		fflush(stdout);
	}
	printf(TAG "p1 create+preserve%s x%d: raw %.1f us/op, libluo %.1f us/op, "
	       "median ratio %.3f (target <= %.2f)\n", variant,
	       N_OPS, median(raw_us, ROUNDS), median(lib_us, ROUNDS),
	       median(ratio, ROUNDS), TARGET);
	printf(TAG "p1 control, raw against raw in the same interleaving: "
	       "median ratio %.3f, rounds %.3f to %.3f (the noise of this run; "
	       "ideally 1)\n",
	       median(ctl, ROUNDS), ctl_min, ctl_max);
	fflush(stdout);
}

/* ---- 2. and 3. single refused requests ---------------------------------- */

struct cheap {
	int sfd;		/* the session's descriptor, for the raw path */
	luo_session_t *s;
	int fd;			/* what is preserved */
	uint64_t token;
	int want;		/* errno both paths must get */
};

static void cheap_raw(const struct cheap *c, int n)
{
	for (int i = 0; i < n; i++) {
		struct luo_k_file_req f = {
			.size = sizeof(f), .fd = c->fd, .token = c->token,
		};

		if (ioctl(c->sfd, LUO_K_SESSION_PRESERVE_FD, &f) == 0 ||
		    errno != c->want)
			fail("raw SESSION_PRESERVE_FD(fd %d, token %llu): %s, "
			     "want %s", c->fd, (unsigned long long)c->token,
			     strerror(errno), strerror(c->want));
	}
}

static void cheap_lib(const struct cheap *c, int n)
{
	for (int i = 0; i < n; i++) {
		int r = luo_session_preserve_fd(c->s, c->fd, c->token);

		if (r != -c->want)
			fail("luo_session_preserve_fd(fd %d, token %llu) = %d, "
			     "want %d", c->fd, (unsigned long long)c->token,
			     r, -c->want);
	}
}

/* One round, interleaved like create_preserve_round(): the TSC ticks of
 * each path in @t; with @control, raw against raw. */
static void cheap_round(const struct cheap *c, int round, bool control,
			uint64_t t[2])
{
	t[RAW] = t[LIB] = 0;
	for (int k = 0; k < 2 * CHEAP_OPS / CHEAP_CHUNK; k++) {
		enum path p = chunk_path(k, round);
		uint64_t t0 = ticks();

		if (p == RAW || control)
			cheap_raw(c, CHEAP_CHUNK);
		else
			cheap_lib(c, CHEAP_CHUNK);
		t[p] += ticks() - t0;
	}
}

/* Per round: per-op times, libluo/raw, and the control's raw/raw (when
 * @ctl is not NULL, a control round follows each round). */
static void cheap_rounds(const struct cheap *c, double *raw_us,
			 double *lib_us, double *ratio, double *ctl)
{
	uint64_t t[2];

	cheap_raw(c, CHEAP_CHUNK); /* warm-up */
	cheap_lib(c, CHEAP_CHUNK);
	for (int r = 0; r < ROUNDS; r++) {
		cheap_round(c, r + 1, false, t);
		raw_us[r] = us(t[RAW]) / CHEAP_OPS;
		lib_us[r] = us(t[LIB]) / CHEAP_OPS;
		ratio[r] = (double)t[LIB] / (double)t[RAW];
		if (ctl) {
			cheap_round(c, r + 1, true, t);
			ctl[r] = (double)t[LIB] / (double)t[RAW];
		}
	}
}

static double get_name_floor(int sfd)
{
	double per_op[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = ticks();

		for (int i = 0; i < CHEAP_OPS; i++) {
			struct luo_k_get_name_req g = { .size = sizeof(g) };

			if (ioctl(sfd, LUO_K_SESSION_GET_NAME, &g) < 0)
				fail("raw SESSION_GET_NAME: %s",
				     strerror(errno));
		}
		per_op[r] = us(ticks() - t0) / CHEAP_OPS;
	}
	return median(per_op, ROUNDS);
}

/* A descriptor number that is surely not open (fget() finds nothing). */
static int closed_fd(void)
{
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("getrlimit: %s", strerror(errno));
	fd = rl.rlim_cur > 1 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur - 1 :
						       65535;
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		fail("descriptor %d is open", fd);
	return fd;
}

static void bench_single_requests(void)
{
	double raw_us[ROUNDS], lib_us[ROUNDS], ratio[ROUNDS], ctl[ROUNDS];
	luo_session_t *s;
	struct cheap c;
	int r;

	/* one session holding one file: the refused requests below neither
	 * grow nor shrink the kernel's block set */
	r = luo_session_create(ctx, "p1.single", &s);
	if (r < 0)
		fail("luo_session_create(\"p1.single\"): %s", strerror(-r));
	r = luo_session_preserve_fd(s, memfds[LIB][0], 1);
	if (r < 0)
		fail("luo_session_preserve_fd: %s", strerror(-r));
	c.s = s;
	c.sfd = luo_session_get_fd(s); /* the same session for both paths */
	if (c.sfd < 0)
		fail("luo_session_get_fd: %s", strerror(-c.sfd));

	c.fd = closed_fd();
	c.token = 2;
	c.want = EBADF;
	cheap_rounds(&c, raw_us, lib_us, ratio, ctl);
	for (int i = 0; i < ROUNDS; i++)
		printf(TAG "p1 refused preserve (EBADF) round %d/%d: "
		       "raw %.2f us/op, libluo %.2f us/op, ratio %.3f "
		       "(control raw/raw %.3f)\n",
		       i + 1, ROUNDS, raw_us[i], lib_us[i], ratio[i], ctl[i]);
	printf(TAG "p1 refused preserve (EBADF) x%d: raw %.2f us/op, "
	       "libluo %.2f us/op, median ratio %.3f (information: libluo's "
	       "whole per-call cost against the cheapest request; the "
	       "target is create+preserve's; control %.3f)\n",
	       CHEAP_OPS, median(raw_us, ROUNDS), median(lib_us, ROUNDS),
	       median(ratio, ROUNDS), median(ctl, ROUNDS));
	fflush(stdout);

	c.fd = memfds[LIB][0];
	c.token = 1;
	c.want = EEXIST;
	cheap_rounds(&c, raw_us, lib_us, ratio, NULL);
	printf(TAG "p1 duplicate token x%d: raw %.2f us/op (the kernel's "
	       "EEXIST), libluo %.2f us/op (its own table, no request), "
	       "median ratio %.3f (information)\n",
	       CHEAP_OPS, median(raw_us, ROUNDS), median(lib_us, ROUNDS),
	       median(ratio, ROUNDS));
	printf(TAG "p1 for scale: raw SESSION_GET_NAME %.2f us/op (a request "
	       "that only copies the name out; libluo never sends it for a "
	       "session it made)\n",
	       get_name_floor(c.sfd));
	fflush(stdout);

	r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
	if (r < 0)
		fail("luo_session_close: %s", strerror(-r));
}

int main(void)
{
	enum luo_abi abi;
	struct utsname u;
	double t0 = now();
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	calibrate();
	raise_fd_limit();
	make_memfds();
	r = luo_ctx_new(NULL, &ctx);
	if (r < 0)
		fail("luo_ctx_new: %s (is %s free?)", strerror(-r),
		     LUO_DEVICE_PATH);
	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0 || abi != LUO_ABI_MAINLINE)
		fail("the device does not speak the mainline ABI");
	dev_fd = find_device_fd();

	uname(&u);
	printf(TAG "p1 in the guest (Linux %s, TSC %.0f MHz against %s): "
	       "%d rounds, %d ops per path and round, chunks of %d, raw and "
	       "libluo in ABBA order on the one device descriptor (fd %d, "
	       "the context's)\n",
	       u.release, ticks_per_s / 1e6, calibrated_against, ROUNDS,
	       N_OPS, CHUNK, dev_fd);

	variant = " (with the record)";
	bench_create_preserve();
	bench_single_requests();
	luo_ctx_unref(ctx);

	/* the same without the record: the requests of the raw path only */
	{
		luo_ctx_opts_t *o = NULL;

		if (luo_ctx_opts_new(&o) < 0 || luo_ctx_opts_set_record(o, false) < 0)
			fail("luo_ctx_opts: out of memory");
		r = luo_ctx_new(o, &ctx);
		luo_ctx_opts_free(o);
		if (r < 0)
			fail("luo_ctx_new (no record): %s", strerror(-r));
		dev_fd = find_device_fd();
		variant = " (no record)";
		bench_create_preserve();
		luo_ctx_unref(ctx);
	}
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < N_OPS; i++)
			close(memfds[p][i]);
	printf("bench-vm-p1: done in %.1f s (nothing left open)\n",
	       now() - t0);
	return 0;
}
