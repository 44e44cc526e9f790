#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# luoctl hold in one process, the server's kexec, luoctl restore in another
# process: unchanged luoctl, pointed at a fake-kernel server by
# LIBLUO_FAKE=unix:PATH.  Usage: luoctl-server.sh LUO-FAKE-SERVER LUOCTL
set -eu
server=$(realpath "$1")
luoctl=$(realpath "$2")
dir=$(mktemp -d /tmp/luo-luoctl-XXXXXX)
trap 'kill $spid 2>/dev/null || true; rm -rf "$dir"' EXIT
export LIBLUO_FAKE="unix:$dir/fake.sock"

"$server" serve &
spid=$!
i=0
until "$server" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 500 ] || { echo "server did not start"; exit 1; }
	sleep 0.01
done

head -c 100000 /dev/urandom >"$dir/a"
printf 'hello, next kernel\n' >"$dir/b"
: >"$dir/empty"
(cd "$dir" && "$luoctl" hold --session luoctl-test a b empty \
	-- "$server" kexec) >"$dir/held"
echo "ok 1 - luoctl hold, kexec while holding"
cat "$dir/held"

mkdir "$dir/out"
"$luoctl" restore --session luoctl-test --list --all --output-dir "$dir/out"
for f in a b empty; do
	cmp "$dir/$f" "$dir/out/$f"
done
echo "ok 2 - luoctl restore in another process: every byte back"

# finished: the session is gone
if "$luoctl" restore --session luoctl-test --all --output-dir "$dir/out2" \
	2>/dev/null; then
	echo "not ok 3 - restore after finish succeeded"
	exit 1
fi
echo "ok 3 - the finished session is gone"
"$server" stop
wait $spid
echo "1..3"
