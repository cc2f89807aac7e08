#!/usr/bin/env python3
"""detect_kill: how fast /readyz follows a SIGKILL of a server, and its return (issue 20's figures).

lettagate with the default schedule (interval 5 s, fall 3, rise 2, down interval 250 ms) against
the scripts/services stack. For each service of SERVICES (LG_DETECT_SERVICES picks some, comma-
separated), KILLS times (LG_DETECT_KILLS, default 8), at a random phase of the probe interval (a
random 0-5 s pause first): the service is killed (SIGKILL of its processes, `scripts/services kill
NAME`: for nginx the master and its workers) and /readyz polled every 5 ms until 503; then it is
started again and /readyz polled until 200, counted from the moment the server answers (its own
check, polled every 5 ms).

Each server is watched through a held connection (src/probes/held_connection.hpp): Redis an idle
TCP connection, the Letta stand-in and nginx an HTTP keep-alive connection whose idle close is
told from a crash; its end makes the runner probe again at once. Bounds: median at most 100 ms
and worst at most 250 ms to 503; 200 within 1 s of the server answering. Prints both (median and
worst) per service. Only 127.0.0.1.
"""

import os
import random
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

DOWN_MEDIAN_S, DOWN_WORST_S, UP_WORST_S = 0.100, 0.250, 1.0


def redis_pong(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_ok(port, path):
    return h.http_get(port, path, 0.5)[0] == 200


def service(name, is_up):
    """A SERVICES entry: killed (SIGKILL) and started with scripts/services; is_up(env) is its own
    check that it answers."""
    return {"kill": lambda e: h.services("kill", name), "start": lambda e: h.services("start", name), "is_up": is_up}


SERVICES = {
    "redis": service("redis", lambda e: redis_pong(int(e["LG_REDIS_PORT"]))),
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


def kill_and_back(lg, e, name, svc, i, rng):
    """One kill of `name` at a random phase; returns (seconds to 503, seconds from answering to 200)."""
    time.sleep(rng.uniform(0, 5))
    svc["kill"](e)
    killed = time.monotonic()  # kill -9 is delivered before the script returns
    t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 503, 20)
    if t is None:
        raise h.Fail("%s kill %d: /readyz not 503 within 20 s" % (name, i + 1))
    down = t - killed
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
    up = max(0.0, t - answered["at"])
    h.log("%s kill %d: 503 after %.0f ms; 200 %.0f ms after it answered" % (name, i + 1, down * 1000, up * 1000))
    return down, up


def main():
    e = h.need_env("LG_LETTA_URL", "LG_LETTA_PORT", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL", "LG_NGINX_PORT")
    kills = int(os.environ.get("LG_DETECT_KILLS", "8"))
    names = [n for n in os.environ.get("LG_DETECT_SERVICES", ",".join(SERVICES)).split(",") if n]
    # No route: the default one listens on 0.0.0.0:8283, which another test may hold.
    lg = h.Lettagate("detect_kill", h.stack_args(e) + ["--forward", "off"])
    results, failures = {}, []
    try:
        lg.start()
        if until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 15) is None:
            raise h.Fail("/readyz not 200 at the start")
        rng = random.Random()
        for name in names:
            down, up = [], []
            for i in range(kills):
                d, u = kill_and_back(lg, e, name, SERVICES[name], i, rng)
                down.append(d)
                up.append(u)
            results[name] = {"kills": kills, "down_s": down, "up_s": up}
            h.log("%s: %d kills: /readyz 503 after median %.0f ms, worst %.0f ms; 200 after it answered: median "
                  "%.0f ms, worst %.0f ms" % (name, kills, statistics.median(down) * 1000, max(down) * 1000,
                                              statistics.median(up) * 1000, max(up) * 1000))
            if statistics.median(down) > DOWN_MEDIAN_S or max(down) > DOWN_WORST_S * h.overload():
                failures.append("%s: detection over the bounds (median %.0f ms, worst %.0f ms)" % (
                    name, statistics.median(down) * 1000, max(down) * 1000))
            if max(up) > UP_WORST_S * h.overload():
                failures.append("%s: /readyz 200 only %.0f ms after it answered" % (name, max(up) * 1000))
        lg.stop()
        h.write_results("detect_kill", results)
        if failures:
            raise h.Fail("; ".join(failures))
        h.log("detect_kill: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()
        for name in names:
            if not SERVICES[name]["is_up"](e):
                try:
                    SERVICES[name]["start"](e)
                except h.Fail:
                    pass


if __name__ == "__main__":
    sys.exit(main())
