/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one hash map of the tree: 64-bit keys to non-zero 64-bit values, in
 * one array of 16-byte slots (Robin Hood linear probing, backward-shift
 * deletion, so there are no tombstones and a table after any amount of
 * churn probes like a freshly built one).  libluo keeps its token
 * bookkeeping in it; the fake kernel finds sessions, files and handles with
 * it (keys that are hashes of longer identities, with the collisions
 * chained by the caller).
 *
 * Memory: the table grows by half when it would pass 7/8 full, so it is
 * between 7/12 and 7/8 full at rest (18 to 28 bytes a key) and holds at
 * most 46 bytes a key while growing (old and new arrays together).
 *
 * Not thread-safe: the owner locks.  A value of 0 means "empty" and cannot
 * be stored.  Pointers into the table are valid until the next insert or
 * remove; so is an iteration.
 */
#ifndef LUOI_HMAP_H
#define LUOI_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct luoi_hmap_slot {
	uint64_t key;
	uint64_t value; /* 0: empty */
};

struct luoi_hmap {
	struct luoi_hmap_slot *slots;
	size_t capacity; /* 0, or at least LUOI_HMAP_MIN_CAPACITY */
	size_t count;
	bool borrowed;   /* slots is the owner's buffer: never freed */
};

#define LUOI_HMAP_MIN_CAPACITY 8

void luoi_hmap_init(struct luoi_hmap *m);
/* Start in @buf, @capacity slots (at least LUOI_HMAP_MIN_CAPACITY) that
 * the owner keeps: a small map costs no allocation.  Growing moves to the
 * heap; @buf is never freed. */
void luoi_hmap_init_buffer(struct luoi_hmap *m, struct luoi_hmap_slot *buf,
			   size_t capacity);
void luoi_hmap_fini(struct luoi_hmap *m);

/* The value stored for @key (writable in place, never to 0), or NULL. */
uint64_t *luoi_hmap_find(const struct luoi_hmap *m, uint64_t key);

/* Room for @extra more keys: the next @extra inserts cannot fail with
 * -ENOMEM.  0 or -ENOMEM. */
int luoi_hmap_reserve(struct luoi_hmap *m, size_t extra);

/* 0, -EEXIST (key present), -EINVAL (value 0) or -ENOMEM. */
int luoi_hmap_insert(struct luoi_hmap *m, uint64_t key, uint64_t value);

/* 0 and the old value in *old (if not NULL), or -ENOENT.  Never fails
 * otherwise; never allocates. */
int luoi_hmap_remove(struct luoi_hmap *m, uint64_t key, uint64_t *old);

/* Remove every key for which @pred(key, value, data) is true; the number
 * removed.  Never allocates. */
size_t luoi_hmap_remove_if(struct luoi_hmap *m,
			   bool (*pred)(uint64_t key, uint64_t value,
					void *data),
			   void *data);

/* Iteration: *i starts at 0.  True with the next key and value, false at
 * the end.  No insert or remove during an iteration. */
bool luoi_hmap_next(const struct luoi_hmap *m, size_t *i, uint64_t *key,
		    uint64_t *value);

/* Bytes of the slot array. */
static inline size_t luoi_hmap_memory(const struct luoi_hmap *m)
{
	return m->capacity * sizeof(struct luoi_hmap_slot);
}

/* A 64-bit mixer (splitmix64's finaliser): keys chosen by people (1, 2,
 * 3, ...) spread over the table. */
static inline uint64_t luoi_hash64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A 64-bit hash of @len bytes (FNV-1a, then mixed). */
uint64_t luoi_hash_bytes(const void *data, size_t len);

#endif /* LUOI_HMAP_H */
