/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libluo keeps in the kernel for itself, next to what the user
 * preserved (include/libluo.h, "What came back"), told apart by name and
 * token, for the suites that count the fake kernel's files and sessions:
 *
 *  - the record of each session it preserved into: memfds at the tokens
 *    LUO_TOKEN_RESERVED_MIN and up (one writer per handle, a segment each
 *    at least), made on the first preserve of a handle, even one that the
 *    kernel then refuses;
 *  - the index of a context that created sessions: a session
 *    "libluo.index.K" (K = 0..63) of its own, made on its first
 *    luo_session_create(), holding its own record.
 *
 * The original API's own sessions ("libluo.tok.<token>", whose file sits
 * at the user's token, any 64-bit value; "libluo.manifest") are not in
 * this count: the tests of the original API say where they expect them.
 *
 * Header only, without the harness, so that every suite may use it.
 */
#ifndef LIBLUO_TESTS_LIBLUO_OWN_H
#define LIBLUO_TESTS_LIBLUO_OWN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libluo.h>
#include <libluo-fake.h>

#define TB_INDEX_PREFIX "libluo.index."
/* lib/session-index.h: LUOI_INDEX_SLOTS */
#define TB_INDEX_SLOTS 64

/* Whether session @name is a context's index (NULL: the RFC list, no). */
static inline bool tb_session_is_index(const char *name)
{
	return name && !strncmp(name, TB_INDEX_PREFIX,
				sizeof(TB_INDEX_PREFIX) - 1);
}

/* The slot of index session @name, or -1 when it is none. */
static inline int tb_index_slot(const char *name)
{
	unsigned long slot;
	char *end;

	if (!tb_session_is_index(name))
		return -1;
	name += sizeof(TB_INDEX_PREFIX) - 1;
	if (*name < '0' || *name > '9')
		return -1;
	slot = strtoul(name, &end, 10);
	return *end || slot >= TB_INDEX_SLOTS ? -1 : (int)slot;
}

/* Whether @token is reserved for libluo's record in a session. */
static inline bool tb_token_is_libluos(uint64_t token)
{
	return token >= LUO_TOKEN_RESERVED_MIN;
}

/* Whether the file at @token of session @session (NULL: the RFC list) is
 * libluo's own: a record segment, or a file of an index session. */
static inline bool tb_file_is_libluos(const char *session, uint64_t token)
{
	if (!session)
		return false; /* the RFC list: the user's tokens */
	if (tb_session_is_index(session))
		return true;
	if (!strncmp(session, LUO_RESERVED_PREFIX,
		     sizeof(LUO_RESERVED_PREFIX) - 1))
		return false; /* the original API's */
	return tb_token_is_libluos(token);
}

/* What a fake kernel holds, the user's and libluo's apart. */
struct tb_own_counts {
	int user_files;   /* luo_fake_file_count() without libluo's own */
	int libluo_files; /* record segments, index sessions' files */
	int index_out;    /* outgoing index sessions (with a file) */
	int index_in;     /* incoming index sessions (with a file) */
	bool seen_[2][TB_INDEX_SLOTS];
};

static inline int tb_own_count_cb_(const char *session,
				   enum luo_session_direction dir,
				   uint64_t token, void *data)
{
	struct tb_own_counts *c = (struct tb_own_counts *)data;
	int slot = tb_index_slot(session);
	bool in = dir == LUO_SESSION_INCOMING;

	if (!tb_file_is_libluos(session, token)) {
		c->user_files++;
		return 0;
	}
	c->libluo_files++;
	if (slot >= 0 && !c->seen_[in][slot]) {
		c->seen_[in][slot] = true;
		if (in)
			c->index_in++;
		else
			c->index_out++;
	}
	return 0;
}

/* Count what @fake holds into @c: 0 or the error of
 * luo_fake_foreach_file().  Asserts nothing: any thread may call it. */
static inline int tb_own_count(luo_fake_t *fake, struct tb_own_counts *c)
{
	memset(c, 0, sizeof(*c));
	return luo_fake_foreach_file(fake, tb_own_count_cb_, c);
}

#endif /* LIBLUO_TESTS_LIBLUO_OWN_H */
