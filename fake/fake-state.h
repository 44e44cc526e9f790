/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Saving and loading a fake kernel's next-boot state (fake/state.c), for
 * the fake-kernel server.  Internal: linked from libluo-fake's static
 * library, never exported by libluo-fake.so.1.
 */
#ifndef LUOI_FAKE_STATE_H
#define LUOI_FAKE_STATE_H

#include "libluo-fake.h"

/* Write the boot count, the RFC state and the incoming sessions not yet
 * retrieved (with their files' bytes) to @fd: 0 or -errno. */
int luoi_fake_state_save(luo_fake_t *fake, int fd);
/* Read what luoi_fake_state_save() wrote into a fake of the same ABI that
 * has no session and whose device is not open: 0 or -errno. */
int luoi_fake_state_load(luo_fake_t *fake, int fd);

#endif /* LUOI_FAKE_STATE_H */
