/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl restore --session NAME [--list]
 *               (--token T | --label L) --output FILE [...]
 *               | --all --output-dir DIR
 *
 * After a live update, take the incoming session NAME, write the bytes of
 * each token (named by number, or by the label its session record gives
 * it) to its output, and finish the session once every token is written
 * out.  --list prints what the session's record says first; --all writes
 * every recorded token into DIR, each named by its label.  A session can
 * be retrieved once per boot and the kernel finishes it when its
 * descriptor is closed, so everything that can fail
 * beforehand is done before the session is taken: the outputs are opened
 * (a missing directory, a permission...) and nothing is retrieved if one
 * cannot be.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luoctl.h"

struct output {
	uint64_t token;
	const char *label;  /* by label instead of token (NULL: by token) */
	const char *path;   /* "-": standard output */
	int fd;             /* -1 before it is opened and once closed */
	bool created;       /* luoctl created the file */
	bool regular;       /* a regular file: fsync()ed, and truncated first
			     * unless it is "-" */
};

struct restore {
	const char *name;
	struct output *out; /* n of them, in the order given */
	size_t n;
	bool retrieved;     /* the session was taken */
	bool list;          /* print the record first */
	const char *dir;    /* --all: every recorded token, into dir */
	int dir_fd;
	char **paths;       /* --all: the names made in dir (n of them) */
};

static void restore_done(struct restore *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct output *o = &rs->out[i];

		if (o->fd >= 0 && o->fd != STDOUT_FILENO)
			close(o->fd);
		/* Nothing retrieved: leave no empty file behind. */
		if (!rs->retrieved && o->created)
			unlink(o->path);
	}
	free(rs->out);
	if (rs->paths)
		for (size_t i = 0; i < rs->n; i++)
			free(rs->paths[i]);
	free(rs->paths);
	if (rs->dir_fd >= 0)
		close(rs->dir_fd);
}

/* LUOCTL_CONTINUE (after luoctl_start_or_fail()) or an exit status. */
static int parse_args(struct luoctl *l, int argc, char **argv,
		      struct restore *rs)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'L' },
		{ "all", no_argument, NULL, 'A' },
		{ "output-dir", required_argument, NULL, 'D' },
		LUOCTL_GLOBAL_LONGOPTS,
		{ 0 },
	};
	size_t ntokens = 0, noutputs = 0;
	bool all = false;
	int c, r;

	/* At most one output per two arguments. */
	rs->out = calloc((size_t)argc, sizeof(*rs->out));
	if (!rs->out)
		return luoctl_fail(l, -ENOMEM, "restore", NULL);
	for (int i = 0; i < argc; i++)
		rs->out[i].fd = -1;

	optind = 0;
	while ((c = luoctl_getopt(l, argc, argv,
				  "+:s:t:l:o:h" LUOCTL_GLOBAL_SHORTOPTS,
				  longopts)) != -1) {
		switch (c) {
		case 's':
			rs->name = optarg;
			break;
		case 't':
			if (ntokens != noutputs)
				return luoctl_usage_error(l,
					"--token %s: the previous --token has "
					"no --output", optarg);
			if (luoctl_parse_token(optarg,
					       &rs->out[ntokens++].token) < 0)
				return luoctl_usage_error(l,
					"invalid token: %s", optarg);
			break;
		case 'l':
			if (ntokens != noutputs)
				return luoctl_usage_error(l,
					"--label %s: the previous token has "
					"no --output", optarg);
			rs->out[ntokens++].label = optarg;
			break;
		case 'L':
			rs->list = true;
			break;
		case 'A':
			all = true;
			break;
		case 'D':
			rs->dir = optarg;
			break;
		case 'o':
			if (noutputs + 1 != ntokens)
				return luoctl_usage_error(l,
					"--output %s: comes after a --token",
					optarg);
			rs->out[noutputs++].path = optarg;
			break;
		default:
			return luoctl_opt_other(l, c);
		}
	}
	if (optind < argc)
		return luoctl_usage_error(l, "%s: unexpected argument %s",
					  argv[0], argv[optind]);
	if (all != !!rs->dir || (all && ntokens))
		return luoctl_usage_error(l, "%s: --all goes with --output-dir "
					  "DIR and without --token or --label",
					  argv[0]);
	if (!rs->name || (!all && (ntokens == 0 || ntokens != noutputs)))
		return luoctl_usage_error(l, "%s: needs --session NAME and "
					  "--token T (or --label L) --output "
					  "FILE pairs, or --all --output-dir "
					  "DIR", argv[0]);
	for (size_t i = 0; l->json && i < noutputs; i++)
		if (strcmp(rs->out[i].path, "-") == 0)
			return luoctl_usage_error(l,
				"%s: --output - and --json would both write "
				"to stdout", argv[0]);
	rs->n = ntokens;
	r = luoctl_start_or_fail(l);
	return r ? r : LUOCTL_CONTINUE;
}

/* Open every output, before anything is retrieved.  0 or exit status. */
static int open_outputs(const struct luoctl *l, struct restore *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct output *o = &rs->out[i];
		int fd;

		if (strcmp(o->path, "-") == 0) {
			struct stat st;

			/* The caller's stdout as it is: written from where it
			 * stands, never truncated. */
			o->fd = STDOUT_FILENO;
			o->regular = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode);
			continue;
		}
		fd = luoctl_open_output(o->path, &o->created, &o->regular);
		if (fd < 0)
			return luoctl_fail(l, fd, o->path,
					   "nothing was retrieved");
		o->fd = fd;
	}
	return 0;
}

/* Close @o (not stdout), reporting nothing.  0 or a negative errno. */
static int close_output(struct output *o)
{
	int fd = TAKE_FD(o->fd);

	if (fd == STDOUT_FILENO || close(fd) == 0)
		return 0;
	return -errno;
}

/* Write the file of @o's token to @o.  0, or an exit status once
 * reported (5 for a token or label that the session does not have). */
static int write_output(const struct luoctl *l, const char *name,
			luo_session_t *session, struct output *o)
{
	_cleanup_close_ int fd = -1;
	off_t copied = 0;
	char what[32];
	int r;

	if (o->label) {
		r = luo_session_retrieve_fd_by_label(session, o->label,
						     &o->token, &fd);
		if (r < 0)
			return luoctl_fail_at(l, LUOCTL_STEP_LOOKUP, r,
					      o->label, -r == ENOENT ?
					      "the session's record has no "
					      "such label" : NULL);
	} else {
		r = luo_session_retrieve_fd(session, o->token, &fd);
	}
	snprintf(what, sizeof(what), "token %" PRIu64, o->token);
	if (r < 0)
		return luoctl_fail_at(l, LUOCTL_STEP_LOOKUP, r, what,
				      -r == ENOENT ?
				      "the session has no such token" : NULL);
	/* Only a regular file has old bytes to drop, and only it can be
	 * truncated: a FIFO, a pipe or /dev/null fails with EINVAL. */
	if (o->regular && o->fd != STDOUT_FILENO && ftruncate(o->fd, 0) < 0)
		return luoctl_fail(l, errno, o->path, NULL);
	r = luoctl_copy_out(fd, o->fd, &copied);
	/* Written out means on disk: the kernel's copy is about to go. */
	if (r == 0 && o->regular && fsync(o->fd) < 0)
		r = -errno;
	if (r == 0)
		r = close_output(o);
	if (r < 0)
		return luoctl_fail(l, r, o->path, NULL);
	fprintf(stderr, "luoctl: %s: %lld bytes written to %s\n", what,
		(long long)copied, o->path);
	if (l->json) {
		struct luoctl_json j;
		const char *label = NULL;

		(void)luo_session_token_get_label(session, o->token, &label);
		luoctl_json_begin(&j, "restored");
		luoctl_json_str(&j, "session", name);
		luoctl_json_u64(&j, "token", o->token);
		luoctl_json_str(&j, "label", label);
		luoctl_json_str(&j, "output", o->path);
		luoctl_json_i64(&j, "bytes", (int64_t)copied);
		luoctl_json_end(&j);
	}
	return 0;
}

static const char *state_name(enum luo_token_state state)
{
	switch (state) {
	case LUO_TOKEN_PRESERVED:
		return "preserved";
	case LUO_TOKEN_INCOMING:
		return "incoming";
	case LUO_TOKEN_RESTORED:
		return "restored";
	}
	return "?";
}

struct listing {
	const struct luoctl *l;
	luo_session_t *session;
	const char *name;
};

static int print_token(uint64_t token, enum luo_token_state state,
		       void *data)
{
	const struct listing *ls = data;
	const char *label = NULL;

	(void)luo_session_token_get_label(ls->session, token, &label);
	if (ls->l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "token");
		luoctl_json_str(&j, "session", ls->name);
		luoctl_json_u64(&j, "token", token);
		luoctl_json_str(&j, "state", state_name(state));
		luoctl_json_str(&j, "label", label);
		luoctl_json_end(&j);
	} else {
		printf("%" PRIu64 "\t%s\t%s\n", token, state_name(state),
		       label ? label : "-");
	}
	return 0;
}

/* --list: what the session's record says, before anything is retrieved. */
static void list_tokens(const struct luoctl *l, luo_session_t *session,
			const char *name)
{
	struct listing ls = { l, session, name };
	int n = luo_session_token_count(session);

	if (n == 0)
		fprintf(stderr, "luoctl: session \"%s\" has no record: its "
			"tokens are known to whoever preserved them\n", name);
	(void)luo_session_token_foreach(session, print_token, &ls);
	fflush(stdout);
}

struct collect {
	const struct luoctl *l;
	struct restore *rs;
	luo_session_t *session;
	int err;
};

/* A file name in DIR for a recorded token: its label, with '/' made '_'
 * (a label is any text), or "token-T" for one without a label. */
static char *output_name(luo_session_t *session, uint64_t token)
{
	const char *label = NULL;
	char *name;

	if (luo_session_token_get_label(session, token, &label) == 0 &&
	    strcmp(label, ".") && strcmp(label, "..")) {
		name = strdup(label);
		for (char *p = name; p && *p; p++)
			if (*p == '/')
				*p = '_';
		return name;
	}
	if (asprintf(&name, "token-%" PRIu64, token) < 0)
		return NULL;
	return name;
}

static int collect_output(uint64_t token, enum luo_token_state state,
			  void *data)
{
	struct collect *c = data;
	struct restore *rs = c->rs;
	_cleanup_free_ char *name = NULL;
	struct output *o;
	size_t n = rs->n;
	void *grown;
	int fd;

	(void)state;
	grown = realloc(rs->out, (n + 1) * sizeof(*rs->out));
	if (!grown)
		return -ENOMEM;
	rs->out = grown;
	grown = realloc(rs->paths, (n + 1) * sizeof(*rs->paths));
	if (!grown)
		return -ENOMEM;
	rs->paths = grown;
	o = &rs->out[n];
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->token = token;
	name = output_name(c->session, token);
	if (!name)
		return -ENOMEM;
	/* DIR/NAME: what is reported, and what restore_done() unlinks */
	if (asprintf(&rs->paths[n], "%s/%s", rs->dir, name) < 0)
		return -ENOMEM;
	rs->n++;
	o->path = rs->paths[n];
	fd = openat(rs->dir_fd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		c->err = -errno;
		return luoctl_fail(c->l, errno, o->path,
				   "nothing is overwritten");
	}
	o->fd = fd;
	o->created = true;
	o->regular = true;
	return 0;
}

static int run(struct luoctl *l, int argc, char **argv)
{
	struct restore rs _cleanup_(restore_done) = { 0 };
	_cleanup_session_force_ luo_session_t *session = NULL;
	_cleanup_ctx_ luo_ctx_t *ctx = NULL;
	_cleanup_free_ char *msg = NULL;
	size_t unwritten = 0;
	int r, status = 0;

	rs.dir_fd = -1;
	r = parse_args(l, argc, argv, &rs);
	if (r != LUOCTL_CONTINUE)
		return r;
	/* A reader that goes away (restore ... --output - | head) is a
	 * write error to report, not the end of luoctl. */
	signal(SIGPIPE, SIG_IGN);

	if (rs.dir) {
		/* checked before the session is taken, like the outputs */
		rs.dir_fd = open(rs.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rs.dir_fd < 0)
			return luoctl_fail(l, errno, rs.dir,
					   "nothing was retrieved");
	}
	r = open_outputs(l, &rs);
	if (r)
		return r;
	r = luoctl_open_or_fail(l, &ctx);
	if (r)
		return r;
	r = luo_session_retrieve(ctx, rs.name, &session);
	if (r < 0)
		return luoctl_fail_at(l, LUOCTL_STEP_LOOKUP, r,
				      "cannot retrieve the session",
				      luoctl_session_hint(r, false));
	rs.retrieved = true;
	if (rs.list)
		list_tokens(l, session, rs.name);
	if (rs.dir) {
		struct collect c = { l, &rs, session, 0 };

		r = luo_session_token_foreach(session, collect_output, &c);
		if (r != 0) {
			/* nothing retrieved yet: the files made are removed */
			rs.retrieved = false;
			return c.err ? EXIT_FAILURE :
				       luoctl_fail(l, r, rs.dir, NULL);
		}
		if (rs.n == 0) {
			if (asprintf(&msg, "session \"%s\": its record "
				     "lists no token; nothing written, "
				     "session not finished", rs.name) < 0)
				msg = NULL;
			return luoctl_fail_msg(l, LUOCTL_EXIT_FAILURE, 0,
					       msg ? msg : rs.name, NULL);
		}
	}

	/* Go on after a failed token: the others would be lost otherwise.
	 * The exit status is 5 when every failure was a missing token. */
	for (size_t i = 0; i < rs.n; i++) {
		r = write_output(l, rs.name, session, &rs.out[i]);
		if (r == 0)
			continue;
		unwritten++;
		if (status == 0 || status == LUOCTL_EXIT_NOT_FOUND)
			status = r;
	}

	if (unwritten > 0) {
		if (asprintf(&msg, "session \"%s\" not finished: %zu of %zu "
			     "tokens not written out", rs.name, unwritten,
			     rs.n) < 0)
			msg = NULL;
		return luoctl_fail_msg(l, status, 0, msg ? msg : rs.name,
				       "the kernel still finishes a retrieved "
				       "session when its last descriptor is "
				       "closed: what was not written out is "
				       "lost when luoctl exits");
	}
	r = luoctl_finish_session(session);
	if (r < 0)
		return luoctl_fail(l, r, "cannot finish the session", NULL);
	fprintf(stderr, "luoctl: session \"%s\" finished\n", rs.name);
	if (l->json) {
		struct luoctl_json j;

		luoctl_json_begin(&j, "finished");
		luoctl_json_str(&j, "session", rs.name);
		luoctl_json_u64(&j, "tokens", rs.n);
		luoctl_json_end(&j);
	}
	return EXIT_SUCCESS;
}

const struct luoctl_cmd luoctl_cmd_restore = {
	.name = "restore",
	.synopsis =
"restore --session NAME [--list] (--token T | --label L) --output FILE...\n"
"restore --session NAME [--list] --all --output-dir DIR\n",
	.help =
"after a live update, take session NAME and write the bytes\n"
"of each token T (or the token labeled L in the session's\n"
"record, as luoctl hold labels files) to FILE (\"-\":\n"
"stdout), or with --all every recorded token into DIR,\n"
"named by its label.  --list first prints the record:\n"
"\"TOKEN<TAB>STATE<TAB>LABEL\".  The session is then\n"
"finished: tokens not written out are discarded.\n",
	.run = run,
};
