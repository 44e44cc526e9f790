#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build (or fetch from cache) a small x86_64 kernel that has the Live Update
# Orchestrator, for the libluo VM tests.  Prints the bzImage path as the
# last (only) line on stdout; everything else goes to stderr.
#
# Why this way: Debian 12's own kernel predates LUO (merged for 6.19), so
# the source comes from Debian's newest linux-source-* package (searched in
# sid and trixie-backports), fetched with a private apt state so that
# the system's apt sources, lists and caches are never touched.
#
# Environment:
#   LIBLUO_VM_CACHE          cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/libluo-vm)
#   LIBLUO_VM_KCONFIG        config fragment (default: kernel.config beside this script)
#   LIBLUO_VM_KERNEL_REFRESH =1: ask the archive for a newer linux-source even
#                            when a cached kernel for this fragment exists
#   LIBLUO_VM_DEBIAN_MIRROR  default http://deb.debian.org/debian
#   LIBLUO_VM_DEBIAN_SUITES  suites to search; the newest package wins (default "sid trixie-backports")
#   LIBLUO_VM_JOBS           make -j (default: nproc)
#
# Cache layout ($LIBLUO_VM_CACHE):
#   apt/<suite>/...                 private apt lists and caches
#   debs/linux-source-*.deb         downloaded packages
#   src/<pkgversion>/linux-source-X.Y/   extracted source (reused by rebuilds)
#   kernels/<pkgversion>-<sha256(fragment)[0:16]>/bzImage (+ config, version)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=${LIBLUO_VM_KCONFIG:-$here/kernel.config}
cache=${LIBLUO_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libluo-vm}
mirror=${LIBLUO_VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
jobs=${LIBLUO_VM_JOBS:-$(nproc)}
# LUO's mainline ABI first shipped in 6.19.
min_upstream=6.19
# All searched: either can have the newest series, and either can be
# unreachable.
read -r -a suites <<<"${LIBLUO_VM_DEBIAN_SUITES:-sid trixie-backports}"

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { printf 'build-kernel: error: %s\n' "$*" >&2; exit 1; }

# --- preconditions ----------------------------------------------------------

[ -r "$fragment" ] || die "config fragment '$fragment' not found"
[ "$(uname -m)" = x86_64 ] || die "only an x86_64 build host is supported (have $(uname -m))"

# Name the Debian package for every missing tool, so the fix is one command.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need apt-get apt
need dpkg-deb dpkg
need make make
need gcc gcc
need flex flex
need bison bison
need bc bc
need perl perl
need xz xz-utils
need tar tar
need sha256sum coreutils
need flock util-linux
[ -e /usr/include/libelf.h ] || missing+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
    die "missing build dependencies; install them with: apt-get install ${missing[*]}"
fi

frag_sha=$(sha256sum "$fragment" | cut -c1-16)
mkdir -p "$cache"/{debs,src,kernels}

# One build at a time per cache (meson may start several tests at once; two
# concurrent 7-minute builds of the same tree would be wasted or corrupt).
exec 9>"$cache/.lock"
if ! flock -n 9; then
    log "waiting for another build-kernel.sh holding $cache/.lock"
    flock 9
fi

# Newest cached kernel built from this exact fragment, if any.
cached_kernel() {
    local d best= bestver=
    for d in "$cache"/kernels/*-"$frag_sha"; do
        [ -f "$d/bzImage" ] && [ -f "$d/pkgversion" ] || continue
        local v
        v=$(cat "$d/pkgversion")
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bestver"; then
            best=$d/bzImage
            bestver=$v
        fi
    done
    [ -n "$best" ] && printf '%s\n' "$best"
}

# The warm path: no network at all.  A newer archive kernel is only looked
# for on request, so runs are reproducible and work offline once cached.
if [ "${LIBLUO_VM_KERNEL_REFRESH:-0}" != 1 ] && k=$(cached_kernel); then
    log "using cached kernel $(cat "$(dirname "$k")/pkgversion") (fragment $frag_sha)"
    printf '%s\n' "$k"
    exit 0
fi

# --- find the newest linux-source-* >= 6.19 ---------------------------------

# apt-get/apt-cache with a private state.  Dir::Cache keeps apt from
# rewriting the system pkgcache.bin; SourceParts/Preferences from reading
# the system's sources and pins.
apt_private() {
    local suite=$1; shift
    local st=$cache/apt/$suite
    local opts=(
        -o "Dir::Etc::SourceList=$st/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o Dir::Etc::Preferences=/dev/null
        -o Dir::Etc::PreferencesParts=/dev/null
        -o "Dir::State::Lists=$st/lists"
        -o "Dir::Cache=$st/cache"
        -o "Dir::Cache::Archives=$st/archives"
        -o Acquire::Languages=none
        -o APT::Get::AllowUnauthenticated=false
        -q
    )
    # As root, apt would drop to the _apt user for downloads, which cannot
    # enter a cache below /root; stay root instead of warning about it.
    [ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
    "$@" "${opts[@]}"
}

# Sets pkg and pkgver for the newest suitable package in $1; fails otherwise.
pick_package() {
    local suite=$1 st=$cache/apt/$1
    mkdir -p "$st/lists/partial" "$st/cache" "$st/archives/partial"
    printf 'deb %s %s main\n' "$mirror" "$suite" >"$st/sources.list"
    log "updating package lists for $suite from $mirror"
    if ! apt_private "$suite" apt-get update >"$st/update.log" 2>&1; then
        log "apt-get update for $suite failed:"
        sed 's/^/    /' "$st/update.log" >&2
        return 1
    fi
    # apt-get update exits 0 even when a fetch failed; look for its errors.
    if grep -qE '^(E:|Err:)' "$st/update.log"; then
        log "apt-get update for $suite reported errors:"
        sed 's/^/    /' "$st/update.log" >&2
        return 1
    fi
    pkg= pkgver=
    local name ver upstream
    while read -r name; do
        # Only versioned source packages (linux-source-7.2), not the
        # unversioned metapackage.
        [[ $name =~ ^linux-source-([0-9]+\.[0-9]+)$ ]] || continue
        upstream=${BASH_REMATCH[1]}
        dpkg --compare-versions "$upstream" ge "$min_upstream" || continue
        ver=$(apt_private "$suite" apt-cache show --no-all-versions "$name" 2>/dev/null |
              sed -n 's/^Version: //p' | head -n1)
        [ -n "$ver" ] || continue
        if [ -z "$pkg" ] || dpkg --compare-versions "$ver" gt "$pkgver"; then
            pkg=$name
            pkgver=$ver
        fi
    done < <(apt_private "$suite" apt-cache pkgnames linux-source- | sort)
    if [ -z "$pkg" ]; then
        log "no linux-source-X.Y >= $min_upstream in $suite"
        return 1
    fi
    log "newest in $suite: $pkg $pkgver"
}

# The newest across every suite (trixie-backports can be ahead of sid):
# compare the upstream series first (linux-source-7.3 > 7.2), then the
# Debian version.
suite= best_pkg= best_ver=
for s in "${suites[@]}"; do
    pick_package "$s" || continue
    if [ -z "$suite" ] ||
       dpkg --compare-versions "${pkg#linux-source-}" gt "${best_pkg#linux-source-}" ||
       { [ "$pkg" = "$best_pkg" ] && dpkg --compare-versions "$pkgver" gt "$best_ver"; }; then
        suite=$s best_pkg=$pkg best_ver=$pkgver
    fi
done
pkg=$best_pkg pkgver=$best_ver
[ -z "$suite" ] || log "newest overall: $pkg $pkgver ($suite)"
if [ -z "$suite" ]; then
    # Network trouble should not strand a machine that already has a kernel.
    if k=$(cached_kernel); then
        log "warning: could not query the archive; using cached kernel"
        printf '%s\n' "$k"
        exit 0
    fi
    die "found no linux-source package >= $min_upstream in ${suites[*]} at $mirror (see messages above)"
fi

key=$pkgver-$frag_sha
out=$cache/kernels/$key
if [ -f "$out/bzImage" ]; then
    log "cached kernel $key is current"
    printf '%s\n' "$out/bzImage"
    exit 0
fi

# --- download (cached) ------------------------------------------------------

# apt-get download names the file NAME_VERSION_ARCH.deb with ':' as %3a.
deb=$(ls "$cache"/debs/"${pkg}_${pkgver//:/%3a}"_*.deb 2>/dev/null | head -n1 || true)
if [ -n "$deb" ] && ! dpkg-deb --info "$deb" >/dev/null 2>&1; then
    log "cached $deb is damaged; downloading again"
    rm -f "$deb"
    deb=
fi
if [ -z "$deb" ]; then
    log "downloading $pkg=$pkgver (about 150 MB)"
    dl=$(mktemp -d "$cache/debs/.dl.XXXXXX")
    if ! (cd "$dl" && apt_private "$suite" apt-get download "$pkg=$pkgver") >&2; then
        rm -rf "$dl"
        die "download of $pkg=$pkgver from $mirror ($suite) failed"
    fi
    deb=$(ls "$dl"/*.deb 2>/dev/null | head -n1 || true)
    [ -n "$deb" ] || { rm -rf "$dl"; die "apt-get download produced no .deb for $pkg"; }
    mv "$deb" "$cache/debs/"
    deb=$cache/debs/$(basename "$deb")
    rm -rf "$dl"
fi

# --- extract (cached) -------------------------------------------------------

srcroot=$cache/src/$pkgver
if [ ! -f "$srcroot/.complete" ]; then
    log "extracting $(basename "$deb")"
    rm -rf "$srcroot"
    mkdir -p "$srcroot/deb"
    dpkg-deb -x "$deb" "$srcroot/deb"
    tarball=$(ls "$srcroot"/deb/usr/src/linux-source-*.tar.* 2>/dev/null | head -n1 || true)
    [ -n "$tarball" ] || die "$deb holds no usr/src/linux-source-*.tar.*"
    tar -xf "$tarball" -C "$srcroot"
    rm -rf "$srcroot/deb"
    touch "$srcroot/.complete"
fi
src=$(ls -d "$srcroot"/linux-source-*/ 2>/dev/null | head -n1 || true)
[ -n "$src" ] && [ -f "$src/Makefile" ] || die "no kernel tree found under $srcroot"
src=${src%/}

# --- configure ---------------------------------------------------------------

build=$cache/build/$key
rm -rf "$build"
mkdir -p "$build"
buildlog=$build/build.log
kmake() { make -C "$src" O="$build" ARCH=x86_64 "$@"; }

log "configuring (tinyconfig + $(basename "$fragment")) in $build"
{
    kmake tinyconfig
    # -m: merge only; olddefconfig then resolves dependencies once.
    ARCH=x86_64 "$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment"
    kmake olddefconfig
} >"$buildlog" 2>&1 || { tail -n 40 "$buildlog" >&2; die "kernel configuration failed (log: $buildlog)"; }

# Kconfig drops options whose dependencies are unmet without a word; check
# every request in the fragment against the result.
bad=()
while IFS= read -r line; do
    if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
        grep -qxF "$line" "$build/.config" ||
            bad+=("${BASH_REMATCH[1]}: wanted ${BASH_REMATCH[2]}, got '$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$build/.config" || echo absent)'")
    elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        ! grep -qE "^${BASH_REMATCH[1]}=[ym]" "$build/.config" ||
            bad+=("${BASH_REMATCH[1]}: wanted unset, got '$(grep -E "^${BASH_REMATCH[1]}=" "$build/.config")'")
    fi
done <"$fragment"
if [ ${#bad[@]} -gt 0 ]; then
    log "the final .config does not honour the fragment:"
    printf '    %s\n' "${bad[@]}" >&2
    die "kernel config check failed (config: $build/.config)"
fi

# --- build -------------------------------------------------------------------

log "building bzImage with -j$jobs (several minutes; log: $buildlog)"
start=$(date +%s)
kmake -j"$jobs" bzImage >>"$buildlog" 2>&1 ||
    { tail -n 60 "$buildlog" >&2; die "kernel build failed (log: $buildlog)"; }
log "built in $(( $(date +%s) - start )) s"

# Publish atomically so an interrupted copy is never mistaken for a kernel.
tmp=$(mktemp -d "$cache/kernels/.new.XXXXXX")
chmod 755 "$tmp" # mktemp makes it private; the kernel is not secret
cp "$build/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$build/.config" "$tmp/config"
printf '%s\n' "$pkgver" >"$tmp/pkgversion"
kmake -s kernelrelease >"$tmp/kernelrelease" 2>/dev/null || true
rm -rf "$out"
mv "$tmp" "$out"
# The object tree is large and only useful for an identical rebuild, which
# the cache already spares us.
rm -rf "$build"
rmdir "$cache/build" 2>/dev/null || true

log "kernel $key ready"
printf '%s\n' "$out/bzImage"
