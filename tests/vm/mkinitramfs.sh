#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the initramfs of the libluo test VM: a gzip'd newc cpio holding
# Debian's static busybox, init (this directory), the plan of commands per
# stage, the kernel itself (the guest kexecs into it), the given programs
# and every shared library they load.
#
# usage: mkinitramfs.sh -o OUT -k BZIMAGE -p PLAN [-x PROGRAM]...
#   -o OUT      archive to write (gzip'd newc cpio)
#   -k BZIMAGE  kernel, stored as /boot/bzImage for kexec_file_load()
#   -p PLAN     plan file, stored as /etc/libluo-vm/plan (format: see init)
#   -x PROGRAM  a program, stored as /bin/<basename>; repeatable
#
# Libraries are found with ldd, so a program from a meson build dir brings
# libluo.so.1 from that dir (through its RUNPATH).  All libraries go to
# /lib/x86_64-linux-gnu under the name the program asks for, the dynamic
# loader to its own absolute path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { printf 'mkinitramfs: error: %s\n' "$*" >&2; exit 1; }

out= kernel= plan=
progs=()
while getopts o:k:p:x: opt; do
    case $opt in
    o) out=$OPTARG ;;
    k) kernel=$OPTARG ;;
    p) plan=$OPTARG ;;
    x) progs+=("$OPTARG") ;;
    *) die "usage: mkinitramfs.sh -o OUT -k BZIMAGE -p PLAN [-x PROGRAM]..." ;;
    esac
done
[ -n "$out" ] && [ -n "$kernel" ] && [ -n "$plan" ] ||
    die "usage: mkinitramfs.sh -o OUT -k BZIMAGE -p PLAN [-x PROGRAM]..."
[ -r "$kernel" ] || die "kernel '$kernel' not found"
[ -r "$plan" ] || die "plan '$plan' not found"

busybox=/bin/busybox
for tool in cpio gzip ldd; do
    command -v "$tool" >/dev/null || die "'$tool' is missing (Debian packages: cpio gzip libc-bin)"
done
[ -x "$busybox" ] || die "$busybox is missing: apt-get install busybox-static"
# Debian's plain 'busybox' package also installs /bin/busybox, dynamically
# linked; the guest has no libraries for it before init runs.
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked: apt-get install busybox-static"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,boot,dev,etc/libluo-vm,lib/x86_64-linux-gnu,proc,sys,tmp}

install -m 0755 "$here/init" "$stage/init"
install -m 0755 "$busybox" "$stage/bin/busybox"
# Applet links made here rather than by 'busybox --install' at boot, so
# the archive init re-packs for the next kernel is the one built here.
for applet in $("$busybox" --list); do
    [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
install -m 0644 "$plan" "$stage/etc/libluo-vm/plan"
install -m 0644 "$kernel" "$stage/boot/bzImage"

declare -A libs=()
for prog in "${progs[@]}"; do
    [ -f "$prog" ] && [ -x "$prog" ] || die "program '$prog' not found or not executable"
    install -m 0755 "$prog" "$stage/bin/$(basename "$prog")"
    # ldd prints "name => /path (addr)" for libraries and "/path (addr)"
    # for the loader; "not found" must stop us here, not in the guest.
    if ! deps=$(ldd "$prog" 2>&1); then
        continue # static program
    fi
    if grep -q 'not found' <<<"$deps"; then
        die "libraries of $prog not found:"$'\n'"$(grep 'not found' <<<"$deps")"
    fi
    while read -r a b c _; do
        if [ "$b" = "=>" ] && [ "${c:0:1}" = / ]; then
            libs[$a]=$c
        elif [ "${a:0:1}" = / ]; then
            libs[$a]=$a # the loader, at its absolute path
        fi
    done <<<"$deps"
done
for name in "${!libs[@]}"; do
    if [ "${name:0:1}" = / ]; then
        dest=$stage$name
    else
        dest=$stage/lib/x86_64-linux-gnu/$name
    fi
    mkdir -p "$(dirname "$dest")"
    # -L: the archive needs the file, not the host's symlink.
    cp -L "${libs[$name]}" "$dest"
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
    gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
printf 'mkinitramfs: wrote %s (%s bytes, %d programs, %d libraries)\n' \
    "$out" "$(stat -c %s "$out")" "${#progs[@]}" "${#libs[@]}" >&2
