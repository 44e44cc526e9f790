#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build libluo and run the demo: preserve a memfd holding a message, live
# update (the fake kernel's simulated kexec when there is no
# /dev/liveupdate), retrieve the memfd and print the message.
# Installs missing Debian packages.  Extra arguments go to the demo.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${LIBLUO_BUILD_ROOT:-$top/build-tests}/demo
"$top/scripts/install-deps.sh" build
if [ -d "$dir" ]; then
	meson setup --reconfigure "$dir" "$top" -Dtests=disabled >/dev/null
else
	meson setup "$dir" "$top" -Dtests=disabled >/dev/null
fi
meson compile -C "$dir" >/dev/null
exec "$dir/examples/demo" "$@"
