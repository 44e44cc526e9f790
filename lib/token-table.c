/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Open addressing with linear probing and tombstones.  Tokens are chosen by
 * callers and are often sequential, so they are mixed (splitmix64 finaliser)
 * before being reduced to a slot.  The table grows at 70% occupancy counting
 * tombstones, which keeps probe sequences short and guarantees an empty slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libluo-private.h"
#include "token-table.h"

#define TABLE_MIN_CAPACITY 16

static uint64_t token_hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static bool slot_live(const struct luo_token_table *t, size_t i)
{
	return t->slots[i].state != 0;
}

void luo_token_table_init(struct luo_token_table *t)
{
	memset(t, 0, sizeof(*t));
}

void luo_token_table_clear(struct luo_token_table *t)
{
	free(t->slots);
	free(t->tombstone);
	luo_token_table_init(t);
}

/* Slot holding @token, or the capacity if absent. */
static size_t find_slot(const struct luo_token_table *t, uint64_t token)
{
	size_t mask, i;

	if (t->capacity == 0)
		return 0;
	mask = t->capacity - 1;
	for (i = token_hash(token) & mask;; i = (i + 1) & mask) {
		if (slot_live(t, i)) {
			if (t->slots[i].token == token)
				return i;
		} else if (!t->tombstone[i]) {
			return t->capacity;
		}
	}
}

struct luo_token_entry *luo_token_table_find(const struct luo_token_table *t,
					     uint64_t token)
{
	size_t i = find_slot(t, token);

	return i < t->capacity ? &t->slots[i] : NULL;
}

static void place(struct luo_token_table *t, const struct luo_token_entry *e)
{
	size_t mask = t->capacity - 1, i;

	for (i = token_hash(e->token) & mask; slot_live(t, i) || t->tombstone[i];
	     i = (i + 1) & mask)
		;
	t->slots[i] = *e;
	t->count++;
	t->used++;
}

static int rehash(struct luo_token_table *t, size_t capacity)
{
	struct luo_token_table n = { 0 };
	size_t i;

	n.slots = calloc(capacity, sizeof(*n.slots));
	n.tombstone = calloc(capacity, 1);
	if (!n.slots || !n.tombstone) {
		free(n.slots);
		free(n.tombstone);
		return -ENOMEM;
	}
	n.capacity = capacity;
	for (i = 0; i < t->capacity; i++)
		if (slot_live(t, i))
			place(&n, &t->slots[i]);
	free(t->slots);
	free(t->tombstone);
	*t = n;
	return 0;
}

int luo_token_table_reserve(struct luo_token_table *t, size_t extra)
{
	size_t need, capacity;

	if (extra > SIZE_MAX / 4 - t->count)
		return -ENOMEM;
	need = t->used + extra;
	/* keep (used / capacity) <= 0.7 */
	if (t->capacity && need * 10 <= t->capacity * 7)
		return 0;
	/* after the rehash, at most half full: room before the next one */
	capacity = TABLE_MIN_CAPACITY;
	while ((t->count + extra) * 2 > capacity) {
		if (capacity > SIZE_MAX / 2 / sizeof(struct luo_token_entry))
			return -ENOMEM;
		capacity *= 2;
	}
	return rehash(t, capacity);
}

int luo_token_table_insert(struct luo_token_table *t,
			   const struct luo_token_entry *e)
{
	int r;

	if (e->state == 0)
		return -EINVAL;
	if (luo_token_table_find(t, e->token))
		return -EEXIST;
	r = luo_token_table_reserve(t, 1);
	if (r < 0)
		return r;
	place(t, e);
	return 0;
}

int luo_token_table_remove(struct luo_token_table *t, uint64_t token)
{
	size_t i = find_slot(t, token);

	if (i >= t->capacity)
		return -ENOENT;
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->tombstone[i] = 1;
	t->count--;
	return 0;
}

struct luo_token_entry *luo_token_table_next(const struct luo_token_table *t,
					     size_t *i)
{
	for (; *i < t->capacity; (*i)++)
		if (slot_live(t, *i))
			return &t->slots[(*i)++];
	return NULL;
}

struct token_snapshot {
	uint64_t token;
	enum luo_token_state state;
};

int luo_token_table_foreach_snapshot(luo_ctx_t *ctx,
				     const struct luo_token_table *t,
				     luo_token_fn fn, void *userdata)
{
	struct token_snapshot *snap = NULL;
	struct luo_token_entry *e;
	size_t n = 0, i = 0, k;
	int r = 0;

	/* Copy under the lock, call back without it: the callback may use
	 * libluo, even on the same context. */
	luo_ctx_lock(ctx);
	if (t->count) {
		snap = malloc(t->count * sizeof(*snap));
		if (!snap) {
			luo_ctx_unlock(ctx);
			return -ENOMEM;
		}
		while ((e = luo_token_table_next(t, &i)))
			snap[n++] = (struct token_snapshot){ e->token, e->state };
	}
	luo_ctx_unlock(ctx);

	for (k = 0; k < n && r == 0; k++)
		r = fn(snap[k].token, snap[k].state, userdata);
	free(snap);
	return r;
}
