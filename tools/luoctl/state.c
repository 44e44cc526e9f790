/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl state [--force]: the live update state of the original libluo API.
 */
#include <getopt.h>
#include <stdlib.h>

#include "luoctl.h"

void luoctl_print_state(const struct luoctl *l, enum luo_state state)
{
	if (l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "state");
		luoctl_json_str(&j, "state", luo_state_to_string(state));
		luoctl_json_end(&j);
	} else {
		printf("%s\n", luo_state_to_string(state));
	}
}

static int run(struct luoctl *l, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		LUOCTL_GLOBAL_LONGOPTS,
		{ 0 },
	};
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	enum luo_state state;
	enum luo_abi abi;
	bool force = false;
	int c, r;

	optind = 0;
	while ((c = luoctl_getopt(l, argc, argv, "+:Fh" LUOCTL_GLOBAL_SHORTOPTS,
				  longopts)) != -1) {
		if (c != 'F')
			return luoctl_opt_other(l, c);
		force = true;
	}
	if (optind < argc)
		return luoctl_usage_error(l, "%s: unexpected argument %s",
					  argv[0], argv[optind]);
	r = luoctl_start_or_fail(l);
	if (r)
		return r;

	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0)
		return luoctl_fail(l, r, "cannot get the live update state",
				   NULL);
	if (!force && luoctl_state_query_consumes(l, abi))
		return luoctl_fail_msg(l, LUOCTL_EXIT_FAILURE, 0,
			"state: on the mainline ABI, asking takes libluo's "
			"manifest of the previous kernel, which is lost when "
			"luoctl exits",
			"only the program that restores the tokens should "
			"ask; --force asks anyway");
	r = luo_get_state(ctx, &state);
	if (r < 0)
		return luoctl_fail(l, r, "cannot get the live update state",
				   NULL);
	luoctl_print_state(l, state);
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_state = {
	.name = "state",
	.synopsis = "state [--force]\n",
	.help =
"print the live update state of the original libluo API\n"
"(mainline ABI: only with --force, as asking discards\n"
"libluo's record of the previous kernel's tokens)\n",
	.run = run,
};
