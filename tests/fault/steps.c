/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state of a scenario and its steps (fault.h): each step is one call,
 * checks that a failed call left its out-parameters alone, and records
 * what a successful one made.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect.h"
#include "fault-private.h"
#include "files.h"

const char *const fault_op_names[NOPS] = {
	[LUO_FAKE_OP_ALL] = "ALL",
	[LUO_FAKE_OP_OPEN] = "OPEN",
	[LUO_FAKE_OP_CREATE_SESSION] = "CREATE_SESSION",
	[LUO_FAKE_OP_RETRIEVE_SESSION] = "RETRIEVE_SESSION",
	[LUO_FAKE_OP_PRESERVE_FD] = "PRESERVE_FD",
	[LUO_FAKE_OP_RETRIEVE_FD] = "RETRIEVE_FD",
	[LUO_FAKE_OP_FINISH] = "FINISH",
	[LUO_FAKE_OP_UNPRESERVE_FD] = "UNPRESERVE_FD",
	[LUO_FAKE_OP_PREPARE] = "PREPARE",
	[LUO_FAKE_OP_KEXEC] = "KEXEC",
};

const char *fault_errname(int r)
{
	const char *n = strerrorname_np(r < 0 ? -r : r);

	return r == 0 ? "0" : n ? n : "?";
}

/* ---- how a case process reports ----------------------------------------- */

struct fresult *fault_result;

void fault_where(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fault_result->where, sizeof(fault_result->where), fmt, ap);
	va_end(ap);
}

void ffail(const char *fmt, ...)
{
	struct fresult *r = fault_result;
	size_t n;
	va_list ap;

	n = (size_t)snprintf(r->msg, sizeof(r->msg), "%s: ", r->where);
	if (n >= sizeof(r->msg))
		n = sizeof(r->msg) - 1;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - n, fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	_exit(1);
}

/* ---- the state ---------------------------------------------------------- */

static size_t file_len(int i)
{
	return 1500 + 4096 * (size_t)i;
}

void fsc_init(struct fsc *s, const struct fscenario *sc)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->sc = sc;
	r = luo_fake_new(sc->abi, &s->fake);
	if (r < 0)
		ffail("luo_fake_new: %s", fault_errname(r));
	for (int i = 0; i < 2; i++) {
		r = luo_ctx_opts_new(&s->opts[i]);
		if (r == 0)
			r = luo_ctx_opts_set_fake(s->opts[i], s->fake);
		if (r == 0 && i == 1)
			r = luo_ctx_opts_set_open_device(s->opts[i], false);
		if (r < 0)
			ffail("options: %s", fault_errname(r));
	}
	for (int i = 0; i < FSC_FILES; i++) {
		s->file[i] = memfd_pattern(0xfa17 + (uint64_t)i, file_len(i));
		s->got[i] = -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sock) < 0)
		ffail("socketpair: %s", strerror(errno));
}

void fsc_fini(struct fsc *s)
{
	for (int i = 0; i < FSC_SESS; i++) {
		int r;

		if (!s->sess[i].h)
			continue;
		r = luo_session_close(s->sess[i].h, LUO_SESSION_CLOSE_FORCE);
		if (r < 0)
			ffail("luo_session_close(session %d, FORCE): %s", i,
			      fault_errname(r));
		s->sess[i].h = NULL;
	}
	for (int i = 0; i < FSC_CTX; i++)
		s->ctx[i] = luo_ctx_unref(s->ctx[i]);
	for (int i = 0; i < 2; i++)
		luo_ctx_opts_free(s->opts[i]);
	s->fake = luo_fake_unref(s->fake);
	for (int i = 0; i < FSC_FILES; i++) {
		close(s->file[i]);
		if (s->got[i] >= 0)
			close(s->got[i]);
	}
	close(s->sock[0]);
	close(s->sock[1]);
}

int fsc_boot(struct fsc *s)
{
	int b = luo_fake_get_boot(s->fake);

	if (b < 0)
		ffail("luo_fake_get_boot: %s", fault_errname(b));
	return b;
}

/* ---- the steps ---------------------------------------------------------- */

static luo_ctx_t *ctx_of(struct fsc *s, int c)
{
	if (!s->ctx[c])
		ffail("scenario: no context in slot %d", c);
	return s->ctx[c];
}

static luo_session_t *sess_of(struct fsc *s, int i)
{
	if (!s->sess[i].h)
		ffail("scenario: no session in slot %d", i);
	return s->sess[i].h;
}

/* Asserts that @fd has the bytes of the scenario's file @i. */
static void expect_same_bytes(struct fsc *s, int fd, int i)
{
	size_t len = file_len(i);
	unsigned char *a = malloc(len), *b = malloc(len);
	struct stat st;

	if (!a || !b)
		ffail("out of memory");
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != len)
		ffail("the file that came back has %lld bytes, not %zu",
		      (long long)st.st_size, len);
	if (pread(fd, a, len, 0) != (ssize_t)len ||
	    pread(s->file[i], b, len, 0) != (ssize_t)len)
		ffail("pread: %s", strerror(errno));
	if (memcmp(a, b, len))
		ffail("the file that came back has other bytes than file %d",
		      i);
	free(a);
	free(b);
}

static void keep_got(struct fsc *s, int i, int fd)
{
	expect_same_bytes(s, fd, i);
	if (s->got[i] >= 0)
		close(s->got[i]);
	s->got[i] = fd;
}

#define UNTOUCHED(call, var, sentinel)                                   \
	do {                                                             \
		if ((var) != (sentinel))                                 \
			ffail("%s failed with %d (%s) and wrote its "    \
			      "out-parameter", call, r, fault_errname(r));     \
	} while (0)

int fst_ctx_new(struct fsc *s, const struct fstep *t)
{
	luo_ctx_t *c = SENTINEL_PTR;
	int r = luo_ctx_new(s->opts[t->b], &c);

	if (r < 0) {
		UNTOUCHED("luo_ctx_new", c, SENTINEL_PTR);
		return r;
	}
	s->ctx[t->a] = c;
	s->ctx_boot[t->a] = fsc_boot(s);
	s->ctx_nodev[t->a] = t->b;
	s->prepared[t->a] = false;
	s->index_tried[t->a] = false;
	return 0;
}

int fst_ctx_unref(struct fsc *s, const struct fstep *t)
{
	s->ctx[t->a] = luo_ctx_unref(ctx_of(s, t->a));
	return 0;
}

int fst_close_device(struct fsc *s, const struct fstep *t)
{
	int r = luo_ctx_close_device(ctx_of(s, t->a));

	if (r == 0)
		s->ctx_nodev[t->a] = true;
	return r;
}

static int open_session(struct fsc *s, const struct fstep *t, bool create)
{
	luo_session_t *h = SENTINEL_PTR;
	int r;

	if (create)
		s->index_tried[t->b] = true;
	r = create ? luo_session_create(ctx_of(s, t->b), t->str, &h)
		   : luo_session_retrieve(ctx_of(s, t->b), t->str, &h);

	if (r < 0) {
		UNTOUCHED(create ? "luo_session_create" :
				   "luo_session_retrieve", h, SENTINEL_PTR);
		return r;
	}
	if (s->sess[t->a].h)
		ffail("scenario: session slot %d is taken", t->a);
	s->sess[t->a] = (struct fsc_sess){ .h = h, .boot = fsc_boot(s),
					   .created = create,
					   .incoming = !create };
	return 0;
}

int fst_create(struct fsc *s, const struct fstep *t)
{
	return open_session(s, t, true);
}

int fst_retrieve(struct fsc *s, const struct fstep *t)
{
	return open_session(s, t, false);
}

int fst_preserve(struct fsc *s, const struct fstep *t)
{
	return luo_session_preserve_fd(sess_of(s, t->a), s->file[t->b],
				       t->token);
}

int fst_retrieve_fd(struct fsc *s, const struct fstep *t)
{
	int fd = SENTINEL_INT;
	int r = luo_session_retrieve_fd(sess_of(s, t->a), t->token, &fd);

	if (r < 0) {
		UNTOUCHED("luo_session_retrieve_fd", fd, SENTINEL_INT);
		return r;
	}
	keep_got(s, t->b, fd);
	return 0;
}

int fst_finish(struct fsc *s, const struct fstep *t)
{
	int r = luo_session_finish(sess_of(s, t->a));

	if (r == 0)
		s->sess[t->a].finished = true;
	return r;
}

int fst_close(struct fsc *s, const struct fstep *t)
{
	int r = luo_session_close(sess_of(s, t->a), (unsigned int)t->b);

	if (r == 0)
		s->sess[t->a].h = NULL;
	return r;
}

int fst_send(struct fsc *s, const struct fstep *t)
{
	const char *name;
	int r = luo_session_send(sess_of(s, t->a), s->sock[0]);

	if (r == 0 && luo_session_get_name(s->sess[t->a].h, &name) == 0) {
		snprintf(s->flight, sizeof(s->flight), "%s", name);
		s->flight_boot = fsc_boot(s);
	}
	return r;
}

int fst_recv(struct fsc *s, const struct fstep *t)
{
	luo_session_t *h = SENTINEL_PTR;
	enum luo_session_direction dir;
	const char *name;
	int r = luo_session_recv(ctx_of(s, t->b), s->sock[1], &h);

	if (r < 0) {
		UNTOUCHED("luo_session_recv", h, SENTINEL_PTR);
		return r;
	}
	if (s->sess[t->a].h)
		ffail("scenario: session slot %d is taken", t->a);
	s->sess[t->a] = (struct fsc_sess){ .h = h, .boot = fsc_boot(s) };
	s->flight[0] = '\0';
	if (luo_session_get_name(h, &name) < 0 || strcmp(name, t->str))
		ffail("the session received is not \"%s\"", t->str);
	if (luo_session_get_direction(h, &dir) < 0 ||
	    dir != LUO_SESSION_OUTGOING)
		ffail("the session received is not outgoing");
	return 0;
}

int fst_kexec(struct fsc *s, const struct fstep *t)
{
	(void)t;
	return luo_fake_kexec(s->fake);
}

int fst_fd_preserve(struct fsc *s, const struct fstep *t)
{
	return luo_fd_preserve(ctx_of(s, t->a), s->file[t->b], t->token);
}

int fst_fd_unpreserve(struct fsc *s, const struct fstep *t)
{
	return luo_fd_unpreserve(ctx_of(s, t->a), t->token);
}

int fst_fd_restore(struct fsc *s, const struct fstep *t)
{
	int fd = SENTINEL_INT;
	int r = luo_fd_restore(ctx_of(s, t->a), t->token, &fd);

	if (r < 0) {
		UNTOUCHED("luo_fd_restore", fd, SENTINEL_INT);
		return r;
	}
	keep_got(s, t->b, fd);
	return 0;
}

int fst_prepare(struct fsc *s, const struct fstep *t)
{
	int r = luo_prepare(ctx_of(s, t->a));

	if (r == 0)
		s->prepared[t->a] = true;
	return r;
}

int fst_cancel(struct fsc *s, const struct fstep *t)
{
	int r = luo_cancel(ctx_of(s, t->a));

	if (r == 0)
		s->prepared[t->a] = false;
	return r;
}

int fst_luo_finish(struct fsc *s, const struct fstep *t)
{
	return luo_finish(ctx_of(s, t->a));
}

int fst_get_state(struct fsc *s, const struct fstep *t)
{
	enum luo_state st = (enum luo_state)SENTINEL_INT;
	int want = s->sc->abi == LUO_ABI_RFC ? t->c : t->b;
	int r = luo_get_state(ctx_of(s, t->a), &st);

	if (r < 0) {
		UNTOUCHED("luo_get_state", (int)st, SENTINEL_INT);
		return r;
	}
	if ((int)st != want)
		ffail("luo_get_state() says %s, expected %s",
		      luo_state_to_string(st),
		      luo_state_to_string((enum luo_state)want));
	return 0;
}

int fst_get_fd(struct fsc *s, const struct fstep *t)
{
	int r = luo_session_get_fd(sess_of(s, t->a));

	return r < 0 ? r : 0;
}

int fst_token_count(struct fsc *s, const struct fstep *t)
{
	int want = s->sc->abi == LUO_ABI_RFC ? t->c : t->b;
	int r = luo_token_count(ctx_of(s, t->a));

	if (r < 0)
		return r;
	if (r != want)
		ffail("luo_token_count() says %d, expected %d", r, want);
	return 0;
}
