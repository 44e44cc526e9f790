#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build (or take from the cache) the root file system of the systemd guest:
# Debian sid with systemd as PID 1 and kexec-tools, made by mmdebstrap.
# Prints the directory as the last (only) line on stdout; everything else
# goes to stderr.  The directory is shared by every run: never write into
# it (run-systemd.sh makes a hard-linked copy and only adds new files).
#
# Why sid: LUOSession= arrived in systemd 262, which no stable release has.
#
# Environment:
#   LIBLUO_VM_CACHE          cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/libluo-vm)
#   LIBLUO_VM_ROOTFS_REFRESH =1: resolve sid's current package versions and
#                            build again if any changed, even when a cached
#                            tree for this script exists
#   LIBLUO_VM_DEBIAN_MIRROR  default http://deb.debian.org/debian
#
# Cache layout ($LIBLUO_VM_CACHE/rootfs):
#   apt/...                          private apt state (lists only; the
#                                    system's apt is never touched)
#   <recipe>-<versions>/root/        the tree; <recipe> is the sha256 of this
#                                    script (package list included), 16 hex;
#                                    <versions> the sha256 of the resolved
#                                    sid versions of everything installed
#   <recipe>-<versions>/packages     the resolved list
#
# Without LIBLUO_VM_ROOTFS_REFRESH, a tree for this recipe is used without
# any network access: a warm run is offline.
set -euo pipefail

suite=sid
# Essential:yes packages come with mmdebstrap's 'essential' variant; these
# on top.  systemd-sysv gives /sbin/init; kexec-tools the kexec command
# systemctl kexec relies on; mount (not Essential in sid) the tmp.mount
# unit.  No udev: the disk is the kernel's root device and nothing in the
# test needs device units.  No kmod either: the kernel has no modules, so
# the modprobe@ units are masked.
packages=(systemd systemd-sysv kexec-tools mount)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
cache=${LIBLUO_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libluo-vm}/rootfs
mirror=${LIBLUO_VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf 'build-rootfs: %s\n' "$*" >&2; }
die() { printf 'build-rootfs: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap's root mode, and the tree must hold root-owned files for mkfs.ext4 -d)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: scripts/install-deps.sh vm (or apt-get install mmdebstrap)"
command -v apt-get >/dev/null || die "apt-get is missing"

recipe=$(sha256sum "$self" | cut -c1-16)
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
    log "waiting for another build-rootfs.sh holding $cache/.lock"
    flock 9
fi

# Newest complete tree of this recipe.
cached_tree() {
    local d
    d=$(ls -dt "$cache/$recipe"-*/ 2>/dev/null | while read -r d; do
            [ -f "$d/.complete" ] && { printf '%s\n' "${d%/}"; break; }
        done)
    [ -n "$d" ] && printf '%s\n' "$d/root"
}

if [ "${LIBLUO_VM_ROOTFS_REFRESH:-0}" != 1 ] && t=$(cached_tree); then
    log "using cached root file system $(basename "$(dirname "$t")")"
    touch "$(dirname "$t")"
    printf '%s\n' "$t"
    exit 0
fi

# --- resolve the versions (private apt state) --------------------------------

st=$cache/apt
mkdir -p "$st/lists/partial" "$st/cache" "$st/archives/partial"
printf 'deb %s %s main\n' "$mirror" "$suite" >"$st/sources.list"
: >"$st/status"
apt_private() {
    local opts=(
        -o "Dir::Etc::SourceList=$st/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o Dir::Etc::Preferences=/dev/null
        -o Dir::Etc::PreferencesParts=/dev/null
        -o "Dir::State::Lists=$st/lists"
        -o "Dir::State::status=$st/status"
        -o "Dir::Cache=$st/cache"
        -o "Dir::Cache::Archives=$st/archives"
        -o APT::Architecture=amd64
        -o Acquire::Languages=none
        -q
    )
    [ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
    "$@" "${opts[@]}"
}
log "resolving $suite's package versions from $mirror"
if ! apt_private apt-get update >"$st/update.log" 2>&1 || grep -qE '^(E:|Err:)' "$st/update.log"; then
    sed 's/^/    /' "$st/update.log" >&2
    if t=$(cached_tree); then
        log "warning: could not reach the archive; using the cached root file system"
        printf '%s\n' "$t"
        exit 0
    fi
    die "apt-get update for $suite failed"
fi
# What the 'essential' variant installs (Essential: yes) plus our packages,
# with every dependency, as apt would resolve them on an empty system.
mapfile -t essential < <(apt_private apt-cache dumpavail |
    awk '/^Package: /{p=$2} /^Essential: yes/{print p}' | sort -u)
[ ${#essential[@]} -gt 0 ] || die "no Essential packages found in the $suite index"
resolved=$(apt_private apt-get -s --no-install-recommends install \
               "${essential[@]}" "${packages[@]}" 2>"$st/resolve.err" |
           sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' | sort) ||
    { cat "$st/resolve.err" >&2; die "apt could not resolve ${packages[*]} in $suite"; }
[ -n "$resolved" ] || { cat "$st/resolve.err" >&2; die "apt resolved nothing"; }
versions=$(printf '%s\n' "$resolved" | sha256sum | cut -c1-16)
out=$cache/$recipe-$versions
if [ -f "$out/.complete" ]; then
    log "cached root file system $recipe-$versions is current"
    touch "$out"
    printf '%s\n' "$out/root"
    exit 0
fi
log "systemd $(printf '%s\n' "$resolved" | awk '$1=="systemd"{print $2}') and $(printf '%s\n' "$resolved" | wc -l) packages"

# --- build ---------------------------------------------------------------------

tmp=$(mktemp -d "$cache/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
printf '%s\n' "$resolved" >"$tmp/packages"
log "mmdebstrap $suite (a few minutes; log: $tmp/mmdebstrap.log, kept on failure as $cache/mmdebstrap-failed.log)"
start=$(date +%s)
include=$(IFS=,; echo "${packages[*]}")
# Documentation is of no use in the guest and makes mkfs.ext4 -d slower.
# The customize hooks make the guest boot straight to multi-user.target on
# the serial console with nothing waiting for a terminal or the network.
# The chroot's apt does not read the host's apt.conf; carry over what
# decides whether the archive is reachable and acceptable (a mirror that
# serves a snapshot needs Check-Valid-Until "false", as the host's own
# configuration may say).
aptopts=()
while read -r key; do
    val=$(apt-config dump "$key" | sed -n "s/^$key \"\(.*\)\";\$/\1/p" | head -n1)
    [ -z "$val" ] || aptopts+=(--aptopt="$key \"$val\"")
done <<'EOF2'
Acquire::Check-Valid-Until
Acquire::Check-Date
Acquire::http::Proxy
Acquire::https::Proxy
EOF2
if ! mmdebstrap --mode=root ${aptopts[@]+"${aptopts[@]}"} --variant=essential --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='echo "LOAD_KEXEC=false" >"$1/etc/default/kexec"' \
    --customize-hook='echo luo-guest >"$1/etc/hostname"' \
    --customize-hook='echo 6c69626c756f2d766d2d67756573743a >"$1/etc/machine-id"' \
    --customize-hook=': >"$1/etc/fstab"' \
    --customize-hook='ln -sf /usr/lib/systemd/system/multi-user.target "$1/etc/systemd/system/default.target"' \
    --customize-hook='for u in getty.target serial-getty@ttyS0.service console-getty.service systemd-firstboot.service systemd-networkd.service systemd-networkd.socket systemd-resolved.service systemd-timesyncd.service kexec.service kexec-load.service modprobe@.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
    --customize-hook='mkdir -p "$1/etc/systemd/journald.conf.d" && printf "[Journal]\nStorage=volatile\nForwardToConsole=yes\nMaxLevelConsole=info\n" >"$1/etc/systemd/journald.conf.d/10-luo-vm.conf"' \
    --customize-hook='rm -rf "$1/var/cache/apt"/*.bin "$1/var/lib/apt/lists"/*_Packages' \
    "$suite" "$tmp/root" "$mirror" >"$tmp/mmdebstrap.log" 2>&1; then
    cp "$tmp/mmdebstrap.log" "$cache/mmdebstrap-failed.log"
    tail -n 40 "$tmp/mmdebstrap.log" >&2
    die "mmdebstrap failed (log: $cache/mmdebstrap-failed.log)"
fi
[ -x "$tmp/root/usr/lib/systemd/systemd" ] || die "the tree has no /usr/lib/systemd/systemd"
log "built in $(( $(date +%s) - start )) s ($(du -sm "$tmp/root" | cut -f1) MB)"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
# Older trees of this recipe are superseded; those of other recipes (other
# checkouts of this script) go once unused for a week (a use touches them).
for d in "$cache/$recipe"-*/; do
    [ "${d%/}" = "$out" ] || rm -rf "$d"
done
find "$cache" -mindepth 1 -maxdepth 1 -type d -name '*-*' -mtime +7 -exec rm -rf {} + 2>/dev/null || true
printf '%s\n' "$out/root"
