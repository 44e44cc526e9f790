/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every kernel request libluo issues, for both ABIs, built in one place
 * from the layouts of common/luo-abi.h and sent through a backend.  Each
 * returns 0 (or the request's result) or a negative errno and writes its
 * out-parameters only on success.  No libluo lock is held by the callers
 * of these functions unless a comment at the call says why.
 */
#ifndef LUOI_KERNEL_REQ_H
#define LUOI_KERNEL_REQ_H

#include <stdint.h>

#include "backend.h"
#include "luo-abi.h"

/* mainline, on the device */
int luoi_req_create_session(struct luo_backend *b, int dev_fd,
			    const char *name, int *session_fd);
int luoi_req_retrieve_session(struct luo_backend *b, int dev_fd,
			      const char *name, int *session_fd);

/* mainline, on a session */
int luoi_req_preserve_fd(struct luo_backend *b, int session_fd, int fd,
			 uint64_t token);
int luoi_req_retrieve_fd(struct luo_backend *b, int session_fd,
			 uint64_t token, int *fd);
int luoi_req_finish(struct luo_backend *b, int session_fd);
int luoi_req_get_name(struct luo_backend *b, int session_fd,
		      char name[LUO_K_NAME_LEN]);

/* mainline ABI detection: true if @dev_fd answers like a mainline device */
int luoi_req_probe_mainline(struct luo_backend *b, int dev_fd);

/* RFC, on the device */
int luoi_req_rfc_get_state(struct luo_backend *b, int dev_fd, int32_t *state);
int luoi_req_rfc_preserve(struct luo_backend *b, int dev_fd, int fd,
			  uint64_t token);
int luoi_req_rfc_unpreserve(struct luo_backend *b, int dev_fd,
			    uint64_t token);
int luoi_req_rfc_restore(struct luo_backend *b, int dev_fd, uint64_t token,
			 int *fd);
int luoi_req_rfc_prepare(struct luo_backend *b, int dev_fd);
int luoi_req_rfc_cancel(struct luo_backend *b, int dev_fd);
int luoi_req_rfc_finish(struct luo_backend *b, int dev_fd);

#endif /* LUOI_KERNEL_REQ_H */
