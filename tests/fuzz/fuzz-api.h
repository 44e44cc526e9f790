/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api: the harness's model of what it did, shared by the steps
 * (fuzz-api.c) and the invariants checked after each of them
 * (fuzz-api-check.c).
 *
 * The model records only what the harness knows for sure: what it created
 * and what libluo said succeeded.  The checks then compare it with what
 * libluo reports (its token tables, names, directions, descriptors) and
 * with what the fake kernel really holds (luo_fake_foreach_file(), the
 * process's descriptor table).
 */
#ifndef LIBLUO_FUZZ_API_H
#define LIBLUO_FUZZ_API_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libluo.h>
#include <libluo-fake.h>

#include "fuzz-common.h"

/*
 * Known defects the harness steps around (each one is a finding of its
 * own; set to 0 once it is fixed, and the inputs in regressions/ that
 * reach it become its regression tests):
 *
 * FUZZ_AVOID_FOREACH_FILE_NULL_PLUS_ZERO: luo_fake_foreach_file() computed
 *   NULL + 0 when the fake held no file (clang's UBSan aborts; fixed since,
 *   0 by default; input foreach-file-null-plus-zero).  With 1 the checks
 *   call it only when luo_fake_file_count() > 0: the list they would get
 *   is empty otherwise.
 * FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK: luo_session_recv() of a zero-length
 *   message carrying descriptors returned -ECONNRESET and leaked them
 *   (fixed since; 0 by default).  With 1, the raw messages of fuzz-api
 *   carry no descriptor when they are empty.
 *
 * Found by the fuzzers (tests/fuzz/regressions/fuzz-api/ keeps the input):
 *
 * FUZZ_KNOWN_LISTING_ENODEV_AFTER_KEXEC: luo_token_lookup(), _count() and
 *   _foreach() on a context from before a luo_fake_kexec() whose manifest
 *   was never loaded tried to load it on the dead device and failed
 *   -ENODEV, which they do not document (input
 *   listing-enodev-after-kexec; fixed since, 0 by default).  With 1 the
 *   checks accept it there.
 * FUZZ_KNOWN_MANIFEST_HELD_EINVAL: after a kexec, once a context holds the
 *   previous kernel's manifest (any listing of its tokens loads it),
 *   every other context of the boot got -EINVAL (the kernel's "already
 *   retrieved") from luo_token_lookup(), _count() and _foreach(), on
 *   every call, until the first one finished (input
 *   listing-einval-manifest-held; the listing is fixed, 0 by default;
 *   luo_get_state() and luo_fd_preserve() there still fail -EINVAL,
 *   which the harness does not check).  With 1 the checks accept it
 *   from a listing while another context lives.
 */
#ifndef FUZZ_AVOID_FOREACH_FILE_NULL_PLUS_ZERO
#define FUZZ_AVOID_FOREACH_FILE_NULL_PLUS_ZERO 0 /* fixed: fake/api.c */
#endif
#ifndef FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK
#define FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK 0 /* fixed: lib/session-handoff.c */
#endif

#define N_CTX_SLOTS 3   /* contexts the input names */
#define N_SESS_SLOTS 4  /* session handles */
#define N_FD_SLOTS 8    /* memfds, created or retrieved */
#define MAX_CTX 8       /* contexts alive (they outlive their slot) */
#define MAX_KSESS 24    /* kernel sessions the model follows */
#define MAX_TOK 24      /* tokens per session or context */
#define MAX_CARRIED 24  /* sessions carried by the last kexec */
#define MAX_MSGS 8      /* messages in flight on the socket pair */
#define MAX_STEPS 160   /* steps per input */
#define NAME_BUF 72

struct tokset {
	uint64_t t[MAX_TOK];
	int n;
};

bool tokset_has(const struct tokset *s, uint64_t t);
void tokset_add(struct tokset *s, uint64_t t);
void tokset_del(struct tokset *s, uint64_t t);

/* A context; alive while the harness holds a reference or a handle of
 * one of its sessions does. */
struct m_ctx {
	bool used;
	luo_ctx_t *ctx;
	int refs;       /* the harness's references (through its slot) */
	int handles;    /* public session handles of this context */
	enum luo_abi abi;
	bool dev_open;  /* holds a descriptor of the device (maybe dead) */
	int boot;       /* the fake's boot when it was made */
	bool compat;    /* the original API was called on it (listing its
			 * tokens loads the manifest: the checks list only
			 * these, so that they change nothing) */
	bool prepared;  /* mainline: luo_prepare() succeeded, no cancel since */
	bool finished;  /* mainline: luo_finish() succeeded in this boot */
	bool index;     /* luo_session_create() was called with the device:
			 * the context may hold its index session
			 * ("libluo.index.K", libluo's own) */
};

/* A session of the fake kernel, known by the inode of its descriptor. */
struct m_ksess {
	bool used;
	dev_t dev;
	ino_t ino;
	char name[NAME_BUF];
	enum luo_session_direction dir;
	int boot;
	int handles;  /* public handles on it */
	int inflight; /* copies in messages on the socket pair */
	struct tokset preserved; /* outgoing: through any handle */
	bool finished;           /* incoming */
	int carried;             /* incoming: index in carried[], or -1 */
};

/* A public session handle (a slot). */
struct m_handle {
	luo_session_t *s; /* NULL: free slot */
	int ctx, ksess;
	int fd;
	uint64_t tok[MAX_TOK];
	enum luo_token_state tok_state[MAX_TOK];
	int ntok;
	enum luo_session_direction dir; /* the handle's: a sender may lie */
	bool sent, adopted, finished;
};

/* A session the last kexec carried (mainline). */
struct m_carried {
	char name[NAME_BUF];
	struct tokset tokens;   /* its files (the original API's: all) */
	struct tokset record;   /* a session of the harness's: the files
				 * of libluo's record in it */
	struct tokset recorded; /* what its record lists: the tokens libluo
				 * preserved in it (through any handle) */
	bool internal;  /* libluo.*: the original API's, from the fake */
	bool retrieved; /* publicly */
	bool finished;
	bool released;  /* retrieved, and its last descriptor closed */
};

/* A message in flight on the socket pair. */
struct m_msg {
	int ksess[2]; /* sessions whose descriptors it carries, or -1 */
	bool valid;   /* a well-formed session message, one descriptor */
	enum luo_session_direction dir; /* what it says (0: v1, probed) */
};

enum fd_slot_kind { FD_EMPTY = 0, FD_MEMFD, FD_RETRIEVED };

struct model {
	luo_fake_t *fake;
	enum luo_abi abi;
	int boot;
	int sock_type;
	int sk[2];     /* sk[0] sends, sk[1] receives; both non-blocking */
	int pipe[2];
	int opath;     /* O_PATH descriptor of a memfd */
	int regfile;   /* a regular file with a name */
	int fds[N_FD_SLOTS];
	enum fd_slot_kind fd_kind[N_FD_SLOTS];

	int ctx_slot[N_CTX_SLOTS]; /* index in ctx[], or -1 */
	struct m_ctx ctx[MAX_CTX];
	struct m_ksess ks[MAX_KSESS];
	struct m_handle h[N_SESS_SLOTS];

	struct m_carried carried[MAX_CARRIED];
	int ncarried;
	bool manifest_carried;      /* a prepared context's manifest */
	struct tokset manifest_tokens;
	bool tampered; /* a libluo.* session was retrieved publicly */

	struct tokset rfc_out, rfc_in;
	bool injected[4096]; /* errnos injected so far */
	bool injected_retrieve_fd; /* a RETRIEVE_FD failure was injected: a
				    * record may have been unreadable */

	struct m_msg q[MAX_MSGS];
	int qhead, qlen;

	struct fz_owned own;
	struct fz_baseline base;
	int step;
};

extern struct model M;

#define SENTINEL_FD (-77) /* out-parameters start as this */
#define CLOSED_FD 1000    /* never open: checked when used */

/* fuzz-api.c: decoding the arguments of a step */
uint64_t get_token(struct fz_in *in);
void get_name(struct fz_in *in, char name[NAME_BUF]);
int pick_ctx(struct fz_in *in);            /* index in M.ctx[], or -1 */
struct m_handle *pick_handle(struct fz_in *in, int *slot); /* or NULL */
int free_sess_slot(struct fz_in *in);      /* a free slot, or -1 */
int free_fd_slot(void);                    /* a free slot, or -1 */
int pick_fd(struct fz_in *in, const char **what);
void fd_slot_set(int i, int fd, enum fd_slot_kind kind);
int ksess_of_fd(int fd, const char *name, enum luo_session_direction dir,
		int boot);
void handle_new(int slot, luo_session_t *s, int c, int k, bool adopted,
		enum luo_session_direction dir);
void handle_tok_set(struct m_handle *h, uint64_t t, enum luo_token_state st);
/* A new handle of an incoming session read the session's record: its
 * tokens, INCOMING, into the model (checked against the model's). */
void handle_record_loaded(int slot);

#ifndef FUZZ_KNOWN_LISTING_ENODEV_AFTER_KEXEC
#define FUZZ_KNOWN_LISTING_ENODEV_AFTER_KEXEC 0 /* fixed: lib/compat */
#endif
#ifndef FUZZ_KNOWN_MANIFEST_HELD_EINVAL
#define FUZZ_KNOWN_MANIFEST_HELD_EINVAL 0 /* fixed: lib/compat */
#endif

/* Whether a listing of context @c failing with @r is a known defect
 * (FUZZ_KNOWN_LISTING_ENODEV_AFTER_KEXEC, FUZZ_KNOWN_MANIFEST_HELD_EINVAL). */
bool listing_known_defect(int c, int r);

/* Whether -@r is one of the three errnos given, or one the input injected
 * (an injected error reaches the caller as it is). */
bool errno_documented(int r, int e1, int e2, int e3);

/* fuzz-api-ops.c: contexts, sessions, the original API */
void op_ctx_new(struct fz_in *in);
void op_ctx_ref(struct fz_in *in);
void op_ctx_unref(struct fz_in *in);
void op_ctx_close_device(struct fz_in *in);
void op_sess_open(struct fz_in *in, bool create);
void op_sess_preserve(struct fz_in *in);
void op_sess_retrieve_fd(struct fz_in *in);
void op_sess_finish(struct fz_in *in);
void op_sess_close(struct fz_in *in);
void op_sess_query(struct fz_in *in);
void op_get_state(struct fz_in *in);
void op_fd_preserve(struct fz_in *in);
void op_fd_unpreserve(struct fz_in *in);
void op_fd_restore(struct fz_in *in);
void op_compat_call(struct fz_in *in, int which); /* prepare, cancel, finish */
void op_token_query(struct fz_in *in);

/* fuzz-api-xfer.c: hand-off, the fake kernel's controls, descriptors */
void op_send(struct fz_in *in);
void op_recv(struct fz_in *in);
void op_adopt(struct fz_in *in);
void op_raw_send(struct fz_in *in);
void op_kexec(struct fz_in *in);
void op_inject(struct fz_in *in);
void op_limits(struct fz_in *in);
void op_memfd(struct fz_in *in);
void op_close_fd(struct fz_in *in);
void op_resize_fd(struct fz_in *in);

/* fuzz-api-check.c */
struct fake_file {
	char name[NAME_BUF];
	bool has_name;
	enum luo_session_direction dir;
	uint64_t token;
};
#define FAKE_FILES_MAX 256
/* What the fake holds now (luo_fake_foreach_file()); returns how many. */
int fake_files(struct fake_file *out);
/* The tokens of @ctx in @state (0: any) added to @set; count or -errno. */
int ctx_tokens(luo_ctx_t *ctx, enum luo_token_state state, struct tokset *set);
void check_all(void);
/* Drop a handle's references from the model (it was closed). */
void model_handle_gone(int slot);
/* A kernel session lost a reference; frees it from the model when the
 * last goes (the fake then releases it). */
void model_ksess_unref(int k);
/* The harness dropped a reference to a context; the model forgets it
 * once neither the harness nor a handle holds it. */
void model_ctx_unref(int c);
bool name_reserved(const char *name);

#endif /* LIBLUO_FUZZ_API_H */
