/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What came back, on the fake kernel: labels, the session record (tokens
 * listed before anything is retrieved), the index of sessions, the fd
 * store protocol, and a record written while another thread preserves
 * when the kexec comes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"

#define REC_TEST(name, ...)                                              \
	LUO_TEST(record, name, LUO_ABI_MAINLINE, .timeout = 300,         \
		 ##__VA_ARGS__)

static void label_of(uint64_t token, char *buf, size_t len)
{
	snprintf(buf, len, "file-%llu.bin", (unsigned long long)token);
}

struct listing {
	size_t n;
	size_t incoming, restored;
};

static int count_token(uint64_t token, enum luo_token_state state,
		       void *data)
{
	struct listing *l = data;

	(void)token;
	l->n++;
	l->incoming += state == LUO_TOKEN_INCOMING;
	l->restored += state == LUO_TOKEN_RESTORED;
	return 0;
}

REC_TEST(labels_and_tokens_are_listed_before_any_retrieve)
{
	luo_session_t *s, *in;
	struct listing l = { 0 };
	const char *label;
	char buf[64];
	uint64_t token, t;
	int fd;

	tb_require_fake("needs a kexec");
	expect_ok(luo_session_create(tb_ctx(), "rec.labels", &s));
	/* 40 labeled, 10 not: more than the first segment's 4 KiB */
	for (t = 1; t <= 50; t++) {
		fd = memfd_pattern(t, 100 + t);
		if (t <= 40) {
			label_of(t, buf, sizeof(buf));
			expect_ok(luo_session_preserve_fd_labeled(s, fd, t * 7,
								  buf));
		} else {
			expect_ok(luo_session_preserve_fd(s, fd, t * 7));
		}
		xclose(fd);
	}
	expect_ok(luo_session_token_get_label(s, 7, &label));
	assert_str_eq(label, "file-1.bin");
	expect_ret(luo_session_token_get_label(s, 41 * 7, &label), -ENOENT);
	fd = memfd_pattern(99, 10);
	/* a label once per session; reserved tokens are libluo's */
	expect_ret(luo_session_preserve_fd_labeled(s, fd, 999, "file-3.bin"),
		   -EEXIST);
	expect_ret(luo_session_preserve_fd(s, fd, LUO_TOKEN_RESERVED_MIN),
		   -EINVAL);
	expect_ret(luo_session_preserve_fd(s, fd, UINT64_MAX), -EINVAL);
	xclose(fd);
	assert_eq(luo_session_token_count(s), 50);

	tb_kexec();
	expect_ok(luo_session_close(s, 0)); /* dead: nothing to lose */
	expect_ok(luo_session_retrieve(tb_ctx(), "rec.labels", &in));
	/* everything is known before anything is retrieved */
	assert_eq(luo_session_token_count(in), 50);
	expect_ok(luo_session_token_foreach(in, count_token, &l));
	assert_eq(l.n, 50);
	assert_eq(l.incoming, 50);
	expect_ok(luo_session_token_get_label(in, 40 * 7, &label));
	assert_str_eq(label, "file-40.bin");
	expect_ret(luo_session_token_get_label(in, 45 * 7, &label), -ENOENT);

	/* by label */
	for (t = 1; t <= 40; t++) {
		enum luo_token_state st;

		label_of(t, buf, sizeof(buf));
		expect_ok(luo_session_retrieve_fd_by_label(in, buf, &token,
							   &fd));
		assert_eq(token, t * 7);
		expect_file_pattern(fd, t, 100 + t);
		xclose(fd);
		expect_ok(luo_session_token_lookup(in, token, &st));
		assert_eq(st, LUO_TOKEN_RESTORED);
		/* the label outlives the retrieve */
		expect_ok(luo_session_token_get_label(in, token, &label));
		assert_str_eq(label, buf);
	}
	expect_ret(luo_session_retrieve_fd_by_label(in, "no-such", &token,
						    &fd),
		   -ENOENT);
	expect_ret(luo_session_retrieve_fd(in, LUO_TOKEN_RESERVED_MIN, &fd),
		   -EINVAL);
	/* and by number */
	for (t = 41; t <= 50; t++) {
		expect_ok(luo_session_retrieve_fd(in, t * 7, &fd));
		expect_file_pattern(fd, t, 100 + t);
		xclose(fd);
	}
	memset(&l, 0, sizeof(l));
	expect_ok(luo_session_token_foreach(in, count_token, &l));
	assert_eq(l.restored, 50);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
}

struct names {
	char seen[8][64];
	int n;
};

static int collect_name(const char *name, void *data)
{
	struct names *n = data;

	assert_lt(n->n, 8);
	snprintf(n->seen[n->n++], 64, "%s", name);
	return 0;
}

static bool listed(const struct names *n, const char *name)
{
	for (int i = 0; i < n->n; i++)
		if (!strcmp(n->seen[i], name))
			return true;
	return false;
}

static int stop_at_first(const char *name, void *data)
{
	(void)name;
	(void)data;
	return 42;
}

REC_TEST(the_index_lists_the_previous_boots_sessions)
{
	luo_session_t *a, *b, *c, *in;
	struct names n = { 0 };
	luo_ctx_t *other;
	int fd;

	tb_require_fake("needs a kexec");
	expect_ok(luo_session_create(tb_ctx(), "idx.a", &a));
	expect_ok(luo_session_create(tb_ctx(), "idx.b", &b));
	expect_ok(luo_session_create(tb_ctx(), "idx.c", &c));
	fd = memfd_pattern(1, 10);
	expect_ok(luo_session_preserve_fd_labeled(a, fd, 1, "one"));
	xclose(fd);
	expect_ok(luo_session_close(b, 0)); /* empty: closed for good */

	tb_kexec();
	expect_ok(luo_session_close(a, 0));
	expect_ok(luo_session_close(c, 0));
	expect_ok(luo_ctx_foreach_incoming_session(tb_ctx(), collect_name,
						   &n));
	assert_eq(n.n, 2);
	assert_true(listed(&n, "idx.a") && listed(&n, "idx.c"));
	/* a second listing answers from the context's copy */
	memset(&n, 0, sizeof(n));
	expect_ok(luo_ctx_foreach_incoming_session(tb_ctx(), collect_name,
						   &n));
	assert_eq(n.n, 2);
	/* the callback's value stops the listing */
	assert_eq(luo_ctx_foreach_incoming_session(tb_ctx(), stop_at_first,
						   NULL),
		  42);
	expect_ok(luo_session_retrieve(tb_ctx(), "idx.a", &in));
	assert_eq(luo_session_token_count(in), 1);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));

	/* another context of this boot: the index is held */
	expect_ok(luo_ctx_close_device(tb_ctx()));
	other = tb_new_ctx();
	expect_ret(luo_ctx_foreach_incoming_session(other, collect_name, &n),
		   -EBUSY);
	luo_ctx_unref(other);
	/* once its holder is gone, the index is gone for this boot */
	tb_drop_ctx();
	memset(&n, 0, sizeof(n));
	expect_ok(luo_ctx_foreach_incoming_session(tb_ctx(), collect_name,
						   &n));
	assert_eq(n.n, 0);
}

REC_TEST(a_context_without_the_device_lists_nothing)
{
	luo_ctx_opts_t *o = NULL;
	luo_ctx_t *ctx = NULL;
	struct names n = { 0 };

	tb_require_fake("a context on the fake kernel");
	expect_ok(luo_ctx_opts_new(&o));
	expect_ok(luo_ctx_opts_set_fake(o, tb.fake));
	expect_ok(luo_ctx_opts_set_open_device(o, false));
	expect_ok(luo_ctx_new(o, &ctx));
	luo_ctx_opts_free(o);
	expect_ret(luo_ctx_foreach_incoming_session(ctx, collect_name, &n),
		   -ENODEV);
	luo_ctx_unref(ctx);
}

/* ---- the fd store ------------------------------------------------------ */

/* A datagram socket at an abstract address, as the service manager's
 * notification socket. */
static int notify_listener(char *env, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int n;

	assert_ge(sock, 0);
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		     "libluo-test-notify-%d", getpid());
	assert_eq(bind(sock, (struct sockaddr *)&sa,
		       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				   (size_t)n)),
		  0, "bind: %s", strerror(errno));
	snprintf(env, len, "@%s", sa.sun_path + 1);
	return sock;
}

/* What the manager received: the text and the one descriptor. */
static int notify_receive(int sock, char *text, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = text, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int fd;

	assert_gt(n, 0, "recvmsg: %s", strerror(errno));
	text[n] = '\0';
	cm = CMSG_FIRSTHDR(&mh);
	assert_not_null(cm);
	assert_eq(cm->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* Pass @fd to this process as the manager would: at descriptor number
 * 3 + i under @name (the other names are placeholders). */
static int listen_pass(int fd, const char *name)
{
	char *names, pid[32], count[32];
	int at = fcntl(fd, F_DUPFD_CLOEXEC, 64), i, k = at - 3;
	size_t len = 0;

	assert_ge(at, 64);
	names = malloc((size_t)k * 2 + strlen(name) + 1);
	assert_not_null(names);
	for (i = 0; i < k; i++)
		len += (size_t)sprintf(names + len, "x:");
	strcpy(names + len, name);
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(count, sizeof(count), "%d", k + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", count, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	free(names);
	return at;
}

static luo_ctx_t *ctx_without_device(void)
{
	luo_ctx_opts_t *o = NULL;
	luo_ctx_t *ctx = NULL;

	expect_ok(luo_ctx_opts_new(&o));
	expect_ok(luo_ctx_opts_set_fake(o, tb.fake));
	expect_ok(luo_ctx_opts_set_open_device(o, false));
	expect_ok(luo_ctx_new(o, &ctx));
	luo_ctx_opts_free(o);
	return ctx;
}

REC_TEST(a_session_goes_through_the_fd_store_and_the_kexec)
{
	char env[128], text[256];
	luo_session_t *s, *mine, *again, *in;
	luo_ctx_t *svc;
	const char *label;
	int sock, stored, listen_fd, fd;
	uint64_t token;

	tb_require_fake("needs a kexec");
	sock = notify_listener(env, sizeof(env));
	setenv("NOTIFY_SOCKET", env, 1);

	/* the service makes a session and stores it */
	expect_ok(luo_session_create(tb_ctx(), "svc.state", &s));
	fd = memfd_pattern(5, 4096);
	expect_ok(luo_session_preserve_fd_labeled(s, fd, 5, "heap"));
	xclose(fd);
	expect_ret(luo_session_fdstore_push(s, "bad:name"), -EINVAL);
	expect_ok(luo_session_fdstore_push(s, "state"));
	stored = notify_receive(sock, text, sizeof(text));
	assert_str_eq(text, "FDSTORE=1\nFDNAME=state\n");
	expect_ok(luo_session_close(s, 0)); /* the manager holds it */

	/* the service restarts: the manager passes the session back */
	listen_fd = listen_pass(stored, "state");
	xclose(stored);
	svc = ctx_without_device();
	expect_ret(luo_session_from_fdstore(svc, "nope", &mine), -ENOENT);
	expect_ok(luo_session_from_fdstore(svc, "state", &mine));
	expect_ret(luo_session_from_fdstore(svc, "state", &again), -EBUSY);
	/* outgoing: it can be filled further, by a second record writer */
	fd = memfd_pattern(6, 4096);
	expect_ok(luo_session_preserve_fd_labeled(mine, fd, 6, "stack"));
	xclose(fd);
	/* the handle's descriptor is the manager's copy's: keep it as the
	 * manager would, and close our handle */
	stored = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
	expect_ok(luo_session_close(mine, 0));
	expect_ret(luo_session_from_fdstore(svc, "state", &again), -EBADF);
	luo_ctx_unref(svc);

	/* the kexec; the manager retrieves the session for the service */
	tb_kexec();
	xclose(stored); /* a descriptor of the old boot */
	expect_ok(luo_session_retrieve(tb_ctx(), "svc.state", &in));
	assert_eq(luo_session_token_count(in), 2);
	fd = luo_session_get_fd(in);
	stored = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	expect_ok(luo_session_close(in, LUO_SESSION_CLOSE_FORCE));
	svc = ctx_without_device();
	listen_fd = listen_pass(stored, "state");
	xclose(stored);
	expect_ok(luo_session_from_fdstore(svc, "state", &mine));
	assert_eq(luo_session_token_count(mine), 2);
	expect_ok(luo_session_token_get_label(mine, 6, &label));
	assert_str_eq(label, "stack");
	expect_ok(luo_session_retrieve_fd_by_label(mine, "heap", &token,
						   &fd));
	assert_eq(token, 5);
	expect_file_pattern(fd, 5, 4096);
	xclose(fd);
	expect_ok(luo_session_retrieve_fd_by_label(mine, "stack", &token,
						   &fd));
	expect_file_pattern(fd, 6, 4096);
	xclose(fd);
	expect_ok(luo_session_finish(mine));
	expect_ok(luo_session_close(mine, 0));
	luo_ctx_unref(svc);
	(void)listen_fd;
	xclose(sock);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_PID");
}

/* ---- a kexec in the middle of preserves -------------------------------- */

struct writer {
	luo_session_t *s;
	atomic_bool stop;
	_Atomic uint64_t done; /* preserves that succeeded */
};

static void *keep_preserving(void *data)
{
	struct writer *w = data;
	char label[32];
	uint64_t t;

	for (t = 1; !atomic_load(&w->stop); t++) {
		int fd = memfd_pattern(t, 64), r;

		snprintf(label, sizeof(label), "l%llu", (unsigned long long)t);
		r = luo_session_preserve_fd_labeled(w->s, fd, t, label);
		close(fd);
		if (r < 0)
			break; /* the kexec came: the handle is dead */
		atomic_store(&w->done, t);
	}
	return NULL;
}

REC_TEST(a_kexec_during_preserves_leaves_a_whole_record)
{
	struct writer w = { .s = NULL };
	luo_session_t *in;
	pthread_t th;
	int n, fd;

	tb_require_fake("needs a kexec");
	expect_ok(luo_session_create(tb_ctx(), "rec.race", &w.s));
	atomic_init(&w.stop, false);
	assert_eq(pthread_create(&th, NULL, keep_preserving, &w), 0);
	atomic_init(&w.done, 0);
	while (atomic_load(&w.done) < 300)
		usleep(100);
	expect_ok(luo_fake_kexec(tb.fake));
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	tb_drop_ctx();
	expect_ok(luo_session_close(w.s, 0));

	expect_ok(luo_session_retrieve(tb_ctx(), "rec.race", &in));
	n = luo_session_token_count(in);
	note("%d tokens listed, %llu preserves returned before the kexec", n,
	     (unsigned long long)atomic_load(&w.done));
	/* every preserve that returned before the kexec is listed (its entry
	 * was committed first); one more may have made it */
	assert_ge((uint64_t)n,
		  atomic_load(&w.done) > 0 ? atomic_load(&w.done) - 1 : 0);
	for (uint64_t t = 1; t <= (uint64_t)n; t++) {
		char label[32];
		uint64_t token;

		snprintf(label, sizeof(label), "l%llu", (unsigned long long)t);
		expect_ok(luo_session_retrieve_fd_by_label(in, label, &token,
							   &fd));
		assert_eq(token, t);
		expect_file_pattern(fd, t, 64);
		xclose(fd);
	}
	/* nothing listed that the kernel does not have, nothing beyond */
	expect_ret(luo_session_retrieve_fd(in, (uint64_t)n + 2, &fd), -ENOENT);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
}

/* ---- a context without the record --------------------------------------- */

static int count_files(const char *session, enum luo_session_direction dir,
		       uint64_t token, void *data)
{
	(void)session;
	(void)dir;
	(void)token;
	++*(int *)data;
	return 0;
}

REC_TEST(without_the_record_a_session_holds_only_its_files)
{
	luo_ctx_opts_t *o = NULL;
	luo_ctx_t *ctx = NULL;
	luo_session_t *s, *in;
	int fd, files = 0;

	tb_require_fake("needs a kexec");
	expect_ok(luo_ctx_opts_new(&o));
	expect_ok(luo_ctx_opts_set_fake(o, tb.fake));
	expect_ok(luo_ctx_opts_set_record(o, false));
	expect_ok(luo_ctx_new(o, &ctx));
	luo_ctx_opts_free(o);
	expect_ok(luo_session_create(ctx, "plain", &s));
	fd = memfd_pattern(3, 100);
	expect_ret(luo_session_preserve_fd_labeled(s, fd, 3, "x"), -EOPNOTSUPP);
	expect_ok(luo_session_preserve_fd(s, fd, 3));
	xclose(fd);
	/* no index session, no record file: as libluo 1.0 */
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 1);
	expect_ok(luo_fake_foreach_file(tb.fake, count_files, &files));
	assert_eq(files, 1);
	expect_ok(luo_fake_kexec(tb.fake));
	expect_ok(luo_session_close(s, 0));
	luo_ctx_unref(ctx);
	tb_drop_ctx();

	/* a reader with the record on: no record is the old behaviour */
	expect_ok(luo_session_retrieve(tb_ctx(), "plain", &in));
	assert_eq(luo_session_token_count(in), 0);
	expect_ok(luo_session_retrieve_fd(in, 3, &fd));
	expect_file_pattern(fd, 3, 100);
	xclose(fd);
	assert_eq(luo_session_token_count(in), 1);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
}

/* A passing error while the index is read is not the end of it: the next
 * listing goes on from what was retrieved (a regression: the error stuck
 * and the index sessions were finished with the context). */
REC_TEST(a_passing_error_while_reading_the_index_is_retried)
{
	luo_session_t *a;
	struct names n = { 0 };

	tb_require_fake("needs a kexec");
	expect_ok(luo_session_create(tb_ctx(), "idx.retry", &a));
	tb_kexec();
	expect_ok(luo_session_close(a, 0));
	/* the index session is retrieved, reading its record fails */
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_RETRIEVE_FD,
					ENOMEM));
	expect_ret(luo_ctx_foreach_incoming_session(tb_ctx(), collect_name,
						    &n),
		   -ENOMEM);
	assert_eq(n.n, 0);
	expect_ok(luo_ctx_foreach_incoming_session(tb_ctx(), collect_name,
						   &n));
	assert_eq(n.n, 1);
	assert_true(listed(&n, "idx.retry"));
}

/* The kernel's ENOSPC for a record segment passes: it is not "every
 * reserved token is used" (a regression: the record, or the index, then
 * refused every later preserve, or create, without asking the kernel). */
REC_TEST(a_full_kernel_session_is_not_a_full_record)
{
	luo_session_t *s;
	int fd;

	expect_ok(luo_session_create(tb_ctx(), "rec.enospc", &s));
	fd = memfd_pattern(1, 10);
	/* the first preserve makes the record's first segment: fail it */
	expect_ok(luo_fake_inject_error(tb.fake, LUO_FAKE_OP_PRESERVE_FD,
					ENOSPC));
	expect_ret(luo_session_preserve_fd(s, fd, 1), -ENOSPC);
	expect_ok(luo_session_preserve_fd(s, fd, 1));
	xclose(fd);
	assert_eq(luo_session_token_count(s), 1);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
}
