/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo: keep file descriptors alive across a kernel live update.
 *
 * libluo talks to the Linux Live Update Orchestrator (/dev/liveupdate).
 * It owns the single-open device in a reference-counted context that every
 * thread of a process may share, keeps its own record of what was preserved
 * (the kernel has no way to list it), and offers two APIs on top:
 *
 *  - named sessions, the model of the mainline kernel (Linux >= 6.19);
 *  - the original libluo API (state, preserve/unpreserve/restore by token,
 *    prepare/cancel/finish), on the mainline ABI and on the June 2025 RFC ABI.
 *
 * Conventions, for every function in this header unless its comment says
 * otherwise:
 *  - the return value is 0 (or a documented non-negative value) on success
 *    and a negative errno on failure;
 *  - out-parameters are written only on success;
 *  - a NULL handle or out-pointer fails with -EINVAL and changes nothing;
 *  - calls on a context or on a session may be made from any number of
 *    threads at once: each context serialises its work with its own mutex;
 *  - a context (or a session of it) used in a child process after fork()
 *    fails with -ECHILD: the child must create its own context;
 *  - a context without the device (luo_ctx_opts_set_open_device(),
 *    luo_ctx_close_device()) fails -ENODEV in every call that needs it:
 *    session create and retrieve, and the original API's state, preserve,
 *    unpreserve, restore, prepare, cancel and finish (its token lookup,
 *    count and foreach still work);
 *  - no function keeps process-global state.
 *
 * This header is self-contained and compiles as C99 and C++.
 */
#ifndef LIBLUO_H
#define LIBLUO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A connection to /dev/liveupdate (or to a fake kernel); reference-counted. */
typedef struct luo_ctx luo_ctx_t;
/** Options for luo_ctx_new(); an opaque object with setters. */
typedef struct luo_ctx_opts luo_ctx_opts_t;
/** A live update session (mainline ABI). */
typedef struct luo_session luo_session_t;
/** An in-memory fake kernel; see <libluo-fake.h>. */
typedef struct luo_fake luo_fake_t;

/** Default device node. */
#define LUO_DEVICE_PATH "/dev/liveupdate"
/** Longest session name in bytes, without the terminating NUL. */
#define LUO_SESSION_NAME_MAX 63
/**
 * Session names beginning with this prefix are reserved for libluo's own
 * sessions (the original API on the mainline ABI keeps its tokens in them);
 * luo_session_create() rejects them with -EINVAL.
 */
#define LUO_RESERVED_PREFIX "libluo."

/** Kernel interface of /dev/liveupdate. */
enum luo_abi {
	LUO_ABI_AUTO = 0,     /**< detect, without side effects (default) */
	LUO_ABI_MAINLINE = 1, /**< sessions; merged in Linux 6.19 */
	LUO_ABI_RFC = 2,      /**< global token list and state machine (RFC v1) */
};

/**
 * Live update state, as reported by luo_get_state().  The values match the
 * RFC kernel's.  On the mainline ABI libluo derives the state itself; see
 * luo_get_state().
 */
enum luo_state {
	LUO_STATE_UNDEFINED = 0,
	LUO_STATE_NORMAL = 1,
	LUO_STATE_PREPARED = 2,
	LUO_STATE_FROZEN = 3,
	LUO_STATE_UPDATED = 4,
};

/** Direction of a session. */
enum luo_session_direction {
	/** Created in this boot; its files go to the next kernel. */
	LUO_SESSION_OUTGOING = 1,
	/** Retrieved after a live update; its files came from the last kernel. */
	LUO_SESSION_INCOMING = 2,
};

/** What libluo knows of a token. */
enum luo_token_state {
	/** Preserved in this boot; will travel with the next live update. */
	LUO_TOKEN_PRESERVED = 1,
	/**
	 * Came from the previous kernel and has not been restored yet.  Only
	 * where libluo can know it: tokens of the original API on the
	 * mainline ABI (from the manifest).  The RFC kernel cannot list its
	 * incoming tokens, so there a token appears only once restored.
	 */
	LUO_TOKEN_INCOMING = 2,
	/** Came from the previous kernel and was restored (retrieved). */
	LUO_TOKEN_RESTORED = 3,
};

/** Flags for luo_session_close(). */
enum luo_session_close_flags {
	/**
	 * Accept what the kernel does when the last descriptor of a session
	 * is closed: an outgoing session unpreserves every file in it, an
	 * incoming one is finished (files not retrieved are discarded).
	 */
	LUO_SESSION_CLOSE_FORCE = 1u << 0,
};

/**
 * Log callback.  @priority is a syslog priority (LOG_ERR .. LOG_DEBUG).
 * Called with the context's lock held: it must not call back into libluo
 * with the same context.
 */
typedef void (*luo_log_fn)(void *userdata, int priority, const char *file,
			   int line, const char *fn, const char *format,
			   va_list args);

/**
 * Token iteration callback.  Return 0 to go on; any other value stops the
 * iteration and is returned by the foreach function.  The callback runs on
 * a snapshot taken under the lock and may call libluo freely.
 */
typedef int (*luo_token_fn)(uint64_t token, enum luo_token_state state,
			    void *userdata);

/* ------------------------------------------------------------------------ */
/* Context options                                                          */
/* ------------------------------------------------------------------------ */

/**
 * luo_ctx_opts_new() - allocate options holding the defaults: device
 * LUO_DEVICE_PATH, LUO_ABI_AUTO, the real kernel, no log callback.
 *
 * Errors: -EINVAL (@ret is NULL), -ENOMEM.
 * Thread-safety: an options object must not be used by two threads at once.
 */
int luo_ctx_opts_new(luo_ctx_opts_t **ret);

/**
 * luo_ctx_opts_free() - free options (and drop their fake reference).
 * NULL is a no-op.  Contexts created from them are not affected.
 */
void luo_ctx_opts_free(luo_ctx_opts_t *opts);

/**
 * luo_ctx_opts_set_device() - device node to open instead of
 * LUO_DEVICE_PATH.  The string is copied.
 *
 * Errors: -EINVAL (NULL or empty path), -ENAMETOOLONG (PATH_MAX or more
 * bytes), -ENOMEM.
 */
int luo_ctx_opts_set_device(luo_ctx_opts_t *opts, const char *path);

/**
 * luo_ctx_opts_set_abi() - force an ABI instead of detecting it.
 *
 * Errors: -EINVAL (not a value of enum luo_abi).
 */
int luo_ctx_opts_set_abi(luo_ctx_opts_t *opts, enum luo_abi abi);

/**
 * luo_ctx_opts_set_fake() - use the in-memory fake kernel @fake instead of
 * the real one (the device path is then ignored).  The options take a
 * reference on @fake; NULL selects the real kernel again.
 *
 * Errors: -EINVAL (@opts is NULL).
 */
int luo_ctx_opts_set_fake(luo_ctx_opts_t *opts, luo_fake_t *fake);

/**
 * luo_ctx_opts_set_open_device() - whether luo_ctx_new() opens the device
 * (true, the default).  The device is single-open: in the model where one
 * agent holds /dev/liveupdate and hands sessions to other processes (see
 * luo_session_send()), those processes create their context with false.
 * Such a context speaks the mainline ABI, can adopt and receive sessions
 * and work on them; luo_session_create(), luo_session_retrieve() and the
 * original API's kernel calls fail there with -ENODEV.
 *
 * Errors: -EINVAL (@opts is NULL).
 */
int luo_ctx_opts_set_open_device(luo_ctx_opts_t *opts, bool open_device);

/**
 * luo_ctx_opts_set_log() - log callback (NULL: stderr) and the highest
 * syslog priority passed to it (LOG_ERR = 3 .. LOG_DEBUG = 7).  libluo is
 * silent by
 * default; the environment variable LIBLUO_LOG (err, warning, notice, info,
 * debug or 0..7, read with secure_getenv()) raises the priority, and a
 * context with no callback then logs to stderr.
 *
 * Errors: -EINVAL (priority outside 0..7).
 */
int luo_ctx_opts_set_log(luo_ctx_opts_t *opts, luo_log_fn fn, void *userdata,
			 int priority);

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * luo_ctx_new() - open the live update device and create a context.
 * @opts: options, or NULL for the defaults.  They are copied.
 * @ret:  the new context, with one reference.
 *
 * The device is opened O_RDWR|O_CLOEXEC and the ABI detected (unless forced)
 * without side effects.
 *
 * Errors: -EINVAL (@ret is NULL); -ENOENT (no device: the kernel lacks
 * CONFIG_LIVEUPDATE or was booted without liveupdate=on); -EBUSY (another
 * process, or another context, holds /dev/liveupdate open: the device is
 * single-open, share one context between threads instead); -EIO (the kernel
 * could not restore the state of the previous kernel); -EACCES/-EPERM;
 * -EPROTO (the device speaks neither ABI, or not the forced one); -ENOMEM.
 * Thread-safety: safe.
 */
int luo_ctx_new(const luo_ctx_opts_t *opts, luo_ctx_t **ret);

/** luo_ctx_ref() - take a reference.  Returns @ctx; NULL is passed through. */
luo_ctx_t *luo_ctx_ref(luo_ctx_t *ctx);

/**
 * luo_ctx_unref() - drop a reference; the last one closes the device and
 * frees the context.  Returns NULL.  NULL is a no-op.
 *
 * Sessions hold a reference of their own, so an outgoing session stays
 * preserved after its creator drops the context.  On the mainline ABI the
 * tokens of the original API live in sessions owned by the context: dropping
 * its last reference before the kexec unpreserves them (the kernel drops
 * every file whose session is closed).
 * Thread-safety: safe (atomic count).
 */
luo_ctx_t *luo_ctx_unref(luo_ctx_t *ctx);

/**
 * luo_ctx_close_device() - close the context's descriptor of the device,
 * keeping every session, so that another process can open the single-open
 * device (the kernel lets sessions outlive it).  Afterwards the context
 * behaves like one created without the device: its sessions, and sessions
 * it adopts or receives, keep working; creating or retrieving sessions and
 * the original API fail -ENODEV.  The original API's own sessions stay
 * preserved as long as the context lives.
 *
 * Errors: -EINVAL, -ECHILD, -ENODEV (no device open).
 */
int luo_ctx_close_device(luo_ctx_t *ctx);

/**
 * luo_ctx_get_abi() - the ABI in use (never LUO_ABI_AUTO).
 *
 * Errors: -EINVAL, -ECHILD.
 */
int luo_ctx_get_abi(luo_ctx_t *ctx, enum luo_abi *ret);

/**
 * luo_ctx_set_log() - replace the log callback and priority of a context
 * (see luo_ctx_opts_set_log()).  fn == NULL logs to stderr.
 *
 * Errors: -EINVAL (priority outside 0..7), -ECHILD.
 */
int luo_ctx_set_log(luo_ctx_t *ctx, luo_log_fn fn, void *userdata,
		    int priority);

/* ------------------------------------------------------------------------ */
/* The original libluo API                                                  */
/*                                                                          */
/* On the RFC ABI these are the kernel's requests.  On the mainline ABI      */
/* libluo maps them onto sessions it owns (see libluo(3) and README):       */
/* each token lives alone in a session named "libluo.tok.<16 hex digits>",  */
/* luo_prepare() records the token list in a session "libluo.manifest", and */
/* the state is derived from what libluo and the kernel know.                */
/* ------------------------------------------------------------------------ */

/**
 * luo_is_available() - whether LUO_DEVICE_PATH exists and is a character
 * device.  Opens nothing.  Thread-safety: safe.
 */
bool luo_is_available(void);

/**
 * luo_get_state() - the live update state.
 *
 * RFC ABI: the kernel's state.  Mainline ABI: UPDATED while the previous
 * kernel's libluo manifest exists and luo_finish() has not been called;
 * otherwise PREPARED between luo_prepare() and luo_cancel(); otherwise
 * NORMAL.  FROZEN is never seen by a running process.
 *
 * Mainline caveat: the kernel can only tell whether the manifest exists by
 * handing it out, once per boot.  The first context that asks (this call,
 * or luo_fd_preserve(), luo_fd_restore(), luo_prepare(), luo_finish())
 * takes it; if that context is dropped before luo_finish(), the kernel
 * finishes the manifest and later contexts see NORMAL.  After a live
 * update, the process that restores the tokens must be the one that asks.
 *
 * Errors: -EINVAL, -ECHILD, -ENODEV (context without the device), errors
 * of the kernel.
 */
int luo_get_state(luo_ctx_t *ctx, enum luo_state *state);

/**
 * luo_fd_preserve() - preserve @fd under @token, chosen by the caller and
 * unique in the context (the kernel does not pick tokens).
 *
 * Errors: -EINVAL (negative fd), -EEXIST (token already used in
 * this context; checked before the kernel is asked), -EBUSY (not allowed in
 * the current state, e.g. after luo_prepare(), or @fd is already preserved),
 * -EBADF, -ENOENT (file type cannot be preserved: only memfd/shmem files),
 * -ENOSPC, -ENOMEM, -ECHILD.
 */
int luo_fd_preserve(luo_ctx_t *ctx, int fd, uint64_t token);

/**
 * luo_fd_unpreserve() - stop preserving @token.  Exact on both ABIs: on the
 * mainline ABI the token's own session is closed, which unpreserves only it.
 *
 * Errors: -ENOENT (token not preserved by this context), -EBUSY (after
 * luo_prepare(): call luo_cancel() first), -EINVAL, -ECHILD.
 */
int luo_fd_unpreserve(luo_ctx_t *ctx, uint64_t token);

/**
 * luo_fd_restore() - after a live update, a new descriptor (O_CLOEXEC) for
 * the file preserved under @token.  Restoring a token again returns another
 * descriptor for the same file on the mainline ABI.
 *
 * Errors: -ENOENT (no such token came from the previous kernel), -EBUSY
 * (state is not UPDATED), -EINVAL, -ECHILD, -EMFILE, -ENOMEM.
 */
int luo_fd_restore(luo_ctx_t *ctx, uint64_t token, int *fd);

/**
 * luo_prepare() - NORMAL -> PREPARED.  Mainline ABI: writes the manifest of
 * preserved tokens that luo_get_state() and luo_fd_restore() use after the
 * reboot.  Preserve and unpreserve fail with -EBUSY until luo_cancel().
 *
 * Errors: -EINVAL (state is not NORMAL), -ECHILD, kernel errors.
 */
int luo_prepare(luo_ctx_t *ctx);

/**
 * luo_cancel() - PREPARED -> NORMAL.  Tokens stay preserved.
 *
 * Errors: -EINVAL (state is not PREPARED), -ECHILD, kernel errors.
 */
int luo_cancel(luo_ctx_t *ctx);

/**
 * luo_finish() - UPDATED -> NORMAL: tell the kernel restoration is done.
 * Files that were not restored are discarded.
 *
 * Errors: -EINVAL (state is not UPDATED), -EBUSY (the kernel refused;
 * retry), -ECHILD.
 */
int luo_finish(luo_ctx_t *ctx);

/**
 * luo_state_to_string() - "undefined", "normal", "prepared", "frozen",
 * "updated", or "unknown" for other values.  Never NULL.
 */
const char *luo_state_to_string(enum luo_state state);

/** luo_token_lookup() - the state of a token of the original API.
 *  Errors: -ENOENT (unknown token), -EINVAL, -ECHILD. */
int luo_token_lookup(luo_ctx_t *ctx, uint64_t token,
		     enum luo_token_state *state);

/** luo_token_count() - number of tokens libluo knows of in the original
 *  API (>= 0).  Errors: -EINVAL, -ECHILD. */
int luo_token_count(luo_ctx_t *ctx);

/** luo_token_foreach() - call @fn for every token of the original API, in
 *  no particular order.  Returns 0, the first non-zero value of @fn, or
 *  -EINVAL, -ECHILD, -ENOMEM. */
int luo_token_foreach(luo_ctx_t *ctx, luo_token_fn fn, void *userdata);

/* ------------------------------------------------------------------------ */
/* Sessions (mainline ABI; on the RFC ABI every function fails -EOPNOTSUPP) */
/* ------------------------------------------------------------------------ */

/**
 * luo_session_create() - create an outgoing session named @name (1 to
 * LUO_SESSION_NAME_MAX bytes, not starting with LUO_RESERVED_PREFIX).
 *
 * The session handle owns the session's file descriptor and a reference on
 * @ctx.  Closing that descriptor would unpreserve everything in the session,
 * so libluo never closes it implicitly: only luo_session_close() with
 * LUO_SESSION_CLOSE_FORCE does.  Keep the handle until the kexec.
 *
 * Errors: -EINVAL (bad name), -EEXIST (an outgoing session has that name),
 * -EOPNOTSUPP (RFC ABI), -ENODEV (context without the device), -ECHILD,
 * -EMFILE, -ENOMEM, -ENOSPC.
 */
int luo_session_create(luo_ctx_t *ctx, const char *name, luo_session_t **ret);

/**
 * luo_session_retrieve() - after a live update, take the incoming session
 * @name.  A session can be retrieved once per boot.
 *
 * Errors: -ENOENT (no such session), -EINVAL (bad name, or already
 * retrieved), -EOPNOTSUPP, -ENODEV, -ECHILD, -EMFILE, -ENOMEM.
 */
int luo_session_retrieve(luo_ctx_t *ctx, const char *name,
			 luo_session_t **ret);

/**
 * luo_session_preserve_fd() - preserve @fd in an outgoing session under
 * @token (unique in the session).  The kernel keeps its own reference to
 * the file: the caller may close @fd.  A preserved memfd's size is frozen.
 *
 * Errors: -EEXIST (token used in this session; checked before the kernel),
 * -EINVAL (incoming session, bad fd number), -EBADF, -EBUSY (file already
 * preserved), -ENOENT (file type not supported), -ENOSPC, -ENOMEM, -ECHILD.
 */
int luo_session_preserve_fd(luo_session_t *session, int fd, uint64_t token);

/**
 * luo_session_retrieve_fd() - a new descriptor (O_CLOEXEC, owned by the
 * caller) for the file preserved under @token in an incoming session.
 * Retrieving a token again gives another descriptor for the same file.
 *
 * A retrieved file cannot be preserved again (-EBUSY) until its session is
 * finished: the kernel still owns it until then.
 *
 * Errors: -ENOENT (no such token, or the session was finished), -EINVAL
 * (outgoing session), -ECHILD, -EMFILE, -ENOMEM.
 */
int luo_session_retrieve_fd(luo_session_t *session, uint64_t token, int *fd);

/**
 * luo_session_finish() - end an incoming session: files not retrieved are
 * discarded.  Retrieved descriptors stay valid; nothing more can be
 * retrieved.  Finishing again succeeds and does nothing, as in the kernel.
 *
 * Errors: -EINVAL (outgoing session), -EBUSY (the kernel refused; retry),
 * -ECHILD.
 */
int luo_session_finish(luo_session_t *session);

/**
 * luo_session_get_name() - the session's name, valid as long as the handle.
 *
 * Errors: -EINVAL, -ECHILD.
 */
int luo_session_get_name(luo_session_t *session, const char **name);

/** luo_session_get_direction() - outgoing or incoming.
 *  Errors: -EINVAL, -ECHILD. */
int luo_session_get_direction(luo_session_t *session,
			      enum luo_session_direction *dir);

/**
 * luo_session_get_fd() - the session's file descriptor, borrowed: do not
 * close it (see luo_session_create()).  Returns the fd (>= 0).
 *
 * Errors: -EINVAL, -ECHILD.
 */
int luo_session_get_fd(luo_session_t *session);

/**
 * luo_session_adopt_fd() - wrap a session descriptor received from another
 * process.  On success the handle owns @fd; on failure @fd is left open and
 * untouched.  The direction is probed without side effects and the name
 * read from the kernel.  libluo knows no tokens of an adopted session until
 * it preserves or retrieves them, so closing an adopted outgoing session
 * needs LUO_SESSION_CLOSE_FORCE.
 *
 * Errors: -EINVAL (not a session of this context's kernel), -ECHILD,
 * -ENOMEM.
 */
int luo_session_adopt_fd(luo_ctx_t *ctx, int fd, luo_session_t **ret);

/**
 * luo_session_send() - send the session's descriptor and name over the
 * connected UNIX socket @sock (SCM_RIGHTS).  The receiver then holds a
 * reference: after a successful send the sender may luo_session_close()
 * without LUO_SESSION_CLOSE_FORCE, and the files stay preserved as long as
 * the receiver keeps its descriptor (or it is still in flight).
 *
 * Errors: -EINVAL, -ECHILD, errors of sendmsg() (-EPIPE, -ENOTSOCK, ...).
 */
int luo_session_send(luo_session_t *session, int sock);

/**
 * luo_session_recv() - receive a session sent with luo_session_send() on
 * @sock and adopt it into @ctx.  Blocks like recvmsg().
 *
 * Errors: -EBADMSG (not a libluo session message), -ECONNRESET (peer
 * closed), -EINVAL, -ECHILD, -ENOMEM, errors of recvmsg().  No descriptor
 * leaks on any error.
 */
int luo_session_recv(luo_ctx_t *ctx, int sock, luo_session_t **ret);

/**
 * luo_session_close() - release the handle and its descriptor.
 *
 * Without LUO_SESSION_CLOSE_FORCE the call fails with -EBUSY, changing
 * nothing, when closing would lose data: an outgoing session that holds (or
 * may hold) preserved files and was not sent, or an incoming session that
 * was not finished.  NULL is a no-op returning 0.
 *
 * Errors: -EBUSY, -ECHILD (in a forked child the handle is freed and the
 * child's copy of the descriptor closed, which the kernel ignores while the
 * parent holds it; -ECHILD is still returned).
 * Thread-safety: no other thread may use @session during or after the call.
 */
int luo_session_close(luo_session_t *session, unsigned int flags);

/** luo_session_token_lookup() - what this session knows of @token.
 *  Errors: -ENOENT, -EINVAL, -ECHILD. */
int luo_session_token_lookup(luo_session_t *session, uint64_t token,
			     enum luo_token_state *state);

/** luo_session_token_count() - number of tokens libluo knows of in the
 *  session (>= 0).  Errors: -EINVAL, -ECHILD. */
int luo_session_token_count(luo_session_t *session);

/** luo_session_token_foreach() - as luo_token_foreach(), for a session. */
int luo_session_token_foreach(luo_session_t *session, luo_token_fn fn,
			      void *userdata);

#ifdef __cplusplus
}
#endif

#endif /* LIBLUO_H */
