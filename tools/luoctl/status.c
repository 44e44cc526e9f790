/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl status: is the device there, can it be opened, which ABI, which
 * live update state.  Prints what it finds even when a step fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "luoctl.h"

/* The "device:" line.  Returns LUOCTL_CONTINUE or an exit status. */
static int show_device(const struct luoctl *l)
{
	const char *dev = l->device ? l->device : LUO_DEVICE_PATH;
	struct stat st;

	if (l->fake) {
		printf("device:  in-memory fake kernel (--fake)\n");
		return LUOCTL_CONTINUE;
	}
	if (stat(dev, &st) < 0) {
		int r = -errno;

		printf("device:  %s: %s\n", dev, strerror(-r));
		return luoctl_fail(r, dev, luoctl_open_hint(r));
	}
	if (!S_ISCHR(st.st_mode)) {
		printf("device:  %s: not a character device\n", dev);
		return EXIT_FAILURE;
	}
	printf("device:  %s (character device %u:%u)\n", dev,
	       major(st.st_rdev), minor(st.st_rdev));
	return LUOCTL_CONTINUE;
}

static int run(struct luoctl *l, int argc, char **argv)
{
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	const char *session = NULL;
	enum luo_state state;
	enum luo_abi abi;
	int r;

	r = luoctl_parse_session_only(argc, argv, &session, false);
	if (r != LUOCTL_CONTINUE)
		return r;
	r = show_device(l);
	if (r != LUOCTL_CONTINUE)
		return r;

	r = luoctl_open(l, &ctx);
	if (r < 0) {
		printf("open:    failed: %s\n", strerror(-r));
		return luoctl_fail(r, "cannot open the device",
				   luoctl_open_hint(r));
	}
	printf("open:    ok\n");

	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0)
		return luoctl_fail(r, "cannot get the ABI", NULL);
	printf("abi:     %s\n", luoctl_abi_name(abi));

	if (luoctl_state_query_consumes(l, abi)) {
		printf("state:   not queried (mainline ABI: see 'luoctl state')\n");
		return EXIT_SUCCESS;
	}
	r = luo_get_state(ctx, &state);
	if (r < 0)
		return luoctl_fail(r, "cannot get the live update state", NULL);
	printf("state:   %s\n", luo_state_to_string(state));
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_status = {
	.name = "status",
	.help = "  status        is the device there, which ABI, which live update state\n",
	.run = run,
};
