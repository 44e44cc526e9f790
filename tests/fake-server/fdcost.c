/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a preserved token costs the client in descriptors, on the
 * in-process fake kernel and on the fake-kernel server (whose process,
 * not the client, holds the files: as with the kernel, which holds a
 * struct file and no descriptor).  For the sessions API (one session, N
 * files) and the original API (luo_fd_preserve(): a session per token on
 * the mainline ABI).  The figures are the slope over N tokens, so that
 * what a context costs once does not count.
 *
 * Asserts the kernel's figures on the server: 0 descriptors per file in a
 * session, 1 per token of the original API (its session).  Prints all.
 *
 * Usage: test-fake-fdcost LUO-FAKE-SERVER
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libluo-fake.h>
#include <libluo.h>

static char sock_path[128];

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own */
}

static luo_ctx_t *new_ctx(luo_fake_t *fake)
{
	luo_ctx_opts_t *opts;
	luo_ctx_t *ctx;
	int r;

	if (luo_ctx_opts_new(&opts))
		exit(1);
	if (fake)
		r = luo_ctx_opts_set_fake(opts, fake);
	else
		r = luo_ctx_opts_set_fake_socket(opts, sock_path);
	if (!r)
		r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	if (r) {
		fprintf(stderr, "luo_ctx_new: %s\n", strerror(-r));
		exit(1);
	}
	return ctx;
}

static int memfd(void)
{
	int fd = memfd_create("tok", MFD_CLOEXEC);

	if (fd < 0 || write(fd, "x", 1) != 1)
		exit(1);
	return fd;
}

/* Descriptors the client holds after preserving @n tokens (their memfds
 * closed), minus before. */
static int cost(luo_fake_t *fake, bool original, int n)
{
	luo_ctx_t *ctx = new_ctx(fake);
	luo_session_t *s = NULL;
	int before, after, i, r;

	if (!original && luo_session_create(ctx, "fdcost", &s))
		exit(1);
	before = fd_count();
	for (i = 0; i < n; i++) {
		int fd = memfd();

		r = original ? luo_fd_preserve(ctx, fd, 100 + (uint64_t)i)
			     : luo_session_preserve_fd(s, fd, 100 + (uint64_t)i);
		if (r) {
			fprintf(stderr, "preserve %d: %s\n", i, strerror(-r));
			exit(1);
		}
		close(fd);
	}
	after = fd_count();
	luo_session_close(s, LUO_SESSION_CLOSE_FORCE);
	luo_ctx_unref(ctx);
	return after - before;
}

static void measure(const char *what, luo_fake_t *fake, bool original,
		    double *slope)
{
	int a = cost(fake, original, 100), b = cost(fake, original, 300);

	*slope = (b - a) / 200.0;
	printf("# %-12s %-9s: %4d fds for 100 tokens, %4d for 300: "
	       "%.2f per token\n",
	       what, original ? "original" : "sessions", a, b, *slope);
}

int main(int argc, char **argv)
{
	double fs, fo, ss, so;
	char dir[] = "/tmp/luo-fdcost-XXXXXX";
	luo_fake_t *fake;
	pid_t pid;
	int i;

	if (argc != 2)
		return 2;
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/fake.sock", dir);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* ends with the test */
		execl(argv[1], argv[1], "serve", "--socket", sock_path,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && access(sock_path, F_OK); i++)
		usleep(10000);

	if (luo_fake_new(LUO_ABI_MAINLINE, &fake))
		return 1;
	measure("in-process", fake, false, &fs);
	measure("in-process", fake, true, &fo);
	luo_fake_unref(fake);
	measure("fake-server", NULL, false, &ss);
	measure("fake-server", NULL, true, &so);
	printf("# kernel      : 0 per file in a session, 1 per token of the "
	       "original API (its session)\n");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	rmdir(dir);
	printf("%s 1 - fake server: 0 descriptors per file in a session\n",
	       ss == 0 ? "ok" : "not ok");
	printf("%s 2 - fake server: 1 descriptor per token of the original "
	       "API\n", so == 1 ? "ok" : "not ok");
	printf("1..2\n");
	return ss == 0 && so == 1 ? 0 : 1;
}
