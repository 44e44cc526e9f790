/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api's steps on contexts, sessions and the original API.  Each
 * decodes its arguments, makes the call, traces it, checks what the
 * contract promises about this one call, and updates the model
 * (fuzz-api.h); check_all() then compares the whole state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "fuzz-api.h"

/* ---- contexts ------------------------------------------------------------ */

void op_ctx_new(struct fz_in *in)
{
	uint8_t b = fz_u8(in);
	int slot = (b & 3) % N_CTX_SLOTS, c, r;
	bool device = b & 4;
	enum luo_abi abi = (enum luo_abi)((b >> 3) % 3), got;
	luo_ctx_opts_t *opts = NULL;
	luo_ctx_t *ctx = NULL;
	bool busy = false;

	if (M.ctx_slot[slot] >= 0)
		return;
	/* the device is single-open: held by a context of this boot */
	for (c = 0; c < MAX_CTX; c++)
		busy |= M.ctx[c].used && M.ctx[c].dev_open &&
			M.ctx[c].boot == M.boot;
	for (c = 0; c < MAX_CTX && M.ctx[c].used; c++)
		;
	if (c == MAX_CTX)
		return;
	fz_check(luo_ctx_opts_new(&opts) == 0);
	fz_check(luo_ctx_opts_set_fake(opts, M.fake) == 0);
	fz_check(luo_ctx_opts_set_abi(opts, abi) == 0);
	fz_check(luo_ctx_opts_set_open_device(opts, device) == 0);
	r = luo_ctx_new(opts, &ctx);
	luo_ctx_opts_free(opts);
	fz_trace("step %d: luo_ctx_new(device %d, abi %d) = %d -> ctx#%d",
		 M.step, device, abi, r, slot);
	if (r < 0) {
		fz_check(!ctx, "out-parameter written on failure");
		return;
	}
	/* these checks pass whatever was injected */
	fz_check(!device || !busy, "the device opened twice");
	fz_check(luo_ctx_get_abi(ctx, &got) == 0);
	fz_check(got == (device ? M.abi : LUO_ABI_MAINLINE),
		 "context speaks ABI %d", got);
	fz_check(!device || abi == LUO_ABI_AUTO || abi == M.abi,
		 "forced ABI %d accepted by a fake of ABI %d", abi, M.abi);
	memset(&M.ctx[c], 0, sizeof(M.ctx[c]));
	M.ctx[c].used = true;
	M.ctx[c].ctx = ctx;
	M.ctx[c].refs = 1;
	M.ctx[c].abi = got;
	M.ctx[c].dev_open = device;
	M.ctx[c].boot = M.boot;
	M.ctx_slot[slot] = c;
}

void op_ctx_ref(struct fz_in *in)
{
	int c = pick_ctx(in);

	if (c < 0 || M.ctx[c].refs >= 4)
		return;
	fz_check(luo_ctx_ref(M.ctx[c].ctx) == M.ctx[c].ctx);
	M.ctx[c].refs++;
	fz_trace("step %d: luo_ctx_ref(ctx) -> %d refs", M.step, M.ctx[c].refs);
}

void op_ctx_unref(struct fz_in *in)
{
	int slot = fz_u8(in) % N_CTX_SLOTS, c = M.ctx_slot[slot];

	if (c < 0)
		return;
	fz_check(luo_ctx_unref(M.ctx[c].ctx) == NULL);
	fz_trace("step %d: luo_ctx_unref(ctx#%d)", M.step, slot);
	if (M.ctx[c].refs == 1)
		M.ctx_slot[slot] = -1;
	model_ctx_unref(c);
}

void op_ctx_close_device(struct fz_in *in)
{
	int c = pick_ctx(in), r;

	if (c < 0)
		return;
	r = luo_ctx_close_device(M.ctx[c].ctx);
	fz_trace("step %d: luo_ctx_close_device() = %d", M.step, r);
	fz_check(r == (M.ctx[c].dev_open ? 0 : -ENODEV),
		 "close_device = %d", r);
	M.ctx[c].dev_open = false;
}

/* ---- sessions ------------------------------------------------------------ */

void op_sess_open(struct fz_in *in, bool create)
{
	int c = pick_ctx(in), slot = free_sess_slot(in), r, k, i;
	luo_session_t *s = NULL;
	char name[NAME_BUF];

	get_name(in, name);
	if (c < 0 || slot < 0)
		return;
	if (create && M.ctx[c].abi == LUO_ABI_MAINLINE && M.ctx[c].dev_open)
		M.ctx[c].index = true; /* whatever the result */
	r = create ? luo_session_create(M.ctx[c].ctx, name, &s)
		   : luo_session_retrieve(M.ctx[c].ctx, name, &s);
	fz_trace("step %d: luo_session_%s(\"%.20s\") = %d -> sess#%d", M.step,
		 create ? "create" : "retrieve", name, r, slot);
	if (r < 0) {
		fz_check(!s, "out-parameter written on failure");
		return;
	}
	fz_check(M.ctx[c].abi == LUO_ABI_MAINLINE && M.ctx[c].dev_open &&
		 M.ctx[c].boot == M.boot, "session made without a device");
	fz_check(strlen(name) >= 1 && strlen(name) <= LUO_SESSION_NAME_MAX,
		 "bad name accepted");
	fz_check(!name_reserved(name), "reserved name accepted");
	k = ksess_of_fd(luo_session_get_fd(s), name,
			create ? LUO_SESSION_OUTGOING : LUO_SESSION_INCOMING,
			M.boot);
	fz_check(M.ks[k].handles == 0 && M.ks[k].inflight == 0,
		 "a new session has the descriptor of a known one");
	if (!create) {
		for (i = 0; i < M.ncarried; i++)
			if (strcmp(M.carried[i].name, name) == 0)
				break;
		fz_check(i < M.ncarried, "retrieved \"%s\", which the last "
			 "kexec did not carry", name);
		fz_check(M.carried[i].internal || !M.carried[i].retrieved,
			 "\"%s\" retrieved twice", name);
		M.carried[i].retrieved = true;
		M.ks[k].carried = i;
		if (M.carried[i].internal || name_reserved(name))
			M.tampered = true;
	}
	handle_new(slot, s, c, k, false, M.ks[k].dir);
	if (!create)
		handle_record_loaded(slot);
}

void op_sess_preserve(struct fz_in *in)
{
	int slot, fd, r;
	struct m_handle *h = pick_handle(in, &slot);
	const char *what;
	uint64_t t;

	fd = pick_fd(in, &what);
	t = get_token(in);
	if (!h || h->ntok >= MAX_TOK ||
	    M.ks[h->ksess].preserved.n >= MAX_TOK)
		return;
	r = luo_session_preserve_fd(h->s, fd, t);
	fz_trace("step %d: luo_session_preserve_fd(sess#%d, %s fd %d, %#" PRIx64
		 ") = %d", M.step, slot, what, fd, t, r);
	fz_check(t < LUO_TOKEN_RESERVED_MIN || r == -EINVAL,
		 "preserve of libluo's token %#" PRIx64 ": %d", t, r);
	if (r < 0)
		return;
	fz_check(M.ks[h->ksess].dir == LUO_SESSION_OUTGOING &&
		 h->dir == LUO_SESSION_OUTGOING);
	handle_tok_set(h, t, LUO_TOKEN_PRESERVED);
	tokset_add(&M.ks[h->ksess].preserved, t);
}

void op_sess_retrieve_fd(struct fz_in *in)
{
	int slot, fd = SENTINEL_FD, i = free_fd_slot(), r;
	struct m_handle *h = pick_handle(in, &slot);
	uint64_t t = get_token(in);
	struct m_ksess *k;

	if (!h || i < 0 || h->ntok >= MAX_TOK)
		return;
	r = luo_session_retrieve_fd(h->s, t, &fd);
	fz_trace("step %d: luo_session_retrieve_fd(sess#%d, %#" PRIx64
		 ") = %d, fd %d", M.step, slot, t, r, fd);
	fz_check(t < LUO_TOKEN_RESERVED_MIN || r == -EINVAL,
		 "retrieve of libluo's token %#" PRIx64 ": %d", t, r);
	if (r < 0) {
		fz_check(fd == SENTINEL_FD, "out-parameter written on failure");
		return;
	}
	k = &M.ks[h->ksess];
	fz_check(k->dir == LUO_SESSION_INCOMING && !k->finished &&
		 k->boot == M.boot, "retrieved from a dead session");
	fz_check(k->carried < 0 || tokset_has(&M.carried[k->carried].tokens, t),
		 "retrieved a token the kexec did not carry");
	fz_check(fcntl(fd, F_GETFD) & FD_CLOEXEC, "retrieved fd not CLOEXEC");
	fd_slot_set(i, fd, FD_RETRIEVED);
	handle_tok_set(h, t, LUO_TOKEN_RESTORED);
}

void op_sess_finish(struct fz_in *in)
{
	int slot, r;
	struct m_handle *h = pick_handle(in, &slot);
	struct m_ksess *k;

	if (!h)
		return;
	r = luo_session_finish(h->s);
	fz_trace("step %d: luo_session_finish(sess#%d) = %d", M.step, slot, r);
	if (r < 0)
		return;
	k = &M.ks[h->ksess];
	fz_check(k->dir == LUO_SESSION_INCOMING);
	h->finished = true;
	if (k->boot == M.boot) {
		k->finished = true;
		if (k->carried >= 0)
			M.carried[k->carried].finished = true;
	}
}

void op_sess_close(struct fz_in *in)
{
	static const unsigned int flag_set[] = {
		0, LUO_SESSION_CLOSE_FORCE, 2, LUO_SESSION_CLOSE_FORCE | 4,
	};
	int slot, r, want;
	struct m_handle *h = pick_handle(in, &slot);
	unsigned int flags = flag_set[fz_u8(in) % 4];
	bool may_lose;

	if (!h)
		return;
	/* a handle from before a kexec has nothing left to lose */
	if (M.ks[h->ksess].boot != M.boot)
		may_lose = false;
	else if (h->dir == LUO_SESSION_OUTGOING)
		may_lose = !h->sent && (h->ntok > 0 || h->adopted);
	else
		may_lose = !h->sent && !h->finished;
	if (flags & ~(unsigned int)LUO_SESSION_CLOSE_FORCE)
		want = -EINVAL;
	else if (!(flags & LUO_SESSION_CLOSE_FORCE) && may_lose)
		want = -EBUSY;
	else
		want = 0;
	r = luo_session_close(h->s, flags);
	fz_trace("step %d: luo_session_close(sess#%d, %#x) = %d", M.step, slot,
		 flags, r);
	fz_check(r == want, "luo_session_close() = %d, the contract says %d",
		 r, want);
	if (r == 0)
		model_handle_gone(slot);
}

struct collect {
	uint64_t t[64];
	enum luo_token_state st[64];
	int n;
	int stop_at;
};

static int collect_cb(uint64_t t, enum luo_token_state st, void *u)
{
	struct collect *c = u;

	if (c->n < 64) {
		c->t[c->n] = t;
		c->st[c->n] = st;
	}
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

void op_sess_query(struct fz_in *in)
{
	int slot, r;
	struct m_handle *h = pick_handle(in, &slot);
	uint64_t t = get_token(in);
	enum luo_token_state st = 0;
	struct collect col = { .stop_at = 1 };

	if (!h)
		return;
	r = luo_session_token_lookup(h->s, t, &st);
	fz_trace("step %d: luo_session_token_lookup(sess#%d, %#" PRIx64
		 ") = %d, %d", M.step, slot, t, r, st);
	fz_check(r == 0 || r == -ENOENT);
	r = luo_session_token_foreach(h->s, collect_cb, &col);
	fz_check(r == (h->ntok ? 42 : 0), "foreach's stop value: %d", r);
	fz_check(luo_session_token_foreach(h->s, NULL, NULL) == -EINVAL);
	fz_check(luo_session_token_lookup(h->s, t, NULL) == -EINVAL);
}

/* ---- the original API ---------------------------------------------------- */

void op_get_state(struct fz_in *in)
{
	int c = pick_ctx(in), r;
	enum luo_state st = LUO_STATE_UNDEFINED, fst;

	if (c < 0)
		return;
	M.ctx[c].compat = true;
	r = luo_get_state(M.ctx[c].ctx, &st);
	fz_trace("step %d: luo_get_state() = %d, %s", M.step, r,
		 luo_state_to_string(st));
	if (r < 0)
		return;
	if (M.ctx[c].abi == LUO_ABI_RFC) {
		fz_check(luo_fake_get_state(M.fake, &fst) == 0);
		fz_check(st == fst, "RFC state %d, the fake's %d", st, fst);
	} else {
		fz_check(st != LUO_STATE_FROZEN && st != LUO_STATE_UNDEFINED);
		fz_check((st == LUO_STATE_PREPARED) == M.ctx[c].prepared,
			 "state %d after prepare %d", st, M.ctx[c].prepared);
	}
}

void op_fd_preserve(struct fz_in *in)
{
	int c = pick_ctx(in), fd, r;
	const char *what;
	uint64_t t;

	fd = pick_fd(in, &what);
	t = get_token(in);
	if (c < 0 || M.rfc_out.n >= MAX_TOK || luo_token_count(M.ctx[c].ctx) >= MAX_TOK)
		return;
	M.ctx[c].compat = true;
	r = luo_fd_preserve(M.ctx[c].ctx, fd, t);
	fz_trace("step %d: luo_fd_preserve(%s fd %d, %#" PRIx64 ") = %d",
		 M.step, what, fd, t, r);
	if (r == 0 && M.ctx[c].abi == LUO_ABI_RFC)
		tokset_add(&M.rfc_out, t);
}

void op_fd_unpreserve(struct fz_in *in)
{
	int c = pick_ctx(in), r;
	uint64_t t = get_token(in);

	if (c < 0)
		return;
	M.ctx[c].compat = true;
	r = luo_fd_unpreserve(M.ctx[c].ctx, t);
	fz_trace("step %d: luo_fd_unpreserve(%#" PRIx64 ") = %d", M.step, t, r);
	if (r == 0 && M.ctx[c].abi == LUO_ABI_RFC)
		tokset_del(&M.rfc_out, t);
}

void op_fd_restore(struct fz_in *in)
{
	int c = pick_ctx(in), i = free_fd_slot(), fd = SENTINEL_FD, r;
	uint64_t t = get_token(in);

	if (c < 0 || i < 0)
		return;
	M.ctx[c].compat = true;
	r = luo_fd_restore(M.ctx[c].ctx, t, &fd);
	fz_trace("step %d: luo_fd_restore(%#" PRIx64 ") = %d, fd %d", M.step,
		 t, r, fd);
	if (r < 0) {
		fz_check(fd == SENTINEL_FD, "out-parameter written on failure");
		return;
	}
	fz_check(fcntl(fd, F_GETFD) & FD_CLOEXEC, "restored fd not CLOEXEC");
	fd_slot_set(i, fd, FD_RETRIEVED);
	if (M.ctx[c].abi == LUO_ABI_RFC) {
		fz_check(tokset_has(&M.rfc_in, t), "restored a token the "
			 "kexec did not carry");
		tokset_del(&M.rfc_in, t);
	} else {
		fz_check(M.tampered || tokset_has(&M.manifest_tokens, t),
			 "restored a token the manifest did not list");
	}
}

void op_compat_call(struct fz_in *in, int which)
{
	static const char *const names[] = { "prepare", "cancel", "finish" };
	int c = pick_ctx(in), r;

	if (c < 0)
		return;
	M.ctx[c].compat = true;
	r = which == 0 ? luo_prepare(M.ctx[c].ctx) :
	    which == 1 ? luo_cancel(M.ctx[c].ctx) : luo_finish(M.ctx[c].ctx);
	fz_trace("step %d: luo_%s() = %d", M.step, names[which], r);
	if (r < 0)
		return;
	if (M.ctx[c].abi == LUO_ABI_RFC) {
		if (which == 2)
			M.rfc_in.n = 0;
		return;
	}
	if (which == 0)
		M.ctx[c].prepared = true;
	else if (which == 1)
		M.ctx[c].prepared = false;
	else
		M.ctx[c].finished = true;
}

void op_token_query(struct fz_in *in)
{
	int c = pick_ctx(in), r, n;
	uint64_t t = get_token(in);
	enum luo_token_state st = 0;
	struct collect col = { .stop_at = 2 };

	if (c < 0)
		return;
	M.ctx[c].compat = true;
	/* listing may load the manifest: what that can fail with */
	r = luo_token_lookup(M.ctx[c].ctx, t, &st);
	fz_trace("step %d: luo_token_lookup(%#" PRIx64 ") = %d, %d", M.step, t,
		 r, st);
	fz_check(r == 0 || r == -ENOENT || errno_documented(r, EIO, EMFILE,
							    ENOMEM) ||
		 listing_known_defect(c, r), "luo_token_lookup() = %d", r);
	n = luo_token_count(M.ctx[c].ctx);
	fz_check(n >= 0 || errno_documented(n, EIO, EMFILE, ENOMEM) ||
		 listing_known_defect(c, n), "luo_token_count() = %d", n);
	r = luo_token_foreach(M.ctx[c].ctx, collect_cb, &col);
	fz_check(r == 42 || r == 0 ||
		 errno_documented(r, EIO, EMFILE, ENOMEM) ||
		 listing_known_defect(c, r), "luo_token_foreach() = %d", r);
	if (n >= 0 && r >= 0)
		fz_check(r == (n >= 2 ? 42 : 0), "foreach's stop value: %d",
			 r);
}
