/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the luoctl commands share.  main.c parses the global options before
 * the command into a struct luoctl and hands it to the command, which
 * parses its own options with luoctl_getopt() (taking the global options
 * that follow the command into the same struct) and then calls
 * luoctl_start_or_fail().  Every command lives in a file of its own and is
 * described by a struct luoctl_cmd.  Nothing in luoctl is global and
 * mutable: what a command needs comes through the context.
 *
 * Conventions: helpers return 0 or a negative errno and report nothing,
 * unless their name ends in _or_fail, in which case they report and return
 * 0 or an exit status.  Option parsers return LUOCTL_CONTINUE to go on, or
 * the exit status to end the command with (0 after --help).  Every report
 * goes through luoctl_fail*() or luoctl_usage_error(): "luoctl: " on
 * stderr, an error object on stdout with --json, and the exit status of
 * luoctl_exit_status().
 */
#ifndef LUOCTL_H
#define LUOCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "macro.h"

#ifndef LUOCTL_VERSION
#define LUOCTL_VERSION "unknown"
#endif

/*
 * The exit statuses, documented in luoctl(1) and "luoctl --help".
 * luoctl_exit_status() in shared.c is the one place that maps an error
 * to one of them.  "hold -- COMMAND" exits with COMMAND's status instead.
 */
enum {
	LUOCTL_EXIT_FAILURE = 1,
	LUOCTL_EXIT_USAGE = 2,
	LUOCTL_EXIT_NO_DEVICE = 3,  /* no device, or a kernel without LUO */
	LUOCTL_EXIT_BUSY = 4,       /* another process holds the device */
	LUOCTL_EXIT_NOT_FOUND = 5,  /* no such session, token or label */
};
#define EXIT_USAGE LUOCTL_EXIT_USAGE
#define LUOCTL_CONTINUE (-1)

/* What failed, for luoctl_exit_status(). */
enum luoctl_step {
	LUOCTL_STEP_OTHER,
	LUOCTL_STEP_OPEN,    /* opening the device (luo_ctx_new()) */
	LUOCTL_STEP_LOOKUP,  /* finding a session, a token or a label */
};

struct luoctl_cmd;

/* The global options (before or after the command), and what the run
 * owns. */
struct luoctl {
	const char *device;         /* NULL: LUO_DEVICE_PATH */
	bool fake;                  /* --fake */
	enum luo_abi abi;
	bool verbose;
	bool json;                  /* --json: JSON lines on stdout */
	const char **incoming;      /* --fake-incoming NAME=FILE, in order */
	size_t n_incoming;
	const char **fake_errors;   /* --fake-error OP=ERRNO, in order */
	size_t n_fake_errors;
	luo_fake_t *fake_kernel;    /* with --fake: made by luoctl_fake_boot() */
	const struct luoctl_cmd *cmd; /* the command, once it is known */
	bool nofile_raised;         /* RLIMIT_NOFILE's soft limit was raised */
	uint64_t nofile_soft;       /* from this (see luoctl_raise_nofile()) */
};

struct luoctl_cmd {
	const char *name;
	/* Its synopsis after "luoctl [OPTIONS] ", a line each (with '\n'). */
	const char *synopsis;
	/* What it does: lines without indentation, each ending in '\n'. */
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

/* main.c: "luoctl --help", and a command's own "luoctl CMD --help". */
void luoctl_help(FILE *f);
void luoctl_cmd_help(const struct luoctl_cmd *cmd, FILE *f);

/* ---- shared.c: messages, exit statuses and option parsing ------------- */

/* The exit status for @err (an errno, or a negative one) at @step:
 * the table of luoctl(1) EXIT STATUS. */
int luoctl_exit_status(enum luoctl_step step, int err);

/* "luoctl: [CMD: ]MESSAGE" and a pointer to the help on stderr, and with
 * --json an error object on stdout.  Returns 2. */
__attribute__((format(printf, 2, 3)))
int luoctl_usage_error(const struct luoctl *l, const char *fmt, ...);

/*
 * "luoctl: WHAT: strerror(err)" and, if given, "luoctl: hint: HINT" on
 * stderr, and with --json an error object on stdout.  @err may be an
 * errno or a negative errno.  Returns luoctl_exit_status(@step, @err);
 * luoctl_fail() is the step LUOCTL_STEP_OTHER, hence returns 1.
 */
int luoctl_fail_at(const struct luoctl *l, enum luoctl_step step, int err,
		   const char *what, const char *hint);
int luoctl_fail(const struct luoctl *l, int err, const char *what,
		const char *hint);
/* The same with a message of its own instead of strerror(@err) (0: no
 * errno); returns @status. */
int luoctl_fail_msg(const struct luoctl *l, int status, int err,
		    const char *message, const char *hint);

/* Hints for the errors of luo_ctx_new(), and of luo_session_create()
 * (@create) or luo_session_retrieve(). */
const char *luoctl_open_hint(int err);
const char *luoctl_session_hint(int err, bool create);

const char *luoctl_abi_name(enum luo_abi abi);

/* A token: decimal, 0x hexadecimal or 0 octal, no sign.  -EINVAL. */
int luoctl_parse_token(const char *s, uint64_t *ret);

/*
 * The global options, accepted after the command too: a command's option
 * tables end with these (its own option values must differ from them).
 * The command's short options come first, e.g. "+:s:h"
 * LUOCTL_GLOBAL_SHORTOPTS: the ':' makes a missing argument distinct.
 */
enum {
	LUOCTL_OPT_FAKE_INCOMING = 0x100,
	LUOCTL_OPT_FAKE_ERROR,
	LUOCTL_OPT_JSON,
	LUOCTL_OPT_DONE,   /* luoctl_getopt(): an error was reported (2) */
	LUOCTL_OPT_VERSION,
};
#define LUOCTL_GLOBAL_SHORTOPTS "d:fa:jvV"
#define LUOCTL_GLOBAL_LONGOPTS                                              \
	{ "device", required_argument, NULL, 'd' },                         \
	{ "fake", no_argument, NULL, 'f' },                                 \
	{ "fake-incoming", required_argument, NULL, LUOCTL_OPT_FAKE_INCOMING }, \
	{ "fake-error", required_argument, NULL, LUOCTL_OPT_FAKE_ERROR },   \
	{ "abi", required_argument, NULL, 'a' },                            \
	{ "json", no_argument, NULL, 'j' },                                 \
	{ "verbose", no_argument, NULL, 'v' },                              \
	{ "help", no_argument, NULL, 'h' },                                 \
	{ "version", no_argument, NULL, 'V' }

/*
 * getopt_long() that takes the global options into @l itself and says
 * what is wrong with an option in luoctl's words (opterr is 0).  Returns
 * the command's own options, -1 at the end, 'h', LUOCTL_OPT_VERSION, or
 * LUOCTL_OPT_DONE after a reported error: luoctl_opt_other() handles the
 * last three.
 */
int luoctl_getopt(struct luoctl *l, int argc, char **argv,
		  const char *shortopts, const struct option *longopts);

/* The luoctl_getopt() answers every command handles alike: 'h' prints the
 * command's help (exit status 0), LUOCTL_OPT_VERSION the version (0),
 * anything else is a usage error, already reported (2). */
int luoctl_opt_other(const struct luoctl *l, int c);

/*
 * Once the command's options are parsed: check the global options
 * together, raise RLIMIT_NOFILE and boot the fake kernel
 * (luoctl_fake_boot_or_fail()).  Returns 0 or an exit status.
 */
int luoctl_start_or_fail(struct luoctl *l);

/*
 * Set the soft RLIMIT_NOFILE to the hard limit: with the original API on
 * the mainline ABI each token costs a descriptor.  Remembers the soft
 * limit it first found, which luoctl_restore_nofile() puts back (for
 * the command hold runs, which may use select()).  0 or a negative errno.
 */
int luoctl_raise_nofile(struct luoctl *l);
void luoctl_restore_nofile(const struct luoctl *l);

/*
 * Parse the options of a command that takes at most --session: @session
 * required when @need_session, refused otherwise.  Returns LUOCTL_CONTINUE
 * (after luoctl_start_or_fail()) or an exit status.
 */
int luoctl_parse_session_only(struct luoctl *l, int argc, char **argv,
			      const char **session, bool need_session);

/* ---- json.c: JSON lines on stdout (--json) ------------------------------ */

/*
 * One object on one line: luoctl_json_begin(&j, "TYPE") writes
 * {"type":"TYPE", the other calls add members, luoctl_json_end() closes
 * it with a newline and flushes.  Strings are bytes: see
 * luoctl_json_string() for their escaping.
 */
struct luoctl_json {
	FILE *f;
};

void luoctl_json_begin(struct luoctl_json *j, const char *type);
void luoctl_json_str(struct luoctl_json *j, const char *key, const char *s);
void luoctl_json_u64(struct luoctl_json *j, const char *key, uint64_t v);
void luoctl_json_i64(struct luoctl_json *j, const char *key, int64_t v);
void luoctl_json_bool(struct luoctl_json *j, const char *key, bool v);
void luoctl_json_end(struct luoctl_json *j);

/*
 * @s as a JSON string, quotes included (NULL: null).  Valid UTF-8 passes
 * through; '"' and '\\' are escaped, bytes below 0x20 and 0x7f written
 * as \b \t \n \f \r or \u00XX, and each byte that is not part of valid
 * UTF-8 as \uDCXX (a lone surrogate: Python's "surrogateescape" gets the
 * byte back).
 */
void luoctl_json_string(FILE *f, const char *s);

/* ---- sd-notify.c: the service manager's notification socket ----------- */

/* Send @state ("READY=1\n...") to $NOTIFY_SOCKET, as sd_notify(3) does.
 * 1 when sent, 0 when $NOTIFY_SOCKET is unset or empty, or a negative
 * errno. */
int luoctl_sd_notify(const char *state);

/* ---- state.c: the state of the original API, as text or JSON ---------- */

/* "STATE" or {"type":"state","state":"STATE"} on stdout. */
void luoctl_print_state(const struct luoctl *l, enum luo_state state);

/* ---- context.c: the kernel the command talks to ----------------------- */

/*
 * With --fake: make the fake kernel, and with --fake-incoming take it
 * through a first boot that preserves the files and a kexec, so that the
 * command finds them in incoming sessions; then inject the errors of
 * --fake-error.  Reports a failure; returns 0 or
 * an exit status.  main.c calls it before the command, and drops
 * l->fake_kernel after it.
 */
int luoctl_fake_boot_or_fail(struct luoctl *l);

/* --fake-error OP=ERRNO: the request and the error.  -EINVAL. */
int luoctl_parse_fake_error(const char *spec, enum luo_fake_op *op,
			    int *err);

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
