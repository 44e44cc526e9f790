/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl hold --session NAME [--first-token N] FILE... [-- COMMAND [ARG...]]
 *
 * Preserve each FILE (copied into a memfd) in a new outgoing session and
 * keep the session open, so that a kexec reboot in that time carries the
 * files, until SIGINT or SIGTERM or until COMMAND exits.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "luoctl.h"

extern char **environ;

struct hold_args {
	const char *name;
	uint64_t first_token;
	char **files;      /* NULL-terminated */
	char **cmd;        /* after "--", or NULL */
};

/* LUOCTL_CONTINUE (after luoctl_start_or_fail()) or an exit status.
 * Cuts argv at "--". */
static int parse_args(struct luoctl *l, int argc, char **argv,
		      struct hold_args *a)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "first-token", required_argument, NULL, 't' },
		LUOCTL_GLOBAL_LONGOPTS,
		{ 0 },
	};
	int c, r;

	/* "--" ends the files; what follows it is the command to run. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc)
				a->cmd = &argv[i + 1];
			argv[i] = NULL;
			argc = i;
			break;
		}
	}

	/* No "+": options and files may come in any order. */
	optind = 0;
	while ((c = luoctl_getopt(l, argc, argv,
				  ":s:t:h" LUOCTL_GLOBAL_SHORTOPTS,
				  longopts)) != -1) {
		switch (c) {
		case 's':
			a->name = optarg;
			break;
		case 't':
			if (luoctl_parse_token(optarg, &a->first_token) < 0)
				return luoctl_usage_error(l, "invalid token: "
							  "%s", optarg);
			break;
		default:
			return luoctl_opt_other(l, c);
		}
	}
	if (!a->name)
		return luoctl_usage_error(l, "%s: --session NAME is required",
					  argv[0]);
	if (optind >= argc)
		return luoctl_usage_error(l, "%s: no FILE to preserve",
					  argv[0]);
	if ((uint64_t)(argc - optind - 1) > UINT64_MAX - a->first_token)
		return luoctl_usage_error(l, "%s: the tokens would overflow",
					  argv[0]);
	a->files = &argv[optind];
	r = luoctl_start_or_fail(l);
	return r ? r : LUOCTL_CONTINUE;
}

/* How the hold ended, for the "released" object. */
struct ending {
	int signal;         /* the signal that ended it (no command), or 0 */
	int status;         /* the command's exit status for luoctl (126,
			     * 127: it did not run), or -1 */
	int killed_by;      /* the signal that killed it, or 0 */
};

/*
 * Run @cmd with default signal handling and luoctl's original soft
 * RLIMIT_NOFILE, wait for it, and forward to it the signals of @mask
 * (except SIGCHLD) that luoctl gets meanwhile.  Returns the exit status
 * for luoctl: the command's, 128+N when signal N killed it (as a shell
 * says), 127 when it was not found and 126 when it could not be run.
 */
static int run_and_wait(struct luoctl *l, char **cmd,
			const sigset_t *mask, struct ending *e)
{
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int r, status;
	pid_t pid;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	/* The command inherits the limit luoctl was given (a soft limit
	 * above FD_SETSIZE breaks select()), not the one it raised. */
	luoctl_restore_nofile(l);
	r = posix_spawnp(&pid, cmd[0], NULL, &attr, cmd, environ);
	(void)luoctl_raise_nofile(l);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		_cleanup_free_ char *msg = NULL;

		/* as a shell says it: 127 not found, 126 not runnable */
		e->status = r == ENOENT ? 127 : 126;
		if (asprintf(&msg, "%s: %s", cmd[0], strerror(r)) < 0)
			msg = NULL;
		return luoctl_fail_msg(l, e->status, r, msg ? msg : cmd[0],
				       "cannot run the command");
	}

	for (;;) {
		siginfo_t info;
		pid_t w;

		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return luoctl_fail(l, errno, "waitpid", NULL);
		if (sigwaitinfo(mask, &info) < 0)
			continue;
		if (info.si_signo != SIGCHLD)
			kill(pid, info.si_signo);
	}

	if (WIFEXITED(status)) {
		e->status = WEXITSTATUS(status);
		if (e->status != 0)
			fprintf(stderr, "luoctl: %s exited with status %d\n",
				cmd[0], e->status);
	} else if (WIFSIGNALED(status)) {
		e->killed_by = WTERMSIG(status);
		e->status = 128 + e->killed_by;
		fprintf(stderr, "luoctl: %s was killed by signal %d (%s)\n",
			cmd[0], e->killed_by, strsignal(e->killed_by));
	}
	return e->status;
}

/* Create the session; the device is let go of at once.  0 or exit status. */
static int create_session(const struct luoctl *l, const char *name,
			  luo_session_t **ret)
{
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	int r;

	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_session_create(ctx, name, ret);
	if (r < 0)
		return luoctl_fail(l, r, "cannot create the session",
				   luoctl_session_hint(r, true));
	/* A hold needs only its session (which holds its own reference on
	 * the context): let go of the single-open device so that other
	 * programs can use it meanwhile. */
	luo_ctx_close_device(ctx);
	return 0;
}

/* Preserve the files under their tokens and print "TOKEN<TAB>FILE" (or a
 * "preserved" object) for each.  Returns 0 or an exit status. */
static int preserve_files(const struct luoctl *l, luo_session_t *session,
			  const struct hold_args *a)
{
	uint64_t token = a->first_token;

	for (char **f = a->files; *f; f++, token++) {
		_cleanup_close_ int fd = -1;
		int r;

		r = luoctl_memfd_from_file(*f, &fd);
		if (r < 0)
			return luoctl_fail(l, r, *f, NULL);
		/* The kernel keeps its own reference to a preserved file.
		 * The file's name is its label in the session's record:
		 * "luoctl restore --label FILE" finds it after the update. */
		r = luo_session_preserve_fd_labeled(session, fd, token, *f);
		if (r < 0)
			return luoctl_fail(l, r, *f,
					   -r == ENOSPC ? "the session is full" :
					   -r == EEXIST ? "a FILE is named twice" :
					   -r == EINVAL ? "a FILE name is longer "
							  "than 255 bytes" :
							  NULL);
		if (l->json) {
			struct luoctl_json j;

			luoctl_json_begin(&j, "preserved");
			luoctl_json_str(&j, "session", a->name);
			luoctl_json_u64(&j, "token", token);
			luoctl_json_str(&j, "file", *f);
			luoctl_json_str(&j, "label", *f);
			luoctl_json_end(&j);
		} else {
			printf("%" PRIu64 "\t%s\n", token, *f);
		}
	}
	fflush(stdout);
	return 0;
}

/*
 * Everything is preserved: tell the service manager (READY=1 over
 * $NOTIFY_SOCKET, when set) and whoever reads stdout ("holding<TAB>NAME",
 * or a "holding" object).
 */
static void announce(const struct luoctl *l, const struct hold_args *a)
{
	_cleanup_free_ char *state = NULL;
	size_t n = 0;
	int r;

	for (char **f = a->files; *f; f++)
		n++;
	if (asprintf(&state, "READY=1\nSTATUS=holding session %s (%zu "
		     "files)\nMAINPID=%ld\n", a->name, n, (long)getpid()) < 0)
		state = NULL;
	r = luoctl_sd_notify(state ? state : "READY=1\n");
	if (r < 0)
		fprintf(stderr, "luoctl: warning: cannot notify $NOTIFY_SOCKET "
			"(%s): %s\n", getenv("NOTIFY_SOCKET"), strerror(-r));
	if (l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "holding");
		luoctl_json_str(&j, "session", a->name);
		luoctl_json_u64(&j, "files", n);
		luoctl_json_i64(&j, "pid", getpid());
		luoctl_json_bool(&j, "notified", r > 0);
		luoctl_json_end(&j);
	} else {
		printf("holding\t%s\n", a->name);
		fflush(stdout);
	}
}

/* Keep the session until @cmd exits or, without one, until a signal.
 * Returns the exit status. */
static int wait_for_the_end(struct luoctl *l, const char *name,
			    char **cmd, const sigset_t *mask, struct ending *e)
{
	int sig;

	if (cmd) {
		fprintf(stderr, "luoctl: holding session \"%s\" while %s runs\n",
			name, cmd[0]);
		return run_and_wait(l, cmd, mask, e);
	}
	fprintf(stderr, "luoctl: holding session \"%s\" (pid %ld): kexec now; "
		"SIGINT or SIGTERM releases it\n", name, (long)getpid());
	while (sigwait(mask, &sig) != 0)
		;
	e->signal = sig;
	return EXIT_SUCCESS;
}

/* {"type":"released","session":NAME,"signal":N|null,"command_status":N|null,
 *  "command_signal":N|null}: command_status is 126 or 127 when the command
 * could not be run. */
static void print_released(const struct luoctl *l, const char *name,
			   const struct ending *e)
{
	struct luoctl_json j;

	if (!l->json)
		return;
	luoctl_json_begin(&j, "released");
	luoctl_json_str(&j, "session", name);
	if (e->signal)
		luoctl_json_i64(&j, "signal", e->signal);
	else
		luoctl_json_str(&j, "signal", NULL);
	if (e->status >= 0 && !e->killed_by)
		luoctl_json_i64(&j, "command_status", e->status);
	else
		luoctl_json_str(&j, "command_status", NULL);
	if (e->killed_by)
		luoctl_json_i64(&j, "command_signal", e->killed_by);
	else
		luoctl_json_str(&j, "command_signal", NULL);
	luoctl_json_end(&j);
}

static int run(struct luoctl *l, int argc, char **argv)
{
	struct hold_args a = { .first_token = 1 };
	struct ending e = { .status = -1 };
	luo_session_t *session = NULL;
	bool announced;
	sigset_t mask;
	int r, ret;

	r = parse_args(l, argc, argv, &a);
	if (r != LUOCTL_CONTINUE)
		return r;

	/*
	 * Block the signals that end the hold before anything is preserved,
	 * so that one arriving early is not lost; sigwaitinfo() takes them.
	 * A hold outlives its terminal: SIGHUP is ignored.  And a reader of
	 * its stdout that went away (after "holding") is no reason to
	 * release the session and lose the command's exit status: SIGPIPE
	 * is ignored too (the command gets both back).
	 */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (a.cmd)
		sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = create_session(l, a.name, &session);
	if (r)
		return r;
	ret = preserve_files(l, session, &a);
	announced = ret == 0;
	if (announced) {
		announce(l, &a);
		ret = wait_for_the_end(l, a.name, a.cmd, &mask, &e);
	}

	/* Closing an outgoing session unpreserves every file in it. */
	r = luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	if (r < 0)
		return luoctl_fail(l, r, "cannot close the session", NULL);
	fprintf(stderr, "luoctl: released session \"%s\": its files are no "
		"longer preserved\n", a.name);
	if (announced)
		print_released(l, a.name, &e);
	return ret;
}

const struct luoctl_cmd luoctl_cmd_hold = {
	.name = "hold",
	.synopsis =
"hold --session NAME [--first-token N] FILE... [-- COMMAND [ARG...]]\n",
	.help =
"copy each FILE into a memfd and preserve it in a new\n"
"session, labeled FILE, under tokens N, N+1, ...\n"
"(default N = 1; printed as \"TOKEN<TAB>FILE\"), print\n"
"\"holding<TAB>NAME\" (and send READY=1 to $NOTIFY_SOCKET),\n"
"then keep the session open until SIGINT or SIGTERM, or\n"
"until COMMAND exits, with COMMAND's exit status.  A kexec\n"
"reboot in that time carries the files to the next kernel;\n"
"when luoctl stops holding, they are unpreserved.\n",
	.run = run,
};
