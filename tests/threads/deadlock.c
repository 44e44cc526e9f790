/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deadlock probes: one test for each lock-scope rule that include/libluo.h
 * and doc/locking.md state.  libluo promises progress, not just the
 * absence of data races: no libluo lock is held across a kernel request,
 * blocking I/O or user code.  Each probe puts another thread where a lock
 * held too long would make it wait forever (blocked in sendmsg(), inside a
 * slow request of the fake, inside a user callback that waits for
 * something), and checks that the calls that must not wait return, while
 * that thread is still there.
 *
 * Nothing here waits without a deadline: a call that must return runs in a
 * thread joined with pthread_timedjoin_np(), and a deadlock fails the test
 * with the name of what did not return (the harness's alarm() is the last
 * resort).  The deadlines are far above what the calls take, even under
 * ThreadSanitizer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "expect.h"
#include "fd-count.h"
#include "harness.h"
#include "leak-check.h"
#include "libluo-own.h"

/* What must return, must return within this many seconds. */
#define DEADLINE 60.0
/* The latency of a slowed request: far longer than the calls that must
 * not wait for it take, even under ThreadSanitizer. */
#define SLOW_USEC 2000000u

/* ---- the fixture -------------------------------------------------------- */

struct probe {
	luo_fake_t *fake;
	luo_ctx_opts_t *opts;
	luo_ctx_t *ctx;
	int fds;
};

static void probe_begin(struct probe *p, enum luo_abi abi, luo_log_fn fn,
			void *userdata)
{
	memset(p, 0, sizeof(*p));
	p->fds = fd_count();
	assert_ge(p->fds, 0);
	expect_ok(luo_fake_new(abi, &p->fake));
	expect_ok(luo_ctx_opts_new(&p->opts));
	expect_ok(luo_ctx_opts_set_fake(p->opts, p->fake));
	if (fn)
		expect_ok(luo_ctx_opts_set_log(p->opts, fn, userdata,
					       LOG_DEBUG));
	expect_ok(luo_ctx_new(p->opts, &p->ctx));
}

static void probe_end(struct probe *p)
{
	char list[2048];

	p->ctx = luo_ctx_unref(p->ctx);
	luo_ctx_opts_free(p->opts);
	p->fake = luo_fake_unref(p->fake);
	if (fd_count() != p->fds) {
		fd_describe(list, sizeof(list));
		fail("descriptor leak: %d before, %d after: %s", p->fds,
		     fd_count(), list);
	}
	assert_eq(leak_check(), 0, "memory leak (LeakSanitizer report on "
		  "stderr)");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Joins @t, or fails the test if it has not returned within @sec. */
static void join_within(pthread_t t, double sec, const char *what)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)sec;
	r = pthread_timedjoin_np(t, NULL, &ts);
	if (r == ETIMEDOUT)
		fail("deadlock: %s did not return within %.0f s", what, sec);
	assert_eq(r, 0, "pthread_timedjoin_np: %s", strerror(r));
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	assert_eq(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

/* Runs @fn(@arg) in a thread of its own, within @sec. */
static void run_within(double sec, const char *what, void *(*fn)(void *),
		       void *arg)
{
	join_within(start(fn, arg), sec, what);
}

/* A failure in a thread other than the test's, reported after joining. */
struct failure {
	atomic_int set;
	char msg[256];
};

static void __attribute__((format(printf, 2, 3)))
record(struct failure *f, const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&f->set, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

#define CHECK(f, cond, ...)                                              \
	do {                                                             \
		if (!(cond))                                             \
			record((f), __VA_ARGS__);                        \
	} while (0)

static void expect_no_failure(struct failure *f, const char *who)
{
	assert_eq(atomic_load(&f->set), 0, "%s: %s", who, f->msg);
}

static int memfd(void)
{
	int fd = memfd_create("deadlock", MFD_CLOEXEC);

	assert_ge(fd, 0);
	assert_eq(ftruncate(fd, 64), 0);
	return fd;
}

static luo_session_t *create_with_file(luo_ctx_t *ctx, const char *name,
				       uint64_t token)
{
	luo_session_t *s = NULL;
	int fd = memfd();

	expect_ok(luo_session_create(ctx, name, &s));
	expect_ok(luo_session_preserve_fd(s, fd, token));
	close(fd);
	return s;
}

static int count_cb(uint64_t token, enum luo_token_state state, void *data)
{
	atomic_fetch_add((atomic_int *)data, 1);
	return 0;
}

/* Waits (with a deadline) until *@flag is set by another thread. */
static void wait_for(atomic_int *flag, const char *what)
{
	double end = now() + DEADLINE;

	while (!atomic_load(flag)) {
		if (now() > end)
			fail("%s never happened", what);
		usleep(1000);
	}
}

/*
 * The calls of a context and a session that must never wait for another
 * thread's kernel request, blocking I/O or callback: bookkeeping on the
 * context and on @s (the session the other thread is busy with), a new
 * session, and the original API's preserve and unpreserve.
 */
struct quick {
	luo_ctx_t *ctx;
	luo_session_t *s;      /* the busy session */
	uint64_t s_token;      /* a token of @s */
	bool original_api;     /* also luo_fd_preserve()/_unpreserve() */
	bool preserve_in_s;    /* also preserve a file in @s */
	struct failure fail;
	double took;
};

static void *quick_calls(void *arg)
{
	struct quick *q = arg;
	enum luo_token_state ts = 0;
	luo_session_t *other = NULL;
	const char *name = NULL;
	double t0 = now();
	atomic_int n = 0;
	int r, fd;

	r = luo_token_count(q->ctx);
	CHECK(&q->fail, r >= 0, "luo_token_count: %d", r);
	r = luo_token_foreach(q->ctx, count_cb, &n);
	CHECK(&q->fail, r == 0, "luo_token_foreach: %d", r);
	r = luo_token_lookup(q->ctx, 0x5eed, &ts);
	CHECK(&q->fail, r == -ENOENT, "luo_token_lookup: %d", r);
	if (q->s) {
		r = luo_session_token_count(q->s);
		CHECK(&q->fail, r >= 1, "luo_session_token_count: %d", r);
		r = luo_session_token_lookup(q->s, q->s_token, &ts);
		CHECK(&q->fail, r == 0, "luo_session_token_lookup: %d", r);
		r = luo_session_token_foreach(q->s, count_cb, &n);
		CHECK(&q->fail, r == 0, "luo_session_token_foreach: %d", r);
		r = luo_session_get_name(q->s, &name);
		CHECK(&q->fail, r == 0, "luo_session_get_name: %d", r);
		r = luo_session_get_fd(q->s);
		CHECK(&q->fail, r >= 0, "luo_session_get_fd: %d", r);
	}
	if (q->s && q->preserve_in_s) {
		fd = memfd();
		r = luo_session_preserve_fd(q->s, fd, q->s_token + 1000);
		CHECK(&q->fail, r == 0, "luo_session_preserve_fd in the busy "
		      "session: %d", r);
		close(fd);
	}
	r = luo_session_create(q->ctx, "dl.quick", &other);
	CHECK(&q->fail, r == 0, "luo_session_create: %d", r);
	if (r == 0) {
		fd = memfd();
		r = luo_session_preserve_fd(other, fd, 1);
		CHECK(&q->fail, r == 0, "luo_session_preserve_fd: %d", r);
		close(fd);
		r = luo_session_close(other, LUO_SESSION_CLOSE_FORCE);
		CHECK(&q->fail, r == 0, "luo_session_close: %d", r);
	}
	if (q->original_api) {
		fd = memfd();
		r = luo_fd_preserve(q->ctx, fd, 0x9000);
		CHECK(&q->fail, r == 0, "luo_fd_preserve: %d", r);
		close(fd);
		r = luo_fd_unpreserve(q->ctx, 0x9000);
		CHECK(&q->fail, r == 0, "luo_fd_unpreserve: %d", r);
	}
	q->took = now() - t0;
	return NULL;
}

/* The quick calls, which must be done while @busy is still not done. */
static void expect_quick(struct quick *q, atomic_int *busy_done,
			 const char *busy)
{
	run_within(DEADLINE, "bookkeeping, a new session and the original "
		   "API", quick_calls, q);
	expect_no_failure(&q->fail, "quick calls");
	note("the calls took %.3f s while %s", q->took, busy);
	assert_false(atomic_load(busy_done),
		     "%s finished before the calls that must not wait for it "
		     "returned: they waited for it", busy);
}

/* ---- (a) a send that blocks --------------------------------------------- */

struct sender {
	luo_session_t *s;
	int sock;
	atomic_int started, done;
	int r;
};

static void *send_main(void *arg)
{
	struct sender *sd = arg;

	atomic_store(&sd->started, 1);
	sd->r = luo_session_send(sd->s, sd->sock);
	atomic_store(&sd->done, 1);
	return NULL;
}

/* Fills @sock's buffer; returns the number of bytes written. */
static size_t fill(int sock)
{
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	memset(junk, 'j', sizeof(junk));
	assert_eq(fcntl(sock, F_SETFL, O_NONBLOCK), 0);
	while ((n = send(sock, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	assert_eq(errno, EAGAIN);
	/* and smaller writes until not even one byte fits */
	while ((n = send(sock, junk, 1, MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	assert_eq(fcntl(sock, F_SETFL, 0), 0);
	return total;
}

static void drain(int sock, size_t bytes)
{
	char buf[4096];

	while (bytes) {
		ssize_t n = read(sock, buf, bytes < sizeof(buf) ? bytes :
								   sizeof(buf));

		assert_gt(n, 0, "read: %s", strerror(errno));
		bytes -= (size_t)n;
	}
}

/*
 * (a) luo_session_send() runs sendmsg() without a libluo lock: while it
 * blocks on a peer that does not read, every other call goes on, on the
 * same context and on the very session being sent.
 */
TEST(deadlock, a_blocked_send_stalls_nothing, .timeout = 300)
{
	struct probe p;
	struct sender sd = { 0 };
	struct quick q = { 0 };
	luo_session_t *got = NULL;
	int sv[2], other[2];
	luo_session_t *s2;
	size_t junk;
	pthread_t t;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	sd.s = create_with_file(p.ctx, "dl.blocked", 1);
	assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	junk = fill(sv[0]);
	sd.sock = sv[0];
	t = start(send_main, &sd);
	wait_for(&sd.started, "the send");
	usleep(200000); /* into sendmsg(), where it stays */

	q.ctx = p.ctx;
	q.s = sd.s;
	q.s_token = 1;
	q.original_api = true;
	q.preserve_in_s = true;
	expect_quick(&q, &sd.done, "a send was blocked");

	/* Another hand-off goes through meanwhile. */
	s2 = create_with_file(p.ctx, "dl.other", 2);
	assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, other),
		  0);
	expect_ok(luo_session_send(s2, other[0]));
	expect_ok(luo_session_close(s2, 0));
	expect_ok(luo_session_recv(p.ctx, other[1], &got));
	expect_ok(luo_session_close(got, LUO_SESSION_CLOSE_FORCE));
	assert_false(atomic_load(&sd.done));

	/* Let the send finish: read the junk, then receive the session. */
	drain(sv[1], junk);
	join_within(t, DEADLINE, "the send, once the peer read");
	expect_ok(sd.r);
	expect_ok(luo_session_recv(p.ctx, sv[1], &got));
	expect_ok(luo_session_close(got, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(sd.s, 0)); /* sent */
	close(sv[0]);
	close(sv[1]);
	close(other[0]);
	close(other[1]);
	{
		struct tb_own_counts c;

		expect_ok(tb_own_count(p.fake, &c));
		assert_eq(c.user_files, 0);
		/* what is left is the context's index, and its record */
		assert_eq(c.index_out, 1);
		assert_eq(c.libluo_files, luo_fake_file_count(p.fake));
	}
	probe_end(&p);
}

#define HANDOFFS 1000

struct handoff {
	luo_ctx_t *ctx;
	int sock;
	atomic_int done;
	struct failure fail;
	double worst;          /* the observer's slowest call, seconds */
	long observed;
	luo_session_t *watched;
};

static void *handoff_sender(void *arg)
{
	struct handoff *h = arg;
	char name[32];
	int i, r, fd;

	for (i = 0; i < HANDOFFS && !atomic_load(&h->fail.set); i++) {
		luo_session_t *s = NULL;

		snprintf(name, sizeof(name), "dl.h.%d", i);
		r = luo_session_create(h->ctx, name, &s);
		CHECK(&h->fail, r == 0, "create %s: %d", name, r);
		if (r)
			break;
		fd = memfd_create("h", MFD_CLOEXEC);
		r = luo_session_preserve_fd(s, fd, (uint64_t)i);
		CHECK(&h->fail, r == 0, "preserve: %d", r);
		close(fd);
		r = luo_session_send(s, h->sock); /* blocks while full */
		CHECK(&h->fail, r == 0, "send %s: %d", name, r);
		r = luo_session_close(s, r == 0 ? 0 : LUO_SESSION_CLOSE_FORCE);
		CHECK(&h->fail, r == 0, "close %s: %d", name, r);
	}
	return NULL;
}

static void *handoff_receiver(void *arg)
{
	struct handoff *h = arg;
	const char *name = NULL;
	char want[32];
	int i, r;

	for (i = 0; i < HANDOFFS && !atomic_load(&h->fail.set); i++) {
		luo_session_t *s = NULL;

		r = luo_session_recv(h->ctx, h->sock, &s);
		CHECK(&h->fail, r == 0, "recv %d: %d", i, r);
		if (r)
			break;
		snprintf(want, sizeof(want), "dl.h.%d", i);
		r = luo_session_get_name(s, &name);
		CHECK(&h->fail, r == 0 && !strcmp(name, want),
		      "received %s, expected %s", name, want);
		r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
		CHECK(&h->fail, r == 0, "close received: %d", r);
	}
	atomic_store(&h->done, 1);
	return NULL;
}

static void *handoff_observer(void *arg)
{
	struct handoff *h = arg;
	enum luo_token_state ts;

	while (!atomic_load(&h->done)) {
		double t0 = now(), took;
		int r = luo_token_count(h->ctx);

		CHECK(&h->fail, r == 0, "luo_token_count: %d", r);
		r = luo_session_token_lookup(h->watched, 7, &ts);
		CHECK(&h->fail, r == 0, "luo_session_token_lookup: %d", r);
		r = luo_session_token_count(h->watched);
		CHECK(&h->fail, r == 1, "luo_session_token_count: %d", r);
		took = now() - t0;
		if (took > h->worst)
			h->worst = took;
		h->observed++;
		usleep(100);
	}
	return NULL;
}

/*
 * (a) A receiver in the same process takes 1000 sessions while another
 * thread sends them over one blocking socket: the sender blocks whenever
 * the socket is full and must not keep the receiver (which needs the
 * context) or anyone else from going on.
 */
TEST(deadlock, a_a_thousand_handoffs_between_two_threads, .timeout = 600)
{
	struct handoff send_side = { 0 }, recv_side = { 0 };
	struct handoff *obs;
	struct probe p;
	pthread_t ts, tr, to;
	int sv[2];
	double t0;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* a small buffer: the sender blocks often */
	assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 4096 },
			     sizeof(int)), 0);
	send_side.ctx = recv_side.ctx = p.ctx;
	send_side.sock = sv[0];
	recv_side.sock = sv[1];
	obs = &recv_side; /* the observer stops when the receiver is done */
	obs->watched = create_with_file(p.ctx, "dl.watched", 7);

	t0 = now();
	to = start(handoff_observer, obs);
	tr = start(handoff_receiver, &recv_side);
	ts = start(handoff_sender, &send_side);
	join_within(ts, 10 * DEADLINE, "the sender of 1000 sessions");
	join_within(tr, 10 * DEADLINE, "the receiver of 1000 sessions");
	join_within(to, DEADLINE, "the observer");
	expect_no_failure(&send_side.fail, "sender");
	expect_no_failure(&recv_side.fail, "receiver");
	note("1000 sessions handed over in %.2f s; the observer's slowest "
	     "of %ld rounds took %.4f s", now() - t0, obs->observed,
	     obs->worst);
	assert_lt(obs->worst, DEADLINE / 4, "a lookup stalled");

	{
		struct tb_own_counts c;

		expect_ok(tb_own_count(p.fake, &c));
		assert_eq(c.user_files, 1);
		/* dl.watched, and the context's index */
		assert_eq(c.index_out, 1);
		assert_eq(luo_fake_session_count(p.fake, LUO_SESSION_OUTGOING),
			  1 + c.index_out);
	}
	expect_ok(luo_session_close(obs->watched, LUO_SESSION_CLOSE_FORCE));
	close(sv[0]);
	close(sv[1]);
	probe_end(&p);
}

/* ---- (b) log callbacks across two contexts ------------------------------ */

struct crosslog {
	luo_ctx_t *other;      /* set before any thread starts */
	atomic_int calls, nested;
};

static _Thread_local int log_depth;

static void __attribute__((format(printf, 6, 0)))
cross_log(void *userdata, int priority, const char *file, int line,
	  const char *fn, const char *format, va_list args)
{
	struct crosslog *c = userdata;
	luo_session_t *s = NULL;

	atomic_fetch_add(&c->calls, 1);
	if (log_depth)
		atomic_fetch_add(&c->nested, 1);
	if (!c->other || log_depth >= 2)
		return;
	/* into the other context, whose callback comes back into ours */
	log_depth++;
	(void)luo_session_retrieve(c->other, "dl.nobody", &s); /* logs */
	(void)luo_token_count(c->other);
	log_depth--;
}

struct logging_thread {
	luo_ctx_t *ctx;
	int rounds;
	struct failure fail;
};

static void *logging_main(void *arg)
{
	struct logging_thread *l = arg;
	int i, r;

	for (i = 0; i < l->rounds; i++) {
		luo_session_t *s = NULL;

		r = luo_session_retrieve(l->ctx, "dl.nobody", &s); /* logs */
		CHECK(&l->fail, r == -ENOENT, "retrieve: %d", r);
		r = luo_token_count(l->ctx);
		CHECK(&l->fail, r == 0, "count: %d", r);
	}
	return NULL;
}

/*
 * (b) A log callback of context A calls into context B, whose callback
 * calls into A, from two threads at once (A's thread and B's thread):
 * no lock is held across the callback, so neither waits for the other.
 */
TEST(deadlock, b_log_callbacks_call_each_others_context, .timeout = 300)
{
	struct crosslog la = { 0 }, lb = { 0 };
	struct logging_thread ta = { 0 }, tb = { 0 };
	struct probe a, b;
	pthread_t t1, t2;

	probe_begin(&a, LUO_ABI_MAINLINE, cross_log, &la);
	probe_begin(&b, LUO_ABI_MAINLINE, cross_log, &lb);
	la.other = b.ctx;
	lb.other = a.ctx;
	ta.ctx = a.ctx;
	tb.ctx = b.ctx;
	ta.rounds = tb.rounds = 2000;
	t1 = start(logging_main, &ta);
	t2 = start(logging_main, &tb);
	join_within(t1, DEADLINE, "the thread logging in A");
	join_within(t2, DEADLINE, "the thread logging in B");
	expect_no_failure(&ta.fail, "thread A");
	expect_no_failure(&tb.fail, "thread B");
	note("A's callback ran %d times (%d nested), B's %d (%d nested)",
	     atomic_load(&la.calls), atomic_load(&la.nested),
	     atomic_load(&lb.calls), atomic_load(&lb.nested));
	assert_gt(atomic_load(&la.nested), 0);
	assert_gt(atomic_load(&lb.nested), 0);
	la.other = lb.other = NULL;
	probe_end(&b);
	probe_end(&a);
}

/* ---- (c) a log callback that takes an application mutex ----------------- */

static pthread_mutex_t app_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool holding_app_mutex;
static atomic_int app_logs;

static void __attribute__((format(printf, 6, 0)))
mutex_log(void *userdata, int priority, const char *file, int line,
	  const char *fn, const char *format, va_list args)
{
	if (holding_app_mutex)
		return; /* this thread's own call: it holds it already */
	pthread_mutex_lock(&app_mutex);
	atomic_fetch_add(&app_logs, 1);
	pthread_mutex_unlock(&app_mutex);
}

struct mutex_probe {
	luo_ctx_t *ctx;
	luo_session_t *shared;   /* the session both threads use */
	struct failure fail;
};

/* Holds the application mutex around calls that take libluo's locks:
 * the context's, the shared session's, the original API's. */
static void *mutex_holder(void *arg)
{
	struct mutex_probe *m = arg;
	enum luo_token_state ts;
	char name[32];
	int i, r, fd;

	for (i = 0; i < 1000; i++) {
		luo_session_t *s = NULL;

		pthread_mutex_lock(&app_mutex);
		holding_app_mutex = true;
		snprintf(name, sizeof(name), "dl.m.%d", i);
		r = luo_session_create(m->ctx, name, &s);
		CHECK(&m->fail, r == 0, "create: %d", r);
		fd = memfd();
		if (r == 0) {
			r = luo_session_preserve_fd(s, fd, 1);
			CHECK(&m->fail, r == 0, "preserve: %d", r);
			r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
			CHECK(&m->fail, r == 0, "close: %d", r);
		}
		r = luo_fd_preserve(m->ctx, fd, 0x100 + (uint64_t)i);
		CHECK(&m->fail, r == 0, "luo_fd_preserve: %d", r);
		r = luo_fd_unpreserve(m->ctx, 0x100 + (uint64_t)i);
		CHECK(&m->fail, r == 0, "luo_fd_unpreserve: %d", r);
		close(fd);
		r = luo_session_token_lookup(m->shared, 1, &ts);
		CHECK(&m->fail, r == 0, "lookup: %d", r);
		r = luo_token_count(m->ctx);
		CHECK(&m->fail, r >= 0, "count: %d", r);
		holding_app_mutex = false;
		pthread_mutex_unlock(&app_mutex);
	}
	return NULL;
}

/* Makes calls that log (and so take the application mutex in the
 * callback) on the same context, session and original API. */
static void *mutex_logger(void *arg)
{
	struct mutex_probe *m = arg;
	int i, r, p[2];

	assert_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 1000; i++) {
		luo_session_t *s = NULL;

		r = luo_session_preserve_fd(m->shared, p[0], 99);
		CHECK(&m->fail, r == -ENOENT, "preserve a pipe: %d", r);
		r = luo_session_retrieve(m->ctx, "dl.nobody", &s);
		CHECK(&m->fail, r == -ENOENT, "retrieve: %d", r);
		r = luo_fd_preserve(m->ctx, p[0], 0x99);
		CHECK(&m->fail, r == -ENOENT, "luo_fd_preserve a pipe: %d", r);
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

/*
 * (c) A log callback takes an application mutex that another thread holds
 * around its libluo calls: the logging thread holds no libluo lock while
 * it waits, so the holder's calls go through and it lets go.
 */
TEST(deadlock, c_log_callback_takes_a_mutex_held_around_libluo_calls,
     .timeout = 300)
{
	struct mutex_probe m = { 0 };
	struct probe p;
	pthread_t t1, t2;

	probe_begin(&p, LUO_ABI_MAINLINE, mutex_log, NULL);
	m.ctx = p.ctx;
	m.shared = create_with_file(p.ctx, "dl.shared", 1);
	atomic_store(&app_logs, 0);
	t1 = start(mutex_holder, &m);
	t2 = start(mutex_logger, &m);
	join_within(t1, DEADLINE, "the thread holding the application mutex");
	join_within(t2, DEADLINE, "the thread whose log callback takes it");
	expect_no_failure(&m.fail, "threads");
	note("the callback took the mutex %d times", atomic_load(&app_logs));
	assert_gt(atomic_load(&app_logs), 0);
	expect_ok(luo_session_close(m.shared, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

/* ---- (d) fork while another thread is inside libluo --------------------- */

struct busy {
	luo_ctx_t *ctx;
	luo_fake_t *fake;
	luo_session_t *s;
	atomic_int stop;
	long rounds;
	struct failure fail;
};

/* Fresh names and files each round: a child forked meanwhile holds
 * copies of the descriptors, so the kernel keeps what they refer to (a
 * session of the same name, a file preserved) until the child exits. */
static void *busy_main(void *arg)
{
	struct busy *b = arg;
	enum luo_token_state ts;
	atomic_int n = 0;
	char name[32];
	int r, fd;

	while (!atomic_load(&b->stop)) {
		luo_session_t *s = NULL;

		r = luo_session_token_lookup(b->s, 1, &ts);
		CHECK(&b->fail, r == 0, "lookup: %d", r);
		r = luo_session_token_foreach(b->s, count_cb, &n);
		CHECK(&b->fail, r == 0, "foreach: %d", r);
		snprintf(name, sizeof(name), "dl.busy.%ld", b->rounds);
		r = luo_session_create(b->ctx, name, &s);
		CHECK(&b->fail, r == 0, "create: %d", r);
		if (r == 0) {
			fd = memfd_create("busy", MFD_CLOEXEC);
			r = luo_session_preserve_fd(s, fd, 2);
			CHECK(&b->fail, r == 0, "preserve: %d", r);
			close(fd);
			r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
			CHECK(&b->fail, r == 0, "close: %d", r);
		}
		fd = memfd_create("busy", MFD_CLOEXEC);
		r = luo_fd_preserve(b->ctx, fd, 3 + (uint64_t)b->rounds);
		CHECK(&b->fail, r == 0, "luo_fd_preserve: %d", r);
		r = luo_fd_unpreserve(b->ctx, 3 + (uint64_t)b->rounds);
		CHECK(&b->fail, r == 0, "luo_fd_unpreserve: %d", r);
		close(fd);
		r = luo_fake_file_count(b->fake);
		CHECK(&b->fail, r >= 1, "luo_fake_file_count: %d", r);
		b->rounds++;
	}
	return NULL;
}

/* In the child: every call fails -ECHILD, at once.  The exit status is
 * the number of the first call that did not. */
static int child_calls(luo_ctx_t *ctx, luo_session_t *s, luo_fake_t *fake)
{
	enum luo_token_state ts;
	enum luo_state state;
	enum luo_abi abi;
	luo_session_t *out = NULL;
	const char *name;
	atomic_int n = 0;
	int fd = memfd_create("child", MFD_CLOEXEC), got, k = 0;

#define CHILD(call)                                                      \
	do {                                                             \
		k++;                                                     \
		if ((call) != -ECHILD)                                   \
			return k;                                        \
	} while (0)
	CHILD(luo_token_count(ctx));
	CHILD(luo_token_lookup(ctx, 3, &ts));
	CHILD(luo_token_foreach(ctx, count_cb, &n));
	CHILD(luo_get_state(ctx, &state));
	CHILD(luo_ctx_get_abi(ctx, &abi));
	CHILD(luo_fd_preserve(ctx, fd, 4));
	CHILD(luo_fd_unpreserve(ctx, 3));
	CHILD(luo_prepare(ctx));
	CHILD(luo_session_create(ctx, "dl.child", &out));
	CHILD(luo_session_retrieve(ctx, "dl.child", &out));
	CHILD(luo_session_token_lookup(s, 1, &ts));
	CHILD(luo_session_token_count(s));
	CHILD(luo_session_token_foreach(s, count_cb, &n));
	CHILD(luo_session_get_name(s, &name));
	CHILD(luo_session_preserve_fd(s, fd, 9));
	CHILD(luo_fake_file_count(fake));
	CHILD(luo_fake_session_count(fake, LUO_SESSION_OUTGOING));
	CHILD(luo_ctx_close_device(ctx));
	CHILD(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
#undef CHILD
	got = atomic_load(&n);
	return got ? 100 : 0;
}

/*
 * (d) fork() while another thread is inside libluo (and the fake): the
 * child's copies of libluo's locks may be held by a thread that does not
 * exist there, so every call in the child must fail -ECHILD before taking
 * any lock.  Each child has an alarm; the parent waits with a deadline.
 */
TEST(deadlock, d_fork_while_another_thread_is_inside_libluo, .timeout = 300)
{
	struct busy b = { 0 };
	struct probe p;
	pthread_t t;
	int i, forks = 50;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	b.ctx = p.ctx;
	b.fake = p.fake;
	b.s = create_with_file(p.ctx, "dl.forked", 1);
	t = start(busy_main, &b);
	for (i = 0; i < forks; i++) {
		double end;
		int status = 0;
		pid_t pid, w;

		usleep(2000);
		fflush(NULL);
		pid = fork();
		assert_ge(pid, 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			alarm(20);
			_exit(child_calls(p.ctx, b.s, p.fake));
		}
		end = now() + DEADLINE;
		while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
		       now() < end)
			usleep(1000);
		if (w == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail("deadlock: child %d did not exit within %.0f s",
			     i, DEADLINE);
		}
		assert_eq(w, pid);
		assert_true(WIFEXITED(status), "child %d: %s", i,
			    WIFSIGNALED(status) ?
				    (WTERMSIG(status) == SIGALRM ?
					     "deadlocked (its alarm fired)" :
					     strsignal(WTERMSIG(status))) :
				    "?");
		assert_eq(WEXITSTATUS(status), 0, "child %d: call %d did not "
			  "fail -ECHILD", i, WEXITSTATUS(status));
	}
	atomic_store(&b.stop, 1);
	join_within(t, DEADLINE, "the busy thread");
	expect_no_failure(&b.fail, "busy thread");
	note("%d children while the other thread made %ld rounds", forks,
	     b.rounds);
	expect_ok(luo_session_close(b.s, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

/* ---- (e) foreach callbacks that call libluo ----------------------------- */

struct walker {
	luo_ctx_t *ctx;
	luo_session_t *s;
	struct failure fail;
	int visited;
	bool transition;         /* prepare and cancel in the first callback */
};

static int ctx_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct walker *w = data;
	enum luo_token_state ts;
	atomic_int n = 0;
	int r, fd;

	w->visited++;
	r = luo_token_lookup(w->ctx, token, &ts);
	CHECK(&w->fail, r == 0 || r == -ENOENT, "lookup: %d", r);
	r = luo_token_count(w->ctx);
	CHECK(&w->fail, r >= 0, "count: %d", r);
	r = luo_token_foreach(w->ctx, count_cb, &n); /* nested */
	CHECK(&w->fail, r == 0, "nested foreach: %d", r);
	if (token < 0x100) {
		/* unpreserve the very token being visited, preserve another */
		r = luo_fd_unpreserve(w->ctx, token);
		CHECK(&w->fail, r == 0, "unpreserve %#" PRIx64 ": %d", token,
		      r);
		fd = memfd_create("walk", MFD_CLOEXEC);
		r = luo_fd_preserve(w->ctx, fd, token + 0x100);
		CHECK(&w->fail, r == 0, "preserve: %d", r);
		close(fd);
	}
	if (w->transition) {
		w->transition = false;
		r = luo_prepare(w->ctx);
		CHECK(&w->fail, r == 0, "prepare in a callback: %d", r);
		r = luo_cancel(w->ctx);
		CHECK(&w->fail, r == 0, "cancel in a callback: %d", r);
	}
	return 0;
}

static int session_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct walker *w = data;
	enum luo_token_state ts;
	const char *name;
	atomic_int n = 0;
	int r, fd;

	w->visited++;
	r = luo_session_token_lookup(w->s, token, &ts);
	CHECK(&w->fail, r == 0, "session lookup: %d", r);
	r = luo_session_token_count(w->s);
	CHECK(&w->fail, r >= 1, "session count: %d", r);
	r = luo_session_token_foreach(w->s, count_cb, &n); /* nested */
	CHECK(&w->fail, r == 0, "nested session foreach: %d", r);
	r = luo_session_get_name(w->s, &name);
	CHECK(&w->fail, r == 0, "get_name: %d", r);
	if (token < 0x100 &&
	    luo_session_token_lookup(w->s, token + 0x100, &ts) == -ENOENT) {
		fd = memfd_create("walk", MFD_CLOEXEC);
		r = luo_session_preserve_fd(w->s, fd, token + 0x100);
		CHECK(&w->fail, r == 0, "preserve in the session walked: %d",
		      r);
		close(fd);
	}
	/* the context too, from a session's callback */
	r = luo_token_count(w->ctx);
	CHECK(&w->fail, r >= 0, "count: %d", r);
	return 0;
}

static void *walk_ctx(void *arg)
{
	struct walker *w = arg;
	atomic_int n = 0;
	int i, r;

	for (i = 0; i < 20; i++) {
		r = luo_token_foreach(w->ctx, ctx_cb, w);
		CHECK(&w->fail, r == 0, "luo_token_foreach: %d", r);
		r = luo_session_token_foreach(w->s, count_cb, &n);
		CHECK(&w->fail, r == 0, "luo_session_token_foreach: %d", r);
	}
	return NULL;
}

static void *walk_session(void *arg)
{
	struct walker *w = arg;
	atomic_int n = 0;
	int i, r;

	for (i = 0; i < 20; i++) {
		r = luo_session_token_foreach(w->s, session_cb, w);
		CHECK(&w->fail, r == 0, "luo_session_token_foreach: %d", r);
		r = luo_token_foreach(w->ctx, count_cb, &n);
		CHECK(&w->fail, r == 0, "luo_token_foreach: %d", r);
	}
	return NULL;
}

/*
 * (e) luo_token_foreach() and luo_session_token_foreach() callbacks call
 * libluo on the same context and session (lookups, counts, nested
 * iterations, preserve, unpreserve of the token being visited, even
 * luo_prepare() and luo_cancel()), from two threads at once.
 */
TEST(deadlock, e_foreach_callbacks_call_libluo_on_the_same_objects,
     .timeout = 300)
{
	struct walker wc = { 0 }, ws = { 0 };
	struct probe p;
	pthread_t t1, t2;
	uint64_t i;
	int fd;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	wc.ctx = ws.ctx = p.ctx;
	wc.s = ws.s = create_with_file(p.ctx, "dl.walked", 1);
	for (i = 2; i <= 8; i++) {
		fd = memfd();
		expect_ok(luo_session_preserve_fd(ws.s, fd, i));
		close(fd);
	}
	for (i = 1; i <= 8; i++) {
		fd = memfd();
		expect_ok(luo_fd_preserve(p.ctx, fd, i));
		close(fd);
	}
	wc.transition = true;
	t1 = start(walk_ctx, &wc);
	t2 = start(walk_session, &ws);
	join_within(t1, DEADLINE, "luo_token_foreach() with callbacks that "
		    "call libluo");
	join_within(t2, DEADLINE, "luo_session_token_foreach() with "
		    "callbacks that call libluo");
	expect_no_failure(&wc.fail, "context walker");
	expect_no_failure(&ws.fail, "session walker");
	assert_false(wc.transition, "the transition never ran");
	/* each token below 0x100 was replaced by token + 0x100, once */
	assert_eq(luo_token_count(p.ctx), 8);
	for (i = 1; i <= 8; i++) {
		enum luo_token_state ts = 0;

		expect_ret(luo_token_lookup(p.ctx, i, &ts), -ENOENT);
		expect_ok(luo_token_lookup(p.ctx, i + 0x100, &ts));
		expect_ok(luo_session_token_lookup(ws.s, i + 0x100, &ts));
	}
	assert_eq(luo_session_token_count(ws.s), 16);
	note("callbacks: %d on the context, %d on the session", wc.visited,
	     ws.visited);
	expect_ok(luo_session_close(ws.s, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

/* ---- slow kernel requests ----------------------------------------------- */

struct slow_call {
	luo_ctx_t *ctx;
	luo_session_t *s;
	uint64_t token;
	atomic_int started, done;
	int r;
	double took;
};

static void *slow_preserve(void *arg)
{
	struct slow_call *c = arg;
	double t0 = now();
	int fd = memfd_create("slow", MFD_CLOEXEC);

	atomic_store(&c->started, 1);
	c->r = luo_session_preserve_fd(c->s, fd, c->token);
	c->took = now() - t0;
	close(fd);
	atomic_store(&c->done, 1);
	return NULL;
}

/*
 * No libluo lock is held across a kernel request: while a preserve in a
 * session waits for the (slowed) kernel, the same session's bookkeeping,
 * the context's, a new session and the original API go on; and two slow
 * preserves, in one session or in two, overlap instead of queueing.
 */
TEST(deadlock, f_a_slow_request_holds_no_lock, .timeout = 300)
{
	struct slow_call c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	struct quick q = { 0 };
	luo_session_t *s1, *s2;
	struct probe p;
	pthread_t t1, t2, t3;
	double t0, all;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	s1 = create_with_file(p.ctx, "dl.slow1", 1);
	s2 = create_with_file(p.ctx, "dl.slow2", 1);
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_PRESERVE_FD,
				       SLOW_USEC, 0));
	c1.s = c2.s = s1;
	c3.s = s2;
	c1.token = 10;
	c2.token = 11;
	c3.token = 10;
	t0 = now();
	t1 = start(slow_preserve, &c1);
	t2 = start(slow_preserve, &c2);
	t3 = start(slow_preserve, &c3);
	wait_for(&c1.started, "the first slow preserve");
	usleep(100000);

	/* no preserve here: they are slowed too */
	q.ctx = p.ctx;
	q.s = s1;
	q.s_token = 1;
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_PRESERVE_FD, 0, 0));
	/* (requests that started before keep their latency) */
	q.original_api = true;
	q.preserve_in_s = true;
	expect_quick(&q, &c1.done, "a preserve in the same session waited "
		     "for the kernel");

	join_within(t1, DEADLINE, "slow preserve 1");
	join_within(t2, DEADLINE, "slow preserve 2");
	join_within(t3, DEADLINE, "slow preserve 3");
	all = now() - t0;
	expect_ok(c1.r);
	expect_ok(c2.r);
	expect_ok(c3.r);
	note("three preserves of %.1f s each (two in one session) took %.2f s "
	     "together", SLOW_USEC / 1e6, all);
	assert_lt(all, 2.5 * SLOW_USEC / 1e6, "slow requests queued behind "
		  "each other");
	assert_eq(luo_session_token_count(s1), 4); /* 1, 10, 11, 1001 */
	expect_ok(luo_session_close(s1, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(s2, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

struct slow_ctx_call {
	luo_ctx_t *ctx;
	const char *name;
	atomic_int started, done;
	int r;
};

static void *slow_create(void *arg)
{
	struct slow_ctx_call *c = arg;
	luo_session_t *s = NULL;

	atomic_store(&c->started, 1);
	c->r = luo_session_create(c->ctx, c->name, &s);
	if (c->r == 0)
		c->r = luo_session_close(s, 0);
	atomic_store(&c->done, 1);
	return NULL;
}

struct closer {
	luo_ctx_t *ctx;
	atomic_int started, done;
	int r;
};

static void *close_device_main(void *arg)
{
	struct closer *c = arg;

	atomic_store(&c->started, 1);
	c->r = luo_ctx_close_device(c->ctx);
	atomic_store(&c->done, 1);
	return NULL;
}

static void *bookkeeping_calls(void *arg)
{
	struct quick *q = arg;
	enum luo_token_state ts;
	enum luo_abi abi;
	int r;

	r = luo_token_count(q->ctx);
	CHECK(&q->fail, r == 1, "luo_token_count: %d", r);
	r = luo_token_lookup(q->ctx, 5, &ts);
	CHECK(&q->fail, r == 0, "luo_token_lookup: %d", r);
	r = luo_ctx_get_abi(q->ctx, &abi);
	CHECK(&q->fail, r == 0, "luo_ctx_get_abi: %d", r);
	r = luo_ctx_set_log(q->ctx, NULL, NULL, LOG_ERR);
	CHECK(&q->fail, r == 0, "luo_ctx_set_log: %d", r);
	r = luo_session_token_lookup(q->s, 1, &ts);
	CHECK(&q->fail, r == 0, "luo_session_token_lookup: %d", r);
	r = luo_session_token_count(q->s);
	CHECK(&q->fail, r == 1, "luo_session_token_count: %d", r);
	return NULL;
}

/*
 * luo_ctx_close_device() waits for the device requests in flight (a slow
 * CREATE_SESSION here), without holding what they need to finish, and
 * without stopping the bookkeeping of other threads meanwhile.
 */
TEST(deadlock, g_close_device_waits_for_requests_in_flight, .timeout = 300)
{
	struct slow_ctx_call c = { 0 };
	struct closer cl = { 0 };
	struct quick q = { 0 };
	luo_session_t *s = NULL;
	struct probe p;
	pthread_t t1, t2;
	int fd;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	q.ctx = cl.ctx = c.ctx = p.ctx;
	q.s = create_with_file(p.ctx, "dl.kept", 1);
	fd = memfd();
	expect_ok(luo_fd_preserve(p.ctx, fd, 5));
	close(fd);
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_CREATE_SESSION,
				       SLOW_USEC, 0));
	c.name = "dl.in-flight";
	t1 = start(slow_create, &c);
	wait_for(&c.started, "the slow create");
	usleep(100000);
	t2 = start(close_device_main, &cl);
	wait_for(&cl.started, "luo_ctx_close_device()");
	usleep(100000);

	run_within(DEADLINE, "bookkeeping while luo_ctx_close_device() "
		   "waits", bookkeeping_calls, &q);
	expect_no_failure(&q.fail, "bookkeeping");
	assert_false(atomic_load(&c.done), "the slow create finished before "
		     "the bookkeeping calls returned: they waited for it");

	join_within(t1, DEADLINE, "the create in flight");
	join_within(t2, DEADLINE, "luo_ctx_close_device() waiting for a "
		    "request in flight");
	expect_ok(c.r);
	expect_ok(cl.r);
	expect_ret(luo_session_create(p.ctx, "dl.after", &s), -ENODEV);
	expect_ok(luo_session_close(q.s, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

static void *slow_prepare(void *arg)
{
	struct slow_ctx_call *c = arg;

	atomic_store(&c->started, 1);
	c->r = luo_prepare(c->ctx);
	atomic_store(&c->done, 1);
	return NULL;
}

static void *reads_only(void *arg)
{
	struct quick *q = arg;
	enum luo_token_state ts;
	atomic_int n = 0;
	int r;

	r = luo_token_count(q->ctx);
	CHECK(&q->fail, r == 2, "luo_token_count: %d", r);
	r = luo_token_lookup(q->ctx, 1, &ts);
	CHECK(&q->fail, r == 0, "luo_token_lookup: %d", r);
	r = luo_token_foreach(q->ctx, count_cb, &n);
	CHECK(&q->fail, r == 0 && atomic_load(&n) == 2,
	      "luo_token_foreach: %d", r);
	if (q->s) {
		r = luo_session_token_count(q->s);
		CHECK(&q->fail, r == 1, "luo_session_token_count: %d", r);
	}
	return NULL;
}

/*
 * The original API's transitions are exclusive, but its lookups, counts
 * and foreach never wait: not for a luo_prepare() slowed in the kernel.
 */
TEST(deadlock, h_lookups_do_not_wait_for_a_transition, .timeout = 300)
{
	struct slow_ctx_call c = { 0 };
	struct quick q = { 0 };
	struct probe p;
	pthread_t t;
	int fd;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	q.ctx = c.ctx = p.ctx;
	q.s = create_with_file(p.ctx, "dl.h", 1);
	fd = memfd();
	expect_ok(luo_fd_preserve(p.ctx, fd, 1));
	expect_ok(luo_fd_unpreserve(p.ctx, 1));
	expect_ok(luo_fd_preserve(p.ctx, fd, 1));
	close(fd);
	fd = memfd();
	expect_ok(luo_fd_preserve(p.ctx, fd, 2));
	close(fd);
	/* luo_prepare() on the mainline ABI creates the manifest's session */
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_CREATE_SESSION,
				       SLOW_USEC, 0));
	t = start(slow_prepare, &c);
	wait_for(&c.started, "luo_prepare()");
	usleep(200000);
	run_within(DEADLINE, "lookups during a transition", reads_only, &q);
	expect_no_failure(&q.fail, "lookups");
	assert_false(atomic_load(&c.done), "luo_prepare() finished before "
		     "the lookups returned: they waited for the transition");
	join_within(t, DEADLINE, "luo_prepare()");
	expect_ok(c.r);
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_CREATE_SESSION, 0,
				       0));
	expect_ok(luo_cancel(p.ctx));
	expect_ok(luo_session_close(q.s, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}

static void *slow_restore(void *arg)
{
	struct slow_ctx_call *c = arg;
	int fd = -1;

	atomic_store(&c->started, 1);
	c->r = luo_fd_restore(c->ctx, 1, &fd);
	if (c->r == 0)
		close(fd);
	atomic_store(&c->done, 1);
	return NULL;
}

/*
 * The first restore of a token holds restore_lock across its
 * RETRIEVE_SESSION (slowed here), and nothing else: lookups, counts,
 * foreach and sessions go on meanwhile.
 */
TEST(deadlock, i_a_slow_first_restore_blocks_no_lookup, .timeout = 300)
{
	struct slow_ctx_call c = { 0 };
	struct quick q = { 0 };
	enum luo_state state = 0;
	luo_session_t *s = NULL;
	struct probe p;
	pthread_t t;
	int fd;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	fd = memfd();
	expect_ok(luo_fd_preserve(p.ctx, fd, 1));
	close(fd);
	fd = memfd();
	expect_ok(luo_fd_preserve(p.ctx, fd, 2));
	close(fd);
	expect_ok(luo_prepare(p.ctx));
	expect_ok(luo_fake_kexec(p.fake));
	p.ctx = luo_ctx_unref(p.ctx);
	expect_ok(luo_ctx_new(p.opts, &p.ctx));
	expect_ok(luo_get_state(p.ctx, &state));
	assert_eq(state, LUO_STATE_UPDATED);
	q.ctx = c.ctx = p.ctx;

	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_RETRIEVE_SESSION,
				       SLOW_USEC, 0));
	t = start(slow_restore, &c);
	wait_for(&c.started, "luo_fd_restore()");
	usleep(200000);
	run_within(DEADLINE, "lookups during a first restore", reads_only, &q);
	expect_no_failure(&q.fail, "lookups");
	expect_ok(luo_session_create(p.ctx, "dl.during-restore", &s));
	expect_ok(luo_session_close(s, 0));
	assert_false(atomic_load(&c.done), "the restore finished before the "
		     "lookups returned: they waited for it");
	join_within(t, DEADLINE, "luo_fd_restore()");
	expect_ok(c.r);
	expect_ok(luo_fake_set_latency(p.fake, LUO_FAKE_OP_RETRIEVE_SESSION, 0,
				       0));
	expect_ok(luo_finish(p.ctx));
	probe_end(&p);
}

/* ---- the fake's own callback -------------------------------------------- */

struct fake_walk {
	luo_fake_t *fake;
	luo_ctx_t *ctx;
	luo_session_t *s;
	struct failure fail;
	int calls;
};

static int fake_file_cb(const char *session, enum luo_session_direction dir,
			uint64_t token, void *data)
{
	struct fake_walk *w = data;
	luo_session_t *s = NULL;
	enum luo_state state;
	int r, fd;

	w->calls++;
	r = luo_fake_file_count(w->fake);
	CHECK(&w->fail, r > 0, "luo_fake_file_count: %d", r);
	r = luo_fake_session_count(w->fake, LUO_SESSION_OUTGOING);
	CHECK(&w->fail, r > 0, "luo_fake_session_count: %d", r);
	r = luo_fake_get_state(w->fake, &state);
	CHECK(&w->fail, r == 0, "luo_fake_get_state: %d", r);
	r = luo_session_create(w->ctx, "dl.from-callback", &s);
	CHECK(&w->fail, r == 0 || r == -EEXIST, "create: %d", r);
	if (r == 0) {
		fd = memfd_create("cb", MFD_CLOEXEC);
		r = luo_session_preserve_fd(s, fd, 1);
		CHECK(&w->fail, r == 0, "preserve: %d", r);
		close(fd);
		r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
		CHECK(&w->fail, r == 0, "close: %d", r);
	}
	return 0;
}

static void *walk_fake(void *arg)
{
	struct fake_walk *w = arg;
	int i, r;

	for (i = 0; i < 50; i++) {
		r = luo_fake_foreach_file(w->fake, fake_file_cb, w);
		CHECK(&w->fail, r == 0, "luo_fake_foreach_file: %d", r);
	}
	return NULL;
}

/*
 * luo_fake_foreach_file() runs its callback without the fake's lock: the
 * callback calls the fake and libluo (which calls the fake), from two
 * threads at once.
 */
TEST(deadlock, j_fake_foreach_callback_calls_the_fake_and_libluo,
     .timeout = 300)
{
	struct fake_walk w1 = { 0 }, w2 = { 0 };
	struct probe p;
	pthread_t t1, t2;

	probe_begin(&p, LUO_ABI_MAINLINE, NULL, NULL);
	w1.fake = w2.fake = p.fake;
	w1.ctx = w2.ctx = p.ctx;
	w1.s = create_with_file(p.ctx, "dl.a", 1);
	w2.s = create_with_file(p.ctx, "dl.b", 1);
	t1 = start(walk_fake, &w1);
	t2 = start(walk_fake, &w2);
	join_within(t1, DEADLINE, "luo_fake_foreach_file() 1");
	join_within(t2, DEADLINE, "luo_fake_foreach_file() 2");
	expect_no_failure(&w1.fail, "walker 1");
	expect_no_failure(&w2.fail, "walker 2");
	assert_gt(w1.calls + w2.calls, 0);
	expect_ok(luo_session_close(w1.s, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(w2.s, LUO_SESSION_CLOSE_FORCE));
	probe_end(&p);
}
