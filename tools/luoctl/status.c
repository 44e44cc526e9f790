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

/* What status found: each step fills its part, and stops at a failure. */
struct status {
	const char *device;      /* NULL with --fake */
	bool present;            /* a character device */
	unsigned int major, minor;
	const char *device_error; /* why not present */
	bool tried_open;
	bool open;
	const char *open_error;
	const char *abi;         /* NULL: not known */
	const char *state;       /* NULL: not known or not queried */
	bool state_skipped;      /* not queried on purpose (mainline ABI) */
};

static void print_text(const struct luoctl *l, const struct status *st)
{
	if (l->fake)
		printf("device:  in-memory fake kernel (--fake)\n");
	else if (st->present)
		printf("device:  %s (character device %u:%u)\n", st->device,
		       st->major, st->minor);
	else
		printf("device:  %s: %s\n", st->device, st->device_error);
	if (st->open)
		printf("open:    ok\n");
	else if (st->tried_open)
		printf("open:    failed: %s\n", st->open_error);
	if (st->abi)
		printf("abi:     %s\n", st->abi);
	if (st->state)
		printf("state:   %s\n", st->state);
	else if (st->state_skipped)
		printf("state:   not queried "
		       "(mainline ABI: see 'luoctl state')\n");
	fflush(stdout);
}

/*
 * {"type":"status","device":PATH|null,"fake":B,"present":B,"rdev":"M:m"|null,
 *  "open":B,"abi":S|null,"state":S|null,"state_queried":B}
 */
static void print_json(const struct luoctl *l, const struct status *st)
{
	struct luoctl_json j;
	char rdev[32];

	snprintf(rdev, sizeof(rdev), "%u:%u", st->major, st->minor);
	luoctl_json_begin(&j, "status");
	luoctl_json_str(&j, "device", st->device);
	luoctl_json_bool(&j, "fake", l->fake);
	luoctl_json_bool(&j, "present", st->present);
	luoctl_json_str(&j, "rdev", st->present && !l->fake ? rdev : NULL);
	luoctl_json_bool(&j, "open", st->open);
	luoctl_json_str(&j, "abi", st->abi);
	luoctl_json_str(&j, "state", st->state);
	luoctl_json_bool(&j, "state_queried", st->state != NULL);
	luoctl_json_end(&j);
}

static void print_status(const struct luoctl *l, const struct status *st)
{
	if (l->json)
		print_json(l, st);
	else
		print_text(l, st);
}

/* The device node.  LUOCTL_CONTINUE or an exit status, printed. */
static int check_device(const struct luoctl *l, struct status *st)
{
	struct stat s;

	if (l->fake) {
		st->present = true;
		return LUOCTL_CONTINUE;
	}
	if (stat(st->device, &s) < 0) {
		int r = -errno;

		st->device_error = strerror(-r);
		print_status(l, st);
		return luoctl_fail_at(l, LUOCTL_STEP_OPEN, r, st->device,
				      luoctl_open_hint(r));
	}
	if (!S_ISCHR(s.st_mode)) {
		_cleanup_free_ char *msg = NULL;

		st->device_error = "not a character device";
		print_status(l, st);
		/* as the EPROTO that opening it would give */
		if (asprintf(&msg, "%s: not a character device",
			     st->device) < 0)
			msg = NULL;
		return luoctl_fail_msg(l, luoctl_exit_status(LUOCTL_STEP_OPEN,
							     EPROTO), EPROTO,
				       msg ? msg : st->device,
				       luoctl_open_hint(-EPROTO));
	}
	st->present = true;
	st->major = major(s.st_rdev);
	st->minor = minor(s.st_rdev);
	return LUOCTL_CONTINUE;
}

static int run(struct luoctl *l, int argc, char **argv)
{
	struct status st = { 0 };
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	const char *session = NULL;
	enum luo_state state;
	enum luo_abi abi;
	int r;

	r = luoctl_parse_session_only(l, argc, argv, &session, false);
	if (r != LUOCTL_CONTINUE)
		return r;
	st.device = l->fake ? NULL : l->device ? l->device : LUO_DEVICE_PATH;
	r = check_device(l, &st);
	if (r != LUOCTL_CONTINUE)
		return r;

	st.tried_open = true;
	r = luoctl_open(l, &ctx);
	if (r < 0) {
		st.open_error = strerror(-r);
		print_status(l, &st);
		return luoctl_fail_at(l, LUOCTL_STEP_OPEN, r,
				      "cannot open the device",
				      luoctl_open_hint(r));
	}
	st.open = true;

	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0) {
		print_status(l, &st);
		return luoctl_fail(l, r, "cannot get the ABI", NULL);
	}
	st.abi = luoctl_abi_name(abi);

	if (luoctl_state_query_consumes(l, abi)) {
		st.state_skipped = true;
		print_status(l, &st);
		return EXIT_SUCCESS;
	}
	r = luo_get_state(ctx, &state);
	if (r < 0) {
		print_status(l, &st);
		return luoctl_fail(l, r, "cannot get the live update state",
				   NULL);
	}
	st.state = luo_state_to_string(state);
	print_status(l, &st);
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_status = {
	.name = "status",
	.synopsis = "status\n",
	.help = "is the device there, which ABI, which live update state\n",
	.run = run,
};
