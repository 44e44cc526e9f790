/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The labels of a session's tokens (luo_session_preserve_fd_labeled()).
 *
 * A label has an id (1, 2, ...) that the token table keeps in the upper
 * bits of the token's slot, so token -> label costs no second lookup;
 * label -> token goes through a hash map keyed by the label's 64-bit hash,
 * with the rare collisions chained through the labels themselves.
 * Label texts live in chunks that are never moved or freed before the
 * table, so a pointer handed to the user stays valid as long as the
 * session handle.
 *
 * A label is *pending* while the kernel request that records it is under
 * way: it already counts for uniqueness, but lookups do not find it.
 *
 * Not thread-safe by itself: the session's lock protects it.
 */
#ifndef LUOI_LABEL_TABLE_H
#define LUOI_LABEL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

struct luoi_label {
	const char *text; /* NUL-terminated, in a chunk */
	uint64_t token;
	uint32_t next;    /* id of the next label with the same hash; 0: none */
	uint16_t len;
	uint8_t pending;
	uint8_t indexed;  /* reachable from the hash map */
};

struct luoi_label_chunk;

struct luoi_label_table {
	struct luoi_label *labels; /* labels[id - 1] */
	uint32_t count, capacity;
	struct luoi_hmap by_hash;  /* hash -> id of the first label */
	struct luoi_label_chunk *chunks;
};

void luoi_label_table_init(struct luoi_label_table *t);
void luoi_label_table_fini(struct luoi_label_table *t);

/*
 * Add @text (@len bytes) for @token: its id, or -EEXIST (an indexed label
 * with that text, pending or not, exists) or -ENOMEM.  @pending: a label
 * for a request under way (commit or abort it).  @index false: a label
 * that is kept for its token but that lookups by text do not find (a
 * duplicate read from a record: the first one recorded wins).
 */
int luoi_label_add(struct luoi_label_table *t, const char *text, size_t len,
		   uint64_t token, bool pending, bool index);

/* The request succeeded: lookups find it from now on. */
void luoi_label_commit(struct luoi_label_table *t, uint32_t id);

/* The request failed: forget it. */
void luoi_label_abort(struct luoi_label_table *t, uint32_t id);

/* The committed label @text: its token, or -ENOENT. */
int luoi_label_find(const struct luoi_label_table *t, const char *text,
		    size_t len, uint64_t *token);

static inline const char *luoi_label_text(const struct luoi_label_table *t,
					  uint32_t id)
{
	return id && id <= t->count && !t->labels[id - 1].pending ?
		       t->labels[id - 1].text :
		       NULL;
}

#endif /* LUOI_LABEL_TABLE_H */
