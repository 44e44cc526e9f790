/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl: the notification protocol of sd_notify(3), without libsystemd.
 * One datagram to the AF_UNIX socket that $NOTIFY_SOCKET names: a path,
 * or an abstract name written with a leading '@'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "luoctl.h"

int luoctl_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	size_t len, n = strlen(state);
	socklen_t salen;
	ssize_t sent;

	if (!path || !*path)
		return 0; /* nobody to tell */
	len = strlen(path);
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT; /* vsock:... is not supported */
	if (len > sizeof(sa.sun_path) ||
	    (path[0] == '/' && len == sizeof(sa.sun_path)))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* a path ends at its '\0'; an abstract name is exactly its bytes */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			    (path[0] == '/'));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		sent = sendto(fd, state, n, MSG_NOSIGNAL,
			      (const struct sockaddr *)&sa, salen);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return -errno;
	return (size_t)sent == n ? 1 : -EMSGSIZE;
}
