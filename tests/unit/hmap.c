/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box tests of the hash map (common/hmap.h): the luoi_hmap_* API's
 * results and errors, growth, backward-shift removal (inside a run that
 * wraps around the end of the table, and under random churn checked
 * against a plain reference array), iteration.
 *
 * Also the example of a unit test: see tests/unit/meson.build.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hmap.h"
#include "leak-check.h"
#include "macro.h"
#include "rng.h"

/* The slot that holds @key (asserts that it is there). */
static size_t slot_of(const struct luoi_hmap *m, uint64_t key)
{
	uint64_t *v = luoi_hmap_find(m, key);
	const struct luoi_hmap_slot *s;

	assert_not_null(v, "key %#" PRIx64 " is missing", key);
	s = (const struct luoi_hmap_slot *)((const char *)v -
					    offsetof(struct luoi_hmap_slot,
						     value));
	assert_true(s >= m->slots && s < m->slots + m->capacity);
	return (size_t)(s - m->slots);
}

/* The map's invariants: count == occupied slots, load at most 7/8. */
static void expect_consistent(const struct luoi_hmap *m)
{
	size_t i, used = 0;

	for (i = 0; i < m->capacity; i++)
		if (m->slots[i].value)
			used++;
	assert_eq(used, m->count);
	assert_le(m->count * 8, m->capacity * 7, "count %zu, capacity %zu",
		  m->count, m->capacity);
	if (m->capacity) {
		assert_ge(m->capacity, (size_t)LUOI_HMAP_MIN_CAPACITY);
		/* the pad after the last slot: always empty, counted */
		for (i = m->capacity; i < m->capacity + LUOI_HMAP_PAD; i++)
			assert_eq(m->slots[i].value, 0, "pad slot %zu", i);
	}
	assert_eq(luoi_hmap_memory(m),
		  m->capacity ? (m->capacity + LUOI_HMAP_PAD) *
					sizeof(struct luoi_hmap_slot) :
				0);
}

TEST(hmap, an_empty_map_finds_nothing)
{
	struct luoi_hmap m;
	uint64_t old = 42, key = 1, value = 2;
	size_t i = 0;

	luoi_hmap_init(&m);
	assert_eq(m.count, 0);
	assert_eq(luoi_hmap_memory(&m), 0);
	assert_null(luoi_hmap_find(&m, 0));
	assert_null(luoi_hmap_find(&m, 1));
	assert_eq(luoi_hmap_remove(&m, 1, &old), -ENOENT);
	assert_eq(old, 42, "a failed remove wrote *old");
	assert_false(luoi_hmap_next(&m, &i, &key, &value));
	assert_eq(key, 1);
	assert_eq(value, 2);
	luoi_hmap_fini(&m);
	luoi_hmap_fini(&m); /* fini leaves an empty map: again is fine */
	assert_eq(m.capacity, 0);
}

TEST(hmap, insert_then_find_and_update_in_place)
{
	static const uint64_t keys[] = { 0, 1, 2, 0x8000000000000000ULL,
					 UINT64_MAX, 0x5e57 };
	struct luoi_hmap m;
	size_t i;

	luoi_hmap_init(&m);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_eq(luoi_hmap_insert(&m, keys[i], 100 + i), 0);
		assert_eq(m.count, i + 1);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t *v = luoi_hmap_find(&m, keys[i]);

		assert_not_null(v, "key %#" PRIx64, keys[i]);
		assert_eq(*v, 100 + i);
		*v = 1000 + i; /* writable in place */
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_eq(*luoi_hmap_find(&m, keys[i]), 1000 + i);
	assert_null(luoi_hmap_find(&m, 3));
	expect_consistent(&m);
	luoi_hmap_fini(&m);
	assert_eq(m.count, 0);
	assert_null(m.slots);
}

TEST(hmap, inserting_a_present_key_is_eexist_and_keeps_the_value)
{
	struct luoi_hmap m;

	luoi_hmap_init(&m);
	assert_eq(luoi_hmap_insert(&m, 7, 70), 0);
	assert_eq(luoi_hmap_insert(&m, 7, 71), -EEXIST);
	assert_eq(luoi_hmap_insert(&m, 7, 70), -EEXIST);
	assert_eq(m.count, 1);
	assert_eq(*luoi_hmap_find(&m, 7), 70);
	luoi_hmap_fini(&m);
}

TEST(hmap, value_zero_is_einval)
{
	struct luoi_hmap m;

	luoi_hmap_init(&m);
	/* On an empty map, before anything is allocated... */
	assert_eq(luoi_hmap_insert(&m, 5, 0), -EINVAL);
	assert_eq(m.count, 0);
	assert_null(luoi_hmap_find(&m, 5));
	/* ...and on one that holds the key: still -EINVAL, value kept. */
	assert_eq(luoi_hmap_insert(&m, 5, 50), 0);
	assert_eq(luoi_hmap_insert(&m, 5, 0), -EINVAL);
	assert_eq(luoi_hmap_insert(&m, 6, 0), -EINVAL);
	assert_eq(m.count, 1);
	assert_eq(*luoi_hmap_find(&m, 5), 50);
	assert_null(luoi_hmap_find(&m, 6));
	luoi_hmap_fini(&m);
}

TEST(hmap, remove_returns_the_value_and_a_missing_key_is_enoent)
{
	struct luoi_hmap m;
	uint64_t old = 0, k;

	luoi_hmap_init(&m);
	for (k = 1; k <= 20; k++)
		assert_eq(luoi_hmap_insert(&m, k, k * 10), 0);
	assert_eq(luoi_hmap_remove(&m, 5, &old), 0);
	assert_eq(old, 50);
	assert_null(luoi_hmap_find(&m, 5));
	old = 42;
	assert_eq(luoi_hmap_remove(&m, 5, &old), -ENOENT);
	assert_eq(old, 42, "a failed remove wrote *old");
	assert_eq(luoi_hmap_remove(&m, 21, NULL), -ENOENT);
	assert_eq(luoi_hmap_remove(&m, 6, NULL), 0); /* old may be NULL */
	assert_eq(m.count, 18);
	for (k = 1; k <= 20; k++) {
		if (k == 5 || k == 6)
			assert_null(luoi_hmap_find(&m, k));
		else
			assert_eq(*luoi_hmap_find(&m, k), k * 10);
	}
	/* A removed key can come back. */
	assert_eq(luoi_hmap_insert(&m, 5, 55), 0);
	assert_eq(*luoi_hmap_find(&m, 5), 55);
	expect_consistent(&m);
	luoi_hmap_fini(&m);
}

TEST(hmap, reserve_makes_room_for_inserts_that_do_not_reallocate)
{
	struct luoi_hmap m;
	struct luoi_hmap_slot *slots;
	size_t capacity;
	uint64_t k;

	luoi_hmap_init(&m);
	assert_eq(luoi_hmap_reserve(&m, 0), 0);
	assert_eq(luoi_hmap_reserve(&m, 1000), 0);
	assert_ge(m.capacity * 7, (size_t)1000 * 8);
	slots = m.slots;
	capacity = m.capacity;
	for (k = 0; k < 1000; k++) {
		assert_eq(luoi_hmap_insert(&m, k * 0x9e3779b97f4a7c15ULL, k + 1),
			  0);
		assert_eq(m.slots, slots, "insert %" PRIu64 " of 1000 "
			  "reallocated after reserve(1000)", k + 1);
		assert_eq(m.capacity, capacity);
	}
	/* Reserving what is already there changes nothing. */
	assert_eq(luoi_hmap_reserve(&m, 0), 0);
	assert_eq(m.slots, slots);
	/* Absurd requests fail cleanly. */
	assert_eq(luoi_hmap_reserve(&m, SIZE_MAX), -ENOMEM);
	assert_eq(m.slots, slots);
	assert_eq(m.count, 1000);
	for (k = 0; k < 1000; k++)
		assert_eq(*luoi_hmap_find(&m, k * 0x9e3779b97f4a7c15ULL),
			  k + 1);
	expect_consistent(&m);
	luoi_hmap_fini(&m);
}

TEST(hmap, removal_in_a_run_that_wraps_keeps_every_key_findable)
{
	struct luoi_hmap probe, m;
	uint64_t keys[5], k;
	size_t n = 0, last, i, j;

	/* Keys whose home is the last slot of a table of the minimum
	 * capacity: found by placing each alone in such a table. */
	luoi_hmap_init(&probe);
	assert_eq(luoi_hmap_reserve(&probe, 1), 0);
	last = probe.capacity - 1;
	for (k = 1; n < 5 && k < 100000; k++) {
		assert_eq(luoi_hmap_insert(&probe, k, 1), 0);
		if (slot_of(&probe, k) == last)
			keys[n++] = k;
		assert_eq(luoi_hmap_remove(&probe, k, NULL), 0);
	}
	assert_eq(n, 5, "not enough keys with the last slot as home");

	/* Each removal position: the run after it shifts back across the
	 * end of the table. */
	for (i = 0; i < 5; i++) {
		luoi_hmap_init(&m);
		assert_eq(luoi_hmap_reserve(&m, 5), 0);
		assert_eq(m.capacity, probe.capacity, "the table grew: no "
			  "wrap-around to test");
		for (j = 0; j < 5; j++)
			assert_eq(luoi_hmap_insert(&m, keys[j], j + 1), 0);
		/* One run: the last slot, then slots 0 to 3. */
		for (j = 0; j < 5; j++)
			assert_ne(m.slots[(last + j) % m.capacity].value, 0,
				  "slot %zu of the run is empty: it does not "
				  "wrap", (last + j) % m.capacity);
		for (j = 0; j < 5; j++)
			assert_lt((slot_of(&m, keys[j]) + m.capacity - last) %
					  m.capacity,
				  (size_t)5, "key %zu is outside the run", j);
		assert_eq(luoi_hmap_remove(&m, keys[i], NULL), 0);
		for (j = 0; j < 5; j++) {
			if (j == i) {
				assert_null(luoi_hmap_find(&m, keys[j]));
				continue;
			}
			assert_not_null(luoi_hmap_find(&m, keys[j]),
					"key %zu lost after removing %zu", j,
					i);
			assert_eq(*luoi_hmap_find(&m, keys[j]), j + 1);
		}
		/* Backward shift: the run is one shorter, with no hole. */
		for (j = 0; j < 4; j++)
			assert_ne(m.slots[(last + j) % m.capacity].value, 0,
				  "a hole at slot %zu after removing key %zu",
				  (last + j) % m.capacity, i);
		assert_eq(m.slots[(last + 4) % m.capacity].value, 0);
		expect_consistent(&m);
		luoi_hmap_fini(&m);
	}
	luoi_hmap_fini(&probe);
}

#define CHURN_KEYS 600
#define CHURN_OPS 60000

/* Reference key i: spread out, with 0 and UINT64_MAX among them. */
static uint64_t churn_key(size_t i)
{
	if (i == 0)
		return 0;
	if (i == 1)
		return UINT64_MAX;
	return (uint64_t)i * 0x2545f4914f6cdd1dULL;
}

static void expect_matches_reference(const struct luoi_hmap *m,
				     const uint64_t *ref, size_t present,
				     size_t op)
{
	size_t i;

	assert_eq(m->count, present, "after op %zu", op);
	for (i = 0; i < CHURN_KEYS; i++) {
		uint64_t *v = luoi_hmap_find(m, churn_key(i));

		if (!ref[i]) {
			assert_null(v, "after op %zu: key %zu is back", op, i);
			continue;
		}
		assert_not_null(v, "after op %zu: key %zu lost", op, i);
		assert_eq(*v, ref[i], "after op %zu: key %zu", op, i);
	}
	expect_consistent(m);
}

TEST(hmap, random_churn_matches_a_reference_array)
{
	static uint64_t ref[CHURN_KEYS]; /* value of key i, 0: absent */
	struct luoi_hmap m;
	struct rng r;
	size_t op, present = 0;

	rng_init(&r, 0x4d4150);
	note("seed 0x4d4150");
	luoi_hmap_init(&m);
	for (op = 0; op < CHURN_OPS; op++) {
		size_t i = (size_t)rng_below(&r, CHURN_KEYS);
		uint64_t key = churn_key(i), old = 0;
		/* Phases: mostly inserts, then mostly removes, so that the
		 * table fills, empties and fills again. */
		bool insert = rng_below(&r, 100) <
			      ((op / 10000) % 2 ? 30 : 70);

		if (insert) {
			uint64_t value = rng_next(&r) | 1;
			int e = luoi_hmap_insert(&m, key, value);

			if (ref[i]) {
				assert_eq(e, -EEXIST, "op %zu", op);
			} else {
				assert_eq(e, 0, "op %zu", op);
				ref[i] = value;
				present++;
			}
		} else {
			int e = luoi_hmap_remove(&m, key, &old);

			if (ref[i]) {
				assert_eq(e, 0, "op %zu", op);
				assert_eq(old, ref[i], "op %zu", op);
				ref[i] = 0;
				present--;
			} else {
				assert_eq(e, -ENOENT, "op %zu", op);
			}
		}
		if (op % 97 == 0)
			expect_matches_reference(&m, ref, present, op);
	}
	expect_matches_reference(&m, ref, present, op);
	luoi_hmap_fini(&m);
	assert_eq(leak_check(), 0, "memory leak (LeakSanitizer report on "
		  "stderr)");
}

TEST(hmap, iteration_visits_each_key_once)
{
	enum { N = 3000 };
	static unsigned char seen[N];
	struct luoi_hmap m;
	uint64_t key, value;
	size_t i = 0, visits = 0, k;

	luoi_hmap_init(&m);
	for (k = 0; k < N; k++)
		assert_eq(luoi_hmap_insert(&m, k, k + 1), 0);
	/* Remove a third, so that the table has holes and moved runs. */
	for (k = 0; k < N; k += 3)
		assert_eq(luoi_hmap_remove(&m, k, NULL), 0);
	while (luoi_hmap_next(&m, &i, &key, &value)) {
		assert_lt(key, (uint64_t)N);
		assert_ne(key % 3, 0, "removed key %" PRIu64 " visited", key);
		assert_eq(value, key + 1);
		assert_eq(seen[key], 0, "key %" PRIu64 " visited twice", key);
		seen[key] = 1;
		visits++;
	}
	assert_eq(visits, m.count);
	for (k = 0; k < N; k++)
		assert_eq(seen[k], k % 3 != 0, "key %zu", k);
	/* The end stays the end. */
	assert_false(luoi_hmap_next(&m, &i, &key, &value));
	luoi_hmap_fini(&m);
}

TEST(hmap, a_borrowed_buffer_is_used_then_left_to_its_owner)
{
	struct luoi_hmap_slot buf[LUOI_HMAP_MIN_CAPACITY + LUOI_HMAP_PAD];
	struct luoi_hmap m;
	uint64_t k;

	luoi_hmap_init_buffer(&m, buf, LUOI_ELEMENTSOF(buf));
	assert_eq(m.capacity, (size_t)LUOI_HMAP_MIN_CAPACITY);
	for (k = 0; k < 7; k++)
		assert_int_eq(luoi_hmap_insert(&m, k, k + 1), 0);
	assert_true(m.slots == buf, "7 keys fit in 8 slots at 7/8");
	expect_consistent(&m);
	/* the eighth moves the map to the heap; buf is not freed (ASan
	 * would say so) and every key is still found */
	assert_int_eq(luoi_hmap_insert(&m, 7, 8), 0);
	assert_true(m.slots != buf);
	for (k = 0; k < 8; k++) {
		uint64_t *v = luoi_hmap_find(&m, k);

		assert_not_null(v);
		assert_eq(*v, k + 1);
	}
	expect_consistent(&m);
	luoi_hmap_fini(&m);
}

/* Random keys (a xorshift sequence): sequential ones spread so evenly
 * under Fibonacci hashing that none is ever displaced. */
static uint64_t far_key(uint64_t k)
{
	uint64_t x = (k + 1) * 0x2545f4914f6cdd1dULL;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	return x ^ (x >> 33);
}

TEST(hmap, keys_far_from_home_are_found_by_the_slow_path)
{
	struct luoi_hmap m;
	size_t far = 0, wrapped = 0;
	uint64_t k;

	/* filled close to 7/8: some keys sit more than three slots from
	 * home, past the inline window, and some runs may wrap */
	luoi_hmap_init(&m);
	for (k = 0; k < 1750; k++)
		assert_int_eq(luoi_hmap_insert(&m, far_key(k), k + 1), 0);
	for (k = 0; k < 1750; k++) {
		uint64_t hkey = far_key(k) * LUOI_HMAP_FIB;
		size_t home = (size_t)(((unsigned __int128)hkey * m.capacity) >>
				       64);
		size_t at = slot_of(&m, far_key(k));

		if (at < home)
			wrapped++;
		else if (at - home > 3)
			far++;
		assert_eq(*luoi_hmap_find(&m, far_key(k)), k + 1);
	}
	note("%zu of 1750 keys past the window, %zu wrapped", far, wrapped);
	assert_gt(far, 0, "the test needs keys past the inline window");
	assert_null(luoi_hmap_find(&m, 0x123456789ULL));
	expect_consistent(&m);
	luoi_hmap_fini(&m);
}
