/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl: the kernel a command talks to, the real device or with --fake an
 * in-memory fake kernel that lives as long as the luoctl process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "luoctl.h"

__attribute__((format(printf, 6, 0)))
static void log_stderr(void *userdata, int priority, const char *file,
		       int line, const char *fn, const char *format,
		       va_list args)
{
	fprintf(stderr, "luoctl: libluo <%d> %s: ", priority, fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static void opts_freep(luo_ctx_opts_t **opts)
{
	luo_ctx_opts_free(*opts);
}

int luoctl_open(const struct luoctl *l, luo_ctx_t **ret)
{
	_cleanup_(opts_freep) luo_ctx_opts_t *opts = NULL;
	int r;

	r = luo_ctx_opts_new(&opts);
	if (r < 0)
		return r;
	if (l->fake)
		r = l->fake_kernel ? luo_ctx_opts_set_fake(opts, l->fake_kernel) :
				     -EINVAL;
	else if (l->device)
		r = luo_ctx_opts_set_device(opts, l->device);
	if (r == 0)
		r = luo_ctx_opts_set_abi(opts, l->abi);
	/* Always luoctl's callback, so that what LIBLUO_LOG asks for has
	 * the "luoctl: " prefix too; libluo logs nothing at LOG_EMERG. */
	if (r == 0)
		r = luo_ctx_opts_set_log(opts, log_stderr, NULL,
					 l->verbose ? LOG_DEBUG : LOG_EMERG);
	if (r < 0)
		return r;
	return luo_ctx_new(opts, ret);
}

int luoctl_open_or_fail(const struct luoctl *l, luo_ctx_t **ret)
{
	int r = luoctl_open(l, ret);

	if (r < 0)
		return luoctl_fail_at(l, LUOCTL_STEP_OPEN, r,
				      l->fake ? "fake kernel" :
				      l->device ? l->device : LUO_DEVICE_PATH,
				      luoctl_open_hint(r));
	return 0;
}

/* The sessions of the fake's first boot, closed (harmlessly: their
 * descriptors are dead) after the kexec, or unpreserved after a failure. */
struct first_boot {
	luo_session_t **sessions; /* [i]: made for incoming[i], or NULL */
	size_t n;
};

static void first_boot_done(struct first_boot *b)
{
	for (size_t i = 0; i < b->n; i++)
		luoctl_session_close_forcep(&b->sessions[i]);
	free(b->sessions);
}

/* The length of the NAME of "NAME=FILE"; main.c checked the '='. */
static size_t incoming_name_len(const char *spec)
{
	return (size_t)(strchr(spec, '=') - spec);
}

static bool same_name(const char *a, const char *b)
{
	size_t n = incoming_name_len(a);

	return n == incoming_name_len(b) && strncmp(a, b, n) == 0;
}

/*
 * Preserve the FILE of incoming[i] in the session NAME of the first boot,
 * creating it the first time NAME comes up; tokens 1, 2, ... per session.
 */
static int first_boot_preserve(const struct luoctl *l, luo_ctx_t *ctx,
			       struct first_boot *b, size_t i)
{
	const char *spec = l->incoming[i];
	const char *path = spec + incoming_name_len(spec) + 1;
	luo_session_t *session = NULL;
	_cleanup_free_ char *what = NULL;
	_cleanup_close_ int fd = -1;
	uint64_t token = 1;
	int r;

	for (size_t j = 0; j < i; j++) {
		if (!same_name(l->incoming[j], spec))
			continue;
		if (!session)
			session = b->sessions[j];
		token++;
	}
	if (asprintf(&what, "--fake-incoming %s", spec) < 0) {
		what = NULL; /* undefined after a failure */
		return luoctl_fail(l, -ENOMEM, "fake kernel", NULL);
	}
	if (!session) {
		_cleanup_free_ char *name = strndup(spec, incoming_name_len(spec));

		if (!name)
			return luoctl_fail(l, -ENOMEM, what, NULL);
		r = luo_session_create(ctx, name, &b->sessions[i]);
		if (r < 0)
			return luoctl_fail(l, r, what,
					   luoctl_session_hint(r, true));
		session = b->sessions[i];
	}
	r = luoctl_memfd_from_file(path, &fd);
	/* labeled with FILE, as luoctl hold does */
	if (r == 0)
		r = luo_session_preserve_fd_labeled(session, fd, token, path);
	if (r < 0)
		return luoctl_fail(l, r, what, NULL);
	return 0;
}

static const struct {
	const char *name;
	enum luo_fake_op op;
} fake_ops[] = {
	{ "open", LUO_FAKE_OP_OPEN },
	{ "create-session", LUO_FAKE_OP_CREATE_SESSION },
	{ "retrieve-session", LUO_FAKE_OP_RETRIEVE_SESSION },
	{ "preserve", LUO_FAKE_OP_PRESERVE_FD },
	{ "retrieve", LUO_FAKE_OP_RETRIEVE_FD },
	{ "finish", LUO_FAKE_OP_FINISH },
	{ "unpreserve", LUO_FAKE_OP_UNPRESERVE_FD },
	{ "prepare", LUO_FAKE_OP_PREPARE },
};

/* An errno: its name (EBUSY) or its number, 1 to 4095. */
static int parse_errno(const char *s, int *ret)
{
	unsigned long v;
	char *end;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || *end || v < 1 || v > 4095)
			return -EINVAL;
		*ret = (int)v;
		return 0;
	}
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);

		if (name && strcmp(name, s) == 0) {
			*ret = e;
			return 0;
		}
	}
	return -EINVAL;
}

int luoctl_parse_fake_error(const char *spec, enum luo_fake_op *op,
			    int *err)
{
	size_t n = strcspn(spec, "=");

	if (spec[n] != '=')
		return -EINVAL;
	for (size_t i = 0; i < LUOI_ELEMENTSOF(fake_ops); i++) {
		if (strlen(fake_ops[i].name) == n &&
		    strncmp(fake_ops[i].name, spec, n) == 0) {
			*op = fake_ops[i].op;
			return parse_errno(spec + n + 1, err);
		}
	}
	return -EINVAL;
}

/* --fake-error, once the fake has booted (checked by the caller). */
static int inject_errors_or_fail(const struct luoctl *l)
{
	for (size_t i = 0; i < l->n_fake_errors; i++) {
		enum luo_fake_op op;
		int err, r;

		r = luoctl_parse_fake_error(l->fake_errors[i], &op, &err);
		if (r == 0)
			r = luo_fake_inject_error(l->fake_kernel, op, err);
		if (r < 0)
			return luoctl_fail(l, r, l->fake_errors[i], NULL);
	}
	return 0;
}

int luoctl_fake_boot_or_fail(struct luoctl *l)
{
	struct first_boot b _cleanup_(first_boot_done) = { 0 };
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	int r;

	if (!l->fake)
		return 0;
	r = luo_fake_new(l->abi == LUO_ABI_RFC ? LUO_ABI_RFC :
			 LUO_ABI_MAINLINE, &l->fake_kernel);
	if (r < 0)
		return luoctl_fail(l, r, "fake kernel", NULL);
	if (l->n_incoming == 0)
		return inject_errors_or_fail(l);

	b.sessions = calloc(l->n_incoming, sizeof(*b.sessions));
	if (!b.sessions)
		return luoctl_fail(l, -ENOMEM, "fake kernel", NULL);
	b.n = l->n_incoming;
	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	for (size_t i = 0; i < l->n_incoming; i++) {
		r = first_boot_preserve(l, ctx, &b, i);
		if (r)
			return r;
	}
	/* The sessions are open: the kexec carries them to the command. */
	r = luo_fake_kexec(l->fake_kernel);
	if (r < 0)
		return luoctl_fail(l, r, "fake kernel: kexec", NULL);
	return inject_errors_or_fail(l);
}

bool luoctl_state_query_consumes(const struct luoctl *l, enum luo_abi abi)
{
	return abi == LUO_ABI_MAINLINE && !l->fake;
}

int luoctl_finish_session(luo_session_t *session)
{
	int r, tries = 0;

	while ((r = luo_session_finish(session)) == -EBUSY && ++tries < 10)
		usleep(100000);
	return r;
}
