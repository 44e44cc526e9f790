/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent-vmm - an agent that owns /dev/liveupdate hands sessions to VMMs.
 *
 * The device is single-open, so one agent holds it; each VMM is a process
 * of its own that gets a session from the agent over a UNIX socket
 * (luo_session_send()/luo_session_recv()) and preserves its guest's memory
 * in it, with a context that never opens the device.
 *
 *   agent-vmm before N    create N sessions, start N VMMs that preserve
 *                         their guest memory, print "ready", hold on
 *   agent-vmm after       after the live update: list the previous boot's
 *                         sessions from the agent's index, start a VMM per
 *                         session, which finds its memory by label, checks
 *                         it and finishes the session
 *
 * It talks to the kernel libluo finds: /dev/liveupdate, or a fake-kernel
 * server named by LIBLUO_FAKE=unix:PATH, which is how the tests run it
 * (test-agent-vmm.sh: the server's kexec between the two commands).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libluo.h>

#define RAM_SIZE (1u << 20)

static void die(const char *what, int r)
{
	fprintf(stderr, "agent-vmm: %s: %s\n", what, strerror(-r));
	exit(1);
}

/* The bytes of guest @vm's memory. */
static void fill(unsigned char *p, size_t n, int vm)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + (size_t)vm * 13);
}

/* A context without the device: what a VMM has. */
static luo_ctx_t *vmm_context(void)
{
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	int r = luo_ctx_opts_new(&opts);

	if (!r)
		r = luo_ctx_opts_set_open_device(opts, false);
	if (!r)
		r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	if (r)
		die("VMM context", r);
	return ctx;
}

/* Before: take the session, preserve the guest's memory, hold it. */
static void vmm_before(int sock, int vm)
{
	luo_ctx_t *ctx = vmm_context();
	luo_session_t *s = NULL;
	unsigned char *ram;
	int fd, r;

	r = luo_session_recv(ctx, sock, &s);
	if (r)
		die("luo_session_recv", r);
	fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM_SIZE))
		die("memfd", -errno);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		die("mmap", -errno);
	fill(ram, RAM_SIZE, vm); /* the guest runs... */
	r = luo_session_preserve_fd_labeled(s, fd, 1, "guest-ram");
	if (r)
		die("preserve", r);
	printf("vmm %d: guest memory preserved\n", vm);
	fflush(stdout);
	/* the session lives as long as a descriptor of it: hold it */
	for (;;)
		pause();
}

/* After: take the session, find the memory by label, check, finish. */
static int vmm_after(int sock)
{
	luo_ctx_t *ctx = vmm_context();
	luo_session_t *s = NULL;
	unsigned char *ram, *want;
	const char *name;
	int fd = -1, vm, r;

	r = luo_session_recv(ctx, sock, &s);
	if (r)
		die("luo_session_recv", r);
	luo_session_get_name(s, &name);
	if (sscanf(name, "vm-%d", &vm) != 1)
		return 1;
	/* the session's record: what it holds, before any retrieve */
	if (luo_session_token_count(s) != 1)
		return 1;
	r = luo_session_retrieve_fd_by_label(s, "guest-ram", NULL, &fd);
	if (r)
		die("retrieve guest-ram", r);
	ram = mmap(NULL, RAM_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	want = malloc(RAM_SIZE);
	if (ram == MAP_FAILED || !want)
		return 1;
	fill(want, RAM_SIZE, vm);
	if (memcmp(ram, want, RAM_SIZE)) {
		fprintf(stderr, "vmm %d: guest memory differs\n", vm);
		return 1;
	}
	munmap(ram, RAM_SIZE);
	free(want);
	close(fd);
	r = luo_session_finish(s);
	if (r)
		die("finish", r);
	printf("vmm %d: guest memory back, intact; session finished\n", vm);
	luo_session_close(s, 0);
	luo_ctx_unref(ctx);
	return 0;
}

/* Start a VMM with one end of a socket pair; the agent keeps the other. */
static int start_vmm(int vm, bool before, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair", -errno);
	fflush(stdout);
	*pid = fork();
	if (*pid < 0)
		die("fork", -errno);
	if (*pid == 0) {
		close(sv[0]);
		if (before)
			vmm_before(sv[1], vm);
		exit(vmm_after(sv[1]));
	}
	close(sv[1]);
	return sv[0];
}

static void __attribute__((noreturn)) agent_before(int n)
{
	luo_ctx_t *ctx = NULL;
	int r = luo_ctx_new(NULL, &ctx);

	if (r)
		die("luo_ctx_new", r);
	for (int vm = 0; vm < n; vm++) {
		luo_session_t *s = NULL;
		char name[32];
		pid_t pid;
		int sock;

		snprintf(name, sizeof(name), "vm-%d", vm);
		r = luo_session_create(ctx, name, &s);
		if (r)
			die("luo_session_create", r);
		sock = start_vmm(vm, true, &pid);
		r = luo_session_send(s, sock);
		if (r)
			die("luo_session_send", r);
		/* sent: the VMM holds it now, the handle may go */
		luo_session_close(s, 0);
		close(sock);
	}
	printf("agent: %d sessions handed out; ready\n", n);
	fflush(stdout);
	/* the agent's context keeps its index of the sessions it created:
	 * it holds on until the kexec, like the VMMs */
	for (;;)
		pause();
}

struct handout {
	luo_ctx_t *ctx;
	int vms, failed;
	pid_t pids[64];
};

static int hand_back(const char *name, void *data)
{
	struct handout *h = data;
	luo_session_t *s = NULL;
	int sock, r;

	r = luo_session_retrieve(h->ctx, name, &s);
	if (r)
		die(name, r);
	if (h->vms == 64)
		return -ENOSPC;
	sock = start_vmm(0, false, &h->pids[h->vms++]);
	r = luo_session_send(s, sock);
	if (r)
		die("luo_session_send", r);
	luo_session_close(s, 0);
	close(sock);
	return 0;
}

static int agent_after(void)
{
	struct handout h = { 0 };
	int r = luo_ctx_new(NULL, &h.ctx);

	if (r)
		die("luo_ctx_new", r);
	/* the previous boot's sessions, without knowing any name */
	r = luo_ctx_foreach_incoming_session(h.ctx, hand_back, &h);
	if (r)
		die("luo_ctx_foreach_incoming_session", r);
	for (int i = 0; i < h.vms; i++) {
		int status;

		if (waitpid(h.pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			h.failed++;
	}
	printf("agent: %d sessions came back, %d VMMs failed\n", h.vms,
	       h.failed);
	luo_ctx_unref(h.ctx);
	return h.vms > 0 && !h.failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "before"))
		agent_before(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "after"))
		return agent_after();
	fprintf(stderr, "usage: agent-vmm before N | agent-vmm after\n");
	return 2;
}
