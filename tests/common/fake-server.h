/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LIBLUO_TEST_BACKEND=fake-server: the test's fake kernel (tb.fake) served
 * by the fake-kernel server's core (tools/luo-fake-server/server.c) from a
 * thread of the test's process, on a socket of its own; the test's
 * contexts reach it through luo_ctx_opts_set_fake_socket(), i.e. through
 * the wire protocol, while the test keeps inspecting the very fake.
 */
#ifndef LIBLUO_TESTS_FAKE_SERVER_H
#define LIBLUO_TESTS_FAKE_SERVER_H

#include <libluo-fake.h>

/* Serve @fake; its socket's path in @path (at least 108 bytes): 0 or
 * -errno. */
int tb_fake_server_start(luo_fake_t *fake, char *path);
/* Stop the server started last (if any) and free it. */
void tb_fake_server_stop(void);

#endif /* LIBLUO_TESTS_FAKE_SERVER_H */
