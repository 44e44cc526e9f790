/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manifest: the list of tokens the original API preserved, written by
 * luo_prepare() into a sealed memfd that travels with the kexec, and read
 * by the next kernel's libluo, which may be a newer release.  The format
 * is specified in doc/manifest.md; tests/unit/manifest.c pins its bytes.
 */
#ifndef LUOI_MANIFEST_H
#define LUOI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define LUOI_MANIFEST_MAGIC "LIBLUOM1"
#define LUOI_MANIFEST_VERSION 2 /* what this libluo writes */
#define LUOI_MANIFEST_HEADER_SIZE 32
#define LUOI_MANIFEST_ENTRY_SIZE 8
#define LUOI_MANIFEST_MAX_TOKENS (1u << 24)
/* incompat_flags this libluo understands (none yet) */
#define LUOI_MANIFEST_INCOMPAT_KNOWN 0u

/* The bytes of a manifest listing @n tokens: a malloc()ed buffer of *len
 * bytes.  0, -E2BIG (more than LUOI_MANIFEST_MAX_TOKENS), -ENOMEM. */
int luoi_manifest_encode(const uint64_t *tokens, size_t n, uint8_t **ret,
			 size_t *len);

/* The tokens of the manifest in @buf: a malloc()ed array (NULL when
 * empty) of *n tokens.  0; -EBADMSG (not a manifest, or damaged);
 * -EPROTONOSUPPORT (written by a newer libluo in a format this one cannot
 * read: a higher version, or an incompat flag it does not know); -ENOMEM. */
int luoi_manifest_decode(const uint8_t *buf, size_t len, uint64_t **ret,
			 size_t *n);

/* Write a manifest of @n tokens into a new sealed memfd: its fd, or a
 * negative errno. */
int luoi_manifest_write_memfd(const uint64_t *tokens, size_t n);

/* Read a manifest from @fd (from offset 0): as luoi_manifest_decode(),
 * and the errors of reading. */
int luoi_manifest_read_fd(int fd, uint64_t **ret, size_t *n);

#endif /* LUOI_MANIFEST_H */
