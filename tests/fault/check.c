/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libluo's bookkeeping against the fake kernel's truth: every token libluo
 * lists as PRESERVED is a file the fake holds, every file the fake holds
 * in a session libluo created (or in the original API's sessions, or RFC
 * list) is a token libluo lists, the original API's state agrees with the
 * fake's, and the fake has no outgoing session that libluo's handles and
 * tokens do not account for.
 *
 * libluo's own objects (tests/common/libluo-own.h) are told apart: the
 * record of a session (its files at LUO_TOKEN_RESERVED_MIN + 0..n-1, no
 * gap) and the index session of a context that created sessions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "env.h"
#include "fault-private.h"
#include "libluo-own.h"

/* ---- the fake's truth --------------------------------------------------- */

#define MAX_FAKE_FILES 64

struct ffiles {
	int n;
	struct tb_fake_file f[MAX_FAKE_FILES];
};

static int collect_fake(const char *session, enum luo_session_direction dir,
			uint64_t token, void *userdata)
{
	struct ffiles *ff = userdata;

	if (ff->n < MAX_FAKE_FILES) {
		struct tb_fake_file *f = &ff->f[ff->n];

		memset(f, 0, sizeof(*f));
		f->has_session = session != NULL;
		if (session)
			snprintf(f->session, sizeof(f->session), "%s", session);
		f->dir = dir;
		f->token = token;
	}
	ff->n++;
	return 0;
}

static void fake_files(struct fsc *s, struct ffiles *ff)
{
	int r;

	ff->n = 0;
	r = luo_fake_foreach_file(s->fake, collect_fake, ff);
	if (r < 0)
		ffail("luo_fake_foreach_file: %s", fault_errname(r));
	if (ff->n > MAX_FAKE_FILES)
		ffail("the fake holds %d files, more than this test expects",
		      ff->n);
}

static bool fake_has(const struct ffiles *ff, const char *session,
		     enum luo_session_direction dir, uint64_t token)
{
	for (int i = 0; i < ff->n; i++) {
		const struct tb_fake_file *f = &ff->f[i];

		if (f->dir != dir || f->token != token)
			continue;
		if (session ? f->has_session && !strcmp(f->session, session)
			    : !f->has_session)
			return true;
	}
	return false;
}

/* "name/out/0x1 name/in/0x2 ..." */
static const char *describe_fake(const struct ffiles *ff)
{
	static char buf[1024];
	size_t pos = 0;

	buf[0] = '\0';
	for (int i = 0; i < ff->n && pos < sizeof(buf); i++) {
		const struct tb_fake_file *f = &ff->f[i];
		int w = snprintf(buf + pos, sizeof(buf) - pos,
				 "%s%s/%s/%#" PRIx64, i ? " " : "",
				 f->has_session ? f->session : "(rfc)",
				 f->dir == LUO_SESSION_OUTGOING ? "out" : "in",
				 f->token);

		if (w > 0)
			pos += (size_t)w;
	}
	return ff->n ? buf : "nothing";
}

static const char *describe_tokens(const struct tb_token_list *tl)
{
	static char buf[1024];
	static const char *const st[] = { "?", "PRESERVED", "INCOMING",
					  "RESTORED" };
	size_t pos = 0;

	buf[0] = '\0';
	for (int i = 0; i < tl->n && i < 256 && pos < sizeof(buf); i++) {
		int w = snprintf(buf + pos, sizeof(buf) - pos,
				 "%s%#" PRIx64 "=%s", i ? " " : "",
				 tl->tokens[i],
				 tl->states[i] <= 3 ? st[tl->states[i]] : "?");

		if (w > 0)
			pos += (size_t)w;
	}
	return tl->n ? buf : "none";
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The record segments of session @name (@dir): the reserved tokens
 * LUO_TOKEN_RESERVED_MIN + 0..n-1, whoever wrote them.  Returns n. */
static int check_record(const char *name, enum luo_session_direction dir,
			const struct ffiles *ff)
{
	int n = 0;

	for (int j = 0; j < ff->n; j++) {
		const struct tb_fake_file *f = &ff->f[j];

		if (f->dir == dir && f->has_session &&
		    !strcmp(f->session, name) &&
		    tb_file_is_libluos(name, f->token))
			n++;
	}
	for (int k = 0; k < n; k++)
		if (!fake_has(ff, name, dir, LUO_TOKEN_RESERVED_MIN +
					      (uint64_t)k))
			ffail("bookkeeping: session \"%s\" holds %d record "
			      "segments, not at the reserved tokens 0..%d "
			      "(fake: %s)", name, n, n - 1, describe_fake(ff));
	return n;
}

/* An incoming session not finished yet: what it restored is there, and
 * what its record lists (INCOMING) came over. */
static void check_incoming(const char *name, const struct tb_token_list *tl,
			   const struct ffiles *ff)
{
	for (int j = 0; j < tl->n; j++) {
		if (tb_token_is_libluos(tl->tokens[j]))
			ffail("bookkeeping: incoming session \"%s\" lists "
			      "libluo's token %#" PRIx64 " (libluo: %s)", name,
			      tl->tokens[j], describe_tokens(tl));
		if ((tl->states[j] == LUO_TOKEN_RESTORED ||
		     tl->states[j] == LUO_TOKEN_INCOMING) &&
		    !fake_has(ff, name, LUO_SESSION_INCOMING, tl->tokens[j]))
			ffail("bookkeeping: libluo says token %#" PRIx64 " of "
			      "incoming session \"%s\" is %s, the fake "
			      "holds no such file (libluo: %s; fake: %s)",
			      tl->tokens[j], name,
			      tl->states[j] == LUO_TOKEN_RESTORED ?
				      "RESTORED" : "INCOMING",
			      describe_tokens(tl), describe_fake(ff));
	}
	check_record(name, LUO_SESSION_INCOMING, ff);
}

/* An outgoing session: what libluo lists is there; and, if libluo
 * created the session (@all), what is there is listed. */
static void check_outgoing(const char *name, const struct tb_token_list *tl,
			   const struct ffiles *ff, bool all)
{
	for (int j = 0; j < tl->n; j++) {
		if (tl->states[j] != LUO_TOKEN_PRESERVED)
			ffail("bookkeeping: outgoing session \"%s\": token %#"
			      PRIx64 " in state %d (libluo: %s)", name,
			      tl->tokens[j], tl->states[j],
			      describe_tokens(tl));
		if (!fake_has(ff, name, LUO_SESSION_OUTGOING, tl->tokens[j]))
			ffail("bookkeeping: libluo says token %#" PRIx64 " of "
			      "session \"%s\" is PRESERVED, the fake does not "
			      "hold it (libluo: %s; fake: %s)", tl->tokens[j],
			      name, describe_tokens(tl), describe_fake(ff));
	}
	for (int j = 0; all && j < ff->n; j++) {
		const struct tb_fake_file *f = &ff->f[j];

		if (f->dir != LUO_SESSION_OUTGOING || !f->has_session ||
		    strcmp(f->session, name) ||
		    tb_file_is_libluos(name, f->token))
			continue;
		if (tb_token_list_state(tl, f->token) != LUO_TOKEN_PRESERVED)
			ffail("bookkeeping: the fake holds token %#" PRIx64
			      " of session \"%s\", which libluo created, and "
			      "libluo does not list it (libluo: %s; fake: %s)",
			      f->token, name, describe_tokens(tl),
			      describe_fake(ff));
	}
	check_record(name, LUO_SESSION_OUTGOING, ff);
}

/* The sessions of the handles of the current boot, against the fake;
 * returns how many outgoing sessions they (and one in flight) are. */
static int check_sessions(struct fsc *s, const struct ffiles *ff, int boot)
{
	char names[FSC_SESS + 1][LUO_SESSION_NAME_MAX + 1];
	int nnames = 0;

	/* in flight: the kernel still has it, no handle does */
	if (s->flight[0] && s->flight_boot == boot)
		snprintf(names[nnames++], sizeof(names[0]), "%s", s->flight);
	for (int i = 0; i < FSC_SESS; i++) {
		struct fsc_sess *x = &s->sess[i];
		struct tb_token_list tl = { .n = 0 };
		const char *name = NULL;
		bool seen = false;
		int r;

		if (!x->h || x->boot != boot)
			continue;
		r = luo_session_get_name(x->h, &name);
		if (r < 0)
			ffail("luo_session_get_name(session %d): %s", i,
			      fault_errname(r));
		r = luo_session_token_foreach(x->h, tb_collect_token, &tl);
		if (r != 0)
			ffail("luo_session_token_foreach(\"%s\"): %d (%s)",
			      name, r, fault_errname(r));
		if (x->incoming) {
			if (!x->finished)
				check_incoming(name, &tl, ff);
			continue;
		}
		for (int j = 0; j < nnames; j++)
			seen |= !strcmp(names[j], name);
		if (!seen)
			snprintf(names[nnames++], sizeof(names[0]), "%s", name);
		/* a received session: libluo knows what it preserved */
		check_outgoing(name, &tl, ff, x->created);
	}
	return nnames;
}

/* The original API's tokens of the context slot @c against the fake;
 * returns the outgoing sessions they account for (mainline). */
static int check_compat(struct fsc *s, int c, const struct ffiles *ff)
{
	bool rfc = s->sc->abi == LUO_ABI_RFC;
	luo_ctx_t *ctx = s->ctx[c];
	struct tb_token_list tl = { .n = 0 };
	char tokname[32];
	bool manifest = false;
	int npreserved = 0, r;

	r = luo_token_foreach(ctx, tb_collect_token, &tl);
	if (r != 0)
		ffail("luo_token_foreach: %d (%s)", r, fault_errname(r));
	if (tl.n > 256)
		ffail("more tokens than this test expects");
	for (int j = 0; j < tl.n; j++) {
		uint64_t tok = tl.tokens[j];

		tb_seed_session_name(tok, tokname);
		switch (tl.states[j]) {
		case LUO_TOKEN_PRESERVED:
			npreserved++;
			if (!fake_has(ff, rfc ? NULL : tokname,
				      LUO_SESSION_OUTGOING, tok))
				ffail("bookkeeping: libluo says token %#" PRIx64
				      " is PRESERVED, the fake does not hold "
				      "it (libluo: %s; fake: %s)", tok,
				      describe_tokens(&tl), describe_fake(ff));
			break;
		case LUO_TOKEN_INCOMING:
			if (rfc || !fake_has(ff, tokname, LUO_SESSION_INCOMING,
					     tok))
				ffail("bookkeeping: libluo says token %#" PRIx64
				      " is INCOMING, the fake holds no such "
				      "incoming file (libluo: %s; fake: %s)",
				      tok, describe_tokens(&tl),
				      describe_fake(ff));
			break;
		case LUO_TOKEN_RESTORED:
			break;
		default:
			ffail("token %#" PRIx64 " in state %d", tok,
			      tl.states[j]);
		}
	}
	for (int j = 0; j < ff->n; j++) {
		const struct tb_fake_file *f = &ff->f[j];
		enum luo_token_state st = tb_token_list_state(&tl, f->token);

		if (f->has_session && !strcmp(f->session, "libluo.manifest") &&
		    f->dir == LUO_SESSION_OUTGOING)
			manifest = true;
		if (rfc ? f->has_session : !f->has_session ||
				  !has_prefix(f->session, "libluo.tok."))
			continue;
		tb_seed_session_name(f->token, tokname);
		if (!rfc && strcmp(f->session, tokname))
			ffail("the fake holds token %#" PRIx64 " in session "
			      "\"%s\"", f->token, f->session);
		if (f->dir == LUO_SESSION_OUTGOING &&
		    st != LUO_TOKEN_PRESERVED)
			ffail("bookkeeping: the fake holds preserved token %#"
			      PRIx64 ", libluo does not list it as PRESERVED "
			      "(libluo: %s; fake: %s)", f->token,
			      describe_tokens(&tl), describe_fake(ff));
		/* luo_token_foreach() with the device loaded the manifest */
		if (f->dir == LUO_SESSION_INCOMING && !rfc &&
		    !s->ctx_nodev[c] && st != LUO_TOKEN_INCOMING &&
		    st != LUO_TOKEN_RESTORED)
			ffail("bookkeeping: the fake holds incoming token %#"
			      PRIx64 ", libluo does not list it (libluo: %s; "
			      "fake: %s)", f->token, describe_tokens(&tl),
			      describe_fake(ff));
	}

	/* the state: the scenario's, the fake's and libluo's agree */
	if (rfc) {
		enum luo_state fst;

		r = luo_fake_get_state(s->fake, &fst);
		if (r < 0)
			ffail("luo_fake_get_state: %s", fault_errname(r));
		if ((fst == LUO_STATE_PREPARED) != s->prepared[c])
			ffail("bookkeeping: the fake is %s, luo_prepare() %s",
			      luo_state_to_string(fst), s->prepared[c] ?
			      "succeeded last" : "did not succeed last");
	} else if (manifest != s->prepared[c]) {
		ffail("bookkeeping: the fake %s an outgoing libluo.manifest, "
		      "luo_prepare() %s (fake: %s)", manifest ? "holds" :
		      "does not hold", s->prepared[c] ? "succeeded last" :
		      "did not succeed last", describe_fake(ff));
	}
	if (!s->ctx_nodev[c]) {
		enum luo_state st;

		r = luo_get_state(ctx, &st);
		if (r < 0)
			ffail("luo_get_state: %s", fault_errname(r));
		if (st == LUO_STATE_UPDATED ? s->prepared[c] :
		    (st == LUO_STATE_PREPARED) != s->prepared[c])
			ffail("bookkeeping: luo_get_state() says %s, "
			      "luo_prepare() %s", luo_state_to_string(st),
			      s->prepared[c] ? "succeeded last" :
			      "did not succeed last");
	}
	return rfc ? 0 : npreserved + s->prepared[c];
}

/*
 * The outgoing index sessions: those seen by their files (*seen), and at
 * most how many there may be: one per context of this boot that called
 * luo_session_create().  An index whose first record segment could not be
 * made (a create that failed there) holds no file: it is libluo's, by
 * design, and is used again by the context's next create; it cannot be
 * seen by name, hence the bound.
 */
static int index_sessions(struct fsc *s, const struct ffiles *ff, int boot,
			  int *seen)
{
	bool slot_seen[TB_INDEX_SLOTS] = { false };
	int most = 0;

	*seen = 0;
	for (int j = 0; j < ff->n; j++) {
		const struct tb_fake_file *f = &ff->f[j];
		int slot = tb_index_slot(f->has_session ? f->session : NULL);

		if (slot < 0 || f->dir != LUO_SESSION_OUTGOING)
			continue;
		if (!slot_seen[slot]) {
			slot_seen[slot] = true;
			(*seen)++;
			check_record(f->session, LUO_SESSION_OUTGOING, ff);
		}
	}
	for (int c = 0; c < FSC_CTX; c++)
		most += s->index_tried[c] && s->ctx_boot[c] == boot;
	if (*seen > most)
		ffail("bookkeeping: the fake holds %d outgoing index sessions, "
		      "%d contexts of this boot created sessions (fake: %s)",
		      *seen, most, describe_fake(ff));
	return most;
}

/* libluo's bookkeeping against the fake's truth (fault.h). */
void check_bookkeeping(struct fsc *s)
{
	struct ffiles ff;
	int boot = fsc_boot(s), c = s->sc->compat_ctx, expect_out, n;
	int index_seen, index_most;

	fake_files(s, &ff);
	expect_out = check_sessions(s, &ff, boot);
	if (c >= 0 && s->ctx[c] && s->ctx_boot[c] == boot)
		expect_out += check_compat(s, c, &ff);
	if (s->sc->abi == LUO_ABI_RFC)
		return;
	index_most = index_sessions(s, &ff, boot, &index_seen);
	n = luo_fake_session_count(s->fake, LUO_SESSION_OUTGOING);
	if (n < expect_out + index_seen || n > expect_out + index_most)
		ffail("bookkeeping: the fake has %d outgoing sessions, "
		      "libluo's handles and tokens account for %d, and the "
		      "index sessions %d (%d seen) (fake files: %s)", n,
		      expect_out, index_most, index_seen, describe_fake(&ff));
}
