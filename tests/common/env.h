/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test environment: which kernel a test talks to, and the per-test
 * fixture.
 *
 * The backend is chosen at run time by LIBLUO_TEST_BACKEND:
 *   fake   (default) every test gets a fresh in-memory fake kernel
 *          (luo_fake_t) of the ABI it asks for;
 *   fake-server  the same fake, reached through a fake-kernel server
 *          (tests/common/fake-server.h): the wire protocol and the
 *          server's descriptors instead of the in-process fake's;
 *   kernel the real /dev/liveupdate (or LIBLUO_TEST_DEVICE), mainline ABI
 *          only.  The device is single-open: tests run one at a time and
 *          every test closes what it opened.  There is no kexec, so tests
 *          that need one (or the RFC ABI) skip themselves visibly.
 *
 * A test brackets its body with tb_begin() and tb_end() (the LUO_TEST macro
 * does it): tb_end() drops the context, options and fake and asserts that
 * no descriptor leaked (and, under ASan, no memory).
 */
#ifndef LIBLUO_TESTS_ENV_H
#define LIBLUO_TESTS_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "libluo-own.h"

enum tb_backend {
	TB_BACKEND_INVALID = -1,
	TB_BACKEND_FAKE = 0,
	TB_BACKEND_KERNEL = 1,
	/* the fake, served by a fake-kernel server (fake-server.h) */
	TB_BACKEND_FAKE_SERVER = 2,
};

/* The backend named by LIBLUO_TEST_BACKEND (fake when unset). */
enum tb_backend tb_backend(void);
/* The device the kernel backend opens: LIBLUO_TEST_DEVICE or
 * LUO_DEVICE_PATH. */
const char *tb_device_path(void);

struct tb_env {
	enum luo_abi abi;      /* the ABI of this test's kernel */
	int fds_before;        /* open descriptors when the test began */
	luo_fake_t *fake;      /* the fake kernel (fake backend), else NULL */
	luo_ctx_opts_t *opts;  /* options that reach this test's kernel */
	luo_ctx_t *ctx;        /* the context of tb_ctx(), or NULL */
};

extern struct tb_env tb;

/* Set up a kernel of @abi (LUO_ABI_MAINLINE or LUO_ABI_RFC).  On the kernel
 * backend an RFC test is skipped. */
void tb_begin(enum luo_abi abi);
/* Drop tb.ctx, tb.opts and tb.fake; assert no descriptor leaked. */
void tb_end(void);

/* Skip the current test unless it runs on the fake backend. */
void tb_require_fake(const char *why);
/* Skip the current test unless it runs against the real kernel. */
void tb_require_kernel(const char *why);

/* Point @opts at this test's kernel (the fake, the fake server, or the
 * device), for contexts a test makes itself. */
void tb_opts_same_kernel(luo_ctx_opts_t *opts);

/* tb.ctx, created from tb.opts on first use. */
luo_ctx_t *tb_ctx(void);
/* A new context from tb.opts; asserts success. */
luo_ctx_t *tb_new_ctx(void);
/* Drop tb.ctx (if any). */
void tb_drop_ctx(void);

/* Fake only: simulate a kexec while tb.ctx is still open, then replace
 * tb.ctx by a context of the new boot.  Session handles of the old boot
 * stay the caller's to close. */
luo_ctx_t *tb_kexec(void);

/* Whether the kernel holds @fd as preserved right now (mainline: probed by
 * preserving it in a scratch session; -EBUSY means it is). */
bool tb_file_is_preserved(int fd);

/* "libluo.tok.<16 lowercase hex digits>" */
void tb_seed_session_name(uint64_t token, char buf[32]);

/* One file held by the fake kernel. */
struct tb_fake_file {
	char session[LUO_SESSION_NAME_MAX + 1]; /* "" on the RFC ABI */
	bool has_session;
	enum luo_session_direction dir;
	uint64_t token;
};

/*
 * What libluo keeps in the kernel for itself (record segments, index
 * sessions) is told apart by libluo-own.h.  The helpers below that say
 * "user" count what the user owns, without those; the "all" ones count
 * everything the fake holds; the "libluo" ones, libluo's own only.
 */
/* Files the fake holds, those of the user only (at most @max); returns how
 * many there are. */
int tb_fake_files(struct tb_fake_file *out, int max);
/* Every file the fake holds, libluo's too (at most @max). */
int tb_fake_all_files(struct tb_fake_file *out, int max);
/* Number of the user's fake files in session @name (NULL: RFC list). */
int tb_fake_files_in(const char *name);
/* Number of libluo's own fake files (record segments, or an index
 * session's files) in session @name. */
int tb_fake_libluo_files_in(const char *name);
/* luo_fake_file_count() without libluo's own files. */
int tb_fake_user_file_count(void);
/* luo_fake_file_count() of libluo's own files only. */
int tb_fake_libluo_file_count(void);
/* luo_fake_session_count() without the index sessions.  An index session
 * is recognised by the files it holds: one whose first record segment
 * could not be made (a failed first luo_session_create()) holds none and
 * is counted; the tests that provoke that say so. */
int tb_fake_user_session_count(enum luo_session_direction dir);
/* The index sessions of @dir the fake holds (those with a file). */
int tb_fake_index_session_count(enum luo_session_direction dir);

/* Everything a failed call must leave as it was.  The fake's counts are
 * the user's (tb_fake_user_*()): a first preserve that the kernel refuses
 * may leave the session's record segment behind, which is libluo's by
 * design; for the same reason @fds does not count the descriptors the fake
 * keeps for libluo's own files (one per file: a leak of libluo's own
 * descriptor still shows). */
struct tb_snapshot {
	int fds;
	int tokens;       /* luo_token_count(tb.ctx) */
	int fake_files;   /* fake only, else -1 */
	int fake_out;     /* fake only, else -1 */
	int fake_in;      /* fake only, else -1 */
	enum luo_state state;
};

void tb_snapshot(struct tb_snapshot *s);
#define tb_expect_unchanged(before) tb_expect_unchanged_at(before, __FILE__, __LINE__)
void tb_expect_unchanged_at(const struct tb_snapshot *before, const char *file,
			    int line);

/* Sorts an array of tokens. */
void tb_sort_tokens(uint64_t *tokens, size_t n);

/* Collects tokens (and states) through a luo_token_fn. */
struct tb_token_list {
	uint64_t tokens[256];
	enum luo_token_state states[256];
	int n;
};
int tb_collect_token(uint64_t token, enum luo_token_state state,
		     void *userdata);
/* State of @token in @list, or 0. */
enum luo_token_state tb_token_list_state(const struct tb_token_list *list,
					 uint64_t token);

#endif /* LIBLUO_TESTS_ENV_H */
