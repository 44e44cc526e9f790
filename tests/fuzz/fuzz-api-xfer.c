/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api's steps that move sessions between handles (send, recv, adopt,
 * raw messages on the socket pair), drive the fake kernel (kexec, injected
 * errors, limits) and make or change the harness's memfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-api.h"

/* lib/session-handoff.c: magic, version, name[64] (v1), direction (v2) */
#define MSG_MAGIC 0x4c554f53u
#define MSG_V1_SIZE (8 + 64)
#define MSG_V2_SIZE (8 + 64 + 4)

static void queue_push(int k0, int k1, bool valid,
		       enum luo_session_direction dir)
{
	struct m_msg *m = &M.q[(M.qhead + M.qlen++) % MAX_MSGS];

	m->ksess[0] = k0;
	m->ksess[1] = k1;
	m->valid = valid;
	m->dir = dir;
	if (k0 >= 0)
		M.ks[k0].inflight++;
	if (k1 >= 0)
		M.ks[k1].inflight++;
}

/* ---- hand-off ------------------------------------------------------------ */

void op_send(struct fz_in *in)
{
	int slot, r;
	struct m_handle *h = pick_handle(in, &slot);

	if (!h || M.qlen == MAX_MSGS)
		return;
	r = luo_session_send(h->s, M.sk[0]);
	fz_trace("step %d: luo_session_send(sess#%d) = %d", M.step, slot, r);
	if (r < 0)
		return;
	h->sent = true;
	queue_push(h->ksess, -1, true, h->dir);
}

void op_recv(struct fz_in *in)
{
	int c = pick_ctx(in), slot = free_sess_slot(in), r, k, i;
	luo_session_t *s = NULL;
	struct m_msg m = { { -1, -1 }, false, 0 };
	enum luo_session_direction dir;
	bool consumed;
	const char *name;

	if (c < 0 || slot < 0)
		return;
	r = luo_session_recv(M.ctx[c].ctx, M.sk[1], &s);
	consumed = M.ctx[c].abi == LUO_ABI_MAINLINE && M.qlen > 0;
	fz_trace("step %d: luo_session_recv(ctx) = %d -> sess#%d (%d queued)",
		 M.step, r, slot, M.qlen);
	if (M.ctx[c].abi != LUO_ABI_MAINLINE)
		fz_check(r == -EOPNOTSUPP, "recv on an RFC context: %d", r);
	else if (!M.qlen)
		fz_check(r == -EAGAIN, "recv of nothing: %d", r);
	else
		/* a transient error would keep the session in the context
		 * for the next call: none can happen on the fake */
		fz_check(r == 0 || r == -EBADMSG || r == -EINVAL ||
			 r == -ECONNRESET, "luo_session_recv() = %d", r);
	if (consumed) {
		m = M.q[M.qhead];
		M.qhead = (M.qhead + 1) % MAX_MSGS;
		M.qlen--;
	}
	if (r == 0) {
		fz_check(consumed && m.valid && m.ksess[0] >= 0,
			 "recv made a session of a message that is none");
		k = ksess_of_fd(luo_session_get_fd(s), "?", 0, -1);
		fz_check(k == m.ksess[0], "recv gave another session");
		fz_check(M.ks[k].boot == M.boot, "recv adopted a dead session");
		fz_check(luo_session_get_name(s, &name) == 0 &&
			 strcmp(name, M.ks[k].name) == 0,
			 "received session named \"%s\"", name);
		dir = m.dir ? m.dir : M.ks[k].dir;
		handle_new(slot, s, c, k, true, dir);
		handle_record_loaded(slot);
	} else {
		fz_check(!s, "out-parameter written on failure");
		fz_check(!consumed || !m.valid || m.ksess[0] < 0 ||
			 M.ks[m.ksess[0]].boot != M.boot,
			 "a good session message refused: %d", r);
	}
	for (i = 0; i < 2; i++)
		if (m.ksess[i] >= 0) {
			M.ks[m.ksess[i]].inflight--;
			model_ksess_unref(m.ksess[i]);
		}
}

static int dup_own(int fd, const char *what)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	fz_check(d >= 0, "dup: %s", strerror(errno));
	fz_own_add(&M.own, d, what);
	return d;
}

static int any_memfd_slot(void)
{
	int i;

	for (i = 0; i < N_FD_SLOTS; i++)
		if (M.fds[i] >= 0)
			return i;
	return -1;
}

void op_adopt(struct fz_in *in)
{
	int c = pick_ctx(in), slot = free_sess_slot(in), src = fz_u8(in) % 8;
	int j = fz_u8(in) % N_SESS_SLOTS, fd = -1, k = -1, r, i;
	luo_session_t *s = NULL;
	bool owned = true;

	if (c < 0 || slot < 0)
		return;
	switch (src) {
	case 0:
		if (!M.h[j].s)
			return;
		fd = dup_own(M.h[j].fd, "session dup to adopt");
		k = M.h[j].ksess;
		break;
	case 1:
		i = any_memfd_slot();
		if (i < 0)
			return;
		fd = dup_own(M.fds[i], "memfd dup to adopt");
		break;
	case 2:
		fd = dup_own(M.pipe[1], "pipe dup to adopt");
		break;
	case 3:
		fd = dup_own(M.opath, "O_PATH dup to adopt");
		break;
	case 4:
		fd = -1;
		owned = false;
		break;
	case 5:
		fd = CLOSED_FD;
		owned = false;
		break;
	case 6:
		fd = dup_own(M.regfile, "file dup to adopt");
		break;
	default:
		fd = dup_own(M.sk[1], "socket dup to adopt");
		break;
	}
	r = luo_session_adopt_fd(M.ctx[c].ctx, fd, &s);
	fz_trace("step %d: luo_session_adopt_fd(source %d, fd %d) = %d -> "
		 "sess#%d", M.step, src, fd, r, slot);
	if (r < 0) {
		fz_check(!s, "out-parameter written on failure");
		/* "on failure @fd is left open and untouched" */
		fz_own_check(&M.own);
		if (owned)
			fz_own_close(&M.own, fd);
		return;
	}
	fz_check(k >= 0, "adopted a descriptor that is no session");
	fz_check(M.ctx[c].abi == LUO_ABI_MAINLINE);
	fz_check(M.ks[k].boot == M.boot, "adopted a dead session");
	fz_check(luo_session_get_fd(s) == fd, "the handle does not own fd %d",
		 fd);
	/* the handle owns it now */
	for (i = 0; i < M.own.n; i++)
		if (M.own.fds[i].fd == fd)
			M.own.fds[i] = M.own.fds[--M.own.n];
	handle_new(slot, s, c, k, true, M.ks[k].dir);
	handle_record_loaded(slot);
}

/* Descriptors for a raw message: none, a memfd, the pipe, a session, the
 * O_PATH one.  Returns the session the descriptor is of, or -1. */
static int raw_fd(uint8_t sel, int *fd)
{
	int i;

	*fd = -1;
	switch (sel % 5) {
	case 1:
		i = any_memfd_slot();
		if (i >= 0)
			*fd = M.fds[i];
		return -1;
	case 2:
		*fd = M.pipe[1];
		return -1;
	case 3:
		i = sel / 5 % N_SESS_SLOTS;
		if (!M.h[i].s)
			return -1;
		*fd = M.h[i].fd;
		return M.h[i].ksess;
	case 4:
		*fd = M.opath;
		return -1;
	default:
		return -1;
	}
}

/*
 * A message of the hand-off format written by hand, one of:
 *   0  v2, the session's direction        4  zero length
 *   1  v2 with a second descriptor        5  v1 (libluo 1.0: probed)
 *   2  a wrong magic                      6  v2 with the other direction
 *   3  10 bytes, or 100 (sel & 32)        7  v2 with direction 7
 * carrying the descriptor raw_fd() picks.  A sender decides the direction
 * a v2 message announces: the receiver trusts it (6).
 */
void op_raw_send(struct fz_in *in)
{
	uint8_t v = fz_u8(in) % 8, sel = fz_u8(in);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} control;
	uint8_t payload[100];
	uint32_t word, dir;
	struct iovec iov = { payload, MSG_V2_SIZE };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fds[2], nfds = 0, k0;
	ssize_t n;

	memset(payload, 0, sizeof(payload));
	get_name(in, (char *)payload + 8); /* at most 71 bytes: fits */
	payload[8 + 63] = 0;
	/* a stream socket has no message boundaries: the model's one message
	 * per luo_session_recv() would not hold; fuzz-handoff covers it */
	if (M.sock_type == SOCK_STREAM || M.qlen == MAX_MSGS)
		return;
	k0 = raw_fd(sel, &fds[0]);
	if (fds[0] >= 0)
		nfds = 1;
	dir = k0 >= 0 ? M.ks[k0].dir : LUO_SESSION_OUTGOING;
	if (v == 6)
		dir = 3 - dir;
	else if (v == 7)
		dir = 7;
	word = v == 2 ? 0x12345678u : MSG_MAGIC;
	memcpy(payload, &word, 4);
	word = v == 5 ? 1 : 2;
	memcpy(payload + 4, &word, 4);
	memcpy(payload + 72, &dir, 4);
	if (v == 1)
		fds[nfds++] = M.pipe[0];
	if (v == 3)
		iov.iov_len = sel & 32 ? sizeof(payload) : 10;
	else if (v == 4)
		iov.iov_len = 0;
	else if (v == 5)
		iov.iov_len = MSG_V1_SIZE;
#if FUZZ_AVOID_RECV_ZERO_LENGTH_FD_LEAK
	if (iov.iov_len == 0)
		nfds = 0;
#endif
	if (nfds == 0)
		k0 = -1;
	if (nfds) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	n = sendmsg(M.sk[0], &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	fz_trace("step %d: raw message %d, %zu bytes, %d fd(s) (session %d) = %zd",
		 M.step, v, iov.iov_len, nfds, k0, n);
	if (n < 0)
		return;
	fz_check((size_t)n == iov.iov_len, "short datagram");
	queue_push(k0, -1, (v == 0 || v == 5 || v == 6) && nfds == 1,
		   v == 5 ? 0 : (enum luo_session_direction)dir);
}

/* ---- the fake kernel ----------------------------------------------------- */

static int carried_find(struct m_carried *list, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return i;
	return -1;
}

void op_kexec(struct fz_in *in)
{
	static struct m_carried next[MAX_CARRIED];
	static struct fake_file files[FAKE_FILES_MAX];
	struct tokset manifest = { .n = 0 };
	bool manifest_carried = false;
	enum luo_state st = LUO_STATE_NORMAL;
	int n = 0, nfiles, i, j, r, boot;

	(void)in;
	memset(next, 0, sizeof(next));
	/* what the new kernel should hold: the model's open outgoing
	 * sessions, the original API's (from the fake: the model cannot know
	 * them), and a prepared context's manifest */
	for (i = 0; i < MAX_KSESS; i++) {
		const struct m_ksess *k = &M.ks[i];

		if (!k->used || k->dir != LUO_SESSION_OUTGOING ||
		    k->boot != M.boot)
			continue;
		fz_check(n < MAX_CARRIED);
		memcpy(next[n].name, k->name, NAME_BUF);
		next[n].recorded = k->preserved;
		next[n++].tokens = k->preserved;
	}
	nfiles = fake_files(files);
	for (i = 0; i < nfiles; i++) {
		if (files[i].dir != LUO_SESSION_OUTGOING || !files[i].has_name)
			continue;
		/* libluo's record in a session of the harness's: its files
		 * travel too */
		if (!name_reserved(files[i].name) &&
		    files[i].token >= LUO_TOKEN_RESERVED_MIN) {
			j = carried_find(next, n, files[i].name);
			fz_check(j >= 0, "a record in \"%s\", a session the "
				 "harness does not hold", files[i].name);
			tokset_add(&next[j].record, files[i].token);
			continue;
		}
		if (!name_reserved(files[i].name))
			continue;
		j = carried_find(next, n, files[i].name);
		if (j < 0) {
			fz_check(n < MAX_CARRIED);
			j = n++;
			memcpy(next[j].name, files[i].name, NAME_BUF);
			next[j].internal = true;
		}
		tokset_add(&next[j].tokens, files[i].token);
	}
	for (i = 0; i < MAX_CTX; i++) {
		const struct m_ctx *c = &M.ctx[i];

		if (!c->used || c->boot != M.boot || !c->prepared)
			continue;
		manifest_carried = true;
		fz_check(ctx_tokens(c->ctx, LUO_TOKEN_PRESERVED, &manifest) >= 0);
	}
	if (M.abi == LUO_ABI_RFC)
		fz_check(luo_fake_get_state(M.fake, &st) == 0);

	r = luo_fake_kexec(M.fake);
	fz_trace("step %d: luo_fake_kexec() = %d", M.step, r);
	boot = luo_fake_get_boot(M.fake);
	if (r < 0) {
		fz_check(boot == M.boot, "a failed kexec changed the boot");
		return;
	}
	fz_check(boot == M.boot + 1, "boot %d after a kexec from %d", boot,
		 M.boot);
	M.boot = boot;
	memcpy(M.carried, next, sizeof(next));
	M.ncarried = n;
	M.manifest_carried = manifest_carried;
	M.manifest_tokens = manifest;
	M.tampered = false;
	if (M.abi == LUO_ABI_RFC) {
		if (st == LUO_STATE_PREPARED)
			M.rfc_in = M.rfc_out;
		else
			M.rfc_in.n = 0;
		M.rfc_out.n = 0;
	}
}

void op_inject(struct fz_in *in)
{
	static const int errs[] = {
		EIO, ENOMEM, EBUSY, EMFILE, ENOSPC, EINVAL, ENOENT, EFAULT,
		EPERM, EAGAIN, 0, ENODEV, EEXIST, EBADF, 4095, EINTR,
	};
	enum luo_fake_op op = (enum luo_fake_op)(1 + fz_u8(in) % 9);
	int e = errs[fz_u8(in) % 16], r;

	M.injected[e] = true;
	if (op == LUO_FAKE_OP_RETRIEVE_FD && e)
		M.injected_retrieve_fd = true;
	r = luo_fake_inject_error(M.fake, op, e);
	fz_trace("step %d: luo_fake_inject_error(op %d, %d) = %d", M.step, op,
		 e, r);
	fz_check(r == 0);
}

void op_limits(struct fz_in *in)
{
	unsigned int s = fz_u8(in) % 6, f = fz_u8(in) % 6;
	int r = luo_fake_set_limits(M.fake, s, f);

	fz_trace("step %d: luo_fake_set_limits(%u, %u) = %d", M.step, s, f, r);
	fz_check(r == 0);
}

/* ---- the harness's memfds ------------------------------------------------ */

void op_memfd(struct fz_in *in)
{
	static const unsigned int seals[] = {
		0, F_SEAL_GROW | F_SEAL_SHRINK, F_SEAL_WRITE | F_SEAL_SEAL,
		F_SEAL_FUTURE_WRITE, 0, F_SEAL_SEAL,
	};
	int i = fz_u8(in) % N_FD_SLOTS, v = fz_u8(in) % 6, fd;
	size_t size = (size_t)fz_u8(in) * 33;

	if (M.fds[i] >= 0)
		return;
	if (v == 4) {
		/* MFD_HUGETLB: refused (-ENOENT) if the host has huge pages */
		fd = memfd_create("fuzz-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd < 0)
			return;
	} else {
		fd = fz_memfd("fuzz", size, (uint8_t)i);
		if (seals[v])
			fz_check(fcntl(fd, F_ADD_SEALS, seals[v]) == 0,
				 "F_ADD_SEALS: %s", strerror(errno));
		if (size)
			lseek(fd, (off_t)(size / 2), SEEK_SET);
	}
	fd_slot_set(i, fd, FD_MEMFD);
	fz_trace("step %d: memfd variant %d, %zu bytes -> fd#%d (%d)", M.step,
		 v, size, i, fd);
}

void op_close_fd(struct fz_in *in)
{
	int i = fz_u8(in) % N_FD_SLOTS;

	if (M.fds[i] < 0)
		return;
	fz_trace("step %d: close(fd#%d = %d)", M.step, i, M.fds[i]);
	fz_own_close(&M.own, M.fds[i]);
	M.fds[i] = -1;
	M.fd_kind[i] = FD_EMPTY;
}

/* Change a file after it may have been preserved: the fake carries the
 * size recorded at preserve time. */
void op_resize_fd(struct fz_in *in)
{
	int i = fz_u8(in) % N_FD_SLOTS, r;
	off_t size = (off_t)fz_u8(in) * 17;

	if (M.fds[i] < 0)
		return;
	r = ftruncate(M.fds[i], size);
	lseek(M.fds[i], size / 3, SEEK_SET);
	fz_trace("step %d: ftruncate(fd#%d, %lld) = %d", M.step, i,
		 (long long)size, r);
}
