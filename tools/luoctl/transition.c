/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl prepare, cancel and finish-all: one transition each of the state
 * machine of the original libluo API, then the new state.  One function
 * does all three, hence one file.
 */
#include <errno.h>
#include <stdlib.h>

#include "luoctl.h"

static int transition(struct luoctl *l, int argc, char **argv,
		      int (*fn)(luo_ctx_t *), bool rfc_only)
{
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *session = NULL;
	enum luo_state state;
	enum luo_abi abi;
	int r;

	r = luoctl_parse_session_only(l, argc, argv, &session, false);
	if (r != LUOCTL_CONTINUE)
		return r;
	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_ctx_get_abi(ctx, &abi);
	if (r == 0 && rfc_only && abi != LUO_ABI_RFC) {
		/*
		 * On the mainline ABI the state of the original API lives in
		 * the process that preserved the tokens: what luoctl would
		 * prepare is gone when it exits.
		 */
		if (asprintf(&msg, "%s: not available on the mainline ABI",
			     argv[0]) < 0)
			msg = NULL;
		return luoctl_fail_msg(l, LUOCTL_EXIT_FAILURE, EOPNOTSUPP,
			msg ? msg : argv[0],
			"there the original API's state belongs to the process "
			"that preserved the tokens; call luo_prepare()/"
			"luo_cancel() in it");
	}
	if (r == 0)
		r = fn(ctx);
	if (r < 0)
		return luoctl_fail(l, r, argv[0], -r == EINVAL ?
				   "not allowed in the current state; see "
				   "'luoctl state'" : NULL);
	r = luo_get_state(ctx, &state);
	if (r < 0)
		return luoctl_fail(l, r, "cannot get the live update state",
				   NULL);
	luoctl_print_state(l, state);
	return EXIT_SUCCESS;
}

static int run_prepare(struct luoctl *l, int argc, char **argv)
{
	return transition(l, argc, argv, luo_prepare, true);
}

static int run_cancel(struct luoctl *l, int argc, char **argv)
{
	return transition(l, argc, argv, luo_cancel, true);
}

static int run_finish_all(struct luoctl *l, int argc, char **argv)
{
	return transition(l, argc, argv, luo_finish, false);
}

const struct luoctl_cmd luoctl_cmd_prepare = {
	.name = "prepare",
	.synopsis = "prepare\n",
	.help = "NORMAL -> PREPARED (RFC ABI only)\n",
	.run = run_prepare,
};

const struct luoctl_cmd luoctl_cmd_cancel = {
	.name = "cancel",
	.synopsis = "cancel\n",
	.help = "PREPARED -> NORMAL (RFC ABI only)\n",
	.run = run_cancel,
};

const struct luoctl_cmd luoctl_cmd_finish_all = {
	.name = "finish-all",
	.synopsis = "finish-all\n",
	.help = "UPDATED -> NORMAL: discard what was not restored\n",
	.run = run_finish_all,
};
