/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl: messages, exit statuses, hints and the option parsing the
 * commands share.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "luoctl.h"

/*
 * The one table of exit statuses (luoctl(1), EXIT STATUS).  Only opening
 * the device and looking a name or a token up have statuses of their own:
 * the same errno elsewhere (ENOENT from a file to preserve, EBUSY from the
 * kernel refusing a step) is a plain failure.
 */
int luoctl_exit_status(enum luoctl_step step, int err)
{
	err = err < 0 ? -err : err;
	switch (step) {
	case LUOCTL_STEP_OPEN:
		switch (err) {
		case ENOENT:
		case ENODEV:
		case ENXIO:
		case EPROTO:
			return LUOCTL_EXIT_NO_DEVICE;
		case EBUSY:
			return LUOCTL_EXIT_BUSY;
		}
		break;
	case LUOCTL_STEP_LOOKUP:
		if (err == ENOENT)
			return LUOCTL_EXIT_NOT_FOUND;
		break;
	case LUOCTL_STEP_OTHER:
		break;
	}
	return LUOCTL_EXIT_FAILURE;
}

/* The "error" member of an error object: what the exit status means. */
static const char *status_kind(int status)
{
	switch (status) {
	case LUOCTL_EXIT_USAGE:
		return "usage";
	case LUOCTL_EXIT_NO_DEVICE:
		return "no-device";
	case LUOCTL_EXIT_BUSY:
		return "busy";
	case LUOCTL_EXIT_NOT_FOUND:
		return "not-found";
	default:
		return "failure";
	}
}

/* With --json: {"type":"error",...} on stdout, after what was printed. */
static void json_error(const struct luoctl *l, int status, int err,
		       const char *message, const char *hint)
{
	struct luoctl_json j;

	if (!l || !l->json)
		return;
	err = err < 0 ? -err : err;
	luoctl_json_begin(&j, "error");
	luoctl_json_str(&j, "error", status_kind(status));
	luoctl_json_i64(&j, "exit", status);
	luoctl_json_i64(&j, "errno", err);
	luoctl_json_str(&j, "errno_name", err ? strerrorname_np(err) : NULL);
	luoctl_json_str(&j, "command", l->cmd ? l->cmd->name : NULL);
	luoctl_json_str(&j, "message", message);
	luoctl_json_str(&j, "hint", hint);
	luoctl_json_end(&j);
}

int luoctl_usage_error(const struct luoctl *l, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		msg = NULL; /* undefined after a failure */
	fprintf(stderr, "luoctl: %s\n", msg ? msg : fmt);
	if (l && l->cmd)
		fprintf(stderr, "luoctl: try 'luoctl %s --help'\n",
			l->cmd->name);
	else
		fputs("luoctl: try 'luoctl --help'\n", stderr);
	json_error(l, LUOCTL_EXIT_USAGE, 0, msg ? msg : fmt, NULL);
	return LUOCTL_EXIT_USAGE;
}

int luoctl_fail_msg(const struct luoctl *l, int status, int err,
		    const char *message, const char *hint)
{
	fprintf(stderr, "luoctl: %s\n", message);
	if (hint)
		fprintf(stderr, "luoctl: hint: %s\n", hint);
	json_error(l, status, err, message, hint);
	return status;
}

int luoctl_fail_at(const struct luoctl *l, enum luoctl_step step, int err,
		   const char *what, const char *hint)
{
	_cleanup_free_ char *msg = NULL;
	const char *reason = strerror(err < 0 ? -err : err);
	int status = luoctl_exit_status(step, err);

	if (asprintf(&msg, "%s: %s", what, reason) < 0) {
		/* say what is known */
		fprintf(stderr, "luoctl: %s: %s\n", what, reason);
		return status;
	}
	return luoctl_fail_msg(l, status, err, msg, hint);
}

int luoctl_fail(const struct luoctl *l, int err, const char *what,
		const char *hint)
{
	return luoctl_fail_at(l, LUOCTL_STEP_OTHER, err, what, hint);
}

const char *luoctl_open_hint(int err)
{
	switch (-err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "the kernel needs CONFIG_LIVEUPDATE and the boot parameter "
		       "liveupdate=on (--fake tries luoctl without one)";
	case EBUSY:
		return "the device is single-open and another process holds it "
		       "(a program using libluo, or a 'luoctl hold')";
	case EACCES:
	case EPERM:
		return "opening the device needs root";
	case EIO:
		return "the kernel could not restore the previous kernel's live "
		       "update state; see dmesg";
	case EPROTO:
		return "the device speaks neither known ABI, or not the one "
		       "given with --abi";
	default:
		return NULL;
	}
}

const char *luoctl_session_hint(int err, bool create)
{
	switch (-err) {
	case EOPNOTSUPP:
		return "sessions need the mainline ABI (Linux >= 6.19)";
	case EEXIST:
		return "an outgoing session of that name exists already";
	case ENOENT:
		return "no incoming session of that name: check the name, and "
		       "that a live update happened while it was held";
	case EINVAL:
		return create ? "the name must have 1 to 63 bytes and must not "
				"start with \"" LUO_RESERVED_PREFIX "\"" :
				"a session can be retrieved only once per boot "
				"(or the name is invalid)";
	default:
		return NULL;
	}
}

const char *luoctl_abi_name(enum luo_abi abi)
{
	switch (abi) {
	case LUO_ABI_MAINLINE:
		return "mainline";
	case LUO_ABI_RFC:
		return "rfc";
	default:
		return "auto";
	}
}

int luoctl_parse_token(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_abi(struct luoctl *l, const char *s)
{
	if (strcmp(s, "auto") == 0)
		l->abi = LUO_ABI_AUTO;
	else if (strcmp(s, "mainline") == 0)
		l->abi = LUO_ABI_MAINLINE;
	else if (strcmp(s, "rfc") == 0)
		l->abi = LUO_ABI_RFC;
	else
		return luoctl_usage_error(l, "unknown ABI: %s", s);
	return LUOCTL_CONTINUE;
}

/* After getopt_long() said '?' or ':' (opterr is 0): what was wrong. */
static void bad_option(const struct luoctl *l, int c, char **argv)
{
	/* A long option has moved optind past itself; a short one may be in
	 * the middle of a cluster, and optopt names it. */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *prefix = l->cmd ? l->cmd->name : NULL;
	int len;

	if (strncmp(arg, "--", 2) == 0) {
		len = (int)strcspn(arg, "=");
		if (c == ':')
			luoctl_usage_error(l, "%s%soption '%.*s' needs an "
					   "argument", prefix ? prefix : "",
					   prefix ? ": " : "", len, arg);
		else
			luoctl_usage_error(l, "%s%sunknown or ambiguous option "
					   "'%.*s'", prefix ? prefix : "",
					   prefix ? ": " : "", len, arg);
	} else if (c == ':') {
		luoctl_usage_error(l, "%s%soption '-%c' needs an argument",
				   prefix ? prefix : "", prefix ? ": " : "",
				   optopt);
	} else {
		luoctl_usage_error(l, "%s%sunknown option '-%c'",
				   prefix ? prefix : "", prefix ? ": " : "",
				   optopt);
	}
}

int luoctl_getopt(struct luoctl *l, int argc, char **argv,
		  const char *shortopts, const struct option *longopts)
{
	int c;

	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, shortopts, longopts, NULL);
		switch (c) {
		case 'd':
			l->device = optarg;
			break;
		case 'f':
			l->fake = true;
			break;
		case LUOCTL_OPT_FAKE_INCOMING:
			if (!strchr(optarg, '=')) {
				luoctl_usage_error(l, "--fake-incoming %s: not "
						   "NAME=FILE", optarg);
				return LUOCTL_OPT_DONE;
			}
			/* l->incoming has room for every argument */
			l->incoming[l->n_incoming++] = optarg;
			break;
		case LUOCTL_OPT_FAKE_ERROR:
			l->fake_errors[l->n_fake_errors++] = optarg;
			break;
		case 'a':
			if (parse_abi(l, optarg) != LUOCTL_CONTINUE)
				return LUOCTL_OPT_DONE;
			break;
		case 'j':
			l->json = true;
			break;
		case 'v':
			l->verbose = true;
			break;
		case 'V':
			return LUOCTL_OPT_VERSION;
		case '?':
		case ':':
			bad_option(l, c, argv);
			return LUOCTL_OPT_DONE;
		default:
			return c;
		}
	}
}

int luoctl_opt_other(const struct luoctl *l, int c)
{
	switch (c) {
	case 'h':
		if (l->cmd)
			luoctl_cmd_help(l->cmd, stdout);
		else
			luoctl_help(stdout);
		return EXIT_SUCCESS;
	case LUOCTL_OPT_VERSION:
		/* the library it runs with may be newer */
		printf("luoctl %s (libluo %d.%d.%d)\n", LUOCTL_VERSION,
		       luo_version() / 10000, luo_version() / 100 % 100,
		       luo_version() % 100);
		return EXIT_SUCCESS;
	case LUOCTL_OPT_DONE:
		return LUOCTL_EXIT_USAGE; /* reported */
	default:
		/* an option of the table that the command does not handle */
		return luoctl_usage_error(l, "option not handled (%d)", c);
	}
}

int luoctl_raise_nofile(struct luoctl *l)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= rl.rlim_max)
		return 0;
	if (!l->nofile_raised)
		l->nofile_soft = (uint64_t)rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	l->nofile_raised = true;
	return 0;
}

void luoctl_restore_nofile(const struct luoctl *l)
{
	struct rlimit rl;

	if (!l->nofile_raised || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = (rlim_t)l->nofile_soft;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int luoctl_start_or_fail(struct luoctl *l)
{
	int r;

	if (l->fake && l->device)
		return luoctl_usage_error(l, "--fake and --device exclude each "
					  "other");
	if (l->n_incoming > 0 && !l->fake)
		return luoctl_usage_error(l, "--fake-incoming needs --fake");
	if (l->n_incoming > 0 && l->abi == LUO_ABI_RFC)
		return luoctl_usage_error(l, "--fake-incoming needs the "
					  "mainline ABI: sessions");
	if (l->n_fake_errors > 0 && !l->fake)
		return luoctl_usage_error(l, "--fake-error needs --fake");
	for (size_t i = 0; i < l->n_fake_errors; i++) {
		enum luo_fake_op op;
		int err;

		if (luoctl_parse_fake_error(l->fake_errors[i], &op, &err) < 0)
			return luoctl_usage_error(l, "--fake-error %s: not "
						  "OP=ERRNO (see luoctl(1))",
						  l->fake_errors[i]);
	}
	r = luoctl_raise_nofile(l);
	if (r < 0 && l->verbose)
		fprintf(stderr, "luoctl: cannot raise RLIMIT_NOFILE: %s\n",
			strerror(-r));
	return luoctl_fake_boot_or_fail(l);
}

int luoctl_parse_session_only(struct luoctl *l, int argc, char **argv,
			      const char **session, bool need_session)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		LUOCTL_GLOBAL_LONGOPTS,
		{ 0 },
	};
	int c, r;

	optind = 0;
	while ((c = luoctl_getopt(l, argc, argv,
				  "+:s:h" LUOCTL_GLOBAL_SHORTOPTS,
				  longopts)) != -1) {
		if (c != 's')
			return luoctl_opt_other(l, c);
		*session = optarg;
	}
	if (optind < argc)
		return luoctl_usage_error(l, "%s: unexpected argument %s",
					  argv[0], argv[optind]);
	if (need_session && !*session)
		return luoctl_usage_error(l, "%s: --session NAME is required",
					  argv[0]);
	if (!need_session && *session)
		return luoctl_usage_error(l, "%s: takes no --session", argv[0]);
	r = luoctl_start_or_fail(l);
	return r ? r : LUOCTL_CONTINUE;
}
