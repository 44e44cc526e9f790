/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo's in-memory fake kernel: libluo-fake.so.1 (pkg-config libluo-fake).
 *
 * The comments below are the reference documentation, in the convention
 * described at the top of doc/gen-man.py, which generates the man pages
 * from them (libluo-fake(3) and one page per function).
 */

/**
 * DOC: Overview
 *
 * A luo_fake_t behaves like /dev/liveupdate of Linux 7.2 (mainline ABI) or
 * like the June 2025 RFC ABI, with the kernel's error codes, so that libluo
 * and the programs built on it can be tested without root and without a
 * kernel that has the Live Update Orchestrator.  A context uses a fake when
 * its options name it (luo_ctx_opts_set_fake()); libluo then sends the fake
 * the same requests, with the same argument bytes, that it would send the
 * kernel:
 *
 *     luo_fake_t *fake;
 *     luo_ctx_opts_t *opts;
 *     luo_ctx_t *ctx;
 *
 *     luo_fake_new(LUO_ABI_MAINLINE, &fake);
 *     luo_ctx_opts_new(&opts);
 *     luo_ctx_opts_set_fake(opts, fake);
 *     luo_ctx_new(opts, &ctx);          // "boot 1": preserve things
 *     ...
 *     luo_fake_kexec(fake);             // simulated live update
 *     // release boot 1's sessions and context
 *     luo_ctx_new(opts, &ctx2);         // "boot 2": retrieve them
 *
 * examples/demo.c in the libluo sources does this with error handling.
 *
 * Descriptors the fake hands out (device, sessions) are real descriptors
 * (one end of a socket pair), so they can be duplicated, passed over
 * AF_UNIX sockets and closed like the kernel's; the fake notices their last
 * close the way the kernel does.  After luo_fake_kexec() they are dead:
 * requests on them fail with -ENODEV, and closing them is harmless.
 * Retrieved files are new memfds with the same bytes, size, file offset
 * and seals.
 *
 * Everything about a fake lives in its object: two fakes are two kernels.
 * A fake may be shared by several contexts in turn (one at a time holds its
 * device open, as with the kernel), in any threads of the process.
 */

/**
 * DOC: Conventions
 *
 * Every function of <libluo-fake.h> is thread-safe.  They return 0 (or a
 * count) or a negative errno value, and write out-parameters only on
 * success; a NULL fake fails with -EINVAL.  A fake cannot be used in a
 * forked child (its state stays with the parent): every call there fails
 * with -ECHILD.  Each descriptor the fake holds (a preserved file, a
 * session) is a real descriptor of the process, so a request can also fail
 * with -EMFILE or -ENFILE where the kernel would not.
 */
#ifndef LIBLUO_FAKE_H
#define LIBLUO_FAKE_H

#include <libluo.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Operations whose next call (or nth next call) can be made to fail
 * (luo_fake_inject_error(), luo_fake_inject_error_nth()), or slower
 * (luo_fake_set_latency()), and that luo_fake_op_count() counts.
 */
enum luo_fake_op {
	LUO_FAKE_OP_ALL = 0,           /**< every request (latency only) */
	LUO_FAKE_OP_OPEN = 1,          /**< open of the device */
	LUO_FAKE_OP_CREATE_SESSION,    /**< mainline CREATE_SESSION */
	LUO_FAKE_OP_RETRIEVE_SESSION,  /**< mainline RETRIEVE_SESSION */
	LUO_FAKE_OP_PRESERVE_FD,       /**< SESSION_PRESERVE_FD / RFC FD_PRESERVE */
	LUO_FAKE_OP_RETRIEVE_FD,       /**< SESSION_RETRIEVE_FD / RFC FD_RESTORE */
	LUO_FAKE_OP_FINISH,            /**< SESSION_FINISH / RFC FINISH */
	LUO_FAKE_OP_UNPRESERVE_FD,     /**< RFC FD_UNPRESERVE */
	LUO_FAKE_OP_PREPARE,           /**< RFC PREPARE */
	LUO_FAKE_OP_KEXEC,             /**< the freeze step of luo_fake_kexec() */
};

/**
 * DOC: Creating a fake kernel
 *
 * A fake is reference-counted: the options that name it and the contexts
 * created from them hold references of their own.
 */

/**
 * luo_fake_new() - create a fake kernel
 * @abi: LUO_ABI_MAINLINE (or LUO_ABI_AUTO, the same) or LUO_ABI_RFC.
 * @ret: where to store the new fake, which has one reference.
 *
 * The new fake kernel is booted normally: nothing is incoming.  Contexts
 * use it through luo_ctx_opts_set_fake().
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @ret is NULL, or @abi is not a value of enum luo_abi.
 *  -EMFILE: no descriptor left.
 *  -ENFILE: the system has no file left.
 *  -ENOMEM: out of memory.
 *
 * Thread-safety: safe.
 *
 * Example:
 *     luo_fake_t *fake;
 *     luo_ctx_opts_t *opts;
 *     luo_ctx_t *ctx;
 *
 *     luo_fake_new(LUO_ABI_MAINLINE, &fake);
 *     luo_ctx_opts_new(&opts);
 *     luo_ctx_opts_set_fake(opts, fake);
 *
 *     luo_ctx_new(opts, &ctx);       // boot 1: create sessions, preserve
 *     // ...
 *     luo_fake_kexec(fake);          // the simulated live update
 *     // release boot 1's sessions and context
 *     luo_ctx_new(opts, &ctx);       // boot 2: retrieve
 */
int luo_fake_new(enum luo_abi abi, luo_fake_t **ret);

/**
 * luo_fake_ref() - take a reference on a fake kernel
 * @fake: the fake, or NULL (passed through).
 *
 * Return: @fake.
 *
 * Errors: none.
 *
 * Thread-safety: safe (an atomic count).
 */
luo_fake_t *luo_fake_ref(luo_fake_t *fake);

/**
 * luo_fake_unref() - drop a reference on a fake kernel
 * @fake: the fake, or NULL (then nothing is done).
 *
 * The last reference frees the fake and closes every descriptor it holds.
 *
 * Return: NULL.
 *
 * Errors: none.
 *
 * Thread-safety: safe (an atomic count).
 */
luo_fake_t *luo_fake_unref(luo_fake_t *fake);

/**
 * DOC: Simulating a live update
 *
 * luo_fake_kexec() is the live update; the other functions make the fake
 * fail or slow down the way a kernel can.
 */

/**
 * luo_fake_kexec() - simulate a kexec reboot into a new kernel
 * @fake: the fake.
 *
 * Mainline ABI: outgoing sessions whose descriptor is still open somewhere
 * become incoming (with copies of their files); sessions closed before
 * count for nothing; incoming sessions not finished are discarded.  RFC
 * ABI: the preserved files are carried only from the PREPARED state, and
 * the new state is UPDATED; from any other state nothing is carried and
 * the new state is NORMAL.
 *
 * Every descriptor handed out before is dead afterwards (see
 * libluo-fake(3); closing it is harmless) and the device can be opened
 * again.  The process goes on, so the contexts and sessions of the old
 * "boot" must still be released.
 *
 * If the freeze fails (an error injected for LUO_FAKE_OP_KEXEC, or a
 * failure while copying the files) nothing changes and the error is
 * returned, like a failing reboot(LINUX_REBOOT_CMD_KEXEC).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *  -EIO: a preserved file could not be read.
 *  -EMFILE: no descriptor left for the copies of the files.
 *  -ENFILE: the system has no file left.
 *  -ENOMEM: out of memory.
 *  other: the error injected for LUO_FAKE_OP_KEXEC with
 *         luo_fake_inject_error().
 *
 * Thread-safety: safe.
 */
int luo_fake_kexec(luo_fake_t *fake);

/**
 * luo_fake_inject_error() - make the next request of a kind fail
 * @fake: the fake.
 * @op: the kind of request (enum luo_fake_op); not LUO_FAKE_OP_ALL.
 * @error: a positive errno value, up to 4095, or 0 to clear the error
 *         injected for @op.
 *
 * The next request of kind @op fails with -@error, once, before it changes
 * anything.  The error fires once the request passed the generic checks of
 * the kernel's dispatch (descriptor, request number, size, session
 * direction) and before the operation's own checks.  An error injected for
 * LUO_FAKE_OP_KEXEC makes luo_fake_kexec() change nothing and return it,
 * like a failing reboot().  The implicit finish of a released incoming
 * session is never failed by an injection.  This is
 * luo_fake_inject_error_nth() with an nth of 1, which can fail a later
 * request instead; an error injected by either replaces the one of @op
 * that has not fired yet.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL, @op is not an operation, or @error is outside
 *           0 to 4095.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_inject_error(luo_fake_t *fake, enum luo_fake_op op, int error);

/**
 * luo_fake_inject_error_nth() - make the nth next request of a kind fail
 * @fake: the fake.
 * @op: the kind of request (enum luo_fake_op); not LUO_FAKE_OP_ALL.
 * @error: a positive errno value, up to 4095, or 0 to clear the error
 *         injected for @op.
 * @nth: which of the next requests of kind @op fails: 1 is the next one
 *       (what luo_fake_inject_error() does), 2 the one after it, and so
 *       on; 0 clears the error injected for @op.
 *
 * As luo_fake_inject_error(), for a later occurrence: the requests of kind
 * @op before the @nth one are served normally, the @nth fails with
 * -@error, once, before it changes anything, and the ones after it are
 * served normally again.  Occurrences are counted where the error fires
 * (see luo_fake_inject_error() and luo_fake_op_count()): a request refused
 * by the generic checks of the dispatch is not one.  One error at a time
 * is injected per kind of request: a new call replaces the error of @op
 * that has not fired yet, whichever function injected it.  Together with
 * luo_fake_op_count(), a test can run a scenario once, count its requests,
 * and then fail each of them in turn.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL, @op is not an operation, or @error is outside
 *           0 to 4095.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.  With requests of kind @op made by several threads
 * at once, which of them is the @nth is the order in which they reach the
 * fake's lock.
 *
 * Example:
 *     int n, k;
 *
 *     // fail the 3rd preserve with EIO
 *     luo_fake_inject_error_nth(fake, LUO_FAKE_OP_PRESERVE_FD, EIO, 3);
 *
 *     // measure a scenario, then fail each of its preserves in turn
 *     run_scenario(fake);
 *     n = luo_fake_op_count(fake, LUO_FAKE_OP_PRESERVE_FD);
 *     for (k = 1; k <= n; k++) {
 *         // on a fresh fake:
 *         luo_fake_inject_error_nth(fake2, LUO_FAKE_OP_PRESERVE_FD, EIO, k);
 *         run_scenario(fake2);
 *     }
 */
int luo_fake_inject_error_nth(luo_fake_t *fake, enum luo_fake_op op, int error,
			      unsigned int nth);

/**
 * luo_fake_set_limits() - lower the kernel's limits
 * @fake: the fake.
 * @max_sessions: the most outgoing sessions the fake accepts, or 0 to keep
 *                the current value.
 * @max_files: the most files a session holds, or 0 to keep the current
 *             value.
 *
 * So that tests can reach the kernel's "no room" failures of
 * luo_session_create() and luo_session_preserve_fd() (mainline ABI; the
 * RFC list has no limit).  By default the fake uses the limits Linux 7.2
 * computes from the page size (with 4 KiB pages, 510000 sessions and
 * 630000 files per session).
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_set_limits(luo_fake_t *fake, unsigned int max_sessions,
			unsigned int max_files);

/** Flags for luo_fake_set_latency(). */
enum luo_fake_latency_flags {
	/**
	 * Busy-wait (on CLOCK_MONOTONIC) instead of sleeping, like a
	 * CPU-bound kernel path: the requesting thread keeps its CPU.
	 */
	LUO_FAKE_LATENCY_SPIN = 1u << 0,
};

/**
 * luo_fake_set_latency() - make the requests of a kind slower
 * @fake: the fake.
 * @op: LUO_FAKE_OP_ALL (every request the fake serves: the open of the
 *      device and every ioctl) or one kind of request; LUO_FAKE_OP_KEXEC
 *      slows luo_fake_kexec() down (LUO_FAKE_OP_ALL does not).
 * @usec: the extra time of each request, in microseconds; 0 removes the
 *        latency of @op.
 * @flags: 0 (sleep) or LUO_FAKE_LATENCY_SPIN (busy-wait), of enum
 *         luo_fake_latency_flags.
 *
 * Every later request of kind @op takes at least @usec microseconds more,
 * to benchmark parallel sessions (a kernel pinning a large memfd makes a
 * request slow).  A request slowed both by LUO_FAKE_OP_ALL and by its own
 * @op takes the sum.
 *
 * The time is spent after the request passed the generic dispatch checks
 * (descriptor, number, size, E2BIG, session direction; a request failing
 * them takes no extra time) and before its handler (and any injected
 * error), without the fake's lock: requests on other sessions proceed
 * meanwhile, as in the kernel, where each session has its own mutex.  A
 * descriptor made dead by a luo_fake_kexec() meanwhile fails the request
 * with ENODEV; one whose last copy another thread closed meanwhile, with
 * EBADF.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL, @op is out of range, or @flags has unknown
 *           bits.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe; takes effect for the requests that start
 * afterwards.
 */
int luo_fake_set_latency(luo_fake_t *fake, enum luo_fake_op op,
			 unsigned int usec, unsigned int flags);

/**
 * DOC: Inspecting a fake kernel
 *
 * What the fake kernel holds right now, for tests to compare with what
 * libluo reports.
 */

/**
 * luo_fake_get_boot() - how many kexecs a fake kernel went through
 * @fake: the fake.
 *
 * Return: the number of successful luo_fake_kexec() calls (0 or more) on
 * success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_get_boot(luo_fake_t *fake);

/**
 * luo_fake_op_count() - how many requests of a kind a fake kernel took
 * @fake: the fake.
 * @op: the kind of request (enum luo_fake_op), or LUO_FAKE_OP_ALL for the
 *      sum over every kind.
 *
 * Counts the requests of kind @op made since the fake was created that
 * reached the point where an injected error fires (see
 * luo_fake_inject_error()): those that passed the generic checks of the
 * dispatch (descriptor, request number, size, session direction),
 * whether they then succeeded or failed, an injected error included.  An
 * open of the device refused because it is held (EBUSY) is not counted,
 * nor is the implicit finish of a released incoming session.  For
 * LUO_FAKE_OP_KEXEC it counts the calls of luo_fake_kexec(); for
 * LUO_FAKE_OP_FINISH, on the RFC ABI, FINISH requests, and on the mainline
 * ABI, SESSION_FINISH requests.  luo_fake_inject_error_nth() counts the
 * same requests: after an injection made when the count of @op was c, the
 * request that brings it to c + nth fails.
 *
 * Return: the number of requests (0 or more, at most INT_MAX, where the
 * count stops) on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL, or @op is not a value of enum luo_fake_op.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_op_count(luo_fake_t *fake, enum luo_fake_op op);

/**
 * Callback for luo_fake_foreach_file(): one preserved file.  @session is the
 * session's name (NULL on the RFC ABI), @dir its direction (RFC:
 * LUO_SESSION_OUTGOING before the kexec, LUO_SESSION_INCOMING after it).
 * Return non-zero to stop.  It runs without the fake's lock, so it may
 * call libluo and the fake.
 */
typedef int (*luo_fake_file_fn)(const char *session,
				enum luo_session_direction dir,
				uint64_t token, void *userdata);

/**
 * luo_fake_foreach_file() - call a function for every file a fake kernel
 * holds
 * @fake: the fake.
 * @fn: called with each file's session name, direction and token and
 *      @userdata, in no particular order; a non-zero return stops.
 * @userdata: passed to @fn.
 *
 * The files are those the fake holds right now, outgoing and incoming.
 * The callback runs on a snapshot, without the fake's lock, so it may call
 * libluo and the fake.
 *
 * Return: 0, the first non-zero value returned by @fn, or a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @fake or @fn is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *  -ENOMEM: out of memory for the snapshot.
 *
 * Thread-safety: safe.
 */
int luo_fake_foreach_file(luo_fake_t *fake, luo_fake_file_fn fn,
			  void *userdata);

/**
 * luo_fake_session_count() - how many live sessions of a direction a fake
 * kernel holds
 * @fake: the fake.
 * @dir: LUO_SESSION_OUTGOING or LUO_SESSION_INCOMING.
 *
 * Sessions exist on the mainline ABI only: on the RFC ABI the count is 0.
 *
 * Return: the number of sessions (0 or more) on success, a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL, or @dir is not a direction.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_session_count(luo_fake_t *fake, enum luo_session_direction dir);

/**
 * luo_fake_file_count() - how many files a fake kernel holds
 * @fake: the fake.
 *
 * Counts the files of all sessions together (mainline ABI) or of the RFC
 * list, outgoing and incoming.
 *
 * Return: the number of files (0 or more) on success, a negative errno
 * value on failure.
 *
 * Errors:
 *  -EINVAL: @fake is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_file_count(luo_fake_t *fake);

/**
 * luo_fake_get_state() - the state of a fake kernel's RFC state machine
 * @fake: the fake.
 * @state: where to store the state; on the mainline ABI, which has no
 *         state machine, always LUO_STATE_NORMAL.
 *
 * Return: 0 on success, a negative errno value on failure.
 *
 * Errors:
 *  -EINVAL: @fake or @state is NULL.
 *  -ECHILD: @fake is used in a child process after fork().
 *
 * Thread-safety: safe.
 */
int luo_fake_get_state(luo_fake_t *fake, enum luo_state *state);

/**
 * luo_fake_unrefp() - luo_fake_unref() through a pointer, for cleanup
 * attributes
 * @fake: pointer to a fake handle, which may be NULL.
 *
 * For __attribute__((cleanup(luo_fake_unrefp))) luo_fake_t *fake = NULL;
 *
 * Return: nothing.
 *
 * Errors: none.
 *
 * Thread-safety: as luo_fake_unref().
 */
static inline void luo_fake_unrefp(luo_fake_t **fake)
{
	if (*fake)
		luo_fake_unref(*fake);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBLUO_FAKE_H */
