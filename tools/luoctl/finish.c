/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl finish --session NAME: take an incoming session and finish it,
 * discarding its files.
 */
#include <stdlib.h>

#include "luoctl.h"

static int run(struct luoctl *l, int argc, char **argv)
{
	_cleanup_session_force_ luo_session_t *session = NULL;
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	const char *name = NULL;
	int r;

	r = luoctl_parse_session_only(l, argc, argv, &name, true);
	if (r != LUOCTL_CONTINUE)
		return r;
	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_session_retrieve(ctx, name, &session);
	if (r < 0)
		return luoctl_fail_at(l, LUOCTL_STEP_LOOKUP, r,
				      "cannot retrieve the session",
				      luoctl_session_hint(r, false));
	r = luoctl_finish_session(session);
	if (r < 0)
		return luoctl_fail(l, r, "cannot finish the session", NULL);
	fprintf(stderr, "luoctl: session \"%s\" finished\n", name);
	if (l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "finished");
		luoctl_json_str(&j, "session", name);
		luoctl_json_end(&j);
	}
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_finish = {
	.name = "finish",
	.synopsis = "finish --session NAME\n",
	.help = "take session NAME and finish it, discarding its files\n",
	.run = run,
};
