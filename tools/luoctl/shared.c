/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl: messages, hints and the option parsing the commands share.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "luoctl.h"

int luoctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("luoctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'luoctl --help'.\n", stderr);
	return EXIT_USAGE;
}

int luoctl_fail(int err, const char *what, const char *hint)
{
	fprintf(stderr, "luoctl: %s: %s\n", what, strerror(err < 0 ? -err : err));
	if (hint)
		fprintf(stderr, "luoctl: hint: %s\n", hint);
	return EXIT_FAILURE;
}

const char *luoctl_open_hint(int err)
{
	switch (-err) {
	case ENOENT:
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

int luoctl_opt_other(int c)
{
	if (c == 'h') {
		luoctl_help(stdout);
		return EXIT_SUCCESS;
	}
	return EXIT_USAGE; /* getopt_long() has said what is wrong */
}

int luoctl_parse_session_only(int argc, char **argv, const char **session,
			      bool need_session)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, need_session ? "+s:h" : "+h",
				longopts, NULL)) != -1) {
		if (c != 's')
			return luoctl_opt_other(c);
		*session = optarg;
	}
	if (optind < argc)
		return luoctl_usage_error("%s: unexpected argument", argv[optind]);
	if (need_session && !*session)
		return luoctl_usage_error("%s: --session NAME is required",
					  argv[0]);
	if (!need_session && *session)
		return luoctl_usage_error("%s: takes no --session", argv[0]);
	return LUOCTL_CONTINUE;
}
