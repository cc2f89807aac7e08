#!/usr/bin/env python3
"""detect_kill: how fast /readyz follows a SIGKILL of Redis, and its return (issue 20's figures).

lettagate with the default schedule (interval 5 s, fall 3, rise 2, down interval 250 ms) against
the scripts/services stack. KILLS times (LG_DETECT_KILLS, default 8), at a random phase of the
probe interval (a random 0-5 s pause first): Redis is killed (SIGKILL, `scripts/services kill
redis`) and /readyz polled every 5 ms until 503; then Redis is started again and /readyz polled
until 200, counted from the moment Redis answers PING (polled every 5 ms on its own).

Redis is watched through a held idle connection (src/probes/held_connection.hpp): its end makes
the runner probe again at once. Bounds: median at most 100 ms and worst at most 250 ms to 503;
200 within 1 s of Redis answering. Prints both (median and worst). Only 127.0.0.1.
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


def until(pred, bound, step=0.005):
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        if pred():
            return time.monotonic()
        time.sleep(step)
    return None


def main():
    e = h.need_env("LG_LETTA_URL", "LG_LETTA_PORT", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL")
    kills = int(os.environ.get("LG_DETECT_KILLS", "8"))
    rport = int(e["LG_REDIS_PORT"])
    lg = h.Lettagate("detect_kill", h.stack_args(e))
    down, up = [], []
    try:
        lg.start()
        if until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 15) is None:
            raise h.Fail("/readyz not 200 at the start")
        rng = random.Random()
        for i in range(kills):
            time.sleep(rng.uniform(0, 5))
            h.services("kill", "redis")
            killed = time.monotonic()  # kill -9 is delivered before the script returns
            t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 503, 20)
            if t is None:
                raise h.Fail("kill %d: /readyz not 503 within 20 s" % (i + 1))
            down.append(t - killed)
            answered = {}

            def watch_redis():
                answered["at"] = until(lambda: redis_pong(rport), 30)

            w = threading.Thread(target=watch_redis, daemon=True)
            w.start()
            h.services("start", "redis")
            w.join(35)
            if not answered.get("at"):
                raise h.Fail("kill %d: Redis did not answer PING after its start" % (i + 1))
            t = until(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 20)
            if t is None:
                raise h.Fail("kill %d: /readyz not 200 within 20 s of Redis' start" % (i + 1))
            up.append(max(0.0, t - answered["at"]))
            h.log("kill %d: 503 after %.0f ms; 200 %.0f ms after Redis answered" % (i + 1, down[-1] * 1000,
                                                                                  up[-1] * 1000))
        lg.stop()
        h.log("redis: %d kills: /readyz 503 after median %.0f ms, worst %.0f ms; 200 after Redis answered: median "
              "%.0f ms, worst %.0f ms" % (kills, statistics.median(down) * 1000, max(down) * 1000,
                                          statistics.median(up) * 1000, max(up) * 1000))
        h.write_results("detect_kill", {"redis": {"kills": kills, "down_s": down, "up_s": up}})
        if statistics.median(down) > DOWN_MEDIAN_S or max(down) > DOWN_WORST_S * h.overload():
            raise h.Fail("detection over the bounds (median %.0f ms, worst %.0f ms)" % (
                statistics.median(down) * 1000, max(down) * 1000))
        if max(up) > UP_WORST_S * h.overload():
            raise h.Fail("/readyz 200 only %.0f ms after Redis answered" % (max(up) * 1000))
        h.log("detect_kill: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()
        if not redis_pong(rport):
            try:
                h.services("start", "redis")
            except h.Fail:
                pass


if __name__ == "__main__":
    sys.exit(main())
