/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fault-injection runner (fault.h): each case runs in a process of its
 * own, forked from the test's, so that every failing case is listed (not
 * only the first) and one case's damage cannot leak into the next.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "fault-private.h"
#include "fd-count.h"
#include "harness.h"
#include "leak-check.h"

#define R fault_result

static const int fault_errnos[] = { EIO, ENOMEM, EBUSY, ENOSPC, EINTR };
#define NERRNOS (sizeof(fault_errnos) / sizeof(fault_errnos[0]))

static const char *abi_name(enum luo_abi abi)
{
	return abi == LUO_ABI_RFC ? "rfc" : "mainline";
}

/* ---- one case, in its own process --------------------------------------- */

struct fcase {
	enum fkind kind;
	enum luo_fake_op op; /* FK_OPS */
	int err;             /* FK_OPS */
	unsigned long k;     /* position; 0: the counting run */
};

static void op_counts(struct fsc *s, unsigned int out[NOPS])
{
	out[LUO_FAKE_OP_ALL] = 0;
	for (int op = LUO_FAKE_OP_OPEN; op < NOPS; op++) {
		int n = luo_fake_op_count(s->fake, (enum luo_fake_op)op);

		if (n < 0)
			ffail("luo_fake_op_count(%s): %s", fault_op_names[op],
			      fault_errname(n));
		out[op] = (unsigned int)n;
	}
}

static void inject(struct fsc *s, const struct fcase *c, unsigned long nth)
{
	int r = luo_fake_inject_error_nth(s->fake, c->op, nth ? c->err : 0,
					  (unsigned int)nth);

	if (r < 0)
		ffail("luo_fake_inject_error_nth: %s", fault_errname(r));
}

static const char *what(const struct fcase *c)
{
	static char buf[64];

	if (c->kind == FK_ALLOC)
		snprintf(buf, sizeof(buf), "allocation #%lu", c->k);
	else
		snprintf(buf, sizeof(buf), "%s #%lu with %s",
			 fault_op_names[c->op], c->k, fault_errname(c->err));
	return buf;
}

/*
 * The step @t just failed with @r because of the injected failure: the
 * checks of a failed call, then the retry.  A failed call may close
 * descriptors (luo_finish() finishes and closes sessions one by one) and
 * may keep what the kernel hands out once per boot (a retrieved session:
 * the manifest's, a token's), so a change in the number of descriptors is
 * reported, not failed; descriptors that nothing owns are found at the end
 * of the case, once everything was released.
 */
static void after_failure(struct fsc *s, const struct fstep *t,
			  const struct fcase *c, int r, int fds_before)
{
	int fds, r2;

	if (r >= 0 || r < -4095)
		ffail("%s failed; the step returned %d, not a negative errno",
		      what(c), r);
	if (c->kind == FK_ALLOC && r != -ENOMEM)
		ffail("%s failed; the step returned %d (%s), not -ENOMEM",
		      what(c), r, fault_errname(r));
	if (c->kind == FK_OPS && r != -c->err)
		R->errno_changed = true;
	fds = fd_count();
	if (fds > fds_before)
		R->kept_fds = fds - fds_before;
	fault_where("step %d (%s), check after its failure (%s)",
		    R->fired_step + 1, t->name, fault_errname(r));
	check_bookkeeping(s);
	fault_where("step %d (%s), retried after %s", R->fired_step + 1,
		    t->name, what(c));
	r2 = t->fn(s, t);
	if (r2 != 0)
		ffail("returned %d (%s); the first try had failed with %s "
		      "because of %s", r2, fault_errname(r2),
		      fault_errname(r), what(c));
	check_bookkeeping(s);
}

/*
 * A failed RETRIEVE_FD while luo_session_retrieve() reads the session's
 * record (include/libluo.h, "What came back"): the kernel hands a session
 * out once per boot, so the retrieve succeeds anyway, and the session
 * behaves as one without a record: it lists no token until one is
 * retrieved (all or nothing, never a part of the record).  Whether that
 * is what happened.
 */
static bool record_read_absorbed(struct fsc *s, const struct fstep *t,
				 const struct fcase *c)
{
	luo_session_t *h;
	int n;

	if (c->kind != FK_OPS || c->op != LUO_FAKE_OP_RETRIEVE_FD ||
	    t->fn != fst_retrieve)
		return false;
	h = s->sess[t->a].h;
	if (!h)
		ffail("luo_session_retrieve() returned 0 and no session");
	n = luo_session_token_count(h);
	if (n != 0)
		ffail("%s failed while the record was read, and the session "
		      "lists %d tokens: a part of the record", what(c), n);
	return true;
}

/* The end of a case: everything released, nothing may be left. */
static void expect_nothing_left(int fds0)
{
	char desc[2048];
	long live;

	if (fd_count() != fds0) {
		fd_describe(desc, sizeof(desc));
		ffail("descriptor leak: %d open before the scenario, %d after "
		      "it: %s", fds0, fd_count(), desc);
	}
	if (leak_check())
		ffail("memory leak: LeakSanitizer's report is in the output");
	live = fault_alloc_live(desc, sizeof(desc));
	if (live < 0)
		ffail("the allocation table overflowed: cannot tell leaks");
	if (live > 0)
		ffail("memory leak: %ld blocks libluo allocated are still "
		      "allocated once everything was released: %s", live,
		      desc);
}

static void run_case(const struct fscenario *sc, const struct fcase *c)
{
	bool counting = c->k == 0, fired = false;
	unsigned long consumed = 0;
	struct fsc s;
	int fds0;

	alarm(60);
	fault_where("setup");
	fds0 = fd_count();
	fault_alloc_new_generation();
	fsc_init(&s, sc);

	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct fstep *t = &sc->steps[i];
		unsigned int before[NOPS], after[NOPS];
		unsigned long delta = 0, left = c->k - consumed;
		bool now = false, armed = !fired && !counting;
		int fds, r;

		fault_where("step %zu (%s)", i + 1, t->name);
		fds = fd_count();
		op_counts(&s, before);
		if (c->kind == FK_ALLOC)
			fault_alloc_arm(armed ? left : 0);
		else if (armed)
			inject(&s, c, left);

		r = t->fn(&s, t);

		if (c->kind == FK_ALLOC) {
			delta = fault_alloc_disarm();
			now = armed && fault_alloc_fired();
		}
		op_counts(&s, after);
		if (c->kind == FK_OPS) {
			delta = after[c->op] - before[c->op];
			now = armed && delta >= left;
			if (armed && !now)
				inject(&s, c, 0);
		}
		if (counting) {
			for (int op = 0; op < NOPS; op++)
				R->counts[op] += after[op] - before[op];
			if (c->kind == FK_ALLOC)
				R->allocs += delta;
		}
		consumed += delta;

		if (now) {
			fired = true;
			R->fired = true;
			R->fired_step = (int)i;
			R->ret = r;
			if (r != 0) {
				after_failure(&s, t, c, r, fds);
			} else if (c->kind == FK_ALLOC) {
				R->tolerated = true;
				check_bookkeeping(&s);
			} else if (c->err == EINTR && delta > left) {
				R->eintr_retried = true;
				check_bookkeeping(&s);
			} else if (record_read_absorbed(&s, t, c)) {
				R->record_dropped = true;
				check_bookkeeping(&s);
			} else {
				ffail("%s failed in this step, which returned "
				      "0", what(c));
			}
		} else if (r != 0) {
			ffail("returned %d (%s) without an injected failure%s",
			      r, fault_errname(r), fired ? " (after the one "
			      "that was injected and retried)" : "");
		}
		if (sc->check_each_step || t->check) {
			fault_where("check after step %zu (%s)", i + 1,
				    t->name);
			check_bookkeeping(&s);
		}
	}
	fault_where("end of the scenario");
	if (!counting && !fired)
		ffail("%s never happened (%lu counted): the scenario is not "
		      "deterministic", what(c), consumed);

	fault_where("teardown");
	fsc_fini(&s);
	expect_nothing_left(fds0);
	R->done = true;
}

/* ---- every case, from the test process ---------------------------------- */

/* Forks, runs @c in the child, waits; whether the case passed. */
static bool spawn(const struct fscenario *sc, const struct fcase *c,
		  struct fresult *res, char *why, size_t len)
{
	int status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_ge(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		R = res;
		run_case(sc, c);
		fflush(stdout);
		fflush(stderr);
		/* _exit: LeakSanitizer looked already (run_case()) */
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && res->done)
		return true;
	if (res->msg[0])
		snprintf(why, len, "%s", res->msg);
	else if (WIFSIGNALED(status))
		snprintf(why, len, "%s: killed by signal %d (%s)%s", res->where,
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGABRT ? ", a sanitizer report "
			 "or an abort: see the output" : "");
	else
		snprintf(why, len, "%s: exit status %d (a failed assertion? "
			 "see the output)", res->where,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return false;
}

/* What passing cases showed, once per (kind, step, request, errno,
 * value), with how many cases showed it. */
enum finding_kind {
	FND_ERRNO, /* the step returned another errno than the injected one */
	FND_KEPT,  /* the failed step left descriptors open */
	FND_TOLERATED, /* an allocation failed, the step succeeded */
	FND_EINTR, /* libluo asked again after EINTR */
	FND_RECORD, /* the record could not be read: retrieved without it */
};

struct finding {
	enum finding_kind kind;
	int step, op, err, value;
	unsigned int times;
};

#define MAX_FINDINGS 64

struct findings {
	struct finding f[MAX_FINDINGS];
	size_t n;
};

static void add_finding(struct findings *fs, enum finding_kind kind,
			int step, int op, int err, int value)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		struct finding *f = &fs->f[i];

		if (f->kind == kind && f->step == step && f->op == op &&
		    f->err == err && f->value == value) {
			f->times++;
			return;
		}
	}
	if (fs->n < MAX_FINDINGS)
		fs->f[fs->n++] = (struct finding){ kind, step, op, err, value,
						   1 };
}

static void print_findings(const struct fscenario *sc, enum fkind kind,
			   const struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->f[i];
		char cause[64];

		if (kind == FK_ALLOC)
			snprintf(cause, sizeof(cause), "a failed allocation");
		else if (!f->err)
			snprintf(cause, sizeof(cause), "%s failing",
				 fault_op_names[f->op]);
		else
			snprintf(cause, sizeof(cause), "%s failing with %s",
				 fault_op_names[f->op], fault_errname(f->err));
		switch (f->kind) {
		case FND_ERRNO:
			note("%s/%s, step %d (%s): %s: it returned %s (%u "
			     "cases)", sc->name, abi_name(sc->abi), f->step + 1,
			     sc->steps[f->step].name, cause,
			     fault_errname(f->value), f->times);
			break;
		case FND_KEPT:
			note("%s/%s, step %d (%s): %s: it failed and kept %d "
			     "more descriptors open (%u cases; released in the "
			     "end)", sc->name, abi_name(sc->abi), f->step + 1,
			     sc->steps[f->step].name, cause, f->value,
			     f->times);
			break;
		case FND_TOLERATED:
			note("%s/%s, step %d (%s): %s: it succeeded anyway (%u "
			     "cases)", sc->name, abi_name(sc->abi), f->step + 1,
			     sc->steps[f->step].name, cause, f->times);
			break;
		case FND_EINTR:
			note("%s/%s, step %d (%s): %s: libluo asked again and "
			     "succeeded (%u cases)", sc->name,
			     abi_name(sc->abi), f->step + 1,
			     sc->steps[f->step].name, cause, f->times);
			break;
		case FND_RECORD:
			note("%s/%s, step %d (%s): %s: the session was "
			     "retrieved without its record, and lists nothing "
			     "(%u cases)", sc->name, abi_name(sc->abi),
			     f->step + 1, sc->steps[f->step].name, cause,
			     f->times);
			break;
		}
	}
}

/* Runs every case of one kind of request (or of allocations, @op 0) at
 * every position 1..@n; returns how many failed. */
static unsigned long run_positions(const struct fscenario *sc,
				   enum fkind kind, int op, unsigned long n,
				   struct fresult *res, struct findings *fs,
				   unsigned long *total)
{
	unsigned long failed = 0;
	char why[3200];

	for (unsigned long k = 1; k <= n; k++) {
		for (size_t e = 0; e < (kind == FK_ALLOC ? 1 : NERRNOS); e++) {
			struct fcase c = {
				.kind = kind,
				.op = (enum luo_fake_op)op,
				.err = kind == FK_ALLOC ? ENOMEM :
							  fault_errnos[e],
				.k = k,
			};

			++*total;
			if (!spawn(sc, &c, res, why, sizeof(why))) {
				failed++;
				printf("FAILED %s/%s, %s: %s\n", sc->name,
				       abi_name(sc->abi), what(&c), why);
				continue;
			}
			if (res->errno_changed)
				add_finding(fs, FND_ERRNO, res->fired_step, op,
					    c.err, res->ret);
			/* the same whatever the errno: once per request */
			if (res->kept_fds)
				add_finding(fs, FND_KEPT, res->fired_step, op,
					    0, res->kept_fds);
			if (res->tolerated)
				add_finding(fs, FND_TOLERATED, res->fired_step,
					    op, c.err, 0);
			if (res->eintr_retried)
				add_finding(fs, FND_EINTR, res->fired_step, op,
					    c.err, 0);
			if (res->record_dropped)
				add_finding(fs, FND_RECORD, res->fired_step, op,
					    c.err, 0);
		}
	}
	return failed;
}

void fault_run(const struct fscenario *sc, enum fkind kind)
{
	static struct findings fs;
	unsigned long total = 0, failed = 0;
	struct fcase count = { .kind = kind };
	struct fresult *res;
	const char *na;
	char why[3200], line[512];
	size_t pos = 0;

	if (kind == FK_ALLOC && !fault_alloc_available(&na))
		skip_test("allocation failures: %s", na);
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED, "mmap: %s", strerror(errno));

	/* the clean run, counting */
	if (!spawn(sc, &count, res, why, sizeof(why)))
		fail("%s/%s fails without any injected failure: %s", sc->name,
		     abi_name(sc->abi), why);
	line[0] = '\0';
	for (int op = LUO_FAKE_OP_OPEN; op < NOPS; op++)
		if (res->counts[op] && pos < sizeof(line))
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
						" %s=%u", fault_op_names[op],
						res->counts[op]);
	note("%s/%s: %zu steps; requests:%s; allocations in libluo: %lu",
	     sc->name, abi_name(sc->abi), sc->nsteps, line, res->allocs);

	if (kind == FK_ALLOC) {
		failed = run_positions(sc, kind, 0, res->allocs, res, &fs,
				       &total);
	} else {
		unsigned int counts[NOPS];

		memcpy(counts, res->counts, sizeof(counts));
		for (int op = LUO_FAKE_OP_OPEN; op < NOPS; op++)
			failed += run_positions(sc, kind, op, counts[op], res,
						&fs, &total);
	}
	print_findings(sc, kind, &fs);
	if (kind == FK_ALLOC)
		note("%s/%s: %lu cases (each allocation of libluo's failing "
		     "in turn), %lu failed", sc->name, abi_name(sc->abi),
		     total, failed);
	else
		note("%s/%s: %lu cases (each request x position x %zu "
		     "errnos), %lu failed", sc->name, abi_name(sc->abi), total,
		     NERRNOS, failed);
	munmap(res, sizeof(*res));
	if (failed)
		fail("%lu of %lu cases failed (each is listed in the output)",
		     failed, total);
}
