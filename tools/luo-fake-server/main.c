/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo-fake-server: a fake /dev/liveupdate shared by processes
 * (doc/fake-server.md).
 *
 *   luo-fake-server serve [--socket PATH] [--abi mainline|rfc]
 *                         [--load FILE] [--save-on-exit FILE]
 *                         [--max-sessions N] [--max-files N]
 *   luo-fake-server [--socket PATH] kexec | status | stop | sync
 *                                   | save FILE | inject OP ERRNO [NTH]
 *
 * The socket defaults to the path of LIBLUO_FAKE=unix:PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fake-state.h"
#include "fake-wire.h"
#include "server.h"

static struct luofs *server;

static void on_signal(int sig)
{
	(void)sig;
	luofs_stop(server);
}

static int save_state(luo_fake_t *fake, const char *path)
{
	char tmp[4096];
	int fd, r;

	if (!path || !*path)
		return -EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = luoi_fake_state_save(fake, fd);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int load_state(luo_fake_t *fake, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = luoi_fake_state_load(fake, fd);
	close(fd);
	return r;
}

static const char *default_socket(void)
{
	const char *e = getenv("LIBLUO_FAKE");

	if (e && !strncmp(e, "unix:", 5) && e[5])
		return e + 5;
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: luo-fake-server serve [--socket PATH] [--abi mainline|rfc]\n"
	      "                             [--load FILE] [--save-on-exit FILE]\n"
	      "                             [--max-sessions N] [--max-files N]\n"
	      "       luo-fake-server [--socket PATH] COMMAND\n"
	      "commands: kexec, status, sync, stop, save FILE,\n"
	      "          inject OP ERRNO [NTH] (OP: a number of enum luo_fake_op)\n"
	      "The socket defaults to LIBLUO_FAKE=unix:PATH.\n",
	      f);
}

static int serve(const char *path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "abi", required_argument, NULL, 'a' },
		{ "load", required_argument, NULL, 'l' },
		{ "save-on-exit", required_argument, NULL, 'S' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "max-files", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum luo_abi abi = LUO_ABI_MAINLINE;
	const char *load = NULL, *save_on_exit = NULL;
	unsigned int max_sessions = 0, max_files = 0;
	luo_fake_t *fake = NULL;
	struct sigaction sa;
	struct rlimit rl;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:a:l:S:m:M:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'a':
			if (!strcmp(optarg, "rfc"))
				abi = LUO_ABI_RFC;
			else if (!strcmp(optarg, "mainline"))
				abi = LUO_ABI_MAINLINE;
			else {
				fprintf(stderr, "unknown ABI %s\n", optarg);
				return 2;
			}
			break;
		case 'l':
			load = optarg;
			break;
		case 'S':
			save_on_exit = optarg;
			break;
		case 'm':
			max_sessions = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			max_files = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "serve: no socket (--socket or "
				"LIBLUO_FAKE=unix:PATH)\n");
		return 2;
	}
	/* the server holds what every client preserved: a descriptor per
	 * file and three per session (ours, and the fake's pair) */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	r = luo_fake_new(abi, &fake);
	if (!r && (max_sessions || max_files))
		r = luo_fake_set_limits(fake, max_sessions, max_files);
	if (!r && load) {
		r = load_state(fake, load);
		if (r)
			fprintf(stderr, "cannot load %s: %s\n", load,
				strerror(-r));
	}
	if (!r)
		r = luofs_new(fake, path, save_state, &server);
	if (r) {
		fprintf(stderr, "luo-fake-server: %s: %s\n", path, strerror(-r));
		luo_fake_unref(fake);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = luofs_run(server);
	if (save_on_exit) {
		int s = save_state(fake, save_on_exit);

		if (s) {
			fprintf(stderr, "cannot save %s: %s\n", save_on_exit,
				strerror(-s));
			r = r ? r : s;
		}
	}
	luofs_free(server);
	luo_fake_unref(fake);
	return r ? 1 : 0;
}

static int command(const char *path, int argc, char **argv)
{
	struct luoi_fw_req req;
	struct luoi_fw_reply rep;
	const char *data = NULL;
	const char *cmd = argv[0];
	int r;

	if (!path) {
		fprintf(stderr, "no socket (--socket or LIBLUO_FAKE=unix:PATH)\n");
		return 2;
	}
	if (!strcmp(cmd, "kexec"))
		luoi_fw_req_init(&req, LUOI_FW_KEXEC);
	else if (!strcmp(cmd, "status"))
		luoi_fw_req_init(&req, LUOI_FW_STATUS);
	else if (!strcmp(cmd, "sync"))
		luoi_fw_req_init(&req, LUOI_FW_SYNC);
	else if (!strcmp(cmd, "stop"))
		luoi_fw_req_init(&req, LUOI_FW_STOP);
	else if (!strcmp(cmd, "save") && argc == 2) {
		luoi_fw_req_init(&req, LUOI_FW_SAVE);
		data = argv[1];
	} else if (!strcmp(cmd, "inject") && (argc == 3 || argc == 4)) {
		luoi_fw_req_init(&req, LUOI_FW_INJECT);
		req.a = atoi(argv[1]);
		req.b = atoi(argv[2]);
		req.c = argc == 4 ? atoi(argv[3]) : 1;
	} else {
		usage(stderr);
		return 2;
	}
	r = luoi_fw_command(path, &req, data, data ? strlen(data) : 0, &rep,
			    NULL);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(-r));
		return 1;
	}
	if (rep.result < 0) {
		fprintf(stderr, "%s: %s\n", cmd, strerror(-rep.result));
		return 1;
	}
	if (req.op == LUOI_FW_STATUS || req.op == LUOI_FW_KEXEC)
		printf("pid %d boot %d outgoing %d incoming %d files %d "
		       "handles %d\n",
		       rep.pid, rep.boot, rep.sessions_out, rep.sessions_in,
		       rep.files, rep.handles);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = default_socket();
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "--socket")) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (!strcmp(argv[i], "serve"))
		return serve(path, argc - i, argv + i);
	return command(path, argc - i, argv + i);
}
