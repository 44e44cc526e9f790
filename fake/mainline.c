/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mainline ABI: luo_ioctl() on the device and luo_session_ioctl() on a
 * session (Linux 7.2 luo_core.c, luo_session.c, luo_file.c).  A request is
 * taken in steps (dispatch.c), only the third with the fake's lock:
 *
 *   luoi_fake_mainline_dispatch()  the generic checks, in the kernel's
 *       order (number, size read, request match, session direction, size,
 *       copy_struct_from_user()), and the copy of the argument;
 *   luoi_fake_mainline_prepare()   what the handler makes first: the new
 *       descriptor pair of a session, the dup and identity of a file to
 *       preserve, the slot of a retrieved file;
 *   luoi_fake_mainline_run()       the request's own handler, which fires
 *       the injected error first, then makes the operation's own checks
 *       (reporting what prepare found where the kernel would find it);
 *   luoi_fake_mainline_finish()    the reply, where nothing is to be undone
 *       if it fails (PRESERVE_FD, RETRIEVE_FD, FINISH, GET_NAME); the
 *       session requests reply under the lock, since a failed reply drops
 *       the new session, which a kexec must not see in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fake-private.h"

enum op_type {
	OP_DEVICE,
	OP_INCOMING,
	OP_OUTGOING,
	OP_ALL,
};

struct mainline_op {
	uint32_t size;
	uint32_t min_size;
	uint32_t num;
	enum op_type type;
	enum luo_fake_op fake_op; /* for latency; 0: none of its own */
};

static const struct mainline_op device_ops[LUO_K_CMD_DEVICE_COUNT] = {
	[LUO_K_CMD_CREATE_SESSION] = {
		sizeof(struct luo_k_session_req),
		LUO_K_OFFSETOFEND(struct luo_k_session_req, name),
		LUO_K_CREATE_SESSION, OP_DEVICE,
		LUO_FAKE_OP_CREATE_SESSION },
	[LUO_K_CMD_RETRIEVE_SESSION] = {
		sizeof(struct luo_k_session_req),
		LUO_K_OFFSETOFEND(struct luo_k_session_req, name),
		LUO_K_RETRIEVE_SESSION, OP_DEVICE,
		LUO_FAKE_OP_RETRIEVE_SESSION },
};

static const struct mainline_op session_ops[LUO_K_CMD_SESSION_COUNT] = {
	[LUO_K_CMD_SESSION_PRESERVE_FD - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_file_req),
		LUO_K_OFFSETOFEND(struct luo_k_file_req, token),
		LUO_K_SESSION_PRESERVE_FD, OP_OUTGOING,
		LUO_FAKE_OP_PRESERVE_FD },
	[LUO_K_CMD_SESSION_RETRIEVE_FD - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_file_req),
		LUO_K_OFFSETOFEND(struct luo_k_file_req, token),
		LUO_K_SESSION_RETRIEVE_FD, OP_INCOMING,
		LUO_FAKE_OP_RETRIEVE_FD },
	[LUO_K_CMD_SESSION_FINISH - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_finish_req),
		LUO_K_OFFSETOFEND(struct luo_k_finish_req, reserved),
		LUO_K_SESSION_FINISH, OP_INCOMING,
		LUO_FAKE_OP_FINISH },
	[LUO_K_CMD_SESSION_GET_NAME - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_get_name_req),
		LUO_K_OFFSETOFEND(struct luo_k_get_name_req, name),
		LUO_K_SESSION_GET_NAME, OP_ALL, 0 },
};

/* luo_ioctl_create_session() + luo_session_create() */
static int do_create_session(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_session_req *sreq = &req->u.mainline.session;
	struct fake_prep_handle *p = &req->prep.handle;
	_cleanup_free_ struct fsession *s = NULL;
	struct fhandle *h;
	size_t len;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_CREATE_SESSION);
	if (r)
		return r;
	if (p->err) /* get_unused_fd_flags() */
		return p->err;

	len = strnlen((const char *)sreq->name, LUO_K_NAME_LEN);
	if (len == 0 || len > LUO_K_NAME_LEN - 1)
		return -EINVAL;
	s = luoi_fake_session_new(false, NULL);
	if (!s)
		return -ENOMEM;
	memcpy(s->name, sreq->name, len);

	/* luo_session_insert(): room first, then the duplicate name */
	if (f->out.count + 1 > f->max_sessions)
		return -ENOSPC;
	if (luoi_fake_list_find(&f->out, s->name))
		return -EEXIST;
	r = luoi_fake_list_reserve(&f->out, 1);
	if (r)
		return r;

	if (p->h_err)
		return p->h_err;
	r = luoi_fake_hprep_publish(f, p, FH_SESSION, s, &h);
	if (r)
		return r;
	sreq->fd = p->sv[0];
	r = luoi_fake_urespond(f, req->arg, sreq, req->usize, sizeof(*sreq));
	if (r) {
		/* fput() of the new file: the release drops an empty session */
		luoi_fake_handle_destroy(f, h);
		return r;
	}
	p->sv[0] = -1; /* the caller's now */
	s->handle = h;
	luoi_fake_list_add(&f->out, TAKE_PTR(s));
	return 0;
}

/* luo_ioctl_retrieve_session() + luo_session_retrieve() */
static int do_retrieve_session(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_session_req *sreq = &req->u.mainline.session;
	struct fake_prep_handle *p = &req->prep.handle;
	struct fsession *s;
	struct fhandle *h;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_RETRIEVE_SESSION);
	if (r)
		return r;
	if (p->err) /* get_unused_fd_flags() */
		return p->err;

	s = luoi_fake_list_find(&f->in, (const char *)sreq->name);
	if (!s)
		return -ENOENT;
	if (s->retrieved)
		return -EINVAL;
	if (p->h_err)
		return p->h_err;
	r = luoi_fake_hprep_publish(f, p, FH_SESSION, s, &h);
	if (r)
		return r;
	s->retrieved = true;
	s->handle = h;
	sreq->fd = p->sv[0];
	r = luoi_fake_urespond(f, req->arg, sreq, req->usize, sizeof(*sreq));
	if (r) {
		/* fput() of the new file: its release finishes the session
		 * (the caller's end closes after, in finish: epfd must not
		 * report the handle freed here) */
		luoi_fake_handle_release(f, h);
		return r;
	}
	p->sv[0] = -1; /* the caller's now */
	return 0;
}

static int do_preserve_fd(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_file_req *freq = &req->u.mainline.file;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_PRESERVE_FD);
	if (r)
		return r;
	r = luoi_fake_preserve_commit(f, req->h->session, &req->prep.file,
				      freq->token, f->max_files);
	if (r)
		return r;
	/* the file stays preserved even if the reply fails */
	req->respond = true;
	return 0;
}

static int do_retrieve_fd(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_file_req *freq = &req->u.mainline.file;
	struct fsession *s = req->h->session;
	struct ffile *file;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_RETRIEVE_FD);
	if (r)
		return r;
	/* get_unused_fd_flags(O_CLOEXEC): the placeholder made by prepare */
	if (req->prep.slot < 0)
		return req->prep.slot;

	file = s->nfiles ? luoi_fake_session_find(s, freq->token) : NULL;
	if (!file)
		return -ENOENT;
	if (!file->retrieved) {
		/* the retrieved file joins luo_preserved_files until finish */
		r = luoi_hmap_reserve(&f->busy, 1);
		if (r)
			return r;
		luoi_fake_busy_add(f, file);
		file->retrieved = true;
	}
	/* under the lock: a finish may close file->fd as soon as it drops */
	if (dup3(file->fd, req->prep.slot, O_CLOEXEC) < 0)
		return -errno;
	freq->fd = req->prep.slot;
	req->respond = true;
	return 0;
}

static int do_finish(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_finish_req *freq = &req->u.mainline.finish;
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_FINISH);
	if (r)
		return r;
	if (freq->reserved)
		return -EINVAL;
	luoi_fake_session_drop_files(f, req->h->session);
	req->respond = true;
	return 0;
}

static int do_get_name(struct luo_fake *f, struct fake_req *req)
{
	struct luo_k_get_name_req *nreq = &req->u.mainline.get_name;
	const struct fsession *s = req->h->session;
	size_t len = strnlen(s->name, sizeof(s->name) - 1);

	(void)f;
	if (nreq->reserved)
		return -EINVAL;
	/* strscpy(): the name and its NUL, no padding */
	memcpy(nreq->name, s->name, len);
	nreq->name[len] = 0;
	req->respond = true;
	return 0;
}

/* luo_ioctl() on the device and luo_session_ioctl() on a session, up to
 * the handler: the generic checks and the copy of the argument.  Without
 * the lock: the handle's kind and direction are those noted in @req. */
int luoi_fake_mainline_dispatch(struct luo_fake *f, struct fake_req *req)
{
	const struct mainline_op *op;
	uint32_t nr = _IOC_NR(req->cmd);
	size_t got;
	int r;

	if (req->kind == FH_DEVICE) {
		if (nr - LUO_K_CMD_CREATE_SESSION >= LUO_K_CMD_DEVICE_COUNT)
			return -EINVAL;
		op = &device_ops[nr - LUO_K_CMD_CREATE_SESSION];
	} else {
		if (nr < LUO_K_CMD_SESSION_BASE ||
		    nr - LUO_K_CMD_SESSION_BASE >= LUO_K_CMD_SESSION_COUNT)
			return -EINVAL;
		op = &session_ops[nr - LUO_K_CMD_SESSION_BASE];
	}

	/* get_user() of the size; the rest of the structure comes along in
	 * the same read when it can */
	r = luoi_fake_uread_head(f, &req->u.mainline, req->arg, op->size,
				 &got);
	if (r)
		return r;
	memcpy(&req->usize, &req->u.mainline, sizeof(req->usize));

	if (op->num != req->cmd)
		return -ENOTTY;
	if ((op->type == OP_INCOMING && !req->incoming) ||
	    (op->type == OP_OUTGOING && req->incoming))
		return -EINVAL;
	if (req->usize < op->min_size)
		return -EINVAL;
	r = luoi_fake_ucopy_struct(f, &req->u.mainline, op->size, req->arg,
				   req->usize, got);
	if (r)
		return r;
	req->op = op->fake_op;
	return 0;
}

int luoi_fake_mainline_run(struct luo_fake *f, struct fake_req *req)
{
	switch (req->cmd) {
	case LUO_K_CREATE_SESSION:
		return do_create_session(f, req);
	case LUO_K_RETRIEVE_SESSION:
		return do_retrieve_session(f, req);
	case LUO_K_SESSION_PRESERVE_FD:
		return do_preserve_fd(f, req);
	case LUO_K_SESSION_RETRIEVE_FD:
		return do_retrieve_fd(f, req);
	case LUO_K_SESSION_FINISH:
		return do_finish(f, req);
	case LUO_K_SESSION_GET_NAME:
		return do_get_name(f, req);
	}
	return -ENOTTY;
}

void luoi_fake_mainline_prepare(struct luo_fake *f, struct fake_req *req)
{
	switch (req->cmd) {
	case LUO_K_CREATE_SESSION:
	case LUO_K_RETRIEVE_SESSION:
		luoi_fake_hprep_init(&req->prep.handle);
		luoi_fake_hprep_make(f, &req->prep.handle, true);
		break;
	case LUO_K_SESSION_PRESERVE_FD:
		luoi_fake_preserve_prepare(f, req->u.mainline.file.fd,
					   &req->prep.file);
		break;
	case LUO_K_SESSION_RETRIEVE_FD:
		/* any descriptor of ours that lives as long as the fake */
		req->prep.slot = fcntl(f->epfd, F_DUPFD_CLOEXEC, 0);
		if (req->prep.slot < 0)
			req->prep.slot = -errno;
		break;
	}
}

int luoi_fake_mainline_finish(struct luo_fake *f, struct fake_req *req, int r)
{
	void *reply = &req->u.mainline;
	size_t ksize = 0;

	switch (req->cmd) {
	case LUO_K_CREATE_SESSION:
	case LUO_K_RETRIEVE_SESSION:
		luoi_fake_hprep_fini(f, &req->prep.handle);
		return r;
	case LUO_K_SESSION_PRESERVE_FD:
		luoi_fake_preserve_fini(&req->prep.file);
		ksize = sizeof(struct luo_k_file_req);
		break;
	case LUO_K_SESSION_RETRIEVE_FD:
		ksize = sizeof(struct luo_k_file_req);
		break;
	case LUO_K_SESSION_FINISH:
		ksize = sizeof(struct luo_k_finish_req);
		break;
	case LUO_K_SESSION_GET_NAME:
		ksize = sizeof(struct luo_k_get_name_req);
		break;
	}
	if (!r && req->respond)
		r = luoi_fake_urespond(f, req->arg, reply, req->usize, ksize);
	if (req->cmd == LUO_K_SESSION_RETRIEVE_FD && req->prep.slot >= 0) {
		if (!r)
			return 0; /* the retrieved file is the caller's now */
		close(req->prep.slot);
	}
	return r;
}
