/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two kernel ABIs of /dev/liveupdate, written from the facts of the
 * Linux 7.2 uapi (mainline) and of the June 2025 RFC series.  Private: the
 * public header must not depend on either, and Debian 12 ships no
 * <linux/liveupdate.h>.  Both the kernel backend and the fake kernel use
 * these definitions, so the fake is driven by the very bytes the real
 * kernel would see.
 */
#ifndef LIBLUO_LUO_ABI_H
#define LIBLUO_LUO_ABI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#define LUO_IOCTL_TYPE 0xBA
#define LUO_K_NAME_LEN 64 /* session name, NUL included */

/* ---- mainline ABI (Linux >= 6.19) ----------------------------------------
 * Requests carry no size or direction bits: _IO(0xBA, nr).  Each argument
 * starts with its own size; the kernel rejects a size below the end of the
 * last field it needs (EINVAL) and non-zero bytes beyond what it knows
 * (E2BIG), so a newer libluo stays compatible with an older kernel.
 */
#define LUO_K_CMD_CREATE_SESSION 0x00
#define LUO_K_CMD_RETRIEVE_SESSION 0x01
#define LUO_K_CMD_DEVICE_COUNT 2 /* requests on the device fd: 0x00..0x01 */

#define LUO_K_CMD_SESSION_BASE 0x40
#define LUO_K_CMD_SESSION_PRESERVE_FD 0x40
#define LUO_K_CMD_SESSION_RETRIEVE_FD 0x41
#define LUO_K_CMD_SESSION_FINISH 0x42
#define LUO_K_CMD_SESSION_GET_NAME 0x43
#define LUO_K_CMD_SESSION_COUNT 4 /* requests on a session fd: 0x40..0x43 */

#define LUO_K_CREATE_SESSION _IO(LUO_IOCTL_TYPE, LUO_K_CMD_CREATE_SESSION)
#define LUO_K_RETRIEVE_SESSION _IO(LUO_IOCTL_TYPE, LUO_K_CMD_RETRIEVE_SESSION)
#define LUO_K_SESSION_PRESERVE_FD _IO(LUO_IOCTL_TYPE, LUO_K_CMD_SESSION_PRESERVE_FD)
#define LUO_K_SESSION_RETRIEVE_FD _IO(LUO_IOCTL_TYPE, LUO_K_CMD_SESSION_RETRIEVE_FD)
#define LUO_K_SESSION_FINISH _IO(LUO_IOCTL_TYPE, LUO_K_CMD_SESSION_FINISH)
#define LUO_K_SESSION_GET_NAME _IO(LUO_IOCTL_TYPE, LUO_K_CMD_SESSION_GET_NAME)

/* CREATE_SESSION and RETRIEVE_SESSION share one layout. */
struct luo_k_session_req {
	uint32_t size;
	int32_t fd; /* out */
	uint8_t name[LUO_K_NAME_LEN];
};

/* SESSION_PRESERVE_FD (fd in) and SESSION_RETRIEVE_FD (fd out). */
struct luo_k_file_req {
	uint32_t size;
	int32_t fd;
	uint64_t token __attribute__((aligned(8)));
};

struct luo_k_finish_req {
	uint32_t size;
	uint32_t reserved; /* must be 0 */
};

struct luo_k_get_name_req {
	uint32_t size;
	uint32_t reserved; /* must be 0 */
	uint8_t name[LUO_K_NAME_LEN]; /* out */
};

/* offsetofend(): the minimum size the kernel accepts for a request. */
#define LUO_K_OFFSETOFEND(type, field) \
	(offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- RFC ABI (June 2025 series) ------------------------------------------
 * One global list of preserved files and a state machine, on the device fd.
 * Requests carry size and direction bits, which is why each ABI answers the
 * other's requests with ENOTTY or EINVAL: detection has no side effect.
 */
struct luo_k_rfc_fd {
	int32_t fd;
	uint32_t flags; /* must be 0 */
	uint64_t token __attribute__((aligned(8)));
};

#define LUO_K_RFC_FD_PRESERVE _IOW(LUO_IOCTL_TYPE, 0x00, struct luo_k_rfc_fd)
#define LUO_K_RFC_FD_UNPRESERVE _IOW(LUO_IOCTL_TYPE, 0x01, uint64_t)
#define LUO_K_RFC_FD_RESTORE _IOWR(LUO_IOCTL_TYPE, 0x02, struct luo_k_rfc_fd)
#define LUO_K_RFC_GET_STATE _IOR(LUO_IOCTL_TYPE, 0x03, int32_t) /* an enum */
#define LUO_K_RFC_PREPARE _IO(LUO_IOCTL_TYPE, 0x04)
#define LUO_K_RFC_CANCEL _IO(LUO_IOCTL_TYPE, 0x06)
#define LUO_K_RFC_FINISH _IO(LUO_IOCTL_TYPE, 0x07)

/* RFC states; the same numbers as enum luo_state. */
#define LUO_K_RFC_STATE_UNDEFINED 0
#define LUO_K_RFC_STATE_NORMAL 1
#define LUO_K_RFC_STATE_PREPARED 2
#define LUO_K_RFC_STATE_FROZEN 3
#define LUO_K_RFC_STATE_UPDATED 4

_Static_assert(sizeof(struct luo_k_session_req) == 72, "mainline ABI layout");
_Static_assert(sizeof(struct luo_k_file_req) == 16, "mainline ABI layout");
_Static_assert(sizeof(struct luo_k_finish_req) == 8, "mainline ABI layout");
_Static_assert(sizeof(struct luo_k_get_name_req) == 72, "mainline ABI layout");
_Static_assert(sizeof(struct luo_k_rfc_fd) == 16, "RFC ABI layout");

#endif /* LIBLUO_LUO_ABI_H */
