/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw-session - a program that talks to /dev/liveupdate with raw ioctls,
 * no libluo: the kind LD_PRELOAD=libluo-fake-preload.so points at a fake
 * kernel server unchanged.
 *
 *   raw-session 1   create session "raw-example", preserve a memfd under
 *                   token 7, print "held", hold it until SIGTERM
 *   raw-session 2   after the kexec: retrieve it, check the bytes, finish
 *
 * The mainline ABI of Linux >= 6.19 (<linux/liveupdate.h>), written out
 * because older distributions lack the header.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CREATE_SESSION _IO(0xBA, 0x00)
#define RETRIEVE_SESSION _IO(0xBA, 0x01)
#define SESSION_PRESERVE_FD _IO(0xBA, 0x40)
#define SESSION_RETRIEVE_FD _IO(0xBA, 0x41)
#define SESSION_FINISH _IO(0xBA, 0x42)
#define SESSION_GET_NAME _IO(0xBA, 0x43)

struct session_arg { uint32_t size; int32_t fd; char name[64]; };
struct file_arg { uint32_t size; int32_t fd; uint64_t token; };
struct finish_arg { uint32_t size; uint32_t reserved; };
struct name_arg { uint32_t size; uint32_t reserved; char name[64]; };

static const char bytes[] = "carried by raw ioctls";

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	struct session_arg s = { .size = sizeof(s), .name = "raw-example" };
	struct file_arg f = { .size = sizeof(f), .token = 7 };
	struct finish_arg fin = { .size = sizeof(fin) };
	struct name_arg n = { .size = sizeof(n) };
	char buf[sizeof(bytes)] = "";
	int dev, sig;
	sigset_t set;

	if (argc != 2)
		return 2;
	dev = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return fail("open /dev/liveupdate");
	if (!strcmp(argv[1], "1")) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (ioctl(dev, CREATE_SESSION, &s) < 0)
			return fail("CREATE_SESSION");
		f.fd = memfd_create("raw", MFD_CLOEXEC);
		if (f.fd < 0 || write(f.fd, bytes, sizeof(bytes)) < 0)
			return fail("memfd");
		if (ioctl(s.fd, SESSION_PRESERVE_FD, &f) < 0)
			return fail("SESSION_PRESERVE_FD");
		close(f.fd);
		if (ioctl(s.fd, SESSION_GET_NAME, &n) < 0 ||
		    strcmp(n.name, "raw-example"))
			return fail("SESSION_GET_NAME");
		close(dev); /* sessions outlive the device descriptor */
		printf("held\n");
		fflush(stdout);
		sigwait(&set, &sig);
		return 0;
	}
	if (ioctl(dev, RETRIEVE_SESSION, &s) < 0)
		return fail("RETRIEVE_SESSION");
	if (ioctl(s.fd, SESSION_RETRIEVE_FD, &f) < 0)
		return fail("SESSION_RETRIEVE_FD");
	if (pread(f.fd, buf, sizeof(buf), 0) != sizeof(buf) ||
	    memcmp(buf, bytes, sizeof(bytes)))
		return fail("the bytes");
	if (ioctl(s.fd, SESSION_FINISH, &fin) < 0)
		return fail("SESSION_FINISH");
	printf("%s\n", buf);
	return 0;
}
