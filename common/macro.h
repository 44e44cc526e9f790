/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one cleanup style of libluo and its fake kernel: variables that free,
 * close or unlock themselves when they go out of scope (gcc and clang's
 * cleanup attribute, as in systemd, kmod and libnvme), with early returns,
 * and TAKE_PTR()/TAKE_FD() to hand ownership on.
 *
 *     _cleanup_free_ char *buf = malloc(n);
 *     _cleanup_close_ int fd = open(...);
 *     LUOI_LOCK_GUARD(&s->lock);          // unlocked at the end of the scope
 *     ...
 *     *ret = TAKE_PTR(buf);
 *
 * Internal to the tree: nothing here is installed.
 */
#ifndef LUOI_MACRO_H
#define LUOI_MACRO_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define LUOI_EXPORT __attribute__((visibility("default")))

#define _cleanup_(f) __attribute__((cleanup(f)))

#define LUOI_CONCAT_(a, b) a##b
#define LUOI_CONCAT(a, b) LUOI_CONCAT_(a, b)
#define LUOI_UNIQ(name) LUOI_CONCAT(name, __COUNTER__)

#define LUOI_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void luoi_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(luoi_freep)

/* close() that keeps errno, for error paths that report it. */
static inline void luoi_close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

static inline void luoi_closep(int *fd)
{
	luoi_close_keep_errno(*fd);
}
#define _cleanup_close_ _cleanup_(luoi_closep)

/* Take ownership: return the value and leave NULL (or -1) behind. */
#define TAKE_PTR(p)                                                       \
	({                                                                \
		__typeof__(p) luoi_taken_ = (p);                          \
		(p) = NULL;                                               \
		luoi_taken_;                                              \
	})
#define TAKE_FD(fd)                                                       \
	({                                                                \
		int luoi_taken_fd_ = (fd);                                \
		(fd) = -1;                                                \
		luoi_taken_fd_;                                           \
	})

/*
 * Mutexes.  With lock checks (meson option lock_checks, on by default in
 * debug and debugoptimized builds, so in every test build) they are
 * error-checking and abort on a failed lock or unlock, so that a forbidden
 * re-entry (a callback calling back into a locked session, say) fails
 * loudly in the tests instead of deadlocking.  Without them they are plain
 * mutexes: an error-checking lock costs a few nanoseconds more on every
 * lookup.
 */
#if LUOI_LOCK_CHECKS && defined(PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP)
#define LUOI_MUTEX_INITIALIZER PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP
#else
#define LUOI_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif

/* An assignment: no call, and nothing that can fail.  Returns 0 so that
 * callers written for pthread_mutex_init() need no error path. */
static inline int luoi_mutex_init(pthread_mutex_t *m)
{
	static const pthread_mutex_t initial = LUOI_MUTEX_INITIALIZER;

	*m = initial;
	return 0;
}

static inline pthread_mutex_t *luoi_mutex_lock(pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);

#if LUOI_LOCK_CHECKS
	if (r)
		abort(); /* EDEADLK: this thread holds it already */
#else
	(void)r;
#endif
	return m;
}

static inline void luoi_mutex_unlock(pthread_mutex_t *m)
{
	int r = pthread_mutex_unlock(m);

#if LUOI_LOCK_CHECKS
	if (r)
		abort(); /* EPERM: not held by this thread */
#else
	(void)r;
#endif
}

static inline void luoi_mutex_unlockp(pthread_mutex_t **m)
{
	if (*m)
		luoi_mutex_unlock(*m);
}

/* Lock @m until the end of the enclosing scope. */
#define LUOI_LOCK_GUARD(m)                                                \
	_cleanup_(luoi_mutex_unlockp) __attribute__((unused))             \
	pthread_mutex_t *LUOI_UNIQ(luoi_guard_) = luoi_mutex_lock(m)

#endif /* LUOI_MACRO_H */
