/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contract: bad input, one table.  Each row is one public function of
 * <libluo.h> or <libluo-fake.h> with one class of bad input and the errno
 * the header documents for it (or, where the header documents none, the
 * one a system library should return: such rows carry an .undoc reason,
 * printed when the row runs).  Rows with valid but extreme values (tokens
 * 0 and UINT64_MAX, 63-byte and non-ASCII names, calls that must keep
 * working after luo_ctx_close_device()) expect success.
 *
 * Every row is a test of its own (suite bad_input, or bad_input_rfc on the
 * RFC ABI; name "<function>.<input>"), registered from the table by a
 * constructor, so each runs in a process of its own and a failing row
 * fails alone.  For each row:
 *
 *   1. the fixture (.fx): a context with an outgoing session "bad.out"
 *      holding token 2, an empty one "bad.spare" and token 1 of the
 *      original API; optionally closed device, PREPARED, an incoming
 *      session "bad.in" (tokens 2, 0, LUO_TOKEN_RESERVED_MIN - 1) or the
 *      UPDATED state;
 *   2. the bad input (.bad descriptor class, .msg hand-off message, .prep);
 *   3. a snapshot: open descriptors, the context's token count and
 *      lookups, each fixture session's token count and lookups, the
 *      state, and the fake's truth (the user's files and sessions,
 *      libluo's own record files and index sessions, boot, state);
 *   4. the call: its return value must be .expected; if that is an error,
 *      every out-parameter sentinel is untouched and no callback ran;
 *      unless the row is R_CHANGES (a success that changes state by
 *      design) the snapshot must be the same afterwards;
 *   5. teardown, then tb_end(): no descriptor (nor, under ASan, memory)
 *      leaked.
 *
 * Rows needing the fake (kexec, a second kernel, the fake's API, the RFC
 * ABI) skip themselves on LIBLUO_TEST_BACKEND=kernel; the others run on
 * the real /dev/liveupdate too.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>

#include "test.h"

/* ---- the row ------------------------------------------------------------ */

/* The largest token a session takes: those from LUO_TOKEN_RESERVED_MIN up
 * hold libluo's record. */
#define TOKEN_TOP (LUO_TOKEN_RESERVED_MIN - 1)

enum fixture {
	FX_NONE,     /* tb.opts and tb.fake only: no context */
	FX_CTX,      /* context, bad.out (token 2), bad.spare, token 1 */
	FX_NOOPEN,   /* a context created without the device */
	FX_NODEV,    /* FX_CTX, then luo_ctx_close_device() */
	FX_PREPARED, /* FX_CTX, then luo_prepare() */
	FX_IN,       /* FX_CTX in boot 2, plus incoming bad.in (fake) */
	FX_NODEV_IN, /* FX_IN, then luo_ctx_close_device() */
	FX_UPDATED,  /* boot 2 after luo_prepare(): tokens 7, 0, UINT64_MAX
		      * incoming, state UPDATED (fake) */
};

/* Descriptor classes: the row's f->bad. */
enum bad_fd {
	FD_NONE,
	FD_NEG,          /* -1 */
	FD_NEG_MIN,      /* INT_MIN */
	FD_CLOSED,       /* a number just closed */
	FD_OPATH,        /* O_PATH descriptor of a memfd */
	FD_PIPE,         /* read end of a pipe */
	FD_SOCKET,       /* one end of a connected AF_UNIX stream pair */
	FD_DIR,          /* a directory */
	FD_HUGETLB,      /* an MFD_HUGETLB memfd (skip if refused) */
	FD_REGULAR,      /* a regular file on a disk file system */
	FD_TMPFS,        /* a regular file on tmpfs, with a link */
	FD_MEMFD,        /* a fresh memfd: valid */
	FD_SESSION,      /* a copy of bad.out's session descriptor */
	FD_LENT,         /* bad.out's own descriptor (luo_session_get_fd()) */
	FD_OUT_FILE,     /* the memfd preserved in bad.out (token 2) */
	FD_ORIG_FILE,    /* the memfd preserved as original token 1 */
	FD_DEAD,         /* a session descriptor of the previous boot */
	FD_FOREIGN,      /* a session of another fake kernel */
	FD_UNCONNECTED,  /* an AF_UNIX stream socket, not connected */
	FD_UNCONN_DGRAM, /* an AF_UNIX datagram socket, not connected */
	FD_PEER_CLOSED,  /* a stream socket whose peer is closed */
	FD_FULL,         /* a non-blocking stream socket whose buffer is full */
	FD_EMPTY,        /* a non-blocking stream socket with nothing to read */
	FD_INET,         /* a connected UDP socket: cannot carry descriptors */
	FD_RETRIEVED,    /* token 2 retrieved from bad.in, not finished */
};

/* Hand-off messages written to f->sock before luo_session_recv(). */
enum msg {
	M_NONE,
	M_VALID,      /* what luo_session_send() sends */
	M_MAGIC,      /* wrong magic */
	M_VERSION,    /* wrong version */
	M_SHORT,      /* magic and version only */
	M_LONG,       /* one byte more than a message */
	M_ZERO,       /* no byte, with the descriptor */
	M_ZERO_NOFD,  /* no byte, no descriptor */
	M_NO_FD,      /* a valid message without its descriptor */
	M_TWO_FDS,    /* two descriptors in one SCM_RIGHTS */
	M_TWO_CMSGS,  /* two SCM_RIGHTS of one descriptor each */
	M_NINE_FDS,   /* more descriptors than libluo makes room for */
	M_MEMFD,      /* a valid message carrying a memfd */
	M_PIPE,       /* a valid message carrying a pipe */
	M_FOREIGN,    /* a valid message carrying another kernel's session */
	M_DEAD,       /* a valid message carrying a previous boot's session */
	M_JUNK,       /* 72 bytes of junk, no descriptor (RFC context) */
	M_DIRECTION,  /* a direction that is none */
	M_NAME,       /* a name without its NUL */
	M_V1,         /* libluo 1.0's message: no direction; valid */
};

enum {
	R_FAKE = 1u << 0,    /* needs the fake backend */
	R_CHANGES = 1u << 1, /* succeeds and changes state by design */
};

struct fx;

struct row {
	const char *fn;     /* the public function */
	const char *input;  /* the class of input */
	enum luo_abi abi;   /* LUO_ABI_RFC, else mainline */
	enum fixture fx;
	enum bad_fd bad;
	enum msg msg;
	int socktype;       /* for .msg: SOCK_STREAM (0), _DGRAM, _SEQPACKET */
	long long arg;      /* an integer argument (enum, flags, priority) */
	uint64_t token;
	const char *str;    /* a name or a path */
	void (*prep)(struct fx *f);
	int (*call)(struct fx *f);
	int expected;       /* 0 (or a count) or -errno */
	unsigned int flags;
	const char *undoc;  /* the header documents no errno for this */
	int line;
};

/* ---- the fixture -------------------------------------------------------- */

#define MAX_CLOSE 24
#define MSG_MAX 256

struct fx {
	const struct row *row;
	luo_ctx_t *ctx;
	luo_session_t *out, *spare, *in, *adopted;
	luo_session_t *old;      /* bad.in's handle of the previous boot */
	luo_session_t *norec;    /* bad.norec, retrieved without its record */
	luo_session_t *stored;   /* from luo_session_from_fdstore() */
	luo_ctx_t *ctx2;         /* another context holding the device */
	int store_fd;            /* a descriptor "passed" by LISTEN_FDS */
	bool store_owned;        /* a handle owns store_fd (or closed it) */
	int notify;              /* what listens on $NOTIFY_SOCKET */
	char listed[4][LUO_SESSION_NAME_MAX + 1]; /* foreach_incoming */
	int out_memfd, orig_memfd, out_fd, dead;
	int bad;                 /* the descriptor of row->bad */
	int sock;                /* what luo_session_recv() reads */
	const char *str;         /* row->str, or what .prep built */
	char *strbuf;
	luo_ctx_opts_t *opts;    /* options of the row's own (not tb.opts) */
	/* another fake kernel, for FD_FOREIGN and M_FOREIGN */
	luo_fake_t *ofake;
	luo_ctx_opts_t *oopts;
	luo_ctx_t *octx;
	luo_session_t *osession;
	/* a captured hand-off message */
	unsigned char msg[MSG_MAX];
	size_t msg_len;
	/* descriptors and paths to drop at teardown */
	int to_close[MAX_CLOSE];
	int nclose;
	char tmpdir[64];
	char path[PATH_MAX];
	char unlink_path[PATH_MAX];
	/* out-parameters, all sentinels */
	luo_session_t *o_session;
	luo_ctx_t *o_ctx;
	luo_ctx_opts_t *o_opts;
	luo_fake_t *o_fake;
	const char *o_name;
	int o_fd;
	enum luo_abi o_abi;
	enum luo_state o_state;
	enum luo_token_state o_tstate;
	enum luo_session_direction o_dir;
	uint64_t o_token;
	int calls;               /* callbacks run */
};

#define SENTINEL_TOKEN UINT64_C(0x5e575e575e575e57)

static void keep_fd(struct fx *f, int fd)
{
	assert_ge(fd, 0, "setting up a descriptor: %s", strerror(errno));
	assert_lt(f->nclose, MAX_CLOSE);
	f->to_close[f->nclose++] = fd;
}

static int new_memfd(struct fx *f, uint64_t seed)
{
	int fd = memfd_pattern(seed, 64);

	keep_fd(f, fd);
	return fd;
}

static int count_cb(uint64_t token, enum luo_token_state state, void *data)
{
	((struct fx *)data)->calls++;
	return 0;
}

static int fake_file_cb(const char *session, enum luo_session_direction dir,
			uint64_t token, void *data)
{
	((struct fx *)data)->calls++;
	return 0;
}

static void __attribute__((format(printf, 6, 0)))
log_cb(void *userdata, int priority, const char *file, int line,
       const char *fn, const char *format, va_list args)
{
	((struct fx *)userdata)->calls++;
}

static luo_session_t *xcreate(luo_ctx_t *ctx, const char *name)
{
	luo_session_t *s = NULL;

	expect_ok(luo_session_create(ctx, name, &s));
	return s;
}

/* Context, bad.out (token 2, label "bad.two"), bad.spare, original API
 * token 1. */
static void setup_ctx(struct fx *f)
{
	enum luo_state st;

	f->ctx = tb_ctx();
	expect_ok(luo_get_state(f->ctx, &st));
	if (tb.abi == LUO_ABI_MAINLINE) {
		f->out = xcreate(f->ctx, "bad.out");
		f->out_memfd = new_memfd(f, 2);
		expect_ok(luo_session_preserve_fd_labeled(f->out, f->out_memfd,
							  2, "bad.two"));
		f->out_fd = luo_session_get_fd(f->out);
		f->spare = xcreate(f->ctx, "bad.spare");
	}
	if (st == LUO_STATE_NORMAL) {
		f->orig_memfd = new_memfd(f, 1);
		expect_ok(luo_fd_preserve(f->ctx, f->orig_memfd, 1));
	}
}

/* Boot 1: bad.in with tokens 2 ("in.two"), 0 ("in.zero"), TOKEN_TOP (no
 * label), and bad.norec with token 5 ("norec.five"); boot 2: bad.in is
 * incoming (its record says the three, INCOMING, and their labels);
 * bad.norec is left to the row. */
static void setup_in(struct fx *f)
{
	static const uint64_t tokens[] = { 2, 0, TOKEN_TOP };
	static const char *const labels[] = { "in.two", "in.zero", NULL };
	luo_session_t *s, *norec;
	size_t i;
	int fd;

	tb_require_fake("needs a kexec for an incoming session");
	s = xcreate(tb_ctx(), "bad.in");
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		fd = memfd_pattern(tokens[i], 64);
		expect_ok(luo_session_preserve_fd_labeled(s, fd, tokens[i],
							  labels[i]));
		xclose(fd);
	}
	norec = xcreate(tb_ctx(), "bad.norec");
	fd = memfd_pattern(5, 64);
	expect_ok(luo_session_preserve_fd_labeled(norec, fd, 5, "norec.five"));
	xclose(fd);
	f->dead = fcntl(luo_session_get_fd(s), F_DUPFD_CLOEXEC, 3);
	keep_fd(f, f->dead);
	tb_kexec();
	expect_ok(luo_session_close(norec, LUO_SESSION_CLOSE_FORCE)); /* dead */
	f->old = s; /* closed by the row or at teardown */
	expect_ok(luo_session_retrieve(tb_ctx(), "bad.in", &f->in));
	setup_ctx(f);
}

/* Boot 1: original tokens 7, 0, UINT64_MAX, prepared; boot 2: UPDATED. */
static void setup_updated(struct fx *f)
{
	static const uint64_t tokens[] = { 7, 0, UINT64_MAX };
	enum luo_state st = 0;
	size_t i;

	tb_require_fake("needs a kexec");
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		int fd = memfd_pattern(tokens[i], 64);

		expect_ok(luo_fd_preserve(tb_ctx(), fd, tokens[i]));
		xclose(fd);
	}
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	setup_ctx(f);
	expect_ok(luo_get_state(f->ctx, &st));
	assert_eq(st, LUO_STATE_UPDATED);
}

/* What luo_session_send() writes, read back raw: the well-formed
 * message the garbage rows start from. */
static void capture_message(struct fx *f)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = f->msg, .iov_len = sizeof(f->msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	luo_session_t *s = xcreate(f->ctx, "bad.capture");
	struct cmsghdr *cm;
	int sv[2], fd;
	ssize_t n;

	assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	expect_ok(luo_session_send(s, sv[0]));
	n = recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC);
	assert_gt(n, 8, "recvmsg: %s", strerror(errno));
	assert_eq(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC), 0);
	cm = CMSG_FIRSTHDR(&mh);
	assert_not_null(cm);
	assert_eq(cm->cmsg_len, CMSG_LEN(sizeof(int)));
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	xclose(fd);
	xclose(sv[0]);
	xclose(sv[1]);
	expect_ok(luo_session_close(s, 0)); /* sent: no FORCE needed */
	f->msg_len = (size_t)n;
}

static void setup_fixture(struct fx *f)
{
	switch (f->row->fx) {
	case FX_NONE:
		break;
	case FX_NOOPEN:
		expect_ok(luo_ctx_opts_set_open_device(tb.opts, false));
		f->ctx = tb_ctx();
		break;
	case FX_CTX:
	case FX_NODEV:
	case FX_PREPARED:
		setup_ctx(f);
		break;
	case FX_IN:
	case FX_NODEV_IN:
		setup_in(f);
		break;
	case FX_UPDATED:
		setup_updated(f);
		break;
	}
	if (f->row->msg != M_NONE && f->out)
		capture_message(f);
	if (f->row->fx == FX_NODEV || f->row->fx == FX_NODEV_IN)
		expect_ok(luo_ctx_close_device(f->ctx));
	if (f->row->fx == FX_PREPARED)
		expect_ok(luo_prepare(f->ctx));
}

/* ---- bad descriptors ---------------------------------------------------- */

/* A directory on a file system that is (@tmpfs) or is not tmpfs. */
static const char *dir_of_kind(bool tmpfs)
{
	static const char *const dirs[] = { "/dev/shm", "/run/shm", "/run",
					    "/var/tmp", "/tmp", "." };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct statfs s;

		if (statfs(dirs[i], &s) < 0 || access(dirs[i], W_OK) < 0)
			continue;
		if (((unsigned long)s.f_type == (unsigned long)TMPFS_MAGIC) ==
		    tmpfs)
			return dirs[i];
	}
	return NULL;
}

static int file_in(struct fx *f, bool tmpfs)
{
	const char *dir = dir_of_kind(tmpfs);
	int fd;

	if (!dir)
		skip_test("no writable %s directory", tmpfs ? "tmpfs" :
			  "non-tmpfs");
	snprintf(f->unlink_path, sizeof(f->unlink_path),
		 "%s/libluo-bad-XXXXXX", dir);
	fd = mkostemp(f->unlink_path, O_CLOEXEC);
	assert_ge(fd, 0, "mkostemp in %s: %s", dir, strerror(errno));
	assert_eq(write(fd, "data", 4), 4);
	keep_fd(f, fd);
	return fd;
}

static void socket_pair(struct fx *f, int type, int sv[2])
{
	assert_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0,
		  "socketpair: %s", strerror(errno));
	keep_fd(f, sv[0]);
	keep_fd(f, sv[1]);
}

/* Another fake kernel with an outgoing session "bad.foreign". */
static void other_kernel(struct fx *f)
{
	tb_require_fake("a second fake kernel");
	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &f->ofake));
	expect_ok(luo_ctx_opts_new(&f->oopts));
	expect_ok(luo_ctx_opts_set_fake(f->oopts, f->ofake));
	expect_ok(luo_ctx_new(f->oopts, &f->octx));
	f->osession = xcreate(f->octx, "bad.foreign");
}

static int make_bad_fd(struct fx *f, enum bad_fd kind)
{
	struct sockaddr_in addr;
	char proc[64];
	int fd, sv[2];

	switch (kind) {
	case FD_NONE:
		return -1;
	case FD_NEG:
		return -1;
	case FD_NEG_MIN:
		return INT_MIN;
	case FD_CLOSED:
		return closed_fd_number();
	case FD_OPATH:
		fd = new_memfd(f, 9);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		fd = open(proc, O_PATH | O_CLOEXEC);
		keep_fd(f, fd);
		return fd;
	case FD_PIPE:
		assert_eq(pipe2(sv, O_CLOEXEC), 0);
		keep_fd(f, sv[0]);
		keep_fd(f, sv[1]);
		return sv[0];
	case FD_SOCKET:
		socket_pair(f, SOCK_STREAM, sv);
		return sv[0];
	case FD_DIR:
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		keep_fd(f, fd);
		return fd;
	case FD_HUGETLB:
		fd = memfd_create("bad-hugetlb", MFD_HUGETLB | MFD_CLOEXEC);
		if (fd < 0)
			skip_test("this machine refuses MFD_HUGETLB: %s",
				  strerror(errno));
		keep_fd(f, fd);
		return fd;
	case FD_REGULAR:
		return file_in(f, false);
	case FD_TMPFS:
		return file_in(f, true);
	case FD_MEMFD:
		return new_memfd(f, 7);
	case FD_SESSION:
		assert_not_null(f->out);
		fd = fcntl(f->out_fd, F_DUPFD_CLOEXEC, 3);
		keep_fd(f, fd);
		return fd;
	case FD_LENT:
		assert_ge(f->out_fd, 0);
		return f->out_fd;
	case FD_OUT_FILE:
		assert_ge(f->out_memfd, 0);
		return f->out_memfd;
	case FD_ORIG_FILE:
		assert_ge(f->orig_memfd, 0);
		return f->orig_memfd;
	case FD_DEAD:
		assert_ge(f->dead, 0);
		return f->dead;
	case FD_FOREIGN:
		other_kernel(f);
		fd = fcntl(luo_session_get_fd(f->osession), F_DUPFD_CLOEXEC, 3);
		keep_fd(f, fd);
		return fd;
	case FD_UNCONNECTED:
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		keep_fd(f, fd);
		return fd;
	case FD_UNCONN_DGRAM:
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		keep_fd(f, fd);
		return fd;
	case FD_PEER_CLOSED:
		assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				     sv), 0);
		xclose(sv[1]);
		keep_fd(f, sv[0]);
		return sv[0];
	case FD_FULL: {
		char junk[4096];

		memset(junk, 'j', sizeof(junk));
		socket_pair(f, SOCK_STREAM | SOCK_NONBLOCK, sv);
		while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		assert_eq(errno, EAGAIN);
		return sv[0];
	}
	case FD_EMPTY:
		socket_pair(f, SOCK_STREAM | SOCK_NONBLOCK, sv);
		return sv[1];
	case FD_INET:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			skip_test("no AF_INET socket: %s", strerror(errno));
		keep_fd(f, fd);
		memset(&addr, 0, sizeof(addr));
		addr.sin_family = AF_INET;
		addr.sin_port = htons(9);
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			skip_test("no loopback: %s", strerror(errno));
		return fd;
	case FD_RETRIEVED:
		assert_not_null(f->in);
		expect_ok(luo_session_retrieve_fd(f->in, 2, &fd));
		keep_fd(f, fd);
		return fd;
	}
	fail("descriptor class %d", kind);
}

/* ---- hand-off messages -------------------------------------------------- */

/* Sends @len bytes of @buf with @nfds descriptors in @ncmsg SCM_RIGHTS
 * messages, then closes our copies of them (they are in flight). */
static void send_raw(int sock, const void *buf, size_t len, int *fds,
		     int nfds, int ncmsg)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(16 * sizeof(int)) * 2];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int i, per = ncmsg ? nfds / ncmsg : 0;
	ssize_t n;

	memset(&control, 0, sizeof(control));
	if (nfds) {
		mh.msg_control = control.buf;
		mh.msg_controllen = (size_t)ncmsg *
				    CMSG_SPACE((size_t)per * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		for (i = 0; i < ncmsg; i++) {
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN((size_t)per * sizeof(int));
			memcpy(CMSG_DATA(cm), fds + i * per,
			       (size_t)per * sizeof(int));
			cm = CMSG_NXTHDR(&mh, cm);
		}
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	assert_eq(n, (ssize_t)len, "sendmsg: %s", strerror(errno));
	for (i = 0; i < nfds; i++)
		xclose(fds[i]);
}

static int dup_of(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	assert_ge(copy, 0, "dup: %s", strerror(errno));
	return copy;
}

/*
 * The wire format of a hand-off (lib/session-handoff.c): u32 magic, u32
 * version, then the name; the bytes come from luo_session_send() itself
 * (capture_message()), only the fields named here are altered.
 */
static void prep_message(struct fx *f)
{
	unsigned char buf[MSG_MAX + 1];
	int type = f->row->socktype ? f->row->socktype : SOCK_STREAM;
	int fds[9], nfds = 1, ncmsg = 1, i, sv[2];
	size_t len = f->msg_len;
	uint32_t version;

	socket_pair(f, type, sv);
	/* never block: a row that would wait fails with -EAGAIN instead */
	assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	f->sock = sv[1];
	if (f->row->msg == M_JUNK) {
		memset(buf, 0xa5, 72);
		send_raw(sv[0], buf, 72, NULL, 0, 0);
		return;
	}
	assert_gt(f->msg_len, 8);
	memcpy(buf, f->msg, f->msg_len);
	buf[f->msg_len] = 0;
	fds[0] = dup_of(f->out_fd);
	switch (f->row->msg) {
	case M_VALID:
		break;
	case M_MAGIC:
		buf[0] ^= 0xff;
		break;
	case M_VERSION:
		memcpy(&version, buf + 4, sizeof(version));
		version++;
		memcpy(buf + 4, &version, sizeof(version));
		break;
	case M_SHORT:
		len = 8;
		break;
	case M_LONG:
		len++;
		break;
	case M_ZERO:
		len = 0;
		break;
	case M_ZERO_NOFD:
		len = 0;
		/* fall through */
	case M_NO_FD:
		xclose(fds[0]);
		nfds = ncmsg = 0;
		break;
	case M_TWO_CMSGS:
		ncmsg = 2;
		/* fall through */
	case M_TWO_FDS:
		fds[1] = dup_of(f->out_fd);
		nfds = 2;
		break;
	case M_NINE_FDS:
		for (i = 1; i < 9; i++)
			fds[i] = dup_of(f->out_fd);
		nfds = 9;
		break;
	case M_MEMFD:
		xclose(fds[0]);
		fds[0] = memfd_pattern(3, 10);
		break;
	case M_PIPE: {
		int p[2];

		xclose(fds[0]);
		assert_eq(pipe2(p, O_CLOEXEC), 0);
		keep_fd(f, p[1]);
		fds[0] = p[0];
		break;
	}
	case M_FOREIGN:
		xclose(fds[0]);
		other_kernel(f);
		fds[0] = dup_of(luo_session_get_fd(f->osession));
		break;
	case M_DEAD:
		xclose(fds[0]);
		fds[0] = dup_of(f->dead);
		break;
	case M_DIRECTION:
		/* v2: magic, version, name[64], then the u32 direction */
		assert_eq(f->msg_len, 8 + LUO_SESSION_NAME_MAX + 1 + 4);
		version = 3;
		memcpy(buf + f->msg_len - 4, &version, sizeof(version));
		break;
	case M_NAME:
		memset(buf + 8, 'x', LUO_SESSION_NAME_MAX + 1);
		break;
	case M_V1:
		/* v1: magic, version 1, name[64] */
		version = 1;
		memcpy(buf + 4, &version, sizeof(version));
		len = 8 + LUO_SESSION_NAME_MAX + 1;
		break;
	default:
		fail("message kind %d", f->row->msg);
	}
	send_raw(sv[0], buf, len, fds, nfds, ncmsg);
}

/* ---- device paths ------------------------------------------------------- */

static void make_tmpdir(struct fx *f)
{
	snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/libluo-bad-XXXXXX");
	assert_not_null(mkdtemp(f->tmpdir), "mkdtemp: %s", strerror(errno));
}

static void tmp_path(struct fx *f, const char *name)
{
	make_tmpdir(f);
	snprintf(f->path, sizeof(f->path), "%s/%s", f->tmpdir, name);
	f->str = f->path;
}

static void prep_path_regular(struct fx *f)
{
	int fd;

	tmp_path(f, "regular");
	fd = open(f->path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	xclose(fd);
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
}

static void prep_path_dir(struct fx *f)
{
	make_tmpdir(f);
	f->str = f->tmpdir;
}

static void prep_path_fifo(struct fx *f)
{
	tmp_path(f, "fifo");
	assert_eq(mkfifo(f->path, 0600), 0, "mkfifo: %s", strerror(errno));
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
}

static void prep_path_socket(struct fx *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	tmp_path(f, "sock");
	assert_lt(strlen(f->path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_ge(fd, 0);
	assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
		  "bind: %s", strerror(errno));
	xclose(fd);
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
}

static void prep_path_loop(struct fx *f)
{
	tmp_path(f, "loop");
	assert_eq(symlink(f->path, f->path), 0, "symlink: %s",
		  strerror(errno));
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
}

static void prep_path_notdir(struct fx *f)
{
	prep_path_regular(f);
	assert_lt(strlen(f->path) + 4, sizeof(f->path));
	strcat(f->path, "/dev");
}

static void prep_path_missing(struct fx *f)
{
	tmp_path(f, "missing");
}

static void prep_path_missing_dir(struct fx *f)
{
	tmp_path(f, "missing/liveupdate");
}

static void prep_path_non_ascii(struct fx *f)
{
	tmp_path(f, "liveupd\xc3\xa4te\xff");
}

static void prep_path_too_long(struct fx *f)
{
	f->strbuf = malloc(PATH_MAX + 1);
	assert_not_null(f->strbuf);
	f->strbuf[0] = '/';
	memset(f->strbuf + 1, 'a', PATH_MAX - 1);
	f->strbuf[PATH_MAX] = '\0';
	f->str = f->strbuf;
}

/* ---- other preparations ------------------------------------------------- */

static void prep_name_64(struct fx *f)
{
	f->strbuf = malloc(65);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'n', 64);
	f->strbuf[64] = '\0';
	f->str = f->strbuf;
}

static void prep_name_300(struct fx *f)
{
	f->strbuf = malloc(301);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'n', 300);
	f->strbuf[300] = '\0';
	f->str = f->strbuf;
}

static void prep_name_63(struct fx *f)
{
	f->strbuf = malloc(64);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'n', 63);
	f->strbuf[63] = '\0';
	f->str = f->strbuf;
}

static void prep_name_63_reserved(struct fx *f)
{
	prep_name_63(f);
	memcpy(f->strbuf, LUO_RESERVED_PREFIX, strlen(LUO_RESERVED_PREFIX));
}

/* Options that reach no fake and open /dev/null. */
static void prep_kernel_opts(struct fx *f)
{
	expect_ok(luo_ctx_opts_new(&f->opts));
	expect_ok(luo_ctx_opts_set_device(f->opts, "/dev/null"));
}

static void prep_kernel_opts_long_path(struct fx *f)
{
	prep_kernel_opts(f);
	prep_path_too_long(f);
}

/* tb.opts force the RFC ABI, which this kernel does not speak. */
static void prep_force_rfc(struct fx *f)
{
	expect_ok(luo_ctx_opts_set_abi(tb.opts, LUO_ABI_RFC));
}

static void prep_force_mainline(struct fx *f)
{
	expect_ok(luo_ctx_opts_set_abi(tb.opts, LUO_ABI_MAINLINE));
}

static void prep_finish_in(struct fx *f)
{
	expect_ok(luo_session_finish(f->in));
}

static void prep_adopted(struct fx *f)
{
	expect_ok(luo_session_adopt_fd(f->ctx, dup_of(f->out_fd), &f->adopted));
}

/* A session sent while the device is closed, for luo_session_recv(). */
static void prep_sent_spare(struct fx *f)
{
	int sv[2];

	socket_pair(f, SOCK_STREAM, sv);
	expect_ok(luo_session_send(f->spare, sv[0]));
	f->sock = sv[1];
}

static void prep(struct fx *f)
{
	const struct row *row = f->row;

	f->str = row->str;
	if (row->bad != FD_NONE)
		f->bad = make_bad_fd(f, row->bad);
	if (row->msg != M_NONE)
		prep_message(f);
	if (row->prep)
		row->prep(f);
}

/* ---- the snapshot ------------------------------------------------------- */

static const uint64_t probe_tokens[] = { 1, 2, 0, UINT64_MAX, 7, 0x77,
					 TOKEN_TOP, LUO_TOKEN_RESERVED_MIN };
#define NPROBE ((int)(sizeof(probe_tokens) / sizeof(probe_tokens[0])))

struct view {
	int count;
	int lookup[NPROBE];
	int state[NPROBE];
};

struct snap {
	int fds;
	struct view ctx, out, spare, in;
	int get_state;
	enum luo_state state;
	/* the user's files and sessions (tests/common/env.h) */
	int fake_files, fake_out, fake_in, fake_boot;
	/* libluo's own: record segments, index sessions.  Every fixture
	 * session that a row can preserve into holds its record already, so a
	 * failed call changes none of these either. */
	int fake_libluo_files, fake_index_out, fake_index_in;
	enum luo_state fake_state;
};

static void view_ctx(luo_ctx_t *ctx, struct view *v)
{
	int i;

	v->count = luo_token_count(ctx);
	for (i = 0; i < NPROBE; i++) {
		enum luo_token_state st = 0;

		v->lookup[i] = luo_token_lookup(ctx, probe_tokens[i], &st);
		v->state[i] = (int)st;
	}
}

static void view_session(luo_session_t *s, struct view *v)
{
	int i;

	if (!s)
		return;
	v->count = luo_session_token_count(s);
	for (i = 0; i < NPROBE; i++) {
		enum luo_token_state st = 0;

		v->lookup[i] = luo_session_token_lookup(s, probe_tokens[i],
							&st);
		v->state[i] = (int)st;
	}
}

static void take(struct fx *f, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->fds = fd_count();
	if (tb.fake) /* the fake's descriptors of libluo's own files */
		s->fds -= tb_fake_libluo_file_count();
	if (f->ctx) {
		view_ctx(f->ctx, &s->ctx);
		s->get_state = luo_get_state(f->ctx, &s->state);
	}
	view_session(f->out, &s->out);
	view_session(f->spare, &s->spare);
	view_session(f->in, &s->in);
	if (tb.fake) {
		s->fake_files = tb_fake_user_file_count();
		s->fake_out = tb_fake_user_session_count(LUO_SESSION_OUTGOING);
		s->fake_in = tb_fake_user_session_count(LUO_SESSION_INCOMING);
		s->fake_libluo_files = tb_fake_libluo_file_count();
		s->fake_index_out =
			tb_fake_index_session_count(LUO_SESSION_OUTGOING);
		s->fake_index_in =
			tb_fake_index_session_count(LUO_SESSION_INCOMING);
		s->fake_boot = luo_fake_get_boot(tb.fake);
		assert_eq(luo_fake_get_state(tb.fake, &s->fake_state), 0);
	}
}

static void expect_same_view(const struct view *a, const struct view *b,
			     const char *what)
{
	int i;

	assert_eq(b->count, a->count, "%s: token count %d -> %d", what,
		  a->count, b->count);
	for (i = 0; i < NPROBE; i++) {
		assert_eq(b->lookup[i], a->lookup[i],
			  "%s: lookup of token %#llx %d -> %d", what,
			  (unsigned long long)probe_tokens[i], a->lookup[i],
			  b->lookup[i]);
		assert_eq(b->state[i], a->state[i],
			  "%s: state of token %#llx %d -> %d", what,
			  (unsigned long long)probe_tokens[i], a->state[i],
			  b->state[i]);
	}
}

static void expect_unchanged(struct fx *f, const struct snap *before)
{
	struct snap now;
	char list[2048];

	take(f, &now);
	if (now.fds != before->fds) {
		fd_describe(list, sizeof(list));
		fail("open descriptors %d -> %d: %s", before->fds, now.fds,
		     list);
	}
	expect_same_view(&before->ctx, &now.ctx, "context");
	expect_same_view(&before->out, &now.out, "session bad.out");
	expect_same_view(&before->spare, &now.spare, "session bad.spare");
	expect_same_view(&before->in, &now.in, "session bad.in");
	assert_eq(now.get_state, before->get_state);
	assert_eq(now.state, before->state, "state %s -> %s",
		  luo_state_to_string(before->state),
		  luo_state_to_string(now.state));
	assert_eq(now.fake_files, before->fake_files, "fake files %d -> %d",
		  before->fake_files, now.fake_files);
	assert_eq(now.fake_out, before->fake_out,
		  "fake outgoing sessions %d -> %d", before->fake_out,
		  now.fake_out);
	assert_eq(now.fake_in, before->fake_in,
		  "fake incoming sessions %d -> %d", before->fake_in,
		  now.fake_in);
	assert_eq(now.fake_libluo_files, before->fake_libluo_files,
		  "libluo's own files %d -> %d", before->fake_libluo_files,
		  now.fake_libluo_files);
	assert_eq(now.fake_index_out, before->fake_index_out);
	assert_eq(now.fake_index_in, before->fake_index_in);
	assert_eq(now.fake_boot, before->fake_boot);
	assert_eq(now.fake_state, before->fake_state);
}

static void expect_sentinels(const struct fx *f)
{
	assert_eq(f->o_session, (luo_session_t *)SENTINEL_PTR,
		  "session handle written on failure");
	assert_eq(f->o_ctx, (luo_ctx_t *)SENTINEL_PTR,
		  "context written on failure");
	assert_eq(f->o_opts, (luo_ctx_opts_t *)SENTINEL_PTR,
		  "options written on failure");
	assert_eq(f->o_fake, (luo_fake_t *)SENTINEL_PTR,
		  "fake written on failure");
	assert_eq(f->o_name, (const char *)SENTINEL_PTR,
		  "name written on failure");
	assert_eq(f->o_fd, SENTINEL_INT, "descriptor written on failure");
	assert_eq((int)f->o_abi, SENTINEL_INT, "ABI written on failure");
	assert_eq((int)f->o_state, SENTINEL_INT, "state written on failure");
	assert_eq((int)f->o_tstate, SENTINEL_INT,
		  "token state written on failure");
	assert_eq((int)f->o_dir, SENTINEL_INT,
		  "direction written on failure");
	assert_eq(f->o_token, SENTINEL_TOKEN, "token written on failure");
	assert_eq(f->calls, 0, "a callback ran for a failed call");
}

/* ---- teardown ----------------------------------------------------------- */

static void teardown(struct fx *f)
{
	int i;

	if (f->adopted)
		expect_ok(luo_session_close(f->adopted,
					    LUO_SESSION_CLOSE_FORCE));
	if (f->out) {
		/* no row may have marked it sent */
		expect_ret(luo_session_close(f->out, 0), -EBUSY);
		expect_ok(luo_session_close(f->out, LUO_SESSION_CLOSE_FORCE));
	}
	if (f->spare)
		expect_ok(luo_session_close(f->spare, 0));
	if (f->in)
		expect_ok(luo_session_close(f->in, LUO_SESSION_CLOSE_FORCE));
	if (f->old)
		expect_ok(luo_session_close(f->old, LUO_SESSION_CLOSE_FORCE));
	if (f->norec)
		expect_ok(luo_session_close(f->norec, LUO_SESSION_CLOSE_FORCE));
	/* the fd store's: no FORCE needed, the manager holds it too */
	if (f->stored)
		expect_ok(luo_session_close(f->stored, 0));
	if (f->store_fd >= 0 && !f->store_owned)
		xclose(f->store_fd);
	if (f->notify >= 0)
		xclose(f->notify);
	luo_ctx_unref(f->ctx2);
	if (f->row->fx == FX_PREPARED)
		expect_ok(luo_cancel(f->ctx));
	if (f->osession)
		expect_ok(luo_session_close(f->osession, 0));
	luo_ctx_unref(f->octx);
	luo_ctx_opts_free(f->oopts);
	luo_fake_unref(f->ofake);
	luo_ctx_opts_free(f->opts);
	for (i = 0; i < f->nclose; i++)
		xclose(f->to_close[i]);
	if (f->unlink_path[0])
		assert_eq(unlink(f->unlink_path), 0, "unlink %s: %s",
			  f->unlink_path, strerror(errno));
	if (f->tmpdir[0])
		assert_eq(rmdir(f->tmpdir), 0, "rmdir %s: %s", f->tmpdir,
			  strerror(errno));
	free(f->strbuf);
}

/* ---- the calls ---------------------------------------------------------- */

#define CALL(name) static int name(struct fx *f)
#define TOKEN_NEW 0x77 /* a token nobody uses */

/* options */
CALL(c_opts_new_null) { return luo_ctx_opts_new(NULL); }
CALL(c_opts_free_null) { luo_ctx_opts_free(NULL); return 0; }
CALL(c_opts_freep_null)
{
	luo_ctx_opts_t *opts = NULL;

	luo_ctx_opts_freep(&opts);
	return 0;
}
CALL(c_set_device_null_opts)
{
	return luo_ctx_opts_set_device(NULL, "/dev/null");
}
/* A failed set_device keeps /dev/null: luo_ctx_new() says -EPROTO. */
CALL(c_set_device)
{
	int r = luo_ctx_opts_set_device(f->opts, f->str);

	if (r < 0)
		expect_ret(luo_ctx_new(f->opts, &f->o_ctx), -EPROTO);
	return r;
}
CALL(c_set_abi_null_opts)
{
	return luo_ctx_opts_set_abi(NULL, LUO_ABI_MAINLINE);
}
/* A failed set_abi keeps the forced RFC ABI (prep_force_rfc()). */
CALL(c_set_abi)
{
	int r = luo_ctx_opts_set_abi(tb.opts, (enum luo_abi)f->row->arg);

	if (r < 0)
		expect_ret(luo_ctx_new(tb.opts, &f->o_ctx), -EPROTO);
	return r;
}
CALL(c_set_fake_null_opts) { return luo_ctx_opts_set_fake(NULL, tb.fake); }
CALL(c_set_fake_null_both) { return luo_ctx_opts_set_fake(NULL, NULL); }
CALL(c_set_open_device_null)
{
	return luo_ctx_opts_set_open_device(NULL, false);
}
CALL(c_set_record_null_opts) { return luo_ctx_opts_set_record(NULL, false); }
CALL(c_opts_set_log_null_opts)
{
	return luo_ctx_opts_set_log(NULL, log_cb, f, LOG_DEBUG);
}
CALL(c_opts_set_log)
{
	return luo_ctx_opts_set_log(tb.opts, log_cb, f, (int)f->row->arg);
}

/* contexts */
CALL(c_ctx_new_null_ret)
{
	int r = luo_ctx_new(tb.opts, NULL);

	/* and the device was not left open */
	if (r < 0) {
		luo_ctx_t *ctx = tb_new_ctx();

		luo_ctx_unref(ctx);
	}
	return r;
}
CALL(c_ctx_new_null_both) { return luo_ctx_new(NULL, NULL); }
CALL(c_ctx_new_path)
{
	luo_ctx_opts_t *opts = NULL;
	int r;

	expect_ok(luo_ctx_opts_new(&opts));
	expect_ok(luo_ctx_opts_set_device(opts, f->str));
	if (f->row->arg)
		expect_ok(luo_ctx_opts_set_abi(opts,
					       (enum luo_abi)f->row->arg));
	r = luo_ctx_new(opts, &f->o_ctx);
	luo_ctx_opts_free(opts);
	return r;
}
CALL(c_ctx_new_tb) { return luo_ctx_new(tb.opts, &f->o_ctx); }
CALL(c_ctx_ref_null) { return luo_ctx_ref(NULL) == NULL ? 0 : -EIO; }
CALL(c_ctx_unref_null) { return luo_ctx_unref(NULL) == NULL ? 0 : -EIO; }
CALL(c_ctx_unrefp_null)
{
	luo_ctx_t *ctx = NULL;

	luo_ctx_unrefp(&ctx);
	return 0;
}
CALL(c_ref_unref)
{
	return luo_ctx_ref(f->ctx) == f->ctx && !luo_ctx_unref(f->ctx) ? 0 :
									 -EIO;
}
CALL(c_close_device_null) { return luo_ctx_close_device(NULL); }
CALL(c_close_device) { return luo_ctx_close_device(f->ctx); }
CALL(c_get_abi_null_ctx) { return luo_ctx_get_abi(NULL, &f->o_abi); }
CALL(c_get_abi_null_ret) { return luo_ctx_get_abi(f->ctx, NULL); }
CALL(c_get_abi)
{
	int r = luo_ctx_get_abi(f->ctx, &f->o_abi);

	if (r == 0)
		assert_eq(f->o_abi, tb.abi);
	return r;
}
CALL(c_set_log_null_ctx) { return luo_ctx_set_log(NULL, log_cb, f, LOG_DEBUG); }
CALL(c_set_log) { return luo_ctx_set_log(f->ctx, log_cb, f, (int)f->row->arg); }

/* the original API */
CALL(c_get_state_null_ctx) { return luo_get_state(NULL, &f->o_state); }
CALL(c_get_state_null) { return luo_get_state(f->ctx, NULL); }
CALL(c_get_state) { return luo_get_state(f->ctx, &f->o_state); }
CALL(c_fd_preserve_null_ctx)
{
	return luo_fd_preserve(NULL, f->bad, TOKEN_NEW);
}
CALL(c_fd_preserve) { return luo_fd_preserve(f->ctx, f->bad, f->row->token); }
/* A valid token: preserved, seen, unpreserved again. */
CALL(c_fd_preserve_valid)
{
	uint64_t token = f->row->token;
	enum luo_token_state st = 0;
	int files = tb.fake ? luo_fake_file_count(tb.fake) : 0;
	int r = luo_fd_preserve(f->ctx, f->bad, token);

	if (r < 0)
		return r;
	expect_ok(luo_token_lookup(f->ctx, token, &st));
	assert_eq(st, LUO_TOKEN_PRESERVED);
	if (tb.fake)
		assert_eq(luo_fake_file_count(tb.fake), files + 1);
	assert_true(tb_file_is_preserved(f->bad));
	expect_ok(luo_fd_unpreserve(f->ctx, token));
	expect_ret(luo_token_lookup(f->ctx, token, &st), -ENOENT);
	assert_true(!tb_file_is_preserved(f->bad));
	return 0;
}
CALL(c_fd_unpreserve_null) { return luo_fd_unpreserve(NULL, 1); }
CALL(c_fd_unpreserve) { return luo_fd_unpreserve(f->ctx, f->row->token); }
CALL(c_fd_restore_null_ctx) { return luo_fd_restore(NULL, 7, &f->o_fd); }
CALL(c_fd_restore_null_fd)
{
	return luo_fd_restore(f->ctx, f->row->token, NULL);
}
CALL(c_fd_restore)
{
	enum luo_token_state st = 0;
	int r = luo_fd_restore(f->ctx, f->row->token, &f->o_fd);

	if (r < 0)
		return r;
	expect_file_pattern(f->o_fd, f->row->token, 64);
	xclose(f->o_fd);
	expect_ok(luo_token_lookup(f->ctx, f->row->token, &st));
	assert_eq(st, LUO_TOKEN_RESTORED);
	return 0;
}
CALL(c_prepare_null) { return luo_prepare(NULL); }
CALL(c_prepare) { return luo_prepare(f->ctx); }
CALL(c_cancel_null) { return luo_cancel(NULL); }
CALL(c_cancel) { return luo_cancel(f->ctx); }
CALL(c_finish_null) { return luo_finish(NULL); }
CALL(c_finish) { return luo_finish(f->ctx); }
CALL(c_state_to_string)
{
	const char *s = luo_state_to_string((enum luo_state)f->row->arg);

	assert_str_eq(s, "unknown");
	return 0;
}
CALL(c_token_lookup_null_ctx)
{
	return luo_token_lookup(NULL, 1, &f->o_tstate);
}
CALL(c_token_lookup_null) { return luo_token_lookup(f->ctx, 1, NULL); }
CALL(c_token_lookup)
{
	int r = luo_token_lookup(f->ctx, f->row->token, &f->o_tstate);

	if (r == 0)
		assert_eq(f->o_tstate, LUO_TOKEN_PRESERVED);
	return r;
}
CALL(c_token_count_null) { return luo_token_count(NULL); }
CALL(c_token_count) { return luo_token_count(f->ctx); }
CALL(c_token_foreach_null_ctx) { return luo_token_foreach(NULL, count_cb, f); }
CALL(c_token_foreach_null_fn) { return luo_token_foreach(f->ctx, NULL, f); }
CALL(c_token_foreach)
{
	int r = luo_token_foreach(f->ctx, count_cb, f);

	if (r == 0)
		assert_eq(f->calls, 1);
	return r;
}

/* sessions */
CALL(c_create_null_ctx)
{
	return luo_session_create(NULL, "bad.x", &f->o_session);
}
CALL(c_create_null_ret) { return luo_session_create(f->ctx, "bad.x", NULL); }
CALL(c_create) { return luo_session_create(f->ctx, f->str, &f->o_session); }
/* A valid name: the session exists under exactly these bytes. */
CALL(c_create_valid)
{
	const char *name = NULL;
	int r = luo_session_create(f->ctx, f->str, &f->o_session);

	if (r < 0)
		return r;
	expect_ok(luo_session_get_name(f->o_session, &name));
	assert_str_eq(name, f->str);
	if (tb.fake) {
		/* bad.out, bad.spare, libluo.tok.1, this */
		assert_eq(tb_fake_user_session_count(LUO_SESSION_OUTGOING), 4);
		/* and the context's index, which records it */
		assert_eq(tb_fake_index_session_count(LUO_SESSION_OUTGOING),
			  1);
		assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING),
			  5);
	}
	expect_ok(luo_session_close(f->o_session, 0));
	return 0;
}
CALL(c_retrieve_null_ctx)
{
	return luo_session_retrieve(NULL, "bad.in", &f->o_session);
}
CALL(c_retrieve_null_ret)
{
	return luo_session_retrieve(f->ctx, "bad.in", NULL);
}
CALL(c_retrieve) { return luo_session_retrieve(f->ctx, f->str, &f->o_session); }
CALL(c_spf_null) { return luo_session_preserve_fd(NULL, f->bad, TOKEN_NEW); }
CALL(c_spf) { return luo_session_preserve_fd(f->out, f->bad, f->row->token); }
CALL(c_spf_spare)
{
	int r = luo_session_preserve_fd(f->spare, f->bad, f->row->token);

	if (tb.fake)
		assert_eq(tb_fake_libluo_files_in("bad.spare"), 0);
	return r;
}
CALL(c_spf_in) { return luo_session_preserve_fd(f->in, f->bad, TOKEN_NEW); }
CALL(c_spf_valid)
{
	enum luo_token_state st = 0;
	int r = luo_session_preserve_fd(f->out, f->bad, f->row->token);

	if (r < 0)
		return r;
	expect_ok(luo_session_token_lookup(f->out, f->row->token, &st));
	assert_eq(st, LUO_TOKEN_PRESERVED);
	assert_eq(luo_session_token_count(f->out), 2);
	if (tb.fake) {
		assert_eq(tb_fake_files_in("bad.out"), 2);
		/* the record made by the fixture's preserve has room */
		assert_eq(tb_fake_libluo_files_in("bad.out"), 1);
	}
	return 0;
}
CALL(c_srf_null_session) { return luo_session_retrieve_fd(NULL, 2, &f->o_fd); }
CALL(c_srf_null_fd) { return luo_session_retrieve_fd(f->in, 2, NULL); }
CALL(c_srf_out) { return luo_session_retrieve_fd(f->out, 2, &f->o_fd); }
CALL(c_srf)
{
	enum luo_token_state st = 0;
	int r = luo_session_retrieve_fd(f->in, f->row->token, &f->o_fd);

	if (r < 0)
		return r;
	expect_file_pattern(f->o_fd, f->row->token, 64);
	xclose(f->o_fd);
	expect_ok(luo_session_token_lookup(f->in, f->row->token, &st));
	assert_eq(st, LUO_TOKEN_RESTORED);
	return 0;
}
CALL(c_sfinish_null) { return luo_session_finish(NULL); }
CALL(c_sfinish_out) { return luo_session_finish(f->out); }
CALL(c_sfinish_in) { return luo_session_finish(f->in); }
CALL(c_get_name_null_session) { return luo_session_get_name(NULL, &f->o_name); }
CALL(c_get_name_null) { return luo_session_get_name(f->out, NULL); }
CALL(c_get_name)
{
	int r = luo_session_get_name(f->out, &f->o_name);

	if (r == 0)
		assert_str_eq(f->o_name, "bad.out");
	return r;
}
CALL(c_get_dir_null_session)
{
	return luo_session_get_direction(NULL, &f->o_dir);
}
CALL(c_get_dir_null) { return luo_session_get_direction(f->out, NULL); }
CALL(c_get_dir)
{
	int r = luo_session_get_direction(f->out, &f->o_dir);

	if (r == 0)
		assert_eq(f->o_dir, LUO_SESSION_OUTGOING);
	return r;
}
CALL(c_get_fd_null) { return luo_session_get_fd(NULL); }
CALL(c_get_fd)
{
	int r = luo_session_get_fd(f->out);

	return r < 0 ? r : r == f->out_fd ? 0 : -EIO;
}
CALL(c_adopt_null_ctx)
{
	return luo_session_adopt_fd(NULL, f->bad, &f->o_session);
}
CALL(c_adopt_null_ret) { return luo_session_adopt_fd(f->ctx, f->bad, NULL); }
/* On failure the descriptor stays open and untouched. */
CALL(c_adopt)
{
	int r = luo_session_adopt_fd(f->ctx, f->bad, &f->o_session);

	if (r < 0 && f->row->bad != FD_NEG && f->row->bad != FD_NEG_MIN &&
	    f->row->bad != FD_CLOSED)
		assert_true(fd_is_open(f->bad), "a failed adopt closed @fd");
	return r;
}
CALL(c_adopt_valid)
{
	enum luo_session_direction dir = 0;
	int r = luo_session_adopt_fd(f->ctx, f->bad, &f->o_session);

	if (r < 0)
		return r;
	expect_ok(luo_session_get_direction(f->o_session, &dir));
	assert_eq(dir, LUO_SESSION_OUTGOING);
	/* the handle owns f->bad now: closing it closes f->bad */
	expect_ok(luo_session_close(f->o_session, LUO_SESSION_CLOSE_FORCE));
	assert_true(!fd_is_open(f->bad));
	/* the same number again, for the snapshot and the teardown */
	assert_eq(dup3(f->out_fd, f->bad, O_CLOEXEC), f->bad);
	return 0;
}
CALL(c_send_null) { return luo_session_send(NULL, f->bad); }
CALL(c_send) { return luo_session_send(f->out, f->bad); }
CALL(c_send_spare) { return luo_session_send(f->spare, f->bad); }
CALL(c_recv_null_ctx) { return luo_session_recv(NULL, f->sock, &f->o_session); }
/* The message is still there after a call refused before reading it. */
CALL(c_recv_null_ret)
{
	luo_session_t *s = NULL;
	int r = luo_session_recv(f->ctx, f->sock, NULL);

	if (r < 0) {
		expect_ok(luo_session_recv(f->ctx, f->sock, &s));
		expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	}
	return r;
}
CALL(c_recv_sock) { return luo_session_recv(f->ctx, f->bad, &f->o_session); }
CALL(c_recv) { return luo_session_recv(f->ctx, f->sock, &f->o_session); }
CALL(c_recv_valid)
{
	const char *name = NULL;
	int r = luo_session_recv(f->ctx, f->sock, &f->o_session);

	if (r < 0)
		return r;
	expect_ok(luo_session_get_name(f->o_session, &name));
	assert_true(!strcmp(name, "bad.out") || !strcmp(name, "bad.spare"),
		    "received %s", name);
	expect_ok(luo_session_close(f->o_session, LUO_SESSION_CLOSE_FORCE));
	return 0;
}
CALL(c_close_null) { return luo_session_close(NULL, 0); }
/* A refused close leaves a usable handle. */
CALL(c_close_out)
{
	const char *name = NULL;
	int r = luo_session_close(f->out, (unsigned int)f->row->arg);

	if (r < 0) {
		expect_ok(luo_session_get_name(f->out, &name));
		assert_str_eq(name, "bad.out");
	}
	return r;
}
CALL(c_close_in) { return luo_session_close(f->in, 0); }
CALL(c_close_old)
{
	int r = luo_session_close(f->old, 0);

	if (r == 0)
		f->old = NULL;
	return r;
}
CALL(c_close_adopted)
{
	int r = luo_session_close(f->adopted, 0);

	if (r == 0)
		f->adopted = NULL;
	return r;
}
CALL(c_close_spare)
{
	int r = luo_session_close(f->spare, 0);

	if (r == 0)
		f->spare = NULL;
	return r;
}
CALL(c_stl_null_session)
{
	return luo_session_token_lookup(NULL, 2, &f->o_tstate);
}
CALL(c_stl_null) { return luo_session_token_lookup(f->out, 2, NULL); }
CALL(c_stl)
{
	int r = luo_session_token_lookup(f->out, f->row->token, &f->o_tstate);

	if (r == 0)
		assert_eq(f->o_tstate, LUO_TOKEN_PRESERVED);
	return r;
}
CALL(c_stc_null) { return luo_session_token_count(NULL); }
CALL(c_stc) { return luo_session_token_count(f->out); }
CALL(c_stf_null_session)
{
	return luo_session_token_foreach(NULL, count_cb, f);
}
CALL(c_stf_null_fn) { return luo_session_token_foreach(f->out, NULL, f); }
CALL(c_stf)
{
	int r = luo_session_token_foreach(f->out, count_cb, f);

	if (r == 0)
		assert_eq(f->calls, 1);
	return r;
}

/* the fake kernel */
CALL(c_fake_new_null) { return luo_fake_new(LUO_ABI_MAINLINE, NULL); }
CALL(c_fake_new) { return luo_fake_new((enum luo_abi)f->row->arg, &f->o_fake); }
CALL(c_fake_ref_null) { return luo_fake_ref(NULL) == NULL ? 0 : -EIO; }
CALL(c_fake_unref_null) { return luo_fake_unref(NULL) == NULL ? 0 : -EIO; }
CALL(c_fake_unrefp_null)
{
	luo_fake_t *fake = NULL;

	luo_fake_unrefp(&fake);
	return 0;
}
CALL(c_fake_kexec_null) { return luo_fake_kexec(NULL); }
CALL(c_inject_null)
{
	return luo_fake_inject_error(NULL, LUO_FAKE_OP_CREATE_SESSION, EIO);
}
/* A refused injection injects nothing: create and preserve still work. */
static int inject_checked(struct fx *f, enum luo_fake_op op, int error,
			  unsigned int nth)
{
	int r = nth ? luo_fake_inject_error_nth(tb.fake, op, error, nth) :
		      luo_fake_inject_error(tb.fake, op, error);

	if (r < 0) {
		luo_session_t *s = xcreate(f->ctx, "bad.inject");
		int fd = memfd_pattern(5, 10);

		expect_ok(luo_session_preserve_fd(s, fd, 5));
		expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
		xclose(fd);
	}
	return r;
}
CALL(c_inject_op)
{
	return inject_checked(f, (enum luo_fake_op)f->row->arg, EIO, 0);
}
CALL(c_inject_error)
{
	return inject_checked(f, LUO_FAKE_OP_CREATE_SESSION, (int)f->row->arg,
			      0);
}
CALL(c_inject_nth_null)
{
	return luo_fake_inject_error_nth(NULL, LUO_FAKE_OP_CREATE_SESSION, EIO,
					 1);
}
CALL(c_inject_nth_op)
{
	return inject_checked(f, (enum luo_fake_op)f->row->arg, EIO, 1);
}
CALL(c_inject_nth_error)
{
	return inject_checked(f, LUO_FAKE_OP_CREATE_SESSION, (int)f->row->arg,
			      1);
}
CALL(c_op_count_null) { return luo_fake_op_count(NULL, LUO_FAKE_OP_ALL); }
CALL(c_op_count)
{
	return luo_fake_op_count(tb.fake, (enum luo_fake_op)f->row->arg);
}
CALL(c_limits_null) { return luo_fake_set_limits(NULL, 1, 1); }
CALL(c_latency_null)
{
	return luo_fake_set_latency(NULL, LUO_FAKE_OP_ALL, 1, 0);
}
CALL(c_latency_op)
{
	return luo_fake_set_latency(tb.fake, (enum luo_fake_op)f->row->arg, 1,
				    0);
}
CALL(c_latency_flags)
{
	return luo_fake_set_latency(tb.fake, LUO_FAKE_OP_ALL, 1,
				    (unsigned int)f->row->arg);
}
CALL(c_boot_null) { return luo_fake_get_boot(NULL); }
CALL(c_foreach_file_null_fake)
{
	return luo_fake_foreach_file(NULL, fake_file_cb, f);
}
CALL(c_foreach_file_null_fn) { return luo_fake_foreach_file(tb.fake, NULL, f); }
CALL(c_session_count_null)
{
	return luo_fake_session_count(NULL, LUO_SESSION_OUTGOING);
}
CALL(c_session_count)
{
	return luo_fake_session_count(tb.fake,
				      (enum luo_session_direction)f->row->arg);
}
CALL(c_file_count_null) { return luo_fake_file_count(NULL); }
CALL(c_fake_state_null_fake) { return luo_fake_get_state(NULL, &f->o_state); }
CALL(c_fake_state_null) { return luo_fake_get_state(tb.fake, NULL); }

/* ---- labels ------------------------------------------------------------- */

static void prep_label_255(struct fx *f)
{
	f->strbuf = malloc(LUO_LABEL_MAX + 1);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'l', LUO_LABEL_MAX);
	f->strbuf[LUO_LABEL_MAX] = '\0';
	f->str = f->strbuf;
}

static void prep_label_256(struct fx *f)
{
	f->strbuf = malloc(LUO_LABEL_MAX + 2);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'l', LUO_LABEL_MAX + 1);
	f->strbuf[LUO_LABEL_MAX + 1] = '\0';
	f->str = f->strbuf;
}

/* A context that keeps no record (luo_ctx_opts_set_record()), with a
 * session of its own: a label has nowhere to go. */
CALL(c_spfl_no_record)
{
	luo_ctx_opts_t *opts = NULL;
	luo_session_t *s = NULL;
	luo_ctx_t *ctx = NULL;
	int r;

	/* the fixture's context lets the device go to this one */
	expect_ok(luo_ctx_close_device(f->ctx));
	expect_ok(luo_ctx_opts_new(&opts));
	tb_opts_same_kernel(opts);
	expect_ok(luo_ctx_opts_set_record(opts, false));
	expect_ok(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);
	expect_ok(luo_session_create(ctx, "bad.norecord", &s));
	r = luo_session_preserve_fd_labeled(s, f->bad, TOKEN_NEW, "bad.new");
	assert_eq(luo_session_token_count(s), 0);
	if (tb.fake) {
		assert_eq(tb_fake_files_in("bad.norecord"), 0);
		assert_eq(tb_fake_libluo_files_in("bad.norecord"), 0);
	}
	/* without a label, as luo_session_preserve_fd() */
	expect_ok(luo_session_preserve_fd_labeled(s, f->bad, TOKEN_NEW, NULL));
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	luo_ctx_unref(ctx);
	return r;
}

/* bad.out holds its record and token 2: a session of two files is full */
static void prep_out_full(struct fx *f)
{
	expect_ok(luo_fake_set_limits(tb.fake, 0, 2));
}

/* the next PRESERVE_FD: bad.out's record has room, so the file's */
static void prep_kernel_enomem(struct fx *f)
{
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					ENOMEM));
}

/* bad.norec, retrieved while its record cannot be read: a session that
 * behaves as one without a record */
static void prep_norec(struct fx *f)
{
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_RETRIEVE_FD, EIO));
	expect_ok(luo_session_retrieve(f->ctx, "bad.norec", &f->norec));
	assert_eq(luo_session_token_count(f->norec), 0);
}

CALL(c_spfl_null)
{
	return luo_session_preserve_fd_labeled(NULL, f->bad, TOKEN_NEW,
					       "bad.new");
}
CALL(c_spfl)
{
	return luo_session_preserve_fd_labeled(f->out, f->bad, f->row->token,
					       f->str);
}
CALL(c_spfl_in)
{
	return luo_session_preserve_fd_labeled(f->in, f->bad, TOKEN_NEW,
					       "bad.new");
}
/* bad.spare has no record yet: its first segment needs a descriptor */
CALL(c_spfl_spare_no_fd)
{
	struct rlimit saved;
	int r;

	fd_limit_exhaust(&saved);
	r = luo_session_preserve_fd_labeled(f->spare, f->bad, TOKEN_NEW,
					    "bad.new");
	fd_limit_restore(&saved);
	if (tb.fake)
		assert_eq(tb_fake_libluo_files_in("bad.spare"), 0);
	return r;
}
/* A valid label (or none): preserved, found, the label a copy. */
CALL(c_spfl_valid)
{
	enum luo_token_state st = 0;
	const char *label = NULL;
	int r = luo_session_preserve_fd_labeled(f->out, f->bad, f->row->token,
						f->str);

	if (r < 0)
		return r;
	expect_ok(luo_session_token_lookup(f->out, f->row->token, &st));
	assert_eq(st, LUO_TOKEN_PRESERVED);
	assert_eq(luo_session_token_count(f->out), 2);
	if (f->str) {
		expect_ok(luo_session_token_get_label(f->out, f->row->token,
						      &label));
		assert_str_eq(label, f->str);
		assert_true(label != f->str, "the label was not copied");
	} else {
		expect_ret(luo_session_token_get_label(f->out, f->row->token,
						       &label), -ENOENT);
	}
	if (tb.fake)
		assert_eq(tb_fake_files_in("bad.out"), 2);
	return 0;
}

CALL(c_gl_null_session)
{
	return luo_session_token_get_label(NULL, 2, &f->o_name);
}
CALL(c_gl_null_label) { return luo_session_token_get_label(f->out, 2, NULL); }
static int get_label_of(struct fx *f, luo_session_t *s)
{
	int r = luo_session_token_get_label(s, f->row->token, &f->o_name);

	if (r == 0) {
		assert_str_eq(f->o_name, f->str);
		/* valid, unchanged, until the handle is closed */
		expect_ok(luo_session_token_get_label(s, f->row->token,
						      &f->o_name));
		assert_str_eq(f->o_name, f->str);
	}
	return r;
}
CALL(c_gl_out) { return get_label_of(f, f->out); }
CALL(c_gl_spare) { return get_label_of(f, f->spare); }
CALL(c_gl_in) { return get_label_of(f, f->in); }

CALL(c_rbl_null_session)
{
	return luo_session_retrieve_fd_by_label(NULL, "in.two", &f->o_token,
						&f->o_fd);
}
CALL(c_rbl_null_label)
{
	return luo_session_retrieve_fd_by_label(f->in, NULL, &f->o_token,
						&f->o_fd);
}
CALL(c_rbl_null_fd)
{
	return luo_session_retrieve_fd_by_label(f->in, "in.two", &f->o_token,
						NULL);
}
CALL(c_rbl_out)
{
	return luo_session_retrieve_fd_by_label(f->out, "bad.two", &f->o_token,
						&f->o_fd);
}
CALL(c_rbl_norec)
{
	return luo_session_retrieve_fd_by_label(f->norec, "norec.five",
						&f->o_token, &f->o_fd);
}
CALL(c_rbl_no_fd_left)
{
	struct rlimit saved;
	int r;

	fd_limit_exhaust(&saved);
	r = luo_session_retrieve_fd_by_label(f->in, f->str, &f->o_token,
					     &f->o_fd);
	fd_limit_restore(&saved);
	return r;
}
/* A label found: the token's file, RESTORED. */
CALL(c_rbl)
{
	enum luo_token_state st = 0;
	int r = luo_session_retrieve_fd_by_label(f->in, f->str, &f->o_token,
						 &f->o_fd);

	if (r < 0)
		return r;
	assert_eq(f->o_token, f->row->token);
	expect_file_pattern(f->o_fd, f->row->token, 64);
	xclose(f->o_fd);
	expect_ok(luo_session_token_lookup(f->in, f->row->token, &st));
	assert_eq(st, LUO_TOKEN_RESTORED);
	return 0;
}
CALL(c_rbl_null_token)
{
	int r = luo_session_retrieve_fd_by_label(f->in, f->str, NULL,
						 &f->o_fd);

	if (r < 0)
		return r;
	expect_file_pattern(f->o_fd, f->row->token, 64);
	xclose(f->o_fd);
	return 0;
}

/* ---- the index ---------------------------------------------------------- */

static int listed_cb(const char *name, void *data)
{
	struct fx *f = data;

	if (f->calls < 4)
		snprintf(f->listed[f->calls], sizeof(f->listed[0]), "%s",
			 name);
	f->calls++;
	return (int)f->row->arg;
}

/* The index of this boot taken by tb.ctx, which then lets the device go
 * to another context, f->ctx2. */
static void prep_index_taken(struct fx *f)
{
	int calls = 0;

	f->calls = 0;
	expect_ok(luo_ctx_foreach_incoming_session(f->ctx, listed_cb, f));
	calls = f->calls;
	assert_eq(calls, 2);
	expect_ok(luo_ctx_close_device(f->ctx));
	f->ctx2 = tb_new_ctx();
}

static void prep_inject_retrieve_session(struct fx *f)
{
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_RETRIEVE_SESSION,
					EIO));
}

static void prep_inject_retrieve_fd(struct fx *f)
{
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_RETRIEVE_FD, EIO));
}

CALL(c_fis_null_ctx)
{
	return luo_ctx_foreach_incoming_session(NULL, listed_cb, f);
}
CALL(c_fis_null_fn)
{
	return luo_ctx_foreach_incoming_session(f->ctx, NULL, f);
}
CALL(c_fis) { return luo_ctx_foreach_incoming_session(f->ctx, listed_cb, f); }
CALL(c_fis_ctx2)
{
	return luo_ctx_foreach_incoming_session(f->ctx2, listed_cb, f);
}
CALL(c_fis_no_fd_left)
{
	struct rlimit saved;
	int r;

	fd_limit_exhaust(&saved);
	r = luo_ctx_foreach_incoming_session(f->ctx, listed_cb, f);
	fd_limit_restore(&saved);
	return r;
}
/* The previous boot created bad.in and bad.norec (setup_in()), in that
 * order; a second listing gives the same without asking the kernel. */
CALL(c_fis_valid)
{
	int r = luo_ctx_foreach_incoming_session(f->ctx, listed_cb, f), ops;

	if (r != f->row->expected)
		return r;
	if (f->row->fx == FX_CTX) {
		assert_eq(f->calls, 0, "boot 0 has no previous boot");
		return r;
	}
	if (f->row->arg) {
		assert_eq(f->calls, 1, "the callback's value did not stop");
		assert_str_eq(f->listed[0], "bad.in");
		return r;
	}
	assert_eq(f->calls, 2);
	assert_str_eq(f->listed[0], "bad.in");
	assert_str_eq(f->listed[1], "bad.norec");
	ops = luo_fake_op_count(tb.fake, LUO_FAKE_OP_ALL);
	f->calls = 0;
	expect_ok(luo_ctx_foreach_incoming_session(f->ctx, listed_cb, f));
	assert_eq(f->calls, 2);
	assert_eq(luo_fake_op_count(tb.fake, LUO_FAKE_OP_ALL), ops,
		  "a second listing asked the kernel");
	f->calls = 0;
	return r;
}

/* ---- the service manager's descriptor store ----------------------------- */

/* Says that descriptor @fd (3 or more) was passed to this process under
 * @name, as the service manager does (sd_listen_fds(3)): the ones before
 * it are passed too, under a name nobody asks for. */
static void listen_env(int fd, const char *name)
{
	char *names, num[32];
	size_t len = 0, cap;
	int i, n = fd - 3 + 1;

	assert_ge(fd, 3);
	cap = (size_t)n * 8 + strlen(name) + 1;
	names = malloc(cap);
	assert_not_null(names);
	for (i = 0; i < n - 1; i++)
		len += (size_t)snprintf(names + len, cap - len, "unknown:");
	snprintf(names + len, cap - len, "%s", name);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	assert_eq(setenv("LISTEN_PID", num, 1), 0);
	snprintf(num, sizeof(num), "%d", n);
	assert_eq(setenv("LISTEN_FDS", num, 1), 0);
	assert_eq(setenv("LISTEN_FDNAMES", names, 1), 0);
	free(names);
}

/* A copy of @src passed as "bad.store". */
static void store(struct fx *f, int src)
{
	f->store_fd = fcntl(src, F_DUPFD_CLOEXEC, 64);
	assert_ge(f->store_fd, 64, "F_DUPFD: %s", strerror(errno));
	listen_env(f->store_fd, "bad.store");
}

static void prep_store_out(struct fx *f) { store(f, f->out_fd); }
static void prep_store_in(struct fx *f)
{
	store(f, luo_session_get_fd(f->in));
}
static void prep_store_memfd(struct fx *f) { store(f, new_memfd(f, 3)); }
/* a number that is not open */
static void prep_store_closed(struct fx *f)
{
	int fd = 100;

	while (fd_is_open(fd))
		fd++;
	listen_env(fd, "bad.store");
}
static void prep_store_taken(struct fx *f)
{
	prep_store_out(f);
	expect_ok(luo_session_from_fdstore(f->ctx, "bad.store", &f->stored));
	f->store_owned = true;
}
static void prep_store_closed_by_handle(struct fx *f)
{
	prep_store_taken(f);
	expect_ok(luo_session_close(f->stored, 0));
	f->stored = NULL;
	assert_false(fd_is_open(f->store_fd));
}
static void prep_store_no_pid(struct fx *f)
{
	prep_store_out(f);
	assert_eq(unsetenv("LISTEN_PID"), 0);
}
static void prep_store_other_pid(struct fx *f)
{
	char num[32];

	prep_store_out(f);
	snprintf(num, sizeof(num), "%d", (int)getppid());
	assert_eq(setenv("LISTEN_PID", num, 1), 0);
}
static void prep_store_no_fds(struct fx *f)
{
	prep_store_out(f);
	assert_eq(unsetenv("LISTEN_FDS"), 0);
}
static void prep_store_no_names(struct fx *f)
{
	prep_store_out(f);
	assert_eq(unsetenv("LISTEN_FDNAMES"), 0);
}
static void prep_store_zero_fds(struct fx *f)
{
	prep_store_out(f);
	assert_eq(setenv("LISTEN_FDS", "0", 1), 0);
}
static void prep_store_fds_junk(struct fx *f)
{
	prep_store_out(f);
	assert_eq(setenv("LISTEN_FDS", "62x", 1), 0);
}
/* bad.store is name number LISTEN_FDS + 1 */
static void prep_store_names_past_fds(struct fx *f)
{
	char num[32];

	prep_store_out(f);
	snprintf(num, sizeof(num), "%d", f->store_fd - 3);
	assert_eq(setenv("LISTEN_FDS", num, 1), 0);
}
static void prep_store_rfc(struct fx *f)
{
	store(f, new_memfd(f, 3));
}

/* The environment is read, not changed. */
struct env_copy {
	char pid[32], fds[32], names[1024];
	bool has[3];
};

static void env_save(struct env_copy *e)
{
	static const char *const vars[] = { "LISTEN_PID", "LISTEN_FDS",
					    "LISTEN_FDNAMES" };
	char *dst[] = { e->pid, e->fds, e->names };
	size_t len[] = { sizeof(e->pid), sizeof(e->fds), sizeof(e->names) };

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);

		e->has[i] = v != NULL;
		snprintf(dst[i], len[i], "%s", v ? v : "");
	}
}

static int from_fdstore(struct fx *f, luo_ctx_t *ctx, const char *name,
			luo_session_t **ret)
{
	struct env_copy before, after;
	int r;

	env_save(&before);
	r = luo_session_from_fdstore(ctx, name, ret);
	env_save(&after);
	assert_true(!memcmp(&before, &after, sizeof(before)),
		    "the environment changed");
	if (r < 0 && f->store_fd >= 0 && !f->store_owned)
		assert_true(fd_is_open(f->store_fd),
			    "a failed call closed the descriptor");
	return r;
}

CALL(c_fds_null_ctx)
{
	return from_fdstore(f, NULL, "bad.store", &f->o_session);
}
CALL(c_fds_null_ret) { return from_fdstore(f, f->ctx, "bad.store", NULL); }
CALL(c_fds) { return from_fdstore(f, f->ctx, f->str, &f->o_session); }
/* Valid: the handle owns the descriptor; closing it needs no FORCE. */
CALL(c_fds_valid)
{
	enum luo_session_direction dir = 0;
	enum luo_token_state st = 0;
	const char *name = NULL;
	int r = from_fdstore(f, f->ctx, f->str, &f->o_session);

	if (r < 0)
		return r;
	f->store_owned = true;
	assert_eq(luo_session_get_fd(f->o_session), f->store_fd);
	expect_ok(luo_session_get_direction(f->o_session, &dir));
	expect_ok(luo_session_get_name(f->o_session, &name));
	if (f->row->fx == FX_IN) {
		const char *label = NULL;

		/* its record was read: tokens and labels, before any
		 * retrieve */
		assert_eq(dir, LUO_SESSION_INCOMING);
		assert_str_eq(name, "bad.in");
		assert_eq(luo_session_token_count(f->o_session), 3);
		expect_ok(luo_session_token_lookup(f->o_session, 0, &st));
		assert_eq(st, LUO_TOKEN_INCOMING);
		expect_ok(luo_session_token_get_label(f->o_session, 2,
						      &label));
		assert_str_eq(label, "in.two");
	} else {
		assert_eq(dir, LUO_SESSION_OUTGOING);
		assert_str_eq(name, "bad.out");
		/* an adopted handle knows what it preserves */
		assert_eq(luo_session_token_count(f->o_session), 0);
	}
	expect_ok(luo_session_close(f->o_session, 0));
	assert_false(fd_is_open(f->store_fd), "the handle did not own it");
	/* the session itself lives on in the fixture's handle */
	assert_eq(luo_session_token_count(f->row->fx == FX_IN ? f->in : f->out),
		  f->row->fx == FX_IN ? 3 : 1);
	return 0;
}

static void prep_store_in_eio(struct fx *f)
{
	prep_store_in(f);
	prep_inject_retrieve_fd(f);
}

/* the usual user of the fd store: a context without the device */
CALL(c_fds_valid_nodev)
{
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	int r;

	expect_ok(luo_ctx_opts_new(&opts));
	tb_opts_same_kernel(opts);
	expect_ok(luo_ctx_opts_set_open_device(opts, false));
	expect_ok(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);
	r = from_fdstore(f, ctx, f->str, &f->o_session);
	if (r == 0) {
		f->store_owned = true;
		assert_eq(luo_session_get_fd(f->o_session), f->store_fd);
		expect_ok(luo_session_close(f->o_session, 0));
	}
	luo_ctx_unref(ctx);
	return r;
}

/* $NOTIFY_SOCKET and who listens there */
static void notify_env(const char *value)
{
	assert_eq(setenv("NOTIFY_SOCKET", value, 1), 0);
}

static void prep_notify_path(struct fx *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	tmp_path(f, "notify");
	assert_lt(strlen(f->path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	f->notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_ge(f->notify, 0);
	assert_eq(bind(f->notify, (struct sockaddr *)&sun, sizeof(sun)), 0,
		  "bind: %s", strerror(errno));
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
	notify_env(f->path);
	f->str = "bad.pushed";
}

static void prep_notify_abstract(struct fx *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char name[64];
	socklen_t len;

	snprintf(name, sizeof(name), "@libluo-tests-notify-%d",
		 (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(name));
	memcpy(sun.sun_path, name, strlen(name));
	sun.sun_path[0] = '\0';
	f->notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_ge(f->notify, 0);
	assert_eq(bind(f->notify, (struct sockaddr *)&sun, len), 0,
		  "bind: %s", strerror(errno));
	notify_env(name);
	f->str = "bad.pushed";
}

/* bound, then closed: the path is there, nobody listens */
static void prep_notify_nobody(struct fx *f)
{
	prep_notify_path(f);
	xclose(f->notify);
	f->notify = -1;
}

static void prep_notify_stream(struct fx *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	tmp_path(f, "notify");
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	f->notify = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_ge(f->notify, 0);
	assert_eq(bind(f->notify, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_eq(listen(f->notify, 1), 0);
	snprintf(f->unlink_path, sizeof(f->unlink_path), "%s", f->path);
	notify_env(f->path);
	f->str = "bad.pushed";
}

static void prep_notify_missing(struct fx *f)
{
	tmp_path(f, "missing");
	notify_env(f->path);
	f->str = "bad.pushed";
}

static void prep_notify_unset(struct fx *f)
{
	assert_eq(unsetenv("NOTIFY_SOCKET"), 0);
	f->str = "bad.pushed";
}

static void prep_notify_empty(struct fx *f)
{
	notify_env("");
	f->str = "bad.pushed";
}

static void prep_notify_vsock(struct fx *f)
{
	notify_env("vsock:2:4711");
	f->str = "bad.pushed";
}

static void prep_notify_relative(struct fx *f)
{
	notify_env("run/notify");
	f->str = "bad.pushed";
}

static void prep_notify_too_long(struct fx *f)
{
	char path[200];

	memset(path, 'n', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	notify_env(path);
	f->str = "bad.pushed";
}

/* the name rows: a listener, and the row's name */
static void prep_notify_name(struct fx *f)
{
	const char *name = f->row->str;

	prep_notify_path(f);
	f->str = name;
}

static void prep_notify_name_256(struct fx *f)
{
	prep_notify_path(f);
	f->strbuf = malloc(257);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'n', 256);
	f->strbuf[256] = '\0';
	f->str = f->strbuf;
}

static void prep_store_name_256(struct fx *f)
{
	prep_store_out(f);
	f->strbuf = malloc(257);
	assert_not_null(f->strbuf);
	memset(f->strbuf, 'n', 256);
	f->strbuf[256] = '\0';
	f->str = f->strbuf;
}

static void prep_store_out_name(struct fx *f)
{
	const char *name = f->row->str;

	prep_store_out(f);
	f->str = name;
}

CALL(c_push_null) { return luo_session_fdstore_push(NULL, "bad.pushed"); }
/* A refused push leaves the handle as it was: not sent (the teardown
 * still needs FORCE for bad.out). */
CALL(c_push) { return luo_session_fdstore_push(f->out, f->str); }
/* Valid: the manager gets "FDSTORE=1", "FDNAME=" and the session; the
 * handle may be closed without FORCE, and the session lives on. */
CALL(c_push_valid)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} control;
	char text[512], want[512];
	struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	int r = luo_session_fdstore_push(f->out, f->str), got;
	ssize_t n;

	if (r < 0)
		return r;
	n = recvmsg(f->notify, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	assert_gt(n, 0, "nothing reached the manager: %s", strerror(errno));
	text[n] = '\0';
	snprintf(want, sizeof(want), "FDSTORE=1\nFDNAME=%s\n", f->str);
	assert_str_eq(text, want);
	cm = CMSG_FIRSTHDR(&mh);
	assert_not_null(cm);
	assert_eq(cm->cmsg_type, SCM_RIGHTS);
	assert_eq(cm->cmsg_len, CMSG_LEN(sizeof(int)), "one descriptor");
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	assert_true(same_inode(got, f->out_fd), "not the session's");
	/* as after a send: no FORCE needed, nothing is lost */
	expect_ok(luo_session_close(f->out, 0));
	f->out = NULL;
	if (tb.fake)
		assert_eq(tb_fake_files_in("bad.out"), 1);
	xclose(got);
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

#define ROW(fn_, input_, expected_, call_, ...)                           \
	{ .fn = #fn_, .input = input_, .expected = expected_,            \
	  .call = call_, .line = __LINE__, __VA_ARGS__ }
#define RFC .abi = LUO_ABI_RFC
#define CTX .fx = FX_CTX
#define TOK(t) .token = (t)
#define ARG(a) .arg = (a)
#define UNDOC(why) .undoc = why
#define FAKE .flags = R_FAKE

/* Every bad descriptor class, for a function and its fixture; the
 * expected errno of each class, and the undocumented reasons of the O_PATH
 * and linked tmpfs rows (NULL: documented), are given by the caller. */
#define FD_ROWS(fn, call, fx_, abi_, neg, closed, opath, pipe_, sock,      \
		dir, huge, reg, tmpfs, opath_undoc, tmpfs_undoc)           \
	ROW(fn, "fd_negative", neg, call, .fx = fx_, .abi = abi_,         \
	    .bad = FD_NEG, TOK(TOKEN_NEW)),                                \
	ROW(fn, "fd_int_min", neg, call, .fx = fx_, .abi = abi_,          \
	    .bad = FD_NEG_MIN, TOK(TOKEN_NEW)),                            \
	ROW(fn, "fd_closed", closed, call, .fx = fx_, .abi = abi_,        \
	    .bad = FD_CLOSED, TOK(TOKEN_NEW)),                             \
	ROW(fn, "fd_o_path", opath, call, .fx = fx_, .abi = abi_,         \
	    .bad = FD_OPATH, TOK(TOKEN_NEW), .undoc = opath_undoc),        \
	ROW(fn, "fd_pipe", pipe_, call, .fx = fx_, .abi = abi_,           \
	    .bad = FD_PIPE, TOK(TOKEN_NEW)),                               \
	ROW(fn, "fd_socket", sock, call, .fx = fx_, .abi = abi_,          \
	    .bad = FD_SOCKET, TOK(TOKEN_NEW)),                             \
	ROW(fn, "fd_directory", dir, call, .fx = fx_, .abi = abi_,        \
	    .bad = FD_DIR, TOK(TOKEN_NEW)),                                \
	ROW(fn, "fd_hugetlb_memfd", huge, call, .fx = fx_, .abi = abi_,   \
	    .bad = FD_HUGETLB, TOK(TOKEN_NEW)),                            \
	ROW(fn, "fd_regular_file", reg, call, .fx = fx_, .abi = abi_,     \
	    .bad = FD_REGULAR, TOK(TOKEN_NEW)),                            \
	ROW(fn, "fd_linked_tmpfs_file", tmpfs, call, .fx = fx_,           \
	    .abi = abi_, .bad = FD_TMPFS, TOK(TOKEN_NEW),                  \
	    .undoc = tmpfs_undoc)

/* undocumented: O_PATH.  The header's -EBADF says "not an open
 * descriptor"; an O_PATH descriptor is open, but the kernel's fget()
 * refuses it, so -EBADF. */
#define OPATH_UNDOC                                                      \
	"an O_PATH descriptor is open but the kernel's fget() refuses it: " \
	"-EBADF, which the header gives for 'not an open descriptor'"
/* undocumented for luo_session_preserve_fd() (luo_fd_preserve() documents
 * it): a linked tmpfs file.  Its header allows "another shmem file"; Linux
 * 7.2 preserves only unlinked ones (memfd_luo_can_preserve(): i_nlink ==
 * 0), so -ENOENT, "cannot preserve this type of file". */
#define TMPFS_UNDOC                                                      \
	"the header allows 'another shmem file'; Linux 7.2 preserves only " \
	"unlinked ones (i_nlink == 0): -ENOENT"

static const struct row rows[] = {
	/* ---- options ---- */
	ROW(luo_ctx_opts_new, "null_ret", -EINVAL, c_opts_new_null),
	ROW(luo_ctx_opts_free, "null", 0, c_opts_free_null),
	ROW(luo_ctx_opts_freep, "pointer_to_null", 0, c_opts_freep_null),
	ROW(luo_ctx_opts_set_device, "null_opts", -EINVAL,
	    c_set_device_null_opts),
	ROW(luo_ctx_opts_set_device, "null_path", -EINVAL, c_set_device,
	    .prep = prep_kernel_opts),
	ROW(luo_ctx_opts_set_device, "empty_path", -EINVAL, c_set_device,
	    .str = "", .prep = prep_kernel_opts),
	ROW(luo_ctx_opts_set_device, "path_of_path_max_bytes", -ENAMETOOLONG,
	    c_set_device, .prep = prep_kernel_opts_long_path),
	ROW(luo_ctx_opts_set_abi, "null_opts", -EINVAL, c_set_abi_null_opts),
	ROW(luo_ctx_opts_set_abi, "abi_3", -EINVAL, c_set_abi, ARG(3),
	    .prep = prep_force_rfc),
	ROW(luo_ctx_opts_set_abi, "abi_minus_1", -EINVAL, c_set_abi, ARG(-1),
	    .prep = prep_force_rfc),
	ROW(luo_ctx_opts_set_abi, "abi_0x100", -EINVAL, c_set_abi, ARG(0x100),
	    .prep = prep_force_rfc),
	ROW(luo_ctx_opts_set_abi, "abi_int_max", -EINVAL, c_set_abi,
	    ARG(INT_MAX), .prep = prep_force_rfc),
	ROW(luo_ctx_opts_set_abi, "abi_int_min", -EINVAL, c_set_abi,
	    ARG(INT_MIN), .prep = prep_force_rfc),
	ROW(luo_ctx_opts_set_fake, "null_opts", -EINVAL, c_set_fake_null_opts),
	ROW(luo_ctx_opts_set_fake, "null_opts_null_fake", -EINVAL,
	    c_set_fake_null_both),
	ROW(luo_ctx_opts_set_open_device, "null_opts", -EINVAL,
	    c_set_open_device_null),
	ROW(luo_ctx_opts_set_record, "null_opts", -EINVAL,
	    c_set_record_null_opts),
	ROW(luo_ctx_opts_set_log, "null_opts", -EINVAL,
	    c_opts_set_log_null_opts),
	ROW(luo_ctx_opts_set_log, "priority_minus_1", -EINVAL, c_opts_set_log,
	    ARG(-1)),
	ROW(luo_ctx_opts_set_log, "priority_8", -EINVAL, c_opts_set_log,
	    ARG(8)),
	ROW(luo_ctx_opts_set_log, "priority_int_min", -EINVAL, c_opts_set_log,
	    ARG(INT_MIN)),
	ROW(luo_ctx_opts_set_log, "priority_int_max", -EINVAL, c_opts_set_log,
	    ARG(INT_MAX)),

	/* ---- contexts ---- */
	ROW(luo_ctx_new, "null_ret", -EINVAL, c_ctx_new_null_ret),
	ROW(luo_ctx_new, "null_opts_null_ret", -EINVAL, c_ctx_new_null_both),
	ROW(luo_ctx_new, "device_regular_file", -EPROTO, c_ctx_new_path,
	    .prep = prep_path_regular),
	ROW(luo_ctx_new, "device_regular_file_forced_mainline", -EPROTO,
	    c_ctx_new_path, ARG(LUO_ABI_MAINLINE), .prep = prep_path_regular),
	ROW(luo_ctx_new, "device_directory", -EISDIR, c_ctx_new_path,
	    .prep = prep_path_dir),
	ROW(luo_ctx_new, "device_fifo", -EPROTO, c_ctx_new_path,
	    .prep = prep_path_fifo),
	ROW(luo_ctx_new, "device_socket_node", -ENXIO, c_ctx_new_path,
	    .prep = prep_path_socket),
	ROW(luo_ctx_new, "device_dev_null", -EPROTO, c_ctx_new_path,
	    .str = "/dev/null"),
	ROW(luo_ctx_new, "device_dev_null_forced_rfc", -EPROTO, c_ctx_new_path,
	    .str = "/dev/null", ARG(LUO_ABI_RFC)),
	ROW(luo_ctx_new, "device_dev_zero", -EPROTO, c_ctx_new_path,
	    .str = "/dev/zero"),
	ROW(luo_ctx_new, "device_missing", -ENOENT, c_ctx_new_path,
	    .prep = prep_path_missing),
	ROW(luo_ctx_new, "device_in_missing_directory", -ENOENT, c_ctx_new_path,
	    .prep = prep_path_missing_dir),
	ROW(luo_ctx_new, "device_missing_non_ascii", -ENOENT, c_ctx_new_path,
	    .prep = prep_path_non_ascii),
	ROW(luo_ctx_new, "device_under_regular_file", -ENOTDIR, c_ctx_new_path,
	    .prep = prep_path_notdir),
	ROW(luo_ctx_new, "device_symlink_loop", -ELOOP, c_ctx_new_path,
	    .prep = prep_path_loop),
	ROW(luo_ctx_new, "device_held_by_another_context", -EBUSY, c_ctx_new_tb,
	    CTX),
	ROW(luo_ctx_new, "forced_rfc_on_mainline", -EPROTO, c_ctx_new_tb,
	    .prep = prep_force_rfc),
	ROW(luo_ctx_new, "forced_mainline_on_rfc", -EPROTO, c_ctx_new_tb, RFC,
	    .prep = prep_force_mainline),
	ROW(luo_ctx_ref, "null", 0, c_ctx_ref_null),
	ROW(luo_ctx_unref, "null", 0, c_ctx_unref_null),
	ROW(luo_ctx_unrefp, "pointer_to_null", 0, c_ctx_unrefp_null),
	ROW(luo_ctx_close_device, "null", -EINVAL, c_close_device_null),
	ROW(luo_ctx_close_device, "closed_already", -ENODEV, c_close_device,
	    .fx = FX_NODEV),
	ROW(luo_ctx_close_device, "closed_already", -ENODEV, c_close_device,
	    .fx = FX_NODEV, RFC),
	ROW(luo_ctx_close_device, "context_without_device", -ENODEV,
	    c_close_device, .fx = FX_NOOPEN),
	ROW(luo_ctx_get_abi, "null_ctx", -EINVAL, c_get_abi_null_ctx),
	ROW(luo_ctx_get_abi, "null_ret", -EINVAL, c_get_abi_null_ret, CTX),
	ROW(luo_ctx_set_log, "null_ctx", -EINVAL, c_set_log_null_ctx),
	ROW(luo_ctx_set_log, "priority_minus_1", -EINVAL, c_set_log, CTX,
	    ARG(-1)),
	ROW(luo_ctx_set_log, "priority_8", -EINVAL, c_set_log, CTX, ARG(8)),
	ROW(luo_ctx_set_log, "priority_int_min", -EINVAL, c_set_log, CTX,
	    ARG(INT_MIN)),
	ROW(luo_ctx_set_log, "priority_int_max", -EINVAL, c_set_log, CTX,
	    ARG(INT_MAX)),

	/* ---- the original API: arguments ---- */
	ROW(luo_get_state, "null_ctx", -EINVAL, c_get_state_null_ctx),
	ROW(luo_get_state, "null_state", -EINVAL, c_get_state_null, CTX),
	ROW(luo_get_state, "null_state", -EINVAL, c_get_state_null, CTX, RFC),
	ROW(luo_get_state, "context_without_device", -ENODEV, c_get_state,
	    .fx = FX_NOOPEN),
	ROW(luo_fd_preserve, "null_ctx", -EINVAL, c_fd_preserve_null_ctx,
	    .bad = FD_MEMFD),
	/* undocumented: fd_o_path (OPATH_UNDOC) */
	FD_ROWS(luo_fd_preserve, c_fd_preserve, FX_CTX, LUO_ABI_MAINLINE,
		-EINVAL, -EBADF, -EBADF, -ENOENT, -ENOENT, -ENOENT, -ENOENT,
		-ENOENT, -ENOENT, OPATH_UNDOC, NULL),
	/* undocumented: fd_o_path (OPATH_UNDOC) */
	FD_ROWS(luo_fd_preserve, c_fd_preserve, FX_CTX, LUO_ABI_RFC,
		-EINVAL, -EBADF, -EBADF, -ENOENT, -ENOENT, -ENOENT, -ENOENT,
		-ENOENT, -ENOENT, OPATH_UNDOC, NULL),
	ROW(luo_fd_preserve, "fd_session_descriptor", -ENOENT, c_fd_preserve,
	    CTX, .bad = FD_SESSION, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "file_preserved_in_a_session", -EBUSY,
	    c_fd_preserve, CTX, .bad = FD_OUT_FILE, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "file_preserved_under_another_token", -EBUSY,
	    c_fd_preserve, CTX, .bad = FD_ORIG_FILE, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "file_preserved_under_another_token", -EBUSY,
	    c_fd_preserve, CTX, RFC, .bad = FD_ORIG_FILE, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "token_in_use", -EEXIST, c_fd_preserve, CTX,
	    .bad = FD_MEMFD, TOK(1)),
	ROW(luo_fd_preserve, "token_in_use", -EEXIST, c_fd_preserve, CTX, RFC,
	    .bad = FD_MEMFD, TOK(1)),
	ROW(luo_fd_preserve, "token_0_is_valid", 0, c_fd_preserve_valid, CTX,
	    .bad = FD_MEMFD, TOK(0)),
	ROW(luo_fd_preserve, "token_0_is_valid", 0, c_fd_preserve_valid, CTX,
	    RFC, .bad = FD_MEMFD, TOK(0)),
	ROW(luo_fd_preserve, "token_uint64_max_is_valid", 0,
	    c_fd_preserve_valid, CTX, .bad = FD_MEMFD, TOK(UINT64_MAX)),
	ROW(luo_fd_preserve, "token_uint64_max_is_valid", 0,
	    c_fd_preserve_valid, CTX, RFC, .bad = FD_MEMFD, TOK(UINT64_MAX)),
	ROW(luo_fd_preserve, "context_without_device", -ENODEV, c_fd_preserve,
	    .fx = FX_NOOPEN, .bad = FD_MEMFD, TOK(TOKEN_NEW)),
	ROW(luo_fd_unpreserve, "null_ctx", -EINVAL, c_fd_unpreserve_null),
	ROW(luo_fd_unpreserve, "unknown_token", -ENOENT, c_fd_unpreserve, CTX,
	    TOK(TOKEN_NEW)),
	ROW(luo_fd_unpreserve, "unknown_token", -ENOENT, c_fd_unpreserve, CTX,
	    RFC, TOK(TOKEN_NEW)),
	ROW(luo_fd_unpreserve, "token_0_unknown", -ENOENT, c_fd_unpreserve, CTX,
	    TOK(0)),
	ROW(luo_fd_unpreserve, "token_0_unknown", -ENOENT, c_fd_unpreserve, CTX,
	    RFC, TOK(0)),
	ROW(luo_fd_unpreserve, "token_uint64_max_unknown", -ENOENT,
	    c_fd_unpreserve, CTX, TOK(UINT64_MAX)),
	ROW(luo_fd_unpreserve, "token_uint64_max_unknown", -ENOENT,
	    c_fd_unpreserve, CTX, RFC, TOK(UINT64_MAX)),
	ROW(luo_fd_unpreserve, "token_of_a_session", -ENOENT, c_fd_unpreserve,
	    CTX, TOK(2)),
	ROW(luo_fd_restore, "null_ctx", -EINVAL, c_fd_restore_null_ctx),
	ROW(luo_fd_restore, "null_fd", -EINVAL, c_fd_restore_null_fd,
	    .fx = FX_UPDATED, TOK(7)),
	ROW(luo_fd_restore, "null_fd", -EINVAL, c_fd_restore_null_fd,
	    .fx = FX_UPDATED, RFC, TOK(7)),
	ROW(luo_fd_restore, "state_normal", -EBUSY, c_fd_restore, CTX, TOK(1)),
	ROW(luo_fd_restore, "state_normal", -EBUSY, c_fd_restore, CTX, RFC,
	    TOK(1)),
	ROW(luo_fd_restore, "unknown_token", -ENOENT, c_fd_restore,
	    .fx = FX_UPDATED, TOK(TOKEN_NEW)),
	ROW(luo_fd_restore, "unknown_token", -ENOENT, c_fd_restore,
	    .fx = FX_UPDATED, RFC, TOK(TOKEN_NEW)),
	ROW(luo_fd_restore, "token_0_is_valid", 0, c_fd_restore,
	    .fx = FX_UPDATED, TOK(0), .flags = R_CHANGES),
	ROW(luo_fd_restore, "token_0_is_valid", 0, c_fd_restore,
	    .fx = FX_UPDATED, RFC, TOK(0), .flags = R_CHANGES),
	ROW(luo_fd_restore, "token_uint64_max_is_valid", 0, c_fd_restore,
	    .fx = FX_UPDATED, TOK(UINT64_MAX), .flags = R_CHANGES),
	ROW(luo_fd_restore, "token_uint64_max_is_valid", 0, c_fd_restore,
	    .fx = FX_UPDATED, RFC, TOK(UINT64_MAX), .flags = R_CHANGES),
	ROW(luo_fd_unpreserve, "incoming_token", -ENOENT, c_fd_unpreserve,
	    .fx = FX_UPDATED, TOK(7)),
	ROW(luo_fd_unpreserve, "incoming_token", -ENOENT, c_fd_unpreserve,
	    .fx = FX_UPDATED, RFC, TOK(7)),
	ROW(luo_prepare, "null_ctx", -EINVAL, c_prepare_null),
	ROW(luo_cancel, "null_ctx", -EINVAL, c_cancel_null),
	ROW(luo_finish, "null_ctx", -EINVAL, c_finish_null),
	ROW(luo_state_to_string, "state_minus_1", 0, c_state_to_string,
	    ARG(-1)),
	ROW(luo_state_to_string, "state_5", 0, c_state_to_string, ARG(5)),
	ROW(luo_state_to_string, "state_int_max", 0, c_state_to_string,
	    ARG(INT_MAX)),
	ROW(luo_state_to_string, "state_int_min", 0, c_state_to_string,
	    ARG(INT_MIN)),
	ROW(luo_token_lookup, "null_ctx", -EINVAL, c_token_lookup_null_ctx),
	ROW(luo_token_lookup, "null_state", -EINVAL, c_token_lookup_null, CTX),
	ROW(luo_token_lookup, "null_state", -EINVAL, c_token_lookup_null, CTX,
	    RFC),
	ROW(luo_token_lookup, "unknown_token", -ENOENT, c_token_lookup, CTX,
	    TOK(TOKEN_NEW)),
	ROW(luo_token_lookup, "token_0_unknown", -ENOENT, c_token_lookup, CTX,
	    TOK(0)),
	ROW(luo_token_lookup, "token_0_unknown", -ENOENT, c_token_lookup, CTX,
	    RFC, TOK(0)),
	ROW(luo_token_lookup, "token_uint64_max_unknown", -ENOENT,
	    c_token_lookup, CTX, TOK(UINT64_MAX)),
	ROW(luo_token_lookup, "token_uint64_max_unknown", -ENOENT,
	    c_token_lookup, CTX, RFC, TOK(UINT64_MAX)),
	ROW(luo_token_lookup, "token_of_a_session", -ENOENT, c_token_lookup,
	    CTX, TOK(2)),
	ROW(luo_token_count, "null_ctx", -EINVAL, c_token_count_null),
	ROW(luo_token_foreach, "null_ctx", -EINVAL, c_token_foreach_null_ctx),
	ROW(luo_token_foreach, "null_fn", -EINVAL, c_token_foreach_null_fn,
	    CTX),
	ROW(luo_token_foreach, "null_fn", -EINVAL, c_token_foreach_null_fn, CTX,
	    RFC),

	/* ---- the original API: states ---- */
	ROW(luo_fd_preserve, "state_prepared", -EBUSY, c_fd_preserve,
	    .fx = FX_PREPARED, .bad = FD_MEMFD, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "state_prepared", -EBUSY, c_fd_preserve,
	    .fx = FX_PREPARED, RFC, .bad = FD_MEMFD, TOK(TOKEN_NEW)),
	ROW(luo_fd_unpreserve, "state_prepared", -EBUSY, c_fd_unpreserve,
	    .fx = FX_PREPARED, TOK(1)),
	ROW(luo_fd_unpreserve, "state_prepared", -EBUSY, c_fd_unpreserve,
	    .fx = FX_PREPARED, RFC, TOK(1)),
	ROW(luo_fd_restore, "state_prepared", -EBUSY, c_fd_restore,
	    .fx = FX_PREPARED, TOK(1)),
	ROW(luo_fd_restore, "state_prepared", -EBUSY, c_fd_restore,
	    .fx = FX_PREPARED, RFC, TOK(1)),
	ROW(luo_prepare, "state_prepared", -EINVAL, c_prepare,
	    .fx = FX_PREPARED),
	ROW(luo_prepare, "state_prepared", -EINVAL, c_prepare,
	    .fx = FX_PREPARED, RFC),
	ROW(luo_prepare, "state_updated", -EINVAL, c_prepare, .fx = FX_UPDATED),
	ROW(luo_prepare, "state_updated", -EINVAL, c_prepare, .fx = FX_UPDATED,
	    RFC),
	ROW(luo_cancel, "state_normal", -EINVAL, c_cancel, CTX),
	ROW(luo_cancel, "state_normal", -EINVAL, c_cancel, CTX, RFC),
	ROW(luo_cancel, "state_updated", -EINVAL, c_cancel, .fx = FX_UPDATED),
	ROW(luo_cancel, "state_updated", -EINVAL, c_cancel, .fx = FX_UPDATED,
	    RFC),
	ROW(luo_finish, "state_normal", -EINVAL, c_finish, CTX),
	ROW(luo_finish, "state_normal", -EINVAL, c_finish, CTX, RFC),
	ROW(luo_finish, "state_prepared", -EINVAL, c_finish, .fx = FX_PREPARED),
	ROW(luo_finish, "state_prepared", -EINVAL, c_finish, .fx = FX_PREPARED,
	    RFC),

	/* ---- sessions: creating and retrieving ---- */
	ROW(luo_session_create, "null_ctx", -EINVAL, c_create_null_ctx),
	ROW(luo_session_create, "null_name", -EINVAL, c_create, CTX),
	ROW(luo_session_create, "null_ret", -EINVAL, c_create_null_ret, CTX),
	ROW(luo_session_create, "name_empty", -EINVAL, c_create, CTX,
	    .str = ""),
	ROW(luo_session_create, "name_64_bytes", -EINVAL, c_create, CTX,
	    .prep = prep_name_64),
	ROW(luo_session_create, "name_300_bytes", -EINVAL, c_create, CTX,
	    .prep = prep_name_300),
	ROW(luo_session_create, "name_reserved_prefix_alone", -EINVAL, c_create,
	    CTX, .str = "libluo."),
	ROW(luo_session_create, "name_reserved_manifest", -EINVAL, c_create,
	    CTX, .str = "libluo.manifest"),
	ROW(luo_session_create, "name_reserved_token_session", -EINVAL,
	    c_create, CTX, .str = "libluo.tok.0000000000000001"),
	ROW(luo_session_create, "name_reserved_63_bytes", -EINVAL, c_create,
	    CTX, .prep = prep_name_63_reserved),
	ROW(luo_session_create, "name_in_use", -EEXIST, c_create, CTX,
	    .str = "bad.out"),
	ROW(luo_session_create, "name_63_bytes_is_valid", 0, c_create_valid,
	    CTX, .prep = prep_name_63),
	ROW(luo_session_create, "name_non_ascii_utf8_is_valid", 0,
	    c_create_valid, CTX, .str = "bad.caf\xc3\xa9.\xe2\x9c\x93"),
	ROW(luo_session_create, "name_non_ascii_bytes_is_valid", 0,
	    c_create_valid, CTX, .str = "bad.\xff\xfe\x80\x01\x7f"),
	ROW(luo_session_create, "rfc_context", -EOPNOTSUPP, c_create, CTX, RFC,
	    .str = "bad.x"),
	ROW(luo_session_create, "context_without_device", -ENODEV, c_create,
	    .fx = FX_NOOPEN, .str = "bad.x"),
	ROW(luo_session_retrieve, "null_ctx", -EINVAL, c_retrieve_null_ctx),
	ROW(luo_session_retrieve, "null_name", -EINVAL, c_retrieve, CTX),
	ROW(luo_session_retrieve, "null_ret", -EINVAL, c_retrieve_null_ret,
	    .fx = FX_IN),
	ROW(luo_session_retrieve, "name_empty", -EINVAL, c_retrieve, CTX,
	    .str = ""),
	ROW(luo_session_retrieve, "name_64_bytes", -EINVAL, c_retrieve, CTX,
	    .prep = prep_name_64),
	ROW(luo_session_retrieve, "name_reserved_prefix_alone", -EINVAL,
	    c_retrieve, CTX, .str = "libluo."),
	ROW(luo_session_retrieve, "name_reserved_existing_manifest", -EINVAL,
	    c_retrieve, .fx = FX_UPDATED, .str = "libluo.manifest"),
	ROW(luo_session_retrieve, "name_reserved_existing_token_session",
	    -EINVAL, c_retrieve, .fx = FX_UPDATED,
	    .str = "libluo.tok.0000000000000007"),
	ROW(luo_session_retrieve, "name_unknown", -ENOENT, c_retrieve, CTX,
	    .str = "bad.nobody"),
	ROW(luo_session_retrieve, "name_non_ascii_unknown", -ENOENT, c_retrieve,
	    CTX, .str = "bad.\xff\xfe\xc3\xa9"),
	ROW(luo_session_retrieve, "name_of_an_outgoing_session", -ENOENT,
	    c_retrieve, CTX, .str = "bad.out"),
	ROW(luo_session_retrieve, "retrieved_already", -EINVAL, c_retrieve,
	    .fx = FX_IN, .str = "bad.in"),
	ROW(luo_session_retrieve, "rfc_context", -EOPNOTSUPP, c_retrieve, CTX,
	    RFC, .str = "bad.in"),
	ROW(luo_session_retrieve, "context_without_device", -ENODEV, c_retrieve,
	    .fx = FX_NOOPEN, .str = "bad.in"),

	/* ---- sessions: files ---- */
	ROW(luo_session_preserve_fd, "null_session", -EINVAL, c_spf_null,
	    .bad = FD_MEMFD),
	ROW(luo_session_preserve_fd, "incoming_session", -EINVAL, c_spf_in,
	    .fx = FX_IN, .bad = FD_MEMFD),
	/* undocumented: fd_o_path (OPATH_UNDOC), fd_linked_tmpfs_file
	 * (TMPFS_UNDOC) */
	FD_ROWS(luo_session_preserve_fd, c_spf, FX_CTX, LUO_ABI_MAINLINE,
		-EINVAL, -EBADF, -EBADF, -ENOENT, -ENOENT, -ENOENT, -ENOENT,
		-ENOENT, -ENOENT, OPATH_UNDOC, TMPFS_UNDOC),
	ROW(luo_session_preserve_fd, "fd_session_descriptor", -ENOENT, c_spf,
	    CTX, .bad = FD_SESSION, TOK(TOKEN_NEW)),
	ROW(luo_session_preserve_fd, "token_in_use", -EEXIST, c_spf, CTX,
	    .bad = FD_MEMFD, TOK(2)),
	ROW(luo_session_preserve_fd, "file_preserved_already", -EBUSY, c_spf,
	    CTX, .bad = FD_OUT_FILE, TOK(TOKEN_NEW)),
	ROW(luo_session_preserve_fd, "file_preserved_by_the_original_api",
	    -EBUSY, c_spf, CTX, .bad = FD_ORIG_FILE, TOK(TOKEN_NEW)),
	ROW(luo_session_preserve_fd, "file_retrieved_not_finished", -EBUSY,
	    c_spf, .fx = FX_IN, .bad = FD_RETRIEVED, TOK(TOKEN_NEW)),
	ROW(luo_session_preserve_fd, "token_0_is_valid", 0, c_spf_valid, CTX,
	    .bad = FD_MEMFD, TOK(0), .flags = R_CHANGES),
	ROW(luo_session_preserve_fd, "token_reserved_min_minus_1_is_valid", 0,
	    c_spf_valid, CTX, .bad = FD_MEMFD, TOK(TOKEN_TOP),
	    .flags = R_CHANGES),
	ROW(luo_session_preserve_fd, "token_reserved_min", -EINVAL, c_spf,
	    CTX, .bad = FD_MEMFD, TOK(LUO_TOKEN_RESERVED_MIN)),
	ROW(luo_session_preserve_fd, "token_reserved_min_plus_1", -EINVAL,
	    c_spf, CTX, .bad = FD_MEMFD, TOK(LUO_TOKEN_RESERVED_MIN + 1)),
	ROW(luo_session_preserve_fd, "token_uint64_max", -EINVAL, c_spf, CTX,
	    .bad = FD_MEMFD, TOK(UINT64_MAX)),
	/* before its first preserve a session has no record yet: a refused
	 * reserved token makes none */
	ROW(luo_session_preserve_fd, "token_reserved_min_no_record_yet",
	    -EINVAL, c_spf_spare, CTX, .bad = FD_MEMFD,
	    TOK(LUO_TOKEN_RESERVED_MIN)),
	ROW(luo_session_retrieve_fd, "null_session", -EINVAL,
	    c_srf_null_session),
	ROW(luo_session_retrieve_fd, "null_fd", -EINVAL, c_srf_null_fd,
	    .fx = FX_IN),
	ROW(luo_session_retrieve_fd, "outgoing_session", -EINVAL, c_srf_out,
	    CTX),
	ROW(luo_session_retrieve_fd, "unknown_token", -ENOENT, c_srf,
	    .fx = FX_IN, TOK(TOKEN_NEW)),
	ROW(luo_session_retrieve_fd, "finished_session", -ENOENT, c_srf,
	    .fx = FX_IN, TOK(2), .prep = prep_finish_in),
	ROW(luo_session_retrieve_fd, "token_0_is_valid", 0, c_srf, .fx = FX_IN,
	    TOK(0), .flags = R_CHANGES),
	ROW(luo_session_retrieve_fd, "token_reserved_min_minus_1_is_valid", 0,
	    c_srf, .fx = FX_IN, TOK(TOKEN_TOP), .flags = R_CHANGES),
	/* bad.in holds its record at LUO_TOKEN_RESERVED_MIN: libluo's */
	ROW(luo_session_retrieve_fd, "token_reserved_min", -EINVAL, c_srf,
	    .fx = FX_IN, TOK(LUO_TOKEN_RESERVED_MIN)),
	ROW(luo_session_retrieve_fd, "token_uint64_max", -EINVAL, c_srf,
	    .fx = FX_IN, TOK(UINT64_MAX)),
	ROW(luo_session_finish, "null_session", -EINVAL, c_sfinish_null),
	ROW(luo_session_finish, "outgoing_session", -EINVAL, c_sfinish_out,
	    CTX),
	ROW(luo_session_finish, "finished_already_is_valid", 0, c_sfinish_in,
	    .fx = FX_IN, .prep = prep_finish_in),
	ROW(luo_session_get_name, "null_session", -EINVAL,
	    c_get_name_null_session),
	ROW(luo_session_get_name, "null_name", -EINVAL, c_get_name_null, CTX),
	ROW(luo_session_get_direction, "null_session", -EINVAL,
	    c_get_dir_null_session),
	ROW(luo_session_get_direction, "null_dir", -EINVAL, c_get_dir_null,
	    CTX),
	ROW(luo_session_get_fd, "null_session", -EINVAL, c_get_fd_null),
	ROW(luo_session_close, "null_is_a_noop", 0, c_close_null),
	ROW(luo_session_close, "flags_2", -EINVAL, c_close_out, CTX, ARG(2)),
	ROW(luo_session_close, "flags_force_and_2", -EINVAL, c_close_out, CTX,
	    ARG(3)),
	ROW(luo_session_close, "flags_0x80000000", -EINVAL, c_close_out, CTX,
	    ARG(0x80000000u)),
	ROW(luo_session_close, "flags_uint_max", -EINVAL, c_close_out, CTX,
	    ARG(UINT_MAX)),
	ROW(luo_session_close, "outgoing_with_files", -EBUSY, c_close_out, CTX),
	ROW(luo_session_close, "incoming_not_finished", -EBUSY, c_close_in,
	    .fx = FX_IN),
	ROW(luo_session_close, "handle_of_the_previous_boot_is_valid", 0,
	    c_close_old, .fx = FX_IN, .flags = R_CHANGES),
	ROW(luo_session_close, "adopted_outgoing", -EBUSY, c_close_adopted, CTX,
	    .prep = prep_adopted),
	ROW(luo_session_token_lookup, "null_session", -EINVAL,
	    c_stl_null_session),
	ROW(luo_session_token_lookup, "null_state", -EINVAL, c_stl_null, CTX),
	ROW(luo_session_token_lookup, "unknown_token", -ENOENT, c_stl, CTX,
	    TOK(TOKEN_NEW)),
	ROW(luo_session_token_lookup, "token_0_unknown", -ENOENT, c_stl, CTX,
	    TOK(0)),
	ROW(luo_session_token_lookup, "token_uint64_max_unknown", -ENOENT,
	    c_stl, CTX, TOK(UINT64_MAX)),
	ROW(luo_session_token_lookup, "token_of_the_original_api", -ENOENT,
	    c_stl, CTX, TOK(1)),
	ROW(luo_session_token_count, "null_session", -EINVAL, c_stc_null),
	ROW(luo_session_token_foreach, "null_session", -EINVAL,
	    c_stf_null_session),
	ROW(luo_session_token_foreach, "null_fn", -EINVAL, c_stf_null_fn, CTX),

	/* ---- sessions: adopt, send ---- */
	ROW(luo_session_adopt_fd, "null_ctx", -EINVAL, c_adopt_null_ctx, CTX,
	    .bad = FD_SESSION),
	ROW(luo_session_adopt_fd, "null_ret", -EINVAL, c_adopt_null_ret, CTX,
	    .bad = FD_SESSION),
	FD_ROWS(luo_session_adopt_fd, c_adopt, FX_CTX, LUO_ABI_MAINLINE,
		-EINVAL, -EBADF, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL,
		-EINVAL, -EINVAL, NULL, NULL),
	ROW(luo_session_adopt_fd, "fd_of_a_session_handle", -EBUSY, c_adopt,
	    CTX, .bad = FD_LENT),
	ROW(luo_session_adopt_fd, "fd_memfd", -EINVAL, c_adopt, CTX,
	    .bad = FD_MEMFD),
	ROW(luo_session_adopt_fd, "fd_session_of_another_kernel", -EINVAL,
	    c_adopt, CTX, .bad = FD_FOREIGN),
	ROW(luo_session_adopt_fd, "fd_session_of_the_previous_boot", -EINVAL,
	    c_adopt, .fx = FX_IN, .bad = FD_DEAD),
	ROW(luo_session_adopt_fd, "rfc_context", -EOPNOTSUPP, c_adopt, CTX, RFC,
	    .bad = FD_MEMFD),
	ROW(luo_session_send, "null_session", -EINVAL, c_send_null,
	    .bad = FD_SOCKET),
	ROW(luo_session_send, "sock_negative", -EINVAL, c_send, CTX,
	    .bad = FD_NEG),
	ROW(luo_session_send, "sock_int_min", -EINVAL, c_send, CTX,
	    .bad = FD_NEG_MIN),
	ROW(luo_session_send, "sock_closed", -EBADF, c_send, CTX,
	    .bad = FD_CLOSED),
	ROW(luo_session_send, "sock_o_path", -EBADF, c_send, CTX,
	    .bad = FD_OPATH),
	ROW(luo_session_send, "sock_pipe", -ENOTSOCK, c_send, CTX,
	    .bad = FD_PIPE),
	ROW(luo_session_send, "sock_directory", -ENOTSOCK, c_send, CTX,
	    .bad = FD_DIR),
	ROW(luo_session_send, "sock_hugetlb_memfd", -ENOTSOCK, c_send, CTX,
	    .bad = FD_HUGETLB),
	ROW(luo_session_send, "sock_regular_file", -ENOTSOCK, c_send, CTX,
	    .bad = FD_REGULAR),
	ROW(luo_session_send, "sock_linked_tmpfs_file", -ENOTSOCK, c_send, CTX,
	    .bad = FD_TMPFS),
	ROW(luo_session_send, "sock_memfd", -ENOTSOCK, c_send, CTX,
	    .bad = FD_MEMFD),
	ROW(luo_session_send, "sock_not_connected", -ENOTCONN, c_send, CTX,
	    .bad = FD_UNCONNECTED),
	ROW(luo_session_send, "sock_datagram_not_connected", -ENOTCONN, c_send,
	    CTX, .bad = FD_UNCONN_DGRAM),
	ROW(luo_session_send, "sock_peer_closed", -EPIPE, c_send, CTX,
	    .bad = FD_PEER_CLOSED),
	ROW(luo_session_send, "sock_full_non_blocking", -EAGAIN, c_send, CTX,
	    .bad = FD_FULL),
	/* undocumented: a socket of another family than AF_UNIX */
	ROW(luo_session_send, "sock_udp_cannot_carry_descriptors",
	    -EAFNOSUPPORT, c_send, CTX, .bad = FD_INET,
	    UNDOC("Linux drops SCM_RIGHTS on a socket that is not AF_UNIX "
		  "and sendmsg() succeeds: nothing is in flight, yet the "
		  "session would count as sent; a socket of another family "
		  "cannot carry it")),

	/* ---- sessions: recv ---- */
	ROW(luo_session_recv, "null_ctx", -EINVAL, c_recv_null_ctx, CTX,
	    .msg = M_VALID),
	ROW(luo_session_recv, "null_ret", -EINVAL, c_recv_null_ret, CTX,
	    .msg = M_VALID),
	ROW(luo_session_recv, "sock_negative", -EINVAL, c_recv_sock, CTX,
	    .bad = FD_NEG),
	ROW(luo_session_recv, "sock_int_min", -EINVAL, c_recv_sock, CTX,
	    .bad = FD_NEG_MIN),
	ROW(luo_session_recv, "sock_closed", -EBADF, c_recv_sock, CTX,
	    .bad = FD_CLOSED),
	ROW(luo_session_recv, "sock_o_path", -EBADF, c_recv_sock, CTX,
	    .bad = FD_OPATH),
	ROW(luo_session_recv, "sock_pipe", -ENOTSOCK, c_recv_sock, CTX,
	    .bad = FD_PIPE),
	ROW(luo_session_recv, "sock_directory", -ENOTSOCK, c_recv_sock, CTX,
	    .bad = FD_DIR),
	ROW(luo_session_recv, "sock_hugetlb_memfd", -ENOTSOCK, c_recv_sock, CTX,
	    .bad = FD_HUGETLB),
	ROW(luo_session_recv, "sock_regular_file", -ENOTSOCK, c_recv_sock, CTX,
	    .bad = FD_REGULAR),
	ROW(luo_session_recv, "sock_linked_tmpfs_file", -ENOTSOCK, c_recv_sock,
	    CTX, .bad = FD_TMPFS),
	ROW(luo_session_recv, "sock_not_connected", -ENOTCONN, c_recv_sock, CTX,
	    .bad = FD_UNCONNECTED),
	ROW(luo_session_recv, "sock_empty_non_blocking", -EAGAIN, c_recv_sock,
	    CTX, .bad = FD_EMPTY),
	ROW(luo_session_recv, "sock_peer_closed", -ECONNRESET, c_recv_sock, CTX,
	    .bad = FD_PEER_CLOSED),
	ROW(luo_session_recv, "rfc_context", -EOPNOTSUPP, c_recv, CTX, RFC,
	    .msg = M_JUNK),
	ROW(luo_session_recv, "msg_wrong_magic", -EBADMSG, c_recv, CTX,
	    .msg = M_MAGIC),
	ROW(luo_session_recv, "msg_wrong_magic_seqpacket", -EBADMSG, c_recv,
	    CTX, .msg = M_MAGIC, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_wrong_magic_datagram", -EBADMSG, c_recv, CTX,
	    .msg = M_MAGIC, .socktype = SOCK_DGRAM),
	ROW(luo_session_recv, "msg_wrong_version", -EBADMSG, c_recv, CTX,
	    .msg = M_VERSION),
	ROW(luo_session_recv, "msg_wrong_version_seqpacket", -EBADMSG, c_recv,
	    CTX, .msg = M_VERSION, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_short", -EBADMSG, c_recv, CTX,
	    .msg = M_SHORT),
	ROW(luo_session_recv, "msg_short_seqpacket", -EBADMSG, c_recv, CTX,
	    .msg = M_SHORT, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_long_seqpacket", -EBADMSG, c_recv, CTX,
	    .msg = M_LONG, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_long_datagram", -EBADMSG, c_recv, CTX,
	    .msg = M_LONG, .socktype = SOCK_DGRAM),
	ROW(luo_session_recv, "msg_zero_bytes_with_fd_seqpacket", -EBADMSG,
	    c_recv, CTX, .msg = M_ZERO, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_zero_bytes_with_fd_datagram", -EBADMSG,
	    c_recv, CTX, .msg = M_ZERO, .socktype = SOCK_DGRAM),
	/* undocumented: an empty datagram (not the end of a stream) */
	ROW(luo_session_recv, "msg_zero_bytes_without_fd_datagram", -EBADMSG,
	    c_recv, CTX, .msg = M_ZERO_NOFD, .socktype = SOCK_DGRAM,
	    UNDOC("a datagram socket has no end of stream: an empty "
		  "datagram is a message that is not a session")),
	ROW(luo_session_recv, "msg_without_fd", -EBADMSG, c_recv, CTX,
	    .msg = M_NO_FD),
	ROW(luo_session_recv, "msg_without_fd_seqpacket", -EBADMSG, c_recv, CTX,
	    .msg = M_NO_FD, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_two_fds", -EBADMSG, c_recv, CTX,
	    .msg = M_TWO_FDS),
	ROW(luo_session_recv, "msg_two_fds_seqpacket", -EBADMSG, c_recv, CTX,
	    .msg = M_TWO_FDS, .socktype = SOCK_SEQPACKET),
	ROW(luo_session_recv, "msg_two_scm_rights", -EBADMSG, c_recv, CTX,
	    .msg = M_TWO_CMSGS),
	ROW(luo_session_recv, "msg_nine_fds", -EBADMSG, c_recv, CTX,
	    .msg = M_NINE_FDS),
	ROW(luo_session_recv, "msg_fd_memfd", -EINVAL, c_recv, CTX,
	    .msg = M_MEMFD),
	ROW(luo_session_recv, "msg_fd_pipe", -EINVAL, c_recv, CTX,
	    .msg = M_PIPE),
	ROW(luo_session_recv, "msg_fd_session_of_another_kernel", -EINVAL,
	    c_recv, CTX, .msg = M_FOREIGN),
	ROW(luo_session_recv, "msg_fd_session_of_the_previous_boot", -EINVAL,
	    c_recv, .fx = FX_IN, .msg = M_DEAD),
	ROW(luo_session_recv, "msg_direction_3", -EBADMSG, c_recv, CTX,
	    .msg = M_DIRECTION),
	ROW(luo_session_recv, "msg_name_without_nul", -EBADMSG, c_recv, CTX,
	    .msg = M_NAME),
	ROW(luo_session_recv, "msg_valid_datagram_is_valid", 0, c_recv_valid,
	    CTX, .msg = M_VALID, .socktype = SOCK_DGRAM),
	ROW(luo_session_recv, "msg_of_libluo_1_0_is_valid", 0, c_recv_valid,
	    CTX, .msg = M_V1),

	/* ---- everything after luo_ctx_close_device() ---- */
	ROW(luo_session_create, "device_closed", -ENODEV, c_create,
	    .fx = FX_NODEV, .str = "bad.x"),
	ROW(luo_session_retrieve, "device_closed", -ENODEV, c_retrieve,
	    .fx = FX_NODEV, .str = "bad.in"),
	ROW(luo_get_state, "device_closed", -ENODEV, c_get_state,
	    .fx = FX_NODEV),
	ROW(luo_get_state, "device_closed", -ENODEV, c_get_state,
	    .fx = FX_NODEV, RFC),
	ROW(luo_fd_preserve, "device_closed", -ENODEV, c_fd_preserve,
	    .fx = FX_NODEV, .bad = FD_MEMFD, TOK(TOKEN_NEW)),
	ROW(luo_fd_preserve, "device_closed", -ENODEV, c_fd_preserve,
	    .fx = FX_NODEV, RFC, .bad = FD_MEMFD, TOK(TOKEN_NEW)),
	ROW(luo_fd_unpreserve, "device_closed", -ENODEV, c_fd_unpreserve,
	    .fx = FX_NODEV, TOK(1)),
	ROW(luo_fd_unpreserve, "device_closed", -ENODEV, c_fd_unpreserve,
	    .fx = FX_NODEV, RFC, TOK(1)),
	ROW(luo_fd_restore, "device_closed", -ENODEV, c_fd_restore,
	    .fx = FX_NODEV, TOK(1)),
	ROW(luo_fd_restore, "device_closed", -ENODEV, c_fd_restore,
	    .fx = FX_NODEV, RFC, TOK(1)),
	ROW(luo_prepare, "device_closed", -ENODEV, c_prepare, .fx = FX_NODEV),
	ROW(luo_prepare, "device_closed", -ENODEV, c_prepare, .fx = FX_NODEV,
	    RFC),
	ROW(luo_cancel, "device_closed", -ENODEV, c_cancel, .fx = FX_NODEV),
	ROW(luo_cancel, "device_closed", -ENODEV, c_cancel, .fx = FX_NODEV,
	    RFC),
	ROW(luo_finish, "device_closed", -ENODEV, c_finish, .fx = FX_NODEV),
	ROW(luo_finish, "device_closed", -ENODEV, c_finish, .fx = FX_NODEV,
	    RFC),
	ROW(luo_token_lookup, "device_closed_still_works", 0, c_token_lookup,
	    .fx = FX_NODEV, TOK(1)),
	ROW(luo_token_lookup, "device_closed_still_works", 0, c_token_lookup,
	    .fx = FX_NODEV, RFC, TOK(1)),
	ROW(luo_token_count, "device_closed_still_works", 1, c_token_count,
	    .fx = FX_NODEV),
	ROW(luo_token_count, "device_closed_still_works", 1, c_token_count,
	    .fx = FX_NODEV, RFC),
	ROW(luo_token_foreach, "device_closed_still_works", 0, c_token_foreach,
	    .fx = FX_NODEV),
	ROW(luo_token_foreach, "device_closed_still_works", 0, c_token_foreach,
	    .fx = FX_NODEV, RFC),
	ROW(luo_ctx_get_abi, "device_closed_still_works", 0, c_get_abi,
	    .fx = FX_NODEV),
	ROW(luo_ctx_get_abi, "device_closed_still_works", 0, c_get_abi,
	    .fx = FX_NODEV, RFC),
	ROW(luo_ctx_set_log, "device_closed_still_works", 0, c_set_log,
	    .fx = FX_NODEV, ARG(LOG_ERR)),
	ROW(luo_ctx_ref, "device_closed_still_works", 0, c_ref_unref,
	    .fx = FX_NODEV),
	ROW(luo_session_preserve_fd, "device_closed_still_works", 0,
	    c_spf_valid, .fx = FX_NODEV, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .flags = R_CHANGES),
	ROW(luo_session_token_lookup, "device_closed_still_works", 0, c_stl,
	    .fx = FX_NODEV, TOK(2)),
	ROW(luo_session_token_count, "device_closed_still_works", 1, c_stc,
	    .fx = FX_NODEV),
	ROW(luo_session_token_foreach, "device_closed_still_works", 0, c_stf,
	    .fx = FX_NODEV),
	ROW(luo_session_get_name, "device_closed_still_works", 0, c_get_name,
	    .fx = FX_NODEV),
	ROW(luo_session_get_direction, "device_closed_still_works", 0,
	    c_get_dir, .fx = FX_NODEV),
	ROW(luo_session_get_fd, "device_closed_still_works", 0, c_get_fd,
	    .fx = FX_NODEV),
	ROW(luo_session_send, "device_closed_still_works", 0, c_send_spare,
	    .fx = FX_NODEV, .bad = FD_SOCKET, .flags = R_CHANGES),
	ROW(luo_session_recv, "device_closed_still_works", 0, c_recv_valid,
	    .fx = FX_NODEV, .prep = prep_sent_spare),
	ROW(luo_session_adopt_fd, "device_closed_still_works", 0, c_adopt_valid,
	    .fx = FX_NODEV, .bad = FD_SESSION),
	ROW(luo_session_close, "device_closed_still_works", 0, c_close_spare,
	    .fx = FX_NODEV, .flags = R_CHANGES),
	ROW(luo_session_retrieve_fd, "device_closed_still_works", 0, c_srf,
	    .fx = FX_NODEV_IN, TOK(2), .flags = R_CHANGES),
	ROW(luo_session_finish, "device_closed_still_works", 0, c_sfinish_in,
	    .fx = FX_NODEV_IN, .flags = R_CHANGES),

	/* ---- labels ----
	 * Not reachable from here: -ENOSPC for a record of 256 segments
	 * (the 256th would be 64 MiB) and -ENOMEM of libluo's own
	 * (tests/fault's allocation failures reach it). */
	ROW(luo_session_preserve_fd_labeled, "null_session", -EINVAL,
	    c_spfl_null, .bad = FD_MEMFD),
	ROW(luo_session_preserve_fd_labeled, "incoming_session", -EINVAL,
	    c_spfl_in, .fx = FX_IN, .bad = FD_MEMFD),
	ROW(luo_session_preserve_fd_labeled, "fd_negative", -EINVAL, c_spfl,
	    CTX, .bad = FD_NEG, TOK(TOKEN_NEW), .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "token_reserved_min", -EINVAL,
	    c_spfl, CTX, .bad = FD_MEMFD, TOK(LUO_TOKEN_RESERVED_MIN),
	    .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "token_uint64_max", -EINVAL,
	    c_spfl, CTX, .bad = FD_MEMFD, TOK(UINT64_MAX), .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "label_empty", -EINVAL, c_spfl,
	    CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW), .str = ""),
	ROW(luo_session_preserve_fd_labeled, "label_256_bytes", -EINVAL,
	    c_spfl, CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .prep = prep_label_256),
	ROW(luo_session_preserve_fd_labeled, "token_in_use", -EEXIST, c_spfl,
	    CTX, .bad = FD_MEMFD, TOK(2), .str = "bad.other"),
	ROW(luo_session_preserve_fd_labeled, "label_in_use", -EEXIST, c_spfl,
	    CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW), .str = "bad.two"),
	ROW(luo_session_preserve_fd_labeled, "session_full", -ENOSPC, c_spfl,
	    CTX, FAKE, .bad = FD_MEMFD, TOK(TOKEN_NEW), .str = "bad.new",
	    .prep = prep_out_full),
	ROW(luo_session_preserve_fd_labeled, "kernel_out_of_memory", -ENOMEM,
	    c_spfl, CTX, FAKE, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .str = "bad.new", .prep = prep_kernel_enomem),
	ROW(luo_session_preserve_fd_labeled, "context_keeps_no_record",
	    -EOPNOTSUPP, c_spfl_no_record, CTX, .bad = FD_MEMFD,
	    .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled, "no_descriptor_for_the_record",
	    -EMFILE, c_spfl_spare_no_fd, CTX, .bad = FD_MEMFD),
	ROW(luo_session_preserve_fd_labeled, "fd_closed", -EBADF, c_spfl, CTX,
	    .bad = FD_CLOSED, TOK(TOKEN_NEW), .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "fd_pipe", -ENOENT, c_spfl, CTX,
	    .bad = FD_PIPE, TOK(TOKEN_NEW), .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "file_preserved_already", -EBUSY,
	    c_spfl, CTX, .bad = FD_OUT_FILE, TOK(TOKEN_NEW), .str = "bad.new"),
	ROW(luo_session_preserve_fd_labeled, "label_is_valid", 0, c_spfl_valid,
	    CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW), .str = "bad.new",
	    .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled, "label_255_bytes_is_valid", 0,
	    c_spfl_valid, CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .prep = prep_label_255, .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled, "label_non_ascii_is_valid", 0,
	    c_spfl_valid, CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .str = "bad.\xc3\xa9t\xc3\xa9\xff", .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled, "label_null_is_valid", 0,
	    c_spfl_valid, CTX, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled,
	    "token_reserved_min_minus_1_is_valid", 0, c_spfl_valid, CTX,
	    .bad = FD_MEMFD, TOK(TOKEN_TOP), .str = "bad.top",
	    .flags = R_CHANGES),
	ROW(luo_session_preserve_fd_labeled, "device_closed_still_works", 0,
	    c_spfl_valid, .fx = FX_NODEV, .bad = FD_MEMFD, TOK(TOKEN_NEW),
	    .str = "bad.new", .flags = R_CHANGES),
	ROW(luo_session_token_get_label, "null_session", -EINVAL,
	    c_gl_null_session),
	ROW(luo_session_token_get_label, "null_label", -EINVAL,
	    c_gl_null_label, CTX),
	ROW(luo_session_token_get_label, "unknown_token", -ENOENT, c_gl_out,
	    CTX, TOK(TOKEN_NEW)),
	ROW(luo_session_token_get_label, "token_of_another_session", -ENOENT,
	    c_gl_spare, CTX, TOK(2)),
	ROW(luo_session_token_get_label, "incoming_token_without_label",
	    -ENOENT, c_gl_in, .fx = FX_IN, TOK(TOKEN_TOP)),
	ROW(luo_session_token_get_label, "incoming_token_of_the_record",
	    -ENOENT, c_gl_in, .fx = FX_IN, TOK(LUO_TOKEN_RESERVED_MIN)),
	ROW(luo_session_token_get_label, "outgoing_is_valid", 0, c_gl_out, CTX,
	    TOK(2), .str = "bad.two"),
	ROW(luo_session_token_get_label, "incoming_before_retrieve_is_valid", 0,
	    c_gl_in, .fx = FX_IN, TOK(2), .str = "in.two"),
	ROW(luo_session_token_get_label, "device_closed_still_works", 0,
	    c_gl_out, .fx = FX_NODEV, TOK(2), .str = "bad.two"),
	ROW(luo_session_retrieve_fd_by_label, "null_session", -EINVAL,
	    c_rbl_null_session),
	ROW(luo_session_retrieve_fd_by_label, "null_label", -EINVAL,
	    c_rbl_null_label, .fx = FX_IN),
	ROW(luo_session_retrieve_fd_by_label, "null_fd", -EINVAL,
	    c_rbl_null_fd, .fx = FX_IN),
	ROW(luo_session_retrieve_fd_by_label, "outgoing_session", -EINVAL,
	    c_rbl_out, CTX),
	ROW(luo_session_retrieve_fd_by_label, "label_empty", -EINVAL, c_rbl,
	    .fx = FX_IN, .str = ""),
	ROW(luo_session_retrieve_fd_by_label, "label_256_bytes", -EINVAL,
	    c_rbl, .fx = FX_IN, .prep = prep_label_256),
	ROW(luo_session_retrieve_fd_by_label, "label_unknown", -ENOENT, c_rbl,
	    .fx = FX_IN, .str = "in.nothing"),
	ROW(luo_session_retrieve_fd_by_label, "label_of_another_session",
	    -ENOENT, c_rbl, .fx = FX_IN, .str = "norec.five"),
	ROW(luo_session_retrieve_fd_by_label, "session_without_a_record",
	    -ENOENT, c_rbl_norec, .fx = FX_IN, .prep = prep_norec),
	ROW(luo_session_retrieve_fd_by_label, "finished_session", -ENOENT,
	    c_rbl, .fx = FX_IN, TOK(2), .str = "in.two",
	    .prep = prep_finish_in),
	ROW(luo_session_retrieve_fd_by_label, "no_descriptor_left", -EMFILE,
	    c_rbl_no_fd_left, .fx = FX_IN, TOK(2), .str = "in.two"),
	ROW(luo_session_retrieve_fd_by_label, "label_is_valid", 0, c_rbl,
	    .fx = FX_IN, TOK(2), .str = "in.two", .flags = R_CHANGES),
	ROW(luo_session_retrieve_fd_by_label, "token_0_is_valid", 0, c_rbl,
	    .fx = FX_IN, TOK(0), .str = "in.zero", .flags = R_CHANGES),
	ROW(luo_session_retrieve_fd_by_label, "null_token_is_valid", 0,
	    c_rbl_null_token, .fx = FX_IN, TOK(2), .str = "in.two",
	    .flags = R_CHANGES),
	ROW(luo_session_retrieve_fd_by_label, "device_closed_still_works", 0,
	    c_rbl, .fx = FX_NODEV_IN, TOK(2), .str = "in.two",
	    .flags = R_CHANGES),

	/* ---- the index ----
	 * Not reachable from here: -EBADMSG and -EPROTONOSUPPORT (an index
	 * record damaged or newer: its segments are sealed, and the index
	 * session's name is reserved; tests/unit/record.c parses such
	 * bytes) and -ENOMEM. */
	ROW(luo_ctx_foreach_incoming_session, "null_ctx", -EINVAL,
	    c_fis_null_ctx),
	ROW(luo_ctx_foreach_incoming_session, "null_fn", -EINVAL,
	    c_fis_null_fn, CTX),
	ROW(luo_ctx_foreach_incoming_session, "context_without_device",
	    -ENODEV, c_fis, .fx = FX_NOOPEN),
	ROW(luo_ctx_foreach_incoming_session, "device_closed", -ENODEV, c_fis,
	    .fx = FX_NODEV_IN),
	ROW(luo_ctx_foreach_incoming_session, "rfc_context", -EOPNOTSUPP,
	    c_fis, CTX, RFC),
	ROW(luo_ctx_foreach_incoming_session, "index_held_by_another_context",
	    -EBUSY, c_fis_ctx2, .fx = FX_IN, .prep = prep_index_taken),
	ROW(luo_ctx_foreach_incoming_session, "kernel_error_of_retrieve_session",
	    -EIO, c_fis, .fx = FX_IN, .prep = prep_inject_retrieve_session),
	ROW(luo_ctx_foreach_incoming_session, "no_descriptor_left", -EMFILE,
	    c_fis_no_fd_left, .fx = FX_IN),
	/* the fake's boot 0 (a real kernel may have a previous boot) */
	ROW(luo_ctx_foreach_incoming_session, "no_previous_boot_is_valid", 0,
	    c_fis_valid, CTX, FAKE),
	ROW(luo_ctx_foreach_incoming_session, "previous_boot_is_valid", 0,
	    c_fis_valid, .fx = FX_IN, .flags = R_CHANGES),
	ROW(luo_ctx_foreach_incoming_session, "callback_value_stops", 7,
	    c_fis_valid, .fx = FX_IN, ARG(7), .flags = R_CHANGES),

	/* ---- the service manager's descriptor store ---- */
	ROW(luo_session_from_fdstore, "null_ctx", -EINVAL, c_fds_null_ctx, CTX,
	    .prep = prep_store_out),
	ROW(luo_session_from_fdstore, "null_name", -EINVAL, c_fds, CTX,
	    .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "null_ret", -EINVAL, c_fds_null_ret, CTX,
	    .prep = prep_store_out),
	ROW(luo_session_from_fdstore, "name_empty", -EINVAL, c_fds, CTX,
	    .str = "", .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "name_256_bytes", -EINVAL, c_fds, CTX,
	    .prep = prep_store_name_256),
	ROW(luo_session_from_fdstore, "name_with_colon", -EINVAL, c_fds, CTX,
	    .str = "bad:store", .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "name_with_newline", -EINVAL, c_fds, CTX,
	    .str = "bad.store\n", .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "name_non_ascii", -EINVAL, c_fds, CTX,
	    .str = "bad.st\xc3\xb6re", .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "listen_pid_unset", -ENXIO, c_fds, CTX,
	    .str = "bad.store", .prep = prep_store_no_pid),
	ROW(luo_session_from_fdstore, "listen_pid_of_another_process", -ENXIO,
	    c_fds, CTX, .str = "bad.store", .prep = prep_store_other_pid),
	ROW(luo_session_from_fdstore, "listen_fds_unset", -ENXIO, c_fds, CTX,
	    .str = "bad.store", .prep = prep_store_no_fds),
	ROW(luo_session_from_fdstore, "listen_fdnames_unset", -ENXIO, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_no_names),
	ROW(luo_session_from_fdstore, "listen_fds_0", -ENXIO, c_fds, CTX,
	    .str = "bad.store", .prep = prep_store_zero_fds),
	ROW(luo_session_from_fdstore, "listen_fds_not_a_number", -ENXIO, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_fds_junk),
	ROW(luo_session_from_fdstore, "more_names_than_fds", -ENXIO, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_names_past_fds),
	ROW(luo_session_from_fdstore, "name_unknown", -ENOENT, c_fds, CTX,
	    .str = "bad.nobody", .prep = prep_store_out_name),
	ROW(luo_session_from_fdstore, "not_a_session", -EMEDIUMTYPE, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_memfd),
	ROW(luo_session_from_fdstore, "descriptor_not_open", -EBADF, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_closed),
	ROW(luo_session_from_fdstore, "its_handle_was_closed", -EBADF, c_fds,
	    CTX, .str = "bad.store", .prep = prep_store_closed_by_handle),
	ROW(luo_session_from_fdstore, "owned_by_a_handle", -EBUSY, c_fds, CTX,
	    .str = "bad.store", .prep = prep_store_taken),
	ROW(luo_session_from_fdstore, "rfc_context", -EOPNOTSUPP, c_fds, CTX,
	    RFC, .str = "bad.store", .prep = prep_store_rfc),
	ROW(luo_session_from_fdstore, "kernel_error_reading_the_record", -EIO,
	    c_fds, .fx = FX_IN, .str = "bad.store", .prep = prep_store_in_eio),
	ROW(luo_session_from_fdstore, "outgoing_is_valid", 0, c_fds_valid, CTX,
	    .str = "bad.store", .prep = prep_store_out, .flags = R_CHANGES),
	ROW(luo_session_from_fdstore, "context_without_device_is_valid", 0,
	    c_fds_valid_nodev, CTX, .str = "bad.store", .prep = prep_store_out,
	    .flags = R_CHANGES),
	ROW(luo_session_from_fdstore, "incoming_reads_the_record", 0,
	    c_fds_valid, .fx = FX_IN, .str = "bad.store",
	    .prep = prep_store_in, .flags = R_CHANGES),
	ROW(luo_session_fdstore_push, "null_session", -EINVAL, c_push_null,
	    .prep = prep_notify_path),
	ROW(luo_session_fdstore_push, "null_name", -EINVAL, c_push, CTX,
	    .prep = prep_notify_name),
	ROW(luo_session_fdstore_push, "name_empty", -EINVAL, c_push, CTX,
	    .str = "", .prep = prep_notify_name),
	ROW(luo_session_fdstore_push, "name_256_bytes", -EINVAL, c_push, CTX,
	    .prep = prep_notify_name_256),
	ROW(luo_session_fdstore_push, "name_with_colon", -EINVAL, c_push, CTX,
	    .str = "bad:pushed", .prep = prep_notify_name),
	ROW(luo_session_fdstore_push, "name_with_newline", -EINVAL, c_push,
	    CTX, .str = "bad\nFDSTORE=0", .prep = prep_notify_name),
	ROW(luo_session_fdstore_push, "notify_socket_unset", -ENXIO, c_push,
	    CTX, .prep = prep_notify_unset),
	ROW(luo_session_fdstore_push, "notify_socket_empty", -ENXIO, c_push,
	    CTX, .prep = prep_notify_empty),
	ROW(luo_session_fdstore_push, "notify_socket_vsock", -EAFNOSUPPORT,
	    c_push, CTX, .prep = prep_notify_vsock),
	ROW(luo_session_fdstore_push, "notify_socket_relative_path",
	    -EAFNOSUPPORT, c_push, CTX, .prep = prep_notify_relative),
	ROW(luo_session_fdstore_push, "notify_socket_nobody_listens",
	    -ECONNREFUSED, c_push, CTX, .prep = prep_notify_nobody),
	ROW(luo_session_fdstore_push, "notify_socket_missing", -ENOENT, c_push,
	    CTX, .prep = prep_notify_missing),
	/* documented as "other: the errors of socket() and sendmsg()" */
	ROW(luo_session_fdstore_push, "notify_socket_of_a_stream", -EPROTOTYPE,
	    c_push, CTX, .prep = prep_notify_stream),
	/* undocumented: a $NOTIFY_SOCKET longer than sun_path */
	ROW(luo_session_fdstore_push, "notify_socket_too_long", -EINVAL,
	    c_push, CTX, .prep = prep_notify_too_long,
	    UNDOC("$NOTIFY_SOCKET longer than a sockaddr_un's sun_path: "
		  "-EINVAL, which the header gives for the name only")),
	ROW(luo_session_fdstore_push, "path_is_valid", 0, c_push_valid, CTX,
	    .prep = prep_notify_path, .flags = R_CHANGES),
	ROW(luo_session_fdstore_push, "abstract_is_valid", 0, c_push_valid,
	    CTX, .prep = prep_notify_abstract, .flags = R_CHANGES),
	ROW(luo_session_fdstore_push, "device_closed_still_works", 0,
	    c_push_valid, .fx = FX_NODEV, .prep = prep_notify_path,
	    .flags = R_CHANGES),

	/* ---- the fake kernel ---- */
	ROW(luo_fake_new, "null_ret", -EINVAL, c_fake_new_null, FAKE),
	ROW(luo_fake_new, "abi_3", -EINVAL, c_fake_new, FAKE, ARG(3)),
	ROW(luo_fake_new, "abi_minus_1", -EINVAL, c_fake_new, FAKE, ARG(-1)),
	ROW(luo_fake_new, "abi_0x100", -EINVAL, c_fake_new, FAKE, ARG(0x100)),
	ROW(luo_fake_new, "abi_int_max", -EINVAL, c_fake_new, FAKE,
	    ARG(INT_MAX)),
	ROW(luo_fake_ref, "null", 0, c_fake_ref_null, FAKE),
	ROW(luo_fake_unref, "null", 0, c_fake_unref_null, FAKE),
	ROW(luo_fake_unrefp, "pointer_to_null", 0, c_fake_unrefp_null, FAKE),
	ROW(luo_fake_kexec, "null", -EINVAL, c_fake_kexec_null, FAKE),
	ROW(luo_fake_inject_error, "null_fake", -EINVAL, c_inject_null, FAKE),
	ROW(luo_fake_inject_error, "op_all", -EINVAL, c_inject_op, CTX, FAKE,
	    ARG(LUO_FAKE_OP_ALL)),
	ROW(luo_fake_inject_error, "op_11", -EINVAL, c_inject_op, CTX, FAKE,
	    ARG(11)),
	ROW(luo_fake_inject_error, "op_minus_1", -EINVAL, c_inject_op, CTX,
	    FAKE, ARG(-1)),
	ROW(luo_fake_inject_error, "op_int_max", -EINVAL, c_inject_op, CTX,
	    FAKE, ARG(INT_MAX)),
	ROW(luo_fake_inject_error, "error_minus_1", -EINVAL, c_inject_error,
	    CTX, FAKE, ARG(-1)),
	ROW(luo_fake_inject_error, "error_4096", -EINVAL, c_inject_error, CTX,
	    FAKE, ARG(4096)),
	ROW(luo_fake_inject_error, "error_int_min", -EINVAL, c_inject_error,
	    CTX, FAKE, ARG(INT_MIN)),
	ROW(luo_fake_inject_error_nth, "null_fake", -EINVAL, c_inject_nth_null,
	    FAKE),
	ROW(luo_fake_inject_error_nth, "op_all", -EINVAL, c_inject_nth_op, CTX,
	    FAKE, ARG(LUO_FAKE_OP_ALL)),
	ROW(luo_fake_inject_error_nth, "op_11", -EINVAL, c_inject_nth_op, CTX,
	    FAKE, ARG(11)),
	ROW(luo_fake_inject_error_nth, "op_minus_1", -EINVAL, c_inject_nth_op,
	    CTX, FAKE, ARG(-1)),
	ROW(luo_fake_inject_error_nth, "error_minus_1", -EINVAL,
	    c_inject_nth_error, CTX, FAKE, ARG(-1)),
	ROW(luo_fake_inject_error_nth, "error_4096", -EINVAL,
	    c_inject_nth_error, CTX, FAKE, ARG(4096)),
	ROW(luo_fake_op_count, "null_fake", -EINVAL, c_op_count_null, FAKE),
	ROW(luo_fake_op_count, "op_11", -EINVAL, c_op_count, FAKE, ARG(11)),
	ROW(luo_fake_op_count, "op_minus_1", -EINVAL, c_op_count, FAKE,
	    ARG(-1)),
	ROW(luo_fake_op_count, "op_int_max", -EINVAL, c_op_count, FAKE,
	    ARG(INT_MAX)),
	ROW(luo_fake_set_limits, "null_fake", -EINVAL, c_limits_null, FAKE),
	ROW(luo_fake_set_latency, "null_fake", -EINVAL, c_latency_null, FAKE),
	ROW(luo_fake_set_latency, "op_11", -EINVAL, c_latency_op, FAKE,
	    ARG(11)),
	ROW(luo_fake_set_latency, "op_minus_1", -EINVAL, c_latency_op, FAKE,
	    ARG(-1)),
	ROW(luo_fake_set_latency, "flags_2", -EINVAL, c_latency_flags, FAKE,
	    ARG(2)),
	ROW(luo_fake_set_latency, "flags_uint_max", -EINVAL, c_latency_flags,
	    FAKE, ARG(UINT_MAX)),
	ROW(luo_fake_get_boot, "null_fake", -EINVAL, c_boot_null, FAKE),
	ROW(luo_fake_foreach_file, "null_fake", -EINVAL,
	    c_foreach_file_null_fake, FAKE),
	ROW(luo_fake_foreach_file, "null_fn", -EINVAL, c_foreach_file_null_fn,
	    FAKE),
	ROW(luo_fake_session_count, "null_fake", -EINVAL, c_session_count_null,
	    FAKE),
	ROW(luo_fake_session_count, "dir_0", -EINVAL, c_session_count, FAKE,
	    ARG(0)),
	ROW(luo_fake_session_count, "dir_3", -EINVAL, c_session_count, FAKE,
	    ARG(3)),
	ROW(luo_fake_session_count, "dir_minus_1", -EINVAL, c_session_count,
	    FAKE, ARG(-1)),
	ROW(luo_fake_file_count, "null_fake", -EINVAL, c_file_count_null, FAKE),
	ROW(luo_fake_get_state, "null_fake", -EINVAL, c_fake_state_null_fake,
	    FAKE),
	ROW(luo_fake_get_state, "null_state", -EINVAL, c_fake_state_null, FAKE),
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- running a row ------------------------------------------------------ */

static struct harness_test tests[NROWS];
static char names[NROWS][128];

static void run_row(void)
{
	const struct row *row = &rows[harness_current() - tests];
	struct snap before;
	struct fx f;
	int r;

	tb_begin(row->abi == LUO_ABI_RFC ? LUO_ABI_RFC : LUO_ABI_MAINLINE);
	if (row->flags & R_FAKE)
		tb_require_fake("the fake kernel's own API");
	if (row->undoc)
		note("undocumented: %s", row->undoc);

	memset(&f, 0, sizeof(f));
	f.row = row;
	f.out_memfd = f.orig_memfd = f.out_fd = f.dead = f.bad = f.sock = -1;
	f.o_session = SENTINEL_PTR;
	f.o_ctx = SENTINEL_PTR;
	f.o_opts = SENTINEL_PTR;
	f.o_fake = SENTINEL_PTR;
	f.o_name = SENTINEL_PTR;
	f.o_fd = SENTINEL_INT;
	f.o_abi = (enum luo_abi)SENTINEL_INT;
	f.o_state = (enum luo_state)SENTINEL_INT;
	f.o_tstate = (enum luo_token_state)SENTINEL_INT;
	f.o_dir = (enum luo_session_direction)SENTINEL_INT;
	f.o_token = SENTINEL_TOKEN;
	f.store_fd = f.notify = -1;

	setup_fixture(&f);
	prep(&f);
	take(&f, &before);
	f.calls = 0; /* callbacks of the snapshot do not count */
	r = row->call(&f);
	assert_eq(r, row->expected, "%s (%s): returned %d (%s), expected %d "
		  "(%s)", row->fn, row->input, r, r < 0 ? strerror(-r) : "ok",
		  row->expected, row->expected < 0 ? strerror(-row->expected) :
						     "ok");
	if (row->expected < 0)
		expect_sentinels(&f);
	if (!(row->flags & R_CHANGES))
		expect_unchanged(&f, &before);
	teardown(&f);
	tb_end();
}

__attribute__((constructor)) static void register_rows(void)
{
	size_t i;

	for (i = 0; i < NROWS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s.%s", rows[i].fn,
			 rows[i].input);
		tests[i] = (struct harness_test){
			.suite = rows[i].abi == LUO_ABI_RFC ? "bad_input_rfc" :
							      "bad_input",
			.name = names[i],
			.fn = run_row,
			.file = __FILE__,
			.line = rows[i].line,
			.timeout = 30,
		};
		harness_register(&tests[i]);
	}
}

/* ---- the table itself --------------------------------------------------- */

/* Every public function (both headers) and whether a row must cover it. */
static const char *const public_functions[] = {
	"luo_ctx_opts_new", "luo_ctx_opts_free", "luo_ctx_opts_set_device",
	"luo_ctx_opts_set_abi", "luo_ctx_opts_set_fake",
	"luo_ctx_opts_set_open_device", "luo_ctx_opts_set_record",
	"luo_ctx_opts_set_log", "luo_ctx_new",
	"luo_ctx_ref", "luo_ctx_unref", "luo_ctx_close_device",
	"luo_ctx_get_abi", "luo_ctx_set_log", "luo_get_state",
	"luo_fd_preserve", "luo_fd_unpreserve", "luo_fd_restore",
	"luo_prepare", "luo_cancel", "luo_finish", "luo_state_to_string",
	"luo_token_lookup", "luo_token_count", "luo_token_foreach",
	"luo_session_create", "luo_session_retrieve",
	"luo_session_preserve_fd", "luo_session_retrieve_fd",
	"luo_session_finish", "luo_session_get_name",
	"luo_session_get_direction", "luo_session_get_fd",
	"luo_session_adopt_fd", "luo_session_send", "luo_session_recv",
	"luo_session_close", "luo_session_token_lookup",
	"luo_session_token_count", "luo_session_token_foreach",
	"luo_ctx_unrefp", "luo_ctx_opts_freep", "luo_fake_new", "luo_fake_ref",
	"luo_fake_unref", "luo_fake_kexec", "luo_fake_inject_error",
	"luo_fake_inject_error_nth", "luo_fake_op_count",
	"luo_fake_set_limits", "luo_fake_set_latency", "luo_fake_get_boot",
	"luo_fake_foreach_file", "luo_fake_session_count",
	"luo_fake_file_count", "luo_fake_get_state", "luo_fake_unrefp",
	"luo_session_preserve_fd_labeled", "luo_session_token_get_label",
	"luo_session_retrieve_fd_by_label", "luo_ctx_foreach_incoming_session",
	"luo_session_from_fdstore", "luo_session_fdstore_push",
	/* luo_is_available() takes no argument: no bad input to give it */
};

TEST(bad_input, the_table_covers_every_function)
{
	size_t i, j, n;

	note("%zu rows", NROWS);
	assert_ge(NROWS, 200);
	for (i = 0; i < NROWS; i++) {
		for (j = 0; j < sizeof(public_functions) /
				    sizeof(public_functions[0]); j++)
			if (!strcmp(rows[i].fn, public_functions[j]))
				break;
		assert_lt(j, sizeof(public_functions) /
			     sizeof(public_functions[0]),
			  "row at line %d: %s is not a public function",
			  rows[i].line, rows[i].fn);
		for (j = 0; j < i; j++)
			assert_false(!strcmp(names[i], names[j]) &&
				     rows[i].abi == rows[j].abi,
				     "two rows named %s (lines %d and %d)",
				     names[i], rows[j].line, rows[i].line);
	}
	for (i = 0; i < NROWS; i++)
		if (rows[i].undoc)
			note("undocumented: %s%s: expects %s: %s", names[i],
			     rows[i].abi == LUO_ABI_RFC ? " (RFC)" : "",
			     strerrorname_np(-rows[i].expected), rows[i].undoc);
	for (j = 0; j < sizeof(public_functions) / sizeof(public_functions[0]);
	     j++) {
		for (i = n = 0; i < NROWS; i++)
			n += !strcmp(rows[i].fn, public_functions[j]);
		assert_gt(n, 0, "no row for %s", public_functions[j]);
		note("%-30s %zu rows", public_functions[j], n);
	}
}
