/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Token bookkeeping: an open-addressing hash table from a 64-bit token to a
 * small record.  The kernel has no request to list what was preserved, so
 * this table is libluo's memory of it.  Not thread-safe by itself: the
 * owning context's mutex protects it.  O(1) average insert, lookup, remove.
 */
#ifndef LIBLUO_TOKEN_TABLE_H
#define LIBLUO_TOKEN_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "libluo.h"

struct luo_session;

struct luo_token_entry {
	uint64_t token;
	enum luo_token_state state;
	/* original API on the mainline ABI: the session that carries the token */
	struct luo_session *session;
};

struct luo_token_table {
	struct luo_token_entry *slots; /* capacity entries; state 0 = empty */
	uint8_t *tombstone;            /* per slot: 1 if deleted */
	size_t capacity;               /* 0 or a power of two */
	size_t count;                  /* live entries */
	size_t used;                   /* live + tombstones */
};

void luo_token_table_init(struct luo_token_table *t);
void luo_token_table_clear(struct luo_token_table *t);

/* Entry for @token or NULL.  The pointer is valid until the next insert or
 * remove. */
struct luo_token_entry *luo_token_table_find(const struct luo_token_table *t,
					     uint64_t token);

/* Insert a copy of @e.  -EEXIST if the token is present, -ENOMEM. */
int luo_token_table_insert(struct luo_token_table *t,
			   const struct luo_token_entry *e);

/* Remove @token: 0 or -ENOENT. */
int luo_token_table_remove(struct luo_token_table *t, uint64_t token);

/* Reserve room so that @extra inserts cannot fail with -ENOMEM. */
int luo_token_table_reserve(struct luo_token_table *t, size_t extra);

/* Iteration: i starts at 0; returns the next live entry and advances *i,
 * or NULL at the end.  During an iteration the table must not grow;
 * removing entries (luo_token_table_remove()) is allowed: removal leaves a
 * tombstone and moves nothing. */
struct luo_token_entry *luo_token_table_next(const struct luo_token_table *t,
					     size_t *i);

#endif /* LIBLUO_TOKEN_TABLE_H */
