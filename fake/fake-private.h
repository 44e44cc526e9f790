/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of libluo-fake.so.1, the in-memory fake kernel behind
 * <libluo-fake.h>.  What the fake models from Linux 7.2, and where it
 * cannot match the kernel, is written down in fake/README.md; the files:
 *
 *   uaccess.c   user memory as the kernel sees it (-EFAULT, E2BIG)
 *   handles.c   the descriptors handed out (socket pairs, epoll, release)
 *   session.c   sessions and files, and the hash maps that find them
 *   memfd.c     the memfd handler: preserve checks and the kexec copy
 *   mainline.c  the mainline ABI: dispatch and request handlers
 *   rfc.c       the RFC ABI: dispatch and request handlers
 *   kexec.c     the simulated live update
 *   dispatch.c  the backend vtable libluo calls; injected latency
 *   api.c       the public luo_fake_* functions
 *
 * Locking (the order: reap_lock, then lock, then devs_lock):
 *
 *   lock       the fake's state: sessions, files, handles, the counters.
 *              Held only for the bookkeeping of an operation, never for a
 *              system call that touches no shared state: a request looks
 *              its descriptor up under it (dispatch.c), reads its argument,
 *              spends its latency and makes its descriptors without it,
 *              takes it again for the checks and the change, and writes
 *              its reply after dropping it where the kernel's order allows
 *              (mainline.c says which).  Descriptors the state drops while
 *              it is held are closed after it is dropped
 *              (luoi_fake_close_later()).  Never held while user code runs
 *              (luo_fake_foreach_file() calls back on a snapshot).  A kexec
 *              runs entirely under it, which is what makes it atomic.
 *   reap_lock  the release check (handles.c): every epoll_wait() on epfd,
 *              and the end of a released handle (EPOLL_CTL_DEL, close).
 *              Taken without lock; the release itself takes lock inside.
 *   devs_lock  fake->tmpfs_devs, a leaf: read by a preserve before it
 *              takes lock, written under lock.
 *
 * Every function declared here expects lock held unless it says otherwise.
 *
 * Naming: every function or object shared between these files is
 * luoi_fake_* (the static-library symbol check allows public luo_fake_*
 * and internal luoi_* names only).
 */
#ifndef LUOI_FAKE_PRIVATE_H
#define LUOI_FAKE_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "fork-guard.h"
#include "hmap.h"
#include "luo-abi.h"
#include "macro.h"

#include "libluo-fake.h"
#include "libluo.h"

#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#endif
#ifndef F_SEAL_SHRINK
#define F_SEAL_SHRINK 0x0002
#endif
#ifndef F_SEAL_GROW
#define F_SEAL_GROW 0x0004
#endif
#ifndef F_SEAL_WRITE
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* Seals the 7.2 memfd handler knows (MEMFD_LUO_ALL_SEALS). */
#define FAKE_ALL_SEALS                                                  \
	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |     \
	 F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

/* kho_block.c: blocks of one page, 16-byte header, at most 10000 blocks. */
#define FAKE_KHO_MAX_BLOCKS 10000u
#define FAKE_KHO_BLOCK_HEADER 16u
#define FAKE_FILE_SER_SIZE 64u    /* struct luo_file_ser */
#define FAKE_SESSION_SER_SIZE 80u /* struct luo_session_ser */

/* Latency slots: 0 (every request) and each enum luo_fake_op. */
#define FAKE_NR_OPS (LUO_FAKE_OP_KEXEC + 1)

/* ------------------------------------------------------------------------ */
/* Objects                                                                  */
/* ------------------------------------------------------------------------ */

struct fsession;
struct fhandle;

/* A file held by the fake kernel. */
struct ffile {
	struct ffile *prev, *next; /* in its session */
	struct ffile *next_busy;   /* same key in fake->busy */
	struct fsession *session;
	uint64_t token;
	/* outgoing: our dup of the caller's file (same open file description,
	 * like the kernel's fget() reference); incoming: the restored memfd */
	int fd;
	uint64_t dev, ino; /* identity of @fd's inode (luo_get_id()) */
	off_t size;        /* outgoing: i_size at preserve */
	unsigned int seals; /* outgoing: seals at preserve */
	bool retrieved;    /* incoming: handed out at least once */
	bool busy;         /* entered in fake->busy */
	bool pins_dev;     /* counted in fake->tmpfs_devs */
};

/* A session, or one of the two global lists of the RFC ABI. */
struct fsession {
	struct fsession *prev, *next;   /* in fake->out or fake->in */
	struct fsession *next_same_name_key; /* same key in the list's names */
	uint64_t name_key;
	char name[LUO_K_NAME_LEN];
	bool incoming;
	bool retrieved; /* incoming: handed out (the kernel's ->retrieved) */
	struct fhandle *handle;
	struct ffile *head, *tail;
	uint64_t nfiles;
	struct luoi_hmap tokens; /* token -> struct ffile * */
};

/* The mainline sessions of one direction, found by name. */
struct fsession_list {
	struct fsession *head, *tail;
	size_t count;
	/* hash of the name -> first struct fsession * of a chain */
	struct luoi_hmap names;
};

enum fhandle_kind {
	FH_DEVICE = 1,
	FH_SESSION,
	FH_DEAD, /* handed out before a kexec */
};

/* A descriptor handed out: the caller has one end of a socket pair. */
struct fhandle {
	enum fhandle_kind kind;
	int our_end;
	uint64_t serial; /* unique in the fake: tells a handle from its successor */
	uint64_t dev, ino; /* of the caller's end */
	struct fhandle *next_same_key; /* same key in fake->handles */
	struct fsession *session;
};

enum fake_uaccess {
	UACCESS_UNKNOWN = 0,
	UACCESS_VM,     /* process_vm_readv/writev work */
	UACCESS_DIRECT, /* they do not: plain memory access */
};

struct luo_fake {
	struct luo_backend backend; /* first: how libluo reaches the fake */
	atomic_long refs;
	pthread_mutex_t lock;
	pthread_mutex_t reap_lock; /* epoll_wait() on epfd; before lock */
	pthread_mutex_t devs_lock; /* tmpfs_devs; a leaf */
	struct luoi_fork_guard fork_guard; /* the process that owns the fake */
	pid_t pid;        /* its pid, for process_vm_readv/writev */
	enum luo_abi abi; /* MAINLINE or RFC */
	int epfd;         /* every our_end, for EPOLLHUP */
	int boot;
	int rfc_state;
	bool dev_in_use;
	atomic_int uaccess; /* enum fake_uaccess; read without the lock */
	uint64_t next_serial;
	/* per op: the error to inject and at which occurrence (0: none) */
	struct {
		int error;
		unsigned int nth;
	} inject[LUO_FAKE_OP_KEXEC + 1];
	/* per op: how many requests reached the injection point */
	unsigned int op_count[LUO_FAKE_OP_KEXEC + 1];
	/* per op: usec | flags << 32; read without the lock */
	_Atomic uint64_t latency[FAKE_NR_OPS];
	uint64_t max_files;    /* per session */
	uint64_t max_sessions; /* outgoing */
	long page_size;
	struct fsession_list out, in; /* mainline sessions */
	struct fsession *rfc_out, *rfc_in;
	struct luoi_hmap handles; /* id key -> first struct fhandle * */
	struct luoi_hmap busy;    /* id key -> first struct ffile * */
	/* st_dev -> number of preserved files held on it (known tmpfs);
	 * under devs_lock */
	struct luoi_hmap tmpfs_devs;
	/* descriptors to close once lock is dropped */
	int *doomed;
	size_t ndoomed, doomed_cap;
};

/* One request on its way from the generic dispatch to its handler. */
union fake_mainline_buf {
	struct luo_k_session_req session;
	struct luo_k_file_req file;
	struct luo_k_finish_req finish;
	struct luo_k_get_name_req get_name;
	uint64_t align;
};

/* A descriptor pair and its handle, made without the lock, entered in the
 * fake's map with it (handles.c). */
struct fake_prep_handle {
	int sv[2];          /* sv[0] for the caller, sv[1] the fake's */
	int err;            /* socketpair() (or F_SETFD) failed: -errno */
	int h_err;          /* the handle could not be made: -errno */
	struct fhandle *h;  /* in epfd, not yet in fake->handles */
};

/* A file to preserve, checked without the lock; the verdicts are given
 * under it, in the kernel's order (memfd.c). */
struct fake_prep_file {
	int ref;            /* our dup of the caller's file, or -1 */
	int err;            /* fget(), can_preserve(): -EBADF, -ENOENT, ... */
	int late_err;       /* memfd_luo_preserve(): -EOPNOTSUPP, -EFBIG, ... */
	struct ffile *file; /* NULL: -ENOMEM (after -EBUSY) */
	uint64_t dev, ino;
	off_t size;
	unsigned int seals;
};

struct fake_req {
	uint32_t cmd;
	void *arg;
	struct fhandle *h;   /* only while the lock is held */
	/* the handle as found when the request came in */
	uint64_t serial;
	enum fhandle_kind kind;
	bool incoming;       /* a retrieved (incoming) session */
	enum luo_fake_op op; /* whose latency applies (0: none of its own) */
	uint32_t usize;      /* mainline: the caller's size */
	bool respond;        /* the reply is written after the lock */
	union {
		union fake_mainline_buf mainline;
		struct luo_k_rfc_fd rfc_fd;
		uint64_t rfc_token;
		int32_t rfc_state;
	} u;
	/* made without the lock before the handler runs */
	union {
		struct fake_prep_handle handle; /* CREATE/RETRIEVE_SESSION */
		struct fake_prep_file file;     /* PRESERVE_FD, RFC FD_PRESERVE */
		int slot;                       /* RETRIEVE_FD */
	} prep;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* Counts an occurrence of @op (luo_fake_op_count()) and returns the
 * injected error (-errno) if this is the occurrence it was injected for,
 * once, or 0.  With the lock held. */
static inline int luoi_fake_take_injected(struct luo_fake *f,
					  enum luo_fake_op op)
{
	int e;

	if (f->op_count[op] < INT_MAX)
		f->op_count[op]++;
	if (!f->inject[op].nth || --f->inject[op].nth)
		return 0;
	e = f->inject[op].error;
	f->inject[op].error = 0;
	return -e;
}

/* The key of an inode identity (dev, ino) in the maps that chain
 * collisions (handles, busy). */
static inline uint64_t luoi_fake_id_key(uint64_t dev, uint64_t ino)
{
	return luoi_hash64(luoi_hash64(dev) + ino);
}

static inline void *luoi_fake_u2p(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

static inline uint64_t luoi_fake_p2u(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Take and drop fake->lock; the unlock closes the descriptors that
 * luoi_fake_close_later() collected, after the lock is dropped. */
void luoi_fake_lock(struct luo_fake *f);
void luoi_fake_unlock(struct luo_fake *f);
void luoi_fake_close_later(struct luo_fake *f, int fd);
static inline void luoi_fake_unlockp(struct luo_fake **f)
{
	if (*f)
		luoi_fake_unlock(*f);
}
static inline struct luo_fake *luoi_fake_lock_ret(struct luo_fake *f)
{
	luoi_fake_lock(f);
	return f;
}
/* Hold fake->lock until the end of the enclosing scope. */
#define LUOI_FAKE_LOCK_GUARD(f)                                           \
	_cleanup_(luoi_fake_unlockp) __attribute__((unused))              \
	struct luo_fake *LUOI_UNIQ(luoi_fake_guard_) = luoi_fake_lock_ret(f)

/* ---- uaccess.c: user memory (-EFAULT rather than a crash) -------------- */
/* These take no lock and need none. */

int luoi_fake_uread(struct luo_fake *f, void *dst, const void *src,
		    size_t len);
int luoi_fake_uwrite(struct luo_fake *f, void *dst, const void *src,
		     size_t len);
int luoi_fake_uread_head(struct luo_fake *f, void *dst, const void *src,
			 size_t ksize, size_t *got);
int luoi_fake_ucopy_struct(struct luo_fake *f, void *dst, size_t ksize,
			   const void *src, size_t usize, size_t have);
int luoi_fake_urespond(struct luo_fake *f, void *arg, const void *buf,
		       uint32_t usize, size_t ksize);

/* ---- handles.c: descriptors handed out --------------------------------- */

/* Without the lock: a pair, its O_CLOEXEC as asked, and its handle in
 * epfd; failures are recorded in @p for the handler to report in order. */
void luoi_fake_hprep_make(struct luo_fake *f, struct fake_prep_handle *p,
			  bool cloexec);
/* With the lock: enter the prepared handle in the map.  0 or -ENOMEM;
 * on success the handle owns sv[1] and p->h is cleared. */
int luoi_fake_hprep_publish(struct luo_fake *f, struct fake_prep_handle *p,
			    enum fhandle_kind kind, struct fsession *s,
			    struct fhandle **ret);
/* Without the lock: drop what was made and not published (the caller
 * clears sv[0] if it became the caller's). */
void luoi_fake_hprep_fini(struct luo_fake *f, struct fake_prep_handle *p);
static inline void luoi_fake_hprep_init(struct fake_prep_handle *p)
{
	p->sv[0] = p->sv[1] = -1;
	p->err = p->h_err = 0;
	p->h = NULL;
}

struct fhandle *luoi_fake_handle_find(const struct luo_fake *f, uint64_t dev,
				      uint64_t ino);
void luoi_fake_handle_destroy(struct luo_fake *f, struct fhandle *h);
void luoi_fake_handle_release(struct luo_fake *f, struct fhandle *h);
/* The release check: WITHOUT the lock (it takes reap_lock, and the lock
 * only if a descriptor was released). */
void luoi_fake_reap(struct luo_fake *f);
void luoi_fake_kill_handles(struct luo_fake *f);
void luoi_fake_handles_free(struct luo_fake *f);

/* ---- session.c: sessions, files and the maps that find them ------------ */

int luoi_fake_chain_add(struct luoi_hmap *m, uint64_t key, void *obj,
			size_t next_off);
void luoi_fake_chain_del(struct luoi_hmap *m, uint64_t key, void *obj,
			 size_t next_off);

struct fsession *luoi_fake_session_new(bool incoming, const char *name);
void luoi_fake_session_free(struct luo_fake *f, struct fsession *s);
void luoi_fake_session_drop_files(struct luo_fake *f, struct fsession *s);
struct ffile *luoi_fake_session_find(const struct fsession *s,
				     uint64_t token);
int luoi_fake_file_link(struct fsession *s, struct ffile *file);
void luoi_fake_file_remove(struct luo_fake *f, struct ffile *file,
			   bool close_fd);
struct ffile *luoi_fake_busy_find(const struct luo_fake *f, uint64_t dev,
				  uint64_t ino);
void luoi_fake_busy_add(struct luo_fake *f, struct ffile *file);

void luoi_fake_list_init(struct fsession_list *l);
void luoi_fake_list_free(struct luo_fake *f, struct fsession_list *l);
int luoi_fake_list_reserve(struct fsession_list *l, size_t extra);
void luoi_fake_list_add(struct fsession_list *l, struct fsession *s);
void luoi_fake_list_del(struct fsession_list *l, struct fsession *s);
struct fsession *luoi_fake_list_find(const struct fsession_list *l,
				     const char *name);

/* ---- memfd.c: the memfd handler ---------------------------------------- */

/* Without the lock: fget() and the handler's look at the file. */
void luoi_fake_preserve_prepare(struct luo_fake *f, int32_t fd,
				struct fake_prep_file *p);
/* With the lock: luo_preserve_file()'s checks in order, and the insert. */
int luoi_fake_preserve_commit(struct luo_fake *f, struct fsession *s,
			      struct fake_prep_file *p, uint64_t token,
			      uint64_t limit);
/* Without the lock: drop what was prepared and not committed. */
void luoi_fake_preserve_fini(struct fake_prep_file *p);
void luoi_fake_unpin_dev(struct luo_fake *f, struct ffile *file);
int luoi_fake_copy_file(const struct ffile *src, int *ret_fd);

/* ---- mainline.c, rfc.c: split at the point where latency is added ------ */

/*
 * A request in four steps (dispatch.c):
 *   dispatch  WITHOUT the lock: the generic checks, on the handle's kind
 *             and direction as found, and the copy of the argument;
 *             (the latency is spent here)
 *   prepare   WITHOUT the lock: what the handler makes before it looks at
 *             the state (descriptors, the file's identity); cannot fail,
 *             failures are kept for the handler to report in order;
 *   run       WITH the lock: the handler (injected error, checks, change);
 *   finish    WITHOUT the lock: the reply if req->respond, and the end of
 *             what was prepared and not used; returns the request's answer.
 */
int luoi_fake_mainline_dispatch(struct luo_fake *f, struct fake_req *req);
void luoi_fake_mainline_prepare(struct luo_fake *f, struct fake_req *req);
int luoi_fake_mainline_run(struct luo_fake *f, struct fake_req *req);
int luoi_fake_mainline_finish(struct luo_fake *f, struct fake_req *req,
			      int r);
int luoi_fake_rfc_dispatch(struct luo_fake *f, struct fake_req *req);
void luoi_fake_rfc_prepare(struct luo_fake *f, struct fake_req *req);
int luoi_fake_rfc_run(struct luo_fake *f, struct fake_req *req);
int luoi_fake_rfc_finish(struct luo_fake *f, struct fake_req *req, int r);

/* ---- kexec.c ------------------------------------------------------------ */

int luoi_fake_kexec_locked(struct luo_fake *f);

/* ---- dispatch.c: the backend, fork check, latency ---------------------- */

extern const struct luo_backend_ops luoi_fake_backend_ops;

/* -EINVAL for NULL, -ECHILD in a forked child, else 0.  No lock. */
int luoi_fake_enter(const struct luo_fake *f);
/* Spend the latency set for @op (and for every request if @any), without
 * the lock: the caller must not hold it. */
void luoi_fake_latency_wait(struct luo_fake *f, enum luo_fake_op op,
			    bool any);
bool luoi_fake_latency_set(const struct luo_fake *f, enum luo_fake_op op,
			   bool any);

#endif /* LUOI_FAKE_PRIVATE_H */
