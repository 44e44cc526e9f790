/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every kernel request libluo issues, for both ABIs, built in one place
 * from the layouts of common/luo-abi.h and sent through a backend.  Each
 * returns 0 (or the request's result) or a negative errno and writes its
 * out-parameters only on success.  Inline: a request is the hot path, and
 * each call level costs (tests/unit/kernel-req.c pins the bytes).  No libluo lock is held by the callers
 * of these functions unless a comment at the call says why.
 */
#ifndef LUOI_KERNEL_REQ_H
#define LUOI_KERNEL_REQ_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "luo-abi.h"

static inline int luoi_req_ioctl(struct luo_backend *b, int fd,
				 unsigned long request, void *arg)
{
	return b->ops->ioctl(b, fd, request, arg);
}

static inline int luoi_req_session(struct luo_backend *b, int dev_fd,
				   unsigned long request, const char *name,
				   int *session_fd)
{
	struct luo_k_session_req req = { .size = sizeof(req), .fd = -1 };
	int r;

	memcpy(req.name, name, sizeof(req.name));
	req.name[sizeof(req.name) - 1] = '\0';
	r = luoi_req_ioctl(b, dev_fd, request, &req);
	if (r < 0)
		return r;
	*session_fd = req.fd;
	return 0;
}

/* @name: LUO_K_NAME_LEN bytes, the name NUL-padded (a session handle's
 * name field): copied whole. */
static inline int luoi_req_create_session(struct luo_backend *b, int dev_fd,
			    const char *name, int *session_fd)
{
	return luoi_req_session(b, dev_fd, LUO_K_CREATE_SESSION, name,
			       session_fd);
}

static inline int luoi_req_retrieve_session(struct luo_backend *b, int dev_fd,
			      const char *name, int *session_fd)
{
	return luoi_req_session(b, dev_fd, LUO_K_RETRIEVE_SESSION, name,
			       session_fd);
}

static inline int luoi_req_preserve_fd(struct luo_backend *b, int session_fd, int fd,
			 uint64_t token)
{
	struct luo_k_file_req req = {
		.size = sizeof(req), .fd = fd, .token = token
	};

	return luoi_req_ioctl(b, session_fd, LUO_K_SESSION_PRESERVE_FD, &req);
}

static inline int luoi_req_retrieve_fd(struct luo_backend *b, int session_fd,
			 uint64_t token, int *fd)
{
	struct luo_k_file_req req = {
		.size = sizeof(req), .fd = -1, .token = token
	};
	int r = luoi_req_ioctl(b, session_fd, LUO_K_SESSION_RETRIEVE_FD, &req);

	if (r < 0)
		return r;
	*fd = req.fd;
	return 0;
}

static inline int luoi_req_finish(struct luo_backend *b, int session_fd)
{
	struct luo_k_finish_req req = { .size = sizeof(req) };

	return luoi_req_ioctl(b, session_fd, LUO_K_SESSION_FINISH, &req);
}

static inline int luoi_req_get_name(struct luo_backend *b, int session_fd,
		      char name[LUO_K_NAME_LEN])
{
	struct luo_k_get_name_req req = { .size = sizeof(req) };
	int r = luoi_req_ioctl(b, session_fd, LUO_K_SESSION_GET_NAME, &req);

	if (r < 0)
		return r;
	memcpy(name, req.name, LUO_K_NAME_LEN);
	name[LUO_K_NAME_LEN - 1] = '\0';
	return 0;
}

/*
 * A RETRIEVE_SESSION whose size is below the minimum is refused before the
 * kernel looks at anything: EINVAL from a mainline kernel, ENOTTY from
 * anything else.  No side effect.
 */
static inline int luoi_req_probe_mainline(struct luo_backend *b, int dev_fd)
{
	struct luo_k_session_req req = { .size = sizeof(uint32_t) };

	return luoi_req_ioctl(b, dev_fd, LUO_K_RETRIEVE_SESSION, &req) == -EINVAL;
}

static inline int luoi_req_rfc_get_state(struct luo_backend *b, int dev_fd, int32_t *state)
{
	int32_t k = -1;
	int r = luoi_req_ioctl(b, dev_fd, LUO_K_RFC_GET_STATE, &k);

	if (r < 0)
		return r;
	*state = k;
	return 0;
}

static inline int luoi_req_rfc_preserve(struct luo_backend *b, int dev_fd, int fd,
			  uint64_t token)
{
	struct luo_k_rfc_fd req = { .fd = fd, .token = token };

	return luoi_req_ioctl(b, dev_fd, LUO_K_RFC_FD_PRESERVE, &req);
}

static inline int luoi_req_rfc_unpreserve(struct luo_backend *b, int dev_fd,
			    uint64_t token)
{
	uint64_t t = token;

	return luoi_req_ioctl(b, dev_fd, LUO_K_RFC_FD_UNPRESERVE, &t);
}

static inline int luoi_req_rfc_restore(struct luo_backend *b, int dev_fd, uint64_t token,
			 int *fd)
{
	struct luo_k_rfc_fd req = { .fd = -1, .token = token };
	int r = luoi_req_ioctl(b, dev_fd, LUO_K_RFC_FD_RESTORE, &req);

	if (r < 0)
		return r;
	*fd = req.fd;
	return 0;
}

static inline int luoi_req_rfc_prepare(struct luo_backend *b, int dev_fd)
{
	return luoi_req_ioctl(b, dev_fd, LUO_K_RFC_PREPARE, NULL);
}

static inline int luoi_req_rfc_cancel(struct luo_backend *b, int dev_fd)
{
	return luoi_req_ioctl(b, dev_fd, LUO_K_RFC_CANCEL, NULL);
}

static inline int luoi_req_rfc_finish(struct luo_backend *b, int dev_fd)
{
	return luoi_req_ioctl(b, dev_fd, LUO_K_RFC_FINISH, NULL);
}

#endif /* LUOI_KERNEL_REQ_H */
