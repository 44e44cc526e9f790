/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record's cost: preserve throughput into one session up to 100,000
 * tokens, with a label per token against without, in one run.  Target
 * (issue "say what came back"): labeled >= 0.5x unlabeled.
 *
 * Both paths write the session's record (every preserve appends an entry;
 * the record grows by doubling segments), so the ratio is the price of the
 * label itself: the uniqueness check, the copy, the longer entry.  The
 * kernel here is a *null* backend that accepts every request at the cost
 * of a hash insert (the fake kernel holds a descriptor per file, and this
 * machine allows 20,000): with the real kernel's preserve (a memfd pinned
 * and its pages recorded, microseconds) in both denominators, the ratio
 * only gets closer to 1.  The figures are also printed per preserve, with
 * the null backend's own cost, so the libluo part can be read off.
 *
 *   meson setup b -Dbench=true && meson test -C b --benchmark --suite bench -v
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "ctx.h"
#include "hmap.h"
#include "luo-abi.h"

#define TOKENS 100000u
#define ROUNDS 5

/* ---- a kernel that accepts everything ---------------------------------- */

struct null_kernel {
	struct luo_backend base;
	struct luoi_hmap tokens; /* of the one session: token -> 1 */
	int session_fd;
};

static void nk_ref(struct luo_backend *b)
{
	(void)b;
}

static void nk_unref(struct luo_backend *b)
{
	(void)b;
}

static int nk_open(struct luo_backend *b, const char *path, int flags)
{
	(void)b;
	(void)path;
	return open("/dev/null", flags | O_CLOEXEC);
}

static int nk_close(struct luo_backend *b, int fd)
{
	(void)b;
	return close(fd);
}

static int nk_ioctl(struct luo_backend *b, int fd, unsigned long request,
		    void *arg)
{
	struct null_kernel *k = (struct null_kernel *)b;

	switch (request) {
	case LUO_K_CREATE_SESSION: {
		struct luo_k_session_req *req = arg;

		req->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (req->fd < 0)
			return -errno;
		k->session_fd = req->fd;
		return 0;
	}
	case LUO_K_SESSION_PRESERVE_FD: {
		struct luo_k_file_req *req = arg;

		if (fd != k->session_fd)
			return 0; /* the index session: nothing to keep */
		return luoi_hmap_insert(&k->tokens, req->token, 1);
	}
	case LUO_K_RETRIEVE_SESSION: /* the ABI probe, and nothing else */
		return -EINVAL;
	default:
		return -ENOTTY;
	}
}

static const struct luo_backend_ops nk_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "null",
	.ref = nk_ref,
	.unref = nk_unref,
	.open = nk_open,
	.close = nk_close,
	.ioctl = nk_ioctl,
};

/* ---- the measurement --------------------------------------------------- */

static char labels[TOKENS][24];

/* Seconds to preserve TOKENS tokens into a new session. */
static double run(struct null_kernel *k, luo_ctx_t *ctx, int memfd,
		  bool labeled)
{
	luo_session_t *s;
	double t0, t1;

	luoi_hmap_fini(&k->tokens);
	luoi_hmap_init(&k->tokens);
	BENCH_CHECK(luo_session_create(ctx, "bench.labels", &s));
	t0 = bench_now();
	for (uint32_t i = 0; i < TOKENS; i++) {
		if (labeled)
			BENCH_CHECK(luo_session_preserve_fd_labeled(s, memfd, i,
								    labels[i]));
		else
			BENCH_CHECK(luo_session_preserve_fd(s, memfd, i));
	}
	t1 = bench_now();
	if (luo_session_token_count(s) != (int)TOKENS) {
		fprintf(stderr, "bench-labels: %d tokens\n",
			luo_session_token_count(s));
		exit(1);
	}
	BENCH_CHECK(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	return t1 - t0;
}

/* The null kernel alone, for reference: its insert per preserve. */
static double kernel_only(struct null_kernel *k)
{
	struct luo_k_file_req req = { .size = sizeof(req), .fd = 0 };
	double t0;

	luoi_hmap_fini(&k->tokens);
	luoi_hmap_init(&k->tokens);
	t0 = bench_now();
	for (uint32_t i = 0; i < TOKENS; i++) {
		req.token = i;
		nk_ioctl(&k->base, k->session_fd, LUO_K_SESSION_PRESERVE_FD,
			 &req);
	}
	return bench_now() - t0;
}

int main(void)
{
	struct null_kernel k = { .base = { &nk_ops }, .session_fd = -1 };
	double plain = 1e9, labeled = 1e9, raw = 1e9;
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	int memfd;

	luoi_hmap_init(&k.tokens);
	for (uint32_t i = 0; i < TOKENS; i++)
		snprintf(labels[i], sizeof(labels[i]), "vm-ram-%06u.bin", i);
	memfd = memfd_create("bench", MFD_CLOEXEC);
	if (memfd < 0)
		return 1;
	BENCH_CHECK(luo_ctx_opts_new(&opts));
	opts->backend = &k.base;
	opts->abi = LUO_ABI_MAINLINE;
	BENCH_CHECK(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);

	/* interleaved rounds, the best of each */
	for (int r = 0; r < ROUNDS; r++) {
		double p = run(&k, ctx, memfd, false);
		double l = run(&k, ctx, memfd, true);
		double n = kernel_only(&k);

		plain = p < plain ? p : plain;
		labeled = l < labeled ? l : labeled;
		raw = n < raw ? n : raw;
	}
	bench_print_build();
	printf("preserve into one session, %u tokens, best of %d rounds:\n",
	       TOKENS, ROUNDS);
	printf("  unlabeled: %.0f ns/preserve (%.2f M/s)\n",
	       plain / TOKENS * 1e9, TOKENS / plain / 1e6);
	printf("  labeled:   %.0f ns/preserve (%.2f M/s)\n",
	       labeled / TOKENS * 1e9, TOKENS / labeled / 1e6);
	printf("  (the null kernel's own insert: %.0f ns/preserve)\n",
	       raw / TOKENS * 1e9);
	printf("labeled/unlabeled throughput: %.2f (target >= 0.50)\n",
	       plain / labeled);
	luo_ctx_unref(ctx);
	luoi_hmap_fini(&k.tokens);
	close(memfd);
	return 0;
}
