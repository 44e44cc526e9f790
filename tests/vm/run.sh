#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# From nothing to a verdict: get the LUO kernel (build-kernel.sh, cached),
# pack the guest programs into an initramfs (mkinitramfs.sh), boot it under
# QEMU with a hard time limit, and exit 0 only if the guest reported a pass
# through isa-debug-exit after its last stage.
#
# usage: run.sh [options] [BUILD_DIR]
#   BUILD_DIR            meson build dir; programs not given below are
#                        looked for in BUILD_DIR/tests/vm (default: .)
#   --out-dir DIR        where the serial log, plan and initramfs are kept
#                        (default: BUILD_DIR/tests/vm if it exists, else BUILD_DIR)
#   --stages PATH        the stage program (vm-stages), run as 'vm-stages N'
#   --probe PATH         the raw-ABI probe (vm-abi-probe), run as 'vm-abi-probe N'
#   --helper PATH        vm-helper (exit port and kexec)
#   --contract PATH      the contract suite (test-contract, TAP) run with
#                        LIBLUO_TEST_BACKEND=kernel while no session exists
#                        and nothing holds the device (default:
#                        BUILD_DIR/tests/contract/test-contract if it exists)
#   --contract-stage N   1: first thing in stage 1; 3 (default): last thing
#                        in stage 3, after everything was finished and closed.
#                        Under TCG, a boot that follows a stage which ran the
#                        suite stalls for minutes unpacking its initramfs, so
#                        stage 3 saves 2-3 minutes; both placements pass.
#   --no-contract        do not run the contract suite
#   --bench PATH         bench-vm-p1 (bench/, -Dbench=true): run first in
#                        stage 1, where nothing holds the device and no
#                        session exists; its 'LIBLUO-BENCH: ' lines are
#                        copied from the serial log to this script's output
#   --luoctl PATH        luoctl: 'hold' a file across the first kexec, then
#                        'restore' it and compare (default:
#                        BUILD_DIR/tools/luoctl if it exists)
#   --no-luoctl          do not run luoctl
#   --no-probe           do not run vm-abi-probe
#   --plan FILE          run this plan instead (see init); with --exe
#   --exe PATH           a program to put in the guest (repeatable; for --plan)
#   --kernel BZIMAGE     use this kernel instead of build-kernel.sh
#   --timeout SEC        hard limit for the QEMU run (default 900)
#   --seed N             data seed for the guest (default: random; printed)
#   --smp N              guest CPUs (default 1)
#   --append ARGS        more kernel command line (e.g. initcall_debug)
#   --qemu-arg ARG       one more QEMU argument (repeatable)
#
# Environment: LIBLUO_VM_CACHE etc. (see build-kernel.sh), LIBLUO_VM_SEED,
# LIBLUO_VM_TIMEOUT, LIBLUO_VM_VERBOSE=1 (print the serial log on success).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'run.sh: %s\n' "$*" >&2; }

build_dir= out_dir= stages= probe= helper= contract= plan= kernel= luoctl=
bench=
use_probe=1
use_luoctl=1
use_contract=1
contract_stage=3
exes=()
timeout=${LIBLUO_VM_TIMEOUT:-900}
seed=${LIBLUO_VM_SEED:-}
smp=1
extra_append=
qemu_extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --out-dir) out_dir=$2; shift ;;
    --stages) stages=$2; shift ;;
    --probe) probe=$2; shift ;;
    --helper) helper=$2; shift ;;
    --contract) contract=$2; shift ;;
    --no-probe) use_probe=0 ;;
    --no-contract) use_contract=0 ;;
    --bench) bench=$2; shift ;;
    --luoctl) luoctl=$2; shift ;;
    --no-luoctl) use_luoctl=0 ;;
    --contract-stage) contract_stage=$2; shift ;;
    --plan) plan=$2; shift ;;
    --exe) exes+=("$2"); shift ;;
    --kernel) kernel=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --seed) seed=$2; shift ;;
    --smp) smp=$2; shift ;;
    --append) extra_append="$extra_append $2"; shift ;;
    --qemu-arg) qemu_extra+=("$2"); shift ;;
    -h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$build_dir" ] || die "more than one BUILD_DIR given"; build_dir=$1 ;;
    esac
    shift
done
build_dir=${build_dir:-.}
[ -d "$build_dir" ] || die "build dir '$build_dir' does not exist"
if [ -z "$out_dir" ]; then
    out_dir=$build_dir
    [ -d "$build_dir/tests/vm" ] && out_dir=$build_dir/tests/vm
fi
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

qemu=qemu-system-x86_64
command -v "$qemu" >/dev/null || die "$qemu is missing: apt-get install qemu-system-x86"
command -v timeout >/dev/null || die "timeout is missing (coreutils)"

# A program named on the command line must exist; a default one is taken
# from the build dir.
find_prog() { # NAME GIVEN
    local p=${2:-$build_dir/tests/vm/$1}
    [ -x "$p" ] || die "$1 not found at '$p' (build it, or pass its path)"
    printf '%s\n' "$p"
}

plan_file=$out_dir/vm-plan.txt
if [ -n "$bench" ]; then
    [ -x "$bench" ] || die "benchmark '$bench' not found"
    exes+=("$bench") # with --plan, the plan decides whether it runs
fi
if [ -n "$plan" ]; then
    [ -r "$plan" ] || die "plan '$plan' not found"
    cp "$plan" "$plan_file"
    exes+=("$(find_prog vm-helper "$helper")")
else
    stages=$(find_prog vm-stages "$stages")
    helper=$(find_prog vm-helper "$helper")
    exes+=("$stages" "$helper")
    [ $use_probe = 0 ] || { probe=$(find_prog vm-abi-probe "$probe"); exes+=("$probe"); }
    if [ $use_contract = 0 ]; then
        contract=
    elif [ -z "$contract" ] && [ -x "$build_dir/tests/contract/test-contract" ]; then
        contract=$build_dir/tests/contract/test-contract
    fi
    [ -z "$contract" ] || { [ -x "$contract" ] || die "contract suite '$contract' not found"; exes+=("$contract"); }
    case $contract_stage in
    1|3) ;;
    *) die "--contract-stage must be 1 or 3" ;;
    esac
    # The contract suite must see a device with no session and no other
    # holder (it is single-open): before anything in stage 1, or after the
    # stage-3 programs, which finish and close everything and hold nothing.
    # (Its harness runs one test at a time; the device is single-open.)
    if [ $use_luoctl = 0 ]; then
        luoctl=
    elif [ -z "$luoctl" ] && [ -x "$build_dir/tools/luoctl" ]; then
        luoctl=$build_dir/tools/luoctl
    fi
    [ -z "$luoctl" ] || { [ -x "$luoctl" ] || die "luoctl '$luoctl' not found"; exes+=("$luoctl"); }
    # luoctl across a real kexec: 'hold' runs in the background through
    # the kexec (it closes the device once its session exists, so the
    # stage program can open it); stage 2 restores the file before
    # vm-stages opens the device, and compares it with the original.
    held=/etc/libluo-vm/plan
    luoctl_hold="1 luoctl hold --session vm.luoctl $held >/tmp/luoctl-hold.out & for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do grep -q plan /tmp/luoctl-hold.out 2>/dev/null && break; sleep 1; done; cat /tmp/luoctl-hold.out; grep -q plan /tmp/luoctl-hold.out"
    luoctl_restore="2 luoctl restore --session vm.luoctl --token 1 --output /tmp/luoctl-restored && cmp $held /tmp/luoctl-restored && echo 'luoctl: held file restored intact'"
    contract_line=
    [ -z "$contract" ] ||
        contract_line="$contract_stage env LIBLUO_TEST_BACKEND=kernel $(basename "$contract")"
    {
        echo "# generated by run.sh: STAGE COMMAND"
        [ "$contract_stage" != 1 ] || [ -z "$contract_line" ] || echo "$contract_line"
        # The benchmark opens the single-open device and creates thousands
        # of sessions: before anything holds either.  It closes all.
        [ -z "$bench" ] || echo "1 $(basename "$bench")"
        for s in 1 2 3; do
            [ -z "$probe" ] || echo "$s $(basename "$probe") $s"
            if [ -n "$luoctl" ]; then
                [ $s != 1 ] || echo "$luoctl_hold"
                [ $s != 2 ] || echo "$luoctl_restore"
            fi
            echo "$s $(basename "$stages") $s"
        done
        [ "$contract_stage" != 3 ] || [ -z "$contract_line" ] || echo "$contract_line"
    } >"$plan_file"
fi

start=$(date +%s)
if [ -z "$kernel" ]; then
    kernel=$("$here/build-kernel.sh" | tail -n1) || die "could not get a kernel (see above)"
fi
[ -r "$kernel" ] || die "kernel '$kernel' not found"
kernel_done=$(date +%s)

initrd=$out_dir/vm-initramfs.cpio.gz
mkargs=(-o "$initrd" -k "$kernel" -p "$plan_file")
for e in "${exes[@]}"; do mkargs+=(-x "$e"); done
"$here/mkinitramfs.sh" "${mkargs[@]}"

seed=${seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
serial=$out_dir/vm-serial.log
append="console=ttyS0 liveupdate=on kho=on panic=-1 libluo.stage=1 libluo.seed=$seed$extra_append"
log "kernel $kernel"
log "seed $seed (rerun with --seed $seed); serial log $serial; time limit ${timeout}s"

# -display none + a file serial instead of -nographic: nothing reads stdin
# in CI, and the log is what we keep.  isa-debug-exit carries the verdict.
set +e
timeout -k 10 "$timeout" "$qemu" \
    -accel tcg -m 1G -smp "$smp" \
    -display none -monitor none -serial "file:$serial" \
    -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$kernel" -initrd "$initrd" -append "$append" \
    ${qemu_extra[@]+"${qemu_extra[@]}"} </dev/null
rc=$?
set -e
end=$(date +%s)

# (0x10 << 1) | 1 = 33: init's pass.  (1 << 1) | 1 = 3: init's fail.
case $rc in
33) verdict="pass" ;;
3) verdict="the guest reported a failure" ;;
124|137) verdict="timed out after ${timeout}s" ;;
0) verdict="the guest kernel stopped without a verdict (panic or reset)" ;;
*) verdict="QEMU exited with status $rc" ;;
esac
# Both must agree: the exit status alone could come from a stray write.
if [ "$verdict" = pass ] && ! grep -q '^LIBLUO-VM: PASS' "$serial"; then
    verdict="exit status 33 but no PASS line in the serial log"
fi

# A kernel warning is not the guest's verdict, but nobody should miss it.
if grep -qE 'WARNING:|BUG:|Oops|Call Trace:' "$serial"; then
    log "warning: the guest kernel reported problems:"
    grep -E -A3 'WARNING:|BUG:|Oops|Call Trace:' "$serial" | head -n 40 >&2
fi

# The benchmark's figures, pass or fail (the serial console ends lines
# with CR LF).
if grep -q '^LIBLUO-BENCH: ' "$serial"; then
    echo "======== benchmark (from $serial) ========"
    grep '^LIBLUO-BENCH: ' "$serial" | tr -d '\r'
fi

summary="kernel ready in $((kernel_done - start))s, VM ran $((end - kernel_done))s, total $((end - start))s"
if [ "$verdict" = pass ]; then
    [ "${LIBLUO_VM_VERBOSE:-0}" != 1 ] || cat "$serial"
    grep -E '^LIBLUO-VM: |^vm-|^NOTE|all checks passed|^# test-contract: ' "$serial" || true
    log "PASS ($summary)"
    exit 0
fi
echo "======== serial log ($serial) ========"
cat "$serial"
echo "======== end of serial log ========"
log "FAIL: $verdict ($summary)"
exit 1
