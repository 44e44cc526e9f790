#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the Debian packages of debian/ and check them as a user would:
#
#  1. dpkg-buildpackage -b -us -uc in a copy of the tree under OUT_DIR
#     (the .debs land in OUT_DIR), with the symbols files checked strictly
#     (DPKG_GENSYMBOLS_CHECK_LEVEL=4: a symbol missing from
#     debian/*.symbols, or listed and gone, fails the build);
#  2. lintian on the result: errors fail, warnings are printed;
#  3. the packages installed into this system (apt-get), a consumer built
#     with `cc $(pkg-config --cflags --libs libluo libluo-fake)` against
#     the installed libluo-dev and run on the fake kernel, luoctl and the
#     man pages checked; then the packages are removed again (purged),
#     also on failure.
#
# Needs root or sudo (apt-get).  Used by scripts/run-tests.sh --deb.
# Usage: scripts/check-deb.sh [OUT_DIR]   (default: build-tests/deb)
# Environment: DEB_BUILD_OPTIONS as for any package build (nocheck: the
# package build runs no test suite; by default it runs the fast ones).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-tests/deb}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
pkgs=(libluo1 libluo-fake1 libluo-dev luoctl)

step() { printf '\n=== check-deb: %s\n' "$*"; }
die() { echo "=== check-deb: FAIL: $*"; exit 1; }

for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		die "$p is installed already: this check installs and purges it"
	fi
done

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
rm -rf "$out"
src=$out/libluo-$version
mkdir -p "$src"

step "dpkg-buildpackage -b -us -uc (libluo $version, $arch) in $src"
# the tree as it is, without build directories or .git
tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./subprojects \
	--exclude='./obj-*' -cf - . | tar -C "$src" -xf -
(cd "$src" && dpkg-checkbuilddeps) || die "build dependencies missing"
log=$out/build.log
start=$(date +%s)
if ! (cd "$src" && DPKG_GENSYMBOLS_CHECK_LEVEL=4 \
	dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
	tail -n 80 "$log"
	die "dpkg-buildpackage failed (log: $log)"
fi
echo "built in $(($(date +%s) - start)) s:"
changes=$out/libluo_${version}_${arch}.changes
[ -f "$changes" ] || die "no $changes"
debs=()
for p in "${pkgs[@]}"; do
	d=$(ls "$out/${p}_${version}_"*.deb 2>/dev/null | head -n 1 || true)
	[ -n "$d" ] || die "no package $p was built"
	debs+=("$d")
	echo "  $(basename "$d"): $(dpkg-deb -c "$d" | awk '$1 !~ /^d/ { print $6 }' |
		tr '\n' ' ')"
done
grep -E 'dpkg-gensymbols: (warning|error)' "$log" && die "dpkg-gensymbols complained"
echo "  the package build's test run: $(grep -E '^(Ok|Fail|Skipped): ' "$log" |
	tr -s ' ' | tr '\n' ' ')"

step "lintian"
# errors fail; warnings and the rest are printed, not fatal
lint=$out/lintian.txt
rc=0
lintian --info --display-info --fail-on error "$changes" >"$lint" 2>&1 || rc=$?
grep -E '^[EWI]: ' "$lint" | sed 's/^/  /' || true
echo "  lintian: $(grep -c '^E: ' "$lint" || true) errors," \
	"$(grep -c '^W: ' "$lint" || true) warnings," \
	"$(grep -c '^I: ' "$lint" || true) info"
[ $rc -eq 0 ] || { cat "$lint"; die "lintian reports errors (exit $rc)"; }

step "install ${pkgs[*]} into the system"
purge() {
	echo "=== check-deb: purging ${pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get purge -y -qq "${pkgs[@]}" \
		>/dev/null 2>&1 || $sudo dpkg --purge "${pkgs[@]}" >/dev/null 2>&1 || true
}
trap purge EXIT
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	--no-install-recommends "${debs[@]}" >"$out/install.log" 2>&1 ||
	{ cat "$out/install.log"; die "apt-get install failed"; }
dpkg-query -W "${pkgs[@]}"

step "a consumer of the installed libluo-dev, through pkg-config"
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR LD_LIBRARY_PATH
echo "pkg-config: libluo $(pkg-config --modversion libluo):" \
	"$(pkg-config --cflags --libs libluo libluo-fake)"
[ "$(pkg-config --modversion libluo)" = "${version%%-*}" ] ||
	die "libluo.pc says version $(pkg-config --modversion libluo)"
tmp=$out/consumer
mkdir -p "$tmp"
# shellcheck disable=SC2046 # word splitting wanted
cc -Wall -Wextra -Werror -o "$tmp/consumer" "$top/tests/build/consumer/main.c" \
	$(pkg-config --cflags --libs libluo libluo-fake) ||
	die "the consumer does not build against libluo-dev"
readelf -d "$tmp/consumer" | grep -q 'NEEDED.*\[libluo\.so\.1\]' ||
	die "the consumer does not link libluo.so.1"
ldd "$tmp/consumer" | grep -E 'libluo(-fake)?\.so\.1' | sed 's/^\s*/  /'
"$tmp/consumer" || die "the consumer failed"
# static, as a -dev user may link it
# shellcheck disable=SC2046
cc -o "$tmp/consumer-static" "$top/tests/build/consumer/main.c" \
	$(pkg-config --static --cflags libluo libluo-fake) \
	-Wl,-Bstatic $(pkg-config --static --libs-only-l libluo-fake libluo |
		sed 's/-pthread//g') -Wl,-Bdynamic -pthread ||
	die "the consumer does not link libluo.a"
"$tmp/consumer-static" >/dev/null || die "the static consumer failed"
cat >"$tmp/version.c" <<'EOF'
#include <stdio.h>
#include <libluo.h>
int main(void)
{
	printf("%s %d\n", LIBLUO_VERSION_STRING, luo_version());
	return luo_version() == LIBLUO_VERSION_NUMBER ? 0 : 1;
}
EOF
# shellcheck disable=SC2046
cc -o "$tmp/version" "$tmp/version.c" $(pkg-config --cflags --libs libluo)
v=$("$tmp/version") || die "luo_version() != LIBLUO_VERSION_NUMBER: $v"
echo "  headers and library: $v"

step "luoctl and the man pages"
luoctl --version
luoctl --fake status >/dev/null || die "luoctl --fake status failed"
for page in /usr/share/man/man1/luoctl.1.gz /usr/share/man/man3/libluo.3.gz \
	/usr/share/man/man3/luo_version.3.gz /usr/share/man/man3/libluo-fake.3.gz; do
	[ -f "$page" ] || die "$page is not installed"
done
zcat /usr/share/man/man3/luo_version.3.gz | grep -q "^\.TH .*libluo ${version%%-*}" ||
	die "luo_version(3) does not carry the version"

echo
echo "=== check-deb: packages built, lintian clean of errors, installed, used, purged"
