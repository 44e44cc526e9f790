/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-systemd-probe: a stand-in for examples/luo-fdstore-service in the
 * systemd guest that uses no libluo at all (raw ioctls, the sd_notify
 * protocol written out), to find out and check what systemd does with
 * LUOSession= and FileDescriptorStorePreserve=yes across a kexec.
 * With more kexecs to come (run-systemd.sh --kexecs N, libluo.last=N+1),
 * boot 2 also drops the finished sessions from the store (FDSTOREREMOVE=1);
 * the driver restarts the service, which must then get fresh outgoing
 * sessions for the same names and fills them; boot 3 checks those.  Later
 * boots only report what they are given.
 *
 *   vm-systemd-probe NAME...     (NAME: the unit's LUOSession= names)
 *
 * It runs as the unit's main process (Type=notify).  Boot 1
 * (libluo.stage=1 on the command line, or none): every NAME must have been
 * passed as an outgoing LUO session; it preserves a memfd of seeded bytes
 * (with a file offset) in each, opens /dev/liveupdate itself, creates a
 * session of its own with a memfd and pushes it to the fd store
 * (FDSTORE=1, FDNAME=probe-own), pushes a plain memfd too
 * (FDNAME=probe-plain-memfd), then sends READY=1.  Boot 2: every NAME and
 * probe-own must come back as incoming sessions holding the same bytes,
 * size and offset; it finishes them and sends READY=1.  A failed check
 * makes it exit 1 before READY=1, so the unit fails.  Everything it sees is
 * printed as "FACT:" lines (stdout goes to the console); doc/systemd.md
 * records them.  After READY=1 it waits for SIGTERM, as a daemon would.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "luo-abi.h"
#include "vm-guest.h"

#define OWN_SESSION "luo-vm.probe-own"
#define OWN_FDNAME "probe-own"
#define PLAIN_FDNAME "probe-plain-memfd"
#define OWN_TOKEN 7
#define PLAIN_SIZE 12345
/* /run is new in every boot: this marks a restart within boot 2. */
#define RESTART_MARK "/run/vm-systemd-probe.started"

#define FACT(...) (printf("FACT: " __VA_ARGS__), putchar('\n'))

static unsigned long long seed;

/* --- the sd_notify protocol ---------------------------------------------- */

static int notify(const char *msg, int fd)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
	socklen_t len;
	int s, r;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENXIO;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	mh.msg_namelen = len;
	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	r = sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(s);
	return r;
}

/* --- what systemd passed -------------------------------------------------- */

struct passed {
	int fd;
	char name[256];
};
static struct passed passed[64];
static int npassed;

static void read_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char *copy, *save = NULL;

	FACT("LISTEN_PID=%s (self %d) LISTEN_FDS=%s LISTEN_FDNAMES=%s FDSTORE=%s",
	     pid ? pid : "(unset)", (int)getpid(), n ? n : "(unset)",
	     names ? names : "(unset)",
	     getenv("FDSTORE") ? getenv("FDSTORE") : "(unset)");
	if (!pid || atoi(pid) != getpid() || !n)
		return;
	npassed = atoi(n);
	if (npassed > 64)
		npassed = 64;
	copy = strdup(names ? names : "");
	char *tok = strtok_r(copy, ":", &save);
	for (int i = 0; i < npassed; i++) {
		passed[i].fd = 3 + i;
		snprintf(passed[i].name, sizeof(passed[i].name), "%s",
			 tok ? tok : "");
		tok = tok ? strtok_r(NULL, ":", &save) : NULL;
	}
	free(copy);
}

static int passed_fd(const char *name)
{
	for (int i = 0; i < npassed; i++)
		if (strcmp(passed[i].name, name) == 0)
			return passed[i].fd;
	return -1;
}

static void fd_link(int pid, int fd, char *out, size_t len)
{
	char p[64];
	ssize_t n;

	if (pid)
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, fd);
	else
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, out, len - 1);
	out[n < 0 ? 0 : n] = '\0';
}

/* 'outgoing', 'incoming' or '?': a preserve of fd -1 is refused with
 * EINVAL on an incoming session (wrong kind) and EBADF on an outgoing
 * one, and changes nothing either way. */
static const char *direction(int sfd)
{
	struct luo_k_file_req req = { .size = sizeof(req), .fd = -1, .token = 1 };

	if (ioctl(sfd, LUO_K_SESSION_PRESERVE_FD, &req) == 0)
		return "?";
	return errno == EBADF ? "outgoing" : errno == EINVAL ? "incoming" : "?";
}

static void kernel_name(int sfd, char *out, size_t len)
{
	struct luo_k_get_name_req req = { .size = sizeof(req) };

	if (ioctl(sfd, LUO_K_SESSION_GET_NAME, &req) != 0)
		snprintf(out, len, "(GET_NAME: %s)", vm_errname(errno));
	else
		snprintf(out, len, "%.*s", LUO_K_NAME_LEN, (char *)req.name);
}

static void describe_passed(void)
{
	for (int i = 0; i < npassed; i++) {
		char link[PATH_MAX], kname[80];

		fd_link(0, passed[i].fd, link, sizeof(link));
		if (strncmp(link, "anon_inode:[luo_session]", 24) != 0) {
			FACT("passed fd %d name '%s': %s", passed[i].fd,
			     passed[i].name, link);
			continue;
		}
		kernel_name(passed[i].fd, kname, sizeof(kname));
		FACT("passed fd %d name '%s': %s, GET_NAME '%s', %s",
		     passed[i].fd, passed[i].name, link, kname,
		     direction(passed[i].fd));
	}
}

/* PID 1's descriptors that are LUO's: does it hold the device, which
 * sessions does it keep? */
static void describe_pid1(void)
{
	DIR *d = opendir("/proc/1/fd");
	struct dirent *e;
	int n = 0;

	if (!d) {
		FACT("/proc/1/fd: %s", vm_errname(errno));
		return;
	}
	while ((e = readdir(d))) {
		char link[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		fd_link(1, atoi(e->d_name), link, sizeof(link));
		if (strstr(link, "liveupdate") || strstr(link, "luo_session")) {
			FACT("PID 1 fd %s: %s", e->d_name, link);
			n++;
		}
	}
	closedir(d);
	if (!n)
		FACT("PID 1 holds no /dev/liveupdate or luo_session descriptor");
}

/* --- the data -------------------------------------------------------------- */

/* Session i of the unit: a memfd of size_of(i) bytes at offset
 * offset_of(i), token 100 + i. */
static size_t size_of(int i) { return (1u << 20) + 4096u * (unsigned)i + 123u; }
static off_t offset_of(int i) { return 1000 * i + 7; }

static int make_memfd(const char *name, size_t size, unsigned stream, off_t off)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || vm_memfd_fill(fd, size, seed, stream) != 0 ||
	    lseek(fd, off, SEEK_SET) != off) {
		vm_fail(__FILE__, __LINE__, "memfd %s: %s", name, vm_errname(errno));
		return -1;
	}
	return fd;
}

static int preserve(int sfd, int fd, unsigned long long token)
{
	struct luo_k_file_req req = { .size = sizeof(req), .fd = fd, .token = token };

	return ioctl(sfd, LUO_K_SESSION_PRESERVE_FD, &req) == 0 ? 0 : -errno;
}

static int retrieve(int sfd, unsigned long long token)
{
	struct luo_k_file_req req = { .size = sizeof(req), .token = token };

	return ioctl(sfd, LUO_K_SESSION_RETRIEVE_FD, &req) == 0 ? req.fd : -errno;
}

static int finish(int sfd)
{
	struct luo_k_finish_req req = { .size = sizeof(req) };

	return ioctl(sfd, LUO_K_SESSION_FINISH, &req) == 0 ? 0 : -errno;
}

static void check_memfd(const char *what, int fd, size_t size, unsigned stream,
			off_t off)
{
	struct stat st;
	long long diff;

	VM_CHECK(fstat(fd, &st) == 0 && (size_t)st.st_size == size,
		 "%s: size %lld, want %zu", what, (long long)st.st_size, size);
	VM_CHECK(lseek(fd, 0, SEEK_CUR) == off, "%s: offset %lld, want %lld",
		 what, (long long)lseek(fd, 0, SEEK_CUR), (long long)off);
	diff = vm_memfd_compare(fd, size, seed, stream);
	VM_CHECK(diff < 0, "%s: first differing byte at %lld", what, diff);
	if (diff < 0)
		printf("vm-systemd-probe: %s: %zu bytes, offset %lld intact\n",
		       what, size, (long long)off);
}

static int open_device(void)
{
	int fd = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);

	FACT("the service opens /dev/liveupdate: %s",
	     fd >= 0 ? "ok" : vm_errname(errno));
	return fd;
}

/* --- the two boots --------------------------------------------------------- */

static void boot1(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int sfd = passed_fd(argv[i]), mfd, r;

		VM_CHECK(sfd >= 0, "LUOSession '%s' not passed", argv[i]);
		if (sfd < 0)
			continue;
		VM_CHECK(strcmp(direction(sfd), "outgoing") == 0,
			 "'%s' is not outgoing in boot 1", argv[i]);
		mfd = make_memfd(argv[i], size_of(i), (unsigned)i, offset_of(i));
		if (mfd < 0)
			continue;
		r = preserve(sfd, mfd, 100 + (unsigned)i);
		VM_CHECK(r == 0, "preserve in '%s': %s", argv[i], vm_errname(-r));
		close(mfd);
		/* systemd keeps its own descriptor of the session: ours may go */
		close(sfd);
	}

	int dev = open_device();
	if (dev >= 0) {
		struct luo_k_session_req req = { .size = sizeof(req) };
		int mfd, r;

		snprintf((char *)req.name, sizeof(req.name), "%s", OWN_SESSION);
		r = ioctl(dev, LUO_K_CREATE_SESSION, &req) == 0 ? 0 : -errno;
		VM_CHECK(r == 0, "CREATE_SESSION %s: %s", OWN_SESSION, vm_errname(-r));
		if (r == 0) {
			mfd = make_memfd("own", size_of(0), 0, offset_of(0));
			r = preserve(req.fd, mfd, OWN_TOKEN);
			VM_CHECK(r == 0, "preserve in own session: %s", vm_errname(-r));
			r = notify("FDSTORE=1\nFDNAME=" OWN_FDNAME, req.fd);
			VM_CHECK(r == 0, "FDSTORE own session: %s", vm_errname(-r));
			close(mfd);
			close(req.fd);
		}
		close(dev);
	}

	/* A memfd in the store without any session of ours: systemd's
	 * own preservation of fd store entries (v261). */
	int pfd = make_memfd("plain", PLAIN_SIZE, 99, 77);
	if (pfd >= 0) {
		int r = notify("FDSTORE=1\nFDNAME=" PLAIN_FDNAME, pfd);
		VM_CHECK(r == 0, "FDSTORE plain memfd: %s", vm_errname(-r));
		close(pfd);
	}
}

static void boot2(int argc, char **argv, int more)
{
	int sfds[64], nsfds = 0;

	for (int i = 1; i < argc; i++) {
		int sfd = passed_fd(argv[i]), fd;

		VM_CHECK(sfd >= 0, "LUOSession '%s' not passed after the kexec", argv[i]);
		if (sfd < 0)
			continue;
		VM_CHECK(strcmp(direction(sfd), "incoming") == 0,
			 "'%s' is not incoming in boot 2", argv[i]);
		fd = retrieve(sfd, 100 + (unsigned)i);
		VM_CHECK(fd >= 0, "retrieve from '%s': %s", argv[i], vm_errname(-fd));
		if (fd >= 0) {
			check_memfd(argv[i], fd, size_of(i), (unsigned)i, offset_of(i));
			close(fd);
		}
		sfds[nsfds++] = sfd;
	}

	int own = passed_fd(OWN_FDNAME);
	VM_CHECK(own >= 0, "the session pushed as '%s' was not passed back", OWN_FDNAME);
	if (own >= 0) {
		char kname[80];
		int fd;

		kernel_name(own, kname, sizeof(kname));
		VM_CHECK(strcmp(kname, OWN_SESSION) == 0, "own session is '%s'", kname);
		VM_CHECK(strcmp(direction(own), "incoming") == 0,
			 "own session is not incoming");
		fd = retrieve(own, OWN_TOKEN);
		VM_CHECK(fd >= 0, "retrieve from own session: %s", vm_errname(-fd));
		if (fd >= 0) {
			check_memfd("own session", fd, size_of(0), 0, offset_of(0));
			close(fd);
		}
		sfds[nsfds++] = own;
	}

	int plain = passed_fd(PLAIN_FDNAME);
	if (plain < 0) {
		FACT("the plain memfd pushed as '%s' did not come back", PLAIN_FDNAME);
	} else {
		struct stat st;
		long long diff = -2;
		char link[PATH_MAX];

		fd_link(0, plain, link, sizeof(link));
		if (fstat(plain, &st) == 0 && st.st_size == PLAIN_SIZE)
			diff = vm_memfd_compare(plain, PLAIN_SIZE, seed, 99);
		FACT("the plain memfd came back as %s: size %lld, offset %lld, bytes %s",
		     link, (long long)st.st_size,
		     (long long)lseek(plain, 0, SEEK_CUR),
		     diff == -1 ? "intact" : "differ");
	}

	/* Can the service open the device now, and what happened to the
	 * sessions' kernel names (retrieved by PID 1 already?) */
	int dev = open_device();
	if (dev >= 0) {
		const char *names[] = { "systemd", OWN_SESSION };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct luo_k_session_req req = { .size = sizeof(req) };

			snprintf((char *)req.name, sizeof(req.name), "%s", names[i]);
			if (ioctl(dev, LUO_K_RETRIEVE_SESSION, &req) == 0) {
				FACT("RETRIEVE_SESSION '%s' by the service: ok (closed again)",
				     names[i]);
				close(req.fd);
			} else {
				FACT("RETRIEVE_SESSION '%s' by the service: %s",
				     names[i], vm_errname(errno));
			}
		}
		close(dev);
	}

	for (int i = 0; i < nsfds; i++) {
		char kname[80];
		int r;

		kernel_name(sfds[i], kname, sizeof(kname));
		r = finish(sfds[i]);
		VM_CHECK(r == 0, "finish '%s': %s", kname, vm_errname(-r));
		r = finish(sfds[i]);
		FACT("session '%s': FINISH by the service ok; a second FINISH: %s",
		     kname, r == 0 ? "ok" : vm_errname(-r));
		/* Is there room for the next live update's state here? */
		int mfd = memfd_create("next", MFD_CLOEXEC);
		r = mfd < 0 ? -errno : preserve(sfds[i], mfd, 500);
		FACT("session '%s': a preserve after FINISH: %s", kname,
		     r == 0 ? "ok" : vm_errname(-r));
		if (mfd >= 0)
			close(mfd);
	}

	if (!more)
		return;
	/* Another kexec follows.  The finished sessions have no room for
	 * new state: drop them from the store, so that systemd makes fresh
	 * outgoing ones when the driver restarts the service. */
	for (int i = 1; i < argc; i++) {
		char msg[300];
		int r;

		snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", argv[i]);
		r = notify(msg, -1);
		VM_CHECK(r == 0, "FDSTOREREMOVE %s: %s", argv[i], vm_errname(-r));
	}
	for (int i = 0; i < nsfds; i++)
		close(sfds[i]);
	FACT("sent FDSTOREREMOVE for the LUOSession= names and closed them; PID 1 now holds:");
	describe_pid1();
}

/* Boot 2 again, after the driver restarted the service (more kexecs to
 * come): the LUOSession= names should bring fresh outgoing sessions, to
 * be filled for boot 3. */
static void boot2_restarted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int sfd = passed_fd(argv[i]), mfd, r;

		VM_CHECK(sfd >= 0, "LUOSession '%s' not passed after the restart", argv[i]);
		if (sfd < 0)
			continue;
		VM_CHECK(strcmp(direction(sfd), "outgoing") == 0,
			 "'%s' is not outgoing after FDSTOREREMOVE and a restart", argv[i]);
		mfd = make_memfd(argv[i], size_of(i), 1000u + (unsigned)i, offset_of(i));
		if (mfd < 0)
			continue;
		r = preserve(sfd, mfd, 100 + (unsigned)i);
		VM_CHECK(r == 0, "preserve in the new '%s': %s", argv[i], vm_errname(-r));
		close(mfd);
		close(sfd);
	}
}

/* Boot 3: what boot 2's restarted service preserved. */
static void boot3(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int sfd = passed_fd(argv[i]), fd, r;

		if (sfd < 0 || strcmp(direction(sfd), "incoming") != 0) {
			FACT("boot 3: '%s' is %s", argv[i], sfd < 0 ? "not passed" : direction(sfd));
			continue;
		}
		fd = retrieve(sfd, 100 + (unsigned)i);
		VM_CHECK(fd >= 0, "boot 3: retrieve from '%s': %s", argv[i], vm_errname(-fd));
		if (fd >= 0) {
			check_memfd(argv[i], fd, size_of(i), 1000u + (unsigned)i, offset_of(i));
			close(fd);
		}
		r = finish(sfd);
		VM_CHECK(r == 0, "boot 3: finish '%s': %s", argv[i], vm_errname(-r));
	}
}

int main(int argc, char **argv)
{
	unsigned long long stage = vm_cmdline_ull("libluo.stage", 1);
	unsigned long long last = vm_cmdline_ull("libluo.last", 2);
	sigset_t ss;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = vm_cmdline_ull("libluo.seed", 1);
	/* SIGTERM is waited for below, not delivered. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);

	printf("vm-systemd-probe: boot %llu, seed %llu, pid %d\n", stage, seed,
	       (int)getpid());
	read_listen_fds();
	describe_passed();
	describe_pid1();
	if (stage <= 1) {
		boot1(argc, argv);
	} else if (stage == 2 && access(RESTART_MARK, F_OK) == 0) {
		boot2_restarted(argc, argv);
	} else if (stage == 2) {
		boot2(argc, argv, last > 2);
		close(open(RESTART_MARK, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	} else if (stage == 3) {
		boot3(argc, argv);
	}
	/* later boots: the facts above are all */
	describe_pid1();

	if (vm_failures) {
		printf("vm-systemd-probe: boot %llu: %u checks failed\n", stage,
		       vm_failures);
		return 1;
	}
	printf("vm-systemd-probe: boot %llu: all checks passed\n", stage);
	notify(stage <= 1 ? "READY=1\nSTATUS=sessions filled"
			  : "READY=1\nSTATUS=everything came back", -1);
	sigwait(&ss, &sig);
	printf("vm-systemd-probe: SIGTERM, exiting\n");
	return 0;
}
