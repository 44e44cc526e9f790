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

#include <errno.h>
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
/* At most 7/8 full: past that, grow by half. */
#define LUOI_HMAP_LOAD_NUM 7
#define LUOI_HMAP_LOAD_DEN 8
/* Empty slots after the last one, so that a lookup can look at the four
 * slots from a key's home without minding the end of the array. */
#define LUOI_HMAP_PAD 3

void luoi_hmap_init(struct luoi_hmap *m);
/* Start in @buf, @slots slots (at least LUOI_HMAP_MIN_CAPACITY +
 * LUOI_HMAP_PAD) that the owner keeps: a small map costs no allocation.
 * Growing moves to the heap; @buf is never freed. */
void luoi_hmap_init_buffer(struct luoi_hmap *m, struct luoi_hmap_slot *buf,
			   size_t slots);
void luoi_hmap_fini(struct luoi_hmap *m);

/* Fibonacci hashing (hmap.c says why): a slot holds key * LUOI_HMAP_FIB. */
#define LUOI_HMAP_FIB 0x9e3779b97f4a7c15ULL

uint64_t *luoi_hmap_find_slow(const struct luoi_hmap *m, uint64_t key);

/*
 * The value stored for @key (writable in place, never to 0), or NULL.
 * Inline for the common case, a key within three slots of its home: the
 * four slots are compared without a branch each, so a hit costs one
 * multiplication, four loads from one or two cache lines and one
 * well-predicted branch.  Slots past the end are the empty pad; a key
 * further away, or in a run that wraps around, takes the slow path.
 */
static inline uint64_t *luoi_hmap_find(const struct luoi_hmap *m,
				       uint64_t key)
{
	if (m->count) {
		uint64_t hkey = key * LUOI_HMAP_FIB;
		struct luoi_hmap_slot *s =
			&m->slots[((unsigned __int128)hkey * m->capacity) >> 64];
		unsigned int hit = (unsigned int)(s[0].key == hkey) |
				   (unsigned int)(s[1].key == hkey) << 1 |
				   (unsigned int)(s[2].key == hkey) << 2 |
				   (unsigned int)(s[3].key == hkey) << 3;

		if (hit) {
			s += __builtin_ctz(hit);
			/* key 0 hashes to 0, the key of an empty slot */
			if (s->value)
				return &s->value;
		}
	}
	return luoi_hmap_find_slow(m, key);
}

/* Room for @extra more keys: the next @extra inserts cannot fail with
 * -ENOMEM.  0 or -ENOMEM. */
int luoi_hmap_reserve(struct luoi_hmap *m, size_t extra);

/* Put a key known to be absent into a map with room (hmap.c). */
void luoi_hmap_place(struct luoi_hmap *m, uint64_t key, uint64_t value);
int luoi_hmap_insert_slow(struct luoi_hmap *m, uint64_t key, uint64_t value);

/* 0, -EEXIST (key present), -EINVAL (value 0) or -ENOMEM.  Inline for the
 * common case, a map with room. */
static inline int luoi_hmap_insert(struct luoi_hmap *m, uint64_t key,
				   uint64_t value)
{
	if (value == 0)
		return -EINVAL;
	if (luoi_hmap_find(m, key))
		return -EEXIST;
	if ((m->count + 1) * LUOI_HMAP_LOAD_DEN > m->capacity * LUOI_HMAP_LOAD_NUM)
		return luoi_hmap_insert_slow(m, key, value);
	luoi_hmap_place(m, key, value);
	return 0;
}

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
	return m->capacity ? (m->capacity + LUOI_HMAP_PAD) *
				     sizeof(struct luoi_hmap_slot) :
			     0;
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
