#!/usr/bin/env python3
"""Resets through the forwarder (issue 15, item 2): a reset from either side must arrive as a reset
at the other side, never as a clean end (a FIN after a truncated body looks like a complete
transfer); a clean FIN must still arrive as a FIN with the whole body.

An upstream helper (its own process, a thread per connection) reads one line `ID MODE SIZE` and:
  down-reset  sends SIZE bytes, then closes with SO_LINGER 0 (RST)
  down-fin    sends SIZE bytes, then shuts its write side (FIN) and waits for the client to close
  up          reads until the end and reports how it ended (eof / reset) and the bytes read
  stream      sends until the connection ends, watching reads too; reports fin / reset
The upstream's reports come back on its stdout. 1,000 tries through lettagate, 8 at a time:

  kind         tries  client does                                         must see
  down-reset    400   reads as fast as it can (sizes 0 .. 4 MiB)          reset at the client
  down-slow     100   4 MiB, SO_RCVBUF 16 KiB, reads 16 KiB per ms        reset at the client
  down-fin      175   sizes 0 .. 4 MiB (25 of them slow readers)          FIN and every byte
  up-reset      200   sends SIZE bytes (0 .. 4 MiB), then resets          reset at the upstream
  up-fin         75   sends SIZE bytes, then SHUT_WR                      FIN and every byte there
  stream-reset   50   reads 64 KiB of an endless stream, then resets      reset at the upstream

Before that, 100 down-reset tries straight to the upstream check the test itself: a client always
sees the reset there. Prints the counts per kind (reset / FIN / bytes); fails on any reset that
arrives as a FIN (or a FIN that loses bytes). Bounded: every socket has a 10 s timeout and the
whole run a 150 s deadline. Numbers: $LG_BUILD_DIR/hardening/proxy_resets.json.
"""

import concurrent.futures
import errno
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

MiB = 1 << 20
SIZES = [0, 1, 1000, 65536, 200000, 1 * MiB, 4 * MiB]
PATTERN = bytes(range(256)) * (4 * MiB // 256)
SOCK_TIMEOUT = 10.0
RUN_DEADLINE_S = 150.0
WORKERS = 8


def linger_reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# ---- the upstream (subprocess) -------------------------------------------------------------

def upstream_main(port):
    out_lock = threading.Lock()

    def report(line):
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def read_line(s):
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(1)
            if not d:
                return None
            buf += d
        return buf.decode().split()

    def serve(s):
        try:
            s.settimeout(SOCK_TIMEOUT)
            req = read_line(s)
            if not req:
                return
            tid, mode, size = req[0], req[1], int(req[2])
            if mode == "down-reset":
                s.sendall(memoryview(PATTERN)[:size])
                linger_reset(s)
                s = None
            elif mode == "down-fin":
                s.sendall(memoryview(PATTERN)[:size])
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            elif mode == "up":
                got, how = 0, "eof"
                try:
                    while True:
                        d = s.recv(262144)
                        if not d:
                            break
                        got += len(d)
                except socket.timeout:
                    how = "timeout"
                except OSError:
                    how = "reset"
                report("%s %s %d" % (tid, how, got))
            elif mode == "stream":
                report("%s %s 0" % (tid, stream_until_end(s)))
        except OSError:
            pass
        finally:
            if s is not None:
                s.close()

    def stream_until_end(s):
        s.setblocking(False)
        chunk = PATTERN[:65536]
        end = time.monotonic() + SOCK_TIMEOUT
        while time.monotonic() < end:
            r, w, _ = select.select([s], [s], [], 0.5)
            if r:
                try:
                    if not s.recv(65536):
                        return "fin"
                except BlockingIOError:
                    pass
                except OSError:
                    return "reset"
            if w:
                try:
                    s.send(chunk)
                except BlockingIOError:
                    pass
                except OSError:
                    return "reset"
        return "timeout"

    h.raise_nofile()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)
    report("listening")
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


class Upstream:
    def __init__(self):
        self.port = h.free_port()
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "upstream", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "listening":
            raise h.Fail("the upstream helper did not start")
        self.reports = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.proc.stdout:
            tid, how, got = line.split()
            with self.cond:
                self.reports[tid] = (how, int(got))
                self.cond.notify_all()

    def report(self, tid, timeout=SOCK_TIMEOUT + 2):
        with self.cond:
            self.cond.wait_for(lambda: tid in self.reports, timeout)
            return self.reports.get(tid, ("no report", 0))

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


# ---- the clients ---------------------------------------------------------------------------

def connect(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(SOCK_TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


def read_to_end(s, slow=False, keep=False):
    """Returns (how, bytes, data): how is fin, reset or timeout."""
    buf = bytearray(262144 if not slow else 16384)
    got, data = 0, bytearray() if keep else None
    try:
        while True:
            n = s.recv_into(buf)
            if n == 0:
                return "fin", got, data
            got += n
            if keep:
                data += buf[:n]
            if slow:
                time.sleep(0.001)
    except socket.timeout:
        return "timeout", got, data
    except OSError as e:
        return ("reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "error %s" % e.errno), got, data


def try_down(port, tid, mode, size, slow):
    s = connect(port, rcvbuf=16384 if slow else None)
    try:
        s.sendall(("%s %s %d\n" % (tid, mode, size)).encode())
        how, got, data = read_to_end(s, slow, keep=mode == "down-fin")
        intact = data is not None and got == size and bytes(data) == PATTERN[:size]
        return how, got, intact
    finally:
        s.close()


def try_up(port, up, tid, size, reset):
    s = connect(port)
    try:
        s.sendall(("%s up %d\n" % (tid, size)).encode())
        s.sendall(memoryview(PATTERN)[:size])
        if reset:
            linger_reset(s)
            s = None
        else:
            s.shutdown(socket.SHUT_WR)
        how, got = up.report(tid)
        return {"eof": "fin"}.get(how, how), got, got == size
    finally:
        if s is not None:
            s.close()


def try_stream_reset(port, up, tid):
    s = connect(port)
    s.sendall(("%s stream 0\n" % tid).encode())
    got = 0
    while got < 65536:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    linger_reset(s)
    how, _ = up.report(tid)
    return how, got, True


def plan():
    tries = []
    for i in range(400):
        tries.append(("down-reset", SIZES[i % len(SIZES)]))
    tries += [("down-slow", 4 * MiB)] * 100
    for i in range(175):
        slow = i % 7 == 0  # every size meets a slow reader too
        tries.append(("down-fin-slow" if slow else "down-fin", SIZES[(i // 7 if slow else i) % len(SIZES)]))
    for i in range(200):
        tries.append(("up-reset", SIZES[i % len(SIZES)]))
    for i in range(75):
        tries.append(("up-fin", SIZES[i % len(SIZES)]))
    tries += [("stream-reset", 0)] * 50
    # Interleave the kinds so every kind meets every other under load.
    return [tries[(i * 389) % len(tries)] for i in range(len(tries))]


def run_try(port, up, n, kind, size):
    tid = "t%d" % n
    if kind in ("down-reset", "down-slow"):
        return try_down(port, tid, "down-reset", size, slow=kind == "down-slow")
    if kind in ("down-fin", "down-fin-slow"):
        return try_down(port, tid, "down-fin", size, slow=kind == "down-fin-slow")
    if kind in ("up-reset", "up-fin"):
        return try_up(port, up, tid, size, reset=kind == "up-reset")
    return try_stream_reset(port, up, tid)


EXPECT = {"down-reset": "reset", "down-slow": "reset", "up-reset": "reset", "stream-reset": "reset",
          "down-fin": "fin", "down-fin-slow": "fin", "up-fin": "fin"}


def run_all(port, up, tries, deadline):
    counts = {}
    bad = []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {pool.submit(run_try, port, up, n, kind, size): (n, kind, size)
                   for n, (kind, size) in enumerate(tries)}
        for f in concurrent.futures.as_completed(futures, timeout=max(1.0, deadline - time.monotonic())):
            n, kind, size = futures[f]
            try:
                how, got, intact = f.result()
            except OSError as e:
                how, got, intact = "client error %s" % e, 0, False
            c = counts.setdefault(kind, {"tries": 0, "reset": 0, "fin": 0, "other": 0, "bytes": 0, "fin_short": 0})
            c["tries"] += 1
            c["bytes"] += got
            c[how if how in ("reset", "fin") else "other"] += 1
            if how == "fin" and not intact:
                c["fin_short"] += 1
            if how != EXPECT[kind] or (how == "fin" and not intact):
                bad.append((n, kind, size, how, got))
    return counts, bad


def show(title, counts):
    h.log(title)
    h.log("  %-14s %6s %6s %6s %6s %9s %12s" % ("kind", "tries", "reset", "FIN", "other", "FIN-short", "bytes"))
    for kind in sorted(counts):
        c = counts[kind]
        h.log("  %-14s %6d %6d %6d %6d %9d %12d" % (kind, c["tries"], c["reset"], c["fin"], c["other"],
                                                     c["fin_short"], c["bytes"]))


def main():
    h.raise_nofile(20000)
    up = Upstream()
    fport = h.free_port()
    lg = h.Lettagate("proxy_resets", [
        "--letta-url", "off", "--postgres-dsn", "off", "--redis-url", "off", "--nginx-url", "off",
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, up.port), "--log-level", "debug",
    ])
    try:
        t0 = time.monotonic()
        direct, direct_bad = run_all(up.port, up, [("down-reset", SIZES[i % len(SIZES)]) for i in range(100)],
                                     t0 + 30)
        show("direct to the upstream (checks the test):", direct)
        if direct_bad:
            raise h.Fail("without the proxy %d of 100 resets did not arrive as resets: the test is wrong (%s)"
                         % (len(direct_bad), direct_bad[:5]))
        lg.start()
        t1 = time.monotonic()
        counts, bad = run_all(fport, up, plan(), t1 + RUN_DEADLINE_S)
        took = time.monotonic() - t1
        show("through lettagate (%d tries in %.1f s):" % (sum(c["tries"] for c in counts.values()), took), counts)
        h.write_results("proxy_resets", {"direct": direct, "proxied": counts, "seconds": round(took, 1),
                                         "wrong": len(bad)})
        if bad:
            h.log("first wrong ends (try, kind, size, seen, bytes): %s" % bad[:10])
            raise h.Fail("%d of %d tries ended wrongly (a reset passed on as a FIN, or a FIN that lost bytes)"
                         % (len(bad), sum(c["tries"] for c in counts.values())))
        lg.stop()
        h.log("proxy_resets: OK")
        return 0
    except (h.Fail, concurrent.futures.TimeoutError) as err:
        print("FAIL: %s" % (err or "the run passed its deadline"), file=sys.stderr)
        print("lettagate log (tail):\n%s" % lg.log_tail(20), file=sys.stderr)
        return 1
    finally:
        lg.kill()
        up.stop()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "upstream":
        upstream_main(int(sys.argv[2]))
    else:
        sys.exit(main())
