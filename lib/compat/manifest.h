/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manifest of libluo 1.0 (doc/manifest.md, versions 1 and 2): the list
 * of tokens the original API preserved.  libluo now writes its manifest as
 * a record (record.h, doc/record.md) and reads this older format when the
 * previous kernel's libluo wrote it; tests/unit/manifest.c pins its bytes.
 */
#ifndef LUOI_MANIFEST_H
#define LUOI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define LUOI_MANIFEST_MAGIC "LIBLUOM1"
#define LUOI_MANIFEST_VERSION 2 /* the newest version of this format */
#define LUOI_MANIFEST_HEADER_SIZE 32
#define LUOI_MANIFEST_ENTRY_SIZE 8
#define LUOI_MANIFEST_MAX_TOKENS (1u << 24)
/* incompat_flags this libluo understands (none yet) */
#define LUOI_MANIFEST_INCOMPAT_KNOWN 0u

/* The tokens of the manifest in @buf: a malloc()ed array (NULL when
 * empty) of *n tokens.  0; -EBADMSG (not a manifest, or damaged);
 * -EPROTONOSUPPORT (written by a newer libluo in a format this one cannot
 * read: a higher version, or an incompat flag it does not know); -ENOMEM. */
int luoi_manifest_decode(const uint8_t *buf, size_t len, uint64_t **ret,
			 size_t *n);

/* Read a manifest from @fd (from offset 0): as luoi_manifest_decode(),
 * and the errors of reading. */
int luoi_manifest_read_fd(int fd, uint64_t **ret, size_t *n);

#endif /* LUOI_MANIFEST_H */
