/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record: what libluo preserved in a session, kept inside the session
 * itself so that it survives exactly what the data survives.  The format
 * is specified in doc/record.md (tests/unit/record.c pins its bytes).
 *
 * A record is a chain of *segments*, memfds preserved under the reserved
 * tokens LUO_TOKEN_RESERVED_MIN + k.  A preserved memfd cannot change
 * size, so a segment is made at its final size and the record grows by
 * adding segments, each twice as large as the one before (amortized O(1)
 * per entry).  Each writer (a session handle, a context's index) takes
 * the lowest free k, so the segments of a session are always 0..n-1,
 * whoever wrote them.
 *
 * Entries are appended behind a commit point, a 64-bit byte count in the
 * segment's header that is stored with one aligned atomic store after the
 * entry's bytes: a kexec at any instant leaves either the count before an
 * entry or after it, never a torn entry.
 *
 * Room is reserved before the kernel is asked to do what the entry
 * records, so that once the kernel said yes the entry can always be
 * written: a failure to grow the record fails the operation before it
 * changed anything.
 *
 * Locking: the writer is protected by its owner's lock (a session's,
 * the index's), which luoi_record_reserve() may drop while it makes a
 * segment (memfd_create(), a kernel request): never held across them.
 */
#ifndef LUOI_RECORD_H
#define LUOI_RECORD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define LUOI_RECORD_MAGIC "LIBLUOR1"
#define LUOI_RECORD_VERSION 1
#define LUOI_RECORD_HEADER_SIZE 64
/* incompat_flags this libluo understands (none yet) */
#define LUOI_RECORD_INCOMPAT_KNOWN 0u
/* segments k = 0..LUOI_RECORD_SEGMENTS-1 live at LUO_TOKEN_RESERVED_MIN + k */
#define LUOI_RECORD_SEGMENTS 256
#define LUOI_RECORD_FIRST_SIZE 4096u
#define LUOI_RECORD_MAX_SEGMENT_SIZE (64u << 20)
/* the largest segment a reader takes (a manifest is one segment) */
#define LUOI_RECORD_READ_MAX (1u << 30)

/* Header offsets (doc/record.md) */
#define LUOI_RECORD_OFF_VERSION 8
#define LUOI_RECORD_OFF_HEADER_SIZE 12
#define LUOI_RECORD_OFF_INCOMPAT 16
#define LUOI_RECORD_OFF_COMPAT 20
#define LUOI_RECORD_OFF_KIND 24
#define LUOI_RECORD_OFF_SEGMENT 28
#define LUOI_RECORD_OFF_SIZE 32
#define LUOI_RECORD_OFF_USED 40
#define LUOI_RECORD_OFF_WRITER 48

enum luoi_record_kind {
	LUOI_RECORD_SESSION = 1,  /* the tokens of a session */
	LUOI_RECORD_INDEX = 2,    /* the sessions a context created */
	LUOI_RECORD_MANIFEST = 3, /* the original API's tokens */
};

/* Entry types; types with LUOI_RECORD_MUST_UNDERSTAND set may not be
 * skipped by a reader that does not know them. */
#define LUOI_RECORD_MUST_UNDERSTAND 0x8000u
enum luoi_record_type {
	LUOI_RECORD_TOKEN = 1,        /* token, label (may be empty) */
	LUOI_RECORD_NAME = 2,         /* a session that was created */
	LUOI_RECORD_NAME_GONE = 3,    /* ... and was closed */
};

#define LUOI_RECORD_ENTRY_HEADER 8
#define LUOI_RECORD_TEXT_MAX 255

/* One decoded entry; @text points into the buffer that was parsed and is
 * not NUL-terminated. */
struct luoi_record_entry {
	unsigned int type;
	uint64_t token;   /* LUOI_RECORD_TOKEN */
	const char *text; /* label or session name */
	size_t text_len;
};

/* The bytes an entry of @type with @text_len bytes of text takes. */
size_t luoi_record_entry_size(unsigned int type, size_t text_len);

/* Encode an entry into @buf (luoi_record_entry_size() bytes). */
void luoi_record_entry_encode(uint8_t *buf, const struct luoi_record_entry *e);

/* Write a segment header into @buf (LUOI_RECORD_HEADER_SIZE bytes). */
void luoi_record_header_encode(uint8_t *buf, enum luoi_record_kind kind,
			       unsigned int segment, uint64_t size,
			       uint64_t used, uint64_t writer);

/*
 * Parse one segment of @len bytes, @kind expected: its entries are passed
 * to @fn (which returns 0 or a negative errno to stop).  Everything is
 * checked before @fn is first called.  0; -EBADMSG (damaged, or not a
 * record of @kind); -EPROTONOSUPPORT (a newer format: a higher version, an
 * incompat flag or a must-understand entry type this libluo does not
 * know); -ENOMEM; or what @fn returned.  *segment gets the header's
 * segment number when not NULL.
 */
int luoi_record_parse(const uint8_t *buf, size_t len, enum luoi_record_kind kind,
		      unsigned int *segment,
		      int (*fn)(const struct luoi_record_entry *e, void *data),
		      void *data);

/* ---- writing ----------------------------------------------------------- */

struct luoi_record_seg {
	struct luoi_record_seg *next; /* older segments with reservations */
	uint8_t *map;                 /* MAP_SHARED, the whole segment */
	size_t size;
	size_t used;     /* committed entry bytes */
	size_t reserved; /* reserved entry bytes, not yet committed */
};

struct luoi_record_writer {
	enum luoi_record_kind kind;
	struct luo_backend *backend; /* not referenced: the owner's */
	int session_fd;
	uint64_t id;                 /* random: tells writers apart */
	struct luoi_record_seg *cur; /* NULL until the first entry */
	struct luoi_record_seg *old; /* retired, reservations outstanding */
	unsigned int next_segment;   /* the lowest k that may be free */
	bool growing;                /* a thread is making a segment */
	pthread_cond_t grown;
};

/* A reservation: where an entry's bytes will go. */
struct luoi_record_res {
	struct luoi_record_seg *seg;
	size_t len;
};

void luoi_record_writer_init(struct luoi_record_writer *w,
			     enum luoi_record_kind kind,
			     struct luo_backend *backend, int session_fd);

/* Unmap what the writer holds (the record stays in the kernel for as
 * long as the session does).  Never fails. */
void luoi_record_writer_fini(struct luoi_record_writer *w);

/*
 * With @lock held: reserve room for an entry of @len bytes.  May drop
 * @lock and take it again, to make a segment or to wait for another
 * thread making one.  0; -ENOSPC (every reserved token is used); or the
 * errors of making a segment (-ENOMEM, -EMFILE, the kernel's errors of
 * SESSION_PRESERVE_FD).
 */
int luoi_record_reserve(struct luoi_record_writer *w, pthread_mutex_t *lock,
			size_t len, struct luoi_record_res *res);

/* With the lock held: write the entry (exactly res->len bytes) and move
 * the commit point past it.  Never fails. */
void luoi_record_commit(struct luoi_record_writer *w,
			struct luoi_record_res *res,
			const struct luoi_record_entry *e);

/* With the lock held: give a reservation back. */
void luoi_record_abort(struct luoi_record_writer *w,
		       struct luoi_record_res *res);

/* Segments that a commit or abort retired: unmap them after the lock is
 * dropped (they are taken off the writer). */
struct luoi_record_seg *luoi_record_take_retired(struct luoi_record_writer *w);
void luoi_record_retire(struct luoi_record_seg *list);

/* ---- reading ----------------------------------------------------------- */

/*
 * Read the record of the incoming session @session_fd: every segment, in
 * order, checked whole before @fn sees any entry.  The number of segments
 * (0: the session has no record), or a negative errno: -EBADMSG,
 * -EPROTONOSUPPORT, -ENOMEM, -EMFILE, the kernel's errors of
 * SESSION_RETRIEVE_FD, or what @fn returned.
 */
int luoi_record_load(struct luo_backend *b, int session_fd,
		     enum luoi_record_kind kind,
		     int (*fn)(const struct luoi_record_entry *e, void *data),
		     void *data);

/* A sealed memfd holding one segment with @n entries: for records that
 * never change (the original API's manifest).  The fd or a negative
 * errno. */
int luoi_record_write_memfd(enum luoi_record_kind kind,
			    const struct luoi_record_entry *entries, size_t n);

/* Read a segment from @fd (from offset 0) and parse it as
 * luoi_record_parse() does. */
int luoi_record_read_fd(int fd, enum luoi_record_kind kind,
			int (*fn)(const struct luoi_record_entry *e, void *data),
			void *data);

#endif /* LUOI_RECORD_H */
