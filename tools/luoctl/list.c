/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl list: the sessions that libluo programs created in the previous
 * boot, from their index (luo_ctx_foreach_incoming_session()), one name a
 * line.  The kernel hands the index out once per boot: luoctl keeps it
 * only while it runs, so the list can be read once; after that (or while
 * another program holds it) there is nothing to list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "luoctl.h"

struct listing {
	const struct luoctl *l;
	size_t n;
};

static int print_name(const char *name, void *data)
{
	struct listing *ls = data;

	if (ls->l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "session");
		luoctl_json_str(&j, "name", name);
		luoctl_json_end(&j);
	} else {
		printf("%s\n", name);
	}
	ls->n++;
	return 0;
}

static int run(struct luoctl *l, int argc, char **argv)
{
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	struct listing ls = { l, 0 };
	const char *none = NULL;
	int r;

	/* no option of its own: "list --session" is refused */
	r = luoctl_parse_session_only(l, argc, argv, &none, false);
	if (r != LUOCTL_CONTINUE)
		return r;
	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_ctx_foreach_incoming_session(ctx, print_name, &ls);
	if (r < 0)
		return luoctl_fail(l, r,
				   "cannot read the previous boot's index",
				   -r == EBUSY ? "another program took it "
						 "in this boot" : NULL);
	fflush(stdout);
	if (ls.n == 0)
		fprintf(stderr, "luoctl: no session recorded by the previous "
			"boot (or its index was read already in this boot)\n");
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_list = {
	.name = "list",
	.synopsis = "list\n",
	.help =
"after a live update, print the sessions libluo programs\n"
"created in the previous boot (their index can be read\n"
"once per boot); restore --list prints a session's tokens\n",
	.run = run,
};
