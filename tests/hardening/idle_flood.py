#!/usr/bin/env python3
"""Idle connections must not starve the health port (issue 15, item 3). `lettagate serve` (every
component off: /readyz is 200, so every non-200 is the server's doing) with its default cap of
512 connections. One process holds HOLD connections to the health port and opens a new one for
each the server closes; in each phase its connections:

  idle       send nothing
  slowloris  send a request header one byte per 100 ms each (so they are "reading", not idle),
             never finishing it
  requested  send one GET /livez, then stay (idle in keep-alive, their answers unread)

Meanwhile this process GETs /livez and /readyz alternately on a new connection every 10 ms.
Asserted per phase: at least 99% of them answer 200 (on 562aa13 none did: every one was 503
"too many connections"; the issue saw 87%); printed: that share, latency p50/p99/max, how many connections the
server closed to make room (lettagate_http_connections_evicted_total), refused (503) and cut at
the header deadline. Numbers: $LG_BUILD_DIR/hardening/idle_flood.json.
"""

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

HOLD = 1000
CAP = 512
PHASE_S = 4.0
SHARE_BOUND = 0.99
NICE = -10  # lettagate and this process run ahead of the attacker (see lgharness.LivezMonitor)


def metric(port, name):
    status, body, _ = h.http_get(port, "/metrics")
    m = re.search(r"^%s (\d+)" % re.escape(name), body, re.M) if status == 200 else None
    return int(m.group(1)) if m else None


def holder_limits():
    h.raise_nofile()
    os.nice(-NICE)  # back to the usual priority: this process runs at NICE


def phase(lg, mode):
    counters = ("lettagate_http_connections_evicted_total", "lettagate_http_connections_rejected_total",
                "lettagate_http_request_timeouts_total")
    before = {c: metric(lg.port, c) or 0 for c in counters}
    fd, out = tempfile.mkstemp(prefix="holder-", suffix=".json", dir=h.results_dir())
    os.close(fd)
    holder = subprocess.Popen([sys.executable, os.path.abspath(__file__), "hold", str(lg.port), str(HOLD), mode,
                               str(PHASE_S + 2), out], stdin=subprocess.DEVNULL, preexec_fn=holder_limits)
    try:
        # Start measuring once the holder has its connections (it writes "ready" to the file).
        h.poll(lambda: os.path.getsize(out) > 0, 10)
        cpu0 = lg.cpu_seconds()
        codes, lat = {}, []
        paths = ("/livez", "/readyz")
        end = time.monotonic() + PHASE_S
        i = 0
        while time.monotonic() < end:
            status, _, el = h.http_get(lg.port, paths[i % 2], 2.0)
            codes[status] = codes.get(status, 0) + 1
            if status == 200:
                lat.append(el * 1000.0)
            i += 1
            time.sleep(0.01)
        cpu = lg.cpu_seconds() - cpu0
    finally:
        holder.send_signal(signal.SIGINT)
        try:
            holder.wait(15)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait(5)
    with open(out) as f:
        held = json.loads(f.read().splitlines()[-1])
    os.unlink(out)
    after = {c: metric(lg.port, c) or 0 for c in counters}
    n = sum(codes.values())
    res = {"mode": mode, "requests": n, "codes": {str(k): v for k, v in sorted(codes.items())},
           "share_200": round(codes.get(200, 0) / n, 4) if n else 0.0,
           "p50_ms": round(h.percentile(lat, 50) or 0, 2), "p99_ms": round(h.percentile(lat, 99) or 0, 2),
           "max_ms": round(max(lat) if lat else 0, 2), "lettagate_cpu_s": round(cpu, 2), "holder": held,
           "evicted": after[counters[0]] - before[counters[0]], "refused_503": after[counters[1]] - before[counters[1]],
           "header_timeouts": after[counters[2]] - before[counters[2]]}
    h.log("phase %-9s %d /livez+/readyz: %.2f%% answered 200 %s; p50 %.2f ms p99 %.2f ms max %.2f ms; "
          "evicted %d, refused %d, header timeouts %d; holder: %s; lettagate CPU %.2f s"
          % (mode, n, 100.0 * res["share_200"], res["codes"], res["p50_ms"], res["p99_ms"], res["max_ms"],
             res["evicted"], res["refused_503"], res["header_timeouts"], held, cpu))
    return res


def main():
    h.raise_nofile(20000)
    lg = h.Lettagate("idle_flood", ["--letta-url", "off", "--postgres-dsn", "off", "--redis-url", "off",
                                    "--nginx-url", "off", "--forward", "off", "--max-connections", str(CAP),
                                    "--header-timeout", "2s"], nice=NICE)
    try:
        lg.start()
        h._renice(NICE)
        results = {"hold": HOLD, "cap": CAP, "phases": {}}
        for mode in ("idle", "slowloris", "requested"):
            results["phases"][mode] = phase(lg, mode)
        h.write_results("idle_flood", results)
        for mode, r in results["phases"].items():
            if r["requests"] < 100 or r["share_200"] < SHARE_BOUND:
                raise h.Fail("%s: %.2f%% of %d /livez and /readyz answered 200 (want >= %.0f%%): %s"
                             % (mode, 100.0 * r["share_200"], r["requests"], 100 * SHARE_BOUND, r["codes"]))
            if r["evicted"] + r["refused_503"] == 0:
                raise h.Fail("%s: the server never reached its cap (%s)" % (mode, r["holder"]))
        # Nothing is left once the holder has gone.
        ok, _ = h.poll(lambda: metric(lg.port, "lettagate_http_connections_active") == 1, 10, 0.1)
        if not ok:
            raise h.Fail("connections still open after the floods: %s"
                         % metric(lg.port, "lettagate_http_connections_active"))
        lg.stop()
        h.log("idle_flood: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()


# ---- the holder (a subprocess) -----------------------------------------------------------------

def hold(port, n, mode, seconds, out):
    """Keeps n connections open, reopening each one the server closes, for `seconds` (or until
    SIGINT); writes {"ready"} once all are open, then its counts as the last JSON line of `out`."""
    stop = [False]
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    sel = selectors.DefaultSelector()
    header = b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"v" * 4000
    stats = {"opened": 0, "closed_by_server": 0, "connect_failures": 0, "held_max": 0}
    conns = {}  # socket -> bytes of the slow header sent

    def open_one():
        s = socket.socket()
        s.settimeout(1.0)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            stats["connect_failures"] += 1
            s.close()
            return
        s.setblocking(False)
        try:
            if mode == "requested":
                s.send(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            pass
        sel.register(s, selectors.EVENT_READ)
        conns[s] = 0
        stats["opened"] += 1

    for _ in range(n):
        open_one()
    with open(out, "w") as f:
        f.write(json.dumps({"ready": len(conns)}) + "\n")
    end = time.monotonic() + seconds
    next_trickle = time.monotonic()
    while not stop[0] and time.monotonic() < end:
        for key, _ in sel.select(0.02):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                continue  # an answer (200 in keep-alive, or a 408/503 before a close): left unread
            sel.unregister(s)
            s.close()
            del conns[s]
            stats["closed_by_server"] += 1
            open_one()
        stats["held_max"] = max(stats["held_max"], len(conns))
        if mode == "slowloris" and time.monotonic() >= next_trickle:
            next_trickle = time.monotonic() + 0.1
            for s, sent in list(conns.items()):
                if sent < len(header):
                    try:
                        s.send(header[sent:sent + 1])
                        conns[s] = sent + 1
                    except OSError:
                        pass
    for s in list(conns):
        s.close()
    with open(out, "a") as f:
        f.write(json.dumps(stats) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(main())
