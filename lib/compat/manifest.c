/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "io.h"
#include "macro.h"
#include "manifest.h"

/* Offsets in the header (doc/manifest.md). */
#define OFF_MAGIC 0
#define OFF_VERSION 8
#define OFF_COUNT 12
#define OFF_HEADER_SIZE 16
#define OFF_ENTRY_SIZE 20
#define OFF_INCOMPAT 24
#define OFF_COMPAT 28
#define V1_HEADER_SIZE 16 /* libluo 1.0.0: magic, version, count */

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* Where the entries start and how large each is, from the header. */
static int parse_header(const uint8_t *buf, size_t len, size_t *count,
			size_t *header_size, size_t *entry_size)
{
	uint32_t version;

	if (len < V1_HEADER_SIZE ||
	    memcmp(buf + OFF_MAGIC, LUOI_MANIFEST_MAGIC, 8) != 0)
		return -EBADMSG;
	version = get32(buf + OFF_VERSION);
	*count = get32(buf + OFF_COUNT);
	if (version == 1) {
		*header_size = V1_HEADER_SIZE;
		*entry_size = 8;
	} else if (version == 2) {
		if (len < LUOI_MANIFEST_HEADER_SIZE)
			return -EBADMSG;
		*header_size = get32(buf + OFF_HEADER_SIZE);
		*entry_size = get32(buf + OFF_ENTRY_SIZE);
		if (*header_size < LUOI_MANIFEST_HEADER_SIZE ||
		    *entry_size < LUOI_MANIFEST_ENTRY_SIZE)
			return -EBADMSG;
		if (get32(buf + OFF_INCOMPAT) & ~LUOI_MANIFEST_INCOMPAT_KNOWN)
			return -EPROTONOSUPPORT;
		/* compat_flags: unknown bits are ignored by design */
	} else if (version == 0) {
		return -EBADMSG;
	} else {
		return -EPROTONOSUPPORT; /* a newer major format */
	}
	if (*count > LUOI_MANIFEST_MAX_TOKENS)
		return -EBADMSG;
	if (*header_size > len ||
	    (len - *header_size) / *entry_size < *count)
		return -EBADMSG; /* truncated */
	return 0;
}

int luoi_manifest_decode(const uint8_t *buf, size_t len, uint64_t **ret,
			 size_t *n)
{
	size_t count, header_size, entry_size, i;
	uint64_t *tokens = NULL;
	int r;

	r = parse_header(buf, len, &count, &header_size, &entry_size);
	if (r < 0)
		return r;
	if (count) {
		tokens = malloc(count * sizeof(*tokens));
		if (!tokens)
			return -ENOMEM;
	}
	/* entries may be longer than we know: their first 8 bytes are the
	 * token, the rest is ignored */
	for (i = 0; i < count; i++)
		tokens[i] = get64(buf + header_size + i * entry_size);
	*ret = tokens;
	*n = count;
	return 0;
}

int luoi_manifest_read_fd(int fd, uint64_t **ret, size_t *n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t max;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	max = LUOI_MANIFEST_HEADER_SIZE +
	      (size_t)LUOI_MANIFEST_MAX_TOKENS * 64; /* generous entries */
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return -EBADMSG;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	r = luoi_pread_all(fd, buf, (size_t)st.st_size, 0);
	if (r < 0)
		return r;
	return luoi_manifest_decode(buf, (size_t)st.st_size, ret, n);
}
