/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RFC ABI (the fake's reading of the June 2025 series; see "The RFC
 * ABI" in fake/README.md): one global list of preserved files and a state
 * machine, on the device descriptor.  As on the mainline side, a request
 * is taken in steps (dispatch.c): luoi_fake_rfc_dispatch() recognises it
 * and reads its argument, luoi_fake_rfc_prepare() looks at the file to
 * preserve, luoi_fake_rfc_run() (with the lock) fires the injected error
 * and does the rest, luoi_fake_rfc_finish() writes GET_STATE's answer.
 * FD_RESTORE replies under the lock: the restored file leaves the list
 * only if the reply was written.
 */
#include <errno.h>
#include <stdint.h>

#include "fake-private.h"

int luoi_fake_rfc_dispatch(struct luo_fake *f, struct fake_req *req)
{
	switch (req->cmd) {
	case LUO_K_RFC_FD_PRESERVE:
		req->op = LUO_FAKE_OP_PRESERVE_FD;
		return luoi_fake_uread(f, &req->u.rfc_fd, req->arg,
				       sizeof(req->u.rfc_fd));
	case LUO_K_RFC_FD_UNPRESERVE:
		req->op = LUO_FAKE_OP_UNPRESERVE_FD;
		return luoi_fake_uread(f, &req->u.rfc_token, req->arg,
				       sizeof(req->u.rfc_token));
	case LUO_K_RFC_FD_RESTORE:
		req->op = LUO_FAKE_OP_RETRIEVE_FD;
		return luoi_fake_uread(f, &req->u.rfc_fd, req->arg,
				       sizeof(req->u.rfc_fd));
	case LUO_K_RFC_GET_STATE:
	case LUO_K_RFC_CANCEL:
		req->op = 0;
		return 0;
	case LUO_K_RFC_PREPARE:
		req->op = LUO_FAKE_OP_PREPARE;
		return 0;
	case LUO_K_RFC_FINISH:
		req->op = LUO_FAKE_OP_FINISH;
		return 0;
	}
	return -ENOTTY;
}

static int rfc_preserve(struct luo_fake *f, struct fake_req *req)
{
	const struct luo_k_rfc_fd *a = &req->u.rfc_fd;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_PRESERVE_FD);
	if (r)
		return r;
	if (f->rfc_state != LUO_K_RFC_STATE_NORMAL &&
	    f->rfc_state != LUO_K_RFC_STATE_UPDATED)
		return -EBUSY;
	if (a->flags)
		return -EINVAL;
	return luoi_fake_preserve_commit(f, f->rfc_out, &req->prep.file,
					 a->token, UINT64_MAX);
}

static int rfc_unpreserve(struct luo_fake *f, struct fake_req *req)
{
	struct ffile *file;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_UNPRESERVE_FD);
	if (r)
		return r;
	if (f->rfc_state != LUO_K_RFC_STATE_NORMAL)
		return -EBUSY;
	file = luoi_fake_session_find(f->rfc_out, req->u.rfc_token);
	if (!file)
		return -ENOENT;
	luoi_fake_file_remove(f, file, true);
	return 0;
}

static int rfc_restore(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_rfc_fd *a = &req->u.rfc_fd;
	struct ffile *file;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_RETRIEVE_FD);
	if (r)
		return r;
	if (f->rfc_state != LUO_K_RFC_STATE_UPDATED)
		return -EBUSY;
	file = luoi_fake_session_find(f->rfc_in, a->token);
	if (!file)
		return -ENOENT;
	/* the restored memfd (O_CLOEXEC) becomes the caller's */
	a->fd = file->fd;
	r = luoi_fake_uwrite(f, req->arg, a, sizeof(*a));
	if (r)
		return r;
	luoi_fake_file_remove(f, file, false);
	return 0;
}

int luoi_fake_rfc_run(struct luo_fake *f, struct fake_req *req)
{
	int r;

	switch (req->cmd) {
	case LUO_K_RFC_FD_PRESERVE:
		return rfc_preserve(f, req);

	case LUO_K_RFC_FD_UNPRESERVE:
		return rfc_unpreserve(f, req);

	case LUO_K_RFC_FD_RESTORE:
		return rfc_restore(f, req);

	case LUO_K_RFC_GET_STATE:
		req->u.rfc_state = f->rfc_state;
		req->respond = true;
		return 0;

	case LUO_K_RFC_PREPARE:
		r = luoi_fake_take_injected(f, LUO_FAKE_OP_PREPARE);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_NORMAL)
			return -EINVAL;
		f->rfc_state = LUO_K_RFC_STATE_PREPARED;
		return 0;

	case LUO_K_RFC_CANCEL:
		if (f->rfc_state != LUO_K_RFC_STATE_PREPARED)
			return -EINVAL;
		f->rfc_state = LUO_K_RFC_STATE_NORMAL;
		return 0;

	case LUO_K_RFC_FINISH:
		r = luoi_fake_take_injected(f, LUO_FAKE_OP_FINISH);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_UPDATED)
			return -EINVAL;
		luoi_fake_session_drop_files(f, f->rfc_in);
		f->rfc_state = LUO_K_RFC_STATE_NORMAL;
		return 0;
	}
	return -ENOTTY;
}

void luoi_fake_rfc_prepare(struct luo_fake *f, struct fake_req *req)
{
	if (req->cmd == LUO_K_RFC_FD_PRESERVE)
		luoi_fake_preserve_prepare(f, req->u.rfc_fd.fd, &req->prep.file);
}

int luoi_fake_rfc_finish(struct luo_fake *f, struct fake_req *req, int r)
{
	if (req->cmd == LUO_K_RFC_FD_PRESERVE)
		luoi_fake_preserve_fini(&req->prep.file);
	if (!r && req->respond)
		r = luoi_fake_uwrite(f, req->arg, &req->u.rfc_state,
				     sizeof(req->u.rfc_state));
	return r;
}
