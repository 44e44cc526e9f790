/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box tests of lib/token-table.[ch], the open-addressing hash table
 * that is libluo's memory of the tokens it preserved.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fd-count.h"
#include "leak-check.h"
#include "rng.h"
#include "token-table.h"

#define BIG 100000

/* Every test also checks that it leaks no descriptor (nor memory, under
 * ASan). */
#define UNIT_TEST(name, ...)                                             \
	static void unit__##name(void);                                  \
	Test(token_table, name, .timeout = 120, ##__VA_ARGS__)           \
	{                                                                \
		int fds = fd_count();                                    \
		unit__##name();                                          \
		cr_assert_eq(fd_count(), fds, "descriptor leak");        \
		cr_assert_eq(leak_check(), 0, "memory leak");            \
	}                                                                \
	static void unit__##name(void)

static struct luo_session *fake_session(uint64_t i)
{
	/* Never dereferenced: only compared. */
	return (struct luo_session *)(uintptr_t)(0x1000 + i * 16);
}

static struct luo_token_entry entry(uint64_t token, enum luo_token_state state,
				    struct luo_session *session)
{
	struct luo_token_entry e;

	memset(&e, 0, sizeof(e));
	e.token = token;
	e.state = state;
	e.session = session;
	return e;
}

static void insert_ok(struct luo_token_table *t, uint64_t token,
		      enum luo_token_state state, struct luo_session *session)
{
	struct luo_token_entry e = entry(token, state, session);
	int r = luo_token_table_insert(t, &e);

	cr_assert_eq(r, 0, "insert %#llx: %d", (unsigned long long)token, r);
}

static void expect_entry(const struct luo_token_table *t, uint64_t token,
			 enum luo_token_state state,
			 struct luo_session *session)
{
	struct luo_token_entry *e = luo_token_table_find(t, token);

	cr_assert_not_null(e, "token %#llx not found",
			   (unsigned long long)token);
	cr_assert_eq(e->token, token);
	cr_assert_eq(e->state, state, "token %#llx: state %d, expected %d",
		     (unsigned long long)token, e->state, state);
	cr_assert_eq(e->session, session);
}

static void expect_absent(const struct luo_token_table *t, uint64_t token)
{
	cr_assert_null(luo_token_table_find(t, token),
		       "token %#llx should be absent",
		       (unsigned long long)token);
}

/* Structural invariants of the table. */
static void expect_sane(const struct luo_token_table *t)
{
	size_t i, live = 0, dead = 0;

	cr_assert(t->capacity == 0 || (t->capacity & (t->capacity - 1)) == 0,
		  "capacity %zu is not a power of two", t->capacity);
	cr_assert_leq(t->count, t->used);
	if (t->capacity) {
		/* An empty slot must remain, or a miss would never end. */
		cr_assert_lt(t->used, t->capacity, "used %zu of %zu slots",
			     t->used, t->capacity);
	} else {
		cr_assert_eq(t->count, 0);
	}
	for (i = 0; i < t->capacity; i++) {
		if (t->slots[i].state)
			live++;
		else if (t->tombstone[i])
			dead++;
	}
	cr_assert_eq(live, t->count, "%zu live slots, count %zu", live,
		     t->count);
	cr_assert_eq(live + dead, t->used, "%zu live + %zu tombstones, used %zu",
		     live, dead, t->used);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Iterates @t and checks that it yields exactly the tokens of the sorted
 * array @want (each once). */
static void expect_iteration(const struct luo_token_table *t,
			     const uint64_t *want, size_t n)
{
	uint64_t *got = malloc((n + 1) * sizeof(*got));
	struct luo_token_entry *e;
	size_t i = 0, seen = 0;

	cr_assert_not_null(got);
	while ((e = luo_token_table_next(t, &i))) {
		cr_assert_lt(seen, n, "iteration yields more than %zu entries",
			     n);
		cr_assert_neq(e->state, 0, "iteration yields an empty slot");
		got[seen++] = e->token;
	}
	/* The end stays the end. */
	cr_assert_null(luo_token_table_next(t, &i));
	cr_assert_eq(seen, n, "iteration yields %zu entries, expected %zu",
		     seen, n);
	qsort(got, seen, sizeof(*got), cmp_u64);
	for (i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "entry %zu: %#llx, expected %#llx",
			     i, (unsigned long long)got[i],
			     (unsigned long long)want[i]);
	free(got);
}

/* @n distinct random tokens including 0 and UINT64_MAX, in random order. */
static uint64_t *distinct_tokens(size_t n, uint64_t seed)
{
	uint64_t *tokens = malloc(n * sizeof(*tokens));
	uint64_t *sorted = malloc(n * sizeof(*sorted));
	struct rng r;
	size_t i;
	bool dup;

	cr_assert(tokens && sorted);
	rng_init(&r, seed);
	do {
		for (i = 0; i < n; i++)
			tokens[i] = rng_next(&r);
		tokens[n / 3] = 0;
		tokens[2 * n / 3] = UINT64_MAX;
		memcpy(sorted, tokens, n * sizeof(*tokens));
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
		dup = false;
		for (i = 1; i < n; i++)
			dup |= sorted[i] == sorted[i - 1];
	} while (dup);
	free(sorted);
	return tokens;
}

/* ---- tests -------------------------------------------------------------- */

UNIT_TEST(empty_table)
{
	struct luo_token_table t;
	size_t i = 0;

	luo_token_table_init(&t);
	cr_assert_eq(t.count, 0);
	cr_assert_eq(t.used, 0);
	cr_assert_eq(t.capacity, 0);
	expect_absent(&t, 0);
	expect_absent(&t, 1);
	expect_absent(&t, UINT64_MAX);
	cr_assert_eq(luo_token_table_remove(&t, 0), -ENOENT);
	cr_assert_null(luo_token_table_next(&t, &i));
	luo_token_table_clear(&t);
	luo_token_table_clear(&t);
	cr_assert_eq(t.count, 0);
}

UNIT_TEST(insert_find_remove)
{
	struct luo_token_table t;
	struct luo_token_entry dup = entry(5, LUO_TOKEN_INCOMING, NULL);

	luo_token_table_init(&t);
	insert_ok(&t, 5, LUO_TOKEN_PRESERVED, fake_session(1));
	cr_assert_eq(t.count, 1);
	expect_entry(&t, 5, LUO_TOKEN_PRESERVED, fake_session(1));
	expect_absent(&t, 6);
	expect_absent(&t, 0);

	cr_assert_eq(luo_token_table_insert(&t, &dup), -EEXIST);
	cr_assert_eq(t.count, 1);
	expect_entry(&t, 5, LUO_TOKEN_PRESERVED, fake_session(1));

	cr_assert_eq(luo_token_table_remove(&t, 5), 0);
	cr_assert_eq(t.count, 0);
	expect_absent(&t, 5);
	cr_assert_eq(luo_token_table_remove(&t, 5), -ENOENT);
	expect_sane(&t);

	/* Back again after removal. */
	insert_ok(&t, 5, LUO_TOKEN_RESTORED, NULL);
	expect_entry(&t, 5, LUO_TOKEN_RESTORED, NULL);
	expect_sane(&t);
	luo_token_table_clear(&t);
}

UNIT_TEST(zero_and_max_are_ordinary_tokens)
{
	struct luo_token_table t;
	const uint64_t sorted[] = { 0, 1, UINT64_MAX };

	luo_token_table_init(&t);
	insert_ok(&t, 0, LUO_TOKEN_PRESERVED, fake_session(0));
	insert_ok(&t, UINT64_MAX, LUO_TOKEN_INCOMING, fake_session(2));
	insert_ok(&t, 1, LUO_TOKEN_RESTORED, fake_session(1));
	expect_entry(&t, 0, LUO_TOKEN_PRESERVED, fake_session(0));
	expect_entry(&t, UINT64_MAX, LUO_TOKEN_INCOMING, fake_session(2));
	expect_entry(&t, 1, LUO_TOKEN_RESTORED, fake_session(1));
	expect_iteration(&t, sorted, 3);
	cr_assert_eq(luo_token_table_remove(&t, 0), 0);
	expect_absent(&t, 0);
	expect_entry(&t, UINT64_MAX, LUO_TOKEN_INCOMING, fake_session(2));
	cr_assert_eq(luo_token_table_remove(&t, UINT64_MAX), 0);
	expect_absent(&t, UINT64_MAX);
	expect_entry(&t, 1, LUO_TOKEN_RESTORED, fake_session(1));
	expect_sane(&t);
	luo_token_table_clear(&t);
}

UNIT_TEST(found_entries_are_writable)
{
	struct luo_token_table t;
	struct luo_token_entry *e;

	luo_token_table_init(&t);
	insert_ok(&t, 42, LUO_TOKEN_INCOMING, NULL);
	e = luo_token_table_find(&t, 42);
	cr_assert_not_null(e);
	e->state = LUO_TOKEN_RESTORED;
	e->session = fake_session(9);
	expect_entry(&t, 42, LUO_TOKEN_RESTORED, fake_session(9));
	luo_token_table_clear(&t);
}

UNIT_TEST(tombstones_keep_probe_chains)
{
	struct luo_token_table t;
	uint64_t i;

	luo_token_table_init(&t);
	for (i = 0; i < 64; i++)
		insert_ok(&t, i, LUO_TOKEN_PRESERVED, fake_session(i));
	for (i = 0; i < 64; i += 2)
		cr_assert_eq(luo_token_table_remove(&t, i), 0);
	cr_assert_eq(t.count, 32);
	expect_sane(&t);
	for (i = 0; i < 64; i++) {
		if (i % 2)
			expect_entry(&t, i, LUO_TOKEN_PRESERVED,
				     fake_session(i));
		else
			expect_absent(&t, i);
	}
	/* Removed tokens come back, and are not duplicated. */
	for (i = 0; i < 64; i += 2)
		insert_ok(&t, i, LUO_TOKEN_INCOMING, NULL);
	for (i = 1; i < 64; i += 2) {
		struct luo_token_entry e = entry(i, LUO_TOKEN_INCOMING, NULL);

		cr_assert_eq(luo_token_table_insert(&t, &e), -EEXIST);
	}
	cr_assert_eq(t.count, 64);
	for (i = 0; i < 64; i++)
		expect_entry(&t, i,
			     i % 2 ? LUO_TOKEN_PRESERVED : LUO_TOKEN_INCOMING,
			     i % 2 ? fake_session(i) : NULL);
	expect_sane(&t);
	luo_token_table_clear(&t);
}

UNIT_TEST(churn_does_not_grow_the_table)
{
	enum { LIVE = 8, ROUNDS = 200000 };
	struct luo_token_table t;
	uint64_t window[LIVE];
	size_t max_capacity = 0;
	struct rng r;
	int i;

	luo_token_table_init(&t);
	rng_init(&r, 0xc4c4);
	for (i = 0; i < LIVE; i++) {
		window[i] = rng_next(&r);
		insert_ok(&t, window[i], LUO_TOKEN_PRESERVED, NULL);
	}
	for (i = 0; i < ROUNDS; i++) {
		int slot = i % LIVE;

		cr_assert_eq(luo_token_table_remove(&t, window[slot]), 0);
		window[slot] = rng_next(&r);
		insert_ok(&t, window[slot], LUO_TOKEN_PRESERVED, NULL);
		if (t.capacity > max_capacity)
			max_capacity = t.capacity;
		/* Tombstones must be reclaimed: a miss has to end. */
		cr_assert_lt(t.used, t.capacity);
	}
	cr_assert_eq(t.count, LIVE);
	/* Eight live entries never need thousands of slots. */
	cr_assert_leq(max_capacity, 1024, "capacity reached %zu with %d live "
		      "entries", max_capacity, LIVE);
	for (i = 0; i < LIVE; i++)
		expect_entry(&t, window[i], LUO_TOKEN_PRESERVED, NULL);
	expect_absent(&t, rng_next(&r));
	expect_sane(&t);
	luo_token_table_clear(&t);
}

UNIT_TEST(growth_keeps_every_entry)
{
	struct luo_token_table t;
	size_t last_capacity = 0, grows = 0;
	uint64_t i;

	luo_token_table_init(&t);
	for (i = 0; i < 20000; i++) {
		insert_ok(&t, i * 0x100000001ULL, LUO_TOKEN_PRESERVED,
			  fake_session(i));
		if (t.capacity != last_capacity) {
			cr_assert_gt(t.capacity, last_capacity);
			last_capacity = t.capacity;
			grows++;
			/* After a rehash everything is still there. */
			for (uint64_t j = 0; j <= i; j += 97)
				expect_entry(&t, j * 0x100000001ULL,
					     LUO_TOKEN_PRESERVED,
					     fake_session(j));
		}
	}
	cr_assert_eq(t.count, 20000);
	cr_assert_geq(t.capacity, 20001);
	cr_assert_gt(grows, 3);
	for (i = 0; i < 20000; i++)
		expect_entry(&t, i * 0x100000001ULL, LUO_TOKEN_PRESERVED,
			     fake_session(i));
	expect_sane(&t);
	luo_token_table_clear(&t);
}

UNIT_TEST(many_random_tokens)
{
	struct luo_token_table t;
	uint64_t *tokens = distinct_tokens(BIG, 0x5eed);
	uint64_t *sorted = malloc(BIG * sizeof(*sorted));
	uint64_t *kept = malloc(BIG * sizeof(*kept));
	size_t i, nkept = 0;

	cr_assert(sorted && kept);
	luo_token_table_init(&t);
	for (i = 0; i < BIG; i++)
		insert_ok(&t, tokens[i], (enum luo_token_state)(i % 3 + 1),
			  fake_session(i));
	cr_assert_eq(t.count, BIG);
	for (i = 0; i < BIG; i++)
		expect_entry(&t, tokens[i], (enum luo_token_state)(i % 3 + 1),
			     fake_session(i));
	expect_sane(&t);
	memcpy(sorted, tokens, BIG * sizeof(*tokens));
	qsort(sorted, BIG, sizeof(*sorted), cmp_u64);
	expect_iteration(&t, sorted, BIG);

	/* Remove every other one (0 and UINT64_MAX included or not, by
	 * position), then check both halves and iterate again. */
	for (i = 0; i < BIG; i++) {
		if (i % 2 == 0)
			cr_assert_eq(luo_token_table_remove(&t, tokens[i]), 0);
		else
			kept[nkept++] = tokens[i];
	}
	cr_assert_eq(t.count, nkept);
	for (i = 0; i < BIG; i++) {
		if (i % 2 == 0)
			expect_absent(&t, tokens[i]);
		else
			expect_entry(&t, tokens[i],
				     (enum luo_token_state)(i % 3 + 1),
				     fake_session(i));
	}
	expect_sane(&t);
	qsort(kept, nkept, sizeof(*kept), cmp_u64);
	expect_iteration(&t, kept, nkept);

	/* Remove the rest: nothing is left to iterate. */
	for (i = 1; i < BIG; i += 2)
		cr_assert_eq(luo_token_table_remove(&t, tokens[i]), 0);
	cr_assert_eq(t.count, 0);
	expect_iteration(&t, kept, 0);
	expect_absent(&t, 0);
	expect_absent(&t, UINT64_MAX);
	luo_token_table_clear(&t);
	free(tokens);
	free(sorted);
	free(kept);
}

UNIT_TEST(reserve_prevents_allocation)
{
	struct luo_token_table t;
	struct luo_token_entry *slots;
	size_t capacity;
	uint64_t i;

	luo_token_table_init(&t);
	cr_assert_eq(luo_token_table_reserve(&t, 0), 0);
	cr_assert_eq(luo_token_table_reserve(&t, 1000), 0);
	capacity = t.capacity;
	slots = t.slots;
	cr_assert_gt(capacity, 1000);
	for (i = 0; i < 1000; i++) {
		insert_ok(&t, i * 7919, LUO_TOKEN_PRESERVED, NULL);
		cr_assert_eq(t.capacity, capacity, "insert %llu reallocated "
			     "after reserve", (unsigned long long)i);
		cr_assert_eq(t.slots, slots);
	}
	expect_sane(&t);

	/* With tombstones around, reserve still means what it says. */
	for (i = 0; i < 1000; i++)
		cr_assert_eq(luo_token_table_remove(&t, i * 7919), 0);
	cr_assert_eq(luo_token_table_reserve(&t, 500), 0);
	capacity = t.capacity;
	slots = t.slots;
	for (i = 0; i < 500; i++) {
		insert_ok(&t, i * 104729 + 1, LUO_TOKEN_INCOMING, NULL);
		cr_assert_eq(t.slots, slots, "insert %llu reallocated after "
			     "reserve", (unsigned long long)i);
		cr_assert_eq(t.capacity, capacity);
	}
	cr_assert_eq(t.count, 500);
	for (i = 0; i < 500; i++)
		expect_entry(&t, i * 104729 + 1, LUO_TOKEN_INCOMING, NULL);
	expect_sane(&t);

	/* Reserving when room exists changes nothing. */
	cr_assert_eq(luo_token_table_reserve(&t, 1), 0);
	cr_assert_eq(t.slots, slots);
	luo_token_table_clear(&t);
}

UNIT_TEST(clear_empties_and_table_is_reusable)
{
	struct luo_token_table t;
	const uint64_t one[] = { 77 };
	uint64_t i;

	luo_token_table_init(&t);
	for (i = 0; i < 500; i++)
		insert_ok(&t, i, LUO_TOKEN_PRESERVED, NULL);
	luo_token_table_clear(&t);
	cr_assert_eq(t.count, 0);
	cr_assert_eq(t.used, 0);
	for (i = 0; i < 500; i += 50)
		expect_absent(&t, i);
	insert_ok(&t, 77, LUO_TOKEN_RESTORED, NULL);
	expect_entry(&t, 77, LUO_TOKEN_RESTORED, NULL);
	expect_iteration(&t, one, 1);
	expect_sane(&t);
	luo_token_table_clear(&t);
}

/* The guarantee seed.c relies on: removing entries while iterating visits
 * every entry that was live when the iteration began, exactly once. */
UNIT_TEST(remove_during_iteration)
{
	struct luo_token_table t;
	struct luo_token_entry *e;
	uint64_t seen_sum = 0, want_sum = 0, i;
	size_t it = 0, visited = 0;

	luo_token_table_init(&t);
	for (i = 1; i <= 2000; i++) {
		insert_ok(&t, i * 2654435761u,
			  i % 2 ? LUO_TOKEN_INCOMING : LUO_TOKEN_PRESERVED, NULL);
		want_sum += i * 2654435761u;
	}
	while ((e = luo_token_table_next(&t, &it))) {
		visited++;
		seen_sum += e->token;
		if (e->state == LUO_TOKEN_INCOMING)
			cr_assert_eq(luo_token_table_remove(&t, e->token), 0);
	}
	cr_assert_eq(visited, 2000);
	cr_assert_eq(seen_sum, want_sum);
	cr_assert_eq(t.count, 1000);
	for (i = 1; i <= 2000; i++) {
		if (i % 2)
			expect_absent(&t, i * 2654435761u);
		else
			expect_entry(&t, i * 2654435761u, LUO_TOKEN_PRESERVED,
				     NULL);
	}
	expect_sane(&t);
	luo_token_table_clear(&t);
}
