/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions, the mainline kernel's unit of preservation: create, retrieve,
 * preserve and retrieve files, finish, close, and what libluo knows of
 * their tokens.  Handing sessions to other processes is session-handoff.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-req.h"
#include "log.h"
#include "macro.h"
#include "session.h"

struct luo_session *luoi_session_new(luo_ctx_t *ctx, int fd, const char *name,
				     enum luo_session_direction dir)
{
	struct luo_session *s = luoi_objcache_get(&ctx->session_cache,
						  sizeof(*s));
	size_t len;

	if (!s)
		return NULL;
	/* every field, once: the cache hands out memory as it was left */
	s->ctx = ctx;
	s->fd = fd;
	len = strnlen(name, sizeof(s->name) - 1);
	memcpy(s->name, name, len);
	memset(s->name + len, 0, sizeof(s->name) - len);
	s->dir = dir;
	s->internal = false;
	luoi_mutex_init(&s->lock);
	s->finished = false;
	s->sent = false;
	s->adopted = false;
	s->lent = false;
	s->indexed = false;
	s->fdstore = false;
	luoi_token_table_init_buffer(&s->tokens, s->inline_slots,
				     LUOI_SESSION_INLINE_SLOTS);
	luoi_label_table_init(&s->labels);
	s->record = NULL;
	return s;
}

/* Tear down what luoi_session_new() set up; the memory stays. */
static void session_fini(struct luo_session *s)
{
	if (s->record) {
		luoi_record_writer_fini(s->record);
		free(s->record);
		s->record = NULL;
	}
	luoi_label_table_fini(&s->labels);
	luoi_token_table_fini(&s->tokens);
	pthread_mutex_destroy(&s->lock);
}

void luoi_session_free(struct luo_session *s)
{
	if (!s)
		return;
	if (s->lent || s->fdstore) {
		LUOI_LOCK_GUARD(&s->ctx->lock);
		if (s->lent)
			luoi_hmap_remove(&s->ctx->lent_fds, (uint64_t)s->fd,
					 NULL);
		/* the fd store's descriptor is closed: say so to a later
		 * luo_session_from_fdstore() of the same name */
		if (s->fdstore) {
			uint64_t *state = luoi_hmap_find(&s->ctx->fdstore_fds,
							 (uint64_t)s->fd);

			if (state)
				*state = LUOI_FDSTORE_CLOSED;
		}
	}
	luoi_ctx_close_fd(s->ctx, s->fd);
	session_fini(s);
	luoi_objcache_put(&s->ctx->session_cache, s);
}

int luoi_session_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, LUO_SESSION_NAME_MAX + 1);
	return len == 0 || len > LUO_SESSION_NAME_MAX ? -EINVAL : (int)len;
}

/*
 * The handle is allocated before the kernel is asked: a retrieved session
 * can be taken once per boot, and dropping it for lack of memory would
 * finish it.
 */
int luoi_session_open(luo_ctx_t *ctx, const char *name,
		      enum luo_session_direction dir, struct luo_session **ret)
{
	struct luo_session *s = luoi_session_new(ctx, -1, name, dir);
	int dev_fd, r;

	if (!s)
		return -ENOMEM;
	dev_fd = luoi_ctx_device_get(ctx);
	if (dev_fd < 0) {
		luoi_session_free(s);
		return dev_fd;
	}
	/* s->name: the name NUL-padded to the request's 64 bytes */
	if (dir == LUO_SESSION_OUTGOING)
		r = luoi_req_create_session(ctx->backend, dev_fd, s->name,
					    &s->fd);
	else
		r = luoi_req_retrieve_session(ctx->backend, dev_fd, s->name,
					      &s->fd);
	luoi_ctx_device_put(ctx);
	if (r < 0) {
		luoi_session_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static int sessions_supported(luo_ctx_t *ctx)
{
	int r = luoi_ctx_check(ctx);

	if (r < 0)
		return r;
	return ctx->abi == LUO_ABI_MAINLINE ? 0 : -EOPNOTSUPP;
}

static bool name_reserved(const char *name, size_t len)
{
	return len >= sizeof(LUO_RESERVED_PREFIX) - 1 &&
	       memcmp(name, LUO_RESERVED_PREFIX,
		      sizeof(LUO_RESERVED_PREFIX) - 1) == 0;
}

/* What to do about a failed request on a session, where libluo knows;
 * @enoent: the meaning of ENOENT for this request.  NULL: no hint. */
static const char *request_hint(int r, const char *enoent)
{
	switch (-r) {
	case ENODEV:
		return "this handle is from before the live update: close it "
		       "and retrieve the session again";
	case ENOENT:
		return enoent;
	case EBUSY:
		return "the kernel is still using files of the session: try "
		       "again";
	default:
		return NULL;
	}
}

static const char *open_hint(int r, enum luo_session_direction dir)
{
	switch (-r) {
	case EINVAL:
		return dir == LUO_SESSION_INCOMING ?
			       "a session can be retrieved once per boot, and "
			       "this one was (by this or another process)" :
			       NULL;
	case ENOENT:
		return "no incoming session of that name: it was not held "
		       "at the live update, or it was finished";
	case EEXIST:
		return "an outgoing session of that name exists already";
	case ENODEV:
		return "the context does not hold the device";
	case EMFILE:
		return "no descriptor left: raise RLIMIT_NOFILE";
	default:
		return NULL;
	}
}

static void log_preserve(struct luo_session *s, const char *api, int fd,
			 uint64_t token, const char *label, int r)
{
	const char *hint = NULL;

	if (r == 0) {
		luoi_dbg(s->ctx, api, "session \"%s\": fd %d preserved as %#"
			 PRIx64 "%s%s%s", s->name, fd, token,
			 label ? " \"" : "", luoi_strempty(label),
			 label ? "\"" : "");
		return;
	}
	switch (-r) {
	case ENOENT:
		hint = "the kernel preserves only memfds (shmem files, not "
		       "MFD_HUGETLB ones)";
		break;
	case EBUSY:
		hint = "the file is preserved already, in this or another "
		       "session";
		break;
	case EEXIST:
		hint = label ? "the session holds this token, or this label, "
			       "already" :
			       "the session holds this token already";
		break;
	case ENOSPC:
		hint = "the session (or its record) is full";
		break;
	case EMFILE:
		hint = "no descriptor left to make the record's next segment: "
		       "raise RLIMIT_NOFILE";
		break;
	default:
		hint = request_hint(r, NULL);
	}
	luoi_err(s->ctx, api, "session \"%s\": preserve fd %d as %#" PRIx64
		 ": %s%s%s", s->name, fd, token, strerror(-r), hint ? ": " : "",
		 luoi_strempty(hint));
}

/* Create a session and record its name in the context's index. */
static int create_indexed(luo_ctx_t *ctx, const char *name, size_t len,
			  struct luo_session **ret)
{
	struct luoi_record_res res;
	int r;

	/* the device first: a context without it fails as before */
	if (atomic_load(&ctx->dev_fd) < 0)
		return -ENODEV;
	r = luoi_index_reserve(ctx, "luo_session_create", len, &res);
	if (r < 0)
		return r;
	r = luoi_session_open(ctx, name, LUO_SESSION_OUTGOING, ret);
	if (r < 0) {
		luoi_index_abort(ctx, &res);
		return r;
	}
	luoi_index_commit(ctx, &res, LUOI_RECORD_NAME, name, len);
	(*ret)->indexed = true;
	return 0;
}

static int open_public(luo_ctx_t *ctx, const char *name,
		       enum luo_session_direction dir, luo_session_t **ret)
{
	const char *api = dir == LUO_SESSION_OUTGOING ? "luo_session_create" :
							"luo_session_retrieve";
	struct luo_session *s;
	int len, r;

	r = sessions_supported(ctx);
	if (r < 0)
		return r;
	len = luoi_session_name_check(name);
	if (!ret || len < 0)
		return -EINVAL;
	/* libluo's own sessions (the original API): taking one would leave
	 * the original API unable to finish the update */
	if (name_reserved(name, (size_t)len))
		return -EINVAL;
	if (dir == LUO_SESSION_OUTGOING && !ctx->no_record)
		r = create_indexed(ctx, name, (size_t)len, &s);
	else
		r = luoi_session_open(ctx, name, dir, &s);
	if (r < 0) {
		const char *hint = open_hint(r, dir);

		luoi_err(ctx, api, "session \"%s\": %s%s%s", name, strerror(-r),
			 hint ? ": " : "", luoi_strempty(hint));
		return r;
	}
	if (dir == LUO_SESSION_INCOMING) {
		r = luoi_session_load_record(s);
		/* the session is ours now: dropping it would finish it */
		if (r < 0)
			luoi_err(ctx, api, "session \"%s\": its record is "
				 "unusable (%s): its tokens are known only "
				 "once retrieved", name, strerror(-r));
	}
	luoi_ctx_ref(ctx);
	luoi_dbg(ctx, api, "session \"%s\": %s, fd %d%s", name,
		 dir == LUO_SESSION_OUTGOING ? "created" : "retrieved", s->fd,
		 dir == LUO_SESSION_INCOMING && luoi_token_table_count(&s->tokens) ?
			 ", its record lists its tokens" : "");
	*ret = s;
	return 0;
}

LUOI_EXPORT int luo_session_create(luo_ctx_t *ctx, const char *name,
				   luo_session_t **ret)
{
	return open_public(ctx, name, LUO_SESSION_OUTGOING, ret);
}

LUOI_EXPORT int luo_session_retrieve(luo_ctx_t *ctx, const char *name,
				     luo_session_t **ret)
{
	return open_public(ctx, name, LUO_SESSION_INCOMING, ret);
}

/* Check a label: its length, or -EINVAL. */
static int label_check(const char *label)
{
	size_t len = strnlen(label, LUO_LABEL_MAX + 1);

	return len == 0 || len > LUO_LABEL_MAX ? -EINVAL : (int)len;
}

/*
 * Reserve everything a preserve needs under the session's lock: the
 * token, the label, room in the record.  The record's room may need a new
 * segment, made with the lock dropped (luoi_record_reserve()); the token
 * and the label are pending by then, so a concurrent preserve of either
 * fails -EEXIST as it should.
 */
static int preserve_reserve(struct luo_session *s, uint64_t token,
			    const char *label, size_t label_len,
			    uint32_t *label_id, struct luoi_record_res *res)
{
	int r;

	r = luoi_token_table_reserve(&s->tokens, token);
	if (r < 0)
		return r;
	*label_id = 0;
	if (label) {
		r = luoi_label_add(&s->labels, label, label_len, token, true,
				   true);
		if (r < 0)
			goto fail_token;
		*label_id = (uint32_t)r;
	}
	res->seg = NULL;
	if (s->ctx->no_record)
		return 0;
	if (!s->record) {
		s->record = malloc(sizeof(*s->record));
		if (!s->record) {
			r = -ENOMEM;
			goto fail_label;
		}
		luoi_record_writer_init(s->record, LUOI_RECORD_SESSION,
					s->ctx->backend, s->fd);
	}
	r = luoi_record_reserve(s->record, &s->lock,
				luoi_record_entry_size(LUOI_RECORD_TOKEN,
						       label_len),
				res);
	if (r == 0)
		return 0;
fail_label:
	if (*label_id)
		luoi_label_abort(&s->labels, *label_id);
fail_token:
	luoi_token_table_abort(&s->tokens, token);
	return r;
}

static int preserve(struct luo_session *s, int fd, uint64_t token,
		    const char *label, const char *api)
{
	struct luoi_record_seg *retired;
	struct luoi_record_res res;
	uint32_t label_id;
	size_t label_len = 0;
	int r = luoi_session_check(s);

	if (r < 0)
		return r;
	if (s->dir != LUO_SESSION_OUTGOING || fd < 0 ||
	    token >= LUO_TOKEN_RESERVED_MIN)
		return -EINVAL;
	if (label) {
		r = label_check(label);
		if (r < 0)
			return r;
		if (s->ctx->no_record)
			return -EOPNOTSUPP; /* nowhere to keep it */
		label_len = (size_t)r;
	}
	luoi_mutex_lock(&s->lock);
	r = preserve_reserve(s, token, label, label_len, &label_id, &res);
	luoi_mutex_unlock(&s->lock);
	if (r < 0) {
		log_preserve(s, api, fd, token, label, r);
		return r;
	}
	r = luoi_req_preserve_fd(s->ctx->backend, s->fd, fd, token);
	luoi_mutex_lock(&s->lock);
	if (r == 0) {
		struct luoi_record_entry e = {
			.type = LUOI_RECORD_TOKEN,
			.token = token,
			.text = label,
			.text_len = label_len,
		};

		if (res.seg)
			luoi_record_commit(s->record, &res, &e);
		luoi_token_table_commit(&s->tokens, token,
					LUOI_TOKEN_VALUE(LUO_TOKEN_PRESERVED,
							 label_id));
		if (label_id)
			luoi_label_commit(&s->labels, label_id);
	} else {
		if (res.seg)
			luoi_record_abort(s->record, &res);
		if (label_id)
			luoi_label_abort(&s->labels, label_id);
		luoi_token_table_abort(&s->tokens, token);
	}
	retired = res.seg ? luoi_record_take_retired(s->record) : NULL;
	luoi_mutex_unlock(&s->lock);
	luoi_record_retire(retired);
	log_preserve(s, api, fd, token, label, r);
	return r;
}

LUOI_EXPORT int luo_session_preserve_fd(luo_session_t *session, int fd,
					uint64_t token)
{
	return preserve(session, fd, token, NULL, "luo_session_preserve_fd");
}

LUOI_EXPORT int luo_session_preserve_fd_labeled(luo_session_t *session, int fd,
						uint64_t token,
						const char *label)
{
	return preserve(session, fd, token, label,
			"luo_session_preserve_fd_labeled");
}

LUOI_EXPORT int luo_session_retrieve_fd(luo_session_t *session, uint64_t token,
					int *fd)
{
	int newfd = -1, r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!fd || session->dir != LUO_SESSION_INCOMING ||
	    token >= LUO_TOKEN_RESERVED_MIN)
		return -EINVAL;
	r = luoi_req_retrieve_fd(session->ctx->backend, session->fd, token,
				 &newfd);
	if (r < 0) {
		const char *hint = request_hint(r, "no file under this token "
						   "in the session (never "
						   "preserved, or the session "
						   "was finished)");

		luoi_err(session->ctx, "luo_session_retrieve_fd",
			 "session \"%s\": token %#" PRIx64 ": %s%s%s",
			 session->name, token, strerror(-r), hint ? ": " : "",
			 luoi_strempty(hint));
		return r;
	}
	luoi_dbg(session->ctx, "luo_session_retrieve_fd",
		 "session \"%s\": token %#" PRIx64 " retrieved, fd %d",
		 session->name, token, newfd);
	{
		LUOI_LOCK_GUARD(&session->lock);

		r = luoi_token_table_set(&session->tokens, token,
					 LUO_TOKEN_RESTORED);
	}
	if (r < 0) {
		/* the kernel hands the file out again on the next try */
		luoi_close_keep_errno(newfd);
		return r;
	}
	*fd = newfd;
	return 0;
}

LUOI_EXPORT int luo_session_retrieve_fd_by_label(luo_session_t *session,
						 const char *label,
						 uint64_t *token, int *fd)
{
	uint64_t found;
	int len, r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!label || !fd || session->dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	len = label_check(label);
	if (len < 0)
		return len;
	{
		LUOI_LOCK_GUARD(&session->lock);

		r = luoi_label_find(&session->labels, label, (size_t)len,
				    &found);
	}
	if (r < 0)
		return r;
	r = luo_session_retrieve_fd(session, found, fd);
	if (r == 0 && token)
		*token = found;
	return r;
}

LUOI_EXPORT int luo_session_token_get_label(luo_session_t *session,
					    uint64_t token, const char **label)
{
	const char *text;
	int64_t id;
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!label)
		return -EINVAL;
	LUOI_LOCK_GUARD(&session->lock);
	id = luoi_token_table_label(&session->tokens, token);
	if (id <= 0)
		return -ENOENT;
	text = luoi_label_text(&session->labels, (uint32_t)id);
	if (!text)
		return -ENOENT;
	*label = text;
	return 0;
}

/* One entry of the record read after the live update. */
static int load_entry(const struct luoi_record_entry *e, void *data)
{
	struct luo_session *s = data;
	uint32_t label_id = 0;
	int r;

	if (e->type != LUOI_RECORD_TOKEN || e->token >= LUO_TOKEN_RESERVED_MIN)
		return 0; /* not ours to list */
	if (luoi_hmap_find(&s->tokens.map, e->token))
		return 0; /* recorded twice: the first entry counts */
	if (e->text_len) {
		/* a label recorded twice (two writers) is kept for its
		 * token, and the first one is what a lookup finds */
		uint64_t other;
		bool first = luoi_label_find(&s->labels, e->text, e->text_len,
					     &other) < 0;

		r = luoi_label_add(&s->labels, e->text, e->text_len, e->token,
				   false, first);
		if (r < 0)
			return r;
		label_id = (uint32_t)r;
	}
	return luoi_token_table_add(&s->tokens, e->token,
				    LUOI_TOKEN_VALUE(LUO_TOKEN_INCOMING,
						     label_id));
}

int luoi_session_load_record(struct luo_session *s)
{
	int r = luoi_record_load(s->ctx->backend, s->fd, LUOI_RECORD_SESSION,
				 load_entry, s);

	if (r < 0) {
		/* all or nothing: a partial list would mislead */
		luoi_token_table_fini(&s->tokens);
		luoi_token_table_init_buffer(&s->tokens, s->inline_slots,
					     LUOI_SESSION_INLINE_SLOTS);
		luoi_label_table_fini(&s->labels);
	}
	return r;
}

LUOI_EXPORT int luo_session_finish(luo_session_t *session)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (session->dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	r = luoi_req_finish(session->ctx->backend, session->fd);
	if (r < 0) {
		const char *hint = request_hint(r, NULL);

		luoi_err(session->ctx, "luo_session_finish",
			 "session \"%s\": %s%s%s", session->name, strerror(-r),
			 hint ? ": " : "", luoi_strempty(hint));
		return r;
	}
	luoi_dbg(session->ctx, "luo_session_finish", "session \"%s\": finished",
		 session->name);
	LUOI_LOCK_GUARD(&session->lock);
	session->finished = true;
	return 0;
}

LUOI_EXPORT int luo_session_get_name(luo_session_t *session, const char **name)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!name)
		return -EINVAL;
	*name = session->name;
	return 0;
}

LUOI_EXPORT int luo_session_get_direction(luo_session_t *session,
					  enum luo_session_direction *dir)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!dir)
		return -EINVAL;
	*dir = session->dir;
	return 0;
}

/*
 * The descriptor is lent, not given: it is recorded so that
 * luo_session_adopt_fd() refuses it, since a second handle owning the same
 * descriptor would close it under the first one's feet.
 */
LUOI_EXPORT int luo_session_get_fd(luo_session_t *session)
{
	luo_ctx_t *ctx;
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	ctx = session->ctx;
	LUOI_LOCK_GUARD(&ctx->lock);
	if (!session->lent) {
		r = luoi_hmap_insert(&ctx->lent_fds, (uint64_t)session->fd, 1);
		if (r < 0)
			return r;
		session->lent = true;
	}
	return session->fd;
}

/*
 * A handle from before a (simulated) kexec: its session is gone, closing
 * it loses nothing.  Only a fake kernel's handles can outlive a kexec;
 * the kernel answers their requests ENODEV.
 */
static bool session_dead(struct luo_session *s)
{
	char name[LUO_K_NAME_LEN];

	return luoi_req_get_name(s->ctx->backend, s->fd, name) == -ENODEV;
}

/* Whether closing the session now would make the kernel drop data. */
static bool close_may_lose(struct luo_session *s)
{
	LUOI_LOCK_GUARD(&s->lock);

	if (s->sent)
		return false;
	if (s->dir == LUO_SESSION_OUTGOING)
		return luoi_token_table_count(&s->tokens) > 0 || s->adopted;
	return !s->finished;
}

/* An indexed session whose only holder is this handle. */
static bool closing_ends_session(struct luo_session *s)
{
	LUOI_LOCK_GUARD(&s->lock);
	return s->indexed && !s->sent;
}

LUOI_EXPORT int luo_session_close(luo_session_t *session, unsigned int flags)
{
	luo_ctx_t *ctx;
	int r;

	if (!session)
		return 0;
	if (flags & ~(unsigned int)LUO_SESSION_CLOSE_FORCE)
		return -EINVAL;
	ctx = session->ctx;
	r = luoi_ctx_check(ctx);
	if (r == -ECHILD) {
		/* The parent's kernel objects stay alive through the
		 * parent's descriptors: free the child's copy. */
		luoi_close_keep_errno(session->fd);
		/* not into the cache: its lock belongs to the parent */
		session_fini(session);
		free(session);
		luo_ctx_unref(ctx);
		return -ECHILD;
	}
	if (!(flags & LUO_SESSION_CLOSE_FORCE) && close_may_lose(session) &&
	    !session_dead(session)) {
		luoi_err(ctx, "luo_session_close",
			 "refusing to close session \"%s\": it would %s; pass "
			 "LUO_SESSION_CLOSE_FORCE to do it anyway",
			 session->name,
			 session->dir == LUO_SESSION_OUTGOING ?
				 "unpreserve its files" :
				 "finish it and discard what was not retrieved");
		return -EBUSY;
	}
	luoi_dbg(ctx, "luo_session_close", "session \"%s\": closed%s",
		 session->name, flags & LUO_SESSION_CLOSE_FORCE ? " (forced)" : "");
	/* no other thread may use the handle any more (see the header):
	 * nothing to detach, close outside any lock */
	if (closing_ends_session(session)) {
		struct luoi_record_res res;
		char name[LUO_K_NAME_LEN];
		size_t len = strlen(session->name);

		/* closed first, then said: a live update in between lists a
		 * session that is gone, never hides one that is there */
		memcpy(name, session->name, sizeof(name));
		r = luoi_index_reserve(ctx, "luo_session_close", len, &res);
		luoi_session_free(session);
		if (r == 0)
			luoi_index_commit(ctx, &res, LUOI_RECORD_NAME_GONE,
					  name, len);
	} else {
		luoi_session_free(session);
	}
	luo_ctx_unref(ctx);
	return 0;
}

LUOI_EXPORT int luo_session_token_lookup(luo_session_t *session, uint64_t token,
					 enum luo_token_state *state)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!state)
		return -EINVAL;
	LUOI_LOCK_GUARD(&session->lock);
	return luoi_token_table_lookup(&session->tokens, token, state);
}

LUOI_EXPORT int luo_session_token_count(luo_session_t *session)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	LUOI_LOCK_GUARD(&session->lock);
	return (int)luoi_token_table_count(&session->tokens);
}

int luoi_token_foreach(pthread_mutex_t *lock, const struct luoi_token_table *t,
		       luo_token_fn fn, void *userdata)
{
	_cleanup_free_ struct luoi_token_snap *snap = NULL;
	size_t n, k;
	int r;

	luoi_mutex_lock(lock);
	r = luoi_token_table_snapshot(t, &snap, &n);
	luoi_mutex_unlock(lock);
	if (r < 0)
		return r;
	for (k = 0; k < n; k++) {
		r = fn(snap[k].token, snap[k].state, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

LUOI_EXPORT int luo_session_token_foreach(luo_session_t *session,
					  luo_token_fn fn, void *userdata)
{
	int r = luoi_session_check(session);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	return luoi_token_foreach(&session->lock, &session->tokens, fn,
				  userdata);
}
