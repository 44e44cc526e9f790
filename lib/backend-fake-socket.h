/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LUOI_BACKEND_FAKE_SOCKET_H
#define LUOI_BACKEND_FAKE_SOCKET_H

#include "backend.h"

/* A fake-kernel server at @path (doc/fake-server.md): a new backend with
 * one reference, or -errno. */
int luoi_backend_fake_socket_new(const char *path, struct luo_backend **ret);

/*
 * LIBLUO_FAKE=unix:PATH, for a context whose options chose no backend:
 * replaces *@b (its reference dropped) by a backend of that server and
 * returns 1; 0 if the variable is unset or empty; -EINVAL if it names no
 * server, or another -errno.
 */
int luoi_backend_fake_socket_env(struct luo_backend **b);

#endif /* LUOI_BACKEND_FAKE_SOCKET_H */
