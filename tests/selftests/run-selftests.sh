#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The kernel's own LUO selftests, unmodified, against the fake-kernel
# server through the preload library (doc/fake-server.md): the judge of
# the fake.  TAP on stdout.
#
#   run-selftests.sh LUO-FAKE-SERVER LIBLUO-FAKE-PRELOAD.SO
#
# liveupdate runs once.  Each kexec test runs as on a real machine: stage
# 1; then the reboot, which here is the server's kexec command and the end
# of every process of stage 1 (its daemon holds the sessions, as the
# selftests' daemonize_and_wait() does); then stage 2 (-s 2).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server=$(realpath "$1")
preload=$(realpath "$2")
work=$(mktemp -d /tmp/luo-selftests-XXXXXX)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	kill_stage
	rm -rf "$work"
}
kill_stage() {
	local p
	[ -f "$work/pids" ] || return 0
	while read -r p; do
		kill -9 "$p" 2>/dev/null
	done <"$work/pids"
	rm -f "$work/pids"
}
trap cleanup EXIT

"$here/build-selftests.sh" "$work/bin"
rc=$?
if [ $rc -eq 77 ]; then
	echo "1..0 # SKIP no linux-source with the liveupdate selftests"
	exit 77
fi
[ $rc -eq 0 ] || { echo "Bail out! cannot build the selftests"; exit 1; }
echo "# selftests of $(cat "$work/bin/source")"

export LIBLUO_FAKE="unix:$work/fake.sock"
"$server" serve &
spid=$!
for i in $(seq 500); do
	"$server" status >/dev/null 2>&1 && break
	sleep 0.01
done

n=0
failed=0
result() { # name status [log]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1 (exit status $2)"
		[ -n "${3:-}" ] && sed 's/^/# /' "$3"
		failed=$((failed + 1))
	fi
}

run() { # log cmd...
	local log=$1
	shift
	LD_PRELOAD=$preload LUO_FAKE_PRELOAD_PIDFILE=$work/pids \
		timeout 300 "$@" >"$log" 2>&1
}

if [ -x "$work/bin/liveupdate" ]; then
	(cd "$work/bin" && run "$work/liveupdate.log" ./liveupdate)
	rc=$?
	grep -E '^(not )?ok |^# (PASSED|FAILED|Totals)' "$work/liveupdate.log" |
		sed 's/^/# /'
	result "liveupdate" $rc "$work/liveupdate.log"
	kill_stage
fi

for t in luo_kexec_simple luo_multi_session luo_stress_sessions \
	 luo_stress_files; do
	[ -x "$work/bin/$t" ] || continue
	(cd "$work/bin" && run "$work/$t.1.log" "./$t")
	rc=$?
	if [ $rc -ne 0 ]; then
		result "$t stage 1" $rc "$work/$t.1.log"
		kill_stage
		continue
	fi
	# the reboot: every descriptor handed out dies, and so does every
	# process of the old boot
	"$server" kexec >/dev/null || { result "$t kexec" 1; continue; }
	kill_stage
	(cd "$work/bin" && run "$work/$t.2.log" "./$t" -s 2)
	rc=$?
	grep -E 'PASSED|FAILED' "$work/$t.2.log" | sed 's/^/# /'
	result "$t (stage 1, kexec, stage 2)" $rc "$work/$t.2.log"
	kill_stage
done

"$server" stop >/dev/null
wait "$spid"
spid=
echo "1..$n"
[ $failed -eq 0 ]
