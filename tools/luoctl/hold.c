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

/* LUOCTL_CONTINUE or an exit status.  Cuts argv at "--". */
static int parse_args(int argc, char **argv, struct hold_args *a)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "first-token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

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

	optind = 0;
	while ((c = getopt_long(argc, argv, "s:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->name = optarg;
			break;
		case 't':
			if (luoctl_parse_token(optarg, &a->first_token) < 0)
				return luoctl_usage_error("invalid token: %s",
							  optarg);
			break;
		default:
			return luoctl_opt_other(c);
		}
	}
	if (!a->name)
		return luoctl_usage_error("%s: --session NAME is required",
					  argv[0]);
	if (optind >= argc)
		return luoctl_usage_error("%s: no FILE to preserve", argv[0]);
	if ((uint64_t)(argc - optind - 1) > UINT64_MAX - a->first_token)
		return luoctl_usage_error("%s: the tokens would overflow",
					  argv[0]);
	a->files = &argv[optind];
	return LUOCTL_CONTINUE;
}

/*
 * Run @cmd with default signal handling, wait for it, and forward to it the
 * signals of @mask (except SIGCHLD) that luoctl gets meanwhile.  Returns
 * the exit status for luoctl.
 */
static int run_and_wait(char **cmd, const sigset_t *mask)
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
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(&pid, cmd[0], NULL, &attr, cmd, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return luoctl_fail(r, cmd[0], "cannot run the command");

	for (;;) {
		siginfo_t info;
		pid_t w;

		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return luoctl_fail(errno, "waitpid", NULL);
		if (sigwaitinfo(mask, &info) < 0)
			continue;
		if (info.si_signo != SIGCHLD)
			kill(pid, info.si_signo);
	}

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EXIT_SUCCESS;
	if (WIFEXITED(status))
		fprintf(stderr, "luoctl: %s exited with status %d\n", cmd[0],
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "luoctl: %s was killed by signal %d (%s)\n",
			cmd[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
	return EXIT_FAILURE;
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
		return luoctl_fail(r, "cannot create the session",
				   luoctl_session_hint(r, true));
	/* A hold needs only its session (which holds its own reference on
	 * the context): let go of the single-open device so that other
	 * programs can use it meanwhile. */
	luo_ctx_close_device(ctx);
	return 0;
}

/* Preserve the files under their tokens and print "TOKEN<TAB>FILE".
 * Returns 0 or an exit status. */
static int preserve_files(luo_session_t *session, const struct hold_args *a)
{
	uint64_t token = a->first_token;

	for (char **f = a->files; *f; f++, token++) {
		_cleanup_close_ int fd = -1;
		int r;

		r = luoctl_memfd_from_file(*f, &fd);
		if (r < 0)
			return luoctl_fail(r, *f, NULL);
		/* The kernel keeps its own reference to a preserved file.
		 * The file's name is its label in the session's record:
		 * "luoctl restore --label FILE" finds it after the update. */
		r = luo_session_preserve_fd_labeled(session, fd, token, *f);
		if (r < 0)
			return luoctl_fail(r, *f,
					   -r == ENOSPC ? "the session is full" :
					   -r == EEXIST ? "a FILE is named twice" :
					   -r == EINVAL ? "a FILE name is longer "
							  "than 255 bytes" :
							  NULL);
		printf("%" PRIu64 "\t%s\n", token, *f);
	}
	fflush(stdout);
	return 0;
}

/* Keep the session until @cmd exits or, without one, until a signal. */
static int wait_for_the_end(const char *name, char **cmd,
			    const sigset_t *mask)
{
	int sig;

	if (cmd) {
		fprintf(stderr, "luoctl: holding session \"%s\" while %s runs\n",
			name, cmd[0]);
		return run_and_wait(cmd, mask);
	}
	fprintf(stderr, "luoctl: holding session \"%s\" (pid %ld): kexec now; "
		"SIGINT or SIGTERM releases it\n", name, (long)getpid());
	while (sigwait(mask, &sig) != 0)
		;
	return EXIT_SUCCESS;
}

static int run(struct luoctl *l, int argc, char **argv)
{
	struct hold_args a = { .first_token = 1 };
	luo_session_t *session = NULL;
	sigset_t mask;
	int r, ret;

	r = parse_args(argc, argv, &a);
	if (r != LUOCTL_CONTINUE)
		return r;

	/*
	 * Block the signals that end the hold before anything is preserved,
	 * so that one arriving early is not lost; sigwaitinfo() takes them.
	 * A hold outlives its terminal: SIGHUP is ignored.
	 */
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (a.cmd)
		sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = create_session(l, a.name, &session);
	if (r)
		return r;
	ret = preserve_files(session, &a);
	if (ret == 0)
		ret = wait_for_the_end(a.name, a.cmd, &mask);

	/* Closing an outgoing session unpreserves every file in it. */
	r = luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	if (r < 0)
		return luoctl_fail(r, "cannot close the session", NULL);
	fprintf(stderr, "luoctl: released session \"%s\": its files are no "
		"longer preserved\n", a.name);
	return ret;
}

const struct luoctl_cmd luoctl_cmd_hold = {
	.name = "hold",
	.help =
"  hold --session NAME [--first-token N] FILE... [-- COMMAND [ARG...]]\n"
"                copy each FILE into a memfd and preserve it in a new\n"
"                session, labeled FILE, under tokens N, N+1, ...\n"
"                (default N = 1; printed\n"
"                as \"TOKEN<TAB>FILE\"), then keep the session open until\n"
"                SIGINT or SIGTERM, or until COMMAND exits.  A kexec\n"
"                reboot in that time carries the files to the next kernel;\n"
"                when luoctl stops holding, they are unpreserved.\n",
	.run = run,
};
