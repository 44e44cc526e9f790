/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl state [--force]: the live update state of the original libluo API.
 */
#include <getopt.h>
#include <stdlib.h>

#include "luoctl.h"

static int run(struct luoctl *l, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	enum luo_state state;
	enum luo_abi abi;
	bool force = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+Fh", longopts, NULL)) != -1) {
		if (c != 'F')
			return luoctl_opt_other(c);
		force = true;
	}
	if (optind < argc)
		return luoctl_usage_error("%s: unexpected argument", argv[optind]);

	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0)
		return luoctl_fail(r, "cannot get the live update state", NULL);
	if (!force && luoctl_state_query_consumes(l, abi)) {
		fprintf(stderr, "luoctl: state: on the mainline ABI, asking "
			"takes libluo's manifest of the previous kernel, which "
			"is lost when luoctl exits\n"
			"luoctl: hint: only the program that restores the tokens "
			"should ask; --force asks anyway\n");
		return EXIT_FAILURE;
	}
	r = luo_get_state(ctx, &state);
	if (r < 0)
		return luoctl_fail(r, "cannot get the live update state", NULL);
	printf("%s\n", luo_state_to_string(state));
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_state = {
	.name = "state",
	.help =
"  state [--force]\n"
"                print the live update state of the original libluo API\n"
"                (mainline ABI: only with --force, as asking discards\n"
"                libluo's record of the previous kernel's tokens)\n",
	.run = run,
};
