/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers to make and check the files the tests preserve.  They assert
 * (harness.h), so they may only be called from a test.
 */
#ifndef LIBLUO_TESTS_FILES_H
#define LIBLUO_TESTS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A memfd holding @len bytes of @data (may be NULL when @len is 0), its
 * file offset set to @offset.  @flags are memfd_create() flags. */
int memfd_with(const char *name, const void *data, size_t len, off_t offset,
	       unsigned int flags);

/* A memfd with @len bytes of a pattern derived from @seed; offset 0. */
int memfd_pattern(uint64_t seed, size_t len);

/* Asserts that @fd holds exactly @data (@len bytes) and that its file
 * offset is @offset. */
void expect_file_content(int fd, const void *data, size_t len, off_t offset);

/* Asserts that @fd holds the pattern of memfd_pattern(@seed, @len). */
void expect_file_pattern(int fd, uint64_t seed, size_t len);

/* Whether @a and @b refer to the same open file description's inode. */
bool same_inode(int a, int b);

/* Whether @fd has FD_CLOEXEC. */
bool has_cloexec(int fd);

/* Whether @fd is an open descriptor. */
bool fd_is_open(int fd);

/* A descriptor number that is not open (and that libluo will not get when
 * it opens something). */
int closed_fd_number(void);

/* A regular file on disk (with a link count), opened O_RDWR. Its path is
 * unlinked by close_regular_file(). */
int open_regular_file(char *path, size_t len);
void close_regular_file(int fd, const char *path);

/* Lowers RLIMIT_NOFILE so that opening any descriptor fails -EMFILE;
 * the old limit is saved in @saved for fd_limit_restore(). */
struct rlimit;
void fd_limit_exhaust(struct rlimit *saved);
void fd_limit_restore(const struct rlimit *saved);

/* Close, asserting success. */
void xclose(int fd);

#endif /* LIBLUO_TESTS_FILES_H */
