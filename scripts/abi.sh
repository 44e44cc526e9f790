#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The ABI guard: abi/*.abi describe the released ABI of libluo.so.1 and
# libluo-fake.so.1 (abidw, Debian package abigail-tools, restricted to the
# types of the public headers); a build's libraries must stay compatible
# with them.  CONTRIBUTING.md has the rule.
#
#   scripts/abi.sh check BUILD_DIR
#       Compare BUILD_DIR's libluo.so.1 and libluo-fake.so.1 (built with
#       debug information: any buildtype but plain/release without -g)
#       with abi/.  Fails when abidiff finds an incompatible change (exit
#       bit 8, ABIDIFF_ABI_INCOMPATIBLE_CHANGE) or a change to a function
#       or variable that exists in the reference (changed or removed:
#       libabigail 2.2 sets bit 8 only for removals); additions (bit 4
#       alone) pass, with abidiff's report printed.
#   scripts/abi.sh update [REV]
#       Rewrite abi/*.abi from the libraries of git revision REV (default:
#       HEAD), built in a scratch directory.  Run it when a version is
#       released (REV = its tag), and commit the result with the release.
#
# Exit status: 0 compatible, 1 incompatible or failed, 77 abidw/abidiff
# missing (scripts/install-deps.sh test installs them).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
libs=(libluo libluo-fake)

need() {
	command -v abidw >/dev/null && command -v abidiff >/dev/null && return
	echo "abi: abidw/abidiff not found (Debian: apt-get install abigail-tools)"
	exit 77
}

# abidw of one shared library, public types only, with nothing that
# depends on where it was built.
dump() { # dump LIBRARY INCLUDE_DIR... > ABIXML
	local lib=$1 hd=()
	shift
	for d in "$@"; do [ -d "$d" ] && hd+=(--headers-dir "$d"); done
	abidw "${hd[@]}" --drop-private-types --no-corpus-path \
		--no-comp-dir-path --short-locs "$lib"
}

case "${1:-}" in
check)
	need
	build=$(cd "${2:?usage: abi.sh check BUILD_DIR}" && pwd)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-abi.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	status=0
	for name in "${libs[@]}"; do
		lib=$(find "$build" -maxdepth 2 -name "$name.so.1" | head -n 1)
		if [ -z "$lib" ]; then
			echo "abi: no $name.so.1 in $build"
			status=1
			continue
		fi
		dump "$lib" "$top/include" "$build/include" >"$tmp/$name.abi"
		rc=0
		abidiff --no-show-locs "$top/abi/$name.abi" "$tmp/$name.abi" \
			>"$tmp/$name.report" 2>&1 || rc=$?
		if [ $((rc & 3)) -ne 0 ]; then
			echo "abi: $name: abidiff failed (exit $rc):"
			cat "$tmp/$name.report"
			status=1
			continue
		fi
		# "Functions changes summary: 0 Removed, 1 Changed, 2 Added
		# functions" and the same for variables
		changed=$(sed -n -E 's/^ *(Functions|Variables) changes summary: *([0-9]+) Removed[^,]*, *([0-9]+) Changed.*/\2 \3/p' \
			"$tmp/$name.report" | grep -v '^0 0$' || true)
		if [ $((rc & 8)) -ne 0 ] || [ -n "$changed" ]; then
			echo "abi: $name: INCOMPATIBLE with abi/$name.abi" \
				"(abidiff exit $rc):"
			cat "$tmp/$name.report"
			status=1
		elif [ $((rc & 4)) -ne 0 ]; then
			echo "abi: $name: compatible, with additions (abidiff exit $rc):"
			sed 's/^/    /' "$tmp/$name.report"
		else
			echo "abi: $name: the same ABI as abi/$name.abi"
		fi
	done
	exit $status
	;;
update)
	need
	rev=${2:-HEAD}
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-abi.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	git -C "$top" archive "$rev" | tar -x -C "$tmp"
	echo "abi: building $rev ($(git -C "$top" rev-parse --short "$rev"))"
	# the option names of older trees differ: configure with defaults
	meson setup "$tmp/build" "$tmp" -Dbuildtype=debugoptimized >/dev/null
	meson compile -C "$tmp/build" >/dev/null
	mkdir -p "$top/abi"
	for name in "${libs[@]}"; do
		lib=$(find "$tmp/build" -maxdepth 2 -name "$name.so.1" | head -n 1)
		[ -n "$lib" ] || { echo "abi: $rev built no $name.so.1"; exit 1; }
		dump "$lib" "$tmp/include" "$tmp/build/include" >"$top/abi/$name.abi"
		echo "abi: wrote abi/$name.abi ($(grep -c '<elf-symbol ' \
			"$top/abi/$name.abi") symbols)"
	done
	;;
*)
	sed -n '4,22p' "$0"
	exit 2
	;;
esac
