#!/usr/bin/env python3
"""flood.py - many connections to a Unix socket that speaks the agent protocol, as a hostile
user (or guest process) would open them.

Usage: flood.py SOCKET PROCS CONNS HOLD
  PROCS processes each open CONNS connections at once, read the HELLO each gets (up to 5 s),
  hold them HOLD seconds without sending anything, then report how many the server had closed.
  Prints, summed over the processes:
    ok N            connections greeted with "ok" (served)
    refused N       greeted with a "refused: ..." HELLO
    closed N        closed without a HELLO (e.g. a uid the server does not serve)
    failed N        connect(2) failed (first errno in "connect-error")
    noanswer N      no HELLO within 5 s
    closed-idle N   of the "ok" ones, closed by the server while held
    reason TEXT     the first refusal's text
  When HOLD > 0, "holding" is printed (flushed) once all are open, for the caller to measure.
"""
import errno
import os
import resource
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("<IHHI")  # len, type, stream, channel (vm/proto.h)
T_HELLO = 1


def hello_status(buf):
    """The status text of a HELLO frame in buf, or None when buf holds no whole frame."""
    if len(buf) < HDR.size:
        return None
    length, ftype, _, _ = HDR.unpack_from(buf)
    if len(buf) < HDR.size + length:
        return None
    body = buf[HDR.size:HDR.size + length]
    if ftype != T_HELLO:
        return "not-a-hello"
    return body[8:].split(b"\0")[0].decode(errors="replace")  # version u32, flags u32, text


def one_proc(path, conns, hold, wfd):
    res = {"ok": 0, "refused": 0, "closed": 0, "failed": 0, "noanswer": 0, "closed-idle": 0}
    reason, cerr = "", ""
    socks = []
    for _ in range(conns):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError as e:
            res["failed"] += 1
            cerr = cerr or errno.errorcode.get(e.errno, str(e.errno))
            s.close()
            continue
        s.setblocking(False)
        socks.append([s, b""])
    pending = {s.fileno(): e for e in socks for s in [e[0]]}
    greeted = []
    until = time.monotonic() + 5
    while pending and time.monotonic() < until:
        r, _, _ = select.select(list(pending)[:1000], [], [], 0.2)
        for fd in r:
            e = pending[fd]
            try:
                data = e[0].recv(4096)
            except OSError:
                data = b""
            if not data:
                res["closed"] += 1
                del pending[fd]
                continue
            e[1] += data
            st = hello_status(e[1])
            if st is None:
                continue
            del pending[fd]
            if st.startswith("refused: "):
                res["refused"] += 1
                reason = reason or st
            elif st == "ok":
                res["ok"] += 1
                greeted.append(e[0])
            else:
                res["closed"] += 1
    res["noanswer"] += len(pending)
    if hold > 0:
        os.write(wfd, b"H")
        time.sleep(hold)
        for s in greeted:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    res["closed-idle"] += 1
            except BlockingIOError:
                pass
            except OSError:
                res["closed-idle"] += 1
    line = " ".join(f"{k}={v}" for k, v in res.items())
    os.write(wfd, f"R {line}|{reason}|{cerr}\n".encode())


def main():
    path, procs, conns, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = conns + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    r, w = os.pipe()
    kids = []
    for _ in range(procs):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                one_proc(path, conns, hold, w)
            finally:
                os._exit(0)
        kids.append(pid)
    os.close(w)
    total = {}
    reason, cerr, held, buf = "", "", 0, b""
    with os.fdopen(r, "rb", buffering=0) as f:
        while True:
            chunk = f.read(4096)
            if not chunk:
                break
            buf += chunk
            while buf[:1] == b"H":
                buf = buf[1:]
                held += 1
                if held == procs:
                    print("holding", flush=True)
            while b"\n" in buf and buf[:1] == b"R":
                line, buf = buf.split(b"\n", 1)
                counts, rs, ce = line[2:].decode().split("|")
                for kv in counts.split():
                    k, v = kv.split("=")
                    total[k] = total.get(k, 0) + int(v)
                reason, cerr = reason or rs, cerr or ce
    for pid in kids:
        os.waitpid(pid, 0)
    for k in ("ok", "refused", "closed", "failed", "noanswer", "closed-idle"):
        print(f"{k} {total.get(k, 0)}")
    print(f"reason {reason}")
    print(f"connect-error {cerr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
