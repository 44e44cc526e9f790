/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manifest format of libluo 1.0 (doc/manifest.md): the bytes of its
 * versions 1 and 2 and of a newer writer, which this libluo must still
 * read, and what it refuses.  (What libluo writes now is a record:
 * tests/unit/record.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "manifest.h"

#define LE32(v) (v) & 0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff, ((v) >> 24) & 0xff
#define MAGIC 'L', 'I', 'B', 'L', 'U', 'O', 'M', '1'

static const uint64_t three[] = { 1, 0x0102030405060708ULL, UINT64_MAX };

/* What libluo wrote for three[] before the record format: version 2. */
static const uint8_t golden_v2[] = {
	MAGIC,
	LE32(2),  /* version */
	LE32(3),  /* count */
	LE32(32), /* header_size */
	LE32(8),  /* entry_size */
	LE32(0),  /* incompat_flags */
	LE32(0),  /* compat_flags */
	0x01, 0, 0, 0, 0, 0, 0, 0,
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* What libluo 1.0.0 wrote for the same tokens. */
static const uint8_t golden_v1[] = {
	MAGIC,
	LE32(1), /* version */
	LE32(3), /* count */
	0x01, 0, 0, 0, 0, 0, 0, 0,
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* A newer writer: longer header (40) and entries (16), an optional
 * feature bit; the tokens are still the first 8 bytes of each entry. */
static const uint8_t newer_compatible[] = {
	MAGIC,
	LE32(2),
	LE32(2),
	LE32(40),         /* header_size */
	LE32(16),         /* entry_size */
	LE32(0),          /* incompat_flags */
	LE32(0x80000000), /* compat_flags: unknown, ignored */
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, /* new header field */
	0x2a, 0, 0, 0, 0, 0, 0, 0, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
	0x07, 0, 0, 0, 0, 0, 0, 0, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
};

static void expect_tokens(const uint8_t *buf, size_t len, const uint64_t *want,
			  size_t nwant)
{
	uint64_t *tokens = NULL;
	size_t n = 0, i;

	assert_int_eq(luoi_manifest_decode(buf, len, &tokens, &n), 0);
	assert_eq(n, nwant);
	for (i = 0; i < n; i++)
		assert_eq(tokens[i], want[i], "entry %zu", i);
	free(tokens);
}

static void expect_refused(const uint8_t *buf, size_t len, int err)
{
	uint64_t *tokens = (uint64_t *)(uintptr_t)0x5e57;
	size_t n = 12345;

	assert_int_eq(luoi_manifest_decode(buf, len, &tokens, &n), err);
	/* out-parameters untouched on failure */
	assert_eq((uintptr_t)tokens, (uintptr_t)0x5e57);
	assert_eq(n, (size_t)12345);
}

/* A copy of @src with the u32 at @off replaced. */
static uint8_t *patched(const uint8_t *src, size_t len, size_t off,
			uint32_t v)
{
	uint8_t *p = malloc(len);

	assert_not_null(p);
	memcpy(p, src, len);
	p[off] = v & 0xff;
	p[off + 1] = (v >> 8) & 0xff;
	p[off + 2] = (v >> 16) & 0xff;
	p[off + 3] = (v >> 24) & 0xff;
	return p;
}

TEST(manifest, reads_version_2)
{
	expect_tokens(golden_v2, sizeof(golden_v2), three, 3);
}

TEST(manifest, reads_what_libluo_1_0_wrote)
{
	expect_tokens(golden_v1, sizeof(golden_v1), three, 3);
}

TEST(manifest, reads_a_newer_compatible_writer)
{
	static const uint64_t want[] = { 42, 7 };

	expect_tokens(newer_compatible, sizeof(newer_compatible), want, 2);
}

TEST(manifest, accepts_trailing_bytes)
{
	uint8_t buf[sizeof(golden_v2) + 8];

	memcpy(buf, golden_v2, sizeof(golden_v2));
	memset(buf + sizeof(golden_v2), 0xee, 8);
	expect_tokens(buf, sizeof(buf), three, 3);
}

TEST(manifest, refuses_what_a_newer_libluo_must_read)
{
	uint8_t *p;

	/* a feature this reader does not know */
	p = patched(golden_v2, sizeof(golden_v2), 24, 1);
	expect_refused(p, sizeof(golden_v2), -EPROTONOSUPPORT);
	free(p);
	/* a newer major version */
	p = patched(golden_v2, sizeof(golden_v2), 8, 3);
	expect_refused(p, sizeof(golden_v2), -EPROTONOSUPPORT);
	free(p);
}

TEST(manifest, refuses_damage)
{
	uint8_t *p;

	expect_refused(golden_v2, 0, -EBADMSG);
	expect_refused(golden_v2, 15, -EBADMSG);
	/* truncated: one entry short, and inside the header */
	expect_refused(golden_v2, sizeof(golden_v2) - 1, -EBADMSG);
	expect_refused(golden_v2, 20, -EBADMSG);
	expect_refused(golden_v1, sizeof(golden_v1) - 8, -EBADMSG);
	p = patched(golden_v2, sizeof(golden_v2), 0, 0x4c4c4c4c); /* magic */
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
	p = patched(golden_v2, sizeof(golden_v2), 8, 0); /* version 0 */
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
	p = patched(golden_v2, sizeof(golden_v2), 16, 16); /* header_size */
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
	p = patched(golden_v2, sizeof(golden_v2), 20, 4); /* entry_size */
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
	p = patched(golden_v2, sizeof(golden_v2), 12, /* count too large */
		    LUOI_MANIFEST_MAX_TOKENS + 1);
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
	p = patched(golden_v2, sizeof(golden_v2), 16, 0xffffffffu);
	expect_refused(p, sizeof(golden_v2), -EBADMSG);
	free(p);
}
