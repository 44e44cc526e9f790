/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Saving and loading what a fake kernel would hand the next boot, for the
 * fake-kernel server (tools/luo-fake-server), which can be stopped and
 * started again: the boot count, the RFC state and every incoming session
 * not yet retrieved (mainline) or the RFC incoming list, with the bytes,
 * size, seals and offset of each file.  Outgoing sessions are not saved:
 * their descriptors belong to processes that a stop of the server cuts
 * off, as a crash would.  Internal (luoi_): only the server links it.
 *
 * The format (host byte order; doc/fake-server.md):
 *   "LUOFAKE1", u32 abi, u32 boot, u32 rfc_state, u32 nsessions;
 *   per session: name[64], u32 is_rfc_list, u64 nfiles;
 *   per file: u64 token, u64 size, u64 offset, u32 seals, u32 pad,
 *             then size bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-private.h"
#include "fake-state.h"
#include "io.h"

#define STATE_MAGIC "LUOFAKE1"
#define COPY_CHUNK (1u << 20)

struct state_head {
	char magic[8];
	uint32_t abi, boot, rfc_state, nsessions;
};

struct state_session {
	char name[LUO_K_NAME_LEN];
	uint32_t rfc;
	uint32_t pad;
	uint64_t nfiles;
};

/* Exactly @len bytes: 0, -EBADMSG at end of file, or -errno. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct state_file {
	uint64_t token, size, offset;
	uint32_t seals, pad;
};

static int save_file(int out, const struct ffile *file)
{
	struct state_file sf = { .token = file->token };
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	off_t pos;
	int seals, r;

	if (fstat(file->fd, &st) < 0)
		return -errno;
	pos = lseek(file->fd, 0, SEEK_CUR);
	seals = fcntl(file->fd, F_GET_SEALS);
	sf.size = (uint64_t)st.st_size;
	sf.offset = pos < 0 ? 0 : (uint64_t)pos;
	sf.seals = seals < 0 ? 0 : (uint32_t)seals;
	r = luoi_write_all(out, &sf, sizeof(sf));
	if (r < 0)
		return r;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint64_t done = 0; done < sf.size;) {
		size_t n = sf.size - done < COPY_CHUNK ? sf.size - done
						       : COPY_CHUNK;

		r = luoi_pread_all(file->fd, buf, n, (off_t)done);
		if (r < 0)
			return r;
		r = luoi_write_all(out, buf, n);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static int save_session(int out, const struct fsession *s, bool rfc)
{
	struct state_session ss = { .rfc = rfc, .nfiles = s->nfiles };
	const struct ffile *file;
	int r;

	memcpy(ss.name, s->name, sizeof(ss.name));
	r = luoi_write_all(out, &ss, sizeof(ss));
	for (file = s->head; !r && file; file = file->next)
		r = save_file(out, file);
	return r;
}

int luoi_fake_state_save(luo_fake_t *fake, int out)
{
	struct state_head h = { .magic = STATE_MAGIC };
	const struct fsession *s;
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;
	luoi_fake_reap(fake);
	LUOI_FAKE_LOCK_GUARD(fake);
	h.abi = (uint32_t)fake->abi;
	h.boot = (uint32_t)fake->boot;
	h.rfc_state = (uint32_t)fake->rfc_state;
	for (s = fake->in.head; s; s = s->next)
		if (!s->retrieved)
			h.nsessions++;
	if (fake->rfc_in)
		h.nsessions++;
	r = luoi_write_all(out, &h, sizeof(h));
	for (s = fake->in.head; !r && s; s = s->next)
		if (!s->retrieved)
			r = save_session(out, s, false);
	if (!r && fake->rfc_in)
		r = save_session(out, fake->rfc_in, true);
	return r;
}

/* A memfd made like luoi_fake_copy_file() makes the restored ones. */
static int load_file(int in, struct ffile *file)
{
	struct state_file sf;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = read_all(in, &sf, sizeof(sf));
	if (r < 0)
		return r;
	fd = memfd_create("", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && (errno == EINVAL || errno == EACCES || errno == EPERM))
		fd = memfd_create("", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)sf.size) < 0)
		return -errno;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint64_t done = 0; done < sf.size;) {
		size_t n = sf.size - done < COPY_CHUNK ? sf.size - done
						       : COPY_CHUNK;

		r = read_all(in, buf, n);
		if (r < 0)
			return r;
		if (pwrite(fd, buf, n, (off_t)done) != (ssize_t)n)
			return -EIO;
		done += n;
	}
	if (lseek(fd, (off_t)sf.offset, SEEK_SET) < 0)
		return -errno;
	if (sf.seals && fcntl(fd, F_ADD_SEALS, (int)sf.seals) < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	file->token = sf.token;
	file->size = (off_t)sf.size;
	file->seals = sf.seals;
	file->dev = (uint64_t)st.st_dev;
	file->ino = (uint64_t)st.st_ino;
	file->fd = TAKE_FD(fd);
	return 0;
}

static int load_session(luo_fake_t *f, int in, struct fsession **ret,
			bool *rfc)
{
	struct state_session ss;
	struct fsession *s;
	int r;

	r = read_all(in, &ss, sizeof(ss));
	if (r < 0)
		return r;
	ss.name[LUO_K_NAME_LEN - 1] = '\0';
	s = luoi_fake_session_new(true, ss.rfc ? NULL : ss.name);
	if (!s)
		return -ENOMEM;
	for (uint64_t i = 0; i < ss.nfiles; i++) {
		struct ffile *file = calloc(1, sizeof(*file));

		if (!file) {
			r = -ENOMEM;
			break;
		}
		file->fd = -1;
		r = load_file(in, file);
		if (!r && luoi_fake_session_find(s, file->token))
			r = -EEXIST;
		if (!r)
			r = luoi_fake_file_link(s, file);
		if (r) {
			if (file->fd >= 0)
				close(file->fd);
			free(file);
			break;
		}
	}
	if (r) {
		luoi_fake_session_free(f, s);
		return r;
	}
	*rfc = ss.rfc != 0;
	*ret = s;
	return 0;
}

int luoi_fake_state_load(luo_fake_t *fake, int in)
{
	struct state_head h;
	int r;

	r = luoi_fake_enter(fake);
	if (r)
		return r;
	r = read_all(in, &h, sizeof(h));
	if (r < 0)
		return r;
	if (memcmp(h.magic, STATE_MAGIC, sizeof(h.magic)))
		return -EBADMSG;
	LUOI_FAKE_LOCK_GUARD(fake);
	if ((uint32_t)fake->abi != h.abi)
		return -EPROTO;
	if (fake->in.count || fake->out.count || fake->dev_in_use)
		return -EBUSY;
	for (uint32_t i = 0; i < h.nsessions; i++) {
		struct fsession *s;
		bool rfc;

		r = load_session(fake, in, &s, &rfc);
		if (r)
			return r;
		if (rfc) {
			luoi_fake_session_free(fake, fake->rfc_in);
			fake->rfc_in = s;
			continue;
		}
		if (luoi_fake_list_find(&fake->in, s->name)) {
			luoi_fake_session_free(fake, s);
			return -EEXIST;
		}
		r = luoi_fake_list_reserve(&fake->in, 1);
		if (r) {
			luoi_fake_session_free(fake, s);
			return r;
		}
		luoi_fake_list_add(&fake->in, s);
	}
	fake->boot = (int)h.boot;
	fake->rfc_state = (int)h.rfc_state;
	return 0;
}
