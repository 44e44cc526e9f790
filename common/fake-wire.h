/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire protocol of the fake-kernel server (tools/luo-fake-server,
 * doc/fake-server.md): one fake kernel (a luo_fake_t) in a process of its
 * own, reached over UNIX sockets by any number of processes.  Shared by
 * the server, libluo's client backend (lib/backend-fake-socket.c) and the
 * LD_PRELOAD library (tools/luo-fake-preload).
 *
 * Two kinds of sockets, all AF_UNIX SOCK_SEQPACKET (one message is one
 * request or one reply, descriptors ride along with SCM_RIGHTS):
 *
 *   - a control connection: connect() to the server's path, send a
 *     command (HELLO, OPEN, SYNC, KEXEC, STATUS, INJECT, SAVE, STOP),
 *     read the reply from the same connection;
 *   - a handle: one end of a socket pair per descriptor the server hands
 *     out (the device, each session).  The client's end IS the device or
 *     session descriptor: it can be dup()ed, inherited, passed with
 *     SCM_RIGHTS; the server sees the last close of it as end of file, and
 *     releases the fake's descriptor then (an outgoing session unpreserves
 *     its files, an incoming one is finished).  The server's end is bound
 *     to the abstract name "\0" LUOI_FW_ADDR_PREFIX "<pid>.<instance>:<n>",
 *     so getpeername() on a descriptor tells a handle from anything else.
 *
 * A request on a handle carries a reply socket (the first descriptor):
 * the client makes a socket pair per request, sends one end and reads the
 * reply from the other, so that a handle shared by threads or processes
 * never delivers a reply to the wrong caller.  The second descriptor, if
 * LUOI_FW_F_FILE, is the file a PRESERVE request names.
 *
 * All integers are in the host's byte order: the server and its clients
 * share a machine.
 */
#ifndef LUOI_FAKE_WIRE_H
#define LUOI_FAKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LUOI_FW_MAGIC 0x464f554cu /* "LUOF" */
#define LUOI_FW_VERSION 1
/* abstract socket name of a handle's server end, after the leading NUL */
#define LUOI_FW_ADDR_PREFIX "luo-fake-server:"
/* the most argument bytes a request carries (a mainline size above it is
 * cut there: the server sees a fault past it) */
#define LUOI_FW_ARG_MAX (1u << 16)

enum luoi_fw_op {
	LUOI_FW_HELLO = 1, /* control: who are you */
	LUOI_FW_OPEN,      /* control: open the device (flags) */
	LUOI_FW_IOCTL,     /* handle: one request */
	LUOI_FW_IDENTIFY,  /* handle: session? its name */
	LUOI_FW_SYNC,      /* control: only the release check */
	LUOI_FW_KEXEC,     /* control: simulated kexec */
	LUOI_FW_STATUS,    /* control: boot, counts */
	LUOI_FW_INJECT,    /* control: a = op, b = error, c = nth */
	LUOI_FW_SAVE,      /* control: the data is a path */
	LUOI_FW_STOP,      /* control: the server exits (after the reply) */
	LUOI_FW_OP_MAX,
};

/* flags of a request */
#define LUOI_FW_F_FILE 0x1u /* IOCTL: the second descriptor is the file */
/* flags of a reply */
#define LUOI_FW_F_CLOEXEC 0x1u /* the passed descriptor is close-on-exec */

struct luoi_fw_req {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint64_t request;  /* IOCTL: the ioctl number */
	uint32_t arg_len;  /* IOCTL: argument bytes following the header: the
			    * readable prefix (reading past it faults) */
	int32_t fd_off;    /* IOCTL: offset of the descriptor field the file
			    * replaces, or -1 */
	uint32_t flags;    /* LUOI_FW_F_*; OPEN: the open() flags */
	int32_t a, b, c;   /* command arguments */
};

struct luoi_fw_reply {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t result;    /* >= 0 or -errno */
	uint32_t out_off;  /* IOCTL: the argument bytes [out_off, +out_len) */
	uint32_t out_len;  /*        follow the header: write them back */
	int32_t fd_off;    /* IOCTL: where the passed descriptor's number
			    * goes in the argument (-1: not in it) */
	uint32_t flags;    /* LUOI_FW_F_CLOEXEC */
	/* HELLO, STATUS */
	int32_t pid, abi, boot, rfc_state;
	int32_t sessions_out, sessions_in, files, handles;
	/* HELLO: the handles' name prefix; IDENTIFY: the session's name */
	char name[64];
};

/* ---- sockets (fake-wire.c) ---------------------------------------------- */

/* Send @hdr (+ @data) with @nfds descriptors: 0 or -errno (MSG_NOSIGNAL). */
int luoi_fw_send(int sock, const void *hdr, size_t hlen, const void *data,
		 size_t dlen, const int *fds, int nfds);
/* Receive one message into @buf: its length (0: end of file) or -errno;
 * up to @maxfds descriptors (close-on-exec) into @fds, their number in
 * *nfds.  A message whose descriptors did not fit (MSG_CTRUNC) fails
 * -EMFILE, with those that came closed. */
int luoi_fw_recv(int sock, void *buf, size_t cap, int *fds, int *nfds,
		 int maxfds, bool dontwait);

/* The address of the server's socket @path (shorter than sun_path): a file,
 * or with a leading '@' a name in the abstract namespace.  Its length. */
socklen_t luoi_fw_addr(struct sockaddr_un *a, const char *path);

/* connect() to the server at @path: a control connection, or -errno. */
int luoi_fw_connect(const char *path);
/* One control command over a new connection: 0 (the reply in @rep, whose
 * result is the command's) or -errno (-ECONNREFUSED, -ENOENT: no server).
 * @fd_out: where a passed descriptor goes (or NULL: closed). */
int luoi_fw_command(const char *path, const struct luoi_fw_req *req,
		    const void *data, size_t dlen, struct luoi_fw_reply *rep,
		    int *fd_out);

/* Whether @fd is a handle of a fake-kernel server: 1, 0 (an open
 * descriptor that is not), or -errno (-EBADF). */
int luoi_fw_is_handle(int fd);

/* The client side of the requests, what libluo's backend and the preload
 * library do.  Each returns >= 0 or -errno. */
int luoi_fw_open(const char *path, const char *device, int flags);
int luoi_fw_ioctl(int fd, unsigned long request, void *arg);
int luoi_fw_identify(int fd, char name[64]);
/* close(), then a SYNC: the server has seen the close when it returns. */
int luoi_fw_close(const char *path, int fd);

static inline void luoi_fw_req_init(struct luoi_fw_req *r, int op)
{
	*r = (struct luoi_fw_req){ .magic = LUOI_FW_MAGIC,
				   .version = LUOI_FW_VERSION,
				   .op = (uint16_t)op, .fd_off = -1 };
}

#endif /* LUOI_FAKE_WIRE_H */
