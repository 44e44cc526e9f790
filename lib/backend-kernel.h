/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LUOI_BACKEND_KERNEL_H
#define LUOI_BACKEND_KERNEL_H

#include "backend.h"

/* The real /dev/liveupdate: ioctl(), open() and close() themselves. */
extern struct luo_backend luoi_backend_kernel;

#endif /* LUOI_BACKEND_KERNEL_H */
