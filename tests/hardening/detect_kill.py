#!/usr/bin/env python3
"""detect_kill: how fast /readyz follows a SIGKILL of a server, and its return (issue 20's figures).

lettagate with the default schedule (interval 5 s, fall 3, rise 2, down interval 250 ms) against
the scripts/services stack. For each service of SERVICES (LG_DETECT_SERVICES picks some, comma-
separated), KILLS times (LG_DETECT_KILLS, default 8), at a random phase of the probe interval (a
random 0-5 s pause first): the service is killed (SIGKILL) and /readyz polled every 5 ms until
503; then it is started again and /readyz polled until 200, counted from the moment the server
itself answers again (its own check, polled every 5 ms on its own thread).

  redis     `scripts/services kill redis`; up: it answers PING. Watched through a held idle
            connection (src/probes/held_connection.hpp).
  postgres  SIGKILL of the postmaster alone (as the OOM killer would), its backends left to
            notice; before the start, the test waits for them to be gone. Up: a startup packet
            is answered with an authentication request (not "starting up"). Watched through the
            probe's kept session (src/probes/pg_session.hpp).
  letta     the stand-in (`scripts/services kill letta`); up: GET /v1/health/ answers 200.
            Then once hung (SIGSTOP: no connection ends, only the probes' timeout and fall can
            tell): 503 within HANG_BOUND_S, and 200 within 1 s of SIGCONT.
  nginx     the master and its workers; up: GET /nginx-health answers 200. These two are watched
            through an HTTP keep-alive connection whose idle close is told from a crash
            (HttpWatch, src/probes/held_connection.hpp).

Bounds per service: median at most 100 ms and worst at most 250 ms to 503; 200 within 1 s of the
server answering again. Prints both (median and worst). Only 127.0.0.1.
"""

import os
import random
import socket
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

DOWN_MEDIAN_S, DOWN_WORST_S, UP_WORST_S = 0.100, 0.250, 1.0
# A hung server ends no connection: only the probes see it, the third timed-out one at the
# latest interval x (fall - 1) + timeout after the next probe starts (defaults 5 s, 3, 2 s).
HANG_BOUND_S = 5 + 5 * 2 + 2 + 0.5


def redis_pong(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def pg_accepting(port):
    """A startup packet for letta@letta is answered with an authentication request ('R'): the
    postmaster accepts clients (not refused, not "the database system is starting up")."""
    body = struct.pack("!I", 196608) + b"user\0letta\0database\0letta\0\0"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            return s.recv(1) == b"R"
    except OSError:
        return False


def pg_postmaster(e):
    with open(os.path.join(e["LG_SERVICES_DIR"], "run", "postgres.pid")) as f:
        return int(f.read().split()[0])


PG_ORPHANS = []  # the killed postmaster's children: gone before the next start


def pg_kill(e):
    pm = pg_postmaster(e)
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pm)], stdout=subprocess.PIPE, text=True).stdout
    PG_ORPHANS[:] = [int(p) for p in out.split()]
    os.kill(pm, signal.SIGKILL)


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def pg_start(e):
    if until(lambda: all(gone(p) for p in PG_ORPHANS), 10, 0.02) is None:
        raise h.Fail("postgres: the killed postmaster's children %s still run 10 s later" % PG_ORPHANS)
    h.services("start", "postgres")


def http_ok(port, path):
    return h.http_get(port, path, 0.5)[0] == 200


def service(name, is_up):
    """A SERVICES entry killed (SIGKILL) and started with scripts/services; is_up(env) is its own
    check that it answers."""
    return {"kill": lambda e: h.services("kill", name), "start": lambda e: h.services("start", name), "is_up": is_up}


# Each service: how to kill it, start it again, and tell that it answers.
SERVICES = {
    "redis": service("redis", lambda e: redis_pong(int(e["LG_REDIS_PORT"]))),
    "postgres": {"kill": pg_kill, "start": pg_start, "is_up": lambda e: pg_accepting(int(e["LG_PG_PORT"]))},
    "letta": service("letta", lambda e: http_ok(int(e["LG_LETTA_PORT"]), "/v1/health/")),
    "nginx": service("nginx", lambda e: http_ok(int(e["LG_NGINX_PORT"]), "/nginx-health")),
}


def until(pred, bound, step=0.005):
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        if pred():
            return time.monotonic()
        time.sleep(step)
    return None


def measure(lg, e, name, svc, kills, rng):
    """KILLS kills of one service; returns (down_s, up_s) lists."""
    down, up = [], []
    for i in range(kills):
        time.sleep(rng.uniform(0, 5))
        svc["kill"](e)
        killed = time.monotonic()  # kill -9 is delivered before this returns
        t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 503, 20)
        if t is None:
            raise h.Fail("%s kill %d: /readyz not 503 within 20 s" % (name, i + 1))
        down.append(t - killed)
        answered = {}

        def watch():
            answered["at"] = until(lambda: svc["is_up"](e), 30)

        w = threading.Thread(target=watch, daemon=True)
        w.start()
        svc["start"](e)
        w.join(35)
        if not answered.get("at"):
            raise h.Fail("%s kill %d: no answer after its start" % (name, i + 1))
        t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 20)
        if t is None:
            raise h.Fail("%s kill %d: /readyz not 200 within 20 s of its start" % (name, i + 1))
        up.append(max(0.0, t - answered["at"]))
        h.log("%s kill %d: 503 after %.0f ms; 200 %.0f ms after it answered" % (
            name, i + 1, down[-1] * 1000, up[-1] * 1000))
    h.log("%s: %d kills: /readyz 503 after median %.0f ms, worst %.0f ms; 200 after it answered: median "
          "%.0f ms, worst %.0f ms" % (name, kills, statistics.median(down) * 1000, max(down) * 1000,
                                      statistics.median(up) * 1000, max(up) * 1000))
    return down, up


def hang(lg, e):
    """The Letta stand-in SIGSTOPped (hung, its sockets open): seconds to 503, then, after
    SIGCONT, seconds to 200."""
    with open(os.path.join(e["LG_SERVICES_DIR"], "run", "letta.pid")) as f:
        pid = int(f.read().split()[0])
    os.kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 503, HANG_BOUND_S * h.overload() + 5, 0.02)
    finally:
        os.kill(pid, signal.SIGCONT)
    resumed = time.monotonic()
    if t is None:
        raise h.Fail("letta hung: /readyz not 503 within %.0f s" % (HANG_BOUND_S * h.overload() + 5))
    back = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 20)
    if back is None:
        raise h.Fail("letta hung: /readyz not 200 within 20 s of SIGCONT")
    h.log("letta hung (SIGSTOP): 503 after %.1f s (bound %.1f s); 200 %.0f ms after SIGCONT" % (
        t - stopped, HANG_BOUND_S, (back - resumed) * 1000))
    return t - stopped, back - resumed


def main():
    e = h.need_env("LG_LETTA_URL", "LG_LETTA_PORT", "LG_PG_DSN", "LG_PG_PORT", "LG_REDIS_PORT", "LG_NGINX_URL",
                   "LG_NGINX_PORT", "LG_SERVICES_DIR")
    kills = int(os.environ.get("LG_DETECT_KILLS", "8"))
    names = [n for n in os.environ.get("LG_DETECT_SERVICES", ",".join(SERVICES)).split(",") if n]
    for n in names:
        if n not in SERVICES:
            print("detect_kill: unknown service %r (one of %s)" % (n, ", ".join(SERVICES)), file=sys.stderr)
            return 2
    # No route: the default one listens on 0.0.0.0:8283, which another test may hold.
    lg = h.Lettagate("detect_kill", h.stack_args(e) + ["--forward", "off"])
    results, misses = {}, []
    try:
        lg.start()
        rng = random.Random()
        for name in names:
            if until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 15) is None:
                raise h.Fail("/readyz not 200 before the %s kills" % name)
            down, up = measure(lg, e, name, SERVICES[name], kills, rng)
            results[name] = {"kills": kills, "down_s": down, "up_s": up}
            if statistics.median(down) > DOWN_MEDIAN_S or max(down) > DOWN_WORST_S * h.overload():
                misses.append("%s: detection over the bounds (median %.0f ms, worst %.0f ms)" % (
                    name, statistics.median(down) * 1000, max(down) * 1000))
            if max(up) > UP_WORST_S * h.overload():
                misses.append("%s: /readyz 200 only %.0f ms after it answered" % (name, max(up) * 1000))
        if "letta" in names:
            down, up = hang(lg, e)
            results["letta_hung"] = {"down_s": down, "up_s": up}
            if down > HANG_BOUND_S * h.overload():
                misses.append("letta hung: 503 only after %.1f s (bound %.1f s)" % (down, HANG_BOUND_S))
            if up > UP_WORST_S * h.overload():
                misses.append("letta hung: /readyz 200 only %.0f ms after SIGCONT" % (up * 1000))
        lg.stop()
        h.write_results("detect_kill", results)
        if misses:
            raise h.Fail("; ".join(misses))
        h.log("detect_kill: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()
        for name in names:  # a service left dead by a failure is started again
            if not SERVICES[name]["is_up"](e):
                try:
                    SERVICES[name]["start"](e)
                except h.Fail:
                    pass


if __name__ == "__main__":
    sys.exit(main())
