/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the files of the fault suite's runner: what a case process
 * hands back, how it fails, and the bookkeeping check.
 *
 *   steps.c    the state of a scenario and its steps
 *   check.c    libluo's bookkeeping against the fake kernel's truth
 *   runner.c   one case in a process of its own; every case of a scenario
 */
#ifndef LIBLUO_TESTS_FAULT_PRIVATE_H
#define LIBLUO_TESTS_FAULT_PRIVATE_H

#include "fault.h"

#define NOPS (LUO_FAKE_OP_KEXEC + 1)

extern const char *const fault_op_names[NOPS];

/* "EIO", "ENOMEM", ...; "0" for 0; @r may be negative. */
const char *fault_errname(int r);

/* What a case process hands back (a shared mapping). */
struct fresult {
	bool done;            /* the case ran to its end */
	bool fired;           /* the injected failure happened */
	int fired_step;       /* in this step (0-based) */
	int ret;              /* which returned this */
	bool errno_changed;   /* fake request: ret is not -(injected errno) */
	bool tolerated;       /* allocation: the step succeeded anyway */
	bool eintr_retried;   /* EINTR: libluo asked again and succeeded */
	bool record_dropped;  /* a retrieve could not read the session's
			       * record and succeeded without it */
	int kept_fds;         /* descriptors the failed step left open */
	char where[192];      /* what the case was doing */
	char msg[3072];       /* why it failed */
	/* the counting run: per kind of request, and allocations */
	unsigned int counts[NOPS];
	unsigned long allocs;
};

/* In a case process: its result. */
extern struct fresult *fault_result;

/* Says what the case is doing, for the failure messages. */
void fault_where(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the case as failed, with a message prefixed by where it was. */
void ffail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

void fsc_init(struct fsc *s, const struct fscenario *sc);
/* Closes and drops everything of @s. */
void fsc_fini(struct fsc *s);
/* luo_fake_get_boot() of the scenario's fake. */
int fsc_boot(struct fsc *s);

/* Compares libluo's bookkeeping with the fake's truth (fault.h); ends the
 * case on a difference. */
void check_bookkeeping(struct fsc *s);

#endif /* LIBLUO_TESTS_FAULT_PRIVATE_H */
