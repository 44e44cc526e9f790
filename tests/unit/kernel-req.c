/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request encoding (lib/kernel-req.c): for each request libluo issues, the
 * request number and the argument bytes a recording backend receives, and
 * that out-parameters are written from the kernel's reply on success only.
 * The numbers and layouts are the kernel's (Linux 7.2 uapi
 * <linux/liveupdate.h> and the RFC series).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "kernel-req.h"

struct recorder {
	struct luo_backend backend; /* first */
	int fd;
	unsigned long request;
	uint8_t arg[128];
	size_t arg_len;
	int answer;       /* returned */
	int32_t reply_fd; /* written into the request's fd field on success */
};

static size_t arg_size(unsigned long request)
{
	switch (request) {
	case LUO_K_CREATE_SESSION:
	case LUO_K_RETRIEVE_SESSION:
		return sizeof(struct luo_k_session_req);
	case LUO_K_SESSION_PRESERVE_FD:
	case LUO_K_SESSION_RETRIEVE_FD:
		return sizeof(struct luo_k_file_req);
	case LUO_K_SESSION_FINISH:
		return sizeof(struct luo_k_finish_req);
	case LUO_K_SESSION_GET_NAME:
		return sizeof(struct luo_k_get_name_req);
	case LUO_K_RFC_FD_PRESERVE:
	case LUO_K_RFC_FD_RESTORE:
		return sizeof(struct luo_k_rfc_fd);
	case LUO_K_RFC_FD_UNPRESERVE:
		return sizeof(uint64_t);
	case LUO_K_RFC_GET_STATE:
		return sizeof(int32_t);
	default:
		return 0;
	}
}

static int rec_ioctl(struct luo_backend *b, int fd, unsigned long request,
		     void *arg)
{
	struct recorder *r = (struct recorder *)b;

	r->fd = fd;
	r->request = request;
	r->arg_len = arg_size(request);
	if (r->arg_len)
		memcpy(r->arg, arg, r->arg_len);
	if (r->answer < 0)
		return r->answer;
	switch (request) {
	case LUO_K_CREATE_SESSION:
	case LUO_K_RETRIEVE_SESSION:
		((struct luo_k_session_req *)arg)->fd = r->reply_fd;
		break;
	case LUO_K_SESSION_RETRIEVE_FD:
		((struct luo_k_file_req *)arg)->fd = r->reply_fd;
		break;
	case LUO_K_RFC_FD_RESTORE:
		((struct luo_k_rfc_fd *)arg)->fd = r->reply_fd;
		break;
	case LUO_K_SESSION_GET_NAME:
		memset(((struct luo_k_get_name_req *)arg)->name, 'n',
		       LUO_K_NAME_LEN); /* unterminated: libluo ends it */
		break;
	case LUO_K_RFC_GET_STATE:
		*(int32_t *)arg = 4;
		break;
	}
	return r->answer;
}

static const struct luo_backend_ops rec_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "recorder",
	.ioctl = rec_ioctl,
};

static struct recorder rec(int answer)
{
	struct recorder r = { .backend.ops = &rec_ops, .answer = answer,
			      .reply_fd = 77 };

	return r;
}

TEST(kernel_req, request_numbers)
{
	/* _IO(0xBA, nr) for the mainline ABI: no size or direction bits */
	assert_eq(LUO_K_CREATE_SESSION, 0xBA00ul);
	assert_eq(LUO_K_RETRIEVE_SESSION, 0xBA01ul);
	assert_eq(LUO_K_SESSION_PRESERVE_FD, 0xBA40ul);
	assert_eq(LUO_K_SESSION_RETRIEVE_FD, 0xBA41ul);
	assert_eq(LUO_K_SESSION_FINISH, 0xBA42ul);
	assert_eq(LUO_K_SESSION_GET_NAME, 0xBA43ul);
	/* RFC: sizes and directions encoded */
	assert_eq(LUO_K_RFC_FD_PRESERVE, 0x4010BA00ul);
	assert_eq(LUO_K_RFC_FD_UNPRESERVE, 0x4008BA01ul);
	assert_eq(LUO_K_RFC_FD_RESTORE, 0xC010BA02ul);
	assert_eq(LUO_K_RFC_GET_STATE, 0x8004BA03ul);
	assert_eq(LUO_K_RFC_PREPARE, 0xBA04ul);
	assert_eq(LUO_K_RFC_CANCEL, 0xBA06ul);
	assert_eq(LUO_K_RFC_FINISH, 0xBA07ul);
}

TEST(kernel_req, create_session_bytes)
{
	struct recorder r = rec(0);
	struct luo_k_session_req req;
	int fd = -1;

	char padded[LUO_K_NAME_LEN] = "vm-42";

	assert_int_eq(luoi_req_create_session(&r.backend, 5, padded, &fd), 0);
	assert_eq(r.fd, 5);
	assert_eq(r.request, (unsigned long)LUO_K_CREATE_SESSION);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.size, (uint32_t)sizeof(req));
	assert_eq(req.fd, -1);
	assert_str_eq((const char *)req.name, "vm-42");
	/* the rest of the name is zero: the kernel sees no garbage */
	for (size_t i = 5; i < LUO_K_NAME_LEN; i++)
		assert_eq(req.name[i], 0, "byte %zu", i);
	assert_eq(fd, 77);
}

TEST(kernel_req, a_full_name_buffer_is_terminated)
{
	char name[LUO_K_NAME_LEN];
	struct recorder r = rec(0);
	struct luo_k_session_req req;
	int fd = -1;

	memset(name, 'x', sizeof(name)); /* no NUL at all */
	assert_int_eq(luoi_req_retrieve_session(&r.backend, 5, name, &fd), 0);
	assert_eq(r.request, (unsigned long)LUO_K_RETRIEVE_SESSION);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.name[LUO_K_NAME_LEN - 2], 'x');
	assert_eq(req.name[LUO_K_NAME_LEN - 1], 0);
}

TEST(kernel_req, out_parameters_untouched_on_failure)
{
	struct recorder r = rec(-ENOSPC);
	char name[LUO_K_NAME_LEN] = "keep";
	int32_t state = 99;
	int fd = 12345;

	char s_name[LUO_K_NAME_LEN] = "s";

	assert_int_eq(luoi_req_create_session(&r.backend, 5, s_name, &fd),
		      -ENOSPC);
	assert_int_eq(luoi_req_retrieve_session(&r.backend, 5, s_name, &fd),
		      -ENOSPC);
	assert_int_eq(luoi_req_retrieve_fd(&r.backend, 6, 1, &fd), -ENOSPC);
	assert_int_eq(luoi_req_rfc_restore(&r.backend, 5, 1, &fd), -ENOSPC);
	assert_eq(fd, 12345);
	assert_int_eq(luoi_req_get_name(&r.backend, 6, name), -ENOSPC);
	assert_str_eq(name, "keep");
	assert_int_eq(luoi_req_rfc_get_state(&r.backend, 5, &state), -ENOSPC);
	assert_eq(state, 99);
}

TEST(kernel_req, file_requests_bytes)
{
	struct recorder r = rec(0);
	struct luo_k_file_req req;
	int fd = -1;

	assert_int_eq(luoi_req_preserve_fd(&r.backend, 6, 9,
					   0x1122334455667788ULL), 0);
	assert_eq(r.fd, 6);
	assert_eq(r.request, (unsigned long)LUO_K_SESSION_PRESERVE_FD);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.size, (uint32_t)16);
	assert_eq(req.fd, 9);
	assert_eq(req.token, 0x1122334455667788ULL);

	assert_int_eq(luoi_req_retrieve_fd(&r.backend, 6, 3, &fd), 0);
	assert_eq(r.request, (unsigned long)LUO_K_SESSION_RETRIEVE_FD);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.size, (uint32_t)16);
	assert_eq(req.fd, -1);
	assert_eq(req.token, (uint64_t)3);
	assert_eq(fd, 77);
}

TEST(kernel_req, finish_and_get_name_bytes)
{
	struct recorder r = rec(0);
	struct luo_k_finish_req fin;
	struct luo_k_get_name_req gn;
	char name[LUO_K_NAME_LEN];

	assert_int_eq(luoi_req_finish(&r.backend, 6), 0);
	assert_eq(r.request, (unsigned long)LUO_K_SESSION_FINISH);
	memcpy(&fin, r.arg, sizeof(fin));
	assert_eq(fin.size, (uint32_t)8);
	assert_eq(fin.reserved, (uint32_t)0);

	assert_int_eq(luoi_req_get_name(&r.backend, 6, name), 0);
	assert_eq(r.request, (unsigned long)LUO_K_SESSION_GET_NAME);
	memcpy(&gn, r.arg, sizeof(gn));
	assert_eq(gn.size, (uint32_t)72);
	assert_eq(gn.reserved, (uint32_t)0);
	assert_eq(strlen(name), (size_t)LUO_K_NAME_LEN - 1);
}

TEST(kernel_req, mainline_probe_is_a_short_retrieve)
{
	struct recorder r = rec(-EINVAL);
	struct luo_k_session_req req;

	assert_true(luoi_req_probe_mainline(&r.backend, 5));
	assert_eq(r.request, (unsigned long)LUO_K_RETRIEVE_SESSION);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.size, (uint32_t)sizeof(uint32_t),
		  "below the minimum: refused before any side effect");
	r = rec(-ENOTTY);
	assert_false(luoi_req_probe_mainline(&r.backend, 5));
}

TEST(kernel_req, rfc_bytes)
{
	struct recorder r = rec(0);
	struct luo_k_rfc_fd req;
	uint64_t token;
	int32_t state = 0;
	int fd = -1;

	assert_int_eq(luoi_req_rfc_preserve(&r.backend, 5, 9, 42), 0);
	assert_eq(r.request, (unsigned long)LUO_K_RFC_FD_PRESERVE);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.fd, 9);
	assert_eq(req.flags, (uint32_t)0);
	assert_eq(req.token, (uint64_t)42);

	assert_int_eq(luoi_req_rfc_unpreserve(&r.backend, 5, 43), 0);
	memcpy(&token, r.arg, sizeof(token));
	assert_eq(token, (uint64_t)43);

	assert_int_eq(luoi_req_rfc_restore(&r.backend, 5, 44, &fd), 0);
	memcpy(&req, r.arg, sizeof(req));
	assert_eq(req.fd, -1);
	assert_eq(req.token, (uint64_t)44);
	assert_eq(fd, 77);

	assert_int_eq(luoi_req_rfc_get_state(&r.backend, 5, &state), 0);
	assert_eq(state, 4);
	assert_int_eq(luoi_req_rfc_prepare(&r.backend, 5), 0);
	assert_eq(r.request, (unsigned long)LUO_K_RFC_PREPARE);
	assert_int_eq(luoi_req_rfc_cancel(&r.backend, 5), 0);
	assert_eq(r.request, (unsigned long)LUO_K_RFC_CANCEL);
	assert_int_eq(luoi_req_rfc_finish(&r.backend, 5), 0);
	assert_eq(r.request, (unsigned long)LUO_K_RFC_FINISH);
}
