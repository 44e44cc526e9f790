/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record's format (doc/record.md), its writer and its reader; the
 * design is in record.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "kernel-req.h"
#include "libluo.h"
#include "macro.h"
#include "record.h"

/* ---- little-endian fields ---------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ---- entries and headers ----------------------------------------------- */

/* Where an entry's text starts: after the token for TOKEN entries. */
static size_t text_offset(unsigned int type)
{
	return type == LUOI_RECORD_TOKEN ? 18 : 10;
}

size_t luoi_record_entry_size(unsigned int type, size_t text_len)
{
	return round8(text_offset(type) + text_len);
}

void luoi_record_entry_encode(uint8_t *buf, const struct luoi_record_entry *e)
{
	size_t size = luoi_record_entry_size(e->type, e->text_len);
	size_t off = text_offset(e->type);

	memset(buf, 0, size);
	put16(buf, (uint16_t)e->type);
	put32(buf + 4, (uint32_t)size);
	if (e->type == LUOI_RECORD_TOKEN)
		put64(buf + 8, e->token);
	put16(buf + off - 2, (uint16_t)e->text_len);
	if (e->text_len) /* an entry without text may have no pointer */
		memcpy(buf + off, e->text, e->text_len);
}

void luoi_record_header_encode(uint8_t *buf, enum luoi_record_kind kind,
			       unsigned int segment, uint64_t size,
			       uint64_t used, uint64_t writer)
{
	memset(buf, 0, LUOI_RECORD_HEADER_SIZE);
	memcpy(buf, LUOI_RECORD_MAGIC, 8);
	put32(buf + LUOI_RECORD_OFF_VERSION, LUOI_RECORD_VERSION);
	put32(buf + LUOI_RECORD_OFF_HEADER_SIZE, LUOI_RECORD_HEADER_SIZE);
	put32(buf + LUOI_RECORD_OFF_KIND, kind);
	put32(buf + LUOI_RECORD_OFF_SEGMENT, segment);
	put64(buf + LUOI_RECORD_OFF_SIZE, size);
	put64(buf + LUOI_RECORD_OFF_USED, used);
	put64(buf + LUOI_RECORD_OFF_WRITER, writer);
}

/* One entry at @p (@avail bytes left): its size, or a negative errno. */
static int entry_decode(const uint8_t *p, size_t avail,
			struct luoi_record_entry *e)
{
	size_t size, off, len;

	if (avail < LUOI_RECORD_ENTRY_HEADER)
		return -EBADMSG;
	e->type = get16(p);
	size = get32(p + 4);
	if (size < LUOI_RECORD_ENTRY_HEADER || size % 8 || size > avail)
		return -EBADMSG;
	switch (e->type) {
	case LUOI_RECORD_TOKEN:
	case LUOI_RECORD_NAME:
	case LUOI_RECORD_NAME_GONE:
		off = text_offset(e->type);
		if (size < off)
			return -EBADMSG;
		len = get16(p + off - 2);
		if (len > LUOI_RECORD_TEXT_MAX || off + len > size)
			return -EBADMSG;
		if (e->type != LUOI_RECORD_TOKEN &&
		    (len == 0 || len > LUO_SESSION_NAME_MAX))
			return -EBADMSG;
		e->token = e->type == LUOI_RECORD_TOKEN ? get64(p + 8) : 0;
		e->text = (const char *)p + off;
		e->text_len = len;
		/* a NUL would cut the text short for C callers */
		if (memchr(e->text, '\0', len))
			return -EBADMSG;
		break;
	default:
		if (e->type & LUOI_RECORD_MUST_UNDERSTAND)
			return -EPROTONOSUPPORT;
		e->type = 0; /* skipped */
		break;
	}
	return (int)size;
}

int luoi_record_parse(const uint8_t *buf, size_t len, enum luoi_record_kind kind,
		      unsigned int *segment,
		      int (*fn)(const struct luoi_record_entry *e, void *data),
		      void *data)
{
	struct luoi_record_entry e;
	uint64_t hsize, size, used, off;
	int pass, r;

	if (len < LUOI_RECORD_HEADER_SIZE || memcmp(buf, LUOI_RECORD_MAGIC, 8))
		return -EBADMSG;
	if (get32(buf + LUOI_RECORD_OFF_VERSION) == 0)
		return -EBADMSG;
	if (get32(buf + LUOI_RECORD_OFF_VERSION) > LUOI_RECORD_VERSION ||
	    get32(buf + LUOI_RECORD_OFF_INCOMPAT) & ~LUOI_RECORD_INCOMPAT_KNOWN)
		return -EPROTONOSUPPORT;
	hsize = get32(buf + LUOI_RECORD_OFF_HEADER_SIZE);
	size = get64(buf + LUOI_RECORD_OFF_SIZE);
	used = get64(buf + LUOI_RECORD_OFF_USED);
	if (hsize < LUOI_RECORD_HEADER_SIZE || hsize % 8 || size > len ||
	    hsize > size || used > size - hsize ||
	    get32(buf + LUOI_RECORD_OFF_KIND) != (uint32_t)kind)
		return -EBADMSG;
	/* pass 0 checks everything; pass 1 hands the entries out */
	for (pass = 0; pass < 2; pass++) {
		for (off = 0; off < used; off += (uint64_t)r) {
			r = entry_decode(buf + hsize + off, used - off, &e);
			if (r < 0)
				return r;
			if (pass == 1 && e.type) {
				int q = fn(&e, data);

				if (q < 0)
					return q;
			}
		}
	}
	if (segment)
		*segment = get32(buf + LUOI_RECORD_OFF_SEGMENT);
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

void luoi_record_writer_init(struct luoi_record_writer *w,
			     enum luoi_record_kind kind,
			     struct luo_backend *backend, int session_fd)
{
	uint64_t id = 0;

	w->kind = kind;
	w->backend = backend;
	w->session_fd = session_fd;
	/* tells the writers of one session apart in a dump; not a secret */
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)w;
	w->id = id;
	w->cur = NULL;
	w->old = NULL;
	w->next_segment = 0;
	w->growing = false;
	w->grown = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
}

/* A retired segment will not change again: unmap it.  (It was sealed
 * against every write but ours when it was made.) */
static void seg_retire(struct luoi_record_seg *seg)
{
	munmap(seg->map, seg->size);
	free(seg);
}

void luoi_record_retire(struct luoi_record_seg *list)
{
	while (list) {
		struct luoi_record_seg *next = list->next;

		seg_retire(list);
		list = next;
	}
}

void luoi_record_writer_fini(struct luoi_record_writer *w)
{
	luoi_record_retire(w->old);
	w->old = NULL;
	if (w->cur)
		seg_retire(w->cur);
	w->cur = NULL;
	pthread_cond_destroy(&w->grown);
}

/*
 * Make a segment of @size bytes and preserve it at the lowest free
 * reserved token from @first on (EEXIST: another writer of the session
 * has that one).  Without any lock.  0 with the segment and its number,
 * or a negative errno with nothing left behind.
 */
static int seg_make(struct luoi_record_writer *w, size_t size,
		    unsigned int first, struct luoi_record_seg **ret,
		    unsigned int *segment, bool *exhausted)
{
	_cleanup_free_ struct luoi_record_seg *seg = calloc(1, sizeof(*seg));
	_cleanup_close_ int fd = -1;
	unsigned int k;
	uint8_t *map;
	int r;

	if (!seg)
		return -ENOMEM;
	fd = memfd_create("libluo-record", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	/* every page now (MAP_POPULATE allocates them), so that appending
	 * never faults in memory */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		   fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* Sealed before it is preserved (the kernel carries the seals over):
	 * its size is fixed for good, and nobody may write it through a new
	 * mapping or write() -- in this boot or the next; our mapping, made
	 * before, is the one way in.  The descriptor is not needed after
	 * that: a segment costs no descriptor. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
				       F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		r = -errno;
		munmap(map, size);
		return r;
	}
	*exhausted = false;
	for (k = first, r = -ENOSPC; k < LUOI_RECORD_SEGMENTS; k++) {
		luoi_record_header_encode(map, w->kind, k, size, 0, w->id);
		r = luoi_req_preserve_fd(w->backend, w->session_fd, fd,
					 LUO_TOKEN_RESERVED_MIN + k);
		if (r != -EEXIST)
			break;
		r = -ENOSPC;
	}
	/* every reserved token taken: for good (the kernel's own ENOSPC,
	 * a full session, may pass) */
	if (k == LUOI_RECORD_SEGMENTS)
		*exhausted = true;
	if (r < 0) {
		munmap(map, size);
		return r;
	}
	seg->map = map;
	seg->size = size;
	*segment = k;
	*ret = TAKE_PTR(seg);
	return 0;
}

static bool seg_fits(const struct luoi_record_seg *seg, size_t len)
{
	return seg &&
	       seg->used + seg->reserved + len <=
		       seg->size - LUOI_RECORD_HEADER_SIZE;
}

int luoi_record_reserve(struct luoi_record_writer *w, pthread_mutex_t *lock,
			size_t len, struct luoi_record_res *res)
{
	for (;;) {
		struct luoi_record_seg *seg = w->cur, *made = NULL;
		unsigned int k = 0, first;
		bool exhausted = false;
		size_t size;
		int r;

		if (seg_fits(seg, len)) {
			seg->reserved += len;
			res->seg = seg;
			res->len = len;
			return 0;
		}
		if (w->growing) {
			pthread_cond_wait(&w->grown, lock);
			continue;
		}
		if (w->next_segment >= LUOI_RECORD_SEGMENTS)
			return -ENOSPC;
		size = seg ? seg->size * 2 : LUOI_RECORD_FIRST_SIZE;
		if (size > LUOI_RECORD_MAX_SEGMENT_SIZE)
			size = LUOI_RECORD_MAX_SEGMENT_SIZE;
		first = w->next_segment;
		w->growing = true;
		luoi_mutex_unlock(lock);
		r = seg_make(w, size, first, &made, &k, &exhausted);
		luoi_mutex_lock(lock);
		w->growing = false;
		pthread_cond_broadcast(&w->grown);
		if (r < 0) {
			if (exhausted)
				w->next_segment = LUOI_RECORD_SEGMENTS;
			return r;
		}
		w->next_segment = k + 1;
		if (w->cur) {
			w->cur->next = w->old;
			w->old = w->cur;
		}
		w->cur = made;
	}
}

void luoi_record_commit(struct luoi_record_writer *w,
			struct luoi_record_res *res,
			const struct luoi_record_entry *e)
{
	struct luoi_record_seg *seg = res->seg;
	uint8_t *at = seg->map + LUOI_RECORD_HEADER_SIZE + seg->used;
	uint64_t used;

	(void)w;
	luoi_record_entry_encode(at, e);
	seg->used += res->len;
	seg->reserved -= res->len;
	/* The commit point: one aligned 8-byte store, after the entry's
	 * bytes (release), so a kexec sees the entry whole or not at all. */
	put64((uint8_t *)&used, seg->used);
	__atomic_store_n((uint64_t *)(void *)(seg->map + LUOI_RECORD_OFF_USED),
			 used, __ATOMIC_RELEASE);
}

void luoi_record_abort(struct luoi_record_writer *w,
		       struct luoi_record_res *res)
{
	(void)w;
	res->seg->reserved -= res->len;
}

struct luoi_record_seg *luoi_record_take_retired(struct luoi_record_writer *w)
{
	struct luoi_record_seg **p = &w->old, *done = NULL;

	while (*p) {
		struct luoi_record_seg *seg = *p;

		if (seg->reserved == 0) {
			*p = seg->next;
			seg->next = done;
			done = seg;
		} else {
			p = &seg->next;
		}
	}
	return done;
}

/* ---- reading ----------------------------------------------------------- */

/* The whole of @fd into a malloc()ed buffer. */
static int read_all(int fd, uint8_t **ret, size_t *len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* larger than any segment a writer makes: damage */
	if (st.st_size < LUOI_RECORD_HEADER_SIZE ||
	    (uint64_t)st.st_size > LUOI_RECORD_READ_MAX)
		return -EBADMSG;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	r = luoi_pread_all(fd, buf, (size_t)st.st_size, 0);
	if (r < 0)
		return r;
	*len = (size_t)st.st_size;
	*ret = TAKE_PTR(buf);
	return 0;
}

int luoi_record_read_fd(int fd, enum luoi_record_kind kind,
			int (*fn)(const struct luoi_record_entry *e, void *data),
			void *data)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r = read_all(fd, &buf, &len);

	if (r < 0)
		return r;
	return luoi_record_parse(buf, len, kind, NULL, fn, data);
}

struct seg_buf {
	uint8_t *buf;
	size_t len;
};

static void seg_bufs_free(struct seg_buf *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(v[i].buf);
	free(v);
}

static int count_entry(const struct luoi_record_entry *e, void *data)
{
	(void)e;
	(void)data;
	return 0;
}

int luoi_record_load(struct luo_backend *b, int session_fd,
		     enum luoi_record_kind kind,
		     int (*fn)(const struct luoi_record_entry *e, void *data),
		     void *data)
{
	struct seg_buf *segs = NULL;
	unsigned int n = 0, k, seen;
	int r = 0;

	/* every segment read and checked before any entry is handed out */
	for (k = 0; k < LUOI_RECORD_SEGMENTS; k++) {
		_cleanup_close_ int fd = -1;
		struct seg_buf *grown;

		r = luoi_req_retrieve_fd(b, session_fd,
					 LUO_TOKEN_RESERVED_MIN + k, &fd);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0)
			goto out;
		grown = realloc(segs, (n + 1) * sizeof(*segs));
		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		segs = grown;
		r = read_all(fd, &segs[n].buf, &segs[n].len);
		if (r < 0)
			goto out;
		n++;
		r = luoi_record_parse(segs[n - 1].buf, segs[n - 1].len, kind,
				      &seen, count_entry, NULL);
		if (r < 0)
			goto out;
		if (seen != k) {
			r = -EBADMSG; /* a segment under another's token */
			goto out;
		}
	}
	for (k = 0; k < n; k++) {
		r = luoi_record_parse(segs[k].buf, segs[k].len, kind, NULL, fn,
				      data);
		if (r < 0)
			goto out;
	}
	r = (int)n;
out:
	seg_bufs_free(segs, n);
	return r;
}

int luoi_record_write_memfd(enum luoi_record_kind kind,
			    const struct luoi_record_entry *entries, size_t n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t used = 0, size, i;
	int r;

	for (i = 0; i < n; i++)
		used += luoi_record_entry_size(entries[i].type,
					       entries[i].text_len);
	size = LUOI_RECORD_HEADER_SIZE + used;
	if (size > LUOI_RECORD_READ_MAX)
		return -E2BIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	luoi_record_header_encode(buf, kind, 0, size, used, 0);
	for (i = 0, used = LUOI_RECORD_HEADER_SIZE; i < n; i++) {
		luoi_record_entry_encode(buf + used, &entries[i]);
		used += luoi_record_entry_size(entries[i].type,
					       entries[i].text_len);
	}
	fd = memfd_create("libluo-manifest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	r = luoi_write_all(fd, buf, size);
	if (r < 0)
		return r;
	/* it never changes again: every seal */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
				       F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(fd);
}
