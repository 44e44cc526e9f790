#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each public header compiles on its own, included twice, as strict C99 and
# C11 and (when a C++ compiler is given) as C++11 and C++17, with every
# warning an error.
#
# Usage: check-headers.sh INCLUDE_DIRS CC [CXX]
#   INCLUDE_DIRS: the directories of the public headers, separated by
#   ':' (include/ of the source tree, and of the build tree, which has the
#   generated libluo-version.h).
#   CC and CXX are command lines (words separated by spaces); CXX may be
#   empty or missing.
set -eu

incdirs=$1
cc=$2
cxx=${3:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

status=0
try() {
	# try LABEL FILE COMMAND...
	label=$1 file=$2
	shift 2
	# shellcheck disable=SC2086 # $incflags: one word per directory
	if "$@" $incflags -fsyntax-only "$file" 2>"$tmp/err"; then
		echo "ok:   $label"
	else
		echo "FAIL: $label: $*"
		sed 's/^/    /' "$tmp/err"
		status=1
	fi
}

incflags=
found() {
	for d in $(echo "$incdirs" | tr ':' ' '); do
		[ -f "$d/$1" ] && return 0
	done
	return 1
}
for d in $(echo "$incdirs" | tr ':' ' '); do
	incflags="$incflags -I$d"
done

for h in libluo.h libluo-fake.h libluo-version.h; do
	found "$h" || { echo "FAIL: $h is in none of $incdirs"; exit 1; }
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' \
		"$h" "$h" >"$tmp/$h.c"
	cp "$tmp/$h.c" "$tmp/$h.cpp"
	for std in c99 c11; do
		# shellcheck disable=SC2086 # $cc is a command line
		try "$h as $std" "$tmp/$h.c" $cc -x c -std=$std -pedantic \
			-Werror -Wall -Wextra -Wstrict-prototypes \
			-Wmissing-prototypes -Wshadow -Wundef
	done
	if [ -n "$cxx" ]; then
		for std in c++11 c++17; do
			# shellcheck disable=SC2086
			try "$h as $std" "$tmp/$h.cpp" $cxx -x c++ -std=$std \
				-pedantic -Werror -Wall -Wextra -Wshadow -Wundef
		done
	fi
done
[ -n "$cxx" ] || echo "note: no C++ compiler, C++ checks skipped"
exit $status
