/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memfd handler: luo_preserve_file() with mm/memfd_luo.c's checks at
 * preserve time, and the copy of a preserved file at kexec (freeze and
 * memfd_luo_retrieve()).  What is carried and what is not: fake/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fake-private.h"

#define FAKE_COPY_CHUNK (1u << 20)

/* ------------------------------------------------------------------------ */
/* Known tmpfs devices                                                      */
/* ------------------------------------------------------------------------ */

/*
 * fstatfs() tells whether a file lives on tmpfs.  While the fake holds a
 * preserved file, that file pins its superblock, so its st_dev cannot be
 * given to another file system: a file with the same st_dev is on the same
 * tmpfs and needs no fstatfs().  fake->tmpfs_devs counts the files held per
 * device (memfds all share one).  It is read by a preserve before it takes
 * the lock, hence a lock of its own (devs_lock): a device found there is
 * pinned at that moment, and the file looked at is held by our dup since
 * before, so both are on the same superblock.
 */
static bool known_tmpfs(struct luo_fake *f, uint64_t dev)
{
	LUOI_LOCK_GUARD(&f->devs_lock);
	return luoi_hmap_find(&f->tmpfs_devs, dev) != NULL;
}

/* After a reserve of tmpfs_devs. */
static void pin_dev(struct luo_fake *f, struct ffile *file)
{
	LUOI_LOCK_GUARD(&f->devs_lock);
	uint64_t *n = luoi_hmap_find(&f->tmpfs_devs, file->dev);

	if (n)
		(*n)++;
	else
		luoi_hmap_insert(&f->tmpfs_devs, file->dev, 1); /* reserved */
	file->pins_dev = true;
}

void luoi_fake_unpin_dev(struct luo_fake *f, struct ffile *file)
{
	LUOI_LOCK_GUARD(&f->devs_lock);
	uint64_t *n = luoi_hmap_find(&f->tmpfs_devs, file->dev);

	if (n && --*n == 0)
		luoi_hmap_remove(&f->tmpfs_devs, file->dev, NULL);
	file->pins_dev = false;
}

static int reserve_devs(struct luo_fake *f)
{
	LUOI_LOCK_GUARD(&f->devs_lock);
	return luoi_hmap_reserve(&f->tmpfs_devs, 1);
}

/* ------------------------------------------------------------------------ */
/* Preserving a file (luo_preserve_file() + memfd_luo handler)              */
/* ------------------------------------------------------------------------ */

/*
 * Without the lock: fget() and the handler's look at the file, whose
 * verdicts luoi_fake_preserve_commit() gives in the kernel's order (after
 * the session's own checks).  None of this touches the fake's state but
 * tmpfs_devs, under its own lock.
 */
void luoi_fake_preserve_prepare(struct luo_fake *f, int32_t fd,
				struct fake_prep_file *p)
{
	struct statfs sfs;
	struct stat st;
	uint64_t pages;
	int seals, seals_errno;
	bool tmpfs;

	memset(p, 0, sizeof(*p));
	p->ref = -1;

	/* fget(): the fake's reference is a dup of the same open file */
	if (fd < 0) {
		p->err = -EBADF;
		return;
	}
	p->ref = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (p->ref < 0) {
		p->err = errno == EINVAL ? -EBADF : -errno;
		return;
	}

	/*
	 * fget() refuses O_PATH descriptors.  So does fcntl() for every
	 * command but F_DUPFD*, F_GETFD, F_SETFD and F_GETFL (open(2),
	 * O_PATH): F_GET_SEALS fails with EBADF exactly on them, and reads
	 * in the same call the seals that memfd_luo_preserve() checks below
	 * (its other failures are reported there, in the kernel's order).
	 */
	seals = fcntl(p->ref, F_GET_SEALS);
	seals_errno = seals < 0 ? errno : 0;
	if (seals_errno == EBADF) {
		p->err = -EBADF;
		return;
	}

	/* memfd_luo_can_preserve(): shmem_file() && !i_nlink */
	if (fstat(p->ref, &st) < 0) {
		p->err = -EBADF;
		return;
	}
	tmpfs = known_tmpfs(f, (uint64_t)st.st_dev);
	if (!tmpfs) {
		if (fstatfs(p->ref, &sfs) < 0) {
			p->err = -EBADF;
			return;
		}
		tmpfs = (unsigned long)sfs.f_type == (unsigned long)TMPFS_MAGIC;
	}
	if (!tmpfs || !S_ISREG(st.st_mode) || st.st_nlink != 0) {
		p->err = -ENOENT;
		return;
	}
	p->dev = (uint64_t)st.st_dev;
	p->ino = (uint64_t)st.st_ino;
	p->size = st.st_size;
	p->file = calloc(1, sizeof(*p->file)); /* NULL: -ENOMEM, in order */

	/* memfd_luo_preserve() */
	pages = ((uint64_t)st.st_size + (uint64_t)f->page_size - 1) /
		(uint64_t)f->page_size;
	if (seals < 0)
		p->late_err = -seals_errno;
	else if ((unsigned int)seals & ~(unsigned int)FAKE_ALL_SEALS)
		p->late_err = -EOPNOTSUPP;
	else if (pages > UINT_MAX)
		p->late_err = -EFBIG;
	else
		p->seals = (unsigned int)seals;
}

/* With the lock: luo_preserve_file() in order, and the file enters the
 * session and luo_preserved_files. */
int luoi_fake_preserve_commit(struct luo_fake *f, struct fsession *s,
			      struct fake_prep_file *p, uint64_t token,
			      uint64_t limit)
{
	struct ffile *file;
	int r;

	if (luoi_fake_session_find(s, token))
		return -EEXIST;

	/* kho_block_set_grow(): the session's serialization blocks are full */
	if (s->nfiles + 1 > limit)
		return -ENOSPC;

	/* fget(), memfd_luo_can_preserve() */
	if (p->err)
		return p->err;

	/* xa_insert(luo_preserved_files, inode) */
	if (luoi_fake_busy_find(f, p->dev, p->ino))
		return -EBUSY;

	if (!p->file)
		return -ENOMEM;
	r = luoi_hmap_reserve(&f->busy, 1);
	if (!r)
		r = luoi_hmap_reserve(&s->tokens, 1);
	if (!r)
		r = reserve_devs(f);
	if (r < 0)
		return r;

	/* memfd_luo_preserve() */
	if (p->late_err)
		return p->late_err;

	file = TAKE_PTR(p->file);
	file->token = token;
	file->fd = TAKE_FD(p->ref);
	file->dev = p->dev;
	file->ino = p->ino;
	file->size = p->size;
	file->seals = p->seals;
	/* none of these can fail after the reserves */
	luoi_fake_file_link(s, file);
	luoi_fake_busy_add(f, file);
	pin_dev(f, file);
	return 0;
}

/* Without the lock. */
void luoi_fake_preserve_fini(struct fake_prep_file *p)
{
	luoi_close_keep_errno(p->ref);
	p->ref = -1;
	free(p->file);
	p->file = NULL;
}

/* ------------------------------------------------------------------------ */
/* The kexec copy of one file (freeze + memfd_luo_retrieve())               */
/* ------------------------------------------------------------------------ */

static int map_alloc_errno(int e)
{
	switch (e) {
	case EMFILE:
	case ENFILE:
		return -e;
	case ENOMEM:
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Copy [off, off + len) with pread/pwrite, skipping zero chunks.  *buf is
 * allocated on first use and freed by the caller. */
static int copy_rw(int in, int out, off_t off, off_t len, unsigned char **buf)
{
	if (!*buf) {
		*buf = malloc(FAKE_COPY_CHUNK);
		if (!*buf)
			return -ENOMEM;
	}
	while (len > 0) {
		size_t want = len < (off_t)FAKE_COPY_CHUNK ? (size_t)len
							   : FAKE_COPY_CHUNK;
		ssize_t n = pread(in, *buf, want, off);
		ssize_t done = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (n == 0)
			return 0; /* the file shrank: the rest reads as zeros */
		if (!all_zero(*buf, (size_t)n)) {
			while (done < n) {
				ssize_t w = pwrite(out, *buf + done,
						   (size_t)(n - done), off + done);

				if (w < 0) {
					if (errno == EINTR)
						continue;
					return map_alloc_errno(errno);
				}
				done += w;
			}
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int copy_range(int in, int out, off_t off, off_t len,
		      unsigned char **buf)
{
	while (len > 0) {
		loff_t oin = off, oout = off;
		size_t want = len < (off_t)(64u << 20) ? (size_t)len : 64u << 20;
		ssize_t n = copy_file_range(in, &oin, out, &oout, want, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOMEM || errno == ENOSPC ||
			    errno == EFBIG)
				return -ENOMEM;
			return copy_rw(in, out, off, len, buf);
		}
		if (n == 0)
			return 0;
		off += n;
		len -= n;
	}
	return 0;
}

static int copy_data(int src, int dst, off_t limit)
{
	_cleanup_free_ unsigned char *buf = NULL;
	_cleanup_close_ int rfd = -1;
	char path[64];
	off_t off = 0;
	int r = 0;

	if (limit <= 0)
		return 0;

	/* Our own open file description, so that SEEK_DATA does not move the
	 * shared offset (and so that an O_WRONLY file can be read). */
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", src);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", src);
		rfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (rfd < 0) {
		int fl = fcntl(src, F_GETFL);

		if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY)
			return -EIO;
		return copy_rw(src, dst, 0, limit, &buf);
	}

	while (off < limit) {
		off_t data = lseek(rfd, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			/* no SEEK_DATA: copy the rest as it is */
			return copy_range(rfd, dst, off, limit - off, &buf);
		}
		if (data >= limit)
			break;
		hole = lseek(rfd, data, SEEK_HOLE);
		if (hole < 0 || hole > limit)
			hole = limit;
		r = copy_range(rfd, dst, data, hole - data, &buf);
		if (r < 0)
			return r;
		off = hole;
	}
	return 0;
}

/* A new memfd with the bytes, size, offset and seals of @src. */
int luoi_fake_copy_file(const struct ffile *src, int *ret_fd)
{
	_cleanup_close_ int nfd = -1;
	struct stat st;
	off_t pos, limit;
	int r;

	if (fstat(src->fd, &st) < 0)
		return -EIO;
	/* memfd_luo_freeze(): the offset as of now */
	pos = lseek(src->fd, 0, SEEK_CUR);
	if (pos < 0)
		return -EIO;

	/* memfd_alloc_file("", MFD_ALLOW_SEALING) */
	nfd = memfd_create("", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (nfd < 0 && (errno == EINVAL || errno == EACCES || errno == EPERM))
		nfd = memfd_create("", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (nfd < 0)
		return map_alloc_errno(errno);

	if (ftruncate(nfd, src->size) < 0)
		return map_alloc_errno(errno);
	/* the size recorded at preserve: see "Frozen size" in README.md */
	limit = st.st_size < src->size ? st.st_size : src->size;
	r = copy_data(src->fd, nfd, limit);
	if (r < 0)
		return r;
	if (lseek(nfd, pos, SEEK_SET) < 0)
		return -EIO;
	if (src->seals && fcntl(nfd, F_ADD_SEALS, (int)src->seals) < 0)
		return -EIO;
	*ret_fd = TAKE_FD(nfd);
	return 0;
}
