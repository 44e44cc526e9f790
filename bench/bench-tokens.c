/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Token bookkeeping cost, reported as ratios measured in one run (never as
 * absolute targets): the hash table against a linear scan of an array, at
 * growing sizes.  The table's lookup time should stay flat as the number of
 * tokens grows, so "scan/table" grows roughly linearly with N while the
 * table's own cost per lookup at N = 100000 relative to N = 100 stays a
 * small constant (measured about 3 on a 2-core x86_64: cache misses once
 * the table outgrows the caches, not longer probe sequences).
 *
 *   meson setup b -Dbench=true && meson compile -C b && meson test -C b --benchmark
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "token-table.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* seconds per lookup in a table of n tokens */
static double table_lookup_cost(size_t n, size_t lookups, uint64_t *tokens)
{
	struct luo_token_table t;
	volatile size_t hits = 0;
	double t0, t1;
	size_t i;

	luo_token_table_init(&t);
	for (i = 0; i < n; i++) {
		struct luo_token_entry e = { .token = tokens[i],
					     .state = LUO_TOKEN_PRESERVED };

		if (luo_token_table_insert(&t, &e) < 0)
			abort();
	}
	t0 = now();
	for (i = 0; i < lookups; i++)
		hits += luo_token_table_find(&t, tokens[i % n]) != NULL;
	t1 = now();
	if (hits != lookups)
		abort();
	luo_token_table_clear(&t);
	return (t1 - t0) / lookups;
}

static double scan_lookup_cost(size_t n, size_t lookups, uint64_t *tokens)
{
	volatile size_t hits = 0;
	double t0, t1;
	size_t i, j;

	t0 = now();
	for (i = 0; i < lookups; i++) {
		uint64_t want = tokens[(i * 7919) % n];

		for (j = 0; j < n; j++)
			if (tokens[j] == want) {
				hits++;
				break;
			}
	}
	t1 = now();
	if (hits != lookups)
		abort();
	return (t1 - t0) / lookups;
}

int main(void)
{
	static const size_t sizes[] = { 100, 1000, 10000, 100000 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL, *tokens;
	double base = 0;
	size_t k, i, max = sizes[3];

	tokens = malloc(max * sizeof(*tokens));
	if (!tokens)
		return 1;
	for (i = 0; i < max; i++)
		tokens[i] = next_random(&seed);

	printf("%8s %14s %14s %12s\n", "tokens", "table ns/op", "scan/table",
	       "table vs N=100");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		double table = table_lookup_cost(n, 2000000, tokens);
		double scan = scan_lookup_cost(n, n >= 10000 ? 2000 : 20000,
					       tokens);

		if (k == 0)
			base = table;
		printf("%8zu %14.1f %14.1f %12.2f\n", n, table * 1e9,
		       scan / table, table / base);
	}
	free(tokens);
	return 0;
}
