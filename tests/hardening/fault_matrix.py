#!/usr/bin/env python3
"""Fault matrix: kill -9 and restart PostgreSQL, Redis, nginx and the Letta stand-in, each
LG_FAULT_CYCLES times (default 20; 100 in the long mode), with `lettagate serve` probing the stack
every 200 ms (timeout 150 ms, fall 2, rise 1) and forwarding a port to the Letta stand-in.

After every kill, /readyz (503, not_ready) and /status (the component down, with the reason that
names the failure: a refused connection) must agree within the detection bound; after every
restart, everything is up again within the recovery bound. Every Letta kill happens while SSE
streams run through the forwarder: each client must see a clean close (EOF, not a reset, not a
hang) soon after, and the forwarder must hold no session afterwards. At the end lettagate's open
fds and RSS are back at their baseline (a small tolerance) and it exits 0 on SIGTERM, without a
sanitizer report. Numbers go to $LG_BUILD_DIR/hardening/fault_matrix.json.
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

INTERVAL_MS, TIMEOUT_MS, FALL, RISE, JITTER = 200, 150, 2, 1, 0.10
# Scheduling slack on a 2-core machine (and ASan builds), times h.overload() on a busier one
# (taken at start: the bounds are printed with the baseline).
MARGIN_MS = 1500 * h.overload()
# Worst case from the kill to the damped "down": `fall` more probes, each up to a jittered interval
# after the previous one ended, each cut at the timeout at the latest.
DOWN_BOUND_S = (FALL * (INTERVAL_MS * (1 + JITTER) + TIMEOUT_MS) + MARGIN_MS) / 1000.0
# From the restarted service answering to "up": `rise` probes.
UP_BOUND_S = (RISE * (INTERVAL_MS * (1 + JITTER) + TIMEOUT_MS) + MARGIN_MS) / 1000.0
STREAMS = 3            # SSE streams through the forwarder during each Letta kill
STREAM_END_BOUND_S = 3.0 * h.overload()  # scheduling slack, as MARGIN_MS

# What /status must say about a killed component: its own reason names the refused connection.
# The dependents (nginx proxies to Letta) must go down too, naming the bad gateway.
EXPECT = {
    "postgres": {"postgres": r"refused"},
    "redis": {"redis": r"refused"},
    "nginx": {"nginx": r"refused"},
    "letta": {"letta": r"refused", "nginx": r"\b502\b"},
}
SERVICE_OF = {"postgres": "postgres", "redis": "redis", "nginx": "nginx", "letta": "letta"}


class Stream(threading.Thread):
    """One SSE stream through the forwarder; records how it ended."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.first_byte = threading.Event()
        self.bytes = 0
        self.end = None       # "eof", "reset", "timeout", "error: ..."
        self.ended_at = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"GET /_standin/sse?events=100000&interval_ms=50 HTTP/1.1\r\nHost: letta\r\n"
                      b"Accept: text/event-stream\r\n\r\n")
            s.settimeout(30)
            while True:
                data = s.recv(65536)
                if not data:
                    self.end = "eof"
                    break
                self.bytes += len(data)
                self.first_byte.set()
        except ConnectionResetError:
            self.end = "reset"
        except socket.timeout:
            self.end = "timeout"
        except OSError as e:
            self.end = "error: %s" % e
        finally:
            self.ended_at = time.monotonic()
            self.first_byte.set()


def components(status_json):
    return (status_json or {}).get("components", {})


def snapshot(lg):
    rs, rj = h.get_json(lg.port, "/readyz")
    ss, sj = h.get_json(lg.port, "/status")
    return rs, rj, ss, sj


def wait_down(lg, killed, t0):
    """Polls until /readyz and /status agree that `killed` (and its dependents) are down."""
    expect = EXPECT[killed]
    seen = {}

    def check():
        rs, rj, ss, sj = snapshot(lg)
        seen.update(readyz=rs, ready=(rj or {}).get("status"))
        if rs != 503 or (rj or {}).get("status") != "not_ready" or ss != 200:
            return False
        comps = components(sj)
        for name in expect:
            c = comps.get(name, {})
            seen[name] = (c.get("status"), c.get("reason_code"), c.get("reason"))
            if c.get("status") != "down":
                return False
            rc = components(rj).get(name, {})
            if rc.get("status") != "down":
                return False
        return comps

    comps, _ = h.poll(check, DOWN_BOUND_S + 2, 0.02)
    took = time.monotonic() - t0
    if not comps:
        raise h.Fail("%s killed: not reported down within %.2fs (saw %s)" % (killed, DOWN_BOUND_S + 2, seen))
    if took > DOWN_BOUND_S:
        raise h.Fail("%s killed: reported down after %.2fs, over the bound %.2fs" % (killed, took, DOWN_BOUND_S))
    for name, pattern in expect.items():
        reason = comps[name].get("reason", "")
        if not re.search(pattern, reason):
            raise h.Fail("%s killed: %s is down but its reason does not say /%s/: %r (reason_code %r)"
                         % (killed, name, pattern, reason, comps[name].get("reason_code")))
    return took, {n: (comps[n].get("reason_code"), comps[n].get("reason")) for n in expect}


def wait_all_up(lg, what, bound):
    t0 = time.monotonic()
    seen = {}

    def check():
        rs, rj, ss, sj = snapshot(lg)
        seen.update(readyz=rs, components={n: c.get("status") for n, c in components(sj).items()})
        if rs != 200 or (rj or {}).get("status") != "ready":
            return False
        return all(c.get("status") == "up" for c in components(sj).values()) and len(components(sj)) == 4

    ok, took = h.poll(check, bound + 5, 0.02)
    if not ok:
        raise h.Fail("%s: not all up within %.2fs (saw %s)" % (what, bound + 5, seen))
    if took > bound:
        raise h.Fail("%s: all up only after %.2fs, over the bound %.2fs" % (what, took, bound))
    return took


def forward_active(lg):
    _, sj = h.get_json(lg.port, "/status")
    return ((sj or {}).get("forward") or {}).get("active")


def proxied_health_ok(fport):
    """Letta's health through the forwarder (a new connection each time)."""
    return h.http_get(fport, "/v1/health/", 3.0)[0] == 200


def main():
    e = h.need_env("LG_LETTA_URL", "LG_LETTA_PORT", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL")
    cycles = int(os.environ.get("LG_FAULT_CYCLES", "20"))
    fport = h.free_port()
    lg = h.Lettagate("fault_matrix", [
        *h.stack_args(e),
        "--forward", "127.0.0.1:%d=127.0.0.1:%s" % (fport, e["LG_LETTA_PORT"]),
        "--probe-interval", "%dms" % INTERVAL_MS, "--probe-timeout", "%dms" % TIMEOUT_MS,
        "--probe-fall", str(FALL), "--probe-rise", str(RISE), "--probe-jitter", str(int(JITTER * 100)),
        "--forward-hold", "2s",
    ])
    killed_now = None
    results = {"cycles": cycles, "interval_ms": INTERVAL_MS, "timeout_ms": TIMEOUT_MS, "fall": FALL, "rise": RISE,
               "down_bound_s": DOWN_BOUND_S, "up_bound_s": UP_BOUND_S, "services": {}}
    t_start = time.monotonic()
    try:
        lg.start()
        wait_all_up(lg, "start", 10)
        time.sleep(1)
        fd_base = lg.steady_fds()
        rss_start = lg.rss_kb()
        h.log("baseline: %d fds %s, RSS %d kB; bounds: down %.2fs, up %.2fs; %d cycles"
              % (fd_base, lg.fd_kinds(), rss_start, DOWN_BOUND_S, UP_BOUND_S, cycles))
        stats = {n: {"down_s": [], "up_s": [], "reasons": set()} for n in EXPECT}
        stream_ends = {}
        rss_warm = None
        for cycle in range(1, cycles + 1):
            for name in ("postgres", "redis", "nginx", "letta"):
                streams = []
                if name == "letta":
                    streams = [Stream(fport) for _ in range(STREAMS)]
                    for s in streams:
                        s.start()
                    for s in streams:
                        s.first_byte.wait(10)
                    if not all(s.bytes > 0 for s in streams):
                        raise h.Fail("cycle %d: SSE streams through the forwarder got no bytes (%s)"
                                     % (cycle, [(s.bytes, s.end) for s in streams]))
                killed_now = SERVICE_OF[name]
                h.services("kill", killed_now)
                # From the moment the service is dead (kill -9 is delivered before the script
                # returns), not from starting scripts/services, whose own run (bash, a lock, the
                # process list) took over a second on a busy machine and counted as detection.
                t0 = time.monotonic()
                down_s, reasons = wait_down(lg, name, t0)
                for s in streams:
                    s.join(max(0.1, t0 + STREAM_END_BOUND_S + 2 - time.monotonic()))
                    if s.is_alive() or s.end != "eof" or s.ended_at - t0 > STREAM_END_BOUND_S:
                        raise h.Fail("cycle %d: an SSE stream through the forwarder did not end cleanly within "
                                     "%.1fs of the upstream's kill: end=%s after %s s"
                                     % (cycle, STREAM_END_BOUND_S, s.end,
                                        None if s.ended_at is None else round(s.ended_at - t0, 3)))
                    stream_ends[s.end] = stream_ends.get(s.end, 0) + 1
                if streams:
                    ok, _ = h.poll(lambda: forward_active(lg) == 0, 3)
                    if not ok:
                        raise h.Fail("cycle %d: the forwarder still holds %s session(s) after the upstream died"
                                     % (cycle, forward_active(lg)))
                h.services("start", killed_now)
                killed_now = None
                up_s = wait_all_up(lg, "cycle %d: %s restarted" % (cycle, name), UP_BOUND_S)
                if name == "letta" and not proxied_health_ok(fport):
                    raise h.Fail("cycle %d: the forwarder does not reach the restarted Letta" % cycle)
                stats[name]["down_s"].append(down_s)
                stats[name]["up_s"].append(up_s)
                for comp, (code, reason) in reasons.items():
                    stats[name]["reasons"].add("%s: %s (%s)" % (comp, re.sub(r"\d+", "N", reason), code))
            if cycle == 1:
                rss_warm = lg.rss_kb()
            if cycle % 5 == 0 or cycle == cycles:
                h.log("cycle %d/%d: fds %d, RSS %d kB, %.0fs" % (cycle, cycles, lg.fds(), lg.rss_kb(),
                                                                 time.monotonic() - t_start))
        # Resources back at the baseline.
        ok, _ = h.poll(lambda: lg.steady_fds(5, 0.05) <= fd_base + 2, 10, 0.2)
        fd_end = lg.steady_fds()
        if not ok:
            raise h.Fail("open fds did not return to the baseline: %d at the start, %d at the end (%s)"
                         % (fd_base, fd_end, lg.fd_kinds()))
        rss_end = lg.rss_kb()
        tol = (rss_warm * 0.5 + 64 * 1024) if h.sanitized() else (rss_warm * 0.25 + 4096)
        if rss_end > rss_warm + tol:
            raise h.Fail("RSS grew: %d kB after the first cycle, %d kB at the end (tolerance %d kB)"
                         % (rss_warm, rss_end, tol))
        lg.stop()
        for name, st in stats.items():
            results["services"][name] = {
                "kills": len(st["down_s"]),
                "down_max_s": round(max(st["down_s"]), 3), "down_p50_s": round(h.percentile(st["down_s"], 50), 3),
                "up_max_s": round(max(st["up_s"]), 3), "up_p50_s": round(h.percentile(st["up_s"], 50), 3),
                "reasons": sorted(st["reasons"]),
            }
            h.log("%-8s %3d kills: down after p50 %.3fs max %.3fs; up after p50 %.3fs max %.3fs; %s"
                  % (name, len(st["down_s"]), h.percentile(st["down_s"], 50), max(st["down_s"]),
                     h.percentile(st["up_s"], 50), max(st["up_s"]), sorted(st["reasons"])))
        results.update(fds_start=fd_base, fds_end=fd_end, rss_start_kb=rss_start, rss_warm_kb=rss_warm,
                       rss_end_kb=rss_end, stream_ends=stream_ends, streams_killed=sum(stream_ends.values()),
                       seconds=round(time.monotonic() - t_start, 1))
        h.log("fds %d -> %d; RSS %d kB (start) %d kB (warm) -> %d kB (end); streams ended %s; %.0fs"
              % (fd_base, fd_end, rss_start, rss_warm, rss_end, stream_ends, time.monotonic() - t_start))
        h.write_results("fault_matrix", results)
        h.log("fault_matrix: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()
        if killed_now:  # never leave a shared service down
            try:
                h.services("start", killed_now)
            except Exception as err:  # noqa: BLE001 - report, keep cleaning up
                print("WARNING: could not restart %s: %s" % (killed_now, err), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
