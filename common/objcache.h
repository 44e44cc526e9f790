/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A cache of freed fixed-size objects, kept for reuse by their owner (a
 * context keeps its session handles).  Creating and closing many sessions
 * then costs no malloc()/free() after the first time, and above all no
 * heap growth and trim: a process that makes 2,000 sessions, closes them
 * and makes 2,000 again would otherwise fault the same pages in each time.
 *
 * At most @max objects are kept; the rest are freed at once.  Objects are
 * raw memory: the owner initialises what it takes and tears down what it
 * gives back.  Thread-safe (its own leaf lock).
 */
#ifndef LUOI_OBJCACHE_H
#define LUOI_OBJCACHE_H

#include <pthread.h>
#include <stddef.h>

struct luoi_objcache {
	pthread_mutex_t lock;
	void *head; /* a list through each object's first pointer */
	size_t count, max;
};

/* The objects' size is the user's business: every get names it, and it
 * must be the same each time. */
void luoi_objcache_init(struct luoi_objcache *c, size_t max);
/* Frees every kept object. */
void luoi_objcache_fini(struct luoi_objcache *c);
/* An object of @size bytes (>= sizeof(void *)), kept or new, or NULL.
 * Its contents are undefined: the user initialises every field. */
void *luoi_objcache_get(struct luoi_objcache *c, size_t size);
/* Keep @obj for reuse, or free it. */
void luoi_objcache_put(struct luoi_objcache *c, void *obj);

#endif /* LUOI_OBJCACHE_H */
