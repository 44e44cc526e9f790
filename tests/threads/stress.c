/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress: many threads x many mixed operations on ONE context of a fake
 * kernel (no latency), meant for ThreadSanitizer.  Each thread owns a few
 * sessions (create, preserve, query, close, send to another thread,
 * receive from others), queries the sessions of the other threads while
 * they change, and preserves, unpreserves and looks up tokens of the
 * original API.  At the end libluo's bookkeeping (the context's tokens,
 * each handle's tokens) must match what the threads did and what the fake
 * kernel holds, and tearing everything down must leave the fake empty and
 * no descriptor open.
 *
 *   LIBLUO_STRESS_THREADS  threads (default 16)
 *   LIBLUO_STRESS_OPS      operations per thread (default 100000, what CI
 *                          runs; lower it for a quick run)
 *   LIBLUO_STRESS_SEED     seed of the threads' generators (printed)
 *
 * Sessions of another thread are read under an application rwlock taken
 * shared: libluo lets any number of threads use a handle at once, except
 * luo_session_close(), for which the owner takes it exclusively (and a
 * handle being sent stays readable until then).  Worker threads never
 * assert: they record their first failure, which the main thread reports
 * after joining them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "expect.h"
#include "fd-count.h"
#include "harness.h"
#include "leak-check.h"
#include "libluo-own.h"
#include "rng.h"

#define MAX_THREADS 64
#define SLOTS 4      /* sessions a thread owns at most */
#define FILES 4      /* files a session holds at most */
#define SEEDS 4      /* original-API tokens a thread holds at most */
#define QUEUE 64     /* records of sessions in flight to a thread */

/* What is known of one kernel session, travelling with it. */
struct rec {
	char name[32];
	uint64_t all[FILES];   /* every token in the kernel session */
	int nall;
	uint64_t known[FILES]; /* those preserved through the current handle */
	int nknown;
	bool adopted;          /* the handle was received */
	int writers;           /* handles that preserved into it: each keeps
				* a record of its own in the session */
};

struct slot {
	pthread_rwlock_t lock; /* shared: others' queries; exclusive: close */
	luo_session_t *s;      /* written under the exclusive lock */
	struct rec rec;        /* the owner's alone */
};

struct worker {
	int id;
	struct rng rng;
	uint64_t counter;
	struct slot slots[SLOTS];
	uint64_t seed[SEEDS];
	int nseed;

	int inbox[2];          /* [0]: others send (non-blocking), [1]: recv */
	pthread_mutex_t qlock; /* records of the sessions sent to us */
	struct rec queue[QUEUE];
	int nqueue;

	/* statistics */
	long ops, sent, received, again, foreign_reads;
	char failure[256];
};

struct stress {
	luo_ctx_t *ctx;
	int nthreads;
	long nops;
	pthread_barrier_t start, stop;
	struct worker *w;
};

static struct stress st;
static luo_fake_t *fake;

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

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 0);
	return *end || v <= 0 ? dflt : v;
}

static int new_memfd(struct worker *w)
{
	int fd = memfd_create("stress", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, 64) < 0)
		worker_fail(w, "memfd: %s", strerror(errno));
	return fd;
}

static bool has_token(const uint64_t *v, int n, uint64_t token)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == token)
			return true;
	return false;
}

/* ---- own sessions ------------------------------------------------------- */

static struct slot *free_slot(struct worker *w)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		if (!w->slots[i].s)
			return &w->slots[i];
	return NULL;
}

static struct slot *some_session(struct worker *w)
{
	int i, start = (int)rng_below(&w->rng, SLOTS);

	for (i = 0; i < SLOTS; i++) {
		struct slot *sl = &w->slots[(start + i) % SLOTS];

		if (sl->s)
			return sl;
	}
	return NULL;
}

static void install(struct slot *sl, luo_session_t *s, const struct rec *rec)
{
	pthread_rwlock_wrlock(&sl->lock);
	sl->s = s;
	sl->rec = *rec;
	pthread_rwlock_unlock(&sl->lock);
}

/* Takes the handle out of the slot (no other thread can reach it after). */
static luo_session_t *uninstall(struct slot *sl)
{
	luo_session_t *s;

	pthread_rwlock_wrlock(&sl->lock);
	s = sl->s;
	sl->s = NULL;
	pthread_rwlock_unlock(&sl->lock);
	return s;
}

static bool op_create(struct worker *w)
{
	struct slot *sl = free_slot(w);
	luo_session_t *s = NULL, *dup = SENTINEL_PTR;
	struct rec rec = { 0 };
	int r;

	if (!sl)
		return false;
	snprintf(rec.name, sizeof(rec.name), "st.%02d.%" PRIu64, w->id,
		 w->counter++);
	r = luo_session_create(st.ctx, rec.name, &s);
	CHECK(w, r == 0, "create %s: %d", rec.name, r);
	if (r)
		return true;
	if (rng_below(&w->rng, 8) == 0) {
		r = luo_session_create(st.ctx, rec.name, &dup);
		CHECK(w, r == -EEXIST && dup == SENTINEL_PTR,
		      "create %s again: %d", rec.name, r);
	}
	install(sl, s, &rec);
	return true;
}

static bool op_preserve(struct worker *w)
{
	struct slot *sl = some_session(w);
	struct rec *rec;
	uint64_t token;
	int fd, r;

	if (!sl || sl->rec.nall == FILES)
		return false;
	rec = &sl->rec;
	token = ((uint64_t)w->id << 48) | w->counter++;
	fd = new_memfd(w);
	r = luo_session_preserve_fd(sl->s, fd, token);
	CHECK(w, r == 0, "preserve in %s: %d", rec->name, r);
	if (r == 0) {
		if (!rec->nknown)
			rec->writers++; /* this handle's first: its record */
		rec->all[rec->nall++] = token;
		rec->known[rec->nknown++] = token;
		if (rng_below(&w->rng, 8) == 0) {
			r = luo_session_preserve_fd(sl->s, fd, token);
			CHECK(w, r == -EEXIST, "token again in %s: %d",
			      rec->name, r);
		}
	}
	close(fd);
	return true;
}

struct collect {
	uint64_t tokens[FILES + 1];
	int n;
	int bad_state;
};

static int collect_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct collect *c = data;

	if (state != LUO_TOKEN_PRESERVED)
		c->bad_state++;
	if (c->n <= FILES)
		c->tokens[c->n] = token;
	c->n++;
	return 0;
}

static bool op_own_query(struct worker *w)
{
	struct slot *sl = some_session(w);
	enum luo_token_state state = 0;
	struct collect c = { .n = 0 };
	const char *name = NULL;
	struct rec *rec;
	int i, r;

	if (!sl)
		return false;
	rec = &sl->rec;
	r = luo_session_token_count(sl->s);
	CHECK(w, r == rec->nknown, "%s: count %d, expected %d", rec->name, r,
	      rec->nknown);
	r = luo_session_token_foreach(sl->s, collect_cb, &c);
	CHECK(w, r == 0 && c.n == rec->nknown && !c.bad_state,
	      "%s: foreach %d, %d tokens of %d", rec->name, r, c.n,
	      rec->nknown);
	for (i = 0; i < c.n && i <= FILES; i++)
		CHECK(w, has_token(rec->known, rec->nknown, c.tokens[i]),
		      "%s: foreach gave a token it never had", rec->name);
	if (rec->nknown) {
		r = luo_session_token_lookup(
			sl->s, rec->known[rng_below(&w->rng,
						   (uint64_t)rec->nknown)],
			&state);
		CHECK(w, r == 0 && state == LUO_TOKEN_PRESERVED,
		      "%s: lookup %d", rec->name, r);
	}
	r = luo_session_token_lookup(sl->s, UINT64_MAX - 1, &state);
	CHECK(w, r == -ENOENT, "%s: lookup of a token never used: %d",
	      rec->name, r);
	r = luo_session_get_name(sl->s, &name);
	CHECK(w, r == 0 && name && !strcmp(name, rec->name), "get_name: %d",
	      r);
	return true;
}

/* Another thread's session, while its owner works on it: tokens only
 * come (until the handle is closed), so a token seen must be found. */
static bool op_foreign_query(struct worker *w)
{
	struct worker *o = &st.w[rng_below(&w->rng, (uint64_t)st.nthreads)];
	struct slot *sl = &o->slots[rng_below(&w->rng, SLOTS)];
	enum luo_token_state state = 0;
	struct collect c = { .n = 0 };
	const char *name = NULL;
	int i, r;

	if (o == w)
		return false;
	pthread_rwlock_rdlock(&sl->lock);
	if (sl->s) {
		w->foreign_reads++;
		r = luo_session_token_count(sl->s);
		CHECK(w, r >= 0 && r <= FILES, "foreign count %d", r);
		r = luo_session_token_foreach(sl->s, collect_cb, &c);
		CHECK(w, r == 0 && c.n <= FILES && !c.bad_state,
		      "foreign foreach %d (%d tokens)", r, c.n);
		for (i = 0; i < c.n && i <= FILES; i++) {
			r = luo_session_token_lookup(sl->s, c.tokens[i],
						     &state);
			CHECK(w, r == 0 && state == LUO_TOKEN_PRESERVED,
			      "foreign lookup of a token foreach gave: %d", r);
		}
		r = luo_session_get_name(sl->s, &name);
		CHECK(w, r == 0 && name && !strncmp(name, "st.", 3),
		      "foreign get_name: %d", r);
	}
	pthread_rwlock_unlock(&sl->lock);
	return true;
}

static bool op_close(struct worker *w)
{
	struct slot *sl = some_session(w);
	luo_session_t *s;
	struct rec rec;
	int r;

	if (!sl)
		return false;
	rec = sl->rec;
	s = uninstall(sl);
	if (rec.nknown || rec.adopted) {
		r = luo_session_close(s, 0);
		CHECK(w, r == -EBUSY, "close %s without FORCE: %d", rec.name,
		      r);
		r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
	} else {
		r = luo_session_close(s, 0);
	}
	CHECK(w, r == 0, "close %s: %d", rec.name, r);
	return true;
}

/* ---- hand-off between threads ------------------------------------------- */

/* False if @to has too many sessions in flight already. */
static bool queue_push(struct worker *to, const struct rec *rec)
{
	bool ok = false;

	pthread_mutex_lock(&to->qlock);
	if (to->nqueue < QUEUE) {
		to->queue[to->nqueue++] = *rec;
		ok = true;
	}
	pthread_mutex_unlock(&to->qlock);
	return ok;
}

/* The record of @name, taken out of @w's queue; false if none. */
static bool queue_take(struct worker *w, const char *name, struct rec *rec)
{
	bool found = false;
	int i;

	pthread_mutex_lock(&w->qlock);
	for (i = 0; i < w->nqueue; i++) {
		if (!strcmp(w->queue[i].name, name)) {
			*rec = w->queue[i];
			w->queue[i] = w->queue[--w->nqueue];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&w->qlock);
	return found;
}

static bool op_send(struct worker *w)
{
	struct slot *sl = some_session(w);
	struct worker *to = &st.w[rng_below(&w->rng, (uint64_t)st.nthreads)];
	struct rec rec, unused;
	luo_session_t *s;
	int r;

	if (!sl || to == w)
		return false;
	rec = sl->rec;
	if (!queue_push(to, &rec)) /* before the session can arrive */
		return false;
	r = luo_session_send(sl->s, to->inbox[0]);
	if (r == -EAGAIN) {
		w->again++; /* the receiver's socket is full: keep it */
		CHECK(w, queue_take(to, rec.name, &unused),
		      "record of %s lost", rec.name);
		return true;
	}
	CHECK(w, r == 0, "send %s: %d", rec.name, r);
	if (r < 0)
		return true;
	w->sent++;
	s = uninstall(sl);
	/* sent: nothing is lost by closing without FORCE */
	r = luo_session_close(s, 0);
	CHECK(w, r == 0, "close %s after sending it: %d", rec.name, r);
	return true;
}

/* One session from the inbox, if there is one (never blocks). */
static bool op_recv(struct worker *w)
{
	struct pollfd p = { .fd = w->inbox[1], .events = POLLIN };
	enum luo_session_direction dir = 0;
	luo_session_t *s = NULL;
	const char *name = NULL;
	struct slot *sl;
	struct rec rec;
	int r;

	if (poll(&p, 1, 0) != 1)
		return false;
	r = luo_session_recv(st.ctx, w->inbox[1], &s);
	CHECK(w, r == 0, "recv: %d", r);
	if (r < 0)
		return true;
	w->received++;
	r = luo_session_get_name(s, &name);
	CHECK(w, r == 0 && queue_take(w, name, &rec),
	      "received %s, which nobody sent", name ? name : "?");
	r = luo_session_get_direction(s, &dir);
	CHECK(w, r == 0 && dir == LUO_SESSION_OUTGOING, "direction %d", dir);
	CHECK(w, luo_session_token_count(s) == 0,
	      "an adopted handle knows tokens");
	rec.nknown = 0;
	rec.adopted = true;
	sl = free_slot(w);
	if (sl) {
		install(sl, s, &rec);
	} else {
		r = luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
		CHECK(w, r == 0, "close received %s: %d", rec.name, r);
	}
	return true;
}

/* ---- the original API --------------------------------------------------- */

static bool op_seed_preserve(struct worker *w)
{
	uint64_t token;
	int fd, r;

	if (w->nseed == SEEDS)
		return false;
	token = (1ULL << 63) | ((uint64_t)w->id << 40) | w->counter++;
	fd = new_memfd(w);
	r = luo_fd_preserve(st.ctx, fd, token);
	CHECK(w, r == 0, "luo_fd_preserve: %d", r);
	if (r == 0)
		w->seed[w->nseed++] = token;
	close(fd);
	return true;
}

static bool op_seed_unpreserve(struct worker *w)
{
	uint64_t token;
	int i, r;

	if (!w->nseed)
		return false;
	i = (int)rng_below(&w->rng, (uint64_t)w->nseed);
	token = w->seed[i];
	r = luo_fd_unpreserve(st.ctx, token);
	CHECK(w, r == 0, "luo_fd_unpreserve: %d", r);
	if (r < 0)
		return true;
	w->seed[i] = w->seed[--w->nseed];
	if (rng_below(&w->rng, 8) == 0) {
		r = luo_fd_unpreserve(st.ctx, token);
		CHECK(w, r == -ENOENT, "luo_fd_unpreserve of a token gone: %d",
		      r);
	}
	return true;
}

struct seed_walk {
	struct worker *w;
	int own, others_bad;
};

static int seed_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct seed_walk *s = data;
	enum luo_token_state now = 0;
	int r;

	if (has_token(s->w->seed, s->w->nseed, token))
		s->own++;
	/* others may unpreserve theirs meanwhile */
	r = luo_token_lookup(st.ctx, token, &now);
	if (state != LUO_TOKEN_PRESERVED || (r != 0 && r != -ENOENT))
		s->others_bad++;
	return 0;
}

static bool op_seed_query(struct worker *w)
{
	struct seed_walk walk = { w, 0, 0 };
	enum luo_token_state state = 0;
	int r;

	r = luo_token_count(st.ctx);
	CHECK(w, r >= w->nseed && r <= st.nthreads * SEEDS,
	      "luo_token_count %d", r);
	if (rng_below(&w->rng, 4) == 0) {
		r = luo_token_foreach(st.ctx, seed_cb, &walk);
		CHECK(w, r == 0 && walk.own == w->nseed && !walk.others_bad,
		      "luo_token_foreach %d: own %d of %d, bad %d", r,
		      walk.own, w->nseed, walk.others_bad);
	}
	if (w->nseed) {
		r = luo_token_lookup(
			st.ctx,
			w->seed[rng_below(&w->rng, (uint64_t)w->nseed)],
			&state);
		CHECK(w, r == 0 && state == LUO_TOKEN_PRESERVED,
		      "luo_token_lookup %d", r);
	}
	return true;
}

static void op_misc(struct worker *w)
{
	luo_session_t *s = SENTINEL_PTR;
	enum luo_state state = 0;
	enum luo_abi abi = 0;
	int r;

	switch (rng_below(&w->rng, 3)) {
	case 0:
		r = luo_get_state(st.ctx, &state);
		CHECK(w, r == 0 && state == LUO_STATE_NORMAL, "state %d %d", r,
		      state);
		break;
	case 1:
		r = luo_ctx_get_abi(st.ctx, &abi);
		CHECK(w, r == 0 && abi == LUO_ABI_MAINLINE, "abi %d", r);
		break;
	default:
		r = luo_session_retrieve(st.ctx, "st.nobody", &s);
		CHECK(w, r == -ENOENT && s == SENTINEL_PTR, "retrieve %d", r);
	}
}

/* ---- the threads -------------------------------------------------------- */

static void one_op(struct worker *w)
{
	bool done;

	switch (rng_below(&w->rng, 100)) {
	case 0 ... 7:
		done = op_create(w);
		break;
	case 8 ... 22:
		done = op_preserve(w);
		break;
	case 23 ... 37:
		done = op_own_query(w);
		break;
	case 38 ... 52:
		done = op_foreign_query(w);
		break;
	case 53 ... 57:
		done = op_close(w);
		break;
	case 58 ... 61:
		done = op_send(w);
		break;
	case 62 ... 67:
		done = op_recv(w);
		break;
	case 68 ... 75:
		done = op_seed_preserve(w);
		break;
	case 76 ... 81:
		done = op_seed_unpreserve(w);
		break;
	case 82 ... 94:
		done = op_seed_query(w);
		break;
	default:
		done = false;
	}
	if (!done)
		op_misc(w);
	w->ops++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long i;

	pthread_barrier_wait(&st.start);
	for (i = 0; i < st.nops && !w->failure[0]; i++)
		one_op(w);
	/* nobody sends after this barrier: drain what is in flight */
	pthread_barrier_wait(&st.stop);
	while (!w->failure[0] && op_recv(w))
		;
	return NULL;
}

/* ---- checking against the fake ------------------------------------------ */

struct held {
	struct {
		char session[LUO_SESSION_NAME_MAX + 1];
		uint64_t token;
	} *files;
	int n, cap;
};

static int held_cb(const char *session, enum luo_session_direction dir,
		   uint64_t token, void *data)
{
	struct held *h = data;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 256;
		h->files = realloc(h->files,
				   (size_t)h->cap * sizeof(*h->files));
		if (!h->files)
			return -ENOMEM;
	}
	snprintf(h->files[h->n].session, sizeof(h->files[h->n].session), "%s",
		 session ? session : "");
	h->files[h->n].token = token;
	h->n++;
	return 0;
}

/* The user's files of session @name, which must be those of @tokens. */
static int count_files_in(const struct held *h, const char *name,
			  const uint64_t *tokens, int n)
{
	int i, found = 0;

	for (i = 0; i < h->n; i++) {
		if (strcmp(h->files[i].session, name) ||
		    tb_file_is_libluos(name, h->files[i].token))
			continue;
		assert_true(has_token(tokens, n, h->files[i].token),
			    "the fake holds token %#" PRIx64 " in %s, which "
			    "nobody preserved there", h->files[i].token, name);
		found++;
	}
	return found;
}

/* The record segments of session @name: the reserved tokens
 * LUO_TOKEN_RESERVED_MIN + 0..n-1, whoever wrote them; returns n. */
static int count_records_in(const struct held *h, const char *name)
{
	bool seen[FILES * 4] = { false };
	int i, n = 0;

	for (i = 0; i < h->n; i++) {
		uint64_t k;

		if (strcmp(h->files[i].session, name) ||
		    !tb_file_is_libluos(name, h->files[i].token))
			continue;
		k = h->files[i].token - LUO_TOKEN_RESERVED_MIN;
		assert_lt(k, FILES * 4, "%s: record segment %" PRIu64, name,
			  k);
		assert_false(seen[k]);
		seen[k] = true;
		n++;
	}
	for (i = 0; i < n; i++)
		assert_true(seen[i], "%s: record segments %d of 0..%d are "
			    "missing", name, i, n - 1);
	return n;
}

struct seed_all {
	uint64_t *v;
	int n;
};

static int seed_all_cb(uint64_t token, enum luo_token_state state, void *data)
{
	struct seed_all *s = data;

	s->v[s->n++] = token;
	return state == LUO_TOKEN_PRESERVED ? 0 : -1;
}

static void expect_bookkeeping(void)
{
	struct held h = { 0 };
	struct seed_all all;
	int i, j, k, sessions = 0, files = 0, seeds = 0, records = 0;
	int libluos = 0;
	char name[32];

	expect_ok(luo_fake_foreach_file(fake, held_cb, &h));
	assert_eq(h.n, luo_fake_file_count(fake));

	/* handles and their records against the fake */
	for (i = 0; i < st.nthreads; i++) {
		for (j = 0; j < SLOTS; j++) {
			struct slot *sl = &st.w[i].slots[j];
			struct collect c = { .n = 0 };
			int n;

			if (!sl->s)
				continue;
			sessions++;
			files += sl->rec.nall;
			assert_eq(luo_session_token_count(sl->s),
				  sl->rec.nknown,
				  "%s", sl->rec.name);
			expect_ok(luo_session_token_foreach(sl->s, collect_cb,
							    &c));
			assert_eq(c.n, sl->rec.nknown);
			for (k = 0; k < c.n; k++)
				assert_true(has_token(sl->rec.known,
						      sl->rec.nknown,
						      c.tokens[k]));
			assert_eq(count_files_in(&h, sl->rec.name, sl->rec.all,
						 sl->rec.nall),
				  sl->rec.nall, "the fake's files of %s",
				  sl->rec.name);
			/* a record per handle that preserved into it, each
			 * one segment (a few entries) */
			n = count_records_in(&h, sl->rec.name);
			assert_eq(n, sl->rec.writers, "%s: %d record "
				  "segments, %d writers", sl->rec.name, n,
				  sl->rec.writers);
			records += n;
		}
		seeds += st.w[i].nseed;
	}

	/* the original API: libluo's tokens == the threads' == the fake's */
	all.v = calloc((size_t)seeds + 1, sizeof(*all.v));
	assert_not_null(all.v);
	all.n = 0;
	assert_eq(luo_token_count(st.ctx), seeds);
	expect_ok(luo_token_foreach(st.ctx, seed_all_cb, &all));
	assert_eq(all.n, seeds);
	for (i = 0; i < st.nthreads; i++) {
		for (j = 0; j < st.w[i].nseed; j++) {
			uint64_t t = st.w[i].seed[j];

			assert_true(has_token(all.v, all.n, t),
				    "token %#" PRIx64 " missing", t);
			snprintf(name, sizeof(name), "libluo.tok.%016" PRIx64,
				 t);
			assert_eq(count_files_in(&h, name, &t, 1), 1,
				  "the fake's file of token %#" PRIx64, t);
		}
	}
	free(all.v);

	/* libluo's own: the sessions' records, the context's index */
	for (i = 0; i < h.n; i++) {
		if (!tb_file_is_libluos(h.files[i].session, h.files[i].token))
			continue;
		libluos++;
		if (tb_session_is_index(h.files[i].session))
			assert_str_eq(h.files[i].session, TB_INDEX_PREFIX "0");
	}
	assert_ge(libluos - records, 1, "the index's record");
	note("end: %d sessions holding %d files, %d tokens of the original "
	     "API; libluo's own files: %d session record segment(s), %d of "
	     "the index", sessions, files, seeds, records, libluos - records);
	assert_eq(h.n - libluos, files + seeds, "the fake holds %d files, "
		  "the threads %d", h.n - libluos, files + seeds);
	/* and the context's index */
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING),
		  sessions + seeds + 1);
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_INCOMING), 0);
	free(h.files);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(threads, stress_one_context, .timeout = 1800)
{
	static struct worker workers[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	luo_ctx_opts_t *opts = NULL;
	long seed = env_long("LIBLUO_STRESS_SEED", 0x5eed);
	long sent = 0, received = 0, again = 0, foreign = 0, ops = 0;
	int i, j, fds_before = fd_count();
	char list[2048];
	double t0, t1;

	assert_ge(fds_before, 0);
	memset(&st, 0, sizeof(st));
	st.nthreads = (int)env_long("LIBLUO_STRESS_THREADS", 16);
	st.nops = env_long("LIBLUO_STRESS_OPS", 100000);
	if (st.nthreads < 2 || st.nthreads > MAX_THREADS)
		fail("LIBLUO_STRESS_THREADS must be 2 to %d", MAX_THREADS);
	note("%d threads x %ld operations on one context, seed %#lx",
	     st.nthreads, st.nops, seed);

	expect_ok(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	expect_ok(luo_fake_set_latency(fake, LUO_FAKE_OP_ALL, 0, 0));
	expect_ok(luo_ctx_opts_new(&opts));
	expect_ok(luo_ctx_opts_set_fake(opts, fake));
	expect_ok(luo_ctx_new(opts, &st.ctx));
	luo_ctx_opts_free(opts);

	st.w = workers;
	memset(workers, 0, sizeof(workers));
	for (i = 0; i < st.nthreads; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		rng_init(&w->rng, (uint64_t)seed * 0x9e3779b97f4a7c15ULL +
					  (uint64_t)i);
		for (j = 0; j < SLOTS; j++)
			pthread_rwlock_init(&w->slots[j].lock, NULL);
		pthread_mutex_init(&w->qlock, NULL);
		assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				     w->inbox), 0);
		/* a full inbox makes the sender keep its session */
		assert_eq(fcntl(w->inbox[0], F_SETFL, O_NONBLOCK), 0);
	}
	assert_eq(pthread_barrier_init(&st.start, NULL,
				       (unsigned int)st.nthreads + 1), 0);
	assert_eq(pthread_barrier_init(&st.stop, NULL,
				       (unsigned int)st.nthreads), 0);
	for (i = 0; i < st.nthreads; i++)
		assert_eq(pthread_create(&tids[i], NULL, worker_main,
					 &workers[i]), 0);
	t0 = now();
	pthread_barrier_wait(&st.start);
	for (i = 0; i < st.nthreads; i++)
		assert_eq(pthread_join(tids[i], NULL), 0);
	t1 = now();
	pthread_barrier_destroy(&st.start);
	pthread_barrier_destroy(&st.stop);

	for (i = 0; i < st.nthreads; i++) {
		struct worker *w = &workers[i];

		assert_eq(w->failure[0], '\0', "thread %d: %s", i, w->failure);
		assert_eq(w->ops, st.nops);
		assert_eq(w->nqueue, 0, "thread %d: %d sessions announced, "
			  "never received", i, w->nqueue);
		ops += w->ops;
		sent += w->sent;
		received += w->received;
		again += w->again;
		foreign += w->foreign_reads;
	}
	assert_eq(sent, received);
	note("%ld operations in %.1f s (%.0f/s); %ld sessions handed over "
	     "(%ld sends found the inbox full), %ld reads of another "
	     "thread's session", ops, t1 - t0, (double)ops / (t1 - t0), sent,
	     again, foreign);
	assert_gt(sent, 0, "no session was handed over");

	expect_bookkeeping();

	/* everything goes, in the fake too */
	for (i = 0; i < st.nthreads; i++) {
		for (j = 0; j < SLOTS; j++) {
			struct slot *sl = &workers[i].slots[j];

			if (sl->s)
				expect_ok(luo_session_close(
					sl->s, LUO_SESSION_CLOSE_FORCE));
			pthread_rwlock_destroy(&sl->lock);
		}
		pthread_mutex_destroy(&workers[i].qlock);
		close(workers[i].inbox[0]);
		close(workers[i].inbox[1]);
	}
	/* the original API's token sessions, and the context's index */
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING),
		  luo_token_count(st.ctx) + 1);
	st.ctx = luo_ctx_unref(st.ctx);
	assert_eq(luo_fake_file_count(fake), 0);
	assert_eq(luo_fake_session_count(fake, LUO_SESSION_OUTGOING), 0);
	fake = luo_fake_unref(fake);
	if (fd_count() != fds_before) {
		fd_describe(list, sizeof(list));
		fail("descriptor leak: %d before, %d after: %s", fds_before,
		     fd_count(), list);
	}
	assert_eq(leak_check(), 0, "memory leak (LeakSanitizer report on "
		  "stderr)");
}
