/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fault-injection suite (tests/fault/README.md): what the scenarios
 * (scenarios.c) see of the runner (fault-private.h has the rest).
 *
 * A scenario is a list of steps, each one call (libluo's, or the fake's
 * luo_fake_kexec()), on a state of its own (struct fsc).  fault_run()
 * runs a scenario once to count, step by step, the fake kernel's requests
 * of each kind and libluo's allocations; then once per case, each in a
 * forked process: one request of one kind, at one position k (counted
 * only inside the steps), fails with one errno, or libluo's k-th
 * allocation fails.  The step in which the failure fires must fail with a
 * negative errno, leave its out-parameters alone, open no descriptor,
 * leave libluo's bookkeeping equal to the fake's, and succeed when
 * retried; the rest of the scenario must then succeed, and in the end
 * nothing may be left open or allocated.
 */
#ifndef LIBLUO_TESTS_FAULT_H
#define LIBLUO_TESTS_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libluo.h>
#include <libluo-fake.h>

#define FSC_CTX 2
#define FSC_SESS 4
#define FSC_FILES 10

struct fsc_sess {
	luo_session_t *h;
	int boot;      /* the fake's boot it belongs to */
	bool created;  /* created by libluo: every file of it is libluo's */
	bool incoming; /* retrieved */
	bool finished;
};

/* The state of one run of a scenario. */
struct fsc {
	const struct fscenario *sc;
	luo_fake_t *fake;
	luo_ctx_opts_t *opts[2]; /* [0] with the device, [1] without */
	luo_ctx_t *ctx[FSC_CTX];
	int ctx_boot[FSC_CTX];
	bool ctx_nodev[FSC_CTX];  /* created without it, or let go of it */
	bool prepared[FSC_CTX];   /* original API: between prepare/cancel */
	/* called luo_session_create(): the context may have made its index
	 * session ("libluo.index.K", libluo's own) */
	bool index_tried[FSC_CTX];
	struct fsc_sess sess[FSC_SESS];
	int file[FSC_FILES];      /* the memfds the scenario preserves */
	int got[FSC_FILES];       /* what came back after the kexec */
	int sock[2];              /* a connected pair, for send/recv */
	/* a session sent and not received yet: no handle, still in the
	 * kernel */
	char flight[LUO_SESSION_NAME_MAX + 1];
	int flight_boot;
};

struct fstep;
typedef int (*fstep_fn)(struct fsc *s, const struct fstep *t);

struct fstep {
	const char *name;
	fstep_fn fn;
	int a, b, c;       /* slots, file indexes, expected values */
	uint64_t token;
	const char *str;   /* a session name */
	bool check;        /* compare the bookkeeping after this step */
};

struct fscenario {
	const char *name;
	enum luo_abi abi;
	const struct fstep *steps;
	size_t nsteps;
	int compat_ctx;        /* context slot using the original API, or -1 */
	bool check_each_step;  /* the checks have no side effect: always */
};

#define FSC_STEPS(arr) (arr), (sizeof(arr) / sizeof((arr)[0]))

/*
 * Steps (steps.c).  Their arguments in struct fstep:
 *
 *   fst_ctx_new        a: context slot; b: 1 for a context without the
 *                      device
 *   fst_ctx_unref, fst_close_device, fst_fd_unpreserve (and token),
 *   fst_prepare, fst_cancel, fst_luo_finish
 *                      a: context slot
 *   fst_create, fst_retrieve, fst_recv
 *                      a: session slot; b: context slot; str: its name
 *   fst_preserve, fst_retrieve_fd
 *                      a: session slot; b: file; token
 *   fst_finish, fst_send, fst_get_fd
 *                      a: session slot
 *   fst_close          a: session slot; b: flags
 *   fst_fd_preserve, fst_fd_restore
 *                      a: context slot; b: file; token
 *   fst_get_state, fst_token_count
 *                      a: context slot; b: the state (count) expected
 *                      on the mainline ABI; c: on the RFC ABI
 *   fst_kexec          luo_fake_kexec()
 *
 * A step returns what its call returned; a retrieved or restored file
 * must have the bytes of the scenario's file b.
 */
int fst_ctx_new(struct fsc *s, const struct fstep *t);
int fst_ctx_unref(struct fsc *s, const struct fstep *t);
int fst_close_device(struct fsc *s, const struct fstep *t);
int fst_create(struct fsc *s, const struct fstep *t);
int fst_retrieve(struct fsc *s, const struct fstep *t);
int fst_preserve(struct fsc *s, const struct fstep *t);
int fst_retrieve_fd(struct fsc *s, const struct fstep *t);
int fst_finish(struct fsc *s, const struct fstep *t);
int fst_close(struct fsc *s, const struct fstep *t);
int fst_send(struct fsc *s, const struct fstep *t);
int fst_recv(struct fsc *s, const struct fstep *t);
int fst_kexec(struct fsc *s, const struct fstep *t);
int fst_fd_preserve(struct fsc *s, const struct fstep *t);
int fst_fd_unpreserve(struct fsc *s, const struct fstep *t);
int fst_fd_restore(struct fsc *s, const struct fstep *t);
int fst_prepare(struct fsc *s, const struct fstep *t);
int fst_cancel(struct fsc *s, const struct fstep *t);
int fst_luo_finish(struct fsc *s, const struct fstep *t);
int fst_get_state(struct fsc *s, const struct fstep *t);
int fst_get_fd(struct fsc *s, const struct fstep *t);
int fst_token_count(struct fsc *s, const struct fstep *t);

/* What to inject. */
enum fkind {
	FK_OPS,   /* every fake request kind x position x errno */
	FK_ALLOC, /* every allocation of libluo's */
};

/* Runs every case of @sc of @kind; fails the test if one failed, after
 * listing them all. */
void fault_run(const struct fscenario *sc, enum fkind kind);

#endif /* LIBLUO_TESTS_FAULT_H */
