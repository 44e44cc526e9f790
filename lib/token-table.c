/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "token-table.h"

static uint64_t pack(unsigned int state)
{
	return (uint64_t)state;
}

static unsigned int state_of(uint64_t value)
{
	return LUOI_TOKEN_STATE(value);
}

void luoi_token_table_init(struct luoi_token_table *t)
{
	luoi_hmap_init(&t->map);
	t->pending = 0;
}

void luoi_token_table_init_buffer(struct luoi_token_table *t,
				  struct luoi_hmap_slot *buf, size_t capacity)
{
	luoi_hmap_init_buffer(&t->map, buf, capacity);
	t->pending = 0;
}

void luoi_token_table_fini(struct luoi_token_table *t)
{
	luoi_hmap_fini(&t->map);
	t->pending = 0;
}

void luoi_token_table_abort(struct luoi_token_table *t, uint64_t token)
{
	uint64_t *v = luoi_hmap_find(&t->map, token);

	if (v && state_of(*v) == LUOI_TOKEN_PENDING) {
		luoi_hmap_remove(&t->map, token, NULL);
		t->pending--;
	}
}

int luoi_token_table_set(struct luoi_token_table *t, uint64_t token,
			 enum luo_token_state state)
{
	uint64_t *v = luoi_hmap_find(&t->map, token);

	if (v) {
		if (state_of(*v) == LUOI_TOKEN_PENDING)
			t->pending--;
		/* a pending slot holds no label: 0xff in the state byte */
		*v = (*v & ~(uint64_t)0xff) | pack(state);
		return 0;
	}
	return luoi_hmap_insert(&t->map, token, pack(state));
}

int luoi_token_table_make_room(struct luoi_token_table *t, size_t extra)
{
	return luoi_hmap_reserve(&t->map, extra);
}

int luoi_token_table_remove(struct luoi_token_table *t, uint64_t token)
{
	uint64_t *v = luoi_hmap_find(&t->map, token);

	if (!v || state_of(*v) == LUOI_TOKEN_PENDING)
		return -ENOENT;
	return luoi_hmap_remove(&t->map, token, NULL);
}

static bool is_incoming(uint64_t token, uint64_t value, void *data)
{
	unsigned int s = state_of(value);

	(void)token;
	(void)data;
	return s == LUO_TOKEN_INCOMING || s == LUO_TOKEN_RESTORED;
}

void luoi_token_table_drop_incoming(struct luoi_token_table *t)
{
	luoi_hmap_remove_if(&t->map, is_incoming, NULL);
}

int luoi_token_table_snapshot(const struct luoi_token_table *t,
			      struct luoi_token_snap **ret, size_t *n)
{
	struct luoi_token_snap *snap;
	uint64_t token, value;
	size_t i = 0, k = 0, count = luoi_token_table_count(t);

	*ret = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	snap = malloc(count * sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	while (luoi_hmap_next(&t->map, &i, &token, &value))
		if (state_of(value) != LUOI_TOKEN_PENDING)
			snap[k++] = (struct luoi_token_snap){
				token, (enum luo_token_state)state_of(value)
			};
	*ret = snap;
	*n = k;
	return 0;
}
