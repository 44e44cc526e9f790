/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The index: the names of the sessions a context creates, recorded in a
 * session of its own, "libluo.index.K" (K the lowest free slot of
 * LUOI_INDEX_SLOTS), so that after the live update
 * luo_ctx_foreach_incoming_session() can list them.  Its record is a
 * record of kind LUOI_RECORD_INDEX (doc/record.md): an entry when a
 * session is created, another when it is closed for good.
 *
 * Outgoing: made on the first luo_session_create() of the context, kept
 * until the context is freed.  Incoming: every slot is retrieved by the
 * first luo_ctx_foreach_incoming_session() of the context, and kept (so
 * that no other context takes them) until the context is freed.
 *
 * ix->lock covers the rest of the struct; it is never held across a
 * kernel request (the states OPENING and LOADING say that one thread
 * does that work while the others wait on ix->changed).
 */
#ifndef LUOI_SESSION_INDEX_H
#define LUOI_SESSION_INDEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "record.h"

#define LUOI_INDEX_PREFIX "libluo.index."
#define LUOI_INDEX_SLOTS 64

struct luo_session;
struct luo_ctx;

enum luoi_index_state {
	LUOI_INDEX_NONE,
	LUOI_INDEX_BUSY,  /* a thread opens or loads it, lock dropped */
	LUOI_INDEX_READY,
};

struct luoi_index {
	pthread_mutex_t lock;
	pthread_cond_t changed;

	enum luoi_index_state out_state;
	struct luo_session *out; /* internal handle */
	struct luoi_record_writer writer;

	enum luoi_index_state in_state;
	struct luo_session *in[LUOI_INDEX_SLOTS]; /* by slot; NULL: none */
	bool absent[LUOI_INDEX_SLOTS];           /* ENOENT: none this boot */
	unsigned int n_in;
	char **names; /* the previous boot's sessions, in order */
	size_t n_names;
	int in_error; /* once READY: 0, or the index is damaged for good */
};

#endif /* LUOI_SESSION_INDEX_H */
