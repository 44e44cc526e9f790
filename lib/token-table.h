/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Token bookkeeping: what libluo knows of each token of a session (or of
 * the original API).  The kernel has no request that lists what was
 * preserved, so this table is libluo's memory of it.
 *
 * A token's entry is one 16-byte slot of the common hash map: the token
 * and a value holding its state.  An entry can be *pending*: reserved
 * before a kernel request is issued without any lock held, and then
 * committed (the kernel said yes) or aborted.  A pending token is
 * invisible to lookups, counts and iterations, but a second preserve of it
 * sees it and fails -EEXIST, as the kernel would.
 *
 * Not thread-safe by itself: the owner's lock protects it.
 */
#ifndef LUOI_TOKEN_TABLE_H
#define LUOI_TOKEN_TABLE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "libluo.h"

/* Internal state of a token whose kernel request is under way. */
#define LUOI_TOKEN_PENDING 0xff

struct luoi_token_table {
	struct luoi_hmap map;
	size_t pending; /* entries in state LUOI_TOKEN_PENDING */
};

/* One token of a snapshot, for the foreach functions. */
struct luoi_token_snap {
	uint64_t token;
	enum luo_token_state state;
};

void luoi_token_table_init(struct luoi_token_table *t);
/* Start in the owner's @buf of @capacity slots (hmap.h). */
void luoi_token_table_init_buffer(struct luoi_token_table *t,
				  struct luoi_hmap_slot *buf, size_t capacity);
void luoi_token_table_fini(struct luoi_token_table *t);

/* Visible tokens (pending ones are not). */
static inline size_t luoi_token_table_count(const struct luoi_token_table *t)
{
	return t->map.count - t->pending;
}

/* A slot's value: the state in the low byte; the upper bits are free for
 * more per-token facts without growing the slot. */
#define LUOI_TOKEN_STATE(value) ((unsigned int)((value) & 0xff))
/* ...and the token's label id (label-table.h) above it; 0: no label. */
#define LUOI_TOKEN_LABEL(value) ((uint32_t)((value) >> 8))
#define LUOI_TOKEN_VALUE(state, label) ((uint64_t)(state) | (uint64_t)(label) << 8)

/* Like lookup, but a pending token is found too (as LUOI_TOKEN_PENDING). */
static inline int luoi_token_table_peek(const struct luoi_token_table *t,
					uint64_t token, unsigned int *state)
{
	const uint64_t *v = luoi_hmap_find(&t->map, token);

	if (!v)
		return -ENOENT;
	*state = LUOI_TOKEN_STATE(*v);
	return 0;
}

/* 0 and the state, or -ENOENT (absent or pending).  Inline: lookups are
 * the hot path (bench/bench-lookup.c). */
static inline int luoi_token_table_lookup(const struct luoi_token_table *t,
					  uint64_t token,
					  enum luo_token_state *state)
{
	const uint64_t *v = luoi_hmap_find(&t->map, token);

	if (!v || LUOI_TOKEN_STATE(*v) == LUOI_TOKEN_PENDING)
		return -ENOENT;
	*state = (enum luo_token_state)LUOI_TOKEN_STATE(*v);
	return 0;
}

/* Reserve @token as pending: 0, -EEXIST (present, pending or not) or
 * -ENOMEM. */
static inline int luoi_token_table_reserve(struct luoi_token_table *t,
					   uint64_t token)
{
	int r = luoi_hmap_insert(&t->map, token, LUOI_TOKEN_PENDING);

	if (r == 0)
		t->pending++;
	return r;
}

/* End a reservation: the kernel accepted (@value: LUOI_TOKEN_VALUE(),
 * or just a state)... */
static inline void luoi_token_table_commit(struct luoi_token_table *t,
					   uint64_t token, uint64_t value)
{
	uint64_t *v = luoi_hmap_find(&t->map, token);

	if (v && LUOI_TOKEN_STATE(*v) == LUOI_TOKEN_PENDING) {
		*v = value;
		t->pending--;
	}
}

/* ...or refused. */
void luoi_token_table_abort(struct luoi_token_table *t, uint64_t token);

/* Insert or update @token to @state (a label stays): 0 or -ENOMEM (table
 * unchanged). */
int luoi_token_table_set(struct luoi_token_table *t, uint64_t token,
			 enum luo_token_state state);

/* Insert @token with @value (LUOI_TOKEN_VALUE()): 0, -EEXIST or -ENOMEM. */
static inline int luoi_token_table_add(struct luoi_token_table *t,
				       uint64_t token, uint64_t value)
{
	return luoi_hmap_insert(&t->map, token, value);
}

/* The label id of a visible token: 0 (none), or -ENOENT. */
static inline int64_t luoi_token_table_label(const struct luoi_token_table *t,
					     uint64_t token)
{
	const uint64_t *v = luoi_hmap_find(&t->map, token);

	if (!v || LUOI_TOKEN_STATE(*v) == LUOI_TOKEN_PENDING)
		return -ENOENT;
	return LUOI_TOKEN_LABEL(*v);
}

/* Room for @extra more tokens: 0 or -ENOMEM. */
int luoi_token_table_make_room(struct luoi_token_table *t, size_t extra);

/* Remove @token (not pending): 0 or -ENOENT. */
int luoi_token_table_remove(struct luoi_token_table *t, uint64_t token);

/* Forget every token that came from the previous kernel (INCOMING or
 * RESTORED).  Never fails. */
void luoi_token_table_drop_incoming(struct luoi_token_table *t);

/* A malloc()ed copy of the visible tokens: 0 (with *n == 0 and *ret ==
 * NULL for an empty table) or -ENOMEM. */
int luoi_token_table_snapshot(const struct luoi_token_table *t,
			      struct luoi_token_snap **ret, size_t *n);

#endif /* LUOI_TOKEN_TABLE_H */
