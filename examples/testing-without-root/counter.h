/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* counterd's live-update path: a counter carried across a kexec. */
#ifndef COUNTER_H
#define COUNTER_H

#include <stdint.h>

#include <libluo.h>

#define COUNTER_SESSION "counterd"
#define COUNTER_TOKEN 1

/* Before the update: preserve @value in a new session, returned in *held,
 * which must stay open until the kexec.  0 or -errno; on failure nothing
 * stays preserved. */
int counter_save(luo_ctx_t *ctx, uint64_t value, luo_session_t **held);

/* After the update: the value saved by the previous boot.  -ENOENT: there
 * was none (a first boot).  The session is finished either way. */
int counter_restore(luo_ctx_t *ctx, uint64_t *value);

#endif
