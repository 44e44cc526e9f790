/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api: the input is a program of calls on a fake kernel, checked
 * after every step (fuzz-api-check.c).
 *
 * Input: one header byte, then steps.
 *   header  bit 0: the fake's ABI (0 mainline, 1 RFC); bits 1-2: the type
 *           of the socket pair for send/recv (0 and 3 SOCK_SEQPACKET,
 *           1 SOCK_DGRAM, 2 SOCK_STREAM)
 *   step    an opcode byte (enum op, modulo NR_OPS), then its arguments
 *           (see each op_*() below; bytes past the end read as 0)
 *
 * tests/fuzz/gen-corpus.py writes the seeds from a readable form; with
 * LIBLUO_FUZZ_TRACE=1 every step is printed, decoded, with its result.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-api.h"

struct model M;

enum op {
	OP_CTX_NEW, OP_CTX_REF, OP_CTX_UNREF, OP_CTX_CLOSE_DEVICE,
	OP_SESS_CREATE, OP_SESS_RETRIEVE, OP_SESS_PRESERVE,
	OP_SESS_RETRIEVE_FD, OP_SESS_FINISH, OP_SESS_CLOSE, OP_SESS_QUERY,
	OP_GET_STATE, OP_FD_PRESERVE, OP_FD_UNPRESERVE, OP_FD_RESTORE,
	OP_PREPARE, OP_CANCEL, OP_FINISH, OP_TOKEN_QUERY,
	OP_SEND, OP_RECV, OP_ADOPT, OP_RAW_SEND,
	OP_KEXEC, OP_INJECT, OP_LIMITS, OP_MEMFD, OP_CLOSE_FD, OP_RESIZE_FD,
	NR_OPS
};


/* ---- decoding helpers ---------------------------------------------------- */

/* A token: small ones mostly (so that steps meet), 0xff: 8 bytes. */
uint64_t get_token(struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	return b == 0xff ? fz_u64(in) : b & 0x0f;
}

/* A session name: a few that meet, the edge cases, reserved ones, or raw
 * bytes from the input. */
void get_name(struct fz_in *in, char name[NAME_BUF])
{
	uint8_t b = fz_u8(in), len;

	memset(name, 0, NAME_BUF);
	switch (b % 12) {
	case 4: /* empty */
		break;
	case 5: /* LUO_SESSION_NAME_MAX */
		memset(name, 'x', LUO_SESSION_NAME_MAX);
		break;
	case 6: /* one too long */
		memset(name, 'y', LUO_SESSION_NAME_MAX + 1);
		break;
	case 7:
		strcpy(name, "libluo.manifest");
		break;
	case 8:
		snprintf(name, NAME_BUF, "libluo.tok.%016" PRIx64,
			 (uint64_t)(fz_u8(in) & 0x0f));
		break;
	case 9:
		strcpy(name, "libluo.");
		break;
	case 10:
		len = fz_u8(in) % (NAME_BUF - 1);
		fz_bytes(in, name, len);
		break;
	default:
		snprintf(name, NAME_BUF, "s%d", b % 4);
		break;
	}
}

int pick_ctx(struct fz_in *in)
{
	int slot = fz_u8(in) % N_CTX_SLOTS;

	return M.ctx_slot[slot];
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A descriptor to preserve or adopt: harness-held ones and bad ones.
 * *what says which; the harness keeps ownership of all of them. */
int pick_fd(struct fz_in *in, const char **what)
{
	uint8_t b = fz_u8(in) % 16;
	int fd;

	if (b < N_FD_SLOTS) {
		*what = M.fd_kind[b] == FD_RETRIEVED ? "retrieved" : "memfd";
		if (M.fds[b] >= 0)
			return M.fds[b];
		*what = "closed";
		fz_check(!fd_open(CLOSED_FD), "fd %d is open", CLOSED_FD);
		return CLOSED_FD;
	}
	switch (b) {
	case 8:
		*what = "-1";
		return -1;
	case 9:
		*what = "INT_MIN";
		return INT_MIN;
	case 10:
		*what = "O_PATH";
		return M.opath;
	case 11:
		*what = "pipe";
		return M.pipe[0];
	case 12:
		*what = "regular file";
		return M.regfile;
	case 13:
		fd = fz_u8(in) % N_SESS_SLOTS;
		if (M.h[fd].s) {
			*what = "session fd";
			return M.h[fd].fd;
		}
		*what = "closed";
		fz_check(!fd_open(CLOSED_FD), "fd %d is open", CLOSED_FD);
		return CLOSED_FD;
	case 14:
		*what = "socket";
		return M.sk[1];
	default:
		*what = "closed";
		fz_check(!fd_open(CLOSED_FD), "fd %d is open", CLOSED_FD);
		return CLOSED_FD;
	}
}

int free_fd_slot(void)
{
	int i;

	for (i = 0; i < N_FD_SLOTS; i++)
		if (M.fds[i] < 0)
			return i;
	return -1;
}

void fd_slot_set(int i, int fd, enum fd_slot_kind kind)
{
	M.fds[i] = fd;
	M.fd_kind[i] = kind;
	fz_own_add(&M.own, fd, kind == FD_MEMFD ? "memfd" : "retrieved fd");
}

bool errno_documented(int r, int e1, int e2, int e3)
{
	return r < 0 && (-r == e1 || -r == e2 || -r == e3 ||
			 (-r < 4096 && M.injected[-r]));
}

bool listing_known_defect(int c, int r)
{
	int o;

	if (FUZZ_KNOWN_LISTING_ENODEV_AFTER_KEXEC && r == -ENODEV &&
	    M.ctx[c].boot != M.boot && M.ctx[c].dev_open)
		return true;
	if (!FUZZ_KNOWN_MANIFEST_HELD_EINVAL || r != -EINVAL ||
	    M.ctx[c].boot != M.boot)
		return false;
	for (o = 0; o < MAX_CTX; o++)
		if (o != c && M.ctx[o].used && M.ctx[o].boot == M.boot &&
		    M.ctx[o].abi == LUO_ABI_MAINLINE)
			return true;
	return false;
}

/* ---- the model's kernel sessions ----------------------------------------- */

/* The kernel session behind a session descriptor: the one the model
 * follows, or a new entry. */
int ksess_of_fd(int fd, const char *name, enum luo_session_direction dir,
		       int boot)
{
	dev_t dev;
	ino_t ino;
	int i, k = -1;

	fz_check(fz_fd_id(fd, &dev, &ino) == 0, "session fd %d not open", fd);
	for (i = 0; i < MAX_KSESS; i++) {
		if (M.ks[i].used && M.ks[i].dev == dev && M.ks[i].ino == ino)
			return i;
		if (!M.ks[i].used && k < 0)
			k = i;
	}
	fz_check(k >= 0, "the model follows too many sessions");
	memset(&M.ks[k], 0, sizeof(M.ks[k]));
	M.ks[k].used = true;
	M.ks[k].dev = dev;
	M.ks[k].ino = ino;
	snprintf(M.ks[k].name, NAME_BUF, "%s", name);
	M.ks[k].dir = dir;
	M.ks[k].boot = boot;
	M.ks[k].carried = -1;
	return k;
}

void handle_new(int slot, luo_session_t *s, int c, int k, bool adopted,
		enum luo_session_direction dir)
{
	struct m_handle *h = &M.h[slot];

	memset(h, 0, sizeof(*h));
	h->s = s;
	h->ctx = c;
	h->ksess = k;
	h->fd = luo_session_get_fd(s);
	h->adopted = adopted;
	h->dir = dir;
	fz_check(h->fd >= 0, "luo_session_get_fd: %d", h->fd);
	fz_check(fcntl(h->fd, F_GETFD) & FD_CLOEXEC,
		 "session fd %d is not close-on-exec", h->fd);
	M.ks[k].handles++;
	M.ctx[c].handles++;
}

void handle_tok_set(struct m_handle *h, uint64_t t,
			   enum luo_token_state st)
{
	int i;

	for (i = 0; i < h->ntok; i++)
		if (h->tok[i] == t) {
			h->tok_state[i] = st;
			return;
		}
	fz_check(h->ntok < MAX_TOK, "too many tokens");
	h->tok[h->ntok] = t;
	h->tok_state[h->ntok++] = st;
}

void handle_record_loaded(int slot)
{
	struct m_handle *h = &M.h[slot];
	const struct m_ksess *k = &M.ks[h->ksess];
	const struct tokset *want = NULL;
	int n = luo_session_token_count(h->s), i;

	/* libluo reads the record of a session it takes as incoming; the
	 * kernel has it while the session is not finished */
	if (h->dir == LUO_SESSION_INCOMING &&
	    k->dir == LUO_SESSION_INCOMING && k->boot == M.boot &&
	    !k->finished && k->carried >= 0 &&
	    !M.carried[k->carried].internal)
		want = &M.carried[k->carried].recorded;
	fz_check(n >= 0, "luo_session_token_count: %d", n);
	/* a record that could not be read: the session behaves as one
	 * without, all or nothing */
	if (n == 0 && (!want || !want->n || M.injected_retrieve_fd))
		return;
	fz_check(want && n == want->n, "sess#%d: %d tokens listed after the "
		 "record was read, the model's record holds %d", slot, n,
		 want ? want->n : 0);
	for (i = 0; i < want->n; i++)
		handle_tok_set(h, want->t[i], LUO_TOKEN_INCOMING);
}

int free_sess_slot(struct fz_in *in)
{
	int slot = fz_u8(in) % N_SESS_SLOTS;

	return M.h[slot].s ? -1 : slot;
}

struct m_handle *pick_handle(struct fz_in *in, int *slot)
{
	*slot = fz_u8(in) % N_SESS_SLOTS;
	return M.h[*slot].s ? &M.h[*slot] : NULL;
}


/* ---- one input ----------------------------------------------------------- */

static void setup(uint8_t header)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_DGRAM, SOCK_STREAM,
				     SOCK_SEQPACKET };
	char path[64];
	int i, target;

	memset(&M, 0, sizeof(M));
	fz_baseline_take(&M.base);
	M.abi = header & 1 ? LUO_ABI_RFC : LUO_ABI_MAINLINE;
	M.sock_type = types[(header >> 1) & 3];
	for (i = 0; i < N_CTX_SLOTS; i++)
		M.ctx_slot[i] = -1;
	for (i = 0; i < N_FD_SLOTS; i++)
		M.fds[i] = -1;
	for (i = 0; i < N_SESS_SLOTS; i++)
		M.h[i].fd = -1;
	fz_check(luo_fake_new(M.abi, &M.fake) == 0);

	fz_check(socketpair(AF_UNIX, M.sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    0, M.sk) == 0);
	fz_own_add(&M.own, M.sk[0], "socket (send end)");
	fz_own_add(&M.own, M.sk[1], "socket (receive end)");
	fz_check(pipe2(M.pipe, O_CLOEXEC) == 0);
	fz_own_add(&M.own, M.pipe[0], "pipe (read end)");
	fz_own_add(&M.own, M.pipe[1], "pipe (write end)");
	target = fz_memfd("fuzz-opath", 16, 'p');
	snprintf(path, sizeof(path), "/proc/self/fd/%d", target);
	M.opath = open(path, O_PATH | O_CLOEXEC);
	fz_check(M.opath >= 0);
	close(target);
	fz_own_add(&M.own, M.opath, "O_PATH memfd");
	M.regfile = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	fz_check(M.regfile >= 0);
	fz_own_add(&M.own, M.regfile, "regular file");
	fz_trace("input: %s fake, socket type %d",
		 M.abi == LUO_ABI_RFC ? "RFC" : "mainline", M.sock_type);
}

/* Let go of everything: the process must be back to its baseline. */
static void teardown(void)
{
	int i, r;

	for (i = 0; i < N_SESS_SLOTS; i++) {
		if (!M.h[i].s)
			continue;
		r = luo_session_close(M.h[i].s, LUO_SESSION_CLOSE_FORCE);
		fz_check(r == 0, "luo_session_close(FORCE) = %d", r);
		model_handle_gone(i);
	}
	for (i = 0; i < N_CTX_SLOTS; i++) {
		int c = M.ctx_slot[i];

		if (c < 0)
			continue;
		while (M.ctx[c].refs > 0) {
			luo_ctx_unref(M.ctx[c].ctx);
			model_ctx_unref(c);
		}
		M.ctx_slot[i] = -1;
	}
	check_all();
	for (i = M.own.n - 1; i >= 0; i--)
		fz_own_close(&M.own, M.own.fds[i].fd);
	luo_fake_unref(M.fake);
	M.fake = NULL;
	fz_baseline_check_exact(&M.base, "after the input");
}

static void step(struct fz_in *in)
{
	uint8_t op = fz_u8(in) % NR_OPS;

	switch ((enum op)op) {
	case OP_CTX_NEW: op_ctx_new(in); break;
	case OP_CTX_REF: op_ctx_ref(in); break;
	case OP_CTX_UNREF: op_ctx_unref(in); break;
	case OP_CTX_CLOSE_DEVICE: op_ctx_close_device(in); break;
	case OP_SESS_CREATE: op_sess_open(in, true); break;
	case OP_SESS_RETRIEVE: op_sess_open(in, false); break;
	case OP_SESS_PRESERVE: op_sess_preserve(in); break;
	case OP_SESS_RETRIEVE_FD: op_sess_retrieve_fd(in); break;
	case OP_SESS_FINISH: op_sess_finish(in); break;
	case OP_SESS_CLOSE: op_sess_close(in); break;
	case OP_SESS_QUERY: op_sess_query(in); break;
	case OP_GET_STATE: op_get_state(in); break;
	case OP_FD_PRESERVE: op_fd_preserve(in); break;
	case OP_FD_UNPRESERVE: op_fd_unpreserve(in); break;
	case OP_FD_RESTORE: op_fd_restore(in); break;
	case OP_PREPARE: op_compat_call(in, 0); break;
	case OP_CANCEL: op_compat_call(in, 1); break;
	case OP_FINISH: op_compat_call(in, 2); break;
	case OP_TOKEN_QUERY: op_token_query(in); break;
	case OP_SEND: op_send(in); break;
	case OP_RECV: op_recv(in); break;
	case OP_ADOPT: op_adopt(in); break;
	case OP_RAW_SEND: op_raw_send(in); break;
	case OP_KEXEC: op_kexec(in); break;
	case OP_INJECT: op_inject(in); break;
	case OP_LIMITS: op_limits(in); break;
	case OP_MEMFD: op_memfd(in); break;
	case OP_CLOSE_FD: op_close_fd(in); break;
	case OP_RESIZE_FD: op_resize_fd(in); break;
	case NR_OPS: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };

	if (size < 1)
		return 0;
	setup(fz_u8(&in));
	check_all();
	for (M.step = 1; fz_more(&in) && M.step <= MAX_STEPS; M.step++) {
		step(&in);
		check_all();
	}
	teardown();
	return 0;
}
