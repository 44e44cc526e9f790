#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libluo embedded as a meson subproject the way README.md ("Linking") says:
# tests/build/parent with the README's meson block pasted in verbatim and a
# copy of this source tree in subprojects/libluo.  For each way of
# configuring the parent, its `meson test` must run the parent's tests and
# none of libluo's, and its `meson install --destdir` must install what
# the parent asked for and nothing else:
#
#  1. Criterion invisible (PKG_CONFIG_LIBDIR on an empty directory, so
#     nothing is found by pkg-config and libluo comes from the subproject):
#     the parent's program and libluo.so.1, its runtime;
#  2. as 1 with pkg-config as it is (Criterion visible when installed;
#     --force-fallback-for so that an installed libluo is not taken);
#  3. -Ddefault_library=static: the parent's program only, which needs no
#     libluo.so.1;
#  4. the parent asks for more: -Dlibluo:luoctl=enabled,fake=enabled,
#     devel=enabled,man=enabled,default_library=both: also luoctl,
#     libluo-fake.so.1, the headers, pkg-config files, static libraries
#     and man pages.
#
# Usage: check-embed.sh SOURCE_ROOT
# Environment: MESON (default: meson), READELF (default: readelf),
# LIBLUO_KEEP_TMP=1 keeps the scratch directory.
set -eu

src=$(cd "$1" && pwd)
MESON=${MESON:-meson}
READELF=${READELF:-readelf}
# meson test points LD_LIBRARY_PATH at the build tree under test
unset LD_LIBRARY_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-embed.XXXXXX")
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
		cat "$tmp/log"
		die "$*"
	fi
}

# --- the parent project -----------------------------------------------------
parent=$tmp/parent
mkdir -p "$parent/subprojects/libluo"
cp "$src/tests/build/parent/tool.c" "$parent/"
# the parent's test of the live-update path: the consumer test's program
cp "$src/tests/build/consumer/main.c" "$parent/live-update.c"
# The README's recipe: the first ```meson block of its "## Linking" section.
awk '/^## Linking/ { sec = 1; next }
     /^## / { sec = 0 }
     sec && /^```meson$/ { inblock = 1; next }
     inblock && /^```$/ { exit }
     inblock { print }' "$src/README.md" >"$tmp/recipe"
grep -q "dependency('libluo', fallback : \['libluo', 'libluo_dep'\])" \
	"$tmp/recipe" || die "README.md's Linking section has no recipe:
$(cat "$tmp/recipe")"
awk -v recipe="$tmp/recipe" '
	/^@README_RECIPE@$/ { while ((getline l < recipe) > 0) print l; next }
	{ print }' "$src/tests/build/parent/meson.build.in" >"$parent/meson.build"
echo "the README's recipe:"
sed 's/^/    /' "$tmp/recipe"

# The source tree as a git submodule or a wrap would bring it: everything
# but build directories and .git.
for entry in "$src"/* "$src"/.[!.]*; do
	[ -e "$entry" ] || continue
	case ${entry##*/} in .git|subprojects|build|build-*) continue ;; esac
	[ -d "$entry/meson-private" ] && continue
	cp -R "$entry" "$parent/subprojects/libluo/"
done

needs_libluo() {
	"$READELF" -d "$1" | grep -q 'NEEDED.*\[libluo\.so\.1\]'
}

# check_parent NAME EXPECTED_FILES SETUP_ARGS...: configure, build, test and
# install the parent; the installed files (relative to the prefix, symlinks
# included, sorted) must be EXPECTED_FILES (a file of patterns, one a line,
# for grep -x).
check_parent() {
	name=$1 expected=$2
	shift 2
	b=$tmp/build-$name dest=$tmp/dest-$name
	quiet "$MESON" setup --prefix=/usr --libdir=lib "$@" "$b" "$parent"
	grep -qi "dependency criterion" "$b/meson-logs/meson-log.txt" &&
		die "$name: the configuration looked for Criterion"
	quiet "$MESON" compile -C "$b"
	# the parent's tests and none of libluo's
	"$MESON" test -C "$b" --list 2>/dev/null | grep -v '^ninja:' |
		sed 's|^.* / ||' | sort \
		>"$tmp/tests"
	printf 'parent-live-update\nparent-tool\n' >"$tmp/tests-want"
	cmp -s "$tmp/tests" "$tmp/tests-want" ||
		die "$name: meson test --list of the parent: $(cat "$tmp/tests")"
	quiet "$MESON" test -C "$b" --print-errorlogs
	quiet "$MESON" install -C "$b" --no-rebuild --destdir "$dest"
	(cd "$dest/usr" && find . \( -type f -o -type l \) | sed 's|^\./||' |
		sort) >"$tmp/installed"
	echo "$name: installed $(grep -v '^share/man/man3/luo_' "$tmp/installed" |
		tr '\n' ' ')$(grep -c '^share/man/man3/luo_' "$tmp/installed" |
		sed 's/^0$//; s/.\{1,\}/and & luo_*.3 pages/')"
	printf '%s\n' "$expected" >"$tmp/expected"
	bad=$(grep -v -x -f "$tmp/expected" "$tmp/installed" || true)
	[ -z "$bad" ] || die "$name: installed what the parent did not ask for: $bad"
	while read -r pat; do
		grep -q -x "$pat" "$tmp/installed" ||
			die "$name: nothing installed matches $pat"
	done <"$tmp/expected"
	LD_LIBRARY_PATH=$dest/usr/lib "$dest/usr/bin/parent-tool" ||
		die "$name: the installed parent-tool failed"
}

runtime='bin/parent-tool
lib/libluo\.so
lib/libluo\.so\.1
lib/libluo\.so\.1\.[0-9.]*'

step "1. README recipe, Criterion invisible to pkg-config"
mkdir -p "$tmp/empty"
PKG_CONFIG_LIBDIR=$tmp/empty PKG_CONFIG_PATH= \
	sh -c '! pkg-config --exists criterion' ||
	die "PKG_CONFIG_LIBDIR does not hide Criterion"
PKG_CONFIG_LIBDIR=$tmp/empty PKG_CONFIG_PATH= \
	check_parent pkgconfig-empty "$runtime"
needs_libluo "$tmp/build-pkgconfig-empty/parent-tool" ||
	die "parent-tool does not link libluo.so.1"

step "2. README recipe, pkg-config as it is"
check_parent pkg-config "$runtime" --force-fallback-for=libluo,libluo-fake

step "3. the parent built with -Ddefault_library=static"
check_parent static 'bin/parent-tool' --force-fallback-for=libluo,libluo-fake \
	-Ddefault_library=static
! needs_libluo "$tmp/build-static/parent-tool" ||
	die "the static parent-tool needs libluo.so.1"
[ -z "$(find "$tmp/build-static/subprojects" -name 'libluo*.so*')" ] ||
	die "a static build of the parent built shared libluo libraries"

step "4. the parent asks for luoctl, the fake library, the devel files, man pages"
check_parent asks "$runtime
bin/luoctl
bin/luo-fake-server
lib/libluo/libluo-fake-preload\.so
share/bash-completion/completions/luoctl
lib/libluo-fake\.so
lib/libluo-fake\.so\.1
lib/libluo-fake\.so\.1\.[0-9.]*
lib/libluo\.a
lib/libluo-fake\.a
lib/pkgconfig/libluo\.pc
lib/pkgconfig/libluo-fake\.pc
include/libluo\.h
include/libluo-fake\.h
include/libluo-version\.h
share/man/man1/luoctl\.1
share/man/man1/luo-fake-server\.1
share/man/man3/.*\.3" --force-fallback-for=libluo,libluo-fake \
	-Dlibluo:luoctl=enabled -Dlibluo:fake=enabled \
	-Dlibluo:devel=enabled -Dlibluo:man=enabled \
	-Dlibluo:default_library=both
LD_LIBRARY_PATH=$tmp/dest-asks/usr/lib "$tmp/dest-asks/usr/bin/luoctl" \
	--version | grep -q "^luoctl [0-9]" || die "the installed luoctl failed"

echo
echo "libluo embedded as a subproject: all configurations passed"
