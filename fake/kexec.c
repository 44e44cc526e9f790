/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated live update (luo_fake_kexec()): the outgoing state is
 * copied into new incoming sessions first, and only when every copy
 * succeeded does the old kernel go away, so a failure (-ENOMEM, -EIO,
 * -EMFILE) rolls everything back like a failing freeze in
 * luo_session_serialize().  Nothing after that point can fail: the maps of
 * the new state are filled while it is built.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fake-private.h"

/* Copies of the files of @src into @s (empty, its tokens reserved). */
static int copy_files(struct fsession *s, const struct fsession *src)
{
	const struct ffile *it;
	int r;

	for (it = src->head; it; it = it->next) {
		struct ffile *file = calloc(1, sizeof(*file));
		struct stat st;

		if (!file)
			return -ENOMEM;
		file->fd = -1;
		file->token = it->token;
		luoi_fake_file_link(s, file); /* reserved */
		r = luoi_fake_copy_file(it, &file->fd);
		if (r < 0)
			return r;
		if (fstat(file->fd, &st) < 0)
			return -EIO;
		file->dev = (uint64_t)st.st_dev;
		file->ino = (uint64_t)st.st_ino;
	}
	return 0;
}

/* The incoming copy of @src (NULL: an empty one), tokens included; it
 * enters no list and no fake-wide map. */
static int build_incoming(struct luo_fake *f, const struct fsession *src,
			  struct fsession **ret)
{
	struct fsession *s;
	int r;

	s = luoi_fake_session_new(true, src ? src->name : NULL);
	if (!s)
		return -ENOMEM;
	if (src) {
		r = luoi_hmap_reserve(&s->tokens, src->nfiles);
		if (!r)
			r = copy_files(s, src);
		if (r) {
			/* the files made so far are in @s: freed with it */
			luoi_fake_session_free(f, s);
			return r;
		}
	}
	*ret = s;
	return 0;
}

static int kexec_mainline(struct luo_fake *f)
{
	struct fsession_list carried;
	struct fsession *s, *n;
	int r;

	luoi_fake_list_init(&carried);
	r = luoi_fake_list_reserve(&carried, f->out.count);
	if (r)
		return r;
	/* luo_session_serialize(): every outgoing session still open */
	for (s = f->out.head; s; s = s->next) {
		r = build_incoming(f, s, &n);
		if (r) {
			luoi_fake_list_free(f, &carried);
			return r;
		}
		luoi_fake_list_add(&carried, n); /* reserved */
	}

	/* the old kernel goes away */
	luoi_fake_kill_handles(f);
	while ((s = f->out.head)) {
		luoi_fake_list_del(&f->out, s);
		luoi_fake_session_free(f, s);
	}
	luoi_fake_list_free(f, &f->in);
	f->in = carried;
	return 0;
}

static int kexec_rfc(struct luo_fake *f)
{
	bool carry = f->rfc_state == LUO_K_RFC_STATE_PREPARED;
	struct fsession *in = NULL, *out;
	int r;

	out = luoi_fake_session_new(false, NULL);
	if (!out)
		return -ENOMEM;
	/* PREPARED -> FROZEN: the list is copied; anything else: nothing */
	r = build_incoming(f, carry ? f->rfc_out : NULL, &in);
	if (r) {
		luoi_fake_session_free(f, out);
		return r;
	}

	luoi_fake_kill_handles(f);
	luoi_fake_session_free(f, f->rfc_out);
	luoi_fake_session_free(f, f->rfc_in);
	f->rfc_out = out;
	f->rfc_in = in;
	f->rfc_state = carry ? LUO_K_RFC_STATE_UPDATED : LUO_K_RFC_STATE_NORMAL;
	return 0;
}

/* luo_fake_kexec() past its checks, with the lock held. */
int luoi_fake_kexec_locked(struct luo_fake *f)
{
	int r;

	r = luoi_fake_take_injected(f, LUO_FAKE_OP_KEXEC);
	if (r)
		return r;
	if (f->abi == LUO_ABI_RFC)
		r = kexec_rfc(f);
	else
		r = kexec_mainline(f);
	if (r)
		return r;
	if (f->boot < INT_MAX)
		f->boot++;
	return 0;
}
