/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo-fdstore-service: a systemd service whose state survives a kexec
 * live update, with systemd's LUOSession= and libluo.
 *
 *   luo-fdstore-service NAME...      (the unit's LUOSession= names)
 *
 * Run it from luo-fdstore-service.service (beside this file):
 *
 *   LUOSession=state cache
 *   FileDescriptorStoreMax=8
 *   FileDescriptorStorePreserve=yes
 *   NotifyAccess=main
 *
 * systemd owns /dev/liveupdate.  For each LUOSession= name it creates a
 * session (or, after a kexec, retrieves it) and hands it over through the
 * file descriptor store, under that name.  The service never opens the
 * device for those: its libluo context is one without the device.
 *
 * Before the live update (the sessions are outgoing) the service keeps its
 * state in memfds and preserves each in a session under a label.  It also
 * makes a session of its own (it opens the device briefly: systemd does
 * not hold it while services run) and gives it to the fd store, which
 * keeps it across the kexec like the others.
 *
 * After 'systemctl kexec' systemd starts the service again with the same
 * names, now bringing incoming sessions.  libluo reads what was recorded
 * in each, so the service lists every file and its label before it
 * retrieves anything, then takes each one back by its label, checks it
 * and finishes the session.
 *
 * The state here is seeded random data, so that the second boot can check
 * every byte: the seed is kept in the first session too (label "seed").
 * $LUO_EXAMPLE_SEED chooses it (the VM test does); otherwise it is random.
 *
 * A restart in the same boot (its own session is in the store already)
 * keeps what the first start preserved.
 *
 * Exit status: 0 after SIGTERM; 1 when something did not come back as it
 * was preserved (before READY=1, so that the unit fails to start).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libluo.h>

#define FILES_PER_SESSION 3
#define OWN_SESSION "luo-fdstore-service.own" /* the kernel's name */
#define OWN_FDNAME "own"                      /* its name in the fd store */
#define SEED_LABEL "seed"

static unsigned failures;

#define say(...) (printf("luo-fdstore-service: " __VA_ARGS__), putchar('\n'))
#define check(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			say("FAILED: " __VA_ARGS__);                       \
			failures++;                                        \
		}                                                          \
	} while (0)

/* --- the state: seeded random bytes ---------------------------------------- */

/* File @k of session @s: its size, the file offset it is left at, and its
 * bytes (splitmix64 from the seed).  Three files of 1 to 2 MiB per
 * session. */
static size_t file_size(int s, int k)
{
	return (1u << 20) + 333u * 1024 * (unsigned)k + 4096u * (unsigned)s + 17;
}

static off_t file_offset(int s, int k)
{
	return (off_t)(file_size(s, k) / (size_t)(k + 2));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(unsigned char *buf, size_t len, uint64_t seed, int s, int k)
{
	uint64_t x = seed ^ ((uint64_t)s << 32) ^ (uint64_t)k;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix64(&x);

		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* A memfd holding @len bytes of @data, its offset at @off. */
static int make_memfd(const char *name, const void *data, size_t len, off_t off)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (pwrite(fd, data, len, 0) != (ssize_t)len || lseek(fd, off, SEEK_SET) != off) {
		int e = errno ? errno : EIO;

		close(fd);
		return -e;
	}
	return fd;
}

/* Whether @fd holds exactly @want (@len bytes) and sits at offset @off. */
static bool same_file(const char *what, int fd, const unsigned char *want,
		      size_t len, off_t off)
{
	struct stat st;
	unsigned char *got;
	bool ok;

	if (fstat(fd, &st) != 0 || (size_t)st.st_size != len) {
		say("%s: size %lld, expected %zu", what, (long long)st.st_size, len);
		return false;
	}
	if (lseek(fd, 0, SEEK_CUR) != off) {
		say("%s: offset %lld, expected %lld", what,
		    (long long)lseek(fd, 0, SEEK_CUR), (long long)off);
		return false;
	}
	got = malloc(len);
	ok = got && pread(fd, got, len, 0) == (ssize_t)len && memcmp(got, want, len) == 0;
	if (!ok)
		say("%s: the bytes differ", what);
	free(got);
	return ok;
}

/* --- talking to systemd ------------------------------------------------------- */

/* sd_notify(0, @msg) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int s;

	if (!path || (n = strlen(path)) == 0 || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract socket */
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	sendto(s, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(s);
}

/* --- before the live update ------------------------------------------------------ */

/* Fill session @s (index @si): three labeled memfds of seeded bytes. */
static void fill_session(luo_session_t *s, int si, uint64_t seed)
{
	for (int k = 0; k < FILES_PER_SESSION; k++) {
		size_t len = file_size(si, k);
		unsigned char *data = malloc(len);
		char label[32];
		int fd, r;

		snprintf(label, sizeof(label), "blob-%d", k);
		if (!data) {
			check(false, "out of memory");
			return;
		}
		fill(data, len, seed, si, k);
		fd = make_memfd(label, data, len, file_offset(si, k));
		free(data);
		check(fd >= 0, "memfd %s: %s", label, strerror(-fd));
		if (fd < 0)
			continue;
		/* The kernel keeps the file: our descriptor may go. */
		r = luo_session_preserve_fd_labeled(s, fd, (uint64_t)k + 1, label);
		check(r == 0, "preserve %s: %s", label, strerror(-r));
		close(fd);
	}
}

/* A session of the service's own, with one file, given to the fd store.
 * Its file is "file 0 of session OWN_INDEX" of the seeded state. */
#define OWN_INDEX 9

static void make_own_session(uint64_t seed)
{
	luo_ctx_t *dev_ctx = NULL;
	luo_session_t *own = NULL;
	size_t len = file_size(OWN_INDEX, 0);
	unsigned char *data;
	int fd, r;

	/* A second context, this one with the device: systemd does not hold
	 * it while services run. */
	r = luo_ctx_new(NULL, &dev_ctx);
	check(r == 0, "open %s: %s", LUO_DEVICE_PATH, strerror(-r));
	if (r < 0)
		return;
	r = luo_session_create(dev_ctx, OWN_SESSION, &own);
	/* The device is single-open, and systemd needs it at the kexec:
	 * let go of it at once (the session stays). */
	luo_ctx_close_device(dev_ctx);
	check(r == 0, "create session %s: %s", OWN_SESSION, strerror(-r));
	if (r < 0)
		goto out;

	data = malloc(len);
	check(data, "out of memory");
	if (data) {
		fill(data, len, seed, OWN_INDEX, 0);
		fd = make_memfd("own-blob", data, len, file_offset(OWN_INDEX, 0));
		free(data);
		r = fd < 0 ? fd : luo_session_preserve_fd_labeled(own, fd, 1, "own-blob");
		check(r == 0, "preserve own-blob: %s", strerror(-r));
		if (fd >= 0)
			close(fd);
	}

	/* From now on systemd keeps the session, so the handle can go. */
	r = luo_session_fdstore_push(own, OWN_FDNAME);
	check(r == 0, "push %s to the fd store: %s", OWN_SESSION, strerror(-r));
	if (r == 0)
		say("session %s (fd store name '%s'): 1 file", OWN_SESSION, OWN_FDNAME);
	r = luo_session_close(own, r == 0 ? 0 : LUO_SESSION_CLOSE_FORCE);
	check(r == 0, "close %s: %s", OWN_SESSION, strerror(-r));
out:
	luo_ctx_unref(dev_ctx);
}

static void before(luo_session_t **sessions, int n, uint64_t seed)
{
	int fd, r;

	/* The seed, so that the next boot can regenerate the bytes. */
	fd = make_memfd(SEED_LABEL, &seed, sizeof(seed), 0);
	r = fd < 0 ? fd : luo_session_preserve_fd_labeled(sessions[0], fd, 100, SEED_LABEL);
	check(r == 0, "preserve the seed: %s", strerror(-r));
	if (fd >= 0)
		close(fd);

	for (int i = 0; i < n; i++) {
		fill_session(sessions[i], i, seed);
		say("session %d: %d files preserved", i, luo_session_token_count(sessions[i]));
	}
	make_own_session(seed);
}

/* --- after the live update ------------------------------------------------------- */

static int list_token(uint64_t token, enum luo_token_state state, void *userdata)
{
	luo_session_t *s = userdata;
	const char *label = "(none)";

	luo_session_token_get_label(s, token, &label);
	say("  token %" PRIu64 " '%s'%s", token, label,
	    state == LUO_TOKEN_INCOMING ? "" : " (NOT incoming)");
	check(state == LUO_TOKEN_INCOMING, "token %" PRIu64 " is in state %d", token, state);
	return 0;
}

/* Take file @label back from @s and compare it with file @k of session
 * @si of the seeded state. */
static void check_file(luo_session_t *s, const char *label, int si, int k, uint64_t seed)
{
	size_t len = file_size(si, k);
	unsigned char *want = malloc(len);
	uint64_t token;
	int fd, r;

	r = luo_session_retrieve_fd_by_label(s, label, &token, &fd);
	check(r == 0, "retrieve '%s': %s", label, strerror(-r));
	if (r == 0 && want) {
		fill(want, len, seed, si, k);
		check(same_file(label, fd, want, len, file_offset(si, k)),
		      "'%s' (token %" PRIu64 ") is not what was preserved", label, token);
		close(fd);
	}
	free(want);
}

static void finish(luo_session_t *s)
{
	const char *name = "?";
	int r;

	luo_session_get_name(s, &name);
	r = luo_session_finish(s);
	check(r == 0, "finish %s: %s", name, strerror(-r));
	r = luo_session_close(s, 0);
	check(r == 0, "close %s: %s", name, strerror(-r));
}

static void after(luo_ctx_t *ctx, luo_session_t **sessions, int n, uint64_t env_seed)
{
	luo_session_t *own = NULL;
	uint64_t seed = 0;
	int fd, r;

	/* The session the service made itself comes back under its fd
	 * store name too. */
	r = luo_session_from_fdstore(ctx, OWN_FDNAME, &own);
	check(r == 0, "session '%s' from the fd store: %s", OWN_FDNAME, strerror(-r));

	/* Everything recorded, before anything is retrieved. */
	for (int i = 0; i < n; i++) {
		int count = luo_session_token_count(sessions[i]);
		int want = FILES_PER_SESSION + (i == 0); /* + the seed */

		say("session %d holds %d file%s:", i, count, count == 1 ? "" : "s");
		check(count == want, "session %d: %d files recorded, expected %d", i, count, want);
		luo_session_token_foreach(sessions[i], list_token, sessions[i]);
	}
	if (own) {
		int count = luo_session_token_count(own);

		say("session %s holds %d file%s:", OWN_SESSION, count, count == 1 ? "" : "s");
		check(count == 1, "%s: %d files recorded, expected 1", OWN_SESSION, count);
		luo_session_token_foreach(own, list_token, own);
	}

	/* Then take everything back by its label and compare. */
	r = luo_session_retrieve_fd_by_label(sessions[0], SEED_LABEL, NULL, &fd);
	check(r == 0, "retrieve the seed: %s", strerror(-r));
	if (r == 0) {
		check(pread(fd, &seed, sizeof(seed), 0) == sizeof(seed), "read the seed");
		close(fd);
	}
	check(!env_seed || seed == env_seed, "seed %" PRIu64 ", expected %" PRIu64,
	      seed, env_seed);

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < FILES_PER_SESSION; k++) {
			char label[32];

			snprintf(label, sizeof(label), "blob-%d", k);
			check_file(sessions[i], label, i, k, seed);
		}
		finish(sessions[i]);
	}
	if (own) {
		check_file(own, "own-blob", OWN_INDEX, 0, seed);
		finish(own);
	}
}

/* --- main ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	luo_session_t *sessions[16], *own;
	enum luo_session_direction dir = LUO_SESSION_OUTGOING;
	const char *env = getenv("LUO_EXAMPLE_SEED");
	uint64_t env_seed = env ? strtoull(env, NULL, 0) : 0, seed = env_seed;
	int n = argc - 1, r;
	sigset_t term;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (n < 1 || n > 16) {
		fprintf(stderr, "usage: %s NAME... (the unit's LUOSession= names, 1 to 16)\n",
			argv[0]);
		return 2;
	}
	/* SIGTERM is waited for at the end. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);

	/* systemd holds the device: a context without it. */
	r = luo_ctx_opts_new(&opts);
	if (r == 0)
		r = luo_ctx_opts_set_open_device(opts, false);
	if (r == 0)
		r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	if (r < 0) {
		say("no libluo context: %s", strerror(-r));
		return 1;
	}

	for (int i = 0; i < n; i++) {
		r = luo_session_from_fdstore(ctx, argv[i + 1], &sessions[i]);
		if (r < 0) {
			say("session '%s' from the fd store: %s (is it in LUOSession=?)",
			    argv[i + 1], strerror(-r));
			return 1;
		}
	}
	luo_session_get_direction(sessions[0], &dir);

	if (dir == LUO_SESSION_OUTGOING &&
	    luo_session_from_fdstore(ctx, OWN_FDNAME, &own) == 0) {
		/* Our own session is in the store already: systemd restarted
		 * us in this boot, and the first start's state is in place. */
		say("restarted before the live update: the state is kept");
		luo_session_close(own, 0);
		for (int i = 0; i < n; i++)
			luo_session_close(sessions[i], 0);
	} else if (dir == LUO_SESSION_OUTGOING) {
		if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)time(NULL);
		say("before the live update: filling %d sessions (seed %" PRIu64 ")", n, seed);
		before(sessions, n, seed);
		/* systemd keeps the sessions in the fd store: our handles may go. */
		for (int i = 0; i < n; i++)
			luo_session_close(sessions[i], 0);
	} else {
		say("after the live update: checking %d sessions", n);
		after(ctx, sessions, n, env_seed);
	}

	if (failures) {
		say("verdict: FAIL (%u problems)", failures);
		return 1;
	}
	say("verdict: %s", dir == LUO_SESSION_OUTGOING ? "state preserved"
						     : "PASS: everything came back intact");
	notify(dir == LUO_SESSION_OUTGOING ? "READY=1\nSTATUS=state preserved"
					   : "READY=1\nSTATUS=state restored");
	sigwait(&term, &sig);
	luo_ctx_unref(ctx);
	return 0;
}
