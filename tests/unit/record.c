/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record format (doc/record.md): the bytes this libluo writes, what a
 * reader accepts from a newer writer and what it refuses, and the commit
 * point: a copy of a segment taken at any instant while another thread
 * appends (what a kexec preserves) parses to a whole prefix of the
 * entries.  A change that fails the golden tests changes a format that
 * crosses a kexec: write a new version instead (doc/record.md, the rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "libluo.h"
#include "record.h"

#define LE16(v) (v) & 0xff, ((v) >> 8) & 0xff
#define LE32(v) LE16(v), ((v) >> 16) & 0xff, ((v) >> 24) & 0xff
#define LE64(v) LE32((v) & 0xffffffffULL), LE32((v) >> 32)

#define WRITER 0x1122334455667788ULL

/* doc/record.md's example: "heap" at token 5, then token 6 unlabeled, in
 * a 4096-byte segment 0 (only the first 112 bytes shown; zeros after). */
static const uint8_t golden[] = {
	'L', 'I', 'B', 'L', 'U', 'O', 'R', '1',
	LE32(1),          /* version */
	LE32(64),         /* header_size */
	LE32(0),          /* incompat_flags */
	LE32(0),          /* compat_flags */
	LE32(1),          /* kind: a session's record */
	LE32(0),          /* segment */
	LE64(4096ULL),    /* size */
	LE64(48ULL),      /* used */
	LE64(WRITER),     /* writer */
	LE64(0ULL),       /* reserved */
	LE16(1), LE16(0), LE32(24), LE64(5ULL), LE16(4), 'h', 'e', 'a', 'p',
	0, 0,
	LE16(1), LE16(0), LE32(24), LE64(6ULL), LE16(0), 0, 0, 0, 0, 0, 0,
};

static void build_example(uint8_t *seg)
{
	struct luoi_record_entry heap = { .type = LUOI_RECORD_TOKEN,
					  .token = 5, .text = "heap",
					  .text_len = 4 };
	struct luoi_record_entry six = { .type = LUOI_RECORD_TOKEN,
					 .token = 6 };

	memset(seg, 0, 4096);
	luoi_record_header_encode(seg, LUOI_RECORD_SESSION, 0, 4096, 48,
				  WRITER);
	assert_eq(luoi_record_entry_size(LUOI_RECORD_TOKEN, 4), (size_t)24);
	luoi_record_entry_encode(seg + 64, &heap);
	luoi_record_entry_encode(seg + 88, &six);
}

TEST(record, writes_the_golden_bytes)
{
	static uint8_t seg[4096];

	build_example(seg);
	assert_int_eq(memcmp(seg, golden, sizeof(golden)), 0,
		      "the record's bytes changed: see doc/record.md");
	for (size_t i = sizeof(golden); i < sizeof(seg); i++)
		assert_eq(seg[i], 0);
}

struct seen {
	uint64_t tokens[64];
	char texts[64][256];
	unsigned int types[64];
	int n;
};

static int collect(const struct luoi_record_entry *e, void *data)
{
	struct seen *s = data;

	assert_lt(s->n, 64);
	s->types[s->n] = e->type;
	s->tokens[s->n] = e->token;
	memcpy(s->texts[s->n], e->text, e->text_len);
	s->texts[s->n][e->text_len] = '\0';
	s->n++;
	return 0;
}

TEST(record, reads_its_own_bytes)
{
	static uint8_t seg[4096];
	struct seen s = { 0 };
	unsigned int k = 99;

	build_example(seg);
	assert_int_eq(luoi_record_parse(seg, sizeof(seg), LUOI_RECORD_SESSION,
					&k, collect, &s),
		      0);
	assert_eq(k, 0u);
	assert_int_eq(s.n, 2);
	assert_eq(s.tokens[0], 5u);
	assert_str_eq(s.texts[0], "heap");
	assert_eq(s.tokens[1], 6u);
	assert_str_eq(s.texts[1], "");
	/* the wrong kind is damage */
	assert_int_eq(luoi_record_parse(seg, sizeof(seg), LUOI_RECORD_INDEX,
					NULL, collect, &s),
		      -EBADMSG);
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

/* A newer writer: an 80-byte header, a 32-byte TOKEN entry (a field after
 * the label), an unknown optional entry, a compat flag. */
TEST(record, reads_a_newer_compatible_writer)
{
	static uint8_t seg[4096];
	struct seen s = { 0 };
	uint8_t *e;

	memset(seg, 0, sizeof(seg));
	luoi_record_header_encode(seg, LUOI_RECORD_SESSION, 0, 4096, 48, 1);
	put32(seg + LUOI_RECORD_OFF_HEADER_SIZE, 80);
	put32(seg + LUOI_RECORD_OFF_COMPAT, 0x80000000u);
	e = seg + 80;
	put32(e, 1);       /* TOKEN, flags 0 */
	put32(e + 4, 32);
	put64(e + 8, 77);
	e[16] = 2;
	memcpy(e + 18, "ab", 2);
	memset(e + 24, 0xee, 8); /* a field this reader does not know */
	e += 32;
	put32(e, 0x0042);  /* an optional type */
	put32(e + 4, 16);
	assert_int_eq(luoi_record_parse(seg, sizeof(seg), LUOI_RECORD_SESSION,
					NULL, collect, &s),
		      0);
	assert_int_eq(s.n, 1);
	assert_eq(s.tokens[0], 77u);
	assert_str_eq(s.texts[0], "ab");
}

static int expect_parse(const uint8_t *seg, size_t len, int want)
{
	struct seen s = { 0 };
	int r = luoi_record_parse(seg, len, LUOI_RECORD_SESSION, NULL,
				  collect, &s);

	assert_int_eq(r, want);
	if (r < 0)
		assert_int_eq(s.n, 0); /* nothing handed out on refusal */
	return r;
}

static uint8_t *patched32(size_t off, uint32_t v)
{
	static uint8_t seg[4096];

	build_example(seg);
	put32(seg + off, v);
	return seg;
}

TEST(record, refuses_what_a_newer_libluo_must_read)
{
	uint8_t *seg;

	expect_parse(patched32(LUOI_RECORD_OFF_VERSION, 2), 4096,
		     -EPROTONOSUPPORT);
	expect_parse(patched32(LUOI_RECORD_OFF_INCOMPAT, 1), 4096,
		     -EPROTONOSUPPORT);
	/* a must-understand entry type */
	seg = patched32(64, 0x8005);
	expect_parse(seg, 4096, -EPROTONOSUPPORT);
}

TEST(record, refuses_damage)
{
	uint8_t *seg;

	expect_parse(golden, 63, -EBADMSG);                 /* short */
	expect_parse(patched32(0, 0x4c4c4c4c), 4096, -EBADMSG); /* magic */
	expect_parse(patched32(LUOI_RECORD_OFF_VERSION, 0), 4096, -EBADMSG);
	expect_parse(patched32(LUOI_RECORD_OFF_HEADER_SIZE, 32), 4096,
		     -EBADMSG);
	expect_parse(patched32(LUOI_RECORD_OFF_HEADER_SIZE, 65), 4096,
		     -EBADMSG);
	expect_parse(patched32(LUOI_RECORD_OFF_KIND, 3), 4096, -EBADMSG);
	/* size beyond the file; used beyond size */
	seg = patched32(LUOI_RECORD_OFF_SIZE, 8192);
	expect_parse(seg, 4096, -EBADMSG);
	seg = patched32(LUOI_RECORD_OFF_USED, 4096);
	expect_parse(seg, 4096, -EBADMSG);
	/* an entry size of 0, 12 (not a multiple of 8), past used */
	expect_parse(patched32(64 + 4, 0), 4096, -EBADMSG);
	expect_parse(patched32(64 + 4, 12), 4096, -EBADMSG);
	expect_parse(patched32(64 + 4, 56), 4096, -EBADMSG);
	/* a label longer than its entry */
	seg = patched32(64 + 16, 200);
	expect_parse(seg, 4096, -EBADMSG);
	/* a NUL in a label */
	seg = patched32(64 + 16, 4);
	seg[64 + 19] = '\0';
	expect_parse(seg, 4096, -EBADMSG);
	/* used cuts an entry in two: damage, not a shorter record */
	seg = patched32(LUOI_RECORD_OFF_USED, 40);
	expect_parse(seg, 4096, -EBADMSG);
}

TEST(record, index_entries)
{
	static uint8_t seg[4096];
	struct luoi_record_entry a = { .type = LUOI_RECORD_NAME,
				       .text = "vm.1", .text_len = 4 };
	struct luoi_record_entry gone = { .type = LUOI_RECORD_NAME_GONE,
					  .text = "vm.1", .text_len = 4 };
	struct seen s = { 0 };

	memset(seg, 0, sizeof(seg));
	assert_eq(luoi_record_entry_size(LUOI_RECORD_NAME, 4), (size_t)16);
	luoi_record_header_encode(seg, LUOI_RECORD_INDEX, 3, 4096, 32, 0);
	luoi_record_entry_encode(seg + 64, &a);
	luoi_record_entry_encode(seg + 80, &gone);
	assert_int_eq(luoi_record_parse(seg, sizeof(seg), LUOI_RECORD_INDEX,
					NULL, collect, &s),
		      0);
	assert_int_eq(s.n, 2);
	assert_eq(s.types[0], (unsigned int)LUOI_RECORD_NAME);
	assert_eq(s.types[1], (unsigned int)LUOI_RECORD_NAME_GONE);
	assert_str_eq(s.texts[1], "vm.1");
	/* an empty session name is damage */
	put32(seg + 80 + 8, 0);
	s.n = 0;
	assert_int_eq(luoi_record_parse(seg, sizeof(seg), LUOI_RECORD_INDEX,
					NULL, collect, &s),
		      -EBADMSG);
}

TEST(record, a_manifest_memfd_is_whole_and_sealed)
{
	struct luoi_record_entry e[300];
	struct seen s;
	int fd, seals;

	for (int i = 0; i < 300; i++)
		e[i] = (struct luoi_record_entry){ .type = LUOI_RECORD_TOKEN,
						   .token = (uint64_t)i * 3 };
	fd = luoi_record_write_memfd(LUOI_RECORD_MANIFEST, e, 300);
	assert_int_ge(fd, 0);
	seals = fcntl(fd, F_GET_SEALS);
	assert_eq(seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
			   F_SEAL_WRITE),
		  F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	assert_int_eq(lseek(fd, 0, SEEK_END), 64 + 300 * 24);
	memset(&s, 0, sizeof(s));
	/* 300 entries > what collect() keeps: count them another way */
	assert_int_eq(luoi_record_read_fd(fd, LUOI_RECORD_SESSION, collect, &s),
		      -EBADMSG); /* the wrong kind */
	close(fd);
}

/* ---- the commit point under a concurrent copy --------------------------- */

#define APPENDS 200000

struct race {
	pthread_mutex_t lock;
	struct luoi_record_writer w;
	atomic_bool done;
	atomic_bool go;
};

static void *append_all(void *data)
{
	struct race *r = data;
	char label[32];

	while (!atomic_load(&r->go))
		;
	for (int i = 0; i < APPENDS; i++) {
		struct luoi_record_res res;
		struct luoi_record_entry e = { .type = LUOI_RECORD_TOKEN,
					       .token = (uint64_t)i,
					       .text = label };

		e.text_len = (size_t)(i % 23); /* entries of varied sizes */
		memset(label, 'a' + i % 26, sizeof(label));
		pthread_mutex_lock(&r->lock);
		assert_int_eq(luoi_record_reserve(&r->w, &r->lock,
						  luoi_record_entry_size(
							  LUOI_RECORD_TOKEN,
							  e.text_len),
						  &res),
			      0);
		luoi_record_commit(&r->w, &res, &e);
		pthread_mutex_unlock(&r->lock);
	}
	atomic_store(&r->done, true);
	return NULL;
}

struct prefix {
	uint64_t next;
};

static int check_prefix(const struct luoi_record_entry *e, void *data)
{
	struct prefix *p = data;

	assert_eq(e->token, p->next, "entry out of order");
	assert_eq(e->text_len, (size_t)(e->token % 23));
	for (size_t i = 0; i < e->text_len; i++)
		assert_eq(e->text[i], (char)('a' + e->token % 26));
	p->next++;
	return 0;
}

/*
 * The segment is made by hand (no kernel involved): a writer whose
 * current segment has room for every append.  A second thread copies the
 * whole segment over and over, as a kexec would preserve it at any
 * instant, and every copy must parse to entries 0..m-1 for some m that
 * never goes down.
 */
TEST(record, a_copy_at_any_instant_is_a_whole_prefix)
{
	const size_t size = 8 << 20;
	struct race r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct luoi_record_seg *seg = calloc(1, sizeof(*seg));
	uint8_t *copy = malloc(size);
	uint64_t last = 0, copies = 0;
	pthread_t th;

	assert_not_null(seg);
	assert_not_null(copy);
	seg->map = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(seg->map != MAP_FAILED);
	seg->size = size;
	luoi_record_header_encode(seg->map, LUOI_RECORD_SESSION, 0, size, 0,
				  1);
	luoi_record_writer_init(&r.w, LUOI_RECORD_SESSION, NULL, -1);
	r.w.cur = seg;
	atomic_init(&r.done, false);
	atomic_init(&r.go, false);
	memset(copy, 0, size); /* its pages now, not during the race */
	assert_int_eq(pthread_create(&th, NULL, append_all, &r), 0);
	atomic_store(&r.go, true);
	do {
		struct prefix p = { 0 };

		/* What a kexec would keep: the bytes as they are, now.  A
		 * kexec stops every CPU at once; a copy is not instant, so
		 * it reads the commit point first (acquire), then the rest,
		 * and puts back the value it read: what it then finds
		 * behind it was written before it. */
		uint64_t used = __atomic_load_n(
			(uint64_t *)(void *)(seg->map + LUOI_RECORD_OFF_USED),
			__ATOMIC_ACQUIRE);

		memcpy(copy, seg->map, LUOI_RECORD_OFF_USED);
		memcpy(copy + LUOI_RECORD_OFF_USED, &used, sizeof(used));
		memcpy(copy + LUOI_RECORD_OFF_WRITER,
		       seg->map + LUOI_RECORD_OFF_WRITER,
		       LUOI_RECORD_HEADER_SIZE - LUOI_RECORD_OFF_WRITER + used);
		assert_int_eq(luoi_record_parse(copy, size,
						LUOI_RECORD_SESSION, NULL,
						check_prefix, &p),
			      0);
		assert_ge(p.next, last);
		last = p.next;
		copies++;
	} while (!atomic_load(&r.done));
	pthread_join(th, NULL);
	/* copies were taken in the middle, and the end is whole */
	assert_gt(copies, 10u);
	{
		struct prefix p = { 0 };

		assert_int_eq(luoi_record_parse(seg->map, size,
						LUOI_RECORD_SESSION, NULL,
						check_prefix, &p),
			      0);
		assert_eq(p.next, (uint64_t)APPENDS);
	}
	note("%llu copies, the last saw %llu entries",
	     (unsigned long long)copies, (unsigned long long)last);
	luoi_record_writer_fini(&r.w); /* unmaps the segment */
	free(copy);
}
