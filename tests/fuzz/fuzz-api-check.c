/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api's invariants, checked after every step:
 *
 *  1. the harness's own descriptors are open and unchanged;
 *  2. every public session handle: name, direction, descriptor, and its
 *     token table (lookup, count, foreach agree) equal the model's: the
 *     tokens libluo said it preserved or retrieved through that handle;
 *  3. libluo's bookkeeping against the fake's truth
 *     (luo_fake_foreach_file()):
 *     mainline: the files of every open outgoing session are exactly the
 *       tokens preserved in it; every token a context lists PRESERVED is
 *       the file of its own "libluo.tok.<token>" session, and every such
 *       file is a PRESERVED token of a context; the manifest exists
 *       exactly while a context is prepared; incoming files are those the
 *       last kexec carried, until finished or released; the original
 *       API's INCOMING and RESTORED tokens are the carried manifest's;
 *       libluo's own files (tests/common/libluo-own.h): the record of
 *       every session it preserved into (reserved tokens, segment 0 at
 *       least), carried with it; the index session of a context that
 *       created sessions; the manifest is a record (its token
 *       LUO_TOKEN_RESERVED_MIN); a handle of an incoming session lists
 *       what the record says (INCOMING), or nothing if it could not be
 *       read after an injected failure;
 *     RFC: the outgoing and incoming lists are exactly the tokens
 *       preserved (and not unpreserved), and carried (and not restored);
 *  4. the descriptor table holds exactly: the baseline, the harness's
 *     own, one memfd per file the fake holds, the fake's epoll, one
 *     socket per public handle, and socket pairs for the fake's other
 *     handles (devices of live contexts, sessions in flight, the
 *     original API's own sessions, whose number must fit what the
 *     contexts' token tables allow, and at most one index session per
 *     context that created sessions).  Anything else is a leak.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-api.h"
#include "libluo-own.h"

/* ---- small sets and the model's lifetimes ------------------------------- */

bool tokset_has(const struct tokset *s, uint64_t t)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->t[i] == t)
			return true;
	return false;
}

void tokset_add(struct tokset *s, uint64_t t)
{
	if (tokset_has(s, t))
		return;
	fz_check(s->n < MAX_TOK, "token set full");
	s->t[s->n++] = t;
}

void tokset_del(struct tokset *s, uint64_t t)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->t[i] == t) {
			s->t[i] = s->t[--s->n];
			return;
		}
}

bool name_reserved(const char *name)
{
	return strncmp(name, LUO_RESERVED_PREFIX,
		       strlen(LUO_RESERVED_PREFIX)) == 0;
}

void model_ksess_unref(int k)
{
	struct m_ksess *s = &M.ks[k];

	if (s->handles || s->inflight)
		return;
	/* its last descriptor is gone: the fake releases it */
	if (s->dir == LUO_SESSION_INCOMING && s->carried >= 0 &&
	    s->boot == M.boot)
		M.carried[s->carried].released = true;
	s->used = false;
}

static void ctx_maybe_gone(int c)
{
	if (M.ctx[c].refs || M.ctx[c].handles)
		return;
	memset(&M.ctx[c], 0, sizeof(M.ctx[c]));
}

void model_ctx_unref(int c)
{
	M.ctx[c].refs--;
	ctx_maybe_gone(c);
}

void model_handle_gone(int slot)
{
	struct m_handle *h = &M.h[slot];
	int k = h->ksess, c = h->ctx;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	M.ks[k].handles--;
	model_ksess_unref(k);
	M.ctx[c].handles--;
	ctx_maybe_gone(c);
}

/* ---- what libluo and the fake report ------------------------------------- */

struct files_collect {
	struct fake_file *out;
	int n;
};

static int file_cb(const char *session, enum luo_session_direction dir,
		   uint64_t token, void *userdata)
{
	struct files_collect *c = userdata;
	struct fake_file *f;

	fz_check(c->n < FAKE_FILES_MAX, "the fake holds too many files");
	f = &c->out[c->n++];
	memset(f, 0, sizeof(*f));
	f->has_name = session != NULL;
	if (session)
		snprintf(f->name, NAME_BUF, "%s", session);
	f->dir = dir;
	f->token = token;
	return 0;
}

int fake_files(struct fake_file *out)
{
	struct files_collect c = { out, 0 };
	int r;

#if FUZZ_AVOID_FOREACH_FILE_NULL_PLUS_ZERO
	r = luo_fake_file_count(M.fake);
	fz_check(r >= 0, "luo_fake_file_count: %d", r);
	if (r == 0)
		return 0;
#endif
	r = luo_fake_foreach_file(M.fake, file_cb, &c);
	fz_check(r == 0, "luo_fake_foreach_file: %d", r);
	return c.n;
}

static bool has_file(const struct fake_file *f, int n, const char *name,
		     enum luo_session_direction dir, uint64_t token)
{
	int i;

	for (i = 0; i < n; i++)
		if (f[i].dir == dir && f[i].token == token &&
		    (name ? f[i].has_name && strcmp(f[i].name, name) == 0
			  : !f[i].has_name))
			return true;
	return false;
}

struct tok_collect {
	enum luo_token_state want;
	struct tokset *set;
	int n;
};

static int tok_cb(uint64_t t, enum luo_token_state st, void *userdata)
{
	struct tok_collect *c = userdata;

	fz_check(st == LUO_TOKEN_PRESERVED || st == LUO_TOKEN_INCOMING ||
		 st == LUO_TOKEN_RESTORED, "token state %d", st);
	c->n++;
	if (!c->want || c->want == st)
		tokset_add(c->set, t);
	return 0;
}

int ctx_tokens(luo_ctx_t *ctx, enum luo_token_state state, struct tokset *set)
{
	struct tok_collect c = { state, set, 0 };
	int r = luo_token_foreach(ctx, tok_cb, &c);

	return r < 0 ? r : c.n;
}

static void token_name(uint64_t t, char name[NAME_BUF])
{
	snprintf(name, NAME_BUF, "libluo.tok.%016" PRIx64, t);
}

/* ---- 2: public handles --------------------------------------------------- */

struct handle_collect {
	const struct m_handle *h;
	int n;
};

static int handle_tok_cb(uint64_t t, enum luo_token_state st, void *userdata)
{
	struct handle_collect *c = userdata;
	int i;

	c->n++;
	for (i = 0; i < c->h->ntok; i++)
		if (c->h->tok[i] == t) {
			fz_check(c->h->tok_state[i] == st, "token %#" PRIx64
				 " is %d, the model says %d", t, st,
				 c->h->tok_state[i]);
			return 0;
		}
	fz_fail("libluo lists token %#" PRIx64 " (state %d) that no call "
		"preserved or retrieved through this handle", t, st);
}

static void check_handle(int slot)
{
	const struct m_handle *h = &M.h[slot];
	const struct m_ksess *k = &M.ks[h->ksess];
	struct handle_collect col = { h, 0 };
	enum luo_session_direction dir;
	enum luo_token_state st;
	const char *name;
	int i, r;

	fz_check(k->used, "sess#%d: its session left the model", slot);
	fz_check(luo_session_get_name(h->s, &name) == 0);
	fz_check(strcmp(name, k->name) == 0, "sess#%d is named \"%s\", not "
		 "\"%s\"", slot, name, k->name);
	fz_check(luo_session_get_direction(h->s, &dir) == 0 && dir == h->dir,
		 "sess#%d: direction %d, the model %d", slot, dir, h->dir);
	fz_check(luo_session_get_fd(h->s) == h->fd, "sess#%d: fd changed",
		 slot);
	r = luo_session_token_count(h->s);
	fz_check(r == h->ntok, "sess#%d: %d tokens, the model %d", slot, r,
		 h->ntok);
	fz_check(luo_session_token_foreach(h->s, handle_tok_cb, &col) == 0);
	fz_check(col.n == h->ntok, "sess#%d: foreach saw %d tokens, count "
		 "said %d", slot, col.n, h->ntok);
	for (i = 0; i < h->ntok; i++) {
		r = luo_session_token_lookup(h->s, h->tok[i], &st);
		fz_check(r == 0 && st == h->tok_state[i], "sess#%d: lookup "
			 "%#" PRIx64 " = %d", slot, h->tok[i], r);
	}
}

/* ---- 3: bookkeeping against the fake ------------------------------------- */

static const struct m_ksess *open_outgoing(const char *name)
{
	int i;

	for (i = 0; i < MAX_KSESS; i++)
		if (M.ks[i].used && M.ks[i].dir == LUO_SESSION_OUTGOING &&
		    M.ks[i].boot == M.boot && strcmp(M.ks[i].name, name) == 0)
			return &M.ks[i];
	return NULL;
}

static bool carried_live(const struct m_carried *c)
{
	return !(c->retrieved && (c->finished || c->released));
}

/* What the contexts know: live for those of this boot on the fake's ABI;
 * known unless listing their tokens failed. */
struct ctx_view {
	bool live, known;
	int total;
	struct tokset preserved, incoming, restored;
};

static void check_mainline(const struct fake_file *f, int n,
			   const struct ctx_view *cv)
{
	char name[NAME_BUF];
	bool finished = false;
	int i, j, c;

	for (c = 0; c < MAX_CTX; c++)
		finished |= cv[c].live && M.ctx[c].finished;
	for (i = 0; i < n; i++) {
		const struct m_ksess *k;

		fz_check(f[i].has_name, "a mainline file without a session");
		if (f[i].dir == LUO_SESSION_INCOMING) {
			for (j = 0; j < M.ncarried; j++)
				if (strcmp(M.carried[j].name, f[i].name) == 0)
					break;
			fz_check(j < M.ncarried, "the fake holds incoming "
				 "\"%s\", which the kexec did not carry",
				 f[i].name);
			fz_check(tokset_has(&M.carried[j].tokens, f[i].token) ||
				 tokset_has(&M.carried[j].record, f[i].token),
				 "incoming \"%s\" holds %#" PRIx64 ", which "
				 "the kexec did not carry", f[i].name,
				 f[i].token);
			fz_check(M.carried[j].internal ||
				 carried_live(&M.carried[j]),
				 "incoming \"%s\" still holds %#" PRIx64
				 " after it was finished or released",
				 f[i].name, f[i].token);
			if (!M.carried[j].internal || M.tampered || !finished ||
			    tb_session_is_index(f[i].name))
				continue;
			fz_check(strcmp(f[i].name, "libluo.manifest") != 0,
				 "the manifest is still there after "
				 "luo_finish()");
			fz_check(!tokset_has(&M.manifest_tokens, f[i].token),
				 "token %#" PRIx64 " still incoming after "
				 "luo_finish()", f[i].token);
			continue;
		}
		if (!name_reserved(f[i].name)) {
			k = open_outgoing(f[i].name);
			fz_check(k, "the fake holds %#" PRIx64 " in \"%s\", a "
				 "session the harness does not hold open",
				 f[i].token, f[i].name);
			if (tb_token_is_libluos(f[i].token))
				continue; /* its record: below */
			fz_check(tokset_has(&k->preserved, f[i].token),
				 "the fake holds %#" PRIx64 " in \"%s\", which "
				 "libluo did not report preserved",
				 f[i].token, f[i].name);
			continue;
		}
		if (tb_session_is_index(f[i].name)) {
			/* a context's index: libluo's own */
			for (c = 0; c < MAX_CTX; c++)
				if (M.ctx[c].used && M.ctx[c].index &&
				    M.ctx[c].boot == M.boot)
					break;
			fz_check(tb_index_slot(f[i].name) >= 0 &&
				 tb_token_is_libluos(f[i].token) &&
				 c < MAX_CTX, "index \"%s\" holds %#" PRIx64
				 ", and no context of this boot created "
				 "sessions", f[i].name, f[i].token);
			continue;
		}
		if (strcmp(f[i].name, "libluo.manifest") == 0) {
			for (c = 0; c < MAX_CTX; c++)
				if (cv[c].live && M.ctx[c].prepared)
					break;
			/* a record, at libluo's first reserved token */
			fz_check(f[i].token == LUO_TOKEN_RESERVED_MIN &&
				 c < MAX_CTX,
				 "a manifest, and no context is prepared");
			continue;
		}
		token_name(f[i].token, name);
		fz_check(strcmp(name, f[i].name) == 0, "token %#" PRIx64
			 " in \"%s\"", f[i].token, f[i].name);
		for (c = 0; c < MAX_CTX; c++)
			if (cv[c].live && (!cv[c].known ||
			    tokset_has(&cv[c].preserved, f[i].token)))
				break;
		fz_check(c < MAX_CTX, "the fake holds original-API token %#"
			 PRIx64 ", which no context lists as PRESERVED",
			 f[i].token);
	}

	for (i = 0; i < MAX_KSESS; i++) {
		const struct m_ksess *k = &M.ks[i];

		if (!k->used || k->dir != LUO_SESSION_OUTGOING ||
		    k->boot != M.boot)
			continue;
		for (j = 0; j < k->preserved.n; j++)
			fz_check(has_file(f, n, k->name, LUO_SESSION_OUTGOING,
					  k->preserved.t[j]),
				 "libluo preserved %#" PRIx64 " in \"%s\", "
				 "the fake does not hold it",
				 k->preserved.t[j], k->name);
		/* what libluo preserved is in its record: segment 0 at
		 * least */
		if (k->preserved.n)
			fz_check(has_file(f, n, k->name, LUO_SESSION_OUTGOING,
					  LUO_TOKEN_RESERVED_MIN),
				 "\"%s\" holds files of libluo's, and no "
				 "record", k->name);
	}
	for (i = 0; i < M.ncarried; i++) {
		const struct m_carried *cr = &M.carried[i];

		if (cr->internal || !carried_live(cr))
			continue;
		for (j = 0; j < cr->tokens.n; j++)
			fz_check(has_file(f, n, cr->name, LUO_SESSION_INCOMING,
					  cr->tokens.t[j]),
				 "the kexec carried %#" PRIx64 " in \"%s\", "
				 "the fake lost it", cr->tokens.t[j],
				 cr->name);
		for (j = 0; j < cr->record.n; j++)
			fz_check(has_file(f, n, cr->name, LUO_SESSION_INCOMING,
					  cr->record.t[j]),
				 "the kexec carried the record %#" PRIx64 " of "
				 "\"%s\", the fake lost it", cr->record.t[j],
				 cr->name);
	}
	for (c = 0; c < MAX_CTX; c++) {
		if (!cv[c].live)
			continue;
		for (j = 0; j < cv[c].preserved.n; j++) {
			token_name(cv[c].preserved.t[j], name);
			fz_check(has_file(f, n, name, LUO_SESSION_OUTGOING,
					  cv[c].preserved.t[j]),
				 "a context lists %#" PRIx64 " PRESERVED, the "
				 "fake does not hold it", cv[c].preserved.t[j]);
		}
		if (M.ctx[c].prepared)
			fz_check(has_file(f, n, "libluo.manifest",
					  LUO_SESSION_OUTGOING,
					  LUO_TOKEN_RESERVED_MIN),
				 "a prepared context, and no manifest");
		if (M.tampered)
			continue;
		for (j = 0; j < cv[c].incoming.n; j++)
			fz_check(tokset_has(&M.manifest_tokens,
					    cv[c].incoming.t[j]),
				 "INCOMING %#" PRIx64 " is in no manifest",
				 cv[c].incoming.t[j]);
		for (j = 0; j < cv[c].restored.n; j++)
			fz_check(tokset_has(&M.manifest_tokens,
					    cv[c].restored.t[j]),
				 "RESTORED %#" PRIx64 " is in no manifest",
				 cv[c].restored.t[j]);
	}
}

static void check_rfc(const struct fake_file *f, int n,
		      const struct ctx_view *cv)
{
	struct tokset out = { .n = 0 }, in = { .n = 0 };
	int i, c;

	for (i = 0; i < n; i++) {
		fz_check(!f[i].has_name, "an RFC file in a session");
		tokset_add(f[i].dir == LUO_SESSION_OUTGOING ? &out : &in,
			   f[i].token);
	}
	fz_check(out.n == M.rfc_out.n && in.n == M.rfc_in.n,
		 "the RFC lists hold %d and %d files, the model %d and %d",
		 out.n, in.n, M.rfc_out.n, M.rfc_in.n);
	for (i = 0; i < out.n; i++)
		fz_check(tokset_has(&M.rfc_out, out.t[i]), "the fake holds "
			 "%#" PRIx64 ", which libluo did not preserve",
			 out.t[i]);
	for (i = 0; i < in.n; i++)
		fz_check(tokset_has(&M.rfc_in, in.t[i]), "the fake holds "
			 "incoming %#" PRIx64 ", not carried or restored",
			 in.t[i]);
	for (c = 0; c < MAX_CTX; c++) {
		if (!cv[c].live)
			continue;
		for (i = 0; i < cv[c].preserved.n; i++)
			fz_check(tokset_has(&out, cv[c].preserved.t[i]),
				 "a context lists %#" PRIx64 " PRESERVED, the "
				 "fake does not hold it", cv[c].preserved.t[i]);
		for (i = 0; i < cv[c].restored.n; i++)
			fz_check(!tokset_has(&in, cv[c].restored.t[i]),
				 "restored %#" PRIx64 " still in the list",
				 cv[c].restored.t[i]);
	}
}

/* Token tables of the contexts the original API was used on (listing
 * the others would load the manifest, a change of their state): lookup,
 * count and foreach agree; the views of this boot's contexts. */
static void check_contexts(struct ctx_view *cv)
{
	struct tokset all;
	enum luo_token_state st;
	enum luo_abi abi;
	int c, i, r, n;

	memset(cv, 0, MAX_CTX * sizeof(*cv));
	for (c = 0; c < MAX_CTX; c++) {
		const struct m_ctx *m = &M.ctx[c];

		if (!m->used)
			continue;
		fz_check(luo_ctx_get_abi(m->ctx, &abi) == 0 && abi == m->abi);
		cv[c].live = m->boot == M.boot && m->abi == M.abi;
		cv[c].known = !m->compat;
		if (!m->compat)
			continue;
		all.n = 0;
		n = ctx_tokens(m->ctx, 0, &all);
		if (n < 0) {
			/* loading the manifest failed: documented, retried */
			fz_check(errno_documented(n, EIO, EMFILE, ENOMEM) ||
				 listing_known_defect(c, n),
				 "luo_token_foreach() = %d", n);
			continue;
		}
		fz_check(n == all.n, "foreach: %d, %d tokens", n, all.n);
		r = luo_token_count(m->ctx);
		fz_check(r == n, "luo_token_count %d, foreach %d", r, n);
		for (i = 0; i < all.n; i++)
			fz_check(luo_token_lookup(m->ctx, all.t[i], &st) == 0,
				 "lookup of a listed token fails");
		cv[c].known = true;
		cv[c].total = n;
		ctx_tokens(m->ctx, LUO_TOKEN_PRESERVED, &cv[c].preserved);
		ctx_tokens(m->ctx, LUO_TOKEN_INCOMING, &cv[c].incoming);
		ctx_tokens(m->ctx, LUO_TOKEN_RESTORED, &cv[c].restored);
	}
}

/* ---- 4: the descriptor table --------------------------------------------- */

static int by_ino(const void *a, const void *b)
{
	const struct fz_fd *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool ino_in(const dev_t *dev, const ino_t *ino, int n, dev_t d, ino_t i)
{
	int j;

	for (j = 0; j < n; j++)
		if (dev[j] == d && ino[j] == i)
			return true;
	return false;
}

static void check_fds(const struct ctx_view *cv)
{
	static struct fz_fd now[FZ_MAX_FDS], rest[FZ_MAX_FDS];
	dev_t pdev[MAX_KSESS];
	ino_t pino[MAX_KSESS];
	int n, i, j, files, nmem = 0, nep = 0, nrest = 0, nbase = 0, npi = 0;
	int devices = 0, lo = 0, hi = 0, x;

	/* first: it runs the fake's release check, which closes the fake's
	 * ends of descriptors closed since */
	files = luo_fake_file_count(M.fake);
	fz_check(files >= 0);
	n = fz_fd_census(now);
	for (i = 0; i < n; i++) {
		const struct fz_fd *f = &now[i];

		if (fz_baseline_has(&M.base, f)) {
			nbase++;
			continue;
		}
		if (fz_own_has(&M.own, f->fd))
			continue; /* identity: fz_own_check() */
		for (j = 0; j < N_SESS_SLOTS; j++)
			if (M.h[j].s && M.h[j].fd == f->fd)
				break;
		if (j < N_SESS_SLOTS) {
			const struct m_ksess *k = &M.ks[M.h[j].ksess];

			fz_check(f->kind == FZ_FD_SOCKET && f->dev == k->dev &&
				 f->ino == k->ino, "sess#%d's fd %d is not "
				 "its session any more", j, f->fd);
			continue;
		}
		switch (f->kind) {
		case FZ_FD_MEMFD:
			nmem++;
			break;
		case FZ_FD_EPOLL:
			nep++;
			break;
		case FZ_FD_SOCKET:
			rest[nrest++] = *f;
			break;
		default: {
			char link[64], target[128] = "?";
			ssize_t len;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
			len = readlink(link, target, sizeof(target) - 1);
			if (len >= 0)
				target[len] = '\0';
			fz_fail("descriptor %d (%s) leaked", f->fd, target);
		}
		}
	}
	fz_check(nbase == M.base.n, "a descriptor of the process was closed");
	fz_check(nmem == files, "%d memfds besides the harness's, the fake "
		 "holds %d files: %s", nmem, files,
		 nmem > files ? "a leak" : "a file closed behind its back");
	fz_check(nep == 1, "%d epoll descriptors", nep);

	/* the inodes of sessions the harness holds or has in flight */
	for (i = 0; i < MAX_KSESS; i++)
		if (M.ks[i].used && (M.ks[i].handles || M.ks[i].inflight)) {
			pdev[npi] = M.ks[i].dev;
			pino[npi++] = M.ks[i].ino;
		}
	qsort(rest, (size_t)nrest, sizeof(*rest), by_ino);
	for (i = 0; i < nrest; i++) {
		fz_check(!ino_in(pdev, pino, npi, rest[i].dev, rest[i].ino),
			 "fd %d: a copy of a session descriptor leaked",
			 rest[i].fd);
		fz_check(i == 0 || by_ino(&rest[i - 1], &rest[i]) != 0,
			 "fds %d and %d: a socket open twice (a leaked copy)",
			 rest[i - 1].fd, rest[i].fd);
	}
	for (i = 0; i < MAX_CTX; i++) {
		const struct m_ctx *c = &M.ctx[i];

		if (!c->used)
			continue;
		devices += c->dev_open;
		/* its index session, libluo's: a pair, if it made it */
		if (c->index)
			hi++;
		if (c->abi != LUO_ABI_MAINLINE || !c->compat)
			continue;
		if (!cv[i].known) {
			hi += FZ_MAX_FDS;
			continue;
		}
		lo += cv[i].preserved.n + c->prepared;
		hi += cv[i].total + 2;
	}
	/* rest = one end of the fake per session held or in flight, and a
	 * pair per device descriptor, per original-API session and per
	 * index session */
	x = nrest - npi - 2 * devices;
	fz_check(x >= 0 && x % 2 == 0 && x / 2 >= lo && x / 2 <= hi,
		 "%d sockets besides the public sessions' (%d sessions held "
		 "or in flight, %d devices): %d original-API sessions, "
		 "expected %d to %d: a descriptor leaked or closed", nrest,
		 npi, devices, x / 2, lo, hi);
}

void check_all(void)
{
	static struct fake_file files[FAKE_FILES_MAX];
	struct ctx_view cv[MAX_CTX];
	int i, n;

	fz_own_check(&M.own);
	fz_check(luo_fake_get_boot(M.fake) == M.boot);
	for (i = 0; i < N_SESS_SLOTS; i++)
		if (M.h[i].s)
			check_handle(i);
	check_contexts(cv);
	n = fake_files(files);
	fz_check(n == luo_fake_file_count(M.fake));
	if (M.abi == LUO_ABI_RFC)
		check_rfc(files, n, cv);
	else
		check_mainline(files, n, cv);
	check_fds(cv);
}
