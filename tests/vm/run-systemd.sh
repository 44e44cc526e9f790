#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The systemd guest: Debian sid's systemd as PID 1 on a real LUO kernel
# under QEMU, a service with LUOSession= and FileDescriptorStorePreserve=yes,
# a real 'systemctl kexec', and the verdict of the service after it.
# Exit 0 only if the guest reported a pass through isa-debug-exit.
#
# usage: run-systemd.sh [options] [BUILD_DIR]
#   BUILD_DIR          meson build dir; programs not given below are looked
#                      for in BUILD_DIR/tests/vm and BUILD_DIR/examples
#   --out-dir DIR      where the serial log and the disk image are kept
#                      (default: BUILD_DIR/tests/vm)
#   --service PATH     the unit's main program (default: the libluo example
#                      BUILD_DIR/examples/luo-fdstore-service if built, else
#                      the raw-ioctl stand-in BUILD_DIR/tests/vm/vm-systemd-probe)
#   --helper PATH      vm-helper (isa-debug-exit)
#   --kernel BZIMAGE   use this kernel instead of build-kernel.sh
#   --rootfs DIR       use this tree instead of build-rootfs.sh
#   --timeout SEC      hard limit for the QEMU run (default 900)
#   --seed N           data seed (default: random; printed)
#   --kexecs N         live updates in a row (default 1); the service's
#                      checks run after the first, later boots only
#                      report what they see (FACT: lines of the stand-in)
#   --append ARGS      more kernel command line
#   --qemu-arg ARG     one more QEMU argument (repeatable)
#
# The guest boots from an ext4 image made per run (mkfs.ext4 -d, no mount)
# from the cached tree plus: the kernel as /boot/vmlinuz (the guest kexecs
# into it), the service program and the libraries of the build dir it
# loads, vm-helper, examples/luo-fdstore-service.service with a drop-in
# naming the program, and the driver (systemd/luo-vm-driver{,.service}).
#
# Exit status: 0 pass, 1 fail, 77 skipped (not root and no --rootfs).
#
# Environment: LIBLUO_VM_CACHE etc. (see build-kernel.sh, build-rootfs.sh),
# LIBLUO_VM_SEED, LIBLUO_VM_TIMEOUT, LIBLUO_VM_VERBOSE=1 (print the serial
# log on success).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
die() { printf 'run-systemd: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'run-systemd: %s\n' "$*" >&2; }

build_dir= out_dir= service= helper= kernel= rootfs=
timeout=${LIBLUO_VM_TIMEOUT:-900}
seed=${LIBLUO_VM_SEED:-}
extra_append=
kexecs=1
qemu_extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --out-dir) out_dir=$2; shift ;;
    --service) service=$2; shift ;;
    --helper) helper=$2; shift ;;
    --kernel) kernel=$2; shift ;;
    --rootfs) rootfs=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --seed) seed=$2; shift ;;
    --kexecs) kexecs=$2; shift ;;
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
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"

if [ -z "$service" ]; then
    service=$build_dir/examples/luo-fdstore-service
    [ -x "$service" ] || service=$build_dir/tests/vm/vm-systemd-probe
fi
[ -x "$service" ] || die "service program '$service' not found (build it, or pass --service)"
helper=${helper:-$build_dir/tests/vm/vm-helper}
[ -x "$helper" ] || die "vm-helper not found at '$helper'"
unit_src=$top/examples/luo-fdstore-service.service
[ -r "$unit_src" ] || die "$unit_src not found"
# The program takes the unit's LUOSession= names as its arguments.
sessions=$(sed -n 's/^LUOSession=//p' "$unit_src" | tr '\n' ' ')
[ -n "$sessions" ] || die "$unit_src has no LUOSession="

# The tree is made by mmdebstrap as root and must hold root-owned files
# for mkfs.ext4 -d: without root (and without --rootfs) the test is
# skipped (77, meson's SKIP), not failed.
if [ -z "$rootfs" ] && [ "$(id -u)" != 0 ]; then
    log "SKIP: building the root file system needs root (or pass --rootfs DIR)"
    exit 77
fi

start=$(date +%s)
if [ -z "$kernel" ]; then
    kernel=$("$here/build-kernel.sh" | tail -n1) || die "could not get a kernel (see above)"
fi
[ -r "$kernel" ] || die "kernel '$kernel' not found"
kernel_done=$(date +%s)
if [ -z "$rootfs" ]; then
    rootfs=$("$here/build-rootfs.sh" | tail -n1) || die "could not get the root file system (see above)"
fi
[ -x "$rootfs/usr/lib/systemd/systemd" ] || die "'$rootfs' holds no systemd"
rootfs_done=$(date +%s)

# --- the disk: the cached tree plus this run's files --------------------------

seed=${seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# A hard-linked copy (fast; the cached files are only read, never written:
# everything added below is a new file), or a real copy across devices.
root=$out_dir/systemd-root
rm -rf "$root"
cp -al "$rootfs" "$root" 2>/dev/null || { rm -rf "$root"; cp -a "$rootfs" "$root"; }
add() { # MODE SRC DEST
    mkdir -p "$root$(dirname "$3")"
    rm -f "$root$3" # never write through a hard link into the cache
    install -m "$1" "$2" "$root$3"
}
add 0644 "$kernel" /boot/vmlinuz
add 0755 "$helper" /usr/local/bin/vm-helper
prog=/usr/libexec/libluo/$(basename "$service")
add 0755 "$service" "$prog"
# Libraries the program finds outside the system directories (libluo.so.1
# from the build dir, through its RUNPATH); the guest's own glibc serves
# the rest.
libdir=/usr/local/lib/libluo-vm
while read -r a b c _; do
    [ "$b" = "=>" ] && [ "${c:0:1}" = / ] || continue
    case $c in /lib/*|/usr/lib/*|/lib64/*) continue ;; esac
    add 0644 "$(readlink -f "$c")" "$libdir/$a"
done < <(ldd "$service" 2>/dev/null || true)
add 0755 "$here/systemd/luo-vm-driver" /usr/local/lib/luo-vm/luo-vm-driver
add 0644 "$here/systemd/luo-vm-driver.service" /etc/systemd/system/luo-vm-driver.service
add 0644 "$unit_src" /etc/systemd/system/luo-fdstore-service.service
# A machine ID of its own (mmdebstrap leaves the file empty, which makes
# systemd invent a new one at every boot, a kexec included).
mid=$(mktemp)
trap 'rm -f "$mid"' EXIT
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$mid"
echo >>"$mid"
add 0444 "$mid" /etc/machine-id
dropin=$(mktemp)
trap 'rm -f "$mid" "$dropin"' EXIT
cat >"$dropin" <<EOF
# run-systemd.sh: this run's program and libraries
[Service]
ExecStart=
ExecStart=$prog $sessions
Environment=LD_LIBRARY_PATH=$libdir LUO_EXAMPLE_SEED=$seed
EOF
add 0644 "$dropin" /etc/systemd/system/luo-fdstore-service.service.d/50-vm.conf
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
for u in luo-fdstore-service.service luo-vm-driver.service; do
    ln -sfn "/etc/systemd/system/$u" "$root/etc/systemd/system/multi-user.target.wants/$u"
done

img=$out_dir/systemd-disk.img
size_mb=$(( $(du -sm "$root" | cut -f1) + 256 ))
rm -f "$img"
mkfs.ext4 -q -F -L luo-root -d "$root" "$img" "${size_mb}M" ||
    die "mkfs.ext4 -d $root failed"
rm -rf "$root"
disk_done=$(date +%s)
log "disk image $img (${size_mb} MB) in $((disk_done - rootfs_done))s; service $(basename "$service")"

# --- boot -------------------------------------------------------------------------

serial=$out_dir/systemd-serial.log
timed=$out_dir/systemd-serial.timed.log
append="console=ttyS0 root=/dev/vda rw rootfstype=ext4 liveupdate=on kho=on panic=-1"
append+=" systemd.log_target=console systemd.journald.forward_to_console=1"
append+=" systemd.show_status=1 libluo.seed=$seed libluo.last=$((kexecs + 1))$extra_append"
log "kernel $kernel"
log "root file system $rootfs"
log "seed $seed (rerun with --seed $seed); serial log $serial; time limit ${timeout}s"

# The serial console through a pipe: every line goes to the log as it is
# and, with the host's time, to the stamped log that the timings come from.
t0=$EPOCHREALTIME
set +e
timeout -k 10 "$timeout" "$qemu" \
    -accel tcg -cpu max -m 1G -smp 1 \
    -display none -monitor none -serial stdio \
    -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -drive "file=$img,format=raw,if=virtio,cache=unsafe" \
    -kernel "$kernel" -append "$append" \
    ${qemu_extra[@]+"${qemu_extra[@]}"} </dev/null |
    while IFS= read -r line || [ -n "$line" ]; do
        printf '%s\n' "$line" >&3
        printf '%s %s\n' "$EPOCHREALTIME" "$line" >&4
    done 3>"$serial" 4>"$timed"
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s)

case $rc in
33) verdict="pass" ;;
3) verdict="the guest reported a failure" ;;
124|137) verdict="timed out after ${timeout}s" ;;
0) verdict="the guest kernel stopped without a verdict (panic or reset)" ;;
*) verdict="QEMU exited with status $rc" ;;
esac
if [ "$verdict" = pass ] && ! grep -q 'LIBLUO-VM: PASS' "$serial"; then
    verdict="exit status 33 but no PASS line in the serial log"
fi
if grep -qE 'WARNING:|BUG:|Oops|Call Trace:' "$serial"; then
    log "warning: the guest kernel reported problems:"
    grep -E -A3 'WARNING:|BUG:|Oops|Call Trace:' "$serial" | head -n 40 >&2
fi

# Timings from the stamped log: QEMU start -> boot 1's driver (the service
# is up) -> the last 'systemctl kexec' -> the last kernel's banner -> the
# verdict of the last boot.
stamp() { # PATTERN [NTH]: host time of the NTH line matching
    { grep -a -E "$1" "$timed" 2>/dev/null || true; } | sed -n "${2:-1}p" | cut -d' ' -f1
}
secs() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }' || echo "?"; }
t_ready1=$(stamp 'LIBLUO-VM: boot 1: luo-fdstore-service.service is')
t_kexec=$(stamp 'LIBLUO-VM: boot [0-9]+: kernel loaded' "$kexecs")
t_kernel2=$(stamp 'Linux version' $((kexecs + 1)))
t_verdict=$(stamp "LIBLUO-VM: boot $((kexecs + 1)): (PASS|FAIL)")
last_boot="boot $((kexecs + 1))"
timings="boot 1 $(secs "$t0" "$t_ready1"), kexec (systemctl kexec to the next kernel's banner) $(secs "$t_kexec" "$t_kernel2"), $last_boot $(secs "$t_kernel2" "$t_verdict"), VM $((end - disk_done))s"
summary="kernel $((kernel_done - start))s, root fs $((rootfs_done - kernel_done))s, disk $((disk_done - rootfs_done))s; $timings; total $((end - start))s"

if [ "$verdict" = pass ]; then
    [ "${LIBLUO_VM_VERBOSE:-0}" != 1 ] || cat "$serial"
    grep -a -E 'LIBLUO-VM: |FACT: |luo-fdstore-service|vm-systemd-probe' "$serial" | tr -d '\r' || true
    log "PASS ($summary)"
    exit 0
fi
echo "======== serial log ($serial) ========"
cat "$serial"
echo "======== end of serial log ========"
log "FAIL: $verdict ($summary)"
exit 1
