#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The same selftest binaries as run-selftests.sh, against the real kernel in
# the QEMU guest of tests/vm (its run.sh with a plan of our own): boot 1
# runs liveupdate and stage 1 of each kexec test (their daemons hold the
# sessions), the guest kexecs into the same kernel, boot 2 runs each kexec
# test with -s 2.
#
#   run-vm-selftests.sh VM-HELPER
#
# VM-HELPER is tests/vm's vm-helper (exit port and kexec).  Exit 77 (skip)
# without a linux-source holding the selftests.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
helper=$(realpath "$1")
work=$(mktemp -d /tmp/luo-vm-selftests-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$here/build-selftests.sh" "$work/bin"
rc=$?
[ $rc -eq 77 ] && { echo "no linux-source with the selftests: SKIP"; exit 77; }
[ $rc -eq 0 ] || exit 1
echo "selftests of $(cat "$work/bin/source")"

kexec_tests="luo_kexec_simple luo_multi_session luo_stress_sessions luo_stress_files"
exes=(--exe "$work/bin/liveupdate")
{
	echo "# STAGE COMMAND (tests/vm/init)"
	echo "1 liveupdate"
	for t in $kexec_tests; do
		exes+=(--exe "$work/bin/$t")
		echo "1 $t"
	done
	for t in $kexec_tests; do
		echo "2 $t -s 2"
	done
} >"$work/plan"
"$here/../vm/run.sh" --out-dir "$work" --plan "$work/plan" \
	--helper "$helper" "${exes[@]}"
rc=$?
# the selftests' own verdicts, from the guest's console
grep -a -E '^(ok|not ok) |PASSED|FAILED|Totals' "$work/vm-serial.log" | tr -d '\r'
exit $rc
