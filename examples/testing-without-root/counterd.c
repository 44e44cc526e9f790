/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * counterd - a daemon whose counter survives a live update.
 *
 *   counterd save VALUE   preserve VALUE, print "saved", hold the session
 *                         until SIGTERM (a real kexec ends it anyway)
 *   counterd restore      print the value the previous boot saved
 *
 * It calls luo_ctx_new(NULL, ...): the real /dev/liveupdate, or the fake
 * kernel server named by LIBLUO_FAKE=unix:PATH.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counter.h"

int main(int argc, char **argv)
{
	luo_session_t *held = NULL;
	luo_ctx_t *ctx;
	uint64_t value;
	sigset_t set;
	int r, sig;

	if (argc < 2)
		return 2;
	r = luo_ctx_new(NULL, &ctx);
	if (r < 0) {
		fprintf(stderr, "counterd: %s\n", strerror(-r));
		return 1;
	}
	if (!strcmp(argv[1], "save") && argc == 3) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		r = counter_save(ctx, strtoull(argv[2], NULL, 0), &held);
		if (r < 0) {
			fprintf(stderr, "counterd: save: %s\n", strerror(-r));
			return 1;
		}
		printf("saved\n");
		fflush(stdout);
		sigwait(&set, &sig);
		luo_session_close(held, LUO_SESSION_CLOSE_FORCE);
	} else if (!strcmp(argv[1], "restore")) {
		r = counter_restore(ctx, &value);
		if (r < 0) {
			fprintf(stderr, "counterd: restore: %s\n", strerror(-r));
			return 1;
		}
		printf("%" PRIu64 "\n", value);
	} else {
		return 2;
	}
	luo_ctx_unref(ctx);
	return 0;
}
