/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo: keep file descriptors alive across a kernel live update.
 *
 * This header is the reference documentation of libluo: the comments
 * below are written in a kernel-doc-like convention (described at the top
 * of doc/gen-man.py) from which the man pages are generated at build time.
 * It is self-contained and compiles as C99 and C++.
 */
#ifndef LIBLUO_H
#define LIBLUO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libluo-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * DOC: What libluo does
 *
 * libluo talks to the Linux Live Update Orchestrator (/dev/liveupdate).  It
 * owns the single-open device in a reference-counted context that every
 * thread of a process may share, keeps its own record of what was
 * preserved (the kernel has no request to list it), and offers two APIs on
 * top of it:
 *
 * - named sessions, the model of the mainline kernel (Linux 6.19 and
 *   later): see luo_session_create();
 * - the original libluo API (state; preserve, unpreserve and restore by
 *   token; prepare, cancel and finish), on the mainline ABI and on the
 *   June 2025 RFC ABI: see luo_fd_preserve().
 *
 * Both start from a context, luo_ctx_new().
 */

/**
 * DOC: Conventions
 *
 * For every function of <libluo.h>, unless its own documentation says
 * otherwise:
 *
 * - the return value is 0 (or a documented non-negative value) on success
 *   and a negative errno value on failure, which strerror(-r) describes;
 *   errno itself is not used;
 * - out-parameters are written only on success;
 * - a NULL handle or out-pointer fails with -EINVAL and changes nothing;
 * - calls on a context, or on the sessions of a context, may be made from
 *   any number of threads at once: libluo does its own locking, holds no
 *   lock across a kernel request, a socket or a callback, and sessions
 *   used by different threads proceed in parallel (doc/locking.md in the
 *   sources has the details).  The exceptions are luo_session_close() and
 *   the options object, which one thread at a time may use;
 * - a context, or a session of it, used in a child process after fork()
 *   fails with -ECHILD: the child must create its own context;
 * - a context without the device (luo_ctx_opts_set_open_device(),
 *   luo_ctx_close_device()) fails with -ENODEV in every call that needs
 *   it: session create and retrieve, and the original API's state,
 *   preserve, unpreserve, restore, prepare, cancel and finish (its token
 *   lookup, count and foreach still work);
 * - no function keeps process-global state, and every descriptor libluo
 *   creates is close-on-exec;
 * - libluo is silent unless asked to log: see luo_ctx_opts_set_log() and
 *   the LIBLUO_LOG environment variable.
 */

/**
 * DOC: Version
 *
 * <libluo.h> includes <libluo-version.h>, which defines the version of the
 * headers a program is compiled with: LIBLUO_VERSION_MAJOR,
 * LIBLUO_VERSION_MINOR, LIBLUO_VERSION_MICRO, LIBLUO_VERSION_STRING and
 * LIBLUO_VERSION_NUMBER, with LIBLUO_VERSION_NUMBER_OF() to compare.
 * luo_version() tells the version of the library the program runs with,
 * which is the same or newer: libluo.so.1 only ever adds functions (each
 * in a new symbol version), it never changes or removes one.
 */

/**
 * luo_version() - the version of the libluo library in use
 *
 * The version of the library the program is running with, which may be
 * newer than the headers it was compiled with (LIBLUO_VERSION_NUMBER).
 * A program that needs a function added in a later minor version can
 * compare, for example luo_version() >= LIBLUO_VERSION_NUMBER_OF(1, 1, 0).
 *
 * Return: the version as one number, MAJOR * 10000 + MINOR * 100 + MICRO
 * (10100 for 1.1.0); never fails.
 *
 * Errors: none.
 *
 * Thread-safety: safe.
 */
int luo_version(void);

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
 * luo_session_create() refuses them.
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
	/** Not a state the kernel reports; "undefined". */
	LUO_STATE_UNDEFINED = 0,
	/** Files may be preserved and unpreserved. */
	LUO_STATE_NORMAL = 1,
	/** Ready for the kexec: the list of files is fixed. */
	LUO_STATE_PREPARED = 2,
	/** Inside the kexec; never seen by a running process. */
	LUO_STATE_FROZEN = 3,
	/** After the kexec, until restoration is finished. */
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
 * Log callback.  It receives @userdata as given to luo_ctx_opts_set_log()
 * or luo_ctx_set_log(), a syslog priority (LOG_ERR to LOG_DEBUG), the
 * source location of the message (file, line, function) and a vprintf()
 * format with its arguments.  It is called in the thread that made the
 * call that logs, with no libluo lock held: it may call libluo, even with
 * the same context.
 */
typedef void (*luo_log_fn)(void *userdata, int priority, const char *file,
			   int line, const char *fn, const char *format,
			   va_list args);

/**
 * Token iteration callback.  Return 0 to go on; any other value stops the
 * iteration and is returned by the foreach function.  The callback runs on
 * a snapshot taken under the lock, without the lock, and may call libluo
 * freely (even on the same context).
 */
typedef int (*luo_token_fn)(uint64_t token, enum luo_token_state state,
			    void *userdata);

/**
 * DOC: Context options
 *
 * A luo_ctx_opts_t holds what luo_ctx_new() needs to know: which device
 * (or fake kernel), which ABI, whether to open the device at all, and how
 * to log.  luo_ctx_new() copies it: the options may be changed or freed
 * afterwards without affecting the context.  An options object must not be
 * used by two threads at once.
 */

/**
 * luo_ctx_opts_new() - allocate context options holding the defaults
 * @ret: where to store the new options.
 *
 * The defaults are the device LUO_DEVICE_PATH, LUO_ABI_AUTO, the real
 * kernel, the device opened, and no log callback.  Free the options with
 * luo_ctx_opts_free().
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ret is NULL.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe; the new object belongs to the caller alone.
 */
int luo_ctx_opts_new(luo_ctx_opts_t **ret);

/**
 * luo_ctx_opts_free() - free context options
 * @opts: the options, or NULL (then nothing is done).
 *
 * Also drops the options' reference to a fake kernel
 * (luo_ctx_opts_set_fake()).  Contexts created from the options are not
 * affected: luo_ctx_new() copied them.
 *
 * Return: nothing.
 *
 * Errors: none.
 *
 * Thread-safety: no other thread may use @opts during or after the call.
 */
void luo_ctx_opts_free(luo_ctx_opts_t *opts);

/**
 * luo_ctx_opts_set_device() - open another device node
 * @opts: the options.
 * @path: the device node to open instead of LUO_DEVICE_PATH; the string
 *        is copied.
 *
 * The path is ignored when a fake kernel is set (luo_ctx_opts_set_fake()).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts or @path is NULL, or @path is empty.
 *  -ENAMETOOLONG: @path has PATH_MAX or more bytes.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_device(luo_ctx_opts_t *opts, const char *path);

/**
 * luo_ctx_opts_set_abi() - force a kernel ABI instead of detecting it
 * @opts: the options.
 * @abi: LUO_ABI_MAINLINE or LUO_ABI_RFC to force that ABI, LUO_ABI_AUTO
 *       (the default) to detect it.
 *
 * A context created with a forced ABI cannot be created on a device that
 * does not speak it (see luo_ctx_new()).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL, or @abi is not a value of enum luo_abi.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_abi(luo_ctx_opts_t *opts, enum luo_abi abi);

/**
 * luo_ctx_opts_set_fake() - use an in-memory fake kernel instead of the
 * real one
 * @opts: the options.
 * @fake: the fake kernel (see libluo-fake(3)), or NULL to select the real
 *        kernel again.
 *
 * The options take a reference on @fake, dropped when they are freed or
 * another fake is set; a context created from them takes its own.  The
 * device path is then ignored: libluo sends the fake the same requests,
 * with the same argument bytes, that it would send the kernel.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL.
 *  -EPROTO: @fake comes from a libluo-fake library built against another
 *           version of libluo's internal backend interface: libluo and
 *           libluo-fake must come from the same release.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_fake(luo_ctx_opts_t *opts, luo_fake_t *fake);

/**
 * luo_ctx_opts_set_fake_socket() - use a fake-kernel server instead of the
 * real kernel
 * @opts: the options.
 * @path: the UNIX socket of a running luo-fake-server (see
 *        doc/fake-server.md), or NULL to select the real kernel again;
 *        the string is copied.
 *
 * The fake kernel then lives in the server's process and is shared by
 * every process that reaches it: the device and session descriptors it
 * hands out are real descriptors that work after dup(), fork() and
 * SCM_RIGHTS, a simulated kexec is the server's command, and preserved
 * files are held by the server, so this process holds no descriptor per
 * preserved file, as with the kernel.  The single-open rule, the error
 * codes and their order are those of the in-memory fake kernel.  The
 * server is first reached by luo_ctx_new(), which fails with ENODEV if
 * nothing listens at @path.
 *
 * Without this call (and without luo_ctx_opts_set_fake()), luo_ctx_new()
 * uses the server named by the environment variable LIBLUO_FAKE, when it
 * is set and not empty, in the form unix:PATH; so an unchanged program
 * can be pointed at a fake kernel.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL, or @path is empty.
 *  -ENAMETOOLONG: @path does not fit a UNIX socket address (108 bytes
 *                 with its NUL).
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_fake_socket(luo_ctx_opts_t *opts, const char *path);

/**
 * luo_ctx_opts_set_open_device() - choose whether luo_ctx_new() opens the
 * device
 * @opts: the options.
 * @open_device: true (the default) to open the device, false for a
 *               context without it.
 *
 * The device is single-open.  In the model where one agent holds
 * /dev/liveupdate and hands sessions to other processes (see
 * luo_session_send()), those processes create their context with
 * @open_device false.  Such a context speaks the mainline ABI, can adopt
 * and receive sessions and work on them, but cannot create or retrieve
 * sessions, nor make the original API's kernel calls (its token lookup,
 * count and foreach still work).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_open_device(luo_ctx_opts_t *opts, bool open_device);

/**
 * luo_ctx_opts_set_record() - whether to keep a record in each session
 * @opts: the options.
 * @record: true (the default) to keep the record and the index, false not
 *          to.
 *
 * By default every session a context preserves into holds a record of
 * its tokens and labels, and a context that creates sessions keeps an
 * index of them (see "What came back" below): after the live update the
 * sessions say what they hold.  The record costs one memfd preserved in
 * each session that a handle of the context preserves into (4 KiB, more
 * for large sessions) and an index session per context.  A program that
 * keeps its own record of what it preserved can turn it off: its
 * sessions then hold only its files, as with libluo 1.0, and
 * luo_session_preserve_fd_labeled() fails with EOPNOTSUPP.  Records of
 * sessions from elsewhere are read either way.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_record(luo_ctx_opts_t *opts, bool record);

/**
 * luo_ctx_opts_set_log() - set the log callback and priority
 * @opts: the options.
 * @fn: the callback (see luo_log_fn), or NULL to log to standard error.
 * @userdata: passed to @fn.
 * @priority: the highest syslog priority passed to the callback, from
 *            LOG_EMERG (0) to LOG_DEBUG (7); LOG_ERR (3) to LOG_DEBUG are
 *            the ones libluo uses.
 *
 * libluo is silent by default.  The environment variable LIBLUO_LOG (err,
 * warning, notice, info, debug, or a number 0 to 7; read with
 * secure_getenv()) raises the priority of every context, and a context
 * with no callback then logs to standard error.  A value that is none of
 * these is ignored, and luo_ctx_new() says so on standard error, once for
 * each context it makes.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @opts is NULL, or @priority is outside 0 to 7.
 *
 * Thread-safety: an options object must not be used by two threads at
 * once.
 */
int luo_ctx_opts_set_log(luo_ctx_opts_t *opts, luo_log_fn fn, void *userdata,
			 int priority);

/**
 * DOC: Log messages
 *
 * With a log callback (luo_ctx_opts_set_log(), luo_ctx_set_log()) or
 * LIBLUO_LOG=debug, libluo says at LOG_DEBUG what each call that changes
 * state did (the session, the token, the result), and at LOG_ERR why a
 * call failed and what to do.  The callback's function argument is the
 * public function that was called ("luo_session_preserve_fd"), its file
 * argument a source file's name.  The messages a person most often needs:
 *
 *  - "session "N": preserve fd F as T: No such file or directory: the
 *    kernel preserves only memfds (shmem files, not MFD_HUGETLB ones)"
 *    (luo_session_preserve_fd()): preserve a memfd holding the data
 *    instead of the file itself.
 *  - "... Device or resource busy: the file is preserved already, in this
 *    or another session": a file can be in one session only.
 *  - "session "N": Invalid argument: a session can be retrieved once per
 *    boot, and this one was (by this or another process)"
 *    (luo_session_retrieve()): take it from whoever retrieved it
 *    (luo_session_send()), or keep the first handle.
 *  - "session "N": No such file or directory: no incoming session of
 *    that name: it was not held at the live update, or it was finished"
 *    (luo_session_retrieve()): the holder closed it (or exited) before
 *    the kexec; luo_ctx_foreach_incoming_session() lists what came.
 *  - "... No such device: this handle is from before the live update:
 *    close it and retrieve the session again": after a (simulated) kexec
 *    the old handles are dead; luo_session_close() closes them without
 *    LUO_SESSION_CLOSE_FORCE.
 *  - "restore T: Device or resource busy: no live update to restore from
 *    (the state is not UPDATED): luo_prepare() must run before the kexec"
 *    (luo_fd_restore()).
 *  - "/dev/liveupdate is single-open and pid P (comm) holds it: ..."
 *    (luo_ctx_new()): one context per process, shared by its threads; or
 *    have the holder hand sessions over, or close the device
 *    (luo_ctx_close_device()).  The holder is named when /proc shows it.
 *  - "preserve fd F as T: Too many open files: on the mainline ABI each
 *    token of the original API takes a descriptor (a session of its own):
 *    raise RLIMIT_NOFILE, or use sessions" (luo_fd_preserve()).
 *  - "refusing to close session "N": it would unpreserve its files; pass
 *    LUO_SESSION_CLOSE_FORCE to do it anyway" (luo_session_close()).
 *  - "session "N": its record is unusable (...): its tokens are known only
 *    once retrieved": the record of the previous boot is damaged or from
 *    a newer libluo; the files are still there (retrieve them by token).
 *  - "/dev/liveupdate: no such device: the kernel needs
 *    CONFIG_LIVEUPDATE and the boot parameter liveupdate=on"
 *    (luo_ctx_new()).
 */

/**
 * DOC: Context
 *
 * A context is a process's connection to the live update device,
 * /dev/liveupdate, or to an in-memory fake kernel (libluo-fake(3)).  The
 * device is single-open: while one context holds it, opening it again
 * fails, in this process as in any other.  A process therefore creates one
 * context and shares it between its threads; every function taking a
 * context may be called from any number of threads at once.
 *
 * A context is reference-counted.  Every session created, retrieved,
 * adopted or received in it holds a reference of its own, so the sessions
 * stay valid after the creator drops its reference.
 */

/**
 * luo_ctx_new() - open the live update device and create a context
 * @opts: options (see luo_ctx_opts_new()), or NULL for the defaults.  They
 *        are copied.
 * @ret:  where to store the new context, which has one reference.
 *
 * The device is opened O_RDWR | O_CLOEXEC.  Unless an ABI is forced
 * (luo_ctx_opts_set_abi()), it is detected with requests that change
 * nothing: each ABI answers the other's request numbers with an error.
 * After a live update, the first open of the device makes the kernel
 * restore what the previous kernel handed over.
 *
 * With luo_ctx_opts_set_open_device() false, nothing is opened and the
 * context speaks the mainline ABI.
 *
 * When the options choose no kernel (neither luo_ctx_opts_set_fake() nor
 * luo_ctx_opts_set_fake_socket() was called; @opts NULL included) and the
 * environment variable LIBLUO_FAKE is set and not empty, the context uses
 * the fake-kernel server it names, as unix:PATH (see
 * luo_ctx_opts_set_fake_socket()).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ret is NULL, or LIBLUO_FAKE is used and not of the form
 *           unix:PATH.
 *  -ENOENT: there is no device: the kernel lacks CONFIG_LIVEUPDATE or was
 *           booted without liveupdate=on.
 *  -ENODEV: the device node exists but no driver is behind it; as
 *           -ENOENT.  With a fake-kernel server: nothing listens at its
 *           path.
 *  -ENXIO: as -ENODEV.
 *  -EBUSY: another process, or another context of this one, holds the
 *          device open.  It is single-open: share one context between
 *          threads instead.
 *  -EIO: the kernel could not restore the state handed over by the
 *        previous kernel; every open fails until the next reboot.
 *  -EACCES: not allowed to open the device.
 *  -EPERM: not allowed to open the device.
 *  -EPROTO: the device speaks neither ABI, or not the forced one (also
 *           what a regular file, a FIFO or /dev/null given as the device
 *           gives).
 *  -EISDIR: the device path is a directory.
 *  -ENAMETOOLONG: a component of the device path is too long.
 *  -ELOOP: too many symbolic links in the device path.
 *  -ENOTDIR: a component of the device path is not a directory.
 *  -EMFILE: the process has no descriptor left.
 *  -ENFILE: the system has no file left.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe.
 *
 * Example:
 *     luo_ctx_opts_t *opts;
 *     luo_ctx_t *ctx;
 *     int r;
 *
 *     r = luo_ctx_opts_new(&opts);
 *     if (r == 0)
 *         r = luo_ctx_opts_set_abi(opts, LUO_ABI_MAINLINE);
 *     if (r == 0)
 *         r = luo_ctx_new(opts, &ctx);
 *     luo_ctx_opts_free(opts);
 *     if (r < 0) {
 *         fprintf(stderr, "live update: %s\n", strerror(-r));
 *         return r;
 *     }
 *     // ...
 *     luo_ctx_unref(ctx);
 *
 * See also: luoctl(1)
 */
int luo_ctx_new(const luo_ctx_opts_t *opts, luo_ctx_t **ret);

/**
 * luo_ctx_ref() - take a reference on a context
 * @ctx: the context, or NULL (passed through).
 *
 * Return: @ctx.
 *
 * Errors: none.
 *
 * Thread-safety: safe (an atomic count).
 */
luo_ctx_t *luo_ctx_ref(luo_ctx_t *ctx);

/**
 * luo_ctx_unref() - drop a reference on a context
 * @ctx: the context, or NULL (then nothing is done).
 *
 * The last reference closes the device and frees the context.  Sessions
 * hold a reference of their own, so an outgoing session stays preserved
 * after its creator drops the context.
 *
 * On the mainline ABI the tokens of the original API (luo_fd_preserve())
 * live in sessions owned by the context: dropping its last reference
 * before the kexec reboot closes them, and the kernel then unpreserves
 * their files.  A process using the original API keeps its context until
 * the reboot.
 *
 * Return: NULL.
 *
 * Errors: none.
 *
 * Thread-safety: safe (an atomic count).
 */
luo_ctx_t *luo_ctx_unref(luo_ctx_t *ctx);

/**
 * luo_ctx_close_device() - let go of the device and keep the sessions
 * @ctx: the context.
 *
 * Closes the context's descriptor of the device, keeping every session,
 * so that another process can open the single-open device (the kernel
 * lets sessions outlive it).  Afterwards the context behaves like one
 * created without the device (luo_ctx_opts_set_open_device()): its
 * sessions, and sessions it adopts or receives, keep working, while
 * creating or retrieving sessions and the original API's kernel calls
 * fail.  The original API's own sessions stay preserved as long as the
 * context lives.  luoctl(1) hold does this.  Device requests that other
 * threads have in flight finish first: no request runs on a closed
 * descriptor.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENODEV: the context has no device open (created without it, or
 *           closed already).
 *
 * Thread-safety: safe.
 */
int luo_ctx_close_device(luo_ctx_t *ctx);

/**
 * luo_ctx_get_abi() - the kernel ABI a context speaks
 * @ctx: the context.
 * @ret: where to store the ABI in use, never LUO_ABI_AUTO.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @ret is NULL.
 *  -ECHILD: @ctx is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_ctx_get_abi(luo_ctx_t *ctx, enum luo_abi *ret);

/**
 * luo_ctx_set_log() - replace the log callback and priority of a context
 * @ctx: the context.
 * @fn: the callback, or NULL to log to standard error.
 * @userdata: passed to @fn.
 * @priority: the highest syslog priority passed to the callback, 0 to 7.
 *
 * As luo_ctx_opts_set_log(), for a live context.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL, or @priority is outside 0 to 7.
 *  -ECHILD: @ctx is used in a child process after fork().
 *
 * Thread-safety: safe.  The callback runs in the thread that made the
 * call that logs, with no libluo lock held.
 */
int luo_ctx_set_log(luo_ctx_t *ctx, luo_log_fn fn, void *userdata,
		    int priority);

/**
 * DOC: The original libluo API
 *
 * These functions are the API of the original libluo, written for the RFC
 * kernel interface of June 2025: one global list of files, each preserved
 * under a 64-bit token that the caller chooses, and a state machine.
 * libluo offers them on both kernel ABIs; unlike the original, each takes
 * a context, and nothing is global.  New programs on mainline kernels may
 * prefer sessions (luo_session_create()).
 *
 * The states (enum luo_state) are NORMAL (files may be preserved and
 * unpreserved), PREPARED (ready for the kexec: the list is fixed), FROZEN
 * (inside the kexec; never seen by a running process) and UPDATED (after
 * the kexec, until restoration is finished).  In the old kernel a program
 * preserves its files, calls luo_prepare() and keeps its context until the
 * kexec reboot; in the new kernel it checks that luo_get_state() is
 * UPDATED, restores its files with luo_fd_restore() and calls
 * luo_finish().
 *
 * On the RFC ABI each function is the kernel request of the same name, and
 * the state is the kernel's.
 *
 * The mainline kernel has neither a global token list nor a state
 * machine.  libluo maps the API onto sessions that it owns, whose names
 * begin with LUO_RESERVED_PREFIX ("libluo."), which luo_session_create()
 * refuses for applications:
 *
 * - luo_fd_preserve() creates a session named "libluo.tok.<token as 16
 *   hexadecimal digits>" and preserves the file in it alone, under the
 *   token;
 * - luo_fd_unpreserve() closes that session.  The kernel has no per-file
 *   unpreserve, but closing an outgoing session unpreserves what it
 *   holds, so this unpreserves exactly that token;
 * - luo_prepare() writes a sealed memfd listing the preserved tokens (the
 *   manifest), preserves it in a session named "libluo.manifest" and
 *   moves from NORMAL to PREPARED; luo_cancel() closes that session again
 *   and moves back to NORMAL;
 * - luo_get_state() derives the state: UPDATED while the previous kernel's
 *   manifest exists and luo_finish() has not been called; otherwise
 *   PREPARED between luo_prepare() and luo_cancel(); otherwise NORMAL.
 *   FROZEN is never seen;
 * - luo_fd_restore() retrieves the token's session (once) and the file in
 *   it; the token must be listed in the manifest;
 * - luo_finish() finishes every token session listed in the manifest,
 *   retrieving first the ones never restored so that they are discarded
 *   as on the RFC ABI, then the manifest's session, and moves from UPDATED
 *   to NORMAL.
 *
 * The consequences:
 *
 * - call luo_prepare() before the kexec, as on the RFC ABI: without it the
 *   files still travel, but after the reboot libluo cannot tell that an
 *   update happened;
 * - the sessions belong to the context: dropping its last reference
 *   (luo_ctx_unref()), or the process exiting, before the kexec closes
 *   them, and the kernel then unpreserves their files.  The process that
 *   preserves must keep its context until the reboot;
 * - the state is the process's own, not the kernel's: another process
 *   (such as luoctl(1)) cannot prepare or cancel for it;
 * - in the new kernel, the first call that needs the state (luo_get_state(),
 *   luo_fd_preserve(), luo_fd_restore(), luo_prepare() or luo_finish())
 *   retrieves the manifest's session, which the kernel hands out once per
 *   boot, and the context keeps it until luo_finish().  If the context
 *   goes away first (last reference dropped, process exited), closing the
 *   manifest's session finishes it: no other process will see the UPDATED
 *   state or be able to restore the tokens, whose sessions the next live
 *   update discards.  Only one process per boot can take over the previous
 *   kernel's tokens: it should be the one that restores them, and nothing
 *   else should ask for the state.
 */

/**
 * luo_is_available() - whether the live update device exists
 *
 * Tells whether LUO_DEVICE_PATH exists and is a character device.  It
 * opens nothing and needs no context.
 *
 * Return: true or false.
 *
 * Errors: none.
 *
 * Thread-safety: safe.
 */
bool luo_is_available(void);

/**
 * luo_get_state() - the live update state
 * @ctx: the context.
 * @state: where to store the state.
 *
 * RFC ABI: the kernel's state.  Mainline ABI: UPDATED while the previous
 * kernel's libluo manifest exists and luo_finish() has not been called;
 * otherwise PREPARED between luo_prepare() and luo_cancel(); otherwise
 * NORMAL.  FROZEN is never seen by a running process.
 *
 * Mainline caveat: the kernel can only tell whether the manifest exists by
 * handing it out, once per boot.  The first context that asks (this call,
 * or luo_fd_preserve(), luo_fd_restore(), luo_prepare(), luo_finish())
 * takes it; if that context goes away before luo_finish(), the kernel
 * finishes the manifest and later contexts see NORMAL.  After a live
 * update, the process that restores the tokens must be the one that asks.
 * See libluo(3), "The original libluo API".
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @state is NULL; or, on the mainline ABI after an
 *           update, another context of this boot took the manifest (the
 *           kernel hands it out once per boot): only that context can
 *           restore and finish.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENODEV: the context has no device (luo_ctx_opts_set_open_device(),
 *           luo_ctx_close_device()).
 *  -EBADMSG: (mainline) the previous kernel's manifest is unusable.  This
 *            is reported once; the state is then UPDATED, without the
 *            tokens, so that luo_finish() can still end the update.
 *  -ENOENT: (mainline) as -EBADMSG, when the previous kernel's manifest
 *           session holds no manifest.
 *  -EPROTONOSUPPORT: (mainline) the previous kernel's manifest was
 *                    written by a newer libluo in a format this one
 *                    cannot read; reported once, as -EBADMSG.
 *  -EMFILE: (mainline) no descriptor left to retrieve the manifest; the
 *           next call tries again.
 *  -ENOMEM: out of memory; the next call tries again.
 *  other: errors of the kernel are passed on.
 *
 * Thread-safety: safe.  The state is the context's (mainline) or the
 * kernel's (RFC), shared by every thread using the context.
 */
int luo_get_state(luo_ctx_t *ctx, enum luo_state *state);

/**
 * luo_fd_preserve() - preserve a file under a token
 * @ctx: the context.
 * @fd: the file to preserve: a memfd or another unlinked shmem file.
 * @token: the token, chosen by the caller (the kernel does not pick
 *         tokens) and unique in the context.
 *
 * Only unlinked shmem files (memfds) can be preserved.  The kernel keeps its own
 * reference to the file: the caller may close @fd.  Preserving is allowed
 * in the NORMAL state (and, on the RFC ABI, in UPDATED), not between
 * luo_prepare() and luo_cancel().  On the mainline ABI the token gets a
 * session of its own, which lives as long as the context: see libluo(3),
 * "The original libluo API".
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL or @fd is negative; or, on the mainline ABI
 *           after an update, another context of this boot took the
 *           manifest (see luo_get_state()).
 *  -EEXIST: @token is already used in this context: preserved, or, on
 *           the mainline ABI, being preserved by another thread or come
 *           from the previous kernel (checked before the kernel is
 *           asked); or, on the mainline ABI, another context of this boot
 *           still holds the session of that token.
 *  -EBUSY: not allowed in the current state (for instance after
 *          luo_prepare()), or the file is already preserved.
 *  -EBADF: @fd is not an open descriptor (on the mainline ABI checked
 *          before anything is created).
 *  -ENOENT: the kernel cannot preserve this type of file: only unlinked
 *           shmem files are supported, i.e. memfds (not MFD_HUGETLB ones)
 *           and O_TMPFILE files on tmpfs; a tmpfs file with a name is
 *           refused; or, on the mainline ABI, as -EBADMSG.
 *  -EOPNOTSUPP: the memfd has seals the kernel cannot carry.
 *  -EFBIG: the file is too large to preserve.
 *  -ENOSPC: the kernel has no room left for another session or file.
 *  -EMFILE: (mainline) no descriptor left for the token's session: each
 *           token costs the process one descriptor until it is
 *           unpreserved or finished (with the usual limit of 1024, about
 *           1,000 tokens; raise RLIMIT_NOFILE for more).
 *  -ENOMEM: out of memory.
 *  -ENODEV: the context has no device.
 *  -EBADMSG: (mainline) the previous kernel's manifest is unusable,
 *            reported once by the first call that needs the state; see
 *            luo_get_state().
 *  -EPROTONOSUPPORT: (mainline) the previous kernel's manifest was
 *                    written by a newer libluo; see luo_get_state().
 *  -ECHILD: @ctx is used in a child process after fork().
 *
 * Thread-safety: safe.
 *
 * Example:
 *     // old kernel
 *     r = luo_fd_preserve(ctx, fd, 0x1234);
 *     if (r == 0)
 *         r = luo_prepare(ctx);
 *     if (r < 0)
 *         errx(1, "preserve: %s", strerror(-r));
 *     // keep ctx until the kexec reboot
 *
 *     // new kernel
 *     enum luo_state st;
 *
 *     if (luo_get_state(ctx, &st) == 0 && st == LUO_STATE_UPDATED) {
 *         r = luo_fd_restore(ctx, 0x1234, &fd);
 *         // ...
 *         luo_finish(ctx);
 *     }
 *
 * See also: memfd_create(2), luoctl(1)
 */
int luo_fd_preserve(luo_ctx_t *ctx, int fd, uint64_t token);

/**
 * luo_fd_unpreserve() - stop preserving a token
 * @ctx: the context.
 * @token: a token this context preserved.
 *
 * Exact on both ABIs: on the mainline ABI the token's own session is
 * closed, which unpreserves only it.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: this context did not preserve @token (tokens that came from
 *           the previous kernel cannot be unpreserved).
 *  -EBUSY: after luo_prepare(): call luo_cancel() first.
 *  -EINVAL: @ctx is NULL.
 *  -ENODEV: the context has no device.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory (the first call of the original API in a
 *           context allocates its state).
 *
 * Thread-safety: safe.
 */
int luo_fd_unpreserve(luo_ctx_t *ctx, uint64_t token);

/**
 * luo_fd_restore() - after a live update, get back the file of a token
 * @ctx: the context.
 * @token: the token the file was preserved under.
 * @fd: where to store a new descriptor (O_CLOEXEC, owned by the caller)
 *      for the file.
 *
 * Allowed in the UPDATED state only.  On the mainline ABI restoring a
 * token again returns another descriptor for the same file; on the RFC
 * ABI a restored token leaves the kernel's list, and the file is then the
 * caller's alone.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: no such token came from the previous kernel (on the RFC ABI:
 *           or it was restored already).
 *  -EBUSY: the state is not UPDATED.
 *  -EINVAL: @ctx or @fd is NULL.
 *  -ENODEV: the context has no device.
 *  -EBADMSG: (mainline) the previous kernel's manifest is unusable; see
 *            luo_get_state().
 *  -EPROTONOSUPPORT: (mainline) the previous kernel's manifest was
 *                    written by a newer libluo; see luo_get_state().
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EMFILE: no descriptor left.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe.
 */
int luo_fd_restore(luo_ctx_t *ctx, uint64_t token, int *fd);

/**
 * luo_prepare() - get ready for the kexec: NORMAL to PREPARED
 * @ctx: the context.
 *
 * Fixes the list of preserved tokens: luo_fd_preserve() and
 * luo_fd_unpreserve() then fail until luo_cancel().  Call it before the
 * kexec: on the RFC ABI the kernel carries the files only from the
 * PREPARED state, and on the mainline ABI the manifest it writes is what
 * tells the next kernel's libluo that an update happened.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL, or the state is not NORMAL.
 *  -ENODEV: the context has no device.
 *  -EBADMSG: (mainline) the previous kernel's manifest is unusable; see
 *            luo_get_state().
 *  -ENOENT: (mainline) as -EBADMSG; see luo_get_state().
 *  -EPROTONOSUPPORT: (mainline) the previous kernel's manifest was
 *                    written by a newer libluo; see luo_get_state().
 *  -E2BIG: (mainline) more than 16777216 (2^24) tokens are preserved,
 *         more than the manifest can list.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EMFILE: (mainline) no descriptor left for the manifest.
 *  -ENOSPC: (mainline) the kernel has no room for the manifest's session.
 *  -ENOMEM: out of memory.
 *  other: errors of the kernel are passed on.
 *
 * Thread-safety: safe.  The state is shared by every thread using the
 * context: a thread's luo_prepare() affects them all.
 */
int luo_prepare(luo_ctx_t *ctx);

/**
 * luo_cancel() - back from PREPARED to NORMAL
 * @ctx: the context.
 *
 * The tokens stay preserved, and may be preserved and unpreserved again.
 * On the mainline ABI the manifest's session is closed.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL, or the state is not PREPARED.
 *  -ENODEV: the context has no device.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory (the first call of the original API in a
 *           context allocates its state).
 *  other: errors of the kernel are passed on.
 *
 * Thread-safety: safe.
 */
int luo_cancel(luo_ctx_t *ctx);

/**
 * luo_finish() - end the restoration: UPDATED to NORMAL
 * @ctx: the context.
 *
 * Tells the kernel that restoration is done: files that were not restored
 * are discarded.  Descriptors already restored stay valid.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL, or the state is not UPDATED.
 *  -EBUSY: the kernel refused; retry.
 *  -ENODEV: the context has no device.
 *  -EBADMSG: (mainline) the previous kernel's manifest is unusable; see
 *            luo_get_state().  Calling again finishes the update.
 *  -ENOENT: (mainline) as -EBADMSG.
 *  -EPROTONOSUPPORT: (mainline) the previous kernel's manifest was
 *                    written by a newer libluo; see luo_get_state().
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EMFILE: (mainline) no descriptor left to retrieve the session of a
 *           token that was never restored; retry.
 *  -ENOMEM: out of memory; retry.
 *
 * Thread-safety: safe.
 */
int luo_finish(luo_ctx_t *ctx);

/**
 * luo_state_to_string() - the name of a live update state
 * @state: the state.
 *
 * Return: "undefined", "normal", "prepared", "frozen" or "updated", or
 * "unknown" for a value outside enum luo_state: a static string, never
 * NULL.
 *
 * Errors: none.
 *
 * Thread-safety: safe.
 */
const char *luo_state_to_string(enum luo_state state);

/**
 * luo_token_lookup() - what libluo knows of a token of the original API
 * @ctx: the context.
 * @token: the token.
 * @state: where to store its state: LUO_TOKEN_PRESERVED (preserved in
 *         this boot), LUO_TOKEN_INCOMING (came from the previous kernel,
 *         not restored yet) or LUO_TOKEN_RESTORED.
 *
 * Works in a context without the device too. On the mainline ABI, with the device, the first such call of a context
 * after an update loads the previous kernel's manifest (as
 * luo_get_state() would), so the incoming tokens are listed without any
 * other call first.  If the manifest cannot be had for good (another
 * context of this boot took it, the device is gone, it is unreadable),
 * the call lists what it knows and luo_get_state() says why; a passing
 * error fails the call (below) and the next call tries again.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: libluo knows no such token in this context.
 *  -EINVAL: @ctx or @state is NULL.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EIO: (mainline) loading the manifest failed; the next call tries
 *        again.
 *  -EMFILE: (mainline) no descriptor left to load the manifest; the next
 *           call tries again.
 *  -ENOMEM: out of memory (loading the manifest, or for the snapshot).
 *
 * Thread-safety: safe.
 */
int luo_token_lookup(luo_ctx_t *ctx, uint64_t token,
		     enum luo_token_state *state);

/**
 * luo_token_count() - how many tokens of the original API libluo knows of
 * @ctx: the context.
 *
 * Counts the tokens luo_token_lookup() would find.  Works in a context
 * without the device too. On the mainline ABI, with the device, the first such call of a context
 * after an update loads the previous kernel's manifest (as
 * luo_get_state() would), so the incoming tokens are listed without any
 * other call first.  If the manifest cannot be had for good (another
 * context of this boot took it, the device is gone, it is unreadable),
 * the call lists what it knows and luo_get_state() says why; a passing
 * error fails the call (below) and the next call tries again.
 *
 * Return: the number of tokens (0 or more) on success, a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx is NULL.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EIO: (mainline) loading the manifest failed; the next call tries
 *        again.
 *  -EMFILE: (mainline) no descriptor left to load the manifest; the next
 *           call tries again.
 *  -ENOMEM: out of memory (loading the manifest, or for the snapshot).
 *
 * Thread-safety: safe.
 */
int luo_token_count(luo_ctx_t *ctx);

/**
 * luo_token_foreach() - call a function for every token of the original
 * API
 * @ctx: the context.
 * @fn: called with each token, its state and @userdata, in no particular
 *      order; it returns 0 to go on, anything else to stop.
 * @userdata: passed to @fn.
 *
 * The callback runs on a snapshot of the tokens, without libluo's locks,
 * and may call libluo, even on the same context.  Works in a context
 * without the device too. On the mainline ABI, with the device, the first such call of a context
 * after an update loads the previous kernel's manifest (as
 * luo_get_state() would), so the incoming tokens are listed without any
 * other call first.  If the manifest cannot be had for good (another
 * context of this boot took it, the device is gone, it is unreadable),
 * the call lists what it knows and luo_get_state() says why; a passing
 * error fails the call (below) and the next call tries again.
 *
 * Return: 0, the first non-zero value returned by @fn, or a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @fn is NULL.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EIO: (mainline) loading the manifest failed; the next call tries
 *        again.
 *  -EMFILE: (mainline) no descriptor left to load the manifest; the next
 *           call tries again.
 *  -ENOMEM: out of memory (loading the manifest, or for the snapshot).
 *
 * Thread-safety: safe.
 */
int luo_token_foreach(luo_ctx_t *ctx, luo_token_fn fn, void *userdata);

/**
 * DOC: Sessions
 *
 * A session is the unit the mainline kernel (Linux 6.19 and later) carries
 * across a live update: a name and a set of files, each under a 64-bit
 * token that the caller chooses.  The kernel keeps no list of sessions or
 * tokens that user space could read: the program must know its session
 * names and tokens itself.  Sessions exist only on the mainline ABI; on
 * the RFC ABI the functions that take a context fail with -EOPNOTSUPP
 * (use the original API there).
 *
 * Before the update, in the old kernel, luo_session_create() creates an
 * outgoing session and luo_session_preserve_fd() adds files to it.  The
 * kexec reboot carries every outgoing session whose descriptor is still
 * open; the kernel freezes and hands over the preserved files inside
 * reboot() with LINUX_REBOOT_CMD_KEXEC, after a kexec_file_load().  If a
 * file cannot be frozen, that call fails, the system keeps running and
 * everything stays preserved.  After the update, in the new kernel,
 * luo_session_retrieve() takes the incoming session,
 * luo_session_retrieve_fd() gets the files back and luo_session_finish()
 * ends it.  Incoming sessions that are never finished are discarded at the
 * next live update.
 *
 * The kernel ties a session to its descriptor: closing an outgoing session
 * unpreserves every file in it, and closing an incoming one finishes it.
 * A process exiting closes its descriptors, so the process that holds an
 * outgoing session must stay alive until the kexec reboot, or nothing is
 * carried over.  The session handle owns the descriptor and a reference
 * to its context (a session survives the closing of the device
 * descriptor), and libluo never closes the descriptor behind the caller's
 * back: luo_session_close() refuses to close a session that would lose
 * files unless given LUO_SESSION_CLOSE_FORCE.  To let a process exit while
 * its session lives on, hand the session to a process that stays, with
 * luo_session_send() and luo_session_recv().
 *
 * The kernel creates session descriptors and retrieved file descriptors
 * with O_CLOEXEC.
 */

/**
 * luo_session_create() - create an outgoing session
 * @ctx: the context.
 * @name: the session's name: 1 to LUO_SESSION_NAME_MAX bytes, not starting
 *        with LUO_RESERVED_PREFIX, which libluo keeps for its own sessions.
 * @ret: where to store the new session handle.
 *
 * The session handle owns the session's file descriptor and a reference on
 * @ctx.  Closing that descriptor would unpreserve everything in the
 * session, so libluo never closes it implicitly: only luo_session_close()
 * does, and with files in the session only when given
 * LUO_SESSION_CLOSE_FORCE or after luo_session_send().  Keep the handle,
 * and the process, until the kexec reboot.
 *
 * Unless the context keeps no record (luo_ctx_opts_set_record()), the
 * first create also makes the context's index session
 * ("libluo.index.N"), and each create records the name in it, so that
 * luo_ctx_foreach_incoming_session() lists it after the live update;
 * closing the session for good (not after luo_session_send() or
 * luo_session_fdstore_push()) records that too.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @ret is NULL, or @name is NULL, empty, longer than
 *           LUO_SESSION_NAME_MAX bytes or starts with LUO_RESERVED_PREFIX.
 *  -EEXIST: an outgoing session has that name.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -ENODEV: the context has no device (luo_ctx_opts_set_open_device(),
 *           luo_ctx_close_device()).
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EMFILE: no descriptor left.
 *  -ENOMEM: out of memory.
 *  -ENOSPC: the kernel has no room for another session, or every index
 *           slot (64) is taken by other contexts of this boot.
 *
 * Thread-safety: safe.
 *
 * Example:
 * Preserve a memfd and hold the session until the kexec (error handling
 * shortened):
 *
 *     luo_session_t *s;
 *     int fd = memfd_create("state", MFD_CLOEXEC);
 *
 *     write(fd, data, len);
 *     r = luo_session_create(ctx, "my-daemon", &s);
 *     if (r == 0)
 *         r = luo_session_preserve_fd(s, fd, 1);
 *     close(fd);                  // the kernel has its own reference
 *     if (r < 0)
 *         errx(1, "preserve: %s", strerror(-r));
 *     // keep s, and this process, until the kexec reboot
 *
 * See also: luoctl(1), memfd_create(2)
 */
int luo_session_create(luo_ctx_t *ctx, const char *name, luo_session_t **ret);

/**
 * luo_session_retrieve() - after a live update, take an incoming session
 * @ctx: the context.
 * @name: the session's name.
 * @ret: where to store the new session handle.
 *
 * A session can be retrieved once per boot.  The handle owns the session's
 * descriptor: closing it finishes the session (see luo_session_close()).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: no incoming session has that name.
 *  -EINVAL: @ctx or @ret is NULL, @name is not a valid session name or
 *           starts with LUO_RESERVED_PREFIX (the original API's sessions:
 *           taking one would leave luo_finish() unable to end the
 *           update), or the session was already retrieved in this boot.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -ENODEV: the context has no device.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -EMFILE: no descriptor left.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe.
 *
 * Example:
 * After the reboot, get back the memfd that the example of
 * luo_session_create() preserved:
 *
 *     r = luo_session_retrieve(ctx, "my-daemon", &s);
 *     if (r < 0)
 *         errx(1, "retrieve: %s", strerror(-r));
 *     r = luo_session_retrieve_fd(s, 1, &fd);
 *     if (r == 0)
 *         r = luo_session_finish(s);
 *     luo_session_close(s, r < 0 ? LUO_SESSION_CLOSE_FORCE : 0);
 */
int luo_session_retrieve(luo_ctx_t *ctx, const char *name,
			 luo_session_t **ret);

/**
 * luo_session_preserve_fd() - preserve a file in an outgoing session
 * @session: an outgoing session.
 * @fd: the file to preserve: a memfd or another unlinked shmem file.
 * @token: the token, chosen by the caller and unique in the session.
 *
 * The kernel keeps its own reference to the file: the caller may close
 * @fd right away.  Only unlinked shmem files can be preserved: memfds (not
 * MFD_HUGETLB ones) and O_TMPFILE files on tmpfs; a tmpfs file with a name
 * is refused.  A preserved memfd's size is frozen: writes that
 * would grow it, and ftruncate(), fail until it is unpreserved.  Its
 * contents, size, file offset and seals travel to the next kernel.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EEXIST: @token is already used in this session, or being preserved
 *           by another thread (checked before the kernel is asked).
 *  -EINVAL: @session is NULL or incoming, @fd is negative, or @token is
 *           reserved for libluo's record (LUO_TOKEN_RESERVED_MIN or
 *           above).
 *  -EBADF: @fd is not an open descriptor, or an O_PATH one.
 *  -EBUSY: the file is already preserved (in any session), or was
 *          retrieved from an incoming session that is not finished yet:
 *          the kernel owns it until then.
 *  -ENOENT: the kernel cannot preserve this type of file (not an unlinked
 *           shmem file).
 *  -EOPNOTSUPP: the memfd has seals the kernel cannot carry.
 *  -EFBIG: the file is too large to preserve.
 *  -ENOSPC: the session is full.
 *  -ENOMEM: out of memory.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe; several threads may preserve in one session at
 * once.
 *
 * See also: memfd_create(2)
 */
int luo_session_preserve_fd(luo_session_t *session, int fd, uint64_t token);

/**
 * luo_session_retrieve_fd() - get back a file of an incoming session
 * @session: an incoming session.
 * @token: the token the file was preserved under.
 * @fd: where to store a new descriptor (O_CLOEXEC, owned by the caller)
 *      for the file.
 *
 * Tokens may be retrieved in any order; retrieving one again gives another
 * descriptor for the same file.  A retrieved file cannot be preserved
 * again until its session is finished: the kernel still owns it until
 * then.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: the session has no such token, or was finished.
 *  -EINVAL: @session or @fd is NULL, the session is outgoing, or @token
 *           is reserved for libluo's record (LUO_TOKEN_RESERVED_MIN or
 *           above).
 *  -ECHILD: @session is used in a child process after fork().
 *  -EMFILE: no descriptor left.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe; several threads may retrieve from one session at
 * once.
 */
int luo_session_retrieve_fd(luo_session_t *session, uint64_t token, int *fd);

/**
 * luo_session_finish() - end an incoming session
 * @session: an incoming session.
 *
 * Tells the kernel the session is done: files not retrieved are discarded,
 * retrieved descriptors stay valid, and nothing more can be retrieved.
 * Finishing a finished session again succeeds and does nothing, as in the
 * kernel.  The handle must still be closed with luo_session_close().
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session is NULL, or the session is outgoing.
 *  -EBUSY: the kernel refused; retry.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_session_finish(luo_session_t *session);

/**
 * luo_session_get_name() - the name of a session
 * @session: the session.
 * @name: where to store the name, valid as long as the handle.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session or @name is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.  The name stays valid until the handle is closed.
 */
int luo_session_get_name(luo_session_t *session, const char **name);

/**
 * luo_session_get_direction() - whether a session is outgoing or incoming
 * @session: the session.
 * @dir: where to store LUO_SESSION_OUTGOING or LUO_SESSION_INCOMING.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session or @dir is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_session_get_direction(luo_session_t *session,
			      enum luo_session_direction *dir);

/**
 * luo_session_get_fd() - the file descriptor of a session
 * @session: the session.
 *
 * The descriptor is lent: do not close it (see luo_session_create()), and
 * do not give it to luo_session_adopt_fd(), which refuses it with EBUSY
 * since two handles would own one descriptor; dup() it for that.
 *
 * Return: the descriptor (0 or more) on success, a negative errno value
 * on failure.
 *
 * Errors:
 *  -EINVAL: @session is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *  -ENOMEM: out of memory to record the loan (first call only).
 *
 * Thread-safety: safe.
 */
int luo_session_get_fd(luo_session_t *session);

/**
 * luo_session_adopt_fd() - wrap a session descriptor obtained from
 * elsewhere
 * @ctx: the context the new handle belongs to.
 * @fd: a session descriptor, for instance received from another process.
 * @ret: where to store the new session handle.
 *
 * On success the handle owns @fd; on failure @fd is left open and
 * untouched.  Before any request is issued on @fd, libluo checks that it
 * is a session of this context's kernel (the kernel's: its /proc name is
 * "anon_inode:[luo_session] NAME"), since the same request number means
 * something else to another driver; the name comes from there.  The
 * direction is then probed without side effects and cannot fail.  libluo
 * knows no tokens of an adopted session until it preserves or retrieves
 * them, so closing an adopted outgoing session needs
 * LUO_SESSION_CLOSE_FORCE.  Works in a context without the device.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @ret is NULL, @fd is negative, or @fd is not a
 *           session of this context's kernel.
 *  -EBADF: @fd is not open.
 *  -EBUSY: @fd is the descriptor of a session handle of this context
 *          (luo_session_get_fd()); dup() it first.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory.
 *  other: the errors of fstat() and readlink() while identifying @fd.
 *
 * Thread-safety: safe.
 */
int luo_session_adopt_fd(luo_ctx_t *ctx, int fd, luo_session_t **ret);

/**
 * luo_session_send() - send a session to another process
 * @session: the session.
 * @sock: a connected AF_UNIX socket.
 *
 * Sends the session's descriptor (SCM_RIGHTS), its name and its direction
 * over @sock.  Whom to send sessions to is the caller's decision:
 * getsockopt(SO_PEERCRED) on @sock tells the peer's pid, uid and gid.
 * The receiver (luo_session_recv()) then holds a reference: after a
 * successful send the sender may close its handle with
 * luo_session_close() without LUO_SESSION_CLOSE_FORCE, and the files stay
 * preserved as long as the receiver keeps its descriptor (or while it is
 * in flight).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session is NULL or @sock is negative.
 *  -ECHILD: @session is used in a child process after fork().
 *  -EMSGSIZE: a stream socket sent only part of the message, which is
 *             then unusable.
 *  -EPIPE: the peer closed the connection.
 *  -ENOTSOCK: @sock is not a socket.
 *  -EAFNOSUPPORT: @sock is not an AF_UNIX socket (no other family
 *                 carries descriptors: the session would not arrive).
 *  -ENOTCONN: @sock is not connected.
 *  other: the other errors of sendmsg().
 *
 * Thread-safety: safe.
 *
 * See also: unix(7)
 */
int luo_session_send(luo_session_t *session, int sock);

/**
 * luo_session_recv() - receive a session sent by another process
 * @ctx: the context the new handle belongs to; it may be a context
 *       without the device.
 * @sock: a connected AF_UNIX socket.
 * @ret: where to store the new session handle.
 *
 * Receives a session sent with luo_session_send() on @sock, blocking like
 * recvmsg(), and adopts it into @ctx as luo_session_adopt_fd() does, with
 * the direction the sender gave (libluo 1.0 senders gave none: then it is
 * probed).  A descriptor that is not a session of this context's kernel
 * is closed, and so is everything a bad message carried: no descriptor
 * leaks on any error.  A received session is never dropped: the handle is
 * allocated before the message is read, and if the descriptor cannot be
 * identified for a transient reason the call fails with that error and
 * keeps the session for the next call on @ctx (which then reads nothing
 * from the socket).  Whom to take sessions from is the caller's decision:
 * getsockopt(SO_PEERCRED) on @sock tells the peer's pid, uid and gid.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EBADMSG: the message is not a libluo session message (wrong size,
 *            magic or version, not exactly one descriptor, truncated, or
 *            an empty datagram).
 *  -ECONNRESET: the peer closed the connection.
 *  -EINVAL: @ctx or @ret is NULL, @sock is negative, or the descriptor
 *           received is not a session of this context's kernel (it was
 *           closed).
 *  -ENOTCONN: @sock is not connected.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory.
 *  other: the errors of recvmsg().
 *
 * Thread-safety: safe.
 *
 * See also: unix(7)
 */
int luo_session_recv(luo_ctx_t *ctx, int sock, luo_session_t **ret);

/**
 * luo_session_close() - release a session handle and its descriptor
 * @session: the session, or NULL (then nothing is done and 0 returned).
 * @flags: 0 or LUO_SESSION_CLOSE_FORCE (enum luo_session_close_flags).
 *
 * Without LUO_SESSION_CLOSE_FORCE the call refuses, changing nothing, when
 * closing would lose data: an outgoing session that holds (or, adopted,
 * may hold) preserved files and was not sent, or an incoming session that
 * was not finished.  A handle from before a live update (only a fake
 * kernel's handles outlive one: luo_fake_kexec()) has nothing left to
 * lose and closes without the flag.  With it, the call accepts what the kernel then does:
 * an outgoing session unpreserves its files, an incoming one is finished.
 * The handle's reference on its context is dropped.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EBUSY: closing would lose data and LUO_SESSION_CLOSE_FORCE was not
 *          given; nothing changed.
 *  -EINVAL: @flags has unknown bits.
 *  -ECHILD: in a child process after fork(): the handle is freed and the
 *           child's copy of the descriptor closed, which the kernel
 *           ignores while the parent holds the session; -ECHILD is still
 *           returned.
 *
 * Thread-safety: no other thread may use @session during or after the
 * call.
 */
int luo_session_close(luo_session_t *session, unsigned int flags);

/**
 * luo_session_token_lookup() - what libluo knows of a token of a session
 * @session: the session.
 * @token: the token.
 * @state: where to store LUO_TOKEN_PRESERVED (this process preserved it),
 *         LUO_TOKEN_INCOMING (the record of the previous boot lists it)
 *         or LUO_TOKEN_RESTORED (this process retrieved it).
 *
 * After a live update, a session whose previous holder kept a record
 * (libluo's default, see "What came back") lists every recorded token as
 * LUO_TOKEN_INCOMING from the moment it is retrieved, received, adopted
 * or taken from the fd store, before any file is retrieved.  Of a session
 * without a record, libluo knows a token only once it retrieves or
 * preserves it.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -ENOENT: libluo knows no such token in this session.
 *  -EINVAL: @session or @state is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_session_token_lookup(luo_session_t *session, uint64_t token,
			     enum luo_token_state *state);

/**
 * luo_session_token_count() - how many tokens of a session libluo knows of
 * @session: the session.
 *
 * Counts the tokens luo_session_token_lookup() would find.
 *
 * Return: the number of tokens (0 or more) on success, a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @session is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_session_token_count(luo_session_t *session);

/**
 * luo_session_token_foreach() - call a function for every token of a
 * session
 * @session: the session.
 * @fn: called with each token libluo knows of in the session, its state
 *      and @userdata, in no particular order; it returns 0 to go on,
 *      anything else to stop.
 * @userdata: passed to @fn.
 *
 * The callback runs on a snapshot of the tokens, without libluo's locks,
 * and may call libluo, even on the same session.
 *
 * Return: 0, the first non-zero value returned by @fn, or a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @session or @fn is NULL.
 *  -ECHILD: @session is used in a child process after fork().
 *  -ENOMEM: out of memory for the snapshot.
 *
 * Thread-safety: safe.
 */
int luo_session_token_foreach(luo_session_t *session, luo_token_fn fn,
			      void *userdata);

/**
 * DOC: What came back: labels, the session record and the index
 *
 * The kernel cannot list what was preserved, so libluo keeps a *record* of
 * each session it writes to, inside the session itself: memfds preserved
 * under the reserved tokens LUO_TOKEN_RESERVED_MIN and up (doc/record.md
 * specifies the format).  After the live update, luo_session_retrieve(),
 * luo_session_from_fdstore() and the adopt and receive functions read it,
 * so luo_session_token_count(), luo_session_token_foreach() and
 * luo_session_token_get_label() tell every token that was recorded, in
 * state LUO_TOKEN_INCOMING until it is retrieved, before any retrieve.
 * A session that has no record (made by an older libluo, by systemd or by
 * raw ioctls) behaves as before: libluo knows its tokens once retrieved.
 *
 * The record is written so that a live update at any instant, even in the
 * middle of a preserve on another thread or in another process, leaves a
 * record that says either the state before that preserve or after it.
 * A token in the record is always one the kernel carried over; a token
 * preserved in the last instant before the live update may be missing
 * from it (the file still came back: retrieve it by its number).
 *
 * A context that holds the device also keeps an *index* of the sessions
 * it creates, in a session of its own ("libluo.index.N"): after the live
 * update, luo_ctx_foreach_incoming_session() lists them.
 */

/* Tokens from here to UINT64_MAX hold libluo's record; the functions of
 * the session API refuse them with -EINVAL. */
#define LUO_TOKEN_RESERVED_MIN UINT64_C(0xffffffffffffff00)

/* The longest label, in bytes, not counting the terminating NUL. */
#define LUO_LABEL_MAX 255

/**
 * luo_session_preserve_fd_labeled() - preserve a file in a session, with a
 * label
 * @session: an outgoing session.
 * @fd: the file to preserve (a memfd on kernels up to 7.3).
 * @token: the token to preserve it under: any value below
 *         LUO_TOKEN_RESERVED_MIN that the session does not hold yet.
 * @label: 1 to LUO_LABEL_MAX bytes (a NUL-terminated string), unique
 *         among the labels this handle recorded in the session; or NULL
 *         for no label, as luo_session_preserve_fd().
 *
 * Preserves @fd like luo_session_preserve_fd() and records @token and
 * @label in the session's record, so that after the live update the token
 * can be found by its label (luo_session_retrieve_fd_by_label()).  The
 * record's room is made before the kernel is asked, so a success means
 * that both the file and its entry are in the session; a failure leaves
 * both the kernel and libluo as they were.
 *
 * Labels are checked for uniqueness among the entries this process wrote
 * into the session.  Two processes writing into one session (a sender and
 * its receiver) may each use a label once; after the live update
 * luo_session_retrieve_fd_by_label() then finds the first one recorded.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session is NULL, not outgoing, @fd is negative, @token is
 *           reserved (LUO_TOKEN_RESERVED_MIN or above), or @label is
 *           empty or longer than LUO_LABEL_MAX bytes.
 *  -EEXIST: the session already holds @token, or this handle recorded
 *           @label already.
 *  -EOPNOTSUPP: @label is not NULL and the context keeps no record
 *               (luo_ctx_opts_set_record()).
 *  -ECHILD: @session is used in a child process after fork().
 *  -ENOSPC: the session's record has no room left (256 segments) or the
 *           kernel's session is full.
 *  -ENOMEM: out of memory (libluo's or the kernel's).
 *  -EMFILE: no descriptor left to make the record's next segment.
 *  other: the kernel's errors for SESSION_PRESERVE_FD (see
 *         luo_session_preserve_fd()).
 *
 * Thread-safety: safe; preserves into one session from many threads
 * proceed in parallel.
 */
int luo_session_preserve_fd_labeled(luo_session_t *session, int fd,
				    uint64_t token, const char *label);

/**
 * luo_session_token_get_label() - the label recorded for a token
 * @session: the session (outgoing or incoming).
 * @token: the token.
 * @label: where to store the label; it stays valid, unchanged, until the
 *         handle is closed.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session or @label is NULL.
 *  -ENOENT: libluo knows no such token in the session, or the token has
 *           no label.
 *  -ECHILD: @session is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_session_token_get_label(luo_session_t *session, uint64_t token,
				const char **label);

/**
 * luo_session_retrieve_fd_by_label() - retrieve a file by its label
 * @session: an incoming session.
 * @label: the label given to luo_session_preserve_fd_labeled() in the
 *         previous boot.
 * @token: where to store the file's token, or NULL.
 * @fd: where to store the new descriptor.
 *
 * Looks @label up in the session's record and retrieves the file as
 * luo_session_retrieve_fd() does.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session, @label or @fd is NULL, the session is not
 *           incoming, or @label is empty or too long.
 *  -ENOENT: the record has no such label (or the session has no record).
 *  -ECHILD: @session is used in a child process after fork().
 *  -ENOMEM: out of memory.
 *  other: the errors of luo_session_retrieve_fd().
 *
 * Thread-safety: safe.
 */
int luo_session_retrieve_fd_by_label(luo_session_t *session,
				     const char *label, uint64_t *token,
				     int *fd);

/**
 * luo_ctx_foreach_incoming_session() - list the sessions of the previous
 * boot
 * @ctx: a context that holds the device.
 * @fn: called with each session name and @userdata; it returns 0 to go
 *      on, anything else to stop.
 * @userdata: passed to @fn.
 *
 * Lists the sessions that libluo contexts created in the previous boot
 * and did not close before the live update, from their index sessions
 * (up to 64 contexts, in order of their index slot).  The names are those
 * recorded; whether each session can still be retrieved is the kernel's
 * to say (a session handed to another process that closed it is listed,
 * and luo_session_retrieve() then fails with ENOENT).  Sessions libluo did not create are not listed.
 *
 * The kernel hands an incoming session out once per boot: the first
 * context that calls this function retrieves the index, keeps its
 * sessions until the context is freed (then they are finished) and keeps
 * the list, so further calls in that context list the same names without
 * asking the kernel.  Another context that calls it while the first one
 * lives gets -EBUSY; after the first one is freed, the index is gone for
 * this boot and the list is empty.
 *
 * @fn runs on a copy of the list without libluo's locks and may call
 * libluo, for instance luo_session_retrieve() with the name.
 *
 * Return: 0, the first non-zero value returned by @fn, or a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx or @fn is NULL.
 *  -ENODEV: the context does not hold the device.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -EBUSY: another context of this boot holds the index.  Like the
 *          passing errors below, a later call tries again; what was
 *          retrieved stays with this context.
 *  -EMFILE: no descriptor left to retrieve or read the index.
 *  -EBADMSG: an index record is damaged (nothing is listed).
 *  -EPROTONOSUPPORT: an index was written by a newer libluo in a format
 *                    this one cannot read.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory.
 *  other: the kernel's errors for RETRIEVE_SESSION and RETRIEVE_FD.
 *
 * Thread-safety: safe.
 */
int luo_ctx_foreach_incoming_session(luo_ctx_t *ctx,
				     int (*fn)(const char *name,
					       void *userdata),
				     void *userdata);

/**
 * luo_session_from_fdstore() - take a session that the service manager
 * passed to this process
 * @ctx: the context the new handle belongs to; usually one without the
 *       device (the service manager owns it).
 * @name: the descriptor's name in the file descriptor store: the name
 *        given to LUOSession= in the unit, or the FDNAME= the service
 *        stored it under (luo_session_fdstore_push()).
 * @ret: where to store the new session handle.
 *
 * Finds the descriptor named @name among those passed with the
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES protocol (sd_listen_fds(3);
 * the environment is read, not changed), checks that it is a session of
 * this context's kernel and adopts it as luo_session_adopt_fd() does: the
 * handle owns that descriptor.  Before the live update the session is
 * outgoing and can be filled; after it, it is incoming and its record is
 * read, so its tokens and labels are known before any retrieve (a record
 * that cannot be read is logged at LOG_ERR, and the session then behaves
 * as one without a record).
 *
 * The service manager keeps its own reference, so closing the handle
 * never loses data and needs no LUO_SESSION_CLOSE_FORCE.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ctx, @name or @ret is NULL, or @name is not a valid
 *           descriptor name (1 to 255 printable ASCII characters, no ':').
 *  -ENXIO: no descriptors were passed to this process (LISTEN_PID is not
 *          this process, or LISTEN_FDS or LISTEN_FDNAMES is missing or
 *          malformed).
 *  -ENOENT: no passed descriptor has that name.
 *  -EMEDIUMTYPE: the descriptor of that name is not a LUO session.
 *  -EBADF: the descriptor of that name is no longer open (its handle was
 *          closed).
 *  -EBUSY: a handle of this context already owns that descriptor.
 *  -EOPNOTSUPP: the context speaks the RFC ABI.
 *  -ECHILD: @ctx is used in a child process after fork().
 *  -ENOMEM: out of memory.
 *  other: the kernel's errors for SESSION_RETRIEVE_FD while reading the
 *         record (the descriptor then stays as it was).
 *
 * Thread-safety: safe.
 *
 * See also: sd_listen_fds(3), systemd.service(5)
 */
int luo_session_from_fdstore(luo_ctx_t *ctx, const char *name,
			     luo_session_t **ret);

/**
 * luo_session_fdstore_push() - give a session to the service manager's
 * file descriptor store
 * @session: the session.
 * @name: the name to store it under (FDNAME=): 1 to 255 printable ASCII
 *        characters, no ':'.
 *
 * Sends "FDSTORE=1" and "FDNAME=@name" with the session's descriptor to
 * the socket named by $NOTIFY_SOCKET (a path, or an abstract name
 * starting with '@'), as sd_pid_notify_with_fds(3) does.  The service
 * manager then keeps the session across restarts of the service and, with
 * FileDescriptorStorePreserve=yes, across a live update; the service gets
 * it back with luo_session_from_fdstore().  The unit needs
 * FileDescriptorStoreMax= and a NotifyAccess= that lets this process
 * notify.  As after luo_session_send(), the handle may then be closed
 * without LUO_SESSION_CLOSE_FORCE.  The environment is read, not changed.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @session or @name is NULL, @name is not a valid
 *           descriptor name, or $NOTIFY_SOCKET is longer than a socket
 *           address holds.
 *  -ENXIO: $NOTIFY_SOCKET is not set.
 *  -EAFNOSUPPORT: $NOTIFY_SOCKET is not a UNIX socket address (vsock is
 *                 not supported).
 *  -ECONNREFUSED: nobody listens on the socket any more.
 *  -ENOENT: the socket's path does not exist.
 *  -ECHILD: @session is used in a child process after fork().
 *  other: the errors of socket() and sendmsg().
 *
 * Thread-safety: safe.
 *
 * See also: sd_notify(3)
 */
int luo_session_fdstore_push(luo_session_t *session, const char *name);

/**
 * DOC: Cleanup helpers
 *
 * For the cleanup attribute of gcc and clang (systemd's _cleanup_ style):
 *
 *     __attribute__((cleanup(luo_ctx_unrefp))) luo_ctx_t *ctx = NULL;
 *
 * Each takes a pointer to a handle and releases the handle if it is not
 * NULL.  There is none for sessions on purpose: closing a session may lose
 * preserved files, so luo_session_close() refuses (-EBUSY) unless told,
 * and a cleanup helper could neither report that nor choose for you.
 */

/**
 * luo_ctx_unrefp() - luo_ctx_unref() through a pointer, for cleanup
 * attributes
 * @ctx: pointer to a context handle, which may be NULL.
 *
 * Return: nothing.
 *
 * Errors: none.
 *
 * Thread-safety: as luo_ctx_unref().
 */
static inline void luo_ctx_unrefp(luo_ctx_t **ctx)
{
	if (*ctx)
		luo_ctx_unref(*ctx);
}

/**
 * luo_ctx_opts_freep() - luo_ctx_opts_free() through a pointer, for
 * cleanup attributes
 * @opts: pointer to an options handle, which may be NULL.
 *
 * Return: nothing.
 *
 * Errors: none.
 *
 * Thread-safety: as luo_ctx_opts_free().
 */
static inline void luo_ctx_opts_freep(luo_ctx_opts_t **opts)
{
	luo_ctx_opts_free(*opts);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBLUO_H */
