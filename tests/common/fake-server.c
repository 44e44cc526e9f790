/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "fake-server.h"
#include "server.h"

static struct luofs *server;
static pthread_t thread;

static void *run(void *arg)
{
	luofs_run(arg);
	return NULL;
}

int tb_fake_server_start(luo_fake_t *fake, char *path)
{
	static unsigned int n;
	int r;

	/* abstract: a test that dies leaves no socket file behind */
	snprintf(path, 108, "@luo-test-%d-%u", (int)getpid(), n++);
	r = luofs_new(fake, path, NULL, &server);
	if (r < 0)
		return r;
	r = -pthread_create(&thread, NULL, run, server);
	if (r) {
		luofs_free(server);
		server = NULL;
	}
	return r;
}

void tb_fake_server_stop(void)
{
	if (!server)
		return;
	luofs_stop(server);
	pthread_join(thread, NULL);
	luofs_free(server);
	server = NULL;
}
