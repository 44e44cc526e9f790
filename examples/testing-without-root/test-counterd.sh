#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# counterd and raw-session across a kexec, each boot a process of its own,
# on a fake-kernel server: no root, no LUO kernel.
#   test-counterd.sh LUO-FAKE-SERVER COUNTERD RAW-SESSION PRELOAD.SO
set -eu
server=$(realpath "$1") counterd=$(realpath "$2")
raw=$(realpath "$3") preload=$(realpath "$4")
dir=$(mktemp -d /tmp/counterd-XXXXXX)
trap 'kill $spid $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
export LIBLUO_FAKE="unix:$dir/fake.sock" # what luo_ctx_new() then uses

"$server" serve & spid=$!
wait_for() { # COMMAND...: up to 10 s
	i=0
	until "$@"; do
		i=$((i + 1)); [ $i -lt 1000 ] || exit 1; sleep 0.01
	done
}
wait_for "$server" status >/dev/null 2>&1

# boot 1: the daemon saves its counter and holds the session
"$counterd" save 42 >"$dir/out" & pid=$!
wait_for grep -q saved "$dir/out"
"$server" kexec >/dev/null     # the live update...
kill $pid; wait $pid || true   # ...which ends every process of boot 1
# boot 2: a new process restores it
test "$("$counterd" restore)" = 42
echo "ok 1 - counterd: the counter survived the kexec"

# a program with raw ioctls, unchanged, through the preload library (in a
# sanitizer build the program has the sanitizer's runtime, which must then
# accept a library loaded before it)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD=$preload "$raw" 1 >"$dir/raw" & pid=$!
wait_for grep -q held "$dir/raw"
"$server" kexec >/dev/null
kill $pid; wait $pid || true
test "$(LD_PRELOAD=$preload "$raw" 2)" = "carried by raw ioctls"
echo "ok 2 - raw-session: raw ioctls through the preload library"

"$server" stop; wait $spid
echo "1..2"
