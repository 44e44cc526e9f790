#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what building and testing libluo needs on Debian 12 / Ubuntu,
# skipping what is already there.  Groups:
#   build  compiler, meson, ninja, pkg-config       (always)
#   test   python3, g++, groff and binutils for the checks, abigail-tools
#          for the ABI guard (default on; the C suites need nothing more:
#          tests/harness is ours)
#   vm     QEMU, busybox, the kernel build tools, and mmdebstrap and
#          e2fsprogs for the systemd guest  (meson test --suite vm)
#   fuzz   clang 14 with its sanitizer and libFuzzer runtimes, and
#          llvm-symbolizer for the reports  (-Dfuzz=true, run-tests --fuzz)
#   deb    debhelper, dpkg-dev and lintian, and the Build-Depends of
#          debian/control  (dpkg-buildpackage, run-tests --deb)
# Usage: scripts/install-deps.sh [build] [test] [vm] [fuzz] [deb]
#        (default: build test)
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

pkgs=()
for g in "${groups[@]}"; do
	case "$g" in
	build) pkgs+=(gcc libc6-dev meson ninja-build pkg-config) ;;
	test) pkgs+=(python3 g++ groff-base binutils abigail-tools) ;;
	vm) pkgs+=(qemu-system-x86 busybox-static cpio gzip xz-utils bc flex bison
		   mmdebstrap e2fsprogs
		   libelf-dev libssl-dev make apt dpkg ca-certificates) ;;
	fuzz) pkgs+=(clang-14 libclang-rt-14-dev llvm-14 clang) ;;
	deb) pkgs+=(build-essential debhelper dpkg-dev lintian meson ninja-build
		    pkg-config python3) ;;
	*) echo "install-deps: unknown group '$g' (build, test, vm, fuzz, deb)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
