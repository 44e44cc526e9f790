/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the programs that run inside the test VM (see init).
 *
 * Conventions of the guest:
 *  - the stage number (1, 2, 3, ...) and the data seed travel on the kernel
 *    command line as libluo.stage=N and libluo.seed=N, which the kexec
 *    helper carries to the next kernel;
 *  - a program that preserved something must keep its session descriptors
 *    open until the kexec: it calls vm_hold_and_exit(), which leaves a
 *    child holding every descriptor while the parent reports its status to
 *    init, and init does the kexec once every program of the stage is done.
 */
#ifndef LIBLUO_VM_GUEST_H
#define LIBLUO_VM_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The value of KEY=VALUE on /proc/cmdline, as unsigned, or @def. */
unsigned long long vm_cmdline_ull(const char *key, unsigned long long def);

/* Count of failed checks in this process. */
extern unsigned vm_failures;

/* Record a failed check (printed at once on stdout, which is the console). */
void vm_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define VM_CHECK(cond, ...)                                              \
	do {                                                             \
		if (!(cond))                                             \
			vm_fail(__FILE__, __LINE__, __VA_ARGS__);        \
	} while (0)

/* Check that a libluo call (negative errno convention) returned @want. */
#define VM_CHECK_RET(expr, want)                                         \
	do {                                                             \
		long vm_r_ = (long)(expr);                               \
		if (vm_r_ != (long)(want))                               \
			vm_fail(__FILE__, __LINE__, "%s = %ld (%s), want %ld", \
				#expr, vm_r_, vm_errname(-vm_r_),        \
				(long)(want));                           \
	} while (0)

/* "EINVAL" etc. for small positive errno values, "?" otherwise. */
const char *vm_errname(long err);

/* splitmix64: small, fast, and the same on every run for a given seed. */
static inline uint64_t vm_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Deterministic bytes for (@seed, @stream): the same call in the next
 * kernel regenerates what was written, so nothing needs to be stored. */
void vm_fill(void *buf, size_t len, uint64_t seed, uint64_t stream);

/* Fill the memfd @fd with @len deterministic bytes (pwrite in chunks). */
int vm_memfd_fill(int fd, size_t len, uint64_t seed, uint64_t stream);

/* Compare the first @len bytes of @fd with the deterministic stream;
 * returns the index of the first differing byte, or -1 when equal (or a
 * read error, reported through vm_fail). */
long long vm_memfd_compare(int fd, size_t len, uint64_t seed, uint64_t stream);

/* Flush stdio, then fork: the child keeps every descriptor of this process
 * (session fds included) and sleeps until the kexec; the parent exits with
 * @status.  Never returns. */
void vm_hold_and_exit(int status) __attribute__((noreturn));

/* Print the standard end-of-program line and hold or exit accordingly. */
void vm_finish_program(const char *name, int hold) __attribute__((noreturn));

#endif
