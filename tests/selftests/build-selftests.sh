#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the kernel's own LUO selftests (tools/testing/selftests/liveupdate/
# of the linux-source that tests/vm/build-kernel.sh fetched and extracted)
# into OUT, unmodified.  Their code is the kernel's (GPL-2.0): it is only
# compiled here, never copied into this tree.
#
#   build-selftests.sh OUT
#
# The source: $LIBLUO_SELFTESTS_SRC (a linux-source tree), else the newest
# tree under ${LIBLUO_VM_CACHE:-~/.cache/libluo-vm}/src/.  With none, exit 77
# (skip): run tests/vm/build-kernel.sh once (meson -Dvm_tests=enabled) to
# fetch it.
set -euo pipefail
out=$1
cache=${LIBLUO_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libluo-vm}
src=${LIBLUO_SELFTESTS_SRC:-}
if [ -z "$src" ]; then
	src=$(ls -d "$cache"/src/*/linux-source-* 2>/dev/null | sort -V | tail -1 || true)
fi
sel=$src/tools/testing/selftests
if [ -z "$src" ] || [ ! -f "$sel/liveupdate/lib/lu_utils.c" ]; then
	echo "build-selftests: no linux-source with liveupdate selftests" \
	     "(looked in $cache/src); run tests/vm/build-kernel.sh" >&2
	exit 77
fi
mkdir -p "$out/include/linux"
# the uapi header as the selftests' KHDR_INCLUDES would provide it; it
# needs only <linux/ioctl.h> and <linux/types.h> from the system
cp "$src/include/uapi/linux/liveupdate.h" "$out/include/linux/"
echo "$src" >"$out/source"
cc=${CC:-cc}
for t in liveupdate luo_kexec_simple luo_multi_session luo_stress_sessions \
	 luo_stress_files; do
	[ -f "$sel/liveupdate/$t.c" ] || continue
	# the flags of their Makefile
	"$cc" -D_GNU_SOURCE= -Wall -O2 -Wno-unused-function -I"$out/include" \
		-I"$sel/liveupdate/lib/include" \
		"$sel/liveupdate/$t.c" "$sel/liveupdate/lib/lu_utils.c" \
		-o "$out/$t"
done
