/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "objcache.h"

void luoi_objcache_init(struct luoi_objcache *c, size_t max)
{
	luoi_mutex_init(&c->lock);
	c->head = NULL;
	c->count = 0;
	c->max = max;
}

void luoi_objcache_fini(struct luoi_objcache *c)
{
	while (c->head) {
		void *obj = c->head;

		memcpy(&c->head, obj, sizeof(void *));
		free(obj);
	}
	c->count = 0;
	pthread_mutex_destroy(&c->lock);
}

void *luoi_objcache_get(struct luoi_objcache *c, size_t size)
{
	void *obj = NULL;

	{
		LUOI_LOCK_GUARD(&c->lock);
		if (c->head) {
			obj = c->head;
			memcpy(&c->head, obj, sizeof(void *));
			c->count--;
		}
	}
	return obj ? obj : malloc(size);
}

void luoi_objcache_put(struct luoi_objcache *c, void *obj)
{
	if (!obj)
		return;
	{
		LUOI_LOCK_GUARD(&c->lock);
		if (c->count < c->max) {
			memcpy(obj, &c->head, sizeof(void *));
			c->head = obj;
			c->count++;
			return;
		}
	}
	free(obj);
}
