/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * User memory, as the kernel sees it.  Arguments are read and written with
 * process_vm_readv()/process_vm_writev() on our own pid (cached when the
 * fake is made: no getpid() per request), so a bad pointer gives -EFAULT
 * instead of a crash, as from the kernel.  Where those calls are refused
 * (seccomp, an old kernel) the fake falls back, once and for all, to plain
 * memory access.  Nothing here takes the fake's lock or needs it: the
 * access mode is one atomic word, written once.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "fake-private.h"

static int mode(const struct luo_fake *f)
{
	return atomic_load_explicit(&f->uaccess, memory_order_relaxed);
}

/* Decided by the first call that could tell; never written again (every
 * request would otherwise write the fake's shared cache line). */
static void set_mode(struct luo_fake *f, int m)
{
	int unknown = UACCESS_UNKNOWN;

	if (mode(f) != UACCESS_UNKNOWN)
		return; /* a failed compare-exchange still takes the line */
	atomic_compare_exchange_strong_explicit(&f->uaccess, &unknown, m,
						memory_order_relaxed,
						memory_order_relaxed);
}

/* Read up to @len bytes; returns how many could be read (the rest faults),
 * or a negative errno. */
static ssize_t uread_some(struct luo_fake *f, void *dst, const void *src,
			  size_t len)
{
	if (!len)
		return 0;
	if (mode(f) != UACCESS_DIRECT) {
		struct iovec local = { .iov_base = dst, .iov_len = len };
		struct iovec remote = { .iov_base = (void *)src, .iov_len = len };
		ssize_t n = process_vm_readv(f->pid, &local, 1, &remote, 1, 0);

		if (n >= 0) {
			set_mode(f, UACCESS_VM);
			return n;
		}
		if (errno == EFAULT)
			return 0;
		if (errno == ENOMEM)
			return -ENOMEM;
		if (mode(f) == UACCESS_VM)
			return -EFAULT;
		set_mode(f, UACCESS_DIRECT);
	}
	/* no way to probe: the first page is never mapped */
	if ((uintptr_t)src < 4096)
		return 0;
	memcpy(dst, src, len);
	return (ssize_t)len;
}

int luoi_fake_uread(struct luo_fake *f, void *dst, const void *src,
		    size_t len)
{
	ssize_t n = uread_some(f, dst, src, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

int luoi_fake_uwrite(struct luo_fake *f, void *dst, const void *src,
		     size_t len)
{
	if (!len)
		return 0;
	if (mode(f) != UACCESS_DIRECT) {
		struct iovec local = { .iov_base = (void *)src, .iov_len = len };
		struct iovec remote = { .iov_base = dst, .iov_len = len };
		ssize_t n = process_vm_writev(f->pid, &local, 1, &remote, 1, 0);

		if (n >= 0) {
			set_mode(f, UACCESS_VM);
			return (size_t)n == len ? 0 : -EFAULT;
		}
		if (errno == EFAULT)
			return -EFAULT;
		if (errno == ENOMEM)
			return -ENOMEM;
		if (mode(f) == UACCESS_VM)
			return -EFAULT;
		set_mode(f, UACCESS_DIRECT);
	}
	if ((uintptr_t)dst < 4096)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

/*
 * The leading u32 size of a mainline request (the kernel's get_user()),
 * read together with as much of the @ksize-byte structure as is readable,
 * in one system call; *got says how many bytes of @dst are filled (at
 * least 4 on success).  Only once process_vm_readv() is known to work: a
 * plain memory read must not touch bytes the kernel would not read.  If the
 * read does not reach the size field, the exact 4-byte read gives the
 * kernel's answer.
 */
int luoi_fake_uread_head(struct luo_fake *f, void *dst, const void *src,
			 size_t ksize, size_t *got)
{
	int r;

	if (mode(f) == UACCESS_VM && ksize > sizeof(uint32_t)) {
		struct iovec local = { .iov_base = dst, .iov_len = ksize };
		struct iovec remote = { .iov_base = (void *)src,
					.iov_len = ksize };
		ssize_t n = process_vm_readv(f->pid, &local, 1, &remote, 1, 0);

		if (n >= (ssize_t)sizeof(uint32_t)) {
			*got = (size_t)n;
			return 0;
		}
	}
	r = luoi_fake_uread(f, dst, src, sizeof(uint32_t));
	if (r)
		return r;
	*got = sizeof(uint32_t);
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

/* copy_struct_from_user(), where the first @have bytes of @dst were read
 * from @src already (luoi_fake_uread_head()). */
int luoi_fake_ucopy_struct(struct luo_fake *f, void *dst, size_t ksize,
			   const void *src, size_t usize, size_t have)
{
	size_t size = ksize < usize ? ksize : usize;

	if (usize < ksize) {
		memset((char *)dst + size, 0, ksize - size);
	} else if (usize > ksize) {
		int r = uzeroed(f, (const char *)src + size, usize - size);

		if (r <= 0)
			return r ? r : -E2BIG;
	}
	if (have >= size)
		return 0;
	return luoi_fake_uread(f, dst, src, size);
}

/* luo_ucmd_respond() */
int luoi_fake_urespond(struct luo_fake *f, void *arg, const void *buf,
		       uint32_t usize, size_t ksize)
{
	return luoi_fake_uwrite(f, arg, buf, usize < ksize ? usize : ksize);
}
