/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "label-table.h"

/* Label texts are carved out of chunks of this size (a label is at most
 * 256 bytes with its NUL). */
#define CHUNK_SIZE 16384u

struct luoi_label_chunk {
	struct luoi_label_chunk *next;
	size_t used;
	char bytes[CHUNK_SIZE];
};

void luoi_label_table_init(struct luoi_label_table *t)
{
	t->labels = NULL;
	t->count = t->capacity = 0;
	luoi_hmap_init(&t->by_hash);
	t->chunks = NULL;
}

void luoi_label_table_fini(struct luoi_label_table *t)
{
	while (t->chunks) {
		struct luoi_label_chunk *next = t->chunks->next;

		free(t->chunks);
		t->chunks = next;
	}
	free(t->labels);
	luoi_hmap_fini(&t->by_hash);
	luoi_label_table_init(t);
}

static char *text_copy(struct luoi_label_table *t, const char *text,
		       size_t len)
{
	struct luoi_label_chunk *c = t->chunks;
	char *p;

	if (!c || c->used + len + 1 > CHUNK_SIZE) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		t->chunks = c;
	}
	p = c->bytes + c->used;
	memcpy(p, text, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

/* A 64-bit hash of a label, eight bytes at a time (labels are short and
 * hashed on every labeled preserve). */
static uint64_t label_hash(const char *text, size_t len)
{
	uint64_t h = 0x243f6a8885a308d3ULL ^ len, w;

	for (; len >= 8; text += 8, len -= 8) {
		memcpy(&w, text, 8);
		h = luoi_hash64(h ^ w);
	}
	if (len) {
		w = 0;
		memcpy(&w, text, len);
		h = luoi_hash64(h ^ w ^ 0x80);
	}
	return h;
}

/* In the chain from @id: the label @text, or 0. */
static uint32_t chain_find(const struct luoi_label_table *t, uint32_t id,
			   const char *text, size_t len)
{
	while (id) {
		const struct luoi_label *l = &t->labels[id - 1];

		if (l->len == len && memcmp(l->text, text, len) == 0)
			return id;
		id = l->next;
	}
	return 0;
}

/* The id of the indexed label @text, pending ones included; 0: none. */
static uint32_t find_id(const struct luoi_label_table *t, uint64_t hash,
			const char *text, size_t len)
{
	const uint64_t *head = luoi_hmap_find(&t->by_hash, hash);

	return head ? chain_find(t, (uint32_t)*head, text, len) : 0;
}

int luoi_label_add(struct luoi_label_table *t, const char *text, size_t len,
		   uint64_t token, bool pending, bool index)
{
	uint64_t hash = label_hash(text, len), *head = NULL;
	struct luoi_label *l;
	uint32_t id;
	int r;

	if (index) {
		/* room first, so that @head stays valid and placing the new
		 * label cannot fail once its text is copied */
		r = luoi_hmap_reserve(&t->by_hash, 1);
		if (r < 0)
			return r;
		head = luoi_hmap_find(&t->by_hash, hash);
		if (head && chain_find(t, (uint32_t)*head, text, len))
			return -EEXIST;
	}
	if (t->count == t->capacity) {
		uint32_t cap = t->capacity ? t->capacity * 2 : 16;
		struct luoi_label *grown = realloc(t->labels,
						   cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		t->labels = grown;
		t->capacity = cap;
	}
	l = &t->labels[t->count];
	l->text = text_copy(t, text, len);
	if (!l->text)
		return -ENOMEM;
	id = ++t->count;
	l->token = token;
	l->len = (uint16_t)len;
	l->pending = pending;
	l->indexed = index;
	l->next = 0;
	if (head) {
		/* a 64-bit hash collision: first in its chain */
		l->next = (uint32_t)*head;
		*head = id;
	} else if (index) {
		luoi_hmap_place(&t->by_hash, hash, id);
	}
	return (int)id;
}

void luoi_label_commit(struct luoi_label_table *t, uint32_t id)
{
	t->labels[id - 1].pending = 0;
}

void luoi_label_abort(struct luoi_label_table *t, uint32_t id)
{
	struct luoi_label *l = &t->labels[id - 1];
	uint64_t hash = label_hash(l->text, l->len);
	uint64_t *head = luoi_hmap_find(&t->by_hash, hash);

	/* unlink it; its id and text stay unused until the table goes */
	if (head && *head == id) {
		if (l->next)
			*head = l->next;
		else
			luoi_hmap_remove(&t->by_hash, hash, NULL);
	} else if (head) {
		uint32_t prev = (uint32_t)*head;

		while (prev && t->labels[prev - 1].next != id)
			prev = t->labels[prev - 1].next;
		if (prev)
			t->labels[prev - 1].next = l->next;
	}
	l->indexed = 0;
	l->pending = 1; /* luoi_label_text() and lookups never see it */
	l->len = 0;
}

int luoi_label_find(const struct luoi_label_table *t, const char *text,
		    size_t len, uint64_t *token)
{
	uint32_t id = find_id(t, label_hash(text, len), text, len);

	if (!id || t->labels[id - 1].pending)
		return -ENOENT;
	*token = t->labels[id - 1].token;
	return 0;
}
