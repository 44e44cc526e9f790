/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contract: token lookup, count and iteration, on contexts and sessions. */
#include <stdlib.h>
#include <unistd.h>

#include "rng.h"
#include "test.h"

#define MANY 40

struct stopper {
	int calls;
	int stop_at;     /* 1-based call that stops */
	int value;       /* returned by that call */
};

static int stop_fn(uint64_t token, enum luo_token_state state, void *userdata)
{
	struct stopper *st = userdata;

	(void)token;
	(void)state;
	return ++st->calls == st->stop_at ? st->value : 0;
}

static int never_fn(uint64_t token, enum luo_token_state state, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

/* MANY distinct tokens, with the extremes among them. */
static void make_tokens_up_to(uint64_t *tokens, uint64_t top)
{
	struct rng r;
	int i, j;

	rng_init(&r, 0x70c3e5);
	tokens[0] = 0;
	tokens[1] = top;
	for (i = 2; i < MANY; i++) {
again:
		tokens[i] = rng_next(&r);
		if (tokens[i] > top)
			goto again;
		for (j = 0; j < i; j++)
			if (tokens[j] == tokens[i])
				goto again;
	}
}

/* The original API takes any 64-bit token. */
static void make_tokens(uint64_t *tokens)
{
	make_tokens_up_to(tokens, UINT64_MAX);
}

/* A session takes those below LUO_TOKEN_RESERVED_MIN (libluo's record
 * lives above). */
static void make_session_tokens(uint64_t *tokens)
{
	make_tokens_up_to(tokens, LUO_TOKEN_RESERVED_MIN - 1);
}

static void expect_same_set(struct tb_token_list *got, const uint64_t *want,
			    int n, enum luo_token_state state)
{
	uint64_t sorted[MANY];
	int i;

	assert_eq(got->n, n, "foreach visited %d tokens, expected %d",
		  got->n, n);
	for (i = 0; i < n; i++)
		assert_eq(got->states[i], state, "token %#llx: state %d",
			  (unsigned long long)got->tokens[i],
			  got->states[i]);
	memcpy(sorted, want, (size_t)n * sizeof(*want));
	tb_sort_tokens(sorted, (size_t)n);
	tb_sort_tokens(got->tokens, (size_t)n);
	for (i = 0; i < n; i++)
		assert_eq(got->tokens[i], sorted[i],
			  "token %d: %#llx, expected %#llx", i,
			  (unsigned long long)got->tokens[i],
			  (unsigned long long)sorted[i]);
}

/* ---- the original API's tokens ------------------------------------------ */

LUO_TEST_BOTH(tokens, a_new_context_knows_no_token)
{
	enum luo_token_state state = (enum luo_token_state)SENTINEL_INT;
	int calls = 0;

	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ok(luo_token_foreach(tb_ctx(), never_fn, &calls));
	assert_eq(calls, 0);
	expect_ret(luo_token_lookup(tb_ctx(), 0, &state), -ENOENT);
	assert_eq(state, (enum luo_token_state)SENTINEL_INT);
}

LUO_TEST_BOTH(tokens, null_arguments_are_einval)
{
	enum luo_token_state state = (enum luo_token_state)SENTINEL_INT;
	int calls = 0, fd = memfd_pattern(1, 10);

	expect_ok(luo_fd_preserve(tb_ctx(), fd, 1));
	expect_ret(luo_token_count(NULL), -EINVAL);
	expect_ret(luo_token_foreach(NULL, never_fn, &calls), -EINVAL);
	expect_ret(luo_token_foreach(tb_ctx(), NULL, &calls), -EINVAL);
	expect_ret(luo_token_lookup(NULL, 1, &state), -EINVAL);
	expect_ret(luo_token_lookup(tb_ctx(), 1, NULL), -EINVAL);
	assert_eq(state, (enum luo_token_state)SENTINEL_INT);
	assert_eq(calls, 0);
	assert_eq(luo_token_count(tb_ctx()), 1);
	xclose(fd);
}

LUO_TEST_BOTH(tokens, foreach_visits_every_token_once)
{
	uint64_t tokens[MANY];
	struct tb_token_list got = { 0 };
	int fds[MANY], i;

	make_tokens(tokens);
	for (i = 0; i < MANY; i++) {
		fds[i] = memfd_pattern(tokens[i], 8);
		expect_ok(luo_fd_preserve(tb_ctx(), fds[i], tokens[i]));
	}
	assert_eq(luo_token_count(tb_ctx()), MANY);
	expect_ok(luo_token_foreach(tb_ctx(), tb_collect_token, &got));
	expect_same_set(&got, tokens, MANY, LUO_TOKEN_PRESERVED);

	/* Unpreserve half: iteration follows. */
	for (i = 0; i < MANY; i += 2)
		expect_ok(luo_fd_unpreserve(tb_ctx(), tokens[i]));
	assert_eq(luo_token_count(tb_ctx()), MANY / 2);
	memset(&got, 0, sizeof(got));
	expect_ok(luo_token_foreach(tb_ctx(), tb_collect_token, &got));
	{
		uint64_t odd[MANY / 2];

		for (i = 1; i < MANY; i += 2)
			odd[i / 2] = tokens[i];
		expect_same_set(&got, odd, MANY / 2, LUO_TOKEN_PRESERVED);
	}
	for (i = 0; i < MANY; i++)
		xclose(fds[i]);
}

LUO_TEST_BOTH(tokens, foreach_stops_on_a_non_zero_return)
{
	struct stopper st = { 0, 3, 42 };
	int fds[10], i;

	for (i = 0; i < 10; i++) {
		fds[i] = memfd_pattern((uint64_t)i, 8);
		expect_ok(luo_fd_preserve(tb_ctx(), fds[i], (uint64_t)i));
	}
	expect_ret(luo_token_foreach(tb_ctx(), stop_fn, &st), 42);
	assert_eq(st.calls, 3, "%d calls after the stop", st.calls - 3);

	st = (struct stopper){ 0, 1, -7 };
	expect_ret(luo_token_foreach(tb_ctx(), stop_fn, &st), -7);
	assert_eq(st.calls, 1);

	st = (struct stopper){ 0, 10, 1 };
	expect_ret(luo_token_foreach(tb_ctx(), stop_fn, &st), 1);
	assert_eq(st.calls, 10);

	st = (struct stopper){ 0, 11, 1 };
	expect_ok(luo_token_foreach(tb_ctx(), stop_fn, &st));
	assert_eq(st.calls, 10);
	for (i = 0; i < 10; i++)
		xclose(fds[i]);
}

struct reentrant {
	luo_ctx_t *ctx;
	int calls;
	int count_seen;
	int lookups_ok;
	int unpreserved;
};

static int reentrant_fn(uint64_t token, enum luo_token_state state,
			void *userdata)
{
	struct reentrant *r = userdata;
	enum luo_token_state now = 0;

	r->calls++;
	if (r->calls == 1)
		r->count_seen = luo_token_count(r->ctx);
	if (luo_token_lookup(r->ctx, token, &now) == 0 && now == state)
		r->lookups_ok++;
	if (token % 2 == 0 && luo_fd_unpreserve(r->ctx, token) == 0)
		r->unpreserved++;
	return 0;
}

LUO_TEST_BOTH(tokens, callback_may_call_libluo, .timeout = 20)
{
	struct reentrant r = { 0 };
	int fds[8], i;

	r.ctx = tb_ctx();
	for (i = 0; i < 8; i++) {
		fds[i] = memfd_pattern((uint64_t)i, 8);
		expect_ok(luo_fd_preserve(tb_ctx(), fds[i], (uint64_t)i));
	}
	expect_ok(luo_token_foreach(tb_ctx(), reentrant_fn, &r));
	/* The iteration ran on a snapshot: all 8 were visited. */
	assert_eq(r.calls, 8);
	assert_eq(r.count_seen, 8);
	assert_eq(r.lookups_ok, 8);
	assert_eq(r.unpreserved, 4);
	assert_eq(luo_token_count(tb_ctx()), 4);
	for (i = 0; i < 8; i++) {
		assert_eq(tb_file_is_preserved(fds[i]), i % 2 == 1);
		xclose(fds[i]);
	}
}

LUO_TEST_BOTH(tokens, states_follow_an_update)
{
	struct tb_token_list got = { 0 };
	int a, b, c, fd = -1;

	tb_require_fake("needs a kexec");
	a = memfd_pattern(1, 8);
	b = memfd_pattern(2, 8);
	c = memfd_pattern(3, 8);
	expect_ok(luo_fd_preserve(tb_ctx(), a, 1));
	expect_ok(luo_fd_preserve(tb_ctx(), b, 2));
	expect_ok(luo_fd_preserve(tb_ctx(), c, 3));
	expect_ok(luo_prepare(tb_ctx()));
	tb_kexec();
	expect_ok(luo_fd_restore(tb_ctx(), 2, &fd));
	expect_ok(luo_token_foreach(tb_ctx(), tb_collect_token, &got));
	assert_eq(tb_token_list_state(&got, 2), LUO_TOKEN_RESTORED);
	if (tb.abi == LUO_ABI_MAINLINE) {
		/* The manifest told libluo about the others. */
		assert_eq(got.n, 3);
		assert_eq(tb_token_list_state(&got, 1), LUO_TOKEN_INCOMING);
		assert_eq(tb_token_list_state(&got, 3), LUO_TOKEN_INCOMING);
	} else {
		/* The RFC kernel cannot list them: only the restored one. */
		assert_eq(got.n, 1);
	}
	assert_eq(luo_token_count(tb_ctx()), got.n);
	expect_ok(luo_finish(tb_ctx()));
	xclose(fd);
	xclose(a);
	xclose(b);
	xclose(c);
}

/* ---- a session's tokens ------------------------------------------------- */

LUO_TEST(tokens, session_tokens, LUO_ABI_MAINLINE)
{
	uint64_t tokens[MANY];
	struct tb_token_list got = { 0 };
	enum luo_token_state state = (enum luo_token_state)SENTINEL_INT;
	struct stopper st = { 0, 2, 99 };
	luo_session_t *s = NULL, *other = NULL;
	int fds[MANY], i, calls = 0;

	make_session_tokens(tokens);
	expect_ok(luo_session_create(tb_ctx(), "tests.tokens", &s));
	expect_ok(luo_session_create(tb_ctx(), "tests.other", &other));
	assert_eq(luo_session_token_count(s), 0);
	expect_ok(luo_session_token_foreach(s, never_fn, &calls));
	assert_eq(calls, 0);
	for (i = 0; i < MANY; i++) {
		fds[i] = memfd_pattern(tokens[i], 8);
		expect_ok(luo_session_preserve_fd(s, fds[i], tokens[i]));
	}
	assert_eq(luo_session_token_count(s), MANY);
	assert_eq(luo_session_token_count(other), 0);
	assert_eq(luo_token_count(tb_ctx()), 0);
	expect_ok(luo_session_token_foreach(s, tb_collect_token, &got));
	expect_same_set(&got, tokens, MANY, LUO_TOKEN_PRESERVED);
	expect_ok(luo_session_token_lookup(s, LUO_TOKEN_RESERVED_MIN - 1,
					   &state));
	assert_eq(state, LUO_TOKEN_PRESERVED);
	state = (enum luo_token_state)SENTINEL_INT;
	expect_ret(luo_session_token_lookup(other, LUO_TOKEN_RESERVED_MIN - 1,
					    &state),
		   -ENOENT);
	assert_eq(state, (enum luo_token_state)SENTINEL_INT);
	/* The record's tokens are libluo's: refused, never listed. */
	{
		static const uint64_t reserved[] = {
			LUO_TOKEN_RESERVED_MIN, LUO_TOKEN_RESERVED_MIN + 1,
			UINT64_MAX - 1, UINT64_MAX,
		};
		struct tb_snapshot before;
		int fd = memfd_pattern(77, 8);

		tb_snapshot(&before);
		for (i = 0; i < 4; i++) {
			expect_ret(luo_session_preserve_fd(s, fd, reserved[i]),
				   -EINVAL);
			expect_ret(luo_session_preserve_fd(other, fd,
							   reserved[i]),
				   -EINVAL);
			expect_ret(luo_session_token_lookup(s, reserved[i],
							    &state),
				   -ENOENT);
		}
		tb_expect_unchanged(&before);
		assert_eq(luo_session_token_count(s), MANY);
		assert_eq(luo_session_token_count(other), 0);
		if (tb.fake) /* other made no record for them */
			assert_eq(tb_fake_libluo_files_in("tests.other"), 0);
		xclose(fd);
	}
	expect_ret(luo_session_token_foreach(s, stop_fn, &st), 99);
	assert_eq(st.calls, 2);

	expect_ret(luo_session_token_count(NULL), -EINVAL);
	expect_ret(luo_session_token_foreach(NULL, never_fn, &calls), -EINVAL);
	expect_ret(luo_session_token_foreach(s, NULL, &calls), -EINVAL);
	expect_ret(luo_session_token_lookup(NULL, 1, &state), -EINVAL);
	expect_ret(luo_session_token_lookup(s, 1, NULL), -EINVAL);
	assert_eq(state, (enum luo_token_state)SENTINEL_INT);
	assert_eq(calls, 0);

	if (tb.fake)
		assert_eq(tb_fake_files_in("tests.tokens"), MANY);
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_close(other, 0));
	for (i = 0; i < MANY; i++)
		xclose(fds[i]);
}

struct session_reentrant {
	luo_session_t *s;
	int calls;
	int count_seen;
};

static int session_reentrant_fn(uint64_t token, enum luo_token_state state,
				void *userdata)
{
	struct session_reentrant *r = userdata;
	enum luo_token_state now = 0;

	r->calls++;
	r->count_seen = luo_session_token_count(r->s);
	if (luo_session_token_lookup(r->s, token, &now) || now != state)
		return -1;
	return 0;
}

LUO_TEST(tokens, session_callback_may_call_libluo, LUO_ABI_MAINLINE,
	 .timeout = 20)
{
	struct session_reentrant r = { 0 };
	int fds[4], i;

	expect_ok(luo_session_create(tb_ctx(), "tests.reentrant", &r.s));
	for (i = 0; i < 4; i++) {
		fds[i] = memfd_pattern((uint64_t)i, 8);
		expect_ok(luo_session_preserve_fd(r.s, fds[i], (uint64_t)i));
	}
	expect_ok(luo_session_token_foreach(r.s, session_reentrant_fn, &r));
	assert_eq(r.calls, 4);
	assert_eq(r.count_seen, 4);
	expect_ok(luo_session_close(r.s, LUO_SESSION_CLOSE_FORCE));
	for (i = 0; i < 4; i++)
		xclose(fds[i]);
}

LUO_TEST(tokens, incoming_session_tokens_follow_retrieval, LUO_ABI_MAINLINE)
{
	luo_session_t *s = NULL;
	struct tb_token_list got = { 0 };
	enum luo_token_state state = 0;
	int a, b, fd = -1;

	tb_require_fake("needs a kexec");
	a = memfd_pattern(1, 8);
	b = memfd_pattern(2, 8);
	expect_ok(luo_session_create(tb_ctx(), "tests.in", &s));
	expect_ok(luo_session_preserve_fd(s, a, 1));
	expect_ok(luo_session_preserve_fd(s, b, 2));
	tb_kexec();
	expect_ok(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	expect_ok(luo_session_retrieve(tb_ctx(), "tests.in", &s));
	/* Its record lists both before anything is retrieved. */
	assert_eq(luo_session_token_count(s), 2);
	expect_ok(luo_session_token_foreach(s, tb_collect_token, &got));
	assert_eq(got.n, 2);
	assert_eq(tb_token_list_state(&got, 1), LUO_TOKEN_INCOMING);
	assert_eq(tb_token_list_state(&got, 2), LUO_TOKEN_INCOMING);
	memset(&got, 0, sizeof(got));
	expect_ok(luo_session_retrieve_fd(s, 2, &fd));
	expect_ok(luo_session_token_lookup(s, 2, &state));
	assert_eq(state, LUO_TOKEN_RESTORED);
	expect_ok(luo_session_token_foreach(s, tb_collect_token, &got));
	assert_eq(tb_token_list_state(&got, 2), LUO_TOKEN_RESTORED);
	assert_eq(tb_token_list_state(&got, 1), LUO_TOKEN_INCOMING);
	assert_eq(luo_session_token_count(s), got.n);
	assert_eq(got.n, 2);
	expect_ok(luo_session_finish(s));
	expect_ok(luo_session_close(s, 0));
	xclose(fd);
	xclose(a);
	xclose(b);
}
