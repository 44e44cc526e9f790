/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fd-count.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Calls @fn for each open descriptor other than the directory's own. */
static int fd_walk(void (*fn)(int fd, void *userdata), void *userdata)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int self, n = 0;

	if (!dir)
		return -errno;
	self = dirfd(dir);
	while ((de = readdir(dir))) {
		char *end;
		long fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (errno || *end || fd < 0 || fd > INT_MAX || fd == self)
			continue;
		if (fn)
			fn((int)fd, userdata);
		n++;
	}
	closedir(dir);
	return n;
}

int fd_count(void)
{
	return fd_walk(NULL, NULL);
}

struct describe {
	char *buf;
	size_t len;
	size_t pos;
};

static void describe_one(int fd, void *userdata)
{
	struct describe *d = userdata;
	char link[64], target[256];
	ssize_t n;
	int w;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		n = 0;
	target[n] = '\0';
	if (d->pos >= d->len)
		return;
	w = snprintf(d->buf + d->pos, d->len - d->pos, "%s%d -> %s",
		     d->pos ? ", " : "", fd, target);
	if (w > 0)
		d->pos += (size_t)w;
}

void fd_describe(char *buf, size_t len)
{
	struct describe d = { buf, len, 0 };

	if (!len)
		return;
	buf[0] = '\0';
	fd_walk(describe_one, &d);
}
