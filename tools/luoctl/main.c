/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl - inspect and drive the Linux Live Update Orchestrator from a shell.
 *
 * A session lives as long as a descriptor of it is open, so a command that
 * preserved files and exited would have preserved nothing.  "hold" therefore
 * keeps running (until a signal, or until a given command ends) with its
 * session open; the kexec reboot has to happen during that time.  After the
 * reboot "restore" takes the session back and writes the files out.
 *
 * This file is the dispatcher: the global options, the command table, the
 * help and the version.  Each command is in a file of its own.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "luoctl.h"

#ifndef LUOCTL_VERSION
#define LUOCTL_VERSION "unknown"
#endif

/* In the order of the help; NULL puts a blank line there. */
static const struct luoctl_cmd *const commands[] = {
	&luoctl_cmd_status,
	NULL,
	&luoctl_cmd_hold,
	&luoctl_cmd_restore,
	&luoctl_cmd_list,
	&luoctl_cmd_finish,
	NULL,
	&luoctl_cmd_state,
	&luoctl_cmd_prepare,
	&luoctl_cmd_cancel,
	&luoctl_cmd_finish_all,
};

void luoctl_help(FILE *f)
{
	fputs("Usage: luoctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Inspect and drive the Linux Live Update Orchestrator "
	      "(/dev/liveupdate).\n"
	      "\n"
	      "Options:\n"
	      "  -d, --device PATH   device node (default " LUO_DEVICE_PATH ")\n"
	      "  -f, --fake          use a fresh in-memory fake kernel; nothing persists\n"
	      "                      from one run to the next (for trying luoctl out)\n"
	      "      --fake-incoming NAME=FILE\n"
	      "                      with --fake: start the fake kernel as after a live\n"
	      "                      update that carried FILE in session NAME, under\n"
	      "                      token 1, 2, ... in the order given (repeatable)\n"
	      "  -a, --abi ABI       auto (default), mainline or rfc\n"
	      "  -v, --verbose       log what libluo does to stderr\n"
	      "  -h, --help          show this help\n"
	      "  -V, --version       show the version\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < LUOI_ELEMENTSOF(commands); i++)
		fputs(commands[i] ? commands[i]->help : "\n", f);
	fputs("\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.  "
	      "See luoctl(1).\n", f);
}

static const struct luoctl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < LUOI_ELEMENTSOF(commands); i++)
		if (commands[i] && strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void luoctl_done(struct luoctl *l)
{
	free(l->incoming);
	luo_fake_unref(l->fake_kernel);
}

static int parse_abi(const char *s, enum luo_abi *abi)
{
	if (strcmp(s, "auto") == 0)
		*abi = LUO_ABI_AUTO;
	else if (strcmp(s, "mainline") == 0)
		*abi = LUO_ABI_MAINLINE;
	else if (strcmp(s, "rfc") == 0)
		*abi = LUO_ABI_RFC;
	else
		return luoctl_usage_error("unknown ABI: %s", s);
	return LUOCTL_CONTINUE;
}

/* The options before the command.  LUOCTL_CONTINUE or an exit status. */
static int parse_global(struct luoctl *l, int argc, char **argv)
{
	enum { OPT_FAKE_INCOMING = 0x100 };
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "fake", no_argument, NULL, 'f' },
		{ "fake-incoming", required_argument, NULL, OPT_FAKE_INCOMING },
		{ "abi", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c, r;

	l->incoming = calloc((size_t)argc, sizeof(*l->incoming));
	if (!l->incoming)
		return luoctl_fail(-ENOMEM, "luoctl", NULL);

	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+d:fa:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			l->device = optarg;
			break;
		case 'f':
			l->fake = true;
			break;
		case OPT_FAKE_INCOMING:
			if (!strchr(optarg, '='))
				return luoctl_usage_error("--fake-incoming %s: "
							  "not NAME=FILE", optarg);
			l->incoming[l->n_incoming++] = optarg;
			break;
		case 'a':
			r = parse_abi(optarg, &l->abi);
			if (r != LUOCTL_CONTINUE)
				return r;
			break;
		case 'v':
			l->verbose = true;
			break;
		case 'V':
			/* the library it runs with may be newer */
			printf("luoctl %s (libluo %d.%d.%d)\n", LUOCTL_VERSION,
			       luo_version() / 10000, luo_version() / 100 % 100,
			       luo_version() % 100);
			return EXIT_SUCCESS;
		default:
			return luoctl_opt_other(c);
		}
	}
	if (optind >= argc)
		return luoctl_usage_error("no command given");
	if (l->fake && l->device)
		return luoctl_usage_error("--fake and --device exclude each other");
	if (l->n_incoming > 0 && !l->fake)
		return luoctl_usage_error("--fake-incoming needs --fake");
	if (l->n_incoming > 0 && l->abi == LUO_ABI_RFC)
		return luoctl_usage_error("--fake-incoming needs the mainline "
					  "ABI: sessions");
	return LUOCTL_CONTINUE;
}

int main(int argc, char **argv)
{
	struct luoctl l _cleanup_(luoctl_done) = { .abi = LUO_ABI_AUTO };
	const struct luoctl_cmd *cmd;
	int r;

	r = parse_global(&l, argc, argv);
	if (r != LUOCTL_CONTINUE)
		return r;
	cmd = find_command(argv[optind]);
	if (!cmd)
		return luoctl_usage_error("unknown command: %s", argv[optind]);
	r = luoctl_fake_boot_or_fail(&l);
	if (r)
		return r;
	return cmd->run(&l, argc - optind, argv + optind);
}
