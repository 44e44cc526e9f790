/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * P1 off-line: libluo's own cost around a token lookup.  A context on a
 * no-op backend (every request succeeds at once, reached through the same
 * backend vtable a fake kernel uses) holds a session of 1,000 tokens;
 * luo_session_token_lookup() is timed whole (target: <= 30 ns, the
 * issue's "libluo's own cost per lookup"), and split into the bare table
 * lookup it wraps and libluo's own work: handle checks, fork detection,
 * the session lock.
 *
 * Also: luo_session_preserve_fd() on the no-op backend against the bare
 * backend call, the cost libluo adds to the cheapest possible request.
 */
#include <fcntl.h>
#include <unistd.h>

#include "backend.h"
#include "bench.h"
#include "libluo.h"
#include "luo-abi.h"
#include "session.h"

#define TOKENS 1000u
#define LOOKUPS 20000000u
#define PRESERVES 2000000u
#define SESSIONS 2000

static int nop_open(struct luo_backend *b, const char *path, int flags)
{
	(void)b;
	(void)path;
	return open("/dev/null", flags);
}

static int nop_close(struct luo_backend *b, int fd)
{
	(void)b;
	return close(fd) < 0 ? -errno : 0;
}

/* Enough of a mainline kernel to be detected and to create sessions. */
static int nop_ioctl(struct luo_backend *b, int fd, unsigned long request,
		     void *arg)
{
	(void)b;
	(void)fd;
	switch (request) {
	case LUO_K_CREATE_SESSION: {
		struct luo_k_session_req *req = arg;

		req->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		return req->fd < 0 ? -errno : 0;
	}
	case LUO_K_RETRIEVE_SESSION:
		return -EINVAL; /* the mainline probe's answer */
	case LUO_K_SESSION_PRESERVE_FD:
		return 0;
	default:
		return -ENOTTY;
	}
}

static void nop_ref(struct luo_backend *b)
{
	(void)b;
}

static const struct luo_backend_ops nop_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "no-op",
	.ref = nop_ref,
	.unref = nop_ref,
	.open = nop_open,
	.close = nop_close,
	.ioctl = nop_ioctl,
};

int main(void)
{
	struct luo_backend nop = { .ops = &nop_ops };
	volatile unsigned int sink;
	unsigned int acc = 0;
	luo_ctx_opts_t *opts;
	luo_session_t *s;
	luo_ctx_t *ctx;
	double t0, lib_ns, raw_ns, pres_ns, call_ns, create_ns, create_raw_ns;
	uint64_t i;

	BENCH_CHECK(luo_ctx_opts_new(&opts));
	/* the fake-kernel entry point takes any backend object */
	BENCH_CHECK(luo_ctx_opts_set_fake(opts, (luo_fake_t *)(void *)&nop));
	BENCH_CHECK(luo_ctx_new(opts, &ctx));
	luo_ctx_opts_free(opts);
	BENCH_CHECK(luo_session_create(ctx, "bench", &s));
	for (i = 0; i < TOKENS; i++)
		BENCH_CHECK(luo_session_preserve_fd(s, 0, i));

	t0 = bench_now();
	for (i = 0; i < LOOKUPS; i++) {
		enum luo_token_state st;

		if (luo_session_token_lookup(s, i % TOKENS, &st) < 0)
			abort();
		acc += st;
	}
	lib_ns = (bench_now() - t0) * 1e9 / LOOKUPS;

	t0 = bench_now();
	for (i = 0; i < LOOKUPS; i++) {
		enum luo_token_state st;

		if (luoi_token_table_lookup(&s->tokens, i % TOKENS, &st) < 0)
			abort();
		acc += st;
	}
	raw_ns = (bench_now() - t0) * 1e9 / LOOKUPS;
	sink = acc;
	(void)sink;

	t0 = bench_now();
	for (i = 0; i < PRESERVES; i++) {
		struct luo_k_file_req req = {
			.size = sizeof(req), .fd = 0, .token = TOKENS + i
		};

		if (nop.ops->ioctl(&nop, s->fd, LUO_K_SESSION_PRESERVE_FD,
				   &req) < 0)
			abort();
	}
	call_ns = (bench_now() - t0) * 1e9 / PRESERVES;

	t0 = bench_now();
	for (i = 0; i < PRESERVES; i++)
		BENCH_CHECK(luo_session_preserve_fd(s, 0, TOKENS + i));
	pres_ns = (bench_now() - t0) * 1e9 / PRESERVES;

	/* a whole session's life on the no-op backend: what libluo adds to
	 * {create a session, preserve one file} (closing excluded) */
	{
		static luo_session_t *many[SESSIONS];
		char names[SESSIONS][16];
		double raw_t0, raw_t, lib_t;
		int k, fds[SESSIONS];

		for (k = 0; k < SESSIONS; k++)
			snprintf(names[k], sizeof(names[k]), "s%d", k);
		raw_t0 = bench_now();
		for (k = 0; k < SESSIONS; k++) {
			struct luo_k_session_req cr = { .size = sizeof(cr) };
			struct luo_k_file_req pr = { .size = sizeof(pr),
						     .fd = 0, .token = 1 };

			memcpy(cr.name, names[k], strlen(names[k]));
			if (nop.ops->ioctl(&nop, 3, LUO_K_CREATE_SESSION, &cr) <
				    0 ||
			    nop.ops->ioctl(&nop, cr.fd,
					   LUO_K_SESSION_PRESERVE_FD, &pr) < 0)
				abort();
			fds[k] = cr.fd;
		}
		raw_t = bench_now() - raw_t0;
		for (k = 0; k < SESSIONS; k++)
			close(fds[k]);
		raw_t0 = bench_now();
		for (k = 0; k < SESSIONS; k++) {
			BENCH_CHECK(luo_session_create(ctx, names[k], &many[k]));
			BENCH_CHECK(luo_session_preserve_fd(many[k], 0, 1));
		}
		lib_t = bench_now() - raw_t0;
		for (k = 0; k < SESSIONS; k++)
			BENCH_CHECK(luo_session_close(many[k],
						      LUO_SESSION_CLOSE_FORCE));
		create_ns = lib_t * 1e9 / SESSIONS;
		create_raw_ns = raw_t * 1e9 / SESSIONS;
	}

	printf("P1 off-line (no-op backend, session of %u tokens)\n", TOKENS);
	bench_print_build();
	printf("luo_session_token_lookup: %.1f ns per lookup (target <= 30 ns: "
	       "%s), of which the bare table lookup is %.1f ns and libluo's "
	       "checks and lock %.1f ns\n",
	       lib_ns, bench_verdict(lib_ns <= 30.0), raw_ns, lib_ns - raw_ns);
	printf("luo_session_preserve_fd: %.1f ns; the bare backend call %.1f "
	       "ns; libluo adds %.1f ns (table insert of a new token "
	       "included)\n",
	       pres_ns, call_ns, pres_ns - call_ns);
	printf("{create a session, preserve one file}: %.0f ns through libluo, "
	       "%.0f ns of bare backend calls (opening /dev/null for the "
	       "session): libluo adds %.0f ns a session\n",
	       create_ns, create_raw_ns, create_ns - create_raw_ns);
	BENCH_CHECK(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	luo_ctx_unref(ctx);
	return 0;
}
