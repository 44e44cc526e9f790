/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fork detection without a system call per call.  A context (or a fake
 * kernel) belongs to the process that made it; a forked child inherits the
 * memory but not the locks' owners, the single-open device or the fake's
 * state, so every entry point asks luoi_fork_guard_forked() first.
 *
 * The guard is one anonymous page marked MADV_WIPEONFORK (Linux >= 4.14):
 * the child sees it zero-filled.  Reading it costs a load, where getpid()
 * costs a system call (glibc stopped caching the pid).  Where the kernel
 * refuses the advice (or the mapping fails), the guard falls back to
 * comparing getpid().  Each object has its own page: no global state, no
 * pthread_atfork() handler that could never be unregistered.
 */
#ifndef LUOI_FORK_GUARD_H
#define LUOI_FORK_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

struct luoi_fork_guard {
	volatile const uint8_t *page; /* NULL: fall back to the pid */
	pid_t pid;
};

/* Never fails: without the page, the guard compares pids. */
void luoi_fork_guard_init(struct luoi_fork_guard *g);
void luoi_fork_guard_fini(struct luoi_fork_guard *g);

/* True in a process forked after luoi_fork_guard_init(). */
static inline bool luoi_fork_guard_forked(const struct luoi_fork_guard *g)
{
	if (g->page)
		return g->page[0] == 0;
	return getpid() != g->pid;
}

#endif /* LUOI_FORK_GUARD_H */
