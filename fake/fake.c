/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-memory fake kernel behind <libluo-fake.h>: a model of
 * /dev/liveupdate that answers the very request numbers and argument bytes
 * of lib/luo-abi.h, so that libluo can be tested without root or a LUO
 * kernel.
 *
 * What it models, and from where (Linux 7.2):
 *
 *  - luo_core.c luo_open()/luo_release(): the device is single-open
 *    (-EBUSY while held); a failed deserialization answers -EIO (here: an
 *    injected LUO_FAKE_OP_OPEN error, checked after the -EBUSY test like the
 *    kernel's luo_session_deserialize() call).
 *  - luo_core.c luo_ioctl() and luo_session.c luo_session_ioctl(): the
 *    dispatch order.  Number outside the table -EINVAL; read of the leading
 *    u32 size -EFAULT; request mismatch -ENOTTY (the kernel's -ENOIOCTLCMD as
 *    user space sees it); session requests on the wrong kind of session
 *    -EINVAL (before the size test); size below the end of the last needed
 *    field -EINVAL; copy_struct_from_user(): unknown non-zero trailing bytes
 *    -E2BIG.  Replies copy min(size, sizeof(struct)) bytes back
 *    (luo_ucmd_respond()).  User memory is read and written with
 *    process_vm_readv()/process_vm_writev() on our own pid, so a bad
 *    pointer gives -EFAULT instead of a crash, as from the kernel.
 *  - luo_session.c luo_session_create()/luo_session_insert(): new fd
 *    reserved first, name 1..63 bytes (-EINVAL), room in the outgoing
 *    serialization blocks (-ENOSPC) checked before the duplicate name
 *    (-EEXIST).  luo_session_retrieve(): no name validation (an empty or
 *    unterminated name just finds nothing: -ENOENT), -EINVAL when already
 *    retrieved.  luo_session_release(): an outgoing session unpreserves
 *    its files; an incoming one is finished.  If the reply of
 *    RETRIEVE_SESSION cannot be written (-EFAULT) the kernel drops the new
 *    file, whose release finishes the session: so does the fake.
 *  - luo_file.c luo_preserve_file(): -EEXIST (token used in the session),
 *    then -ENOSPC (kho_block_set_grow() past KHO_MAX_BLOCKS), then -EBADF
 *    (fget(); O_PATH descriptors are refused by fget() too), then -ENOENT
 *    (no handler: memfd_luo_can_preserve() wants shmem_file() with
 *    i_nlink == 0, so MFD_HUGETLB memfds, which live on hugetlbfs, are
 *    refused here), then -EBUSY (xa_insert() on luo_get_id(), which for
 *    memfds is the inode: two open file descriptions of one memfd are the
 *    same file), then memfd_luo_preserve(): seals outside
 *    MEMFD_LUO_ALL_SEALS -EOPNOTSUPP, more than UINT_MAX pages -EFBIG.
 *    Note that -ENOSPC comes before -EBADF in the kernel.
 *  - ENOSPC limits (kho_block.c, KHO_MAX_BLOCKS = 10000 blocks of one
 *    page, 16-byte header): a session holds (page - 16) / 64 files per
 *    block (struct luo_file_ser is 64 bytes) => 630000 files with 4 KiB
 *    pages; the outgoing list holds (page - 16) / 80 sessions per block
 *    (struct luo_session_ser is 80 bytes) => 510000 sessions.
 *  - luo_file.c luo_retrieve_file(): an empty or unknown token -ENOENT;
 *    repeated retrieval returns the same struct file (here: a dup of the
 *    same open file description, so the offset is shared, as in the
 *    kernel).  A retrieved file is entered in luo_preserved_files until
 *    finish, so preserving it again before its session is finished gives
 *    -EBUSY.
 *  - luo_file.c luo_file_finish(): memfd has no can_finish(), so a real
 *    finish of memfds never fails; -EBUSY is reachable only through an
 *    injected LUO_FAKE_OP_FINISH error (and then the session is unchanged,
 *    as after a failed can_finish()).  Finish leaves the session in place
 *    with no files: finishing again returns 0 and RETRIEVE_FD returns
 *    -ENOENT, exactly like the kernel.
 *  - mm/memfd_luo.c: carried are the bytes, the size (i_size at preserve
 *    time), the seals (at preserve time) and the file offset (at freeze,
 *    i.e. at luo_fake_kexec()).  The restored file is made like
 *    memfd_luo_retrieve(): memfd_alloc_file("", MFD_ALLOW_SEALING), i.e. a
 *    memfd with an EMPTY name ("/memfd: (deleted)"), then the seals.  The
 *    fake follows the kernel here and does not copy the original name.
 *
 * Where the fake cannot match the kernel:
 *
 *  - Frozen size.  memfd_luo_preserve() sets SHMEM_F_MAPPING_FROZEN: until
 *    unpreserve, ftruncate() to another size, writes past the end and every
 *    fallocate() fail with EPERM.  The fake hands the caller's own memfd
 *    back untouched and has no removable way to block those calls (seals
 *    cannot be removed).  It records the size at preserve time and at
 *    kexec carries exactly that size: bytes [0, min(recorded, current))
 *    are copied, anything past the recorded size is dropped and, if the
 *    file shrank, the tail reads as zeros.  So data written past the end
 *    after preserve is lost in the fake where the kernel would have
 *    refused the write; a hole punched after preserve reads as zeros where
 *    the kernel would have refused the punch.
 *  - Holes are carried as holes (same bytes); the kernel allocates and
 *    zero-fills them at preserve time, so SEEK_DATA and memory use differ.
 *  - Descriptors for the device and sessions are AF_UNIX stream sockets,
 *    not anon inodes: fstat() shows S_IFSOCK, read()/write() act on the
 *    socket, and shutdown(SHUT_RDWR) on one looks to the fake like its last
 *    close.  The fake notices the last close lazily, at its next operation
 *    (every entry point runs the release check first, so nothing observable
 *    through the fake differs).
 *  - The fake holds one descriptor per preserved or carried file (the
 *    kernel holds a struct file without a descriptor).  When the process
 *    runs out of descriptors, preserve, retrieve and kexec fail with
 *    -EMFILE/-ENFILE; the kernel's 630000-files limit is reachable only
 *    with RLIMIT_NOFILE above it.
 *  - The kernel accepts any shmem inode with no links, e.g. an unlinked
 *    tmpfs directory; the fake accepts unlinked tmpfs regular files
 *    (memfds, O_TMPFILE files) only.
 *  - After luo_fake_kexec() the caller's original files still exist in the
 *    process (nothing can take them away); only the fake's references go.
 *    Handed-out device and session descriptors become dead: requests fail
 *    -ENODEV.
 *  - Restored memfds are created with MFD_EXEC so they keep the kernel's
 *    mode 0777 and no seals but those carried; if vm.memfd_noexec = 2
 *    refuses MFD_EXEC the fake falls back to a memfd that the host makes
 *    noexec-sealed.
 *  - A failure while copying files at kexec (-ENOMEM, -EIO, -EMFILE) rolls
 *    everything back, like a failing freeze in luo_session_serialize().
 *  - A fake belongs to the process that made it: in a forked child every
 *    operation fails -ECHILD (the kernel would serve the child too; the
 *    fake's state cannot be shared across fork()).
 *  - Injected errors fire once the request passed the generic dispatch
 *    checks (descriptor, number, size, E2BIG, session direction) and
 *    before the operation's own checks; the implicit finish of a released
 *    incoming session is never failed by an injection.
 *
 * The RFC ABI (June 2025 series) exists in no shipping kernel; this is the
 * fake's reading of it.  One global list of preserved files and a state
 * machine on the device fd: PREPARE NORMAL -> PREPARED, CANCEL PREPARED ->
 * NORMAL (otherwise -EINVAL); FD_PRESERVE in NORMAL or UPDATED (otherwise
 * -EBUSY), flags != 0 -EINVAL, duplicate token -EEXIST, then the file
 * checks of the mainline memfd handler (no -ENOSPC: the RFC list is an
 * xarray); FD_UNPRESERVE (pointer to a u64 token, as the series' libluo
 * passes it) only in NORMAL (-EBUSY), unknown -ENOENT; FD_RESTORE only in
 * UPDATED (-EBUSY), unknown -ENOENT, and a restored token leaves the list
 * (restoring it again -ENOENT; the file is then the caller's alone);
 * GET_STATE writes an int32; FINISH UPDATED -> NORMAL (otherwise -EINVAL)
 * discarding what was not restored.  luo_fake_kexec() carries the list
 * only from PREPARED (passing through FROZEN, never observable) and ends in
 * UPDATED; from any other state nothing is carried and the state is NORMAL.
 * Mainline requests on an RFC fake -ENOTTY; RFC requests on a mainline
 * fake get the mainline dispatch (-EINVAL or -ENOTTY).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"

#include "libluo-fake.h"
#include "libluo.h"

#include "backend.h"
#include "luo-abi.h"

#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#endif
#ifndef F_SEAL_SHRINK
#define F_SEAL_SHRINK 0x0002
#endif
#ifndef F_SEAL_GROW
#define F_SEAL_GROW 0x0004
#endif
#ifndef F_SEAL_WRITE
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* Seals the 7.2 memfd handler knows (MEMFD_LUO_ALL_SEALS). */
#define FAKE_ALL_SEALS                                                  \
	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |     \
	 F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

/* kho_block.c: blocks of one page, 16-byte header, at most 10000 blocks. */
#define FAKE_KHO_MAX_BLOCKS 10000u
#define FAKE_KHO_BLOCK_HEADER 16u
#define FAKE_FILE_SER_SIZE 64u    /* struct luo_file_ser */
#define FAKE_SESSION_SER_SIZE 80u /* struct luo_session_ser */

#define FAKE_COPY_CHUNK (1u << 20)

/* ------------------------------------------------------------------------ */
/* A small open-addressing map from a pair of u64 to a pointer.             */
/* ------------------------------------------------------------------------ */

struct kslot {
	uint64_t a, b;
	void *val; /* NULL: empty */
};

struct kmap {
	struct kslot *slots;
	size_t cap; /* 0 or a power of two */
	size_t count;
};

static uint64_t kmap_hash(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull;

	x ^= b + 0x632be59bd9b4e019ull + (x << 6) + (x >> 2);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static void *kmap_find(const struct kmap *m, uint64_t a, uint64_t b)
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = kmap_hash(a, b) & mask; m->slots[i].val; i = (i + 1) & mask)
		if (m->slots[i].a == a && m->slots[i].b == b)
			return m->slots[i].val;
	return NULL;
}

static void kmap_put_slot(struct kslot *slots, size_t cap, uint64_t a,
			  uint64_t b, void *val)
{
	size_t mask = cap - 1, i;

	for (i = kmap_hash(a, b) & mask; slots[i].val; i = (i + 1) & mask)
		;
	slots[i].a = a;
	slots[i].b = b;
	slots[i].val = val;
}

/* Make room so that @extra inserts cannot fail. */
static int kmap_reserve(struct kmap *m, size_t extra)
{
	struct kslot *slots;
	size_t need, cap, i;

	if (extra > SIZE_MAX / 8 - m->count)
		return -ENOMEM;
	need = m->count + extra;
	if (m->cap && need * 4 <= m->cap * 3)
		return 0;
	cap = m->cap ? m->cap : 16;
	while (need * 4 > cap * 3) {
		if (cap > SIZE_MAX / 2 / sizeof(*slots))
			return -ENOMEM;
		cap *= 2;
	}
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			kmap_put_slot(slots, cap, m->slots[i].a, m->slots[i].b,
				      m->slots[i].val);
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

/* Insert a key that is not present, after kmap_reserve(). */
static void kmap_insert(struct kmap *m, uint64_t a, uint64_t b, void *val)
{
	kmap_put_slot(m->slots, m->cap, a, b, val);
	m->count++;
}

/* Remove a key if present (backward-shift deletion). */
static void kmap_remove(struct kmap *m, uint64_t a, uint64_t b)
{
	size_t mask, i, j, k;

	if (!m->cap)
		return;
	mask = m->cap - 1;
	for (i = kmap_hash(a, b) & mask; m->slots[i].val; i = (i + 1) & mask)
		if (m->slots[i].a == a && m->slots[i].b == b)
			break;
	if (!m->slots[i].val)
		return;
	m->slots[i].val = NULL;
	m->count--;
	for (j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
		bool in_range; /* home k lies cyclically in (i, j] */

		k = kmap_hash(m->slots[j].a, m->slots[j].b) & mask;
		if (i <= j)
			in_range = i < k && k <= j;
		else
			in_range = k > i || k <= j;
		if (in_range)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].val = NULL;
		i = j;
	}
}

static void kmap_free(struct kmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

/* ------------------------------------------------------------------------ */
/* The fake's objects                                                       */
/* ------------------------------------------------------------------------ */

struct fsession;

/* A file held by the fake kernel. */
struct ffile {
	struct ffile *prev, *next;
	struct fsession *session;
	uint64_t token;
	/* outgoing: our dup of the caller's file (same open file description,
	 * like the kernel's fget() reference); incoming: the restored memfd */
	int fd;
	uint64_t dev, ino; /* identity of @fd's inode (luo_get_id()) */
	off_t size;        /* outgoing: i_size at preserve */
	unsigned int seals; /* outgoing: seals at preserve */
	bool retrieved;    /* incoming: handed out at least once */
	bool busy;         /* entered in fake->busy */
	bool tokened;      /* entered in fake->tokens */
};

/* A session, or one of the two global lists of the RFC ABI. */
struct fsession {
	struct fsession *prev, *next; /* in fake->out or fake->in */
	uint64_t uid;                 /* key of its tokens in fake->tokens */
	char name[LUO_K_NAME_LEN];
	bool incoming;
	bool retrieved; /* incoming: handed out (the kernel's ->retrieved) */
	struct fhandle *handle;
	struct ffile *head, *tail;
	uint64_t nfiles;
};

enum fhandle_kind {
	FH_DEVICE = 1,
	FH_SESSION,
	FH_DEAD, /* handed out before a kexec */
};

/* A descriptor handed out: the caller has one end of a socket pair. */
struct fhandle {
	enum fhandle_kind kind;
	int our_end;
	uint64_t dev, ino; /* of the caller's end */
	struct fsession *session;
};

struct fsession_list {
	struct fsession *head, *tail;
	size_t count;
};

enum fake_uaccess {
	UACCESS_UNKNOWN = 0,
	UACCESS_VM,     /* process_vm_readv/writev work */
	UACCESS_DIRECT, /* they do not: plain memory access */
};

struct luo_fake {
	struct luo_backend backend; /* first: how libluo reaches the fake */
	atomic_long refs;
	pthread_mutex_t lock;
	pid_t pid; /* the process that owns the fake */
	enum luo_abi abi; /* MAINLINE or RFC */
	int epfd;         /* every our_end, for EPOLLHUP */
	int boot;
	int rfc_state;
	bool dev_in_use;
	enum fake_uaccess uaccess;
	int inject[LUO_FAKE_OP_KEXEC + 1];
	uint64_t next_uid;
	uint64_t max_files;    /* per session */
	uint64_t max_sessions; /* outgoing */
	long page_size;
	struct fsession_list out, in; /* mainline sessions */
	struct fsession *rfc_out, *rfc_in;
	struct kmap handles; /* (dev, ino) -> struct fhandle */
	struct kmap busy;    /* (dev, ino) -> struct ffile */
	struct kmap tokens;  /* (session uid, token) -> struct ffile */
};

/* ------------------------------------------------------------------------ */
/* User memory, as the kernel sees it                                        */
/* ------------------------------------------------------------------------ */

/* Read up to @len bytes; returns how many could be read (the rest faults),
 * or a negative errno. */
static ssize_t uread_some(struct luo_fake *f, void *dst, const void *src,
			  size_t len)
{
	if (!len)
		return 0;
	if (f->uaccess != UACCESS_DIRECT) {
		struct iovec local = { .iov_base = dst, .iov_len = len };
		struct iovec remote = { .iov_base = (void *)src, .iov_len = len };
		ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

		if (n >= 0) {
			f->uaccess = UACCESS_VM;
			return n;
		}
		if (errno == EFAULT)
			return 0;
		if (errno == ENOMEM)
			return -ENOMEM;
		if (f->uaccess == UACCESS_VM)
			return -EFAULT;
		f->uaccess = UACCESS_DIRECT;
	}
	/* no way to probe: the first page is never mapped */
	if ((uintptr_t)src < 4096)
		return 0;
	memcpy(dst, src, len);
	return (ssize_t)len;
}

static int uread(struct luo_fake *f, void *dst, const void *src, size_t len)
{
	ssize_t n = uread_some(f, dst, src, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int uwrite(struct luo_fake *f, void *dst, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (f->uaccess != UACCESS_DIRECT) {
		struct iovec local = { .iov_base = (void *)src, .iov_len = len };
		struct iovec remote = { .iov_base = dst, .iov_len = len };
		ssize_t n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);

		if (n >= 0) {
			f->uaccess = UACCESS_VM;
			return (size_t)n == len ? 0 : -EFAULT;
		}
		if (errno == EFAULT)
			return -EFAULT;
		if (errno == ENOMEM)
			return -ENOMEM;
		if (f->uaccess == UACCESS_VM)
			return -EFAULT;
		f->uaccess = UACCESS_DIRECT;
	}
	if ((uintptr_t)dst < 4096)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

/* check_zeroed_user(): 1 if all zero, 0 if not, -EFAULT. */
static int uzeroed(struct luo_fake *f, const void *src, size_t len)
{
	unsigned char buf[512];
	const unsigned char *p = src;

	while (len) {
		size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = uread_some(f, buf, p, chunk);
		ssize_t i;

		if (n < 0)
			return (int)n;
		for (i = 0; i < n; i++)
			if (buf[i])
				return 0;
		if ((size_t)n < chunk)
			return -EFAULT;
		p += chunk;
		len -= chunk;
	}
	return 1;
}

/* copy_struct_from_user() */
static int ucopy_struct(struct luo_fake *f, void *dst, size_t ksize,
			const void *src, size_t usize)
{
	size_t size = ksize < usize ? ksize : usize;

	if (usize < ksize) {
		memset((char *)dst + size, 0, ksize - size);
	} else if (usize > ksize) {
		int r = uzeroed(f, (const char *)src + size, usize - size);

		if (r <= 0)
			return r ? r : -E2BIG;
	}
	return uread(f, dst, src, size);
}

/* luo_ucmd_respond() */
static int urespond(struct luo_fake *f, void *arg, const void *buf,
		    uint32_t usize, size_t ksize)
{
	return uwrite(f, arg, buf, usize < ksize ? usize : ksize);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static int take_injected(struct luo_fake *f, enum luo_fake_op op)
{
	int e = f->inject[op];

	f->inject[op] = 0;
	return -e;
}

static void close_keep_errno(int fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
}

static struct fsession *session_new(struct luo_fake *f, bool incoming,
				    const char *name)
{
	struct fsession *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->uid = ++f->next_uid;
	s->incoming = incoming;
	if (name)
		memcpy(s->name, name, sizeof(s->name));
	return s;
}

static void file_link(struct fsession *s, struct ffile *file)
{
	file->session = s;
	file->prev = s->tail;
	file->next = NULL;
	if (s->tail)
		s->tail->next = file;
	else
		s->head = file;
	s->tail = file;
	s->nfiles++;
}

/* Forget @file; close the fake's descriptor unless it was handed over. */
static void file_remove(struct luo_fake *f, struct ffile *file, bool close_fd)
{
	struct fsession *s = file->session;

	if (file->busy)
		kmap_remove(&f->busy, file->dev, file->ino);
	if (file->tokened)
		kmap_remove(&f->tokens, s->uid, file->token);
	if (file->prev)
		file->prev->next = file->next;
	else
		s->head = file->next;
	if (file->next)
		file->next->prev = file->prev;
	else
		s->tail = file->prev;
	s->nfiles--;
	if (close_fd && file->fd >= 0)
		close(file->fd);
	free(file);
}

/* luo_file_unpreserve_files() and luo_file_finish() alike: the fake drops
 * its reference to every file (the caller keeps the descriptors it got). */
static void session_drop_files(struct luo_fake *f, struct fsession *s)
{
	while (s->tail)
		file_remove(f, s->tail, true);
}

static void session_free(struct luo_fake *f, struct fsession *s)
{
	if (!s)
		return;
	session_drop_files(f, s);
	free(s);
}

static void list_add(struct fsession_list *l, struct fsession *s)
{
	s->prev = l->tail;
	s->next = NULL;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->count++;
}

static void list_del(struct fsession_list *l, struct fsession *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = NULL;
	l->count--;
}

static struct ffile *session_find(struct luo_fake *f, struct fsession *s,
				  uint64_t token)
{
	return kmap_find(&f->tokens, s->uid, token);
}

/* ---- handles ----------------------------------------------------------- */

static void handle_destroy(struct luo_fake *f, struct fhandle *h)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, h->our_end, NULL);
	close(h->our_end);
	kmap_remove(&f->handles, h->dev, h->ino);
	free(h);
}

/*
 * A new descriptor pair, both O_CLOEXEC: sv[0] goes to the caller, sv[1]
 * stays with the fake.  Requests make it before anything else, like
 * get_unused_fd_flags() in the kernel, so -EMFILE comes first.
 */
static int pair_new(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

static void pair_close(int sv[2])
{
	close_keep_errno(sv[0]);
	close_keep_errno(sv[1]);
}

/* Register a pair as a handle.  On failure nothing is registered and the
 * pair is left to the caller. */
static int handle_new(struct luo_fake *f, enum fhandle_kind kind,
		      struct fsession *s, int sv[2], struct fhandle **ret)
{
	struct epoll_event ev;
	struct fhandle *h;
	struct stat st;
	int r;

	if (fstat(sv[0], &st) < 0)
		return -errno;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = kmap_reserve(&f->handles, 1);
	if (r < 0) {
		free(h);
		return r;
	}
	h->kind = kind;
	h->our_end = sv[1];
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
	h->session = s;
	memset(&ev, 0, sizeof(ev));
	ev.events = 0; /* EPOLLHUP is always reported */
	ev.data.ptr = h;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, sv[1], &ev) < 0) {
		r = -errno;
		free(h);
		return r == -ENOSPC ? -ENOMEM : r;
	}
	kmap_insert(&f->handles, h->dev, h->ino, h);
	*ret = h;
	return 0;
}

/* The kernel's release of the last reference to a handed-out file. */
static void handle_release(struct luo_fake *f, struct fhandle *h)
{
	struct fsession *s;

	switch (h->kind) {
	case FH_DEVICE:
		/* luo_release() */
		f->dev_in_use = false;
		break;
	case FH_SESSION:
		/* luo_session_release(): outgoing -> unpreserve every file;
		 * incoming (retrieved) -> finish, which for memfds cannot
		 * fail.  Both leave the session list. */
		s = h->session;
		s->handle = NULL;
		if (s->incoming)
			list_del(&f->in, s);
		else
			list_del(&f->out, s);
		session_free(f, s);
		break;
	case FH_DEAD:
		break;
	}
	handle_destroy(f, h);
}

/*
 * The lazy release check: a caller's end is fully closed (every copy, in
 * every process, in flight over SCM_RIGHTS included) exactly when our end
 * reports POLLHUP.  Run at the start of every operation.
 */
static void fake_reap(struct luo_fake *f)
{
	struct epoll_event evs[64];
	int n, i;
	bool released;

	do {
		released = false;
		do
			n = epoll_wait(f->epfd, evs, 64, 0);
		while (n < 0 && errno == EINTR);
		for (i = 0; i < n; i++) {
			if (!(evs[i].events & EPOLLHUP))
				continue;
			handle_release(f, evs[i].data.ptr);
			released = true;
		}
	} while (n == 64 && released);
}

/*
 * A fake belongs to the process that created it: a forked child has a
 * stale copy of its state and shares its epoll instance with the parent,
 * so every operation there fails -ECHILD (libluo's contexts do the same).
 */
static int fake_lock(struct luo_fake *f)
{
	if (!f)
		return -EINVAL;
	if (getpid() != f->pid)
		return -ECHILD;
	pthread_mutex_lock(&f->lock);
	fake_reap(f);
	return 0;
}

static void fake_unlock(struct luo_fake *f)
{
	pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------------------ */
/* Preserving a file (luo_preserve_file() + memfd_luo handler)              */
/* ------------------------------------------------------------------------ */

static int preserve_file(struct luo_fake *f, struct fsession *s, int32_t fd,
			 uint64_t token, uint64_t limit)
{
	struct ffile *file;
	struct statfs sfs;
	struct stat st;
	uint64_t pages;
	int ref, flags, seals, r;

	if (session_find(f, s, token))
		return -EEXIST;

	/* kho_block_set_grow(): the session's serialization blocks are full */
	if (s->nfiles + 1 > limit)
		return -ENOSPC;

	/* fget(): the fake's reference is a dup of the same open file */
	if (fd < 0)
		return -EBADF;
	ref = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ref < 0)
		return errno == EINVAL ? -EBADF : -errno;
	flags = fcntl(ref, F_GETFL);
	if (flags < 0 || (flags & O_PATH)) {
		r = -EBADF;
		goto err;
	}

	/* memfd_luo_can_preserve(): shmem_file() && !i_nlink */
	if (fstat(ref, &st) < 0 || fstatfs(ref, &sfs) < 0) {
		r = -EBADF;
		goto err;
	}
	if ((unsigned long)sfs.f_type != (unsigned long)TMPFS_MAGIC ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 0) {
		r = -ENOENT;
		goto err;
	}

	/* xa_insert(luo_preserved_files, inode) */
	if (kmap_find(&f->busy, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
		r = -EBUSY;
		goto err;
	}

	file = calloc(1, sizeof(*file));
	if (!file) {
		r = -ENOMEM;
		goto err;
	}
	r = kmap_reserve(&f->busy, 1);
	if (!r)
		r = kmap_reserve(&f->tokens, 1);
	if (r < 0)
		goto err_free;

	/* memfd_luo_preserve() */
	seals = fcntl(ref, F_GET_SEALS);
	if (seals < 0) {
		r = -errno;
		goto err_free;
	}
	if ((unsigned int)seals & ~(unsigned int)FAKE_ALL_SEALS) {
		r = -EOPNOTSUPP;
		goto err_free;
	}
	pages = ((uint64_t)st.st_size + (uint64_t)f->page_size - 1) /
		(uint64_t)f->page_size;
	if (pages > UINT_MAX) {
		r = -EFBIG;
		goto err_free;
	}

	file->token = token;
	file->fd = ref;
	file->dev = (uint64_t)st.st_dev;
	file->ino = (uint64_t)st.st_ino;
	file->size = st.st_size;
	file->seals = (unsigned int)seals;
	file_link(s, file);
	kmap_insert(&f->busy, file->dev, file->ino, file);
	file->busy = true;
	kmap_insert(&f->tokens, s->uid, token, file);
	file->tokened = true;
	return 0;

err_free:
	free(file);
err:
	close(ref);
	return r;
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

/* Copy [off, off + len) with pread/pwrite, skipping zero chunks. */
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
	unsigned char *buf = NULL;
	char path[64];
	off_t off = 0;
	int rfd, r = 0;

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
		r = copy_rw(src, dst, 0, limit, &buf);
		free(buf);
		return r;
	}

	while (off < limit) {
		off_t data = lseek(rfd, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			/* no SEEK_DATA: copy the rest as it is */
			r = copy_range(rfd, dst, off, limit - off, &buf);
			break;
		}
		if (data >= limit)
			break;
		hole = lseek(rfd, data, SEEK_HOLE);
		if (hole < 0 || hole > limit)
			hole = limit;
		r = copy_range(rfd, dst, data, hole - data, &buf);
		if (r < 0)
			break;
		off = hole;
	}
	close(rfd);
	free(buf);
	return r;
}

/* A new memfd with the bytes, size, offset and seals of @src. */
static int copy_file(const struct ffile *src, int *ret_fd)
{
	struct stat st;
	off_t pos, limit;
	int nfd, r;

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

	if (ftruncate(nfd, src->size) < 0) {
		r = map_alloc_errno(errno);
		goto err;
	}
	/* the size recorded at preserve: see the top of this file */
	limit = st.st_size < src->size ? st.st_size : src->size;
	r = copy_data(src->fd, nfd, limit);
	if (r < 0)
		goto err;
	if (lseek(nfd, pos, SEEK_SET) < 0) {
		r = -EIO;
		goto err;
	}
	if (src->seals && fcntl(nfd, F_ADD_SEALS, (int)src->seals) < 0) {
		r = -EIO;
		goto err;
	}
	*ret_fd = nfd;
	return 0;

err:
	close(nfd);
	return r;
}

/* The incoming copy of @src (files not yet in any map). */
static int build_incoming(struct luo_fake *f, const struct fsession *src,
			  struct fsession **ret)
{
	struct fsession *s;
	struct ffile *it;
	int r;

	s = session_new(f, true, src ? src->name : NULL);
	if (!s)
		return -ENOMEM;
	for (it = src ? src->head : NULL; it; it = it->next) {
		struct ffile *file = calloc(1, sizeof(*file));
		struct stat st;

		if (!file) {
			r = -ENOMEM;
			goto err;
		}
		file->fd = -1;
		file->token = it->token;
		file_link(s, file);
		r = copy_file(it, &file->fd);
		if (r < 0)
			goto err;
		if (fstat(file->fd, &st) < 0) {
			r = -EIO;
			goto err;
		}
		file->dev = (uint64_t)st.st_dev;
		file->ino = (uint64_t)st.st_ino;
	}
	*ret = s;
	return 0;

err:
	session_free(f, s);
	return r;
}

/* After kmap_reserve() for every file of @s. */
static void session_tokens_add(struct luo_fake *f, struct fsession *s)
{
	struct ffile *file;

	for (file = s->head; file; file = file->next) {
		kmap_insert(&f->tokens, s->uid, file->token, file);
		file->tokened = true;
	}
}

/* Every handle handed out so far dies. */
static void kill_handles(struct luo_fake *f)
{
	size_t i;

	for (i = 0; i < f->handles.cap; i++) {
		struct fhandle *h = f->handles.slots[i].val;

		if (!h)
			continue;
		if (h->session)
			h->session->handle = NULL;
		h->kind = FH_DEAD;
		h->session = NULL;
	}
	f->dev_in_use = false;
}

/* ------------------------------------------------------------------------ */
/* Mainline ABI                                                             */
/* ------------------------------------------------------------------------ */

union mainline_buf {
	struct luo_k_session_req session;
	struct luo_k_file_req file;
	struct luo_k_finish_req finish;
	struct luo_k_get_name_req get_name;
	uint64_t align;
};

enum op_type {
	OP_DEVICE,
	OP_INCOMING,
	OP_OUTGOING,
	OP_ALL,
};

struct mainline_op {
	uint32_t size;
	uint32_t min_size;
	uint32_t num;
	enum op_type type;
};

static const struct mainline_op device_ops[LUO_K_CMD_DEVICE_COUNT] = {
	[LUO_K_CMD_CREATE_SESSION] = {
		sizeof(struct luo_k_session_req),
		LUO_K_OFFSETOFEND(struct luo_k_session_req, name),
		LUO_K_CREATE_SESSION, OP_DEVICE },
	[LUO_K_CMD_RETRIEVE_SESSION] = {
		sizeof(struct luo_k_session_req),
		LUO_K_OFFSETOFEND(struct luo_k_session_req, name),
		LUO_K_RETRIEVE_SESSION, OP_DEVICE },
};

static const struct mainline_op session_ops[LUO_K_CMD_SESSION_COUNT] = {
	[LUO_K_CMD_SESSION_PRESERVE_FD - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_file_req),
		LUO_K_OFFSETOFEND(struct luo_k_file_req, token),
		LUO_K_SESSION_PRESERVE_FD, OP_OUTGOING },
	[LUO_K_CMD_SESSION_RETRIEVE_FD - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_file_req),
		LUO_K_OFFSETOFEND(struct luo_k_file_req, token),
		LUO_K_SESSION_RETRIEVE_FD, OP_INCOMING },
	[LUO_K_CMD_SESSION_FINISH - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_finish_req),
		LUO_K_OFFSETOFEND(struct luo_k_finish_req, reserved),
		LUO_K_SESSION_FINISH, OP_INCOMING },
	[LUO_K_CMD_SESSION_GET_NAME - LUO_K_CMD_SESSION_BASE] = {
		sizeof(struct luo_k_get_name_req),
		LUO_K_OFFSETOFEND(struct luo_k_get_name_req, name),
		LUO_K_SESSION_GET_NAME, OP_ALL },
};

/* luo_ioctl_create_session() + luo_session_create() */
static int do_create_session(struct luo_fake *f, union mainline_buf *buf,
			     void *arg, uint32_t usize)
{
	struct luo_k_session_req *req = &buf->session;
	struct fsession *s, *it;
	struct fhandle *h;
	size_t len;
	int sv[2], r;

	r = take_injected(f, LUO_FAKE_OP_CREATE_SESSION);
	if (r)
		return r;
	r = pair_new(sv);
	if (r)
		return r;

	len = strnlen((const char *)req->name, LUO_K_NAME_LEN);
	if (len == 0 || len > LUO_K_NAME_LEN - 1) {
		r = -EINVAL;
		goto err_pair;
	}
	s = session_new(f, false, NULL);
	if (!s) {
		r = -ENOMEM;
		goto err_pair;
	}
	memcpy(s->name, req->name, len);

	/* luo_session_insert(): room first, then the duplicate name */
	if (f->out.count + 1 > f->max_sessions) {
		r = -ENOSPC;
		goto err_session;
	}
	for (it = f->out.head; it; it = it->next)
		if (!strncmp(it->name, s->name, LUO_K_NAME_LEN)) {
			r = -EEXIST;
			goto err_session;
		}

	r = handle_new(f, FH_SESSION, s, sv, &h);
	if (r)
		goto err_session;
	req->fd = sv[0];
	r = urespond(f, arg, buf, usize, sizeof(*req));
	if (r) {
		/* fput() of the new file: the release drops an empty session */
		handle_destroy(f, h);
		close(sv[0]);
		free(s);
		return r;
	}
	s->handle = h;
	list_add(&f->out, s);
	return 0;

err_session:
	free(s);
err_pair:
	pair_close(sv);
	return r;
}

/* luo_ioctl_retrieve_session() + luo_session_retrieve() */
static int do_retrieve_session(struct luo_fake *f, union mainline_buf *buf,
			       void *arg, uint32_t usize)
{
	struct luo_k_session_req *req = &buf->session;
	struct fsession *s;
	struct fhandle *h;
	int sv[2], r;

	r = take_injected(f, LUO_FAKE_OP_RETRIEVE_SESSION);
	if (r)
		return r;
	r = pair_new(sv);
	if (r)
		return r;

	for (s = f->in.head; s; s = s->next)
		if (!strncmp(s->name, (const char *)req->name, LUO_K_NAME_LEN))
			break;
	if (!s) {
		r = -ENOENT;
		goto err_pair;
	}
	if (s->retrieved) {
		r = -EINVAL;
		goto err_pair;
	}
	r = handle_new(f, FH_SESSION, s, sv, &h);
	if (r)
		goto err_pair;
	s->retrieved = true;
	s->handle = h;
	req->fd = sv[0];
	r = urespond(f, arg, buf, usize, sizeof(*req));
	if (r) {
		/* fput() of the new file: its release finishes the session */
		close(sv[0]);
		handle_release(f, h);
		return r;
	}
	return 0;

err_pair:
	pair_close(sv);
	return r;
}

static int do_preserve_fd(struct luo_fake *f, struct fsession *s,
			  union mainline_buf *buf, void *arg, uint32_t usize)
{
	struct luo_k_file_req *req = &buf->file;
	int r;

	r = take_injected(f, LUO_FAKE_OP_PRESERVE_FD);
	if (r)
		return r;
	r = preserve_file(f, s, req->fd, req->token, f->max_files);
	if (r)
		return r;
	/* the file stays preserved even if the reply fails */
	return urespond(f, arg, buf, usize, sizeof(*req));
}

static int do_retrieve_fd(struct luo_fake *f, struct fhandle *h,
			  union mainline_buf *buf, void *arg, uint32_t usize)
{
	struct luo_k_file_req *req = &buf->file;
	struct fsession *s = h->session;
	struct ffile *file;
	int slot, r;

	r = take_injected(f, LUO_FAKE_OP_RETRIEVE_FD);
	if (r)
		return r;
	/* get_unused_fd_flags(O_CLOEXEC): hold the slot with a placeholder */
	slot = fcntl(h->our_end, F_DUPFD_CLOEXEC, 0);
	if (slot < 0)
		return -errno;

	file = s->nfiles ? session_find(f, s, req->token) : NULL;
	if (!file) {
		r = -ENOENT;
		goto err_slot;
	}
	if (!file->retrieved) {
		/* the retrieved file joins luo_preserved_files until finish */
		r = kmap_reserve(&f->busy, 1);
		if (r)
			goto err_slot;
		kmap_insert(&f->busy, file->dev, file->ino, file);
		file->busy = true;
		file->retrieved = true;
	}
	if (dup3(file->fd, slot, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_slot;
	}
	req->fd = slot;
	r = urespond(f, arg, buf, usize, sizeof(*req));
	if (r)
		goto err_slot;
	return 0;

err_slot:
	close(slot);
	return r;
}

static int do_finish(struct luo_fake *f, struct fsession *s,
		     union mainline_buf *buf, void *arg, uint32_t usize)
{
	struct luo_k_finish_req *req = &buf->finish;
	int r;

	r = take_injected(f, LUO_FAKE_OP_FINISH);
	if (r)
		return r;
	if (req->reserved)
		return -EINVAL;
	session_drop_files(f, s);
	return urespond(f, arg, buf, usize, sizeof(*req));
}

static int do_get_name(struct luo_fake *f, struct fsession *s,
		       union mainline_buf *buf, void *arg, uint32_t usize)
{
	struct luo_k_get_name_req *req = &buf->get_name;
	size_t len = strnlen(s->name, sizeof(s->name) - 1);

	if (req->reserved)
		return -EINVAL;
	/* strscpy(): the name and its NUL, no padding */
	memcpy(req->name, s->name, len);
	req->name[len] = 0;
	return urespond(f, arg, buf, usize, sizeof(*req));
}

/* luo_ioctl() on the device and luo_session_ioctl() on a session */
static int mainline_ioctl(struct luo_fake *f, struct fhandle *h, uint32_t cmd,
			  void *arg)
{
	const struct mainline_op *op;
	union mainline_buf buf;
	uint32_t nr = _IOC_NR(cmd), usize;
	struct fsession *s = h->session;
	int r;

	if (h->kind == FH_DEVICE) {
		if (nr - LUO_K_CMD_CREATE_SESSION >= LUO_K_CMD_DEVICE_COUNT)
			return -EINVAL;
	} else {
		if (nr < LUO_K_CMD_SESSION_BASE ||
		    nr - LUO_K_CMD_SESSION_BASE >= LUO_K_CMD_SESSION_COUNT)
			return -EINVAL;
	}

	r = uread(f, &usize, arg, sizeof(usize));
	if (r)
		return r;

	if (h->kind == FH_DEVICE)
		op = &device_ops[nr - LUO_K_CMD_CREATE_SESSION];
	else
		op = &session_ops[nr - LUO_K_CMD_SESSION_BASE];
	if (op->num != cmd)
		return -ENOTTY;
	if ((op->type == OP_INCOMING && !s->retrieved) ||
	    (op->type == OP_OUTGOING && s->retrieved))
		return -EINVAL;
	if (usize < op->min_size)
		return -EINVAL;
	r = ucopy_struct(f, &buf, op->size, arg, usize);
	if (r)
		return r;

	switch (cmd) {
	case LUO_K_CREATE_SESSION:
		return do_create_session(f, &buf, arg, usize);
	case LUO_K_RETRIEVE_SESSION:
		return do_retrieve_session(f, &buf, arg, usize);
	case LUO_K_SESSION_PRESERVE_FD:
		return do_preserve_fd(f, s, &buf, arg, usize);
	case LUO_K_SESSION_RETRIEVE_FD:
		return do_retrieve_fd(f, h, &buf, arg, usize);
	case LUO_K_SESSION_FINISH:
		return do_finish(f, s, &buf, arg, usize);
	case LUO_K_SESSION_GET_NAME:
		return do_get_name(f, s, &buf, arg, usize);
	}
	return -ENOTTY;
}

/* ------------------------------------------------------------------------ */
/* RFC ABI (the fake's reading of the June 2025 series; see the top)        */
/* ------------------------------------------------------------------------ */

static int rfc_ioctl(struct luo_fake *f, uint32_t cmd, void *arg)
{
	struct luo_k_rfc_fd a;
	struct ffile *file;
	uint64_t token;
	int32_t state;
	int r;

	switch (cmd) {
	case LUO_K_RFC_FD_PRESERVE:
		r = uread(f, &a, arg, sizeof(a));
		if (r)
			return r;
		r = take_injected(f, LUO_FAKE_OP_PRESERVE_FD);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_NORMAL &&
		    f->rfc_state != LUO_K_RFC_STATE_UPDATED)
			return -EBUSY;
		if (a.flags)
			return -EINVAL;
		return preserve_file(f, f->rfc_out, a.fd, a.token, UINT64_MAX);

	case LUO_K_RFC_FD_UNPRESERVE:
		r = uread(f, &token, arg, sizeof(token));
		if (r)
			return r;
		r = take_injected(f, LUO_FAKE_OP_UNPRESERVE_FD);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_NORMAL)
			return -EBUSY;
		file = session_find(f, f->rfc_out, token);
		if (!file)
			return -ENOENT;
		file_remove(f, file, true);
		return 0;

	case LUO_K_RFC_FD_RESTORE:
		r = uread(f, &a, arg, sizeof(a));
		if (r)
			return r;
		r = take_injected(f, LUO_FAKE_OP_RETRIEVE_FD);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_UPDATED)
			return -EBUSY;
		file = session_find(f, f->rfc_in, a.token);
		if (!file)
			return -ENOENT;
		/* the restored memfd (O_CLOEXEC) becomes the caller's */
		a.fd = file->fd;
		r = uwrite(f, arg, &a, sizeof(a));
		if (r)
			return r;
		file_remove(f, file, false);
		return 0;

	case LUO_K_RFC_GET_STATE:
		state = f->rfc_state;
		return uwrite(f, arg, &state, sizeof(state));

	case LUO_K_RFC_PREPARE:
		r = take_injected(f, LUO_FAKE_OP_PREPARE);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_NORMAL)
			return -EINVAL;
		f->rfc_state = LUO_K_RFC_STATE_PREPARED;
		return 0;

	case LUO_K_RFC_CANCEL:
		if (f->rfc_state != LUO_K_RFC_STATE_PREPARED)
			return -EINVAL;
		f->rfc_state = LUO_K_RFC_STATE_NORMAL;
		return 0;

	case LUO_K_RFC_FINISH:
		r = take_injected(f, LUO_FAKE_OP_FINISH);
		if (r)
			return r;
		if (f->rfc_state != LUO_K_RFC_STATE_UPDATED)
			return -EINVAL;
		session_drop_files(f, f->rfc_in);
		f->rfc_state = LUO_K_RFC_STATE_NORMAL;
		return 0;
	}
	return -ENOTTY;
}

/* ------------------------------------------------------------------------ */
/* Backend operations                                                       */
/* ------------------------------------------------------------------------ */

static int fake_open(struct luo_backend *b, const char *path, int flags)
{
	struct luo_fake *f = (struct luo_fake *)b;
	struct fhandle *h;
	int sv[2], r;

	(void)path;
	r = fake_lock(f);
	if (r)
		return r;
	/* luo_open(): single open, then deserialization */
	if (f->dev_in_use) {
		r = -EBUSY;
		goto out;
	}
	r = take_injected(f, LUO_FAKE_OP_OPEN);
	if (r)
		goto out;
	r = pair_new(sv);
	if (r)
		goto out;
	if (!(flags & O_CLOEXEC) && fcntl(sv[0], F_SETFD, 0) < 0) {
		r = -errno;
		pair_close(sv);
		goto out;
	}
	r = handle_new(f, FH_DEVICE, NULL, sv, &h);
	if (r) {
		pair_close(sv);
		goto out;
	}
	f->dev_in_use = true;
	r = sv[0];
out:
	fake_unlock(f);
	return r;
}

static int fake_close(struct luo_backend *b, int fd)
{
	struct luo_fake *f = (struct luo_fake *)b;
	int r = 0;

	if (!f)
		return -EINVAL;
	if (close(fd) < 0 && errno != EINTR)
		r = -errno;
	if (!fake_lock(f))
		fake_unlock(f);
	return r;
}

static int fake_ioctl(struct luo_backend *b, int fd, unsigned long request,
		      void *arg)
{
	struct luo_fake *f = (struct luo_fake *)b;
	uint32_t cmd = (uint32_t)request; /* the kernel's unsigned int cmd */
	struct fhandle *h;
	struct stat st;
	int r;

	r = fake_lock(f);
	if (r)
		return r;
	if (fstat(fd, &st) < 0) {
		r = -EBADF;
		goto out;
	}
	h = kmap_find(&f->handles, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!h) {
		r = -ENOTTY; /* not a descriptor of this fake kernel */
		goto out;
	}
	if (h->kind == FH_DEAD)
		r = -ENODEV;
	else if (h->kind == FH_DEVICE && f->abi == LUO_ABI_RFC)
		r = rfc_ioctl(f, cmd, arg);
	else
		r = mainline_ioctl(f, h, cmd, arg);
out:
	fake_unlock(f);
	return r;
}

static void fake_backend_ref(struct luo_backend *b)
{
	luo_fake_ref((struct luo_fake *)b);
}

static void fake_backend_unref(struct luo_backend *b)
{
	luo_fake_unref((struct luo_fake *)b);
}

static const struct luo_backend_ops fake_backend_ops = {
	.version = LUOI_BACKEND_VERSION,
	.name = "fake",
	.ref = fake_backend_ref,
	.unref = fake_backend_unref,
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
};

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

LUOI_EXPORT int luo_fake_new(enum luo_abi abi, luo_fake_t **ret)
{
	struct luo_fake *f;
	long page;
	int r;

	if (!ret)
		return -EINVAL;
	if (abi != LUO_ABI_AUTO && abi != LUO_ABI_MAINLINE &&
	    abi != LUO_ABI_RFC)
		return -EINVAL;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->backend.ops = &fake_backend_ops;
	atomic_init(&f->refs, 1);
	f->pid = getpid();
	f->abi = abi == LUO_ABI_RFC ? LUO_ABI_RFC : LUO_ABI_MAINLINE;
	f->rfc_state = LUO_K_RFC_STATE_NORMAL;
	page = sysconf(_SC_PAGESIZE);
	if (page <= (long)FAKE_SESSION_SER_SIZE + (long)FAKE_KHO_BLOCK_HEADER)
		page = 4096;
	f->page_size = page;
	f->max_files = (uint64_t)FAKE_KHO_MAX_BLOCKS *
		       (((uint64_t)page - FAKE_KHO_BLOCK_HEADER) /
			FAKE_FILE_SER_SIZE);
	f->max_sessions = (uint64_t)FAKE_KHO_MAX_BLOCKS *
			  (((uint64_t)page - FAKE_KHO_BLOCK_HEADER) /
			   FAKE_SESSION_SER_SIZE);

	if (f->abi == LUO_ABI_RFC) {
		f->rfc_out = session_new(f, false, NULL);
		f->rfc_in = session_new(f, true, NULL);
		if (!f->rfc_out || !f->rfc_in) {
			r = -ENOMEM;
			goto err;
		}
	}
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0) {
		r = errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
		goto err;
	}
	r = pthread_mutex_init(&f->lock, NULL);
	if (r) {
		close(f->epfd);
		r = -r;
		goto err;
	}
	*ret = f;
	return 0;

err:
	free(f->rfc_out);
	free(f->rfc_in);
	free(f);
	return r;
}

LUOI_EXPORT luo_fake_t *luo_fake_ref(luo_fake_t *fake)
{
	if (fake)
		atomic_fetch_add_explicit(&fake->refs, 1, memory_order_relaxed);
	return fake;
}

static void fake_destroy(struct luo_fake *f)
{
	struct fsession *s;
	size_t i;

	while ((s = f->out.head)) {
		list_del(&f->out, s);
		session_free(f, s);
	}
	while ((s = f->in.head)) {
		list_del(&f->in, s);
		session_free(f, s);
	}
	session_free(f, f->rfc_out);
	session_free(f, f->rfc_in);
	for (i = 0; i < f->handles.cap; i++) {
		struct fhandle *h = f->handles.slots[i].val;

		if (h) {
			close(h->our_end);
			free(h);
		}
	}
	kmap_free(&f->handles);
	kmap_free(&f->busy);
	kmap_free(&f->tokens);
	close(f->epfd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

LUOI_EXPORT luo_fake_t *luo_fake_unref(luo_fake_t *fake)
{
	if (!fake)
		return NULL;
	if (atomic_fetch_sub_explicit(&fake->refs, 1, memory_order_acq_rel) == 1)
		fake_destroy(fake);
	return NULL;
}

static int kexec_mainline(struct luo_fake *f)
{
	struct fsession_list carried = { 0 };
	struct fsession *s, *n;
	size_t nfiles = 0;
	int r;

	for (s = f->out.head; s; s = s->next)
		nfiles += s->nfiles;
	r = kmap_reserve(&f->tokens, nfiles);
	if (r)
		return r;
	/* luo_session_serialize(): every outgoing session still open */
	for (s = f->out.head; s; s = s->next) {
		r = build_incoming(f, s, &n);
		if (r)
			goto err;
		list_add(&carried, n);
	}

	/* the old kernel goes away */
	kill_handles(f);
	while ((s = f->out.head)) {
		list_del(&f->out, s);
		session_free(f, s);
	}
	while ((s = f->in.head)) {
		list_del(&f->in, s);
		session_free(f, s);
	}
	f->in = carried;
	for (s = f->in.head; s; s = s->next)
		session_tokens_add(f, s);
	return 0;

err:
	while ((s = carried.head)) {
		list_del(&carried, s);
		session_free(f, s);
	}
	return r;
}

static int kexec_rfc(struct luo_fake *f)
{
	bool carry = f->rfc_state == LUO_K_RFC_STATE_PREPARED;
	struct fsession *in = NULL, *out;
	int r;

	r = kmap_reserve(&f->tokens, carry ? f->rfc_out->nfiles : 0);
	if (r)
		return r;
	out = session_new(f, false, NULL);
	if (!out)
		return -ENOMEM;
	/* PREPARED -> FROZEN: the list is copied; anything else: nothing */
	r = build_incoming(f, carry ? f->rfc_out : NULL, &in);
	if (r) {
		free(out);
		return r;
	}

	kill_handles(f);
	session_free(f, f->rfc_out);
	session_free(f, f->rfc_in);
	f->rfc_out = out;
	f->rfc_in = in;
	session_tokens_add(f, in);
	f->rfc_state = carry ? LUO_K_RFC_STATE_UPDATED : LUO_K_RFC_STATE_NORMAL;
	return 0;
}

LUOI_EXPORT int luo_fake_kexec(luo_fake_t *fake)
{
	int r;

	r = fake_lock(fake);
	if (r)
		return r;
	r = take_injected(fake, LUO_FAKE_OP_KEXEC);
	if (!r) {
		if (fake->abi == LUO_ABI_RFC)
			r = kexec_rfc(fake);
		else
			r = kexec_mainline(fake);
	}
	if (!r && fake->boot < INT_MAX)
		fake->boot++;
	fake_unlock(fake);
	return r;
}

LUOI_EXPORT int luo_fake_inject_error(luo_fake_t *fake, enum luo_fake_op op,
				     int error)
{
	int r;

	if ((int)op < LUO_FAKE_OP_OPEN || (int)op > LUO_FAKE_OP_KEXEC)
		return -EINVAL;
	if (error < 0 || error > 4095)
		return -EINVAL;
	r = fake_lock(fake);
	if (r)
		return r;
	fake->inject[op] = error;
	fake_unlock(fake);
	return 0;
}

LUOI_EXPORT int luo_fake_set_limits(luo_fake_t *fake, unsigned int max_sessions,
				   unsigned int max_files)
{
	int r;

	r = fake_lock(fake);
	if (r)
		return r;
	/* 0 keeps the kernel's value, computed from the page size */
	if (max_sessions)
		fake->max_sessions = max_sessions;
	if (max_files)
		fake->max_files = max_files;
	fake_unlock(fake);
	return 0;
}

LUOI_EXPORT int luo_fake_get_boot(luo_fake_t *fake)
{
	int r;

	r = fake_lock(fake);
	if (r)
		return r;
	r = fake->boot;
	fake_unlock(fake);
	return r;
}

struct snap_entry {
	char name[LUO_K_NAME_LEN];
	bool has_name;
	enum luo_session_direction dir;
	uint64_t token;
};

static size_t snap_session(struct snap_entry *e, const struct fsession *s,
			   bool named)
{
	const struct ffile *file;
	size_t n = 0;

	for (file = s->head; file; file = file->next, n++) {
		e[n].has_name = named;
		if (named)
			memcpy(e[n].name, s->name, sizeof(e[n].name));
		e[n].dir = s->incoming ? LUO_SESSION_INCOMING
				       : LUO_SESSION_OUTGOING;
		e[n].token = file->token;
	}
	return n;
}

LUOI_EXPORT int luo_fake_foreach_file(luo_fake_t *fake, luo_fake_file_fn fn,
				     void *userdata)
{
	struct snap_entry *snap = NULL;
	const struct fsession *s;
	size_t total = 0, n = 0, i;
	int r = 0;

	if (!fn)
		return -EINVAL;
	r = fake_lock(fake);
	if (r)
		return r;
	if (fake->abi == LUO_ABI_RFC) {
		total = fake->rfc_out->nfiles + fake->rfc_in->nfiles;
	} else {
		for (s = fake->out.head; s; s = s->next)
			total += s->nfiles;
		for (s = fake->in.head; s; s = s->next)
			total += s->nfiles;
	}
	if (total) {
		snap = calloc(total, sizeof(*snap));
		if (!snap) {
			fake_unlock(fake);
			return -ENOMEM;
		}
	}
	if (fake->abi == LUO_ABI_RFC) {
		n += snap_session(snap + n, fake->rfc_out, false);
		n += snap_session(snap + n, fake->rfc_in, false);
	} else {
		for (s = fake->out.head; s; s = s->next)
			n += snap_session(snap + n, s, true);
		for (s = fake->in.head; s; s = s->next)
			n += snap_session(snap + n, s, true);
	}
	fake_unlock(fake);

	for (i = 0; i < n && !r; i++)
		r = fn(snap[i].has_name ? snap[i].name : NULL, snap[i].dir,
		       snap[i].token, userdata);
	free(snap);
	return r;
}

LUOI_EXPORT int luo_fake_session_count(luo_fake_t *fake,
				      enum luo_session_direction dir)
{
	int r;

	if (dir != LUO_SESSION_OUTGOING && dir != LUO_SESSION_INCOMING)
		return -EINVAL;
	r = fake_lock(fake);
	if (r)
		return r;
	if (fake->abi == LUO_ABI_RFC)
		r = 0;
	else if (dir == LUO_SESSION_OUTGOING)
		r = fake->out.count > INT_MAX ? INT_MAX : (int)fake->out.count;
	else
		r = fake->in.count > INT_MAX ? INT_MAX : (int)fake->in.count;
	fake_unlock(fake);
	return r;
}

LUOI_EXPORT int luo_fake_file_count(luo_fake_t *fake)
{
	const struct fsession *s;
	uint64_t n = 0;
	int r;

	r = fake_lock(fake);
	if (r)
		return r;
	if (fake->abi == LUO_ABI_RFC) {
		n = fake->rfc_out->nfiles + fake->rfc_in->nfiles;
	} else {
		for (s = fake->out.head; s; s = s->next)
			n += s->nfiles;
		for (s = fake->in.head; s; s = s->next)
			n += s->nfiles;
	}
	fake_unlock(fake);
	return n > INT_MAX ? INT_MAX : (int)n;
}

LUOI_EXPORT int luo_fake_get_state(luo_fake_t *fake, enum luo_state *state)
{
	int r;

	if (!state)
		return -EINVAL;
	r = fake_lock(fake);
	if (r)
		return r;
	*state = fake->abi == LUO_ABI_RFC ? (enum luo_state)fake->rfc_state
					  : LUO_STATE_NORMAL;
	fake_unlock(fake);
	return 0;
}
