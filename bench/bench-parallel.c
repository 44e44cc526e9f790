/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * P3: sessions on different threads proceed in parallel.  The fake kernel
 * adds a fixed latency to each request (luo_fake_set_latency(), as a kernel
 * pinning a large memfd would), spent without any lock, as in the kernel
 * where each session has its own mutex.
 *
 *  - T = 1, 2, 4, 8, 16 threads, each preserving PER_THREAD memfds into
 *    its own session of ONE shared context, 1 ms a request:
 *    wall(T) / wall(1), target <= 1.3 (T threads on one context do T times
 *    the work in about the time of one); and the same T threads on T
 *    independent contexts (one fake kernel each) as the limit.
 *  - While one thread's requests spin for 1 ms each in one session, the
 *    lookup rate in another session of the same context, against its idle
 *    rate: target >= 0.5.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "libluo-fake.h"
#include "libluo.h"

#define PER_THREAD 20
#define LATENCY_US 1000
#define MAX_THREADS 16

struct worker {
	luo_ctx_t *ctx;
	int index;
	int memfds[PER_THREAD];
};

static luo_fake_t *new_fake(void)
{
	luo_fake_t *fake;

	BENCH_CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	BENCH_CHECK(luo_fake_set_latency(fake, 0, LATENCY_US, 0));
	return fake;
}

static void *preserve_worker(void *arg)
{
	struct worker *w = arg;
	char name[32];
	luo_session_t *s;
	int i;

	snprintf(name, sizeof(name), "worker-%d", w->index);
	BENCH_CHECK(luo_session_create(w->ctx, name, &s));
	for (i = 0; i < PER_THREAD; i++)
		BENCH_CHECK(luo_session_preserve_fd(s, w->memfds[i],
						    (uint64_t)i));
	BENCH_CHECK(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	return NULL;
}

/* Wall time of @n threads, on one shared context or on their own. */
static double run(int n, int shared)
{
	struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	luo_fake_t *fakes[MAX_THREADS] = { 0 };
	luo_ctx_t *ctxs[MAX_THREADS] = { 0 };
	double t0, t;
	int i, k;

	for (i = 0; i < n; i++) {
		if (shared && i > 0) {
			ctxs[i] = luo_ctx_ref(ctxs[0]);
		} else {
			fakes[i] = new_fake();
			ctxs[i] = bench_fake_ctx(fakes[i]);
		}
		w[i].ctx = ctxs[i];
		w[i].index = i;
		for (k = 0; k < PER_THREAD; k++) {
			w[i].memfds[k] = memfd_create("bench", MFD_CLOEXEC);
			if (w[i].memfds[k] < 0)
				abort();
		}
	}
	t0 = bench_now();
	for (i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, preserve_worker, &w[i]))
			abort();
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	t = bench_now() - t0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < PER_THREAD; k++)
			close(w[i].memfds[k]);
		luo_ctx_unref(ctxs[i]);
		luo_fake_unref(fakes[i]);
	}
	return t;
}

/* ---- lookups while another session's request spins ---------------------- */

static double lookups_per_second(luo_session_t *s, double seconds)
{
	double t0 = bench_now(), t;
	uint64_t n = 0;

	do {
		enum luo_token_state st;
		int i;

		for (i = 0; i < 1000; i++)
			if (luo_session_token_lookup(s, 0, &st) < 0)
				abort();
		n += 1000;
		t = bench_now() - t0;
	} while (t < seconds);
	return (double)n / t;
}

struct spin_loop {
	luo_ctx_t *ctx;
	int memfd;
	atomic_bool stop;
	atomic_long requests;
};

static void *spin_loop(void *arg)
{
	struct spin_loop *sl = arg;
	luo_session_t *s;
	uint64_t token = 0;

	BENCH_CHECK(luo_session_create(sl->ctx, "spinner", &s));
	while (!atomic_load(&sl->stop)) {
		/* -EBUSY from the second preserve of the same file is
		 * fine: the request still spins first */
		int r = luo_session_preserve_fd(s, sl->memfd, token++);

		if (r < 0 && r != -EBUSY)
			BENCH_CHECK(r);
		atomic_fetch_add(&sl->requests, 1);
	}
	BENCH_CHECK(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	return NULL;
}

static void lookups_under_spin(void)
{
	struct spin_loop sl = { 0 };
	luo_fake_t *fake;
	luo_session_t *s;
	pthread_t tid;
	double idle, busy;
	int memfd;

	BENCH_CHECK(luo_fake_new(LUO_ABI_MAINLINE, &fake));
	sl.ctx = bench_fake_ctx(fake);
	BENCH_CHECK(luo_session_create(sl.ctx, "reader", &s));
	memfd = memfd_create("bench", MFD_CLOEXEC);
	BENCH_CHECK(memfd < 0 ? -errno : 0);
	BENCH_CHECK(luo_session_preserve_fd(s, memfd, 0));
	idle = lookups_per_second(s, 0.5);

	BENCH_CHECK(luo_fake_set_latency(fake, LUO_FAKE_OP_PRESERVE_FD,
					 LATENCY_US, LUO_FAKE_LATENCY_SPIN));
	sl.memfd = memfd_create("bench-spin", MFD_CLOEXEC);
	BENCH_CHECK(sl.memfd < 0 ? -errno : 0);
	if (pthread_create(&tid, NULL, spin_loop, &sl))
		abort();
	while (atomic_load(&sl.requests) == 0)
		usleep(100);
	busy = lookups_per_second(s, 0.5);
	atomic_store(&sl.stop, true);
	pthread_join(tid, NULL);

	printf("lookups in one session: %.2f M/s idle, %.2f M/s while "
	       "another session's requests spin 1 ms each (%ld requests): "
	       "ratio %.2f (target >= 0.5: %s)\n",
	       idle / 1e6, busy / 1e6, atomic_load(&sl.requests), busy / idle,
	       bench_verdict(busy / idle >= 0.5));
	BENCH_CHECK(luo_session_close(s, LUO_SESSION_CLOSE_FORCE));
	close(memfd);
	close(sl.memfd);
	luo_ctx_unref(sl.ctx);
	luo_fake_unref(fake);
}

int main(void)
{
	static const int threads[] = { 1, 2, 4, 8, 16 };
	double one = 0, worst = 0;
	size_t k;

	printf("P3 parallel sessions: %d preserves per thread, %d us per "
	       "request (slept, no lock held)\n",
	       PER_THREAD, LATENCY_US);
	printf("%8s %14s %16s %12s %14s\n", "threads", "one ctx (s)",
	       "wall(T)/wall(1)", "own ctxs (s)", "one/own ctxs");
	for (k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
		double shared = run(threads[k], 1);
		double own = run(threads[k], 0);

		if (k == 0)
			one = shared;
		if (shared / one > worst)
			worst = shared / one;
		printf("%8d %14.3f %16.2f %12.3f %14.2f\n", threads[k], shared,
		       shared / one, own, shared / own);
	}
	printf("worst wall(T)/wall(1) for T <= 16: %.2f (target <= 1.3: %s)\n",
	       worst, bench_verdict(worst <= 1.3));
	bench_print_build();
	lookups_under_spin();
	return 0;
}
