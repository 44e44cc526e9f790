/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Many threads on one context (fake kernel): sessions created, filled,
 * queried and closed (some by another thread, handed over), tokens of the
 * original API preserved and unpreserved, iterations, state changes.  When
 * all threads are done, libluo's bookkeeping must match what the fake kernel
 * holds.  Meant to run under ThreadSanitizer as well (-Db_sanitize=thread).
 *
 * Each scenario is a test of the harness (tests/harness), so it runs in a
 * child process forked while the parent is still single-threaded: a crash,
 * a sanitizer report (TSan exits 66, LSan 23) or a failed check in one
 * scenario fails that scenario alone.  This suite was the reason for a
 * harness of our own: Criterion cannot start under ThreadSanitizer
 * (Snaipe/Criterion#274).
 *
 * Worker threads never assert (a failed assertion would end the scenario
 * before the other threads are joined and checked): they record their
 * first failure, which the scenario's main thread asserts on after joining
 * them.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "expect.h"
#include "fd-count.h"
#include "harness.h"
#include "leak-check.h"
#include "libluo-own.h"
#include "rng.h"

/* The scenario's fake kernel and the options that reach it. */
static luo_fake_t *fake;
static luo_ctx_opts_t *opts;

static luo_ctx_t *new_ctx(void)
{
	luo_ctx_t *ctx = NULL;

	expect_ok(luo_ctx_new(opts, &ctx));
	return ctx;
}

#define NWORKERS 8
#define ITERATIONS 2000
#define MAX_SESSIONS 12
#define MAX_SESSION_TOKENS 24
#define MAX_SEED 48
#define MAILBOX 64

struct owned_session {
	luo_session_t *s;
	char name[32];
	uint64_t tokens[MAX_SESSION_TOKENS];
	int ntokens;
};

struct worker {
	int id;
	luo_ctx_t *ctx;
	pthread_barrier_t *start;
	struct rng rng;
	uint64_t counter;

	struct owned_session sessions[MAX_SESSIONS];
	int nsessions;
	uint64_t seed[MAX_SEED];
	int nseed;

	/* sessions handed to this worker to close */
	pthread_mutex_t lock;
	luo_session_t *mailbox[MAILBOX];
	int nmail;
	struct worker *next; /* where this worker hands sessions to */

	int closed_for_others;
	int busy_seen;        /* -EBUSY from the original API while prepared */
	char failure[256];    /* first failure, "" if none */
};

static void __attribute__((format(printf, 2, 3)))
worker_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->failure, sizeof(w->failure), fmt, ap);
	va_end(ap);
}

#define CHECK(w, cond, ...)                                              \
	do {                                                             \
		if (!(cond))                                             \
			worker_fail((w), __VA_ARGS__);                   \
	} while (0)

static int new_memfd(struct worker *w)
{
	int fd = memfd_create("threads", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, 64) < 0)
		worker_fail(w, "memfd: %s", strerror(errno));
	return fd;
}

static void drain_mailbox(struct worker *w)
{
	luo_session_t *todo[MAILBOX];
	int i, n;

	pthread_mutex_lock(&w->lock);
	n = w->nmail;
	memcpy(todo, w->mailbox, sizeof(todo[0]) * (size_t)n);
	w->nmail = 0;
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < n; i++) {
		int r = luo_session_close(todo[i], LUO_SESSION_CLOSE_FORCE);

		CHECK(w, r == 0, "closing a handed-over session: %d", r);
		w->closed_for_others++;
	}
}

/* Hands @s to the next worker; false if its mailbox is full. */
static bool hand_over(struct worker *w, luo_session_t *s)
{
	struct worker *to = w->next;
	bool ok = false;

	pthread_mutex_lock(&to->lock);
	if (to->nmail < MAILBOX) {
		to->mailbox[to->nmail++] = s;
		ok = true;
	}
	pthread_mutex_unlock(&to->lock);
	return ok;
}

static void op_create(struct worker *w)
{
	struct owned_session *o;
	luo_session_t *dup = NULL;
	int r;

	if (w->nsessions == MAX_SESSIONS)
		return;
	o = &w->sessions[w->nsessions];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "w%02d.s%06" PRIu64, w->id,
		 w->counter++);
	r = luo_session_create(w->ctx, o->name, &o->s);
	CHECK(w, r == 0, "create %s: %d", o->name, r);
	if (r)
		return;
	w->nsessions++;
	r = luo_session_create(w->ctx, o->name, &dup);
	CHECK(w, r == -EEXIST, "duplicate %s: %d", o->name, r);
}

static void op_session_preserve(struct worker *w)
{
	struct owned_session *o;
	uint64_t token;
	int fd, r;

	if (!w->nsessions)
		return;
	o = &w->sessions[rng_below(&w->rng, (uint64_t)w->nsessions)];
	if (o->ntokens == MAX_SESSION_TOKENS)
		return;
	/* any token a session takes: below libluo's reserved ones */
	token = rng_next(&w->rng) % LUO_TOKEN_RESERVED_MIN;
	fd = new_memfd(w);
	r = luo_session_preserve_fd(o->s, fd, token);
	CHECK(w, r == 0, "preserve in %s: %d", o->name, r);
	if (r == 0) {
		o->tokens[o->ntokens++] = token;
		/* The same token again: refused before the kernel. */
		r = luo_session_preserve_fd(o->s, fd, token);
		CHECK(w, r == -EEXIST, "duplicate token in %s: %d", o->name,
		      r);
	}
	close(fd);
}

static int count_cb(uint64_t token, enum luo_token_state state, void *data)
{
	(*(int *)data)++;
	return state == LUO_TOKEN_PRESERVED ? 0 : -1;
}

static void op_session_query(struct worker *w)
{
	struct owned_session *o;
	enum luo_token_state state = 0;
	const char *name = NULL;
	int n = 0, r;

	if (!w->nsessions)
		return;
	o = &w->sessions[rng_below(&w->rng, (uint64_t)w->nsessions)];
	r = luo_session_token_count(o->s);
	CHECK(w, r == o->ntokens, "%s: count %d, expected %d", o->name, r,
	      o->ntokens);
	r = luo_session_token_foreach(o->s, count_cb, &n);
	CHECK(w, r == 0 && n == o->ntokens, "%s: foreach %d/%d", o->name, r,
	      n);
	if (o->ntokens) {
		r = luo_session_token_lookup(
			o->s, o->tokens[rng_below(&w->rng, (uint64_t)o->ntokens)],
			&state);
		CHECK(w, r == 0 && state == LUO_TOKEN_PRESERVED,
		      "%s: lookup %d state %d", o->name, r, state);
	}
	r = luo_session_get_name(o->s, &name);
	CHECK(w, r == 0 && name && !strcmp(name, o->name), "get_name: %d", r);
}

static void op_session_close(struct worker *w)
{
	int i, r;
	luo_session_t *s;

	if (!w->nsessions)
		return;
	i = (int)rng_below(&w->rng, (uint64_t)w->nsessions);
	s = w->sessions[i].s;
	if (rng_below(&w->rng, 2) && hand_over(w, s)) {
		/* The next worker closes it; this one forgets it now. */
	} else {
		r = luo_session_close(s, w->sessions[i].ntokens ?
					  LUO_SESSION_CLOSE_FORCE : 0);
		CHECK(w, r == 0, "close %s: %d", w->sessions[i].name, r);
	}
	w->sessions[i] = w->sessions[--w->nsessions];
}

static void op_seed_preserve(struct worker *w)
{
	uint64_t token;
	int fd, r;

	if (w->nseed == MAX_SEED)
		return;
	/* Each worker has its own token range. */
	token = (1ULL << 63) | ((uint64_t)w->id << 40) | w->counter++;
	fd = new_memfd(w);
	r = luo_fd_preserve(w->ctx, fd, token);
	if (r == -EBUSY)
		w->busy_seen++; /* prepared by the state thread */
	else
		CHECK(w, r == 0, "seed preserve: %d", r);
	if (r == 0)
		w->seed[w->nseed++] = token;
	close(fd);
}

static void op_seed_unpreserve(struct worker *w)
{
	int i, r;

	if (!w->nseed)
		return;
	i = (int)rng_below(&w->rng, (uint64_t)w->nseed);
	r = luo_fd_unpreserve(w->ctx, w->seed[i]);
	if (r == -EBUSY) {
		w->busy_seen++;
		return;
	}
	CHECK(w, r == 0, "seed unpreserve: %d", r);
	if (r == 0)
		w->seed[i] = w->seed[--w->nseed];
}

struct own_count {
	const struct worker *w;
	int own;
	int lookups_bad;
	luo_ctx_t *ctx;
};

static int own_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct own_count *c = data;
	enum luo_token_state now = 0;
	int i, r;

	for (i = 0; i < c->w->nseed; i++)
		if (c->w->seed[i] == token)
			c->own++;
	/* Others may unpreserve meanwhile: 0 or -ENOENT only. */
	r = luo_token_lookup(c->ctx, token, &now);
	if (r != 0 && r != -ENOENT)
		c->lookups_bad++;
	return 0;
}

static void op_seed_query(struct worker *w)
{
	struct own_count c = { w, 0, 0, w->ctx };
	enum luo_token_state state = 0;
	enum luo_state st = 0;
	int r;

	r = luo_token_count(w->ctx);
	CHECK(w, r >= w->nseed, "token count %d < own %d", r, w->nseed);
	r = luo_token_foreach(w->ctx, own_cb, &c);
	CHECK(w, r == 0 && c.own == w->nseed && !c.lookups_bad,
	      "foreach: %d, own %d of %d, bad lookups %d", r, c.own, w->nseed,
	      c.lookups_bad);
	if (w->nseed) {
		r = luo_token_lookup(w->ctx, w->seed[0], &state);
		CHECK(w, r == 0 && state == LUO_TOKEN_PRESERVED,
		      "seed lookup: %d", r);
	}
	r = luo_get_state(w->ctx, &st);
	CHECK(w, r == 0 && (st == LUO_STATE_NORMAL || st == LUO_STATE_PREPARED),
	      "state: %d %d", r, st);
}

static void op_misc(struct worker *w)
{
	luo_session_t *s = SENTINEL_PTR;
	enum luo_abi abi = 0;
	luo_ctx_t *ref;
	int r;

	r = luo_session_retrieve(w->ctx, "nobody", &s);
	CHECK(w, r == -ENOENT && s == SENTINEL_PTR, "retrieve: %d", r);
	ref = luo_ctx_ref(w->ctx);
	r = luo_ctx_get_abi(ref, &abi);
	CHECK(w, r == 0 && abi == LUO_ABI_MAINLINE, "abi: %d", r);
	luo_ctx_unref(ref);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < ITERATIONS && !w->failure[0]; i++) {
		drain_mailbox(w);
		switch (rng_below(&w->rng, 10)) {
		case 0:
		case 1:
			op_create(w);
			break;
		case 2:
		case 3:
			op_session_preserve(w);
			break;
		case 4:
			op_session_query(w);
			break;
		case 5:
			op_session_close(w);
			break;
		case 6:
			op_seed_preserve(w);
			break;
		case 7:
			op_seed_unpreserve(w);
			break;
		case 8:
			op_seed_query(w);
			break;
		default:
			op_misc(w);
			break;
		}
	}
	drain_mailbox(w);
	return NULL;
}

struct state_thread {
	luo_ctx_t *ctx;
	pthread_barrier_t *start;
	volatile int rounds_done;
	char failure[256];
};

static void *state_main(void *arg)
{
	struct state_thread *t = arg;
	enum luo_state st = 0;
	int i, r;

	pthread_barrier_wait(t->start);
	for (i = 0; i < 40; i++) {
		r = luo_prepare(t->ctx);
		if (r) {
			snprintf(t->failure, sizeof(t->failure),
				 "prepare: %d", r);
			break;
		}
		r = luo_get_state(t->ctx, &st);
		if (r || st != LUO_STATE_PREPARED) {
			snprintf(t->failure, sizeof(t->failure),
				 "state after prepare: %d %d", r, st);
			break;
		}
		sched_yield();
		r = luo_cancel(t->ctx);
		if (r) {
			snprintf(t->failure, sizeof(t->failure),
				 "cancel: %d", r);
			break;
		}
		sched_yield();
	}
	t->rounds_done = i;
	return NULL;
}

/* ---- checking libluo against the fake ----------------------------------- */

/* The user's files the fake holds; libluo's own (libluo-own.h) are
 * counted apart, and kept in the list too, flagged. */
struct held {
	struct {
		char session[LUO_SESSION_NAME_MAX + 1];
		uint64_t token;
		bool libluos;
	} *files;
	int n, cap;
	int libluos;           /* libluo's own files */
	bool index[TB_INDEX_SLOTS]; /* index sessions seen */
	int nindex;
	int index_files;       /* their record segments */
};

static int held_cb(const char *session, enum luo_session_direction dir,
		   uint64_t token, void *data)
{
	struct held *h = data;
	bool libluos = tb_file_is_libluos(session, token);
	int slot = tb_index_slot(session);

	if (slot >= 0 && !h->index[slot]) {
		h->index[slot] = true;
		h->nindex++;
	}
	h->index_files += slot >= 0;
	h->libluos += libluos;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 256;
		h->files = realloc(h->files, (size_t)h->cap * sizeof(*h->files));
		if (!h->files)
			return -ENOMEM;
	}
	snprintf(h->files[h->n].session, sizeof(h->files[h->n].session), "%s",
		 session ? session : "");
	h->files[h->n].token = token;
	h->files[h->n].libluos = libluos;
	h->n++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void expect_same_tokens(uint64_t *got, int ngot, uint64_t *want,
			       int nwant, const char *what)
{
	int i;

	assert_eq(ngot, nwant, "%s: %d tokens, expected %d", what, ngot,
			nwant);
	if (!ngot)
		return; /* and the arrays may be NULL */
	qsort(got, (size_t)ngot, sizeof(*got), cmp_u64);
	qsort(want, (size_t)nwant, sizeof(*want), cmp_u64);
	for (i = 0; i < ngot; i++)
		assert_eq(got[i], want[i], "%s: token %d differs", what, i);
}

struct token_vec {
	uint64_t *v;
	int n, cap;
};

static int vec_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct token_vec *t = data;

	if (state != LUO_TOKEN_PRESERVED)
		return -100;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = realloc(t->v, (size_t)t->cap * sizeof(*t->v));
		if (!t->v)
			return -ENOMEM;
	}
	t->v[t->n++] = token;
	return 0;
}

/* Checks libluo's view (ctx and sessions) against the fake's files. */
static void expect_bookkeeping_matches(luo_ctx_t *ctx, struct worker *w,
				       int nworkers)
{
	struct held h = { 0 };
	struct token_vec seed = { 0 }, want = { 0 };
	int i, j, k, nsessions = 0, session_files = 0, session_records = 0;
	uint64_t *from_fake;
	int nfake = 0;

	expect_ok(luo_fake_foreach_file(fake, held_cb, &h));
	assert_eq(h.n, luo_fake_file_count(fake));
	/* libluo's own: one index (this context created sessions) */
	assert_eq(h.nindex, 1, "index sessions");

	/* The original API: libluo's tokens == the workers' == the fake's
	 * libluo.tok.<hex> sessions. */
	expect_ok(luo_token_foreach(ctx, vec_cb, &seed));
	assert_eq(luo_token_count(ctx), seed.n);
	for (i = 0; i < nworkers; i++)
		for (j = 0; j < w[i].nseed; j++)
			vec_cb(w[i].seed[j], LUO_TOKEN_PRESERVED, &want);
	from_fake = calloc((size_t)h.n + 1, sizeof(*from_fake));
	assert_not_null(from_fake);
	for (i = 0; i < h.n; i++) {
		if (!strncmp(h.files[i].session, "libluo.tok.", 11))
			from_fake[nfake++] = strtoull(h.files[i].session + 11,
						      NULL, 16);
		assert_str_ne(h.files[i].session, "libluo.manifest",
				      "a manifest is left after cancel");
	}
	{
		uint64_t *copy = malloc(((size_t)want.n + 1) * sizeof(*copy));

		assert_not_null(copy);
		if (want.n)
			memcpy(copy, want.v, (size_t)want.n * sizeof(*copy));
		expect_same_tokens(seed.v, seed.n, want.v, want.n,
				   "libluo's tokens vs the workers'");
		expect_same_tokens(from_fake, nfake, copy, want.n,
				   "the fake's token sessions vs the workers'");
		free(copy);
	}

	/* Sessions: each handle's tokens == what the worker preserved ==
	 * the fake's files in that session. */
	for (i = 0; i < nworkers; i++) {
		for (j = 0; j < w[i].nsessions; j++) {
			struct owned_session *o = &w[i].sessions[j];
			struct token_vec got = { 0 }, held = { 0 };
			uint64_t expect[MAX_SESSION_TOKENS];
			int record = 0;

			nsessions++;
			session_files += o->ntokens;
			expect_ok(luo_session_token_foreach(o->s, vec_cb, &got));
			assert_eq(luo_session_token_count(o->s), got.n);
			for (k = 0; k < h.n; k++) {
				if (strcmp(h.files[k].session, o->name))
					continue;
				if (h.files[k].libluos)
					record++;
				else
					vec_cb(h.files[k].token,
					       LUO_TOKEN_PRESERVED, &held);
			}
			/* its record: one segment (24 entries fit in the
			 * first), made with the first preserve */
			assert_eq(record, o->ntokens ? 1 : 0,
				  "%s: %d record segments", o->name, record);
			session_records += record;
			memcpy(expect, o->tokens, sizeof(expect));
			expect_same_tokens(got.v, got.n, expect, o->ntokens,
					   o->name);
			memcpy(expect, o->tokens, sizeof(expect));
			expect_same_tokens(held.v, held.n, expect, o->ntokens,
					   o->name);
			free(got.v);
			free(held.v);
		}
	}
	note("end state: %d token(s) of the original API, %d session(s) "
		    "holding %d file(s)", want.n, nsessions, session_files);
	assert_gt(want.n + session_files, 0, "the workers kept nothing: "
			"the check would be vacuous");
	assert_eq(h.n - h.libluos, want.n + session_files,
			"the fake holds %d files, libluo knows %d",
			h.n - h.libluos, want.n + session_files);
	/* libluo's own files: the sessions' records and the index's (a
	 * record that grew a segment at a time, doubling) */
	assert_eq(h.libluos, session_records + h.index_files);
	assert_ge(h.index_files, 1);
	note("libluo's own files: %d session record(s), %d index segment(s)",
	     session_records, h.index_files);
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING),
			want.n + nsessions + h.nindex);
	free(h.files);
	free(seed.v);
	free(want.v);
	free(from_fake);
}

/* Runs the workers (and the state thread if @with_state) to completion. */
static void run(bool with_state)
{
	static struct worker w[NWORKERS];
	pthread_t threads[NWORKERS], state_tid;
	struct state_thread st = { 0 };
	pthread_barrier_t start;
	luo_ctx_t *ctx = new_ctx();
	enum luo_state state = 0;
	int i, j, busy = 0;

	assert_eq(pthread_barrier_init(&start, NULL,
				       NWORKERS + (with_state ? 1 : 0)), 0);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NWORKERS; i++) {
		w[i].id = i;
		w[i].ctx = ctx;
		w[i].start = &start;
		w[i].next = &w[(i + 1) % NWORKERS];
		rng_init(&w[i].rng, 0x7417ead5ULL * (uint64_t)(i + 1));
		pthread_mutex_init(&w[i].lock, NULL);
	}
	for (i = 0; i < NWORKERS; i++)
		assert_eq(pthread_create(&threads[i], NULL, worker_main, &w[i]),
			  0);
	if (with_state) {
		st.ctx = ctx;
		st.start = &start;
		assert_eq(pthread_create(&state_tid, NULL, state_main, &st), 0);
	}
	for (i = 0; i < NWORKERS; i++)
		assert_eq(pthread_join(threads[i], NULL), 0);
	if (with_state) {
		assert_eq(pthread_join(state_tid, NULL), 0);
		assert_eq(st.failure[0], '\0', "state thread: %s", st.failure);
		assert_eq(st.rounds_done, 40);
	}
	pthread_barrier_destroy(&start);

	for (i = 0; i < NWORKERS; i++) {
		assert_eq(w[i].failure[0], '\0', "worker %d: %s", i,
			  w[i].failure);
		busy += w[i].busy_seen;
	}
	if (!with_state)
		assert_eq(busy, 0);
	note("handed-over closes by worker 0: %d, -EBUSY while prepared: %d",
	     w[0].closed_for_others, busy);

	/* Sessions handed over after their receiver stopped: close them
	 * here, this thread being their only user now. */
	for (i = 0; i < NWORKERS; i++) {
		for (j = 0; j < w[i].nmail; j++)
			expect_ok(luo_session_close(w[i].mailbox[j],
						    LUO_SESSION_CLOSE_FORCE));
		w[i].nmail = 0;
		pthread_mutex_destroy(&w[i].lock);
	}

	expect_ok(luo_get_state(ctx, &state));
	assert_eq(state, LUO_STATE_NORMAL);
	expect_bookkeeping_matches(ctx, w, NWORKERS);

	/* Tear down: everything goes, in the kernel too. */
	for (i = 0; i < NWORKERS; i++)
		for (j = 0; j < w[i].nsessions; j++)
			expect_ok(luo_session_close(w[i].sessions[j].s,
						    LUO_SESSION_CLOSE_FORCE));
	/* the original API's token sessions, and the context's index */
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING),
		  luo_token_count(ctx) + 1);
	luo_ctx_unref(ctx);
	assert_eq(luo_fake_file_count(fake), 0);
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING), 0);
}

static void mixed_operations_on_one_context(void)
{
	run(false);
}

static void mixed_operations_while_preparing_and_cancelling(void)
{
	run(true);
}

/* ---- references --------------------------------------------------------- */

struct ref_arg {
	luo_ctx_t *ctx;
	pthread_barrier_t *start;
	int id;
	char failure[128];
};

static void *ref_main(void *arg)
{
	struct ref_arg *a = arg;
	enum luo_abi abi = 0;
	char name[32];
	int i, r;

	pthread_barrier_wait(a->start);
	for (i = 0; i < 2000; i++) {
		luo_ctx_t *ref = luo_ctx_ref(a->ctx);

		r = luo_ctx_get_abi(ref, &abi);
		if (r && !a->failure[0])
			snprintf(a->failure, sizeof(a->failure), "abi %d", r);
		if (i % 100 == 0) {
			luo_session_t *s = NULL;

			snprintf(name, sizeof(name), "ref.%d.%d", a->id, i);
			r = luo_session_create(ref, name, &s);
			if (r == 0)
				r = luo_session_close(s, 0);
			if (r && !a->failure[0])
				snprintf(a->failure, sizeof(a->failure),
					 "session %d", r);
		}
		luo_ctx_unref(ref);
	}
	/* Each thread drops the reference it was given. */
	luo_ctx_unref(a->ctx);
	return NULL;
}

static void references_from_many_threads(void)
{
	struct ref_arg args[NWORKERS];
	pthread_t threads[NWORKERS];
	pthread_barrier_t start;
	luo_ctx_t *ctx = new_ctx(), *other = SENTINEL_PTR;
	int i;

	assert_eq(pthread_barrier_init(&start, NULL, NWORKERS), 0);
	for (i = 0; i < NWORKERS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].ctx = luo_ctx_ref(ctx);
		args[i].start = &start;
		args[i].id = i;
		assert_eq(pthread_create(&threads[i], NULL, ref_main, &args[i]),
			  0);
	}
	/* Our own reference goes while they run. */
	luo_ctx_unref(ctx);
	for (i = 0; i < NWORKERS; i++) {
		assert_eq(pthread_join(threads[i], NULL), 0);
		assert_eq(args[i].failure[0], '\0', "thread %d: %s", i,
			  args[i].failure);
	}
	pthread_barrier_destroy(&start);
	/* The last unref closed the device: a new context can open it. */
	expect_ok(luo_ctx_new(opts, &other));
	luo_ctx_unref(other);
}

/* ---- the tests ---------------------------------------------------------- */

/* One scenario on a fresh fake, in a process of its own (the harness
 * forks): descriptors and (under ASan) memory must not leak. */
static void run_scenario(void (*fn)(void))
{
	int fds_before = fd_count(), fds_after;
	char list[2048];

	assert_true(fds_before >= 0, "cannot count descriptors");
	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	expect_ok(luo_ctx_opts_new(&opts));
	expect_ok(luo_ctx_opts_set_fake(opts, fake));
	fn();
	luo_ctx_opts_free(opts);
	fake = luo_fake_unref(fake);
	fds_after = fd_count();
	if (fds_after != fds_before) {
		fd_describe(list, sizeof(list));
		fail("descriptor leak: %d before, %d after: %s", fds_before,
		     fds_after, list);
	}
	assert_true(leak_check() == 0, "memory leak (LeakSanitizer report on "
		    "stderr)");
}

TEST(threads, mixed_operations_on_one_context)
{
	run_scenario(mixed_operations_on_one_context);
}

TEST(threads, mixed_operations_while_preparing_and_cancelling)
{
	run_scenario(mixed_operations_while_preparing_and_cancelling);
}

TEST(threads, references_from_many_threads)
{
	run_scenario(references_from_many_threads);
}
