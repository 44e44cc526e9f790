/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl - inspect and drive the Linux Live Update Orchestrator from a shell.
 *
 * A session lives as long as a descriptor of it is open, so a command that
 * preserved files and exited would have preserved nothing.  "hold" therefore
 * keeps running (until a signal, or until a given command ends) with its
 * session open; the kexec reboot has to happen during that time.  After the
 * reboot "restore" takes the session back and writes the files out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <libluo.h>
#include <libluo-fake.h>

#ifndef LUOCTL_VERSION
#define LUOCTL_VERSION "unknown"
#endif

#define EXIT_USAGE 2

extern char **environ;

/* Options given before the command. */
struct global {
	const char *device; /* NULL: LUO_DEVICE_PATH */
	bool fake;
	enum luo_abi abi;
	bool verbose;
};

static luo_fake_t *fake_kernel; /* with --fake: the in-memory kernel */

static const char usage_text[] =
"Usage: luoctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Inspect and drive the Linux Live Update Orchestrator (/dev/liveupdate).\n"
"\n"
"Options:\n"
"  -d, --device PATH   device node (default " LUO_DEVICE_PATH ")\n"
"  -f, --fake          use a fresh in-memory fake kernel; nothing persists\n"
"                      from one run to the next (for trying luoctl out)\n"
"  -a, --abi ABI       auto (default), mainline or rfc\n"
"  -v, --verbose       log what libluo does to stderr\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"Commands:\n"
"  status        is the device there, which ABI, which live update state\n"
"\n"
"  hold --session NAME [--first-token N] FILE... [-- COMMAND [ARG...]]\n"
"                copy each FILE into a memfd and preserve it in a new\n"
"                session under tokens N, N+1, ... (default N = 1; printed\n"
"                as \"TOKEN<TAB>FILE\"), then keep the session open until\n"
"                SIGINT or SIGTERM, or until COMMAND exits.  A kexec\n"
"                reboot in that time carries the files to the next kernel;\n"
"                when luoctl stops holding, they are unpreserved.\n"
"  restore --session NAME --token T --output FILE [--token T --output FILE]...\n"
"                after a live update, take session NAME and write the bytes\n"
"                of each token T to FILE (\"-\": stdout).  The session is\n"
"                then finished: tokens not named are discarded.\n"
"  finish --session NAME\n"
"                take session NAME and finish it, discarding its files\n"
"\n"
"  state [--force]\n"
"                print the live update state of the original libluo API\n"
"                (mainline ABI: only with --force, as asking discards\n"
"                libluo's record of the previous kernel's tokens)\n"
"  prepare       NORMAL -> PREPARED (RFC ABI only)\n"
"  cancel        PREPARED -> NORMAL (RFC ABI only)\n"
"  finish-all    UPDATED -> NORMAL: discard what was not restored\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.  See luoctl(1).\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("luoctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'luoctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Print "luoctl: WHAT: strerror" and, if there is one, a hint.  Returns 1. */
static int fail(int err, const char *what, const char *hint)
{
	fprintf(stderr, "luoctl: %s: %s\n", what, strerror(err < 0 ? -err : err));
	if (hint)
		fprintf(stderr, "luoctl: hint: %s\n", hint);
	return EXIT_FAILURE;
}

/* A hint for the errors of luo_ctx_new(). */
static const char *open_hint(int err)
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

/* A hint for the errors of luo_session_create() and _retrieve(). */
static const char *session_hint(int err, bool create)
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

static const char *abi_name(enum luo_abi abi)
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

static void log_stderr(void *userdata, int priority, const char *file,
		       int line, const char *fn, const char *format,
		       va_list args)
{
	(void)userdata;
	(void)file;
	(void)line;
	fprintf(stderr, "luoctl: libluo <%d> %s: ", priority, fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

/*
 * Create the context the command works on: the real device, or with --fake
 * a fresh fake kernel.  Returns 0 or a negative errno; reports nothing.
 */
static int open_ctx(const struct global *g, luo_ctx_t **ctx)
{
	luo_ctx_opts_t *opts;
	int r;

	r = luo_ctx_opts_new(&opts);
	if (r < 0)
		return r;
	if (g->fake) {
		r = luo_fake_new(g->abi == LUO_ABI_RFC ? LUO_ABI_RFC :
			LUO_ABI_MAINLINE, &fake_kernel);
		if (r == 0)
			r = luo_ctx_opts_set_fake(opts, fake_kernel);
	} else if (g->device) {
		r = luo_ctx_opts_set_device(opts, g->device);
	}
	if (r == 0)
		r = luo_ctx_opts_set_abi(opts, g->abi);
	if (r == 0 && g->verbose)
		r = luo_ctx_opts_set_log(opts, log_stderr, NULL, LOG_DEBUG);
	if (r == 0)
		r = luo_ctx_new(opts, ctx);
	luo_ctx_opts_free(opts);
	return r;
}

/*
 * On the mainline ABI libluo answers luo_get_state() by retrieving its
 * manifest session, which the kernel hands out once per boot and finishes
 * when luoctl exits: the program that should restore the tokens would then
 * find nothing.  The RFC kernel's state, and a fake kernel, are harmless.
 */
static bool state_query_consumes(const struct global *g, enum luo_abi abi)
{
	return abi == LUO_ABI_MAINLINE && !g->fake;
}

/* open_ctx() and report a failure.  Returns 0 or an exit status. */
static int open_ctx_or_fail(const struct global *g, luo_ctx_t **ctx)
{
	int r = open_ctx(g, ctx);

	if (r < 0)
		return fail(r, g->fake ? "fake kernel" :
			    g->device ? g->device : LUO_DEVICE_PATH,
			    open_hint(r));
	return 0;
}

static int parse_token(const char *s, uint64_t *ret)
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

/* write() all of @len bytes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new memfd holding the bytes of @path, file offset 0. */
static int memfd_from_file(const char *path, int *ret)
{
	const char *base = strrchr(path, '/');
	char buf[65536];
	int in, mfd, r = 0;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	mfd = memfd_create(base ? base + 1 : path, MFD_CLOEXEC);
	if (mfd < 0) {
		r = -errno;
		close(in);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		r = write_all(mfd, buf, (size_t)n);
		if (r < 0)
			break;
	}
	close(in);
	if (r == 0 && lseek(mfd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r < 0) {
		close(mfd);
		return r;
	}
	*ret = mfd;
	return 0;
}

/* Copy the whole of @fd (from offset 0, whatever its file offset) to @out. */
static int copy_out(int fd, int out, off_t *copied)
{
	char buf[65536];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
		off += n;
	}
	*copied = off;
	return 0;
}

/*
 * Open @path for writing without truncating it yet; *created tells whether
 * it did not exist before.
 */
static int open_output(const char *path, bool *created)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Parse the options of a command that takes at most --session.  Returns 0,
 * or an exit status (help printed or usage error).
 */
static int parse_session_only(int argc, char **argv, const char **session,
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
		switch (c) {
		case 's':
			*session = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("%s: unexpected argument", argv[optind]);
	if (need_session && !*session)
		return usage_error("%s: --session NAME is required", argv[0]);
	if (!need_session && *session)
		return usage_error("%s: takes no --session", argv[0]);
	return 0;
}

/* Wrap parse_session_only(): -1 (help shown) becomes exit status 0. */
#define PARSE_SESSION_ONLY(argc, argv, session, need)                      \
	do {                                                                 \
		int pr_ = parse_session_only(argc, argv, session, need);     \
		if (pr_)                                                     \
			return pr_ < 0 ? EXIT_SUCCESS : pr_;                 \
	} while (0)

/* ---- status, state, prepare, cancel, finish-all --------------------- */

static int cmd_status(const struct global *g, int argc, char **argv)
{
	const char *dev = g->device ? g->device : LUO_DEVICE_PATH;
	const char *session = NULL;
	enum luo_state state;
	enum luo_abi abi;
	luo_ctx_t *ctx;
	struct stat st;
	int r;

	PARSE_SESSION_ONLY(argc, argv, &session, false);

	if (g->fake) {
		printf("device:  in-memory fake kernel (--fake)\n");
	} else if (stat(dev, &st) < 0) {
		r = -errno;
		printf("device:  %s: %s\n", dev, strerror(-r));
		return fail(r, dev, open_hint(r));
	} else if (!S_ISCHR(st.st_mode)) {
		printf("device:  %s: not a character device\n", dev);
		return EXIT_FAILURE;
	} else {
		printf("device:  %s (character device %u:%u)\n", dev,
		       major(st.st_rdev), minor(st.st_rdev));
	}

	r = open_ctx(g, &ctx);
	if (r < 0) {
		printf("open:    failed: %s\n", strerror(-r));
		return fail(r, "cannot open the device", open_hint(r));
	}
	printf("open:    ok\n");

	r = luo_ctx_get_abi(ctx, &abi);
	if (r < 0) {
		luo_ctx_unref(ctx);
		return fail(r, "cannot get the ABI", NULL);
	}
	printf("abi:     %s\n", abi_name(abi));

	if (state_query_consumes(g, abi)) {
		printf("state:   not queried (mainline ABI: see 'luoctl state')\n");
		luo_ctx_unref(ctx);
		return EXIT_SUCCESS;
	}
	r = luo_get_state(ctx, &state);
	if (r < 0) {
		luo_ctx_unref(ctx);
		return fail(r, "cannot get the live update state", NULL);
	}
	printf("state:   %s\n", luo_state_to_string(state));
	luo_ctx_unref(ctx);
	return EXIT_SUCCESS;
}

static int cmd_state(const struct global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum luo_state state;
	enum luo_abi abi;
	bool force = false;
	luo_ctx_t *ctx;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+Fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			force = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("%s: unexpected argument", argv[optind]);

	r = open_ctx_or_fail(g, &ctx);
	if (r)
		return r;
	r = luo_ctx_get_abi(ctx, &abi);
	if (r == 0 && !force && state_query_consumes(g, abi)) {
		luo_ctx_unref(ctx);
		fprintf(stderr, "luoctl: state: on the mainline ABI, asking "
			"takes libluo's manifest of the previous kernel, which "
			"is lost when luoctl exits\n"
			"luoctl: hint: only the program that restores the tokens "
			"should ask; --force asks anyway\n");
		return EXIT_FAILURE;
	}
	if (r == 0)
		r = luo_get_state(ctx, &state);
	luo_ctx_unref(ctx);
	if (r < 0)
		return fail(r, "cannot get the live update state", NULL);
	printf("%s\n", luo_state_to_string(state));
	return EXIT_SUCCESS;
}

/* prepare, cancel and finish-all: one transition of the original API. */
static int transition(const struct global *g, int argc, char **argv,
		      int (*fn)(luo_ctx_t *), bool rfc_only)
{
	const char *session = NULL;
	enum luo_state state;
	enum luo_abi abi;
	luo_ctx_t *ctx;
	int r;

	PARSE_SESSION_ONLY(argc, argv, &session, false);
	r = open_ctx_or_fail(g, &ctx);
	if (r)
		return r;
	r = luo_ctx_get_abi(ctx, &abi);
	if (r == 0 && rfc_only && abi != LUO_ABI_RFC) {
		/*
		 * On the mainline ABI the state of the original API lives in
		 * the process that preserved the tokens: what luoctl would
		 * prepare is gone when it exits.
		 */
		luo_ctx_unref(ctx);
		fprintf(stderr, "luoctl: %s: not available on the mainline ABI\n"
			"luoctl: hint: there the original API's state belongs "
			"to the process that preserved the tokens; call "
			"luo_prepare()/luo_cancel() in it\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (r == 0)
		r = fn(ctx);
	if (r < 0) {
		luo_ctx_unref(ctx);
		return fail(r, argv[0], -r == EINVAL ?
			    "not allowed in the current state; see "
			    "'luoctl state'" : NULL);
	}
	r = luo_get_state(ctx, &state);
	luo_ctx_unref(ctx);
	if (r < 0)
		return fail(r, "cannot get the live update state", NULL);
	printf("%s\n", luo_state_to_string(state));
	return EXIT_SUCCESS;
}

static int cmd_prepare(const struct global *g, int argc, char **argv)
{
	return transition(g, argc, argv, luo_prepare, true);
}

static int cmd_cancel(const struct global *g, int argc, char **argv)
{
	return transition(g, argc, argv, luo_cancel, true);
}

static int cmd_finish_all(const struct global *g, int argc, char **argv)
{
	return transition(g, argc, argv, luo_finish, false);
}

/* ---- hold ------------------------------------------------------------- */

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
		return fail(r, cmd[0], "cannot run the command");

	for (;;) {
		siginfo_t info;
		pid_t w;

		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return fail(errno, "waitpid", NULL);
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

static int cmd_hold(const struct global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "first-token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	char **cmd = NULL;
	luo_session_t *session = NULL;
	luo_ctx_t *ctx = NULL;
	uint64_t token = 1;
	sigset_t mask;
	int c, i, r, ret = EXIT_FAILURE;

	/* "--" ends the files; what follows it is the command to run. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc)
				cmd = &argv[i + 1];
			argv[i] = NULL;
			argc = i;
			break;
		}
	}

	optind = 0;
	while ((c = getopt_long(argc, argv, "s:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			name = optarg;
			break;
		case 't':
			if (parse_token(optarg, &token) < 0)
				return usage_error("invalid token: %s", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			return EXIT_USAGE;
		}
	}
	if (!name)
		return usage_error("%s: --session NAME is required", argv[0]);
	if (optind >= argc)
		return usage_error("%s: no FILE to preserve", argv[0]);
	if ((uint64_t)(argc - optind - 1) > UINT64_MAX - token)
		return usage_error("%s: the tokens would overflow", argv[0]);

	/*
	 * Block the signals that end the hold before anything is preserved,
	 * so that one arriving early is not lost; sigwaitinfo() takes them.
	 * A hold outlives its terminal: SIGHUP is ignored.
	 */
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (cmd)
		sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = open_ctx_or_fail(g, &ctx);
	if (r)
		return r;
	r = luo_session_create(ctx, name, &session);
	/* A hold needs only its session: let go of the single-open device so
	 * that other programs can use it meanwhile. */
	if (r == 0)
		luo_ctx_close_device(ctx);
	/* The session holds its own reference on the context. */
	luo_ctx_unref(ctx);
	if (r < 0)
		return fail(r, "cannot create the session",
			    session_hint(r, true));

	for (i = optind; i < argc; i++, token++) {
		int fd;

		r = memfd_from_file(argv[i], &fd);
		if (r < 0) {
			fail(r, argv[i], NULL);
			goto out;
		}
		r = luo_session_preserve_fd(session, fd, token);
		/* The kernel keeps its own reference to a preserved file. */
		close(fd);
		if (r < 0) {
			fail(r, argv[i], -r == ENOSPC ?
			     "the session is full" : NULL);
			goto out;
		}
		printf("%" PRIu64 "\t%s\n", token, argv[i]);
	}
	fflush(stdout);

	if (cmd) {
		fprintf(stderr, "luoctl: holding session \"%s\" while %s runs\n",
			name, cmd[0]);
		ret = run_and_wait(cmd, &mask);
	} else {
		int sig;

		fprintf(stderr, "luoctl: holding session \"%s\" (pid %ld): "
			"kexec now; SIGINT or SIGTERM releases it\n", name,
			(long)getpid());
		while (sigwait(&mask, &sig) != 0)
			;
		ret = EXIT_SUCCESS;
	}

out:
	/* Closing an outgoing session unpreserves every file in it. */
	r = luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	if (r < 0) {
		fail(r, "cannot close the session", NULL);
		ret = EXIT_FAILURE;
	} else {
		fprintf(stderr, "luoctl: released session \"%s\": its files "
			"are no longer preserved\n", name);
	}
	return ret;
}

/* ---- restore, finish ---------------------------------------------------- */

/* Write the file under @token of @session to @out, named @path. */
static int restore_one(luo_session_t *session, uint64_t token, int out,
		       const char *path)
{
	off_t copied = 0;
	int fd, r;
	char what[64];

	snprintf(what, sizeof(what), "token %" PRIu64, token);
	r = luo_session_retrieve_fd(session, token, &fd);
	if (r < 0)
		return fail(r, what, -r == ENOENT ?
			    "the session has no such token" : NULL);
	if (out != STDOUT_FILENO && ftruncate(out, 0) < 0)
		r = -errno;
	else
		r = copy_out(fd, out, &copied);
	close(fd);
	if (r < 0)
		return fail(r, path, NULL);
	fprintf(stderr, "luoctl: %s: %lld bytes written to %s\n", what,
		(long long)copied, path);
	return 0;
}

/* Finish @session, retrying while the kernel says it is busy. */
static int finish_session(luo_session_t *session)
{
	int r, tries = 0;

	while ((r = luo_session_finish(session)) == -EBUSY && ++tries < 10)
		usleep(100000);
	return r;
}

static int cmd_restore(const struct global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	luo_session_t *session;
	uint64_t *tokens;
	const char **outputs;
	int *outfds;
	bool *created;
	bool retrieved = false;
	int c, i, r, ntokens = 0, noutputs = 0, ret = EXIT_SUCCESS;
	luo_ctx_t *ctx;

	tokens = calloc((size_t)argc, sizeof(*tokens));
	outputs = calloc((size_t)argc, sizeof(*outputs));
	outfds = calloc((size_t)argc, sizeof(*outfds));
	created = calloc((size_t)argc, sizeof(*created));
	if (!tokens || !outputs || !outfds || !created) {
		free(tokens);
		free(outputs);
		free(outfds);
		free(created);
		return fail(-ENOMEM, "restore", NULL);
	}

	optind = 0;
	while ((c = getopt_long(argc, argv, "+s:t:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			name = optarg;
			break;
		case 't':
			if (ntokens != noutputs) {
				ret = usage_error("--token %s: the previous "
						  "--token has no --output",
						  optarg);
				goto out_free;
			}
			if (parse_token(optarg, &tokens[ntokens++]) < 0) {
				ret = usage_error("invalid token: %s", optarg);
				goto out_free;
			}
			break;
		case 'o':
			if (noutputs != ntokens - 1) {
				ret = usage_error("--output %s: comes after a "
						  "--token", optarg);
				goto out_free;
			}
			outputs[noutputs++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out_free;
		default:
			ret = EXIT_USAGE;
			goto out_free;
		}
	}
	if (optind < argc) {
		ret = usage_error("restore: unexpected argument %s", argv[optind]);
		goto out_free;
	}
	if (!name || ntokens == 0 || ntokens != noutputs) {
		ret = usage_error("%s: needs --session NAME and --token T "
				  "--output FILE pairs", argv[0]);
		goto out_free;
	}

	/*
	 * Open every output before the session is taken: once it is, the
	 * session is finished when luoctl exits, whatever happens.
	 */
	for (i = 0; i < noutputs; i++) {
		if (strcmp(outputs[i], "-") == 0) {
			outfds[i] = STDOUT_FILENO;
			continue;
		}
		r = open_output(outputs[i], &created[i]);
		if (r < 0) {
			ret = fail(r, outputs[i], "nothing was retrieved");
			noutputs = i;
			goto out_close;
		}
		outfds[i] = r;
	}

	ret = open_ctx_or_fail(g, &ctx);
	if (ret)
		goto out_close;
	r = luo_session_retrieve(ctx, name, &session);
	luo_ctx_unref(ctx);
	if (r < 0) {
		ret = fail(r, "cannot retrieve the session",
			   session_hint(r, false));
		goto out_close;
	}
	retrieved = true;

	/* Go on after a failed token: the others would be lost otherwise. */
	for (i = 0; i < ntokens; i++)
		if (restore_one(session, tokens[i], outfds[i], outputs[i]))
			ret = EXIT_FAILURE;

	r = finish_session(session);
	if (r < 0) {
		fail(r, "cannot finish the session", NULL);
		ret = EXIT_FAILURE;
	}
	/* Closing an incoming session finishes it anyway. */
	luo_session_close(session, LUO_SESSION_CLOSE_FORCE);

out_close:
	for (i = 0; i < noutputs; i++) {
		if (outfds[i] == STDOUT_FILENO)
			continue;
		if (close(outfds[i]) < 0 && ret == EXIT_SUCCESS)
			ret = fail(-errno, outputs[i], NULL);
		/* Nothing retrieved: leave no empty file behind. */
		if (!retrieved && created[i])
			unlink(outputs[i]);
	}
out_free:
	free(tokens);
	free(outputs);
	free(outfds);
	free(created);
	return ret;
}

static int cmd_finish(const struct global *g, int argc, char **argv)
{
	const char *name = NULL;
	luo_session_t *session;
	luo_ctx_t *ctx;
	int r;

	PARSE_SESSION_ONLY(argc, argv, &name, true);
	r = open_ctx_or_fail(g, &ctx);
	if (r)
		return r;
	r = luo_session_retrieve(ctx, name, &session);
	luo_ctx_unref(ctx);
	if (r < 0)
		return fail(r, "cannot retrieve the session",
			    session_hint(r, false));
	r = finish_session(session);
	luo_session_close(session, LUO_SESSION_CLOSE_FORCE);
	if (r < 0)
		return fail(r, "cannot finish the session", NULL);
	fprintf(stderr, "luoctl: session \"%s\" finished\n", name);
	return EXIT_SUCCESS;
}

/* ---- main ------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(const struct global *g, int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "hold", cmd_hold },
	{ "restore", cmd_restore },
	{ "finish", cmd_finish },
	{ "state", cmd_state },
	{ "prepare", cmd_prepare },
	{ "cancel", cmd_cancel },
	{ "finish-all", cmd_finish_all },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "fake", no_argument, NULL, 'f' },
		{ "abi", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct global g = { .abi = LUO_ABI_AUTO };
	size_t i;
	int c, ret;

	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+d:fa:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			g.device = optarg;
			break;
		case 'f':
			g.fake = true;
			break;
		case 'a':
			if (strcmp(optarg, "auto") == 0)
				g.abi = LUO_ABI_AUTO;
			else if (strcmp(optarg, "mainline") == 0)
				g.abi = LUO_ABI_MAINLINE;
			else if (strcmp(optarg, "rfc") == 0)
				g.abi = LUO_ABI_RFC;
			else
				return usage_error("unknown ABI: %s", optarg);
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("luoctl %s\n", LUOCTL_VERSION);
			return EXIT_SUCCESS;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	if (g.fake && g.device)
		return usage_error("--fake and --device exclude each other");

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			ret = commands[i].fn(&g, argc - optind, argv + optind);
			luo_fake_unref(fake_kernel);
			return ret;
		}
	}
	return usage_error("unknown command: %s", argv[optind]);
}
