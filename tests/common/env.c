/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "env.h"
#include "fake-server.h"

/* the fake server's socket, for tb_opts_same_kernel() */
static char tb_server_path[108];
#include "fd-count.h"
#include "harness.h"
#include "leak-check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct tb_env tb;

enum tb_backend tb_backend(void)
{
	const char *s = getenv("LIBLUO_TEST_BACKEND");

	if (!s || !*s || !strcmp(s, "fake"))
		return TB_BACKEND_FAKE;
	if (!strcmp(s, "kernel"))
		return TB_BACKEND_KERNEL;
	if (!strcmp(s, "fake-server"))
		return TB_BACKEND_FAKE_SERVER;
	return TB_BACKEND_INVALID;
}

const char *tb_device_path(void)
{
	const char *s = getenv("LIBLUO_TEST_DEVICE");

	return s && *s ? s : LUO_DEVICE_PATH;
}

void tb_begin(enum luo_abi abi)
{
	int r;

	memset(&tb, 0, sizeof(tb));
	tb.abi = abi;
	switch (tb_backend()) {
	case TB_BACKEND_FAKE:
	case TB_BACKEND_FAKE_SERVER:
		break;
	case TB_BACKEND_KERNEL:
		if (abi == LUO_ABI_RFC)
			skip_test("RFC ABI: only the fake implements it "
				  "(kernel backend)");
		break;
	default:
		fail("LIBLUO_TEST_BACKEND must be fake, fake-server or kernel");
	}

	tb.fds_before = fd_count();
	assert_ge(tb.fds_before, 0, "cannot count descriptors");

	r = luo_ctx_opts_new(&tb.opts);
	assert_eq(r, 0, "luo_ctx_opts_new: %d", r);
	if (tb_backend() == TB_BACKEND_FAKE) {
		r = luo_fake_new(abi, &tb.fake);
		assert_eq(r, 0, "luo_fake_new: %d", r);
		r = luo_ctx_opts_set_fake(tb.opts, tb.fake);
		assert_eq(r, 0, "luo_ctx_opts_set_fake: %d", r);
	} else if (tb_backend() == TB_BACKEND_FAKE_SERVER) {
		char *path = tb_server_path;

		r = luo_fake_new(abi, &tb.fake);
		assert_eq(r, 0, "luo_fake_new: %d", r);
		r = tb_fake_server_start(tb.fake, path);
		assert_eq(r, 0, "fake server: %d", r);
		r = luo_ctx_opts_set_fake_socket(tb.opts, path);
		assert_eq(r, 0, "luo_ctx_opts_set_fake_socket: %d", r);
	} else {
		r = luo_ctx_opts_set_device(tb.opts, tb_device_path());
		assert_eq(r, 0, "luo_ctx_opts_set_device: %d", r);
	}
}

void tb_opts_same_kernel(luo_ctx_opts_t *opts)
{
	int r;

	if (tb_backend() == TB_BACKEND_FAKE)
		r = luo_ctx_opts_set_fake(opts, tb.fake);
	else if (tb_backend() == TB_BACKEND_FAKE_SERVER)
		r = luo_ctx_opts_set_fake_socket(opts, tb_server_path);
	else
		r = luo_ctx_opts_set_device(opts, tb_device_path());
	assert_eq(r, 0, "pointing options at the test's kernel: %d", r);
}

void tb_end(void)
{
	char fds[2048];
	int after;

	tb.ctx = luo_ctx_unref(tb.ctx);
	luo_ctx_opts_free(tb.opts);
	tb.opts = NULL;
	tb_fake_server_stop();
	tb.fake = luo_fake_unref(tb.fake);
	after = fd_count();
	if (after != tb.fds_before) {
		fd_describe(fds, sizeof(fds));
		fail("descriptor leak: %d open before the test, %d "
		     "after it: %s", tb.fds_before, after, fds);
	}
	assert_eq(leak_check(), 0, "memory leak (LeakSanitizer report on "
		  "stderr)");
}

void tb_require_fake(const char *why)
{
	if (!tb.fake)
		skip_test("fake only (kernel backend): %s", why);
}

void tb_require_kernel(const char *why)
{
	if (tb.fake)
		skip_test("kernel only (fake backend): %s", why);
}

luo_ctx_t *tb_new_ctx(void)
{
	luo_ctx_t *ctx = NULL;
	int r = luo_ctx_new(tb.opts, &ctx);

	assert_eq(r, 0, "luo_ctx_new: %d (%s)", r, strerror(-r));
	assert_not_null(ctx);
	return ctx;
}

luo_ctx_t *tb_ctx(void)
{
	if (!tb.ctx)
		tb.ctx = tb_new_ctx();
	return tb.ctx;
}

void tb_drop_ctx(void)
{
	tb.ctx = luo_ctx_unref(tb.ctx);
}

luo_ctx_t *tb_kexec(void)
{
	int boot, r;

	tb_require_fake("needs a kexec");
	boot = luo_fake_get_boot(tb.fake);
	r = luo_fake_kexec(tb.fake);
	assert_eq(r, 0, "luo_fake_kexec: %d (%s)", r, strerror(-r));
	assert_eq(luo_fake_get_boot(tb.fake), boot + 1);
	tb_drop_ctx();
	return tb_ctx();
}

bool tb_file_is_preserved(int fd)
{
	luo_ctx_t *ctx = tb_ctx();
	const uint64_t probe = 0x9f0be5a11ULL;
	int r;

	if (tb.abi == LUO_ABI_RFC) {
		r = luo_fd_preserve(ctx, fd, probe);
		if (r == 0)
			assert_eq(luo_fd_unpreserve(ctx, probe), 0);
	} else {
		luo_session_t *s = NULL;

		r = luo_session_create(ctx, "tests.probe", &s);
		assert_eq(r, 0, "probe session: %d", r);
		r = luo_session_preserve_fd(s, fd, probe);
		assert_eq(luo_session_close(s, LUO_SESSION_CLOSE_FORCE), 0);
	}
	assert_true(r == 0 || r == -EBUSY, "probing fd %d: %d (%s)", fd, r,
		    strerror(-r));
	return r == -EBUSY;
}

void tb_seed_session_name(uint64_t token, char buf[32])
{
	snprintf(buf, 32, "libluo.tok.%016" PRIx64, token);
}

struct collect_files {
	struct tb_fake_file *out;
	int max;
	int n;
	bool all;
};

static int collect_file(const char *session, enum luo_session_direction dir,
			uint64_t token, void *userdata)
{
	struct collect_files *c = userdata;

	if (!c->all && tb_file_is_libluos(session, token))
		return 0;
	if (c->n < c->max) {
		struct tb_fake_file *f = &c->out[c->n];

		memset(f, 0, sizeof(*f));
		f->has_session = session != NULL;
		if (session)
			snprintf(f->session, sizeof(f->session), "%s", session);
		f->dir = dir;
		f->token = token;
	}
	c->n++;
	return 0;
}

static int fake_files(struct tb_fake_file *out, int max, bool all)
{
	struct collect_files c = { out, max, 0, all };
	int r;

	assert_not_null(tb.fake);
	r = luo_fake_foreach_file(tb.fake, collect_file, &c);
	assert_eq(r, 0, "luo_fake_foreach_file: %d", r);
	return c.n;
}

int tb_fake_files(struct tb_fake_file *out, int max)
{
	return fake_files(out, max, false);
}

int tb_fake_all_files(struct tb_fake_file *out, int max)
{
	return fake_files(out, max, true);
}

/* Every file, in a buffer of ours (large enough for the tests). */
#define TB_FILES_MAX 4096
static struct tb_fake_file tb_files_buf[TB_FILES_MAX];

static int all_files(void)
{
	int n = tb_fake_all_files(tb_files_buf, TB_FILES_MAX);

	assert_le(n, TB_FILES_MAX, "more fake files than the tests expect");
	return n;
}

static bool file_in(const struct tb_fake_file *f, const char *name)
{
	return name ? f->has_session && !strcmp(f->session, name)
		    : !f->has_session;
}

int tb_fake_files_in(const char *name)
{
	int i, n = all_files(), found = 0;

	for (i = 0; i < n; i++)
		if (file_in(&tb_files_buf[i], name) &&
		    !tb_file_is_libluos(tb_files_buf[i].session,
				     tb_files_buf[i].token))
			found++;
	return found;
}

int tb_fake_libluo_files_in(const char *name)
{
	int i, n = all_files(), found = 0;

	for (i = 0; i < n; i++)
		if (file_in(&tb_files_buf[i], name) &&
		    tb_file_is_libluos(tb_files_buf[i].session,
				    tb_files_buf[i].token))
			found++;
	return found;
}

int tb_fake_libluo_file_count(void)
{
	int i, n = all_files(), found = 0;

	for (i = 0; i < n; i++)
		if (tb_file_is_libluos(tb_files_buf[i].session,
				    tb_files_buf[i].token))
			found++;
	return found;
}

int tb_fake_user_file_count(void)
{
	int total, libluos;

	assert_not_null(tb.fake);
	libluos = tb_fake_libluo_file_count();
	total = luo_fake_file_count(tb.fake);
	assert_ge(total, libluos);
	return total - libluos;
}

int tb_fake_index_session_count(enum luo_session_direction dir)
{
	char seen[TB_INDEX_SLOTS] = { 0 };
	int i, n = all_files(), found = 0;

	for (i = 0; i < n; i++) {
		const struct tb_fake_file *f = &tb_files_buf[i];
		int slot;

		if (f->dir != dir || !tb_session_is_index(f->session))
			continue;
		slot = tb_index_slot(f->session);
		assert_ge(slot, 0, "index session %s", f->session);
		if (!seen[slot]) {
			seen[slot] = 1;
			found++;
		}
	}
	return found;
}

int tb_fake_user_session_count(enum luo_session_direction dir)
{
	int total, index;

	assert_not_null(tb.fake);
	index = tb_fake_index_session_count(dir);
	total = luo_fake_session_count(tb.fake, dir);
	assert_ge(total, index);
	return total - index;
}

void tb_snapshot(struct tb_snapshot *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	tb_ctx(); /* before counting descriptors: it may open the device */
	s->fds = fd_count();
	s->tokens = luo_token_count(tb_ctx());
	assert_ge(s->tokens, 0);
	r = luo_get_state(tb_ctx(), &s->state);
	assert_eq(r, 0, "luo_get_state: %d", r);
	if (tb.fake) {
		/* the fake keeps a descriptor per file it holds: those of
		 * libluo's own files are not the test's */
		s->fds -= tb_fake_libluo_file_count();
		s->fake_files = tb_fake_user_file_count();
		s->fake_out = tb_fake_user_session_count(LUO_SESSION_OUTGOING);
		s->fake_in = tb_fake_user_session_count(LUO_SESSION_INCOMING);
	} else {
		s->fake_files = s->fake_out = s->fake_in = -1;
	}
}

void tb_expect_unchanged_at(const struct tb_snapshot *before, const char *file,
			    int line)
{
	struct tb_snapshot now;

	tb_snapshot(&now);
	assert_eq(now.fds, before->fds, "%s:%d: open descriptors %d -> %d",
		  file, line, before->fds, now.fds);
	assert_eq(now.tokens, before->tokens, "%s:%d: token count %d -> %d",
		  file, line, before->tokens, now.tokens);
	assert_eq(now.state, before->state, "%s:%d: state %s -> %s", file,
		  line, luo_state_to_string(before->state),
		  luo_state_to_string(now.state));
	assert_eq(now.fake_files, before->fake_files,
		  "%s:%d: fake files %d -> %d", file, line,
		  before->fake_files, now.fake_files);
	assert_eq(now.fake_out, before->fake_out,
		  "%s:%d: fake outgoing sessions %d -> %d", file, line,
		  before->fake_out, now.fake_out);
	assert_eq(now.fake_in, before->fake_in,
		  "%s:%d: fake incoming sessions %d -> %d", file, line,
		  before->fake_in, now.fake_in);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void tb_sort_tokens(uint64_t *tokens, size_t n)
{
	qsort(tokens, n, sizeof(*tokens), cmp_u64);
}

int tb_collect_token(uint64_t token, enum luo_token_state state,
		     void *userdata)
{
	struct tb_token_list *l = userdata;

	if (l->n < (int)(sizeof(l->tokens) / sizeof(l->tokens[0]))) {
		l->tokens[l->n] = token;
		l->states[l->n] = state;
	}
	l->n++;
	return 0;
}

enum luo_token_state tb_token_list_state(const struct tb_token_list *list,
					 uint64_t token)
{
	int i;

	for (i = 0; i < list->n && i < 256; i++)
		if (list->tokens[i] == token)
			return list->states[i];
	return 0;
}
