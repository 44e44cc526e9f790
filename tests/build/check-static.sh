#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libluo configured as the main project the way a user or a distribution
# would, on a machine where pkg-config finds nothing (so no Criterion):
#
#  1. -Ddefault_library=static: no shared libluo library is built or
#     installed, luoctl is linked statically (needs no libluo*.so.1) and
#     works on the fake kernel, a program links libluo.a through the
#     installed libluo.pc;
#  2. `meson setup && meson install` with every option at its default
#     (tests included: they need nothing but the project's own harness)
#     installs the shared libraries (meson's default_library), luoctl, the headers, the pkg-config
#     files and the man pages.
#
# Usage: check-static.sh SOURCE_ROOT
# Environment: MESON (default: meson), CC (default: cc), READELF (default:
# readelf), LIBLUO_KEEP_TMP=1 keeps the scratch directory.
set -eu

src=$(cd "$1" && pwd)
MESON=${MESON:-meson}
CC=${CC:-cc}
READELF=${READELF:-readelf}
unset LD_LIBRARY_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-static.XXXXXX")
if [ "${LIBLUO_KEEP_TMP:-0}" = 1 ]; then
	echo "scratch directory: $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' INT TERM
fi

step() { printf '\n=== %s\n' "$*"; }
die() { echo "FAIL: $*"; exit 1; }
quiet() {
	if ! "$@" >"$tmp/log" 2>&1; then
		tail -n 60 "$tmp/log"
		die "$*"
	fi
}

# pkg-config finds nothing: no Criterion, no installed libluo
mkdir -p "$tmp/empty"
PKG_CONFIG_LIBDIR=$tmp/empty
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
! pkg-config --exists criterion 2>/dev/null || die "Criterion still visible"

step "1. -Ddefault_library=static"
b=$tmp/static dest=$tmp/dest-static
quiet "$MESON" setup --prefix=/usr --libdir=lib -Ddefault_library=static \
	-Dtests=disabled "$b" "$src"
quiet "$MESON" compile -C "$b"
# (the LD_PRELOAD module of the fake server is a plugin, shared by nature)
so=$(find "$b" -name 'libluo*.so*' ! -name 'libluo-fake-preload.so*')
[ -z "$so" ] || die "a static build built shared libraries: $so"
if "$READELF" -d "$b/tools/luoctl" | grep 'NEEDED.*libluo'; then
	die "the static luoctl needs a shared libluo library"
fi
"$b/tools/luoctl" --version | grep -q '^luoctl [0-9]' ||
	die "luoctl --version"
# luoctl on the fake kernel
"$b/tools/luoctl" --fake status >"$tmp/status" 2>&1 ||
	{ cat "$tmp/status"; die "the static luoctl --fake status failed"; }
quiet "$MESON" install -C "$b" --no-rebuild --destdir "$dest"
(cd "$dest/usr" && find . \( -type f -o -type l \) | sort) >"$tmp/installed"
echo "installed: $(tr '\n' ' ' <"$tmp/installed")"
! grep -v 'libluo-fake-preload\.so$' "$tmp/installed" | grep -q '\.so' ||
	die "a static build installed a .so"
for f in ./bin/luoctl ./lib/libluo.a ./lib/libluo-fake.a \
	./include/libluo.h ./include/libluo-version.h \
	./lib/pkgconfig/libluo.pc ./lib/pkgconfig/libluo-fake.pc; do
	grep -q -x "$f" "$tmp/installed" || die "$f is not installed"
done
# a program linked with the installed libluo.a through pkg-config
# shellcheck disable=SC2046,SC2086
PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
	quiet $CC -o "$tmp/consumer" "$src/tests/build/consumer/main.c" \
	$(PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig \
	  PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs libluo-fake)
! "$READELF" -d "$tmp/consumer" | grep -q 'NEEDED.*libluo' ||
	die "the consumer of libluo.a needs a shared libluo"
"$tmp/consumer" || die "the consumer of libluo.a failed"

step "2. meson setup && meson install, every option at its default"
b=$tmp/default dest=$tmp/dest-default
quiet "$MESON" setup "$b" "$src"
quiet "$MESON" install -C "$b" --destdir "$dest"
(cd "$dest" && find . \( -type f -o -type l \) | sort) >"$tmp/installed"
for pat in '.*/bin/luoctl' '.*/libluo\.so\.1' '.*/libluo-fake\.so\.1' \
	'.*/include/libluo\.h' '.*/include/libluo-version\.h' \
	'.*/pkgconfig/libluo\.pc' '.*/man1/luoctl\.1' '.*/man3/libluo\.3' \
	'.*/man3/luo_version\.3'; do
	grep -q -x "$pat" "$tmp/installed" || die "nothing installed matches $pat"
done
echo "installed $(wc -l <"$tmp/installed") files"

echo
echo "static build and default install: passed"
