#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build and run tests/build/consumer, a project that uses libluo
# (check-embed.sh embeds libluo as a subproject):
#
#  1. with the build tree under test, through its uninstalled pkg-config
#     files (meson-uninstalled/libluo-uninstalled.pc): cc, the include
#     flags name only the public headers' directories;
#  2. with libluo installed: `meson install --destdir` of the build tree
#     under test, found by pkg-config (PKG_CONFIG_SYSROOT_DIR points into the
#     DESTDIR, so any --prefix works), linked shared, then statically, then
#     with a plain `cc $(pkg-config --cflags --libs libluo)`.
#
# Usage: check-consumer.sh SOURCE_ROOT BUILD_ROOT
# Environment: MESON (default: meson), CC (default: cc), PKG_CONFIG
# (default: pkg-config), READELF (default: readelf), SANITIZE (the b_sanitize
# of the build under test: the consumers are built the same way, or they
# could not load its libluo), LIBLUO_KEEP_TMP=1 keeps the scratch directory.
set -eu

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
consumer=$src/tests/build/consumer
MESON=${MESON:-meson}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
READELF=${READELF:-readelf}
SANITIZE=${SANITIZE:-none}
san_cflags=
[ "$SANITIZE" = none ] || san_cflags=-fsanitize=$SANITIZE
# clang links shared objects without the sanitizer runtime: they must be
# allowed undefined symbols (as the main build's -Db_lundef=false does)
lundef=true
[ "$SANITIZE" = none ] || lundef=false

# meson test points LD_LIBRARY_PATH at the build tree, which would shadow
# the libluo each consumer is meant to run with.
unset LD_LIBRARY_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-consumer.XXXXXX")
if [ "${LIBLUO_KEEP_TMP:-0}" = 1 ]; then
	echo "scratch directory: $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' INT TERM # so that the EXIT trap runs on a timeout
fi

step() { printf '\n=== %s\n' "$*"; }
die() { echo "FAIL: $*"; exit 1; }
# Run a command quietly; show its output only if it fails.
quiet() {
	if ! "$@" >"$tmp/log" 2>&1; then
		cat "$tmp/log"
		die "$*"
	fi
}

new_consumer() {
	mkdir -p "$1"
	cp "$consumer/meson.build" "$consumer/meson_options.txt" \
		"$consumer/main.c" "$1/"
}

# --- 1. the build tree, through meson-uninstalled/*-uninstalled.pc ------
step "consumer of the build tree: meson-uninstalled/libluo-uninstalled.pc"
uninst=$build/meson-uninstalled
[ -f "$uninst/libluo-uninstalled.pc" ] || die "no $uninst/libluo-uninstalled.pc"
echo "libluo-uninstalled.pc: $(PKG_CONFIG_LIBDIR=$uninst $PKG_CONFIG \
	--cflags --libs libluo)"
# shellcheck disable=SC2046,SC2086 # word splitting wanted
quiet $CC $san_cflags -Werror -o "$tmp/consumer-uninst" "$consumer/main.c" \
	$(PKG_CONFIG_LIBDIR=$uninst $PKG_CONFIG --cflags --libs libluo-fake libluo)
LD_LIBRARY_PATH=$build "$tmp/consumer-uninst" ||
	die "the consumer built with libluo-uninstalled.pc failed"
# its -I flags name the public headers' directories and no private one
PKG_CONFIG_LIBDIR=$uninst $PKG_CONFIG --cflags libluo libluo-fake |
	tr ' ' '\n' | sed -n 's/^-I//p' >"$tmp/incdirs"
for d in $(cat "$tmp/incdirs"); do
	[ -d "$d" ] || continue
	for h in "$d"/*.h; do
		[ -e "$h" ] || continue
		case ${h##*/} in
		libluo.h|libluo-fake.h|libluo-version.h) ;;
		*) die "libluo-uninstalled.pc puts private headers on the include path: $h" ;;
		esac
	done
done

# --- 2. installed, through pkg-config --------------------------------------
step "meson install --destdir of $build"
dest=$tmp/dest
quiet "$MESON" install -C "$build" --no-rebuild --destdir "$dest"

pc=$(find "$dest" -name libluo.pc | head -n 1)
[ -n "$pc" ] || die "no libluo.pc installed"
so=$(find "$dest" -name libluo.so.1 | head -n 1)
[ -n "$so" ] || die "no libluo.so.1 installed"
libdir=$(dirname "$so")
for f in "$libdir/libluo.so" "$libdir/libluo.a" "$libdir/libluo-fake.so.1" \
	"$libdir/libluo-fake.so" "$libdir/libluo-fake.a" \
	"$(dirname "$pc")/libluo-fake.pc"; do
	[ -e "$f" ] || die "$f is not installed"
done
for h in libluo.h libluo-fake.h libluo-version.h; do
	[ -n "$(find "$dest" -path "*/include/$h")" ] || die "$h is not installed"
done
[ -n "$(find "$dest" -path '*/bin/luoctl')" ] || die "luoctl is not installed"
echo "installed: $(cd "$dest" && find . -type f | sort | tr '\n' ' ')"

PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
PKG_CONFIG_SYSROOT_DIR=$dest
# Filter no "system" directory out: they are system directories of /, not
# of the DESTDIR.
PKG_CONFIG_SYSTEM_INCLUDE_PATH=/nonexistent
PKG_CONFIG_SYSTEM_LIBRARY_PATH=/nonexistent
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
	PKG_CONFIG_SYSTEM_INCLUDE_PATH PKG_CONFIG_SYSTEM_LIBRARY_PATH
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
echo "pkg-config: libluo $($PKG_CONFIG --modversion libluo):" \
	"$($PKG_CONFIG --cflags --libs libluo)"

needs_libluo() {
	"$READELF" -d "$1" | grep -q 'NEEDED.*\[libluo\.so\.1\]'
}

step "consumer with libluo from pkg-config, shared"
pcb=$tmp/pc
new_consumer "$pcb"
quiet "$MESON" setup --wrap-mode=nofallback -Db_sanitize="$SANITIZE" -Db_lundef=$lundef \
	"$pcb/build" "$pcb"
quiet "$MESON" compile -C "$pcb/build"
needs_libluo "$pcb/build/consumer" || die "consumer does not link libluo.so.1"
"$pcb/build/consumer" || die "the consumer linked with the installed libluo failed"

step "consumer with libluo from pkg-config, static"
quiet "$MESON" setup --wrap-mode=nofallback -Db_sanitize="$SANITIZE" -Db_lundef=$lundef \
	-Dstatic=true "$pcb/build-static" "$pcb"
quiet "$MESON" compile -C "$pcb/build-static"
! needs_libluo "$pcb/build-static/consumer" ||
	die "the static consumer still needs libluo.so.1"
"$pcb/build-static/consumer" || die "the statically linked consumer failed"

step "cc \$(pkg-config --cflags --libs libluo)"
# shellcheck disable=SC2046,SC2086 # word splitting wanted
quiet $CC $san_cflags -o "$tmp/consumer-cc" "$consumer/main.c" \
	$($PKG_CONFIG --cflags --libs libluo-fake)
"$tmp/consumer-cc" || die "the consumer built with cc failed"
# shellcheck disable=SC2046,SC2086
quiet $CC $san_cflags -o "$tmp/demo-cc" "$src/examples/demo.c" \
	$($PKG_CONFIG --cflags --libs libluo libluo-fake)
"$tmp/demo-cc" --fake >"$tmp/demo.out" || die "examples/demo.c built with cc failed"

echo
echo "all consumer builds passed"
