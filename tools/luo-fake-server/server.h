/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake-kernel server's core: one luo_fake_t served over a listening
 * UNIX socket (common/fake-wire.h, doc/fake-server.md).  Used by the
 * luo-fake-server program and, in a thread, by the tests
 * (LIBLUO_TEST_BACKEND=fake-server), which keep inspecting the very fake
 * they serve.  Single-threaded: luofs_run() serves until a STOP command or
 * luofs_stop().
 */
#ifndef LUOFS_SERVER_H
#define LUOFS_SERVER_H

#include <libluo-fake.h>

struct luofs;

/* Saving the fake's state (SAVE, and at exit): 0 or -errno. */
typedef int (*luofs_save_fn)(luo_fake_t *fake, const char *path);

/* A server of @fake (a reference is taken) listening at @path (created;
 * an existing socket file is replaced; "@NAME": NAME in the abstract
 * namespace): 0 or -errno. */
int luofs_new(luo_fake_t *fake, const char *path, luofs_save_fn save,
	      struct luofs **ret);
/* Serve until STOP or luofs_stop(): 0 or -errno. */
int luofs_run(struct luofs *s);
/* From another thread or a signal handler: make luofs_run() return. */
void luofs_stop(struct luofs *s);
/* Close everything, unlink the socket, drop the fake. */
void luofs_free(struct luofs *s);

#endif /* LUOFS_SERVER_H */
