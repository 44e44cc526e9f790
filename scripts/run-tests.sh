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
#   scripts/run-tests.sh --fuzz     a clang build (ASan + UBSan, -Dfuzz=true):
#                                   every suite, then each libFuzzer target of
#                                   tests/fuzz for ${LIBLUO_FUZZ_SECONDS:-60} s
#   scripts/run-tests.sh --deb      also build the Debian packages (debian/),
#                                   lint them, install them into the system,
#                                   build and run a consumer, purge them
#                                   (scripts/check-deb.sh; root or sudo)
#   scripts/run-tests.sh --all      plain (with vm and bench), asan, tsan,
#                                   fuzz, deb
#
# Build directories go under ${LIBLUO_BUILD_ROOT:-build-tests}.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
root=${LIBLUO_BUILD_ROOT:-$top/build-tests}
modes=()
vm=0
bench=0
deb=0
for arg in "$@"; do
	case "$arg" in
	--asan) modes+=(asan) ;;
	--tsan) modes+=(tsan) ;;
	--vm) vm=1 ;;
	--bench) bench=1 ;;
	--fuzz) modes+=(fuzz) ;;
	--deb) deb=1 ;;
	--all) modes+=(plain asan tsan fuzz); vm=1; bench=1; deb=1 ;;
	-h|--help) sed -n '4,22p' "$0"; exit 0 ;;
	*) echo "run-tests: unknown argument '$arg'" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || modes=(plain)

groups=(build test)
[ $vm -eq 0 ] || groups+=(vm)
case " ${modes[*]} " in *" fuzz "*) groups+=(fuzz) ;; esac
[ $deb -eq 0 ] || groups+=(deb)
"$top/scripts/install-deps.sh" "${groups[@]}"

# Called as `run_mode M || status=1`, where set -e does not apply: every
# step's status is collected explicitly.
run_mode() {
	# both libraries, so that the static archives are checked too
	local mode=$1 dir=$root/$1 args=(-Ddefault_library=both) suites=() rc=0
	case "$mode" in
	plain)
		[ $vm -eq 0 ] || args+=(-Dvm_tests=enabled)
		[ $bench -eq 0 ] || args+=(-Dbench=true) ;;
	asan)
		args+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
	tsan)
		args+=(-Db_sanitize=thread -Db_lundef=false) ;;
	fuzz)
		# clang's UBSan also checks pointer overflow (NULL + 0),
		# which gcc's does not
		args+=(-Db_sanitize=address,undefined -Db_lundef=false
		       -Dfuzz=true) ;;
	esac
	echo "=== run-tests: $mode build in $dir"
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$top" "${args[@]}" >/dev/null
	elif [ "$mode" = fuzz ]; then
		CC=clang meson setup "$dir" "$top" "${args[@]}" >/dev/null
	else
		meson setup "$dir" "$top" "${args[@]}" >/dev/null
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson compile -C "$dir" || rc=1
	# Sanitizer runtimes must abort on the first report so that a finding
	# fails the test instead of scrolling by.
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		meson test -C "$dir" --print-errorlogs --num-processes 2 "${suites[@]}" ||
		rc=1
	if [ "$mode" = plain ] && [ $bench -eq 1 ] && [ $vm -eq 1 ]; then
		# P1 ran in the QEMU guest: its figures are in the serial log
		echo "=== run-tests: benchmark P1 in the guest"
		grep -a -h 'LIBLUO-BENCH' "$dir/tests/vm/vm-serial.log" || true
	fi
	if [ "$mode" = plain ] && [ $bench -eq 1 ]; then
		# figures, not verdicts: a benchmark fails only if an
		# operation does; one at a time, so that they do not disturb
		# each other
		echo "=== run-tests: benchmarks"
		meson test -C "$dir" --benchmark --suite bench --num-processes 1 -v ||
			rc=1
	fi
	if [ "$mode" = fuzz ]; then
		run_fuzzers "$dir" || rc=1
	fi
	return $rc
}

# Each libFuzzer target for LIBLUO_FUZZ_SECONDS, on a corpus kept in the
# build directory and seeded from tests/fuzz/corpus and regressions; a
# crash fails (its input is under $dir/fuzz-artifacts, to be minimised and
# kept in tests/fuzz/regressions: tests/README.md).
run_fuzzers() {
	local dir=$1 secs=${LIBLUO_FUZZ_SECONDS:-60} name work log rc status=0
	local sym=/usr/lib/llvm-14/bin/llvm-symbolizer
	[ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x "$sym" ] &&
		export ASAN_SYMBOLIZER_PATH=$sym
	mkdir -p "$dir/fuzz-artifacts"
	for name in fuzz-api fuzz-handoff; do
		work=$dir/fuzz-corpus/$name
		log=$dir/fuzz-artifacts/$name.log
		mkdir -p "$work"
		echo "=== run-tests: $name for $secs s"
		rc=0
		"$dir/tests/fuzz/$name" -max_total_time="$secs" -timeout=30 \
			-print_final_stats=1 \
			-artifact_prefix="$dir/fuzz-artifacts/$name-" \
			"$work" "$top/tests/fuzz/corpus/$name" \
			"$top/tests/fuzz/regressions/$name" >"$log" 2>&1 || rc=$?
		# libFuzzer's last status line has the coverage, its final
		# stats the executions
		grep -E '^#[0-9]+' "$log" | tail -n 1 |
			sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/  last: /'
		sed -n 's/^stat::number_of_executed_units: */  executions: /p;
			s/^stat::average_exec_per_sec: */  per second: /p' "$log"
		echo "  corpus: $(find "$work" -type f | wc -l) inputs in $work"
		if [ $rc -ne 0 ]; then
			echo "=== run-tests: $name FAILED (exit $rc); the end of $log:"
			tail -n 60 "$log"
			status=1
		fi
	done
	return $status
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
if [ $deb -eq 1 ]; then
	modes+=(deb)
	echo "=== run-tests: Debian packages in $root/deb"
	"$top/scripts/check-deb.sh" "$root/deb" || status=1
fi
summary "${dirs[@]}"
if [ $status -ne 0 ]; then
	echo "=== run-tests: FAILED (${modes[*]})"
	exit 1
fi
echo "=== run-tests: all passed (${modes[*]})"
