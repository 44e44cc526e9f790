/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptor leak checking for the test suites: count what is open in
 * /proc/self/fd before a scenario and after it (once its contexts, fakes and
 * sessions are dropped) and compare.
 */
#ifndef LIBLUO_TESTS_FD_COUNT_H
#define LIBLUO_TESTS_FD_COUNT_H

#include <stddef.h>

/* Number of open descriptors of this process (not counting the one used to
 * read /proc/self/fd), or a negative errno. */
int fd_count(void);

/* A readable list of the open descriptors ("3 -> /memfd:x (deleted), ..."),
 * for failure messages.  Always NUL-terminates @buf (if @len > 0). */
void fd_describe(char *buf, size_t len);

#endif /* LIBLUO_TESTS_FD_COUNT_H */
