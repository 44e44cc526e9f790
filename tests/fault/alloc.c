/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation-failure injection: see alloc.h.  Compiled with -fno-builtin
 * (tests/fault/meson.build) so that the compiler turns none of the bodies
 * below into a call of the function being defined.
 */
#include "alloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAULT_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define FAULT_SANITIZER 1
#endif
#endif

#ifndef FAULT_ALLOC
#define FAULT_ALLOC 1
#endif
#if defined(FAULT_SANITIZER) && FAULT_ALLOC
#undef FAULT_ALLOC
#define FAULT_ALLOC 0
#endif

#if !FAULT_ALLOC

bool fault_alloc_available(const char **why)
{
	if (why)
		*why = "the sanitizer's malloc() cannot be interposed (plain "
		       "and UBSan-only builds inject allocation failures)";
	return false;
}

void fault_alloc_arm(unsigned long fail_at)
{
	(void)fail_at;
}

unsigned long fault_alloc_disarm(void)
{
	return 0;
}

bool fault_alloc_fired(void)
{
	return false;
}

void fault_alloc_new_generation(void)
{
}

long fault_alloc_live(char *desc, size_t len)
{
	if (len)
		desc[0] = '\0';
	return 0;
}

#else /* FAULT_ALLOC */

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default"), noinline, used))

/* ---- libc's functions --------------------------------------------------- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

/*
 * dlsym() may allocate (its error buffer): while it runs, allocations come
 * from a static buffer, which free() ignores.  Each block has its size in
 * the 16 bytes before it (for realloc()).
 */
#define BOOT_SIZE (64 * 1024)
static _Alignas(64) unsigned char boot_buf[BOOT_SIZE];
static size_t boot_used;
static atomic_int resolving;

static void *boot_alloc(size_t n, size_t align)
{
	size_t at;

	if (align < 16)
		align = 16;
	at = (boot_used + 16 + align - 1) & ~(align - 1);
	if (n > BOOT_SIZE || at > BOOT_SIZE - n)
		return NULL;
	memcpy(boot_buf + at - 16, &n, sizeof(n));
	boot_used = at + n;
	return boot_buf + at;
}

static bool in_boot(const void *p)
{
	return (const unsigned char *)p >= boot_buf &&
	       (const unsigned char *)p < boot_buf + BOOT_SIZE;
}

static size_t boot_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - 16, sizeof(n));
	return n;
}

static void resolve(void)
{
	if (real_free)
		return;
	atomic_store(&resolving, 1);
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_aligned_alloc =
		(void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(
		RTLD_NEXT, "posix_memalign");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	atomic_store(&resolving, 0);
}

/* True when the caller must be served from the bootstrap buffer. */
static bool booting(void)
{
	if (real_free)
		return false;
	if (atomic_load(&resolving))
		return true;
	resolve();
	return !real_free;
}

/* ---- where libluo.so.1 is ----------------------------------------------- */

static uintptr_t luo_lo, luo_hi, luo_base;
static bool luo_found;

static int find_libluo(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *name = info->dlpi_name, *slash;
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	(void)data;
	if (!name)
		return 0;
	slash = strrchr(name, '/');
	if (strncmp(slash ? slash + 1 : name, "libluo.so", 9) != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		/* return addresses are in code */
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (hi <= lo)
		return 0;
	luo_lo = lo;
	luo_hi = hi;
	luo_base = info->dlpi_addr;
	return 1;
}

/* Before main(), after the libraries' constructors: libluo.so.1 is loaded
 * (a DT_NEEDED of the program) and nothing runs in another thread. */
__attribute__((constructor(101))) static void fault_alloc_init(void)
{
	resolve();
	luo_found = dl_iterate_phdr(find_libluo, NULL) == 1;
}

static bool from_libluo(const void *ra)
{
	return luo_found && (uintptr_t)ra >= luo_lo && (uintptr_t)ra < luo_hi;
}

/* ---- counting and failing ----------------------------------------------- */

static atomic_bool armed;
static atomic_ulong counted;
static atomic_ulong fail_at;
static atomic_bool fired;

/* Counts a call of libluo's; true if it is the one to fail. */
static bool must_fail(const void *ra)
{
	unsigned long n;

	if (!from_libluo(ra) || !atomic_load(&armed))
		return false;
	n = atomic_fetch_add(&counted, 1) + 1;
	if (n != atomic_load(&fail_at))
		return false;
	atomic_store(&fired, true);
	return true;
}

void fault_alloc_arm(unsigned long n)
{
	atomic_store(&counted, 0);
	atomic_store(&fired, false);
	atomic_store(&fail_at, n);
	atomic_store(&armed, true);
}

unsigned long fault_alloc_disarm(void)
{
	atomic_store(&armed, false);
	atomic_store(&fail_at, 0);
	return atomic_load(&counted);
}

bool fault_alloc_fired(void)
{
	return atomic_load(&fired);
}

bool fault_alloc_available(const char **why)
{
	if (!luo_found && why)
		*why = "libluo.so.1 is not among the loaded objects";
	return luo_found;
}

/* ---- what libluo holds -------------------------------------------------- */

struct slot {
	uintptr_t p; /* 0: free */
	uintptr_t caller;
	size_t size;
	unsigned int gen;
};

#define SLOT_BITS 14
#define NSLOTS (1u << SLOT_BITS)
static struct slot table[NSLOTS];
static size_t used;
static bool overflow;
static unsigned int generation;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(uintptr_t p)
{
	return (size_t)(((uint64_t)p >> 4) * 0x9e3779b97f4a7c15ull >>
			(64 - SLOT_BITS));
}

static void track_add(void *p, const void *caller, size_t size)
{
	size_t i;

	pthread_mutex_lock(&table_lock);
	if (used >= NSLOTS / 4 * 3) {
		overflow = true;
		pthread_mutex_unlock(&table_lock);
		return;
	}
	for (i = slot_of((uintptr_t)p); table[i].p; i = (i + 1) & (NSLOTS - 1))
		;
	table[i] = (struct slot){ (uintptr_t)p, (uintptr_t)caller, size,
				  generation };
	used++;
	pthread_mutex_unlock(&table_lock);
}

/* Forgets @p; whether it was libluo's. */
static bool track_del(void *p)
{
	size_t i, j;

	if (!__atomic_load_n(&used, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&table_lock);
	for (i = slot_of((uintptr_t)p); table[i].p;
	     i = (i + 1) & (NSLOTS - 1))
		if (table[i].p == (uintptr_t)p)
			break;
	if (!table[i].p) {
		pthread_mutex_unlock(&table_lock);
		return false;
	}
	/* linear probing: shift back what follows instead of a tombstone */
	table[i].p = 0;
	for (j = (i + 1) & (NSLOTS - 1); table[j].p;
	     j = (j + 1) & (NSLOTS - 1)) {
		size_t home = slot_of(table[j].p);

		/* table[j] may move to i if i lies between home and j */
		if (((j - home) & (NSLOTS - 1)) >= ((j - i) & (NSLOTS - 1))) {
			table[i] = table[j];
			table[j].p = 0;
			i = j;
		}
	}
	used--;
	pthread_mutex_unlock(&table_lock);
	return true;
}

void fault_alloc_new_generation(void)
{
	pthread_mutex_lock(&table_lock);
	generation++;
	pthread_mutex_unlock(&table_lock);
}

long fault_alloc_live(char *desc, size_t len)
{
	size_t pos = 0;
	long n = 0;

	if (len)
		desc[0] = '\0';
	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; i < NSLOTS; i++) {
		if (!table[i].p || table[i].gen != generation)
			continue;
		if (n++ < 8 && pos < len) {
			int w = snprintf(desc + pos, len - pos,
					 "%s%zu bytes at libluo.so.1+%#lx",
					 pos ? ", " : "", table[i].size,
					 (unsigned long)(table[i].caller -
							 luo_base));

			if (w > 0)
				pos += (size_t)w;
		}
	}
	if (overflow)
		n = -1;
	pthread_mutex_unlock(&table_lock);
	return n;
}

/* ---- the interposed functions ------------------------------------------- */

static void *got(void *p, const void *ra, size_t size)
{
	if (p && from_libluo(ra))
		track_add(p, ra, size);
	return p;
}

static void *do_malloc(size_t n, const void *ra)
{
	if (booting())
		return boot_alloc(n, 16);
	if (must_fail(ra)) {
		errno = ENOMEM;
		return NULL;
	}
	return got(real_malloc(n), ra, n);
}

EXPORT void *malloc(size_t n)
{
	return do_malloc(n, __builtin_return_address(0));
}

EXPORT void *calloc(size_t n, size_t size)
{
	const void *ra = __builtin_return_address(0);

	if (booting()) {
		void *p;

		if (size && n > SIZE_MAX / size)
			return NULL;
		p = boot_alloc(n * size, 16);
		if (p)
			memset(p, 0, n * size);
		return p;
	}
	if (must_fail(ra)) {
		errno = ENOMEM;
		return NULL;
	}
	return got(real_calloc(n, size), ra, n * size);
}

EXPORT void *realloc(void *p, size_t n)
{
	const void *ra = __builtin_return_address(0);
	bool was_luo;
	void *q;

	if (p && in_boot(p)) {
		size_t old = boot_size(p);

		q = do_malloc(n, ra);
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (booting())
		return boot_alloc(n, 16); /* p is NULL or from the buffer */
	if (must_fail(ra)) {
		errno = ENOMEM;
		return NULL;
	}
	q = real_realloc(p, n);
	if (!q && n && p)
		return NULL; /* failed: p is untouched */
	was_luo = p && track_del(p);
	if (q && (was_luo || from_libluo(ra)))
		track_add(q, ra, n);
	return q;
}

EXPORT void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (booting())
		return; /* while dlsym() runs, only the buffer hands out */
	track_del(p);
	real_free(p);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	const void *ra = __builtin_return_address(0);

	if (booting())
		return boot_alloc(n, align);
	if (must_fail(ra)) {
		errno = ENOMEM;
		return NULL;
	}
	return got(real_aligned_alloc(align, n), ra, n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	const void *ra = __builtin_return_address(0);

	if (booting())
		return boot_alloc(n, align);
	if (must_fail(ra)) {
		errno = ENOMEM;
		return NULL;
	}
	return got(real_memalign(align, n), ra, n);
}

EXPORT int posix_memalign(void **ret, size_t align, size_t n)
{
	const void *ra = __builtin_return_address(0);
	void *p = NULL;
	int r;

	if (booting()) {
		p = boot_alloc(n, align);
		if (!p)
			return ENOMEM;
		*ret = p;
		return 0;
	}
	if (must_fail(ra))
		return ENOMEM;
	r = real_posix_memalign(&p, align, n);
	if (r == 0)
		*ret = got(p, ra, n);
	return r;
}

EXPORT char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = do_malloc(n, __builtin_return_address(0));

	if (p)
		memcpy(p, s, n);
	return p;
}

EXPORT char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = do_malloc(n + 1, __builtin_return_address(0));

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

#endif /* FAULT_ALLOC */
