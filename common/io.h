/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-buffer reads and writes, retrying short transfers and EINTR. */
#ifndef LUOI_IO_H
#define LUOI_IO_H

#include <stddef.h>
#include <sys/types.h>

/* 0 or a negative errno. */
int luoi_write_all(int fd, const void *buf, size_t len);

/* Exactly @len bytes from @off: 0, -EBADMSG at end of file, or -errno. */
int luoi_pread_all(int fd, void *buf, size_t len, off_t off);

#endif /* LUOI_IO_H */
