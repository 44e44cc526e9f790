#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build libluo and run its test suites.  Installs missing Debian packages.
#
#   scripts/run-tests.sh            plain build, every suite but 'vm'
#   scripts/run-tests.sh --asan     the same under AddressSanitizer + UBSan
#   scripts/run-tests.sh --tsan     the same under ThreadSanitizer (every suite)
#   scripts/run-tests.sh --vm       also boot a LUO kernel under QEMU (suite vm)
#   scripts/run-tests.sh --bench    also build and run the benchmarks (plain
#                                   build; with --vm, P1 in the guest too)
#   scripts/run-tests.sh --all      plain (with vm and bench), asan, tsan
#
# Build directories go under ${LIBLUO_BUILD_ROOT:-build-tests}.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
root=${LIBLUO_BUILD_ROOT:-$top/build-tests}
modes=()
vm=0
bench=0
for arg in "$@"; do
	case "$arg" in
	--asan) modes+=(asan) ;;
	--tsan) modes+=(tsan) ;;
	--vm) vm=1 ;;
	--bench) bench=1 ;;
	--all) modes+=(plain asan tsan); vm=1; bench=1 ;;
	-h|--help) sed -n '4,14p' "$0"; exit 0 ;;
	*) echo "run-tests: unknown argument '$arg'" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || modes=(plain)

groups=(build test)
[ $vm -eq 0 ] || groups+=(vm)
"$top/scripts/install-deps.sh" "${groups[@]}"

run_mode() {
	local mode=$1 dir=$root/$1 args=() suites=()
	case "$mode" in
	plain)
		[ $vm -eq 0 ] || args+=(-Dvm_tests=enabled)
		[ $bench -eq 0 ] || args+=(-Dbench=true) ;;
	asan)
		args+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
	tsan)
		args+=(-Db_sanitize=thread -Db_lundef=false) ;;
	esac
	echo "=== run-tests: $mode build in $dir"
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$top" "${args[@]}" >/dev/null
	else
		meson setup "$dir" "$top" "${args[@]}" >/dev/null
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson compile -C "$dir"
	# Sanitizer runtimes must abort on the first report so that a finding
	# fails the test instead of scrolling by.
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		meson test -C "$dir" --print-errorlogs --num-processes 2 "${suites[@]}"
	if [ "$mode" = plain ] && [ $bench -eq 1 ]; then
		# figures, not verdicts: a benchmark fails only if an
		# operation does; one at a time, so that they do not disturb
		# each other
		echo "=== run-tests: benchmarks"
		meson test -C "$dir" --benchmark --suite bench --num-processes 1 -v
	fi
}

# Count the results of every build's last meson test run.
summary() {
	python3 - "$@" <<'PY'
import json, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    try:
        lines = open(d + "/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"run-tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
}

status=0
dirs=()
for m in "${modes[@]}"; do
	dirs+=("$root/$m")
	run_mode "$m" || status=1
done
summary "${dirs[@]}"
if [ $status -ne 0 ]; then
	echo "=== run-tests: FAILED (${modes[*]})"
	exit 1
fi
echo "=== run-tests: all passed (${modes[*]})"
