#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# luoctl against the fake kernel (--fake): exit codes 0/1/2, output formats,
# error hints, hold's two ways of ending (command, signal), and restore
# after a simulated live update (--fake-incoming) to every kind of output.
#
# Usage: check-luoctl.sh PATH/TO/luoctl
set -u

luoctl=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libluo-luoctl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0
# expect STATUS [--out REGEX] [--err REGEX] -- ARGS...: run luoctl ARGS,
# check its exit status and that stdout/stderr match the extended REGEXes.
expect() {
	want=$1
	shift
	out_re= err_re=
	while [ "$1" != -- ]; do
		case $1 in
		--out) out_re=$2 ;;
		--err) err_re=$2 ;;
		esac
		shift 2
	done
	shift
	"$luoctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	ok=1
	[ "$got" = "$want" ] || ok=0
	[ -z "$out_re" ] || grep -Eq -- "$out_re" "$tmp/out" || ok=0
	[ -z "$err_re" ] || grep -Eq -- "$err_re" "$tmp/err" || ok=0
	if [ $ok = 1 ]; then
		echo "ok:   luoctl $* -> $got"
	else
		echo "FAIL: luoctl $*: exit $got (want $want)" \
			"${out_re:+stdout ~ /$out_re/}" "${err_re:+stderr ~ /$err_re/}"
		sed 's/^/    out: /' "$tmp/out"
		sed 's/^/    err: /' "$tmp/err"
		failures=$((failures + 1))
	fi
}

printf 'first file\n' >"$tmp/a"
printf 'second file\n' >"$tmp/b"

# usage
expect 0 --out '^Usage: luoctl' -- --help
expect 0 --out '^luoctl [0-9]' -- --version
expect 2 --err 'no command' --
expect 2 --err 'unknown command' -- frobnicate
expect 2 --err 'unknown ABI' -- --abi foo status
expect 2 -- --bogus-option status
expect 2 --err 'exclude' -- --fake --device /dev/null status
expect 2 --err 'session' -- --fake hold "$tmp/a"
expect 2 --err 'no FILE' -- --fake hold --session s
expect 2 -- --fake hold --session s --first-token nope "$tmp/a"
expect 2 --err 'pairs' -- --fake restore --session s --token 1
expect 2 --err 'no --output' -- --fake restore --session s --token 1 --token 2 --output x
expect 2 --err 'session' -- --fake finish
expect 2 --err 'unexpected' -- --fake state extra

# status and the original API
expect 0 --out '^abi: +mainline' -- --fake status
expect 0 --out '^state: +normal' -- --fake status
expect 0 --out '^abi: +rfc' -- --fake --abi rfc status
expect 0 --out '^normal$' -- --fake state
expect 0 --out '^normal$' -- --fake state --force
expect 0 --out '^prepared$' -- --fake --abi rfc prepare
expect 1 --err 'hint' -- --fake --abi rfc cancel
expect 1 --err 'mainline ABI' -- --fake prepare
expect 1 -- --fake finish-all
expect 1 --err 'hint: .*CONFIG_LIVEUPDATE' -- --device "$tmp/nonexistent" status
expect 1 --err 'hint: .*CONFIG_LIVEUPDATE' -- --device "$tmp/nonexistent" state

# sessions
expect 0 --out "^1	$tmp/a\$" -- --fake hold --session s "$tmp/a" "$tmp/b" -- true
expect 0 --out "^2	$tmp/b\$" -- --fake hold --session s "$tmp/a" "$tmp/b" -- true
expect 0 --out "^16	" -- --fake hold --session s --first-token 0x10 "$tmp/a" -- true
expect 0 --err 'released' -- --fake hold --session s "$tmp/a" -- true
expect 1 --err 'exited with status' -- --fake hold --session s "$tmp/a" -- false
expect 1 --err 'cannot run' -- --fake hold --session s "$tmp/a" -- "$tmp/nonexistent"
expect 1 --err 'hint' -- --fake hold --session libluo.mine "$tmp/a" -- true
expect 1 --err 'No such file' -- --fake hold --session s "$tmp/nonexistent" -- true
expect 1 --err 'retrieve' -- --fake restore --session s --token 1 --output "$tmp/out1"
if [ -e "$tmp/out1" ]; then
	echo "FAIL: a failed restore left $tmp/out1 behind"
	failures=$((failures + 1))
fi
expect 1 --err 'retrieve' -- --fake finish --session s
expect 1 --err 'nothing was retrieved' -- --fake restore --session s --token 1 --output "$tmp/nonexistent/x"
expect 1 --err 'mainline' -- --fake --abi rfc hold --session s "$tmp/a" -- true

# restore and finish after a (simulated) live update: --fake-incoming
# boots the fake kernel as if a previous boot had held the files.
expect 2 --err 'NAME=FILE' -- --fake --fake-incoming s status
expect 2 --err 'needs --fake' -- --fake-incoming "s=$tmp/a" status
expect 2 --err 'mainline' -- --fake --abi rfc --fake-incoming "s=$tmp/a" status
expect 1 --err 'No such file' -- --fake --fake-incoming "s=$tmp/nonexistent" status
expect 0 --err 'session "s" finished' -- --fake --fake-incoming "s=$tmp/a" finish --session s
expect 1 --err 'retrieve' -- --fake --fake-incoming "s=$tmp/a" finish --session other

# same FILE1 FILE2 WHAT: the bytes are the same, or a failure is counted
same() {
	if cmp -s "$1" "$2"; then
		echo "ok:   $3: the bytes came through"
	else
		echo "FAIL: $3: $2 differs from $1"
		failures=$((failures + 1))
	fi
}

# A regular file: created, or an existing longer one truncated.
printf 'an older and much longer content\n' >"$tmp/out2"
expect 0 --err 'session "s" finished' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s \
	--token 1 --output "$tmp/out1" --token 2 --output "$tmp/out2"
same "$tmp/a" "$tmp/out1" "restore to a new file"
same "$tmp/b" "$tmp/out2" "restore over a longer file"

# The session's record: labels (the FILE names hold and --fake-incoming
# give), the list before anything is retrieved, every token by label.
expect 0 --out "^2	incoming	$tmp/b\$" -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s --list \
	--label "$tmp/b" --output "$tmp/out3"
same "$tmp/b" "$tmp/out3" "restore --label"
expect 1 --err 'no such label' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --label nope --output "$tmp/out4"
mkdir "$tmp/all"
expect 0 --err 'session "s" finished' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s --all --output-dir "$tmp/all"
same "$tmp/a" "$tmp/all/$(echo "$tmp/a" | tr / _)" "restore --all (first)"
same "$tmp/b" "$tmp/all/$(echo "$tmp/b" | tr / _)" "restore --all (second)"
expect 2 --err 'output-dir' -- --fake restore --session s --all
expect 1 --err 'nothing was retrieved' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --all --output-dir "$tmp/nonexistent"
# the previous boot's sessions, from the index
expect 0 --out '^s$' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "t=$tmp/b" list
expect 0 --out '^t$' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "t=$tmp/b" list
expect 2 -- --fake list extra

# Outputs that cannot be truncated (ftruncate() fails EINVAL) were refused
# once the session was taken, which then was finished: the data was lost.
expect 0 -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --token 1 --output /dev/null
mkfifo "$tmp/fifo"
# (a reader that luoctl never unblocks gives up after 10 s)
timeout 10 cat "$tmp/fifo" >"$tmp/fifo.out" &
reader=$!
expect 0 -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --token 1 --output "$tmp/fifo"
wait $reader
same "$tmp/a" "$tmp/fifo.out" "restore to a FIFO"
for out in /dev/stdout -; do
	{
		"$luoctl" --fake --fake-incoming "s=$tmp/a" restore \
			--session s --token 1 --output "$out" \
			2>"$tmp/pipe.err" </dev/null
		echo $? >"$tmp/pipe.rc"
	} | cat >"$tmp/pipe.out"
	if [ "$(cat "$tmp/pipe.rc")" = 0 ]; then
		echo "ok:   luoctl restore --output $out | cat -> 0"
	else
		echo "FAIL: luoctl restore --output $out | cat: exit" \
			"$(cat "$tmp/pipe.rc") (want 0)"
		sed 's/^/    err: /' "$tmp/pipe.err"
		failures=$((failures + 1))
	fi
	same "$tmp/a" "$tmp/pipe.out" "restore --output $out to a pipe"
done

# A token not written out leaves the session unfinished (luoctl exits 1
# without finishing it), and does not stop the others.  The fake kernel
# dies with luoctl, so a second try cannot be tested here; see tests/vm.
expect 1 --err 'No space left' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --token 1 --output /dev/full
grep -q 'not finished: 1 of 1 tokens' "$tmp/err" ||
	{ echo "FAIL: /dev/full: no 'not finished'"; failures=$((failures + 1)); }
rm -f "$tmp/out2"
expect 1 --err 'not finished: 1 of 2 tokens' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s \
	--token 3 --output "$tmp/out1" --token 2 --output "$tmp/out2"
same "$tmp/b" "$tmp/out2" "restore goes on after a missing token"
expect 1 --err 'nothing was retrieved' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --token 1 --output "$tmp/nonexistent/x"
if grep -q 'finished' "$tmp/err"; then
	echo "FAIL: an output that cannot be opened: the session was taken"
	failures=$((failures + 1))
fi
# A reader that goes away: a write error (EPIPE), not death by SIGPIPE.
head -c 300000 /dev/zero >"$tmp/big"
{
	"$luoctl" --fake --fake-incoming "s=$tmp/big" restore --session s \
		--token 1 --output - 2>"$tmp/pipe.err" </dev/null
	echo $? >"$tmp/pipe.rc"
} | head -c 1 >/dev/null
if [ "$(cat "$tmp/pipe.rc")" = 1 ] && grep -q 'not finished' "$tmp/pipe.err"; then
	echo "ok:   luoctl restore --output - | head -c 1 -> 1"
else
	echo "FAIL: luoctl restore --output - | head -c 1: exit" \
		"$(cat "$tmp/pipe.rc") (want 1)"
	sed 's/^/    err: /' "$tmp/pipe.err"
	failures=$((failures + 1))
fi

# hold until a signal
"$luoctl" --fake hold --session sig "$tmp/a" >"$tmp/hold.out" 2>"$tmp/hold.err" &
pid=$!
i=0
until grep -q 'holding' "$tmp/hold.err" 2>/dev/null || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid"
wait "$pid"
got=$?
if [ $got = 0 ] && grep -q "^1	$tmp/a\$" "$tmp/hold.out" &&
   grep -q released "$tmp/hold.err"; then
	echo "ok:   luoctl --fake hold (SIGTERM) -> 0"
else
	echo "FAIL: luoctl --fake hold ended by SIGTERM: exit $got"
	sed 's/^/    /' "$tmp/hold.out" "$tmp/hold.err"
	failures=$((failures + 1))
fi

[ $failures = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all luoctl checks passed"
