/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luo_version(): the version this library was built as (project() in
 * meson.build, through <libluo-version.h>).
 */
#include "libluo.h"

#include "macro.h"

LUOI_EXPORT int luo_version(void)
{
	return LIBLUO_VERSION_NUMBER;
}
