/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenarios of the fault suite: what daemons and luoctl do with libluo
 * around a live update, on the fake kernel.  Each runs under every failure
 * of a fake request (kind x position x errno) and, outside sanitizer
 * builds, of every allocation libluo makes (fault.h, runner.c).
 */
#include "fault.h"
#include "harness.h"

#define S(n, f, ...) { .name = n, .fn = f, __VA_ARGS__ }

/* (a) Sessions: create two, preserve ten memfds (eight in one session, more
 * than a session's inline token slots hold), kexec, retrieve both (nine of
 * the files; the tenth is discarded by the finish), finish, close. */
static const struct fstep sessions_steps[] = {
	S("luo_ctx_new", fst_ctx_new, .a = 0),
	S("luo_session_create a", fst_create, .a = 0, .b = 0, .str = "fault.a"),
	S("luo_session_create b", fst_create, .a = 1, .b = 0, .str = "fault.b"),
	S("luo_session_get_fd a", fst_get_fd, .a = 0),
	S("luo_session_preserve_fd a/1", fst_preserve, .a = 0, .b = 0, .token = 1),
	S("luo_session_preserve_fd a/2", fst_preserve, .a = 0, .b = 1, .token = 2),
	S("luo_session_preserve_fd a/3", fst_preserve, .a = 0, .b = 2, .token = 3),
	S("luo_session_preserve_fd a/4", fst_preserve, .a = 0, .b = 3, .token = 4),
	S("luo_session_preserve_fd a/5", fst_preserve, .a = 0, .b = 4, .token = 5),
	S("luo_session_preserve_fd a/6", fst_preserve, .a = 0, .b = 5, .token = 6),
	S("luo_session_preserve_fd a/7", fst_preserve, .a = 0, .b = 6, .token = 7),
	S("luo_session_preserve_fd a/8", fst_preserve, .a = 0, .b = 7, .token = 8),
	S("luo_session_preserve_fd b/10", fst_preserve, .a = 1, .b = 8, .token = 10),
	S("luo_session_preserve_fd b/11", fst_preserve, .a = 1, .b = 9, .token = 11),
	S("luo_fake_kexec", fst_kexec),
	S("luo_session_close a (old boot)", fst_close, .a = 0),
	S("luo_session_close b (old boot)", fst_close, .a = 1),
	S("luo_ctx_unref (old boot)", fst_ctx_unref, .a = 0),
	S("luo_ctx_new (boot 2)", fst_ctx_new, .a = 0),
	S("luo_session_retrieve a", fst_retrieve, .a = 0, .b = 0, .str = "fault.a"),
	S("luo_session_retrieve b", fst_retrieve, .a = 1, .b = 0, .str = "fault.b"),
	S("luo_session_retrieve_fd a/1", fst_retrieve_fd, .a = 0, .b = 0, .token = 1),
	S("luo_session_retrieve_fd a/2", fst_retrieve_fd, .a = 0, .b = 1, .token = 2),
	S("luo_session_retrieve_fd a/3", fst_retrieve_fd, .a = 0, .b = 2, .token = 3),
	S("luo_session_retrieve_fd a/4", fst_retrieve_fd, .a = 0, .b = 3, .token = 4),
	S("luo_session_retrieve_fd a/5", fst_retrieve_fd, .a = 0, .b = 4, .token = 5),
	S("luo_session_retrieve_fd a/6", fst_retrieve_fd, .a = 0, .b = 5, .token = 6),
	S("luo_session_retrieve_fd a/7", fst_retrieve_fd, .a = 0, .b = 6, .token = 7),
	S("luo_session_retrieve_fd a/8", fst_retrieve_fd, .a = 0, .b = 7, .token = 8),
	S("luo_session_retrieve_fd b/10", fst_retrieve_fd, .a = 1, .b = 8, .token = 10),
	S("luo_session_finish a", fst_finish, .a = 0),
	S("luo_session_finish b", fst_finish, .a = 1),
	S("luo_session_close a", fst_close, .a = 0),
	S("luo_session_close b", fst_close, .a = 1),
	S("luo_ctx_unref", fst_ctx_unref, .a = 0),
};

static const struct fscenario sessions = {
	"sessions", LUO_ABI_MAINLINE, FSC_STEPS(sessions_steps),
	.compat_ctx = -1, .check_each_step = true,
};

/* (b) The original API: preserve nine tokens (more than the 7 a table
 * holds before it grows), unpreserve one, prepare, cancel, prepare, kexec,
 * get_state, restore three, finish (which discards the five others).  Its checks may load
 * the previous kernel's manifest (mainline): only at two points, so that
 * the steps meet every request themselves. */
static const struct fstep compat_steps[] = {
	S("luo_ctx_new", fst_ctx_new, .a = 0),
	S("luo_fd_preserve 0x100", fst_fd_preserve, .a = 0, .b = 0, .token = 0x100),
	S("luo_fd_preserve 0x101", fst_fd_preserve, .a = 0, .b = 1, .token = 0x101),
	S("luo_fd_preserve 0x102", fst_fd_preserve, .a = 0, .b = 2, .token = 0x102),
	S("luo_fd_preserve 0x103", fst_fd_preserve, .a = 0, .b = 3, .token = 0x103),
	S("luo_fd_preserve 0x104", fst_fd_preserve, .a = 0, .b = 4, .token = 0x104),
	S("luo_fd_preserve 0x105", fst_fd_preserve, .a = 0, .b = 5, .token = 0x105),
	S("luo_fd_preserve 0x106", fst_fd_preserve, .a = 0, .b = 6, .token = 0x106),
	S("luo_fd_preserve 0x107", fst_fd_preserve, .a = 0, .b = 7, .token = 0x107),
	S("luo_fd_preserve 0x108", fst_fd_preserve, .a = 0, .b = 8, .token = 0x108),
	S("luo_fd_unpreserve 0x108", fst_fd_unpreserve, .a = 0, .token = 0x108),
	S("luo_prepare", fst_prepare, .a = 0),
	S("luo_cancel", fst_cancel, .a = 0),
	S("luo_prepare (again)", fst_prepare, .a = 0, .check = true),
	S("luo_fake_kexec", fst_kexec),
	S("luo_ctx_unref (old boot)", fst_ctx_unref, .a = 0),
	S("luo_ctx_new (boot 2)", fst_ctx_new, .a = 0),
	S("luo_get_state: updated", fst_get_state, .a = 0,
	  .b = LUO_STATE_UPDATED, .c = LUO_STATE_UPDATED),
	S("luo_fd_restore 0x100", fst_fd_restore, .a = 0, .b = 0, .token = 0x100),
	S("luo_fd_restore 0x101", fst_fd_restore, .a = 0, .b = 1, .token = 0x101),
	S("luo_fd_restore 0x107", fst_fd_restore, .a = 0, .b = 7, .token = 0x107),
	S("luo_finish", fst_luo_finish, .a = 0),
	S("luo_get_state: normal", fst_get_state, .a = 0,
	  .b = LUO_STATE_NORMAL, .c = LUO_STATE_NORMAL, .check = true),
	S("luo_ctx_unref", fst_ctx_unref, .a = 0),
};

static const struct fscenario compat_mainline = {
	"compat", LUO_ABI_MAINLINE, FSC_STEPS(compat_steps),
	.compat_ctx = 0,
};

static const struct fscenario compat_rfc = {
	"compat", LUO_ABI_RFC, FSC_STEPS(compat_steps),
	.compat_ctx = 0,
};

/* (c) A session handed from the context that holds the device to one
 * without it (luo_session_send(), luo_session_recv()), which preserves one
 * more file; kexec; retrieve everything. */
static const struct fstep sendrecv_steps[] = {
	S("luo_ctx_new A", fst_ctx_new, .a = 0),
	S("luo_ctx_new B (no device)", fst_ctx_new, .a = 1, .b = 1),
	S("luo_session_create sr", fst_create, .a = 0, .b = 0, .str = "fault.sr"),
	S("luo_session_preserve_fd sr/1", fst_preserve, .a = 0, .b = 0, .token = 1),
	S("luo_session_preserve_fd sr/2", fst_preserve, .a = 0, .b = 1, .token = 2),
	S("luo_session_send", fst_send, .a = 0),
	S("luo_session_close (sent)", fst_close, .a = 0),
	S("luo_session_recv (B)", fst_recv, .a = 1, .b = 1, .str = "fault.sr"),
	S("luo_session_preserve_fd sr/3 (B)", fst_preserve, .a = 1, .b = 2, .token = 3),
	S("luo_fake_kexec", fst_kexec),
	S("luo_session_close (B, old boot)", fst_close, .a = 1),
	S("luo_ctx_unref A (old boot)", fst_ctx_unref, .a = 0),
	S("luo_ctx_unref B (old boot)", fst_ctx_unref, .a = 1),
	S("luo_ctx_new (boot 2)", fst_ctx_new, .a = 0),
	S("luo_session_retrieve sr", fst_retrieve, .a = 0, .b = 0, .str = "fault.sr"),
	S("luo_session_retrieve_fd sr/1", fst_retrieve_fd, .a = 0, .b = 0, .token = 1),
	S("luo_session_retrieve_fd sr/2", fst_retrieve_fd, .a = 0, .b = 1, .token = 2),
	S("luo_session_retrieve_fd sr/3", fst_retrieve_fd, .a = 0, .b = 2, .token = 3),
	S("luo_session_finish sr", fst_finish, .a = 0),
	S("luo_session_close sr", fst_close, .a = 0),
	S("luo_ctx_unref", fst_ctx_unref, .a = 0),
};

static const struct fscenario sendrecv = {
	"sendrecv", LUO_ABI_MAINLINE, FSC_STEPS(sendrecv_steps),
	.compat_ctx = -1, .check_each_step = true,
};

/* (d) luoctl hold: create the session, let go of the device (another
 * program opens it meanwhile), preserve files, kexec, retrieve. */
static const struct fstep hold_steps[] = {
	S("luo_ctx_new", fst_ctx_new, .a = 0),
	S("luo_session_create hold", fst_create, .a = 0, .b = 0, .str = "fault.hold"),
	S("luo_ctx_close_device", fst_close_device, .a = 0),
	S("luo_ctx_new (another program)", fst_ctx_new, .a = 1),
	S("luo_get_state (another program)", fst_get_state, .a = 1,
	  .b = LUO_STATE_NORMAL, .c = LUO_STATE_NORMAL),
	S("luo_ctx_unref (another program)", fst_ctx_unref, .a = 1),
	S("luo_session_preserve_fd hold/1", fst_preserve, .a = 0, .b = 0, .token = 1),
	S("luo_session_preserve_fd hold/2", fst_preserve, .a = 0, .b = 1, .token = 2),
	S("luo_session_preserve_fd hold/3", fst_preserve, .a = 0, .b = 2, .token = 3),
	S("luo_fake_kexec", fst_kexec),
	S("luo_session_close (old boot)", fst_close, .a = 0),
	S("luo_ctx_unref (old boot)", fst_ctx_unref, .a = 0),
	S("luo_ctx_new (boot 2)", fst_ctx_new, .a = 0),
	S("luo_session_retrieve hold", fst_retrieve, .a = 0, .b = 0, .str = "fault.hold"),
	S("luo_session_retrieve_fd hold/1", fst_retrieve_fd, .a = 0, .b = 0, .token = 1),
	S("luo_session_retrieve_fd hold/2", fst_retrieve_fd, .a = 0, .b = 1, .token = 2),
	S("luo_session_retrieve_fd hold/3", fst_retrieve_fd, .a = 0, .b = 2, .token = 3),
	S("luo_session_finish hold", fst_finish, .a = 0),
	S("luo_session_close hold", fst_close, .a = 0),
	S("luo_ctx_unref", fst_ctx_unref, .a = 0),
};

static const struct fscenario hold = {
	"hold", LUO_ABI_MAINLINE, FSC_STEPS(hold_steps),
	.compat_ctx = -1, .check_each_step = true,
};

/* (d') The same with the original API: preserve, prepare, let go of the
 * device (another program opens it and asks the state), kexec, count the
 * tokens (which loads the manifest), restore, finish. */
static const struct fstep hold_compat_steps[] = {
	S("luo_ctx_new", fst_ctx_new, .a = 0),
	S("luo_fd_preserve 0x200", fst_fd_preserve, .a = 0, .b = 0, .token = 0x200),
	S("luo_fd_preserve 0x201", fst_fd_preserve, .a = 0, .b = 1, .token = 0x201),
	S("luo_prepare", fst_prepare, .a = 0),
	S("luo_ctx_close_device", fst_close_device, .a = 0, .check = true),
	S("luo_ctx_new (another program)", fst_ctx_new, .a = 1),
	/* the state is the process's own on the mainline ABI, the
	 * kernel's on the RFC ABI */
	S("luo_get_state (another program)", fst_get_state, .a = 1,
	  .b = LUO_STATE_NORMAL, .c = LUO_STATE_PREPARED),
	S("luo_ctx_unref (another program)", fst_ctx_unref, .a = 1),
	S("luo_fake_kexec", fst_kexec),
	S("luo_ctx_unref (old boot)", fst_ctx_unref, .a = 0),
	S("luo_ctx_new (boot 2)", fst_ctx_new, .a = 0),
	/* mainline: the first call loads the manifest, and lists its
	 * tokens; the RFC kernel lists none */
	S("luo_token_count", fst_token_count, .a = 0, .b = 2, .c = 0),
	S("luo_get_state: updated", fst_get_state, .a = 0,
	  .b = LUO_STATE_UPDATED, .c = LUO_STATE_UPDATED),
	S("luo_fd_restore 0x200", fst_fd_restore, .a = 0, .b = 0, .token = 0x200),
	S("luo_fd_restore 0x201", fst_fd_restore, .a = 0, .b = 1, .token = 0x201),
	S("luo_finish", fst_luo_finish, .a = 0),
	S("luo_get_state: normal", fst_get_state, .a = 0,
	  .b = LUO_STATE_NORMAL, .c = LUO_STATE_NORMAL, .check = true),
	S("luo_ctx_unref", fst_ctx_unref, .a = 0),
};

static const struct fscenario hold_compat_mainline = {
	"hold_compat", LUO_ABI_MAINLINE, FSC_STEPS(hold_compat_steps),
	.compat_ctx = 0,
};

static const struct fscenario hold_compat_rfc = {
	"hold_compat", LUO_ABI_RFC, FSC_STEPS(hold_compat_steps),
	.compat_ctx = 0,
};

/* ---- the tests: one per scenario, ABI and kind of failure --------------- */

#define FAULT_TESTS(name, sc)                                           \
	TEST(fault, name##_requests, .timeout = 600)                    \
	{                                                               \
		fault_run(&sc, FK_OPS);                                 \
	}                                                               \
	TEST(fault, name##_allocations, .timeout = 600)                 \
	{                                                               \
		fault_run(&sc, FK_ALLOC);                               \
	}

FAULT_TESTS(sessions_mainline, sessions)
FAULT_TESTS(compat_mainline, compat_mainline)
FAULT_TESTS(compat_rfc, compat_rfc)
FAULT_TESTS(sendrecv_mainline, sendrecv)
FAULT_TESTS(hold_mainline, hold)
FAULT_TESTS(hold_compat_mainline, hold_compat_mainline)
FAULT_TESTS(hold_compat_rfc, hold_compat_rfc)
