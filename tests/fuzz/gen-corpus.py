#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the seed corpus of the fuzz targets from readable programs.

  gen-corpus.py [OUTDIR]     (default: the corpus/ folder next to this file)

Each seed below is a list of steps in the encoding fuzz-api.c and
fuzz-handoff.c decode (their header comments are the reference); the
files are rewritten from scratch.  To see what an input (a seed, a crash)
does, run it with the trace on:

  LIBLUO_FUZZ_TRACE=1 build/tests/fuzz/fuzz-api-driver FILE
"""

import os
import struct
import sys

# ---- fuzz-api ---------------------------------------------------------------

OPS = [
    "CTX_NEW", "CTX_REF", "CTX_UNREF", "CTX_CLOSE_DEVICE",
    "SESS_CREATE", "SESS_RETRIEVE", "SESS_PRESERVE",
    "SESS_RETRIEVE_FD", "SESS_FINISH", "SESS_CLOSE", "SESS_QUERY",
    "GET_STATE", "FD_PRESERVE", "FD_UNPRESERVE", "FD_RESTORE",
    "PREPARE", "CANCEL", "FINISH", "TOKEN_QUERY",
    "SEND", "RECV", "ADOPT", "RAW_SEND",
    "KEXEC", "INJECT", "LIMITS", "MEMFD", "CLOSE_FD", "RESIZE_FD",
]
OP = {name: i for i, name in enumerate(OPS)}

ABI = {"auto": 0, "mainline": 1, "rfc": 2}
SOCK = {"seqpacket": 0, "dgram": 1, "stream": 2}
FD = {"slot%d" % i: i for i in range(8)}
FD.update({"-1": 8, "INT_MIN": 9, "opath": 10, "pipe": 11, "file": 12,
           "socket": 14, "closed": 15})
FLAGS = {"0": 0, "FORCE": 1, "bad": 2, "FORCE|bad": 3}
FAKE_OP = {"open": 1, "create_session": 2, "retrieve_session": 3,
           "preserve_fd": 4, "retrieve_fd": 5, "finish": 6,
           "unpreserve_fd": 7, "prepare": 8, "kexec": 9}
ERRNO = {"EIO": 0, "ENOMEM": 1, "EBUSY": 2, "EMFILE": 3, "ENOSPC": 4,
         "EINVAL": 5, "ENOENT": 6, "EFAULT": 7, "EPERM": 8}


def name(n):
    """A session name: s0..s3, or one of the special ones."""
    if isinstance(n, str) and n.startswith("s") and n[1:].isdigit():
        return bytes([int(n[1:])])
    special = {"": [4], "max": [5], "toolong": [6], "manifest": [7],
               "libluo.": [9]}
    if n in special:
        return bytes(special[n])
    if n.startswith("tok:"):
        return bytes([8, int(n[4:])])
    raw = n.encode()
    return bytes([10, len(raw)]) + raw


def token(t):
    return bytes([t]) if t < 0x0f else b"\xff" + struct.pack("<Q", t)


def fd(sel):
    if sel.startswith("sess"):
        return bytes([13, int(sel[4:])])
    return bytes([FD[sel]])


def api(abi, sock, steps):
    out = bytearray([(1 if abi == "rfc" else 0) | SOCK[sock] << 1])
    for st in steps:
        op, *a = st
        out.append(OP[op])
        if op == "CTX_NEW":   # slot, device, abi
            slot, dev, ab = a
            out.append(slot | (4 if dev else 0) | ABI[ab] << 3)
        elif op in ("CTX_REF", "CTX_UNREF", "CTX_CLOSE_DEVICE", "GET_STATE",
                    "PREPARE", "CANCEL", "FINISH", "SESS_FINISH", "SEND",
                    "CLOSE_FD"):
            out.append(a[0])
        elif op in ("SESS_CREATE", "SESS_RETRIEVE"):   # ctx, slot, name
            out += bytes([a[0], a[1]]) + name(a[2])
        elif op == "SESS_PRESERVE":                    # slot, fd, token
            out += bytes([a[0]]) + fd(a[1]) + token(a[2])
        elif op in ("SESS_RETRIEVE_FD", "SESS_QUERY", "FD_UNPRESERVE",
                    "FD_RESTORE", "TOKEN_QUERY"):      # slot or ctx, token
            out += bytes([a[0]]) + token(a[1])
        elif op == "SESS_CLOSE":                       # slot, flags
            out += bytes([a[0], FLAGS[a[1]]])
        elif op == "FD_PRESERVE":                      # ctx, fd, token
            out += bytes([a[0]]) + fd(a[1]) + token(a[2])
        elif op == "RECV":                             # ctx, slot
            out += bytes([a[0], a[1]])
        elif op == "ADOPT":                            # ctx, slot, src, j
            out += bytes(a)
        elif op == "RAW_SEND":                         # variant, sel, name
            out += bytes([a[0], a[1]]) + name(a[2])
        elif op == "KEXEC":
            pass
        elif op == "INJECT":                           # op, errno
            out += bytes([FAKE_OP[a[0]] - 1, ERRNO[a[1]]])
        elif op == "LIMITS":
            out += bytes(a)
        elif op == "MEMFD":                            # slot, variant, size
            out += bytes(a)
        elif op == "RESIZE_FD":
            out += bytes(a)
        else:
            raise ValueError(op)
    return bytes(out)


API_SEEDS = {
    # a session across a kexec: create, preserve, kexec, retrieve
    "session-roundtrip": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("MEMFD", 0, 0, 10),
        ("SESS_CREATE", 0, 0, "s0"),
        ("SESS_PRESERVE", 0, "slot0", 1),
        ("MEMFD", 1, 1, 3),
        ("SESS_PRESERVE", 0, "slot1", 2),
        ("SESS_CLOSE", 0, "0"),
        ("KEXEC",),
        ("CTX_NEW", 1, True, "mainline"),
        ("SESS_RETRIEVE", 1, 1, "s0"),
        ("SESS_RETRIEVE_FD", 1, 1),
        ("SESS_RETRIEVE_FD", 1, 2),
        ("SESS_QUERY", 1, 1),
        ("SESS_FINISH", 1),
        ("SESS_CLOSE", 1, "0"),
        ("SESS_CLOSE", 0, "FORCE"),
    ]),
    # send a session to a context without the device, preserve there
    "send-recv": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("CTX_NEW", 1, False, "auto"),
        ("SESS_CREATE", 0, 0, "s1"),
        ("SEND", 0),
        ("SESS_CLOSE", 0, "0"),
        ("RECV", 1, 2),
        ("MEMFD", 3, 0, 1),
        ("SESS_PRESERVE", 2, "slot3", 5),
        ("CTX_UNREF", 0),
        ("KEXEC",),
        ("CTX_UNREF", 1),
        ("SESS_CLOSE", 2, "0"),
        ("SESS_CLOSE", 2, "FORCE"),
        ("CTX_NEW", 2, True, "auto"),
        ("SESS_RETRIEVE", 2, 3, "s1"),
        ("SESS_RETRIEVE_FD", 3, 5),
        ("SESS_CLOSE", 3, "FORCE"),
    ]),
    "send-recv-dgram": api("mainline", "dgram", [
        ("CTX_NEW", 0, True, "auto"),
        ("SESS_CREATE", 0, 0, "s2"),
        ("SEND", 0),
        ("SEND", 0),
        ("RECV", 0, 1),
        ("RECV", 0, 2),
        ("RECV", 0, 3),
        ("SESS_CLOSE", 1, "FORCE"),
        ("ADOPT", 0, 3, 0, 0),
    ]),
    "send-recv-stream": api("mainline", "stream", [
        ("CTX_NEW", 0, True, "auto"),
        ("SESS_CREATE", 0, 0, "s3"),
        ("SEND", 0),
        ("RECV", 0, 1),
        ("CTX_CLOSE_DEVICE", 0),
        ("SESS_CREATE", 0, 2, "s0"),
        ("CTX_CLOSE_DEVICE", 0),
    ]),
    # adopt good and bad descriptors, raw messages with bad contents
    "adopt-and-raw": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("SESS_CREATE", 0, 0, "s0"),
        ("MEMFD", 0, 0, 1),
        ("ADOPT", 0, 1, 0, 0),
        ("ADOPT", 0, 2, 1, 0),
        ("ADOPT", 0, 2, 2, 0),
        ("ADOPT", 0, 2, 3, 0),
        ("ADOPT", 0, 2, 4, 0),
        ("ADOPT", 0, 2, 5, 0),
        ("ADOPT", 0, 2, 6, 0),
        ("ADOPT", 0, 2, 7, 0),
        ("RAW_SEND", 0, 3, "s0"),
        ("RAW_SEND", 1, 3, "s0"),
        ("RAW_SEND", 2, 3, "s0"),
        ("RAW_SEND", 3, 1, "s0"),
        ("RAW_SEND", 4, 2, "s0"),
        ("RAW_SEND", 5, 4, "s0"),
        ("RAW_SEND", 6, 3, "s0"),
        ("RAW_SEND", 7, 3, "s0"),
        ("RECV", 0, 2), ("RECV", 0, 2), ("RECV", 0, 2), ("RECV", 0, 2),
        ("RECV", 0, 2), ("RECV", 0, 2), ("RECV", 0, 2), ("RECV", 0, 2),
        ("RECV", 0, 2),
    ]),
    # the original API on the mainline ABI across a kexec
    "original-mainline": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("MEMFD", 0, 0, 4),
        ("MEMFD", 1, 2, 4),
        ("FD_PRESERVE", 0, "slot0", 1),
        ("FD_PRESERVE", 0, "slot1", 2),
        ("FD_PRESERVE", 0, "pipe", 3),
        ("FD_UNPRESERVE", 0, 2),
        ("TOKEN_QUERY", 0, 1),
        ("PREPARE", 0),
        ("GET_STATE", 0),
        ("KEXEC",),
        ("CTX_NEW", 1, True, "auto"),
        ("GET_STATE", 1),
        ("FD_RESTORE", 1, 1),
        ("FD_RESTORE", 1, 1),
        ("TOKEN_QUERY", 1, 1),
        ("FINISH", 1),
        ("GET_STATE", 1),
    ]),
    "original-mainline-cancel": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("MEMFD", 0, 0, 4),
        ("FD_PRESERVE", 0, "slot0", 7),
        ("PREPARE", 0),
        ("FD_PRESERVE", 0, "slot0", 8),
        ("CANCEL", 0),
        ("FD_UNPRESERVE", 0, 7),
        ("PREPARE", 0),
        ("CTX_UNREF", 0),
        ("KEXEC",),
        ("CTX_NEW", 0, True, "auto"),
        ("GET_STATE", 0),
        ("SESS_RETRIEVE", 0, 0, "manifest"),
    ]),
    # the original API on the RFC ABI
    "original-rfc": api("rfc", "seqpacket", [
        ("CTX_NEW", 0, True, "rfc"),
        ("MEMFD", 0, 0, 4),
        ("MEMFD", 1, 1, 4),
        ("FD_PRESERVE", 0, "slot0", 1),
        ("FD_PRESERVE", 0, "slot1", 2),
        ("GET_STATE", 0),
        ("PREPARE", 0),
        ("FD_UNPRESERVE", 0, 2),
        ("CANCEL", 0),
        ("FD_UNPRESERVE", 0, 2),
        ("PREPARE", 0),
        ("KEXEC",),
        ("CTX_NEW", 1, True, "auto"),
        ("GET_STATE", 1),
        ("FD_RESTORE", 1, 1),
        ("FD_RESTORE", 1, 1),
        ("FINISH", 1),
        ("SESS_CREATE", 1, 0, "s0"),
        ("RECV", 1, 0),
    ]),
    # injected errors and limits
    "inject-and-limits": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("LIMITS", 2, 1),
        ("SESS_CREATE", 0, 0, "s0"),
        ("SESS_CREATE", 0, 1, "s1"),
        ("SESS_CREATE", 0, 2, "s2"),
        ("MEMFD", 0, 0, 1),
        ("MEMFD", 1, 0, 1),
        ("SESS_PRESERVE", 0, "slot0", 1),
        ("SESS_PRESERVE", 0, "slot1", 2),
        ("INJECT", "preserve_fd", "EIO"),
        ("SESS_PRESERVE", 1, "slot1", 2),
        ("INJECT", "kexec", "ENOMEM"),
        ("KEXEC",),
        ("INJECT", "open", "EIO"),
        ("CTX_NEW", 1, True, "auto"),
        ("INJECT", "retrieve_session", "EMFILE"),
        ("KEXEC",),
        ("CTX_NEW", 1, True, "auto"),
        ("SESS_RETRIEVE", 1, 3, "s0"),
        ("INJECT", "retrieve_fd", "ENOMEM"),
        ("SESS_RETRIEVE_FD", 3, 1),
        ("INJECT", "finish", "EBUSY"),
        ("SESS_FINISH", 3),
        ("SESS_CLOSE", 3, "0"),
        ("SESS_FINISH", 3),
        ("SESS_CLOSE", 3, "0"),
    ]),
    # bad descriptors and names
    "bad-fds-and-names": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("SESS_CREATE", 0, 0, ""),
        ("SESS_CREATE", 0, 0, "toolong"),
        ("SESS_CREATE", 0, 0, "manifest"),
        ("SESS_CREATE", 0, 0, "max"),
        ("SESS_CREATE", 0, 1, "max"),
        ("SESS_PRESERVE", 0, "-1", 1),
        ("SESS_PRESERVE", 0, "INT_MIN", 1),
        ("SESS_PRESERVE", 0, "opath", 1),
        ("SESS_PRESERVE", 0, "pipe", 1),
        ("SESS_PRESERVE", 0, "file", 1),
        ("SESS_PRESERVE", 0, "socket", 1),
        ("SESS_PRESERVE", 0, "closed", 1),
        ("SESS_PRESERVE", 0, "sess0", 1),
        ("MEMFD", 0, 2, 8),
        ("SESS_PRESERVE", 0, "slot0", 0xfedcba9876543210),
        ("SESS_PRESERVE", 0, "slot0", 3),
        ("MEMFD", 1, 4, 1),
        ("SESS_PRESERVE", 0, "slot1", 3),
        ("FD_PRESERVE", 0, "pipe", 1),
        ("FD_PRESERVE", 0, "-1", 1),
        ("SESS_CLOSE", 0, "bad"),
        ("SESS_CLOSE", 0, "FORCE|bad"),
        ("SESS_CLOSE", 0, "0"),
    ]),
    # an incoming session handed over: adopted (direction probed), sent
    # as libluo 1.0 would (v1: probed too), with a lying direction; then
    # another kexec makes every handle dead
    "incoming-handoff": api("mainline", "seqpacket", [
        ("CTX_NEW", 0, True, "auto"),
        ("MEMFD", 0, 0, 2),
        ("SESS_CREATE", 0, 0, "s0"),
        ("SESS_PRESERVE", 0, "slot0", 3),
        ("KEXEC",),
        ("CTX_NEW", 1, True, "auto"),
        ("SESS_RETRIEVE", 1, 1, "s0"),
        ("ADOPT", 1, 2, 0, 1),
        ("RAW_SEND", 5, 3 + 5 * 1, "s0"),
        ("RAW_SEND", 6, 3 + 5 * 2, "s0"),
        ("SEND", 2),
        ("RECV", 1, 3),
        ("SESS_CLOSE", 3, "FORCE"),
        ("RECV", 1, 3),
        ("SESS_QUERY", 3, 3),
        ("SESS_FINISH", 3),
        ("SESS_CLOSE", 3, "0"),
        ("RECV", 1, 3),
        ("SESS_RETRIEVE_FD", 1, 3),
        ("SESS_FINISH", 2),
        ("KEXEC",),
        ("SESS_CLOSE", 0, "0"),
        ("SESS_CLOSE", 1, "0"),
        ("SESS_CLOSE", 2, "0"),
        ("SESS_CLOSE", 3, "0"),
        ("RECV", 1, 3),
    ]),
    # a context without the device takes sessions and uses the original
    # API's bookkeeping; close_device keeps the original API's sessions
    "close-device": api("mainline", "dgram", [
        ("CTX_NEW", 0, True, "auto"),
        ("MEMFD", 0, 0, 2),
        ("FD_PRESERVE", 0, "slot0", 9),
        ("SESS_CREATE", 0, 0, "s1"),
        ("CTX_CLOSE_DEVICE", 0),
        ("TOKEN_QUERY", 0, 9),
        ("FD_UNPRESERVE", 0, 9),
        ("CTX_NEW", 1, True, "auto"),
        ("FD_PRESERVE", 1, "slot0", 9),
        ("MEMFD", 1, 0, 2),
        ("FD_PRESERVE", 1, "slot1", 10),
        ("PREPARE", 1),
        ("RESIZE_FD", 1, 200),
        ("KEXEC",),
        ("CTX_UNREF", 0),
        ("CTX_UNREF", 1),
        ("CTX_NEW", 0, True, "auto"),
        ("TOKEN_QUERY", 0, 10),
        ("FD_RESTORE", 0, 10),
        ("INJECT", "finish", "EBUSY"),
        ("FINISH", 0),
        ("FINISH", 0),
    ]),
    # contexts: references, a second device open, no device
    "contexts": api("rfc", "dgram", [
        ("CTX_NEW", 0, True, "mainline"),
        ("CTX_NEW", 0, True, "auto"),
        ("CTX_NEW", 1, True, "auto"),
        ("CTX_REF", 0),
        ("CTX_UNREF", 0),
        ("CTX_CLOSE_DEVICE", 0),
        ("CTX_NEW", 1, True, "rfc"),
        ("CTX_NEW", 2, False, "auto"),
        ("SESS_CREATE", 2, 0, "s0"),
        ("RECV", 2, 0),
        ("GET_STATE", 2),
        ("CTX_UNREF", 1),
        ("CTX_UNREF", 0),
    ]),
}

# ---- fuzz-handoff -----------------------------------------------------------

HSOCK = {"stream": 0, "seqpacket": 1, "dgram": 2}
KIND = {"memfd": 0, "pipe-r": 1, "pipe-w": 2, "session": 3, "socket": 4,
        "opath": 5, "devnull": 6}


def msg(length, header=True, version=2, direction=1, nonul=False, fds=(),
        split=False, payload=b""):
    """One message: @length bytes; with a header, magic and @version come
    first, the name (from @payload) is NUL-terminated unless @nonul, and
    @direction is written at offset 72."""
    mode = (1 if header else 0) | (2 if split else 0) | len(fds) << 2
    out = bytes([length, mode])
    if header:
        out += bytes([(version - 1) | direction << 2 | (16 if nonul else 0)])
    body = payload.ljust(max(0, length - (8 if header and length >= 8
                                          else 0)), b"\0")
    return out + bytes(KIND[k] for k in fds) + body


def handoff(sock, calls, msgs, passcred=False, nodevice=False,
            shutdown=False, close=False, preserve=False, timestamp=False):
    flags = (HSOCK[sock] | (4 if passcred else 0) | (8 if nodevice else 0) |
             (16 if shutdown else 0) | (32 if close else 0) |
             (64 if preserve else 0) | (128 if timestamp else 0))
    return bytes([flags, calls - 1]) + b"".join(msgs)


HANDOFF_SEEDS = {
    "valid-seqpacket": handoff("seqpacket", 1, [
        msg(76, fds=["session"], payload=b"handoff")]),
    "valid-v1-seqpacket": handoff("seqpacket", 1, [
        msg(72, version=1, fds=["session"], payload=b"old")]),
    "valid-stream": handoff("stream", 3, [
        msg(76, fds=["session"], payload=b"handoff"),
        msg(72, version=1, fds=["session"]),
        msg(76, direction=2, fds=["session"])], preserve=True),
    "valid-dgram-nodevice": handoff("dgram", 1, [
        msg(76, direction=2, fds=["session"])], nodevice=True),
    "wrong-fds": handoff("seqpacket", 4, [
        msg(76, fds=["memfd"]),
        msg(76, fds=["session", "pipe-r"], split=True),
        msg(76, fds=["opath"]),
        msg(76, fds=[])]),
    "too-many-fds": handoff("dgram", 2, [
        msg(76, fds=["session"] + ["memfd"] * 9),
        msg(100, fds=["session"])]),
    "bad-header": handoff("seqpacket", 4, [
        msg(76, header=False, fds=["session"], payload=b"LUOS"),
        msg(76, version=3, fds=["session"]),
        msg(76, direction=3, fds=["session"]),
        msg(76, nonul=True, fds=["session"])]),
    "short-and-long": handoff("seqpacket", 3, [
        msg(10, fds=["session"]),
        msg(72, version=2, fds=["session"]),
        msg(200, fds=["devnull", "socket"])]),
    "stream-pieces": handoff("stream", 4, [
        msg(40, fds=["session"]),
        msg(36, header=False, fds=["pipe-w"]),
        msg(76, fds=["session"]),
        msg(3, header=False)], shutdown=True),
    "closed-peer": handoff("seqpacket", 3, [
        msg(76, fds=["session"])], close=True),
    "passcred": handoff("seqpacket", 1, [
        msg(76, fds=["session"])], passcred=True),
    "timestamp": handoff("dgram", 1, [
        msg(76, fds=["session"])], timestamp=True),
    "zero-length-with-fds": handoff("dgram", 2, [
        msg(0, header=False, fds=["memfd", "session"])]),
    "empty": handoff("dgram", 2, [msg(0, header=False)]),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for target, seeds in (("fuzz-api", API_SEEDS),
                          ("fuzz-handoff", HANDOFF_SEEDS)):
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        for n, data in seeds.items():
            with open(os.path.join(d, n), "wb") as f:
                f.write(data)
        print("%s: %d seeds in %s" % (target, len(seeds), d))


if __name__ == "__main__":
    main()
