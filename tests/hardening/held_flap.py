#!/usr/bin/env python3
"""held_flap: a flapping network resets held HTTP connections; the gate stays ready (issue 20).

A Letta stand-in of our own (port 0, read from its log) behind a relay of this test (bound to port
0 too); lettagate probes Letta through the relay with its defaults (interval 5 s, fall 3) and
nothing else. The relay passes every connection through, and tells the held keep-alive
connection (its request has no `Connection: close`, the probe's has) from the probe's: it resets
(RST) every second held connection 300 ms after its answer, as a flapping network would. The
others stay held until the stand-in's idle close (2 s here; uvicorn's is 5 s), which the relay passes on as a
FIN: lettagate must check that with a new connection and not count it.

For 12 s /readyz is polled every 20 ms: it must never be 503. At the end the resets must have been
seen as passive signals (lettagate_passive_failures_total{component="letta",source="held",
reason="reset"} at least 2), and no idle close as one (reason "eof": 0). Only 127.0.0.1; ~15 s.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

STANDIN = os.path.join(h.REPO, "tests", "standin", "letta_standin.py")
RUN_S = 12.0
RESET_EVERY = 2
RESET_AFTER_S = 0.3
KEEP_ALIVE_S = 2  # the stand-in's idle close (uvicorn's 5 s, shortened so 12 s see several)


class Relay(threading.Thread):
    def __init__(self, upstream_port):
        super().__init__(daemon=True)
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = 0
        self.resets = 0
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
        except OSError:
            c.close()
            return
        u.settimeout(None)
        first = c.recv(65536)
        reset_it = False
        if first and b"connection: close" not in first.lower():
            with self.lock:
                self.held += 1
                reset_it = self.held % RESET_EVERY == 0
        u.sendall(first)
        if reset_it:
            # The answer passed on; nothing reads the client side (a thread blocked in recv on it
            # would keep close() from sending the RST until that recv returned).
            threading.Thread(target=self.pump, args=(u, c), daemon=True).start()
            time.sleep(RESET_AFTER_S)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
            u.close()
            with self.lock:
                self.resets += 1
            return
        threading.Thread(target=self.pump, args=(c, u), daemon=True).start()
        self.pump(u, c)

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def start_standin(log_path):
    logf = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, STANDIN, "--host", "127.0.0.1", "--port", "0", "--keep-alive",
                             str(KEEP_ALIVE_S)],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    port = None

    def listening():
        nonlocal port
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log_path).read())
        port = int(m.group(1)) if m else None
        return port is not None or proc.poll() is not None

    h.poll(listening, 10, 0.02)
    if not port:
        proc.kill()
        raise h.Fail("the Letta stand-in did not start (log %s)" % log_path)
    return proc, port


def metric(lg, name, labels):
    status, body, _ = h.http_get(lg.port, "/metrics", 5.0)
    if status != 200:
        raise h.Fail("GET /metrics answered %s" % status)
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(name + "{") and all(lb in line for lb in labels))


def main():
    standin, lg = None, None
    try:
        standin, sport = start_standin(os.path.join(h.results_dir(), "held_flap-standin-%d.log" % os.getpid()))
        relay = Relay(sport)
        relay.start()
        lg = h.Lettagate("held_flap", ["--letta-url", "http://127.0.0.1:%d" % relay.port, "--postgres-dsn", "off",
                                       "--redis-url", "off", "--nginx-url", "off", "--forward", "off"])
        lg.start()
        ok, _ = h.poll(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 15, 0.02)
        if not ok:
            raise h.Fail("/readyz not 200 at the start")
        t0, not_ready, polls = time.monotonic(), [], 0
        while time.monotonic() - t0 < RUN_S:
            status = h.http_get(lg.port, "/readyz", 1.0)[0]
            polls += 1
            if status == 503:  # a poll that timed out on a loaded machine says nothing about the gate
                not_ready.append((round(time.monotonic() - t0, 3), status))
            time.sleep(0.02)
        labels = ['component="letta"', 'source="held"']
        resets = metric(lg, "lettagate_passive_failures_total", labels + ['reason="reset"'])
        eofs = metric(lg, "lettagate_passive_failures_total", labels + ['reason="eof"'])
        h.log("held_flap: %d held connections, %d reset by the relay; %d /readyz polls, %d 503; signals: "
              "reset %d, eof %d" % (relay.held, relay.resets, polls, len(not_ready), resets, eofs))
        if not_ready:
            raise h.Fail("/readyz was 503 at %s s" % not_ready[:10])
        if resets < 2:
            raise h.Fail("the held connections' resets were not seen as signals (%d)" % resets)
        if eofs != 0:
            raise h.Fail("an idle close was counted as a signal (eof %d)" % eofs)
        lg.stop()
        h.log("held_flap: OK")
        return 0
    except h.Fail as err:
        if lg:
            return h.failed(err, lg)
        print("FAIL: %s" % err, file=sys.stderr)
        return 1
    finally:
        if lg:
            lg.kill()
        if standin:
            standin.kill()
            standin.wait()


if __name__ == "__main__":
    sys.exit(main())
