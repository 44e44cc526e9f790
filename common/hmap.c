/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Robin Hood hashing: a key's home slot is its hash scaled to the capacity
 * (multiply-shift, so any capacity works and the table can grow by half
 * rather than double).  Slots store the *hashed* key: the hash is a
 * bijection on 64 bits, so nothing is lost (iteration unhashes), and a
 * probe learns a stored key's home with one multiplication instead of a
 * rehash.  An insert an insert that meets a slot whose key sits closer to
 * its home than the new one would takes that slot and carries the evicted
 * key on.  Every key therefore lies within a short run after its home, and
 * a lookup stops as soon as it meets a key closer to home than itself: a
 * miss costs about what a hit does.  Removal shifts the run after the slot
 * back by one, leaving no tombstone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define LOAD_NUM LUOI_HMAP_LOAD_NUM
#define LOAD_DEN LUOI_HMAP_LOAD_DEN

/*
 * The slot key: Fibonacci hashing, one multiplication by an odd constant
 * (2^64 / golden ratio), a bijection whose high bits, which the range
 * reduction uses, depend on every bit of the key.  Keys chosen by people
 * (1, 2, 3, ..., or multiples of a power of two) spread evenly.
 */
#define FIB LUOI_HMAP_FIB
#define FIB_INVERSE 0xf1de83e19937733dULL /* FIB * FIB_INVERSE == 1 */

static uint64_t hash_key(uint64_t key)
{
	return key * FIB;
}

static uint64_t unhash(uint64_t hkey)
{
	return hkey * FIB_INVERSE;
}

/* Home slot of a stored (hashed) key. */
static size_t home_of(const struct luoi_hmap *m, uint64_t hkey)
{
	return (size_t)(((unsigned __int128)hkey * m->capacity) >> 64);
}

static size_t next_slot(const struct luoi_hmap *m, size_t i)
{
	return i + 1 == m->capacity ? 0 : i + 1;
}

/* How far slot @i is from @home, walking forward with wrap-around. */
static size_t distance(const struct luoi_hmap *m, size_t home, size_t i)
{
	return i >= home ? i - home : i + m->capacity - home;
}

void luoi_hmap_init(struct luoi_hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void luoi_hmap_init_buffer(struct luoi_hmap *m, struct luoi_hmap_slot *buf,
			   size_t slots)
{
	memset(buf, 0, slots * sizeof(*buf));
	m->slots = buf;
	m->capacity = slots - LUOI_HMAP_PAD;
	m->count = 0;
	m->borrowed = true;
}

void luoi_hmap_fini(struct luoi_hmap *m)
{
	if (!m->borrowed)
		free(m->slots);
	luoi_hmap_init(m);
}

static size_t find_slot(const struct luoi_hmap *m, uint64_t key, bool *found)
{
	uint64_t hkey = hash_key(key);
	size_t i, d;

	*found = false;
	if (m->count == 0)
		return 0;
	i = home_of(m, hkey);
	for (d = 0;; d++, i = next_slot(m, i)) {
		const struct luoi_hmap_slot *s = &m->slots[i];

		if (s->value == 0)
			return i;
		if (s->key == hkey) {
			*found = true;
			return i;
		}
		/* a key closer to its home than we are to ours: ours
		 * would have taken this slot */
		if (distance(m, home_of(m, s->key), i) < d)
			return i;
	}
}

uint64_t *luoi_hmap_find_slow(const struct luoi_hmap *m, uint64_t key)
{
	bool found;
	size_t i = find_slot(m, key, &found);

	return found ? &m->slots[i].value : NULL;
}

/* Place a hashed key known to be absent, in a table with room. */
static void place(struct luoi_hmap *m, uint64_t key, uint64_t value)
{
	size_t i = home_of(m, key), d = 0;

	for (;; i = next_slot(m, i), d++) {
		struct luoi_hmap_slot *s = &m->slots[i];
		size_t sd;

		if (s->value == 0) {
			s->key = key;
			s->value = value;
			m->count++;
			return;
		}
		sd = distance(m, home_of(m, s->key), i);
		if (sd < d) {
			struct luoi_hmap_slot evicted = *s;

			s->key = key;
			s->value = value;
			key = evicted.key;
			value = evicted.value;
			d = sd;
		}
	}
}

static int resize(struct luoi_hmap *m, size_t capacity)
{
	struct luoi_hmap n = { 0 };
	size_t i;

	/* the pad after the last slot stays empty: see luoi_hmap_find() */
	n.slots = calloc(capacity + LUOI_HMAP_PAD, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	n.capacity = capacity;
	for (i = 0; i < m->capacity; i++)
		if (m->slots[i].value)
			place(&n, m->slots[i].key, m->slots[i].value);
	if (!m->borrowed)
		free(m->slots);
	*m = n;
	return 0;
}

int luoi_hmap_reserve(struct luoi_hmap *m, size_t extra)
{
	size_t need, capacity;

	if (extra > SIZE_MAX / 64 - m->count)
		return -ENOMEM;
	need = m->count + extra;
	if (need * LOAD_DEN <= m->capacity * LOAD_NUM)
		return 0;
	capacity = m->capacity < LUOI_HMAP_MIN_CAPACITY ?
			   LUOI_HMAP_MIN_CAPACITY :
			   m->capacity;
	while (need * LOAD_DEN > capacity * LOAD_NUM) {
		if (capacity > SIZE_MAX / 4 / sizeof(struct luoi_hmap_slot))
			return -ENOMEM;
		capacity += capacity / 2;
	}
	return resize(m, capacity);
}

void luoi_hmap_place(struct luoi_hmap *m, uint64_t key, uint64_t value)
{
	place(m, hash_key(key), value);
}

/* luoi_hmap_insert() when the map must grow first. */
int luoi_hmap_insert_slow(struct luoi_hmap *m, uint64_t key, uint64_t value)
{
	int r = luoi_hmap_reserve(m, 1);

	if (r < 0)
		return r;
	place(m, hash_key(key), value);
	return 0;
}

/* Empty slot @i and shift the rest of its run back by one. */
static void remove_at(struct luoi_hmap *m, size_t i)
{
	size_t j;

	for (j = next_slot(m, i);; i = j, j = next_slot(m, j)) {
		struct luoi_hmap_slot *s = &m->slots[j];

		if (s->value == 0 || distance(m, home_of(m, s->key), j) == 0)
			break;
		m->slots[i] = *s;
	}
	m->slots[i].key = 0;
	m->slots[i].value = 0;
	m->count--;
}

int luoi_hmap_remove(struct luoi_hmap *m, uint64_t key, uint64_t *old)
{
	bool found;
	size_t i = find_slot(m, key, &found);

	if (!found)
		return -ENOENT;
	if (old)
		*old = m->slots[i].value;
	remove_at(m, i);
	return 0;
}

/*
 * Removing slot i shifts the run after it back by one, so slot i is looked
 * at again; entries only ever move to lower slots (or from slot 0 to the
 * last one, which is then looked at again too), so none is skipped.
 */
size_t luoi_hmap_remove_if(struct luoi_hmap *m,
			   bool (*pred)(uint64_t key, uint64_t value,
					void *data),
			   void *data)
{
	size_t i = 0, removed = 0;

	while (i < m->capacity) {
		const struct luoi_hmap_slot *s = &m->slots[i];

		if (s->value && pred(unhash(s->key), s->value, data)) {
			remove_at(m, i);
			removed++;
			continue;
		}
		i++;
	}
	return removed;
}

bool luoi_hmap_next(const struct luoi_hmap *m, size_t *i, uint64_t *key,
		    uint64_t *value)
{
	for (; *i < m->capacity; (*i)++) {
		const struct luoi_hmap_slot *s = &m->slots[*i];

		if (s->value) {
			*key = unhash(s->key);
			*value = s->value;
			(*i)++;
			return true;
		}
	}
	return false;
}

uint64_t luoi_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return luoi_hash64(h);
}
