/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-stages: libluo's public API against a real LUO kernel, across two
 * live updates (kexec into the same kernel; see init and run.sh).
 *
 * usage: vm-stages STAGE      (1, 2 or 3)
 *
 * Stage 1: sessions "vm.many" (128 memfds), "vm.big" (a large memfd, a
 *          sealed one, a one-byte one) and "vm.empty"; every memfd has
 *          deterministic contents and a non-zero file offset where its size
 *          allows, and every other one a label; plus tokens of the original
 *          API (luo_fd_preserve, luo_prepare).  All contents come from
 *          libluo.seed on the kernel command line, so stage 2 regenerates
 *          what it expects.  And "vm.race": a child process keeps
 *          preserving labeled memfds into it until the kexec ends it, so
 *          the live update comes in the middle of a preserve.
 * Stage 2: lists the previous boot's sessions (the index) and each
 *          session's tokens and labels before retrieving anything, then
 *          retrieves and checks everything (bytes, size, offset, seals;
 *          labeled files by label), luo_get_state() == UPDATED,
 *          luo_fd_restore(), luo_finish(), then finishes the sessions and
 *          preserves a fresh, smaller set.  "vm.race": the record lists
 *          tokens 1..n, each retrievable by label with its bytes, and
 *          nothing beyond n + 1 is in the session.
 * Stage 3: nothing of stage 1 is left (-ENOENT), the stage-2 set is intact.
 *
 * Stages 1 and 2 end with vm_hold_and_exit(): a child keeps the context and
 * the session descriptors until init kexecs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libluo.h>

#include "vm-guest.h"

static uint64_t seed;

struct file_spec {
	uint64_t token;
	size_t size;
	off_t pos;
	int seals;	/* F_GET_SEALS expected after the kexec */
	uint64_t stream; /* contents */
};

#define MAX_FILES 160
#define MANY_FILES 128
#define MANY_MAX_SIZE (256u << 10) /* 128 files: at most 32 MiB */
#define BIG_SIZE (28u << 20)       /* vm.big total stays under 30 MiB */
#define SEED_FILES 3

struct set {
	const char *name;	/* session name, NULL: the original API */
	int n;
	struct file_spec f[MAX_FILES];
};

/* The files of one stage, from (seed, stage) alone.  Tokens are random
 * 64-bit values, so they are test data too; a token can repeat across
 * sessions but must not within one. */
static void layout(int stage, struct set *sets, int *nsets)
{
	uint64_t st = seed * 31 + (uint64_t)stage;
	uint64_t stream = (uint64_t)stage << 32;
	struct set *s;

#define NEXT() vm_rand_next(&st)
#define ADD(set_, size_, pos_, seals_)                                   \
	do {                                                             \
		struct file_spec *f_ = &(set_)->f[(set_)->n++];          \
		f_->token = NEXT();                                      \
		f_->size = (size_);                                      \
		f_->pos = (pos_);                                        \
		f_->seals = (seals_);                                    \
		f_->stream = ++stream;                                   \
	} while (0)

	*nsets = 0;
	if (stage == 1) {
		s = &sets[(*nsets)++];
		s->name = "vm.many";
		s->n = 0;
		for (int i = 0; i < MANY_FILES; i++) {
			size_t size = NEXT() % (MANY_MAX_SIZE + 1);
			ADD(s, size, (off_t)(size ? NEXT() % size + (i & 1) : 0),
			    F_SEAL_SEAL);
		}
		s = &sets[(*nsets)++];
		s->name = "vm.big";
		s->n = 0;
		ADD(s, BIG_SIZE - 12345, (off_t)(BIG_SIZE / 2 + 7), F_SEAL_SEAL);
		ADD(s, 3 * 4096 + 17, 4097,
		    F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
		ADD(s, 1, 1, F_SEAL_SEAL);
		s = &sets[(*nsets)++];
		s->name = "vm.empty";
		s->n = 0;
		s = &sets[(*nsets)++];
		s->name = NULL;
		s->n = 0;
		for (int i = 0; i < SEED_FILES; i++)
			ADD(s, 4096 * (i + 1) + 3, (off_t)(i * 100 + 1), F_SEAL_SEAL);
	} else if (stage == 2) {
		s = &sets[(*nsets)++];
		s->name = "vm.s2";
		s->n = 0;
		for (int i = 0; i < 5; i++)
			ADD(s, (size_t)(NEXT() % 65536), 0, F_SEAL_SEAL);
		s = &sets[(*nsets)++];
		s->name = NULL;
		s->n = 0;
		for (int i = 0; i < 2; i++)
			ADD(s, 8192 + (size_t)i, 3, F_SEAL_SEAL);
	}
#undef ADD
#undef NEXT
}

static struct set sets1[4], sets2[2];
static int nsets1, nsets2;

/* A memfd with the spec's bytes, offset and seals. */
static int make_file(const struct file_spec *f)
{
	int sealed = f->seals != F_SEAL_SEAL;
	int fd = memfd_create("vm", MFD_CLOEXEC | (sealed ? MFD_ALLOW_SEALING : 0));

	if (fd < 0) {
		vm_fail(__FILE__, __LINE__, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)f->size) != 0 ||
	    vm_memfd_fill(fd, f->size, seed, f->stream) != 0 ||
	    lseek(fd, f->pos, SEEK_SET) != f->pos ||
	    (sealed && fcntl(fd, F_ADD_SEALS, f->seals) != 0)) {
		vm_fail(__FILE__, __LINE__, "preparing memfd: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Size, offset, seals and every byte. */
static void check_file(const char *where, const struct file_spec *f, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || (size_t)st.st_size != f->size) {
		vm_fail(__FILE__, __LINE__, "%s token %#" PRIx64 ": size %lld, want %zu",
			where, f->token, (long long)st.st_size, f->size);
		return;
	}
	off_t pos = lseek(fd, 0, SEEK_CUR);
	VM_CHECK(pos == f->pos, "%s token %#" PRIx64 ": offset %lld, want %lld",
		 where, f->token, (long long)pos, (long long)f->pos);
	int seals = fcntl(fd, F_GET_SEALS);
	VM_CHECK(seals == f->seals, "%s token %#" PRIx64 ": seals %#x, want %#x",
		 where, f->token, seals, f->seals);
	int fdfl = fcntl(fd, F_GETFD);
	VM_CHECK(fdfl >= 0 && (fdfl & FD_CLOEXEC), "%s: restored fd not O_CLOEXEC", where);
	long long diff = vm_memfd_compare(fd, f->size, seed, f->stream);
	VM_CHECK(diff < 0, "%s token %#" PRIx64 ": first differing byte at %lld of %zu",
		 where, f->token, diff, f->size);
}

static size_t set_bytes(const struct set *s)
{
	size_t n = 0;

	for (int i = 0; i < s->n; i++)
		n += s->f[i].size;
	return n;
}

static luo_ctx_t *open_ctx(void)
{
	luo_ctx_t *ctx = NULL;
	enum luo_abi abi = LUO_ABI_AUTO;
	int r = luo_ctx_new(NULL, &ctx);

	if (r != 0) {
		vm_fail(__FILE__, __LINE__, "luo_ctx_new: %d (%s)", r, vm_errname(-r));
		vm_finish_program("vm-stages", 0);
	}
	VM_CHECK_RET(luo_ctx_get_abi(ctx, &abi), 0);
	VM_CHECK(abi == LUO_ABI_MAINLINE, "ABI %d, want LUO_ABI_MAINLINE", (int)abi);
	return ctx;
}

static void expect_state(luo_ctx_t *ctx, enum luo_state want)
{
	enum luo_state st = LUO_STATE_UNDEFINED;

	VM_CHECK_RET(luo_get_state(ctx, &st), 0);
	VM_CHECK(st == want, "luo_get_state: %s, want %s", luo_state_to_string(st),
		 luo_state_to_string(want));
}

/* The label of a set's i-th file (even i only are labeled). */
static void label_of(const struct set *s, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/file-%d", s->name, i);
}

struct listing {
	const struct set *s;
	int n, incoming;
};

static int check_listed(uint64_t token, enum luo_token_state state,
			void *data)
{
	struct listing *l = data;
	int i;

	for (i = 0; i < l->s->n && l->s->f[i].token != token; i++)
		;
	VM_CHECK(i < l->s->n, "%s: the record lists token %#" PRIx64
		 ", which was not preserved", l->s->name, token);
	l->n++;
	l->incoming += state == LUO_TOKEN_INCOMING;
	return 0;
}

/* Preserve a layout: sessions through the session API, the set with no
 * name through the original API followed by luo_prepare().  Session
 * handles stay open (they are what carries the files). */
static void preserve_sets(luo_ctx_t *ctx, struct set *sets, int nsets)
{
	for (int k = 0; k < nsets; k++) {
		struct set *s = &sets[k];
		luo_session_t *sess = NULL;

		if (s->name) {
			int r = luo_session_create(ctx, s->name, &sess);
			VM_CHECK(r == 0, "luo_session_create(%s): %s", s->name, vm_errname(-r));
			if (r)
				continue;
		}
		for (int i = 0; i < s->n; i++) {
			int fd = make_file(&s->f[i]);
			if (fd < 0)
				continue;
			if (sess && i % 2 == 0) {
				char label[64];

				label_of(s, i, label, sizeof(label));
				VM_CHECK_RET(luo_session_preserve_fd_labeled(sess, fd,
									     s->f[i].token,
									     label),
					     0);
			} else if (sess)
				VM_CHECK_RET(luo_session_preserve_fd(sess, fd, s->f[i].token), 0);
			else
				VM_CHECK_RET(luo_fd_preserve(ctx, fd, s->f[i].token), 0);
			/* The kernel holds its own reference. */
			close(fd);
		}
		if (sess) {
			VM_CHECK_RET(luo_session_token_count(sess), s->n);
			/* Closing without FORCE would lose data: refused. */
			VM_CHECK_RET(luo_session_close(sess, 0), s->n ? -EBUSY : 0);
			if (!s->n) {
				/* An empty session may be closed, but it must
				 * travel: create it again and keep it. */
				VM_CHECK_RET(luo_session_create(ctx, s->name, &sess), 0);
			}
		}
		printf("vm-stages: preserved %s: %d file(s), %zu bytes\n",
		       s->name ? s->name : "(original API)", s->n, set_bytes(s));
	}
}

/* Retrieve a session and check every file of its spec. */
static void retrieve_set(luo_ctx_t *ctx, const struct set *s)
{
	luo_session_t *sess = NULL;
	enum luo_session_direction dir = 0;
	const char *name = NULL;
	int r = luo_session_retrieve(ctx, s->name, &sess);

	if (r != 0) {
		vm_fail(__FILE__, __LINE__, "luo_session_retrieve(%s): %s", s->name,
			vm_errname(-r));
		return;
	}
	VM_CHECK_RET(luo_session_retrieve(ctx, s->name, &(luo_session_t *){ NULL }), -EINVAL);
	VM_CHECK_RET(luo_session_get_direction(sess, &dir), 0);
	VM_CHECK(dir == LUO_SESSION_INCOMING, "%s: direction %d", s->name, (int)dir);
	VM_CHECK_RET(luo_session_get_name(sess, &name), 0);
	VM_CHECK(name && strcmp(name, s->name) == 0, "%s: name '%s'", s->name, name ? name : "(null)");
	/* The record: every token and label, before anything is retrieved. */
	struct listing l = { s, 0, 0 };
	VM_CHECK_RET(luo_session_token_count(sess), s->n);
	VM_CHECK_RET(luo_session_token_foreach(sess, check_listed, &l), 0);
	VM_CHECK(l.n == s->n && l.incoming == s->n,
		 "%s: %d tokens listed, %d incoming, want %d", s->name, l.n,
		 l.incoming, s->n);
	for (int i = 0; i < s->n; i++) {
		const char *label = NULL;
		char want[64];

		r = luo_session_token_get_label(sess, s->f[i].token, &label);
		if (i % 2) {
			VM_CHECK(r == -ENOENT, "%s: file %d has a label", s->name, i);
			continue;
		}
		label_of(s, i, want, sizeof(want));
		VM_CHECK(r == 0 && !strcmp(label, want), "%s: file %d: label %s",
			 s->name, i, r == 0 ? label : vm_errname(-r));
	}
	/* An incoming session takes no new files. */
	int spare = memfd_create("spare", MFD_CLOEXEC);
	VM_CHECK_RET(luo_session_preserve_fd(sess, spare, 1), -EINVAL);
	close(spare);

	/* Backwards, to show that the order does not matter. */
	for (int i = s->n - 1; i >= 0; i--) {
		const struct file_spec *f = &s->f[i];
		enum luo_token_state ts = 0;
		int fd = -1;

		if (i % 2 == 0) {
			char label[64];
			uint64_t token = 0;

			label_of(s, i, label, sizeof(label));
			r = luo_session_retrieve_fd_by_label(sess, label, &token, &fd);
			VM_CHECK(r != 0 || token == f->token, "%s: label %s: token %#" PRIx64,
				 s->name, label, token);
		} else {
			r = luo_session_retrieve_fd(sess, f->token, &fd);
		}
		if (r != 0) {
			vm_fail(__FILE__, __LINE__, "%s: retrieve token %#" PRIx64 ": %s",
				s->name, f->token, vm_errname(-r));
			continue;
		}
		check_file(s->name, f, fd);
		VM_CHECK_RET(luo_session_token_lookup(sess, f->token, &ts), 0);
		VM_CHECK(ts == LUO_TOKEN_RESTORED, "%s: token state %d after retrieve", s->name, (int)ts);
		close(fd);
	}
	/* A token that was never preserved (a stream id, not a token). */
	int fd = -1;
	VM_CHECK_RET(luo_session_retrieve_fd(sess, 0x5eed0000deadULL, &fd), -ENOENT);

	r = luo_session_finish(sess);
	VM_CHECK(r == 0, "luo_session_finish(%s): %s", s->name, vm_errname(-r));
	/* As the kernel: finishing again is a no-op, and a finished session
	 * has nothing left to retrieve. */
	VM_CHECK_RET(luo_session_finish(sess), 0);
	if (s->n)
		VM_CHECK_RET(luo_session_retrieve_fd(sess, s->f[0].token, &fd),
			     -ENOENT);
	VM_CHECK_RET(luo_session_close(sess, 0), 0);
	printf("vm-stages: %s: %d file(s), %zu bytes intact; finished\n", s->name, s->n,
	       set_bytes(s));
}

/* The original API after a live update: state, restore, finish. */
static void restore_seed_set(luo_ctx_t *ctx, const struct set *s)
{
	expect_state(ctx, LUO_STATE_UPDATED);
	for (int i = 0; i < s->n; i++) {
		int fd = -1;
		int r = luo_fd_restore(ctx, s->f[i].token, &fd);

		if (r != 0) {
			vm_fail(__FILE__, __LINE__, "luo_fd_restore(%#" PRIx64 "): %s",
				s->f[i].token, vm_errname(-r));
			continue;
		}
		check_file("original API", &s->f[i], fd);
		close(fd);
	}
	int fd = -1;
	VM_CHECK_RET(luo_fd_restore(ctx, 0x5eed0000deadULL, &fd), -ENOENT);
	VM_CHECK_RET(luo_finish(ctx), 0);
	expect_state(ctx, LUO_STATE_NORMAL);
	VM_CHECK_RET(luo_finish(ctx), -EINVAL);
	printf("vm-stages: original API: %d token(s) restored and checked; finished\n", s->n);
}

static const struct set *seed_set(const struct set *sets, int n)
{
	for (int k = 0; k < n; k++)
		if (!sets[k].name)
			return &sets[k];
	return NULL;
}

/* ---- vm.race: a live update in the middle of preserves --------------- */

#define RACE_MAX 20000 /* 16 bytes each, one page: at most 80 MiB */

static void race_label(uint64_t t, char *buf, size_t len)
{
	snprintf(buf, len, "race-%" PRIu64, t);
}

/* A memfd whose 16 bytes say its token. */
static int race_file(uint64_t t)
{
	uint64_t bytes[2] = { t, ~t };
	int fd = memfd_create("race", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The racer, a child that received the session: preserve labeled files
 * until the kexec ends the process (or RACE_MAX, then wait for it), with a
 * pause after each, which lets init go on with the kexec and bounds the
 * memory the files take.
 */
static void race_child(int sock)
{
	luo_ctx_opts_t *o = NULL;
	luo_ctx_t *ctx = NULL;
	luo_session_t *s = NULL;
	char label[32];

	if (luo_ctx_opts_new(&o) || luo_ctx_opts_set_open_device(o, false) ||
	    luo_ctx_new(o, &ctx) || luo_session_recv(ctx, sock, &s)) {
		printf("vm-stages: racer: no session to preserve into\n");
		_exit(1);
	}
	luo_ctx_opts_free(o);
	for (uint64_t t = 1; t <= RACE_MAX; t++) {
		int fd = race_file(t), r;

		race_label(t, label, sizeof(label));
		r = fd < 0 ? -errno : luo_session_preserve_fd_labeled(s, fd, t, label);
		close(fd);
		if (r) {
			printf("vm-stages: racer: preserve %" PRIu64 ": %s\n", t,
			       vm_errname(-r));
			break;
		}
		usleep(2000);
	}
	for (;;)
		pause();
}

/* Create vm.race, hand it to a racer child, keep our handle too. */
static void start_racer(luo_ctx_t *ctx)
{
	luo_session_t *s = NULL;
	int sv[2];
	pid_t pid;

	VM_CHECK_RET(luo_session_create(ctx, "vm.race", &s), 0);
	if (!s || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		race_child(sv[1]);
	}
	VM_CHECK(pid > 0, "fork: %s", strerror(errno));
	close(sv[1]);
	VM_CHECK_RET(luo_session_send(s, sv[0]), 0);
	close(sv[0]);
	/* the handle stays open: the holder keeps it until the kexec */
}

static void check_race(luo_ctx_t *ctx)
{
	luo_session_t *s = NULL;
	uint64_t bytes[2], token;
	char label[32];
	int n, fd = -1, r;

	VM_CHECK_RET(luo_session_retrieve(ctx, "vm.race", &s), 0);
	if (!s)
		return;
	n = luo_session_token_count(s);
	VM_CHECK(n > 0, "vm.race: %d tokens recorded", n);
	for (int t = 1; t <= n; t++) {
		race_label((uint64_t)t, label, sizeof(label));
		r = luo_session_retrieve_fd_by_label(s, label, &token, &fd);
		if (r) {
			vm_fail(__FILE__, __LINE__, "vm.race: %s: %s", label, vm_errname(-r));
			continue;
		}
		VM_CHECK(token == (uint64_t)t, "vm.race: %s is token %" PRIu64, label, token);
		VM_CHECK(pread(fd, bytes, sizeof(bytes), 0) == (ssize_t)sizeof(bytes) &&
			 bytes[0] == (uint64_t)t && bytes[1] == ~(uint64_t)t,
			 "vm.race: token %d: wrong bytes", t);
		close(fd);
	}
	/* the record never lists what the kernel lacks, and lags it by at
	 * most the one preserve that was under way */
	r = luo_session_retrieve_fd(s, (uint64_t)n + 1, &fd);
	VM_CHECK(r == 0 || r == -ENOENT, "vm.race: token n+1: %s", vm_errname(-r));
	if (r == 0)
		close(fd);
	VM_CHECK_RET(luo_session_retrieve_fd(s, (uint64_t)n + 2, &fd), -ENOENT);
	VM_CHECK_RET(luo_session_finish(s), 0);
	VM_CHECK_RET(luo_session_close(s, 0), 0);
	printf("vm-stages: vm.race: the kexec came after %d recorded preserves%s; "
	       "all intact\n", n, r == 0 ? " (and one more, not yet recorded)" : "");
}

/* The previous boot's sessions, from the index: what stage 1 created. */
static int collect_name(const char *name, void *data)
{
	int *seen = data;

	for (int k = 0; k < nsets1; k++)
		if (sets1[k].name && !strcmp(sets1[k].name, name))
			seen[k]++;
	if (!strcmp(name, "vm.race"))
		seen[nsets1]++;
	return 0;
}

static void check_index(luo_ctx_t *ctx)
{
	int seen[8] = { 0 };

	VM_CHECK_RET(luo_ctx_foreach_incoming_session(ctx, collect_name, seen), 0);
	for (int k = 0; k < nsets1; k++)
		if (sets1[k].name)
			VM_CHECK(seen[k] == 1, "index: %s listed %d times",
				 sets1[k].name, seen[k]);
	VM_CHECK(seen[nsets1] == 1, "index: vm.race listed %d times", seen[nsets1]);
	printf("vm-stages: the index lists the previous boot's sessions\n");
}

static int stage1(void)
{
	luo_ctx_t *ctx = open_ctx();
	luo_session_t *sess = NULL;
	size_t total = 0;

	expect_state(ctx, LUO_STATE_NORMAL);
	/* Nothing came from a previous kernel. */
	VM_CHECK_RET(luo_session_retrieve(ctx, "vm.many", &sess), -ENOENT);
	VM_CHECK_RET(luo_session_create(ctx, LUO_RESERVED_PREFIX "x", &sess), -EINVAL);

	preserve_sets(ctx, sets1, nsets1);
	for (int k = 0; k < nsets1; k++)
		total += set_bytes(&sets1[k]);
	VM_CHECK(total <= (64u << 20), "layout exceeds 64 MiB (%zu)", total);
	VM_CHECK_RET(luo_session_create(ctx, "vm.many", &sess), -EEXIST);

	/* The original API's state machine on the mainline mapping. */
	const struct set *ss = seed_set(sets1, nsets1);
	VM_CHECK_RET(luo_token_count(ctx), ss->n);
	int dupfd = memfd_create("dup", MFD_CLOEXEC);
	VM_CHECK_RET(luo_fd_preserve(ctx, dupfd, ss->f[0].token), -EEXIST);
	VM_CHECK_RET(luo_prepare(ctx), 0);
	expect_state(ctx, LUO_STATE_PREPARED);
	VM_CHECK_RET(luo_fd_preserve(ctx, dupfd, 0x1234), -EBUSY);
	VM_CHECK_RET(luo_fd_unpreserve(ctx, ss->f[0].token), -EBUSY);
	VM_CHECK_RET(luo_prepare(ctx), -EINVAL);
	VM_CHECK_RET(luo_cancel(ctx), 0);
	expect_state(ctx, LUO_STATE_NORMAL);
	/* Unpreserve exactly one token, put it back, prepare again. */
	VM_CHECK_RET(luo_fd_unpreserve(ctx, ss->f[0].token), 0);
	VM_CHECK_RET(luo_fd_unpreserve(ctx, ss->f[0].token), -ENOENT);
	int fd0 = make_file(&ss->f[0]);
	VM_CHECK_RET(luo_fd_preserve(ctx, fd0, ss->f[0].token), 0);
	close(fd0);
	close(dupfd);
	VM_CHECK_RET(luo_prepare(ctx), 0);
	expect_state(ctx, LUO_STATE_PREPARED);
	start_racer(ctx);

	printf("vm-stages: stage 1 preserved %zu bytes in %d sets\n", total, nsets1);
	return 1;
}

static int stage2(void)
{
	luo_ctx_t *ctx = open_ctx();

	check_index(ctx);
	for (int k = 0; k < nsets1; k++)
		if (sets1[k].name)
			retrieve_set(ctx, &sets1[k]);
	check_race(ctx);
	restore_seed_set(ctx, seed_set(sets1, nsets1));

	/* A fresh, smaller set for stage 3. */
	preserve_sets(ctx, sets2, nsets2);
	VM_CHECK_RET(luo_prepare(ctx), 0);
	expect_state(ctx, LUO_STATE_PREPARED);
	return 1;
}

static int stage3(void)
{
	luo_ctx_t *ctx = open_ctx();
	luo_session_t *sess = NULL;

	/* Nothing stale: the stage-1 sessions and tokens are gone. */
	for (int k = 0; k < nsets1; k++) {
		if (sets1[k].name) {
			int r = luo_session_retrieve(ctx, sets1[k].name, &sess);
			VM_CHECK(r == -ENOENT, "stage-1 session %s in stage 3: %s",
				 sets1[k].name, vm_errname(-r));
		}
	}
	const struct set *old = seed_set(sets1, nsets1);
	for (int i = 0; i < old->n; i++) {
		int fd = -1;
		int r = luo_fd_restore(ctx, old->f[i].token, &fd);
		VM_CHECK(r == -ENOENT, "stage-1 token %#" PRIx64 " in stage 3: %s",
			 old->f[i].token, vm_errname(-r));
	}

	for (int k = 0; k < nsets2; k++)
		if (sets2[k].name)
			retrieve_set(ctx, &sets2[k]);
	restore_seed_set(ctx, seed_set(sets2, nsets2));
	luo_ctx_unref(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	int stage = argc > 1 ? atoi(argv[1]) : 0;
	int hold;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = vm_cmdline_ull("libluo.seed", 1);
	layout(1, sets1, &nsets1);
	layout(2, sets2, &nsets2);
	printf("vm-stages: stage %d, seed %llu\n", stage, (unsigned long long)seed);
	switch (stage) {
	case 1: hold = stage1(); break;
	case 2: hold = stage2(); break;
	case 3: hold = stage3(); break;
	default:
		fprintf(stderr, "usage: vm-stages 1|2|3\n");
		return 2;
	}
	vm_finish_program("vm-stages", hold);
}
