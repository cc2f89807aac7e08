#!/usr/bin/env python3
"""proxy_restart: a restart of Letta is invisible to the apps behind the forwarder (issue 20).

A Letta stand-in of our own on a fixed loopback port; lettagate (default settings) probes it and
forwards a route to it. A client sends GET /v1/health/ through the forwarder on a new connection
every 50 ms (each in its own thread, so a held one does not delay the next). After 1 s the
stand-in is killed (SIGKILL) and 3 s later started again on the same address; the requests go on
until 2 s after that. Every request must get its 200, except one in flight at the moment of the
kill (started before it); the ones sent during the outage are held and served once the stand-in
accepts again. The metrics must show the retries and the held clients served.

Meanwhile /readyz is polled every 10 ms and the stand-in itself every 10 ms once started again:
the forwarder's failed connects are passive signals (re-probe at once), so /readyz must turn 503
within 1 s of the kill (it is about 10-20 ms after the first failed connect), and, with the
down interval (--probe-down-interval 250ms) and rise 2, 200 again within 1 s of the stand-in
answering.

Prints the counts and the longest wait. Only 127.0.0.1; bounded: about 10 s.
"""

import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

STANDIN = os.path.join(h.REPO, "tests", "standin", "letta_standin.py")
SPACING_S = 0.05
KILL_AT_S = 1.0
DOWN_FOR_S = 3.0
AFTER_S = 2.0
REQUEST_TIMEOUT_S = 15.0  # over --forward-hold (10 s): a held request that is never served fails


def launch_standin(port, log_path):
    logf = open(log_path, "a")
    proc = subprocess.Popen([sys.executable, STANDIN, "--host", "127.0.0.1", "--port", str(port)],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    return proc


def start_standin(port, log_path):
    proc = launch_standin(port, log_path)
    ok, _ = h.poll(lambda: proc.poll() is not None or h.http_get(port, "/v1/health/", 1.0)[0] == 200, 10, 0.02)
    if proc.poll() is not None or not ok:
        raise h.Fail("the Letta stand-in did not answer on port %d" % port)
    return proc


def metric(lg, name, labels=""):
    status, body, _ = h.http_get(lg.port, "/metrics", 5.0)
    if status != 200:
        raise h.Fail("GET /metrics answered %s" % status)
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class Watch(threading.Thread):
    """Polls GET `path` on `port` every 10 ms until stopped; keeps (seconds from t0, status)."""

    def __init__(self, port, path, t0):
        super().__init__(daemon=True)
        self.port, self.path, self.t0 = port, path, t0
        self.seen = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            status = h.http_get(self.port, self.path, 1.0)[0]
            self.seen.append((time.monotonic() - self.t0, status))
            self.halt.wait(0.01)

    def first(self, after, pred):
        return next((t for t, st in self.seen if t >= after and pred(st)), None)


def main():
    begun = time.monotonic()
    letta = h.free_port()
    fport = h.free_port()
    slog = os.path.join(h.results_dir(), "proxy_restart-standin-%d.log" % os.getpid())
    standin = start_standin(letta, slog)
    lg = h.Lettagate("proxy_restart", [
        "--letta-url", "http://127.0.0.1:%d" % letta, "--postgres-dsn", "off", "--redis-url", "off",
        "--nginx-url", "off", "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, letta),
    ])
    results = []  # (started, ended, status) relative to t0
    lock = threading.Lock()
    threads = []
    try:
        lg.start()
        ok, _ = h.poll(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 10)
        if not ok:
            raise h.Fail("/readyz not 200 before the kill")
        t0 = time.monotonic()
        readyz = Watch(lg.port, "/readyz", t0)
        readyz.start()
        direct = None

        def one():
            started = time.monotonic() - t0
            status, _, _ = h.http_get(fport, "/v1/health/", REQUEST_TIMEOUT_S)
            with lock:
                results.append((started, time.monotonic() - t0, status))

        killed_at = restarted_at = None
        n = 0
        while True:
            now = time.monotonic() - t0
            if killed_at is None and now >= KILL_AT_S:
                standin.send_signal(signal.SIGKILL)
                standin.wait(5)
                killed_at = time.monotonic() - t0
            if killed_at is not None and restarted_at is None and now >= killed_at + DOWN_FOR_S:
                standin = launch_standin(letta, slog)  # accepts a moment later (Python's start)
                restarted_at = time.monotonic() - t0
                direct = Watch(letta, "/v1/health/", t0)
                direct.start()
            if restarted_at is not None and now >= restarted_at + AFTER_S:
                break
            t = threading.Thread(target=one, daemon=True)
            t.start()
            threads.append(t)
            n += 1
            time.sleep(max(0.0, (n * SPACING_S) - (time.monotonic() - t0)))
        for t in threads:
            t.join(REQUEST_TIMEOUT_S + 5)
        for w in (readyz, direct):
            w.halt.set()
            w.join(5)
        if any(t.is_alive() for t in threads):
            raise h.Fail("some requests did not end within %.0fs" % (REQUEST_TIMEOUT_S + 5))
        failed = sorted(r for r in results if r[2] != 200)
        during = [r for r in results if killed_at <= r[0] < restarted_at]
        waits = [r[1] - r[0] for r in during if r[2] == 200]
        retries = metric(lg, "lettagate_proxy_upstream_connect_retries_total")
        served = metric(lg, "lettagate_proxy_connections_held_served_total")
        h.log("%d requests, every %d ms; stand-in killed at %.3fs, started again at %.3fs; %d sent while it was "
              "down; failed: %d %s; longest wait of a held request %.3fs; retries %d, held then served %d"
              % (len(results), SPACING_S * 1000, killed_at, restarted_at, len(during), len(failed),
                 [(round(a, 3), round(b, 3), s) for a, b, s in failed], max(waits or [0]), retries, served))
        not_ready_at = readyz.first(killed_at, lambda st: st != 200)
        answering_at = direct.first(restarted_at, lambda st: st == 200)
        ready_at = readyz.first(answering_at or restarted_at, lambda st: st == 200)
        h.log("/readyz: 503 %s ms after the kill; the stand-in answered %s ms after its start; /readyz 200 %s ms "
              "after that" % (None if not_ready_at is None else round((not_ready_at - killed_at) * 1000),
                              None if answering_at is None else round((answering_at - restarted_at) * 1000),
                              None if ready_at is None or answering_at is None
                              else round((ready_at - answering_at) * 1000)))
        if not_ready_at is None or not_ready_at - killed_at > 1.0:
            raise h.Fail("/readyz did not turn 503 within 1 s of the kill, with requests failing meanwhile")
        if answering_at is None or ready_at is None or ready_at - answering_at > 1.0:
            raise h.Fail("/readyz was not 200 within 1 s of the stand-in answering again")
        in_flight_at_kill = [r for r in failed if r[0] < killed_at]
        if len(failed) > 1 or len(failed) != len(in_flight_at_kill):
            raise h.Fail("%d request(s) failed (%d started before the kill): only one in flight at the kill may"
                         % (len(failed), len(in_flight_at_kill)))
        if len(during) < int(DOWN_FOR_S / SPACING_S / 2):
            raise h.Fail("only %d requests were sent while the stand-in was down" % len(during))
        if served < len(during):
            raise h.Fail("held then served %d, fewer than the %d requests sent during the outage"
                         % (served, len(during)))
        lg.stop()
        h.log("proxy_restart: OK (%.1fs)" % (time.monotonic() - begun))
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        lg.kill()
        if standin.poll() is None:
            standin.kill()
            standin.wait(5)


if __name__ == "__main__":
    sys.exit(main())
