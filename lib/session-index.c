/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The index of the sessions a context created (session-index.h) and
 * luo_ctx_foreach_incoming_session().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "session-index.h"
#include "session.h"

static void names_free(struct luoi_index *ix)
{
	for (size_t i = 0; i < ix->n_names; i++)
		free(ix->names[i]);
	free(ix->names);
	ix->names = NULL;
	ix->n_names = 0;
}

/* Close the index sessions (which finishes the incoming ones). */
static void index_free(luo_ctx_t *ctx)
{
	struct luoi_index *ix = atomic_load(&ctx->index);

	if (!ix)
		return;
	if (ix->out) {
		luoi_record_writer_fini(&ix->writer);
		luoi_session_free(ix->out);
	}
	for (unsigned int slot = 0; slot < LUOI_INDEX_SLOTS; slot++)
		luoi_session_free(ix->in[slot]);
	names_free(ix);
	pthread_cond_destroy(&ix->changed);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
}

/* The context's index state, made on first use.  Two threads may race to
 * make it: one wins, the other frees its copy. */
static struct luoi_index *index_get(luo_ctx_t *ctx)
{
	struct luoi_index *ix = atomic_load(&ctx->index), *expected = NULL;

	if (ix)
		return ix;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	luoi_mutex_init(&ix->lock);
	ix->changed = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if (!atomic_compare_exchange_strong(&ctx->index, &expected, ix)) {
		free(ix);
		return expected;
	}
	ctx->index_free = index_free;
	return ix;
}

static void slot_name(char *buf, size_t size, unsigned int slot)
{
	snprintf(buf, size, LUOI_INDEX_PREFIX "%u", slot);
}

/* Create the outgoing index session in the lowest free slot.  No lock. */
static int index_create(luo_ctx_t *ctx, struct luo_session **ret)
{
	char name[LUO_K_NAME_LEN];
	int r = -ENOSPC;

	for (unsigned int slot = 0; slot < LUOI_INDEX_SLOTS; slot++) {
		slot_name(name, sizeof(name), slot);
		r = luoi_session_open(ctx, name, LUO_SESSION_OUTGOING, ret);
		if (r != -EEXIST)
			break;
		r = -ENOSPC;
	}
	if (r == 0)
		(*ret)->internal = true;
	return r;
}

int luoi_index_reserve(luo_ctx_t *ctx, const char *api, size_t name_len,
		       struct luoi_record_res *res)
{
	struct luoi_index *ix = index_get(ctx);
	struct luo_session *s = NULL;
	int r;

	if (!ix)
		return -ENOMEM;
	LUOI_LOCK_GUARD(&ix->lock);
	while (ix->out_state == LUOI_INDEX_BUSY)
		pthread_cond_wait(&ix->changed, &ix->lock);
	if (ix->out_state == LUOI_INDEX_NONE) {
		ix->out_state = LUOI_INDEX_BUSY;
		luoi_mutex_unlock(&ix->lock);
		r = index_create(ctx, &s);
		luoi_mutex_lock(&ix->lock);
		pthread_cond_broadcast(&ix->changed);
		if (r < 0) {
			ix->out_state = LUOI_INDEX_NONE; /* the next create retries */
		} else {
			ix->out = s;
			luoi_record_writer_init(&ix->writer, LUOI_RECORD_INDEX,
						ctx->backend, s->fd);
			ix->out_state = LUOI_INDEX_READY;
		}
		/* logged with no lock held and the state settled: the
		 * callback may call libluo, this very function too */
		luoi_mutex_unlock(&ix->lock);
		if (r < 0)
			luoi_err(ctx, api, "cannot create the session index: %s",
				 strerror(-r));
		else
			luoi_dbg(ctx, api, "session index is \"%s\"", s->name);
		luoi_mutex_lock(&ix->lock);
		if (r < 0)
			return r;
	}
	return luoi_record_reserve(&ix->writer, &ix->lock,
				   luoi_record_entry_size(LUOI_RECORD_NAME,
							  name_len),
				   res);
}

void luoi_index_commit(luo_ctx_t *ctx, struct luoi_record_res *res,
		       unsigned int type, const char *name, size_t name_len)
{
	struct luoi_index *ix = atomic_load(&ctx->index);
	struct luoi_record_entry e = {
		.type = type,
		.text = name,
		.text_len = name_len,
	};
	struct luoi_record_seg *retired;

	luoi_mutex_lock(&ix->lock);
	luoi_record_commit(&ix->writer, res, &e);
	retired = luoi_record_take_retired(&ix->writer);
	luoi_mutex_unlock(&ix->lock);
	luoi_record_retire(retired);
}

void luoi_index_abort(luo_ctx_t *ctx, struct luoi_record_res *res)
{
	struct luoi_index *ix = atomic_load(&ctx->index);
	struct luoi_record_seg *retired;

	luoi_mutex_lock(&ix->lock);
	luoi_record_abort(&ix->writer, res);
	retired = luoi_record_take_retired(&ix->writer);
	luoi_mutex_unlock(&ix->lock);
	luoi_record_retire(retired);
}

/* ---- after the live update --------------------------------------------- */

struct name_list {
	char **names;
	size_t n, cap;
};

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

static ssize_t name_find(const struct name_list *l, const char *name,
			 size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->names[i]) == len &&
		    memcmp(l->names[i], name, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* One entry of an index record: a created session is listed once, a
 * closed one is not. */
static int apply_entry(const struct luoi_record_entry *e, void *data)
{
	struct name_list *l = data;
	ssize_t at = name_find(l, e->text, e->text_len);

	if (e->type == LUOI_RECORD_NAME_GONE) {
		if (at >= 0) {
			free(l->names[at]);
			memmove(&l->names[at], &l->names[at + 1],
				(l->n - (size_t)at - 1) * sizeof(*l->names));
			l->n--;
		}
		return 0;
	}
	if (e->type != LUOI_RECORD_NAME || at >= 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **grown = realloc(l->names, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		l->names = grown;
		l->cap = cap;
	}
	l->names[l->n] = strndup(e->text, e->text_len);
	if (!l->names[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

/*
 * Retrieve the index sessions of every slot not taken yet.  Without the
 * lock (the state is BUSY: this thread alone touches ix->in).  What was
 * retrieved is kept in ix->in whatever happens next: dropping a session
 * would finish it for this boot.  0, or a passing error (the next call
 * goes on from here).  *taken: a slot was retrieved by another context.
 */
static int index_retrieve(luo_ctx_t *ctx, struct luoi_index *ix, bool *taken)
{
	char name[LUO_K_NAME_LEN];

	*taken = false;
	for (unsigned int slot = 0; slot < LUOI_INDEX_SLOTS; slot++) {
		struct luo_session *s;
		int r;

		if (ix->in[slot] || ix->absent[slot])
			continue;
		slot_name(name, sizeof(name), slot);
		r = luoi_session_open(ctx, name, LUO_SESSION_INCOMING, &s);
		if (r == -ENOENT) {
			ix->absent[slot] = true; /* for this boot */
			continue;
		}
		if (r == -EINVAL) {
			*taken = true; /* another context retrieved it */
			continue;
		}
		if (r < 0)
			return r;
		s->internal = true;
		ix->in[slot] = s;
		ix->n_in++;
	}
	return 0;
}

/* The names the held index sessions list, in slot order. */
static int index_read(luo_ctx_t *ctx, struct luoi_index *ix,
		      struct name_list *names)
{
	for (unsigned int slot = 0; slot < LUOI_INDEX_SLOTS; slot++) {
		int r;

		if (!ix->in[slot])
			continue;
		r = luoi_record_load(ctx->backend, ix->in[slot]->fd,
				     LUOI_RECORD_INDEX, apply_entry, names);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Take and read the previous boot's index, with ix->lock held on entry
 * and on return (dropped meanwhile; the state is BUSY). */
static int index_load(luo_ctx_t *ctx, struct luoi_index *ix)
{
	struct name_list names = { 0 };
	bool taken = false;
	int dev, r;

	dev = luoi_ctx_device_get(ctx);
	if (dev < 0)
		return dev;
	ix->in_state = LUOI_INDEX_BUSY;
	luoi_mutex_unlock(&ix->lock);
	r = index_retrieve(ctx, ix, &taken);
	luoi_ctx_device_put(ctx);
	if (r == 0 && taken && ix->n_in == 0)
		r = -EBUSY;
	if (r == 0)
		r = index_read(ctx, ix, &names);
	luoi_mutex_lock(&ix->lock);
	pthread_cond_broadcast(&ix->changed);
	if (r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT) {
		/* for good: what the index says, or that it is damaged */
		ix->in_state = LUOI_INDEX_READY;
		ix->in_error = r;
		if (r == 0) {
			ix->names = names.names;
			ix->n_names = names.n;
			names = (struct name_list){ 0 };
		}
	} else {
		/* passing (or another context holds it): a later call goes
		 * on from what was retrieved */
		ix->in_state = LUOI_INDEX_NONE;
	}
	name_list_free(&names);
	/* logged with no lock held and the state settled: the callback may
	 * call libluo, this very function too */
	luoi_mutex_unlock(&ix->lock);
	if (r == -EBUSY)
		luoi_dbg(ctx, "luo_ctx_foreach_incoming_session",
			 "the session index of this boot is held by another "
			 "context");
	else if (r < 0)
		luoi_err(ctx, "luo_ctx_foreach_incoming_session",
			 "the session index of the previous boot %s: %s",
			 r == -EBADMSG || r == -EPROTONOSUPPORT ?
				 "is unusable" : "cannot be read now",
			 strerror(-r));
	luoi_mutex_lock(&ix->lock);
	return r == -EBADMSG || r == -EPROTONOSUPPORT ? 0 : r;
}

LUOI_EXPORT int luo_ctx_foreach_incoming_session(luo_ctx_t *ctx,
						 int (*fn)(const char *name,
							   void *userdata),
						 void *userdata)
{
	struct luoi_index *ix;
	struct name_list snap = { 0 };
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	if (ctx->abi != LUO_ABI_MAINLINE)
		return -EOPNOTSUPP;
	ix = index_get(ctx);
	if (!ix)
		return -ENOMEM;
	luoi_mutex_lock(&ix->lock);
	while (ix->in_state == LUOI_INDEX_BUSY)
		pthread_cond_wait(&ix->changed, &ix->lock);
	if (ix->in_state == LUOI_INDEX_NONE) {
		r = index_load(ctx, ix);
		if (r < 0) {
			luoi_mutex_unlock(&ix->lock);
			return r;
		}
	}
	r = ix->in_error;
	if (r == 0 && ix->n_names) {
		snap.names = calloc(ix->n_names, sizeof(*snap.names));
		if (!snap.names)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < ix->n_names; i++) {
			snap.names[i] = strdup(ix->names[i]);
			if (!snap.names[i])
				r = -ENOMEM;
			snap.n = i + 1;
		}
	}
	luoi_mutex_unlock(&ix->lock);
	for (size_t i = 0; r == 0 && i < snap.n; i++)
		r = fn(snap.names[i], userdata);
	name_list_free(&snap);
	return r;
}
