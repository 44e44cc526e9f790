/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the luoctl commands share.  main.c parses the global options into a
 * struct luoctl and hands it to the command; every command lives in a file
 * of its own and is described by a struct luoctl_cmd.  Nothing in luoctl is
 * global and mutable: what a command needs comes through the context.
 *
 * Conventions: helpers return 0 or a negative errno and report nothing,
 * unless their name ends in _or_fail, in which case they report and return
 * 0 or an exit status.  Option parsers return LUOCTL_CONTINUE to go on, or
 * the exit status to end the command with (0 after --help).
 */
#ifndef LUOCTL_H
#define LUOCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "macro.h"

#define EXIT_USAGE 2
#define LUOCTL_CONTINUE (-1)

/* The options given before the command, and what the run owns. */
struct luoctl {
	const char *device;         /* NULL: LUO_DEVICE_PATH */
	bool fake;                  /* --fake */
	enum luo_abi abi;
	bool verbose;
	const char **incoming;      /* --fake-incoming NAME=FILE, in order */
	size_t n_incoming;
	luo_fake_t *fake_kernel;    /* with --fake: made by luoctl_fake_boot() */
};

struct luoctl_cmd {
	const char *name;
	/* Its block of "luoctl --help", lines indented by two spaces. */
	const char *help;
	/* argv[0] is the command's name; returns the exit status. */
	int (*run)(struct luoctl *l, int argc, char **argv);
};

extern const struct luoctl_cmd luoctl_cmd_status;
extern const struct luoctl_cmd luoctl_cmd_hold;
extern const struct luoctl_cmd luoctl_cmd_restore;
extern const struct luoctl_cmd luoctl_cmd_list;
extern const struct luoctl_cmd luoctl_cmd_finish;
extern const struct luoctl_cmd luoctl_cmd_state;
extern const struct luoctl_cmd luoctl_cmd_prepare;
extern const struct luoctl_cmd luoctl_cmd_cancel;
extern const struct luoctl_cmd luoctl_cmd_finish_all;

/* main.c: the whole of "luoctl --help", which every command's -h shows. */
void luoctl_help(FILE *f);

/* ---- shared.c: messages and option parsing ---------------------------- */

/* "luoctl: MESSAGE" and a pointer to --help on stderr.  Returns 2. */
__attribute__((format(printf, 1, 2)))
int luoctl_usage_error(const char *fmt, ...);

/* "luoctl: WHAT: strerror(err)" and, if given, "luoctl: hint: HINT".
 * @err may be an errno or a negative errno.  Returns 1. */
int luoctl_fail(int err, const char *what, const char *hint);

/* Hints for the errors of luo_ctx_new(), and of luo_session_create()
 * (@create) or luo_session_retrieve(). */
const char *luoctl_open_hint(int err);
const char *luoctl_session_hint(int err, bool create);

const char *luoctl_abi_name(enum luo_abi abi);

/* A token: decimal, 0x hexadecimal or 0 octal, no sign.  -EINVAL. */
int luoctl_parse_token(const char *s, uint64_t *ret);

/* The getopt_long() answers every command handles alike: 'h' prints the
 * help (exit status 0), anything else is a usage error (2). */
int luoctl_opt_other(int c);

/*
 * Parse the options of a command that takes at most --session: @session
 * required when @need_session, refused otherwise.  Returns LUOCTL_CONTINUE
 * or an exit status.
 */
int luoctl_parse_session_only(int argc, char **argv, const char **session,
			      bool need_session);

/* ---- context.c: the kernel the command talks to ----------------------- */

/*
 * With --fake: make the fake kernel, and with --fake-incoming take it
 * through a first boot that preserves the files and a kexec, so that the
 * command finds them in incoming sessions.  Reports a failure; returns 0 or
 * an exit status.  main.c calls it before the command, and drops
 * l->fake_kernel after it.
 */
int luoctl_fake_boot_or_fail(struct luoctl *l);

/* A context on the device (or the fake kernel).  Reports nothing. */
int luoctl_open(const struct luoctl *l, luo_ctx_t **ret);
/* The same, reporting a failure.  Returns 0 or an exit status. */
int luoctl_open_or_fail(const struct luoctl *l, luo_ctx_t **ret);

/*
 * On the mainline ABI libluo answers luo_get_state() by retrieving its
 * manifest session, which the kernel hands out once per boot and finishes
 * when luoctl exits: the program that should restore the tokens would then
 * find nothing.  The RFC kernel's state, and a fake kernel, are harmless.
 */
bool luoctl_state_query_consumes(const struct luoctl *l, enum luo_abi abi);

/* luo_session_finish(), retried while the kernel says -EBUSY. */
int luoctl_finish_session(luo_session_t *session);

static inline void luoctl_ctx_unrefp(luo_ctx_t **ctx)
{
	luo_ctx_unref(*ctx);
}
#define _cleanup_ctx_ _cleanup_(luoctl_ctx_unrefp)

/*
 * luo_session_close(LUO_SESSION_CLOSE_FORCE): for the sessions luoctl is
 * done with, where that loss is the intent.  An outgoing session
 * unpreserves its files; an incoming one is finished by the kernel.
 */
static inline void luoctl_session_close_forcep(luo_session_t **session)
{
	if (*session)
		luo_session_close(*session, LUO_SESSION_CLOSE_FORCE);
}
#define _cleanup_session_force_ _cleanup_(luoctl_session_close_forcep)

/* ---- fileio.c: whole files (writes: luoi_write_all() of common/io.h) --- */

/* A new memfd (O_CLOEXEC, file offset 0) with the bytes of @path. */
int luoctl_memfd_from_file(const char *path, int *ret);

/* Copy all of @fd, from offset 0 whatever its file offset, to @out; the
 * number of bytes in *copied (also after a failure). */
int luoctl_copy_out(int fd, int out, off_t *copied);

/*
 * An output of restore, opened for writing without truncating it (an
 * existing file keeps its bytes until the session is taken).  *created:
 * it did not exist; *regular: it is a regular file, which is to be
 * truncated before it is written (FIFOs, pipes and devices such as
 * /dev/null cannot be).  Returns the descriptor or a negative errno.
 */
int luoctl_open_output(const char *path, bool *created, bool *regular);

#endif /* LUOCTL_H */
