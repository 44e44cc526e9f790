/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The multi-process deployment on the fake-kernel server
 * (doc/fake-server.md), every process a real one, every byte checked:
 *
 *   1. an agent process opens the device, creates two sessions and sends
 *      one to each of two VMM processes (luo_session_send()), then exits;
 *   2. each VMM (a context without the device) receives its session and
 *      preserves memfds of its own into it, then keeps it open;
 *   3. the server's kexec command: the sessions the VMMs hold become
 *      incoming; the VMMs' descriptors are dead (ENODEV) and they exit;
 *   4. the server is stopped (saving its state) and started again from
 *      the saved state, like a machine that booted;
 *      (a process that created a session and exited holding it: its
 *      session is released by the exit, and not carried);
 *   5. a new agent retrieves both sessions and hands each to a new VMM,
 *      which retrieves every file, checks every byte, size and offset,
 *      and finishes the session.
 *
 * Usage: test-fake-multiproc LUO-FAKE-SERVER
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libluo.h>

#define NFILES 8
#define FILE_SIZE (64 * 1024 + 123)

static const char *server_exe;
static char dir[64], sock_path[128], state_path[128];

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%d] FAIL: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(expr, ...)                                                  \
	do {                                                              \
		if (!(expr))                                              \
			die(__VA_ARGS__);                                 \
	} while (0)

static uint8_t pattern(int vm, int i, size_t off)
{
	return (uint8_t)(vm * 131 + i * 17 + off * 7 + (off >> 9));
}

static luo_ctx_t *new_ctx(bool device)
{
	luo_ctx_opts_t *opts;
	luo_ctx_t *ctx;
	int r;

	CHECK(luo_ctx_opts_new(&opts) == 0, "opts");
	CHECK(luo_ctx_opts_set_fake_socket(opts, sock_path) == 0, "socket");
	CHECK(luo_ctx_opts_set_open_device(opts, device) == 0, "device");
	r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	CHECK(r == 0, "luo_ctx_new: %s", strerror(-r));
	return ctx;
}

static void run(const char *cmd, const char *arg)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0, "fork");
	if (!pid) {
		execl(server_exe, server_exe, "--socket", sock_path, cmd, arg,
		      (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
	      "luo-fake-server %s failed", cmd);
}

static pid_t start_server(bool load)
{
	pid_t pid = fork();
	int i;

	CHECK(pid >= 0, "fork");
	if (!pid) {
		/* the server ends with this test, whatever happens to it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (load)
			execl(server_exe, server_exe, "serve", "--socket",
			      sock_path, "--load", state_path,
			      "--save-on-exit", state_path, (char *)NULL);
		else
			execl(server_exe, server_exe, "serve", "--socket",
			      sock_path, "--save-on-exit", state_path,
			      (char *)NULL);
		_exit(127);
	}
	/* ready when a status command answers */
	for (i = 0; i < 500; i++) {
		pid_t c = fork();
		int st;

		if (!c) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execl(server_exe, server_exe, "--socket", sock_path,
			      "status", (char *)NULL);
			_exit(127);
		}
		if (waitpid(c, &st, 0) == c && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0)
			return pid;
		usleep(10000);
	}
	die("the server did not start");
	return -1;
}

static void stop_server(pid_t pid)
{
	int st;

	run("stop", NULL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
	      "server exit");
}

static void wait_ok(pid_t pid, const char *what)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid, "waitpid %s", what);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (status %d)",
	      what, st);
}

/* Boot 1, a VMM: receive a session, preserve NFILES memfds, say so, hold
 * it until killed. */
static void vmm1(int vm, int sock, int done)
{
	luo_ctx_t *ctx = new_ctx(false);
	luo_session_t *s;
	char c = 'k';
	int i, r;

	r = luo_session_recv(ctx, sock, &s);
	CHECK(r == 0, "vmm%d recv: %s", vm, strerror(-r));
	for (i = 0; i < NFILES; i++) {
		int fd = memfd_create("guest-ram", MFD_CLOEXEC);
		uint8_t *buf = malloc(FILE_SIZE);
		size_t k;

		CHECK(fd >= 0 && buf, "memfd");
		for (k = 0; k < FILE_SIZE; k++)
			buf[k] = pattern(vm, i, k);
		CHECK(write(fd, buf, FILE_SIZE) == FILE_SIZE, "write");
		CHECK(lseek(fd, 100 * i, SEEK_SET) == 100 * i, "lseek");
		free(buf);
		r = luo_session_preserve_fd(s, fd, 1000 + (uint64_t)i);
		CHECK(r == 0, "vmm%d preserve %d: %s", vm, i, strerror(-r));
		/* the file now lives in the server, not here */
		close(fd);
	}
	CHECK(write(done, &c, 1) == 1, "done");
	pause();
	_exit(0);
}

/* Boot 2, a VMM: receive its session back, check every file, finish. */
static void vmm2(int vm, int sock)
{
	luo_ctx_t *ctx = new_ctx(false);
	luo_session_t *s;
	uint8_t *buf = malloc(FILE_SIZE + 1);
	int i, r;

	CHECK(buf, "malloc");
	r = luo_session_recv(ctx, sock, &s);
	CHECK(r == 0, "vmm%d recv (boot 2): %s", vm, strerror(-r));
	for (i = 0; i < NFILES; i++) {
		struct stat st;
		size_t k;
		int fd;

		r = luo_session_retrieve_fd(s, 1000 + (uint64_t)i, &fd);
		CHECK(r == 0, "vmm%d retrieve %d: %s", vm, i, strerror(-r));
		CHECK(fstat(fd, &st) == 0 && st.st_size == FILE_SIZE,
		      "vmm%d file %d size %lld", vm, i, (long long)st.st_size);
		CHECK(lseek(fd, 0, SEEK_CUR) == 100 * i, "vmm%d offset %d", vm,
		      i);
		CHECK(pread(fd, buf, FILE_SIZE + 1, 0) == FILE_SIZE, "pread");
		for (k = 0; k < FILE_SIZE; k++)
			CHECK(buf[k] == pattern(vm, i, k),
			      "vmm%d file %d byte %zu", vm, i, k);
		close(fd);
	}
	r = luo_session_finish(s);
	CHECK(r == 0, "finish: %s", strerror(-r));
	CHECK(luo_session_close(s, 0) == 0, "close");
	luo_ctx_unref(ctx);
	free(buf);
	_exit(0);
}

/* An agent: make (boot 1) or take back (boot 2) sessions vm1, vm2 and
 * send them to @socks; then exit. */
static void agent(int boot, const int socks[2])
{
	luo_ctx_t *ctx = new_ctx(true);
	int vm, r;

	for (vm = 0; vm < 2; vm++) {
		char name[16];
		luo_session_t *s;

		snprintf(name, sizeof(name), "vm%d", vm + 1);
		if (boot == 1)
			r = luo_session_create(ctx, name, &s);
		else
			r = luo_session_retrieve(ctx, name, &s);
		CHECK(r == 0, "agent boot %d %s: %s", boot, name,
		      strerror(-r));
		r = luo_session_send(s, socks[vm]);
		CHECK(r == 0, "send: %s", strerror(-r));
		r = luo_session_close(s, 0);
		CHECK(r == 0, "close after send: %s", strerror(-r));
	}
	luo_ctx_unref(ctx);
	_exit(0);
}

int main(int argc, char **argv)
{
	int sv[2][2], done[2], vm, r;
	pid_t server, vmm[2], ag;
	luo_ctx_t *ctx;
	luo_session_t *s;
	char c;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LUO-FAKE-SERVER\n", argv[0]);
		return 2;
	}
	server_exe = argv[1];
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/luo-multiproc-XXXXXX");
	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(sock_path, sizeof(sock_path), "%s/fake.sock", dir);
	snprintf(state_path, sizeof(state_path), "%s/state", dir);
	server = start_server(false);

	/* boot 1 */
	CHECK(pipe(done) == 0, "pipe");
	for (vm = 0; vm < 2; vm++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[vm]) == 0, "sp");
		vmm[vm] = fork();
		if (!vmm[vm]) {
			close(sv[vm][0]);
			vmm1(vm + 1, sv[vm][1], done[1]);
		}
		close(sv[vm][1]);
	}
	close(done[1]); /* a VMM that dies is an end of file, not a hang */
	ag = fork();
	if (!ag)
		agent(1, (int[]){ sv[0][0], sv[1][0] });
	wait_ok(ag, "agent (boot 1)");
	printf("ok 1 - agent created two sessions, sent them and exited\n");
	for (vm = 0; vm < 2; vm++)
		CHECK(read(done[0], &c, 1) == 1, "vmm done");
	printf("ok 2 - two VMMs preserved %d memfds each\n", NFILES);

	/* nobody but the VMMs holds the sessions: a new agent sees the
	 * device free and both names taken */
	ctx = new_ctx(true);
	r = luo_session_create(ctx, "vm1", &s);
	CHECK(r == -EEXIST, "vm1 again: %d", r);
	luo_ctx_unref(ctx);

	/* a process that preserves and dies: its session dies with it
	 * (the last close of its descriptor, by the exit) */
	ag = fork();
	if (!ag) {
		luo_ctx_t *gctx = new_ctx(true);
		luo_session_t *g;
		int fd = memfd_create("lost", MFD_CLOEXEC);

		CHECK(luo_session_create(gctx, "gone", &g) == 0, "gone");
		CHECK(luo_session_preserve_fd(g, fd, 1) == 0, "gone preserve");
		_exit(0);
	}
	wait_ok(ag, "a process that exits holding a session");

	run("kexec", NULL);
	for (vm = 0; vm < 2; vm++) {
		kill(vmm[vm], SIGTERM);
		waitpid(vmm[vm], NULL, 0);
		close(sv[vm][0]);
	}
	printf("ok 3 - kexec\n");
	stop_server(server);
	server = start_server(true);
	printf("ok 4 - server stopped and started from its saved state\n");

	/* boot 2: what a process held when it exited was not carried */
	ctx = new_ctx(true);
	r = luo_session_retrieve(ctx, "gone", &s);
	CHECK(r == -ENOENT, "session of a dead process: %d", r);
	luo_ctx_unref(ctx);
	printf("ok 5 - a session whose holder exited before the kexec is "
	       "not carried\n");


	for (vm = 0; vm < 2; vm++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[vm]) == 0, "sp");
		vmm[vm] = fork();
		if (!vmm[vm]) {
			close(sv[vm][0]);
			vmm2(vm + 1, sv[vm][1]);
		}
		close(sv[vm][1]);
	}
	ag = fork();
	if (!ag)
		agent(2, (int[]){ sv[0][0], sv[1][0] });
	wait_ok(ag, "agent (boot 2)");
	for (vm = 0; vm < 2; vm++)
		wait_ok(vmm[vm], "vmm (boot 2)");
	printf("ok 6 - a new agent retrieved both sessions and handed them "
	       "back; every byte checked\n");

	/* the sessions are finished: nothing is left */
	ctx = new_ctx(true);
	r = luo_session_retrieve(ctx, "vm1", &s);
	CHECK(r == -EINVAL || r == -ENOENT, "vm1 after finish: %d", r);
	luo_ctx_unref(ctx);
	stop_server(server);
	unlink(state_path);
	rmdir(dir);
	printf("1..6\n");
	return 0;
}
