/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kexec round trips on the fake kernel: what goes into the next boot comes
 * out byte for byte, with its size, file offset and seals, and nothing else
 * does (closed sessions, unfinished incoming sessions, finished updates).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rng.h"
#include "test.h"

#define MiB (1024 * 1024)

/* A file that goes through the update, and what it must look like after. */
struct rt_file {
	uint64_t token;
	unsigned char *data;
	size_t len;
	off_t offset;
	int fd;          /* the original */
	int seals;       /* F_GET_SEALS of the original */
};

static void rt_make(struct rt_file *f, struct rng *r, uint64_t token,
		    size_t len, off_t offset, int add_seals)
{
	memset(f, 0, sizeof(*f));
	f->token = token;
	f->len = len;
	f->offset = offset;
	f->data = malloc(len ? len : 1);
	assert_not_null(f->data);
	rng_fill(r, f->data, len);
	f->fd = memfd_with("roundtrip", f->data, len, offset,
			   MFD_CLOEXEC | (add_seals ? MFD_ALLOW_SEALING : 0));
	if (add_seals)
		assert_eq(fcntl(f->fd, F_ADD_SEALS, add_seals), 0,
			  "F_ADD_SEALS: %s", strerror(errno));
	f->seals = fcntl(f->fd, F_GET_SEALS);
	assert_ge(f->seals, 0);
}

/* @fd is @f after the update. */
static void rt_check(const struct rt_file *f, int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	assert_true(!same_inode(fd, f->fd), "token %#llx: the old file came back",
		    (unsigned long long)f->token);
	expect_file_content(fd, f->data, f->len, f->offset);
	assert_eq(seals, f->seals, "token %#llx: seals %#x, expected %#x",
		  (unsigned long long)f->token, seals, f->seals);
	if (f->seals & F_SEAL_WRITE) {
		char byte = 0;

		assert_ne(pwrite(fd, &byte, 1, 0), 1,
			  "wrote to a write-sealed file");
	}
}

static void rt_free(struct rt_file *f)
{
	xclose(f->fd);
	free(f->data);
}

static luo_session_t *create(const char *name)
{
	luo_session_t *s = NULL;

	expect_ok(luo_session_create(tb_ctx(), name, &s));
	return s;
}

static luo_session_t *retrieve(const char *name)
{
	luo_session_t *s = NULL;
	enum luo_session_direction dir = 0;

	expect_ok(luo_session_retrieve(tb_ctx(), name, &s));
	expect_ok(luo_session_get_direction(s, &dir));
	assert_eq(dir, LUO_SESSION_INCOMING);
	return s;
}

static void expect_no_session(const char *name)
{
	luo_session_t *s = SENTINEL_PTR;

	expect_ret(luo_session_retrieve(tb_ctx(), name, &s), -ENOENT);
	assert_eq(s, SENTINEL_PTR);
}

static void close_force(luo_session_t *s)
{
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
}

static void retrieve_and_check(luo_session_t *s, const struct rt_file *f)
{
	int fd = -1;

	expect_ok(luo_session_retrieve_fd(s, f->token, &fd));
	rt_check(f, fd);
	xclose(fd);
}

#define RT_TEST(name, ...)                                               \
	LUO_TEST(roundtrip, name, LUO_ABI_MAINLINE, .timeout = 300,      \
		 ##__VA_ARGS__)

/* ---- sessions ----------------------------------------------------------- */

RT_TEST(sessions_carry_bytes_sizes_offsets_and_seals)
{
	struct rt_file alpha[5], beta[2];
	luo_session_t *a, *b, *e, *in;
	struct rng r;
	int i, none = SENTINEL_INT;

	tb_require_fake("needs a kexec");
	rng_init(&r, 0x12345);
	note("seed 0x12345");
	rt_make(&alpha[0], &r, 1, 4096, 1234, 0);
	rt_make(&alpha[1], &r, 2, 5 * MiB + 123, 3 * MiB + 7, 0);
	rt_make(&alpha[2], &r, 3, 0, 0, 0);
	rt_make(&alpha[3], &r, 4, 10000, 500,
		F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	/* the largest token a session takes (libluo's record is above) */
	rt_make(&alpha[4], &r, LUO_TOKEN_RESERVED_MIN - 1, 1, 1, F_SEAL_SEAL);
	rt_make(&beta[0], &r, 0, 65536, 65535, 0);
	rt_make(&beta[1], &r, 2, 100, 0, F_SEAL_GROW);

	a = create("rt.alpha");
	b = create("rt.beta");
	e = create("rt.empty");
	for (i = 0; i < 5; i++)
		expect_ok(luo_session_preserve_fd(a, alpha[i].fd,
						  alpha[i].token));
	for (i = 0; i < 2; i++)
		expect_ok(luo_session_preserve_fd(b, beta[i].fd,
						  beta[i].token));
	assert_eq(tb_fake_user_file_count(), 7);
	assert_eq(tb_fake_user_session_count(LUO_SESSION_OUTGOING), 3);
	/* libluo's: a record in each session preserved into (rt.empty has
	 * none), and the context's index */
	assert_eq(tb_fake_libluo_files_in("rt.alpha"), 1);
	assert_eq(tb_fake_libluo_files_in("rt.beta"), 1);
	assert_eq(tb_fake_libluo_files_in("rt.empty"), 0);
	assert_eq(tb_fake_index_session_count(LUO_SESSION_OUTGOING), 1);

	tb_kexec();
	close_force(a);
	close_force(b);
	close_force(e);
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 3);
	assert_eq(tb_fake_index_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_OUTGOING), 0);
	assert_eq(tb_fake_user_file_count(), 7);
	assert_eq(tb_fake_libluo_files_in("rt.alpha"), 1);
	assert_eq(tb_fake_libluo_files_in("rt.beta"), 1);

	/* Any order: beta first, alpha backwards. */
	in = retrieve("rt.beta");
	/* the record tells the tokens before any is retrieved */
	assert_eq(luo_session_token_count(in), 2);
	for (i = 1; i >= 0; i--)
		retrieve_and_check(in, &beta[i]);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));

	in = retrieve("rt.alpha");
	assert_eq(luo_session_token_count(in), 5);
	for (i = 4; i >= 0; i--)
		retrieve_and_check(in, &alpha[i]);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));

	in = retrieve("rt.empty");
	/* nothing was preserved in it: no record, nothing listed */
	assert_eq(luo_session_token_count(in), 0);
	expect_ret(luo_session_retrieve_fd(in, 0, &none), -ENOENT);
	assert_eq(none, SENTINEL_INT);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));

	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 0);
	assert_eq(tb_fake_user_file_count(), 0);
	/* finished with their sessions: what the fake holds still is the
	 * index of boot 1, that nobody retrieved */
	assert_eq(luo_fake_file_count(tb.fake), tb_fake_libluo_file_count());
	assert_eq(luo_fake_session_count(tb.fake, LUO_SESSION_INCOMING),
		  tb_fake_index_session_count(LUO_SESSION_INCOMING));
	for (i = 0; i < 5; i++)
		rt_free(&alpha[i]);
	for (i = 0; i < 2; i++)
		rt_free(&beta[i]);
}

RT_TEST(writes_after_preserve_are_carried)
{
	struct rt_file f;
	luo_session_t *s, *in;
	struct rng r;
	size_t i;

	tb_require_fake("needs a kexec");
	rng_init(&r, 77);
	rt_make(&f, &r, 9, 3 * 4096, 100, 0);
	s = create("rt.late");
	expect_ok(luo_session_preserve_fd(s, f.fd, 9));
	/* New bytes within the (frozen) size, written after preserving. */
	for (i = 0; i < f.len; i += 1000)
		f.data[i] ^= 0xff;
	assert_eq(pwrite(f.fd, f.data, f.len, 0), (ssize_t)f.len);
	tb_kexec();
	close_force(s);
	in = retrieve("rt.late");
	retrieve_and_check(in, &f);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	rt_free(&f);
}

RT_TEST(a_session_closed_before_kexec_does_not_survive)
{
	struct rt_file f, g;
	luo_session_t *gone, *kept, *in;
	struct rng r;

	tb_require_fake("needs a kexec");
	rng_init(&r, 5);
	rt_make(&f, &r, 1, 100, 0, 0);
	rt_make(&g, &r, 1, 200, 0, 0);
	gone = create("rt.gone");
	kept = create("rt.kept");
	expect_ok(luo_session_preserve_fd(gone, f.fd, 1));
	expect_ok(luo_session_preserve_fd(kept, g.fd, 1));
	close_force(gone);
	tb_kexec();
	close_force(kept);
	expect_no_session("rt.gone");
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(tb_fake_libluo_files_in("rt.gone"), 0);
	in = retrieve("rt.kept");
	retrieve_and_check(in, &g);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	rt_free(&f);
	rt_free(&g);
}

RT_TEST(a_sent_session_survives_with_its_receiver)
{
	struct rt_file f, g;
	luo_session_t *s, *t, *got = NULL, *in;
	struct rng r;
	int sock[2], sock2[2];

	tb_require_fake("needs a kexec");
	rng_init(&r, 6);
	rt_make(&f, &r, 1, 300, 3, 0);
	rt_make(&g, &r, 2, 400, 4, 0);
	assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock),
		  0);
	assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock2),
		  0);
	s = create("rt.sent");
	t = create("rt.inflight");
	expect_ok(luo_session_preserve_fd(s, f.fd, 1));
	expect_ok(luo_session_preserve_fd(t, g.fd, 2));
	/* One received, one still in flight at the kexec. */
	expect_ok(luo_session_send(s, sock[0]));
	expect_ok(luo_session_close(s, 0));
	expect_ok(luo_session_recv(tb_ctx(), sock[1], &got));
	expect_ok(luo_session_send(t, sock2[0]));
	expect_ok(luo_session_close(t, 0));
	tb_kexec();
	close_force(got);
	xclose(sock2[0]);
	xclose(sock2[1]);

	in = retrieve("rt.sent");
	retrieve_and_check(in, &f);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	in = retrieve("rt.inflight");
	retrieve_and_check(in, &g);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	xclose(sock[0]);
	xclose(sock[1]);
	rt_free(&f);
	rt_free(&g);
}

RT_TEST(two_kexecs_in_a_row_leave_nothing_stale)
{
	struct rt_file boot1[2], boot2[2], only1;
	luo_session_t *s, *t, *in;
	struct rng r;
	int fd = -1;

	tb_require_fake("needs two kexecs");
	rng_init(&r, 0xb007);
	rt_make(&boot1[0], &r, 1, 1000, 10, 0);
	rt_make(&boot1[1], &r, 2, 2000, 20, 0);
	rt_make(&boot2[0], &r, 1, 3000, 30, 0);
	rt_make(&boot2[1], &r, 5, 4000, 40, F_SEAL_SHRINK);
	rt_make(&only1, &r, 5, 500, 50, 0);

	/* Boot 1: "rt.s" with tokens 1 and 2, "rt.only1" with token 5. */
	s = create("rt.s");
	t = create("rt.only1");
	expect_ok(luo_session_preserve_fd(s, boot1[0].fd, 1));
	expect_ok(luo_session_preserve_fd(s, boot1[1].fd, 2));
	expect_ok(luo_session_preserve_fd(t, only1.fd, 5));
	tb_kexec();
	close_force(s);
	close_force(t);

	/* Boot 2: take everything, finish, and build a new "rt.s". */
	in = retrieve("rt.s");
	retrieve_and_check(in, &boot1[0]);
	retrieve_and_check(in, &boot1[1]);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	in = retrieve("rt.only1");
	retrieve_and_check(in, &only1);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	assert_eq(tb_fake_user_file_count(), 0);

	s = create("rt.s");
	expect_ok(luo_session_preserve_fd(s, boot2[0].fd, 1));
	expect_ok(luo_session_preserve_fd(s, boot2[1].fd, 5));
	tb_kexec();
	close_force(s);

	/* Boot 3: the new "rt.s" only; token 2 of boot 1 is gone. */
	expect_no_session("rt.only1");
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(tb_fake_user_file_count(), 2);
	/* the index of boot 1 was not carried again: boot 2's only */
	assert_eq(tb_fake_index_session_count(LUO_SESSION_INCOMING), 1);
	in = retrieve("rt.s");
	/* boot 2's record, not boot 1's: tokens 1 and 5 */
	{
		struct tb_token_list got = { 0 };

		expect_ok(luo_session_token_foreach(in, tb_collect_token,
						    &got));
		assert_eq(got.n, 2);
		assert_eq(tb_token_list_state(&got, 1), LUO_TOKEN_INCOMING);
		assert_eq(tb_token_list_state(&got, 5), LUO_TOKEN_INCOMING);
	}
	retrieve_and_check(in, &boot2[0]);
	retrieve_and_check(in, &boot2[1]);
	fd = SENTINEL_INT;
	expect_ret(luo_session_retrieve_fd(in, 2, &fd), -ENOENT);
	assert_eq(fd, SENTINEL_INT);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	assert_eq(luo_fake_get_boot(tb.fake), 2);
	rt_free(&boot1[0]);
	rt_free(&boot1[1]);
	rt_free(&boot2[0]);
	rt_free(&boot2[1]);
	rt_free(&only1);
}

RT_TEST(unfinished_incoming_sessions_are_discarded_at_the_next_kexec)
{
	struct rt_file f[3];
	luo_session_t *u1, *u2, *u3, *in2, *next, *in;
	struct rng r;
	int i, fd = -1;

	tb_require_fake("needs two kexecs");
	rng_init(&r, 0xd15c);
	for (i = 0; i < 3; i++)
		rt_make(&f[i], &r, (uint64_t)i + 1, 512, 0, 0);
	u1 = create("rt.u1");
	u2 = create("rt.u2");
	u3 = create("rt.u3");
	expect_ok(luo_session_preserve_fd(u1, f[0].fd, 1));
	expect_ok(luo_session_preserve_fd(u2, f[1].fd, 2));
	expect_ok(luo_session_preserve_fd(u3, f[2].fd, 3));
	tb_kexec();
	close_force(u1);
	close_force(u2);
	close_force(u3);

	/* Boot 2: rt.u1 never retrieved; rt.u2 retrieved, a file taken, not
	 * finished, its handle still open at the kexec; rt.u3 finished. */
	in2 = retrieve("rt.u2");
	expect_ok(luo_session_retrieve_fd(in2, 2, &fd));
	rt_check(&f[1], fd);
	in = retrieve("rt.u3");
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	next = create("rt.next");
	tb_kexec();
	close_force(in2);
	close_force(next);

	expect_no_session("rt.u1");
	expect_no_session("rt.u2");
	expect_no_session("rt.u3");
	in = retrieve("rt.next");
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 0);
	assert_eq(tb_fake_user_file_count(), 0);
	/* boot 2's index (rt.next), boot 1's is gone with rt.u1 */
	assert_eq(tb_fake_index_session_count(LUO_SESSION_INCOMING), 1);
	/* The file taken in boot 2 is still the caller's. */
	rt_check(&f[1], fd);
	xclose(fd);
	for (i = 0; i < 3; i++)
		rt_free(&f[i]);
}

/* ---- the original API, on both ABIs ------------------------------------- */

static void expect_state(enum luo_state expected)
{
	enum luo_state state = 0;

	expect_ok(luo_get_state(tb_ctx(), &state));
	assert_eq(state, expected, "state %s, expected %s",
		  luo_state_to_string(state), luo_state_to_string(expected));
}

LUO_TEST_BOTH(roundtrip_seed, tokens_carry_bytes_sizes_offsets_and_seals,
	      .timeout = 300)
{
	struct rt_file f[6];
	enum luo_token_state ts = 0;
	struct rng r;
	int i, fd;

	tb_require_fake("needs a kexec");
	rng_init(&r, 0x5eed5);
	rt_make(&f[0], &r, 0, 4096, 4000, 0);
	rt_make(&f[1], &r, 7, 3 * MiB + 5, MiB, 0);
	rt_make(&f[2], &r, UINT64_MAX, 0, 0, 0);
	rt_make(&f[3], &r, 0xfeedface, 8192, 1, F_SEAL_WRITE | F_SEAL_GROW);
	rt_make(&f[4], &r, 0x8000000000000000ULL, 10, 10, 0);
	rt_make(&f[5], &r, 42, 50, 0, 0);
	for (i = 0; i < 6; i++)
		expect_ok(luo_fd_preserve(tb_ctx(), f[i].fd, f[i].token));
	/* One of them changes its mind. */
	expect_ok(luo_fd_unpreserve(tb_ctx(), 42));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();

	expect_state(LUO_STATE_UPDATED);
	/* Mainline: known from libluo's manifest; RFC: not listable. */
	assert_eq(luo_token_count(tb_ctx()),
		  tb.abi == LUO_ABI_MAINLINE ? 5 : 0);
	fd = SENTINEL_INT;
	expect_ret(luo_fd_restore(tb_ctx(), 42, &fd), -ENOENT);
	assert_eq(fd, SENTINEL_INT);
	for (i = 4; i >= 0; i--) {
		expect_ok(luo_fd_restore(tb_ctx(), f[i].token, &fd));
		rt_check(&f[i], fd);
		xclose(fd);
		expect_ok(luo_token_lookup(tb_ctx(), f[i].token, &ts));
		assert_eq(ts, LUO_TOKEN_RESTORED);
	}
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	if (tb.abi == LUO_ABI_MAINLINE)
		assert_eq(luo_fake_file_count(tb.fake), 0);
	for (i = 0; i < 6; i++)
		rt_free(&f[i]);
}

LUO_TEST_BOTH(roundtrip_seed, two_updates_in_a_row_leave_nothing_stale,
	      .timeout = 300)
{
	struct rt_file a1, b1, a2, c2;
	enum luo_token_state ts = 0;
	struct rng r;
	int fd = -1;

	tb_require_fake("needs two kexecs");
	rng_init(&r, 0x2222);
	rt_make(&a1, &r, 1, 1111, 11, 0);
	rt_make(&b1, &r, 2, 2222, 22, 0);
	rt_make(&a2, &r, 1, 3333, 33, 0);
	rt_make(&c2, &r, 3, 4444, 44, 0);

	expect_ok(luo_fd_preserve(tb_ctx(), a1.fd, 1));
	expect_ok(luo_fd_preserve(tb_ctx(), b1.fd, 2));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();

	/* Boot 2: restore token 1 only; finish drops token 2. */
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	rt_check(&a1, fd);
	xclose(fd);
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	/* Token 1 is free for a new file; token 3 is new. */
	expect_ok(luo_fd_preserve(tb_ctx(), a2.fd, 1));
	expect_ok(luo_fd_preserve(tb_ctx(), c2.fd, 3));
	assert_eq(luo_token_count(tb_ctx()), 2);
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();

	/* Boot 3: exactly boot 2's tokens, with boot 2's bytes. */
	expect_state(LUO_STATE_UPDATED);
	expect_ret(luo_token_lookup(tb_ctx(), 2, &ts), -ENOENT);
	if (tb.abi == LUO_ABI_MAINLINE) {
		assert_eq(luo_token_count(tb_ctx()), 2);
		expect_ok(luo_token_lookup(tb_ctx(), 1, &ts));
		assert_eq(ts, LUO_TOKEN_INCOMING);
	} else {
		assert_eq(luo_token_count(tb_ctx()), 0);
	}
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	rt_check(&a2, fd);
	xclose(fd);
	expect_ok(luo_fd_restore(tb_ctx(), 3, &fd));
	rt_check(&c2, fd);
	xclose(fd);
	fd = SENTINEL_INT;
	expect_ret(luo_fd_restore(tb_ctx(), 2, &fd), -ENOENT);
	assert_eq(fd, SENTINEL_INT);
	expect_ok(luo_finish(tb_ctx()));
	rt_free(&a1);
	rt_free(&b1);
	rt_free(&a2);
	rt_free(&c2);
}

LUO_TEST_BOTH(roundtrip_seed, an_unfinished_update_is_discarded_at_the_next,
	      .timeout = 300)
{
	struct rt_file a;
	struct rng r;
	int fd = SENTINEL_INT;

	tb_require_fake("needs two kexecs");
	rng_init(&r, 3);
	rt_make(&a, &r, 1, 100, 0, 0);
	expect_ok(luo_fd_preserve(tb_ctx(), a.fd, 1));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_state(LUO_STATE_UPDATED);
	/* No finish, no prepare: the next kexec carries nothing. */
	tb_kexec();
	expect_state(LUO_STATE_NORMAL);
	assert_eq(luo_token_count(tb_ctx()), 0);
	assert_eq(luo_fake_file_count(tb.fake), 0);
	expect_ret(luo_fd_restore(tb_ctx(), 1, &fd), -EBUSY);
	assert_eq(fd, SENTINEL_INT);
	rt_free(&a);
}

LUO_TEST(roundtrip_seed_mainline, seed_and_sessions_travel_together,
	 LUO_ABI_MAINLINE, .timeout = 300)
{
	struct rt_file seed, sess;
	luo_session_t *s, *in;
	struct rng r;
	int fd = -1;

	tb_require_fake("needs a kexec");
	rng_init(&r, 4);
	rt_make(&seed, &r, 1, 1000, 1, 0);
	rt_make(&sess, &r, 1, 2000, 2, 0);
	s = create("rt.mixed");
	expect_ok(luo_session_preserve_fd(s, sess.fd, 1));
	expect_ok(luo_fd_preserve(tb_ctx(), seed.fd, 1));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	close_force(s);

	expect_state(LUO_STATE_UPDATED);
	in = retrieve("rt.mixed");
	retrieve_and_check(in, &sess);
	expect_ok(luo_fd_restore(tb_ctx(), 1, &fd));
	rt_check(&seed, fd);
	xclose(fd);
	/* Finishing the original API leaves the user's session alone. */
	expect_ok(luo_finish(tb_ctx()));
	expect_state(LUO_STATE_NORMAL);
	/* rt.mixed (and the index of boot 1's context, libluo's) */
	assert_eq(tb_fake_user_session_count(LUO_SESSION_INCOMING), 1);
	assert_eq(tb_fake_index_session_count(LUO_SESSION_INCOMING), 1);
	retrieve_and_check(in, &sess);
	expect_ok(luo_session_finish(in));
	expect_ok(luo_session_close(in, 0));
	rt_free(&seed);
	rt_free(&sess);
}
