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
 * This file is the dispatcher: the global options before the command, the
 * command table and the help.  Each command is in a file of its own, and
 * parses its options with luoctl_getopt(), which takes the global options
 * after the command too.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "luoctl.h"

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

#define HELP_INDENT 16

static const char exit_status_help[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  failure\n"
	"  2  usage error\n"
	"  3  no LUO device, or a kernel without LUO (ENOENT, ENODEV, ENXIO\n"
	"     or EPROTO opening the device)\n"
	"  4  the device is busy: another process holds it (EBUSY)\n"
	"  5  no such session, token or label\n"
	"  hold -- COMMAND exits with COMMAND's status once it ran: 128+N\n"
	"  when signal N killed it, 126 or 127 when it could not be run.\n";

/* Print @text, a line at a time, each indented by @indent spaces. */
static void put_indented(const char *text, int indent, FILE *f)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		fprintf(f, "%*s%.*s\n", indent, "", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

/* A command's block of "luoctl --help": its synopsis lines indented by
 * two, its help by HELP_INDENT, on the synopsis' line when it fits. */
static void cmd_block(const struct luoctl_cmd *cmd, FILE *f)
{
	const char *syn = cmd->synopsis;
	size_t n = strcspn(syn, "\n");

	if (syn[n] == '\n' && syn[n + 1] == '\0' && n + 3 <= HELP_INDENT) {
		size_t h = strcspn(cmd->help, "\n");

		fprintf(f, "  %-*.*s%.*s\n", HELP_INDENT - 2, (int)n, syn,
			(int)h, cmd->help);
		put_indented(cmd->help + h + (cmd->help[h] == '\n'),
			     HELP_INDENT, f);
		return;
	}
	put_indented(syn, 2, f);
	put_indented(cmd->help, HELP_INDENT, f);
}

void luoctl_help(FILE *f)
{
	fputs("Usage: luoctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Inspect and drive the Linux Live Update Orchestrator "
	      "(/dev/liveupdate).\n"
	      "\n"
	      "Options (before or after the command):\n"
	      "  -d, --device PATH   device node (default " LUO_DEVICE_PATH ")\n"
	      "  -f, --fake          use a fresh in-memory fake kernel; nothing persists\n"
	      "                      from one run to the next (for trying luoctl out)\n"
	      "      --fake-incoming NAME=FILE\n"
	      "                      with --fake: start the fake kernel as after a live\n"
	      "                      update that carried FILE in session NAME, under\n"
	      "                      token 1, 2, ... in the order given (repeatable)\n"
	      "      --fake-error OP=ERRNO\n"
	      "                      with --fake: the first request OP (open,\n"
	      "                      create-session, retrieve-session, preserve,\n"
	      "                      retrieve, finish, unpreserve, prepare) fails with\n"
	      "                      ERRNO (a name such as EBUSY, or a number)\n"
	      "  -a, --abi ABI       auto (default), mainline or rfc\n"
	      "  -j, --json          print JSON objects, one a line, on stdout (errors\n"
	      "                      too); the schema is in luoctl(1)\n"
	      "  -v, --verbose       log what libluo does to stderr\n"
	      "  -h, --help          show this help, or after COMMAND the command's\n"
	      "  -V, --version       show the version\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < LUOI_ELEMENTSOF(commands); i++) {
		if (commands[i])
			cmd_block(commands[i], f);
		else
			fputc('\n', f);
	}
	fputc('\n', f);
	fputs(exit_status_help, f);
	fputs("See luoctl(1).\n", f);
}

void luoctl_cmd_help(const struct luoctl_cmd *cmd, FILE *f)
{
	const char *syn = cmd->synopsis;

	while (*syn) {
		size_t n = strcspn(syn, "\n");

		fprintf(f, "%s luoctl [OPTIONS] %.*s\n",
			syn == cmd->synopsis ? "Usage:" : "      ", (int)n,
			syn);
		syn += n + (syn[n] == '\n');
	}
	fputc('\n', f);
	put_indented(cmd->help, 2, f);
	fputs("\n"
	      "OPTIONS, the global options of 'luoctl --help', may also follow\n"
	      "the command.  The exit statuses are in 'luoctl --help' and\n"
	      "luoctl(1).\n", f);
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
	free(l->fake_errors);
	luo_fake_unref(l->fake_kernel);
}

/* The options before the command.  LUOCTL_CONTINUE or an exit status. */
static int parse_global(struct luoctl *l, int argc, char **argv)
{
	static const struct option longopts[] = {
		LUOCTL_GLOBAL_LONGOPTS,
		{ 0 },
	};
	int c;

	/* "+": stop at the command; its options are parsed by the command.
	 * luoctl_getopt() takes the global options itself. */
	c = luoctl_getopt(l, argc, argv, "+:h" LUOCTL_GLOBAL_SHORTOPTS,
			  longopts);
	if (c != -1)
		return luoctl_opt_other(l, c);
	if (optind >= argc)
		return luoctl_usage_error(l, "no command given");
	return LUOCTL_CONTINUE;
}

int main(int argc, char **argv)
{
	struct luoctl l _cleanup_(luoctl_done) = { .abi = LUO_ABI_AUTO };
	const struct luoctl_cmd *cmd;
	int r;

	/* --fake-incoming, --fake-error: at most one per argument */
	l.incoming = calloc((size_t)argc, sizeof(*l.incoming));
	l.fake_errors = calloc((size_t)argc, sizeof(*l.fake_errors));
	if (!l.incoming || !l.fake_errors)
		return luoctl_fail(&l, -ENOMEM, "luoctl", NULL);
	r = parse_global(&l, argc, argv);
	if (r != LUOCTL_CONTINUE)
		return r;
	cmd = find_command(argv[optind]);
	if (!cmd)
		return luoctl_usage_error(&l, "unknown command: %s",
					  argv[optind]);
	l.cmd = cmd;
	/* The command parses its options, then calls luoctl_start_or_fail(). */
	return cmd->run(&l, argc - optind, argv + optind);
}
