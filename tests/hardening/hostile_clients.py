#!/usr/bin/env python3
"""Hostile clients on the health port and the proxy port, while a separate process GETs /livez on
a new connection every 20 ms. Phases (each bounded):

  slowloris   250 health + 250 proxy connections sending a header one byte a second: the health
              server cuts every one at its absolute header deadline (408), the proxy passes the
              bytes through untouched
  oversized   header fields of 64 KiB (431), a 1 MiB header line (431), bodies over the limit
              on the health port (413; or 408, as right, where more than the 64 KiB limit of a
              body has not reached the server within the 3 s request deadline: this one Python
              thread queues 190 connections' bytes before it pumps them); 8 MiB each way through
              the proxy on 10 connections (backpressure keeps RSS bounded, every byte comes back)
  idle        3000 idle health connections (cut at the header deadline) + 1500 idle proxied
              sessions (kept: the forwarder has no idle timeout by default); run twice, and RSS
              after the second round must not exceed the first (nothing leaks per connection)
  garbage     random bytes: 400 on the health port; echoed untouched through the proxy
  half-open   request + SHUT_WR (answered, then closed), a partial request + SHUT_WR (closed at
              once), request then reset; through the proxy: data + SHUT_WR comes back + EOF

Checks: /livez answers 200 throughout with p99 <= 100 ms (max reported; max <= 100 ms asserted
for the normal build, a looser 500 ms under ASan, both times the load per core above 1), RSS stays bounded, and at the end lettagate's
fds return to the baseline and it exits 0 on SIGTERM. Numbers: $LG_BUILD_DIR/hardening/hostile_clients.json.
"""

import collections
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

HEADER_TIMEOUT_S = 3.0
SLOW_CONNS = 250
IDLE_HEALTH = 3000
IDLE_PROXY = 1500
P99_BOUND_MS = 100.0
NICE = -10  # lettagate and the /livez monitor run ahead of the attacker (see lgharness.LivezMonitor)


class Run:
    def __init__(self, lg, fport):
        self.lg = lg
        self.fport = fport
        self.rss_max = 0
        self.phase_rss = {}
        self.marks = []  # (phase, t_start, t_end) in monitor time

    def tick(self):
        self.rss_max = max(self.rss_max, self.lg.rss_kb())

    def phase(self, name, fn):
        self.rss_max = self.lg.rss_kb()
        t0 = time.monotonic()
        info = fn() or {}
        t1 = time.monotonic()
        self.marks.append((name, t0, t1))
        info.update(rss_max_kb=self.rss_max, rss_after_kb=self.lg.rss_kb(), seconds=round(t1 - t0, 1))
        self.phase_rss[name] = info
        h.log("phase %-10s %s" % (name, info))
        return info


def slowloris(run):
    pool = h.Pool()
    health = pool.open(run.lg.port, SLOW_CONNS, "health", keep=64)
    proxy = pool.open(run.fport, SLOW_CONNS, "proxy", keep=0)
    head = b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Slow-%d: v\r\n" % i for i in range(100))
    t0 = time.monotonic()
    for second in range(int(HEADER_TIMEOUT_S) + 3):
        for c in health + proxy:
            if c.open:
                pool.send(c, head[second:second + 1])
        pool.pump(1.0, run.tick)
    cut = [c for c in health if not c.open]
    late = [c for c in cut if c.closed_at - c.opened > HEADER_TIMEOUT_S + 1.5]
    got408 = sum(1 for c in cut if c.data.startswith(b"HTTP/1.1 408"))
    if len(cut) != len(health) or late:
        raise h.Fail("slowloris: %d of %d health connections cut (%d late) within %.1fs of the header deadline"
                     % (len(cut), len(health), len(late), HEADER_TIMEOUT_S))
    if got408 < len(health) * 0.9:
        raise h.Fail("slowloris: only %d of %d cut connections got a 408" % (got408, len(health)))
    alive = [c for c in proxy if c.open]
    if len(alive) != len(proxy) or any(c.received != c.sent for c in proxy):
        raise h.Fail("slowloris: proxy connections: %d of %d open, echo mismatches %d"
                     % (len(alive), len(proxy), sum(1 for c in proxy if c.received != c.sent)))
    cut_after = sorted(c.closed_at - c.opened for c in cut)
    pool.close()
    return {"health_conns": len(health), "cut": len(cut), "got_408": got408,
            "cut_after_s_max": round(cut_after[-1], 2), "proxy_conns": len(proxy),
            "proxy_bytes_trickled": sum(c.sent for c in proxy), "elapsed_s": round(time.monotonic() - t0, 1),
            "connect_failures": pool.connect_failures}


def oversized(run):
    pool = h.Pool()
    big_field = pool.open(run.lg.port, 100, "big_field", keep=64)
    for c in big_field:
        pool.send(c, b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
    huge_line = pool.open(run.lg.port, 20, "huge_line", keep=64)
    for c in huge_line:
        pool.send(c, b"GET /" + b"b" * (1 << 20))
    big_body = pool.open(run.lg.port, 50, "big_body", keep=64)
    for c in big_body:
        pool.send(c, b"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + b"c" * (1 << 20))
    chunked = pool.open(run.lg.port, 20, "chunked_body", keep=64)
    for c in chunked:
        pool.send(c, b"POST /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"".join(b"10000\r\n" + b"d" * 0x10000 + b"\r\n" for _ in range(8)))
    payload = os.urandom(1 << 20) * 8
    bulk = pool.open(run.fport, 10, "bulk", keep=0)
    for c in bulk:
        pool.send(c, payload)
        pool.shutdown_write(c)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pool.pump(0.5, run.tick)
        if all(not c.open for c in big_field + huge_line + big_body + chunked) and \
                all(c.received >= len(payload) and not c.open for c in bulk):
            break

    def answered(conns, *codes):
        return sum(1 for c in conns if any(c.data.startswith(b"HTTP/1.1 %d" % code) for code in codes)
                   and not c.open)

    res = {"field_64k_431": answered(big_field, 431), "line_1m_431": answered(huge_line, 431),
           "body_100m_413": answered(big_body, 413, 408), "chunked_512k_413": answered(chunked, 413, 408),
           "bodies_late_408": answered(big_body + chunked, 408),
           "proxy_bulk_conns": len(bulk), "proxy_bulk_bytes_each": len(payload),
           "proxy_bulk_echoed_ok": sum(1 for c in bulk if c.received == len(payload) and c.eof)}
    want = {"field_64k_431": len(big_field), "line_1m_431": len(huge_line), "body_100m_413": len(big_body),
            "chunked_512k_413": len(chunked), "proxy_bulk_echoed_ok": len(bulk)}
    bad = {k: (res[k], v) for k, v in want.items() if res[k] != v}
    if bad:
        # What each connection that missed its answer saw: its first line, and how it ended.
        seen = collections.Counter(
            (c.tag, c.data.split(b"\r\n", 1)[0].decode("latin-1")[:40],
             "open" if c.open else ("reset" if c.reset else "eof"), "sent %d KiB" % (c.sent // 1024))
            for c in big_field + huge_line + big_body + chunked
            if not any(c.data.startswith(b"HTTP/1.1 %d" % code) for code in (431, 413, 408)) or c.open)
        pool.close()
        raise h.Fail("oversized: (got, want) %s; the others: %s" % (bad, dict(seen)))
    pool.close()
    return res


def idle(run, round_no):
    pool = h.Pool()
    t0 = time.monotonic()
    health = pool.open(run.lg.port, IDLE_HEALTH, "idle_health", keep=64)
    proxy = pool.open(run.fport, IDLE_PROXY, "idle_proxy", keep=0)
    opened_s = time.monotonic() - t0
    pool.pump(0.5, run.tick)
    _, st = h.get_json(run.lg.port, "/status")
    active = ((st or {}).get("forward") or {}).get("active")
    fds_during = run.lg.fds()
    pool.pump(HEADER_TIMEOUT_S + 1.5, run.tick)
    cut = sum(1 for c in health if not c.open)
    proxied_open = sum(1 for c in proxy if c.open)
    # The proxied sessions still work after holding idle.
    for c in proxy[:50]:
        pool.send(c, b"still-there")
    pool.pump(1.0, run.tick)
    working = sum(1 for c in proxy[:50] if c.received == len(b"still-there"))
    pool.close()
    res = {"health_conns": len(health), "proxy_conns": len(proxy), "connect_s": round(opened_s, 2),
           "forward_active_seen": active, "fds_during": fds_during, "health_cut_at_deadline": cut,
           "proxy_still_open": proxied_open, "proxy_working_after_idle": working,
           "connect_failures": pool.connect_failures}
    if len(health) != IDLE_HEALTH or len(proxy) != IDLE_PROXY or pool.connect_failures:
        raise h.Fail("idle round %d: could not open every connection: %s" % (round_no, res))
    if active != IDLE_PROXY or cut != IDLE_HEALTH or proxied_open != IDLE_PROXY or working != 50:
        raise h.Fail("idle round %d: %s" % (round_no, res))
    return res


def garbage(run):
    pool = h.Pool()
    rnd = random.Random(1234)
    health = pool.open(run.lg.port, 200, "garbage_health", keep=64)
    for c in health:
        pool.send(c, bytes(rnd.getrandbits(8) for _ in range(4096)))
    proxy = pool.open(run.fport, 100, "garbage_proxy", keep=8192)
    blobs = {}
    for c in proxy:
        blobs[id(c)] = bytes(rnd.getrandbits(8) for _ in range(4096))
        pool.send(c, blobs[id(c)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pool.pump(0.25, run.tick)
        if all(not c.open for c in health) and all(c.received >= 4096 for c in proxy):
            break
    res = {"health_conns": len(health), "health_400_or_closed": sum(1 for c in health if not c.open),
           "health_400": sum(1 for c in health if c.data.startswith(b"HTTP/1.1 400")),
           "proxy_conns": len(proxy), "proxy_echoed_exact": sum(1 for c in proxy if c.data == blobs[id(c)])}
    pool.close()
    if res["health_400_or_closed"] != len(health) or res["proxy_echoed_exact"] != len(proxy):
        raise h.Fail("garbage: %s" % res)
    return res


def half_open(run):
    pool = h.Pool()
    full = pool.open(run.lg.port, 200, "full_shut", keep=256)
    for c in full:
        pool.send(c, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        pool.shutdown_write(c)
    partial = pool.open(run.lg.port, 200, "partial_shut", keep=256)
    for c in partial:
        pool.send(c, b"GET /liv")
        pool.shutdown_write(c)
    rst = pool.open(run.lg.port, 100, "request_then_reset", keep=0)
    for c in rst:
        pool.send(c, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    pool.close(rst, reset=True)
    proxy = pool.open(run.fport, 100, "proxy_half_close", keep=64)
    for i, c in enumerate(proxy):
        pool.send(c, b"ping-%d" % i)
        pool.shutdown_write(c)
    t0 = time.monotonic()
    deadline = t0 + 5
    while time.monotonic() < deadline:
        pool.pump(0.1, run.tick)
        if all(not c.open for c in full + partial + proxy):
            break
    res = {"request_shut_answered": sum(1 for c in full if c.data.startswith(b"HTTP/1.1 200") and c.eof),
           "partial_shut_closed": sum(1 for c in partial if not c.open),
           "partial_shut_closed_within_1s": sum(1 for c in partial if c.closed_at and c.closed_at - t0 < 1.0),
           "request_then_reset": len(rst),
           "proxy_half_close_echo_eof": sum(1 for i, c in enumerate(proxy) if c.data == b"ping-%d" % i and c.eof)}
    pool.close()
    if (res["request_shut_answered"] != len(full) or res["partial_shut_closed"] != len(partial)
            or res["proxy_half_close_echo_eof"] != len(proxy)):
        raise h.Fail("half-open: %s" % res)
    return res


def latency_by_phase(samples, failures, marks):
    out = {}
    for name, a, b in marks:
        lat = [ms for (t, ms) in samples if a <= t <= b]
        fails = [f for f in failures if a <= f[0] <= b]
        out[name] = {"n": len(lat), "p50_ms": round(h.percentile(lat, 50) or 0, 2),
                     "p99_ms": round(h.percentile(lat, 99) or 0, 2), "max_ms": round(max(lat) if lat else 0, 2),
                     "failures": len(fails)}
    return out


def main():
    e = h.need_env("LG_LETTA_URL", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL")
    h.raise_nofile(20000)
    up = h.Upstream("echo")
    fport = h.free_port()
    lg = h.Lettagate("hostile_clients", [
        *h.stack_args(e),
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, up.port), "--forward-health", "off",
        "--probe-interval", "1s", "--probe-timeout", "500ms",
        "--max-connections", "4096", "--header-timeout", "%dms" % int(HEADER_TIMEOUT_S * 1000),
    ], nice=NICE)
    monitor = None
    try:
        lg.start_ready()
        time.sleep(1)
        fd_base = lg.steady_fds()
        rss_base = lg.rss_kb()
        h.log("baseline: %d fds, RSS %d kB" % (fd_base, rss_base))
        monitor = h.LivezMonitor(lg.port, 600, nice=NICE)
        run = Run(lg, fport)
        run.phase("baseline", lambda: time.sleep(2) or {})
        run.phase("slowloris", lambda: slowloris(run))
        run.phase("oversized", lambda: oversized(run))
        run.phase("idle1", lambda: idle(run, 1))
        run.phase("garbage", lambda: garbage(run))
        run.phase("half_open", lambda: half_open(run))
        run.phase("idle2", lambda: idle(run, 2))
        mon = monitor.stop()
        monitor = None
        ok, _ = h.poll(lambda: lg.steady_fds(5, 0.05) <= fd_base + 2, 10, 0.2)
        fd_end = lg.steady_fds()
        rss_end = lg.rss_kb()
        if not ok:
            raise h.Fail("open fds did not return to the baseline: %d before, %d after (%s)"
                         % (fd_base, fd_end, lg.fd_kinds()))
        lat = mon["latencies_ms"]
        phases = latency_by_phase(mon["samples"], mon["failures"], run.marks)
        for name, v in phases.items():
            h.log("livez during %-10s n=%4d p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  failures %d"
                  % (name, v["n"], v["p50_ms"], v["p99_ms"], v["max_ms"], v["failures"]))
        p99, mx = h.percentile(lat, 99), max(lat)
        # The 100 ms bound is for the binary users run. Under ASan every connection costs about
        # five times as much: the half-open phase lands 600 connections (100 of them /status) in
        # one loop turn, which has stalled /livez for 230-270 ms there (20 ms in the real build).
        # The p99 bound stays 100 ms for both.
        # The slowest single answer: scheduling slack times how oversubscribed the machine is
        # (p99 keeps its fixed bound: a starved port shows there, and in failures).
        max_bound = (500.0 if h.sanitized() else 100.0) * h.overload()
        h.log("max bound %.0f ms (load %.1f per core)" % (max_bound, h.overload()))
        # RSS: idle round 2 must not end above round 1 (per-connection memory is given back).
        r1, r2 = run.phase_rss["idle1"], run.phase_rss["idle2"]
        results = {"livez": {"n": len(lat), "p50_ms": round(h.percentile(lat, 50), 2), "p99_ms": round(p99, 2),
                             "max_ms": round(mx, 2), "failures": len(mon["failures"])},
                   "livez_by_phase": phases, "phases": run.phase_rss, "fds_before": fd_base, "fds_after": fd_end,
                   "rss_before_kb": rss_base, "rss_after_kb": rss_end}
        h.write_results("hostile_clients", results)
        h.log("livez overall: n=%d p50 %.2f ms p99 %.2f ms max %.2f ms, %d failures; fds %d -> %d; RSS %d -> %d kB"
              % (len(lat), h.percentile(lat, 50), p99, mx, len(mon["failures"]), fd_base, fd_end, rss_base, rss_end))
        if mon["failures"]:
            raise h.Fail("/livez failed %d time(s) during the attacks: %s" % (len(mon["failures"]), mon["failures"][:10]))
        if p99 > P99_BOUND_MS or mx > max_bound:
            raise h.Fail("/livez latency: p99 %.1f ms (bound %.0f), max %.1f ms (bound %.0f)"
                         % (p99, P99_BOUND_MS, mx, max_bound))
        slack = 64 * 1024 if h.sanitized() else 8 * 1024
        if r2["rss_after_kb"] > r1["rss_after_kb"] + slack:
            raise h.Fail("RSS grew between two identical idle floods: %d kB after round 1, %d kB after round 2"
                         % (r1["rss_after_kb"], r2["rss_after_kb"]))
        lg.stop()
        h.log("hostile_clients: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        if monitor:
            try:
                monitor.stop()
            except Exception:  # noqa: BLE001 - cleanup only
                pass
        lg.kill()
        up.stop()


if __name__ == "__main__":
    sys.exit(main())
