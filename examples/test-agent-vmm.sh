#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# agent-vmm across a kexec of a fake-kernel server: an agent and two VMM
# processes in boot 1, a new agent and new VMMs in boot 2.  No root.
#   test-agent-vmm.sh LUO-FAKE-SERVER AGENT-VMM
set -eu
server=$(realpath "$1") agent=$(realpath "$2")
dir=$(mktemp -d /tmp/agent-vmm-XXXXXX)
trap 'kill $spid 2>/dev/null || true; kill -- -$apid 2>/dev/null || true; rm -rf "$dir"' EXIT
export LIBLUO_FAKE="unix:$dir/fake.sock"

"$server" serve & spid=$!
wait_for() { # COMMAND...: up to 10 s
	i=0
	until "$@"; do
		i=$((i + 1)); [ $i -lt 1000 ] || { echo "not ok - timed out"; exit 1; }
		sleep 0.01
	done
}
wait_for "$server" status >/dev/null 2>&1

# boot 1: the agent and its VMMs, in a process group of their own
setsid "$agent" before 2 >"$dir/boot1" & apid=$!
vmms_preserved() { # the count is read on every try, not once
	test "$(grep -c 'guest memory preserved' "$dir/boot1")" = 2
}
wait_for grep -q ready "$dir/boot1"
wait_for vmms_preserved
"$server" kexec >/dev/null             # the live update...
kill -- -$apid; wait $apid 2>/dev/null || true # ...ends boot 1's processes
echo "ok 1 - boot 1: two VMMs preserved their memory in the agent's sessions"

# boot 2: a new agent finds the sessions in its predecessor's index
"$agent" after >"$dir/boot2"
cat "$dir/boot2" | sed 's/^/# /'
test "$(grep -c 'intact; session finished' "$dir/boot2")" = 2
echo "ok 2 - boot 2: the index listed both sessions, every byte came back"

"$server" stop; wait $spid
echo "1..2"
