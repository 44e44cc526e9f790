/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The token table (lib/token-table.c): pending reservations that lookups
 * cannot see, commit and abort, states, snapshots, dropping the previous
 * kernel's tokens.
 */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "token-table.h"

TEST(token_table, reservation_is_invisible_until_committed)
{
	struct luoi_token_table t;
	enum luo_token_state st = 0;
	unsigned int raw = 0;

	luoi_token_table_init(&t);
	assert_int_eq(luoi_token_table_reserve(&t, 7), 0);
	assert_int_eq(luoi_token_table_lookup(&t, 7, &st), -ENOENT);
	assert_eq(st, 0, "out-parameter untouched");
	assert_eq(luoi_token_table_count(&t), (size_t)0);
	assert_int_eq(luoi_token_table_peek(&t, 7, &raw), 0);
	assert_eq(raw, (unsigned int)LUOI_TOKEN_PENDING);
	/* a second preserve of the token is refused while pending */
	assert_int_eq(luoi_token_table_reserve(&t, 7), -EEXIST);
	/* and removal of a pending token is not a thing */
	assert_int_eq(luoi_token_table_remove(&t, 7), -ENOENT);

	luoi_token_table_commit(&t, 7, LUO_TOKEN_PRESERVED);
	assert_int_eq(luoi_token_table_lookup(&t, 7, &st), 0);
	assert_eq(st, LUO_TOKEN_PRESERVED);
	assert_eq(luoi_token_table_count(&t), (size_t)1);
	assert_int_eq(luoi_token_table_reserve(&t, 7), -EEXIST);
	luoi_token_table_fini(&t);
}

TEST(token_table, abort_forgets_the_reservation)
{
	struct luoi_token_table t;
	unsigned int raw;

	luoi_token_table_init(&t);
	assert_int_eq(luoi_token_table_reserve(&t, 0), 0);
	assert_int_eq(luoi_token_table_reserve(&t, UINT64_MAX), 0);
	luoi_token_table_abort(&t, 0);
	assert_int_eq(luoi_token_table_peek(&t, 0, &raw), -ENOENT);
	assert_eq(t.pending, (size_t)1);
	/* abort of a committed token changes nothing */
	luoi_token_table_commit(&t, UINT64_MAX, LUO_TOKEN_PRESERVED);
	luoi_token_table_abort(&t, UINT64_MAX);
	assert_int_eq(luoi_token_table_peek(&t, UINT64_MAX, &raw), 0);
	assert_eq(raw, (unsigned int)LUO_TOKEN_PRESERVED);
	assert_eq(t.pending, (size_t)0);
	luoi_token_table_fini(&t);
}

TEST(token_table, set_inserts_or_updates)
{
	struct luoi_token_table t;
	enum luo_token_state st;

	luoi_token_table_init(&t);
	assert_int_eq(luoi_token_table_set(&t, 3, LUO_TOKEN_INCOMING), 0);
	assert_int_eq(luoi_token_table_set(&t, 3, LUO_TOKEN_RESTORED), 0);
	assert_int_eq(luoi_token_table_lookup(&t, 3, &st), 0);
	assert_eq(st, LUO_TOKEN_RESTORED);
	assert_eq(luoi_token_table_count(&t), (size_t)1);
	/* set over a pending reservation settles it */
	assert_int_eq(luoi_token_table_reserve(&t, 4), 0);
	assert_int_eq(luoi_token_table_set(&t, 4, LUO_TOKEN_RESTORED), 0);
	assert_eq(t.pending, (size_t)0);
	assert_eq(luoi_token_table_count(&t), (size_t)2);
	luoi_token_table_fini(&t);
}

TEST(token_table, snapshot_leaves_out_pending_tokens)
{
	struct luoi_token_table t;
	struct luoi_token_snap *snap = NULL;
	size_t n = 99, i;

	luoi_token_table_init(&t);
	assert_int_eq(luoi_token_table_snapshot(&t, &snap, &n), 0);
	assert_null(snap);
	assert_eq(n, (size_t)0);
	for (i = 0; i < 100; i++)
		assert_int_eq(luoi_token_table_set(&t, i, LUO_TOKEN_PRESERVED),
			      0);
	assert_int_eq(luoi_token_table_reserve(&t, 1000), 0);
	assert_int_eq(luoi_token_table_snapshot(&t, &snap, &n), 0);
	assert_eq(n, (size_t)100);
	for (i = 0; i < n; i++) {
		assert_lt(snap[i].token, (uint64_t)100);
		assert_eq(snap[i].state, LUO_TOKEN_PRESERVED);
	}
	free(snap);
	luoi_token_table_fini(&t);
}

TEST(token_table, drop_incoming_keeps_this_boots_tokens)
{
	struct luoi_token_table t;
	enum luo_token_state st;
	uint64_t i;

	luoi_token_table_init(&t);
	for (i = 0; i < 3000; i++)
		assert_int_eq(luoi_token_table_set(&t, i,
						   i % 3 == 0 ? LUO_TOKEN_PRESERVED :
						   i % 3 == 1 ? LUO_TOKEN_INCOMING :
								LUO_TOKEN_RESTORED),
			      0);
	luoi_token_table_drop_incoming(&t);
	assert_eq(luoi_token_table_count(&t), (size_t)1000);
	for (i = 0; i < 3000; i++)
		assert_int_eq(luoi_token_table_lookup(&t, i, &st),
			      i % 3 == 0 ? 0 : -ENOENT, "token %llu",
			      (unsigned long long)i);
	luoi_token_table_fini(&t);
}
