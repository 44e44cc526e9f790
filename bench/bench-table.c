/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * P2: the token table against the memory system.  For tables of 1k, 100k
 * and 1M tokens (the last two larger than the caches):
 *
 *  - a lookup hit against one random 8-byte read of an array as large as
 *    the table.  Both are measured as chains, each address depending on
 *    the result of the previous access, so what is compared is the latency
 *    of one access: a lookup at the memory limit costs one cache miss plus
 *    a little arithmetic.  (Independent accesses would compare how many
 *    misses the core overlaps, which a branchy probe loop cannot match a
 *    plain load at, whatever the table.)  Target <= 1.5x at 100k and 1M.
 *    Independent lookups are printed too, and at 1k (cache-resident) they
 *    are the figure: target <= 10 ns;
 *  - bytes per token at rest over every size from 1k up, and at the peak
 *    of a growth (old and new arrays together): targets <= 32 and <= 48;
 *  - misses at 1M tokens after 1M remove/insert pairs of churn, against
 *    misses before: target <= 1.3x.
 *
 * Each time is the best of five runs of 4M accesses.
 *
 *   meson setup b -Dbench=true && meson test -C b --benchmark --suite bench -v
 */
#include "bench.h"
#include "token-table.h"

#define LOOKUPS 4000000u
#define LCG_A 6364136223846793005ULL
#define LCG_C 1442695040888963407ULL

/* The token numbered @j: distinct for distinct j, spread out. */
static uint64_t token_of(uint64_t j)
{
	j = (j + 0x632be59bd9b4e019ULL) * 0x9e3779b97f4a7c15ULL;
	return j ^ (j >> 29);
}

/* A number in [lo, lo + n) from a 64-bit state. */
static size_t pick(uint64_t x, size_t lo, size_t n)
{
	return lo + (size_t)(((unsigned __int128)x * n) >> 64);
}

/* ns per lookup of tokens numbered [lo, lo + n), each chosen from the
 * previous lookup's result (latency) or not (throughput). */
static double lookup_ns(const struct luoi_token_table *t, size_t lo, size_t n,
			bool chained)
{
	volatile uint64_t sink;
	uint64_t x = 0x853c49e6748fea9bULL, acc = 0;
	double t0 = bench_now();
	size_t i;

	/* two loops: a "chained ? st : 0" would chain both (a cmov) */
	if (chained) {
		for (i = 0; i < LOOKUPS; i++) {
			unsigned int st = 0;

			luoi_token_table_peek(t, token_of(pick(x, lo, n)),
					      &st);
			acc += st;
			x = x * LCG_A + LCG_C + st;
		}
	} else {
		for (i = 0; i < LOOKUPS; i++) {
			unsigned int st = 0;

			luoi_token_table_peek(t, token_of(pick(x, lo, n)),
					      &st);
			acc += st;
			x = x * LCG_A + LCG_C;
		}
	}
	sink = acc;
	(void)sink;
	return (bench_now() - t0) * 1e9 / LOOKUPS;
}

/* ns per random read of an array of @bytes, chained or not. */
static double read_ns(size_t bytes, bool chained)
{
	size_t words = bytes / sizeof(uint64_t), i;
	uint64_t *a = malloc(words * sizeof(*a)), x = 0x853c49e6748fea9bULL;
	uint64_t acc = 0;
	volatile uint64_t sink;
	double t0;

	if (!a)
		abort();
	for (i = 0; i < words; i++)
		a[i] = 1;
	/* the same work per access as a lookup's caller does to name its
	 * token (token_of()), so that only the table's own cost differs */
	t0 = bench_now();
	if (chained) {
		for (i = 0; i < LOOKUPS; i++) {
			uint64_t v = a[pick(token_of(x), 0, words)];

			acc += v;
			x = x * LCG_A + LCG_C + v;
		}
	} else {
		for (i = 0; i < LOOKUPS; i++) {
			uint64_t v = a[pick(token_of(x), 0, words)];

			acc += v;
			x = x * LCG_A + LCG_C;
		}
	}
	sink = acc;
	(void)sink;
	t0 = (bench_now() - t0) * 1e9 / LOOKUPS;
	free(a);
	return t0;
}

/* The best of 5 runs of @fn: latency figures are noisy on a shared
 * machine, and the minimum is what the hardware can do. */
#define BEST_OF_5(expr)                                                    \
	({                                                                 \
		double best_ = 1e30;                                       \
		for (int k_ = 0; k_ < 5; k_++) {                           \
			double v_ = (expr);                                \
			if (v_ < best_)                                    \
				best_ = v_;                                \
		}                                                          \
		best_;                                                     \
	})

/* Build a table of tokens numbered [0, n); report memory figures. */
static void build(struct luoi_token_table *t, size_t n, double *peak,
		  double *rest)
{
	size_t i, cap = 0;

	*peak = 0;
	*rest = 0;
	luoi_token_table_init(t);
	for (i = 0; i < n; i++) {
		BENCH_CHECK(luoi_token_table_set(t, token_of(i),
						 LUO_TOKEN_PRESERVED));
		if (t->map.capacity != cap) {
			/* during the resize both arrays were live, holding
			 * the i tokens of before the insert */
			double p = (double)(cap + t->map.capacity) *
				   sizeof(struct luoi_hmap_slot) /
				   (double)(i ? i : 1);

			if (i >= 1000 && p > *peak)
				*peak = p;
			cap = t->map.capacity;
		}
		/* at rest with i + 1 tokens; worst just after a growth */
		if (i + 1 >= 1000) {
			double r = (double)luoi_hmap_memory(&t->map) /
				   (double)(i + 1);

			if (r > *rest)
				*rest = r;
		}
	}
}

/* 1M remove/insert pairs: tokens numbered [0, n) are replaced by ones
 * numbered from 10n on. */
static void churn(struct luoi_token_table *t, size_t n, size_t pairs)
{
	uint64_t *member = malloc(n * sizeof(*member));
	uint64_t x = 0x2545f4914f6cdd1dULL, next = 10 * (uint64_t)n;
	size_t i;

	if (!member)
		abort();
	for (i = 0; i < n; i++)
		member[i] = i;
	for (i = 0; i < pairs; i++) {
		size_t j = pick(x = x * LCG_A + LCG_C, 0, n);

		BENCH_CHECK(luoi_token_table_remove(t, token_of(member[j])));
		member[j] = next++;
		BENCH_CHECK(luoi_token_table_set(t, token_of(member[j]),
						 LUO_TOKEN_PRESERVED));
	}
	free(member);
}

int main(void)
{
	static const size_t sizes[] = { 1000, 100000, 1000000 };
	double worst_rest = 0, worst_peak = 0;
	size_t k;

	printf("P2 token table (16-byte slots, Robin Hood, grows by half at "
	       "7/8)\n");
	printf("%9s %11s %11s %7s %12s %12s %9s %9s %8s\n", "tokens",
	       "hit ns (ch)", "read ns(ch)", "ratio", "hit ns (ind)",
	       "read ns(ind)", "B/token", "peak B/t", "verdict");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct luoi_token_table t;
		size_t n = sizes[k], bytes;
		double peak, rest, hit, rd, hit_i, rd_i;
		int ok;

		build(&t, n, &peak, &rest);
		bytes = luoi_hmap_memory(&t.map);
		hit = BEST_OF_5(lookup_ns(&t, 0, n, true));
		rd = BEST_OF_5(read_ns(bytes, true));
		hit_i = BEST_OF_5(lookup_ns(&t, 0, n, false));
		rd_i = BEST_OF_5(read_ns(bytes, false));
		ok = n <= 1000 ? hit_i <= 10.0 : hit / rd <= 1.5;
		if (rest > worst_rest)
			worst_rest = rest;
		if (peak > worst_peak)
			worst_peak = peak;
		printf("%9zu %11.1f %11.1f %7.2f %12.1f %12.1f %9.1f %9.1f "
		       "%8s\n",
		       n, hit, rd, hit / rd, hit_i, rd_i,
		       (double)bytes / (double)n, peak, bench_verdict(ok));
		if (n == 1000000) {
			/* misses: tokens numbered [5n, 6n) are never in */
			double before = BEST_OF_5(lookup_ns(&t, 5 * n, n, true));
			double after;

			churn(&t, n, 1000000);
			after = BEST_OF_5(lookup_ns(&t, 5 * n, n, true));
			printf("misses at 1M tokens: %.1f ns before, %.1f ns "
			       "after 1M remove/insert pairs: ratio %.2f "
			       "(target <= 1.3: %s)\n",
			       before, after, after / before,
			       bench_verdict(after / before <= 1.3));
		}
		luoi_token_table_fini(&t);
	}
	printf("memory over every size from 1,000 tokens up: at most %.1f "
	       "B/token at rest (target <= 32: %s), %.1f B/token at a growth "
	       "peak (target <= 48: %s)\n",
	       worst_rest, bench_verdict(worst_rest <= 32), worst_peak,
	       bench_verdict(worst_peak <= 48));
	printf("targets: independent hit <= 10 ns at 1k; chained hit <= 1.5x "
	       "one chained random read at 100k and 1M\n");
	return 0;
}
