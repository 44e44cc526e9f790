/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation-failure injection for the fault suite, without touching lib/:
 * the test program itself defines malloc(), calloc(), realloc(), free(),
 * strdup(), strndup(), aligned_alloc(), posix_memalign() and memalign()
 * (ELF interposition: a definition in the executable wins over libc's for
 * every library), forwards them to libc's (dlsym(RTLD_NEXT)), and looks at
 * who called: a call whose return address lies in libluo.so.1 is
 * "libluo's".  libluo's calls are
 *
 *   counted while armed (fault_alloc_arm()), and the n-th counted one
 *   fails (NULL and ENOMEM, or ENOMEM from posix_memalign()), once;
 *
 *   tracked, always: every block libluo allocated and nobody freed yet is
 *   in a table, with its caller, so that a case can tell what libluo still
 *   holds once every handle is gone (fault_alloc_live()) -- the memory
 *   leak check of builds without LeakSanitizer.
 *
 * Sanitizer builds (ASan, TSan, MSan) have malloc() of their own, which
 * interposing would fight: there nothing is interposed and
 * fault_alloc_available() is false (the allocation tests skip themselves,
 * visibly; LeakSanitizer checks memory there).
 */
#ifndef LIBLUO_TESTS_FAULT_ALLOC_H
#define LIBLUO_TESTS_FAULT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Whether allocations can be failed and tracked in this build (and
 * libluo.so.1 was found in the process); if not, why not in @why. */
bool fault_alloc_available(const char **why);

/* Start counting libluo's allocations; the @fail_at-th from now fails
 * (0: none fails). */
void fault_alloc_arm(unsigned long fail_at);
/* Stop counting; returns how many of libluo's allocations were counted
 * since fault_alloc_arm(). */
unsigned long fault_alloc_disarm(void);
/* Whether the failure asked for by the last fault_alloc_arm() happened. */
bool fault_alloc_fired(void);

/* A new generation: fault_alloc_live() counts only the blocks libluo
 * allocated after the last call. */
void fault_alloc_new_generation(void);
/*
 * How many blocks libluo allocated since fault_alloc_new_generation() are
 * still allocated; @desc gets "size@libluo.so.1+0xOFFSET" of the first few
 * (for addr2line).  Negative if the table overflowed (nothing can be
 * said).
 */
long fault_alloc_live(char *desc, size_t len);

#endif /* LIBLUO_TESTS_FAULT_ALLOC_H */
