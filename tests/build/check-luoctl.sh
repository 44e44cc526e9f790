#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# luoctl against the fake kernel (--fake): the exit statuses (0 to 5, and
# hold's COMMAND's), output formats, --json, error hints and the "luoctl: "
# prefix, per-command --help, global options after the command, hold's two
# ways of ending (command, signal) and its READY=1, RLIMIT_NOFILE, restore
# after a simulated live update (--fake-incoming) to every kind of output,
# and the bash completion.
#
# Usage: check-luoctl.sh PATH/TO/luoctl
# (python3, when there is one, parses the JSON and listens for READY=1.)
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
expect 3 --err 'hint: .*CONFIG_LIVEUPDATE' -- --device "$tmp/nonexistent" status
expect 3 --err 'hint: .*CONFIG_LIVEUPDATE' -- --device "$tmp/nonexistent" state

# sessions
expect 0 --out "^1	$tmp/a\$" -- --fake hold --session s "$tmp/a" "$tmp/b" -- true
expect 0 --out "^2	$tmp/b\$" -- --fake hold --session s "$tmp/a" "$tmp/b" -- true
expect 0 --out "^16	" -- --fake hold --session s --first-token 0x10 "$tmp/a" -- true
expect 0 --err 'released' -- --fake hold --session s "$tmp/a" -- true
expect 1 --err 'exited with status 1' -- --fake hold --session s "$tmp/a" -- false
expect 127 --err 'cannot run' -- --fake hold --session s "$tmp/a" -- "$tmp/nonexistent"
expect 1 --err 'hint' -- --fake hold --session libluo.mine "$tmp/a" -- true
expect 1 --err 'No such file' -- --fake hold --session s "$tmp/nonexistent" -- true
expect 5 --err 'retrieve' -- --fake restore --session s --token 1 --output "$tmp/out1"
if [ -e "$tmp/out1" ]; then
	echo "FAIL: a failed restore left $tmp/out1 behind"
	failures=$((failures + 1))
fi
expect 5 --err 'retrieve' -- --fake finish --session s
expect 1 --err 'nothing was retrieved' -- --fake restore --session s --token 1 --output "$tmp/nonexistent/x"
expect 1 --err 'mainline' -- --fake --abi rfc hold --session s "$tmp/a" -- true

# restore and finish after a (simulated) live update: --fake-incoming
# boots the fake kernel as if a previous boot had held the files.
expect 2 --err 'NAME=FILE' -- --fake --fake-incoming s status
expect 2 --err 'needs --fake' -- --fake-incoming "s=$tmp/a" status
expect 2 --err 'mainline' -- --fake --abi rfc --fake-incoming "s=$tmp/a" status
expect 1 --err 'No such file' -- --fake --fake-incoming "s=$tmp/nonexistent" status
expect 0 --err 'session "s" finished' -- --fake --fake-incoming "s=$tmp/a" finish --session s
expect 5 --err 'retrieve' -- --fake --fake-incoming "s=$tmp/a" finish --session other

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
expect 5 --err 'no such label' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --label nope --output "$tmp/out4"
mkdir "$tmp/all"
expect 0 --err 'session "s" finished' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s --all --output-dir "$tmp/all"
same "$tmp/a" "$tmp/all/$(echo "$tmp/a" | tr / _)" "restore --all (first)"
same "$tmp/b" "$tmp/all/$(echo "$tmp/b" | tr / _)" "restore --all (second)"
# one of the files exists already: nothing overwritten, nothing left behind
mkdir "$tmp/all2"
echo keep >"$tmp/all2/$(echo "$tmp/a" | tr / _)"
expect 1 --err 'nothing is overwritten' -- --fake --fake-incoming "s=$tmp/a" \
	--fake-incoming "s=$tmp/b" restore --session s --all --output-dir "$tmp/all2"
[ "$(ls "$tmp/all2")" = "$(echo "$tmp/a" | tr / _)" ] &&
	[ "$(cat "$tmp/all2/$(echo "$tmp/a" | tr / _)")" = keep ] ||
	{ echo "FAIL: restore --all over an existing file: $(ls "$tmp/all2")"
	  failures=$((failures + 1)); }
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
expect 5 --err 'not finished: 1 of 2 tokens' -- --fake --fake-incoming "s=$tmp/a" \
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

# hold until a signal; the documented line on stdout says when it holds
# hold_signal SIGNAL ARGS...: run luoctl ARGS in the background, wait for
# "holding" on its stdout, send SIGNAL; its exit status in $got.
hold_signal() {
	sig=$1
	shift
	# not the last run's output: the background job truncates it only
	# once it starts, and the loop below may look before
	rm -f "$tmp/hold.out" "$tmp/hold.err"
	"$luoctl" "$@" >"$tmp/hold.out" 2>"$tmp/hold.err" &
	pid=$!
	i=0
	until grep -q 'holding' "$tmp/hold.out" 2>/dev/null || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -"$sig" "$pid"
	wait "$pid"
	got=$?
}
hold_signal TERM --fake hold --session sig "$tmp/a"
if [ $got = 0 ] && grep -q "^1	$tmp/a\$" "$tmp/hold.out" &&
   [ "$(tail -n 1 "$tmp/hold.out")" = "holding	sig" ] &&
   grep -q released "$tmp/hold.err"; then
	echo "ok:   luoctl --fake hold (SIGTERM) -> 0"
else
	echo "FAIL: luoctl --fake hold ended by SIGTERM: exit $got"
	sed 's/^/    /' "$tmp/hold.out" "$tmp/hold.err"
	failures=$((failures + 1))
fi

# fail WHAT: count a failure of a check that is not an expect
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# ---- exit statuses: the table of luoctl(1) -------------------------------
printf 'not a device\n' >"$tmp/regular"
expect 3 --err '^luoctl: .*not a character device' -- --device "$tmp/regular" status
expect 3 --err 'Protocol error' -- --device "$tmp/regular" state
expect 3 --err 'CONFIG_LIVEUPDATE' -- --fake --fake-error open=ENOENT status
expect 3 -- --fake --fake-error open=ENODEV list
expect 3 -- --fake --fake-error open=ENXIO state
expect 3 -- --fake --fake-error open=EPROTO finish --session s
expect 4 --err 'hint: the device is single-open' -- --fake --fake-error open=EBUSY status
expect 4 -- --fake --fake-error open=16 hold --session s "$tmp/a" -- true
expect 4 -- --fake --fake-error open=EBUSY --fake-incoming "s=$tmp/a" \
	restore --session s --token 1 --output "$tmp/busy.out"
[ ! -e "$tmp/busy.out" ] || fail "a restore refused EBUSY left its output behind"
expect 1 -- --fake --fake-error open=EACCES status
expect 5 -- --fake --fake-incoming "s=$tmp/a" restore --session s --token 2 \
	--output "$tmp/out5"
expect 5 -- --fake --fake-incoming "s=$tmp/a" restore --session s --label nope \
	--output "$tmp/out5"
# a token not found and one not written: a plain failure
expect 1 --err 'not finished: 2 of 2' -- --fake --fake-incoming "s=$tmp/a" \
	restore --session s --token 2 --output "$tmp/out5" --token 1 --output /dev/full
# ENOENT elsewhere than a lookup is no "not found"; EBUSY elsewhere no "busy"
expect 1 -- --fake --fake-error preserve=ENOENT hold --session s "$tmp/a" -- true
expect 1 -- --fake --fake-error create-session=EBUSY hold --session s "$tmp/a" -- true
expect 1 -- --fake --fake-error retrieve-session=EIO --fake-incoming "s=$tmp/a" \
	finish --session s
expect 1 --err 'cannot finish' -- --fake --fake-error finish=EIO \
	--fake-incoming "s=$tmp/a" restore --session s --token 1 --output "$tmp/out5"
expect 2 --err 'not OP=ERRNO' -- --fake --fake-error open status
expect 2 --err 'not OP=ERRNO' -- --fake --fake-error frob=EIO status
expect 2 --err 'not OP=ERRNO' -- --fake --fake-error open=ENOTANERRNO status
expect 2 --err 'needs --fake' -- --fake-error open=EIO status
expect 0 --out '^  3  no LUO device' -- --help
expect 0 --out '^  5  no such session' -- --help

# ---- hold -- COMMAND: the command's exit status ---------------------------
printf '#!/bin/sh\n' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
expect 0 -- --fake hold --session s "$tmp/a" -- true
expect 3 --err 'exited with status 3' -- --fake hold --session s "$tmp/a" -- sh -c 'exit 3'
expect 42 -- --fake hold --session s "$tmp/a" -- sh -c 'exit 42'
expect 143 --err 'killed by signal 15' -- --fake hold --session s "$tmp/a" -- sh -c 'kill -TERM $$'
expect 137 -- --fake hold --session s "$tmp/a" -- sh -c 'kill -KILL $$'
expect 126 --err 'cannot run' -- --fake hold --session s "$tmp/a" -- "$tmp/noexec"
# a reader of its stdout that went away: still the command's status
{
	"$luoctl" --fake --json hold --session s "$tmp/a" -- sh -c 'sleep 0.5; exit 7' \
		2>/dev/null </dev/null
	echo $? >"$tmp/pipe.rc"
} | head -c 1 >/dev/null
[ "$(cat "$tmp/pipe.rc")" = 7 ] &&
	echo "ok:   luoctl hold --json -- ... | head -c 1 -> 7" ||
	{ echo "FAIL: hold --json | head -c 1: exit $(cat "$tmp/pipe.rc") (want 7)"
	  failures=$((failures + 1)); }
# the command runs while the session is held: its files are listed first
expect 0 --out '^holding	s$' -- --fake hold --session s "$tmp/a" -- true

# ---- per-command --help, global options after the command ------------------
for cmd in status hold restore list finish state prepare cancel finish-all; do
	expect 0 --out "^Usage: luoctl \[OPTIONS\] $cmd( |\$)" -- "$cmd" --help
	# only that command's block: its synopsis lines and nothing of another
	if [ "$(grep -c '^Usage:' "$tmp/out")" != 1 ] ||
	   grep -q '^Commands:' "$tmp/out" ||
	   grep 'luoctl \[OPTIONS\] ' "$tmp/out" | grep -qv "\] $cmd\( \|\$\)"; then
		fail "$cmd --help shows more than its own block"
		sed 's/^/    out: /' "$tmp/out"
	fi
done
expect 0 --out '^Usage: luoctl \[OPTIONS\] hold' -- --fake hold -h --session s
expect 0 --out '^Usage: luoctl \[OPTIONS\] COMMAND' -- --help status
expect 0 --out '^luoctl [0-9]' -- status --version
expect 0 --out '^abi: +mainline' -- status --fake
expect 0 --out '^abi: +rfc' -- status --abi rfc --fake
expect 0 --out '^abi: +rfc' -- status -a rfc -f
expect 0 --out '^prepared$' -- prepare --fake --abi=rfc
expect 0 --out '^normal$' -- state --fake --force
expect 0 --out "^1	$tmp/a\$" -- hold --session s "$tmp/a" --fake -- true
expect 0 --err 'session "s" finished' -- restore --session s --token 1 \
	--output "$tmp/late.out" --fake --fake-incoming "s=$tmp/a"
same "$tmp/a" "$tmp/late.out" "restore with the global options last"
expect 0 --out '^s$' -- list --fake-incoming "s=$tmp/a" --fake
expect 0 --err 'session "s" finished' -- finish --session s --fake \
	--fake-incoming "s=$tmp/a"
expect 2 --err 'exclude' -- status --fake --device /dev/null
expect 2 --err 'unknown ABI' -- status --fake --abi foo

# ---- one prefix: every line on stderr starts with "luoctl: " ---------------
prefixed() {
	"$luoctl" "$@" >/dev/null 2>"$tmp/err" </dev/null
	if grep -v '^luoctl: ' "$tmp/err" | grep -q .; then
		fail "luoctl $*: a line without the prefix:"
		sed 's/^/    err: /' "$tmp/err"
	else
		echo "ok:   luoctl $*: every stderr line has the prefix"
	fi
}
prefixed --bogus status
prefixed status --bogus
prefixed status -Z
prefixed --fake hold --session
prefixed --fake hold -s
prefixed --device
prefixed --fake restore --session s --token
prefixed frobnicate
prefixed --fake hold --session s "$tmp/a" -- sh -c 'exit 3'
prefixed --fake --fake-error open=EBUSY status
prefixed --device "$tmp/nonexistent" status
prefixed --fake --fake-incoming "s=$tmp/a" restore --session s --token 9 --output "$tmp/x"
# libluo's own log (LIBLUO_LOG) goes through luoctl: the same prefix
LIBLUO_LOG=debug "$luoctl" --fake --fake-incoming "s=$tmp/a" restore --session s \
	--token 1 --output "$tmp/log.out" >/dev/null 2>"$tmp/err" </dev/null
if grep -q 'libluo.*luo_session_retrieve' "$tmp/err" &&
   ! grep -v '^luoctl: ' "$tmp/err" | grep -q .; then
	echo "ok:   LIBLUO_LOG=debug: every stderr line has the prefix"
else
	fail "LIBLUO_LOG=debug: a line without the prefix, or no log"
	sed 's/^/    err: /' "$tmp/err"
fi
expect 2 --err "^luoctl: status: unknown or ambiguous option '--bogus'" -- status --bogus
expect 2 --err "^luoctl: hold: option '--session' needs an argument" -- --fake hold --session
expect 2 --err "^luoctl: hold: option '-s' needs an argument" -- --fake hold -s
expect 2 --err "^luoctl: unknown option '-Z'" -- -Z status
expect 2 --err "^luoctl: try 'luoctl hold --help'" -- --fake hold

# ---- RLIMIT_NOFILE: luoctl raises its soft limit, its command does not see
# it raised.
hard=$(sh -c 'ulimit -Hn')
if [ "$hard" = unlimited ] || [ "$hard" -gt 64 ]; then
	# (luoctl lowers its limit for the spawn, then raises it again: the
	# command waits for that)
	sh -c 'ulimit -Sn 64 && exec "$@"' sh "$luoctl" --fake hold --session s "$tmp/a" \
		-- sh -c 'ulimit -Sn; for i in 1 2 3 4 5 6 7 8 9 10; do
			l=$(grep "^Max open files" /proc/$PPID/limits); set -- $l
			[ "$4" = "$5" ] && break; sleep 0.2; done; echo "$l"' \
		>"$tmp/nofile.out" 2>"$tmp/nofile.err"
	got=$?
	soft=$(awk '/^Max open files/ { print $4 }' "$tmp/nofile.out")
	hlim=$(awk '/^Max open files/ { print $5 }' "$tmp/nofile.out")
	if [ $got = 0 ] && [ "$soft" = "$hlim" ] && [ "$soft" != 64 ] &&
	   grep -qx 64 "$tmp/nofile.out"; then
		echo "ok:   RLIMIT_NOFILE raised to $soft in luoctl, 64 in its command"
	else
		fail "RLIMIT_NOFILE: exit $got, luoctl's soft $soft (hard $hlim)"
		sed 's/^/    /' "$tmp/nofile.out" "$tmp/nofile.err"
	fi
else
	echo "skip: RLIMIT_NOFILE: the hard limit ($hard) leaves nothing to raise"
fi

# ---- --json ------------------------------------------------------------------
if command -v python3 >/dev/null 2>&1; then
	have_python=1
else
	have_python=0
	echo "skip: no python3: the JSON is not parsed, READY=1 not listened for"
fi

# json_check WHAT PYTHON: every line of $tmp/out is a JSON object with a
# "type"; PYTHON, an expression over objs (the list of them), is true.
json_check() {
	[ $have_python = 1 ] || return 0
	if python3 - "$tmp/out" "$2" <<'PY'
import json, sys
objs = []
with open(sys.argv[1], "rb") as f:
    for line in f:
        o = json.loads(line)          # bytes: must be UTF-8
        assert isinstance(o, dict) and isinstance(o.get("type"), str), line
        objs.append(o)
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
	then
		echo "ok:   $1: JSON"
	else
		fail "$1: JSON: $2"
		sed 's/^/    out: /' "$tmp/out"
	fi
}

expect 0 -- --fake --json status
json_check "status" 'objs == [{"type": "status", "device": None, "fake": True, "present": True, "rdev": None, "open": True, "abi": "mainline", "state": "normal", "state_queried": True}]'
expect 3 -- --json --device "$tmp/nonexistent" status
json_check "status without a device" 'len(objs) == 2 and objs[0]["present"] is False and objs[0]["open"] is False and objs[1]["type"] == "error" and objs[1]["error"] == "no-device" and objs[1]["exit"] == 3 and objs[1]["errno_name"] == "ENOENT" and "CONFIG_LIVEUPDATE" in objs[1]["hint"]'
expect 4 -- --fake --fake-error open=EBUSY status -j
json_check "status, device busy" 'objs[-1]["error"] == "busy" and objs[-1]["exit"] == 4 and objs[-1]["errno"] == 16 and objs[-1]["command"] == "status"'
expect 0 -- --fake --json hold --session s "$tmp/a" "$tmp/b" -- true
json_check "hold" '[o["type"] for o in objs] == ["preserved", "preserved", "holding", "released"] and objs[1]["token"] == 2 and objs[1]["file"] == sys.argv[1][:-3] + "b" and objs[2]["session"] == "s" and objs[2]["files"] == 2 and objs[2]["notified"] is False and objs[3]["command_status"] == 0'
expect 3 -- --fake --json hold --session s "$tmp/a" -- sh -c 'exit 3'
json_check "hold, command exits 3" 'objs[-1]["type"] == "released" and objs[-1]["command_status"] == 3 and objs[-1]["command_signal"] is None'
expect 143 -- --fake --json hold --session s "$tmp/a" -- sh -c 'kill -TERM $$'
json_check "hold, command killed" 'objs[-1]["command_signal"] == 15 and objs[-1]["command_status"] is None'
expect 127 -- --fake --json hold --session s "$tmp/a" -- "$tmp/nonexistent"
json_check "hold, command not found" '[o["type"] for o in objs] == ["preserved", "holding", "error", "released"] and objs[2]["exit"] == 127 and objs[2]["errno_name"] == "ENOENT" and objs[3]["command_status"] == 127'
hold_signal INT --fake --json hold --session s "$tmp/a"
cp "$tmp/hold.out" "$tmp/out"
[ $got = 0 ] || fail "hold --json ended by SIGINT: exit $got"
json_check "hold ended by SIGINT" '[o["type"] for o in objs] == ["preserved", "holding", "released"] and objs[2]["signal"] == 2 and objs[2]["command_status"] is None'
expect 0 -- --fake --json --fake-incoming "s=$tmp/a" --fake-incoming "s=$tmp/b" \
	restore --session s --list --token 1 --output "$tmp/j1" --label "$tmp/b" --output "$tmp/j2"
json_check "restore" '[o["type"] for o in objs] == ["token", "token", "restored", "restored", "finished"] and sorted(o["token"] for o in objs[:2]) == [1, 2] and all(o["state"] == "incoming" for o in objs[:2]) and objs[3]["token"] == 2 and objs[3]["bytes"] == 12 and objs[3]["label"] == sys.argv[1][:-3] + "b" and objs[4]["tokens"] == 2'
same "$tmp/b" "$tmp/j2" "restore --json --label"
expect 5 -- --fake --json --fake-incoming "s=$tmp/a" restore --session s --token 7 --output "$tmp/j3"
json_check "restore, no such token" 'objs[0]["type"] == "error" and objs[0]["exit"] == 5 and objs[0]["error"] == "not-found" and objs[-1]["exit"] == 5 and "not finished" in objs[-1]["message"]'
expect 5 -- --fake --json restore --session nope --token 1 --output "$tmp/j3"
json_check "restore, no such session" 'objs == [dict(objs[0], type="error", error="not-found", exit=5, errno=2, errno_name="ENOENT", command="restore")]'
expect 2 --err 'stdout' -- --fake --json --fake-incoming "s=$tmp/a" restore --session s --token 1 --output -
json_check "restore --output - --json" 'objs[0]["error"] == "usage" and objs[0]["exit"] == 2 and objs[0]["errno"] == 0 and objs[0]["errno_name"] is None'
expect 0 -- --fake --json --fake-incoming "s=$tmp/a" --fake-incoming "t=$tmp/b" list
json_check "list" 'sorted(o["name"] for o in objs) == ["s", "t"] and all(o["type"] == "session" for o in objs)'
expect 0 -- --fake --json --fake-incoming "s=$tmp/a" finish --session s
json_check "finish" 'objs == [{"type": "finished", "session": "s"}]'
expect 0 -- --fake --json state
json_check "state" 'objs == [{"type": "state", "state": "normal"}]'
expect 0 -- --fake --abi rfc --json prepare
json_check "prepare" 'objs == [{"type": "state", "state": "prepared"}]'
expect 1 -- --fake --abi rfc --json cancel
json_check "cancel" 'objs[0]["type"] == "error" and objs[0]["exit"] == 1 and objs[0]["command"] == "cancel"'
expect 1 -- --fake --json finish-all
json_check "finish-all" 'objs[0]["type"] == "error" and objs[0]["command"] == "finish-all"'
expect 1 -- --fake --json prepare
json_check "prepare on the mainline ABI" 'objs[0]["errno_name"] == "EOPNOTSUPP" and objs[0]["hint"]'
expect 2 -- --json --fake hold --session s
json_check "usage error" 'objs == [dict(objs[0], type="error", error="usage", exit=2, command="hold")] and "no FILE" in objs[0]["message"]'
expect 2 -- --json frobnicate
json_check "unknown command" 'objs[0]["error"] == "usage" and objs[0]["command"] is None'

# Escaping: quotes, backslashes, control characters, UTF-8 and bytes that
# are not UTF-8, in file names (labels) and session names.
if [ $have_python = 1 ]; then
	weird=$(printf '%s/q"b\\s\tt\001x\177\303\251\377\300\257end' "$tmp")
	printf 'weird\n' >"$weird"
	expect 0 -- --fake --json hold --session 'x"\y' "$weird" -- true
	printf '%s' "$weird" >"$tmp/out.name"
	json_check "escaping: the names come back byte for byte" 'objs[0]["session"] == "x\"\\y" and objs[0]["file"].encode("utf-8", "surrogateescape") == open(sys.argv[1] + ".name", "rb").read()'
	if grep -q '\\u0001' "$tmp/out" && grep -q '\\u007f' "$tmp/out" &&
	   grep -q '\\t' "$tmp/out" && grep -q '\\udcff' "$tmp/out" &&
	   grep -q '\\udcc0\\udcafend' "$tmp/out" && grep -q 'é' "$tmp/out" &&
	   ! LC_ALL=C grep -q "$(printf '\001')" "$tmp/out"; then
		printf '%s\n' 'ok:   escaping: \u0001 \u007f \t \udcXX, é as it is'
	else
		fail "escaping: the bytes are not written as documented"
		sed 's/^/    out: /' "$tmp/out"
	fi
	expect 0 -- --fake --json --fake-incoming "s=$weird" restore --session s --list \
		--label "$weird" --output "$tmp/weird.out"
	json_check "escaping: --list and restored" 'objs[0]["label"].encode("utf-8", "surrogateescape") == open(sys.argv[1] + ".name", "rb").read() and objs[1]["type"] == "restored"'
	same "$weird" "$tmp/weird.out" "restore --label with a weird name"
fi

# ---- hold tells a supervisor: READY=1 over $NOTIFY_SOCKET ------------------
# notify_check WHAT ADDRESS LUOCTL-ARGS...: bind a datagram socket at
# ADDRESS (a path, or @abstract), run luoctl with NOTIFY_SOCKET=ADDRESS,
# and check what it received.
notify_check() {
	[ $have_python = 1 ] || return 0
	what=$1
	shift
	if python3 - "$@" >"$tmp/notify.out" 2>&1 <<'PY'
import os, socket, subprocess, sys
addr, luoctl = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=addr)
p = subprocess.Popen([luoctl] + sys.argv[3:], env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
msg = s.recv(4096).decode()
out, err = p.communicate(timeout=20)
print("message:", repr(msg))
print("stdout:", out.decode(), "stderr:", err.decode(), sep="\n")
lines = msg.split("\n")
ok = ("READY=1" in lines and "MAINPID=%d" % p.pid in lines and
      p.returncode == 0 and b"holding\ts\n" in out)
# the files were preserved before READY=1: they were printed first
ok = ok and out.index(b"holding") > out.index(b"\t")
sys.exit(0 if ok else 1)
PY
	then
		echo "ok:   $what"
	else
		fail "$what"
		sed 's/^/    /' "$tmp/notify.out"
	fi
}
notify_check "READY=1 to a socket path" "$tmp/notify.sock" "$luoctl" \
	--fake hold --session s "$tmp/a" -- true
notify_check "READY=1 to an abstract socket" "@libluo-luoctl-$$" "$luoctl" \
	--fake hold --session s "$tmp/a" "$tmp/b" -- true
# nobody listens: a warning, and the hold goes on
NOTIFY_SOCKET=$tmp/nobody.sock "$luoctl" --fake hold --session s "$tmp/a" -- true \
	>"$tmp/out" 2>"$tmp/err"
got=$?
if [ $got = 0 ] && grep -q '^luoctl: warning: cannot notify' "$tmp/err" &&
   grep -q '^holding	s$' "$tmp/out"; then
	echo "ok:   a NOTIFY_SOCKET nobody listens on: a warning"
else
	fail "a NOTIFY_SOCKET nobody listens on: exit $got"
	sed 's/^/    /' "$tmp/out" "$tmp/err"
fi
if [ $have_python = 1 ]; then
	rm -f "$tmp/notify.sock"
	if python3 - "$tmp/notify.sock" "$luoctl" --fake --json hold --session s \
		"$tmp/a" -- true >"$tmp/notify.out" 2>&1 <<'PY'
import os, socket, subprocess, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
env = dict(os.environ, NOTIFY_SOCKET=sys.argv[1])
out = subprocess.run(sys.argv[2:], env=env, stdout=subprocess.PIPE).stdout
objs = [json.loads(l) for l in out.splitlines()]
print(objs)
h = [o for o in objs if o["type"] == "holding"]
sys.exit(0 if len(h) == 1 and h[0]["notified"] is True else 1)
PY
	then
		echo "ok:   hold --json with NOTIFY_SOCKET: notified"
	else
		fail "hold --json with NOTIFY_SOCKET"
		sed 's/^/    /' "$tmp/notify.out"
	fi
fi

# ---- the bash completion ------------------------------------------------------
completion=$(dirname "$0")/../../tools/luoctl/luoctl.bash-completion
if ! command -v bash >/dev/null 2>&1; then
	echo "skip: no bash: the completion is not tried"
elif [ ! -f "$completion" ]; then
	fail "no bash completion at $completion"
else
	"$luoctl" --help >"$tmp/help"
	for cmd in status hold restore list finish state prepare cancel finish-all; do
		"$luoctl" "$cmd" --help >"$tmp/help.$cmd"
	done
	if bash -s "$completion" "$tmp" >"$tmp/completion.out" 2>&1 <<'BASH'
. "$1"
tmp=$2
failed=0
# complete WORDS...: COMPREPLY for the last word
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_luoctl
	printf '%s\n' "${COMPREPLY[@]}"
}
want() {  # want "EXPECTED LINES" WORDS...
	local exp=$1 got
	shift
	got=$(complete_words "$@")
	if [ "$got" != "$exp" ]; then
		echo "completing [$*]: got [$got], want [$exp]"
		failed=1
	fi
}
has() {  # has WORD WORDS...: WORD is among the answers
	local w=$1
	shift
	complete_words "$@" | grep -qx -- "$w" ||
		{ echo "completing [$*]: no $w"; failed=1; }
}
# every command of --help, and no other
cmds=$(sed -n '/^Commands:/,/^Exit status:/p' "$tmp/help" |
       sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u)
got=$(complete_words luoctl '' | sort)
[ "$cmds" = "$got" ] || { echo "commands: [$got] vs --help [$cmds]"; failed=1; }
# every option in each command's usage line, and the global ones
for f in "$tmp"/help.*; do
	cmd=${f##*/help.}
	for o in $(sed -n 's/^Usage: luoctl \[OPTIONS\] //p; s/^       luoctl \[OPTIONS\] //p' "$f" |
		   grep -o -- '--[a-z][a-z-]*' | sort -u); do
		has "$o" luoctl "$cmd" "${o%${o#--?}}"
	done
	has --json luoctl "$cmd" --j
	has --fake luoctl --fake "$cmd" --fa
done
for o in $(sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z-]*\).*/\2/p' "$tmp/help" | sort -u); do
	has "$o" luoctl "${o%${o#--?}}"
done
want "$(printf 'auto\nmainline\nrfc')" luoctl --abi ''
want mainline luoctl status --abi m
want mainline luoctl --abi = m
want --abi=mainline luoctl --abi=m
want open= luoctl --fake-error op
want open=EBUSY luoctl --fake-error open=EB
want EBUSY luoctl --fake-error open = EB
has =EBUSY luoctl --fake-error open =
want "" luoctl --session ''
mkdir "$tmp/cdir"
: >"$tmp/cdir/one file"
want "$tmp/cdir/one file" luoctl --fake hold --session s "$tmp/cdir/o"
want "$tmp/cdir/one file" luoctl --fake hold -- ls "$tmp/cdir/o"
want "s=$tmp/cdir/one file" luoctl --fake-incoming "s=$tmp/cdir/o"
want "$tmp/cdir" luoctl restore --all --output-dir "$tmp/cd"
has - luoctl restore --session s --token 1 --output ''
want --force luoctl state --fo
want "" luoctl restore --session ''
exit $failed
BASH
	then
		echo "ok:   bash completion"
	else
		fail "bash completion"
		sed 's/^/    /' "$tmp/completion.out"
	fi
fi

[ $failures = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all luoctl checks passed"
