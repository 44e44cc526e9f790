/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * threaded-daemon - one libluo context shared by the threads of a daemon.
 *
 * The device is single-open, so a process has one context and every
 * thread uses it.  Here each worker thread keeps its state in memfds and,
 * before the live update, preserves them into a session of its own, under
 * labels; after the update each worker takes its session back and finds
 * its files by label.  Sessions on different threads proceed in parallel:
 * libluo holds no lock across a kernel request.
 *
 *   threaded-daemon [THREADS]   (default 4)
 *
 * It runs both boots in this process against libluo's in-memory fake
 * kernel, with a simulated kexec in between (the tests run it); on a real
 * LUO kernel the two halves are two boots, and only the context's options
 * differ.
 *
 * Build it on its own with:
 *   cc threaded-daemon.c $(pkg-config --cflags --libs libluo libluo-fake)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libluo-fake.h>
#include <libluo.h>

#define FILES_PER_WORKER 8

struct worker {
	luo_ctx_t *ctx;     /* shared: one context for the whole process */
	int id;
	luo_session_t *out; /* boot 1: kept open until the kexec */
	int err;
};

/* A memfd of 4 KiB whose bytes say which worker and file it is. */
static int make_state(int worker, int file)
{
	char page[4096];
	int fd = memfd_create("state", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(page, 'a' + worker % 26, sizeof(page));
	snprintf(page, sizeof(page), "worker %d file %d", worker, file);
	if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static void *save(void *arg)
{
	struct worker *w = arg;
	char name[32], label[32];

	snprintf(name, sizeof(name), "daemon.worker-%d", w->id);
	w->err = luo_session_create(w->ctx, name, &w->out);
	for (int f = 0; !w->err && f < FILES_PER_WORKER; f++) {
		int fd = make_state(w->id, f);

		if (fd < 0) {
			w->err = fd;
			break;
		}
		snprintf(label, sizeof(label), "file-%d", f);
		/* the kernel keeps its own reference: close ours */
		w->err = luo_session_preserve_fd_labeled(w->out, fd,
							 (uint64_t)f + 1, label);
		close(fd);
	}
	return NULL;
}

static void *restore(void *arg)
{
	struct worker *w = arg;
	char name[32], label[32], want[64], got[64];
	luo_session_t *in = NULL;

	snprintf(name, sizeof(name), "daemon.worker-%d", w->id);
	w->err = luo_session_retrieve(w->ctx, name, &in);
	if (w->err)
		return NULL;
	/* the session's record says what it holds, before any retrieve */
	if (luo_session_token_count(in) != FILES_PER_WORKER)
		w->err = -EBADMSG;
	for (int f = 0; !w->err && f < FILES_PER_WORKER; f++) {
		int fd = -1;

		snprintf(label, sizeof(label), "file-%d", f);
		w->err = luo_session_retrieve_fd_by_label(in, label, NULL, &fd);
		if (w->err)
			break;
		snprintf(want, sizeof(want), "worker %d file %d", w->id, f);
		memset(got, 0, sizeof(got));
		if (pread(fd, got, strlen(want), 0) != (ssize_t)strlen(want) ||
		    strcmp(got, want))
			w->err = -EBADMSG;
		close(fd);
	}
	if (!w->err)
		w->err = luo_session_finish(in);
	if (luo_session_close(in, 0) && !w->err)
		w->err = -EBUSY;
	return NULL;
}

/* Run @fn on every worker in a thread of its own. */
static int run_workers(struct worker *w, int n, void *(*fn)(void *))
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int err = 0;

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, &w[i]))
			return -EAGAIN;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err && !err) {
			fprintf(stderr, "worker %d: %s\n", i,
				strerror(-w[i].err));
			err = w[i].err;
		}
	}
	free(t);
	return err;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4, r;
	luo_ctx_opts_t *opts = NULL;
	luo_fake_t *fake = NULL;
	luo_ctx_t *ctx = NULL;
	struct worker *w;

	if (n < 1 || n > 256) {
		fprintf(stderr, "usage: threaded-daemon [THREADS (1-256)]\n");
		return 2;
	}
	w = calloc((size_t)n, sizeof(*w));
	/* the fake kernel: both boots in this process */
	if (!w || luo_fake_new(LUO_ABI_MAINLINE, &fake) ||
	    luo_ctx_opts_new(&opts) || luo_ctx_opts_set_fake(opts, fake))
		return 1;
	r = luo_ctx_new(opts, &ctx);
	if (r < 0) {
		fprintf(stderr, "luo_ctx_new: %s\n", strerror(-r));
		return 1;
	}
	for (int i = 0; i < n; i++)
		w[i] = (struct worker){ .ctx = ctx, .id = i };
	r = run_workers(w, n, save);
	if (r)
		return 1;
	printf("boot 1: %d workers preserved %d files each\n", n,
	       FILES_PER_WORKER);

	r = luo_fake_kexec(fake); /* the live update */
	for (int i = 0; i < n; i++)
		luo_session_close(w[i].out, 0); /* dead now: nothing to lose */
	luo_ctx_unref(ctx);
	if (r < 0 || luo_ctx_new(opts, &ctx) < 0)
		return 1;

	for (int i = 0; i < n; i++)
		w[i] = (struct worker){ .ctx = ctx, .id = i };
	r = run_workers(w, n, restore);
	if (r)
		return 1;
	printf("boot 2: %d workers found their files by label, intact\n", n);
	luo_ctx_unref(ctx);
	luo_ctx_opts_free(opts);
	luo_fake_unref(fake);
	free(w);
	return 0;
}
