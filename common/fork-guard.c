/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/mman.h>

#include "fork-guard.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

void luoi_fork_guard_init(struct luoi_fork_guard *g)
{
	long page_size = sysconf(_SC_PAGESIZE);
	uint8_t *p;

	g->pid = getpid();
	g->page = NULL;
	p = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, (size_t)page_size, MADV_WIPEONFORK) < 0) {
		munmap(p, (size_t)page_size);
		return;
	}
	p[0] = 1;
	g->page = p;
}

void luoi_fork_guard_fini(struct luoi_fork_guard *g)
{
	if (g->page)
		munmap((void *)(uintptr_t)g->page, (size_t)sysconf(_SC_PAGESIZE));
	g->page = NULL;
}
