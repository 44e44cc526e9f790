/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo's in-memory fake kernel.
 *
 * A luo_fake_t behaves like /dev/liveupdate of Linux 7.2 (mainline ABI) or
 * like the June 2025 RFC ABI, with the kernel's error codes, so that libluo
 * and the daemons built on it can be tested without root or a LUO kernel:
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
 *     luo_ctx_new(opts, &ctx2);         // "boot 2": retrieve them
 *
 * Descriptors the fake hands out (device, sessions) are real descriptors
 * (one end of a socketpair) so they can be dup()ed, passed over UNIX
 * sockets and closed like the kernel's; the fake notices the last close the
 * way the kernel does.  Retrieved files are new memfds with the same bytes,
 * size, file offset and seals.
 *
 * Everything about a fake lives in its object: two fakes are two kernels.
 * All functions are thread-safe.  They return 0 (or a count) or a negative
 * errno, and write out-parameters only on success.  A fake cannot be used
 * in a forked child (its state stays with the parent): every call there
 * fails with -ECHILD.  Each descriptor the fake holds (a preserved file, a
 * session) is a real descriptor of the process, so a request can also fail
 * with -EMFILE or -ENFILE where the kernel would not.
 */
#ifndef LIBLUO_FAKE_H
#define LIBLUO_FAKE_H

#include <libluo.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Operations whose next call can be made to fail (luo_fake_inject_error). */
enum luo_fake_op {
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
 * luo_fake_new() - a fresh fake kernel, booted normally (nothing incoming).
 * @abi: LUO_ABI_MAINLINE (or LUO_ABI_AUTO, the same) or LUO_ABI_RFC.
 *
 * Errors: -EINVAL, -ENOMEM.
 */
int luo_fake_new(enum luo_abi abi, luo_fake_t **ret);

/** luo_fake_ref() - take a reference; returns @fake (NULL passes through). */
luo_fake_t *luo_fake_ref(luo_fake_t *fake);

/** luo_fake_unref() - drop a reference; the last one frees the fake and
 *  closes every descriptor it holds.  Returns NULL; NULL is a no-op. */
luo_fake_t *luo_fake_unref(luo_fake_t *fake);

/**
 * luo_fake_kexec() - simulate a kexec reboot into a new kernel.
 *
 * Mainline: outgoing sessions whose descriptor is still open somewhere
 * become incoming (with copies of their files); sessions closed before
 * count for nothing; incoming sessions not finished are discarded.  RFC:
 * carries the preserved files only when the state is PREPARED, and ends in
 * UPDATED (otherwise NORMAL, nothing carried).  Every descriptor handed out
 * before is dead afterwards (its requests fail -ENODEV; closing it is
 * harmless) and the device can be opened again.
 *
 * If the freeze fails (an injected LUO_FAKE_OP_KEXEC error) nothing changes
 * and the error is returned, like a failing reboot(LINUX_REBOOT_CMD_KEXEC).
 * Errors: -EINVAL, -ENOMEM, -EIO (a preserved file could not be read).
 */
int luo_fake_kexec(luo_fake_t *fake);

/**
 * luo_fake_inject_error() - make the next @op fail with -@error (a positive
 * errno), once, before it changes anything.  error == 0 clears it.
 *
 * Errors: -EINVAL.
 */
int luo_fake_inject_error(luo_fake_t *fake, enum luo_fake_op op, int error);

/**
 * luo_fake_set_limits() - lower the kernel's limits so that tests can reach
 * -ENOSPC: at most @max_sessions outgoing sessions and @max_files files per
 * session.  0 keeps the current value.  By default the fake uses Linux
 * 7.2's limits for the page size (with 4 KiB pages: 510000 sessions,
 * 630000 files per session).
 *
 * Errors: -EINVAL, -ECHILD.
 */
int luo_fake_set_limits(luo_fake_t *fake, unsigned int max_sessions,
			unsigned int max_files);

/** luo_fake_get_boot() - how many kexecs the fake went through (>= 0). */
int luo_fake_get_boot(luo_fake_t *fake);

/**
 * Callback for luo_fake_foreach_file(): one preserved file.  @session is the
 * session's name (NULL on the RFC ABI), @dir its direction (RFC: OUTGOING
 * before the kexec, INCOMING after it).  Return non-zero to stop.
 */
typedef int (*luo_fake_file_fn)(const char *session,
				enum luo_session_direction dir,
				uint64_t token, void *userdata);

/**
 * luo_fake_foreach_file() - every file the fake kernel holds right now, in
 * no particular order (the callback runs on a snapshot, without the fake's
 * lock).  Returns 0 or the first non-zero callback value.
 * Errors: -EINVAL, -ENOMEM.
 */
int luo_fake_foreach_file(luo_fake_t *fake, luo_fake_file_fn fn,
			  void *userdata);

/** luo_fake_session_count() - number of live sessions of direction @dir
 *  (mainline; 0 on RFC).  Errors: -EINVAL. */
int luo_fake_session_count(luo_fake_t *fake, enum luo_session_direction dir);

/** luo_fake_file_count() - number of files held, all sessions together
 *  (or in the RFC list).  Errors: -EINVAL. */
int luo_fake_file_count(luo_fake_t *fake);

/** luo_fake_get_state() - the RFC state machine's state (mainline: NORMAL).
 *  Errors: -EINVAL. */
int luo_fake_get_state(luo_fake_t *fake, enum luo_state *state);

#ifdef __cplusplus
}
#endif

#endif /* LIBLUO_FAKE_H */
