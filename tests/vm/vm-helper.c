/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-helper: the two things init cannot do with busybox.
 *
 *   vm-helper exit CODE
 *       Write CODE to QEMU's isa-debug-exit port (0xf4), which makes QEMU
 *       exit with status (CODE << 1) | 1.  Returns only if that failed.
 *
 *   vm-helper kexec KERNEL INITRD NEXT_STAGE
 *       Load KERNEL and INITRD with kexec_file_load() and the current
 *       command line with libluo.stage= set to NEXT_STAGE, then
 *       reboot(LINUX_REBOOT_CMD_KEXEC).  Returns only on failure; the
 *       reboot is where the kernel serializes the preserved sessions, so a
 *       file that cannot be frozen makes it fail here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0xf4

static int do_exit(const char *arg)
{
	unsigned long code = strtoul(arg, NULL, 0);

	fflush(NULL);
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) != 0) {
		fprintf(stderr, "vm-helper: ioperm(0x%x): %s\n", DEBUG_EXIT_PORT,
			strerror(errno));
		return 1;
	}
	outl((unsigned)code, DEBUG_EXIT_PORT);
	/* Without the isa-debug-exit device the write is ignored. */
	fprintf(stderr, "vm-helper: QEMU did not exit (no isa-debug-exit device?)\n");
	return 1;
}

/* The running command line, with libluo.stage=@stage replacing any old
 * value; everything else (console, liveupdate=on, seed) is carried over. */
static int next_cmdline(const char *stage, char *out, size_t outlen)
{
	char buf[4096];
	size_t used = 0;
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	out[0] = '\0';
	for (char *p = strtok(buf, " \n"); p; p = strtok(NULL, " \n")) {
		if (strncmp(p, "libluo.stage=", 13) == 0)
			continue;
		used += (size_t)snprintf(out + used, outlen - used, "%s ", p);
		if (used >= outlen)
			return -E2BIG;
	}
	used += (size_t)snprintf(out + used, outlen - used, "libluo.stage=%s",
				 stage);
	return used >= outlen ? -E2BIG : 0;
}

static int do_kexec(const char *kernel, const char *initrd, const char *stage)
{
	char cmdline[4096];
	int kfd, ifd, r;

	kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		fprintf(stderr, "vm-helper: open %s: %s\n", kernel, strerror(errno));
		return 1;
	}
	ifd = open(initrd, O_RDONLY | O_CLOEXEC);
	if (ifd < 0) {
		fprintf(stderr, "vm-helper: open %s: %s\n", initrd, strerror(errno));
		return 1;
	}
	r = next_cmdline(stage, cmdline, sizeof(cmdline));
	if (r < 0) {
		fprintf(stderr, "vm-helper: command line: %s\n", strerror(-r));
		return 1;
	}
	printf("vm-helper: kexec %s with '%s'\n", kernel, cmdline);
	fflush(stdout);
	/* The length counts the terminating NUL. */
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline,
		    0UL) != 0) {
		fprintf(stderr, "vm-helper: kexec_file_load: %s\n", strerror(errno));
		return 1;
	}
	sync();
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		    LINUX_REBOOT_CMD_KEXEC, NULL) != 0) {
		fprintf(stderr, "vm-helper: reboot(LINUX_REBOOT_CMD_KEXEC): %s\n",
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "vm-helper: reboot(KEXEC) returned without error\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return do_exit(argv[2]);
	if (argc == 5 && strcmp(argv[1], "kexec") == 0)
		return do_kexec(argv[2], argv[3], argv[4]);
	fprintf(stderr,
		"usage: vm-helper exit CODE\n"
		"       vm-helper kexec KERNEL INITRD NEXT_STAGE\n");
	return 2;
}
