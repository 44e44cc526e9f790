/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions and the files they hold, and the maps that find them without a
 * scan (common/hmap.h: u64 key -> non-zero u64 value):
 *
 *   - a session list's names: a 64-bit hash of the name -> the first
 *     session of a chain (next_same_name_key) whose names are compared in
 *     full, so a hash collision costs a comparison, never a wrong answer;
 *   - a session's tokens: token -> struct ffile * (the key is the token);
 *   - fake->busy, the kernel's luo_preserved_files: a hash of the inode
 *     identity (dev, ino) -> the first file of a chain (next_busy).
 *
 * Every insert that must not fail is preceded by a reserve: the request
 * handlers reserve before the point where the kernel could no longer fail.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake-private.h"

#define CHAIN_NEXT(obj, off) (*(void **)((char *)(obj) + (off)))
#define SESSION_NEXT offsetof(struct fsession, next_same_name_key)
#define BUSY_NEXT offsetof(struct ffile, next_busy)

/* ---- chains of objects sharing a key ------------------------------------ */

/* Add @obj to the chain of @key (its next pointer at @next_off).  Cannot
 * fail after luoi_hmap_reserve(m, 1): 0 or -ENOMEM. */
int luoi_fake_chain_add(struct luoi_hmap *m, uint64_t key, void *obj,
			size_t next_off)
{
	uint64_t *first = luoi_hmap_find(m, key);

	if (first) {
		CHAIN_NEXT(obj, next_off) = luoi_fake_u2p(*first);
		*first = luoi_fake_p2u(obj);
		return 0;
	}
	CHAIN_NEXT(obj, next_off) = NULL;
	return luoi_hmap_insert(m, key, luoi_fake_p2u(obj));
}

void luoi_fake_chain_del(struct luoi_hmap *m, uint64_t key, void *obj,
			 size_t next_off)
{
	uint64_t *first = luoi_hmap_find(m, key);
	void *it, *prev = NULL;

	if (!first)
		return;
	for (it = luoi_fake_u2p(*first); it;
	     prev = it, it = CHAIN_NEXT(it, next_off)) {
		if (it != obj)
			continue;
		if (prev)
			CHAIN_NEXT(prev, next_off) = CHAIN_NEXT(obj, next_off);
		else if (CHAIN_NEXT(obj, next_off))
			*first = luoi_fake_p2u(CHAIN_NEXT(obj, next_off));
		else
			luoi_hmap_remove(m, key, NULL);
		CHAIN_NEXT(obj, next_off) = NULL;
		return;
	}
}

/* ---- files --------------------------------------------------------------- */

struct ffile *luoi_fake_session_find(const struct fsession *s, uint64_t token)
{
	const uint64_t *v = luoi_hmap_find(&s->tokens, token);

	return v ? luoi_fake_u2p(*v) : NULL;
}

/* Append @file to @s under file->token (absent from @s).  Cannot fail
 * after luoi_hmap_reserve(&s->tokens, 1): 0 or -ENOMEM. */
int luoi_fake_file_link(struct fsession *s, struct ffile *file)
{
	int r = luoi_hmap_insert(&s->tokens, file->token, luoi_fake_p2u(file));

	if (r)
		return r;
	file->session = s;
	file->prev = s->tail;
	file->next = NULL;
	if (s->tail)
		s->tail->next = file;
	else
		s->head = file;
	s->tail = file;
	s->nfiles++;
	return 0;
}

struct ffile *luoi_fake_busy_find(const struct luo_fake *f, uint64_t dev,
				  uint64_t ino)
{
	const uint64_t *first =
		luoi_hmap_find(&f->busy, luoi_fake_id_key(dev, ino));
	struct ffile *file;

	for (file = first ? luoi_fake_u2p(*first) : NULL; file;
	     file = file->next_busy)
		if (file->dev == dev && file->ino == ino)
			return file;
	return NULL;
}

/* After luoi_hmap_reserve(&f->busy, 1). */
void luoi_fake_busy_add(struct luo_fake *f, struct ffile *file)
{
	luoi_fake_chain_add(&f->busy, luoi_fake_id_key(file->dev, file->ino),
			    file, BUSY_NEXT);
	file->busy = true;
}

/* Forget @file; close the fake's descriptor unless it was handed over
 * (once the lock is dropped). */
void luoi_fake_file_remove(struct luo_fake *f, struct ffile *file,
			   bool close_fd)
{
	struct fsession *s = file->session;

	if (file->busy)
		luoi_fake_chain_del(&f->busy,
				    luoi_fake_id_key(file->dev, file->ino),
				    file, BUSY_NEXT);
	if (file->pins_dev)
		luoi_fake_unpin_dev(f, file);
	luoi_hmap_remove(&s->tokens, file->token, NULL);
	if (file->prev)
		file->prev->next = file->next;
	else
		s->head = file->next;
	if (file->next)
		file->next->prev = file->prev;
	else
		s->tail = file->prev;
	s->nfiles--;
	if (close_fd)
		luoi_fake_close_later(f, file->fd); /* after the lock */
	free(file);
}

/* ---- sessions ------------------------------------------------------------ */

struct fsession *luoi_fake_session_new(bool incoming, const char *name)
{
	struct fsession *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->incoming = incoming;
	if (name)
		memcpy(s->name, name, sizeof(s->name));
	luoi_hmap_init(&s->tokens);
	return s;
}

/* luo_file_unpreserve_files() and luo_file_finish() alike: the fake drops
 * its reference to every file (the caller keeps the descriptors it got). */
void luoi_fake_session_drop_files(struct luo_fake *f, struct fsession *s)
{
	while (s->tail)
		luoi_fake_file_remove(f, s->tail, true);
}

void luoi_fake_session_free(struct luo_fake *f, struct fsession *s)
{
	if (!s)
		return;
	luoi_fake_session_drop_files(f, s);
	luoi_hmap_fini(&s->tokens);
	free(s);
}

/* ---- session lists, found by name ---------------------------------------- */

/* Names are compared like the kernel's strncmp(.., LUO_K_NAME_LEN): the
 * key covers the bytes before the first NUL (at most 64). */
static uint64_t name_key(const char *name)
{
	return luoi_hash_bytes(name, strnlen(name, LUO_K_NAME_LEN));
}

void luoi_fake_list_init(struct fsession_list *l)
{
	memset(l, 0, sizeof(*l));
	luoi_hmap_init(&l->names);
}

/* Free every session of @l and the list's map. */
void luoi_fake_list_free(struct luo_fake *f, struct fsession_list *l)
{
	struct fsession *s;

	while ((s = l->head)) {
		luoi_fake_list_del(l, s);
		luoi_fake_session_free(f, s);
	}
	luoi_hmap_fini(&l->names);
}

/* Room for @extra more sessions: the next luoi_fake_list_add() calls
 * cannot fail.  0 or -ENOMEM. */
int luoi_fake_list_reserve(struct fsession_list *l, size_t extra)
{
	return luoi_hmap_reserve(&l->names, extra);
}

/* After luoi_fake_list_reserve(); @s's name is not in @l. */
void luoi_fake_list_add(struct fsession_list *l, struct fsession *s)
{
	s->name_key = name_key(s->name);
	luoi_fake_chain_add(&l->names, s->name_key, s, SESSION_NEXT);
	s->prev = l->tail;
	s->next = NULL;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->count++;
}

void luoi_fake_list_del(struct fsession_list *l, struct fsession *s)
{
	luoi_fake_chain_del(&l->names, s->name_key, s, SESSION_NEXT);
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = NULL;
	l->count--;
}

/* The session named @name (LUO_K_NAME_LEN bytes at most, NUL-terminated
 * or not), or NULL. */
struct fsession *luoi_fake_list_find(const struct fsession_list *l,
				     const char *name)
{
	const uint64_t *first;
	struct fsession *s;

	if (!l->count)
		return NULL;
	first = luoi_hmap_find(&l->names, name_key(name));
	for (s = first ? luoi_fake_u2p(*first) : NULL; s;
	     s = s->next_same_name_key)
		if (!strncmp(s->name, name, LUO_K_NAME_LEN))
			return s;
	return NULL;
}
