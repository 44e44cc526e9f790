#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One version everywhere: the macros and luo_version() (the program
# VERSION_EXE, tests/build/version.c), `luoctl --version` (the tool's and
# the library's), and the headers of the man pages (luoctl(1), libluo(3),
# luo_version(3)) all say VERSION, project()'s.
#
# Usage: check-version.sh VERSION VERSION_EXE [LUOCTL] [MAN_DIR]
set -eu

version=$1 exe=$2 luoctl=${3:-} man=${4:-}
status=0
fail() { echo "FAIL: $*"; status=1; }

got=$("$exe") || fail "$exe failed"
[ "$got" = "$version" ] && echo "ok:   headers and luo_version(): $got" ||
	fail "headers and luo_version(): $got, not $version"
if [ -n "$luoctl" ]; then
	got=$("$luoctl" --version)
	[ "$got" = "luoctl $version (libluo $version)" ] &&
		echo "ok:   $got" || fail "luoctl --version: $got"
fi
if [ -n "$man" ]; then
	for page in luoctl.1 libluo.3 luo_version.3; do
		[ -f "$man/$page" ] || { fail "no $man/$page"; continue; }
		th=$(grep '^\.TH ' "$man/$page")
		case $th in
		*"\"libluo $version\""*) echo "ok:   $page: $th" ;;
		*) fail "$page: $th" ;;
		esac
	done
fi
exit $status
